//! Exact Hamming range search over 256-bit hashes, and exact-digest sets.
//!
//! [`HammingIndex`] answers "every indexed hash within distance r of this
//! query", exactly: recall is 1.0 by construction, because a missed match is
//! a missed known abuse image. Approximate indexes (HNSW, IVF, LSH) are
//! ruled out for that reason.
//!
//! The work is multi-index hashing over a dense, memory-mappable layout (see
//! `segment.rs`): for 10M hashes, 11 substrings of 23 bits, ~3,000 bucket
//! probes and a few thousand candidates per query at radius 31, with cache
//! misses issued ahead in three waves (buckets, positions, hashes). Small
//! sets, and radii where probing would cost more than reading, are scanned.
//!
//! Changes do not rebuild anything: additions go to a small delta segment
//! that is scanned, removals to tombstones; [`HammingIndex::compact`] (and
//! [`HammingIndex::save`]) fold them into a new base. A saved index is one
//! versioned file that [`HammingIndex::open`] maps without reading it, so
//! many processes share one copy in the page cache and a 10M index opens in
//! milliseconds.
//!
//! The index knows nothing of where hashes come from: entries are 32 bytes
//! and a caller-chosen `u32` id.

mod bits;
mod buf;
mod digests;
mod file;
mod segment;

use std::collections::{HashMap, HashSet};
use std::path::Path;

pub use bits::Bits;
pub use digests::DigestSet;
pub use segment::{layout_for, Scratch, FLAT_MAX};

use segment::Segment;

/// The largest radius searched through the tables; larger radii scan.
pub const MAX_RADIUS: u32 = 256;

/// One match: the entry's id and its distance to the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hit {
    /// The caller's id for the entry.
    pub id: u32,
    /// Hamming distance to the query.
    pub distance: u32,
}

/// Errors reading or writing an index file.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        source: std::io::Error,
    },
    /// The file is not an index this version understands.
    #[error("{path}: not a valid index file: {reason}")]
    Format {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Above this many pending additions or removals an index asks to be
/// compacted ([`HammingIndex::needs_compaction`]): the delta is scanned
/// linearly on every query and tombstones are checked on every hit.
pub const DELTA_MERGE_AT: usize = 65_536;

/// An exact Hamming range-search index with cheap additions and removals.
pub struct HammingIndex {
    base: Segment,
    delta: Vec<(Bits, u32)>,
    delta_slot: HashMap<u32, usize>,
    removed: HashSet<u32>,
}

impl Default for HammingIndex {
    fn default() -> Self {
        Self::build(Vec::new())
    }
}

impl HammingIndex {
    /// Builds an index over `(hash, id)` pairs. Ids should be unique.
    pub fn build(entries: Vec<([u8; 32], u32)>) -> Self {
        let mut hashes = buf::huge_zeroed::<Bits>(entries.len());
        for (slot, (h, _)) in hashes.iter_mut().zip(&entries) {
            *slot = bits::from_bytes(h);
        }
        let ids = entries.iter().map(|(_, id)| *id).collect();
        Self::from_segment(Segment::build(hashes, ids))
    }

    fn from_segment(base: Segment) -> Self {
        HammingIndex {
            base,
            delta: Vec::new(),
            delta_slot: HashMap::new(),
            removed: HashSet::new(),
        }
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.base.len() + self.delta.len() - self.removed_from_base()
    }

    /// True when no entry is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn removed_from_base(&self) -> usize {
        if self.removed.is_empty() {
            return 0;
        }
        self.base.ids.iter().filter(|id| self.removed.contains(id)).count()
    }

    /// Adds an entry; it is searchable at once. An id that is already live
    /// must be removed first. Never compacts by itself: a rebuild of a large
    /// base takes seconds, which a caller serving lookups does off its lock
    /// ([`HammingIndex::compacted`], then swap) when
    /// [`HammingIndex::needs_compaction`] says so.
    pub fn add(&mut self, hash: &[u8; 32], id: u32) {
        self.delta_slot.insert(id, self.delta.len());
        self.delta.push((bits::from_bytes(hash), id));
    }

    /// Whether enough changes are pending that searches pay for them.
    pub fn needs_compaction(&self) -> bool {
        self.delta.len() >= DELTA_MERGE_AT || self.removed.len() >= DELTA_MERGE_AT
    }

    /// Removes the entry with this id, wherever it is.
    pub fn remove(&mut self, id: u32) {
        if let Some(slot) = self.delta_slot.remove(&id) {
            self.delta.swap_remove(slot);
            if let Some(moved) = self.delta.get(slot) {
                self.delta_slot.insert(moved.1, slot);
            }
        }
        self.removed.insert(id);
    }

    /// Folds additions and removals into a new base segment.
    pub fn compact(&mut self) {
        if self.delta.is_empty() && self.removed.is_empty() {
            return;
        }
        *self = self.compacted();
    }

    /// A copy with additions and removals folded into a new base, built
    /// while `self` goes on answering searches (it only reads `self`).
    pub fn compacted(&self) -> HammingIndex {
        let mut hashes = buf::huge_zeroed::<Bits>(self.base.len() + self.delta.len());
        hashes.clear();
        let mut ids = Vec::with_capacity(hashes.capacity());
        for (h, id) in self.base.hashes.iter().zip(self.base.ids.iter()) {
            if !self.removed.contains(id) {
                hashes.push(*h);
                ids.push(*id);
            }
        }
        for (h, id) in &self.delta {
            hashes.push(*h);
            ids.push(*id);
        }
        Self::from_segment(Segment::build(hashes, ids))
    }

    /// Every live entry within `radius` of `query`, into `out` (cleared first),
    /// in no particular order.
    pub fn search_into(&self, query: &[u8; 32], radius: u32, scratch: &mut Scratch, out: &mut Vec<Hit>) {
        out.clear();
        let q = bits::from_bytes(query);
        self.base.search(&q, radius, scratch);
        for hit in &scratch.hits {
            let id = self.base.ids[hit.position as usize];
            if self.removed.is_empty() || !self.removed.contains(&id) {
                out.push(Hit {
                    id,
                    distance: hit.distance,
                });
            }
        }
        for (h, id) in &self.delta {
            let d = bits::distance(h, &q);
            if d <= radius {
                out.push(Hit { id: *id, distance: d });
            }
        }
    }

    /// Every live entry within `radius` of `query`, sorted by distance then id.
    pub fn search(&self, query: &[u8; 32], radius: u32) -> Vec<Hit> {
        let mut out = Vec::new();
        self.search_into(query, radius, &mut Scratch::default(), &mut out);
        out.sort_by_key(|h| (h.distance, h.id));
        out
    }

    /// Compacts, then writes the index to `path` atomically (a temporary
    /// file renamed into place).
    pub fn save(&mut self, path: &Path) -> Result<(), IndexError> {
        self.compact();
        file::write(&self.base, path)
    }

    /// Maps a saved index. Nothing is read until searches touch it.
    pub fn open(path: &Path) -> Result<Self, IndexError> {
        Ok(Self::from_segment(file::read(path)?))
    }

    /// Whether a search at this radius probes the tables (else the base is scanned).
    pub fn probes_at(&self, radius: u32) -> bool {
        self.base.probes_at(radius)
    }

    /// Substring count and width of the base segment (0, 0 when it is scanned).
    pub fn layout(&self) -> (usize, u32) {
        (
            self.base.tables.len(),
            self.base.tables.first().map(|t| t.slice.len).unwrap_or(0),
        )
    }
}
