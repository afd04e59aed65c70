//! Walks evidence paths in full: no ignore rules, hidden files included,
//! directories read in parallel. Symbolic links inside directories are not
//! followed (a link loop on a seized device must not hang the walk); special
//! files are listed but never opened (opening a FIFO blocks).
//!
//! Directories are read through descriptors opened with `O_NOATIME` where
//! the kernel allows it: listing a folder otherwise updates its access time,
//! and evidence timestamps must not move.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// One thing found by the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file to hash.
    File(PathBuf),
    /// Something not hashed, with the reason.
    Skipped(PathBuf, String),
    /// A path that could not be read.
    Error(PathBuf, String),
}

impl Entry {
    /// The path found.
    pub fn path(&self) -> &Path {
        match self {
            Entry::File(p) | Entry::Skipped(p, _) | Entry::Error(p, _) => p,
        }
    }
}

/// Every entry under the given paths, sorted so output is reproducible.
/// Paths given on the command line are followed even when they are links.
pub fn walk(roots: &[PathBuf]) -> Vec<Entry> {
    let mut out: Vec<Entry> = roots
        .par_iter()
        .flat_map_iter(|root| match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => walk_dir(root),
            Ok(m) => vec![classify(root.clone(), EntryType::of(&m.file_type()))],
            Err(e) => vec![Entry::Error(root.clone(), e.to_string())],
        })
        .collect();
    out.sort_by(|a, b| a.path().cmp(b.path()));
    out
}

fn walk_dir(dir: &Path) -> Vec<Entry> {
    let listing = match read_dir_noatime(dir) {
        Ok(l) => l,
        Err(e) => return vec![Entry::Error(dir.to_path_buf(), e.to_string())],
    };
    let mut here = Vec::new();
    let mut subdirs = Vec::new();
    for (path, kind) in listing {
        match kind {
            EntryType::Dir => subdirs.push(path),
            other => here.push(classify(path, other)),
        }
    }
    let below: Vec<Entry> = subdirs.par_iter().flat_map_iter(|d| walk_dir(d)).collect();
    here.extend(below);
    here
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryType {
    Dir,
    File,
    Symlink,
    Fifo,
    Socket,
    Block,
    Char,
    Unknown,
}

impl EntryType {
    fn of(t: &std::fs::FileType) -> EntryType {
        use std::os::unix::fs::FileTypeExt;
        if t.is_dir() {
            EntryType::Dir
        } else if t.is_file() {
            EntryType::File
        } else if t.is_symlink() {
            EntryType::Symlink
        } else if t.is_fifo() {
            EntryType::Fifo
        } else if t.is_socket() {
            EntryType::Socket
        } else if t.is_block_device() {
            EntryType::Block
        } else if t.is_char_device() {
            EntryType::Char
        } else {
            EntryType::Unknown
        }
    }
}

fn classify(path: PathBuf, kind: EntryType) -> Entry {
    let what = match kind {
        EntryType::File => return Entry::File(path),
        EntryType::Dir => "directory",
        EntryType::Symlink => "symbolic link (not followed)",
        EntryType::Fifo => "fifo",
        EntryType::Socket => "socket",
        EntryType::Block => "block device",
        EntryType::Char => "character device",
        EntryType::Unknown => "not a regular file",
    };
    Entry::Skipped(path, format!("skipped: {what}"))
}

/// Lists a directory without updating its access time where permitted.
fn read_dir_noatime(dir: &Path) -> io::Result<Vec<(PathBuf, EntryType)>> {
    let c_path = CString::new(dir.as_os_str().as_bytes()).map_err(|_| io::Error::other("path contains a NUL byte"))?;
    let base = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: c_path is a valid NUL-terminated string; open has no other preconditions.
    let mut fd = unsafe { libc::open(c_path.as_ptr(), base | libc::O_NOATIME) };
    if fd < 0 {
        // O_NOATIME is refused on directories we do not own (EPERM): read them plainly.
        // SAFETY: as above.
        fd = unsafe { libc::open(c_path.as_ptr(), base) };
    }
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is an open directory descriptor; on success the DIR owns it.
    let handle = unsafe { libc::fdopendir(fd) };
    if handle.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so the descriptor is still ours to close.
        unsafe { libc::close(fd) };
        return Err(e);
    }
    let mut out = Vec::new();
    let result = loop {
        // SAFETY: errno is thread-local; clearing it tells end-of-directory from an error.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: handle is a valid DIR* until closedir below.
        let ent = unsafe { libc::readdir(handle) };
        if ent.is_null() {
            let e = io::Error::last_os_error();
            break if e.raw_os_error() == Some(0) { Ok(()) } else { Err(e) };
        }
        // SAFETY: readdir returned a valid dirent whose d_name is NUL-terminated.
        let (name, d_type) = unsafe { (CStr::from_ptr((*ent).d_name.as_ptr()), (*ent).d_type) };
        let name = name.to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let path = dir.join(OsStr::from_bytes(name));
        let kind = match d_type {
            libc::DT_DIR => EntryType::Dir,
            libc::DT_REG => EntryType::File,
            libc::DT_LNK => EntryType::Symlink,
            libc::DT_FIFO => EntryType::Fifo,
            libc::DT_SOCK => EntryType::Socket,
            libc::DT_BLK => EntryType::Block,
            libc::DT_CHR => EntryType::Char,
            // Some file systems do not fill d_type: ask lstat, which touches no times.
            _ => std::fs::symlink_metadata(&path)
                .map(|m| EntryType::of(&m.file_type()))
                .unwrap_or(EntryType::Unknown),
        };
        out.push((path, kind));
    };
    // SAFETY: handle came from fdopendir and is closed once.
    unsafe { libc::closedir(handle) };
    result.map(|()| out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_files_and_skips_links_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.txt"), b"a").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"h").unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("sub/loop")).unwrap();
        let fifo = CString::new(dir.path().join("pipe").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let entries = walk(&[dir.path().to_path_buf()]);
        let names: Vec<(String, bool)> = entries
            .iter()
            .map(|e| {
                let rel = e.path().strip_prefix(dir.path()).unwrap().display().to_string();
                (rel, matches!(e, Entry::File(_)))
            })
            .collect();
        assert_eq!(
            names,
            vec![
                (".hidden".to_string(), true),
                ("pipe".to_string(), false),
                ("sub/a.txt".to_string(), true),
                ("sub/loop".to_string(), false),
            ]
        );
    }
}
