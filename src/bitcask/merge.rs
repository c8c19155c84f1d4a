//! Merge: rewrite the live, unexpired records of every data file into new
//! files and remove the old ones, reclaiming the space of overwritten,
//! deleted and expired records.
//!
//! What is live comes from the index, not from a replay: the places the
//! hint's slots and the overlay point at, sorted by file and offset, are
//! matched against the records as one sequential pass reads (and checks)
//! every record of every file; a hint slot is live when the overlay does
//! not know its key. No key is copied into memory and no keydir is built:
//! the new index is the hint written for the outputs. What a merge copies
//! is permanent, so the same scan checks that the hint names each key's
//! newest record (`HintCheck`); a hint that lies falls back to a replay.
//!
//! The merge runs under the exclusive lock and covers every data file,
//! the active one included, so no file outside it can hold an older record
//! of any key: every tombstone can be dropped. Crash safety rests on the
//! file list being the one commit point:
//!
//! 1. Outputs are written under temporary names with ids *newer* than every
//!    old file, each sealed by its footer, fsynced, then renamed (directory
//!    fsynced). They are not listed, so nothing reads them yet; a writer
//!    that finds them after a crash removes them.
//! 2. The hint for the outputs is written. Until the switch it is stale
//!    (it names files the list does not), which only costs a full replay.
//! 3. The file list is rewritten to name the outputs alone (temporary
//!    file, fsync, rename, directory fsync): the switch. Before it the old
//!    files are the store, after it the outputs are; no state mixes them,
//!    so no deleted key can come back and no expired record can uncover an
//!    older value.
//! 4. Old files, now unlisted, are removed (a crash leaves them for the
//!    next writer to remove).

use std::sync::Arc;
use std::time::Instant;

use hashbrown::HashSet;

use super::Bitcask;
use super::data_file::{DataFile, FileId, FileSet};
use super::hint::Hint;
use super::index::{HintDamaged, Index, Miss, for_each_slot};
use super::keydir::Known;
use super::writer::Writer;
use crate::error::{CorruptKind, Error, Result};
use crate::failpoint;
use crate::file_list;
use crate::format::file_header::{FileHeader, HEADER_LEN};
use crate::format::file_list::{FileList, ListedKind};
use crate::format::footer::{FOOTER_LEN, Footer};
use crate::format::hint::{HintFile, HintMeta, Slot, fingerprint};
use crate::format::record::{self, Decoded, Place, RECORD_HEADER_LEN, RecordKind};
use crate::fs;
use crate::layout::{self, DATA_MAGIC};
use crate::log::Role;

/// A record the merge keeps: where it is, its encoded length and its
/// key's fingerprint (for the new hint). No key is held: a merge of
/// millions of keys allocates nothing per key.
#[derive(Debug, Clone, Copy)]
struct LiveRecord {
    file_id: FileId,
    offset: u64,
    len: u32,
    fingerprint: u32,
}

/// A place the index points at: a record that may be live.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    file_id: FileId,
    offset: u64,
    /// The fingerprint of the key the index says is there.
    fingerprint: u32,
    /// A hint slot (else an overlay entry, the key's newest record by
    /// construction). A hint slot is live only if the overlay does not
    /// know its key.
    from_hint: bool,
}

/// What a merge would do (and, after one, what it did).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Data files before the merge.
    pub files_before: u64,
    /// Bytes they occupy on disk (preallocated space included).
    pub bytes_before: u64,
    /// Bytes of records in them (what a merge can reclaim from).
    pub record_bytes_before: u64,
    /// Live records to keep.
    pub live_records: u64,
    /// Bytes of those records.
    pub live_bytes: u64,
    /// Data files after the merge (estimated by a dry run).
    pub files_after: u64,
    /// Their total size in bytes (estimated by a dry run).
    pub bytes_after: u64,
    /// Size of the hint written (0 for a dry run).
    pub hint_bytes: u64,
    /// Wall time of the merge in ms (0 for a dry run).
    pub elapsed_ms: u64,
}

impl MergeReport {
    /// Bytes of the input files reserved ahead of their last record
    /// (preallocation under `always`): freed by a merge, but not records.
    pub fn preallocated_before(&self) -> u64 {
        self.bytes_before
            .saturating_sub(self.record_bytes_before + self.files_before * HEADER_LEN as u64)
    }
}

impl Bitcask {
    /// Reads every record of every file (checking each: a merge of a
    /// store with a damaged record refuses before it writes anything) and
    /// lists the live, unexpired ones in file order, with the plan's
    /// figures. Liveness comes from the index, not from a replay: the
    /// places it points at, taken in file order, are matched against the
    /// records as the scan meets them.
    fn merge_inputs(&self, w: &mut Writer, now_ms: u64) -> Result<(Vec<LiveRecord>, MergeReport)> {
        let (live, files) = loop {
            let index = self.index.load_full();
            let files = self.files.load_full();
            match live_records(&index, &files, now_ms)? {
                Ok(live) => break (live, files),
                // Replays into a full keydir, whose entries need no checking.
                Err(why) if index.hint.is_some() => self.fall_back(w, &index, why)?,
                // A keydir this process replayed disagrees with the files.
                Err(why) => {
                    return Err(Error::Background(format!(
                        "merge stopped: the index of {} {}",
                        self.dir.display(),
                        why.0
                    )));
                }
            }
        };
        let live_bytes: u64 = live.iter().map(|r| u64::from(r.len)).sum();
        let (files_after, bytes_after) = self.estimate_outputs(&live);
        let report = MergeReport {
            files_before: files.len() as u64,
            // What the disk holds (a merge frees preallocated space too);
            // whether there is anything to merge is decided on record bytes.
            bytes_before: files.values().map(|f| f.disk_len()).sum(),
            record_bytes_before: files
                .values()
                .map(|f| f.len().saturating_sub(HEADER_LEN as u64))
                .sum(),
            live_records: live.len() as u64,
            live_bytes,
            files_after,
            bytes_after,
            ..MergeReport::default()
        };
        Ok((live, report))
    }

    fn estimate_outputs(&self, live: &[LiveRecord]) -> (u64, u64) {
        let mut files = 0u64;
        let mut bytes = 0u64;
        let mut current = 0u64;
        for record in live {
            let len = u64::from(record.len);
            if files == 0
                || (current + len > self.options.max_file_size && current > HEADER_LEN as u64)
            {
                files += 1;
                bytes += (HEADER_LEN + FOOTER_LEN) as u64;
                current = HEADER_LEN as u64;
            }
            current += len;
            bytes += len;
        }
        (files, bytes)
    }

    /// What `merge` would do, without changing anything.
    pub fn merge_dry_run(&self, now_ms: u64) -> Result<MergeReport> {
        // It replays into a new index, like a fallback: not beside a rebuild.
        let _one = self.maintenance.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = self.lock_writable()?;
        Ok(self.merge_inputs(&mut w, now_ms)?.1)
    }

    /// Merges every data file; `progress(done, total)` is called with live bytes copied.
    pub fn merge(&self, now_ms: u64, progress: &mut dyn FnMut(u64, u64)) -> Result<MergeReport> {
        let start = Instant::now();
        let _one = self.maintenance.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = self.lock_writable()?;
        let (live, mut report) = self.merge_inputs(&mut w, now_ms)?;
        if report.live_bytes == report.record_bytes_before
            && report.files_after == report.files_before
        {
            // Nothing dead to reclaim (preallocated zeros are not dead
            // records): rewriting would only move bytes. What the merge
            // covered is made durable all the same, as a merge that
            // rewrote would have.
            self.log.sync()?;
            return Ok(report);
        }
        self.log
            .poison_on_error(|| self.merge_live(&mut w, &live, &mut report, progress))?;
        report.elapsed_ms = start.elapsed().as_millis() as u64;
        Ok(report)
    }

    fn merge_live(
        &self,
        w: &mut Writer,
        live: &[LiveRecord],
        report: &mut MergeReport,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        self.log.sync()?;
        let old_files = self.files.load_full();
        let old_ids: Vec<FileId> = old_files.keys().copied().collect();
        let mut next_id = old_ids
            .last()
            .map_or(FileId::FIRST, |id| id.next_generation());
        let mut outputs: Vec<Finished> = Vec::new();
        let mut writer: Option<OutputFile> = None;
        let mut slots: Vec<Slot> = Vec::with_capacity(live.len());
        let mut bytes: Vec<u8> = Vec::new();
        let mut copied = 0u64;
        for record in live {
            let file: &DataFile = &old_files[&record.file_id];
            bytes.clear();
            bytes.extend_from_slice(&file.read(record.offset, record.len as usize)?);
            // Checked again as copied: the new checksum must only ever
            // vouch for bytes that passed the old one.
            check_record(file, record.offset, &bytes)?;
            let full = writer.as_ref().is_some_and(|w| {
                w.len + bytes.len() as u64 > self.options.max_file_size && w.len > HEADER_LEN as u64
            });
            if full {
                outputs.push(writer.take().expect("writer").finish(&self.dir)?);
            }
            let out = match &mut writer {
                Some(out) => out,
                None => {
                    let out = OutputFile::create(&self.dir, next_id)?;
                    next_id = next_id.next_generation();
                    writer.insert(out)
                }
            };
            let offset = out.len;
            record::rebind(&mut bytes, Place::new(out.uid, offset), HEADER_LEN as u64);
            out.append(&bytes)?;
            out.records += 1;
            slots.push(Slot {
                fingerprint: record.fingerprint,
                file_index: outputs.len() as u32,
                offset,
            });
            copied += bytes.len() as u64;
            progress(copied, report.live_bytes);
        }
        if let Some(out) = writer {
            outputs.push(out.finish(&self.dir)?);
        }
        failpoint::hit("merge-before-hint");
        let mut hint_bytes = None;

        if let Some(last) = outputs.last() {
            let meta = HintMeta::new(
                last.id.0,
                last.records_end,
                outputs
                    .iter()
                    .map(|o| HintFile {
                        id: o.id.0,
                        uid: o.uid,
                        // The watermark file is described as of the watermark.
                        len: if o.id == last.id {
                            o.records_end
                        } else {
                            o.disk_len
                        },
                        records: o.records,
                    })
                    .collect(),
            );
            let bytes = Hint::write_bytes(&self.dir, meta, &slots)?;
            report.hint_bytes = bytes.len() as u64;
            hint_bytes = Some(bytes);
        } else {
            Hint::remove(&self.dir)?;
        }
        drop(slots);
        failpoint::hit("merge-before-switch");
        let mut list = FileList {
            sequence: w.list.sequence,
            entries: outputs.iter().map(|o| (ListedKind::Data, o.id.0)).collect(),
            sealed: outputs.iter().map(|o| (ListedKind::Data, o.id.0)).collect(),
        };
        file_list::write(&self.dir, &mut list)?;
        w.list = list;
        failpoint::hit("merge-before-removal");

        // Readers holding the old file set keep their files open; readers
        // that meet an entry of the other set look again.
        let mut new_files = FileSet::new();
        for o in &outputs {
            let file =
                super::open::open_data_file(&self.dir, o.id, false, Role::Sealed, &self.options)?;
            new_files.insert(o.id, Arc::new(file));
        }
        // The new index is the hint just written, as an open of the merged
        // store would find it (held in memory, not read back): no keydir of
        // every key is built.
        let hint = hint_bytes.map(|bytes| Hint::from_bytes(&self.dir, bytes, &new_files));
        self.files.store(Arc::new(new_files));
        let mut replayed = false;
        match hint {
            None => self.index.store(Arc::new(Index::full())),
            Some(Ok(hint)) => self.index.store(Arc::new(Index::hinted(hint))),
            // Cannot happen (the outputs are the files it was written
            // for); should it, the outputs are the store now: index them
            // the long way, and have the next close write a hint.
            Some(Err(_)) => {
                self.replay_all_shared(w)?;
                replayed = true;
            }
        }
        self.log.retire_active();
        // Unlisted now: nothing reads them, and a crash here only leaves
        // them for the next writer to remove.
        for (i, file) in old_files.values().enumerate() {
            fs::remove_file(file.path())?;
            if i == 0 {
                failpoint::hit("merge-after-first-removal");
            }
        }
        fs::sync_dir(&self.dir)?;
        report.files_after = outputs.len() as u64;
        report.bytes_after = outputs.iter().map(|o| o.disk_len).sum();
        // A replay above set the tail it found; the hint is owed then.
        w.hint_dirty = replayed;
        if !replayed {
            w.tail_bytes = 0;
        }
        Ok(())
    }
}

/// The live records of `files` by `index`, in file order, reading (and so
/// checking) every record of every file. The outer error is the store's
/// (a damaged record); the inner one says the hint cannot be trusted.
///
/// A merge makes what it copies permanent, so the hint is not trusted the
/// way a lookup trusts it: besides pointing at the start of a value record
/// of its key, each slot must name its key's newest record, no key may
/// have two, and no key whose newest record is a live value may lack one
/// (see `HintCheck`).
fn live_records(
    index: &Index,
    files: &FileSet,
    now_ms: u64,
) -> Result<Result<Vec<LiveRecord>, HintDamaged>> {
    let candidates = match candidates(index, files) {
        Ok(c) => c,
        Err(Miss::Damaged(why)) => return Ok(Err(why)),
        Err(Miss::Failed(e)) => return Err(e),
        Err(Miss::Moved) => unreachable!("nothing moves under the append lock"),
    };
    let overlay_empty = index.keys.len() == 0;
    let mut check = HintCheck::new(&candidates);
    let mut live = Vec::with_capacity(candidates.len());
    let mut next = 0usize;
    let mut damage: Option<String> = None;
    for (id, file) in files.iter() {
        let end = file.scan_all(|offset, rec| {
            // A place the scan stepped over is no record's start.
            while let Some(c) = candidates.get(next)
                && (c.file_id, c.offset) < (*id, offset)
            {
                damage.get_or_insert_with(|| {
                    format!(
                        "an entry points inside a record of {}",
                        c.file_id.file_name()
                    )
                });
                next += 1;
            }
            let fingerprint = fingerprint(rec.key);
            let expired = rec.expiry_ms != 0 && now_ms >= rec.expiry_ms;
            let live_value = rec.kind == RecordKind::Value && !expired;
            let Some(c) = candidates
                .get(next)
                .filter(|c| (c.file_id, c.offset) == (*id, offset))
            else {
                check.other_record(&candidates, fingerprint, (*id, offset), live_value);
                return;
            };
            let matched = next;
            next += 1;
            if rec.kind != RecordKind::Value || c.fingerprint != fingerprint {
                damage.get_or_insert_with(|| {
                    format!(
                        "an entry points at the wrong record at offset {offset} of {}",
                        id.file_name()
                    )
                });
                return;
            }
            check.candidate_record(matched, live_value);
            let newest = !c.from_hint
                || overlay_empty
                || index.keys.read(fingerprint).get(rec.key) == Known::Unknown;
            if newest && !expired {
                live.push(LiveRecord {
                    file_id: *id,
                    offset,
                    len: record::encoded_len(rec.key.len(), rec.value.len()) as u32,
                    fingerprint,
                });
            }
        })?;
        if let Some(torn) = end.torn {
            // A writer's open cut any torn tail: damage now is damage.
            return Err(Error::Corrupt {
                path: file.path().to_path_buf(),
                offset: torn.offset,
                kind: CorruptKind::Checksum,
            });
        }
        while let Some(c) = candidates.get(next).filter(|c| c.file_id <= *id) {
            damage.get_or_insert_with(|| {
                format!(
                    "an entry points past the records of {}",
                    c.file_id.file_name()
                )
            });
            next += 1;
        }
    }
    if let Some(c) = candidates.get(next) {
        damage.get_or_insert_with(|| {
            format!(
                "an entry names {}, past the newest file",
                c.file_id.file_name()
            )
        });
    }
    if damage.is_none() {
        damage = check.finish(index, files, &candidates)?;
    }
    match damage {
        Some(why) => Ok(Err(HintDamaged(why))),
        None => Ok(Ok(live)),
    }
}

/// What the scan saw of a record, for the keys `HintCheck` must resolve.
#[derive(Debug, Clone, Copy)]
struct Seen {
    fingerprint: u32,
    place: (FileId, u64),
    live_value: bool,
    /// The candidate at this place, if any.
    candidate: Option<usize>,
}

/// The check that a hint's slots name exactly each key's newest record,
/// done by fingerprint, with keys read back only where fingerprints cannot
/// tell: a record newer than its fingerprint's newest candidate, a record
/// whose fingerprint no candidate has, and every record of a fingerprint
/// that several candidates share. In a store whose hint is right and whose
/// overlay is small, that is the deleted keys and the rare fingerprint
/// collisions. A key without a slot goes unseen only if another key of its
/// fingerprint has a newer candidate (about one key in 10,000 at 1M keys).
struct HintCheck {
    /// Whether any candidate came from the hint (else nothing to check).
    active: bool,
    /// For each candidate fingerprint: its newest candidate, and whether
    /// several candidates share the fingerprint.
    newest: NewestByFingerprint,
    /// Fingerprints several candidates share (each key of them is checked).
    shared: Vec<u32>,
    /// Records whose keys must be read back and compared.
    resolve: Vec<Seen>,
    /// Records met but not yet looked up (a batch in the making).
    pending: Vec<Seen>,
    /// The live-value flag of each matched candidate, by index.
    candidate_live: Vec<bool>,
}

impl HintCheck {
    fn new(candidates: &[Candidate]) -> HintCheck {
        let active = candidates.iter().any(|c| c.from_hint);
        let mut newest =
            NewestByFingerprint::with_capacity(if active { candidates.len() } else { 0 });
        let mut shared = Vec::new();
        if active {
            // In place order, so the last one kept is the newest; the
            // slots of a batch are asked for before they are written.
            for (batch, chunk) in candidates.chunks(LOOKAHEAD).enumerate() {
                for c in chunk {
                    newest.prefetch(c.fingerprint);
                }
                for (j, c) in chunk.iter().enumerate() {
                    if newest.insert(c.fingerprint, batch * LOOKAHEAD + j) {
                        shared.push(c.fingerprint);
                    }
                }
            }
        }
        HintCheck {
            active,
            newest,
            shared,
            resolve: Vec::new(),
            pending: Vec::with_capacity(LOOKAHEAD),
            candidate_live: vec![false; if active { candidates.len() } else { 0 }],
        }
    }

    /// The scan met candidate `index`'s record.
    fn candidate_record(&mut self, index: usize, live_value: bool) {
        if self.active {
            self.candidate_live[index] = live_value;
        }
    }

    /// The scan met a record no candidate names. Records are looked up
    /// `LOOKAHEAD` at a time, their table slots asked for first, so that
    /// the look-ups wait for memory together.
    fn other_record(
        &mut self,
        candidates: &[Candidate],
        fingerprint: u32,
        place: (FileId, u64),
        live_value: bool,
    ) {
        if !self.active {
            return;
        }
        self.newest.prefetch(fingerprint);
        self.pending.push(Seen {
            fingerprint,
            place,
            live_value,
            candidate: None,
        });
        if self.pending.len() == LOOKAHEAD {
            self.look_up_pending(candidates);
        }
    }

    fn look_up_pending(&mut self, candidates: &[Candidate]) {
        for i in 0..self.pending.len() {
            let seen = self.pending[i];
            self.look_up(candidates, seen);
        }
        self.pending.clear();
    }

    fn look_up(&mut self, candidates: &[Candidate], seen: Seen) {
        let (fingerprint, place) = (seen.fingerprint, seen.place);
        match self.newest.get(fingerprint) {
            // No slot for this fingerprint: a deleted or expired key, or a
            // key the hint lacks.
            None => self.resolve.push(seen),
            Some((_, true)) => self.resolve.push(seen),
            // Newer than the slot of its fingerprint: that slot may name
            // an older version of this record's key.
            Some((i, false)) if place > (candidates[i].file_id, candidates[i].offset) => {
                self.resolve.push(seen)
            }
            // Older: an older version of the slot's key, or (see the
            // type's doc) another key of the same fingerprint.
            Some(_) => {}
        }
    }

    /// Reads back the keys of the records kept, and says what is wrong
    /// with the hint, if anything.
    fn finish(
        mut self,
        index: &Index,
        files: &FileSet,
        candidates: &[Candidate],
    ) -> Result<Option<String>> {
        if !self.active {
            return Ok(None);
        }
        self.look_up_pending(candidates);
        // Each candidate a kept record may be compared with: the newest
        // of its fingerprint, or all of a shared fingerprint's.
        let fingerprints: HashSet<u32> = self
            .resolve
            .iter()
            .map(|s| s.fingerprint)
            .chain(self.shared.iter().copied())
            .collect();
        for (i, c) in candidates.iter().enumerate() {
            if fingerprints.contains(&c.fingerprint) {
                self.resolve.push(Seen {
                    fingerprint: c.fingerprint,
                    place: (c.file_id, c.offset),
                    live_value: self.candidate_live[i],
                    candidate: Some(i),
                });
            }
        }
        self.resolve
            .sort_unstable_by_key(|s| (s.fingerprint, s.place));
        let overlay_empty = index.keys.len() == 0;
        for group in self.resolve.chunk_by(|a, b| a.fingerprint == b.fingerprint) {
            let mut keyed: Vec<(Vec<u8>, Seen)> = Vec::with_capacity(group.len());
            for seen in group {
                keyed.push((key_at(files, seen.place)?, *seen));
            }
            // Stable: each key's records stay in place order.
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            for records in keyed.chunk_by(|a, b| a.0 == b.0) {
                let key = &records[0].0;
                if !overlay_empty
                    && index.keys.read(records[0].1.fingerprint).get(key) != Known::Unknown
                {
                    // The overlay has the key's word; its hint slots are dead.
                    continue;
                }
                let newest = records.last().expect("a group is never empty").1;
                let slots: Vec<&Seen> = records
                    .iter()
                    .map(|(_, s)| s)
                    .filter(|s| s.candidate.is_some_and(|i| candidates[i].from_hint))
                    .collect();
                let wrong = slots.iter().any(|s| s.place != newest.place)
                    || (newest.live_value && slots.is_empty());
                if wrong {
                    return Ok(Some(format!(
                        "it does not name the newest record of key {} ({} slots for it)",
                        crate::error::display_key(key),
                        slots.len()
                    )));
                }
            }
        }
        Ok(None)
    }
}

/// Records looked up in `NewestByFingerprint` together.
const LOOKAHEAD: usize = 16;

/// Fingerprint -> the newest candidate of that fingerprint (its index)
/// and whether several share it: an open-addressing table of 8-byte slots
/// at most half full, so that the merge's check stays in the CPU's cache
/// longer than a general map would. The fingerprint is already a hash.
struct NewestByFingerprint {
    /// (fingerprint, candidate index + 1); index 0 = empty.
    slots: Vec<(u32, u32)>,
    /// One bit per slot: several candidates share its fingerprint.
    shared: Vec<u64>,
    mask: usize,
}

impl NewestByFingerprint {
    fn with_capacity(n: usize) -> NewestByFingerprint {
        let len = (n * 2).next_power_of_two().max(64);
        NewestByFingerprint {
            slots: vec![(0, 0); len],
            shared: vec![0; len / 64],
            mask: len - 1,
        }
    }

    /// Candidates past this many are more than a store holds
    /// (`KEY_COUNT_MAX` keys in the hint plus an overlay).
    const INDEX_MAX: usize = u32::MAX as usize - 1;

    /// Records candidate `index` as the newest of `fingerprint`; true if
    /// an older candidate had the fingerprint too.
    fn insert(&mut self, fingerprint: u32, index: usize) -> bool {
        let value = (index.min(Self::INDEX_MAX) + 1) as u32;
        let at = self.position(fingerprint);
        let (fp, slot) = &mut self.slots[at];
        let older = *slot != 0;
        *fp = fingerprint;
        *slot = value;
        if older {
            self.shared[at / 64] |= 1 << (at % 64);
        }
        older
    }

    /// Starts loading the slot a lookup of `fingerprint` reads first.
    fn prefetch(&self, fingerprint: u32) {
        crate::mmap::prefetch_item(&self.slots[fingerprint as usize & self.mask]);
    }

    fn get(&self, fingerprint: u32) -> Option<(usize, bool)> {
        let at = self.position(fingerprint);
        let (_, slot) = self.slots[at];
        (slot != 0).then(|| {
            let shared = self.shared[at / 64] & (1 << (at % 64)) != 0;
            (slot as usize - 1, shared)
        })
    }

    /// The slot of `fingerprint`, or the empty one where it would go.
    fn position(&self, fingerprint: u32) -> usize {
        let mut at = fingerprint as usize & self.mask;
        loop {
            let (fp, slot) = self.slots[at];
            if slot == 0 || fp == fingerprint {
                return at;
            }
            at = (at + 1) & self.mask;
        }
    }
}

/// The key of the (already checked) record at `place`.
fn key_at(files: &FileSet, place: (FileId, u64)) -> Result<Vec<u8>> {
    let file = &files[&place.0];
    let header = file.read(place.1, RECORD_HEADER_LEN)?;
    let raw = record::peek_header(&header).expect("a whole header was read");
    Ok(file
        .read(place.1 + RECORD_HEADER_LEN as u64, raw.key_len)?
        .into_owned())
}

/// Every place the index points at, sorted by file and offset, each once.
fn candidates(index: &Index, files: &FileSet) -> Result<Vec<Candidate>, Miss> {
    let mut candidates: Vec<Candidate> = Vec::new();
    for shard in index.keys.all() {
        candidates.extend(shard.entries().map(|e| Candidate {
            file_id: e.file_id,
            offset: e.offset,
            fingerprint: e.fingerprint,
            from_hint: false,
        }));
    }
    if let Some(hint) = &index.hint {
        for_each_slot(hint, |i, slot| {
            let file_id = hint
                .file_of(&slot)
                .ok_or_else(|| HintDamaged(format!("slot {i} names a file outside its table")))?;
            if index.retired.contains(&file_id) {
                return Ok(());
            }
            if !files.contains_key(&file_id) {
                return Err(HintDamaged(format!("slot {i} names a missing file")).into());
            }
            candidates.push(Candidate {
                file_id,
                offset: slot.offset,
                fingerprint: slot.fingerprint,
                from_hint: true,
            });
            Ok(())
        })?;
    }
    candidates.sort_unstable_by_key(|c| (c.file_id, c.offset));
    // The overlay's word wins over a hint slot at the same place.
    candidates.dedup_by(|later, kept| {
        let same = (later.file_id, later.offset) == (kept.file_id, kept.offset);
        if same && !later.from_hint {
            kept.from_hint = false;
        }
        same
    });
    Ok(candidates)
}

/// Checks the record bytes read from `offset` of `file` before they are copied.
fn check_record(file: &DataFile, offset: u64, bytes: &[u8]) -> Result<()> {
    match record::decode(bytes, Place::new(file.uid(), offset)) {
        Decoded::Record(..) => Ok(()),
        other => Err(Error::Corrupt {
            path: file.path().to_path_buf(),
            offset,
            kind: match other {
                Decoded::Corrupt(kind) => kind,
                _ => CorruptKind::Truncated,
            },
        }),
    }
}

/// A merge output once sealed and renamed into place.
pub(super) struct Finished {
    pub(super) id: FileId,
    pub(super) uid: u64,
    pub(super) records_end: u64,
    pub(super) disk_len: u64,
    pub(super) records: u64,
}

/// A merge output being written under its temporary name.
pub(super) struct OutputFile {
    pub(super) id: FileId,
    pub(super) uid: u64,
    temp: std::path::PathBuf,
    out: fs::BufferedWriter,
    pub(super) len: u64,
    pub(super) records: u64,
}

impl OutputFile {
    pub(super) fn create(dir: &std::path::Path, id: FileId) -> Result<OutputFile> {
        let temp = fs::temp_path_for(&dir.join(id.file_name()));
        fs::remove_file_if_exists(&temp)?;
        let file = fs::create_new_private(&temp)?;
        let uid = layout::new_uid();
        let mut out = OutputFile {
            id,
            uid,
            out: fs::BufferedWriter::new(file, &temp, 1 << 20),
            temp,
            len: 0,
            records: 0,
        };
        out.append(&FileHeader::new(DATA_MAGIC, id.0, uid).encode())?;
        Ok(out)
    }

    pub(super) fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write(bytes)?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Seals the output with its footer, fsyncs it and renames it into place.
    pub(super) fn finish(mut self, dir: &std::path::Path) -> Result<Finished> {
        let records_end = self.len;
        let footer = Footer {
            records_end,
            record_count: self.records,
        };
        self.append(&footer.encode(self.uid))?;
        drop(self.out.finish()?);
        failpoint::hit("merge-before-output-rename");
        fs::rename(&self.temp, &dir.join(self.id.file_name()))?;
        fs::sync_dir(dir)?;
        Ok(Finished {
            id: self.id,
            uid: self.uid,
            records_end,
            disk_len: self.len,
            records: self.records,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::NewestByFingerprint;

    #[test]
    fn the_newest_table_keeps_the_last_index_per_fingerprint_through_probe_chains() {
        let mut table = NewestByFingerprint::with_capacity(8);
        let len = table.slots.len() as u32;
        // Three fingerprints on one home slot (and one wrapping around the
        // end), so each lookup walks a probe chain.
        let same_home = [5, 5 + len, 5 + 2 * len];
        let wraps = len - 1;
        assert!(!table.insert(same_home[0], 0));
        assert!(!table.insert(same_home[1], 1));
        assert!(!table.insert(wraps, 2));
        assert!(!table.insert(same_home[2], 3));
        // A later candidate of a fingerprint replaces it and marks it shared.
        assert!(table.insert(same_home[1], 4));
        assert_eq!(table.get(same_home[0]), Some((0, false)));
        assert_eq!(table.get(same_home[1]), Some((4, true)));
        assert_eq!(table.get(same_home[2]), Some((3, false)));
        assert_eq!(table.get(wraps), Some((2, false)));
        assert_eq!(table.get(5 + 3 * len), None);
        assert_eq!(table.get(6), None);
    }
}
