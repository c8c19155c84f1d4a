//! Corruption sweep: single bit flips and byte overwrites at seeded random
//! offsets in every kind of file (bitcask data file, hint and manifest;
//! memory snapshot, AOF and manifest). After each: reads return the exact
//! value or fail (exit 4, or 5 when the manifest no longer names a store),
//! never wrong data and never a panic; `verify` reports the damage (exit 4)
//! unless it fell in the last record, which is a torn tail; and `verify
//! --repair` leaves a store that verifies, where every key holds its exact
//! value or is gone.
//!
//! More cases: `HOARD_CORRUPTION_CASES=200 cargo test --release --test corruption`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::TestDir;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const KEYS: usize = 12;
/// Written last, so damage to the final record (a torn tail) can only lose it.
const SACRIFICE: &str = "zz-last";

fn expected() -> BTreeMap<String, String> {
    (0..KEYS)
        .map(|i| {
            (
                format!("key-{i:02}"),
                format!("value-{i:02}-{}", "#".repeat(i * 3)),
            )
        })
        .collect()
}

/// A store holding `expected()` (each key written once) plus SACRIFICE.
fn build(engine: &str) -> TestDir {
    let t = TestDir::with_engine(engine);
    let all = expected();
    let mut first = String::new();
    for (k, v) in all.iter().take(9) {
        first.push_str(&format!("{k}\t{v}\n"));
    }
    t.hoard()
        .args(["-q", "import", "--format", "tsv"])
        .write_stdin(first)
        .assert()
        .success();
    if engine == "memory" {
        t.hoard().args(["-q", "snapshot"]).assert().success();
    } else {
        t.hoard().args(["-q", "hint"]).assert().success();
    }
    for (k, v) in all.iter().skip(9) {
        t.put(k, v);
    }
    t.put(SACRIFICE, "the last record");
    t
}

fn targets(dir: &Path, engine: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            name == "HOARD"
                || if engine == "memory" {
                    name.ends_with(".snapshot") || name.ends_with(".aof")
                } else {
                    name.ends_with(".data") || name.ends_with(".hint")
                }
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{engine}: {files:?}");
    files
}

/// Reads every key; panics on wrong data or an unexpected exit code.
/// Returns whether every key read back exactly.
fn check_reads(t: &TestDir, label: &str) -> bool {
    let mut all_exact = true;
    for (key, value) in expected() {
        let out = t.hoard().args(["-q", "get", &key]).output().unwrap();
        match out.status.code() {
            Some(0) => assert_eq!(
                out.stdout,
                value.as_bytes(),
                "{label}: {key} read back wrong data"
            ),
            Some(1) => panic!("{label}: {key} silently went missing"),
            Some(4 | 5) => all_exact = false,
            other => panic!(
                "{label}: get {key} exited {other:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    all_exact
}

fn sweep(engine: &str, seed: u64) {
    let cases: u64 = std::env::var("HOARD_CORRUPTION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let mut rng = Rng(seed);
    let kinds = targets(&build(engine).dir(), engine).len();
    for case in 0..cases * kinds as u64 {
        let t = build(engine);
        let files = targets(&t.dir(), engine);
        let file = &files[(case % kinds as u64) as usize];
        let mut bytes = std::fs::read(file).unwrap();
        // A data file may end in preallocated zeros; damage the records
        // (and a little past them), where it matters.
        let span = if file.extension().is_some_and(|e| e == "data") {
            let out = t
                .hoard()
                .args(["-q", "inspect", "--json"])
                .output()
                .unwrap();
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let records_end = doc["files"][0]["bytes"].as_u64().unwrap() as usize;
            (records_end + 64).min(bytes.len())
        } else {
            bytes.len()
        };
        let at = (rng.next() % span as u64) as usize;
        let flip = rng.next().is_multiple_of(2);
        if flip {
            bytes[at] ^= 1 << (rng.next() % 8);
        } else {
            let old = bytes[at];
            bytes[at] = loop {
                let b = rng.next() as u8;
                if b != old {
                    break b;
                }
            };
        }
        std::fs::write(file, &bytes).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let label = format!(
            "{engine} case {case}: {} at {name}:{at}",
            if flip { "bit flip" } else { "byte overwrite" }
        );

        check_reads(&t, &label);
        let verify = t.hoard().arg("verify").output().unwrap();
        let report = String::from_utf8_lossy(&verify.stdout).to_string();
        match verify.status.code() {
            Some(4) => assert!(
                report.contains(&name) || name == "HOARD",
                "{label}: verify did not name the file:\n{report}"
            ),
            Some(5) => assert_eq!(
                name, "HOARD",
                "{label}: only a damaged manifest makes the store unreadable"
            ),
            Some(0) => assert!(
                report.contains("torn tail") || name.ends_with(".hint") && report.contains("stale"),
                "{label}: verify passed damaged data:\n{report}"
            ),
            other => panic!("{label}: verify exited {other:?}"),
        }
        if name == "HOARD" {
            continue; // a damaged manifest is reported; there is nothing to salvage
        }
        let repair = t.hoard().args(["verify", "--repair"]).output().unwrap();
        assert_eq!(
            repair.status.code(),
            Some(0),
            "{label}: repair failed:\n{}",
            String::from_utf8_lossy(&repair.stdout)
        );
        t.hoard().arg("verify").assert().success();
        // After repair: exact values or gone, never wrong.
        for (key, value) in expected() {
            let out = t.hoard().args(["-q", "get", &key]).output().unwrap();
            match out.status.code() {
                Some(0) => assert_eq!(
                    out.stdout,
                    value.as_bytes(),
                    "{label}: {key} wrong after repair"
                ),
                Some(1) => {}
                other => panic!("{label}: get {key} after repair exited {other:?}"),
            }
        }
    }
}

#[test]
fn corruption_in_any_bitcask_file_is_never_returned_as_data() {
    sweep("bitcask", 0xc0ff_ee01);
}

#[test]
fn corruption_in_any_memory_file_is_never_returned_as_data() {
    sweep("memory", 0xc0ff_ee02);
}
