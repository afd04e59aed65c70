//! Line formats: plain lists (`hash` or `type hash`), md5sum-style output
//! (`hash  filename`), and hashdeep audit files.

use std::io::{BufRead, Write};

use serde_json::{Map, Value};

use super::{read_line_limited, EntryWriter, LineError, ReadOptions, Records};
use crate::model::{NewEntry, Signal};

/// Decides whether untyped 64-character hashes are PDQ or SHA-256 from a
/// sample. PDQ sets a bit for each coefficient above the median, so a PDQ
/// hash has exactly 128 bits set (fewer only on ties); a SHA-256 digest has
/// exactly 128 about one time in twenty.
pub fn guess_64_hex_signal<'a>(sample: impl Iterator<Item = &'a str>) -> Signal {
    let (mut seen, mut balanced) = (0usize, 0usize);
    for hex in sample {
        let ones: u32 = hex
            .as_bytes()
            .iter()
            .filter_map(|&c| (c as char).to_digit(16))
            .map(|d| d.count_ones())
            .sum();
        seen += 1;
        balanced += usize::from(ones == 128);
    }
    if seen > 0 && balanced * 10 >= seen * 9 {
        Signal::Pdq
    } else {
        Signal::Sha256
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn entry(signal: &Signal, hash: &str, options: &ReadOptions, raw: Map<String, Value>) -> Result<NewEntry, String> {
    NewEntry::of_record(signal, hash, &options.categories, None, options.source.as_deref(), &raw)
}

/// Plain lists and md5sum-style output.
pub struct PlainReader<'a> {
    input: Box<dyn BufRead + 'a>,
    options: ReadOptions,
    line: u64,
    buf: Vec<u8>,
    /// Lines read ahead to decide what untyped 64-character hashes are.
    pending: std::collections::VecDeque<(u64, String)>,
    signal_64: Option<Signal>,
    failed: bool,
}

impl<'a> PlainReader<'a> {
    pub fn new(input: Box<dyn BufRead + 'a>, options: ReadOptions) -> Self {
        let signal_64 = options.signal_64.clone();
        PlainReader {
            input,
            options,
            line: 0,
            buf: Vec::new(),
            pending: Default::default(),
            signal_64,
            failed: false,
        }
    }

    fn next_line(&mut self) -> Option<Result<(u64, String), LineError>> {
        if let Some(l) = self.pending.pop_front() {
            return Some(Ok(l));
        }
        self.raw_line()
    }

    fn raw_line(&mut self) -> Option<Result<(u64, String), LineError>> {
        if self.failed {
            return None;
        }
        self.line += 1;
        match read_line_limited(&mut *self.input, &mut self.buf, self.options.max_line) {
            Ok(false) => None,
            Ok(true) => match String::from_utf8(std::mem::take(&mut self.buf)) {
                Ok(s) => Some(Ok((self.line, s))),
                Err(_) => Some(Err(LineError {
                    line: self.line,
                    message: "not UTF-8 text".into(),
                })),
            },
            Err(message) => {
                // An over-long line is reported once; an I/O error ends the list.
                if !message.starts_with("line longer") {
                    self.failed = true;
                }
                Some(Err(LineError {
                    line: self.line,
                    message,
                }))
            }
        }
    }

    /// Reads ahead up to 1,000 lines to decide the type of bare 64-hex hashes.
    fn decide_signal_64(&mut self) {
        let mut sample = Vec::new();
        while self.pending.len() < 1000 {
            match self.raw_line() {
                Some(Ok(l)) => {
                    if let Some(tok) = l.1.split_whitespace().next() {
                        if tok.len() == 64 && is_hex(tok) {
                            sample.push(tok.to_string());
                        }
                    }
                    self.pending.push_back(l);
                }
                // Errors are re-read below in order: put a placeholder that fails again.
                Some(Err(e)) => self.pending.push_back((e.line, format!("\u{0}{}", e.message))),
                None => break,
            }
        }
        self.signal_64 = Some(guess_64_hex_signal(sample.iter().map(String::as_str)));
    }

    fn parse(&mut self, line_no: u64, line: &str) -> Option<Result<NewEntry, LineError>> {
        let fail = |message: String| Some(Err(LineError { line: line_no, message }));
        if let Some(message) = line.strip_prefix('\u{0}') {
            return fail(message.to_string());
        }
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let mut tokens = line.splitn(2, char::is_whitespace);
        let first = tokens.next().unwrap_or("");
        let rest = tokens.next().map(str::trim_start).unwrap_or("");
        let mut raw = Map::new();
        let (signal, hash) = if is_hex(first) {
            let signal = match first.len() {
                64 => {
                    if self.signal_64.is_none() {
                        self.decide_signal_64();
                    }
                    self.signal_64.clone().expect("decided above")
                }
                n => match Signal::guess_from_len(n) {
                    Some(s) => s,
                    None => {
                        return fail(format!(
                            "a hash of {n} hex characters is not MD5, SHA-1, SHA-256 or PDQ"
                        ))
                    }
                },
            };
            if !rest.is_empty() {
                // md5sum/sha256sum: "HASH  NAME" or "HASH *NAME" (binary mode).
                raw.insert(
                    "filename".into(),
                    Value::String(rest.strip_prefix('*').unwrap_or(rest).to_string()),
                );
                raw.insert("binary".into(), Value::Bool(rest.starts_with('*')));
            }
            (signal, first)
        } else {
            let signal = Signal::parse(first);
            if rest.is_empty() {
                return fail(format!("{first:?} is neither a hash nor a type followed by a hash"));
            }
            if rest.split_whitespace().count() != 1 {
                return fail(format!("expected `type hash`, found {line:?}"));
            }
            raw.insert("typed".into(), Value::Bool(true));
            (signal, rest)
        };
        Some(entry(&signal, hash, &self.options, raw).map_err(|message| LineError { line: line_no, message }))
    }
}

impl Iterator for PlainReader<'_> {
    type Item = Result<NewEntry, LineError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (line_no, line) = match self.next_line()? {
                Ok(l) => l,
                Err(e) => return Some(Err(e)),
            };
            if let Some(result) = self.parse(line_no, &line) {
                return Some(result);
            }
        }
    }
}

/// Writes `hash`, `type hash` or `hash  filename` lines, as each entry came.
pub struct PlainWriter<'a> {
    pub out: Box<dyn Write + 'a>,
}

impl EntryWriter for PlainWriter<'_> {
    fn write(&mut self, e: &NewEntry) -> std::io::Result<()> {
        if let Some(Value::String(name)) = e.raw.get("filename") {
            let mark = if e.raw.get("binary") == Some(&Value::Bool(true)) {
                "*"
            } else {
                " "
            };
            writeln!(self.out, "{} {mark}{name}", e.hash)
        } else if e.raw.get("typed") == Some(&Value::Bool(true)) {
            writeln!(self.out, "{} {}", e.signal, e.hash)
        } else {
            writeln!(self.out, "{}", e.hash)
        }
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// hashdeep audit files: a header naming the columns, then one CSV row per
/// file with one hash per algorithm; each hash becomes an entry, and the row
/// (size, filename, its number) is kept so an export rebuilds it.
pub struct HashdeepReader<'a> {
    input: Box<dyn BufRead + 'a>,
    options: ReadOptions,
    line: u64,
    buf: Vec<u8>,
    columns: Option<Vec<String>>,
    queued: std::collections::VecDeque<Result<NewEntry, LineError>>,
    ended: bool,
}

impl<'a> HashdeepReader<'a> {
    pub fn new(input: Box<dyn BufRead + 'a>, options: ReadOptions) -> Self {
        HashdeepReader {
            input,
            options,
            line: 0,
            buf: Vec::new(),
            columns: None,
            queued: Default::default(),
            ended: false,
        }
    }

    fn fill(&mut self) {
        while self.queued.is_empty() && !self.ended {
            self.line += 1;
            let line_no = self.line;
            let fail = |message: String| Err(LineError { line: line_no, message });
            match read_line_limited(&mut *self.input, &mut self.buf, self.options.max_line) {
                Ok(false) => {
                    self.ended = true;
                    if self.columns.is_none() {
                        self.queued.push_back(fail("no `%%%% size,...` column header".into()));
                    }
                }
                Err(m) => {
                    self.ended = !m.starts_with("line longer");
                    self.queued.push_back(fail(m));
                }
                Ok(true) => {
                    let text = String::from_utf8_lossy(&self.buf)
                        .trim_start_matches('\u{feff}')
                        .trim()
                        .to_string();
                    if text.is_empty() || text.starts_with("##") {
                        continue;
                    }
                    if let Some(header) = text.strip_prefix("%%%%") {
                        let header = header.trim();
                        if header.contains(',') {
                            self.columns = Some(header.split(',').map(|c| c.trim().to_ascii_lowercase()).collect());
                        }
                        continue;
                    }
                    let Some(columns) = &self.columns else {
                        self.queued
                            .push_back(fail("a row before the `%%%% size,...` column header".into()));
                        continue;
                    };
                    // The file name is last and may itself contain commas.
                    let fields: Vec<&str> = text.splitn(columns.len(), ',').collect();
                    if fields.len() != columns.len() {
                        self.queued.push_back(fail(format!(
                            "{} fields, the header names {}",
                            fields.len(),
                            columns.len()
                        )));
                        continue;
                    }
                    let mut raw = Map::new();
                    raw.insert("hashdeep_row".into(), Value::from(line_no));
                    raw.insert("hashdeep_columns".into(), Value::String(columns.join(",")));
                    let mut hashes = Vec::new();
                    for (col, val) in columns.iter().zip(&fields) {
                        match Signal::parse(col) {
                            Signal::Other(_) => {
                                raw.insert(col.clone(), Value::String(val.to_string()));
                            }
                            s => hashes.push((s, val.to_string())),
                        }
                    }
                    for (signal, val) in hashes {
                        let e = entry(&signal, &val, &self.options, raw.clone())
                            .map_err(|message| LineError { line: line_no, message });
                        self.queued.push_back(e);
                    }
                }
            }
        }
    }
}

impl Iterator for HashdeepReader<'_> {
    type Item = Result<NewEntry, LineError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.fill();
        self.queued.pop_front()
    }
}

/// Rebuilds hashdeep rows from consecutive entries of the same row.
pub struct HashdeepWriter<'a> {
    out: Box<dyn Write + 'a>,
    header_written: bool,
    row: Records,
}

impl<'a> HashdeepWriter<'a> {
    pub fn new(out: Box<dyn Write + 'a>) -> Self {
        HashdeepWriter {
            out,
            header_written: false,
            row: Records::default(),
        }
    }

    fn write_row(&mut self, entries: Vec<NewEntry>) -> std::io::Result<()> {
        let first = &entries[0];
        let columns = first
            .raw
            .get("hashdeep_columns")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| "size,md5,sha1,sha256,filename".to_string());
        if !self.header_written {
            writeln!(
                self.out,
                "%%%% HASHDEEP-1.0\n%%%% {columns}\n## Exported by tantalum\n##"
            )?;
            self.header_written = true;
        }
        let fields: Vec<String> = columns
            .split(',')
            .map(|col| match Signal::parse(col) {
                Signal::Other(_) => first.raw.get(col).and_then(Value::as_str).unwrap_or("").to_string(),
                s => entries
                    .iter()
                    .find(|e| e.signal == s.name())
                    .map(|e| e.hash.clone())
                    .unwrap_or_default(),
            })
            .collect();
        writeln!(self.out, "{}", fields.join(","))
    }
}

impl EntryWriter for HashdeepWriter<'_> {
    fn write(&mut self, e: &NewEntry) -> std::io::Result<()> {
        let key = e.raw.get("hashdeep_row").cloned().unwrap_or(Value::Null);
        match self.row.push(key, e) {
            Some(done) => self.write_row(done),
            None => Ok(()),
        }
    }
    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(done) = self.row.finish() {
            self.write_row(done)?;
        }
        self.out.flush()
    }
}
