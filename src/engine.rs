//! The interface both engines implement. The store and the command layer
//! talk to engines only through it, so they know nothing of files, keydirs
//! or logs. Engines never print, never exit and never read the clock: the
//! store passes the current time in.

use crate::error::Result;

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

/// A storage engine holding one store's data.
pub trait Engine: Send {
    /// The live value of `key` at time `now_ms`, checked against its CRC.
    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Value>>;
    /// Metadata of `key` if it is live at `now_ms`.
    fn meta(&mut self, key: &[u8], now_ms: u64) -> Result<Option<KeyMeta>>;
    /// Sets `key` to `value`, expiring at `expiry_ms` if given; durable per the sync policy on return.
    fn put(&mut self, key: &[u8], value: &[u8], expiry_ms: Option<u64>) -> Result<()>;
    /// Deletes `key`; true if it was live at `now_ms`.
    fn delete(&mut self, key: &[u8], now_ms: u64) -> Result<bool>;
    /// Live keys starting with `prefix` at `now_ms`, in bytewise order.
    fn keys(&mut self, prefix: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>>;
    /// Makes every write so far durable.
    fn sync(&mut self) -> Result<()>;
    /// With `true`, writes are not synced one by one until `sync` (bulk loads).
    fn defer_sync(&mut self, defer: bool);
    /// Finishes pending work (a due sync, a hint) before the engine is
    /// dropped; returns the notices not yet taken.
    fn close(self: Box<Self>) -> Result<Vec<String>>;
    /// Messages for the user gathered since the last call (e.g. a dropped torn tail).
    fn take_notices(&mut self) -> Vec<String>;
    /// The engine as `Any`, for engine-specific maintenance (merge, hint).
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}
