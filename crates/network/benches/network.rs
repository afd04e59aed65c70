//! The network on a 200-account, 30-group, 50k-message operation (two
//! phones, 28 WhatsApp groups of which 14 exported twice, 2 Telegram
//! groups): generation, import (media scan and matching included),
//! resolution, graph and every output.
//!
//! `cargo bench -p tantalum-network --bench network` (`-- --messages N` to resize).

use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

use banks::{formats, BankKind, BankOptions, Format, ReadOptions, Store};
use case::CaseStore;
use chats::synth::operation::{write_operation, OpSpec};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut spec = OpSpec::large(1);
    if let Some(n) = args
        .iter()
        .position(|a| a == "--messages")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
    {
        spec.messages = n;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let op = tmp.path().join("op");
    let t = Instant::now();
    let truth = write_operation(&spec, &op).expect("generate");
    let gen_s = t.elapsed().as_secs_f64();

    let banks_dir = tmp.path().join("banks");
    let mut store = Store::open(&banks_dir).expect("bank store");
    store
        .create_bank(
            "ops",
            &BankOptions {
                kind: BankKind::Flag,
                ..Default::default()
            },
        )
        .expect("bank");
    let list = std::fs::File::open(op.join("lists/test-hashes.csv")).expect("list");
    store
        .import(
            "ops",
            formats::read(Format::Csv, Box::new(BufReader::new(list)), ReadOptions::default()),
        )
        .expect("import list");
    drop(store);

    let mut case = CaseStore::open(&tmp.path().join("case"), true).expect("case");
    let t = Instant::now();
    let mut records = 0;
    let mut scanned = 0;
    for dev in &truth.devices {
        let options = network::ImportOptions {
            owner: dev.owner_e164.clone(),
            owner_name: dev.owner_e164.as_ref().map(|_| dev.owner_label.clone()),
            device: Some(format!("device{}", dev.device)),
            utc_offset_minutes: (dev.device == 1).then_some(dev.utc_offset_minutes),
            contacts: dev.contacts.iter().map(|c| op.join(c)).collect(),
            ..Default::default()
        };
        let paths: Vec<PathBuf> = dev.exports.iter().map(|e| op.join(e)).collect();
        let s = network::import_chats(
            &mut case,
            Some(&banks::Location::Dir(banks_dir.clone())),
            &paths,
            &options,
            &(),
        )
        .expect("import");
        records += s.records;
        scanned += s.scan.recorded;
    }
    network::import_pages(&mut case, &[op.join("pages/forum-invites.html")]).expect("pages");
    let import_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let resolved = network::resolve(&case).expect("resolve");
    let resolve_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let net = network::Network::build(resolved);
    let graph_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let out = tmp.path().join("out");
    for (f, name) in [
        (network::output::Format::Gexf, "n.gexf"),
        (network::output::Format::Graphml, "n.graphml"),
        (network::output::Format::Json, "n.json"),
        (network::output::Format::Csv, "i2"),
    ] {
        network::output::write(&net, f, &out.join(name)).expect("write");
    }
    let referrals = network::referrals::write(&net, "bench", &out.join("referrals")).expect("referrals");
    let out_s = t.elapsed().as_secs_f64();

    let r = &net.resolved;
    let messages: usize = r.groups.iter().map(|g| g.messages).sum();
    let want: usize = truth.groups.iter().map(|g| g.messages).sum();
    println!(
        "operation: {} accounts, {} groups, {} real messages ({} records over {} exports), {} media files scanned",
        r.accounts.len(),
        r.groups.len(),
        messages,
        records,
        r.exports,
        scanned
    );
    println!(
        "  truth: {} accounts, {} groups, {} messages -> {}",
        truth.accounts.len(),
        truth.groups.len(),
        want,
        if r.accounts.len() == truth.accounts.len() && r.groups.len() == truth.groups.len() && messages == want {
            "match"
        } else {
            "MISMATCH"
        }
    );
    let got: std::collections::BTreeSet<&str> = r.accounts.iter().map(|a| a.key.as_str()).collect();
    let want_keys: std::collections::BTreeSet<&str> = truth.accounts.iter().map(|a| a.key.as_str()).collect();
    if got != want_keys {
        println!(
            "  accounts only in the case: {:?}",
            got.difference(&want_keys).collect::<Vec<_>>()
        );
        println!(
            "  accounts only in the truth: {:?}",
            want_keys.difference(&got).collect::<Vec<_>>()
        );
    }
    println!(
        "  graph: {} nodes, {} edges; {} shares; {} referral packages",
        net.graph.node_count(),
        net.graph.edge_count(),
        r.shares.len(),
        referrals.len()
    );
    println!("  generate            {gen_s:8.2} s");
    println!("  import (3 devices)  {import_s:8.2} s  (parse, scan+match media, store, resolve after each device)");
    println!("  resolve             {resolve_s:8.2} s");
    println!("  graph + measures    {graph_s:8.2} s");
    println!("  outputs (4 + refs)  {out_s:8.2} s");
}
