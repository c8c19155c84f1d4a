//! RDB files both ways, against a real redis-server: `hoard export
//! --format rdb` loads into redis-server as its dataset, and `hoard import
//! --format rdb` reads what redis-server writes (SAVE, `redis-cli --rdb`),
//! every string encoding included; other types are refused or skipped;
//! a damaged file changes nothing and exits 4.

mod common;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use common::TestDir;
use common::redis::start_redis_with;
use hoardhaven::{Access, OpenOptions, Store};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

type Entries = Vec<(Vec<u8>, Vec<u8>, Option<u64>)>;

/// Fills a store of `engine` with keys and values holding every byte
/// value, some expiring; returns what it wrote.
fn filled(engine: &str) -> (TestDir, Entries) {
    let t = TestDir::with_engine(engine);
    let now = now_ms();
    let mut entries: Entries = (0..=255u8)
        .map(|b| {
            let expiry = (b % 3 == 0).then(|| now + 1_000_000 + u64::from(b) * 1000);
            (vec![b'k', b], vec![b, b, 255 - b], expiry)
        })
        .collect();
    entries.push(((0..=255).collect(), (0..=255).rev().collect(), None));
    entries.push((b"number".to_vec(), b"12345".to_vec(), None));
    entries.push((b"empty".to_vec(), Vec::new(), None));
    entries.push((
        b"large".to_vec(),
        vec![b'x'; 100_000],
        Some(now + 5_000_000),
    ));
    let store = Store::open(&t.dir(), &OpenOptions::new(Access::Write)).unwrap();
    for (key, value, expiry) in &entries {
        store.put_at(key, value, *expiry).unwrap();
    }
    store.close().unwrap();
    (t, entries)
}

/// Every entry of the store at `dir`, sorted (through the library).
fn contents(dir: &Path) -> Entries {
    let store = Store::open(dir, &OpenOptions::new(Access::Read)).unwrap();
    let mut out = Vec::new();
    for key in store.keys(b"", None).unwrap() {
        let value = store.get(&key).unwrap().unwrap();
        out.push((key, value.bytes, value.expiry_ms));
    }
    out.sort();
    out
}

fn export_rdb(t: &TestDir, path: &Path) {
    let output = t
        .hoard()
        .args(["export", "--format", "rdb"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    std::fs::write(path, output.stdout).unwrap();
}

fn connect(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap()
}

#[test]
fn an_exported_store_loads_into_redis_server_and_comes_back() {
    for engine in ["bitcask", "memory"] {
        let (t, entries) = filled(engine);
        let work = tempfile::tempdir().unwrap();
        export_rdb(&t, &work.path().join("dump.rdb"));
        let dir = work.path().to_str().unwrap();
        let Some(redis) = start_redis_with(&[
            "--dir",
            dir,
            "--dbfilename",
            "dump.rdb",
            "--save",
            "",
            "--appendonly",
            "no",
        ]) else {
            return;
        };
        let mut con = connect(redis.port);
        let size: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(size, entries.len() as u64, "{engine}");
        let now = now_ms();
        for (key, value, expiry) in &entries {
            let got: Option<Vec<u8>> = redis::cmd("GET").arg(key).query(&mut con).unwrap();
            assert_eq!(got.as_ref(), Some(value), "{engine}: key {key:?}");
            let pttl: i64 = redis::cmd("PTTL").arg(key).query(&mut con).unwrap();
            match expiry {
                None => assert_eq!(pttl, -1, "{engine}: key {key:?}"),
                Some(at) => {
                    let left = at.saturating_sub(now) as i64;
                    assert!(
                        pttl <= left && pttl > left - 60_000,
                        "{engine}: key {key:?}: PTTL {pttl}, expected about {left}"
                    );
                }
            }
        }

        // Back again, by both ways of taking an RDB file from redis-server.
        let fetched = work.path().join("fetched.rdb");
        let status = std::process::Command::new("redis-cli")
            .args(["-p", &redis.port.to_string(), "--rdb"])
            .arg(&fetched)
            .output()
            .unwrap();
        assert!(status.status.success(), "redis-cli --rdb: {status:?}");
        // SAVE rewrites the file redis-server loaded, once the save that
        // served `--rdb` is over.
        let mut saved = Err(String::new());
        for _ in 0..200 {
            saved = redis::cmd("SAVE")
                .query::<()>(&mut con)
                .map_err(|e| e.to_string());
            if saved.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        saved.expect("SAVE");
        for file in [fetched, work.path().join("dump.rdb")] {
            let back = TestDir::with_engine(engine);
            back.hoard()
                .arg("import")
                .arg(&file)
                .assert()
                .success()
                .stderr(predicates::str::contains(format!(
                    "imported {} strings",
                    entries.len()
                )));
            assert_eq!(
                contents(&back.dir()),
                contents(&t.dir()),
                "{engine}: {file:?}"
            );
        }
    }
}

#[test]
fn every_string_encoding_redis_writes_is_read() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_str().unwrap();
    let Some(redis) = start_redis_with(&["--dir", dir, "--save", "", "--appendonly", "no"]) else {
        return;
    };
    let mut con = connect(redis.port);
    // Integer-encoded (int8, int16, int32 and beyond), raw look-alikes,
    // LZF-compressed (long and repetitive) and incompressible values.
    let compressible: Vec<u8> = b"hoard ".iter().cycle().take(10_000).copied().collect();
    let incompressible: Vec<u8> = (0..2000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let values: Vec<(&str, Vec<u8>)> = vec![
        ("i8", b"-7".to_vec()),
        ("i8max", b"127".to_vec()),
        ("i16", b"-32768".to_vec()),
        ("i32", b"2147483647".to_vec()),
        ("i64", b"12345678901".to_vec()),
        ("padded", b"007".to_vec()),
        ("spaced", b" 12".to_vec()),
        ("lzf", compressible),
        ("noise", incompressible),
    ];
    for (key, value) in &values {
        let _: () = redis::cmd("SET")
            .arg(*key)
            .arg(value)
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("expiring")
        .arg("soon")
        .arg("PX")
        .arg(900_000_000)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SAVE").query(&mut con).unwrap();
    let t = TestDir::new();
    t.hoard()
        .arg("import")
        .arg(work.path().join("dump.rdb"))
        .assert()
        .success();
    for (key, value) in &values {
        let output = t.hoard().args(["get", key]).output().unwrap();
        assert!(output.status.success(), "{key}");
        assert_eq!(&output.stdout, value, "{key}");
    }
    let ttl = t.hoard().args(["ttl", "expiring"]).output().unwrap();
    let seconds: u64 = String::from_utf8_lossy(&ttl.stdout).trim().parse().unwrap();
    assert!((899_000..=900_000).contains(&seconds), "{seconds}");
}

#[test]
fn other_types_are_refused_or_skipped_and_counted() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_str().unwrap();
    let Some(redis) = start_redis_with(&["--dir", dir, "--save", "", "--appendonly", "no"]) else {
        return;
    };
    let mut con = connect(redis.port);
    let script = |line: &str| {
        let args: Vec<&str> = line.split(' ').collect();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd
    };
    for line in [
        "SET s1 v1",
        "SET s2 42",
        "RPUSH list a b c",
        "HSET hash f v",
        "SADD intset 1 2 3",
        "SADD set a b",
        "ZADD zset 1.5 m 2 n",
        "XADD stream 1-1 f v",
        "XADD stream 2-1 f w",
        "XGROUP CREATE stream group 0",
        "XREADGROUP GROUP group consumer COUNT 1 STREAMS stream >",
    ] {
        let _: redis::Value = script(line).query(&mut con).unwrap();
    }
    // Large ones take the other encodings (quicklist, hash table, skip list).
    for i in 0..600 {
        let _: () = redis::cmd("RPUSH")
            .arg("biglist")
            .arg(format!("element-{i}-{}", "x".repeat(i % 50)))
            .query(&mut con)
            .unwrap();
        let _: () = redis::cmd("HSET")
            .arg("bighash")
            .arg(format!("f{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
        let _: () = redis::cmd("SADD")
            .arg("bigset")
            .arg(format!("m{i}"))
            .query(&mut con)
            .unwrap();
        let _: () = redis::cmd("ZADD")
            .arg("bigzset")
            .arg(i)
            .arg(format!("m{i}"))
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg("#!lua name=hoardtest\nredis.register_function('one', function() return 1 end)")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("elsewhere")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SAVE").query(&mut con).unwrap();
    let file = work.path().join("dump.rdb");

    let t = TestDir::with_engine("bitcask");
    t.hoard()
        .arg("import")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "hoard holds strings of database 0 only",
        ))
        .stderr(predicates::str::contains("nothing was imported"));
    t.hoard().arg("count").assert().success().stdout("0\n");

    let output = t
        .hoard()
        .args(["--json", "import", "--skip-other-types"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["imported"], 2, "{report}");
    assert_eq!(
        report["other_types_skipped"],
        serde_json::json!({
            "hash": 2, "list": 2, "set": 3, "stream": 1, "zset": 2,
            "string in database 1": 1
        }),
        "{report}"
    );
    assert_eq!(report["functions_skipped"], 1, "{report}");
    t.hoard()
        .args(["get", "s1"])
        .assert()
        .success()
        .stdout("v1");
    t.hoard()
        .args(["get", "s2"])
        .assert()
        .success()
        .stdout("42");
    t.hoard().arg("count").assert().success().stdout("2\n");
}

#[test]
fn a_damaged_rdb_file_exits_4_and_imports_nothing() {
    let (source, _) = filled("bitcask");
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("good.rdb");
    export_rdb(&source, &good);
    let bytes = std::fs::read(&good).unwrap();
    let mut damaged: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x20;
    damaged.push(("a flipped byte", flipped));
    let mut bad_sum = bytes.clone();
    let last = bad_sum.len() - 1;
    bad_sum[last] ^= 1;
    damaged.push(("a wrong checksum", bad_sum));
    for cut in [bytes.len() / 3, bytes.len() - 9, bytes.len() - 1] {
        damaged.push(("a cut file", bytes[..cut].to_vec()));
    }
    damaged.push(("not an RDB file", b"key\tvalue\n".to_vec()));
    for (what, file) in damaged {
        let path = work.path().join("damaged.rdb");
        std::fs::write(&path, &file).unwrap();
        let t = TestDir::with_engine("memory");
        t.hoard()
            .arg("import")
            .arg(&path)
            .assert()
            .append_context("case", what)
            .code(4)
            .stderr(predicates::str::contains(
                "damaged.rdb is damaged at offset",
            ))
            .stderr(predicates::str::contains("nothing was imported"));
        t.hoard()
            .arg("count")
            .assert()
            .append_context("case", what)
            .success()
            .stdout("0\n");
    }
    // The undamaged file imports, also from stdin.
    let t = TestDir::new();
    t.hoard()
        .args(["import", "-", "--format", "rdb"])
        .pipe_stdin(&good)
        .unwrap()
        .assert()
        .success();
    assert_eq!(contents(&t.dir()), contents(&source.dir()));
}

#[test]
fn rdb_options_are_checked() {
    let t = TestDir::new();
    t.put("a", "1");
    t.hoard()
        .args(["--json", "export", "--format", "rdb"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("drop --json to export rdb"));
    t.hoard()
        .args(["import", "--skip-other-types", "-"])
        .write_stdin("b\t2\n")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--format rdb only"));
    // A version newer than the reader knows is refused as input, not damage.
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("future.rdb");
    std::fs::write(&path, b"REDIS0099\xff").unwrap();
    t.hoard()
        .arg("import")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("RDB version 99"));
    // A prefix exports only its keys.
    t.put("ab", "2");
    t.put("b", "3");
    let file = work.path().join("prefix.rdb");
    let out = t
        .hoard()
        .args(["export", "--format", "rdb", "--prefix", "a"])
        .output()
        .unwrap();
    std::fs::write(&file, out.stdout).unwrap();
    let back = TestDir::new();
    back.hoard().arg("import").arg(&file).assert().success();
    back.hoard()
        .arg("keys")
        .assert()
        .success()
        .stdout("a\nab\n");
}

/// Every single flipped byte of an RDB file makes the import exit 4 (the
/// checksum decides, whatever the parse stumbled on first), and a refused
/// or damaged file does not even create the store it was to fill.
#[test]
fn any_flipped_byte_exits_4_and_creates_nothing() {
    let t = TestDir::new();
    t.put("alpha", "one");
    t.hoard()
        .args(["put", "--ttl", "1h", "beta", "two"])
        .assert()
        .success();
    t.put("gamma", "12345");
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("good.rdb");
    export_rdb(&t, &good);
    let bytes = std::fs::read(&good).unwrap();
    let path = work.path().join("flipped.rdb");
    let mut checksum_refusals = 0;
    for at in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x41;
        std::fs::write(&path, &flipped).unwrap();
        let target = work.path().join("never-created");
        let out = common::hoard_at(&target)
            .arg("import")
            .arg(&path)
            .assert()
            .append_context("flipped byte", at)
            .code(4)
            .get_output()
            .clone();
        assert!(!target.exists(), "byte {at}: the store was created");
        // A parse that stumbled before the checksum refused the file says
        // where it stumbled too.
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("fails its checksum") {
            checksum_refusals += 1;
            assert!(
                stderr.contains("reading it stopped at: "),
                "byte {at}: {stderr}"
            );
        }
    }
    assert!(checksum_refusals > 0, "no flip was refused by the checksum");
    // A file refused for its content (valid checksum) creates nothing either.
    let refused = work.path().join("refused.rdb");
    let mut writer = hoardhaven::rdb::RdbWriter::new(Vec::new(), 1, 0).unwrap();
    writer.entry(b"", b"empty keys are refused", None).unwrap();
    std::fs::write(&refused, writer.finish().unwrap()).unwrap();
    let target = work.path().join("also-never-created");
    common::hoard_at(&target)
        .arg("import")
        .arg(&refused)
        .assert()
        .code(2);
    assert!(!target.exists());
}

/// Without --format, an RDB file is recognised by its first bytes, on
/// stdin or under any name, instead of being read as TSV.
#[test]
fn an_rdb_file_is_recognised_without_format() {
    let (source, _) = filled("memory");
    let work = tempfile::tempdir().unwrap();
    let odd_name = work.path().join("backup.bin");
    export_rdb(&source, &odd_name);
    let from_stdin = TestDir::new();
    from_stdin
        .hoard()
        .arg("import")
        .pipe_stdin(&odd_name)
        .unwrap()
        .assert()
        .success()
        .stderr(predicates::str::contains("RDB version 9"));
    assert_eq!(contents(&from_stdin.dir()), contents(&source.dir()));
    let from_file = TestDir::new();
    from_file
        .hoard()
        .arg("import")
        .arg(&odd_name)
        .assert()
        .success();
    assert_eq!(contents(&from_file.dir()), contents(&source.dir()));
    // A TSV file is still a TSV file.
    let tsv = TestDir::new();
    tsv.hoard()
        .arg("import")
        .write_stdin("REDIS0009\tnot an rdb file\n")
        .assert()
        .success();
    tsv.hoard()
        .args(["get", "REDIS0009"])
        .assert()
        .success()
        .stdout("not an rdb file");
}
