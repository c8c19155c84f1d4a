//! Many threads on one `Store` (../shared/DESIGN.md, "Concurrency";
//! `src/log_writer.rs` for group commit), for both engines.
//!
//! - `*_threads_agree_with_a_model`: threads do random puts (with and
//!   without TTL), conditional puts, deletes, expiries, persists, gets,
//!   TTL reads, listings and increments, on the real disk, in rounds
//!   between which a `ManualClock` moves (so keys really expire), while
//!   another thread rewrites the hint and merges (bitcask) or snapshots
//!   (memory), and, in one variant, all the background work runs as often
//!   as it can (timer, online merges, hint rebuilds, snapshots, active
//!   expiry). Each thread owns a key range and reads its own writes
//!   exactly; all threads hammer a shared range, where every read must be
//!   a value some write produced (values describe themselves: key,
//!   thread, sequence number) and must not be older than a write that
//!   ended before the read began; a shared counter loses no increment.
//!   Afterwards the store equals the model (shared keys: the last write of
//!   some order their writes allow), and a reopen reads back exactly what
//!   the handle read.
//! - `*_concurrent_writers_survive_power_loss_at_every_sync_point`: the
//!   same workload, smaller, on `SimFs` under `always`; the machine goes
//!   down at each sync point of a clean run in turn, then power-loss
//!   outcomes: every acknowledged write is there (or a write that may have
//!   superseded it), and the store opens, verifies clean and reopens the same.
//! - `*_group_commit_acknowledges_only_synced_writes`: 8 writers under
//!   `always`. A sync held in flight at a gate shows the other writers
//!   append meanwhile, none is acknowledged before a sync covers it, and
//!   the 8 writes take 2 syncs; then free-running writers each cut the
//!   power right after each acknowledgement and find their writes on the copy.
//! - `*_interval_timer_makes_a_quiet_write_durable`: `interval:50` with the
//!   timer: a write followed by silence becomes durable; without the
//!   timer, waiting alone makes nothing durable (the next write syncs).
//! - `*_failed_sync_fails_the_writes_it_covered`: a sync fails under
//!   concurrent writers: every write it covered fails, later writes are
//!   `Error::Poisoned`, reads go on; after a restart or a power loss every
//!   acknowledged write is there and the store verifies clean. Then the
//!   N-th sync fails under free-running writers, for each N.
//! - `bitcask_rotation_after_a_failed_sync_does_not_retry_it`: a writer
//!   that passed the poison check just before a sync failed must not seal
//!   the active file afterwards (a retried fsync, and a footer vouching
//!   for records that failed sync may have lost).
//! - `dropping_a_store_stops_its_background_thread`: a `Store` dropped
//!   without `close` does not leave its background thread running.
//! - `bitcask_hint_rebuild_keeps_a_delete_made_meanwhile`,
//!   `bitcask_listing_sees_every_key_live_throughout`,
//!   `bitcask_hint_write_beside_a_hint_rebuild`,
//!   `bitcask_verify_accepts_a_hint_rebuilt_after_an_expiry`: the
//!   background hint rebuild and merge against the writes, listings, hint
//!   writes and verifies beside them, each interleaving pinned down (at the
//!   gate where it takes one).
//!
//! Syncs go through `GateFs`, a `SimFs` whose file syncs a test can hold
//! (before they run, or after, as an fdatasync in flight) or fail, so that
//! writers overlap deterministically.
//!
//! `Store::open` checks the directory and takes the lock on the real disk
//! and reads everything else through the thread's `Vfs`: a store on
//! `SimFs` lives at the path of a real temporary directory, which holds a
//! copy of `HOARD` and the real `LOCK`. The tests' threads run under
//! `fs::with_vfs` (a store keeps the disk it was opened on; engines opened
//! on power-cut copies, and the tests' own file operations, need it).
//! `SimFs::power_loss` copies the disk
//! under the simulation's one mutex, so it can be taken while writers run:
//! it is the disk as a power cut at that instant would leave it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use hoardhaven::bitcask::{BitcaskOptions, MergePolicy};
use hoardhaven::faults::SimFs;
use hoardhaven::fs::{self, Vfs, VfsFile};
use hoardhaven::memory::MemoryOptions;
use hoardhaven::{
    Access, BackgroundOptions, Bitcask, Clock, Engine, EngineKind, Error, InitOptions, ManualClock,
    Memory, OpenOptions, PutOptions, Store, SyncPolicy, Ttl,
};

const NOW: u64 = 1_700_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bitcask,
    Memory,
}

impl Kind {
    fn engine(self) -> EngineKind {
        match self {
            Kind::Bitcask => EngineKind::Bitcask,
            Kind::Memory => EngineKind::Memory,
        }
    }
}

/// xorshift64*, seeded: every workload is the same on every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Aborts the test binary if a test runs far past its time: a deadlock
/// then fails loudly instead of hanging the run.
struct Watchdog {
    _tx: mpsc::Sender<()>,
}

fn watchdog(label: &str, secs: u64) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    let label = label.to_string();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("{label}: still running after {secs} s, a deadlock? aborting");
            std::process::abort();
        }
    });
    Watchdog { _tx: tx }
}

/// How many times more work than the default to do:
/// `HOARD_CONCURRENT_SCALE=20 cargo test --release --test concurrent`.
fn scale() -> u64 {
    std::env::var("HOARD_CONCURRENT_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

// ---------------------------------------------------------------------
// Keys and self-describing values

fn owned_key(tid: usize, k: usize) -> Vec<u8> {
    format!("own-{tid}-{k:02}").into_bytes()
}

fn own_prefix(tid: usize) -> Vec<u8> {
    format!("own-{tid}-").into_bytes()
}

fn shared_key(k: usize) -> Vec<u8> {
    format!("shared-{k:02}").into_bytes()
}

const COUNTER: &[u8] = b"counter";

/// The value thread `tid` writes to `key` as its `seq`-th write: the key,
/// thread and sequence number, then a filler derived from them (some
/// values cross a 512-byte sector, so a torn write can split them).
fn value(key: &[u8], tid: usize, seq: u32) -> Vec<u8> {
    let mut v = format!("{}|{tid}|{seq}|", String::from_utf8_lossy(key)).into_bytes();
    let filler =
        (seq as usize * 37 + tid * 11) % 23 * 9 + if seq.is_multiple_of(7) { 600 } else { 0 };
    v.extend((0..filler).map(|i| b'a' + ((i + seq as usize + tid) % 26) as u8));
    v
}

/// Which write produced `bytes` under `key`, if any did.
fn decode(key: &[u8], bytes: &[u8]) -> Option<(usize, u32)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(4, '|');
    let k = parts.next()?;
    let tid = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    (k.as_bytes() == key && value(key, tid, seq) == bytes).then_some((tid, seq))
}

/// A key's state: its value and absolute expiry, or missing.
type Entry = Option<(Vec<u8>, Option<u64>)>;

/// `entry` as read at `now` (expired reads as missing).
fn live(entry: &Entry, now: u64) -> Entry {
    entry
        .clone()
        .filter(|(_, expiry)| expiry.is_none_or(|at| now < at))
}

fn read(store: &Store, key: &[u8]) -> hoardhaven::Result<Entry> {
    Ok(store.get(key)?.map(|v| (v.bytes, v.expiry_ms)))
}

fn show(entry: &Entry) -> String {
    match entry {
        None => "missing".to_string(),
        Some((bytes, expiry)) => {
            let head = bytes.splitn(4, |b| *b == b'|').take(3).collect::<Vec<_>>();
            let head: Vec<String> = head
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            format!(
                "{} ({} bytes, expiry {expiry:?})",
                head.join("|"),
                bytes.len()
            )
        }
    }
}

// ---------------------------------------------------------------------
// Histories of the shared keys

/// A write to a shared key, between two ticks of the global event counter.
#[derive(Debug, Clone)]
struct Write {
    key: Vec<u8>,
    /// The value and expiry written, or `None` for a delete.
    effect: Entry,
    start: u64,
    end: u64,
    /// Whether it returned Ok.
    acked: bool,
}

/// A read of a shared key (a delete that found nothing counts as one).
#[derive(Debug, Clone)]
struct Read {
    key: Vec<u8>,
    got: Entry,
    start: u64,
    end: u64,
    /// The clock when it ran.
    now: u64,
}

fn tick(ticks: &AtomicU64) -> u64 {
    ticks.fetch_add(1, SeqCst) + 1
}

/// Whether a key whose writes are `writes` may be found in state `got` by
/// an observation over ticks `start..end` at clock `now`: `got` must be
/// the effect of the initial state (missing) or of a write that began
/// before the observation ended, which no acknowledged write overwrote
/// for sure (began after it ended, and ended before the observation
/// began). For the state after everything, `start = end = u64::MAX`:
/// then only acknowledged writes can overwrite, since only they are sure
/// to be durable.
fn explainable(writes: &[&Write], got: &Entry, start: u64, end: u64, now: u64) -> bool {
    let initial = Write {
        key: Vec::new(),
        effect: None,
        start: 0,
        end: 0,
        acked: true,
    };
    std::iter::once(&initial)
        .chain(writes.iter().copied())
        .any(|c| {
            c.start < end
                && live(&c.effect, now) == *got
                && !writes
                    .iter()
                    .any(|w| w.acked && c.end < w.start && w.end < start)
        })
}

// ---------------------------------------------------------------------
// The workload

#[derive(Debug, Clone, Copy)]
enum Op {
    Put {
        own: bool,
        k: usize,
        ttl: Option<u64>,
    },
    PutIfAbsent {
        k: usize,
    },
    Delete {
        own: bool,
        k: usize,
    },
    Expire {
        k: usize,
        ttl: u64,
    },
    Persist {
        k: usize,
    },
    Get {
        own: bool,
        k: usize,
    },
    Ttl {
        k: usize,
    },
    ListOwn,
    Incr,
}

#[derive(Debug, Clone, Copy)]
struct Shape {
    own_keys: usize,
    shared_keys: usize,
    ttls: &'static [u64],
}

fn plan(seed: u64, n: usize, shape: &Shape) -> Vec<Op> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let own = rng.below(2) == 0;
            let k = rng.below(if own {
                shape.own_keys
            } else {
                shape.shared_keys
            } as u64) as usize;
            let mine = rng.below(shape.own_keys as u64) as usize;
            let ttl = shape.ttls[rng.below(shape.ttls.len() as u64) as usize];
            match rng.below(20) {
                0..=5 => Op::Put {
                    own,
                    k,
                    ttl: (rng.below(3) == 0).then_some(ttl),
                },
                6 => Op::PutIfAbsent { k: mine },
                7..=8 => Op::Delete { own, k },
                9 => Op::Expire { k: mine, ttl },
                10 => Op::Persist { k: mine },
                11..=15 => Op::Get { own, k },
                16 => Op::Ttl { k: mine },
                17 => Op::ListOwn,
                _ => Op::Incr,
            }
        })
        .collect()
}

/// One thread's plan, model and history.
#[derive(Debug)]
struct Worker {
    tid: usize,
    ops: Vec<Op>,
    next: usize,
    seq: u32,
    /// The acknowledged state of each owned key (missing: never written).
    own: BTreeMap<Vec<u8>, Entry>,
    /// States an owned key may hold because an operation on it failed.
    unsure: Vec<(Vec<u8>, Entry)>,
    writes: Vec<Write>,
    reads: Vec<Read>,
    incr_acked: u64,
    incr_tried: u64,
    /// The error that stopped this thread.
    stopped: Option<String>,
}

impl Worker {
    fn new(tid: usize, ops: Vec<Op>) -> Worker {
        Worker {
            tid,
            ops,
            next: 0,
            seq: 0,
            own: BTreeMap::new(),
            unsure: Vec::new(),
            writes: Vec::new(),
            reads: Vec::new(),
            incr_acked: 0,
            incr_tried: 0,
            stopped: None,
        }
    }

    fn own_state(&self, key: &[u8]) -> Entry {
        self.own.get(key).cloned().flatten()
    }

    fn next_value(&mut self, key: &[u8]) -> Vec<u8> {
        self.seq += 1;
        value(key, self.tid, self.seq)
    }

    /// Runs up to `count` more operations; stops at the first error, which
    /// is allowed only once `crashed` says the simulated machine is down.
    fn run(&mut self, cx: &Ctx<'_>, count: usize) {
        let end = (self.next + count).min(self.ops.len());
        while self.stopped.is_none() && self.next < end {
            let op = self.ops[self.next];
            if let Err(e) = self.step(cx, op) {
                assert!(
                    cx.sim.is_some_and(SimFs::crashed),
                    "{}: thread {} op {} {op:?} failed: {e} (background errors: {:?})",
                    cx.label,
                    self.tid,
                    self.next,
                    cx.store.background_log().map(|log| log.errors)
                );
                self.stopped = Some(e.to_string());
            }
            self.next += 1;
            cx.ops_done.fetch_add(1, SeqCst);
        }
    }

    fn step(&mut self, cx: &Ctx<'_>, op: Op) -> hoardhaven::Result<()> {
        let store = cx.store;
        let now = cx.clock.now_ms();
        let at = format!("{}: thread {} op {} {op:?}", cx.label, self.tid, self.next);
        let key_of = |own: bool, k: usize| {
            if own {
                owned_key(self.tid, k)
            } else {
                shared_key(k)
            }
        };
        match op {
            Op::Put { own, k, ttl } => {
                let key = key_of(own, k);
                let v = self.next_value(&key);
                let effect = Some((v.clone(), ttl.map(|t| now + t)));
                let options = PutOptions {
                    ttl_ms: ttl,
                    only_if_absent: false,
                };
                let start = tick(cx.ticks);
                let result = store.put(&key, &v, options);
                let end = tick(cx.ticks);
                self.wrote(own, key, effect, start, end, result.is_ok());
                assert!(result?, "{at}: an unconditional put did not write");
            }
            Op::PutIfAbsent { k } => {
                let key = owned_key(self.tid, k);
                let was = live(&self.own_state(&key), now);
                let v = self.next_value(&key);
                let options = PutOptions {
                    ttl_ms: None,
                    only_if_absent: true,
                };
                match store.put(&key, &v, options) {
                    Ok(written) => {
                        assert_eq!(written, was.is_none(), "{at}: the key was {}", show(&was));
                        if written {
                            self.own.insert(key, Some((v, None)));
                        }
                    }
                    Err(e) => {
                        if was.is_none() {
                            self.unsure.push((key, Some((v, None))));
                        }
                        return Err(e);
                    }
                }
            }
            Op::Delete { own: true, k } => {
                let key = owned_key(self.tid, k);
                let was = live(&self.own_state(&key), now);
                match store.delete(&key) {
                    Ok(deleted) => {
                        assert_eq!(deleted, was.is_some(), "{at}: the key was {}", show(&was));
                        if deleted {
                            self.own.insert(key, None);
                        }
                    }
                    Err(e) => {
                        self.unsure.push((key, None));
                        return Err(e);
                    }
                }
            }
            Op::Delete { own: false, k } => {
                let key = shared_key(k);
                let start = tick(cx.ticks);
                let result = store.delete(&key);
                let end = tick(cx.ticks);
                match result {
                    Ok(true) => self.wrote(false, key, None, start, end, true),
                    // Found nothing, wrote nothing: a read of "missing".
                    Ok(false) => self.reads.push(Read {
                        key,
                        got: None,
                        start,
                        end,
                        now,
                    }),
                    Err(e) => {
                        self.wrote(false, key, None, start, end, false);
                        return Err(e);
                    }
                }
            }
            Op::Expire { k, ttl } => {
                let key = owned_key(self.tid, k);
                let was = live(&self.own_state(&key), now);
                let then = was.clone().map(|(v, _)| (v, Some(now + ttl)));
                match store.expire(&key, ttl) {
                    Ok(changed) => {
                        assert_eq!(changed, was.is_some(), "{at}: the key was {}", show(&was));
                        if changed {
                            self.own.insert(key, then);
                        }
                    }
                    Err(e) => {
                        if then.is_some() {
                            self.unsure.push((key, then));
                        }
                        return Err(e);
                    }
                }
            }
            Op::Persist { k } => {
                let key = owned_key(self.tid, k);
                let was = live(&self.own_state(&key), now);
                let expected = matches!(was, Some((_, Some(_))));
                let then = was.clone().map(|(v, _)| (v, None));
                match store.persist(&key) {
                    Ok(changed) => {
                        assert_eq!(changed, expected, "{at}: the key was {}", show(&was));
                        if changed {
                            self.own.insert(key, then);
                        }
                    }
                    Err(e) => {
                        if expected {
                            self.unsure.push((key, then));
                        }
                        return Err(e);
                    }
                }
            }
            Op::Get { own: true, k } => {
                let key = owned_key(self.tid, k);
                let got = read(store, &key)?;
                let expected = live(&self.own_state(&key), now);
                assert!(
                    got == expected,
                    "{at}: read {} where this thread last wrote {}",
                    show(&got),
                    show(&expected)
                );
            }
            Op::Get { own: false, k } => {
                let key = shared_key(k);
                let start = tick(cx.ticks);
                let got = read(store, &key)?;
                let end = tick(cx.ticks);
                if let Some((bytes, _)) = &got {
                    assert!(
                        decode(&key, bytes).is_some(),
                        "{at}: read a value no write produced: {:?}",
                        String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
                    );
                }
                self.reads.push(Read {
                    key,
                    got,
                    start,
                    end,
                    now,
                });
            }
            Op::Ttl { k } => {
                let key = owned_key(self.tid, k);
                let expected = match live(&self.own_state(&key), now) {
                    None => None,
                    Some((_, None)) => Some(Ttl::Persistent),
                    Some((_, Some(at))) => Some(Ttl::RemainingMs(at - now)),
                };
                assert_eq!(store.ttl(&key)?, expected, "{at}");
            }
            Op::ListOwn => {
                let got = store.keys(&own_prefix(self.tid), None)?;
                let expected: Vec<Vec<u8>> = self
                    .own
                    .iter()
                    .filter(|(_, e)| live(e, now).is_some())
                    .map(|(k, _)| k.clone())
                    .collect();
                if got != expected {
                    let differ: Vec<String> = got
                        .iter()
                        .filter(|k| !expected.contains(k))
                        .chain(expected.iter().filter(|k| !got.contains(k)))
                        .map(|k| {
                            format!(
                                "{}: listed {}, this thread last wrote {}, a get reads {}",
                                String::from_utf8_lossy(k),
                                got.contains(k),
                                show(&self.own_state(k)),
                                show(&read(store, k).unwrap_or(None))
                            )
                        })
                        .collect();
                    panic!("{at}: the keys listed differ at the clock {now}: {differ:?}");
                }
            }
            Op::Incr => {
                self.incr_tried += 1;
                let n = store.incr_by(COUNTER, 1)?;
                assert!(n >= 1, "{at}: the counter went to {n}");
                self.incr_acked += 1;
            }
        }
        Ok(())
    }

    fn wrote(&mut self, own: bool, key: Vec<u8>, effect: Entry, start: u64, end: u64, ok: bool) {
        if own {
            if ok {
                self.own.insert(key, effect);
            } else {
                self.unsure.push((key, effect));
            }
        } else {
            self.writes.push(Write {
                key,
                effect,
                start,
                end,
                acked: ok,
            });
        }
    }
}

/// What the worker threads share.
struct Ctx<'a> {
    store: &'a Store,
    clock: &'a ManualClock,
    ticks: &'a AtomicU64,
    /// Operations done by every worker so far.
    ops_done: &'a AtomicUsize,
    /// The simulated disk, when errors after its crash are expected.
    sim: Option<&'a SimFs>,
    label: &'a str,
}

/// Maintenance a long-running handle does beside its writers: bitcask
/// hint rewrites and merges (which hold the append lock and move entries
/// under concurrent lookups), memory snapshots.
fn maintain(store: &Store, n: usize, now: u64) -> hoardhaven::Result<()> {
    match (store.bitcask(), store.memory()) {
        (Some(b), _) if n.is_multiple_of(2) => b.write_hint().map(drop),
        (Some(b), _) => b.merge(now, &mut |_, _| {}).map(drop),
        (_, Some(m)) => m.snapshot(now).map(drop),
        _ => unreachable!("a store has an engine"),
    }
}

/// Runs `count` more operations of every worker, each on its own thread
/// (under `vfs` when given), and beside them up to `maintenance` rounds of
/// `maintain`, spread over the workers' progress; a panic in any thread
/// is re-raised here. Returns the maintenance rounds done.
fn run_workers(
    cx: &Ctx<'_>,
    vfs: Option<&Arc<dyn Vfs>>,
    workers: &mut [Worker],
    count: usize,
    maintenance: usize,
) -> usize {
    let done = AtomicBool::new(false);
    let start = cx.ops_done.load(SeqCst);
    let total = count * workers.len();
    thread::scope(|scope| {
        let maintainer = {
            let (vfs, done) = (vfs.cloned(), &done);
            scope.spawn(move || {
                let body = || {
                    let mut n = 0;
                    while n < maintenance {
                        let due = start + (n + 1) * total / (maintenance + 1);
                        while cx.ops_done.load(SeqCst) < due && !done.load(SeqCst) {
                            thread::sleep(Duration::from_micros(200));
                        }
                        if done.load(SeqCst) {
                            break;
                        }
                        if let Err(e) = maintain(cx.store, n, cx.clock.now_ms()) {
                            assert!(
                                cx.sim.is_some_and(SimFs::crashed),
                                "{}: maintenance {n} failed: {e}",
                                cx.label
                            );
                            break;
                        }
                        n += 1;
                    }
                    n
                };
                match vfs {
                    Some(vfs) => fs::with_vfs(vfs, body),
                    None => body(),
                }
            })
        };
        let handles: Vec<_> = workers
            .iter_mut()
            .map(|w| {
                let vfs = vfs.cloned();
                scope.spawn(move || match vfs {
                    Some(vfs) => fs::with_vfs(vfs, || w.run(cx, count)),
                    None => w.run(cx, count),
                })
            })
            .collect();
        let mut panicked = None;
        for handle in handles {
            if let Err(panic) = handle.join() {
                panicked.get_or_insert(panic);
            }
        }
        done.store(true, SeqCst);
        let rounds = maintainer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        if let Some(panic) = panicked {
            std::panic::resume_unwind(panic);
        }
        rounds
    })
}

/// Checks `store` (as of clock `now`) against what the workers did:
/// owned keys hold their acknowledged state (or one a failed operation
/// may have left), shared keys a state their writes explain, the counter
/// every acknowledged increment and no more than were tried.
fn check_state(store: &Store, workers: &[Worker], shape: &Shape, now: u64, label: &str) {
    for w in workers {
        for k in 0..shape.own_keys {
            let key = owned_key(w.tid, k);
            let got = read(store, &key).unwrap_or_else(|e| panic!("{label}: get: {e}"));
            let acked = live(&w.own_state(&key), now);
            let ok = got == acked
                || w.unsure
                    .iter()
                    .any(|(u, entry)| *u == key && live(entry, now) == got);
            assert!(
                ok,
                "{label}: {} holds {}, but its thread's last acknowledged write left {} \
                 (failed writes to it: {:?})",
                String::from_utf8_lossy(&key),
                show(&got),
                show(&acked),
                w.unsure
                    .iter()
                    .filter(|(u, _)| *u == key)
                    .map(|(_, e)| show(e))
                    .collect::<Vec<_>>()
            );
        }
    }
    let writes: Vec<&Write> = workers.iter().flat_map(|w| &w.writes).collect();
    for k in 0..shape.shared_keys {
        let key = shared_key(k);
        let got = read(store, &key).unwrap_or_else(|e| panic!("{label}: get: {e}"));
        let mine: Vec<&Write> = writes.iter().copied().filter(|w| w.key == key).collect();
        assert!(
            explainable(&mine, &got, u64::MAX, u64::MAX, now),
            "{label}: {} holds {}, which is not the last write of any order of its \
             writes: {:?}",
            String::from_utf8_lossy(&key),
            show(&got),
            mine.iter()
                .map(|w| format!(
                    "{} [{}, {}]{}",
                    show(&w.effect),
                    w.start,
                    w.end,
                    if w.acked { "" } else { " failed" }
                ))
                .collect::<Vec<_>>()
        );
    }
    let acked: u64 = workers.iter().map(|w| w.incr_acked).sum();
    let tried: u64 = workers.iter().map(|w| w.incr_tried).sum();
    let counter = match read(store, COUNTER).unwrap_or_else(|e| panic!("{label}: get: {e}")) {
        None => 0,
        Some((bytes, _)) => String::from_utf8_lossy(&bytes)
            .parse::<u64>()
            .unwrap_or_else(|e| panic!("{label}: the counter holds {bytes:?}: {e}")),
    };
    assert!(
        (acked..=tried).contains(&counter),
        "{label}: the counter is {counter} after {acked} acknowledged increments ({tried} tried)"
    );
}

/// Checks every shared-key read a worker made during the run.
fn check_reads(workers: &[Worker], label: &str) -> usize {
    let writes: Vec<&Write> = workers.iter().flat_map(|w| &w.writes).collect();
    let mut by_key: HashMap<&[u8], Vec<&Write>> = HashMap::new();
    for w in &writes {
        by_key.entry(&w.key).or_default().push(w);
    }
    let mut checked = 0;
    for r in workers.iter().flat_map(|w| &w.reads) {
        let mine = by_key.get(&r.key[..]).cloned().unwrap_or_default();
        assert!(
            explainable(&mine, &r.got, r.start, r.end, r.now),
            "{label}: a read of {} over [{}, {}] returned {}, which no write explains \
             (a value that was never written, or one already overwritten before the read began)",
            String::from_utf8_lossy(&r.key),
            r.start,
            r.end,
            show(&r.got)
        );
        checked += 1;
    }
    checked
}

/// Every live key's value and expiry.
fn dump(store: &Store) -> BTreeMap<Vec<u8>, (Vec<u8>, Option<u64>)> {
    let mut out = BTreeMap::new();
    for key in store.keys(b"", None).unwrap() {
        let v = store.get(&key).unwrap().expect("a listed key is live");
        out.insert(key, (v.bytes, v.expiry_ms));
    }
    out
}

// ---------------------------------------------------------------------
// 1. Threads against a model, on the real disk

fn threads_agree_with_a_model(kind: Kind, sync: SyncPolicy, background: bool) {
    let label = format!(
        "{kind:?} {sync}{}",
        if background {
            " with background work"
        } else {
            ""
        }
    );
    let _watchdog = watchdog(&label, 240 * scale());
    const THREADS: usize = 4;
    let rounds = 10 * scale() as usize;
    const OPS_PER_ROUND: usize = 60;
    let shape = Shape {
        own_keys: 6,
        shared_keys: 4,
        // The clock moves 10 ms between rounds: most of these expire.
        ttls: &[5, 15, 25, 10_000],
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let clock = Arc::new(ManualClock::new(NOW));
    let init = InitOptions {
        engine: kind.engine(),
        sync,
        // Rotations every few kilobytes happen under the writers' feet.
        max_file_size: 4096,
    };
    Store::create(&dir, &init, clock.as_ref()).unwrap();
    let options = OpenOptions {
        clock: clock.clone(),
        preallocate_step: 4096,
        ..OpenOptions::new(Access::Write)
    };
    let store = Store::open(&dir, &options).unwrap();
    if background {
        // Everything a long-running handle does, as often as it can.
        let options = BackgroundOptions {
            sync_timer: true,
            merge_every: Some(Duration::from_millis(1)),
            merge_policy: MergePolicy {
                fragmentation: 0.1,
                dead_bytes: 1,
                trigger_fragmentation: 0.1,
                trigger_dead_bytes: 1,
            },
            hint_tail_bytes: 4096,
            snapshot_every: Some(Duration::from_millis(2)),
            snapshot_aof_min: Some(4096),
            expire_every: Some(Duration::from_millis(1)),
        };
        store.start_background(options).unwrap();
    }
    let mut workers: Vec<Worker> = (0..THREADS)
        .map(|t| Worker::new(t, plan(1000 + t as u64, rounds * OPS_PER_ROUND, &shape)))
        .collect();
    let ticks = AtomicU64::new(0);
    let cx = Ctx {
        store: &store,
        clock: &clock,
        ticks: &ticks,
        ops_done: &AtomicUsize::new(0),
        sim: None,
        label: &label,
    };
    let started = Instant::now();
    let mut maintained = 0;
    // Foreground maintenance beside the workers; with background work,
    // that work alone (the two race on the hint file: see
    // `bitcask_hint_write_beside_a_hint_rebuild`).
    let maintenance = if background { 0 } else { 2 };
    for _ in 0..rounds {
        maintained += run_workers(&cx, None, &mut workers, OPS_PER_ROUND, maintenance);
        clock.advance(10);
    }
    let elapsed = started.elapsed();
    let reads = check_reads(&workers, &label);
    let now = clock.now_ms();
    check_state(&store, &workers, &shape, now, &label);
    let counter: u64 = workers.iter().map(|w| w.incr_acked).sum();
    assert_eq!(
        read(&store, COUNTER).unwrap().map(|(v, _)| v),
        (counter > 0).then(|| counter.to_string().into_bytes()),
        "{label}: increments were lost"
    );
    // What this handle reads is what a fresh open of the store reads.
    let before = dump(&store);
    store.close().unwrap();
    let store = Store::open(&dir, &options).unwrap();
    let after = dump(&store);
    assert!(
        before == after,
        "{label}: a reopen reads differently: {} keys before, {} after; differing: {:?}",
        before.len(),
        after.len(),
        before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect::<Vec<_>>()
    );
    check_state(&store, &workers, &shape, now, &label);
    // Later, every key with an expiry is gone and the rest stay.
    clock.advance(3_600_000);
    check_state(&store, &workers, &shape, clock.now_ms(), &label);
    let report = store.verify(&mut |_, _| {}).unwrap();
    assert!(report.is_clean(), "{label}: {:?}", report.problems);
    store.close().unwrap();
    let writes: usize = workers.iter().map(|w| w.writes.len()).sum();
    eprintln!(
        "{label}: {} ops on {THREADS} threads and {maintained} maintenance rounds beside \
         them in {elapsed:?}; {reads} shared reads and {writes} shared writes checked",
        THREADS * rounds * OPS_PER_ROUND
    );
}

#[test]
fn bitcask_threads_agree_with_a_model() {
    threads_agree_with_a_model(Kind::Bitcask, SyncPolicy::Always, false);
}

#[test]
fn memory_threads_agree_with_a_model() {
    threads_agree_with_a_model(Kind::Memory, SyncPolicy::Always, false);
}

#[test]
fn threads_agree_with_a_model_beside_background_work() {
    // The timer syncs, merges, hint rebuilds, snapshots and active expiry
    // run while writers append and rotate.
    threads_agree_with_a_model(Kind::Bitcask, SyncPolicy::IntervalMs(2), true);
    threads_agree_with_a_model(Kind::Memory, SyncPolicy::IntervalMs(2), true);
    threads_agree_with_a_model(Kind::Bitcask, SyncPolicy::Always, true);
    threads_agree_with_a_model(Kind::Memory, SyncPolicy::Always, true);
}

// ---------------------------------------------------------------------
// Stores on the simulated disk

/// Marks the keys whose writes the gate counts.
const MARK: &[u8] = b"GROUP-COMMIT";

/// What the gate does to one file sync.
#[derive(Debug, Clone, Copy, Default)]
struct SyncPlan {
    /// Wait for `release` before the sync runs.
    hold_before: bool,
    /// Run the sync at once, and wait for `release` before returning (an
    /// fdatasync in flight: what is written meanwhile is not covered).
    hold_after: bool,
    /// Fail with EIO; nothing of it reaches the disk.
    fail: bool,
}

const HOLD_BEFORE: SyncPlan = SyncPlan {
    hold_before: true,
    hold_after: false,
    fail: false,
};
const HOLD_AFTER: SyncPlan = SyncPlan {
    hold_before: false,
    hold_after: true,
    fail: false,
};
const FAIL: SyncPlan = SyncPlan {
    hold_before: false,
    hold_after: false,
    fail: true,
};

#[derive(Debug, Default)]
struct GateState {
    armed: bool,
    /// File syncs since armed, counted when called.
    file_syncs: u64,
    /// What to do to which sync (1-based since armed).
    plans: BTreeMap<u64, SyncPlan>,
    /// Syncs waiting at the gate now.
    held: BTreeSet<u64>,
    released: BTreeSet<u64>,
    release_all: bool,
    /// The sync that failed, once it returned its error.
    failed: Option<u64>,
    /// Syncs called after a sync failed.
    syncs_after_failure: u64,
    /// As the kernel may after a failed fsync: the writes the failed
    /// sync was to make durable are lost (the disk keeps what it held
    /// before them) and later syncs succeed without them.
    lose_failed_writes: bool,
    /// Writes since armed whose bytes hold `MARK` (appends of marked keys).
    marked_writes: u64,
}

/// Controls the file syncs of a `GateFs`.
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn arm(&self, plans: &[(u64, SyncPlan)], lose_failed_writes: bool) {
        *self.lock() = GateState {
            armed: true,
            plans: plans.iter().copied().collect(),
            lose_failed_writes,
            ..GateState::default()
        };
    }

    fn disarm(&self) {
        *self.lock() = GateState::default();
        self.changed.notify_all();
    }

    fn release(&self, n: u64) {
        self.lock().released.insert(n);
        self.changed.notify_all();
    }

    fn release_all(&self) {
        self.lock().release_all = true;
        self.changed.notify_all();
    }

    fn file_syncs(&self) -> u64 {
        self.lock().file_syncs
    }

    fn holds(&self, n: u64) -> bool {
        self.wait_for(|g| g.held.contains(&n))
    }

    /// Waits (at most 10 s) until `ready`; whether it came.
    fn wait_for(&self, ready: impl Fn(&GateState) -> bool) -> bool {
        self.wait_within(Duration::from_secs(10), ready)
    }

    /// Waits at most `bound` until `ready`; whether it came.
    fn wait_within(&self, bound: Duration, ready: impl Fn(&GateState) -> bool) -> bool {
        let deadline = Instant::now() + bound;
        let mut state = self.lock();
        while !ready(&state) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Holds sync `n` until it is released (at most 30 s, so a failing
    /// test cannot leave a writer stuck).
    fn hold(&self, n: u64) {
        let mut state = self.lock();
        state.held.insert(n);
        self.changed.notify_all();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(state.release_all || state.released.contains(&n)) && Instant::now() < deadline {
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.held.remove(&n);
    }

    /// Runs a file sync as planned.
    fn sync(&self, file: &GateFile) -> io::Result<()> {
        let (n, plan, lose) = {
            let mut state = self.lock();
            if !state.armed {
                drop(state);
                return file.inner.sync_data();
            }
            state.file_syncs += 1;
            if state.failed.is_some() {
                state.syncs_after_failure += 1;
            }
            let n = state.file_syncs;
            let plan = state.plans.get(&n).copied().unwrap_or_default();
            (n, plan, state.lose_failed_writes)
        };
        if plan.hold_before {
            self.hold(n);
        }
        if plan.fail {
            if lose {
                file.lose_unsynced_writes()?;
            }
            self.lock().failed.get_or_insert(n);
            return Err(io::Error::from_raw_os_error(5));
        }
        let result = file.inner.sync_data();
        if result.is_ok() {
            file.undo.lock().unwrap().clear();
        }
        if plan.hold_after {
            self.hold(n);
        }
        result
    }

    fn wrote(&self, bytes: &[u8]) {
        let mut state = self.lock();
        if state.armed && bytes.windows(MARK.len()).any(|w| w == MARK) {
            state.marked_writes += 1;
            self.changed.notify_all();
        }
    }

    fn tracks_writes(&self) -> bool {
        let state = self.lock();
        state.armed && state.lose_failed_writes
    }
}

/// Releases every held sync when dropped, so a failing test frees its writers.
struct Release<'a>(&'a Gate);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.release_all();
    }
}

/// `SimFs` with a gate on its file syncs: one can be held (to make
/// writers overlap deterministically) or failed.
#[derive(Debug)]
struct GateFs {
    inner: SimFs,
    gate: Arc<Gate>,
}

/// A write not yet synced, as the file was before it: offset, the bytes
/// it replaced, the file's length.
type Undo = (u64, Vec<u8>, u64);

#[derive(Debug)]
struct GateFile {
    inner: Box<dyn VfsFile>,
    gate: Arc<Gate>,
    /// Writes since this file's last sync, while the gate tracks them.
    undo: Mutex<Vec<Undo>>,
}

impl GateFile {
    /// Puts back what the unsynced writes replaced, durably (the disk
    /// never got them, and the cache let them go).
    fn lose_unsynced_writes(&self) -> io::Result<()> {
        let undo = std::mem::take(&mut *self.undo.lock().unwrap());
        for (offset, before, len) in undo.into_iter().rev() {
            self.inner.write_all_at(&before, offset)?;
            if self.inner.size()? > len {
                self.inner.set_len(len)?;
            }
        }
        self.inner.sync_data()
    }
}

impl VfsFile for GateFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        if self.gate.tracks_writes() {
            let len = self.inner.size()?;
            let end = (offset + buf.len() as u64).min(len);
            let mut before = vec![0u8; end.saturating_sub(offset) as usize];
            if !before.is_empty() {
                self.inner.read_exact_at(&mut before, offset)?;
            }
            self.undo.lock().unwrap().push((offset, before, len));
        }
        self.inner.write_all_at(buf, offset)?;
        self.gate.wrote(buf);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        self.gate.sync(self)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
    fn std_file(&self) -> Option<&std::fs::File> {
        None
    }
}

impl GateFs {
    fn wrap(&self, file: Box<dyn VfsFile>) -> Box<dyn VfsFile> {
        Box::new(GateFile {
            inner: file,
            gate: self.gate.clone(),
            undo: Mutex::new(Vec::new()),
        })
    }
}

impl Vfs for GateFs {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn VfsFile>> {
        self.inner.create_new(path).map(|f| self.wrap(f))
    }
    fn open(&self, path: &Path, writable: bool) -> io::Result<Box<dyn VfsFile>> {
        self.inner.open(path, writable).map(|f| self.wrap(f))
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.hard_link(from, to)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.sync_dir(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        self.inner.list_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
}

/// A store on a simulated disk.
struct SimStore {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    kind: Kind,
    sync: SyncPolicy,
    max_file_size: u64,
    sim: SimFs,
    gate: Arc<Gate>,
    /// `sim` behind the gate: what the store's threads run under.
    vfs: Arc<dyn Vfs>,
    clock: Arc<ManualClock>,
}

fn sim_store(kind: Kind, sync: SyncPolicy, max_file_size: u64) -> SimStore {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let sim = SimFs::new();
    let gate = Arc::new(Gate::default());
    let vfs: Arc<dyn Vfs> = Arc::new(GateFs {
        inner: sim.clone(),
        gate: gate.clone(),
    });
    let clock = Arc::new(ManualClock::new(NOW));
    let init = InitOptions {
        engine: kind.engine(),
        sync,
        max_file_size,
    };
    fs::with_vfs(vfs.clone(), || {
        fs::create_dir_private(&dir).unwrap();
        Store::create(&dir, &init, clock.as_ref()).unwrap();
        // `Store::open` looks for HOARD on the real disk before it reads it
        // through the simulated one.
        let manifest = dir.join(hoardhaven::manifest::MANIFEST_FILE);
        std::fs::write(&manifest, fs::read_small_file(&manifest, 1 << 16).unwrap()).unwrap();
    });
    SimStore {
        _tmp: tmp,
        dir,
        kind,
        sync,
        max_file_size,
        sim,
        gate,
        vfs,
        clock,
    }
}

impl SimStore {
    fn options(&self) -> OpenOptions {
        OpenOptions {
            clock: self.clock.clone(),
            preallocate_step: 4096,
            lock_timeout: Duration::from_secs(5),
            ..OpenOptions::new(Access::Write)
        }
    }

    /// Runs `f` on this store's disk.
    fn on<R>(&self, f: impl FnOnce() -> R) -> R {
        fs::with_vfs(self.vfs.clone(), f)
    }

    fn open(&self) -> Store {
        self.on(|| Store::open(&self.dir, &self.options()))
            .unwrap_or_else(|e| panic!("{:?}: the store does not open: {e}", self.kind))
    }

    /// The disk as a power cut now would leave it.
    fn power_cut(&self, seed: u64) -> Arc<dyn Vfs> {
        Arc::new(self.sim.power_loss(seed))
    }

    /// Opens the engine itself (no lock: the `Store` may still hold it),
    /// as a writer would, on the current thread's disk.
    fn open_engine(&self) -> hoardhaven::Result<Engine> {
        let clock: Arc<dyn Clock> = self.clock.clone();
        Ok(match self.kind {
            Kind::Bitcask => Engine::Bitcask(Bitcask::open(
                &self.dir,
                BitcaskOptions {
                    sync: self.sync,
                    max_file_size: self.max_file_size,
                    writable: true,
                    use_hint: true,
                    replay: true,
                    preallocate_step: 4096,
                },
                clock,
            )?),
            Kind::Memory => Engine::Memory(Memory::open(
                &self.dir,
                MemoryOptions {
                    sync: self.sync,
                    writable: true,
                    load: true,
                    preallocate_step: 4096,
                },
                clock,
            )?),
        })
    }

    /// What each of `keys` holds after a power cut now with `seed`, read by
    /// opening the engine on that copy of the disk (and verifying it,
    /// with `verify`).
    fn after_power_cut(&self, seed: u64, keys: &[&[u8]], verify: bool) -> Vec<Entry> {
        fs::with_vfs(self.power_cut(seed), || {
            let engine = self
                .open_engine()
                .unwrap_or_else(|e| panic!("{:?}: no open after a power cut: {e}", self.kind));
            let now = self.clock.now_ms();
            let got = keys
                .iter()
                .map(|key| {
                    engine
                        .get(key, now)
                        .unwrap_or_else(|e| panic!("{:?}: get after a power cut: {e}", self.kind))
                        .map(|v| (v.bytes, v.expiry_ms))
                })
                .collect();
            if verify {
                let report = match &engine {
                    Engine::Bitcask(b) => b.verify(&mut |_, _| {}),
                    Engine::Memory(m) => m.verify(&mut |_, _| {}),
                }
                .unwrap();
                assert!(
                    report.is_clean(),
                    "{:?}: corruption after a power cut: {:?}",
                    self.kind,
                    report.problems
                );
            }
            got
        })
    }

    /// Whether `key` = `value` would survive a power cut now, whatever it
    /// does to unsynced writes (as far as 24 seeds tell).
    fn durable(&self, key: &[u8], value: &[u8]) -> bool {
        (0..24u64).all(|seed| {
            self.after_power_cut(seed * 7919 + 1, &[key], false)[0]
                .as_ref()
                .is_some_and(|(v, _)| v == value)
        })
    }
}

fn verify_clean(store: &Store, label: &str) {
    let report = store
        .verify(&mut |_, _| {})
        .unwrap_or_else(|e| panic!("{label}: verify: {e}"));
    let corrupt: Vec<_> = report.problems.iter().filter(|p| p.corruption).collect();
    assert!(
        corrupt.is_empty(),
        "{label}: verify finds corruption: {corrupt:?}"
    );
}

// ---------------------------------------------------------------------
// 2. Power loss at every sync point of a concurrent workload

fn concurrent_writers_survive_power_loss(kind: Kind) {
    let workloads = scale();
    let _watchdog = watchdog(&format!("{kind:?} power loss"), 240 * workloads);
    for workload in 0..workloads {
        power_loss_at_every_sync_point(kind, 7 + 100 * workload);
    }
}

/// The workload of the threads seeded from `seed`, with the machine going
/// down at each of its sync points in turn.
fn power_loss_at_every_sync_point(kind: Kind, seed: u64) {
    const THREADS: usize = 3;
    const OPS: usize = 24;
    const SEEDS: u64 = 3;
    let shape = Shape {
        own_keys: 4,
        shared_keys: 3,
        // The clock stands still here: expiries are kept, never reached.
        ttls: &[60_000, 3_600_000],
    };
    let plans: Vec<Vec<Op>> = (0..THREADS)
        .map(|t| plan(seed + t as u64, OPS, &shape))
        .collect();
    let workload = |s: &SimStore, store: &Store, label: &str, crashing: bool| {
        let mut workers: Vec<Worker> = plans
            .iter()
            .enumerate()
            .map(|(t, ops)| Worker::new(t, ops.clone()))
            .collect();
        let ticks = AtomicU64::new(0);
        let cx = Ctx {
            store,
            clock: &s.clock,
            ticks: &ticks,
            ops_done: &AtomicUsize::new(0),
            sim: crashing.then_some(&s.sim),
            label,
        };
        run_workers(&cx, Some(&s.vfs), &mut workers, OPS, 2);
        workers
    };

    // A clean run counts the sync points (a run with crashes may group
    // its writes differently; a crash point it never reaches is skipped).
    let s = sim_store(kind, SyncPolicy::Always, 1024);
    let store = s.open();
    let (_, before) = s.sim.counts();
    let workers = workload(&s, &store, &format!("{kind:?} clean run"), false);
    let syncs = s.sim.counts().1 - before;
    check_reads(&workers, "clean run");
    s.on(|| check_state(&store, &workers, &shape, NOW, "clean run"));
    s.on(|| store.close()).unwrap();
    assert!(
        syncs >= 10,
        "{kind:?}: the workload synced only {syncs} times"
    );

    let started = Instant::now();
    let (mut crashes, mut unreached) = (0, 0);
    for n in 1..=syncs + 3 {
        let s = sim_store(kind, SyncPolicy::Always, 1024);
        let store = s.open();
        s.sim.crash_at_sync(n);
        let label = format!("{kind:?}, crash at sync {n}/{syncs}");
        let workers = workload(&s, &store, &label, true);
        check_reads(&workers, &label);
        if !s.sim.crashed() {
            // Not reached by the workload: the close may reach it.
            let closed = s.on(|| store.close());
            if !s.sim.crashed() {
                closed.unwrap_or_else(|e| panic!("{label}: close: {e}"));
                unreached += 1;
                continue;
            }
        } else {
            drop(store);
        }
        for seed in 0..SEEDS {
            let label = format!("{label}, power-loss seed {seed}");
            fs::with_vfs(s.power_cut(seed * 7919 + n), || {
                let store = Store::open(&s.dir, &s.options())
                    .unwrap_or_else(|e| panic!("{label}: the store does not open: {e}"));
                check_state(&store, &workers, &shape, NOW, &label);
                verify_clean(&store, &label);
                let first = dump(&store);
                store
                    .close()
                    .unwrap_or_else(|e| panic!("{label}: close after recovery: {e}"));
                let store = Store::open(&s.dir, &s.options())
                    .unwrap_or_else(|e| panic!("{label}: a second open fails: {e}"));
                assert!(
                    dump(&store) == first,
                    "{label}: a second open reads differently"
                );
                store.close().unwrap();
            });
            crashes += 1;
        }
    }
    assert!(
        unreached * 2 <= syncs + 3,
        "{kind:?}: {unreached} of {} crash points were never reached",
        syncs + 3
    );
    eprintln!(
        "{kind:?} workload {seed}: {crashes} power losses at {} sync points of {THREADS} \
         concurrent threads checked in {:?} ({unreached} points not reached)",
        syncs + 3 - unreached,
        started.elapsed()
    );
}

#[test]
fn bitcask_concurrent_writers_survive_power_loss_at_every_sync_point() {
    concurrent_writers_survive_power_loss(Kind::Bitcask);
}

#[test]
fn memory_concurrent_writers_survive_power_loss_at_every_sync_point() {
    concurrent_writers_survive_power_loss(Kind::Memory);
}

// ---------------------------------------------------------------------
// 3. Group commit

fn marked_key(i: usize) -> Vec<u8> {
    let mut key = MARK.to_vec();
    key.extend(format!("-{i}").into_bytes());
    key
}

/// Waits (at most 10 s) until the writes of the first `writers` marked
/// keys are visible, which they are once their appends are counted (the
/// index changes after the append; reads see writes not yet acknowledged).
fn all_appended(s: &SimStore, store: &Store, writers: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    s.on(|| {
        loop {
            let visible = (0..writers)
                .filter(|i| store.get(&marked_key(*i)).unwrap().is_some())
                .count();
            if visible == writers {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(1));
        }
    })
}

fn group_commit(kind: Kind) {
    let _watchdog = watchdog(&format!("{kind:?} group commit"), 120);
    const WRITERS: usize = 8;
    let s = sim_store(kind, SyncPolicy::Always, 1 << 20);
    let store = s.open();
    // The first write creates the log file (with syncs of its own).
    s.on(|| store.put(b"warm", b"up", PutOptions::default()))
        .unwrap();

    // The first writer's sync is held: the others append meanwhile and
    // wait, none acknowledged; the 8 writes then take 2 syncs.
    s.gate.arm(&[(1, HOLD_AFTER)], false);
    let acked = AtomicUsize::new(0);
    let (results, appended_while_held, acked_while_held) = thread::scope(|scope| {
        let _release = Release(&s.gate);
        let (store, acked, s) = (&store, &acked, &s);
        let put = |i: usize| {
            scope.spawn(move || {
                s.on(|| {
                    let key = marked_key(i);
                    let result = store.put(&key, &value(&key, i, 1), PutOptions::default());
                    if result.is_ok() {
                        acked.fetch_add(1, SeqCst);
                    }
                    result
                })
            })
        };
        let mut handles = vec![put(0)];
        let held = s.gate.holds(1);
        if held {
            handles.extend((1..WRITERS).map(put));
        }
        // Appended = visible through the store (under `always` the records
        // of a group wait in the log's buffer and reach the file in one
        // write, with the sync that covers them).
        let all_in = all_appended(s, store, WRITERS);
        let acked_while_held = acked.load(SeqCst);
        let appended = s.gate.lock().marked_writes;
        assert!(held, "{kind:?}: the first writer never synced");
        // A power cut now may lose any of the 8 writes, nothing before.
        let warm = s.after_power_cut(3, &[&b"warm"[..]], true);
        assert_eq!(warm[0].as_ref().map(|(v, _)| &v[..]), Some(&b"up"[..]));
        s.gate.release(1);
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(
            all_in,
            "{kind:?}: while one sync was in flight only {appended} of {WRITERS} writers \
             could append (writes are not grouped)"
        );
        (results, appended, acked_while_held)
    });
    for (i, result) in results.iter().enumerate() {
        assert!(result.is_ok(), "{kind:?}: writer {i}: {:?}", result);
    }
    assert_eq!(
        acked_while_held, 0,
        "{kind:?}: {acked_while_held} puts returned while no sync had covered them \
         ({appended_while_held} appended)"
    );
    let syncs = s.gate.file_syncs();
    assert!(
        syncs <= 2,
        "{kind:?}: {WRITERS} overlapping writes took {syncs} syncs; group commit should \
         cover the 7 that waited with one"
    );
    s.gate.disarm();
    let keys: Vec<Vec<u8>> = (0..WRITERS).map(marked_key).collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    for seed in 0..4 {
        let got = s.after_power_cut(seed, &refs, seed == 0);
        for (i, entry) in got.iter().enumerate() {
            assert_eq!(
                entry.as_ref().map(|(v, _)| v.clone()),
                Some(value(&keys[i], i, 1)),
                "{kind:?}: acknowledged write {i} lost to a power cut (seed {seed})"
            );
        }
    }

    // Free-running: each writer cuts the power right after each of its
    // acknowledgements and must find its writes on that copy.
    const PUTS: usize = 10;
    let (_, before_syncs) = s.sim.counts();
    let started = Instant::now();
    thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (s, store) = (&s, &store);
                scope.spawn(move || {
                    s.on(|| {
                        let keys: Vec<Vec<u8>> =
                            (0..3).map(|j| format!("w{w}-k{j}").into_bytes()).collect();
                        let mut latest: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
                        for seq in 1..=PUTS as u32 {
                            let j = seq as usize % keys.len();
                            let v = value(&keys[j], w, seq);
                            store
                                .put(&keys[j], &v, PutOptions::default())
                                .unwrap_or_else(|e| panic!("{kind:?}: writer {w}: {e}"));
                            latest[j] = Some(v);
                            let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
                            let seed = (w as u64) << 32 | u64::from(seq);
                            let got = s.after_power_cut(seed, &refs, seq % 4 == 0);
                            for (j, entry) in got.iter().enumerate() {
                                assert_eq!(
                                    entry.as_ref().map(|(v, _)| v),
                                    latest[j].as_ref(),
                                    "{kind:?}: writer {w}, right after put {seq} was \
                                     acknowledged, a power cut leaves {} with {}",
                                    String::from_utf8_lossy(&keys[j]),
                                    show(entry)
                                );
                            }
                        }
                    })
                })
            })
            .collect();
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    let syncs = s.sim.counts().1 - before_syncs;
    eprintln!(
        "{kind:?}: {} acknowledged writes of {WRITERS} threads took {syncs} syncs, each \
         checked against a power cut right after its acknowledgement, in {:?}",
        WRITERS * PUTS,
        started.elapsed()
    );
    s.on(|| store.close()).unwrap();
}

#[test]
fn bitcask_group_commit_acknowledges_only_synced_writes() {
    group_commit(Kind::Bitcask);
}

#[test]
fn memory_group_commit_acknowledges_only_synced_writes() {
    group_commit(Kind::Memory);
}

// ---------------------------------------------------------------------
// 4. interval:MS kept by the timer

fn interval_timer(kind: Kind) {
    let _watchdog = watchdog(&format!("{kind:?} interval timer"), 120);
    const MS: u64 = 50;
    let sync = SyncPolicy::IntervalMs(MS);

    // With the timer: a write followed by silence becomes durable.
    let s = sim_store(kind, sync, 1 << 20);
    let store = s.open();
    s.on(|| store.start_background(BackgroundOptions::timer_only()))
        .unwrap();
    let v = value(b"quiet", 0, 1);
    s.on(|| store.put(b"quiet", &v, PutOptions::default()))
        .unwrap();
    let started = Instant::now();
    let mut durable = false;
    for _ in 0..500 {
        if s.durable(b"quiet", &v) {
            durable = true;
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        durable,
        "{kind:?}: with the timer, a write followed by {:?} of silence is still not durable \
         (interval:{MS})",
        started.elapsed()
    );
    s.on(|| store.close()).unwrap();

    // Without it, waiting alone makes nothing durable; the next write,
    // more than MS later, syncs (the policy is kept on writes).
    let s = sim_store(kind, sync, 1 << 20);
    let store = s.open();
    let mut checked = false;
    for attempt in 0..20 {
        s.on(|| {
            // The first write creates the log file (with syncs of its own).
            store.put(b"warm", b"up", PutOptions::default())?;
            store.sync()
        })
        .unwrap();
        let key = format!("quiet-{attempt}").into_bytes();
        let v = value(&key, 0, attempt);
        let (_, before) = s.sim.counts();
        s.on(|| store.put(&key, &v, PutOptions::default())).unwrap();
        if s.sim.counts().1 != before {
            // More than MS passed since the sync (a slow machine), so this
            // put synced itself, as it should: try again.
            continue;
        }
        thread::sleep(Duration::from_millis(4 * MS));
        assert_eq!(
            s.sim.counts().1,
            before,
            "{kind:?}: a store without its timer synced while nothing happened"
        );
        assert!(
            !s.durable(&key, &v),
            "{kind:?}: a write no sync covered survives every power cut (the check \
             cannot tell durable from not)"
        );
        s.on(|| store.put(b"later", b"write", PutOptions::default()))
            .unwrap();
        assert!(
            s.sim.counts().1 > before,
            "{kind:?}: a write {}ms after the last sync did not sync (interval:{MS})",
            4 * MS
        );
        assert!(
            s.durable(&key, &v),
            "{kind:?}: the sync did not cover the quiet write"
        );
        checked = true;
        break;
    }
    assert!(
        checked,
        "{kind:?}: every put came more than {MS} ms after the sync before it"
    );
    s.on(|| store.close()).unwrap();
}

#[test]
fn bitcask_interval_timer_makes_a_quiet_write_durable() {
    interval_timer(Kind::Bitcask);
}

#[test]
fn memory_interval_timer_makes_a_quiet_write_durable() {
    interval_timer(Kind::Memory);
}

/// A store dropped without `close` (an early return, a panic unwinding)
/// releases its lock; the background thread it started must stop too,
/// or it goes on holding the engine and working on a store the handle
/// no longer locks (and one such thread leaks per dropped handle).
#[test]
fn dropping_a_store_stops_its_background_thread() {
    let _watchdog = watchdog("drop with background work", 60);
    let s = sim_store(Kind::Bitcask, SyncPolicy::IntervalMs(20), 1 << 20);
    // Every holder of the disk's `Arc` besides this test: the store (its
    // engine keeps the disk it was opened on) and its background thread.
    let holders = Arc::strong_count(&s.vfs);
    let store = s.open();
    let with_store = Arc::strong_count(&s.vfs);
    s.on(|| store.start_background(BackgroundOptions::default()))
        .unwrap();
    assert!(
        Arc::strong_count(&s.vfs) > with_store,
        "the background thread runs on the store's disk"
    );
    s.on(|| store.put(b"key", b"value", PutOptions::default()))
        .unwrap();
    drop(store);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Arc::strong_count(&s.vfs) > holders && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        Arc::strong_count(&s.vfs),
        holders,
        "5 s after its Store was dropped (without close), something still holds its disk: \
         the background thread still runs"
    );
    // The lock is free: the store opens again, with the write.
    let store = s.open();
    assert_eq!(
        s.on(|| store.get(b"key")).unwrap().map(|v| v.bytes),
        Some(b"value".to_vec())
    );
    s.on(|| store.close()).unwrap();
}

// ---------------------------------------------------------------------
// 5. A failed sync under concurrent writers

/// The states a key may be found in: `None` for missing.
type Allowed = (Vec<u8>, Vec<Option<Vec<u8>>>);

/// Reopens the store on `vfs` and checks that each key is in one of its
/// allowed states, the store verifies clean and takes writes again.
fn check_after_failure(s: &SimStore, vfs: Arc<dyn Vfs>, expect: &[Allowed], label: &str) {
    fs::with_vfs(vfs, || {
        let store = Store::open(&s.dir, &s.options())
            .unwrap_or_else(|e| panic!("{label}: the store does not open: {e}"));
        for (key, allowed) in expect {
            let got = read(&store, key).unwrap();
            assert!(
                allowed.contains(&got.as_ref().map(|(g, _)| g.clone())),
                "{label}: {} holds {}; allowed: {:?}",
                String::from_utf8_lossy(key),
                show(&got),
                allowed
                    .iter()
                    .map(|a| show(&a.clone().map(|v| (v, None))))
                    .collect::<Vec<_>>()
            );
        }
        verify_clean(&store, label);
        store
            .put(b"after", b"reopen", PutOptions::default())
            .unwrap_or_else(|e| panic!("{label}: the reopened store refuses writes: {e}"));
        store.close().unwrap();
    });
}

fn failed_sync(kind: Kind) {
    let _watchdog = watchdog(&format!("{kind:?} failed sync"), 120);
    const WRITERS: usize = 8;
    let s = sim_store(kind, SyncPolicy::Always, 1 << 20);
    let store = s.open();
    let base: Vec<(Vec<u8>, Vec<u8>)> = (0..4)
        .map(|i| {
            let key = format!("base-{i}").into_bytes();
            let v = value(&key, 99, i);
            (key, v)
        })
        .collect();
    s.on(|| {
        for (key, v) in &base {
            store.put(key, v, PutOptions::default()).unwrap();
        }
    });

    // Writer 0's sync is held while writers 1-7 append; it succeeds, and
    // the next sync, which covers all 7, fails. Readers read throughout.
    s.gate.arm(&[(1, HOLD_AFTER), (2, FAIL)], false);
    let stop = AtomicBool::new(false);
    let (results, reads) = thread::scope(|scope| {
        let _release = Release(&s.gate);
        let (store, s, base, stop) = (&store, &s, &base, &stop);
        let readers: Vec<_> = (0..2)
            .map(|r| {
                scope.spawn(move || {
                    s.on(|| {
                        let mut reads = 0usize;
                        while !stop.load(SeqCst) && reads < 200_000 {
                            let (key, v) = &base[reads % base.len()];
                            let got = store.get(key).unwrap_or_else(|e| {
                                panic!("{kind:?}: reader {r}: a read failed: {e}")
                            });
                            assert_eq!(got.map(|g| g.bytes).as_ref(), Some(v), "{kind:?}");
                            reads += 1;
                        }
                        reads
                    })
                })
            })
            .collect();
        let put = |i: usize| {
            scope.spawn(move || {
                s.on(|| {
                    let key = marked_key(i);
                    store.put(&key, &value(&key, i, 1), PutOptions::default())
                })
            })
        };
        let mut writers = vec![put(0)];
        let held = s.gate.holds(1);
        if held {
            writers.extend((1..WRITERS).map(put));
        }
        // Appended = visible through the store (under `always` the records
        // of a group wait in the log's buffer and reach the file in one
        // write, with the sync that covers them).
        let all_in = all_appended(s, store, WRITERS);
        s.gate.release(1);
        let results: Vec<_> = writers.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(held && all_in, "{kind:?}: the writers did not overlap");
        // Reads go on after the failure.
        thread::sleep(Duration::from_millis(20));
        stop.store(true, SeqCst);
        let reads: usize = readers.into_iter().map(|h| h.join().unwrap()).sum();
        (results, reads)
    });
    let (syncs, retried) = {
        let g = s.gate.lock();
        (g.file_syncs, g.syncs_after_failure)
    };
    assert!(
        results[0].is_ok(),
        "{kind:?}: the write the good sync covered failed: {:?}",
        results[0]
    );
    let kinds: Vec<&str> = results[1..]
        .iter()
        .map(|r| r.as_ref().map_or_else(Error::kind, |_| "ok"))
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "io").count(),
        1,
        "{kind:?}: the leader of the failed sync gets its I/O error: {kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "poisoned").count(),
        WRITERS - 2,
        "{kind:?}: every other write the failed sync covered fails: {kinds:?}"
    );
    assert_eq!(
        retried, 0,
        "{kind:?}: {retried} syncs were started after the failed one (a writer it covered \
         woke before the store was poisoned and led another sync: a failed fsync retried)"
    );
    assert_eq!(syncs, 2, "{kind:?}: syncs after arming");
    s.gate.disarm();

    // Later writes are refused; reads go on.
    s.on(|| {
        let refused = [
            store.put(b"later", b"x", PutOptions::default()).map(drop),
            store.delete(&base[0].0).map(drop),
            store.expire(&base[1].0, 1000).map(drop),
            store.incr_by(COUNTER, 1).map(drop),
            store.sync(),
        ];
        for (i, r) in refused.iter().enumerate() {
            assert!(
                matches!(r, Err(Error::Poisoned { .. })),
                "{kind:?}: write {i} after the failed sync: {r:?}"
            );
        }
        for (key, v) in &base {
            assert_eq!(store.get(key).unwrap().map(|g| g.bytes).as_ref(), Some(v));
        }
        let first = marked_key(0);
        assert_eq!(
            store.get(&first).unwrap().map(|g| g.bytes),
            Some(value(&first, 0, 1))
        );
        for i in 1..WRITERS {
            let key = marked_key(i);
            let got = store.get(&key).unwrap().map(|g| g.bytes);
            // Written to the file, so perhaps visible: but only as written.
            assert!(got.is_none_or(|g| g == value(&key, i, 1)), "{kind:?}");
        }
    });
    s.on(|| store.close()).unwrap();

    // Acknowledged writes are there; failed ones may be, exactly as written.
    let mut expect: Vec<Allowed> = base
        .iter()
        .map(|(k, v)| (k.clone(), vec![Some(v.clone())]))
        .collect();
    expect.push((marked_key(0), vec![Some(value(&marked_key(0), 0, 1))]));
    expect.extend(
        (1..WRITERS).map(|i| (marked_key(i), vec![None, Some(value(&marked_key(i), i, 1))])),
    );
    for seed in 0..4 {
        let label = format!("{kind:?}: power cut after the failed sync, seed {seed}");
        check_after_failure(&s, s.power_cut(seed), &expect, &label);
    }
    let label = format!("{kind:?}: restart after the failed sync");
    check_after_failure(&s, s.vfs.clone(), &expect, &label);
    eprintln!("{kind:?}: {reads} reads went on around the failed sync");
}

/// The N-th sync fails while writers run freely, for each N.
fn failed_sync_at_each_point(kind: Kind) {
    let _watchdog = watchdog(&format!("{kind:?} failed sync at each point"), 120);
    const WRITERS: usize = 6;
    const PUTS: u32 = 6;
    let mut failures = 0;
    for n in 1..=8 {
        let label = format!("{kind:?}: file sync {n} fails");
        let s = sim_store(kind, SyncPolicy::Always, 1024);
        let store = s.open();
        s.on(|| store.put(b"warm", b"up", PutOptions::default()))
            .unwrap();
        s.gate.arm(&[(n, FAIL)], false);
        // Per writer: the last acknowledged value of each key, and the
        // values of failed writes after it.
        type Outcome = (Vec<(Vec<u8>, Vec<u8>)>, Vec<(Vec<u8>, Vec<Vec<u8>>)>, bool);
        let outcomes: Vec<Outcome> = thread::scope(|scope| {
            let handles: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let (s, store, label) = (&s, &store, &label);
                    scope.spawn(move || {
                        s.on(|| {
                            let keys: Vec<Vec<u8>> =
                                (0..2).map(|j| format!("w{w}-k{j}").into_bytes()).collect();
                            let mut acked: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
                            let mut failed: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
                            let mut error: Option<Error> = None;
                            for seq in 1..=PUTS {
                                let key = &keys[seq as usize % 2];
                                let v = value(key, w, seq);
                                match store.put(key, &v, PutOptions::default()) {
                                    Ok(_) => {
                                        assert!(
                                            error.is_none(),
                                            "{label}: writer {w}: a put was acknowledged \
                                             after an earlier one failed ({:?})",
                                            error
                                        );
                                        acked.insert(key.clone(), v);
                                        failed.remove(key);
                                    }
                                    Err(e) => {
                                        assert!(
                                            matches!(e, Error::Poisoned { .. } | Error::Io { .. }),
                                            "{label}: writer {w}: {e}"
                                        );
                                        if error.is_some() {
                                            assert!(
                                                matches!(e, Error::Poisoned { .. }),
                                                "{label}: writer {w}: {e}"
                                            );
                                        }
                                        failed.entry(key.clone()).or_default().push(v);
                                        error.get_or_insert(e);
                                    }
                                }
                            }
                            (
                                acked.into_iter().collect(),
                                failed.into_iter().collect(),
                                error.is_some(),
                            )
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let reached = s.gate.file_syncs() >= n;
        s.gate.disarm();
        let errors = outcomes.iter().filter(|o| o.2).count();
        if !reached {
            assert_eq!(errors, 0, "{label}: writes failed without a failed sync");
            s.on(|| store.close()).unwrap();
            continue;
        }
        failures += 1;
        assert!(errors > 0, "{label}: no write failed");
        // Each key: its last acknowledged value (or missing, if none was),
        // or any value a failed write after it tried.
        let mut expect: BTreeMap<Vec<u8>, Vec<Option<Vec<u8>>>> = BTreeMap::new();
        for (acked, failed, _) in &outcomes {
            for (key, values) in failed {
                let entry = expect.entry(key.clone()).or_insert_with(|| vec![None]);
                entry.extend(values.iter().cloned().map(Some));
            }
            for (key, v) in acked {
                let entry = expect.entry(key.clone()).or_default();
                entry.retain(Option::is_some);
                entry.push(Some(v.clone()));
            }
        }
        let expect: Vec<Allowed> = expect.into_iter().collect();
        // Later writes are refused; reads go on. The handle may show a
        // write that failed (it reached the file and the keydir before
        // its sync failed), but nothing else.
        s.on(|| {
            assert!(matches!(
                store.put(b"later", b"x", PutOptions::default()),
                Err(Error::Poisoned { .. })
            ));
            for (key, allowed) in &expect {
                let got = store.get(key).unwrap().map(|g| g.bytes);
                assert!(
                    allowed.contains(&got),
                    "{label}: {} reads {:?} after the failure",
                    String::from_utf8_lossy(key),
                    got.map(|g| String::from_utf8_lossy(&g[..g.len().min(16)]).into_owned())
                );
            }
        });
        s.on(|| store.close()).unwrap();
        for seed in 0..2 {
            let label = format!("{label}, power cut seed {seed}");
            check_after_failure(&s, s.power_cut(seed + n), &expect, &label);
        }
        check_after_failure(&s, s.vfs.clone(), &expect, &format!("{label}, restart"));
    }
    assert!(
        failures >= 4,
        "{kind:?}: only {failures} injected failures were reached"
    );
}

#[test]
fn bitcask_failed_sync_fails_the_writes_it_covered() {
    failed_sync(Kind::Bitcask);
    failed_sync_at_each_point(Kind::Bitcask);
}

#[test]
fn memory_failed_sync_fails_the_writes_it_covered() {
    failed_sync(Kind::Memory);
    failed_sync_at_each_point(Kind::Memory);
}

/// A writer that took the append lock just before a sync failed, and whose
/// record needs a new data file, must not seal the active file after the
/// failure: sealing syncs it again (a failed fsync retried, which may
/// "succeed" after the kernel dropped the pages the failed one was to
/// write) and writes a footer that vouches for those records. The gate's
/// disk behaves so: the writes a failed sync covered are lost. Only one
/// write is covered by the failed sync, so no waiter can lead a sync
/// after it (see `*_failed_sync_fails_the_writes_it_covered`): every sync
/// started after the failure is the seal's.
#[test]
fn bitcask_rotation_after_a_failed_sync_does_not_retry_it() {
    let _watchdog = watchdog("rotation after a failed sync", 120);
    let s = sim_store(Kind::Bitcask, SyncPolicy::Always, 1024);
    let store = s.open();
    // Small records, so that only the last write needs a new file.
    let small = |i: usize| format!("small value {i}").into_bytes();
    let warm = small(9);
    s.on(|| store.put(b"warm", &warm, PutOptions::default()))
        .unwrap();
    // Sync 1 covers writer 1's record and fails once the rotating writer
    // holds the append lock; were the seal's sync to run meanwhile (sync
    // 2), it waits at the gate until after the failure.
    s.gate.arm(
        &[
            (
                1,
                SyncPlan {
                    hold_before: true,
                    fail: true,
                    ..SyncPlan::default()
                },
            ),
            (2, HOLD_BEFORE),
        ],
        true,
    );
    let big = vec![b'z'; 900];
    let (covered, rotating, sealing, syncs_after) = thread::scope(|scope| {
        let _release = Release(&s.gate);
        let (store, s, big) = (&store, &s, &big);
        let covered = scope
            .spawn(move || s.on(|| store.put(&marked_key(1), &small(1), PutOptions::default())));
        assert!(s.gate.holds(1), "writer 1 never synced");
        // This record does not fit: its writer takes the append lock (the
        // store is not poisoned yet) and seals the file.
        let rotating =
            scope.spawn(move || s.on(|| store.put(b"rotate", big, PutOptions::default())));
        // Its seal syncs at once, or waits for the sync in flight (bounded:
        // it may never come).
        let sealing = s
            .gate
            .wait_within(Duration::from_millis(500), |g| g.held.contains(&2));
        s.gate.release(1);
        let covered = covered.join().unwrap();
        s.gate.release(2);
        let rotating = rotating.join().unwrap();
        let syncs_after = s.gate.lock().syncs_after_failure;
        (covered, rotating, sealing, syncs_after)
    });
    s.gate.disarm();
    assert!(
        covered.is_err(),
        "writer 1's write, which the failed sync covered: {covered:?}"
    );
    assert!(
        rotating.is_err(),
        "the rotating writer's put after the failure: {rotating:?}"
    );
    s.on(|| store.close()).unwrap();
    let expect: Vec<Allowed> = vec![
        (b"warm".to_vec(), vec![Some(warm.clone())]),
        (marked_key(1), vec![None, Some(small(1))]),
        (b"rotate".to_vec(), vec![None, Some(big.clone())]),
    ];
    check_after_failure(&s, s.vfs.clone(), &expect, "restart after the failed sync");
    assert_eq!(
        syncs_after,
        0,
        "{syncs_after} file syncs were started after a sync failed: the rotating writer \
         sealed the file after the failure (its seal synced {} the failure)",
        if sealing {
            "before and after"
        } else {
            "only after"
        }
    );
}

/// A hint rebuild (background work) reads the index under the append
/// lock, writes the hint outside it while writes go on, and installs it
/// with what was written meanwhile. A key deleted meanwhile must stay
/// deleted, also when the index was a full keydir (a store without a
/// hint yet), which forgets a deleted key instead of marking it.
#[test]
fn bitcask_hint_rebuild_keeps_a_delete_made_meanwhile() {
    let _watchdog = watchdog("hint rebuild and a delete", 60);
    let s = sim_store(Kind::Bitcask, SyncPolicy::Always, 1 << 20);
    let store = s.open();
    s.on(|| {
        for k in 0..4 {
            let key = format!("key-{k}").into_bytes();
            store.put(&key, &value(&key, 0, 1), PutOptions::default())?;
        }
        Ok::<(), Error>(())
    })
    .unwrap();
    // The rebuild's hint file is written and synced (sync 1) outside the
    // append lock; the delete comes then.
    s.gate.arm(&[(1, HOLD_AFTER)], false);
    let (deleted, rebuilt) = thread::scope(|scope| {
        let _release = Release(&s.gate);
        let (s, store) = (&s, &store);
        let rebuild =
            scope.spawn(move || s.on(|| store.bitcask().expect("a bitcask store").rebuild_hint()));
        assert!(s.gate.holds(1), "the hint rebuild never synced its hint");
        let deleted = s.on(|| store.delete(b"key-1"));
        s.gate.release(1);
        (deleted, rebuild.join().unwrap())
    });
    s.gate.disarm();
    assert!(deleted.unwrap(), "key-1 was there to delete");
    rebuilt.unwrap();
    let got = s.on(|| read(&store, b"key-1")).unwrap();
    assert!(
        got.is_none(),
        "key-1, deleted while the hint was rebuilt, is back: {}",
        show(&got)
    );
    for k in [0, 2, 3] {
        let key = format!("key-{k}").into_bytes();
        assert!(s.on(|| read(&store, &key)).unwrap().is_some(), "key-{k}");
    }
    s.on(|| store.close()).unwrap();
    // And after a reopen (the hint on disk has key-1; the tombstone after
    // its watermark must win).
    let store = s.open();
    assert!(s.on(|| read(&store, b"key-1")).unwrap().is_none());
    s.on(|| store.close()).unwrap();
}

/// A listing sees every key that is live throughout it. Here every key
/// is live all along (only overwritten), but an overwrite moves a key
/// from the hint to the in-memory overlay, and a listing reads the
/// overlay first, then the hint.
#[test]
fn bitcask_listing_sees_every_key_live_throughout() {
    let _watchdog = watchdog("listing while overwriting", 120);
    const KEYS: usize = 300;
    let s = sim_store(Kind::Bitcask, SyncPolicy::Never, 1 << 20);
    let keys: Vec<Vec<u8>> = (0..KEYS)
        .map(|k| format!("key-{k:03}").into_bytes())
        .collect();
    let store = s.open();
    s.on(|| {
        for key in &keys {
            store.put(key, b"first", PutOptions::default()).unwrap();
        }
    });
    s.on(|| store.close()).unwrap();
    // Reopened with its hint: every key is found through the hint.
    let store = s.open();
    let (mut listings, mut short) = (0, Vec::new());
    for round in 0..10 {
        let done = AtomicBool::new(false);
        thread::scope(|scope| {
            let (s, store, keys, done) = (&s, &store, &keys, &done);
            scope.spawn(move || {
                s.on(|| {
                    for key in keys {
                        store
                            .put(
                                key,
                                format!("round {round}").as_bytes(),
                                PutOptions::default(),
                            )
                            .unwrap();
                    }
                });
                done.store(true, SeqCst);
            });
            let mut n = 0;
            while !done.load(SeqCst) && n < 10_000 {
                let listed = s.on(|| store.keys(b"", None)).unwrap();
                if listed.len() != KEYS {
                    short.push((round, listed.len()));
                }
                n += 1;
            }
            listings += n;
        });
        // Back into the hint for the next round.
        s.on(|| store.bitcask().unwrap().rebuild_hint()).unwrap();
    }
    s.on(|| store.close()).unwrap();
    assert!(
        short.is_empty(),
        "{} of {listings} listings missed keys that were live throughout \
         (round, keys listed of {KEYS}): {:?}",
        short.len(),
        &short[..short.len().min(10)]
    );
}

/// `Bitcask::write_hint` (public; `hoard hint`) while a hint rebuild runs
/// beside it (background work): both write the hint through the same
/// temporary file, one under the append lock and one outside it (the
/// rebuild holds the maintenance lock, `write_hint` does not). Neither may
/// fail (a failed background rebuild is what `Store::close` then reports),
/// and nothing may poison the store.
#[test]
fn bitcask_hint_write_beside_a_hint_rebuild() {
    let _watchdog = watchdog("two hint writers", 60);
    let s = sim_store(Kind::Bitcask, SyncPolicy::Always, 1 << 20);
    let store = s.open();
    s.on(|| {
        for k in 0..4 {
            let key = format!("key-{k}").into_bytes();
            store.put(&key, &value(&key, 0, 1), PutOptions::default())?;
        }
        Ok::<(), Error>(())
    })
    .unwrap();
    // The rebuild's hint file is written and synced (sync 1) outside the
    // append lock; the foreground hint write comes then.
    s.gate.arm(&[(1, HOLD_AFTER)], false);
    let (written, rebuilt) = thread::scope(|scope| {
        let _release = Release(&s.gate);
        let (s, store) = (&s, &store);
        let rebuild =
            scope.spawn(move || s.on(|| store.bitcask().expect("a bitcask store").rebuild_hint()));
        assert!(s.gate.holds(1), "the hint rebuild never synced its hint");
        let write = scope.spawn(move || s.on(|| store.bitcask().unwrap().write_hint()));
        // It writes its own hint at once, or waits for the rebuild
        // (bounded: then its sync never comes while the rebuild is held).
        s.gate
            .wait_within(Duration::from_millis(500), |g| g.file_syncs >= 2);
        s.gate.release(1);
        (write.join().unwrap(), rebuild.join().unwrap())
    });
    s.gate.disarm();
    assert!(written.is_ok(), "the foreground hint write: {written:?}");
    assert!(rebuilt.is_ok(), "the hint rebuild beside it: {rebuilt:?}");
    let put = s.on(|| store.put(b"after", b"both", PutOptions::default()));
    assert!(put.is_ok(), "a write after both: {put:?}");
    s.on(|| store.close()).unwrap();
}

/// A hint rebuilt (by background work) after a key expired leaves the
/// key out, as it should: `verify` must not then call the store corrupt.
#[test]
fn bitcask_verify_accepts_a_hint_rebuilt_after_an_expiry() {
    let _watchdog = watchdog("verify after an expiry", 60);
    let s = sim_store(Kind::Bitcask, SyncPolicy::Always, 1 << 20);
    let store = s.open();
    s.on(|| {
        store.put(b"stays", b"value", PutOptions::default())?;
        let ttl = PutOptions {
            ttl_ms: Some(10),
            only_if_absent: false,
        };
        store.put(b"expires", b"value", ttl)
    })
    .unwrap();
    s.clock.advance(20);
    s.on(|| store.bitcask().unwrap().rebuild_hint()).unwrap();
    assert!(s.on(|| store.get(b"expires")).unwrap().is_none());
    let report = s.on(|| store.verify(&mut |_, _| {})).unwrap();
    assert!(
        report.is_clean(),
        "verify calls the store corrupt after a hint rebuild dropped an expired key: {:?}",
        report.problems
    );
    s.on(|| store.close()).unwrap();
}

/// `Store::batch_writes` (the server's mode): a write returns at once,
/// readable but not yet durable, and `write_position` / `durable_position`
/// say when a sync covered it; a sync covers every thread's batched writes.
#[test]
fn batched_writes_are_acknowledged_by_position() {
    for engine in [EngineKind::Bitcask, EngineKind::Memory] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let init = InitOptions {
            engine,
            ..InitOptions::default()
        };
        Store::create(&dir, &init, &hoardhaven::SystemClock).unwrap();
        let store = Arc::new(Store::open(&dir, &OpenOptions::new(Access::Write)).unwrap());
        store.batch_writes(true);
        let syncs = store.sync_count();
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                thread::spawn(move || {
                    for i in 0..50 {
                        let key = format!("t{t}:{i}");
                        store
                            .put(key.as_bytes(), b"v", PutOptions::default())
                            .unwrap();
                        assert_eq!(store.get(key.as_bytes()).unwrap().unwrap().bytes, b"v");
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(
            store.sync_count(),
            syncs,
            "{engine:?}: a batched write synced"
        );
        let position = store.write_position();
        assert!(store.durable_position() < position, "{engine:?}");
        store.sync().unwrap();
        assert!(store.durable_position() >= position, "{engine:?}");
        assert_eq!(
            store.sync_count(),
            syncs + 1,
            "{engine:?}: one sync covers all"
        );
        Arc::try_unwrap(store).unwrap().close().unwrap();
        let reopened = Store::open(&dir, &OpenOptions::new(Access::Read)).unwrap();
        assert_eq!(reopened.count(b"").unwrap(), 200);
    }
}
