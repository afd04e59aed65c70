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
    /// Let HMA's `url=` (GET /h/hash, GET /m/lookup, POST /c/bank/NAME/content) fetch media from this host; repeatable.
    ///
    /// Fetching by URL is off unless at least one pattern is given. `example.com` allows that host only,
    /// `*.example.com` any name under example.com (not example.com itself); an IP address is allowed as well.
    /// Ports 80 and 443 only, unless the pattern names one (`media.example.com:8443`, `[2001:db8::1]:8443`).
    /// Only https, unless --fetch-allow-http. Refused whatever the list says: URLs with credentials, hosts
    /// that resolve to any loopback, private, CGNAT, link-local, unique-local, multicast, documentation or
    /// reserved address (the connection goes to the vetted address, so DNS cannot change it in between),
    /// more than 5 redirects (each re-checked), and bodies over --max-upload-mb (413).
    #[arg(long = "fetch-allow", value_name = "HOST_PATTERN")]
    fetch_allow: Vec<server::HostPattern>,
    /// Also fetch plain http URLs from the allowed hosts (https only otherwise).
    #[arg(long)]
    fetch_allow_http: bool,
    /// Deadline for one URL fetch, in seconds: resolving, connecting, redirects and the whole body.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    fetch_timeout_secs: u64,
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
        fetch: server::FetchPolicy {
            allow: args.fetch_allow,
            allow_http: args.fetch_allow_http,
            timeout: std::time::Duration::from_secs(args.fetch_timeout_secs),
            allow_private: false,
        },
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
