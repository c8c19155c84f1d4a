//! The memory engine's persistence: a crash at each step of a snapshot
//! (and of the automatic AOF rewrite) loses nothing; a torn AOF tail is
//! dropped at every offset; damage in the snapshot or in the middle of the
//! AOF is corruption (exit 4); `snapshot --to` copies either engine.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{TestDir, snapshot_dir};
use hoardhaven::format::record::encoded_len;
use hoardhaven::{Access, OpenOptions, PutOptions, Store};
use predicates::prelude::*;

fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

/// A memory store with a snapshot and an AOF after it; returns its contents.
fn memory_store(t: &TestDir) -> BTreeMap<String, String> {
    let mut expected = BTreeMap::new();
    for i in 0..30 {
        t.put(&format!("k{i:02}"), &format!("first-{i}"));
        expected.insert(format!("k{i:02}"), format!("first-{i}"));
    }
    t.hoard().args(["-q", "snapshot"]).assert().success();
    for i in (0..30).step_by(3) {
        t.put(&format!("k{i:02}"), &format!("second-{i}"));
        expected.insert(format!("k{i:02}"), format!("second-{i}"));
    }
    t.hoard().args(["del", "k01", "k02"]).assert().success();
    expected.remove("k01");
    expected.remove("k02");
    expected
}

fn assert_contents(t: &TestDir, expected: &BTreeMap<String, String>) {
    let listed = t
        .hoard()
        .args(["-q", "keys"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let keys: String = expected.keys().map(|k| format!("{k}\n")).collect();
    assert_eq!(String::from_utf8(listed).unwrap(), keys);
    for (k, v) in expected {
        t.hoard()
            .args(["-q", "get", k])
            .assert()
            .success()
            .stdout(v.clone());
    }
}

#[test]
fn a_crash_at_each_step_of_a_snapshot_loses_nothing() {
    for point in [
        "snapshot-after-new-aof",
        "snapshot-after-seal",
        "snapshot-after-aof-switch",
        "snapshot-before-rename",
        "snapshot-after-snapshot",
        "snapshot-after-first-removal",
    ] {
        let t = TestDir::with_engine("memory");
        let expected = memory_store(&t);
        t.hoard()
            .env("HOARD_FAILPOINT", point)
            .arg("snapshot")
            .assert()
            .failure()
            .stderr(predicate::str::contains(format!("failpoint {point}")));
        assert_contents(&t, &expected);
        // Writes go on, and the next snapshot completes and tidies up.
        t.put("after", "crash");
        let mut expected = expected;
        expected.insert("after".into(), "crash".into());
        t.hoard().args(["-q", "snapshot"]).assert().success();
        assert_contents(&t, &expected);
        assert_eq!(files_ending(&t.dir(), ".snapshot").len(), 1, "{point}");
        assert_eq!(files_ending(&t.dir(), ".aof").len(), 1, "{point}");
        assert!(files_ending(&t.dir(), ".tmp").is_empty(), "{point}");
    }
}

#[test]
fn a_large_aof_is_rewritten_into_a_snapshot_when_a_writer_closes() {
    let t = TestDir::with_engine("memory");
    let value = "x".repeat(600);
    let mut input = String::new();
    for i in 0..2000 {
        input.push_str(&format!("key-{i}\t{value}\n"));
    }
    t.hoard()
        .args(["-q", "import", "--format", "tsv"])
        .write_stdin(input)
        .assert()
        .success();
    let snapshots = files_ending(&t.dir(), ".snapshot");
    assert_eq!(
        snapshots.len(),
        1,
        "a 1.2 MB AOF must be rewritten at close"
    );
    let aof = &files_ending(&t.dir(), ".aof")[0];
    assert_eq!(
        std::fs::metadata(aof).unwrap().len(),
        48,
        "the fresh AOF holds only its 48-byte header"
    );
    t.hoard()
        .args(["get", "key-1999"])
        .assert()
        .success()
        .stdout(value.clone());
    // A crash during that automatic rewrite loses nothing either.
    let t = TestDir::with_engine("memory");
    let mut input = String::new();
    for i in 0..2000 {
        input.push_str(&format!("key-{i}\t{value}\n"));
    }
    t.hoard()
        .env("HOARD_FAILPOINT", "snapshot-after-snapshot")
        .args(["import", "--format", "tsv"])
        .write_stdin(input)
        .assert()
        .failure();
    for i in [0, 999, 1999] {
        t.hoard()
            .args(["-q", "get", &format!("key-{i}")])
            .assert()
            .success()
            .stdout(value.clone());
    }
}

#[test]
fn truncating_the_aof_at_every_offset_of_its_last_record_loses_only_that_record() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let t = TestDir {
        tmp: tempfile::tempdir().unwrap(),
    };
    t.hoard()
        .args(["-q", "init", "--engine", "memory"])
        .assert()
        .success();
    for (k, v) in [("alpha", "one"), ("beta", "two")] {
        t.put(k, v);
    }
    std::fs::rename(t.dir(), &original).unwrap();
    let aof = files_ending(&original, ".aof").pop().unwrap();
    let start = std::fs::metadata(&aof).unwrap().len();
    {
        let store = Store::open(&original, &OpenOptions::new(Access::Write)).unwrap();
        store
            .put(b"last", b"the interrupted one", PutOptions::default())
            .unwrap();
        store.close().unwrap();
    }
    let end = std::fs::metadata(&aof).unwrap().len();
    let name = aof.file_name().unwrap();
    for cut in start..end {
        let dir = tmp.path().join(format!("cut-{cut}"));
        std::fs::create_dir(&dir).unwrap();
        for entry in std::fs::read_dir(&original).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join(name))
            .unwrap();
        f.set_len(cut).unwrap();
        drop(f);
        {
            let reader = Store::open(&dir, &OpenOptions::new(Access::Read)).unwrap();
            assert_eq!(
                reader.take_notices().len(),
                usize::from(cut > start),
                "cut {cut}"
            );
            assert_eq!(reader.get(b"beta").unwrap().unwrap().bytes, b"two");
            assert_eq!(reader.get(b"last").unwrap(), None);
        }
        assert_eq!(
            std::fs::metadata(dir.join(name)).unwrap().len(),
            cut,
            "a reader changed the AOF"
        );
        let writer = Store::open(&dir, &OpenOptions::new(Access::Write)).unwrap();
        if cut > start {
            assert!(
                writer.take_notices()[0].contains("dropped a torn write"),
                "cut {cut}"
            );
        }
        writer
            .put(b"next", b"after", PutOptions::default())
            .unwrap();
        writer.close().unwrap();
        let expected_len = start + encoded_len(4, 5) as u64;
        assert_eq!(
            std::fs::metadata(dir.join(name)).unwrap().len(),
            expected_len,
            "cut {cut}"
        );
        let reader = Store::open(&dir, &OpenOptions::new(Access::Read)).unwrap();
        assert_eq!(reader.get(b"alpha").unwrap().unwrap().bytes, b"one");
        assert_eq!(reader.get(b"next").unwrap().unwrap().bytes, b"after");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_flipped_bit_in_the_snapshot_is_corruption() {
    let t = TestDir::with_engine("memory");
    memory_store(&t);
    let snapshot = files_ending(&t.dir(), ".snapshot").pop().unwrap();
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x08;
    std::fs::write(&snapshot, &bytes).unwrap();
    let before = snapshot_dir(&t.dir());
    t.hoard()
        .args(["get", "k05"])
        .assert()
        .code(4)
        .stdout("")
        .stderr(
            predicate::str::contains(snapshot.file_name().unwrap().to_string_lossy().to_string())
                .and(predicate::str::contains("hoard verify --repair")),
        );
    t.hoard().args(["put", "k", "v"]).assert().code(4);
    assert_eq!(
        snapshot_dir(&t.dir()),
        before,
        "a failed open changed the store"
    );
}

#[test]
fn a_flipped_bit_in_the_middle_of_the_aof_is_corruption() {
    let t = TestDir::with_engine("memory");
    memory_store(&t);
    let aof = files_ending(&t.dir(), ".aof").pop().unwrap();
    let mut bytes = std::fs::read(&aof).unwrap();
    let at = bytes.windows(8).position(|w| w == b"second-3").unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(&aof, &bytes).unwrap();
    t.hoard().args(["get", "k00"]).assert().code(4).stderr(
        predicate::str::contains(aof.file_name().unwrap().to_string_lossy().to_string())
            .and(predicate::str::contains("checksum mismatch"))
            .and(predicate::str::contains("hoard verify --repair")),
    );
}

#[test]
fn snapshot_to_writes_a_copy_that_opens_as_a_store_for_both_engines() {
    for engine in ["bitcask", "memory"] {
        let t = TestDir::with_engine(engine);
        let mut expected = BTreeMap::new();
        for i in 0..40 {
            t.put(&format!("k{i:02}"), &format!("v{i}"));
            expected.insert(format!("k{i:02}"), format!("v{i}"));
        }
        t.hoard().args(["del", "k07"]).assert().success();
        expected.remove("k07");
        t.hoard()
            .args(["put", "gone", "soon", "--ttl", "50ms"])
            .assert()
            .success();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let before = snapshot_dir(&t.dir());
        let copy = t.tmp.path().join("copy");
        t.hoard()
            .arg("snapshot")
            .arg("--to")
            .arg(&copy)
            .assert()
            .success()
            .stdout("");
        assert_eq!(
            snapshot_dir(&t.dir()),
            before,
            "{engine}: the source changed"
        );
        let c = TestDir {
            tmp: tempfile::tempdir().unwrap(),
        };
        std::fs::rename(&copy, c.dir()).unwrap();
        assert_contents(&c, &expected);
        let manifest = std::fs::read_to_string(c.dir().join("HOARD")).unwrap();
        assert!(manifest.contains(&format!("engine {engine}")));
        // The copy is independent.
        c.put("only-in-copy", "x");
        t.hoard().args(["get", "only-in-copy"]).assert().code(1);
        // An existing destination is refused.
        t.hoard()
            .arg("snapshot")
            .arg("--to")
            .arg(c.dir())
            .assert()
            .code(2);
    }
}

#[test]
fn snapshot_without_to_is_refused_on_a_bitcask_store() {
    let t = TestDir::new();
    t.put("k", "v");
    t.hoard()
        .arg("snapshot")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("memory stores"));
}

#[test]
fn verify_and_repair_cover_the_memory_engine() {
    let t = TestDir::with_engine("memory");
    let expected = memory_store(&t);
    t.hoard()
        .arg("verify")
        .assert()
        .success()
        .stdout(predicate::str::contains("clean"));
    let aof = files_ending(&t.dir(), ".aof").pop().unwrap();
    let mut bytes = std::fs::read(&aof).unwrap();
    let at = bytes.windows(8).position(|w| w == b"second-6").unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(&aof, &bytes).unwrap();
    let damaged = bytes;
    let out = t.hoard().args(["verify", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problem = &doc["problems"][0];
    assert_eq!(
        problem["file"],
        aof.file_name().unwrap().to_string_lossy().to_string()
    );
    assert_eq!(
        problem["offset"].as_u64().unwrap(),
        (at - 32 - 3) as u64,
        "offset of the damaged record (32-byte record header, 3-byte key)"
    );

    let out = t
        .hoard()
        .args(["verify", "--repair", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["after_repair"]["clean"], true);
    let backup = PathBuf::from(doc["repair"]["backup_dir"].as_str().unwrap());
    assert_eq!(
        std::fs::read(backup.join(aof.file_name().unwrap())).unwrap(),
        damaged
    );
    t.hoard().arg("verify").assert().success();
    // Everything but the lost write survives; k06 falls back to its snapshot value.
    let mut expected = expected;
    expected.insert("k06".into(), "first-6".into());
    assert_contents(&t, &expected);
}

#[test]
fn verify_finds_a_damaged_snapshot_and_repair_keeps_the_aof() {
    let t = TestDir::with_engine("memory");
    memory_store(&t);
    let snapshot = files_ending(&t.dir(), ".snapshot").pop().unwrap();
    let mut bytes = std::fs::read(&snapshot).unwrap();
    bytes[70] ^= 0x02; // inside the first chunk (48-byte file header, 16-byte chunk header)
    std::fs::write(&snapshot, &bytes).unwrap();
    t.hoard()
        .arg("verify")
        .assert()
        .code(4)
        .stdout(predicate::str::contains(format!(
            "CORRUPT {} offset 48",
            snapshot.file_name().unwrap().to_string_lossy()
        )));
    t.hoard().args(["verify", "--repair"]).assert().success();
    t.hoard().arg("verify").assert().success();
    // The snapshot's only chunk was lost; the AOF's writes after it remain.
    t.hoard()
        .args(["get", "k03"])
        .assert()
        .success()
        .stdout("second-3");
    t.hoard().args(["get", "k04"]).assert().code(1);
}

#[test]
fn inspect_json_counts_match_a_memory_store() {
    let t = TestDir::with_engine("memory");
    let expected = memory_store(&t);
    let out = t
        .hoard()
        .args(["inspect", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["engine"], "memory");
    assert_eq!(doc["keys"].as_u64().unwrap(), expected.len() as u64);
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(
        files[0]["records"], 30,
        "the snapshot holds the first 30 keys"
    );
    assert_eq!(
        files[1]["records"],
        10 + 2,
        "the AOF holds 10 overwrites and 2 deletions"
    );
    // Bytes of records (and header): under `always` the AOF is written
    // ahead with zeros, which inspect does not count. The last record, a
    // tombstone, ends with its key, so the records end at the last byte
    // that is not zero.
    let aof = std::fs::read(files_ending(&t.dir(), ".aof").pop().unwrap()).unwrap();
    let records_end = aof.iter().rposition(|b| *b != 0).unwrap() + 1;
    assert!(aof.len() > records_end, "the AOF is preallocated");
    assert_eq!(files[1]["bytes"].as_u64().unwrap(), records_end as u64);
}

#[test]
fn memory_store_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDir::new();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000 && \"$0\" -q -d \"$1\" init --engine memory && \"$0\" -d \"$1\" put k v && \"$0\" -q -d \"$1\" snapshot")
        .arg(assert_cmd::cargo::cargo_bin("hoard"))
        .arg(t.dir())
        .env_remove("HOARD_DIR")
        .status()
        .unwrap();
    assert!(status.success());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&t.dir()), 0o700);
    let files: Vec<PathBuf> = std::fs::read_dir(t.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".snapshot"))
    );
    assert!(files.iter().any(|p| p.to_string_lossy().ends_with(".aof")));
    for path in files {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}
