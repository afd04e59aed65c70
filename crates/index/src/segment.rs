//! The immutable part of an index: hashes in one array and, for each of m
//! substrings, the hash positions sorted by that substring's value in a
//! dense bucket layout (multi-index hashing, Norouzi et al.).
//!
//! Bucket layout. A table of b-bit keys has 2^b buckets. Offsets as u32
//! would cost 4·2^b bytes per table (370 MB for 11 tables at 10M hashes), so
//! buckets come in cache lines of 60: each 64-byte line holds the offset of
//! its first entry (u32) and the 60 bucket sizes (u8), 1.07 bytes a bucket.
//! A probe costs one cache miss, and the sizes before the bucket are added
//! with SIMD byte sums. A line with a bucket of 255 or more entries
//! (near-duplicate clusters, blank images) keeps 61 exact u32 offsets on the
//! side instead, so skewed data costs memory only where it is skewed.
//!
//! Dedup. A hash within distance r of the query is found in every table
//! whose substring lies within ⌊r/m⌋ of the query's; it is reported only
//! from the first such table, which a few popcounts decide. No hash set, no
//! per-query stamp array.

use rayon::prelude::*;

use crate::bits::{distance, Bits, Slice};
use crate::buf::{huge_zeroed, Buf};

/// Buckets per line.
pub(crate) const PER_LINE: usize = 60;
/// Set in a line's first-entry field when the line is wide; the low bits then index `wide`.
const WIDE: u32 = 1 << 31;

/// One cache line of a table: the first entry's position, then 60 bucket sizes.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub struct Line(pub [u8; 64]);

/// For each position in a line, a mask keeping the sizes of the buckets before it.
static BEFORE: [[u8; 64]; PER_LINE] = {
    let mut masks = [[0u8; 64]; PER_LINE];
    let mut w = 0;
    while w < PER_LINE {
        let mut b = 0;
        while b < w {
            masks[w][4 + b] = 0xff;
            b += 1;
        }
        w += 1;
    }
    masks
};

/// One substring's buckets.
pub(crate) struct Table {
    pub slice: Slice,
    /// The bucket lines.
    pub lines: Buf<Line>,
    /// For wide lines: 61 cumulative offsets each.
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
        let mut lines = huge_zeroed::<Line>(buckets.div_ceil(PER_LINE));
        let mut wide = Vec::new();
        let mut cursor = vec![0u32; buckets];
        let mut start = 0u32;
        for (l, chunk) in sizes.chunks(PER_LINE).enumerate() {
            let line = &mut lines[l].0;
            let is_wide = chunk.iter().any(|&s| s >= 255);
            let first = if is_wide {
                WIDE | (wide.len() / (PER_LINE + 1)) as u32
            } else {
                start
            };
            line[..4].copy_from_slice(&first.to_le_bytes());
            let mut offset = start;
            for (i, &s) in chunk.iter().enumerate() {
                if is_wide {
                    wide.push(offset);
                } else {
                    line[4 + i] = s as u8;
                }
                cursor[l * PER_LINE + i] = offset;
                offset += s;
            }
            if is_wide {
                wide.resize(wide.len() + PER_LINE + 1 - chunk.len(), offset);
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
            lines: Buf::Owned(lines),
            wide: Buf::Owned(wide),
            positions: Buf::Owned(positions),
        }
    }

    /// The range of `positions` holding bucket `key`.
    #[inline(always)]
    fn bucket(&self, key: u32) -> (usize, usize) {
        let key = key as usize;
        let line = &self.lines[key / PER_LINE].0;
        let within = key % PER_LINE;
        let first = u32::from_le_bytes([line[0], line[1], line[2], line[3]]);
        if first & WIDE != 0 {
            let base = (first & !WIDE) as usize * (PER_LINE + 1);
            return (self.wide[base + within] as usize, self.wide[base + within + 1] as usize);
        }
        let start = first as usize + sum_masked(line, &BEFORE[within]);
        (start, start + line[4 + within] as usize)
    }

    #[inline(always)]
    fn prefetch_bucket(&self, key: u32) {
        prefetch(&self.lines[key as usize / PER_LINE]);
    }
}

/// Sum of the bytes of `line` where `mask` is 0xff.
#[inline(always)]
fn sum_masked(line: &[u8; 64], mask: &[u8; 64]) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86_64; the loads read within the two arrays.
        unsafe {
            let zero = _mm_setzero_si128();
            let mut acc = zero;
            for i in 0..4 {
                let v = _mm_loadu_si128(line.as_ptr().add(16 * i).cast());
                let m = _mm_loadu_si128(mask.as_ptr().add(16 * i).cast());
                acc = _mm_add_epi64(acc, _mm_sad_epu8(_mm_and_si128(v, m), zero));
            }
            (_mm_cvtsi128_si64(acc) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc))) as usize
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        line.iter().zip(mask).map(|(&v, &m)| (v & m) as usize).sum()
    }
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
        let thresholds = thresholds(self.tables.len(), radius);

        // Probe keys of every table, then their bucket lines fetched ahead.
        scratch.probes.clear();
        for ((t, table), threshold) in self.tables.iter().enumerate().zip(&thresholds) {
            if let Some(threshold) = *threshold {
                let key = table.slice.key(query);
                push_within(key, table.slice.len, threshold, t as u32, &mut scratch.probes);
            }
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
                if d <= radius && self.first_table(h, query, &thresholds) == t {
                    scratch.hits.push(SegmentHit {
                        position: p,
                        distance: d,
                    });
                }
            }
        }
    }

    /// The first table in which `h` is within that table's threshold of the
    /// query: the one table that reports it.
    fn first_table(&self, h: &Bits, query: &Bits, thresholds: &[Option<u32>]) -> u32 {
        self.tables
            .iter()
            .zip(thresholds)
            .position(|(t, threshold)| {
                threshold.is_some_and(|limit| (t.slice.key(h) ^ t.slice.key(query)).count_ones() <= limit)
            })
            .expect("a hit within the radius is within its threshold in some table") as u32
    }

    /// Rough cost of a table search in units of one hash compared by a scan.
    fn probe_cost(&self, radius: u32) -> f64 {
        let bits = self.tables[0].slice.len;
        let probes: f64 = thresholds(self.tables.len(), radius)
            .iter()
            .flatten()
            .map(|&t| (0..=t.min(bits)).map(|k| binomial(bits, k)).sum::<f64>())
            .sum();
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

/// How far each table's substring may differ from the query's: None skips
/// the table. A hash within `radius` differs from the query in `radius`
/// bits at most, so among m substrings some substring i differs by at most
/// tᵢ whenever Σ(tᵢ + 1) > radius (the generalised pigeonhole principle).
/// Every table starts at ⌊radius/m⌋, then the slack above radius + 1 is
/// taken back one table at a time from the end: at radius 31 over 11
/// tables one table probes at 1 instead of 2 (8 % fewer probes), and at
/// small radii most tables are skipped (radius 0 probes one table, not 11).
fn thresholds(m: usize, radius: u32) -> Vec<Option<u32>> {
    let base = radius / m as u32;
    let mut limits: Vec<Option<u32>> = vec![Some(base); m];
    let mut slack = m as u32 * (base + 1) - (radius + 1);
    for limit in limits.iter_mut().rev() {
        if slack == 0 {
            break;
        }
        // A table at threshold t covers t + 1 of the budget; dropping it to t - 1 (or skipping it at 0) frees one.
        *limit = limit.and_then(|t| t.checked_sub(1));
        slack -= 1;
    }
    limits
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
    fn masked_sums() {
        let mut line = [0u8; 64];
        for (i, b) in line.iter_mut().enumerate() {
            *b = (i * 37 % 251) as u8;
        }
        for w in 0..PER_LINE {
            let expected: usize = line[4..4 + w].iter().map(|&b| b as usize).sum();
            assert_eq!(sum_masked(&line, &BEFORE[w]), expected);
        }
        assert_eq!(sum_masked(&[254; 64], &BEFORE[59]), 254 * 59);
    }

    #[test]
    fn thresholds_always_cover_the_radius_and_never_probe_more() {
        for m in 1..=16usize {
            for radius in 0..=256u32 {
                let limits = thresholds(m, radius);
                let covered: u32 = limits.iter().map(|t| t.map_or(0, |t| t + 1)).sum();
                assert_eq!(covered, radius + 1, "m {m} radius {radius}: {limits:?}");
                assert!(limits.iter().flatten().all(|&t| t <= radius / m as u32));
            }
        }
        assert_eq!(thresholds(11, 31).iter().filter(|t| **t == Some(1)).count(), 1);
        assert_eq!(
            thresholds(11, 0).iter().flatten().count(),
            1,
            "an exact lookup probes one table"
        );
    }

    /// Hashes at exactly the radius, their differing bits packed into the
    /// tables with the smallest thresholds (the placement that blinds the
    /// most tables), are still found.
    #[test]
    fn worst_placed_neighbours_are_found() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let n = FLAT_MAX + 4_000;
        let hashes: Vec<Bits> = (0..n).map(|_| Bits([next(), next(), next(), next()])).collect();
        let target = hashes[0];
        let segment = Segment::build(hashes, (0..n as u32).collect());
        let (m, bits) = layout_for(n);
        let slices = crate::bits::slices(m, bits);
        let mut scratch = Scratch::default();
        for radius in [0, 1, 5, 10, 11, 12, 21, 22, 30, 31, 32, 33, 44] {
            if !segment.probes_at(radius) {
                continue;
            }
            let limits = thresholds(m as usize, radius);
            // Tables by threshold, smallest first: each gets threshold + 1 flips (blinded) while flips last.
            let mut order: Vec<usize> = (0..m as usize).collect();
            order.sort_by_key(|&t| limits[t].map_or(0, |l| l + 1));
            let mut query = target;
            let mut left = radius;
            for t in order {
                let take = limits[t].map_or(0, |l| l + 1).min(left).min(slices[t].len);
                for k in 0..take {
                    let bit = slices[t].start + k;
                    query.0[(bit / 64) as usize] ^= 1 << (63 - bit % 64);
                }
                left -= take;
                assert_eq!((slices[t].key(&query) ^ slices[t].key(&target)).count_ones(), take);
            }
            assert_eq!(left, 0, "radius {radius}: every flip placed inside a table");
            assert_eq!(distance(&query, &target), radius);
            segment.search(&query, radius, &mut scratch);
            assert!(
                scratch.hits.iter().any(|h| h.position == 0 && h.distance == radius),
                "radius {radius}: the neighbour at distance {radius} was missed"
            );
        }
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
