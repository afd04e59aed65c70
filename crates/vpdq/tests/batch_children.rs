//! How many children `hash_videos` runs (see `children.rs` for why that
//! matters).
//!
//! Its own test binary: it puts logging wrappers first on PATH.

mod common;

use common::{ffmpeg_or_skip, log_runs_of_ffmpeg, test_pattern};

/// One second of ffmpeg's test pattern: one frame hashed.
const PATTERN: &str = "size=64x48:rate=10:duration=1";

/// `hash_videos` runs one ffmpeg for the MP4s it can batch, takes a video
/// that only swscale converts out of the batch (a run lost as ffmpeg
/// starts), and leaves the rest to one run each, with the same results.
#[test]
fn videos_hashed_together_share_one_ffmpeg() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let first = test_pattern(dir.path(), "first.mp4", PATTERN, &["-pix_fmt", "yuv420p"]);
    let deep = test_pattern(dir.path(), "deep.mp4", PATTERN, &["-pix_fmt", "yuv444p"]);
    let second = test_pattern(
        dir.path(),
        "second.mp4",
        "size=96x64:rate=25:duration=3",
        &["-pix_fmt", "yuvj420p"],
    );
    let matroska = test_pattern(dir.path(), "plain.mkv", PATTERN, &["-pix_fmt", "yuv420p"]);
    let videos = [&first, &deep, &second, &matroska];
    let alone: Vec<_> = videos
        .iter()
        .map(|v| vpdq::hash_video(v, &vpdq::HashOptions::default()).unwrap())
        .collect();

    let runs = log_runs_of_ffmpeg(dir.path());
    let together = vpdq::hash_videos(&videos, &vpdq::HashOptions::default());
    let log = std::fs::read_to_string(&runs).unwrap_or_default();
    assert_eq!(
        log.split_whitespace().collect::<Vec<_>>(),
        [
            // The three MP4s, stopped by the 4:4:4 one's header.
            "ffmpeg", // The two 4:2:0 ones.
            "ffmpeg", // The 4:4:4 one alone: reported as 4:4:4, started again for RGB.
            "ffmpeg", "ffmpeg", // Not MP4/MOV: ffprobe for the frame rate.
            "ffprobe", "ffmpeg"
        ]
    );
    for ((video, alone), together) in videos.iter().zip(alone).zip(together) {
        assert_eq!(together.unwrap(), alone, "{}", video.display());
    }
}
