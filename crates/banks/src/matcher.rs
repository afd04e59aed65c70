//! Matching queries against the banks: exact digests, and PDQ within each
//! bank's distance with quality floors, optional dihedral variants, and
//! suppressing banks.

use std::collections::HashMap;

use index::{DigestSet, HammingIndex, Scratch};

use crate::model::{BankInfo, BankKind, Signal};
use crate::store::Store;
use crate::BankError;

/// What is known of one item to match.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// PDQ hash and its quality (None when unknown, as for a bare hash: then no floor applies).
    pub pdq: Option<(pdq::Hash256, Option<u8>)>,
    /// The eight dihedral hashes, to match rotated and flipped copies too.
    pub dihedral: Option<[pdq::Hash256; 8]>,
    /// MD5 of the file.
    pub md5: Option<[u8; 16]>,
    /// SHA-1 of the file.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256 of the file.
    pub sha256: Option<[u8; 32]>,
}

/// One hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchHit {
    /// The entry's store id.
    pub entry_id: u32,
    /// Its bank.
    pub bank: String,
    /// The signal that matched.
    pub signal: Signal,
    /// Hamming distance (0 for digests).
    pub distance: u32,
    /// Whether the bank is a known-file filter rather than a flag list.
    pub known_file: bool,
}

/// Overrides for one matching run.
#[derive(Debug, Clone, Default)]
pub struct MatchOptions {
    /// Replaces every bank's maximum PDQ distance.
    pub max_distance: Option<u32>,
}

/// The banks loaded for matching.
pub struct Matcher {
    banks: Vec<BankInfo>,
    bank_of: HashMap<u32, u16>,
    pdq: HammingIndex,
    md5: DigestSet<16>,
    sha1: DigestSet<20>,
    sha256: DigestSet<32>,
}

fn hex_array<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

impl Matcher {
    /// Loads the named banks (all when empty) from the store.
    pub fn load(store: &Store, banks: &[String]) -> Result<Matcher, BankError> {
        let mut infos = Vec::new();
        if banks.is_empty() {
            infos = store.banks()?;
        } else {
            for name in banks {
                infos.push(store.bank(name)?.ok_or_else(|| BankError::NoSuchBank(name.clone()))?);
            }
        }
        let slot: HashMap<String, u16> = infos
            .iter()
            .enumerate()
            .map(|(i, b)| (b.name.clone(), i as u16))
            .collect();
        let names: Vec<String> = infos.iter().map(|b| b.name.clone()).collect();
        let mut bank_of = HashMap::new();
        let mut pdq_entries = Vec::new();
        let (mut md5, mut sha1, mut sha256) = (DigestSet::new(), DigestSet::new(), DigestSet::new());
        store.for_each_entry(&names, |e| {
            bank_of.insert(e.id, slot[&e.bank]);
            match Signal::parse(&e.entry.signal) {
                Signal::Pdq => {
                    if let Some(h) = hex_array::<32>(&e.entry.hash) {
                        pdq_entries.push((h, e.id));
                    }
                }
                Signal::Md5 => {
                    if let Some(h) = hex_array(&e.entry.hash) {
                        md5.add(h, e.id);
                    }
                }
                Signal::Sha1 => {
                    if let Some(h) = hex_array(&e.entry.hash) {
                        sha1.add(h, e.id);
                    }
                }
                Signal::Sha256 => {
                    if let Some(h) = hex_array(&e.entry.hash) {
                        sha256.add(h, e.id);
                    }
                }
                Signal::Other(_) => {}
            }
            Ok(())
        })?;
        Ok(Matcher {
            banks: infos,
            bank_of,
            pdq: HammingIndex::build(pdq_entries),
            md5,
            sha1,
            sha256,
        })
    }

    /// The banks loaded.
    pub fn banks(&self) -> &[BankInfo] {
        &self.banks
    }

    fn hit(&self, id: u32, signal: Signal, distance: u32) -> Option<MatchHit> {
        let bank = &self.banks[*self.bank_of.get(&id)? as usize];
        Some(MatchHit {
            entry_id: id,
            bank: bank.name.clone(),
            signal,
            distance,
            known_file: bank.kind == BankKind::Known,
        })
    }

    /// Every hit for one query.
    pub fn match_query(&self, query: &Query, options: &MatchOptions, scratch: &mut Scratch) -> Vec<MatchHit> {
        let mut hits = Vec::new();
        let digests = [
            (query.md5.map(|d| self.md5.get(&d).to_vec()), Signal::Md5),
            (query.sha1.map(|d| self.sha1.get(&d).to_vec()), Signal::Sha1),
            (query.sha256.map(|d| self.sha256.get(&d).to_vec()), Signal::Sha256),
        ];
        for (ids, signal) in digests {
            hits.extend(
                ids.unwrap_or_default()
                    .into_iter()
                    .filter_map(|id| self.hit(id, signal.clone(), 0)),
            );
        }
        if let Some((hash, quality)) = query.pdq {
            let limit = |b: &BankInfo| options.max_distance.unwrap_or(b.max_distance);
            let radius = self.banks.iter().map(limit).max().unwrap_or(0);
            let variants: Vec<pdq::Hash256> = query.dihedral.map(|d| d.to_vec()).unwrap_or_else(|| vec![hash]);
            let mut best: HashMap<u32, u32> = HashMap::new();
            let mut found = Vec::new();
            for v in &variants {
                self.pdq.search_into(v.as_bytes(), radius, scratch, &mut found);
                for h in &found {
                    let d = best.entry(h.id).or_insert(h.distance);
                    *d = (*d).min(h.distance);
                }
            }
            for (id, distance) in best {
                let Some(&slot) = self.bank_of.get(&id) else { continue };
                let bank = &self.banks[slot as usize];
                let quality_ok = quality.is_none_or(|q| q >= bank.quality_floor);
                if distance <= limit(bank) && quality_ok {
                    hits.extend(self.hit(id, Signal::Pdq, distance));
                }
            }
        }
        let suppressed = hits
            .iter()
            .any(|h| self.banks.iter().any(|b| b.name == h.bank && b.suppress));
        if suppressed {
            hits.retain(|h| self.banks.iter().any(|b| b.name == h.bank && b.suppress));
        }
        hits.sort_by(|a, b| (a.distance, &a.bank, a.entry_id).cmp(&(b.distance, &b.bank, b.entry_id)));
        hits
    }
}
