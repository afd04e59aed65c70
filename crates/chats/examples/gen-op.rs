//! Writes a synthetic operation (several groups, two devices, a Telegram group,
//! forum page, hash list, truth): `cargo run -p tantalum-chats --example gen-op -- --seed N [--large] --out DIR`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seed: u64 = get("--seed").and_then(|s| s.parse().ok()).unwrap_or(1);
    let Some(out) = get("--out") else {
        eprintln!("usage: gen-op --seed N [--large] --out DIR");
        std::process::exit(2);
    };
    let spec = if args.iter().any(|a| a == "--large") {
        chats::synth::operation::OpSpec::large(seed)
    } else {
        chats::synth::operation::OpSpec::small(seed)
    };
    match chats::synth::operation::write_operation(&spec, std::path::Path::new(&out)) {
        Ok(t) => println!(
            "wrote a synthetic operation (seed {seed}): {} accounts, {} groups, {} devices under {out}",
            t.accounts.len(),
            t.groups.len(),
            t.devices.len()
        ),
        Err(e) => {
            eprintln!("gen-op: {out}: {e}");
            std::process::exit(2);
        }
    }
}
