//! The engines behind a store, as one closed enum: the store and the
//! command layer reach every operation both engines have through it, and
//! the engine-specific ones (merge, hint; snapshot) through `bitcask()` /
//! `memory()`, never by downcasting. Engines never print, never exit and
//! never read the clock for expiry: the store passes the current time in.

use crate::bitcask::Bitcask;
use crate::error::Result;
use crate::log_writer::LogWriter;
use crate::memory::Memory;
use crate::notice::Notice;

/// A value read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The value's exact bytes.
    pub bytes: Vec<u8>,
    /// Absolute expiry in Unix ms, if the key expires.
    pub expiry_ms: Option<u64>,
}

/// What is known about a live key without reading its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyMeta {
    /// Length of the value in bytes.
    pub value_len: u32,
    /// Absolute expiry in Unix ms, if the key expires.
    pub expiry_ms: Option<u64>,
}

/// What a read-modify-write does to its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing.
    Keep,
    /// Set the value, with an absolute expiry in Unix ms if given.
    Put(Vec<u8>, Option<u64>),
    /// Delete the key.
    Delete,
}

/// The engine holding one store's data.
#[derive(Debug)]
pub enum Engine {
    /// Log-structured: data files, keydir, hint.
    Bitcask(Bitcask),
    /// In memory: table, snapshot, AOF.
    Memory(Memory),
}

/// Runs `$body` with `$e` bound to the engine, on the file system the
/// store was opened on, whichever thread calls.
macro_rules! both {
    ($self:ident, $e:ident => $body:expr) => {
        match $self {
            Engine::Bitcask($e) => crate::fs::in_vfs($e.vfs(), || $body),
            Engine::Memory($e) => crate::fs::in_vfs($e.vfs(), || $body),
        }
    };
}

impl Engine {
    /// The live value of `key` at time `now_ms`, checked against its CRC.
    pub fn get(&self, key: &[u8], now_ms: u64) -> Result<Option<Value>> {
        both!(self, e => e.get(key, now_ms))
    }

    /// As `get`, reading the time (`now_ms()`) only for a key that has an expiry.
    pub fn get_with(&self, key: &[u8], now_ms: impl FnOnce() -> u64) -> Result<Option<Value>> {
        both!(self, e => e.get_with(key, now_ms))
    }

    /// The live values of `keys` at `now_ms`, in order (`None` for a
    /// missing key), with the memory reads of each batch overlapped.
    pub fn get_many<K: AsRef<[u8]>>(&self, keys: &[K], now_ms: u64) -> Result<Vec<Option<Value>>> {
        match self {
            Engine::Bitcask(b) => crate::fs::in_vfs(b.vfs(), || b.get_many(keys, now_ms)),
            Engine::Memory(m) => crate::fs::in_vfs(m.vfs(), || {
                let mut values = Vec::with_capacity(keys.len());
                for batch in keys.chunks(crate::bitcask::PREFETCH_BATCH) {
                    m.prefetch(batch);
                    for key in batch {
                        values.push(m.get(key.as_ref(), now_ms)?);
                    }
                }
                Ok(values)
            }),
        }
    }

    /// Starts loading what gets of `keys` will read into the CPU's cache:
    /// a server calls it with the keys of the GETs and SETs a pipeline
    /// holds before it runs them.
    pub fn prefetch<K: AsRef<[u8]>>(&self, keys: &[K]) {
        both!(self, e => e.prefetch(keys))
    }

    /// Metadata of `key` if it is live at `now_ms`.
    pub fn meta(&self, key: &[u8], now_ms: u64) -> Result<Option<KeyMeta>> {
        both!(self, e => e.meta(key, now_ms))
    }

    /// Sets `key` to `value`, expiring at `expiry_ms` if given; durable per the sync policy on return.
    pub fn put(&self, key: &[u8], value: &[u8], expiry_ms: Option<u64>) -> Result<()> {
        both!(self, e => e.put(key, value, expiry_ms))
    }

    /// Reads `key` (its value too when `with_value`) and applies the change
    /// `decide` makes of it, atomically with respect to every other write.
    pub fn update<R>(
        &self,
        key: &[u8],
        now_ms: u64,
        with_value: bool,
        decide: impl FnOnce(Option<Value>) -> Result<(Change, R)>,
    ) -> Result<R> {
        both!(self, e => e.update(key, now_ms, with_value, decide))
    }

    /// Deletes `key`; true if it was live at `now_ms`.
    pub fn delete(&self, key: &[u8], now_ms: u64) -> Result<bool> {
        both!(self, e => e.delete(key, now_ms))
    }

    /// Live keys starting with `prefix` at `now_ms`, in bytewise order.
    pub fn keys(&self, prefix: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>> {
        both!(self, e => e.keys(prefix, now_ms))
    }

    /// Makes every write so far durable.
    pub fn sync(&self) -> Result<()> {
        both!(self, e => e.sync())
    }

    /// With `true`, writes are not synced one by one until `sync` (bulk loads).
    pub fn defer_sync(&self, defer: bool) {
        both!(self, e => e.defer_sync(defer))
    }

    /// Finishes pending work (a due sync, a hint or snapshot); returns the notices not yet taken.
    pub fn close(&self) -> Result<Vec<Notice>> {
        both!(self, e => e.close())
    }

    /// Messages for the user gathered since the last call (e.g. a dropped torn tail).
    pub fn take_notices(&self) -> Vec<Notice> {
        both!(self, e => e.take_notices())
    }

    /// The log writer: sync policy, group commit, poisoning.
    pub(crate) fn log(&self) -> &LogWriter {
        match self {
            Engine::Bitcask(e) => e.log(),
            Engine::Memory(e) => e.log(),
        }
    }

    /// The file system the store was opened on (`None`: the real one).
    pub(crate) fn vfs(&self) -> Option<std::sync::Arc<dyn crate::fs::Vfs>> {
        match self {
            Engine::Bitcask(e) => e.vfs().clone(),
            Engine::Memory(e) => e.vfs().clone(),
        }
    }
}
