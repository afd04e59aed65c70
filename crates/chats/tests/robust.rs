//! Bad input: parsers never panic, and report clean errors naming the file
//! and line while still reading the rest.

use std::io::{Read, Write};

use chats::synth::{self, ChatSpec, Target};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn whatsapp_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = chats::parse_whatsapp_text(&bytes, "x.txt");
    }

    #[test]
    fn whatsapp_lines_never_panic(lines in proptest::collection::vec("[\\[\\]0-9/.,: APMapm\u{202F}\u{200E}-]{0,40}[a-z: <>\"«»]{0,20}", 0..30)) {
        let _ = chats::parse_whatsapp_text(lines.join("\n").as_bytes(), "x.txt");
    }

    #[test]
    fn telegram_never_panics(s in "\\PC{0,600}") {
        let _ = chats::parse_telegram_json(&s, "result.json");
        let _ = chats::parse_telegram_html(&[("messages.html".into(), s.clone())], "dir");
    }

    #[test]
    fn telegram_json_shapes_never_panic(v in json_value()) {
        let doc = serde_json::json!({"name": "g", "type": "private_group", "messages": [v.clone(), {"id": 1, "type": "service", "action": v}]});
        let _ = chats::parse_telegram_json(&doc.to_string(), "result.json");
    }

    #[test]
    fn links_never_panic(s in "\\PC{0,400}") {
        let _ = chats::links::extract(&s);
        let _ = chats::links::extract_document("p.mhtml", &s);
        let _ = chats::links::extract_document("p.html", &s);
    }

    #[test]
    fn zip_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = chats::parse_zip(std::io::Cursor::new(bytes), "x.zip", "x.zip");
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        "\\PC{0,20}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(
                "id|type|date|date_unixtime|text|from|from_id|action|actor|members|photo|file|href",
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn android_export(seed: u64) -> (Vec<u8>, usize) {
    let r = synth::chat(&ChatSpec::new(seed, Target::WhatsappAndroid, "en-GB", 20));
    let n = r.expected.messages.len();
    (r.files[0].1.clone(), n)
}

#[test]
fn binary_junk_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.txt");
    let junk: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&p, junk).unwrap();
    let e = chats::parse_path(&p).unwrap_err().to_string();
    assert!(e.contains("junk.txt") && e.contains("not a chat export"), "{e}");
}

#[test]
fn junk_inside_an_export_is_reported_by_line_and_the_rest_parsed() {
    let (text, n) = android_export(1);
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let junk = b"\xff\xfe\x00garbage\x80\x81".to_vec();
    lines.insert(5, &junk);
    let bytes = lines.join(&b'\n');
    let e = chats::parse_whatsapp_text(&bytes, "chat.txt").unwrap();
    assert_eq!(e.messages.len(), n);
    assert_eq!(e.errors.len(), 1, "{:?}", e.errors);
    assert_eq!(e.errors[0].line, Some(6));
    assert!(
        e.errors[0].to_string().starts_with("chat.txt:6: not UTF-8"),
        "{}",
        e.errors[0]
    );
}

#[test]
fn very_long_line_is_capped_and_reported() {
    // Streams a line far over the cap through the parser without holding it: a
    // reader that produces 64 MiB of 'x' on line 3 of a real export.
    let (text, n) = android_export(2);
    let split = text.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(1).unwrap().0 + 1;
    let head = text[..split].to_vec();
    let tail = text[split..].to_vec();
    struct Repeat(u64);
    impl std::io::Read for Repeat {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let k = (buf.len() as u64).min(self.0) as usize;
            buf[..k].fill(b'x');
            self.0 -= k as u64;
            Ok(k)
        }
    }
    let reader = std::io::Cursor::new(head)
        .chain(Repeat(64 << 20))
        .chain(std::io::Cursor::new(b"\n".to_vec()))
        .chain(std::io::Cursor::new(tail));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("WhatsApp Chat with Garden and Trails.txt");
    let mut f = std::fs::File::create(&p).unwrap();
    std::io::copy(&mut std::io::BufReader::new(reader), &mut f).unwrap();
    f.flush().unwrap();
    drop(f);
    let e = chats::parse_path(&p).unwrap().remove(0);
    assert_eq!(e.messages.len(), n);
    assert_eq!(e.errors.len(), 1, "{:?}", e.errors);
    assert_eq!(e.errors[0].line, Some(3));
    assert!(e.errors[0].message.contains("line longer than"), "{}", e.errors[0]);
}

#[test]
fn truncated_zip_keeps_what_can_be_read_and_reports_the_cut() {
    let r = synth::chat(&ChatSpec {
        flags: vec!["media"],
        ..ChatSpec::new(3, Target::WhatsappIos, "de-DE", 30)
    });
    let zip = &r.files[0].1;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("WhatsApp Chat - cut.zip");
    std::fs::write(&p, &zip[..zip.len() / 2]).unwrap();
    match chats::parse_path(&p) {
        // The cut left the chat text whole or in part: it is parsed and the damage reported.
        Ok(mut e) => {
            let e = e.remove(0);
            assert!(!e.messages.is_empty());
            assert!(
                e.errors
                    .iter()
                    .any(|i| i.file.contains("cut.zip") && i.message.contains("truncated")),
                "{:?}",
                e.errors
            );
        }
        // The cut went through the chat text's local header: a clean error.
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("cut.zip") && e.contains("zip"), "{e}");
        }
    }
}

#[test]
fn json_with_wrong_types_names_the_line_and_keeps_the_rest() {
    let r = synth::chat(&ChatSpec::new(4, Target::TelegramJson, "en-GB", 20));
    let text = String::from_utf8(r.files[0].1.clone()).unwrap();
    let n = r.expected.messages.len();
    // The first message's date becomes an object; the 3rd message's text a number.
    let bad = text
        .replacen("\"date_unixtime\": \"", "\"date_unixtime\": {\"x\": \"", 1)
        .replacen("\",\n      \"type\"", "\"},\n      \"type\"", 0);
    let first_date = bad.find("\"date_unixtime\": {").unwrap();
    let close = first_date + bad[first_date..].find("\",").unwrap();
    let bad = format!("{}\"}}{}", &bad[..close], &bad[close + 1..]);
    let line = bad[..first_date].lines().count();
    let e = chats::parse_telegram_json(&bad, "result.json").unwrap().remove(0);
    assert_eq!(e.messages.len(), n - 1);
    assert_eq!(e.errors.len(), 1, "{:?}", e.errors);
    assert!(e.errors[0].message.contains("date_unixtime"), "{}", e.errors[0]);
    let reported = e.errors[0].line.unwrap();
    assert!(
        reported <= line && reported + 10 > line,
        "reported {reported}, field on {line}"
    );
    // Broken syntax: the whole file fails, with the line.
    let e = chats::parse_telegram_json(&text[..text.len() / 2], "result.json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("result.json:"), "{e}");
    // Messages of the wrong type altogether.
    let e = chats::parse_telegram_json("{\"messages\": 5}", "result.json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("result.json:1:"), "{e}");
}

#[test]
fn forum_pages_yield_exactly_their_links() {
    let (html, want) = synth::forum_page(9);
    for (name, text) in [("thread.html", html.clone()), ("thread.mhtml", synth::mhtml_of(&html))] {
        let got: Vec<_> = chats::links::extract_document(name, &text)
            .into_iter()
            .map(|l| (l.kind, l.code.or(l.phone_e164).unwrap()))
            .collect();
        assert_eq!(got, want, "{name}");
    }
}
