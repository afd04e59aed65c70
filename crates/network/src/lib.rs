//! The sharing network of a case: who shared which known item, in which
//! group, when, and from which country.
//!
//! - [`import_chats`] parses chat exports ([`chats`]) into the case, hashes
//!   and matches their media through the case's scan pipeline, and links
//!   each message's attachment to its file and matches.
//! - [`import_pages`] records the invite links found in saved pages.
//! - [`resolve`] turns everything imported into one picture ([`Resolved`]):
//!   exports of the same group from several devices merged into one group
//!   with one record per real message (clocks reconciled), contact labels
//!   resolved to accounts keyed by E.164, memberships, shares of known
//!   items, invite links tied to groups. It is rebuilt from the raw imports
//!   every time, so the order of imports never changes the result, and
//!   written to the case's derived tables ([`store::persist`]).
//! - [`Network`] is the graph (petgraph) with per-account, per-item and
//!   per-group measures; [`output`] writes GEXF, GraphML, i2 CSV and JSON;
//!   [`referrals`] writes one package per country.
//!
//! Nothing here reads or writes image content beyond the scan's hashes:
//! outputs name files by path and SHA-256 only.

mod graph;
mod import;
pub mod output;
pub mod referrals;
mod resolve;
pub mod store;

pub use graph::{AccountStats, GroupStats, ItemStats, Network};
pub use import::{import_chats, import_pages, ImportOptions, ImportSummary, PagesSummary};
pub use resolve::{resolve, Account, ChatMessage, Group, Membership, Page, PageLink, Resolved, Share, ShareEvidence};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The case refused.
    #[error(transparent)]
    Case(#[from] case::CaseError),
    /// A chat export could not be read.
    #[error(transparent)]
    Chats(#[from] chats::Error),
    /// The bank store refused.
    #[error(transparent)]
    Banks(#[from] banks::BankError),
    /// The case database refused.
    #[error("case database: {0}")]
    Db(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// What happened.
        source: std::io::Error,
    },
    /// A bad argument (owner number, format).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Seconds since the epoch as RFC 3339 UTC.
pub fn iso(secs: i64) -> String {
    case::format_time(secs.saturating_mul(1_000_000_000))
}
