//! `import` and `export`: every format round-trips all 256 byte values in
//! keys and values, with expiries; a malformed line stops the import with
//! exit 2 and keeps what came before; and a `resp` export loads into a
//! real redis-server through `redis-cli --pipe`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::TestDir;
use hoardhaven::{Access, OpenOptions, PutOptions, Store};
use predicates::prelude::*;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Keys and values covering every byte value; some keys expire in an hour.
fn entries() -> Vec<(Vec<u8>, Vec<u8>, bool)> {
    let all: Vec<u8> = (0..=255u8).collect();
    let mut entries = vec![
        (all.clone(), all.clone(), false),
        (b"plain".to_vec(), b"text value".to_vec(), false),
        (b"empty".to_vec(), Vec::new(), true),
        (
            "ünïcode ✓".as_bytes().to_vec(),
            "välue\twith\ttabs\nand\\newlines\r".as_bytes().to_vec(),
            true,
        ),
    ];
    for b in 0..=255u8 {
        entries.push((
            vec![b'k', b],
            vec![b, b, 0, b'\n', b'\t', b'\\'],
            b % 3 == 0,
        ));
    }
    entries
}

fn populate(dir: &std::path::Path) {
    let store = Store::open(dir, &OpenOptions::new(Access::Write)).unwrap();
    for (key, value, expires) in entries() {
        let options = PutOptions {
            ttl_ms: expires.then_some(3_600_000),
            only_if_absent: false,
        };
        store.put(&key, &value, options).unwrap();
    }
    store.close().unwrap();
}

fn assert_same_contents(a: &std::path::Path, b: &std::path::Path) {
    let a = Store::open(a, &OpenOptions::new(Access::Read)).unwrap();
    let b = Store::open(b, &OpenOptions::new(Access::Read)).unwrap();
    let keys = a.keys(b"", None).unwrap();
    assert_eq!(keys, b.keys(b"", None).unwrap());
    assert_eq!(keys.len(), entries().len());
    for key in keys {
        let (va, vb) = (a.get(&key).unwrap().unwrap(), b.get(&key).unwrap().unwrap());
        assert_eq!(va, vb, "key {:?}", key.escape_ascii().to_string());
    }
}

#[test]
fn every_format_round_trips_every_byte_and_expiry() {
    for format in ["tsv", "jsonl", "resp"] {
        let source = TestDir::new();
        populate(&source.dir());
        let dump = source
            .hoard()
            .args(["export", "--format", format])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let target = TestDir::new();
        target
            .hoard()
            .args(["import", "--format", format])
            .write_stdin(dump.clone())
            .assert()
            .success()
            .stdout("")
            .stderr(predicate::str::contains(format!(
                "imported {} records",
                entries().len()
            )));
        assert_same_contents(&source.dir(), &target.dir());
        let again = target
            .hoard()
            .args(["export", "--format", format])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(again, dump, "{format}: a second export differs");
    }
}

#[test]
fn export_prefix_selects_keys_and_tsv_escapes_are_readable() {
    let t = TestDir::new();
    t.put("user:1", "alice");
    t.put("user:2", "bob\tsmith");
    t.put("other", "x");
    t.hoard()
        .args(["export", "--prefix", "user:"])
        .assert()
        .success()
        .stdout("user:1\talice\nuser:2\tbob\\tsmith\n");
    let out = t
        .hoard()
        .args(["export", "--format", "jsonl", "--prefix", "o"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc, serde_json::json!({"key": "other", "value": "x"}));
}

#[test]
fn a_malformed_line_stops_the_import_with_exit_2_and_keeps_what_came_before() {
    let cases: [(&str, &[u8]); 3] = [
        ("tsv", b"a\t1\nb\t2\nbroken line without a tab\nc\t3\n"),
        ("jsonl", b"{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\",\"value\":\"2\"}\n{\"key\":\"c\"\nnot json\n"),
        ("resp", b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$3\r\nGET\r\n$1\r\nc\r\n"),
    ];
    for (format, input) in cases {
        let t = TestDir::new();
        t.put("existing", "kept");
        let line = if format == "resp" { 15 } else { 3 };
        t.hoard()
            .args(["import", "--format", format])
            .write_stdin(input.to_vec())
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains(format!("stdin: line {line}:")).and(
                    predicate::str::contains("the 2 records before it were imported and synced"),
                ),
            );
        t.hoard().args(["get", "a"]).assert().success().stdout("1");
        t.hoard().args(["get", "b"]).assert().success().stdout("2");
        t.hoard().args(["get", "c"]).assert().code(1);
        t.hoard()
            .args(["get", "existing"])
            .assert()
            .success()
            .stdout("kept");
    }
}

#[test]
fn an_oversized_key_in_an_import_is_a_malformed_line() {
    let t = TestDir::new();
    let mut input = b"a\t1\n".to_vec();
    input.extend_from_slice(&vec![b'k'; 64 * 1024 + 1]);
    input.extend_from_slice(b"\tv\n");
    t.hoard()
        .args(["import", "--format", "tsv"])
        .write_stdin(input)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2").and(predicate::str::contains("over the limit")));
    t.hoard().args(["get", "a"]).assert().success().stdout("1");
}

#[test]
fn expired_entries_are_skipped_and_files_are_read_by_path() {
    let t = TestDir::new();
    let path = t.tmp.path().join("in.tsv");
    let later = now_ms() + 3_600_000;
    std::fs::write(&path, format!("old\tgone\t1000\nnew\there\t{later}\n")).unwrap();
    let out = t
        .hoard()
        .args(["import", "--json", "--format", "tsv"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({"imported": 1, "expired_skipped": 1})
    );
    t.hoard().args(["get", "old"]).assert().code(1);
    t.hoard()
        .args(["get", "new"])
        .assert()
        .success()
        .stdout("here");
    t.hoard()
        .args(["import", "--format", "tsv"])
        .arg(t.tmp.path().join("missing.tsv"))
        .assert()
        .code(5)
        .stderr(predicate::str::contains("missing.tsv"));
}

/// A redis-server on a free loopback port, killed when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_redis() -> Option<Redis> {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("HOARD_REQUIRE_REDIS").is_none(),
            "redis-server is required (HOARD_REQUIRE_REDIS is set): apt-get install redis-server redis-tools"
        );
        eprintln!(
            "SKIPPED: redis-server is not installed (apt-get install redis-server redis-tools; CI requires it)"
        );
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let redis = Redis { child, port };
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(redis);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("redis-server did not start on 127.0.0.1:{port} within 5 s");
}

/// Sends one command and reads a bulk string (None for nil) or an integer.
fn command(conn: &mut BufReader<TcpStream>, args: &[&[u8]]) -> Result<Option<Vec<u8>>, i64> {
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        request.extend_from_slice(arg);
        request.extend_from_slice(b"\r\n");
    }
    conn.get_mut().write_all(&request).unwrap();
    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    let line = line.trim_end();
    match line.as_bytes()[0] {
        b'$' if line == "$-1" => Ok(None),
        b'$' => {
            let len: usize = line[1..].parse().unwrap();
            let mut bytes = vec![0u8; len + 2];
            conn.read_exact(&mut bytes).unwrap();
            bytes.truncate(len);
            Ok(Some(bytes))
        }
        b':' => Err(line[1..].parse().unwrap()),
        _ => panic!("unexpected reply {line:?}"),
    }
}

#[test]
fn a_resp_export_loads_into_a_real_redis_server() {
    let Some(redis) = start_redis() else { return };
    let t = TestDir::new();
    populate(&t.dir());
    let dump = t
        .hoard()
        .args(["export", "--format", "resp"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut pipe = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &redis.port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    pipe.stdin.take().unwrap().write_all(&dump).unwrap();
    let out = pipe.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "redis-cli --pipe: {report}");
    assert!(
        report.contains(&format!("errors: 0, replies: {}", entries().len())),
        "{report}"
    );

    let mut conn = BufReader::new(TcpStream::connect(("127.0.0.1", redis.port)).unwrap());
    conn.get_ref()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(
        command(&mut conn, &[b"DBSIZE"]),
        Err(entries().len() as i64)
    );
    for (key, value, expires) in entries() {
        assert_eq!(
            command(&mut conn, &[b"GET", &key]),
            Ok(Some(value)),
            "GET {:?}",
            key.escape_ascii().to_string()
        );
        let pttl = command(&mut conn, &[b"PTTL", &key]).unwrap_err();
        if expires {
            assert!((3_500_000..=3_600_000).contains(&pttl), "PTTL {pttl}");
        } else {
            assert_eq!(pttl, -1);
        }
    }
}
