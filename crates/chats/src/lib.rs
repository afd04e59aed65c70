//! Chat exports and invite links: what the seized phones' chat exports say
//! about who was in which group, who added whom, and which links they
//! posted.
//!
//! - [`parse_path`] reads a WhatsApp export (the `.txt`, its folder or its
//!   `.zip`) or a Telegram Desktop export (`result.json`, its folder, or the
//!   HTML pages) into [`Export`]s: messages, system events, attachments,
//!   participants with phone numbers and countries.
//! - [`links`] finds invite and identity links in text and saved pages,
//!   after undoing the usual obfuscations.
//! - [`phone`] turns numbers into E.164 and a region.
//! - [`synth`] generates synthetic, benign chat cases with their ground
//!   truth, for tests and demos.
//!
//! Nothing here panics on bad input: a file that cannot be read at all is
//! an [`Error`]; a bad line or message is an [`Issue`] in the export's
//! `errors`, and the rest is still read.

mod lines;
pub mod links;
mod model;
pub mod phone;
pub mod phrases;
pub mod synth;
mod telegram;
mod telegram_html;
pub mod text;
pub mod time;
mod whatsapp;

use std::fs;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

pub use lines::MAX_LINE;
pub use model::*;
pub use telegram::deleted_label as telegram_deleted_label;

/// Why an input could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a chat export: {why}")]
    NotAnExport { path: String, why: String },
    #[error("{path}: unreadable zip archive: {why}")]
    Zip { path: String, why: String },
    #[error("{path}:{line}:{column}: {why}")]
    Json {
        path: String,
        line: usize,
        column: usize,
        why: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Largest JSON or HTML file read whole into memory.
pub const MAX_DOCUMENT: u64 = 4 << 30;

/// Reads the chat export at `path`: a WhatsApp `.txt`, a folder holding one,
/// a WhatsApp `.zip`, a Telegram `result.json` or its folder, or Telegram
/// HTML pages. A Telegram whole-account export yields one export per chat.
pub fn parse_path(path: &Path) -> Result<Vec<Export>, Error> {
    let meta = fs::metadata(path).map_err(io_err(path))?;
    let display = path.display().to_string();
    if meta.is_dir() {
        return parse_dir(path);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        let file = fs::File::open(path).map_err(io_err(path))?;
        return parse_zip(file, &display, &name);
    }
    if lower.ends_with(".json") {
        let text = read_text(path)?;
        return telegram::parse(&text, &display);
    }
    if lower.ends_with(".html") || lower.ends_with(".htm") {
        let text = read_text(path)?;
        return Ok(vec![telegram_html::parse(&[(display.clone(), text)], &display)]);
    }
    let file = fs::File::open(path).map_err(io_err(path))?;
    // A zip that lost its extension is still recognised by its signature.
    let mut head = [0u8; 4];
    let n = (&file).take(4).read(&mut head).map_err(io_err(path))?;
    if n == 4 && &head == b"PK\x03\x04" {
        return parse_zip(fs::File::open(path).map_err(io_err(path))?, &display, &name);
    }
    let file = fs::File::open(path).map_err(io_err(path))?;
    Ok(vec![whatsapp::parse(
        BufReader::with_capacity(1 << 16, file),
        &display,
        &[&name],
    )?])
}

/// Parses WhatsApp export text already in memory (`name` is its file name,
/// which may carry the chat's name).
pub fn parse_whatsapp_text(bytes: &[u8], name: &str) -> Result<Export, Error> {
    whatsapp::parse(bytes, name, &[name])
}

/// Parses a Telegram `result.json` already in memory.
pub fn parse_telegram_json(text: &str, name: &str) -> Result<Vec<Export>, Error> {
    telegram::parse(text, name)
}

/// Parses Telegram HTML pages already in memory, `(name, html)` in page order.
pub fn parse_telegram_html(pages: &[(String, String)], name: &str) -> Export {
    telegram_html::parse(pages, name)
}

fn read_text(path: &Path) -> Result<String, Error> {
    let file = fs::File::open(path).map_err(io_err(path))?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(path))?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(Error::NotAnExport {
            path: path.display().to_string(),
            why: format!("larger than {MAX_DOCUMENT} bytes"),
        });
    }
    Ok(decode_text(bytes))
}

fn decode_text(bytes: Vec<u8>) -> String {
    let s = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    s.strip_prefix('\u{FEFF}').map(str::to_string).unwrap_or(s)
}

fn is_whatsapp_txt(name: &str) -> bool {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base == "_chat.txt" || whatsapp::chat_name_from_file(base).is_some()
}

fn html_pages(names: &[String]) -> Vec<String> {
    let mut pages: Vec<(u32, String)> = names
        .iter()
        .filter_map(|n| {
            let base = n.rsplit('/').next()?;
            let num = base.strip_prefix("messages")?.strip_suffix(".html")?;
            Some((if num.is_empty() { 1 } else { num.parse().ok()? }, n.clone()))
        })
        .collect();
    pages.sort();
    pages.into_iter().map(|(_, n)| n).collect()
}

/// What a folder or archive holds, decided from its file names.
#[derive(Debug, PartialEq, Eq)]
enum Layout {
    /// WhatsApp chat text files.
    Whatsapp(Vec<String>),
    /// A Telegram `result.json`.
    TelegramJson(String),
    /// Telegram HTML pages, in page order.
    TelegramHtml(Vec<String>),
}

/// Decides what an export folder or archive is. A WhatsApp chat text
/// (`_chat.txt`, `WhatsApp Chat with ….txt`) always wins: a WhatsApp export
/// may carry any attachment, `messages.html` or a `result.json` included.
/// Telegram needs Telegram's structure: `result.json` at the export's root,
/// or `messages*.html` with the `css/` and `js/` folders (or with no text
/// file at all beside them). `names` are relative paths with `/`.
fn layout(names: &[String]) -> Option<Layout> {
    let whatsapp: Vec<String> = names.iter().filter(|n| is_whatsapp_txt(n)).cloned().collect();
    if !whatsapp.is_empty() {
        return Some(Layout::Whatsapp(whatsapp));
    }
    // The export's root: the shallowest folder holding a result.json or messages.html.
    let depth = |n: &str| n.matches('/').count();
    let json = names
        .iter()
        .filter(|n| n.rsplit('/').next() == Some("result.json"))
        .min_by_key(|n| depth(n));
    if let Some(json) = json {
        return Some(Layout::TelegramJson(json.clone()));
    }
    let txt: Vec<String> = names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".txt"))
        .cloned()
        .collect();
    let pages = html_pages(names);
    if let Some(first) = pages.first() {
        let root = first.rsplit_once('/').map_or("", |(r, _)| r).to_string();
        let under = |d: &str| {
            let prefix = if root.is_empty() {
                format!("{d}/")
            } else {
                format!("{root}/{d}/")
            };
            names.iter().any(|n| n.starts_with(&prefix))
        };
        if (under("css") && under("js")) || txt.is_empty() {
            let pages = pages
                .into_iter()
                .filter(|p| p.rsplit_once('/').map_or("", |(r, _)| r) == root.as_str())
                .collect();
            return Some(Layout::TelegramHtml(pages));
        }
    }
    (!txt.is_empty()).then_some(Layout::Whatsapp(txt))
}

/// File paths under `dir`, relative with `/`, two levels deep at most
/// (Telegram's `css/`, `js/`; WhatsApp's are flat).
fn dir_names(dir: &Path) -> Result<Vec<String>, Error> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir).map_err(io_err(dir))?.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        match e.file_type() {
            Ok(t) if t.is_file() => names.push(name),
            Ok(t) if t.is_dir() => {
                if let Ok(rd) = fs::read_dir(e.path()) {
                    names.extend(
                        rd.filter_map(|e| e.ok())
                            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                            .map(|e| format!("{name}/{}", e.file_name().to_string_lossy())),
                    );
                }
            }
            _ => {}
        }
    }
    names.sort();
    Ok(names)
}

fn parse_dir(dir: &Path) -> Result<Vec<Export>, Error> {
    let display = dir.display().to_string();
    let names = dir_names(dir)?;
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match layout(&names) {
        Some(Layout::TelegramJson(json)) => parse_path(&dir.join(json)),
        Some(Layout::TelegramHtml(pages)) => {
            let mut loaded = Vec::new();
            for p in pages {
                let path: PathBuf = dir.join(&p);
                loaded.push((path.display().to_string(), read_text(&path)?));
            }
            Ok(vec![telegram_html::parse(&loaded, &display)])
        }
        Some(Layout::Whatsapp(txt)) => {
            let mut out = Vec::new();
            for t in txt {
                let path = dir.join(&t);
                let file = fs::File::open(&path).map_err(io_err(&path))?;
                out.push(whatsapp::parse(
                    BufReader::new(file),
                    &path.display().to_string(),
                    &[&t, &folder],
                )?);
            }
            Ok(out)
        }
        None => Err(Error::NotAnExport {
            path: display,
            why: "no _chat.txt, WhatsApp .txt, result.json or messages.html in the folder".into(),
        }),
    }
}

/// Largest zip member read into memory when the archive's directory is
/// damaged and members are recovered from their local headers.
const MAX_RECOVERED_MEMBER: u64 = 256 << 20;

/// Reads an export from a zip archive (WhatsApp with its media, or a zipped
/// Telegram export). An archive whose central directory cannot be read (a
/// truncated download, a cut copy) is read from its local headers, from
/// the start: what can be read is parsed and the damage is an issue.
pub fn parse_zip<R: Read + std::io::Seek>(mut reader: R, display: &str, name: &str) -> Result<Vec<Export>, Error> {
    let zip_err = |e: zip::result::ZipError| Error::Zip {
        path: display.into(),
        why: e.to_string(),
    };
    let mut archive = match zip::ZipArchive::new(&mut reader) {
        Ok(a) => a,
        Err(e) => {
            let why = e.to_string();
            reader.seek(std::io::SeekFrom::Start(0)).map_err(|source| Error::Io {
                path: display.into(),
                source,
            })?;
            return parse_zip_stream(reader, display, name, &why);
        }
    };
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let inner = |n: &str| format!("{display}!/{n}");
    let read_member = |archive: &mut zip::ZipArchive<&mut R>, n: &str| -> Result<String, Error> {
        let mut f = archive.by_name(n).map_err(zip_err)?;
        let mut bytes = Vec::new();
        (&mut f)
            .take(MAX_DOCUMENT)
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io { path: inner(n), source })?;
        Ok(decode_text(bytes))
    };
    match layout(&names) {
        Some(Layout::TelegramJson(json)) => {
            let text = read_member(&mut archive, &json)?;
            telegram::parse(&text, &inner(&json))
        }
        Some(Layout::TelegramHtml(pages)) => {
            let mut loaded = Vec::new();
            for p in pages {
                loaded.push((inner(&p), read_member(&mut archive, &p)?));
            }
            Ok(vec![telegram_html::parse(&loaded, display)])
        }
        Some(Layout::Whatsapp(txt)) => {
            let mut out = Vec::new();
            for t in txt {
                let f = archive.by_name(&t).map_err(zip_err)?;
                let mut export = whatsapp::parse(BufReader::new(f), &inner(&t), &[&t, name])?;
                // A damaged member reads as a short chat: the zip error is an issue of the export.
                export.errors.iter_mut().for_each(|e| {
                    if e.message.starts_with("read error") {
                        e.message = format!("{} (damaged or truncated archive)", e.message);
                    }
                });
                out.push(export);
            }
            Ok(out)
        }
        None => Err(Error::NotAnExport {
            path: display.into(),
            why: "the archive holds no chat text (_chat.txt, WhatsApp Chat….txt, result.json)".into(),
        }),
    }
}

/// Whether a member may hold chat text worth keeping in memory.
fn is_text_member(n: &str) -> bool {
    let l = n.to_ascii_lowercase();
    l.ends_with(".txt") || l.ends_with(".json") || l.ends_with(".html")
}

/// Reads members one by one from their local headers (for an archive
/// without a readable central directory) and parses what was recovered.
fn parse_zip_stream<R: Read>(mut reader: R, display: &str, name: &str, why: &str) -> Result<Vec<Export>, Error> {
    let mut members: Vec<(String, Vec<u8>, bool)> = Vec::new();
    let mut stopped = None;
    loop {
        match zip::read::read_zipfile_from_stream(&mut reader) {
            Ok(Some(mut f)) => {
                let n = f.name().map(|n| n.into_owned()).unwrap_or_default();
                let mut bytes = Vec::new();
                let mut cut = false;
                if is_text_member(&n) {
                    let mut limited = (&mut f).take(MAX_RECOVERED_MEMBER);
                    let mut buf = [0u8; 1 << 14];
                    loop {
                        match limited.read(&mut buf) {
                            Ok(0) if bytes.len() as u64 >= MAX_RECOVERED_MEMBER => {
                                cut = true;
                                stopped = Some(format!("{n}: larger than {MAX_RECOVERED_MEMBER} bytes"));
                                break;
                            }
                            Ok(0) => break,
                            Ok(k) => bytes.extend_from_slice(&buf[..k]),
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => {
                                cut = true;
                                stopped = Some(format!("{n}: {e}"));
                                break;
                            }
                        }
                    }
                } else if let Err(e) = std::io::copy(&mut f, &mut std::io::sink()) {
                    stopped = Some(format!("{n}: {e}"));
                    cut = true;
                }
                drop(f);
                members.push((n, bytes, cut));
                if cut {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                stopped = Some(e.to_string());
                break;
            }
        }
    }
    let names: Vec<String> = members.iter().map(|(n, _, _)| n.clone()).collect();
    let inner = |n: &str| format!("{display}!/{n}");
    let member = |n: &str| members.iter().find(|(m, _, _)| m == n);
    let damage = Issue {
        file: display.into(),
        line: None,
        message: format!(
            "damaged or truncated zip archive ({why}); read {} member(s) from their local headers{}",
            members.len(),
            stopped
                .as_deref()
                .map(|s| format!(", stopped at: {s}"))
                .unwrap_or_default()
        ),
    };
    let cut_issue = |n: &str| {
        member(n).filter(|m| m.2).map(|_| Issue {
            file: inner(n),
            line: None,
            message: "member cut short by the damaged archive: only its start was read".into(),
        })
    };
    let no_export = || Error::Zip {
        path: display.into(),
        why: format!("{why}; no chat text could be recovered from the local headers"),
    };
    let mut out = match layout(&names) {
        Some(Layout::TelegramJson(json)) => {
            let (_, bytes, _) = member(&json).ok_or_else(no_export)?;
            telegram::parse(&decode_text(bytes.clone()), &inner(&json))?
        }
        Some(Layout::TelegramHtml(pages)) => {
            let loaded: Vec<(String, String)> = pages
                .iter()
                .filter_map(|p| member(p).map(|(_, b, _)| (inner(p), decode_text(b.clone()))))
                .collect();
            let mut e = telegram_html::parse(&loaded, display);
            e.errors.extend(pages.iter().filter_map(|p| cut_issue(p)));
            vec![e]
        }
        Some(Layout::Whatsapp(txt)) => {
            let mut out = Vec::new();
            for t in txt {
                let (_, bytes, _) = member(&t).ok_or_else(no_export)?;
                let mut e = whatsapp::parse(&bytes[..], &inner(&t), &[&t, name])?;
                e.errors.extend(cut_issue(&t));
                out.push(e);
            }
            out
        }
        None => return Err(no_export()),
    };
    for e in &mut out {
        e.errors.insert(0, damage.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn whatsapp_txt_wins_over_attached_telegram_files() {
        assert_eq!(
            layout(&names(&[
                "_chat.txt",
                "00000012-messages.html",
                "messages.html",
                "result.json"
            ])),
            Some(Layout::Whatsapp(names(&["_chat.txt"])))
        );
        assert_eq!(
            layout(&names(&[
                "ChatExport/css/style.css",
                "ChatExport/js/script.js",
                "ChatExport/messages.html",
                "ChatExport/notes.txt"
            ])),
            Some(Layout::TelegramHtml(names(&["ChatExport/messages.html"])))
        );
        assert_eq!(
            layout(&names(&["messages.html", "chat notes.txt"])),
            Some(Layout::Whatsapp(names(&["chat notes.txt"])))
        );
        assert_eq!(
            layout(&names(&["result.json", "photos/a.jpg"])),
            Some(Layout::TelegramJson("result.json".into()))
        );
    }
}
