//! How many children each kind of video costs. Each ffmpeg or ffprobe run
//! costs a dynamic load of FFmpeg's libraries (about a tenth of a CPU
//! second), as much as decoding a short clip, so a path that quietly runs
//! more of them is a regression even when every hash stays right.
//!
//! Its own test binary: it puts logging wrappers first on PATH.

mod common;

use common::{ffmpeg_or_skip, log_runs_of_ffmpeg, test_pattern};

/// One second of ffmpeg's test pattern: one frame hashed.
const PATTERN: &str = "size=64x48:rate=10:duration=1";

#[test]
fn each_kind_of_video_runs_the_children_it_needs_and_no_more() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = test_pattern(dir.path(), "plain.mp4", PATTERN, &["-pix_fmt", "yuv420p"]);
    let deep = test_pattern(dir.path(), "deep.mp4", PATTERN, &["-pix_fmt", "yuv444p"]);
    let rgb = test_pattern(dir.path(), "rgb.mov", PATTERN, &["-c:v", "png", "-pix_fmt", "rgb24"]);
    let matroska = test_pattern(dir.path(), "plain.mkv", PATTERN, &["-pix_fmt", "yuv420p"]);

    let runs = log_runs_of_ffmpeg(dir.path());

    for (video, expected) in [
        // The frame rate from the boxes, the format from ffmpeg's log.
        (&plain, "ffmpeg"),
        // Reported as 4:4:4, so started again for RGB.
        (&deep, "ffmpeg ffmpeg"),
        // RGB cannot go as YUV4MPEG: ffprobe names the format.
        (&rgb, "ffmpeg ffprobe ffmpeg"),
        // Not MP4/MOV: ffprobe for the frame rate.
        (&matroska, "ffprobe ffmpeg"),
    ] {
        let _ = std::fs::remove_file(&runs);
        let (_, features) = vpdq::hash_video(video, &vpdq::HashOptions::default()).unwrap();
        assert_eq!(features.len(), 1, "{}", video.display());
        let log = std::fs::read_to_string(&runs).unwrap_or_default();
        assert_eq!(
            log.split_whitespace().collect::<Vec<_>>().join(" "),
            expected,
            "{}",
            video.display()
        );
    }
}
