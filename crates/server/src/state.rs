//! What every request shares: the bank store (one writer, a pool of
//! readers), the live matcher kept current from the store's change feed,
//! tokens, the audit chain and the metrics.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use banks::{ChangeCursor, Location, Matcher, Query, Store};
use serde::Serialize;

use crate::metrics::{Gauges, Metrics};
use crate::service_db::{Scope, ServiceDb, TokenInfo};

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Let hash and match requests (and reading banks) in without a token.
    pub open_read: bool,
    /// Largest request body, bytes (uploads over it get 413).
    pub max_body: usize,
    /// Largest bulk import body, bytes.
    pub max_import: usize,
    /// How often the index catches up with the store (changes by other processes or replicas).
    pub sync_every: Duration,
    /// /status answers 503 when the index has not caught up for this long.
    pub max_stale: Duration,
    /// One JSON line per request on stderr.
    pub log_requests: bool,
    /// Fetching media by URL (HMA's `url=`): off unless hosts are allowed.
    pub fetch: crate::fetch::FetchPolicy,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            open_read: false,
            max_body: 64 << 20,
            max_import: 4 << 30,
            sync_every: Duration::from_secs(1),
            max_stale: Duration::from_secs(65),
            log_requests: true,
            fetch: Default::default(),
        }
    }
}

/// An error as the API reports it: a status and `{"error": message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// An error with this status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    /// 400.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    /// 500, for failures of the store.
    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message.to_string())
    }
}

impl From<banks::BankError> for ApiError {
    fn from(e: banks::BankError) -> Self {
        match e {
            banks::BankError::NoSuchBank(_) => ApiError::not_found(e.to_string()),
            banks::BankError::Exists(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            banks::BankError::BadName(_) => ApiError::bad(e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

/// One hit, with what the entry says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Hit {
    /// The bank.
    pub bank: String,
    /// The entry's id.
    pub entry_id: u32,
    /// The entry's id in the list it came from.
    pub external_id: Option<String>,
    /// The entry's hash.
    pub entry_hash: String,
    /// pdq, md5, sha1, sha256 or vpdq.
    pub signal: String,
    /// Hamming distance (0 for digests).
    pub distance: u32,
    /// The entry's categories.
    pub categories: Vec<String>,
    /// Where the entry came from (list file, feed).
    pub source: Option<String>,
    /// Every field the list gave for the entry.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// A known-file (allow) list rather than a list of flagged material.
    pub known_file: bool,
    /// vPDQ: share of the query video's frames matched, percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_match_pct: Option<f64>,
    /// vPDQ: share of the bank video's frames matched, percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_match_pct: Option<f64>,
}

struct TokenCache {
    tokens: HashMap<String, (Option<TokenInfo>, Instant)>,
}

/// A token is re-checked against the database this often, so revocations take effect.
const TOKEN_TTL: Duration = Duration::from_secs(10);

/// The shared state.
pub struct AppState {
    /// Where the banks live.
    pub store: Location,
    /// Options.
    pub options: ServeOptions,
    writer: Mutex<Store>,
    readers: Mutex<Vec<Store>>,
    matcher: RwLock<Matcher>,
    cursor: Mutex<ChangeCursor>,
    last_sync: Mutex<Instant>,
    changes_applied: AtomicU64,
    compactions: AtomicU64,
    service: Mutex<ServiceDb>,
    tokens: Mutex<TokenCache>,
    hashers: Mutex<Vec<pdq::Hasher>>,
    /// Metrics.
    pub metrics: Metrics,
    started: Instant,
}

/// Whether a route only reads (open with `--open-read`) or changes things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Hashing, matching, reading banks.
    Read,
    /// Anything that changes banks or tokens.
    Write,
}

impl AppState {
    /// Opens the store and builds the live matcher.
    pub fn open(store: &Location, options: ServeOptions) -> Result<AppState, String> {
        let writer = Store::open_at(store).map_err(|e| e.to_string())?;
        // The cursor is read before the index is built: a change landing in
        // between is applied again at the first sync, which is harmless.
        let cursor = writer.cursor().map_err(|e| e.to_string())?;
        let matcher = Matcher::load(&writer, &[]).map_err(|e| e.to_string())?;
        let service = ServiceDb::open_at(store).map_err(|e| e.to_string())?;
        Ok(AppState {
            store: store.clone(),
            options,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            matcher: RwLock::new(matcher),
            cursor: Mutex::new(cursor),
            last_sync: Mutex::new(Instant::now()),
            changes_applied: AtomicU64::new(0),
            compactions: AtomicU64::new(0),
            service: Mutex::new(service),
            tokens: Mutex::new(TokenCache { tokens: HashMap::new() }),
            hashers: Mutex::new(Vec::new()),
            metrics: Metrics::default(),
            started: Instant::now(),
        })
    }

    /// Whether the store is a database server (PostgreSQL), whose calls block on the network.
    pub fn is_remote(&self) -> bool {
        matches!(self.store, Location::Postgres(_))
    }

    /// Runs `f`, which talks to the store. The embedded store answers in
    /// microseconds, so that runs in place even on an async worker (no
    /// thread hop on the hot path); a database server's round trips are
    /// moved off the async workers.
    fn blocking_io<T>(&self, f: impl FnOnce() -> T) -> T {
        let on_worker = self.is_remote()
            && tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_worker {
            tokio::task::block_in_place(f)
        } else {
            f()
        }
    }

    /// Runs `f` with a read connection to the store (pooled).
    ///
    /// A database restart closes every pooled connection: a read that fails
    /// on the database server is run once more on a fresh connection, so
    /// clients see no error for it.
    pub fn with_reader<T>(&self, f: impl Fn(&Store) -> Result<T, ApiError>) -> Result<T, ApiError> {
        self.blocking_io(|| {
            let pooled = self.readers.lock().ok().and_then(|mut r| r.pop());
            let mut reader = match pooled {
                Some(r) => r,
                None => Store::open_reader_at(&self.store).map_err(ApiError::internal)?,
            };
            let mut out = f(&reader);
            // Reads only: retrying can do no harm, and the server's "terminating connection"
            // error can arrive before the client has marked the connection closed.
            let failed = matches!(&out, Err(e) if e.status == StatusCode::INTERNAL_SERVER_ERROR);
            if failed && reader.is_remote() {
                reader = Store::open_reader_at(&self.store).map_err(ApiError::internal)?;
                out = f(&reader);
            }
            if !reader.is_closed() {
                if let Ok(mut pool) = self.readers.lock() {
                    pool.push(reader);
                }
            }
            out
        })
    }

    /// Runs `f` once with a read connection, for work that cannot be
    /// repeated (a stream already half sent): no retry, a dead connection is
    /// only dropped.
    pub fn with_reader_once<T>(&self, f: impl FnOnce(&Store) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let f = std::cell::Cell::new(Some(f));
        self.with_reader(|store| match f.take() {
            Some(f) => f(store),
            None => Err(ApiError::internal("the database connection was lost")),
        })
    }

    /// Runs `f` once with the writer (a streamed import cannot be read
    /// twice): no retry, a dead connection is replaced for the next call.
    pub fn with_writer_once<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let f = std::cell::Cell::new(Some(f));
        self.with_writer(|store| match f.take() {
            Some(f) => f(store),
            None => Err(ApiError::internal("the database connection was lost during the import")),
        })
    }

    /// Runs `f` with the writer, then brings the live index up to date, so
    /// a change is matched as soon as the request returns.
    /// A write that fails on a connection that no longer answers (a
    /// database restart) is run once more on a fresh one: a dead connection
    /// committed nothing of the transaction it was in.
    pub fn with_writer<T>(&self, f: impl Fn(&mut Store) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let out = self.blocking_io(|| {
            let mut writer = self
                .writer
                .lock()
                .map_err(|_| ApiError::internal("store lock poisoned"))?;
            let mut out = f(&mut writer);
            if out.is_err() && !writer.is_alive() {
                *writer = Store::open_at(&self.store).map_err(ApiError::internal)?;
                out = f(&mut writer);
            }
            out
        })?;
        self.sync().map_err(ApiError::internal)?;
        Ok(out)
    }

    /// Runs `f` with the service database (tokens, audit, HMA's content records).
    /// Like the store's calls, one failed on a connection that no longer answers is run once more on a fresh one.
    pub fn with_service<T>(&self, f: impl Fn(&ServiceDb) -> Result<T, ApiError>) -> Result<T, ApiError> {
        self.blocking_io(|| {
            let mut db = self
                .service
                .lock()
                .map_err(|_| ApiError::internal("service lock poisoned"))?;
            let mut out = f(&db);
            if out.is_err() && !db.is_alive() {
                *db = ServiceDb::open_at(&self.store).map_err(ApiError::internal)?;
                out = f(&db);
            }
            out
        })
    }

    /// Applies the store's changes since the last sync to the live index;
    /// returns how many there were.
    pub fn sync(&self) -> Result<usize, String> {
        let mut cursor = self.cursor.lock().map_err(|_| "cursor lock poisoned")?;
        let (changes, next) = self
            .with_reader(|store| store.changes_since(&cursor).map_err(ApiError::internal))
            .map_err(|e| e.message)?;
        // Bank settings are re-read every time (renames, new banks, other processes); entries only when they changed.
        {
            self.with_reader(|store| {
                let mut matcher = self
                    .matcher
                    .write()
                    .map_err(|_| ApiError::internal("matcher lock poisoned"))?;
                matcher.apply(store, &changes).map_err(ApiError::internal)
            })
            .map_err(|e| e.message)?;
            *cursor = next;
            self.changes_applied.fetch_add(changes.len() as u64, Ordering::Relaxed);
        }
        // Compaction rebuilds the whole base (seconds at 10 M): built under
        // the read lock, so lookups go on, and swapped in under the write
        // lock in a moment. Holding the cursor lock keeps every other change
        // out meanwhile, so the copy cannot miss one.
        let needs = self.matcher.read().map(|m| m.needs_compaction()).unwrap_or(false);
        if needs {
            let started = Instant::now();
            let compacted = self.matcher.read().map_err(|_| "matcher lock poisoned")?.compacted();
            self.matcher
                .write()
                .map_err(|_| "matcher lock poisoned")?
                .replace(compacted);
            self.compactions.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "{}",
                serde_json::json!({"level": "info", "msg": "index compacted", "seconds": started.elapsed().as_secs_f64()})
            );
        }
        if let Ok(mut last) = self.last_sync.lock() {
            *last = Instant::now();
        }
        Ok(changes.len())
    }

    /// Seconds since the index last caught up with the store.
    pub fn index_age(&self) -> Duration {
        self.last_sync.lock().map(|t| t.elapsed()).unwrap_or_default()
    }

    /// Whether the index is current enough to answer (HMA's readiness).
    pub fn is_ready(&self) -> bool {
        self.index_age() <= self.options.max_stale
    }

    /// The index's state for /status and metrics.
    pub fn index_status(&self) -> serde_json::Value {
        let entries = self.matcher.read().map(|m| m.pdq_len()).unwrap_or(0);
        let cursor = self.cursor.lock().map(|c| *c).unwrap_or_default();
        serde_json::json!({
            "pdq_entries": entries,
            "cursor": cursor,
            "seconds_since_sync": self.index_age().as_secs_f64(),
            "changes_applied": self.changes_applied.load(Ordering::Relaxed),
            "compactions": self.compactions.load(Ordering::Relaxed),
            "uptime_seconds": self.started.elapsed().as_secs(),
            "ready": self.is_ready(),
        })
    }

    /// Gauges for /metrics.
    pub fn gauges(&self) -> Gauges {
        Gauges {
            index_entries: self.matcher.read().map(|m| m.pdq_len()).unwrap_or(0),
            index_age_seconds: self.index_age().as_secs_f64(),
            index_changes_applied: self.changes_applied.load(Ordering::Relaxed),
        }
    }

    /// Checks the request's bearer token for `scope`. Read routes pass
    /// without one under `--open-read`. Returns the token's id (0: none).
    pub fn authorize(&self, headers: &HeaderMap, scope: Scope, access: Access) -> Result<i64, ApiError> {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        let Some(presented) = presented else {
            if access == Access::Read && self.options.open_read {
                return Ok(0);
            }
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!("a bearer token with the {} scope is needed", scope.name()),
            ));
        };
        let info = self.token(presented)?;
        match info {
            None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown or revoked token")),
            Some(t) if t.allows(scope) => Ok(t.id),
            Some(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("this token lacks the {} scope", scope.name()),
            )),
        }
    }

    fn token(&self, presented: &str) -> Result<Option<TokenInfo>, ApiError> {
        if let Ok(cache) = self.tokens.lock() {
            if let Some((info, at)) = cache.tokens.get(presented) {
                if at.elapsed() < TOKEN_TTL {
                    return Ok(info.clone());
                }
            }
        }
        let info = self.with_service(|db| db.token(presented).map_err(ApiError::internal))?;
        if let Ok(mut cache) = self.tokens.lock() {
            if cache.tokens.len() > 10_000 {
                cache.tokens.clear(); // bounded: guessed tokens must not grow memory
            }
            cache
                .tokens
                .insert(presented.to_string(), (info.clone(), Instant::now()));
        }
        Ok(info)
    }

    /// Appends to the audit chain.
    pub fn audit(&self, token: i64, action: &str, target: &str, detail: serde_json::Value) -> Result<(), ApiError> {
        self.with_service(|db| db.audit(token, action, target, &detail).map_err(ApiError::internal))
    }

    /// Hashes an upload: digests, and PDQ for images or vPDQ for videos.
    pub fn hash_upload(&self, bytes: &[u8], dihedral: bool) -> Upload {
        let mut hasher = self.hashers.lock().ok().and_then(|mut h| h.pop()).unwrap_or_default();
        let options = media::AnalyzeOptions {
            dihedral,
            ..Default::default()
        };
        let analysis = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            media::analyze_bytes(bytes, None, &options, &mut hasher)
        }));
        let Ok(analysis) = analysis else {
            return Upload::failed(bytes.len(), "internal error: decoder panicked on this upload");
        };
        if let Ok(mut pool) = self.hashers.lock() {
            pool.push(hasher);
        }
        let mut upload = Upload::of(&analysis);
        if analysis.kind == media::Kind::Video && analysis.error.is_none() {
            let scratch = std::env::temp_dir();
            let extension = analysis.format.map(|f| f.name());
            match case::video_hashes(
                case::VideoSource::Bytes(bytes),
                extension,
                &scratch,
                &vpdq::HashOptions::default(),
            ) {
                Ok((info, frames)) => {
                    upload.width = Some(info.width);
                    upload.height = Some(info.height);
                    upload.query.vpdq = Some(frames.clone());
                    upload.vpdq = Some(frames);
                }
                Err(e) => upload.error = Some(e),
            }
        }
        upload
    }

    /// Every hit for one query as the matcher gives it (bank, entry id,
    /// signal, distance), without reading the entries: what HMA's lookups
    /// report, one store round trip per hit fewer than [`AppState::match_query`].
    pub fn match_bare(
        &self,
        query: &Query,
        banks: Option<&[String]>,
        max_distance: Option<u32>,
    ) -> Result<Vec<banks::MatchHit>, ApiError> {
        let options = banks::MatchOptions {
            max_distance,
            ..Default::default()
        };
        let mut hits = self.with_reader(|store| {
            let matcher = self
                .matcher
                .read()
                .map_err(|_| ApiError::internal("matcher lock poisoned"))?;
            thread_local! {
                static SCRATCH: std::cell::RefCell<index::Scratch> = std::cell::RefCell::new(index::Scratch::default());
            }
            SCRATCH
                .with(|s| matcher.match_query(store, query, &options, &mut s.borrow_mut()))
                .map_err(ApiError::internal)
        })?;
        hits.retain(|h| banks.is_none_or(|b| b.contains(&h.bank)));
        for h in &hits {
            self.metrics.hits(&h.bank, 1);
        }
        Ok(hits)
    }

    /// Every hit for one query, each with its entry's details.
    pub fn match_query(
        &self,
        query: &Query,
        banks: Option<&[String]>,
        max_distance: Option<u32>,
    ) -> Result<Vec<Hit>, ApiError> {
        let mut all = self.match_many(std::slice::from_ref(query), banks, max_distance)?;
        Ok(all.pop().unwrap_or_default())
    }

    /// Every hit for each query, in order, each with its entry's details;
    /// the entries of the whole batch are read at once (one round trip to a
    /// shared store, not one per hit).
    pub fn match_many(
        &self,
        queries: &[Query],
        banks: Option<&[String]>,
        max_distance: Option<u32>,
    ) -> Result<Vec<Vec<Hit>>, ApiError> {
        let found = queries
            .iter()
            .map(|q| self.match_bare(q, banks, max_distance))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids: Vec<u32> = found.iter().flatten().map(|h| h.entry_id).collect();
        if ids.is_empty() {
            return Ok(vec![Vec::new(); queries.len()]);
        }
        ids.sort_unstable();
        ids.dedup();
        let entries: HashMap<u32, banks::Entry> = self
            .with_reader(|store| store.entries(&ids).map_err(ApiError::internal))?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        Ok(found
            .into_iter()
            .map(|hits| {
                hits.into_iter()
                    .filter_map(|h| {
                        // An entry gone from the store since the index answered is left out.
                        let entry = entries.get(&h.entry_id)?.entry.clone();
                        Some(Hit {
                            bank: h.bank,
                            entry_id: h.entry_id,
                            external_id: entry.external_id,
                            entry_hash: entry.hash,
                            signal: h.signal.name().to_string(),
                            distance: h.distance,
                            categories: entry.categories,
                            source: entry.source,
                            metadata: entry.raw,
                            known_file: h.known_file,
                            query_match_pct: h.video.map(|v| v.query_match_pct),
                            target_match_pct: h.video.map(|v| v.target_match_pct),
                        })
                    })
                    .collect()
            })
            .collect())
    }
}

/// What hashing an upload gives.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Upload {
    /// Size in bytes.
    pub size: u64,
    /// MD5.
    pub md5: Option<String>,
    /// SHA-1.
    pub sha1: Option<String>,
    /// SHA-256.
    pub sha256: Option<String>,
    /// image, video or other.
    pub kind: String,
    /// Format by content.
    pub format: Option<String>,
    /// Width.
    pub width: Option<u32>,
    /// Height.
    pub height: Option<u32>,
    /// PDQ hash.
    pub pdq: Option<String>,
    /// PDQ quality.
    pub quality: Option<u8>,
    /// vPDQ frames of a video.
    #[schema(value_type = Option<Vec<Object>>)]
    pub vpdq: Option<Vec<vpdq::Feature>>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// The query these hashes make.
    #[serde(skip)]
    #[schema(ignore)]
    pub query: Query,
}

impl Upload {
    fn failed(size: usize, error: &str) -> Upload {
        Upload {
            size: size as u64,
            md5: None,
            sha1: None,
            sha256: None,
            kind: "other".into(),
            format: None,
            width: None,
            height: None,
            pdq: None,
            quality: None,
            vpdq: None,
            error: Some(error.into()),
            query: Query::default(),
        }
    }

    fn of(a: &media::FileAnalysis) -> Upload {
        let query = Query {
            pdq: a.pdq.map(|p| (p.hash, Some(p.quality))),
            dihedral: a.dihedral,
            md5: a.digests.map(|d| d.md5),
            sha1: a.digests.map(|d| d.sha1),
            sha256: a.digests.map(|d| d.sha256),
            vpdq: None,
        };
        Upload {
            size: a.size,
            md5: a.digests.map(|d| media::hex(&d.md5)),
            sha1: a.digests.map(|d| media::hex(&d.sha1)),
            sha256: a.digests.map(|d| media::hex(&d.sha256)),
            kind: a.kind.name().to_string(),
            format: a.format.map(|f| f.name().to_string()),
            width: a.width,
            height: a.height,
            pdq: a.pdq.map(|p| p.hash.to_hex()),
            quality: a.pdq.map(|p| p.quality),
            vpdq: None,
            error: a.error.as_ref().map(|e| e.to_string()),
            query,
        }
    }
}
