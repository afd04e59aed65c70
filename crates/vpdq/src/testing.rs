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
