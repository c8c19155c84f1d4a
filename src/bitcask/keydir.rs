//! The keydir: for every key, where its newest record lives. Built by
//! replaying the data files on open; updated after every write.

use std::collections::HashMap;

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
}

impl KeydirEntry {
    /// Whether the entry is live at `now_ms`.
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.expiry_ms == 0 || now_ms < self.expiry_ms
    }
}

/// Map from key to its newest record. In-memory tables use std's randomly
/// seeded hasher, so no input can be crafted to degrade them.
#[derive(Debug, Default)]
pub struct Keydir {
    map: HashMap<Box<[u8]>, KeydirEntry>,
}

impl Keydir {
    /// The entry for `key`, live or expired.
    pub fn get(&self, key: &[u8]) -> Option<&KeydirEntry> {
        self.map.get(key)
    }

    /// Points `key` at a newer record.
    pub fn insert(&mut self, key: &[u8], entry: KeydirEntry) {
        match self.map.get_mut(key) {
            Some(slot) => *slot = entry,
            None => {
                self.map.insert(key.into(), entry);
            }
        }
    }

    /// Forgets `key` (after a tombstone).
    pub fn remove(&mut self, key: &[u8]) {
        self.map.remove(key);
    }

    /// Number of keys, expired ones included.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Every key and its entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &KeydirEntry)> {
        self.map.iter().map(|(k, e)| (&**k, e))
    }
}
