//! `tantalum chats parse` and `tantalum links`: chat exports and invite
//! links, printed for people on a terminal and as JSON with `--json`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::EXIT_SOME_FAILED;

/// Chat exports: WhatsApp (.txt, folder, .zip) and Telegram Desktop (result.json, HTML).
#[derive(clap::Subcommand)]
pub enum ChatsCommand {
    /// Parse chat exports: one JSON document per chat with --json.
    ///
    /// Exit status: 0 when everything was read, 1 when some input had errors
    /// (reported on stderr; the rest was still read), 2 when nothing could run.
    Parse {
        /// Print one JSON document per export (one per line) instead of a summary.
        #[arg(long)]
        json: bool,
        /// The export: a WhatsApp .txt, its folder or .zip; a Telegram result.json, its folder or HTML pages.
        path: PathBuf,
    },
    /// Import chat exports into a case: messages, members and events, their
    /// media hashed and matched, the same group from several devices merged.
    Import(crate::network_cli::ChatsImportArgs),
}

/// Arguments of `tantalum links`.
#[derive(clap::Args)]
pub struct LinksArgs {
    /// Print one JSON object per link (JSON Lines) instead of a table.
    #[arg(long)]
    json: bool,
    /// Saved pages (.html, .mhtml), text files, or folders of them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Runs a `chats` subcommand.
pub fn run_chats(cmd: ChatsCommand) -> Result<ExitCode> {
    let (json, path) = match cmd {
        ChatsCommand::Parse { json, path } => (json, path),
        // main dispatches imports itself (they need the bank store).
        ChatsCommand::Import(_) => anyhow::bail!("chats import needs the bank store"),
    };
    let exports = match chats::parse_path(&path) {
        Ok(e) => e,
        Err(e @ chats::Error::Io { .. }) => return Err(e).context("reading the export"),
        Err(e) => {
            eprintln!("tantalum: {e}");
            return Ok(ExitCode::from(EXIT_SOME_FAILED));
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut had_errors = false;
    for e in &exports {
        for issue in &e.errors {
            eprintln!("tantalum: {issue}");
            had_errors = true;
        }
        let written = if json {
            serde_json::to_writer(&mut out, e)
                .map_err(io::Error::from)
                .and_then(|_| writeln!(out))
        } else {
            human(&mut out, e)
        };
        if let Err(err) = written {
            if err.kind() == io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(err).context("writing output");
        }
    }
    out.flush().ok();
    Ok(if had_errors {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn human(out: &mut impl Write, e: &chats::Export) -> io::Result<()> {
    let j = |v: &dyn erased::Ser| v.json();
    writeln!(out, "{}", e.source)?;
    writeln!(
        out,
        "  {} {} · locale {} · dates {}{} · clock {}",
        j(&e.platform),
        j(&e.variant),
        e.locale.as_deref().unwrap_or("?"),
        e.date_order.map(|d| j(&d)).unwrap_or_else(|| "-".into()),
        if e.date_order_assumed {
            " (assumed: no day above 12)"
        } else {
            ""
        },
        e.clock.map(|c| j(&c)).unwrap_or_else(|| "-".into())
    )?;
    if let Some(g) = &e.group_name {
        writeln!(out, "  group: {g}")?;
    }
    let system = e.messages.iter().filter(|m| m.kind == chats::Kind::System).count();
    let links: usize = e.messages.iter().map(|m| m.links.len()).sum();
    writeln!(
        out,
        "  {} records: {} messages, {} system; {} links",
        e.messages.len(),
        e.messages.len() - system,
        system,
        links
    )?;
    writeln!(out, "  participants ({}):", e.participants.len())?;
    for p in &e.participants {
        writeln!(
            out,
            "    {:<32} {:<16} {}",
            p.display,
            p.phone_e164.as_deref().unwrap_or(""),
            p.region.as_deref().unwrap_or("")
        )?;
    }
    for m in &e.messages {
        if let Some(ev) = &m.event {
            let ts = m.timestamp.map(|t| t.iso()).unwrap_or_default();
            writeln!(
                out,
                "  {ts}  {:<24} {} → {}",
                j(&ev.kind),
                ev.actor.as_deref().unwrap_or("-"),
                ev.targets.join(", ")
            )?;
        }
    }
    Ok(())
}

mod erased {
    /// A serializable value printed as its bare JSON string.
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self)
                .unwrap_or_default()
                .trim_matches('"')
                .to_string()
        }
    }
}

/// One line of `tantalum links --json`.
#[derive(Serialize)]
struct LinkRecord<'a> {
    kind: chats::links::LinkKind,
    code: Option<&'a str>,
    phone_e164: Option<&'a str>,
    url: &'a str,
    raw: &'a str,
    source: &'a str,
    line: usize,
}

fn files_under(p: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            files_under(&e, out)?;
        }
    } else {
        out.push(p.to_path_buf());
    }
    Ok(())
}

/// Largest file `tantalum links` searches; a bigger one is an error, not an
/// allocation of its whole size (link search keeps 9 bytes per byte).
const MAX_LINKS_FILE: u64 = 64 << 20;

/// A page or text file's bytes, `None` for a binary file (a NUL byte in the
/// first 8 KiB), an error for a file over [`MAX_LINKS_FILE`].
fn read_page(path: &Path) -> io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_LINKS_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_LINKS_FILE {
        return Err(io::Error::other(format!(
            "larger than {} MiB: not searched",
            MAX_LINKS_FILE >> 20
        )));
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Runs `tantalum links`.
pub fn run_links(args: LinksArgs) -> Result<ExitCode> {
    let mut files = Vec::new();
    let mut failed = false;
    for p in &args.paths {
        if let Err(e) = files_under(p, &mut files) {
            eprintln!("tantalum: {}: {e}", p.display());
            failed = true;
        }
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for f in files {
        let bytes = match read_page(&f) {
            Ok(Some(b)) => b,
            // Binary files (images, archives saved beside the pages) hold no text to search.
            Ok(None) => continue,
            Err(e) => {
                eprintln!("tantalum: {}: {e}", f.display());
                failed = true;
                continue;
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let name = f.display().to_string();
        let found = chats::links::extract_document(&name, &text);
        let starts = chats::links::line_starts(&text);
        for l in &found {
            let rec = LinkRecord {
                kind: l.kind,
                code: l.code.as_deref(),
                phone_e164: l.phone_e164.as_deref(),
                url: &l.url,
                raw: &l.raw,
                source: &name,
                line: chats::links::line_of(&starts, l.offset),
            };
            let r = if args.json {
                serde_json::to_writer(&mut out, &rec)
                    .map_err(io::Error::from)
                    .and_then(|_| writeln!(out))
            } else {
                writeln!(
                    out,
                    "{}:{}\t{}\t{}\t{}",
                    rec.source,
                    rec.line,
                    rec.kind.name(),
                    rec.url,
                    rec.raw.replace('\n', "⏎")
                )
            };
            if let Err(e) = r {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return Ok(ExitCode::SUCCESS);
                }
                return Err(e).context("writing output");
            }
        }
    }
    out.flush().ok();
    Ok(if failed {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
