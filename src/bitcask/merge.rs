//! Merge: rewrite the live, unexpired records of every data file into new
//! files and remove the old ones, reclaiming the space of overwritten,
//! deleted and expired records.
//!
//! What is live comes from the index, not from a replay: the places the
//! hint's slots and the overlay point at, sorted by file and offset, are
//! matched against the records as one sequential pass reads (and checks)
//! every record of every file; a hint slot is live when the overlay does
//! not know its key. No key is copied into memory and no keydir is built:
//! the new index is the hint written for the outputs.
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
use crate::format::record::{self, Decoded, Place, RecordKind};
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
    /// The fingerprint of a hint slot; 0 for the overlay's entries, which
    /// are the key's newest record by construction. A hint slot is live
    /// only if the overlay does not know its key.
    hint_fingerprint: u32,
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
                Err(why) => self.fall_back(w, &index, why)?,
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
            let meta = HintMeta {
                watermark_file_id: last.id.0,
                watermark_offset: last.records_end,
                entry_count: 0,
                slot_count: 0,
                files: outputs
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
            };
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
        match hint {
            None => self.index.store(Arc::new(Index::full())),
            Some(Ok(hint)) => self.index.store(Arc::new(Index::hinted(hint))),
            // Cannot happen (the outputs are the files it was written
            // for); should it, the outputs are the store now: index them
            // the long way.
            Some(Err(_)) => self.replay_all(w)?,
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
        w.hint_dirty = false;
        w.tail_bytes = 0;
        Ok(())
    }
}

/// The live records of `files` by `index`, in file order, reading (and so
/// checking) every record of every file. The outer error is the store's
/// (a damaged record); the inner one says the hint cannot be trusted.
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
            let Some(c) = candidates
                .get(next)
                .filter(|c| (c.file_id, c.offset) == (*id, offset))
            else {
                return;
            };
            next += 1;
            let fingerprint = fingerprint(rec.key);
            if rec.kind != RecordKind::Value
                || (c.hint_fingerprint != 0 && c.hint_fingerprint != fingerprint)
            {
                damage.get_or_insert_with(|| {
                    format!(
                        "an entry points at the wrong record at offset {offset} of {}",
                        id.file_name()
                    )
                });
                return;
            }
            let newest = c.hint_fingerprint == 0
                || overlay_empty
                || index.keys.read(fingerprint).get(rec.key) == Known::Unknown;
            let expired = rec.expiry_ms != 0 && now_ms >= rec.expiry_ms;
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
    match damage {
        // Overlay entries come from this process's own scans and writes:
        // only the hint can be wrong about a place.
        Some(why) => Ok(Err(HintDamaged(why))),
        None => Ok(Ok(live)),
    }
}

/// Every place the index points at, sorted by file and offset, each once.
fn candidates(index: &Index, files: &FileSet) -> Result<Vec<Candidate>, Miss> {
    let mut candidates: Vec<Candidate> = Vec::new();
    for shard in index.keys.all() {
        candidates.extend(shard.values().map(|(_, e)| Candidate {
            file_id: e.file_id,
            offset: e.offset,
            hint_fingerprint: 0,
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
                hint_fingerprint: slot.fingerprint,
            });
            Ok(())
        })?;
    }
    candidates.sort_unstable_by_key(|c| (c.file_id, c.offset));
    // The overlay's word wins over a hint slot at the same place.
    candidates.dedup_by(|later, kept| {
        let same = (later.file_id, later.offset) == (kept.file_id, kept.offset);
        if same && later.hint_fingerprint == 0 {
            kept.hint_fingerprint = 0;
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
