//! The keydir: for every key, where its newest record lives. Without a
//! hint it holds the whole store (built by replaying every data file); with
//! a hint it is the overlay of records written after the hint's watermark,
//! and then remembers deletions too, because they must shadow the hint.
//!
//! Layout, chosen for bulk loads first: the keys live end to end in one
//! byte arena per keydir; each key's slot (its place in the arena, its
//! newest record and its 32-bit seeded hash) lives in a vector of slots in
//! the order the keys came; and a hash table maps the hash to the slot's
//! 4-byte index. Inserting a key allocates nothing (arena and slots grow by
//! doubling), growing the table moves indices by their slots' stored hash
//! without reading a key back, and closing frees four allocations rather
//! than one per key.
//!
//! The table (`crate::linear_table`) is open addressing with linear
//! probing over two parallel arrays: a tag byte per bucket (empty, or 7
//! bits of the hash) and the 4-byte indices, 5 bytes a bucket. At 1M keys
//! the tables of all shards take 10 MB, where buckets holding whole slots
//! (56 bytes) took 117 MB, and a new key's insert touches the table and
//! the tails of the slot vector and the arena: no cache miss, where the
//! fat bucket missed on every new key. `hoard bench --workload load
//! --key-size 8`, 1M keys, alternating: 1.37-1.58M/s before, 1.67-1.97M/s
//! after; peak resident memory at 1M 20-byte keys 189.5 -> 130.0 MiB.
//!
//! A lookup reads the tag line, the bucket, the slot, then the key, and
//! the first two addresses follow from the hash alone, so a batch of
//! lookups (pipelined GETs, MGET) asks for them in three stages before it
//! reads any (`Shards::prefetch`, `prefetch_slot`, `prefetch_key`):
//! hashbrown, used before, keeps where a key's bucket is to itself. The
//! third stage is what the index costs lookups: without it, the server's
//! CPU per pipelined GET rose 8%; with it, GETs and SETs measure as with
//! whole slots in the buckets (`redis-benchmark -P 16`, 7 and 4 rounds).

use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use hashbrown::DefaultHashBuilder;

use super::data_file::FileId;
use crate::linear_table::LinearTable;

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

/// Map from key to its newest record. The table's hasher (foldhash) is
/// seeded randomly for each keydir, so keys crafted without seeing the
/// process cannot be aimed at one bucket.
#[derive(Default)]
pub struct Keydir {
    /// Each key's index in `slots`, placed by its slot's hash.
    table: LinearTable<u32>,
    /// One slot per key, in the order the keys came (a removal moves the
    /// last slot into the gap).
    slots: Vec<Slot>,
    /// Every slot's key, end to end; removed keys stay as garbage until
    /// `compact`.
    arena: Vec<u8>,
    /// Bytes of `arena` no slot refers to.
    garbage: usize,
    hasher: DefaultHashBuilder,
    /// Whether deletions are remembered (an overlay) or forgotten (a full keydir).
    keeps_tombstones: bool,
}

/// One key's place in the arena and its newest record.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// A value's entry, or (overlays only) the place of the tombstone that
    /// deleted the key, so a hint written later can tell whether it covers it.
    newest: Newest,
    key_at: usize,
    key_len: u32,
    /// The key's seeded hash, kept so that growing the table never reads a
    /// key back.
    hash: u32,
}

impl Default for Slot {
    /// What an empty bucket holds (never read as a key's).
    fn default() -> Slot {
        Slot {
            newest: Err((FileId(0), 0)),
            key_at: 0,
            key_len: 0,
            hash: 0,
        }
    }
}

/// The table's 64-bit hash of a slot's 32-bit one: the table places by
/// the top 32 bits and tags by the low 7, so both halves carry all 32.
fn wide(hash: u32) -> u64 {
    let h = u64::from(hash);
    (h << 32) | h
}

/// The hash of the slot a bucket points at, for the table to move the
/// bucket by (no key is read back).
fn rehash(slots: &[Slot]) -> impl Fn(&u32) -> u64 + '_ {
    |&i| wide(slots[i as usize].hash)
}

/// Garbage bytes below which an arena is never compacted (small in tests,
/// so that the model test compacts often).
const COMPACT_MIN: usize = if cfg!(test) { 64 } else { 4096 };

/// `slot`'s key in `arena`.
fn key_in<'a>(arena: &'a [u8], slot: &Slot) -> &'a [u8] {
    &arena[slot.key_at..slot.key_at + slot.key_len as usize]
}

impl fmt::Debug for Keydir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keydir")
            .field("keys", &self.slots.len())
            .field("arena_bytes", &self.arena.len())
            .field("garbage", &self.garbage)
            .field("keeps_tombstones", &self.keeps_tombstones)
            .finish()
    }
}

impl Keydir {
    /// A keydir of the whole store.
    pub fn full() -> Keydir {
        Keydir::default()
    }

    /// An overlay above a hint.
    pub fn overlay() -> Keydir {
        Keydir {
            keeps_tombstones: true,
            ..Keydir::default()
        }
    }

    /// What is known of `key`.
    pub fn get(&self, key: &[u8]) -> Known<'_> {
        match self.find(key) {
            Some(slot) => match &slot.newest {
                Ok(entry) => Known::Value(entry),
                Err(_) => Known::Deleted,
            },
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
            self.remove(key);
        }
    }

    /// What the keydir holds for `key`, as stored (for a pre-image).
    pub fn raw(&self, key: &[u8]) -> Option<Newest> {
        self.find(key).map(|slot| slot.newest)
    }

    /// Sets `key` back to `raw` (a pre-image); `None` forgets it.
    pub fn restore(&mut self, key: &[u8], raw: Option<Newest>) {
        match raw {
            Some(value) => self.set(key, value),
            None => self.remove(key),
        }
    }

    /// Forgets `key` altogether (a full keydir's expired key, merged away).
    pub fn forget(&mut self, key: &[u8]) {
        self.remove(key);
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
        for slot in &self.slots {
            let (at, value) = match slot.newest {
                Ok(e) if !e.is_live(now_ms) => ((e.file_id, e.offset), Err((e.file_id, e.offset))),
                Ok(e) => ((e.file_id, e.offset), Ok(e)),
                Err(at) => (at, Err(at)),
            };
            if at >= place {
                into.set(key_in(&self.arena, slot), value);
            }
        }
    }

    /// Number of keys known, deletions included.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Every key whose newest record is a value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = (&[u8], &KeydirEntry)> {
        self.slots
            .iter()
            .filter_map(|s| s.newest.as_ref().ok().map(|e| (key_in(&self.arena, s), e)))
    }

    /// Every value's entry, without its key, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &KeydirEntry> {
        self.slots.iter().filter_map(|s| s.newest.as_ref().ok())
    }

    /// Every key known, deletions included.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.slots.iter().map(|s| key_in(&self.arena, s))
    }

    fn hash(&self, key: &[u8]) -> u32 {
        // Truncated: the slot keeps 32 bits, and every probe must use the
        // hash the table was built with.
        self.hasher.hash_one(key) as u32
    }

    /// The bucket of `key`, of seeded hash `hash`.
    fn bucket_of(&self, key: &[u8], hash: u32) -> Option<usize> {
        let (slots, arena) = (&self.slots, &self.arena);
        self.table.find(wide(hash), |&i| {
            let slot = &slots[i as usize];
            slot.hash == hash && key_in(arena, slot) == key
        })
    }

    fn find(&self, key: &[u8]) -> Option<&Slot> {
        let bucket = self.bucket_of(key, self.hash(key))?;
        Some(&self.slots[*self.table.get(bucket) as usize])
    }

    fn set(&mut self, key: &[u8], value: Newest) {
        let hash = self.hash(key);
        let (slots, arena) = (&self.slots, &self.arena);
        // One probe, whether the key is new or not; growth moves buckets
        // by their slots' stored hash, so no key is read back.
        match self.table.find_or_vacant(
            wide(hash),
            |&i| {
                let slot = &slots[i as usize];
                slot.hash == hash && key_in(arena, slot) == key
            },
            rehash(slots),
        ) {
            Ok(found) => self.slots[*self.table.get(found) as usize].newest = value,
            Err(vacant) => {
                let key_len = u32::try_from(key.len())
                    .expect("keys are limited far below 4 GiB by the record format");
                let i = u32::try_from(self.slots.len())
                    .expect("a shard holds far fewer than 4G keys (KEY_COUNT_MAX)");
                self.table.fill(vacant, wide(hash), i);
                self.slots.push(Slot {
                    newest: value,
                    key_at: self.arena.len(),
                    key_len,
                    hash,
                });
                self.arena.extend_from_slice(key);
            }
        }
    }

    fn remove(&mut self, key: &[u8]) {
        let Some(found) = self.bucket_of(key, self.hash(key)) else {
            return;
        };
        let i = self.table.remove(found, rehash(&self.slots)) as usize;
        let slot = self.slots.swap_remove(i);
        if let Some(moved) = self.slots.get(i) {
            // The last slot now sits at `i`: repoint its bucket.
            let last = self.slots.len() as u32;
            let bucket = self
                .table
                .find(wide(moved.hash), |&j| j == last)
                .expect("every slot has a bucket");
            *self.table.get_mut(bucket) = i as u32;
        }
        self.garbage += slot.key_len as usize;
        // Amortised: a compaction copies fewer live bytes than the garbage
        // it drops. It runs under the shard's write lock, so its cost (one
        // pass over the shard's keys, about 1/64 of the store) lands on one
        // write; only a full keydir (a store opened without a usable hint)
        // removes keys, since an overlay keeps deletions as tombstones.
        if self.garbage > COMPACT_MIN && self.garbage * 2 > self.arena.len() {
            self.compact();
        }
    }

    /// Asks for the table lines a lookup of `key` reads first (see `Shards::prefetch`).
    fn prefetch(&self, key: &[u8]) {
        self.table.prefetch(wide(self.hash(key)));
    }

    /// Asks for the slot that the first bucket near `key`'s home with its
    /// tag points at (`LinearTable::home_guess`): the second stage.
    fn prefetch_slot(&self, key: &[u8]) {
        if let Some(&i) = self.table.home_guess(wide(self.hash(key))) {
            crate::mmap::prefetch_item(&self.slots[i as usize]);
        }
    }

    /// What the slot that `prefetch_slot` asked for says of `key`, if it
    /// holds its hash: a guess that reads no key (the key itself is asked
    /// for), the third stage of a prefetch.
    fn prefetch_key(&self, key: &[u8]) -> Option<Newest> {
        let hash = self.hash(key);
        let slot = self
            .table
            .home_guess(wide(hash))
            .map(|&i| &self.slots[i as usize])
            .filter(|s| s.hash == hash)?;
        crate::mmap::prefetch(&self.arena[slot.key_at..slot.key_at + slot.key_len as usize]);
        Some(slot.newest)
    }

    /// Copies the live keys into a new arena, dropping removed ones.
    fn compact(&mut self) {
        let mut arena = Vec::with_capacity(self.arena.len() - self.garbage);
        for slot in &mut self.slots {
            let at = arena.len();
            arena.extend_from_slice(key_in(&self.arena, slot));
            slot.key_at = at;
        }
        self.arena = arena;
        self.garbage = 0;
        // After mass removals the slots would otherwise stay at their peak.
        if self.table.len() < self.table.buckets() / 4 {
            self.table.shrink_to_fit(rehash(&self.slots));
            self.slots.shrink_to_fit();
        }
    }

    /// Panics unless the arena's accounting and every slot's stored hash
    /// are right (tests only).
    #[cfg(test)]
    fn check(&self) {
        self.table.check(rehash(&self.slots));
        assert_eq!(self.table.len(), self.slots.len(), "a bucket per slot");
        let mut pointed: Vec<u32> = self.table.iter().copied().collect();
        pointed.sort_unstable();
        assert!(
            pointed.iter().copied().eq(0..self.slots.len() as u32),
            "each slot has one bucket"
        );
        let live: usize = self.slots.iter().map(|s| s.key_len as usize).sum();
        assert_eq!(self.arena.len() - self.garbage, live, "arena accounting");
        for slot in &self.slots {
            assert_eq!(
                slot.hash,
                self.hash(key_in(&self.arena, slot)),
                "stored hash"
            );
        }
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
    /// Whether any shard was ever write-locked (else all are empty).
    /// Lookups skip the locks while it is false (`Index::locate_value`),
    /// so every write must go through `write` or `write_at`, which set it
    /// first: the shards themselves are not handed out.
    written: AtomicBool,
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
            written: AtomicBool::new(false),
        }
    }

    /// The shard holding keys of fingerprint `fp`.
    fn shard(&self, fp: u32) -> &RwLock<Keydir> {
        // The top bits: the hint's home slot uses the low ones.
        &self.shards[(fp >> (32 - SHARDS.trailing_zeros())) as usize]
    }

    /// Reads the shard of `fp`.
    pub fn read(&self, fp: u32) -> RwLockReadGuard<'_, Keydir> {
        self.shard(fp).read().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the shard of `fp` (the writer only).
    pub fn write(&self, fp: u32) -> RwLockWriteGuard<'_, Keydir> {
        self.written.store(true, Ordering::Relaxed);
        self.shard(fp).write().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes shard `i` (of `all()`'s order).
    pub fn write_at(&self, i: usize) -> RwLockWriteGuard<'_, Keydir> {
        self.written.store(true, Ordering::Relaxed);
        self.shards[i].write().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks for the tag and bucket of `key`'s home (`fp` its
    /// fingerprint), the first lines a lookup reads. A batch of lookups
    /// asks this for every key, then `prefetch_slot` for every key, then
    /// `prefetch_key`, then looks them up, so their cache misses overlap
    /// instead of following one another. A hint only: nothing is read
    /// into the program.
    pub fn prefetch(&self, fp: u32, key: &[u8]) {
        // An overlay nothing was written to since the open (the common
        // case under a hint) costs no lock.
        if self.written.load(Ordering::Relaxed) {
            self.read(fp).prefetch(key);
        }
    }

    /// The second stage of `prefetch`: asks for the slot that a bucket
    /// near the key's home points at.
    pub fn prefetch_slot(&self, fp: u32, key: &[u8]) {
        if self.written.load(Ordering::Relaxed) {
            self.read(fp).prefetch_slot(key);
        }
    }

    /// The third stage of `prefetch`: asks for the key itself, and
    /// returns what the slot guessed near its home says is its newest
    /// record (so that the record can be asked for too), without reading
    /// the key.
    pub fn prefetch_key(&self, fp: u32, key: &[u8]) -> Option<Newest> {
        if self.written.load(Ordering::Relaxed) {
            self.read(fp).prefetch_key(key)
        } else {
            None
        }
    }

    /// Whether any shard was ever written (else every lookup finds nothing).
    pub fn written(&self) -> bool {
        self.written.load(Ordering::Relaxed)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn entry(n: u64) -> KeydirEntry {
        KeydirEntry {
            file_id: FileId(n % 7 + 1),
            offset: n,
            value_len: n as u32,
            expiry_ms: 0,
            fingerprint: n as u32 | 1,
        }
    }

    /// A key of `k`'s identity, long enough (up to 300 bytes) that a few
    /// dozen removals push the arena's garbage past the compaction point.
    fn key_of(k: u8, len: usize) -> Vec<u8> {
        let mut key = vec![k; len.max(1)];
        key[0] = k;
        key
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u64),
        Delete(u8, u64),
        Forget(u8),
        Restore(u8, Option<Result<u64, u64>>),
    }

    /// Distinct keys the proptest uses: enough that the table grows
    /// several times.
    const KEYS: u8 = 200;

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..KEYS, any::<u64>()).prop_map(|(k, n)| Op::Insert(k, n)),
            2 => (0u8..KEYS, any::<u64>()).prop_map(|(k, n)| Op::Delete(k, n)),
            1 => (0u8..KEYS).prop_map(Op::Forget),
            1 => (0u8..KEYS, proptest::option::of(prop_oneof![
                any::<u64>().prop_map(Ok), any::<u64>().prop_map(Err)
            ])).prop_map(|(k, r)| Op::Restore(k, r)),
        ]
    }

    proptest! {
        #[test]
        fn the_keydir_matches_a_hashmap(
            overlay in any::<bool>(),
            long in 1usize..300,
            ops in proptest::collection::vec(op(), 0..600),
            from in (1u64..8, any::<u64>()),
        ) {
            let mut keydir = if overlay { Keydir::overlay() } else { Keydir::full() };
            let mut model: HashMap<Vec<u8>, Newest> = HashMap::new();
            // Keys of two lengths, so that compaction moves keys of
            // different sizes.
            let key = |k: u8| key_of(k, if k.is_multiple_of(2) { long } else { 3 });
            for op in ops {
                match op {
                    Op::Insert(k, n) => {
                        keydir.insert(&key(k), entry(n));
                        model.insert(key(k), Ok(entry(n)));
                    }
                    Op::Delete(k, n) => {
                        let place = (FileId(n % 5 + 1), n);
                        keydir.delete(&key(k), place);
                        if overlay {
                            model.insert(key(k), Err(place));
                        } else {
                            model.remove(&key(k));
                        }
                    }
                    Op::Forget(k) => {
                        keydir.forget(&key(k));
                        model.remove(&key(k));
                    }
                    Op::Restore(k, raw) => {
                        let raw = raw.map(|r| r.map(entry).map_err(|n| (FileId(n % 5 + 1), n)));
                        keydir.restore(&key(k), raw);
                        match raw {
                            Some(value) => model.insert(key(k), value),
                            None => model.remove(&key(k)),
                        };
                    }
                }
                prop_assert_eq!(keydir.len(), model.len());
                keydir.check();
            }
            for k in 0u8..KEYS {
                prop_assert_eq!(keydir.raw(&key(k)), model.get(&key(k)).copied());
                let known = match model.get(&key(k)) {
                    Some(Ok(e)) => Known::Value(e),
                    Some(Err(_)) => Known::Deleted,
                    None => Known::Unknown,
                };
                prop_assert_eq!(keydir.get(&key(k)), known);
            }
            let mut keys: Vec<Vec<u8>> = keydir.keys().map(<[u8]>::to_vec).collect();
            keys.sort();
            let mut want: Vec<Vec<u8>> = model.keys().cloned().collect();
            want.sort();
            prop_assert_eq!(keys, want);
            let values: HashMap<Vec<u8>, KeydirEntry> =
                keydir.values().map(|(k, e)| (k.to_vec(), *e)).collect();
            let want: HashMap<Vec<u8>, KeydirEntry> = model
                .iter()
                .filter_map(|(k, v)| v.ok().map(|e| (k.clone(), e)))
                .collect();
            prop_assert_eq!(keydir.entries().count(), want.len());
            prop_assert_eq!(values, want);

            // copy_after_live: every entry at or after `place`, values as
            // values (none expires here), deletions as deletions.
            let place = (FileId(from.0), from.1);
            let mut copy = Keydir::overlay();
            keydir.copy_after_live(place, 0, &mut copy);
            copy.check();
            let want: HashMap<Vec<u8>, Newest> = model
                .iter()
                .filter(|(_, v)| match v {
                    Ok(e) => (e.file_id, e.offset) >= place,
                    Err(at) => *at >= place,
                })
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            prop_assert_eq!(copy.len(), want.len());
            for (k, v) in &want {
                prop_assert_eq!(copy.raw(k), Some(*v));
            }
        }
    }

    #[test]
    fn a_prefetch_guess_is_a_bucket_holding_the_keys_hash_or_none() {
        let mut keydir = Keydir::full();
        assert_eq!(keydir.prefetch_key(b"a"), None);
        keydir.insert(b"a", entry(1));
        keydir.prefetch(b"a");
        keydir.prefetch_slot(b"a");
        assert_eq!(keydir.prefetch_key(b"a"), Some(Ok(entry(1))));
        assert_eq!(keydir.prefetch_key(b"b"), None);
        let shards = Shards::new(true);
        assert_eq!(shards.prefetch_key(7, b"a"), None);
        shards.write(7).delete(b"a", (FileId(1), 9));
        shards.prefetch(7, b"a");
        shards.prefetch_slot(7, b"a");
        assert_eq!(shards.prefetch_key(7, b"a"), Some(Err((FileId(1), 9))));
    }

    #[test]
    fn removals_compact_the_arena_and_keep_every_key() {
        let mut keydir = Keydir::full();
        let key = |i: u32| format!("key-{i:0>200}").into_bytes();
        for i in 0..1000 {
            keydir.insert(&key(i), entry(u64::from(i)));
        }
        for i in (0..1000).filter(|i| i % 4 != 0) {
            keydir.forget(&key(i));
        }
        // 750 removals of 204-byte keys leave far more than half of the
        // arena dead, so it was compacted on the way.
        assert!(keydir.garbage * 2 <= keydir.arena.len());
        assert!(keydir.arena.len() < 1000 * 204);
        assert_eq!(keydir.len(), 250);
        keydir.check();
        for i in 0..1000 {
            let want = (i % 4 == 0).then(|| Ok(entry(u64::from(i))));
            assert_eq!(keydir.raw(&key(i)), want, "key {i}");
        }
    }
}
