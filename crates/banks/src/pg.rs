//! The shared store: the same tables as the embedded store, in a
//! `tantalum` schema of a PostgreSQL database, so any number of processes
//! and service replicas work on one set of banks.
//!
//! Every write takes one transaction-scoped advisory lock. Writers are few
//! (curators, imports) and serialising them is what keeps the change feed
//! exact: sequence numbers are then handed out in commit order, so a reader
//! that has seen sequence N has seen everything below it. Each write ends
//! with a NOTIFY, which replicas listening on their own connection take as
//! the cue to read the feed at once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Statement, Transaction};

use crate::formats::LineError;
use crate::model::{BankInfo, BankKind, Entry, NewEntry};
use crate::sqlite::{kind_name, now};
use crate::store::{read_list, BankOptions, Change, ChangeCursor, ImportReport};
use crate::BankError;

/// The channel replicas LISTEN on.
pub(crate) const CHANNEL: &str = "tantalum_changes";

/// The advisory lock every writer takes (an arbitrary constant: "tntl").
const WRITE_LOCK: i64 = 0x746e_746c;

/// Entries fetched per round trip when walking a bank.
const PAGE: i64 = 10_000;

const SCHEMA: &str = "
CREATE SCHEMA IF NOT EXISTS tantalum;
CREATE TABLE IF NOT EXISTS tantalum.banks (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    suppress BOOLEAN NOT NULL,
    max_distance INTEGER NOT NULL,
    quality_floor INTEGER NOT NULL,
    created BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS tantalum.entries (
    id BIGINT PRIMARY KEY,
    bank TEXT NOT NULL REFERENCES tantalum.banks(name) ON DELETE CASCADE ON UPDATE CASCADE,
    signal TEXT NOT NULL,
    hash TEXT NOT NULL,
    categories TEXT NOT NULL,
    external_id TEXT,
    source TEXT,
    raw TEXT NOT NULL,
    added BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    removed BIGINT,
    UNIQUE (signal, hash, bank));
CREATE INDEX IF NOT EXISTS entries_seq ON tantalum.entries(seq);
CREATE INDEX IF NOT EXISTS entries_bank_external ON tantalum.entries(bank, external_id);
CREATE TABLE IF NOT EXISTS tantalum.meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS tantalum.removals (seq BIGSERIAL PRIMARY KEY, id BIGINT NOT NULL);
INSERT INTO tantalum.meta (key, value) VALUES ('generation', 0), ('last_id', 0) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION tantalum.entry_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.removed IS NULL THEN INSERT INTO tantalum.removals (id) VALUES (OLD.id); END IF;
        RETURN OLD;
    END IF;
    IF NEW.removed IS NOT NULL AND OLD.removed IS NULL THEN
        INSERT INTO tantalum.removals (id) VALUES (OLD.id);
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS entry_removed ON tantalum.entries;
CREATE TRIGGER entry_removed AFTER UPDATE OF removed OR DELETE ON tantalum.entries
    FOR EACH ROW EXECUTE FUNCTION tantalum.entry_removed();
";

/// Makes a part of the schema (`ddl`, idempotent) unless it is already at
/// `version`. The check is one read, so opening a store costs no DDL: the
/// DDL's table locks (a trigger's replacement locks its table outright)
/// would otherwise stall every replica's lookups whenever any command
/// opened the store during a long read. Concurrent first opens take turns
/// under the writers' lock and the second finds the work done.
pub fn ensure_schema(client: &mut Client, part: &str, version: i64, ddl: &str) -> Result<(), postgres::Error> {
    let current = |client: &mut Client| -> Result<Option<i64>, postgres::Error> {
        let table: bool = client
            .query_one("SELECT to_regclass('tantalum.schema_versions') IS NOT NULL", &[])?
            .get(0);
        if !table {
            return Ok(None);
        }
        Ok(client
            .query_opt("SELECT version FROM tantalum.schema_versions WHERE part = $1", &[&part])?
            .map(|r| r.get(0)))
    };
    if current(client)? == Some(version) {
        return Ok(());
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS tantalum;
         CREATE TABLE IF NOT EXISTS tantalum.schema_versions (part TEXT PRIMARY KEY, version BIGINT NOT NULL);",
    )?;
    let done: Option<i64> = tx
        .query_opt("SELECT version FROM tantalum.schema_versions WHERE part = $1", &[&part])?
        .map(|r| r.get(0));
    if done != Some(version) {
        tx.batch_execute(ddl)?;
        tx.execute(
            "INSERT INTO tantalum.schema_versions (part, version) VALUES ($1, $2)
             ON CONFLICT (part) DO UPDATE SET version = excluded.version",
            &[&part, &version],
        )?;
    }
    tx.commit()
}

/// A connection string with its password replaced, for messages.
pub(crate) fn redact(url: &str) -> String {
    // postgres://user:secret@host/db → postgres://user:***@host/db
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &rest[at..]);
            }
        }
    }
    url.split_whitespace()
        .map(|part| {
            if part.starts_with("password=") {
                "password=***"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Connects to a shared store: plain TCP, or verified TLS with
/// `sslmode=require` (see `pg_tls`). Used for the service's tables too.
pub fn connect(url: &str, application: &str) -> Result<Client, BankError> {
    let (url_without_files, tls_files) = crate::pg_tls::take_tls_files(url);
    let mut config: postgres::Config = url_without_files.parse().map_err(|e| BankError::pg(url, e))?;
    if config.get_application_name().is_none() {
        config.application_name(application);
    }
    if config.get_ssl_mode() == postgres::config::SslMode::Require {
        let tls = crate::pg_tls::RustlsConnector::new(&tls_files).map_err(|message| BankError::Postgres {
            location: redact(url),
            message,
        })?;
        config.connect(tls).map_err(|e| BankError::pg(url, e))
    } else if tls_files.any() {
        Err(BankError::Postgres {
            location: redact(url),
            message: "sslrootcert, sslcert or sslkey is given but not sslmode=require: refusing to connect without TLS"
                .into(),
        })
    } else {
        config.connect(NoTls).map_err(|e| BankError::pg(url, e))
    }
}

/// The PostgreSQL backend: one connection, statements prepared once.
pub(crate) struct PgStore {
    url: String,
    client: RefCell<Client>,
    statements: RefCell<HashMap<&'static str, Statement>>,
}

fn info_of(row: &postgres::Row) -> BankInfo {
    BankInfo {
        name: row.get(0),
        kind: if row.get::<_, String>(1) == "known" {
            BankKind::Known
        } else {
            BankKind::Flag
        },
        suppress: row.get(2),
        max_distance: row.get::<_, i32>(3).max(0) as u32,
        quality_floor: row.get::<_, i32>(4).clamp(0, 255) as u8,
        counts: Vec::new(),
        created: row.get(5),
    }
}

fn entry_of(id: u32, row: &postgres::Row, from: usize) -> Entry {
    let categories: String = row.get(from + 3);
    let raw: String = row.get(from + 6);
    Entry {
        id,
        bank: row.get(from),
        entry: NewEntry {
            signal: row.get(from + 1),
            hash: row.get(from + 2),
            categories: serde_json::from_str(&categories).unwrap_or_default(),
            external_id: row.get(from + 4),
            source: row.get(from + 5),
            raw: serde_json::from_str(&raw).unwrap_or_default(),
            withdrawn: false,
        },
        added: row.get(from + 7),
    }
}

/// Ids live in the index as u32; the shared store refuses to go past that.
fn id_of(id: i64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

/// Takes the writers' lock and says a change is coming (delivered on commit).
fn begin_write(tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
    tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
    Ok(())
}

fn bump_generation(tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
    tx.execute(
        "UPDATE tantalum.meta SET value = value + 1 WHERE key = 'generation'",
        &[],
    )?;
    Ok(())
}

impl PgStore {
    /// Connects; with `create`, makes the schema when it is missing.
    /// Connects, making or updating the tables when they are not at this
    /// version (readers and writers alike: whoever comes first).
    pub(crate) fn open(url: &str) -> Result<PgStore, BankError> {
        let mut client = connect(url, "tantalum")?;
        ensure_schema(&mut client, "banks", 1, SCHEMA).map_err(|e| BankError::pg(url, e))?;
        Ok(PgStore {
            url: url.to_string(),
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
        })
    }

    pub(crate) fn is_alive(&self) -> bool {
        let mut client = self.client.borrow_mut();
        !client.is_closed() && client.simple_query("SELECT 1").is_ok()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.borrow().is_closed()
    }

    fn err(&self, e: postgres::Error) -> BankError {
        BankError::pg(&self.url, e)
    }

    fn statement(&self, sql: &'static str) -> Result<Statement, BankError> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.borrow_mut().prepare(sql).map_err(|e| self.err(e))?;
        self.statements.borrow_mut().insert(sql, s.clone());
        Ok(s)
    }

    fn query(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<postgres::Row>, BankError> {
        let statement = self.statement(sql)?;
        self.client
            .borrow_mut()
            .query(&statement, params)
            .map_err(|e| self.err(e))
    }

    /// Runs `f` in a write transaction holding the writers' lock.
    fn write<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T, postgres::Error>) -> Result<T, BankError> {
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().map_err(|e| self.err(e))?;
        begin_write(&mut tx).map_err(|e| self.err(e))?;
        let out = f(&mut tx).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    pub(crate) fn create_bank(&self, name: &str, options: &BankOptions) -> Result<(), BankError> {
        let inserted = self.write(|tx| {
            tx.execute(
                "INSERT INTO tantalum.banks (name, kind, suppress, max_distance, quality_floor, created)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
                &[
                    &name,
                    &kind_name(options.kind),
                    &options.suppress,
                    &(options.max_distance.min(i32::MAX as u32) as i32),
                    &(options.quality_floor as i32),
                    &now(),
                ],
            )
        })?;
        if inserted == 0 {
            return Err(BankError::Exists(name.to_string()));
        }
        Ok(())
    }

    pub(crate) fn bank_settings(&self, name: &str) -> Result<Option<BankInfo>, BankError> {
        let rows = self.query(
            "SELECT name, kind, suppress, max_distance, quality_floor, created FROM tantalum.banks WHERE name = $1",
            &[&name],
        )?;
        Ok(rows.first().map(info_of))
    }

    pub(crate) fn bank(&self, name: &str) -> Result<Option<BankInfo>, BankError> {
        let Some(mut info) = self.bank_settings(name)? else {
            return Ok(None);
        };
        let rows = self.query(
            "SELECT signal, COUNT(*) FROM tantalum.entries WHERE bank = $1 AND removed IS NULL
             GROUP BY signal ORDER BY signal",
            &[&name],
        )?;
        info.counts = rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect();
        Ok(Some(info))
    }

    pub(crate) fn bank_names(&self) -> Result<Vec<String>, BankError> {
        let rows = self.query("SELECT name FROM tantalum.banks ORDER BY name", &[])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(crate) fn remove_bank(&self, name: &str) -> Result<u64, BankError> {
        let removed = self.write(|tx| {
            let live: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM tantalum.entries WHERE bank = $1 AND removed IS NULL",
                    &[&name],
                )?
                .get(0);
            let gone = tx.execute("DELETE FROM tantalum.banks WHERE name = $1", &[&name])?;
            if gone > 0 {
                bump_generation(tx)?;
            }
            Ok((gone, live))
        })?;
        match removed {
            (0, _) => Err(BankError::NoSuchBank(name.to_string())),
            (_, live) => Ok(live as u64),
        }
    }

    pub(crate) fn rename_bank(&mut self, from: &str, to: &str) -> Result<(), BankError> {
        self.write(|tx| {
            let exists = |tx: &mut Transaction<'_>, name: &str| -> Result<bool, postgres::Error> {
                Ok(tx
                    .query_opt("SELECT 1 FROM tantalum.banks WHERE name = $1", &[&name])?
                    .is_some())
            };
            if !exists(tx, from)? {
                return Ok(Err(BankError::NoSuchBank(from.to_string())));
            }
            if exists(tx, to)? {
                return Ok(Err(BankError::Exists(to.to_string())));
            }
            // Entries follow through ON UPDATE CASCADE and keep their ids.
            tx.execute("UPDATE tantalum.banks SET name = $2 WHERE name = $1", &[&from, &to])?;
            bump_generation(tx)?;
            Ok(Ok(()))
        })?
    }

    /// Streams the list into a temporary table by binary COPY, then merges
    /// it into the bank in two set statements: revive withdrawn entries,
    /// insert new ones (sorted by hash, which is kind to the unique index).
    /// Ids come from a counter, never from a sequence, so duplicates in a
    /// re-imported list do not burn ids (they are u32 in the index).
    pub(crate) fn import(
        &mut self,
        bank: &str,
        entries: impl Iterator<Item = Result<NewEntry, LineError>>,
    ) -> Result<ImportReport, BankError> {
        if self.bank_settings(bank)?.is_none() {
            return Err(BankError::NoSuchBank(bank.to_string()));
        }
        let url = self.url.clone();
        let err = |e: postgres::Error| BankError::pg(&url, e);
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().map_err(err)?;
        tx.batch_execute(
            "CREATE TEMP TABLE staging (
                 seq BIGINT, signal TEXT, hash TEXT, categories TEXT,
                 external_id TEXT, source TEXT, raw TEXT) ON COMMIT DROP",
        )
        .map_err(err)?;
        let mut report = ImportReport::default();
        let mut withdrawn: Vec<String> = Vec::new();
        {
            let sink = tx
                .copy_in(
                    "COPY staging (seq, signal, hash, categories, external_id, source, raw) FROM STDIN (FORMAT binary)",
                )
                .map_err(err)?;
            let types = [
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
            ];
            let mut writer = BinaryCopyInWriter::new(sink, &types);
            read_list(
                entries,
                &mut report,
                |external_id| {
                    withdrawn.extend(external_id);
                    Ok(())
                },
                |s| {
                    let e = s.entry;
                    writer.write(&[
                        &s.seq,
                        &e.signal,
                        &e.hash,
                        &s.categories,
                        &e.external_id,
                        &e.source,
                        &s.raw,
                    ])
                },
            )
            .map_err(err)?;
            writer.finish().map_err(err)?;
        }
        if report.bad > 0 {
            tx.rollback().map_err(err)?;
            return Ok(report);
        }
        begin_write(&mut tx).map_err(err)?;
        let at = now();
        let base: i64 = tx
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM tantalum.entries", &[])
            .map_err(err)?
            .get(0);
        let last_id: i64 = tx
            .query_one("SELECT value FROM tantalum.meta WHERE key = 'last_id'", &[])
            .map_err(err)?
            .get(0);
        // The first occurrence of each hash in the list is the one kept, as in the embedded store.
        tx.batch_execute(
            "CREATE TEMP TABLE staged ON COMMIT DROP AS
                 SELECT DISTINCT ON (signal, hash) * FROM staging ORDER BY signal, hash, seq;
             ANALYZE staged;",
        )
        .map_err(err)?;
        let revived = tx
            .execute(
                "UPDATE tantalum.entries e SET removed = NULL, seq = s.seq + $2
                 FROM staged s
                 WHERE e.bank = $1 AND e.signal = s.signal AND e.hash = s.hash AND e.removed IS NOT NULL",
                &[&bank, &base],
            )
            .map_err(err)?;
        let inserted = tx
            .execute(
                "INSERT INTO tantalum.entries (id, bank, signal, hash, categories, external_id, source, raw, added, seq)
                 SELECT $3 + row_number() OVER (ORDER BY s.signal, s.hash), $1, s.signal, s.hash, s.categories,
                        s.external_id, s.source, s.raw, $2, s.seq + $4
                 FROM staged s
                 WHERE NOT EXISTS (SELECT 1 FROM tantalum.entries e
                                   WHERE e.signal = s.signal AND e.hash = s.hash AND e.bank = $1)
                 ORDER BY s.signal, s.hash",
                &[&bank, &at, &last_id, &base],
            )
            .map_err(err)?;
        if last_id + inserted as i64 > u32::MAX as i64 {
            tx.rollback().map_err(err)?;
            return Err(BankError::Index(format!(
                "the shared store would pass {} entry ids, the most the index takes",
                u32::MAX
            )));
        }
        tx.execute(
            "UPDATE tantalum.meta SET value = value + $1 WHERE key = 'last_id'",
            &[&(inserted as i64)],
        )
        .map_err(err)?;
        report.added = revived + inserted;
        report.duplicates = report.read - report.added;
        if !withdrawn.is_empty() {
            report.withdrawn = tx
                .execute(
                    "UPDATE tantalum.entries SET removed = $2
                     WHERE bank = $1 AND removed IS NULL AND external_id = ANY($3)",
                    &[&bank, &at, &withdrawn],
                )
                .map_err(err)?;
        }
        if report.added > 0 || report.withdrawn > 0 {
            bump_generation(&mut tx).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        report.applied = true;
        Ok(report)
    }

    /// Pages through the entries by sequence, so `f` runs between round
    /// trips and may itself use the store.
    pub(crate) fn for_each_entry(
        &self,
        banks: &[String],
        mut f: impl FnMut(Entry) -> Result<(), BankError>,
    ) -> Result<(), BankError> {
        let all = banks.is_empty();
        let mut after: i64 = i64::MIN;
        loop {
            let rows = self.query(
                "SELECT id, bank, signal, hash, categories, external_id, source, raw, added, seq
                 FROM tantalum.entries
                 WHERE removed IS NULL AND seq > $1 AND ($2 OR bank = ANY($3))
                 ORDER BY seq LIMIT $4",
                &[&after, &all, &banks, &PAGE],
            )?;
            let Some(last) = rows.last() else { return Ok(()) };
            after = last.get(9);
            let full = rows.len() as i64 == PAGE;
            for row in &rows {
                f(entry_of(id_of(row.get(0)), row, 1))?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    pub(crate) fn generation(&self) -> Result<u64, BankError> {
        let rows = self.query("SELECT value FROM tantalum.meta WHERE key = 'generation'", &[])?;
        Ok(rows.first().map(|r| r.get::<_, i64>(0) as u64).unwrap_or(0))
    }

    /// Built in memory from one streamed scan: each replica holds its own.
    pub(crate) fn pdq_index(&self) -> Result<index::HammingIndex, BankError> {
        self.scan_pdq(false).map(|(index, _)| index)
    }

    pub(crate) fn pdq_index_and_banks(&self) -> Result<(index::HammingIndex, crate::matcher::EntryBanks), BankError> {
        self.scan_pdq(true)
    }

    /// One scan of the live PDQ entries; with `with_banks`, their banks too.
    fn scan_pdq(&self, with_banks: bool) -> Result<(index::HammingIndex, crate::matcher::EntryBanks), BankError> {
        let mut client = self.client.borrow_mut();
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(|e| self.err(e))?;
        let mut entries = Vec::new();
        let mut banks = crate::matcher::EntryBanks::default();
        let no_params: [&str; 0] = [];
        let sql = if with_banks {
            "SELECT id, hash, bank FROM tantalum.entries WHERE signal = 'pdq' AND removed IS NULL"
        } else {
            "SELECT id, hash FROM tantalum.entries WHERE signal = 'pdq' AND removed IS NULL"
        };
        let mut rows = tx.query_raw(sql, no_params).map_err(|e| self.err(e))?;
        let mut numbered = with_banks;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let hex: &str = row.get(1);
            if let Ok(h) = pdq::Hash256::from_hex(hex) {
                let id = id_of(row.get(0));
                entries.push((*h.as_bytes(), id));
                if numbered {
                    numbered = banks.insert(id, row.get(2));
                }
            }
        }
        drop(rows);
        tx.commit().map_err(|e| self.err(e))?;
        if with_banks && !numbered {
            // More banks than slots: the matcher asks the store instead.
            banks = crate::matcher::EntryBanks::default();
        }
        Ok((index::HammingIndex::build(entries), banks))
    }

    pub(crate) fn cursor(&self) -> Result<ChangeCursor, BankError> {
        let rows = self.query(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM tantalum.entries),
                    (SELECT COALESCE(MAX(seq), 0) FROM tantalum.removals)",
            &[],
        )?;
        let row = rows.first().expect("one row");
        Ok(ChangeCursor {
            entries: row.get(0),
            removals: row.get(1),
        })
    }

    pub(crate) fn changes_since(&self, since: &ChangeCursor) -> Result<(Vec<Change>, ChangeCursor), BankError> {
        let mut client = self.client.borrow_mut();
        // One snapshot for the cursor and the changes.
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| self.err(e))?;
        let now = tx
            .query_one(
                "SELECT (SELECT COALESCE(MAX(seq), 0) FROM tantalum.entries),
                        (SELECT COALESCE(MAX(seq), 0) FROM tantalum.removals)",
                &[],
            )
            .map_err(|e| self.err(e))?;
        let now = ChangeCursor {
            entries: now.get(0),
            removals: now.get(1),
        };
        let mut changes = Vec::new();
        if now.removals > since.removals {
            let rows = tx
                .query(
                    "SELECT DISTINCT r.id FROM tantalum.removals r WHERE r.seq > $1 AND r.seq <= $2
                     AND NOT EXISTS (SELECT 1 FROM tantalum.entries e WHERE e.id = r.id AND e.removed IS NULL)
                     ORDER BY r.id",
                    &[&since.removals, &now.removals],
                )
                .map_err(|e| self.err(e))?;
            changes.extend(rows.iter().map(|r| Change::Removed(id_of(r.get(0)))));
        }
        if now.entries > since.entries {
            let rows = tx
                .query(
                    "SELECT id, bank, signal, hash FROM tantalum.entries
                     WHERE seq > $1 AND seq <= $2 AND removed IS NULL ORDER BY seq",
                    &[&since.entries, &now.entries],
                )
                .map_err(|e| self.err(e))?;
            changes.extend(rows.iter().map(|r| Change::Added {
                id: id_of(r.get(0)),
                bank: r.get(1),
                signal: r.get(2),
                hash: r.get(3),
            }));
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok((changes, now))
    }

    pub(crate) fn max_entry_id(&self) -> Result<u32, BankError> {
        let rows = self.query("SELECT value FROM tantalum.meta WHERE key = 'last_id'", &[])?;
        Ok(rows.first().map(|r| id_of(r.get(0))).unwrap_or(0))
    }

    pub(crate) fn remove_entry(&self, id: u32) -> Result<bool, BankError> {
        let n = self.write(|tx| {
            let n = tx.execute(
                "UPDATE tantalum.entries SET removed = $2 WHERE id = $1 AND removed IS NULL",
                &[&(id as i64), &now()],
            )?;
            if n > 0 {
                bump_generation(tx)?;
            }
            Ok(n)
        })?;
        Ok(n > 0)
    }

    pub(crate) fn entry_id(&self, bank: &str, signal: &str, hash: &str) -> Result<Option<u32>, BankError> {
        let rows = self.query(
            "SELECT id FROM tantalum.entries WHERE signal = $2 AND hash = $3 AND bank = $1 AND removed IS NULL",
            &[&bank, &signal, &hash],
        )?;
        Ok(rows.first().map(|r| id_of(r.get(0))))
    }

    pub(crate) fn vpdq_entries(&self) -> Result<Vec<(u32, String, Vec<vpdq::Feature>)>, BankError> {
        let rows = self.query(
            "SELECT id, bank, raw FROM tantalum.entries WHERE signal = 'vpdq' AND removed IS NULL ORDER BY id",
            &[],
        )?;
        let mut out = Vec::new();
        for r in &rows {
            let raw: String = r.get(2);
            let raw: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&raw).unwrap_or_default();
            if let Some(frames) = crate::model::vpdq_frames(&raw) {
                out.push((id_of(r.get(0)), r.get(1), frames));
            }
        }
        Ok(out)
    }

    pub(crate) fn lookup_digest(&self, signal: &str, hex: &str) -> Result<Vec<(u32, String)>, BankError> {
        let rows = self.query(
            "SELECT id, bank FROM tantalum.entries WHERE signal = $1 AND hash = $2 AND removed IS NULL",
            &[&signal, &hex],
        )?;
        Ok(rows.iter().map(|r| (id_of(r.get(0)), r.get(1))).collect())
    }

    pub(crate) fn bank_of(&self, id: u32) -> Result<Option<String>, BankError> {
        let rows = self.query("SELECT bank FROM tantalum.entries WHERE id = $1", &[&(id as i64)])?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    pub(crate) fn entry(&self, id: u32) -> Result<Option<Entry>, BankError> {
        let rows = self.query(
            "SELECT bank, signal, hash, categories, external_id, source, raw, added FROM tantalum.entries WHERE id = $1",
            &[&(id as i64)],
        )?;
        Ok(rows.first().map(|r| entry_of(id, r, 0)))
    }

    pub(crate) fn entries(&self, ids: &[u32]) -> Result<Vec<Entry>, BankError> {
        let ids: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
        let rows = self.query(
            "SELECT bank, signal, hash, categories, external_id, source, raw, added, id FROM tantalum.entries WHERE id = ANY($1)",
            &[&ids],
        )?;
        Ok(rows.iter().map(|r| entry_of(id_of(r.get(8)), r, 0)).collect())
    }
}

/// A connection that LISTENs for change notices.
pub(crate) struct PgListener {
    url: String,
    client: Client,
}

impl PgListener {
    pub(crate) fn connect(url: &str) -> Result<PgListener, BankError> {
        let mut client = connect(url, "tantalum")?;
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .map_err(|e| BankError::pg(url, e))?;
        Ok(PgListener {
            url: url.to_string(),
            client,
        })
    }

    /// Waits for a notice; several queued ones count as one wake-up.
    pub(crate) fn wait(&mut self, timeout: Duration) -> Result<bool, BankError> {
        let first = self
            .client
            .notifications()
            .timeout_iter(timeout)
            .next()
            .map_err(|e| BankError::pg(&self.url, e))?;
        if first.is_none() {
            if self.client.is_closed() {
                return Err(BankError::Postgres {
                    location: redact(&self.url),
                    message: "the listening connection closed".into(),
                });
            }
            return Ok(false);
        }
        let mut notices = self.client.notifications();
        let mut pending = notices.iter();
        while pending.next().map_err(|e| BankError::pg(&self.url, e))?.is_some() {}
        Ok(true)
    }
}
