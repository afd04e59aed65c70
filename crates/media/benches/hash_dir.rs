//! Hashes every file of a directory on one thread and prints images/s.
//!
//!     cargo bench -p tantalum-media --bench hash_dir -- DIR [--repeat N]
//!
//! Prints one line per repetition and a final JSON object with the median,
//! so scripts (scripts/bench-pdq-peer.sh) can compare it with a peer run
//! side by side. CPU time is reported besides wall time because the machines
//! this runs on are shared.

use std::path::PathBuf;
use std::time::Instant;

fn cpu_seconds() -> f64 {
    // /proc/self/stat fields 14 and 15: user and system time in clock ticks.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut dir = None;
    let mut repeat = 3usize;
    while let Some(a) = args.next() {
        if a == "--repeat" {
            repeat = args.next().and_then(|v| v.parse().ok()).expect("--repeat N");
        } else {
            dir = Some(PathBuf::from(a));
        }
    }
    let Some(dir) = dir.or_else(|| std::env::var_os("TANTALUM_BENCH_DIR").map(PathBuf::from)) else {
        eprintln!("usage: cargo bench -p tantalum-media --bench hash_dir -- DIR [--repeat N]");
        eprintln!("(no directory given: nothing to measure)");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read benchmark directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let options = media::AnalyzeOptions::default();
    let mut hasher = pdq::Hasher::new();
    let mut rates = Vec::new();
    for rep in 0..repeat {
        let (wall0, cpu0) = (Instant::now(), cpu_seconds());
        let mut images = 0usize;
        for f in &files {
            let a = media::analyze_path(f, &options, &mut hasher);
            images += usize::from(a.pdq.is_some());
        }
        let wall = wall0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        let rate_cpu = images as f64 / cpu.max(1e-9);
        println!(
            "rep {rep}: {images} images, wall {wall:.2} s ({:.1} images/s), cpu {cpu:.2} s ({rate_cpu:.1} images/s)",
            images as f64 / wall
        );
        rates.push((images as f64 / wall, rate_cpu, images));
    }
    rates.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (wall_rate, cpu_rate, images) = rates[rates.len() / 2];
    println!(
        "{{\"tool\":\"tantalum\",\"threads\":1,\"images\":{images},\"images_per_s_wall\":{wall_rate:.2},\"images_per_s_cpu\":{cpu_rate:.2}}}"
    );
}
