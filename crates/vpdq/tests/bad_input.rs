//! Videos that cannot be hashed give clean errors: corrupt, empty, audio only.

mod common;

use common::{ffmpeg_or_skip, make, put_first_on_path, real_program, script, test_pattern};

#[test]
fn corrupt_empty_and_audio_only_files_are_errors() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let options = vpdq::HashOptions::default();

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let e = vpdq::hash_video(&empty, &options).unwrap_err();
    assert!(matches!(e, vpdq::VpdqError::Decode(_)), "{e}");

    let audio = make(
        dir.path(),
        "tone.m4a",
        &["-f", "lavfi", "-i", "sine=frequency=440:duration=1"],
    );
    let e = vpdq::hash_video(&audio, &options).unwrap_err();
    assert!(matches!(e, vpdq::VpdqError::NoVideoStream), "{e}");

    let video = test_pattern(
        dir.path(),
        "bars.mp4",
        "size=160x120:rate=10:duration=2",
        &["-pix_fmt", "yuv420p"],
    );
    let (info, features) = vpdq::hash_video(&video, &options).unwrap();
    assert_eq!((info.width, info.height), (160, 120));
    assert_eq!(
        features.iter().map(|f| f.frame).collect::<Vec<_>>(),
        vec![0, 10],
        "one frame a second"
    );

    let mut bytes = std::fs::read(&video).unwrap();
    for b in bytes.iter_mut().skip(200).step_by(7) {
        *b = !*b;
    }
    let garbled = dir.path().join("garbled.mp4");
    std::fs::write(&garbled, &bytes).unwrap();
    assert!(vpdq::hash_video(&garbled, &options).is_err());

    let noise: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let random = dir.path().join("random.mp4");
    std::fs::write(&random, noise).unwrap();
    assert!(vpdq::hash_video(&random, &options).is_err());
}

#[test]
fn a_hang_is_stopped_by_the_timeout() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A decoder that hangs, for real: an `ffmpeg` first on PATH that becomes `sleep` for the one
    // file named for it and is the real ffmpeg for everything else (other tests in this process).
    let real = real_program("ffmpeg").expect("ffmpeg on PATH");
    let video = test_pattern(
        dir.path(),
        "hangs-forever.mp4",
        "size=64x48:rate=10:duration=1",
        &["-pix_fmt", "yuv420p"],
    );
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    script(
        &bin,
        "ffmpeg",
        &format!("#!/bin/sh\ncase \"$*\" in *hangs-forever*) exec sleep 60 ;; esac\nexec '{real}' \"$@\"\n"),
    );
    put_first_on_path(&bin);

    let options = vpdq::HashOptions {
        timeout: std::time::Duration::from_millis(500),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let e = vpdq::hash_video(&video, &options).unwrap_err();
    assert!(matches!(e, vpdq::VpdqError::Timeout(_)), "{e}");
    // The child is killed at the limit, not waited for: the 60 s sleep never runs out.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn text_format_round_trip_and_errors() {
    let text = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n30,49,c0f1117837246aaccddea259648fbfd62f434c89c9e99b249776be216c8d055c,1.001\n";
    let features = vpdq::parse_features(text).unwrap();
    assert_eq!(vpdq::write_features(&features), text);
    for (bad, line) in [
        ("0,100,zz,0.0\n", 1),
        ("0,100\n", 1),
        (
            "0,101,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0\n",
            1,
        ),
    ] {
        match vpdq::parse_features(bad) {
            Err(vpdq::VpdqError::Parse { line: l, .. }) => assert_eq!(l, line),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

/// The frames' size and format are read from ffmpeg's log, which also shows
/// the file's metadata: a file whose metadata imitates ffmpeg's report of
/// the output (here of 8×8 grey frames) must hash as it would without it.
#[test]
fn metadata_posing_as_ffmpegs_report_changes_nothing() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = test_pattern(
        dir.path(),
        "plain.mp4",
        "size=160x120:rate=10:duration=2",
        &["-pix_fmt", "yuv420p"],
    );
    let forged_report = "x\n[info] Output #0, yuv4mpegpipe, to 'pipe:':\n\
                         [info]   Stream #0:0: Video: wrapped_avframe, gray, 8x8\n[info] y=v";
    let plain_arg = plain.to_str().unwrap();
    let posing = make(
        dir.path(),
        "posing.mp4",
        &[
            "-i",
            plain_arg,
            "-c",
            "copy",
            "-movflags",
            "use_metadata_tags",
            "-metadata",
            forged_report,
        ],
    );
    let options = vpdq::HashOptions {
        seconds_per_hash: 0.0,
        ..Default::default()
    };
    let (info, expected) = vpdq::hash_video(&plain, &options).unwrap();
    assert_eq!((info.width, info.height), (160, 120));
    assert_eq!(expected.len(), 20);
    let (info, features) = vpdq::hash_video(&posing, &options).unwrap();
    assert_eq!((info.width, info.height), (160, 120));
    assert_eq!(vpdq::write_features(&features), vpdq::write_features(&expected));
}

/// A video ffmpeg opens but has no decoder for fails with ffmpeg's own
/// reason, not a generic one.
#[test]
fn an_undecodable_stream_is_an_error_that_says_why() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let video = test_pattern(
        dir.path(),
        "bars.mp4",
        "size=64x48:rate=10:duration=1",
        &["-pix_fmt", "yuv420p"],
    );
    let mut bytes = std::fs::read(&video).unwrap();
    // The sample entry's type, not the brand of the same name in `ftyp`.
    let stsd = bytes
        .windows(4)
        .position(|w| w == b"stsd")
        .expect("a sample description");
    let entry = stsd
        + bytes[stsd..]
            .windows(4)
            .position(|w| w == b"avc1")
            .expect("an avc1 sample entry");
    bytes[entry..entry + 4].copy_from_slice(b"zzzz");
    let unknown = dir.path().join("unknown-codec.mp4");
    std::fs::write(&unknown, &bytes).unwrap();
    let e = vpdq::hash_video(&unknown, &vpdq::HashOptions::default()).unwrap_err();
    match e {
        vpdq::VpdqError::Decode(message) => assert!(message.contains("Decoder"), "{message}"),
        other => panic!("{other}"),
    }
}

/// Hashed together, each video gets what hashing it alone gives, error or
/// not: whatever stops a shared run sends its videos to runs of their own.
#[test]
fn videos_hashed_together_get_what_each_gets_alone() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pattern = "size=160x120:rate=10:duration=2";
    let plain = test_pattern(dir.path(), "plain.mp4", pattern, &["-pix_fmt", "yuv420p"]);
    let full = test_pattern(dir.path(), "full.mp4", pattern, &["-pix_fmt", "yuvj420p"]);
    // 4:2:0 tagged full range but decoded as yuv420p (VP9 has no yuvj
    // formats): swscale reads it as limited range, as the reference does.
    let tagged = test_pattern(
        dir.path(),
        "tagged.mp4",
        pattern,
        &["-pix_fmt", "yuv420p", "-color_range", "pc", "-c:v", "libvpx-vp9"],
    );
    let deep = test_pattern(dir.path(), "deep.mp4", pattern, &["-pix_fmt", "yuv420p10le"]);
    let grey = test_pattern(dir.path(), "grey.mp4", pattern, &["-pix_fmt", "gray"]);
    let odd = test_pattern(
        dir.path(),
        "odd.mp4",
        "size=150x120:rate=10:duration=2",
        &["-pix_fmt", "yuv420p"],
    );
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let audio = make(
        dir.path(),
        "tone.mp4",
        &["-f", "lavfi", "-i", "sine=frequency=440:duration=1"],
    );
    let mut bytes = std::fs::read(&plain).unwrap();
    for b in bytes.iter_mut().skip(200).step_by(7) {
        *b = !*b;
    }
    let garbled = dir.path().join("garbled.mp4");
    std::fs::write(&garbled, &bytes).unwrap();

    let options = vpdq::HashOptions {
        seconds_per_hash: 0.0,
        ..Default::default()
    };
    let text = |r: Result<(vpdq::VideoInfo, Vec<vpdq::Feature>), vpdq::VpdqError>| match r {
        Ok((info, features)) => format!("{info:?}\n{}", vpdq::write_features(&features)),
        // Without the addresses of ffmpeg's contexts, which differ per run.
        Err(e) => format!("error: {e}")
            .split(" @ 0x")
            .map(|part| part.trim_start_matches(|c: char| c.is_ascii_hexdigit()))
            .collect::<Vec<_>>()
            .join(" @ "),
    };
    // Clean videos alone, then with each kind of trouble among them.
    let clean = [&plain, &full, &tagged, &odd];
    let troubles = [&deep, &grey, &empty, &audio, &garbled];
    let mut sets: Vec<Vec<&std::path::PathBuf>> = vec![clean.to_vec()];
    for trouble in troubles {
        sets.push(vec![&plain, trouble, &full]);
    }
    for videos in sets {
        let together = vpdq::hash_videos(&videos, &options);
        for (video, together) in videos.iter().zip(together) {
            let alone = vpdq::hash_video(video, &options);
            assert_eq!(text(together), text(alone), "{}", video.display());
        }
    }
}
