//! Hash banks: named lists of known hashes with their categories, kept in an
//! embedded store, imported from and exported to the formats the field
//! uses, and matched against.
//!
//! Nothing an imported list says is thrown away: unknown hash types are kept
//! by name, and every source field goes into the entry's `raw` record, from
//! which exports rebuild what came in.

pub mod formats;
mod matcher;
mod model;
mod pg;
mod pg_tls;
mod sqlite;
mod store;
#[doc(hidden)]
pub mod testing;

use std::path::Path;

pub use formats::{Format, LineError, ReadOptions};
pub use matcher::{Compacted, MatchHit, MatchOptions, Matcher, Query};
pub use model::{BankInfo, BankKind, Entry, NewEntry, Signal};
pub use pg::{connect as connect_postgres, ensure_schema as ensure_postgres_schema};
pub use store::{
    BankOptions, Change, ChangeCursor, ChangeListener, ImportReport, Location, Store, MAX_REPORTED_ERRORS,
};

/// What can go wrong with banks.
#[derive(Debug, thiserror::Error)]
pub enum BankError {
    /// A file or folder could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// What happened.
        source: std::io::Error,
    },
    /// The database refused.
    #[error("{path}: database error: {source}")]
    Db {
        /// The database file.
        path: String,
        /// What happened.
        source: rusqlite::Error,
    },
    /// The PostgreSQL store refused or could not be reached.
    #[error("{location}: {message}")]
    Postgres {
        /// The connection string, password hidden.
        location: String,
        /// What happened, with the server's own message.
        message: String,
    },
    /// No bank of that name.
    #[error("no bank named {0:?}")]
    NoSuchBank(String),
    /// A bank of that name exists.
    #[error("a bank named {0:?} exists already")]
    Exists(String),
    /// Not a usable bank name.
    #[error("{0:?} is not a usable bank name")]
    BadName(String),
    /// The PDQ index file could not be written or read.
    #[error("PDQ index: {0}")]
    Index(String),
}

impl BankError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        BankError::Io {
            path: path.display().to_string(),
            source,
        }
    }
    pub(crate) fn pg(url: &str, e: postgres::Error) -> Self {
        use std::error::Error as _;
        let message = match e.as_db_error() {
            Some(db) => match db.detail() {
                Some(detail) => format!("database error: {} ({detail})", db.message()),
                None => format!("database error: {}", db.message()),
            },
            None => match e.source() {
                Some(source) => format!("{e}: {source}"),
                None => e.to_string(),
            },
        };
        BankError::Postgres {
            location: pg::redact(url),
            message,
        }
    }
    pub(crate) fn db(path: &Path, source: rusqlite::Error) -> Self {
        BankError::Db {
            path: path.display().to_string(),
            source,
        }
    }
}
