//! Writes a synthetic chat case: `cargo run -p tantalum-chats --example gen-case -- --seed N --out DIR`.

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
        eprintln!("usage: gen-case --seed N --out DIR");
        std::process::exit(2);
    };
    match chats::synth::write_case(seed, std::path::Path::new(&out)) {
        Ok(n) => println!("wrote {n} files of a synthetic case (seed {seed}) under {out}"),
        Err(e) => {
            eprintln!("gen-case: {out}: {e}");
            std::process::exit(2);
        }
    }
}
