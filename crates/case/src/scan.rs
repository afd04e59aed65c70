//! The scan: walk the evidence, read each file once (digests and pixels from
//! the same bytes), look the digests up in the known-file banks first,
//! hash what is left, match it, and record it.
//!
//! Every core hashes; one thread writes to the case, committing in batches.
//! A record goes in whole with its matches, and an archive's own record
//! only after all its members, so after a kill at any moment the case holds
//! whole records only and the rerun does exactly the rest.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use banks::{Matcher, Query};
use media::{Format, Kind, Loaded};
use rayon::prelude::*;
use serde::Serialize;

use crate::archive::{self, ArchiveLimits, Body, Budget, Member, Sink};
use crate::store::{CaseStore, FileRecord, FileStatus, MatchRecord};
use crate::walk::{self, Entry};
use crate::{CaseError, TOOL_VERSION};

/// How to scan.
#[derive(Debug, Clone, Serialize)]
pub struct ScanOptions {
    /// Banks to match against (empty: all banks in the store).
    pub banks: Vec<String>,
    /// Also match rotated and flipped copies (the 8 dihedral PDQ hashes).
    pub dihedral: bool,
    /// Replaces every bank's PDQ distance.
    pub max_distance: Option<u32>,
    /// Refuse images with more pixels than this.
    pub max_pixels: u64,
    /// vPDQ: seconds between hashed frames (0: every frame).
    pub vpdq_seconds: f64,
    /// vPDQ: frame size (0: native).
    pub vpdq_size: u32,
    /// Archive caps.
    pub archives: ArchiveLimits,
    /// Label for the sources of this run (exhibit number, device).
    pub label: Option<String>,
    /// Forget what earlier runs found in these sources and scan them afresh.
    pub rescan: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            banks: Vec::new(),
            dihedral: false,
            max_distance: None,
            max_pixels: media::DEFAULT_MAX_PIXELS,
            vpdq_seconds: 1.0,
            vpdq_size: 0,
            archives: ArchiveLimits::default(),
            label: None,
            rescan: false,
        }
    }
}

/// Receives progress; the binary draws a bar with it.
pub trait Progress: Sync {
    /// `n` more items are to be done.
    fn planned(&self, _n: u64) {}
    /// `n` more items are done.
    fn done(&self, _n: u64) {}
    /// Whether the user asked to stop (Ctrl-C): work in flight is recorded,
    /// the rest is left for the next run.
    fn cancelled(&self) -> bool {
        false
    }
}

impl Progress for () {}

/// Where the time went, summed over all threads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageTimes {
    /// Reading files and computing MD5, SHA-1 and SHA-256.
    pub read_and_digest_s: f64,
    /// Decoding images and computing PDQ.
    pub decode_and_pdq_s: f64,
    /// vPDQ of videos (ffmpeg included).
    pub video_s: f64,
    /// Bank lookups.
    pub match_s: f64,
    /// Writing to the case (the writer thread).
    pub store_s: f64,
}

#[derive(Default)]
struct Clock {
    read: AtomicU64,
    decode: AtomicU64,
    video: AtomicU64,
    matching: AtomicU64,
    store: AtomicU64,
}

impl Clock {
    fn time<T>(counter: &AtomicU64, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        counter.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        out
    }

    fn times(&self) -> StageTimes {
        let s = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / 1e9;
        StageTimes {
            read_and_digest_s: s(&self.read),
            decode_and_pdq_s: s(&self.decode),
            video_s: s(&self.video),
            match_s: s(&self.matching),
            store_s: s(&self.store),
        }
    }
}

/// What a scan did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanSummary {
    /// Records written by this run (files and archive members).
    pub recorded: u64,
    /// Already in the case from an earlier run, passed over.
    pub already_done: u64,
    /// Images hashed with PDQ.
    pub images: u64,
    /// Videos hashed with vPDQ.
    pub videos: u64,
    /// Files on known-file lists.
    pub known_files: u64,
    /// Files with at least one match in a list of flagged material.
    pub flagged: u64,
    /// Files skipped (special files, links, archive traps).
    pub skipped: u64,
    /// Files that could not be read or analysed in full.
    pub errors: u64,
    /// Stopped by the user before the end; the next run continues.
    pub interrupted: bool,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Where the time went.
    pub stages: StageTimes,
}

/// Per-thread tools: a PDQ hasher and a read connection to the banks.
struct Worker {
    hasher: pdq::Hasher,
    banks: Option<banks::Store>,
    scratch: index::Scratch,
}

struct Ctx<'a> {
    options: &'a ScanOptions,
    media: media::AnalyzeOptions,
    vpdq: vpdq::HashOptions,
    matcher: Option<&'a Matcher>,
    bank_store: Option<&'a banks::Location>,
    tmp_dir: PathBuf,
    ffmpeg: bool,
    workers: Mutex<Vec<Worker>>,
    /// Videos of files waiting for their vPDQ until there are enough to
    /// share ffmpeg runs ([`files_video_hashes`]).
    waiting_videos: Mutex<Vec<WaitingVideo>>,
    tx: mpsc::SyncSender<(i64, FileRecord)>,
    stop: AtomicBool,
    /// Why matching could not be done, once it could not: the scan stops
    /// and records nothing more, so a rerun matches what was left.
    failure: &'a Mutex<Option<String>>,
    clock: &'a Clock,
    progress: &'a dyn Progress,
}

/// A file's video between its analysis and its vPDQ: the record so far,
/// the query with its digests, and the matches those found.
struct WaitingVideo {
    source: i64,
    path: PathBuf,
    record: FileRecord,
    query: Query,
    digest_hits: Vec<MatchRecord>,
}

/// What [`SourceSink::analyse`] leaves to do for a file's video: its query
/// and the matches of its digests.
struct VideoWait {
    query: Query,
    digest_hits: Vec<MatchRecord>,
}

/// One source's part of the work.
struct SourceWork {
    id: i64,
    root: PathBuf,
    is_dir: bool,
    done: HashSet<String>,
}

/// Scans `roots` into the case, matching against the banks in the store
/// at `banks_at` (none, or no store there: hashes only).
pub fn scan(
    case: &mut CaseStore,
    banks_at: Option<&banks::Location>,
    roots: &[PathBuf],
    options: &ScanOptions,
    progress: &dyn Progress,
) -> Result<ScanSummary, CaseError> {
    let started = Instant::now();
    let bank_store = match banks_at {
        Some(location) if location.exists() => Some(banks::Store::open_at(location)?),
        _ => None,
    };
    if bank_store.is_none() && !options.banks.is_empty() {
        return Err(banks::BankError::NoSuchBank(options.banks[0].clone()).into());
    }
    let matcher = bank_store
        .as_ref()
        .map(|s| Matcher::load(s, &options.banks))
        .transpose()?;
    let mut bank_names: Vec<String> = matcher
        .as_ref()
        .map(|m| m.banks().map(|b| b.name.clone()).collect())
        .unwrap_or_default();
    bank_names.sort();
    let generation = bank_store.as_ref().map(|s| s.generation()).transpose()?.unwrap_or(0);
    let settings = serde_json::json!({
        "banks": bank_names,
        "bank_generation": generation,
        "dihedral": options.dihedral,
        "max_distance": options.max_distance,
        "max_pixels": options.max_pixels,
        "vpdq_seconds": options.vpdq_seconds,
        "vpdq_size": options.vpdq_size,
        "archives": options.archives,
    })
    .to_string();

    let mut sources = Vec::new();
    for root in roots {
        let absolute = std::path::absolute(root).map_err(|e| CaseError::io(root, e))?;
        let meta = std::fs::metadata(&absolute).map_err(|e| CaseError::io(root, e))?;
        let kind = if meta.is_dir() { "folder" } else { "file" };
        let root_text = absolute.to_string_lossy().into_owned();
        let source = case.source_for(&root_text, options.label.as_deref(), kind, &settings)?;
        if source.settings != settings {
            let has_files = !case.done_paths(source.id)?.is_empty();
            if has_files && !options.rescan {
                return Err(CaseError::SettingsChanged {
                    root: root_text,
                    was: source.settings,
                    now: settings,
                });
            }
        }
        if options.rescan || source.settings != settings {
            case.reset_source(source.id, &settings)?;
        }
        sources.push(SourceWork {
            id: source.id,
            root: absolute,
            is_dir: meta.is_dir(),
            done: case.done_paths(source.id)?,
        });
    }

    let run = case.start_run(TOOL_VERSION, &serde_json::json!({"roots": roots, "options": options}))?;
    let tmp_dir = case.dir().join("tmp");
    std::fs::create_dir_all(&tmp_dir).map_err(|e| CaseError::io(&tmp_dir, e))?;

    let mut work: Vec<(usize, Entry)> = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        for entry in walk::walk(std::slice::from_ref(&source.root)) {
            work.push((i, entry));
        }
    }
    let mut summary = ScanSummary::default();
    let before = work.len();
    work.retain(|(i, entry)| !sources[*i].done.contains(&relative(&sources[*i], entry.path())));
    summary.already_done = (before - work.len()) as u64;
    progress.planned(work.len() as u64);

    let clock = Clock::default();
    let failure = Mutex::new(None);
    let (tx, rx) = mpsc::sync_channel::<(i64, FileRecord)>(1024);
    let ctx = Ctx {
        options,
        media: media::AnalyzeOptions {
            limits: media::DecodeLimits {
                max_pixels: options.max_pixels,
            },
            dihedral: options.dihedral,
        },
        vpdq: vpdq::HashOptions {
            seconds_per_hash: options.vpdq_seconds,
            size: options.vpdq_size,
            ..Default::default()
        },
        matcher: matcher.as_ref(),
        bank_store: bank_store.as_ref().map(|s| s.location()),
        tmp_dir,
        ffmpeg: vpdq::ffmpeg_available(),
        workers: Mutex::new(Vec::new()),
        waiting_videos: Mutex::new(Vec::new()),
        tx,
        stop: AtomicBool::new(false),
        failure: &failure,
        clock: &clock,
        progress,
    };

    let written = std::thread::scope(|scope| {
        let writer = scope.spawn(|| write_records(case, run, rx, &clock, progress));
        work.par_iter().for_each(|(i, entry)| {
            if ctx.stop.load(Ordering::Relaxed) || progress.cancelled() {
                return;
            }
            let source = &sources[*i];
            let handle = SourceSink { ctx: &ctx, source };
            handle.entry(entry);
        });
        let waiting = std::mem::take(&mut *ctx.waiting_videos.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(source) = sources.first() {
            split_for_threads(waiting, vpdq::MAX_VIDEOS_PER_RUN)
                .into_par_iter()
                // Each record goes under its own source, whichever the sink's.
                .for_each(|videos| SourceSink { ctx: &ctx, source }.finish_videos(videos));
        }
        let Ctx { tx, .. } = ctx;
        drop(tx);
        writer.join().expect("case writer thread panicked")
    });
    let counts = written?;
    summary.recorded = counts.recorded;
    summary.images = counts.images;
    summary.videos = counts.videos;
    summary.known_files = counts.known_files;
    summary.flagged = counts.flagged;
    summary.skipped = counts.skipped;
    summary.errors = counts.errors;
    summary.elapsed_s = started.elapsed().as_secs_f64();
    summary.stages = clock.times();
    summary.interrupted = progress.cancelled();
    if let Some(why) = failure.into_inner().ok().flatten() {
        let counts_json = serde_json::to_value(&summary).unwrap_or_default();
        case.end_run(run, "failed", &counts_json)?;
        return Err(CaseError::MatchingFailed(why));
    }
    if !summary.interrupted {
        for source in &sources {
            case.set_source_complete(source.id)?;
        }
    }
    let counts_json = serde_json::to_value(&summary).unwrap_or_default();
    let status = if summary.interrupted { "interrupted" } else { "complete" };
    case.end_run(run, status, &counts_json)?;
    Ok(summary)
}

fn relative(source: &SourceWork, path: &Path) -> String {
    let rel = if source.is_dir {
        path.strip_prefix(&source.root).unwrap_or(path)
    } else {
        Path::new(path.file_name().unwrap_or(path.as_os_str()))
    };
    rel.to_string_lossy().into_owned()
}

#[derive(Default)]
struct Counts {
    recorded: u64,
    images: u64,
    videos: u64,
    known_files: u64,
    flagged: u64,
    skipped: u64,
    errors: u64,
}

/// Commits at least this often, so a kill loses little.
const COMMIT_EVERY: Duration = Duration::from_millis(500);
const COMMIT_RECORDS: usize = 1000;

fn write_records(
    case: &mut CaseStore,
    run: i64,
    rx: mpsc::Receiver<(i64, FileRecord)>,
    clock: &Clock,
    progress: &dyn Progress,
) -> Result<Counts, CaseError> {
    let mut counts = Counts::default();
    let mut open = 0usize;
    let mut last_commit = Instant::now();
    loop {
        let next = rx.recv_timeout(COMMIT_EVERY);
        let store_start = Instant::now();
        match next {
            Ok((source, record)) => {
                if open == 0 {
                    case.begin()?;
                }
                open += 1;
                if case.insert_file(source, run, &record)? {
                    counts.recorded += 1;
                    counts.images += u64::from(record.pdq.is_some());
                    counts.videos += u64::from(record.vpdq.is_some());
                    counts.known_files += u64::from(record.status == FileStatus::Known);
                    counts.flagged += u64::from(record.matches.iter().any(|m| !m.known_file));
                    counts.skipped += u64::from(record.status == FileStatus::Skipped);
                    counts.errors += u64::from(record.status == FileStatus::Error);
                }
                progress.done(1);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                if open > 0 {
                    case.commit()?;
                }
                clock
                    .store
                    .fetch_add(store_start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                return Ok(counts);
            }
        }
        if open > 0 && (open >= COMMIT_RECORDS || last_commit.elapsed() >= COMMIT_EVERY) {
            case.commit()?;
            open = 0;
            last_commit = Instant::now();
        }
        clock
            .store
            .fetch_add(store_start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

struct SourceSink<'c, 'a> {
    ctx: &'c Ctx<'a>,
    source: &'c SourceWork,
}

fn times_of(meta: &std::fs::Metadata) -> (Option<i64>, Option<i64>, Option<i64>, Option<i64>) {
    use std::os::unix::fs::MetadataExt;
    let ns = |s: i64, n: i64| Some(s * 1_000_000_000 + n);
    let btime = meta
        .created()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64);
    (
        ns(meta.mtime(), meta.mtime_nsec()),
        ns(meta.atime(), meta.atime_nsec()),
        ns(meta.ctime(), meta.ctime_nsec()),
        btime,
    )
}

/// Where a video's bytes come from for the private copy ffmpeg reads.
pub enum VideoSource<'b> {
    /// A file of the evidence.
    File(&'b Path),
    /// An archive member in memory.
    Bytes(&'b [u8]),
}

/// vPDQ of a video, decoded by ffmpeg from a private copy in `scratch`
/// (ffmpeg opens files without `O_NOATIME`, so never the evidence itself).
/// Errors read as they are reported: `vpdq unavailable: ffmpeg not found`,
/// `vpdq: ...`.
pub fn video_hashes(
    source: VideoSource<'_>,
    extension: Option<&str>,
    scratch: &Path,
    options: &vpdq::HashOptions,
) -> Result<(vpdq::VideoInfo, Vec<vpdq::Feature>), String> {
    if !vpdq::ffmpeg_available() {
        return Err("vpdq unavailable: ffmpeg not found".into());
    }
    let copy = match source {
        VideoSource::File(path) => media::PrivateCopy::of_file(path, scratch),
        VideoSource::Bytes(bytes) => media::PrivateCopy::of_bytes(bytes, extension, scratch),
    }
    .map_err(|e| format!("vpdq: private copy for ffmpeg: {e}"))?;
    vpdq::hash_video(copy.path(), options).map_err(vpdq_error_text)
}

/// [`video_hashes`] of several video files, from private copies that
/// `vpdq::hash_videos` decodes together where it can (one ffmpeg start for
/// several short clips), with the same results and errors one by one.
pub fn files_video_hashes(
    files: &[&Path],
    scratch: &Path,
    options: &vpdq::HashOptions,
) -> Vec<Result<(vpdq::VideoInfo, Vec<vpdq::Feature>), String>> {
    if !vpdq::ffmpeg_available() {
        return files
            .iter()
            .map(|_| Err("vpdq unavailable: ffmpeg not found".into()))
            .collect();
    }
    let copies: Vec<Result<media::PrivateCopy, String>> = files
        .iter()
        .map(|path| {
            media::PrivateCopy::of_file(path, scratch).map_err(|e| format!("vpdq: private copy for ffmpeg: {e}"))
        })
        .collect();
    let paths: Vec<&Path> = copies
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .map(|c| c.path())
        .collect();
    let mut hashed = vpdq::hash_videos(&paths, options).into_iter();
    copies
        .iter()
        .map(|copy| match copy {
            Ok(_) => hashed.next().expect("a result for every copy").map_err(vpdq_error_text),
            Err(e) => Err(e.clone()),
        })
        .collect()
}

/// Files up to this size may wait for vPDQ (see [`video_may_wait`]), so
/// that the private copies of a group take at most eight times this.
const MAX_WAITING_VIDEO_BYTES: u64 = 32 << 20;

/// Whether a file's video is worth holding back to share an ffmpeg run with
/// others ([`files_video_hashes`]): an MP4, QuickTime or 3GPP file small
/// enough to be a short clip, to be hashed at its own size. `vpdq::hash_videos`
/// runs any other alone, so it is hashed at once rather than wait for nothing.
pub fn video_may_wait(format: Option<Format>, size: u64, options: &vpdq::HashOptions) -> bool {
    options.size == 0
        && size <= MAX_WAITING_VIDEO_BYTES
        && matches!(format, Some(Format::Mp4 | Format::QuickTime | Format::ThreeGp))
}

/// `items` in up to `most` at a time, in as many parts as there are
/// threads where there are few.
pub fn split_for_threads<T>(items: Vec<T>, most: usize) -> Vec<Vec<T>> {
    let per_part = items.len().div_ceil(rayon::current_num_threads()).clamp(1, most.max(1));
    let mut parts = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        parts.push(items.by_ref().take(per_part).collect());
    }
    parts
}

/// A vPDQ error as reports give it: `vpdq unavailable: …` or `vpdq: …`.
fn vpdq_error_text(e: vpdq::VpdqError) -> String {
    let text = e.to_string();
    if text.starts_with("vpdq") {
        text
    } else {
        format!("vpdq: {text}")
    }
}

impl<'c, 'a> SourceSink<'c, 'a> {
    fn send(&self, record: FileRecord) {
        self.send_as(self.source.id, record)
    }

    /// Sends a record of source `source`.
    fn send_as(&self, source: i64, record: FileRecord) {
        if self.failed() {
            // Its matches may be missing: leave it for the rerun rather than record it unmatched.
            return;
        }
        if self.ctx.tx.send((source, record)).is_err() {
            // The writer stopped on an error it will report; stop the rest.
            self.ctx.stop.store(true, Ordering::Relaxed);
        }
    }

    fn stopping(&self) -> bool {
        self.ctx.stop.load(Ordering::Relaxed) || self.ctx.progress.cancelled()
    }

    fn failed(&self) -> bool {
        self.ctx.failure.lock().map(|f| f.is_some()).unwrap_or(true)
    }

    /// Matching cannot go on: stop the scan, keeping the first reason.
    fn fail(&self, why: String) {
        if let Ok(mut failure) = self.ctx.failure.lock() {
            failure.get_or_insert(why);
        }
        self.ctx.stop.store(true, Ordering::Relaxed);
    }

    fn with_worker<T>(&self, f: impl FnOnce(&mut Worker) -> T) -> T {
        let taken = self.ctx.workers.lock().map(|mut w| w.pop()).unwrap_or(None);
        let mut worker = taken.unwrap_or_else(|| Worker {
            hasher: pdq::Hasher::new(),
            banks: self.ctx.bank_store.and_then(|at| banks::Store::open_reader_at(at).ok()),
            scratch: index::Scratch::default(),
        });
        let out = f(&mut worker);
        if let Ok(mut pool) = self.ctx.workers.lock() {
            pool.push(worker);
        }
        out
    }

    fn entry(&self, entry: &Entry) {
        let rel = relative(self.source, entry.path());
        match entry {
            Entry::File(path) => self.file(path, rel),
            Entry::Skipped(path, why) | Entry::Error(path, why) => {
                let meta = std::fs::symlink_metadata(path).ok();
                let (mtime, atime, ctime, btime) = meta.as_ref().map(times_of).unwrap_or_default();
                let status = if matches!(entry, Entry::Skipped(..)) {
                    FileStatus::Skipped
                } else {
                    FileStatus::Error
                };
                self.send(FileRecord {
                    path: rel,
                    size: meta.map(|m| m.len()).unwrap_or(0),
                    mtime,
                    atime,
                    ctime,
                    btime,
                    kind: Kind::Other.name().into(),
                    status,
                    error: Some(if status == FileStatus::Error {
                        format!("read error: {why}")
                    } else {
                        why.clone()
                    }),
                    ..Default::default()
                });
            }
        }
    }

    fn file(&self, path: &Path, rel: String) {
        let meta = std::fs::symlink_metadata(path).ok();
        let (mtime, atime, ctime, btime) = meta.as_ref().map(times_of).unwrap_or_default();
        let mut record = FileRecord {
            path: rel.clone(),
            size: meta.as_ref().map(|m| m.len()).unwrap_or(0),
            mtime,
            atime,
            ctime,
            btime,
            kind: Kind::Other.name().into(),
            ..Default::default()
        };
        let loaded = Clock::time(&self.ctx.clock.read, || media::load_path(path));
        let loaded = match loaded {
            Ok(l) => l,
            Err((_, e)) => {
                record.status = FileStatus::Error;
                record.error = Some(e.to_string());
                return self.send(record);
            }
        };
        let extension = extension_of(&rel);
        let format = loaded.format;
        let wait = self.analyse(
            &mut record,
            &loaded,
            extension.as_deref(),
            Some(VideoSource::File(path)),
        );
        if let Some(VideoWait { query, digest_hits }) = wait {
            return self.wait_for_vpdq(WaitingVideo {
                source: self.source.id,
                path: path.to_path_buf(),
                record,
                query,
                digest_hits,
            });
        }
        if record.status == FileStatus::Hashed && format.map(Format::kind) == Some(Kind::Archive) {
            let outcome = archive::expand_file(
                path,
                format.expect("archive format"),
                &rel,
                &self.ctx.options.archives,
                self,
            );
            if let Err(note) = outcome {
                record.status = FileStatus::Error;
                record.error = Some(note);
            }
            if self.stopping() {
                // Some members may be missing: without its own record the archive is reopened next run.
                return;
            }
        }
        self.send(record);
    }

    /// Digests, known-file check, PDQ or vPDQ, matches: everything but archive
    /// expansion. A file's video (not an archive member's, which must be
    /// recorded before its archive) is left to wait for its vPDQ: what is
    /// left to do comes back.
    fn analyse(
        &self,
        record: &mut FileRecord,
        loaded: &Loaded<'_>,
        extension: Option<&str>,
        video: Option<VideoSource<'_>>,
    ) -> Option<VideoWait> {
        let ctx = self.ctx;
        record.size = loaded.size;
        record.md5 = Some(media::hex(&loaded.digests.md5));
        record.sha1 = Some(media::hex(&loaded.digests.sha1));
        record.sha256 = Some(media::hex(&loaded.digests.sha256));
        record.format = loaded.format.map(|f| f.name().to_string());
        let kind = loaded.format.map(Format::kind).unwrap_or(Kind::Other);
        record.kind = kind.name().into();
        let mut query = Query {
            md5: Some(loaded.digests.md5),
            sha1: Some(loaded.digests.sha1),
            sha256: Some(loaded.digests.sha256),
            ..Default::default()
        };
        let digest_hits = self.lookup(&query);
        if digest_hits.iter().any(|h| h.known_file) {
            record.status = FileStatus::Known;
            record.matches = digest_hits;
            return None;
        }
        match kind {
            Kind::Image => {
                let analysis = Clock::time(&ctx.clock.decode, || {
                    self.with_worker(|w| {
                        // A decoder bug must cost one file, not the whole scan.
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            media::analyze_loaded(loaded, extension, &ctx.media, &mut w.hasher)
                        }))
                        .map_err(|_| w.hasher = pdq::Hasher::new())
                    })
                });
                match analysis {
                    Ok(a) => {
                        record.width = a.width;
                        record.height = a.height;
                        if let Some(p) = a.pdq {
                            record.pdq = Some(p.hash.to_hex());
                            record.quality = Some(p.quality);
                            query.pdq = Some((p.hash, Some(p.quality)));
                        }
                        if let Some(d) = a.dihedral {
                            record.dihedral = Some(d.iter().map(|h| h.to_hex()).collect());
                            query.dihedral = Some(d);
                        }
                        if let Some(e) = a.error {
                            record.status = FileStatus::Error;
                            record.error = Some(e.to_string());
                        }
                    }
                    Err(()) => {
                        record.status = FileStatus::Error;
                        record.error = Some("internal error: decoder panicked on this file".into());
                    }
                }
            }
            Kind::Video => match video {
                Some(VideoSource::File(_)) if ctx.ffmpeg && video_may_wait(loaded.format, loaded.size, &ctx.vpdq) => {
                    return Some(VideoWait { query, digest_hits })
                }
                Some(source) => self.video(record, &mut query, source, extension),
                None => {
                    record.status = FileStatus::Error;
                    record.error = Some("video too large to analyse inside an archive: digests only".into());
                }
            },
            Kind::Archive | Kind::Other => {
                // No pixels here: this only flags content that contradicts an image extension.
                let check = self.with_worker(|w| media::analyze_loaded(loaded, extension, &ctx.media, &mut w.hasher));
                if let Some(e) = check.error {
                    record.status = FileStatus::Error;
                    record.error = Some(e.to_string());
                }
            }
        }
        if query.pdq.is_some() || query.vpdq.is_some() {
            record.matches = self.lookup(&query);
        } else {
            record.matches = digest_hits;
        }
        None
    }

    /// Puts a file's video with those waiting for vPDQ, and hashes them
    /// when there are enough for a shared ffmpeg run.
    fn wait_for_vpdq(&self, video: WaitingVideo) {
        let full = {
            let mut waiting = self.ctx.waiting_videos.lock().unwrap_or_else(|e| e.into_inner());
            waiting.push(video);
            (waiting.len() >= vpdq::MAX_VIDEOS_PER_RUN).then(|| std::mem::take(&mut *waiting))
        };
        if let Some(videos) = full {
            self.finish_videos(videos);
        }
    }

    /// vPDQ and matches for waiting videos, and their records sent. When
    /// the scan is stopping they are left for the rerun, unrecorded; a group
    /// already being hashed is finished first (short clips, see
    /// [`video_may_wait`]).
    fn finish_videos(&self, videos: Vec<WaitingVideo>) {
        if self.stopping() {
            return;
        }
        let ctx = self.ctx;
        let paths: Vec<&Path> = videos.iter().map(|v| v.path.as_path()).collect();
        let hashed = Clock::time(&ctx.clock.video, || files_video_hashes(&paths, &ctx.tmp_dir, &ctx.vpdq));
        for (video, result) in videos.into_iter().zip(hashed) {
            let WaitingVideo {
                source,
                mut record,
                mut query,
                digest_hits,
                ..
            } = video;
            record_vpdq(&mut record, &mut query, result);
            record.matches = if query.vpdq.is_some() {
                self.lookup(&query)
            } else {
                digest_hits
            };
            self.send_as(source, record);
        }
    }

    fn video(&self, record: &mut FileRecord, query: &mut Query, source: VideoSource<'_>, extension: Option<&str>) {
        let ctx = self.ctx;
        if !ctx.ffmpeg {
            record.status = FileStatus::Error;
            record.error = Some("vpdq unavailable: ffmpeg not found".into());
            return;
        }
        let hashed = Clock::time(&ctx.clock.video, || {
            video_hashes(source, extension, &ctx.tmp_dir, &ctx.vpdq)
        });
        record_vpdq(record, query, hashed);
    }

    fn lookup(&self, query: &Query) -> Vec<MatchRecord> {
        let Some(matcher) = self.ctx.matcher else {
            return Vec::new();
        };
        let options = banks::MatchOptions {
            max_distance: self.ctx.options.max_distance,
            vpdq: vpdq::MatchThresholds::default(),
        };
        Clock::time(&self.ctx.clock.matching, || {
            self.with_worker(|w| {
                let mut result = match w.banks.as_ref() {
                    Some(store) => match_records(matcher, store, query, &options, &mut w.scratch),
                    None => Err(banks::BankError::Index("no connection to the bank store".into())),
                };
                // A database connection lost mid-scan (a restart): reconnect and try once more.
                // Reads only, so a retry can do no harm whatever the error was.
                if result.is_err() && w.banks.as_ref().is_none_or(|s| s.is_remote()) {
                    if let Some(at) = self.ctx.bank_store {
                        match banks::Store::open_reader_at(at) {
                            Ok(store) => {
                                result = match_records(matcher, &store, query, &options, &mut w.scratch);
                                w.banks = Some(store);
                            }
                            Err(e) => result = Err(e),
                        }
                    }
                }
                result.unwrap_or_else(|e| {
                    self.fail(format!("matching against the banks failed: {e}"));
                    Vec::new()
                })
            })
        })
    }
}

/// A video's vPDQ, or why there is none, into its record and query.
fn record_vpdq(
    record: &mut FileRecord,
    query: &mut Query,
    hashed: Result<(vpdq::VideoInfo, Vec<vpdq::Feature>), String>,
) {
    match hashed {
        Ok((info, features)) => {
            record.width = Some(info.width);
            record.height = Some(info.height);
            record.vpdq = Some(vpdq::write_features(&features));
            query.vpdq = Some(features);
        }
        Err(e) => {
            record.status = FileStatus::Error;
            record.error = Some(e);
        }
    }
}

/// One query's hits as the case records them, each with its entry's hash and categories.
fn match_records(
    matcher: &Matcher,
    store: &banks::Store,
    query: &Query,
    options: &banks::MatchOptions,
    scratch: &mut index::Scratch,
) -> Result<Vec<MatchRecord>, banks::BankError> {
    let hits = matcher.match_query(store, query, options, scratch)?;
    let mut records = Vec::with_capacity(hits.len());
    for h in hits {
        let entry = store.entry(h.entry_id)?;
        records.push(MatchRecord {
            bank: h.bank,
            entry_id: h.entry_id,
            entry_hash: entry.as_ref().map(|e| e.entry.hash.clone()).unwrap_or_default(),
            signal: h.signal.name().to_string(),
            distance: h.distance,
            categories: entry.map(|e| e.entry.categories).unwrap_or_default(),
            known_file: h.known_file,
            query_match_pct: h.video.map(|v| v.query_match_pct),
            target_match_pct: h.video.map(|v| v.target_match_pct),
        });
    }
    Ok(records)
}

fn extension_of(path: &str) -> Option<String> {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

impl Sink for SourceSink<'_, '_> {
    fn is_done(&self, path: &str) -> bool {
        self.source.done.contains(path)
    }

    fn planned(&self, n: u64) {
        self.ctx.progress.planned(n);
    }

    fn passed(&self) {
        self.ctx.progress.done(1);
    }

    fn member(&self, member: Member<'_>, depth: u32, budget: &Budget) {
        if self.stopping() {
            return;
        }
        let mut record = FileRecord {
            path: member.path.clone(),
            container: Some(member.container.clone()),
            size: member.size,
            mtime: member.mtime,
            kind: Kind::Other.name().into(),
            ..Default::default()
        };
        let extension = extension_of(&member.path);
        match member.body {
            Body::Skipped(reason) => {
                record.status = FileStatus::Skipped;
                record.error = Some(reason);
            }
            Body::Error(reason) => {
                record.status = FileStatus::Error;
                record.error = Some(reason);
            }
            Body::Digested { size, digests, format } => {
                record.size = size;
                record.md5 = Some(media::hex(&digests.md5));
                record.sha1 = Some(media::hex(&digests.sha1));
                record.sha256 = Some(media::hex(&digests.sha256));
                record.format = format.map(|f| f.name().to_string());
                record.kind = format.map(Format::kind).unwrap_or(Kind::Other).name().into();
                record.matches = self.lookup(&Query {
                    md5: Some(digests.md5),
                    sha1: Some(digests.sha1),
                    sha256: Some(digests.sha256),
                    ..Default::default()
                });
                if !record.matches.iter().any(|m| m.known_file) {
                    record.status = FileStatus::Error;
                    record.error = Some(format!(
                        "member of {size} bytes is over the in-memory cap of {} bytes: digests only",
                        self.ctx.options.archives.max_member_bytes
                    ));
                } else {
                    record.status = FileStatus::Known;
                }
            }
            Body::Bytes(bytes) => {
                let loaded = Clock::time(&self.ctx.clock.read, || Loaded::from_bytes(bytes));
                // A member's video (bytes) never waits: see `analyse`.
                self.analyse(
                    &mut record,
                    &loaded,
                    extension.as_deref(),
                    Some(VideoSource::Bytes(bytes)),
                );
                if record.status == FileStatus::Hashed {
                    if let Some(format) = loaded.format.filter(|f| f.kind() == Kind::Archive) {
                        if depth >= self.ctx.options.archives.max_depth {
                            record.error = Some(format!(
                                "nested archive deeper than {} levels: not opened",
                                self.ctx.options.archives.max_depth
                            ));
                            record.status = FileStatus::Skipped;
                        } else if let Err(note) = archive::expand_bytes(
                            bytes,
                            format,
                            &member.path,
                            &self.ctx.options.archives,
                            self,
                            depth + 1,
                            budget,
                        ) {
                            record.status = FileStatus::Error;
                            record.error = Some(note);
                        }
                        if self.stopping() {
                            return;
                        }
                    }
                }
            }
        }
        self.send(record);
    }
}

#[cfg(test)]
mod tests {
    use super::{extension_of, video_may_wait, Format, MAX_WAITING_VIDEO_BYTES};

    #[test]
    fn only_short_mp4_family_clips_at_their_own_size_wait() {
        let native = vpdq::HashOptions::default();
        for format in [Format::Mp4, Format::QuickTime, Format::ThreeGp] {
            assert!(video_may_wait(Some(format), 5 << 20, &native), "{format:?}");
            assert!(!video_may_wait(Some(format), MAX_WAITING_VIDEO_BYTES + 1, &native));
        }
        for other in [Some(Format::Matroska), Some(Format::Avi), Some(Format::WebM), None] {
            assert!(!video_may_wait(other, 5 << 20, &native), "{other:?}");
        }
        let square = vpdq::HashOptions {
            size: 128,
            ..Default::default()
        };
        assert!(!video_may_wait(Some(Format::Mp4), 5 << 20, &square));
    }

    #[test]
    fn extensions_of_members_and_files() {
        assert_eq!(extension_of("DCIM/a.JPG").as_deref(), Some("jpg"));
        assert_eq!(extension_of("x.zip!/in/b.png").as_deref(), Some("png"));
        assert_eq!(extension_of("x.zip!/in/noext").as_deref(), None);
        assert_eq!(extension_of(".hidden").as_deref(), None);
    }
}
