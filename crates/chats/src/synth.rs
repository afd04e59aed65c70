//! A seedable generator of synthetic chat cases, for tests and demos.
//!
//! Ground truth first: people with fictional names and numbers, a group and
//! its timeline (created, added, joined by link, left, removed, renamed,
//! messages with links, media, edits, deletions). Then each seized device
//! renders that truth in its own way: platform, locale, clock, time zone
//! and address book decide every label, date and marker. The expected parse
//! of each rendering is derived from the truth and the pieces the renderer
//! wrote (a text exactly as written, invisible marks included), never by
//! reading the rendered file back, so a test comparing the parser with it
//! checks the parser.
//!
//! Everything is benign and fictional: names from a short invented list,
//! numbers in reserved or clearly synthetic ranges (UK 07700 900xxx, US
//! 555-01xx), pictures from [`synth::photo`](::synth::photo), hobby chatter.

pub mod operation;

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use ::synth::Rng;

use crate::links::LinkKind;
use crate::model::*;
use crate::phrases::{self, PHRASES};
use crate::text;
use crate::time::LocalTime;

/// Which app and writer renders a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    WhatsappAndroid,
    WhatsappIos,
    TelegramJson,
    TelegramHtml,
}

/// All renderers.
pub const TARGETS: [Target; 4] = [
    Target::WhatsappAndroid,
    Target::WhatsappIos,
    Target::TelegramJson,
    Target::TelegramHtml,
];

/// Device locales the generator renders.
pub const LOCALES: [&str; 7] = ["en-US", "en-GB", "it-IT", "es-ES", "pt-BR", "de-DE", "fr-FR"];

/// Difficulty flags, each an edge case real exports show.
pub const FLAGS: [&str; 12] = [
    "nnbsp",           // U+202F before AM/PM (2023+ exports)
    "bidi",            // numbers wrapped in U+202A…U+202C, U+2011 hyphens
    "bom",             // byte-order mark at file start
    "crlf",            // Windows line ends
    "ambiguous_dates", // every day of the chat is 12 or less
    "multiline",       // multi-line messages, continuation lines that look like dates
    "push_names",      // non-contacts shown as "~ Name"
    "colon_names",     // a group name with ": ", a contact name with " - "
    "edits_deletes",   // edited suffixes and deleted messages
    "media",           // attachments: files, captions, omitted markers, documents
    "no_lrm",          // iOS notices without their left-to-right mark
    "links",           // invite and phone links, obfuscated ones among them
];

/// What to render.
#[derive(Debug, Clone)]
pub struct ChatSpec {
    pub seed: u64,
    pub target: Target,
    pub locale: &'static str,
    /// Names from [`FLAGS`].
    pub flags: Vec<&'static str>,
    /// Ordinary messages (notices come on top).
    pub messages: usize,
}

impl ChatSpec {
    /// A spec with every flag off.
    pub fn new(seed: u64, target: Target, locale: &'static str, messages: usize) -> ChatSpec {
        ChatSpec {
            seed,
            target,
            locale,
            flags: vec![],
            messages,
        }
    }

    fn has(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }
}

/// A rendered export and what parsing it must give.
#[derive(Debug, Clone)]
pub struct RenderedChat {
    /// Files relative to the export's root folder, in writing order.
    pub files: Vec<(String, Vec<u8>)>,
    /// The path (relative) to hand to [`crate::parse_path`].
    pub entry: String,
    /// The expected parse. `n` and `line` included; `source` and `errors` empty.
    pub expected: Export,
    /// Media files that went into the chat, for the test hash list.
    pub media: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Clone)]
struct Person {
    first: &'static str,
    last: &'static str,
    /// E.164.
    phone: String,
    /// How phones print it.
    pretty: String,
    /// The region a parse must give (`None` for the UK drama range, invalid by design).
    #[cfg_attr(not(test), allow(dead_code))]
    region: Option<&'static str>,
    tg_id: u64,
}

impl Person {
    fn full(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

const FIRST: &[&str] = &[
    "Ada", "Bruno", "Chiara", "Dario", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Katia", "Luca", "Marta",
    "Nico", "Olga", "Pablo", "Rosa", "Sven", "Tania", "Ugo",
];
const LAST: &[&str] = &[
    "Fictus",
    "Examplar",
    "Testoni",
    "Muster",
    "Ficticio",
    "Modelo",
    "Placeholder",
    "Sampleby",
    "Dummont",
    "Probst",
];

/// Fictional numbers: reserved drama ranges where the country has them,
/// clearly synthetic 555-style subscriber parts elsewhere.
fn make_phone(rng: &mut Rng, i: usize) -> (String, String, Option<&'static str>) {
    let k = rng.next_u64() % 1000;
    match i % 6 {
        0 => (format!("+447700900{k:03}"), format!("+44 7700 900{k:03}"), None),
        1 => {
            let k = k % 100;
            (
                format!("+1415555{:04}", 100 + k),
                format!("+1 (415) 555-{:04}", 100 + k),
                Some("US"),
            )
        }
        2 => (
            format!("+34612555{k:03}"),
            format!("+34 612 55 5{} {:02}", k / 100, k % 100),
            Some("ES"),
        ),
        3 => (format!("+4915125550{k:03}"), format!("+49 1512 5550{k:03}"), Some("DE")),
        4 => (format!("+351912555{k:03}"), format!("+351 912 555 {k:03}"), Some("PT")),
        _ => (format!("+551195555{k:04}"), format!("+55 11 95555-{k:04}"), Some("BR")),
    }
}

#[derive(Debug, Clone)]
enum Act {
    E2e,
    Created {
        actor: usize,
        name: String,
    },
    Added {
        actor: usize,
        targets: Vec<usize>,
    },
    Joined {
        who: usize,
        inviter: usize,
    },
    Left {
        who: usize,
    },
    Removed {
        actor: usize,
        who: usize,
    },
    Subject {
        actor: usize,
        old: String,
        new: String,
    },
    Icon {
        actor: usize,
    },
    Description {
        actor: usize,
    },
    Security {
        who: usize,
    },
    Number {
        who: usize,
    },
    Deleted {
        author: usize,
    },
    Pinned {
        actor: usize,
        message: i64,
    },
    Migrated {
        actor: usize,
    },
    Msg {
        author: usize,
        text: String,
        media: Option<MediaSpec>,
        edited: bool,
        links: Vec<(LinkKind, String, String)>,
    },
}

#[derive(Debug, Clone)]
struct MediaSpec {
    kind: Media,
    /// The file is in the export (else an "omitted" marker).
    present: bool,
    seed: u64,
    doc_title: &'static str,
}

struct Truth {
    people: Vec<Person>,
    owner: usize,
    group_names: (String, String),
    timeline: Vec<(i64, i64, Act)>, // (utc seconds, telegram id, act)
    tz_minutes: i64,
}

const TOPICS: &[&str] = &[
    "the tomatoes are finally red",
    "who has the spare bike pump?",
    "chess club moved to Thursday",
    "the trail by the river is muddy again",
    "I baked too many lemon cakes",
    "clear skies tonight, Jupiter is up",
    "meeting at the usual bench",
    "does anyone know a good knot for tents",
    "the library has the new puzzle books",
    "rain expected, bring boots",
    "my sourdough starter survived the week",
    "the choir needs one more tenor",
];

fn pick<T: Clone>(rng: &mut Rng, items: &[T]) -> T {
    items[(rng.next_u64() % items.len() as u64) as usize].clone()
}

fn code(rng: &mut Rng, len: usize) -> String {
    const A: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    (0..len)
        .map(|_| A[(rng.next_u64() % A.len() as u64) as usize] as char)
        .collect()
}

fn world(spec: &ChatSpec) -> Truth {
    let mut rng = Rng::new(spec.seed);
    let n = 8;
    let mut people = Vec::new();
    for i in 0..n {
        let (phone, pretty, region) = make_phone(&mut rng, i + spec.seed as usize);
        let first = FIRST[(i * 7 + spec.seed as usize) % FIRST.len()];
        let mut last = LAST[(i * 3 + spec.seed as usize / 3) % LAST.len()];
        if spec.has("colon_names") && i == 5 {
            last = "Fictus - Bakery";
        }
        people.push(Person {
            first,
            last,
            phone,
            pretty,
            region,
            tg_id: 5_550_000 + i as u64 * 17 + spec.seed % 1000,
        });
    }
    let owner = 0;
    let name1 = if spec.has("colon_names") {
        "Garden club: 2024".to_string()
    } else {
        "Garden club".to_string()
    };
    let name2 = if spec.has("colon_names") {
        "Garden & Trails: spring".to_string()
    } else {
        "Garden and Trails".to_string()
    };
    let tz_minutes = [60i64, 0, -300, 120, -180][(spec.seed % 5) as usize];
    // A start whose local date keeps every day ≤ 12 when asked to.
    let base = LocalTime::new(
        2023,
        4 + (spec.seed % 6) as u8,
        if spec.has("ambiguous_dates") { 1 } else { 3 },
        8,
        0,
        0,
    )
    .expect("valid")
    .to_unix()
        - tz_minutes * 60;
    let span: i64 = if spec.has("ambiguous_dates") {
        7 * 86_400
    } else {
        25 * 86_400
    };
    let mut acts: Vec<Act> = Vec::new();
    let telegram = matches!(spec.target, Target::TelegramJson | Target::TelegramHtml);
    if !telegram {
        acts.push(Act::E2e);
    }
    acts.push(Act::Created {
        actor: 1,
        name: name1.clone(),
    });
    acts.push(Act::Added {
        actor: 1,
        targets: vec![0, 2, 3],
    });
    acts.push(Act::Added {
        actor: 0,
        targets: vec![4],
    });
    let mut body: Vec<Act> = Vec::new();
    for k in 0..spec.messages {
        let author = [0usize, 1, 2, 3, 4, 5, 6][(rng.next_u64() % 7) as usize];
        let mut text = pick(&mut rng, TOPICS).to_string();
        if spec.has("multiline") && k % 4 == 1 {
            text = format!("{text}\n12/03 at 15:00 by the lake\n11/3 same place, 7:30 AM?");
        } else if spec.has("multiline") && k % 4 == 3 {
            text = format!("{text}\n\nsecond paragraph: more on that later");
        }
        let mut links = Vec::new();
        if spec.has("links") && k % 3 == 0 {
            let c = code(&mut rng, 22);
            let (raw, kind, value, url) = match k % 5 {
                0 => (
                    format!("https://chat.whatsapp.com/{c}"),
                    LinkKind::WhatsappGroup,
                    c.clone(),
                    format!("https://chat.whatsapp.com/{c}"),
                ),
                1 => (
                    format!("hxxps://chat[.]whatsapp[.]com/{c}"),
                    LinkKind::WhatsappGroup,
                    c.clone(),
                    format!("https://chat.whatsapp.com/{c}"),
                ),
                2 => {
                    let p = &people[(k / 3) % n].phone;
                    (
                        format!("wa.me/{}", &p[1..]),
                        LinkKind::WhatsappPhone,
                        p.clone(),
                        format!("https://wa.me/{}", &p[1..]),
                    )
                }
                3 => (
                    format!("t.me/+{}", &c[..18]),
                    LinkKind::TelegramInvite,
                    c[..18].to_string(),
                    format!("https://t.me/+{}", &c[..18]),
                ),
                _ => (
                    format!("discord dot gg / {}", &c[..10]),
                    LinkKind::DiscordInvite,
                    c[..10].to_string(),
                    format!("https://discord.gg/{}", &c[..10]),
                ),
            };
            text = format!("{text} {raw}");
            links.push((kind, value, url));
            // A look-alike that must not be reported.
            if k % 2 == 0 {
                text.push_str(&format!(" (not chat-whatsapp.com.example/{c})"));
            }
        }
        let media = if spec.has("media") && k % 4 == 2 {
            let kind = [
                Media::Image,
                Media::Image,
                Media::Voice,
                Media::Document,
                Media::Contact,
                Media::Image,
            ][(k / 4) % 6];
            Some(MediaSpec {
                kind,
                present: (k / 4) % 5 != 3,
                seed: spec.seed * 1000 + k as u64,
                doc_title: "Trail map.pdf",
            })
        } else {
            None
        };
        let edited = spec.has("edits_deletes") && k % 7 == 5 && media.is_none();
        body.push(Act::Msg {
            author,
            text,
            media,
            edited,
            links,
        });
        if spec.has("edits_deletes") && k % 9 == 4 {
            body.push(Act::Deleted {
                author: if k % 2 == 0 { 0 } else { 3 },
            });
        }
        let event = match k {
            3 => Some(Act::Joined { who: 5, inviter: 1 }),
            6 => Some(Act::Subject {
                actor: 2,
                old: name1.clone(),
                new: name2.clone(),
            }),
            8 => Some(Act::Icon { actor: 1 }),
            10 => Some(Act::Description { actor: 1 }),
            12 => Some(Act::Joined { who: 6, inviter: 1 }),
            14 => Some(Act::Left { who: 4 }),
            16 => Some(Act::Removed { actor: 1, who: 6 }),
            18 => Some(Act::Security { who: 3 }),
            20 => Some(Act::Number { who: 2 }),
            22 => Some(Act::Pinned { actor: 1, message: 10 }),
            24 => Some(Act::Added {
                actor: 1,
                targets: vec![7, 4],
            }),
            _ => None,
        };
        if let Some(e) = event {
            if telegram && matches!(e, Act::Security { .. } | Act::Number { .. }) {
                continue;
            }
            if !telegram && matches!(e, Act::Pinned { .. }) {
                continue;
            }
            body.push(e);
        }
    }
    if telegram {
        body.push(Act::Migrated { actor: 1 });
    }
    acts.extend(body);
    let step = span / acts.len().max(1) as i64;
    let mut t = base;
    let mut timeline = Vec::new();
    for (i, act) in acts.into_iter().enumerate() {
        // Between half and one and a half steps: the chat spans at least half of `span`, at most 1.5×.
        t += step / 2 + (rng.next_u64() % step.max(2) as u64) as i64;
        timeline.push((t, 100 + i as i64, act));
    }
    Truth {
        people,
        owner,
        group_names: (name1, name2),
        timeline,
        tz_minutes,
    }
}

/// How a device labels each person: address-book name, number or push name.
fn labels(truth: &Truth, spec: &ChatSpec) -> Vec<String> {
    let telegram = matches!(spec.target, Target::TelegramJson | Target::TelegramHtml);
    truth
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if telegram || i == truth.owner || i % 2 == 1 {
                p.full()
            } else if spec.has("push_names") && i % 4 == 2 {
                format!("~\u{202F}{}", p.first)
            } else if spec.has("bidi") {
                format!(
                    "\u{202A}{}\u{202C}",
                    if spec.target == Target::WhatsappIos {
                        p.pretty.replace('-', "\u{2011}")
                    } else {
                        p.pretty.clone()
                    }
                )
            } else {
                p.pretty.clone()
            }
        })
        .collect()
}

fn lang_of(locale: &str) -> &'static str {
    match &locale[..2] {
        "it" => "it",
        "es" => "es",
        "pt" => "pt",
        "de" => "de",
        "fr" => "fr",
        _ => "en",
    }
}

/// The header of a WhatsApp line in `locale`.
fn wa_header(t: &LocalTime, locale: &str, ios: bool, nnbsp: bool) -> String {
    let yy = t.year % 100;
    let sp = if nnbsp { "\u{202F}" } else { " " };
    let (h12, ampm) = (
        if t.hour.is_multiple_of(12) { 12 } else { t.hour % 12 },
        if t.hour < 12 { "AM" } else { "PM" },
    );
    let secs = if ios {
        format!(":{:02}", t.second)
    } else {
        String::new()
    };
    let (date, time) = match locale {
        "en-US" => (
            format!("{}/{}/{yy:02}", t.month, t.day),
            format!("{h12}:{:02}{secs}{sp}{ampm}", t.minute),
        ),
        "en-GB" => (
            format!("{:02}/{:02}/{}", t.day, t.month, t.year),
            format!("{:02}:{:02}{secs}", t.hour, t.minute),
        ),
        "it-IT" => (
            format!("{:02}/{:02}/{yy:02}", t.day, t.month),
            format!("{:02}:{:02}{secs}", t.hour, t.minute),
        ),
        "es-ES" => (
            format!("{}/{}/{yy:02}", t.day, t.month),
            format!("{}:{:02}{secs}", t.hour, t.minute),
        ),
        "pt-BR" => (
            format!("{:02}/{:02}/{}", t.day, t.month, t.year),
            format!("{:02}:{:02}{secs}", t.hour, t.minute),
        ),
        "de-DE" => (
            format!("{:02}.{:02}.{yy:02}", t.day, t.month),
            format!("{:02}:{:02}{secs}", t.hour, t.minute),
        ),
        _ => (
            format!("{:02}/{:02}/{}", t.day, t.month, t.year),
            format!("{:02}:{:02}{secs}", t.hour, t.minute),
        ),
    };
    let comma = if matches!(locale, "es-ES" | "fr-FR") || (locale == "pt-BR" && !ios) {
        ""
    } else {
        ","
    };
    if ios {
        format!("[{date}{comma} {time}] ")
    } else {
        format!("{date}{comma} {time} - ")
    }
}

fn phrase(
    lang: &str,
    event: EventType,
    you_actor: bool,
    you_target: bool,
    two_numbers: bool,
    rng: &mut Rng,
) -> Option<&'static phrases::Phrase> {
    let c: Vec<&phrases::Phrase> = PHRASES
        .iter()
        .filter(|p| p.lang == lang && p.event == event && p.you_actor == you_actor && p.you_target == you_target)
        .filter(|p| event != EventType::NumberChanged || p.template.contains("{O}") == two_numbers)
        .filter(|p| !p.template.contains("{A}") || !you_actor)
        .filter(|p| !(event == EventType::MemberAdded && !you_target && p.template == "You were added"))
        .collect();
    if c.is_empty() {
        None
    } else {
        Some(c[(rng.next_u64() % c.len() as u64) as usize])
    }
}

fn media_name(m: &MediaSpec, ios: bool, t: &LocalTime, counter: usize, owner_name: &str) -> String {
    if ios {
        let kind = match m.kind {
            Media::Image => "PHOTO",
            Media::Voice => "AUDIO",
            _ => "",
        };
        match m.kind {
            Media::Document => format!("{counter:08}-{}", m.doc_title),
            Media::Contact => format!("{counter:08}-{owner_name}.vcf"),
            _ => format!(
                "{counter:08}-{kind}-{:04}-{:02}-{:02}-{:02}-{:02}-{:02}.{}",
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second,
                if m.kind == Media::Voice { "opus" } else { "jpg" }
            ),
        }
    } else {
        let d = format!("{:04}{:02}{:02}", t.year, t.month, t.day);
        match m.kind {
            Media::Image => format!("IMG-{d}-WA{counter:04}.jpg"),
            Media::Voice => format!("PTT-{d}-WA{counter:04}.opus"),
            // Names repeat within a chat only with a counter (a zip rejects duplicates).
            Media::Document => format!("Trail map {counter}.pdf"),
            _ => format!("{owner_name} {counter}.vcf"),
        }
    }
}

fn media_bytes(m: &MediaSpec, name: &str) -> Vec<u8> {
    match m.kind {
        Media::Image => ::synth::jpeg(&::synth::photo(m.seed, 64, 48), 85),
        Media::Voice => b"OggS synthetic fixture, no audio".to_vec(),
        Media::Document => b"%PDF-1.4\n% synthetic fixture document\n".to_vec(),
        _ => format!("BEGIN:VCARD\nVERSION:3.0\nFN:{name}\nNOTE:synthetic fixture\nEND:VCARD\n").into_bytes(),
    }
}

/// Renders one chat as `spec` asks.
pub fn chat(spec: &ChatSpec) -> RenderedChat {
    let truth = world(spec);
    match spec.target {
        Target::WhatsappAndroid | Target::WhatsappIos => render_whatsapp(&truth, spec),
        Target::TelegramJson => render_telegram_json(&truth, spec),
        Target::TelegramHtml => render_telegram_html(&truth, spec),
    }
}

fn sys(ts: LocalTime, text: String, event: Option<Event>) -> Message {
    Message {
        n: 0,
        line: 0,
        id: None,
        kind: Kind::System,
        timestamp: Some(ts),
        timestamp_utc: None,
        sender: None,
        text,
        attachment: None,
        event,
        links: vec![],
        edited: false,
    }
}

fn render_whatsapp(truth: &Truth, spec: &ChatSpec) -> RenderedChat {
    let ios = spec.target == Target::WhatsappIos;
    let lang = lang_of(spec.locale);
    let mut rng = Rng::new(spec.seed ^ 0xA11CE);
    let labels = labels(truth, spec);
    let norm = |s: &str| text::normalize(s);
    let label = |i: usize| labels[i].clone();
    let and = phrases::and_word(lang);
    let group_at_export = truth.group_names.1.clone();
    let lrm = if spec.has("no_lrm") { "" } else { "\u{200E}" };
    let mut lines: Vec<String> = Vec::new();
    let mut expected: Vec<Message> = Vec::new();
    let mut media_files = Vec::new();
    let mut counter = 0usize;
    for (utc, _, act) in &truth.timeline {
        let mut ts = LocalTime::from_unix(utc + truth.tz_minutes * 60);
        if !ios {
            ts.second = 0;
        }
        let header = wa_header(&ts, spec.locale, ios, spec.has("nnbsp"));
        let line_no = lines.len() + 1;
        // A notice: the template, who it is about, and the iOS pseudo-sender.
        let notice = |event: EventType,
                      actor: Option<usize>,
                      targets: &[usize],
                      value: &str,
                      old: &str,
                      pseudo: String,
                      rng: &mut Rng|
         -> Option<(String, Message)> {
            let you_actor = actor == Some(truth.owner) && !matches!(event, EventType::MemberLeft);
            let you_target = targets == [truth.owner];
            let two = event == EventType::NumberChanged
                && labels[actor.unwrap_or(0)]
                    .trim_start_matches('\u{202A}')
                    .starts_with('+');
            let p = phrase(lang, event, you_actor, you_target, two, rng)?;
            let a = actor.map(label).unwrap_or_default();
            let ts_names: Vec<String> = targets.iter().map(|&t| label(t)).collect();
            let (a_txt, o_txt, v_txt) = if two {
                let new = format!(
                    "{} 1",
                    &truth.people[actor.unwrap_or(0)].pretty[..truth.people[actor.unwrap_or(0)].pretty.len() - 1]
                );
                (a.clone(), a.clone(), new)
            } else {
                (a.clone(), old.to_string(), value.to_string())
            };
            let rendered = phrases::render(p.template, &a_txt, &ts_names, &v_txt, &o_txt, and);
            let line = if ios {
                format!("{header}{pseudo}: {lrm}{rendered}")
            } else {
                format!("{header}{rendered}")
            };
            let exp_actor = if p.you_actor {
                Some(YOU.to_string())
            } else if two || p.template.contains("{A}") {
                Some(norm(&a))
            } else {
                None
            };
            let exp_targets = if p.you_target {
                vec![YOU.to_string()]
            } else if event == EventType::MemberLeft {
                exp_actor.iter().cloned().collect()
            } else {
                ts_names.iter().map(|t| norm(t)).collect()
            };
            let e = Event {
                kind: event,
                actor: exp_actor,
                targets: exp_targets,
                value: (p.template.contains("{V}")).then(|| norm(&v_txt)),
                old_value: (p.template.contains("{O}")).then(|| norm(&o_txt)),
            };
            // The text is the notice as written (bidi marks, narrow spaces and
            // non-breaking hyphens of the names in it included); names in the
            // event are the normalised ones the parser matches on.
            Some((line, sys(ts, rendered, Some(e))))
        };
        let group_pseudo = group_at_export.clone();
        let produced: Option<(String, Message)> = match act {
            Act::E2e => notice(EventType::E2eNotice, None, &[], "", "", group_pseudo, &mut rng).map(|(l, mut m)| {
                if let Some(e) = m.event.as_mut() {
                    e.value = None;
                }
                (l, m)
            }),
            Act::Created { actor, name } => notice(
                EventType::GroupCreated,
                Some(*actor),
                &[],
                name,
                "",
                group_pseudo,
                &mut rng,
            ),
            Act::Added { actor, targets } => {
                if targets.contains(&truth.owner) && targets.len() > 1 {
                    // "A added you" and "A added B, C" are separate notices.
                    let others: Vec<usize> = targets.iter().copied().filter(|&t| t != truth.owner).collect();
                    let first = notice(
                        EventType::MemberAdded,
                        Some(*actor),
                        &[truth.owner],
                        "",
                        "",
                        group_pseudo.clone(),
                        &mut rng,
                    );
                    if let Some((l, mut m)) = first {
                        m.line = line_no;
                        lines.push(l);
                        expected.push(m);
                    }
                    let line_no = lines.len() + 1;
                    notice(
                        EventType::MemberAdded,
                        Some(*actor),
                        &others,
                        "",
                        "",
                        group_pseudo,
                        &mut rng,
                    )
                    .map(|(l, mut m)| {
                        m.line = line_no;
                        (l, m)
                    })
                } else {
                    notice(
                        EventType::MemberAdded,
                        Some(*actor),
                        targets,
                        "",
                        "",
                        group_pseudo,
                        &mut rng,
                    )
                }
            }
            Act::Joined { who, .. } => notice(
                EventType::MemberJoinedViaLink,
                None,
                &[*who],
                "",
                "",
                label(*who),
                &mut rng,
            ),
            Act::Left { who } => notice(EventType::MemberLeft, Some(*who), &[], "", "", label(*who), &mut rng),
            Act::Removed { actor, who } => notice(
                EventType::MemberRemoved,
                Some(*actor),
                &[*who],
                "",
                "",
                group_pseudo,
                &mut rng,
            ),
            Act::Subject { actor, old, new } => notice(
                EventType::SubjectChanged,
                Some(*actor),
                &[],
                new,
                old,
                group_pseudo,
                &mut rng,
            ),
            Act::Icon { actor } => notice(
                EventType::IconChanged,
                Some(*actor),
                &[],
                "",
                "",
                group_pseudo,
                &mut rng,
            ),
            Act::Description { actor } => notice(
                EventType::DescriptionChanged,
                Some(*actor),
                &[],
                "",
                "",
                group_pseudo,
                &mut rng,
            ),
            Act::Security { who } => notice(
                EventType::SecurityCodeChanged,
                None,
                &[*who],
                "",
                "",
                label(*who),
                &mut rng,
            ),
            Act::Number { who } => notice(EventType::NumberChanged, Some(*who), &[], "", "", label(*who), &mut rng),
            Act::Deleted { author } => {
                let you = *author == truth.owner;
                phrase(lang, EventType::MessageDeleted, you, false, false, &mut rng).map(|p| {
                    let rendered = format!(
                        "{}{}",
                        phrases::render(p.template, "", &[], "", "", and),
                        if ios && !you { "." } else { "" }
                    );
                    let line = if ios {
                        format!("{header}{}: {lrm}{rendered}", label(*author))
                    } else {
                        format!("{header}{}: {rendered}", label(*author))
                    };
                    let actor = if you { YOU.to_string() } else { norm(&label(*author)) };
                    (
                        line,
                        sys(
                            ts,
                            rendered.clone(),
                            Some(Event {
                                kind: EventType::MessageDeleted,
                                actor: Some(actor),
                                targets: vec![],
                                value: None,
                                old_value: None,
                            }),
                        ),
                    )
                })
            }
            Act::Pinned { .. } | Act::Migrated { .. } => None,
            Act::Msg {
                author,
                text,
                media,
                edited,
                links,
            } => {
                let who = label(*author);
                let mut body_lines: Vec<String> = text.split('\n').map(str::to_string).collect();
                let mut attachment = None;
                let mut exp_text = text.clone();
                if let Some(m) = media {
                    counter += 1;
                    let name = media_name(m, ios, &ts, counter, &truth.people[truth.owner].full());
                    if m.present {
                        media_files.push((name.clone(), media_bytes(m, &truth.people[truth.owner].full())));
                    }
                    let media_kind = if ios && m.kind == Media::Voice {
                        Media::Audio
                    } else {
                        m.kind
                    };
                    if ios {
                        let marker = if m.present {
                            let label = phrases::IOS_ATTACHED
                                .iter()
                                .find(|(l, _)| *l == lang)
                                .map(|(_, s)| *s)
                                .unwrap_or("attached");
                            let shown = if lang == "fr" {
                                format!("< {label} : {name} >")
                            } else {
                                format!("<{label}: {name}>")
                            };
                            if m.kind == Media::Document {
                                format!("{} • 2 pages {shown}", m.doc_title)
                            } else {
                                shown
                            }
                        } else {
                            let kind = if m.kind == Media::Voice { Media::Audio } else { m.kind };
                            let word = phrases::IOS_OMITTED
                                .iter()
                                .find(|(l, k, _)| *l == lang && *k == kind)
                                .map(|(_, _, w)| *w)
                                .unwrap_or("document omitted");
                            if m.kind == Media::Document {
                                format!("{} • 2 pages {word}", m.doc_title)
                            } else {
                                word.to_string()
                            }
                        };
                        // iOS drops captions.
                        body_lines = vec![format!("{lrm}{marker}")];
                        exp_text = String::new();
                        let omitted_kind = phrases::IOS_OMITTED
                            .iter()
                            .find(|(l, k, _)| *l == lang && *k == media_kind)
                            .map(|(_, k, _)| *k)
                            .unwrap_or(Media::Document);
                        attachment = Some(if m.present {
                            Attachment {
                                filename: Some(name.clone()),
                                media: media_kind,
                                omitted: false,
                            }
                        } else if m.kind == Media::Document {
                            Attachment {
                                filename: Some(m.doc_title.to_string()),
                                media: Media::Document,
                                omitted: true,
                            }
                        } else {
                            Attachment {
                                filename: None,
                                media: omitted_kind,
                                omitted: true,
                            }
                        });
                    } else {
                        let marker = if m.present {
                            let word = phrases::ANDROID_ATTACHED
                                .iter()
                                .find(|(l, _)| *l == lang)
                                .map(|(_, s)| *s)
                                .unwrap_or("(file attached)");
                            if m.kind == Media::Document {
                                format!("{name} • 2 pages {word}")
                            } else {
                                format!("{name} {word}")
                            }
                        } else {
                            phrases::ANDROID_OMITTED
                                .iter()
                                .find(|(l, _)| *l == lang)
                                .map(|(_, s)| s.to_string())
                                .unwrap_or_default()
                        };
                        body_lines.insert(0, marker);
                        attachment = Some(if m.present {
                            Attachment {
                                filename: Some(name.clone()),
                                media: media_kind,
                                omitted: false,
                            }
                        } else {
                            Attachment {
                                filename: None,
                                media: Media::Unknown,
                                omitted: true,
                            }
                        });
                    }
                }
                if *edited {
                    let suffix = phrases::EDITED
                        .iter()
                        .find(|(l, _)| *l == lang)
                        .map(|(_, s)| *s)
                        .unwrap_or("");
                    if let Some(last) = body_lines.last_mut() {
                        last.push(' ');
                        last.push_str(suffix);
                    }
                }
                let line = format!("{header}{who}: {}", body_lines.join("\n"));
                let exp_links = if exp_text.is_empty() {
                    vec![]
                } else {
                    links.iter().map(|(k, v, u)| link_of(*k, v, u)).collect()
                };
                Some((
                    line,
                    Message {
                        n: 0,
                        line: 0,
                        id: None,
                        kind: Kind::Message,
                        timestamp: Some(ts),
                        timestamp_utc: None,
                        sender: Some(norm(&who)),
                        text: exp_text,
                        attachment,
                        event: None,
                        links: exp_links,
                        edited: *edited,
                    },
                ))
            }
        };
        if let Some((l, mut m)) = produced {
            m.line = lines.len() + 1;
            lines.extend(l.split('\n').map(str::to_string));
            expected.push(m);
        }
    }
    for (i, m) in expected.iter_mut().enumerate() {
        m.n = i + 1;
    }
    let eol = if spec.has("crlf") { "\r\n" } else { "\n" };
    let mut txt = String::new();
    if spec.has("bom") {
        txt.push('\u{FEFF}');
    }
    for l in &lines {
        txt.push_str(l);
        txt.push_str(eol);
    }
    let prefix = phrases::FILE_PREFIXES
        .iter()
        .find(|(l, _)| *l == lang)
        .map(|(_, p)| *p)
        .unwrap_or("WhatsApp Chat with ");
    let safe_group = group_at_export.replace(':', "");
    let (txt_name, entry) = if ios {
        ("_chat.txt".to_string(), format!("WhatsApp Chat - {safe_group}.zip"))
    } else {
        (format!("{prefix}{safe_group}.txt"), String::new())
    };
    let files_in_zip: Vec<(String, Vec<u8>)> = std::iter::once((txt_name.clone(), txt.into_bytes()))
        .chain(media_files.iter().cloned())
        .collect();
    let (files, entry) = if ios || spec.has("media") {
        let zip_name = if ios {
            entry
        } else {
            format!("{prefix}{safe_group}.zip")
        };
        (vec![(zip_name.clone(), zip_of(&files_in_zip))], zip_name)
    } else {
        (files_in_zip, txt_name.clone())
    };
    let participants_labels: Vec<String> = {
        let mut v = Vec::new();
        for m in &expected {
            if let Some(s) = &m.sender {
                v.push(s.clone());
            }
            if let Some(e) = &m.event {
                if e.kind == EventType::NumberChanged {
                    continue;
                }
                v.extend(e.actor.clone());
                v.extend(e.targets.clone());
            }
        }
        v
    };
    let expected = Export {
        source: String::new(),
        platform: Platform::Whatsapp,
        variant: if ios { Variant::Ios } else { Variant::Android },
        locale: Some(lang.to_string()),
        date_order: Some(match spec.locale {
            "en-US" => DateOrder::Mdy,
            _ => DateOrder::Dmy,
        }),
        date_order_assumed: spec.has("ambiguous_dates"),
        clock: Some(if spec.locale == "en-US" { Clock::H12 } else { Clock::H24 }),
        group_name: Some(if ios { safe_group.clone() } else { safe_group }),
        exporter: None,
        participants: participants(participants_labels.iter().map(String::as_str)),
        messages: expected,
        errors: vec![],
    };
    RenderedChat {
        files,
        entry,
        expected,
        media: media_files,
    }
}

fn link_of(kind: LinkKind, value: &str, url: &str) -> MessageLink {
    let phone = matches!(kind, LinkKind::WhatsappPhone | LinkKind::TelegramPhone);
    MessageLink {
        kind,
        code: (!phone).then(|| value.to_string()),
        phone_e164: phone.then(|| value.to_string()),
        url: url.to_string(),
    }
}

fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(name.as_str(), options).expect("zip entry in memory");
        w.write_all(bytes).expect("zip write in memory");
    }
    w.finish().expect("zip in memory").into_inner()
}

fn tg_name(truth: &Truth, i: usize, spec: &ChatSpec) -> Option<String> {
    // With the flag, one member deleted their account: the export keeps only the id.
    if spec.has("edits_deletes") && i == 3 {
        None
    } else {
        Some(truth.people[i].full())
    }
}

fn tg_label(truth: &Truth, i: usize, spec: &ChatSpec) -> String {
    tg_name(truth, i, spec).unwrap_or_else(|| crate::telegram_deleted_label(&format!("user{}", truth.people[i].tg_id)))
}

/// The label a parse gives a deleted account in a service message's member
/// list: the export writes `null` there with no id, so the account is known
/// only by its place (`k`, from 1) in that message's list.
fn tg_deleted_member(k: usize, message_id: i64) -> String {
    format!("Deleted Account (member {k} of message {message_id})")
}

fn render_telegram_json(truth: &Truth, spec: &ChatSpec) -> RenderedChat {
    use serde_json::{json, Value};
    let mut msgs: Vec<Value> = Vec::new();
    let mut expected = Vec::new();
    let mut media_files = Vec::new();
    let label = |i: usize| tg_label(truth, i, spec);
    let name_json = |i: usize| tg_name(truth, i, spec).map(Value::String).unwrap_or(Value::Null);
    // The labels of a rendered member list: a name, or for a deleted account
    // (a `null` in the list) its place in the list of message `id`.
    let member_labels = |members: &[usize], id: i64| -> Vec<String> {
        members
            .iter()
            .enumerate()
            .map(|(k, &t)| tg_name(truth, t, spec).unwrap_or_else(|| tg_deleted_member(k + 1, id)))
            .collect()
    };
    for (utc, id, act) in &truth.timeline {
        let local = LocalTime::from_unix(utc + truth.tz_minutes * 60);
        let mut m = json!({"id": id, "type": "service", "date": local.iso(), "date_unixtime": utc.to_string()});
        let ev = |kind, actor: Option<String>, targets: Vec<String>, value: Option<String>| {
            Some(Event {
                kind,
                actor,
                targets,
                value,
                old_value: None,
            })
        };
        let (action, event): (Option<Value>, Option<Event>) = match act {
            Act::Created { actor, name } => {
                // The members the creator started the group with.
                let members = [0, 2];
                (
                    Some(
                        json!({"action": "create_group", "actor": name_json(*actor), "title": name, "members": members.iter().map(|&t| name_json(t)).collect::<Vec<_>>()}),
                    ),
                    ev(
                        EventType::GroupCreated,
                        Some(label(*actor)),
                        member_labels(&members, *id),
                        Some(name.clone()),
                    ),
                )
            }
            Act::Added { actor, targets } => (
                Some(
                    json!({"action": "invite_members", "actor": name_json(*actor), "members": targets.iter().map(|&t| name_json(t)).collect::<Vec<_>>()}),
                ),
                ev(
                    EventType::MemberAdded,
                    Some(label(*actor)),
                    member_labels(targets, *id),
                    None,
                ),
            ),
            Act::Joined { who, inviter } => (
                Some(json!({"action": "join_group_by_link", "actor": name_json(*who), "inviter": name_json(*inviter)})),
                ev(
                    EventType::MemberJoinedViaLink,
                    Some(label(*inviter)),
                    vec![label(*who)],
                    None,
                ),
            ),
            Act::Left { who } => (
                Some(json!({"action": "remove_members", "actor": name_json(*who), "members": [name_json(*who)]})),
                ev(EventType::MemberLeft, Some(label(*who)), vec![label(*who)], None),
            ),
            Act::Removed { actor, who } => (
                Some(json!({"action": "remove_members", "actor": name_json(*actor), "members": [name_json(*who)]})),
                ev(
                    EventType::MemberRemoved,
                    Some(label(*actor)),
                    member_labels(&[*who], *id),
                    None,
                ),
            ),
            Act::Subject { actor, new, .. } => (
                Some(json!({"action": "edit_group_title", "actor": name_json(*actor), "title": new})),
                ev(
                    EventType::SubjectChanged,
                    Some(label(*actor)),
                    vec![],
                    Some(new.clone()),
                ),
            ),
            Act::Icon { actor } => (
                Some(
                    json!({"action": "edit_group_photo", "actor": name_json(*actor), "photo": "(File not included. Change data exporting settings to download.)"}),
                ),
                ev(EventType::IconChanged, Some(label(*actor)), vec![], None),
            ),
            Act::Pinned { actor, message } => (
                Some(json!({"action": "pin_message", "actor": name_json(*actor), "message_id": message})),
                ev(
                    EventType::MessagePinned,
                    Some(label(*actor)),
                    vec![],
                    Some(message.to_string()),
                ),
            ),
            Act::Migrated { actor } => (
                Some(json!({"action": "migrate_to_supergroup", "actor": name_json(*actor)})),
                ev(EventType::MigratedToSupergroup, Some(label(*actor)), vec![], None),
            ),
            Act::Description { .. } | Act::E2e | Act::Security { .. } | Act::Number { .. } | Act::Deleted { .. } => {
                continue
            }
            Act::Msg { .. } => (None, None),
        };
        let actor_id = |i: usize| format!("user{}", truth.people[i].tg_id);
        if let Some(Value::Object(a)) = action {
            let obj = m.as_object_mut().expect("object");
            for (k, v) in a {
                obj.insert(k, v);
            }
            let actor_idx = match act {
                Act::Created { actor, .. }
                | Act::Added { actor, .. }
                | Act::Removed { actor, .. }
                | Act::Subject { actor, .. }
                | Act::Icon { actor }
                | Act::Pinned { actor, .. }
                | Act::Migrated { actor } => *actor,
                Act::Joined { who, .. } | Act::Left { who } => *who,
                _ => 0,
            };
            obj.insert("actor_id".into(), json!(actor_id(actor_idx)));
            obj.insert("text".into(), json!(""));
            msgs.push(m);
            expected.push(Message {
                n: 0,
                line: 0,
                id: Some(*id),
                kind: Kind::System,
                timestamp: Some(local),
                timestamp_utc: Some(*utc),
                sender: None,
                text: String::new(),
                attachment: None,
                event,
                links: vec![],
                edited: false,
            });
            continue;
        }
        let Act::Msg {
            author,
            text,
            media,
            edited,
            links,
        } = act
        else {
            continue;
        };
        let obj = m.as_object_mut().expect("object");
        obj.insert("type".into(), json!("message"));
        obj.insert("from".into(), name_json(*author));
        obj.insert("from_id".into(), json!(actor_id(*author)));
        if *edited {
            obj.insert("edited".into(), json!(local.iso()));
        }
        // Links as text_link entities: the URL is only in "href".
        let mut exp_links: Vec<MessageLink> = links.iter().map(|(k, v, u)| link_of(*k, v, u)).collect();
        if spec.has("links") && !links.is_empty() {
            let (k, v, u) = &links[0];
            let _ = (k, v);
            obj.insert(
                "text".into(),
                json!([text, " ", {"type": "text_link", "text": "our group", "href": u}]),
            );
            let full = format!("{text} our group");
            exp_links.dedup_by(|a, b| a.url == b.url);
            expected_text_push(
                &mut expected,
                *id,
                local,
                *utc,
                label(*author),
                full,
                exp_links,
                *edited,
                None,
            );
        } else {
            obj.insert("text".into(), json!(text));
            let mut attachment = None;
            if let Some(ms) = media {
                let name = match ms.kind {
                    Media::Image => format!(
                        "photos/photo_{id}@{:02}-{:02}-{}_{:02}-{:02}-{:02}.jpg",
                        local.day, local.month, local.year, local.hour, local.minute, local.second
                    ),
                    Media::Voice => format!(
                        "voice_messages/audio_{id}@{:02}-{:02}-{}_{:02}-{:02}-{:02}.ogg",
                        local.day, local.month, local.year, local.hour, local.minute, local.second
                    ),
                    _ => format!("files/{}", ms.doc_title),
                };
                let path = if ms.present {
                    name.clone()
                } else {
                    "(File not included. Change data exporting settings to download.)".to_string()
                };
                if ms.present {
                    media_files.push((name.clone(), media_bytes(ms, "fixture")));
                }
                match ms.kind {
                    Media::Image => {
                        obj.insert("photo".into(), json!(path));
                        obj.insert("width".into(), json!(64));
                        obj.insert("height".into(), json!(48));
                        attachment = Some(Attachment {
                            filename: ms.present.then(|| name.clone()),
                            media: Media::Image,
                            omitted: !ms.present,
                        });
                    }
                    _ => {
                        obj.insert("file".into(), json!(path));
                        let (mt, media) = if ms.kind == Media::Voice {
                            (Some("voice_message"), Media::Voice)
                        } else {
                            (None, Media::Document)
                        };
                        if let Some(mt) = mt {
                            obj.insert("media_type".into(), json!(mt));
                        }
                        obj.insert("file_name".into(), json!(ms.doc_title));
                        let filename = if ms.present {
                            Some(name.clone())
                        } else {
                            Some(ms.doc_title.to_string())
                        };
                        attachment = Some(Attachment {
                            filename,
                            media,
                            omitted: !ms.present,
                        });
                    }
                }
            }
            expected_text_push(
                &mut expected,
                *id,
                local,
                *utc,
                label(*author),
                text.clone(),
                exp_links,
                *edited,
                attachment,
            );
        }
        msgs.push(m);
    }
    for (i, m) in expected.iter_mut().enumerate() {
        m.n = i + 1;
    }
    let doc = json!({"name": truth.group_names.1, "type": "private_supergroup", "id": 4_200_000 + spec.seed % 1000, "messages": msgs});
    let mut text = serde_json::to_string_pretty(&doc).expect("json");
    text.push('\n');
    // Each message's line: the line of its opening brace in the pretty output.
    let mut k = 0;
    for (i, l) in text.lines().enumerate() {
        if l == "    {" && k < expected.len() {
            expected[k].line = i + 1;
            k += 1;
        }
    }
    let mut labels: Vec<String> = Vec::new();
    for m in &expected {
        labels.extend(m.sender.clone());
        if let Some(e) = &m.event {
            labels.extend(e.actor.clone());
            labels.extend(e.targets.clone());
        }
    }
    let mut files = vec![("result.json".to_string(), text.into_bytes())];
    files.extend(media_files.iter().cloned());
    RenderedChat {
        files,
        entry: "result.json".into(),
        expected: Export {
            source: String::new(),
            platform: Platform::Telegram,
            variant: Variant::DesktopJson,
            locale: None,
            date_order: None,
            date_order_assumed: false,
            clock: None,
            group_name: Some(truth.group_names.1.clone()),
            exporter: None,
            participants: participants(labels.iter().map(String::as_str)),
            messages: expected,
            errors: vec![],
        },
        media: media_files,
    }
}

#[allow(clippy::too_many_arguments)]
fn expected_text_push(
    out: &mut Vec<Message>,
    id: i64,
    local: LocalTime,
    utc: i64,
    sender: String,
    text: String,
    links: Vec<MessageLink>,
    edited: bool,
    attachment: Option<Attachment>,
) {
    out.push(Message {
        n: 0,
        line: 0,
        id: Some(id),
        kind: Kind::Message,
        timestamp: Some(local),
        timestamp_utc: Some(utc),
        sender: Some(sender),
        text,
        attachment,
        event: None,
        links,
        edited,
    });
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render_telegram_html(truth: &Truth, spec: &ChatSpec) -> RenderedChat {
    let label = |i: usize| tg_label(truth, i, spec);
    let mut pages: Vec<String> = Vec::new();
    let mut expected = Vec::new();
    let mut page = String::new();
    let mut last_from: Option<usize> = None;
    let offset = truth.tz_minutes;
    let sign = if offset < 0 { '-' } else { '+' };
    let zone = format!("UTC{sign}{:02}:{:02}", offset.abs() / 60, offset.abs() % 60);
    let start_page = |page: &mut String| {
        page.clear();
        let _ = write!(page, "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"/><title>Exported Data</title></head>\n<body>\n<div class=\"page_wrap\">\n<div class=\"page_header\"><div class=\"content\"><div class=\"text bold\">{}</div></div></div>\n<div class=\"page_body chat_page\"><div class=\"history\">\n", html_escape(&truth.group_names.1));
    };
    start_page(&mut page);
    let mut on_page = 0;
    for (utc, id, act) in &truth.timeline {
        let local = LocalTime::from_unix(utc + offset * 60);
        let text_of_service = match act {
            Act::Created { actor, name } => Some(format!("{} created group «{}»", label(*actor), name)),
            Act::Added { actor, targets } => Some(format!(
                "{} invited {}",
                label(*actor),
                targets.iter().map(|&t| label(t)).collect::<Vec<_>>().join(", ")
            )),
            Act::Joined { who, .. } => Some(format!("{} joined group by link", label(*who))),
            Act::Left { who } => Some(format!("{} left group", label(*who))),
            Act::Removed { actor, who } => Some(format!("{} removed {}", label(*actor), label(*who))),
            Act::Subject { actor, new, .. } => Some(format!("{} changed group title to «{}»", label(*actor), new)),
            Act::Icon { actor } => Some(format!("{} changed group photo", label(*actor))),
            Act::Pinned { actor, .. } => Some(format!("{} pinned a message", label(*actor))),
            Act::Migrated { .. } => Some("This group was converted to a supergroup".to_string()),
            Act::Msg { .. } => None,
            _ => continue,
        };
        if on_page == 40 {
            page.push_str("</div></div></div>\n</body>\n</html>\n");
            pages.push(page.clone());
            start_page(&mut page);
            on_page = 0;
            last_from = None;
        }
        on_page += 1;
        let line = page.lines().count() + 1;
        let page_no = pages.len();
        if let Some(t) = text_of_service {
            let _ = writeln!(
                page,
                "<div class=\"message service\" id=\"message{id}\">\n<div class=\"body details\">\n{}\n</div>\n</div>",
                html_escape(&t)
            );
            last_from = None;
            expected.push((
                page_no,
                Message {
                    n: 0,
                    line,
                    id: Some(*id),
                    kind: Kind::System,
                    timestamp: None,
                    timestamp_utc: None,
                    sender: None,
                    text: t,
                    attachment: None,
                    event: None,
                    links: vec![],
                    edited: false,
                },
            ));
            continue;
        }
        let Act::Msg {
            author,
            text,
            media,
            links,
            ..
        } = act
        else {
            continue;
        };
        let joined = last_from == Some(*author) && media.is_none();
        last_from = Some(*author);
        let title = format!(
            "{:02}.{:02}.{} {:02}:{:02}:{:02} {zone}",
            local.day, local.month, local.year, local.hour, local.minute, local.second
        );
        let _ = write!(page, "<div class=\"message default clearfix{}\" id=\"message{id}\">\n<div class=\"body\">\n<div class=\"pull_right date details\" title=\"{title}\">{:02}:{:02}</div>\n", if joined { " joined" } else { "" }, local.hour, local.minute);
        if !joined {
            let _ = writeln!(
                page,
                "<div class=\"from_name\">\n{}\n</div>",
                html_escape(&label(*author))
            );
        }
        let body = html_escape(text).replace('\n', "<br>");
        let _ = writeln!(page, "<div class=\"text\">\n{body}\n</div>\n</div>\n</div>");
        let exp_links: Vec<MessageLink> = links.iter().map(|(k, v, u)| link_of(*k, v, u)).collect();
        expected.push((
            page_no,
            Message {
                n: 0,
                line,
                id: Some(*id),
                kind: Kind::Message,
                timestamp: Some(local),
                timestamp_utc: Some(*utc),
                sender: Some(label(*author)),
                text: text.clone(),
                attachment: None,
                event: None,
                links: exp_links,
                edited: false,
            },
        ));
    }
    page.push_str("</div></div></div>\n</body>\n</html>\n");
    pages.push(page);
    let messages: Vec<Message> = expected
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut m))| {
            m.n = i + 1;
            m
        })
        .collect();
    let files: Vec<(String, Vec<u8>)> = pages
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            (
                if i == 0 {
                    "messages.html".to_string()
                } else {
                    format!("messages{}.html", i + 1)
                },
                p.into_bytes(),
            )
        })
        .collect();
    let labels: Vec<&str> = messages.iter().filter_map(|m| m.sender.as_deref()).collect();
    let participants = participants(labels);
    RenderedChat {
        files,
        entry: String::new(),
        expected: Export {
            source: String::new(),
            platform: Platform::Telegram,
            variant: Variant::DesktopHtml,
            locale: None,
            date_order: None,
            date_order_assumed: false,
            clock: None,
            group_name: Some(truth.group_names.1.clone()),
            exporter: None,
            participants,
            messages,
            errors: vec![],
        },
        media: vec![],
    }
}

impl RenderedChat {
    /// Writes the files under `dir` and returns the path to parse.
    pub fn write(&self, dir: &Path) -> io::Result<std::path::PathBuf> {
        for (name, bytes) in &self.files {
            let p = dir.join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, bytes)?;
        }
        Ok(if self.entry.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(&self.entry)
        })
    }
}

/// Writes a whole synthetic case under `dir`: one export per device (each
/// platform and a spread of locales and flags), saved forum pages with
/// obfuscated and decoy links, the truth files, a test hash list of the
/// media and a manifest. Returns the number of files written.
pub fn write_case(seed: u64, dir: &Path) -> io::Result<usize> {
    let exports = dir.join("exports");
    let truth_dir = dir.join("truth");
    let lists = dir.join("lists");
    let pages = dir.join("pages");
    for d in [&exports, &truth_dir, &lists, &pages] {
        std::fs::create_dir_all(d)?;
    }
    let devices: [(Target, &str, &[&'static str]); 5] = [
        (Target::WhatsappAndroid, "en-GB", &["media", "links", "multiline"]),
        (Target::WhatsappIos, "it-IT", &["media", "links", "bidi"]),
        (
            Target::WhatsappAndroid,
            "en-US",
            &["nnbsp", "push_names", "edits_deletes"],
        ),
        (Target::TelegramJson, "de-DE", &["media", "links", "edits_deletes"]),
        (Target::TelegramHtml, "fr-FR", &["links"]),
    ];
    let mut manifest =
        String::from("# synthetic fixture: fictional people, numbers and benign generated media\nsha256\tpath\n");
    let mut hash_list = String::from("id,md5,pdq,category\n");
    let mut truth_json = Vec::new();
    let mut written = 0;
    for (i, (target, locale, flags)) in devices.iter().enumerate() {
        let spec = ChatSpec {
            seed: seed + i as u64,
            target: *target,
            locale,
            flags: flags.to_vec(),
            messages: 60,
        };
        let r = chat(&spec);
        let sub = exports.join(format!("device{}-{:?}-{locale}", i + 1, target).to_lowercase());
        std::fs::create_dir_all(&sub)?;
        let entry = r.write(&sub)?;
        for (name, bytes) in &r.files {
            let a = media::analyze_bytes(bytes, None, &Default::default(), &mut pdq::Hasher::new());
            let sha = a.digests.map(|d| media::hex(&d.sha256)).unwrap_or_default();
            let _ = writeln!(
                manifest,
                "{sha}\t{}",
                sub.join(name).strip_prefix(dir).unwrap_or(Path::new(name)).display()
            );
            written += 1;
        }
        for (k, (name, bytes)) in r.media.iter().enumerate() {
            let a = media::analyze_bytes(bytes, None, &Default::default(), &mut pdq::Hasher::new());
            if let (Some(d), Some(p)) = (a.digests, a.pdq) {
                if k % 2 == 0 {
                    let _ = writeln!(
                        hash_list,
                        "TEST-{}-{k},{},{},TEST",
                        i + 1,
                        media::hex(&d.md5),
                        p.hash.to_hex()
                    );
                }
            }
            let _ = name;
        }
        truth_json.push(serde_json::json!({"device": i + 1, "target": format!("{target:?}"), "locale": locale, "flags": flags, "entry": entry.strip_prefix(dir).unwrap_or(&entry).display().to_string(), "expected": r.expected}));
    }
    // An entry never seen in the case, for precision checks.
    let never = ::synth::jpeg(&::synth::photo(seed ^ 0xDEAD, 64, 48), 85);
    let a = media::analyze_bytes(&never, None, &Default::default(), &mut pdq::Hasher::new());
    if let (Some(d), Some(p)) = (a.digests, a.pdq) {
        let _ = writeln!(hash_list, "TEST-unseen,{},{},TEST", media::hex(&d.md5), p.hash.to_hex());
    }
    let (page, page_links) = forum_page(seed);
    std::fs::write(pages.join("forum-thread.html"), &page)?;
    std::fs::write(pages.join("forum-thread.mhtml"), mhtml_of(&page))?;
    std::fs::write(lists.join("test-hashes.csv"), hash_list)?;
    std::fs::write(
        truth_dir.join("exports.json"),
        serde_json::to_vec_pretty(&truth_json).map_err(io::Error::other)?,
    )?;
    std::fs::write(
        truth_dir.join("links.json"),
        serde_json::to_vec_pretty(&page_links).map_err(io::Error::other)?,
    )?;
    std::fs::write(dir.join("MANIFEST.tsv"), manifest)?;
    Ok(written + 7)
}

/// A saved forum page (benign) with links in anchors, text, code blocks and
/// obfuscated forms, and decoys on look-alike hosts. Returns the page and
/// the `(kind, code or number)` a link scan must report, in page order.
pub fn forum_page(seed: u64) -> (String, Vec<(LinkKind, String)>) {
    let mut rng = Rng::new(seed ^ 0xF0F0);
    let c1 = code(&mut rng, 22);
    let c2 = code(&mut rng, 22);
    let c3 = code(&mut rng, 22);
    let tg = code(&mut rng, 16);
    // Fake onion host: 56 base32 characters, not a valid v3 address.
    let onion: String = std::iter::repeat_n("fixture2", 7).collect();
    let html = format!(
        "<!DOCTYPE html>\n<html><head><title>Hobby forum (synthetic)</title></head><body>\n<p>Saved from http://{onion}.onion.invalid/thread/1</p>\n<div class=\"post\"><a href=\"https://chat.whatsapp.com/{c1}\">garden group</a></div>\n<div class=\"post\">new one: hxxps://chat[.]whatsapp[.]com/{c2}</div>\n<div class=\"post\"><code>chat&#46;whatsapp&#46;com/{c3}</code></div>\n<div class=\"post\">telegram: t.me/+{tg} or call wa.me/447700900123</div>\n<div class=\"post\">decoys: https://chat-whatsapp.com.example/{c1} and https://chat.whatsapp.com.invalid/{c2}</div>\n<div class=\"post\">split: chat.whatsapp.com/{}\n{}</div>\n</body></html>\n",
        &c3[..8],
        &c3[8..]
    );
    let want = vec![
        (LinkKind::WhatsappGroup, c1),
        (LinkKind::WhatsappGroup, c2),
        (LinkKind::WhatsappGroup, c3.clone()),
        (LinkKind::TelegramInvite, tg),
        (LinkKind::WhatsappPhone, "+447700900123".to_string()),
        (LinkKind::WhatsappGroup, c3),
    ];
    (html, want)
}

/// The page as an MHTML file: quoted-printable with soft line breaks every 70 characters.
pub fn mhtml_of(html: &str) -> String {
    let mut body = String::new();
    let mut col = 0;
    for b in html.bytes() {
        let piece = match b {
            b'\n' => {
                body.push('\n');
                col = 0;
                continue;
            }
            b'=' => "=3D".to_string(),
            b if b >= 0x80 => format!("={b:02X}"),
            b => (b as char).to_string(),
        };
        if col + piece.len() > 72 {
            body.push_str("=\r\n");
            col = 0;
        }
        col += piece.len();
        body.push_str(&piece);
    }
    format!("From: <Saved by a browser>\r\nSubject: Hobby forum (synthetic)\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; type=\"text/html\"; boundary=\"----fixture\"\r\n\r\n------fixture\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{body}\r\n------fixture--\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fictional_numbers_have_their_regions() {
        let mut rng = Rng::new(1);
        for i in 0..60 {
            let (e164, pretty, region) = make_phone(&mut rng, i);
            let p = crate::phone::parse(&pretty, false).expect("parses");
            assert_eq!(
                (p.e164.as_str(), p.region.as_deref()),
                (e164.as_str(), region),
                "{pretty}"
            );
        }
    }

    #[test]
    fn people_regions_match_parse() {
        let t = world(&ChatSpec::new(3, Target::WhatsappAndroid, "en-GB", 10));
        for p in &t.people {
            assert_eq!(
                crate::phone::parse(&p.pretty, false).and_then(|x| x.region).as_deref(),
                p.region
            );
        }
    }
}
