//! Maintenance that runs while reads and writes go on: merging the sealed
//! files with the most dead bytes, and rebuilding the hint. Both read a
//! consistent view without holding the append lock, and take it only for
//! short steps: to note a watermark, and to install the result.
//!
//! **Online merge.** Files are picked by dead-byte share and size (the
//! thresholds of `MergePolicy`, after basho bitcask's fragmentation and
//! dead-bytes triggers). Their records are read in file order; a value
//! record is copied if the index still points at it and it has not
//! expired; a tombstone is copied if an older file outside the merge might
//! still hold a value of its key and the key is still deleted; an expired
//! newest value becomes a tombstone under the same condition, and is
//! dropped otherwise. Outputs take ids right after the newest merged file,
//! so every record keeps its place in the order of files: nothing outside
//! the merge that is newer than a copied record is older than its copy.
//! Outputs are sealed, synced and renamed (unlisted) first; then, under the
//! append lock, `FILES` is rewritten to list them instead of the merged
//! files (the commit point), each moved key's entry is repointed only if it
//! still points where the copy came from, and the merged files are retired
//! (hint slots into them are dead) and unlinked. Readers that hold the old
//! file set keep the files open; a reader that meets an entry of the other
//! set looks again. A crash before the commit leaves unlisted outputs, after
//! it unlisted inputs: either way the next writer sets them aside and the
//! listed files hold every acknowledged write, with no deleted key back.
//!
//! **Hint rebuild.** Under the lock: sync, note the watermark (end of the
//! active file), copy the overlay. Outside it: compute the new table from
//! the old hint and the copy and write it atomically. Under the lock again:
//! install it with an overlay of only the entries written since the
//! watermark.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use super::data_file::{DataFileId, FileSet};
use super::hint::Hint;
use super::index::{Index, Miss, for_each_slot};
use super::keydir::{KeydirEntry, Known, Shards};
use super::merge::{Finished, OutputFile};
use super::writer::Writer;
use super::{Bitcask, FileId, HintWritten, MergeReport};
use crate::error::{Error, Result};
use crate::failpoint;
use crate::file_list;
use crate::format::file_header::HEADER_LEN;
use crate::format::file_list::ListedKind;
use crate::format::hint::{HintFile, HintMeta, fingerprint};
use crate::format::record::{self, Place, RECORD_HEADER_LEN, Record, RecordKind};
use crate::fs;
use crate::log::Role;

/// When a background merge runs and which files it takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MergePolicy {
    /// A sealed file whose dead share reaches this is merged (0..1).
    pub fragmentation: f64,
    /// A sealed file holding at least this many dead bytes is merged.
    pub dead_bytes: u64,
    /// A merge starts only when some file's dead share reaches this ...
    pub trigger_fragmentation: f64,
    /// ... or some file holds this many dead bytes.
    pub trigger_dead_bytes: u64,
}

impl Default for MergePolicy {
    fn default() -> MergePolicy {
        MergePolicy {
            fragmentation: 0.4,
            dead_bytes: 128 << 20,
            trigger_fragmentation: 0.6,
            trigger_dead_bytes: 512 << 20,
        }
    }
}

/// Entries an online merge repoints per hold of the append lock.
const MOVE_BATCH: usize = 4096;

/// An active file is sealed for merging only when it holds this many
/// bytes of records, mostly dead.
const ROTATE_DEAD_MIN: u64 = 1 << 20;

/// Live record bytes of one data file, from the index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileUse {
    /// Bytes of records (header and footer excluded).
    pub record_bytes: u64,
    /// Bytes of the records the index points at.
    pub live_bytes: u64,
}

impl FileUse {
    /// Bytes of records nothing points at any more.
    pub fn dead_bytes(&self) -> u64 {
        self.record_bytes.saturating_sub(self.live_bytes)
    }

    /// Share of the records that is dead (0 for an empty file).
    pub fn dead_share(&self) -> f64 {
        if self.record_bytes == 0 {
            0.0
        } else {
            self.dead_bytes() as f64 / self.record_bytes as f64
        }
    }
}

/// The bytes of the value record at `offset` of `file`, checked (CRC at
/// its place, key) before they are copied and re-signed elsewhere.
fn checked_copy(
    file: &super::data_file::DataFile,
    offset: u64,
    key: &[u8],
    value_len: usize,
) -> Result<Vec<u8>> {
    let bytes = file.read(offset, record::encoded_len(key.len(), value_len))?;
    let kind = match record::decode(&bytes, Place::new(file.uid(), offset)) {
        record::Decoded::Record(rec, _) if rec.key == key => return Ok(bytes.into_owned()),
        record::Decoded::Record(..) => crate::error::CorruptKind::KeyMismatch,
        record::Decoded::Incomplete => crate::error::CorruptKind::Truncated,
        record::Decoded::Corrupt(kind) => kind,
    };
    Err(Error::Corrupt {
        path: file.path().to_path_buf(),
        offset,
        kind,
    })
}

/// A record of a merged file and what the merge does with it.
struct Copied {
    key: Vec<u8>,
    /// Where the record was.
    from: (FileId, u64),
    /// Where its copy is, or `None` when an expired key was dropped.
    to: Option<(FileId, u64)>,
    kind: RecordKind,
    value_len: u32,
    expiry_ms: u64,
}

impl Bitcask {
    /// Bytes of records and live bytes per data file at `now_ms`, read off
    /// the index (an expired key's record is dead: a merge drops it).
    pub fn file_use(&self, now_ms: u64) -> Result<BTreeMap<FileId, FileUse>> {
        self.with_view(|index, files| {
            let mut usage: BTreeMap<FileId, FileUse> = files
                .iter()
                .map(|(id, f)| {
                    let record_bytes = f.len().saturating_sub(HEADER_LEN as u64);
                    (
                        *id,
                        FileUse {
                            record_bytes,
                            live_bytes: 0,
                        },
                    )
                })
                .collect();
            let mut count = |id: FileId, len: usize| {
                if let Some(u) = usage.get_mut(&id) {
                    u.live_bytes += len as u64;
                }
            };
            for shard in index.keys.all() {
                for (key, e) in shard.values().filter(|(_, e)| e.is_live(now_ms)) {
                    count(
                        e.file_id,
                        record::encoded_len(key.len(), e.value_len as usize),
                    );
                }
            }
            // Tombstones a merge had to keep are not dead: merging their
            // file again would only copy them again.
            for (id, bytes) in self
                .shadow_bytes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
            {
                count(*id, *bytes as usize);
            }
            if let Some(hint) = &index.hint {
                for_each_slot(hint, |_, slot| {
                    let Some(id) = hint.file_of(&slot) else {
                        return Ok(());
                    };
                    let Some(file) = files.get(&id).filter(|_| !index.retired.contains(&id)) else {
                        return Ok(());
                    };
                    let Ok(head) = file.read(slot.offset, RECORD_HEADER_LEN) else {
                        return Ok(());
                    };
                    let Some(raw) = record::peek_header(&head) else {
                        return Ok(());
                    };
                    let Ok(key) = file.read(slot.offset + RECORD_HEADER_LEN as u64, raw.key_len)
                    else {
                        return Ok(());
                    };
                    let live = raw.expiry_ms == 0 || now_ms < raw.expiry_ms;
                    if live && index.keys.read(fingerprint(&key)).get(&key) == Known::Unknown {
                        count(id, record::encoded_len(raw.key_len, raw.value_len));
                    }
                    Ok(())
                })?;
            }
            Ok(usage)
        })
    }

    /// Merges the sealed files `policy` picks, if any reaches its trigger,
    /// while reads and writes go on; returns what it did.
    pub fn merge_online(&self, now_ms: u64, policy: &MergePolicy) -> Result<Option<MergeReport>> {
        let _one = self.maintenance.lock().unwrap_or_else(|e| e.into_inner());
        if !self.options.writable {
            return Err(Error::InvalidInput(
                "the store was opened for reading only".to_string(),
            ));
        }
        self.log.check_writable()?;
        let start = Instant::now();
        let usage = self.file_use(now_ms)?;
        let files = self.files.load_full();
        if let Some((_, active)) = files.last_key_value()
            && !active.is_sealed()
        {
            // An active file that is mostly dead (say every key in it
            // expired) would keep its bytes until writes filled it: seal
            // it, so the next round can merge it.
            let u = usage.get(&active.id()).copied().unwrap_or_default();
            if u.record_bytes >= ROTATE_DEAD_MIN && u.dead_share() >= policy.trigger_fragmentation {
                let mut w = self.lock_writable()?;
                let full = self.options.max_file_size as usize;
                self.log.poison_on_error(|| self.make_room(&mut w, full))?;
            }
        }
        let sealed: Vec<FileId> = files
            .iter()
            .filter(|(_, f)| f.is_sealed())
            .map(|(id, _)| *id)
            .collect();
        let use_of = |id: &FileId| usage.get(id).copied().unwrap_or_default();
        let triggered = sealed.iter().any(|id| {
            let u = use_of(id);
            u.dead_share() >= policy.trigger_fragmentation
                || u.dead_bytes() >= policy.trigger_dead_bytes
        });
        if !triggered {
            return Ok(None);
        }
        let mut chosen: Vec<FileId> = sealed
            .iter()
            .copied()
            .filter(|id| {
                let u = use_of(id);
                u.dead_share() >= policy.fragmentation || u.dead_bytes() >= policy.dead_bytes
            })
            .collect();
        // Outputs take the ids after the newest merged file: make room.
        let needed = |chosen: &[FileId]| {
            let live: u64 = chosen.iter().map(|id| use_of(id).live_bytes).sum();
            live / self.options.max_file_size.max(1) + 2
        };
        loop {
            let last = *chosen.last().expect("a file was chosen");
            let next = files.range(FileId(last.0 + 1)..).next().map(|(id, _)| *id);
            match next {
                None => break,
                Some(next) if next.0 - last.0 > needed(&chosen) => break,
                Some(next) if files[&next].is_sealed() => chosen.push(next),
                Some(_) => return Ok(None),
            }
        }
        let oldest_kept = files.keys().find(|id| !chosen.contains(id)).copied();
        // A failure here (a damaged record, a full disk) stops this merge
        // and leaves unlisted outputs for the next writer to set aside; the
        // store goes on. Only the commit itself poisons it when it fails.
        let Some(mut report) = self.merge_files(now_ms, &files, &chosen, oldest_kept)? else {
            return Ok(None);
        };
        report.elapsed_ms = start.elapsed().as_millis() as u64;
        drop(_one);
        self.rebuild_hint()?;
        Ok(Some(report))
    }

    fn merge_files(
        &self,
        now_ms: u64,
        files: &FileSet,
        chosen: &[FileId],
        oldest_kept: Option<FileId>,
    ) -> Result<Option<MergeReport>> {
        // Output ids must stay below the next file outside the merge.
        let last = *chosen.last().expect("a file");
        let limit = files
            .range(FileId(last.0 + 1)..)
            .next()
            .map_or(FileId(u64::MAX), |(id, _)| *id);
        let mut shadow_bytes: HashMap<FileId, u64> = HashMap::new();
        let mut report = MergeReport {
            files_before: chosen.len() as u64,
            bytes_before: chosen.iter().map(|id| files[id].disk_len()).sum(),
            record_bytes_before: chosen
                .iter()
                .map(|id| files[id].len().saturating_sub(HEADER_LEN as u64))
                .sum(),
            ..MergeReport::default()
        };
        let mut next_id = FileId(chosen.last().expect("a file").0 + 1);
        let mut outputs: Vec<Finished> = Vec::new();
        let mut out: Option<OutputFile> = None;
        let mut copied: Vec<Copied> = Vec::new();
        // Keys given a tombstone in this merge (one is enough).
        let mut shadowed: HashSet<Vec<u8>> = HashSet::new();
        for id in chosen {
            let file = &files[id];
            // An older file outside the merge may hold a value that a
            // record here shadows: then the shadow must be kept.
            let older_outside = oldest_kept.is_some_and(|k| k < *id);
            let mut records = Vec::new();
            file.scan_all(|offset, rec| {
                records.push((
                    offset,
                    rec.key.to_vec(),
                    rec.kind,
                    rec.expiry_ms,
                    rec.value.len(),
                ));
            })?;
            for (offset, key, kind, expiry_ms, value_len) in records {
                let current = self.with_view(|i, f| i.locate(f, &key, false))?;
                let points_here = current.is_some_and(|e| (e.file_id, e.offset) == (*id, offset));
                let expired = expiry_ms != 0 && now_ms >= expiry_ms;
                // A newer record of the key survives (in a file outside the
                // merge, or later in it, where it is dealt with): drop this
                // one. Otherwise the key is gone (deleted, or expired), and
                // a tombstone must stand for it while anything older might
                // hold a value of it.
                let write_kind = if kind == RecordKind::Value && points_here && !expired {
                    Some(RecordKind::Value)
                } else if (current.is_none() || points_here)
                    && older_outside
                    && !shadowed.contains(&key)
                {
                    shadowed.insert(key.clone());
                    Some(RecordKind::Tombstone)
                } else {
                    None
                };
                let to = match write_kind {
                    None => None,
                    Some(write_kind) => {
                        let bytes = if write_kind == RecordKind::Value {
                            checked_copy(file, offset, &key, value_len)?
                        } else {
                            let mut b = Vec::new();
                            record::encode_into(
                                &mut b,
                                &Record {
                                    kind: RecordKind::Tombstone,
                                    expiry_ms: 0,
                                    key: &key,
                                    value: b"",
                                    durable_len: 0,
                                },
                                Place::new(0, 0),
                            );
                            b
                        };
                        let full = out.as_ref().is_some_and(|o| {
                            o.len + bytes.len() as u64 > self.options.max_file_size
                                && o.len > HEADER_LEN as u64
                        });
                        if full {
                            outputs.push(out.take().expect("an output").finish(&self.dir)?);
                        }
                        let o = match &mut out {
                            Some(o) => o,
                            None => {
                                if next_id >= limit {
                                    // No id left between the merged files and the
                                    // next one: give up this merge (outputs are
                                    // unlisted; the next writer sets them aside).
                                    return Ok(None);
                                }
                                let o = OutputFile::create(&self.dir, next_id)?;
                                next_id = FileId(next_id.0 + 1);
                                out.insert(o)
                            }
                        };
                        let at = o.len;
                        let mut bytes = bytes;
                        record::rebind(&mut bytes, Place::new(o.uid, at), HEADER_LEN as u64);
                        o.append(&bytes)?;
                        o.records += 1;
                        if write_kind == RecordKind::Value {
                            report.live_records += 1;
                            report.live_bytes += bytes.len() as u64;
                        } else {
                            *shadow_bytes.entry(o.id).or_default() += bytes.len() as u64;
                        }
                        Some((o.id, at))
                    }
                };
                if points_here {
                    copied.push(Copied {
                        key,
                        from: (*id, offset),
                        to,
                        kind: write_kind.unwrap_or(RecordKind::Tombstone),
                        value_len: value_len as u32,
                        expiry_ms,
                    });
                }
            }
        }
        if let Some(o) = out {
            outputs.push(o.finish(&self.dir)?);
        }
        failpoint::hit("online-merge-before-switch");
        self.install_merge(chosen, &outputs, &copied)?;
        self.shadow_bytes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(shadow_bytes);
        report.files_after = outputs.len() as u64;
        report.bytes_after = outputs.iter().map(|o| o.disk_len).sum();
        Ok(Some(report))
    }

    /// Commits a merge: the file list, then the index, then the old files go.
    fn install_merge(
        &self,
        chosen: &[FileId],
        outputs: &[Finished],
        copied: &[Copied],
    ) -> Result<()> {
        let mut w = self.lock_writer();
        self.log.check_writable()?;
        // A record was left behind because a newer one superseded it (or a
        // tombstone because its key was written again): that newer record
        // must be durable before the old one goes, or a power cut could
        // lose both.
        self.log.sync()?;
        self.log
            .poison_on_error(|| self.commit_merge(&mut w, chosen, outputs))?;
        failpoint::hit("online-merge-after-switch");
        drop(w);
        self.install_merged_index(chosen, outputs, copied)
    }

    /// Rewrites `FILES` to list `outputs` instead of `chosen`: the commit.
    fn commit_merge(&self, w: &mut Writer, chosen: &[FileId], outputs: &[Finished]) -> Result<()> {
        let mut list = w.list.clone();
        list.entries
            .retain(|(k, id)| *k != ListedKind::Data || !chosen.contains(&FileId(*id)));
        list.sealed
            .retain(|(k, id)| *k != ListedKind::Data || !chosen.contains(&FileId(*id)));
        for o in outputs {
            list.entries.push((ListedKind::Data, o.id.0));
            list.sealed.insert((ListedKind::Data, o.id.0));
        }
        list.entries.sort_by_key(|(k, id)| (*k as u8, *id));
        file_list::write(&self.dir, &mut list)?;
        w.list = list;
        Ok(())
    }

    /// After the commit: the outputs join the file set, entries move, the
    /// merged files are retired and removed.
    fn install_merged_index(
        &self,
        chosen: &[FileId],
        outputs: &[Finished],
        copied: &[Copied],
    ) -> Result<()> {
        let old_files = self.files.load_full();
        {
            let _w = self.lock_writer();
            let mut both: FileSet = (**self.files.load()).clone();
            for o in outputs {
                let file = super::open::open_data_file(
                    &self.dir,
                    o.id,
                    false,
                    Role::Sealed,
                    &self.options,
                )?;
                both.insert(o.id, Arc::new(file));
            }
            self.files.store(Arc::new(both));
        }
        // Entries move a batch at a time, so writes wait at most for one
        // batch: until the last, readers find keys in the merged files or in
        // the outputs, both in the file set; a key written meanwhile no
        // longer points where its copy came from and is left alone.
        for batch in copied.chunks(MOVE_BATCH) {
            let _w = self.lock_writer();
            let index = self.index.load_full();
            for c in batch {
                let fingerprint = fingerprint(&c.key);
                let mut shard = index.keys.write(fingerprint);
                let still_here = match shard.get(&c.key) {
                    Known::Value(e) => (e.file_id, e.offset) == c.from,
                    // Found through the hint: no newer write since. Without
                    // a hint, unknown means deleted since.
                    Known::Unknown => index.hint.is_some(),
                    Known::Deleted => false,
                };
                if !still_here {
                    continue;
                }
                match (c.kind, c.to) {
                    (RecordKind::Value, Some((file_id, offset))) => shard.insert(
                        &c.key,
                        KeydirEntry {
                            file_id,
                            offset,
                            value_len: c.value_len,
                            expiry_ms: c.expiry_ms,
                            fingerprint,
                        },
                    ),
                    (_, to) if shard.is_overlay() => shard.delete(&c.key, to.unwrap_or(c.from)),
                    _ => shard.forget(&c.key),
                }
            }
        }
        {
            let mut w = self.lock_writer();
            let index = self.index.load_full();
            let mut retired = index.retired.clone();
            retired.extend(chosen.iter().copied());
            self.index.store(Arc::new(Index {
                hint: index.hint.clone(),
                keys: index.keys.clone(),
                retired,
            }));
            let mut kept: FileSet = (**self.files.load()).clone();
            for id in chosen {
                kept.remove(id);
            }
            self.files.store(Arc::new(kept));
            w.hint_dirty = true;
        }
        let mut shadows = self.shadow_bytes.lock().unwrap_or_else(|e| e.into_inner());
        for id in chosen {
            shadows.remove(id);
        }
        drop(shadows);
        // Unlisted now: a crash from here leaves them for the next writer.
        for id in chosen {
            fs::remove_file(old_files[id].path())?;
        }
        fs::sync_dir(&self.dir)
    }

    /// Rewrites the hint from a consistent view while writes go on, and
    /// installs it with an overlay of only what was written since.
    pub fn rebuild_hint(&self) -> Result<HintWritten> {
        let _one = self.maintenance.lock().unwrap_or_else(|e| e.into_inner());
        let (watermark, index, files) = {
            let mut w = self.lock_writable()?;
            self.log.sync()?;
            let files = self.files.load_full();
            let Some((last_id, last)) = files.last_key_value() else {
                drop(w);
                return self.write_hint_now();
            };
            let watermark = (*last_id, last.len());
            w.preimages = Some(Default::default());
            (watermark, self.index.load_full(), files)
        };
        // The index as of the watermark, copied shard by shard while writes
        // go on (the append lock is held for no more than one key's
        // write), then put back to the watermark with the pre-images of
        // the keys written since.
        let snapshot = Shards::new(true);
        let now_ms = self.clock.now_ms();
        for (i, shard) in index.keys.all().enumerate() {
            shard.copy_after_live((FileId(0), 0), now_ms, &mut snapshot.write_at(i));
        }
        let preimages = {
            let mut w = self.lock_writer();
            let preimages = w.preimages.take();
            if !Arc::ptr_eq(&self.index.load_full(), &index) {
                // A fallback replaced the index during the copy: the
                // pre-images were taken from the new one. Start over later.
                return Ok(HintWritten {
                    entries: 0,
                    file_len: 0,
                });
            }
            preimages.unwrap_or_default()
        };
        for (key, raw) in preimages {
            snapshot.write(fingerprint(&key)).restore(&key, raw);
        }
        let view = Index {
            hint: index.hint.clone(),
            keys: Arc::new(snapshot),
            retired: index.retired.clone(),
        };
        let position: Vec<FileId> = files.keys().copied().collect();
        let entries = match view.hint_entries(&files, &position) {
            Ok(entries) => entries,
            Err(Miss::Damaged(_) | Miss::Moved) => {
                // The old hint is damaged: the foreground rewrite falls back.
                return self.write_hint_now();
            }
            Err(Miss::Failed(e)) => return Err(e),
        };
        let mut table = Vec::with_capacity(files.len());
        for f in files.values() {
            table.push(HintFile {
                id: f.id().0,
                uid: f.uid(),
                len: if f.id() == watermark.0 {
                    watermark.1
                } else {
                    f.disk_len()
                },
                records: if f.id() == watermark.0 {
                    u64::MAX
                } else {
                    f.record_count()?.unwrap_or(u64::MAX)
                },
            });
        }
        let meta = HintMeta::new(watermark.0.0, watermark.1, table);
        // A failed hint write costs only a longer open: the store goes on.
        let file_len = Hint::write(&self.dir, meta, &entries)?;
        failpoint::hit("hint-rebuild-before-install");
        let written = HintWritten {
            entries: entries.len() as u64,
            file_len,
        };
        let mut w = self.lock_writer();
        let current = self.files.load_full();
        if !Arc::ptr_eq(&self.index.load_full(), &index) {
            // A lookup fell back from a damaged hint meanwhile: keep the
            // index it built; the next writer to close rewrites the hint.
            w.hint_dirty = true;
            return Ok(written);
        }
        let Ok(hint) = Hint::load(&self.dir, &current) else {
            w.hint_dirty = true;
            return Ok(written);
        };
        // The new overlay: the records written since the watermark,
        // replayed from the files (a full keydir forgets deletions, so the
        // old index cannot say which keys were deleted since).
        let fresh = Index::hinted(hint);
        for (id, file) in current.range(watermark.0..) {
            let from = if *id == watermark.0 {
                watermark.1
            } else {
                HEADER_LEN as u64
            };
            file.scan_range(from, |offset, rec| {
                let fingerprint = fingerprint(rec.key);
                let mut shard = fresh.keys.write(fingerprint);
                match rec.kind {
                    RecordKind::Value => shard.insert(
                        rec.key,
                        KeydirEntry {
                            file_id: *id,
                            offset,
                            value_len: rec.value.len() as u32,
                            expiry_ms: rec.expiry_ms,
                            fingerprint,
                        },
                    ),
                    RecordKind::Tombstone => shard.delete(rec.key, (*id, offset)),
                }
            })?;
        }
        self.index.store(Arc::new(fresh));
        w.hint_dirty = false;
        let tail: u64 = current
            .range(watermark.0..)
            .map(|(id, f)| {
                let from = if *id == watermark.0 {
                    watermark.1
                } else {
                    HEADER_LEN as u64
                };
                f.len().saturating_sub(from)
            })
            .sum();
        w.tail_bytes = tail;
        Ok(written)
    }
}

impl Bitcask {
    /// Active expiry: drops up to `shards` shards' worth of expired keys
    /// from the in-memory index (a full keydir forgets them; an overlay
    /// keeps a small deletion mark, since the hint below may know the
    /// key). Their disk space goes with the next merge. Returns the keys removed.
    pub fn expire_some(&self, now_ms: u64, shards: usize) -> Result<Vec<Vec<u8>>> {
        let mut removed = Vec::new();
        for _ in 0..shards {
            let i = self
                .expiry_cursor
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                % super::keydir::SHARDS;
            let _w = self.lock_writer();
            let index = self.index.load_full();
            let mut shard = index.keys.write_at(i);
            let expired: Vec<(Vec<u8>, (FileId, u64))> = shard
                .values()
                .filter(|(_, e)| !e.is_live(now_ms))
                .map(|(k, e)| (k.to_vec(), (e.file_id, e.offset)))
                .collect();
            for (key, at) in expired {
                if shard.is_overlay() {
                    shard.delete(&key, at);
                } else {
                    shard.forget(&key);
                }
                removed.push(key);
            }
        }
        Ok(removed)
    }
}
