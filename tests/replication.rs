//! `hoard serve` as a replication master for a real redis-server: a
//! replica made under a running write load ends with the same keys,
//! values and expiries; a disconnected replica catches up from the
//! backlog; a replica killed during its full sync does not disturb hoard;
//! `redis-cli --rdb` takes a backup; and the documented path to a Redis
//! Cluster (replica, promote, `redis-cli --cluster import`) works.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestDir;
use common::redis::{Redis, start_redis_with};
use common::server::Server;
use redis::Commands;

/// One field of `INFO replication` at `port`.
fn info_field(con: &mut redis::Connection, name: &str) -> Option<String> {
    let info: String = redis::cmd("INFO").arg("replication").query(con).unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

fn connect(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap()
}

/// A redis-server replicating `master_port`, logging to `log`.
fn start_replica(master_port: u16, log: &std::path::Path) -> Option<Redis> {
    let dir = log.parent().unwrap().to_str().unwrap().to_string();
    start_redis_with(&[
        "--replicaof",
        "127.0.0.1",
        &master_port.to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        &dir,
        "--logfile",
        log.to_str().unwrap(),
    ])
}

/// Waits until the replica at `replica` is linked and has acknowledged
/// everything hoard (at `master`) has streamed.
fn wait_caught_up(master: &mut redis::Connection, replica: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let linked = info_field(replica, "master_link_status").as_deref() == Some("up");
        let offset = info_field(master, "master_repl_offset").unwrap();
        let acked = info_field(master, "slave0")
            .and_then(|s| {
                s.split(',')
                    .find_map(|f| f.strip_prefix("offset=").map(str::to_string))
            })
            .unwrap_or_default();
        if linked && acked == offset {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica did not catch up: link up {linked}, hoard at {offset}, replica acked {acked}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every key with its value and absolute expiry (PEXPIRETIME).
fn dataset(con: &mut redis::Connection) -> BTreeMap<Vec<u8>, (Vec<u8>, i64)> {
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).unwrap();
    keys.into_iter()
        .filter_map(|key| {
            let value: Option<Vec<u8>> = con.get(&key).unwrap();
            let at: i64 = redis::cmd("PEXPIRETIME").arg(&key).query(con).unwrap();
            value.map(|v| (key, (v, at)))
        })
        .collect()
}

/// A mix of writes over a small key space, every kind hoard propagates.
fn write_load(port: u16, seed: u64, commands: usize) {
    let mut con = connect(port);
    let mut x = seed | 1;
    for i in 0..commands {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = format!("key:{}", x % 300);
        let _: redis::Value = match x % 10 {
            0 | 1 => con.set(&key, format!("v{i}")).unwrap(),
            2 => redis::cmd("SET")
                .arg(&key)
                .arg(format!("e{i}"))
                .arg("PX")
                .arg(100_000_000 + i)
                .query(&mut con)
                .unwrap(),
            3 => con.del(&key).unwrap(),
            4 => redis::cmd("INCR")
                .arg(format!("counter:{}", x % 7))
                .query(&mut con)
                .unwrap(),
            5 => con.expire(&key, 50_000).unwrap(),
            6 => con.persist(&key).unwrap(),
            7 => con.append(&key, "+").unwrap(),
            8 => redis::cmd("MSET")
                .arg(&key)
                .arg("m")
                .arg(format!("key:{}", (x >> 9) % 300))
                .arg("n")
                .query(&mut con)
                .unwrap(),
            _ => redis::cmd("GETDEL").arg(&key).query(&mut con).unwrap(),
        };
    }
}

fn preload(t: &TestDir, keys: usize) {
    let lines: String = (0..keys).map(|i| format!("pre:{i}\tvalue {i}\n")).collect();
    t.hoard()
        .args(["-q", "import", "-"])
        .write_stdin(lines)
        .assert()
        .success();
}

/// A bitcask store of `keys` keys `pre:N`, and `expiring` with a TTL of 1 h.
fn preloaded_with_expiring_key(keys: usize) -> TestDir {
    let t = TestDir::with_engine("bitcask");
    preload(&t, keys);
    t.hoard()
        .args(["put", "--ttl", "1h", "expiring", "soon"])
        .assert()
        .success();
    t
}

#[test]
fn a_redis_replica_under_write_load_ends_with_the_same_data() {
    for engine in ["bitcask", "memory"] {
        let t = TestDir::with_engine(engine);
        preload(&t, 2000);
        let hoard = Server::start(&t.dir(), &[]);
        let port = hoard.resp_port;
        // The load starts before the replica, so its full sync happens
        // while writes go on.
        let load: Vec<_> = (0..3)
            .map(|n| std::thread::spawn(move || write_load(port, 7 + n, 3000)))
            .collect();
        let logs = tempfile::tempdir().unwrap();
        let log = logs.path().join("replica.log");
        let Some(replica) = start_replica(port, &log) else {
            return;
        };
        for thread in load {
            thread.join().unwrap();
        }
        let mut master = hoard.client().get_connection().unwrap();
        let mut copy = connect(replica.port);
        wait_caught_up(&mut master, &mut copy);
        let expected = dataset(&mut master);
        assert!(expected.len() > 2000, "{engine}: {} keys", expected.len());
        assert!(
            expected.values().any(|(_, at)| *at > 0),
            "{engine}: some keys expire"
        );
        assert_eq!(dataset(&mut copy), expected, "{engine}");
        let role: redis::Value = redis::cmd("ROLE").query(&mut master).unwrap();
        assert!(format!("{role:?}").contains("master"), "{role:?}");

        // Promoted, the replica keeps the data.
        let _: () = redis::cmd("REPLICAOF")
            .arg("NO")
            .arg("ONE")
            .query(&mut copy)
            .unwrap();
        assert_eq!(
            info_field(&mut copy, "role").as_deref(),
            Some("master"),
            "{engine}"
        );
        assert_eq!(dataset(&mut copy), expected, "{engine}");
    }
}

#[test]
fn a_disconnected_replica_catches_up_from_the_backlog() {
    let t = TestDir::with_engine("bitcask");
    preload(&t, 100);
    let hoard = Server::start(&t.dir(), &[]);
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("replica.log");
    let Some(replica) = start_replica(hoard.resp_port, &log) else {
        return;
    };
    let mut master = hoard.client().get_connection().unwrap();
    let mut copy = connect(replica.port);
    wait_caught_up(&mut master, &mut copy);
    // Cut the link from the replica's side, write while it is down.
    let _: redis::Value = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("master")
        .query(&mut copy)
        .unwrap();
    write_load(hoard.resp_port, 99, 500);
    wait_caught_up(&mut master, &mut copy);
    assert_eq!(dataset(&mut copy), dataset(&mut master));
    let replica_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        replica_log.contains("Successful partial resynchronization with master"),
        "the replica did not continue from the backlog:\n{replica_log}"
    );
}

#[test]
fn a_replica_killed_during_its_full_sync_does_not_disturb_hoard() {
    let t = TestDir::with_engine("memory");
    preload(&t, 100_000);
    let hoard = Server::start(&t.dir(), &[]);
    let mut master = hoard.client().get_connection().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let Some(mut replica) = start_replica(hoard.resp_port, &logs.path().join("first.log")) else {
        return;
    };
    // Kill it as soon as hoard knows of it (a full sync of 100,000 keys
    // is then under way, or just done).
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut master, "connected_slaves").as_deref() != Some("1") {
        assert!(Instant::now() < deadline, "the replica never connected");
        std::thread::sleep(Duration::from_millis(5));
    }
    replica.child.kill().unwrap();
    replica.child.wait().unwrap();
    // hoard goes on: reads, writes, and a new replica syncs in full.
    let _: () = master.set("after", "kill").unwrap();
    let got: String = master.get("pre:99999").unwrap();
    assert_eq!(got, "value 99999");
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut master, "connected_slaves").as_deref() != Some("0") {
        assert!(
            Instant::now() < deadline,
            "hoard still lists the killed replica"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let Some(second) = start_replica(hoard.resp_port, &logs.path().join("second.log")) else {
        return;
    };
    let mut copy = connect(second.port);
    wait_caught_up(&mut master, &mut copy);
    let size: u64 = redis::cmd("DBSIZE").query(&mut copy).unwrap();
    assert_eq!(size, 100_001);
    let after: String = copy.get("after").unwrap();
    assert_eq!(after, "kill");
}

#[test]
fn redis_cli_rdb_takes_a_backup_that_imports_back() {
    let t = preloaded_with_expiring_key(500);
    let hoard = Server::start(&t.dir(), &[]);
    if !common::redis::have("redis-cli") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("backup.rdb");
    let output = Command::new("redis-cli")
        .args(["-p", &hoard.resp_port.to_string(), "--rdb"])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let back = TestDir::new();
    back.hoard().arg("import").arg(&backup).assert().success();
    back.hoard().arg("count").assert().success().stdout("501\n");
    back.hoard()
        .args(["get", "pre:42"])
        .assert()
        .success()
        .stdout("value 42");
    back.hoard().args(["ttl", "expiring"]).assert().success();
}

/// The README's "Outgrowing one machine" path, command by command: a
/// replica of hoard, promoted, imported into a three-master Redis Cluster.
#[test]
fn the_documented_path_to_a_redis_cluster() {
    let t = preloaded_with_expiring_key(1000);
    let hoard = Server::start(&t.dir(), &[]);
    let work = tempfile::tempdir().unwrap();
    let Some(replica) = start_replica(hoard.resp_port, &work.path().join("replica.log")) else {
        return;
    };
    let mut master = hoard.client().get_connection().unwrap();
    let mut copy = connect(replica.port);
    wait_caught_up(&mut master, &mut copy);
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut copy)
        .unwrap();

    // Three cluster masters, each with a directory of its own.
    let mut nodes = Vec::new();
    for i in 0..3 {
        let dir = work.path().join(format!("node{i}"));
        std::fs::create_dir(&dir).unwrap();
        let node = start_redis_with(&[
            "--cluster-enabled",
            "yes",
            "--dir",
            dir.to_str().unwrap(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .expect("redis-server");
        nodes.push(node);
    }
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let create = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addrs)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .unwrap();
    assert!(create.status.success(), "{create:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    for node in &nodes {
        let mut con = connect(node.port);
        loop {
            let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut con).unwrap();
            if info.contains("cluster_state:ok") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not form: {info}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let import = Command::new("redis-cli")
        .args(["--cluster", "import", &addrs[0]])
        .args(["--cluster-from", &format!("127.0.0.1:{}", replica.port)])
        .arg("--cluster-copy")
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");
    let total: u64 = nodes
        .iter()
        .map(|n| {
            redis::cmd("DBSIZE")
                .query::<u64>(&mut connect(n.port))
                .unwrap()
        })
        .sum();
    assert_eq!(total, 1001);
    // Every key is where the cluster says it is, with its value and TTL.
    for key in ["pre:0", "pre:500", "pre:999", "expiring"] {
        let output = Command::new("redis-cli")
            .args(["-c", "-p", &nodes[0].port.to_string(), "GET", key])
            .output()
            .unwrap();
        let expected = if key == "expiring" {
            "soon".to_string()
        } else {
            format!("value {}", &key[4..])
        };
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), expected);
    }
    let ttl = Command::new("redis-cli")
        .args(["-c", "-p", &nodes[0].port.to_string(), "TTL", "expiring"])
        .output()
        .unwrap();
    let seconds: i64 = String::from_utf8_lossy(&ttl.stdout).trim().parse().unwrap();
    assert!((3000..=3600).contains(&seconds), "{seconds}");
}

/// Redis replicas never expire keys themselves: they wait for the
/// master's DEL. hoard streams one for each key its active expiry removes.
#[test]
fn keys_that_expire_in_hoard_are_deleted_on_the_replica() {
    for engine in ["bitcask", "memory"] {
        let t = TestDir::with_engine(engine);
        let hoard = Server::start(&t.dir(), &[]);
        let work = tempfile::tempdir().unwrap();
        let Some(replica) = start_replica(hoard.resp_port, &work.path().join("replica.log")) else {
            return;
        };
        let mut master = hoard.client().get_connection().unwrap();
        let mut copy = connect(replica.port);
        wait_caught_up(&mut master, &mut copy);
        for i in 0..200 {
            let _: () = redis::cmd("SET")
                .arg(format!("brief:{i}"))
                .arg("x")
                .arg("PX")
                .arg(300)
                .query(&mut master)
                .unwrap();
        }
        for i in 0..10 {
            let _: () = master.set(format!("kept:{i}"), "y").unwrap();
        }
        // The replica holds the expired keys (hiding them from reads)
        // until the DELs arrive.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let size: u64 = redis::cmd("DBSIZE").query(&mut copy).unwrap();
            if size == 10 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{engine}: the replica still holds {size} keys"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let kept: Option<String> = copy.get("kept:3").unwrap();
        assert_eq!(kept.as_deref(), Some("y"), "{engine}");
    }
}

/// Sends one HTTP/1.1 request and returns the status line.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.lines().next().unwrap_or_default().to_string()
}

#[test]
fn writes_over_http_reach_a_replica_made_at_run_time() {
    let t = TestDir::with_engine("memory");
    let hoard = Server::start(&t.dir(), &["--http", "127.0.0.1:0"]);
    let port = hoard.http_port.unwrap();
    // This replica is made one at run time, by REPLICAOF.
    let Some(replica) = start_redis_with(&["--save", "", "--appendonly", "no"]) else {
        return;
    };
    let mut master = hoard.client().get_connection().unwrap();
    let mut copy = connect(replica.port);
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(hoard.resp_port)
        .query(&mut copy)
        .unwrap();
    wait_caught_up(&mut master, &mut copy);
    assert!(http(port, "PUT", "/v1/keys/photo%2F1?ttl=1h", b"\x00\xffbytes").contains("204"));
    assert!(http(port, "PUT", "/v1/keys/gone", b"x").contains("204"));
    assert!(http(port, "DELETE", "/v1/keys/gone", b"").contains("204"));
    wait_caught_up(&mut master, &mut copy);
    let value: Option<Vec<u8>> = copy.get("photo/1").unwrap();
    assert_eq!(value.as_deref(), Some(&b"\x00\xffbytes"[..]));
    let pttl: i64 = redis::cmd("PTTL").arg("photo/1").query(&mut copy).unwrap();
    assert!(pttl > 3_500_000 && pttl <= 3_600_000, "{pttl}");
    let gone: bool = copy.exists("gone").unwrap();
    assert!(!gone);
    assert_eq!(dataset(&mut copy), dataset(&mut master));
}

/// Reads one command of the replication stream: its arguments.
fn stream_command(reader: &mut impl std::io::BufRead) -> Vec<String> {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let count: usize = line.trim_end().trim_start_matches('*').parse().unwrap();
    (0..count)
        .map(|_| {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let len: usize = header.trim_end().trim_start_matches('$').parse().unwrap();
            let mut arg = vec![0; len + 2];
            reader.read_exact(&mut arg).unwrap();
            arg.truncate(len);
            String::from_utf8(arg).unwrap()
        })
        .collect()
}

/// The stream a replica reads, read here by hand (SYNC, the RDB file,
/// then the commands): writes of one command over several keys, and of
/// one EXEC, come between MULTI and EXEC; a single write does not.
#[test]
fn several_key_writes_reach_replicas_as_one_transaction() {
    use std::io::{BufRead, BufReader, Read, Write};
    let t = TestDir::with_engine("memory");
    let hoard = Server::start(&t.dir(), &[]);
    let mut link = std::net::TcpStream::connect(("127.0.0.1", hoard.resp_port)).unwrap();
    link.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    link.write_all(b"SYNC\r\n").unwrap();
    let mut reader = BufReader::new(link);
    let mut header = String::new();
    reader.read_line(&mut header).unwrap();
    let len: usize = header.trim_end().trim_start_matches('$').parse().unwrap();
    let mut rdb = vec![0; len];
    reader.read_exact(&mut rdb).unwrap();
    assert!(rdb.starts_with(b"REDIS0009"));

    let mut con = hoard.client().get_connection().unwrap();
    let _: () = redis::cmd("MSET")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query(&mut con)
        .unwrap();
    let _: () = con.set("c", "3").unwrap();
    let _: (String, i64) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("d")
        .arg("4")
        .cmd("INCR")
        .arg("e")
        .query(&mut con)
        .unwrap();
    // Wrote nothing: no empty transaction goes out.
    let _: bool = redis::cmd("MSETNX")
        .arg("a")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let _: () = con.set("f", "5").unwrap();

    let mut seen = Vec::new();
    while seen.last().map(|c: &Vec<String>| c.join(" ")) != Some("SET f 5".to_string()) {
        let command = stream_command(&mut reader);
        if command != ["PING"] {
            seen.push(command);
        }
        assert!(seen.len() < 20, "{seen:?}");
    }
    let seen: Vec<String> = seen.iter().map(|c| c.join(" ")).collect();
    assert_eq!(
        seen,
        [
            "MULTI", "SET a 1", "SET b 2", "EXEC", "SET c 3", "MULTI", "SET d 4", "SET e 1",
            "EXEC", "SET f 5"
        ]
    );
}
