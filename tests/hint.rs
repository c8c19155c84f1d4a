//! The hint: a store opened with a missing, truncated, bit-flipped, lying
//! or outdated hint still gives exactly the right answers; writers repair
//! it; a crash while rewriting it loses nothing.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::TestDir;
use hoardhaven::bitcask::HINT_FILE;
use hoardhaven::format::hint::{self, HintMeta, Slot};
use hoardhaven::{Access, OpenOptions, PutOptions, Store};
use predicates::prelude::*;

/// Writes `count` keys (some deleted, some overwritten) through the library
/// in several sessions; returns the expected contents.
fn populate(dir: &Path, count: usize) -> BTreeMap<String, String> {
    let mut expected = BTreeMap::new();
    for session in 0..3 {
        let store = Store::open(dir, &OpenOptions::new(Access::Write)).unwrap();
        for i in 0..count {
            let key = format!("key-{i:05}");
            if session == 2 && i % 7 == 0 {
                store.delete(key.as_bytes()).unwrap();
                expected.remove(&key);
            } else if session == 0 || i % 3 == 0 {
                let value = format!("value-{i}-{session}");
                store
                    .put(key.as_bytes(), value.as_bytes(), PutOptions::default())
                    .unwrap();
                expected.insert(key, value);
            }
        }
        store.close().unwrap();
    }
    expected
}

/// Asserts every answer through the library, for a reader and then a writer.
fn assert_contents(dir: &Path, expected: &BTreeMap<String, String>, count: usize) {
    for access in [Access::Read, Access::Write] {
        let store = Store::open(dir, &OpenOptions::new(access)).unwrap();
        for i in 0..count {
            let key = format!("key-{i:05}");
            let got = store
                .get(key.as_bytes())
                .unwrap()
                .map(|v| String::from_utf8(v.bytes).unwrap());
            assert_eq!(got.as_ref(), expected.get(&key), "{key} ({access:?})");
        }
        let keys: Vec<String> = store
            .keys(b"", None)
            .unwrap()
            .into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect();
        assert_eq!(
            keys,
            expected.keys().cloned().collect::<Vec<_>>(),
            "{access:?}"
        );
        store.close().unwrap();
    }
}

fn hint_bytes(t: &TestDir) -> Vec<u8> {
    std::fs::read(t.dir().join(HINT_FILE)).unwrap()
}

fn fresh_hint(t: &TestDir) {
    t.hoard().args(["-q", "hint"]).assert().success();
}

#[test]
fn hint_reports_its_size_and_stays_under_32_bytes_per_key() {
    let t = TestDir::new();
    let expected = populate(&t.dir(), 3000);
    let out = t
        .hoard()
        .args(["hint", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["entries"].as_u64().unwrap(), expected.len() as u64);
    let bytes = doc["bytes"].as_u64().unwrap();
    assert_eq!(bytes, hint_bytes(&t).len() as u64);
    assert!(
        (bytes as f64 / expected.len() as f64) < 32.0,
        "{bytes} bytes"
    );
    t.hoard()
        .arg("hint")
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "wrote the hint: {} keys",
            expected.len()
        )));
}

#[test]
fn a_missing_hint_is_reported_and_rewritten_by_the_next_writer() {
    let t = TestDir::new();
    let expected = populate(&t.dir(), 500);
    std::fs::remove_file(t.dir().join(HINT_FILE)).unwrap();
    t.hoard()
        .args(["get", "key-00001"])
        .assert()
        .success()
        .stderr(predicate::str::contains("there is no hint"));
    assert!(!t.dir().join(HINT_FILE).exists(), "a reader wrote a hint");
    t.hoard()
        .args(["put", "new", "v"])
        .assert()
        .success()
        .stderr(predicate::str::contains("there is no hint"));
    assert!(t.dir().join(HINT_FILE).exists());
    t.hoard()
        .args(["get", "key-00001"])
        .assert()
        .success()
        .stderr("");
    let mut expected = expected;
    expected.insert("new".into(), "v".into());
    // "new" sorts after every key-NNNNN, so the listing checks still hold.
    assert_contents(&t.dir(), &expected, 500);
}

#[test]
fn a_truncated_hint_is_detected_and_answers_stay_right() {
    let t = TestDir::new();
    let expected = populate(&t.dir(), 500);
    fresh_hint(&t);
    let bytes = hint_bytes(&t);
    for len in [0, 16, 40, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(t.dir().join(HINT_FILE), &bytes[..len]).unwrap();
        t.hoard()
            .args(["get", "key-00002"])
            .assert()
            .success()
            .stderr(predicate::str::contains("not usable"));
        assert_contents(&t.dir(), &expected, 500);
        // The writer in assert_contents rewrote it; damage it again next round.
        assert_eq!(hint_bytes(&t).len(), bytes.len());
    }
}

#[test]
fn every_bit_flip_region_of_the_hint_leaves_answers_right() {
    let t = TestDir::new();
    let expected = populate(&t.dir(), 300);
    fresh_hint(&t);
    let bytes = hint_bytes(&t);
    // Flip one bit at a spread of offsets: header, metadata, file table, slots, block CRCs.
    let offsets: Vec<usize> = (0..bytes.len())
        .step_by(bytes.len() / 40)
        .chain([bytes.len() - 1])
        .collect();
    for at in offsets {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        std::fs::write(t.dir().join(HINT_FILE), &damaged).unwrap();
        for access in [Access::Read, Access::Write] {
            let store = Store::open(&t.dir(), &OpenOptions::new(access)).unwrap();
            for i in 0..300 {
                let key = format!("key-{i:05}");
                let got = store
                    .get(key.as_bytes())
                    .unwrap()
                    .map(|v| String::from_utf8(v.bytes).unwrap());
                assert_eq!(got.as_ref(), expected.get(&key), "flip at {at}: {key}");
            }
            let listed = store.keys(b"", None).unwrap().len();
            assert_eq!(listed, expected.len(), "flip at {at}");
            drop(store);
        }
        std::fs::write(t.dir().join(HINT_FILE), &bytes).unwrap();
    }
}

#[test]
fn a_hint_pointing_past_the_end_of_its_files_is_not_trusted() {
    let t = TestDir::new();
    let expected = populate(&t.dir(), 200);
    fresh_hint(&t);
    let data_files = t.data_files();
    let files: Vec<hint::HintFile> = data_files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            let id = hoardhaven::bitcask::FileId::parse(name).unwrap().0;
            let bytes = std::fs::read(p).unwrap();
            hint::HintFile {
                id,
                uid: u64::from_le_bytes(bytes[24..32].try_into().unwrap()),
                len: bytes.len() as u64,
                records: u64::MAX,
            }
        })
        .collect();
    let (last_id, last_len) = (files.last().unwrap().id, files.last().unwrap().len);
    // A well-formed hint (valid checksums) whose every slot lies.
    let entries: Vec<Slot> = expected
        .keys()
        .map(|k| Slot {
            fingerprint: hint::fingerprint(k.as_bytes()),
            file_index: 0,
            offset: 1 << 40,
        })
        .collect();
    let meta = HintMeta::new(last_id, last_len, files);
    std::fs::write(t.dir().join(HINT_FILE), hint::encode(meta, &entries)).unwrap();
    t.hoard()
        .args(["get", "key-00003"])
        .assert()
        .success()
        .stdout(expected["key-00003"].clone())
        .stderr(predicate::str::contains("the hint is damaged"));
    assert_contents(&t.dir(), &expected, 200);
}

#[test]
fn an_older_hint_is_completed_by_replaying_after_its_watermark() {
    let t = TestDir::new();
    let mut expected = populate(&t.dir(), 300);
    fresh_hint(&t);
    let old = hint_bytes(&t);
    {
        let store = Store::open(&t.dir(), &OpenOptions::new(Access::Write)).unwrap();
        for i in (0..300).step_by(5) {
            let key = format!("key-{i:05}");
            if i % 2 == 0 {
                store.delete(key.as_bytes()).unwrap();
                expected.remove(&key);
            } else {
                store
                    .put(key.as_bytes(), b"later", PutOptions::default())
                    .unwrap();
                expected.insert(key, "later".into());
            }
        }
        store.close().unwrap();
    }
    fresh_hint(&t);
    std::fs::write(t.dir().join(HINT_FILE), &old).unwrap();
    // The old hint is valid for the files it knows; the tail replay supplies the rest.
    t.hoard()
        .args(["get", "key-00005"])
        .assert()
        .success()
        .stdout("later")
        .stderr("");
    t.hoard()
        .args(["get", "key-00010"])
        .assert()
        .code(1)
        .stderr("");
    assert_contents(&t.dir(), &expected, 300);
}

#[test]
fn a_crash_at_each_step_of_a_hint_rebuild_loses_nothing() {
    for point in ["hint-before-rename", "hint-before-dir-sync"] {
        let t = TestDir::new();
        let expected = populate(&t.dir(), 200);
        t.hoard()
            .env("HOARD_FAILPOINT", point)
            .arg("hint")
            .assert()
            .failure()
            .stderr(predicate::str::contains(format!("failpoint {point}")));
        assert_contents(&t.dir(), &expected, 200);
        fresh_hint(&t);
        assert!(!t.dir().join(format!("{HINT_FILE}.tmp")).exists());
        assert_contents(&t.dir(), &expected, 200);
    }
}

#[test]
fn hint_on_a_store_with_a_damaged_record_fails_with_exit_4() {
    let t = TestDir::new();
    t.put("a", "AAAAAAAA");
    t.put("b", "BBBBBBBB");
    let file = t.data_files()[0].clone();
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(8).position(|w| w == b"AAAAAAAA").unwrap();
    bytes[at] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let before = hint_bytes(&t);
    t.hoard()
        .arg("hint")
        .assert()
        .code(4)
        .stderr(predicate::str::contains("checksum mismatch"));
    assert_eq!(
        hint_bytes(&t),
        before,
        "a hint was written over damaged data"
    );
}

#[test]
fn a_writer_rewrites_the_hint_once_more_than_a_mebibyte_follows_it() {
    let t = TestDir::new();
    t.put("first", "v");
    let hint_state = |t: &TestDir| {
        let out = t
            .hoard()
            .args(["inspect", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        doc["hint"].clone()
    };
    // A small write stays in the tail after the watermark...
    t.put("second", "v");
    assert!(hint_state(&t)["tail_bytes"].as_u64().unwrap() > 0);
    // ...until more than HINT_TAIL_BYTES_MAX (1 MiB) has accumulated there.
    let mut input = String::new();
    for i in 0..1500 {
        input.push_str(&format!("big-{i}\t{}\n", "x".repeat(800)));
    }
    t.hoard()
        .args(["-q", "import", "--format", "tsv"])
        .write_stdin(input)
        .assert()
        .success();
    let hint = hint_state(&t);
    assert_eq!(hint["tail_bytes"], 0, "the hint was not rewritten: {hint}");
    assert_eq!(hint["entries"], 1502);
}

/// The `slot_layout` field of the hint in `dir`: 0 wide, 1 packed.
fn slot_layout(dir: &Path) -> u32 {
    let bytes = std::fs::read(dir.join(HINT_FILE)).unwrap();
    u32::from_le_bytes(bytes[92..96].try_into().unwrap())
}

#[test]
fn a_wide_hint_from_an_earlier_build_is_used_and_rebuilt_packed() {
    // tests/fixtures/wide-hint was made by the build before packed hints:
    // `put key1..key30 value-N`, `del key3`, `put key5 overwritten`, `hint`
    // (sync interval:1000, so that its data file is not preallocated).
    let t = TestDir::from_fixture("wide-hint");
    let mut expected = BTreeMap::new();
    for i in 1..=30 {
        expected.insert(format!("key{i}"), format!("value-{i}"));
    }
    expected.remove("key3");
    expected.insert("key5".to_string(), "overwritten".to_string());
    let check = |expected: &BTreeMap<String, String>| {
        for i in 1..=30 {
            let key = format!("key{i}");
            let get = t.hoard().args(["get", &key]).assert();
            match expected.get(&key) {
                Some(value) => get.success().stdout(value.clone()).stderr(""),
                None => get.code(1),
            };
        }
    };
    let wide_len = std::fs::metadata(t.dir().join(HINT_FILE)).unwrap().len();
    assert_eq!(slot_layout(&t.dir()), 0);
    // Used as it is: no notice of a damaged or stale hint, no rewrite.
    check(&expected);
    t.hoard()
        .arg("inspect")
        .assert()
        .success()
        .stdout(predicate::str::contains("29 keys, 772 B"))
        .stderr("");
    t.hoard().arg("verify").assert().success();
    assert_eq!(slot_layout(&t.dir()), 0);

    t.hoard().args(["-q", "hint"]).assert().success();
    assert_eq!(slot_layout(&t.dir()), 1);
    let packed_len = std::fs::metadata(t.dir().join(HINT_FILE)).unwrap().len();
    assert!(packed_len < wide_len, "{packed_len} >= {wide_len}");
    check(&expected);
    t.hoard().arg("verify").assert().success();
}

#[test]
fn keys_sharing_a_fingerprint_low_half_and_a_home_slot_are_told_apart() {
    // A packed hint matches slots by the low 16 bits of the fingerprint
    // only. Three keys that share those bits and a home slot in a table
    // of 20 keys: two stored, one absent, so that every lookup of them
    // meets a matching slot that is not its key's and must read the
    // record to tell.
    const KEYS: u64 = 20;
    let slot_count = hint::Layout::Packed { offset_bits: 12 }.slot_count_for(KEYS);
    let mut groups: std::collections::HashMap<(u32, u64), Vec<String>> = Default::default();
    let trio = (0..1_000_000u32)
        .find_map(|i| {
            let key = format!("k{i}");
            let fp = hint::fingerprint(key.as_bytes());
            let group = groups
                .entry((fp & 0xffff, hint::home_slot(fp, slot_count)))
                .or_default();
            group.push(key);
            (group.len() == 3).then(|| group.clone())
        })
        .expect("three keys alike in 1M");
    let t = TestDir::new();
    t.hoard()
        .args(["-q", "init", "--sync", "interval:1000"])
        .assert()
        .success();
    t.put(&trio[0], "first");
    t.put(&trio[1], "second");
    for i in 0..KEYS - 2 {
        t.put(&format!("filler-{i}"), "x");
    }
    t.hoard().args(["-q", "hint"]).assert().success();
    let bytes = std::fs::read(t.dir().join(HINT_FILE)).unwrap();
    assert_eq!(slot_layout(&t.dir()), 1);
    assert_eq!(u64::from_le_bytes(bytes[64..72].try_into().unwrap()), KEYS);
    assert_eq!(
        u64::from_le_bytes(bytes[72..80].try_into().unwrap()),
        slot_count
    );
    let get = |key: &str| t.hoard().args(["get", key]).assert();
    get(&trio[0]).success().stdout("first").stderr("");
    get(&trio[1]).success().stdout("second").stderr("");
    get(&trio[2]).code(1).stderr("");
    t.hoard().arg("verify").assert().success();
    // With the first one deleted and the hint rebuilt, the others stand.
    t.hoard().args(["del", &trio[0]]).assert().success();
    t.hoard().args(["-q", "hint"]).assert().success();
    get(&trio[0]).code(1).stderr("");
    get(&trio[1]).success().stdout("second").stderr("");
    get(&trio[2]).code(1).stderr("");
}
