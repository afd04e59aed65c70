//! `tantalum scan` and `tantalum report` on generated evidence trees with
//! known answers (see the `synth` crate): every expected match and
//! non-match, evidence left untouched, and a killed scan resumed to the
//! same case as an uninterrupted one.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

fn tantalum(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("run tantalum")
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The evidence tree, its lists imported into a bank store.
struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    layout: synth::Layout,
    store: PathBuf,
}

fn setup(extras: synth::Extras) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let layout = synth::write_evidence(&root, extras).unwrap();
    let store = root.join("store");
    ok(tantalum(
        &store,
        &["bank", "import", "flagged", s(&layout.flagged_list), "--format", "csv"],
    ));
    ok(tantalum(&store, &["bank", "create", "known", "--known"]));
    ok(tantalum(&store, &["bank", "import", "known", s(&layout.known_list)]));
    Setup {
        _dir: dir,
        root,
        layout,
        store,
    }
}

fn report(case: &Path) -> Value {
    let out = ok(Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args(["report", "--case", s(case), "--format", "json"])
        .output()
        .unwrap());
    serde_json::from_slice(&out.stdout).expect("the report is JSON")
}

fn files_by_path(report: &Value) -> BTreeMap<String, Value> {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f.clone()))
        .collect()
}

fn flagged(file: &Value) -> Vec<&Value> {
    file["matches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["known_file"] == false)
        .collect()
}

fn check_against_expectations(setup: &Setup, report: &Value, dihedral: bool) {
    let files = files_by_path(report);
    let item_pdq: BTreeMap<&str, &str> = setup
        .layout
        .item_pdq
        .iter()
        .map(|(id, h)| (id.as_str(), h.as_str()))
        .collect();
    for e in &setup.layout.expect {
        let f = files
            .get(&e.path)
            .unwrap_or_else(|| panic!("{} is missing from the report", e.path));
        assert_eq!(f["status"], e.status, "{}: {f}", e.path);
        let hits = flagged(f);
        match &e.item {
            Some(item) if !e.needs_dihedral || dihedral => {
                let pdq = hits
                    .iter()
                    .find(|m| m["signal"] == "pdq")
                    .unwrap_or_else(|| panic!("{}: no PDQ match: {f}", e.path));
                assert_eq!(
                    pdq["entry_hash"],
                    item_pdq[item.as_str()],
                    "{}: matched the wrong item",
                    e.path
                );
                assert!(pdq["distance"].as_u64().unwrap() <= 31);
                let by_digest = hits.iter().any(|m| m["signal"] == "md5");
                assert_eq!(by_digest, e.exact, "{}: digest match", e.path);
                assert_eq!(pdq["distance"] == 0, e.exact, "{}: distance", e.path);
            }
            _ => assert!(hits.is_empty(), "{}: unexpected match {f}", e.path),
        }
    }
    let summary = &report["summary"];
    let near = setup
        .layout
        .expect
        .iter()
        .filter(|e| e.item.is_some() && !e.exact && (dihedral || !e.needs_dihedral))
        .count();
    assert_eq!(summary["known_exact"], 3);
    assert_eq!(summary["known_near"].as_u64().unwrap() as usize, near);
    assert_eq!(summary["known_files"], 1);
    assert_eq!(summary["files"].as_u64().unwrap() as usize, files.len());
}

#[test]
fn scan_finds_each_expected_match_and_nothing_else() {
    let setup = setup(synth::Extras { photos: 0, traps: true });
    let case = setup.root.join("case");
    let out = tantalum(
        &setup.store,
        &["scan", "--case", s(&case), "--json", s(&setup.layout.evidence)],
    );
    // Exit 1: the corrupt and the empty file could not be analysed.
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["errors"], 2);
    let r = report(&case);
    check_against_expectations(&setup, &r, false);
    let files = files_by_path(&r);
    let blank = &files["Download/blank.png"];
    assert!(
        blank["quality"].as_u64().unwrap() < 50,
        "the flat image is low quality: {blank}"
    );
    let member = &files["Backup/photos.zip!/nested/deep.tar.gz!/deep/c.jpg"];
    assert_eq!(member["container"], "Backup/photos.zip!/nested/deep.tar.gz");
    assert!(files["Backup/traps.zip!/zeros.bin"]["error"]
        .as_str()
        .unwrap()
        .contains("zip bomb"));
    assert!(files["Backup/traps.zip!/../../outside.jpg"]["error"]
        .as_str()
        .unwrap()
        .contains("zip-slip"));
    assert_eq!(r["sources"][0]["root"], s(&setup.layout.evidence));

    // Rotations match only when asked for.
    let case2 = setup.root.join("case-dihedral");
    tantalum(
        &setup.store,
        &["scan", "--case", s(&case2), "--dihedral", s(&setup.layout.evidence)],
    );
    check_against_expectations(&setup, &report(&case2), true);

    // The other formats.
    let csv_path = setup.root.join("matches.csv");
    ok(Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args(["report", "--case", s(&case2), "--format", "csv", "--out", s(&csv_path)])
        .output()
        .unwrap());
    let csv = fs::read_to_string(&csv_path).unwrap();
    let rows: usize = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["matches"].as_array().unwrap().len())
        .sum();
    assert!(csv.lines().count() > rows, "one row per match, the rotation's included");
    let html_path = setup.root.join("report.html");
    ok(Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args([
            "report",
            "--case",
            s(&case2),
            "--format",
            "html",
            "--out",
            s(&html_path),
        ])
        .output()
        .unwrap());
    let html = fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("demo:A") && html.contains("IMG-20170312-WA0007.jpg"));
    assert!(!html.contains("<img") && !html.contains("src=") && !html.contains("href="));
    let manifest_path = setup.root.join("manifest.json");
    ok(Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args([
            "report",
            "--case",
            s(&case2),
            "--format",
            "manifest",
            "--out",
            s(&manifest_path),
        ])
        .output()
        .unwrap());
    let manifest: Value = serde_json::from_slice(&fs::read(&manifest_path).unwrap()).unwrap();
    let outputs = manifest["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 2, "the csv and html written before it");
    let html_sha = media::hex(&media::Loaded::from_bytes(html.as_bytes()).digests.sha256);
    assert!(outputs.iter().any(|o| o["sha256"] == html_sha.as_str()));
    let inputs = manifest["inputs"].as_array().unwrap();
    let img1 = inputs.iter().find(|i| i["path"] == "DCIM/Camera/IMG_0001.jpg").unwrap();
    let bytes = fs::read(setup.layout.evidence.join("DCIM/Camera/IMG_0001.jpg")).unwrap();
    assert_eq!(
        img1["sha256"],
        media::hex(&media::Loaded::from_bytes(&bytes).digests.sha256).as_str()
    );
}

#[test]
fn same_inputs_give_the_same_json_report_apart_from_run_time_fields() {
    let setup = setup(synth::Extras::default());
    let mut reports = Vec::new();
    for name in ["one", "two"] {
        let case = setup.root.join(name).join("case");
        tantalum(&setup.store, &["scan", "--case", s(&case), s(&setup.layout.evidence)]);
        let mut r = report(&case);
        for field in case::report::RUN_TIME_FIELDS {
            r.as_object_mut().unwrap().remove(field);
        }
        reports.push(serde_json::to_string_pretty(&r).unwrap());
    }
    assert_eq!(reports[0], reports[1]);
}

/// SHA-256, size, mtime, atime and ctime of everything under `root`, folders included.
fn fingerprint(root: &Path) -> BTreeMap<PathBuf, (String, u64, i64, i64, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        // symlink_metadata reads the inode without touching its times.
        let m = fs::symlink_metadata(&p).unwrap();
        let digest = if m.is_file() {
            let bytes = fs::read(&p).unwrap();
            media::hex(&media::Loaded::from_bytes(&bytes).digests.sha256)
        } else {
            String::new()
        };
        out.insert(
            p.clone(),
            (
                digest,
                m.len(),
                m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                m.atime() * 1_000_000_000 + m.atime_nsec(),
                m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            ),
        );
        if m.is_dir() {
            for e in fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    out
}

fn make_video(path: &Path) -> bool {
    Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10:duration=2",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn evidence_is_read_only_down_to_access_times() {
    let setup = setup(synth::Extras { photos: 0, traps: true });
    let video = setup.layout.evidence.join("DCIM/Camera/VID_0001.mp4");
    let with_video = make_video(&video);
    if !with_video {
        assert!(
            std::env::var_os("TANTALUM_REQUIRE_CONFORMANCE").is_none(),
            "ffmpeg is needed"
        );
    }
    // Our own digests read every file: take them first, then set every
    // access time back to the modification time. Under relatime a read
    // updates an atime that is not after the mtime, so from here any read
    // of the evidence that lacks O_NOATIME would show.
    let digests = fingerprint_digests_only(&setup.layout.evidence);
    for p in digests.keys() {
        let m = fs::symlink_metadata(p).unwrap();
        let times = fs::FileTimes::new()
            .set_accessed(m.modified().unwrap())
            .set_modified(m.modified().unwrap());
        let handle = if m.is_file() {
            fs::File::options().write(true).open(p).unwrap()
        } else {
            fs::File::open(p).unwrap()
        };
        handle.set_times(times).unwrap();
    }
    let before = times_now(&digests);
    std::thread::sleep(Duration::from_millis(20));
    let case = setup.root.join("case");
    tantalum(
        &setup.store,
        &["scan", "--case", s(&case), "--dihedral", s(&setup.layout.evidence)],
    );
    let after = times_now(&digests);
    assert_eq!(before.len(), after.len());
    for (path, was) in &before {
        assert_eq!(&after[path], was, "{} changed", path.display());
    }
    if with_video {
        let r = report(&case);
        let v = &files_by_path(&r)["DCIM/Camera/VID_0001.mp4"];
        assert_eq!(v["kind"], "video");
        assert_eq!(v["vpdq_frames"], 2, "{v}");
    }
    assert!(
        fs::read_dir(case.join("tmp")).unwrap().next().is_none(),
        "private video copies are removed"
    );
}

/// Every path's SHA-256 (files) and size.
fn fingerprint_digests_only(root: &Path) -> BTreeMap<PathBuf, (String, u64)> {
    fingerprint(root)
        .into_iter()
        .map(|(p, (d, len, ..))| (p, (d, len)))
        .collect()
}

/// Digests as taken before, with every path's times as they are now
/// (reading the files again would itself move the access times).
fn times_now(digests: &BTreeMap<PathBuf, (String, u64)>) -> BTreeMap<PathBuf, (String, u64, i64, i64, i64)> {
    digests
        .iter()
        .map(|(p, (digest, _))| {
            let m = fs::symlink_metadata(p).unwrap();
            (
                p.clone(),
                (
                    digest.clone(),
                    m.len(),
                    m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                    m.atime() * 1_000_000_000 + m.atime_nsec(),
                    m.ctime() * 1_000_000_000 + m.ctime_nsec(),
                ),
            )
        })
        .collect()
}

fn recorded_files(case: &Path) -> u64 {
    let db = case.join(case::DB_FILE);
    let Ok(conn) = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return 0;
    };
    conn.query_row("SELECT count(*) FROM files", [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .unwrap_or(0)
}

#[test]
fn a_killed_scan_resumes_to_the_same_case() {
    let setup = setup(synth::Extras {
        photos: 400,
        traps: true,
    });
    let evidence = s(&setup.layout.evidence);

    let whole = setup.root.join("whole").join("case");
    tantalum(&setup.store, &["scan", "--case", s(&whole), "--dihedral", evidence]);
    let total = recorded_files(&whole);

    let resumed = setup.root.join("resumed").join("case");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .arg("--store")
        .arg(&setup.store)
        .args(["scan", "--case", s(&resumed), "--dihedral", "-j", "1", evidence])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while recorded_files(&resumed) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to tidy up
    child.wait().unwrap();
    let at_kill = recorded_files(&resumed);
    assert!(at_kill > 0 && at_kill < total, "killed midway: {at_kill} of {total}");

    let out = tantalum(
        &setup.store,
        &["scan", "--case", s(&resumed), "--dihedral", "--json", evidence],
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["already_done"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(recorded_files(&resumed), total);

    let strip = |mut r: Value| {
        for field in case::report::RUN_TIME_FIELDS {
            r.as_object_mut().unwrap().remove(field);
        }
        serde_json::to_string_pretty(&r).unwrap()
    };
    assert_eq!(strip(report(&resumed)), strip(report(&whole)));
    let runs = report(&resumed)["runs"].clone();
    assert_eq!(runs[0]["status"], "interrupted");
    assert_eq!(runs[1]["status"], "complete");
}

#[test]
fn resuming_with_other_settings_is_refused_unless_rescanning() {
    let setup = setup(synth::Extras::default());
    let case = setup.root.join("case");
    let evidence = s(&setup.layout.evidence);
    tantalum(&setup.store, &["scan", "--case", s(&case), evidence]);
    let out = tantalum(&setup.store, &["scan", "--case", s(&case), "--dihedral", evidence]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rescan"));
    tantalum(
        &setup.store,
        &["scan", "--case", s(&case), "--dihedral", "--rescan", evidence],
    );
    check_against_expectations(&setup, &report(&case), true);
}

#[test]
fn a_case_inside_the_evidence_is_refused() {
    let setup = setup(synth::Extras::default());
    let case = setup.layout.evidence.join("case");
    let out = tantalum(&setup.store, &["scan", "--case", s(&case), s(&setup.layout.evidence)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!case.exists(), "nothing written beside the evidence");
}

#[test]
fn demo_builds_scans_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = ok(Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args(["demo", "--dir", s(&demo), "--photos", "5"])
        .output()
        .unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 exact"), "{text}");
    for name in ["report.json", "matches.csv", "report.html", "manifest.json"] {
        assert!(demo.join("reports").join(name).is_file(), "{name}");
    }
    // A rerun replaces its own earlier demo, and refuses any other folder.
    ok(Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args(["demo", "--dir", s(&demo), "--photos", "0"])
        .output()
        .unwrap());
    let other = dir.path().join("mine");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("keep.txt"), "x").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args(["demo", "--dir", s(&other)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(other.join("keep.txt").exists());
}

#[test]
fn videos_in_folders_and_archives_match_by_vpdq() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    fs::create_dir_all(evidence.join("Movies")).unwrap();
    let known = evidence.join("Movies/VID_0001.mp4");
    if !make_video(&known) {
        assert!(
            std::env::var_os("TANTALUM_REQUIRE_CONFORMANCE").is_none(),
            "ffmpeg is needed"
        );
        return;
    }
    // The same video inside a backup archive.
    let bytes = fs::read(&known).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("sent/clip.mp4", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, &bytes).unwrap();
    fs::write(evidence.join("backup.zip"), zip.finish().unwrap().into_inner()).unwrap();

    // More videos beside it, which the scan decodes together with it: one
    // full range, one 4:4:4 (which a shared ffmpeg run cannot take), one
    // broken.
    for (name, source, pix_fmt) in [
        (
            "Movies/VID_0002.mp4",
            "testsrc2=size=128x96:rate=25:duration=2",
            "yuvj420p",
        ),
        (
            "Movies/VID_0003.mp4",
            "testsrc=size=96x64:rate=10:duration=2,vflip",
            "yuv444p",
        ),
    ] {
        let made = Command::new("ffmpeg")
            .args([
                "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-pix_fmt", pix_fmt,
            ])
            .arg(evidence.join(name))
            .status()
            .unwrap();
        assert!(made.success(), "{name}");
    }
    let mut broken = fs::read(&known).unwrap();
    for b in broken.iter_mut().skip(200).step_by(7) {
        *b = !*b;
    }
    fs::write(evidence.join("Movies/broken.mp4"), broken).unwrap();

    // The bank: each video's vPDQ, hashed alone, in the reference's text format.
    let store = dir.path().join("store");
    let hashes = dir.path().join("hashes");
    fs::create_dir(&hashes).unwrap();
    for name in ["VID_0001", "VID_0002", "VID_0003"] {
        let video = evidence.join(format!("Movies/{name}.mp4"));
        let out = ok(tantalum(&store, &["hash", "--json", s(&video)]));
        let record: Value = serde_json::from_slice(&out.stdout).unwrap();
        fs::write(hashes.join(format!("{name}.txt")), common::vpdq_reference_text(&record)).unwrap();
    }
    ok(tantalum(&store, &["bank", "import", "videos", s(&hashes)]));
    let broken_alone = tantalum(&store, &["hash", "--json", s(&evidence.join("Movies/broken.mp4"))]);
    let broken_alone: Value = serde_json::from_slice(&broken_alone.stdout).unwrap();

    let case = dir.path().join("case");
    let scanned = tantalum(&store, &["scan", "--case", s(&case), s(&evidence)]);
    assert_eq!(scanned.status.code(), Some(1), "the broken video is an error");
    let files = files_by_path(&report(&case));
    assert_eq!(files["Movies/broken.mp4"]["error"], broken_alone["error"]);
    assert!(broken_alone["error"].is_string(), "{broken_alone}");
    for path in [
        "Movies/VID_0001.mp4",
        "Movies/VID_0002.mp4",
        "Movies/VID_0003.mp4",
        "backup.zip!/sent/clip.mp4",
    ] {
        let f = &files[path];
        assert_eq!(f["kind"], "video", "{path}");
        let hit = f["matches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["signal"] == "vpdq")
            .unwrap_or_else(|| panic!("{path}: no vPDQ match: {f}"));
        assert_eq!(hit["query_match_pct"], 100.0);
        assert_eq!(hit["target_match_pct"], 100.0);
    }
}

#[test]
fn ctrl_c_records_what_is_in_flight_and_the_rerun_completes() {
    let setup = setup(synth::Extras {
        photos: 400,
        traps: true,
    });
    let evidence = s(&setup.layout.evidence);
    let case = setup.root.join("case");
    let child = Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .arg("--store")
        .arg(&setup.store)
        .args(["scan", "--case", s(&case), "--dihedral", "-j", "1", evidence])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while recorded_files(&case) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let signalled_at = recorded_files(&case);
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    std::thread::sleep(Duration::from_millis(50));
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{} (recorded when signalled: {signalled_at})",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("run the same command again"));
    let at_stop = recorded_files(&case);
    let r = report(&case);
    assert_eq!(r["runs"][0]["status"], "interrupted");
    assert_eq!(r["sources"][0]["complete"], false);

    let out = tantalum(&setup.store, &["scan", "--case", s(&case), "--dihedral", evidence]);
    assert_eq!(out.status.code(), Some(1), "the corrupt and empty files");
    let r = report(&case);
    assert!(recorded_files(&case) > at_stop);
    assert_eq!(r["sources"][0]["complete"], true);
    check_against_expectations(&setup, &r, true);
}
