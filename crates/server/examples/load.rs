//! A load generator for `tantalum serve`, run beside it on loopback:
//! keep-alive HTTP/1.1 connections sending hash lookups as fast as the
//! service answers, while a curator adds and withdraws entries every few
//! seconds, and the service's RSS is sampled.
//!
//! `cargo run --release -p tantalum-server --example load -- ADDR TOKEN QUERIES SECONDS [CONNECTIONS] [SERVER_PID] [--batch N]`
//!
//! QUERIES is a file of PDQ hashes, one per line (the benchmark kit's
//! queries.txt). Each request is one HMA `GET /m/raw_lookup`, or with
//! `--batch N` one `POST /v1/match` of N hashes (how a platform that
//! collects uploads for a few milliseconds would call it). Prints lookups/s,
//! p50/p99/max request latency, the updates made, and RSS samples of SERVER_PID.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One keep-alive connection.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).ok();
        Conn {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    /// Sends a request and reads the whole response; returns the status.
    fn request(&mut self, method: &str, path: &str, token: &str, body: Option<&str>) -> u16 {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n");
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        if let Some(b) = body {
            req.push_str(b);
        }
        self.writer.write_all(req.as_bytes()).expect("write");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("header");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        self.reader.read_exact(&mut body).expect("body");
        status
    }
}

/// RSS and its anonymous part (RssAnon: what the process owns; the rest is
/// mapped files, the bank database and a saved index, from the page cache).
fn rss_kb(pid: &str) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut batch = 0usize;
    if let Some(at) = args.iter().position(|a| a == "--batch") {
        batch = args.get(at + 1).and_then(|n| n.parse().ok()).expect("--batch N");
        args.drain(at..at + 2);
    }
    if args.len() < 4 {
        eprintln!("usage: load ADDR TOKEN QUERIES SECONDS [CONNECTIONS] [SERVER_PID] [--batch N]");
        std::process::exit(2);
    }
    let (addr, token) = (args[0].clone(), args[1].clone());
    let queries: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(&args[2])
            .expect("queries")
            .lines()
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .filter(|l| l.len() == 64)
            .collect(),
    );
    let seconds: u64 = args[3].parse().expect("seconds");
    let connections: usize = args.get(4).and_then(|c| c.parse().ok()).unwrap_or(4);
    let pid = args.get(5).cloned();
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));

    // The curator: a bank change every 3 seconds (an add, then its withdrawal).
    let curator = {
        let (addr, token, stop) = (addr.clone(), token.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut conn = Conn::open(&addr);
            conn.request("POST", "/c/banks", &token, Some("{\"name\":\"LOAD_UPDATES\"}"));
            let mut updates = 0u64;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let hash = format!("{:064x}", 0x1234_5678_9abc_def0u128.wrapping_mul(u128::from(n) + 1));
                let body = format!("{{\"pdq\":\"{hash}\"}}");
                conn.request("POST", "/c/bank/LOAD_UPDATES/signal", &token, Some(&body));
                updates += 1;
                if n % 2 == 1 {
                    conn.request(
                        "DELETE",
                        &format!("/c/bank/LOAD_UPDATES/content/{}", 10_000_001 + n / 2),
                        &token,
                        None,
                    );
                    updates += 1;
                }
                n += 1;
                std::thread::sleep(Duration::from_secs(3));
            }
            updates
        })
    };
    let sampler = {
        let (stop, pid) = (stop.clone(), pid.clone());
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            let started = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                if let Some(p) = &pid {
                    samples.push((started.elapsed().as_secs(), rss_kb(p)));
                }
                std::thread::sleep(Duration::from_secs(10));
            }
            samples
        })
    };
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|w| {
            let (addr, token, queries, stop, errors) = (
                addr.clone(),
                token.clone(),
                queries.clone(),
                stop.clone(),
                errors.clone(),
            );
            std::thread::spawn(move || {
                let mut conn = Conn::open(&addr);
                let mut latencies = Vec::new();
                let mut i = w * 7919;
                let mut lookups = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let t;
                    let status = if batch == 0 {
                        let q = &queries[i % queries.len()];
                        i += 1;
                        let path = format!("/m/raw_lookup?signal={q}&signal_type=pdq&include_distance=true");
                        t = Instant::now();
                        lookups += 1;
                        conn.request("GET", &path, &token, None)
                    } else {
                        let items: Vec<String> = (0..batch)
                            .map(|k| format!("{{\"pdq\":\"{}\"}}", queries[(i + k) % queries.len()]))
                            .collect();
                        i += batch;
                        let body = format!("{{\"queries\":[{}]}}", items.join(","));
                        t = Instant::now();
                        lookups += batch as u64;
                        conn.request("POST", "/v1/match", &token, Some(&body))
                    };
                    latencies.push(t.elapsed().as_micros() as u32);
                    if status != 200 {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                (lookups, latencies)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut lookups = 0u64;
    let mut all: Vec<u32> = Vec::new();
    for w in workers {
        let (n, latencies) = w.join().unwrap();
        lookups += n;
        all.extend(latencies);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let updates = curator.join().unwrap();
    let samples = sampler.join().unwrap();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    // Printed with the errors ignored: a reader that stops early (`| head -1`) is no failure.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{lookups} lookups in {} requests in {elapsed:.1} s over {connections} connections: {:.0} lookups/s; request latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; {} non-200; {updates} bank updates",
        all.len(),
        lookups as f64 / elapsed,
        f64::from(pct(0.50)) / 1000.0,
        f64::from(pct(0.99)) / 1000.0,
        f64::from(all.last().copied().unwrap_or(0)) / 1000.0,
        errors.load(Ordering::Relaxed)
    );
    if !samples.is_empty() {
        for (label, pick) in [("RSS", 0usize), ("anonymous RSS", 1)] {
            let value = |kb: &(u64, u64)| if pick == 0 { kb.0 } else { kb.1 };
            let line: Vec<String> = samples
                .iter()
                .map(|(t, kb)| format!("{t}s:{}MiB", value(kb) / 1024))
                .collect();
            let min = samples.iter().map(|s| value(&s.1)).min().unwrap_or(0);
            let max = samples.iter().map(|s| value(&s.1)).max().unwrap_or(0);
            let _ = writeln!(
                out,
                "server {label}: min {} MiB, max {} MiB ({:+.1} %); samples {}",
                min / 1024,
                max / 1024,
                (max as f64 / min.max(1) as f64 - 1.0) * 100.0,
                line.join(" ")
            );
        }
    }
}
