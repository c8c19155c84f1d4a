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
//! let mut store = Store::open("data".as_ref(), &OpenOptions::new(Access::Write))?;
//! store.put(b"greeting", b"hello", PutOptions::default())?;
//! assert_eq!(store.get(b"greeting")?.unwrap().bytes, b"hello");
//! store.close()?;
//! # Ok(())
//! # }
//! ```

pub mod background;
pub mod bench;
pub mod bitcask;
pub mod clock;
pub mod engine;
pub mod error;
mod failpoint;
pub mod faults;
pub mod file_list;
pub mod format;
pub mod fs;
pub mod glob;
pub mod layout;
pub mod limits;
pub mod lock;
pub mod log;
pub mod log_file;
pub mod log_writer;
pub mod manifest;
pub mod manifest_fix;
pub mod memory;
mod mmap;
pub mod store;
pub mod transfer;
pub mod upgrade;
pub mod verify;

pub use background::BackgroundOptions;
pub use bitcask::{Bitcask, HintWritten};
pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::{Change, Engine, KeyMeta, Value};
pub use error::{CorruptKind, Error, Result};
pub use manifest::{EngineKind, Manifest, SyncPolicy};
pub use memory::Memory;
pub use store::{
    Access, InitOptions, OpenOptions, PutOptions, SetCondition, SetExpiry, Store, Ttl,
};
