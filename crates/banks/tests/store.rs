//! The store and matching: all-or-nothing imports, duplicates, per-bank
//! distances, quality floors, suppressing banks, dihedral matching, the
//! change feed. Every test runs on both backends: the embedded store and
//! PostgreSQL (when `TANTALUM_TEST_POSTGRES` names a server).

use std::io::Cursor;

use banks::formats;
use banks::testing::TestDatabase;
use banks::{BankKind, BankOptions, Format, Location, MatchOptions, Matcher, Query, ReadOptions, Store};

const PDQ_A: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
const PDQ_A_ROT90: &str = "f0a10efd51c83d429053d48d0fffbc52e34e0e17ada956a9d29685211ea9e58f";
const MD5: &str = "900150983cd24fb0d6963f7d28e17f72";

/// A place for a store: a temporary directory or a fresh PostgreSQL database.
enum Fixture {
    Sqlite(tempfile::TempDir),
    Postgres(TestDatabase),
}

impl Fixture {
    fn location(&self) -> Location {
        match self {
            Fixture::Sqlite(dir) => Location::Dir(dir.path().to_path_buf()),
            Fixture::Postgres(db) => Location::Postgres(db.url.clone()),
        }
    }

    fn open(&self) -> Store {
        Store::open_at(&self.location()).unwrap()
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(&super::Fixture::Sqlite(tempfile::tempdir().unwrap()));
            })*
        }
        mod postgres {
            $(#[test]
            #[cfg_attr(not(postgres_tests), ignore = "set TANTALUM_TEST_POSTGRES to run")]
            fn $name() {
                super::$name(&super::Fixture::Postgres(banks::testing::TestDatabase::create(stringify!($name))));
            })*
        }
    };
}

on_both_backends!(
    imports_apply_whole_or_not_at_all,
    entries_survive_reopening_and_export_unchanged,
    matching_rules,
    a_suppressing_bank_removes_the_other_hits,
    withdrawn_entries_are_marked_removed_and_no_longer_match,
    a_live_matcher_follows_the_change_feed_without_reloading,
    entries_are_read_many_at_once_as_one_by_one,
    a_live_matcher_follows_video_additions_and_removals,
);

/// A synthetic video: `frames` unrelated PDQ hashes of quality 100, in the
/// reference's text format.
fn video_text(seed: u64, frames: usize) -> String {
    vpdq::write_features(&vpdq::testing::unrelated_frames(seed, frames))
}

/// The (bank, entry id) of every video a matcher finds for a query video.
fn videos_found(matcher: &Matcher, store: &Store, text: &str) -> Vec<(String, u32)> {
    let query = Query {
        vpdq: Some(vpdq::parse_features(text).unwrap()),
        ..Default::default()
    };
    let mut hits: Vec<(String, u32)> = matcher
        .match_query(store, &query, &MatchOptions::default(), &mut Default::default())
        .unwrap()
        .into_iter()
        .inspect(|h| assert_eq!(h.video.map(|v| v.query_match_pct), Some(100.0)))
        .map(|h| (h.bank, h.entry_id))
        .collect();
    hits.sort();
    hits
}

/// Video entries reach a live matcher one by one through the feed: no
/// reload of every video list on each change.
fn a_live_matcher_follows_video_additions_and_removals(fx: &Fixture) {
    let mut store = fx.open();
    store.create_bank("vids", &BankOptions::default()).unwrap();
    let (a, b, c) = (video_text(1, 40), video_text(2, 25), video_text(3, 60));
    assert!(import(&mut store, "vids", &a).applied);
    let mut live = Matcher::load(&store, &[]).unwrap();
    let mut cursor = store.cursor().unwrap();
    let mut step = |store: &Store, live: &mut Matcher| {
        let (changes, next) = store.changes_since(&cursor).unwrap();
        live.apply(store, &changes).unwrap();
        cursor = next;
    };
    let id_of = |store: &Store, bank: &str, text: &str| {
        let mut ids = Vec::new();
        store
            .for_each_entry(&[bank.to_string()], |e| {
                if vpdq::write_features(&vpdq::parse_features(text).unwrap())
                    == e.entry.raw["vpdq_frames"].as_str().unwrap_or_default()
                {
                    ids.push(e.id);
                }
                Ok(())
            })
            .unwrap();
        ids[0]
    };
    let id_a = id_of(&store, "vids", &a);
    assert_eq!(videos_found(&live, &store, &a), vec![("vids".to_string(), id_a)]);

    // Another video in the same bank, and one in a bank made after loading.
    assert!(import(&mut store, "vids", &b).applied);
    store.create_bank("more", &BankOptions::default()).unwrap();
    assert!(import(&mut store, "more", &c).applied);
    step(&store, &mut live);
    let (id_b, id_c) = (id_of(&store, "vids", &b), id_of(&store, "more", &c));
    assert_eq!(videos_found(&live, &store, &b), vec![("vids".to_string(), id_b)]);
    assert_eq!(videos_found(&live, &store, &c), vec![("more".to_string(), id_c)]);

    // Withdrawn: gone; re-imported: back under its old id.
    assert!(store.remove_entry(id_a).unwrap());
    step(&store, &mut live);
    assert!(videos_found(&live, &store, &a).is_empty());
    assert!(import(&mut store, "vids", &a).applied);
    step(&store, &mut live);
    assert_eq!(videos_found(&live, &store, &a), vec![("vids".to_string(), id_a)]);

    // A bank removed takes its videos with it.
    store.remove_bank("more").unwrap();
    step(&store, &mut live);
    assert!(videos_found(&live, &store, &c).is_empty());

    // The live matcher answers as a fresh one does.
    let fresh = Matcher::load(&store, &[]).unwrap();
    for q in [&a, &b, &c] {
        assert_eq!(videos_found(&live, &store, q), videos_found(&fresh, &store, q));
    }
}

fn entries_are_read_many_at_once_as_one_by_one(fx: &Fixture) {
    let mut store = fx.open();
    store.create_bank("a", &BankOptions::default()).unwrap();
    store.create_bank("b", &BankOptions::default()).unwrap();
    let near = flip(PDQ_A, 3).to_hex();
    assert!(
        import(
            &mut store,
            "a",
            &format!("id,pdq,category\nx1,{PDQ_A},c1\nx2,{near},c2\n")
        )
        .applied
    );
    assert!(import(&mut store, "b", &format!("{MD5}\n")).applied);
    let mut ids = Vec::new();
    store
        .for_each_entry(&["a".into(), "b".into()], |e| {
            ids.push(e.id);
            Ok(())
        })
        .unwrap();
    assert_eq!(ids.len(), 3);
    ids.sort_unstable();
    let missing = ids.iter().max().unwrap() + 1000;
    let mut asked = vec![missing];
    asked.extend(ids.iter().rev());
    let mut many = store.entries(&asked).unwrap();
    many.sort_by_key(|e| e.id);
    let one_by_one: Vec<banks::Entry> = ids.iter().map(|&id| store.entry(id).unwrap().unwrap()).collect();
    assert_eq!(many, one_by_one, "the same entries, and none for an id that has none");
    assert!(store.entries(&[]).unwrap().is_empty());
}

fn import(store: &mut Store, bank: &str, text: &str) -> banks::ImportReport {
    let entries = formats::read(
        Format::detect(text.as_bytes()),
        Box::new(Cursor::new(text.as_bytes().to_vec())),
        ReadOptions::default(),
    );
    store.import(bank, entries).unwrap()
}

/// The hash with `bits` distinct bits flipped.
fn flip(hex: &str, bits: usize) -> pdq::Hash256 {
    let mut bytes = *pdq::Hash256::from_hex(hex).unwrap().as_bytes();
    for k in 0..bits {
        bytes[(k * 7) / 8] ^= 1 << ((k * 7) % 8);
    }
    pdq::Hash256::from_bytes(bytes)
}

fn pdq_query(hash: pdq::Hash256, quality: Option<u8>) -> Query {
    Query {
        pdq: Some((hash, quality)),
        ..Default::default()
    }
}

fn imports_apply_whole_or_not_at_all(fx: &Fixture) {
    let mut store = fx.open();
    store.create_bank("ncmec", &BankOptions::default()).unwrap();
    let report = import(&mut store, "ncmec", &format!("pdq {PDQ_A}\n{MD5}\n{MD5}\n"));
    assert!(report.applied);
    assert_eq!((report.read, report.added, report.duplicates), (3, 2, 1));

    let bad = import(&mut store, "ncmec", &format!("sha1 {}\nnonsense\n", "ab".repeat(20)));
    assert!(!bad.applied);
    assert_eq!(bad.bad, 1);
    assert_eq!(bad.errors[0].line, 2);
    let info = store.bank("ncmec").unwrap().unwrap();
    assert_eq!(
        info.counts,
        vec![("md5".to_string(), 1), ("pdq".to_string(), 1)],
        "the bad import left nothing behind"
    );

    assert!(store.create_bank("ncmec", &BankOptions::default()).is_err());
    assert!(store.import("missing", std::iter::empty()).is_err());
    assert_eq!(store.remove_bank("ncmec").unwrap(), 2);
    assert!(store.banks().unwrap().is_empty());
}

fn entries_survive_reopening_and_export_unchanged(fx: &Fixture) {
    let text = format!("id,pdq,category\nx1,{PDQ_A},ncmec:A1\n");
    {
        let mut store = fx.open();
        store.create_bank("list", &BankOptions::default()).unwrap();
        assert!(import(&mut store, "list", &text).applied);
    }
    let store = fx.open();
    let mut out = Vec::new();
    {
        let mut w = formats::writer(Format::Csv, Box::new(&mut out));
        store
            .for_each_entry(&["list".into()], |e| {
                w.write(&e.entry).map_err(|err| banks::BankError::Io {
                    path: "-".into(),
                    source: err,
                })
            })
            .unwrap();
        w.finish().unwrap();
    }
    assert_eq!(String::from_utf8(out).unwrap(), text);
}

fn matching_rules(fx: &Fixture) {
    let mut store = fx.open();
    store
        .create_bank(
            "strict",
            &BankOptions {
                max_distance: 10,
                ..Default::default()
            },
        )
        .unwrap();
    store.create_bank("loose", &BankOptions::default()).unwrap();
    store
        .create_bank(
            "nsrl",
            &BankOptions {
                kind: BankKind::Known,
                ..Default::default()
            },
        )
        .unwrap();
    import(&mut store, "strict", &format!("pdq {PDQ_A}\n"));
    import(&mut store, "loose", &format!("pdq {PDQ_A}\n{MD5}\n"));
    import(&mut store, "nsrl", &format!("{MD5}\n"));
    let matcher = Matcher::load(&store, &[]).unwrap();
    let mut scratch = index::Scratch::default();
    let run = |q: &Query, o: &MatchOptions, s: &mut index::Scratch| matcher.match_query(&store, q, o, s).unwrap();

    let near = run(
        &pdq_query(flip(PDQ_A, 20), Some(90)),
        &MatchOptions::default(),
        &mut scratch,
    );
    assert_eq!(
        near.iter().map(|h| (h.bank.as_str(), h.distance)).collect::<Vec<_>>(),
        vec![("loose", 20)]
    );
    let close = run(
        &pdq_query(flip(PDQ_A, 5), Some(90)),
        &MatchOptions::default(),
        &mut scratch,
    );
    assert_eq!(close.len(), 2, "both banks within their own distance");
    let narrowed = run(
        &pdq_query(flip(PDQ_A, 20), None),
        &MatchOptions {
            max_distance: Some(8),
            ..Default::default()
        },
        &mut scratch,
    );
    assert!(narrowed.is_empty());
    let low_quality = run(
        &pdq_query(flip(PDQ_A, 5), Some(30)),
        &MatchOptions::default(),
        &mut scratch,
    );
    assert!(low_quality.is_empty(), "quality below the floor is not matched");

    let digest = Query {
        md5: Some(<[u8; 16]>::try_from(hex(MD5)).unwrap()),
        ..Default::default()
    };
    let hits = run(&digest, &MatchOptions::default(), &mut scratch);
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().any(|h| h.bank == "nsrl" && h.known_file));

    // Dihedral: the rotated image's hash finds the original only when asked.
    let rotated = pdq::Hash256::from_hex(PDQ_A_ROT90).unwrap();
    assert!(run(&pdq_query(rotated, None), &MatchOptions::default(), &mut scratch).is_empty());
    let mut variants = [rotated; 8];
    variants[3] = pdq::Hash256::from_hex(PDQ_A).unwrap(); // what hashing the rotated file yields as rotate270
    let q = Query {
        pdq: Some((rotated, None)),
        dihedral: Some(variants),
        ..Default::default()
    };
    assert_eq!(run(&q, &MatchOptions::default(), &mut scratch).len(), 2);
}

fn a_suppressing_bank_removes_the_other_hits(fx: &Fixture) {
    let mut store = fx.open();
    store.create_bank("list", &BankOptions::default()).unwrap();
    store
        .create_bank(
            "false-positives",
            &BankOptions {
                suppress: true,
                ..Default::default()
            },
        )
        .unwrap();
    import(&mut store, "list", &format!("pdq {PDQ_A}\n"));
    import(&mut store, "false-positives", &format!("pdq {PDQ_A}\n"));
    let matcher = Matcher::load(&store, &[]).unwrap();
    let hits = matcher
        .match_query(
            &store,
            &pdq_query(flip(PDQ_A, 3), None),
            &MatchOptions::default(),
            &mut Default::default(),
        )
        .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.bank.as_str()).collect::<Vec<_>>(),
        vec!["false-positives"]
    );
    let only_list = Matcher::load(&store, &["list".into()]).unwrap();
    assert_eq!(
        only_list
            .match_query(
                &store,
                &pdq_query(flip(PDQ_A, 3), None),
                &MatchOptions::default(),
                &mut Default::default()
            )
            .unwrap()
            .len(),
        1
    );
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn withdrawn_entries_are_marked_removed_and_no_longer_match(fx: &Fixture) {
    let mut store = fx.open();
    store.create_bank("ncmec", &BankOptions::default()).unwrap();
    let feed = format!(
        "<queryResult><images><image><id>a</id><member id=\"9\">M</member><fingerprints><pdq>{PDQ_A}</pdq></fingerprints></image></images></queryResult>"
    );
    assert_eq!(import(&mut store, "ncmec", &feed).added, 1);
    let delta = "<queryResult><images><deletedImage><id>a</id><member id=\"9\"/></deletedImage></images></queryResult>";
    let report = import(&mut store, "ncmec", delta);
    assert!(report.applied);
    assert_eq!(report.withdrawn, 1);
    assert!(store.bank("ncmec").unwrap().unwrap().counts.is_empty());
    let matcher = Matcher::load(&store, &[]).unwrap();
    let q = pdq_query(pdq::Hash256::from_hex(PDQ_A).unwrap(), None);
    assert!(matcher
        .match_query(&store, &q, &MatchOptions::default(), &mut Default::default())
        .unwrap()
        .is_empty());
    // The list adding it again brings it back.
    assert_eq!(import(&mut store, "ncmec", &feed).added, 1);
    let matcher = Matcher::load(&store, &[]).unwrap();
    assert_eq!(
        matcher
            .match_query(&store, &q, &MatchOptions::default(), &mut Default::default())
            .unwrap()
            .len(),
        1
    );
}

/// What a matcher finds for a PDQ query: (bank, distance) pairs.
fn found(matcher: &Matcher, store: &Store, hash: pdq::Hash256) -> Vec<(String, u32)> {
    matcher
        .match_query(
            store,
            &pdq_query(hash, None),
            &MatchOptions::default(),
            &mut Default::default(),
        )
        .unwrap()
        .into_iter()
        .map(|h| (h.bank, h.distance))
        .collect()
}

fn a_live_matcher_follows_the_change_feed_without_reloading(fx: &Fixture) {
    let mut store = fx.open();
    store.create_bank("one", &BankOptions::default()).unwrap();
    import(&mut store, "one", &format!("pdq {PDQ_A}\n"));
    let mut live = Matcher::load(&store, &[]).unwrap();
    let mut cursor = store.cursor().unwrap();
    let a = pdq::Hash256::from_hex(PDQ_A).unwrap();
    let b = pdq::Hash256::from_hex(PDQ_A_ROT90).unwrap();
    let mut step = |store: &Store, live: &mut Matcher| {
        let (changes, next) = store.changes_since(&cursor).unwrap();
        live.apply(store, &changes).unwrap();
        cursor = next;
    };

    // Another process (here: the same store) adds a bank and an entry.
    store.create_bank("two", &BankOptions::default()).unwrap();
    import(&mut store, "two", &format!("pdq {PDQ_A_ROT90}\n"));
    step(&store, &mut live);
    assert_eq!(found(&live, &store, b), vec![("two".to_string(), 0)]);

    // Withdrawn: gone; re-imported: back, under its old id.
    let id = store.entry_id("one", "pdq", PDQ_A).unwrap().unwrap();
    assert!(store.remove_entry(id).unwrap());
    step(&store, &mut live);
    assert!(found(&live, &store, a).is_empty());
    import(&mut store, "one", &format!("pdq {PDQ_A}\n"));
    step(&store, &mut live);
    assert_eq!(found(&live, &store, a), vec![("one".to_string(), 0)]);
    assert_eq!(store.entry_id("one", "pdq", PDQ_A).unwrap(), Some(id));

    // A bank removed takes its entries with it.
    store.remove_bank("two").unwrap();
    step(&store, &mut live);
    assert!(found(&live, &store, b).is_empty());

    // The live matcher answers as a fresh one does.
    let fresh = Matcher::load(&store, &[]).unwrap();
    for q in [a, b, flip(PDQ_A, 5)] {
        assert_eq!(found(&live, &store, q), found(&fresh, &store, q));
    }
    let (nothing, _) = store.changes_since(&cursor).unwrap();
    assert!(nothing.is_empty());
}
