//! Schemas of HMA's request and response bodies, for the OpenAPI document
//! only. The handlers in `hma.rs` read HMA's bodies by hand, not through
//! these types, because an existing integration expects HMA's exact
//! answers to malformed input (a 415 before a 400, pydantic's 422 arrays,
//! lax numbers and booleans), which typed extraction would change. These
//! types tell a client generator what to send and what comes back.
#![allow(dead_code)] // never built: they exist for their derived schemas

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// `POST /c/banks`: a new bank.
#[derive(Serialize, ToSchema)]
pub struct CreateBankRequest {
    /// UPPER_WITH_UNDERSCORE: `[A-Z_][A-Z0-9_]*`.
    #[schema(pattern = "^[A-Z_][A-Z0-9_]*$")]
    pub name: String,
    /// Share of lookups that may match this bank (the seeded coinflip); 1.0 when absent.
    pub enabled_ratio: Option<f64>,
    /// `false` is ratio 0.0, `true` ratio 1.0; `enabled_ratio` wins when both are given.
    pub enabled: Option<bool>,
}

/// `PUT /c/bank/{name}`: a rename and/or a new ratio; absent fields keep their value.
#[derive(Serialize, ToSchema)]
pub struct UpdateBankRequest {
    /// The new name (UPPER_WITH_UNDERSCORE); 403 when another bank has it.
    #[schema(pattern = "^[A-Z_][A-Z0-9_]*$")]
    pub name: Option<String>,
    /// `false` is ratio 0.0, `true` ratio 1.0.
    pub enabled: Option<bool>,
    /// Share of lookups that may match this bank.
    pub enabled_ratio: Option<f64>,
}

/// A bank as HMA shows it.
#[derive(Serialize, ToSchema)]
pub struct Bank {
    /// Share of lookups that may match this bank.
    pub matching_enabled_ratio: f64,
    /// Its name.
    pub name: String,
}

/// `POST /m/compare`: for each signal type, exactly two hashes to compare.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"pdq": ["f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23"]}))]
pub struct CompareRequest(pub BTreeMap<String, Vec<String>>);

/// `POST /m/compare`'s answer: for each signal type `[matched, {"distance": n}]`
/// (PDQ gives its Hamming distance; exact signal types an empty object).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"pdq": [true, {"distance": 1}]}))]
pub struct CompareResponse(pub BTreeMap<String, Vec<serde_json::Value>>);

/// `POST /c/bank/{name}/signal`: one content item from hashes, by signal
/// type (`pdq`, `video_md5`), and an optional note of at most 255 characters.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"pdq": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "note": "from list X"}))]
pub struct SignalRequest(pub BTreeMap<String, String>);

/// A content item just added: its id (global across banks) and its signals.
#[derive(Serialize, ToSchema)]
pub struct ContentAdded {
    /// The content id lookups report as `bank_content_id`.
    pub id: u32,
    /// Its hashes by signal type.
    pub signals: BTreeMap<String, String>,
}

/// `PUT /c/bank/{name}/content/{id}`: absent fields keep their value.
#[derive(Serialize, ToSchema)]
pub struct UpdateContentRequest {
    /// At most 255 characters; empty or null clears it.
    pub note: Option<String>,
    /// 1: enabled; 0: disabled; any other value: disabled until that Unix time.
    pub disable_until_ts: Option<i64>,
}

/// User metadata of a content item (any other key is refused with 400).
#[derive(Serialize, ToSchema)]
pub struct ContentMetadata {
    /// The platform's id for the media.
    pub content_id: Option<String>,
    /// Where the media was.
    pub content_uri: Option<String>,
    /// Anything else, kept as given.
    pub json: Option<serde_json::Value>,
}

/// A content item as `GET` and `PUT /c/bank/{name}/content/{id}` show it.
#[derive(Serialize, ToSchema)]
pub struct Content {
    /// Its id.
    pub id: u32,
    /// Its bank.
    pub bank: Bank,
    /// 1: enabled; 0: disabled; else disabled until that Unix time.
    pub disable_until_ts: i64,
    /// Always null through this API (as in HMA).
    pub original_media_uri: Option<String>,
    /// Its note, when it has one.
    pub note: Option<String>,
    /// `GET` with include_metadata (the default): its metadata, with `collab` null.
    pub metadata: Option<ContentMetadata>,
    /// `GET` with include_signals=true: its hashes by signal type.
    pub signals: Option<BTreeMap<String, String>>,
    /// `PUT` only: the metadata as given.
    pub user_metadata: Option<ContentMetadata>,
    /// `PUT` only: exchange provenance, always `{}` here (HMA fills it from ThreatExchange).
    pub collab_metadata: Option<BTreeMap<String, Vec<String>>>,
}

/// `POST /m/lookup` and `POST /h/hash`: one media file, as a multipart form
/// field named by its content type.
#[derive(Serialize, ToSchema)]
pub struct UploadForm {
    /// An image.
    #[schema(value_type = Option<String>, format = Binary)]
    pub photo: Option<Vec<u8>>,
    /// A video.
    #[schema(value_type = Option<String>, format = Binary)]
    pub video: Option<Vec<u8>>,
}

/// `POST /c/bank/{name}/content`: one media file and what to keep with it.
#[derive(Serialize, ToSchema)]
pub struct ContentForm {
    /// An image.
    #[schema(value_type = Option<String>, format = Binary)]
    pub photo: Option<Vec<u8>>,
    /// A video.
    #[schema(value_type = Option<String>, format = Binary)]
    pub video: Option<Vec<u8>>,
    /// [`ContentMetadata`] as a JSON string.
    pub metadata: Option<String>,
    /// At most 255 characters.
    pub note: Option<String>,
}

/// What hashing gives, by signal type: `pdq` (64 hex; empty when the
/// image's quality is below 50) for a photo, `video_md5` for a video.
#[derive(Serialize, ToSchema)]
pub struct HashResponse {
    /// PDQ of a photo.
    pub pdq: Option<String>,
    /// MD5 of a video.
    pub video_md5: Option<String>,
}

/// One match of a lookup.
#[derive(Serialize, ToSchema)]
pub struct LookupMatch {
    /// The content id.
    pub bank_content_id: u32,
    /// Hamming distance for PDQ, `-` for exact signal types: always a string.
    pub distance: String,
}

/// `GET /m/lookup` by hash: matches by bank (`{}` when none). By URL the
/// same maps are keyed by signal type first, unless `signal_type` is given.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"TEST_BANK": [{"bank_content_id": 16, "distance": "0"}]}))]
pub struct LookupResponse(pub BTreeMap<String, Vec<LookupMatch>>);

/// `GET /m/raw_lookup`: content ids, or with include_distance [`LookupMatch`]es.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"matches": [{"bank_content_id": 8, "distance": "2"}]}))]
pub struct RawLookupResponse {
    /// `[id, ...]`, or `[{bank_content_id, distance}, ...]` with include_distance.
    pub matches: Vec<serde_json::Value>,
}

/// One signal type's index.
#[derive(Serialize, ToSchema)]
pub struct IndexState {
    /// Unix time the index is current to (-1 while empty).
    pub built_to: i64,
    /// Always true: the index is built as content arrives.
    pub present: bool,
    /// Hashes in it.
    pub size: u64,
}

/// `GET /m/index/status`: each signal type's index.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"pdq": {"built_to": 1764400000, "present": true, "size": 10000000}}))]
pub struct IndexStatusResponse(pub BTreeMap<String, IndexState>);

/// HMA's error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorMessage {
    /// What went wrong.
    pub message: String,
}
