//! Merge: reclaims the space of overwritten, deleted and expired records,
//! keeps every live record exactly, never brings a deleted key back, and
//! survives a crash at each of its steps.

mod common;

use std::collections::BTreeMap;

use common::{TestDir, snapshot_dir};
use predicates::prelude::*;

/// A store of several small data files: 60 keys written three times, some
/// deleted, some expiring soon; returns the expected live contents.
fn messy_store(t: &TestDir) -> BTreeMap<String, String> {
    t.hoard()
        .args(["-q", "init", "--max-file-size", "4k"])
        .assert()
        .success();
    let mut expected = BTreeMap::new();
    for round in 0..3 {
        for i in 0..60 {
            let key = format!("key-{i:03}");
            let value = format!("value-{round}-{i}-{}", "x".repeat(40));
            t.hoard().args(["put", &key, &value]).assert().success();
            expected.insert(key, value);
        }
    }
    for i in (0..60).step_by(4) {
        let key = format!("key-{i:03}");
        t.hoard().args(["del", &key]).assert().success();
        expected.remove(&key);
    }
    for i in (1..60).step_by(10) {
        let key = format!("key-{i:03}");
        t.hoard().args(["expire", &key, "150ms"]).assert().success();
        expected.remove(&key);
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    expected
}

fn assert_contents(t: &TestDir, expected: &BTreeMap<String, String>) {
    for i in 0..60 {
        let key = format!("key-{i:03}");
        match expected.get(&key) {
            Some(value) => {
                t.hoard()
                    .args(["-q", "get", &key])
                    .assert()
                    .success()
                    .stdout(value.clone());
            }
            None => {
                t.hoard().args(["-q", "get", &key]).assert().code(1);
            }
        }
    }
    let listed = t
        .hoard()
        .args(["-q", "keys"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let expected_keys: String = expected.keys().map(|k| format!("{k}\n")).collect();
    assert_eq!(String::from_utf8(listed).unwrap(), expected_keys);
}

fn disk_bytes(t: &TestDir) -> u64 {
    t.data_files()
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn merge_keeps_live_records_and_reclaims_the_rest() {
    let t = TestDir::new();
    let expected = messy_store(&t);
    let before = disk_bytes(&t);
    let out = t
        .hoard()
        .args(["merge", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["live_records"].as_u64().unwrap(), expected.len() as u64);
    assert_eq!(doc["bytes_before"].as_u64().unwrap(), before);
    let after = disk_bytes(&t);
    assert_eq!(doc["bytes_after"].as_u64().unwrap(), after);
    let live = doc["live_bytes"].as_u64().unwrap();
    assert!(after < before / 2, "{before} -> {after}");
    assert!(
        (after as f64) <= live as f64 * 1.05,
        "disk after merge {after} is not within 5% of live data {live}"
    );
    assert_contents(&t, &expected);
    // Deleted keys stay deleted after more reopens and writes.
    t.hoard().args(["put", "fresh", "v"]).assert().success();
    t.hoard().args(["get", "key-000"]).assert().code(1);
    t.hoard()
        .args(["get", "fresh"])
        .assert()
        .success()
        .stdout("v");
}

#[test]
fn merge_dry_run_changes_nothing() {
    let t = TestDir::new();
    let expected = messy_store(&t);
    let before = snapshot_dir(&t.dir());
    t.hoard()
        .args(["merge", "--dry-run"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("would reclaim")
                .and(predicate::str::contains("nothing was changed")),
        );
    assert_eq!(snapshot_dir(&t.dir()), before);
    assert_contents(&t, &expected);
}

#[test]
fn merging_a_compact_store_changes_nothing() {
    let t = TestDir::new();
    let expected = messy_store(&t);
    t.hoard().args(["-q", "merge"]).assert().success();
    let before = snapshot_dir(&t.dir());
    t.hoard()
        .args(["merge"])
        .assert()
        .success()
        .stdout(predicate::str::contains("reclaimed 0"));
    assert_eq!(snapshot_dir(&t.dir()), before);
    assert_contents(&t, &expected);
}

#[test]
fn merging_a_store_whose_keys_are_all_deleted_leaves_it_empty() {
    let t = TestDir::new();
    t.put("a", "1");
    t.put("b", "2");
    t.hoard().args(["del", "a", "b"]).assert().success();
    t.hoard().args(["-q", "merge"]).assert().success();
    assert!(t.data_files().is_empty());
    t.hoard().arg("keys").assert().success().stdout("");
    t.hoard().args(["get", "a"]).assert().code(1).stderr("");
    t.put("c", "3");
    t.hoard().args(["get", "c"]).assert().success().stdout("3");
}

#[test]
fn a_crash_at_each_step_of_a_merge_loses_nothing_and_resurrects_nothing() {
    for point in [
        "merge-before-output-rename",
        "merge-before-hint",
        "merge-before-removal",
        "merge-after-first-removal",
    ] {
        let t = TestDir::new();
        let expected = messy_store(&t);
        t.hoard()
            .env("HOARD_FAILPOINT", point)
            .arg("merge")
            .assert()
            .failure()
            .stderr(predicate::str::contains(format!("failpoint {point}")));
        assert_contents(&t, &expected);
        // The store takes writes, and a later merge completes the job.
        t.hoard().args(["-q", "merge"]).assert().success();
        assert_contents(&t, &expected);
        let leftovers: Vec<_> = snapshot_dir(&t.dir())
            .0
            .into_iter()
            .filter(|(name, _)| name.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{point}: {leftovers:?}");
    }
}

#[test]
fn merge_refuses_a_store_with_a_damaged_record_and_changes_nothing() {
    let t = TestDir::new();
    t.put("a", "AAAAAAAA");
    t.put("b", "BBBBBBBB");
    t.put("a", "overwritten");
    let file = t.data_files()[0].clone();
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(8).position(|w| w == b"BBBBBBBB").unwrap();
    bytes[at] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let before = snapshot_dir(&t.dir());
    t.hoard()
        .arg("merge")
        .assert()
        .code(4)
        .stderr(predicate::str::contains("checksum mismatch"));
    assert_eq!(snapshot_dir(&t.dir()), before);
}
