//! Background maintenance while writes go on: online merges (bitcask),
//! snapshots that do not stop writes (memory), hint rebuilds, active
//! expiry, and a crash at every sync point of each with writes in flight.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hoardhaven::bitcask::{BitcaskOptions, MergePolicy};
use hoardhaven::faults::SimFs;
use hoardhaven::fs;
use hoardhaven::memory::MemoryOptions;
use hoardhaven::{Bitcask, Clock, Engine, ManualClock, Memory, SyncPolicy};

const DIR: &str = "/store";
const NOW: u64 = 1_700_000_000_000;
const KEYS: u32 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bitcask,
    Memory,
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(NOW))
}

fn open(kind: Kind, writable: bool) -> hoardhaven::Result<Engine> {
    let dir = Path::new(DIR);
    Ok(match kind {
        Kind::Bitcask => Engine::Bitcask(Bitcask::open(
            dir,
            BitcaskOptions {
                sync: SyncPolicy::Always,
                // Small files, so overwrites leave sealed files to merge.
                max_file_size: 2048,
                writable,
                use_hint: true,
                replay: true,
                preallocate_step: 4096,
            },
            clock(),
        )?),
        Kind::Memory => Engine::Memory(Memory::open(
            dir,
            MemoryOptions {
                sync: SyncPolicy::Always,
                writable,
                load: true,
                preallocate_step: 4096,
            },
            clock(),
        )?),
    })
}

fn key(k: u32) -> Vec<u8> {
    format!("key-{k:02}").into_bytes()
}

fn value(k: u32, i: u32) -> Vec<u8> {
    format!("value-{k}-{i}-{}", "v".repeat((i % 4) as usize * 30)).into_bytes()
}

fn aggressive() -> MergePolicy {
    MergePolicy {
        fragmentation: 0.1,
        dead_bytes: 1,
        trigger_fragmentation: 0.1,
        trigger_dead_bytes: 1,
    }
}

/// A store on a fresh simulated disk, every key overwritten a few times
/// (so that merges have dead bytes to reclaim) and some deleted.
fn populated(kind: Kind) -> (SimFs, HashMap<u32, Option<Vec<u8>>>) {
    let sim = SimFs::new();
    let mut state = HashMap::new();
    fs::with_vfs(Arc::new(sim.clone()), || {
        fs::create_dir_private(Path::new("/")).ok();
        fs::create_dir_private(Path::new(DIR)).unwrap();
        let engine = open(kind, true).unwrap();
        for round in 0..4 {
            for k in 0..KEYS {
                engine.put(&key(k), &value(k, round), None).unwrap();
                state.insert(k, Some(value(k, round)));
            }
        }
        for k in (0..KEYS).step_by(5) {
            engine.delete(&key(k), NOW).unwrap();
            state.insert(k, None);
        }
        engine.close().unwrap();
    });
    (sim, state)
}

/// One write of the workload: a put of `value(k, i)` or a delete.
#[derive(Debug, Clone)]
struct Write {
    k: u32,
    value: Option<Vec<u8>>,
}

/// Writes `ops` in one thread while another runs the engine's background
/// maintenance (online merge or snapshot) twice. Returns the writes in
/// order and how many were acknowledged before the first failure.
fn writes_during_maintenance(engine: &Engine, ops: u32) -> (Vec<Write>, usize) {
    let log: Mutex<(Vec<Write>, usize)> = Mutex::new((Vec::new(), 0));
    let vfs = fs::current_vfs();
    std::thread::scope(|s| {
        s.spawn(|| {
            fs::with_vfs(vfs.clone(), || {
                for i in 0..ops {
                    let k = (i * 7) % KEYS;
                    let write = if i % 9 == 4 {
                        Write { k, value: None }
                    } else {
                        Write {
                            k,
                            value: Some(value(k, 100 + i)),
                        }
                    };
                    log.lock().unwrap().0.push(write.clone());
                    let result = match &write.value {
                        Some(v) => engine.put(&key(k), v, None),
                        None => engine.delete(&key(k), NOW).map(drop),
                    };
                    if result.is_err() {
                        return;
                    }
                    log.lock().unwrap().1 = i as usize + 1;
                }
            })
        });
        s.spawn(|| {
            fs::with_vfs(vfs.clone(), || {
                for _ in 0..2 {
                    let done = match engine {
                        Engine::Bitcask(b) => b.merge_online(NOW, &aggressive()).map(drop),
                        Engine::Memory(m) => m.snapshot(NOW).map(drop),
                    };
                    if done.is_err() {
                        return;
                    }
                }
            })
        });
    });
    log.into_inner().unwrap()
}

/// What the store holds for every key.
fn contents(engine: &Engine) -> HashMap<u32, Option<Vec<u8>>> {
    (0..KEYS)
        .map(|k| {
            let got = engine
                .get(&key(k), NOW)
                .unwrap_or_else(|e| panic!("get key {k}: {e}"))
                .map(|v| v.bytes);
            (k, got)
        })
        .collect()
}

/// Whether `got` is the state after some prefix of `writes` at least
/// `acked` long, applied to `before`.
fn is_prefix_state(
    before: &HashMap<u32, Option<Vec<u8>>>,
    writes: &[Write],
    acked: usize,
    got: &HashMap<u32, Option<Vec<u8>>>,
) -> bool {
    let mut state = before.clone();
    for (n, w) in writes.iter().enumerate() {
        if n >= acked && state == *got {
            return true;
        }
        state.insert(w.k, w.value.clone());
    }
    state == *got
}

fn verify_clean(kind: Kind, label: &str) {
    let report = match kind {
        Kind::Bitcask => Bitcask::open(
            Path::new(DIR),
            BitcaskOptions {
                sync: SyncPolicy::Always,
                max_file_size: 2048,
                writable: false,
                use_hint: true,
                replay: false,
                preallocate_step: 4096,
            },
            clock(),
        )
        .and_then(|b| b.verify(&mut |_, _| {})),
        Kind::Memory => Memory::open(
            Path::new(DIR),
            MemoryOptions {
                sync: SyncPolicy::Always,
                writable: false,
                load: false,
                preallocate_step: 4096,
            },
            clock(),
        )
        .and_then(|m| m.verify(&mut |_, _| {})),
    }
    .unwrap_or_else(|e| panic!("{label}: verify: {e}"));
    let corrupt: Vec<_> = report.problems.iter().filter(|p| p.corruption).collect();
    assert!(corrupt.is_empty(), "{label}: verify finds {corrupt:?}");
}

#[test]
fn an_online_merge_reclaims_space_while_writes_go_on() {
    let (sim, before) = populated(Kind::Bitcask);
    fs::with_vfs(Arc::new(sim.clone()), || {
        let engine = open(Kind::Bitcask, true).unwrap();
        let Engine::Bitcask(b) = &engine else {
            unreachable!()
        };
        let bytes_before: u64 = b.files().iter().map(|(_, _, len)| len).sum();
        let (writes, acked) = writes_during_maintenance(&engine, 60);
        assert_eq!(acked, writes.len(), "every write is acknowledged");
        let mut expected = before.clone();
        for w in &writes {
            expected.insert(w.k, w.value.clone());
        }
        assert_eq!(contents(&engine), expected);
        // The merges beside the writes may have left nothing dead; any
        // that is left goes now.
        for _ in 0..3 {
            if let Some(report) = b.merge_online(NOW, &aggressive()).unwrap() {
                assert!(report.live_bytes < report.record_bytes_before, "{report:?}");
            }
        }
        let bytes_after: u64 = b.files().iter().map(|(_, _, len)| len).sum();
        assert!(
            bytes_after < bytes_before,
            "{bytes_after} bytes after the merges, {bytes_before} before"
        );
        assert_eq!(contents(&engine), expected);
        engine.close().unwrap();
        // A reopen through the rebuilt hint, and a full replay, agree.
        let engine = open(Kind::Bitcask, false).unwrap();
        assert_eq!(contents(&engine), expected);
        verify_clean(Kind::Bitcask, "after merges");
    });
}

#[test]
fn a_snapshot_does_not_stop_writes_and_keeps_every_one() {
    let (sim, before) = populated(Kind::Memory);
    fs::with_vfs(Arc::new(sim.clone()), || {
        let engine = open(Kind::Memory, true).unwrap();
        let (writes, acked) = writes_during_maintenance(&engine, 60);
        assert_eq!(acked, writes.len());
        let mut expected = before.clone();
        for w in &writes {
            expected.insert(w.k, w.value.clone());
        }
        assert_eq!(contents(&engine), expected);
        engine.close().unwrap();
        let engine = open(Kind::Memory, false).unwrap();
        assert_eq!(contents(&engine), expected);
        verify_clean(Kind::Memory, "after snapshots");
    });
}

/// Power lost at the n-th sync of a workload whose writes run beside an
/// online merge or a snapshot: the store must open with every
/// acknowledged write (and a prefix of the rest), and verify clean.
fn crash_at_every_sync_during_maintenance(kind: Kind) {
    // Threads interleave differently from run to run: a few sweeps of
    // different lengths meet more of the interleavings.
    for ops in [40, 53, 67] {
        crash_sweep(kind, ops);
    }
}

fn crash_sweep(kind: Kind, ops: u32) {
    let mut n = 1;
    let mut completed = 0;
    // Interleavings differ from run to run, so the count of syncs does
    // too: go on until a run finishes without reaching its crash point
    // three times over (bounded).
    while completed < 3 && n < 400 {
        let (sim, before) = populated(kind);
        let label = format!("{kind:?}, {ops} writes, power lost at sync {n}");
        let (writes, acked) = fs::with_vfs(Arc::new(sim.clone()), || {
            let engine = open(kind, true).unwrap();
            sim.crash_at_sync(n);
            let outcome = writes_during_maintenance(&engine, ops);
            let _ = engine.close();
            outcome
        });
        if !sim.crashed() {
            completed += 1;
        }
        for seed in [1, 2] {
            let after = sim.power_loss(seed + n);
            fs::with_vfs(Arc::new(after), || {
                let engine =
                    open(kind, true).unwrap_or_else(|e| panic!("{label}: does not open: {e}"));
                let got = contents(&engine);
                assert!(
                    is_prefix_state(&before, &writes, acked, &got),
                    "{label}: {got:?} is not the state after the {acked} acknowledged writes \
                     and a prefix of the rest of {writes:?}"
                );
                engine
                    .close()
                    .unwrap_or_else(|e| panic!("{label}: close: {e}"));
                verify_clean(kind, &label);
            });
        }
        n += 1;
    }
    assert!(
        completed > 0,
        "{kind:?}: every run crashed; raise the bound"
    );
}

#[test]
fn bitcask_survives_power_loss_at_every_sync_of_an_online_merge_with_writes_in_flight() {
    crash_at_every_sync_during_maintenance(Kind::Bitcask);
}

#[test]
fn memory_survives_power_loss_at_every_sync_of_a_snapshot_with_writes_in_flight() {
    crash_at_every_sync_during_maintenance(Kind::Memory);
}

/// Polls `done` every 5 ms for up to 5 s.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done()
}

#[test]
fn expired_keys_are_reclaimed_actively_by_both_engines() {
    for kind in [Kind::Bitcask, Kind::Memory] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let clock = Arc::new(ManualClock::new(NOW));
        let engine = match kind {
            Kind::Bitcask => "bitcask",
            Kind::Memory => "memory",
        };
        hoardhaven::Store::create(
            &dir,
            &hoardhaven::InitOptions {
                engine: engine.parse().unwrap(),
                sync: SyncPolicy::Never,
                max_file_size: 64 << 10,
            },
            clock.as_ref(),
        )
        .unwrap();
        let mut options = hoardhaven::OpenOptions::new(hoardhaven::Access::Write);
        options.clock = clock.clone();
        let store = hoardhaven::Store::open(&dir, &options).unwrap();
        for i in 0..2000u32 {
            let ttl = if i % 2 == 0 { Some(1000) } else { None };
            store
                .put(
                    format!("k{i}").as_bytes(),
                    &[b'x'; 100],
                    hoardhaven::PutOptions {
                        ttl_ms: ttl,
                        only_if_absent: false,
                    },
                )
                .unwrap();
        }
        store
            .start_background(hoardhaven::BackgroundOptions {
                expire_every: Some(Duration::from_millis(1)),
                merge_every: Some(Duration::from_millis(5)),
                merge_policy: aggressive(),
                ..hoardhaven::BackgroundOptions::timer_only()
            })
            .unwrap();
        clock.advance(2000);
        if let Some(memory) = store.memory() {
            let reclaimed = eventually(|| memory.key_count() == 1000);
            assert!(reclaimed, "memory: {:?}", store.background_log());
        }
        if let Some(bitcask) = store.bitcask() {
            // Merges drop the expired records from sealed files (the small
            // active file keeps its own until it fills), and the rebuilt
            // hint, the index kept in memory, no longer holds them.
            let merged = eventually(|| {
                let usage = bitcask.file_use(clock.now_ms()).unwrap();
                bitcask.hint_state().entries == 1000
                    && usage.values().rev().skip(1).all(|u| u.dead_share() < 0.2)
            });
            assert!(
                merged,
                "bitcask: {:?} {:?} {:?}",
                bitcask.hint_state(),
                bitcask.file_use(clock.now_ms()).unwrap(),
                store.background_log()
            );
        }
        assert_eq!(store.count(b"").unwrap(), 1000, "{kind:?}");
        store.close().unwrap();
    }
}

#[test]
fn a_memory_store_snapshots_itself_when_its_aof_grows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let clock = Arc::new(ManualClock::new(NOW));
    hoardhaven::Store::create(
        &dir,
        &hoardhaven::InitOptions {
            engine: "memory".parse().unwrap(),
            sync: SyncPolicy::Never,
            max_file_size: 64 << 10,
        },
        clock.as_ref(),
    )
    .unwrap();
    let store = hoardhaven::Store::open(
        &dir,
        &hoardhaven::OpenOptions::new(hoardhaven::Access::Write),
    )
    .unwrap();
    store
        .start_background(hoardhaven::BackgroundOptions {
            snapshot_aof_min: Some(64 << 10),
            ..hoardhaven::BackgroundOptions::timer_only()
        })
        .unwrap();
    for i in 0..2000u32 {
        store
            .put(
                format!("k{}", i % 100).as_bytes(),
                &[b'y'; 200],
                hoardhaven::PutOptions::default(),
            )
            .unwrap();
    }
    let memory = store.memory().unwrap();
    assert!(
        eventually(|| memory.snapshot_state().0 > 0),
        "{:?}",
        store.background_log()
    );
    store.close().unwrap();
}

/// An expired value that the index already forgot (active expiry) must
/// still shadow an older value of its key in a file the merge leaves
/// alone: a tombstone takes its place.
#[test]
fn an_online_merge_keeps_the_shadow_of_an_expired_key_over_older_files() {
    let sim = SimFs::new();
    fs::with_vfs(Arc::new(sim.clone()), || {
        fs::create_dir_private(Path::new("/")).ok();
        fs::create_dir_private(Path::new(DIR)).unwrap();
        let engine = open(Kind::Bitcask, true).unwrap();
        let Engine::Bitcask(b) = &engine else {
            unreachable!()
        };
        // The oldest file: the key's first value, among values never
        // overwritten, so the file stays mostly live and out of merges.
        engine.put(b"shadow", b"old value", None).unwrap();
        for i in 0..13u32 {
            engine
                .put(format!("stable-{i:02}").as_bytes(), &[b's'; 120], None)
                .unwrap();
        }
        // Newer files: the key's expiring value, then churn.
        engine
            .put(b"shadow", b"new value", Some(NOW + 1000))
            .unwrap();
        for round in 0..6u32 {
            for i in 0..8u32 {
                engine
                    .put(format!("churn-{i}").as_bytes(), &value(i, round), None)
                    .unwrap();
            }
        }
        let later = NOW + 5000;
        assert_eq!(engine.get(b"shadow", later).unwrap(), None);
        b.expire_some(later, 64).unwrap();
        // By dead share alone: the oldest file is barely dead.
        let policy = MergePolicy {
            fragmentation: 0.3,
            dead_bytes: u64::MAX,
            trigger_fragmentation: 0.3,
            trigger_dead_bytes: u64::MAX,
        };
        let mut merged = 0;
        for _ in 0..3 {
            if b.merge_online(later, &policy).unwrap().is_some() {
                merged += 1;
            }
        }
        assert!(merged > 0, "the churned files are merged");
        let oldest = b.files()[0].0;
        assert_eq!(
            oldest,
            hoardhaven::bitcask::FileId::FIRST,
            "the oldest file stays"
        );
        assert_eq!(engine.get(b"shadow", later).unwrap(), None);
        engine.close().unwrap();
        // A full replay (no hint) reads every file in order: the old value
        // must still be shadowed.
        let full = Bitcask::open(
            Path::new(DIR),
            BitcaskOptions {
                sync: SyncPolicy::Always,
                max_file_size: 2048,
                writable: false,
                use_hint: false,
                replay: true,
                preallocate_step: 4096,
            },
            clock(),
        )
        .unwrap();
        assert_eq!(full.get(b"shadow", later).unwrap(), None);
    });
}

/// A store opened on a simulated disk stays on it whichever thread uses
/// it: its environment comes with it, not with the calling thread.
#[test]
fn a_store_keeps_its_file_system_in_every_thread() {
    for kind in [Kind::Bitcask, Kind::Memory] {
        let sim = SimFs::new();
        let engine = fs::with_vfs(Arc::new(sim.clone()), || {
            fs::create_dir_private(Path::new("/")).ok();
            fs::create_dir_private(Path::new(DIR)).unwrap();
            open(kind, true).unwrap()
        });
        // No simulated disk installed in these threads: rotations (bitcask)
        // and the first AOF (memory) create files, on the store's disk.
        std::thread::scope(|s| {
            for t in 0..2u32 {
                let engine = &engine;
                s.spawn(move || {
                    for i in 0..40u32 {
                        let k = t * 100 + i;
                        engine.put(&key(k), &value(k, 1), None).unwrap();
                    }
                });
            }
        });
        engine.close().unwrap();
        assert!(
            !Path::new(DIR).exists(),
            "{kind:?}: nothing reaches the real disk"
        );
        fs::with_vfs(Arc::new(sim.power_loss(7)), || {
            let engine = open(kind, false).unwrap();
            for t in 0..2u32 {
                for i in 0..40u32 {
                    let k = t * 100 + i;
                    assert_eq!(
                        engine.get(&key(k), NOW).unwrap().map(|v| v.bytes),
                        Some(value(k, 1)),
                        "{kind:?}"
                    );
                }
            }
        });
    }
}

/// The brief: one-shot commands start none of the background work. A
/// store runs none until a handle asks, and none after `close`'s stop.
#[test]
fn no_background_work_runs_unless_a_handle_asks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = hoardhaven::Store::open(
        &dir,
        &hoardhaven::OpenOptions::new(hoardhaven::Access::Write),
    )
    .unwrap();
    store
        .put(b"k", b"v", hoardhaven::PutOptions::default())
        .unwrap();
    assert!(
        store.background_log().is_none(),
        "nothing started by itself"
    );
    store
        .start_background(hoardhaven::BackgroundOptions::timer_only())
        .unwrap();
    assert!(store.background_log().is_some());
    store.close().unwrap();
}
