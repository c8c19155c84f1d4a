//! The Bitcask engine: append-only data files, the newest of which is
//! active; a hint (an on-disk hash table of the keydir as of a watermark)
//! and an in-memory overlay of the records written after it.
//!
//! Opening maps the hint and checks it against the data files (O(files)),
//! then replays only the records after its watermark into the overlay, so
//! its cost does not grow with the number of keys. Lookups ask the overlay,
//! then the hint, and check every record they reach (CRC and key). Without
//! a usable hint, or when a lookup finds it damaged, the engine replays
//! every data file into a full keydir instead, and the next writer to close
//! writes a fresh hint.
//!
//! Many threads share one `Bitcask` (see ARCHITECTURE.md, "Concurrency"):
//! lookups take no store-wide lock (the file set and the index are
//! swapped atomically, the overlay is sharded); writes are serialised by
//! the append lock (`writer`) and acknowledged through the group commit of
//! `crate::log_writer`. A write updates the keydir once its record is in
//! the file, before the sync that makes it durable: other threads may see
//! it before its writer is acknowledged, as in Redis; any write that
//! depends on it is later in the log, so a crash keeps both or the earlier.

mod data_file;
mod hint;
mod index;
pub(crate) use index::PREFETCH_BATCH;
mod inspect;
mod keydir;
mod merge;
mod online;
mod open;
mod verify;
mod writer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
pub use data_file::FileId;
use data_file::{DataFileId, FileSet};
pub use hint::HINT_FILE;
use index::{Index, Miss};
pub use inspect::{FileStats, InspectReport, KeyLocation, MERGE_ADVICE_DEAD_SHARE};
use keydir::KeydirEntry;
pub use merge::MergeReport;
pub use online::{FileUse, MergePolicy};
pub(crate) use verify::survey_problems;
pub use verify::{FileRepair, Problem, RepairReport, VerifyReport};
use writer::Writer;

use crate::clock::Clock;
use crate::engine::{Change, KeyMeta, Value};
use crate::error::Result;
use crate::format::hint::fingerprint;
use crate::log_writer::LogWriter;
use crate::manifest::SyncPolicy;
use crate::notice::Notice;

/// A writer rewrites the hint when it closes with more than this many bytes
/// of records after the watermark, so that no open replays more than this.
pub const HINT_TAIL_BYTES_MAX: u64 = 1 << 20;

/// How a bitcask store is opened.
#[derive(Debug, Clone, Copy)]
pub struct BitcaskOptions {
    /// When appended records are synced.
    pub sync: SyncPolicy,
    /// Size at which the active file is sealed and a new one begun.
    pub max_file_size: u64,
    /// Whether this handle may write (it then holds the exclusive lock).
    pub writable: bool,
    /// Whether to use the hint; false replays every data file.
    pub use_hint: bool,
    /// Whether to replay at all. Without it the engine knows no keys and
    /// serves only `verify` and `repair`, which read the files themselves:
    /// a store too damaged to open can still be verified and repaired.
    pub replay: bool,
    /// Under `sync=always`, zeros are written ahead of the active file's
    /// records this many bytes at a time (0: never).
    pub preallocate_step: u64,
}

/// State of the hint, for `inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HintState {
    /// Whether the open used the hint (false: every file was replayed).
    pub used: bool,
    /// The hint's watermark, when used.
    pub watermark: Option<(FileId, u64)>,
    /// Keys in the hint, when used.
    pub entries: u64,
    /// Size of the hint file, when used.
    pub file_len: u64,
    /// Keys in the in-memory overlay (or the full keydir when not used).
    pub overlay_keys: u64,
    /// Bytes of records after the watermark.
    pub tail_bytes: u64,
}

/// What rewriting the hint produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintWritten {
    /// Keys indexed.
    pub entries: u64,
    /// Size of the hint file.
    pub file_len: u64,
}

/// Lookups retried this often when a merge moves entries under them
/// before they take the append lock, which merges cannot pass.
const LOOKUP_ATTEMPTS: usize = 4;

/// An open bitcask store.
#[derive(Debug)]
pub struct Bitcask {
    dir: PathBuf,
    options: BitcaskOptions,
    clock: Arc<dyn Clock>,
    /// The file system the store was opened on (`None`: the real one),
    /// used by every thread that works on it.
    vfs: Option<Arc<dyn crate::fs::Vfs>>,
    /// Every data file, oldest first; the last is active when writable and not sealed.
    files: ArcSwap<FileSet>,
    index: ArcSwap<Index>,
    /// The append lock and the writer's state.
    writer: parking_lot::Mutex<Writer>,
    log: LogWriter,
    /// One merge, hint rebuild or repair at a time (taken before `writer`).
    maintenance: Mutex<()>,
    /// The shard active expiry visits next.
    expiry_cursor: std::sync::atomic::AtomicUsize,
    /// Bytes of tombstones an online merge had to keep, by output file:
    /// live for merge selection (forgotten at restart, which costs at most
    /// one more merge of those files).
    shadow_bytes: Mutex<std::collections::HashMap<FileId, u64>>,
    notices: Mutex<Vec<Notice>>,
}

impl Bitcask {
    fn lock_writer(&self) -> parking_lot::MutexGuard<'_, Writer> {
        self.writer.lock()
    }

    fn notice(&self, notice: Notice) {
        self.notices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(notice);
    }

    /// The data files, oldest first, with their valid lengths.
    pub fn files(&self) -> Vec<(FileId, PathBuf, u64)> {
        self.files
            .load()
            .values()
            .map(|f| (f.id(), f.path().to_path_buf(), f.len()))
            .collect()
    }

    /// How the hint was used by this open.
    pub fn hint_state(&self) -> HintState {
        let index = self.index.load();
        let tail_bytes = self.lock_writer().tail_bytes;
        match &index.hint {
            None => HintState {
                used: false,
                watermark: None,
                entries: 0,
                file_len: 0,
                overlay_keys: index.keys.len() as u64,
                tail_bytes,
            },
            Some(hint) => HintState {
                used: true,
                watermark: Some(hint.watermark()),
                entries: hint.entry_count(),
                file_len: hint.file_len(),
                overlay_keys: index.keys.len() as u64,
                tail_bytes,
            },
        }
    }

    /// Runs `f` over a consistent view of the index and the file set,
    /// retrying when a merge moved an entry under it and falling back to a
    /// full replay when the hint turns out damaged.
    fn with_view<T>(&self, mut f: impl FnMut(&Index, &FileSet) -> Result<T, Miss>) -> Result<T> {
        for _ in 0..LOOKUP_ATTEMPTS {
            let index = self.index.load();
            let files = self.files.load();
            match f(&index, &files) {
                Ok(found) => return Ok(found),
                Err(Miss::Moved) => continue,
                Err(Miss::Failed(e)) => return Err(e),
                Err(Miss::Damaged(why)) => {
                    let mut w = self.lock_writer();
                    self.fall_back(&mut w, &index, why)?;
                }
            }
        }
        // Merges install under the append lock: holding it, nothing moves.
        let mut w = self.lock_writer();
        self.with_view_locked(&mut w, f)
    }

    /// As `with_view`, holding the append lock.
    fn with_view_locked<T>(
        &self,
        w: &mut Writer,
        mut f: impl FnMut(&Index, &FileSet) -> Result<T, Miss>,
    ) -> Result<T> {
        loop {
            let index = self.index.load();
            let files = self.files.load();
            match f(&index, &files) {
                Ok(found) => return Ok(found),
                Err(Miss::Moved) => unreachable!("nothing moves under the append lock"),
                Err(Miss::Failed(e)) => return Err(e),
                Err(Miss::Damaged(why)) => self.fall_back(w, &index, why)?,
            }
        }
    }

    /// Where `key`'s newest value record is, live or expired.
    fn locate(&self, key: &[u8], verify: bool) -> Result<Option<KeydirEntry>> {
        self.with_view(|index, files| index.locate(files, key, verify))
    }

    /// The entry and (checked) value of `key`, live or expired.
    fn entry_and_value(&self, w: Option<&mut Writer>, key: &[u8]) -> Result<Found> {
        let lookup =
            |index: &Index, files: &FileSet| Bitcask::lookup(index, files, key, fingerprint(key));
        match w {
            Some(w) => self.with_view_locked(w, lookup)?,
            None => self.with_view(lookup)?,
        }
    }

    /// The entry and (checked) value of `key`, of fingerprint `fp`, in one
    /// view of the index: the inner error is the store's, the outer one
    /// says the view must be looked at again.
    fn lookup(index: &Index, files: &FileSet, key: &[u8], fp: u32) -> Result<Result<Found>, Miss> {
        // The entry's expiry may come from a header not yet checked: the
        // record is read (and so checked) before the entry is trusted.
        match index.locate_value(files, key, fp) {
            Ok(found) => Ok(Ok(found)),
            Err(Miss::Failed(e)) => Ok(Err(e)),
            Err(miss) => Err(miss),
        }
    }

    /// The value of what `lookup` found, if it is live at `now_ms()`,
    /// which is asked only of a value that has an expiry.
    fn live_value(found: Found, now_ms: impl FnOnce() -> u64) -> Option<Value> {
        found
            .filter(|(entry, _)| entry.expiry_ms == 0 || entry.is_live(now_ms()))
            .map(|(entry, bytes)| Value {
                bytes,
                expiry_ms: expiry_option(entry.expiry_ms),
            })
    }

    /// The live value of `key` at time `now_ms`, checked against its CRC.
    pub fn get(&self, key: &[u8], now_ms: u64) -> Result<Option<Value>> {
        self.get_with(key, || now_ms)
    }

    /// As `get`, reading the time (`now_ms()`) only for a key that has an
    /// expiry: most have none, and a clock read is a few percent of a get.
    pub fn get_with(&self, key: &[u8], now_ms: impl FnOnce() -> u64) -> Result<Option<Value>> {
        Ok(Bitcask::live_value(
            self.entry_and_value(None, key)?,
            now_ms,
        ))
    }

    /// The live values of `keys` at time `now_ms`, in order: as `get` for
    /// each, with the memory reads of up to `PREFETCH_BATCH` lookups
    /// started together (Redis MGET, pipelined GETs).
    pub fn get_many<K: AsRef<[u8]>>(&self, keys: &[K], now_ms: u64) -> Result<Vec<Option<Value>>> {
        let mut values = Vec::with_capacity(keys.len());
        // A pipeline: the hint slots of the next batch are asked for while
        // the records of this one arrive and are read. The prefetches use
        // one view of the index; each batch's lookups take their own.
        let (ahead, ahead_files) = (self.index.load_full(), self.files.load_full());
        let mut batches = keys.chunks(index::PREFETCH_BATCH).peekable();
        let mut next = batches.peek().map(|b| ahead.prefetch_slots(b));
        while let Some(batch) = batches.next() {
            let fingerprints = next.take().expect("asked for one batch ahead");
            ahead.prefetch_records(&ahead_files, batch, &fingerprints);
            next = batches.peek().map(|b| ahead.prefetch_slots(b));
            // One view for the batch: a merge moving an entry under it, or
            // a damaged hint, has the whole batch looked up again.
            let found = self.with_view(|index, files| {
                let mut found = Vec::with_capacity(batch.len());
                for (key, fp) in batch.iter().zip(fingerprints) {
                    match Bitcask::lookup(index, files, key.as_ref(), fp)? {
                        Ok(entry_and_value) => found.push(entry_and_value),
                        Err(e) => return Ok(Err(e)),
                    }
                }
                Ok(Ok(found))
            })??;
            values.extend(found.into_iter().map(|f| Bitcask::live_value(f, || now_ms)));
        }
        Ok(values)
    }

    /// Starts loading what lookups of the first `PREFETCH_BATCH` of `keys`
    /// will read into the CPU's cache (see `Index::prefetch`); changes
    /// nothing and returns nothing.
    pub fn prefetch<K: AsRef<[u8]>>(&self, keys: &[K]) {
        let keys = &keys[..keys.len().min(index::PREFETCH_BATCH)];
        self.index.load().prefetch(&self.files.load(), keys);
    }

    /// Metadata of `key` if it is live at `now_ms`.
    pub fn meta(&self, key: &[u8], now_ms: u64) -> Result<Option<KeyMeta>> {
        Ok(self
            .locate(key, true)?
            .filter(|e| e.is_live(now_ms))
            .map(|e| KeyMeta {
                value_len: e.value_len,
                expiry_ms: expiry_option(e.expiry_ms),
            }))
    }

    /// Live keys starting with `prefix` at `now_ms`, in bytewise order.
    pub fn keys(&self, prefix: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>> {
        let entries = self.with_view(|index, files| index.all_entries(files))?;
        let mut keys: Vec<Vec<u8>> = entries
            .into_iter()
            .filter(|(k, e)| k.starts_with(prefix) && e.is_live(now_ms))
            .map(|(k, _)| k)
            .collect();
        keys.sort_unstable();
        // Each key is listed once; should a damaged hint hold one twice,
        // it is still listed once.
        keys.dedup();
        Ok(keys)
    }

    /// Sets `key` to `value`, expiring at `expiry_ms` if given; durable
    /// per the sync policy on return.
    pub fn put(&self, key: &[u8], value: &[u8], expiry_ms: Option<u64>) -> Result<()> {
        self.log.write(|| {
            let mut w = self.lock_writable()?;
            // An upper bound, kept per write: counting the index's keys
            // (every shard) is only worth it near the limit.
            if w.keys_bound >= crate::limits::KEY_COUNT_MAX {
                let keys_max = self.index.load().keys_max();
                w.keys_bound = keys_max;
                if keys_max >= crate::limits::KEY_COUNT_MAX
                    && self
                        .with_view_locked(&mut w, |i, f| i.locate(f, key, false))?
                        .is_none()
                {
                    crate::limits::check_key_count(keys_max, key)?;
                }
            }
            w.keys_bound += 1;
            Ok((
                Some(self.write_locked(&mut w, key, Some((value, expiry_ms)))?),
                (),
            ))
        })
    }

    /// Reads `key` (with its value when `with_value`, else with empty
    /// bytes) and applies the change `decide` makes of it, atomically
    /// with respect to every other write; returns what `decide` returned.
    pub fn update<R>(
        &self,
        key: &[u8],
        now_ms: u64,
        with_value: bool,
        decide: impl FnOnce(Option<Value>) -> Result<(Change, R)>,
    ) -> Result<R> {
        self.log.write(|| {
            let mut w = self.lock_writable()?;
            let current = if with_value {
                self.entry_and_value(Some(&mut w), key)?
            } else {
                self.with_view_locked(&mut w, |i, f| i.locate(f, key, true))?
                    .map(|e| (e, Vec::new()))
            };
            let current = current
                .filter(|(e, _)| e.is_live(now_ms))
                .map(|(e, bytes)| Value {
                    bytes,
                    expiry_ms: expiry_option(e.expiry_ms),
                });
            let (change, result) = decide(current)?;
            let ticket = match change {
                Change::Keep => None,
                Change::Put(value, expiry_ms) => {
                    crate::limits::check_value(key, value.len())?;
                    Some(self.write_locked(&mut w, key, Some((&value, expiry_ms)))?)
                }
                Change::Delete => Some(self.write_locked(&mut w, key, None)?),
            };
            Ok((ticket, result))
        })
    }

    /// Deletes `key`; true if it was live at `now_ms`.
    pub fn delete(&self, key: &[u8], now_ms: u64) -> Result<bool> {
        self.update(key, now_ms, false, |current| {
            Ok(match current {
                Some(_) => (Change::Delete, true),
                None => (Change::Keep, false),
            })
        })
    }

    /// Makes every write so far durable.
    pub fn sync(&self) -> Result<()> {
        self.log.sync()
    }

    /// With `true`, writes are not synced one by one until `sync` (bulk loads).
    pub fn defer_sync(&self, defer: bool) {
        if !defer {
            // Records a bulk load buffered reach the file before anyone
            // relies on reading them there.
            if let Some(active) = self.log.active() {
                let _ = self.log.poison_on_error(|| active.flush());
            }
        }
        self.log.set_deferred(defer);
    }

    /// Finishes pending work (a due sync, a hint); returns the notices not yet taken.
    pub fn close(&self) -> Result<Vec<Notice>> {
        if !self.options.writable || self.log.is_poisoned() {
            return Ok(self.take_notices());
        }
        // Records a bulk load left buffered reach the file (not the disk:
        // the policy decides that, below).
        if let Some(active) = self.log.active() {
            self.log.poison_on_error(|| active.flush())?;
        }
        // `interval` promises at most that long of unsynced writes; a
        // process that is about to exit must therefore sync now.
        if matches!(self.options.sync, SyncPolicy::IntervalMs(_)) {
            self.log.sync()?;
        }
        let due = {
            let w = self.lock_writer();
            w.hint_dirty || w.tail_bytes > HINT_TAIL_BYTES_MAX
        };
        if due {
            self.write_hint()?;
        }
        Ok(self.take_notices())
    }

    /// Bytes of records written after the hint's watermark.
    pub fn tail_bytes(&self) -> u64 {
        self.lock_writer().tail_bytes
    }

    /// Messages for the user gathered since the last call (e.g. a dropped torn tail).
    pub fn take_notices(&self) -> Vec<Notice> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The log writer (sync policy, group commit), for the store's background work.
    pub(crate) fn log(&self) -> &LogWriter {
        &self.log
    }

    /// The file system the store was opened on (`None`: the real one).
    pub(crate) fn vfs(&self) -> &Option<Arc<dyn crate::fs::Vfs>> {
        &self.vfs
    }
}

type Found = Option<(KeydirEntry, Vec<u8>)>;

fn expiry_option(expiry_ms: u64) -> Option<u64> {
    (expiry_ms != 0).then_some(expiry_ms)
}

const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Bitcask>();
};
