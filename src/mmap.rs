//! The only place memory maps are made, and with the prefetch hint beside
//! them, the crate's `unsafe` code (but for one `sync_file_range` call in
//! `fs::start_writeback`).

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
    // appends to, is never mapped whole by this function, whichever thread
    // reads it (`LogFile::read` maps it with `map_growing`, below, under
    // the rules argued there); the writer maps a log only for the
    // length of one scan or survey (`log::Window`) before it appends
    // anything, and drops that map before the only truncation hoard
    // performs (cutting a torn tail), which happens at open, under the
    // exclusive lock, before any other thread can see the store. Every
    // record read from a map is still checked against its CRC, so even a
    // foreign writer breaking this rule cannot make hoard return damaged
    // bytes as data.
    unsafe { Mmap::map(file) }.map_err(|e| Error::io("memory-map", path, e))
}

/// Maps the first `len` bytes of a file that is still being appended to
/// (past its end, as it grows), for reads of the records already written.
///
/// The caller must only ever read bytes below the file's written length
/// at the time of the read (`LogFile::read` checks its `written` mark).
#[allow(unsafe_code)]
pub fn map_growing(file: &std::fs::File, path: &Path, len: usize) -> Result<Mmap> {
    // SAFETY: the map may extend past the end of the file, and the file
    // changes while it lives, so soundness rests on what is read through
    // it. `LogFile::read` borrows only ranges that end at or below the
    // file's `written` mark, which advances only after the bytes below it
    // were written (`flush_locked` stores it after the write returns).
    // Those bytes are never written again: the file is append-only; the
    // zeros written ahead (preallocation) and every later record lie at or
    // past the mark; sealing writes the footer past the last record and
    // cuts only zeros past the footer; the one truncation below a record,
    // cutting a torn tail, happens at open, before any reader exists (a
    // replay of a store already shared treats such damage as corruption
    // instead: `Bitcask::replay_all_shared`). So no byte a borrowed slice
    // covers changes while it is borrowed, and every such byte lies inside
    // the file, so no access faults (pages wholly past the end of the file,
    // which would raise SIGBUS, are never touched). Another process cannot
    // write the file either: the writer holds the store's exclusive lock.
    // Once a write or sync failed, reads leave the map for pread
    // (`LogFile::stop_mapping`): a page that failed writeback may not read
    // back, which through a map would be a fault, not an error. Every
    // record read through the map is still checked against its CRC.
    unsafe { memmap2::MmapOptions::new().len(len).map(file) }
        .map_err(|e| Error::io("memory-map", path, e))
}

/// Cache lines a prefetch of one record asks for at most: a header, a
/// short key and the start of its value.
pub const PREFETCH_LINES: usize = 4;

/// Asks the CPU to start loading the cache lines under `bytes` (at most
/// `PREFETCH_LINES` of them) so that a read soon after finds them; a
/// hint with no effect on what any read returns. Lookups of a batch of
/// keys use it to overlap their cache and TLB misses.
#[inline]
pub fn prefetch(bytes: &[u8]) {
    for line in bytes.chunks(64).take(PREFETCH_LINES) {
        prefetch_line(line.as_ptr());
    }
}

/// As `prefetch`, for the cache line holding `item` (a table slot).
#[inline]
pub fn prefetch_item<T>(item: &T) {
    prefetch_line((item as *const T).cast());
}

/// Asks for the cache line holding `at`.
#[inline]
#[allow(unsafe_code)]
fn prefetch_line(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has
        // (it is in the target's baseline). A prefetch reads nothing into
        // the program and never faults, whatever the address; the callers'
        // addresses are inside live slices or references anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}
