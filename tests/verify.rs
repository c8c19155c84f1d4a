//! `hoard verify` finds each kind of damage with the right file and offset
//! (exit 4) and passes a clean store (exit 0); `--repair` backs up, keeps
//! every record that passes its checksum, and leaves a store that verifies.

mod common;

use std::path::PathBuf;

use common::{TestDir, snapshot_dir};
use hoardhaven::bitcask::{FileId, HINT_FILE};
use hoardhaven::format::hint::{self, HintFile, HintMeta, Slot};
use predicates::prelude::*;

const KEYS: usize = 20;

fn value(i: usize) -> String {
    format!("value-{i:02}-{}", "v".repeat(20))
}

/// A store of KEYS keys in one data file, all covered by the hint.
fn store() -> (TestDir, PathBuf) {
    let t = TestDir::new();
    for i in 0..KEYS {
        t.put(&format!("key-{i:02}"), &value(i));
    }
    t.hoard().args(["-q", "hint"]).assert().success();
    let file = t.data_files()[0].clone();
    (t, file)
}

/// Length of a format-2 record header.
const RECORD_HEADER: usize = 32;

/// Offset of the first record of key `i`, and of its value's bytes.
fn find(file: &PathBuf, i: usize) -> (u64, usize) {
    let bytes = std::fs::read(file).unwrap();
    let position = |needle: String| {
        bytes
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .unwrap()
    };
    let key_at = position(format!("key-{i:02}"));
    ((key_at - RECORD_HEADER) as u64, position(value(i)))
}

fn flip(path: &PathBuf, at: usize, mask: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= mask;
    std::fs::write(path, bytes).unwrap();
}

fn verify_json(t: &TestDir, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = t
        .hoard()
        .args(["verify", "--json"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).expect("one JSON document"),
    )
}

fn assert_all_but(t: &TestDir, lost: &[usize]) {
    for i in 0..KEYS {
        let key = format!("key-{i:02}");
        if lost.contains(&i) {
            t.hoard().args(["-q", "get", &key]).assert().code(1);
        } else {
            t.hoard()
                .args(["-q", "get", &key])
                .assert()
                .success()
                .stdout(value(i));
        }
    }
}

#[test]
fn a_clean_store_verifies_with_exit_0() {
    let (t, _) = store();
    t.hoard().arg("verify").assert().success().stdout(
        predicate::str::contains(format!("({KEYS} records")).and(predicate::str::contains("clean")),
    );
    let (code, doc) = verify_json(&t, &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["clean"], true);
    assert_eq!(doc["hint_entries"], KEYS);
}

#[test]
fn damage_in_a_value_a_key_and_a_record_header_is_found_at_its_offset() {
    for (label, target) in [
        ("value", "value-07"),
        ("key", "key-07"),
        ("header", "header"),
    ] {
        let (t, file) = store();
        let (record, at) = find(&file, 7);
        match target {
            "value-07" => flip(&file, at + 3, 0x01),
            "key-07" => flip(&file, record as usize + RECORD_HEADER + 5, 0x01),
            _ => flip(&file, record as usize + 13, 0x01), // inside value_len
        }
        let before = snapshot_dir(&t.dir());
        let (code, doc) = verify_json(&t, &[]);
        assert_eq!(code, 4, "{label}");
        assert_eq!(
            snapshot_dir(&t.dir()),
            before,
            "verify changed the store ({label})"
        );
        let problems = doc["problems"].as_array().unwrap();
        let data: Vec<_> = problems
            .iter()
            .filter(|p| p["file"] == "0000000001-00000.data")
            .collect();
        assert_eq!(data.len(), 1, "{label}: {problems:?}");
        assert_eq!(data[0]["offset"].as_u64().unwrap(), record, "{label}");
        assert_eq!(data[0]["corruption"], true);
        // The records after the damage were still read (resynchronised).
        assert_eq!(doc["records"], KEYS - 1, "{label}");
        t.hoard()
            .arg("verify")
            .assert()
            .code(4)
            .stdout(predicate::str::contains(format!(
                "CORRUPT 0000000001-00000.data offset {record}"
            )));
    }
}

#[test]
fn damage_in_the_file_header_is_found_at_offset_0() {
    let (t, file) = store();
    flip(&file, 2, 0x20);
    let (code, doc) = verify_json(&t, &[]);
    assert_eq!(code, 4);
    let first = &doc["problems"][0];
    assert_eq!(first["file"], "0000000001-00000.data");
    assert_eq!(first["offset"], 0);
    assert!(first["what"].as_str().unwrap().contains("file header"));
    assert_eq!(doc["records"], KEYS);
}

/// Offset of the hint's slots in a store of one data file: header and
/// metadata, then one file-table entry.
const HINT_SLOTS_AT: usize = 112 + 32;

/// What `verify` reports when it finds exactly one problem, in the hint,
/// at its first block (exit 4): the problem's text.
fn the_one_problem_at_the_first_hint_block(t: &TestDir) -> String {
    let (code, doc) = verify_json(t, &[]);
    assert_eq!(code, 4);
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["file"], HINT_FILE);
    assert_eq!(problems[0]["offset"], HINT_SLOTS_AT);
    problems[0]["what"].as_str().unwrap().to_string()
}

#[test]
fn damage_in_the_hint_is_found_at_its_block() {
    let (t, _) = store();
    flip(&t.dir().join(HINT_FILE), HINT_SLOTS_AT + 5, 0x04);
    assert!(the_one_problem_at_the_first_hint_block(&t).contains("checksum"));
}

#[test]
fn damage_in_a_packed_hints_high_halves_is_found_at_its_block() {
    let (t, _) = store();
    let hint_path = t.dir().join(HINT_FILE);
    let bytes = std::fs::read(&hint_path).unwrap();
    assert_eq!(
        u32::from_le_bytes(bytes[92..96].try_into().unwrap()),
        1,
        "packed"
    );
    let slot_count = u64::from_le_bytes(bytes[72..80].try_into().unwrap());
    let highs_at = HINT_SLOTS_AT + 8 * slot_count as usize;
    // The first slot's high half: the words are intact, the block's CRC
    // (which covers both) is not.
    flip(&hint_path, highs_at, 0x10);
    let what = the_one_problem_at_the_first_hint_block(&t);
    assert!(
        what.contains("block 0 fails its checksum")
            && what.contains(&format!("high halves are at offset {highs_at}")),
        "{what}"
    );
    // A reader still answers right, from the data files.
    t.hoard()
        .args(["get", "key-03"])
        .assert()
        .success()
        .stdout(value(3));
}

#[test]
fn a_hint_entry_pointing_at_an_older_record_is_found() {
    let (t, file) = store();
    let (old_record, _) = find(&file, 3);
    t.put("key-03", "newer");
    t.hoard().args(["-q", "hint"]).assert().success();
    // Rebuild a well-formed hint whose entry for key-03 points at the old record.
    let len = std::fs::metadata(&file).unwrap().len();
    let id = FileId::parse("0000000001-00000.data").unwrap().0;
    let mut slots = Vec::new();
    for i in 0..KEYS {
        let key = format!("key-{i:02}");
        let offset = if i == 3 { old_record } else { find(&file, i).0 };
        slots.push(Slot {
            fingerprint: hint::fingerprint(key.as_bytes()),
            file_index: 0,
            offset,
        });
    }
    let meta = HintMeta::new(
        id,
        len,
        vec![HintFile {
            id,
            uid: u64::from_le_bytes(std::fs::read(&file).unwrap()[24..32].try_into().unwrap()),
            len,
            records: u64::MAX,
        }],
    );
    std::fs::write(t.dir().join(HINT_FILE), hint::encode(meta, &slots)).unwrap();
    let (code, doc) = verify_json(&t, &[]);
    assert_eq!(code, 4);
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]["what"]
            .as_str()
            .unwrap()
            .contains("not its newest"),
        "{problems:?}"
    );
    assert_eq!(problems[0]["file"], HINT_FILE);
}

#[test]
fn a_torn_tail_is_noted_but_is_not_corruption() {
    let (t, file) = store();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    std::io::Write::write_all(&mut f, &[7, 7, 7, 7, 5, 0, 0, 0]).unwrap();
    drop(f);
    let (code, doc) = verify_json(&t, &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["clean"], true);
    assert!(
        doc["problems"][0]["what"]
            .as_str()
            .unwrap()
            .starts_with("torn tail")
    );
    assert_eq!(doc["problems"][0]["corruption"], false);
}

#[test]
fn repair_keeps_every_intact_record_backs_up_and_verifies_clean() {
    let (t, file) = store();
    let (_, at7) = find(&file, 7);
    let (record12, _) = find(&file, 12);
    flip(&file, at7 + 2, 0x01);
    flip(&file, record12 as usize + 5, 0x10); // key_len of key-12
    let damaged = std::fs::read(&file).unwrap();

    let before = snapshot_dir(&t.dir());
    let (code, doc) = verify_json(&t, &["--repair", "--dry-run"]);
    assert_eq!(code, 4, "a dry run leaves the store corrupt");
    assert_eq!(
        snapshot_dir(&t.dir()),
        before,
        "a dry run changed the store"
    );
    assert_eq!(doc["repair"]["files"][0]["kept_records"], KEYS - 2);

    let (code, doc) = verify_json(&t, &["--repair"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["after_repair"]["clean"], true);
    let repaired = &doc["repair"]["files"][0];
    assert_eq!(repaired["kept_records"], KEYS - 2);
    assert_eq!(repaired["lost"].as_array().unwrap().len(), 2);
    let backup = PathBuf::from(doc["repair"]["backup_dir"].as_str().unwrap());
    assert_eq!(
        std::fs::read(backup.join("0000000001-00000.data")).unwrap(),
        damaged,
        "the backup must hold the original bytes"
    );
    t.hoard().arg("verify").assert().success();
    assert_all_but(&t, &[7, 12]);
    t.put("after", "repair");
    t.hoard()
        .args(["get", "after"])
        .assert()
        .success()
        .stdout("repair");
}

#[test]
fn repair_of_a_damaged_file_header_keeps_every_record() {
    let (t, file) = store();
    flip(&file, 9, 0x01);
    // The header names the identity every record's checksum is bound to:
    // reads through a damaged one fail rather than trust it.
    t.hoard()
        .arg("get")
        .arg("key-01")
        .assert()
        .code(4)
        .stderr(predicate::str::contains("offset 0"));
    t.hoard()
        .args(["verify", "--repair"])
        .assert()
        .success()
        .stdout(predicate::str::contains("fresh header"));
    t.hoard().arg("verify").assert().success();
    assert_all_but(&t, &[]);
}

#[test]
fn repair_of_a_damaged_hint_rebuilds_it() {
    let (t, _) = store();
    flip(&t.dir().join(HINT_FILE), 120, 0x01);
    t.hoard().arg("verify").assert().code(4);
    t.hoard().args(["verify", "--repair"]).assert().success();
    t.hoard().arg("verify").assert().success();
    assert_all_but(&t, &[]);
}

#[test]
fn repair_cuts_a_torn_tail_without_a_backup() {
    let (t, file) = store();
    // The records end before the file may (zeros can be preallocated after them).
    let out = t.hoard().args(["inspect", "--json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let records_end = doc["files"][0]["bytes"].as_u64().unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    std::io::Write::write_all(&mut f, &[1, 2, 3]).unwrap();
    drop(f);
    t.hoard().args(["verify", "--repair"]).assert().success();
    assert_eq!(std::fs::metadata(&file).unwrap().len(), records_end);
    assert!(
        !snapshot_dir(&t.dir())
            .0
            .iter()
            .any(|(n, _)| n.starts_with("backup-"))
    );
}

#[test]
fn a_read_of_damaged_data_points_to_verify() {
    let (t, file) = store();
    let (_, at) = find(&file, 5);
    flip(&file, at, 0x01);
    t.hoard()
        .args(["get", "key-05"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("hoard verify --repair"));
}
