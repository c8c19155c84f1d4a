//! `Store` = a directory + its manifest + its lock + an engine. It is what
//! the command line (and later the server) uses: it creates stores
//! atomically, refuses directories that are not stores, takes the right
//! lock, checks every key and value against the limits before anything is
//! written, and turns durations into absolute expiry times.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::bitcask::{Bitcask, BitcaskOptions};
use crate::clock::{Clock, SystemClock};
use crate::engine::{Change, Engine, Value};
use crate::error::{Error, Result};
use crate::fs;
use crate::limits::{LOCK_TIMEOUT_DEFAULT_S, MAX_FILE_SIZE_DEFAULT, check_key, check_value};
use crate::lock::{LOCK_FILE, LockMode, StoreLock};
use crate::manifest::{EngineKind, MANIFEST_FILE, Manifest, SyncPolicy};
use crate::memory::{Memory, MemoryOptions};
use crate::notice::Notice;
use crate::verify::{RepairReport, VerifyReport};

/// Options chosen when a store is created and recorded in its manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitOptions {
    /// The engine.
    pub engine: EngineKind,
    /// When writes are synced.
    pub sync: SyncPolicy,
    /// Size at which a bitcask data file is sealed.
    pub max_file_size: u64,
}

impl Default for InitOptions {
    fn default() -> InitOptions {
        InitOptions {
            engine: EngineKind::Bitcask,
            sync: SyncPolicy::Always,
            max_file_size: MAX_FILE_SIZE_DEFAULT,
        }
    }
}

/// Read under a shared lock, or write under an exclusive one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Many readers at once; nothing in the store is modified.
    Read,
    /// One writer; a missing store is created with default options.
    Write,
}

/// How to open a store.
#[derive(Clone)]
pub struct OpenOptions {
    /// Read or write.
    pub access: Access,
    /// How long to wait for a busy lock.
    pub lock_timeout: Duration,
    /// Where time comes from, for expiry.
    pub clock: Arc<dyn Clock>,
    /// Whether the bitcask engine may use its hint; false replays (and so
    /// checks) every data file.
    pub trust_hint: bool,
    /// Open without reading any record, for `verify` and repair only: the
    /// store then refuses every data operation.
    pub verify_only: bool,
    /// With `Access::Write`, create a default bitcask store when the
    /// directory is missing (`put`, `import`); otherwise a missing
    /// directory is `Error::NotAStore` and nothing is created.
    pub create_missing: bool,
    /// Under `sync=always`, zeros are written ahead of the active bitcask
    /// file this many bytes at a time, so that a sync after an append is
    /// a data-only flush (0: never). Tests on a simulated disk make it small.
    pub preallocate_step: u64,
}

impl OpenOptions {
    /// Options for `access` with the default timeout and the system clock.
    pub fn new(access: Access) -> OpenOptions {
        OpenOptions {
            access,
            lock_timeout: Duration::from_secs_f64(LOCK_TIMEOUT_DEFAULT_S),
            clock: Arc::new(SystemClock),
            trust_hint: true,
            verify_only: false,
            create_missing: access == Access::Write,
            preallocate_step: crate::limits::PREALLOCATE_STEP_DEFAULT,
        }
    }
}

/// How a put behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Expire the key this many ms from now.
    pub ttl_ms: Option<u64>,
    /// Only write if the key is not live (Redis NX).
    pub only_if_absent: bool,
}

/// The expiry a `Store::set_with` gives the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetExpiry {
    /// No expiry (a plain Redis SET).
    Clear,
    /// Expire at this Unix time in ms.
    AtMs(u64),
    /// Keep the key's current expiry (Redis KEEPTTL).
    Keep,
}

/// When a `Store::set_with` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    /// Always.
    Always,
    /// Only if the key is not live (Redis NX).
    IfAbsent,
    /// Only if the key is live (Redis XX).
    IfPresent,
}

/// The time to live of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The key never expires.
    Persistent,
    /// The key expires in this many ms.
    RemainingMs(u64),
}

/// An open store.
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
    access: Access,
    clock: Arc<dyn Clock>,
    engine: Arc<Engine>,
    verify_only: bool,
    /// Background work (timer, merges, snapshots, expiry), when started.
    background: std::sync::Mutex<Option<crate::background::Background>>,
    // Dropped after the engine (fields drop in order), so the lock covers it.
    _lock: StoreLock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("manifest", &self.manifest)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Creates a new store at `dir`. The directory must be missing or empty;
    /// an existing store is `Error::AlreadyAStore`, anything else is left alone.
    pub fn create(dir: &Path, init: &InitOptions, clock: &dyn Clock) -> Result<()> {
        let manifest = Manifest {
            sync: init.sync,
            max_file_size: init.max_file_size,
            ..Manifest::new(init.engine, clock.now_ms())
        };
        manifest.validate()?;
        match std::fs::symlink_metadata(dir) {
            Err(e) if e.kind() == ErrorKind::NotFound => create_atomically(dir, &manifest),
            Err(e) => Err(Error::io("inspect", dir, e)),
            Ok(_) if dir.join(MANIFEST_FILE).exists() => Err(Error::AlreadyAStore {
                path: dir.to_path_buf(),
            }),
            Ok(meta) if !meta.is_dir() => Err(not_a_store(dir, "it is not a directory")),
            Ok(_) => {
                if !fs::list_dir(dir)?.is_empty() {
                    return Err(not_a_store(
                        dir,
                        "it is a non-empty directory without a HOARD manifest; \
                         hoard only creates stores in missing or empty directories",
                    ));
                }
                // An empty directory the user made: claim it under the lock,
                // so two racing creators cannot both write a manifest.
                let _lock = StoreLock::acquire(dir, LockMode::Exclusive, Duration::ZERO)?;
                if dir.join(MANIFEST_FILE).exists() {
                    return Err(Error::AlreadyAStore {
                        path: dir.to_path_buf(),
                    });
                }
                manifest.write(dir)
            }
        }
    }

    /// Opens the store at `dir`. A missing directory is created as a default
    /// bitcask store for `Access::Write` with `create_missing`, and is
    /// `Error::NotAStore` otherwise.
    pub fn open(dir: &Path, options: &OpenOptions) -> Result<Store> {
        match std::fs::metadata(dir) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if options.access == Access::Read || !options.create_missing {
                    return Err(not_a_store(
                        dir,
                        "there is no store there: the directory does not exist (check the \
                         path; `hoard init`, `hoard put` and `hoard import` create a store)",
                    ));
                }
                match Store::create(dir, &InitOptions::default(), options.clock.as_ref()) {
                    Ok(()) | Err(Error::AlreadyAStore { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(Error::io("open", dir, e)),
            Ok(meta) if !meta.is_dir() => return Err(not_a_store(dir, "it is not a directory")),
            Ok(_) => {}
        }
        let manifest_path = dir.join(MANIFEST_FILE);
        // Only a manifest known to be missing makes "not a store"; a
        // manifest hoard may not look at (EACCES) is reported as such.
        if let Err(e) = std::fs::metadata(&manifest_path)
            && e.kind() != ErrorKind::NotFound
        {
            return Err(Error::io("read", manifest_path, e));
        }
        if !manifest_path.exists() {
            let empty = fs::list_dir(dir).is_ok_and(|names| names.is_empty());
            return Err(not_a_store(
                dir,
                if empty {
                    "it is an empty directory without a HOARD manifest (`hoard init` makes a \
                     store of it; other commands write only to stores, or create a missing \
                     directory)"
                } else {
                    "it has no HOARD manifest, and hoard writes only to directories that hold \
                     one (point --dir at a store, or at a missing directory to create one; if \
                     this was a store whose HOARD was lost, `hoard init --force-manifest` \
                     rewrites it from its files)"
                },
            ));
        }
        // The manifest is checked before the lock is taken, so that nothing
        // (not even LOCK) is created or written in a directory whose HOARD
        // is not a valid manifest of a store this build reads.
        // Read once: what could rewrite it while we wait for the lock
        // (`upgrade`, which only moves a refused older format forward, and
        // `init --force-manifest`, which only replaces a damaged one) cannot
        // change a valid, current manifest.
        let manifest = Manifest::read(dir)?;
        manifest.check_current(dir)?;
        let mode = match options.access {
            Access::Read => LockMode::Shared,
            Access::Write => LockMode::Exclusive,
        };
        let lock = StoreLock::acquire(dir, mode, options.lock_timeout)?;
        let engine = match manifest.engine {
            EngineKind::Bitcask => Engine::Bitcask(Bitcask::open(
                dir,
                BitcaskOptions {
                    sync: manifest.sync,
                    max_file_size: manifest.max_file_size,
                    writable: options.access == Access::Write,
                    use_hint: options.trust_hint,
                    replay: !options.verify_only,
                    preallocate_step: options.preallocate_step,
                },
                options.clock.clone(),
            )?),
            EngineKind::Memory => Engine::Memory(Memory::open(
                dir,
                MemoryOptions {
                    sync: manifest.sync,
                    writable: options.access == Access::Write,
                    load: !options.verify_only,
                    preallocate_step: options.preallocate_step,
                },
                options.clock.clone(),
            )?),
        };
        Ok(Store {
            dir: dir.to_path_buf(),
            manifest,
            access: options.access,
            clock: options.clock.clone(),
            engine: Arc::new(engine),
            verify_only: options.verify_only,
            background: std::sync::Mutex::new(None),
            _lock: lock,
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Files hoard kept aside in the store rather than delete (cut torn
    /// tails, unlisted files), for the user to inspect and remove.
    pub fn kept_aside(&self) -> Result<Vec<crate::verify::KeptAside>> {
        crate::verify::kept_aside(&self.dir)
    }

    /// The store's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The engine, for data operations: refused when opened for verification only.
    fn data(&self) -> Result<&Engine> {
        if self.verify_only {
            return Err(Error::InvalidInput(
                "the store was opened for verification only".to_string(),
            ));
        }
        Ok(&self.engine)
    }

    /// The live value of `key`, or `None`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Value>> {
        check_key(key)?;
        self.data()?.get_with(key, || self.clock.now_ms())
    }

    /// Whether `key` is live.
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        check_key(key)?;
        let now_ms = self.clock.now_ms();
        Ok(self.data()?.meta(key, now_ms)?.is_some())
    }

    /// Writes `key` = `value`; false when `only_if_absent` found the key live.
    pub fn put(&self, key: &[u8], value: &[u8], options: PutOptions) -> Result<bool> {
        check_key(key)?;
        check_value(key, value.len())?;
        if !options.only_if_absent {
            // The clock is read only for a TTL: a bulk load reads none.
            let expiry_ms = options
                .ttl_ms
                .map(|ttl| expiry_after(self.clock.now_ms(), ttl))
                .transpose()?;
            self.data()?.put(key, value, expiry_ms)?;
            return Ok(true);
        }
        let now_ms = self.clock.now_ms();
        let expiry_ms = options
            .ttl_ms
            .map(|ttl| expiry_after(now_ms, ttl))
            .transpose()?;
        self.data()?.update(key, now_ms, false, |current| {
            Ok(match current {
                Some(_) => (Change::Keep, false),
                None => (Change::Put(value.to_vec(), expiry_ms), true),
            })
        })
    }

    /// Deletes `key`; true if it was live.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        check_key(key)?;
        let now_ms = self.clock.now_ms();
        self.data()?.delete(key, now_ms)
    }

    /// The time to live of `key`, or `None` if it is not live.
    pub fn ttl(&self, key: &[u8]) -> Result<Option<Ttl>> {
        check_key(key)?;
        let now_ms = self.clock.now_ms();
        Ok(self
            .data()?
            .meta(key, now_ms)?
            .map(|meta| match meta.expiry_ms {
                None => Ttl::Persistent,
                Some(at) => Ttl::RemainingMs(at.saturating_sub(now_ms)),
            }))
    }

    /// What is known about `key` without reading its value, or `None` if it is not live.
    pub fn meta(&self, key: &[u8]) -> Result<Option<crate::engine::KeyMeta>> {
        check_key(key)?;
        let now_ms = self.clock.now_ms();
        self.data()?.meta(key, now_ms)
    }

    /// Makes `key` expire `ttl_ms` from now; false if it is not live.
    pub fn expire(&self, key: &[u8], ttl_ms: u64) -> Result<bool> {
        check_key(key)?;
        let now_ms = self.clock.now_ms();
        let expiry_ms = expiry_after(now_ms, ttl_ms)?;
        self.set_expiry(key, now_ms, Some(expiry_ms))
    }

    /// Makes `key` expire at `at_ms` (Unix ms, Redis PEXPIREAT); false if it
    /// is not live. A time already past deletes the key, as Redis does.
    pub fn expire_at(&self, key: &[u8], at_ms: u64) -> Result<bool> {
        check_key(key)?;
        if at_ms >= i64::MAX as u64 {
            return Err(Error::InvalidInput(format!(
                "an expiry at {at_ms} ms is too far in the future"
            )));
        }
        let now_ms = self.clock.now_ms();
        if at_ms <= now_ms {
            return self.data()?.delete(key, now_ms);
        }
        self.set_expiry(key, now_ms, Some(at_ms))
    }

    /// Rewrites a live key with a new expiry; false if it is not live.
    fn set_expiry(&self, key: &[u8], now_ms: u64, expiry_ms: Option<u64>) -> Result<bool> {
        self.data()?.update(key, now_ms, true, |current| {
            Ok(match current {
                Some(value) => (Change::Put(value.bytes, expiry_ms), true),
                None => (Change::Keep, false),
            })
        })
    }

    /// Removes the expiry of `key`; false if it is not live or has no expiry (Redis PERSIST).
    pub fn persist(&self, key: &[u8]) -> Result<bool> {
        check_key(key)?;
        let now_ms = self.clock.now_ms();
        self.data()?.update(key, now_ms, true, |current| {
            Ok(match current {
                Some(Value {
                    bytes,
                    expiry_ms: Some(_),
                }) => (Change::Put(bytes, None), true),
                _ => (Change::Keep, false),
            })
        })
    }

    /// Live keys starting with `prefix`, in bytewise order, at most `limit` of them.
    pub fn keys(&self, prefix: &[u8], limit: Option<usize>) -> Result<Vec<Vec<u8>>> {
        let now_ms = self.clock.now_ms();
        let mut keys = self.data()?.keys(prefix, now_ms)?;
        if let Some(limit) = limit {
            keys.truncate(limit);
        }
        Ok(keys)
    }

    // Shell conveniences (issue 10), built only on the engine's common
    // operations. A read-modify-write runs as one `Engine::update`, under
    // the append lock, so it is atomic against every other thread, and the
    // store's file lock makes it so against every other hoard process.

    /// The live values of `keys`, in order (`None` for a missing key), read
    /// under the one lock this store holds (Redis MGET).
    pub fn get_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Option<Value>>> {
        for key in keys {
            check_key(key.as_ref())?;
        }
        let now_ms = self.clock.now_ms();
        self.data()?.get_many(keys, now_ms)
    }

    /// Starts loading what gets of `keys` will read into the CPU's cache,
    /// so that a run of gets that follows waits for its memory reads
    /// together; changes nothing and answers nothing.
    pub fn prefetch<K: AsRef<[u8]>>(&self, keys: &[K]) {
        if let Ok(engine) = self.data() {
            engine.prefetch(keys);
        }
    }

    /// How many live keys start with `prefix` (Redis DBSIZE for an empty prefix).
    pub fn count(&self, prefix: &[u8]) -> Result<u64> {
        let now_ms = self.clock.now_ms();
        Ok(self.data()?.keys(prefix, now_ms)?.len() as u64)
    }

    /// Writes `key` = `value` only if `key` is live (Redis SET XX); false
    /// otherwise. A `ttl_ms` sets a new expiry; without one the key's
    /// expiry is removed, as a plain SET XX does.
    pub fn put_if_present(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<bool> {
        check_key(key)?;
        check_value(key, value.len())?;
        let now_ms = self.clock.now_ms();
        let expiry_ms = ttl_ms.map(|ttl| expiry_after(now_ms, ttl)).transpose()?;
        self.data()?.update(key, now_ms, false, |current| {
            Ok(match current {
                Some(_) => (Change::Put(value.to_vec(), expiry_ms), true),
                None => (Change::Keep, false),
            })
        })
    }

    /// Adds `by` to the integer in `key` (0 when missing) and returns the
    /// result, keeping the key's expiry (Redis INCRBY; DECRBY is a negative
    /// `by`). A value that is not a base-10 64-bit integer, or a result
    /// that would overflow, is `Error::InvalidInput` and changes nothing.
    pub fn incr_by(&self, key: &[u8], by: i64) -> Result<i64> {
        check_key(key)?;
        let now_ms = self.clock.now_ms();
        self.data()?.update(key, now_ms, true, |current| {
            let (number, expiry_ms) = match &current {
                None => (0, None),
                Some(value) => (
                    parse_redis_integer(&value.bytes).ok_or_else(|| {
                        Error::InvalidInput(format!(
                            "the value of key {} is not an integer (a base-10 number that fits \
                             in 64 bits); the key was left as it is",
                            crate::error::display_key(key)
                        ))
                    })?,
                    value.expiry_ms,
                ),
            };
            let result = number.checked_add(by).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "adding {by} to {number} (key {}) would overflow a 64-bit integer; \
                     the key was left as it is",
                    crate::error::display_key(key)
                ))
            })?;
            Ok((
                Change::Put(result.to_string().into_bytes(), expiry_ms),
                result,
            ))
        })
    }

    /// Appends `suffix` to the value of `key` (creating it when missing),
    /// keeping its expiry; returns the new length (Redis APPEND).
    pub fn append(&self, key: &[u8], suffix: &[u8]) -> Result<u64> {
        check_key(key)?;
        let now_ms = self.clock.now_ms();
        self.data()?.update(key, now_ms, true, |current| {
            let (mut bytes, expiry_ms) = match current {
                Some(value) => (value.bytes, value.expiry_ms),
                None => (Vec::new(), None),
            };
            check_value(key, bytes.len().saturating_add(suffix.len()))?;
            bytes.extend_from_slice(suffix);
            let len = bytes.len() as u64;
            Ok((Change::Put(bytes, expiry_ms), len))
        })
    }

    /// Redis SET with its options: writes `key` = `value` with `expiry` if
    /// `condition` holds; false when it did not.
    pub fn set_with(
        &self,
        key: &[u8],
        value: &[u8],
        expiry: SetExpiry,
        condition: SetCondition,
    ) -> Result<bool> {
        check_key(key)?;
        check_value(key, value.len())?;
        if let SetExpiry::AtMs(at) = expiry
            && (at == 0 || at >= i64::MAX as u64)
        {
            return Err(Error::InvalidInput(format!("invalid expiry time {at} ms")));
        }
        let now_ms = self.clock.now_ms();
        if condition == SetCondition::Always && expiry != SetExpiry::Keep {
            let expiry_ms = match expiry {
                SetExpiry::AtMs(at) => Some(at),
                _ => None,
            };
            self.data()?.put(key, value, expiry_ms)?;
            return Ok(true);
        }
        self.data()?.update(key, now_ms, false, |current| {
            match condition {
                SetCondition::IfAbsent if current.is_some() => return Ok((Change::Keep, false)),
                SetCondition::IfPresent if current.is_none() => return Ok((Change::Keep, false)),
                _ => {}
            }
            let expiry_ms = match expiry {
                SetExpiry::Clear => None,
                SetExpiry::AtMs(at) => Some(at),
                SetExpiry::Keep => current.and_then(|v| v.expiry_ms),
            };
            Ok((Change::Put(value.to_vec(), expiry_ms), true))
        })
    }

    /// Live keys starting with `prefix` and matching the Redis glob
    /// `pattern`, in bytewise order, at most `limit` of them.
    pub fn keys_matching(
        &self,
        prefix: &[u8],
        pattern: &[u8],
        limit: Option<usize>,
    ) -> Result<Vec<Vec<u8>>> {
        let now_ms = self.clock.now_ms();
        // List by the longer of the two prefixes; both must hold.
        let literal = crate::glob::literal_prefix(pattern);
        let (listed, other) = if literal.len() > prefix.len() {
            (&literal[..], prefix)
        } else {
            (prefix, &literal[..])
        };
        let keys = self.data()?.keys(listed, now_ms)?;
        Ok(keys
            .into_iter()
            .filter(|key| key.starts_with(other) && crate::glob::matches(pattern, key))
            .take(limit.unwrap_or(usize::MAX))
            .collect())
    }

    /// Reads `key` with its value and applies the change `decide` makes of
    /// it, atomically with respect to every other write to the store: the
    /// building block of the server's read-modify-write commands. A new
    /// value over the value limit, or an expiry past `i64::MAX` ms, is
    /// `Error::InvalidInput` and changes nothing.
    pub fn update<R>(
        &self,
        key: &[u8],
        decide: impl FnOnce(Option<Value>) -> Result<(Change, R)>,
    ) -> Result<R> {
        check_key(key)?;
        let now_ms = self.clock.now_ms();
        self.data()?.update(key, now_ms, true, |current| {
            let (change, result) = decide(current)?;
            if let Change::Put(value, expiry_ms) = &change {
                check_value(key, value.len())?;
                if expiry_ms.is_some_and(|at| at >= i64::MAX as u64) {
                    return Err(Error::InvalidInput(format!(
                        "an expiry for key {} is too far in the future",
                        crate::error::display_key(key)
                    )));
                }
            }
            Ok((change, result))
        })
    }

    /// The time in Unix ms by the store's clock, the one expiry is judged by.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Whether a failed write or sync has made the store refuse writes
    /// until it is reopened (reads still work).
    pub fn is_poisoned(&self) -> bool {
        self.engine.log().is_poisoned()
    }

    /// The bitcask engine, for its maintenance operations; `None` for other engines.
    pub fn bitcask(&self) -> Option<&Bitcask> {
        match &*self.engine {
            Engine::Bitcask(b) => Some(b),
            Engine::Memory(_) => None,
        }
    }

    /// Writes `key` = `value` with an absolute expiry (as imports carry it).
    pub fn put_at(&self, key: &[u8], value: &[u8], expiry_ms: Option<u64>) -> Result<()> {
        check_key(key)?;
        check_value(key, value.len())?;
        self.data()?.put(key, value, expiry_ms)
    }

    /// With `true`, writes are not synced one by one until `sync` is called;
    /// for bulk loads that sync once at the end. The mode is the store's,
    /// not the calling thread's: while it is on, every thread's writes are
    /// acknowledged before they are durable, so turn it on only while no
    /// other thread writes (as `import` does, in a process of its own).
    pub fn defer_sync(&self, defer: bool) {
        self.engine.defer_sync(defer);
    }

    /// The memory engine, for its maintenance operations; `None` for other engines.
    pub fn memory(&self) -> Option<&Memory> {
        match &*self.engine {
            Engine::Memory(m) => Some(m),
            Engine::Bitcask(_) => None,
        }
    }

    /// Reads every file of the store and reports each problem (see `verify`).
    pub fn verify(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<VerifyReport> {
        match &*self.engine {
            Engine::Bitcask(bitcask) => bitcask.verify(progress),
            Engine::Memory(memory) => memory.verify(progress),
        }
    }

    /// Salvages every record that passes its checks, backing up what it
    /// replaces; with `dry_run`, only reports what it would do.
    pub fn repair(&self, dry_run: bool) -> Result<RepairReport> {
        if !self.verify_only {
            // Repair rewrites files under the index of a live store.
            return Err(Error::InvalidInput(
                "repair needs a store opened for verification only (OpenOptions::verify_only)"
                    .to_string(),
            ));
        }
        let now_ms = self.clock.now_ms();
        let mut report = match &*self.engine {
            Engine::Bitcask(bitcask) => bitcask.repair(now_ms, dry_run)?,
            Engine::Memory(memory) => memory.repair(now_ms, dry_run)?,
        };
        if let Some(backup) = report.backup_dir.take() {
            report.backup_dir = Some(readable_backup_name(&self.dir, backup, now_ms)?);
        }
        Ok(report)
    }

    /// Writes a consistent copy of the store into `dest`, a directory that
    /// must not exist yet; the copy opens as a store on its own. Bitcask
    /// data files that can no longer change are hard-linked (copied where
    /// links fail); the rest is copied. A memory store is written as one
    /// snapshot. The copy is built in a hidden directory and renamed into
    /// place, so `dest` never holds half a store.
    pub fn snapshot_to(&self, dest: &Path) -> Result<()> {
        if std::fs::symlink_metadata(dest).is_ok() {
            return Err(Error::InvalidInput(format!(
                "{} already exists; `--to` needs a directory that does not exist yet",
                dest.display()
            )));
        }
        refuse_copy_inside(&self.dir, dest)?;
        self.sync()?;
        let manifest = self.manifest.clone();
        let now_ms = self.clock.now_ms();
        match &*self.engine {
            Engine::Bitcask(bitcask) => {
                build_atomically(dest, &manifest, |temp| bitcask.copy_into(temp))
            }
            Engine::Memory(memory) => build_atomically(dest, &manifest, |temp| {
                memory.snapshot_into(temp, now_ms).map(drop)
            }),
        }
    }

    /// With `true`, a write returns as soon as it is buffered in memory
    /// (visible to reads), for a server that acknowledges a batch of
    /// writes at once. The caller must not acknowledge a write before
    /// `flush_writes` returned (`interval`, `never`), or before
    /// `durable_position` reached the `write_position` read after it
    /// (`always`; `sync` advances it). Store-wide, like `defer_sync`.
    pub fn batch_writes(&self, on: bool) {
        self.engine.log().set_batching(on);
    }

    /// How many writes have been appended since the store was opened.
    pub fn write_position(&self) -> u64 {
        self.engine.log().appended()
    }

    /// How many of them have reached the operating system (every one up
    /// to this position): flushed or synced.
    pub fn flushed_position(&self) -> u64 {
        self.engine.log().flushed()
    }

    /// How many of them are on disk (every one up to this position).
    pub fn durable_position(&self) -> u64 {
        self.engine.log().durable()
    }

    /// Hands buffered writes to the operating system (see `batch_writes`):
    /// once it returns they survive the process being killed. An error
    /// means writes buffered so far may be lost: do not acknowledge them.
    pub fn flush_writes(&self) -> Result<()> {
        self.engine.log().flush()
    }

    /// Makes every write so far durable, whatever the sync policy.
    pub fn sync(&self) -> Result<()> {
        self.engine.sync()
    }

    /// The fdatasyncs the store's log writer has done since it was opened
    /// (each covers every write appended before it: group commit).
    pub fn sync_count(&self) -> u64 {
        self.engine.log().sync_count()
    }

    /// The fdatasyncs done since the store was opened, and the time they took together.
    pub fn sync_stats(&self) -> (u64, Duration) {
        self.engine.log().sync_stats()
    }

    /// Messages for the user gathered while opening or working.
    pub fn take_notices(&self) -> Vec<Notice> {
        self.engine.take_notices()
    }

    /// Starts background work for this handle (see `BackgroundOptions`);
    /// it runs until `close`. Starting it twice restarts it.
    pub fn start_background(&self, options: crate::background::BackgroundOptions) -> Result<()> {
        self.start_background_with(options, None)
    }

    /// As `start_background`, telling `on_expired` the keys active expiry
    /// removes (a server streams them to its replicas as DELs).
    pub fn start_background_with(
        &self,
        options: crate::background::BackgroundOptions,
        on_expired: Option<crate::background::ExpiredListener>,
    ) -> Result<()> {
        self.stop_background()?;
        if self.access != Access::Write || self.verify_only {
            return Err(Error::InvalidInput(
                "background work needs a store opened for writing".to_string(),
            ));
        }
        let started = crate::background::Background::start(
            self.engine.clone(),
            self.clock.clone(),
            options,
            on_expired,
        )?;
        *self.background.lock().unwrap_or_else(|e| e.into_inner()) = Some(started);
        Ok(())
    }

    /// What background work has done so far; `None` when none runs.
    pub fn background_log(&self) -> Option<crate::background::BackgroundLog> {
        self.background
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|b| b.log())
    }

    /// Stops background work, if running; an error it met is returned.
    fn stop_background(&self) -> Result<()> {
        let running = self
            .background
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(background) = running {
            self.engine.log().set_timer(false);
            let log = background.stop();
            if let Some(first) = log.errors.into_iter().next() {
                return Err(Error::Background(first));
            }
        }
        Ok(())
    }

    /// Stops background work, finishes pending work (a sync the policy
    /// owes, a due hint or snapshot) and releases the lock; returns the
    /// notices not yet taken.
    pub fn close(self) -> Result<Vec<Notice>> {
        // The engine closes (its due sync, hint or snapshot) even when
        // background work reported an error; that error comes first.
        let background = self.stop_background();
        let closed = self.engine.close();
        background?;
        closed
    }
}

/// A copy inside the store would become part of what the next copy copies,
/// and a file the engines might one day mistake for their own.
fn refuse_copy_inside(dir: &Path, dest: &Path) -> Result<()> {
    let Ok(store) = std::fs::canonicalize(dir) else {
        return Ok(());
    };
    // The nearest ancestor of `dest` that exists says where it would land.
    let absolute = std::path::absolute(dest).map_err(|e| Error::io("resolve", dest, e))?;
    let landing = absolute
        .ancestors()
        .skip(1)
        .find_map(|a| std::fs::canonicalize(a).ok());
    if landing.is_some_and(|at| at.starts_with(&store)) {
        return Err(Error::InvalidInput(format!(
            "{} is inside the store {}; `--to` needs a directory outside it",
            dest.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// A value as Redis reads an integer: optional `-`, base-10 digits, no
/// leading zeros (but `0`), no spaces or `+`, within i64.
pub fn parse_redis_integer(bytes: &[u8]) -> Option<i64> {
    // Digit by digit rather than through `str::parse`: the RESP parser
    // reads four of these per SET, and `from_utf8` + `parse` were 10% of
    // a server's instructions under pipelined SETs.
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let (&first, _) = digits.split_first()?;
    if digits.len() > 20 || (first == b'0' && bytes != b"0") {
        return None;
    }
    // The magnitude in u64, which holds i64::MIN's.
    let mut magnitude: u64 = 0;
    for &byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        magnitude = magnitude.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Renames a finished backup directory (`backup-<unix ms>`, as the engines
/// name it) to `backup-<UTC time>`, e.g. `backup-20261126T171544Z`, which a
/// person can read. The backup is complete before the rename, so a crash
/// only leaves the old name.
fn readable_backup_name(dir: &Path, backup: PathBuf, now_ms: u64) -> Result<PathBuf> {
    let stamp = crate::clock::utc_stamp(now_ms);
    let taken = fs::list_dir(dir)?;
    let mut name = format!("backup-{stamp}");
    let mut n = 1;
    while taken.iter().any(|t| *t == *name) {
        n += 1;
        name = format!("backup-{stamp}-{n}");
    }
    let target = dir.join(name);
    fs::rename(&backup, &target)?;
    fs::sync_dir(dir)?;
    Ok(target)
}

fn not_a_store(dir: &Path, reason: &str) -> Error {
    Error::NotAStore {
        path: dir.to_path_buf(),
        reason: reason.to_string(),
    }
}

pub(crate) fn expiry_after(now_ms: u64, ttl_ms: u64) -> Result<u64> {
    if ttl_ms == 0 {
        return Err(Error::InvalidInput(
            "a time to live must be greater than zero".to_string(),
        ));
    }
    now_ms
        .checked_add(ttl_ms)
        .filter(|at| *at < i64::MAX as u64)
        .ok_or_else(|| Error::InvalidInput(format!("a time to live of {ttl_ms} ms is too large")))
}

/// Builds the store in a hidden sibling directory and renames it into
/// place, so that no one ever sees a store directory without its manifest,
/// and two racing creators cannot both win.
fn create_atomically(dir: &Path, manifest: &Manifest) -> Result<()> {
    build_atomically(dir, manifest, |_| Ok(()))
}

/// Like `create_atomically`, with `fill` adding engine files to the hidden
/// directory before it is synced and renamed into place.
fn build_atomically(
    dir: &Path,
    manifest: &Manifest,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir.file_name().ok_or_else(|| {
        Error::InvalidInput(format!("{} cannot be a store directory", dir.display()))
    })?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".creating-{}", std::process::id()));
    let temp = parent.join(temp_name);
    if temp.exists() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    fs::create_dir_private(&temp).map_err(|e| match e {
        // Named as the parent's problem: `dir` is only to be created.
        Error::Io { source, .. } if source.kind() == ErrorKind::NotFound => Error::Io {
            op: "create a store in",
            path: parent.clone(),
            source,
        },
        e => e,
    })?;
    let built = manifest
        .write(&temp)
        .and_then(|()| fs::create_new_private(&temp.join(LOCK_FILE)).map(drop))
        .and_then(|()| fill(&temp))
        .and_then(|()| fs::sync_dir(&temp));
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(e);
    }
    match std::fs::rename(&temp, dir) {
        Ok(()) => fs::sync_dir(&parent),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&temp);
            if matches!(
                e.kind(),
                ErrorKind::DirectoryNotEmpty | ErrorKind::AlreadyExists
            ) && dir.join(MANIFEST_FILE).exists()
            {
                Err(Error::AlreadyAStore {
                    path: dir.to_path_buf(),
                })
            } else {
                Err(Error::io("rename into place", dir, e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_redis_integer;
    use proptest::prelude::*;

    /// Redis's rule, spelled out the slow way: canonical decimal text that
    /// `str::parse` takes as an i64.
    fn reference(bytes: &[u8]) -> Option<i64> {
        let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
        let canonical = !digits.is_empty()
            && digits.iter().all(u8::is_ascii_digit)
            && (digits[0] != b'0' || bytes == b"0");
        if !canonical {
            return None;
        }
        std::str::from_utf8(bytes).ok()?.parse().ok()
    }

    #[test]
    fn integers_at_the_edges_parse_as_redis_reads_them() {
        let cases: [(&[u8], Option<i64>); 16] = [
            (b"0", Some(0)),
            (b"-1", Some(-1)),
            (b"100", Some(100)),
            (b"9223372036854775807", Some(i64::MAX)),
            (b"-9223372036854775808", Some(i64::MIN)),
            (b"9223372036854775808", None),
            (b"-9223372036854775809", None),
            (b"99999999999999999999", None),
            (b"000000000000000000001", None),
            (b"-0", None),
            (b"007", None),
            (b"", None),
            (b"-", None),
            (b"+1", None),
            (b" 1", None),
            (b"1\r", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_redis_integer(text), expected, "{text:?}");
            assert_eq!(reference(text), expected, "reference, {text:?}");
        }
    }

    proptest! {
        #[test]
        fn integers_parse_as_the_reference_does(
            text in prop_oneof![
                "-?[0-9]{0,22}",
                "[-+ 0-9a\\r]{0,6}",
                any::<i64>().prop_map(|n| n.to_string()),
            ]
        ) {
            prop_assert_eq!(parse_redis_integer(text.as_bytes()), reference(text.as_bytes()));
        }
    }
}
