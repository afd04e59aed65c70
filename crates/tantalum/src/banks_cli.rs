//! `tantalum bank ...` and `tantalum match`.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use banks::formats::EntryWriter;
use banks::{
    formats, BankKind, BankOptions, Format, Location, MatchOptions, Matcher, Query, ReadOptions, Signal, Store,
};
use serde::Serialize;

/// Where the store lives: `--store`, else `TANTALUM_STORE`, else the
/// platform's data directory. A `postgres://` URL names a shared store.
pub fn store_location(flag: Option<String>) -> Result<Location> {
    if let Some(value) = flag {
        return Ok(Location::parse(&value));
    }
    if let Some(value) = std::env::var_os("TANTALUM_STORE").filter(|d| !d.is_empty()) {
        return Ok(Location::parse(&value.to_string_lossy()));
    }
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(Location::Dir(PathBuf::from(data).join("tantalum")));
    }
    match std::env::var_os("HOME") {
        Some(home) => Ok(Location::Dir(PathBuf::from(home).join(".local/share/tantalum"))),
        None => bail!("no store: give --store DIR (or postgres://…) or set TANTALUM_STORE"),
    }
}

fn open_store(at: &Location) -> Result<Store> {
    Store::open_at(at).with_context(|| format!("opening the store at {at}"))
}

#[derive(clap::Subcommand)]
pub enum BankCommand {
    /// Import a hash list into a bank (created when missing). The format is
    /// detected from the content unless --format says it; the import applies
    /// whole or not at all, and bad lines are listed with their numbers.
    Import {
        /// The bank.
        name: String,
        /// The list ("-" for standard input).
        file: PathBuf,
        /// plain, hashdeep, csv, te (ThreatExchange/HMA `signal_type,signal`) or vics (Project VIC JSON).
        #[arg(long)]
        format: Option<String>,
        /// Label added to every entry, tagged with its scheme (`caid:A`, `ncmec:A1`); repeatable.
        #[arg(long = "category")]
        categories: Vec<String>,
        /// What untyped 64-character hashes are: pdq or sha256 (default: decided from the list).
        #[arg(long)]
        signal: Option<String>,
        /// Recorded as each entry's source (default: the file name).
        #[arg(long)]
        source: Option<String>,
        /// Scheme of the list's own numeric categories (VICS default: `vics`; e.g. `vics-us`, `vics-ca`).
        #[arg(long)]
        category_scheme: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export a bank in a list format.
    Export {
        /// The bank.
        name: String,
        /// plain, hashdeep, csv, te or vics.
        #[arg(long)]
        format: String,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Create an empty bank.
    Create {
        /// The bank.
        name: String,
        /// A hit here removes a query's other hits (a list of false positives).
        #[arg(long)]
        suppress: bool,
        /// Known-good files (NSRL-like): hits filter, never flag.
        #[arg(long)]
        known: bool,
        /// Largest PDQ distance that matches.
        #[arg(long, default_value_t = pdq::DEFAULT_MATCH_DISTANCE)]
        max_distance: u32,
        /// Lowest PDQ quality matched, on query and entry.
        #[arg(long, default_value_t = pdq::DEFAULT_QUALITY_THRESHOLD)]
        quality_floor: u8,
    },
    /// List the banks.
    List {
        /// JSON Lines, one bank per line.
        #[arg(long)]
        json: bool,
    },
    /// A bank's settings and entry counts.
    Stats {
        /// The bank.
        name: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Delete a bank and its entries.
    Remove {
        /// The bank.
        name: String,
    },
}

fn format_named(name: &str) -> Result<Format> {
    Format::from_name(name).with_context(|| {
        let known: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!("unknown format {name:?} (known: {})", known.join(", "))
    })
}

pub fn run_bank(store: &Location, command: BankCommand) -> Result<ExitCode> {
    match command {
        BankCommand::Import {
            name,
            file,
            format,
            categories,
            signal,
            source,
            category_scheme,
            json,
        } => {
            let mut store = open_store(store)?;
            if file.is_dir() {
                return import_vpdq_folder(&mut store, &name, &file, categories, json);
            }
            let input: Box<dyn BufRead + Send> = if file.as_os_str() == "-" {
                Box::new(BufReader::with_capacity(1 << 20, std::io::stdin()))
            } else {
                let f = File::open(&file).with_context(|| format!("opening {}", file.display()))?;
                Box::new(BufReader::with_capacity(1 << 20, f))
            };
            let mut input = input;
            let format = match format {
                Some(f) => format_named(&f)?,
                None => Format::detect(
                    input
                        .fill_buf()
                        .with_context(|| format!("reading {}", file.display()))?,
                ),
            };
            let signal_64 = match signal.as_deref() {
                None => None,
                Some(s) => match Signal::parse(s) {
                    sig @ (Signal::Pdq | Signal::Sha256) => Some(sig),
                    _ => bail!("--signal takes pdq or sha256"),
                },
            };
            let source = source.or_else(|| file.file_name().map(|n| n.to_string_lossy().into_owned()));
            let options = ReadOptions {
                signal_64,
                categories,
                source,
                max_line: 0,
                category_scheme,
            };
            let entries = if format == Format::Nsrl {
                if file.as_os_str() == "-" {
                    bail!("an NSRL database is read from a file, not standard input");
                }
                formats::read_nsrl(&file, options)
            } else {
                formats::read(format, input, options)
            };
            // NSRL lists known software: such a bank filters, never flags.
            let kind = if format == Format::Nsrl {
                BankKind::Known
            } else {
                BankKind::Flag
            };
            let label = file.display().to_string();
            import_entries(&mut store, &name, kind, &label, format.name(), entries, json)
        }
        BankCommand::Export { name, format, out } => {
            let store = open_store(store)?;
            let format = format_named(&format)?;
            if store.bank_settings(&name)?.is_none() {
                bail!("no bank named {name:?}");
            }
            if format == Format::Nsrl {
                let path = out.as_ref().context("an NSRL export is a database: give --out FILE")?;
                let mut writer =
                    formats::NsrlWriter::create(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                let io = |e: std::io::Error| banks::BankError::Io {
                    path: path.display().to_string(),
                    source: e,
                };
                store.for_each_entry(std::slice::from_ref(&name), |e| writer.write(&e.entry).map_err(io))?;
                writer.finish().with_context(|| format!("writing {}", path.display()))?;
                return Ok(ExitCode::SUCCESS);
            }
            let sink: Box<dyn Write> = match &out {
                Some(path) => Box::new(BufWriter::new(
                    File::create(path).with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(BufWriter::new(std::io::stdout().lock())),
            };
            let mut writer = formats::writer(format, sink);
            let io = |e: std::io::Error| banks::BankError::Io {
                path: "output".into(),
                source: e,
            };
            store.for_each_entry(std::slice::from_ref(&name), |e| writer.write(&e.entry).map_err(io))?;
            writer.finish().context("writing the export")?;
            Ok(ExitCode::SUCCESS)
        }
        BankCommand::Create {
            name,
            suppress,
            known,
            max_distance,
            quality_floor,
        } => {
            let store = open_store(store)?;
            let kind = if known { BankKind::Known } else { BankKind::Flag };
            store.create_bank(
                &name,
                &BankOptions {
                    kind,
                    suppress,
                    max_distance,
                    quality_floor,
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
        BankCommand::List { json } => {
            let store = open_store(store)?;
            let banks = store.banks()?;
            if json {
                for b in &banks {
                    println!("{}", serde_json::to_string(b)?);
                }
            } else {
                println!(
                    "{:<24} {:<6} {:>8} {:>5} {:>12}  SIGNALS",
                    "BANK", "KIND", "SUPPRESS", "DIST", "ENTRIES"
                );
                for b in &banks {
                    let total: u64 = b.counts.iter().map(|c| c.1).sum();
                    let signals: Vec<String> = b.counts.iter().map(|(s, n)| format!("{s}:{n}")).collect();
                    let kind = if b.kind == BankKind::Known { "known" } else { "flag" };
                    let suppress = if b.suppress { "yes" } else { "no" };
                    println!(
                        "{:<24} {kind:<6} {suppress:>8} {:>5} {total:>12}  {}",
                        b.name,
                        b.max_distance,
                        signals.join(" ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BankCommand::Stats { name, json } => {
            let store = open_store(store)?;
            let info = store.bank(&name)?.with_context(|| format!("no bank named {name:?}"))?;
            if json {
                println!("{}", serde_json::to_string(&info)?);
            } else {
                println!("bank           {}", info.name);
                println!(
                    "kind           {}",
                    if info.kind == BankKind::Known {
                        "known files (filter)"
                    } else {
                        "flag"
                    }
                );
                println!("suppress       {}", info.suppress);
                println!("max distance   {}", info.max_distance);
                println!("quality floor  {}", info.quality_floor);
                for (signal, n) in &info.counts {
                    println!("{signal:<14} {n}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BankCommand::Remove { name } => {
            let store = open_store(store)?;
            let removed = store.remove_bank(&name)?;
            eprintln!("removed bank {name} and its {removed} entries");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A folder of vPDQ files, one per video (the reference writes them so):
/// each `.txt` becomes one entry named after its file.
fn import_vpdq_folder(
    store: &mut Store,
    name: &str,
    dir: &Path,
    categories: Vec<String>,
    json: bool,
) -> Result<ExitCode> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no .txt vPDQ files", dir.display());
    }
    let entries = files.into_iter().map(move |path| {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let options = ReadOptions {
            categories: categories.clone(),
            source: stem.clone(),
            ..Default::default()
        };
        let file = File::open(&path).map_err(|e| banks::LineError {
            line: 0,
            message: format!("{}: {e}", path.display()),
        })?;
        formats::read_vpdq(Box::new(BufReader::new(file)), stem, &options).map_err(|e| banks::LineError {
            line: e.line,
            message: format!("{}: {}", path.display(), e.message),
        })
    });
    let label = dir.display().to_string();
    import_entries(store, name, BankKind::Flag, &label, Format::Vpdq.name(), entries, json)
}

/// Imports entries into a bank, creating it when missing, and reports: the
/// counts on success, the bad lines otherwise. A failed import leaves nothing
/// behind, not even the empty bank it created.
fn import_entries(
    store: &mut Store,
    name: &str,
    kind: BankKind,
    label: &str,
    format: &str,
    entries: impl Iterator<Item = Result<banks::NewEntry, banks::LineError>>,
    json: bool,
) -> Result<ExitCode> {
    let created = store.bank_settings(name)?.is_none();
    if created {
        store.create_bank(
            name,
            &BankOptions {
                kind,
                ..Default::default()
            },
        )?;
    }
    let report = store.import(name, entries)?;
    if created && !report.applied {
        store.remove_bank(name)?;
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else if report.applied {
        println!(
            "{label}: read {} entries into {name} as {format} ({} new, {} already there, {} withdrawn)",
            report.read, report.added, report.duplicates, report.withdrawn
        );
    } else {
        for e in &report.errors {
            eprintln!("{label}:{}: {}", e.line, e.message);
        }
        if report.bad as usize > report.errors.len() {
            eprintln!("... and {} more bad lines", report.bad as usize - report.errors.len());
        }
        eprintln!("{label}: {} bad lines; nothing was imported", report.bad);
    }
    Ok(if report.applied {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(clap::Args)]
pub struct MatchArgs {
    /// PDQ hashes, digests (MD5, SHA-1, SHA-256; a 64-character hash is tried as
    /// PDQ and SHA-256 unless prefixed `pdq:` or `sha256:`), files to hash first, or
    /// `vpdq:FILE` for a video's vPDQ already computed (the reference's text format).
    #[arg(required = true)]
    queries: Vec<String>,
    /// JSON Lines, one object per hit; a query without hits prints nothing.
    #[arg(long)]
    json: bool,
    /// Match against these banks only (repeatable; default: all).
    #[arg(long = "bank")]
    banks: Vec<String>,
    /// Largest PDQ distance, replacing every bank's own.
    #[arg(long)]
    max_distance: Option<u32>,
    /// Also match the 8 rotations and flips of each image.
    #[arg(long)]
    dihedral: bool,
    /// Videos: seconds between hashed frames, as the bank's vPDQ entries were made.
    #[arg(long, default_value_t = 1.0)]
    vpdq_seconds: f64,
    /// Videos: share of the query video's frames that must match, in percent.
    #[arg(long, default_value_t = 80.0)]
    vpdq_query_pct: f64,
    /// Videos: share of the bank video's frames that must be matched, in percent.
    #[arg(long, default_value_t = 0.0)]
    vpdq_target_pct: f64,
}

/// One hit in `tantalum match --json`.
#[derive(Serialize)]
struct HitRecord<'a> {
    query: &'a str,
    query_path: Option<&'a str>,
    bank: &'a str,
    entry_id: u32,
    external_id: Option<&'a str>,
    entry_hash: &'a str,
    signal: &'a str,
    distance: u32,
    categories: &'a [String],
    known_file: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_match_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_match_pct: Option<f64>,
}

fn hex_bytes<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != 2 * N || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

/// The frames of a vPDQ text file, refused past a size no real video's hashes reach.
fn read_vpdq(path: &Path) -> Result<Vec<vpdq::Feature>> {
    const LARGEST: u64 = 256 << 20;
    let size = std::fs::metadata(path)?.len();
    if size > LARGEST {
        bail!("{size} bytes is too large for a vPDQ file");
    }
    let frames = vpdq::parse_features(&std::fs::read_to_string(path)?)?;
    if frames.is_empty() {
        bail!("no vPDQ frames in the file");
    }
    Ok(frames)
}

/// A query from a hash given on the command line.
fn query_from_hash(arg: &str) -> Result<(String, Query)> {
    let (prefix, hex) = match arg.split_once(':') {
        Some((p, h)) => (Some(Signal::parse(p)), h.trim().to_ascii_lowercase()),
        None => (None, arg.trim().to_ascii_lowercase()),
    };
    let mut q = Query::default();
    let typed = prefix.is_some();
    match (prefix, hex.len()) {
        (Some(Signal::Pdq), _) | (None, 64) if hex_bytes::<32>(&hex).is_some() => {
            q.pdq = Some((pdq::Hash256::from_hex(&hex)?, None));
            if !typed {
                q.sha256 = hex_bytes(&hex);
            }
        }
        (Some(Signal::Sha256), _) => q.sha256 = Some(hex_bytes(&hex).context("a SHA-256 has 64 hex digits")?),
        (Some(Signal::Md5), _) | (None, 32) => q.md5 = Some(hex_bytes(&hex).context("an MD5 has 32 hex digits")?),
        (Some(Signal::Sha1), _) | (None, 40) => q.sha1 = Some(hex_bytes(&hex).context("a SHA-1 has 40 hex digits")?),
        _ => bail!("{arg:?} is neither a file nor a PDQ hash or digest"),
    }
    Ok((hex, q))
}

pub fn run_match(store: &Location, args: MatchArgs) -> Result<ExitCode> {
    let store = open_store(store)?;
    let matcher = Matcher::load(&store, &args.banks)?;
    let options = MatchOptions {
        max_distance: args.max_distance,
        vpdq: vpdq::MatchThresholds {
            query_pct: args.vpdq_query_pct,
            target_pct: args.vpdq_target_pct,
            ..Default::default()
        },
    };
    let video_options = vpdq::HashOptions {
        seconds_per_hash: args.vpdq_seconds,
        ..Default::default()
    };
    let analyze = media::AnalyzeOptions {
        dihedral: args.dihedral,
        ..Default::default()
    };
    let mut hasher = pdq::Hasher::new();
    let mut scratch = index::Scratch::default();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let table = !args.json;
    if table && std::io::stdout().is_terminal() {
        writeln!(
            out,
            "{:<40} {:<16} {:>4} {:<7} {:<10} CATEGORIES",
            "QUERY", "BANK", "DIST", "SIGNAL", "ENTRY"
        )?;
    }
    let mut any_hit = false;
    let mut failures = 0;
    for arg in &args.queries {
        let path = Path::new(arg);
        let mut queries: Vec<(String, Option<String>, Query)> = Vec::new();
        if let Some(file) = arg.strip_prefix("vpdq:") {
            // A video's vPDQ already computed (the reference's text format), e.g. from a partner's list.
            match read_vpdq(Path::new(file)) {
                Ok(frames) => queries.push((
                    arg.clone(),
                    Some(file.to_string()),
                    Query {
                        vpdq: Some(frames),
                        ..Default::default()
                    },
                )),
                Err(e) => {
                    eprintln!("tantalum: {file}: {e:#}");
                    failures += 1;
                }
            }
        } else if path.is_file() {
            let a = media::analyze_path(path, &analyze, &mut hasher);
            if let Some(e) = &a.error {
                eprintln!("tantalum: {arg}: {e}");
                failures += 1;
            }
            let Some(d) = a.digests else { continue };
            let video = if a.kind == media::Kind::Video && a.error.is_none() {
                let scratch = std::env::temp_dir();
                match case::video_hashes(case::VideoSource::File(path), None, &scratch, &video_options) {
                    Ok((_, frames)) => Some(frames),
                    Err(e) => {
                        eprintln!("tantalum: {arg}: {e}");
                        None
                    }
                }
            } else {
                None
            };
            let q = Query {
                pdq: a.pdq.map(|p| (p.hash, Some(p.quality))),
                dihedral: a.dihedral,
                md5: Some(d.md5),
                sha1: Some(d.sha1),
                sha256: Some(d.sha256),
                vpdq: video,
            };
            let shown = a.pdq.map(|p| p.hash.to_hex()).unwrap_or_else(|| media::hex(&d.sha256));
            queries.push((shown, Some(arg.clone()), q));
        } else {
            match query_from_hash(arg) {
                Ok((hex, q)) => queries.push((hex, None, q)),
                Err(e) => {
                    eprintln!("tantalum: {e:#}");
                    failures += 1;
                }
            }
        }
        for (shown, query_path, q) in queries {
            for hit in matcher.match_query(&store, &q, &options, &mut scratch)? {
                any_hit = true;
                let entry = store.entry(hit.entry_id)?.context("entry vanished during matching")?;
                let record = HitRecord {
                    query: &shown,
                    query_path: query_path.as_deref(),
                    bank: &hit.bank,
                    entry_id: hit.entry_id,
                    external_id: entry.entry.external_id.as_deref(),
                    entry_hash: &entry.entry.hash,
                    signal: hit.signal.name(),
                    distance: hit.distance,
                    categories: &entry.entry.categories,
                    known_file: hit.known_file,
                    query_match_pct: hit.video.map(|v| v.query_match_pct),
                    target_match_pct: hit.video.map(|v| v.target_match_pct),
                };
                if args.json {
                    serde_json::to_writer(&mut out, &record)?;
                    writeln!(out)?;
                } else {
                    let q = query_path.as_deref().unwrap_or(&shown);
                    writeln!(
                        out,
                        "{q:<40} {:<16} {:>4} {:<7} {:<10} {}",
                        hit.bank,
                        hit.distance,
                        hit.signal.name(),
                        entry
                            .entry
                            .external_id
                            .clone()
                            .unwrap_or_else(|| format!("#{}", hit.entry_id)),
                        entry.entry.categories.join(",")
                    )?;
                }
            }
        }
    }
    out.flush()?;
    // grep's convention: 0 = something matched, 1 = nothing did, 2 = trouble.
    Ok(if failures > 0 {
        ExitCode::from(2)
    } else if any_hit {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
