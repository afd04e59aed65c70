//! MD5, SHA-1 and SHA-256 of a byte stream, all three in one pass.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The three digests hash lists carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digests {
    /// MD5.
    pub md5: [u8; 16],
    /// SHA-1.
    pub sha1: [u8; 20],
    /// SHA-256.
    pub sha256: [u8; 32],
}

/// Feeds the same bytes to all three digests (the RustCrypto crates pick
/// SHA-NI and other CPU extensions at run time).
#[derive(Default, Clone)]
pub struct Digester {
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
}

impl Digester {
    /// A fresh digester.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.sha1.update(bytes);
        self.sha256.update(bytes);
    }

    /// The digests of everything added.
    pub fn finish(self) -> Digests {
        Digests {
            md5: self.md5.finalize().into(),
            sha1: self.sha1.finalize().into(),
            sha256: self.sha256.finalize().into(),
        }
    }
}

/// Lowercase hex of any digest.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let mut d = Digester::new();
        d.update(b"ab");
        d.update(b"c");
        let out = d.finish();
        assert_eq!(hex(&out.md5), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(hex(&out.sha1), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            hex(&out.sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
