//! Invite and identity links in message text and saved pages.
//!
//! Posters obfuscate links to slip past filters (`hxxps`, `[.]`, ` dot `,
//! entities, zero-width and fullwidth characters, percent-encoding,
//! redirector wrappers, a code broken over two lines). Matching runs on a
//! de-obfuscated copy that keeps, for every character, where it came from,
//! so each hit reports both its canonical form and the raw text it was read
//! from. Hosts are matched whole: `chat-whatsapp.com` or
//! `chat.whatsapp.com.example` are other domains and never reported.

use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::{phone, text};

/// What a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// A WhatsApp group invite (`chat.whatsapp.com/<code>`).
    WhatsappGroup,
    /// A WhatsApp click-to-chat number (`wa.me/<digits>`).
    WhatsappPhone,
    /// A Telegram private invite (`t.me/joinchat/<hash>`, `t.me/+<hash>`).
    TelegramInvite,
    /// A Telegram phone link (`t.me/+<digits>`).
    TelegramPhone,
    /// A Telegram public username (`t.me/<name>`).
    TelegramUsername,
    /// A Signal group invite (`signal.group/#<key>`).
    SignalGroup,
    /// A Discord invite (`discord.gg/<code>`).
    DiscordInvite,
}

impl LinkKind {
    /// The name used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            LinkKind::WhatsappGroup => "whatsapp_group",
            LinkKind::WhatsappPhone => "whatsapp_phone",
            LinkKind::TelegramInvite => "telegram_invite",
            LinkKind::TelegramPhone => "telegram_phone",
            LinkKind::TelegramUsername => "telegram_username",
            LinkKind::SignalGroup => "signal_group",
            LinkKind::DiscordInvite => "discord_invite",
        }
    }
}

/// One link found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub kind: LinkKind,
    /// The invite code, hash or username, case kept (codes are case-sensitive).
    pub code: Option<String>,
    /// For phone links, the number in E.164.
    pub phone_e164: Option<String>,
    /// The canonical URL.
    pub url: String,
    /// The text as it stood in the source, obfuscation included.
    pub raw: String,
    /// Byte offset of `raw` in the text searched.
    pub offset: usize,
}

/// How to read a text before searching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decode {
    /// Undo MIME quoted-printable (`=3D`, soft line breaks): MHTML pages.
    pub quoted_printable: bool,
    /// Also search the page's text with tags removed, so a link broken up by
    /// markup is found.
    pub html: bool,
}

/// Finds links in plain text (a message body, a paste).
pub fn extract(s: &str) -> Vec<Link> {
    let mut out = Vec::new();
    scan(&Clean::build(s, Decode::default(), false), s, &mut out);
    out
}

/// Finds links in a saved page or text file, choosing the decoding from the
/// file name and content. Hits are sorted by offset, one per link per line.
pub fn extract_document(name: &str, s: &str) -> Vec<Link> {
    let lower = name.to_ascii_lowercase();
    let mut cut = s.len().min(8192);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &s[..cut].to_ascii_lowercase();
    let decode = Decode {
        quoted_printable: lower.ends_with(".mht")
            || lower.ends_with(".mhtml")
            || head.contains("content-transfer-encoding: quoted-printable"),
        html: lower.ends_with(".html")
            || lower.ends_with(".htm")
            || lower.ends_with(".mht")
            || lower.ends_with(".mhtml")
            || head.contains("<html"),
    };
    extract_with(s, decode)
}

/// Finds links after the given decoding.
pub fn extract_with(s: &str, decode: Decode) -> Vec<Link> {
    let mut found = Vec::new();
    scan(&Clean::build(s, decode, false), s, &mut found);
    if decode.html {
        scan(&Clean::build(s, decode, true), s, &mut found);
    }
    found.sort_by_key(|l| l.offset);
    // The same link as an href and as the anchor's text is one finding.
    let lines = line_starts(s);
    let mut seen = std::collections::HashSet::new();
    found.retain(|l| seen.insert((line_of(&lines, l.offset), l.kind, l.url.clone())));
    found
}

/// Byte offsets where lines start, for [`line_of`].
pub fn line_starts(s: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(s.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The 1-based line holding byte `offset`.
pub fn line_of(starts: &[usize], offset: usize) -> usize {
    starts.partition_point(|&s| s <= offset)
}

/// The de-obfuscated copy and, per byte of it, the source span it came
/// from (`u32`: eight bytes of bookkeeping per byte searched, not sixteen).
struct Clean {
    text: String,
    start: Vec<u32>,
    end: Vec<u32>,
}

/// Longest text searched for links at once: offsets are `u32`.
pub const MAX_SEARCH: usize = u32::MAX as usize;

impl Clean {
    fn build(s: &str, decode: Decode, strip_tags: bool) -> Clean {
        // Offsets are u32: a longer text is searched up to the bound.
        let mut cut = s.len().min(MAX_SEARCH - 1);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let s = &s[..cut];
        let mut c = Clean {
            text: String::with_capacity(s.len()),
            start: Vec::with_capacity(s.len()),
            end: Vec::with_capacity(s.len()),
        };
        let b = s.as_bytes();
        let mut i = 0;
        while i < s.len() {
            let ch = s[i..].chars().next().unwrap_or('\0');
            let w = ch.len_utf8();
            if decode.quoted_printable && ch == '=' {
                if b[i + 1..].starts_with(b"\r\n") {
                    i += 3;
                    continue;
                }
                if b[i + 1..].starts_with(b"\n") {
                    i += 2;
                    continue;
                }
                // A run of =XX escapes is one UTF-8 sequence, decoded together.
                let mut bytes = Vec::new();
                let mut j = i;
                while j + 2 < s.len() && b[j] == b'=' {
                    match (hex(b.get(j + 1)), hex(b.get(j + 2))) {
                        (Some(h), Some(l)) => {
                            bytes.push(h * 16 + l);
                            j += 3;
                        }
                        _ => break,
                    }
                }
                if !bytes.is_empty() {
                    for ch in String::from_utf8_lossy(&bytes).chars() {
                        c.push_mapped(ch, i, j);
                    }
                    i = j;
                    continue;
                }
            }
            if strip_tags && ch == '<' {
                if let Some(close) = s[i..].find('>') {
                    let tag = s[i + 1..i + close].trim_start_matches('/').to_ascii_lowercase();
                    let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                    if matches!(name.as_str(), "br" | "p" | "div" | "li" | "tr" | "pre" | "code" | "td") {
                        c.push_raw('\n', i, i + close + 1);
                    }
                    i += close + 1;
                    continue;
                }
            }
            if ch == '&' {
                if let Some((decoded, len)) = entity(&s[i..]) {
                    c.push_mapped(decoded, i, i + len);
                    i += len;
                    continue;
                }
            }
            if ch == '%' {
                if let (Some(h), Some(l)) = (hex(b.get(i + 1)), hex(b.get(i + 2))) {
                    let v = h * 16 + l;
                    if matches!(v, b'/' | b':' | b'+' | b'#' | b'?' | b'=' | b'&' | b'.' | b'@') {
                        c.push_mapped(v as char, i, i + 3);
                        i += 3;
                        continue;
                    }
                }
            }
            c.push_mapped(ch, i, i + w);
            i += w;
        }
        c
    }

    fn push_mapped(&mut self, ch: char, from: usize, to: usize) {
        if text::is_invisible(ch) {
            return;
        }
        let ch = match ch {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
            '\u{3002}' | '\u{FF61}' | '\u{2024}' => '.',
            '\u{00A0}' | '\u{202F}' | '\u{3000}' | '\u{2009}' => ' ',
            // Cyrillic or Greek look-alikes stay as they are: in a host they
            // make another (IDN) domain, which is rejected; in a code they
            // are not the code's letters.
            c => c,
        };
        self.push_raw(ch, from, to);
    }

    fn push_raw(&mut self, ch: char, from: usize, to: usize) {
        // `build` keeps the text under MAX_SEARCH bytes: these fit.
        let (from, to) = (from as u32, to as u32);
        for _ in 0..ch.len_utf8() {
            self.start.push(from);
            self.end.push(to);
        }
        self.text.push(ch);
    }
}

fn hex(b: Option<&u8>) -> Option<u8> {
    (*b? as char).to_digit(16).map(|d| d as u8)
}

/// An HTML character reference at the start of `s`: the character and the
/// reference's length. Only what link-hiding uses, not the whole HTML table.
fn entity(s: &str) -> Option<(char, usize)> {
    let end = s.bytes().take(12).position(|b| b == b';')?;
    let body = &s[1..end];
    let ch = if let Some(num) = body.strip_prefix("#x").or_else(|| body.strip_prefix("#X")) {
        char::from_u32(u32::from_str_radix(num, 16).ok()?)?
    } else if let Some(num) = body.strip_prefix('#') {
        char::from_u32(num.parse().ok()?)?
    } else {
        match body {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "period" => '.',
            "sol" => '/',
            "colon" => ':',
            "plus" => '+',
            "num" => '#',
            "quest" => '?',
            "equals" => '=',
            "commat" => '@',
            "lowbar" => '_',
            "hyphen" | "dash" => '-',
            "nbsp" => ' ',
            "shy" | "zwsp" | "ZeroWidthSpace" | "zwj" | "zwnj" => '\u{200B}',
            _ => return None,
        }
    };
    Some((ch, end + 1))
}

fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // A dot as obfuscators write it, a slash likewise, and an optional scheme.
        let d = r"(?:\s*(?:\.|\[\.\]|\(\.\)|\{\.\}|(?i:\[dot\]|\(dot\)|\{dot\}|<dot>))\s*|\s+(?i:dot|punto|ponto|punkt|point)\s+)";
        let s = r"\s*(?:/|\[/\]|\(/\))\s*";
        let scheme = r"(?:(?i:h(?:tt|xx|\*\*)ps?)\s*(?::\s*//|\[:\]\s*//|\[://\]|\[:/\]/)\s*)?";
        let www = format!(r"(?:(?i:www){d})?");
        let h = |name: &str| name.split('.').map(|p| format!("(?i:{p})")).collect::<Vec<_>>().join(d);
        let src = format!(
            r"(?:^|[^\p{{L}}\p{{N}}_.\-@])(?P<link>{scheme}{www}(?:{wag}{s}(?:(?i:invite){s})?(?P<wag>[A-Za-z0-9]{{1,24}}(?:\r?\n[A-Za-z0-9]{{1,23}})?)|(?i:whatsapp://chat\?code=)(?P<wag2>[A-Za-z0-9]{{20,24}})|{wam}{s}\+?(?P<wap>\d{{7,15}})|{api}{s}(?i:send){s}?\?(?i:phone)=\+?(?P<wap2>\d{{7,15}})|(?i:whatsapp://send\?phone=)\+?(?P<wap3>\d{{7,15}})|(?:{tme}|{tgme}|{tgdog}){s}(?:(?i:joinchat){s}(?P<tgj>[A-Za-z0-9_\-]{{16,}})|\+(?P<tgp>\d{{7,15}})(?:[^A-Za-z0-9_\-]|$)|\+(?P<tgi>[A-Za-z0-9_\-]{{16,}})|(?P<tgu>[A-Za-z][A-Za-z0-9_]{{4,31}}))|(?i:tg://join\?invite=)(?P<tgi2>[A-Za-z0-9_\-]{{16,}})|(?i:tg://resolve\?domain=)(?P<tgu2>[A-Za-z][A-Za-z0-9_]{{4,31}})|(?i:sgnl://)?{sig}{s}?\#(?P<sig>[A-Za-z0-9_\-]{{16,}})|{dgg}{s}(?P<dc>[A-Za-z0-9\-]{{2,32}})|(?:{dcom}|{dapp}){s}(?i:invite){s}(?P<dc2>[A-Za-z0-9\-]{{2,32}})))",
            wag = h("chat.whatsapp.com"),
            wam = h("wa.me"),
            api = h("api.whatsapp.com"),
            tme = h("t.me"),
            tgme = h("telegram.me"),
            tgdog = h("telegram.dog"),
            sig = h("signal.group"),
            dgg = h("discord.gg"),
            dcom = h("discord.com"),
            dapp = h("discordapp.com"),
        );
        Regex::new(&src).expect("link pattern compiles")
    })
}

const TELEGRAM_RESERVED: &[&str] = &[
    "joinchat",
    "addstickers",
    "addemoji",
    "share",
    "proxy",
    "socks",
    "iv",
    "c",
    "s",
    "login",
    "setlanguage",
    "addtheme",
    "confirmphone",
    "invoice",
    "boost",
    "contact",
];

fn scan(clean: &Clean, src: &str, out: &mut Vec<Link>) {
    let t = &clean.text;
    let mut at = 0;
    while let Some(caps) = pattern().captures_at(t, at) {
        let whole = caps.get(0).expect("match");
        let link = caps.name("link").expect("link group");
        at = whole.end().max(at + 1);
        let (group, m) = match [
            "wag", "wag2", "wap", "wap2", "wap3", "tgj", "tgp", "tgi", "tgi2", "tgu", "tgu2", "sig", "dc", "dc2",
        ]
        .iter()
        .find_map(|g| caps.name(g).map(|m| (*g, m)))
        {
            Some(x) => x,
            None => continue,
        };
        let prefix = &t[link.start()..m.start()];
        let lower = prefix.to_ascii_lowercase();
        let has_scheme = ["http", "hxxp", "h**p"].iter().any(|s| lower.starts_with(s)) || lower.contains("://");
        // Inside a URL path ("web.archive.org/web/2023/https://chat…") a link
        // must start with its scheme; a bare host after a slash is a path.
        if t[..link.start()].ends_with('/') && !has_scheme {
            continue;
        }
        // Spaces around a plain dot ("I can't. Me / Chris") are prose, not
        // obfuscation, unless a scheme says a URL is meant; the bracketed and
        // "dot" forms are obfuscation wherever they are.
        let loose_dot = prefix.char_indices().any(|(i, c)| {
            c == '.' && (prefix[..i].ends_with(char::is_whitespace) || prefix[i + 1..].starts_with(char::is_whitespace))
        });
        if loose_dot && !has_scheme && matches!(group, "tgu" | "tgu2" | "wap" | "dc") {
            continue;
        }
        let mut value = m.as_str().to_string();
        let mut value_end = m.end();
        if group == "wag" {
            // A code broken over two lines is joined only when the join is
            // exactly a 22-character code and the next line holds nothing else.
            if let Some(nl) = value.find('\n') {
                let first = value[..nl].trim_end_matches('\r').to_string();
                let joined = format!("{first}{}", &value[nl + 1..]);
                let rest_of_line = t[m.end()..].split('\n').next().unwrap_or("");
                if first.len() < 20 && joined.len() == 22 && rest_of_line.trim().is_empty() {
                    value = joined;
                } else {
                    value_end = m.start() + first.len();
                    value = first;
                }
            }
            if !(20..=24).contains(&value.len()) {
                continue;
            }
        }
        let next = t[value_end..].chars().next();
        let code_char = |c: char| c.is_alphanumeric() || c == '_' || (c == '-' && group != "wag");
        if group != "tgp" && next.is_some_and(code_char) {
            continue;
        }
        if matches!(group, "tgu" | "tgu2") && TELEGRAM_RESERVED.contains(&value.to_ascii_lowercase().as_str()) {
            continue;
        }
        let (kind, code, phone_e164, url) = match group {
            "wag" | "wag2" => (
                LinkKind::WhatsappGroup,
                Some(value.clone()),
                None,
                format!("https://chat.whatsapp.com/{value}"),
            ),
            "wap" | "wap2" | "wap3" => {
                let Some(p) = phone::parse(&value, true) else { continue };
                let digits = p.e164.trim_start_matches('+').to_string();
                (
                    LinkKind::WhatsappPhone,
                    None,
                    Some(p.e164),
                    format!("https://wa.me/{digits}"),
                )
            }
            "tgp" => {
                let Some(p) = phone::parse(&value, true) else { continue };
                let digits = p.e164.trim_start_matches('+').to_string();
                (
                    LinkKind::TelegramPhone,
                    None,
                    Some(p.e164),
                    format!("https://t.me/+{digits}"),
                )
            }
            "tgj" => (
                LinkKind::TelegramInvite,
                Some(value.clone()),
                None,
                format!("https://t.me/joinchat/{value}"),
            ),
            "tgi" | "tgi2" => (
                LinkKind::TelegramInvite,
                Some(value.clone()),
                None,
                format!("https://t.me/+{value}"),
            ),
            "tgu" | "tgu2" => (
                LinkKind::TelegramUsername,
                Some(value.clone()),
                None,
                format!("https://t.me/{value}"),
            ),
            "sig" => (
                LinkKind::SignalGroup,
                Some(value.clone()),
                None,
                format!("https://signal.group/#{value}"),
            ),
            _ => (
                LinkKind::DiscordInvite,
                Some(value.clone()),
                None,
                format!("https://discord.gg/{value}"),
            ),
        };
        // Resume right after the value: the separator after it may be the next link's boundary.
        at = value_end.max(link.start() + 1);
        while at < t.len() && !t.is_char_boundary(at) {
            at += 1;
        }
        let raw_start = clean.start[link.start()] as usize;
        let raw_end = clean.end[value_end - 1] as usize;
        out.push(Link {
            kind,
            code,
            phone_e164,
            url,
            raw: src[raw_start..raw_end].to_string(),
            offset: raw_start,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(s: &str) -> Vec<String> {
        extract(s).into_iter().map(|l| l.url).collect()
    }

    const CODE: &str = "AbCdEfGhIjKlMnOpQrStUv";

    #[test]
    fn plain_and_obfuscated() {
        let want = vec![format!("https://chat.whatsapp.com/{CODE}")];
        for s in [
            format!("join https://chat.whatsapp.com/{CODE} now"),
            format!("hxxps://chat[.]whatsapp[.]com/{CODE}"),
            format!("chat dot whatsapp dot com / {CODE}"),
            format!("chat . whatsapp . com/invite/{CODE}."),
            format!("chat.whatsapp.com/{}\n{}", &CODE[..10], &CODE[10..]),
            format!("chat\u{200B}.whatsapp.com/{CODE}"),
            "ｃｈａｔ．ｗｈａｔｓａｐｐ．ｃｏｍ／AbCdEfGhIjKlMnOpQrStUv".to_string(),
            format!("https://www.google.com/url?q=https%3A%2F%2Fchat.whatsapp.com%2F{CODE}&sa=D"),
            format!("chat&#46;whatsapp&period;com/{CODE}"),
        ] {
            assert_eq!(urls(&s), want, "{s:?}");
        }
    }

    #[test]
    fn lookalikes_rejected() {
        for s in [
            format!("https://chat-whatsapp.com/{CODE}"),
            format!("https://chat.whatsapp.com.example/{CODE}"),
            format!("https://xchat.whatsapp.com/{CODE}"),
            format!("https://chat.whatsapp.co/{CODE}"),
            "kiwa.me/393471234567".to_string(),
            "at.me/someone".to_string(),
        ] {
            assert_eq!(urls(&s), Vec::<String>::new(), "{s:?}");
        }
    }

    #[test]
    fn kinds() {
        let l =
            extract("wa.me/447700900123 t.me/+447700900456 t.me/+AbCdEfGhIjKlMnOp t.me/joinchat/AAAAAEbCdEfGhIjKlMnOp");
        let k: Vec<_> = l
            .iter()
            .map(|l| (l.kind, l.code.clone(), l.phone_e164.clone()))
            .collect();
        assert_eq!(
            k,
            vec![
                (LinkKind::WhatsappPhone, None, Some("+447700900123".into())),
                (LinkKind::TelegramPhone, None, Some("+447700900456".into())),
                (LinkKind::TelegramInvite, Some("AbCdEfGhIjKlMnOp".into()), None),
                (LinkKind::TelegramInvite, Some("AAAAAEbCdEfGhIjKlMnOp".into()), None),
            ]
        );
        let l = extract("signal.group/#CjQKIAbc-def_ghijklmnop discord.gg/benign-club telegram.me/chess_club_fixture");
        assert_eq!(
            l.iter().map(|l| l.url.as_str()).collect::<Vec<_>>(),
            vec![
                "https://signal.group/#CjQKIAbc-def_ghijklmnop",
                "https://discord.gg/benign-club",
                "https://t.me/chess_club_fixture"
            ]
        );
        assert_eq!(extract("see t.me/+AbCdEfGhIjKlMnOp")[0].raw, "t.me/+AbCdEfGhIjKlMnOp");
    }

    #[test]
    fn pages() {
        let html = format!("<p>hi <a href=\"https://chat.whatsapp.com/{CODE}\">chat.whatsapp.com/{CODE}</a></p>\n<p>chat.<b>whatsapp</b>.com/{CODE}</p>");
        let l = extract_document("page.html", &html);
        assert_eq!(l.len(), 2, "{l:?}");
        let mht = format!("Content-Transfer-Encoding: quoted-printable\r\n\r\n<a href=3D\"https://chat.whats=\r\napp.com/{CODE}\">x</a>");
        let l = extract_document("page.mhtml", &mht);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].code.as_deref(), Some(CODE));
    }
}
