//! Runs the real `tantalum` binary through the network commands on a generated operation.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use chats::synth::operation::{write_operation, OpSpec};

fn tantalum(store: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("run tantalum");
    assert!(
        out.status.success(),
        "tantalum {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn chats_import_network_and_referrals() {
    let dir = tempfile::tempdir().unwrap();
    let op = dir.path().join("op");
    let truth = write_operation(&OpSpec::small(5), &op).unwrap();
    let store = dir.path().join("store");
    let case = dir.path().join("case");
    tantalum(&store, &["bank", "create", "ops"]);
    tantalum(
        &store,
        &[
            "bank",
            "import",
            "ops",
            &s(&op.join("lists/test-hashes.csv")),
            "--format",
            "csv",
        ],
    );
    for dev in &truth.devices {
        let mut args: Vec<String> = vec![
            "chats".into(),
            "import".into(),
            "--case".into(),
            s(&case),
            "--bank".into(),
            "ops".into(),
            "--device".into(),
            format!("device{}", dev.device),
            "--json".into(),
        ];
        if let Some(owner) = &dev.owner_e164 {
            args.extend([
                "--owner".into(),
                owner.clone(),
                "--owner-name".into(),
                dev.owner_label.clone(),
            ]);
        }
        if dev.device == 2 {
            let m = dev.utc_offset_minutes;
            args.push(format!(
                "--utc-offset={}{:02}:{:02}",
                if m < 0 { '-' } else { '+' },
                m.abs() / 60,
                m.abs() % 60
            ));
        }
        if let Some(c) = &dev.contacts {
            args.extend(["--contacts".into(), s(&op.join(c))]);
        }
        args.extend(dev.exports.iter().map(|e| s(&op.join(e))));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tantalum(&store, &refs);
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["attachments_missing"], 0);
    }
    let out = tantalum(
        &store,
        &[
            "pages",
            "import",
            "--case",
            &s(&case),
            &s(&op.join("pages/forum-invites.html")),
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 invite links tied to a group"));

    // JSON on standard output: accounts and first sharers as the truth says.
    let out = tantalum(&store, &["network", "--case", &s(&case), "--format", "json"]);
    let net: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(net["accounts"].as_array().unwrap().len(), truth.accounts.len());
    for item in &truth.items {
        let got = net["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["item"] == item.id.as_str())
            .unwrap();
        assert_eq!(got["first_sharer"], item.first_sharer.as_str());
    }
    for (format, name) in [("gexf", "n.gexf"), ("graphml", "n.graphml"), ("csv", "i2")] {
        tantalum(
            &store,
            &[
                "network",
                "--case",
                &s(&case),
                "--format",
                format,
                "--out",
                &s(&dir.path().join(name)),
            ],
        );
    }
    let links = std::fs::read_to_string(dir.path().join("i2/links.csv")).unwrap();
    assert!(links.starts_with("\u{FEFF}end1_type,end1_id"));

    let refs = dir.path().join("referrals");
    tantalum(&store, &["referrals", "--case", &s(&case), "--out", &s(&refs)]);
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&refs).unwrap() {
        let f = entry.unwrap().path();
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(f.join("referral.json")).unwrap()).unwrap();
        let mut keys: Vec<String> = r["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["key"].as_str().unwrap().to_string())
            .collect();
        keys.sort();
        assert_eq!(f.file_name().unwrap().to_str().unwrap(), r["country"].as_str().unwrap());
        got.insert(r["country"].as_str().unwrap().to_string(), keys);
        for a in r["accounts"].as_array().unwrap() {
            for k in [
                "phone_e164",
                "display_names",
                "groups",
                "known_items_shared",
                "first_share",
                "last_share",
            ] {
                assert!(a.get(k).is_some(), "{k}");
            }
            for e in a["evidence"].as_array().unwrap() {
                for k in ["file_sha256", "bank", "entry_id", "message"] {
                    assert!(e.get(k).is_some(), "{k}");
                }
            }
        }
    }
    assert_eq!(got, truth.referrals);

    // The manifest lists what was written.
    let out = tantalum(&store, &["report", "--case", &s(&case), "--format", "manifest"]);
    let manifest = String::from_utf8_lossy(&out.stdout);
    assert!(manifest.contains("referral.json") && manifest.contains("n.gexf"));
}
