//! Generated pictures and the edits that make near-duplicates of them.

use image::{imageops, Rgb, RgbImage};

/// A small, seedable generator (SplitMix64): the same seed gives the same
/// evidence on every machine, so tests and the demo are reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn colour(&mut self) -> [f32; 3] {
        [self.unit() * 255.0, self.unit() * 255.0, self.unit() * 255.0]
    }
}

/// A photo-like picture: a gradient sky, soft-edged blobs and a striped
/// patch, different for every seed and rich enough in structure for a
/// high PDQ quality.
pub fn photo(seed: u64, width: u32, height: u32) -> RgbImage {
    let mut rng = Rng::new(seed);
    let top = rng.colour();
    let bottom = rng.colour();
    struct Blob {
        cx: f32,
        cy: f32,
        rx: f32,
        ry: f32,
        colour: [f32; 3],
    }
    let blobs: Vec<Blob> = (0..14)
        .map(|_| Blob {
            cx: rng.unit(),
            cy: rng.unit(),
            rx: 0.05 + rng.unit() * 0.25,
            ry: 0.05 + rng.unit() * 0.25,
            colour: rng.colour(),
        })
        .collect();
    let stripe_angle = rng.unit() * std::f32::consts::PI;
    let stripe_freq = 3.0 + rng.unit() * 5.0;
    let (sx, sy, sr) = (rng.unit(), rng.unit(), 0.15 + rng.unit() * 0.15);
    RgbImage::from_fn(width, height, |x, y| {
        let u = x as f32 / width as f32;
        let v = y as f32 / height as f32;
        let mut c = [0f32; 3];
        for (k, ck) in c.iter_mut().enumerate() {
            *ck = top[k] * (1.0 - v) + bottom[k] * v;
        }
        for b in &blobs {
            let d = ((u - b.cx) / b.rx).powi(2) + ((v - b.cy) / b.ry).powi(2);
            let alpha = (1.0 - d).clamp(0.0, 1.0);
            for (k, ck) in c.iter_mut().enumerate() {
                *ck = *ck * (1.0 - alpha) + b.colour[k] * alpha;
            }
        }
        if (u - sx).powi(2) + (v - sy).powi(2) < sr * sr {
            let t = (u * stripe_angle.cos() + v * stripe_angle.sin()) * stripe_freq * std::f32::consts::TAU;
            let s = t.sin() * 60.0;
            for ck in c.iter_mut() {
                *ck += s;
            }
        }
        Rgb(c.map(|ck| ck.clamp(0.0, 255.0) as u8))
    })
}

/// An almost featureless picture: PDQ hashes it with a quality far below
/// 50, so its hash must never be matched.
pub fn flat(seed: u64, width: u32, height: u32) -> RgbImage {
    let base = 100 + (Rng::new(seed).next_u64() % 50) as u8;
    RgbImage::from_fn(width, height, |x, _| {
        let step = u8::from(x * 2 >= width);
        Rgb([base + step, base + step, base + step])
    })
}

/// JPEG at `quality` through the system libjpeg, 4:2:0 as cameras write it.
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    media::encode_jpeg(img.as_raw(), img.width(), img.height(), quality).expect("encoding a valid RGB buffer")
}

/// Lossless PNG.
pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a valid RGB buffer");
    out.into_inner()
}

/// Resized to `width` × `height` (the smooth filter messengers use).
pub fn resized(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    imageops::resize(img, width, height, imageops::FilterType::Triangle)
}

/// `fraction` of each side cut away.
pub fn cropped(img: &RgbImage, fraction: f32) -> RgbImage {
    let dx = (img.width() as f32 * fraction) as u32;
    let dy = (img.height() as f32 * fraction) as u32;
    imageops::crop_imm(img, dx, dy, img.width() - 2 * dx, img.height() - 2 * dy).to_image()
}

/// A light banner with dark "lettering" in the lower right corner, as a
/// site or a channel stamps its name.
pub fn watermarked(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let (w, h) = (img.width(), img.height());
    let (x0, y0) = (w * 78 / 100, h * 91 / 100);
    for y in y0..h * 97 / 100 {
        for x in x0..w * 97 / 100 {
            let p = out.get_pixel_mut(x, y);
            let letter = ((x - x0) / 6) % 2 == 0 && (y - y0) > 2 && (y - y0) < (h * 7 / 100).saturating_sub(2);
            let ink = if letter { 30.0 } else { 235.0 };
            for c in p.0.iter_mut() {
                *c = (f32::from(*c) * 0.3 + ink * 0.7) as u8;
            }
        }
    }
    out
}

/// Turned a quarter clockwise.
pub fn rotated90(img: &RgbImage) -> RgbImage {
    imageops::rotate90(img)
}

/// Mirrored left to right.
pub fn flipped(img: &RgbImage) -> RgbImage {
    imageops::flip_horizontal(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdq_of(bytes: &[u8]) -> pdq::PdqHash {
        let a = media::analyze_bytes(bytes, None, &Default::default(), &mut pdq::Hasher::new());
        a.pdq.expect("an image")
    }

    #[test]
    fn edits_stay_near_and_other_photos_stay_far() {
        let original = photo(1, 640, 480);
        let o = pdq_of(&jpeg(&original, 90));
        assert!(o.quality >= 80, "quality {}", o.quality);
        let near = [
            ("re-encoded", pdq_of(&jpeg(&original, 40))),
            ("resized", pdq_of(&jpeg(&resized(&original, 320, 240), 85))),
            ("cropped", pdq_of(&png(&cropped(&original, 0.01)))),
            ("watermarked", pdq_of(&jpeg(&watermarked(&original), 85))),
        ];
        for (what, h) in near {
            let d = o.hash.distance(&h.hash);
            assert!(d <= 31, "{what}: distance {d}");
        }
        let turned = pdq_of(&jpeg(&rotated90(&original), 90));
        assert!(o.hash.distance(&turned.hash) > 31);
        for seed in 2..12 {
            let other = pdq_of(&jpeg(&photo(seed, 640, 480), 90));
            assert!(o.hash.distance(&other.hash) > 60, "seed {seed}");
        }
        let blank = pdq_of(&png(&flat(5, 640, 480)));
        assert!(blank.quality < 50, "flat quality {}", blank.quality);
    }
}
