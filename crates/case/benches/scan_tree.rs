//! Scan throughput on a mixed 2,000-file tree, on 1 and on 2 threads, with
//! the time split between reading + digests, decoding + PDQ, matching and
//! the case store.
//!
//! `cargo bench -p tantalum-case --bench scan_tree -- [DIR]` builds the tree
//! in DIR (kept and reused across runs) or in a temporary folder: 1,000
//! camera-size JPEGs (1600×1200), 300 PNGs, 500 other files (text and
//! incompressible binary, 4–400 KB) and 4 ZIPs of 50 JPEGs each, matched
//! against a bank of 10,000 PDQ hashes and 10,000 MD5s.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

fn build_tree(root: &Path) {
    if root.join(".complete").exists() {
        return;
    }
    let photos = root.join("DCIM/Camera");
    let pngs = root.join("Pictures/Screenshots");
    let other = root.join("Documents");
    let backups = root.join("Backup");
    for d in [&photos, &pngs, &other, &backups] {
        std::fs::create_dir_all(d).unwrap();
    }
    (0..1000u64).into_par_iter().for_each(|i| {
        let img = synth::photo(10_000 + i, 1600, 1200);
        std::fs::write(photos.join(format!("IMG_{i:05}.jpg")), synth::jpeg(&img, 88)).unwrap();
    });
    (0..300u64).into_par_iter().for_each(|i| {
        let img = synth::photo(20_000 + i, 800, 600);
        std::fs::write(pngs.join(format!("Screenshot_{i:05}.png")), synth::png(&img)).unwrap();
    });
    (0..500u64).into_par_iter().for_each(|i| {
        let mut rng = synth::Rng::new(30_000 + i);
        let len = 4_096 + (rng.next_u64() % 400_000) as usize;
        let bytes: Vec<u8> = if i % 2 == 0 {
            "Meeting notes, nothing to see here.\n"
                .bytes()
                .cycle()
                .take(len)
                .collect()
        } else {
            (0..len).map(|_| rng.next_u64() as u8).collect()
        };
        std::fs::write(
            other.join(format!("file_{i:05}.{}", if i % 2 == 0 { "txt" } else { "bin" })),
            bytes,
        )
        .unwrap();
    });
    (0..4u64).into_par_iter().for_each(|z| {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..50u64 {
            let img = synth::photo(40_000 + z * 100 + i, 1600, 1200);
            w.start_file(format!("photos/{i:03}.jpg"), zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut w, &synth::jpeg(&img, 88)).unwrap();
        }
        std::fs::write(
            backups.join(format!("backup_{z}.zip")),
            w.finish().unwrap().into_inner(),
        )
        .unwrap();
    });
    std::fs::write(root.join(".complete"), b"").unwrap();
}

fn build_bank(dir: &Path) {
    let mut store = banks::Store::open(dir).unwrap();
    store.create_bank("flagged", &Default::default()).unwrap();
    let mut rng = synth::Rng::new(99);
    let mut list = String::from("md5,pdq\n");
    for _ in 0..10_000 {
        let mut pdq = [0u8; 32];
        let mut md5 = [0u8; 16];
        pdq.iter_mut()
            .chain(md5.iter_mut())
            .for_each(|b| *b = rng.next_u64() as u8);
        list.push_str(&format!("{},{}\n", media::hex(&md5), media::hex(&pdq)));
    }
    let entries = banks::formats::read(
        banks::Format::Csv,
        Box::new(std::io::Cursor::new(list.into_bytes())),
        Default::default(),
    );
    store.import("flagged", entries).unwrap();
}

fn main() {
    let arg = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let temp = tempfile::tempdir().unwrap();
    let root: PathBuf = arg.map(PathBuf::from).unwrap_or_else(|| temp.path().join("tree"));
    let started = Instant::now();
    build_tree(&root);
    eprintln!(
        "tree ready in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        root.display()
    );
    let bank = temp.path().join("banks");
    build_bank(&bank);
    for threads in [1, 2] {
        let case_dir = temp.path().join(format!("case-{threads}"));
        let mut case = case::CaseStore::open(&case_dir, true).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let summary = pool
            .install(|| {
                case::scan(
                    &mut case,
                    Some(&banks::Location::Dir(bank.clone())),
                    std::slice::from_ref(&root),
                    &Default::default(),
                    &(),
                )
            })
            .unwrap();
        let t = &summary.stages;
        println!(
            "threads {threads}: {} records in {:.2} s = {:.0} files/s ({} images); thread-seconds: read+digests {:.2}, decode+pdq {:.2}, match {:.2}, store (writer) {:.2}",
            summary.recorded,
            summary.elapsed_s,
            summary.recorded as f64 / summary.elapsed_s,
            summary.images,
            t.read_and_digest_s,
            t.decode_and_pdq_s,
            t.match_s,
            t.store_s
        );
    }
}
