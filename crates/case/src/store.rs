//! The case store: one SQLite database in the case directory holding the
//! evidence sources, every file found in them with its hashes, the matches,
//! the scan runs and the reports written.
//!
//! A file row is written once, in the same transaction as its matches, so a
//! scan cut at any point leaves only whole records behind; the rerun skips
//! what is there and does the rest.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::{now_ns, CaseError};

/// The database file inside a case directory.
pub const DB_FILE: &str = "case.sqlite";
const LOCK_FILE: &str = "case.lock";

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Read in full and hashed.
    #[default]
    Hashed,
    /// On a known-file list (NSRL): digests only, no perceptual work.
    Known,
    /// Not read, for the reason in `error` (special files, links, archive traps).
    Skipped,
    /// Read only in part or not at all; `error` says why.
    Error,
}

impl FileStatus {
    /// The name stored and reported.
    pub fn name(self) -> &'static str {
        match self {
            FileStatus::Hashed => "hashed",
            FileStatus::Known => "known",
            FileStatus::Skipped => "skipped",
            FileStatus::Error => "error",
        }
    }

    fn parse(s: &str) -> FileStatus {
        match s {
            "hashed" => FileStatus::Hashed,
            "known" => FileStatus::Known,
            "skipped" => FileStatus::Skipped,
            _ => FileStatus::Error,
        }
    }
}

/// One match of a file against a bank entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchRecord {
    /// The bank.
    pub bank: String,
    /// The entry's id in the bank store.
    pub entry_id: u32,
    /// The entry's hash as the list gave it.
    pub entry_hash: String,
    /// md5, sha1, sha256, pdq or vpdq.
    pub signal: String,
    /// Hamming distance for PDQ, 0 for digests and vPDQ.
    pub distance: u32,
    /// The entry's categories.
    pub categories: Vec<String>,
    /// The bank is a known-file filter (NSRL), not a list of flagged material.
    pub known_file: bool,
    /// vPDQ: share of this video's frames that matched, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_match_pct: Option<f64>,
    /// vPDQ: share of the bank video's frames that matched, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_match_pct: Option<f64>,
}

/// Everything recorded of one file or archive member.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileRecord {
    /// Path relative to the source's root; archive members as `a.zip!/inner/path`.
    pub path: String,
    /// The archive holding it, for members.
    pub container: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch (archive members: as the archive states it).
    pub mtime: Option<i64>,
    /// Access time as found, ns.
    pub atime: Option<i64>,
    /// Inode change time, ns.
    pub ctime: Option<i64>,
    /// Birth time where the file system keeps one, ns.
    pub btime: Option<i64>,
    /// Lowercase hex digests.
    pub md5: Option<String>,
    /// SHA-1.
    pub sha1: Option<String>,
    /// SHA-256.
    pub sha256: Option<String>,
    /// image, video, archive or other.
    pub kind: String,
    /// Format by content.
    pub format: Option<String>,
    /// Image or video width.
    pub width: Option<u32>,
    /// Image or video height.
    pub height: Option<u32>,
    /// PDQ hash (hex).
    pub pdq: Option<String>,
    /// PDQ quality.
    pub quality: Option<u8>,
    /// The eight dihedral PDQ hashes, when asked for.
    pub dihedral: Option<Vec<String>>,
    /// vPDQ frames in the reference text format.
    pub vpdq: Option<String>,
    /// What happened.
    pub status: FileStatus,
    /// Why it was skipped or failed.
    pub error: Option<String>,
    /// Matches, best first.
    pub matches: Vec<MatchRecord>,
}

/// One evidence source: a folder or file given to `scan`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// Its number in the case.
    pub id: i64,
    /// The absolute path scanned.
    pub root: String,
    /// The examiner's label (exhibit number, device name).
    pub label: Option<String>,
    /// folder or file.
    pub kind: String,
    /// The settings it was scanned with (JSON).
    #[serde(skip)]
    pub settings: String,
    /// Whether a scan of it ran to the end.
    pub complete: bool,
}

/// One run of `scan`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Its number.
    pub id: i64,
    /// Start, ns since the epoch.
    pub started: i64,
    /// End, when it ended cleanly.
    pub ended: Option<i64>,
    /// running, complete or interrupted.
    pub status: String,
    /// The tantalum version that ran it.
    pub tool_version: String,
    /// Its options (JSON).
    pub options: serde_json::Value,
    /// What it did (JSON).
    pub counts: serde_json::Value,
}

/// A report written from the case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// Where it was written.
    pub path: String,
    /// json, csv, html or manifest.
    pub format: String,
    /// SHA-256 of what was written.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// When, ns since the epoch.
    pub written: i64,
}

/// An open case.
pub struct CaseStore {
    dir: PathBuf,
    db: Connection,
    _lock: File,
}

impl CaseStore {
    /// Opens the case in `dir`, creating it when `create` is set. Only one
    /// process may hold a case at a time.
    pub fn open(dir: &Path, create: bool) -> Result<CaseStore, CaseError> {
        let db_path = dir.join(DB_FILE);
        if !db_path.exists() && !create {
            return Err(CaseError::NoCase(dir.display().to_string()));
        }
        std::fs::create_dir_all(dir).map_err(|e| CaseError::io(dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| CaseError::io(&lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(CaseError::Busy(dir.display().to_string()));
        }
        let db = Connection::open(&db_path).map_err(|e| CaseError::db(&db_path, e))?;
        db.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| CaseError::db(&db_path, e))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS sources (
                 id INTEGER PRIMARY KEY,
                 root TEXT NOT NULL UNIQUE,
                 label TEXT,
                 kind TEXT NOT NULL,
                 settings TEXT NOT NULL,
                 complete INTEGER NOT NULL DEFAULT 0,
                 added INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS runs (
                 id INTEGER PRIMARY KEY,
                 started INTEGER NOT NULL,
                 ended INTEGER,
                 status TEXT NOT NULL,
                 tool_version TEXT NOT NULL,
                 options TEXT NOT NULL,
                 counts TEXT NOT NULL DEFAULT '{}');
             CREATE TABLE IF NOT EXISTS files (
                 id INTEGER PRIMARY KEY,
                 source INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
                 path TEXT NOT NULL,
                 container TEXT,
                 size INTEGER NOT NULL,
                 mtime INTEGER, atime INTEGER, ctime INTEGER, btime INTEGER,
                 md5 TEXT, sha1 TEXT, sha256 TEXT,
                 kind TEXT NOT NULL,
                 format TEXT,
                 width INTEGER, height INTEGER,
                 pdq TEXT, quality INTEGER, dihedral TEXT, vpdq TEXT,
                 status TEXT NOT NULL,
                 error TEXT,
                 run INTEGER NOT NULL,
                 UNIQUE (source, path));
             CREATE INDEX IF NOT EXISTS files_sha256 ON files(sha256);
             CREATE TABLE IF NOT EXISTS matches (
                 file INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
                 bank TEXT NOT NULL,
                 entry_id INTEGER NOT NULL,
                 entry_hash TEXT NOT NULL,
                 signal TEXT NOT NULL,
                 distance INTEGER NOT NULL,
                 categories TEXT NOT NULL,
                 known_file INTEGER NOT NULL,
                 query_match_pct REAL,
                 target_match_pct REAL);
             CREATE INDEX IF NOT EXISTS matches_file ON matches(file);
             CREATE TABLE IF NOT EXISTS outputs (
                 id INTEGER PRIMARY KEY,
                 path TEXT NOT NULL,
                 format TEXT NOT NULL,
                 sha256 TEXT NOT NULL,
                 size INTEGER NOT NULL,
                 written INTEGER NOT NULL);",
        )
        .map_err(|e| CaseError::db(&db_path, e))?;
        let store = CaseStore {
            dir: dir.to_path_buf(),
            db,
            _lock: lock,
        };
        if store.info("name")?.is_none() {
            let name = dir
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "case".into());
            store.set_info("name", &name)?;
            store.set_info("created", &now_ns().to_string())?;
        }
        Ok(store)
    }

    /// The case directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The case database, for crates that keep their own tables in the case
    /// (the network's chats, accounts and groups) beside the scan's.
    pub fn connection(&self) -> &Connection {
        &self.db
    }

    fn err(&self, e: rusqlite::Error) -> CaseError {
        CaseError::db(&self.dir.join(DB_FILE), e)
    }

    /// A case-wide setting (name, created).
    pub fn info(&self, key: &str) -> Result<Option<String>, CaseError> {
        self.db
            .query_row("SELECT value FROM info WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Sets a case-wide setting.
    pub fn set_info(&self, key: &str, value: &str) -> Result<(), CaseError> {
        self.db
            .execute("INSERT OR REPLACE INTO info (key, value) VALUES (?1, ?2)", [key, value])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The case's name (its directory's, unless set).
    pub fn name(&self) -> Result<String, CaseError> {
        Ok(self.info("name")?.unwrap_or_else(|| "case".into()))
    }

    /// Every source, in the order they were added.
    pub fn sources(&self) -> Result<Vec<Source>, CaseError> {
        let mut stmt = self
            .db
            .prepare("SELECT id, root, label, kind, settings, complete FROM sources ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Source {
                    id: r.get(0)?,
                    root: r.get(1)?,
                    label: r.get(2)?,
                    kind: r.get(3)?,
                    settings: r.get(4)?,
                    complete: r.get::<_, i64>(5)? != 0,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The source for `root`, added when new. An existing source keeps its
    /// settings; the caller compares them.
    pub fn source_for(&self, root: &str, label: Option<&str>, kind: &str, settings: &str) -> Result<Source, CaseError> {
        self.db
            .execute(
                "INSERT OR IGNORE INTO sources (root, label, kind, settings, added) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![root, label, kind, settings, now_ns()],
            )
            .map_err(|e| self.err(e))?;
        if let Some(label) = label {
            self.db
                .execute("UPDATE sources SET label = ?2 WHERE root = ?1", params![root, label])
                .map_err(|e| self.err(e))?;
        }
        let found = self.sources()?.into_iter().find(|s| s.root == root);
        found.ok_or_else(|| CaseError::NoCase(root.to_string()))
    }

    /// Forgets everything found in a source so it can be scanned afresh.
    pub fn reset_source(&self, id: i64, settings: &str) -> Result<(), CaseError> {
        self.db
            .execute_batch("BEGIN")
            .and_then(|_| self.db.execute("DELETE FROM files WHERE source = ?1", [id]))
            .and_then(|_| {
                self.db.execute(
                    "UPDATE sources SET settings = ?2, complete = 0 WHERE id = ?1",
                    params![id, settings],
                )
            })
            .and_then(|_| self.db.execute_batch("COMMIT"))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Marks a source scanned to the end.
    pub fn set_source_complete(&self, id: i64) -> Result<(), CaseError> {
        self.db
            .execute("UPDATE sources SET complete = 1 WHERE id = ?1", [id])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The paths already recorded for a source: what a resumed scan skips.
    pub fn done_paths(&self, source: i64) -> Result<HashSet<String>, CaseError> {
        let mut stmt = self
            .db
            .prepare("SELECT path FROM files WHERE source = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([source], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Starts a run; runs left "running" by a killed process become "interrupted".
    pub fn start_run(&self, tool_version: &str, options: &serde_json::Value) -> Result<i64, CaseError> {
        self.db
            .execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'", [])
            .map_err(|e| self.err(e))?;
        self.db
            .execute(
                "INSERT INTO runs (started, status, tool_version, options) VALUES (?1, 'running', ?2, ?3)",
                params![now_ns(), tool_version, options.to_string()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.db.last_insert_rowid())
    }

    /// Ends a run.
    pub fn end_run(&self, run: i64, status: &str, counts: &serde_json::Value) -> Result<(), CaseError> {
        self.db
            .execute(
                "UPDATE runs SET ended = ?2, status = ?3, counts = ?4 WHERE id = ?1",
                params![run, now_ns(), status, counts.to_string()],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<Run>, CaseError> {
        let mut stmt = self
            .db
            .prepare("SELECT id, started, ended, status, tool_version, options, counts FROM runs ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let options: String = r.get(5)?;
                let counts: String = r.get(6)?;
                Ok(Run {
                    id: r.get(0)?,
                    started: r.get(1)?,
                    ended: r.get(2)?,
                    status: r.get(3)?,
                    tool_version: r.get(4)?,
                    options: serde_json::from_str(&options).unwrap_or_default(),
                    counts: serde_json::from_str(&counts).unwrap_or_default(),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Opens a write transaction for a batch of records.
    pub fn begin(&self) -> Result<(), CaseError> {
        self.db.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.err(e))
    }

    /// Commits the open batch.
    pub fn commit(&self) -> Result<(), CaseError> {
        self.db.execute_batch("COMMIT").map_err(|e| self.err(e))
    }

    /// Records a file and its matches; a path already recorded for the source
    /// is left as it is (returns false).
    pub fn insert_file(&self, source: i64, run: i64, f: &FileRecord) -> Result<bool, CaseError> {
        let dihedral = f.dihedral.as_ref().map(|d| d.join(","));
        let inserted = self
            .db
            .prepare_cached(
                "INSERT OR IGNORE INTO files (source, path, container, size, mtime, atime, ctime, btime,
                     md5, sha1, sha256, kind, format, width, height, pdq, quality, dihedral, vpdq, status, error, run)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    source,
                    f.path,
                    f.container,
                    f.size as i64,
                    f.mtime,
                    f.atime,
                    f.ctime,
                    f.btime,
                    f.md5,
                    f.sha1,
                    f.sha256,
                    f.kind,
                    f.format,
                    f.width,
                    f.height,
                    f.pdq,
                    f.quality,
                    dihedral,
                    f.vpdq,
                    f.status.name(),
                    f.error,
                    run
                ])
            })
            .map_err(|e| self.err(e))?;
        if inserted == 0 {
            return Ok(false);
        }
        let file_id = self.db.last_insert_rowid();
        for m in &f.matches {
            let categories = serde_json::to_string(&m.categories).unwrap_or_else(|_| "[]".into());
            self.db
                .prepare_cached(
                    "INSERT INTO matches (file, bank, entry_id, entry_hash, signal, distance, categories, known_file,
                         query_match_pct, target_match_pct) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        file_id,
                        m.bank,
                        m.entry_id,
                        m.entry_hash,
                        m.signal,
                        m.distance,
                        categories,
                        m.known_file,
                        m.query_match_pct,
                        m.target_match_pct
                    ])
                })
                .map_err(|e| self.err(e))?;
        }
        Ok(true)
    }

    /// Every file of the case with its source, ordered by source and path,
    /// handed to `each` one at a time (a case can hold millions).
    pub fn for_each_file(&self, mut each: impl FnMut(i64, FileRecord)) -> Result<(), CaseError> {
        let mut matches = self
            .db
            .prepare(
                "SELECT bank, entry_id, entry_hash, signal, distance, categories, known_file, query_match_pct,
                     target_match_pct FROM matches WHERE file = ?1
                 ORDER BY known_file, distance, bank, entry_id",
            )
            .map_err(|e| self.err(e))?;
        let mut stmt = self
            .db
            .prepare(
                "SELECT id, source, path, container, size, mtime, atime, ctime, btime, md5, sha1, sha256, kind,
                     format, width, height, pdq, quality, dihedral, vpdq, status, error
                 FROM files ORDER BY source, path",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let row = (|| -> rusqlite::Result<(i64, i64, FileRecord)> {
                let dihedral: Option<String> = r.get(18)?;
                let status: String = r.get(20)?;
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    FileRecord {
                        path: r.get(2)?,
                        container: r.get(3)?,
                        size: r.get::<_, i64>(4)? as u64,
                        mtime: r.get(5)?,
                        atime: r.get(6)?,
                        ctime: r.get(7)?,
                        btime: r.get(8)?,
                        md5: r.get(9)?,
                        sha1: r.get(10)?,
                        sha256: r.get(11)?,
                        kind: r.get(12)?,
                        format: r.get(13)?,
                        width: r.get(14)?,
                        height: r.get(15)?,
                        pdq: r.get(16)?,
                        quality: r.get(17)?,
                        dihedral: dihedral.map(|d| d.split(',').map(str::to_string).collect()),
                        vpdq: r.get(19)?,
                        status: FileStatus::parse(&status),
                        error: r.get(21)?,
                        matches: Vec::new(),
                    },
                ))
            })();
            let (id, source, mut file) = row.map_err(|e| self.err(e))?;
            let found = matches
                .query_map([id], |m| {
                    let categories: String = m.get(5)?;
                    Ok(MatchRecord {
                        bank: m.get(0)?,
                        entry_id: m.get(1)?,
                        entry_hash: m.get(2)?,
                        signal: m.get(3)?,
                        distance: m.get(4)?,
                        categories: serde_json::from_str(&categories).unwrap_or_default(),
                        known_file: m.get(6)?,
                        query_match_pct: m.get(7)?,
                        target_match_pct: m.get(8)?,
                    })
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| self.err(e))?;
            file.matches = found;
            each(source, file);
        }
        Ok(())
    }

    /// Records a report written from the case.
    pub fn add_output(&self, output: &Output) -> Result<(), CaseError> {
        self.db
            .execute(
                "INSERT INTO outputs (path, format, sha256, size, written) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    output.path,
                    output.format,
                    output.sha256,
                    output.size as i64,
                    output.written
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every report written, oldest first.
    pub fn outputs(&self) -> Result<Vec<Output>, CaseError> {
        let mut stmt = self
            .db
            .prepare("SELECT path, format, sha256, size, written FROM outputs ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Output {
                    path: r.get(0)?,
                    format: r.get(1)?,
                    sha256: r.get(2)?,
                    size: r.get::<_, i64>(3)? as u64,
                    written: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}
