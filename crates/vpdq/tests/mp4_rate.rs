//! `mp4_frame_rate` against ffprobe: on the 14 conformance videos and on tiny
//! clips made with the ffmpeg command line (common and odd frame rates,
//! variable frame rate, QuickTime, 3GP, audio before video, faststart,
//! metadata, cover art, fragmented, MPEG-4 Part 2), every answer it gives must
//! be exactly ffprobe's `avg_frame_rate`, and the plain files must get one.
//! Skipped with a note when ffmpeg or the data is absent
//! (TANTALUM_REQUIRE_CONFORMANCE=1 makes that a failure, as in CI).

use std::path::{Path, PathBuf};
use std::process::Command;

fn required() -> bool {
    std::env::var_os("TANTALUM_REQUIRE_CONFORMANCE").is_some()
}

fn have_ffmpeg() -> bool {
    if vpdq::ffmpeg_available() {
        return true;
    }
    assert!(!required(), "ffmpeg is needed for the MP4 frame rate tests");
    eprintln!("skipped: ffmpeg not found");
    false
}

/// What ffprobe prints as the first video stream's `avg_frame_rate`.
fn ffprobe_rate(path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=avg_frame_rate", "-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Our answer, checked against ffprobe whenever there is one.
fn checked_rate(path: &Path) -> Option<(u32, u32)> {
    let ours = vpdq::mp4_frame_rate(path);
    if let Some((num, den)) = ours {
        assert_eq!(format!("{num}/{den}"), ffprobe_rate(path), "{}", path.display());
    }
    ours
}

#[test]
fn conformance_videos_match_ffprobe() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/vpdq/videos");
    if !dir.exists() {
        assert!(!required(), "vPDQ conformance data not found beside the repository");
        eprintln!("skipped: shared/conformance/vpdq not found");
        return;
    }
    if !have_ffmpeg() {
        return;
    }
    let mut videos: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    videos.sort();
    assert_eq!(videos.len(), 14);
    for video in &videos {
        assert!(checked_rate(video).is_some(), "{}: no rate", video.display());
    }
}

/// Runs `ffmpeg` quietly with the given arguments.
fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg {args:?}");
}

#[test]
fn generated_clips_match_ffprobe() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let source = |rate: &str| format!("testsrc=size=64x48:rate={rate}");
    let x264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-threads", "1"];
    let vfr = ["-vf", "setpts=(N+floor(N/4))/(30*TB)", "-fps_mode", "vfr"];
    let tags = ["-metadata", "title=clip", "-metadata", "location=+51.5-000.1/"];
    let fragmented = ["-movflags", "frag_keyframe+empty_moov"];
    // (file, source rate, extra arguments, whether an answer is required)
    let clips: [(&str, &str, &[&str], bool); 13] = [
        ("ntsc.mp4", "30000/1001", &[], true),
        ("film.mp4", "24000/1001", &[], true),
        ("pal.mp4", "25", &[], true),
        ("sixty.mp4", "60", &[], true),
        ("fifteen.mp4", "15", &[], true),
        ("odd.mp4", "7/3", &[], true),
        ("vfr.mp4", "30", &vfr, true),
        ("quicktime.mov", "30000/1001", &["-f", "mov"], true),
        ("phone.3gp", "30", &["-f", "3gp"], true),
        ("faststart.mp4", "30", &["-movflags", "+faststart"], true),
        ("tagged.mp4", "25", &tags, true),
        ("fragmented.mp4", "30", &fragmented, false),
        ("timescale.mp4", "30", &["-video_track_timescale", "90000"], true),
    ];
    for (name, rate, extra, required) in clips {
        let src = source(rate);
        let mut args = vec!["-f", "lavfi", "-i", &src, "-frames:v", "20"];
        args.extend(x264);
        args.extend(extra);
        let path = out(name);
        args.push(&path);
        ffmpeg(&args);
        let ours = checked_rate(Path::new(&path));
        assert!(ours.is_some() || !required, "{name}: no rate");
    }

    // Audio stored first: the video is still the first video stream.
    let (src, path) = (source("25"), out("audio-first.mp4"));
    // Both inputs finite: with -frames:v alone ffmpeg 5.1 keeps reading the
    // endless test source once the video output is done.
    let mut args = vec!["-f", "lavfi", "-t", "0.8", "-i", &src];
    args.extend(["-f", "lavfi", "-i", "sine=sample_rate=8000:duration=0.8"]);
    args.extend(["-map", "1:a", "-map", "0:v", "-c:a", "aac"]);
    args.extend(x264);
    args.push(&path);
    ffmpeg(&args);
    assert!(checked_rate(Path::new(&path)).is_some(), "audio-first.mp4: no rate");

    // MPEG-4 Part 2 (an esds in the sample entry) and cover art may go to ffprobe.
    let (src, path) = (source("30"), out("part2.mp4"));
    ffmpeg(&["-f", "lavfi", "-i", &src, "-frames:v", "20", "-c:v", "mpeg4", &path]);
    checked_rate(Path::new(&path));
    let (cover, plain, path) = (out("cover.png"), out("ntsc.mp4"), out("cover.mp4"));
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=size=32x32", "-frames:v", "1", &cover]);
    let mut args = vec!["-i", &plain, "-i", &cover, "-map", "0", "-map", "1", "-c", "copy"];
    args.extend(["-disposition:v:1", "attached_pic", &path]);
    ffmpeg(&args);
    checked_rate(Path::new(&path));
}
