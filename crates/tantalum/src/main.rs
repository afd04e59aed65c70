//! `tantalum`: finds known child sexual abuse material by hash and maps who
//! shares it. This binary parses arguments, drives the library crates and
//! formats their results; the work itself lives in the libraries.

mod banks_cli;
mod case_cli;
mod chats_cli;
mod network_cli;
mod output;
mod serve_cli;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::ProgressBar;
use rayon::prelude::*;

use case::walk::{self, Entry};
use output::{HashRecord, Printer, Status};

/// Exit code when some input could not be read or decoded.
const EXIT_SOME_FAILED: u8 = 1;
/// Exit code when the command could not do its job at all.
const EXIT_TROUBLE: u8 = 2;

#[derive(Parser)]
#[command(name = "tantalum", version, about = "Find known CSAM by hash and map who shares it")]
struct Cli {
    /// The bank store: a directory, or a PostgreSQL URL (postgres://…) for a
    /// store shared by several processes and service replicas (default:
    /// $TANTALUM_STORE, else the platform's data directory).
    #[arg(long, global = true, value_name = "DIR|URL")]
    store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hash files and folders: MD5, SHA-1, SHA-256 and, for images, PDQ.
    ///
    /// Folders are walked in full (hidden files included, nothing ignored);
    /// symbolic links inside them are not followed. Exit status: 0 when every
    /// file was read, 1 when some failed, 2 on usage errors.
    Hash(HashArgs),
    /// Manage hash banks: import, export, create, list, stats, remove.
    #[command(subcommand)]
    Bank(banks_cli::BankCommand),
    /// Match hashes or files against the banks. Exit status: 0 when something
    /// matched, 1 when nothing did, 2 on errors.
    Match(banks_cli::MatchArgs),
    /// Scan evidence (folders, files, ZIP and tar archives) into a case:
    /// every file hashed and matched against the banks. A scan that was
    /// stopped resumes where it stopped when run again. Exit status: 0 when
    /// every file was read, 1 when some failed, 2 when the scan could not run.
    Scan(case_cli::ScanArgs),
    /// Write a case's report: json, csv (one row per match), html (one page
    /// to hand over, no images) or manifest (chain of custody).
    Report(case_cli::ReportArgs),
    /// Build a benign synthetic phone dump and sample banks, scan it, and
    /// write every report: the whole job in one command.
    Demo(case_cli::DemoArgs),
    /// Parse chat exports (WhatsApp, Telegram) into messages, events and participants.
    #[command(subcommand)]
    Chats(chats_cli::ChatsCommand),
    /// Find invite and phone links (WhatsApp, Telegram, Signal, Discord) in saved pages and text files.
    Links(chats_cli::LinksArgs),
    /// Serve matching over HTTP: tantalum's API under /v1 and HMA's routes
    /// (/m, /h, /c), with tokens, an audit log and Prometheus metrics.
    Serve(serve_cli::ServeArgs),
    /// Create or revoke API tokens for `serve`.
    #[command(subcommand)]
    Token(serve_cli::TokenCommand),
    /// Check or list the service's hash-chained audit log.
    #[command(subcommand)]
    Audit(serve_cli::AuditCommand),
    /// Saved pages (forum threads, pastes) into a case: their invite links.
    #[command(subcommand)]
    Pages(network_cli::PagesCommand),
    /// Write a case's sharing network: gexf, graphml, csv (i2) or json.
    Network(network_cli::NetworkArgs),
    /// Write one referral package per country (referral.json, referral.html; no images).
    Referrals(network_cli::ReferralsArgs),
}

#[derive(clap::Args)]
struct HashArgs {
    /// Files or folders to hash.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write JSON Lines (one object per file) instead of a table.
    #[arg(long)]
    json: bool,
    /// Also compute the 8 dihedral PDQ hashes (rotations and flips).
    #[arg(long)]
    dihedral: bool,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// Refuse images with more pixels than this, before decoding them.
    #[arg(long, default_value_t = media::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Print a summary line with throughput on stderr even when it is not a terminal.
    #[arg(long)]
    stats: bool,
    /// Videos: seconds between hashed frames (vPDQ); 0 hashes every frame.
    #[arg(long, default_value_t = 1.0)]
    vpdq_seconds: f64,
    /// Videos: scale frames to N×N before hashing; 0 keeps their own size.
    #[arg(long, default_value_t = 0)]
    vpdq_size: u32,
}

/// Everything `hash` computes for one file, as configured.
struct HashSettings {
    media: media::AnalyzeOptions,
    dihedral: bool,
    vpdq: vpdq::HashOptions,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let store = || banks_cli::store_location(cli.store.clone());
    let result = match cli.command {
        Command::Hash(args) => run_hash(args),
        Command::Bank(command) => store().and_then(|dir| banks_cli::run_bank(&dir, command)),
        Command::Match(args) => store().and_then(|dir| banks_cli::run_match(&dir, args)),
        Command::Scan(args) => store().and_then(|dir| case_cli::run_scan(&dir, args)),
        Command::Report(args) => case_cli::run_report(args),
        Command::Demo(args) => case_cli::run_demo(args),
        Command::Chats(chats_cli::ChatsCommand::Import(args)) => {
            store().and_then(|dir| network_cli::run_chats_import(&dir, args))
        }
        Command::Chats(command) => chats_cli::run_chats(command),
        Command::Links(args) => chats_cli::run_links(args),
        Command::Serve(args) => store().and_then(|dir| serve_cli::run_serve(&dir, args)),
        Command::Token(command) => store().and_then(|dir| serve_cli::run_token(&dir, command)),
        Command::Audit(command) => store().and_then(|dir| serve_cli::run_audit(&dir, command)),
        Command::Pages(command) => network_cli::run_pages(command),
        Command::Network(args) => network_cli::run_network(args),
        Command::Referrals(args) => network_cli::run_referrals(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tantalum: {e:#}");
            ExitCode::from(EXIT_TROUBLE)
        }
    }
}

fn run_hash(args: HashArgs) -> Result<ExitCode> {
    let pool = case_cli::pool(args.threads)?;
    if args.vpdq_seconds < 0.0 || !args.vpdq_seconds.is_finite() {
        anyhow::bail!("--vpdq-seconds must be 0 or more");
    }
    let settings = HashSettings {
        media: media::AnalyzeOptions {
            limits: media::DecodeLimits {
                max_pixels: args.max_pixels,
            },
            dihedral: args.dihedral,
        },
        dihedral: args.dihedral,
        vpdq: vpdq::HashOptions {
            seconds_per_hash: args.vpdq_seconds,
            size: args.vpdq_size,
            ..Default::default()
        },
    };
    let started = Instant::now();
    let entries = pool.install(|| walk::walk(&args.paths));
    let progress = case_cli::progress_bar(entries.len() as u64);

    let (tx, rx) = mpsc::sync_channel::<(usize, HashRecord)>(256);
    let mut printer = if args.json {
        Printer::Json
    } else {
        Printer::Table {
            header_done: false,
            dihedral: args.dihedral,
        }
    };
    // Videos wait here for vPDQ until there are enough to share ffmpeg
    // runs (`vpdq::hash_videos`), whose start-up costs as much CPU as
    // decoding a short clip.
    let waiting_videos = Mutex::new(Waiting {
        videos: Vec::new(),
        since: 0,
    });
    let entries_done = AtomicUsize::new(0);
    let summary = std::thread::scope(|scope| -> Result<Summary> {
        let writer = scope.spawn(|| write_in_order(rx, &mut printer, &progress));
        // The writer only stops early on a closed stdout; then there is nothing left to do.
        let send = |records: Vec<(usize, HashRecord)>| {
            for record in records {
                let _ = tx.send(record);
            }
        };
        pool.install(|| {
            entries
                .par_iter()
                .enumerate()
                .for_each_init(pdq::Hasher::new, |hasher, (i, entry)| {
                    let (record, waits) = hash_entry(entry, &settings, hasher);
                    let done = entries_done.fetch_add(1, Ordering::Relaxed) + 1;
                    let mut waiting = waiting_videos.lock().unwrap_or_else(|e| e.into_inner());
                    let ready = match waits {
                        Some(path) => {
                            if waiting.videos.is_empty() {
                                waiting.since = done;
                            }
                            waiting.videos.push((i, record, path));
                            None
                        }
                        None => Some((i, record)),
                    };
                    // Output goes in order, so a video waiting long would
                    // hold back every record after it.
                    let stale = !waiting.videos.is_empty() && done > waiting.since + MAX_ENTRIES_WAITED;
                    let group = (waiting.videos.len() >= vpdq::MAX_VIDEOS_PER_RUN || stale)
                        .then(|| std::mem::take(&mut waiting.videos));
                    drop(waiting);
                    send(ready.into_iter().collect());
                    if let Some(group) = group {
                        send(hash_videos(group, &settings));
                    }
                });
            let rest = std::mem::take(&mut waiting_videos.lock().unwrap_or_else(|e| e.into_inner()).videos);
            case::split_for_threads(rest, vpdq::MAX_VIDEOS_PER_RUN)
                .into_par_iter()
                .for_each(|batch| send(hash_videos(batch, &settings)));
        });
        drop(tx);
        writer.join().expect("writer thread panicked")
    })?;
    progress.finish_and_clear();

    let elapsed = started.elapsed().as_secs_f64();
    if args.stats || std::io::stderr().is_terminal() {
        eprintln!(
            "{} files ({} images hashed) in {:.2} s: {:.1} files/s, {:.1} images/s; {} failed, {} skipped",
            summary.files,
            summary.images,
            elapsed,
            summary.files as f64 / elapsed,
            summary.images as f64 / elapsed,
            summary.failed,
            summary.skipped
        );
    }
    Ok(if summary.failed > 0 {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Entries done while a video waits for its vPDQ before the waiting ones
/// are hashed: records after it are held back for the output meanwhile.
const MAX_ENTRIES_WAITED: usize = 1024;

/// Videos waiting for their vPDQ.
struct Waiting<'a> {
    videos: Vec<WaitingVideo<'a>>,
    /// Entries done when the first of them came.
    since: usize,
}

/// A video's record, waiting for its vPDQ: its place in the output, the
/// record so far, and the file.
type WaitingVideo<'a> = (usize, HashRecord, &'a std::path::Path);

/// Adds vPDQ to the records of videos, decoded together where they can be.
fn hash_videos(videos: Vec<WaitingVideo<'_>>, settings: &HashSettings) -> Vec<(usize, HashRecord)> {
    let scratch = std::env::temp_dir();
    let paths: Vec<&std::path::Path> = videos.iter().map(|(_, _, path)| *path).collect();
    let hashed = case::files_video_hashes(&paths, &scratch, &settings.vpdq);
    videos
        .into_iter()
        .zip(hashed)
        .map(|((i, mut record, _), result)| {
            add_vpdq(&mut record, result);
            (i, record)
        })
        .collect()
}

/// A video's vPDQ, or why there is none, into its record.
fn add_vpdq(record: &mut HashRecord, hashed: Result<(vpdq::VideoInfo, Vec<vpdq::Feature>), String>) {
    match hashed {
        Ok((info, features)) => {
            record.width = Some(info.width);
            record.height = Some(info.height);
            record.vpdq = Some(features);
        }
        Err(e) => {
            record.error = Some(e);
            record.status = Status::Failed;
        }
    }
}

/// A file's record, and the file where it is a video left to wait for its
/// vPDQ with others (see [`hash_videos`] and `case::video_may_wait`).
fn hash_entry<'e>(
    entry: &'e Entry,
    settings: &HashSettings,
    hasher: &mut pdq::Hasher,
) -> (HashRecord, Option<&'e std::path::Path>) {
    let display = entry.path().to_string_lossy().into_owned();
    match entry {
        Entry::File(path) => {
            // A decoder bug must cost one file, not the whole run over a device.
            let analysed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                media::analyze_path(path, &settings.media, hasher)
            }));
            match analysed {
                Ok(analysis) => {
                    let is_video = analysis.kind == media::Kind::Video && analysis.error.is_none();
                    let may_wait = case::video_may_wait(analysis.format, analysis.size, &settings.vpdq);
                    let mut record = HashRecord::from_analysis(display, analysis, settings.dihedral);
                    if is_video && may_wait {
                        return (record, Some(path.as_path()));
                    }
                    if is_video {
                        let scratch = std::env::temp_dir();
                        let source = case::VideoSource::File(path);
                        add_vpdq(&mut record, case::video_hashes(source, None, &scratch, &settings.vpdq));
                    }
                    (record, None)
                }
                Err(_) => {
                    *hasher = pdq::Hasher::new();
                    let why = "internal error: decoder panicked on this file".into();
                    (HashRecord::not_read(display, why, Status::Failed), None)
                }
            }
        }
        Entry::Skipped(_, why) => (HashRecord::not_read(display, why.clone(), Status::Skipped), None),
        Entry::Error(_, why) => (
            HashRecord::not_read(display, format!("read error: {why}"), Status::Failed),
            None,
        ),
    }
}

#[derive(Default)]
struct Summary {
    files: u64,
    images: u64,
    failed: u64,
    skipped: u64,
}

/// Prints records in walk order as they complete, so output is reproducible
/// yet streams while workers run ahead.
fn write_in_order(
    rx: mpsc::Receiver<(usize, HashRecord)>,
    printer: &mut Printer,
    progress: &ProgressBar,
) -> Result<Summary> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut pending = BTreeMap::new();
    let mut next = 0usize;
    let mut summary = Summary::default();
    for (i, record) in rx {
        progress.inc(1);
        pending.insert(i, record);
        while let Some(record) = pending.remove(&next) {
            summary.files += 1;
            summary.images += u64::from(record.pdq.is_some());
            match record.status {
                Status::Failed => summary.failed += 1,
                Status::Skipped => summary.skipped += 1,
                Status::Read => {}
            }
            if let Err(e) = printer.write(&mut out, &record) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(summary);
                }
                return Err(e).context("writing output");
            }
            next += 1;
        }
    }
    out.flush().or_else(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    Ok(summary)
}
