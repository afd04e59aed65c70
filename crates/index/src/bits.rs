//! 256-bit values as four 64-bit words, and the substrings multi-index
//! hashing slices them into.

/// A 256-bit hash as four big-endian 64-bit words (word 0 holds the first 8
/// bytes), aligned so that one never straddles two cache lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C, align(32))]
pub struct Bits(pub [u64; 4]);

/// Converts 32 bytes (as PDQ hex prints them) into words.
#[inline]
pub fn from_bytes(bytes: &[u8; 32]) -> Bits {
    let mut w = [0u64; 4];
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        w[i] = u64::from_be_bytes(chunk.try_into().expect("8 bytes"));
    }
    Bits(w)
}

/// Hamming distance.
#[inline(always)]
pub fn distance(a: &Bits, b: &Bits) -> u32 {
    let (a, b) = (&a.0, &b.0);
    (a[0] ^ b[0]).count_ones() + (a[1] ^ b[1]).count_ones() + (a[2] ^ b[2]).count_ones() + (a[3] ^ b[3]).count_ones()
}

/// A run of bits `[start, start + len)`, counting from the most significant
/// bit of word 0; `len` is at most 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// First bit.
    pub start: u32,
    /// Number of bits.
    pub len: u32,
}

impl Slice {
    /// The slice's bits of `h` as an integer below `2^len`.
    #[inline(always)]
    pub fn key(self, h: &Bits) -> u32 {
        let word = (self.start / 64) as usize;
        let offset = self.start % 64;
        let hi = h.0[word] as u128;
        let lo = if word < 3 { h.0[word + 1] as u128 } else { 0 };
        let joined = (hi << 64) | lo;
        ((joined << offset) >> (128 - self.len)) as u32
    }
}

/// Splits 256 bits into `m` slices of (nearly) equal width `bits`, leaving
/// any remainder unindexed: search stays exact because a pair within
/// distance r over all bits is within r over any subset.
pub fn slices(m: u32, bits: u32) -> Vec<Slice> {
    assert!(m * bits <= 256 && bits <= 32 && bits > 0);
    (0..m)
        .map(|t| Slice {
            start: t * bits,
            len: bits,
        })
        .collect()
}
