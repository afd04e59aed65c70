//! The bank store: where banks and their entries live. Two backends behind
//! one type: the embedded SQLite store (a directory, the default) and
//! PostgreSQL (`postgres://…`) for deployments where several processes or
//! replicas share the banks.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::formats::LineError;
use crate::model::{BankInfo, BankKind, Entry, NewEntry};
use crate::pg::{PgListener, PgStore};
use crate::sqlite::SqliteStore;
use crate::BankError;

/// How many bad lines an import report lists (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 20;

/// Settings for a new bank.
#[derive(Debug, Clone)]
pub struct BankOptions {
    /// Flag or known-file filter.
    pub kind: BankKind,
    /// A hit here removes the query's other hits.
    pub suppress: bool,
    /// Largest PDQ distance that matches.
    pub max_distance: u32,
    /// Lowest PDQ quality matched.
    pub quality_floor: u8,
}

impl Default for BankOptions {
    fn default() -> Self {
        BankOptions {
            kind: BankKind::Flag,
            suppress: false,
            max_distance: pdq::DEFAULT_MATCH_DISTANCE,
            quality_floor: pdq::DEFAULT_QUALITY_THRESHOLD,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// Entries read from the list.
    pub read: u64,
    /// New entries stored.
    pub added: u64,
    /// Entries already in the bank (same type and hash), left as they were.
    pub duplicates: u64,
    /// Entries the list withdrew (tombstones), now marked removed.
    pub withdrawn: u64,
    /// Lines that could not be read.
    pub bad: u64,
    /// The first of them.
    pub errors: Vec<LineError>,
    /// Whether the import was applied (only when nothing was bad).
    pub applied: bool,
}

/// A position in the store's change feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangeCursor {
    /// The highest entry sequence number seen.
    pub entries: i64,
    /// The highest removal sequence number seen.
    pub removals: i64,
}

/// One change to the live entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An entry became live (new, or re-imported after withdrawal).
    Added {
        /// Its id.
        id: u32,
        /// Its bank.
        bank: String,
        /// Its signal.
        signal: String,
        /// Its normalised hash.
        hash: String,
    },
    /// An entry was withdrawn or its bank removed.
    Removed(u32),
}

/// One list entry as a backend stages it: its position in the list and its
/// categories and source record as JSON text.
pub(crate) struct Staged<'a> {
    /// 1 for the first entry read.
    pub seq: i64,
    pub entry: &'a NewEntry,
    pub categories: String,
    pub raw: String,
}

/// Reads a list for an import, the same way for every backend: entries go
/// to `stage`, withdrawals (by their list id) to `withdraw`, bad lines are
/// counted into `report` with the first of them kept. After the first bad
/// line nothing more is staged (the import will not apply) but reading goes
/// on, so the report counts every bad line.
pub(crate) fn read_list<E>(
    entries: impl Iterator<Item = Result<NewEntry, LineError>>,
    report: &mut ImportReport,
    mut withdraw: impl FnMut(Option<String>) -> Result<(), E>,
    mut stage: impl FnMut(Staged<'_>) -> Result<(), E>,
) -> Result<(), E> {
    for item in entries {
        match item {
            Ok(e) if e.withdrawn => withdraw(e.external_id)?,
            Ok(e) => {
                report.read += 1;
                if report.bad > 0 {
                    continue;
                }
                stage(Staged {
                    seq: report.read as i64,
                    entry: &e,
                    categories: serde_json::to_string(&e.categories).expect("strings serialise"),
                    raw: serde_json::to_string(&e.raw).expect("JSON values serialise"),
                })?;
            }
            Err(line) => {
                report.bad += 1;
                if report.errors.len() < MAX_REPORTED_ERRORS {
                    report.errors.push(line);
                }
            }
        }
    }
    Ok(())
}

/// Where a store lives: a directory (SQLite) or a PostgreSQL database.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// The embedded store in this directory.
    Dir(PathBuf),
    /// A PostgreSQL connection string (`postgres://user:pass@host:port/db`
    /// or key=value form starting with `postgres`).
    Postgres(String),
}

impl Location {
    /// Reads a `--store` value: a `postgres://` or `postgresql://` URL, or a directory.
    pub fn parse(value: &str) -> Location {
        let lower = value.trim().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Location::Postgres(value.trim().to_string())
        } else {
            Location::Dir(PathBuf::from(value))
        }
    }

    /// Whether a store is there already (never creates one). A database is
    /// assumed to be there: connecting tells.
    pub fn exists(&self) -> bool {
        match self {
            Location::Dir(d) => d.join("banks.sqlite").exists(),
            Location::Postgres(_) => true,
        }
    }
}

/// Shows the location with any password replaced, so it can go in logs and errors.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Dir(d) => write!(f, "{}", d.display()),
            Location::Postgres(url) => f.write_str(&crate::pg::redact(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

enum Backend {
    Sqlite(SqliteStore),
    Postgres(Box<PgStore>),
}

/// The bank store. Each value holds one connection; open one per thread.
pub struct Store {
    location: Location,
    backend: Backend,
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($s) => $call,
            Backend::Postgres($s) => $call,
        }
    };
    (mut $self:ident, $s:ident => $call:expr) => {
        match &mut $self.backend {
            Backend::Sqlite($s) => $call,
            Backend::Postgres($s) => $call,
        }
    };
}

impl Store {
    /// Opens (creating when needed) the embedded store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, BankError> {
        Store::open_at(&Location::Dir(dir.to_path_buf()))
    }

    /// Opens an existing embedded store for reading only, as each scanning
    /// thread does beside the writer: no schema work, so any number can open at once.
    pub fn open_reader(dir: &Path) -> Result<Store, BankError> {
        Store::open_reader_at(&Location::Dir(dir.to_path_buf()))
    }

    /// Opens (creating the tables when needed) the store at `location`.
    pub fn open_at(location: &Location) -> Result<Store, BankError> {
        let backend = match location {
            Location::Dir(dir) => Backend::Sqlite(SqliteStore::open(dir)?),
            Location::Postgres(url) => Backend::Postgres(Box::new(PgStore::open(url)?)),
        };
        Ok(Store {
            location: location.clone(),
            backend,
        })
    }

    /// Opens an existing store at `location` for reading.
    pub fn open_reader_at(location: &Location) -> Result<Store, BankError> {
        let backend = match location {
            Location::Dir(dir) => Backend::Sqlite(SqliteStore::open_reader(dir)?),
            Location::Postgres(url) => Backend::Postgres(Box::new(PgStore::open(url)?)),
        };
        Ok(Store {
            location: location.clone(),
            backend,
        })
    }

    /// Where the store lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Whether every call is a round trip to a database server (PostgreSQL):
    /// callers on an async runtime must then call from a blocking context.
    pub fn is_remote(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Whether the connection to a database server is gone (a restart, a
    /// network failure): the value is useless then and should be replaced.
    /// Never true for the embedded store.
    pub fn is_closed(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => false,
            Backend::Postgres(pg) => pg.is_closed(),
        }
    }

    /// Whether the connection still answers (a round trip for PostgreSQL;
    /// always true for the embedded store). After a failed call, this tells
    /// a dead connection (retry on a fresh one) from a refused statement.
    pub fn is_alive(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => true,
            Backend::Postgres(pg) => pg.is_alive(),
        }
    }

    /// Creates a bank; an error if it exists.
    pub fn create_bank(&self, name: &str, options: &BankOptions) -> Result<(), BankError> {
        if name.is_empty() || name.contains(['/', '\\', '\0']) {
            return Err(BankError::BadName(name.to_string()));
        }
        dispatch!(self, s => s.create_bank(name, options))
    }

    /// A bank's settings, without counting its entries (which reads them all).
    pub fn bank_settings(&self, name: &str) -> Result<Option<BankInfo>, BankError> {
        dispatch!(self, s => s.bank_settings(name))
    }

    /// A bank's settings and counts.
    pub fn bank(&self, name: &str) -> Result<Option<BankInfo>, BankError> {
        dispatch!(self, s => s.bank(name))
    }

    /// Every bank's name, sorted.
    pub fn bank_names(&self) -> Result<Vec<String>, BankError> {
        dispatch!(self, s => s.bank_names())
    }

    /// Every bank with its counts, by name.
    pub fn banks(&self) -> Result<Vec<BankInfo>, BankError> {
        self.bank_names()?
            .iter()
            .filter_map(|n| self.bank(n).transpose())
            .collect()
    }

    /// Deletes a bank and its entries; returns how many entries went.
    pub fn remove_bank(&self, name: &str) -> Result<u64, BankError> {
        dispatch!(self, s => s.remove_bank(name))
    }

    /// Renames a bank; its entries keep their ids.
    pub fn rename_bank(&mut self, from: &str, to: &str) -> Result<(), BankError> {
        if to.is_empty() || to.contains(['/', '\\', '\0']) {
            return Err(BankError::BadName(to.to_string()));
        }
        dispatch!(mut self, s => s.rename_bank(from, to))
    }

    /// Imports entries into a bank in one transaction: applied only when no
    /// line was bad. Entries already in the bank are counted as duplicates.
    pub fn import(
        &mut self,
        bank: &str,
        entries: impl Iterator<Item = Result<NewEntry, LineError>>,
    ) -> Result<ImportReport, BankError> {
        dispatch!(mut self, s => s.import(bank, entries))
    }

    /// Calls `f` for every live entry of the given banks (all when empty), in
    /// the order they were imported, without holding them all in memory.
    pub fn for_each_entry(
        &self,
        banks: &[String],
        f: impl FnMut(Entry) -> Result<(), BankError>,
    ) -> Result<(), BankError> {
        dispatch!(self, s => s.for_each_entry(banks, f))
    }

    /// A counter that changes whenever the set of entries does.
    pub fn generation(&self) -> Result<u64, BankError> {
        dispatch!(self, s => s.generation())
    }

    /// The PDQ index over every bank's PDQ entries (ids are entry ids). The
    /// embedded store keeps it in a file beside the database, mapped (see
    /// the SQLite backend); PostgreSQL's is built in memory from one scan.
    pub fn pdq_index(&self) -> Result<index::HammingIndex, BankError> {
        dispatch!(self, s => s.pdq_index())
    }

    /// [`Store::pdq_index`], and for PostgreSQL every PDQ entry's bank from
    /// the same scan, so matching needs no round trip per hit to name it.
    pub(crate) fn pdq_index_and_banks(
        &self,
    ) -> Result<(index::HammingIndex, Option<crate::matcher::EntryBanks>), BankError> {
        match &self.backend {
            Backend::Sqlite(s) => Ok((s.pdq_index()?, None)),
            Backend::Postgres(s) => s.pdq_index_and_banks().map(|(index, banks)| (index, Some(banks))),
        }
    }

    /// Where the change feed stands now (see [`Store::changes_since`]).
    pub fn cursor(&self) -> Result<ChangeCursor, BankError> {
        dispatch!(self, s => s.cursor())
    }

    /// What changed since `since`: removals first, then additions, each as
    /// the entry stands now (an entry added and withdrawn in between only
    /// shows as removed). Applying them in order brings an index built at
    /// `since` to the returned cursor. This is how a running service sees
    /// changes made by other processes or replicas without reloading anything.
    pub fn changes_since(&self, since: &ChangeCursor) -> Result<(Vec<Change>, ChangeCursor), BankError> {
        dispatch!(self, s => s.changes_since(since))
    }

    /// The highest entry id ever given (0 when empty).
    pub fn max_entry_id(&self) -> Result<u32, BankError> {
        dispatch!(self, s => s.max_entry_id())
    }

    /// Withdraws one entry; false if there is no live entry with that id.
    pub fn remove_entry(&self, id: u32) -> Result<bool, BankError> {
        dispatch!(self, s => s.remove_entry(id))
    }

    /// The id of a live entry by bank, signal and normalised hash.
    pub fn entry_id(&self, bank: &str, signal: &str, hash: &str) -> Result<Option<u32>, BankError> {
        dispatch!(self, s => s.entry_id(bank, signal, hash))
    }

    /// Every live vPDQ entry: id, bank and frames.
    pub fn vpdq_entries(&self) -> Result<Vec<(u32, String, Vec<vpdq::Feature>)>, BankError> {
        dispatch!(self, s => s.vpdq_entries())
    }

    /// Ids and banks of the live entries carrying this digest (`signal` is md5, sha1 or sha256).
    pub fn lookup_digest(&self, signal: &str, hex: &str) -> Result<Vec<(u32, String)>, BankError> {
        dispatch!(self, s => s.lookup_digest(signal, hex))
    }

    /// The bank an entry belongs to.
    pub fn bank_of(&self, id: u32) -> Result<Option<String>, BankError> {
        dispatch!(self, s => s.bank_of(id))
    }

    /// One entry by id (withdrawn ones too).
    pub fn entry(&self, id: u32) -> Result<Option<Entry>, BankError> {
        dispatch!(self, s => s.entry(id))
    }

    /// Entries by id (withdrawn ones too) in no particular order, ids with
    /// no entry left out: one round trip to a shared store for them all.
    pub fn entries(&self, ids: &[u32]) -> Result<Vec<Entry>, BankError> {
        dispatch!(self, s => s.entries(ids))
    }

    /// A listener that wakes when another process changes the store, so a
    /// service applies changes at once instead of at its next poll. Only
    /// PostgreSQL has one (LISTEN/NOTIFY); the embedded store answers None.
    pub fn listen(location: &Location) -> Result<Option<ChangeListener>, BankError> {
        match location {
            Location::Dir(_) => Ok(None),
            Location::Postgres(url) => Ok(Some(ChangeListener(PgListener::connect(url)?))),
        }
    }
}

/// Wakes on changes to a shared store (see [`Store::listen`]).
pub struct ChangeListener(PgListener);

impl ChangeListener {
    /// Waits up to `timeout` for a change notice; true when one (or more) came.
    /// An error means the connection dropped: make a new listener.
    pub fn wait(&mut self, timeout: Duration) -> Result<bool, BankError> {
        self.0.wait(timeout)
    }
}
