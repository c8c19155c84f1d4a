//! The keydir: for every key, where its newest record lives. Without a
//! hint it holds the whole store (built by replaying every data file); with
//! a hint it is the overlay of records written after the hint's watermark,
//! and then remembers deletions too, because they must shadow the hint.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;

use super::data_file::FileId;

/// Where a key's newest value record is, and what the keydir needs to
/// answer without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeydirEntry {
    /// The data file holding the record.
    pub file_id: FileId,
    /// Offset of the record's first byte in that file.
    pub offset: u64,
    /// Length of the value in bytes.
    pub value_len: u32,
    /// Absolute expiry in Unix ms; 0 means never.
    pub expiry_ms: u64,
    /// The key's fingerprint (`format::hint::fingerprint`), kept so that a
    /// hint is built from the entries without reading a key; it fits in
    /// what would be padding.
    pub fingerprint: u32,
}

impl KeydirEntry {
    /// Whether the entry is live at `now_ms`.
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.expiry_ms == 0 || now_ms < self.expiry_ms
    }
}

/// What the keydir knows of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known<'a> {
    /// Its newest record is a value.
    Value(&'a KeydirEntry),
    /// Its newest record is a tombstone (only kept by an overlay).
    Deleted,
    /// Nothing: ask the hint, if there is one.
    Unknown,
}

/// A key's newest record: a value's entry, or the place of a tombstone.
pub type Newest = Result<KeydirEntry, (FileId, u64)>;

/// Map from key to its newest record. hashbrown's default hasher
/// (foldhash) is seeded randomly per process, so no input can be crafted
/// to degrade it.
#[derive(Debug, Default)]
pub struct Keydir {
    /// A value's entry, or (overlays only) the place of the tombstone that
    /// deleted the key, so a hint written later can tell whether it covers it.
    map: HashMap<Box<[u8]>, Newest>,
    /// Whether deletions are remembered (an overlay) or forgotten (a full keydir).
    keeps_tombstones: bool,
}

impl Keydir {
    /// A keydir of the whole store.
    pub fn full() -> Keydir {
        Keydir::default()
    }

    /// An overlay above a hint.
    pub fn overlay() -> Keydir {
        Keydir {
            map: HashMap::default(),
            keeps_tombstones: true,
        }
    }

    /// What is known of `key`.
    pub fn get(&self, key: &[u8]) -> Known<'_> {
        match self.map.get(key) {
            Some(Ok(entry)) => Known::Value(entry),
            Some(Err(_)) => Known::Deleted,
            None => Known::Unknown,
        }
    }

    /// Points `key` at a newer value record.
    pub fn insert(&mut self, key: &[u8], entry: KeydirEntry) {
        self.set(key, Ok(entry));
    }

    /// Records that `key`'s newest record is the tombstone at `place`.
    pub fn delete(&mut self, key: &[u8], place: (FileId, u64)) {
        if self.keeps_tombstones {
            self.set(key, Err(place));
        } else {
            self.map.remove(key);
        }
    }

    /// What the keydir holds for `key`, as stored (for a pre-image).
    pub fn raw(&self, key: &[u8]) -> Option<Newest> {
        self.map.get(key).copied()
    }

    /// Sets `key` back to `raw` (a pre-image); `None` forgets it.
    pub fn restore(&mut self, key: &[u8], raw: Option<Newest>) {
        match raw {
            Some(value) => self.set(key, value),
            None => {
                self.map.remove(key);
            }
        }
    }

    /// Forgets `key` altogether (a full keydir's expired key, merged away).
    pub fn forget(&mut self, key: &[u8]) {
        self.map.remove(key);
    }

    /// Whether deletions are remembered (an overlay).
    pub fn is_overlay(&self) -> bool {
        self.keeps_tombstones
    }

    /// Every entry at or after `place` into `into`, deletions included,
    /// and values expired at `now_ms` copied as
    /// deletions at their place (so a hint built from the copy drops them,
    /// and still shadows any older value of the key).
    pub fn copy_after_live(&self, place: (FileId, u64), now_ms: u64, into: &mut Keydir) {
        for (key, value) in &self.map {
            let (at, value) = match value {
                Ok(e) if !e.is_live(now_ms) => ((e.file_id, e.offset), Err((e.file_id, e.offset))),
                Ok(e) => ((e.file_id, e.offset), Ok(*e)),
                Err(at) => (*at, Err(*at)),
            };
            if at >= place {
                into.map.insert(key.clone(), value);
            }
        }
    }

    fn set(&mut self, key: &[u8], value: Newest) {
        // One hash and one probe, whether the key is new or not; the key
        // is copied only when new.
        match self.map.entry_ref(key) {
            EntryRef::Occupied(mut found) => *found.get_mut() = value,
            EntryRef::Vacant(vacant) => {
                vacant.insert_with_key(key.into(), value);
            }
        }
    }

    /// Number of keys known, deletions included.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Every key whose newest record is a value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = (&[u8], &KeydirEntry)> {
        self.map
            .iter()
            .filter_map(|(k, e)| e.as_ref().ok().map(|e| (&**k, e)))
    }

    /// Every value's entry, without its key (which costs a memory read
    /// per key to reach), in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &KeydirEntry> {
        self.map.values().filter_map(|e| e.as_ref().ok())
    }

    /// Every key known, deletions included.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.map.keys().map(|k| &**k)
    }
}

/// Shards a keydir is split into, so that lookups on different keys do
/// not contend for one lock: each shard is a `RwLock`, read-locked by any
/// number of lookups at once and write-locked only by the one writer for
/// the length of one insertion.
pub const SHARDS: usize = 64;

/// A keydir split into `SHARDS` independently locked parts by the key's
/// fingerprint (the hint's hash, which a lookup computes anyway).
#[derive(Debug)]
pub struct Shards {
    shards: Box<[RwLock<Keydir>]>,
}

impl Shards {
    /// An empty keydir of the whole store (`overlay` false) or an overlay.
    pub fn new(overlay: bool) -> Shards {
        let make = || {
            RwLock::new(if overlay {
                Keydir::overlay()
            } else {
                Keydir::full()
            })
        };
        Shards {
            shards: (0..SHARDS).map(|_| make()).collect(),
        }
    }

    /// The shard holding keys of fingerprint `fp`.
    pub fn shard(&self, fp: u32) -> &RwLock<Keydir> {
        // The top bits: the hint's home slot uses the low ones.
        &self.shards[(fp >> (32 - SHARDS.trailing_zeros())) as usize]
    }

    /// Reads the shard of `fp`.
    pub fn read(&self, fp: u32) -> RwLockReadGuard<'_, Keydir> {
        self.shard(fp).read().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the shard of `fp` (the writer only).
    pub fn write(&self, fp: u32) -> RwLockWriteGuard<'_, Keydir> {
        self.shard(fp).write().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes shard `i` (of `all()`'s order).
    pub fn write_at(&self, i: usize) -> RwLockWriteGuard<'_, Keydir> {
        self.shards[i].write().unwrap_or_else(|e| e.into_inner())
    }

    /// Every shard, read-locked one at a time by the caller.
    pub fn all(&self) -> impl Iterator<Item = RwLockReadGuard<'_, Keydir>> {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Keys known, deletions included.
    pub fn len(&self) -> usize {
        self.all().map(|k| k.len()).sum()
    }
}
