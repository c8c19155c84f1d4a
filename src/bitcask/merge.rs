//! Merge: rewrite the live, unexpired records of every data file into new
//! files and remove the old ones, reclaiming the space of overwritten,
//! deleted and expired records.
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
use super::index::Index;
use super::keydir::{KeydirEntry, Shards};
use super::writer::Writer;
use crate::error::{CorruptKind, Error, Result};
use crate::failpoint;
use crate::file_list;
use crate::format::file_header::{FileHeader, HEADER_LEN};
use crate::format::file_list::{FileList, ListedKind};
use crate::format::footer::{FOOTER_LEN, Footer};
use crate::format::hint::{HintFile, HintMeta, Slot, fingerprint};
use crate::format::record::{self, Decoded, Place};
use crate::fs;
use crate::layout::{self, DATA_MAGIC};
use crate::log::Role;

/// A live key and where its newest record is.
type LiveEntry = (Vec<u8>, KeydirEntry);

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
    /// Replays every file (checking every record) and lists the live,
    /// unexpired entries in file order, with the plan's figures.
    fn merge_inputs(&self, w: &mut Writer, now_ms: u64) -> Result<(Vec<LiveEntry>, MergeReport)> {
        self.replay_all(w)?;
        let index = self.index.load_full();
        let files = self.files.load_full();
        let mut live: Vec<LiveEntry> = Vec::new();
        for shard in index.keys.all() {
            live.extend(
                shard
                    .values()
                    .filter(|(_, e)| e.is_live(now_ms))
                    .map(|(k, e)| (k.to_vec(), *e)),
            );
        }
        live.sort_unstable_by_key(|(_, e)| (e.file_id, e.offset));
        let live_bytes: u64 = live
            .iter()
            .map(|(k, e)| record::encoded_len(k.len(), e.value_len as usize) as u64)
            .sum();
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

    fn estimate_outputs(&self, live: &[LiveEntry]) -> (u64, u64) {
        let mut files = 0u64;
        let mut bytes = 0u64;
        let mut current = 0u64;
        for (key, entry) in live {
            let len = record::encoded_len(key.len(), entry.value_len as usize) as u64;
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
        live: &[LiveEntry],
        report: &mut MergeReport,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        self.log.sync()?;
        let old_files = self.files.load_full();
        let old_ids: Vec<FileId> = old_files.keys().copied().collect();
        let mut next_id = old_ids
            .last()
            .map_or(FileId::FIRST, |id| id.next_generation());
        let keydir = Shards::new(false);
        let mut outputs: Vec<Finished> = Vec::new();
        let mut writer: Option<OutputFile> = None;
        let mut copied = 0u64;
        for (key, entry) in live {
            let mut bytes = checked_record(&old_files, key, entry)?;
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
            keydir.write(fingerprint(key)).insert(
                key,
                KeydirEntry {
                    file_id: out.id,
                    offset,
                    ..*entry
                },
            );
            copied += bytes.len() as u64;
            progress(copied, report.live_bytes);
        }
        if let Some(out) = writer {
            outputs.push(out.finish(&self.dir)?);
        }
        failpoint::hit("merge-before-hint");

        if let Some(last) = outputs.last() {
            let position =
                |id: FileId| outputs.iter().position(|o| o.id == id).expect("output") as u32;
            let mut slots: Vec<Slot> = Vec::new();
            for shard in keydir.all() {
                slots.extend(shard.values().map(|(k, e)| Slot {
                    fingerprint: fingerprint(k),
                    file_index: position(e.file_id),
                    offset: e.offset,
                }));
            }
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
            report.hint_bytes = Hint::write(&self.dir, meta, &slots)?;
        } else {
            Hint::remove(&self.dir)?;
        }
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
        self.files.store(Arc::new(new_files));
        self.index.store(Arc::new(Index {
            keys: Arc::new(keydir),
            ..Index::full()
        }));
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

/// The encoded bytes of the record an entry points at, checked.
fn checked_record(files: &FileSet, key: &[u8], entry: &KeydirEntry) -> Result<Vec<u8>> {
    let file: &DataFile = files.get(&entry.file_id).expect("replayed file");
    let bytes = file.read(
        entry.offset,
        record::encoded_len(key.len(), entry.value_len as usize),
    )?;
    match record::decode(&bytes, Place::new(file.uid(), entry.offset)) {
        Decoded::Record(rec, _) if rec.key == key => Ok(bytes.into_owned()),
        other => Err(Error::Corrupt {
            path: file.path().to_path_buf(),
            offset: entry.offset,
            kind: match other {
                Decoded::Corrupt(kind) => kind,
                Decoded::Incomplete => CorruptKind::Truncated,
                Decoded::Record(..) => CorruptKind::KeyMismatch,
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
