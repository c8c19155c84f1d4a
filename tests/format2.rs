//! The eleven findings of the format-2 review (issue 9), each as a test
//! that the format-1 rules failed: forged records, sealed files that cannot
//! prove their length, missing files, bit rot taken for a tear, a lying
//! hint after an interrupted repair, a foreign `LOCK` overwritten, a
//! damaged hint never rewritten, memory repair misreporting loss, and a
//! replay that read the active file whole. (Unsynced records after a hole
//! and `sync never` are covered on the simulated disk in powerloss.rs; the
//! key-count limit in limits.rs.)

mod common;

use std::path::{Path, PathBuf};

use common::{TestDir, hoard_at};
use hoardhaven::{Access, InitOptions, OpenOptions, PutOptions, Store, SyncPolicy, SystemClock};
use predicates::prelude::*;

/// The bytes of the (only) engine file ending in `suffix` in a fresh store
/// of `engine` holding `victim=FORGED`, up to its last non-zero byte.
fn forged_file(engine: &str, suffix: &str) -> Vec<u8> {
    let t = TestDir::with_engine(engine);
    t.put("victim", "FORGED");
    let path = std::fs::read_dir(t.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    let end = bytes.iter().rposition(|b| *b != 0).unwrap() + 1;
    bytes.truncate(end);
    bytes
}

/// A value that embeds whole hoard files holding `victim=FORGED`, padded
/// to span several pages.
fn blob() -> Vec<u8> {
    let mut blob = b"backup:".to_vec();
    blob.extend(forged_file("bitcask", ".data"));
    blob.extend(forged_file("memory", ".aof"));
    blob.extend(forged_file("bitcask", ".data"));
    blob.resize(12 * 1024, b'p');
    blob
}

/// The newest engine file of the store (data file or AOF).
fn newest_log(dir: &Path) -> PathBuf {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".data") || name.ends_with(".aof")
        })
        .collect();
    logs.sort();
    logs.pop().unwrap()
}

/// Zeroes the second 4 KiB page the last occurrence of `blob` touches.
fn lose_second_page(file: &Path, blob: &[u8]) {
    let mut bytes = std::fs::read(file).unwrap();
    let start = bytes
        .windows(64)
        .rposition(|w| w == &blob[..64])
        .expect("the blob is in the file");
    let page = (start / 4096 + 1) * 4096;
    bytes[page..page + 4096].fill(0);
    std::fs::write(file, bytes).unwrap();
}

fn assert_victim_original(t: &TestDir) {
    t.hoard()
        .args(["-q", "get", "victim"])
        .assert()
        .success()
        .stdout("original");
}

#[test]
fn finding_1_a_record_embedded_in_a_value_is_never_taken_for_a_real_one() {
    for engine in ["bitcask", "memory"] {
        // The blob's append is torn (its second page never reached the
        // disk): the tail is dropped and nothing inside it is believed.
        let t = TestDir::with_engine(engine);
        t.put("victim", "original");
        let blob = blob();
        t.hoard()
            .args(["put", "blob"])
            .write_stdin(blob.clone())
            .assert()
            .success();
        lose_second_page(&newest_log(&t.dir()), &blob);
        assert_victim_original(&t);
        t.hoard()
            .arg("verify")
            .assert()
            .success()
            .stdout(predicate::str::contains("torn"));
        t.hoard().args(["put", "after", "x"]).assert().success();
        assert_victim_original(&t);
        t.hoard().args(["get", "blob"]).assert().code(1);
        t.hoard().arg("verify").assert().success();

        // The blob was acknowledged and later writes followed: the same
        // loss is corruption, and salvage resynchronises past it without
        // picking up any embedded record.
        let t = TestDir::with_engine(engine);
        t.put("victim", "original");
        t.hoard()
            .args(["put", "blob"])
            .write_stdin(blob.clone())
            .assert()
            .success();
        t.put("later", "write");
        lose_second_page(&newest_log(&t.dir()), &blob);
        t.hoard().args(["get", "later"]).assert().code(4);
        t.hoard().arg("verify").assert().code(4);
        t.hoard().args(["verify", "--repair"]).assert().success();
        assert_victim_original(&t);
        t.hoard()
            .args(["-q", "get", "later"])
            .assert()
            .success()
            .stdout("write");
        t.hoard().arg("verify").assert().success();
    }
}

/// A bitcask store (through the library) of several sealed files; returns
/// it closed, with its keys and values.
fn sealed_store(dir: &Path) -> Vec<(String, String)> {
    let init = InitOptions {
        max_file_size: 1024,
        sync: SyncPolicy::Never,
        ..InitOptions::default()
    };
    Store::create(dir, &init, &SystemClock).unwrap();
    let store = Store::open(dir, &OpenOptions::new(Access::Write)).unwrap();
    let pairs: Vec<(String, String)> = (0..24)
        .map(|i| {
            (
                format!("key-{i:02}"),
                format!("value-{i:02}-{}", "v".repeat(90)),
            )
        })
        .collect();
    for (k, v) in &pairs {
        store
            .put(k.as_bytes(), v.as_bytes(), PutOptions::default())
            .unwrap();
    }
    store.close().unwrap();
    pairs
}

/// Every live key reads as its value or fails with exit 4; none reads as missing.
fn no_key_reads_as_missing(dir: &Path, pairs: &[(String, String)], label: &str) {
    let store = match Store::open(dir, &OpenOptions::new(Access::Read)) {
        Ok(store) => store,
        Err(e) => {
            assert_eq!(e.exit_code(), 4, "{label}: {e}");
            return;
        }
    };
    for (k, v) in pairs {
        match store.get(k.as_bytes()) {
            Ok(Some(value)) => assert_eq!(value.bytes, v.as_bytes(), "{label}: {k}"),
            Ok(None) => panic!("{label}: {k} reads as missing"),
            Err(e) => assert_eq!(e.exit_code(), 4, "{label}: {k}: {e}"),
        }
    }
}

fn verify_is_corrupt(dir: &Path, label: &str) {
    let mut options = OpenOptions::new(Access::Read);
    options.verify_only = true;
    let store = Store::open(dir, &options).unwrap();
    let report = store.verify(&mut |_, _| {}).unwrap();
    assert!(!report.is_clean(), "{label}: verify found nothing");
}

/// Copies the store at `original` to `dir`, cuts data file `name` (whose
/// bytes are `full`) at `at` or zeroes it from there, and checks that no
/// key reads as missing, verify finds it, and a writer refuses it rather
/// than erase the evidence (merge included).
#[allow(clippy::too_many_arguments)]
fn damaged_copy_is_corruption(
    original: &Path,
    dir: &Path,
    name: &std::ffi::OsStr,
    full: &[u8],
    at: usize,
    zero: bool,
    pairs: &[(String, String)],
    label: &str,
) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir(dir).unwrap();
    for entry in std::fs::read_dir(original).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let mut bytes = full.to_vec();
    if zero {
        bytes[at..].fill(0);
    } else {
        bytes.truncate(at);
    }
    std::fs::write(dir.join(name), &bytes).unwrap();
    no_key_reads_as_missing(dir, pairs, label);
    verify_is_corrupt(dir, label);
    std::fs::remove_file(dir.join("keydir.hint")).unwrap();
    let err = Store::open(dir, &OpenOptions::new(Access::Write)).unwrap_err();
    assert_eq!(err.exit_code(), 4, "{label}: {err}");
}

#[test]
fn finding_2_a_sealed_file_cut_or_zeroed_at_its_end_is_corruption_at_every_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let pairs = sealed_store(&original);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&original)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    let sealed = files[0].file_name().unwrap().to_owned();
    let full = std::fs::read(&files[0]).unwrap();
    // Every offset of the last two records and the footer.
    let from = full.len() - 32 - 2 * (32 + 6 + 99);
    for at in from..full.len() {
        for zero in [false, true] {
            let label = format!("{} at {at}", if zero { "zeroed" } else { "cut" });
            let case = tmp.path().join("case");
            damaged_copy_is_corruption(&original, &case, &sealed, &full, at, zero, &pairs, &label);
        }
    }
}

#[test]
fn finding_3_a_missing_data_file_is_corruption_never_missing_keys() {
    let t = TestDir::new();
    t.hoard()
        .args(["-q", "init", "--max-file-size", "1024"])
        .assert()
        .success();
    for i in 0..24 {
        t.put(&format!("key-{i:02}"), &"v".repeat(100));
    }
    let files = t.data_files();
    assert!(files.len() >= 3);
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    std::fs::remove_file(&files[0]).unwrap();
    for key in ["key-00", "key-23"] {
        t.hoard()
            .args(["get", key])
            .assert()
            .code(4)
            .stderr(predicate::str::contains(&name).and(predicate::str::contains("missing")));
    }
    t.hoard()
        .arg("verify")
        .assert()
        .code(4)
        .stdout(predicate::str::contains(&name).and(predicate::str::contains("missing")));
    // Repair drops it from the list, says so, and the rest is served again.
    t.hoard()
        .args(["verify", "--repair"])
        .assert()
        .success()
        .stdout(predicate::str::contains("missing"));
    t.hoard().arg("verify").assert().success();
    t.hoard().args(["-q", "get", "key-23"]).assert().success();
}

#[test]
fn finding_5_bit_rot_in_the_last_acknowledged_record_is_corruption_and_kept() {
    for engine in ["bitcask", "memory"] {
        let t = TestDir::with_engine(engine);
        t.put("first", "one");
        t.put("last", "the last acknowledged value");
        let log = newest_log(&t.dir());
        let mut bytes = std::fs::read(&log).unwrap();
        let at = bytes.windows(8).rposition(|w| w == b"the last").unwrap();
        bytes[at + 3] ^= 0x04;
        std::fs::write(&log, &bytes).unwrap();
        t.hoard().args(["get", "last"]).assert().code(4);
        t.hoard()
            .arg("verify")
            .assert()
            .code(4)
            .stdout(predicate::str::contains("torn").not());
        t.hoard().args(["put", "x", "y"]).assert().code(4);
        assert_eq!(
            std::fs::read(&log).unwrap(),
            bytes,
            "{engine}: nothing was cut"
        );
        assert!(!t.dir().join("torn").exists());
    }
}

#[test]
fn finding_6_an_interrupted_repair_leaves_no_hint_that_lies() {
    let t = TestDir::new();
    for i in 0..20 {
        t.put(&format!("key-{i:02}"), &format!("value-{i:02}"));
    }
    t.hoard().args(["-q", "hint"]).assert().success();
    let file = t.data_files()[0].clone();
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(8).position(|w| w == b"value-03").unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    t.hoard()
        .args(["verify", "--repair"])
        .env("HOARD_FAILPOINT", "repair-after-rewrite")
        .assert()
        .failure();
    for i in (0..20).filter(|i| *i != 3) {
        t.hoard()
            .args(["-q", "get", &format!("key-{i:02}")])
            .assert()
            .success()
            .stdout(format!("value-{i:02}"));
    }
    t.hoard().args(["verify", "--repair"]).assert().success();
    t.hoard().arg("verify").assert().success();
}

#[test]
fn finding_8_a_directory_whose_hoard_is_not_a_manifest_is_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("HOARD"), "my notes, not a manifest\n").unwrap();
    std::fs::write(dir.join("LOCK"), "my own lock file\n").unwrap();
    for args in [vec!["get", "k"], vec!["put", "k", "v"], vec!["verify"]] {
        let code = hoard_at(&dir).args(&args).output().unwrap().status.code();
        assert!(matches!(code, Some(4 | 5)), "{args:?}: {code:?}");
        assert_eq!(
            std::fs::read_to_string(dir.join("LOCK")).unwrap(),
            "my own lock file\n"
        );
    }
    // Readers do not create LOCK there either.
    std::fs::remove_file(dir.join("LOCK")).unwrap();
    hoard_at(&dir).args(["get", "k"]).assert().failure();
    hoard_at(&dir).arg("verify").assert().failure();
    assert!(!dir.join("LOCK").exists());
}

#[test]
fn finding_9_a_writer_that_meets_a_damaged_hint_rewrites_it() {
    let t = TestDir::new();
    for i in 0..20 {
        t.put(&format!("key-{i:02}"), &format!("value-{i:02}"));
    }
    t.hoard().args(["-q", "hint"]).assert().success();
    let hint = t.dir().join("keydir.hint");
    let mut bytes = std::fs::read(&hint).unwrap();
    let slots_at = 112 + 32; // metadata and one file-table entry
    bytes[slots_at + 5] ^= 0x04;
    std::fs::write(&hint, &bytes).unwrap();
    // A reader answers right, and names a remedy that works.
    t.hoard()
        .args(["get", "key-05"])
        .assert()
        .success()
        .stdout("value-05")
        .stderr(predicate::str::contains("run `hoard hint`"));
    t.hoard().arg("verify").assert().code(4);
    // A writer whose lookup meets the damage rewrites the hint.
    t.hoard().args(["-q", "del", "key-05"]).assert().success();
    t.hoard().arg("verify").assert().success();
    t.hoard()
        .args(["get", "key-06"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn finding_10_memory_repair_reports_the_entries_a_damaged_snapshot_lost() {
    let t = TestDir::with_engine("memory");
    for i in 0..20 {
        t.put(&format!("key-{i:02}"), &format!("value-{i:02}"));
    }
    t.hoard().args(["-q", "snapshot"]).assert().success();
    t.put("after", "snapshot");
    let snapshot = std::fs::read_dir(t.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".snapshot"))
        .unwrap();
    let mut bytes = std::fs::read(&snapshot).unwrap();
    bytes[48 + 16 + 4] ^= 0x08; // inside the only chunk's lz4 block
    std::fs::write(&snapshot, &bytes).unwrap();
    let out = t
        .hoard()
        .args(["verify", "--repair", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = doc["repair"]["files"].as_array().unwrap();
    let repaired = files
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with(".snapshot"))
        .unwrap();
    assert_eq!(repaired["kept_records"], 0);
    assert_eq!(repaired["dropped_records"], 20, "{repaired}");
    t.hoard()
        .args(["-q", "get", "after"])
        .assert()
        .success()
        .stdout("snapshot");
    t.hoard().args(["get", "key-00"]).assert().code(1);
}

#[test]
fn finding_11_replay_and_verify_stream_the_active_file_in_bounded_memory() {
    let t = TestDir::new();
    t.hoard()
        .args(["-q", "init", "--sync", "never", "--max-file-size", "1G"])
        .assert()
        .success();
    // 48 MB of records in the one active file.
    let mut tsv = Vec::new();
    for i in 0..48_000 {
        tsv.extend(format!("key-{i:06}\t{}\n", "v".repeat(1000)).into_bytes());
    }
    t.hoard()
        .args(["-q", "import", "-", "--format", "tsv"])
        .write_stdin(tsv)
        .assert()
        .success();
    assert_eq!(t.data_files().len(), 1);
    assert!(std::fs::metadata(&t.data_files()[0]).unwrap().len() > 48_000_000);
    // A heap limit below the file's size: reading it whole would fail.
    for args in [vec!["hint"], vec!["verify"]] {
        let out = std::process::Command::new("prlimit")
            .arg("--data=32000000")
            .arg(assert_cmd::cargo::cargo_bin("hoard"))
            .arg("-d")
            .arg(t.dir())
            .args(&args)
            .output()
            .expect("prlimit (util-linux) runs");
        assert!(
            out.status.success(),
            "{args:?} under a 32 MB heap limit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn review_a_merged_store_whose_newest_file_is_cut_or_zeroed_is_corruption() {
    // Merge outputs are sealed: the newest one too, which the file list
    // says, so its end is checked against its footer.
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let pairs = sealed_store(&original);
    {
        let store = Store::open(&original, &OpenOptions::new(Access::Write)).unwrap();
        store.delete(b"key-00").unwrap();
        store
            .bitcask()
            .unwrap()
            .merge(hoardhaven::Clock::now_ms(&SystemClock), &mut |_, _| {})
            .unwrap();
        store.close().unwrap();
    }
    let pairs: Vec<_> = pairs.into_iter().filter(|(k, _)| k != "key-00").collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&original)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    files.sort();
    let newest = files.last().unwrap().file_name().unwrap().to_owned();
    let full = std::fs::read(files.last().unwrap()).unwrap();
    for at in [
        full.len() - 1,
        full.len() - 32,
        full.len() - 40,
        full.len() - 200,
    ] {
        for zero in [false, true] {
            let label = format!("newest {} at {at}", if zero { "zeroed" } else { "cut" });
            let case = tmp.path().join("case");
            damaged_copy_is_corruption(&original, &case, &newest, &full, at, zero, &pairs, &label);
        }
    }
}

#[test]
fn review_a_damaged_or_missing_file_list_is_reported_and_rebuilt_by_repair() {
    for engine in ["bitcask", "memory"] {
        for damage in ["flip", "remove"] {
            let t = TestDir::with_engine(engine);
            for i in 0..10 {
                t.put(&format!("key-{i}"), &format!("value-{i}"));
            }
            let list = t.dir().join("FILES");
            if damage == "flip" {
                let mut bytes = std::fs::read(&list).unwrap();
                bytes[60] ^= 0x01;
                std::fs::write(&list, bytes).unwrap();
            } else {
                std::fs::remove_file(&list).unwrap();
            }
            t.hoard().args(["get", "key-1"]).assert().code(4);
            t.hoard()
                .arg("verify")
                .assert()
                .code(4)
                .stdout(predicate::str::contains("FILES"));
            t.hoard().args(["verify", "--repair"]).assert().success();
            t.hoard().arg("verify").assert().success();
            for i in 0..10 {
                t.hoard()
                    .args(["-q", "get", &format!("key-{i}")])
                    .assert()
                    .success()
                    .stdout(format!("value-{i}"));
            }
        }
    }
}

#[test]
fn review_memory_repair_keeps_a_torn_aof_tail_it_rewrites_away() {
    let t = TestDir::with_engine("memory");
    for i in 0..10 {
        t.put(&format!("key-{i}"), &format!("value-{i}"));
    }
    t.hoard().args(["-q", "snapshot"]).assert().success();
    t.put("after", "the snapshot");
    // A damaged snapshot chunk, and a torn write at the end of the AOF.
    let snapshot = std::fs::read_dir(t.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".snapshot"))
        .unwrap();
    let mut bytes = std::fs::read(&snapshot).unwrap();
    bytes[70] ^= 0x08;
    std::fs::write(&snapshot, bytes).unwrap();
    let aof = newest_log(&t.dir());
    let mut bytes = std::fs::read(&aof).unwrap();
    let torn = [0x55u8, 0x66, 0x77, 0x88, 5, 0, 0, 0];
    bytes.extend_from_slice(&torn);
    std::fs::write(&aof, &bytes).unwrap();
    let out = t
        .hoard()
        .args(["verify", "--repair", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let backup = PathBuf::from(doc["repair"]["backup_dir"].as_str().unwrap());
    let kept = std::fs::read(backup.join(aof.file_name().unwrap())).unwrap();
    assert!(kept.ends_with(&torn), "the torn AOF tail is in the backup");
    t.hoard()
        .args(["-q", "get", "after"])
        .assert()
        .success()
        .stdout("the snapshot");
}

#[test]
fn review_a_failed_sync_leaves_a_mark_the_next_writer_acts_on() {
    for engine in ["bitcask", "memory"] {
        let t = TestDir::with_engine(engine);
        t.put("first", "one");
        // Fail each operation of a put in turn until a sync fails.
        let mut marked = false;
        for n in 1..40 {
            let out = t
                .hoard()
                .args(["put", "second", "two"])
                .env("HOARD_FAIL_OP", format!("{n}"))
                .output()
                .unwrap();
            // (A failure some operations survive, such as reading the
            // hint, lets the put succeed; the next n fails a later one.)
            if !out.status.success() && t.dir().join("sync-failed").exists() {
                marked = true;
                break;
            }
        }
        assert!(marked, "{engine}: a failed put leaves the sync-failed mark");
        t.put("third", "three");
        assert!(
            !t.dir().join("sync-failed").exists(),
            "{engine}: the next writer clears it"
        );
        t.hoard().arg("verify").assert().success();
        t.hoard()
            .args(["-q", "get", "third"])
            .assert()
            .success()
            .stdout("three");
    }
}

#[test]
fn review_files_hoard_does_not_list_are_never_deleted_when_they_hold_data() {
    let t = TestDir::new();
    t.put("a", "1");
    // A user's file that merely looks like a data file, and a real data
    // file the list does not name (a restored backup, say).
    std::fs::write(t.dir().join("2024-01.data"), b"my spreadsheet").unwrap();
    let stray = t.dir().join("0000000099-00000.data");
    std::fs::copy(&t.data_files()[0], &stray).unwrap();
    t.put("b", "2");
    assert_eq!(
        std::fs::read(t.dir().join("2024-01.data")).unwrap(),
        b"my spreadsheet"
    );
    assert!(!stray.exists());
    assert!(
        t.dir().join("unlisted/0000000099-00000.data").exists(),
        "moved aside, not deleted"
    );
    t.hoard()
        .arg("verify")
        .assert()
        .success()
        .stdout(predicate::str::contains("moved aside"));
}

#[test]
fn review_upgrade_refuses_a_damaged_format_1_store_and_moves_nothing() {
    let t = TestDir::from_fixture("format1/bitcask");
    // Zero the end of the oldest data file: format 1 cannot tell, but it
    // is not the newest file, so it is damage, not a clean end.
    let oldest = t.dir().join("0000000001-00000.data");
    let mut bytes = std::fs::read(&oldest).unwrap();
    let len = bytes.len();
    bytes[len - 60..].fill(0);
    std::fs::write(&oldest, bytes).unwrap();
    let before = common::snapshot_dir(&t.dir());
    t.hoard()
        .arg("upgrade")
        .assert()
        .code(4)
        .stderr(predicate::str::contains("changed nothing"));
    assert_eq!(common::snapshot_dir(&t.dir()), before);
}

#[test]
fn walkthrough_a_copy_made_right_after_a_merge_opens_and_reads() {
    let t = TestDir::new();
    t.put("a", "1");
    t.put("a", "2");
    t.put("b", "3");
    t.hoard().args(["-q", "merge"]).assert().success();
    let copy = t.tmp.path().join("copy");
    t.hoard()
        .arg("snapshot")
        .arg("--to")
        .arg(&copy)
        .assert()
        .success();
    hoard_at(&copy)
        .args(["-q", "get", "a"])
        .assert()
        .success()
        .stdout("2");
    hoard_at(&copy)
        .args(["-q", "get", "b"])
        .assert()
        .success()
        .stdout("3");
    hoard_at(&copy).arg("verify").assert().success();
}

#[test]
fn walkthrough_a_deleted_manifest_has_a_way_back() {
    for engine in ["bitcask", "memory"] {
        let t = TestDir::with_engine(engine);
        t.put("k", "v");
        std::fs::remove_file(t.dir().join("HOARD")).unwrap();
        let before = common::snapshot_dir(&t.dir());
        t.hoard()
            .args(["get", "k"])
            .assert()
            .code(5)
            .stderr(predicate::str::contains(
                "`hoard init --force-manifest` rewrites it",
            ));
        assert_eq!(common::snapshot_dir(&t.dir()), before, "nothing written");
        t.hoard()
            .args(["init", "--force-manifest"])
            .assert()
            .success()
            .stderr(predicate::str::contains("there was none to keep"));
        t.hoard()
            .args(["-q", "get", "k"])
            .assert()
            .success()
            .stdout("v");
        assert!(
            std::fs::read_to_string(t.dir().join("HOARD"))
                .unwrap()
                .contains(&format!("engine {engine}\n"))
        );
    }
}

#[test]
fn walkthrough_a_put_that_creates_a_store_says_so_on_stderr() {
    let t = TestDir::new();
    t.hoard()
        .args(["put", "k", "v"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("created a bitcask store"));
    t.hoard()
        .args(["put", "k", "w"])
        .assert()
        .success()
        .stderr("");
    // Under --json, stderr holds JSON objects only: warnings included.
    std::fs::remove_file(t.dir().join("keydir.hint")).ok();
    let out = t.hoard().args(["--json", "get", "k"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("no hint"),
        "a warning is expected: {stderr}"
    );
    for line in stderr.lines() {
        let doc: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(doc["warning"].is_string(), "{line}");
    }
}
