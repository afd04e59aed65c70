//! How many children each kind of video costs. Each ffmpeg or ffprobe run
//! costs a dynamic load of FFmpeg's libraries (about a tenth of a CPU
//! second), as much as decoding a short clip, so a path that quietly runs
//! more of them is a regression even when every hash stays right.
//!
//! Its own test binary: it puts logging wrappers first on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

fn real(program: &str) -> Option<String> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!path.is_empty()).then_some(path)
}

fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=10:duration=1",
        ])
        .args(args)
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "making {name}");
    path
}

#[test]
fn each_kind_of_video_runs_the_children_it_needs_and_no_more() {
    let (Some(ffmpeg), Some(ffprobe)) = (real("ffmpeg"), real("ffprobe")) else {
        assert!(
            std::env::var_os("TANTALUM_REQUIRE_CONFORMANCE").is_none(),
            "ffmpeg is needed"
        );
        eprintln!("skipped: ffmpeg not found");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plain = make(dir.path(), "plain.mp4", &["-pix_fmt", "yuv420p"]);
    let deep = make(dir.path(), "deep.mp4", &["-pix_fmt", "yuv444p"]);
    let rgb = make(dir.path(), "rgb.mov", &["-c:v", "png", "-pix_fmt", "rgb24"]);
    let matroska = make(dir.path(), "plain.mkv", &["-pix_fmt", "yuv420p"]);

    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let runs = dir.path().join("runs.log");
    for (name, path) in [("ffmpeg", &ffmpeg), ("ffprobe", &ffprobe)] {
        let wrapper = bin.join(name);
        std::fs::write(
            &wrapper,
            format!("#!/bin/sh\necho {name} >> '{}'\nexec '{path}' \"$@\"\n", runs.display()),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::set_var("PATH", format!("{}:{}", bin.display(), path.to_string_lossy()));

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
