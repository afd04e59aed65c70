//! Project VIC VICS JSON, v1.3 (`value[]` of cases, each with `Media[]`) and
//! v2.0 (a flat `value[]` of media), read as a stream: files hold hundreds of
//! thousands of media, so one media object is in memory at a time.
//!
//! Each media item gives one entry per hash field (`MD5`, `SHA1`, `SHA256`,
//! `PhotoDNA`, `PDQ`). `Category` becomes a label in the `vics` scheme (or
//! the one given). The whole media object is kept in `raw`, except
//! `Miniature`: a thumbnail of the material itself, which tantalum never
//! stores or shows.

use std::fmt;
use std::io::{BufRead, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{merge_categories, EntryWriter, LineError, ReadOptions};
use crate::model::{NewEntry, Signal};

/// Fields of a media item that hold hashes, and their signal types.
const HASH_FIELDS: &[(&str, &str)] = &[
    ("MD5", "md5"),
    ("SHA1", "sha1"),
    ("SHA256", "sha256"),
    ("PDQ", "pdq"),
    ("PhotoDNA", "photodna"),
];

/// Never stored: a thumbnail of the media.
const DROPPED_FIELDS: &[&str] = &["Miniature"];

type Item = Result<NewEntry, LineError>;

/// Reads VICS JSON on a thread of its own (serde's streaming visitors push;
/// the import pulls), handing entries over a bounded channel.
pub struct VicsReader {
    rx: Receiver<Item>,
}

impl VicsReader {
    pub fn new(input: Box<dyn BufRead + Send>, options: ReadOptions) -> Self {
        let (tx, rx) = sync_channel(1024);
        std::thread::spawn(move || {
            let mut de = serde_json::Deserializer::from_reader(input);
            let ctx = Ctx {
                tx: &tx,
                options: &options,
            };
            let result = ctx.deserialize(&mut de).and_then(|()| de.end());
            if let Err(e) = result {
                // A closed channel means the reader was dropped: nobody to tell.
                let message = if e.is_eof() {
                    format!("truncated JSON: {e}")
                } else {
                    format!("bad VICS JSON: {e}")
                };
                let _ = tx.send(Err(LineError {
                    line: e.line() as u64,
                    message,
                }));
            }
        });
        VicsReader { rx }
    }
}

impl Iterator for VicsReader {
    type Item = Item;
    fn next(&mut self) -> Option<Item> {
        self.rx.recv().ok()
    }
}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    tx: &'a SyncSender<Item>,
    options: &'a ReadOptions,
}

fn scheme(options: &ReadOptions) -> &str {
    options.category_scheme.as_deref().unwrap_or("vics")
}

impl Ctx<'_> {
    fn emit_media(&self, mut media: Map<String, Value>, case: &Map<String, Value>) -> Result<(), ()> {
        for f in DROPPED_FIELDS {
            media.remove(*f);
        }
        let external_id = media.get("MediaID").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let mut categories = Vec::new();
        match media.get("Category") {
            Some(Value::Number(n)) => categories.push(format!("{}:{n}", scheme(self.options))),
            Some(Value::String(s)) if !s.is_empty() => categories.push(format!("{}:{s}", scheme(self.options))),
            _ => {}
        }
        let categories = merge_categories(categories, &self.options.categories);
        let mut raw = media.clone();
        if !case.is_empty() {
            raw.insert("vics_case".into(), Value::Object(case.clone()));
        }
        let mut any = false;
        for (field, signal) in HASH_FIELDS {
            let Some(Value::String(value)) = media.get(*field) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            any = true;
            let signal = Signal::parse(signal);
            let source = self.options.source.as_deref();
            let item = NewEntry::of_record(&signal, value, &categories, external_id.as_deref(), source, &raw).map_err(
                |message| LineError {
                    line: 0,
                    message: format!("media {}: {field}: {message}", external_id.as_deref().unwrap_or("?")),
                },
            );
            self.tx.send(item).map_err(|_| ())?;
        }
        if !any {
            let message = format!("media {} has no hash", external_id.as_deref().unwrap_or("?"));
            self.tx.send(Err(LineError { line: 0, message })).map_err(|_| ())?;
        }
        Ok(())
    }
}

/// Stops the parse when the receiving side has gone away.
fn gone<E: serde::de::Error>() -> E {
    E::custom("reader dropped")
}

impl<'de> DeserializeSeed<'de> for Ctx<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Ctx<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a VICS JSON object with a `value` array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut saw_value = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "value" {
                saw_value = true;
                map.next_value_seed(ValueArray(self))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !saw_value {
            return Err(serde::de::Error::custom("no `value` array: not VICS JSON"));
        }
        Ok(())
    }
}

/// `value[]`: cases (v1.3) or media (v2.0).
struct ValueArray<'a>(Ctx<'a>);

impl<'de> DeserializeSeed<'de> for ValueArray<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ValueArray<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of cases or media")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(CaseOrMedia(self.0))?.is_some() {}
        Ok(())
    }
}

/// One element of `value[]`: a case when it has `Media`, else a media item.
struct CaseOrMedia<'a>(Ctx<'a>);

impl<'de> DeserializeSeed<'de> for CaseOrMedia<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CaseOrMedia<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a case or a media object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut fields = Map::new();
        let mut was_case = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Media" {
                was_case = true;
                map.next_value_seed(MediaArray {
                    ctx: self.0,
                    case: &fields,
                })?;
            } else if DROPPED_FIELDS.contains(&key.as_str()) {
                map.next_value::<IgnoredAny>()?;
            } else {
                fields.insert(key, map.next_value()?);
            }
        }
        if !was_case {
            self.0.emit_media(fields, &Map::new()).map_err(|()| gone())?;
        }
        Ok(())
    }
}

struct MediaArray<'a, 'c> {
    ctx: Ctx<'a>,
    case: &'c Map<String, Value>,
}

impl<'de> DeserializeSeed<'de> for MediaArray<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for MediaArray<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of media")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(media) = seq.next_element::<Map<String, Value>>()? {
            self.ctx.emit_media(media, self.case).map_err(|()| gone())?;
        }
        Ok(())
    }
}

/// Writes VICS JSON v2.0 (a flat `value[]` of media): each media object is
/// rebuilt from the entries that came from it.
pub struct VicsWriter<'a> {
    out: Box<dyn Write + 'a>,
    first: bool,
    media: Option<(Value, Map<String, Value>)>,
    next_id: u64,
}

impl<'a> VicsWriter<'a> {
    pub fn new(out: Box<dyn Write + 'a>) -> Self {
        VicsWriter {
            out,
            first: true,
            media: None,
            next_id: 1,
        }
    }

    fn flush_media(&mut self) -> std::io::Result<()> {
        let Some((_, media)) = self.media.take() else {
            return Ok(());
        };
        if self.first {
            self.out.write_all(
                b"{\"@odata.context\":\"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media\",\"value\":[\n",
            )?;
            self.first = false;
        } else {
            self.out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut self.out, &media)?;
        Ok(())
    }
}

impl EntryWriter for VicsWriter<'_> {
    fn write(&mut self, e: &NewEntry) -> std::io::Result<()> {
        let key = e.raw.get("MediaID").cloned().unwrap_or(Value::Null);
        let same = matches!(&self.media, Some((k, _)) if *k == key && !key.is_null());
        if !same {
            self.flush_media()?;
            let mut media = e.raw.clone();
            media.remove("vics_case");
            if !media.contains_key("MediaID") {
                let id = e.external_id.clone().unwrap_or_else(|| self.next_id.to_string());
                self.next_id += 1;
                media.insert(
                    "MediaID".into(),
                    id.parse::<u64>().map(Value::from).unwrap_or(Value::String(id)),
                );
            }
            if !media.contains_key("Category") {
                let category = e.categories.iter().find_map(|c| c.strip_prefix("vics:")).map(|c| {
                    c.parse::<u64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::String(c.to_string()))
                });
                media.insert("Category".into(), category.unwrap_or(Value::Null));
            }
            self.media = Some((key, media));
        }
        let field = HASH_FIELDS.iter().find(|(_, s)| *s == e.signal).map(|(f, _)| *f);
        if let (Some(field), Some((_, media))) = (field, self.media.as_mut()) {
            if !media.contains_key(field) {
                // Hashes from other lists: VICS writes MD5 and SHA1 in uppercase.
                let value = if matches!(field, "MD5" | "SHA1") {
                    e.hash.to_ascii_uppercase()
                } else {
                    e.hash.clone()
                };
                media.insert(field.into(), Value::String(value));
            }
        }
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.flush_media()?;
        if self.first {
            self.out.write_all(b"{\"@odata.context\":\"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media\",\"value\":[\n")?;
        }
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()
    }
}
