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

fn parse_dir(dir: &Path) -> Result<Vec<Export>, Error> {
    let display = dir.display().to_string();
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if names.iter().any(|n| n == "result.json") {
        return parse_path(&dir.join("result.json"));
    }
    let pages = html_pages(&names);
    if !pages.is_empty() {
        let mut loaded = Vec::new();
        for p in pages {
            let path: PathBuf = dir.join(&p);
            loaded.push((path.display().to_string(), read_text(&path)?));
        }
        return Ok(vec![telegram_html::parse(&loaded, &display)]);
    }
    let txt: Vec<&String> = names.iter().filter(|n| is_whatsapp_txt(n)).collect();
    let txt = if txt.is_empty() {
        names
            .iter()
            .filter(|n| n.to_ascii_lowercase().ends_with(".txt"))
            .collect()
    } else {
        txt
    };
    if txt.is_empty() {
        return Err(Error::NotAnExport {
            path: display,
            why: "no _chat.txt, WhatsApp .txt, result.json or messages.html in the folder".into(),
        });
    }
    let mut out = Vec::new();
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for t in txt {
        let path = dir.join(t);
        let file = fs::File::open(&path).map_err(io_err(&path))?;
        out.push(whatsapp::parse(
            BufReader::new(file),
            &path.display().to_string(),
            &[t, &folder],
        )?);
    }
    Ok(out)
}

/// Reads an export from a zip archive (WhatsApp with its media, or a zipped Telegram export).
pub fn parse_zip<R: Read + std::io::Seek>(reader: R, display: &str, name: &str) -> Result<Vec<Export>, Error> {
    let zip_err = |e: zip::result::ZipError| Error::Zip {
        path: display.into(),
        why: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(zip_err)?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let inner = |n: &str| format!("{display}!/{n}");
    if let Some(json) = names.iter().find(|n| n.rsplit('/').next() == Some("result.json")) {
        let mut f = archive.by_name(json).map_err(zip_err)?;
        let mut bytes = Vec::new();
        (&mut f)
            .take(MAX_DOCUMENT)
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io {
                path: inner(json),
                source,
            })?;
        return telegram::parse(&decode_text(bytes), &inner(json));
    }
    let pages = html_pages(&names);
    if !pages.is_empty() {
        let mut loaded = Vec::new();
        for p in pages {
            let mut f = archive.by_name(&p).map_err(zip_err)?;
            let mut bytes = Vec::new();
            (&mut f)
                .take(MAX_DOCUMENT)
                .read_to_end(&mut bytes)
                .map_err(|source| Error::Io {
                    path: inner(&p),
                    source,
                })?;
            loaded.push((inner(&p), decode_text(bytes)));
        }
        return Ok(vec![telegram_html::parse(&loaded, display)]);
    }
    let txt: Vec<&String> = names.iter().filter(|n| is_whatsapp_txt(n)).collect();
    let txt = if txt.is_empty() {
        names
            .iter()
            .filter(|n| n.to_ascii_lowercase().ends_with(".txt"))
            .collect()
    } else {
        txt
    };
    if txt.is_empty() {
        return Err(Error::NotAnExport {
            path: display.into(),
            why: "the archive holds no chat text (_chat.txt, WhatsApp Chat….txt, result.json)".into(),
        });
    }
    let mut out = Vec::new();
    for t in txt {
        let t: &str = t;
        let f = archive.by_name(t).map_err(zip_err)?;
        let mut export = whatsapp::parse(BufReader::new(f), &inner(t), &[t, name])?;
        // A truncated archive reads as a short chat: the zip error is an issue of the export.
        export.errors.iter_mut().for_each(|e| {
            if e.message.starts_with("read error") {
                e.message = format!("{} (damaged or truncated archive)", e.message);
            }
        });
        out.push(export);
    }
    Ok(out)
}
