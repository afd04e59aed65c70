//! Prometheus metrics, in the text exposition format, without a metrics
//! library: a handful of counters and one latency histogram per route.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Histogram bucket bounds, seconds: sub-millisecond lookups up to slow uploads.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    hits: BTreeMap<String, u64>,
}

/// The service's metrics.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Gauges read when scraped.
pub struct Gauges {
    /// Live PDQ hashes in the index.
    pub index_entries: usize,
    /// Seconds since the index last caught up with the store.
    pub index_age_seconds: f64,
    /// Changes applied since start.
    pub index_changes_applied: u64,
}

impl Metrics {
    /// Records one request.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let Ok(mut m) = self.inner.lock() else { return };
        *m.requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let h = m.latency.entry(route.to_string()).or_default();
        for (count, bound) in h.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        h.sum += seconds;
        h.total += 1;
    }

    /// Records hits in a bank.
    pub fn hits(&self, bank: &str, n: u64) {
        if let Ok(mut m) = self.inner.lock() {
            *m.hits.entry(bank.to_string()).or_default() += n;
        }
    }

    /// The exposition text.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let Ok(m) = self.inner.lock() else { return out };
        out.push_str("# HELP tantalum_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE tantalum_requests_total counter\n");
        for ((route, method, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "tantalum_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP tantalum_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE tantalum_request_duration_seconds histogram\n");
        for (route, h) in &m.latency {
            for (bound, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "tantalum_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "tantalum_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.total
            );
            let _ = writeln!(
                out,
                "tantalum_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "tantalum_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.total
            );
        }
        out.push_str("# HELP tantalum_hits_total Matches returned, by bank.\n# TYPE tantalum_hits_total counter\n");
        for (bank, n) in &m.hits {
            let _ = writeln!(out, "tantalum_hits_total{{bank=\"{bank}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP tantalum_index_entries Live PDQ hashes in the index.\n# TYPE tantalum_index_entries gauge\ntantalum_index_entries {}",
            gauges.index_entries
        );
        let _ = writeln!(
            out,
            "# HELP tantalum_index_age_seconds Seconds since the index last caught up with the store.\n# TYPE tantalum_index_age_seconds gauge\ntantalum_index_age_seconds {:.3}",
            gauges.index_age_seconds
        );
        let _ = writeln!(
            out,
            "# HELP tantalum_index_changes_applied_total Bank changes applied to the live index.\n# TYPE tantalum_index_changes_applied_total counter\ntantalum_index_changes_applied_total {}",
            gauges.index_changes_applied
        );
        let _ = writeln!(
            out,
            "# HELP process_resident_memory_bytes Resident memory.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {}",
            resident_bytes()
        );
        let _ = writeln!(
            out,
            "# HELP tantalum_memory_anonymous_bytes Resident memory the process owns (RssAnon): the index and buffers. process_resident_memory_bytes also counts pages of mapped files (the bank database, a saved index), which belong to the OS page cache and are counted once per mapping.\n# TYPE tantalum_memory_anonymous_bytes gauge\ntantalum_memory_anonymous_bytes {}",
            anonymous_bytes()
        );
        out
    }
}

/// Anonymous resident memory (RssAnon) from /proc (0 where there is none).
pub fn anonymous_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Resident set size from /proc (0 where there is none).
pub fn resident_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or(0);
    pages * 4096
}
