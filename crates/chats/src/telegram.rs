//! Telegram Desktop's machine-readable export (`result.json`): one chat, or
//! the whole account with its contact list.
//!
//! Messages are read one by one from the raw JSON so a message of the wrong
//! shape costs that message alone and its error names its line.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::links::{self, line_of, line_starts};
use crate::model::*;
use crate::time::LocalTime;
use crate::Error;

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    messages: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(rename = "type", default)]
    kind: Option<Value>,
    #[serde(borrow, default)]
    chats: Option<ChatList<'a>>,
    #[serde(borrow, default)]
    left_chats: Option<ChatList<'a>>,
    #[serde(default)]
    personal_information: Option<Value>,
    #[serde(default)]
    contacts: Option<Value>,
}

#[derive(Deserialize)]
struct ChatList<'a> {
    #[serde(borrow, default)]
    list: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Chat<'a> {
    #[serde(borrow, default)]
    messages: Vec<&'a RawValue>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(rename = "type", default)]
    kind: Option<Value>,
}

/// The label a deleted account gets: the export gives only its id.
pub fn deleted_label(from_id: &str) -> String {
    format!("Deleted Account ({from_id})")
}

/// File paths are replaced by a sentence when the file was not exported.
fn not_exported(path: &str) -> bool {
    path.starts_with('(') && path.ends_with(')')
}

struct Ctx<'s> {
    src: &'s str,
    starts: Vec<usize>,
    source: String,
}

impl Ctx<'_> {
    fn line_of_raw(&self, raw: &RawValue) -> usize {
        let off = (raw.get().as_ptr() as usize).saturating_sub(self.src.as_ptr() as usize);
        line_of(&self.starts, off)
    }
}

/// Parses a `result.json`, single chat or whole account, into one export per chat.
pub(crate) fn parse(src: &str, source: &str) -> Result<Vec<Export>, Error> {
    let top: Top = serde_json::from_str(src).map_err(|e| Error::Json {
        path: source.into(),
        line: e.line(),
        column: e.column(),
        why: e.to_string(),
    })?;
    let ctx = Ctx {
        src,
        starts: line_starts(src),
        source: source.into(),
    };
    let mut exports = Vec::new();
    // Display name → every phone number listed under it: two contacts with
    // one name are not silently merged.
    let mut phones: HashMap<String, Vec<String>> = HashMap::new();
    let mut exporter = None;
    if let Some(Value::Object(p)) = &top.personal_information {
        let name = full_name(p.get("first_name"), p.get("last_name"));
        if let (Some(n), Some(ph)) = (&name, p.get("phone_number").and_then(Value::as_str)) {
            phones.entry(n.clone()).or_default().push(ph.to_string());
        }
        exporter = name;
    }
    if let Some(list) = top
        .contacts
        .as_ref()
        .and_then(|c| c.get("list"))
        .and_then(Value::as_array)
    {
        for c in list {
            if let (Some(n), Some(ph)) = (
                full_name(c.get("first_name"), c.get("last_name")),
                c.get("phone_number").and_then(Value::as_str),
            ) {
                let list = phones.entry(n).or_default();
                if !list.iter().any(|p| p == ph) {
                    list.push(ph.to_string());
                }
            }
        }
    }
    if let Some(messages) = &top.messages {
        exports.push(chat(
            &ctx,
            messages,
            top.name.as_ref(),
            top.kind.as_ref(),
            &phones,
            exporter.clone(),
        ));
    }
    let mut skipped = Vec::new();
    let mut first_error = None;
    for list in [&top.chats, &top.left_chats].into_iter().flatten() {
        for raw in &list.list {
            match serde_json::from_str::<Chat>(raw.get()) {
                Ok(c) => exports.push(chat(
                    &ctx,
                    &c.messages,
                    c.name.as_ref(),
                    c.kind.as_ref(),
                    &phones,
                    exporter.clone(),
                )),
                Err(e) => {
                    // One malformed chat does not cost the account's other chats.
                    let line = ctx.line_of_raw(raw) + e.line() - 1;
                    skipped.push(Issue {
                        file: source.into(),
                        line: Some(line),
                        message: format!("chat skipped: {e}"),
                    });
                    first_error.get_or_insert(Error::Json {
                        path: source.into(),
                        line,
                        column: e.column(),
                        why: format!("chat: {e}"),
                    });
                }
            }
        }
    }
    if exports.is_empty() {
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    // Skipped chats have no export of their own: the first export reports them.
    if let Some(first) = exports.first_mut() {
        first.errors.splice(0..0, skipped);
    }
    if exports.is_empty() {
        return Err(Error::NotAnExport {
            path: source.into(),
            why: "JSON without \"messages\" or \"chats\": not a Telegram export".into(),
        });
    }
    Ok(exports)
}

fn full_name(first: Option<&Value>, last: Option<&Value>) -> Option<String> {
    let f = first.and_then(Value::as_str).unwrap_or("");
    let l = last.and_then(Value::as_str).unwrap_or("");
    let n = format!("{f} {l}").trim().to_string();
    (!n.is_empty()).then_some(n)
}

fn chat(
    ctx: &Ctx,
    raws: &[&RawValue],
    name: Option<&Value>,
    kind: Option<&Value>,
    phones: &HashMap<String, Vec<String>>,
    exporter: Option<String>,
) -> Export {
    let kind = kind.and_then(Value::as_str).unwrap_or("");
    let name = name.and_then(Value::as_str).map(str::to_string);
    let is_group = kind.contains("group") || kind.contains("channel");
    let mut errors = Vec::new();
    let mut messages = Vec::with_capacity(raws.len());
    let mut values = Vec::with_capacity(raws.len());
    for raw in raws {
        let line = ctx.line_of_raw(raw);
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(v) => values.push((line, v)),
            Err(e) => errors.push(Issue {
                file: ctx.source.clone(),
                line: Some(line + e.line() - 1),
                message: format!("message: {e}"),
            }),
        }
    }
    // Names two accounts share ("Ann" and another "Ann"): those are told
    // apart by their id, so the two never merge into one participant.
    let mut ids_by_name: HashMap<&str, Vec<String>> = HashMap::new();
    for (_, v) in &values {
        for (name_key, id_key) in [("from", "from_id"), ("actor", "actor_id")] {
            if let (Some(Value::String(n)), Some(id)) = (v.get(name_key), v.get(id_key).and_then(id_string)) {
                let ids = ids_by_name.entry(n.as_str()).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    let shared: HashSet<String> = ids_by_name
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(n, _)| n.to_string())
        .collect();
    for (line, v) in values {
        match message(&v, line, messages.len() + 1, &shared) {
            Ok(Some(m)) => {
                if removal_between_deleted_accounts(&v) {
                    errors.push(Issue {
                        file: ctx.source.clone(),
                        line: Some(line),
                        message: "a deleted account removed a deleted member: the export cannot tell this from \
                                  the account leaving; recorded as it reads, a removal of an unidentified member"
                            .into(),
                    });
                }
                messages.push(m)
            }
            Ok(None) => {}
            Err(why) => errors.push(Issue {
                file: ctx.source.clone(),
                line: Some(line),
                message: why,
            }),
        }
    }
    let mut labels: Vec<&str> = Vec::new();
    for m in &messages {
        labels.extend(m.sender.as_deref());
        if let Some(e) = &m.event {
            labels.extend(e.actor.as_deref());
            labels.extend(e.targets.iter().map(String::as_str));
        }
    }
    let mut participants = participants(labels);
    for p in &mut participants {
        match phones.get(&p.display).map(Vec::as_slice) {
            Some([one]) => {
                // Contacts' numbers are written as the user saved them: bare
                // digits are a national number, not an international one.
                if let Some(ph) = crate::phone::parse(one, false) {
                    p.phone_e164 = Some(ph.e164);
                    p.region = ph.region;
                }
            }
            Some(many) if many.len() > 1 => errors.push(Issue {
                file: ctx.source.clone(),
                line: None,
                message: format!(
                    "{} contacts are named {:?} ({}): no number given to the participant",
                    many.len(),
                    p.display,
                    many.join(", ")
                ),
            }),
            _ => {}
        }
    }
    Export {
        source: ctx.source.clone(),
        platform: Platform::Telegram,
        variant: Variant::DesktopJson,
        locale: None,
        date_order: None,
        date_order_assumed: false,
        clock: None,
        group_name: if is_group { name } else { None },
        exporter,
        participants,
        messages,
        errors,
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Result<Option<&'a str>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("\"{key}\" should be a string, found {}", type_name(other))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An id as the export writes it (`"user123"`), or a bare number.
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(format!("user{n}")),
        _ => None,
    }
}

/// A name, with the account's id when another account has the same name.
fn labelled(name: &str, id: Option<String>, shared: &HashSet<String>) -> String {
    match id {
        Some(id) if shared.contains(name) => format!("{name} ({id})"),
        _ => name.to_string(),
    }
}

/// A `remove_members` whose actor and only member are both deleted accounts
/// (`null` names). A member who leaves is logged as removing themselves, so
/// this is either a deleted account leaving or one deleted account removing
/// another: the export keeps the actor's id but not the member's, and cannot
/// say which. It is recorded as it reads (a removal whose target is an
/// unidentified account, never merged with the actor) and reported as an
/// issue, so an examiner sees the doubt instead of a guess either way.
fn removal_between_deleted_accounts(v: &Value) -> bool {
    v.get("action").and_then(Value::as_str) == Some("remove_members")
        && v.get("actor").is_none_or(Value::is_null)
        && v.get("members")
            .and_then(Value::as_array)
            .is_some_and(|m| m.len() == 1 && m[0].is_null())
}

/// Member names of a service message. A deleted account is `null` with no
/// id beside it: each gets its own label (the message and position), so
/// unrelated deleted accounts never merge into one person.
fn names(v: Option<&Value>, message_id: Option<i64>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(k, m)| {
                    m.as_str().map_or_else(
                        || match message_id {
                            Some(id) => deleted_label(&format!("member {} of message {id}", k + 1)),
                            None => deleted_label(&format!("member {}", k + 1)),
                        },
                        str::to_string,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One message object. `Ok(None)` for kinds with nothing to report.
fn message(v: &Value, line: usize, n: usize, shared: &HashSet<String>) -> Result<Option<Message>, String> {
    if !v.is_object() {
        return Err(format!("message should be an object, found {}", type_name(v)));
    }
    let id = match v.get("id") {
        Some(Value::Number(x)) => x.as_i64(),
        None => None,
        Some(other) => return Err(format!("\"id\" should be a number, found {}", type_name(other))),
    };
    let kind = str_of(v, "type")?.unwrap_or("message");
    if kind == "unsupported" {
        return Ok(None);
    }
    let timestamp = str_of(v, "date")?.and_then(LocalTime::parse_iso);
    let timestamp_utc = match v.get("date_unixtime") {
        Some(Value::String(s)) => Some(
            s.parse::<i64>()
                .map_err(|_| format!("\"date_unixtime\" is not a number: {s:?}"))?,
        ),
        Some(Value::Number(x)) => x.as_i64(),
        None | Some(Value::Null) => None,
        Some(other) => {
            return Err(format!(
                "\"date_unixtime\" should be a string, found {}",
                type_name(other)
            ))
        }
    };
    if timestamp.is_none() && timestamp_utc.is_none() {
        return Err("message has no date".into());
    }
    let (text, mut found) = text_of(v.get("text"))?;
    for l in links::extract(&text) {
        if !found.iter().any(|f: &MessageLink| f.url == l.url) {
            found.push(l.into());
        }
    }
    let mut m = Message {
        n,
        line,
        id,
        kind: Kind::Message,
        timestamp,
        timestamp_utc,
        sender: None,
        text,
        attachment: None,
        event: None,
        links: found,
        edited: v.get("edited").is_some(),
    };
    if kind == "service" {
        m.kind = Kind::System;
        let actor = match str_of(v, "actor")? {
            Some(a) => Some(labelled(a, v.get("actor_id").and_then(id_string), shared)),
            None => str_of(v, "actor_id")?.map(deleted_label),
        };
        let members = names(v.get("members"), id);
        // The actor is the only member: the same account on both sides.
        let actor_name = str_of(v, "actor")?;
        let self_only = members.len() == 1 && actor_name == Some(members[0].as_str());
        let action = str_of(v, "action")?.unwrap_or("");
        let ev = |kind, actor: Option<String>, targets: Vec<String>, value: Option<String>| Event {
            kind,
            actor,
            targets,
            value,
            old_value: None,
        };
        let title = str_of(v, "title")?.map(str::to_string);
        m.event = match action {
            "create_group" | "create_channel" => Some(ev(EventType::GroupCreated, actor, members, title)),
            // Telegram logs a user who joins a public group as inviting themselves.
            "invite_members" if self_only => Some(ev(EventType::MemberJoined, None, actor.into_iter().collect(), None)),
            "invite_members" => Some(ev(EventType::MemberAdded, actor, members, None)),
            "join_group_by_link" => {
                let inviter = str_of(v, "inviter")?.map(str::to_string);
                Some(ev(
                    EventType::MemberJoinedViaLink,
                    inviter,
                    actor.into_iter().collect(),
                    None,
                ))
            }
            "remove_members" if self_only => {
                let me: Vec<String> = actor.iter().cloned().collect();
                Some(ev(EventType::MemberLeft, actor, me, None))
            }
            "remove_members" => Some(ev(EventType::MemberRemoved, actor, members, None)),
            "edit_group_title" => Some(ev(EventType::SubjectChanged, actor, vec![], title)),
            "edit_group_photo" | "delete_group_photo" => Some(ev(EventType::IconChanged, actor, vec![], None)),
            "migrate_to_supergroup" | "migrate_from_group" => {
                Some(ev(EventType::MigratedToSupergroup, actor, vec![], title))
            }
            "pin_message" => {
                let mid = v.get("message_id").map(|x| x.to_string().trim_matches('"').to_string());
                Some(ev(EventType::MessagePinned, actor, vec![], mid))
            }
            _ => None,
        };
        return Ok(Some(m));
    }
    m.sender = Some(match str_of(v, "from")? {
        Some(f) => labelled(f, v.get("from_id").and_then(id_string), shared),
        None => match v.get("from_id") {
            Some(Value::String(id)) => deleted_label(id),
            Some(Value::Number(id)) => deleted_label(&format!("user{id}")),
            _ => "Deleted Account".to_string(),
        },
    });
    if let Some(photo) = str_of(v, "photo")? {
        let omitted = not_exported(photo);
        m.attachment = Some(Attachment {
            filename: (!omitted).then(|| photo.to_string()),
            media: Media::Image,
            omitted,
        });
    } else if let Some(file) = str_of(v, "file")? {
        let omitted = not_exported(file);
        let media = match str_of(v, "media_type")? {
            Some("sticker") => Media::Sticker,
            Some("voice_message") => Media::Voice,
            Some("video_message" | "video_file") => Media::Video,
            Some("animation") => Media::Gif,
            Some("audio_file") => Media::Audio,
            Some(_) => Media::Unknown,
            None => Media::from_filename(file),
        };
        let filename = if omitted {
            str_of(v, "file_name")?.map(str::to_string)
        } else {
            Some(file.to_string())
        };
        m.attachment = Some(Attachment {
            filename,
            media,
            omitted,
        });
    } else if v.get("contact_information").is_some() {
        m.attachment = Some(Attachment {
            filename: str_of(v, "contact_vcard")?.map(str::to_string),
            media: Media::Contact,
            omitted: false,
        });
    }
    Ok(Some(m))
}

/// The text of a message (a string or an array of strings and entities) and
/// the links only an entity holds (`text_link`'s `href`).
fn text_of(v: Option<&Value>) -> Result<(String, Vec<MessageLink>), String> {
    match v {
        None | Some(Value::Null) => Ok((String::new(), vec![])),
        Some(Value::String(s)) => Ok((s.clone(), vec![])),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            let mut found = Vec::new();
            for p in parts {
                match p {
                    Value::String(s) => text.push_str(s),
                    Value::Object(o) => {
                        if let Some(t) = o.get("text").and_then(Value::as_str) {
                            text.push_str(t);
                        }
                        if let Some(href) = o.get("href").and_then(Value::as_str) {
                            found.extend(links::extract(href).into_iter().map(MessageLink::from));
                        }
                    }
                    other => return Err(format!("\"text\" array holds {}", type_name(other))),
                }
            }
            Ok((text, found))
        }
        Some(other) => Err(format!(
            "\"text\" should be a string or an array, found {}",
            type_name(other)
        )),
    }
}
