//! Merge: reclaims the space of overwritten, deleted and expired records,
//! keeps every live record exactly, never brings a deleted key back,
//! refuses damage in any record (live or dead), never trusts a lying hint,
//! and survives a crash at each of its steps.

mod common;

use std::collections::BTreeMap;

use common::{TestDir, snapshot_dir};
use hoardhaven::bitcask::HINT_FILE;
use hoardhaven::format::hint::{self, HintView, Slot};
use hoardhaven::{Access, Clock, ManualClock, OpenOptions, PutOptions, Store, SystemClock};
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

/// A store where `a` was overwritten (`AAAAAAAA` is dead) and `b` is live
/// (`BBBBBBBB`), with a hint when `hinted`; one bit of `value` flipped;
/// then a merge that must exit 4 and change nothing.
fn merge_refuses_damage_in(value: &[u8], hinted: bool) -> TestDir {
    let t = TestDir::new();
    t.put("a", "AAAAAAAA");
    t.put("b", "BBBBBBBB");
    t.put("a", "overwritten");
    if hinted {
        t.hoard().args(["-q", "hint"]).assert().success();
    }
    let file = t.data_files()[0].clone();
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(value.len()).position(|w| w == value).unwrap();
    bytes[at] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let before = snapshot_dir(&t.dir());
    t.hoard()
        .arg("merge")
        .assert()
        .code(4)
        .stderr(predicate::str::contains("checksum mismatch"));
    assert_eq!(snapshot_dir(&t.dir()), before);
    t
}

#[test]
fn merge_refuses_a_store_with_a_damaged_record_and_changes_nothing() {
    merge_refuses_damage_in(b"BBBBBBBB", false);
}

#[test]
fn merge_refuses_a_store_whose_only_damage_is_in_a_dead_record() {
    // The hint says where the live records are, so only a read of every
    // record can find this one.
    let t = merge_refuses_damage_in(b"AAAAAAAA", true);
    t.hoard()
        .args(["get", "a"])
        .assert()
        .success()
        .stdout("overwritten");
}

/// A change to the `usize`th slot of a hint.
type Lie = dyn Fn(usize, &mut Slot);

/// Rewrites the hint with valid checksums, each slot changed by `lie`.
fn lying_hint(t: &TestDir, lie: &Lie) {
    rewrite_hint(t, |slots| {
        for (i, slot) in slots.iter_mut().enumerate() {
            lie(i, slot);
        }
    });
}

/// A change to a hint's slots, which may look at the store's files.
type SlotsLie<'a> = dyn Fn(&TestDir, &mut Vec<Slot>) + 'a;

/// Rewrites the hint with valid checksums after `change` edits its slots.
fn rewrite_hint(t: &TestDir, change: impl FnOnce(&mut Vec<Slot>)) {
    let path = t.dir().join(HINT_FILE);
    let bytes = std::fs::read(&path).unwrap();
    let (view, meta) = HintView::parse(&bytes).unwrap();
    let mut slots: Vec<Slot> = (0..view.slot_count())
        .filter_map(|i| view.slot(i))
        .collect();
    change(&mut slots);
    let rewritten = hint::encode(meta, &slots);
    std::fs::write(&path, rewritten).unwrap();
}

/// The offset of the record holding `value` in the store's only data file.
fn record_offset(t: &TestDir, key: &str, value: &str) -> u64 {
    let files = t.data_files();
    assert_eq!(files.len(), 1);
    let bytes = std::fs::read(&files[0]).unwrap();
    let at = bytes
        .windows(value.len())
        .position(|w| w == value.as_bytes())
        .unwrap();
    (at - 32 - key.len()) as u64
}

#[test]
fn merge_through_a_hint_naming_the_wrong_records_of_keys_falls_back_and_keeps_the_newest() {
    // Each hint is well-formed and each slot points at the start of a value
    // record of its own key, but not at the right one: a merge that copied
    // what it names would lose, bring back or roll back keys for good.
    let build = || {
        let t = TestDir::new();
        for (k, v) in [
            ("a", "old-a-value"),
            ("b", "b-value"),
            ("d", "d-value"),
            ("a", "new-a-value"),
        ] {
            t.put(k, v);
        }
        t.hoard().args(["del", "d"]).assert().success();
        t.hoard().args(["-q", "hint"]).assert().success();
        t
    };
    let fp = |k: &str| hint::fingerprint(k.as_bytes());
    let slot = |k: &str, offset| Slot {
        fingerprint: fp(k),
        file_index: 0,
        offset,
    };
    let lies: Vec<(&str, Box<SlotsLie<'_>>)> = vec![
        (
            "a slot names an older value of its key",
            Box::new(|t, slots| {
                let old = record_offset(t, "a", "old-a-value");
                slots
                    .iter_mut()
                    .find(|s| s.fingerprint == fp("a"))
                    .unwrap()
                    .offset = old;
            }),
        ),
        (
            "a deleted key keeps a slot",
            Box::new(|t, slots| {
                slots.push(slot("d", record_offset(t, "d", "d-value")));
            }),
        ),
        (
            "a key has two slots",
            Box::new(|t, slots| {
                slots.push(slot("a", record_offset(t, "a", "old-a-value")));
            }),
        ),
        (
            "a live key has no slot",
            Box::new(|_, slots| slots.retain(|s| s.fingerprint != fp("b"))),
        ),
    ];
    for (what, lie) in lies {
        eprintln!("lie: {what}");
        let t = build();
        rewrite_hint(&t, |slots| lie(&t, slots));
        t.hoard()
            .arg("merge")
            .assert()
            .success()
            .stderr(predicate::str::contains("the hint is damaged"));
        t.hoard()
            .args(["get", "a"])
            .assert()
            .success()
            .stdout("new-a-value");
        t.hoard()
            .args(["get", "b"])
            .assert()
            .success()
            .stdout("b-value");
        t.hoard().args(["get", "d"]).assert().code(1);
        t.hoard()
            .args(["-q", "keys"])
            .assert()
            .success()
            .stdout("a\nb\n");
        t.hoard().args(["-q", "verify"]).assert().success();
    }
}

#[test]
fn merge_through_a_well_formed_but_lying_hint_falls_back_and_keeps_everything() {
    // One slot inside a record, one past the records, two swapped (each
    // pointing at another key's record): a merge that copied what the
    // hint says would lose or duplicate keys.
    let lies: [(&str, &Lie); 3] = [
        ("inside a record", &|i, s| {
            if i == 3 {
                s.offset += 1
            }
        }),
        ("past the records", &|i, s| {
            if i == 5 {
                s.offset += 1 << 20
            }
        }),
        ("at another key's record", &|i, s| {
            if i == 1 {
                s.fingerprint ^= 0x5555_5555
            }
        }),
    ];
    for (what, lie) in lies {
        let t = TestDir::new();
        let expected = messy_store(&t);
        t.hoard().args(["-q", "hint"]).assert().success();
        lying_hint(&t, lie);
        t.hoard()
            .args(["merge"])
            .assert()
            .success()
            .stderr(predicate::str::contains("the hint is damaged"));
        assert_contents(&t, &expected);
        assert!(t.dir().join(HINT_FILE).exists(), "{what}");
    }
}

#[test]
fn merge_of_an_open_store_with_a_hint_and_writes_after_it_keeps_the_newest_of_each_key() {
    let t = TestDir::new();
    let mut expected = messy_store(&t);
    t.hoard().args(["-q", "hint"]).assert().success();
    let clock = std::sync::Arc::new(ManualClock::new(SystemClock.now_ms()));
    let options = OpenOptions {
        clock: clock.clone(),
        ..OpenOptions::new(Access::Write)
    };
    let store = Store::open(&t.dir(), &options).unwrap();
    // After the hint's watermark: overwrites, deletions, a key brought
    // back, a new key, one that expires before the merge and one after.
    for i in (0..60).step_by(3) {
        let key = format!("key-{i:03}");
        let value = format!("after-the-hint-{i}");
        store
            .put(key.as_bytes(), value.as_bytes(), PutOptions::default())
            .unwrap();
        expected.insert(key, value);
    }
    for i in (2..60).step_by(6) {
        let key = format!("key-{i:03}");
        store.delete(key.as_bytes()).unwrap();
        expected.remove(&key);
    }
    store
        .put(b"key-002", b"back", PutOptions::default())
        .unwrap();
    expected.insert("key-002".into(), "back".into());
    let ttl = |ms| PutOptions {
        ttl_ms: Some(ms),
        ..PutOptions::default()
    };
    store.put(b"key-005", b"short-lived", ttl(1_000)).unwrap();
    expected.remove("key-005");
    store
        .put(b"key-007", b"long-lived", ttl(3_600_000))
        .unwrap();
    expected.insert("key-007".into(), "long-lived".into());
    clock.advance(2_000);
    let now = clock.now_ms();
    let report = store.bitcask().unwrap().merge(now, &mut |_, _| {}).unwrap();
    assert_eq!(report.live_records, expected.len() as u64);
    let check = |store: &Store, expected: &BTreeMap<String, String>| {
        for i in 0..60 {
            let key = format!("key-{i:03}");
            let got = store
                .get(key.as_bytes())
                .unwrap()
                .map(|v| String::from_utf8(v.bytes).unwrap());
            assert_eq!(got.as_ref(), expected.get(&key), "{key}");
        }
        assert_eq!(store.keys(b"", None).unwrap().len(), expected.len());
    };
    check(&store, &expected);
    // Writes after the merge land above the merged files' hint.
    store
        .put(b"key-010", b"after-the-merge", PutOptions::default())
        .unwrap();
    expected.insert("key-010".into(), "after-the-merge".into());
    check(&store, &expected);
    store.close().unwrap();
    let store = Store::open(&t.dir(), &options).unwrap();
    check(&store, &expected);
    store.close().unwrap();
    assert_contents(&t, &expected);
}

#[test]
fn a_dry_run_tells_preallocated_space_from_dead_records_as_inspect_counts_them() {
    for (sync, preallocates) in [("always", true), ("never", false)] {
        let t = TestDir::new();
        t.hoard()
            .args(["-q", "init", "--sync", sync])
            .assert()
            .success();
        for value in ["1", "2", "3"] {
            t.hoard().args(["put", "a", value]).assert().success();
        }
        t.hoard().args(["put", "b", "4"]).assert().success();
        let json = |args: &[&str]| -> serde_json::Value {
            let out = t.hoard().args(args).arg("--json").output().unwrap();
            assert!(out.status.success(), "{args:?}");
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let inspect = json(&["inspect"]);
        let plan = json(&["merge", "--dry-run"]);
        let preallocated = plan["preallocated_bytes_before"].as_u64().unwrap();
        assert_eq!(preallocated > 0, preallocates, "{sync}: {plan}");
        let written = plan["bytes_before"].as_u64().unwrap() - preallocated;
        assert_eq!(written, inspect["total_bytes"].as_u64().unwrap(), "{sync}");
        let dead =
            plan["record_bytes_before"].as_u64().unwrap() - plan["live_bytes"].as_u64().unwrap();
        assert_eq!(dead, inspect["dead_bytes"].as_u64().unwrap(), "{sync}");
        let text = t.hoard().args(["merge", "--dry-run"]).output().unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        let percent = format!("{:.1}%", dead as f64 * 100.0 / written as f64);
        assert!(
            text.contains(&format!(
                "written      {written} bytes, {dead} of them in dead records ({percent})"
            )),
            "{sync}: {text}"
        );
        assert_eq!(
            text.contains(&format!("preallocated {preallocated} bytes")),
            preallocates,
            "{sync}: {text}"
        );
    }
}
