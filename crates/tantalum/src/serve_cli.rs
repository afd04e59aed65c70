//! `tantalum serve`, `tantalum token` and `tantalum audit`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use server::{AppState, Scope, ServeOptions, ServiceDb};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: SocketAddr,
    /// Let hash and match requests (and reading banks) in without a token; changes always need one.
    #[arg(long)]
    open_read: bool,
    /// Largest upload, in MB (larger requests get 413).
    #[arg(long, default_value_t = 64)]
    max_upload_mb: usize,
    /// /status reports 503 when the index has not caught up with the store for this many seconds.
    #[arg(long, default_value_t = 65)]
    max_stale_seconds: u64,
    /// Do not log each request on stderr.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once, alone on the last line, and stored only as a digest.
    Create {
        /// hash, match, curate or admin (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// A note for people (who holds it, what for).
        #[arg(long)]
        note: Option<String>,
    },
    /// Revoke a token by its number.
    Revoke {
        /// The token's number, as `create` printed it.
        id: i64,
    },
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check the audit chain: exit 0 when intact, 1 when any record was changed or removed.
    Verify,
    /// Print the audit records as JSON Lines.
    List,
}

pub fn run_serve(store: &banks::Location, args: ServeArgs) -> Result<ExitCode> {
    let options = ServeOptions {
        listen: args.listen,
        open_read: args.open_read,
        max_body: args.max_upload_mb << 20,
        max_stale: std::time::Duration::from_secs(args.max_stale_seconds),
        log_requests: !args.quiet,
        ..Default::default()
    };
    server::tune_allocator();
    let state = AppState::open(store, options)
        .map_err(anyhow::Error::msg)
        .context("opening the store")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime
        .block_on(server::serve(Arc::new(state)))
        .with_context(|| format!("serving on {}", args.listen))?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_token(store: &banks::Location, command: TokenCommand) -> Result<ExitCode> {
    let db = ServiceDb::open_at(store).context("opening the service database")?;
    match command {
        TokenCommand::Create { scopes, note } => {
            let mut parsed = Vec::new();
            for s in &scopes {
                match Scope::parse(s) {
                    Some(scope) => parsed.push(scope),
                    None => bail!("unknown scope {s:?}: hash, match, curate or admin"),
                }
            }
            let (id, token) = db.create_token(&parsed, note.as_deref())?;
            eprintln!(
                "token {id} with scopes {}; keep it now, it is not shown again:",
                scopes.join(",")
            );
            println!("{token}");
        }
        TokenCommand::Revoke { id } => {
            if !db.revoke_token(id)? {
                bail!("no live token {id}");
            }
            eprintln!("token {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_audit(store: &banks::Location, command: AuditCommand) -> Result<ExitCode> {
    let db = ServiceDb::open_at(store).context("opening the service database")?;
    match command {
        AuditCommand::Verify => match db.verify_audit()? {
            Ok(n) => {
                println!("audit chain intact: {n} records");
                Ok(ExitCode::SUCCESS)
            }
            Err((seq, why)) => {
                println!("audit chain BROKEN at record {seq}: {why}");
                Ok(ExitCode::from(1))
            }
        },
        AuditCommand::List => {
            for r in db.audit_records()? {
                println!("{}", serde_json::to_string(&r)?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
