//! `chats import` and `pages import`: raw records into the case.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::PathBuf;

use case::{CaseStore, ScanOptions, ScanSummary};
use rusqlite::params;
use serde::Serialize;

use crate::store::{ensure_schema, persist};
use crate::{resolve, Error};

/// How to import a device's chat exports.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Banks to match the media against (empty: every bank).
    pub banks: Vec<String>,
    /// The seized phone's owner, E.164 or as written: who "you" is in its exports.
    pub owner: Option<String>,
    /// The owner's own label in the exports (their name on their messages).
    pub owner_name: Option<String>,
    /// The device the exports come from; labels (address-book names) are
    /// only the same person within one device. Default: the owner's number,
    /// else the first path.
    pub device: Option<String>,
    /// The device clock's offset from UTC in minutes, when known. Unknown
    /// offsets are estimated from messages other devices also exported.
    pub utc_offset_minutes: Option<i64>,
    /// vCard files from the device (its address book).
    pub contacts: Vec<PathBuf>,
    /// Label for the evidence sources (exhibit number).
    pub label: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    /// Chats read.
    pub exports: usize,
    /// Messages and notices read.
    pub records: usize,
    /// Attachments whose file was found in the case.
    pub attachments_linked: usize,
    /// Attachments named but absent (omitted from the export, or missing).
    pub attachments_missing: usize,
    /// Contacts read from vCards.
    pub contacts: usize,
    /// Problems the parsers met (the rest was read).
    pub issues: usize,
    /// The media scan.
    pub scan: ScanSummary,
    /// After resolution: groups, accounts, distinct real messages, shares of known items.
    pub groups: usize,
    /// Accounts.
    pub accounts: usize,
    /// Unresolved accounts (names with no number).
    pub unresolved: usize,
    /// One per real message after merging devices.
    pub messages: usize,
    /// Shares of known items.
    pub shares: usize,
}

fn e164(s: &str) -> Option<String> {
    chats::phone::parse(s, true).map(|p| p.e164)
}

/// Parses `paths` (chat exports: files, folders, zips) into the case,
/// scanning their media first, then rebuilds the network tables.
pub fn import_chats(
    case: &mut CaseStore,
    banks_at: Option<&banks::Location>,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress: &dyn case::Progress,
) -> Result<ImportSummary, Error> {
    let owner = match &options.owner {
        Some(o) => Some(e164(o).ok_or_else(|| Error::Invalid(format!("--owner {o:?} is not a phone number")))?),
        None => None,
    };
    let mut absolute = Vec::new();
    for p in paths {
        absolute.push(std::path::absolute(p).map_err(|e| Error::io(p, e))?);
    }
    let device = options
        .device
        .clone()
        .or_else(|| owner.clone())
        .or_else(|| absolute.first().map(|p| p.display().to_string()))
        .unwrap_or_else(|| "device".into());
    // Parse first: an unreadable export stops the import before anything is written.
    let mut parsed = Vec::new();
    for p in &absolute {
        parsed.push((p.clone(), chats::parse_path(p)?));
    }
    let scan_options = ScanOptions {
        banks: options.banks.clone(),
        label: options.label.clone(),
        ..Default::default()
    };
    let scan = case::scan(case, banks_at, &absolute, &scan_options, progress)?;
    let db = case.connection();
    ensure_schema(db)?;
    let files = file_index(db)?;
    let mut summary = ImportSummary {
        scan,
        ..Default::default()
    };
    let mut matched_entries = BTreeSet::new();
    db.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| -> Result<(), Error> {
        for (_, exports) in &parsed {
            for ex in exports {
                db.execute(
                    "DELETE FROM chat_exports WHERE path = ?1 AND device = ?2",
                    params![ex.source, device],
                )?;
                db.execute(
                    "INSERT INTO chat_exports (path, device, owner, owner_name, utc_offset, platform, variant, locale,
                         group_name, records, issues, imported) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        ex.source,
                        device,
                        owner,
                        options.owner_name,
                        options.utc_offset_minutes,
                        json_name(&ex.platform),
                        json_name(&ex.variant),
                        ex.locale,
                        ex.group_name,
                        ex.messages.len() as i64,
                        ex.errors.len() as i64,
                        case::now_ns()
                    ],
                )?;
                let export_id = db.last_insert_rowid();
                summary.exports += 1;
                summary.issues += ex.errors.len();
                let folder = ex.source.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                for m in &ex.messages {
                    let mut file = None;
                    if let Some(a) = &m.attachment {
                        match (&a.filename, a.omitted) {
                            (Some(name), false) => {
                                let key = format!("{folder}/{name}");
                                match files.get(&key) {
                                    Some(id) => {
                                        file = Some(*id);
                                        summary.attachments_linked += 1;
                                    }
                                    None => summary.attachments_missing += 1,
                                }
                            }
                            _ => summary.attachments_missing += 1,
                        }
                    }
                    if let Some(f) = file {
                        let mut stmt =
                            db.prepare_cached("SELECT bank, entry_id FROM matches WHERE file = ?1 AND known_file = 0")?;
                        let rows = stmt.query_map([f], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))?;
                        for row in rows {
                            matched_entries.insert(row?);
                        }
                    }
                    db.prepare_cached(
                        "INSERT INTO chat_records (export, n, line, kind, local, utc, sender, text, att_name, att_media,
                             att_omitted, file, event, links) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                    )?
                    .execute(params![
                        export_id,
                        m.n as i64,
                        m.line as i64,
                        json_name(&m.kind),
                        m.timestamp.map(|t| t.iso()),
                        m.timestamp_utc,
                        m.sender,
                        m.text,
                        m.attachment.as_ref().and_then(|a| a.filename.clone()),
                        m.attachment.as_ref().map(|a| json_name(&a.media)),
                        m.attachment.as_ref().map(|a| a.omitted),
                        file,
                        m.event.as_ref().map(|e| serde_json::to_string(e).unwrap_or_default()),
                        serde_json::to_string(&m.links).unwrap_or_else(|_| "[]".into())
                    ])?;
                    summary.records += 1;
                }
            }
        }
        for vcf in &options.contacts {
            let text = std::fs::read(vcf).map_err(|e| Error::io(vcf, e))?;
            for (name, phone) in parse_vcards(&String::from_utf8_lossy(&text)) {
                db.execute(
                    "INSERT OR IGNORE INTO contacts (device, name, phone_e164, source) VALUES (?1, ?2, ?3, ?4)",
                    params![device, name, phone, vcf.display().to_string()],
                )?;
                summary.contacts += 1;
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => db.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = db.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    name_items(db, banks_at, &matched_entries)?;
    let r = resolve(case)?;
    persist(case.connection(), &r)?;
    summary.groups = r.groups.len();
    summary.accounts = r.accounts.len();
    summary.unresolved = r.accounts.iter().filter(|a| !a.resolved).count();
    summary.messages = r.messages.iter().filter(|m| m.kind == "message").count();
    summary.shares = r.shares.len();
    Ok(summary)
}

/// Remembers the lists' own ids of matched entries, so items are named as the list names them.
fn name_items(
    db: &rusqlite::Connection,
    banks_at: Option<&banks::Location>,
    entries: &BTreeSet<(String, u32)>,
) -> Result<(), Error> {
    let store = match banks_at {
        Some(at) if at.exists() && !entries.is_empty() => banks::Store::open_reader_at(at)?,
        _ => return Ok(()),
    };
    for (bank, id) in entries {
        let external = store.entry(*id)?.and_then(|e| e.entry.external_id);
        db.execute(
            "INSERT OR REPLACE INTO item_names (bank, entry_id, external_id) VALUES (?1, ?2, ?3)",
            params![bank, id, external],
        )?;
    }
    Ok(())
}

/// Absolute path (archive members as `…/x.zip!/member`) → file id, for every file in the case.
fn file_index(db: &rusqlite::Connection) -> Result<HashMap<String, i64>, Error> {
    let mut stmt = db.prepare("SELECT f.id, s.root, s.kind, f.path FROM files f JOIN sources s ON f.source = s.id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, root, kind, path) = row?;
        let base = if kind == "folder" {
            root
        } else {
            root.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default()
        };
        out.insert(format!("{base}/{path}"), id);
    }
    Ok(out)
}

fn json_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// `(FN, E.164)` of every card with a name and a number; unfolds folded lines.
pub(crate) fn parse_vcards(text: &str) -> Vec<(String, String)> {
    let mut unfolded: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if (line.starts_with(' ') || line.starts_with('\t')) && !unfolded.is_empty() {
            let last = unfolded.len() - 1;
            unfolded[last].push_str(&line[1..]);
        } else {
            unfolded.push(line.to_string());
        }
    }
    let mut out = Vec::new();
    let (mut name, mut tels): (Option<String>, Vec<String>) = (None, Vec::new());
    for line in unfolded {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let prop = key.split(';').next().unwrap_or("").to_ascii_uppercase();
        let prop = prop.rsplit('.').next().unwrap_or("");
        match prop {
            "BEGIN" => {
                name = None;
                tels.clear();
            }
            "FN" => name = Some(value.trim().to_string()),
            "TEL" => tels.push(value.trim().trim_start_matches("tel:").to_string()),
            "END" => {
                if let Some(n) = name.take() {
                    for t in tels.drain(..) {
                        if let Some(p) = e164(&t) {
                            out.push((n.clone(), p));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// What a page import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PagesSummary {
    /// Pages read.
    pub pages: usize,
    /// Links found in them.
    pub links: usize,
    /// Of those, invite links whose code a chat in the case names (tied to a group).
    pub tied: usize,
}

/// Records the invite and identity links in saved pages (HTML, MHTML, text).
pub fn import_pages(case: &mut CaseStore, paths: &[PathBuf]) -> Result<PagesSummary, Error> {
    let db = case.connection();
    ensure_schema(db)?;
    let mut summary = PagesSummary::default();
    for p in paths {
        let abs = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
        let mut bytes = Vec::new();
        std::fs::File::open(&abs)
            .and_then(|f| f.take(chats::MAX_DOCUMENT).read_to_end(&mut bytes))
            .map_err(|e| Error::io(&abs, e))?;
        let sha = sha256_hex(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let name = abs.display().to_string();
        let links = chats::links::extract_document(&name, &text);
        let starts = chats::links::line_starts(&text);
        db.execute("DELETE FROM pages WHERE path = ?1", [&name])?;
        db.execute(
            "INSERT INTO pages (path, sha256, size, imported) VALUES (?1, ?2, ?3, ?4)",
            params![name, sha, bytes.len() as i64, case::now_ns()],
        )?;
        let page = db.last_insert_rowid();
        for l in &links {
            db.execute(
                "INSERT INTO page_links (page, kind, code, url, raw, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    page,
                    l.kind.name(),
                    l.code.clone().or(l.phone_e164.clone()),
                    l.url,
                    l.raw,
                    chats::links::line_of(&starts, l.offset) as i64
                ],
            )?;
        }
        summary.pages += 1;
        summary.links += links.len();
    }
    let r = resolve(case)?;
    persist(case.connection(), &r)?;
    summary.tied = r
        .invite_links
        .iter()
        .filter(|l| l.group.is_some() && l.posted_in.iter().any(|p| p.starts_with("page:")))
        .count();
    Ok(summary)
}

fn sha256_hex(bytes: &[u8]) -> String {
    let mut d = media::Digester::new();
    d.update(bytes);
    media::hex(&d.finish().sha256)
}
