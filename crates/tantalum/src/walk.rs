//! Walks evidence paths in full: no ignore rules, hidden files included,
//! directories read in parallel. Symbolic links inside directories are not
//! followed (a link loop on a seized device must not hang the walk); special
//! files are listed but never opened (opening a FIFO blocks).

use std::fs;
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
        .flat_map_iter(|root| match fs::metadata(root) {
            Ok(m) if m.is_dir() => walk_dir(root),
            Ok(m) => vec![classify(root.clone(), &m.file_type())],
            Err(e) => vec![Entry::Error(root.clone(), e.to_string())],
        })
        .collect();
    out.sort_by(|a, b| a.path().cmp(b.path()));
    out
}

fn walk_dir(dir: &Path) -> Vec<Entry> {
    let read = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) => return vec![Entry::Error(dir.to_path_buf(), e.to_string())],
    };
    let mut here = Vec::new();
    let mut subdirs = Vec::new();
    for item in read {
        match item {
            Ok(item) => {
                let path = item.path();
                match item.file_type() {
                    Ok(t) if t.is_dir() => subdirs.push(path),
                    Ok(t) => here.push(classify(path, &t)),
                    Err(e) => here.push(Entry::Error(path, e.to_string())),
                }
            }
            Err(e) => here.push(Entry::Error(dir.to_path_buf(), e.to_string())),
        }
    }
    let below: Vec<Entry> = subdirs.par_iter().flat_map_iter(|d| walk_dir(d)).collect();
    here.extend(below);
    here
}

fn classify(path: PathBuf, file_type: &fs::FileType) -> Entry {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_file() {
        return Entry::File(path);
    }
    let what = if file_type.is_symlink() {
        "symbolic link (not followed)"
    } else if file_type.is_fifo() {
        "fifo"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_char_device() {
        "character device"
    } else {
        "not a regular file"
    };
    Entry::Skipped(path, format!("skipped: {what}"))
}
