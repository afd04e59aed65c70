//! The on-disk form: the in-memory arrays, 64-byte aligned, behind a
//! versioned header, so opening is a map and a header check.
//!
//! Layout (little-endian):
//! - magic `TNTLMIH\0`, format version u32, table count u32, entry count u64;
//! - one (offset u64, length u64) per section: hashes, ids, then for each
//!   table its bucket lines, wide offsets and positions; one (start u32, len u32) per table;
//! - an FNV-1a checksum of all header bytes before it;
//! - the sections, each at a 64-byte aligned offset.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use crate::bits::Slice;
use crate::buf::{Buf, Plain};
use crate::segment::{Segment, Table, PER_LINE};
use crate::IndexError;

const MAGIC: &[u8; 8] = b"TNTLMIH\0";
const VERSION: u32 = 2;
const ALIGN: u64 = 64;
const SECTIONS_PER_TABLE: usize = 3;

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn io_error(path: &Path, source: std::io::Error) -> IndexError {
    IndexError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn format_error(path: &Path, reason: impl Into<String>) -> IndexError {
    IndexError::Format {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn sections(seg: &Segment) -> Vec<(&[u8], u64)> {
    let mut out: Vec<(&[u8], u64)> = vec![
        (seg.hashes.as_bytes(), seg.hashes.len() as u64),
        (seg.ids.as_bytes(), seg.ids.len() as u64),
    ];
    for t in &seg.tables {
        out.push((t.lines.as_bytes(), t.lines.len() as u64));
        out.push((t.wide.as_bytes(), t.wide.len() as u64));
        out.push((t.positions.as_bytes(), t.positions.len() as u64));
    }
    out
}

fn header_len(tables: usize) -> u64 {
    let raw = 24 + (2 + SECTIONS_PER_TABLE as u64 * tables as u64) * 16 + tables as u64 * 8 + 8;
    raw.div_ceil(ALIGN) * ALIGN
}

pub(crate) fn write(seg: &Segment, path: &Path) -> Result<(), IndexError> {
    let secs = sections(seg);
    let mut header = Vec::new();
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&(seg.tables.len() as u32).to_le_bytes());
    header.extend_from_slice(&(seg.len() as u64).to_le_bytes());
    let mut offset = header_len(seg.tables.len());
    for (bytes, len) in &secs {
        header.extend_from_slice(&offset.to_le_bytes());
        header.extend_from_slice(&len.to_le_bytes());
        offset = (offset + bytes.len() as u64).div_ceil(ALIGN) * ALIGN;
    }
    for t in &seg.tables {
        header.extend_from_slice(&t.slice.start.to_le_bytes());
        header.extend_from_slice(&t.slice.len.to_le_bytes());
    }
    let checksum = fnv1a(&header);
    header.extend_from_slice(&checksum.to_le_bytes());
    header.resize(header_len(seg.tables.len()) as usize, 0);

    let tmp = path.with_extension("tmp");
    let file = File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut written = header.len() as u64;
    w.write_all(&header).map_err(|e| io_error(&tmp, e))?;
    for (bytes, _) in &secs {
        w.write_all(bytes).map_err(|e| io_error(&tmp, e))?;
        written += bytes.len() as u64;
        let pad = written.div_ceil(ALIGN) * ALIGN - written;
        w.write_all(&vec![0u8; pad as usize]).map_err(|e| io_error(&tmp, e))?;
        written += pad;
    }
    let file = w.into_inner().map_err(|e| io_error(&tmp, e.into_error()))?;
    file.sync_all().map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let v = self.bytes.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(v)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_le_bytes)
    }
}

pub(crate) fn read(path: &Path) -> Result<Segment, IndexError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    // SAFETY: the file is opened read-only and tantalum replaces index files
    // by rename, never in place, so the mapping does not change under us.
    let map = Arc::new(unsafe { Mmap::map(&file) }.map_err(|e| io_error(path, e))?);
    let truncated = || format_error(path, "truncated header");
    let mut r = Reader { bytes: &map, at: 0 };
    if &r.take::<8>().ok_or_else(truncated)? != MAGIC {
        return Err(format_error(path, "wrong magic"));
    }
    let version = r.u32().ok_or_else(truncated)?;
    if version != VERSION {
        return Err(format_error(
            path,
            format!("format version {version}, this build reads {VERSION}"),
        ));
    }
    let tables = r.u32().ok_or_else(truncated)? as usize;
    if tables > 64 {
        return Err(format_error(path, format!("{tables} tables")));
    }
    let n = r.u64().ok_or_else(truncated)?;
    let mut secs = Vec::new();
    for _ in 0..2 + SECTIONS_PER_TABLE * tables {
        secs.push((
            r.u64().ok_or_else(truncated)? as usize,
            r.u64().ok_or_else(truncated)? as usize,
        ));
    }
    let mut slices = Vec::new();
    for _ in 0..tables {
        let start = r.u32().ok_or_else(truncated)?;
        let len = r.u32().ok_or_else(truncated)?;
        if len == 0 || len > 30 || start + len > 256 {
            return Err(format_error(path, format!("bad substring {start}+{len}")));
        }
        slices.push(Slice { start, len });
    }
    let body = r.at;
    let checksum = r.u64().ok_or_else(truncated)?;
    if checksum != fnv1a(&map[..body]) {
        return Err(format_error(path, "header checksum mismatch"));
    }
    fn section<T: Plain>(map: &Arc<Mmap>, sec: (usize, usize), path: &Path) -> Result<Buf<T>, IndexError> {
        Buf::mapped(map, sec.0, sec.1).ok_or_else(|| format_error(path, "section out of bounds or misaligned"))
    }
    let hashes = section(&map, secs[0], path)?;
    let ids = section(&map, secs[1], path)?;
    if secs[0].1 as u64 != n || secs[1].1 as u64 != n {
        return Err(format_error(path, "entry count does not match its arrays"));
    }
    let mut out = Vec::with_capacity(tables);
    for (t, slice) in slices.into_iter().enumerate() {
        let base = 2 + SECTIONS_PER_TABLE * t;
        let table = Table {
            slice,
            lines: section(&map, secs[base], path)?,
            wide: section(&map, secs[base + 1], path)?,
            positions: section(&map, secs[base + 2], path)?,
        };
        let buckets = 1usize << slice.len;
        if table.lines.len() != buckets.div_ceil(PER_LINE) || table.positions.len() as u64 != n {
            return Err(format_error(path, format!("table {t} has inconsistent sizes")));
        }
        out.push(table);
    }
    Ok(Segment {
        hashes,
        ids,
        tables: out,
    })
}
