//! Matching queries against the banks: exact digests, and PDQ within each
//! bank's distance with quality floors, optional dihedral variants, and
//! suppressing banks.
//!
//! Digests are looked up in the store's SQL index and PDQ hashes in the
//! store's mapped index file, so loading a matcher costs nothing however
//! large the banks; only hits are looked up row by row.

use std::collections::HashMap;

use index::{HammingIndex, Scratch};

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
    /// vPDQ frames of a video.
    pub vpdq: Option<Vec<vpdq::Feature>>,
}

/// One hit.
#[derive(Debug, Clone, PartialEq)]
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
    /// For vPDQ hits: the share of each video's frames that matched.
    pub video: Option<vpdq::VideoMatch>,
}

/// Overrides for one matching run.
#[derive(Debug, Clone, Default)]
pub struct MatchOptions {
    /// Replaces every bank's maximum PDQ distance.
    pub max_distance: Option<u32>,
    /// vPDQ thresholds (HMA's: frame distance 31, quality 50, query 80 %, target 0 %).
    pub vpdq: vpdq::MatchThresholds,
}

/// The banks selected for matching. It holds no database handle, so one
/// matcher serves every thread; each thread passes its own [`Store`] (see
/// [`Store::open_reader`]) for the digest and entry lookups.
pub struct Matcher {
    /// The banks asked for at load (empty: every bank, including ones created later).
    selected: Vec<String>,
    banks: HashMap<String, BankInfo>,
    /// Ids above this were created after the index was built, so adding them needs no tombstone.
    loaded_up_to: u32,
    pdq: HammingIndex,
    /// PDQ entries' banks, where the store is remote (else `Store::bank_of`).
    pdq_banks: Option<EntryBanks>,
    /// vPDQ entries (id, bank) by their number in `videos` (a removed one's
    /// row is blank until the number is given out again).
    video_entries: Vec<(u32, String)>,
    /// Entry id → number in `videos`, for the live ones.
    video_numbers: HashMap<u32, usize>,
    videos: vpdq::VideoIndex,
}

/// The bank of every PDQ entry, held in memory where asking the store would
/// cost a round trip per hit (PostgreSQL): a bank slot per entry id, 2 bytes
/// an id (20 MB at 10 M entries). An entry never changes bank.
#[derive(Default)]
pub(crate) struct EntryBanks {
    names: Vec<String>,
    numbers: HashMap<String, u16>,
    slots: Vec<u16>,
}

impl EntryBanks {
    const NONE: u16 = u16::MAX;
    /// Ids are numbered densely from 1, so the table is as long as the
    /// largest id: past this (512 MB of table) the store is asked instead.
    const LARGEST_ID: u32 = 1 << 28;

    /// Records `id`'s bank; false when there are too many banks to number or
    /// the id is too large to index (the caller then asks the store instead).
    pub(crate) fn insert(&mut self, id: u32, bank: &str) -> bool {
        if id > Self::LARGEST_ID {
            return false;
        }
        let slot = match self.numbers.get(bank) {
            Some(&slot) => slot,
            None if self.names.len() < Self::NONE as usize => {
                let slot = self.names.len() as u16;
                self.names.push(bank.to_string());
                self.numbers.insert(bank.to_string(), slot);
                slot
            }
            None => return false,
        };
        let at = id as usize;
        if self.slots.len() <= at {
            self.slots.resize(at + 1, Self::NONE);
        }
        self.slots[at] = slot;
        true
    }

    fn get(&self, id: u32) -> Option<&str> {
        let slot = *self.slots.get(id as usize)?;
        (slot != Self::NONE).then(|| self.names[slot as usize].as_str())
    }
}

/// Indexes rebuilt with their changes folded in, from [`Matcher::compacted`].
pub struct Compacted {
    pdq: Option<HammingIndex>,
    video_frames: Option<HammingIndex>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Matcher {
    /// Matches against the named banks (all when empty).
    pub fn load(store: &Store, banks: &[String]) -> Result<Matcher, BankError> {
        let mut infos = HashMap::new();
        let names = if banks.is_empty() {
            store.bank_names()?
        } else {
            banks.to_vec()
        };
        for name in names {
            let info = store
                .bank_settings(&name)?
                .ok_or_else(|| BankError::NoSuchBank(name.clone()))?;
            infos.insert(name, info);
        }
        let mut video_entries = Vec::new();
        let mut video_frames = Vec::new();
        for (id, bank, frames) in store.vpdq_entries()? {
            if infos.contains_key(&bank) {
                video_entries.push((id, bank));
                video_frames.push((id, frames));
            }
        }
        let videos = vpdq::VideoIndex::build(&video_frames, vpdq::MatchThresholds::default().quality);
        let video_numbers = video_entries.iter().enumerate().map(|(n, (id, _))| (*id, n)).collect();
        let loaded_up_to = store.max_entry_id()?;
        let (pdq, pdq_banks) = store.pdq_index_and_banks()?;
        Ok(Matcher {
            selected: banks.to_vec(),
            loaded_up_to,
            banks: infos,
            pdq,
            pdq_banks,
            video_entries,
            video_numbers,
            videos,
        })
    }

    /// Applies changes read from the store's feed ([`Store::changes_since`])
    /// to the live index, without rebuilding it; bank settings are re-read.
    ///
    /// Everything is read from the store before anything changes here, so
    /// a store failure leaves the matcher as it was and the same changes can
    /// be applied again (the index must never hold an entry twice: a stale
    /// copy would go on matching after a withdrawal).
    pub fn apply(&mut self, store: &Store, changes: &[crate::Change]) -> Result<(), BankError> {
        let names = if self.selected.is_empty() {
            store.bank_names()?
        } else {
            self.selected.clone()
        };
        let mut infos = HashMap::new();
        for name in names {
            if let Some(info) = store.bank_settings(&name)? {
                infos.insert(name, info);
            }
        }
        // New videos' frames, read now: nothing may fail once the indexes change.
        let added_videos: Vec<u32> = changes
            .iter()
            .filter_map(|change| match change {
                crate::Change::Added { id, bank, signal, .. } if signal == "vpdq" && infos.contains_key(bank) => {
                    Some(*id)
                }
                _ => None,
            })
            .collect();
        let mut video_frames: HashMap<u32, Vec<vpdq::Feature>> = HashMap::new();
        if !added_videos.is_empty() {
            for entry in store.entries(&added_videos)? {
                if let Some(frames) = crate::model::vpdq_frames(&entry.entry.raw) {
                    video_frames.insert(entry.id, frames);
                }
            }
        }

        self.banks = infos;
        for change in changes {
            match change {
                crate::Change::Removed(id) => {
                    self.pdq.remove(*id);
                    if let Some(number) = self.video_numbers.remove(id) {
                        self.forget_video(number);
                    }
                }
                crate::Change::Added { id, bank, signal, .. } if signal == "vpdq" => {
                    if let Some(frames) = video_frames.get(id) {
                        if let Some(old) = self.video_numbers.remove(id) {
                            self.forget_video(old);
                        }
                        // A removed video's number comes back: reuse its row.
                        let number = self.videos.add(frames);
                        if number == self.video_entries.len() {
                            self.video_entries.push((*id, bank.clone()));
                        } else {
                            self.video_entries[number] = (*id, bank.clone());
                        }
                        self.video_numbers.insert(*id, number);
                    }
                }
                crate::Change::Added { id, bank, signal, hash } if signal == "pdq" => {
                    if let Ok(h) = pdq::Hash256::from_hex(hash) {
                        if *id <= self.loaded_up_to {
                            // Re-imported after withdrawal: its old copy may still be in the base.
                            self.pdq.remove(*id);
                        }
                        if let Some(banks) = &mut self.pdq_banks {
                            if !banks.insert(*id, bank) {
                                self.pdq_banks = None;
                            }
                        }
                        self.pdq.add(h.as_bytes(), *id);
                    }
                }
                crate::Change::Added { .. } => {}
            }
        }
        Ok(())
    }

    /// Takes a video out of the index and blanks its row; the index may give
    /// its number to the next video added.
    fn forget_video(&mut self, number: usize) {
        self.videos.remove(number);
        self.video_entries[number] = (0, String::new());
    }

    /// Entries in the PDQ index (live, including additions not yet compacted).
    pub fn pdq_len(&self) -> usize {
        self.pdq.len()
    }

    /// Whether the PDQ index or the video frame index has gathered enough
    /// changes to be worth compacting. [`Matcher::apply`] never compacts: a
    /// service builds the compacted indexes with [`Matcher::compacted`]
    /// while lookups go on, then swaps them in with [`Matcher::replace`].
    pub fn needs_compaction(&self) -> bool {
        self.pdq.needs_compaction() || self.videos.needs_compaction()
    }

    /// The indexes that need it, with their pending changes folded in (reads only).
    pub fn compacted(&self) -> Compacted {
        Compacted {
            pdq: self.pdq.needs_compaction().then(|| self.pdq.compacted()),
            video_frames: self.videos.needs_compaction().then(|| self.videos.compacted_frames()),
        }
    }

    /// Puts in indexes made by [`Matcher::compacted`]; valid only when no
    /// change was applied in between.
    pub fn replace(&mut self, compacted: Compacted) {
        if let Some(pdq) = compacted.pdq {
            self.pdq = pdq;
        }
        if let Some(frames) = compacted.video_frames {
            self.videos.replace_frames(frames);
        }
    }

    /// The banks selected, by name.
    pub fn banks(&self) -> impl Iterator<Item = &BankInfo> {
        self.banks.values()
    }

    fn hit(&self, id: u32, bank: String, signal: Signal, distance: u32) -> Option<MatchHit> {
        let info = self.banks.get(&bank)?;
        Some(MatchHit {
            entry_id: id,
            bank,
            signal,
            distance,
            known_file: info.kind == BankKind::Known,
            video: None,
        })
    }

    /// Every hit for one query.
    pub fn match_query(
        &self,
        store: &Store,
        query: &Query,
        options: &MatchOptions,
        scratch: &mut Scratch,
    ) -> Result<Vec<MatchHit>, BankError> {
        let mut hits = Vec::new();
        let digests = [
            (query.md5.map(|d| hex(&d)), Signal::Md5),
            (query.sha1.map(|d| hex(&d)), Signal::Sha1),
            (query.sha256.map(|d| hex(&d)), Signal::Sha256),
        ];
        for (digest, signal) in digests {
            let Some(digest) = digest else { continue };
            for (id, bank) in store.lookup_digest(signal.name(), &digest)? {
                hits.extend(self.hit(id, bank, signal.clone(), 0));
            }
        }
        if let Some((hash, quality)) = query.pdq {
            let limit = |b: &BankInfo| options.max_distance.unwrap_or(b.max_distance);
            let radius = self.banks.values().map(limit).max().unwrap_or(0);
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
                let bank = match self.pdq_banks.as_ref().and_then(|b| b.get(id)) {
                    Some(bank) => bank.to_string(),
                    None => match store.bank_of(id)? {
                        Some(bank) => bank,
                        None => continue,
                    },
                };
                let Some(info) = self.banks.get(&bank) else { continue };
                let quality_ok = quality.is_none_or(|q| q >= info.quality_floor);
                if distance <= limit(info) && quality_ok {
                    hits.extend(self.hit(id, bank, Signal::Pdq, distance));
                }
            }
        }
        if let Some(frames) = &query.vpdq {
            for (slot, video) in self.videos.search(frames, &options.vpdq) {
                let (id, bank) = &self.video_entries[slot];
                if let Some(mut hit) = self.hit(*id, bank.clone(), Signal::Other("vpdq".into()), 0) {
                    hit.video = Some(video);
                    hits.push(hit);
                }
            }
        }
        let suppressing = |h: &MatchHit| self.banks.get(&h.bank).is_some_and(|b| b.suppress);
        if hits.iter().any(suppressing) {
            hits.retain(suppressing);
        }
        hits.sort_by(|a, b| (a.distance, &a.bank, a.entry_id).cmp(&(b.distance, &b.bank, b.entry_id)));
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::EntryBanks;

    #[test]
    fn entry_banks_name_each_id_and_refuse_a_bank_past_the_last_slot() {
        let mut banks = EntryBanks::default();
        assert!(banks.insert(7, "one"));
        assert!(banks.insert(3, "two"));
        assert!(banks.insert(9, "one"));
        assert_eq!(
            (banks.get(7), banks.get(3), banks.get(9)),
            (Some("one"), Some("two"), Some("one"))
        );
        assert_eq!((banks.get(4), banks.get(1000)), (None, None));

        let mut full = EntryBanks::default();
        for n in 0..EntryBanks::NONE as u32 {
            assert!(full.insert(n, &format!("bank{n}")));
        }
        assert!(
            !full.insert(70_000, "one bank too many"),
            "the last slot number means no bank"
        );
        assert!(full.insert(70_001, "bank5"), "known banks still fit");
        assert_eq!(full.get(70_001), Some("bank5"));
        assert!(
            !full.insert(u32::MAX, "bank5"),
            "an id past the table's reach is refused, not allocated for"
        );
    }
}
