//! Runs the real `tantalum` binary on generated chat exports and pages.

use std::path::Path;
use std::process::{Command, Output};

use chats::synth::{self, ChatSpec, Target, FLAGS};
use serde_json::Value;

fn tantalum(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run tantalum")
}

fn docs(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[test]
fn chats_parse_json_matches_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    for (i, target) in [Target::WhatsappAndroid, Target::WhatsappIos, Target::TelegramJson]
        .into_iter()
        .enumerate()
    {
        let sub = dir.path().join(format!("e{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        let r = synth::chat(&ChatSpec {
            seed: 11,
            target,
            locale: "es-ES",
            flags: FLAGS.to_vec(),
            messages: 40,
        });
        let path = r.write(&sub).unwrap();
        let out = tantalum(&["chats", "parse", "--json", path.to_str().unwrap()], dir.path());
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let d = docs(&out);
        assert_eq!(d.len(), 1);
        let doc = &d[0];
        for key in [
            "platform",
            "variant",
            "locale",
            "date_order",
            "clock",
            "group_name",
            "exporter",
            "participants",
            "messages",
        ] {
            assert!(doc.get(key).is_some(), "missing {key}");
        }
        let want = serde_json::to_value(&r.expected).unwrap();
        assert_eq!(doc["messages"], want["messages"], "{target:?}");
        assert_eq!(doc["participants"], want["participants"], "{target:?}");
        let m = &doc["messages"][0];
        for key in [
            "n",
            "line",
            "id",
            "kind",
            "timestamp",
            "timestamp_utc",
            "sender",
            "text",
            "attachment",
            "event",
            "links",
        ] {
            assert!(m.get(key).is_some(), "message lacks {key}");
        }
    }
}

#[test]
fn chats_parse_human_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let r = synth::chat(&ChatSpec::new(5, Target::WhatsappAndroid, "de-DE", 20));
    let path = r.write(dir.path()).unwrap();
    let out = tantalum(&["chats", "parse", path.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("whatsapp android") && text.contains("member_added"),
        "{text}"
    );

    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, b"\x00\x01 not a chat\n").unwrap();
    let out = tantalum(&["chats", "parse", "--json", junk.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.txt"));

    let out = tantalum(&["chats", "parse", "/nonexistent/export.zip"], dir.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn links_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (html, want) = synth::forum_page(3);
    std::fs::write(dir.path().join("thread.html"), &html).unwrap();
    std::fs::write(dir.path().join("thread.mhtml"), synth::mhtml_of(&html)).unwrap();
    let out = tantalum(&["links", "--json", "thread.html", "thread.mhtml"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let d = docs(&out);
    assert_eq!(d.len(), 2 * want.len());
    for rec in &d {
        for key in ["kind", "code", "phone_e164", "url", "raw", "source", "line"] {
            assert!(rec.get(key).is_some(), "missing {key}");
        }
    }
    let html_hits: Vec<(String, String)> = d
        .iter()
        .filter(|r| r["source"] == "thread.html")
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["code"].as_str().or(r["phone_e164"].as_str()).unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = want.into_iter().map(|(k, c)| (k.name().to_string(), c)).collect();
    assert_eq!(html_hits, want);
    assert_eq!(d[0]["line"], 4);
}

#[test]
fn links_skips_binary_files_and_refuses_oversized_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut bin = b"\x89PNG\r\n\x1a\n\0\0\0".to_vec();
    bin.extend_from_slice(b" https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv ");
    std::fs::write(dir.path().join("image.png"), &bin).unwrap();
    std::fs::write(
        dir.path().join("page.txt"),
        "https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv\n",
    )
    .unwrap();
    let big = std::fs::File::create(dir.path().join("huge.txt")).unwrap();
    big.set_len((64 << 20) + 1).unwrap();
    drop(big);
    let out = tantalum(&["links", "--json", "image.png", "page.txt", "huge.txt"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("huge.txt") && stderr.contains("larger than"),
        "{stderr}"
    );
    let d = docs(&out);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["source"], "page.txt");
}
