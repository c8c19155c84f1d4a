//! `hoard inspect`: its counts match data whose counts are known, `--key`
//! finds the newest record, and inspecting changes nothing.

mod common;

use common::{TestDir, snapshot_dir};
use predicates::prelude::*;

fn inspect_json(t: &TestDir) -> serde_json::Value {
    let out = t
        .hoard()
        .args(["inspect", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).expect("inspect --json prints one JSON document")
}

/// Format 2's layout: file header, record header and footer lengths.
const FILE_HEADER: u64 = 48;
const RECORD_HEADER: u64 = 32;
const FOOTER: u64 = 32;

#[test]
fn inspect_json_counts_match_the_data() {
    let t = TestDir::new();
    t.hoard()
        .args(["-q", "init", "--max-file-size", "2k"])
        .assert()
        .success();
    let value = "v".repeat(50);
    for i in 0..30 {
        t.put(&format!("k{i:02}"), &value);
    }
    for i in 0..10 {
        t.put(&format!("k{i:02}"), &value); // 10 overwrites
    }
    t.hoard()
        .args(["del", "k10", "k11", "k12"])
        .assert()
        .success(); // 3 tombstones
    t.hoard()
        .args(["put", "short", "v", "--ttl", "100ms"])
        .assert()
        .success();
    std::thread::sleep(std::time::Duration::from_millis(150));

    let before = snapshot_dir(&t.dir());
    let doc = inspect_json(&t);
    assert_eq!(snapshot_dir(&t.dir()), before, "inspect changed the store");

    assert_eq!(doc["engine"], "bitcask");
    assert_eq!(doc["keys"], 27);
    assert_eq!(doc["expired_keys"], 1);
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), t.data_files().len());
    assert!(files.len() > 1, "expected several files");
    let sum = |field: &str| {
        files
            .iter()
            .map(|f| f[field].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(sum("records"), 30 + 10 + 3 + 1);
    assert_eq!(sum("live_records"), 27);
    assert_eq!(sum("tombstones"), 3);
    // Bytes of records, from the layout (files may hold preallocated
    // zeros after their records, which are not data).
    let records = 40 * (RECORD_HEADER + 3 + 50) + 3 * (RECORD_HEADER + 3) + (RECORD_HEADER + 5 + 1);
    // Every file has a header; every one but the active file is sealed by a footer.
    let headers = FILE_HEADER * files.len() as u64 + FOOTER * (files.len() as u64 - 1);
    let disk = headers + records;
    assert_eq!(doc["total_bytes"].as_u64().unwrap(), disk);
    assert_eq!(sum("bytes"), disk);
    let record_len = RECORD_HEADER + 3 + 50; // header + "kNN" + value
    assert_eq!(doc["live_bytes"].as_u64().unwrap(), 27 * record_len);
    assert_eq!(
        doc["dead_bytes"].as_u64().unwrap(),
        disk - headers - 27 * record_len
    );
    assert_eq!(doc["hint"]["used"], true);
}

#[test]
fn merge_advice_follows_dead_bytes() {
    let t = TestDir::new();
    for i in 0..20 {
        t.put(&format!("k{i}"), "value");
    }
    let doc = inspect_json(&t);
    assert_eq!(doc["merge_advised"], false);
    for _ in 0..2 {
        for i in 0..20 {
            t.put(&format!("k{i}"), "value");
        }
    }
    let doc = inspect_json(&t);
    assert_eq!(doc["merge_advised"], true, "{doc}");
    t.hoard()
        .arg("inspect")
        .assert()
        .success()
        .stdout(predicate::str::contains("run `hoard merge`"));
    t.hoard().args(["-q", "merge"]).assert().success();
    assert_eq!(inspect_json(&t)["merge_advised"], false);
}

#[test]
fn inspect_key_shows_where_the_newest_record_lives() {
    let t = TestDir::new();
    t.put("a", "first");
    let first_len = FILE_HEADER + RECORD_HEADER + 1 + 5; // file header, then the first record
    t.hoard()
        .args(["put", "a", "second", "--ttl", "1h"])
        .assert()
        .success();
    let out = t
        .hoard()
        .args(["inspect", "--key", "a", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["key"], "a");
    assert_eq!(doc["file"], "0000000001-00000.data");
    assert_eq!(doc["offset"].as_u64().unwrap(), first_len);
    assert_eq!(doc["value_bytes"], 6);
    assert_eq!(doc["record_bytes"], RECORD_HEADER + 1 + 6);
    assert!(doc["expires_at_ms"].as_u64().is_some());
    t.hoard()
        .args(["inspect", "--key", "a"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0000000001-00000.data"));
    t.hoard()
        .args(["inspect", "--key", "missing"])
        .assert()
        .code(1)
        .stdout("");
}

#[test]
fn inspect_of_a_missing_store_exits_5() {
    let t = TestDir::new();
    t.hoard().arg("inspect").assert().code(5);
    assert!(!t.dir().exists());
}
