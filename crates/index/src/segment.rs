//! The immutable part of an index: hashes in one array and, for each of m
//! substrings, the hash positions sorted by that substring's value in a
//! dense bucket layout (multi-index hashing, Norouzi et al.).
//!
//! Bucket layout. A table of b-bit keys has 2^b buckets. Offsets as u32
//! would cost 4·2^b bytes per table (370 MB for 11 tables at 10M hashes), so
//! each bucket stores its size in one byte and each block of 16 buckets the
//! offset of its first entry (1.25 bytes a bucket). A lookup adds at most 15
//! sizes, two words of byte lanes, and touches one line of sizes. A block
//! with a bucket of 255 or more entries (near-duplicate clusters, blank
//! images) keeps 17 exact u32 offsets on the side instead, so skewed data
//! costs memory only where it is skewed.
//!
//! Dedup. A hash within distance r of the query is found in every table
//! whose substring lies within ⌊r/m⌋ of the query's; it is reported only
//! from the first such table, which a few popcounts decide. No hash set, no
//! per-query stamp array.

use rayon::prelude::*;

use crate::bits::{distance, Bits, Slice};
use crate::buf::{huge_zeroed, Buf};

const BLOCK: usize = 16;
/// Set in a block's start when the block is wide; the low bits then index `wide`.
const WIDE: u32 = 1 << 31;

/// One substring's buckets.
pub(crate) struct Table {
    pub slice: Slice,
    /// Per block: the position of its first entry, or `WIDE` | its index into `wide`.
    pub blocks: Buf<u32>,
    /// Per bucket: number of entries (narrow blocks only).
    pub counts: Buf<u8>,
    /// For wide blocks: 17 cumulative offsets each.
    pub wide: Buf<u32>,
    /// Positions into the segment's hash array, sorted by bucket.
    pub positions: Buf<u32>,
}

impl Table {
    fn build(slice: Slice, hashes: &[Bits]) -> Table {
        let buckets = 1usize << slice.len;
        let mut sizes = vec![0u32; buckets];
        for h in hashes {
            sizes[slice.key(h) as usize] += 1;
        }
        let mut blocks = Vec::with_capacity(buckets / BLOCK);
        let mut counts = huge_zeroed::<u8>(buckets);
        let mut wide = Vec::new();
        let mut cursor = vec![0u32; buckets];
        let mut start = 0u32;
        for (b, block) in sizes.chunks_exact(BLOCK).enumerate() {
            let is_wide = block.iter().any(|&s| s >= 255);
            blocks.push(if is_wide {
                WIDE | (wide.len() / (BLOCK + 1)) as u32
            } else {
                start
            });
            let mut offset = start;
            for (i, &s) in block.iter().enumerate() {
                if is_wide {
                    wide.push(offset);
                } else {
                    counts[b * BLOCK + i] = s as u8;
                }
                cursor[b * BLOCK + i] = offset;
                offset += s;
            }
            if is_wide {
                wide.push(offset);
            }
            start = offset;
        }
        drop(sizes);
        let mut positions = huge_zeroed::<u32>(hashes.len());
        for (p, h) in hashes.iter().enumerate() {
            let c = &mut cursor[slice.key(h) as usize];
            positions[*c as usize] = p as u32;
            *c += 1;
        }
        Table {
            slice,
            blocks: Buf::Owned(blocks),
            counts: Buf::Owned(counts),
            wide: Buf::Owned(wide),
            positions: Buf::Owned(positions),
        }
    }

    /// The range of `positions` holding bucket `key`.
    #[inline(always)]
    fn bucket(&self, key: u32) -> (usize, usize) {
        let key = key as usize;
        let tag = self.blocks[key / BLOCK];
        let within = key % BLOCK;
        if tag & WIDE != 0 {
            let base = (tag & !WIDE) as usize * (BLOCK + 1);
            return (self.wide[base + within] as usize, self.wide[base + within + 1] as usize);
        }
        let block: &[u8; BLOCK] = self.counts[key - within..key - within + BLOCK]
            .try_into()
            .expect("a block");
        let start = tag as usize + sum_before(block, within);
        (start, start + block[within] as usize)
    }

    #[inline(always)]
    fn prefetch_bucket(&self, key: u32) {
        let key = key as usize;
        prefetch(&self.blocks[key / BLOCK]);
        prefetch(&self.counts[key - key % BLOCK]);
    }
}

/// Sum of the first `within` (0..16) sizes of a block, eight at a time in
/// the lanes of a u64, without branches.
#[inline(always)]
fn sum_before(block: &[u8; BLOCK], within: usize) -> usize {
    const PAIRS: u64 = 0x00ff_00ff_00ff_00ff;
    let lanes = |w: u64| ((w & PAIRS) + ((w >> 8) & PAIRS)).wrapping_mul(0x0001_0001_0001_0001) >> 48;
    let keep = |bytes: usize| (!0u64).checked_shl(8 * bytes as u32).map_or(!0, |m| !m);
    let lo = u64::from_le_bytes(block[..8].try_into().expect("8 bytes"));
    let hi = u64::from_le_bytes(block[8..].try_into().expect("8 bytes"));
    (lanes(lo & keep(within.min(8))) + lanes(hi & keep(within.saturating_sub(8)))) as usize
}

#[inline(always)]
fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is a hint; it never faults, even on bad addresses.
    unsafe {
        core::arch::x86_64::_mm_prefetch(r as *const T as *const i8, core::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// A hit inside one segment: the entry's position and its distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHit {
    pub position: u32,
    pub distance: u32,
}

/// Reusable per-thread buffers for searching.
#[derive(Default)]
pub struct Scratch {
    probes: Vec<(u32, u32)>,
    ranges: Vec<(u32, u32, u32)>,
    pub(crate) hits: Vec<SegmentHit>,
}

/// An immutable set of hashes with their multi-index tables.
pub(crate) struct Segment {
    pub hashes: Buf<Bits>,
    pub ids: Buf<u32>,
    pub tables: Vec<Table>,
}

/// Below this many hashes a linear scan beats building tables.
pub const FLAT_MAX: usize = 16_384;

/// Substring count and width for `n` hashes. Eleven substrings keep the
/// per-substring radius at 2 for the PDQ threshold 31 (11·3 > 31); the width
/// grows with n so buckets stay sparse, capped at 23 bits so the tables of a
/// 10M index stay near 100 MB.
pub fn layout_for(n: usize) -> (u32, u32) {
    if n <= FLAT_MAX {
        return (0, 0);
    }
    let log2 = usize::BITS - n.leading_zeros();
    (11, (log2 + 3).clamp(16, 23))
}

impl Segment {
    pub fn build(hashes: Vec<Bits>, ids: Vec<u32>) -> Segment {
        assert_eq!(hashes.len(), ids.len());
        let (m, bits) = layout_for(hashes.len());
        let tables = if m == 0 {
            Vec::new()
        } else {
            crate::bits::slices(m, bits)
                .into_par_iter()
                .map(|s| Table::build(s, &hashes))
                .collect()
        };
        Segment {
            hashes: Buf::Owned(hashes),
            ids: Buf::Owned(ids),
            tables,
        }
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether a search at this radius probes the tables rather than scanning.
    pub fn probes_at(&self, radius: u32) -> bool {
        !self.tables.is_empty() && self.probe_cost(radius) <= self.len() as f64
    }

    /// Every position within `radius` of `query`, into `scratch.hits`.
    pub fn search(&self, query: &Bits, radius: u32, scratch: &mut Scratch) {
        scratch.hits.clear();
        if !self.probes_at(radius) {
            self.scan(query, radius, &mut scratch.hits);
            return;
        }
        let m = self.tables.len() as u32;
        let sub_radius = radius / m;

        // Probe keys of every table, then their bucket lines fetched ahead.
        scratch.probes.clear();
        for (t, table) in self.tables.iter().enumerate() {
            let key = table.slice.key(query);
            push_within(key, table.slice.len, sub_radius, t as u32, &mut scratch.probes);
        }
        for &(t, key) in &scratch.probes {
            self.tables[t as usize].prefetch_bucket(key);
        }
        scratch.ranges.clear();
        for &(t, key) in &scratch.probes {
            let table = &self.tables[t as usize];
            let (start, end) = table.bucket(key);
            if start < end {
                prefetch(&table.positions[start]);
                scratch.ranges.push((t, start as u32, end as u32));
            }
        }
        // Candidates: fetch their hashes ahead, then verify.
        for &(t, start, end) in &scratch.ranges {
            for &p in &self.tables[t as usize].positions[start as usize..end as usize] {
                prefetch(&self.hashes[p as usize]);
            }
        }
        for &(t, start, end) in &scratch.ranges {
            for &p in &self.tables[t as usize].positions[start as usize..end as usize] {
                let h = &self.hashes[p as usize];
                let d = distance(h, query);
                if d <= radius && self.first_table(h, query, sub_radius) == t {
                    scratch.hits.push(SegmentHit {
                        position: p,
                        distance: d,
                    });
                }
            }
        }
    }

    /// The first table in which `h` is within `sub_radius` of the query: the
    /// one table that reports it.
    fn first_table(&self, h: &Bits, query: &Bits, sub_radius: u32) -> u32 {
        self.tables
            .iter()
            .position(|t| (t.slice.key(h) ^ t.slice.key(query)).count_ones() <= sub_radius)
            .expect("a hit within the radius is within the sub-radius in some table") as u32
    }

    /// Rough cost of a table search in units of one hash compared by a scan.
    fn probe_cost(&self, radius: u32) -> f64 {
        let m = self.tables.len() as u32;
        let bits = self.tables[0].slice.len;
        let sub_radius = radius / m;
        let probes: f64 = (0..=sub_radius.min(bits)).map(|k| binomial(bits, k)).sum::<f64>() * m as f64;
        let candidates = probes * self.len() as f64 / (1u64 << bits) as f64;
        // A probe or a candidate is a cache miss; a scanned hash is a streamed 32 bytes.
        (probes + candidates) * 20.0
    }

    fn scan(&self, query: &Bits, radius: u32, out: &mut Vec<SegmentHit>) {
        for (p, h) in self.hashes.iter().enumerate() {
            let d = distance(h, query);
            if d <= radius {
                out.push(SegmentHit {
                    position: p as u32,
                    distance: d,
                });
            }
        }
    }
}

fn binomial(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Every `bits`-bit key within Hamming distance `radius` of `key`.
fn push_within(key: u32, bits: u32, radius: u32, table: u32, out: &mut Vec<(u32, u32)>) {
    fn flip(key: u32, from_bit: u32, bits: u32, left: u32, table: u32, out: &mut Vec<(u32, u32)>) {
        out.push((table, key));
        if left == 0 {
            return;
        }
        for b in from_bit..bits {
            flip(key ^ (1 << b), b + 1, bits, left - 1, table, out);
        }
    }
    flip(key, 0, bits, radius, table, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sums() {
        let block: [u8; BLOCK] = std::array::from_fn(|i| (i * 37 % 251) as u8);
        for n in 0..BLOCK {
            assert_eq!(
                sum_before(&block, n),
                block[..n].iter().map(|&b| b as usize).sum::<usize>()
            );
        }
        assert_eq!(sum_before(&[254; BLOCK], 15), 254 * 15);
    }

    #[test]
    fn probes_enumerate_the_ball() {
        let mut out = Vec::new();
        push_within(0b1010, 6, 2, 0, &mut out);
        assert_eq!(out.len(), 1 + 6 + 15);
        let mut keys: Vec<u32> = out.iter().map(|p| p.1).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 22);
        assert!(keys.iter().all(|k| (k ^ 0b1010).count_ones() <= 2));
    }
}
