//! `hoard upgrade`: rewrites a store of format 1 into the current format,
//! crash-safely, with the manifest as the commit point.
//!
//! 1. Every format-1 file is moved (renamed) into `DIR/format1-backup/`,
//!    the directories synced. A crash here leaves a format-1 store (its
//!    manifest still says so) whose files are split between the two
//!    places; the next `upgrade` finishes the move.
//! 2. The data is read from the backup with the format-1 decoders and
//!    written into the store directory through the current engine (one
//!    sync at the end, then the hint or snapshot). A crash here leaves
//!    format-2 files behind a format-1 manifest; the next `upgrade` removes
//!    them and starts this step again.
//! 3. The manifest is rewritten with the current format (temporary file,
//!    fsync, rename, directory fsync): the switch.
//!
//! Before step 3 every other command refuses the store (exit 5, naming
//! `upgrade`); after it, the store is a complete format-2 store. The
//! backup is kept for the user to remove once satisfied.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use crate::bitcask::{Bitcask, BitcaskOptions};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::failpoint;
use crate::format::file_header::{self, V1_HEADER_LEN};
use crate::format::v1;
use crate::fs;
use crate::layout::{self, AOF_MAGIC, DATA_MAGIC, SNAPSHOT_MAGIC};
use crate::lock::{LockMode, StoreLock};
use crate::manifest::{EngineKind, MANIFEST_VERSION, Manifest, SyncPolicy};
use crate::memory::{Memory, MemoryOptions};

/// Where `upgrade` keeps the format-1 files.
pub const FORMAT1_BACKUP_DIR: &str = "format1-backup";

/// What an upgrade did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpgradeReport {
    /// The format the store was in.
    pub from_format: u32,
    /// The format it is in now.
    pub to_format: u32,
    /// Live keys carried over.
    pub keys: u64,
    /// Where the format-1 files were kept (none when nothing was upgraded).
    pub backup_dir: Option<std::path::PathBuf>,
}

/// Upgrades the store at `dir` to the current format (a no-op on a current store).
pub fn upgrade(dir: &Path, lock_timeout: Duration, now_ms: u64) -> Result<UpgradeReport> {
    if !dir.join(crate::layout::MANIFEST_FILE).exists() {
        return Err(Error::NotAStore {
            path: dir.to_path_buf(),
            reason: "there is no store there (it has no HOARD manifest); `upgrade` creates nothing"
                .to_string(),
        });
    }
    Manifest::read(dir)?;
    let _lock = StoreLock::acquire(dir, LockMode::Exclusive, lock_timeout)?;
    upgrade_locked(dir, now_ms)
}

/// `upgrade` for a caller that holds the store's exclusive lock (or, in
/// tests on a simulated disk, needs none).
pub fn upgrade_locked(dir: &Path, now_ms: u64) -> Result<UpgradeReport> {
    let manifest = Manifest::read(dir)?;
    if manifest.format_version == MANIFEST_VERSION {
        return Ok(UpgradeReport {
            from_format: MANIFEST_VERSION,
            to_format: MANIFEST_VERSION,
            ..UpgradeReport::default()
        });
    }
    let backup = dir.join(FORMAT1_BACKUP_DIR);
    // Everything is read before anything moves: a damaged format-1 store is
    // refused while its files are still where format 1 looks for them.
    let v1_files = format1_files(dir, &backup)?;
    let entries = match manifest.engine {
        EngineKind::Bitcask => read_bitcask_v1(&v1_files)?,
        EngineKind::Memory => read_memory_v1(&v1_files)?,
    };
    move_format1_files(dir, &backup)?;
    failpoint::hit("upgrade-after-move");
    remove_current_files(dir)?;
    let live: Vec<_> = entries
        .into_iter()
        .filter_map(|(k, v)| v.map(|(value, expiry)| (k, value, expiry)))
        .filter(|(_, _, expiry)| *expiry == 0 || *expiry > now_ms)
        .collect();
    let keys = live.len() as u64;
    let clock: std::sync::Arc<dyn crate::clock::Clock> =
        std::sync::Arc::new(crate::clock::ManualClock::new(now_ms));
    let engine = match manifest.engine {
        EngineKind::Bitcask => Engine::Bitcask(Bitcask::open(
            dir,
            BitcaskOptions {
                sync: SyncPolicy::Never,
                max_file_size: manifest.max_file_size,
                writable: true,
                use_hint: false,
                replay: true,
                preallocate_step: 0,
            },
            clock.clone(),
        )?),
        EngineKind::Memory => Engine::Memory(Memory::open(
            dir,
            MemoryOptions {
                sync: SyncPolicy::Never,
                writable: true,
                load: true,
                preallocate_step: 0,
            },
            clock,
        )?),
    };
    engine.defer_sync(true);
    for (key, value, expiry) in &live {
        engine.put(key, value, (*expiry != 0).then_some(*expiry))?;
    }
    engine.sync()?;
    failpoint::hit("upgrade-before-index");
    match &engine {
        Engine::Bitcask(bitcask) => drop(bitcask.write_hint()?),
        Engine::Memory(memory) => drop(memory.snapshot(now_ms)?),
    }
    engine.close()?;
    failpoint::hit("upgrade-before-manifest");
    Manifest {
        format_version: MANIFEST_VERSION,
        ..manifest
    }
    .write(dir)?;
    Ok(UpgradeReport {
        from_format: manifest.format_version,
        to_format: MANIFEST_VERSION,
        keys,
        backup_dir: Some(backup),
    })
}

/// Whether `name` is a file of a format-1 store (data, hint, snapshot, AOF).
fn is_engine_file(name: &str) -> bool {
    layout::parse_data_file_name(name).is_some()
        || name == layout::HINT_FILE
        || layout::parse_aof_file_name(name).is_some()
        || layout::parse_snapshot_file_name(name).is_some()
}

/// Step 1: moves every format-1 file into the backup directory: each is
/// hard-linked there first (backup synced), and only then unlinked from the
/// store (store synced), so no power cut can leave a file in neither place
/// (directory changes may persist in any combination). A file that already
/// has a current-format header was written by an interrupted step 2 and is
/// left for `remove_current_files`.
fn move_format1_files(dir: &Path, backup: &Path) -> Result<()> {
    if !fs::exists(backup) {
        fs::create_dir_private(backup)?;
        fs::sync_dir(dir)?;
    }
    let mut names = Vec::new();
    for name in fs::list_dir(dir)? {
        let Some(name) = name.to_str() else { continue };
        if is_engine_file(name) && !is_current_format(&dir.join(name))? {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        return Ok(());
    }
    for name in &names {
        // Linked by an interrupted earlier run: the same bytes are there.
        if !fs::exists(&backup.join(name)) {
            fs::link_or_copy(&dir.join(name), &backup.join(name))?;
        }
    }
    fs::sync_dir(backup)?;
    for (i, name) in names.iter().enumerate() {
        fs::remove_file(&dir.join(name))?;
        if i == 0 {
            failpoint::hit("upgrade-after-first-move");
        }
    }
    fs::sync_dir(dir)
}

fn is_current_format(path: &Path) -> Result<bool> {
    let file = fs::open_read(path)?;
    let len = fs::file_len(&file, path)?;
    if len < 12 {
        return Ok(false);
    }
    let mut head = [0u8; 12];
    fs::read_exact_at(&file, path, &mut head, 0)?;
    Ok(u32::from_le_bytes(head[8..12].try_into().expect("4")) == file_header::FORMAT_VERSION)
}

/// Removes what an interrupted step 2 wrote: engine files in the current
/// format, the file list, temporaries and cut torn tails of them.
fn remove_current_files(dir: &Path) -> Result<()> {
    let mut removed = false;
    for name in fs::list_dir(dir)? {
        let Some(name) = name.to_str() else { continue };
        let stem = name.strip_suffix(layout::TEMP_SUFFIX).unwrap_or(name);
        if is_engine_file(stem) || stem == layout::FILE_LIST_FILE {
            fs::remove_file(&dir.join(name))?;
            removed = true;
        }
    }
    if removed {
        fs::sync_dir(dir)?;
    }
    Ok(())
}

/// Key -> newest (value, expiry), or `None` for a deletion.
type V1State = HashMap<Vec<u8>, Option<(Vec<u8>, u64)>>;

/// Damage in a format-1 file. This build does not salvage format 1 (it
/// would have to trust format 1's unbound checksums while resynchronising);
/// the release that wrote the store can, and nothing has moved yet.
fn damaged_v1(path: &Path, offset: u64) -> Error {
    Error::CorruptOlderFormat {
        path: path.to_path_buf(),
        offset,
        version: 1,
    }
}

/// Replays format-1 records of the file at `path`: a damaged region is a
/// torn tail only at the end of the newest file, with zeros or no valid
/// record after it (format 1's rule).
fn replay_v1_log(path: &Path, magic: [u8; 8], newest: bool, state: &mut V1State) -> Result<()> {
    let bytes = fs::read_all(&fs::open_read(path)?, path)?;
    if file_header::decode_v1(&bytes, magic).is_none() {
        return Err(damaged_v1(path, 0));
    }
    let mut at = V1_HEADER_LEN;
    while at < bytes.len() {
        if let Some((tombstone, expiry, key, value, len)) = v1::decode_record(&bytes[at..]) {
            let entry = (!tombstone).then(|| (value.to_vec(), expiry));
            state.insert(key.to_vec(), entry);
            at += len;
            continue;
        }
        // Format 1 ended only its newest file with zeros or a torn tail.
        let rest_zero = bytes[at..].iter().all(|b| *b == 0);
        let valid_later = (at + 1..bytes.len()).any(|i| v1::decode_record(&bytes[i..]).is_some());
        if newest && (rest_zero || !valid_later) {
            break;
        }
        return Err(damaged_v1(path, at as u64));
    }
    Ok(())
}

/// The format-1 engine files, by name, wherever an interrupted step 1 left
/// each: still in the store, or already in the backup.
type V1Files = std::collections::BTreeMap<String, std::path::PathBuf>;

fn format1_files(dir: &Path, backup: &Path) -> Result<V1Files> {
    let mut files = V1Files::new();
    if fs::exists(backup) {
        for name in fs::list_dir(backup)? {
            if let Some(name) = name.to_str().filter(|n| is_engine_file(n)) {
                files.insert(name.to_string(), backup.join(name));
            }
        }
    }
    for name in fs::list_dir(dir)? {
        let Some(name) = name.to_str() else { continue };
        if is_engine_file(name) && !is_current_format(&dir.join(name))? {
            files.insert(name.to_string(), dir.join(name));
        }
    }
    Ok(files)
}

fn read_bitcask_v1(files: &V1Files) -> Result<V1State> {
    let mut ids: Vec<u64> = files
        .keys()
        .filter_map(|n| layout::parse_data_file_name(n))
        .collect();
    ids.sort_unstable();
    let mut state = V1State::new();
    for (i, id) in ids.iter().enumerate() {
        let path = &files[&layout::data_file_name(*id)];
        replay_v1_log(path, DATA_MAGIC, i + 1 == ids.len(), &mut state)?;
    }
    Ok(state)
}

fn read_memory_v1(files: &V1Files) -> Result<V1State> {
    let mut snapshots: Vec<u64> = files
        .keys()
        .filter_map(|n| layout::parse_snapshot_file_name(n))
        .collect();
    snapshots.sort_unstable();
    let mut aofs: Vec<u64> = files
        .keys()
        .filter_map(|n| layout::parse_aof_file_name(n))
        .collect();
    aofs.sort_unstable();
    let base = snapshots.last().copied().unwrap_or(0);
    let mut state = V1State::new();
    if base > 0 {
        let path = &files[&layout::snapshot_file_name(base)];
        let bytes = fs::read_all(&fs::open_read(path)?, path)?;
        let ok = file_header::decode_v1(&bytes, SNAPSHOT_MAGIC).is_some()
            && v1::decode_snapshot(&bytes, |k, v, e| {
                state.insert(k.to_vec(), Some((v.to_vec(), e)));
            });
        if !ok {
            return Err(damaged_v1(path, 0));
        }
    }
    let live: Vec<u64> = aofs.into_iter().filter(|g| *g >= base).collect();
    for (i, generation) in live.iter().enumerate() {
        let path = &files[&layout::aof_file_name(*generation)];
        replay_v1_log(path, AOF_MAGIC, i + 1 == live.len(), &mut state)?;
    }
    Ok(state)
}
