//! The Bitcask engine: append-only data files, the newest of which is
//! active, and an in-memory keydir mapping each key to its newest record.
//!
//! Opening replays every data file into the keydir, checking each record's
//! CRC; a torn tail of the newest file is cut away by a writer and ignored
//! by a reader. A write appends one record to the active file, syncs it per
//! the store's policy, and only then updates the keydir. A failed write or
//! sync poisons the engine: it refuses further writes until reopened,
//! because after a failed fsync the kernel may have dropped the data while
//! reporting later syncs as successful.

mod data_file;
mod keydir;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use data_file::DataFile;
pub use data_file::FileId;
use keydir::{Keydir, KeydirEntry};

use crate::engine::{Engine, KeyMeta, Value};
use crate::error::{CorruptKind, Error, Result};
use crate::format::record::{self, Decoded, Record, RecordKind};
use crate::fs;
use crate::manifest::SyncPolicy;

/// How a bitcask store is opened.
#[derive(Debug, Clone, Copy)]
pub struct BitcaskOptions {
    /// When appended records are synced.
    pub sync: SyncPolicy,
    /// Size at which the active file is sealed and a new one begun.
    pub max_file_size: u64,
    /// Whether this handle may write (it then holds the exclusive lock).
    pub writable: bool,
}

/// An open bitcask store.
#[derive(Debug)]
pub struct Bitcask {
    dir: PathBuf,
    options: BitcaskOptions,
    /// Every data file, oldest first; the last is active when writable.
    files: BTreeMap<FileId, DataFile>,
    keydir: Keydir,
    notices: Vec<String>,
    poisoned: bool,
    /// Appended records not yet synced.
    unsynced: bool,
    last_sync: Instant,
    /// Reused encoding buffer, so a put allocates nothing once warm.
    buf: Vec<u8>,
}

impl Bitcask {
    /// Opens the bitcask store in `dir`; the caller holds the matching lock.
    pub fn open(dir: &Path, options: BitcaskOptions) -> Result<Bitcask> {
        let mut notices = Vec::new();
        let mut ids = Vec::new();
        for name in fs::list_dir(dir)? {
            let Some(name) = name.to_str() else { continue };
            if let Some(id) = FileId::parse(name) {
                ids.push(id);
            } else if options.writable
                && name.ends_with(fs::TEMP_SUFFIX)
                && FileId::parse(name.trim_end_matches(fs::TEMP_SUFFIX)).is_some()
            {
                // A data file whose creation was interrupted before its
                // rename: it never held a record.
                fs::remove_file(&dir.join(name))?;
                notices.push(format!(
                    "removed {name}, left by an interrupted file creation"
                ));
            }
        }
        ids.sort_unstable();

        let mut keydir = Keydir::default();
        let mut files = BTreeMap::new();
        let newest = ids.last().copied();
        for id in ids {
            let is_newest = Some(id) == newest;
            let mut file = DataFile::open(dir, id, options.writable && is_newest)?;
            let end = file.scan(is_newest, |offset, rec| apply(&mut keydir, id, offset, rec))?;
            if let Some((offset, len)) = end.torn {
                let name = id.file_name();
                if options.writable {
                    file.truncate_to_valid()?;
                    notices.push(format!(
                        "dropped a torn record at the end of {name} (offset {offset}, {len} bytes): \
                         the trace of an interrupted write that was never acknowledged"
                    ));
                } else {
                    notices.push(format!(
                        "ignoring a torn record at the end of {name} (offset {offset}, {len} bytes); \
                         the next write command will drop it"
                    ));
                }
            }
            files.insert(id, file);
        }
        Ok(Bitcask {
            dir: dir.to_path_buf(),
            options,
            files,
            keydir,
            notices,
            poisoned: false,
            unsynced: false,
            last_sync: Instant::now(),
            buf: Vec::new(),
        })
    }

    /// Number of keys in the keydir, expired ones included.
    pub fn key_count(&self) -> usize {
        self.keydir.len()
    }

    /// The data files, oldest first.
    pub fn file_ids(&self) -> Vec<FileId> {
        self.files.keys().copied().collect()
    }

    fn live_entry(&self, key: &[u8], now_ms: u64) -> Option<&KeydirEntry> {
        self.keydir.get(key).filter(|e| e.is_live(now_ms))
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
        match record::decode(&bytes) {
            Decoded::Record(rec, _) if rec.key != key => Err(corrupt(CorruptKind::KeyMismatch)),
            Decoded::Record(rec, _) if rec.kind != RecordKind::Value => {
                Err(corrupt(CorruptKind::Header))
            }
            Decoded::Record(rec, _) => Ok(rec.value.to_vec()),
            Decoded::Incomplete => Err(corrupt(CorruptKind::Truncated)),
            Decoded::Corrupt(kind) => Err(corrupt(kind)),
        }
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

    /// Ensures an active file with room for `len` more bytes, rotating if needed.
    fn make_room(&mut self, len: usize) -> Result<()> {
        let current = self
            .files
            .last_key_value()
            .map(|(id, f)| (*id, f.len(), f.is_empty()));
        let next = match current {
            None => Some(FileId::FIRST),
            Some((id, file_len, is_empty)) => {
                let full = file_len + len as u64 > self.options.max_file_size;
                (full && !is_empty).then(|| id.next_generation())
            }
        };
        if let Some(next) = next {
            if let Some((_, old)) = self.files.last_key_value()
                && self.unsynced
                && self.options.sync != SyncPolicy::Never
            {
                old.sync()?;
                self.unsynced = false;
                self.last_sync = Instant::now();
            }
            if let Some((_, old)) = self.files.iter_mut().next_back() {
                old.seal();
            }
            let file = DataFile::create(&self.dir, next)?;
            self.files.insert(next, file);
        }
        Ok(())
    }

    /// Appends the record in `self.buf`; returns (file, offset). Poisons on failure.
    fn append_buf(&mut self) -> Result<(FileId, u64)> {
        let result = self.append_buf_unpoisoned();
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn append_buf_unpoisoned(&mut self) -> Result<(FileId, u64)> {
        self.make_room(self.buf.len())?;
        let active = self
            .files
            .values_mut()
            .next_back()
            .expect("an active file exists");
        let offset = active.append(&self.buf)?;
        let at = (active.id(), offset);
        self.unsynced = true;
        self.sync_per_policy()?;
        Ok(at)
    }

    fn sync_per_policy(&mut self) -> Result<()> {
        let due = match self.options.sync {
            SyncPolicy::Always => true,
            SyncPolicy::IntervalMs(ms) => self.last_sync.elapsed().as_millis() >= u128::from(ms),
            SyncPolicy::Never => false,
        };
        if due { self.sync_active() } else { Ok(()) }
    }

    fn sync_active(&mut self) -> Result<()> {
        if !self.unsynced {
            return Ok(());
        }
        if let Some((_, active)) = self.files.last_key_value()
            && let Err(e) = active.sync()
        {
            self.poisoned = true;
            return Err(e);
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }
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
        RecordKind::Tombstone => keydir.remove(rec.key),
    }
}

fn expiry_option(expiry_ms: u64) -> Option<u64> {
    (expiry_ms != 0).then_some(expiry_ms)
}

impl Engine for Bitcask {
    fn get(&self, key: &[u8], now_ms: u64) -> Result<Option<Value>> {
        let Some(entry) = self.live_entry(key, now_ms) else {
            return Ok(None);
        };
        Ok(Some(Value {
            bytes: self.read_value(key, entry)?,
            expiry_ms: expiry_option(entry.expiry_ms),
        }))
    }

    fn meta(&self, key: &[u8], now_ms: u64) -> Result<Option<KeyMeta>> {
        Ok(self.live_entry(key, now_ms).map(|e| KeyMeta {
            value_len: e.value_len,
            expiry_ms: expiry_option(e.expiry_ms),
        }))
    }

    fn put(&mut self, key: &[u8], value: &[u8], expiry_ms: Option<u64>) -> Result<()> {
        self.check_writable()?;
        let expiry_ms = expiry_ms.unwrap_or(0);
        self.buf.clear();
        record::encode_into(
            &mut self.buf,
            &Record {
                kind: RecordKind::Value,
                expiry_ms,
                key,
                value,
            },
        );
        let (file_id, offset) = self.append_buf()?;
        self.keydir.insert(
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
        if self.live_entry(key, now_ms).is_none() {
            return Ok(false);
        }
        self.buf.clear();
        record::encode_into(
            &mut self.buf,
            &Record {
                kind: RecordKind::Tombstone,
                expiry_ms: 0,
                key,
                value: b"",
            },
        );
        self.append_buf()?;
        self.keydir.remove(key);
        Ok(true)
    }

    fn keys(&self, prefix: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>> {
        let mut keys: Vec<Vec<u8>> = self
            .keydir
            .iter()
            .filter(|(k, e)| k.starts_with(prefix) && e.is_live(now_ms))
            .map(|(k, _)| k.to_vec())
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

    fn close(mut self: Box<Self>) -> Result<()> {
        // `interval` promises at most that long of unsynced writes; a
        // process that is about to exit must therefore sync now.
        if matches!(self.options.sync, SyncPolicy::IntervalMs(_)) && !self.poisoned {
            self.sync_active()?;
        }
        Ok(())
    }

    fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }
}
