//! What every parser yields: one [`Export`] per chat, in the shape
//! `tantalum chats parse --json` prints.

use serde::{Serialize, Serializer};

use crate::links::LinkKind;
use crate::time::LocalTime;

/// Stands for the exporting phone's owner in second-person notices
/// ("You added Bob", "ti ha aggiunto") when the export does not name them.
pub const YOU: &str = "(you)";

/// The app that wrote the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Whatsapp,
    Telegram,
}

/// Which writer of the app: phone OS or export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    Android,
    Ios,
    DesktopJson,
    DesktopHtml,
}

/// The order of day, month and year in WhatsApp headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    Dmy,
    Mdy,
    Ymd,
}

/// 12- or 24-hour clock in WhatsApp headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Clock {
    #[serde(rename = "12h")]
    H12,
    #[serde(rename = "24h")]
    H24,
}

/// One parsed chat.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    /// The file the chat came from (inside a zip: `archive.zip!/_chat.txt`).
    pub source: String,
    pub platform: Platform,
    pub variant: Variant,
    /// Language of the notices and markers (`en`, `it`, `es`, `pt`, `de`, `fr`), when any were seen.
    pub locale: Option<String>,
    pub date_order: Option<DateOrder>,
    /// True when no date in the file settled the order and it was guessed
    /// from the language and clock: every day in the file is 12 or less.
    pub date_order_assumed: bool,
    pub clock: Option<Clock>,
    /// The group's name at export time; `None` for one-to-one chats.
    pub group_name: Option<String>,
    /// The exporting account's name as it appears in the chat, when it can be told.
    pub exporter: Option<String>,
    pub participants: Vec<Participant>,
    pub messages: Vec<Message>,
    /// Problems met; the records around them were still read.
    pub errors: Vec<Issue>,
}

/// An account as this export labels it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    /// The label: address-book name, phone number, or `~ push name`.
    pub display: String,
    pub phone_e164: Option<String>,
    pub region: Option<String>,
}

/// A message or a system record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// 1-based position in the export.
    pub n: usize,
    /// 1-based line where the record starts (in the HTML and JSON files, the
    /// line of the message's element).
    pub line: usize,
    /// The app's own message id (Telegram).
    pub id: Option<i64>,
    pub kind: Kind,
    /// Local wall clock as written, ISO 8601 without offset.
    #[serde(serialize_with = "ser_local")]
    pub timestamp: Option<LocalTime>,
    /// UTC, where the source gives it (Telegram), as Unix seconds; printed as ISO 8601.
    #[serde(serialize_with = "ser_utc")]
    pub timestamp_utc: Option<i64>,
    /// `None` on system records. WhatsApp labels lose the invisible bidi
    /// marks WhatsApp wraps around names and numbers.
    pub sender: Option<String>,
    /// The body as written: invisible characters, no-break spaces and
    /// hyphens kept (only a line's carriage return, the file's BOM and the
    /// marker iOS puts after the sender are dropped). Header parsing, notice
    /// matching and link search work on a normalised copy.
    pub text: String,
    pub attachment: Option<Attachment>,
    pub event: Option<Event>,
    pub links: Vec<MessageLink>,
    /// The message carried the "edited" suffix, removed from `text`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
}

/// Message or system record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Message,
    System,
}

/// A file sent with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// The file's name in the export, when the export names it.
    pub filename: Option<String>,
    pub media: Media,
    /// The export holds a marker but not the file.
    pub omitted: bool,
}

/// The kind of attached file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Image,
    Video,
    Audio,
    Voice,
    Gif,
    Sticker,
    Document,
    Contact,
    Unknown,
}

impl Media {
    /// Guesses the kind from an export's file name (WhatsApp and Telegram conventions).
    pub fn from_filename(name: &str) -> Media {
        let upper = name.to_ascii_uppercase();
        let base = upper.rsplit(['/', '\\']).next().unwrap_or(&upper);
        let ext = base.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        if base.starts_with("PTT-") || base.starts_with("AUDIO_") || upper.contains("VOICE_MESSAGES/") {
            Media::Voice
        } else if base.starts_with("STK-") || base.contains("-STICKER-") || upper.contains("STICKERS/") {
            Media::Sticker
        } else if base.starts_with("GIF-") || base.contains("-GIF-") || upper.contains("ANIMATIONS/") {
            Media::Gif
        } else if base.starts_with("IMG-") || base.contains("-PHOTO-") {
            Media::Image
        } else if base.starts_with("VID-") || base.contains("-VIDEO-") {
            Media::Video
        } else if base.starts_with("AUD-") || base.contains("-AUDIO-") {
            Media::Audio
        } else {
            match ext {
                "JPG" | "JPEG" | "PNG" | "WEBP" | "HEIC" => Media::Image,
                "MP4" | "MOV" | "3GP" | "MKV" => Media::Video,
                "OPUS" | "OGG" | "M4A" | "MP3" | "AAC" | "WAV" => Media::Audio,
                "VCF" => Media::Contact,
                _ => Media::Document,
            }
        }
    }
}

/// A membership or group change, or another notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Who did it (`None` when the notice does not say).
    pub actor: Option<String>,
    /// Whom it was done to: added, removed, joined, left, the other party of a security code.
    pub targets: Vec<String>,
    /// The new value: group name, number, pinned message id.
    pub value: Option<String>,
    pub old_value: Option<String>,
}

/// The events the network is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    E2eNotice,
    GroupCreated,
    MemberAdded,
    MemberJoinedViaLink,
    MemberLeft,
    MemberRemoved,
    SubjectChanged,
    IconChanged,
    DescriptionChanged,
    SecurityCodeChanged,
    NumberChanged,
    MessageDeleted,
    MessagePinned,
    MigratedToSupergroup,
    /// Joined by themselves (a public group), neither added nor via a link.
    MemberJoined,
}

/// A link found in a message, in the per-message form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageLink {
    pub kind: LinkKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_e164: Option<String>,
    pub url: String,
}

impl From<crate::links::Link> for MessageLink {
    fn from(l: crate::links::Link) -> Self {
        MessageLink {
            kind: l.kind,
            code: l.code,
            phone_e164: l.phone_e164,
            url: l.url,
        }
    }
}

/// A problem in one place of an input; parsing went on past it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

fn ser_local<S: Serializer>(t: &Option<LocalTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.iso()),
        None => s.serialize_none(),
    }
}

fn ser_utc<S: Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format!("{}Z", LocalTime::from_unix(*t).iso())),
        None => s.serialize_none(),
    }
}

/// Builds the participant list from labels in order of appearance, reading
/// a number from labels that are one.
pub(crate) fn participants<'a>(labels: impl IntoIterator<Item = &'a str>) -> Vec<Participant> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for l in labels {
        if l == YOU || l.is_empty() || !seen.insert(l.to_string()) {
            continue;
        }
        let phone = if crate::phone::looks_like_phone(l) {
            crate::phone::parse(l, false)
        } else {
            None
        };
        out.push(Participant {
            display: l.to_string(),
            phone_e164: phone.as_ref().map(|p| p.e164.clone()),
            region: phone.and_then(|p| p.region),
        });
    }
    out
}
