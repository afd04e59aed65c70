//! Cases: what an examiner builds from seized media.
//!
//! A case is a directory holding one SQLite database ([`CaseStore`]): the
//! evidence sources scanned, every file and archive member found with its
//! digests, PDQ and vPDQ hashes, its matches against the hash banks, and
//! the runs and reports made. [`scan`] fills it (all cores hash, one thread
//! writes, a rerun resumes), [`report`] writes what is handed over.
//!
//! Evidence is only ever read: files and directories are opened with
//! `O_NOATIME` where the kernel allows it, nothing is written beside them,
//! and videos are decoded from a private copy in the case directory so the
//! decoder never opens the original.

mod archive;
mod interrupt;
pub mod report;
mod scan;
mod store;
pub mod walk;

use std::path::Path;

pub use archive::ArchiveLimits;
pub use interrupt::{install_interrupt_handler, interrupted};
pub use scan::{
    files_video_hashes, scan, split_for_threads, video_hashes, video_may_wait, Progress, ScanOptions, ScanSummary,
    StageTimes, VideoSource,
};
pub use store::{CaseStore, FileRecord, FileStatus, MatchRecord, Output, Run, Source, DB_FILE};

/// What can go wrong with a case.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// A file or folder could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// What happened.
        source: std::io::Error,
    },
    /// The case database refused.
    #[error("{path}: database error: {source}")]
    Db {
        /// The database file.
        path: String,
        /// What happened.
        source: rusqlite::Error,
    },
    /// There is no case in the directory.
    #[error("{0}: no case here (scan into it first)")]
    NoCase(String),
    /// Another process holds the case.
    #[error("{0}: the case is in use by another tantalum process")]
    Busy(String),
    /// The banks could not be used.
    #[error(transparent)]
    Banks(#[from] banks::BankError),
    /// A source was scanned before with other settings, so resuming would mix results.
    #[error(
        "{root} was scanned into this case with other settings ({was}); now {now}. \
         Rerun with the same options to resume, or with --rescan to scan it afresh"
    )]
    SettingsChanged {
        /// The source.
        root: String,
        /// Its recorded settings.
        was: String,
        /// The settings asked for now.
        now: String,
    },
    /// A report could not be produced.
    #[error("report: {0}")]
    Report(String),
    /// The banks could not be matched against mid-scan (a lost database
    /// connection): the scan stopped, recording nothing it could not match.
    #[error("{0}; the scan stopped there and recorded nothing unmatched: run it again to resume")]
    MatchingFailed(String),
}

impl CaseError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        CaseError::Io {
            path: path.display().to_string(),
            source,
        }
    }
    pub(crate) fn db(path: &Path, source: rusqlite::Error) -> Self {
        CaseError::Db {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The tool version recorded in runs and reports.
pub const TOOL_VERSION: &str = concat!("tantalum ", env!("CARGO_PKG_VERSION"));

/// Now, in nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// A time in ns since the epoch as RFC 3339 UTC (`2026-11-29T05:16:11.5Z`),
/// fractions of a second only where there are any.
pub fn format_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::format_time;

    #[test]
    fn formats_times_as_rfc3339_utc() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_795_929_371_500_000_000), "2026-11-29T05:16:11.5Z");
        assert_eq!(format_time(951_782_400_000_000_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_time(-1_000_000_000), "1969-12-31T23:59:59Z");
    }
}
