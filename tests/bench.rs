//! `hoard bench` through the binary: its JSON is complete and consistent,
//! and it never touches an existing store.

mod common;

use common::TestDir;
use predicates::prelude::*;

#[test]
fn bench_json_reports_every_workload_for_both_engines() {
    let t = TestDir::new();
    // No --dir: bench must work in a temporary directory of its own.
    let out = assert_cmd::Command::cargo_bin("hoard")
        .unwrap()
        .env_remove("HOARD_DIR")
        .current_dir(t.tmp.path())
        .args([
            "bench",
            "--json",
            "-q",
            "--keys",
            "300",
            "--value-size",
            "50",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
    let engines = doc["engines"].as_array().unwrap();
    assert_eq!(engines.len(), 2);
    for engine in engines {
        let names: Vec<&str> = engine["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["workload"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["load", "read", "mixed", "overwrite", "durable", "open"]
        );
        for w in engine["workloads"].as_array().unwrap() {
            assert!(w["ops"].as_u64().unwrap() > 0);
            assert!(w["ops_per_sec"].as_f64().unwrap() > 0.0);
            assert!(w["p50_ns"].as_u64().unwrap() <= w["p99_ns"].as_u64().unwrap());
            assert!(w["p99_ns"].as_u64().unwrap() <= w["max_ns"].as_u64().unwrap());
        }
        let overwrite = &engine["workloads"][3]["notes"];
        let before: u64 = overwrite["bytes before"].as_str().unwrap().parse().unwrap();
        let after: u64 = overwrite["bytes after"].as_str().unwrap().parse().unwrap();
        assert!(
            after < before,
            "compaction must shrink the store: {before} -> {after}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(t.tmp.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "bench without --dir wrote into the working directory"
    );
}

#[test]
fn bench_with_a_workload_subset_and_dir_keeps_its_stores() {
    let t = TestDir::new();
    let dir = t.tmp.path().join("benchdir");
    common::hoard_at(&dir)
        .args([
            "bench",
            "-q",
            "--engine",
            "bitcask",
            "--keys",
            "200",
            "--workload",
            "read",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("bitcask").and(predicate::str::contains("read")));
    assert!(
        dir.join("bitcask/HOARD").exists(),
        "the store is kept in --dir"
    );
    // A second run refuses the now non-empty directory.
    common::hoard_at(&dir)
        .args(["bench", "--keys", "10"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not empty"));
}

#[test]
fn bench_refuses_an_existing_store_directory() {
    let t = TestDir::new();
    t.put("precious", "data");
    let before = common::snapshot_dir(&t.dir());
    t.hoard().args(["bench", "--keys", "10"]).assert().code(2);
    assert_eq!(common::snapshot_dir(&t.dir()), before);
    t.hoard()
        .args(["get", "precious"])
        .assert()
        .success()
        .stdout("data");
}
