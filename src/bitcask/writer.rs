//! The writer's side of a bitcask store: appending a record and pointing
//! the keydir at it, rotating to a new data file, falling back from a
//! damaged hint, rewriting the hint, copying the store. Everything here
//! runs under the append lock (`Bitcask::writer`).

use std::sync::Arc;

use parking_lot::MutexGuard;

use super::data_file::{self, DataFileId, FileSet};
use super::hint::Hint;
use super::index::{HintDamaged, Index};
use super::keydir::KeydirEntry;
use super::{Bitcask, FileId, HINT_FILE, HintWritten};
use crate::error::{Error, Result};
use crate::file_list;
use crate::format::file_list::{FileList, ListedKind};
use crate::format::hint::{HintFile, HintMeta, fingerprint};
use crate::format::record::{self, Place, Record, RecordKind};
use crate::fs;
use crate::log_writer::Ticket;
use crate::manifest::SyncPolicy;
use crate::notice::{HintFault, HintRemedy, Notice};

/// What the append lock guards besides the right to append.
#[derive(Debug, Default)]
pub struct Writer {
    /// The file list as last written.
    pub list: FileList,
    /// Why the file list could not be used (a verify-only open, which then
    /// lists the files present): repair rewrites it.
    pub list_problem: Option<String>,
    /// Listed files that do not exist (only a verify-only open gets this far).
    pub missing: Vec<FileId>,
    /// Data files present but not listed (leftovers), by name.
    pub unlisted: Vec<String>,
    /// The hint on disk is missing, stale or damaged.
    pub hint_dirty: bool,
    /// Bytes of records after the hint's watermark.
    pub tail_bytes: u64,
    /// Reused encoding buffer, so a put allocates nothing once warm.
    pub buf: Vec<u8>,
    /// At least the number of keys held (the hint's and the overlay's at
    /// open, plus one per put since), for the key-count limit.
    pub keys_bound: u64,
    /// While a hint rebuild copies the index: what each key written since
    /// its watermark held at the watermark (`None`: nothing), recorded at
    /// the key's first write, so the copy can be put back to that moment.
    pub preimages: Option<std::collections::HashMap<Vec<u8>, Option<super::keydir::Newest>>>,
}

impl Bitcask {
    /// Takes the append lock of a store that may be written.
    pub(super) fn lock_writable(&self) -> Result<MutexGuard<'_, Writer>> {
        if !self.options.writable {
            return Err(Error::InvalidInput(
                "the store was opened for reading only".to_string(),
            ));
        }
        let w = self.lock_writer();
        self.log.check_writable()?;
        Ok(w)
    }

    /// Appends a value record (`Some((value, expiry))`) or a tombstone for
    /// `key` and points the keydir at it; returns the ticket to commit
    /// once the lock is released. A failure poisons the store.
    pub(super) fn write_locked(
        &self,
        w: &mut Writer,
        key: &[u8],
        value: Option<(&[u8], Option<u64>)>,
    ) -> Result<Ticket> {
        let (kind, bytes, expiry_ms) = match value {
            Some((bytes, expiry)) => (RecordKind::Value, bytes, expiry.unwrap_or(0)),
            None => (RecordKind::Tombstone, &b""[..], 0),
        };
        // The keydir's lines for the key are asked for before the record is
        // encoded and appended, so their cache misses overlap that work
        // rather than follow it (a bulk load's keydir is far beyond the
        // cache). The index is only replaced under the writer lock we hold.
        let index = self.index.load();
        let fingerprint = fingerprint(key);
        index.keys.prefetch(fingerprint, key);
        let len = record::encoded_len(key.len(), bytes.len());
        self.log.poison_on_error(|| self.make_room(w, len))?;
        let active = self.log.active().expect("an active file exists");
        let offset = active.len();
        w.buf.clear();
        record::encode_into(
            &mut w.buf,
            &Record {
                kind,
                expiry_ms,
                key,
                value: bytes,
                durable_len: active.durable(),
            },
            Place::new(active.uid(), offset),
        );
        let (at, ticket) = self.log.append(&active, &w.buf)?;
        debug_assert_eq!(at, offset);
        w.tail_bytes += w.buf.len() as u64;
        let mut shard = index.keys.write(fingerprint);
        if let Some(pre) = &mut w.preimages
            && !pre.contains_key(key)
        {
            pre.insert(key.to_vec(), shard.raw(key));
        }
        match kind {
            RecordKind::Value => shard.insert(
                key,
                KeydirEntry {
                    file_id: active.id(),
                    offset,
                    value_len: bytes.len() as u32,
                    expiry_ms,
                    fingerprint,
                },
            ),
            RecordKind::Tombstone => shard.delete(key, (active.id(), offset)),
        }
        Ok(ticket)
    }

    /// Ensures an active file with room for `len` more bytes, rotating if
    /// needed: the old file is sealed (footer, sync, whatever the policy),
    /// the new one created durably, and the file list rewritten to name it
    /// before any record goes there.
    pub(super) fn make_room(&self, w: &mut Writer, len: usize) -> Result<()> {
        // The common case first, without touching the file set's count.
        let current = self
            .files
            .load()
            .last_key_value()
            .map(|(id, f)| (*id, f.len(), f.is_empty(), f.is_sealed()));
        let next = match current {
            None => Some(FileId::FIRST),
            Some((id, _, _, true)) => Some(id.next_generation()),
            Some((id, file_len, is_empty, false)) => {
                let full = file_len + len as u64 > self.options.max_file_size;
                (full && !is_empty).then(|| id.next_generation())
            }
        };
        let Some(next) = next else {
            return Ok(());
        };
        let files = self.files.load_full();
        if let Some(old) = files.values().next_back() {
            if !old.is_sealed() {
                self.log.seal(old)?;
            }
            w.list.sealed.insert((ListedKind::Data, old.id().0));
        }
        let file = data_file::create(&self.dir, next)?;
        if self.options.sync == SyncPolicy::Always {
            file.set_preallocate(self.options.preallocate_step);
        }
        file.set_growing_map(super::open::growing_map_len(&self.options));
        w.list.entries.push((ListedKind::Data, next.0));
        file_list::write(&self.dir, &mut w.list)?;
        let file = Arc::new(file);
        let mut grown: FileSet = (*files).clone();
        grown.insert(next, file.clone());
        self.files.store(Arc::new(grown));
        self.log.set_active(file);
        Ok(())
    }

    /// Abandons a hint a lookup found damaged: replays every file into a
    /// full keydir and installs it. Does nothing if `seen` is no longer
    /// the index (another thread fell back, or a merge replaced it).
    pub(super) fn fall_back(&self, w: &mut Writer, seen: &Index, why: HintDamaged) -> Result<()> {
        if !std::ptr::eq(&**self.index.load(), seen) {
            return Ok(());
        }
        self.hint_problem(w, HintFault::Damaged(why.0), false);
        self.replay_all_shared(w)
    }

    /// Notes a hint this open cannot use. `found_at_open`: the next writer
    /// will find it unusable too (and so rewrite it); otherwise only a
    /// lookup met the damage, which a reader cannot record for the next
    /// writer, so its notice names `hoard hint`.
    pub(super) fn hint_problem(&self, w: &mut Writer, fault: HintFault, found_at_open: bool) {
        w.hint_dirty = true;
        let remedy = if self.options.writable {
            HintRemedy::RewrittenAtClose
        } else if found_at_open {
            HintRemedy::NextWrite
        } else {
            HintRemedy::RunHint
        };
        self.notice(Notice::HintUnusable { fault, remedy });
    }

    /// Rewrites the hint from the current index, as of the end of the
    /// active file. A failure poisons the engine, like any failed write.
    pub fn write_hint(&self) -> Result<HintWritten> {
        // One hint writer at a time: a background rebuild writes the same
        // temporary file.
        let _one = self.maintenance.lock().unwrap_or_else(|e| e.into_inner());
        self.write_hint_now()
    }

    /// As `write_hint`, for a caller already holding the maintenance lock.
    pub(super) fn write_hint_now(&self) -> Result<HintWritten> {
        let mut w = self.lock_writable()?;
        self.log.poison_on_error(|| self.write_hint_locked(&mut w))
    }

    pub(super) fn write_hint_locked(&self, w: &mut Writer) -> Result<HintWritten> {
        self.log.sync()?;
        let files = self.files.load_full();
        if files.is_empty() {
            Hint::remove(&self.dir)?;
            w.hint_dirty = false;
            return Ok(HintWritten {
                entries: 0,
                file_len: 0,
            });
        }
        let position: Vec<FileId> = files.keys().copied().collect();
        let entries = loop {
            let index = self.index.load_full();
            match index.hint_entries(&files, &position) {
                Ok(entries) => break entries,
                Err(super::index::Miss::Damaged(why)) => self.fall_back(w, &index, why)?,
                Err(super::index::Miss::Moved) => unreachable!("nothing moves under the lock"),
                Err(super::index::Miss::Failed(e)) => return Err(e),
            }
        };
        let mut table = Vec::with_capacity(files.len());
        for f in files.values() {
            table.push(HintFile {
                id: f.id().0,
                uid: f.uid(),
                len: f.disk_len(),
                records: f.record_count()?.unwrap_or(u64::MAX),
            });
        }
        let (last_id, last) = files.last_key_value().expect("a file");
        if let Some(entry) = table.last_mut() {
            // The watermark file is described as of the watermark.
            entry.len = last.len();
        }
        let meta = HintMeta::new(last_id.0, last.len(), table);
        let file_len = Hint::write(&self.dir, meta, &entries)?;
        w.hint_dirty = false;
        w.tail_bytes = 0;
        Ok(HintWritten {
            entries: entries.len() as u64,
            file_len,
        })
    }

    /// Copies the store's data files and hint into `dest` (an empty
    /// directory): sealed files are hard-linked (copied where links fail),
    /// the active file is copied up to its valid length. Every file is
    /// synced. Writes wait meanwhile.
    pub fn copy_into(&self, dest: &std::path::Path) -> Result<()> {
        let w = self.lock_writer();
        self.log.sync()?;
        let files = self.files.load_full();
        let last = files.keys().next_back().copied();
        // Only what FILES lists: during an online merge's install the file
        // set holds the merged files beside their outputs for a moment.
        let listed = w.list.ids(ListedKind::Data);
        for (id, file) in files.iter().filter(|(id, _)| listed.contains(&id.0)) {
            let to = dest.join(id.file_name());
            // Sealed files (the newest too, after a merge) never change:
            // linked whole, footer included.
            if Some(*id) != last || file.is_sealed() {
                fs::link_or_copy(file.path(), &to)?;
            } else {
                let bytes = file.read_raw(0, file.len() as usize)?;
                let out = fs::create_new_private(&to)?;
                fs::write_all_at(&out, &to, &bytes, 0)?;
            }
            // A linked file shares its inode: syncing makes sure its bytes
            // are on disk even if the store's policy is `never`.
            fs::sync_data(&fs::open_read(&to)?, &to)?;
        }
        if !files.is_empty() {
            let mut list = w.list.clone();
            file_list::write(dest, &mut list)?;
        }
        let hint = self.dir.join(HINT_FILE);
        if let Some(source) = fs::open_read_if_exists(&hint)? {
            let to = dest.join(HINT_FILE);
            let bytes = fs::read_all(&source, &hint)?;
            let out = fs::create_new_private(&to)?;
            fs::write_all_at(&out, &to, &bytes, 0)?;
            fs::sync_data(&out, &to)?;
        }
        Ok(())
    }
}
