//! The only place memory maps are made, and so the only `unsafe` code in
//! the crate.

use std::path::Path;

use memmap2::Mmap;

use crate::error::{Error, Result};

/// Maps a whole file read-only.
///
/// The map is only sound while no one truncates or rewrites the mapped
/// range; see the SAFETY argument below for why hoard's own processes never
/// do.
#[allow(unsafe_code)]
pub fn map_read_only(file: &std::fs::File, path: &Path) -> Result<Mmap> {
    // SAFETY: memmap2 requires that the mapped file is not modified or
    // truncated while the map lives, or reads could see changing bytes or
    // fault. hoard only maps files under the store's lock, and only files
    // no one will write again while the map lives: sealed data files (a
    // footer ends them; merge writes new files and removes old ones, and
    // removal keeps mapped pages alive), the hint and snapshots (never
    // written in place: a new one is written and renamed), and the newest
    // file of a process holding the shared lock, which excludes every
    // writer. In a writer process the newest file, which the writer still
    // appends to, is read by pread and never mapped, whichever thread
    // reads it (`LogFile::read`); the writer maps a log only for the
    // length of one scan or survey (`log::Window`) before it appends
    // anything, and drops that map before the only truncation hoard
    // performs (cutting a torn tail), which happens at open, under the
    // exclusive lock, before any other thread can see the store. Every
    // record read from a map is still checked against its CRC, so even a
    // foreign writer breaking this rule cannot make hoard return damaged
    // bytes as data.
    unsafe { Mmap::map(file) }.map_err(|e| Error::io("memory-map", path, e))
}
