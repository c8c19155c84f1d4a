//! kill -9 with real processes: `hoard put` children are killed at seeded
//! random moments (during start-up, open, append or fsync). Every put that
//! exited 0 must be readable with its exact value afterwards; a put that was
//! killed may or may not have landed, but never partly.
//!
//! 100 iterations per engine by default; more with
//! `HOARD_CRASH_ITERATIONS=10000 cargo test --release --test crash -- --nocapture`.
//! Another seed: `HOARD_CRASH_SEED=N`.

mod common;

use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::TestDir;

/// xorshift64*: a tiny, deterministic generator, so a failing seed replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn value_for(i: u64) -> String {
    // Large enough (24 KiB) that a kill can land in the middle of the append.
    format!("{i}:").repeat(24 * 1024 / 4)
}

#[test]
fn killed_bitcask_writers_lose_no_acknowledged_write() {
    killed_writers_lose_no_acknowledged_write("bitcask", TestDir::new());
}

#[test]
fn killed_memory_writers_lose_no_acknowledged_write() {
    killed_writers_lose_no_acknowledged_write("memory", TestDir::with_engine("memory"));
}

fn killed_writers_lose_no_acknowledged_write(engine: &str, t: TestDir) {
    let iterations = env_u64("HOARD_CRASH_ITERATIONS", 100);
    let seed = env_u64("HOARD_CRASH_SEED", 0x5eed_cafe);
    let mut rng = Rng(seed | 1);
    t.put("before", "the first acknowledged write");
    let hoard = assert_cmd::cargo::cargo_bin("hoard");
    let mut acknowledged = Vec::new();
    for i in 0..iterations {
        let mut child = Command::new(&hoard)
            .env_remove("HOARD_DIR")
            .arg("-d")
            .arg(t.dir())
            .args([
                "-q",
                "--lock-timeout",
                "30",
                "put",
                &format!("k{i}"),
                &value_for(i),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        thread::sleep(Duration::from_micros(rng.next() % 6000));
        let _ = child.kill(); // SIGKILL; harmless if it already exited
        if child.wait().unwrap().success() {
            acknowledged.push(i);
        }
    }
    eprintln!(
        "{engine}, seed {seed:#x}: {iterations} writers, {} acknowledged, {} killed",
        acknowledged.len(),
        iterations as usize - acknowledged.len()
    );
    t.hoard()
        .args(["get", "before"])
        .assert()
        .success()
        .stdout("the first acknowledged write");
    for i in 0..iterations {
        let out = t
            .hoard()
            .args(["-q", "get", &format!("k{i}")])
            .output()
            .unwrap();
        match out.status.code() {
            Some(0) => assert_eq!(
                out.stdout,
                value_for(i).as_bytes(),
                "k{i} holds a wrong value"
            ),
            Some(1) => assert!(!acknowledged.contains(&i), "acknowledged k{i} was lost"),
            other => panic!(
                "get k{i} exited {other:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    // The store still takes writes after the crashes.
    t.put("after", "still writable");
    t.hoard()
        .args(["get", "after"])
        .assert()
        .success()
        .stdout("still writable");
}
