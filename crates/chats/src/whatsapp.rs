//! WhatsApp "Export chat" text, Android and iOS, any of the locales in
//! [`crate::phrases`].
//!
//! One pass reads and normalises lines; headers are recognised on their own
//! (date, time, the platform's separator); the date order is decided from
//! every header in the file; then records (a header line and its
//! continuation lines) are classified into messages, attachments and
//! notices.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use crate::lines::{Lines, MAX_LINE};
use crate::model::*;
use crate::phrases::{self, Notice};
use crate::time::LocalTime;
use crate::{links, text, Error};

/// The date and time fields of one header, before the date order is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    a: u32,
    a_len: u8,
    b: u32,
    c: u32,
    c_len: u8,
    hour: u8,
    minute: u8,
    second: Option<u8>,
    pm: Option<bool>,
    /// Byte offset of the text after the header.
    body: usize,
    ios: bool,
    /// The date separator: `/`, `.` or `-`.
    sep: u8,
}

fn digits(b: &[u8], at: &mut usize, max: usize) -> Option<(u32, u8)> {
    let start = *at;
    let mut v = 0u32;
    while *at < b.len() && b[*at].is_ascii_digit() && *at - start < max {
        v = v * 10 + u32::from(b[*at] - b'0');
        *at += 1;
    }
    if *at == start {
        None
    } else {
        Some((v, (*at - start) as u8))
    }
}

fn skip_spaces(b: &[u8], at: &mut usize) {
    while *at < b.len() && b[*at] == b' ' {
        *at += 1;
    }
}

/// Reads a header at the start of a normalised line: `[date, time] ` (iOS)
/// or `date, time - ` (Android), in any of the shapes exports take.
pub(crate) fn parse_header(s: &str) -> Option<Header> {
    let b = s.as_bytes();
    let ios = b.first() == Some(&b'[');
    let mut at = usize::from(ios);
    let (a, a_len) = digits(b, &mut at, 4)?;
    let sep = *b.get(at)?;
    if !matches!(sep, b'/' | b'.' | b'-') {
        return None;
    }
    at += 1;
    skip_spaces(b, &mut at);
    let (bv, b_len) = digits(b, &mut at, 2)?;
    if *b.get(at)? != sep {
        return None;
    }
    at += 1;
    skip_spaces(b, &mut at);
    let (c, c_len) = digits(b, &mut at, 4)?;
    if !(c_len == 2 || c_len == 4 || (a_len == 4 && c_len <= 2)) || b_len == 0 {
        return None;
    }
    if b.get(at) == Some(&b'.') {
        at += 1;
    }
    if b.get(at) == Some(&b',') {
        at += 1;
    }
    skip_spaces(b, &mut at);
    // A word between date and time in some locales: "à", "um", "klo".
    if !b.get(at)?.is_ascii_digit() {
        let word_end = s[at..].find(' ').map(|i| at + i)?;
        if word_end - at > 4 {
            return None;
        }
        at = word_end;
        skip_spaces(b, &mut at);
    }
    let (hour, _) = digits(b, &mut at, 2)?;
    let tsep = *b.get(at)?;
    if tsep != b':' && tsep != b'.' {
        return None;
    }
    at += 1;
    let (minute, m_len) = digits(b, &mut at, 2)?;
    if m_len != 2 {
        return None;
    }
    let mut second = None;
    if b.get(at) == Some(&tsep) && b.get(at + 1).is_some_and(u8::is_ascii_digit) {
        at += 1;
        let (sec, s_len) = digits(b, &mut at, 2)?;
        if s_len != 2 {
            return None;
        }
        second = Some(sec as u8);
    }
    let mut pm = None;
    let mut look = at;
    skip_spaces(b, &mut look);
    let marker: String = s[look..]
        .chars()
        .take(6)
        .filter(|c| !matches!(c, '.' | ' '))
        .take(2)
        .collect::<String>()
        .to_ascii_lowercase();
    if marker == "am" || marker == "pm" {
        // Advance over the marker with its dots and inner spaces.
        let mut letters = 0;
        let mut i = look;
        while i < b.len() && letters < 2 {
            if b[i].is_ascii_alphabetic() {
                letters += 1;
            }
            i += 1;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
        }
        at = i;
        pm = Some(marker == "pm");
    }
    let body = if ios {
        skip_spaces(b, &mut at);
        if b.get(at) != Some(&b']') {
            return None;
        }
        at + 1 + usize::from(b.get(at + 1) == Some(&b' '))
    } else {
        let rest = &s[at..];
        let trimmed = rest.trim_start_matches(' ');
        let t = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix('-').filter(|r| r.is_empty()))?;
        s.len() - t.len()
    };
    if hour > 24 || minute > 59 || second.is_some_and(|s| s > 60) || (pm.is_some() && !(1..=12).contains(&hour)) {
        return None;
    }
    Some(Header {
        a,
        a_len,
        b: bv,
        c,
        c_len,
        hour: hour as u8,
        minute: minute as u8,
        second,
        pm,
        body,
        ios,
        sep,
    })
}

fn year(v: u32, len: u8) -> i32 {
    if len <= 2 {
        2000 + v as i32
    } else {
        v as i32
    }
}

fn to_time(h: &Header, order: DateOrder) -> Option<LocalTime> {
    let (y, m, d) = match order {
        DateOrder::Ymd => (year(h.a, h.a_len), h.b, h.c),
        DateOrder::Dmy => (year(h.c, h.c_len), h.b, h.a),
        DateOrder::Mdy => (year(h.c, h.c_len), h.a, h.b),
    };
    let mut hour = h.hour;
    match h.pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    // Some Android builds count hours 1–24: "24:05" is five past midnight
    // of the next day.
    let next_day = hour == 24;
    if next_day {
        hour = 0;
    }
    let t = LocalTime::new(
        y,
        u8::try_from(m).ok()?,
        u8::try_from(d).ok()?,
        hour,
        h.minute,
        h.second.unwrap_or(0),
    )?;
    Some(if next_day {
        LocalTime::from_unix(t.to_unix() + 86_400)
    } else {
        t
    })
}

/// What decided the date order.
struct OrderDecision {
    order: DateOrder,
    /// No date in the file settled it: it was guessed.
    assumed: bool,
    /// Evidence that contradicts the chosen order, for the export's issues.
    conflict: Option<String>,
}

/// Decides the date order from all headers, recording whether it was
/// assumed for lack of evidence and any contradicting evidence.
fn decide_order(headers: &[&Header], lang: Option<&str>, clock12: bool) -> OrderDecision {
    let decided = |order| OrderDecision {
        order,
        assumed: false,
        conflict: None,
    };
    if headers.iter().filter(|h| h.a_len == 4).count() * 2 > headers.len() {
        return decided(DateOrder::Ymd);
    }
    let first_big = headers.iter().filter(|h| h.a > 12).count();
    let second_big = headers.iter().filter(|h| h.b > 12).count();
    match (first_big > 0, second_big > 0) {
        (true, false) => return decided(DateOrder::Dmy),
        (false, true) => return decided(DateOrder::Mdy),
        (true, true) => {
            // Dates that read only day-first and others only month-first: the
            // file mixes formats (or was edited). Keep the majority, but say so.
            let order = if first_big >= second_big {
                DateOrder::Dmy
            } else {
                DateOrder::Mdy
            };
            return OrderDecision {
                order,
                assumed: true,
                conflict: Some(format!(
                    "date order conflict: {first_big} header(s) read only day-first, {second_big} only month-first; assumed {}",
                    if order == DateOrder::Dmy { "day-first" } else { "month-first" }
                )),
            };
        }
        _ => {}
    }
    // Every field is 12 or less. Exports are chronological: an order under
    // which dates run backwards is wrong.
    let backwards = |order| {
        let mut n = 0;
        let mut last: Option<LocalTime> = None;
        for h in headers {
            if let Some(t) = to_time(h, order) {
                if last.is_some_and(|l| t < l) {
                    n += 1;
                }
                last = Some(t);
            } else {
                n += 1;
            }
        }
        n
    };
    let (dmy, mdy) = (backwards(DateOrder::Dmy), backwards(DateOrder::Mdy));
    if dmy != mdy {
        return decided(if dmy < mdy { DateOrder::Dmy } else { DateOrder::Mdy });
    }
    // Only conventions are left. Dotted dates are day-first wherever they are
    // written (de, fi, tr, ru…). US English writes month first with a
    // two-digit year or a 12-hour clock; an unknown language with a 12-hour
    // clock is probably US too; everyone else writes day first.
    let dotted = !headers.is_empty() && headers.iter().all(|h| h.sep == b'.');
    let two_digit_year = headers.iter().all(|h| h.c_len == 2);
    let order = if dotted {
        DateOrder::Dmy
    } else {
        match lang {
            Some("en") if clock12 || two_digit_year => DateOrder::Mdy,
            None if clock12 => DateOrder::Mdy,
            _ => DateOrder::Dmy,
        }
    };
    OrderDecision {
        order,
        assumed: true,
        conflict: None,
    }
}

/// Where an Android body's author ends: at the first `": "`, unless a
/// longer prefix ending at a later `": "` is a known author (`Dr: Who: hi`).
fn android_split(first: &str, known: &HashSet<String>) -> Option<usize> {
    let mut ends = first.match_indices(": ").map(|(i, _)| i).take(4);
    let shortest = ends.next()?;
    Some(ends.filter(|&i| known.contains(&first[..i])).last().unwrap_or(shortest))
}

/// Authors whose names hold `": "`, as the file shows them: the chat's name
/// from the file name, and a longer prefix that every record starting with
/// its first part continues with, in two records or more.
fn android_known_authors<'a>(firsts: impl Iterator<Item = &'a str>, chat_name: Option<&str>) -> HashSet<String> {
    let mut by_first: HashMap<&str, usize> = HashMap::new();
    let mut by_longer: HashMap<&str, usize> = HashMap::new();
    for f in firsts {
        let mut ends = f.match_indices(": ").map(|(i, _)| i).take(4);
        let Some(shortest) = ends.next() else { continue };
        *by_first.entry(&f[..shortest]).or_default() += 1;
        for i in ends {
            *by_longer.entry(&f[..i]).or_default() += 1;
        }
    }
    let mut known: HashSet<String> = by_longer
        .iter()
        .filter(|(l, n)| {
            let short = l.split(": ").next().unwrap_or_default();
            **n >= 2 && by_first.get(short) == Some(*n)
        })
        .map(|(l, _)| l.to_string())
        .collect();
    known.extend(chat_name.filter(|n| n.contains(": ")).map(str::to_string));
    known
}

/// Whether a record is one line (continuation lines that are blank do not count).
fn single_line(body: &[String]) -> bool {
    body.iter().skip(1).all(|l| l.trim().is_empty())
}

struct RawLine {
    number: usize,
    /// The line as written (without the BOM and a carriage return).
    raw: String,
    /// The normalised copy, for headers, phrases and links.
    text: String,
}

/// The chat name in an export's file name (`WhatsApp Chat with Ann.txt`,
/// `WhatsApp Chat - Hikers.zip`), with the language it is written in.
pub(crate) fn chat_name_from_file(name: &str) -> Option<(&'static str, String)> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = base
        .strip_suffix(".txt")
        .or_else(|| base.strip_suffix(".zip"))
        .unwrap_or(base);
    phrases::FILE_PREFIXES
        .iter()
        .find_map(|(lang, prefix)| stem.strip_prefix(prefix).map(|n| (*lang, n.to_string())))
}

/// Parses one WhatsApp chat text. `source` names it in errors; `names`
/// holds the file names that may carry the chat's name (the .txt, the .zip).
pub(crate) fn parse<R: BufRead>(reader: R, source: &str, names: &[&str]) -> Result<Export, Error> {
    let mut errors = Vec::new();
    let mut lines = Vec::new();
    let mut reader = Lines::new(reader);
    let mut bad_lines = 0usize;
    loop {
        let line = match reader.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                errors.push(Issue {
                    file: source.into(),
                    line: Some(reader_line(&lines) + 1),
                    message: format!("read error: {e}"),
                });
                break;
            }
        };
        if line.truncated > 0 {
            errors.push(Issue {
                file: source.into(),
                line: Some(line.number),
                message: format!(
                    "line longer than {MAX_LINE} bytes: kept the first {MAX_LINE}, skipped {} bytes",
                    line.truncated
                ),
            });
        }
        if line.invalid_utf8 {
            bad_lines += 1;
            if bad_lines <= 20 {
                errors.push(Issue {
                    file: source.into(),
                    line: Some(line.number),
                    message: "not UTF-8 text: bytes replaced by U+FFFD".into(),
                });
            }
        }
        let mut raw = line.text;
        if line.number == 1 && raw.starts_with('\u{FEFF}') {
            raw.drain(..'\u{FEFF}'.len_utf8());
        }
        if raw.ends_with('\r') {
            raw.pop();
        }
        lines.push(RawLine {
            number: line.number,
            text: text::normalize(&raw),
            raw,
        });
    }
    if bad_lines > 20 {
        errors.push(Issue {
            file: source.into(),
            line: None,
            message: format!("{bad_lines} lines in all were not UTF-8 text"),
        });
    }

    // The platform whose headers start the most of the first lines.
    let headers: Vec<Option<Header>> = lines.iter().map(|l| parse_header(&l.text)).collect();
    let sample = headers.iter().take(400).flatten();
    let ios_votes = sample.clone().filter(|h| h.ios).count();
    let android_votes = sample.filter(|h| !h.ios).count();
    if ios_votes + android_votes == 0 {
        let any = headers.iter().flatten().next().is_some();
        if !any {
            return Err(Error::NotAnExport {
                path: source.into(),
                why: "no WhatsApp message header (date, time) on any line".into(),
            });
        }
    }
    let ios = ios_votes > android_votes;
    let headers: Vec<Option<Header>> = headers.into_iter().map(|h| h.filter(|h| h.ios == ios)).collect();

    let file_lang_name = names.iter().find_map(|n| chat_name_from_file(n));
    let clock12 = headers.iter().flatten().any(|h| h.pm.is_some());

    // Records: header line plus continuation lines.
    struct Rec {
        line: usize,
        header: Header,
        /// Normalised body lines.
        body: Vec<String>,
        /// The same lines as written.
        raw: Vec<String>,
    }
    let mut recs: Vec<Rec> = Vec::new();
    for (l, h) in lines.into_iter().zip(headers) {
        match h {
            Some(h) => recs.push(Rec {
                line: l.number,
                body: vec![l.text[h.body..].to_string()],
                raw: vec![l.raw[text::raw_offset(&l.raw, h.body)..].to_string()],
                header: h,
            }),
            None => match recs.last_mut() {
                Some(r) => {
                    r.body.push(l.text);
                    r.raw.push(l.raw);
                }
                None if l.text.trim().is_empty() => {}
                None => errors.push(Issue {
                    file: source.into(),
                    line: Some(l.number),
                    message: "text before the first message header: skipped".into(),
                }),
            },
        }
    }

    // Language from markers and notices, needed only to settle an ambiguous date order.
    let mut lang_votes: HashMap<&'static str, usize> = HashMap::new();
    // On iOS the notice follows a pseudo-sender, which may itself hold ": "
    // (a group named "Trip: 2024"): try each split, first that reads as a notice.
    let mut notices: Vec<Option<(usize, Notice)>> = Vec::with_capacity(recs.len());
    for r in &recs {
        let first = &r.body[0];
        let n = if !single_line(&r.body) {
            None
        } else if ios {
            first
                .match_indices(": ")
                .take(4)
                .find_map(|(i, _)| phrases::match_notice(&first[i + 2..]).map(|n| (i, n)))
        } else {
            phrases::match_notice(first).map(|n| (0, n))
        };
        if let Some((_, n)) = &n {
            *lang_votes.entry(n.lang).or_default() += 1;
        }
        notices.push(n);
    }
    for r in recs.iter().take(2000) {
        if let Some(lang) = marker_lang(&r.body[0]) {
            *lang_votes.entry(lang).or_default() += 1;
        }
    }
    if let Some((lang, _)) = &file_lang_name {
        *lang_votes.entry(lang).or_default() += 1;
    }
    let mut votes: Vec<_> = lang_votes.into_iter().collect();
    votes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let lang = votes.first().map(|(l, _)| *l);

    let hdrs: Vec<&Header> = recs.iter().map(|r| &r.header).collect();
    let OrderDecision {
        order,
        assumed,
        conflict,
    } = decide_order(&hdrs, lang, clock12);
    if let Some(why) = conflict {
        errors.push(Issue {
            file: source.into(),
            line: None,
            message: why,
        });
    }

    let known_authors = if ios {
        HashSet::new()
    } else {
        android_known_authors(
            recs.iter()
                .zip(&notices)
                .filter(|(_, n)| n.is_none())
                .map(|(r, _)| r.body[0].as_str()),
            file_lang_name.as_ref().map(|(_, n)| n.as_str()),
        )
    };

    // Authors of ordinary messages, to tell iOS pseudo-senders from people.
    let mut messages = Vec::with_capacity(recs.len());
    // Each record's target list as written, to re-split once the participants are known.
    let mut targets_raw: Vec<Option<String>> = Vec::with_capacity(recs.len());
    let mut group_from_ios: Option<String> = None;
    for (i, (r, notice)) in recs.into_iter().zip(notices).enumerate() {
        let timestamp = to_time(&r.header, order);
        if timestamp.is_none() {
            errors.push(Issue {
                file: source.into(),
                line: Some(r.line),
                message: "header date or time is not a real date".into(),
            });
        }
        let mut body = r.body;
        let mut raw_body = r.raw;
        let first = std::mem::take(&mut body[0]);
        let raw_first = std::mem::take(&mut raw_body[0]);
        let single = single_line(&body);
        // The sender, the first line's text (normalised and as written), the notice.
        let (sender, first_text, raw_text, notice) = if ios {
            let split = match &notice {
                Some((i, _)) => Some(*i),
                None => first.find(": "),
            };
            let notice = notice.map(|(_, n)| n);
            match split {
                Some(i) => {
                    let (author, rest) = (&first[..i], &first[i + 2..]);
                    let raw_rest = &raw_first[text::raw_offset(&raw_first, i + 2)..];
                    // iOS writes a left-to-right mark right after the
                    // pseudo-sender of its notices (and before attachment
                    // markers): only that mark is the signal.
                    let lrm = raw_rest.starts_with('\u{200E}');
                    let raw_rest = raw_rest.strip_prefix('\u{200E}').unwrap_or(raw_rest).to_string();
                    // iOS prints notices under a pseudo-sender (the group or the
                    // actor); a body that reads as a notice, flagged with the
                    // LRM iOS writes or naming its own author, is one.
                    let is_notice = notice.as_ref().is_some_and(|n| {
                        lrm || matches!(n.event, EventType::E2eNotice | EventType::MessageDeleted)
                            || n.actor.as_deref() == Some(author)
                            || n.targets.iter().any(|t| t == author)
                            || group_from_ios.as_deref() == Some(author)
                    });
                    if is_notice {
                        if notice.as_ref().is_some_and(|n| {
                            matches!(
                                n.event,
                                EventType::E2eNotice | EventType::GroupCreated | EventType::SubjectChanged
                            )
                        }) && group_from_ios.is_none()
                        {
                            group_from_ios = Some(author.to_string());
                        }
                        if notice.as_ref().is_some_and(|n| n.event == EventType::MessageDeleted) {
                            (
                                None,
                                rest.to_string(),
                                raw_rest,
                                notice.map(|mut n| {
                                    if n.actor.is_none() {
                                        n.actor = Some(author.to_string());
                                    }
                                    n
                                }),
                            )
                        } else {
                            (None, rest.to_string(), raw_rest, notice)
                        }
                    } else if lrm && single && attachment_of(rest).0.is_none() && !rest.contains("://") {
                        // A notice in a wording no table knows: a system
                        // record without an event, never a message by the group.
                        (None, rest.to_string(), raw_rest, None)
                    } else {
                        (Some(author.to_string()), rest.to_string(), raw_rest, None)
                    }
                }
                None => (None, first.clone(), raw_first.clone(), notice),
            }
        } else if let Some((_, n)) = notice {
            (None, first.clone(), raw_first.clone(), Some(n))
        } else {
            match android_split(&first, &known_authors) {
                Some(i) => {
                    let (author, rest) = (&first[..i], &first[i + 2..]);
                    let raw_rest = raw_first[text::raw_offset(&raw_first, i + 2)..].to_string();
                    let deleted =
                        phrases::match_notice(rest).filter(|n| n.event == EventType::MessageDeleted && single);
                    match deleted {
                        Some(mut n) => {
                            if n.actor.is_none() {
                                n.actor = Some(author.to_string());
                            }
                            (None, rest.to_string(), raw_rest, Some(n))
                        }
                        None => (Some(author.to_string()), rest.to_string(), raw_rest, None),
                    }
                }
                None => (None, first.clone(), raw_first.clone(), None),
            }
        };
        let n = i + 1;
        if sender.is_none() {
            // A one-line notice keeps no trailing blank lines.
            let keep = if single { 0 } else { body.len() };
            let norm_text = std::iter::once(first_text)
                .chain(body.into_iter().skip(1).take(keep))
                .collect::<Vec<_>>()
                .join("\n");
            let text = std::iter::once(raw_text)
                .chain(raw_body.into_iter().skip(1).take(keep))
                .collect::<Vec<_>>()
                .join("\n");
            let links = links::extract(&norm_text).into_iter().map(MessageLink::from).collect();
            targets_raw.push(
                notice
                    .as_ref()
                    .and_then(|n| n.targets_raw.clone())
                    .filter(|_| notice.as_ref().is_some_and(|n| n.targets.len() > 1)),
            );
            let event = notice.map(|n| Event {
                kind: n.event,
                actor: n.actor,
                targets: n.targets,
                value: n.value,
                old_value: n.old_value,
            });
            messages.push(Message {
                n,
                line: r.line,
                id: None,
                kind: Kind::System,
                timestamp,
                timestamp_utc: None,
                sender: None,
                text,
                attachment: None,
                event,
                links,
                edited: false,
            });
            continue;
        }
        let (attachment, first_text) = attachment_of(&first_text);
        let mut all: Vec<String> = Vec::with_capacity(body.len());
        let mut raw_all: Vec<String> = Vec::with_capacity(body.len());
        // A marker leaves no text on its line.
        if attachment.is_none() {
            all.push(first_text);
            raw_all.push(raw_text);
        }
        all.extend(body.into_iter().skip(1));
        raw_all.extend(raw_body.into_iter().skip(1));
        let mut norm_text = all.join("\n");
        let mut text = raw_all.join("\n");
        let mut edited = false;
        for (_, suffix) in phrases::EDITED {
            if let Some(t) = norm_text.strip_suffix(suffix) {
                let cut = text::raw_offset(&text, t.len());
                text.truncate(cut);
                let kept = text.trim_end_matches(|c: char| c == ' ' || text::is_invisible(c)).len();
                text.truncate(kept);
                norm_text = t.trim_end_matches(' ').to_string();
                edited = true;
                break;
            }
        }
        let links = links::extract(&norm_text).into_iter().map(MessageLink::from).collect();
        targets_raw.push(None);
        messages.push(Message {
            n,
            line: r.line,
            id: None,
            kind: Kind::Message,
            timestamp,
            timestamp_utc: None,
            sender,
            text,
            attachment,
            event: None,
            links,
            edited,
        });
    }

    // A list of targets split on "and" may have cut a participant's name
    // ("Mum and Dad"): re-split it keeping the names seen as senders whole.
    let senders: HashSet<String> = messages.iter().filter_map(|m| m.sender.clone()).collect();
    if !senders.is_empty() {
        for (m, raw) in messages.iter_mut().zip(&targets_raw) {
            if let (Some(e), Some(raw)) = (m.event.as_mut(), raw) {
                e.targets = phrases::split_targets_known(raw, |n| senders.contains(n));
            }
        }
    }

    // Group or one-to-one: notices about membership only happen in groups.
    let authors: Vec<&str> = messages.iter().filter_map(|m| m.sender.as_deref()).collect();
    let mut distinct: Vec<&str> = Vec::new();
    for a in &authors {
        if !distinct.contains(a) {
            distinct.push(a);
        }
    }
    let group_events = messages.iter().any(|m| {
        m.event.as_ref().is_some_and(|e| {
            matches!(
                e.kind,
                EventType::GroupCreated
                    | EventType::MemberAdded
                    | EventType::MemberJoinedViaLink
                    | EventType::MemberJoined
                    | EventType::MemberLeft
                    | EventType::MemberRemoved
                    | EventType::SubjectChanged
                    | EventType::IconChanged
                    | EventType::DescriptionChanged
            )
        })
    });
    let is_group =
        group_events || distinct.len() > 2 || group_from_ios.as_ref().is_some_and(|g| !distinct.contains(&g.as_str()));
    let file_name = file_lang_name.map(|(_, n)| n);
    let last_subject = messages.iter().rev().find_map(|m| {
        m.event
            .as_ref()
            .filter(|e| matches!(e.kind, EventType::SubjectChanged | EventType::GroupCreated))
            .and_then(|e| e.value.clone())
    });
    let group_name = if is_group {
        file_name.clone().or(group_from_ios.clone()).or(last_subject)
    } else {
        None
    };
    let exporter = if !is_group && distinct.len() == 2 {
        file_name
            .as_deref()
            .and_then(|other| distinct.iter().find(|a| **a != other).map(|a| a.to_string()))
    } else {
        None
    };

    let mut labels: Vec<&str> = Vec::new();
    for m in &messages {
        if let Some(s) = &m.sender {
            labels.push(s);
        }
        if let Some(e) = &m.event {
            if e.kind == EventType::NumberChanged {
                continue;
            }
            labels.extend(e.actor.as_deref());
            labels.extend(e.targets.iter().map(String::as_str));
        }
    }
    let participants = participants(
        labels
            .into_iter()
            .filter(|l| Some(*l) != group_name.as_deref() || !is_group),
    );

    Ok(Export {
        source: source.into(),
        platform: Platform::Whatsapp,
        variant: if ios { Variant::Ios } else { Variant::Android },
        locale: lang.map(str::to_string),
        date_order: Some(order),
        date_order_assumed: assumed,
        clock: Some(if clock12 { Clock::H12 } else { Clock::H24 }),
        group_name,
        exporter,
        participants,
        messages,
        errors,
    })
}

fn reader_line(lines: &[RawLine]) -> usize {
    lines.last().map_or(0, |l| l.number)
}

/// The language of an attachment marker in a body's first line, if any.
fn marker_lang(first: &str) -> Option<&'static str> {
    let body = first.split_once(": ").map_or(first, |(_, b)| b);
    for (lang, m) in phrases::ANDROID_ATTACHED.iter().chain(phrases::ANDROID_OMITTED) {
        if body.ends_with(m) {
            return Some(lang);
        }
    }
    for (lang, _, m) in phrases::IOS_OMITTED {
        if body.ends_with(m) && !matches!(*m, "video omitido" | "audio omitido" | "sticker omitido") {
            return Some(lang);
        }
    }
    if let Some(open) = body.find('<') {
        let inner = body[open + 1..].trim_start();
        for (lang, label) in phrases::IOS_ATTACHED {
            if inner.starts_with(label) {
                return Some(lang);
            }
        }
    }
    None
}

/// Splits an attachment marker off a message's first line: the attachment
/// and what text remains (Android captions follow on the next lines).
fn attachment_of(first: &str) -> (Option<Attachment>, String) {
    let t = first.trim_end();
    for (_, m) in phrases::ANDROID_OMITTED {
        if t == *m {
            return (
                Some(Attachment {
                    filename: None,
                    media: Media::Unknown,
                    omitted: true,
                }),
                String::new(),
            );
        }
    }
    for (_, m) in phrases::ANDROID_ATTACHED {
        if let Some(name) = t.strip_suffix(m) {
            let name = name.trim();
            // Documents: "Report.pdf • 3 pages (file attached)".
            let name = name.split(" • ").next().unwrap_or(name).trim();
            if !name.is_empty() {
                return (
                    Some(Attachment {
                        filename: Some(name.to_string()),
                        media: Media::from_filename(name),
                        omitted: false,
                    }),
                    String::new(),
                );
            }
        }
    }
    if t.ends_with('>') {
        if let Some(open) = t.rfind('<') {
            let inner = t[open + 1..t.len() - 1].trim();
            for (_, label) in phrases::IOS_ATTACHED {
                if let Some(rest) = inner.strip_prefix(label) {
                    if let Some(file) = rest.trim_start().strip_prefix(':') {
                        let file = file.trim();
                        if !file.is_empty() {
                            return (
                                Some(Attachment {
                                    filename: Some(file.to_string()),
                                    media: Media::from_filename(file),
                                    omitted: false,
                                }),
                                String::new(),
                            );
                        }
                    }
                }
            }
        }
    }
    for (_, media, m) in phrases::IOS_OMITTED {
        if t == *m {
            return (
                Some(Attachment {
                    filename: None,
                    media: *media,
                    omitted: true,
                }),
                String::new(),
            );
        }
        // Documents keep their title: "Plan.pdf • 1 page document omitted".
        if let Some(title) = t.strip_suffix(m).and_then(|p| p.strip_suffix(' ')) {
            if *media == Media::Document {
                let title = title.split(" • ").next().unwrap_or(title).trim();
                return (
                    Some(Attachment {
                        filename: Some(title.to_string()),
                        media: *media,
                        omitted: true,
                    }),
                    String::new(),
                );
            }
        }
    }
    (None, first.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Fields = (u32, u32, u32, u8, u8, Option<u8>, Option<bool>, bool, String);

    fn h(s: &str) -> Option<Fields> {
        parse_header(s).map(|h| {
            (
                h.a,
                h.b,
                h.c,
                h.hour,
                h.minute,
                h.second,
                h.pm,
                h.ios,
                s[h.body..].to_string(),
            )
        })
    }

    #[test]
    fn header_shapes() {
        assert_eq!(
            h("3/12/17, 10:22 AM - Ann: hi"),
            Some((3, 12, 17, 10, 22, None, Some(false), false, "Ann: hi".into()))
        );
        assert_eq!(
            h("[12/03/2017, 10:22:01] Ann: hi"),
            Some((12, 3, 2017, 10, 22, Some(1), None, true, "Ann: hi".into()))
        );
        assert_eq!(h("12.03.17, 10:22 - Ann: hi").unwrap().8, "Ann: hi");
        assert_eq!(h("12/3/17 0:05 - x").unwrap().3, 0);
        assert_eq!(h("20/6/2017 8:28 p. m. - Ann: x").unwrap().6, Some(true));
        assert_eq!(h("12/03/2017 à 10:22 - x").unwrap().8, "x");
        assert_eq!(h("[31/12/2022 11:40:26] A: b").unwrap().5, Some(26));
        assert_eq!(h("2019-01-01 12:00 - A: b").unwrap().0, 2019);
        assert!(h("12/03 alle 15:00 ci vediamo").is_none());
        assert!(h("11/3 same place, 7:30 AM?").is_none());
        assert!(h("hello").is_none());
    }
}
