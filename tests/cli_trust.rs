//! The promises a shell user scripts against (issue 10), through the `hoard`
//! binary: nothing but `init`, `put` and `import` creates a store; `--json`
//! on every command; messages that name the real cause and a way out.

mod common;

use common::TestDir;
use predicates::prelude::*;

/// Every command that must not create a store, with the exit code it gives
/// on a missing one.
fn non_creating_commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["get", "k"],
        vec!["exists", "k"],
        vec!["keys"],
        vec!["ttl", "k"],
        vec!["del", "k"],
        vec!["expire", "k", "10s"],
        vec!["expire", "k", "--persist"],
        vec!["export"],
        vec!["hint"],
        vec!["snapshot"],
        vec!["merge"],
        vec!["merge", "--dry-run"],
        vec!["inspect"],
        vec!["inspect", "--key", "k"],
        vec!["verify"],
        vec!["verify", "--repair"],
        vec!["verify", "--repair", "--dry-run"],
        vec!["count"],
        vec!["incr", "k"],
        vec!["decr", "k", "2"],
        vec!["append", "k", "v"],
        vec!["get", "k", "k2"],
        vec!["ttl", "--ms", "k"],
        vec!["keys", "--glob", "*", "--with-values"],
    ]
}

#[test]
fn only_init_put_and_import_create_a_store() {
    let t = TestDir::new();
    for args in non_creating_commands() {
        t.hoard()
            .args(&args)
            .assert()
            .code(5)
            .stdout("")
            .stderr(predicate::str::contains("there is no store there"));
        assert!(!t.dir().exists(), "{args:?} created the store directory");
    }
    for args in [vec!["put", "k", "v"], vec!["import", "--format", "tsv"]] {
        let t = TestDir::new();
        t.hoard()
            .args(&args)
            .write_stdin("a\tb\n")
            .assert()
            .success();
        assert!(t.dir().join("HOARD").exists(), "{args:?} created no store");
    }
    let t = TestDir::new();
    t.hoard().args(["-q", "init"]).assert().success();
    assert!(t.dir().join("HOARD").exists());
}

#[test]
fn snapshot_to_from_a_mistyped_store_fails_and_writes_no_copy() {
    let t = TestDir::new();
    let copy = t.tmp.path().join("copy");
    t.hoard()
        .args(["snapshot", "--to"])
        .arg(&copy)
        .assert()
        .code(5)
        .stderr(
            predicate::str::contains("there is no store there")
                .and(predicate::str::contains("wrote a consistent copy").not()),
        );
    assert!(!t.dir().exists(), "the mistyped store was created");
    assert!(!copy.exists(), "an empty copy was written");
}

/// Runs `hoard --json ARGS` and checks the JSON contract: every stdout line
/// is a JSON document (at least one unless `stream`); on exit 2 and above,
/// stderr is exactly one JSON object with the exit code, a kind and a
/// message. Returns the exit code and the documents.
fn json_run(
    t: &TestDir,
    args: &[&str],
    stdin: &str,
    stream: bool,
) -> (i32, Vec<serde_json::Value>) {
    let out = t
        .hoard()
        .arg("--json")
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let docs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{args:?}: stdout line {line:?} is not JSON: {e}"))
        })
        .collect();
    if code >= 2 {
        assert!(docs.is_empty(), "{args:?} failed but printed {docs:?}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: stderr {stderr:?}");
        let err: serde_json::Value = serde_json::from_str(lines[0])
            .unwrap_or_else(|e| panic!("{args:?}: stderr {stderr:?} is not JSON: {e}"));
        assert_eq!(err["exit_code"], code, "{args:?}: {err}");
        assert!(err["kind"].is_string(), "{args:?}: {err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    } else {
        assert!(stream || !docs.is_empty(), "{args:?} printed no JSON");
        assert_eq!(stderr, "", "{args:?}: stderr");
    }
    (code, docs)
}

mod json {
    use super::*;

    both_engines! {
        fn every_command_prints_json_on_success_not_found_and_error(t: &TestDir) {
            let engine = if t.dir().join("HOARD").exists()
                && std::fs::read_to_string(t.dir().join("HOARD")).unwrap().contains("engine memory")
            {
                "memory"
            } else {
                "bitcask"
            };
            let ok = |args: &[&str]| json_run(t, args, "", false);
            assert_eq!(ok(&["put", "k", "v"]).0, 0);
            assert_eq!(ok(&["put", "k", "w", "--nx"]), (1, vec![serde_json::json!({"key": "k", "written": false})]));
            assert_eq!(ok(&["get", "k"]).1[0]["value"], "v");
            assert_eq!(ok(&["get", "nope"]), (1, vec![serde_json::json!({"key": "nope", "value": null, "found": false})]));
            assert_eq!(ok(&["exists", "k"]).1[0]["exists"], true);
            assert_eq!(ok(&["exists", "nope"]), (1, vec![serde_json::json!({"key": "nope", "exists": false})]));
            assert_eq!(json_run(t, &["keys"], "", true).1.len(), 1);
            assert_eq!(json_run(t, &["keys", "--prefix", "zz"], "", true), (0, vec![]));
            assert_eq!(ok(&["ttl", "k"]).1[0]["ttl"], -1);
            assert_eq!(ok(&["ttl", "nope"]).0, 1);
            assert_eq!(ok(&["expire", "k", "1d"]).1[0]["changed"], true);
            assert_eq!(ok(&["expire", "nope", "1d"]).1[0]["changed"], false);
            assert_eq!(ok(&["expire", "k", "--persist"]).0, 0);
            assert_eq!(ok(&["expire", "k", "--persist"]).0, 1);
            assert_eq!(json_run(t, &["import", "--format", "tsv"], "a\tb\n", false).1[0]["imported"], 1);
            let (code, docs) = json_run(t, &["export"], "", true);
            assert_eq!(code, 0);
            assert_eq!(docs.len(), 2, "--json exports JSON Lines");
            assert_eq!(docs[0], serde_json::json!({"key": "a", "value": "b"}));
            assert_eq!(ok(&["inspect"]).0, 0);
            assert_eq!(ok(&["verify"]).1[0]["clean"], true);
            assert_eq!(ok(&["verify", "--repair"]).0, 0);
            assert_eq!(ok(&["del", "a", "nope"]).1[0]["deleted"], 1);
            assert_eq!(ok(&["del", "nope"]).0, 1);
            let copy = t.tmp.path().join("copy");
            assert_eq!(ok(&["snapshot", "--to", copy.to_str().unwrap()]).0, 0);
            if engine == "bitcask" {
                assert!(ok(&["inspect", "--key", "k"]).1[0]["offset"].is_u64());
                assert_eq!(ok(&["inspect", "--key", "nope"]), (1, vec![serde_json::json!({"key": "nope", "found": false})]));
                assert_eq!(ok(&["hint"]).0, 0);
                assert_eq!(ok(&["merge", "--dry-run"]).0, 0);
                assert_eq!(ok(&["merge"]).0, 0);
                assert_eq!(ok(&["snapshot"]).0, 2);
            } else {
                assert_eq!(ok(&["snapshot"]).0, 0);
                assert_eq!(ok(&["hint"]).0, 2);
                assert_eq!(ok(&["merge"]).0, 2);
                assert_eq!(ok(&["inspect", "--key", "k"]).0, 2);
            }
            // The shell conveniences.
            assert!(ok(&["count"]).1[0]["count"].is_u64());
            assert_eq!(ok(&["incr", "n", "5"]).1[0]["value"], 5);
            assert_eq!(ok(&["decr", "n"]).1[0]["value"], 4);
            assert_eq!(ok(&["append", "n", "x"]).1[0]["length"], 2);
            assert_eq!(ok(&["incr", "n"]).0, 2);
            assert_eq!(ok(&["get", "n", "nope"]).1.len(), 2);
            assert_eq!(ok(&["put", "n", "v", "--xx"]).1[0]["written"], true);
            assert_eq!(ok(&["ttl", "--ms", "n"]).1[0]["ttl_ms"], -1);
            assert_eq!(json_run(t, &["keys", "--with-values", "--glob", "n"], "", true).1[0]["value"], "v");
            // Errors: invalid input, usage, not a store, already a store.
            assert_eq!(ok(&["put", "", "v"]).0, 2);
            assert_eq!(ok(&["get"]).0, 2);
            assert_eq!(ok(&["get", "k", "--no-such-flag"]).0, 2);
            assert_eq!(json_run(t, &["import", "--format", "tsv"], "no tab here\n", false).0, 2);
            assert_eq!(ok(&["init"]).0, 2);
            assert_eq!(ok(&["export", "--format", "tsv"]).0, 2);
            assert_eq!(ok(&["completions", "bash"]).0, 2);
            assert_eq!(ok(&["man"]).0, 2);
            let other = TestDir::new();
            assert_eq!(json_run(&other, &["get", "k"], "", false).0, 5);
            let (code, docs) = json_run(&other, &["init", "--engine", engine], "", false);
            assert_eq!(code, 0);
            assert_eq!(docs[0]["engine"], engine);
        }
    }
}

/// A notice under `--json` is one object on stderr: its text under
/// `warning`, as without `--json`, and a stable name under `kind`.
#[test]
fn a_warning_under_json_carries_its_kind() {
    let t = TestDir::new();
    t.put("k", "v");
    std::fs::remove_file(t.dir().join("keydir.hint")).unwrap();
    let text = "there is no hint; replaying every data file instead (the next write command, or \
                `hoard hint`, rewrites it)";
    t.hoard()
        .args(["get", "k"])
        .assert()
        .success()
        .stderr(format!("hoard: warning: {text}\n"));
    let out = t.hoard().args(["--json", "get", "k"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({"warning": text, "kind": "hint_unusable"})
    );
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// `hoard -d DIR` as a user who may not enter DIR: nobody when run as root.
fn hoard_as_other_user(dir: &std::path::Path) -> std::process::Command {
    let hoard = assert_cmd::cargo::cargo_bin("hoard");
    let mut cmd = if is_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(hoard);
        c
    } else {
        std::process::Command::new(hoard)
    };
    cmd.env_remove("HOARD_DIR").arg("-d").arg(dir);
    cmd
}

#[test]
fn a_permission_error_is_reported_as_one_not_as_a_missing_manifest() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = TestDir::new();
    t.put("k", "v");
    // The parent may be entered; the store itself may not.
    std::fs::set_permissions(t.tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mode = if is_root() { 0o700 } else { 0o000 };
    std::fs::set_permissions(t.dir(), std::fs::Permissions::from_mode(mode)).unwrap();
    for args in [vec!["get", "k"], vec!["put", "k", "w"], vec!["verify"]] {
        let out = hoard_as_other_user(&t.dir()).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {stderr}");
        assert!(
            stderr.contains("Permission denied")
                && stderr.contains("HOARD")
                && stderr.contains("permissions")
                && !stderr.contains("no HOARD manifest")
                && !stderr.contains("not a hoard store"),
            "{args:?}: {stderr}"
        );
    }
    std::fs::set_permissions(t.dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    t.hoard().args(["get", "k"]).assert().success().stdout("v");
}

/// Flips the manifest's checksum line into a wrong one.
fn damage_manifest(t: &TestDir) {
    let path = t.dir().join("HOARD");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("sync always", "sync never")).unwrap();
}

mod damaged_manifest {
    use super::*;

    both_engines! {
        fn a_damaged_manifest_says_what_is_wrong_and_how_out(t: &TestDir) {
            t.put("k", "v");
            damage_manifest(t);
            for args in [
                vec!["get", "k"],
                vec!["put", "k", "w"],
                vec!["verify"],
                vec!["verify", "--repair"],
            ] {
                t.hoard()
                    .args(&args)
                    .assert()
                    .code(4)
                    .stderr(
                        predicate::str::contains("manifest")
                            .and(predicate::str::contains("HOARD"))
                            .and(predicate::str::contains("is damaged"))
                            .and(predicate::str::contains("init --force-manifest"))
                            .and(predicate::str::contains("verify --repair").not()),
                    );
            }
            let damaged = std::fs::read(t.dir().join("HOARD")).unwrap();
            // The engine comes from the files, not from a default.
            t.hoard()
                .args(["init", "--force-manifest"])
                .assert()
                .success()
                .stderr(predicate::str::contains("wrote a fresh manifest"));
            t.hoard().args(["get", "k"]).assert().success().stdout("v");
            t.hoard().arg("verify").assert().success();
            let kept: Vec<_> = std::fs::read_dir(t.dir())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with("HOARD.damaged-"))
                .collect();
            assert_eq!(kept.len(), 1, "{kept:?}");
            assert_eq!(std::fs::read(t.dir().join(&kept[0])).unwrap(), damaged);
            // An intact manifest is left alone.
            let before = common::snapshot_dir(&t.dir());
            t.hoard()
                .args(["init", "--force-manifest"])
                .assert()
                .code(2)
                .stderr(predicate::str::contains("is intact"));
            assert_eq!(common::snapshot_dir(&t.dir()), before);
        }
    }
}

#[test]
fn force_manifest_refuses_an_engine_the_files_contradict() {
    let t = TestDir::with_engine("memory");
    t.put("k", "v");
    damage_manifest(&t);
    let before = common::snapshot_dir(&t.dir());
    t.hoard()
        .args(["init", "--force-manifest", "--engine", "bitcask"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("belong to a memory store"));
    t.hoard()
        .args(["init", "--force-manifest", "--max-file-size", "1M"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--max-file-size applies to bitcask",
        ));
    assert_eq!(common::snapshot_dir(&t.dir()), before);
    let missing = TestDir::new();
    missing
        .hoard()
        .args(["init", "--force-manifest"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(format!(
            "{} is not a hoard store: there is no store there: the directory does not exist \
             (check the path; `hoard init` without --force-manifest creates a new store)",
            missing.dir().display()
        )));
    assert!(!missing.dir().exists());
}

#[test]
fn a_manifest_with_a_damaged_first_line_points_at_force_manifest() {
    let t = TestDir::new();
    t.put("k", "v");
    let path = t.dir().join("HOARD");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
    t.hoard()
        .args(["get", "k"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("init --force-manifest"));
    t.hoard()
        .args(["-q", "init", "--force-manifest"])
        .assert()
        .success();
    t.hoard().args(["get", "k"]).assert().success().stdout("v");
}

#[test]
fn init_refuses_options_that_do_not_apply_to_the_engine() {
    let t = TestDir::new();
    t.hoard()
        .args(["init", "--engine", "memory", "--max-file-size", "1M"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--max-file-size applies to bitcask",
        ));
    assert!(!t.dir().exists());
    t.hoard()
        .args(["-q", "init", "--engine", "memory"])
        .assert()
        .success();
}

#[test]
fn expire_usage_puts_the_key_first_and_names_every_form() {
    let t = TestDir::new();
    t.hoard().arg("expire").assert().code(2).stderr(
        predicate::str::contains("Usage: hoard expire [OPTIONS] <KEY> <DURATION>")
            .and(predicate::str::contains("<KEY> --persist"))
            .and(predicate::str::contains("<KEY> --at <UNIX_SECONDS>"))
            .and(predicate::str::contains("<DURATION|--persist> <KEY>").not()),
    );
}

#[test]
fn usage_lines_do_not_show_dir_as_given_when_hoard_dir_is_set() {
    let t = TestDir::new();
    let mut cmd = assert_cmd::Command::cargo_bin("hoard").unwrap();
    cmd.env("HOARD_DIR", t.dir())
        .arg("get")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("Usage: hoard get <KEY>")
                .and(predicate::str::contains("--dir").not()),
        );
    // HOARD_DIR still chooses the store.
    t.put("k", "v");
    let mut cmd = assert_cmd::Command::cargo_bin("hoard").unwrap();
    cmd.env("HOARD_DIR", t.dir())
        .args(["get", "k"])
        .assert()
        .success()
        .stdout("v");
}

#[test]
fn clap_errors_carry_the_hoard_prefix() {
    let t = TestDir::new();
    for args in [vec!["--no-such-flag"], vec!["frobnicate"], vec!["get"]] {
        t.hoard()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::starts_with("hoard: error: "));
    }
}

#[test]
fn counts_of_one_are_singular() {
    let t = TestDir::new();
    t.put("first", "AAAAAAAA");
    t.hoard().arg("verify").assert().success().stdout(
        predicate::str::contains("1 file (1 record,")
            .and(predicate::str::contains("1 records").not()),
    );
    t.hoard()
        .args(["import", "--format", "tsv"])
        .write_stdin("a\tb\n")
        .assert()
        .success()
        .stderr(predicate::str::contains("imported 1 record from"));
    let file = &t.data_files()[0];
    let mut bytes = std::fs::read(file).unwrap();
    let at = bytes.windows(8).position(|w| w == b"AAAAAAAA").unwrap();
    bytes[at] = b'Z';
    std::fs::write(file, &bytes).unwrap();
    // One damaged record, and no hint entry pointing at it.
    let _ = std::fs::remove_file(t.dir().join("keydir.hint"));
    t.hoard()
        .arg("verify")
        .assert()
        .code(4)
        .stdout(predicate::str::contains(": 1 problem\n"));
    t.hoard()
        .args(["verify", "--repair"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains(" in 1 region")
                .and(predicate::str::contains("1 regions").not())
                .and(predicate::str::contains("1 problems").not()),
        );
}

#[test]
fn an_oversized_key_states_its_size_once() {
    let t = TestDir::new();
    let key = "k".repeat(70_000);
    let out = t.hoard().args(["put", &key, "v"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("70000").count(), 1, "{stderr}");
    assert!(stderr.contains("over the limit of 65536 bytes"), "{stderr}");
}

#[test]
fn a_resp_bulk_over_the_value_limit_is_called_oversized() {
    let t = TestDir::new();
    t.hoard()
        .args(["import", "--format", "resp"])
        .write_stdin("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$999999999999\r\n")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("999999999999 bytes is over the limit")
                .and(predicate::str::contains("expected a bulk string header").not()),
        );
}

#[test]
fn put_without_a_value_says_it_reads_stdin_only_at_a_terminal() {
    let t = TestDir::with_engine("bitcask");
    // On a pipe: silent.
    t.hoard()
        .args(["put", "k"])
        .write_stdin("piped")
        .assert()
        .success()
        .stderr("");
    // At a terminal (a pty from util-linux `script`): one line on stderr.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "`script` (bsdutils/util-linux) is required in CI: apt-get install bsdutils"
        );
        eprintln!("SKIPPED: `script` (util-linux) is not installed");
        return;
    }
    let hoard = assert_cmd::cargo::cargo_bin("hoard");
    let command = format!("{} -d {} put k2", hoard.display(), t.dir().display());
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("HOARD_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(b"typed\n\x04")?;
            child.wait_with_output()
        })
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("hoard: reading the value of \"k2\" from stdin"),
        "{shown:?}"
    );
    t.hoard()
        .args(["get", "k2"])
        .assert()
        .success()
        .stdout("typed\n");
}

#[test]
fn bench_ignores_hoard_dir_and_leaves_that_store_alone() {
    let t = TestDir::new();
    t.put("k", "v");
    let before = common::snapshot_dir(&t.dir());
    let mut cmd = assert_cmd::Command::cargo_bin("hoard").unwrap();
    cmd.env("HOARD_DIR", t.dir())
        .current_dir(t.tmp.path())
        .args([
            "bench",
            "-q",
            "--engine",
            "bitcask",
            "--keys",
            "50",
            "--workload",
            "load",
        ])
        .assert()
        .success();
    assert_eq!(common::snapshot_dir(&t.dir()), before);
}

mod expire_at {
    use super::*;

    both_engines! {
        fn expire_at_sets_an_absolute_expiry_and_a_past_time_deletes(t: &TestDir) {
            t.put("k", "v");
            let now_s = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let at = (now_s + 3600).to_string();
            t.hoard().args(["expire", "k", "--at", &at]).assert().success();
            let out = t.hoard().args(["get", "k", "--json"]).output().unwrap();
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(doc["expires_at_ms"], (now_s + 3600) * 1000);
            t.hoard().args(["expire", "nope", "--at", &at]).assert().code(1);
            t.hoard()
                .args(["expire", "k", "--at", &(now_s - 10).to_string()])
                .assert()
                .success();
            t.hoard().args(["exists", "k"]).assert().code(1);
            t.hoard().args(["expire", "k", "10s", "--at", &at]).assert().code(2);
        }
    }
}

/// Runs `COMMAND` under a pseudo-terminal (util-linux `script`), returning
/// what the terminal showed; `None` when `script` is not installed.
fn at_a_terminal(command: &str) -> Option<String> {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "`script` (bsdutils/util-linux) is required in CI: apt-get install bsdutils"
        );
        eprintln!("SKIPPED: `script` (util-linux) is not installed");
        return None;
    }
    let out = std::process::Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env_remove("HOARD_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{command}: {out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn import_shows_progress_on_a_terminal_and_infers_its_format() {
    let t = TestDir::new();
    let file = t.tmp.path().join("load.tsv");
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str(&format!("key-{i}\tvalue-{i}\n"));
    }
    std::fs::write(&file, text).unwrap();
    let hoard = assert_cmd::cargo::cargo_bin("hoard");
    let command = format!(
        "{} -d {} import {}",
        hoard.display(),
        t.dir().display(),
        file.display()
    );
    if let Some(shown) = at_a_terminal(&command) {
        assert!(shown.contains("importing ["), "no progress bar: {shown:?}");
        assert!(shown.contains("imported 100000 records"), "{shown:?}");
    }
    // With -q, no bar even at a terminal.
    if let Some(shown) = at_a_terminal(&format!("{command} -q")) {
        assert!(!shown.contains("importing"), "{shown:?}");
    }
    // No --format: the extension decides, else tsv.
    let jsonl = t.tmp.path().join("more.jsonl");
    std::fs::write(&jsonl, "{\"key\":\"j\",\"value\":\"from jsonl\"}\n").unwrap();
    t.hoard().arg("import").arg(&jsonl).assert().success();
    t.hoard()
        .args(["get", "j"])
        .assert()
        .success()
        .stdout("from jsonl");
    let resp = t.tmp.path().join("more.resp");
    std::fs::write(&resp, "*3\r\n$3\r\nSET\r\n$1\r\nr\r\n$4\r\nresp\r\n").unwrap();
    t.hoard().arg("import").arg(&resp).assert().success();
    t.hoard()
        .args(["get", "r"])
        .assert()
        .success()
        .stdout("resp");
    let other = t.tmp.path().join("more.txt");
    std::fs::write(&other, "o\ttsv\n").unwrap();
    t.hoard().arg("import").arg(&other).assert().success();
    t.hoard()
        .args(["get", "o"])
        .assert()
        .success()
        .stdout("tsv");
    t.hoard()
        .arg("import")
        .write_stdin("s\tstdin\n")
        .assert()
        .success();
    t.hoard()
        .args(["get", "s"])
        .assert()
        .success()
        .stdout("stdin");
    t.hoard()
        .args(["import", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("extension").and(predicate::str::contains("else tsv")));
}

#[test]
fn a_tsv_with_crlf_line_ends_imports_without_the_cr() {
    let t = TestDir::new();
    t.hoard()
        .args(["import", "--format", "tsv"])
        .write_stdin("a\tone\r\nb\ttwo\t4102444800000\r\nc\tthree\\r\r\n")
        .assert()
        .success();
    t.hoard()
        .args(["get", "a"])
        .assert()
        .success()
        .stdout("one");
    t.hoard()
        .args(["get", "b"])
        .assert()
        .success()
        .stdout("two");
    // An escaped CR is data; only the line end's raw CR goes.
    t.hoard()
        .args(["get", "c"])
        .assert()
        .success()
        .stdout("three\r");
}

#[test]
fn a_jsonl_line_without_a_value_says_it_is_missing() {
    let t = TestDir::new();
    t.hoard()
        .args(["import", "--format", "jsonl"])
        .write_stdin("{\"key\":\"k\"}\n")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("line 1: missing \"value\"")
                .and(predicate::str::contains("must be a string").not()),
        );
    t.hoard()
        .args(["import", "--format", "jsonl"])
        .write_stdin("{\"key\":\"k\",\"value\":5}\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"value\" must be a string"));
}

mod snapshot_inside {
    use super::*;

    both_engines! {
        fn snapshot_to_a_directory_inside_the_store_is_refused(t: &TestDir) {
            t.put("k", "v");
            let before = common::snapshot_dir(&t.dir());
            for dest in [t.dir().join("copy"), t.dir().join("sub/copy")] {
                t.hoard()
                    .args(["snapshot", "--to"])
                    .arg(&dest)
                    .assert()
                    .code(2)
                    .stderr(predicate::str::contains("inside the store"));
            }
            std::fs::create_dir(t.dir().join("sub")).unwrap();
            t.hoard()
                .args(["snapshot", "--to"])
                .arg(t.dir().join("sub/copy"))
                .assert()
                .code(2);
            std::fs::remove_dir(t.dir().join("sub")).unwrap();
            assert_eq!(common::snapshot_dir(&t.dir()), before);
            let outside = t.tmp.path().join("copy");
            t.hoard().args(["-q", "snapshot", "--to"]).arg(&outside).assert().success();
            common::hoard_at(&outside).args(["get", "k"]).assert().success().stdout("v");
        }
    }
}

#[test]
fn the_readme_gives_a_working_cluster_path_and_says_get_adds_no_newline() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        !readme.contains("(or a Redis Cluster)"),
        "redis-cli --pipe does not load a cluster"
    );
    assert!(readme.contains("redis-cli --cluster import"));
    assert!(readme.contains("no trailing newline"));
    // And get does add none.
    let t = TestDir::new();
    t.put("k", "line");
    t.hoard()
        .args(["get", "k"])
        .assert()
        .success()
        .stdout("line");
}

mod conveniences {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt as _;

    fn os(bytes: &[u8]) -> &OsStr {
        OsStr::from_bytes(bytes)
    }

    both_engines! {
        fn get_of_many_keys_prints_one_value_a_line_under_one_lock(t: &TestDir) {
            t.put("a", "1");
            t.put("b", "2");
            t.hoard().args(["put"]).arg(os(b"\xffk")).arg(os(b"v\x01\xfe")).assert().success();
            t.hoard().args(["get", "a", "b"]).assert().success().stdout("1\n2\n");
            t.hoard()
                .args(["get", "-0", "a"])
                .arg(os(b"\xffk"))
                .assert()
                .success()
                .stdout(&b"1\0v\x01\xfe\0"[..]);
            // A missing key: an empty line in its place, and exit 1.
            t.hoard().args(["get", "a", "nope", "b"]).assert().code(1).stdout("1\n\n2\n");
            // One key alone: its exact bytes, nothing added.
            t.hoard().args(["get", "a"]).assert().success().stdout("1");
            let out = t
                .hoard()
                .args(["--json", "get", "a", "nope"])
                .arg(os(b"\xffk"))
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1));
            let docs: Vec<serde_json::Value> = out
                .stdout
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).unwrap())
                .collect();
            assert_eq!(docs.len(), 3);
            assert_eq!(docs[0]["value"], "1");
            assert_eq!(docs[1]["found"], false);
            assert_eq!(docs[2]["key_encoding"], "base64");
            assert_eq!(docs[2]["value"], "dgH+");
            assert_eq!(docs[2]["value_encoding"], "base64");
        }

        fn count_counts_live_keys_by_prefix(t: &TestDir) {
            t.hoard().arg("count").assert().success().stdout("0\n");
            t.put("user:1", "a");
            t.put("user:2", "b");
            t.put("other", "c");
            t.hoard().args(["put", "user:3", "x", "--ttl", "1ms"]).assert().success();
            std::thread::sleep(std::time::Duration::from_millis(5));
            t.hoard().arg("count").assert().success().stdout("3\n");
            t.hoard().args(["count", "--prefix", "user:"]).assert().success().stdout("2\n");
            t.hoard().args(["count", "--prefix"]).arg(os(b"\xff")).assert().success().stdout("0\n");
            t.hoard().args(["--json", "count"]).assert().success().stdout("{\"count\":3}\n");
        }

        fn incr_and_decr_follow_redis(t: &TestDir) {
            t.hoard().args(["incr", "n"]).assert().success().stdout("1\n");
            t.hoard().args(["incr", "n", "41"]).assert().success().stdout("42\n");
            t.hoard().args(["decr", "n"]).assert().success().stdout("41\n");
            t.hoard().args(["decr", "n", "50"]).assert().success().stdout("-9\n");
            t.hoard().args(["incr", "n", "-1"]).assert().success().stdout("-10\n");
            t.hoard().args(["get", "n"]).assert().success().stdout("-10");
            // Not an integer (as Redis reads one): exit 2, nothing changed.
            for bad in ["abc", " 1", "1 ", "+1", "01", "1.5", "", "-0", "99999999999999999999"] {
                t.hoard().args(["put", "s", "--", bad]).assert().success();
                t.hoard()
                    .args(["incr", "s"])
                    .assert()
                    .code(2)
                    .stderr(predicate::str::contains("not an integer"));
                t.hoard().args(["get", "s"]).assert().success().stdout(bad.to_string());
            }
            t.hoard().args(["put", "big", &i64::MAX.to_string()]).assert().success();
            t.hoard().args(["incr", "big"]).assert().code(2).stderr(predicate::str::contains("overflow"));
            t.hoard().args(["decr", "x", &i64::MIN.to_string()]).assert().code(2);
            // The expiry is kept, as Redis INCR keeps it.
            t.hoard().args(["put", "t", "5", "--ttl", "1h"]).assert().success();
            t.hoard().args(["incr", "t"]).assert().success().stdout("6\n");
            t.hoard().args(["ttl", "t"]).assert().success().stdout("3600\n");
            // Non-UTF-8 keys work.
            t.hoard().arg("incr").arg(os(b"\xfe\xff")).assert().success().stdout("1\n");
            t.hoard().args(["--json", "incr", "n"]).assert().success().stdout("{\"key\":\"n\",\"value\":-9}\n");
        }

        fn append_creates_or_extends_and_keeps_the_expiry(t: &TestDir) {
            t.hoard().args(["append", "k", "hello"]).assert().success().stdout("5\n");
            t.hoard().args(["append", "k", ", world"]).assert().success().stdout("12\n");
            t.hoard().args(["get", "k"]).assert().success().stdout("hello, world");
            t.hoard().args(["put", "t", "a", "--ttl", "1h"]).assert().success();
            t.hoard().args(["append", "t", "b"]).assert().success();
            t.hoard().args(["ttl", "t"]).assert().success().stdout("3600\n");
            t.hoard().arg("append").arg(os(b"\x80")).arg(os(b"\x01\xff")).assert().success().stdout("2\n");
            t.hoard().arg("append").arg(os(b"\x80")).arg(os(b"\xfe")).assert().success().stdout("3\n");
            t.hoard().arg("get").arg(os(b"\x80")).assert().success().stdout(&b"\x01\xff\xfe"[..]);
        }

        fn put_xx_writes_only_an_existing_key(t: &TestDir) {
            t.hoard().args(["put", "k", "v", "--xx"]).assert().code(1);
            t.hoard().args(["exists", "k"]).assert().code(1);
            t.put("k", "v");
            t.hoard().args(["put", "k", "w", "--xx", "--ttl", "1h"]).assert().success();
            t.hoard().args(["get", "k"]).assert().success().stdout("w");
            t.hoard().args(["ttl", "k"]).assert().success().stdout("3600\n");
            t.hoard().args(["put", "k", "v", "--xx", "--nx"]).assert().code(2);
            t.hoard()
                .args(["--json", "put", "nope", "v", "--xx"])
                .assert()
                .code(1)
                .stdout("{\"key\":\"nope\",\"written\":false}\n");
        }

        fn keys_glob_and_with_values(t: &TestDir) {
            for key in ["hello", "hallo", "hxllo", "hllo", "heeeello", "user:1", "user:2"] {
                t.put(key, &format!("v-{key}"));
            }
            t.hoard().args(["put"]).arg(os(b"h\xffllo")).arg(os(b"\x01")).assert().success();
            // `?` is any one byte, UTF-8 or not.
            t.hoard()
                .args(["keys", "--glob", "h?llo"])
                .assert()
                .success()
                .stdout(&b"hallo\nhello\nhxllo\nh\xffllo\n"[..]);
            t.hoard()
                .args(["keys", "-0", "--glob", "h[^e]llo"])
                .assert()
                .success()
                .stdout(&b"hallo\0hxllo\0h\xffllo\0"[..]);
            t.hoard().args(["keys", "--glob", "h*llo", "--limit", "2"]).assert().success().stdout("hallo\nheeeello\n");
            t.hoard().args(["keys", "--glob", "user:*", "--prefix", "user:2"]).assert().success().stdout("user:2\n");
            t.hoard().args(["keys", "--glob", "user:[0-1]", "--with-values"]).assert().success().stdout("user:1\tv-user:1\n");
            t.hoard()
                .args(["keys", "--glob", "h?llo", "--prefix", "h\u{ff}", "--with-values"])
                .assert()
                .success()
                .stdout("");
            let out = t
                .hoard()
                .args(["--json", "keys", "--with-values", "--glob", "h[!-\u{7f}]llo"])
                .output()
                .unwrap();
            assert!(out.status.success());
            t.hoard()
                .args(["keys", "--with-values", "--glob"])
                .arg(os(b"h\xffllo"))
                .assert()
                .success()
                .stdout("h\\xffllo\t\\x01\n");
            let out = t
                .hoard()
                .args(["--json", "keys", "--with-values", "--glob", "user:1"])
                .output()
                .unwrap();
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(doc, serde_json::json!({"key": "user:1", "value": "v-user:1"}));
            t.hoard().args(["keys", "--with-values", "-0"]).assert().code(2);
        }

        fn ttl_ms_prints_milliseconds(t: &TestDir) {
            t.put("k", "v");
            t.hoard().args(["ttl", "--ms", "k"]).assert().success().stdout("-1\n");
            t.hoard().args(["ttl", "--ms", "nope"]).assert().code(1).stdout("-2\n");
            t.hoard().args(["expire", "k", "1h"]).assert().success();
            let out = t.hoard().args(["ttl", "--ms", "k"]).output().unwrap();
            let ms: u64 = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
            assert!((3_590_000..=3_600_000).contains(&ms), "{ms}");
        }
    }
}

mod batch {
    use super::*;

    /// RESP for `commands`, as `redis-cli --pipe` takes it.
    fn resp(commands: &[&[&[u8]]]) -> Vec<u8> {
        let mut out = Vec::new();
        for args in commands {
            out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for arg in *args {
                out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                out.extend_from_slice(arg);
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    both_engines! {
        fn a_resp_batch_applies_redis_write_commands_in_order(t: &TestDir) {
            t.put("old", "gone soon");
            t.put("keepttl", "v");
            t.hoard().args(["expire", "keepttl", "1h"]).assert().success();
            let far = (4_102_444_800u64).to_string();
            let input = resp(&[
                &[b"SET", b"a", b"1"],
                &[b"set", b"\xffbin", b"\x00\xff"],
                &[b"SET", b"ex", b"v", b"EX", b"100"],
                &[b"SET", b"pxat", b"v", b"PXAT", b"4102444800000"],
                &[b"SET", b"a", b"nx-loses", b"NX"],
                &[b"SET", b"missing", b"xx-loses", b"XX"],
                &[b"SET", b"keepttl", b"w", b"KEEPTTL"],
                &[b"SET", b"past", b"v", b"PXAT", b"1000"],
                &[b"MSET", b"m1", b"x", b"m2", b"y"],
                &[b"DEL", b"old", b"nope"],
                &[b"UNLINK", b"m2"],
                &[b"INCR", b"n"],
                &[b"INCRBY", b"n", b"10"],
                &[b"DECR", b"n"],
                &[b"DECRBY", b"n", b"3"],
                &[b"APPEND", b"m1", b"z"],
                &[b"EXPIRE", b"m1", b"60"],
                &[b"PEXPIRE", b"a", b"60000"],
                &[b"PERSIST", b"a"],
                &[b"EXPIREAT", b"n", far.as_bytes()],
                &[b"PEXPIREAT", b"ex", b"1"],
                &[b"SETNX", b"sn", b"1"],
                &[b"SETEX", b"se", b"100", b"v"],
            ]);
            t.hoard()
                .args(["import", "--format", "resp"])
                .write_stdin(input)
                .assert()
                .success()
                .stderr(predicate::str::contains("errors: 0, replies: 23"));
            let get = |key: &[u8]| {
                let out = t
                    .hoard()
                    .arg("get")
                    .arg(std::ffi::OsStr::from_bytes(key))
                    .output()
                    .unwrap();
                (out.status.code().unwrap(), out.stdout)
            };
            use std::os::unix::ffi::OsStrExt as _;
            assert_eq!(get(b"a"), (0, b"1".to_vec()));
            assert_eq!(get(b"\xffbin"), (0, b"\x00\xff".to_vec()));
            assert_eq!(get(b"missing").0, 1);
            assert_eq!(get(b"keepttl"), (0, b"w".to_vec()));
            assert_eq!(get(b"past").0, 1);
            assert_eq!(get(b"old").0, 1);
            assert_eq!(get(b"m1"), (0, b"xz".to_vec()));
            assert_eq!(get(b"m2").0, 1);
            assert_eq!(get(b"n"), (0, b"7".to_vec()));
            assert_eq!(get(b"ex").0, 1, "PEXPIREAT in the past deletes");
            assert_eq!(get(b"sn"), (0, b"1".to_vec()));
            t.hoard().args(["ttl", "keepttl"]).assert().success().stdout("3600\n");
            t.hoard().args(["ttl", "a"]).assert().success().stdout("-1\n");
            t.hoard().args(["ttl", "m1"]).assert().success().stdout("60\n");
            t.hoard().args(["ttl", "se"]).assert().success().stdout("100\n");
            let out = t.hoard().args(["--json", "get", "n", "pxat"]).output().unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            let docs: Vec<serde_json::Value> =
                text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            assert_eq!(docs[0]["expires_at_ms"], 4_102_444_800_000u64);
            assert_eq!(docs[1]["expires_at_ms"], 4_102_444_800_000u64);
        }

        fn an_unsupported_command_stops_the_batch_naming_its_line(t: &TestDir) {
            let input = resp(&[
                &[b"SET", b"a", b"1"],
                &[b"FLUSHALL"],
                &[b"SET", b"b", b"2"],
            ]);
            t.hoard()
                .args(["import", "--format", "resp"])
                .write_stdin(input)
                .assert()
                .code(2)
                .stderr(
                    predicate::str::contains("line 8: unsupported command FLUSHALL")
                        .and(predicate::str::contains("the 1 record before it was imported")),
                );
            t.hoard().args(["get", "a"]).assert().success().stdout("1");
            t.hoard().args(["get", "b"]).assert().code(1);
            // A command Redis would refuse at run time stops it too.
            t.hoard()
                .args(["import", "--format", "resp"])
                .write_stdin(resp(&[&[b"INCR", b"a"], &[b"APPEND", b"a", b"x"], &[b"INCR", b"a"]]))
                .assert()
                .code(2)
                .stderr(predicate::str::contains("line 13:").and(predicate::str::contains("not an integer")));
            t.hoard().args(["get", "a"]).assert().success().stdout("2x");
            for bad in [
                resp(&[&[b"SET", b"a"]]),
                resp(&[&[b"SET", b"a", b"v", b"EX"]]),
                resp(&[&[b"SET", b"a", b"v", b"NX", b"XX"]]),
                resp(&[&[b"SET", b"a", b"v", b"GET"]]),
                resp(&[&[b"MSET", b"a"]]),
                resp(&[&[b"EXPIRE", b"a", b"10", b"NX"]]),
            ] {
                t.hoard().args(["import", "--format", "resp"]).write_stdin(bad).assert().code(2);
            }
            t.hoard().args(["get", "a"]).assert().success().stdout("2x");
        }
    }
}

mod human {
    use super::*;

    both_engines! {
        fn inspect_shows_human_sizes_and_json_keeps_bytes(t: &TestDir) {
            t.put("k", &"v".repeat(3000));
            t.hoard()
                .arg("inspect")
                .assert()
                .success()
                .stdout(predicate::str::contains(" KiB"));
            let out = t.hoard().args(["--json", "inspect"]).output().unwrap();
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let bytes = doc["files"][0]["bytes"].as_u64().expect("bytes stay a number");
            assert!(bytes > 3000, "{doc}");
        }
    }
}

#[test]
fn repair_backups_have_a_readable_utc_name() {
    let t = TestDir::new();
    t.put("first", "AAAAAAAA");
    t.put("second", "BBBBBBBB");
    let file = &t.data_files()[0];
    let mut bytes = std::fs::read(file).unwrap();
    let at = bytes.windows(8).position(|w| w == b"AAAAAAAA").unwrap();
    bytes[at] = b'Z';
    std::fs::write(file, &bytes).unwrap();
    let out = t.hoard().args(["verify", "--repair"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let backups: Vec<String> = std::fs::read_dir(t.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("backup-"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let stamp = backups[0].strip_prefix("backup-").unwrap();
    // backup-YYYYMMDDTHHMMSSZ, not epoch milliseconds.
    assert_eq!(stamp.len(), 16, "{stamp}");
    assert!(
        stamp.starts_with("20") && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
        "{stamp}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&backups[0]), "{stdout}");
    let copy = std::fs::read(t.dir().join(&backups[0]).join(file.file_name().unwrap())).unwrap();
    assert_eq!(copy, bytes, "the backup holds the damaged original");
}
