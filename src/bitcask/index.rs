//! Where keys are looked up: the hint (immutable, memory-mapped, shared
//! by every reader without a lock) under a sharded overlay of the records
//! written after its watermark; or, without a usable hint, a sharded
//! keydir of the whole store.
//!
//! Every function here reads only: the one writer changes the shards
//! (under its append lock) and replaces the whole `Index` when it falls
//! back from a damaged hint or installs a merge.

use std::collections::HashSet;
use std::sync::Arc;

use super::data_file::{self, DataFile, FileId, FileSet};
use super::hint::Hint;
use super::keydir::{KeydirEntry, Known, Shards};
use crate::error::Error;
use crate::format::file_header::HEADER_LEN;
use crate::format::hint::{Slot, fingerprint};
use crate::format::record::{self, Decoded, Place, RECORD_HEADER_LEN, RecordKind};

/// Keys whose lookups `Index::prefetch` overlaps at most.
pub const PREFETCH_BATCH: usize = 16;

/// A lookup through the hint met something it cannot vouch for.
#[derive(Debug)]
pub struct HintDamaged(pub String);

/// Why a lookup must be retried or abandoned.
#[derive(Debug)]
pub enum Miss {
    /// The hint is damaged: fall back to a full replay.
    Damaged(HintDamaged),
    /// An entry names a file this view of the file set lacks: a merge
    /// moved it meanwhile; look again.
    Moved,
    /// Reading the file failed (an I/O error, not damage): the lookup fails.
    Failed(Error),
}

/// `file.read`, for a place a hint slot names: a place past the end of the
/// file means the hint is damaged; an I/O error is the store's.
fn read_at_slot<'f>(
    file: &'f DataFile,
    offset: u64,
    len: usize,
    what: &str,
) -> Result<std::borrow::Cow<'f, [u8]>, Miss> {
    file.read(offset, len).map_err(|e| match e {
        Error::Corrupt { .. } => Miss::Damaged(HintDamaged(format!("an entry points at {what}"))),
        other => Miss::Failed(other),
    })
}

impl From<HintDamaged> for Miss {
    fn from(d: HintDamaged) -> Miss {
        Miss::Damaged(d)
    }
}

/// The index of a bitcask store.
#[derive(Debug)]
pub struct Index {
    /// The hint, when the store was opened through one.
    pub hint: Option<Arc<Hint>>,
    /// Records after the hint's watermark (deletions included), or every
    /// key when there is no hint. Shared with the index that replaces this
    /// one when a merge retires files.
    pub keys: Arc<Shards>,
    /// Files a merge removed since the hint was written: slots pointing
    /// into them are dead (each live key they held was copied, and the
    /// overlay points at its copy).
    pub retired: HashSet<FileId>,
}

impl Index {
    /// An index of the whole store with no keys yet.
    pub fn full() -> Index {
        Index {
            hint: None,
            keys: Arc::new(Shards::new(false)),
            retired: HashSet::new(),
        }
    }

    /// An empty overlay above `hint`.
    pub fn hinted(hint: Hint) -> Index {
        Index {
            hint: Some(Arc::new(hint)),
            keys: Arc::new(Shards::new(true)),
            retired: HashSet::new(),
        }
    }

    /// Where `key`'s newest value record is, live or expired. With
    /// `verify`, a record found through the hint is checked here; callers
    /// that go on to read the value leave that check to that read.
    pub fn locate(
        &self,
        files: &FileSet,
        key: &[u8],
        verify: bool,
    ) -> Result<Option<KeydirEntry>, Miss> {
        self.locate_hashed(files, key, fingerprint(key), verify)
    }

    /// As `locate`, for a key whose fingerprint `fp` is known.
    pub fn locate_hashed(
        &self,
        files: &FileSet,
        key: &[u8],
        fp: u32,
        verify: bool,
    ) -> Result<Option<KeydirEntry>, Miss> {
        if let Some(known) = self.overlay(key, fp) {
            return Ok(known);
        }
        let Some(hint) = &self.hint else {
            return Ok(None);
        };
        Ok(self
            .hint_lookup(files, hint, key, fp, verify, None)?
            .map(|(_, e)| e))
    }

    /// What the overlay (or full keydir) says of `key`: `Some(Some(entry))`
    /// for a value, `Some(None)` for a deletion, `None` when the hint must
    /// be asked. An overlay nothing was written to (a store opened through
    /// its hint and only read) is neither locked nor probed.
    fn overlay(&self, key: &[u8], fp: u32) -> Option<Option<KeydirEntry>> {
        if !self.keys.written() {
            return None;
        }
        match self.keys.read(fp).get(key) {
            Known::Value(entry) => Some(Some(*entry)),
            Known::Deleted => Some(None),
            Known::Unknown => None,
        }
    }

    /// Starts loading what lookups of `keys` will read (keydir buckets and
    /// hint slots, then the keys and records they point at) into the CPU's
    /// cache, so that a batch of lookups waits for its cache and TLB misses
    /// together rather than one after another. Reads nothing it returns
    /// and checks nothing: each lookup still goes through `locate`.
    /// Returns the keys' fingerprints (the first `PREFETCH_BATCH`), for
    /// `locate_hashed`.
    pub fn prefetch<K: AsRef<[u8]>>(&self, files: &FileSet, keys: &[K]) -> [u32; PREFETCH_BATCH] {
        let fingerprints = self.prefetch_slots(keys);
        self.prefetch_records(files, keys, &fingerprints);
        fingerprints
    }

    /// The first half of `prefetch`: the keys' fingerprints, with their
    /// home keydir buckets and hint slots asked for. A batch pipeline
    /// calls it one batch ahead, so they have arrived when
    /// `prefetch_records` reads them.
    pub fn prefetch_slots<K: AsRef<[u8]>>(&self, keys: &[K]) -> [u32; PREFETCH_BATCH] {
        let mut fingerprints = [0u32; PREFETCH_BATCH];
        for (fp, key) in fingerprints.iter_mut().zip(keys) {
            *fp = fingerprint(key.as_ref());
            self.keys.prefetch(*fp, key.as_ref());
        }
        if let Some(hint) = &self.hint {
            let view = hint.view();
            for fp in fingerprints.iter().take(keys.len()) {
                view.prefetch_home(*fp);
            }
        }
        fingerprints
    }

    /// The second half of `prefetch`: the keydir slots the keys' home
    /// buckets point at, then the keys in the keydir's arena and the
    /// records that those slots or the home hint slots (if they hold the
    /// key's hash or fingerprint) point at, asked for.
    pub fn prefetch_records<K: AsRef<[u8]>>(
        &self,
        files: &FileSet,
        keys: &[K],
        fingerprints: &[u32; PREFETCH_BATCH],
    ) {
        let view = self.hint.as_ref().map(|hint| (hint, hint.view()));
        for (fp, key) in fingerprints.iter().zip(keys) {
            self.keys.prefetch_slot(*fp, key.as_ref());
        }
        for (fp, key) in fingerprints.iter().zip(keys) {
            let key_len = key.as_ref().len();
            // The keydir is asked first, as a lookup does.
            let place = match self.keys.prefetch_key(*fp, key.as_ref()) {
                Some(Ok(entry)) => Some((entry.file_id, entry.offset)),
                // A deletion: no record to read.
                Some(Err(_)) => None,
                None => view.as_ref().and_then(|(hint, view)| {
                    let slot = view.home_guess(*fp)?;
                    Some((hint.file_of(&slot)?, slot.offset))
                }),
            };
            if let Some((id, offset)) = place
                && let Some(file) = files.get(&id)
            {
                file.prefetch(offset, RECORD_HEADER_LEN + key_len + 128);
            }
        }
    }

    /// Upper bound of the keys held (overlay keys may also be in the hint).
    pub fn keys_max(&self) -> u64 {
        self.hint.as_ref().map_or(0, |h| h.entry_count()) + self.keys.len() as u64
    }

    /// Looks `key` up in the hint; returns the slot index and entry, and
    /// reads the value into `value` if given. A candidate whose key differs
    /// is a fingerprint collision and the probe goes on; so is a slot into
    /// a retired file.
    pub fn hint_lookup(
        &self,
        files: &FileSet,
        hint: &Hint,
        key: &[u8],
        fp: u32,
        verify: bool,
        mut value: Option<&mut Vec<u8>>,
    ) -> Result<Option<(u64, KeydirEntry)>, Miss> {
        let view = hint.view();
        for candidate in view.probe(fp, hint.verified()) {
            let (index, slot) = candidate.map_err(|offset| {
                HintDamaged(format!("block at offset {offset} fails its checksum"))
            })?;
            if let Some(entry) =
                self.slot_holds(files, hint, &slot, key, verify, value.as_deref_mut())?
            {
                return Ok(Some((index, entry)));
            }
        }
        Ok(None)
    }

    /// The newest value record of `key` (fingerprint `fp`), live or
    /// expired, with its value read and checked (`data_file::read_value`):
    /// a lookup and the read of its record in one pass, so that a record a
    /// hint slot names is found and read once. A damaged record is
    /// `Miss::Failed` with `Error::Corrupt`.
    pub fn locate_value(
        &self,
        files: &FileSet,
        key: &[u8],
        fp: u32,
    ) -> Result<Option<(KeydirEntry, Vec<u8>)>, Miss> {
        match self.overlay(key, fp) {
            Some(Some(entry)) => {
                let file = files.get(&entry.file_id).ok_or(Miss::Moved)?;
                let mut value = Vec::with_capacity(entry.value_len as usize);
                data_file::read_value(
                    file,
                    key,
                    entry.offset,
                    entry.value_len as usize,
                    &mut value,
                )
                .map_err(Miss::Failed)?;
                Ok(Some((entry, value)))
            }
            Some(None) => Ok(None),
            None => {
                let Some(hint) = &self.hint else {
                    return Ok(None);
                };
                let mut value = Vec::new();
                let found = self.hint_lookup(files, hint, key, fp, false, Some(&mut value))?;
                Ok(found.map(|(_, entry)| (entry, value)))
            }
        }
    }

    /// The data file a hint slot points into; `None` for a retired file.
    fn slot_file<'f>(
        &self,
        files: &'f FileSet,
        hint: &Hint,
        slot: &Slot,
    ) -> Result<Option<(FileId, &'f DataFile)>, Miss> {
        let damaged = |what: &str| HintDamaged(format!("an entry points at {what}"));
        let file_id = hint
            .file_of(slot)
            .ok_or_else(|| damaged("a file outside its table"))?;
        if self.retired.contains(&file_id) {
            return Ok(None);
        }
        match files.get(&file_id) {
            Some(file) => Ok(Some((file_id, file))),
            None => Err(damaged("a missing file").into()),
        }
    }

    /// Whether the record a slot points at holds `key`: its entry if so,
    /// with the value read and checked into `value` if given (a damaged
    /// record of the key is then `Miss::Failed`, as `data_file::read_value`
    /// says, not a damaged hint: the slot did lead to the key).
    fn slot_holds(
        &self,
        files: &FileSet,
        hint: &Hint,
        slot: &Slot,
        key: &[u8],
        verify: bool,
        value: Option<&mut Vec<u8>>,
    ) -> Result<Option<KeydirEntry>, Miss> {
        let damaged = |what: &str| HintDamaged(format!("an entry points at {what}"));
        let Some((file_id, file)) = self.slot_file(files, hint, slot)? else {
            return Ok(None);
        };
        let head_len = RECORD_HEADER_LEN + key.len();
        let head = read_at_slot(
            file,
            slot.offset,
            head_len.min((file.len().saturating_sub(slot.offset)) as usize),
            "a place past the end of its file",
        )?;
        let holds_key = |raw: &record::RawHeader| {
            head.len() == head_len && raw.key_len == key.len() && &head[RECORD_HEADER_LEN..] == key
        };
        let Some(raw) = record::peek_header(&head).filter(holds_key) else {
            // Another key with the same fingerprint -- but only if that
            // record checks out: damage to a key must never read as "absent".
            self.record_at_slot(files, hint, slot)?;
            return Ok(None);
        };
        if !raw.is_plain_value() || !raw.lengths_within_limits() {
            return Err(damaged("something that is not a value record").into());
        }
        let entry = KeydirEntry {
            file_id,
            offset: slot.offset,
            value_len: raw.value_len as u32,
            expiry_ms: raw.expiry_ms,
            // The probe only yields slots of the key's own fingerprint.
            fingerprint: slot.fingerprint,
        };
        if verify {
            let bytes = read_at_slot(
                file,
                slot.offset,
                record::encoded_len(key.len(), raw.value_len),
                "a record past the end of its file",
            )?;
            let place = Place::new(file.uid(), slot.offset);
            if !matches!(record::decode(&bytes, place), Decoded::Record(rec, _) if rec.key == key) {
                return Err(damaged("a record that fails its checks").into());
            }
        }
        if let Some(value) = value {
            value.reserve(raw.value_len);
            data_file::read_value(file, key, slot.offset, raw.value_len, value)
                .map_err(Miss::Failed)?;
        }
        Ok(Some(entry))
    }

    /// Reads and checks the record a hint slot points at: its key and
    /// entry; `None` for a slot into a retired file.
    pub fn record_at_slot(
        &self,
        files: &FileSet,
        hint: &Hint,
        slot: &Slot,
    ) -> Result<Option<(Vec<u8>, KeydirEntry)>, Miss> {
        let damaged = |what: &str| HintDamaged(format!("an entry points at {what}"));
        let Some((file_id, file)) = self.slot_file(files, hint, slot)? else {
            return Ok(None);
        };
        let header = read_at_slot(
            file,
            slot.offset,
            RECORD_HEADER_LEN,
            "a place past the end of its file",
        )?;
        let raw = record::peek_header(&header).expect("a whole header was read");
        if !raw.lengths_within_limits() {
            return Err(damaged("something that is not a record").into());
        }
        let bytes = read_at_slot(
            file,
            slot.offset,
            record::encoded_len(raw.key_len, raw.value_len),
            "a record past the end of its file",
        )?;
        match record::decode(&bytes, Place::new(file.uid(), slot.offset)) {
            Decoded::Record(rec, _) if rec.kind == RecordKind::Value => Ok(Some((
                rec.key.to_vec(),
                KeydirEntry {
                    file_id,
                    offset: slot.offset,
                    value_len: rec.value.len() as u32,
                    expiry_ms: rec.expiry_ms,
                    fingerprint: fingerprint(rec.key),
                },
            ))),
            _ => Err(damaged("something that is not a valid value record").into()),
        }
    }

    /// Every key whose newest record is a value, with its entry (expired
    /// included). Each shard is read under its own lock in turn, so the
    /// listing is consistent per key, not across keys; a key live
    /// throughout is always listed: the hint is read before the overlay,
    /// and a key only ever moves from the hint into the overlay.
    pub fn all_entries(&self, files: &FileSet) -> Result<Vec<(Vec<u8>, KeydirEntry)>, Miss> {
        // A hint holds each key once and the overlay's keys are left out
        // of it below, so a list needs no map to stay free of duplicates
        // (a map cost most of a whole-store listing: hashing every key).
        let mut entries: Vec<(Vec<u8>, KeydirEntry)> = Vec::new();
        if let Some(hint) = &self.hint {
            for_each_slot(hint, |index, slot| {
                let Some((key, entry)) = self.record_at_slot(files, hint, &slot)? else {
                    return Ok(());
                };
                let fp = fingerprint(&key);
                if fp != slot.fingerprint {
                    return Err(
                        HintDamaged(format!("slot {index} holds a wrong fingerprint")).into(),
                    );
                }
                if self.keys.read(fp).get(&key) == Known::Unknown {
                    entries.push((key, entry));
                }
                Ok(())
            })?;
        }
        for shard in self.keys.all() {
            for (key, entry) in shard.values() {
                entries.push((key.to_vec(), *entry));
            }
        }
        Ok(entries)
    }

    /// The slots of a new hint over the files in `position` (ascending):
    /// the old hint's entries not superseded by the overlay, and the
    /// overlay's values. The caller holds the append lock, so the overlay
    /// does not change meanwhile.
    pub fn hint_entries(&self, files: &FileSet, position: &[FileId]) -> Result<Vec<Slot>, Miss> {
        let index_of = |id: &FileId| position.binary_search(id).ok().map(|i| i as u32);
        let slot_for = |entry: &KeydirEntry| Slot {
            fingerprint: entry.fingerprint,
            file_index: index_of(&entry.file_id).expect("every entry's file is listed"),
            offset: entry.offset,
        };
        let mut slots = Vec::new();
        let mut superseded = HashSet::new();
        for shard in self.keys.all() {
            slots.extend(shard.entries().map(slot_for));
            if let Some(hint) = &self.hint {
                for key in shard.keys() {
                    if let Some((index, _)) =
                        self.hint_lookup(files, hint, key, fingerprint(key), false, None)?
                    {
                        superseded.insert(index);
                    }
                }
            }
        }
        let Some(hint) = &self.hint else {
            return Ok(slots);
        };
        for_each_slot(hint, |index, slot| {
            if superseded.contains(&index) {
                return Ok(());
            }
            let file_id = hint.file_of(&slot).ok_or_else(|| {
                HintDamaged(format!("slot {index} names a file outside its table"))
            })?;
            if self.retired.contains(&file_id) {
                return Ok(());
            }
            let file_index = index_of(&file_id)
                .ok_or_else(|| HintDamaged(format!("slot {index} names a missing file")))?;
            // Copied without reading its record: what a new hint cannot
            // hold (no fingerprint, or a place inside a file header) is
            // the old one lying, and the rebuild falls back to a replay.
            if slot.fingerprint == 0 || slot.offset < HEADER_LEN as u64 {
                return Err(HintDamaged(format!("slot {index} holds an impossible entry")).into());
            }
            slots.push(Slot { file_index, ..slot });
            Ok(())
        })?;
        Ok(slots)
    }
}

/// Calls `f(index, slot)` for every occupied slot of the hint, checking
/// each block's CRC before its slots are used.
pub fn for_each_slot(
    hint: &Hint,
    mut f: impl FnMut(u64, Slot) -> Result<(), Miss>,
) -> Result<(), Miss> {
    let view = hint.view();
    for block in 0..view.block_count() {
        view.check_block(block).map_err(|offset| {
            HintDamaged(format!("block at offset {offset} fails its checksum"))
        })?;
        for index in view.block_slots(block) {
            if let Some(slot) = view.slot(index) {
                f(index, slot)?;
            }
        }
    }
    Ok(())
}
