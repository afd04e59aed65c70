//! PDQ of whole video frames at their native size (vPDQ's case: no 512
//! pre-resize), on one thread:
//!
//!     cargo bench -p tantalum-pdq --bench frames [-- --repeat N]
//!
//! Prints microseconds per frame for a few common frame sizes. The frames
//! are synthetic (smooth gradients plus texture), built before timing.

use std::time::Instant;

fn frame(width: usize, height: usize, seed: usize) -> Vec<f32> {
    (0..width * height)
        .map(|i| {
            let (y, x) = (i / width, i % width);
            let smooth = (x * 200 / width + y * 55 / height) as f32;
            let texture = ((x * 31 + y * 17 + seed * 7) % 23) as f32;
            smooth + texture
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut repeat = 3usize;
    while let Some(a) = args.next() {
        if a == "--repeat" {
            repeat = args.next().and_then(|v| v.parse().ok()).expect("--repeat N");
        }
    }
    let mut hasher = pdq::Hasher::new();
    for (width, height, count) in [
        (512usize, 512usize, 500usize),
        (480, 720, 400),
        (1280, 720, 150),
        (1920, 1080, 60),
    ] {
        let frames: Vec<Vec<f32>> = (0..8).map(|s| frame(width, height, s)).collect();
        let mut best = f64::MAX;
        for _ in 0..repeat {
            let start = Instant::now();
            for i in 0..count {
                std::hint::black_box(hasher.hash(&frames[i % frames.len()], width, height).expect("hash"));
            }
            best = best.min(start.elapsed().as_secs_f64() / count as f64);
        }
        println!("{width}x{height}: {:.0} us/frame (best of {repeat})", best * 1e6);
    }
}
