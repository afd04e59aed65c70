//! ZIP, tar and gzip archives opened in place: every member becomes evidence
//! named `archive.zip!/inner/path` (nested archives too:
//! `a.zip!/b.tar!/c.jpg`), read into memory and never extracted to disk.
//!
//! Archives are also where hostile input lives, so every trap is caught
//! before it costs anything and recorded as the member's reason:
//! compression bombs (a member's ratio, an archive's total expansion against
//! its own size, member counts), paths that climb out of the archive
//! (zip-slip), encrypted members, and nesting past a depth.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use media::{Digester, Digests, Format};
use rayon::prelude::*;

/// Caps that keep hostile archives from costing more than they are worth.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ArchiveLimits {
    /// Archives inside archives are opened this many levels deep.
    pub max_depth: u32,
    /// Members up to this size are read into memory and fully analysed;
    /// larger ones are digested only.
    pub max_member_bytes: u64,
    /// No archive expands past this many bytes in all, members of members included.
    pub max_total_bytes: u64,
    /// Nor past this multiple of its own size; and no compressed member
    /// over 1 MiB expands more than this many times its stored size.
    pub max_ratio: u64,
    /// Members read from one archive, nested ones included.
    pub max_members: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_depth: 8,
            max_member_bytes: 512 << 20,
            max_total_bytes: 256 << 30,
            max_ratio: 100,
            max_members: 10_000_000,
        }
    }
}

/// A member's content as handed to the scan.
pub(crate) enum Body<'a> {
    /// Read whole.
    Bytes(&'a [u8]),
    /// Too large to hold: digested while read.
    Digested {
        size: u64,
        digests: Digests,
        format: Option<Format>,
    },
    /// Not read, for this reason (a trap).
    Skipped(String),
    /// Could not be read.
    Error(String),
}

/// One member found.
pub(crate) struct Member<'a> {
    pub path: String,
    pub container: String,
    pub mtime: Option<i64>,
    pub size: u64,
    pub body: Body<'a>,
}

/// What the scan does with members.
pub(crate) trait Sink: Sync {
    /// Whether a member was recorded by an earlier, interrupted run.
    fn is_done(&self, path: &str) -> bool;
    /// More members are on their way (for the progress bar).
    fn planned(&self, n: u64);
    /// A member was passed over because it is done.
    fn passed(&self);
    /// Analyse and record a member; `depth` is its nesting level.
    fn member(&self, member: Member<'_>, depth: u32, budget: &Budget);
}

/// Where the members of one archive go: its name, nesting depth and budget.
struct Level<'a> {
    sink: &'a dyn Sink,
    container: &'a str,
    depth: u32,
    budget: &'a Budget,
}

impl Level<'_> {
    fn emit(&self, path: String, mtime: Option<i64>, size: u64, body: Body<'_>) {
        let member = Member {
            path,
            container: self.container.to_string(),
            mtime,
            size,
            body,
        };
        self.sink.member(member, self.depth, self.budget);
    }
}

/// What one top-level archive may still expand to.
pub(crate) struct Budget {
    limit: u64,
    used: AtomicU64,
    members: AtomicU64,
    max_members: u64,
}

impl Budget {
    pub fn new(archive_len: u64, limits: &ArchiveLimits) -> Budget {
        Budget {
            limit: archive_len
                .saturating_mul(limits.max_ratio)
                .max(16 << 20)
                .min(limits.max_total_bytes),
            used: AtomicU64::new(0),
            members: AtomicU64::new(0),
            max_members: limits.max_members,
        }
    }

    /// Claims room for a member; the reason when there is none.
    fn claim(&self, bytes: u64) -> Result<(), String> {
        if self.members.fetch_add(1, Ordering::Relaxed) >= self.max_members {
            return Err(format!(
                "archive bomb: more than {} members in one archive",
                self.max_members
            ));
        }
        let before = self.used.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > self.limit {
            return Err(format!(
                "archive bomb: the archive expands past {} bytes (cap: its size × ratio, at most the total cap)",
                self.limit
            ));
        }
        Ok(())
    }

    fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used.load(Ordering::Relaxed))
    }
}

/// A file handle that many readers share, each with its own position
/// (positioned reads), so one parsed ZIP directory serves every thread.
#[derive(Clone)]
struct SharedFile {
    file: Arc<File>,
    len: u64,
    pos: u64,
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

/// Expands an archive file of the evidence (opened read-only, no atime).
pub(crate) fn expand_file(
    path: &Path,
    format: Format,
    container: &str,
    limits: &ArchiveLimits,
    sink: &dyn Sink,
) -> Result<(), String> {
    let file = media::open_evidence(path).map_err(|e| format!("archive: cannot open: {e}"))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    // A plain tar's members are on disk as they are: no bomb possible, so no expansion cap.
    let budget = if format == Format::Tar {
        Budget::unbounded(limits)
    } else {
        Budget::new(len, limits)
    };
    let level = Level {
        sink,
        container,
        depth: 1,
        budget: &budget,
    };
    match format {
        Format::Zip => {
            let shared = SharedFile {
                file: Arc::new(file),
                len,
                pos: 0,
            };
            expand_zip(shared, limits, &level)
        }
        Format::Tar => expand_tar(io::BufReader::with_capacity(1 << 20, file), limits, &level),
        Format::Gzip => expand_gzip(io::BufReader::new(file), len, limits, &level),
        _ => Ok(()),
    }
}

impl Budget {
    fn unbounded(limits: &ArchiveLimits) -> Budget {
        Budget {
            limit: u64::MAX,
            used: AtomicU64::new(0),
            members: AtomicU64::new(0),
            max_members: limits.max_members,
        }
    }
}

/// Expands an archive held in memory (a member of another).
pub(crate) fn expand_bytes(
    bytes: &[u8],
    format: Format,
    container: &str,
    limits: &ArchiveLimits,
    sink: &dyn Sink,
    depth: u32,
    budget: &Budget,
) -> Result<(), String> {
    let level = Level {
        sink,
        container,
        depth,
        budget,
    };
    match format {
        Format::Zip => expand_zip(Cursor::new(bytes), limits, &level),
        Format::Tar => expand_tar(bytes, limits, &level),
        Format::Gzip => expand_gzip(bytes, bytes.len() as u64, limits, &level),
        _ => Ok(()),
    }
}

/// Days since the epoch of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A ZIP's DOS time (local time of the zipping machine, zone unknown), read as UTC.
fn zip_time(t: zip::DateTime) -> Option<i64> {
    if t.month() == 0 || t.day() == 0 {
        return None;
    }
    let days = days_from_civil(i64::from(t.year()), i64::from(t.month()), i64::from(t.day()));
    let secs = days * 86_400 + i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second());
    Some(secs * 1_000_000_000)
}

/// Member names made unique: a name seen before gets `#n` (ZIP and tar both allow repeats).
struct Names(HashSet<String>);

impl Names {
    fn unique(&mut self, path: String) -> String {
        if self.0.insert(path.clone()) {
            return path;
        }
        let mut n = 2;
        loop {
            let candidate = format!("{path}#{n}");
            if self.0.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

fn climbs_out(name: &str) -> bool {
    name.starts_with('/')
        || name.starts_with('\\')
        || name.split(['/', '\\']).any(|c| c == "..")
        || Path::new(name)
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::RootDir | Component::Prefix(_)))
}

struct ZipListing {
    index: usize,
    path: String,
    name: String,
    size: u64,
    compressed: u64,
    encrypted: bool,
    mtime: Option<i64>,
}

fn expand_zip<R: Read + Seek + Clone + Send + Sync>(
    reader: R,
    limits: &ArchiveLimits,
    level: &Level<'_>,
) -> Result<(), String> {
    let (sink, container, budget) = (level.sink, level.container, level.budget);
    let archive = zip::ZipArchive::new(reader).map_err(|e| format!("archive: not a readable ZIP: {e}"))?;
    let mut names = Names(HashSet::new());
    let mut listing = Vec::with_capacity(archive.len());
    let mut lister = archive.clone();
    for index in 0..lister.len() {
        match lister.by_index_raw(index) {
            Ok(f) if f.is_dir() => {}
            Ok(f) => {
                // The name as the archive's flags say it is encoded (UTF-8 or CP437).
                let name = f
                    .name()
                    .map(|n| n.into_owned())
                    .unwrap_or_else(|_| String::from_utf8_lossy(f.name_raw()).into_owned());
                listing.push(ZipListing {
                    index,
                    path: names.unique(format!("{container}!/{name}")),
                    name,
                    size: f.size(),
                    compressed: f.compressed_size(),
                    encrypted: f.encrypted(),
                    mtime: f.last_modified().and_then(zip_time),
                });
            }
            Err(e) => {
                sink.planned(1);
                level.emit(
                    names.unique(format!("{container}!/#{index}")),
                    None,
                    0,
                    Body::Error(format!("unreadable ZIP entry: {e}")),
                );
            }
        }
    }
    sink.planned(listing.len() as u64);
    listing.par_iter().for_each_init(
        || archive.clone(),
        |archive, item| {
            if sink.is_done(&item.path) {
                sink.passed();
                return;
            }
            let member = |body: Body<'_>| level.emit(item.path.clone(), item.mtime, item.size, body);
            if let Some(reason) = zip_trap(item, limits).or_else(|| budget.claim(item.size).err()) {
                return member(Body::Skipped(reason));
            }
            let mut file = match archive.by_index(item.index) {
                Ok(f) => f,
                Err(e) => return member(Body::Error(format!("unreadable ZIP member: {e}"))),
            };
            match read_member(&mut file, item.size, limits) {
                Ok(Read_::Bytes(bytes)) => member(Body::Bytes(&bytes)),
                Ok(Read_::Digested(size, digests, format)) => member(Body::Digested { size, digests, format }),
                Err(reason) => member(reason),
            }
        },
    );
    Ok(())
}

fn zip_trap(item: &ZipListing, limits: &ArchiveLimits) -> Option<String> {
    if climbs_out(&item.name) {
        return Some(format!(
            "zip-slip: member path {:?} leaves the archive (absolute or ..); not read",
            item.name
        ));
    }
    if item.encrypted {
        return Some("encrypted member: not decrypted".into());
    }
    let ratio = item.size / item.compressed.max(1);
    if item.size > 1 << 20 && ratio > limits.max_ratio {
        return Some(format!(
            "zip bomb: member expands {ratio}:1, over the cap of {}:1",
            limits.max_ratio
        ));
    }
    None
}

#[allow(non_camel_case_types)]
enum Read_ {
    Bytes(Vec<u8>),
    Digested(u64, Digests, Option<Format>),
}

/// Reads a member: whole up to the in-memory cap, digested beyond it; never
/// more than its header declared (a member that holds more is a bomb).
fn read_member(reader: &mut impl Read, declared: u64, limits: &ArchiveLimits) -> Result<Read_, Body<'static>> {
    let io_error = |e: io::Error| Body::Error(format!("member unreadable: {e}"));
    if declared <= limits.max_member_bytes {
        let mut bytes = Vec::with_capacity(declared.min(64 << 20) as usize);
        reader.take(declared + 1).read_to_end(&mut bytes).map_err(io_error)?;
        if bytes.len() as u64 > declared {
            return Err(Body::Skipped(
                "archive bomb: member holds more than its header declares".into(),
            ));
        }
        return Ok(Read_::Bytes(bytes));
    }
    let mut digester = Digester::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut head = Vec::new();
    let mut size = 0u64;
    let mut limited = reader.take(declared + 1);
    loop {
        let n = match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(e)),
        };
        if head.len() < media::SNIFF_LEN {
            let take = (media::SNIFF_LEN - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        digester.update(&buf[..n]);
        size += n as u64;
    }
    if size > declared {
        return Err(Body::Skipped(
            "archive bomb: member holds more than its header declares".into(),
        ));
    }
    Ok(Read_::Digested(size, digester.finish(), media::sniff(&head)))
}

/// Members of a tar stream are read in order and analysed in parallel a
/// batch at a time, so memory stays bounded whatever the archive's size.
const TAR_BATCH_BYTES: u64 = 128 << 20;
const TAR_BATCH_MEMBERS: usize = 256;

fn expand_tar<R: Read>(reader: R, limits: &ArchiveLimits, level: &Level<'_>) -> Result<(), String> {
    let (sink, container, budget) = (level.sink, level.container, level.budget);
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| format!("archive: not a readable tar: {e}"))?;
    let mut names = Names(HashSet::new());
    let mut batch: Vec<(String, Option<i64>, Vec<u8>)> = Vec::new();
    let mut batch_bytes = 0u64;
    let flush = |batch: &mut Vec<(String, Option<i64>, Vec<u8>)>| {
        sink.planned(batch.len() as u64);
        batch
            .par_iter()
            .for_each(|(path, mtime, bytes)| level.emit(path.clone(), *mtime, bytes.len() as u64, Body::Bytes(bytes)));
        batch.clear();
    };
    let mut outcome = Ok(());
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                outcome = Err(format!(
                    "archive: tar stream unreadable after {} members: {e}",
                    names.0.len()
                ));
                break;
            }
        };
        let header = entry.header();
        let kind = header.entry_type();
        let mtime = header.mtime().ok().map(|s| s as i64 * 1_000_000_000);
        let size = entry.size();
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if kind.is_dir()
            || kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
            || kind.is_gnu_longlink()
        {
            continue;
        }
        let path = names.unique(format!("{container}!/{name}"));
        if sink.is_done(&path) {
            sink.planned(1);
            sink.passed();
            continue;
        }
        let single = |body: Body<'_>| {
            sink.planned(1);
            level.emit(path.clone(), mtime, size, body)
        };
        let trap = if climbs_out(&name) {
            Some(format!(
                "zip-slip: member path {name:?} leaves the archive (absolute or ..); not read"
            ))
        } else if kind.is_symlink() || kind.is_hard_link() {
            Some("skipped: link inside the archive (not followed)".to_string())
        } else if !(kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse()) {
            Some(format!("skipped: special member ({kind:?})"))
        } else {
            budget.claim(size).err()
        };
        if let Some(reason) = trap {
            single(Body::Skipped(reason));
            continue;
        }
        match read_member(&mut entry, size, limits) {
            Ok(Read_::Bytes(bytes)) => {
                batch_bytes += bytes.len() as u64;
                batch.push((path, mtime, bytes));
                if batch_bytes > TAR_BATCH_BYTES || batch.len() >= TAR_BATCH_MEMBERS {
                    flush(&mut batch);
                    batch_bytes = 0;
                }
            }
            Ok(Read_::Digested(size, digests, format)) => single(Body::Digested { size, digests, format }),
            Err(body) => {
                let stream_broken = matches!(&body, Body::Error(_));
                single(body);
                if stream_broken {
                    outcome = Err("archive: tar stream unreadable past a member".into());
                    break;
                }
            }
        }
    }
    flush(&mut batch);
    outcome
}

/// Counts what a decompressor yields and stops it at a cap.
struct Capped<R> {
    inner: R,
    left: u64,
    cap: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One byte more than allowed proves the stream goes on.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(format!(
                    "compression bomb: the stream expands past {} bytes (cap: its size × ratio)",
                    self.cap
                ))),
            };
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn expand_gzip<R: Read>(
    reader: R,
    compressed_len: u64,
    limits: &ArchiveLimits,
    level: &Level<'_>,
) -> Result<(), String> {
    let (sink, container, depth, budget) = (level.sink, level.container, level.depth, level.budget);
    let cap = compressed_len
        .saturating_mul(limits.max_ratio)
        .max(16 << 20)
        .min(budget.remaining());
    let mut stream = Capped {
        inner: flate2::read::MultiGzDecoder::new(reader),
        left: cap,
        cap,
    };
    let mut head = Vec::with_capacity(512);
    (&mut stream)
        .take(512)
        .read_to_end(&mut head)
        .map_err(|e| format!("archive: gzip unreadable: {e}"))?;
    if media::sniff(&head) == Some(Format::Tar) {
        return expand_tar(Cursor::new(head).chain(stream), limits, level);
    }
    // A single compressed file: one member named as the file without `.gz`.
    let base = container.rsplit(['/', '!']).next().unwrap_or(container);
    let inner = base
        .strip_suffix(".gz")
        .or_else(|| base.strip_suffix(".tgz"))
        .filter(|s| !s.is_empty())
        .unwrap_or("content");
    let path = format!("{container}!/{inner}");
    sink.planned(1);
    if sink.is_done(&path) {
        sink.passed();
        return Ok(());
    }
    let mut rest = Cursor::new(head).chain(stream);
    let body = match read_member(&mut rest, limits.max_member_bytes.max(cap), limits) {
        Ok(Read_::Bytes(bytes)) => {
            let claim = budget.claim(bytes.len() as u64);
            let member = Member {
                path,
                container: container.to_string(),
                mtime: None,
                size: bytes.len() as u64,
                body: match &claim {
                    Ok(()) => Body::Bytes(&bytes),
                    Err(reason) => Body::Skipped(reason.clone()),
                },
            };
            sink.member(member, depth, budget);
            return Ok(());
        }
        Ok(Read_::Digested(size, digests, format)) => Body::Digested { size, digests, format },
        Err(Body::Error(e)) if e.contains("compression bomb") => Body::Skipped(e.replace("member unreadable: ", "")),
        Err(body) => body,
    };
    let size = match &body {
        Body::Digested { size, .. } => *size,
        _ => 0,
    };
    level.emit(path, None, size, body);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_climb_out_are_traps() {
        assert!(climbs_out("../../etc/passwd"));
        assert!(climbs_out("/abs/path.jpg"));
        assert!(climbs_out("a/../../b"));
        assert!(climbs_out("..\\windows\\x"));
        assert!(!climbs_out("DCIM/Camera/IMG_0001.jpg"));
        assert!(!climbs_out("a..b/c"));
    }

    #[test]
    fn dos_times_read_as_utc() {
        let t = zip::DateTime::from_date_and_time(2017, 11, 21, 10, 30, 0).unwrap();
        assert_eq!(zip_time(t), Some(1_511_260_200 * 1_000_000_000));
    }
}
