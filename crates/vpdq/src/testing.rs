//! Synthetic vPDQ for tests and benchmarks, where no real video is needed.

use crate::Feature;

/// A video of `frames` frames whose hashes are unrelated to one another and
/// to other seeds' (quality 100, one frame a second), the same for a seed
/// every time.
pub fn unrelated_frames(seed: u64, frames: usize) -> Vec<Feature> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..frames as u64)
        .map(|k| {
            let bytes: [u8; 32] = std::array::from_fn(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            });
            Feature {
                frame: k,
                quality: 100,
                pdq: pdq::Hash256::from_bytes(bytes),
                timestamp: k as f64,
            }
        })
        .collect()
}

/// PDQ of packed `yuv420p` frames (limited range, `width` a multiple of 8,
/// `height` even) as [`crate::hash_video`] hashes the frames ffmpeg sends
/// it, without a decoder: for benchmarks of the hashing alone.
pub struct Yuv420Hasher {
    converter: crate::yuv::Converter,
    hasher: pdq::Hasher,
    width: usize,
    height: usize,
}

impl Yuv420Hasher {
    /// A hasher for frames of this size.
    ///
    /// # Panics
    /// If the conversion does not take frames of this size.
    pub fn new(width: usize, height: usize) -> Self {
        let coefficients =
            crate::yuv::coefficients("yuv420p", width as u32, height as u32).expect("a size the conversion takes");
        Yuv420Hasher {
            converter: crate::yuv::Converter::new(coefficients),
            hasher: pdq::Hasher::new(),
            width,
            height,
        }
    }

    /// The hash of one frame.
    ///
    /// # Panics
    /// If the frame is not of the hasher's size.
    pub fn hash(&mut self, frame: &[u8]) -> pdq::PdqHash {
        let Yuv420Hasher {
            converter,
            hasher,
            width,
            height,
        } = self;
        let (width, height) = (*width, *height);
        let planes = crate::yuv::Planes::of(frame, width, height);
        hasher
            .hash_strips(width, height, |first, rows, strip| {
                converter.luma_strip(planes, first, rows, strip)
            })
            .expect("a frame size within bounds")
    }
}
