//! `tantalum scan`, `tantalum report` and `tantalum demo`.

use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use banks::{formats, BankKind, BankOptions, Format, ReadOptions, Store};
use case::report::{self, ReportFormat};
use case::{CaseStore, ScanOptions, ScanSummary};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::EXIT_SOME_FAILED;

/// Exit status after Ctrl-C, as shells report a SIGINT death.
const EXIT_INTERRUPTED: u8 = 130;

#[derive(clap::Args)]
pub struct ScanArgs {
    /// The case directory (created on first use).
    #[arg(long, value_name = "DIR")]
    case: PathBuf,
    /// Folders, files, ZIP and tar archives to scan.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Match against this bank (repeatable; default: every bank in the store).
    #[arg(long = "bank", value_name = "NAME")]
    banks: Vec<String>,
    /// Also match rotated and flipped copies (the 8 dihedral PDQ hashes).
    #[arg(long)]
    dihedral: bool,
    /// Label for these evidence sources (exhibit number, device).
    #[arg(long)]
    label: Option<String>,
    /// Replace every bank's largest PDQ distance.
    #[arg(long)]
    max_distance: Option<u32>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// Refuse images with more pixels than this, before decoding them.
    #[arg(long, default_value_t = media::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Videos: seconds between hashed frames (vPDQ); 0 hashes every frame.
    #[arg(long, default_value_t = 1.0)]
    vpdq_seconds: f64,
    /// Videos: scale frames to N×N before hashing; 0 keeps their own size.
    #[arg(long, default_value_t = 0)]
    vpdq_size: u32,
    /// Archives inside archives are opened this many levels deep.
    #[arg(long, default_value_t = case::ArchiveLimits::default().max_depth)]
    max_archive_depth: u32,
    /// Skip compressed archive members that expand more than this many times their size.
    #[arg(long, default_value_t = case::ArchiveLimits::default().max_ratio)]
    max_archive_ratio: u64,
    /// Forget what earlier scans found in these paths and scan them afresh.
    #[arg(long)]
    rescan: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The case directory.
    #[arg(long, value_name = "DIR")]
    case: PathBuf,
    /// json, csv (one row per match), html (one page to hand over) or manifest (chain of custody).
    #[arg(long, default_value = "json")]
    format: String,
    /// Write here (and record it in the manifest) instead of standard output.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Where to build the demo (replaced if it holds an earlier demo).
    #[arg(long, default_value = "tantalum-demo")]
    dir: PathBuf,
    /// Unrelated photos to add to the camera folder.
    #[arg(long, default_value_t = 40)]
    photos: usize,
}

struct Bar(ProgressBar);

impl case::Progress for Bar {
    fn planned(&self, n: u64) {
        self.0.inc_length(n);
    }
    fn done(&self, n: u64) {
        self.0.inc(n);
    }
    fn cancelled(&self) -> bool {
        case::interrupted()
    }
}

/// A files/s progress bar on stderr, hidden when stderr is not a terminal.
pub(crate) fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{bar:40} {pos}/{len} files  {rate}  eta {eta}")
        .expect("valid template")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} files/s", state.per_sec());
            },
        );
    bar.set_style(style);
    bar
}

/// The worker pool: `threads` workers, or one per core.
pub(crate) fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        pool = pool.num_threads(n.max(1));
    }
    pool.build().context("starting worker threads")
}

fn open_case(dir: &Path, create: bool) -> Result<CaseStore> {
    CaseStore::open(dir, create).with_context(|| format!("opening the case in {}", dir.display()))
}

pub fn run_scan(banks_at: &banks::Location, args: ScanArgs) -> Result<ExitCode> {
    if args.vpdq_seconds < 0.0 || !args.vpdq_seconds.is_finite() {
        bail!("--vpdq-seconds must be 0 or more");
    }
    let options = ScanOptions {
        banks: args.banks,
        dihedral: args.dihedral,
        max_distance: args.max_distance,
        max_pixels: args.max_pixels,
        vpdq_seconds: args.vpdq_seconds,
        vpdq_size: args.vpdq_size,
        archives: case::ArchiveLimits {
            max_depth: args.max_archive_depth,
            max_ratio: args.max_archive_ratio,
            ..Default::default()
        },
        label: args.label,
        rescan: args.rescan,
    };
    for path in &args.paths {
        let inside = std::path::absolute(&args.case)
            .ok()
            .zip(std::path::absolute(path).ok())
            .is_some_and(|(case, path)| case.starts_with(&path));
        if inside {
            bail!(
                "the case directory {} lies inside the evidence {}: put it elsewhere (nothing may be written beside evidence)",
                args.case.display(),
                path.display()
            );
        }
    }
    let mut case = open_case(&args.case, true)?;
    case::install_interrupt_handler();
    let bar = progress_bar(0);
    let summary =
        pool(args.threads)?.install(|| case::scan(&mut case, Some(banks_at), &args.paths, &options, &Bar(bar.clone())));
    bar.finish_and_clear();
    let summary = summary.context("scanning")?;
    if summary.interrupted {
        eprintln!(
            "tantalum: interrupted after recording {} files; run the same command again to continue",
            summary.recorded
        );
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_scan_summary(&summary, &args.case);
    }
    Ok(if summary.errors > 0 {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_scan_summary(s: &ScanSummary, case_dir: &Path) {
    println!(
        "scanned {} files in {:.1} s ({:.1} files/s){}",
        s.recorded,
        s.elapsed_s,
        s.recorded as f64 / s.elapsed_s.max(1e-9),
        if s.already_done > 0 {
            format!("; {} already in the case from an earlier run", s.already_done)
        } else {
            String::new()
        }
    );
    println!(
        "  {} images, {} videos hashed; {} flagged; {} on known-file lists; {} skipped; {} errors",
        s.images, s.videos, s.flagged, s.known_files, s.skipped, s.errors
    );
    println!(
        "  reports: tantalum report --case {} --format json|csv|html|manifest --out FILE",
        case_dir.display()
    );
}

pub fn run_report(args: ReportArgs) -> Result<ExitCode> {
    let Some(format) = ReportFormat::parse(&args.format) else {
        bail!("--format takes json, csv, html or manifest, not {:?}", args.format);
    };
    let case = open_case(&args.case, false)?;
    match args.out {
        Some(path) => {
            let out =
                report::write_file(&case, format, &path).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} ({} bytes, sha256 {})", out.path, out.size, out.sha256);
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match report::write(&case, format, &mut out) {
                Err(case::CaseError::Report(e)) if e.contains("Broken pipe") => {}
                other => other.context("writing the report")?,
            }
            let _ = out.flush();
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Marks a folder as the demo's own, so a rerun may replace it and nothing else.
const DEMO_MARKER: &str = ".tantalum-demo";

pub fn run_demo(args: DemoArgs) -> Result<ExitCode> {
    let dir = &args.dir;
    if dir.exists() {
        let empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if dir.join(DEMO_MARKER).exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("clearing the earlier demo in {}", dir.display()))?;
        } else if !empty {
            bail!(
                "{} exists and is not an earlier demo: give another --dir",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join(DEMO_MARKER), "made by tantalum demo; safe to delete\n")?;
    eprintln!("Generating a benign synthetic phone dump in {} ...", dir.display());
    let layout = synth::write_evidence(
        dir,
        synth::Extras {
            photos: args.photos,
            traps: true,
        },
    )
    .context("writing the synthetic evidence")?;

    let bank_dir = dir.join("banks");
    let mut store = Store::open(&bank_dir).context("creating the demo bank store")?;
    import_list(
        &mut store,
        "demo-flagged",
        BankKind::Flag,
        &layout.flagged_list,
        Format::Csv,
    )?;
    import_list(
        &mut store,
        "demo-known",
        BankKind::Known,
        &layout.known_list,
        Format::Plain,
    )?;
    drop(store);

    let case_dir = dir.join("case");
    let mut case = open_case(&case_dir, true)?;
    case.set_info("name", "DEMO-1")?;
    let options = ScanOptions {
        dihedral: true,
        label: Some("Exhibit DEMO-1 (synthetic phone dump)".into()),
        ..Default::default()
    };
    let bar = progress_bar(0);
    let summary = case::scan(
        &mut case,
        Some(&banks::Location::Dir(bank_dir.clone())),
        std::slice::from_ref(&layout.evidence),
        &options,
        &Bar(bar.clone()),
    );
    bar.finish_and_clear();
    let summary = summary.context("scanning the demo evidence")?;

    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports)?;
    let mut written = Vec::new();
    for format in [
        ReportFormat::Json,
        ReportFormat::Csv,
        ReportFormat::Html,
        ReportFormat::Manifest,
    ] {
        let path = reports.join(format.file_name());
        report::write_file(&case, format, &path).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    let loaded = report::load(&case)?;
    let s = &loaded.summary;
    println!("tantalum demo: a synthetic phone dump scanned against two small sample banks");
    println!(
        "  evidence  {}  ({} files and archive members)",
        layout.evidence.display(),
        s.files
    );
    println!(
        "  scanned in {:.2} s: {} images hashed, {} archives opened",
        summary.elapsed_s, s.images, s.archives
    );
    println!(
        "  flagged   {} exact, {} near-duplicates (re-encoded, resized, cropped, watermarked, rotated)",
        s.known_exact, s.known_near
    );
    let categories: Vec<String> = s.by_category.iter().map(|(c, n)| format!("{c}: {n}")).collect();
    println!("  by category  {}", categories.join(", "));
    println!(
        "  known files {}; skipped {} (archive traps); errors {} (corrupt and empty files)",
        s.known_files, s.skipped, s.errors
    );
    println!("  reports:");
    for path in &written {
        println!("    {}", path.display());
    }
    println!("Open {} in a browser.", reports.join("report.html").display());
    demo_operation(dir, &bank_dir)?;
    Ok(ExitCode::SUCCESS)
}

/// The demo's second half: a small operation seen from two seized phones
/// and a Telegram export, imported into its own case, with the network and
/// the per-country referrals written.
fn demo_operation(dir: &Path, bank_dir: &Path) -> Result<()> {
    use chats::synth::operation::{write_operation, OpSpec};
    let op = dir.join("operation");
    let truth = write_operation(&OpSpec::small(1), &op).context("writing the synthetic operation")?;
    let mut store = Store::open(bank_dir).context("opening the demo bank store")?;
    import_list(
        &mut store,
        "demo-operation",
        BankKind::Flag,
        &op.join("lists/test-hashes.csv"),
        Format::Csv,
    )?;
    drop(store);
    let case_dir = dir.join("operation-case");
    let mut case = open_case(&case_dir, true)?;
    case.set_info("name", "DEMO-2")?;
    let mut summary = None;
    for dev in &truth.devices {
        let options = network::ImportOptions {
            banks: vec!["demo-operation".into()],
            owner: dev.owner_e164.clone(),
            owner_name: dev.owner_e164.as_ref().map(|_| dev.owner_label.clone()),
            device: Some(format!("device{}", dev.device)),
            // Only the first phone's clock is known; the others' are worked out from the messages they share.
            utc_offset_minutes: (dev.device == 1).then_some(dev.utc_offset_minutes),
            contacts: dev.contacts.iter().map(|c| op.join(c)).collect(),
            label: Some(format!("Exhibit DEMO-2/{} (synthetic {} export)", dev.device, dev.os)),
        };
        let paths: Vec<PathBuf> = dev.exports.iter().map(|e| op.join(e)).collect();
        summary = Some(
            network::import_chats(
                &mut case,
                Some(&banks::Location::Dir(bank_dir.to_path_buf())),
                &paths,
                &options,
                &(),
            )
            .with_context(|| format!("importing device {}", dev.device))?,
        );
    }
    network::import_pages(&mut case, &[op.join("pages/forum-invites.html")]).context("importing the forum page")?;
    let net = network::Network::build(network::resolve(&case)?);
    let out = dir.join("network");
    let mut written = Vec::new();
    for (format, name) in [
        (network::output::Format::Gexf, "network.gexf"),
        (network::output::Format::Graphml, "network.graphml"),
        (network::output::Format::Json, "network.json"),
        (network::output::Format::Csv, "i2"),
    ] {
        written.extend(network::output::write(&net, format, &out.join(name))?);
    }
    let referrals = crate::network_cli::write_referrals(&case, &dir.join("referrals"))?;
    let reports = dir.join("reports");
    for format in [ReportFormat::Html, ReportFormat::Json] {
        let path = reports.join(format!("operation-{}", format.file_name()));
        report::write_file(&case, format, &path).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    let s = summary.unwrap_or_default();
    let copies: usize = net.resolved.messages.iter().map(|m| m.renderings.len()).sum();
    println!(
        "tantalum demo: a synthetic operation, two seized phones and a Telegram export ({} chats, {} message copies)",
        net.resolved.exports, copies
    );
    println!(
        "  network   {} groups, {} accounts ({} without a number), {} messages after merging devices, {} shares of known items",
        s.groups, s.accounts, s.unresolved, s.messages, s.shares
    );
    let bridges: Vec<&str> = net
        .accounts
        .iter()
        .filter(|a| a.bridge)
        .map(|a| a.key.as_str())
        .collect();
    println!("  bridges   {}", bridges.join(", "));
    let countries: Vec<String> = referrals
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    println!(
        "  referrals {} ({})",
        countries.join(", "),
        dir.join("referrals").display()
    );
    println!("  outputs:");
    for path in &written {
        println!("    {}", path.display());
    }
    Ok(())
}

fn import_list(store: &mut Store, bank: &str, kind: BankKind, list: &Path, format: Format) -> Result<()> {
    store.create_bank(
        bank,
        &BankOptions {
            kind,
            ..Default::default()
        },
    )?;
    let file = std::fs::File::open(list).with_context(|| format!("opening {}", list.display()))?;
    let options = ReadOptions {
        source: list.file_name().map(|n| n.to_string_lossy().into_owned()),
        ..Default::default()
    };
    let report = store.import(bank, formats::read(format, Box::new(BufReader::new(file)), options))?;
    if !report.applied {
        bail!("the demo list {} did not import: {:?}", list.display(), report.errors);
    }
    Ok(())
}
