//! `tantalum-bench-index HASHES QUERIES OUT [--repeat N]`: the external
//! command of `shared/bench/faiss_baseline.py`. Reads hex hashes and queries
//! (one 64-character line each; ids are line numbers), builds the index,
//! answers every query at radius 31 and writes OUT in the kit's truth format
//! (`{"q":i,"matches":[[id,dist],...]}` sorted by id). Its last stdout line is
//! a JSON object with build_s, rss_mb, qps_1t, qps_2t, p50_us, p99_us.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

use index::{HammingIndex, Hit, Scratch};
use rayon::prelude::*;

const RADIUS: u32 = 31;

fn parse_hex(line: &str) -> Option<[u8; 32]> {
    let b = line.trim_end().as_bytes();
    if b.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

fn read_hashes(path: &str) -> Vec<[u8; 32]> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    BufReader::with_capacity(1 << 20, file)
        .lines()
        .enumerate()
        .filter_map(|(n, line)| {
            let line = line.unwrap_or_else(|e| panic!("{path}: {e}"));
            if line.trim().is_empty() {
                return None;
            }
            Some(parse_hex(&line).unwrap_or_else(|| panic!("{path}:{}: not a 64-hex-digit hash", n + 1)))
        })
        .collect()
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn run_batch(index: &HammingIndex, queries: &[[u8; 32]], threads: usize) -> (f64, Vec<Vec<Hit>>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let started = Instant::now();
    let results: Vec<Vec<Hit>> = pool.install(|| {
        queries
            .par_iter()
            .map_init(Scratch::default, |scratch, q| {
                let mut out = Vec::new();
                index.search_into(q, RADIUS, scratch, &mut out);
                out
            })
            .collect()
    });
    (queries.len() as f64 / started.elapsed().as_secs_f64(), results)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: tantalum-bench-index HASHES QUERIES OUT [--repeat N]");
        std::process::exit(2);
    }
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let rss_before = rss_mb();
    let hashes = read_hashes(&args[1]);
    let queries = read_hashes(&args[2]);
    let entries: Vec<([u8; 32], u32)> = hashes.into_iter().enumerate().map(|(i, h)| (h, i as u32)).collect();
    let n = entries.len();

    let started = Instant::now();
    let mut index = HammingIndex::build(entries);
    let build_s = started.elapsed().as_secs_f64();
    if let Some(path) = args.iter().position(|a| a == "--mapped").and_then(|i| args.get(i + 1)) {
        // As a store's cached index is used: saved, then opened by a map.
        index.save(std::path::Path::new(path)).expect("save");
        drop(index);
        index = HammingIndex::open(std::path::Path::new(path)).expect("open");
    }
    let rss_after = rss_mb();

    let mut qps1 = Vec::new();
    let mut qps2 = Vec::new();
    let mut results = Vec::new();
    for _ in 0..repeat {
        let (q1, r) = run_batch(&index, &queries, 1);
        qps1.push(q1);
        results = r;
        qps2.push(run_batch(&index, &queries, 2).0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };

    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    let mut latencies: Vec<f64> = queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            index.search_into(q, RADIUS, &mut scratch, &mut out);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];

    let file = std::fs::File::create(&args[3]).unwrap_or_else(|e| panic!("{}: {e}", args[3]));
    let mut w = BufWriter::new(file);
    for (q, mut hits) in results.into_iter().enumerate() {
        hits.sort_by_key(|h| h.id);
        let matches: Vec<String> = hits.iter().map(|h| format!("[{},{}]", h.id, h.distance)).collect();
        writeln!(w, "{{\"q\":{q},\"matches\":[{}]}}", matches.join(",")).expect("write results");
    }
    w.flush().expect("write results");
    let (m, bits) = index.layout();
    eprintln!("n={n} layout={m}x{bits} queries={}", queries.len());
    println!(
        "{{\"build_s\":{build_s:.3},\"rss_mb\":{:.1},\"qps_1t\":{:.1},\"qps_2t\":{:.1},\"p50_us\":{:.1},\"p99_us\":{:.1}}}",
        rss_after - rss_before,
        median(&mut qps1),
        median(&mut qps2),
        pct(0.5),
        pct(0.99)
    );
}
