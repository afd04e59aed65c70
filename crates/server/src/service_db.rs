//! The service's own database beside the banks (`service.sqlite` in the
//! store directory, or the same PostgreSQL database as a shared store, so
//! every replica knows the same tokens): API tokens, kept only as SHA-256
//! digests, the audit chain of every curate and admin action, and what
//! HMA's API keeps beside the hashes (bank ratios, content notes and
//! enablement, which entries make one content item).
//!
//! The audit log is append-only and hash-chained: each record carries the
//! SHA-256 of the previous record's hash and its own fields, so removing,
//! reordering or editing any record breaks every hash after it, which
//! [`ServiceDb::verify_audit`] reports.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use banks::Location;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Hash uploads.
    Hash,
    /// Look hashes and uploads up.
    Match,
    /// Change banks and their entries.
    Curate,
    /// Everything.
    Admin,
}

impl Scope {
    /// Parses hash, match, curate or admin.
    pub fn parse(name: &str) -> Option<Scope> {
        match name {
            "hash" => Some(Scope::Hash),
            "match" => Some(Scope::Match),
            "curate" => Some(Scope::Curate),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Hash => "hash",
            Scope::Match => "match",
            Scope::Curate => "curate",
            Scope::Admin => "admin",
        }
    }
}

/// A token as the server knows it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Its number.
    pub id: i64,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// A note for people.
    pub note: Option<String>,
}

impl TokenInfo {
    /// Whether it grants `scope` (admin grants everything).
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.iter().any(|s| *s == scope || *s == Scope::Admin)
    }
}

/// Errors of the service database.
#[derive(Debug, thiserror::Error)]
pub enum ServiceDbError {
    /// SQLite refused.
    #[error("{path}: database error: {source}")]
    Db {
        /// The file.
        path: String,
        /// Why.
        source: rusqlite::Error,
    },
    /// PostgreSQL refused or could not be reached.
    #[error("{location}: {message}")]
    Postgres {
        /// The connection string, password hidden.
        location: String,
        /// Why, with the server's own message.
        message: String,
    },
    /// No randomness for a token.
    #[error("reading /dev/urandom: {0}")]
    Random(std::io::Error),
}

/// An HMA content item: one upload or signal set added to a bank, made of
/// one or more entries, with HMA's note, enablement and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentRecord {
    /// HMA's content id (the id of its first entry).
    pub id: u32,
    /// Its bank.
    pub bank: String,
    /// HMA's note.
    pub note: Option<String>,
    /// 0: disabled, 1: enabled, else enabled from this time (seconds).
    pub disable_until_ts: i64,
    /// The user metadata, as JSON text.
    pub metadata: Option<String>,
    /// The signals by HMA type, as a JSON object.
    pub signals: String,
}

#[allow(clippy::large_enum_variant)] // one value per process: boxing would buy nothing
enum Backend {
    Sqlite {
        path: String,
        db: Connection,
    },
    Postgres {
        location: String,
        db: RefCell<postgres::Client>,
        /// The lookups every matching request makes, prepared once.
        prepared: RefCell<HashMap<&'static str, postgres::Statement>>,
    },
}

/// The service database.
pub struct ServiceDb {
    backend: Backend,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When, seconds since the epoch.
    pub at: i64,
    /// The token that acted (0: the command line).
    pub token: i64,
    /// What was done (bank.create, entries.add, token.create, ...).
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// Details (JSON).
    pub detail: String,
    /// The previous record's hash.
    pub prev: String,
    /// SHA-256 of prev and this record's fields.
    pub hash: String,
}

fn chain_hash(prev: &str, seq: i64, at: i64, token: i64, action: &str, target: &str, detail: &str) -> String {
    // Fields are length-prefixed so no two different records hash alike.
    let mut text = String::new();
    for field in [
        prev,
        &seq.to_string(),
        &at.to_string(),
        &token.to_string(),
        action,
        target,
        detail,
    ] {
        text.push_str(&format!("{}:{field};", field.len()));
    }
    sha256_hex(text.as_bytes())
}

const SQLITE_SCHEMA: &str = "PRAGMA journal_mode = WAL;
     CREATE TABLE IF NOT EXISTS tokens (
         id INTEGER PRIMARY KEY,
         digest TEXT NOT NULL UNIQUE,
         scopes TEXT NOT NULL,
         note TEXT,
         created INTEGER NOT NULL,
         revoked INTEGER);
     CREATE TABLE IF NOT EXISTS audit (
         seq INTEGER PRIMARY KEY,
         at INTEGER NOT NULL,
         token INTEGER NOT NULL,
         action TEXT NOT NULL,
         target TEXT NOT NULL,
         detail TEXT NOT NULL,
         prev TEXT NOT NULL,
         hash TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS hma_banks (name TEXT PRIMARY KEY, enabled_ratio REAL NOT NULL);
     CREATE TABLE IF NOT EXISTS hma_content (
         id INTEGER PRIMARY KEY,
         bank TEXT NOT NULL,
         note TEXT,
         disable_until_ts INTEGER NOT NULL DEFAULT 1,
         metadata TEXT,
         signals TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS hma_signals (entry INTEGER PRIMARY KEY, content INTEGER NOT NULL);
     CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
     CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;";

/// The same tables in the shared store's schema. The audit table refuses
/// UPDATE, DELETE and TRUNCATE through triggers, as in SQLite.
const POSTGRES_SCHEMA: &str = "
CREATE SCHEMA IF NOT EXISTS tantalum;
CREATE TABLE IF NOT EXISTS tantalum.tokens (
    id BIGSERIAL PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    note TEXT,
    created BIGINT NOT NULL,
    revoked BIGINT);
CREATE TABLE IF NOT EXISTS tantalum.audit (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    token BIGINT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tantalum.hma_banks (name TEXT PRIMARY KEY, enabled_ratio DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS tantalum.hma_content (
    id BIGINT PRIMARY KEY,
    bank TEXT NOT NULL,
    note TEXT,
    disable_until_ts BIGINT NOT NULL DEFAULT 1,
    metadata TEXT,
    signals TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tantalum.hma_signals (entry BIGINT PRIMARY KEY, content BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS hma_signals_content ON tantalum.hma_signals(content);
CREATE OR REPLACE FUNCTION tantalum.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
DROP TRIGGER IF EXISTS audit_no_change ON tantalum.audit;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON tantalum.audit
    FOR EACH ROW EXECUTE FUNCTION tantalum.audit_append_only();
DROP TRIGGER IF EXISTS audit_no_truncate ON tantalum.audit;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON tantalum.audit
    FOR EACH STATEMENT EXECUTE FUNCTION tantalum.audit_append_only();
";

/// Serialises schema set-up and audit appends across processes (an arbitrary constant: "tnta").
const SERVICE_LOCK: i64 = 0x746e_7461;

fn pg_message(e: &postgres::Error) -> String {
    use std::error::Error as _;
    match e.as_db_error() {
        Some(db) => format!("database error: {}", db.message()),
        None => match e.source() {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

impl ServiceDb {
    /// Opens (creating) `service.sqlite` in the store directory.
    pub fn open(store_dir: &Path) -> Result<ServiceDb, ServiceDbError> {
        let path = store_dir.join("service.sqlite");
        let err = |e| ServiceDbError::Db {
            path: path.display().to_string(),
            source: e,
        };
        std::fs::create_dir_all(store_dir).ok();
        let db = Connection::open(&path).map_err(err)?;
        db.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        db.execute_batch(SQLITE_SCHEMA).map_err(err)?;
        Ok(ServiceDb {
            backend: Backend::Sqlite {
                path: path.display().to_string(),
                db,
            },
        })
    }

    /// Opens the service tables beside the bank store at `location`: a
    /// `service.sqlite` in its directory, or the shared PostgreSQL database.
    pub fn open_at(location: &Location) -> Result<ServiceDb, ServiceDbError> {
        let url = match location {
            Location::Dir(dir) => return ServiceDb::open(dir),
            Location::Postgres(url) => url,
        };
        let shown = location.to_string();
        let err = |e: postgres::Error| ServiceDbError::Postgres {
            location: shown.clone(),
            message: pg_message(&e),
        };
        let mut db = banks::connect_postgres(url, "tantalum-service").map_err(|e| ServiceDbError::Postgres {
            location: shown.clone(),
            message: match e {
                banks::BankError::Postgres { message, .. } => message,
                other => other.to_string(),
            },
        })?;
        banks::ensure_postgres_schema(&mut db, "service", 1, POSTGRES_SCHEMA).map_err(err)?;
        Ok(ServiceDb {
            backend: Backend::Postgres {
                location: shown,
                db: RefCell::new(db),
                prepared: RefCell::new(HashMap::new()),
            },
        })
    }

    fn sqlite_err(path: &str, e: rusqlite::Error) -> ServiceDbError {
        ServiceDbError::Db {
            path: path.to_string(),
            source: e,
        }
    }

    fn pg_err(location: &str, e: postgres::Error) -> ServiceDbError {
        ServiceDbError::Postgres {
            location: location.to_string(),
            message: pg_message(&e),
        }
    }

    /// Creates a token with these scopes; returns its id and the token,
    /// which is shown once and stored only as a digest.
    pub fn create_token(&self, scopes: &[Scope], note: Option<&str>) -> Result<(i64, String), ServiceDbError> {
        let mut random = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut random))
            .map_err(ServiceDbError::Random)?;
        let token = format!("tnt_{}", random.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let names: Vec<&str> = scopes.iter().map(|s| s.name()).collect();
        let digest = sha256_hex(token.as_bytes());
        let scopes_text = names.join(",");
        let id = match &self.backend {
            Backend::Sqlite { path, db } => {
                db.execute(
                    "INSERT INTO tokens (digest, scopes, note, created) VALUES (?1, ?2, ?3, ?4)",
                    params![digest, scopes_text, note, now()],
                )
                .map_err(|e| Self::sqlite_err(path, e))?;
                db.last_insert_rowid()
            }
            Backend::Postgres { location, db, .. } => db
                .borrow_mut()
                .query_one(
                    "INSERT INTO tantalum.tokens (digest, scopes, note, created) VALUES ($1, $2, $3, $4) RETURNING id",
                    &[&digest, &scopes_text, &note, &now()],
                )
                .map_err(|e| Self::pg_err(location, e))?
                .get(0),
        };
        self.audit(
            0,
            "token.create",
            &format!("token {id}"),
            &serde_json::json!({"scopes": names}),
        )?;
        Ok((id, token))
    }

    /// The token presented, if it is known and not revoked.
    pub fn token(&self, presented: &str) -> Result<Option<TokenInfo>, ServiceDbError> {
        let digest = sha256_hex(presented.as_bytes());
        let row: Option<(i64, String, Option<String>)> = match &self.backend {
            Backend::Sqlite { path, db } => db
                .query_row(
                    "SELECT id, scopes, note FROM tokens WHERE digest = ?1 AND revoked IS NULL",
                    [digest],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(|e| Self::sqlite_err(path, e))?,
            Backend::Postgres { .. } => self
                .pg_query(
                    "SELECT id, scopes, note FROM tantalum.tokens WHERE digest = $1 AND revoked IS NULL",
                    &[&digest],
                )?
                .first()
                .map(|r| (r.get(0), r.get(1), r.get(2))),
        };
        Ok(row.map(|(id, scopes, note)| TokenInfo {
            id,
            scopes: scopes.split(',').filter_map(Scope::parse).collect(),
            note,
        }))
    }

    /// Revokes a token; false if there was none live with that id.
    pub fn revoke_token(&self, id: i64) -> Result<bool, ServiceDbError> {
        let n = match &self.backend {
            Backend::Sqlite { path, db } => db
                .execute(
                    "UPDATE tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
                    params![id, now()],
                )
                .map_err(|e| Self::sqlite_err(path, e))? as u64,
            Backend::Postgres { location, db, .. } => db
                .borrow_mut()
                .execute(
                    "UPDATE tantalum.tokens SET revoked = $2 WHERE id = $1 AND revoked IS NULL",
                    &[&id, &now()],
                )
                .map_err(|e| Self::pg_err(location, e))?,
        };
        if n > 0 {
            self.audit(0, "token.revoke", &format!("token {id}"), &serde_json::json!({}))?;
        }
        Ok(n > 0)
    }

    /// Appends a record to the audit chain. Appends are serialised (SQLite's
    /// write lock; an advisory lock on PostgreSQL) so replicas writing at
    /// once still make one unbroken chain.
    pub fn audit(
        &self,
        token: i64,
        action: &str,
        target: &str,
        detail: &serde_json::Value,
    ) -> Result<(), ServiceDbError> {
        let detail = detail.to_string();
        let at = now();
        match &self.backend {
            Backend::Sqlite { path, db } => {
                let err = |e| Self::sqlite_err(path, e);
                db.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
                let result = (|| {
                    let (last_seq, prev): (i64, String) = db
                        .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .optional()?
                        .unwrap_or((0, String::new()));
                    let seq = last_seq + 1;
                    let hash = chain_hash(&prev, seq, at, token, action, target, &detail);
                    db.execute(
                        "INSERT INTO audit (seq, at, token, action, target, detail, prev, hash)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![seq, at, token, action, target, detail, prev, hash],
                    )?;
                    Ok(())
                })();
                let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
                db.execute_batch(end).map_err(err)?;
                result.map_err(err)
            }
            Backend::Postgres { location, db, .. } => {
                let err = |e| Self::pg_err(location, e);
                let mut db = db.borrow_mut();
                let mut tx = db.transaction().map_err(err)?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SERVICE_LOCK])
                    .map_err(err)?;
                let (last_seq, prev): (i64, String) = tx
                    .query_opt("SELECT seq, hash FROM tantalum.audit ORDER BY seq DESC LIMIT 1", &[])
                    .map_err(err)?
                    .map(|r| (r.get(0), r.get(1)))
                    .unwrap_or((0, String::new()));
                let seq = last_seq + 1;
                let hash = chain_hash(&prev, seq, at, token, action, target, &detail);
                tx.execute(
                    "INSERT INTO tantalum.audit (seq, at, token, action, target, detail, prev, hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[&seq, &at, &token, &action, &target, &detail, &prev, &hash],
                )
                .map_err(err)?;
                tx.commit().map_err(err)
            }
        }
    }

    /// Every audit record, in order.
    pub fn audit_records(&self) -> Result<Vec<AuditRecord>, ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => {
                let err = |e| Self::sqlite_err(path, e);
                let mut stmt = db
                    .prepare("SELECT seq, at, token, action, target, detail, prev, hash FROM audit ORDER BY seq")
                    .map_err(err)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok(AuditRecord {
                            seq: r.get(0)?,
                            at: r.get(1)?,
                            token: r.get(2)?,
                            action: r.get(3)?,
                            target: r.get(4)?,
                            detail: r.get(5)?,
                            prev: r.get(6)?,
                            hash: r.get(7)?,
                        })
                    })
                    .map_err(err)?;
                rows.collect::<Result<_, _>>().map_err(err)
            }
            Backend::Postgres { location, db, .. } => {
                let rows = db
                    .borrow_mut()
                    .query(
                        "SELECT seq, at, token, action, target, detail, prev, hash FROM tantalum.audit ORDER BY seq",
                        &[],
                    )
                    .map_err(|e| Self::pg_err(location, e))?;
                Ok(rows
                    .iter()
                    .map(|r| AuditRecord {
                        seq: r.get(0),
                        at: r.get(1),
                        token: r.get(2),
                        action: r.get(3),
                        target: r.get(4),
                        detail: r.get(5),
                        prev: r.get(6),
                        hash: r.get(7),
                    })
                    .collect())
            }
        }
    }

    /// Checks the whole chain: the number of records when intact, else the
    /// first broken record and why.
    pub fn verify_audit(&self) -> Result<Result<usize, (i64, String)>, ServiceDbError> {
        Ok(verify_chain(&self.audit_records()?))
    }

    /// HMA's matching ratio of a bank (None: never set, which means 1).
    pub fn hma_bank_ratio(&self, bank: &str) -> Result<Option<f64>, ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => db
                .query_row("SELECT enabled_ratio FROM hma_banks WHERE name = ?1", [bank], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(|e| Self::sqlite_err(path, e)),
            Backend::Postgres { .. } => Ok(self
                .pg_query("SELECT enabled_ratio FROM tantalum.hma_banks WHERE name = $1", &[&bank])?
                .first()
                .map(|r| r.get(0))),
        }
    }

    /// Sets HMA's matching ratio of a bank.
    pub fn set_hma_bank_ratio(&self, bank: &str, ratio: f64) -> Result<(), ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => db
                .execute(
                    "INSERT OR REPLACE INTO hma_banks (name, enabled_ratio) VALUES (?1, ?2)",
                    params![bank, ratio],
                )
                .map(drop)
                .map_err(|e| Self::sqlite_err(path, e)),
            Backend::Postgres { location, db, .. } => db
                .borrow_mut()
                .execute(
                    "INSERT INTO tantalum.hma_banks (name, enabled_ratio) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET enabled_ratio = excluded.enabled_ratio",
                    &[&bank, &ratio],
                )
                .map(drop)
                .map_err(|e| Self::pg_err(location, e)),
        }
    }

    /// Follows a bank rename: its ratio is reset (HMA's rename keeps the
    /// ratio given with it, set next) and its content moves with it.
    pub fn rename_hma_bank(&self, from: &str, to: &str) -> Result<(), ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => db
                .execute("DELETE FROM hma_banks WHERE name = ?1", [from])
                .and_then(|_| db.execute("UPDATE hma_content SET bank = ?2 WHERE bank = ?1", [from, to]))
                .map(drop)
                .map_err(|e| Self::sqlite_err(path, e)),
            Backend::Postgres { .. } => self.pg_transaction(|tx| {
                tx.execute("DELETE FROM tantalum.hma_banks WHERE name = $1", &[&from])?;
                tx.execute(
                    "UPDATE tantalum.hma_content SET bank = $2 WHERE bank = $1",
                    &[&from, &to],
                )?;
                Ok(())
            }),
        }
    }

    /// Forgets a deleted bank's ratio and content.
    pub fn forget_hma_bank(&self, bank: &str) -> Result<(), ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => db
                .execute("DELETE FROM hma_banks WHERE name = ?1", [bank])
                .and_then(|_| db.execute("DELETE FROM hma_content WHERE bank = ?1", [bank]))
                .map(drop)
                .map_err(|e| Self::sqlite_err(path, e)),
            Backend::Postgres { .. } => self.pg_transaction(|tx| {
                tx.execute("DELETE FROM tantalum.hma_banks WHERE name = $1", &[&bank])?;
                tx.execute("DELETE FROM tantalum.hma_content WHERE bank = $1", &[&bank])?;
                Ok(())
            }),
        }
    }

    /// Records (or replaces) a content item and which entries belong to it.
    pub fn put_content(&self, content: &ContentRecord, entries: &[u32]) -> Result<(), ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => (|| {
                db.execute(
                    "INSERT OR REPLACE INTO hma_content (id, bank, note, disable_until_ts, metadata, signals)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        content.id,
                        content.bank,
                        content.note,
                        content.disable_until_ts,
                        content.metadata,
                        content.signals
                    ],
                )?;
                for entry in entries {
                    db.execute(
                        "INSERT OR REPLACE INTO hma_signals (entry, content) VALUES (?1, ?2)",
                        params![entry, content.id],
                    )?;
                }
                Ok(())
            })()
            .map_err(|e| Self::sqlite_err(path, e)),
            Backend::Postgres { .. } => self.pg_transaction(|tx| {
                tx.execute(
                    "INSERT INTO tantalum.hma_content (id, bank, note, disable_until_ts, metadata, signals)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (id) DO UPDATE SET bank = excluded.bank, note = excluded.note,
                         disable_until_ts = excluded.disable_until_ts, metadata = excluded.metadata,
                         signals = excluded.signals",
                    &[
                        &(content.id as i64),
                        &content.bank,
                        &content.note,
                        &content.disable_until_ts,
                        &content.metadata,
                        &content.signals,
                    ],
                )?;
                for entry in entries {
                    tx.execute(
                        "INSERT INTO tantalum.hma_signals (entry, content) VALUES ($1, $2)
                         ON CONFLICT (entry) DO UPDATE SET content = excluded.content",
                        &[&(*entry as i64), &(content.id as i64)],
                    )?;
                }
                Ok(())
            }),
        }
    }

    /// The content item an entry belongs to and its `disable_until_ts`
    /// (None for entries added outside HMA's API).
    pub fn content_of_entry(&self, entry: u32) -> Result<(Option<u32>, Option<i64>), ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => (|| {
                let content: Option<u32> = db
                    .prepare_cached("SELECT content FROM hma_signals WHERE entry = ?1")?
                    .query_row([entry], |r| r.get(0))
                    .optional()?;
                let disable: Option<i64> = db
                    .prepare_cached("SELECT disable_until_ts FROM hma_content WHERE id = ?1")?
                    .query_row([content.unwrap_or(entry)], |r| r.get(0))
                    .optional()?;
                Ok((content, disable))
            })()
            .map_err(|e| Self::sqlite_err(path, e)),
            Backend::Postgres { .. } => {
                let rows = self.pg_query(
                    "SELECT s.content, c.disable_until_ts FROM (SELECT $1::BIGINT AS entry) q
                     LEFT JOIN tantalum.hma_signals s ON s.entry = q.entry
                     LEFT JOIN tantalum.hma_content c ON c.id = COALESCE(s.content, q.entry)",
                    &[&(entry as i64)],
                )?;
                let Some(row) = rows.first() else {
                    return Ok((None, None));
                };
                let content: Option<i64> = row.get(0);
                Ok((content.map(|c| c as u32), row.get(1)))
            }
        }
    }

    /// One content item.
    pub fn content(&self, id: u32) -> Result<Option<ContentRecord>, ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => db
                .query_row(
                    "SELECT bank, note, disable_until_ts, metadata, signals FROM hma_content WHERE id = ?1",
                    [id],
                    |r| {
                        Ok(ContentRecord {
                            id,
                            bank: r.get(0)?,
                            note: r.get(1)?,
                            disable_until_ts: r.get(2)?,
                            metadata: r.get(3)?,
                            signals: r.get(4)?,
                        })
                    },
                )
                .optional()
                .map_err(|e| Self::sqlite_err(path, e)),
            Backend::Postgres { location, db, .. } => db
                .borrow_mut()
                .query_opt(
                    "SELECT bank, note, disable_until_ts, metadata, signals FROM tantalum.hma_content WHERE id = $1",
                    &[&(id as i64)],
                )
                .map(|r| {
                    r.map(|r| ContentRecord {
                        id,
                        bank: r.get(0),
                        note: r.get(1),
                        disable_until_ts: r.get(2),
                        metadata: r.get(3),
                        signals: r.get(4),
                    })
                })
                .map_err(|e| Self::pg_err(location, e)),
        }
    }

    /// The entries that make up a content item.
    pub fn content_entries(&self, id: u32) -> Result<Vec<u32>, ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => (|| {
                let mut stmt = db.prepare("SELECT entry FROM hma_signals WHERE content = ?1 ORDER BY entry")?;
                let rows = stmt.query_map([id], |r| r.get::<_, u32>(0))?;
                rows.collect::<Result<Vec<_>, _>>()
            })()
            .map_err(|e| Self::sqlite_err(path, e)),
            Backend::Postgres { location, db, .. } => db
                .borrow_mut()
                .query(
                    "SELECT entry FROM tantalum.hma_signals WHERE content = $1 ORDER BY entry",
                    &[&(id as i64)],
                )
                .map(|rows| rows.iter().map(|r| r.get::<_, i64>(0) as u32).collect())
                .map_err(|e| Self::pg_err(location, e)),
        }
    }

    /// Forgets a content item (its entries are withdrawn from the banks separately).
    pub fn delete_content(&self, id: u32) -> Result<(), ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => db
                .execute("DELETE FROM hma_content WHERE id = ?1", [id])
                .map(drop)
                .map_err(|e| Self::sqlite_err(path, e)),
            Backend::Postgres { location, db, .. } => db
                .borrow_mut()
                .execute("DELETE FROM tantalum.hma_content WHERE id = $1", &[&(id as i64)])
                .map(drop)
                .map_err(|e| Self::pg_err(location, e)),
        }
    }

    /// Runs `f` in one PostgreSQL transaction.
    fn pg_transaction(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<(), postgres::Error>,
    ) -> Result<(), ServiceDbError> {
        let Backend::Postgres { location, db, .. } = &self.backend else {
            unreachable!("only called on the PostgreSQL backend");
        };
        let mut db = db.borrow_mut();
        (|| {
            let mut tx = db.transaction()?;
            f(&mut tx)?;
            tx.commit()
        })()
        .map_err(|e| Self::pg_err(location, e))
    }

    /// Runs a hot-path query through a statement prepared once per connection.
    fn pg_query(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, ServiceDbError> {
        let Backend::Postgres { location, db, prepared } = &self.backend else {
            unreachable!("only called on the PostgreSQL backend");
        };
        let err = |e| Self::pg_err(location, e);
        let mut db = db.borrow_mut();
        let statement = match prepared.borrow().get(sql) {
            Some(s) => s.clone(),
            None => db.prepare(sql).map_err(err)?,
        };
        prepared.borrow_mut().insert(sql, statement.clone());
        db.query(&statement, params).map_err(err)
    }

    /// Whether the connection still answers (a round trip for PostgreSQL;
    /// always true for SQLite): after a failed call, tells a dead connection
    /// from a refused statement.
    pub fn is_alive(&self) -> bool {
        match &self.backend {
            Backend::Sqlite { .. } => true,
            Backend::Postgres { db, .. } => {
                let mut db = db.borrow_mut();
                !db.is_closed() && db.simple_query("SELECT 1").is_ok()
            }
        }
    }

    #[cfg(test)]
    fn raw_execute(&self, sql: &str) -> Result<(), ServiceDbError> {
        match &self.backend {
            Backend::Sqlite { path, db } => db.execute_batch(sql).map_err(|e| Self::sqlite_err(path, e)),
            Backend::Postgres { location, db, .. } => db
                .borrow_mut()
                .batch_execute(sql)
                .map_err(|e| Self::pg_err(location, e)),
        }
    }
}

/// Checks a chain of records (see [`ServiceDb::verify_audit`]).
pub fn verify_chain(records: &[AuditRecord]) -> Result<usize, (i64, String)> {
    let mut prev = String::new();
    for (i, r) in records.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if r.seq != expected_seq {
            return Err((r.seq, format!("expected record {expected_seq}: a record is missing")));
        }
        if r.prev != prev {
            return Err((r.seq, "does not follow the record before it".into()));
        }
        let hash = chain_hash(&r.prev, r.seq, r.at, r.token, &r.action, &r.target, &r.detail);
        if hash != r.hash {
            return Err((r.seq, "its content does not match its hash (edited)".into()));
        }
        prev = r.hash.clone();
    }
    Ok(records.len())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_as_digests_and_scoped() {
        let dir = tempfile::tempdir().unwrap();
        let db = ServiceDb::open(dir.path()).unwrap();
        let (id, token) = db.create_token(&[Scope::Match], Some("uploads")).unwrap();
        assert!(token.starts_with("tnt_") && token.len() == 68);
        let info = db.token(&token).unwrap().unwrap();
        assert_eq!(info.id, id);
        assert!(info.allows(Scope::Match) && !info.allows(Scope::Curate));
        assert!(db.token("tnt_wrong").unwrap().is_none());
        let raw = std::fs::read(dir.path().join("service.sqlite")).unwrap();
        assert!(
            !raw.windows(token.len()).any(|w| w == token.as_bytes()),
            "never stored in clear"
        );
        assert!(db.revoke_token(id).unwrap());
        assert!(db.token(&token).unwrap().is_none());
    }

    #[test]
    fn the_audit_chain_detects_edits_and_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let db = ServiceDb::open(dir.path()).unwrap();
        for i in 0..5 {
            db.audit(1, "entries.add", "bank X", &serde_json::json!({"n": i}))
                .unwrap();
        }
        assert_eq!(db.verify_audit().unwrap(), Ok(5));
        assert!(
            db.raw_execute("DELETE FROM audit WHERE seq = 2").is_err(),
            "append-only"
        );
        let mut records = db.audit_records().unwrap();
        records[2].detail = "{\"n\":99}".into();
        assert_eq!(verify_chain(&records).unwrap_err().0, 3);
        let mut records = db.audit_records().unwrap();
        records.remove(1);
        assert_eq!(verify_chain(&records).unwrap_err().0, 3);
    }
}
