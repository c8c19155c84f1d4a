//! One home for what is on disk: every file name hoard generates inside a
//! store, how names are parsed back, the magic bytes of every binary file,
//! and the random identity each new file gets. Nothing else spells a file
//! name or a magic.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Magic bytes of a bitcask data file.
pub const DATA_MAGIC: [u8; 8] = *b"HOARDDAT";
/// Magic bytes of the hint.
#[allow(dead_code)] // Listed so that every magic has its home here; the codec uses its own.
pub const HINT_MAGIC: [u8; 8] = crate::format::hint::HINT_MAGIC;
/// Magic bytes of an AOF.
pub const AOF_MAGIC: [u8; 8] = *b"HOARDAOF";
/// Magic bytes of a snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = crate::format::snapshot::SNAPSHOT_MAGIC;
/// Magic bytes of the file list.
#[allow(dead_code)] // As HINT_MAGIC.
pub const FILE_LIST_MAGIC: [u8; 8] = crate::format::file_list::FILE_LIST_MAGIC;

/// The manifest.
pub const MANIFEST_FILE: &str = "HOARD";
/// The lock file.
pub const LOCK_FILE: &str = "LOCK";
/// The file list.
pub const FILE_LIST_FILE: &str = "FILES";
/// The bitcask hint.
pub const HINT_FILE: &str = "keydir.hint";
/// The directory where cut torn tails are kept.
pub const TORN_DIR: &str = "torn";
/// Left by a writer whose write or sync failed; the next writer rewrites
/// what it cannot vouch for, syncs, and removes it.
pub const SYNC_FAILED_FILE: &str = "sync-failed";
/// The directory where a writer moves engine files the file list does not name.
pub const UNLISTED_DIR: &str = "unlisted";
/// Suffix of files being written before their atomic rename.
pub const TEMP_SUFFIX: &str = ".tmp";

const DATA_SUFFIX: &str = ".data";
const MINOR_BITS: u32 = 16;

/// A bitcask data file's name from its id: `GGGGGGGGGG-MMMMM.data`.
pub fn data_file_name(id: u64) -> String {
    format!(
        "{:010}-{:05}{DATA_SUFFIX}",
        id >> MINOR_BITS,
        id & ((1 << MINOR_BITS) - 1)
    )
}

/// Parses a data file's name back to its id; `None` for any other name.
pub fn parse_data_file_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(DATA_SUFFIX)?;
    let (generation, minor) = stem.split_once('-')?;
    let generation = parse_digits(generation)?;
    let minor = parse_digits(minor)?;
    if generation >= 1 << (64 - MINOR_BITS) || minor >= 1 << MINOR_BITS {
        return None;
    }
    let id = generation << MINOR_BITS | minor;
    // Only the names hoard writes: a user's `2024-01.data` is not ours.
    (data_file_name(id) == name).then_some(id)
}

/// The bits of a data file id below its generation (merge outputs' minor numbers).
pub const DATA_MINOR_BITS: u32 = MINOR_BITS;

/// A memory store's AOF of `generation`: `memory-GGGGGGGGGG.aof`.
pub fn aof_file_name(generation: u64) -> String {
    format!("memory-{generation:010}.aof")
}

/// A memory store's snapshot of `generation`: `memory-GGGGGGGGGG.snapshot`.
pub fn snapshot_file_name(generation: u64) -> String {
    format!("memory-{generation:010}.snapshot")
}

/// The generation of an AOF's name (only the names hoard writes).
pub fn parse_aof_file_name(name: &str) -> Option<u64> {
    parse_digits(name.strip_prefix("memory-")?.strip_suffix(".aof")?)
        .filter(|g| aof_file_name(*g) == name)
}

/// The generation of a snapshot's name (only the names hoard writes).
pub fn parse_snapshot_file_name(name: &str) -> Option<u64> {
    parse_digits(name.strip_prefix("memory-")?.strip_suffix(".snapshot")?)
        .filter(|g| snapshot_file_name(*g) == name)
}

/// The name under which a torn tail cut at `offset` of `file` is kept in `TORN_DIR`.
pub fn torn_file_name(file: &str, offset: u64, now_ms: u64) -> String {
    format!("{file}.{offset}.{now_ms}.torn")
}

/// The name of a directory where `verify --repair` or `upgrade` keeps originals.
pub fn backup_dir_name(now_ms: u64) -> String {
    format!("backup-{now_ms}")
}

fn parse_digits(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// A fresh random identity for a new file. Not secret, only distinct:
/// hashed from a per-process random key, the time and a counter.
pub fn new_uid() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    hasher.write_u64(now);
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_foreign_names_are_refused() {
        let first = 1u64 << 16;
        assert_eq!(data_file_name(first), "0000000001-00000.data");
        assert_eq!(data_file_name(first + 1), "0000000001-00001.data");
        for id in [first, first + 1, 2 << 16] {
            assert_eq!(parse_data_file_name(&data_file_name(id)), Some(id));
        }
        for bad in [
            "HOARD",
            "LOCK",
            "1.data",
            "x-00000.data",
            "0000000001-00000.data.tmp",
            "-1.data",
            "2024-01.data",
            "1-00000.data",
        ] {
            assert_eq!(parse_data_file_name(bad), None, "{bad}");
        }
        assert_eq!(aof_file_name(7), "memory-0000000007.aof");
        assert_eq!(parse_aof_file_name(&aof_file_name(7)), Some(7));
        assert_eq!(parse_snapshot_file_name(&snapshot_file_name(7)), Some(7));
        assert_eq!(parse_aof_file_name("memory-.aof"), None);
        assert_eq!(parse_aof_file_name("memory-0000000007.aof.tmp"), None);
        assert_eq!(parse_aof_file_name("memory-7.aof"), None);
    }

    #[test]
    fn uids_differ() {
        let a = new_uid();
        let b = new_uid();
        assert_ne!(a, b);
    }
}
