//! `hoard serve` with real Redis clients: redis-cli (RESP2 and RESP3,
//! commands on stdin, `-x`, `--pipe` with multibulk and inline commands,
//! `--scan`), redis-benchmark on both engines followed by `hoard verify`,
//! and redis-py through `tests/python/redis_py_interop.py`.
//!
//! A missing tool skips its test with `SKIPPED: ...` on stderr, unless
//! HOARD_REQUIRE_REDIS is set (CI sets it), which makes that a failure
//! saying how to install it. redis-py comes from the Python in HOARD_PYTHON
//! (CI makes a virtualenv for it), else from `python3`.
//!
//! Each test starts its own servers on free loopback ports and stops them
//! by pid; every client process runs under a deadline and is killed by pid
//! past it.

mod common;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::TestDir;
use common::server::{Server, encode};

/// Whether `tool` runs; if not, prints SKIPPED, or fails under
/// HOARD_REQUIRE_REDIS with how to install it.
fn have(tool: &str, install: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("HOARD_REQUIRE_REDIS").is_none(),
            "{tool} is required (HOARD_REQUIRE_REDIS is set): {install}"
        );
        eprintln!("SKIPPED: {tool} is not installed ({install}; CI requires it)");
    }
    found
}

/// What a client process printed.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `command` with `stdin` (a file's bytes, or nothing), killing it by
/// pid if it runs longer than `limit`.
fn run(mut command: Command, stdin: Option<&[u8]>, limit: Duration) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    match stdin {
        Some(bytes) => {
            let in_path = dir.path().join("in");
            std::fs::write(&in_path, bytes).unwrap();
            command.stdin(File::open(&in_path).unwrap());
        }
        None => {
            command.stdin(Stdio::null());
        }
    }
    let shown = format!("{command:?}");
    let mut child = command
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{shown} did not finish within {limit:?}; it printed:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    Run {
        status,
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// `redis-cli -p PORT ARGS...`: its standard output (stdout is not a
/// terminal, so replies print raw unless `--no-raw` is given).
fn cli(port: u16, args: &[&str]) -> String {
    cli_with_input(port, args, None)
}

fn cli_with_input(port: u16, args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = cli_run(port, args, stdin);
    assert!(
        out.status.success(),
        "redis-cli {args:?}: {}\n{}{}",
        out.status,
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// `redis-cli`, whatever its exit status.
fn cli_run(port: u16, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut command = Command::new("redis-cli");
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args);
    run(command, stdin, Duration::from_secs(60))
}

#[test]
fn redis_cli_in_resp2_and_resp3() {
    if !have("redis-cli", "apt-get install redis-tools") {
        return;
    }
    let t = TestDir::with_engine("bitcask");
    let server = Server::start(&t.dir(), &[]);
    let port = server.resp_port;
    // Raw output, as scripts see it.
    assert_eq!(cli(port, &["PING"]), "PONG\n");
    assert_eq!(cli(port, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(port, &["GET", "greeting"]), "hello world\n");
    assert_eq!(cli(port, &["GET", "missing"]), "\n");
    assert_eq!(cli(port, &["APPEND", "greeting", "!"]), "12\n");
    assert_eq!(cli(port, &["INCRBY", "n", "41"]), "41\n");
    assert_eq!(cli(port, &["INCR", "n"]), "42\n");
    assert_eq!(cli(port, &["MSET", "a", "1", "b", "2"]), "OK\n");
    assert_eq!(cli(port, &["MGET", "a", "missing", "b"]), "1\n\n2\n");
    assert_eq!(
        cli(port, &["INCR", "greeting"]),
        "ERR value is not an integer or out of range\n\n"
    );
    assert_eq!(cli(port, &["SET", "t", "v", "EX", "1000"]), "OK\n");
    let ttl: i64 = cli(port, &["TTL", "t"]).trim().parse().unwrap();
    assert!((999..=1000).contains(&ttl), "TTL {ttl}");
    // Formatted output, as a person sees it.
    let pretty = |args: &[&str]| {
        let mut all = vec!["--no-raw"];
        all.extend_from_slice(args);
        cli(port, &all)
    };
    assert_eq!(pretty(&["GET", "greeting"]), "\"hello world!\"\n");
    assert_eq!(pretty(&["GET", "missing"]), "(nil)\n");
    assert_eq!(pretty(&["EXISTS", "a", "b", "missing"]), "(integer) 2\n");
    assert_eq!(
        pretty(&["MGET", "a", "missing", "b"]),
        "1) \"1\"\n2) (nil)\n3) \"2\"\n"
    );
    assert_eq!(
        pretty(&["INCR", "greeting"]),
        "(error) ERR value is not an integer or out of range\n"
    );
    assert_eq!(
        pretty(&["GET"]),
        "(error) ERR wrong number of arguments for 'get' command\n"
    );
    assert_eq!(pretty(&["TYPE", "a"]), "string\n");
    assert_eq!(pretty(&["INCRBYFLOAT", "f", "1.5"]), "\"1.5\"\n");
    // RESP3 (`-3` sends HELLO 3 first): nulls, maps, doubles' text.
    let resp3 = |args: &[&str]| {
        let mut all = vec!["-3", "--no-raw"];
        all.extend_from_slice(args);
        cli(port, &all)
    };
    assert_eq!(resp3(&["GET", "missing"]), "(nil)\n");
    assert_eq!(resp3(&["GET", "greeting"]), "\"hello world!\"\n");
    assert_eq!(
        resp3(&["CONFIG", "GET", "maxclients"]),
        "1# \"maxclients\" => \"10000\"\n"
    );
    let hello = resp3(&["HELLO", "3"]);
    assert!(hello.contains("\"proto\" => (integer) 3\n"), "{hello}");
    assert!(hello.contains("\"server\" => \"hoard\"\n"), "{hello}");
    assert_eq!(
        resp3(&["SET", "greeting", "bye", "GET"]),
        "\"hello world!\"\n"
    );
    assert_eq!(resp3(&["GETDEL", "missing"]), "(nil)\n");
    assert_eq!(resp3(&["MGET", "a", "missing"]), "1) \"1\"\n2) (nil)\n");
    assert_eq!(cli(port, &["-3", "GET", "greeting"]), "bye\n");
    // The last argument from stdin (-x): binary bytes arrive intact.
    assert_eq!(
        cli_with_input(port, &["-x", "SET", "bin"], Some(b"xyz\0abc\r\n\xff")),
        "OK\n"
    );
    assert_eq!(cli(port, &["STRLEN", "bin"]), "10\n");
    assert_eq!(pretty(&["GET", "bin"]), "\"xyz\\x00abc\\r\\n\\xff\"\n");
    // Commands on stdin, one per line, in one connection (a transaction too).
    let script = b"SET s 1\nINCR s\nGET s\nMULTI\nINCR s\nGET s\nEXEC\nGET missing\nDEL s\n";
    assert_eq!(
        cli_with_input(port, &["--no-raw"], Some(script)),
        "OK\n(integer) 2\n\"2\"\nOK\nQUEUED\nQUEUED\n1) (integer) 3\n2) \"3\"\n(nil)\n(integer) 1\n"
    );
    assert_eq!(
        cli_with_input(
            port,
            &["-3", "--no-raw"],
            Some(b"SET s x\nGET s\nGET missing\n")
        ),
        "OK\n\"x\"\n(nil)\n"
    );
}

#[test]
fn redis_cli_pipe_loads_and_scan_finds_keys() {
    if !have("redis-cli", "apt-get install redis-tools") {
        return;
    }
    let t = TestDir::with_engine("memory");
    let server = Server::start(&t.dir(), &[]);
    let port = server.resp_port;
    // Mass insertion: 3000 SETs as multibulks and 1000 as inline commands,
    // the way `redis-cli --pipe` is fed from a file.
    let mut input = Vec::new();
    for i in 0..3000 {
        let key = format!("user:{i}");
        let value = format!("value {i}\r\n\0");
        input.extend(encode(&[b"SET", key.as_bytes(), value.as_bytes()]));
    }
    for i in 0..1000 {
        input.extend(format!("SET session:{i} {i}\r\n").into_bytes());
    }
    let out = cli_with_input(port, &["--pipe"], Some(&input));
    assert!(out.contains("errors: 0, replies: 4000"), "{out}");
    assert_eq!(cli(port, &["DBSIZE"]), "4000\n");
    assert_eq!(cli(port, &["GET", "session:999"]), "999\n");
    assert_eq!(
        cli(port, &["--no-raw", "GET", "user:42"]),
        "\"value 42\\r\\n\\x00\"\n"
    );
    // A command that fails is counted as an error (exit 1), and the rest go on.
    let mut bad = encode(&[b"INCR", b"user:1"]);
    bad.extend(encode(&[b"SET", b"after", b"error"]));
    let out = cli_run(port, &["--pipe"], Some(&bad));
    assert_eq!(out.status.code(), Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("errors: 1, replies: 2"),
        "{}",
        out.stdout
    );
    assert!(
        (out.stdout.clone() + &out.stderr).contains("ERR value is not an integer or out of range"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(cli(port, &["GET", "after"]), "error\n");
    // --scan walks every key once and filters by pattern. (Each SCAN call
    // reads the whole key list in hoard: three walks of 4000 keys at COUNT
    // 10 take a few seconds in a debug build.) (redis-cli 7.0 has
    // no --count; redis-py's scan_iter covers a small COUNT.)
    let scan = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--scan"];
        all.extend_from_slice(args);
        let out = cli(port, &all);
        let keys: Vec<String> = out.lines().map(str::to_string).collect();
        let unique: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "--scan {args:?} repeated a key");
        let mut keys = keys;
        keys.sort();
        keys
    };
    let mut users: Vec<String> = (0..3000).map(|i| format!("user:{i}")).collect();
    users.sort();
    assert_eq!(scan(&["--pattern", "user:*"]), users);
    let mut ones: Vec<String> = (0..1000)
        .map(|i| format!("session:{i}"))
        .filter(|k| k.starts_with("session:1"))
        .collect();
    ones.sort();
    assert_eq!(scan(&["--pattern", "session:1*"]), ones);
    assert_eq!(scan(&[]).len(), 4001);
}

/// redis-benchmark's request count per test, as the issue asks: about 17 s
/// per engine in a debug build on this 2-core machine (MSET of ten keys
/// under `sync=always` is the slowest, at about 13000 a second).
const BENCHMARK_REQUESTS: u32 = 100_000;

#[test]
fn redis_benchmark_runs_without_errors_on_both_engines() {
    if !have("redis-benchmark", "apt-get install redis-tools") {
        return;
    }
    for engine in ["bitcask", "memory"] {
        let t = TestDir::with_engine(engine);
        let mut server = Server::start(&t.dir(), &[]);
        let started = Instant::now();
        let mut command = Command::new("redis-benchmark");
        command
            .args(["-h", "127.0.0.1", "-p", &server.resp_port.to_string()])
            .args(["-t", "set,get,incr,mset", "-c", "50", "-q"])
            .args(["-n", &BENCHMARK_REQUESTS.to_string()]);
        let out = run(command, None, Duration::from_secs(300));
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(out.status.success(), "{engine}: {}: {text}", out.status);
        // -q prints progress lines ended by \r and one final line per test.
        let finals: Vec<&str> = text
            .split(['\r', '\n'])
            .filter(|line| line.contains("requests per second"))
            .map(str::trim)
            .collect();
        for test in ["SET: ", "GET: ", "INCR: ", "MSET (10 keys): "] {
            assert_eq!(
                finals.iter().filter(|l| l.starts_with(test)).count(),
                1,
                "{engine}: no result for {test}in {finals:?}"
            );
        }
        let lower = text.to_lowercase();
        assert!(
            !lower.contains("err") && !lower.contains("warning"),
            "{engine}: {text}"
        );
        eprintln!(
            "{engine}: redis-benchmark -n {BENCHMARK_REQUESTS} in {:.1?}: {finals:?}",
            started.elapsed()
        );
        // The server still answers, and no increment was lost.
        let mut c = server.connect();
        assert_eq!(c.cmd("PING"), "+PONG\r\n");
        assert_eq!(
            c.cmd("GET counter:__rand_int__"),
            format!(
                "${}\r\n{BENCHMARK_REQUESTS}\r\n",
                BENCHMARK_REQUESTS.to_string().len()
            )
        );
        // The value redis-benchmark wrote (-d 3: three bytes).
        assert!(c.cmd("GET key:__rand_int__").starts_with("$3\r\n"));
        drop(c);
        assert_eq!(server.terminate(), 0, "{engine}: hoard serve after SIGTERM");
        t.hoard().arg("verify").assert().success();
    }
}

/// The Python to run redis-py with: HOARD_PYTHON, else `python3` if it has
/// redis-py; None (after SKIPPED) if neither, a failure under
/// HOARD_REQUIRE_REDIS.
fn python_with_redis_py() -> Option<PathBuf> {
    let python = std::env::var_os("HOARD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let works = Command::new(&python)
        .args(["-c", "import redis"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if works {
        return Some(python);
    }
    let install = "python3 -m venv /tmp/venv && /tmp/venv/bin/pip install 'redis>=5,<9', \
                   then set HOARD_PYTHON=/tmp/venv/bin/python";
    assert!(
        std::env::var_os("HOARD_REQUIRE_REDIS").is_none(),
        "redis-py is required (HOARD_REQUIRE_REDIS is set) and {} cannot import it: {install}",
        python.display()
    );
    eprintln!(
        "SKIPPED: redis-py is not available to {} ({install})",
        python.display()
    );
    None
}

#[test]
fn redis_py_works_in_resp2_and_resp3() {
    let Some(python) = python_with_redis_py() else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/redis_py_interop.py");
    for engine in ["bitcask", "memory"] {
        // Redis's everysec: under `always` each of the script's few hundred
        // unpipelined writes waits for its own fdatasync, which makes the
        // test several times slower and tests nothing more about the client.
        let t = TestDir::with_sync(engine, "interval:1000");
        let server = Server::start(&t.dir(), &[]);
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .arg(server.resp_port.to_string())
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let out = run(command, None, Duration::from_secs(120));
        assert!(
            out.status.success(),
            "{engine}: redis-py interop failed ({}):\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
        assert!(out.stdout.contains("protocol=3: ok"), "{}", out.stdout);
        eprint!("{engine}: {}", out.stdout);
    }
}
