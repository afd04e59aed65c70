//! Generated exports of every platform × locale × difficulty flag, parsed
//! and compared field by field with the generator's ground truth.

use chats::synth::{self, ChatSpec, FLAGS, LOCALES, TARGETS};
use chats::Export;

fn check(spec: &ChatSpec) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let r = synth::chat(spec);
    let path = r.write(dir.path()).unwrap();
    let got = chats::parse_path(&path).map_err(|e| format!("{spec:?}: {e}"))?;
    if got.len() != 1 {
        return Err(format!("{spec:?}: {} exports", got.len()));
    }
    compare(&got[0], &r.expected).map_err(|e| format!("{:?} {} {:?}: {e}", spec.target, spec.locale, spec.flags))
}

fn compare(got: &Export, want: &Export) -> Result<(), String> {
    if !got.errors.is_empty() {
        return Err(format!("errors: {:?}", got.errors));
    }
    let meta = |e: &Export| {
        (
            e.platform,
            e.variant,
            e.locale.clone(),
            e.date_order,
            e.date_order_assumed,
            e.clock,
            e.group_name.clone(),
            e.exporter.clone(),
        )
    };
    if meta(got) != meta(want) {
        return Err(format!("export fields:\n got {:?}\nwant {:?}", meta(got), meta(want)));
    }
    for (g, w) in got.messages.iter().zip(&want.messages) {
        if g != w {
            return Err(format!("message {}:\n got {g:?}\nwant {w:?}", w.n));
        }
    }
    if got.messages.len() != want.messages.len() {
        return Err(format!("{} messages, want {}", got.messages.len(), want.messages.len()));
    }
    if got.participants != want.participants {
        return Err(format!(
            "participants:\n got {:?}\nwant {:?}",
            got.participants, want.participants
        ));
    }
    Ok(())
}

fn run(specs: Vec<ChatSpec>) {
    let failures: Vec<String> = specs.iter().filter_map(|s| check(s).err()).collect();
    let n = specs.len();
    assert!(
        failures.is_empty(),
        "{} of {n} exports differ from the truth; first ones:\n{}",
        failures.len(),
        failures.iter().take(4).cloned().collect::<Vec<_>>().join("\n\n")
    );
}

fn matrix(target: synth::Target) -> Vec<ChatSpec> {
    let mut specs = Vec::new();
    for (li, locale) in LOCALES.iter().enumerate() {
        let mut flagsets: Vec<Vec<&'static str>> = vec![vec![]];
        flagsets.extend(FLAGS.iter().map(|f| vec![*f]));
        flagsets.push(FLAGS.to_vec());
        for (fi, flags) in flagsets.into_iter().enumerate() {
            specs.push(ChatSpec {
                seed: (li * 100 + fi) as u64,
                target,
                locale,
                flags,
                messages: 30,
            });
        }
    }
    specs
}

#[test]
fn whatsapp_android_matrix() {
    run(matrix(TARGETS[0]));
}

#[test]
fn whatsapp_ios_matrix() {
    run(matrix(TARGETS[1]));
}

#[test]
fn telegram_json_matrix() {
    run(matrix(TARGETS[2]));
}

#[test]
fn telegram_html_matrix() {
    run(matrix(TARGETS[3]));
}

#[test]
fn same_seed_same_bytes() {
    for t in TARGETS {
        let spec = ChatSpec {
            seed: 7,
            target: t,
            locale: "fr-FR",
            flags: FLAGS.to_vec(),
            messages: 40,
        };
        assert_eq!(synth::chat(&spec).files, synth::chat(&spec).files);
    }
}
