//! The network on generated operations, against the generator's ground truth.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use banks::{formats, BankKind, BankOptions, Format, ReadOptions, Store};
use case::CaseStore;
use chats::synth::operation::{write_operation, OpSpec, OpTruth};
use network::{import_chats, import_pages, resolve, ImportOptions, Network};

struct Built {
    _tmp: tempfile::TempDir,
    case_dir: PathBuf,
    truth: OpTruth,
    net: Network,
}

fn bank(dir: &Path, list: &Path) {
    let mut store = Store::open(dir).unwrap();
    store
        .create_bank(
            "test",
            &BankOptions {
                kind: BankKind::Flag,
                ..Default::default()
            },
        )
        .unwrap();
    let f = std::fs::File::open(list).unwrap();
    let report = store
        .import(
            "test",
            formats::read(Format::Csv, Box::new(BufReader::new(f)), ReadOptions::default()),
        )
        .unwrap();
    assert!(report.applied, "{:?}", report.errors);
}

/// Generates an operation and imports it device by device in `order`.
fn build(seed: u64, order: &[usize], give_offset_of: &[usize]) -> Built {
    build_spec(&OpSpec::small(seed), order, give_offset_of)
}

fn build_spec(spec: &OpSpec, order: &[usize], give_offset_of: &[usize]) -> Built {
    let tmp = tempfile::tempdir().unwrap();
    let op = tmp.path().join("op");
    let truth = write_operation(spec, &op).unwrap();
    let banks = tmp.path().join("banks");
    bank(&banks, &op.join("lists/test-hashes.csv"));
    let case_dir = tmp.path().join("case");
    let mut case = CaseStore::open(&case_dir, true).unwrap();
    for &d in order {
        let dev = &truth.devices[d];
        let options = ImportOptions {
            owner: dev.owner_e164.clone(),
            owner_name: dev.owner_e164.as_ref().map(|_| dev.owner_label.clone()),
            device: Some(format!("device{}", dev.device)),
            utc_offset_minutes: give_offset_of.contains(&d).then_some(dev.utc_offset_minutes),
            contacts: dev.contacts.iter().map(|c| op.join(c)).collect(),
            ..Default::default()
        };
        let paths: Vec<PathBuf> = dev.exports.iter().map(|e| op.join(e)).collect();
        let s = import_chats(
            &mut case,
            Some(&banks::Location::Dir(banks.clone())),
            &paths,
            &options,
            &(),
        )
        .unwrap();
        assert_eq!(s.attachments_missing, 0, "{s:?}");
    }
    import_pages(&mut case, &[op.join("pages/forum-invites.html")]).unwrap();
    let net = Network::build(resolve(&case).unwrap());
    Built {
        _tmp: tmp,
        case_dir,
        truth,
        net,
    }
}

fn check(b: &Built) {
    let (truth, net) = (&b.truth, &b.net);
    let r = &net.resolved;
    // Accounts: exactly the people, keyed as the truth says.
    let want: BTreeSet<&str> = truth.accounts.iter().map(|a| a.key.as_str()).collect();
    let got: BTreeSet<&str> = r.accounts.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(got, want, "account keys");
    for a in &truth.accounts {
        let acc = r.accounts.iter().find(|x| x.key == a.key).unwrap();
        assert_eq!(acc.resolved, a.resolved, "{}", a.key);
        if a.resolved {
            assert_eq!(acc.region, a.region, "{}", a.key);
        } else {
            assert!(acc.flags.contains(&"unresolved".to_string()), "{}", a.key);
        }
    }
    // Groups: one per real group, one record per real message, members.
    assert_eq!(r.groups.len(), truth.groups.len());
    for tg in &truth.groups {
        let g = r
            .groups
            .iter()
            .find(|g| g.name == tg.name)
            .expect("group found by name");
        assert_eq!(g.messages, tg.messages, "{}: messages after merging", tg.name);
        assert_eq!(g.exports.len(), tg.exported_by.len(), "{}", tg.name);
        let mut members: Vec<String> = g.members.iter().map(|m| r.accounts[m.account].key.clone()).collect();
        members.sort();
        assert_eq!(members, tg.members, "{}: members", tg.name);
        // Every real message of a twice-exported group has two copies.
        let gi = r.groups.iter().position(|x| x.name == tg.name).unwrap();
        for m in r.messages.iter().filter(|m| m.group == gi && m.kind == "message") {
            assert_eq!(m.renderings.len(), tg.exported_by.len(), "{m:?}");
        }
    }
    // Clocks: every WhatsApp export's offset is its device's.
    for g in &r.groups {
        for (_, device, minutes, how) in &g.clock_offsets {
            let d: usize = device.trim_start_matches("device").parse().unwrap();
            let dev = &truth.devices[d - 1];
            if dev.os != "telegram" {
                assert_eq!(*minutes, dev.utc_offset_minutes, "{device} {how}");
            }
        }
    }
    // Items: first sharer and path.
    assert_eq!(net.items.len(), truth.items.len());
    for ti in &truth.items {
        let it = net.items.iter().find(|i| i.item == ti.id).expect("item shared");
        assert_eq!(it.first_sharer.as_deref(), Some(ti.first_sharer.as_str()), "{}", ti.id);
        let path: Vec<&str> = it.path.iter().map(|(g, _, _)| g.as_str()).collect();
        let want: Vec<&str> = ti.path.iter().map(|&g| truth.groups[g].name.as_str()).collect();
        assert_eq!(path, want, "{} path", ti.id);
        assert_eq!(it.shares, ti.shares, "{}", ti.id);
    }
    // Bridges.
    let bridges: Vec<&str> = net
        .accounts
        .iter()
        .filter(|a| a.bridge)
        .map(|a| a.key.as_str())
        .collect();
    assert_eq!(bridges, truth.bridges);
    for a in net.accounts.iter().filter(|a| a.bridge) {
        assert!(a.betweenness > 0.0, "{} bridges groups", a.key);
    }
    // Referrals: per country, exactly the accounts that shared.
    let refs = network::referrals::referrals(net);
    let got: BTreeMap<String, Vec<String>> = refs
        .iter()
        .map(|r| (r.country.clone(), r.accounts.iter().map(|a| a.key.clone()).collect()))
        .collect();
    assert_eq!(got, truth.referrals);
    for rf in &refs {
        for a in &rf.accounts {
            let ta = truth.accounts.iter().find(|t| t.key == a.key).unwrap();
            assert_eq!(a.known_items_shared, ta.items_shared);
            assert!(!a.evidence.is_empty());
            for e in &a.evidence {
                assert_eq!(e.file_sha256.len(), 64);
                assert!(a.known_items_shared.contains(&e.entry_id), "{e:?}");
            }
        }
    }
    // Invite links: every group's code tied to it and to the page.
    for tg in &truth.groups {
        let l = r
            .invite_links
            .iter()
            .find(|l| l.code == tg.invite_code)
            .expect("invite link");
        assert_eq!(l.group.map(|g| r.groups[g].name.as_str()), Some(tg.name.as_str()));
        assert!(l.posted_in.iter().any(|p| p.starts_with("page:")), "{l:?}");
    }
}

#[test]
fn small_operation_matches_truth() {
    let b = build(1, &[0, 1, 2], &[0]);
    check(&b);
    // The tables are written too.
    let case = CaseStore::open(&b.case_dir, false).unwrap();
    let n: i64 = case
        .connection()
        .query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n as usize, b.truth.accounts.len());
    // The case report carries a network section.
    let report = case::report::load(&case).unwrap();
    let net = report.network.expect("a network section");
    assert_eq!(net.accounts as usize, b.truth.accounts.len());
    assert_eq!(net.groups.len(), b.truth.groups.len());
    let sharers: usize = b.truth.referrals.values().map(Vec::len).sum();
    assert_eq!(net.sharers.len(), sharers);
    let mut html = Vec::new();
    case::report::write(&case, case::report::ReportFormat::Html, &mut html).unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("<h2>Network</h2>"));
}

#[test]
fn import_order_and_seed_do_not_matter() {
    // The iPhone first, its clock given; the Android's estimated from the messages both hold.
    let b = build(7, &[2, 1, 0], &[1]);
    check(&b);
}

#[test]
fn two_hundred_accounts_in_thirty_groups() {
    // The benchmark's shape with fewer messages: look-alike notices (an
    // admin adding people one by one in the same minute) must not pair the
    // wrong people across devices.
    let spec = OpSpec {
        messages: 3_000,
        ..OpSpec::large(2)
    };
    let b = build_spec(&spec, &[0, 1, 2], &[0]);
    assert_eq!(b.truth.accounts.len(), 200);
    assert_eq!(b.truth.groups.len(), 30);
    check(&b);
}

#[test]
fn outputs_are_well_formed() {
    let b = build(3, &[0, 1, 2], &[0]);
    let gexf = network::output::gexf(&b.net);
    assert!(gexf.contains("mode=\"dynamic\""));
    assert_eq!(gexf.matches("<node ").count(), b.net.graph.node_count());
    assert_eq!(gexf.matches("<edge ").count(), b.net.graph.edge_count());
    let graphml = network::output::graphml(&b.net);
    assert_eq!(graphml.matches("<node ").count(), b.net.graph.node_count());
    let (entities, links) = network::output::i2_csv(&b.net).unwrap();
    assert_eq!(entities.lines().count(), b.net.graph.node_count() + 1);
    assert_eq!(links.lines().count(), b.net.graph.edge_count() + 1);
    let v: serde_json::Value = serde_json::from_str(&network::output::json(&b.net)).unwrap();
    assert_eq!(v["nodes"].as_array().unwrap().len(), b.net.graph.node_count());
    let dir = tempfile::tempdir().unwrap();
    let folders = network::referrals::write(&b.net, "TEST", dir.path()).unwrap();
    assert_eq!(folders.len(), b.truth.referrals.len());
    for f in folders {
        let html = std::fs::read_to_string(f.join("referral.html")).unwrap();
        assert!(!html.contains("<img"));
        let j: serde_json::Value = serde_json::from_slice(&std::fs::read(f.join("referral.json")).unwrap()).unwrap();
        assert!(j["country"].is_string() && j["accounts"].is_array() && j["groups"].is_array());
    }
}

#[test]
fn vcards_unfold_and_pair_names_with_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.vcf");
    std::fs::write(
        &p,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada Fic\r\n tus\r\nTEL;TYPE=CELL:+44 7700 900123\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:No Number\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let case_dir = dir.path().join("case");
    let mut case = CaseStore::open(&case_dir, true).unwrap();
    // Nothing to import but the contacts: an empty WhatsApp chat.
    let chat = dir.path().join("WhatsApp Chat with X.txt");
    std::fs::write(&chat, "1/2/24, 10:00 - Ada Fictus: hello\n").unwrap();
    let s = import_chats(
        &mut case,
        None,
        &[chat],
        &ImportOptions {
            contacts: vec![p],
            ..Default::default()
        },
        &(),
    )
    .unwrap();
    assert_eq!(s.contacts, 1);
    let r = resolve(&case).unwrap();
    assert_eq!(r.accounts.len(), 1);
    assert_eq!(r.accounts[0].key, "+447700900123");
}

#[test]
fn number_change_notices_link_the_two_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let chat = dir.path().join("WhatsApp Chat with Walkers.txt");
    std::fs::write(
        &chat,
        "1/2/24, 10:00 - +44 7700 900123: hello all\n\
         1/2/24, 10:05 - +44 7700 900123 changed to +44 7700 900456\n\
         1/2/24, 10:06 - +44 7700 900456: this is my new number\n\
         1/2/24, 10:07 - +1 415 555 0101: noted\n",
    )
    .unwrap();
    let mut case = CaseStore::open(&dir.path().join("case"), true).unwrap();
    import_chats(&mut case, None, &[chat], &ImportOptions::default(), &()).unwrap();
    let r = resolve(&case).unwrap();
    let old = r
        .accounts
        .iter()
        .find(|a| a.key == "+447700900123")
        .expect("old number");
    let new = r
        .accounts
        .iter()
        .find(|a| a.key == "+447700900456")
        .expect("new number");
    assert_eq!(old.linked_numbers, vec!["+447700900456".to_string()]);
    assert_eq!(new.linked_numbers, vec!["+447700900123".to_string()]);
    assert!(old.flags.contains(&"number changed".to_string()));
    let other = r.accounts.iter().find(|a| a.key == "+14155550101").expect("third");
    assert!(other.linked_numbers.is_empty());
}
