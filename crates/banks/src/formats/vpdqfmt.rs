//! vPDQ hash files in the reference's text format (`frame,quality,pdq,timestamp`
//! per line), one file per video. A file is one entry: its hash is the SHA-256
//! of the normalised text (a compact key), and the frames are kept in `raw`.

use std::io::{BufRead, Write};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{EntryWriter, LineError, ReadOptions};
use crate::model::NewEntry;

/// Whether text looks like a vPDQ hash file.
pub(crate) fn looks_like(first_line: &str) -> bool {
    let f: Vec<&str> = first_line.trim().split(',').collect();
    f.len() == 4
        && f[0].parse::<u64>().is_ok()
        && f[1].parse::<u8>().is_ok()
        && f[2].len() == 64
        && f[2].bytes().all(|b| b.is_ascii_hexdigit())
        && f[3].parse::<f64>().is_ok()
}

/// Reads one video's vPDQ file as one entry.
pub fn read_vpdq(
    mut input: Box<dyn BufRead + Send>,
    name: Option<String>,
    options: &ReadOptions,
) -> Result<NewEntry, LineError> {
    let mut text = String::new();
    input.read_to_string(&mut text).map_err(|e| LineError {
        line: 0,
        message: e.to_string(),
    })?;
    let frames = vpdq::parse_features(&text).map_err(|e| match e {
        vpdq::VpdqError::Parse { line, message } => LineError {
            line: line as u64,
            message,
        },
        other => LineError {
            line: 0,
            message: other.to_string(),
        },
    })?;
    if frames.is_empty() {
        return Err(LineError {
            line: 1,
            message: "no frames".into(),
        });
    }
    let canonical = vpdq::write_features(&frames);
    let digest: String = Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut raw = Map::new();
    raw.insert("vpdq_frames".into(), Value::String(canonical));
    Ok(NewEntry {
        signal: "vpdq".into(),
        hash: digest,
        categories: options.categories.clone(),
        external_id: name,
        source: options.source.clone(),
        raw,
        withdrawn: false,
    })
}

/// The frames of a stored vPDQ entry.
pub fn entry_frames(entry: &NewEntry) -> Option<Vec<vpdq::Feature>> {
    let text = entry.raw.get("vpdq_frames")?.as_str()?;
    vpdq::parse_features(text).ok()
}

/// Writes the frames of vPDQ entries back in the reference's format
/// (one video after another; other entries are not vPDQ and are skipped).
pub struct VpdqWriter<'a> {
    pub out: Box<dyn Write + 'a>,
}

impl EntryWriter for VpdqWriter<'_> {
    fn write(&mut self, e: &NewEntry) -> std::io::Result<()> {
        if let Some(Value::String(text)) = e.raw.get("vpdq_frames") {
            self.out.write_all(text.as_bytes())?;
        }
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
