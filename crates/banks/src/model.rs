//! What a bank holds.

use std::fmt;
use std::str::FromStr;

/// The kind of hash an entry carries. Types we do not know (PhotoDNA,
/// vPDQ, TMK, a vendor's own) are kept by name so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Meta's PDQ, 64 hex characters.
    Pdq,
    /// MD5 of the file, 32 hex characters.
    Md5,
    /// SHA-1 of the file, 40 hex characters.
    Sha1,
    /// SHA-256 of the file, 64 hex characters.
    Sha256,
    /// Anything else, by its lowercased name.
    Other(String),
}

impl Signal {
    /// The name used in the store and in exports.
    pub fn name(&self) -> &str {
        match self {
            Signal::Pdq => "pdq",
            Signal::Md5 => "md5",
            Signal::Sha1 => "sha1",
            Signal::Sha256 => "sha256",
            Signal::Other(s) => s,
        }
    }

    /// Recognises the names lists use for our types (`PDQ`, `pdq_hash`,
    /// `SHA-256`, `md5_hash`, NCMEC's `MD5`, ...); anything else is kept.
    pub fn parse(name: &str) -> Signal {
        let key: String = name
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        match key.as_str() {
            "pdq" | "pdqhash" | "photopdq" | "pdqphoto" => Signal::Pdq,
            "md5" | "md5hash" | "videomd5" | "photomd5" => Signal::Md5,
            "sha1" | "sha1hash" => Signal::Sha1,
            "sha256" | "sha256hash" => Signal::Sha256,
            _ => Signal::Other(name.trim().to_ascii_lowercase()),
        }
    }

    /// Hex length of a hash of this type, where fixed.
    pub fn hex_len(&self) -> Option<usize> {
        match self {
            Signal::Pdq | Signal::Sha256 => Some(64),
            Signal::Md5 => Some(32),
            Signal::Sha1 => Some(40),
            Signal::Other(_) => None,
        }
    }

    /// The digest type a bare hex string of this length would be, for
    /// lists that give hashes without a type (64 characters reads as
    /// SHA-256 unless the caller says PDQ).
    pub fn guess_from_len(len: usize) -> Option<Signal> {
        match len {
            32 => Some(Signal::Md5),
            40 => Some(Signal::Sha1),
            64 => Some(Signal::Sha256),
            _ => None,
        }
    }

    /// Normalises a hash of this type: lowercase hex of the right length
    /// for known types; other types are kept as given (trimmed).
    pub fn normalise(&self, hash: &str) -> Result<String, String> {
        let hash = hash.trim();
        let Some(len) = self.hex_len() else {
            return if hash.is_empty() {
                Err("empty hash".into())
            } else {
                Ok(hash.to_string())
            };
        };
        if hash.len() != len {
            return Err(format!(
                "{} hash must have {len} hex characters, got {}",
                self.name(),
                hash.chars().count()
            ));
        }
        if let Some((i, c)) = hash.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
            return Err(format!("invalid hex character {c:?} at column {}", i + 1));
        }
        Ok(hash.to_ascii_lowercase())
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Signal {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Signal::parse(s))
    }
}

/// One hash in a bank, as imported, before the store gives it an id.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct NewEntry {
    /// Signal type name (`pdq`, `md5`, ..., or an unknown type's name).
    pub signal: String,
    /// Normalised hash.
    pub hash: String,
    /// Category labels tagged with their scheme (`ncmec:A1`, `caid:A`, `vics-us:1`).
    pub categories: Vec<String>,
    /// The list's own id for the entry, if it has one.
    pub external_id: Option<String>,
    /// Where it came from (file name, exchange, hotline).
    pub source: Option<String>,
    /// Every field of the source record, so exports give back what came in.
    pub raw: serde_json::Map<String, serde_json::Value>,
    /// A tombstone: the list says the entry with this `external_id` is
    /// withdrawn (NCMEC's `deleted*` records). Importing one marks the bank's
    /// entry removed, with the time, rather than deleting it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
}

impl NewEntry {
    /// An entry for one hash of a source record, normalised for its type
    /// (the error says what is wrong with the hash).
    pub fn of_record(
        signal: &Signal,
        hash: &str,
        categories: &[String],
        external_id: Option<&str>,
        source: Option<&str>,
        raw: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<NewEntry, String> {
        Ok(NewEntry {
            signal: signal.name().to_string(),
            hash: signal.normalise(hash)?,
            categories: categories.to_vec(),
            external_id: external_id.map(str::to_string),
            source: source.map(str::to_string),
            raw: raw.clone(),
            withdrawn: false,
        })
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Entry {
    /// Store-wide id (also the id in the matching index).
    pub id: u32,
    /// The bank it belongs to.
    pub bank: String,
    /// The entry's content.
    #[serde(flatten)]
    pub entry: NewEntry,
    /// When it was added (Unix seconds).
    pub added: i64,
}

/// What a bank is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BankKind {
    /// Hits flag known material.
    Flag,
    /// Known-good files (NSRL): hits filter a file out, never flag it.
    Known,
}

/// A bank's settings and size.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BankInfo {
    /// Unique name.
    pub name: String,
    /// Flag or known-file filter.
    pub kind: BankKind,
    /// A hit here removes the query's other hits (a false-positive list).
    pub suppress: bool,
    /// Largest PDQ distance that counts as a match.
    pub max_distance: u32,
    /// Lowest PDQ quality matched, on query and entry.
    pub quality_floor: u8,
    /// Live entries per signal type.
    pub counts: Vec<(String, u64)>,
    /// Created (Unix seconds).
    pub created: i64,
}

/// The frames a vPDQ entry keeps in its source record (`vpdq_frames`, the
/// reference's text format); `None` when they are missing or unreadable.
pub(crate) fn vpdq_frames(raw: &serde_json::Map<String, serde_json::Value>) -> Option<Vec<vpdq::Feature>> {
    raw.get("vpdq_frames")
        .and_then(|v| v.as_str())
        .and_then(|t| vpdq::parse_features(t).ok())
}
