//! HMA's routes with HMA's request and response shapes (facebook/ThreatExchange
//! `hasher-matcher-actioner`, OpenMediaMatch), so an existing integration can
//! point here unchanged: `/m` matching, `/h` hashing, `/c` curation.
//!
//! Where HMA's behaviour is odd but observable (distances as strings in
//! lookups and integers in compare, 200 for content adds, DELETE of a bank
//! always 200, `{"message": ...}` errors and 422 arrays for missing
//! parameters, Python's `random.Random(seed)` coinflip), it is reproduced.
//! Deliberate differences: a change is matchable at once (HMA waits for its
//! indexer); URL fetching (`url=`) is off unless the operator allows hosts
//! (`--fetch-allow`), and then refuses what [`crate::fetch`] describes
//! (private addresses, credentials, other ports, oversized bodies; a host off
//! the list or a private address answers 403 where HMA says 400); `video_md5`
//! compares answer `[bool, {}]` where HMA fails with 500.
//!
//! HMA's "content" (one id, several signals, a note, `disable_until_ts`,
//! metadata) maps onto bank entries: the content id is the id of its first
//! entry, and the service database keeps the note, the enablement and which
//! entries belong together. Entries imported by other means are content of
//! their own, with their entry id.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query as QueryParams, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use banks::Query;
use serde_json::{json, Value};
use sha2::{Digest, Sha512};

use crate::fetch::{self, FetchError};
use crate::service_db::{ContentRecord, Scope};
use crate::state::{Access, ApiError, AppState};
use crate::v1::{add_entries, blocking, EntryIn};

type Shared = State<Arc<AppState>>;

/// An HMA error: a status and `{"message": ...}` (or a 422 array).
pub struct HmaError(StatusCode, Value);

impl HmaError {
    fn msg(status: StatusCode, message: impl Into<String>) -> HmaError {
        HmaError(status, json!({ "message": message.into() }))
    }
    fn bad(message: impl Into<String>) -> HmaError {
        HmaError::msg(StatusCode::BAD_REQUEST, message)
    }
    /// pydantic's shape for a missing required field.
    fn missing(field: &str, input: Value) -> HmaError {
        HmaError(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!([{"type": "missing", "loc": [field], "msg": "Field required", "input": input}]),
        )
    }
}

impl From<ApiError> for HmaError {
    fn from(e: ApiError) -> Self {
        HmaError::msg(e.status, e.message)
    }
}

impl From<FetchError> for HmaError {
    fn from(e: FetchError) -> Self {
        HmaError::msg(e.status, e.message)
    }
}

impl IntoResponse for HmaError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

type HmaResult = Result<Response, HmaError>;

fn ok(value: Value) -> HmaResult {
    Ok(axum::Json(value).into_response())
}

/// HMA's signal types and ours.
fn our_signal(signal_type: &str) -> Result<&'static str, HmaError> {
    match signal_type {
        "pdq" => Ok("pdq"),
        "video_md5" => Ok("md5"),
        other => Err(HmaError::bad(format!("No such SignalType '{other}'"))),
    }
}

fn hma_signal(ours: &str) -> Option<&'static str> {
    match ours {
        "pdq" => Some("pdq"),
        "md5" => Some("video_md5"),
        _ => None,
    }
}

/// HMA's validation: PDQ exactly 64 lowercase hex; video MD5 trimmed and lowercased.
fn validate(signal_type: &str, value: &str) -> Result<String, String> {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match signal_type {
        "pdq" if hex(value, 64) => Ok(value.to_string()),
        "pdq" => Err("invalid PDQ hash".into()),
        "video_md5" => {
            let v = value.trim().to_ascii_lowercase();
            if hex(&v, 32) {
                Ok(v)
            } else {
                Err("invalid md5 hash".into())
            }
        }
        other => Err(format!("No such SignalType '{other}'")),
    }
}

fn query_for(signal_type: &str, value: &str) -> Query {
    let mut q = Query::default();
    match signal_type {
        "pdq" => q.pdq = pdq::Hash256::from_hex(value).ok().map(|h| (h, None)),
        _ => {
            let mut md5 = [0u8; 16];
            for (i, b) in md5.iter_mut().enumerate() {
                *b = u8::from_str_radix(&value[2 * i..2 * i + 2], 16).unwrap_or(0);
            }
            q.md5 = Some(md5);
        }
    }
    q
}

fn bank_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn split_banks(banks: &Option<String>) -> Option<Vec<String>> {
    match banks.as_deref() {
        None | Some("") => None,
        Some(b) => Some(b.split(',').map(str::to_string).collect()),
    }
}

// ---------------------------------------------------------------- coinflip

/// Python's `random.Random(seed_str).random()`: MT19937 seeded from the
/// string's bytes and their SHA-512, as CPython does for str seeds, so a
/// seeded coinflip includes and excludes the same banks HMA does.
pub fn python_random(seed: &str) -> f64 {
    let mut data = seed.as_bytes().to_vec();
    data.extend_from_slice(&Sha512::digest(seed.as_bytes()));
    // The big-endian integer as 32-bit words, least significant first.
    let mut key = Vec::new();
    let mut end = data.len();
    while end > 0 {
        let start = end.saturating_sub(4);
        let mut word = 0u32;
        for &b in &data[start..end] {
            word = (word << 8) | u32::from(b);
        }
        key.push(word);
        end = start;
    }
    while key.len() > 1 && key.last() == Some(&0) {
        key.pop();
    }
    let mut mt = Mt::new(&key);
    let a = mt.next() >> 5;
    let b = mt.next() >> 6;
    (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
}

struct Mt {
    state: [u32; 624],
    index: usize,
}

impl Mt {
    fn new(key: &[u32]) -> Mt {
        let mut mt = [0u32; 624];
        mt[0] = 19_650_218;
        for i in 1..624 {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..624.max(key.len()) {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= 624 {
                mt[0] = mt[623];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..623 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= 624 {
                mt[0] = mt[623];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        Mt { state: mt, index: 624 }
    }

    fn next(&mut self) -> u32 {
        if self.index >= 624 {
            for k in 0..624 {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % 624] & 0x7fff_ffff);
                let mut v = self.state[(k + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    v ^= 0x9908_b0df;
                }
                self.state[k] = v;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }
}

fn coinflip(seed: Option<&str>, bypass: bool) -> f64 {
    if bypass {
        return 0.0;
    }
    match seed {
        Some(s) => python_random(s),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            python_random(&format!("{nanos}:{:?}", std::thread::current().id()))
        }
    }
}

// ------------------------------------------------------ content bookkeeping

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn bank_ratio(state: &AppState, bank: &str) -> Result<f64, ApiError> {
    state.with_service(|db| Ok(db.hma_bank_ratio(bank).map_err(ApiError::internal)?.unwrap_or(1.0)))
}

fn set_bank_ratio(state: &AppState, bank: &str, ratio: f64) -> Result<(), ApiError> {
    state.with_service(|db| db.set_hma_bank_ratio(bank, ratio).map_err(ApiError::internal))
}

fn bank_json(name: &str, ratio: f64) -> Value {
    json!({"matching_enabled_ratio": ratio, "name": name})
}

/// The content an entry belongs to, and whether that content is enabled now.
fn content_of(state: &AppState, entry: u32) -> Result<(u32, bool), ApiError> {
    state.with_service(|db| {
        let (content, disable) = db.content_of_entry(entry).map_err(ApiError::internal)?;
        let content = content.unwrap_or(entry);
        let disable = disable.unwrap_or(1);
        let enabled = match disable {
            0 => false,
            1 => true,
            ts => ts <= now(),
        };
        Ok((content, enabled))
    })
}

fn distance_text(h: &banks::MatchHit) -> String {
    if h.signal.name() == "pdq" {
        h.distance.to_string()
    } else {
        "-".into()
    }
}

/// Looks one signal up: `(bank, content id, distance)` for each live hit of that signal type.
fn lookup_signal(
    state: &AppState,
    signal_type: &str,
    value: &str,
    banks: Option<&[String]>,
    honour_enablement: Option<f64>,
) -> Result<Vec<(String, u32, String)>, ApiError> {
    let ours = our_signal(signal_type).map_err(|_| ApiError::bad("bad signal type"))?;
    // HMA reports content ids, not entry details: no entry is read.
    let hits = state.match_bare(&query_for(signal_type, value), banks, None)?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut ratios: HashMap<String, f64> = HashMap::new();
    for h in hits.iter().filter(|h| h.signal.name() == ours) {
        let (content, enabled) = content_of(state, h.entry_id)?;
        if let Some(flip) = honour_enablement {
            if !enabled {
                continue;
            }
            let ratio = match ratios.get(&h.bank) {
                Some(r) => *r,
                None => {
                    let r = bank_ratio(state, &h.bank)?;
                    ratios.insert(h.bank.clone(), r);
                    r
                }
            };
            if ratio < flip {
                continue;
            }
        }
        if seen.insert((h.bank.clone(), content)) {
            out.push((h.bank.clone(), content, distance_text(h)));
        }
    }
    Ok(out)
}

fn by_bank(rows: Vec<(String, u32, String)>) -> Value {
    let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (bank, content, distance) in rows {
        map.entry(bank)
            .or_default()
            .push(json!({"bank_content_id": content, "distance": distance}));
    }
    json!(map)
}

// --------------------------------------------------------------- matching

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct LookupParams {
    signal: Option<String>,
    signal_type: Option<String>,
    banks: Option<String>,
    include_distance: Option<String>,
    /// GET /m/lookup: fetch this URL, hash it and look it up (only hosts the server allows with `--fetch-allow`).
    url: Option<String>,
    /// With `url`: `photo` or `video`; taken from the response's Content-Type when absent.
    content_type: Option<String>,
    seed: Option<String>,
    bypass_coinflip: Option<String>,
    types: Option<String>,
}

fn pydantic_bool(v: &Option<String>) -> Result<bool, HmaError> {
    match v.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(false),
        Some("true" | "1" | "yes" | "on" | "t" | "y") => Ok(true),
        Some("false" | "0" | "no" | "off" | "f" | "n") => Ok(false),
        Some(other) => Err(HmaError(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!([{"type": "bool_parsing", "loc": ["include_distance"], "msg": "Input should be a valid boolean, unable to interpret input", "input": other}]),
        )),
    }
}

fn url_disabled() -> HmaError {
    HmaError::msg(
        StatusCode::FORBIDDEN,
        "fetching media by url is disabled on this server; upload the file instead",
    )
}

/// Media fetched for `url=`, as an upload would give it: its content type
/// (`photo` or `video`: the `content_type` parameter, else the response's
/// Content-Type) and its bytes, at most the upload limit. The bytes then go
/// through exactly what an uploaded file goes through.
async fn fetch_media(state: &AppState, url: &str, content_type: Option<&str>) -> Result<(String, Bytes), HmaError> {
    let policy = &state.options.fetch;
    if !policy.enabled() {
        return Err(url_disabled());
    }
    if let Some(ct) = content_type {
        if ct != "photo" && ct != "video" {
            return Err(HmaError::bad(format!("no such content_type: '{ct}'")));
        }
    }
    let given = content_type.map(str::to_string);
    let fetched = fetch::fetch(policy, url, state.options.max_body, move |headers| {
        if let Some(ct) = given {
            return Ok(ct);
        }
        let mime = headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if essence.starts_with("image/") {
            Ok("photo".to_string())
        } else if essence.starts_with("video/") {
            Ok("video".to_string())
        } else {
            Err(FetchError::new(
                StatusCode::BAD_REQUEST,
                format!("unsupported url ContentType: '{mime}', if you know the expected type, provide it with the content_type query param"),
            ))
        }
    })
    .await?;
    Ok((fetched.checked, fetched.body))
}

#[utoipa::path(get, path = "/m/raw_lookup", tag = "hma", params(LookupParams), responses((status = 200, body = crate::hma_schema::RawLookupResponse, description = "Looks a hash up in the index, ignoring bank ratios and disabled content: `{'matches': [ids]}` or, with include_distance, `[{bank_content_id, distance}]` (distance as a string).")), security(("bearer" = ["match"])))]
pub(crate) async fn raw_lookup(
    State(state): Shared,
    headers: HeaderMap,
    QueryParams(p): QueryParams<LookupParams>,
) -> HmaResult {
    state.authorize(&headers, Scope::Match, Access::Read)?;
    let Some(signal) = p.signal.clone() else {
        return Err(HmaError::missing("signal", json!({"signal_type": p.signal_type})));
    };
    let Some(signal_type) = p.signal_type.clone() else {
        return Err(HmaError::missing("signal_type", json!({"signal": signal})));
    };
    let include_distance = pydantic_bool(&p.include_distance)?;
    our_signal(&signal_type)?;
    let value = validate(&signal_type, &signal).map_err(|e| HmaError::bad(format!("invalid signal: {e}")))?;
    let banks = split_banks(&p.banks);
    // One lookup is a fraction of a millisecond of CPU: answered on the async worker, no thread hop.
    let rows = lookup_signal(&state, &signal_type, &value, banks.as_deref(), None)?;
    let matches: Vec<Value> = rows
        .into_iter()
        .map(|(_, content, distance)| {
            if include_distance {
                json!({"bank_content_id": content, "distance": distance})
            } else {
                json!(content)
            }
        })
        .collect();
    ok(json!({ "matches": matches }))
}

#[utoipa::path(get, path = "/m/lookup", tag = "hma", params(LookupParams), responses((status = 200, body = crate::hma_schema::LookupResponse, description = "Looks a hash up with bank ratios (seeded coinflip) and content enablement: `{bank: [{bank_content_id, distance}]}`. With `url` (instead of signal and signal_type), fetches, hashes and looks up the media: `{signal_type: {bank: [...]}}`, or one type's `{bank: [...]}` when signal_type is given. URL fetching is off (403) unless the server allows hosts with `--fetch-allow`; its refusals are those of GET /h/hash.")), security(("bearer" = ["match"])))]
pub(crate) async fn lookup_get(
    State(state): Shared,
    headers: HeaderMap,
    QueryParams(p): QueryParams<LookupParams>,
) -> HmaResult {
    state.authorize(&headers, Scope::Match, Access::Read)?;
    if let Some(url) = &p.url {
        // HMA's GET validates bypass_coinflip but never uses it.
        pydantic_bool(&p.bypass_coinflip)?;
        let (content_type, bytes) = fetch_media(&state, url, p.content_type.as_deref()).await?;
        let s = state.clone();
        let (types, seed, banks) = (p.types.clone(), p.seed.clone(), split_banks(&p.banks));
        let result = blocking_hma(move || lookup_upload(&s, &content_type, &bytes, &types, seed, false, banks)).await?;
        // With a signal_type, HMA answers that type's matches alone.
        return match &p.signal_type {
            Some(st) => ok(result.get(st).cloned().unwrap_or_else(|| json!({}))),
            None => ok(result),
        };
    }
    let (Some(signal), Some(signal_type)) = (p.signal.clone(), p.signal_type.clone()) else {
        return Err(HmaError::bad("Either url or both signal and signal_type are required"));
    };
    our_signal(&signal_type)?;
    let value = validate(&signal_type, &signal).map_err(|e| HmaError::bad(format!("invalid signal: {e}")))?;
    // HMA's GET validates bypass_coinflip but never uses it.
    pydantic_bool(&p.bypass_coinflip)?;
    let flip = coinflip(p.seed.as_deref(), false);
    let banks = split_banks(&p.banks);
    let rows = lookup_signal(&state, &signal_type, &value, banks.as_deref(), Some(flip))?;
    ok(by_bank(rows))
}

/// A multipart upload as HMA takes it: one file whose field name is its
/// content type (photo or video), plus plain fields.
struct HmaForm {
    file: Option<(String, Bytes)>,
    fields: HashMap<String, String>,
}

async fn read_form(req: Request, state: &Arc<AppState>) -> Result<HmaForm, HmaError> {
    let mut form = Multipart::from_request(req, state)
        .await
        .map_err(|_| HmaError::bad("Missing multipart/form-data file upload"))?;
    let mut out = HmaForm {
        file: None,
        fields: HashMap::new(),
    };
    while let Some(field) = form.next_field().await.map_err(|e| too_large_or_bad(&e.body_text()))? {
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_some() {
            if out.file.is_some() {
                return Err(HmaError::bad("Only one file allowed per request"));
            }
            let bytes = field.bytes().await.map_err(|e| too_large_or_bad(&e.body_text()))?;
            out.file = Some((name, bytes));
        } else {
            let text = field.text().await.map_err(|e| too_large_or_bad(&e.body_text()))?;
            out.fields.insert(name, text);
        }
    }
    Ok(out)
}

/// The one file of an upload form, with its field name (the content type).
async fn uploaded_file(req: Request, state: &Arc<AppState>) -> Result<(String, Bytes), HmaError> {
    read_form(req, state)
        .await?
        .file
        .ok_or_else(|| HmaError::bad("Missing multipart/form-data file upload"))
}

/// Runs blocking work that answers with an HMA error of its own.
async fn blocking_hma<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HmaError> + Send + 'static,
) -> Result<T, HmaError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HmaError::msg(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// 404 in HMA's words unless the bank exists.
async fn require_bank(state: &Arc<AppState>, name: &str) -> Result<(), HmaError> {
    let s = state.clone();
    let bank = name.to_string();
    if blocking(move || bank_exists(&s, &bank)).await? {
        Ok(())
    } else {
        Err(HmaError::msg(StatusCode::NOT_FOUND, format!("bank '{name}' not found")))
    }
}

fn too_large_or_bad(text: &str) -> HmaError {
    if text.contains("length limit") || text.contains("too large") {
        HmaError::msg(StatusCode::PAYLOAD_TOO_LARGE, "Content too large")
    } else {
        HmaError::bad(text.to_string())
    }
}

/// Hashes an upload as HMA does: a photo gives `pdq` (empty when its
/// quality is under 50), a video gives `video_md5` of its bytes.
fn hash_upload(
    state: &AppState,
    content_type: &str,
    bytes: &[u8],
    types: &Option<String>,
) -> Result<Vec<(String, String)>, HmaError> {
    let wanted: Option<Vec<String>> = types.as_ref().map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    });
    if wanted.as_ref().is_some_and(|w| w.is_empty()) {
        return Err(HmaError::bad("empty signal type selection"));
    }
    let applicable: &[&str] = match content_type {
        "photo" => &["pdq"],
        "video" => &["video_md5"],
        other => return Err(HmaError::bad(format!("no such content_type: '{other}'"))),
    };
    if let Some(w) = &wanted {
        for t in w {
            if !applicable.contains(&t.as_str()) {
                return Err(HmaError::bad(format!("signal type '{t}' doesn't exist or is disabled")));
            }
        }
    }
    let mut out = Vec::new();
    if content_type == "photo" {
        let upload = state.hash_upload(bytes, false);
        if upload.kind != "image" || upload.error.is_some() {
            return Err(HmaError::msg(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "could not hash the photo: {}",
                    upload.error.unwrap_or_else(|| "not an image".into())
                ),
            ));
        }
        let pdq = match (upload.pdq, upload.quality) {
            (Some(h), Some(q)) if q >= pdq::DEFAULT_QUALITY_THRESHOLD => h,
            _ => String::new(),
        };
        out.push(("pdq".to_string(), pdq));
    } else {
        let mut d = media::Digester::new();
        d.update(bytes);
        out.push(("video_md5".to_string(), media::hex(&d.finish().md5)));
    }
    Ok(out)
}

#[utoipa::path(post, path = "/m/lookup", tag = "hma", params(LookupParams), request_body(content = crate::hma_schema::UploadForm, content_type = "multipart/form-data"), responses((status = 200, description = "Hashes an upload (multipart field `photo` or `video`) and looks each signal up: `{signal_type: {bank: [...]}}`.")), security(("bearer" = ["match"])))]
pub(crate) async fn lookup_post(
    State(state): Shared,
    headers: HeaderMap,
    QueryParams(p): QueryParams<LookupParams>,
    req: Request,
) -> HmaResult {
    state.authorize(&headers, Scope::Match, Access::Read)?;
    let (content_type, bytes) = uploaded_file(req, &state).await?;
    let bypass = p.bypass_coinflip.as_deref() == Some("true");
    let s = state.clone();
    let (types, seed, banks) = (p.types.clone(), p.seed.clone(), split_banks(&p.banks));
    let result = blocking_hma(move || lookup_upload(&s, &content_type, &bytes, &types, seed, bypass, banks)).await?;
    ok(result)
}

/// Hashes an upload (or fetched media) and looks each signal up: `{signal_type: {bank: [...]}}`.
fn lookup_upload(
    state: &AppState,
    content_type: &str,
    bytes: &[u8],
    types: &Option<String>,
    seed: Option<String>,
    bypass: bool,
    banks: Option<Vec<String>>,
) -> Result<Value, HmaError> {
    let signals = hash_upload(state, content_type, bytes, types)?;
    let mut out = serde_json::Map::new();
    for (signal_type, value) in signals {
        let value = validate(&signal_type, &value).map_err(|e| HmaError::bad(format!("invalid signal: {e}")))?;
        let flip = coinflip(seed.as_deref(), bypass);
        let rows = lookup_signal(state, &signal_type, &value, banks.as_deref(), Some(flip))?;
        out.insert(signal_type, by_bank(rows));
    }
    Ok(Value::Object(out))
}

fn require_json(headers: &HeaderMap) -> Result<(), HmaError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(HmaError::msg(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
        ))
    }
}

fn parse_json(body: &Bytes) -> Result<Value, HmaError> {
    serde_json::from_slice(body)
        .map_err(|_| HmaError::bad("The browser (or proxy) sent a request that this server could not understand."))
}

#[utoipa::path(post, path = "/m/compare", tag = "hma", request_body(content = crate::hma_schema::CompareRequest, content_type = "application/json"), responses((status = 200, body = crate::hma_schema::CompareResponse, description = "Compares pairs of hashes: `{signal_type: [match, {'distance': n}]}`.")), security(("bearer" = ["match"])))]
pub(crate) async fn compare(State(state): Shared, headers: HeaderMap, body: Bytes) -> HmaResult {
    state.authorize(&headers, Scope::Match, Access::Read)?;
    require_json(&headers)?;
    let Value::Object(request) = parse_json(&body)? else {
        return Err(HmaError::bad("Request input was not a dict"));
    };
    let mut out = serde_json::Map::new();
    for (signal_type, pair) in request {
        let Value::Array(pair) = pair else {
            return Err(HmaError::bad(format!(
                "Comparison hashes for {signal_type} was not a list"
            )));
        };
        if pair.len() != 2 {
            return Err(HmaError::bad("Comparison hash list length must be exactly 2"));
        }
        our_signal(&signal_type)?;
        let mut values = Vec::new();
        for v in &pair {
            let text = v.as_str().unwrap_or_default();
            values.push(
                validate(&signal_type, text).map_err(|e| HmaError::bad(format!("Invalid {signal_type} hash: {e}")))?,
            );
        }
        let result = if signal_type == "pdq" {
            let a = pdq::Hash256::from_hex(&values[0]).map_err(|_| HmaError::bad("Invalid pdq hash"))?;
            let b = pdq::Hash256::from_hex(&values[1]).map_err(|_| HmaError::bad("Invalid pdq hash"))?;
            let d = a.distance(&b);
            json!([d <= pdq::DEFAULT_MATCH_DISTANCE, {"distance": d}])
        } else {
            json!([values[0] == values[1], {}])
        };
        out.insert(signal_type, result);
    }
    ok(Value::Object(out))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct StatusParams {
    signal_type: Option<String>,
}

#[utoipa::path(get, path = "/m/index/status", tag = "hma", params(StatusParams), responses((status = 200, body = crate::hma_schema::IndexStatusResponse, description = "Index state per signal type: `{built_to, present, size}`.")), security(("bearer" = ["match"])))]
pub(crate) async fn index_status(
    State(state): Shared,
    headers: HeaderMap,
    QueryParams(p): QueryParams<StatusParams>,
) -> HmaResult {
    state.authorize(&headers, Scope::Match, Access::Read)?;
    if let Some(t) = &p.signal_type {
        if our_signal(t).is_err() {
            return Err(HmaError::bad(format!("No such signal type '{t}'")));
        }
    }
    let s = state.clone();
    let counts = blocking(move || {
        s.with_reader(|store| {
            let mut counts: HashMap<String, u64> = HashMap::new();
            for bank in store.banks()? {
                for (signal, n) in bank.counts {
                    *counts.entry(signal).or_default() += n;
                }
            }
            Ok(counts)
        })
    })
    .await?;
    let built_to = now() - state.index_age().as_secs() as i64;
    let mut out = serde_json::Map::new();
    for (hma, ours) in [("pdq", "pdq"), ("video_md5", "md5")] {
        if p.signal_type.as_deref().is_some_and(|t| t != hma) {
            continue;
        }
        let size = counts.get(ours).copied().unwrap_or(0);
        out.insert(
            hma.to_string(),
            json!({"built_to": if size > 0 { built_to } else { -1 }, "present": true, "size": size}),
        );
    }
    ok(Value::Object(out))
}

// ---------------------------------------------------------------- hashing

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct HashParams {
    /// GET: the media to fetch and hash (only hosts the server allows with `--fetch-allow`).
    url: Option<String>,
    /// With `url`: `photo` or `video`; taken from the response's Content-Type when absent.
    content_type: Option<String>,
    types: Option<String>,
}

#[utoipa::path(get, path = "/h/hash", tag = "hma", params(HashParams), responses((status = 200, body = crate::hma_schema::HashResponse, description = "Fetches `url` and hashes it as an upload: `{'pdq': hex}` or `{'video_md5': hex}`. Off (403) unless the server allows hosts with `--fetch-allow`; a host off that list or one resolving to a non-public address gets 403, a bad URL or a failed fetch 400 (`Failed to fetch URL: ...`), a body over the upload limit 413.")), security(("bearer" = ["hash"])))]
pub(crate) async fn hash_get(
    State(state): Shared,
    headers: HeaderMap,
    QueryParams(p): QueryParams<HashParams>,
) -> HmaResult {
    state.authorize(&headers, Scope::Hash, Access::Read)?;
    let Some(url) = &p.url else {
        return Err(HmaError::missing("url", json!({})));
    };
    let (content_type, bytes) = fetch_media(&state, url, p.content_type.as_deref()).await?;
    hash_answer(&state, content_type, bytes, p.types).await
}

#[utoipa::path(post, path = "/h/hash", tag = "hma", params(HashParams), request_body(content = crate::hma_schema::UploadForm, content_type = "multipart/form-data"), responses((status = 200, body = crate::hma_schema::HashResponse, description = "Hashes an upload (multipart field `photo` or `video`): `{'pdq': hex}` or `{'video_md5': hex}`.")), security(("bearer" = ["hash"])))]
pub(crate) async fn hash_post(
    State(state): Shared,
    headers: HeaderMap,
    QueryParams(p): QueryParams<HashParams>,
    req: Request,
) -> HmaResult {
    state.authorize(&headers, Scope::Hash, Access::Read)?;
    let (content_type, bytes) = uploaded_file(req, &state).await?;
    hash_answer(&state, content_type, bytes, p.types).await
}

/// Hashes an upload (or fetched media): `{signal_type: hash}`.
async fn hash_answer(state: &Arc<AppState>, content_type: String, bytes: Bytes, types: Option<String>) -> HmaResult {
    let s = state.clone();
    let signals = blocking_hma(move || hash_upload(&s, &content_type, &bytes, &types)).await?;
    let map: serde_json::Map<String, Value> = signals.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    ok(Value::Object(map))
}

// ---------------------------------------------------------------- curation

#[utoipa::path(get, path = "/c/banks", tag = "hma", responses((status = 200, body = Vec<crate::hma_schema::Bank>, description = "Every bank: `[{matching_enabled_ratio, name}]`.")), security(("bearer" = ["curate"])))]
pub(crate) async fn list_banks(State(state): Shared, headers: HeaderMap) -> HmaResult {
    state.authorize(&headers, Scope::Curate, Access::Read)?;
    let s = state.clone();
    let banks = blocking(move || {
        let names = s.with_reader(|store| Ok(store.bank_names()?))?;
        names
            .into_iter()
            .map(|n| Ok(bank_json(&n, bank_ratio(&s, &n)?)))
            .collect::<Result<Vec<Value>, ApiError>>()
    })
    .await?;
    ok(Value::Array(banks))
}

fn ratio_of(body: &Value) -> f64 {
    match (body.get("enabled_ratio"), body.get("enabled")) {
        (Some(Value::Number(n)), _) => n.as_f64().unwrap_or(1.0),
        (Some(Value::Null), Some(Value::Bool(e))) => f64::from(u8::from(*e)),
        _ => 1.0,
    }
}

#[utoipa::path(post, path = "/c/banks", tag = "hma", request_body(content = crate::hma_schema::CreateBankRequest, content_type = "application/json"), responses((status = 201, body = crate::hma_schema::Bank, description = "Created (names UPPER_WITH_UNDERSCORE, else 400)."), (status = 403, body = crate::hma_schema::ErrorMessage, description = "A bank of that name exists.")), security(("bearer" = ["curate"])))]
pub(crate) async fn create_bank(State(state): Shared, headers: HeaderMap, body: Bytes) -> HmaResult {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(name) = body.get("name").and_then(Value::as_str).map(str::to_string) else {
        return Err(HmaError::missing("name", body));
    };
    if !bank_name_ok(&name) {
        return Err(HmaError::bad("Bank names must be UPPER_WITH_UNDERSCORE"));
    }
    let ratio = ratio_of(&body);
    let s = state.clone();
    let bank = name.clone();
    let created = blocking(move || {
        let exists = s.with_reader(|store| Ok(store.bank_settings(&bank)?.is_some()))?;
        if exists {
            return Ok(false);
        }
        s.with_writer(|store| Ok(store.create_bank(&bank, &banks::BankOptions::default())?))?;
        set_bank_ratio(&s, &bank, ratio)?;
        Ok(true)
    })
    .await?;
    if !created {
        return Err(HmaError::msg(StatusCode::FORBIDDEN, "Bank already exists"));
    }
    state.audit(
        token,
        "bank.create",
        &name,
        json!({"enabled_ratio": ratio, "api": "hma"}),
    )?;
    Ok((StatusCode::CREATED, axum::Json(bank_json(&name, ratio))).into_response())
}

fn bank_exists(state: &AppState, name: &str) -> Result<bool, ApiError> {
    state.with_reader(|store| Ok(store.bank_settings(name)?.is_some()))
}

#[utoipa::path(get, path = "/c/bank/{name}", tag = "hma", params(("name" = String, Path)), responses((status = 200, body = crate::hma_schema::Bank, description = "One bank."), (status = 404, body = crate::hma_schema::ErrorMessage, description = "No such bank.")), security(("bearer" = ["curate"])))]
pub(crate) async fn get_bank(State(state): Shared, headers: HeaderMap, Path(name): Path<String>) -> HmaResult {
    state.authorize(&headers, Scope::Curate, Access::Read)?;
    let s = state.clone();
    let bank = name.clone();
    let found = blocking(move || {
        if bank_exists(&s, &bank)? {
            Ok(Some(bank_ratio(&s, &bank)?))
        } else {
            Ok(None)
        }
    })
    .await?;
    match found {
        Some(ratio) => ok(bank_json(&name, ratio)),
        None => Err(HmaError::msg(StatusCode::NOT_FOUND, format!("bank '{name}' not found"))),
    }
}

#[utoipa::path(put, path = "/c/bank/{name}", tag = "hma", params(("name" = String, Path)), request_body(content = crate::hma_schema::UpdateBankRequest, content_type = "application/json"), responses((status = 200, body = crate::hma_schema::Bank, description = "Renames a bank or sets its ratio (`{name?, enabled?, enabled_ratio?}`).")), security(("bearer" = ["curate"])))]
pub(crate) async fn update_bank(
    State(state): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> HmaResult {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return Err(HmaError::missing("body", Value::Null));
    };
    let s = state.clone();
    let detail = Value::Object(body.clone());
    let result = blocking(move || -> Result<Result<Value, HmaError>, ApiError> {
        if !bank_exists(&s, &name)? {
            return Ok(Err(HmaError::msg(StatusCode::NOT_FOUND, "Bank not found")));
        }
        let mut current = name.clone();
        let mut ratio = bank_ratio(&s, &name)?;
        if let Some(new) = body.get("name").and_then(Value::as_str) {
            if new != current {
                if !bank_name_ok(new) {
                    return Ok(Err(HmaError::bad("Bank names must be UPPER_WITH_UNDERSCORE")));
                }
                if bank_exists(&s, new)? {
                    return Ok(Err(HmaError::msg(StatusCode::FORBIDDEN, "Bank name already exists")));
                }
                s.with_writer(|store| Ok(store.rename_bank(&current, new)?))?;
                s.with_service(|db| db.rename_hma_bank(&current, new).map_err(ApiError::internal))?;
                current = new.to_string();
            }
        }
        if let Some(Value::Bool(enabled)) = body.get("enabled") {
            ratio = f64::from(u8::from(*enabled));
        }
        if let Some(r) = body.get("enabled_ratio").and_then(Value::as_f64) {
            ratio = r;
        }
        set_bank_ratio(&s, &current, ratio)?;
        Ok(Ok(bank_json(&current, ratio)))
    })
    .await??;
    if let Some(n) = result.get("name").and_then(Value::as_str) {
        state.audit(token, "bank.update", n, detail)?;
    }
    ok(result)
}

#[utoipa::path(delete, path = "/c/bank/{name}", tag = "hma", params(("name" = String, Path)), responses((status = 200, description = "Deletes a bank and its content; always `{'message': 'Done'}`.")), security(("bearer" = ["curate"])))]
pub(crate) async fn delete_bank(State(state): Shared, headers: HeaderMap, Path(name): Path<String>) -> HmaResult {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    let s = state.clone();
    let bank = name.clone();
    let removed = blocking(move || {
        if !bank_exists(&s, &bank)? {
            return Ok(false);
        }
        s.with_writer(|store| Ok(store.remove_bank(&bank)?))?;
        s.with_service(|db| db.forget_hma_bank(&bank).map_err(ApiError::internal))?;
        Ok(true)
    })
    .await?;
    if removed {
        state.audit(token, "bank.delete", &name, json!({"api": "hma"}))?;
    }
    ok(json!({"message": "Done"}))
}

fn validate_note(note: Option<&Value>) -> Result<Option<String>, HmaError> {
    match note {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() > 255 => Err(HmaError::bad("note must be at most 255 characters")),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(HmaError::bad("note should be a string")),
    }
}

fn validate_metadata(metadata: Option<Value>) -> Result<Option<Value>, HmaError> {
    let Some(metadata) = metadata else { return Ok(None) };
    let Value::Object(mut m) = metadata else {
        return Err(HmaError::bad("metadata should be a json object"));
    };
    m.remove("collab");
    for (k, v) in &m {
        let valid = match k.as_str() {
            "content_id" | "content_uri" => v.is_string() || v.is_null(),
            "json" => true,
            _ => false,
        };
        if !valid {
            return Err(HmaError::bad(format!(
                "Invalid metadata: field {k:?} is not allowed or has the wrong type"
            )));
        }
    }
    Ok(Some(Value::Object(m)))
}

/// Adds one content item (several signals) to a bank; returns its id.
fn add_content(
    state: &AppState,
    bank: &str,
    signals: &[(String, String)],
    note: Option<String>,
    metadata: Option<Value>,
) -> Result<u32, ApiError> {
    let entries = signals
        .iter()
        .map(|(st, v)| EntryIn {
            signal: our_signal(st).unwrap_or("pdq").to_string(),
            hash: v.clone(),
            categories: Vec::new(),
            external_id: None,
            source: Some("hma".into()),
            metadata: serde_json::Map::new(),
        })
        .collect();
    let added = add_entries(state, bank, entries)?;
    let Some(&id) = added.ids.first() else {
        return Err(ApiError::internal("no entry was created"));
    };
    let signals_json: serde_json::Map<String, Value> = signals.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let record = ContentRecord {
        id,
        bank: bank.to_string(),
        note: note.map(|n| n.to_string()),
        disable_until_ts: 1,
        metadata: metadata.map(|m| m.to_string()),
        signals: Value::Object(signals_json).to_string(),
    };
    state.with_service(|db| db.put_content(&record, &added.ids).map_err(ApiError::internal))?;
    Ok(id)
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct ContentParams {
    /// POST: fetch this URL and add it (only hosts the server allows with `--fetch-allow`).
    url: Option<String>,
    /// With `url`: `photo` or `video`; taken from the response's Content-Type when absent.
    content_type: Option<String>,
    include_signals: Option<String>,
    include_metadata: Option<String>,
    types: Option<String>,
}

#[utoipa::path(post, path = "/c/bank/{name}/content", tag = "hma", params(("name" = String, Path), ContentParams), request_body(content = crate::hma_schema::ContentForm, content_type = "multipart/form-data"), responses((status = 200, body = crate::hma_schema::ContentAdded, description = "Adds an upload (multipart `photo`/`video`, optional `metadata` JSON and `note`) as one content item: `{id, signals}`. With `url`, fetches the media instead (metadata and note then come from a JSON body or form fields); URL fetching is off (403) unless the server allows hosts with `--fetch-allow`, and its refusals are those of GET /h/hash.")), security(("bearer" = ["curate"])))]
pub(crate) async fn post_content(
    State(state): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    QueryParams(p): QueryParams<ContentParams>,
    req: Request,
) -> HmaResult {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    require_bank(&state, &name).await?;
    if p.url.is_some() && !state.options.fetch.enabled() {
        return Err(url_disabled());
    }
    let neither = || HmaError::bad("Neither `url` nor multipart file upload was received");
    let request_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Metadata and note: multipart fields, or (with url) a JSON body's keys.
    let (metadata, note, file) = if request_type.starts_with("multipart/form-data") {
        let form = read_form(req, &state).await?;
        let metadata = match form.fields.get("metadata") {
            Some(text) => Some(
                serde_json::from_str::<Value>(text)
                    .map_err(|_| HmaError::bad("metadata form field must be valid JSON"))?,
            ),
            None => None,
        };
        let note = form.fields.get("note").map(|n| json!(n));
        (metadata, note, form.file)
    } else if p.url.is_some() && request_type.starts_with("application/json") {
        let body = Bytes::from_request(req, &state)
            .await
            .map_err(|e| too_large_or_bad(&e.body_text()))?;
        match parse_json(&body)? {
            Value::Object(mut body) => (body.remove("metadata"), body.remove("note"), None),
            _ => (None, None, None),
        }
    } else if p.url.is_some() {
        (None, None, None)
    } else {
        return Err(neither());
    };
    let metadata = validate_metadata(metadata)?;
    let note = validate_note(note.as_ref())?;
    // A URL wins over a file, as in HMA; fetched bytes take the upload's path from here on.
    let (content_type, bytes) = match (&p.url, file) {
        (Some(url), _) => fetch_media(&state, url, p.content_type.as_deref()).await?,
        (None, Some(file)) => file,
        (None, None) => return Err(neither()),
    };
    let s = state.clone();
    let bank = name.clone();
    let (id, signals) = blocking_hma(move || -> Result<(u32, Vec<(String, String)>), HmaError> {
        let signals = hash_upload(&s, &content_type, &bytes, &p.types)?;
        let mut valid = Vec::new();
        for (st, v) in signals {
            let v = validate(&st, &v).map_err(|e| HmaError::bad(format!("Invalid {st} signal: {e}")))?;
            valid.push((st, v));
        }
        if valid.is_empty() {
            return Err(HmaError::bad("No signals given"));
        }
        let id = add_content(&s, &bank, &valid, note, metadata)?;
        Ok((id, valid))
    })
    .await?;
    content_added(&state, token, &name, id, signals, p.url.as_deref())
}

#[utoipa::path(post, path = "/c/bank/{name}/signal", tag = "hma", params(("name" = String, Path)), request_body(content = crate::hma_schema::SignalRequest, content_type = "application/json"), responses((status = 200, body = crate::hma_schema::ContentAdded, description = "Adds hashes (`{signal_type: hash, ..., note?}`) as one content item: `{id, signals}`.")), security(("bearer" = ["curate"])))]
pub(crate) async fn post_signal(
    State(state): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> HmaResult {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    require_json(&headers)?;
    let body = parse_json(&body)?;
    require_bank(&state, &name).await?;
    let Value::Object(mut data) = body else {
        return Err(HmaError::msg(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Request input was not a dict",
        ));
    };
    let note = validate_note(data.remove("note").as_ref())?;
    let mut signals = Vec::new();
    for (st, v) in data {
        if our_signal(&st).is_err() {
            return Err(HmaError::bad(format!("No such signal type {st}")));
        }
        let Some(text) = v.as_str() else {
            return Err(HmaError::bad(format!(
                "Invalid {st} signal: expected string or bytes-like object, got '{}'",
                json_type(&v)
            )));
        };
        let value = validate(&st, text).map_err(|e| HmaError::bad(format!("Invalid {st} signal: {e}")))?;
        signals.push((st, value));
    }
    if signals.is_empty() {
        return Err(HmaError::bad("No signals given"));
    }
    let s = state.clone();
    let bank = name.clone();
    let sig = signals.clone();
    let id = blocking(move || add_content(&s, &bank, &sig, note, None)).await?;
    content_added(&state, token, &name, id, signals, None)
}

/// Audits a content addition (with the URL it was fetched from, if any)
/// and answers as HMA does: `{id, signals}` with 200.
fn content_added(
    state: &AppState,
    token: i64,
    bank: &str,
    id: u32,
    signals: Vec<(String, String)>,
    url: Option<&str>,
) -> HmaResult {
    let signals: serde_json::Map<String, Value> = signals.into_iter().map(|(k, v)| (k, json!(v))).collect();
    let mut detail = json!({"id": id, "signals": signals, "api": "hma"});
    if let Some(url) = url {
        detail["url"] = json!(url);
    }
    state.audit(token, "content.add", bank, detail)?;
    ok(json!({"id": id, "signals": signals}))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A content item as stored: its bank, signals, note, enablement and metadata.
struct Content {
    id: u32,
    bank: String,
    signals: serde_json::Map<String, Value>,
    note: Option<String>,
    disable_until_ts: i64,
    metadata: Option<Value>,
}

fn load_content(state: &AppState, id: u32) -> Result<Option<Content>, ApiError> {
    let row = state.with_service(|db| db.content(id).map_err(ApiError::internal))?;
    // The entry itself: it says whether the content is still live and which bank holds it now.
    let entry = state.with_reader(|store| Ok(store.entry(id)?))?;
    let Some(entry) = entry else { return Ok(None) };
    let live = state.with_reader(|store| Ok(store.entry_id(&entry.bank, &entry.entry.signal, &entry.entry.hash)?))?;
    if live != Some(id) {
        return Ok(None);
    }
    Ok(Some(match row {
        Some(record) => Content {
            id,
            bank: entry.bank,
            signals: serde_json::from_str(&record.signals).unwrap_or_default(),
            note: record.note,
            disable_until_ts: record.disable_until_ts,
            metadata: record.metadata.and_then(|m| serde_json::from_str(&m).ok()),
        },
        None => {
            let mut signals = serde_json::Map::new();
            if let Some(st) = hma_signal(&entry.entry.signal) {
                signals.insert(st.into(), json!(entry.entry.hash));
            }
            Content {
                id,
                bank: entry.bank,
                signals,
                note: None,
                disable_until_ts: 1,
                metadata: None,
            }
        }
    }))
}

fn full_metadata(m: &Option<Value>) -> Value {
    let get = |k: &str| m.as_ref().and_then(|m| m.get(k)).cloned().unwrap_or(Value::Null);
    json!({"collab": null, "content_id": get("content_id"), "content_uri": get("content_uri"), "json": get("json")})
}

#[utoipa::path(get, path = "/c/bank/{name}/content/{id}", tag = "hma", params(("name" = String, Path), ("id" = u32, Path), ContentParams), responses((status = 200, body = crate::hma_schema::Content, description = "One content item (include_signals, include_metadata).")), security(("bearer" = ["curate"])))]
pub(crate) async fn get_content(
    State(state): Shared,
    headers: HeaderMap,
    Path((name, id)): Path<(String, u32)>,
    QueryParams(p): QueryParams<ContentParams>,
) -> HmaResult {
    state.authorize(&headers, Scope::Curate, Access::Read)?;
    let s = state.clone();
    let bank = name.clone();
    let found = blocking(move || {
        if !bank_exists(&s, &bank)? {
            return Ok(Err(HmaError::msg(
                StatusCode::NOT_FOUND,
                format!("bank '{bank}' not found"),
            )));
        }
        match load_content(&s, id)? {
            None => Ok(Err(HmaError::msg(
                StatusCode::NOT_FOUND,
                format!("content '{id}' not found"),
            ))),
            Some(c) => {
                let ratio = bank_ratio(&s, &c.bank)?;
                Ok(Ok((c, ratio)))
            }
        }
    })
    .await??;
    let (c, ratio) = found;
    let mut out = json!({
        "bank": bank_json(&c.bank, ratio),
        "disable_until_ts": c.disable_until_ts,
        "id": c.id,
        "original_media_uri": null,
    });
    let include_metadata = p
        .include_metadata
        .as_deref()
        .map(|v| v.eq_ignore_ascii_case("true"))
        .unwrap_or(true);
    if include_metadata && c.metadata.is_some() {
        out["metadata"] = full_metadata(&c.metadata);
    }
    if let Some(note) = &c.note {
        out["note"] = json!(note);
    }
    let include_signals = p
        .include_signals
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if include_signals && !c.signals.is_empty() {
        out["signals"] = Value::Object(c.signals);
    }
    ok(out)
}

#[utoipa::path(put, path = "/c/bank/{name}/content/{id}", tag = "hma", params(("name" = String, Path), ("id" = u32, Path)), request_body(content = crate::hma_schema::UpdateContentRequest, content_type = "application/json"), responses((status = 200, body = crate::hma_schema::Content, description = "Sets a content item's note or disable_until_ts.")), security(("bearer" = ["curate"])))]
pub(crate) async fn put_content(
    State(state): Shared,
    headers: HeaderMap,
    Path((name, id)): Path<(String, u32)>,
    body: Bytes,
) -> HmaResult {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    require_json(&headers)?;
    let Value::Object(body) = parse_json(&body)? else {
        return Err(HmaError::bad(
            "The browser (or proxy) sent a request that this server could not understand.",
        ));
    };
    let disable = match body.get("disable_until_ts") {
        None => None,
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_f64().map(|f| f.trunc() as i64),
                Value::Bool(b) => Some(i64::from(*b)),
                Value::String(s) => Some(
                    s.trim()
                        .parse::<i64>()
                        .map_err(|_| HmaError::bad(format!("Invalid int: '{s}'")))?,
                ),
                _ => None,
            }
            .ok_or_else(|| HmaError::msg(StatusCode::INTERNAL_SERVER_ERROR, "disable_until_ts must be a number"))?;
            if n < 0 {
                return Err(HmaError::bad("disable_until_ts must be a non-negative integer"));
            }
            if n > now() + 5 * 365 * 86_400 {
                return Err(HmaError::bad(
                    "disable_until_ts must be less than 5 years in the future",
                ));
            }
            Some(n)
        }
    };
    let note_given = body.contains_key("note");
    let note = validate_note(body.get("note"))?;
    let s = state.clone();
    let result = blocking(move || {
        if !bank_exists(&s, &name)? {
            return Ok(Err(HmaError::msg(
                StatusCode::NOT_FOUND,
                format!("bank '{name}' not found"),
            )));
        }
        let Some(mut c) = load_content(&s, id)? else {
            return Ok(Err(HmaError::msg(
                StatusCode::NOT_FOUND,
                format!("content '{id}' not found"),
            )));
        };
        if let Some(d) = disable {
            c.disable_until_ts = d;
        }
        if note_given {
            c.note = note;
        }
        let record = ContentRecord {
            id: c.id,
            bank: c.bank.clone(),
            note: c.note.clone(),
            disable_until_ts: c.disable_until_ts,
            metadata: c.metadata.as_ref().map(|m| m.to_string()),
            signals: Value::Object(c.signals.clone()).to_string(),
        };
        s.with_service(|db| db.put_content(&record, &[]).map_err(ApiError::internal))?;
        let ratio = bank_ratio(&s, &c.bank)?;
        Ok(Ok(json!({
            "bank": bank_json(&c.bank, ratio),
            "collab_metadata": {},
            "disable_until_ts": c.disable_until_ts,
            "id": c.id,
            "note": c.note,
            "original_media_uri": null,
            "user_metadata": c.metadata,
        })))
    })
    .await??;
    state.audit(
        token,
        "content.update",
        &id.to_string(),
        json!({"disable_until_ts": disable, "api": "hma"}),
    )?;
    ok(result)
}

#[utoipa::path(delete, path = "/c/bank/{name}/content/{id}", tag = "hma", params(("name" = String, Path), ("id" = u32, Path)), responses((status = 200, description = "Deletes a content item: `{'deleted': 0|1}`.")), security(("bearer" = ["curate"])))]
pub(crate) async fn delete_content(
    State(state): Shared,
    headers: HeaderMap,
    Path((name, id)): Path<(String, u32)>,
) -> HmaResult {
    let token = state.authorize(&headers, Scope::Curate, Access::Write)?;
    let s = state.clone();
    let deleted = blocking(move || {
        if !bank_exists(&s, &name)? {
            return Ok(Err(HmaError::msg(
                StatusCode::NOT_FOUND,
                format!("bank '{name}' not found"),
            )));
        }
        let mut entries: Vec<u32> = s.with_service(|db| db.content_entries(id).map_err(ApiError::internal))?;
        if !entries.contains(&id) {
            entries.push(id);
        }
        let removed = s.with_writer(|store| {
            let mut any = false;
            for e in &entries {
                any |= store.remove_entry(*e)?;
            }
            Ok(any)
        })?;
        s.with_service(|db| db.delete_content(id).map_err(ApiError::internal))?;
        Ok(Ok(u32::from(removed)))
    })
    .await??;
    if deleted > 0 {
        state.audit(token, "content.delete", &id.to_string(), json!({"api": "hma"}))?;
    }
    ok(json!({ "deleted": deleted }))
}

/// The HMA-compatible routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/m/raw_lookup", get(raw_lookup))
        .route("/m/lookup", get(lookup_get).post(lookup_post))
        .route("/m/compare", post(compare))
        .route("/m/index/status", get(index_status))
        .route("/h/hash", get(hash_get).post(hash_post))
        .route("/c/banks", get(list_banks).post(create_bank))
        .route("/c/bank/{name}", get(get_bank).put(update_bank).delete(delete_bank))
        .route("/c/bank/{name}/content", post(post_content))
        .route("/c/bank/{name}/signal", post(post_signal))
        .route(
            "/c/bank/{name}/content/{id}",
            get(get_content).put(put_content).delete(delete_content),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_coinflips_equal_pythons() {
        // Values from CPython's random.Random(seed).random().
        assert_eq!(python_random("1"), 0.4782479962566343);
        assert_eq!(python_random("2"), 0.5558450440322502);
        assert_eq!(python_random("abc"), 0.7720246314157545);
        assert_eq!(python_random("1234"), 0.24836460312826447);
        assert_eq!(python_random(""), 0.9602256525641875);
    }

    #[test]
    fn bank_names_follow_hma() {
        assert!(bank_name_ok("TEST_BANK") && bank_name_ok("_X") && bank_name_ok("A1"));
        assert!(!bank_name_ok("01_X") && !bank_name_ok("abc") && !bank_name_ok(""));
    }

    #[test]
    fn signals_validate_as_hma_does() {
        assert!(validate("pdq", &"a".repeat(64)).is_ok());
        assert!(validate("pdq", &"A".repeat(64)).is_err());
        assert_eq!(
            validate("video_md5", " D41D8CD98F00B204E9800998ECF8427E ").unwrap(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }
}
