//! Regression tests for the bugs a review of the chats crate found. Every
//! input here is hand-written; expectations do not come from the parser's
//! own phrase tables.

use std::io::Write;

use chats::{EventType, Kind};
use proptest::prelude::*;

fn wa(text: &str, name: &str) -> chats::Export {
    chats::parse_whatsapp_text(text.as_bytes(), name).unwrap()
}

const ANDROID_CHAT: &str = "12/03/2024, 10:22 - Ann: hi there\n13/03/2024, 11:00 - Bob: see you\n";

// ---- 1. a WhatsApp folder or zip holding a messages.html ------------------

#[test]
fn whatsapp_folder_with_attached_messages_html_is_whatsapp() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("WhatsApp Chat - Hikers");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("_chat.txt"), "[12/03/2024, 10:22:01] Ann: hi there\n").unwrap();
    std::fs::write(d.join("00000004-messages.html"), "<html></html>").unwrap();
    std::fs::write(d.join("messages.html"), "<div class=\"message default\"></div>").unwrap();
    let got = chats::parse_path(&d).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].platform, chats::Platform::Whatsapp);
    assert_eq!(got[0].messages.len(), 1);
    assert_eq!(got[0].messages[0].text, "hi there");
}

#[test]
fn whatsapp_zip_with_attached_messages_html_and_result_json_is_whatsapp() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("WhatsApp Chat with Ann.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for (n, body) in [
        ("messages.html", "<html></html>"),
        (
            "result.json",
            "{\"name\":\"x\",\"type\":\"private_group\",\"messages\":[]}",
        ),
        ("WhatsApp Chat with Ann.txt", ANDROID_CHAT),
    ] {
        z.start_file(n, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    let got = chats::parse_path(&p).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].platform, chats::Platform::Whatsapp);
    assert_eq!(got[0].messages.len(), 2);
}

// ---- 9. Telegram HTML titles ---------------------------------------------

fn html_with_title(title: &str) -> String {
    format!(
        "<div class=\"message default clearfix\" id=\"message5\">\n<div class=\"pull_right date details\" title=\"{title}\">19:40</div>\n<div class=\"from_name\">Ann</div>\n<div class=\"text\">hi</div>\n</div>"
    )
}

#[test]
fn telegram_html_title_with_bare_utc_or_unicode_minus_does_not_panic() {
    for title in [
        "14.05.2017 19:40:02 UTC",
        "14.05.2017 19:40:02 UTC\u{2212}02:00",
        "14.05.2017 19:40:02 UTCé",
    ] {
        let e = chats::parse_telegram_html(&[("messages.html".into(), html_with_title(title))], "d");
        assert_eq!(e.messages.len(), 1, "{title}");
    }
    let e = chats::parse_telegram_html(
        &[(
            "messages.html".into(),
            html_with_title("14.05.2017 19:40:02 UTC\u{2212}02:00"),
        )],
        "d",
    );
    // 19:40:02 at UTC-2 is 21:40:02 UTC.
    assert_eq!(e.messages[0].timestamp_utc, Some(1_494_798_002));
}

#[test]
fn telegram_html_title_with_month_257_is_not_january() {
    let e = chats::parse_telegram_html(
        &[(
            "messages.html".into(),
            html_with_title("14.257.2017 19:40:02 UTC+02:00"),
        )],
        "d",
    );
    assert_eq!(e.messages[0].timestamp, None);
    let e = chats::parse_telegram_html(
        &[(
            "messages.html".into(),
            html_with_title("14.05.2017 275:40:02 UTC+02:00"),
        )],
        "d",
    );
    assert_eq!(e.messages[0].timestamp, None);
}

proptest! {
    #[test]
    fn telegram_html_titles_never_panic(title in "[0-9.:+\u{2212} -]{0,12}(UTC)?[0-9.:+\u{2212}\u{e9} -]{0,8}") {
        let _ = chats::parse_telegram_html(&[("messages.html".into(), html_with_title(&title))], "d");
    }
}

// ---- 12. truncated zip -----------------------------------------------------

#[test]
fn truncated_zip_recovers_the_members_before_the_cut() {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("_chat.txt", opts).unwrap();
    z.write_all(b"[12/03/2024, 10:22:01] Ann: hi there\n[13/03/2024, 11:00:00] Bob: see you\n")
        .unwrap();
    z.start_file("00000003-PHOTO-2024-03-13-11-00-00.jpg", opts).unwrap();
    z.write_all(&vec![0x5a; 20_000]).unwrap();
    z.finish().unwrap();
    let bytes = buf.into_inner();
    let cut = &bytes[..bytes.len() - 5_000];
    let got = chats::parse_zip(std::io::Cursor::new(cut), "cut.zip", "cut.zip").unwrap();
    assert_eq!(got[0].messages.len(), 2);
    assert!(
        got[0].errors.iter().any(|e| e.message.contains("truncated")),
        "{:?}",
        got[0].errors
    );
    // Nothing recoverable is still a clean error naming the file.
    let e = chats::parse_zip(std::io::Cursor::new(&bytes[..20]), "cut.zip", "cut.zip").unwrap_err();
    assert!(e.to_string().contains("cut.zip"), "{e}");
}
