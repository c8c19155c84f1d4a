//! The memory engine (Redis-style): the whole data set lives in a table in
//! RAM while the store is open; persistence is a compressed snapshot plus
//! an append-only log (AOF) of every write since that snapshot.
//!
//! Files come in generations: `memory-G.snapshot` and `memory-G.aof`; the
//! file list (`FILES`) names the ones that make up the store. Opening
//! loads the listed snapshot (if any) and replays the listed AOFs in order;
//! the newest is the one appended to. A rewrite (on `hoard snapshot`, or
//! when a writer closes with an AOF larger than the snapshot and at least
//! `AOF_REWRITE_MIN`) takes four steps, each durable before the next:
//!
//! 1. create an empty AOF of generation N (newer than every file);
//! 2. write the snapshot of generation N of the current state;
//! 3. rewrite the file list to name snapshot N and AOF N alone: the switch;
//! 4. remove the old snapshot and AOFs, now unlisted.
//!
//! A crash before step 3 leaves the old files listed (the new ones are
//! unlisted leftovers a writer removes); after it, the new files hold
//! everything. Nothing acknowledged is lost at any point.

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

use crate::engine::{Engine, KeyMeta, Value};
use crate::error::{CorruptKind, Error, Result};
use crate::failpoint;
use crate::file_list;
use crate::format::file_list::{FileList, ListedKind};
use crate::format::record::{Record, RecordKind};
use crate::fs;
use crate::layout;
use crate::log::Role;
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

/// The files of a memory store, by generation, as its file list names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryFiles {
    /// Listed snapshot generations, ascending (at most one in this version).
    pub snapshots: Vec<u64>,
    /// Listed AOF generations, ascending.
    pub aofs: Vec<u64>,
    /// Listed files that do not exist, by name.
    pub missing: Vec<String>,
    /// Memory-engine files present but not listed (leftovers), by name.
    pub unlisted: Vec<String>,
    /// The file list itself (rebuilt from the files present when damaged).
    pub list: FileList,
    /// Why the file list could not be used (a tolerant read only).
    pub list_problem: Option<String>,
}

/// Whether `name` in `dir` is a temporary or an AOF that never took a
/// record: what an interrupted file creation leaves.
fn is_empty_leftover(dir: &Path, name: &str) -> bool {
    let path = dir.join(name);
    name.ends_with(layout::TEMP_SUFFIX)
        || layout::parse_aof_file_name(name).is_some()
            && fs::open_read(&path)
                .and_then(|f| fs::file_len(&f, &path))
                .is_ok_and(|len| len <= crate::format::file_header::HEADER_LEN as u64)
}

impl MemoryFiles {
    /// Reads the file list and checks it against the directory.
    pub fn read(dir: &Path) -> Result<MemoryFiles> {
        MemoryFiles::read_checked(dir, false)
    }

    /// As `read`; with `tolerant` (verify and repair), a damaged or missing
    /// list is reported in `list_problem` and rebuilt from the files
    /// present: the newest snapshot and the AOFs of its generation or later.
    pub fn read_checked(dir: &Path, tolerant: bool) -> Result<MemoryFiles> {
        let mut files = MemoryFiles::default();
        let list = match file_list::read(dir) {
            Ok(list) => list,
            Err(e @ Error::Corrupt { .. }) if tolerant => {
                files.list_problem = Some(e.to_string());
                None
            }
            Err(e) => return Err(e),
        };
        let mut present = Vec::new();
        for name in fs::list_dir(dir)? {
            let Some(name) = name.to_str() else { continue };
            let stem = name.strip_suffix(layout::TEMP_SUFFIX).unwrap_or(name);
            if layout::parse_snapshot_file_name(stem).is_some()
                || layout::parse_aof_file_name(stem).is_some()
            {
                present.push(name.to_string());
            }
        }
        // Without a file list, only an AOF that never took a record may be
        // present (created just before a crash kept its list from being
        // written): a leftover.
        if list.is_none()
            && files.list_problem.is_none()
            && !present.iter().all(|name| is_empty_leftover(dir, name))
        {
            let missing = Error::Corrupt {
                path: dir.join(layout::FILE_LIST_FILE),
                offset: 0,
                kind: CorruptKind::Missing,
            };
            if !tolerant {
                return Err(missing);
            }
            files.list_problem = Some(missing.to_string());
        }
        let list = match (list, &files.list_problem) {
            (_, Some(_)) => {
                let snapshot = present
                    .iter()
                    .filter_map(|n| layout::parse_snapshot_file_name(n))
                    .max();
                let base = snapshot.unwrap_or(0);
                let mut aofs: Vec<u64> = present
                    .iter()
                    .filter_map(|n| layout::parse_aof_file_name(n))
                    .filter(|g| *g >= base)
                    .collect();
                aofs.sort_unstable();
                FileList {
                    sequence: 0,
                    entries: snapshot
                        .map(|g| (ListedKind::Snapshot, g))
                        .into_iter()
                        .chain(aofs.into_iter().map(|g| (ListedKind::Aof, g)))
                        .collect(),
                    sealed: Default::default(),
                }
            }
            (list, None) => list.unwrap_or_default(),
        };
        files.snapshots = list.ids(ListedKind::Snapshot);
        files.aofs = list.ids(ListedKind::Aof);
        let listed: Vec<String> = files
            .snapshots
            .iter()
            .map(|g| layout::snapshot_file_name(*g))
            .chain(files.aofs.iter().map(|g| layout::aof_file_name(*g)))
            .collect();
        files.missing = listed
            .iter()
            .filter(|n| !present.contains(n))
            .cloned()
            .collect();
        files.unlisted = present
            .into_iter()
            .filter(|n| !listed.contains(n))
            .collect();
        files.list = list;
        Ok(files)
    }

    /// The generation of the snapshot an open loads (0: none).
    pub fn base(&self) -> u64 {
        self.snapshots.last().copied().unwrap_or(0)
    }

    /// The AOFs an open replays, oldest first.
    pub fn live_aofs(&self) -> Vec<u64> {
        self.aofs.clone()
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
    /// The file list as last written.
    list: FileList,
    /// Generation of the snapshot loaded (0: none) and its size.
    snapshot_generation: u64,
    snapshot_info: SnapshotInfo,
    notices: Vec<String>,
    poisoned: bool,
    unsynced: bool,
    sync_deferred: bool,
    last_sync: Instant,
}

impl Memory {
    /// Opens the memory store in `dir`; the caller holds the matching lock.
    pub fn open(dir: &Path, options: MemoryOptions) -> Result<Memory> {
        let mut engine = Memory {
            dir: dir.to_path_buf(),
            options,
            table: Table::new(),
            aof: None,
            list: FileList::default(),
            snapshot_generation: 0,
            snapshot_info: SnapshotInfo::default(),
            notices: Vec::new(),
            poisoned: false,
            unsynced: false,
            sync_deferred: false,
            last_sync: Instant::now(),
        };
        if options.load {
            engine.load()?;
        }
        Ok(engine)
    }

    fn load(&mut self) -> Result<()> {
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
        let base = files.base();
        if base > 0 {
            let path = self.dir.join(layout::snapshot_file_name(base));
            let table = &mut self.table;
            let read = snapshot::read(&path, base, false, |rec| {
                table.insert(rec.key, rec.value, rec.expiry_ms)
            })?;
            self.snapshot_generation = base;
            self.snapshot_info = read.info;
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
            let mut aof = Aof::open(&self.dir, *generation, writable, true)?;
            let table = &mut self.table;
            let end = aof.replay(role, |_, rec| apply(table, rec))?;
            if let Some(torn) = end.torn {
                let name = layout::aof_file_name(*generation);
                let kept = if writable {
                    let now_ms = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
                    let kept = crate::log::keep_torn(
                        &self.dir,
                        &name,
                        aof.file(),
                        aof.path(),
                        &torn,
                        now_ms,
                    )?;
                    aof.truncate_to_valid()?;
                    Some(kept)
                } else {
                    None
                };
                let notice = crate::log::torn_tail_notice(
                    &name,
                    &torn,
                    kept.as_ref().map(|(p, n)| (p.as_path(), *n)),
                );
                self.notices.push(notice);
            }
            if writable {
                // What an earlier writer left unsynced becomes durable now
                // (rewritten first: a failed sync may have left it clean in
                // the cache only), so the durable length the next record
                // claims is true.
                let from = end
                    .last_durable
                    .max(crate::format::file_header::HEADER_LEN as u64);
                let suspect = crate::log::sync_failed_before(&self.dir);
                let rewritten = if suspect && from < aof.len() {
                    crate::log::rewrite_range(aof.file(), aof.path(), from, aof.len())
                } else {
                    Ok(())
                };
                if let Err(e) = rewritten.and_then(|()| aof.sync()) {
                    crate::log::mark_sync_failed(&self.dir);
                    return Err(e);
                }
                if suspect {
                    crate::log::clear_sync_failed(&self.dir)?;
                }
                self.aof = Some(aof);
            }
        }
        self.list = files.list;
        Ok(())
    }

    /// Removes memory files the file list does not name: leftovers of a
    /// rewrite or file creation interrupted before its switch, never part
    /// of the store.
    fn remove_unlisted(&mut self, files: &MemoryFiles) -> Result<()> {
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
            let names = |list: &[&String]| {
                list.iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !removed.is_empty() {
                self.notices.push(format!(
                    "removed {}, left empty by an interrupted file creation",
                    names(&removed)
                ));
            }
            if !moved.is_empty() {
                self.notices.push(format!(
                    "moved {} into {}/: not listed in FILES (left by an interrupted snapshot, or \
                     put there by hand); the store does not read them, remove them when you are sure",
                    names(&moved),
                    layout::UNLISTED_DIR
                ));
            }
        }
        Ok(())
    }

    /// Refuses further writes, and leaves a mark for the next writer (see
    /// `crate::log::mark_sync_failed`).
    fn poison(&mut self) {
        self.poisoned = true;
        crate::log::mark_sync_failed(&self.dir);
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

    /// The AOF being appended to, created (and listed) on the first write.
    fn active_aof(&mut self) -> Result<&mut Aof> {
        if self.aof.is_none() {
            let generation = self.snapshot_generation.max(1);
            let aof = Aof::create(&self.dir, generation)?;
            self.list.entries.push((ListedKind::Aof, generation));
            file_list::write(&self.dir, &mut self.list)?;
            self.aof = Some(aof);
        }
        Ok(self.aof.as_mut().expect("created"))
    }

    /// Appends a record to the AOF and syncs per policy; poisons on failure.
    fn append_record(
        &mut self,
        kind: RecordKind,
        key: &[u8],
        value: &[u8],
        expiry_ms: u64,
    ) -> Result<()> {
        let result = self.append_unpoisoned(kind, key, value, expiry_ms);
        if result.is_err() {
            self.poison();
        }
        result
    }

    fn append_unpoisoned(
        &mut self,
        kind: RecordKind,
        key: &[u8],
        value: &[u8],
        expiry_ms: u64,
    ) -> Result<()> {
        let deferred = self.sync_deferred;
        let aof = self.active_aof()?;
        aof.append_record(kind, key, value, expiry_ms)?;
        // Only a bulk load (which acknowledges nothing until its sync) may
        // leave records in the buffer; any other write reaches the file now.
        if !deferred {
            aof.flush()?;
        }
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
            self.poison();
            return Err(e);
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Writes a new snapshot and starts a fresh AOF (see the module
    /// documentation for the order of steps). Expired keys are dropped.
    pub fn snapshot(&mut self, now_ms: u64) -> Result<SnapshotInfo> {
        self.check_writable()?;
        let result = self.rewrite(now_ms);
        if result.is_err() {
            self.poison();
        }
        result
    }

    fn rewrite(&mut self, now_ms: u64) -> Result<SnapshotInfo> {
        self.sync_aof()?;
        // Tolerant: a repair rewrites a store whose list is damaged.
        let files = MemoryFiles::read_checked(&self.dir, true)?;
        let newest = files
            .list
            .entries
            .iter()
            .map(|(_, g)| *g)
            .chain([self.snapshot_generation])
            .max()
            .unwrap_or(0);
        let generation = newest + 1;
        if !fs::exists(&self.dir.join(layout::FILE_LIST_FILE)) {
            // Commit the empty set first, so that the files made below are
            // unlisted leftovers until the switch, never unexplained ones.
            file_list::write(&self.dir, &mut FileList::default())?;
        }
        let fresh = Aof::create(&self.dir, generation)?;
        failpoint::hit("snapshot-after-new-aof");
        let live = self.table.iter().filter(|(_, _, e)| *e == 0 || now_ms < *e);
        let info = snapshot::write(&self.dir, generation, live)?;
        failpoint::hit("snapshot-after-snapshot");
        let mut list = FileList {
            sequence: self.list.sequence.max(files.list.sequence),
            entries: vec![
                (ListedKind::Snapshot, generation),
                (ListedKind::Aof, generation),
            ],
            sealed: Default::default(),
        };
        file_list::write(&self.dir, &mut list)?;
        self.list = list;
        self.aof = Some(fresh);
        failpoint::hit("snapshot-after-switch");
        let old: Vec<String> = files
            .snapshots
            .iter()
            .map(|g| layout::snapshot_file_name(*g))
            .chain(files.aofs.iter().map(|g| layout::aof_file_name(*g)))
            .filter(|name| !files.missing.contains(name))
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
        let mut list = FileList {
            sequence: 0,
            entries: vec![(ListedKind::Snapshot, 1), (ListedKind::Aof, 1)],
            sealed: Default::default(),
        };
        file_list::write(dir, &mut list)?;
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
        if self.table.get(key).is_none() {
            crate::limits::check_key_count(self.table.len() as u64, key)?;
        }
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
