//! `tantalum chats import`, `tantalum pages import`, `tantalum network` and
//! `tantalum referrals`: the sharing network of a case.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use case::CaseStore;
use network::output::Format;

/// Arguments of `tantalum chats import`.
#[derive(clap::Args)]
pub struct ChatsImportArgs {
    /// The case directory (created on first use).
    #[arg(long, value_name = "DIR")]
    case: PathBuf,
    /// Match the media against this bank (repeatable; default: every bank in the store).
    #[arg(long = "bank", value_name = "NAME")]
    banks: Vec<String>,
    /// The seized phone's owner (E.164, or a number as written): who "you" is in its exports.
    #[arg(long, value_name = "E164")]
    owner: Option<String>,
    /// The owner's own name on their messages in these exports.
    #[arg(long, value_name = "LABEL", requires = "owner")]
    owner_name: Option<String>,
    /// Name of the device the exports come from (default: the owner's number, else the first path).
    /// Address-book names only identify a person within one device.
    #[arg(long)]
    device: Option<String>,
    /// The device clock's offset from UTC (`+01:00`, `-5`, `330` minutes); unknown offsets are
    /// estimated from messages other devices also exported.
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    utc_offset: Option<String>,
    /// The device's contacts as vCard (repeatable): ties names to numbers.
    #[arg(long, value_name = "FILE")]
    contacts: Vec<PathBuf>,
    /// Label for these evidence sources (exhibit number).
    #[arg(long)]
    label: Option<String>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// Chat exports: WhatsApp .txt, folders, .zip; Telegram result.json or its folder.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// `tantalum pages`.
#[derive(clap::Subcommand)]
pub enum PagesCommand {
    /// Record the invite links in saved pages (.html, .mhtml, text) and tie
    /// each to the group whose invite code the case's chats show.
    Import {
        /// The case directory.
        #[arg(long, value_name = "DIR")]
        case: PathBuf,
        /// Saved pages.
        #[arg(required = true)]
        pages: Vec<PathBuf>,
    },
}

/// Arguments of `tantalum network`.
#[derive(clap::Args)]
pub struct NetworkArgs {
    /// The case directory.
    #[arg(long, value_name = "DIR")]
    case: PathBuf,
    /// gexf (Gephi, with time intervals), graphml, csv (entities.csv + links.csv for i2; --out is a folder) or json.
    #[arg(long, default_value = "json")]
    format: String,
    /// Where to write (standard output when absent; csv prints links only).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
}

/// Arguments of `tantalum referrals`.
#[derive(clap::Args)]
pub struct ReferralsArgs {
    /// The case directory.
    #[arg(long, value_name = "DIR")]
    case: PathBuf,
    /// The folder to write one folder per country into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Reads `+01:00`, `-05:30`, `+1`, `-5` (hours) or `330` / `-300` (minutes, more than 14).
fn parse_offset(s: &str) -> Result<i64> {
    let t = s.trim();
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let minutes = if let Some((h, m)) = rest.split_once(':') {
        let h: i64 = h.parse().with_context(|| format!("--utc-offset {s:?}"))?;
        let m: i64 = m.parse().with_context(|| format!("--utc-offset {s:?}"))?;
        h * 60 + m
    } else {
        let n: i64 = rest.parse().with_context(|| format!("--utc-offset {s:?}"))?;
        if n <= 14 {
            n * 60
        } else {
            n
        }
    };
    if minutes > 14 * 60 {
        bail!("--utc-offset {s:?} is more than 14 hours");
    }
    Ok(sign * minutes)
}

fn open(dir: &Path, create: bool) -> Result<CaseStore> {
    CaseStore::open(dir, create).with_context(|| format!("opening the case in {}", dir.display()))
}

/// Records a written file in the case's outputs (the manifest lists it).
fn record(case: &CaseStore, path: &Path, format: &str) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading back {}", path.display()))?;
    let mut d = media::Digester::new();
    d.update(&bytes);
    case.add_output(&case::Output {
        path: std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string(),
        format: format.into(),
        sha256: media::hex(&d.finish().sha256),
        size: bytes.len() as u64,
        written: case::now_ns(),
    })?;
    Ok(())
}

/// `tantalum chats import`.
pub fn run_chats_import(banks_at: &banks::Location, args: ChatsImportArgs) -> Result<ExitCode> {
    for path in &args.paths {
        let inside = std::path::absolute(&args.case)
            .ok()
            .zip(std::path::absolute(path).ok())
            .is_some_and(|(case, path)| case.starts_with(&path));
        if inside {
            bail!(
                "the case directory {} lies inside the evidence {}: put it elsewhere",
                args.case.display(),
                path.display()
            );
        }
    }
    let options = network::ImportOptions {
        banks: args.banks,
        owner: args.owner,
        owner_name: args.owner_name,
        device: args.device,
        utc_offset_minutes: args.utc_offset.as_deref().map(parse_offset).transpose()?,
        contacts: args.contacts,
        label: args.label,
    };
    let mut case = open(&args.case, true)?;
    let s = network::import_chats(&mut case, Some(banks_at), &args.paths, &options, &())
        .context("importing the chat exports")?;
    if args.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "imported {} chats ({} records, {} issues); {} attachments linked to their files, {} absent",
            s.exports, s.records, s.issues, s.attachments_linked, s.attachments_missing
        );
        println!(
            "  media: {} files scanned, {} flagged; contacts read: {}",
            s.scan.recorded, s.scan.flagged, s.contacts
        );
        println!(
            "  case now: {} groups, {} accounts ({} unresolved names), {} messages, {} shares of known items",
            s.groups, s.accounts, s.unresolved, s.messages, s.shares
        );
    }
    Ok(if s.issues > 0 {
        ExitCode::from(crate::EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// `tantalum pages import`.
pub fn run_pages(cmd: PagesCommand) -> Result<ExitCode> {
    let PagesCommand::Import { case, pages } = cmd;
    let mut store = open(&case, true)?;
    let s = network::import_pages(&mut store, &pages).context("importing the pages")?;
    println!(
        "imported {} pages: {} links, {} invite links tied to a group in the case",
        s.pages, s.links, s.tied
    );
    Ok(ExitCode::SUCCESS)
}

fn load(case: &CaseStore) -> Result<network::Network> {
    Ok(network::Network::build(
        network::resolve(case).context("resolving the network")?,
    ))
}

/// `tantalum network`.
pub fn run_network(args: NetworkArgs) -> Result<ExitCode> {
    let Some(format) = Format::parse(&args.format) else {
        bail!("--format takes gexf, graphml, csv or json, not {:?}", args.format);
    };
    let case = open(&args.case, false)?;
    let net = load(&case)?;
    match &args.out {
        Some(path) => {
            let written = network::output::write(&net, format, path)?;
            for p in &written {
                record(&case, p, &format!("network-{}", args.format))?;
                eprintln!("wrote {}", p.display());
            }
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match network::output::write_to(&net, format, &mut out) {
                Err(network::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
            let _ = out.flush();
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tantalum referrals`: returns the folders written.
pub fn write_referrals(case: &CaseStore, out: &Path) -> Result<Vec<PathBuf>> {
    let net = load(case)?;
    let name = case.name()?;
    let folders = network::referrals::write(&net, &name, out)?;
    for f in &folders {
        record(case, &f.join("referral.json"), "referral-json")?;
        record(case, &f.join("referral.html"), "referral-html")?;
    }
    Ok(folders)
}

/// `tantalum referrals`.
pub fn run_referrals(args: ReferralsArgs) -> Result<ExitCode> {
    let case = open(&args.case, false)?;
    let folders = write_referrals(&case, &args.out)?;
    println!("wrote {} referral packages:", folders.len());
    for f in folders {
        println!("  {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_offset;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+01:00").unwrap(), 60);
        assert_eq!(parse_offset("-05:30").unwrap(), -330);
        assert_eq!(parse_offset("-5").unwrap(), -300);
        assert_eq!(parse_offset("330").unwrap(), 330);
        assert!(parse_offset("+20:00").is_err());
        assert!(parse_offset("x").is_err());
    }
}
