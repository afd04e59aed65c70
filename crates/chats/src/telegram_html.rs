//! Telegram Desktop's HTML export (`messages.html`, `messages2.html`…), the
//! fallback when no `result.json` was made. Basic: messages with sender,
//! time, text, photos and links; service notices are kept as system
//! records with their text, unclassified (they are written in the
//! exporter's language; prefer JSON for events).

use crate::links::{self, line_of, line_starts};
use crate::model::*;
use crate::time::LocalTime;

/// Decodes the entities Telegram writes in text.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Text of an HTML fragment: `<br>` as newlines, other tags dropped.
fn inner_text(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let Some(close) = rest[i..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[i + 1..i + close];
        if tag.starts_with("br") {
            out.push('\n');
        }
        rest = &rest[i + close + 1..];
    }
    out.push_str(rest);
    unescape(out.trim())
}

/// The fragment inside the first `<div class="CLASS…">` of `block`, up to its closing tag.
fn div(block: &str, class: &str) -> Option<String> {
    let at = block.find(&format!("class=\"{class}"))?;
    let open_end = block[at..].find('>')? + at + 1;
    // Count nested divs to find this one's end.
    let mut depth = 1;
    let mut i = open_end;
    while depth > 0 {
        let next_open = block[i..].find("<div");
        let next_close = block[i..].find("</div>")?;
        match next_open {
            Some(o) if o < next_close => {
                depth += 1;
                i += o + 4;
            }
            _ => {
                depth -= 1;
                if depth == 0 {
                    return Some(block[open_end..i + next_close].to_string());
                }
                i += next_close + 6;
            }
        }
    }
    None
}

fn attr(block: &str, name: &str) -> Option<String> {
    let at = block.find(&format!("{name}=\""))? + name.len() + 2;
    let end = block[at..].find('"')? + at;
    Some(unescape(&block[at..end]))
}

/// `14.05.2017 19:40:02 UTC+02:00` → local time and, with an offset, UTC.
fn parse_title(t: &str) -> (Option<LocalTime>, Option<i64>) {
    let mut parts = t.split_whitespace();
    let (Some(d), Some(tm)) = (parts.next(), parts.next()) else {
        return (None, None);
    };
    let dn: Vec<u32> = d.split('.').filter_map(|x| x.parse().ok()).collect();
    let tn: Vec<u32> = tm.split(':').filter_map(|x| x.parse().ok()).collect();
    if dn.len() != 3 || tn.len() != 3 {
        return (None, None);
    }
    let local = (|| {
        LocalTime::new(
            i32::try_from(dn[2]).ok()?,
            u8::try_from(dn[1]).ok()?,
            u8::try_from(dn[0]).ok()?,
            u8::try_from(tn[0]).ok()?,
            u8::try_from(tn[1]).ok()?,
            u8::try_from(tn[2]).ok()?,
        )
    })();
    let utc = parts.next().and_then(|z| z.strip_prefix("UTC")).and_then(|off| {
        // The sign may be ASCII or U+2212 MINUS SIGN; anything else is not an offset.
        if off.is_empty() {
            return Some(local?.to_unix());
        }
        let (sign, rest) = if let Some(r) = off.strip_prefix('+') {
            (1, r)
        } else if let Some(r) = off.strip_prefix('-').or_else(|| off.strip_prefix('\u{2212}')) {
            (-1, r)
        } else {
            return None;
        };
        let (h, m) = rest.split_once(':')?;
        let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
        if h > 14 || m > 59 {
            return None;
        }
        let secs = sign * (h * 3600 + m * 60);
        Some(local?.to_unix() - secs)
    });
    (local, utc)
}

/// Parses the pages of one HTML export, in page order.
pub(crate) fn parse(pages: &[(String, String)], source: &str) -> Export {
    let mut messages = Vec::new();
    let mut errors = Vec::new();
    let mut group_name = None;
    for (page_name, html) in pages {
        let starts = line_starts(html);
        if group_name.is_none() {
            group_name = div(html, "text bold").map(|t| inner_text(&t));
        }
        let mut last_sender: Option<String> = None;
        let marker = "<div class=\"message ";
        let mut positions: Vec<usize> = html.match_indices(marker).map(|(i, _)| i).collect();
        positions.push(html.len());
        for w in positions.windows(2) {
            let block = &html[w[0]..w[1]];
            let line = line_of(&starts, w[0]);
            let class = attr(block, "class").unwrap_or_default();
            let id = attr(block, "id").and_then(|i| i.trim_start_matches("message").parse::<i64>().ok());
            if class.contains("service") {
                last_sender = None;
                let text = div(block, "body details").map(|t| inner_text(&t)).unwrap_or_default();
                // Date separators are service divs too, without an id worth keeping.
                if id.is_none_or(|i| i < 0) {
                    continue;
                }
                messages.push(Message {
                    n: messages.len() + 1,
                    line,
                    id,
                    kind: Kind::System,
                    timestamp: None,
                    timestamp_utc: None,
                    sender: None,
                    links: links::extract(&text).into_iter().map(MessageLink::from).collect(),
                    text,
                    attachment: None,
                    event: None,
                    edited: false,
                });
                continue;
            }
            let (timestamp, timestamp_utc) = div(block, "pull_right date details")
                .and(
                    block
                        .find("class=\"pull_right date details\"")
                        .and_then(|i| attr(&block[i..], "title")),
                )
                .map(|t| parse_title(&t))
                .unwrap_or((None, None));
            if timestamp.is_none() {
                errors.push(Issue {
                    file: page_name.clone(),
                    line: Some(line),
                    message: "message without a readable date".into(),
                });
            }
            let sender = match div(block, "from_name") {
                Some(n) => Some(inner_text(&n)),
                None if class.contains("joined") => last_sender.clone(),
                None => None,
            };
            last_sender = sender.clone();
            let text_html = div(block, "text").unwrap_or_default();
            let text = inner_text(&text_html);
            let mut found: Vec<MessageLink> = Vec::new();
            for l in links::extract_with(
                &text_html,
                links::Decode {
                    quoted_printable: false,
                    html: true,
                },
            )
            .into_iter()
            .chain(links::extract(&text))
            {
                if !found.iter().any(|f| f.url == l.url) {
                    found.push(l.into());
                }
            }
            let attachment = block
                .find("class=\"photo_wrap")
                .and_then(|i| attr(&block[i..], "href"))
                .map(|href| Attachment {
                    filename: Some(href),
                    media: Media::Image,
                    omitted: false,
                });
            messages.push(Message {
                n: messages.len() + 1,
                line,
                id,
                kind: Kind::Message,
                timestamp,
                timestamp_utc,
                sender,
                text,
                attachment,
                event: None,
                links: found,
                edited: false,
            });
        }
    }
    let labels: Vec<&str> = messages.iter().filter_map(|m| m.sender.as_deref()).collect();
    let participants = participants(labels);
    Export {
        source: source.into(),
        platform: Platform::Telegram,
        variant: Variant::DesktopHtml,
        locale: None,
        date_order: None,
        date_order_assumed: false,
        clock: None,
        group_name,
        exporter: None,
        participants,
        messages,
        errors,
    }
}
