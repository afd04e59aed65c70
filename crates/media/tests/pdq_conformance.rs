//! Conformance with Meta's C++ reference over `shared/conformance/pdq`:
//! every row of expected.tsv must match exactly — hash, quality and all
//! eight dihedral hashes.
//!
//! The data lives beside the repository (CI lays `shared/` next to the
//! clone). Without it the test says so and passes, so a fresh clone's test
//! command still works; set TANTALUM_REQUIRE_CONFORMANCE=1 to make its
//! absence a failure (CI does).

use std::path::PathBuf;

use media::{AnalyzeOptions, Format};

fn conformance_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("TANTALUM_CONFORMANCE_DIR") {
        return Some(PathBuf::from(dir).join("pdq"));
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/pdq");
    dir.join("expected.tsv").exists().then_some(dir)
}

struct Row {
    path: String,
    hash: String,
    quality: u8,
    dihedral: Vec<String>,
}

fn expected_rows(dir: &std::path::Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("expected.tsv")).expect("read expected.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    assert_eq!(header[0], "relative_path");
    assert_eq!(header[1], "pdq_hex");
    assert_eq!(header[2], "quality");
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                path: f[0].to_string(),
                hash: f[1].to_string(),
                quality: f[2].parse().expect("quality"),
                dihedral: f[3..11].iter().map(|s| s.to_string()).collect(),
            }
        })
        .collect()
}

#[test]
fn every_row_of_expected_tsv_is_exact() {
    let Some(dir) = conformance_dir() else {
        assert!(
            std::env::var_os("TANTALUM_REQUIRE_CONFORMANCE").is_none(),
            "conformance data not found beside the repository"
        );
        eprintln!("skipped: shared/conformance/pdq not found beside the repository");
        return;
    };
    let rows = expected_rows(&dir);
    assert!(rows.len() >= 60, "expected.tsv has {} rows", rows.len());
    let options = AnalyzeOptions {
        dihedral: true,
        ..Default::default()
    };
    let mut hasher = pdq::Hasher::new();
    let mut failures = Vec::new();
    let mut formats = std::collections::BTreeSet::new();
    for row in &rows {
        let got = media::analyze_path(&dir.join(&row.path), &options, &mut hasher);
        if let Some(f) = got.format {
            formats.insert(f.name());
        }
        let Some(pdq) = got.pdq else {
            failures.push(format!("{}: no hash ({:?})", row.path, got.error));
            continue;
        };
        let expected = pdq::Hash256::from_hex(&row.hash).expect("hex");
        let distance = pdq.hash.distance(&expected);
        let dihedral = got.dihedral.expect("dihedral requested");
        let dihedral_off: Vec<String> = dihedral
            .iter()
            .zip(&row.dihedral)
            .zip(pdq::Dihedral::ALL)
            .filter(|((h, e), _)| h.to_hex() != **e)
            .map(|((h, e), d)| format!("{}:{}", d.name(), h.distance(&pdq::Hash256::from_hex(e).unwrap())))
            .collect();
        if distance != 0 || pdq.quality != row.quality || !dihedral_off.is_empty() {
            failures.push(format!(
                "{}: distance {distance}, quality {} vs {}, dihedral off {:?}",
                row.path, pdq.quality, row.quality, dihedral_off
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    // The set must have exercised every decoder path it claims to.
    for f in [Format::Jpeg, Format::Png, Format::Gif, Format::WebP] {
        assert!(formats.contains(f.name()), "no {} file was hashed", f.name());
    }
}
