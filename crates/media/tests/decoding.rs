//! Decoder behaviour on synthetic images the tests make: lossless formats of
//! the same pixels hash the same, the reference's alpha, 16-bit and grey rules
//! hold, and damaged files of every format give errors, never panics.

use std::io::Cursor;
use std::path::PathBuf;

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb, Rgba};
use media::{analyze_bytes, AnalyzeOptions, FileAnalysis, Format, Kind};
use proptest::prelude::*;

/// A deterministic, textured test picture (no photograph involved).
fn picture(w: u32, h: u32) -> image::RgbImage {
    ImageBuffer::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let r = (127.0 + 120.0 * (6.0 * fx + 2.0 * fy).sin()) as u8;
        let g = (127.0 + 120.0 * (4.0 * fy - 3.0 * fx).cos()) as u8;
        let b = ((x * 7 + y * 13) % 256) as u8;
        Rgb([r, g, b])
    })
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

fn analyze(bytes: &[u8]) -> FileAnalysis {
    analyze_bytes(bytes, None, &AnalyzeOptions::default(), &mut pdq::Hasher::new())
}

fn pdq_of(bytes: &[u8]) -> pdq::PdqHash {
    let a = analyze(bytes);
    assert!(a.error.is_none(), "{:?}", a.error);
    a.pdq.expect("an image")
}

#[test]
fn lossless_formats_of_the_same_pixels_hash_the_same() {
    for (w, h) in [(300, 200), (700, 450), (64, 64)] {
        let img = DynamicImage::ImageRgb8(picture(w, h));
        let png = pdq_of(&encode(&img, ImageFormat::Png));
        for format in [ImageFormat::Tiff, ImageFormat::Bmp, ImageFormat::WebP] {
            assert_eq!(pdq_of(&encode(&img, format)), png, "{format:?} at {w}x{h}");
        }
    }
}

#[test]
fn alpha_is_dropped_not_composited() {
    let rgb = picture(320, 240);
    let rgba: ImageBuffer<Rgba<u8>, Vec<u8>> = ImageBuffer::from_fn(320, 240, |x, y| {
        let p = rgb.get_pixel(x, y);
        Rgba([p[0], p[1], p[2], if x < 160 { 0 } else { 255 }])
    });
    let a = pdq_of(&encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png));
    let b = pdq_of(&encode(&DynamicImage::ImageRgb8(rgb), ImageFormat::Png));
    assert_eq!(a, b);
}

#[test]
fn sixteen_bit_scales_like_imagemagick() {
    let grey8: ImageBuffer<Luma<u8>, Vec<u8>> =
        ImageBuffer::from_fn(600, 400, |x, y| Luma([((x * 3 + y) % 256) as u8]));
    let grey16: ImageBuffer<Luma<u16>, Vec<u16>> = ImageBuffer::from_fn(600, 400, |x, y| {
        // Add sub-byte noise: ImageMagick rounds it away when it writes 8-bit.
        let v = grey8.get_pixel(x, y)[0] as u16;
        Luma([v * 257 + if v < 255 { ((x + y) % 100) as u16 } else { 0 }])
    });
    let a = pdq_of(&encode(&DynamicImage::ImageLuma8(grey8), ImageFormat::Png));
    let b = pdq_of(&encode(&DynamicImage::ImageLuma16(grey16), ImageFormat::Png));
    assert_eq!(a, b);
}

#[test]
fn grey_stored_as_rgb_hashes_as_grey() {
    let grey: ImageBuffer<Luma<u8>, Vec<u8>> = ImageBuffer::from_fn(200, 150, |x, y| Luma([((x * x + y) % 256) as u8]));
    let as_rgb = DynamicImage::ImageLuma8(grey.clone()).to_rgb8();
    let a = pdq_of(&encode(&DynamicImage::ImageLuma8(grey), ImageFormat::Png));
    let b = pdq_of(&encode(&DynamicImage::ImageRgb8(as_rgb), ImageFormat::Png));
    assert_eq!(a, b);
}

#[test]
fn animated_gif_hashes_its_first_frame() {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame};
    let first = picture(160, 120);
    let second: image::RgbImage = ImageBuffer::from_fn(160, 120, |x, _| Rgb([x as u8, 0, 255 - x as u8]));
    let mut gif = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut gif);
        for f in [&first, &second] {
            let rgba = DynamicImage::ImageRgb8(f.clone()).to_rgba8();
            enc.encode_frame(Frame::from_parts(rgba, 0, 0, Delay::from_numer_denom_ms(100, 1)))
                .unwrap();
        }
    }
    // The GIF encoder quantises colours, so compare against frame 0 as the GIF decoder sees it.
    let decoded = image::load_from_memory_with_format(&gif, ImageFormat::Gif).unwrap();
    let frame0_png = encode(&DynamicImage::ImageRgb8(decoded.to_rgb8()), ImageFormat::Png);
    assert_eq!(pdq_of(&gif), pdq_of(&frame0_png));
}

fn sample_files() -> Vec<(Format, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/images");
    let mut files = Vec::new();
    for name in [
        "street-730x411.jpg",
        "street-grey.gif",
        "street-tiny.bmp",
        "nested/street-small.png",
    ] {
        let bytes = std::fs::read(dir.join(name)).expect("sample");
        files.push((media::sniff(&bytes).expect("known"), bytes));
    }
    let img = DynamicImage::ImageRgb8(picture(90, 70));
    files.push((Format::Tiff, encode(&img, ImageFormat::Tiff)));
    files.push((Format::WebP, encode(&img, ImageFormat::WebP)));
    files
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Truncation and byte damage anywhere: an error or a hash, digests always, never a panic.
    #[test]
    fn damaged_files_never_panic(
        which in 0usize..6,
        cut in 0.0f64..1.0,
        flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..8),
    ) {
        let files = sample_files();
        let (format, original) = &files[which];
        let mut bytes = original.clone();
        for (at, value) in flips {
            let i = ((bytes.len() - 1) as f64 * at) as usize;
            bytes[i] = value;
        }
        bytes.truncate(((bytes.len() as f64) * cut) as usize + 1);
        let a = analyze(&bytes);
        prop_assert!(a.digests.is_some());
        prop_assert_eq!(a.size, bytes.len() as u64);
        if a.kind == Kind::Image && a.error.is_none() {
            prop_assert!(a.pdq.is_some(), "{:?} decoded without a hash", format);
        }
    }
}

#[test]
fn truncated_files_of_every_format_are_errors() {
    for (format, bytes) in sample_files() {
        let a = analyze(&bytes[..bytes.len() * 2 / 3]);
        assert!(a.error.is_some(), "{format:?} cut to 2/3 decoded without complaint");
        assert!(a.pdq.is_none());
    }
}
