//! A real redis-server for tests: on a free loopback port, stopped by its
//! pid when dropped. Tests that need it skip (printing SKIPPED) when it is
//! not installed, unless HOARD_REQUIRE_REDIS is set, as CI sets it: then
//! its absence is a failure.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::server::Raw;

/// A running redis-server.
pub struct Redis {
    pub child: Child,
    pub port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `tool` runs; false (after printing SKIPPED) when it is missing,
/// and a failure then if HOARD_REQUIRE_REDIS is set.
pub fn have(tool: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("HOARD_REQUIRE_REDIS").is_none(),
        "{tool} is required (HOARD_REQUIRE_REDIS is set): apt-get install redis-server redis-tools"
    );
    eprintln!(
        "SKIPPED: {tool} is not installed (apt-get install redis-server redis-tools; CI requires it)"
    );
    false
}

/// A free loopback port (free when this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts redis-server without persistence; None if it is not installed.
pub fn start_redis() -> Option<Redis> {
    start_redis_with(&["--save", "", "--appendonly", "no"])
}

/// Starts redis-server with `args` after its port; None if it is not
/// installed.
pub fn start_redis_with(args: &[&str]) -> Option<Redis> {
    if !have("redis-server") {
        return None;
    }
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server");
    let mut redis = Redis { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = redis.child.try_wait().expect("try_wait") {
            panic!("redis-server exited at start ({status}); was 127.0.0.1:{port} taken?");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // The port is ours, not another test's server that took it meanwhile.
            let hello = Raw::connect(port).cmd("HELLO 2");
            if hello.contains("LOADING") {
                std::thread::sleep(Duration::from_millis(25));
                continue;
            }
            assert!(
                hello.contains("$6\r\nserver\r\n$5\r\nredis\r\n"),
                "127.0.0.1:{port} is not our redis-server: {hello}"
            );
            return Some(redis);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("redis-server did not start on 127.0.0.1:{port} within 20 s");
}
