//! `hoard serve --http`: every route through curl (status codes, binary
//! keys and values, TTLs, pagination, the token, metrics), and a store
//! made read-only by a failed write (503 over HTTP, MISCONF over RESP).

mod common;

use std::io::{Read, Write};
use std::process::Command;

use common::TestDir;
use common::server::Server;

/// Whether curl is here; CI (HOARD_REQUIRE_REDIS set) requires it.
fn have_curl() -> bool {
    let found = Command::new("curl").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("HOARD_REQUIRE_REDIS").is_none(),
            "curl is required in CI: apt-get install curl"
        );
        eprintln!("SKIPPED: curl is not installed");
    }
    found
}

/// Runs curl; returns (status code, body).
fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl");
    let mut body = out.stdout;
    let split = body.iter().rposition(|b| *b == b'\n').expect("status line");
    let status = String::from_utf8_lossy(&body[split + 1..])
        .parse()
        .expect("status");
    body.truncate(split);
    (status, body)
}

fn http_server(t: &TestDir, extra: &[&str]) -> (Server, String) {
    let mut args = vec!["--http", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let server = Server::start(&t.dir(), &args);
    let base = format!("http://127.0.0.1:{}", server.http_port.expect("http port"));
    (server, base)
}

#[test]
fn every_route_answers_with_its_status() {
    if !have_curl() {
        return;
    }
    for engine in ["bitcask", "memory"] {
        let t = TestDir::with_engine(engine);
        let (server, base) = http_server(&t, &[]);
        let value_file = t.tmp.path().join("value");
        let value: Vec<u8> = (0..=255u8).rev().collect();
        std::fs::write(&value_file, &value).unwrap();
        let data = format!("@{}", value_file.display());
        // A key with a slash, a space and a NUL byte, percent-encoded.
        let key_url = format!("{base}/v1/keys/a%2Fb%20c%00");
        assert_eq!(
            curl(&["-X", "PUT", "--data-binary", &data, &key_url]).0,
            204
        );
        let (status, body) = curl(&[&key_url]);
        assert_eq!((status, body), (200, value.clone()));
        // The same key over RESP.
        let mut c = server.connect();
        c.send_command(&[b"STRLEN", b"a/b c\0"]);
        assert_eq!(c.reply(), ":256\r\n");
        assert_eq!(curl(&["-I", &key_url]).0, 200);
        assert_eq!(curl(&["-X", "DELETE", &key_url]).0, 204);
        assert_eq!(curl(&["-X", "DELETE", &key_url]).0, 404);
        let (status, body) = curl(&[&key_url]);
        assert_eq!(status, 404);
        assert!(String::from_utf8_lossy(&body).contains("\"error\":\"not_found\""));
        // TTLs, as a query parameter or a header.
        assert_eq!(
            curl(&[
                "-X",
                "PUT",
                "-d",
                "v",
                &format!("{base}/v1/keys/t1?ttl=100s")
            ])
            .0,
            204
        );
        assert_eq!(
            curl(&[
                "-X",
                "PUT",
                "-d",
                "v",
                "-H",
                "Hoard-TTL: 5m",
                &format!("{base}/v1/keys/t2")
            ])
            .0,
            204
        );
        assert_eq!(c.cmd("TTL t1"), ":100\r\n");
        assert_eq!(c.cmd("TTL t2"), ":300\r\n");
        let headers = Command::new("curl")
            .args([
                "-s",
                "-D",
                "-",
                "-o",
                "/dev/null",
                &format!("{base}/v1/keys/t1"),
            ])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&headers.stdout)
                .to_lowercase()
                .contains("hoard-expires-at-ms: ")
        );
        assert_eq!(
            curl(&["-X", "PUT", "-d", "v", &format!("{base}/v1/keys/t3?ttl=0")]).0,
            400
        );
        assert_eq!(
            curl(&[
                "-X",
                "PUT",
                "-d",
                "v",
                &format!("{base}/v1/keys/t3?ttl=soon")
            ])
            .0,
            400
        );
        // A misspelt parameter is refused, not ignored.
        assert_eq!(
            curl(&["-X", "PUT", "-d", "v", &format!("{base}/v1/keys/t3?tll=1h")]).0,
            400
        );
        // Bad keys and methods, unknown routes.
        assert_eq!(curl(&[&format!("{base}/v1/keys/")]).0, 400);
        assert_eq!(curl(&[&format!("{base}/v1/keys/%zz")]).0, 400);
        assert_eq!(curl(&["-X", "POST", &format!("{base}/v1/keys/x")]).0, 405);
        assert_eq!(curl(&[&format!("{base}/nowhere")]).0, 404);
        // Health and metrics.
        assert_eq!(curl(&[&format!("{base}/healthz")]), (200, b"ok\n".to_vec()));
        let (status, metrics) = curl(&[&format!("{base}/metrics")]);
        assert_eq!(status, 200);
        let metrics = String::from_utf8_lossy(&metrics);
        for line in [
            "hoard_commands_total{command=\"strlen\"} 1",
            "hoard_command_duration_seconds_count{command=\"ttl\"} 2",
            "hoard_http_requests_total{route=\"put\",status=\"2xx\"} 3",
            "hoard_http_requests_total{route=\"get\",status=\"4xx\"} 3",
            "hoard_keys 2",
            "hoard_connections 1",
            "# TYPE hoard_sync_duration_seconds_total counter",
            "hoard_read_only 0",
        ] {
            assert!(metrics.contains(line), "metrics lack {line}:\n{metrics}");
        }
        // Keep-alive: curl reuses one connection for two requests.
        let verbose = Command::new("curl")
            .args([
                "-s",
                "-v",
                "-o",
                "/dev/null",
                &format!("{base}/healthz"),
                "-o",
                "/dev/null",
                &format!("{base}/healthz"),
            ])
            .output()
            .unwrap();
        let trace = String::from_utf8_lossy(&verbose.stderr).to_lowercase();
        assert!(
            trace.contains("re-using existing connection")
                || trace.contains("reusing existing connection"),
            "{trace}"
        );
    }
}

#[test]
fn listing_pages_through_every_key_by_prefix() {
    if !have_curl() {
        return;
    }
    let t = TestDir::with_engine("bitcask");
    let (server, base) = http_server(&t, &[]);
    let mut c = server.connect();
    for i in 0..25 {
        assert_eq!(c.cmd(&format!("SET user:{i:02} v")), "+OK\r\n");
    }
    c.send_command(&[b"SET", b"user:\xff", b"v"]);
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(c.cmd("SET other x"), "+OK\r\n");
    let mut keys = Vec::new();
    let mut cursor = String::new();
    for page in 0.. {
        assert!(page < 10, "listing did not end");
        let (status, body) = curl(&[&format!(
            "{base}/v1/keys?prefix=user%3A&limit=10&cursor={cursor}"
        )]);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for item in json["keys"].as_array().unwrap() {
            keys.push(item.clone());
        }
        match json["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(keys.len(), 26);
    assert_eq!(keys[0]["key"], "user:00");
    assert_eq!(keys[24]["key"], "user:24");
    // The key that is not UTF-8 comes as base64, and says so.
    assert_eq!(keys[25]["key"], "dXNlcjr/");
    assert_eq!(keys[25]["key_encoding"], "base64");
    assert_eq!(curl(&[&format!("{base}/v1/keys?limit=0")]).0, 400);
    assert_eq!(curl(&[&format!("{base}/v1/keys?cursor=xyz")]).0, 400);
    assert_eq!(curl(&[&format!("{base}/v1/keys?colour=red")]).0, 400);
}

#[test]
fn a_token_guards_every_route_but_health() {
    if !have_curl() {
        return;
    }
    let t = TestDir::with_engine("bitcask");
    let token = t.tmp.path().join("token");
    std::fs::write(&token, "t0ken\n").unwrap();
    let token = token.display().to_string();
    let (_server, base) = http_server(&t, &["--http-token-file", &token]);
    let url = format!("{base}/v1/keys/k");
    assert_eq!(curl(&["-X", "PUT", "-d", "v", &url]).0, 401);
    assert_eq!(curl(&["-H", "Authorization: Bearer wrong", &url]).0, 401);
    assert_eq!(curl(&[&format!("{base}/metrics")]).0, 401);
    assert_eq!(curl(&[&format!("{base}/healthz")]).0, 200);
    let auth = "Authorization: Bearer t0ken";
    assert_eq!(curl(&["-H", auth, "-X", "PUT", "-d", "v", &url]).0, 204);
    assert_eq!(curl(&["-H", auth, &url]), (200, b"v".to_vec()));
    // The scheme name is case-insensitive.
    assert_eq!(curl(&["-H", "Authorization: bearer t0ken", &url]).0, 200);
}

#[test]
fn an_oversized_body_is_refused_with_413() {
    let t = TestDir::with_engine("bitcask");
    let (server, _) = http_server(&t, &[]);
    let port = server.http_port.unwrap();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"PUT /v1/keys/big HTTP/1.1\r\nHost: x\r\nContent-Length: 536870913\r\n\r\n")
        .unwrap();
    let mut response = [0u8; 64];
    let n = stream.read(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
}

/// Starts a server whose N-th file operation fails, for the first N at
/// which the server starts and a write then fails.
#[test]
fn a_failed_write_makes_the_store_read_only_over_both_protocols() {
    if !have_curl() {
        return;
    }
    // Under `always`, one worker syncs on its own thread, two through the
    // sync thread: a failure must be handled both ways.
    for (engine, sync, threads) in [
        ("bitcask", "always", "1"),
        ("memory", "always", "1"),
        ("bitcask", "always", "2"),
        ("memory", "always", "2"),
        ("bitcask", "interval:1000", "1"),
        ("memory", "never", "2"),
    ] {
        let mut seen_failure = false;
        for n in 1..=80u64 {
            let t = TestDir::with_sync(engine, sync);
            t.put("kept", "yes");
            let args = ["--http", "127.0.0.1:0", "--threads", threads];
            let spec = format!("{n}:EIO");
            // The failure is injected through the environment (debug builds).
            let server = match start_failing(&t, &args, &spec) {
                Some(server) => server,
                None => continue,
            };
            let base = format!("http://127.0.0.1:{}", server.http_port.unwrap());
            let mut c = server.connect();
            c.send(b"SET a 1\r\n");
            let mut first = String::new();
            let _ = std::io::BufRead::read_line(&mut c.reader, &mut first);
            if first == "+OK\r\n" {
                continue; // the failure was elsewhere (or not reached)
            }
            seen_failure = true;
            // A write that cannot be made safe is never acknowledged: it
            // gets an error (the store was already read-only when it ran),
            // or, when its own write or sync failed after it ran, the
            // connection closes without a reply.
            assert!(
                first.is_empty() || first.starts_with('-'),
                "{engine}, {sync}, {threads} threads: {first}"
            );
            if first.is_empty() {
                c = server.connect();
            }
            let second = c.cmd("SET b 2");
            assert!(second.starts_with("-MISCONF "), "{second}");
            assert_eq!(c.cmd("GET kept"), "$3\r\nyes\r\n");
            assert!(c.cmd("INFO persistence").contains("hoard_read_only:1"));
            assert_eq!(curl(&[&format!("{base}/healthz")]).0, 503);
            assert_eq!(
                curl(&["-X", "PUT", "-d", "v", &format!("{base}/v1/keys/x")]).0,
                503
            );
            assert_eq!(
                curl(&[&format!("{base}/v1/keys/kept")]),
                (200, b"yes".to_vec())
            );
            break;
        }
        assert!(
            seen_failure,
            "{engine}, {sync}, {threads} threads: no injected failure reached a write"
        );
    }
}

fn start_failing(t: &TestDir, args: &[&str], spec: &str) -> Option<Server> {
    // The variable is set for the child only.
    let previous = std::env::var_os("HOARD_FAIL_OP");
    assert!(
        previous.is_none(),
        "HOARD_FAIL_OP is set in the test environment"
    );
    Server::try_start_with_env(&t.dir(), args, &[("HOARD_FAIL_OP", spec)]).ok()
}

/// An HTTP write of a watched key aborts the watcher's EXEC, like a RESP
/// write: it is recorded inside the transaction gate.
#[test]
fn an_http_write_aborts_a_transaction_watching_its_key() {
    if !have_curl() {
        return;
    }
    let t = TestDir::with_engine("memory");
    let (server, base) = http_server(&t, &[]);
    let mut c = server.connect();
    assert_eq!(c.cmd("SET k v1"), "+OK\r\n");
    assert_eq!(c.cmd("WATCH k"), "+OK\r\n");
    assert_eq!(
        curl(&["-X", "PUT", "-d", "v9", &format!("{base}/v1/keys/k")]).0,
        204
    );
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("SET k mine"), "+QUEUED\r\n");
    assert_eq!(c.cmd("EXEC"), "*-1\r\n");
    assert_eq!(c.cmd("GET k"), "$2\r\nv9\r\n");
    // And a delete too.
    assert_eq!(c.cmd("WATCH k"), "+OK\r\n");
    assert_eq!(curl(&["-X", "DELETE", &format!("{base}/v1/keys/k")]).0, 204);
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("SET k mine"), "+QUEUED\r\n");
    assert_eq!(c.cmd("EXEC"), "*-1\r\n");
    assert_eq!(c.cmd("EXISTS k"), ":0\r\n");
}

/// An HTTP body counts as client input: over `--query-buffer-limit` it is
/// refused with 413 without being read.
#[test]
fn an_http_body_over_the_query_buffer_limit_is_refused() {
    let t = TestDir::with_engine("bitcask");
    let (server, _) = http_server(&t, &["--query-buffer-limit", "1M"]);
    let port = server.http_port.unwrap();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"PUT /v1/keys/big HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n")
        .unwrap();
    let mut response = [0u8; 64];
    let n = stream.read(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
}
