//! vPDQ's own share of hashing a video: YUV 4:2:0 frames, as ffmpeg sends
//! them, converted and hashed at their native size on one thread, with no
//! decoder or child process:
//!
//!     cargo bench -p tantalum-vpdq --bench frames [-- --repeat N]
//!
//! Prints microseconds per frame for common frame sizes. The frames are
//! synthetic (smooth gradients plus texture), built before timing; two of
//! them take turns, so each is in the cache as a frame just read from the
//! child is.

use std::time::Instant;

fn frames(width: usize, height: usize, count: usize) -> Vec<u8> {
    let (half_w, half_h) = (width / 2, height / 2);
    let mut out = Vec::with_capacity(count * (width * height + 2 * half_w * half_h));
    for seed in 0..count {
        for y in 0..height {
            for x in 0..width {
                out.push((16 + (x * 160 / width + y * 40 / height) + (x * 31 + y * 17 + seed * 7) % 23) as u8);
            }
        }
        for plane in 0..2 {
            for y in 0..half_h {
                for x in 0..half_w {
                    out.push((128 + (x + 2 * y + plane * 5 + seed) % 40 - 20) as u8);
                }
            }
        }
    }
    out
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut repeat = 5usize;
    while let Some(a) = args.next() {
        if a == "--repeat" {
            repeat = args.next().and_then(|v| v.parse().ok()).expect("--repeat N");
        }
    }
    for (width, height, count) in [(480usize, 720usize, 400usize), (1280, 720, 150), (1920, 1080, 60)] {
        let video = frames(width, height, 2);
        let frame_bytes = video.len() / 2;
        let mut hasher = vpdq::testing::Yuv420Hasher::new(width, height);
        let mut best = f64::MAX;
        for _ in 0..repeat {
            let start = Instant::now();
            for i in 0..count {
                let frame = &video[i % 2 * frame_bytes..][..frame_bytes];
                std::hint::black_box(hasher.hash(frame));
            }
            best = best.min(start.elapsed().as_secs_f64() / count as f64);
        }
        println!("{width}x{height}: {:.0} us/frame (best of {repeat})", best * 1e6);
    }
}
