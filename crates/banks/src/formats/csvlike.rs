//! CSV lists with a header: columns of ids, hashes (one column per type)
//! and categories; and ThreatExchange/HMA exports (`signal_type,signal`).
//! Unknown columns are kept per entry and written back on export.

use std::io::{BufRead, Write};

use serde_json::{Map, Value};

use super::{merge_categories, EntryWriter, Format, LineError, ReadOptions, Records};
use crate::model::{NewEntry, Signal};

/// The signal a hash column holds, from its header name.
pub(crate) fn hash_column(name: &str) -> Option<Signal> {
    match Signal::parse(name) {
        Signal::Other(_) => None,
        s => Some(s),
    }
}

fn id_column(name: &str) -> bool {
    matches!(
        name,
        "id" | "external_id" | "entry_id" | "content_id" | "image_id" | "hash_id"
    )
}

fn category_column(name: &str) -> bool {
    matches!(
        name,
        "category" | "categories" | "label" | "labels" | "classification" | "tags"
    )
}

/// A category as given, tagged with a scheme when it has none.
fn tag_category(value: &str) -> Vec<String> {
    value
        .split([';', '|'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            if v.contains(':') {
                v.to_string()
            } else {
                format!("list:{v}")
            }
        })
        .collect()
}

pub struct CsvReader<'a> {
    records: csv::StringRecordsIntoIter<Box<dyn BufRead + 'a>>,
    header: Vec<String>,
    options: ReadOptions,
    format: Format,
    queued: std::collections::VecDeque<Result<NewEntry, LineError>>,
    header_error: Option<LineError>,
    row: u64,
}

impl<'a> CsvReader<'a> {
    pub fn new(input: Box<dyn BufRead + 'a>, options: ReadOptions, format: Format) -> Self {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(input);
        let (header, header_error) = match reader.headers() {
            Ok(h) => (
                h.iter()
                    .map(|c| c.trim_start_matches('\u{feff}').to_ascii_lowercase())
                    .collect(),
                None,
            ),
            Err(e) => (
                Vec::new(),
                Some(LineError {
                    line: 1,
                    message: format!("bad CSV header: {e}"),
                }),
            ),
        };
        let header_error = header_error.or_else(|| {
            let has_hash = match format {
                Format::ThreatExchange => {
                    header.iter().any(|c| c == "signal") && header.iter().any(|c| c == "signal_type")
                }
                _ => header.iter().any(|c| hash_column(c).is_some()),
            };
            (!has_hash).then(|| LineError {
                line: 1,
                message: "the header names no hash column".into(),
            })
        });
        CsvReader {
            records: reader.into_records(),
            header,
            options,
            format,
            queued: Default::default(),
            header_error,
            row: 0,
        }
    }

    fn parse_record(&mut self, record: csv::StringRecord) {
        let line = record.position().map(|p| p.line()).unwrap_or(self.row + 1);
        let fail = |message: String| Err(LineError { line, message });
        if record.len() != self.header.len() {
            self.queued.push_back(fail(format!(
                "{} fields, the header names {}",
                record.len(),
                self.header.len()
            )));
            return;
        }
        let mut raw = Map::new();
        raw.insert("csv_columns".into(), Value::String(self.header.join(",")));
        raw.insert("csv_row".into(), Value::from(line));
        let mut external_id = None;
        let mut categories = Vec::new();
        let mut hashes = Vec::new();
        let mut te_type = None;
        let mut te_signal = None;
        for (col, val) in self.header.iter().zip(record.iter()) {
            if col == "signal_type" {
                te_type = Some(val.to_string());
                // Kept so an export writes the list's own name (`video_md5`), not ours (`md5`).
                raw.insert("signal_type".into(), Value::String(val.to_string()));
            } else if col == "signal" {
                te_signal = Some(val.to_string());
            } else if let (Format::Csv, Some(signal)) = (self.format, hash_column(col)) {
                if !val.is_empty() {
                    hashes.push((signal, val.to_string()));
                }
            } else if id_column(col) && !val.is_empty() {
                external_id = Some(val.to_string());
            } else if category_column(col) {
                categories.extend(tag_category(val));
            } else {
                raw.insert(col.clone(), Value::String(val.to_string()));
            }
        }
        if te_type.is_some() || te_signal.is_some() {
            match (te_type, te_signal) {
                (Some(t), Some(s)) if !t.is_empty() && !s.is_empty() => hashes.push((Signal::parse(&t), s)),
                _ => {
                    self.queued.push_back(fail("empty signal_type or signal".into()));
                    return;
                }
            }
        }
        if hashes.is_empty() {
            self.queued.push_back(fail("no hash in this row".into()));
            return;
        }
        let categories = merge_categories(categories, &self.options.categories);
        for (signal, value) in hashes {
            let source = self.options.source.as_deref();
            let e = NewEntry::of_record(&signal, &value, &categories, external_id.as_deref(), source, &raw);
            self.queued.push_back(e.map_err(|message| LineError { line, message }));
        }
    }
}

impl Iterator for CsvReader<'_> {
    type Item = Result<NewEntry, LineError>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.header_error.take() {
            self.records_exhaust();
            return Some(Err(e));
        }
        while self.queued.is_empty() {
            self.row += 1;
            match self.records.next()? {
                Ok(record) => self.parse_record(record),
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(self.row);
                    return Some(Err(LineError {
                        line,
                        message: format!("bad CSV: {e}"),
                    }));
                }
            }
        }
        self.queued.pop_front()
    }
}

impl CsvReader<'_> {
    /// After a fatal header problem nothing else is read.
    fn records_exhaust(&mut self) {
        self.header.clear();
        self.records = csv::ReaderBuilder::new()
            .from_reader(Box::new(std::io::empty()) as Box<dyn BufRead>)
            .into_records();
    }
}

/// Writes CSV: rows rebuilt from the columns an entry came with, or a
/// generic header for entries from other formats.
pub struct CsvWriter<'a> {
    out: csv::Writer<Box<dyn Write + 'a>>,
    format: Format,
    header: Option<Vec<String>>,
    row: Records,
}

impl<'a> CsvWriter<'a> {
    pub fn new(out: Box<dyn Write + 'a>, format: Format) -> Self {
        CsvWriter {
            out: csv::WriterBuilder::new().flexible(true).from_writer(out),
            format,
            header: None,
            row: Records::default(),
        }
    }

    /// For entries from other formats, which may be of any type: a type column says which.
    fn default_header(&self) -> Vec<String> {
        ["id", "signal_type", "signal", "category"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn write_row(&mut self, entries: Vec<NewEntry>) -> std::io::Result<()> {
        let first = &entries[0];
        let own_header: Option<Vec<String>> = first
            .raw
            .get("csv_columns")
            .and_then(Value::as_str)
            .map(|c| c.split(',').map(str::to_string).collect());
        if self.header.is_none() {
            let header = own_header.clone().unwrap_or_else(|| self.default_header());
            self.out.write_record(&header)?;
            self.header = Some(header);
        }
        let header = self.header.clone().expect("set above");
        let categories = first.categories.join(";");
        let field = |col: &str| -> String {
            if col == "signal_type" {
                return first
                    .raw
                    .get("signal_type")
                    .and_then(Value::as_str)
                    .unwrap_or(&first.signal)
                    .to_string();
            }
            if col == "signal" {
                return first.hash.clone();
            }
            if let Some(s) = hash_column(col) {
                return entries
                    .iter()
                    .find(|e| e.signal == s.name())
                    .map(|e| e.hash.clone())
                    .unwrap_or_default();
            }
            if id_column(col) {
                return first.external_id.clone().unwrap_or_default();
            }
            if category_column(col) {
                return categories.clone();
            }
            first.raw.get(col).and_then(Value::as_str).unwrap_or("").to_string()
        };
        let record: Vec<String> = header.iter().map(|c| field(c)).collect();
        self.out.write_record(&record)?;
        Ok(())
    }
}

impl EntryWriter for CsvWriter<'_> {
    fn write(&mut self, e: &NewEntry) -> std::io::Result<()> {
        // Only our own CSV puts several hashes on one row.
        let key = match self.format {
            Format::Csv => e.raw.get("csv_row").cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        };
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
