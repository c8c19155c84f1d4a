//! The hint codec: an immutable open-addressing hash table of the keydir as
//! of a watermark, laid out to be used straight from a memory map. Keys are
//! not stored: a slot holds the key's 32-bit fingerprint and where its
//! newest record lives, and every lookup reads that record and checks its
//! CRC and key. Slots are grouped in blocks of 64, each with its own CRC32,
//! so a lookup checks only the one or two blocks it touches.
//!
//! Two slot layouts. *Packed* (written whenever the file table fits): an
//! 8-byte word per slot (the fingerprint's low 16 bits, the offset and the
//! file index), and the fingerprints' high 16 bits in an array of their
//! own after the words. A lookup reads only the words, so the part of the
//! table a random get touches is 8 bytes a slot, not 16, and more of it
//! stays in the CPU's cache; a rebuild or a merge reads both and has every
//! fingerprint whole. *Wide* (16 bytes a slot), written by earlier builds
//! and when a place does not fit 48 bits.
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
//!     92               4            slot_layout         0 = wide, 1 = packed
//!     96               4            offset_bits         packed: 1..=47; wide: 0
//!    100               8            reserved            zero
//!    108               4            crc32               over bytes 48..108 and the file table
//!    112     32*file_count          file table          (file_id u64, uid u64, len u64, records u64) per data file
//! wide:
//!      S     16*slot_count          slots               (fingerprint u32, file_index u32, offset u64)
//! packed:
//!      S      8*slot_count          words               u64: fingerprint & 0xffff | offset << 16
//!                                                            | file_index << (16 + offset_bits); 0 = empty
//!      H      2*slot_count          high halves         u16: fingerprint >> 16
//! both:
//!      C  4*ceil(slots/64)          block crc32s        one per 64 slots, over their slots
//!                                                       (packed: their words, then their high halves)
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use super::file_header::{FileHeader, HEADER_LEN, HeaderError};
use super::{u32_at, u64_at};

/// Magic bytes of a hint file.
pub const HINT_MAGIC: [u8; 8] = *b"HOARDHNT";
/// Slots per checksummed block.
pub const BLOCK_SLOTS: usize = 64;
/// Identifier of the hash function (FNV-1a 64 then MurmurHash3's fmix64).
pub const HASH_ID: u32 = 1;

const META_AT: usize = HEADER_LEN;
const META_LEN: usize = 64;
const TABLE_AT: usize = META_AT + META_LEN;
const TABLE_ENTRY_LEN: usize = 32;
/// Bits of a packed word that hold the place (file index and offset).
const PLACE_BITS: u32 = 48;
/// Bits of a packed word that hold the fingerprint's low half.
const TAG_BITS: u32 = 64 - PLACE_BITS;

/// The fixed hash of a key, as stored in the hint: FNV-1a 64 over the
/// bytes, MurmurHash3's fmix64 finaliser, the high 32 bits, and 0 mapped
/// to 1 (0 marks an empty wide slot). Part of the file format: never
/// change it without a new `HASH_ID`.
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

/// How a table's slots are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 16-byte slots (load at most 0.75).
    Wide,
    /// 8-byte words plus 2-byte high halves (load at most 0.8).
    Packed {
        /// Bits of a word's offset; its file index has `48 - offset_bits`.
        offset_bits: u32,
    },
}

impl Layout {
    /// The layout for a table over `file_count` files whose entries all
    /// start below `offset_end`: packed whenever both fit its 48 bits.
    pub fn choose(file_count: usize, offset_end: u64) -> Layout {
        let offset_bits = (u64::BITS - offset_end.leading_zeros()).max(1);
        let fits =
            offset_bits < PLACE_BITS && (file_count as u64) <= 1 << (PLACE_BITS - offset_bits);
        if fits {
            Layout::Packed { offset_bits }
        } else {
            Layout::Wide
        }
    }

    /// Bytes per slot in the part a lookup reads.
    fn probe_len(self) -> usize {
        match self {
            Layout::Wide => 16,
            Layout::Packed { .. } => 8,
        }
    }

    /// Bytes per slot in all.
    fn slot_len(self) -> usize {
        match self {
            Layout::Wide => 16,
            Layout::Packed { .. } => 10,
        }
    }

    /// Number of slots for a table of `entry_count` entries.
    pub fn slot_count_for(self, entry_count: u64) -> u64 {
        match self {
            Layout::Wide => entry_count * 4 / 3 + 1,
            Layout::Packed { .. } => entry_count * 5 / 4 + 1,
        }
    }

    fn code(self) -> (u32, u32) {
        match self {
            Layout::Wide => (0, 0),
            Layout::Packed { offset_bits } => (1, offset_bits),
        }
    }

    fn from_code(code: u32, offset_bits: u32) -> Option<Layout> {
        match (code, offset_bits) {
            (0, 0) => Some(Layout::Wide),
            (1, 1..PLACE_BITS) => Some(Layout::Packed { offset_bits }),
            _ => None,
        }
    }
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
    /// How the slots are laid out.
    pub layout: Layout,
    /// Every data file the hint knows, as it was when the hint was written.
    pub files: Vec<HintFile>,
}

impl HintMeta {
    /// The metadata of a hint to write; `encode` sets the counts and the layout.
    pub fn new(watermark_file_id: u64, watermark_offset: u64, files: Vec<HintFile>) -> HintMeta {
        HintMeta {
            watermark_file_id,
            watermark_offset,
            entry_count: 0,
            slot_count: 0,
            layout: Layout::Wide,
            files,
        }
    }

    fn slots_at(&self) -> usize {
        TABLE_AT + self.files.len() * TABLE_ENTRY_LEN
    }

    fn highs_at(&self) -> usize {
        self.slots_at() + self.slot_count as usize * self.layout.probe_len()
    }

    fn crcs_at(&self) -> usize {
        self.slots_at() + self.slot_count as usize * self.layout.slot_len()
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
    /// Intact, in a slot layout this build does not know (a newer hoard's).
    UnknownLayout(u32),
}

/// Encodes a whole hint file. `entries` hold distinct keys' fingerprints
/// (never 0) and places; the counts and the layout of `meta` are set
/// here, the layout chosen so that every entry fits it.
pub fn encode(mut meta: HintMeta, entries: &[Slot]) -> Vec<u8> {
    let file_count = meta.files.len().max(
        entries
            .iter()
            .map(|e| e.file_index as usize + 1)
            .max()
            .unwrap_or(0),
    );
    let offset_end = meta
        .files
        .iter()
        .map(|f| f.len)
        .chain(entries.iter().map(|e| e.offset.saturating_add(1)))
        .max()
        .unwrap_or(0);
    // A packed word of 0 is an empty slot, so an entry at offset 0 (inside
    // a file header: only a lying hint's) is written wide, where it
    // reads back as it was and fails its record's checks.
    let layout = if entries.iter().any(|e| e.offset == 0) {
        Layout::Wide
    } else {
        Layout::choose(file_count, offset_end)
    };
    meta.layout = layout;
    meta.entry_count = entries.len() as u64;
    meta.slot_count = layout.slot_count_for(meta.entry_count);
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
    let (layout_code, offset_bits) = layout.code();
    out.extend_from_slice(&layout_code.to_le_bytes());
    out.extend_from_slice(&offset_bits.to_le_bytes());
    out.extend_from_slice(&[0u8; 8]);
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
    // is 12 MB, and building it apart and then serialising it cost a
    // second pass over all of it.
    let slots_at = meta.slots_at();
    debug_assert_eq!(out.len(), slots_at);
    out.resize(meta.crcs_at(), 0);
    let (slots, highs) = out[slots_at..].split_at_mut(meta.highs_at() - slots_at);
    let (slot_count, probe_len) = (meta.slot_count as usize, layout.probe_len());
    for entry in entries {
        assert_ne!(entry.fingerprint, 0, "a hint entry without a fingerprint");
        let mut at = home_slot(entry.fingerprint, meta.slot_count) as usize;
        // An empty slot is all zeros in both layouts: a wide slot's
        // fingerprint is never 0, nor a packed word's offset.
        while slots[at * probe_len..(at + 1) * probe_len]
            .iter()
            .any(|b| *b != 0)
        {
            at += 1;
            if at == slot_count {
                at = 0;
            }
        }
        let slot = &mut slots[at * probe_len..(at + 1) * probe_len];
        match layout {
            Layout::Wide => {
                slot[..4].copy_from_slice(&entry.fingerprint.to_le_bytes());
                slot[4..8].copy_from_slice(&entry.file_index.to_le_bytes());
                slot[8..].copy_from_slice(&entry.offset.to_le_bytes());
            }
            Layout::Packed { offset_bits } => {
                let word = u64::from(entry.fingerprint & 0xffff)
                    | entry.offset << TAG_BITS
                    | u64::from(entry.file_index) << (TAG_BITS + offset_bits);
                slot.copy_from_slice(&word.to_le_bytes());
                highs[at * 2..at * 2 + 2]
                    .copy_from_slice(&((entry.fingerprint >> 16) as u16).to_le_bytes());
            }
        }
    }
    for block in 0..meta.block_count() {
        let crc = block_crc(&out, Geometry::of(&meta), block);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    debug_assert_eq!(out.len(), meta.file_len());
    out
}

/// The CRC of block `block` of a table of `slot_count` slots laid out as
/// `layout` from `slots_at`: of its slots (for a packed table, their words
/// and then their high halves, which start at `highs_at`).
fn block_crc(bytes: &[u8], geometry: Geometry, block: usize) -> u32 {
    let first = block * BLOCK_SLOTS;
    let end = (first + BLOCK_SLOTS).min(geometry.slot_count as usize);
    let len = geometry.layout.probe_len();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes[geometry.slots_at + first * len..geometry.slots_at + end * len]);
    if let Layout::Packed { .. } = geometry.layout {
        crc.update(&bytes[geometry.highs_at + first * 2..geometry.highs_at + end * 2]);
    }
    crc.finalize()
}

/// Where a table's parts lie in its file.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    slot_count: u64,
    layout: Layout,
    slots_at: usize,
    highs_at: usize,
    crcs_at: usize,
}

impl Geometry {
    fn of(meta: &HintMeta) -> Geometry {
        Geometry {
            slot_count: meta.slot_count,
            layout: meta.layout,
            slots_at: meta.slots_at(),
            highs_at: meta.highs_at(),
            crcs_at: meta.crcs_at(),
        }
    }
}

/// A view of hint bytes (typically a memory map) whose header and layout
/// have been checked; slot blocks are checked as they are used.
#[derive(Debug, Clone, Copy)]
pub struct HintView<'a> {
    bytes: &'a [u8],
    g: Geometry,
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
        let layout_code = u32_at(bytes, META_AT + 44);
        if layout_code > 1 {
            return Err(HintError::UnknownLayout(layout_code));
        }
        let layout = Layout::from_code(layout_code, u32_at(bytes, META_AT + 48));
        let Some(layout) = layout.filter(|_| {
            u32_at(bytes, META_AT + 36) as usize == BLOCK_SLOTS
                && u32_at(bytes, META_AT + 40) == HASH_ID
                && bytes[META_AT + 52..META_AT + 60].iter().all(|b| *b == 0)
        }) else {
            return Err(damaged("unknown table parameters"));
        };
        let meta = HintMeta {
            watermark_file_id: u64_at(bytes, META_AT),
            watermark_offset: u64_at(bytes, META_AT + 8),
            entry_count: u64_at(bytes, META_AT + 16),
            slot_count: u64_at(bytes, META_AT + 24),
            layout,
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
            g: Geometry::of(meta),
        }
    }

    /// Number of checksummed blocks of slots.
    pub fn block_count(&self) -> usize {
        (self.g.slot_count as usize).div_ceil(BLOCK_SLOTS)
    }

    /// The indices of block `block`'s slots (the last block may be shorter).
    pub fn block_slots(&self, block: usize) -> std::ops::Range<u64> {
        let first = (block * BLOCK_SLOTS) as u64;
        first..(first + BLOCK_SLOTS as u64).min(self.g.slot_count)
    }

    /// Byte offset of block `block` within the file (for messages).
    pub fn block_offset(&self, block: usize) -> u64 {
        (self.g.slots_at + block * BLOCK_SLOTS * self.g.layout.probe_len()) as u64
    }

    /// Byte offset of the high halves of block `block`'s slots, for a
    /// packed table (for messages: a block's CRC covers them too).
    pub fn block_highs_offset(&self, block: usize) -> Option<u64> {
        match self.g.layout {
            Layout::Wide => None,
            Layout::Packed { .. } => Some((self.g.highs_at + block * BLOCK_SLOTS * 2) as u64),
        }
    }

    /// Byte offset of slot `index` within the file (for messages).
    pub fn slot_offset(&self, index: u64) -> u64 {
        (self.g.slots_at + index as usize * self.g.layout.probe_len()) as u64
    }

    /// Bytes per slot where a slot's offset points.
    pub fn slot_len(&self) -> u64 {
        self.g.layout.probe_len() as u64
    }

    /// Checks one block's CRC; `Err` carries the block's byte offset.
    pub fn check_block(&self, block: usize) -> Result<(), u64> {
        let stored = u32_at(self.bytes, self.g.crcs_at + block * 4);
        if block_crc(self.bytes, self.g, block) == stored {
            Ok(())
        } else {
            Err(self.block_offset(block))
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
        self.g.slot_count
    }

    /// Slot `index`, whole, or `None` if it is empty; unchecked (check
    /// its block first).
    pub fn slot(&self, index: u64) -> Option<Slot> {
        let (_, slot) = self.probe_word(index);
        let slot = slot?;
        Some(match self.g.layout {
            Layout::Wide => slot,
            Layout::Packed { .. } => {
                let at = self.g.highs_at + index as usize * 2;
                let high = u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]);
                Slot {
                    fingerprint: u32::from(high) << 16 | slot.fingerprint,
                    ..slot
                }
            }
        })
    }

    /// What a lookup reads of slot `index`: the part of its fingerprint
    /// it keeps there (all of a wide one's, the low 16 bits of a packed
    /// one's) and its place, `None` if it is empty. Unchecked.
    fn probe_word(&self, index: u64) -> (u32, Option<Slot>) {
        match self.g.layout {
            Layout::Wide => {
                let at = self.g.slots_at + index as usize * 16;
                let slot = Slot {
                    fingerprint: u32_at(self.bytes, at),
                    file_index: u32_at(self.bytes, at + 4),
                    offset: u64_at(self.bytes, at + 8),
                };
                (slot.fingerprint, (slot.fingerprint != 0).then_some(slot))
            }
            Layout::Packed { offset_bits } => {
                let word = u64_at(self.bytes, self.g.slots_at + index as usize * 8);
                let low = u32::from(word as u16);
                let slot = Slot {
                    fingerprint: low,
                    // Past u32 only in a damaged word: an index outside
                    // any file table, which its users report.
                    file_index: u32::try_from(word >> (TAG_BITS + offset_bits)).unwrap_or(u32::MAX),
                    offset: (word >> TAG_BITS) & ((1 << offset_bits) - 1),
                };
                (low, (word != 0).then_some(slot))
            }
        }
    }

    /// What a slot of this table keeps of `fingerprint` where a lookup reads.
    fn probe_tag(&self, fingerprint: u32) -> u32 {
        match self.g.layout {
            Layout::Wide => fingerprint,
            Layout::Packed { .. } => fingerprint & 0xffff,
        }
    }

    /// Starts loading the slot a lookup of `fingerprint` examines first
    /// into the CPU's cache (`mmap::prefetch`).
    pub fn prefetch_home(&self, fingerprint: u32) {
        if self.g.slot_count == 0 {
            return;
        }
        let len = self.g.layout.probe_len();
        let at = self.g.slots_at + home_slot(fingerprint, self.g.slot_count) as usize * len;
        crate::mmap::prefetch(&self.bytes[at..at + len]);
    }

    /// The first slot that may hold `fingerprint` among the few a lookup
    /// of it examines first, yielded as `probe` yields it; unchecked, so
    /// only a guess of where the record is (for a prefetch: the lookup
    /// proper checks the block).
    pub fn home_guess(&self, fingerprint: u32) -> Option<Slot> {
        const LOOK: u64 = 8;
        if self.g.slot_count == 0 {
            return None;
        }
        let home = home_slot(fingerprint, self.g.slot_count);
        let tag = self.probe_tag(fingerprint);
        for step in 0..LOOK.min(self.g.slot_count) {
            match self.probe_word((home + step) % self.g.slot_count) {
                (_, None) => return None,
                (low, Some(slot)) if low == tag => {
                    return Some(Slot {
                        fingerprint,
                        ..slot
                    });
                }
                _ => {}
            }
        }
        None
    }

    /// The slots a lookup of `fingerprint` must examine, in probe order,
    /// with their indices; each block is checked (once, with `verified`)
    /// before its slots are used: `Err(offset)` names a damaged block.
    /// A packed table's slots are matched by the low half of the
    /// fingerprint only, and yielded with the fingerprint asked for: the
    /// record they lead to says whether they hold the key.
    pub fn probe<'v>(&'v self, fingerprint: u32, verified: &'v [AtomicU64]) -> Probe<'v, 'a> {
        Probe {
            view: self,
            verified,
            fingerprint,
            tag: self.probe_tag(fingerprint),
            at: home_slot(fingerprint, self.g.slot_count),
            steps: 0,
            checked_block: None,
        }
    }
}

/// Iterator over the slots that may hold a fingerprint, stopping at an
/// empty slot.
#[derive(Debug)]
pub struct Probe<'v, 'a> {
    view: &'v HintView<'a>,
    verified: &'v [AtomicU64],
    fingerprint: u32,
    tag: u32,
    at: u64,
    steps: u64,
    checked_block: Option<usize>,
}

impl Iterator for Probe<'_, '_> {
    /// A slot that may hold the fingerprint and its index, or the offset of a damaged block.
    type Item = Result<(u64, Slot), u64>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.steps >= self.view.g.slot_count {
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
            let (tag, slot) = self.view.probe_word(index);
            self.at += 1;
            if self.at == self.view.g.slot_count {
                self.at = 0;
            }
            self.steps += 1;
            let Some(slot) = slot else {
                self.steps = u64::MAX;
                return None;
            };
            if tag == self.tag {
                let fingerprint = self.fingerprint;
                return Some(Ok((
                    index,
                    Slot {
                        fingerprint,
                        ..slot
                    },
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file table of two files; `big` makes the second one too long for
    /// a packed table's places, so that the table is written wide.
    fn meta(big: bool) -> HintMeta {
        HintMeta::new(
            7 << 16,
            4096,
            vec![
                HintFile {
                    id: 1 << 16,
                    uid: 11,
                    len: 1000,
                    records: 3,
                },
                HintFile {
                    id: 7 << 16,
                    uid: 77,
                    len: if big { 1 << 47 } else { 4096 },
                    records: 9,
                },
            ],
        )
    }

    /// The table as FORMAT.md describes it, built the plain way: a vector
    /// of slots, each entry placed by linear probing from its home slot,
    /// then serialised slot by slot.
    fn reference_table(layout: Layout, slot_count: u64, entries: &[Slot]) -> Vec<u8> {
        let empty = Slot {
            fingerprint: 0,
            file_index: 0,
            offset: 0,
        };
        let mut slots = vec![empty; slot_count as usize];
        for entry in entries {
            let mut at = home_slot(entry.fingerprint, slot_count) as usize;
            while slots[at].fingerprint != 0 {
                at = (at + 1) % slots.len();
            }
            slots[at] = *entry;
        }
        let mut out = Vec::new();
        match layout {
            Layout::Wide => {
                for slot in &slots {
                    out.extend_from_slice(&slot.fingerprint.to_le_bytes());
                    out.extend_from_slice(&slot.file_index.to_le_bytes());
                    out.extend_from_slice(&slot.offset.to_le_bytes());
                }
            }
            Layout::Packed { offset_bits } => {
                for slot in &slots {
                    let word = if slot.fingerprint == 0 {
                        0
                    } else {
                        u64::from(slot.fingerprint & 0xffff)
                            | slot.offset << 16
                            | u64::from(slot.file_index) << (16 + offset_bits)
                    };
                    out.extend_from_slice(&word.to_le_bytes());
                }
                for slot in &slots {
                    out.extend_from_slice(&((slot.fingerprint >> 16) as u16).to_le_bytes());
                }
            }
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
                offset: 48 + u64::from(i) * 100,
            })
            .collect();
        all.extend(entries(300));
        for (big, layout) in [
            (false, Layout::Packed { offset_bits: 13 }),
            (true, Layout::Wide),
        ] {
            let bytes = encode(meta(big), &all);
            let (_, parsed) = HintView::parse(&bytes).unwrap();
            assert_eq!(parsed.layout, layout);
            assert_eq!(parsed.slot_count, layout.slot_count_for(all.len() as u64));
            let table = &bytes[parsed.slots_at()..parsed.crcs_at()];
            let reference = reference_table(layout, parsed.slot_count, &all);
            assert_eq!(table, reference.as_slice(), "{layout:?}");
            // The wrap happened: slot 0 holds one of the crowded entries.
            let view = HintView::trusted(&bytes, &parsed);
            assert!(
                view.slot(0).unwrap().fingerprint >= u32::MAX - 20,
                "{layout:?}"
            );
        }
    }

    fn entries(n: u32) -> Vec<Slot> {
        (0..n)
            .map(|i| Slot {
                fingerprint: fingerprint(format!("key-{i}").as_bytes()),
                file_index: i % 2,
                offset: 48 + u64::from(i) * 10,
            })
            .collect()
    }

    fn verified_for(view: &HintView) -> Vec<AtomicU64> {
        (0..view.block_count().div_ceil(64))
            .map(|_| AtomicU64::new(0))
            .collect()
    }

    /// The slots a probe of `fingerprint` yields (every block checked).
    fn probed(view: &HintView, fingerprint: u32) -> Vec<Slot> {
        view.probe(fingerprint, &verified_for(view))
            .map(|r| r.unwrap().1)
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
    fn a_table_is_packed_when_its_places_fit_48_bits() {
        // 64 MiB files: 27 bits of offset, 21 of file index.
        assert_eq!(
            Layout::choose(3, 64 << 20),
            Layout::Packed { offset_bits: 27 }
        );
        assert_eq!(
            Layout::choose(1 << 21, 64 << 20),
            Layout::Packed { offset_bits: 27 }
        );
        assert_eq!(Layout::choose((1 << 21) + 1, 64 << 20), Layout::Wide);
        // The largest files (1 TiB) leave 7 bits of file index.
        assert_eq!(
            Layout::choose(128, 1 << 40),
            Layout::Packed { offset_bits: 41 }
        );
        assert_eq!(Layout::choose(129, 1 << 40), Layout::Wide);
        assert_eq!(Layout::choose(1, 1 << 47), Layout::Wide);
        // An entry past its file's recorded length still gets a layout
        // it fits (a lying hint must encode, to be found lying).
        let mut far = entries(10);
        far[3].offset = 1 << 46;
        let bytes = encode(meta(false), &far);
        let (view, parsed) = HintView::parse(&bytes).unwrap();
        assert_eq!(parsed.layout, Layout::Packed { offset_bits: 47 });
        assert!(probed(&view, far[3].fingerprint).contains(&far[3]));
    }

    #[test]
    fn every_entry_is_found_by_its_fingerprint_and_read_back_whole() {
        let entries = entries(1000);
        for big in [false, true] {
            let bytes = encode(meta(big), &entries);
            let (view, parsed) = HintView::parse(&bytes).unwrap();
            assert_eq!(parsed.entry_count, 1000);
            assert_eq!(parsed.files, meta(big).files);
            let verified = verified_for(&view);
            let mut guessed = 0;
            for entry in &entries {
                let found: Vec<Slot> = view
                    .probe(entry.fingerprint, &verified)
                    .map(|r| r.unwrap().1)
                    .collect();
                assert!(found.contains(entry), "{entry:?}");
                // A guess looks at a few slots only: mostly it finds the
                // entry itself.
                if view.home_guess(entry.fingerprint) == Some(*entry) {
                    guessed += 1;
                }
            }
            assert!(guessed > 900, "{guessed} of 1000 guessed right (big={big})");
            // Reading every slot gives back every entry whole.
            let mut whole: Vec<Slot> = (0..view.slot_count())
                .filter_map(|i| view.slot(i))
                .collect();
            whole.sort_by_key(|s| s.offset);
            assert_eq!(whole, entries);
            assert_eq!(view.probe(fingerprint(b"absent"), &verified).count(), 0);
            // A probe stops at the first empty slot: a fingerprint whose
            // low half is an entry's but whose home is half the table
            // away finds nothing, though a probe that went on would meet
            // that entry (a packed one by its low half).
            let far = entries[0].fingerprint ^ 0x8000_0000;
            assert!(entries.iter().all(|e| e.fingerprint != far));
            assert_eq!(view.probe(far, &verified).count(), 0, "big={big}");
        }
    }

    /// `bytes` with the metadata's bytes `at..at + 4` set to `value` and
    /// its CRC made right again.
    fn with_meta_u32(bytes: &[u8], at: usize, value: u32) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out[at..at + 4].copy_from_slice(&value.to_le_bytes());
        let files = u32_at(&out, META_AT + 32) as usize;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&out[META_AT..META_AT + 60]);
        crc.update(&out[TABLE_AT..TABLE_AT + files * TABLE_ENTRY_LEN]);
        let crc = crc.finalize();
        out[META_AT + 60..META_AT + 64].copy_from_slice(&crc.to_le_bytes());
        out
    }

    #[test]
    fn impossible_layout_fields_are_refused_even_under_a_good_checksum() {
        let packed = encode(meta(false), &entries(100));
        let wide = encode(meta(true), &entries(100));
        assert!(HintView::parse(&with_meta_u32(&packed, 92, 1)).is_ok());
        for (bytes, at, value) in [
            (&packed, 96, 0),
            (&packed, 96, 48),
            (&packed, 96, 63),
            (&packed, 96, u32::MAX),
            (&wide, 96, 5),
            (&packed, 100, 1),
            (&packed, 104, 1),
        ] {
            let changed = with_meta_u32(bytes, at, value);
            assert!(
                matches!(HintView::parse(&changed), Err(HintError::Damaged(_))),
                "bytes {at}.. = {value}"
            );
        }
        // A layout this build does not know is a newer build's, not damage.
        assert_eq!(
            HintView::parse(&with_meta_u32(&packed, 92, 2)).unwrap_err(),
            HintError::UnknownLayout(2)
        );
    }

    #[test]
    fn an_entry_at_offset_0_is_written_wide_and_read_back_as_it_was() {
        let mut all = entries(50);
        all[7].offset = 0;
        let bytes = encode(meta(false), &all);
        let (view, parsed) = HintView::parse(&bytes).unwrap();
        assert_eq!(parsed.layout, Layout::Wide);
        assert!(probed(&view, all[7].fingerprint).contains(&all[7]));
    }

    #[test]
    fn an_empty_hint_is_valid() {
        let bytes = encode(meta(false), &[]);
        let (view, _) = HintView::parse(&bytes).unwrap();
        assert_eq!(view.probe(fingerprint(b"k"), &[]).count(), 0);
    }

    #[test]
    fn slots_cost_under_13_bytes_per_key_packed_and_22_wide() {
        for (big, bound) in [(false, 13.0), (true, 22.0)] {
            for n in [1_000u32, 100_000] {
                let mut m = meta(big);
                m.files[1].len = 1 << 30;
                if big {
                    m.files[1].len = 1 << 47;
                }
                let bytes = encode(m, &entries(n));
                let per_key = bytes.len() as f64 / f64::from(n);
                assert!(
                    per_key < bound,
                    "{n} keys, big={big}: {per_key} bytes per key"
                );
            }
        }
    }

    #[test]
    fn truncation_and_extension_are_refused() {
        for big in [false, true] {
            let bytes = encode(meta(big), &entries(100));
            for len in [0, 10, 40, 100, bytes.len() - 1] {
                assert!(HintView::parse(&bytes[..len]).is_err(), "length {len}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(HintView::parse(&longer).is_err());
        }
    }

    #[test]
    fn every_bit_flip_is_caught_by_parse_or_by_a_block_check() {
        for big in [false, true] {
            let bytes = encode(meta(big), &entries(200));
            let (clean, _) = HintView::parse(&bytes).unwrap();
            let blocks = clean.block_count();
            for bit in 0..bytes.len() * 8 {
                let mut flipped = bytes.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                let caught = match HintView::parse(&flipped) {
                    Err(_) => true,
                    Ok((view, _)) => (0..blocks).any(|b| view.check_block(b).is_err()),
                };
                assert!(caught, "flip of bit {bit} went unnoticed (big={big})");
            }
        }
    }
}
