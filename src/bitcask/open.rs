//! Opening a bitcask store: the file list against the directory, the
//! hint against the data files, and the replay of whatever the hint does
//! not cover (or of everything, without a usable hint).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use super::data_file::{self, DataFile, FileSet};
use super::hint::{Hint, HintProblem};
use super::index::Index;
use super::keydir::{KeydirEntry, Shards};
use super::writer::Writer;
use super::{Bitcask, BitcaskOptions, FileId};
use crate::clock::Clock;
use crate::error::{CorruptKind, Error, Result};
use crate::file_list;
use crate::format::file_list::{FileList, ListedKind};
use crate::format::hint::fingerprint;
use crate::format::record::{Record, RecordKind};
use crate::fs;
use crate::layout;
use crate::log::Role;
use crate::log_writer::LogWriter;
use crate::manifest::{EngineKind, SyncPolicy};
use crate::notice::{HintFault, Notice};

impl Bitcask {
    /// Opens the bitcask store in `dir`; the caller holds the matching lock.
    ///
    /// The file list says which data files make up the store: a listed file
    /// that is missing is corruption; an unlisted one is a leftover of an
    /// interrupted rotation or merge (its records are also in listed files,
    /// or it holds none), which readers ignore and writers remove.
    pub fn open(dir: &Path, options: BitcaskOptions, clock: Arc<dyn Clock>) -> Result<Bitcask> {
        let mut notices = Vec::new();
        // A verify-only open survives a damaged or missing list, so that
        // `verify` can report it and repair rebuild it.
        let (list, mut list_problem) = match file_list::read(dir) {
            Ok(list) => (list, None),
            Err(e @ Error::Corrupt { .. }) if !options.replay => (None, Some(e.to_string())),
            Err(e) => return Err(e),
        };
        let mut present = Vec::new();
        let mut temps = Vec::new();
        for name in fs::list_dir(dir)? {
            let Some(name) = name.to_str() else { continue };
            if let Some(id) = FileId::parse(name) {
                present.push(id);
            } else if name.ends_with(layout::TEMP_SUFFIX)
                && FileId::parse(name.trim_end_matches(layout::TEMP_SUFFIX)).is_some()
            {
                // A data file whose creation was interrupted before its
                // rename: never part of the store.
                temps.push(name.to_string());
            }
        }
        present.sort_unstable();
        // Without a file list, only files that never took a record may be
        // present: a first file created just before a crash kept its list
        // from being written.
        if list.is_none() && list_problem.is_none() && !all_header_only(dir, &present)? {
            let missing_list = Error::Corrupt {
                path: dir.join(layout::FILE_LIST_FILE),
                offset: 0,
                kind: CorruptKind::Missing,
            };
            if options.replay {
                return Err(missing_list);
            }
            list_problem = Some(missing_list.to_string());
        }
        let listed: Vec<FileId> = match (&list, &list_problem) {
            // Rebuilt from the files present, for verify and repair.
            (_, Some(_)) => present.clone(),
            (Some(l), None) => l.ids(ListedKind::Data).into_iter().map(FileId).collect(),
            (None, None) => Vec::new(),
        };
        let unlisted: Vec<FileId> = present
            .iter()
            .copied()
            .filter(|id| !listed.contains(id))
            .collect();
        let missing: Vec<FileId> = listed
            .iter()
            .copied()
            .filter(|id| !present.contains(id))
            .collect();
        if let Some(first) = missing.first()
            && options.replay
        {
            return Err(Error::Corrupt {
                path: dir.join(first.file_name()),
                offset: 0,
                kind: CorruptKind::Missing,
            });
        }
        let mut leftovers: Vec<String> = unlisted.iter().map(|id| id.file_name()).collect();
        leftovers.extend(temps.iter().cloned());
        if options.writable && options.replay && !leftovers.is_empty() {
            notices.extend(set_aside_leftovers(dir, &unlisted, &temps)?);
        }
        let list = match list_problem {
            Some(_) => Some(FileList {
                sequence: 0,
                entries: listed.iter().map(|id| (ListedKind::Data, id.0)).collect(),
                sealed: Default::default(),
            }),
            None => list,
        };
        let newest = listed.last().copied();
        let mut files = BTreeMap::new();
        let sealed_listed = |id: FileId| {
            list.as_ref()
                .is_some_and(|l| l.is_sealed(ListedKind::Data, id.0))
        };
        for id in listed.iter().filter(|id| !missing.contains(id)) {
            let is_newest = Some(*id) == newest;
            // The newest file is sealed too when the list says so (merge
            // outputs): then its footer must be there, whatever follows.
            let sealed = !is_newest || sealed_listed(*id);
            let writable = options.writable && !sealed;
            let role = if sealed { Role::Sealed } else { Role::Newest };
            let file = if options.replay {
                open_data_file(dir, *id, writable, role, &options)?
            } else {
                data_file::open_for_survey(dir, *id, role)?
            };
            files.insert(*id, Arc::new(file));
        }

        let files: FileSet = files;
        let active = files
            .values()
            .next_back()
            .filter(|f| options.writable && !f.is_sealed())
            .cloned();
        let log = LogWriter::new(dir, options.sync);
        if let Some(active) = &active {
            log.set_active(active.clone());
        }
        let engine = Bitcask {
            dir: dir.to_path_buf(),
            options,
            clock,
            vfs: fs::installed_vfs(),
            files: ArcSwap::from_pointee(files),
            index: ArcSwap::from_pointee(Index::full()),
            writer: parking_lot::Mutex::new(Writer {
                list: list.clone().unwrap_or_default(),
                list_problem,
                missing,
                unlisted: leftovers,
                ..Writer::default()
            }),
            log,
            maintenance: Mutex::new(()),
            expiry_cursor: Default::default(),
            shadow_bytes: Default::default(),
            notices: Mutex::new(notices),
        };
        if !options.replay {
            return Ok(engine);
        }
        let mut w = engine.lock_writer();
        let files = engine.files.load_full();
        let hint = if options.use_hint && !files.is_empty() {
            match Hint::load(dir, &files) {
                Ok(hint) => Some(hint),
                Err(HintProblem::Missing) => {
                    engine.hint_problem(&mut w, HintFault::Missing, true);
                    None
                }
                Err(HintProblem::Stale(why) | HintProblem::Damaged(why)) => {
                    engine.hint_problem(&mut w, HintFault::Unusable(why), true);
                    None
                }
            }
        } else {
            // No data files yet (the next writer's hint will cover its
            // records), or the caller wants a full replay.
            w.hint_dirty = true;
            None
        };
        match hint {
            Some(hint) => engine.replay_tail(&mut w, hint)?,
            None => engine.replay_all(&mut w)?,
        }
        if let Some(active) = &active {
            // Whatever an earlier writer left unsynced becomes durable now,
            // so the durable length the next record claims is true.
            let suspect = crate::log::sync_failed_before(dir);
            let synced = if suspect {
                active.make_durable()
            } else {
                active.sync()
            };
            if let Err(e) = synced {
                crate::log::mark_sync_failed(dir);
                return Err(e);
            }
            if suspect {
                crate::log::clear_sync_failed(dir)?;
            }
        }
        w.keys_bound = engine.index.load().keys_max();
        drop(w);
        Ok(engine)
    }

    /// Replays the records after the hint's watermark into an overlay.
    fn replay_tail(&self, w: &mut Writer, hint: Hint) -> Result<()> {
        let (watermark_id, watermark_offset) = hint.watermark();
        let index = Index::hinted(hint);
        let files = self.files.load_full();
        if let Some(count) = index.hint.as_ref().and_then(|h| h.watermark_records())
            && let Some(file) = files.get(&watermark_id)
        {
            file.set_record_count(count);
        }
        let mut tail_bytes = 0;
        for (id, file) in files.range(watermark_id..) {
            let from = if *id == watermark_id {
                watermark_offset
            } else {
                0
            };
            let end = self.scan_file(*id, file, from, &index.keys, true)?;
            tail_bytes +=
                end.saturating_sub(from.max(crate::format::file_header::HEADER_LEN as u64));
        }
        w.tail_bytes = tail_bytes;
        self.index.store(Arc::new(index));
        Ok(())
    }

    /// Replays every data file into a full keydir and installs it.
    pub(super) fn replay_all(&self, w: &mut Writer) -> Result<()> {
        self.replay(w, true)
    }

    /// As `replay_all`, for a store other threads already read: damage in
    /// the newest file is corruption here, never a torn tail to cut, since
    /// readers may hold bytes of it (through its map) while it shrank.
    pub(super) fn replay_all_shared(&self, w: &mut Writer) -> Result<()> {
        self.replay(w, false)
    }

    fn replay(&self, w: &mut Writer, may_cut: bool) -> Result<()> {
        // A hint rebuild copying the old index sees the swap and aborts.
        w.preimages = None;
        let index = Index::full();
        let files = self.files.load_full();
        let mut total = 0;
        for (id, file) in files.iter() {
            total += self.scan_file(*id, file, 0, &index.keys, may_cut)?;
        }
        w.tail_bytes = total;
        self.index.store(Arc::new(index));
        Ok(())
    }

    /// Scans one file into `keys`, handling a torn tail (a writer keeps
    /// its bytes under `torn/`, then cuts it); returns the valid length.
    fn scan_file(
        &self,
        id: FileId,
        file: &DataFile,
        from: u64,
        keys: &Shards,
        may_cut: bool,
    ) -> Result<u64> {
        let writable = self.options.writable;
        let end = file.scan(from, |offset, rec| apply(keys, id, offset, rec))?;
        if let Some(torn) = end.torn.filter(|_| !may_cut) {
            return Err(crate::error::Error::Corrupt {
                path: file.path().to_path_buf(),
                offset: torn.offset,
                kind: crate::error::CorruptKind::Checksum,
            });
        }
        if writable && end.footer.is_some() && file.cut_after_footer()? {
            self.notice(Notice::FooterZerosCut {
                file: id.file_name(),
            });
        }
        if let Some(torn) = end.torn {
            let name = id.file_name();
            let kept = if writable {
                let kept = crate::log::keep_torn(
                    &self.dir,
                    &name,
                    file.file(),
                    file.path(),
                    &torn,
                    self.clock.now_ms(),
                )?;
                file.truncate_to_valid()?;
                Some(kept)
            } else {
                None
            };
            self.notice(crate::log::torn_tail_notice(&name, &torn, kept));
        }
        Ok(end.valid_len)
    }
}

/// Opens a data file; the active file of a writer under `sync=always`
/// preallocates (see `LogFile::set_preallocate`).
pub(super) fn open_data_file(
    dir: &Path,
    id: FileId,
    writable: bool,
    role: Role,
    options: &BitcaskOptions,
) -> Result<DataFile> {
    let file = data_file::open(dir, id, writable, role)?;
    if writable && options.sync == SyncPolicy::Always {
        file.set_preallocate(options.preallocate_step);
    }
    if writable {
        file.set_growing_map(growing_map_len(options));
    }
    Ok(file)
}

/// How much of the newest data file readers see through a map: its
/// rotation size (a file outgrows it only by one record).
pub(super) fn growing_map_len(options: &BitcaskOptions) -> u64 {
    options.max_file_size.clamp(1 << 20, 1 << 32)
}

/// Disposes of data files the file list does not name: temporaries and
/// files holding no record are removed; any other is moved into
/// `DIR/unlisted/` (a rename, no copy), for the user to inspect, since
/// hoard cannot prove what it holds is also elsewhere. Returns the notices.
fn set_aside_leftovers(dir: &Path, unlisted: &[FileId], temps: &[String]) -> Result<Vec<Notice>> {
    let mut removed: Vec<String> = temps.to_vec();
    let mut moved = Vec::new();
    for name in temps {
        fs::remove_file(&dir.join(name))?;
    }
    for id in unlisted {
        let name = id.file_name();
        if all_header_only(dir, &[*id])? {
            fs::remove_file(&dir.join(&name))?;
            removed.push(name);
        } else {
            let aside = dir.join(layout::UNLISTED_DIR);
            if !fs::exists(&aside) {
                fs::create_dir_private(&aside)?;
            }
            fs::rename(&dir.join(&name), &aside.join(&name))?;
            moved.push(name);
        }
    }
    if !moved.is_empty() {
        fs::sync_dir(&dir.join(layout::UNLISTED_DIR))?;
    }
    fs::sync_dir(dir)?;
    let mut notices = Vec::new();
    if !removed.is_empty() {
        notices.push(Notice::LeftoversRemoved { names: removed });
    }
    if !moved.is_empty() {
        notices.push(Notice::LeftoversMovedAside {
            names: moved,
            dir: PathBuf::from(layout::UNLISTED_DIR),
            engine: EngineKind::Bitcask,
        });
    }
    Ok(notices)
}

/// Whether every data file named holds its header alone (no record).
fn all_header_only(dir: &Path, ids: &[FileId]) -> Result<bool> {
    for id in ids {
        let path = dir.join(id.file_name());
        let file = fs::open_read(&path)?;
        if fs::file_len(&file, &path)? > crate::format::file_header::HEADER_LEN as u64 {
            return Ok(false);
        }
    }
    Ok(true)
}

fn apply(keys: &Shards, file_id: FileId, offset: u64, rec: &Record<'_>) {
    let fingerprint = fingerprint(rec.key);
    let mut keydir = keys.write(fingerprint);
    match rec.kind {
        RecordKind::Value => keydir.insert(
            rec.key,
            KeydirEntry {
                file_id,
                offset,
                value_len: rec.value.len() as u32,
                expiry_ms: rec.expiry_ms,
                fingerprint,
            },
        ),
        RecordKind::Tombstone => keydir.delete(rec.key, (file_id, offset)),
    }
}
