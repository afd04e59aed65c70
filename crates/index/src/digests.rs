//! Exact-digest sets for MD5 (16 bytes), SHA-1 (20) and SHA-256 (32).

use std::collections::HashMap;

/// Digests of one length mapped to the ids of the entries that carry them.
/// Several entries may share a digest (the same file in several banks).
#[derive(Debug, Clone, Default)]
pub struct DigestSet<const N: usize> {
    map: HashMap<[u8; N], Vec<u32>>,
}

impl<const N: usize> DigestSet<N> {
    /// An empty set.
    pub fn new() -> Self {
        DigestSet { map: HashMap::new() }
    }

    /// Adds an entry.
    pub fn add(&mut self, digest: [u8; N], id: u32) {
        let ids = self.map.entry(digest).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    /// Removes an entry.
    pub fn remove(&mut self, digest: &[u8; N], id: u32) {
        if let Some(ids) = self.map.get_mut(digest) {
            ids.retain(|&i| i != id);
            if ids.is_empty() {
                self.map.remove(digest);
            }
        }
    }

    /// The ids carrying this digest.
    pub fn get(&self, digest: &[u8; N]) -> &[u32] {
        self.map.get(digest).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Number of distinct digests.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
