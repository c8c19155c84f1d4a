//! Crash and I/O-error tests on the simulated file system (`SimFs`), for
//! both engines, with a seeded workload of puts, expiries, deletes, explicit
//! syncs, maintenance (merge and hint rewrites, or snapshots; rotations
//! happen every kilobyte) and a final close, under each way writes are
//! made durable: `always`, `never`, `interval` and a bulk load (syncs
//! deferred to explicit ones, as `import` does).
//!
//! Power loss: the machine goes down at every sync point of the workload in
//! turn; each crash is followed by power-loss outcomes for several seeds
//! (unsynced writes kept, dropped or torn by sector, in any order; unsynced
//! directory changes kept or dropped). The store must then open and hold
//! exactly the state after every synced write plus some prefix, in order,
//! of the writes not yet synced: nothing acknowledged is lost, no deleted
//! key reappears, no value appears that was never written, and no later
//! write survives without the earlier ones.
//!
//! I/O errors: the N-th file operation fails with EIO or ENOSPC, for every
//! N. The failure must surface as an I/O error (exit code 5), a failed sync
//! must leave the engine refusing writes, and after a restart every
//! acknowledged write must be there.
//!
//! More: `HOARD_POWERLOSS_SEEDS=20 cargo test --release --test powerloss`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use hoardhaven::bitcask::BitcaskOptions;
use hoardhaven::faults::SimFs;
use hoardhaven::fs;
use hoardhaven::memory::MemoryOptions;
use hoardhaven::{Bitcask, Engine, Memory, SyncPolicy};

const DIR: &str = "/store";
const NOW: u64 = 1_700_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bitcask,
    Memory,
}

/// How writes are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `sync=always`: each write is durable when it returns.
    Always,
    /// `sync=never`: only explicit syncs, maintenance and close.
    Never,
    /// `sync=interval:MS`, with MS longer than the workload.
    Interval,
    /// `sync=always` with syncs deferred to explicit ones (a bulk load).
    Bulk,
}

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u32),
    Del(u8),
    Expire(u8),
    Maintain(u8),
    Sync,
}

fn workload(seed: u64) -> Vec<Op> {
    let mut x = seed | 1;
    let mut next = || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    (0..40u32)
        .map(|i| match next() % 12 {
            0..=4 => Op::Put((next() % 8) as u8, i),
            5 => Op::Expire((next() % 8) as u8),
            6..=7 => Op::Del((next() % 8) as u8),
            8..=9 => Op::Sync,
            _ => Op::Maintain((next() % 3) as u8),
        })
        .collect()
}

fn key(k: u8) -> Vec<u8> {
    format!("key-{k}").into_bytes()
}

fn value(k: u8, v: u32) -> Vec<u8> {
    format!("value-{k}-{v}-{}", "x".repeat((v % 5) as usize * 40)).into_bytes()
}

fn open(kind: Kind, mode: Mode) -> hoardhaven::Result<Engine> {
    let dir = Path::new(DIR);
    let sync = match mode {
        Mode::Always | Mode::Bulk => SyncPolicy::Always,
        Mode::Never => SyncPolicy::Never,
        Mode::Interval => SyncPolicy::IntervalMs(3_600_000),
    };
    let engine: Engine = match kind {
        Kind::Bitcask => Engine::Bitcask(Bitcask::open(
            dir,
            BitcaskOptions {
                sync,
                max_file_size: 1024,
                writable: true,
                use_hint: true,
                replay: true,
                // Small steps keep the simulated disk small; the rules are the same.
                preallocate_step: 4096,
            },
            clock(),
        )?),
        Kind::Memory => Engine::Memory(Memory::open(
            dir,
            MemoryOptions {
                sync,
                writable: true,
                load: true,
                preallocate_step: 4096,
            },
            clock(),
        )?),
    };
    engine.defer_sync(mode == Mode::Bulk);
    Ok(engine)
}

fn maintain(engine: &Engine, which: u8) -> hoardhaven::Result<()> {
    match engine {
        Engine::Bitcask(b) if which == 0 => b.write_hint().map(drop),
        Engine::Bitcask(b) => b.merge(NOW, &mut |_, _| {}).map(drop),
        Engine::Memory(m) => m.snapshot(NOW).map(drop),
    }
}

fn clock() -> std::sync::Arc<dyn hoardhaven::Clock> {
    std::sync::Arc::new(hoardhaven::ManualClock::new(NOW))
}

/// What the store must hold: the state as of the last sync, then any
/// prefix, in order, of the writes made since (the one in flight when
/// things went wrong included).
#[derive(Debug, Default)]
struct Model {
    synced: HashMap<u8, Option<u32>>,
    pending: Vec<(u8, Option<u32>)>,
}

impl Model {
    /// The state after the synced writes and the first `n` pending ones.
    fn after(&self, n: usize) -> HashMap<u8, Option<u32>> {
        let mut state = self.synced.clone();
        for (k, v) in &self.pending[..n] {
            state.insert(*k, *v);
        }
        state
    }

    fn current(&self, k: u8) -> Option<u32> {
        self.after(self.pending.len()).get(&k).copied().flatten()
    }

    fn synced_now(&mut self) {
        self.synced = self.after(self.pending.len());
        self.pending.clear();
    }
}

/// The error that stopped a workload, and the engine if it was open then.
type Failure = (hoardhaven::Error, Option<Engine>);

/// Runs the workload until an operation fails; returns the model and the
/// failure, if any.
fn run(kind: Kind, mode: Mode, ops: &[Op]) -> (Model, Option<Failure>) {
    let mut model = Model::default();
    let engine = match open(kind, mode) {
        Ok(e) => e,
        Err(e) => return (model, Some((e, None))),
    };
    for op in ops {
        let (result, effect, syncs) = match op {
            Op::Put(k, v) => (
                engine.put(&key(*k), &value(*k, *v), None),
                Some((*k, Some(*v))),
                false,
            ),
            Op::Del(k) => (
                engine.delete(&key(*k), NOW).map(drop),
                Some((*k, None)),
                false,
            ),
            // Expire rewrites the current value with an absolute expiry
            // (far in the future here, so the key stays readable).
            Op::Expire(k) => match model.current(*k) {
                Some(v) => (
                    engine.put(&key(*k), &value(*k, v), Some(NOW + 3_600_000)),
                    Some((*k, Some(v))),
                    false,
                ),
                None => (Ok(()), None, false),
            },
            Op::Sync => (engine.sync(), None, true),
            // Maintenance syncs what it covers before it rewrites anything.
            Op::Maintain(which) => (maintain(&engine, *which), None, true),
        };
        if let Some(effect) = effect {
            model.pending.push(effect);
        }
        match result {
            Ok(()) => {
                if syncs || mode == Mode::Always {
                    model.synced_now();
                }
            }
            Err(e) => return (model, Some((e, Some(engine)))),
        }
    }
    match engine.close() {
        Ok(_) => {
            model.synced_now();
            (model, None)
        }
        Err(e) => (model, Some((e, None))),
    }
}

fn check(kind: Kind, mode: Mode, model: &Model, label: &str) {
    let engine =
        open(kind, mode).unwrap_or_else(|e| panic!("{label}: the store does not open: {e}"));
    let mut got = HashMap::new();
    for k in 0..8u8 {
        let value = engine
            .get(&key(k), NOW)
            .unwrap_or_else(|e| panic!("{label}: get key-{k}: {e}"))
            .map(|v| v.bytes);
        got.insert(k, value);
    }
    let matches = |n: usize| {
        let state = model.after(n);
        (0..8u8).all(|k| got[&k] == state.get(&k).copied().flatten().map(|v| value(k, v)))
    };
    let found = (0..=model.pending.len()).any(matches);
    // The store must also survive what comes after the first open: a close
    // (which may rewrite the hint or snapshot), a full replay without the
    // hint, and a verify that finds no corruption (torn tails are notes).
    engine
        .close()
        .unwrap_or_else(|e| panic!("{label}: closing after recovery: {e}"));
    if kind == Kind::Bitcask {
        let full = Bitcask::open(
            Path::new(DIR),
            BitcaskOptions {
                sync: SyncPolicy::Always,
                max_file_size: 1024,
                writable: false,
                use_hint: false,
                replay: true,
                preallocate_step: 4096,
            },
            clock(),
        );
        assert!(
            full.is_ok(),
            "{label}: a full replay fails: {:?}",
            full.err()
        );
    }
    let report = verify(kind).unwrap_or_else(|e| panic!("{label}: verify: {e}"));
    let corrupt: Vec<_> = report.problems.iter().filter(|p| p.corruption).collect();
    assert!(
        corrupt.is_empty(),
        "{label}: verify finds corruption: {corrupt:?}"
    );
    assert!(
        found,
        "{label}: the store holds {:?}, which is not the synced state plus a prefix of {:?} (synced: {:?})",
        got.iter()
            .map(|(k, g)| (
                *k,
                g.as_ref().map(|g| String::from_utf8_lossy(g).into_owned())
            ))
            .collect::<std::collections::BTreeMap<_, _>>(),
        model.pending,
        model.synced,
    );
}

/// Verifies the store as `hoard verify` does (without replaying it).
fn verify(kind: Kind) -> hoardhaven::Result<hoardhaven::verify::VerifyReport> {
    let dir = Path::new(DIR);
    match kind {
        Kind::Bitcask => Bitcask::open(
            dir,
            BitcaskOptions {
                sync: SyncPolicy::Always,
                max_file_size: 1024,
                writable: false,
                use_hint: true,
                replay: false,
                preallocate_step: 4096,
            },
            clock(),
        )?
        .verify(&mut |_, _| {}),
        Kind::Memory => Memory::open(
            dir,
            MemoryOptions {
                sync: SyncPolicy::Always,
                writable: false,
                load: false,
                preallocate_step: 4096,
            },
            clock(),
        )?
        .verify(&mut |_, _| {}),
    }
}

fn fresh_fs() -> SimFs {
    let sim = SimFs::new();
    fs::with_vfs(Arc::new(sim.clone()), || {
        fs::create_dir_private(Path::new("/")).ok();
        fs::create_dir_private(Path::new(DIR)).unwrap();
    });
    sim
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn power_loss_at_every_sync_point(kind: Kind, mode: Mode) {
    let seeds = env_u64("HOARD_POWERLOSS_SEEDS", 3);
    let mut crashes = 0;
    for workload_seed in [11u64, 12] {
        let ops = workload(workload_seed);
        let sim = fresh_fs();
        let (_, failure) = fs::with_vfs(Arc::new(sim.clone()), || run(kind, mode, &ops));
        if let Some((e, _)) = failure {
            panic!("the workload fails without faults: {e}");
        }
        let (_, syncs) = sim.counts();
        assert!(
            syncs > 10,
            "the workload should sync often, synced {syncs} times"
        );
        for k in 1..=syncs {
            let sim = fresh_fs();
            sim.crash_at_sync(k);
            let (model, failure) = fs::with_vfs(Arc::new(sim.clone()), || run(kind, mode, &ops));
            assert!(
                failure.is_some() && sim.crashed(),
                "sync {k} was never reached"
            );
            for seed in 0..seeds {
                let after = sim.power_loss(seed * 7919 + k);
                let label = format!(
                    "{kind:?} {mode:?} workload {workload_seed}, crash at sync {k}/{syncs}, power-loss seed {seed}"
                );
                fs::with_vfs(Arc::new(after), || check(kind, mode, &model, &label));
                crashes += 1;
            }
        }
    }
    eprintln!("{kind:?} {mode:?}: {crashes} simulated crashes checked, no acknowledged write lost");
}

fn io_error_at_every_operation(kind: Kind) {
    let mut injected = 0;
    let ops = workload(21);
    let sim = fresh_fs();
    let (before, _) = sim.counts();
    fs::with_vfs(Arc::new(sim.clone()), || run(kind, Mode::Always, &ops));
    let total = sim.counts().0 - before;
    for errno in [5, 28] {
        for n in 1..=total {
            let sim = fresh_fs();
            sim.fail_operation(n, errno);
            let label = format!("{kind:?}: operation {n}/{total} fails with errno {errno}");
            let (model, failure) =
                fs::with_vfs(Arc::new(sim.clone()), || run(kind, Mode::Always, &ops));
            let Some((error, engine)) = failure else {
                panic!("{label}: no operation failed");
            };
            assert_eq!(error.exit_code(), 5, "{label}: {error}");
            if let Some(engine) = engine
                && sim.failed_a_sync()
            {
                sim.heal();
                let again = fs::with_vfs(Arc::new(sim.clone()), || {
                    engine.put(b"key-0", b"retry", None)
                });
                assert!(
                    again.is_err(),
                    "{label}: a write after a failed sync was accepted"
                );
            }
            sim.heal();
            // A restart on the same disk (no power loss): every acknowledged write is there.
            fs::with_vfs(Arc::new(sim.clone()), || {
                check(kind, Mode::Always, &model, &label)
            });
            injected += 1;
        }
    }
    eprintln!("{kind:?}: {injected} injected I/O errors checked, no acknowledged write lost");
}

#[test]
fn bitcask_survives_power_loss_at_every_sync_point() {
    power_loss_at_every_sync_point(Kind::Bitcask, Mode::Always);
}

#[test]
fn memory_survives_power_loss_at_every_sync_point() {
    power_loss_at_every_sync_point(Kind::Memory, Mode::Always);
}

#[test]
fn bitcask_survives_power_loss_under_never_interval_and_a_bulk_load() {
    for mode in [Mode::Never, Mode::Interval, Mode::Bulk] {
        power_loss_at_every_sync_point(Kind::Bitcask, mode);
    }
}

#[test]
fn memory_survives_power_loss_under_never_interval_and_a_bulk_load() {
    for mode in [Mode::Never, Mode::Interval, Mode::Bulk] {
        power_loss_at_every_sync_point(Kind::Memory, mode);
    }
}

#[test]
fn bitcask_survives_an_io_error_at_every_operation() {
    io_error_at_every_operation(Kind::Bitcask);
}

#[test]
fn memory_survives_an_io_error_at_every_operation() {
    io_error_at_every_operation(Kind::Memory);
}

/// Opens the store in `DIR` for reading as its manifest says and returns
/// every live key's value.
fn contents() -> hoardhaven::Result<std::collections::BTreeMap<Vec<u8>, Vec<u8>>> {
    let dir = Path::new(DIR);
    let manifest = hoardhaven::Manifest::read(dir)?;
    let engine: Engine = match manifest.engine {
        hoardhaven::EngineKind::Bitcask => Engine::Bitcask(Bitcask::open(
            dir,
            BitcaskOptions {
                sync: manifest.sync,
                max_file_size: manifest.max_file_size,
                writable: false,
                use_hint: true,
                replay: true,
                // Small steps keep the simulated disk small; the rules are the same.
                preallocate_step: 4096,
            },
            clock(),
        )?),
        hoardhaven::EngineKind::Memory => Engine::Memory(Memory::open(
            dir,
            MemoryOptions {
                sync: manifest.sync,
                writable: false,
                load: true,
                preallocate_step: 4096,
            },
            clock(),
        )?),
    };
    let mut out = std::collections::BTreeMap::new();
    for key in engine.keys(b"", NOW)? {
        let value = engine.get(&key, NOW)?.expect("listed key").bytes;
        out.insert(key, value);
    }
    Ok(out)
}

/// A simulated disk holding the format-1 fixture store of `engine`, durably.
fn format1_fixture_fs(engine: &str) -> SimFs {
    let sim = fresh_fs();
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/format1")
        .join(engine);
    fs::with_vfs(Arc::new(sim.clone()), || {
        for entry in std::fs::read_dir(&from).unwrap() {
            let path = entry.unwrap().path();
            let to = Path::new(DIR).join(path.file_name().unwrap());
            let file = fs::create_new_private(&to).unwrap();
            fs::write_all_at(&file, &to, &std::fs::read(&path).unwrap(), 0).unwrap();
            fs::sync_data(&file, &to).unwrap();
        }
        fs::sync_dir(Path::new(DIR)).unwrap();
    });
    sim
}

#[test]
fn upgrade_survives_power_loss_at_every_sync_point() {
    let seeds = env_u64("HOARD_POWERLOSS_SEEDS", 3);
    for engine in ["bitcask", "memory"] {
        let sim = format1_fixture_fs(engine);
        let (_, before) = sim.counts();
        let expected = fs::with_vfs(Arc::new(sim.clone()), || {
            hoardhaven::upgrade::upgrade_locked(Path::new(DIR), NOW).unwrap();
            contents().unwrap()
        });
        assert!(expected.len() > 20, "{engine}: the fixture holds data");
        let syncs = sim.counts().1 - before;
        for k in 1..=syncs {
            let sim = format1_fixture_fs(engine);
            sim.crash_at_sync(k);
            let result = fs::with_vfs(Arc::new(sim.clone()), || {
                hoardhaven::upgrade::upgrade_locked(Path::new(DIR), NOW)
            });
            assert!(
                result.is_err() && sim.crashed(),
                "{engine}: sync {k} was never reached"
            );
            for seed in 0..seeds {
                let label = format!("{engine}: upgrade crashed at sync {k}/{syncs}, seed {seed}");
                let after = sim.power_loss(seed * 7919 + k);
                fs::with_vfs(Arc::new(after), || {
                    // In one format or the other; `upgrade` finishes the job.
                    let version = hoardhaven::Manifest::read(Path::new(DIR))
                        .unwrap_or_else(|e| panic!("{label}: manifest: {e}"))
                        .format_version;
                    assert!(version == 1 || version == 2, "{label}: format {version}");
                    hoardhaven::upgrade::upgrade_locked(Path::new(DIR), NOW)
                        .unwrap_or_else(|e| panic!("{label}: upgrade again: {e}"));
                    let got = contents().unwrap_or_else(|e| panic!("{label}: open: {e}"));
                    assert_eq!(got, expected, "{label}");
                });
            }
        }
    }
}

#[test]
fn repair_survives_power_loss_at_every_sync_point() {
    let seeds = env_u64("HOARD_POWERLOSS_SEEDS", 3);
    let options = |writable, replay| BitcaskOptions {
        sync: SyncPolicy::Always,
        max_file_size: 1024,
        writable,
        use_hint: true,
        replay,
        preallocate_step: 4096,
    };
    let build = || {
        let sim = fresh_fs();
        fs::with_vfs(Arc::new(sim.clone()), || {
            let manifest = hoardhaven::Manifest {
                sync: SyncPolicy::Always,
                max_file_size: 1024,
                ..hoardhaven::Manifest::new(hoardhaven::EngineKind::Bitcask, NOW)
            };
            manifest.write(Path::new(DIR)).unwrap();
            let engine = Bitcask::open(Path::new(DIR), options(true, true), clock()).unwrap();
            for k in 0..8u8 {
                engine.put(&key(k), &value(k, 4), None).unwrap();
            }
            engine.close().unwrap();
            // Damage key-1's value in the oldest data file, durably.
            let path = Path::new(DIR).join("0000000001-00000.data");
            let file = fs::open_read_write(&path).unwrap();
            let mut bytes = fs::read_all(&file, &path).unwrap();
            let at = bytes
                .windows(9)
                .position(|w| w == b"value-1-4")
                .expect("key-1 is in the oldest file");
            bytes[at + 2] ^= 0x01;
            fs::write_all_at(&file, &path, &bytes, 0).unwrap();
            fs::sync_data(&file, &path).unwrap();
        });
        sim
    };
    let repair = || -> hoardhaven::Result<()> {
        let engine = Bitcask::open(Path::new(DIR), options(true, false), clock())?;
        engine.repair(NOW, false)?;
        engine.close().map(drop)
    };
    let sim = build();
    let (_, before) = sim.counts();
    fs::with_vfs(Arc::new(sim.clone()), || repair().unwrap());
    let syncs = sim.counts().1 - before;
    assert!(syncs > 3, "repair syncs {syncs} times");
    for k in 1..=syncs {
        let sim = build();
        sim.crash_at_sync(k);
        let result = fs::with_vfs(Arc::new(sim.clone()), repair);
        assert!(
            result.is_err() && sim.crashed(),
            "sync {k} was never reached"
        );
        for seed in 0..seeds {
            let label = format!("repair crashed at sync {k}/{syncs}, seed {seed}");
            let after = sim.power_loss(seed * 7919 + k);
            fs::with_vfs(Arc::new(after), || {
                // Each file is its original or its whole rewrite, and no
                // hint misleads: a second repair finishes, and every intact
                // record is there with its exact value.
                repair().unwrap_or_else(|e| panic!("{label}: repair again: {e}"));
                let got = contents().unwrap_or_else(|e| panic!("{label}: open: {e}"));
                for k in (0..8u8).filter(|k| *k != 1) {
                    assert_eq!(got.get(&key(k)), Some(&value(k, 4)), "{label}: key-{k}");
                }
                assert!(
                    !got.contains_key(&key(1)),
                    "{label}: the damaged record came back"
                );
            });
        }
    }
}
