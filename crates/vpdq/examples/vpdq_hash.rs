//! Prints a video's vPDQ in the reference's text format:
//! `cargo run --release -p tantalum-vpdq --example vpdq_hash -- VIDEO [SECONDS] [SIZE]`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = std::path::Path::new(&args[1]);
    let mut options = vpdq::HashOptions::default();
    if let Some(s) = args.get(2) {
        options.seconds_per_hash = s.parse().expect("seconds");
    }
    if let Some(n) = args.get(3) {
        options.size = n.parse().expect("size");
    }
    match vpdq::hash_video(path, &options) {
        Ok((_, features)) => print!("{}", vpdq::write_features(&features)),
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
    }
}
