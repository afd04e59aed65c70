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

// ---- 2. text as written ------------------------------------------------------

#[test]
fn message_text_keeps_invisible_and_special_characters_as_written() {
    let body = "a\u{200B}b\u{00AD}c\u{00A0}d\u{3000}e\u{2011}f \u{200F}g";
    let e = wa(
        &format!(
            "\u{FEFF}12/03/2024, 10:22 - \u{202A}+39 347 123 4567\u{202C}: {body}\r\n13/03/2024, 10:22 - Ann: x\r\n"
        ),
        "x.txt",
    );
    assert_eq!(e.messages[0].text, body);
    assert_eq!(e.messages[0].sender.as_deref(), Some("+39 347 123 4567"));
    assert_eq!(e.messages[1].text, "x");
}

#[test]
fn notice_text_is_kept_as_written_and_event_names_are_clean() {
    let e = wa(
        "12/03/2024, 10:22 - Ann added \u{202A}+39 347 123 4567\u{202C}\n13/03/2024, 10:22 - Ann: x\n",
        "x.txt",
    );
    assert_eq!(e.messages[0].text, "Ann added \u{202A}+39 347 123 4567\u{202C}");
    let ev = e.messages[0].event.as_ref().unwrap();
    assert_eq!(ev.targets, vec!["+39 347 123 4567".to_string()]);
}

// ---- 3. iOS notices with unknown wording -----------------------------------

#[test]
fn ios_lrm_notice_with_unknown_wording_is_system_without_sender() {
    let e = wa(
        "[12/03/2024, 10:22:01] Hikers: \u{200E}Ann turned on disappearing messages. Tap to change.\n\
         [12/03/2024, 10:23:01] Ann: hello \u{200E}there\n",
        "_chat.txt",
    );
    assert_eq!(e.messages[0].kind, Kind::System);
    assert_eq!(e.messages[0].sender, None);
    assert_eq!(e.messages[0].event, None);
    // An LRM later in a body is no signal: an ordinary message.
    assert_eq!(e.messages[1].kind, Kind::Message);
    assert_eq!(e.messages[1].sender.as_deref(), Some("Ann"));
}

#[test]
fn ios_lrm_later_in_body_does_not_make_a_notice() {
    // "Bob left" sent as a message by Ann, with an LRM at the end of the body.
    let e = wa(
        "[12/03/2024, 10:22:01] Ann: Bob left\u{200E}\n[12/03/2024, 10:23:01] Bob: hi\n",
        "_chat.txt",
    );
    assert_eq!(e.messages[0].kind, Kind::Message);
    assert_eq!(e.messages[0].sender.as_deref(), Some("Ann"));
}

// ---- 4. notice wordings per locale (from the research notes' table) ---------

#[test]
fn you_forms_of_subject_icon_description_changes_are_notices() {
    let lines = [
        (
            "Hai cambiato l'oggetto da \"Gita\" a \"Gita 2024\"",
            EventType::SubjectChanged,
        ),
        ("Hai cambiato l'immagine del gruppo", EventType::IconChanged),
        ("Hai cambiato la descrizione del gruppo", EventType::DescriptionChanged),
        (
            "Cambiaste el asunto de \"Viaje\" a \"Viaje 2024\"",
            EventType::SubjectChanged,
        ),
        ("Cambiaste el ícono de este grupo", EventType::IconChanged),
        ("Cambiaste la descripción del grupo", EventType::DescriptionChanged),
        (
            "Du hast den Betreff von \"Reise\" zu \"Reise 2024\" geändert",
            EventType::SubjectChanged,
        ),
        ("Du hast das Gruppenbild geändert", EventType::IconChanged),
        (
            "Du hast die Gruppenbeschreibung geändert",
            EventType::DescriptionChanged,
        ),
        (
            "Vous avez modifié le sujet de « Voyage » en « Voyage 2024 »",
            EventType::SubjectChanged,
        ),
        ("Vous avez changé l'icône de ce groupe", EventType::IconChanged),
        (
            "Vous avez modifié la description du groupe",
            EventType::DescriptionChanged,
        ),
    ];
    for (line, kind) in lines {
        let e = wa(
            &format!("12/03/2024, 10:22 - {line}\n12/03/2024, 10:23 - Ann: x\n"),
            "x.txt",
        );
        let ev = e.messages[0]
            .event
            .as_ref()
            .unwrap_or_else(|| panic!("no event: {line}"));
        assert_eq!(ev.kind, kind, "{line}");
        assert_eq!(ev.actor.as_deref(), Some(chats::YOU), "{line}");
    }
}

#[test]
fn gif_and_contact_card_omitted_in_other_languages_are_attachments() {
    for body in ["GIF ocultado", "GIF weggelassen", "GIF absent"] {
        let e = wa(&format!("[12/03/2024, 10:22:01] Ann: \u{200E}{body}\n"), "_chat.txt");
        let a = e.messages[0].attachment.as_ref().unwrap_or_else(|| panic!("{body}"));
        assert_eq!((a.media, a.omitted), (chats::Media::Gif, true), "{body}");
    }
    for body in ["Kontaktkarte weggelassen", "tarjeta de contacto omitida"] {
        let e = wa(&format!("[12/03/2024, 10:22:01] Ann: \u{200E}{body}\n"), "_chat.txt");
        assert_eq!(
            e.messages[0].attachment.as_ref().map(|a| a.media),
            Some(chats::Media::Contact),
            "{body}"
        );
    }
}

// ---- 5. dates ----------------------------------------------------------------

#[test]
fn dotted_dates_with_every_day_under_13_are_day_first() {
    let e = wa("03.04.24, 10:22 - Ann: a\n03.04.24, 10:23 - Bob: b\n", "x.txt");
    assert_eq!(e.date_order, Some(chats::DateOrder::Dmy));
    assert!(e.date_order_assumed);
}

#[test]
fn unknown_language_with_two_digit_years_is_not_month_first() {
    let e = wa("03/04/24, 10:22 - Ann: a\n03/04/24, 10:23 - Bob: b\n", "x.txt");
    assert_eq!(e.date_order, Some(chats::DateOrder::Dmy));
    assert!(e.date_order_assumed);
}

#[test]
fn mixed_date_order_evidence_is_reported_and_assumed() {
    let e = wa(
        "13/03/2024, 10:22 - Ann: a\n14/03/2024, 10:22 - Ann: b\n03/15/2024, 10:23 - Bob: c\n",
        "x.txt",
    );
    assert_eq!(e.date_order, Some(chats::DateOrder::Dmy));
    assert!(e.date_order_assumed);
    assert!(
        e.errors.iter().any(|i| i.message.contains("date order")),
        "{:?}",
        e.errors
    );
}

#[test]
fn hour_24_rolls_over_to_the_next_day() {
    let e = wa("31/12/2023, 23:59 - Ann: a\n31/12/2023, 24:05 - Bob: b\n", "x.txt");
    let t = e.messages[1].timestamp.unwrap();
    assert_eq!((t.year, t.month, t.day, t.hour, t.minute), (2024, 1, 1, 0, 5));
}

// ---- 7. phones -----------------------------------------------------------------

#[test]
fn italian_landlines_get_their_region() {
    for n in ["+39 02 1234 5678", "+39 06 4881 2345"] {
        let p = chats::phone::parse(n, false).unwrap();
        assert_eq!((p.region.as_deref(), p.valid), (Some("IT"), true), "{n}");
    }
}

#[test]
fn telegram_contact_with_bare_national_number_gets_no_foreign_country() {
    let doc = serde_json::json!({
        "contacts": {"list": [{"first_name": "Ann", "last_name": "", "phone_number": "3471234567"}]},
        "chats": {"list": [{"name": "g", "type": "private_group", "id": 1, "messages": [
            {"id": 1, "type": "message", "date": "2024-03-12T10:22:00", "date_unixtime": "1710238920", "from": "Ann", "from_id": "user1", "text": "hi"}
        ]}]}
    });
    let e = chats::parse_telegram_json(&doc.to_string(), "result.json").unwrap();
    let ann = e[0].participants.iter().find(|p| p.display == "Ann").unwrap();
    assert_eq!(ann.region, None);
    assert_eq!(ann.phone_e164, None);
}

// ---- 8. Telegram JSON -----------------------------------------------------------

fn tg_msg(id: i64, from: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "type": "message", "date": "2024-03-12T10:22:00", "date_unixtime": "1710238920", "from": from, "from_id": "user1", "text": "hi"})
}

#[test]
fn one_malformed_chat_does_not_fail_the_whole_account() {
    let doc = serde_json::json!({"chats": {"list": [
        {"name": "bad", "type": "private_group", "messages": "oops"},
        {"name": "good", "type": "private_group", "messages": [tg_msg(1, "Ann")]}
    ]}});
    let e = chats::parse_telegram_json(&doc.to_string(), "result.json").unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].group_name.as_deref(), Some("good"));
    assert!(
        e[0].errors.iter().any(|i| i.message.contains("chat skipped")),
        "{:?}",
        e[0].errors
    );
}

#[test]
fn telegram_contacts_with_the_same_name_are_not_silently_merged() {
    let doc = serde_json::json!({
        "contacts": {"list": [
            {"first_name": "Ann", "phone_number": "+39 347 123 4567"},
            {"first_name": "Ann", "phone_number": "+49 1512 3456789"}
        ]},
        "chats": {"list": [{"name": "g", "type": "private_group", "messages": [tg_msg(1, "Ann")]}]}
    });
    let e = chats::parse_telegram_json(&doc.to_string(), "result.json").unwrap();
    let ann = e[0].participants.iter().find(|p| p.display == "Ann").unwrap();
    assert_eq!(ann.phone_e164, None);
    assert!(
        e[0].errors.iter().any(|i| i.message.contains("contacts are named")),
        "{:?}",
        e[0].errors
    );
}

#[test]
fn telegram_invite_of_oneself_is_a_join_not_an_add() {
    let doc = serde_json::json!({"name": "g", "type": "public_supergroup", "messages": [
        {"id": 1, "type": "service", "date": "2024-03-12T10:22:00", "date_unixtime": "1710238920", "actor": "Ann", "actor_id": "user1", "action": "invite_members", "members": ["Ann"]}
    ]});
    let e = chats::parse_telegram_json(&doc.to_string(), "result.json").unwrap();
    let ev = e[0].messages[0].event.as_ref().unwrap();
    assert_eq!(ev.kind, EventType::MemberJoined);
    assert_eq!(ev.targets, vec!["Ann".to_string()]);
}

// ---- 10. notice matching on huge lines --------------------------------------------

#[test]
fn megabyte_line_of_an_unclosed_subject_change_is_not_matched_as_a_notice() {
    let mut line = String::from("12/03/2024, 10:22 - x changed the subject from \"");
    line.push_str(&"a".repeat(1 << 20));
    let e = wa(&format!("{line}\n"), "x.txt");
    assert_eq!(e.messages[0].kind, Kind::System);
    assert_eq!(e.messages[0].event, None);
    // The guard, by construction: a well-formed notice over the bound is not tried.
    let long = format!(
        "Ann changed the subject to \"{}\"",
        "b".repeat(chats::phrases::MAX_NOTICE)
    );
    assert!(chats::phrases::match_notice(&long).is_none());
    assert!(chats::phrases::match_notice("Ann changed the subject to \"Trip\"").is_some());
}

// ---- 13. names and blank lines -------------------------------------------------------

#[test]
fn android_author_with_colon_seen_elsewhere_is_kept_whole() {
    let e = wa(
        "12/03/2024, 10:22 - Dr: Who: hello\n12/03/2024, 10:23 - Dr: Who: again\n12/03/2024, 10:24 - Ann: re: lunch\n12/03/2024, 10:25 - Ann: ok\n",
        "x.txt",
    );
    assert_eq!(e.messages[0].sender.as_deref(), Some("Dr: Who"));
    assert_eq!(e.messages[0].text, "hello");
    assert_eq!(e.messages[2].sender.as_deref(), Some("Ann"));
    assert_eq!(e.messages[2].text, "re: lunch");
}

#[test]
fn notice_followed_by_a_blank_line_keeps_its_event() {
    let e = wa(
        "12/03/2024, 10:22 - Ann added Bob\n\n12/03/2024, 10:23 - Bob: hi\n",
        "x.txt",
    );
    let ev = e.messages[0].event.as_ref().unwrap();
    assert_eq!(
        (ev.kind, ev.targets.clone()),
        (EventType::MemberAdded, vec!["Bob".to_string()])
    );
    assert_eq!(e.messages[0].text, "Ann added Bob");
}

// ---- 6. links -----------------------------------------------------------------------

fn codes(s: &str) -> Vec<(chats::links::LinkKind, Option<String>)> {
    chats::links::extract(s).into_iter().map(|l| (l.kind, l.code)).collect()
}

#[test]
fn split_whatsapp_code_is_joined_only_into_exactly_22_characters_alone_on_the_next_line() {
    use chats::links::LinkKind::WhatsappGroup;
    assert_eq!(
        codes("join https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrS\nTuv"),
        vec![(WhatsappGroup, Some("AbCdEfGhIjKlMnOpQrSTuv".to_string()))]
    );
    // The next line goes on: a word that happens to follow, not the code's tail.
    assert_eq!(
        codes("join https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrS\nTuv is here"),
        vec![]
    );
    // A join of 23 characters is no WhatsApp code.
    assert_eq!(
        codes("join https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrS\nTuvw"),
        vec![]
    );
}

#[test]
fn cyrillic_look_alike_host_or_code_letter_is_rejected() {
    assert_eq!(codes("https://ch\u{0430}t.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv"), vec![]);
    assert_eq!(codes("https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrSt\u{0430}v"), vec![]);
}

#[test]
fn prose_with_spaced_dot_is_not_a_telegram_username() {
    assert_eq!(codes("I can't. Me / Chris will come"), vec![]);
    assert_eq!(
        codes("see t[.]me/ChrisTheThird"),
        vec![(
            chats::links::LinkKind::TelegramUsername,
            Some("ChrisTheThird".to_string())
        )]
    );
}

#[test]
fn link_wrapped_in_a_web_archive_url_is_found() {
    assert_eq!(
        codes("https://web.archive.org/web/20230101000000/https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv"),
        vec![(
            chats::links::LinkKind::WhatsappGroup,
            Some("AbCdEfGhIjKlMnOpQrStUv".to_string())
        )]
    );
}

#[test]
fn telegram_deleted_members_do_not_merge_into_one_account() {
    let doc = serde_json::json!({"name": "g", "type": "private_group", "messages": [
        {"id": 7, "type": "service", "date": "2024-03-12T10:22:00", "date_unixtime": "1710238920", "actor": "Ann", "actor_id": "user1", "action": "invite_members", "members": [null, null]}
    ]});
    let e = chats::parse_telegram_json(&doc.to_string(), "result.json").unwrap();
    let t = &e[0].messages[0].event.as_ref().unwrap().targets;
    assert_eq!(t.len(), 2);
    assert_ne!(t[0], t[1]);
    assert!(t.iter().all(|x| x.starts_with("Deleted Account")));
}

#[test]
fn telegram_users_with_the_same_name_keep_their_ids_apart() {
    let mut a = tg_msg(1, "Ann");
    let mut b = tg_msg(2, "Ann");
    a["from_id"] = "user1".into();
    b["from_id"] = "user2".into();
    let doc = serde_json::json!({"name": "g", "type": "private_group", "messages": [a, b, tg_msg(3, "Bob")]});
    let e = chats::parse_telegram_json(&doc.to_string(), "result.json").unwrap();
    let senders: Vec<_> = e[0].messages.iter().map(|m| m.sender.clone().unwrap()).collect();
    assert_eq!(senders, vec!["Ann (user1)", "Ann (user2)", "Bob"]);
    assert_eq!(e[0].participants.len(), 3);
}

#[test]
fn known_participant_named_with_and_is_not_split_into_two() {
    let e = wa(
        "12/03/2024, 10:22 - Ann added Mum and Dad and Bob\n12/03/2024, 10:23 - Mum and Dad: thanks!\n12/03/2024, 10:24 - Bob: hi\n",
        "x.txt",
    );
    let ev = e.messages[0].event.as_ref().unwrap();
    assert_eq!(ev.targets, vec!["Mum and Dad".to_string(), "Bob".to_string()]);
    // Without a participant of that name, the list is split as before.
    let e = wa(
        "12/03/2024, 10:22 - Ann added Carl and Dee\n12/03/2024, 10:23 - Carl: hi\n",
        "x.txt",
    );
    assert_eq!(
        e.messages[0].event.as_ref().unwrap().targets,
        vec!["Carl".to_string(), "Dee".to_string()]
    );
}

#[test]
fn a_deleted_account_removing_a_deleted_member_is_recorded_as_it_reads_and_flagged() {
    let doc = serde_json::json!({"name": "g", "type": "private_supergroup", "messages": [
        {"id": 7, "type": "service", "date": "2024-03-12T10:22:00", "date_unixtime": "1710238920", "actor": null, "actor_id": "user5", "action": "remove_members", "members": [null]},
        {"id": 8, "type": "service", "date": "2024-03-12T10:23:00", "date_unixtime": "1710238980", "actor": "Ann", "actor_id": "user1", "action": "remove_members", "members": ["Ann"]}
    ]});
    let e = chats::parse_telegram_json(&doc.to_string(), "result.json").unwrap();
    let ev = e[0].messages[0].event.as_ref().unwrap();
    assert_eq!(ev.kind, EventType::MemberRemoved);
    assert_eq!(
        ev.actor.as_deref(),
        Some(chats::telegram_deleted_label("user5").as_str())
    );
    assert_eq!(ev.targets, vec![chats::telegram_deleted_label("member 1 of message 7")]);
    let flagged: Vec<_> = e[0]
        .errors
        .iter()
        .filter(|i| i.message.contains("cannot tell"))
        .collect();
    assert_eq!(flagged.len(), 1, "{:?}", e[0].errors);
    assert!(flagged[0].line.is_some(), "the issue names where the message is");
    // A named member leaving stays a plain leave, with no doubt reported.
    assert_eq!(e[0].messages[1].event.as_ref().unwrap().kind, EventType::MemberLeft);
}
