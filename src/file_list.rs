//! `DIR/FILES`, the file list: which data files, AOFs and snapshots make up
//! the store (codec in `format::file_list`). Engines rewrite it atomically
//! (temporary file, fsync, rename, directory fsync) as the commit point of
//! every change to that set, and read it at open: a listed file that is
//! missing is corruption, an unlisted one a leftover that is never read.

use std::path::Path;

use crate::error::{CorruptKind, Error, Result};
use crate::format::file_list::{FileList, FileListError};
use crate::fs;
use crate::layout::{self, FILE_LIST_FILE};

/// The largest file list read (a bound on what a damaged one can make us allocate).
const FILE_LIST_LEN_MAX: u64 = 64 << 20;

/// Reads the store's file list; `None` when the store has none yet.
pub fn read(dir: &Path) -> Result<Option<FileList>> {
    let path = dir.join(FILE_LIST_FILE);
    if !fs::exists(&path) {
        return Ok(None);
    }
    let bytes = fs::read_small_file(&path, FILE_LIST_LEN_MAX)?;
    match FileList::decode(&bytes) {
        Ok(list) => Ok(Some(list)),
        Err(FileListError::Damaged(_)) => Err(Error::Corrupt {
            path,
            offset: 0,
            kind: CorruptKind::Checksum,
        }),
        Err(FileListError::NewerVersion(v)) => Err(Error::Unsupported(format!(
            "{} was written by a newer hoard (format {v}); this build reads format {}",
            path.display(),
            crate::format::file_header::FORMAT_VERSION
        ))),
        // Format 1 had no file list: one that claims it is damaged.
        Err(FileListError::OlderVersion(_)) => Err(Error::Corrupt {
            path,
            offset: 0,
            kind: CorruptKind::Header,
        }),
    }
}

/// Writes the store's file list atomically, with the next sequence number.
pub fn write(dir: &Path, list: &mut FileList) -> Result<()> {
    list.sequence += 1;
    fs::write_file_atomic(dir, FILE_LIST_FILE, &list.encode(layout::new_uid()))
}
