//! How results are written: JSON Lines for machines, an aligned table for people.

use std::io::{self, Write};

use media::{hex, FileAnalysis};
use serde::Serialize;

/// One file's record in `tantalum hash --json`.
#[derive(Debug, Serialize)]
pub struct HashRecord {
    pub path: String,
    pub size: Option<u64>,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub kind: &'static str,
    pub format: Option<&'static str>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub pdq: Option<String>,
    pub quality: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dihedral: Option<Vec<String>>,
    /// Videos: one `{frame, quality, pdq, timestamp}` per sampled frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpdq: Option<Vec<vpdq::Feature>>,
    pub error: Option<String>,
    #[serde(skip)]
    pub status: Status,
}

/// Whether a record counts as read, skipped or failed (for the exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Read,
    Skipped,
    Failed,
}

impl HashRecord {
    pub fn from_analysis(path: String, a: FileAnalysis, with_dihedral: bool) -> Self {
        let failed = a.error.is_some();
        HashRecord {
            path,
            size: Some(a.size),
            md5: a.digests.map(|d| hex(&d.md5)),
            sha1: a.digests.map(|d| hex(&d.sha1)),
            sha256: a.digests.map(|d| hex(&d.sha256)),
            kind: a.kind.name(),
            format: a.format.map(|f| f.name()),
            width: a.width,
            height: a.height,
            pdq: a.pdq.map(|p| p.hash.to_hex()),
            quality: a.pdq.map(|p| p.quality),
            dihedral: if with_dihedral {
                a.dihedral.map(|d| d.iter().map(|h| h.to_hex()).collect())
            } else {
                None
            },
            vpdq: None,
            error: a.error.map(|e| e.to_string()),
            status: if failed { Status::Failed } else { Status::Read },
        }
    }

    pub fn not_read(path: String, error: String, status: Status) -> Self {
        HashRecord {
            path,
            size: None,
            md5: None,
            sha1: None,
            sha256: None,
            kind: "other",
            format: None,
            width: None,
            height: None,
            pdq: None,
            quality: None,
            dihedral: None,
            vpdq: None,
            error: Some(error),
            status,
        }
    }
}

/// Writes records as they come, in either form.
pub enum Printer {
    Json,
    Table { header_done: bool, dihedral: bool },
}

impl Printer {
    pub fn write(&mut self, out: &mut impl Write, r: &HashRecord) -> io::Result<()> {
        match self {
            Printer::Json => {
                serde_json::to_writer(&mut *out, r)?;
                writeln!(out)
            }
            Printer::Table { header_done, dihedral } => {
                // Fixed widths keep the table streamable: rows print as files finish.
                if !*header_done {
                    writeln!(
                        out,
                        "{:<64}  {:>3}  {:<6} {:>11}  {:>9}  PATH",
                        "PDQ", "Q", "TYPE", "SIZE", "WxH"
                    )?;
                    *header_done = true;
                }
                let pdq = r.pdq.as_deref().unwrap_or("-");
                let quality = r.quality.map(|q| q.to_string()).unwrap_or_else(|| "-".into());
                let kind = r.format.unwrap_or(r.kind);
                let size = r.size.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
                let dims = match (r.width, r.height) {
                    (Some(w), Some(h)) => format!("{w}x{h}"),
                    _ => "-".into(),
                };
                writeln!(
                    out,
                    "{pdq:<64}  {quality:>3}  {kind:<6} {size:>11}  {dims:>9}  {}",
                    r.path
                )?;
                if let Some(e) = &r.error {
                    writeln!(out, "{:>64}  └ {e}", "")?;
                }
                if *dihedral {
                    if let Some(d) = &r.dihedral {
                        for (name, h) in pdq::Dihedral::ALL.iter().zip(d).skip(1) {
                            writeln!(out, "{h:<64}  {:>3}  {}", "", name.name())?;
                        }
                    }
                }
                Ok(())
            }
        }
    }
}
