//! `tantalum serve`: the matching service for platforms.
//!
//! Two APIs over one live index: tantalum's own under `/v1` (hash, batch
//! match, match an upload, banks and entries, bulk import and export) and
//! HMA's routes with HMA's shapes (`/m`, `/h`, `/c`, `/status`), so an
//! existing HMA integration can point here unchanged. The index follows the
//! bank store's change feed: a change made through the API, by `tantalum
//! bank import` in another process, or by another replica is applied to the
//! in-memory index without a rebuild or a reload.
//!
//! Tokens with scopes guard every route (read routes may be opened with
//! `--open-read`); every curate and admin action goes into a hash-chained
//! audit log; uploads are hashed and dropped, never stored, and so is media
//! fetched for HMA's `url=`, which is off unless hosts are allowed (see [`fetch`]).

pub mod fetch;
pub mod hma;
mod hma_schema;
mod metrics;
mod openapi;
pub mod service_db;
mod state;
pub mod v1;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use fetch::{FetchPolicy, HostPattern};
pub use service_db::{AuditRecord, Scope, ServiceDb, TokenInfo};
pub use state::{ApiError, AppState, ServeOptions};

/// The whole service as a router (tests drive it without a socket).
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = axum::extract::DefaultBodyLimit::max(state.options.max_body);
    Router::new()
        .merge(v1::routes(&state))
        .merge(hma::routes())
        .route("/status", get(status))
        .route("/status/live", get(live))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
        .layer(body_limit)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Readiness as HMA defines it: 200 `I-AM-ALIVE` once the index is loaded
/// and current, 503 `INDEX-STALE` when it has not caught up with the store
/// for longer than the staleness limit.
async fn status(State(state): State<Arc<AppState>>) -> Response {
    if state.is_ready() {
        (StatusCode::OK, "I-AM-ALIVE").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "INDEX-STALE").into_response()
    }
}

/// Liveness: the process answers (never checks the index, so a slow start is not killed).
async fn live() -> &'static str {
    "I-AM-ALIVE"
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(&state.gauges());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi::document()).into_response()
}

/// Counts and times every request, and logs it as one JSON line on stderr.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state.metrics.request(&route, &method, status, seconds);
    if state.options.log_requests {
        eprintln!(
            "{}",
            serde_json::json!({
                "ts": case::format_time(case::now_ns()),
                "method": method,
                "route": route,
                "status": status,
                "ms": (seconds * 1000.0 * 1000.0).round() / 1000.0,
            })
        );
    }
    response
}

/// Caps glibc's malloc arenas before any thread starts. With one arena per
/// thread, memory freed by short-lived request allocations is kept per
/// arena and RSS creeps up under steady load (HMA hit the same with glibc
/// and moved to jemalloc); two arenas keep it flat at no measurable cost.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Runs the service until Ctrl-C or SIGTERM, then drains requests in flight.
pub async fn serve(state: Arc<AppState>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(state.options.listen).await?;
    let sync_state = state.clone();
    let every = state.options.sync_every;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let s = sync_state.clone();
            match tokio::task::spawn_blocking(move || s.sync()).await {
                Ok(Err(e)) => eprintln!(
                    "{}",
                    serde_json::json!({"level": "error", "msg": "index sync failed", "error": e})
                ),
                Err(e) => eprintln!(
                    "{}",
                    serde_json::json!({"level": "error", "msg": "index sync panicked", "error": e.to_string()})
                ),
                Ok(Ok(_)) => {}
            }
        }
    });
    if state.is_remote() {
        let follower = state.clone();
        std::thread::Builder::new()
            .name("store-notices".into())
            .spawn(move || follow_notices(&follower))?;
    }
    eprintln!(
        "{}",
        serde_json::json!({
            "level": "info",
            "msg": "listening",
            "addr": listener.local_addr()?.to_string(),
            "index": state.index_status(),
            "fetch_allow": state.options.fetch.allow.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    );
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Applies changes as soon as another replica or process announces them
/// (PostgreSQL's LISTEN/NOTIFY), so they are live everywhere within a
/// fraction of a second. The periodic sync stays as the checkpoint that
/// catches anything a dropped connection missed; a lost listener reconnects.
fn follow_notices(state: &AppState) {
    let log_error =
        |msg: &str, error: String| eprintln!("{}", serde_json::json!({"level": "error", "msg": msg, "error": error}));
    loop {
        match banks::Store::listen(&state.store) {
            Ok(Some(mut listener)) => loop {
                match listener.wait(std::time::Duration::from_secs(30)) {
                    Ok(true) => {
                        if let Err(e) = state.sync() {
                            log_error("index sync failed", e);
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        log_error("change listener lost its connection; reconnecting", e.to_string());
                        break;
                    }
                }
            },
            Ok(None) => return,
            Err(e) => log_error("change listener could not connect; retrying", e.to_string()),
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminate = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    eprintln!(
        "{}",
        serde_json::json!({"level": "info", "msg": "shutting down: finishing requests in flight"})
    );
}
