//! `hoard bench`: built-in workloads run through the public `Store` API,
//! timed per operation into an HDR histogram. Returns figures; never prints.
//!
//! Keys are `key_size` bytes (filler then 8 bytes of a bijective hash of
//! the key's number, so they are unique and spread), values `value_size`
//! bytes of a pattern derived from the number, so every read can be checked.
//!
//! `read`, `mixed` and `durable` run once per thread count: that many
//! threads share one open `Store`, each doing its share of the operations
//! and timing them into its own histogram; the histograms are merged and
//! the wall time runs from the moment all threads are released to the end
//! of the last one. `load`, `overwrite` and `open` run on one thread.
//!
//! `load`, `overwrite` and `read` one at a time (`--batch 1`) time one
//! operation in `SAMPLE_EVERY`, alone between two clock reads, and count
//! it for `SAMPLE_EVERY` in the histogram: their operations take a few
//! hundred nanoseconds, and a clock read and a histogram entry for every
//! one of them cost 5-6% of a load (`perf record`: `clock_gettime` 4.7%,
//! the histogram 1%), which peers' loops such as tkrzw_dbm_perf's do not
//! pay. A uniform sample of 1 in 16 keeps the percentiles (a 1M-key run
//! still times 62,500 operations). Other workloads time every operation
//! alone.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::clock::SystemClock;
use crate::error::{Error, Result};
use crate::manifest::{EngineKind, SyncPolicy};
use crate::store::{Access, InitOptions, OpenOptions, PutOptions, Store};

/// A workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// N puts of distinct keys, one sync at the end.
    Load,
    /// N gets in shuffled order, each value checked.
    Read,
    /// N operations, 90% get and 10% put.
    Mixed,
    /// Every key overwritten, then a snapshot of the open store (memory),
    /// or the store closed and an offline merge timed with its open, as
    /// `hoard merge` does it (bitcask).
    Overwrite,
    /// Puts each acknowledged after its fdatasync.
    Durable,
    /// A fresh `hoard get` process: open the store and read one key.
    Open,
    /// Every key overwritten, then puts timed quiet and again while a
    /// background merge (bitcask) or snapshot (memory) runs.
    Background,
}

impl Workload {
    /// Parses a workload's name.
    pub fn parse(name: &str) -> Option<Workload> {
        Some(match name {
            "load" => Workload::Load,
            "read" => Workload::Read,
            "mixed" => Workload::Mixed,
            "overwrite" => Workload::Overwrite,
            "durable" => Workload::Durable,
            "open" => Workload::Open,
            "background" => Workload::Background,
            _ => return None,
        })
    }

    /// The workload's name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Load => "load",
            Workload::Read => "read",
            Workload::Mixed => "mixed",
            Workload::Overwrite => "overwrite",
            Workload::Durable => "durable",
            Workload::Open => "open",
            Workload::Background => "background",
        }
    }

    /// Whether the workload runs once per thread count of `BenchConfig::threads`.
    pub fn is_threaded(self) -> bool {
        matches!(self, Workload::Read | Workload::Mixed | Workload::Durable)
    }
}

/// Durable puts each writer does (at most `BenchConfig::keys` in all): fsync
/// bound, so bounded, but enough per writer for many writers to reach a
/// steady state.
pub const DURABLE_OPS_PER_WRITER: u64 = 2000;

/// Threads a threaded workload may use.
pub const THREADS_MAX: usize = 1024;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The engine.
    pub engine: EngineKind,
    /// Number of keys.
    pub keys: u64,
    /// Bytes per key (at least 8).
    pub key_size: usize,
    /// Bytes per value.
    pub value_size: usize,
    /// Workloads, in order (`load` runs first when another needs data).
    pub workloads: Vec<Workload>,
    /// Directory to create the stores in (must be empty).
    pub dir: PathBuf,
    /// The `hoard` executable, for the `open` workload.
    pub hoard: PathBuf,
    /// Thread counts (1..=`THREADS_MAX`): `read`, `mixed` and `durable` run
    /// once for each, in this order; empty means `[1]`.
    pub threads: Vec<usize>,
    /// Keys per `get_many` call in `read` (1: one `get` per key).
    pub batch: usize,
}

/// Latency percentiles in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Maximum.
    pub max_ns: u64,
}

/// The figures of one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadResult {
    /// Which workload.
    pub workload: Workload,
    /// Threads that shared the operations (1 for `load`, `overwrite`, `open`).
    pub threads: usize,
    /// Operations performed, by all threads together.
    pub ops: u64,
    /// Wall time.
    pub seconds: f64,
    /// Key and value bytes moved.
    pub bytes: u64,
    /// Per-operation latency, across all threads.
    pub latency: Latency,
    /// fdatasyncs done while the workload ran (`durable` only): group
    /// commit makes them fewer than the puts when writers overlap.
    pub syncs: Option<u64>,
    /// Extra figures (name, value), e.g. bytes before and after a merge.
    pub notes: Vec<(String, String)>,
}

impl WorkloadResult {
    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.seconds.max(1e-9)
    }

    /// MB (10^6 bytes) per second of key and value bytes.
    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds.max(1e-9)
    }

    /// Operations per fdatasync, when syncs were counted and there were any.
    pub fn ops_per_sync(&self) -> Option<f64> {
        self.syncs
            .filter(|s| *s > 0)
            .map(|s| self.ops as f64 / s as f64)
    }
}

/// Everything a bench run measured for one engine.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// The engine.
    pub engine: EngineKind,
    /// One result per workload run.
    pub results: Vec<WorkloadResult>,
    /// Bytes of the main store's files at the end.
    pub disk_bytes: u64,
    /// Peak resident memory of this process so far.
    pub peak_rss_bytes: u64,
}

fn mix(i: u64) -> u64 {
    // splitmix64: a bijection, so distinct numbers give distinct keys.
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Key number `i`.
pub fn key_of(i: u64, key_size: usize, out: &mut Vec<u8>) {
    out.clear();
    out.resize(key_size - 8, b'k');
    out.extend_from_slice(&mix(i).to_le_bytes());
}

/// Value of key `i` in round `round`.
pub fn value_of(i: u64, round: u64, value_size: usize, out: &mut Vec<u8>) {
    out.clear();
    let mut x = mix(i ^ (round << 48)) | 1;
    while out.len() < value_size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes();
        let n = (value_size - out.len()).min(8);
        out.extend_from_slice(&bytes[..n]);
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 ns to an hour, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
}

fn record(histogram: &mut Histogram<u64>, took: Duration) {
    let _ = histogram.record((took.as_nanos() as u64).max(1));
}

/// Runs operation number `i`, timing it into `histogram` if it is one of
/// the sample (see the module doc); also says whether it was.
fn sample<T>(
    histogram: &mut Histogram<u64>,
    i: u64,
    op: impl FnOnce() -> Result<T>,
) -> Result<(T, bool)> {
    if !i.is_multiple_of(SAMPLE_EVERY) {
        return Ok((op()?, false));
    }
    let start = Instant::now();
    let done = op()?;
    let _ = histogram.record_n((start.elapsed().as_nanos() as u64).max(1), SAMPLE_EVERY);
    Ok((done, true))
}

fn result_of(
    workload: Workload,
    threads: usize,
    ops: u64,
    bytes: u64,
    h: &Histogram<u64>,
    seconds: f64,
) -> WorkloadResult {
    WorkloadResult {
        workload,
        threads,
        ops,
        seconds,
        bytes,
        latency: Latency {
            p50_ns: h.value_at_quantile(0.5),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
        },
        syncs: None,
        notes: Vec::new(),
    }
}

struct Timer {
    histogram: Histogram<u64>,
    start: Instant,
}

impl Timer {
    fn new() -> Timer {
        Timer {
            histogram: new_histogram(),
            start: Instant::now(),
        }
    }

    /// Runs operation number `i`, timing it if it is one of the sample
    /// (see the module doc).
    fn sample<T>(&mut self, i: u64, op: impl FnOnce() -> Result<T>) -> Result<T> {
        Ok(sample(&mut self.histogram, i, op)?.0)
    }

    fn record(&mut self, took: Duration) {
        record(&mut self.histogram, took);
    }

    fn finish(self, workload: Workload, ops: u64, bytes: u64) -> WorkloadResult {
        let seconds = self.start.elapsed().as_secs_f64();
        result_of(workload, 1, ops, bytes, &self.histogram, seconds)
    }
}

/// One operation in this many is timed in the loops of a few hundred
/// nanoseconds an operation (see the module doc).
const SAMPLE_EVERY: u64 = 16;

/// Operations a thread does before it adds them to the shared progress count.
const PROGRESS_STEP: u64 = 4096;

/// How often the calling thread reports progress while workers run.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);

/// One thread of a threaded workload: its own histogram (merged at the
/// end), its share of the progress count, and the flag that stops it when
/// another thread failed.
struct Worker<'a> {
    histogram: Histogram<u64>,
    done: &'a AtomicU64,
    stop: &'a AtomicBool,
    unreported: u64,
}

impl Worker<'_> {
    fn record(&mut self, took: Duration) {
        self.record_batch(took, 1);
    }

    /// `ops` operations done together in `took`: each is given an equal share.
    fn record_batch(&mut self, took: Duration, ops: usize) {
        let each = (took.as_nanos() as u64 / ops as u64).max(1);
        let _ = self.histogram.record_n(each, ops as u64);
        self.count(ops as u64);
    }

    /// Adds `ops` done operations to the shared progress count, a step at a time.
    fn count(&mut self, ops: u64) {
        self.unreported += ops;
        if self.unreported >= PROGRESS_STEP {
            self.done.fetch_add(self.unreported, Ordering::Relaxed);
            self.unreported = 0;
        }
    }

    /// Runs operation number `i` of this thread, timing it if it is one
    /// of the sample (see the module doc); each sampled one counts the
    /// `SAMPLE_EVERY` operations it stands for towards progress.
    fn sample<T>(&mut self, i: u64, op: impl FnOnce() -> Result<T>) -> Result<T> {
        let (done, timed) = sample(&mut self.histogram, i, op)?;
        if timed {
            self.count(SAMPLE_EVERY);
        }
        Ok(done)
    }

    /// Another thread failed: give up, the run's result is its error.
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Thread `thread`'s share of `total` operations numbered from 0, split
/// into `threads` contiguous ranges whose lengths differ by at most one.
fn share(total: u64, threads: usize, thread: usize) -> std::ops::Range<u64> {
    let part = |t: usize| (total as u128 * t as u128 / threads as u128) as u64;
    part(thread)..part(thread + 1)
}

/// Runs `work(thread, worker)` on `threads` threads at once and merges
/// their latencies. The clock starts when every thread is ready and stops
/// when the last one is done; meanwhile this thread reports progress.
fn run_threads(
    dir: &Path,
    label: &str,
    threads: usize,
    ops: u64,
    progress: &mut dyn FnMut(&str, u64, u64),
    work: impl Fn(usize, &mut Worker<'_>) -> Result<()> + Sync,
) -> Result<(Histogram<u64>, f64)> {
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    // The start line: held for writing until every thread is spawned, so
    // they all begin together; a thread waits by taking it for reading.
    let start_line = RwLock::new(());
    std::thread::scope(|scope| {
        let held = start_line.write().unwrap_or_else(|e| e.into_inner());
        let mut handles = Vec::with_capacity(threads);
        for thread in 0..threads {
            let (work, done, stop, start_line) = (&work, &done, &stop, &start_line);
            let spawned = std::thread::Builder::new()
                .name(format!("bench-{thread}"))
                .spawn_scoped(scope, move || {
                    let mut worker = Worker {
                        histogram: new_histogram(),
                        done,
                        stop,
                        unreported: 0,
                    };
                    drop(start_line.read().unwrap_or_else(|e| e.into_inner()));
                    let result = work(thread, &mut worker);
                    let finished = Instant::now();
                    if result.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    result.map(|()| (worker.histogram, finished))
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // The threads already started stop at once.
                    stop.store(true, Ordering::Relaxed);
                    return Err(Error::io("start a benchmark thread on", dir, e));
                }
            }
        }
        let start = Instant::now();
        drop(held);
        while !handles.iter().all(|h| h.is_finished()) {
            progress(label, done.load(Ordering::Relaxed), ops);
            std::thread::sleep(PROGRESS_INTERVAL);
        }
        let mut merged = new_histogram();
        let mut end = start;
        let mut failed = None;
        for handle in handles {
            match handle.join() {
                Ok(Ok((histogram, finished))) => {
                    merged
                        .add(&histogram)
                        .expect("histograms of the same bounds add up");
                    end = end.max(finished);
                }
                Ok(Err(e)) => {
                    failed.get_or_insert(e);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok((merged, end.duration_since(start).as_secs_f64())),
        }
    })
}

/// The progress label of a workload run on `threads` threads.
fn label(workload: Workload, threads: usize) -> String {
    match threads {
        1 => workload.name().to_string(),
        n => format!("{} x{n}", workload.name()),
    }
}

fn read_back_wrong(i: u64) -> Error {
    Error::InvalidInput(format!("bench: key number {i} read back wrong"))
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Peak resident memory of this process (VmHWM), in bytes.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn create(dir: &Path, engine: EngineKind, sync: SyncPolicy) -> Result<()> {
    let init = InitOptions {
        engine,
        sync,
        ..InitOptions::default()
    };
    Store::create(dir, &init, &SystemClock)
}

fn open(dir: &Path, access: Access) -> Result<Store> {
    Store::open(dir, &OpenOptions::new(access))
}

/// Runs the configured workloads; `progress(label, done, total)` reports progress.
pub fn run(config: &BenchConfig, progress: &mut dyn FnMut(&str, u64, u64)) -> Result<BenchReport> {
    if config.key_size < 8 {
        return Err(Error::InvalidInput(
            "bench keys must be at least 8 bytes".to_string(),
        ));
    }
    if let Some(bad) = config
        .threads
        .iter()
        .find(|t| !(1..=THREADS_MAX).contains(*t))
    {
        return Err(Error::InvalidInput(format!(
            "bench threads must be between 1 and {THREADS_MAX}, not {bad}"
        )));
    }
    let thread_counts: &[usize] = if config.threads.is_empty() {
        &[1]
    } else {
        &config.threads
    };
    let n = config.keys.max(1);
    let store_dir = config.dir.join(config.engine.to_string());
    create(&store_dir, config.engine, SyncPolicy::Always)?;
    let mut results = Vec::new();
    let mut key = Vec::with_capacity(config.key_size);
    let mut value = Vec::with_capacity(config.value_size);
    let entry_bytes = (config.key_size + config.value_size) as u64;
    let needs_data = config.workloads.iter().any(|w| *w != Workload::Durable);
    let mut loaded = false;
    let mut round = 0;
    for workload in &config.workloads {
        if !loaded && needs_data && *workload != Workload::Load && *workload != Workload::Durable {
            results.push(load(config, &store_dir, n, &mut key, &mut value, progress)?);
            loaded = true;
        }
        if workload.is_threaded() {
            for &threads in thread_counts {
                let result = match workload {
                    Workload::Read => read(config, &store_dir, n, round, threads, progress)?,
                    Workload::Mixed => mixed(config, &store_dir, n, round, threads, progress)?,
                    Workload::Durable => durable(config, n, threads, progress)?,
                    Workload::Load
                    | Workload::Overwrite
                    | Workload::Open
                    | Workload::Background => {
                        unreachable!("{} runs on one thread", workload.name())
                    }
                };
                results.push(result);
            }
            continue;
        }
        if *workload == Workload::Background {
            round += 1;
            results.extend(background(config, &store_dir, n, round, progress)?);
            continue;
        }
        let result = match workload {
            Workload::Load => {
                loaded = true;
                load(config, &store_dir, n, &mut key, &mut value, progress)?
            }
            Workload::Overwrite => {
                round += 1;
                let store = open(&store_dir, Access::Write)?;
                store.defer_sync(true);
                let mut timer = Timer::new();
                for i in 0..n {
                    key_of(i, config.key_size, &mut key);
                    value_of(i, round, config.value_size, &mut value);
                    timer.sample(i, || store.put(&key, &value, PutOptions::default()))?;
                    if i % 65536 == 0 {
                        progress("overwrite", i, n);
                    }
                }
                store.sync()?;
                let mut result = timer.finish(Workload::Overwrite, n, n * entry_bytes);
                let bitcask = store.bitcask().is_some();
                let mut store = Some(store);
                if bitcask {
                    // An offline merge is `hoard merge` on a closed store:
                    // the open it does is timed with it.
                    store.take().expect("open").close()?;
                }
                let before = dir_bytes(&store_dir);
                let start = Instant::now();
                let store = match store {
                    Some(store) => store,
                    None => open(&store_dir, Access::Write)?,
                };
                let now = crate::clock::Clock::now_ms(&SystemClock);
                let label = if let Some(bitcask) = store.bitcask() {
                    let report =
                        bitcask.merge(now, &mut |done, total| progress("merge", done, total))?;
                    result
                        .notes
                        .push(("live bytes rewritten".into(), report.live_bytes.to_string()));
                    result
                        .notes
                        .push(("hint bytes".into(), report.hint_bytes.to_string()));
                    "merge"
                } else {
                    store.memory().expect("memory engine").snapshot(now)?;
                    "snapshot"
                };
                let took = start.elapsed().as_secs_f64();
                store.close()?;
                let after = dir_bytes(&store_dir);
                result
                    .notes
                    .push(("bytes before".into(), before.to_string()));
                result.notes.push(("bytes after".into(), after.to_string()));
                result
                    .notes
                    .push((format!("{label} seconds"), format!("{took:.3}")));
                result
            }
            Workload::Open => {
                let runs = 21;
                let mut timer = Timer::new();
                let mut times = Vec::new();
                key_of(n / 2, config.key_size, &mut key);
                let arg =
                    <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&key).to_owned();
                for run in 0..runs + 3 {
                    let start = Instant::now();
                    let out = std::process::Command::new(&config.hoard)
                        .arg("-q")
                        .arg("-d")
                        .arg(&store_dir)
                        .arg("get")
                        .arg("--")
                        .arg(&arg)
                        .output()
                        .map_err(|e| Error::io("run", &config.hoard, e))?;
                    let took = start.elapsed();
                    if !out.status.success() {
                        return Err(Error::InvalidInput(format!(
                            "bench: `hoard get` failed: {}",
                            String::from_utf8_lossy(&out.stderr)
                        )));
                    }
                    if run >= 3 {
                        timer.record(took);
                        times.push(took.as_secs_f64());
                    }
                    progress("open", run as u64, runs as u64 + 3);
                }
                times.sort_by(f64::total_cmp);
                let mut result = timer.finish(Workload::Open, runs as u64, 0);
                result.notes.push((
                    "median ms".into(),
                    format!("{:.3}", times[times.len() / 2] * 1000.0),
                ));
                result
            }
            Workload::Read | Workload::Mixed | Workload::Durable | Workload::Background => {
                unreachable!("run above")
            }
        };
        results.push(result);
    }
    Ok(BenchReport {
        engine: config.engine,
        results,
        disk_bytes: dir_bytes(&store_dir),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Puts timed in each phase of `background` (fewer when there are fewer keys).
const BACKGROUND_PUTS: u64 = 20_000;

/// `background`: every key overwritten in one bulk load (so a merge has
/// dead bytes to reclaim), then puts under the store's policy timed twice:
/// with nothing else running, and while another thread merges every
/// sealed file online (bitcask) or writes a snapshot (memory). Two rows.
fn background(
    config: &BenchConfig,
    store_dir: &Path,
    n: u64,
    round: u64,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<Vec<WorkloadResult>> {
    let store = open(store_dir, Access::Write)?;
    let mut key = Vec::with_capacity(config.key_size);
    let mut value = Vec::with_capacity(config.value_size);
    store.defer_sync(true);
    for i in 0..n {
        key_of(i, config.key_size, &mut key);
        value_of(i, round, config.value_size, &mut value);
        store.put(&key, &value, PutOptions::default())?;
        if i % 65536 == 0 {
            progress("background: overwrite", i, n);
        }
    }
    store.sync()?;
    store.defer_sync(false);
    let entry_bytes = (config.key_size + config.value_size) as u64;
    let puts = n.min(BACKGROUND_PUTS);
    let mut next = 0u64;
    let mut put_one = |timer: &mut Timer| -> Result<()> {
        let i = next % n;
        next += 1;
        key_of(i, config.key_size, &mut key);
        value_of(i, round + 1, config.value_size, &mut value);
        let start = Instant::now();
        store.put(&key, &value, PutOptions::default())?;
        timer.record(start.elapsed());
        Ok(())
    };
    let mut quiet = Timer::new();
    for done in 0..puts {
        put_one(&mut quiet)?;
        if done % 1024 == 0 {
            progress("background: quiet puts", done, puts);
        }
    }
    let mut quiet = quiet.finish(Workload::Background, puts, puts * entry_bytes);
    quiet.notes.push(("phase".into(), "quiet".into()));

    // Everything sealed is merged, whatever its dead share.
    let all = crate::bitcask::MergePolicy {
        fragmentation: 0.0,
        dead_bytes: 0,
        trigger_fragmentation: 0.0,
        trigger_dead_bytes: 0,
    };
    let now = crate::clock::Clock::now_ms(&SystemClock);
    let running = AtomicBool::new(true);
    let mut during = Timer::new();
    let mut during_puts = 0u64;
    let rss_before = peak_rss_bytes();
    let (what, took, detail) = std::thread::scope(|s| -> Result<_> {
        let maintenance = s.spawn(|| -> Result<(&'static str, f64, String)> {
            let start = Instant::now();
            let detail = match (store.bitcask(), store.memory()) {
                (Some(bitcask), _) => {
                    let report = bitcask.merge_online(now, &all)?;
                    let live = report.map_or(0, |r| r.live_bytes);
                    format!("{live} live bytes copied")
                }
                (None, Some(memory)) => {
                    memory.snapshot(now)?;
                    format!(
                        "{} bytes copied at most at once",
                        memory.snapshot_peak_copy_bytes()
                    )
                }
                (None, None) => unreachable!("a store has an engine"),
            };
            running.store(false, Ordering::Release);
            let what = if store.bitcask().is_some() {
                "merge"
            } else {
                "snapshot"
            };
            Ok((what, start.elapsed().as_secs_f64(), detail))
        });
        // Puts for as long as the maintenance runs (at least a few).
        while running.load(Ordering::Acquire) || during_puts < 16 {
            put_one(&mut during)?;
            during_puts += 1;
            if during_puts.is_multiple_of(1024) {
                progress("background: puts during maintenance", during_puts, puts);
            }
        }
        maintenance.join().expect("maintenance thread")
    })?;
    let mut during = during.finish(Workload::Background, during_puts, during_puts * entry_bytes);
    during
        .notes
        .push(("phase".into(), format!("during {what}")));
    during
        .notes
        .push((format!("{what} seconds"), format!("{took:.3}")));
    during.notes.push((what.into(), detail));
    during.notes.push((
        "peak RSS growth".into(),
        peak_rss_bytes().saturating_sub(rss_before).to_string(),
    ));
    store.close()?;
    Ok(vec![quiet, during])
}

/// `read`: every key once, in one shuffled order cut into a contiguous
/// share per thread, each value checked; the store opened for reading.
fn read(
    config: &BenchConfig,
    store_dir: &Path,
    n: u64,
    round: u64,
    threads: usize,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<WorkloadResult> {
    let store = open(store_dir, Access::Read)?;
    let mut order: Vec<u64> = (0..n).collect();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in (1..order.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let label = label(Workload::Read, threads);
    let (histogram, seconds) =
        run_threads(store_dir, &label, threads, n, progress, |thread, worker| {
            let mut key = Vec::with_capacity(config.key_size);
            let mut value = Vec::with_capacity(config.value_size);
            let part = share(n, threads, thread);
            let mine = &order[part.start as usize..part.end as usize];
            if config.batch > 1 {
                let mut keys: Vec<Vec<u8>> = Vec::with_capacity(config.batch);
                for batch in mine.chunks(config.batch) {
                    if worker.stopped() {
                        break;
                    }
                    keys.resize_with(batch.len(), Vec::new);
                    for (key, &i) in keys.iter_mut().zip(batch) {
                        key_of(i, config.key_size, key);
                    }
                    let start = Instant::now();
                    let got = store.get_many(&keys)?;
                    worker.record_batch(start.elapsed(), batch.len());
                    for (got, &i) in got.iter().zip(batch) {
                        value_of(i, round, config.value_size, &mut value);
                        if got.as_ref().map(|v| &v.bytes) != Some(&value) {
                            return Err(read_back_wrong(i));
                        }
                    }
                }
                return Ok(());
            }
            // One get in SAMPLE_EVERY timed (see the module doc); every
            // value checked.
            for (n, &i) in (0u64..).zip(mine) {
                if worker.stopped() {
                    break;
                }
                key_of(i, config.key_size, &mut key);
                value_of(i, round, config.value_size, &mut value);
                let got = worker.sample(n, || store.get(&key))?;
                if got.as_ref().map(|v| &v.bytes) != Some(&value) {
                    return Err(read_back_wrong(i));
                }
            }
            Ok(())
        })?;
    store.close()?;
    let bytes = n * (config.key_size + config.value_size) as u64;
    let mut result = result_of(Workload::Read, threads, n, bytes, &histogram, seconds);
    if config.batch > 1 {
        result
            .notes
            .push(("keys per get_many".into(), config.batch.to_string()));
    }
    Ok(result)
}

/// `mixed`: n operations in all, each thread drawing keys from its own
/// xorshift sequence (thread 0's seed is the single-threaded run's), 10%
/// puts of the value the key already holds, so every get can be checked
/// whatever the interleaving; syncs deferred, as in a bulk load.
fn mixed(
    config: &BenchConfig,
    store_dir: &Path,
    n: u64,
    round: u64,
    threads: usize,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<WorkloadResult> {
    const SEED: u64 = 0x9e37_79b9;
    let store = open(store_dir, Access::Write)?;
    store.defer_sync(true);
    let label = label(Workload::Mixed, threads);
    let (histogram, seconds) =
        run_threads(store_dir, &label, threads, n, progress, |thread, worker| {
            let mut key = Vec::with_capacity(config.key_size);
            let mut value = Vec::with_capacity(config.value_size);
            // Never zero: a xorshift seeded with 0 stays 0.
            let mut x = match thread {
                0 => SEED,
                t => mix(SEED ^ ((t as u64) << 32)) | 1,
            };
            for _ in share(n, threads, thread) {
                if worker.stopped() {
                    break;
                }
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = x % n;
                key_of(i, config.key_size, &mut key);
                value_of(i, round, config.value_size, &mut value);
                let start = Instant::now();
                if x.is_multiple_of(10) {
                    store.put(&key, &value, PutOptions::default())?;
                    worker.record(start.elapsed());
                } else {
                    let got = store.get(&key)?;
                    worker.record(start.elapsed());
                    if got.as_ref().map(|v| &v.bytes) != Some(&value) {
                        return Err(read_back_wrong(i));
                    }
                }
            }
            Ok(())
        })?;
    store.sync()?;
    store.close()?;
    let bytes = n * (config.key_size + config.value_size) as u64;
    Ok(result_of(
        Workload::Mixed,
        threads,
        n,
        bytes,
        &histogram,
        seconds,
    ))
}

/// `durable`: puts of distinct keys into a fresh store under
/// `sync=always`, `DURABLE_OPS_PER_WRITER` per thread (at most n in all),
/// each acknowledged only after an fdatasync covers it; the fdatasyncs
/// done meanwhile are counted, to show group commit at work.
fn durable(
    config: &BenchConfig,
    n: u64,
    threads: usize,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<WorkloadResult> {
    let name = match threads {
        1 => format!("{}-durable", config.engine),
        t => format!("{}-durable-{t}", config.engine),
    };
    let durable_dir = config.dir.join(name);
    create(&durable_dir, config.engine, SyncPolicy::Always)?;
    let ops = n.min(DURABLE_OPS_PER_WRITER.saturating_mul(threads as u64));
    let store = open(&durable_dir, Access::Write)?;
    let syncs_before = store.sync_count();
    let label = label(Workload::Durable, threads);
    let (histogram, seconds) = run_threads(
        &durable_dir,
        &label,
        threads,
        ops,
        progress,
        |thread, worker| {
            let mut key = Vec::with_capacity(config.key_size);
            let mut value = Vec::with_capacity(config.value_size);
            for i in share(ops, threads, thread) {
                if worker.stopped() {
                    break;
                }
                key_of(i, config.key_size, &mut key);
                value_of(i, 0, config.value_size, &mut value);
                let start = Instant::now();
                store.put(&key, &value, PutOptions::default())?;
                worker.record(start.elapsed());
            }
            Ok(())
        },
    )?;
    let syncs = store.sync_count() - syncs_before;
    store.close()?;
    let bytes = ops * (config.key_size + config.value_size) as u64;
    let mut result = result_of(Workload::Durable, threads, ops, bytes, &histogram, seconds);
    result.syncs = Some(syncs);
    Ok(result)
}

fn load(
    config: &BenchConfig,
    store_dir: &Path,
    n: u64,
    key: &mut Vec<u8>,
    value: &mut Vec<u8>,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<WorkloadResult> {
    let mut timer = Timer::new();
    let store = open(store_dir, Access::Write)?;
    store.defer_sync(true);
    for i in 0..n {
        key_of(i, config.key_size, key);
        value_of(i, 0, config.value_size, value);
        timer.sample(i, || store.put(key, value, PutOptions::default()))?;
        if i % 65536 == 0 {
            progress("load", i, n);
        }
    }
    // The one sync of a bulk load, and the close (a bitcask writes its hint).
    store.sync()?;
    store.close()?;
    Ok(timer.finish(
        Workload::Load,
        n,
        n * (config.key_size + config.value_size) as u64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_operation_once_and_differ_by_at_most_one() {
        for total in [0, 1, 2, 7, 200, 20_000, u64::MAX / 3] {
            for threads in [1, 2, 3, 4, 8, 50, THREADS_MAX] {
                let parts: Vec<_> = (0..threads).map(|t| share(total, threads, t)).collect();
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts[threads - 1].end, total);
                for pair in parts.windows(2) {
                    assert_eq!(
                        pair[0].end, pair[1].start,
                        "{total} ops on {threads} threads"
                    );
                }
                let lens: Vec<u64> = parts.iter().map(|p| p.end - p.start).collect();
                let (min, max) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
                assert!(max - min <= 1, "{total} ops on {threads} threads: {lens:?}");
            }
        }
    }

    #[test]
    fn threaded_latencies_are_merged_and_a_failing_thread_fails_the_run() {
        let dir = std::env::temp_dir();
        let (histogram, seconds) = run_threads(&dir, "t", 4, 400, &mut |_, _, _| {}, |t, w| {
            for _ in share(400, 4, t) {
                w.record(Duration::from_nanos(1000 * (t as u64 + 1)));
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(histogram.len(), 400);
        assert!(histogram.max() >= 4000 && histogram.min() <= 1000);
        assert!(seconds >= 0.0);
        let failed = run_threads(&dir, "t", 3, 3, &mut |_, _, _| {}, |t, _| match t {
            1 => Err(Error::InvalidInput("thread 1 failed".into())),
            _ => Ok(()),
        });
        assert!(matches!(failed, Err(Error::InvalidInput(m)) if m == "thread 1 failed"));
    }
}
