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
