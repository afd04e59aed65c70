//! Private copies of evidence for tools that open files themselves.
//!
//! ffmpeg opens the path it is given without `O_NOATIME`, so decoding a
//! video in place would move its access time. It gets a copy instead,
//! made from our own no-atime handle (in the kernel where the file system
//! allows: `copy_file_range`, a reflink on btrfs/XFS) and removed when
//! dropped.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::open_evidence;

static COPIES: AtomicU64 = AtomicU64::new(0);

/// A temporary copy, deleted when dropped.
#[derive(Debug)]
pub struct PrivateCopy {
    path: PathBuf,
}

impl PrivateCopy {
    fn create(dir: &Path, extension: Option<&str>) -> io::Result<(PathBuf, std::fs::File)> {
        std::fs::create_dir_all(dir)?;
        let n = COPIES.fetch_add(1, Ordering::Relaxed);
        let name = format!("tantalum-{}-{n}.{}", std::process::id(), extension.unwrap_or("bin"));
        let path = dir.join(name);
        let file = std::fs::File::options().write(true).create_new(true).open(&path)?;
        Ok((path, file))
    }

    /// Copies a file of the evidence into `dir`, reading it without touching its access time.
    pub fn of_file(source: &Path, dir: &Path) -> io::Result<PrivateCopy> {
        let extension = source.extension().and_then(|e| e.to_str());
        let mut input = open_evidence(source)?;
        let (path, mut out) = Self::create(dir, extension)?;
        let copy = PrivateCopy { path };
        io::copy(&mut input, &mut out)?;
        Ok(copy)
    }

    /// Writes bytes in memory (an archive member) into `dir`.
    pub fn of_bytes(bytes: &[u8], extension: Option<&str>, dir: &Path) -> io::Result<PrivateCopy> {
        let (path, mut out) = Self::create(dir, extension)?;
        let copy = PrivateCopy { path };
        out.write_all(bytes)?;
        Ok(copy)
    }

    /// Where the copy is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_equal_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("clip.mp4");
        std::fs::write(&source, b"not really a video").unwrap();
        let copy = PrivateCopy::of_file(&source, &dir.path().join("scratch")).unwrap();
        assert_eq!(std::fs::read(copy.path()).unwrap(), b"not really a video");
        assert_eq!(copy.path().extension().unwrap(), "mp4");
        let path = copy.path().to_path_buf();
        drop(copy);
        assert!(!path.exists());
        let member = PrivateCopy::of_bytes(b"abc", None, dir.path()).unwrap();
        assert_eq!(std::fs::read(member.path()).unwrap(), b"abc");
    }
}
