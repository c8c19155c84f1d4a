//! `hoard init --force-manifest`: the way out of a damaged `HOARD`.
//!
//! The manifest only records the engine and the options chosen at
//! creation; the data lives in the engine's files, which a damaged
//! manifest does not touch. This writes a fresh manifest for such a store:
//! the engine is read off the files present (a bitcask data file or hint,
//! a memory snapshot or AOF), options the caller gives win, and the lines
//! of the damaged manifest that still parse supply the format version, the
//! creation time and the file size. The sync policy is never taken from a
//! damaged file: it is `always` unless the caller says otherwise. The damaged
//! file is kept beside it as `HOARD.damaged-<UTC time>`, never deleted.
//! A manifest that is intact is left alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bitcask::{FileId, HINT_FILE};
use crate::clock::{Clock, utc_stamp};
use crate::error::{Error, Result};
use crate::fs;
use crate::lock::{LockMode, StoreLock};
use crate::manifest::{EngineKind, MANIFEST_FILE, MANIFEST_VERSION, Manifest, SyncPolicy};

/// What the caller says about the store; `None` = work it out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ManifestFix {
    /// The engine, if given; checked against the files present.
    pub engine: Option<EngineKind>,
    /// The sync policy, if given.
    pub sync: Option<SyncPolicy>,
    /// The bitcask file size, if given.
    pub max_file_size: Option<u64>,
}

/// What `force_manifest` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFixed {
    /// The manifest now in place.
    pub manifest: Manifest,
    /// Where the damaged manifest was kept (`None` when there was none).
    pub saved_as: Option<PathBuf>,
    /// Where the engine came from: "the store's files", "--engine", "the
    /// damaged manifest" or "the default".
    pub engine_from: &'static str,
}

/// Replaces the damaged manifest of the store at `dir` (see the module doc),
/// under the exclusive lock. Refuses (exit 2) when the manifest is intact
/// or the engine given contradicts the files present.
pub fn force_manifest(
    dir: &Path,
    fix: &ManifestFix,
    lock_timeout: Duration,
    clock: &dyn Clock,
) -> Result<ManifestFixed> {
    let path = dir.join(MANIFEST_FILE);
    if !dir.is_dir() {
        return Err(Error::NotAStore {
            path: dir.to_path_buf(),
            reason: "there is no store there: the directory does not exist (check the path; \
                     `hoard init` without --force-manifest creates a new store)"
                .to_string(),
        });
    }
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(Error::NotAStore {
                path: dir.to_path_buf(),
                reason: "its HOARD is not a file".to_string(),
            });
        }
        // A deleted manifest is as much a dead end as a damaged one, as
        // long as the engine's files are there to say what store this is.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && engine_of_files(dir)?.is_some() => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotAStore {
                path: dir.to_path_buf(),
                reason: "it has no HOARD manifest and no store files (`--force-manifest` \
                         rebuilds the manifest of a store whose data files are there; use \
                         `hoard init` for a new store)"
                    .to_string(),
            });
        }
        Err(e) => return Err(Error::io("read", path, e)),
    }
    let _lock = StoreLock::acquire(dir, LockMode::Exclusive, lock_timeout)?;
    match Manifest::read(dir) {
        Ok(_) => {
            return Err(Error::InvalidInput(format!(
                "{} is intact; --force-manifest only replaces a damaged manifest, \
                 and nothing was changed",
                path.display()
            )));
        }
        Err(Error::Corrupt { .. } | Error::NotAStore { .. }) => {}
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let damaged = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    let mut old = salvage(damaged.as_deref().unwrap_or_default());
    // The files themselves say which format they are in.
    old.format_version = old.format_version.or(format_of_files(dir)?);
    let on_disk = engine_of_files(dir)?;
    let (engine, engine_from) = match (fix.engine, on_disk) {
        (Some(given), Some(found)) if given != found => {
            return Err(Error::InvalidInput(format!(
                "--engine {given} does not match the files in {}, which belong to a {found} \
                 store; nothing was changed",
                dir.display()
            )));
        }
        (_, Some(found)) => (found, "the store's files"),
        (Some(given), None) => (given, "--engine"),
        (None, None) => match old.engine {
            Some(engine) => (engine, "the damaged manifest"),
            None => (EngineKind::Bitcask, "the default"),
        },
    };
    if engine == EngineKind::Memory && fix.max_file_size.is_some() {
        return Err(Error::InvalidInput(
            "--max-file-size applies to bitcask stores, and this is a memory store; \
             nothing was changed (drop the option)"
                .to_string(),
        ));
    }
    let now_ms = clock.now_ms();
    let defaults = Manifest::new(engine, now_ms);
    let manifest = Manifest {
        format_version: old
            .format_version
            .filter(|v| (1..=MANIFEST_VERSION).contains(v))
            .unwrap_or(MANIFEST_VERSION),
        engine,
        sync: fix.sync.unwrap_or(defaults.sync),
        max_file_size: fix
            .max_file_size
            .or(old.max_file_size)
            .unwrap_or(defaults.max_file_size),
        created_ms: old.created_ms.unwrap_or(now_ms),
    };
    manifest.validate()?;
    let stamp = utc_stamp(now_ms);
    let mut name = format!("{MANIFEST_FILE}.damaged-{stamp}");
    let mut n = 1;
    while dir.join(&name).exists() {
        n += 1;
        name = format!("{MANIFEST_FILE}.damaged-{stamp}-{n}");
    }
    if let Some(damaged) = &damaged {
        fs::write_file_atomic(dir, &name, damaged)?;
    }
    manifest.write(dir)?;
    Ok(ManifestFixed {
        manifest,
        saved_as: damaged.is_some().then(|| dir.join(name)),
        engine_from,
    })
}

/// The format version in the header of the first engine file in `dir`.
fn format_of_files(dir: &Path) -> Result<Option<u32>> {
    for name in fs::list_dir(dir)? {
        let Some(name) = name.to_str() else { continue };
        let engine_file = FileId::parse(name).is_some()
            || crate::layout::parse_snapshot_file_name(name).is_some()
            || crate::layout::parse_aof_file_name(name).is_some();
        if !engine_file {
            continue;
        }
        let bytes = fs::read_small_file(&dir.join(name), 11)?;
        if bytes.len() >= 12 {
            let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
            if (1..=MANIFEST_VERSION).contains(&version) {
                return Ok(Some(version));
            }
        }
    }
    Ok(None)
}

/// The engine whose files are in `dir`, if any are.
fn engine_of_files(dir: &Path) -> Result<Option<EngineKind>> {
    let bitcask = fs::list_dir(dir)?.iter().any(|name| {
        name.to_str()
            .is_some_and(|n| n == HINT_FILE || FileId::parse(n).is_some())
    });
    let memory = fs::list_dir(dir)?.iter().any(|name| {
        name.to_str().is_some_and(|n| {
            crate::layout::parse_snapshot_file_name(n).is_some()
                || crate::layout::parse_aof_file_name(n).is_some()
        })
    });
    match (bitcask, memory) {
        (true, true) => Err(Error::InvalidInput(format!(
            "{} holds both bitcask and memory files; hoard cannot tell which engine it \
             uses, and changed nothing",
            dir.display()
        ))),
        (true, false) => Ok(Some(EngineKind::Bitcask)),
        (false, true) => Ok(Some(EngineKind::Memory)),
        (false, false) => Ok(None),
    }
}

/// The fields of a damaged manifest that still parse.
#[derive(Debug, Default)]
struct Salvaged {
    format_version: Option<u32>,
    engine: Option<EngineKind>,
    max_file_size: Option<u64>,
    created_ms: Option<u64>,
}

fn salvage(bytes: &[u8]) -> Salvaged {
    let mut old = Salvaged::default();
    for line in String::from_utf8_lossy(bytes).lines() {
        let Some((name, value)) = line.split_once(' ') else {
            continue;
        };
        match name {
            "format" => old.format_version = value.parse().ok(),
            "engine" => old.engine = value.parse().ok(),
            "max-file-size" => old.max_file_size = value.parse().ok(),
            "created-ms" => old.created_ms = value.parse().ok(),
            _ => {}
        }
    }
    old
}
