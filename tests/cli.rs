//! The command-line contract of ../shared/DESIGN.md, through the `hoard`
//! binary: every command, flag and exit code, stdout/stderr, modes.

mod common;

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt as _;

use std::process::Stdio;
use std::time::Duration;

use common::{TestDir, snapshot_dir};
use predicates::prelude::*;

fn all_bytes() -> Vec<u8> {
    (0..=255u8).collect()
}

#[test]
fn an_empty_key_is_refused_with_exit_2() {
    let t = TestDir::new();
    t.hoard()
        .args(["put", "", "v"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("keys must not be empty"));
    assert!(!t.dir().exists(), "a refused put must not create the store");
}

#[test]
fn invalid_ttls_are_usage_errors() {
    let t = TestDir::new();
    for bad in ["0", "-1s", "5w", "1.5s", "forever"] {
        t.hoard()
            .args(["put", "k", "v", "--ttl", bad])
            .assert()
            .code(2);
    }
    assert!(!t.dir().exists(), "refused puts must not create the store");
}

#[test]
fn read_commands_on_a_missing_store_exit_5_and_create_nothing() {
    let t = TestDir::new();
    for args in [
        vec!["get", "k"],
        vec!["exists", "k"],
        vec!["keys"],
        vec!["ttl", "k"],
    ] {
        t.hoard()
            .args(&args)
            .assert()
            .code(5)
            .stdout("")
            .stderr(predicate::str::contains("does not exist"));
        assert!(!t.dir().exists(), "{args:?} created the store directory");
    }
}

#[test]
fn a_write_command_creates_a_private_store_whatever_the_umask() {
    for umask in ["000", "022", "077"] {
        let t = TestDir::new();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" -d \"$1\" put k v",))
            .arg(assert_cmd::cargo::cargo_bin("hoard"))
            .arg(t.dir())
            .env_remove("HOARD_DIR")
            .status()
            .unwrap();
        assert!(status.success());
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&t.dir()), 0o700, "store dir under umask {umask}");
        for entry in std::fs::read_dir(t.dir()).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), 0o600, "{} under umask {umask}", path.display());
        }
        let manifest = std::fs::read_to_string(t.dir().join("HOARD")).unwrap();
        assert!(manifest.starts_with("hoard store\n") && manifest.contains("engine bitcask\n"));
    }
}

#[test]
fn a_directory_that_is_not_a_store_is_never_written_to() {
    let t = TestDir::new();
    let dir = t.dir();
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("precious.txt"), "mine").unwrap();
    let before = snapshot_dir(&dir);
    for args in [
        vec!["put", "k", "v"],
        vec!["get", "k"],
        vec!["del", "k"],
        vec!["init"],
    ] {
        t.hoard()
            .args(&args)
            .assert()
            .code(5)
            .stderr(predicate::str::contains("is not a hoard store"));
    }
    assert_eq!(snapshot_dir(&dir), before);
}

#[test]
fn an_empty_existing_directory_is_not_a_store_except_for_init() {
    let t = TestDir::new();
    std::fs::create_dir(t.dir()).unwrap();
    for args in [["put", "k", "v"].as_slice(), &["get", "k"]] {
        t.hoard()
            .args(args)
            .assert()
            .code(5)
            .stderr(predicate::str::contains(
                "is an empty directory without a HOARD manifest (`hoard init` makes a store of it",
            ));
    }
    t.hoard().arg("init").assert().success().stdout("");
    t.hoard().args(["put", "k", "v"]).assert().success();
}

#[test]
fn a_file_where_the_store_should_be_is_not_a_store() {
    let t = TestDir::new();
    std::fs::write(t.dir(), "not a directory").unwrap();
    t.hoard()
        .args(["put", "k", "v"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("not a directory"));
    t.hoard().arg("init").assert().code(5);
    assert_eq!(std::fs::read_to_string(t.dir()).unwrap(), "not a directory");
}

#[test]
fn a_damaged_manifest_is_reported_as_corruption() {
    let t = TestDir::new();
    t.put("k", "v");
    let path = t.dir().join("HOARD");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("sync always", "sync never")).unwrap();
    t.hoard()
        .args(["get", "k"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("HOARD").and(predicate::str::contains("checksum")));
}

#[test]
fn init_records_options_and_refuses_an_existing_store() {
    let t = TestDir::new();
    t.hoard()
        .args(["init", "--sync", "interval:250", "--max-file-size", "4k"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("created a bitcask store"));
    let manifest = std::fs::read_to_string(t.dir().join("HOARD")).unwrap();
    assert!(manifest.contains("sync interval:250\n"), "{manifest}");
    assert!(manifest.contains("max-file-size 4096\n"), "{manifest}");
    t.hoard()
        .arg("init")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already a hoard store"));
    t.put("k", "v");
    t.hoard().args(["get", "k"]).assert().success().stdout("v");
}

#[test]
fn init_refuses_bad_options_with_exit_2() {
    let t = TestDir::new();
    t.hoard()
        .args(["init", "--sync", "sometimes"])
        .assert()
        .code(2);
    t.hoard()
        .args(["init", "--max-file-size", "12"])
        .assert()
        .code(2);
    t.hoard()
        .args(["init", "--max-file-size", "lots"])
        .assert()
        .code(2);
    t.hoard()
        .args(["init", "--engine", "btree"])
        .assert()
        .code(2);
    assert!(!t.dir().exists());
}

#[test]
fn data_files_rotate_at_max_file_size_and_every_value_stays_readable() {
    let t = TestDir::new();
    t.hoard()
        .args(["init", "--max-file-size", "1k", "--sync", "never", "-q"])
        .assert()
        .success();
    let value = "v".repeat(300);
    for i in 0..12 {
        t.put(&format!("key{i}"), &format!("{i}{value}"));
    }
    let files = t.data_files();
    assert!(files.len() >= 4, "expected rotation, got {files:?}");
    for file in &files[..files.len() - 1] {
        assert!(std::fs::metadata(file).unwrap().len() <= 1024);
    }
    for i in 0..12 {
        t.hoard()
            .args(["get", &format!("key{i}")])
            .assert()
            .success()
            .stdout(format!("{i}{value}"));
    }
}

#[test]
fn global_options_work_before_or_after_the_command_and_from_the_environment() {
    let t = TestDir::new();
    t.put("k", "v");
    let dir = t.dir();
    let mut cmd = assert_cmd::Command::cargo_bin("hoard").unwrap();
    cmd.env_remove("HOARD_DIR")
        .args(["get", "k", "--json", "--dir"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"value\":\"v\""));
    let mut cmd = assert_cmd::Command::cargo_bin("hoard").unwrap();
    cmd.env("HOARD_DIR", &dir)
        .args(["get", "k"])
        .assert()
        .success()
        .stdout("v");
    let mut cmd = assert_cmd::Command::cargo_bin("hoard").unwrap();
    cmd.env_remove("HOARD_DIR")
        .current_dir(t.tmp.path())
        .args(["put", "default", "dir"])
        .assert()
        .success();
    assert!(
        t.tmp.path().join("data/HOARD").exists(),
        "the default store is ./data"
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let t = TestDir::new();
    t.hoard().arg("--no-such-flag").assert().code(2);
    t.hoard().arg("frobnicate").assert().code(2);
    t.hoard().arg("get").assert().code(2);
    t.hoard()
        .args(["--lock-timeout", "soon", "get", "k"])
        .assert()
        .code(2);
    t.hoard()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"));
    t.hoard()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("hoard "));
    t.hoard().assert().code(2);
}

#[test]
fn a_record_that_fails_its_checksum_is_never_returned_and_exits_4() {
    let t = TestDir::new();
    t.put("first", "AAAAAAAA");
    t.put("second", "BBBBBBBB");
    let file = &t.data_files()[0];
    let mut bytes = std::fs::read(file).unwrap();
    let at = bytes.windows(8).position(|w| w == b"AAAAAAAA").unwrap();
    bytes[at] = b'Z';
    std::fs::write(file, &bytes).unwrap();
    let record_offset = 48; // the first record follows the 48-byte file header
    t.hoard()
        .args(["get", "first"])
        .assert()
        .code(4)
        .stdout("")
        .stderr(
            predicate::str::contains("0000000001-00000.data")
                .and(predicate::str::contains(format!("offset {record_offset}")))
                .and(predicate::str::contains("checksum mismatch")),
        );
    // Opening no longer reads every record, so unrelated keys still work,
    // and the damaged one keeps failing rather than ever being returned.
    t.hoard()
        .args(["-q", "get", "second"])
        .assert()
        .success()
        .stdout("BBBBBBBB");
    t.hoard()
        .args(["-q", "put", "third", "v"])
        .assert()
        .success();
    t.hoard()
        .args(["-q", "get", "first"])
        .assert()
        .code(4)
        .stdout("");
}

#[test]
fn a_torn_tail_is_ignored_by_readers_and_dropped_by_the_next_writer() {
    let t = TestDir::new();
    t.put("a", "1");
    t.put("b", "2");
    let file = t.data_files()[0].clone();
    // Where the records end: the file may hold preallocated zeros after them.
    let out = t.hoard().args(["inspect", "--json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let good_len = doc["files"][0]["bytes"].as_u64().unwrap();
    // The first sector of a record right after the last one, its later
    // sectors never written (zeros): the trace of a crash in the middle of
    // an append into preallocated space.
    let mut torn = vec![0x11, 0x22, 0x33, 0x44, 3, 0, 0, 0, 0xd0, 0x07, 0, 0];
    let sector_end = (good_len / 512 + 1) * 512;
    torn.resize((sector_end - good_len) as usize, 0xab);
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &torn, good_len).unwrap();
    drop(f);
    let torn_len = std::fs::metadata(&file).unwrap().len();

    t.hoard()
        .args(["get", "b"])
        .assert()
        .success()
        .stdout("2")
        .stderr(predicate::str::contains("ignoring a torn write"));
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        torn_len,
        "a reader modified the file"
    );
    t.hoard()
        .args(["-q", "get", "a"])
        .assert()
        .success()
        .stdout("1")
        .stderr("");

    t.hoard().args(["put", "c", "3"]).assert().success().stderr(
        predicate::str::contains("dropped a torn write")
            .and(predicate::str::contains(format!("offset {good_len}")))
            .and(predicate::str::contains("kept in")),
    );
    // Nothing hoard decides is damage is destroyed without a copy.
    let kept: Vec<_> = std::fs::read_dir(t.dir().join("torn")).unwrap().collect();
    assert_eq!(kept.len(), 1, "one torn tail kept");
    let kept_bytes = std::fs::read(kept[0].as_ref().unwrap().path()).unwrap();
    assert_eq!(kept_bytes, torn, "the kept bytes are the torn write's");
    // inspect mentions it, so it is not forgotten.
    t.hoard()
        .arg("inspect")
        .assert()
        .success()
        .stdout(predicate::str::contains("kept aside: torn/"));
    let out = t.hoard().args(["inspect", "--json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["kept_aside"][0]["bytes"], torn.len());
    for (k, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
        t.hoard()
            .args(["get", k])
            .assert()
            .success()
            .stdout(v)
            .stderr("");
    }
}

#[test]
fn completions_and_man_print_without_a_store() {
    let t = TestDir::new();
    t.hoard()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("hoard"));
    t.hoard()
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH hoard"));
    assert!(!t.dir().exists());
}

#[test]
fn a_store_whose_parent_directory_is_missing_is_not_created() {
    let t = TestDir::new();
    let dir = t.tmp.path().join("no/such/parent/store");
    common::hoard_at(&dir)
        .args(["put", "k", "v"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(format!(
            "cannot create a store in {}: No such file or directory",
            dir.parent().unwrap().display()
        )));
    assert!(!t.tmp.path().join("no").exists());
}

#[test]
fn a_full_stdout_is_an_error_with_exit_5() {
    let t = TestDir::new();
    t.put("k", "v");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("hoard"))
        .arg("-d")
        .arg(t.dir())
        .args(["get", "k"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write to stdout"));
}

both_engines! {
    fn put_then_get_prints_the_exact_bytes_and_nothing_else(t: &TestDir) {
        t.hoard()
            .args(["put", "greeting", "hello"])
            .assert()
            .success()
            .stdout("")
            .stderr("");
        t.hoard()
            .args(["get", "greeting"])
            .assert()
            .success()
            .stdout("hello")
            .stderr("");
    }

    fn get_of_a_missing_key_exits_1_and_prints_nothing(t: &TestDir) {
        t.put("a", "1");
        t.hoard()
            .args(["get", "b"])
            .assert()
            .code(1)
            .stdout("")
            .stderr("");
    }

    fn a_value_from_stdin_is_binary_safe_with_and_without_dash(t: &TestDir) {
        let value = all_bytes().repeat(3);
        t.hoard()
            .args(["put", "omitted"])
            .write_stdin(value.clone())
            .assert()
            .success();
        t.hoard()
            .args(["put", "dash", "-"])
            .write_stdin(value.clone())
            .assert()
            .success();
        for key in ["omitted", "dash"] {
            let out = t
                .hoard()
                .args(["get", key])
                .assert()
                .success()
                .get_output()
                .stdout
                .clone();
            assert_eq!(out, value, "value of {key}");
        }
    }

    fn all_256_byte_values_round_trip_in_keys_and_values(t: &TestDir) {
        // Every byte but NUL can be a command-line argument; NUL reaches keys via the library.
        let key: Vec<u8> = (1..=255u8).collect();
        let key = OsStr::from_bytes(&key);
        t.hoard()
            .arg("put")
            .arg(key)
            .write_stdin(all_bytes())
            .assert()
            .success();
        let out = t
            .hoard()
            .arg("get")
            .arg(key)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(out, all_bytes());
        let listed = t
            .hoard()
            .args(["keys", "-0"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let mut expected = key.as_bytes().to_vec();
        expected.push(0);
        assert_eq!(listed, expected);
    }

    fn a_non_utf8_key_argument_round_trips(t: &TestDir) {
        let key = OsStr::from_bytes(b"caf\xe9\xff");
        t.hoard().arg("put").arg(key).arg("v").assert().success();
        t.hoard().arg("get").arg(key).assert().success().stdout("v");
        t.hoard().arg("exists").arg(key).assert().success();
        let json = t
            .hoard()
            .args(["keys", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(doc["key_encoding"], "base64");
        assert_eq!(doc["key"], "Y2Fm6f8=");
    }

    fn an_empty_value_is_stored_and_returned_as_empty(t: &TestDir) {
        t.hoard().args(["put", "empty", ""]).assert().success();
        t.hoard()
            .args(["get", "empty"])
            .assert()
            .success()
            .stdout("");
        t.hoard()
            .args(["put", "empty2"])
            .write_stdin("")
            .assert()
            .success();
        t.hoard().args(["exists", "empty2"]).assert().success();
    }

    fn overwrite_returns_the_newest_value(t: &TestDir) {
        t.put("k", "one");
        t.put("k", "two");
        t.hoard()
            .args(["get", "k"])
            .assert()
            .success()
            .stdout("two");
    }

    fn del_prints_how_many_existed_and_exits_1_when_none_did(t: &TestDir) {
        t.put("a", "1");
        t.put("b", "2");
        t.hoard()
            .args(["del", "a", "b", "c"])
            .assert()
            .success()
            .stdout("2\n");
        t.hoard().args(["get", "a"]).assert().code(1);
        t.hoard()
            .args(["del", "a", "c"])
            .assert()
            .code(1)
            .stdout("0\n");
        t.hoard()
            .args(["--json", "del", "zzz"])
            .assert()
            .code(1)
            .stdout("{\"deleted\":0}\n");
        t.hoard().arg("del").assert().code(2);
    }

    fn exists_prints_nothing_and_answers_by_exit_code(t: &TestDir) {
        t.put("here", "1");
        t.hoard()
            .args(["exists", "here"])
            .assert()
            .success()
            .stdout("")
            .stderr("");
        t.hoard()
            .args(["exists", "gone"])
            .assert()
            .code(1)
            .stdout("")
            .stderr("");
    }

    fn keys_lists_in_bytewise_order_with_prefix_limit_and_nul(t: &TestDir) {
        for key in ["b/2", "a/1", "b/1", "c"] {
            t.put(key, "v");
        }
        t.hoard()
            .arg("keys")
            .assert()
            .success()
            .stdout("a/1\nb/1\nb/2\nc\n");
        t.hoard()
            .args(["keys", "--prefix", "b/"])
            .assert()
            .success()
            .stdout("b/1\nb/2\n");
        t.hoard()
            .args(["keys", "--limit", "2"])
            .assert()
            .success()
            .stdout("a/1\nb/1\n");
        t.hoard()
            .args(["keys", "-0", "--prefix", "b"])
            .assert()
            .success()
            .stdout("b/1\0b/2\0");
        t.hoard()
            .args(["keys", "--json", "--prefix", "c"])
            .assert()
            .success()
            .stdout("{\"key\":\"c\"}\n");
        t.hoard()
            .args(["keys", "--prefix", "zz"])
            .assert()
            .success()
            .stdout("");
    }

    fn get_json_gives_key_value_and_expiry(t: &TestDir) {
        t.put("k", "v");
        let out = t
            .hoard()
            .args(["get", "k", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"key": "k", "value": "v", "expires_at_ms": null, "found": true})
        );
        t.hoard()
            .args(["put", "bin", "-"])
            .write_stdin(vec![0xffu8, 0])
            .assert()
            .success();
        let out = t
            .hoard()
            .args(["--json", "get", "bin"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["value"], "/wA=");
        assert_eq!(doc["value_encoding"], "base64");
    }

    fn ttl_follows_redis_semantics(t: &TestDir) {
        t.put("forever", "v");
        t.hoard()
            .args(["put", "brief", "v", "--ttl", "1h"])
            .assert()
            .success();
        t.hoard()
            .args(["ttl", "forever"])
            .assert()
            .success()
            .stdout("-1\n");
        t.hoard()
            .args(["ttl", "brief"])
            .assert()
            .success()
            .stdout("3600\n");
        t.hoard()
            .args(["ttl", "missing"])
            .assert()
            .code(1)
            .stdout("-2\n");
        let out = t
            .hoard()
            .args(["ttl", "brief", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let ttl_ms = doc["ttl_ms"].as_i64().unwrap();
        assert!(ttl_ms > 3_500_000 && ttl_ms <= 3_600_000, "ttl_ms {ttl_ms}");
    }

    fn keys_expire_after_their_ttl(t: &TestDir) {
        t.hoard()
            .args(["put", "short", "v", "--ttl", "300ms"])
            .assert()
            .success();
        t.put("long", "v");
        t.hoard()
            .args(["get", "short"])
            .assert()
            .success()
            .stdout("v");
        std::thread::sleep(Duration::from_millis(400));
        t.hoard().args(["get", "short"]).assert().code(1).stdout("");
        t.hoard().args(["exists", "short"]).assert().code(1);
        t.hoard()
            .args(["ttl", "short"])
            .assert()
            .code(1)
            .stdout("-2\n");
        t.hoard().arg("keys").assert().success().stdout("long\n");
        t.hoard().args(["del", "short"]).assert().code(1);
        // An expired key can be written again, as a new key.
        t.hoard()
            .args(["put", "short", "again", "--nx"])
            .assert()
            .success();
        t.hoard()
            .args(["get", "short"])
            .assert()
            .success()
            .stdout("again");
    }

    fn expire_sets_and_persist_removes_an_expiry(t: &TestDir) {
        t.put("k", "value");
        t.hoard()
            .args(["expire", "k", "2h"])
            .assert()
            .success()
            .stdout("");
        t.hoard()
            .args(["ttl", "k"])
            .assert()
            .success()
            .stdout("7200\n");
        t.hoard()
            .args(["get", "k"])
            .assert()
            .success()
            .stdout("value");
        t.hoard()
            .args(["expire", "k", "--persist"])
            .assert()
            .success();
        t.hoard()
            .args(["ttl", "k"])
            .assert()
            .success()
            .stdout("-1\n");
        // PERSIST of a key without expiry, and EXPIRE of a missing key: condition false.
        t.hoard()
            .args(["expire", "k", "--persist"])
            .assert()
            .code(1);
        t.hoard().args(["expire", "missing", "5m"]).assert().code(1);
        t.hoard().args(["expire", "k"]).assert().code(2);
        t.hoard()
            .args(["expire", "k", "5m", "--persist"])
            .assert()
            .code(2);
        t.hoard().args(["expire", "k", "0s"]).assert().code(2);
    }

    fn put_nx_writes_only_a_missing_key(t: &TestDir) {
        t.hoard()
            .args(["put", "k", "first", "--nx"])
            .assert()
            .success();
        t.hoard()
            .args(["put", "k", "second", "--nx"])
            .assert()
            .code(1)
            .stdout("");
        t.hoard()
            .args(["get", "k"])
            .assert()
            .success()
            .stdout("first");
    }

    fn an_oversized_key_is_refused_with_exit_2_before_anything_is_written(t: &TestDir) {
        t.put("keep", "v");
        let before = snapshot_dir(&t.dir());
        let key = "k".repeat(64 * 1024 + 1);
        t.hoard()
            .args(["put", &key, "v"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("over the limit of 65536 bytes"));
        assert_eq!(snapshot_dir(&t.dir()), before, "the store changed");
        // A key of exactly the limit is fine.
        let key = "k".repeat(64 * 1024);
        t.hoard().args(["put", &key, "v"]).assert().success();
        t.hoard().args(["get", &key]).assert().success().stdout("v");
        t.hoard()
            .args(["get", &"k".repeat(64 * 1024 + 1)])
            .assert()
            .code(2);
        let fresh = TestDir::new();
        fresh
            .hoard()
            .args(["put", &"k".repeat(70_000), "v"])
            .assert()
            .code(2);
        assert!(!fresh.dir().exists());
    }

    fn an_oversized_value_is_refused_with_exit_2_before_anything_is_written(t: &TestDir) {
        t.put("keep", "v");
        let before = snapshot_dir(&t.dir());
        let value = vec![b'x'; 512 * 1024 * 1024 + 1];
        t.hoard()
            .args(["put", "big"])
            .write_stdin(value)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "over the limit of 536870912 bytes",
            ));
        assert_eq!(snapshot_dir(&t.dir()), before, "the store changed");
        t.hoard()
            .args(["get", "keep"])
            .assert()
            .success()
            .stdout("v");
    }

    fn a_closed_stdout_pipe_ends_quietly_with_exit_0(t: &TestDir) {
        {
            let store = hoardhaven::Store::open(
                &t.dir(),
                &hoardhaven::OpenOptions::new(hoardhaven::Access::Write),
            )
            .unwrap();
            for i in 0..20_000 {
                store
                    .put(
                        format!("key-{i:08}").as_bytes(),
                        b"v",
                        hoardhaven::PutOptions::default(),
                    )
                    .unwrap();
            }
            store.close().unwrap();
        }
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("hoard"))
            .arg("-d")
            .arg(t.dir())
            .arg("keys")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    }
}

#[test]
fn progress_bars_never_reach_a_stderr_that_is_not_a_terminal() {
    let t = TestDir::new();
    let mut input = String::new();
    for i in 0..2000 {
        input.push_str(&format!("key-{i}\tvalue-{i}\n"));
    }
    t.hoard()
        .args(["import", "--format", "tsv"])
        .write_stdin(input)
        .assert()
        .success();
    t.hoard()
        .args(["import", "--format", "tsv"])
        .write_stdin("key-1\tagain\n")
        .assert()
        .success();
    // Without -q, on a pipe: only messages, never a bar's redraws.
    for args in [vec!["merge"], vec!["verify"], vec!["hint"]] {
        let out = t.hoard().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains('\r')
                && !stderr.contains('\u{1b}')
                && !stderr.contains("merging")
                && !stderr.contains("verifying"),
            "{args:?} drew progress on a pipe: {stderr:?}"
        );
    }
}

#[test]
fn no_command_prints_the_help_once_on_stderr_with_exit_2() {
    let t = TestDir::new();
    let out = assert_cmd::Command::cargo_bin("hoard")
        .unwrap()
        .env("HOARD_DIR", t.dir())
        .env_remove("HOARD_FAILPOINT")
        .assert()
        .code(2)
        .stdout("")
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("hoard: a key-value store"),
        "the help's own first line, unprefixed: {stderr}"
    );
    assert!(stderr.contains("Usage: hoard"), "{stderr}");
}

#[test]
fn a_bad_duration_says_a_bare_number_is_seconds() {
    let t = TestDir::new();
    t.hoard()
        .args(["put", "k", "v", "--ttl", "1y"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "use a whole number of seconds, or one with ms, s, m, h or d after it",
        ));
}
