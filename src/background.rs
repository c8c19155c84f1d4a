//! Work a long-lived handle runs beside its callers: the `interval`
//! timer, background merges (bitcask), background snapshots (memory) and
//! active expiry. Nothing here starts unless the handle asks
//! (`Store::start_background`): one-shot commands never pay for it.
//!
//! One thread runs every task: each wakes it at its own period, and the
//! thread sleeps on a condition variable until the earliest is due or the
//! store stops it. Tasks work through the same engine methods as callers
//! (taking the append lock only for short steps), so their crash safety is
//! that of the foreground operations they reuse.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::bitcask::{MergePolicy, MergeReport};
use crate::clock::Clock;
use crate::engine::Engine;
use crate::error::Result;
use crate::manifest::SyncPolicy;

/// What a handle runs in the background, and how often.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackgroundOptions {
    /// Keep `interval:MS` by a timer, so a quiet store syncs within MS of
    /// its last write.
    pub sync_timer: bool,
    /// Bitcask: look for files worth merging this often.
    pub merge_every: Option<Duration>,
    /// Bitcask: which files a merge takes, and when it starts.
    pub merge_policy: MergePolicy,
    /// Bitcask: rebuild the hint once this many bytes of records follow
    /// its watermark (so a restart replays at most about that much).
    pub hint_tail_bytes: u64,
    /// Memory: snapshot this often, if anything was written since.
    pub snapshot_every: Option<Duration>,
    /// Memory: snapshot once the AOF outgrows both the snapshot and this
    /// many bytes (Redis's auto-aof-rewrite: 100% growth, 64 MiB minimum).
    pub snapshot_aof_min: Option<u64>,
    /// Reclaim expired keys actively this often (one shard in
    /// `EXPIRY_SHARDS_PER_TICK` per tick, as Redis samples at 10 Hz).
    pub expire_every: Option<Duration>,
}

impl Default for BackgroundOptions {
    fn default() -> BackgroundOptions {
        BackgroundOptions {
            sync_timer: true,
            merge_every: Some(Duration::from_secs(10)),
            merge_policy: MergePolicy::default(),
            hint_tail_bytes: 64 << 20,
            snapshot_every: Some(Duration::from_secs(3600)),
            snapshot_aof_min: Some(64 << 20),
            expire_every: Some(Duration::from_millis(100)),
        }
    }
}

impl BackgroundOptions {
    /// The `interval` timer alone: no merges, snapshots or expiry.
    pub fn timer_only() -> BackgroundOptions {
        BackgroundOptions {
            sync_timer: true,
            merge_every: None,
            merge_policy: MergePolicy::default(),
            hint_tail_bytes: u64::MAX,
            snapshot_every: None,
            snapshot_aof_min: None,
            expire_every: None,
        }
    }
}

/// Told the keys active expiry removed, after it removed them (for a
/// server that must tell its replicas).
pub type ExpiredListener = Arc<dyn Fn(&[Vec<u8>]) + Send + Sync>;

/// Shards active expiry visits per tick (of the 64 each engine has).
pub const EXPIRY_SHARDS_PER_TICK: usize = 4;

/// What background work did, for the owner to report (the server's INFO).
#[derive(Debug, Default, Clone)]
pub struct BackgroundLog {
    /// Failures, newest last (a failed write also poisons the store).
    pub errors: Vec<String>,
    /// Merges that ran, and the last one's report.
    pub merges: u64,
    /// The last merge's report.
    pub last_merge: Option<MergeReport>,
    /// Duration of the last merge in ms.
    pub last_merge_ms: u64,
    /// Hint rebuilds.
    pub hint_rebuilds: u64,
    /// Snapshots written, and the last one's duration in ms.
    pub snapshots: u64,
    /// Duration of the last snapshot in ms.
    pub last_snapshot_ms: u64,
    /// Keys reclaimed by active expiry.
    pub expired_keys: u64,
    /// Whether a merge or snapshot is running now.
    pub busy: bool,
}

#[derive(Debug, Default)]
struct Control {
    stop: bool,
}

/// The running background thread of one store.
#[derive(Debug)]
pub struct Background {
    control: Arc<(Mutex<Control>, Condvar)>,
    thread: Option<JoinHandle<()>>,
    log: Arc<Mutex<BackgroundLog>>,
}

impl Background {
    /// Starts the background thread for `engine`.
    pub fn start(
        engine: Arc<Engine>,
        clock: Arc<dyn Clock>,
        options: BackgroundOptions,
        on_expired: Option<ExpiredListener>,
    ) -> Result<Background> {
        let interval = match engine.log().policy() {
            SyncPolicy::IntervalMs(ms) if options.sync_timer => Some(Duration::from_millis(ms)),
            _ => None,
        };
        if interval.is_some() {
            engine.log().set_timer(true);
        }
        let started = Background::spawn(engine.clone(), clock, options, on_expired, interval);
        if started.is_err() {
            engine.log().set_timer(false);
        }
        started
    }

    fn spawn(
        engine: Arc<Engine>,
        clock: Arc<dyn Clock>,
        options: BackgroundOptions,
        on_expired: Option<ExpiredListener>,
        interval: Option<Duration>,
    ) -> Result<Background> {
        let control = Arc::new((Mutex::new(Control::default()), Condvar::new()));
        let log = Arc::new(Mutex::new(BackgroundLog::default()));
        let thread = {
            let control = control.clone();
            let log = log.clone();
            // The store's own file system, not the starting thread's.
            let vfs = engine.vfs();
            std::thread::Builder::new()
                .name("hoard-background".to_string())
                .spawn(move || {
                    let mut tasks = Tasks::new(&engine, &*clock, &options, interval);
                    tasks.on_expired = on_expired;
                    crate::fs::in_vfs(&vfs, || run(tasks, &control, &log))
                })
                .map_err(|e| crate::error::Error::io("start a thread for", "background work", e))?
        };
        Ok(Background {
            control,
            thread: Some(thread),
            log,
        })
    }

    /// What the thread has done so far.
    pub fn log(&self) -> BackgroundLog {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops the thread and waits for it; returns what it logged.
    pub fn stop(mut self) -> BackgroundLog {
        self.halt();
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn halt(&mut self) {
        {
            let (lock, wake) = &*self.control;
            lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
            wake.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Background {
    /// A store dropped without `close` still stops its thread before its
    /// file lock goes: nothing may write the store after the lock is released.
    fn drop(&mut self) {
        self.halt();
    }
}

/// A periodic task and when it is next due.
struct Task {
    every: Duration,
    next: Instant,
    kind: TaskKind,
}

#[derive(Clone, Copy)]
enum TaskKind {
    Sync,
    Merge,
    Snapshot,
    Expire,
}

struct Tasks<'a> {
    engine: &'a Engine,
    clock: &'a dyn Clock,
    options: &'a BackgroundOptions,
    list: Vec<Task>,
    last_snapshot: Instant,
    on_expired: Option<ExpiredListener>,
}

impl<'a> Tasks<'a> {
    fn new(
        engine: &'a Engine,
        clock: &'a dyn Clock,
        options: &'a BackgroundOptions,
        interval: Option<Duration>,
    ) -> Tasks<'a> {
        let now = Instant::now();
        let mut list = Vec::new();
        let mut add = |every: Option<Duration>, kind| {
            if let Some(every) = every {
                let every = every.max(Duration::from_millis(1));
                list.push(Task {
                    every,
                    next: now + every,
                    kind,
                });
            }
        };
        // The timer ticks at half the interval: a write is then synced at
        // most about one interval after it was made, however ticks fall.
        add(interval.map(|i| i / 2), TaskKind::Sync);
        match engine {
            Engine::Bitcask(_) => add(options.merge_every, TaskKind::Merge),
            Engine::Memory(_) => {
                let check = options
                    .snapshot_aof_min
                    .map(|_| Duration::from_secs(1))
                    .into_iter()
                    .chain(options.snapshot_every)
                    .min();
                add(check, TaskKind::Snapshot)
            }
        }
        add(options.expire_every, TaskKind::Expire);
        Tasks {
            engine,
            clock,
            options,
            list,
            last_snapshot: now,
            on_expired: None,
        }
    }

    fn next_due(&self) -> Option<Instant> {
        self.list.iter().map(|t| t.next).min()
    }

    /// Runs every task that is due; errors go to the log.
    fn run_due(&mut self, log: &Mutex<BackgroundLog>) {
        let now = Instant::now();
        let due: Vec<TaskKind> = self
            .list
            .iter_mut()
            .filter(|t| t.next <= now)
            .map(|t| {
                t.next = now + t.every;
                t.kind
            })
            .collect();
        for kind in due {
            if self.engine.log().is_poisoned() {
                return;
            }
            if let Err(e) = self.run(kind, log) {
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                log.busy = false;
                log.errors.push(format!("background {}: {e}", kind.name()));
            }
            for t in self.list.iter_mut() {
                // Work that took long does not make the next run overdue at once.
                t.next = t.next.max(Instant::now().min(t.next + t.every / 2));
            }
        }
    }

    fn run(&mut self, kind: TaskKind, log: &Mutex<BackgroundLog>) -> Result<()> {
        let note = |f: &mut dyn FnMut(&mut BackgroundLog)| {
            f(&mut log.lock().unwrap_or_else(|e| e.into_inner()));
        };
        let now_ms = self.clock.now_ms();
        match (kind, self.engine) {
            (TaskKind::Sync, engine) if engine.log().has_unsynced() => engine.sync()?,
            (TaskKind::Merge, Engine::Bitcask(b)) => {
                note(&mut |l| l.busy = true);
                let began = Instant::now();
                let merged = b.merge_online(now_ms, &self.options.merge_policy);
                let ms = began.elapsed().as_millis() as u64;
                note(&mut |l| l.busy = false);
                match merged? {
                    Some(report) => note(&mut |l| {
                        l.merges += 1;
                        l.hint_rebuilds += 1;
                        l.last_merge = Some(report.clone());
                        l.last_merge_ms = ms;
                    }),
                    None if b.tail_bytes() > self.options.hint_tail_bytes => {
                        b.rebuild_hint()?;
                        note(&mut |l| l.hint_rebuilds += 1);
                    }
                    None => {}
                }
            }
            (TaskKind::Snapshot, Engine::Memory(m)) => {
                let periodic = self
                    .options
                    .snapshot_every
                    .is_some_and(|every| self.last_snapshot.elapsed() >= every)
                    && m.written_since_snapshot();
                let grown = self
                    .options
                    .snapshot_aof_min
                    .is_some_and(|min| m.rewrite_due(min));
                if periodic || grown {
                    let start = Instant::now();
                    note(&mut |l| l.busy = true);
                    let done = m.snapshot(now_ms);
                    note(&mut |l| l.busy = false);
                    done?;
                    self.last_snapshot = Instant::now();
                    let ms = start.elapsed().as_millis() as u64;
                    note(&mut |l| {
                        l.snapshots += 1;
                        l.last_snapshot_ms = ms;
                    });
                }
            }
            (TaskKind::Expire, _) => {
                let removed = match self.engine {
                    Engine::Bitcask(b) => b.expire_some(now_ms, EXPIRY_SHARDS_PER_TICK)?,
                    Engine::Memory(m) => m.expire_some(now_ms, EXPIRY_SHARDS_PER_TICK),
                };
                note(&mut |l| l.expired_keys += removed.len() as u64);
                if let Some(listener) = &self.on_expired
                    && !removed.is_empty()
                {
                    listener(&removed);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl TaskKind {
    fn name(self) -> &'static str {
        match self {
            TaskKind::Sync => "sync",
            TaskKind::Merge => "merge",
            TaskKind::Snapshot => "snapshot",
            TaskKind::Expire => "expiry",
        }
    }
}

fn run(mut tasks: Tasks<'_>, control: &(Mutex<Control>, Condvar), log: &Mutex<BackgroundLog>) {
    let (lock, wake) = control;
    let mut control = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if control.stop {
            break;
        }
        let wait = tasks.next_due().map_or(Duration::from_secs(3600), |at| {
            at.saturating_duration_since(Instant::now())
        });
        control = wake
            .wait_timeout(control, wait)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        if control.stop {
            break;
        }
        drop(control);
        tasks.run_due(log);
        control = lock.lock().unwrap_or_else(|e| e.into_inner());
    }
}
