//! The network's tables in the case database.
//!
//! Raw imports, kept as parsed so the picture can be rebuilt whenever a
//! new device arrives: `chat_exports` (one per parsed chat, with the
//! device, owner and clock it came with), `chat_records` (every message and
//! notice as the export shows it, with its attachment's file in the case),
//! `contacts` (vCard name ↔ number per device), `item_names` (the hash
//! lists' own ids of matched entries), `pages` and `page_links`.
//!
//! Derived tables, rewritten by [`persist`] after every import: `accounts`,
//! `account_labels`, `chat_groups`, `messages` (one per real message,
//! `renderings` naming every export line that shows it), `memberships`,
//! `shares` and `invite_links`.

use rusqlite::{params, Connection};

use crate::resolve::Resolved;
use crate::Error;

/// Creates the tables when missing.
pub fn ensure_schema(db: &Connection) -> Result<(), Error> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS chat_exports (
             id INTEGER PRIMARY KEY,
             path TEXT NOT NULL,
             device TEXT NOT NULL,
             owner TEXT,
             owner_name TEXT,
             utc_offset INTEGER,
             platform TEXT NOT NULL,
             variant TEXT NOT NULL,
             locale TEXT,
             group_name TEXT,
             records INTEGER NOT NULL,
             issues INTEGER NOT NULL,
             imported INTEGER NOT NULL,
             UNIQUE (path, device));
         CREATE TABLE IF NOT EXISTS chat_records (
             export INTEGER NOT NULL REFERENCES chat_exports(id) ON DELETE CASCADE,
             n INTEGER NOT NULL,
             line INTEGER NOT NULL,
             kind TEXT NOT NULL,
             local TEXT,
             utc INTEGER,
             sender TEXT,
             text TEXT NOT NULL,
             att_name TEXT,
             att_media TEXT,
             att_omitted INTEGER,
             file INTEGER,
             event TEXT,
             links TEXT NOT NULL,
             PRIMARY KEY (export, n));
         CREATE TABLE IF NOT EXISTS contacts (
             device TEXT NOT NULL,
             name TEXT NOT NULL,
             phone_e164 TEXT NOT NULL,
             source TEXT NOT NULL,
             UNIQUE (device, name, phone_e164));
         CREATE TABLE IF NOT EXISTS item_names (
             bank TEXT NOT NULL,
             entry_id INTEGER NOT NULL,
             external_id TEXT,
             PRIMARY KEY (bank, entry_id));
         CREATE TABLE IF NOT EXISTS pages (
             id INTEGER PRIMARY KEY,
             path TEXT NOT NULL UNIQUE,
             sha256 TEXT NOT NULL,
             size INTEGER NOT NULL,
             imported INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS page_links (
             page INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
             kind TEXT NOT NULL,
             code TEXT,
             url TEXT NOT NULL,
             raw TEXT NOT NULL,
             line INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS accounts (
             id INTEGER PRIMARY KEY,
             key TEXT NOT NULL UNIQUE,
             phone_e164 TEXT,
             region TEXT,
             platform TEXT NOT NULL,
             resolved INTEGER NOT NULL,
             flags TEXT NOT NULL,
             display_names TEXT NOT NULL,
             linked_numbers TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS account_labels (
             account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
             device TEXT NOT NULL,
             label TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS chat_groups (
             id INTEGER PRIMARY KEY,
             platform TEXT NOT NULL,
             name TEXT NOT NULL,
             names TEXT NOT NULL,
             exports TEXT NOT NULL,
             clock_offsets TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS messages (
             id INTEGER PRIMARY KEY,
             grp INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
             kind TEXT NOT NULL,
             sender INTEGER REFERENCES accounts(id),
             utc INTEGER,
             text TEXT NOT NULL,
             attachment TEXT,
             file_sha256 TEXT,
             event TEXT,
             renderings TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS memberships (
             grp INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
             account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
             start INTEGER,
             end INTEGER,
             how TEXT NOT NULL,
             via INTEGER);
         CREATE TABLE IF NOT EXISTS shares (
             account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
             grp INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
             item TEXT NOT NULL,
             utc INTEGER,
             message INTEGER NOT NULL,
             file_sha256 TEXT NOT NULL,
             evidence TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS invite_links (
             kind TEXT NOT NULL,
             code TEXT NOT NULL,
             url TEXT NOT NULL,
             grp INTEGER,
             posted_in TEXT NOT NULL);",
    )?;
    Ok(())
}

/// Rewrites the derived tables from a resolved picture, in one transaction.
pub fn persist(db: &Connection, r: &Resolved) -> Result<(), Error> {
    ensure_schema(db)?;
    db.execute_batch(
        "BEGIN IMMEDIATE;
         DELETE FROM invite_links; DELETE FROM shares; DELETE FROM memberships; DELETE FROM messages;
         DELETE FROM account_labels; DELETE FROM chat_groups; DELETE FROM accounts;",
    )?;
    let result = (|| -> Result<(), Error> {
        let json = |v: &dyn erased::Ser| v.to_json();
        for (i, a) in r.accounts.iter().enumerate() {
            db.execute(
                "INSERT INTO accounts (id, key, phone_e164, region, platform, resolved, flags, display_names,
                     linked_numbers) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    i as i64 + 1,
                    a.key,
                    a.phone_e164,
                    a.region,
                    a.platform,
                    a.resolved,
                    json(&a.flags),
                    json(&a.display_names),
                    json(&a.linked_numbers)
                ],
            )?;
            for (device, label) in &a.labels {
                db.prepare_cached("INSERT INTO account_labels (account, device, label) VALUES (?1, ?2, ?3)")?
                    .execute(params![i as i64 + 1, device, label])?;
            }
        }
        for (g, grp) in r.groups.iter().enumerate() {
            let gid = g as i64 + 1;
            db.execute(
                "INSERT INTO chat_groups (id, platform, name, names, exports, clock_offsets) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    gid,
                    grp.platform,
                    grp.name,
                    json(&grp.names),
                    json(&grp.exports),
                    json(&grp.clock_offsets)
                ],
            )?;
            for m in &grp.members {
                db.prepare_cached(
                    "INSERT INTO memberships (grp, account, start, end, how, via) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    gid,
                    m.account as i64 + 1,
                    m.start,
                    m.end,
                    m.how,
                    m.via.map(|v| v as i64 + 1)
                ])?;
            }
        }
        for (k, m) in r.messages.iter().enumerate() {
            db.prepare_cached(
                "INSERT INTO messages (id, grp, kind, sender, utc, text, attachment, file_sha256, event, renderings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                k as i64 + 1,
                m.group as i64 + 1,
                m.kind,
                m.sender.map(|s| s as i64 + 1),
                m.utc,
                m.text,
                m.attachment,
                m.file_sha256,
                m.event.as_ref().map(|e| e.to_string()),
                json(&m.renderings)
            ])?;
        }
        for s in &r.shares {
            db.prepare_cached(
                "INSERT INTO shares (account, grp, item, utc, message, file_sha256, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                s.account as i64 + 1,
                s.group as i64 + 1,
                s.item,
                s.utc,
                s.message as i64 + 1,
                s.file_sha256,
                json(&s.evidence)
            ])?;
        }
        for l in &r.invite_links {
            db.prepare_cached(
                "INSERT INTO invite_links (kind, code, url, grp, posted_in) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                l.kind,
                l.code,
                l.url,
                l.group.map(|g| g as i64 + 1),
                json(&l.posted_in)
            ])?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            db.execute_batch("COMMIT")?;
            Ok(())
        }
        Err(e) => {
            let _ = db.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Serialising anything to a JSON string without a generic parameter in the closure.
mod erased {
    pub trait Ser {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| "null".into())
        }
    }
}
