//! Prints vPDQ in the reference's text format.
//!
//! One video: `vpdq_hash VIDEO [SECONDS] [SIZE]`.
//! Several, sharing ffmpeg runs as `vpdq::hash_videos` does, each preceded
//! by a `# VIDEO` line: `vpdq_hash --videos SECONDS VIDEO...`.
//! (`cargo run --release -p tantalum-vpdq --example vpdq_hash -- ...`)
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut options = vpdq::HashOptions::default();
    if args.first().map(String::as_str) == Some("--videos") {
        options.seconds_per_hash = args.get(1).expect("seconds").parse().expect("seconds");
        let paths: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
        let mut failed = false;
        for (path, result) in paths.iter().zip(vpdq::hash_videos(&paths, &options)) {
            match result {
                Ok((_, features)) => print!("# {}\n{}", path.display(), vpdq::write_features(&features)),
                Err(e) => {
                    eprintln!("{}: {e}", path.display());
                    failed = true;
                }
            }
        }
        std::process::exit(i32::from(failed));
    }
    let path = std::path::Path::new(&args[0]);
    if let Some(s) = args.get(1) {
        options.seconds_per_hash = s.parse().expect("seconds");
    }
    if let Some(n) = args.get(2) {
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
