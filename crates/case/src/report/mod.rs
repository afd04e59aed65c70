//! Reports from a case: JSON for machines, CSV (one row per match) for
//! spreadsheets, one self-contained HTML page to hand over, and a manifest
//! for the chain of custody.
//!
//! No report embeds or links any image: files are named by path and hash.
//! The same case gives byte-identical JSON apart from the fields listed in
//! [`RUN_TIME_FIELDS`].

mod html;
mod network;

pub use network::{NetworkGroup, NetworkSection, NetworkSharer};

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use crate::store::{CaseStore, FileRecord, FileStatus, MatchRecord, Output, Run, Source};
use crate::{format_time, CaseError, TOOL_VERSION};

/// Top-level JSON fields that depend on when the report was made, not on the case.
pub const RUN_TIME_FIELDS: [&str; 2] = ["generated_at", "runs"];

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// The whole case as one JSON document.
    Json,
    /// One row per match.
    Csv,
    /// One self-contained page.
    Html,
    /// Chain of custody: inputs and outputs with their SHA-256.
    Manifest,
}

impl ReportFormat {
    /// Parses json, csv, html or manifest.
    pub fn parse(name: &str) -> Option<ReportFormat> {
        match name {
            "json" => Some(ReportFormat::Json),
            "csv" => Some(ReportFormat::Csv),
            "html" => Some(ReportFormat::Html),
            "manifest" => Some(ReportFormat::Manifest),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Html => "html",
            ReportFormat::Manifest => "manifest",
        }
    }

    /// The usual file name for it.
    pub fn file_name(self) -> &'static str {
        match self {
            ReportFormat::Json => "report.json",
            ReportFormat::Csv => "matches.csv",
            ReportFormat::Html => "report.html",
            ReportFormat::Manifest => "manifest.json",
        }
    }
}

/// The case totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Files and archive members recorded.
    pub files: u64,
    /// Images hashed with PDQ.
    pub images: u64,
    /// Videos hashed with vPDQ.
    pub videos: u64,
    /// Archives opened.
    pub archives: u64,
    /// Files that could not be read or analysed in full.
    pub errors: u64,
    /// Skipped: special files, links, archive traps.
    pub skipped: u64,
    /// On known-file lists (NSRL).
    pub known_files: u64,
    /// Files matching flagged material exactly (a digest, or PDQ distance 0).
    pub known_exact: u64,
    /// Files matching flagged material only by near PDQ or vPDQ.
    pub known_near: u64,
    /// Files with flagged matches, per category (a file counts once in each of its categories).
    pub by_category: BTreeMap<String, u64>,
}

/// One file in the JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    /// The source's id.
    pub source: i64,
    /// Path relative to the source's root.
    pub path: String,
    /// SHA-256.
    pub sha256: Option<String>,
    /// MD5.
    pub md5: Option<String>,
    /// SHA-1.
    pub sha1: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// image, video, archive or other.
    pub kind: String,
    /// Format by content.
    pub format: Option<String>,
    /// Width and height of images and videos.
    pub width: Option<u32>,
    /// Height.
    pub height: Option<u32>,
    /// PDQ hash.
    pub pdq: Option<String>,
    /// PDQ quality.
    pub quality: Option<u8>,
    /// vPDQ frames hashed.
    pub vpdq_frames: Option<usize>,
    /// hashed, known, skipped or error.
    pub status: FileStatus,
    /// Modification time.
    pub mtime: Option<String>,
    /// Access time as found.
    pub atime: Option<String>,
    /// Inode change time.
    pub ctime: Option<String>,
    /// Birth time.
    pub btime: Option<String>,
    /// The archive it came from.
    pub container: Option<String>,
    /// Matches, flagged first, closest first.
    pub matches: Vec<MatchRecord>,
    /// Why it was skipped or failed.
    pub error: Option<String>,
}

impl FileEntry {
    fn of(source: i64, f: FileRecord) -> FileEntry {
        let time = |t: Option<i64>| t.map(format_time);
        FileEntry {
            source,
            vpdq_frames: f
                .vpdq
                .as_ref()
                .map(|v| v.lines().filter(|l| !l.trim().is_empty()).count()),
            path: f.path,
            sha256: f.sha256,
            md5: f.md5,
            sha1: f.sha1,
            size: f.size,
            kind: f.kind,
            format: f.format,
            width: f.width,
            height: f.height,
            pdq: f.pdq,
            quality: f.quality,
            status: f.status,
            mtime: time(f.mtime),
            atime: time(f.atime),
            ctime: time(f.ctime),
            btime: time(f.btime),
            container: f.container,
            matches: f.matches,
            error: f.error,
        }
    }

    /// Matches against flagged material (not known-file lists).
    pub fn flagged(&self) -> impl Iterator<Item = &MatchRecord> {
        self.matches.iter().filter(|m| !m.known_file)
    }
}

/// The whole case as the JSON report carries it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// The case's name.
    pub case: String,
    /// The tool that wrote the report.
    pub tool_version: String,
    /// When (run-time).
    pub generated_at: String,
    /// The scan runs (run-time).
    pub runs: Vec<RunEntry>,
    /// The evidence sources.
    pub sources: Vec<Source>,
    /// Totals.
    pub summary: Summary,
    /// Every file, by source and path.
    pub files: Vec<FileEntry>,
    /// The sharing network, when chats were imported into the case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSection>,
}

/// A run as reported.
#[derive(Debug, Clone, Serialize)]
pub struct RunEntry {
    /// Its number.
    pub id: i64,
    /// When it started.
    pub started: String,
    /// When it ended, if it did.
    pub ended: Option<String>,
    /// complete, interrupted or running.
    pub status: String,
    /// The tool version.
    pub tool_version: String,
    /// Its options.
    pub options: serde_json::Value,
    /// What it did.
    pub counts: serde_json::Value,
}

impl RunEntry {
    fn of(r: Run) -> RunEntry {
        RunEntry {
            id: r.id,
            started: format_time(r.started),
            ended: r.ended.map(format_time),
            status: r.status,
            tool_version: r.tool_version,
            options: r.options,
            counts: r.counts,
        }
    }
}

fn is_exact(m: &MatchRecord) -> bool {
    matches!(m.signal.as_str(), "md5" | "sha1" | "sha256") || (m.signal == "pdq" && m.distance == 0)
}

/// Reads the case into the report's shape.
pub fn load(case: &CaseStore) -> Result<CaseReport, CaseError> {
    let mut files = Vec::new();
    let mut summary = Summary::default();
    case.for_each_file(|source, f| {
        let entry = FileEntry::of(source, f);
        summary.files += 1;
        summary.images += u64::from(entry.pdq.is_some());
        summary.videos += u64::from(entry.vpdq_frames.is_some());
        summary.archives += u64::from(entry.kind == "archive");
        summary.errors += u64::from(entry.status == FileStatus::Error);
        summary.skipped += u64::from(entry.status == FileStatus::Skipped);
        summary.known_files += u64::from(entry.status == FileStatus::Known);
        let flagged: Vec<&MatchRecord> = entry.flagged().collect();
        if !flagged.is_empty() {
            if flagged.iter().any(|m| is_exact(m)) {
                summary.known_exact += 1;
            } else {
                summary.known_near += 1;
            }
            let mut categories: Vec<&str> = flagged
                .iter()
                .flat_map(|m| m.categories.iter().map(String::as_str))
                .collect();
            categories.sort_unstable();
            categories.dedup();
            if categories.is_empty() {
                categories.push("uncategorised");
            }
            for c in categories {
                *summary.by_category.entry(c.to_string()).or_default() += 1;
            }
        }
        files.push(entry);
    })?;
    Ok(CaseReport {
        case: case.name()?,
        tool_version: TOOL_VERSION.to_string(),
        generated_at: format_time(crate::now_ns()),
        runs: case.runs()?.into_iter().map(RunEntry::of).collect(),
        sources: case.sources()?,
        summary,
        files,
        network: network::load(case)?,
    })
}

/// Writes a report of the case.
pub fn write(case: &CaseStore, format: ReportFormat, out: &mut dyn Write) -> Result<(), CaseError> {
    let io = |e: std::io::Error| CaseError::Report(e.to_string());
    match format {
        ReportFormat::Json => {
            let report = load(case)?;
            serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| CaseError::Report(e.to_string()))?;
            out.write_all(b"\n").map_err(io)
        }
        ReportFormat::Csv => write_csv(&load(case)?, out),
        ReportFormat::Html => html::write(&load(case)?, out).map_err(io),
        ReportFormat::Manifest => write_manifest(case, out),
    }
}

fn write_csv(report: &CaseReport, out: &mut dyn Write) -> Result<(), CaseError> {
    let err = |e: csv::Error| CaseError::Report(e.to_string());
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "source",
        "label",
        "path",
        "sha256",
        "md5",
        "size",
        "kind",
        "bank",
        "known_file",
        "entry_id",
        "entry_hash",
        "signal",
        "distance",
        "categories",
        "query_match_pct",
        "target_match_pct",
    ])
    .map_err(err)?;
    let labels: BTreeMap<i64, String> = report
        .sources
        .iter()
        .map(|s| (s.id, s.label.clone().unwrap_or_default()))
        .collect();
    for f in &report.files {
        for m in &f.matches {
            let pct = |p: Option<f64>| p.map(|p| format!("{p:.2}")).unwrap_or_default();
            w.write_record([
                f.source.to_string(),
                labels.get(&f.source).cloned().unwrap_or_default(),
                f.path.clone(),
                f.sha256.clone().unwrap_or_default(),
                f.md5.clone().unwrap_or_default(),
                f.size.to_string(),
                f.kind.clone(),
                m.bank.clone(),
                m.known_file.to_string(),
                m.entry_id.to_string(),
                m.entry_hash.clone(),
                m.signal.clone(),
                m.distance.to_string(),
                m.categories.join(";"),
                pct(m.query_match_pct),
                pct(m.target_match_pct),
            ])
            .map_err(err)?;
        }
    }
    w.flush().map_err(|e| CaseError::Report(e.to_string()))
}

/// The chain-of-custody manifest.
#[derive(Serialize)]
struct Manifest {
    case: String,
    tool_version: String,
    generated_at: String,
    runs: Vec<RunEntry>,
    sources: Vec<Source>,
    inputs: Vec<ManifestInput>,
    outputs: Vec<ManifestOutput>,
}

#[derive(Serialize)]
struct ManifestInput {
    source: i64,
    path: String,
    size: u64,
    sha256: Option<String>,
    status: FileStatus,
}

#[derive(Serialize)]
struct ManifestOutput {
    path: String,
    format: String,
    sha256: String,
    size: u64,
    written: String,
}

fn write_manifest(case: &CaseStore, out: &mut dyn Write) -> Result<(), CaseError> {
    let mut inputs = Vec::new();
    case.for_each_file(|source, f| {
        inputs.push(ManifestInput {
            source,
            path: f.path,
            size: f.size,
            sha256: f.sha256,
            status: f.status,
        })
    })?;
    let outputs = case
        .outputs()?
        .into_iter()
        .map(|o: Output| ManifestOutput {
            path: o.path,
            format: o.format,
            sha256: o.sha256,
            size: o.size,
            written: format_time(o.written),
        })
        .collect();
    let manifest = Manifest {
        case: case.name()?,
        tool_version: TOOL_VERSION.to_string(),
        generated_at: format_time(crate::now_ns()),
        runs: case.runs()?.into_iter().map(RunEntry::of).collect(),
        sources: case.sources()?,
        inputs,
        outputs,
    };
    serde_json::to_writer_pretty(&mut *out, &manifest).map_err(|e| CaseError::Report(e.to_string()))?;
    out.write_all(b"\n").map_err(|e| CaseError::Report(e.to_string()))
}

/// Writes a report to a file and records it (path, SHA-256, size) in the
/// case for the manifest. Returns the record.
pub fn write_file(case: &CaseStore, format: ReportFormat, path: &std::path::Path) -> Result<Output, CaseError> {
    let mut buffer = Vec::new();
    write(case, format, &mut buffer)?;
    std::fs::write(path, &buffer).map_err(|e| CaseError::io(path, e))?;
    let mut digester = media::Digester::new();
    digester.update(&buffer);
    let output = Output {
        path: std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .to_string_lossy()
            .into_owned(),
        format: format.name().to_string(),
        sha256: media::hex(&digester.finish().sha256),
        size: buffer.len() as u64,
        written: crate::now_ns(),
    };
    case.add_output(&output)?;
    Ok(output)
}
