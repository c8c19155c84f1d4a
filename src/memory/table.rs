//! The memory engine's table: every key and value in RAM, compactly.
//!
//! Key and value bytes live back to back in an arena of 4 MiB chunks (a
//! larger entry gets a chunk of its own), so an entry costs no allocation
//! of its own. A dense vector holds each entry's place in the arena and
//! its lengths (16 bytes), a side map the expiry of the entries that have
//! one, and an index of u32 positions in that vector finds a key (5 bytes
//! per bucket): linear probing over a tag byte and a position per bucket
//! (`crate::linear_table`),
//! so that a batch of lookups can ask for each key's bucket, entry and
//! bytes before it reads any (`prefetch`), which hashbrown's table, used
//! before, cannot say where to find. The
//! hasher (foldhash, hashbrown's default) is randomly seeded per process,
//! so no input can be crafted to degrade it.
//! Overwritten and deleted bytes stay in the arena as garbage until there
//! is more garbage than live data, when the arena is rebuilt.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

use crate::linear_table::LinearTable;

/// Size of an arena chunk.
const CHUNK_LEN: usize = 4 << 20;
/// The arena is rebuilt when garbage exceeds live bytes and this much.
const COMPACT_GARBAGE_MIN: u64 = 16 << 20;

/// Set in `Slot::value_bits` when the entry has an expiry (in `expiries`).
const EXPIRES: u32 = 1 << 31;

/// 16 bytes: an expiry would make it 24, and most keys have none, so
/// expiries live in a side table (values are at most 512 MiB, which
/// leaves the top bit of the value length free to say there is one).
#[derive(Debug, Clone, Copy)]
struct Slot {
    chunk: u32,
    at: u32,
    /// 0 marks a free slot (keys are never empty).
    key_len: u32,
    /// The value's length, and `EXPIRES`.
    value_bits: u32,
}

impl Slot {
    fn value_len(&self) -> u32 {
        self.value_bits & !EXPIRES
    }

    fn expires(&self) -> bool {
        self.value_bits & EXPIRES != 0
    }

    fn len(&self) -> u64 {
        u64::from(self.key_len) + u64::from(self.value_len())
    }
}

/// An entry as stored: key, value and expiry (0 = never).
pub type EntryRef<'a> = (&'a [u8], &'a [u8], u64);

/// Every key and value of a memory store.
#[derive(Debug, Default)]
pub struct Table {
    /// Each key's position in `slots` (`crate::linear_table`).
    index: LinearTable<u32>,
    slots: Vec<Slot>,
    /// Absolute expiry in Unix ms of each slot that has one.
    expiries: hashbrown::HashMap<u32, u64>,
    free: Vec<u32>,
    chunks: Vec<Vec<u8>>,
    hasher: DefaultHashBuilder,
    live_bytes: u64,
    garbage_bytes: u64,
}

impl Table {
    /// An empty table.
    pub fn new() -> Table {
        Table::default()
    }

    /// Number of keys, expired ones included.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    fn bytes(&self, slot: &Slot) -> (&[u8], &[u8]) {
        let chunk = &self.chunks[slot.chunk as usize];
        let at = slot.at as usize;
        let key_end = at + slot.key_len as usize;
        (
            &chunk[at..key_end],
            &chunk[key_end..key_end + slot.value_len() as usize],
        )
    }

    fn find(&self, key: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        let bucket = self
            .index
            .find(hash, |&i| self.bytes(&self.slots[i as usize]).0 == key)?;
        Some(*self.index.get(bucket))
    }

    /// The hash of entry `i`'s key, read back from the arena.
    fn hash_of(
        slots: &[Slot],
        chunks: &[Vec<u8>],
        hasher: &DefaultHashBuilder,
    ) -> impl Fn(&u32) -> u64 {
        move |&i| {
            let s = &slots[i as usize];
            let at = s.at as usize;
            hasher.hash_one(&chunks[s.chunk as usize][at..at + s.key_len as usize])
        }
    }

    /// Asks for `key`'s home bucket (stage 0), the entry it guesses
    /// (stage 1) or that entry's bytes (stage 2): a batch of lookups runs
    /// each stage for every key before the next, so that each stage's
    /// lines have arrived when the next reads them and the cache misses
    /// of the batch overlap. A hint only: nothing is read into the program.
    pub fn prefetch(&self, key: &[u8], stage: u8) {
        let hash = self.hasher.hash_one(key);
        if stage == 0 {
            self.index.prefetch(hash);
            return;
        }
        let Some(&i) = self.index.home_guess(hash) else {
            return;
        };
        let slot = &self.slots[i as usize];
        if stage == 1 {
            crate::mmap::prefetch_item(slot);
        } else if slot.key_len != 0 {
            let chunk = &self.chunks[slot.chunk as usize];
            let at = slot.at as usize;
            crate::mmap::prefetch(&chunk[at..at + slot.len() as usize]);
        }
    }

    /// The value and expiry (0 = never) of `key`, expired or not.
    pub fn get(&self, key: &[u8]) -> Option<(&[u8], u64)> {
        let i = self.find(key)?;
        let slot = &self.slots[i as usize];
        Some((self.bytes(slot).1, self.expiry_of(i, slot)))
    }

    fn expiry_of(&self, i: u32, slot: &Slot) -> u64 {
        if slot.expires() {
            self.expiries.get(&i).copied().unwrap_or(0)
        } else {
            0
        }
    }

    /// Records slot `i`'s expiry (0 = never); returns the flag for its slot.
    fn set_expiry(&mut self, i: u32, expiry_ms: u64) -> u32 {
        if expiry_ms == 0 {
            self.expiries.remove(&i);
            0
        } else {
            self.expiries.insert(i, expiry_ms);
            EXPIRES
        }
    }

    /// Copies key and value into the arena; returns (chunk, offset).
    fn store(&mut self, key: &[u8], value: &[u8]) -> (u32, u32) {
        let len = key.len() + value.len();
        let room = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= len);
        if !room {
            self.chunks.push(Vec::with_capacity(len.max(CHUNK_LEN)));
        }
        let chunk_index = self.chunks.len() - 1;
        let chunk = &mut self.chunks[chunk_index];
        let at = chunk.len();
        chunk.extend_from_slice(key);
        chunk.extend_from_slice(value);
        (chunk_index as u32, at as u32)
    }

    /// Sets `key` to `value` expiring at `expiry_ms` (0 = never).
    pub fn insert(&mut self, key: &[u8], value: &[u8], expiry_ms: u64) {
        debug_assert!(!key.is_empty());
        if let Some(i) = self.find(key) {
            let old = self.slots[i as usize];
            let flag = self.set_expiry(i, expiry_ms);
            if old.value_len() as usize == value.len() {
                // Same length: overwrite in place, leaving no garbage.
                let chunk = &mut self.chunks[old.chunk as usize];
                let at = old.at as usize + old.key_len as usize;
                chunk[at..at + value.len()].copy_from_slice(value);
                self.slots[i as usize].value_bits = value.len() as u32 | flag;
                return;
            }
            let (chunk, at) = self.store(key, value);
            self.garbage_bytes += old.len();
            self.live_bytes = self.live_bytes - old.len() + (key.len() + value.len()) as u64;
            self.slots[i as usize] = Slot {
                chunk,
                at,
                key_len: key.len() as u32,
                value_bits: value.len() as u32 | flag,
            };
        } else {
            let (chunk, at) = self.store(key, value);
            let mut slot = Slot {
                chunk,
                at,
                key_len: key.len() as u32,
                value_bits: value.len() as u32,
            };
            let i = match self.free.pop() {
                Some(i) => i,
                None => {
                    self.slots.push(slot);
                    (self.slots.len() - 1) as u32
                }
            };
            slot.value_bits |= self.set_expiry(i, expiry_ms);
            self.slots[i as usize] = slot;
            self.live_bytes += slot.len();
            let hash = self.hasher.hash_one(key);
            let rehash = Table::hash_of(&self.slots, &self.chunks, &self.hasher);
            self.index.insert_unique(hash, i, rehash);
        }
        self.compact_if_wasteful();
    }

    /// Removes `key`; false if absent.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let hash = self.hasher.hash_one(key);
        let Some(bucket) = self
            .index
            .find(hash, |&i| self.bytes(&self.slots[i as usize]).0 == key)
        else {
            return false;
        };
        let rehash = Table::hash_of(&self.slots, &self.chunks, &self.hasher);
        let i = self.index.remove(bucket, rehash);
        let slot = &mut self.slots[i as usize];
        self.live_bytes -= slot.len();
        self.garbage_bytes += slot.len();
        if slot.expires() {
            self.expiries.remove(&i);
        }
        slot.key_len = 0;
        slot.value_bits = 0;
        self.free.push(i);
        self.compact_if_wasteful();
        true
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = EntryRef<'_>> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.key_len != 0)
            .map(|(i, s)| {
                let (key, value) = self.bytes(s);
                (key, value, self.expiry_of(i as u32, s))
            })
    }

    /// Bytes of keys and values held.
    pub fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    /// Bytes the table occupies: arena chunks, entry vector, index.
    pub fn allocated_bytes(&self) -> u64 {
        let chunks: usize = self.chunks.iter().map(Vec::capacity).sum();
        let slots = self.slots.capacity() * size_of::<Slot>();
        let index = self.index.buckets() * (size_of::<u32>() + 1);
        let expiries = self.expiries.capacity() * (size_of::<(u32, u64)>() + 1);
        (chunks + slots + index + expiries) as u64
    }

    fn compact_if_wasteful(&mut self) {
        if self.garbage_bytes > self.live_bytes && self.garbage_bytes > COMPACT_GARBAGE_MIN {
            self.compact();
        }
    }

    /// Rebuilds the arena holding only live bytes.
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.chunks);
        for i in 0..self.slots.len() {
            let slot = self.slots[i];
            if slot.key_len == 0 {
                continue;
            }
            let chunk = &old[slot.chunk as usize];
            let at = slot.at as usize;
            let end = at + slot.len() as usize;
            let bytes = &chunk[at..end];
            let (key, value) = bytes.split_at(slot.key_len as usize);
            let (c, a) = self.store(key, value);
            self.slots[i].chunk = c;
            self.slots[i].at = a;
        }
        self.garbage_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn the_table_matches_a_hashmap(ops in proptest::collection::vec(
            (any::<u8>(), proptest::option::of(proptest::collection::vec(any::<u8>(), 0..50)), any::<u64>()), 0..300)
        ) {
            let mut table = Table::new();
            let mut model: HashMap<Vec<u8>, (Vec<u8>, u64)> = HashMap::new();
            for (k, value, expiry) in ops {
                let key = vec![b'k', k];
                match value {
                    Some(v) => {
                        table.insert(&key, &v, expiry);
                        model.insert(key.clone(), (v, expiry));
                    }
                    None => {
                        prop_assert_eq!(table.remove(&key), model.remove(&key).is_some());
                    }
                }
                prop_assert_eq!(table.len(), model.len());
                table.check();
            }
            for (key, (value, expiry)) in &model {
                prop_assert_eq!(table.get(key), Some((value.as_slice(), *expiry)));
            }
            prop_assert_eq!(table.iter().count(), model.len());
        }
    }

    impl Table {
        /// Panics unless the index is consistent with the keys (tests only).
        fn check(&self) {
            self.index
                .check(Table::hash_of(&self.slots, &self.chunks, &self.hasher));
        }
    }

    #[test]
    fn compaction_keeps_every_entry() {
        let mut table = Table::new();
        let big = vec![7u8; 1 << 20];
        for round in 0..40u8 {
            for k in 0..4u8 {
                let mut value = big.clone();
                value.push(round); // a new length each round, so no in-place overwrite
                value.resize(big.len() + 1 + usize::from(round), round);
                table.insert(&[k], &value, u64::from(round));
            }
        }
        assert!(table.garbage_bytes <= table.live_bytes.max(COMPACT_GARBAGE_MIN));
        for k in 0..4u8 {
            let (value, expiry) = table.get(&[k]).unwrap();
            assert_eq!(expiry, 39);
            assert_eq!(value.len(), big.len() + 1 + 39);
        }
    }
}
