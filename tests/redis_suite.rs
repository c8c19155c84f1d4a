//! Redis's own test suite (7.0.15, units type/string, type/incr, expire
//! and keyspace) in external mode against `hoard serve`, both engines,
//! with the committed skip file `tests/redis-suite/skipfile`.
//!
//! The suite is not vendored: CI downloads Debian's source package of
//! redis and points `HOARD_REDIS_SUITE` at the extracted tree (the one
//! holding `runtest`). Without it the test says SKIPPED, except under
//! `HOARD_REQUIRE_REDIS`, where it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDir;
use common::server::Server;

const UNITS: [&str; 4] = [
    "unit/type/string",
    "unit/type/incr",
    "unit/expire",
    "unit/keyspace",
];

/// The longest one unit may run before the test gives up on it.
const UNIT_TIMEOUT: Duration = Duration::from_secs(300);

fn suite() -> Option<PathBuf> {
    let found = std::env::var_os("HOARD_REDIS_SUITE")
        .map(PathBuf::from)
        .filter(|dir| dir.join("runtest").is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("HOARD_REQUIRE_REDIS").is_none(),
            "Redis's test suite is required (HOARD_REQUIRE_REDIS is set): set HOARD_REDIS_SUITE \
             to an extracted redis 7.0.15 source tree (.ci/run fetches it with apt-get source)"
        );
        eprintln!("SKIPPED: HOARD_REDIS_SUITE does not name a redis source tree with runtest");
    }
    found
}

/// Runs one unit against `port`; returns (passed, skipped) or panics with the output.
fn run_unit(suite: &Path, port: u16, unit: &str) -> (usize, usize) {
    let skipfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/redis-suite/skipfile");
    let mut child = Command::new("./runtest")
        .current_dir(suite)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--singledb", "--ignore-encoding", "--ignore-digest"])
        .args(["--tags", "-needs:debug", "--skipfile"])
        .arg(&skipfile)
        .args(["--single", unit])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the suite's runtest (is tclsh installed? apt-get install tcl)");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for runtest") {
            break status;
        }
        if started.elapsed() > UNIT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{unit} ran longer than {UNIT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    // Colour codes around the status words.
    let plain: String = strip_ansi(&output);
    let passed = plain.lines().filter(|l| l.starts_with("[ok]:")).count();
    let skipped = plain.lines().filter(|l| l.starts_with("[skip]:")).count();
    assert!(
        status.success() && plain.contains("All tests passed without errors!"),
        "{unit}: {status}\n{plain}"
    );
    (passed, skipped)
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn run_suite(engine: &str) {
    let Some(suite) = suite() else { return };
    for unit in UNITS {
        // A fresh store per unit: the suite flushes and fills the database.
        let t = TestDir::with_engine(engine);
        let mut server = Server::start(&t.dir(), &[]);
        let (passed, skipped) = run_unit(&suite, server.resp_port, unit);
        eprintln!("redis suite, {engine}: {unit}: {passed} passed, {skipped} skipped");
        assert!(passed > 0, "{unit}: no test ran");
        assert_eq!(server.terminate(), 0, "the server did not stop cleanly");
        t.hoard().arg("verify").assert().success();
    }
}

/// Both engines in one test, one after the other: two `runtest` at once
/// would race for the port of the suite's own test server.
#[test]
fn redis_test_suite_passes_against_both_engines() {
    run_suite("bitcask");
    run_suite("memory");
}
