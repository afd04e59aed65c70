//! NCMEC hash-sharing XML (the `getEntries` response: `images` and `videos`
//! holding `image`/`video` entries with a member, a classification and
//! `fingerprints`). Read with a pull parser, one entry at a time.
//!
//! Fingerprints: `md5`, `sha1` and `pdq` map onto our types, `pdna` onto
//! `photodna`; any other (`netclean`, `videntifier`, `tmk_pdqf`, ...) is kept
//! under its own name. `deleted*` entries are tombstones: they carry no
//! fingerprints and withdraw the entry of the same member and id. The classification becomes `ncmec:<value>`.

use std::io::{BufRead, Write};

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

use super::{merge_categories, EntryWriter, LineError, ReadOptions, Records};
use crate::model::{NewEntry, Signal};

type Item = Result<NewEntry, LineError>;

/// One `image` or `video` being read.
#[derive(Default)]
struct Pending {
    entry_type: String,
    deleted: bool,
    id: String,
    member_id: String,
    member_name: String,
    classification: String,
    timestamp: String,
    fingerprints: Vec<(String, String)>,
}

pub struct NcmecReader {
    reader: Reader<Box<dyn BufRead + Send>>,
    options: ReadOptions,
    buf: Vec<u8>,
    /// Element names from the root down.
    path: Vec<String>,
    entry: Option<Pending>,
    text: String,
    queued: std::collections::VecDeque<Item>,
    done: bool,
    saw_root: bool,
}

impl NcmecReader {
    pub fn new(input: Box<dyn BufRead + Send>, options: ReadOptions) -> Self {
        let mut reader = Reader::from_reader(input);
        reader.config_mut().trim_text(false);
        NcmecReader {
            reader,
            options,
            buf: Vec::new(),
            path: Vec::new(),
            entry: None,
            text: String::new(),
            queued: Default::default(),
            done: false,
            saw_root: false,
        }
    }

    fn line(&self) -> u64 {
        // quick-xml reports byte offsets; a byte offset names the spot as well as a line would.
        self.reader.buffer_position()
    }

    fn fail(&mut self, message: String) {
        let line = self.line();
        self.queued.push_back(Err(LineError {
            line,
            message: format!("byte {line}: {message}"),
        }));
        self.done = true;
    }

    fn finish_entry(&mut self, p: Pending) {
        let external_id = format!("{}-{}", p.member_id, p.id);
        if p.deleted {
            self.queued.push_back(Ok(NewEntry {
                external_id: Some(external_id),
                source: self.options.source.clone(),
                withdrawn: true,
                ..Default::default()
            }));
            return;
        }
        let mut categories = Vec::new();
        if !p.classification.is_empty() {
            categories.push(format!("ncmec:{}", p.classification));
        }
        let categories = merge_categories(categories, &self.options.categories);
        let mut raw = Map::new();
        raw.insert("ncmec_entry_type".into(), Value::String(p.entry_type.clone()));
        raw.insert("ncmec_id".into(), Value::String(p.id.clone()));
        raw.insert("ncmec_member_id".into(), Value::String(p.member_id.clone()));
        raw.insert("ncmec_member".into(), Value::String(p.member_name.clone()));
        if !p.classification.is_empty() {
            raw.insert("ncmec_classification".into(), Value::String(p.classification.clone()));
        }
        if !p.timestamp.is_empty() {
            raw.insert("ncmec_timestamp".into(), Value::String(p.timestamp.clone()));
        }
        if p.fingerprints.is_empty() {
            let line = self.line();
            self.queued.push_back(Err(LineError {
                line,
                message: format!("entry {external_id} has no fingerprint"),
            }));
        }
        for (kind, value) in p.fingerprints {
            raw.insert("ncmec_fingerprint".into(), Value::String(kind.clone()));
            let signal = match kind.as_str() {
                "pdna" => Signal::Other("photodna".into()),
                other => Signal::parse(other),
            };
            let line = self.line();
            let source = self.options.source.as_deref();
            let item =
                NewEntry::of_record(&signal, &value, &categories, Some(&external_id), source, &raw).map_err(|m| {
                    LineError {
                        line,
                        message: format!("entry {external_id}, {kind}: {m}"),
                    }
                });
            self.queued.push_back(item);
        }
    }

    /// `<member id="...">` names the member that shared the entry.
    fn take_member_id(&mut self, e: &quick_xml::events::BytesStart) {
        let id = e
            .attributes()
            .flatten()
            .find(|a| a.key.local_name().as_ref() == b"id")
            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
            .unwrap_or_default();
        if let Some(p) = self.entry.as_mut() {
            p.member_id = id;
        }
    }

    fn step(&mut self) {
        self.buf.clear();
        let event = match self.reader.read_event_into(&mut self.buf) {
            Ok(e) => e.into_owned(),
            Err(e) => return self.fail(format!("bad XML: {e}")),
        };
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_ascii_lowercase();
                self.saw_root = true;
                let depth = self.path.len();
                // <images>/<videos> hold entries; an entry is their direct child.
                let parent = self.path.last().map(String::as_str);
                if matches!(parent, Some("images") | Some("videos")) && depth >= 1 {
                    let deleted = name.starts_with("deleted");
                    let entry_type = name.trim_start_matches("deleted").to_string();
                    self.entry = Some(Pending {
                        entry_type,
                        deleted,
                        ..Default::default()
                    });
                } else if name == "member" {
                    self.take_member_id(&e);
                }
                self.path.push(name);
                self.text.clear();
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_ascii_lowercase();
                if name == "member" {
                    self.take_member_id(&e);
                }
            }
            // Text arrives in pieces, entity references (`&amp;`) on their own.
            Event::Text(t) => self.text.push_str(&String::from_utf8_lossy(t.as_ref())),
            Event::GeneralRef(r) => {
                let entity = format!("&{};", String::from_utf8_lossy(r.as_ref()));
                let resolved = quick_xml::escape::unescape(&entity)
                    .map(|c| c.into_owned())
                    .unwrap_or(entity);
                self.text.push_str(&resolved);
            }
            Event::CData(t) => self.text.push_str(&String::from_utf8_lossy(t.as_ref())),
            Event::End(_) => {
                let name = self.path.pop().unwrap_or_default();
                let parent = self.path.last().cloned().unwrap_or_default();
                let text = std::mem::take(&mut self.text).trim().to_string();
                if matches!(parent.as_str(), "images" | "videos") {
                    if let Some(p) = self.entry.take() {
                        self.finish_entry(p);
                    }
                } else if let Some(p) = self.entry.as_mut() {
                    match (parent.as_str(), name.as_str()) {
                        ("fingerprints", kind) if !text.is_empty() => p.fingerprints.push((kind.to_string(), text)),
                        (_, "id") if p.id.is_empty() => p.id = text,
                        (_, "member") => p.member_name = text,
                        (_, "classification") => p.classification = text,
                        (_, "timestamp") => p.timestamp = text,
                        _ => {}
                    }
                }
            }
            Event::Eof => {
                if !self.path.is_empty() {
                    self.fail(format!("truncated XML: <{}> is never closed", self.path.join("><")));
                } else if !self.saw_root {
                    self.fail("no XML elements".into());
                }
                self.done = true;
            }
            _ => {}
        }
    }
}

impl Iterator for NcmecReader {
    type Item = Item;
    fn next(&mut self) -> Option<Item> {
        while self.queued.is_empty() && !self.done {
            self.step();
        }
        self.queued.pop_front()
    }
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// Writes the same XML shape: entries of one NCMEC id become one element
/// with all their fingerprints.
pub struct NcmecWriter<'a> {
    out: Box<dyn Write + 'a>,
    started: bool,
    section: Option<String>,
    current: Records,
}

impl<'a> NcmecWriter<'a> {
    pub fn new(out: Box<dyn Write + 'a>) -> Self {
        NcmecWriter {
            out,
            started: false,
            section: None,
            current: Records::default(),
        }
    }

    fn write_entry(&mut self, entries: Vec<NewEntry>) -> std::io::Result<()> {
        let first = &entries[0];
        let text = |k: &str| first.raw.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let entry_type = match text("ncmec_entry_type") {
            t if t.is_empty() => "image".to_string(),
            t => t,
        };
        let section = format!("{entry_type}s");
        if !self.started {
            writeln!(self.out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<queryResult>")?;
            self.started = true;
        }
        if self.section.as_deref() != Some(section.as_str()) {
            if let Some(open) = self.section.take() {
                writeln!(self.out, "  </{open}>")?;
            }
            writeln!(self.out, "  <{section}>")?;
            self.section = Some(section);
        }
        let (member_id, id) = match (text("ncmec_member_id"), text("ncmec_id")) {
            (m, i) if !i.is_empty() => (m, i),
            _ => (String::new(), first.external_id.clone().unwrap_or_default()),
        };
        writeln!(self.out, "    <{entry_type}>")?;
        writeln!(self.out, "      <id>{}</id>", escape(&id))?;
        writeln!(
            self.out,
            "      <member id=\"{}\">{}</member>",
            escape(&member_id),
            escape(&text("ncmec_member"))
        )?;
        let timestamp = text("ncmec_timestamp");
        if !timestamp.is_empty() {
            writeln!(self.out, "      <timestamp>{}</timestamp>", escape(&timestamp))?;
        }
        let classification = match text("ncmec_classification") {
            c if !c.is_empty() => c,
            _ => first
                .categories
                .iter()
                .find_map(|c| c.strip_prefix("ncmec:"))
                .unwrap_or("")
                .to_string(),
        };
        if !classification.is_empty() {
            writeln!(
                self.out,
                "      <classification>{}</classification>",
                escape(&classification)
            )?;
        }
        writeln!(self.out, "      <fingerprints>")?;
        for e in &entries {
            let tag = match e.raw.get("ncmec_fingerprint").and_then(Value::as_str) {
                Some(t) => t.to_string(),
                None if e.signal == "photodna" => "pdna".to_string(),
                None => e.signal.clone(),
            };
            writeln!(self.out, "        <{tag}>{}</{tag}>", escape(&e.hash))?;
        }
        writeln!(self.out, "      </fingerprints>\n    </{entry_type}>")
    }
}

impl EntryWriter for NcmecWriter<'_> {
    fn write(&mut self, e: &NewEntry) -> std::io::Result<()> {
        let key = e
            .external_id
            .clone()
            .filter(|k| !k.is_empty())
            .map(Value::String)
            .unwrap_or(Value::Null);
        match self.current.push(key, e) {
            Some(done) => self.write_entry(done),
            None => Ok(()),
        }
    }
    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(done) = self.current.finish() {
            self.write_entry(done)?;
        }
        if !self.started {
            writeln!(self.out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<queryResult>")?;
        }
        if let Some(open) = self.section.take() {
            writeln!(self.out, "  </{open}>")?;
        }
        writeln!(self.out, "</queryResult>")?;
        self.out.flush()
    }
}
