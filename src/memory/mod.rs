//! The memory engine (Redis-style): the whole data set lives in a table in
//! RAM while the store is open; persistence is a compressed snapshot plus
//! an append-only log (AOF) of every write since that snapshot.
//!
//! Files come in generations: `memory-G.snapshot` and `memory-G.aof`; the
//! file list (`FILES`) names the ones that make up the store. Opening
//! loads the listed snapshot (if any) and replays the listed AOFs in order;
//! the newest is the one appended to. A rewrite (on `hoard snapshot`, or
//! when a writer closes with an AOF larger than the snapshot and at least
//! `AOF_REWRITE_MIN`, or in the background) takes four steps, each
//! durable before the next, and stops writes only for the first and the
//! third:
//!
//! 1. under the append lock: seal the AOF, create an empty AOF of
//!    generation N (newer than every file), and rewrite the file list to
//!    name the old snapshot, the old AOFs and AOF N; writes now go to AOF N;
//! 2. with writes going on, write the snapshot of generation N: each of the
//!    table's shards is copied under its read lock in turn and encoded
//!    outside it, so the extra memory is one shard's copy;
//! 3. under the append lock: rewrite the file list to name snapshot N and
//!    AOF N alone: the switch;
//! 4. remove the old snapshot and AOFs, now unlisted.
//!
//! The snapshot is *fuzzy*: a shard copied after a write made to AOF N
//! holds that write. That is harmless because every AOF record is an
//! absolute operation (a SET of the resulting value with its absolute
//! expiry, or a DEL): replaying AOF N over snapshot N leaves each key as
//! the last write to it in AOF N left it, or, if AOF N never wrote it, as
//! the snapshot holds it, which is its state at step 1. A crash before
//! step 3 leaves the old files and AOF N listed; after it, the new files
//! hold everything. Nothing acknowledged is lost at any point.

mod files;
mod maintenance;
mod rewrite;
mod snapshot;
mod table;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use files::MemoryFiles;
use files::is_empty_leftover;
pub use maintenance::{MemoryFileStats, MemoryReport};
pub use snapshot::SnapshotInfo;

/// Decodes a snapshot image (for fuzzing and tools): calls `apply` for each
/// entry; with `salvage`, skips damage instead of failing on it.
pub fn decode_snapshot(
    bytes: &[u8],
    generation: u64,
    salvage: bool,
    apply: impl FnMut(&Record<'_>),
) -> Result<SnapshotInfo> {
    snapshot::decode(bytes, Path::new("<snapshot>"), generation, salvage, apply)
        .map(|read| read.info)
}

/// Encodes a snapshot of `entries` into `dir` as generation `generation`.
pub fn write_snapshot<'a>(
    dir: &Path,
    generation: u64,
    entries: impl Iterator<Item = (&'a [u8], &'a [u8], u64)>,
) -> Result<SnapshotInfo> {
    snapshot::write(dir, generation, entries)
}

/// File name of the snapshot of a generation.
pub fn snapshot_file_name(generation: u64) -> String {
    crate::layout::snapshot_file_name(generation)
}
use table::Table;

use crate::clock::Clock;
use crate::engine::{Change, KeyMeta, Value};
use crate::error::{CorruptKind, Error, Result};
use crate::file_list;
use crate::format::file_list::{FileList, ListedKind};
use crate::format::hint::fingerprint;
use crate::format::record::{self, Place, Record, RecordKind};
use crate::fs;
use crate::layout;
use crate::log::Role;
use crate::log_file::{LogFile, LogName};
use crate::log_writer::{LogWriter, Ticket};
use crate::manifest::{EngineKind, SyncPolicy};
use crate::notice::Notice;

/// A writer rewrites the snapshot when it closes with an AOF larger than
/// the snapshot and at least this large.
pub const AOF_REWRITE_MIN: u64 = 1 << 20;

/// How a memory store is opened.
#[derive(Debug, Clone, Copy)]
pub struct MemoryOptions {
    /// When AOF records are synced.
    pub sync: SyncPolicy,
    /// Whether this handle may write (it then holds the exclusive lock).
    pub writable: bool,
    /// Whether to load the data (false: only verify and repair can run).
    pub load: bool,
    /// Under `sync=always`, zeros are written ahead of the AOF's records
    /// this many bytes at a time, so that a sync after an append is a
    /// data-only flush (0: never).
    pub preallocate_step: u64,
}

/// Shards the table is split into (see `bitcask::keydir::SHARDS`).
const SHARDS: usize = 64;

/// The shard of `key`: the top bits of its fingerprint.
fn shard_index(key: &[u8]) -> usize {
    (fingerprint(key) >> (32 - SHARDS.trailing_zeros())) as usize
}

/// What the append lock guards besides the right to append.
#[derive(Debug, Default)]
struct Writer {
    /// The file list as last written.
    list: FileList,
    /// Generation of the snapshot loaded or written last (0: none) and its size.
    snapshot_generation: u64,
    snapshot_info: SnapshotInfo,
    /// Reused encoding buffer.
    buf: Vec<u8>,
}

/// An open memory store.
#[derive(Debug)]
pub struct Memory {
    dir: PathBuf,
    options: MemoryOptions,
    clock: Arc<dyn Clock>,
    /// The file system the store was opened on (`None`: the real one).
    vfs: Option<Arc<dyn crate::fs::Vfs>>,
    shards: Box<[RwLock<Table>]>,
    /// Keys held (expired ones not yet dropped included).
    keys: AtomicU64,
    /// The append lock and the writer's state.
    writer: parking_lot::Mutex<Writer>,
    log: LogWriter,
    /// A rewrite is running (one at a time).
    rewriting: Mutex<()>,
    /// The shard active expiry visits next.
    expiry_cursor: std::sync::atomic::AtomicUsize,
    /// The most bytes a rewrite held copied at once, for reports.
    rewrite_peak_bytes: AtomicU64,
    notices: Mutex<Vec<Notice>>,
}

impl Memory {
    /// Opens the memory store in `dir`; the caller holds the matching lock.
    pub fn open(dir: &Path, options: MemoryOptions, clock: Arc<dyn Clock>) -> Result<Memory> {
        let engine = Memory {
            dir: dir.to_path_buf(),
            options,
            clock,
            vfs: fs::installed_vfs(),
            shards: (0..SHARDS).map(|_| RwLock::new(Table::new())).collect(),
            keys: AtomicU64::new(0),
            writer: parking_lot::Mutex::new(Writer::default()),
            log: LogWriter::new(dir, options.sync),
            rewriting: Mutex::new(()),
            expiry_cursor: Default::default(),
            rewrite_peak_bytes: AtomicU64::new(0),
            notices: Mutex::new(Vec::new()),
        };
        if options.load {
            engine.load()?;
        }
        Ok(engine)
    }

    fn lock_writer(&self) -> parking_lot::MutexGuard<'_, Writer> {
        self.writer.lock()
    }

    fn notice(&self, notice: Notice) {
        self.notices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(notice);
    }

    fn shard_of(&self, key: &[u8]) -> &RwLock<Table> {
        &self.shards[shard_index(key)]
    }

    fn read_shard(&self, key: &[u8]) -> RwLockReadGuard<'_, Table> {
        self.shard_of(key).read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_shard(&self, key: &[u8]) -> RwLockWriteGuard<'_, Table> {
        self.shard_of(key)
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn shard_at(&self, i: usize) -> RwLockReadGuard<'_, Table> {
        self.shards[i].read().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts or removes a record's key in the table, keeping the count.
    fn apply(&self, rec: &Record<'_>) {
        let mut table = self.write_shard(rec.key);
        let before = table.len();
        apply(&mut table, rec);
        let after = table.len();
        if after > before {
            self.keys.fetch_add(1, Ordering::Relaxed);
        } else if after < before {
            self.keys.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn load(&self) -> Result<()> {
        let files = MemoryFiles::read(&self.dir)?;
        if let Some(name) = files.missing.first() {
            return Err(Error::Corrupt {
                path: self.dir.join(name),
                offset: 0,
                kind: CorruptKind::Missing,
            });
        }
        if self.options.writable {
            self.remove_unlisted(&files)?;
        }
        let mut w = self.lock_writer();
        let base = files.base();
        if base > 0 {
            let path = self.dir.join(layout::snapshot_file_name(base));
            let read = snapshot::read(&path, base, false, |rec| self.apply(rec))?;
            w.snapshot_generation = base;
            w.snapshot_info = read.info;
        }
        let aofs = files.live_aofs();
        let newest = aofs.last().copied();
        for generation in &aofs {
            let is_newest = Some(*generation) == newest;
            let writable = self.options.writable && is_newest;
            let role = if is_newest {
                Role::Newest
            } else {
                Role::Sealed
            };
            let aof = LogFile::open(&self.dir, LogName::Aof(*generation), writable, role)?;
            let end = aof.scan(0, |_, rec| self.apply(rec))?;
            if writable && end.footer.is_some() && aof.cut_after_footer()? {
                self.notice(crate::notice::Notice::FooterZerosCut {
                    file: layout::aof_file_name(*generation),
                });
            }
            if let Some(torn) = end.torn {
                let name = layout::aof_file_name(*generation);
                let kept = if writable {
                    let kept = crate::log::keep_torn(
                        &self.dir,
                        &name,
                        aof.file(),
                        aof.path(),
                        &torn,
                        self.clock.now_ms(),
                    )?;
                    aof.truncate_to_valid()?;
                    Some(kept)
                } else {
                    None
                };
                self.notice(crate::log::torn_tail_notice(&name, &torn, kept));
            }
            if writable && !aof.is_sealed() {
                // What an earlier writer left unsynced becomes durable now
                // (rewritten first: a failed sync may have left it clean in
                // the cache only), so the durable length the next record
                // claims is true.
                let suspect = crate::log::sync_failed_before(&self.dir);
                let synced = if suspect {
                    aof.make_durable()
                } else {
                    aof.sync()
                };
                if let Err(e) = synced {
                    crate::log::mark_sync_failed(&self.dir);
                    return Err(e);
                }
                if suspect {
                    crate::log::clear_sync_failed(&self.dir)?;
                }
                self.preallocate(&aof);
                self.log.set_active(Arc::new(aof));
            }
        }
        w.list = files.list;
        Ok(())
    }

    /// Removes memory files the file list does not name: leftovers of a
    /// rewrite or file creation interrupted before its switch, never part
    /// of the store.
    fn remove_unlisted(&self, files: &MemoryFiles) -> Result<()> {
        let (removed, moved): (Vec<&String>, Vec<&String>) = files
            .unlisted
            .iter()
            .partition(|name| is_empty_leftover(&self.dir, name));
        for name in &removed {
            fs::remove_file(&self.dir.join(name))?;
        }
        // Anything that may hold data is moved aside, never deleted: hoard
        // cannot prove it is also in the listed files.
        if !moved.is_empty() {
            let aside = self.dir.join(layout::UNLISTED_DIR);
            if !fs::exists(&aside) {
                fs::create_dir_private(&aside)?;
            }
            for name in &moved {
                fs::rename(&self.dir.join(name), &aside.join(name))?;
            }
            fs::sync_dir(&aside)?;
        }
        if !files.unlisted.is_empty() {
            fs::sync_dir(&self.dir)?;
            let names = |list: &[&String]| list.iter().map(|n| n.to_string()).collect();
            if !removed.is_empty() {
                self.notice(Notice::LeftoversRemoved {
                    names: names(&removed),
                });
            }
            if !moved.is_empty() {
                self.notice(Notice::LeftoversMovedAside {
                    names: names(&moved),
                    dir: PathBuf::from(layout::UNLISTED_DIR),
                    engine: EngineKind::Memory,
                });
            }
        }
        Ok(())
    }

    /// Under `always`, an AOF that takes writes preallocates (see the option).
    fn preallocate(&self, aof: &LogFile) {
        if self.options.sync == SyncPolicy::Always {
            aof.set_preallocate(self.options.preallocate_step);
        }
    }

    /// Takes the append lock of a store that may be written.
    fn lock_writable(&self) -> Result<parking_lot::MutexGuard<'_, Writer>> {
        if !self.options.writable {
            return Err(Error::InvalidInput(
                "the store was opened for reading only".to_string(),
            ));
        }
        let w = self.lock_writer();
        self.log.check_writable()?;
        Ok(w)
    }

    /// The AOF being appended to, created (and listed) on the first write:
    /// of a generation newer than every listed file, and after sealing the
    /// newest listed AOF if it is not yet (a crash between sealing it and
    /// listing its successor leaves it sealed but unmarked).
    fn active_aof(&self, w: &mut Writer) -> Result<Arc<LogFile>> {
        if let Some(aof) = self.log.active() {
            return Ok(aof);
        }
        let newest = w.list.entries.iter().map(|(_, g)| *g).max();
        let generation = newest.map_or(w.snapshot_generation.max(1), |g| g + 1);
        if let Some(newest) = w.list.ids(ListedKind::Aof).last() {
            // Found sealed at open (else it would be active).
            w.list.sealed.insert((ListedKind::Aof, *newest));
        }
        let aof = Arc::new(LogFile::create(&self.dir, LogName::Aof(generation))?);
        self.preallocate(&aof);
        w.list.entries.push((ListedKind::Aof, generation));
        file_list::write(&self.dir, &mut w.list)?;
        self.log.set_active(aof.clone());
        Ok(aof)
    }

    /// Appends a record to the AOF and applies it to the table; returns the
    /// ticket to commit once the lock is released. Poisons on failure.
    fn write_locked(
        &self,
        w: &mut Writer,
        key: &[u8],
        value: Option<(&[u8], Option<u64>)>,
    ) -> Result<Ticket> {
        let (kind, bytes, expiry_ms) = match value {
            Some((bytes, expiry)) => (RecordKind::Value, bytes, expiry.unwrap_or(0)),
            None => (RecordKind::Tombstone, &b""[..], 0),
        };
        let aof = self.log.poison_on_error(|| self.active_aof(w))?;
        let rec = Record {
            kind,
            expiry_ms,
            key,
            value: bytes,
            durable_len: aof.durable(),
        };
        w.buf.clear();
        record::encode_into(&mut w.buf, &rec, Place::new(aof.uid(), aof.len()));
        let (_, ticket) = self.log.append(&aof, &w.buf)?;
        self.apply(&rec);
        Ok(ticket)
    }

    /// Starts loading what gets of the first `PREFETCH_BATCH` of `keys`
    /// will read into the CPU's cache: every key's index bucket, then the
    /// entries they guess, then those entries' bytes, each stage for all
    /// the keys before the next (see `Table::prefetch`), so that a
    /// pipeline's GETs wait for their cache misses together. Changes
    /// nothing and returns nothing.
    pub fn prefetch<K: AsRef<[u8]>>(&self, keys: &[K]) {
        let keys = &keys[..keys.len().min(crate::bitcask::PREFETCH_BATCH)];
        let mut shards = [0usize; crate::bitcask::PREFETCH_BATCH];
        for (shard, key) in shards.iter_mut().zip(keys) {
            *shard = shard_index(key.as_ref());
        }
        for stage in 0..3 {
            for (key, shard) in keys.iter().zip(shards) {
                self.shard_at(shard).prefetch(key.as_ref(), stage);
            }
        }
    }

    /// The live entry of `key` at `now_ms()` (asked only if it has an
    /// expiry): its value (when `with_value`) and expiry.
    fn live(&self, key: &[u8], now_ms: impl FnOnce() -> u64, with_value: bool) -> Option<Value> {
        let table = self.read_shard(key);
        table
            .get(key)
            .filter(|(_, e)| *e == 0 || now_ms() < *e)
            .map(|(value, expiry)| Value {
                bytes: if with_value {
                    value.to_vec()
                } else {
                    Vec::new()
                },
                expiry_ms: expiry_option(expiry),
            })
    }

    /// Refuses a new key past `KEY_COUNT_MAX` (the lookup only near it).
    fn check_key_count(&self, key: &[u8]) -> Result<()> {
        let keys = self.keys.load(Ordering::Relaxed);
        if keys >= crate::limits::KEY_COUNT_MAX && self.read_shard(key).get(key).is_none() {
            crate::limits::check_key_count(keys, key)?;
        }
        Ok(())
    }

    /// The live value of `key` at time `now_ms`.
    pub fn get(&self, key: &[u8], now_ms: u64) -> Result<Option<Value>> {
        self.get_with(key, || now_ms)
    }

    /// As `get`, reading the time (`now_ms()`) only for a key that has an expiry.
    pub fn get_with(&self, key: &[u8], now_ms: impl FnOnce() -> u64) -> Result<Option<Value>> {
        Ok(self.live(key, now_ms, true))
    }

    /// Metadata of `key` if it is live at `now_ms`.
    pub fn meta(&self, key: &[u8], now_ms: u64) -> Result<Option<KeyMeta>> {
        let table = self.read_shard(key);
        Ok(table
            .get(key)
            .filter(|(_, e)| *e == 0 || now_ms < *e)
            .map(|(value, expiry)| KeyMeta {
                value_len: value.len() as u32,
                expiry_ms: expiry_option(expiry),
            }))
    }

    /// Sets `key` to `value`, expiring at `expiry_ms` if given; durable
    /// per the sync policy on return.
    pub fn put(&self, key: &[u8], value: &[u8], expiry_ms: Option<u64>) -> Result<()> {
        self.log.write(|| {
            let mut w = self.lock_writable()?;
            self.check_key_count(key)?;
            Ok((
                Some(self.write_locked(&mut w, key, Some((value, expiry_ms)))?),
                (),
            ))
        })
    }

    /// Reads `key` and applies the change `decide` makes of it, atomically
    /// with respect to every other write (see `Bitcask::update`).
    pub fn update<R>(
        &self,
        key: &[u8],
        now_ms: u64,
        with_value: bool,
        decide: impl FnOnce(Option<Value>) -> Result<(Change, R)>,
    ) -> Result<R> {
        self.log.write(|| {
            let mut w = self.lock_writable()?;
            let (change, result) = decide(self.live(key, || now_ms, with_value))?;
            let ticket = match change {
                Change::Keep => None,
                Change::Put(value, expiry_ms) => {
                    crate::limits::check_value(key, value.len())?;
                    self.check_key_count(key)?;
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

    /// Live keys starting with `prefix` at `now_ms`, in bytewise order.
    pub fn keys(&self, prefix: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        for i in 0..SHARDS {
            let table = self.shard_at(i);
            keys.extend(
                table
                    .iter()
                    .filter(|(k, _, e)| k.starts_with(prefix) && (*e == 0 || now_ms < *e))
                    .map(|(k, _, _)| k.to_vec()),
            );
        }
        keys.sort_unstable();
        Ok(keys)
    }

    /// Makes every write so far durable.
    pub fn sync(&self) -> Result<()> {
        self.log.sync()
    }

    /// With `true`, writes are not synced one by one until `sync` (bulk loads).
    pub fn defer_sync(&self, defer: bool) {
        if !defer && let Some(active) = self.log.active() {
            let _ = self.log.poison_on_error(|| active.flush());
        }
        self.log.set_deferred(defer);
    }

    /// Finishes pending work (a due sync, a due snapshot); returns the notices not yet taken.
    pub fn close(&self) -> Result<Vec<Notice>> {
        if !self.options.writable || self.log.is_poisoned() || !self.options.load {
            return Ok(self.take_notices());
        }
        if let Some(aof) = self.log.active() {
            self.log.poison_on_error(|| aof.flush())?;
        }
        if matches!(self.options.sync, SyncPolicy::IntervalMs(_)) {
            self.log.sync()?;
        }
        if self.rewrite_due(AOF_REWRITE_MIN) {
            self.snapshot(self.clock.now_ms())?;
        }
        Ok(self.take_notices())
    }

    /// Whether the AOF holds any record (something to snapshot).
    pub fn written_since_snapshot(&self) -> bool {
        self.log
            .active()
            .is_some_and(|a| a.len() > crate::format::file_header::HEADER_LEN as u64)
    }

    /// Whether the AOF outgrew the snapshot and `min_bytes`.
    pub fn rewrite_due(&self, min_bytes: u64) -> bool {
        let aof_bytes = self.log.active().map_or(0, |a| a.len());
        let snapshot_bytes = self.lock_writer().snapshot_info.file_bytes;
        aof_bytes > snapshot_bytes.max(min_bytes)
    }

    /// Messages for the user gathered since the last call.
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

    /// Keys held (expired ones not yet dropped included).
    pub fn key_count(&self) -> u64 {
        self.keys.load(Ordering::Relaxed)
    }

    /// The loaded snapshot's generation (0: none) and figures.
    pub fn snapshot_state(&self) -> (u64, SnapshotInfo) {
        let w = self.lock_writer();
        (w.snapshot_generation, w.snapshot_info)
    }

    /// The most bytes a snapshot held copied at once (its extra memory).
    pub fn snapshot_peak_copy_bytes(&self) -> u64 {
        self.rewrite_peak_bytes.load(Ordering::Relaxed)
    }

    /// Active expiry: removes the expired keys of up to `shards` shards
    /// from the table; returns the keys removed. No AOF record is needed: expiry
    /// times are absolute, so a replay finds those keys expired too, and
    /// the next snapshot leaves them out.
    pub fn expire_some(&self, now_ms: u64, shards: usize) -> Vec<Vec<u8>> {
        let mut removed = Vec::new();
        for _ in 0..shards {
            let i = self.expiry_cursor.fetch_add(1, Ordering::Relaxed) % SHARDS;
            // The append lock keeps a concurrent write of the same key
            // from being reordered with the removal.
            let _w = self.lock_writer();
            let mut table = self.shards[i].write().unwrap_or_else(|e| e.into_inner());
            let expired: Vec<Vec<u8>> = table
                .iter()
                .filter(|(_, _, e)| *e != 0 && now_ms >= *e)
                .map(|(k, _, _)| k.to_vec())
                .collect();
            for key in expired {
                if table.remove(&key) {
                    self.keys.fetch_sub(1, Ordering::Relaxed);
                    removed.push(key);
                }
            }
        }
        removed
    }

    /// Keys held whose expiry has passed at `now_ms`.
    pub fn count_expired(&self, now_ms: u64) -> u64 {
        (0..SHARDS)
            .map(|i| {
                self.shard_at(i)
                    .iter()
                    .filter(|(_, _, e)| *e != 0 && now_ms >= *e)
                    .count() as u64
            })
            .sum()
    }

    /// Replaces the whole table with `table`'s entries (repair).
    fn replace_contents(&self, table: &Table) {
        for shard in self.shards.iter() {
            *shard.write().unwrap_or_else(|e| e.into_inner()) = Table::new();
        }
        self.keys.store(0, Ordering::Relaxed);
        for (key, value, expiry_ms) in table.iter() {
            self.apply(&Record {
                kind: RecordKind::Value,
                expiry_ms,
                key,
                value,
                durable_len: 0,
            });
        }
    }

    /// Bytes the in-memory table occupies, and the key and value bytes it holds.
    pub fn table_bytes(&self) -> (u64, u64) {
        (0..SHARDS).fold((0, 0), |(a, l), i| {
            let t = self.shard_at(i);
            (a + t.allocated_bytes(), l + t.live_bytes())
        })
    }
}

fn apply(table: &mut Table, rec: &Record<'_>) {
    match rec.kind {
        RecordKind::Value => table.insert(rec.key, rec.value, rec.expiry_ms),
        RecordKind::Tombstone => {
            table.remove(rec.key);
        }
    }
}

fn expiry_option(expiry_ms: u64) -> Option<u64> {
    (expiry_ms != 0).then_some(expiry_ms)
}

const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Memory>();
};
