//! Runs the real `tantalum` binary on evidence trees built in a temp dir.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/images")
}

fn tantalum(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run tantalum")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn by_path<'a>(records: &'a [Value], suffix: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no record for {suffix}"))
}

/// A PNG header claiming `w`×`h`, with valid CRCs, and no image data after it.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    0xEDB8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    let idat = b"IDAT\x78\x9c\x03\x00\x00\x00\x00\x01";
    png.extend_from_slice(&((idat.len() - 4) as u32).to_be_bytes());
    png.extend_from_slice(idat);
    png.extend_from_slice(&crc32(idat).to_be_bytes());
    png
}

/// Reference PDQ hashes of the bundled JPEGs (Meta's algorithm via PyPI
/// `pdqhash` after a libjpeg-turbo decode and the 512 rule).
const SAMPLE_JPEGS: &[(&str, &str)] = &[
    (
        "street-730x411.jpg",
        "09ac3e53e126f613fc9918fd032e09e4075fa971f68b5dacdc08e323941b7672",
    ),
    (
        "portrait-590x786.jpg",
        "fefe079c644597c6990b81697ff2a80bdac47e0cb7659a160f8bf8780f430851",
    ),
    (
        "nested/tall-419x746.jpg",
        "0e5e9f1d2e4e783ef8b472c08dc30fc4873ae9f67139edc006b487868e4c7368",
    ),
];

#[test]
fn sample_jpegs_hash_as_the_reference() {
    let out = tantalum(&["hash", "--json", "images"], samples().parent().unwrap());
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = json_lines(&out);
    for (name, hash) in SAMPLE_JPEGS {
        let r = by_path(&records, name);
        assert_eq!(r["pdq"], *hash, "{name}");
        assert_eq!(r["quality"], 100);
        assert_eq!(r["kind"], "image");
        assert_eq!(r["format"], "jpeg");
    }
    // Paths are the given path joined with the walked relative path.
    assert_eq!(
        by_path(&records, "tall-419x746.jpg")["path"],
        "images/nested/tall-419x746.jpg"
    );
    let notes = by_path(&records, "notes.txt");
    assert_eq!(notes["kind"], "other");
    assert!(notes["pdq"].is_null() && notes["quality"].is_null() && notes["error"].is_null());
    assert_eq!(notes["sha256"].as_str().unwrap().len(), 64);
    // Output order is path order, whatever order workers finish in.
    let paths: Vec<&str> = records.iter().map(|r| r["path"].as_str().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}

#[test]
fn json_fields_and_digests() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("abc.bin"), b"abc").unwrap();
    let out = tantalum(&["hash", "--json", "abc.bin"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let records = json_lines(&out);
    assert_eq!(records.len(), 1);
    let r = &records[0];
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "path", "size", "md5", "sha1", "sha256", "kind", "format", "width", "height", "pdq", "quality", "error",
    ] {
        assert!(keys.contains(&key), "missing {key}");
    }
    assert!(!keys.contains(&"dihedral"), "dihedral only with --dihedral");
    assert_eq!(r["path"], "abc.bin");
    assert_eq!(r["size"], 3);
    assert_eq!(r["md5"], "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(r["sha1"], "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(
        r["sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn dihedral_lists_eight_hashes_starting_with_the_original() {
    let sample = samples().join("street-730x411.jpg");
    let out = tantalum(
        &["hash", "--json", "--dihedral", sample.to_str().unwrap()],
        Path::new("."),
    );
    assert_eq!(out.status.code(), Some(0));
    let r = &json_lines(&out)[0];
    let d = r["dihedral"].as_array().expect("dihedral array");
    assert_eq!(d.len(), 8);
    assert_eq!(d[0], r["pdq"]);
    let distinct: std::collections::HashSet<&str> = d.iter().map(|h| h.as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 8);
}

#[test]
fn bad_input_gives_per_file_errors_and_the_rest_is_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    fs::create_dir(&root).unwrap();
    let jpeg = fs::read(samples().join("street-730x411.jpg")).unwrap();
    fs::write(root.join("empty.jpg"), b"").unwrap();
    fs::write(root.join("truncated.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    let noise: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(root.join("random.jpg"), &noise).unwrap();
    fs::write(root.join("huge.png"), png_header_only(60000, 60000)).unwrap();
    fs::write(root.join("good.jpg"), &jpeg).unwrap();
    let out = tantalum(&["hash", "--json", "evidence"], dir.path());
    assert_eq!(out.status.code(), Some(1), "some files failed: exit 1, not a panic");
    let records = json_lines(&out);
    assert_eq!(records.len(), 5);

    let good = by_path(&records, "good.jpg");
    assert_eq!(good["pdq"], SAMPLE_JPEGS[0].1);
    assert!(good["error"].is_null());

    let empty = by_path(&records, "empty.jpg");
    assert_eq!(empty["size"], 0);
    assert_eq!(
        empty["sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert!(empty["error"].as_str().unwrap().contains("empty"));

    let truncated = by_path(&records, "truncated.jpg");
    assert!(
        truncated["error"].as_str().unwrap().contains("truncated"),
        "{truncated}"
    );
    assert!(truncated["pdq"].is_null());
    assert_eq!(
        truncated["sha256"].as_str().unwrap().len(),
        64,
        "digests kept on failure"
    );
    assert_eq!(truncated["format"], "jpeg");

    let random = by_path(&records, "random.jpg");
    assert_eq!(random["kind"], "other");
    assert!(random["error"].as_str().unwrap().contains("not an image"), "{random}");
    assert_eq!(random["md5"].as_str().unwrap().len(), 32);

    let huge = by_path(&records, "huge.png");
    assert!(huge["error"].as_str().unwrap().contains("too large"), "{huge}");
    assert_eq!(huge["format"], "png");
    assert!(huge["pdq"].is_null());
}

#[test]
fn pixel_limit_is_configurable() {
    let sample = samples().join("street-730x411.jpg");
    let out = tantalum(
        &["hash", "--json", "--max-pixels", "1000", sample.to_str().unwrap()],
        Path::new("."),
    );
    assert_eq!(out.status.code(), Some(1));
    let r = &json_lines(&out)[0];
    assert!(r["error"]
        .as_str()
        .unwrap()
        .contains("730x411 is over the limit of 1000 pixels"));
}

#[test]
fn heic_and_avif_are_detected_and_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("photo.dat"),
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0",
    )
    .unwrap();
    fs::write(
        dir.path().join("photo2.dat"),
        b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf\0\0\0\0",
    )
    .unwrap();
    let out = tantalum(&["hash", "--json", "."], dir.path());
    let records = json_lines(&out);
    assert_eq!(by_path(&records, "photo.dat")["error"], "unsupported format: heic");
    assert_eq!(by_path(&records, "photo2.dat")["error"], "unsupported format: avif");
    assert_eq!(by_path(&records, "photo.dat")["kind"], "image");
}

#[test]
fn usage_errors_exit_2() {
    let cwd = Path::new(".");
    assert_eq!(tantalum(&["hash"], cwd).status.code(), Some(2));
    assert_eq!(tantalum(&["hash", "--no-such-flag", "x"], cwd).status.code(), Some(2));
    assert_eq!(tantalum(&["frobnicate"], cwd).status.code(), Some(2));
}

#[test]
fn missing_path_is_a_failure_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let out = tantalum(&["hash", "--json", "nope"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let r = &json_lines(&out)[0];
    assert!(r["error"].as_str().unwrap().contains("read error"));
}

#[test]
fn special_files_and_link_loops_are_skipped_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dump");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::write(root.join("sub/a.txt"), b"a").unwrap();
    std::os::unix::fs::symlink("..", root.join("sub/loop")).unwrap();
    let fifo = Command::new("mkfifo").arg(root.join("pipe")).status();
    let out = tantalum(&["hash", "--json", "dump"], dir.path());
    assert_eq!(out.status.code(), Some(0), "skips are not failures");
    let records = json_lines(&out);
    assert!(by_path(&records, "loop")["error"]
        .as_str()
        .unwrap()
        .starts_with("skipped: symbolic link"));
    if fifo.map(|s| s.success()).unwrap_or(false) {
        assert_eq!(by_path(&records, "pipe")["error"], "skipped: fifo");
    }
    assert!(by_path(&records, "a.txt")["error"].is_null());
}

#[test]
fn evidence_is_not_modified() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("photo.jpg");
    fs::copy(samples().join("street-730x411.jpg"), &file).unwrap();
    let before = fs::metadata(&file).unwrap();
    let bytes_before = fs::read(&file).unwrap();
    // Reading the copy above may itself have set atime; take the baseline after it.
    let before_atime = fs::metadata(&file).unwrap().accessed().unwrap();
    let out = tantalum(&["hash", "--json", "photo.jpg"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let after = fs::metadata(&file).unwrap();
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
    assert_eq!(
        before_atime,
        after.accessed().unwrap(),
        "access time untouched (O_NOATIME)"
    );
    assert_eq!(fs::read(&file).unwrap(), bytes_before);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "nothing written beside the evidence");
}

#[test]
fn table_output_for_people() {
    let out = tantalum(&["hash", "images"], samples().parent().unwrap());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("PDQ"));
    assert!(text.contains(SAMPLE_JPEGS[0].1));
    assert!(text.contains("images/notes.txt"));
    assert!(
        out.stderr.is_empty(),
        "no progress or summary when stderr is not a terminal"
    );
}

fn tantalum_in(store: &Path, args: &[&str], cwd: &Path) -> Output {
    let mut full = vec!["--store", store.to_str().unwrap()];
    full.extend_from_slice(args);
    tantalum(&full, cwd)
}

#[test]
fn bank_import_match_export() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let list = dir.path().join("list.csv");
    fs::write(&list, format!("id,pdq,category\nk1,{},ncmec:A1\n", SAMPLE_JPEGS[0].1)).unwrap();
    let out = tantalum_in(
        &store,
        &["bank", "import", "hotline", list.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // A file is hashed, then matched; its near copies too.
    let images = samples();
    let out = tantalum_in(
        &store,
        &["match", "--json", "street-730x411.jpg", "street-grey.gif", "notes.txt"],
        &images,
    );
    assert_eq!(out.status.code(), Some(0));
    let hits = json_lines(&out);
    assert_eq!(hits.len(), 2, "the text file matches nothing and prints nothing");
    assert_eq!(hits[0]["bank"], "hotline");
    assert_eq!(hits[0]["distance"], 0);
    assert_eq!(hits[0]["query_path"], "street-730x411.jpg");
    assert_eq!(hits[0]["entry_hash"], SAMPLE_JPEGS[0].1);
    assert_eq!(hits[0]["categories"][0], "ncmec:A1");
    assert_eq!(hits[0]["signal"], "pdq");
    assert!(hits[1]["distance"].as_u64().unwrap() > 0);

    // A bare hash; no hit exits 1 like grep.
    let out = tantalum_in(&store, &["match", "--json", SAMPLE_JPEGS[1].1], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let out = tantalum_in(&store, &["match", "--max-distance", "5", "street-grey.gif"], &images);
    assert_eq!(out.status.code(), Some(1));

    // Export gives back what came in.
    let out = tantalum_in(&store, &["bank", "export", "hotline", "--format", "csv"], dir.path());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        fs::read_to_string(&list).unwrap()
    );
}

#[test]
fn bad_list_imports_nothing_and_names_lines() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let list = dir.path().join("list.txt");
    fs::write(
        &list,
        "900150983cd24fb0d6963f7d28e17f72\nnot a hash\n900150983cd24fb0d6963f7d28e17f7\n",
    )
    .unwrap();
    let out = tantalum_in(&store, &["bank", "import", "b", list.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("list.txt:2:") && err.contains("list.txt:3:"), "{err}");
    assert!(err.contains("nothing was imported"));
    let out = tantalum_in(&store, &["bank", "list", "--json"], dir.path());
    assert!(out.stdout.is_empty(), "not even the bank the import would have made");
}

#[test]
fn videos_get_vpdq() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("clip.mp4");
    let made = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10:duration=2",
        ])
        .args(["-pix_fmt", "yuv420p"])
        .arg(&video)
        .status();
    if !made.map(|s| s.success()).unwrap_or(false) {
        assert!(
            std::env::var_os("TANTALUM_REQUIRE_CONFORMANCE").is_none(),
            "ffmpeg is needed"
        );
        eprintln!("skipped: ffmpeg not found");
        return;
    }
    let out = tantalum(&["hash", "--json", "clip.mp4"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let r = &json_lines(&out)[0];
    assert_eq!(r["kind"], "video");
    assert_eq!((r["width"].as_u64(), r["height"].as_u64()), (Some(160), Some(120)));
    let frames: Vec<u64> = r["vpdq"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(frames, vec![0, 10]);
    assert_eq!(r["vpdq"][1]["timestamp"], 1.0);
    assert_eq!(r["vpdq"][0]["pdq"].as_str().unwrap().len(), 64);

    let out = tantalum(
        &["hash", "--json", "--vpdq-seconds", "0", "--vpdq-size", "64", "clip.mp4"],
        dir.path(),
    );
    assert_eq!(json_lines(&out)[0]["vpdq"].as_array().unwrap().len(), 20);

    // Several videos, decoded together where they can be: each record as
    // hashing the video alone gives it.
    for (name, pattern, pix_fmt) in [
        ("full.mp4", "testsrc=size=96x64:rate=25:duration=3", "yuvj420p"),
        ("deep.mp4", "testsrc=size=96x64:rate=10:duration=1", "yuv444p"),
    ] {
        let made = Command::new("ffmpeg")
            .args([
                "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", pattern, "-pix_fmt", pix_fmt,
            ])
            .arg(dir.path().join(name))
            .status()
            .unwrap();
        assert!(made.success(), "{name}");
    }
    let names = ["clip.mp4", "full.mp4", "deep.mp4"];
    let mut args = vec!["hash", "--json", "--vpdq-seconds", "0"];
    args.extend(names);
    let together = json_lines(&tantalum(&args, dir.path()));
    assert_eq!(together.len(), names.len());
    for name in names {
        let record = together.iter().find(|r| r["path"] == name).expect(name);
        let alone = &json_lines(&tantalum(&["hash", "--json", "--vpdq-seconds", "0", name], dir.path()))[0];
        assert_eq!(record, alone, "{name}");
        assert!(
            record["vpdq"].as_array().is_some_and(|frames| !frames.is_empty()),
            "{name}"
        );
    }

    let without_ffmpeg = Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args(["hash", "--json", "clip.mp4"])
        .current_dir(dir.path())
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let r = &json_lines(&without_ffmpeg)[0];
    assert_eq!(r["error"], "vpdq unavailable: ffmpeg not found");
    assert_eq!(r["sha256"].as_str().unwrap().len(), 64, "digests kept");
}

#[test]
fn videos_match_by_vpdq() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, src: &str| {
        Command::new("ffmpeg")
            .args([
                "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", src, "-t", "3", "-pix_fmt", "yuv420p",
            ])
            .arg(dir.path().join(name))
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !make("known.mp4", "testsrc=size=160x120:rate=10:duration=3") {
        assert!(
            std::env::var_os("TANTALUM_REQUIRE_CONFORMANCE").is_none(),
            "ffmpeg is needed"
        );
        return;
    }
    assert!(make("other.mp4", "mandelbrot=size=160x120:rate=10"));
    // The known video's vPDQ, written in the reference's format, becomes a bank entry.
    let out = tantalum(&["hash", "--json", "known.mp4"], dir.path());
    let record = &json_lines(&out)[0];
    let hashes = dir.path().join("hashes");
    fs::create_dir(&hashes).unwrap();
    fs::write(hashes.join("known.txt"), common::vpdq_reference_text(record)).unwrap();
    let store = dir.path().join("store");
    let out = tantalum_in(
        &store,
        &["bank", "import", "videos", hashes.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let out = tantalum_in(&store, &["match", "--json", "known.mp4"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let hit = &json_lines(&out)[0];
    assert_eq!(hit["signal"], "vpdq");
    assert_eq!(hit["external_id"], "known");
    assert_eq!(hit["query_match_pct"], 100.0);
    assert_eq!(hit["target_match_pct"], 100.0);
    let out = tantalum_in(&store, &["match", "--json", "other.mp4"], dir.path());
    assert_eq!(out.status.code(), Some(1), "a different video does not match");

    // The vPDQ itself, as a partner would send it, is a query too.
    let out = tantalum_in(&store, &["match", "--json", "vpdq:hashes/known.txt"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let hit = &json_lines(&out)[0];
    assert_eq!(
        (hit["signal"].as_str(), hit["query_path"].as_str()),
        (Some("vpdq"), Some("hashes/known.txt"))
    );
    assert_eq!(
        (hit["query_match_pct"].as_f64(), hit["target_match_pct"].as_f64()),
        (Some(100.0), Some(100.0))
    );
    fs::write(dir.path().join("bad.txt"), "0,100,nothex,0.000\n").unwrap();
    let out = tantalum_in(&store, &["match", "vpdq:bad.txt"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.txt") && err.contains("line 1"), "{err}");
}
