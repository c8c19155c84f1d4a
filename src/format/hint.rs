//! The hint codec: an immutable open-addressing hash table of the keydir as
//! of a watermark, laid out to be used straight from a memory map. Keys are
//! not stored: a slot holds a 32-bit fingerprint of the key and where its
//! newest record lives, and every lookup reads that record and checks its
//! CRC and key. Slots are grouped in blocks of 64, each with its own CRC32,
//! so a lookup checks only the one or two blocks it touches.
//!
//! ```text
//! offset            size            field
//!      0              48            file header, magic b"HOARDHNT", file_id = watermark file id
//!     48               8            watermark_file_id   records up to here are indexed
//!     56               8            watermark_offset
//!     64               8            entry_count
//!     72               8            slot_count          > entry_count, <= 2^32
//!     80               4            file_count
//!     84               4            block_slots         64
//!     88               4            hash_id             1 = FNV-1a 64 + fmix64
//!     92              16            reserved            zero
//!    108               4            crc32               over bytes 48..108 and the file table
//!    112     32*file_count          file table          (file_id u64, uid u64, len u64, records u64) per data file
//!      S     16*slot_count          slots               (fingerprint u32, file_index u32, offset u64)
//!      C  4*ceil(slots/64)          block crc32s        one per 64 slots
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use super::file_header::{FileHeader, HEADER_LEN, HeaderError};
use super::{u32_at, u64_at};

/// Magic bytes of a hint file.
pub const HINT_MAGIC: [u8; 8] = *b"HOARDHNT";
/// Bytes per slot.
pub const SLOT_LEN: usize = 16;
/// Slots per checksummed block.
pub const BLOCK_SLOTS: usize = 64;
/// Identifier of the hash function (FNV-1a 64 then MurmurHash3's fmix64).
pub const HASH_ID: u32 = 1;

const META_AT: usize = HEADER_LEN;
const META_LEN: usize = 64;
const TABLE_AT: usize = META_AT + META_LEN;
const TABLE_ENTRY_LEN: usize = 32;
/// Maximum load: slot_count >= entry_count * 4 / 3 + 1.
const LOAD_NUM: u64 = 3;
const LOAD_DEN: u64 = 4;

/// The fixed hash of a key, as stored in the hint: FNV-1a 64 over the
/// bytes, MurmurHash3's fmix64 finaliser, the high 32 bits, and 0 mapped
/// to 1 (0 marks an empty slot). Part of the file format: never change it
/// without a new `HASH_ID`.
pub fn fingerprint(key: &[u8]) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    ((h >> 32) as u32).max(1)
}

/// The slot a fingerprint's probe sequence starts at (multiply-shift range reduction).
pub fn home_slot(fingerprint: u32, slot_count: u64) -> u64 {
    (u64::from(fingerprint) * slot_count) >> 32
}

/// Number of slots for a table of `entry_count` entries.
pub fn slot_count_for(entry_count: u64) -> u64 {
    entry_count * LOAD_DEN / LOAD_NUM + 1
}

/// One slot of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The key's fingerprint; 0 = empty.
    pub fingerprint: u32,
    /// Index into the file table.
    pub file_index: u32,
    /// Offset of the record in that file.
    pub offset: u64,
}

/// A data file as the hint saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintFile {
    /// The file's id.
    pub id: u64,
    /// The file's random identity (from its header).
    pub uid: u64,
    /// Its length on disk (for the watermark file: the watermark offset).
    pub len: u64,
    /// Records it held (for the watermark file: before the watermark); `u64::MAX` if unknown.
    pub records: u64,
}

/// What the hint covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HintMeta {
    /// The data file holding the watermark.
    pub watermark_file_id: u64,
    /// Records of that file before this offset (and of all older files) are indexed.
    pub watermark_offset: u64,
    /// Number of occupied slots.
    pub entry_count: u64,
    /// Number of slots.
    pub slot_count: u64,
    /// Every data file the hint knows, as it was when the hint was written.
    pub files: Vec<HintFile>,
}

impl HintMeta {
    fn slots_at(&self) -> usize {
        TABLE_AT + self.files.len() * TABLE_ENTRY_LEN
    }

    fn crcs_at(&self) -> usize {
        self.slots_at() + self.slot_count as usize * SLOT_LEN
    }

    /// Number of checksummed blocks of slots.
    pub fn block_count(&self) -> usize {
        (self.slot_count as usize).div_ceil(BLOCK_SLOTS)
    }

    /// Total length of a hint file with this metadata.
    pub fn file_len(&self) -> usize {
        self.crcs_at() + self.block_count() * 4
    }
}

/// Why hint bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HintError {
    /// Damaged, truncated or inconsistent; the message says what and where.
    Damaged(String),
    /// Written by a newer version of hoard.
    NewerVersion(u32),
}

/// Encodes a whole hint file. `entries` hold distinct keys' fingerprints
/// and locations; `meta.entry_count` and `meta.slot_count` are set here.
pub fn encode(mut meta: HintMeta, entries: &[Slot]) -> Vec<u8> {
    meta.entry_count = entries.len() as u64;
    meta.slot_count = slot_count_for(meta.entry_count);
    assert!(meta.slot_count <= 1 << 32, "hint table too large");
    let mut out = Vec::with_capacity(meta.file_len());
    debug_assert_eq!(HEADER_LEN, META_AT);
    let header = FileHeader::new(HINT_MAGIC, meta.watermark_file_id, crate::layout::new_uid());
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(&meta.watermark_file_id.to_le_bytes());
    out.extend_from_slice(&meta.watermark_offset.to_le_bytes());
    out.extend_from_slice(&meta.entry_count.to_le_bytes());
    out.extend_from_slice(&meta.slot_count.to_le_bytes());
    out.extend_from_slice(&(meta.files.len() as u32).to_le_bytes());
    out.extend_from_slice(&(BLOCK_SLOTS as u32).to_le_bytes());
    out.extend_from_slice(&HASH_ID.to_le_bytes());
    out.extend_from_slice(&[0u8; 16]);
    let crc_at = out.len();
    out.extend_from_slice(&[0u8; 4]);
    for file in &meta.files {
        out.extend_from_slice(&file.id.to_le_bytes());
        out.extend_from_slice(&file.uid.to_le_bytes());
        out.extend_from_slice(&file.len.to_le_bytes());
        out.extend_from_slice(&file.records.to_le_bytes());
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&out[META_AT..crc_at]);
    crc.update(&out[TABLE_AT..]);
    let crc = crc.finalize();
    out[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());

    // The slots are placed straight into the output: a table of 1M keys
    // is 21 MB, and building it apart and then serialising it cost a
    // second pass over all of it.
    let slots_at = meta.slots_at();
    debug_assert_eq!(out.len(), slots_at);
    out.resize(meta.crcs_at(), 0);
    let table = &mut out[slots_at..];
    let slot_count = meta.slot_count as usize;
    for entry in entries {
        debug_assert_ne!(entry.fingerprint, 0);
        let mut at = home_slot(entry.fingerprint, meta.slot_count) as usize;
        loop {
            let slot = &mut table[at * SLOT_LEN..(at + 1) * SLOT_LEN];
            if slot[..4] == [0; 4] {
                slot[..4].copy_from_slice(&entry.fingerprint.to_le_bytes());
                slot[4..8].copy_from_slice(&entry.file_index.to_le_bytes());
                slot[8..].copy_from_slice(&entry.offset.to_le_bytes());
                break;
            }
            at += 1;
            if at == slot_count {
                at = 0;
            }
        }
    }
    for block in 0..meta.block_count() {
        let start = slots_at + block * BLOCK_SLOTS * SLOT_LEN;
        let end = (start + BLOCK_SLOTS * SLOT_LEN).min(slots_at + slot_count * SLOT_LEN);
        let crc = crc32fast::hash(&out[start..end]);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    debug_assert_eq!(out.len(), meta.file_len());
    out
}

/// A view of hint bytes (typically a memory map) whose header and layout
/// have been checked; slot blocks are checked as they are used.
#[derive(Debug, Clone, Copy)]
pub struct HintView<'a> {
    bytes: &'a [u8],
    slot_count: u64,
    slots_at: usize,
    crcs_at: usize,
}

impl<'a> HintView<'a> {
    /// Checks the header, metadata, file table and total length: O(files),
    /// not O(keys). Slot blocks are checked when they are read.
    pub fn parse(bytes: &'a [u8]) -> Result<(HintView<'a>, HintMeta), HintError> {
        let damaged = |what: &str| HintError::Damaged(what.to_string());
        match FileHeader::decode(bytes, HINT_MAGIC) {
            Ok(_) => {}
            Err(HeaderError::Short) => return Err(damaged("shorter than its header")),
            Err(HeaderError::Corrupt(kind)) => {
                return Err(HintError::Damaged(format!("file header: {kind}")));
            }
            Err(HeaderError::NewerVersion(v)) => return Err(HintError::NewerVersion(v)),
            Err(HeaderError::OlderVersion(v)) => {
                return Err(HintError::Damaged(format!("written by format {v}")));
            }
        }
        if bytes.len() < TABLE_AT {
            return Err(damaged("truncated in its metadata"));
        }
        let file_count = u32_at(bytes, META_AT + 32) as usize;
        let table_end = TABLE_AT
            .checked_add(
                file_count
                    .checked_mul(TABLE_ENTRY_LEN)
                    .ok_or_else(|| damaged("file count"))?,
            )
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| damaged("truncated in its file table"))?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes[META_AT..META_AT + 60]);
        crc.update(&bytes[TABLE_AT..table_end]);
        if crc.finalize() != u32_at(bytes, META_AT + 60) {
            return Err(damaged("metadata checksum mismatch"));
        }
        if u32_at(bytes, META_AT + 36) as usize != BLOCK_SLOTS
            || u32_at(bytes, META_AT + 40) != HASH_ID
            || bytes[META_AT + 44..META_AT + 60].iter().any(|b| *b != 0)
        {
            return Err(damaged("unknown table parameters"));
        }
        let meta = HintMeta {
            watermark_file_id: u64_at(bytes, META_AT),
            watermark_offset: u64_at(bytes, META_AT + 8),
            entry_count: u64_at(bytes, META_AT + 16),
            slot_count: u64_at(bytes, META_AT + 24),
            files: (0..file_count)
                .map(|i| {
                    let at = TABLE_AT + i * TABLE_ENTRY_LEN;
                    HintFile {
                        id: u64_at(bytes, at),
                        uid: u64_at(bytes, at + 8),
                        len: u64_at(bytes, at + 16),
                        records: u64_at(bytes, at + 24),
                    }
                })
                .collect(),
        };
        if meta.slot_count == 0 || meta.slot_count > 1 << 32 || meta.entry_count >= meta.slot_count
        {
            return Err(damaged("impossible slot or entry count"));
        }
        if bytes.len() as u64 != meta.file_len() as u64 {
            return Err(HintError::Damaged(format!(
                "length {} does not match the {} bytes its metadata implies (truncated or extended)",
                bytes.len(),
                meta.file_len()
            )));
        }
        Ok((HintView::trusted(bytes, &meta), meta))
    }

    /// A view of bytes already checked by `parse`, which returned `meta`.
    pub fn trusted(bytes: &'a [u8], meta: &HintMeta) -> HintView<'a> {
        HintView {
            bytes,
            slot_count: meta.slot_count,
            slots_at: meta.slots_at(),
            crcs_at: meta.crcs_at(),
        }
    }

    /// Number of checksummed blocks of slots.
    pub fn block_count(&self) -> usize {
        (self.slot_count as usize).div_ceil(BLOCK_SLOTS)
    }

    /// Byte offset of block `block` within the file (for messages).
    pub fn block_offset(&self, block: usize) -> u64 {
        (self.slots_at + block * BLOCK_SLOTS * SLOT_LEN) as u64
    }

    /// Checks one block's CRC; `Err` carries the block's byte offset.
    pub fn check_block(&self, block: usize) -> Result<(), u64> {
        let start = self.slots_at + block * BLOCK_SLOTS * SLOT_LEN;
        let end = (start + BLOCK_SLOTS * SLOT_LEN).min(self.crcs_at);
        let stored = u32_at(self.bytes, self.crcs_at + block * 4);
        if crc32fast::hash(&self.bytes[start..end]) == stored {
            Ok(())
        } else {
            Err(start as u64)
        }
    }

    /// Checks a block once: blocks found good are remembered in `verified`
    /// (a bitset of `block_count()` bits), so each is hashed once per map.
    pub fn check_block_cached(&self, block: usize, verified: &[AtomicU64]) -> Result<(), u64> {
        let (word, bit) = (block / 64, 1u64 << (block % 64));
        if verified
            .get(word)
            .is_some_and(|w| w.load(Ordering::Relaxed) & bit != 0)
        {
            return Ok(());
        }
        self.check_block(block)?;
        if let Some(w) = verified.get(word) {
            w.fetch_or(bit, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Number of slots.
    pub fn slot_count(&self) -> u64 {
        self.slot_count
    }

    /// Slot `index`, unchecked (check its block first).
    pub fn slot(&self, index: u64) -> Slot {
        let at = self.slots_at + index as usize * SLOT_LEN;
        Slot {
            fingerprint: u32_at(self.bytes, at),
            file_index: u32_at(self.bytes, at + 4),
            offset: u64_at(self.bytes, at + 8),
        }
    }

    /// Starts loading the slot a lookup of `fingerprint` examines first
    /// into the CPU's cache (`mmap::prefetch`).
    pub fn prefetch_home(&self, fingerprint: u32) {
        if self.slot_count == 0 {
            return;
        }
        let at = self.slots_at + home_slot(fingerprint, self.slot_count) as usize * SLOT_LEN;
        crate::mmap::prefetch(&self.bytes[at..at + SLOT_LEN]);
    }

    /// The first slot holding `fingerprint` among the few a lookup of it
    /// examines first; unchecked, so only a guess of where the record is
    /// (for a prefetch: the lookup proper checks the block).
    pub fn home_guess(&self, fingerprint: u32) -> Option<Slot> {
        const LOOK: u64 = 8;
        if self.slot_count == 0 {
            return None;
        }
        let home = home_slot(fingerprint, self.slot_count);
        for step in 0..LOOK.min(self.slot_count) {
            let slot = self.slot((home + step) % self.slot_count);
            if slot.fingerprint == fingerprint {
                return Some(slot);
            }
            if slot.fingerprint == 0 {
                return None;
            }
        }
        None
    }

    /// The slots a lookup of `fingerprint` must examine, in probe order,
    /// with their indices; each block is checked (once, with `verified`)
    /// before its slots are used: `Err(offset)` names a damaged block.
    pub fn probe<'v>(&'v self, fingerprint: u32, verified: &'v [AtomicU64]) -> Probe<'v, 'a> {
        Probe {
            view: self,
            verified,
            fingerprint,
            at: home_slot(fingerprint, self.slot_count),
            steps: 0,
            checked_block: None,
        }
    }
}

/// Iterator over the slots holding a fingerprint, stopping at an empty slot.
#[derive(Debug)]
pub struct Probe<'v, 'a> {
    view: &'v HintView<'a>,
    verified: &'v [AtomicU64],
    fingerprint: u32,
    at: u64,
    steps: u64,
    checked_block: Option<usize>,
}

impl Iterator for Probe<'_, '_> {
    /// A slot with the fingerprint and its index, or the offset of a damaged block.
    type Item = Result<(u64, Slot), u64>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.steps >= self.view.slot_count {
                return None;
            }
            let block = self.at as usize / BLOCK_SLOTS;
            if self.checked_block != Some(block) {
                if let Err(offset) = self.view.check_block_cached(block, self.verified) {
                    self.steps = u64::MAX;
                    return Some(Err(offset));
                }
                self.checked_block = Some(block);
            }
            let index = self.at;
            let slot = self.view.slot(index);
            self.at += 1;
            if self.at == self.view.slot_count {
                self.at = 0;
            }
            self.steps += 1;
            if slot.fingerprint == 0 {
                self.steps = u64::MAX;
                return None;
            }
            if slot.fingerprint == self.fingerprint {
                return Some(Ok((index, slot)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> HintMeta {
        HintMeta {
            watermark_file_id: 7 << 16,
            watermark_offset: 4096,
            entry_count: 0,
            slot_count: 0,
            files: vec![
                HintFile {
                    id: 1 << 16,
                    uid: 11,
                    len: 1000,
                    records: 3,
                },
                HintFile {
                    id: 7 << 16,
                    uid: 77,
                    len: 4096,
                    records: 9,
                },
            ],
        }
    }

    /// The table as FORMAT.md describes it, built the plain way: a vector
    /// of slots, each entry placed by linear probing from its home slot.
    fn reference_table(slot_count: u64, entries: &[Slot]) -> Vec<u8> {
        let mut slots = vec![
            Slot {
                fingerprint: 0,
                file_index: 0,
                offset: 0
            };
            slot_count as usize
        ];
        for entry in entries {
            let mut at = home_slot(entry.fingerprint, slot_count) as usize;
            while slots[at].fingerprint != 0 {
                at = (at + 1) % slots.len();
            }
            slots[at] = *entry;
        }
        let mut out = Vec::new();
        for slot in &slots {
            out.extend_from_slice(&slot.fingerprint.to_le_bytes());
            out.extend_from_slice(&slot.file_index.to_le_bytes());
            out.extend_from_slice(&slot.offset.to_le_bytes());
        }
        out
    }

    #[test]
    fn the_table_is_laid_out_as_the_format_says() {
        // Fingerprints crowded at the top of the range: their home slots
        // are the last ones, so the probes wrap around to slot 0; plus
        // ordinary keys, and duplicate fingerprints (collisions).
        let mut all: Vec<Slot> = (0..40u32)
            .map(|i| Slot {
                fingerprint: u32::MAX - i / 2,
                file_index: i % 2,
                offset: u64::from(i) * 100,
            })
            .collect();
        all.extend(entries(300));
        let meta = {
            let mut m = meta();
            m.entry_count = all.len() as u64;
            m.slot_count = slot_count_for(m.entry_count);
            m
        };
        let bytes = encode(meta.clone(), &all);
        let table = &bytes[meta.slots_at()..meta.crcs_at()];
        assert_eq!(table, reference_table(meta.slot_count, &all).as_slice());
        // The wrap happened: slot 0 holds one of the crowded entries.
        assert!(u32_at(table, 0) >= u32::MAX - 20);
    }

    fn entries(n: u32) -> Vec<Slot> {
        (0..n)
            .map(|i| Slot {
                fingerprint: fingerprint(format!("key-{i}").as_bytes()),
                file_index: i % 2,
                offset: u64::from(i) * 100,
            })
            .collect()
    }

    #[test]
    fn the_hash_function_is_pinned() {
        // Part of the file format: these values must never change.
        assert_eq!(fingerprint(b""), 0xefd0_1f60);
        assert_eq!(fingerprint(b"hello"), 0xe9c5_62c0);
        assert_ne!(fingerprint(b"hello"), fingerprint(b"hellp"));
    }

    #[test]
    fn every_entry_is_found_by_its_fingerprint() {
        let entries = entries(1000);
        let bytes = encode(meta(), &entries);
        let (view, parsed) = HintView::parse(&bytes).unwrap();
        assert_eq!(parsed.entry_count, 1000);
        assert_eq!(parsed.files, meta().files);
        let verified: Vec<AtomicU64> = (0..view.block_count().div_ceil(64))
            .map(|_| AtomicU64::new(0))
            .collect();
        for entry in &entries {
            let found: Vec<Slot> = view
                .probe(entry.fingerprint, &verified)
                .map(|r| r.unwrap().1)
                .collect();
            assert!(found.contains(entry), "{entry:?}");
        }
        assert_eq!(view.probe(fingerprint(b"absent"), &verified).count(), 0);
    }

    #[test]
    fn an_empty_hint_is_valid() {
        let bytes = encode(meta(), &[]);
        let (view, _) = HintView::parse(&bytes).unwrap();
        assert_eq!(view.probe(fingerprint(b"k"), &[]).count(), 0);
    }

    #[test]
    fn slots_cost_under_32_bytes_per_key() {
        for n in [1_000u32, 100_000] {
            let bytes = encode(meta(), &entries(n));
            let per_key = bytes.len() as f64 / f64::from(n);
            assert!(per_key < 32.0, "{n} keys: {per_key} bytes per key");
        }
    }

    #[test]
    fn truncation_and_extension_are_refused() {
        let bytes = encode(meta(), &entries(100));
        for len in [0, 10, 40, 100, bytes.len() - 1] {
            assert!(HintView::parse(&bytes[..len]).is_err(), "length {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(HintView::parse(&longer).is_err());
    }

    #[test]
    fn every_bit_flip_is_caught_by_parse_or_by_a_block_check() {
        let bytes = encode(meta(), &entries(200));
        let (clean, _) = HintView::parse(&bytes).unwrap();
        let blocks = clean.block_count();
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let caught = match HintView::parse(&flipped) {
                Err(_) => true,
                Ok((view, _)) => (0..blocks).any(|b| view.check_block(b).is_err()),
            };
            assert!(caught, "flip of bit {bit} went unnoticed");
        }
    }
}
