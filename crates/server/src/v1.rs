//! tantalum's own API, under `/v1`: hash, match (one, many, or an upload),
//! banks and entries, bulk import and export in every list format, index
//! status. Every hit carries its entry's details, so one call answers.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, Query as QueryParams, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use banks::{BankKind, BankOptions, Format, NewEntry, Query, Signal};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::service_db::Scope;
use crate::state::{Access, ApiError, AppState, Hit, Upload};

type Shared = State<Arc<AppState>>;

/// Runs blocking store or CPU work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}

/// An uploaded file: the raw body, or the first file field of a multipart form.
pub struct UploadBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for UploadBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let too_large = |e: String| {
            if e.contains("length limit") || e.contains("too large") {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "upload over the size limit")
            } else {
                ApiError::bad(e)
            }
        };
        if is_multipart {
            let mut form = Multipart::from_request(req, state)
                .await
                .map_err(|e| ApiError::bad(e.body_text()))?;
            while let Some(field) = form.next_field().await.map_err(|e| too_large(e.body_text()))? {
                if field.file_name().is_some() || matches!(field.name(), Some("file") | Some("photo") | Some("video")) {
                    let bytes = field.bytes().await.map_err(|e| too_large(e.body_text()))?;
                    return Ok(UploadBody(bytes));
                }
            }
            return Err(ApiError::bad("the form has no file field"));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| too_large(e.body_text()))?;
        Ok(UploadBody(bytes))
    }
}

/// Hashes in a match request: any of the signals, for one item.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct HashQuery {
    /// PDQ hash (64 hex).
    pub pdq: Option<String>,
    /// PDQ quality of that hash, when known (then the bank's quality floor applies).
    pub quality: Option<u8>,
    /// MD5 (32 hex).
    pub md5: Option<String>,
    /// SHA-1 (40 hex).
    pub sha1: Option<String>,
    /// SHA-256 (64 hex).
    pub sha256: Option<String>,
    /// A video's vPDQ, as `tantalum hash --json` gives it (an array of
    /// `{frame, quality, pdq, timestamp}`) or as the reference's text
    /// (`frame,quality,pdq_hex,timestamp` lines, in one string). Matched with
    /// HMA's rules; hits carry `query_match_pct` and `target_match_pct`.
    pub vpdq: Option<VpdqHashes>,
}

/// A video's vPDQ in either of its two written forms.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum VpdqHashes {
    /// The reference's text format.
    Text(String),
    /// One object per sampled frame.
    Frames(Vec<VpdqFrame>),
}

/// One sampled frame of a video.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct VpdqFrame {
    /// 0-based number of the decoded frame.
    pub frame: u64,
    /// PDQ quality, 0–100.
    pub quality: u8,
    /// PDQ hash of the frame (64 hex).
    pub pdq: String,
    /// Seconds from the start.
    pub timestamp: f64,
}

impl VpdqHashes {
    fn features(&self) -> Result<Vec<vpdq::Feature>, ApiError> {
        let features = match self {
            VpdqHashes::Text(text) => vpdq::parse_features(text).map_err(|e| ApiError::bad(format!("vpdq: {e}")))?,
            VpdqHashes::Frames(frames) => frames
                .iter()
                .enumerate()
                .map(|(k, f)| {
                    let pdq = pdq::Hash256::from_hex(f.pdq.trim())
                        .map_err(|_| ApiError::bad(format!("vpdq frame {}: pdq: expected 64 hex characters", k + 1)))?;
                    if f.quality > 100 {
                        return Err(ApiError::bad(format!("vpdq frame {}: quality above 100", k + 1)));
                    }
                    Ok(vpdq::Feature {
                        frame: f.frame,
                        quality: f.quality,
                        pdq,
                        timestamp: f.timestamp,
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        if features.is_empty() {
            return Err(ApiError::bad("vpdq: no frames"));
        }
        Ok(features)
    }
}

fn digest<const N: usize>(hex: &Option<String>, what: &str) -> Result<Option<[u8; N]>, ApiError> {
    let Some(hex) = hex else { return Ok(None) };
    let hex = hex.trim();
    if hex.len() != N * 2 {
        return Err(ApiError::bad(format!("{what}: expected {} hex characters", N * 2)));
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| ApiError::bad(format!("{what}: not hexadecimal")))?;
    }
    Ok(Some(out))
}

impl HashQuery {
    /// The matcher's query.
    pub fn to_query(&self) -> Result<Query, ApiError> {
        let pdq = match &self.pdq {
            Some(h) => Some((
                pdq::Hash256::from_hex(h.trim()).map_err(|_| ApiError::bad("pdq: expected 64 hex characters"))?,
                self.quality,
            )),
            None => None,
        };
        Ok(Query {
            pdq,
            dihedral: None,
            md5: digest::<16>(&self.md5, "md5")?,
            sha1: digest::<20>(&self.sha1, "sha1")?,
            sha256: digest::<32>(&self.sha256, "sha256")?,
            vpdq: self.vpdq.as_ref().map(VpdqHashes::features).transpose()?,
        })
    }
}

/// A batch of lookups.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MatchRequest {
    /// The items to look up.
    pub queries: Vec<HashQuery>,
    /// Only these banks (default: all).
    pub banks: Option<Vec<String>>,
    /// Replaces every bank's PDQ distance.
    pub max_distance: Option<u32>,
}

/// The hits of one item.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MatchResult {
    /// Its hits, closest first.
    pub hits: Vec<Hit>,
}

/// Hits for each item, in request order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MatchResponse {
    /// One result per query.
    pub results: Vec<MatchResult>,
}

/// Batches up to this size are matched without leaving the async worker.
const INLINE_QUERIES: usize = 4;

/// Largest batch in one request.
pub const MAX_BATCH: usize = 10_000;

#[utoipa::path(post, path = "/v1/hash", tag = "v1", request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file, raw or as multipart field `file`"), responses((status = 200, body = Upload), (status = 413, description = "over the size limit")), security(("bearer" = ["hash"])))]
/// Hashes an uploaded file: digests, PDQ for images, vPDQ for videos. Nothing is stored.
pub async fn hash(
    State(state): Shared,
    headers: HeaderMap,
    UploadBody(body): UploadBody,
) -> Result<Json<Upload>, ApiError> {
    state.authorize(&headers, Scope::Hash, Access::Read)?;
    let s = state.clone();
    blocking(move || Ok(s.hash_upload(&body, false))).await.map(Json)
}

#[utoipa::path(post, path = "/v1/match", tag = "v1", request_body = MatchRequest, responses((status = 200, body = MatchResponse)), security(("bearer" = ["match"])))]
/// Looks up hashes, many per request; every hit with its entry's details.
pub async fn match_hashes(
    State(state): Shared,
    headers: HeaderMap,
    Json(request): Json<MatchRequest>,
) -> Result<Json<MatchResponse>, ApiError> {
    state.authorize(&headers, Scope::Match, Access::Read)?;
    if request.queries.len() > MAX_BATCH {
        return Err(ApiError::bad(format!("at most {MAX_BATCH} queries per request")));
    }
    let queries = request
        .queries
        .iter()
        .map(HashQuery::to_query)
        .collect::<Result<Vec<_>, _>>()?;
    // A few lookups are answered on the async worker; big batches go to the blocking pool.
    let inline = queries.len() <= INLINE_QUERIES;
    let answer = move |s: &AppState| -> Result<Json<MatchResponse>, ApiError> {
        let results = s
            .match_many(&queries, request.banks.as_deref(), request.max_distance)?
            .into_iter()
            .map(|hits| MatchResult { hits })
            .collect();
        Ok(Json(MatchResponse { results }))
    };
    if inline {
        return answer(&state);
    }
    let s = state.clone();
    blocking(move || answer(&s)).await
}

/// Options of an upload match.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct UploadMatchParams {
    /// Comma-separated banks (default: all).
    pub banks: Option<String>,
    /// Also match rotated and flipped copies.
    #[serde(default)]
    pub dihedral: bool,
    /// Replaces every bank's PDQ distance.
    pub max_distance: Option<u32>,
}

/// An upload's hashes and hits.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadMatch {
    /// What the upload hashed to.
    pub hashes: Upload,
    /// Its hits.
    pub hits: Vec<Hit>,
}

pub(crate) fn bank_list(banks: &Option<String>) -> Option<Vec<String>> {
    banks.as_ref().map(|b| {
        b.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
}

#[utoipa::path(post, path = "/v1/match/upload", tag = "v1", params(UploadMatchParams), request_body(content = Vec<u8>, content_type = "application/octet-stream"), responses((status = 200, body = UploadMatch), (status = 413)), security(("bearer" = ["match"])))]
/// Hashes an upload and looks it up in one call.
pub async fn match_upload(
    State(state): Shared,
    headers: HeaderMap,
    QueryParams(params): QueryParams<UploadMatchParams>,
    UploadBody(body): UploadBody,
) -> Result<Json<UploadMatch>, ApiError> {
    state.authorize(&headers, Scope::Match, Access::Read)?;
    let s = state.clone();
    blocking(move || {
        let hashes = s.hash_upload(&body, params.dihedral);
        let banks = bank_list(&params.banks);
        let hits = s.match_query(&hashes.query, banks.as_deref(), params.max_distance)?;
        Ok(Json(UploadMatch { hashes, hits }))
    })
    .await
}

/// A new bank.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct BankCreate {
    /// Its name.
    pub name: String,
    /// flag (default) or known (a known-file filter such as NSRL).
    pub kind: Option<String>,
    /// A hit here removes the query's other hits (false positives).
    #[serde(default)]
    pub suppress: bool,
    /// Largest PDQ distance that matches (default 31).
    pub max_distance: Option<u32>,
    /// Lowest PDQ quality matched (default 50).
    pub quality_floor: Option<u8>,
}

fn bank_json(info: &banks::BankInfo) -> serde_json::Value {
    serde_json::to_value(info).unwrap_or_default()
}

#[utoipa::path(get, path = "/v1/banks", tag = "v1", responses((status = 200, body = Vec<Object>)), security(("bearer" = ["curate"])))]
/// Every bank with its settings and entry counts.
pub async fn list_banks(State(state): Shared, headers: HeaderMap) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    state.authorize(&headers, Scope::Curate, Access::Read)?;
    let s = state.clone();
    blocking(move || s.with_reader(|store| Ok(store.banks()?.iter().map(bank_json).collect())))
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/v1/banks", tag = "v1", request_body = BankCreate, responses((status = 201, body = Object), (status = 409, description = "exists")), security(("bearer" = ["curate"])))]
/// Creates a bank.
pub async fn create_bank(
    State(state): Shared,
    headers: HeaderMap,
    Json(req): Json<BankCreate>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    let kind = match req.kind.as_deref() {
        None | Some("flag") => BankKind::Flag,
        Some("known") => BankKind::Known,
        Some(other) => return Err(ApiError::bad(format!("kind is flag or known, not {other:?}"))),
    };
    let defaults = BankOptions::default();
    let options = BankOptions {
        kind,
        suppress: req.suppress,
        max_distance: req.max_distance.unwrap_or(defaults.max_distance),
        quality_floor: req.quality_floor.unwrap_or(defaults.quality_floor),
    };
    let s = state.clone();
    let name = req.name.clone();
    let info = blocking(move || {
        s.with_writer(|store| {
            store.create_bank(&name, &options)?;
            store.bank(&name)?.ok_or_else(|| ApiError::internal("bank vanished"))
        })
    })
    .await?;
    state.audit(token, "bank.create", &req.name, bank_json(&info))?;
    Ok((StatusCode::CREATED, Json(bank_json(&info))))
}

#[utoipa::path(get, path = "/v1/banks/{name}", tag = "v1", params(("name" = String, Path)), responses((status = 200, body = Object), (status = 404)), security(("bearer" = ["curate"])))]
/// One bank.
pub async fn get_bank(
    State(state): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.authorize(&headers, Scope::Curate, Access::Read)?;
    let s = state.clone();
    blocking(move || {
        s.with_reader(|store| {
            let info = store
                .bank(&name)?
                .ok_or_else(|| banks::BankError::NoSuchBank(name.clone()))?;
            Ok(Json(bank_json(&info)))
        })
    })
    .await
}

#[utoipa::path(delete, path = "/v1/banks/{name}", tag = "v1", params(("name" = String, Path)), responses((status = 200, body = Object), (status = 404)), security(("bearer" = ["curate"])))]
/// Deletes a bank and its entries.
pub async fn delete_bank(
    State(state): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    let s = state.clone();
    let bank = name.clone();
    let removed = blocking(move || s.with_writer(|store| Ok(store.remove_bank(&bank)?))).await?;
    state.audit(token, "bank.delete", &name, serde_json::json!({"entries": removed}))?;
    Ok(Json(serde_json::json!({"bank": name, "entries_removed": removed})))
}

/// An entry to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EntryIn {
    /// pdq, md5, sha1, sha256 (or another signal name, kept as given).
    pub signal: String,
    /// The hash.
    pub hash: String,
    /// Categories (`scheme:value`).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Its id in the source list.
    pub external_id: Option<String>,
    /// Where it came from.
    pub source: Option<String>,
    /// Anything else to keep with it.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// Entries to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EntriesIn {
    /// The entries.
    pub entries: Vec<EntryIn>,
}

/// What adding entries did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntriesAdded {
    /// New entries.
    pub added: u64,
    /// Already in the bank.
    pub duplicates: u64,
    /// The entries' ids, in request order.
    pub ids: Vec<u32>,
}

/// Adds entries to a bank: all or none.
pub(crate) fn add_entries(state: &AppState, bank: &str, entries: Vec<EntryIn>) -> Result<EntriesAdded, ApiError> {
    let mut normalised = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let signal = Signal::parse(&e.signal);
        let entry = NewEntry::of_record(
            &signal,
            &e.hash,
            &e.categories,
            e.external_id.as_deref(),
            e.source.as_deref(),
            &e.metadata,
        )
        .map_err(|m| ApiError::bad(format!("entry {i}: {m}")))?;
        normalised.push(entry);
    }
    state.with_writer(|store| {
        let keys: Vec<(String, String)> = normalised.iter().map(|e| (e.signal.clone(), e.hash.clone())).collect();
        let report = store.import(bank, normalised.iter().cloned().map(Ok))?;
        let mut ids = Vec::with_capacity(keys.len());
        for (signal, hash) in keys {
            ids.extend(store.entry_id(bank, &signal, &hash)?);
        }
        Ok(EntriesAdded {
            added: report.added,
            duplicates: report.duplicates,
            ids,
        })
    })
}

#[utoipa::path(post, path = "/v1/banks/{name}/entries", tag = "v1", params(("name" = String, Path)), request_body = EntriesIn, responses((status = 200, body = EntriesAdded)), security(("bearer" = ["curate"])))]
/// Adds entries to a bank (all or none); they match as soon as this returns.
pub async fn post_entries(
    State(state): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(req): Json<EntriesIn>,
) -> Result<Json<EntriesAdded>, ApiError> {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    let s = state.clone();
    let bank = name.clone();
    let added = blocking(move || add_entries(&s, &bank, req.entries)).await?;
    state.audit(
        token,
        "entries.add",
        &name,
        serde_json::json!({"added": added.added, "ids": added.ids}),
    )?;
    Ok(Json(added))
}

#[utoipa::path(get, path = "/v1/entries/{id}", tag = "v1", params(("id" = u32, Path)), responses((status = 200, body = Object), (status = 404)), security(("bearer" = ["curate"])))]
/// One entry with everything its list said.
pub async fn get_entry(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<u32>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.authorize(&headers, Scope::Curate, Access::Read)?;
    let s = state.clone();
    blocking(move || {
        s.with_reader(|store| {
            let entry = store
                .entry(id)?
                .ok_or_else(|| ApiError::not_found(format!("no entry {id}")))?;
            Ok(Json(serde_json::to_value(entry).unwrap_or_default()))
        })
    })
    .await
}

#[utoipa::path(delete, path = "/v1/entries/{id}", tag = "v1", params(("id" = u32, Path)), responses((status = 204), (status = 404)), security(("bearer" = ["curate"])))]
/// Withdraws an entry: it stops matching at once.
pub async fn delete_entry(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<u32>,
) -> Result<StatusCode, ApiError> {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    let s = state.clone();
    let removed = blocking(move || s.with_writer(|store| Ok(store.remove_entry(id)?))).await?;
    if !removed {
        return Err(ApiError::not_found(format!("no live entry {id}")));
    }
    state.audit(token, "entry.delete", &id.to_string(), serde_json::json!({}))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Options of a bulk import or export.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// plain, hashdeep, csv, te, vics, ncmec or vpdq (import default: detected).
    pub format: Option<String>,
    /// A label added to every imported entry (`scheme:value`).
    pub category: Option<String>,
    /// Recorded as each entry's source.
    pub source: Option<String>,
}

/// Reads a request body arriving in chunks as a blocking `Read`.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

#[utoipa::path(post, path = "/v1/banks/{name}/import", tag = "v1", params(("name" = String, Path), ListParams), request_body(content = String, content_type = "text/plain", description = "a hash list in any supported format, streamed"), responses((status = 200, body = Object)), security(("bearer" = ["curate"])))]
/// Imports a hash list, streamed: applied whole or not at all, bad lines listed.
pub async fn import(
    State(state): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    QueryParams(params): QueryParams<ListParams>,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    let format = match params.format.as_deref() {
        Some(f) => Some(Format::from_name(f).ok_or_else(|| ApiError::bad(format!("unknown format {f:?}")))?),
        None => None,
    };
    if format == Some(Format::Nsrl) {
        return Err(ApiError::bad(
            "an NSRL database is imported from a file with `tantalum bank import`",
        ));
    }
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let limit = state.options.max_import;
    let pump = tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        let mut total = 0usize;
        while let Some(chunk) = stream.next().await {
            let item = chunk.map_err(|e| e.to_string()).and_then(|b| {
                total += b.len();
                if total > limit {
                    Err(format!("import over the limit of {limit} bytes"))
                } else {
                    Ok(b)
                }
            });
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    let s = state.clone();
    let bank = name.clone();
    let report = blocking(move || {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::with_capacity(
            1 << 20,
            ChunkReader {
                rx,
                current: Bytes::new(),
            },
        );
        let head = reader.fill_buf().map_err(|e| ApiError::bad(e.to_string()))?.to_vec();
        let format = format.unwrap_or_else(|| Format::detect(&head));
        let options = banks::ReadOptions {
            categories: params.category.into_iter().collect(),
            source: params.source,
            ..Default::default()
        };
        let entries = banks::formats::read(format, Box::new(reader), options);
        s.with_writer_once(|store| Ok(store.import(&bank, entries)?))
    })
    .await?;
    pump.abort();
    let value = serde_json::to_value(&report).unwrap_or_default();
    if report.applied {
        state.audit(
            token,
            "bank.import",
            &name,
            serde_json::json!({"added": report.added, "withdrawn": report.withdrawn}),
        )?;
        Ok(Json(value))
    } else {
        Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, value.to_string()))
    }
}

/// Sends what a blocking writer writes as response body chunks.
struct ChunkWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 1 << 16 {
            self.flush()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

#[utoipa::path(get, path = "/v1/banks/{name}/export", tag = "v1", params(("name" = String, Path), ListParams), responses((status = 200, content_type = "text/plain", body = String)), security(("bearer" = ["curate"])))]
/// Exports a bank in a list format, streamed.
pub async fn export(
    State(state): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    state.authorize(&headers, Scope::Curate, Access::Read)?;
    let format =
        Format::from_name(params.format.as_deref().unwrap_or("csv")).ok_or_else(|| ApiError::bad("unknown format"))?;
    let exists = {
        let s = state.clone();
        let bank = name.clone();
        blocking(move || s.with_reader(|store| Ok(store.bank_settings(&bank)?.is_some()))).await?
    };
    if !exists {
        return Err(ApiError::not_found(format!("no bank named {name:?}")));
    }
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let s = state.clone();
    tokio::task::spawn_blocking(move || {
        let error_tx = tx.clone();
        let result = s.with_reader_once(|store| {
            let sink = ChunkWriter { tx, buf: Vec::new() };
            let mut writer = banks::formats::writer(format, Box::new(sink));
            let io = |e: std::io::Error| banks::BankError::Io {
                path: "response".into(),
                source: e,
            };
            store.for_each_entry(std::slice::from_ref(&name), |e| writer.write(&e.entry).map_err(io))?;
            writer.finish().map_err(|e| ApiError::internal(io(e)))?;
            Ok(())
        });
        if let Err(e) = result {
            let _ = error_tx.blocking_send(Err(std::io::Error::other(e.message)));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        Body::from_stream(stream),
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/index/status", tag = "v1", responses((status = 200, body = Object)))]
/// The live index: entries, change-feed position, seconds since it caught up.
pub async fn index_status(State(state): Shared, headers: HeaderMap) -> Result<Json<serde_json::Value>, ApiError> {
    state.authorize(&headers, Scope::Match, Access::Read)?;
    Ok(Json(state.index_status()))
}

/// The `/v1` routes.
pub fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let import_limit = axum::extract::DefaultBodyLimit::max(state.options.max_import);
    Router::new()
        .route("/v1/hash", post(hash))
        .route("/v1/match", post(match_hashes))
        .route("/v1/match/upload", post(match_upload))
        .route("/v1/banks", get(list_banks).post(create_bank))
        .route("/v1/banks/{name}", get(get_bank).delete(delete_bank))
        .route("/v1/banks/{name}/entries", post(post_entries))
        .route("/v1/banks/{name}/import", post(import).layer(import_limit))
        .route("/v1/banks/{name}/export", get(export))
        .route("/v1/entries/{id}", get(get_entry).delete(delete_entry))
        .route("/v1/index/status", get(index_status))
}
