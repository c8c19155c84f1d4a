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

/// Runs `hoard bench --json -q ARGS` in a temporary directory of its own
/// and returns its one JSON document.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let t = TestDir::new();
    let out = assert_cmd::Command::cargo_bin("hoard")
        .unwrap()
        .env_remove("HOARD_DIR")
        .current_dir(t.tmp.path())
        .args(["bench", "--json", "-q"])
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).expect("one JSON document")
}

/// (workload, threads) of each row of one engine's report.
fn rows(engine: &serde_json::Value) -> Vec<(String, u64)> {
    engine["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["workload"].as_str().unwrap().to_string(),
                w["threads"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn bench_threads_runs_read_mixed_and_durable_on_that_many_threads() {
    let doc = bench_json(&["--engine", "bitcask", "--keys", "200", "--threads", "2"]);
    assert_eq!(doc["threads"], serde_json::json!([2]));
    let engine = &doc["engines"][0];
    let expected: Vec<(String, u64)> = [
        ("load", 1),
        ("read", 2),
        ("mixed", 2),
        ("overwrite", 1),
        ("durable", 2),
        ("open", 1),
    ]
    .iter()
    .map(|(w, t)| (w.to_string(), *t))
    .collect();
    assert_eq!(rows(engine), expected);
    for w in engine["workloads"].as_array().unwrap() {
        let name = w["workload"].as_str().unwrap();
        if name != "open" {
            // The two threads share the operations: every key once.
            assert_eq!(w["ops"], 200, "{name}");
        }
        assert!(w["p50_ns"].as_u64().unwrap() <= w["p99_ns"].as_u64().unwrap());
        assert!(w["p99_ns"].as_u64().unwrap() <= w["p999_ns"].as_u64().unwrap());
        assert!(w["p999_ns"].as_u64().unwrap() <= w["max_ns"].as_u64().unwrap());
        if name == "durable" {
            let syncs = w["syncs"].as_u64().unwrap();
            assert!(
                (1..=200).contains(&syncs),
                "{syncs} fdatasyncs for 200 puts"
            );
            let per_sync = w["ops_per_sync"].as_f64().unwrap();
            assert!((per_sync - 200.0 / syncs as f64).abs() < 1e-9);
        } else {
            assert!(w["syncs"].is_null(), "{name} counts no syncs");
            assert!(w["ops_per_sync"].is_null());
        }
    }
}

#[test]
fn bench_threads_list_gives_one_row_per_workload_and_thread_count() {
    let doc = bench_json(&[
        "--keys",
        "200",
        "--value-size",
        "20",
        "--workload",
        "read,mixed,durable",
        "--threads",
        "1,2",
    ]);
    assert_eq!(doc["threads"], serde_json::json!([1, 2]));
    let engines = doc["engines"].as_array().unwrap();
    assert_eq!(engines.len(), 2);
    for engine in engines {
        let expected: Vec<(String, u64)> = [
            ("load", 1),
            ("read", 1),
            ("read", 2),
            ("mixed", 1),
            ("mixed", 2),
            ("durable", 1),
            ("durable", 2),
        ]
        .iter()
        .map(|(w, t)| (w.to_string(), *t))
        .collect();
        assert_eq!(rows(engine), expected, "{}", engine["engine"]);
        let durable_one = &engine["workloads"][5];
        // One writer: every put waited for an fdatasync of its own.
        assert!(durable_one["syncs"].as_u64().unwrap() >= durable_one["ops"].as_u64().unwrap());
    }
}

#[test]
fn bench_table_has_a_threads_column_and_a_row_per_count() {
    let t = TestDir::new();
    let out = assert_cmd::Command::cargo_bin("hoard")
        .unwrap()
        .env_remove("HOARD_DIR")
        .current_dir(t.tmp.path())
        .args(["bench", "-q", "--engine", "memory", "--keys", "100"])
        .args(["--workload", "durable", "--threads", "1,3"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("threads"), "{text}");
    let durable_rows = text.lines().filter(|l| l.contains("durable")).count();
    assert_eq!(durable_rows, 2, "{text}");
    assert!(text.contains("fdatasyncs:"), "{text}");
    assert!(text.contains("ops/sync:"), "{text}");
}

#[test]
fn bench_refuses_a_bad_thread_count_as_a_usage_error() {
    for bad in ["0", "x", "1,0", "", "-2", "100000"] {
        let t = TestDir::new();
        assert_cmd::Command::cargo_bin("hoard")
            .unwrap()
            .env_remove("HOARD_DIR")
            .current_dir(t.tmp.path())
            .args(["bench", "--keys", "10", &format!("--threads={bad}")])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--threads"));
        let left: Vec<_> = std::fs::read_dir(t.tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "--threads {bad:?} left files behind");
    }
}

#[test]
fn bench_background_times_puts_quiet_and_during_a_merge_or_snapshot() {
    let t = TestDir::new();
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
            "--workload",
            "background",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
    for engine in doc["engines"].as_array().unwrap() {
        let rows: Vec<&serde_json::Value> = engine["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["workload"] == "background")
            .collect();
        let phases: Vec<&str> = rows
            .iter()
            .map(|w| w["notes"]["phase"].as_str().unwrap())
            .collect();
        let what = if engine["engine"] == "bitcask" {
            "merge"
        } else {
            "snapshot"
        };
        assert_eq!(phases, ["quiet".to_string(), format!("during {what}")]);
        assert_eq!(rows[0]["ops"], 300, "every key is put once quietly");
        assert!(rows[1]["ops"].as_u64().unwrap() >= 16);
        assert!(rows[1]["notes"][format!("{what} seconds")].is_string());
    }
}

#[test]
fn bench_batch_reads_every_key_through_get_many_on_both_engines() {
    // Every value is checked against what the load wrote: a batch that
    // read a wrong or missing value would fail the run.
    let doc = bench_json(&[
        "--keys",
        "1000",
        "--workload",
        "load,read",
        "--batch",
        "16",
        "--threads",
        "1,2",
    ]);
    for engine in doc["engines"].as_array().unwrap() {
        let reads: Vec<&serde_json::Value> = engine["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["workload"] == "read")
            .collect();
        assert_eq!(reads.len(), 2);
        for read in reads {
            assert_eq!(read["ops"], 1000);
            assert_eq!(read["notes"]["keys per get_many"], "16");
        }
    }
}

#[test]
fn bench_refuses_a_batch_of_zero_as_a_usage_error() {
    let t = TestDir::new();
    t.hoard()
        .args(["bench", "--keys", "10", "--batch", "0"])
        .assert()
        .code(2);
}
