//! The one log writer both engines append through: the sync policy, group
//! commit, poisoning, and the bulk-load mode.
//!
//! Appends are serialised by the engine's append lock (its writer mutex);
//! each append takes a ticket, its place in the order of appends. After
//! releasing the append lock a writer *commits* its ticket: under
//! `always` it waits until a sync covers it. Syncs are grouped: the first
//! waiter to find no sync running becomes the leader, notes how many
//! appends have completed (the target), and fdatasyncs the active file
//! outside every lock; appends go on meanwhile. When the sync returns,
//! every ticket up to the target is durable and every waiter it covers is
//! woken; the rest elect the next leader. Only what an fdatasync covers is
//! acknowledged: a ticket is counted once its record is in the file or in
//! the file's append buffer, the leader reads the target before it picks
//! the file to sync, and its sync writes the buffer out before the
//! fdatasync; a rotation in between has sealed (and synced) the older file
//! already.
//!
//! A failed write or sync *poisons* the writer: every write it covered,
//! and every later one, fails, and a `sync-failed` mark is left for the
//! next process (after a failed fsync the kernel may have dropped dirty
//! pages while reporting later syncs as successful, so a failed fsync is
//! never retried as if it could succeed).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::log_file::LogFile;
use crate::manifest::SyncPolicy;

/// A place in the order of appends, to commit after the append lock is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[must_use = "a write is acknowledged only once its ticket is committed"]
pub struct Ticket(u64);

#[derive(Debug)]
struct State {
    /// The file appends go to (the newest log), if any yet.
    active: Option<Arc<LogFile>>,
    /// Tickets handed out: every append up to this one is in the file.
    appended: u64,
    /// Every append up to this ticket is durable.
    synced: u64,
    /// A leader is syncing.
    syncing: bool,
    poisoned: bool,
    /// A timer thread keeps `interval`: writers never sync inline.
    timer: bool,
    last_sync: Instant,
    /// How long the last group sync's fdatasync took.
    last_sync_took: Duration,
    /// Syncs done, for benchmarks and the server's INFO.
    syncs: u64,
    /// Time those syncs' fdatasyncs took, together.
    sync_time: Duration,
}

/// The log writer of one store.
#[derive(Debug)]
pub struct LogWriter {
    dir: PathBuf,
    policy: SyncPolicy,
    state: Mutex<State>,
    /// Wakes the writers waiting for a sync whenever `State` changes for them.
    synced: Wakeup,
    /// A bulk load: no per-write syncs until `sync`, appends buffered.
    deferred: AtomicBool,
    /// A server acknowledges writes per batch of commands, not one by one:
    /// appends stay buffered and `commit` returns at once. Under
    /// `interval` and `never` the server calls `flush` before it replies
    /// (Redis writes its AOF once per event-loop turn the same way); under
    /// `always` it waits until `durable` covers `appended`, which one
    /// sync thread keeps advancing.
    batching: AtomicBool,
    /// Every append up to this ticket has been handed to the operating
    /// system by `flush` (or a sync).
    flushed: AtomicU64,
    /// `State::appended` and `State::synced`, readable without the lock
    /// (a server checks them after every batch).
    appended_mirror: AtomicU64,
    synced_mirror: AtomicU64,
    /// Held across every fdatasync of the active file (a leader's, a
    /// seal's): Linux reports a writeback error to one fsync only, so two
    /// at once could let one succeed over pages the other found lost.
    sync_lock: Mutex<()>,
    /// Writers inside a write (from `arrive` until their commit returns).
    inside: AtomicUsize,
    /// Of those, the ones whose record is appended. A leader about to
    /// sync waits (briefly) while some writer inside has not appended yet,
    /// so that one fdatasync covers it too.
    appended_inside: AtomicUsize,
}

/// A writer inside a write (see `LogWriter::write`).
struct Arrival<'a> {
    log: &'a LogWriter,
    appended: bool,
}

impl Arrival<'_> {
    /// Notes that this writer's record is appended (it has its ticket).
    fn appended(&mut self) {
        if !self.appended {
            self.appended = true;
            self.log.appended_inside.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        if self.appended {
            self.log.appended_inside.fetch_sub(1, Ordering::AcqRel);
        }
        self.log.inside.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The longest a leader waits for arriving writers before it syncs.
const GATHER_MAX: Duration = Duration::from_millis(1);

impl LogWriter {
    /// A writer for the store in `dir` under `policy`, with no active file yet.
    pub fn new(dir: &Path, policy: SyncPolicy) -> LogWriter {
        LogWriter {
            dir: dir.to_path_buf(),
            policy,
            state: Mutex::new(State {
                active: None,
                appended: 0,
                synced: 0,
                syncing: false,
                poisoned: false,
                timer: false,
                last_sync: Instant::now(),
                last_sync_took: Duration::ZERO,
                syncs: 0,
                sync_time: Duration::ZERO,
            }),
            synced: Wakeup::default(),
            deferred: AtomicBool::new(false),
            batching: AtomicBool::new(false),
            flushed: AtomicU64::new(0),
            appended_mirror: AtomicU64::new(0),
            synced_mirror: AtomicU64::new(0),
            sync_lock: Mutex::new(()),
            inside: AtomicUsize::new(0),
            appended_inside: AtomicUsize::new(0),
        }
    }

    /// Runs one write: `append` takes the append lock, appends (or decides
    /// not to) and returns its ticket with its result, releasing the lock;
    /// the ticket is then committed as the policy says. Writers go through
    /// here so that a leader about to sync knows who is on the way.
    pub fn write<T>(&self, append: impl FnOnce() -> Result<(Option<Ticket>, T)>) -> Result<T> {
        let mut arrival = self.arrive();
        let (ticket, result) = append()?;
        arrival.appended();
        if let Some(ticket) = ticket {
            self.commit(ticket)?;
        }
        Ok(result)
    }

    /// Announces a write about to take the append lock; the guard lives
    /// until the write is acknowledged or fails.
    fn arrive(&self) -> Arrival<'_> {
        self.inside.fetch_add(1, Ordering::AcqRel);
        Arrival {
            log: self,
            appended: false,
        }
    }

    /// Whether some writer inside a write has not appended yet.
    fn someone_arriving(&self) -> bool {
        self.inside.load(Ordering::Acquire) > self.appended_inside.load(Ordering::Acquire)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// The store's sync policy.
    pub fn policy(&self) -> SyncPolicy {
        self.policy
    }

    /// The file appends go to.
    pub fn active(&self) -> Option<Arc<LogFile>> {
        self.state().active.clone()
    }

    /// Makes `file` the one appends go to. Under the append lock; whatever
    /// was appended before is durable (the caller sealed the older file),
    /// or `file` is the first.
    pub fn set_active(&self, file: Arc<LogFile>) {
        let mut state = self.state();
        state.active = Some(file);
        if !state.poisoned {
            state.synced = state.appended;
            self.synced_mirror.store(state.synced, Ordering::Release);
        }
        self.synced.notify_all();
    }

    /// Seals `file` (footer, sync) under the sync lock, so no group sync
    /// runs beside it; a failure poisons. Everything appended so far is
    /// then durable. Under the append lock.
    pub fn seal(&self, file: &LogFile) -> Result<()> {
        {
            let _one = self.sync_lock.lock();
            // A sync that failed while this waited for the lock: no more
            // syncs of that file, ever (its failure may have lost pages).
            self.check_writable()?;
            self.poison_on_error(|| file.seal())?;
        }
        self.all_durable();
        self.check_writable()
    }

    /// Forgets the active file (a merge sealed and replaced every file);
    /// the next append begins a new one. Under the append lock.
    pub fn retire_active(&self) {
        let mut state = self.state();
        state.active = None;
        if !state.poisoned {
            state.synced = state.appended;
            self.synced_mirror.store(state.synced, Ordering::Release);
        }
        self.synced.notify_all();
    }

    /// Notes that everything appended so far is durable (a seal synced it).
    pub fn all_durable(&self) {
        let mut state = self.state();
        if !state.poisoned {
            state.synced = state.appended;
            self.synced_mirror.store(state.synced, Ordering::Release);
            state.last_sync = Instant::now();
        }
        self.synced.notify_all();
    }

    /// Refuses writes after a failure: `Error::Poisoned`.
    pub fn check_writable(&self) -> Result<()> {
        if self.state().poisoned {
            return Err(self.poisoned_error());
        }
        Ok(())
    }

    /// Whether a write or sync failed.
    pub fn is_poisoned(&self) -> bool {
        self.state().poisoned
    }

    fn poisoned_error(&self) -> Error {
        Error::Poisoned {
            path: self.dir.clone(),
        }
    }

    /// Refuses further writes and leaves the `sync-failed` mark.
    pub fn poison(&self) {
        let mut state = self.state();
        if let Some(active) = &state.active {
            active.stop_mapping();
        }
        if !state.poisoned {
            state.poisoned = true;
            crate::log::mark_sync_failed(&self.dir);
        }
        self.synced.notify_all();
    }

    /// Runs `f`, poisoning the writer if it fails.
    pub fn poison_on_error<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let result = f();
        if result.is_err() {
            self.poison();
        }
        result
    }

    /// With `true`, appends are buffered and not synced one by one until
    /// `sync` (bulk loads, which acknowledge nothing before that sync).
    pub fn set_deferred(&self, deferred: bool) {
        self.deferred.store(deferred, Ordering::Release);
    }

    /// With `true`, appends stay in the active file's buffer and `commit`
    /// does not wait; the caller acknowledges them only after `flush`
    /// (`interval`, `never`) or once `durable() >= appended()` (`always`).
    pub fn set_batching(&self, on: bool) {
        self.batching.store(on, Ordering::Release);
    }

    /// Writes buffered appends to the active file (to the operating
    /// system, not the disk). A failure poisons; a poisoned writer fails,
    /// since appends it covered may be lost.
    pub fn flush(&self) -> Result<()> {
        let covers = {
            let state = self.state();
            if state.poisoned {
                return Err(self.poisoned_error());
            }
            // An append's bytes are in the buffer before its ticket is
            // counted, so this flush covers every ticket up to here.
            state.appended
        };
        if let Some(file) = self.active() {
            self.poison_on_error(|| file.flush())?;
        }
        // A failure recorded meanwhile (a sync that wrote this buffer and
        // failed, another flush) may have lost what this one covers.
        if self.state().poisoned {
            return Err(self.poisoned_error());
        }
        self.flushed.fetch_max(covers, Ordering::AcqRel);
        Ok(())
    }

    /// Every append up to this ticket has reached the operating system
    /// through `flush` (syncs count in `durable`).
    pub fn flushed(&self) -> u64 {
        self.flushed.load(Ordering::Acquire).max(self.durable())
    }

    /// Whether appends are buffered (a bulk load is running).
    pub fn is_deferred(&self) -> bool {
        self.deferred.load(Ordering::Acquire)
    }

    /// Appends encoded records to the active file; under the append lock.
    /// Returns their offset and the ticket to commit once the lock is released.
    pub fn append(&self, file: &LogFile, bytes: &[u8]) -> Result<(u64, Ticket)> {
        // Under `always` a write is acknowledged only after the sync that
        // covers it, which writes the buffer out first: the records of a
        // group reach the file in one write, not one each. Other policies
        // acknowledge at once, so their records reach the file now.
        let buffered = self.is_deferred()
            || self.policy == SyncPolicy::Always
            || self.batching.load(Ordering::Acquire);
        let offset = self.poison_on_error(|| file.append(bytes, buffered))?;
        let mut state = self.state();
        state.appended += 1;
        self.appended_mirror
            .store(state.appended, Ordering::Release);
        Ok((offset, Ticket(state.appended)))
    }

    /// Acknowledges an append as the policy says: under `always`, returns
    /// once a sync covers it; under `interval`, syncs if the last sync is
    /// older than the interval and no timer keeps it; under `never`,
    /// returns at once. Never call it holding the append lock.
    pub fn commit(&self, ticket: Ticket) -> Result<()> {
        let due = {
            let state = self.state();
            if state.poisoned && state.synced < ticket.0 {
                return Err(self.poisoned_error());
            }
            // A bulk load syncs at its end; a server acknowledges a batch
            // only once `durable` covers `appended` (see `batching`).
            if self.is_deferred() {
                return Ok(());
            }
            let batching = self.batching.load(Ordering::Acquire);
            match self.policy {
                SyncPolicy::Always => !batching,
                // Batching or not, `interval` is kept here when the timer
                // falls behind (a long merge or snapshot on its thread).
                SyncPolicy::IntervalMs(ms) => {
                    // With a timer, writers sync only if it fell behind
                    // (twice the interval: it may be busy with a merge).
                    let after = Duration::from_millis(ms) * if state.timer { 2 } else { 1 };
                    state.last_sync.elapsed() >= after
                }
                SyncPolicy::Never => false,
            }
        };
        if due {
            self.wait_synced(ticket.0)
        } else {
            Ok(())
        }
    }

    /// Makes every append so far durable, whatever the policy.
    pub fn sync(&self) -> Result<()> {
        let target = {
            let state = self.state();
            if state.poisoned {
                return Err(self.poisoned_error());
            }
            state.appended
        };
        self.wait_synced(target)
    }

    /// Whether appends are waiting for a sync.
    pub fn has_unsynced(&self) -> bool {
        let state = self.state();
        state.appended > state.synced
    }

    /// Tickets handed out so far: every append up to this one is buffered or written.
    pub fn appended(&self) -> u64 {
        self.appended_mirror.load(Ordering::Acquire)
    }

    /// Every append up to this ticket is on disk.
    pub fn durable(&self) -> u64 {
        self.synced_mirror.load(Ordering::Acquire)
    }

    /// Syncs done so far, and the time their fdatasyncs took together.
    pub fn sync_stats(&self) -> (u64, Duration) {
        let state = self.state();
        (state.syncs, state.sync_time)
    }

    /// Syncs done so far.
    pub fn sync_count(&self) -> u64 {
        self.state().syncs
    }

    /// Marks `interval` as kept by a timer thread (see `Background`).
    pub fn set_timer(&self, on: bool) {
        self.state().timer = on;
    }

    /// Waits until ticket `target` is durable, leading a sync if none runs.
    fn wait_synced(&self, target: u64) -> Result<()> {
        let mut state = self.state();
        loop {
            if state.synced >= target {
                return Ok(());
            }
            if state.poisoned {
                return Err(self.poisoned_error());
            }
            if state.syncing {
                let seen = self.synced.epoch();
                drop(state);
                self.synced.wait(seen);
                state = self.state();
                continue;
            }
            // Lead: first give writers already on their way to the
            // append lock a moment to get there (at most about one sync's
            // time), then everything appended by now is in the file, and
            // one fdatasync covers it all.
            state.syncing = true;
            let gather = state.last_sync_took.min(GATHER_MAX);
            drop(state);
            let start = Instant::now();
            // Quiet twice in a row: a writer just acknowledged may be
            // between one write and its next.
            let mut quiet = 0;
            while quiet < 2 && start.elapsed() < gather {
                quiet = if self.someone_arriving() {
                    0
                } else {
                    quiet + 1
                };
                std::thread::yield_now();
            }
            state = self.state();
            let covers = state.appended;
            let file = state.active.clone();
            drop(state);
            let began = Instant::now();
            // The outcome is recorded before the sync lock is released and
            // in the same critical section that ends the leader's turn: a
            // waiter never finds the sync over but its outcome unknown (it
            // would lead a retry of a failed fsync), and a seal waiting for
            // the lock sees the store poisoned.
            let lead = Leading(self);
            let one = self.sync_lock.lock();
            let result = if state_poisoned(self) {
                Err(self.poisoned_error())
            } else {
                match &file {
                    Some(file) => file.sync(),
                    None => Ok(()),
                }
            };
            state = self.state();
            std::mem::forget(lead);
            state.syncing = false;
            match result {
                Ok(()) if !state.poisoned => {
                    state.synced = state.synced.max(covers);
                    self.synced_mirror.store(state.synced, Ordering::Release);
                    state.last_sync = Instant::now();
                    state.last_sync_took = began.elapsed();
                    state.syncs += 1;
                    let took = state.last_sync_took;
                    state.sync_time += took;
                    self.synced.notify_all();
                    drop(one);
                }
                Ok(()) => {
                    self.synced.notify_all();
                    drop(state);
                    drop(one);
                    return Err(self.poisoned_error());
                }
                Err(e) => {
                    if let Some(active) = &state.active {
                        active.stop_mapping();
                    }
                    if !state.poisoned {
                        state.poisoned = true;
                        crate::log::mark_sync_failed(&self.dir);
                    }
                    self.synced.notify_all();
                    drop(state);
                    drop(one);
                    return Err(e);
                }
            }
        }
    }
}

fn state_poisoned(log: &LogWriter) -> bool {
    log.state().poisoned
}

/// Wakes every waiting writer at once. A condition variable would hand
/// the state lock from one woken waiter to the next, one context switch
/// after another; with 50 writers on 2 cores that chain, not the
/// fdatasync, set the pace of group commit. Here each waiter notes the
/// epoch under the state lock, releases the lock and sleeps on the epoch
/// word; a change of state bumps the epoch and wakes them all together,
/// and each rechecks the state itself.
#[derive(Debug, Default)]
struct Wakeup {
    epoch: AtomicU32,
}

impl Wakeup {
    /// The epoch to wait on; read under the state lock, after checking the state.
    fn epoch(&self) -> u32 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Sleeps until the epoch moves on from `seen` (or a spurious wakeup).
    fn wait(&self, seen: u32) {
        use rustix::thread::futex;
        // EAGAIN (the epoch moved already) and EINTR both mean: recheck.
        let _ = futex::wait(&self.epoch, futex::Flags::PRIVATE, seen, None);
    }

    /// Wakes every waiter; called after the state changed (under its lock
    /// or after releasing it: the waiters read the epoch under it).
    fn notify_all(&self) {
        use rustix::thread::futex;
        self.epoch.fetch_add(1, Ordering::Release);
        let _ = futex::wake(&self.epoch, futex::Flags::PRIVATE, i32::MAX as u32);
    }
}

/// Ends a leader's turn if its sync panicked: clears `syncing` and wakes
/// the waiters (on the normal path the leader does so itself).
struct Leading<'a>(&'a LogWriter);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.0.state().syncing = false;
        self.0.synced.notify_all();
    }
}
