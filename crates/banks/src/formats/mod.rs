//! Hash-list formats: detection, streaming readers and writers.
//!
//! Readers yield one [`NewEntry`] (or a [`LineError`] naming the line) at a
//! time, so a list of any size imports in constant memory. Every field a
//! reader does not map onto the model is kept in `raw`, and writers use it to
//! give back what was imported.

mod csvlike;
mod ncmec;
mod nsrl;
mod plain;
mod vics;
mod vpdqfmt;

pub use nsrl::{read_nsrl, NsrlWriter};
pub use vpdqfmt::{entry_frames, read_vpdq};

use std::io::{BufRead, Write};

use crate::model::{NewEntry, Signal};

pub use plain::guess_64_hex_signal;

/// A list format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One hash per line, optionally `type hash`; also md5sum/sha1sum/sha256sum output.
    Plain,
    /// hashdeep / md5deep audit files (`%%%% HASHDEEP-1.0`).
    Hashdeep,
    /// CSV with a header naming id, hash and category columns.
    Csv,
    /// ThreatExchange / HMA exports: CSV with `signal_type,signal` columns.
    ThreatExchange,
    /// Project VIC VICS JSON, v1.3 (case-wrapped) or v2.0 (flat).
    Vics,
    /// NCMEC hash-sharing XML.
    Ncmec,
    /// NIST NSRL RDS v3 (a SQLite database): a known-file bank. Read from a
    /// path with [`read_nsrl`], written with [`NsrlWriter`].
    Nsrl,
    /// vPDQ hash files (`frame,quality,pdq,timestamp`), one file per video,
    /// read with [`read_vpdq`].
    Vpdq,
}

impl Format {
    /// Every format, for help texts.
    pub const ALL: [Format; 5] = [
        Format::Plain,
        Format::Hashdeep,
        Format::Csv,
        Format::ThreatExchange,
        Format::Vics,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Hashdeep => "hashdeep",
            Format::Csv => "csv",
            Format::ThreatExchange => "te",
            Format::Vics => "vics",
            Format::Ncmec => "ncmec",
            Format::Nsrl => "nsrl",
            Format::Vpdq => "vpdq",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "plain" | "text" | "txt" | "md5sum" | "sha1sum" | "sha256sum" => Some(Format::Plain),
            "hashdeep" | "md5deep" => Some(Format::Hashdeep),
            "csv" => Some(Format::Csv),
            "te" | "threatexchange" | "hma" => Some(Format::ThreatExchange),
            "vics" | "projectvic" | "json" => Some(Format::Vics),
            "ncmec" | "xml" => Some(Format::Ncmec),
            "nsrl" | "rds" | "rdsv3" => Some(Format::Nsrl),
            "vpdq" => Some(Format::Vpdq),
            _ => None,
        }
    }

    /// Decides the format from the first bytes of a list.
    pub fn detect(head: &[u8]) -> Format {
        if head.starts_with(b"SQLite format 3\0") {
            return Format::Nsrl;
        }
        let text = String::from_utf8_lossy(head);
        let text = text.trim_start_matches('\u{feff}');
        if text.trim_start().starts_with('{') {
            return Format::Vics;
        }
        if text.trim_start().starts_with('<') {
            return Format::Ncmec;
        }
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if vpdqfmt::looks_like(&first) {
            return Format::Vpdq;
        }
        if first.starts_with("%%%% hashdeep") || first.starts_with("%%%% md5deep") {
            return Format::Hashdeep;
        }
        if first.contains(',') {
            let cols: Vec<&str> = first.split(',').map(|c| c.trim().trim_matches('"')).collect();
            if cols.contains(&"signal_type") && cols.contains(&"signal") {
                return Format::ThreatExchange;
            }
            if cols.iter().any(|c| csvlike::hash_column(c).is_some()) {
                return Format::Csv;
            }
        }
        Format::Plain
    }
}

/// A line that could not be read, by number (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("line {line}: {message}")]
pub struct LineError {
    /// 1-based line (or record) number.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// How to read a list.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Type of untyped 64-character hashes (PDQ or SHA-256); None = decide from the file.
    pub signal_64: Option<Signal>,
    /// Labels added to every entry.
    pub categories: Vec<String>,
    /// Recorded as each entry's source.
    pub source: Option<String>,
    /// Longest line accepted, in bytes.
    pub max_line: usize,
    /// Scheme that numeric categories in the list belong to (VICS: `vics`, or e.g. `vics-us`).
    pub category_scheme: Option<String>,
}

/// Longest line accepted by default: no list has lines this long, and a
/// multi-gigabyte "line" must not be buffered whole.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// Reads one line into `buf` (without the newline), refusing lines over
/// `max` bytes without buffering them. Returns Ok(false) at the end.
pub(crate) fn read_line_limited(input: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> Result<bool, String> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = input.fill_buf().map_err(|e| e.to_string())?;
        if available.is_empty() {
            if too_long {
                return Err(format!("line longer than {max} bytes"));
            }
            return Ok(!buf.is_empty());
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let consumed = done.unwrap_or(available.len());
        input.consume(consumed);
        if done.is_some() {
            if too_long {
                return Err(format!("line longer than {max} bytes"));
            }
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(true);
        }
    }
}

/// A streaming reader of entries.
pub type Entries = Box<dyn Iterator<Item = Result<NewEntry, LineError>>>;

/// Reads a list of the given format.
pub fn read(format: Format, input: Box<dyn BufRead + Send>, options: ReadOptions) -> Entries {
    let options = ReadOptions {
        max_line: if options.max_line == 0 {
            DEFAULT_MAX_LINE
        } else {
            options.max_line
        },
        ..options
    };
    match format {
        Format::Plain => Box::new(plain::PlainReader::new(input, options)),
        Format::Hashdeep => Box::new(plain::HashdeepReader::new(input, options)),
        Format::Csv | Format::ThreatExchange => Box::new(csvlike::CsvReader::new(input, options, format)),
        Format::Vics => Box::new(vics::VicsReader::new(input, options)),
        Format::Ncmec => Box::new(ncmec::NcmecReader::new(input, options)),
        Format::Vpdq => {
            let name = options.source.clone();
            Box::new(std::iter::once(vpdqfmt::read_vpdq(input, name, &options)))
        }
        Format::Nsrl => Box::new(std::iter::once(Err(LineError {
            line: 0,
            message: "an NSRL database is read from its path (read_nsrl), not a stream".into(),
        }))),
    }
}

/// Writes entries one at a time in some format.
pub trait EntryWriter {
    /// Writes one entry.
    fn write(&mut self, entry: &NewEntry) -> std::io::Result<()>;
    /// Flushes what is buffered; call once after the last entry.
    fn finish(&mut self) -> std::io::Result<()>;
}

/// Tombstones say an entry is gone; they are not entries to write.
struct SkipWithdrawn<'a>(Box<dyn EntryWriter + 'a>);

impl EntryWriter for SkipWithdrawn<'_> {
    fn write(&mut self, entry: &NewEntry) -> std::io::Result<()> {
        if entry.withdrawn {
            return Ok(());
        }
        self.0.write(entry)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.0.finish()
    }
}

/// A writer of the given format; NSRL databases are written with [`NsrlWriter`].
pub fn writer<'a>(format: Format, out: Box<dyn Write + 'a>) -> Box<dyn EntryWriter + 'a> {
    Box::new(SkipWithdrawn(format_writer(format, out)))
}

fn format_writer<'a>(format: Format, out: Box<dyn Write + 'a>) -> Box<dyn EntryWriter + 'a> {
    match format {
        Format::Nsrl => Box::new(plain::PlainWriter { out }),
        Format::Vpdq => Box::new(vpdqfmt::VpdqWriter { out }),
        Format::Plain => Box::new(plain::PlainWriter { out }),
        Format::Hashdeep => Box::new(plain::HashdeepWriter::new(out)),
        Format::Csv | Format::ThreatExchange => Box::new(csvlike::CsvWriter::new(out, format)),
        Format::Vics => Box::new(vics::VicsWriter::new(out)),
        Format::Ncmec => Box::new(ncmec::NcmecWriter::new(out)),
    }
}

/// Consecutive entries that came from one source record (a CSV row, a
/// hashdeep line, an NCMEC entry), gathered so a writer can rebuild it.
#[derive(Default)]
pub(crate) struct Records {
    current: Option<(serde_json::Value, Vec<NewEntry>)>,
}

impl Records {
    /// Adds an entry under its record's key (`Null`: a record of its own).
    /// Returns the previous record when this entry starts a new one.
    pub(crate) fn push(&mut self, key: serde_json::Value, entry: &NewEntry) -> Option<Vec<NewEntry>> {
        let same = matches!(&self.current, Some((k, _)) if *k == key && !key.is_null());
        let done = if same {
            None
        } else {
            self.current.replace((key, Vec::new())).map(|(_, v)| v)
        };
        self.current.as_mut().expect("set above").1.push(entry.clone());
        done
    }

    /// The last record, at the end.
    pub(crate) fn finish(&mut self) -> Option<Vec<NewEntry>> {
        self.current.take().map(|(_, v)| v)
    }
}

/// The entries' categories plus the import's own labels, without repeats.
pub(crate) fn merge_categories(mut own: Vec<String>, extra: &[String]) -> Vec<String> {
    for c in extra {
        if !own.contains(c) {
            own.push(c.clone());
        }
    }
    own
}
