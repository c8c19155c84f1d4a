//! `hoard upgrade` on the format-1 fixture stores (made by the format-1
//! build, kept in tests/fixtures/format1/): every other command refuses
//! them and changes nothing; the upgrade carries every live key over
//! exactly, keeps the originals, and survives a crash at each step.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{TestDir, hoard_at, snapshot_dir};
use predicates::prelude::*;

/// What each fixture holds (see how tests/fixtures/format1 was made).
fn expected(engine: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut map = BTreeMap::new();
    match engine {
        "bitcask" => {
            for i in 1..=40 {
                map.insert(
                    format!("key{i}").into_bytes(),
                    format!("value-{i}-{}", "x".repeat(i)).into_bytes(),
                );
            }
            for i in [41, 42] {
                map.insert(format!("key{i}").into_bytes(), format!("v{i}").into_bytes());
            }
            map.remove(b"key7".as_slice());
            map.insert(b"forever".to_vec(), b"persist".to_vec());
        }
        _ => {
            for i in 1..=30 {
                map.insert(
                    format!("key{i}").into_bytes(),
                    format!("mvalue-{i}").into_bytes(),
                );
            }
        }
    }
    map.remove(b"key3".as_slice());
    map.insert(b"key5".to_vec(), b"overwritten".to_vec());
    map.insert(b"expires-late".to_vec(), b"later".to_vec());
    map.insert(b"bin\xfekey".to_vec(), b"bin\xffval\x00ue".to_vec());
    map
}

/// A copy of fixture `engine` at `t.dir()`.
fn fixture(engine: &str) -> TestDir {
    TestDir::from_fixture(&format!("format1/{engine}"))
}

fn assert_contents(dir: &Path, expected: &BTreeMap<Vec<u8>, Vec<u8>>) {
    let out = hoard_at(dir).args(["keys", "-0"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: Vec<Vec<u8>> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|k| !k.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(keys, expected.keys().cloned().collect::<Vec<_>>());
    for (key, value) in expected {
        let key = std::ffi::OsStr::from_encoded_bytes_checked(key).unwrap();
        hoard_at(dir)
            .arg("get")
            .arg(key)
            .assert()
            .success()
            .stdout(value.clone());
    }
}

trait FromBytes {
    fn from_encoded_bytes_checked(bytes: &[u8]) -> Option<&std::ffi::OsStr>;
}

impl FromBytes for std::ffi::OsStr {
    fn from_encoded_bytes_checked(bytes: &[u8]) -> Option<&std::ffi::OsStr> {
        use std::os::unix::ffi::OsStrExt;
        Some(std::ffi::OsStr::from_bytes(bytes))
    }
}

#[test]
fn every_command_but_upgrade_refuses_a_format_1_store_and_changes_nothing() {
    for engine in ["bitcask", "memory"] {
        let t = fixture(engine);
        let before = snapshot_dir(&t.dir());
        for args in [
            vec!["get", "key1"],
            vec!["put", "k", "v"],
            vec!["del", "key1"],
            vec!["keys"],
            vec!["inspect"],
            vec!["verify"],
            vec!["verify", "--repair"],
            vec!["merge"],
            vec!["hint"],
            vec!["export"],
        ] {
            t.hoard().args(&args).assert().code(5).stderr(
                predicate::str::contains("format 1").and(predicate::str::contains("hoard upgrade")),
            );
        }
        assert_eq!(
            snapshot_dir(&t.dir()),
            before,
            "{engine}: a refused command changed the store"
        );
        assert!(
            !t.dir().join("LOCK").exists(),
            "{engine}: a refused command created LOCK"
        );
    }
}

#[test]
fn upgrade_carries_every_live_key_over_and_keeps_the_originals() {
    for engine in ["bitcask", "memory"] {
        let t = fixture(engine);
        let originals = snapshot_dir(&t.dir());
        t.hoard()
            .arg("upgrade")
            .assert()
            .success()
            .stderr(predicate::str::contains("from format 1 to 2"));
        assert!(
            std::fs::read_to_string(t.dir().join("HOARD"))
                .unwrap()
                .contains("format 2\n")
        );
        assert_contents(&t.dir(), &expected(engine));
        t.hoard().arg("verify").assert().success();
        // The format-1 files are kept, byte for byte.
        let backup = snapshot_dir(&t.dir().join("format1-backup"));
        for (name, bytes) in &backup.0 {
            let original = originals.0.iter().find(|(n, _)| n == name).unwrap();
            assert_eq!(&original.1, bytes, "{engine}: {name}");
        }
        assert_eq!(
            backup.0.len(),
            originals.0.len() - 1,
            "{engine}: every file but HOARD"
        );
        // A second upgrade has nothing to do; writes work.
        t.hoard()
            .arg("upgrade")
            .assert()
            .success()
            .stderr(predicate::str::contains("nothing to do"));
        t.put("after", "upgrade");
        t.hoard()
            .args(["get", "after"])
            .assert()
            .success()
            .stdout("upgrade");
    }
}

#[test]
fn a_crash_at_each_step_of_an_upgrade_loses_nothing() {
    for engine in ["bitcask", "memory"] {
        for point in [
            "upgrade-after-first-move",
            "upgrade-after-move",
            "upgrade-before-index",
            "upgrade-before-manifest",
        ] {
            let t = fixture(engine);
            t.hoard()
                .arg("upgrade")
                .env("HOARD_FAILPOINT", point)
                .assert()
                .failure();
            // Still format 1: refused by everything but upgrade...
            t.hoard().args(["get", "key1"]).assert().code(5);
            // ...which finishes the job.
            t.hoard().arg("upgrade").assert().success();
            assert_contents(&t.dir(), &expected(engine));
            t.hoard().arg("verify").assert().success();
        }
    }
}
