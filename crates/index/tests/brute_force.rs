//! The index against brute force: uniform and clustered data, every radius
//! up to 63, additions and removals interleaved, before and after compaction
//! and a save/open round trip.

use std::collections::BTreeSet;

use index::{HammingIndex, Hit, Scratch};
use proptest::prelude::*;

/// splitmix64: a small deterministic generator so failures replay from the seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn hash(&mut self) -> [u8; 32] {
        let mut h = [0u8; 32];
        for chunk in h.chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        h
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn flip(&mut self, h: &[u8; 32], bits: u32) -> [u8; 32] {
        let mut out = *h;
        let mut flipped = BTreeSet::new();
        while flipped.len() < bits as usize {
            flipped.insert(self.below(256) as usize);
        }
        for b in flipped {
            out[b / 8] ^= 1 << (b % 8);
        }
        out
    }
}

fn distance(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

fn brute(entries: &[([u8; 32], u32)], q: &[u8; 32], r: u32) -> Vec<Hit> {
    let mut v: Vec<Hit> = entries
        .iter()
        .filter_map(|(h, id)| {
            let d = distance(h, q);
            (d <= r).then_some(Hit { id: *id, distance: d })
        })
        .collect();
    v.sort_by_key(|h| (h.distance, h.id));
    v
}

/// Uniform hashes, or clusters of near-duplicates with exact repeats (hot buckets).
fn dataset(rng: &mut Rng, n: usize, clustered: bool) -> Vec<([u8; 32], u32)> {
    let mut out = Vec::with_capacity(n);
    if !clustered {
        for id in 0..n {
            out.push((rng.hash(), id as u32));
        }
        return out;
    }
    let centres: Vec<[u8; 32]> = (0..n / 8).map(|_| rng.hash()).collect();
    let blank = rng.hash();
    for id in 0..n {
        let h = if id % 50 == 0 {
            blank // 2 % of the list is one hash: a bucket of hundreds in every table
        } else {
            let c = centres[rng.below(centres.len() as u64) as usize];
            let k = rng.below(17) as u32;
            rng.flip(&c, k)
        };
        out.push((h, id as u32));
    }
    out
}

fn queries(rng: &mut Rng, entries: &[([u8; 32], u32)], count: usize) -> Vec<[u8; 32]> {
    (0..count)
        .map(|i| {
            if i % 2 == 0 {
                let (h, _) = entries[rng.below(entries.len() as u64) as usize];
                let k = rng.below(41) as u32;
                rng.flip(&h, k)
            } else {
                rng.hash()
            }
        })
        .collect()
}

fn check(index: &HammingIndex, live: &[([u8; 32], u32)], qs: &[[u8; 32]], radii: &[u32]) {
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    for q in qs {
        for &r in radii {
            index.search_into(q, r, &mut scratch, &mut out);
            out.sort_by_key(|h| (h.distance, h.id));
            assert_eq!(out, brute(live, q, r), "radius {r}");
        }
    }
}

const RADII: &[u32] = &[0, 5, 21, 31, 32, 44, 63];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn equals_brute_force(seed in any::<u64>(), clustered in any::<bool>(), n in 70_000usize..130_000) {
        let mut rng = Rng(seed);
        let entries = dataset(&mut rng, n, clustered);
        let index = HammingIndex::build(entries.clone());
        prop_assert!(index.layout().0 > 0, "tables built");
        prop_assert!(index.probes_at(31) && index.probes_at(0), "the tables answer the PDQ radius");
        let qs = queries(&mut rng, &entries, 60);
        check(&index, &entries, &qs, RADII);
    }

    #[test]
    fn adds_and_removes_interleaved(seed in any::<u64>(), clustered in any::<bool>()) {
        let mut rng = Rng(seed);
        let mut live = dataset(&mut rng, 80_000, clustered);
        prop_assert!(HammingIndex::build(live.clone()).probes_at(31));
        let mut index = HammingIndex::build(live.clone());
        let mut next_id = live.len() as u32;
        for round in 0..4 {
            for _ in 0..300 {
                if rng.below(3) == 0 && !live.is_empty() {
                    let gone = live.swap_remove(rng.below(live.len() as u64) as usize);
                    index.remove(gone.1);
                } else {
                    let base = live[rng.below(live.len() as u64) as usize].0;
                    let k = rng.below(20) as u32;
                    let h = rng.flip(&base, k);
                    index.add(&h, next_id);
                    live.push((h, next_id));
                    next_id += 1;
                }
            }
            prop_assert_eq!(index.len(), live.len());
            let qs = queries(&mut rng, &live, 25);
            check(&index, &live, &qs, &[0, 31, 63]);
            if round == 1 {
                index.compact();
                check(&index, &live, &qs, &[31]);
            }
            if round == 2 {
                // A compacted copy answers alike, and the original still does.
                let copy = index.compacted();
                prop_assert_eq!(copy.len(), live.len());
                check(&copy, &live, &qs, &[0, 31]);
                check(&index, &live, &qs, &[31]);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.idx");
        index.save(&path).unwrap();
        let reopened = HammingIndex::open(&path).unwrap();
        prop_assert_eq!(reopened.len(), live.len());
        let qs = queries(&mut rng, &live, 40);
        check(&reopened, &live, &qs, RADII);
    }
}

#[test]
fn small_sets_are_scanned_and_exact() {
    let mut rng = Rng(7);
    let entries = dataset(&mut rng, 500, false);
    let index = HammingIndex::build(entries.clone());
    assert_eq!(index.layout(), (0, 0));
    let qs = queries(&mut rng, &entries, 50);
    check(&index, &entries, &qs, RADII);
}

#[test]
fn empty_index() {
    let index = HammingIndex::default();
    assert!(index.is_empty());
    assert!(index.search(&[0; 32], 63).is_empty());
}

#[test]
fn corrupt_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(9);
    let mut index = HammingIndex::build(dataset(&mut rng, 20_000, false));
    let path = dir.path().join("a.idx");
    index.save(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    for (name, bytes) in [
        ("empty", Vec::new()),
        ("magic", [b"NOTANIDX".as_slice(), &good[8..]].concat()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("header", {
            let mut b = good.clone();
            b[20] ^= 1;
            b
        }),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        assert!(HammingIndex::open(&p).is_err(), "{name} opened");
    }
    assert!(HammingIndex::open(&dir.path().join("missing")).is_err());
}
