//! The 256-bit PDQ hash value, its text form and Hamming distance.

use std::fmt;
use std::str::FromStr;

/// A 256-bit PDQ hash.
///
/// The bytes are kept in the order of the reference's hex form: Meta's C++
/// `Hash256` stores sixteen 16-bit words and prints the most significant word
/// (`w[15]`) first, so byte 0 here is the high byte of `w[15]`. Keeping that
/// order makes hex parsing and printing a plain byte conversion. `Ord`
/// sorts like the hex text (the reference's `operator<` compares the last
/// printed word first; nothing here depends on that order).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash256([u8; 32]);

/// Why a string is not a PDQ hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseHashError {
    /// The string is not 64 characters long.
    #[error("a PDQ hash has 64 hex characters, got {0}")]
    Length(usize),
    /// A character is not a hex digit (position in bytes).
    #[error("invalid hex character {0:?} at byte {1}")]
    Character(char, usize),
}

impl Hash256 {
    /// The all-zero hash: what the reference returns for images too small to hash.
    pub const ZERO: Hash256 = Hash256([0; 32]);

    /// Builds a hash from its 32 bytes in hex order (most significant first).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Hash256(bytes)
    }

    /// The 32 bytes in hex order (most significant first).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Sets bit `k` (0..256) with the reference's numbering: bit `k` is bit
    /// `k % 16` of 16-bit word `k / 16`, and word 0 is printed last.
    pub fn set_bit(&mut self, k: usize) {
        let (byte, bit) = Self::locate(k);
        self.0[byte] |= 1 << bit;
    }

    /// Reads bit `k` (0..256), numbered as in [`Hash256::set_bit`].
    pub fn bit(&self, k: usize) -> bool {
        let (byte, bit) = Self::locate(k);
        self.0[byte] >> bit & 1 == 1
    }

    fn locate(k: usize) -> (usize, u32) {
        let k = k & 255;
        let word = k >> 4;
        let bit = (k & 15) as u32;
        // Word w is bytes 2*(15-w) (high) and 2*(15-w)+1 (low).
        let high = 2 * (15 - word);
        if bit < 8 {
            (high + 1, bit)
        } else {
            (high, bit - 8)
        }
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.words().iter().map(|w| w.count_ones()).sum()
    }

    /// Hamming distance: the number of bits in which two hashes differ.
    #[inline]
    pub fn distance(&self, other: &Hash256) -> u32 {
        let a = self.words();
        let b = other.words();
        (a[0] ^ b[0]).count_ones()
            + (a[1] ^ b[1]).count_ones()
            + (a[2] ^ b[2]).count_ones()
            + (a[3] ^ b[3]).count_ones()
    }

    /// The hash as four 64-bit words in native byte order: only meaningful
    /// for bit counting, which does not care about order.
    #[inline]
    fn words(&self) -> [u64; 4] {
        let mut out = [0u64; 4];
        for (i, chunk) in self.0.chunks_exact(8).enumerate() {
            out[i] = u64::from_ne_bytes(chunk.try_into().expect("8-byte chunk"));
        }
        out
    }

    /// The 64-character lowercase hex form the reference prints.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(DIGITS[(b >> 4) as usize] as char);
            s.push(DIGITS[(b & 15) as usize] as char);
        }
        s
    }

    /// Parses 64 hex characters (either case).
    pub fn from_hex(s: &str) -> Result<Self, ParseHashError> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            let chars = s.chars().count();
            if chars != 64 {
                return Err(ParseHashError::Length(chars));
            }
            // 64 characters but not 64 bytes: some character is not ASCII hex.
            let (pos, c) = s
                .char_indices()
                .find(|(_, c)| !c.is_ascii_hexdigit())
                .expect("a non-ASCII character");
            return Err(ParseHashError::Character(c, pos));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0]).ok_or_else(|| bad_char(s, 2 * i))?;
            let lo = hex_value(pair[1]).ok_or_else(|| bad_char(s, 2 * i + 1))?;
            out[i] = hi << 4 | lo;
        }
        Ok(Hash256(out))
    }
}

fn bad_char(s: &str, byte_pos: usize) -> ParseHashError {
    let c = s[byte_pos..].chars().next().unwrap_or('?');
    ParseHashError::Character(c, byte_pos)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({})", self.to_hex())
    }
}

impl FromStr for Hash256 {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hash256::from_hex(s)
    }
}
