//! The service's own database beside the banks (`service.sqlite` in the
//! store directory): API tokens, kept only as SHA-256 digests, and the
//! audit chain of every curate and admin action.
//!
//! The audit log is append-only and hash-chained: each record carries the
//! SHA-256 of the previous record's hash and its own fields, so removing,
//! reordering or editing any record breaks every hash after it, which
//! [`ServiceDb::verify_audit`] reports.

use std::io::Read;
use std::path::{Path, PathBuf};

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
    /// No randomness for a token.
    #[error("reading /dev/urandom: {0}")]
    Random(std::io::Error),
}

/// The service database.
pub struct ServiceDb {
    path: PathBuf,
    pub(crate) db: Connection,
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
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
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
                 BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
        )
        .map_err(err)?;
        Ok(ServiceDb { path, db })
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> ServiceDbError {
        ServiceDbError::Db {
            path: self.path.display().to_string(),
            source: e,
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
        self.db
            .execute(
                "INSERT INTO tokens (digest, scopes, note, created) VALUES (?1, ?2, ?3, ?4)",
                params![sha256_hex(token.as_bytes()), names.join(","), note, now()],
            )
            .map_err(|e| self.err(e))?;
        let id = self.db.last_insert_rowid();
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
        self.db
            .query_row(
                "SELECT id, scopes, note FROM tokens WHERE digest = ?1 AND revoked IS NULL",
                [digest],
                |r| {
                    let scopes: String = r.get(1)?;
                    Ok(TokenInfo {
                        id: r.get(0)?,
                        scopes: scopes.split(',').filter_map(Scope::parse).collect(),
                        note: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Revokes a token; false if there was none live with that id.
    pub fn revoke_token(&self, id: i64) -> Result<bool, ServiceDbError> {
        let n = self
            .db
            .execute(
                "UPDATE tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
                params![id, now()],
            )
            .map_err(|e| self.err(e))?;
        if n > 0 {
            self.audit(0, "token.revoke", &format!("token {id}"), &serde_json::json!({}))?;
        }
        Ok(n > 0)
    }

    /// Appends a record to the audit chain.
    pub fn audit(
        &self,
        token: i64,
        action: &str,
        target: &str,
        detail: &serde_json::Value,
    ) -> Result<(), ServiceDbError> {
        let detail = detail.to_string();
        self.db.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.err(e))?;
        let result = (|| {
            let (last_seq, prev): (i64, String) = self
                .db
                .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(|e| self.err(e))?
                .unwrap_or((0, String::new()));
            let seq = last_seq + 1;
            let at = now();
            let hash = chain_hash(&prev, seq, at, token, action, target, &detail);
            self.db
                .execute(
                    "INSERT INTO audit (seq, at, token, action, target, detail, prev, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![seq, at, token, action, target, detail, prev, hash],
                )
                .map_err(|e| self.err(e))?;
            Ok(())
        })();
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        self.db.execute_batch(end).map_err(|e| self.err(e))?;
        result
    }

    /// Every audit record, in order.
    pub fn audit_records(&self) -> Result<Vec<AuditRecord>, ServiceDbError> {
        let mut stmt = self
            .db
            .prepare("SELECT seq, at, token, action, target, detail, prev, hash FROM audit ORDER BY seq")
            .map_err(|e| self.err(e))?;
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
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Checks the whole chain: the number of records when intact, else the
    /// first broken record and why.
    pub fn verify_audit(&self) -> Result<Result<usize, (i64, String)>, ServiceDbError> {
        Ok(verify_chain(&self.audit_records()?))
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
            db.db.execute("DELETE FROM audit WHERE seq = 2", []).is_err(),
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
