//! Every class of bad condition named in the brief, through the `hoard`
//! binary: an I/O error or a full disk at each file operation of a command
//! (injected with `HOARD_FAIL_OP`, debug builds), and a read-only store.
//! Each must give its documented exit code and a message naming the file,
//! claim no success it did not have, and lose nothing already stored.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::TestDir;
use predicates::prelude::*;

/// Injected failures per command: enough to pass through every operation of
/// a small command, and bounded.
const INJECTED_MAX: u64 = 80;

/// Runs `args` with the N-th file operation failing with `errno`.
fn failing(t: &TestDir, n: u64, errno: &str, args: &[&str]) -> std::process::Output {
    t.hoard()
        .env("HOARD_FAIL_OP", format!("{n}:{errno}"))
        .args(args)
        .output()
        .unwrap()
}

fn assert_contents(t: &TestDir, expected: &BTreeMap<String, Option<String>>, label: &str) {
    for (key, value) in expected {
        let out = t.hoard().args(["-q", "get", key]).output().unwrap();
        match value {
            Some(v) => {
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{label}: get {key}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(out.stdout, v.as_bytes(), "{label}: {key}");
            }
            None => assert_eq!(
                out.status.code(),
                Some(1),
                "{label}: {key} should be absent"
            ),
        }
    }
}

/// Runs `command(i)` with an injected failure at operation 1, 2, 3, ... until
/// it succeeds, checking exit codes, messages and the store after each.
fn every_operation_fails_in_turn(engine: &str, errno: &str, os_error: &str) {
    let t = TestDir::with_engine(engine);
    let mut expected: BTreeMap<String, Option<String>> = BTreeMap::new();
    for i in 0..5 {
        t.put(&format!("base{i}"), &format!("value{i}"));
        expected.insert(format!("base{i}"), Some(format!("value{i}")));
    }
    let mut failures = 0;
    for (c, command) in ["put", "del", "maintain", "import"].into_iter().enumerate() {
        // Each failing run may leave harmless leftovers (a memory snapshot
        // that failed after starting a new AOF generation), so a command's
        // operation count can grow as n does: inject up to a bound, then
        // require a clean run to succeed.
        for n in 1..=INJECTED_MAX {
            let key = format!("{command}-{n}");
            let args: Vec<String> = match command {
                "put" => vec!["put".into(), key.clone(), format!("v{n}")],
                "del" => vec!["del".into(), format!("base{}", n % 5)],
                "maintain" if engine == "memory" => vec!["snapshot".into()],
                "maintain" => vec!["merge".into()],
                _ => vec!["import".into(), "--format".into(), "tsv".into()],
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut cmd = t.hoard();
            cmd.env("HOARD_FAIL_OP", format!("{n}:{errno}")).args(&args);
            if command == "import" {
                cmd.write_stdin(format!("{key}\timported\n"));
            }
            let out = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            let label = format!("{engine} {command} with operation {n} failing ({errno})");
            let code = out.status.code();
            match code {
                Some(0) | Some(1) => {
                    // Success: its effect must hold.
                    match command {
                        "put" => {
                            expected.insert(key.clone(), Some(format!("v{n}")));
                        }
                        "import" => {
                            expected.insert(key.clone(), Some("imported".into()));
                        }
                        "del" => {
                            expected.insert(format!("base{}", n % 5), None);
                        }
                        _ => {}
                    }
                }
                Some(5) => {
                    failures += 1;
                    assert!(
                        stderr.contains("hoard: error: cannot ") && stderr.contains(os_error),
                        "{label}: unclear message: {stderr}"
                    );
                }
                other => panic!("{label}: exit {other:?}: {stderr}"),
            }
            // A failed command may or may not have applied its one change.
            if code == Some(5) {
                let probe = t.hoard().args(["-q", "get", &key]).output().unwrap();
                if probe.status.success() && command != "del" {
                    let value = if command == "import" {
                        "imported".to_string()
                    } else {
                        format!("v{n}")
                    };
                    assert_eq!(probe.stdout, value.as_bytes(), "{label}: half-applied");
                    expected.insert(key.clone(), Some(value));
                }
                if command == "del" {
                    let k = format!("base{}", n % 5);
                    let probe = t.hoard().args(["-q", "get", &k]).output().unwrap();
                    if probe.status.code() == Some(1) {
                        expected.insert(k, None);
                    }
                }
            }
            assert_contents(&t, &expected, &label);
            if code != Some(5) {
                break;
            }
        }
        let _ = c;
        let clean = match command {
            "maintain" if engine == "memory" => {
                t.hoard().args(["-q", "snapshot"]).output().unwrap()
            }
            "maintain" => t.hoard().args(["-q", "merge"]).output().unwrap(),
            _ => t
                .hoard()
                .args(["-q", "put", &format!("{command}-clean"), "ok"])
                .output()
                .unwrap(),
        };
        assert!(
            clean.status.success(),
            "{engine} {command}: a clean run failed: {}",
            String::from_utf8_lossy(&clean.stderr)
        );
        if command != "maintain" {
            expected.insert(format!("{command}-clean"), Some("ok".into()));
        }
        assert_contents(&t, &expected, &format!("{engine} after {command}"));
    }
    t.hoard().args(["-q", "verify"]).assert().success();
    assert!(
        failures > 20,
        "{engine}: only {failures} injected failures were hit"
    );
    eprintln!(
        "{engine} ({errno}): {failures} commands failed by injection, nothing stored was lost"
    );
}

#[test]
fn bitcask_commands_report_an_io_error_at_each_operation() {
    every_operation_fails_in_turn("bitcask", "5", "os error 5");
}

#[test]
fn memory_commands_report_an_io_error_at_each_operation() {
    every_operation_fails_in_turn("memory", "5", "os error 5");
}

#[test]
fn a_full_disk_at_each_operation_loses_nothing() {
    every_operation_fails_in_turn("bitcask", "enospc", "No space left on device");
    every_operation_fails_in_turn("memory", "enospc", "No space left on device");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// `hoard` as a user without write access: as root (CI), through setpriv
/// as nobody; otherwise as the current user.
fn hoard_unprivileged(dir: &std::path::Path) -> Command {
    let hoard = assert_cmd::cargo::cargo_bin("hoard");
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(hoard);
        c
    } else {
        Command::new(hoard)
    };
    cmd.env_remove("HOARD_DIR").arg("-d").arg(dir);
    cmd
}

#[test]
fn a_read_only_store_serves_reads_and_refuses_writes_with_exit_5() {
    for engine in ["bitcask", "memory"] {
        let t = TestDir::with_engine(engine);
        t.put("k", "v");
        let dir = t.dir();
        let chown = |path: &std::path::Path| {
            if is_root() {
                std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
            }
        };
        chown(t.tmp.path());
        chown(&dir);
        let mut files = vec![dir.clone()];
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            chown(&path);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
            files.push(path);
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
        let before = common::snapshot_dir(&dir);

        let out = hoard_unprivileged(&dir)
            .args(["get", "k"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{engine}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"v");
        let out = hoard_unprivileged(&dir)
            .args(["put", "k", "w"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(5),
            "{engine}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
        assert_eq!(
            common::snapshot_dir(&dir),
            before,
            "{engine}: a refused write changed the store"
        );

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        for path in &files[1..] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        t.hoard().args(["get", "k"]).assert().success().stdout("v");
    }
}

#[test]
fn an_injected_failure_names_the_file() {
    let t = TestDir::new();
    t.put("k", "v");
    let out = failing(&t, 4, "5", &["put", "k2", "v"]);
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&t.dir().display().to_string()), "{stderr}");
    t.hoard()
        .args(["get", "k"])
        .assert()
        .success()
        .stdout(predicate::eq("v"));
}
