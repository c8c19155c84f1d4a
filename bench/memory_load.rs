//! Memory engine load figures for N keys (20-byte keys, 100-byte values of
//! pseudo-random printable bytes): the time to open a store from its AOF
//! alone and from its snapshot alone, the snapshot's size with and without
//! compression, and resident memory per key once loaded. Each load runs in
//! a fresh process so that its resident memory is its own. Driven by
//! `bench/memory.sh`:
//!
//!   memory-load prepare KEYS DIR   # a store whose AOF holds every key
//!   memory-load load DIR           # open it (read-only), report time and memory
//!   memory-load snapshot DIR       # rewrite it into a snapshot, report sizes

use std::path::PathBuf;
use std::time::Instant;

use hoardhaven::{
    Access, Clock, EngineKind, InitOptions, OpenOptions, PutOptions, Store, SyncPolicy, SystemClock,
};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn bytes_of(dir: &std::path::Path, suffix: &str) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

/// 100 pseudo-random printable bytes for key `i` (xorshift64*).
fn value(i: u64, out: &mut [u8; 100]) {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for b in out.iter_mut() {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *b = b'!' + (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 58) as u8 + 16;
    }
}

fn main() -> hoardhaven::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: memory-load prepare KEYS DIR | load DIR | snapshot DIR";
    let dir = PathBuf::from(args.last().expect(usage));
    match args.first().map(String::as_str) {
        Some("prepare") => {
            let keys: u64 = args[1].parse().expect(usage);
            let _ = std::fs::remove_dir_all(&dir);
            let init = InitOptions {
                engine: EngineKind::Memory,
                sync: SyncPolicy::Never,
                ..InitOptions::default()
            };
            Store::create(&dir, &init, &SystemClock)?;
            let store = Store::open(&dir, &OpenOptions::new(Access::Write))?;
            store.defer_sync(true);
            let mut v = [0u8; 100];
            for i in 0..keys {
                value(i, &mut v);
                store.put(format!("k{i:019}").as_bytes(), &v, PutOptions::default())?;
            }
            store.sync()?;
            // Dropped without `close`: no rewrite, so the AOF holds everything.
            drop(store);
            println!("prepared {keys} keys: AOF {} bytes", bytes_of(&dir, ".aof"));
        }
        Some("load") => {
            let base = rss_bytes();
            let start = Instant::now();
            let store = Store::open(&dir, &OpenOptions::new(Access::Read))?;
            let secs = start.elapsed().as_secs_f64();
            let resident = rss_bytes().saturating_sub(base);
            let keys = store.memory().expect("a memory store").key_count();
            let (snapshot, aof) = (bytes_of(&dir, ".snapshot"), bytes_of(&dir, ".aof"));
            let source = if snapshot > 0 { "snapshot" } else { "AOF" };
            println!(
                "load from {source} alone: {secs:.3} s, {:.0} keys/s, {:.0} MB/s of files read; resident {:.1} bytes/key",
                keys as f64 / secs,
                (snapshot + aof) as f64 / secs / 1e6,
                resident as f64 / keys as f64
            );
        }
        Some("snapshot") => {
            let store = Store::open(&dir, &OpenOptions::new(Access::Write))?;
            let start = Instant::now();
            let info = store
                .memory()
                .expect("a memory store")
                .snapshot(SystemClock.now_ms())?;
            println!(
                "snapshot written in {:.3} s: {} bytes with lz4, {} without ({:.1}%)",
                start.elapsed().as_secs_f64(),
                info.file_bytes,
                info.raw_bytes,
                info.file_bytes as f64 * 100.0 / info.raw_bytes as f64
            );
            store.close()?;
        }
        _ => panic!("{usage}"),
    }
    Ok(())
}
