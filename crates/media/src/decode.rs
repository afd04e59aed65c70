//! Decoding into exactly the pixels Meta's reference PDQ hasher sees.
//!
//! The reference (`pdq-photo-hasher`) reads every image through ImageMagick's
//! `convert FILE pnm:-` and CImg. That fixes these rules, each checked against
//! the conformance set:
//! - EXIF orientation is not applied: stored pixels are hashed.
//! - Alpha is dropped, not composited: the colour under transparent pixels counts.
//! - Only the first frame of an animation is used.
//! - 16-bit samples become 8-bit as ImageMagick scales them.
//! - An image whose every pixel is grey is written as PGM and hashed on the
//!   grey path (luma = value), otherwise luma = 0.299R + 0.587G + 0.114B.
//! - When width or height is over 512, the image is resampled to exactly
//!   512×512 by nearest neighbour, source index floor(dst·len/512).

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader};

use crate::sniff::Format;

/// Side above which the reference resamples to [`RESAMPLE_SIDE`]².
pub const RESAMPLE_SIDE: u32 = 512;

/// Default refusal threshold: 200 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = 200_000_000;

/// Why an image could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A format we recognise but cannot decode yet.
    #[error("unsupported format: {0}")]
    Unsupported(&'static str),
    /// The header declares more pixels than allowed; nothing was allocated.
    #[error("image too large: {width}x{height} is over the limit of {limit} pixels")]
    TooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The configured limit.
        limit: u64,
    },
    /// The data ends before the image does.
    #[error("truncated image data")]
    Truncated,
    /// The data is not a valid image of its format.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// A zero width or height.
    #[error("image has no pixels ({0}x{1})")]
    Empty(u32, u32),
}

/// Limits applied before any pixel buffer is allocated.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest width × height accepted.
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// An image decoded and sampled to the size the reference hashes it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sampled {
    /// Width of the stored image.
    pub width: u32,
    /// Height of the stored image.
    pub height: u32,
    /// Width after the reference's resample rule.
    pub sample_width: u32,
    /// Height after the reference's resample rule.
    pub sample_height: u32,
    /// `sample_width × sample_height` RGB triples, row-major.
    pub rgb: Vec<u8>,
    /// Every pixel of the stored image has R = G = B.
    pub all_grey: bool,
}

impl Sampled {
    /// The luma plane the reference computes from these pixels.
    pub fn luma(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.rgb.len() / 3];
        let pixels = out.iter_mut().zip(self.rgb.chunks_exact(3));
        if self.all_grey {
            pixels.for_each(|(o, p)| *o = p[0] as f32);
        } else {
            pixels.for_each(|(o, p)| *o = pdq::luma(p[0], p[1], p[2]));
        }
        out
    }
}

/// The size the reference hashes an image of this size at.
pub fn sample_size(width: u32, height: u32) -> (u32, u32) {
    if width > RESAMPLE_SIDE || height > RESAMPLE_SIDE {
        (RESAMPLE_SIDE, RESAMPLE_SIDE)
    } else {
        (width, height)
    }
}

fn check_limits(width: u32, height: u32, limits: &DecodeLimits) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        return Err(DecodeError::Empty(width, height));
    }
    if width as u64 * height as u64 > limits.max_pixels {
        return Err(DecodeError::TooLarge {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

/// Decodes an image of a sniffed format into the reference's pixels.
pub fn decode_for_pdq(data: &[u8], format: Format, limits: &DecodeLimits) -> Result<Sampled, DecodeError> {
    let image_format = match format {
        Format::Jpeg => {
            let (w, h) = crate::jpeg::dimensions(data)?;
            check_limits(w, h, limits)?;
            let (sw, sh) = sample_size(w, h);
            return crate::jpeg::decode_sampled(data, w, h, sw, sh);
        }
        Format::Png => ImageFormat::Png,
        Format::Gif => ImageFormat::Gif,
        Format::WebP => ImageFormat::WebP,
        Format::Tiff => ImageFormat::Tiff,
        Format::Bmp => ImageFormat::Bmp,
        Format::Heic | Format::Avif => return Err(DecodeError::Unsupported(format.name())),
        _ => return Err(DecodeError::Unsupported(format.name())),
    };
    let (w, h) = ImageReader::with_format(Cursor::new(data), image_format)
        .into_dimensions()
        .map_err(map_image_error)?;
    check_limits(w, h, limits)?;
    let mut reader = ImageReader::with_format(Cursor::new(data), image_format);
    let mut image_limits = image::Limits::default();
    // 16-bit RGBA is the widest buffer a decoder here makes; leave room for its working copy.
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(image_limits);
    let image = reader.decode().map_err(map_image_error)?;
    Ok(sample_dynamic(&image))
}

fn map_image_error(e: image::ImageError) -> DecodeError {
    use image::error::{ImageError, LimitErrorKind};
    match e {
        ImageError::Limits(l) if matches!(l.kind(), LimitErrorKind::DimensionError) => {
            DecodeError::Corrupt(format!("dimensions rejected: {l}"))
        }
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => DecodeError::Truncated,
        ImageError::Unsupported(u) => DecodeError::Corrupt(format!("unsupported variant: {u}")),
        other => {
            let text = other.to_string();
            if text.contains("end of file") || text.contains("EOF") || text.contains("unexpected end") {
                DecodeError::Truncated
            } else {
                DecodeError::Corrupt(text)
            }
        }
    }
}

/// ImageMagick Q16's ScaleQuantumToChar.
#[inline]
fn u16_to_u8(q: u16) -> u8 {
    let q = q as u32 + 128;
    ((q - (q >> 8)) >> 8) as u8
}

fn sample_dynamic(image: &DynamicImage) -> Sampled {
    let (w, h) = (image.width(), image.height());
    match image {
        DynamicImage::ImageLuma8(b) => sample_with(w, h, 1, b.as_raw(), |p| (p[0], p[0], p[0])),
        DynamicImage::ImageLumaA8(b) => sample_with(w, h, 2, b.as_raw(), |p| (p[0], p[0], p[0])),
        DynamicImage::ImageRgb8(b) => sample_with(w, h, 3, b.as_raw(), |p| (p[0], p[1], p[2])),
        DynamicImage::ImageRgba8(b) => sample_with(w, h, 4, b.as_raw(), |p| (p[0], p[1], p[2])),
        DynamicImage::ImageLuma16(b) => sample_with(w, h, 1, b.as_raw(), |p| {
            let v = u16_to_u8(p[0]);
            (v, v, v)
        }),
        DynamicImage::ImageLumaA16(b) => sample_with(w, h, 2, b.as_raw(), |p| {
            let v = u16_to_u8(p[0]);
            (v, v, v)
        }),
        DynamicImage::ImageRgb16(b) => sample_with(w, h, 3, b.as_raw(), |p| {
            (u16_to_u8(p[0]), u16_to_u8(p[1]), u16_to_u8(p[2]))
        }),
        DynamicImage::ImageRgba16(b) => sample_with(w, h, 4, b.as_raw(), |p| {
            (u16_to_u8(p[0]), u16_to_u8(p[1]), u16_to_u8(p[2]))
        }),
        other => {
            let rgb = other.to_rgb8();
            sample_with(w, h, 3, rgb.as_raw(), |p| (p[0], p[1], p[2]))
        }
    }
}

/// Nearest-neighbour sampling of any interleaved buffer, with the all-grey test
/// over every stored pixel (it stops at the first colour pixel).
fn sample_with<T: Copy>(
    width: u32,
    height: u32,
    channels: usize,
    data: &[T],
    rgb_of: impl Fn(&[T]) -> (u8, u8, u8),
) -> Sampled {
    let (sw, sh) = sample_size(width, height);
    let row_len = width as usize * channels;
    let mut all_grey = true;
    if channels >= 3 {
        'rows: for row in data.chunks_exact(row_len) {
            for p in row.chunks_exact(channels) {
                let (r, g, b) = rgb_of(p);
                if r != g || g != b {
                    all_grey = false;
                    break 'rows;
                }
            }
        }
    }
    let xmap: Vec<usize> = (0..sw as u64)
        .map(|x| (x * width as u64 / sw as u64) as usize * channels)
        .collect();
    let mut rgb = Vec::with_capacity(sw as usize * sh as usize * 3);
    for y in 0..sh as u64 {
        let src_y = (y * height as u64 / sh as u64) as usize;
        let row = &data[src_y * row_len..(src_y + 1) * row_len];
        for &x in &xmap {
            let (r, g, b) = rgb_of(&row[x..x + channels]);
            rgb.extend_from_slice(&[r, g, b]);
        }
    }
    Sampled {
        width,
        height,
        sample_width: sw,
        sample_height: sh,
        rgb,
        all_grey,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantum_scaling_matches_imagemagick_on_exact_values() {
        for v in 0..=255u16 {
            assert_eq!(u16_to_u8(v * 257), v as u8);
        }
        assert_eq!(u16_to_u8(0), 0);
        assert_eq!(u16_to_u8(65535), 255);
    }

    #[test]
    fn resample_rule() {
        assert_eq!(sample_size(512, 512), (512, 512));
        assert_eq!(sample_size(100, 40), (100, 40));
        assert_eq!(sample_size(1200, 300), (512, 512));
        assert_eq!(sample_size(513, 2), (512, 512));
    }

    #[test]
    fn nearest_neighbour_picks_floor_index() {
        // 1024 wide, one row of values x % 256: sample x' picks source 2x'.
        let w = 1024u32;
        let data: Vec<u8> = (0..w).map(|x| (x % 256) as u8).collect();
        let s = sample_with(w, 1, 1, &data, |p| (p[0], p[0], p[0]));
        assert_eq!((s.sample_width, s.sample_height), (512, 512));
        for x in 0..512usize {
            assert_eq!(s.rgb[3 * x], ((2 * x) % 256) as u8);
        }
        // A short side is stretched: every output row repeats the single source row.
        assert_eq!(&s.rgb[..512 * 3], &s.rgb[511 * 512 * 3..]);
    }
}
