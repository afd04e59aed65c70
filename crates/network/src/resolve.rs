//! From raw imports to one picture: groups merged across devices, clocks
//! reconciled, one record per real message, identities, memberships,
//! shares and invite links.
//!
//! The steps, in order:
//!
//! 1. **Same group.** Exports of one platform that carry the same messages
//!    (same text, or the same attachment by SHA-256) are one group, whatever
//!    each device called it or in which language its notices are.
//! 2. **Clocks.** WhatsApp writes the device's local wall clock. An export
//!    whose offset was given, or a Telegram export (UTC inside), anchors its
//!    group; the others take the offset that best lines their copies of the
//!    shared messages up with an anchored export (the mode of the
//!    differences, rounded to 15 minutes: Android keeps minutes only). A
//!    group with no anchor at all is read as UTC and flagged.
//! 3. **One record per real message.** Copies of a message in several
//!    exports (same content, reconciled times within 90 s) become one
//!    message listing every `(export, line)` that shows it. Notices merge on
//!    their type and time.
//! 4. **Identity.** A label is an address-book name, a number or a push
//!    name, and means something only on the device that shows it. Labels
//!    are joined (union-find) when: the label is a number; two devices show
//!    the same message with different labels for its sender (or for the
//!    one person a notice names); a device's vCard pairs the name with a
//!    number; it is the owner's "you" or own name. Each joined class is one
//!    account, keyed by its E.164 number; a class with no number stays a
//!    name, flagged unresolved. Number-change notices link the two numbers
//!    without merging them (each number is its own subscriber for a
//!    referral).
//! 5. Memberships from created/added/joined/left/removed notices, plus
//!    everyone seen writing; shares of known items from matched
//!    attachments; invite codes tied to the group whose chat posted them,
//!    and to the pages that advertise them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use case::CaseStore;
use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;

use crate::store::ensure_schema;
use crate::Error;

/// Tolerance when lining up copies of a message, seconds (Android keeps minutes only).
const SAME_MESSAGE_S: i64 = 90;
/// No device clock is further than this from another's (UTC-12 to UTC+14, rounded up).
const MAX_OFFSET_S: i64 = 26 * 3600 + 900;
/// Offsets are whole quarter hours.
const OFFSET_STEP_S: i64 = 900;

/// The whole picture.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Resolved {
    /// Accounts, by index.
    pub accounts: Vec<Account>,
    /// Groups, by index.
    pub groups: Vec<Group>,
    /// One per real message or notice.
    pub messages: Vec<ChatMessage>,
    /// Shares of known items, in time order.
    pub shares: Vec<Share>,
    /// Invite links seen in chats and pages.
    pub invite_links: Vec<InviteLink>,
    /// Saved pages.
    pub pages: Vec<Page>,
    /// Exports read.
    pub exports: usize,
}

/// One account (a person's number, or a label no export ties to a number).
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// E.164, `telegram:<name>`, `name:<label>` or `owner:<device>`.
    pub key: String,
    /// Its number.
    pub phone_e164: Option<String>,
    /// ISO region of the number, when the number has one.
    pub region: Option<String>,
    /// whatsapp or telegram.
    pub platform: String,
    /// A number is known for it.
    pub resolved: bool,
    /// Why to look twice (`unresolved`, `several numbers`, `number changed`).
    pub flags: Vec<String>,
    /// Every name shown for it, sorted.
    pub display_names: Vec<String>,
    /// Other numbers tied to it (number-change notices, several numbers in one class).
    pub linked_numbers: Vec<String>,
    /// `(device, label)` pairs it was seen as.
    pub labels: Vec<(String, String)>,
}

impl Account {
    /// The country for referrals: its number's region, else `unknown`.
    pub fn country(&self) -> String {
        self.region.clone().unwrap_or_else(|| "unknown".into())
    }

    /// A short label for graphs: first display name, else the key.
    pub fn label(&self) -> String {
        self.display_names.first().cloned().unwrap_or_else(|| self.key.clone())
    }
}

/// A group, merged over every export of it.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// whatsapp or telegram.
    pub platform: String,
    /// Its latest name.
    pub name: String,
    /// Every name it had in the exports.
    pub names: Vec<String>,
    /// The exports of it (paths).
    pub exports: Vec<String>,
    /// Per export: `(path, device, offset minutes, how)` where how is given, utc, estimated or assumed.
    pub clock_offsets: Vec<(String, String, i64, String)>,
    /// Members.
    pub members: Vec<Membership>,
    /// First and last record, UTC seconds.
    pub first: Option<i64>,
    /// Last record.
    pub last: Option<i64>,
    /// Ordinary messages (one per real message).
    pub messages: usize,
}

/// A member of a group.
#[derive(Debug, Clone, Serialize)]
pub struct Membership {
    /// The account.
    pub account: usize,
    /// Joined (UTC seconds), when a notice or message says.
    pub start: Option<i64>,
    /// Left or removed.
    pub end: Option<i64>,
    /// created, added, link, seen or exporter.
    pub how: String,
    /// Who added them, or (Telegram) whose link they joined by.
    pub via: Option<usize>,
}

/// One real message or notice.
#[derive(Debug, Clone, Serialize)]
pub struct ChatMessage {
    /// Group index.
    pub group: usize,
    /// message or system.
    pub kind: String,
    /// Sender account.
    pub sender: Option<usize>,
    /// UTC seconds (reconciled).
    pub utc: Option<i64>,
    /// Text.
    pub text: String,
    /// Attachment file name in the first export showing it.
    pub attachment: Option<String>,
    /// The attachment's SHA-256, when the file is in the case.
    pub file_sha256: Option<String>,
    /// The notice, as the parser gave it.
    pub event: Option<Value>,
    /// `(export path, line)` of every copy.
    pub renderings: Vec<(String, usize)>,
}

impl ChatMessage {
    /// Where to find it: the first copy as `path:line`.
    pub fn citation(&self) -> String {
        self.renderings
            .first()
            .map(|(p, l)| format!("{p}:{l}"))
            .unwrap_or_default()
    }
}

/// One match behind a share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShareEvidence {
    /// The file's SHA-256.
    pub file_sha256: String,
    /// The bank.
    pub bank: String,
    /// The list's own id for the entry (the store's number when the list has none).
    pub entry_id: String,
    /// md5, sha256, pdq...
    pub signal: String,
    /// Hamming distance for PDQ.
    pub distance: u32,
    /// Categories.
    pub categories: Vec<String>,
    /// The message: group, time and where the export shows it.
    pub message: String,
}

/// An account shared a known item in a group at a time.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    /// Account index.
    pub account: usize,
    /// Group index.
    pub group: usize,
    /// The item: the list's id (or `bank:entry`).
    pub item: String,
    /// UTC seconds.
    pub utc: Option<i64>,
    /// Message index.
    pub message: usize,
    /// The attachment's SHA-256.
    pub file_sha256: String,
    /// The matches.
    pub evidence: Vec<ShareEvidence>,
}

/// An invite link and where it was seen.
#[derive(Debug, Clone, Serialize)]
pub struct InviteLink {
    /// whatsapp_group, telegram_invite...
    pub kind: String,
    /// The code.
    pub code: String,
    /// Canonical URL.
    pub url: String,
    /// The group it opens: the group whose chat posted it.
    pub group: Option<usize>,
    /// `chat:<group>@<time>` and `page:<path>:<line>` entries.
    pub posted_in: Vec<String>,
}

/// A saved page.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// Path.
    pub path: String,
    /// SHA-256.
    pub sha256: String,
    /// Links found.
    pub links: Vec<PageLink>,
}

/// A link on a page.
#[derive(Debug, Clone, Serialize)]
pub struct PageLink {
    /// Kind.
    pub kind: String,
    /// Code or number.
    pub code: Option<String>,
    /// URL.
    pub url: String,
    /// Line on the page.
    pub line: usize,
    /// The group the code opens, when a chat names it.
    pub group: Option<usize>,
}

struct RawExport {
    path: String,
    device: String,
    owner: Option<String>,
    owner_name: Option<String>,
    utc_offset: Option<i64>,
    platform: String,
    group_name: Option<String>,
    records: Vec<RawRec>,
}

struct RawRec {
    line: usize,
    kind: String,
    /// Local wall clock read as if UTC.
    local: Option<i64>,
    utc: Option<i64>,
    sender: Option<String>,
    text: String,
    att_name: Option<String>,
    file: Option<i64>,
    event: Option<Value>,
    links: Vec<Value>,
}

fn load_raw(db: &Connection) -> Result<Vec<RawExport>, Error> {
    let mut out = Vec::new();
    let mut stmt = db.prepare(
        "SELECT id, path, device, owner, owner_name, utc_offset, platform, group_name FROM chat_exports ORDER BY id",
    )?;
    let mut recs = db.prepare(
        "SELECT line, kind, local, utc, sender, text, att_name, file, event, links FROM chat_records
         WHERE export = ?1 ORDER BY n",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            RawExport {
                path: r.get(1)?,
                device: r.get(2)?,
                owner: r.get(3)?,
                owner_name: r.get(4)?,
                utc_offset: r.get(5)?,
                platform: r.get(6)?,
                group_name: r.get(7)?,
                records: Vec::new(),
            },
        ))
    })?;
    for row in rows {
        let (id, mut ex) = row?;
        let rs = recs.query_map([id], |r| {
            let local: Option<String> = r.get(2)?;
            let event: Option<String> = r.get(8)?;
            let links: String = r.get(9)?;
            Ok(RawRec {
                line: r.get::<_, i64>(0)? as usize,
                kind: r.get(1)?,
                local: local
                    .as_deref()
                    .and_then(chats::time::LocalTime::parse_iso)
                    .map(|t| t.to_unix()),
                utc: r.get(3)?,
                sender: r.get(4)?,
                text: r.get(5)?,
                att_name: r.get(6)?,
                file: r.get(7)?,
                event: event.and_then(|e| serde_json::from_str(&e).ok()),
                links: serde_json::from_str(&links).unwrap_or_default(),
            })
        })?;
        for r in rs {
            let mut r = r?;
            // iOS writes notices under the group's name; one the parser did
            // not recognise must not become an account named after the group.
            if ex.platform == "whatsapp" && r.sender.is_some() && r.sender == ex.group_name {
                r.kind = "system".into();
                r.sender = None;
            }
            ex.records.push(r);
        }
        out.push(ex);
    }
    Ok(out)
}

struct FileInfo {
    sha256: Option<String>,
    /// (bank, entry id, signal, distance, categories), flagged banks only.
    matches: Vec<(String, u32, String, u32, Vec<String>)>,
}

fn load_files(db: &Connection, ids: &BTreeSet<i64>) -> Result<HashMap<i64, FileInfo>, Error> {
    let mut out = HashMap::new();
    let mut f = db.prepare("SELECT sha256 FROM files WHERE id = ?1")?;
    let mut m = db.prepare(
        "SELECT bank, entry_id, signal, distance, categories FROM matches WHERE file = ?1 AND known_file = 0
         ORDER BY distance, bank, entry_id",
    )?;
    for &id in ids {
        let sha256: Option<String> = f.query_row([id], |r| r.get(0)).ok().flatten();
        let matches = m
            .query_map([id], |r| {
                let cats: String = r.get(4)?;
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                    serde_json::from_str::<Vec<String>>(&cats).unwrap_or_default(),
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        out.insert(id, FileInfo { sha256, matches });
    }
    Ok(out)
}

struct Uf {
    parent: Vec<usize>,
    ids: HashMap<String, usize>,
    names: Vec<String>,
}

impl Uf {
    fn node(&mut self, name: String) -> usize {
        if let Some(&i) = self.ids.get(&name) {
            return i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.ids.insert(name.clone(), i);
        self.names.push(name);
        i
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            // The smaller index wins, so classes are named the same whatever the order of unions.
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            self.parent[hi] = lo;
        }
    }
}

const SEP: char = '\u{1f}';

fn number_of(label: &str) -> Option<String> {
    if chats::phone::looks_like_phone(label) {
        chats::phone::parse(label, false).map(|p| p.e164)
    } else {
        None
    }
}

/// A label node: device-scoped for WhatsApp (address-book names), global for Telegram (profile names).
fn label_node(uf: &mut Uf, ex: &RawExport, label: &str) -> usize {
    let node = if ex.platform == "telegram" {
        uf.node(format!("T{SEP}{label}"))
    } else {
        uf.node(format!("L{SEP}{}{SEP}{label}", ex.device))
    };
    if ex.platform != "telegram" {
        if let Some(n) = number_of(label) {
            let p = uf.node(format!("P{SEP}{n}"));
            uf.union(node, p);
        }
    }
    node
}

fn content_key(r: &RawRec, files: &HashMap<i64, FileInfo>) -> Option<(String, String)> {
    if r.kind != "message" {
        return None;
    }
    let sha = r
        .file
        .and_then(|f| files.get(&f))
        .and_then(|f| f.sha256.clone())
        .unwrap_or_default();
    let text = r.text.trim().to_string();
    if text.is_empty() && sha.is_empty() {
        return None;
    }
    Some((text, sha))
}

/// What copies of a record have in common across devices: content for
/// messages, type and number of people named for notices.
fn lookup_key(r: &RawRec, files: &HashMap<i64, FileInfo>) -> Option<(String, String)> {
    if let Some(k) = content_key(r, files) {
        return Some(k);
    }
    let ev = r.event.as_ref()?;
    let t = ev_str(ev, "type")?;
    (r.kind == "system").then(|| (format!("\u{0}event:{t}"), ev_targets(ev).len().to_string()))
}

fn ev_str<'a>(e: &'a Value, k: &str) -> Option<&'a str> {
    e.get(k).and_then(Value::as_str)
}

fn ev_targets(e: &Value) -> Vec<String> {
    e.get("targets")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

struct Canon {
    kind: String,
    utc: Option<i64>,
    /// (export index, record index)
    copies: Vec<(usize, usize)>,
    /// The number the first copy shows for its sender (or the one person a notice names).
    hint: Option<String>,
    /// Another record of the same export looks the same within the window.
    ambiguous: bool,
}

/// The number a record shows for the person it is about, when it shows one.
fn identity_hint(r: &RawRec) -> Option<String> {
    if let Some(s) = &r.sender {
        return number_of(s);
    }
    match r.event.as_ref().map(ev_targets).as_deref() {
        Some([t]) => number_of(t),
        _ => None,
    }
}

/// Builds the picture from everything imported into the case.
pub fn resolve(case: &CaseStore) -> Result<Resolved, Error> {
    let db = case.connection();
    ensure_schema(db)?;
    let exports = load_raw(db)?;
    let file_ids: BTreeSet<i64> = exports
        .iter()
        .flat_map(|e| e.records.iter().filter_map(|r| r.file))
        .collect();
    let files = load_files(db, &file_ids)?;
    let item_names: HashMap<(String, u32), Option<String>> = {
        let mut stmt = db.prepare("SELECT bank, entry_id, external_id FROM item_names")?;
        let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };

    // 1. Same group: exports sharing messages.
    let keys: Vec<HashMap<(String, String), i64>> = exports
        .iter()
        .map(|ex| {
            let mut count: HashMap<(String, String), (usize, i64)> = HashMap::new();
            for r in &ex.records {
                if let Some(k) = content_key(r, &files) {
                    let t = r.local.or(r.utc).unwrap_or(0);
                    let e = count.entry(k).or_insert((0, t));
                    e.0 += 1;
                }
            }
            count
                .into_iter()
                .filter(|(_, (n, _))| *n == 1)
                .map(|(k, (_, t))| (k, t))
                .collect()
        })
        .collect();
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    for (e, ex) in exports.iter().enumerate() {
        let mut best: Option<(usize, usize)> = None;
        for (c, members) in clusters.iter().enumerate() {
            if exports[members[0]].platform != ex.platform {
                continue;
            }
            // Shared messages at a consistent clock difference: an item
            // forwarded to another group is the same content at another
            // time. A copy of the group shares text too: attachments alone
            // may be the same items forwarded by a member of both groups.
            let mut n = 0;
            for &m in members {
                let mut votes: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
                for (k, &t) in &keys[e] {
                    if let Some(&tm) = keys[m].get(k) {
                        let d = t - tm;
                        // Clocks differ by at most 26 hours; a larger gap is a forward, not a copy.
                        if d.abs() > MAX_OFFSET_S {
                            continue;
                        }
                        let v = votes
                            .entry((d as f64 / OFFSET_STEP_S as f64).round() as i64)
                            .or_default();
                        v.0 += 1;
                        v.1 += usize::from(!k.0.is_empty());
                    }
                }
                let best = votes
                    .values()
                    .filter(|(_, texts)| *texts > 0)
                    .map(|(all, _)| *all)
                    .max();
                n = n.max(best.unwrap_or(0));
            }
            let smallest = members
                .iter()
                .map(|&m| keys[m].len())
                .min()
                .unwrap_or(0)
                .min(keys[e].len());
            if (n >= 3 || (n >= 1 && n * 2 >= smallest)) && best.is_none_or(|(_, b)| n > b) {
                best = Some((c, n));
            }
        }
        match best {
            Some((c, _)) => clusters[c].push(e),
            None => clusters.push(vec![e]),
        }
    }

    // 2. Clocks. A device has one clock: an offset given for, or estimated
    // from, any of its exports holds for all of them.
    let mut device_offset: HashMap<&str, (i64, &'static str)> = HashMap::new();
    for ex in &exports {
        if let (Some(o), "whatsapp") = (ex.utc_offset, ex.platform.as_str()) {
            device_offset.entry(ex.device.as_str()).or_insert((o * 60, "given"));
        }
    }
    let known = |e: usize, device_offset: &HashMap<&str, (i64, &'static str)>| -> Option<(i64, &'static str)> {
        if exports[e].platform == "telegram" {
            Some((0, "utc"))
        } else {
            device_offset.get(exports[e].device.as_str()).copied()
        }
    };
    loop {
        let mut changed = false;
        for members in &clusters {
            for &e in members {
                if known(e, &device_offset).is_some() {
                    continue;
                }
                let mut votes: BTreeMap<i64, usize> = BTreeMap::new();
                for &a in members {
                    let Some((off_a, _)) = known(a, &device_offset) else {
                        continue;
                    };
                    for (k, &t_e) in &keys[e] {
                        if let Some(&t_a) = keys[a].get(k) {
                            let d = t_e - (t_a - off_a);
                            let rounded = (d as f64 / OFFSET_STEP_S as f64).round() as i64 * OFFSET_STEP_S;
                            *votes.entry(rounded).or_default() += 1;
                        }
                    }
                }
                if let Some((o, _)) = votes.into_iter().max_by_key(|(o, n)| (*n, -o.abs())) {
                    device_offset.insert(exports[e].device.as_str(), (o, "estimated"));
                    changed = true;
                }
            }
        }
        if changed {
            continue;
        }
        // Nothing more to learn: the first device still unknown is read as UTC, flagged, and the rest follow it.
        match (0..exports.len()).find(|&e| known(e, &device_offset).is_none()) {
            Some(e) => {
                device_offset.insert(exports[e].device.as_str(), (0, "assumed"));
            }
            None => break,
        }
    }
    let offsets: Vec<(i64, &'static str)> = (0..exports.len())
        .map(|e| known(e, &device_offset).unwrap_or((0, "assumed")))
        .collect();
    let utc_of = |e: usize, r: &RawRec| -> Option<i64> {
        if exports[e].platform == "telegram" {
            r.utc.or(r.local.map(|l| l - offsets[e].0))
        } else {
            r.local.map(|l| l - offsets[e].0).or(r.utc)
        }
    };

    // 3. One record per real message.
    let mut canon_by_group: Vec<Vec<Canon>> = Vec::new();
    for members in &clusters {
        let mut canon: Vec<Canon> = Vec::new();
        let mut index: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for &e in members {
            // Look-alike records of one export (the same notice several times
            // in a minute, "ok" twice): pairing them across devices by
            // content alone could pair the wrong people.
            let lookups: Vec<Option<((String, String), i64)>> = exports[e]
                .records
                .iter()
                .map(|r| lookup_key(r, &files).zip(utc_of(e, r)))
                .collect();
            let mut buckets: HashMap<(&(String, String), i64), usize> = HashMap::new();
            for (k, t) in lookups.iter().flatten() {
                *buckets.entry((k, t.div_euclid(SAME_MESSAGE_S))).or_default() += 1;
            }
            let ambiguous = |k: &(String, String), t: i64| -> bool {
                let b = t.div_euclid(SAME_MESSAGE_S);
                (b - 1..=b + 1)
                    .map(|x| buckets.get(&(k, x)).copied().unwrap_or(0))
                    .sum::<usize>()
                    > 1
            };
            for (ri, r) in exports[e].records.iter().enumerate() {
                let utc = utc_of(e, r);
                let hint = identity_hint(r);
                let amb = lookups[ri].as_ref().is_some_and(|(k, t)| ambiguous(k, *t));
                let lookup = lookup_key(r, &files);
                let found = lookup.as_ref().and_then(|k| {
                    index.get(k).and_then(|cands| {
                        cands.iter().copied().find(|&c| {
                            let cn: &Canon = &canon[c];
                            let numbers_agree = match (&cn.hint, &hint) {
                                (Some(a), Some(b)) => a == b,
                                _ => !(cn.ambiguous || amb),
                            };
                            !cn.copies.iter().any(|(ce, _)| *ce == e)
                                && numbers_agree
                                && match (cn.utc, utc) {
                                    (Some(a), Some(b)) => (a - b).abs() <= SAME_MESSAGE_S,
                                    _ => false,
                                }
                        })
                    })
                });
                match found {
                    Some(c) => canon[c].copies.push((e, ri)),
                    None => {
                        let c = canon.len();
                        canon.push(Canon {
                            kind: r.kind.clone(),
                            utc,
                            copies: vec![(e, ri)],
                            hint,
                            ambiguous: amb,
                        });
                        if let Some(k) = lookup {
                            index.entry(k).or_default().push(c);
                        }
                    }
                }
            }
        }
        canon.sort_by_key(|c| (c.utc.unwrap_or(i64::MIN), c.copies[0]));
        canon_by_group.push(canon);
    }

    // 4. Identity.
    let mut uf = Uf {
        parent: Vec::new(),
        ids: HashMap::new(),
        names: Vec::new(),
    };
    let mut used_labels: BTreeSet<usize> = BTreeSet::new();
    for ex in &exports {
        for r in &ex.records {
            let mut labels: Vec<String> = r.sender.iter().cloned().collect();
            if let Some(ev) = &r.event {
                labels.extend(ev_str(ev, "actor").map(str::to_string));
                labels.extend(ev_targets(ev));
            }
            for l in labels {
                let n = label_node(&mut uf, ex, &l);
                used_labels.insert(n);
            }
        }
        if let Some(owner) = &ex.owner {
            let p = uf.node(format!("P{SEP}{owner}"));
            let you = label_node(&mut uf, ex, chats::YOU);
            uf.union(you, p);
            if let Some(name) = &ex.owner_name {
                let n = label_node(&mut uf, ex, name);
                uf.union(n, p);
            }
            used_labels.insert(p);
        }
    }
    {
        let mut stmt = db.prepare("SELECT device, name, phone_e164 FROM contacts")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?;
        for row in rows {
            let (device, name, phone) = row?;
            let l = uf.node(format!("L{SEP}{device}{SEP}{name}"));
            let p = uf.node(format!("P{SEP}{phone}"));
            uf.union(l, p);
        }
    }
    for canon in &canon_by_group {
        for c in canon {
            if c.copies.len() < 2 {
                continue;
            }
            let mut senders = Vec::new();
            let mut actors = Vec::new();
            let mut single_targets = Vec::new();
            for &(e, ri) in &c.copies {
                let r = &exports[e].records[ri];
                if let Some(s) = &r.sender {
                    senders.push(label_node(&mut uf, &exports[e], s));
                }
                if let Some(ev) = &r.event {
                    if let Some(a) = ev_str(ev, "actor") {
                        actors.push(label_node(&mut uf, &exports[e], a));
                    }
                    if let [t] = ev_targets(ev).as_slice() {
                        single_targets.push(label_node(&mut uf, &exports[e], t));
                    }
                }
            }
            for set in [senders, actors, single_targets] {
                if set.len() == c.copies.len() {
                    for w in set.windows(2) {
                        uf.union(w[0], w[1]);
                    }
                }
            }
        }
    }
    // Classes → accounts.
    let mut class_members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..uf.parent.len() {
        let root = uf.find(i);
        class_members.entry(root).or_default().push(i);
    }
    let mut accounts: Vec<Account> = Vec::new();
    let mut account_of_class: HashMap<usize, usize> = HashMap::new();
    let mut label_uses: HashMap<usize, usize> = HashMap::new();
    for ex in &exports {
        for r in &ex.records {
            if let Some(s) = &r.sender {
                let n = label_node(&mut uf, ex, s);
                *label_uses.entry(n).or_default() += 1;
            }
        }
    }
    for (root, nodes) in &class_members {
        if !nodes.iter().any(|n| used_labels.contains(n)) {
            continue;
        }
        let mut numbers = BTreeSet::new();
        let mut names = BTreeSet::new();
        let mut labels = Vec::new();
        let mut telegram = false;
        let mut best_label: Option<(usize, String)> = None;
        for &n in nodes {
            let parts: Vec<&str> = uf.names[n].split(SEP).collect();
            match parts.as_slice() {
                ["P", num] => {
                    numbers.insert(num.to_string());
                }
                ["T", label] => {
                    telegram = true;
                    names.insert(label.to_string());
                    labels.push(("telegram".to_string(), label.to_string()));
                    let uses = label_uses.get(&n).copied().unwrap_or(0);
                    if best_label
                        .as_ref()
                        .is_none_or(|(u, l)| uses > *u || (uses == *u && *label < l.as_str()))
                    {
                        best_label = Some((uses, label.to_string()));
                    }
                }
                ["L", device, label] => {
                    labels.push((device.to_string(), label.to_string()));
                    if *label != chats::YOU && number_of(label).is_none() {
                        names.insert(label.to_string());
                        let uses = label_uses.get(&n).copied().unwrap_or(0);
                        if best_label
                            .as_ref()
                            .is_none_or(|(u, l)| uses > *u || (uses == *u && *label < l.as_str()))
                        {
                            best_label = Some((uses, label.to_string()));
                        }
                    }
                }
                _ => {}
            }
        }
        labels.sort();
        let numbers: Vec<String> = numbers.into_iter().collect();
        let mut flags = Vec::new();
        let key = match (numbers.first(), &best_label, telegram) {
            (Some(n), _, _) => n.clone(),
            (None, Some((_, l)), true) => format!("telegram:{l}"),
            (None, Some((_, l)), false) => format!("name:{l}"),
            (None, None, _) => {
                let device = labels.first().map(|(d, _)| d.clone()).unwrap_or_default();
                format!("owner:{device}")
            }
        };
        if numbers.is_empty() {
            flags.push("unresolved".to_string());
        }
        if numbers.len() > 1 {
            flags.push("several numbers".to_string());
        }
        let region = numbers
            .first()
            .and_then(|n| chats::phone::parse(n, true))
            .and_then(|p| p.region);
        account_of_class.insert(*root, accounts.len());
        accounts.push(Account {
            key,
            phone_e164: numbers.first().cloned(),
            region,
            platform: if telegram { "telegram" } else { "whatsapp" }.into(),
            resolved: !numbers.is_empty(),
            flags,
            display_names: names.into_iter().collect(),
            linked_numbers: numbers.iter().skip(1).cloned().collect(),
            labels,
        });
    }
    // Stable order: by key.
    let mut order: Vec<usize> = (0..accounts.len()).collect();
    order.sort_by(|&a, &b| accounts[a].key.cmp(&accounts[b].key));
    let mut new_index = vec![0; accounts.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut sorted: Vec<Account> = order.iter().map(|&i| accounts[i].clone()).collect();
    for v in account_of_class.values_mut() {
        *v = new_index[*v];
    }
    let account_of = |uf: &mut Uf, ex: &RawExport, label: &str| -> Option<usize> {
        let n = label_node(uf, ex, label);
        let root = uf.find(n);
        account_of_class.get(&root).copied()
    };

    // 5. Groups, messages, memberships, shares, links.
    let mut groups = Vec::new();
    let mut messages: Vec<ChatMessage> = Vec::new();
    let mut shares = Vec::new();
    let mut links: BTreeMap<String, InviteLink> = BTreeMap::new();
    let mut number_changes: Vec<(usize, String)> = Vec::new();
    for (g, members) in clusters.iter().enumerate() {
        let canon = &canon_by_group[g];
        let mut names: Vec<String> = Vec::new();
        for &e in members {
            if let Some(n) = &exports[e].group_name {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        let mut member: BTreeMap<usize, Membership> = BTreeMap::new();
        for &e in members {
            if let Some(owner) = &exports[e].owner {
                let p = uf.node(format!("P{SEP}{owner}"));
                let root = uf.find(p);
                if let Some(&a) = account_of_class.get(&root) {
                    member.entry(a).or_insert(Membership {
                        account: a,
                        start: None,
                        end: None,
                        how: "exporter".into(),
                        via: None,
                    });
                }
            }
        }
        let mut first = None;
        let mut last = None;
        let mut count = 0;
        let mut latest_name: Option<String> = None;
        for c in canon {
            let (e0, r0) = c.copies[0];
            let ex = &exports[e0];
            let r = &ex.records[r0];
            if c.utc.is_some() {
                first = first.or(c.utc);
                last = c.utc;
            }
            let sender = r.sender.as_ref().and_then(|s| account_of(&mut uf, ex, s));
            let file = r.file.and_then(|f| files.get(&f));
            let msg_index = messages.len();
            let group_label = names.last().cloned().unwrap_or_default();
            let cite = format!(
                "{} @ {} ({}:{})",
                group_label,
                c.utc.map(crate::iso).unwrap_or_else(|| "unknown time".into()),
                ex.path,
                r.line
            );
            if c.kind == "message" {
                count += 1;
                if let Some(s) = sender {
                    member.entry(s).or_insert(Membership {
                        account: s,
                        start: c.utc,
                        end: None,
                        how: "seen".into(),
                        via: None,
                    });
                }
                // Shares: one per known item the attachment matched.
                if let (Some(s), Some(f)) = (sender, file) {
                    let mut by_item: BTreeMap<String, Vec<ShareEvidence>> = BTreeMap::new();
                    for (bank, id, signal, distance, categories) in &f.matches {
                        let external = item_names.get(&(bank.clone(), *id)).cloned().flatten();
                        let item = external.clone().unwrap_or_else(|| format!("{bank}:{id}"));
                        by_item.entry(item).or_default().push(ShareEvidence {
                            file_sha256: f.sha256.clone().unwrap_or_default(),
                            bank: bank.clone(),
                            entry_id: external.unwrap_or_else(|| id.to_string()),
                            signal: signal.clone(),
                            distance: *distance,
                            categories: categories.clone(),
                            message: cite.clone(),
                        });
                    }
                    for (item, evidence) in by_item {
                        shares.push(Share {
                            account: s,
                            group: g,
                            item,
                            utc: c.utc,
                            message: msg_index,
                            file_sha256: f.sha256.clone().unwrap_or_default(),
                            evidence,
                        });
                    }
                }
                for l in &r.links {
                    let kind = l.get("kind").and_then(Value::as_str).unwrap_or("");
                    let Some(code) = l.get("code").and_then(Value::as_str) else {
                        continue;
                    };
                    if !matches!(
                        kind,
                        "whatsapp_group" | "telegram_invite" | "signal_group" | "discord_invite"
                    ) {
                        continue;
                    }
                    let entry = links.entry(format!("{kind}{SEP}{code}")).or_insert_with(|| InviteLink {
                        kind: kind.into(),
                        code: code.into(),
                        url: l.get("url").and_then(Value::as_str).unwrap_or("").into(),
                        group: Some(g),
                        posted_in: Vec::new(),
                    });
                    entry.posted_in.push(format!(
                        "chat:{}@{}",
                        group_label,
                        c.utc.map(crate::iso).unwrap_or_default()
                    ));
                }
            } else if let Some(ev) = &r.event {
                let actor = ev_str(ev, "actor").and_then(|a| account_of(&mut uf, ex, a));
                let targets: Vec<usize> = ev_targets(ev)
                    .iter()
                    .filter_map(|t| account_of(&mut uf, ex, t))
                    .collect();
                let kind = ev_str(ev, "type").unwrap_or("");
                let mut join = |who: usize, how: &str, via: Option<usize>| {
                    let m = member.entry(who).or_insert(Membership {
                        account: who,
                        start: c.utc,
                        end: None,
                        how: how.into(),
                        via,
                    });
                    if m.how == "seen" || m.how == "exporter" || m.end.is_some() {
                        m.how = how.into();
                        m.via = via.or(m.via);
                        m.start = match (m.start, c.utc) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        m.end = None;
                    }
                };
                match kind {
                    "group_created" => {
                        if let Some(a) = actor {
                            join(a, "created", None);
                        }
                        if let Some(v) = ev_str(ev, "value") {
                            latest_name = Some(v.to_string());
                        }
                    }
                    "member_added" => targets.iter().for_each(|&t| join(t, "added", actor)),
                    "member_joined_via_link" => targets.iter().for_each(|&t| join(t, "link", actor)),
                    "member_left" | "member_removed" => {
                        let gone = if targets.is_empty() {
                            actor.into_iter().collect()
                        } else {
                            targets
                        };
                        for t in gone {
                            if let Some(m) = member.get_mut(&t) {
                                m.end = c.utc;
                            }
                        }
                    }
                    "subject_changed" => {
                        if let Some(v) = ev_str(ev, "value") {
                            latest_name = Some(v.to_string());
                        }
                    }
                    "number_changed" => {
                        if let (Some(a), Some(v)) = (actor, ev_str(ev, "value").and_then(number_of)) {
                            number_changes.push((a, v));
                        }
                    }
                    _ => {}
                }
            }
            messages.push(ChatMessage {
                group: g,
                kind: c.kind.clone(),
                sender,
                utc: c.utc,
                text: r.text.clone(),
                attachment: r.att_name.clone(),
                file_sha256: file.and_then(|f| f.sha256.clone()),
                event: r.event.clone(),
                renderings: c
                    .copies
                    .iter()
                    .map(|&(e, ri)| (exports[e].path.clone(), exports[e].records[ri].line))
                    .collect(),
            });
        }
        if let Some(n) = latest_name {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        groups.push(Group {
            platform: exports[members[0]].platform.clone(),
            name: names.last().cloned().unwrap_or_else(|| format!("chat {}", g + 1)),
            names,
            exports: members.iter().map(|&e| exports[e].path.clone()).collect(),
            clock_offsets: members
                .iter()
                .map(|&e| {
                    (
                        exports[e].path.clone(),
                        exports[e].device.clone(),
                        offsets[e].0 / 60,
                        offsets[e].1.to_string(),
                    )
                })
                .collect(),
            members: member.into_values().collect(),
            first,
            last,
            messages: count,
        });
    }
    for (a, number) in number_changes {
        let old = sorted[a].phone_e164.clone();
        let link = |acc: &mut Account, other: &str| {
            if acc.phone_e164.as_deref() != Some(other) && !acc.linked_numbers.iter().any(|n| n == other) {
                acc.linked_numbers.push(other.to_string());
            }
            if !acc.flags.iter().any(|f| f == "number changed") {
                acc.flags.push("number changed".into());
            }
        };
        link(&mut sorted[a], &number);
        // The new number's own account, when it wrote too, points back at the old one.
        if let Some(old) = old {
            if let Some(new_acc) = sorted
                .iter_mut()
                .find(|x| x.phone_e164.as_deref() == Some(number.as_str()))
            {
                link(new_acc, &old);
            }
        }
    }
    shares.sort_by(|a, b| (a.utc, a.group, &a.item, a.account).cmp(&(b.utc, b.group, &b.item, b.account)));

    // Pages: links, tied to groups by code.
    let mut pages = Vec::new();
    {
        let mut stmt = db.prepare("SELECT id, path, sha256 FROM pages ORDER BY id")?;
        let mut ls = db.prepare("SELECT kind, code, url, line FROM page_links WHERE page = ?1 ORDER BY rowid")?;
        let rows: Vec<(i64, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (id, path, sha256) in rows {
            let mut page_links = Vec::new();
            let found: Vec<(String, Option<String>, String, i64)> = ls
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            for (kind, code, url, line) in found {
                let key = code.as_ref().map(|c| format!("{kind}{SEP}{c}"));
                let group = key.as_ref().and_then(|k| links.get(k)).and_then(|l| l.group);
                if let Some(k) = &key {
                    if let Some(l) = links.get_mut(k) {
                        l.posted_in.push(format!("page:{path}:{line}"));
                    } else if matches!(
                        kind.as_str(),
                        "whatsapp_group" | "telegram_invite" | "signal_group" | "discord_invite"
                    ) {
                        links.insert(
                            k.clone(),
                            InviteLink {
                                kind: kind.clone(),
                                code: code.clone().unwrap_or_default(),
                                url: url.clone(),
                                group: None,
                                posted_in: vec![format!("page:{path}:{line}")],
                            },
                        );
                    }
                }
                page_links.push(PageLink {
                    kind,
                    code,
                    url,
                    line: line as usize,
                    group,
                });
            }
            pages.push(Page {
                path,
                sha256,
                links: page_links,
            });
        }
    }
    Ok(Resolved {
        accounts: sorted,
        groups,
        messages,
        shares,
        invite_links: links.into_values().collect(),
        pages,
        exports: exports.len(),
    })
}
