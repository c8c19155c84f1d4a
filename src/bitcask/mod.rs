//! The Bitcask engine: append-only data files, the newest of which is
//! active; a hint (an on-disk hash table of the keydir as of a watermark)
//! and an in-memory overlay of the records written after it.
//!
//! Opening maps the hint and checks it against the data files (O(files)),
//! then replays only the records after its watermark into the overlay, so
//! its cost does not grow with the number of keys. Lookups ask the overlay,
//! then the hint, and check every record they reach (CRC and key). Without
//! a usable hint, or when a lookup finds it damaged, the engine replays
//! every data file into a full keydir instead, and the next writer to close
//! writes a fresh hint.
//!
//! A write appends one record to the active file, syncs it per the store's
//! policy, and only then updates the keydir. A failed write or sync poisons
//! the engine: it refuses further writes until reopened, because after a
//! failed fsync the kernel may have dropped the data while reporting later
//! syncs as successful.

mod data_file;
mod hint;
mod inspect;
mod keydir;
mod merge;
mod verify;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use data_file::DataFile;
pub use data_file::FileId;
pub use hint::HINT_FILE;
use hint::{Hint, HintProblem};
pub use inspect::{FileStats, InspectReport, KeyLocation, MERGE_ADVICE_DEAD_SHARE};
use keydir::{Keydir, KeydirEntry, Known};
pub use merge::MergeReport;
pub(crate) use verify::survey_problems;
pub use verify::{FileRepair, Problem, RepairReport, VerifyReport};

use crate::engine::{Engine, KeyMeta, Value};
use crate::error::{CorruptKind, Error, Result};
use crate::file_list;
use crate::format::file_list::{FileList, ListedKind};
use crate::format::hint::{BLOCK_SLOTS, HintFile, HintMeta, Slot, fingerprint};
use crate::format::record::{self, Decoded, Place, RECORD_HEADER_LEN, Record, RecordKind};
use crate::fs;
use crate::layout;
use crate::log::Role;
use crate::manifest::SyncPolicy;

/// A writer rewrites the hint when it closes with more than this many bytes
/// of records after the watermark, so that no open replays more than this.
pub const HINT_TAIL_BYTES_MAX: u64 = 1 << 20;

/// How a bitcask store is opened.
#[derive(Debug, Clone, Copy)]
pub struct BitcaskOptions {
    /// When appended records are synced.
    pub sync: SyncPolicy,
    /// Size at which the active file is sealed and a new one begun.
    pub max_file_size: u64,
    /// Whether this handle may write (it then holds the exclusive lock).
    pub writable: bool,
    /// Whether to use the hint; false replays every data file.
    pub use_hint: bool,
    /// Whether to replay at all. Without it the engine knows no keys and
    /// serves only `verify` and `repair`, which read the files themselves:
    /// a store too damaged to open can still be verified and repaired.
    pub replay: bool,
}

/// Where keys are looked up.
#[derive(Debug)]
enum Index {
    /// Every key, from replaying every data file.
    Full(Keydir),
    /// The hint, under an overlay of the records after its watermark.
    Hinted { hint: Hint, overlay: Keydir },
}

/// A lookup through the hint met something it cannot vouch for.
struct HintDamaged(String);

/// State of the hint, for `inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HintState {
    /// Whether the open used the hint (false: every file was replayed).
    pub used: bool,
    /// The hint's watermark, when used.
    pub watermark: Option<(FileId, u64)>,
    /// Keys in the hint, when used.
    pub entries: u64,
    /// Size of the hint file, when used.
    pub file_len: u64,
    /// Keys in the in-memory overlay (or the full keydir when not used).
    pub overlay_keys: u64,
    /// Bytes of records after the watermark.
    pub tail_bytes: u64,
}

/// What rewriting the hint produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintWritten {
    /// Keys indexed.
    pub entries: u64,
    /// Size of the hint file.
    pub file_len: u64,
}

/// An open bitcask store.
#[derive(Debug)]
pub struct Bitcask {
    dir: PathBuf,
    options: BitcaskOptions,
    /// The file list as last written.
    list: FileList,
    /// Why the file list could not be used (a verify-only open, which then
    /// lists the files present): repair rewrites it.
    list_problem: Option<String>,
    /// Listed files that do not exist (only a verify-only open gets this far).
    missing: Vec<FileId>,
    /// Data files present but not listed (leftovers), by name.
    unlisted: Vec<String>,
    /// Every data file, oldest first; the last is active when writable and not sealed.
    files: BTreeMap<FileId, DataFile>,
    index: Index,
    /// The hint on disk is missing, stale or damaged.
    hint_dirty: bool,
    /// Bytes of records after the hint's watermark.
    tail_bytes: u64,
    notices: Vec<String>,
    poisoned: bool,
    /// Appended records not yet synced.
    unsynced: bool,
    /// A bulk load is running: the policy's per-write syncs wait for `sync`.
    sync_deferred: bool,
    last_sync: Instant,
    /// Reused encoding buffer, so a put allocates nothing once warm.
    buf: Vec<u8>,
}

impl Bitcask {
    /// Opens the bitcask store in `dir`; the caller holds the matching lock.
    ///
    /// The file list says which data files make up the store: a listed file
    /// that is missing is corruption; an unlisted one is a leftover of an
    /// interrupted rotation or merge (its records are also in listed files,
    /// or it holds none), which readers ignore and writers remove.
    pub fn open(dir: &Path, options: BitcaskOptions) -> Result<Bitcask> {
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
            notices.push(set_aside_leftovers(dir, &unlisted, &temps)?);
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
                open_data_file(dir, *id, writable, role, options.sync)?
            } else {
                DataFile::open_for_survey(dir, *id, role)?
            };
            files.insert(*id, file);
        }

        let mut engine = Bitcask {
            dir: dir.to_path_buf(),
            options,
            list: list.clone().unwrap_or_default(),
            list_problem,
            missing,
            unlisted: leftovers,
            files,
            index: Index::Full(Keydir::full()),
            hint_dirty: false,
            tail_bytes: 0,
            notices,
            poisoned: false,
            unsynced: false,
            sync_deferred: false,
            last_sync: Instant::now(),
            buf: Vec::new(),
        };
        if !options.replay {
            return Ok(engine);
        }
        let hint = if options.use_hint && !engine.files.is_empty() {
            match Hint::load(dir, &engine.files) {
                Ok(hint) => Some(hint),
                Err(HintProblem::Missing) => {
                    engine.hint_problem("there is no hint", true);
                    None
                }
                Err(HintProblem::Stale(why) | HintProblem::Damaged(why)) => {
                    engine.hint_problem(&format!("the hint is not usable: {why}"), true);
                    None
                }
            }
        } else {
            // No data files yet (the next writer's hint will cover its
            // records), or the caller wants a full replay.
            engine.hint_dirty = true;
            None
        };
        match hint {
            Some(hint) => engine.replay_tail(hint)?,
            None => engine.replay_all()?,
        }
        if options.writable
            && let Some(active) = engine.files.values_mut().next_back()
            && !active.is_sealed()
        {
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
        Ok(engine)
    }

    /// Notes a hint this open cannot use. `found_at_open`: the next writer
    /// will find it unusable too (and so rewrite it); otherwise only a
    /// lookup met the damage, which a reader cannot record for the next
    /// writer, so its notice names `hoard hint`.
    fn hint_problem(&mut self, why: &str, found_at_open: bool) {
        self.hint_dirty = true;
        let remedy = if self.options.writable {
            "it will be rewritten when this command finishes"
        } else if found_at_open {
            "the next write command, or `hoard hint`, rewrites it"
        } else {
            "run `hoard hint` to rebuild it"
        };
        self.notices.push(format!(
            "{why}; replaying every data file instead ({remedy})"
        ));
    }

    /// Replays the records after the hint's watermark into an overlay.
    fn replay_tail(&mut self, hint: Hint) -> Result<()> {
        let (watermark_id, watermark_offset) = hint.watermark();
        let mut overlay = Keydir::overlay();
        let mut tail_bytes = 0;
        if let Some(count) = hint.watermark_records()
            && let Some(file) = self.files.get_mut(&watermark_id)
        {
            file.set_record_count(count);
        }
        let ids: Vec<FileId> = self
            .files
            .range(watermark_id..)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let from = if id == watermark_id {
                watermark_offset
            } else {
                0
            };
            let end = self.scan_file(id, from, &mut overlay)?;
            tail_bytes +=
                end.saturating_sub(from.max(crate::format::file_header::HEADER_LEN as u64));
        }
        self.tail_bytes = tail_bytes;
        self.index = Index::Hinted { hint, overlay };
        Ok(())
    }

    /// Replays every data file into a full keydir.
    fn replay_all(&mut self) -> Result<()> {
        let mut keydir = Keydir::full();
        let ids: Vec<FileId> = self.files.keys().copied().collect();
        let mut total = 0;
        for id in ids {
            total += self.scan_file(id, 0, &mut keydir)?;
        }
        self.tail_bytes = total;
        self.index = Index::Full(keydir);
        Ok(())
    }

    /// Scans one file into `keydir`, handling a torn tail (a writer keeps
    /// its bytes under `torn/`, then cuts it); returns the valid length.
    fn scan_file(&mut self, id: FileId, from: u64, keydir: &mut Keydir) -> Result<u64> {
        let writable = self.options.writable;
        let file = self.files.get_mut(&id).expect("file listed");
        let end = file.scan(from, |offset, rec| apply(keydir, id, offset, rec))?;
        if writable && end.footer.is_some() && file.cut_after_footer()? {
            self.notices.push(format!(
                "cut the zeros after the footer of {}, left by an interrupted sealing",
                id.file_name()
            ));
        }
        if let Some(torn) = end.torn {
            let name = id.file_name();
            let kept = if writable {
                let now_ms = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
                let kept = crate::log::keep_torn(
                    &self.dir,
                    &name,
                    file.file(),
                    file.path(),
                    &torn,
                    now_ms,
                )?;
                file.truncate_to_valid()?;
                Some(kept)
            } else {
                None
            };
            let notice = crate::log::torn_tail_notice(
                &name,
                &torn,
                kept.as_ref().map(|(p, n)| (p.as_path(), *n)),
            );
            self.notices.push(notice);
        }
        Ok(end.valid_len)
    }

    /// Abandons a hint a lookup found damaged: replays every file instead.
    fn fall_back(&mut self, HintDamaged(why): HintDamaged) -> Result<()> {
        self.hint_problem(&format!("the hint is damaged: {why}"), false);
        self.replay_all()
    }

    /// Copies the store's data files and hint into `dest` (an empty
    /// directory): sealed files are hard-linked (copied where links fail),
    /// the active file is copied up to its valid length. Every file is synced.
    pub fn copy_into(&mut self, dest: &Path) -> Result<()> {
        self.sync_active()?;
        let last = self.files.keys().next_back().copied();
        for (id, file) in &self.files {
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
        if !self.files.is_empty() {
            let mut list = self.list.clone();
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

    /// The data files, oldest first, with their valid lengths.
    pub fn files(&self) -> Vec<(FileId, PathBuf, u64)> {
        self.files
            .values()
            .map(|f| (f.id(), f.path().to_path_buf(), f.len()))
            .collect()
    }

    /// How the hint was used by this open.
    pub fn hint_state(&self) -> HintState {
        match &self.index {
            Index::Full(keydir) => HintState {
                used: false,
                watermark: None,
                entries: 0,
                file_len: 0,
                overlay_keys: keydir.len() as u64,
                tail_bytes: self.tail_bytes,
            },
            Index::Hinted { hint, overlay } => HintState {
                used: true,
                watermark: Some(hint.watermark()),
                entries: hint.entry_count(),
                file_len: hint.file_len(),
                overlay_keys: overlay.len() as u64,
                tail_bytes: self.tail_bytes,
            },
        }
    }

    /// Where `key`'s newest value record is, live or expired. With
    /// `verify`, a record found through the hint is checked here; callers
    /// that go on to `read_value` leave that check to it.
    fn locate(&mut self, key: &[u8], verify: bool) -> Result<Option<KeydirEntry>> {
        loop {
            match self.try_locate(key, verify) {
                Ok(found) => return Ok(found),
                Err(damaged) => self.fall_back(damaged)?,
            }
        }
    }

    fn try_locate(&self, key: &[u8], verify: bool) -> Result<Option<KeydirEntry>, HintDamaged> {
        match &self.index {
            Index::Full(keydir) => Ok(match keydir.get(key) {
                Known::Value(entry) => Some(*entry),
                Known::Deleted | Known::Unknown => None,
            }),
            Index::Hinted { hint, overlay } => match overlay.get(key) {
                Known::Value(entry) => Ok(Some(*entry)),
                Known::Deleted => Ok(None),
                Known::Unknown => self
                    .hint_lookup(hint, key, verify)
                    .map(|found| found.map(|(_, e)| e)),
            },
        }
    }

    /// Looks `key` up in the hint; returns the slot index and entry. A
    /// candidate whose key differs is a fingerprint collision and the probe
    /// goes on. With `verify`, the record found is checked against its CRC
    /// here; without, the caller reads it through `read_value`, which does.
    fn hint_lookup(
        &self,
        hint: &Hint,
        key: &[u8],
        verify: bool,
    ) -> Result<Option<(u64, KeydirEntry)>, HintDamaged> {
        let view = hint.view();
        for candidate in view.probe(fingerprint(key), hint.verified()) {
            let (index, slot) = candidate.map_err(|offset| {
                HintDamaged(format!("block at offset {offset} fails its checksum"))
            })?;
            if let Some(entry) = self.slot_holds(hint, &slot, key, verify)? {
                return Ok(Some((index, entry)));
            }
        }
        Ok(None)
    }

    /// The data file a hint slot points into.
    fn slot_file(&self, hint: &Hint, slot: &Slot) -> Result<(FileId, &DataFile), HintDamaged> {
        let damaged = |what: &str| HintDamaged(format!("an entry points at {what}"));
        let file_id = hint
            .file_of(slot)
            .ok_or_else(|| damaged("a file outside its table"))?;
        let file = self
            .files
            .get(&file_id)
            .ok_or_else(|| damaged("a missing file"))?;
        Ok((file_id, file))
    }

    /// Whether the record a slot points at holds `key`: its entry if so.
    fn slot_holds(
        &self,
        hint: &Hint,
        slot: &Slot,
        key: &[u8],
        verify: bool,
    ) -> Result<Option<KeydirEntry>, HintDamaged> {
        let damaged = |what: &str| HintDamaged(format!("an entry points at {what}"));
        let (file_id, file) = self.slot_file(hint, slot)?;
        let head_len = RECORD_HEADER_LEN + key.len();
        let head = file
            .read(
                slot.offset,
                head_len.min((file.len().saturating_sub(slot.offset)) as usize),
            )
            .map_err(|_| damaged("a place past the end of its file"))?;
        let holds_key = |raw: &record::RawHeader| {
            head.len() == head_len && raw.key_len == key.len() && &head[RECORD_HEADER_LEN..] == key
        };
        let Some(raw) = record::peek_header(&head).filter(holds_key) else {
            // Another key with the same fingerprint -- but only if that
            // record checks out: damage to a key must never read as "absent".
            let (other, _) = self.record_at_slot(hint, slot)?;
            debug_assert_ne!(other, key);
            return Ok(None);
        };
        if !raw.is_plain_value() || !raw.lengths_within_limits() {
            return Err(damaged("something that is not a value record"));
        }
        let entry = KeydirEntry {
            file_id,
            offset: slot.offset,
            value_len: raw.value_len as u32,
            expiry_ms: raw.expiry_ms,
        };
        if verify {
            let bytes = file
                .read(slot.offset, record::encoded_len(key.len(), raw.value_len))
                .map_err(|_| damaged("a record past the end of its file"))?;
            let place = Place::new(file.uid(), slot.offset);
            if !matches!(record::decode(&bytes, place), Decoded::Record(rec, _) if rec.key == key) {
                return Err(damaged("a record that fails its checks"));
            }
        }
        Ok(Some(entry))
    }

    /// Reads and checks the record a hint slot points at: its key and entry.
    fn record_at_slot(
        &self,
        hint: &Hint,
        slot: &Slot,
    ) -> Result<(Vec<u8>, KeydirEntry), HintDamaged> {
        let damaged = |what: &str| HintDamaged(format!("an entry points at {what}"));
        let (file_id, file) = self.slot_file(hint, slot)?;
        let header = file
            .read(slot.offset, RECORD_HEADER_LEN)
            .map_err(|_| damaged("a place past the end of its file"))?;
        let raw = record::peek_header(&header).expect("a whole header was read");
        if !raw.lengths_within_limits() {
            return Err(damaged("something that is not a record"));
        }
        let bytes = file
            .read(slot.offset, record::encoded_len(raw.key_len, raw.value_len))
            .map_err(|_| damaged("a record past the end of its file"))?;
        match record::decode(&bytes, Place::new(file.uid(), slot.offset)) {
            Decoded::Record(rec, _) if rec.kind == RecordKind::Value => Ok((
                rec.key.to_vec(),
                KeydirEntry {
                    file_id,
                    offset: slot.offset,
                    value_len: rec.value.len() as u32,
                    expiry_ms: rec.expiry_ms,
                },
            )),
            _ => Err(damaged("something that is not a valid value record")),
        }
    }

    /// Reads and checks the record an entry points at.
    fn read_value(&self, key: &[u8], entry: &KeydirEntry) -> Result<Vec<u8>> {
        let file = self
            .files
            .get(&entry.file_id)
            .ok_or_else(|| Error::Corrupt {
                path: self.dir.join(entry.file_id.file_name()),
                offset: entry.offset,
                kind: CorruptKind::Truncated,
            })?;
        let len = record::encoded_len(key.len(), entry.value_len as usize);
        let bytes = file.read(entry.offset, len)?;
        let corrupt = |kind| Error::Corrupt {
            path: file.path().to_path_buf(),
            offset: entry.offset,
            kind,
        };
        match record::decode(&bytes, Place::new(file.uid(), entry.offset)) {
            Decoded::Record(rec, _) if rec.key != key => Err(corrupt(CorruptKind::KeyMismatch)),
            Decoded::Record(rec, _) if rec.kind != RecordKind::Value => {
                Err(corrupt(CorruptKind::Header))
            }
            Decoded::Record(rec, _) => Ok(rec.value.to_vec()),
            Decoded::Incomplete => Err(corrupt(CorruptKind::Truncated)),
            Decoded::Corrupt(kind) => Err(corrupt(kind)),
        }
    }

    /// Every key whose newest record is a value, with its entry (expired included).
    fn all_entries(&mut self) -> Result<Vec<(Vec<u8>, KeydirEntry)>> {
        loop {
            match self.try_all_entries() {
                Ok(entries) => return Ok(entries),
                Err(damaged) => self.fall_back(damaged)?,
            }
        }
    }

    fn try_all_entries(&self) -> Result<Vec<(Vec<u8>, KeydirEntry)>, HintDamaged> {
        match &self.index {
            Index::Full(keydir) => Ok(keydir.values().map(|(k, e)| (k.to_vec(), *e)).collect()),
            Index::Hinted { hint, overlay } => {
                let mut entries: Vec<(Vec<u8>, KeydirEntry)> =
                    overlay.values().map(|(k, e)| (k.to_vec(), *e)).collect();
                for_each_slot(hint, |index, slot| {
                    let (key, entry) = self.record_at_slot(hint, &slot)?;
                    if fingerprint(&key) != slot.fingerprint {
                        return Err(HintDamaged(format!(
                            "slot {index} holds a wrong fingerprint"
                        )));
                    }
                    if overlay.get(&key) == Known::Unknown {
                        entries.push((key, entry));
                    }
                    Ok(())
                })?;
                Ok(entries)
            }
        }
    }

    /// Rewrites the hint from the current index, as of the end of the
    /// active file. A failure poisons the engine, like any failed write.
    pub fn write_hint(&mut self) -> Result<HintWritten> {
        self.check_writable()?;
        let result = self.write_hint_unpoisoned();
        if result.is_err() {
            self.poison();
        }
        result
    }

    fn write_hint_unpoisoned(&mut self) -> Result<HintWritten> {
        self.sync_active()?;
        if self.files.is_empty() {
            Hint::remove(&self.dir)?;
            self.hint_dirty = false;
            return Ok(HintWritten {
                entries: 0,
                file_len: 0,
            });
        }
        let mut table = Vec::with_capacity(self.files.len());
        for f in self.files.values() {
            table.push(HintFile {
                id: f.id().0,
                uid: f.uid(),
                len: f.disk_len(),
                records: f.record_count()?.unwrap_or(u64::MAX),
            });
        }
        // Files are kept sorted: a file's index in the table is its rank.
        let position: Vec<FileId> = self.files.keys().copied().collect();
        let entries = loop {
            match self.hint_entries(&position) {
                Ok(entries) => break entries,
                Err(damaged) => self.fall_back(damaged)?,
            }
        };
        let last = self.files.values().next_back().expect("files exist");
        let (watermark_id, watermark_len) = (last.id().0, last.len());
        if let Some(entry) = table.last_mut() {
            // The watermark file is described as of the watermark.
            entry.len = watermark_len;
        }
        let meta = HintMeta {
            watermark_file_id: watermark_id,
            watermark_offset: watermark_len,
            entry_count: 0,
            slot_count: 0,
            files: table,
        };
        let file_len = Hint::write(&self.dir, meta, &entries)?;
        self.hint_dirty = false;
        self.tail_bytes = 0;
        Ok(HintWritten {
            entries: entries.len() as u64,
            file_len,
        })
    }

    /// The slots of a new hint: the old hint's entries not superseded by the
    /// overlay, and the overlay's values.
    fn hint_entries(&self, position: &[FileId]) -> Result<Vec<Slot>, HintDamaged> {
        let index_of = |id: &FileId| position.binary_search(id).ok().map(|i| i as u32);
        let slot_for = |key: &[u8], entry: &KeydirEntry| Slot {
            fingerprint: fingerprint(key),
            file_index: index_of(&entry.file_id).expect("every entry's file is listed"),
            offset: entry.offset,
        };
        match &self.index {
            Index::Full(keydir) => Ok(keydir.values().map(|(k, e)| slot_for(k, e)).collect()),
            Index::Hinted { hint, overlay } => {
                let mut superseded = HashSet::new();
                for key in overlay.keys() {
                    if let Some((index, _)) = self.hint_lookup(hint, key, false)? {
                        superseded.insert(index);
                    }
                }
                let mut slots: Vec<Slot> = overlay.values().map(|(k, e)| slot_for(k, e)).collect();
                for_each_slot(hint, |index, slot| {
                    if superseded.contains(&index) {
                        return Ok(());
                    }
                    let file_id = hint.file_of(&slot).ok_or_else(|| {
                        HintDamaged(format!("slot {index} names a file outside its table"))
                    })?;
                    let file_index = index_of(&file_id)
                        .ok_or_else(|| HintDamaged(format!("slot {index} names a missing file")))?;
                    slots.push(Slot { file_index, ..slot });
                    Ok(())
                })?;
                Ok(slots)
            }
        }
    }

    /// Refuses further writes, and leaves a mark for the next writer: after
    /// a failed write or sync the kernel may hold bytes that never reached
    /// the disk, which that writer must write again before it trusts them.
    fn poison(&mut self) {
        self.poisoned = true;
        crate::log::mark_sync_failed(&self.dir);
    }

    fn check_writable(&self) -> Result<()> {
        if self.poisoned {
            return Err(Error::Poisoned {
                path: self.dir.clone(),
            });
        }
        if !self.options.writable {
            return Err(Error::InvalidInput(
                "the store was opened for reading only".to_string(),
            ));
        }
        Ok(())
    }

    /// Ensures an active file with room for `len` more bytes, rotating if
    /// needed: the old file is sealed (footer, sync, whatever the policy),
    /// the new one created durably, and the file list rewritten to name it
    /// before any record goes there.
    fn make_room(&mut self, len: usize) -> Result<()> {
        let current = self
            .files
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
        if let Some(next) = next {
            if let Some(old) = self.files.values_mut().next_back() {
                if !old.is_sealed() {
                    old.seal()?;
                    self.unsynced = false;
                    self.last_sync = Instant::now();
                }
                self.list.sealed.insert((ListedKind::Data, old.id().0));
            }
            let mut file = DataFile::create(&self.dir, next)?;
            file.set_preallocate(self.options.sync == SyncPolicy::Always);
            self.list.entries.push((ListedKind::Data, next.0));
            file_list::write(&self.dir, &mut self.list)?;
            self.files.insert(next, file);
        }
        Ok(())
    }

    /// Encodes a record of `key` into `self.buf` for the place it will take
    /// in the active file (rotating first if needed); returns that place.
    fn encode_for_append(
        &mut self,
        kind: RecordKind,
        key: &[u8],
        value: &[u8],
        expiry_ms: u64,
    ) -> Result<(FileId, u64)> {
        let result = self.make_room(record::encoded_len(key.len(), value.len()));
        if result.is_err() {
            self.poison();
        }
        result?;
        let active = self
            .files
            .values()
            .next_back()
            .expect("an active file exists");
        let (id, offset) = (active.id(), active.len());
        let place = Place::new(active.uid(), offset);
        let durable_len = active.durable();
        self.buf.clear();
        record::encode_into(
            &mut self.buf,
            &Record {
                kind,
                expiry_ms,
                key,
                value,
                durable_len,
            },
            place,
        );
        Ok((id, offset))
    }

    /// Appends the record in `self.buf`; returns (file, offset). Poisons on failure.
    fn append_buf(&mut self) -> Result<(FileId, u64)> {
        let result = self.append_buf_unpoisoned();
        if result.is_err() {
            self.poison();
        }
        result
    }

    fn append_buf_unpoisoned(&mut self) -> Result<(FileId, u64)> {
        let active = self
            .files
            .values_mut()
            .next_back()
            .expect("an active file exists");
        let offset = active.append(&self.buf)?;
        let at = (active.id(), offset);
        // Only a bulk load (which acknowledges nothing until its sync) may
        // leave records in the buffer; any other write reaches the file now.
        if !self.sync_deferred {
            active.flush()?;
        }
        self.unsynced = true;
        self.tail_bytes += self.buf.len() as u64;
        self.sync_per_policy()?;
        Ok(at)
    }

    fn sync_per_policy(&mut self) -> Result<()> {
        if self.sync_deferred {
            return Ok(());
        }
        if self.options.sync.is_due(self.last_sync.elapsed()) {
            self.sync_active()
        } else {
            Ok(())
        }
    }

    fn sync_active(&mut self) -> Result<()> {
        if !self.unsynced {
            return Ok(());
        }
        if let Some(active) = self.files.values_mut().next_back()
            && let Err(e) = active.sync()
        {
            self.poison();
            return Err(e);
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    fn index_mut(&mut self) -> &mut Keydir {
        match &mut self.index {
            Index::Full(keydir) => keydir,
            Index::Hinted { overlay, .. } => overlay,
        }
    }
}

/// Calls `f(index, slot)` for every occupied slot of the hint, checking
/// each block's CRC before its slots are used.
fn for_each_slot(
    hint: &Hint,
    mut f: impl FnMut(u64, Slot) -> Result<(), HintDamaged>,
) -> Result<(), HintDamaged> {
    let view = hint.view();
    let blocks = view.slot_count().div_ceil(BLOCK_SLOTS as u64);
    for block in 0..blocks {
        view.check_block(block as usize).map_err(|offset| {
            HintDamaged(format!("block at offset {offset} fails its checksum"))
        })?;
        let first = block * BLOCK_SLOTS as u64;
        let last = (first + BLOCK_SLOTS as u64).min(view.slot_count());
        for index in first..last {
            let slot = view.slot(index);
            if slot.fingerprint != 0 {
                f(index, slot)?;
            }
        }
    }
    Ok(())
}

/// Opens a data file; the active file of a writer under `sync=always`
/// preallocates (see `DataFile::set_preallocate`).
fn open_data_file(
    dir: &Path,
    id: FileId,
    writable: bool,
    role: Role,
    sync: SyncPolicy,
) -> Result<DataFile> {
    let mut file = DataFile::open(dir, id, writable, role)?;
    file.set_preallocate(writable && sync == SyncPolicy::Always);
    Ok(file)
}

/// Disposes of data files the file list does not name: temporaries and
/// files holding no record are removed; any other is moved into
/// `DIR/unlisted/` (a rename, no copy), for the user to inspect, since
/// hoard cannot prove what it holds is also elsewhere. Returns the notice.
fn set_aside_leftovers(dir: &Path, unlisted: &[FileId], temps: &[String]) -> Result<String> {
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
    let mut parts = Vec::new();
    if !removed.is_empty() {
        parts.push(format!(
            "removed {}, left empty by an interrupted file creation",
            removed.join(", ")
        ));
    }
    if !moved.is_empty() {
        parts.push(format!(
            "moved {} into {}/: not listed in FILES (the leftover of an interrupted merge, or a \
             file put there by hand); the store does not read them, remove them when you are sure",
            moved.join(", "),
            layout::UNLISTED_DIR
        ));
    }
    Ok(parts.join("; "))
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

fn apply(keydir: &mut Keydir, file_id: FileId, offset: u64, rec: &Record<'_>) {
    match rec.kind {
        RecordKind::Value => keydir.insert(
            rec.key,
            KeydirEntry {
                file_id,
                offset,
                value_len: rec.value.len() as u32,
                expiry_ms: rec.expiry_ms,
            },
        ),
        RecordKind::Tombstone => keydir.delete(rec.key),
    }
}

fn expiry_option(expiry_ms: u64) -> Option<u64> {
    (expiry_ms != 0).then_some(expiry_ms)
}

impl Engine for Bitcask {
    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Value>> {
        let Some(entry) = self.locate(key, false)? else {
            return Ok(None);
        };
        // The entry's expiry may come from a header not yet checked: read
        // (and so check) the record before trusting it.
        let bytes = self.read_value(key, &entry)?;
        if !entry.is_live(now_ms) {
            return Ok(None);
        }
        Ok(Some(Value {
            bytes,
            expiry_ms: expiry_option(entry.expiry_ms),
        }))
    }

    fn meta(&mut self, key: &[u8], now_ms: u64) -> Result<Option<KeyMeta>> {
        Ok(self
            .locate(key, true)?
            .filter(|e| e.is_live(now_ms))
            .map(|e| KeyMeta {
                value_len: e.value_len,
                expiry_ms: expiry_option(e.expiry_ms),
            }))
    }

    fn put(&mut self, key: &[u8], value: &[u8], expiry_ms: Option<u64>) -> Result<()> {
        self.check_writable()?;
        let expiry_ms = expiry_ms.unwrap_or(0);
        // Counted from above (overlay keys may also be in the hint): the
        // limit only bites near it, and then a little early.
        let keys_max = match &self.index {
            Index::Full(keydir) => keydir.len() as u64,
            Index::Hinted { hint, overlay } => hint.entry_count() + overlay.len() as u64,
        };
        if keys_max >= crate::limits::KEY_COUNT_MAX && self.locate(key, false)?.is_none() {
            crate::limits::check_key_count(keys_max, key)?;
        }
        self.encode_for_append(RecordKind::Value, key, value, expiry_ms)?;
        let (file_id, offset) = self.append_buf()?;
        self.index_mut().insert(
            key,
            KeydirEntry {
                file_id,
                offset,
                value_len: value.len() as u32,
                expiry_ms,
            },
        );
        Ok(())
    }

    fn delete(&mut self, key: &[u8], now_ms: u64) -> Result<bool> {
        self.check_writable()?;
        if self
            .locate(key, true)?
            .filter(|e| e.is_live(now_ms))
            .is_none()
        {
            return Ok(false);
        }
        self.encode_for_append(RecordKind::Tombstone, key, b"", 0)?;
        self.append_buf()?;
        self.index_mut().delete(key);
        Ok(true)
    }

    fn keys(&mut self, prefix: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>> {
        let mut keys: Vec<Vec<u8>> = self
            .all_entries()?
            .into_iter()
            .filter(|(k, e)| k.starts_with(prefix) && e.is_live(now_ms))
            .map(|(k, _)| k)
            .collect();
        keys.sort_unstable();
        Ok(keys)
    }

    fn sync(&mut self) -> Result<()> {
        if self.poisoned {
            return Err(Error::Poisoned {
                path: self.dir.clone(),
            });
        }
        self.sync_active()
    }

    fn defer_sync(&mut self, defer: bool) {
        self.sync_deferred = defer;
    }

    fn close(mut self: Box<Self>) -> Result<Vec<String>> {
        if !self.options.writable || self.poisoned {
            return Ok(self.take_notices());
        }
        // Records a bulk load left buffered reach the file (not the disk:
        // the policy decides that, below).
        if let Some(active) = self.files.values_mut().next_back() {
            active.flush()?;
        }
        // `interval` promises at most that long of unsynced writes; a
        // process that is about to exit must therefore sync now.
        if matches!(self.options.sync, SyncPolicy::IntervalMs(_)) {
            self.sync_active()?;
        }
        if self.hint_dirty || self.tail_bytes > HINT_TAIL_BYTES_MAX {
            self.write_hint()?;
        }
        Ok(self.take_notices())
    }

    fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
