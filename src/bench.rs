//! `hoard bench`: built-in workloads run through the public `Store` API,
//! timed per operation into an HDR histogram. Returns figures; never prints.
//!
//! Keys are `key_size` bytes (filler then 8 bytes of a bijective hash of
//! the key's number, so they are unique and spread), values `value_size`
//! bytes of a pattern derived from the number, so every read can be checked.

use std::path::{Path, PathBuf};
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
    /// Every key overwritten, then merge (bitcask) or snapshot (memory).
    Overwrite,
    /// Puts each acknowledged after its fdatasync.
    Durable,
    /// A fresh `hoard get` process: open the store and read one key.
    Open,
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
        }
    }
}

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
    /// Operations performed.
    pub ops: u64,
    /// Wall time.
    pub seconds: f64,
    /// Key and value bytes moved.
    pub bytes: u64,
    /// Per-operation latency.
    pub latency: Latency,
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

struct Timer {
    histogram: Histogram<u64>,
    start: Instant,
}

impl Timer {
    fn new() -> Timer {
        Timer {
            histogram: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds"),
            start: Instant::now(),
        }
    }

    fn record(&mut self, took: Duration) {
        let _ = self.histogram.record((took.as_nanos() as u64).max(1));
    }

    fn finish(self, workload: Workload, ops: u64, bytes: u64) -> WorkloadResult {
        let h = &self.histogram;
        WorkloadResult {
            workload,
            ops,
            seconds: self.start.elapsed().as_secs_f64(),
            bytes,
            latency: Latency {
                p50_ns: h.value_at_quantile(0.5),
                p99_ns: h.value_at_quantile(0.99),
                p999_ns: h.value_at_quantile(0.999),
                max_ns: h.max(),
            },
            notes: Vec::new(),
        }
    }
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
        let result = match workload {
            Workload::Load => {
                loaded = true;
                load(config, &store_dir, n, &mut key, &mut value, progress)?
            }
            Workload::Read => {
                let store = open(&store_dir, Access::Read)?;
                let mut order: Vec<u64> = (0..n).collect();
                let mut x = 0x2545_f491_4f6c_dd1du64;
                for i in (1..order.len()).rev() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    order.swap(i, (x % (i as u64 + 1)) as usize);
                }
                let mut timer = Timer::new();
                for (done, i) in order.iter().enumerate() {
                    key_of(*i, config.key_size, &mut key);
                    value_of(*i, round, config.value_size, &mut value);
                    let start = Instant::now();
                    let got = store.get(&key)?;
                    timer.record(start.elapsed());
                    if got.as_ref().map(|v| &v.bytes) != Some(&value) {
                        return Err(Error::InvalidInput(format!(
                            "bench: key number {i} read back wrong"
                        )));
                    }
                    if done % 65536 == 0 {
                        progress("read", done as u64, n);
                    }
                }
                store.close()?;
                timer.finish(Workload::Read, n, n * entry_bytes)
            }
            Workload::Mixed => {
                let store = open(&store_dir, Access::Write)?;
                store.defer_sync(true);
                let mut timer = Timer::new();
                let mut x = 0x9e37_79b9u64;
                for done in 0..n {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let i = x % n;
                    key_of(i, config.key_size, &mut key);
                    value_of(i, round, config.value_size, &mut value);
                    let start = Instant::now();
                    if x.is_multiple_of(10) {
                        store.put(&key, &value, PutOptions::default())?;
                    } else {
                        let got = store.get(&key)?;
                        if got.map(|v| v.bytes) != Some(value.clone()) {
                            return Err(Error::InvalidInput(format!(
                                "bench: key number {i} read back wrong"
                            )));
                        }
                    }
                    timer.record(start.elapsed());
                    if done % 65536 == 0 {
                        progress("mixed", done, n);
                    }
                }
                store.sync()?;
                store.close()?;
                timer.finish(Workload::Mixed, n, n * entry_bytes)
            }
            Workload::Overwrite => {
                round += 1;
                let store = open(&store_dir, Access::Write)?;
                store.defer_sync(true);
                let mut timer = Timer::new();
                for i in 0..n {
                    key_of(i, config.key_size, &mut key);
                    value_of(i, round, config.value_size, &mut value);
                    let start = Instant::now();
                    store.put(&key, &value, PutOptions::default())?;
                    timer.record(start.elapsed());
                    if i % 65536 == 0 {
                        progress("overwrite", i, n);
                    }
                }
                store.sync()?;
                let mut result = timer.finish(Workload::Overwrite, n, n * entry_bytes);
                let before = dir_bytes(&store_dir);
                let start = Instant::now();
                let now = crate::clock::Clock::now_ms(&SystemClock);
                let label = if let Some(bitcask) = store.bitcask() {
                    let report =
                        bitcask.merge(now, &mut |done, total| progress("merge", done, total))?;
                    result
                        .notes
                        .push(("live bytes rewritten".into(), report.live_bytes.to_string()));
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
            Workload::Durable => {
                let durable_dir = config.dir.join(format!("{}-durable", config.engine));
                create(&durable_dir, config.engine, SyncPolicy::Always)?;
                let ops = n.min(2000);
                let store = open(&durable_dir, Access::Write)?;
                let mut timer = Timer::new();
                for i in 0..ops {
                    key_of(i, config.key_size, &mut key);
                    value_of(i, 0, config.value_size, &mut value);
                    let start = Instant::now();
                    store.put(&key, &value, PutOptions::default())?;
                    timer.record(start.elapsed());
                    if i % 256 == 0 {
                        progress("durable", i, ops);
                    }
                }
                store.close()?;
                timer.finish(Workload::Durable, ops, ops * entry_bytes)
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
        let start = Instant::now();
        store.put(key, value, PutOptions::default())?;
        timer.record(start.elapsed());
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
