//! Parses a generated 100k-message WhatsApp Android export and a Telegram
//! JSON export of the same size; prints messages per second.
//! Run: `cargo bench -p tantalum-chats`.

use std::time::Instant;

use chats::synth::{self, ChatSpec, Target};

fn main() {
    for (target, flags) in [
        (Target::WhatsappAndroid, vec!["multiline", "links", "edits_deletes"]),
        (Target::WhatsappIos, vec!["multiline", "links", "nnbsp"]),
        (Target::TelegramJson, vec!["links"]),
    ] {
        let spec = ChatSpec {
            seed: 42,
            target,
            locale: "en-US",
            flags,
            messages: 100_000,
        };
        let r = synth::chat(&spec);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = r.write(dir.path()).expect("write export");
        let bytes: u64 = r.files.iter().map(|(_, b)| b.len() as u64).sum();
        let mut best = f64::MAX;
        let mut n = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let e = chats::parse_path(&path).expect("parses");
            best = best.min(t.elapsed().as_secs_f64());
            n = e[0].messages.len();
            assert_eq!(n, r.expected.messages.len());
        }
        println!(
            "{target:?}: {n} records, {:.1} MB in {:.3} s: {:.0} messages/s, {:.1} MB/s",
            bytes as f64 / 1e6,
            best,
            n as f64 / best,
            bytes as f64 / 1e6 / best
        );
    }
}
