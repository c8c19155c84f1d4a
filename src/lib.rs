//! hoardhaven: the library behind the `hoard` command, a key-value store
//! whose data is byte strings, kept in a directory under a file lock.
//!
//! Open a [`Store`] for reading or writing; it picks the engine recorded in
//! the store's manifest. Every failure is an [`Error`] whose
//! [`exit_code`](Error::exit_code) is the one the command line reports.
//!
//! ```no_run
//! use hoardhaven::{Access, OpenOptions, PutOptions, Store};
//! # fn main() -> hoardhaven::Result<()> {
//! let store = Store::open("data".as_ref(), &OpenOptions::new(Access::Write))?;
//! store.put(b"greeting", b"hello", PutOptions::default())?;
//! assert_eq!(store.get(b"greeting")?.unwrap().bytes, b"hello");
//! store.close()?;
//! # Ok(())
//! # }
//! ```

// Public modules: what the binary, the tests and embedding programs
// reach by path. Everything else is private, its public items re-exported
// below by name.
pub mod bench;
pub mod bitcask;
pub mod format;
pub mod fs;
pub mod limits;
pub mod log;
pub mod manifest;
pub mod manifest_fix;
pub mod memory;
pub mod rdb;
pub mod resp;
pub mod server;
pub mod transfer;
pub mod upgrade;
pub mod verify;

/// Fault injection for tests: a simulated disk with power loss, and a real
/// one that fails on demand. Debug builds only (and `--features testing`):
/// not part of the shipped API.
#[cfg(any(debug_assertions, feature = "testing"))]
pub mod faults;

mod background;
mod clock;
mod engine;
mod error;
mod failpoint;
mod file_list;
mod glob;
mod layout;
mod linear_table;
mod lock;
mod log_file;
mod log_writer;
mod mmap;
mod notice;
mod store;

pub use background::{BackgroundLog, BackgroundOptions, EXPIRY_SHARDS_PER_TICK, ExpiredListener};
pub use bitcask::{Bitcask, HintWritten};
pub use clock::{Clock, ManualClock, SystemClock, utc_stamp};
pub use engine::{Change, Engine, KeyMeta, Value};
pub use error::{CorruptKind, Error, Result, display_key};
pub use lock::{LOCK_FILE, LockMode, StoreLock};
pub use manifest::{EngineKind, Manifest, SyncPolicy};
pub use memory::Memory;
pub use notice::{HintFault, HintRemedy, Notice};
pub use store::{
    Access, InitOptions, OpenOptions, PutOptions, SetCondition, SetExpiry, Store, Ttl,
    parse_redis_integer,
};
