//! The embedded store: one SQLite database in the store directory. Imports
//! run in one transaction, so a list applies whole or not at all.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use crate::formats::LineError;
use crate::model::{BankInfo, BankKind, Entry, NewEntry};
use crate::store::{read_list, BankOptions, Change, ChangeCursor, ImportReport};
use crate::BankError;

/// The embedded store: a directory and its SQLite database.
pub(crate) struct SqliteStore {
    dir: PathBuf,
    db: Connection,
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn kind_name(kind: BankKind) -> &'static str {
    match kind {
        BankKind::Flag => "flag",
        BankKind::Known => "known",
    }
}

/// Read the database through a memory map, not `pread` into each
/// connection's page cache: lookups of entries at random (every hit a
/// service or a scan reports) then cost no copy and no cache of their own
/// per connection, and every connection shares the one copy in the OS page
/// cache. SQLite clamps it to its build's ceiling (2 GiB by default); pages
/// past that are read as before.
const MMAP_PRAGMA: &str = "PRAGMA mmap_size = 1099511627776;";

impl SqliteStore {
    /// Opens (creating when needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<SqliteStore, BankError> {
        std::fs::create_dir_all(dir).map_err(|e| BankError::io(dir, e))?;
        let path = dir.join("banks.sqlite");
        let db = Connection::open(&path).map_err(|e| BankError::db(&path, e))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA cache_size = -131072;
             PRAGMA foreign_keys = ON;
             CREATE TABLE IF NOT EXISTS banks (
                 name TEXT PRIMARY KEY,
                 kind TEXT NOT NULL,
                 suppress INTEGER NOT NULL,
                 max_distance INTEGER NOT NULL,
                 quality_floor INTEGER NOT NULL,
                 created INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS entries (
                 id INTEGER PRIMARY KEY,
                 bank TEXT NOT NULL REFERENCES banks(name) ON DELETE CASCADE,
                 signal TEXT NOT NULL,
                 hash TEXT NOT NULL,
                 categories TEXT NOT NULL,
                 external_id TEXT,
                 source TEXT,
                 raw TEXT NOT NULL,
                 added INTEGER NOT NULL,
                 seq INTEGER NOT NULL,
                 removed INTEGER,
                 UNIQUE (signal, hash, bank));
             CREATE INDEX IF NOT EXISTS entries_seq ON entries(seq);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS removals (seq INTEGER PRIMARY KEY AUTOINCREMENT, id INTEGER NOT NULL);
             CREATE TRIGGER IF NOT EXISTS entry_withdrawn AFTER UPDATE OF removed ON entries
                 WHEN new.removed IS NOT NULL AND old.removed IS NULL
                 BEGIN INSERT INTO removals (id) VALUES (old.id); END;
             CREATE TRIGGER IF NOT EXISTS entry_deleted AFTER DELETE ON entries
                 WHEN old.removed IS NULL
                 BEGIN INSERT INTO removals (id) VALUES (old.id); END;
             INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', 0);",
        )
        .map_err(|e| BankError::db(&path, e))?;
        db.execute_batch(MMAP_PRAGMA).map_err(|e| BankError::db(&path, e))?;
        Ok(SqliteStore {
            dir: dir.to_path_buf(),
            db,
        })
    }

    /// Opens an existing store for reading only, as each scanning thread
    /// does beside the writer: no schema work, so any number can open at once.
    pub fn open_reader(dir: &Path) -> Result<SqliteStore, BankError> {
        let path = dir.join("banks.sqlite");
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let db = Connection::open_with_flags(&path, flags).map_err(|e| BankError::db(&path, e))?;
        db.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| BankError::db(&path, e))?;
        db.execute_batch(MMAP_PRAGMA).map_err(|e| BankError::db(&path, e))?;
        Ok(SqliteStore {
            dir: dir.to_path_buf(),
            db,
        })
    }

    fn db_error(&self, e: rusqlite::Error) -> BankError {
        BankError::db(&self.dir.join("banks.sqlite"), e)
    }

    /// Creates a bank; an error if it exists.
    pub fn create_bank(&self, name: &str, options: &BankOptions) -> Result<(), BankError> {
        if self.bank_settings(name)?.is_some() {
            return Err(BankError::Exists(name.to_string()));
        }
        self.db
            .execute(
                "INSERT INTO banks (name, kind, suppress, max_distance, quality_floor, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![name, kind_name(options.kind), options.suppress, options.max_distance, options.quality_floor, now()],
            )
            .map_err(|e| self.db_error(e))?;
        Ok(())
    }

    /// A bank's settings, without counting its entries (which reads them all).
    pub fn bank_settings(&self, name: &str) -> Result<Option<BankInfo>, BankError> {
        self.db
            .query_row(
                "SELECT name, kind, suppress, max_distance, quality_floor, created FROM banks WHERE name = ?1",
                params![name],
                |r| {
                    Ok(BankInfo {
                        name: r.get(0)?,
                        kind: if r.get::<_, String>(1)? == "known" {
                            BankKind::Known
                        } else {
                            BankKind::Flag
                        },
                        suppress: r.get(2)?,
                        max_distance: r.get(3)?,
                        quality_floor: r.get(4)?,
                        counts: Vec::new(),
                        created: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.db_error(e))
    }

    /// A bank's settings and counts.
    pub fn bank(&self, name: &str) -> Result<Option<BankInfo>, BankError> {
        let row = self.bank_settings(name)?;
        let Some(mut info) = row else { return Ok(None) };
        let mut stmt = self
            .db
            .prepare("SELECT signal, COUNT(*) FROM entries WHERE bank = ?1 AND removed IS NULL GROUP BY signal ORDER BY signal")
            .map_err(|e| self.db_error(e))?;
        info.counts = stmt
            .query_map(params![name], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.db_error(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_error(e))?;
        Ok(Some(info))
    }

    /// Every bank's settings, without counts, by name.
    pub fn bank_names(&self) -> Result<Vec<String>, BankError> {
        let mut stmt = self
            .db
            .prepare("SELECT name FROM banks ORDER BY name")
            .map_err(|e| self.db_error(e))?;
        let names = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| self.db_error(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_error(e))?;
        Ok(names)
    }

    /// Deletes a bank and its entries; returns how many entries went.
    pub fn remove_bank(&self, name: &str) -> Result<u64, BankError> {
        let info = self
            .bank(name)?
            .ok_or_else(|| BankError::NoSuchBank(name.to_string()))?;
        self.db
            .execute("DELETE FROM banks WHERE name = ?1", params![name])
            .map_err(|e| self.db_error(e))?;
        self.bump_generation()?;
        Ok(info.counts.iter().map(|c| c.1).sum())
    }

    /// Renames a bank; its entries keep their ids.
    pub fn rename_bank(&mut self, from: &str, to: &str) -> Result<(), BankError> {
        if self.bank_settings(from)?.is_none() {
            return Err(BankError::NoSuchBank(from.to_string()));
        }
        if self.bank_settings(to)?.is_some() {
            return Err(BankError::Exists(to.to_string()));
        }
        let path = self.dir.join("banks.sqlite");
        let tx = self.db.transaction().map_err(|e| BankError::db(&path, e))?;
        // Entries point at the bank by name: the new row goes in first, the entries follow, the old row goes.
        tx.execute_batch("PRAGMA defer_foreign_keys = ON")
            .and_then(|_| {
                tx.execute(
                    "INSERT INTO banks (name, kind, suppress, max_distance, quality_floor, created)
                     SELECT ?2, kind, suppress, max_distance, quality_floor, created FROM banks WHERE name = ?1",
                    params![from, to],
                )
            })
            .and_then(|_| tx.execute("UPDATE entries SET bank = ?2 WHERE bank = ?1", params![from, to]))
            .and_then(|_| tx.execute("DELETE FROM banks WHERE name = ?1", params![from]))
            .and_then(|_| tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'", []))
            .map_err(|e| BankError::db(&path, e))?;
        tx.commit().map_err(|e| BankError::db(&path, e))
    }

    /// Imports entries into a bank in one transaction: applied only when no
    /// line was bad. Entries already in the bank are counted as duplicates.
    pub fn import(
        &mut self,
        bank: &str,
        entries: impl Iterator<Item = Result<NewEntry, LineError>>,
    ) -> Result<ImportReport, BankError> {
        if self.bank_settings(bank)?.is_none() {
            return Err(BankError::NoSuchBank(bank.to_string()));
        }
        let path = self.dir.join("banks.sqlite");
        let db_err = |e| BankError::db(&path, e);
        let tx = self.db.transaction().map_err(db_err)?;
        let mut report = ImportReport::default();
        // Entries go to a staging table first and into the bank sorted by
        // hash: inserting random hashes one by one into the unique index
        // thrashes the B-tree, a sorted insert appends to it. The staging
        // table and the sort spill to temporary files, so memory stays flat.
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS staging (
                 seq INTEGER PRIMARY KEY, signal TEXT, hash TEXT, categories TEXT,
                 external_id TEXT, source TEXT, raw TEXT);
             DELETE FROM staging;
             CREATE TEMP TABLE IF NOT EXISTS staging_withdrawn (external_id TEXT);
             DELETE FROM staging_withdrawn;",
        )
        .map_err(db_err)?;
        {
            let mut stage = tx
                .prepare(
                    "INSERT INTO staging (signal, hash, categories, external_id, source, raw)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db_err)?;
            read_list(
                entries,
                &mut report,
                |external_id| {
                    tx.execute(
                        "INSERT INTO staging_withdrawn (external_id) VALUES (?1)",
                        params![external_id],
                    )
                    .map(drop)
                },
                |s| {
                    let e = s.entry;
                    stage
                        .execute(params![e.signal, e.hash, s.categories, e.external_id, e.source, s.raw])
                        .map(drop)
                },
            )
            .map_err(db_err)?;
        }
        if report.bad == 0 {
            let base: i64 = tx
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM entries", [], |r| r.get(0))
                .map_err(db_err)?;
            report.added = tx
                .execute(
                    "INSERT INTO entries (bank, signal, hash, categories, external_id, source, raw, added, seq)
                     SELECT ?1, signal, hash, categories, external_id, source, raw, ?2, seq + ?3
                     FROM staging WHERE true ORDER BY signal, hash, seq
                     ON CONFLICT (signal, hash, bank) DO UPDATE SET removed = NULL, seq = excluded.seq WHERE removed IS NOT NULL",
                    params![bank, now(), base],
                )
                .map_err(db_err)? as u64;
            report.duplicates = report.read - report.added;
            report.withdrawn = tx
                .execute(
                    "UPDATE entries SET removed = ?2 WHERE bank = ?1 AND removed IS NULL
                     AND external_id IN (SELECT external_id FROM staging_withdrawn)",
                    params![bank, now()],
                )
                .map_err(db_err)? as u64;
        }
        tx.execute_batch("DELETE FROM staging; DELETE FROM staging_withdrawn;")
            .map_err(db_err)?;
        if report.bad == 0 {
            if report.added > 0 || report.withdrawn > 0 {
                tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'", [])
                    .map_err(|e| BankError::db(&path, e))?;
            }
            tx.commit().map_err(|e| BankError::db(&path, e))?;
            report.applied = true;
        } else {
            tx.rollback().map_err(|e| BankError::db(&path, e))?;
            report.added = 0;
            report.duplicates = 0;
            report.withdrawn = 0;
        }
        Ok(report)
    }

    /// Calls `f` for every entry of the given banks (all when empty), in the
    /// order they were imported, without holding them in memory.
    pub fn for_each_entry(
        &self,
        banks: &[String],
        mut f: impl FnMut(Entry) -> Result<(), BankError>,
    ) -> Result<(), BankError> {
        let columns = "id, bank, signal, hash, categories, external_id, source, raw, added";
        let (sql, filter) = if banks.is_empty() {
            (
                format!("SELECT {columns} FROM entries WHERE removed IS NULL ORDER BY seq"),
                Vec::new(),
            )
        } else {
            let marks = vec!["?"; banks.len()].join(",");
            (
                format!("SELECT {columns} FROM entries WHERE removed IS NULL AND bank IN ({marks}) ORDER BY seq"),
                banks.to_vec(),
            )
        };
        let mut stmt = self.db.prepare(&sql).map_err(|e| self.db_error(e))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(filter.iter()))
            .map_err(|e| self.db_error(e))?;
        while let Some(r) = rows.next().map_err(|e| self.db_error(e))? {
            let bank: String = r.get(1).map_err(|e| self.db_error(e))?;
            let get_text = |i: usize| r.get::<_, Option<String>>(i).map_err(|e| self.db_error(e));
            let categories: Vec<String> = serde_json::from_str(&get_text(4)?.unwrap_or_default()).unwrap_or_default();
            let raw = serde_json::from_str(&get_text(7)?.unwrap_or_default()).unwrap_or_default();
            f(Entry {
                id: r.get::<_, i64>(0).map_err(|e| self.db_error(e))? as u32,
                bank,
                entry: NewEntry {
                    signal: get_text(2)?.unwrap_or_default(),
                    hash: get_text(3)?.unwrap_or_default(),
                    categories,
                    external_id: get_text(5)?,
                    source: get_text(6)?,
                    raw,
                    withdrawn: false,
                },
                added: r.get(8).map_err(|e| self.db_error(e))?,
            })?;
        }
        Ok(())
    }

    fn bump_generation(&self) -> Result<(), BankError> {
        self.db
            .execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'", [])
            .map_err(|e| self.db_error(e))?;
        Ok(())
    }

    /// A counter that changes whenever the set of entries does.
    pub fn generation(&self) -> Result<u64, BankError> {
        self.db
            .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|v| v as u64)
            .map_err(|e| self.db_error(e))
    }

    /// The PDQ index over every bank's PDQ entries (ids are entry ids).
    ///
    /// It lives beside the database as `pdq-<generation>.idx` and is mapped,
    /// not loaded, so matching against millions of hashes starts at once and
    /// processes share one copy. After a change it is rebuilt once, by the
    /// first command that needs it, and older files are removed.
    pub fn pdq_index(&self) -> Result<index::HammingIndex, BankError> {
        let generation = self.generation()?;
        let path = self.dir.join(format!("pdq-{generation}.idx"));
        if let Ok(index) = index::HammingIndex::open(&path) {
            return Ok(index);
        }
        let mut entries = Vec::new();
        let mut stmt = self
            .db
            .prepare("SELECT id, hash FROM entries WHERE signal = 'pdq' AND removed IS NULL")
            .map_err(|e| self.db_error(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.db_error(e))?;
        while let Some(r) = rows.next().map_err(|e| self.db_error(e))? {
            let id: i64 = r.get(0).map_err(|e| self.db_error(e))?;
            let hex: String = r.get(1).map_err(|e| self.db_error(e))?;
            if let Ok(h) = pdq::Hash256::from_hex(&hex) {
                entries.push((*h.as_bytes(), id as u32));
            }
        }
        let mut index = index::HammingIndex::build(entries);
        index.save(&path).map_err(|e| BankError::Index(e.to_string()))?;
        if let Ok(dir) = std::fs::read_dir(&self.dir) {
            for old in dir.flatten() {
                let name = old.file_name().to_string_lossy().into_owned();
                if name.starts_with("pdq-") && name.ends_with(".idx") && old.path() != path {
                    let _ = std::fs::remove_file(old.path());
                }
            }
        }
        Ok(index)
    }

    /// Where the change feed stands now (see [`Store::changes_since`]).
    pub fn cursor(&self) -> Result<ChangeCursor, BankError> {
        self.db
            .query_row(
                "SELECT (SELECT COALESCE(MAX(seq), 0) FROM entries), (SELECT COALESCE(MAX(seq), 0) FROM removals)",
                [],
                |r| {
                    Ok(ChangeCursor {
                        entries: r.get(0)?,
                        removals: r.get(1)?,
                    })
                },
            )
            .map_err(|e| self.db_error(e))
    }

    /// What changed since `since`: removals first, then additions, each as
    /// the entry stands now (an entry added and withdrawn in between only
    /// shows as removed). Applying them in order brings an index built at
    /// `since` to the returned cursor. This is how a running service sees
    /// imports made by other processes without reloading anything.
    pub fn changes_since(&self, since: &ChangeCursor) -> Result<(Vec<Change>, ChangeCursor), BankError> {
        let err = |e| self.db_error(e);
        // One read transaction: the cursor and the changes come from the same snapshot.
        self.db.execute_batch("BEGIN").map_err(err)?;
        let result = (|| {
            let now = self.cursor()?;
            let mut changes = Vec::new();
            let mut stmt = self
                .db
                .prepare_cached(
                    "SELECT DISTINCT r.id FROM removals r WHERE r.seq > ?1 AND r.seq <= ?2
                     AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = r.id AND e.removed IS NULL)",
                )
                .map_err(err)?;
            let ids = stmt
                .query_map(params![since.removals, now.removals], |r| r.get::<_, i64>(0))
                .map_err(err)?;
            for id in ids {
                changes.push(Change::Removed(id.map_err(err)? as u32));
            }
            let mut stmt = self
                .db
                .prepare_cached(
                    "SELECT id, bank, signal, hash FROM entries
                     WHERE seq > ?1 AND seq <= ?2 AND removed IS NULL ORDER BY seq",
                )
                .map_err(err)?;
            let rows = stmt
                .query_map(params![since.entries, now.entries], |r| {
                    Ok(Change::Added {
                        id: r.get::<_, i64>(0)? as u32,
                        bank: r.get(1)?,
                        signal: r.get(2)?,
                        hash: r.get(3)?,
                    })
                })
                .map_err(err)?;
            for row in rows {
                changes.push(row.map_err(err)?);
            }
            Ok((changes, now))
        })();
        self.db.execute_batch("COMMIT").map_err(err)?;
        result
    }

    /// The highest entry id ever given (0 when empty).
    pub fn max_entry_id(&self) -> Result<u32, BankError> {
        self.db
            .query_row("SELECT COALESCE(MAX(id), 0) FROM entries", [], |r| r.get::<_, i64>(0))
            .map(|v| v as u32)
            .map_err(|e| self.db_error(e))
    }

    /// Withdraws one entry; false if there is no live entry with that id.
    pub fn remove_entry(&self, id: u32) -> Result<bool, BankError> {
        let n = self
            .db
            .execute(
                "UPDATE entries SET removed = ?2 WHERE id = ?1 AND removed IS NULL",
                params![id as i64, now()],
            )
            .map_err(|e| self.db_error(e))?;
        if n > 0 {
            self.bump_generation()?;
        }
        Ok(n > 0)
    }

    /// The id of a live entry by bank, signal and normalised hash.
    pub fn entry_id(&self, bank: &str, signal: &str, hash: &str) -> Result<Option<u32>, BankError> {
        self.db
            .prepare_cached("SELECT id FROM entries WHERE bank = ?1 AND signal = ?2 AND hash = ?3 AND removed IS NULL")
            .and_then(|mut s| {
                s.query_row(params![bank, signal, hash], |r| r.get::<_, i64>(0))
                    .optional()
            })
            .map(|id| id.map(|id| id as u32))
            .map_err(|e| self.db_error(e))
    }

    /// Every live vPDQ entry: id, bank and frames.
    pub fn vpdq_entries(&self) -> Result<Vec<(u32, String, Vec<vpdq::Feature>)>, BankError> {
        let mut stmt = self
            .db
            .prepare("SELECT id, bank, raw FROM entries WHERE signal = 'vpdq' AND removed IS NULL ORDER BY id")
            .map_err(|e| self.db_error(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.db_error(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.db_error(e))? {
            let id: i64 = r.get(0).map_err(|e| self.db_error(e))?;
            let bank: String = r.get(1).map_err(|e| self.db_error(e))?;
            let raw: String = r.get(2).map_err(|e| self.db_error(e))?;
            let raw: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&raw).unwrap_or_default();
            if let Some(frames) = crate::model::vpdq_frames(&raw) {
                out.push((id as u32, bank, frames));
            }
        }
        Ok(out)
    }

    /// Ids and banks of the entries carrying this digest (`signal` is md5, sha1 or sha256).
    pub fn lookup_digest(&self, signal: &str, hex: &str) -> Result<Vec<(u32, String)>, BankError> {
        let mut stmt = self
            .db
            .prepare_cached("SELECT id, bank FROM entries WHERE signal = ?1 AND hash = ?2 AND removed IS NULL")
            .map_err(|e| self.db_error(e))?;
        let rows = stmt
            .query_map(params![signal, hex], |r| {
                Ok((r.get::<_, i64>(0)? as u32, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.db_error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.db_error(e))
    }

    /// The bank an entry belongs to.
    pub fn bank_of(&self, id: u32) -> Result<Option<String>, BankError> {
        self.db
            .prepare_cached("SELECT bank FROM entries WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![id as i64], |r| r.get::<_, String>(0)).optional())
            .map_err(|e| self.db_error(e))
    }

    /// Entries by id, in no particular order; ids with no entry are left out.
    pub fn entries(&self, ids: &[u32]) -> Result<Vec<Entry>, BankError> {
        // In-process lookups cost no round trip: one prepared statement per id.
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            out.extend(self.entry(id)?);
        }
        Ok(out)
    }

    /// One entry by id.
    pub fn entry(&self, id: u32) -> Result<Option<Entry>, BankError> {
        let mut found = None;
        let sql = "SELECT bank, signal, hash, categories, external_id, source, raw, added FROM entries WHERE id = ?1";
        let row = self
            .db
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.query_row(params![id as i64], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, i64>(7)?,
                    ))
                })
                .optional()
            })
            .map_err(|e| self.db_error(e))?;
        if let Some((bank, signal, hash, categories, external_id, source, raw, added)) = row {
            found = Some(Entry {
                id,
                bank,
                entry: NewEntry {
                    signal,
                    hash,
                    categories: serde_json::from_str(&categories).unwrap_or_default(),
                    external_id,
                    source,
                    raw: serde_json::from_str(&raw).unwrap_or_default(),
                    withdrawn: false,
                },
                added,
            });
        }
        Ok(found)
    }
}
