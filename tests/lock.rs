//! Locking with real processes: the test process itself holds `DIR/LOCK`
//! the way another hoard would (std's `File::lock` family), and `hoard`
//! children must share it, wait for it, or give up with exit code 3.

mod common;

use std::fs::File;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::TestDir;
use predicates::prelude::*;

fn lock_file(t: &TestDir) -> File {
    File::options()
        .read(true)
        .write(true)
        .open(t.dir().join("LOCK"))
        .unwrap()
}

fn hoard_process(t: &TestDir, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("hoard"));
    cmd.env_remove("HOARD_DIR")
        .arg("-d")
        .arg(t.dir())
        .args(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

#[test]
fn eight_parallel_writers_all_land_on_a_store_they_create() {
    // The store does not exist yet: the writers also race to create it.
    eight_parallel_writers_all_land(&TestDir::new());
}

#[test]
fn eight_parallel_writers_all_land_on_a_memory_store() {
    eight_parallel_writers_all_land(&TestDir::with_engine("memory"));
}

fn eight_parallel_writers_all_land(t: &TestDir) {
    const WRITERS: usize = 8;
    const PUTS: usize = 12;
    thread::scope(|scope| {
        for w in 0..WRITERS {
            scope.spawn(move || {
                for i in 0..PUTS {
                    let key = format!("w{w}-{i}");
                    let out = hoard_process(t, &["--lock-timeout", "60", "put", &key, &key])
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "put {key}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
    let listed = t
        .hoard()
        .arg("keys")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(listed).unwrap().lines().count(),
        WRITERS * PUTS
    );
    for w in 0..WRITERS {
        for i in 0..PUTS {
            let key = format!("w{w}-{i}");
            t.hoard()
                .args(["get", &key])
                .assert()
                .success()
                .stdout(key.clone());
        }
    }
}

both_engines! {
    fn two_readers_hold_the_lock_at_once(t: &TestDir) {
        t.put("k", "v");
        let held = lock_file(t);
        held.lock_shared().unwrap();
        t.hoard()
            .args(["--lock-timeout", "0", "get", "k"])
            .assert()
            .success()
            .stdout("v");
        t.hoard()
            .args(["--lock-timeout", "0", "keys"])
            .assert()
            .success()
            .stdout("k\n");
    }

    fn a_writer_gives_up_with_exit_3_naming_the_holder(t: &TestDir) {
        t.put("k", "v");
        let held = lock_file(t);
        held.lock_shared().unwrap();
        let start = Instant::now();
        t.hoard()
            .args(["--lock-timeout", "0.3", "put", "k", "w"])
            .assert()
            .code(3)
            .stdout("")
            .stderr(
                predicate::str::contains("busy")
                    .and(predicate::str::contains(format!(
                        "pid {}",
                        std::process::id()
                    )))
                    .and(predicate::str::contains("--lock-timeout")),
            );
        assert!(
            start.elapsed() >= Duration::from_millis(300),
            "gave up before the timeout"
        );
        t.hoard()
            .args(["--lock-timeout", "0", "del", "k"])
            .assert()
            .code(3);
        drop(held);
        t.hoard().args(["get", "k"]).assert().success().stdout("v");
    }

    fn a_reader_gives_up_with_exit_3_while_a_writer_holds_the_lock(t: &TestDir) {
        t.put("k", "v");
        let held = lock_file(t);
        held.lock().unwrap();
        for args in [
            vec!["get", "k"],
            vec!["exists", "k"],
            vec!["keys"],
            vec!["ttl", "k"],
        ] {
            t.hoard()
                .arg("--lock-timeout=0")
                .args(&args)
                .assert()
                .code(3)
                .stdout("");
        }
    }

    fn a_writer_waits_for_a_reader_to_finish(t: &TestDir) {
        t.put("k", "old");
        let held = lock_file(t);
        held.lock_shared().unwrap();
        let mut writer = hoard_process(t, &["--lock-timeout", "30", "put", "k", "new"])
            .spawn()
            .unwrap();
        thread::sleep(Duration::from_millis(300));
        assert!(
            writer.try_wait().unwrap().is_none(),
            "the writer did not wait for the reader"
        );
        t.hoard()
            .args(["--lock-timeout", "0", "get", "k"])
            .assert()
            .success()
            .stdout("old");
        drop(held);
        let status = writer.wait().unwrap();
        assert!(status.success());
        t.hoard()
            .args(["get", "k"])
            .assert()
            .success()
            .stdout("new");
    }
}

#[test]
fn the_lock_file_names_the_last_writer_and_keeps_its_length_between_commands() {
    let t = TestDir::new();
    let recorded = || {
        let text = std::fs::read_to_string(t.dir().join("LOCK")).unwrap();
        (text.len(), text.trim().to_string())
    };
    t.put("k", "v");
    let (len, text) = recorded();
    assert_eq!(len, 256, "padded to 256 bytes: {text:?}");
    let (pid, command) = text.split_once(' ').unwrap();
    assert!(pid.parse::<u32>().is_ok(), "{text:?}");
    assert!(command.ends_with("put k v"), "{text:?}");
    // A command line longer than 256 bytes takes the next multiple...
    let long = "x".repeat(300);
    t.put("k", &long);
    let (len, text) = recorded();
    assert_eq!(len, 512);
    assert!(text.ends_with(&long));
    // ...and a shorter one after it leaves no trace of it (cut back once;
    // commands of one length class never truncate, a metadata write).
    t.put("k", "short");
    let (len, text) = recorded();
    assert_eq!(len, 256);
    assert!(text.ends_with("put k short"), "{text:?}");
    assert!(!text.contains("xxxx"), "{text:?}");
    t.put("k", "other");
    assert_eq!(recorded().0, 256);
    // Readers do not write it.
    t.hoard()
        .args(["get", "k"])
        .assert()
        .success()
        .stdout("other");
    assert!(recorded().1.ends_with("put k other"));
}
