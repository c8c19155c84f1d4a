//! The hash table under the bitcask keydir and the memory engine's index:
//! open addressing with linear probing over two parallel arrays, a tag
//! byte per bucket (empty, or 7 bits of the item's hash) and the items.
//!
//! Chosen over hashbrown for one property: where a key's probe begins
//! follows from its hash alone, so a batch of lookups can ask the CPU for
//! every key's tag and item before it reads any (`prefetch`, `home_guess`)
//! and their cache misses overlap. An item sits at its hash's home bucket
//! or after it with no empty bucket in between; removal shifts later
//! items back to keep it so (no tombstones). At most 7/8 of the buckets
//! are full, so every probe meets an empty one.
//!
//! The table keeps no hashes: growth and removal ask the caller for an
//! item's (`rehash`), which may store it (the keydir) or recompute it from
//! the key (the memory engine).

/// The tag of an empty bucket.
const EMPTY_TAG: u8 = 0;

/// Buckets `home_guess` looks at from the home one. Looking at the home
/// bucket only, the keydir's guesses missed most displaced keys: under
/// `redis-benchmark -P 16` GETs, 8 buckets cost 8% less server CPU per
/// request (1.10 -> 1.01 us), 4 buckets 6%.
const GUESS_SPAN: usize = 8;

/// The tag of an item of `hash`: its low 7 bits with the top bit set, so
/// never `EMPTY_TAG`. The home bucket comes from the top bits, so the tag
/// adds bits a probe has not already matched.
fn tag_of(hash: u64) -> u8 {
    0x80 | (hash as u8 & 0x7f)
}

/// A linear-probing table of `T` (copied on growth; `T::default()` fills
/// empty buckets and is never read as an item).
#[derive(Debug, Default)]
pub struct LinearTable<T> {
    tags: Box<[u8]>,
    items: Box<[T]>,
    len: usize,
}

impl<T: Copy + Default> LinearTable<T> {
    /// Items held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Buckets allocated (a power of two, or 0).
    pub fn buckets(&self) -> usize {
        self.tags.len()
    }

    /// Where the probe for `hash` starts: its top 32 bits, scaled.
    fn home(&self, hash: u64) -> usize {
        (((hash >> 32) * self.buckets() as u64) >> 32) as usize
    }

    /// The item in bucket `i` (one that `find` or `find_or_vacant` gave).
    pub fn get(&self, i: usize) -> &T {
        &self.items[i]
    }

    /// As `get`, to change the item in place (its hash must stay).
    pub fn get_mut(&mut self, i: usize) -> &mut T {
        &mut self.items[i]
    }

    /// The first bucket from `hash`'s home whose item `eq` accepts (`Ok`),
    /// or the empty bucket that ends the probe (`Err`). Needs a bucket.
    fn probe(&self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Result<usize, usize> {
        let mask = self.buckets() - 1;
        let tag = tag_of(hash);
        let mut i = self.home(hash);
        loop {
            match self.tags[i] {
                EMPTY_TAG => return Err(i),
                t if t == tag && eq(&self.items[i]) => return Ok(i),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The bucket whose item (of `hash`) `eq` accepts.
    pub fn find(&self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        self.probe(hash, eq).ok()
    }

    /// The bucket whose item `eq` accepts (`Ok`), or the empty bucket a
    /// new item of `hash` goes in (`Err`, for `fill`); room for one more is
    /// made first, moving items by `rehash`.
    pub fn find_or_vacant(
        &mut self,
        hash: u64,
        mut eq: impl FnMut(&T) -> bool,
        rehash: impl Fn(&T) -> u64,
    ) -> Result<usize, usize> {
        if (self.len + 1) * 8 > self.buckets() * 7 {
            // An item already in needs no room.
            if let Some(found) = self.find(hash, &mut eq) {
                return Ok(found);
            }
            self.resize((self.buckets() * 2).max(8), &rehash);
        }
        self.probe(hash, eq)
    }

    /// Puts `item`, of `hash`, in the empty bucket `i` that
    /// `find_or_vacant` gave.
    pub fn fill(&mut self, i: usize, hash: u64, item: T) {
        debug_assert_eq!(self.tags[i], EMPTY_TAG);
        self.tags[i] = tag_of(hash);
        self.items[i] = item;
        self.len += 1;
    }

    /// Adds `item`, of `hash`, known to be absent.
    pub fn insert_unique(&mut self, hash: u64, item: T, rehash: impl Fn(&T) -> u64) {
        if let Err(i) = self.find_or_vacant(hash, |_| false, rehash) {
            self.fill(i, hash, item);
        }
    }

    /// Empties bucket `i` and returns its item. The items after it that
    /// may sit there (their home is at or before the hole, cyclically)
    /// move back, so that no probe meets an empty bucket before its item.
    pub fn remove(&mut self, i: usize, rehash: impl Fn(&T) -> u64) -> T {
        let removed = self.items[i];
        let mask = self.buckets() - 1;
        let mut hole = i;
        let mut j = (i + 1) & mask;
        while self.tags[j] != EMPTY_TAG {
            let home = self.home(rehash(&self.items[j]));
            // Distances back to where j's probe began and to the hole.
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.tags[hole] = self.tags[j];
                self.items[hole] = self.items[j];
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.tags[hole] = EMPTY_TAG;
        self.items[hole] = T::default();
        self.len -= 1;
        removed
    }

    /// Moves every item into `buckets` new buckets (a power of two with
    /// room for them all, or 0 when empty), placing each by `rehash`.
    pub fn resize(&mut self, buckets: usize, rehash: &impl Fn(&T) -> u64) {
        debug_assert!(buckets == 0 || buckets.is_power_of_two());
        debug_assert!(self.len * 8 <= buckets * 7);
        let tags = std::mem::replace(&mut self.tags, vec![EMPTY_TAG; buckets].into());
        let items = std::mem::replace(&mut self.items, vec![T::default(); buckets].into());
        let mask = buckets.wrapping_sub(1);
        for (tag, item) in tags.iter().zip(items.iter()) {
            if *tag == EMPTY_TAG {
                continue;
            }
            let mut i = self.home(rehash(item));
            while self.tags[i] != EMPTY_TAG {
                i = (i + 1) & mask;
            }
            self.tags[i] = *tag;
            self.items[i] = *item;
        }
    }

    /// Shrinks to the fewest buckets that hold the items at no more than
    /// half full (none if none): a table shrunk to its limit of 7/8 would
    /// probe long and grow again at the next insert.
    pub fn shrink_to_fit(&mut self, rehash: impl Fn(&T) -> u64) {
        let buckets = if self.len == 0 {
            0
        } else {
            (self.len * 2).next_power_of_two().max(8)
        };
        if buckets < self.buckets() {
            self.resize(buckets, &rehash);
        }
    }

    /// Every item, in bucket order (tests only: both users keep their
    /// entries in a vector of their own and iterate that).
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.tags
            .iter()
            .zip(self.items.iter())
            .filter(|(tag, _)| **tag != EMPTY_TAG)
            .map(|(_, item)| item)
    }

    /// Asks for the tag and the item of `hash`'s home bucket, the first
    /// lines a lookup reads (a hint: nothing is read into the program).
    pub fn prefetch(&self, hash: u64) {
        if self.len != 0 {
            let i = self.home(hash);
            crate::mmap::prefetch_item(&self.tags[i]);
            crate::mmap::prefetch_item(&self.items[i]);
        }
    }

    /// The first item with `hash`'s tag among the `GUESS_SPAN` buckets from
    /// its home, before an empty one (a guess: it may be another key's, or
    /// the key may sit further on). Its tag line was asked for by
    /// `prefetch`, and a key displaced by earlier ones (most are, at this
    /// load) is usually a bucket or two on.
    pub fn home_guess(&self, hash: u64) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        let mask = self.buckets() - 1;
        let tag = tag_of(hash);
        let mut i = self.home(hash);
        for _ in 0..GUESS_SPAN {
            match self.tags[i] {
                EMPTY_TAG => return None,
                t if t == tag => return Some(&self.items[i]),
                _ => i = (i + 1) & mask,
            }
        }
        None
    }

    /// Panics unless the count, the load factor, the tags and the probe
    /// order are right (tests only).
    #[cfg(test)]
    pub fn check(&self, rehash: impl Fn(&T) -> u64) {
        assert_eq!(self.iter().count(), self.len, "item count");
        assert!(self.len * 8 <= self.buckets() * 7, "load factor");
        for (i, (tag, item)) in self.tags.iter().zip(self.items.iter()).enumerate() {
            if *tag == EMPTY_TAG {
                continue;
            }
            let hash = rehash(item);
            assert_eq!(*tag, tag_of(hash), "tag of bucket {i}");
            // Every bucket from the item's home to the item is full, so a
            // probe for it cannot stop short.
            let mut at = self.home(hash);
            while at != i {
                assert_ne!(self.tags[at], EMPTY_TAG, "hole before bucket {i}");
                at = (at + 1) & (self.buckets() - 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LinearTable;

    #[test]
    fn removal_shifts_a_cluster_back_across_the_end_of_the_table() {
        // Item n's hash is HASHES[n]; with 8 buckets the home is the top
        // 3 bits, so home 7 is the last bucket and its cluster wraps.
        const HASHES: [u64; 5] = [7 << 61 | 1, 7 << 61 | 2, 7 << 61 | 3, 4, 6 << 61 | 5];
        let rehash = |n: &u32| HASHES[*n as usize];
        let mut table = LinearTable::<u32>::default();
        for (n, &hash) in HASHES.iter().enumerate() {
            let n = n as u32;
            let vacant = table
                .find_or_vacant(hash, |&m| m == n, rehash)
                .expect_err("new");
            table.fill(vacant, hash, n);
        }
        assert_eq!(table.buckets(), 8);
        table.check(rehash);
        let find = |table: &LinearTable<u32>, n: u32| table.find(HASHES[n as usize], |&m| m == n);
        // Buckets 7, 0, 1 hold the three of home 7, bucket 2 the one of
        // home 0, bucket 6 the one of home 6.
        assert_eq!(
            (0..5).map(|n| find(&table, n)).collect::<Vec<_>>(),
            [Some(7), Some(0), Some(1), Some(2), Some(6)]
        );
        // Removing the first of the cluster moves each later one back a
        // bucket, the one of home 0 included, across the wrap.
        assert_eq!(table.remove(7, rehash), 0);
        table.check(rehash);
        assert_eq!(find(&table, 0), None);
        assert_eq!(
            (1..5).map(|n| find(&table, n)).collect::<Vec<_>>(),
            [Some(7), Some(0), Some(1), Some(6)]
        );
        // A slot never moves before its home: removing bucket 6 moves
        // nothing of home 7 into it.
        assert_eq!(table.remove(6, rehash), 4);
        table.check(rehash);
        assert_eq!(find(&table, 1), Some(7));
        assert_eq!(table.home_guess(HASHES[1]), Some(&1));
        // Item 2's home bucket (7) holds item 1: the guess looks on, across
        // the wrap, to bucket 0.
        assert_eq!(table.home_guess(HASHES[2]), Some(&2));
        // Absent, with an empty bucket before any matching tag.
        assert_eq!(table.home_guess(HASHES[0]), None);
        // Growth places every item again by its hash.
        table.resize(64, &rehash);
        table.check(rehash);
        for n in 1..4 {
            assert!(find(&table, n).is_some(), "item {n} after growth");
        }
        table.shrink_to_fit(rehash);
        assert_eq!(table.buckets(), 8);
        table.check(rehash);
        for n in 1..4 {
            let i = find(&table, n).expect("found after shrinking");
            table.remove(i, rehash);
        }
        table.shrink_to_fit(rehash);
        assert_eq!((table.len(), table.buckets()), (0, 0));
        assert_eq!(find(&table, 1), None);
    }
}
