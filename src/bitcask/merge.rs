//! Merge: rewrite the live, unexpired records of every data file into new
//! files and remove the old ones, reclaiming the space of overwritten,
//! deleted and expired records.
//!
//! The merge runs under the exclusive lock and covers every data file,
//! the active one included, so no file outside it can hold an older record
//! of any key: every tombstone can be dropped. Crash safety rests on order:
//!
//! 1. Outputs are written under temporary names, fsynced, then renamed
//!    (directory fsynced) to ids *newer* than every old file. They hold
//!    exact copies of the newest live records, so a store holding old files
//!    and any subset of outputs answers exactly as before.
//! 2. The hint for the outputs is written. Until the old files are gone it
//!    is stale (it does not list them), which only costs a full replay.
//! 3. Old files are removed oldest first, the directory synced after each
//!    removal so that what survives a power cut is a prefix of the order.
//!    A tombstone is always in a newer file than the records it shadows, so
//!    a record is always removed no later than its tombstone: no deleted key
//!    can come back, and no expired record can uncover an older value.

use std::time::Instant;

use super::data_file::{DataFile, FileId};
use super::hint::Hint;
use super::keydir::{Keydir, KeydirEntry};
use super::{Bitcask, Index};
use crate::error::{CorruptKind, Error, Result};
use crate::failpoint;
use crate::format::file_header::{DATA_MAGIC, FORMAT_VERSION, FileHeader, HEADER_LEN};
use crate::format::hint::{HintMeta, Slot, fingerprint};
use crate::format::record::{self, Decoded};
use crate::fs;

/// A live key and where its newest record is.
type LiveEntry = (Vec<u8>, KeydirEntry);

/// What a merge would do (and, after one, what it did).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Data files before the merge.
    pub files_before: u64,
    /// Bytes they occupy on disk (preallocated space included).
    pub bytes_before: u64,
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
    fn merge_inputs(&mut self, now_ms: u64) -> Result<(Vec<LiveEntry>, MergeReport)> {
        self.check_writable()?;
        self.replay_all()?;
        let Index::Full(keydir) = &self.index else {
            unreachable!("replay_all builds a full keydir")
        };
        let mut live: Vec<LiveEntry> = keydir
            .values()
            .filter(|(_, e)| e.is_live(now_ms))
            .map(|(k, e)| (k.to_vec(), *e))
            .collect();
        live.sort_unstable_by_key(|(_, e)| (e.file_id, e.offset));
        let live_bytes: u64 = live
            .iter()
            .map(|(k, e)| record::encoded_len(k.len(), e.value_len as usize) as u64)
            .sum();
        let (files_after, bytes_after) = self.estimate_outputs(&live);
        let report = MergeReport {
            files_before: self.files.len() as u64,
            bytes_before: self.files.values().map(DataFile::disk_len).sum(),
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
                bytes += HEADER_LEN as u64;
                current = HEADER_LEN as u64;
            }
            current += len;
            bytes += len;
        }
        (files, bytes)
    }

    /// What `merge` would do, without changing anything.
    pub fn merge_dry_run(&mut self, now_ms: u64) -> Result<MergeReport> {
        Ok(self.merge_inputs(now_ms)?.1)
    }

    /// Merges every data file; `progress(done, total)` is called with live bytes copied.
    pub fn merge(
        &mut self,
        now_ms: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<MergeReport> {
        let start = Instant::now();
        let (live, mut report) = self.merge_inputs(now_ms)?;
        if report.bytes_after == report.bytes_before && report.files_after == report.files_before {
            // Nothing dead to reclaim: rewriting would only move bytes.
            return Ok(report);
        }
        let result = self.merge_live(&live, &mut report, progress);
        if result.is_err() {
            self.poisoned = true;
        }
        result?;
        report.elapsed_ms = start.elapsed().as_millis() as u64;
        Ok(report)
    }

    fn merge_live(
        &mut self,
        live: &[LiveEntry],
        report: &mut MergeReport,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        self.sync_active()?;
        let old_ids: Vec<FileId> = self.files.keys().copied().collect();
        let mut next_id = old_ids
            .last()
            .map_or(FileId::FIRST, |id| id.next_generation());
        let mut keydir = Keydir::full();
        let mut outputs: Vec<(FileId, u64)> = Vec::new();
        let mut writer: Option<OutputFile> = None;
        let mut copied = 0u64;
        for (key, entry) in live {
            let bytes = self.checked_record(key, entry)?;
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
            let offset = out.append(&bytes)?;
            keydir.insert(
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

        if let Some(&(last_id, last_len)) = outputs.last() {
            let position =
                |id: FileId| outputs.iter().position(|(o, _)| *o == id).expect("output") as u32;
            let slots: Vec<Slot> = keydir
                .values()
                .map(|(k, e)| Slot {
                    fingerprint: fingerprint(k),
                    file_index: position(e.file_id),
                    offset: e.offset,
                })
                .collect();
            let meta = HintMeta {
                watermark_file_id: last_id.0,
                watermark_offset: last_len,
                entry_count: 0,
                slot_count: 0,
                files: outputs.iter().map(|(id, len)| (id.0, *len)).collect(),
            };
            report.hint_bytes = Hint::write(&self.dir, meta, &slots)?;
        } else {
            Hint::remove(&self.dir)?;
        }
        failpoint::hit("merge-before-removal");

        // Oldest first, each removal durable before the next: a power cut
        // may keep any subset of unsynced directory changes, and removing
        // a tombstone's file while an older file holding the value it hides
        // survives would bring a deleted key back.
        for (i, id) in old_ids.iter().enumerate() {
            let file = self.files.remove(id).expect("old file");
            fs::remove_file(file.path())?;
            fs::sync_dir(&self.dir)?;
            if i == 0 {
                failpoint::hit("merge-after-first-removal");
            }
        }

        let newest = outputs.last().map(|(id, _)| *id);
        for (id, _) in &outputs {
            let file =
                super::open_data_file(&self.dir, *id, Some(*id) == newest, self.options.sync)?;
            self.files.insert(*id, file);
        }
        report.files_after = outputs.len() as u64;
        report.bytes_after = outputs.iter().map(|(_, len)| len).sum();
        self.index = Index::Full(keydir);
        self.hint_dirty = false;
        self.tail_bytes = 0;
        Ok(())
    }

    /// The encoded bytes of the record an entry points at, checked.
    fn checked_record(&self, key: &[u8], entry: &KeydirEntry) -> Result<Vec<u8>> {
        let file = self.files.get(&entry.file_id).expect("replayed file");
        let bytes = file.read(
            entry.offset,
            record::encoded_len(key.len(), entry.value_len as usize),
        )?;
        match record::decode(&bytes) {
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
}

/// A merge output being written under its temporary name.
struct OutputFile {
    id: FileId,
    temp: std::path::PathBuf,
    out: fs::BufferedWriter,
    len: u64,
}

impl OutputFile {
    fn create(dir: &std::path::Path, id: FileId) -> Result<OutputFile> {
        let temp = fs::temp_path_for(&dir.join(id.file_name()));
        fs::remove_file_if_exists(&temp)?;
        let file = fs::create_new_private(&temp)?;
        let mut out = OutputFile {
            id,
            out: fs::BufferedWriter::new(file, &temp, 1 << 20),
            temp,
            len: 0,
        };
        let header = FileHeader {
            magic: DATA_MAGIC,
            version: FORMAT_VERSION,
            file_id: id.0,
        };
        out.append(&header.encode())?;
        Ok(out)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        let offset = self.len;
        self.out.write(bytes)?;
        self.len += bytes.len() as u64;
        Ok(offset)
    }

    /// Flushes, fsyncs and renames the output into place; returns (id, len).
    fn finish(self, dir: &std::path::Path) -> Result<(FileId, u64)> {
        drop(self.out.finish()?);
        failpoint::hit("merge-before-output-rename");
        fs::rename(&self.temp, &dir.join(self.id.file_name()))?;
        fs::sync_dir(dir)?;
        Ok((self.id, self.len))
    }
}
