//! What the vPDQ test binaries share: synthetic test videos made by ffmpeg
//! itself (no media from anywhere else), and finding the real programs.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether ffmpeg can be run; without it the tests skip, unless
/// TANTALUM_REQUIRE_CONFORMANCE says it must be there (as in CI).
pub fn ffmpeg_or_skip() -> bool {
    if vpdq::ffmpeg_available() {
        return true;
    }
    assert!(
        std::env::var_os("TANTALUM_REQUIRE_CONFORMANCE").is_none(),
        "ffmpeg is needed"
    );
    eprintln!("skipped: ffmpeg not found");
    false
}

/// `dir/name`, written by ffmpeg from `args`.
pub fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "making {name}");
    path
}

/// ffmpeg's test pattern (`testsrc`, e.g. `size=64x48:rate=10:duration=1`)
/// as `dir/name`, encoded with `args` (the container from the name).
pub fn test_pattern(dir: &Path, name: &str, pattern: &str, args: &[&str]) -> PathBuf {
    let source = format!("testsrc={pattern}");
    let mut all = vec!["-f", "lavfi", "-i", &source];
    all.extend_from_slice(args);
    make(dir, name, &all)
}

/// Where `program` is on PATH now.
pub fn real_program(program: &str) -> Option<String> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!path.is_empty()).then_some(path)
}

/// An executable shell script `dir/name`.
pub fn script(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// Puts `dir` first on this process's PATH, for programs standing in for
/// ffmpeg's. Other tests in the same binary see it too, so stand-ins must
/// behave as the real program for files not named for them.
pub fn put_first_on_path(dir: &Path) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::set_var("PATH", format!("{}:{}", dir.display(), path.to_string_lossy()));
}

/// Puts ffmpeg and ffprobe stand-ins first on PATH that log each run (the
/// program's name, a line each) to the file returned, then run the real
/// program. Only for a test binary of its own: PATH is the whole process's.
pub fn log_runs_of_ffmpeg(dir: &Path) -> PathBuf {
    let ffmpeg = real_program("ffmpeg").expect("ffmpeg on PATH");
    let ffprobe = real_program("ffprobe").expect("ffprobe on PATH");
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let runs = dir.join("runs.log");
    for (name, path) in [("ffmpeg", &ffmpeg), ("ffprobe", &ffprobe)] {
        let log_run = format!("echo {name} >> '{}'", runs.display());
        script(&bin, name, &format!("#!/bin/sh\n{log_run}\nexec '{path}' \"$@\"\n"));
    }
    put_first_on_path(&bin);
    runs
}
