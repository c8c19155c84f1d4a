//! The memory engine (Redis-style): the whole data set lives in a table in
//! RAM while the store is open; persistence is a compressed snapshot plus
//! an append-only log (AOF) of every write since that snapshot.
//!
//! Files come in generations: `memory-G.snapshot` and `memory-G.aof`.
//! Opening loads the newest snapshot (generation S, or nothing) and then
//! replays, in order, every AOF of generation S or later; the newest AOF is
//! the one appended to. A rewrite (on `hoard snapshot`, or when a writer
//! closes with an AOF larger than the snapshot and at least
//! `AOF_REWRITE_MIN`) takes three steps, each durable before the next:
//!
//! 1. create an empty AOF of generation N (newer than every file) and send
//!    every later write there;
//! 2. write the snapshot of generation N, as of that switch;
//! 3. remove every snapshot and AOF older than N.
//!
//! A crash after step 1 leaves the old snapshot, the old AOFs and an empty
//! new one: the same state. After step 2, the new snapshot and the new AOF
//! hold everything and the old files are ignored (generation < N) until a
//! writer removes them. Nothing acknowledged is lost at any point.

mod aof;
mod maintenance;
mod snapshot;
mod table;

use std::path::{Path, PathBuf};
use std::time::Instant;

use aof::Aof;
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
        .map(|(info, _)| info)
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
    snapshot::file_name(generation)
}
use table::Table;

use crate::engine::{Engine, KeyMeta, Value};
use crate::error::{Error, Result};
use crate::failpoint;
use crate::format::record::{self, Record, RecordKind};
use crate::fs;
use crate::manifest::SyncPolicy;

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
}

/// The files of a memory store, by generation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryFiles {
    /// Snapshot generations present, ascending.
    pub snapshots: Vec<u64>,
    /// AOF generations present, ascending.
    pub aofs: Vec<u64>,
}

impl MemoryFiles {
    /// Lists the store's snapshots and AOFs.
    pub fn list(dir: &Path) -> Result<MemoryFiles> {
        let mut files = MemoryFiles::default();
        for name in fs::list_dir(dir)? {
            let Some(name) = name.to_str() else { continue };
            if let Some(g) = snapshot::parse_name(name) {
                files.snapshots.push(g);
            } else if let Some(g) = aof::parse_name(name) {
                files.aofs.push(g);
            }
        }
        files.snapshots.sort_unstable();
        files.aofs.sort_unstable();
        Ok(files)
    }

    /// The generation of the snapshot an open loads (0: none).
    pub fn base(&self) -> u64 {
        self.snapshots.last().copied().unwrap_or(0)
    }

    /// The AOFs an open replays, oldest first.
    pub fn live_aofs(&self) -> Vec<u64> {
        self.aofs
            .iter()
            .copied()
            .filter(|g| *g >= self.base())
            .collect()
    }
}

/// An open memory store.
#[derive(Debug)]
pub struct Memory {
    dir: PathBuf,
    options: MemoryOptions,
    table: Table,
    /// The AOF being appended to (writers).
    aof: Option<Aof>,
    /// Generation of the snapshot loaded (0: none) and its size.
    snapshot_generation: u64,
    snapshot_info: SnapshotInfo,
    notices: Vec<String>,
    poisoned: bool,
    unsynced: bool,
    sync_deferred: bool,
    last_sync: Instant,
    buf: Vec<u8>,
}

impl Memory {
    /// Opens the memory store in `dir`; the caller holds the matching lock.
    pub fn open(dir: &Path, options: MemoryOptions) -> Result<Memory> {
        let mut engine = Memory {
            dir: dir.to_path_buf(),
            options,
            table: Table::new(),
            aof: None,
            snapshot_generation: 0,
            snapshot_info: SnapshotInfo::default(),
            notices: Vec::new(),
            poisoned: false,
            unsynced: false,
            sync_deferred: false,
            last_sync: Instant::now(),
            buf: Vec::new(),
        };
        if options.load {
            engine.load()?;
        }
        Ok(engine)
    }

    fn load(&mut self) -> Result<()> {
        let files = MemoryFiles::list(&self.dir)?;
        let base = files.base();
        if base > 0 {
            let path = self.dir.join(snapshot::file_name(base));
            let table = &mut self.table;
            let (info, _) = snapshot::read(&path, base, false, |rec| {
                table.insert(rec.key, rec.value, rec.expiry_ms)
            })?;
            self.snapshot_generation = base;
            self.snapshot_info = info;
        }
        let aofs = files.live_aofs();
        let newest = aofs.last().copied();
        for generation in &aofs {
            let is_newest = Some(*generation) == newest;
            let writable = self.options.writable && is_newest;
            let mut aof = Aof::open(&self.dir, *generation, writable)?;
            let table = &mut self.table;
            let end = aof.replay(is_newest, |_, rec| apply(table, rec))?;
            if let Some((offset, len)) = end.torn {
                let name = aof::file_name(*generation);
                if writable {
                    aof.truncate_to_valid()?;
                }
                let notice = crate::log::torn_tail_notice(&name, offset, len, writable);
                self.notices.push(notice);
            }
            if writable {
                self.aof = Some(aof);
            }
        }
        if self.options.writable {
            self.remove_stale(&files)?;
        }
        Ok(())
    }

    /// Removes files older than the loaded snapshot (leftovers of a rewrite
    /// interrupted after its snapshot was in place) and temporary files (a
    /// snapshot or AOF interrupted before its rename: never part of the store).
    fn remove_stale(&mut self, files: &MemoryFiles) -> Result<()> {
        let base = files.base();
        let mut removed = Vec::new();
        for name in fs::list_dir(&self.dir)? {
            let Some(name) = name.to_str() else { continue };
            if let Some(stem) = name.strip_suffix(fs::TEMP_SUFFIX)
                && (snapshot::parse_name(stem).is_some() || aof::parse_name(stem).is_some())
            {
                removed.push(name.to_string());
            }
        }
        for g in files.snapshots.iter().filter(|g| **g < base) {
            removed.push(snapshot::file_name(*g));
        }
        for g in files.aofs.iter().filter(|g| **g < base) {
            removed.push(aof::file_name(*g));
        }
        for name in &removed {
            fs::remove_file(&self.dir.join(name))?;
        }
        if !removed.is_empty() {
            fs::sync_dir(&self.dir)?;
            self.notices.push(format!(
                "removed {}, left by an interrupted snapshot or file creation",
                removed.join(", ")
            ));
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<()> {
        if self.poisoned {
            return Err(Error::Poisoned {
                path: self.dir.clone(),
            });
        }
        if !self.options.writable {
            return Err(Error::InvalidInput(
                "the store was opened for reading only".to_string(),
            ));
        }
        Ok(())
    }

    /// The AOF being appended to, created on the first write.
    fn active_aof(&mut self) -> Result<&mut Aof> {
        if self.aof.is_none() {
            let generation = MemoryFiles::list(&self.dir)?
                .aofs
                .last()
                .copied()
                .unwrap_or(0)
                .max(self.snapshot_generation)
                .max(1);
            self.aof = Some(Aof::create(&self.dir, generation)?);
        }
        Ok(self.aof.as_mut().expect("created"))
    }

    /// Appends the record in `self.buf` and syncs per policy; poisons on failure.
    fn append_buf(&mut self) -> Result<()> {
        let result = self.append_unpoisoned();
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn append_unpoisoned(&mut self) -> Result<()> {
        let buf = std::mem::take(&mut self.buf);
        let deferred = self.sync_deferred;
        // Only a bulk load (which acknowledges nothing until its sync) may
        // leave records in the buffer; any other write reaches the file now.
        let appended = self.active_aof().and_then(|aof| {
            aof.append(&buf)
                .and_then(|()| if deferred { Ok(()) } else { aof.flush() })
        });
        self.buf = buf;
        appended?;
        self.unsynced = true;
        if self.sync_deferred {
            return Ok(());
        }
        if self.options.sync.is_due(self.last_sync.elapsed()) {
            self.sync_aof()
        } else {
            Ok(())
        }
    }

    fn sync_aof(&mut self) -> Result<()> {
        if !self.unsynced {
            return Ok(());
        }
        if let Some(aof) = &mut self.aof
            && let Err(e) = aof.sync()
        {
            self.poisoned = true;
            return Err(e);
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    fn append_record(
        &mut self,
        kind: RecordKind,
        key: &[u8],
        value: &[u8],
        expiry_ms: u64,
    ) -> Result<()> {
        self.buf.clear();
        record::encode_into(
            &mut self.buf,
            &Record {
                kind,
                expiry_ms,
                key,
                value,
            },
        );
        self.append_buf()
    }

    /// Writes a new snapshot and starts a fresh AOF (see the module
    /// documentation for the order of steps). Expired keys are dropped.
    pub fn snapshot(&mut self, now_ms: u64) -> Result<SnapshotInfo> {
        self.check_writable()?;
        let result = self.rewrite(now_ms);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn rewrite(&mut self, now_ms: u64) -> Result<SnapshotInfo> {
        self.sync_aof()?;
        let files = MemoryFiles::list(&self.dir)?;
        let newest = files
            .aofs
            .iter()
            .chain(&files.snapshots)
            .copied()
            .max()
            .unwrap_or(0);
        let generation = newest + 1;
        let fresh = Aof::create(&self.dir, generation)?;
        self.aof = Some(fresh);
        failpoint::hit("snapshot-after-new-aof");
        let live = self.table.iter().filter(|(_, _, e)| *e == 0 || now_ms < *e);
        let info = snapshot::write(&self.dir, generation, live)?;
        failpoint::hit("snapshot-after-snapshot");
        let old: Vec<String> = files
            .snapshots
            .iter()
            .map(|g| snapshot::file_name(*g))
            .chain(files.aofs.iter().map(|g| aof::file_name(*g)))
            .collect();
        for (i, name) in old.iter().enumerate() {
            fs::remove_file(&self.dir.join(name))?;
            if i == 0 {
                failpoint::hit("snapshot-after-first-removal");
            }
        }
        fs::sync_dir(&self.dir)?;
        self.snapshot_generation = generation;
        self.snapshot_info = info;
        Ok(info)
    }

    /// Writes a snapshot of the current data into `dir` (a new store's
    /// directory), as generation 1 with an empty AOF.
    pub fn snapshot_into(&self, dir: &Path, now_ms: u64) -> Result<SnapshotInfo> {
        let live = self.table.iter().filter(|(_, _, e)| *e == 0 || now_ms < *e);
        let info = snapshot::write(dir, 1, live)?;
        Aof::create(dir, 1)?;
        Ok(info)
    }

    /// Keys held (expired ones not yet dropped included).
    pub fn key_count(&self) -> u64 {
        self.table.len() as u64
    }

    /// The loaded snapshot's generation (0: none) and figures.
    pub fn snapshot_state(&self) -> (u64, SnapshotInfo) {
        (self.snapshot_generation, self.snapshot_info)
    }

    /// Bytes the in-memory table occupies, and the key and value bytes it holds.
    pub fn table_bytes(&self) -> (u64, u64) {
        (self.table.allocated_bytes(), self.table.live_bytes())
    }

    fn live(&self, key: &[u8], now_ms: u64) -> Option<(&[u8], u64)> {
        self.table.get(key).filter(|(_, e)| *e == 0 || now_ms < *e)
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

impl Engine for Memory {
    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Value>> {
        Ok(self.live(key, now_ms).map(|(value, expiry)| Value {
            bytes: value.to_vec(),
            expiry_ms: expiry_option(expiry),
        }))
    }

    fn meta(&mut self, key: &[u8], now_ms: u64) -> Result<Option<KeyMeta>> {
        Ok(self.live(key, now_ms).map(|(value, expiry)| KeyMeta {
            value_len: value.len() as u32,
            expiry_ms: expiry_option(expiry),
        }))
    }

    fn put(&mut self, key: &[u8], value: &[u8], expiry_ms: Option<u64>) -> Result<()> {
        self.check_writable()?;
        let expiry_ms = expiry_ms.unwrap_or(0);
        self.append_record(RecordKind::Value, key, value, expiry_ms)?;
        self.table.insert(key, value, expiry_ms);
        Ok(())
    }

    fn delete(&mut self, key: &[u8], now_ms: u64) -> Result<bool> {
        self.check_writable()?;
        if self.live(key, now_ms).is_none() {
            return Ok(false);
        }
        self.append_record(RecordKind::Tombstone, key, b"", 0)?;
        self.table.remove(key);
        Ok(true)
    }

    fn keys(&mut self, prefix: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>> {
        let mut keys: Vec<Vec<u8>> = self
            .table
            .iter()
            .filter(|(k, _, e)| k.starts_with(prefix) && (*e == 0 || now_ms < *e))
            .map(|(k, _, _)| k.to_vec())
            .collect();
        keys.sort_unstable();
        Ok(keys)
    }

    fn sync(&mut self) -> Result<()> {
        if self.poisoned {
            return Err(Error::Poisoned {
                path: self.dir.clone(),
            });
        }
        self.sync_aof()
    }

    fn defer_sync(&mut self, defer: bool) {
        self.sync_deferred = defer;
    }

    fn close(mut self: Box<Self>) -> Result<Vec<String>> {
        if !self.options.writable || self.poisoned || !self.options.load {
            return Ok(std::mem::take(&mut self.notices));
        }
        if let Some(aof) = &mut self.aof {
            aof.flush()?;
        }
        if matches!(self.options.sync, SyncPolicy::IntervalMs(_)) {
            self.sync_aof()?;
        }
        let aof_bytes = self.aof.as_ref().map_or(0, Aof::len);
        if aof_bytes > self.snapshot_info.file_bytes.max(AOF_REWRITE_MIN) {
            let now_ms = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
            self.snapshot(now_ms)?;
        }
        Ok(std::mem::take(&mut self.notices))
    }

    fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
