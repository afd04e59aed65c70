//! NIST NSRL RDS v3: a SQLite database of known software files. Each file
//! row gives up to three entries (SHA-256, SHA-1, MD5) for a known-file bank,
//! which filters matches out and never flags.
//!
//! The rows come from `METADATA` (the RDS v3 table) or, failing that, the
//! `FILE` view, read on a thread of their own and handed over a bounded
//! channel, so a full release imports in constant memory.

use std::path::Path;
use std::sync::mpsc::sync_channel;

use rusqlite::{params, Connection, OpenFlags};
use serde_json::{Map, Value};

use super::{merge_categories, Entries, EntryWriter, LineError, ReadOptions};
use crate::model::{NewEntry, Signal};

fn open(path: &Path) -> Result<(Connection, &'static str), LineError> {
    let fail = |m: String| LineError { line: 0, message: m };
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| fail(format!("not an NSRL database: {e}")))?;
    for table in ["METADATA", "FILE"] {
        let found: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = ?1 COLLATE NOCASE",
                params![table],
                |r| r.get(0),
            )
            .map_err(|e| fail(format!("not an NSRL database: {e}")))?;
        if found > 0 {
            return Ok((db, table));
        }
    }
    Err(fail(
        "no METADATA table or FILE view: not an NSRL RDS v3 database".into(),
    ))
}

/// Reads the file rows of an RDS v3 database.
pub fn read_nsrl(path: &Path, options: ReadOptions) -> Entries {
    let (tx, rx) = sync_channel(4096);
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let (db, table) = match open(&path) {
            Ok(x) => x,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        let sql = format!("SELECT sha256, sha1, md5, file_name, file_size FROM {table}");
        let result = (|| -> rusqlite::Result<()> {
            let mut stmt = db.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            let mut row_no = 0u64;
            let categories = merge_categories(vec!["nsrl:known".to_string()], &options.categories);
            while let Some(r) = rows.next()? {
                row_no += 1;
                let mut raw = Map::new();
                raw.insert("nsrl_row".into(), Value::from(row_no));
                if let Some(name) = r.get::<_, Option<String>>(3)? {
                    raw.insert("file_name".into(), Value::String(name));
                }
                if let Some(size) = r.get::<_, Option<i64>>(4)? {
                    raw.insert("file_size".into(), Value::from(size));
                }
                for (i, signal) in [Signal::Sha256, Signal::Sha1, Signal::Md5].iter().enumerate() {
                    let Some(hash) = r.get::<_, Option<String>>(i)?.filter(|h| !h.is_empty()) else {
                        continue;
                    };
                    let item = NewEntry::of_record(signal, &hash, &categories, None, options.source.as_deref(), &raw)
                        .map_err(|message| LineError {
                            line: row_no,
                            message: format!("row {row_no}: {message}"),
                        });
                    if tx.send(item).is_err() {
                        return Ok(());
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = tx.send(Err(LineError {
                line: 0,
                message: format!("reading the NSRL database: {e}"),
            }));
        }
    });
    Box::new(rx.into_iter())
}

/// The file row being rebuilt: its key, its raw fields, and its SHA-256, SHA-1 and MD5.
type PendingRow = (Value, Map<String, Value>, [Option<String>; 3]);

/// Writes an RDS v3-shaped database (a `METADATA` table) at `path`.
pub struct NsrlWriter {
    db: Connection,
    row: Option<PendingRow>,
}

impl NsrlWriter {
    pub fn create(path: &Path) -> Result<Self, String> {
        if path.exists() {
            return Err(format!("{} exists; NSRL export writes a new database", path.display()));
        }
        let db = Connection::open(path).map_err(|e| e.to_string())?;
        db.execute_batch(
            "CREATE TABLE METADATA (sha256 TEXT, sha1 TEXT, md5 TEXT, file_name TEXT, file_size INTEGER);
             BEGIN;",
        )
        .map_err(|e| e.to_string())?;
        Ok(NsrlWriter { db, row: None })
    }

    fn flush_row(&mut self) -> std::io::Result<()> {
        let Some((_, raw, [sha256, sha1, md5])) = self.row.take() else {
            return Ok(());
        };
        let name = raw.get("file_name").and_then(Value::as_str).map(str::to_string);
        let size = raw.get("file_size").and_then(Value::as_i64);
        self.db
            .execute(
                "INSERT INTO METADATA (sha256, sha1, md5, file_name, file_size) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    sha256.map(|h| h.to_ascii_uppercase()),
                    sha1.map(|h| h.to_ascii_uppercase()),
                    md5.map(|h| h.to_ascii_uppercase()),
                    name,
                    size
                ],
            )
            .map_err(std::io::Error::other)?;
        Ok(())
    }
}

impl EntryWriter for NsrlWriter {
    fn write(&mut self, e: &NewEntry) -> std::io::Result<()> {
        let key = e.raw.get("nsrl_row").cloned().unwrap_or(Value::Null);
        let same = matches!(&self.row, Some((k, _, _)) if *k == key && !key.is_null());
        if !same {
            self.flush_row()?;
            self.row = Some((key, e.raw.clone(), [None, None, None]));
        }
        let slot = match Signal::parse(&e.signal) {
            Signal::Sha256 => 0,
            Signal::Sha1 => 1,
            Signal::Md5 => 2,
            _ => return Ok(()), // RDS holds file digests only
        };
        self.row.as_mut().expect("set above").2[slot] = Some(e.hash.clone());
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.flush_row()?;
        self.db.execute_batch("COMMIT;").map_err(std::io::Error::other)
    }
}
