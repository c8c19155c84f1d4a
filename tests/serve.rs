//! `hoard serve` over RESP: commands with Redis's replies and error texts,
//! RESP3, pipelining, transactions, authentication, limits, the lock, and
//! shutdown. Each test starts its own server on a free loopback port and
//! stops it by pid.

mod common;

use std::io::Write;
use std::time::Duration;

use common::TestDir;
use common::server::{Raw, Server, encode};
use redis::Commands;

fn store(engine: &str) -> TestDir {
    TestDir::with_engine(engine)
}

fn for_both(test: impl Fn(&str)) {
    for engine in ["bitcask", "memory"] {
        test(engine);
    }
}

#[test]
fn strings_answer_as_redis_does() {
    for_both(|engine| {
        let t = store(engine);
        let server = Server::start(&t.dir(), &[]);
        let mut c = server.connect();
        assert_eq!(c.cmd("PING"), "+PONG\r\n");
        assert_eq!(c.cmd("ping hello"), "$5\r\nhello\r\n");
        assert_eq!(c.cmd("ECHO hi"), "$2\r\nhi\r\n");
        assert_eq!(c.cmd("GET missing"), "$-1\r\n");
        assert_eq!(c.cmd("SET k v"), "+OK\r\n");
        assert_eq!(c.cmd("GET k"), "$1\r\nv\r\n");
        assert_eq!(c.cmd("SET k w NX"), "$-1\r\n");
        assert_eq!(c.cmd("SET k w XX GET"), "$1\r\nv\r\n");
        assert_eq!(c.cmd("SET n w XX"), "$-1\r\n");
        assert_eq!(c.cmd("SET k v NX XX"), "-ERR syntax error\r\n");
        assert_eq!(
            c.cmd("SET k v EX 0"),
            "-ERR invalid expire time in 'set' command\r\n"
        );
        assert_eq!(
            c.cmd("SET k v EX x"),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(c.cmd("SET k v EX"), "-ERR syntax error\r\n");
        assert_eq!(c.cmd("SET k v EX 10 PX 10"), "-ERR syntax error\r\n");
        assert_eq!(c.cmd("SETNX k other"), ":0\r\n");
        assert_eq!(c.cmd("SETNX k2 other"), ":1\r\n");
        assert_eq!(c.cmd("GETSET k2 new"), "$5\r\nother\r\n");
        assert_eq!(c.cmd("GETDEL k2"), "$3\r\nnew\r\n");
        assert_eq!(c.cmd("GETDEL k2"), "$-1\r\n");
        assert_eq!(c.cmd("MSET a 1 b 2"), "+OK\r\n");
        assert_eq!(
            c.cmd("MSET a 1 b"),
            "-ERR wrong number of arguments for 'mset' command\r\n"
        );
        assert_eq!(
            c.cmd("MGET a nope b"),
            "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n"
        );
        assert_eq!(c.cmd("MSETNX a 9 c 3"), ":0\r\n");
        assert_eq!(c.cmd("MSETNX c 3 d 4"), ":1\r\n");
        assert_eq!(c.cmd("STRLEN k"), ":1\r\n");
        assert_eq!(c.cmd("STRLEN nope"), ":0\r\n");
        assert_eq!(c.cmd("APPEND k xyz"), ":4\r\n");
        assert_eq!(c.cmd("GETRANGE k 1 -1"), "$3\r\nxyz\r\n");
        assert_eq!(c.cmd("GETRANGE k -2 100"), "$2\r\nyz\r\n");
        assert_eq!(c.cmd("GETRANGE k 5 3"), "$0\r\n\r\n");
        assert_eq!(c.cmd("SETRANGE k 6 !!"), ":8\r\n");
        assert_eq!(c.call(&[b"GET", b"k"]), "$8\r\nwxyz\0\0!!\r\n");
        assert_eq!(c.cmd("SETRANGE k -1 x"), "-ERR offset is out of range\r\n");
        assert_eq!(c.cmd("SETRANGE fresh 0 "), ":0\r\n");
        assert_eq!(c.cmd("EXISTS fresh"), ":0\r\n");
        assert_eq!(c.cmd("TYPE k"), "+string\r\n");
        assert_eq!(c.cmd("TYPE nope"), "+none\r\n");
        assert_eq!(c.cmd("EXISTS a a b nope"), ":3\r\n");
        assert_eq!(c.cmd("DEL a b nope"), ":2\r\n");
        assert_eq!(c.cmd("UNLINK c d"), ":2\r\n");
        assert_eq!(
            c.cmd("GET"),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(
            c.cmd("NOSUCH a b"),
            "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"
        );
        // Binary keys and values round-trip.
        let key: Vec<u8> = (0..=255u8).collect();
        assert_eq!(c.call(&[b"SET", &key, &key]), "+OK\r\n");
        let mut expected = b"$256\r\n".to_vec();
        expected.extend_from_slice(&key);
        expected.extend_from_slice(b"\r\n");
        c.send_command(&[b"GET", &key]);
        assert_eq!(c.reply_bytes(), expected);
        // Keys hoard cannot hold: missing on reads, refused on writes.
        assert_eq!(c.call(&[b"GET", b""]), "$-1\r\n");
        assert!(
            c.call(&[b"SET", b"", b"v"])
                .starts_with("-ERR hoard keys are 1 to 65536 bytes")
        );
    });
}

#[test]
fn counters_answer_as_redis_does() {
    for_both(|engine| {
        let t = store(engine);
        let server = Server::start(&t.dir(), &[]);
        let mut c = server.connect();
        assert_eq!(c.cmd("INCR n"), ":1\r\n");
        assert_eq!(c.cmd("INCRBY n 10"), ":11\r\n");
        assert_eq!(c.cmd("DECR n"), ":10\r\n");
        assert_eq!(c.cmd("DECRBY n 20"), ":-10\r\n");
        assert_eq!(c.cmd("SET big 9223372036854775807"), "+OK\r\n");
        assert_eq!(
            c.cmd("INCR big"),
            "-ERR increment or decrement would overflow\r\n"
        );
        assert_eq!(
            c.cmd("DECRBY n -9223372036854775808"),
            "-ERR decrement would overflow\r\n"
        );
        assert_eq!(c.cmd("SET s abc"), "+OK\r\n");
        assert_eq!(
            c.cmd("INCR s"),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            c.cmd("INCRBY n x"),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(c.cmd("SET sp 1"), "+OK\r\n");
        assert_eq!(c.call(&[b"SET", b"sp", b" 1"]), "+OK\r\n");
        assert_eq!(
            c.cmd("INCR sp"),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(c.cmd("INCRBYFLOAT f 10.5"), "$4\r\n10.5\r\n");
        assert_eq!(c.cmd("INCRBYFLOAT f 0.1"), "$4\r\n10.6\r\n");
        assert_eq!(c.cmd("INCRBYFLOAT f -10.6"), "$1\r\n0\r\n");
        assert_eq!(
            c.cmd("INCRBYFLOAT f x"),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            c.cmd("INCRBYFLOAT s 1"),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            c.cmd("INCRBYFLOAT f +inf"),
            "-ERR increment would produce NaN or Infinity\r\n"
        );
        // INCR keeps the key's expiry.
        assert_eq!(c.cmd("SET e 1 EX 100"), "+OK\r\n");
        assert_eq!(c.cmd("INCR e"), ":2\r\n");
        assert_eq!(c.cmd("TTL e"), ":100\r\n");
    });
}

#[test]
fn expiry_commands_answer_as_redis_does() {
    for_both(|engine| {
        let t = store(engine);
        let server = Server::start(&t.dir(), &[]);
        let mut c = server.connect();
        assert_eq!(c.cmd("TTL nope"), ":-2\r\n");
        assert_eq!(c.cmd("SET k v"), "+OK\r\n");
        assert_eq!(c.cmd("TTL k"), ":-1\r\n");
        assert_eq!(c.cmd("EXPIRE k 100"), ":1\r\n");
        assert_eq!(c.cmd("TTL k"), ":100\r\n");
        let pttl: i64 = c.cmd("PTTL k")[1..].trim().parse().unwrap();
        assert!((99_000..=100_000).contains(&pttl), "{pttl}");
        assert_eq!(c.cmd("EXPIRE k 50 GT"), ":0\r\n");
        assert_eq!(c.cmd("EXPIRE k 50 LT"), ":1\r\n");
        assert_eq!(c.cmd("EXPIRE k 500 NX"), ":0\r\n");
        assert_eq!(c.cmd("EXPIRE k 500 XX"), ":1\r\n");
        assert_eq!(
            c.cmd("EXPIRE k 5 NX XX"),
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
        );
        assert_eq!(
            c.cmd("EXPIRE k 5 GT LT"),
            "-ERR GT and LT options at the same time are not compatible\r\n"
        );
        assert_eq!(c.cmd("EXPIRE k 5 YY"), "-ERR Unsupported option YY\r\n");
        assert_eq!(
            c.cmd("EXPIRE k 9223372036854775807"),
            "-ERR invalid expire time in 'expire' command\r\n"
        );
        assert_eq!(c.cmd("PERSIST k"), ":1\r\n");
        assert_eq!(c.cmd("PERSIST k"), ":0\r\n");
        assert_eq!(c.cmd("EXPIRETIME k"), ":-1\r\n");
        assert_eq!(c.cmd("EXPIREAT k 4102444800"), ":1\r\n");
        assert_eq!(c.cmd("EXPIRETIME k"), ":4102444800\r\n");
        assert_eq!(c.cmd("PEXPIRETIME k"), ":4102444800000\r\n");
        assert_eq!(c.cmd("PEXPIREAT k 4102444800123"), ":1\r\n");
        assert_eq!(c.cmd("PEXPIRETIME k"), ":4102444800123\r\n");
        // A time in the past deletes the key.
        assert_eq!(c.cmd("EXPIRE k -1"), ":1\r\n");
        assert_eq!(c.cmd("EXISTS k"), ":0\r\n");
        assert_eq!(c.cmd("EXPIRE k 10"), ":0\r\n");
        assert_eq!(c.cmd("SETEX s 100 v"), "+OK\r\n");
        assert_eq!(c.cmd("TTL s"), ":100\r\n");
        assert_eq!(
            c.cmd("SETEX s 0 v"),
            "-ERR invalid expire time in 'setex' command\r\n"
        );
        assert_eq!(c.cmd("PSETEX p 100000 v"), "+OK\r\n");
        assert_eq!(c.cmd("TTL p"), ":100\r\n");
        assert_eq!(c.cmd("GETEX p PERSIST"), "$1\r\nv\r\n");
        assert_eq!(c.cmd("TTL p"), ":-1\r\n");
        assert_eq!(c.cmd("GETEX p EX 30"), "$1\r\nv\r\n");
        assert_eq!(c.cmd("TTL p"), ":30\r\n");
        assert_eq!(c.cmd("GETEX p EX 30 PERSIST"), "-ERR syntax error\r\n");
        assert_eq!(c.cmd("SET x v PX 100"), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(c.cmd("GET x"), "$-1\r\n");
        assert_eq!(c.cmd("SET x v KEEPTTL"), "+OK\r\n");
        assert_eq!(c.cmd("SET y v EX 100"), "+OK\r\n");
        assert_eq!(c.cmd("SET y w KEEPTTL"), "+OK\r\n");
        assert_eq!(c.cmd("TTL y"), ":100\r\n");
        assert_eq!(c.cmd("SET y w"), "+OK\r\n");
        assert_eq!(c.cmd("TTL y"), ":-1\r\n");
        assert_eq!(c.cmd("SET z v PXAT 1"), "+OK\r\n");
        assert_eq!(c.cmd("EXISTS z"), ":0\r\n");
    });
}

#[test]
fn keyspace_commands_answer_as_redis_does() {
    for_both(|engine| {
        let t = store(engine);
        let server = Server::start(&t.dir(), &[]);
        let mut c = server.connect();
        assert_eq!(c.cmd("DBSIZE"), ":0\r\n");
        assert_eq!(c.cmd("RANDOMKEY"), "$-1\r\n");
        assert_eq!(c.cmd("RENAME a b"), "-ERR no such key\r\n");
        assert_eq!(c.cmd("SET a 1 EX 100"), "+OK\r\n");
        assert_eq!(c.cmd("RENAME a b"), "+OK\r\n");
        assert_eq!(c.cmd("TTL b"), ":100\r\n");
        assert_eq!(c.cmd("EXISTS a"), ":0\r\n");
        assert_eq!(c.cmd("SET c 3"), "+OK\r\n");
        assert_eq!(c.cmd("RENAMENX b c"), ":0\r\n");
        assert_eq!(c.cmd("RENAMENX b d"), ":1\r\n");
        assert_eq!(c.cmd("RENAME d d"), "+OK\r\n");
        assert_eq!(c.cmd("COPY d c"), ":0\r\n");
        assert_eq!(c.cmd("COPY d c REPLACE"), ":1\r\n");
        assert_eq!(c.cmd("GET c"), "$1\r\n1\r\n");
        assert_eq!(
            c.cmd("COPY d d"),
            "-ERR source and destination objects are the same\r\n"
        );
        assert_eq!(c.cmd("COPY d e DB 1"), "-ERR DB index is out of range\r\n");
        assert_eq!(c.cmd("KEYS *"), "*2\r\n$1\r\nc\r\n$1\r\nd\r\n");
        assert_eq!(c.cmd("KEYS c*"), "*1\r\n$1\r\nc\r\n");
        assert_eq!(c.cmd("DBSIZE"), ":2\r\n");
        let random = c.cmd("RANDOMKEY");
        assert!(
            random == "$1\r\nc\r\n" || random == "$1\r\nd\r\n",
            "{random}"
        );
        assert_eq!(c.cmd("SELECT 0"), "+OK\r\n");
        assert_eq!(c.cmd("SELECT 1"), "-ERR DB index is out of range\r\n");
        assert_eq!(c.cmd("FLUSHDB"), "+OK\r\n");
        assert_eq!(c.cmd("DBSIZE"), ":0\r\n");
        assert_eq!(c.cmd("FLUSHALL ASYNC"), "+OK\r\n");
        assert_eq!(c.cmd("FUNCTION FLUSH"), "+OK\r\n");
        assert!(c.cmd("INFO keyspace").contains("# Keyspace"));
        let time = c.cmd("TIME");
        assert!(time.starts_with("*2\r\n$10\r\n"), "{time}");
    });
}

#[test]
fn scan_returns_every_key_present_throughout_once_per_pass() {
    let t = store("bitcask");
    let server = Server::start(&t.dir(), &[]);
    let mut con = server.client().get_connection().unwrap();
    let keys: Vec<String> = (0..500).map(|i| format!("key:{i}")).collect();
    for key in &keys {
        let _: () = con.set(key, "v").unwrap();
    }
    let mut seen = std::collections::HashMap::<String, u32>::new();
    let mut cursor = 0u64;
    for round in 0.. {
        assert!(round < 1000, "SCAN did not finish");
        // Writes during the iteration must not hide keys present throughout.
        let _: () = con.set(format!("extra:{round}"), "v").unwrap();
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("key:*")
            .arg("COUNT")
            .arg(37)
            .query(&mut con)
            .unwrap();
        for key in batch {
            *seen.entry(key).or_default() += 1;
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), keys.len());
    assert!(seen.values().all(|n| *n == 1), "a key came back twice");
    let mut c = server.connect();
    assert_eq!(c.cmd("SCAN x"), "-ERR invalid cursor\r\n");
    assert_eq!(c.cmd("SCAN 0 COUNT 0"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd("SCAN 0 TYPE hash COUNT 100000"),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
}

#[test]
fn pipelined_and_inline_commands_are_answered_in_order() {
    let t = store("bitcask");
    let server = Server::start(&t.dir(), &[]);
    let mut c = server.connect();
    let mut batch = Vec::new();
    for i in 0..1000 {
        batch.extend(encode(&[
            b"SET",
            format!("k{i}").as_bytes(),
            format!("{i}").as_bytes(),
        ]));
        batch.extend(encode(&[b"GET", format!("k{i}").as_bytes()]));
    }
    c.send(&batch);
    for i in 0..1000 {
        assert_eq!(c.reply(), "+OK\r\n");
        let value = i.to_string();
        assert_eq!(c.reply(), format!("${}\r\n{value}\r\n", value.len()));
    }
    // Inline commands, with quoting, and the empty line skipped.
    c.send(b"SET \"a b\" 'c d'\r\n\r\nGET \"a b\"\nPING\r\n");
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(c.reply(), "$3\r\nc d\r\n");
    assert_eq!(c.reply(), "+PONG\r\n");
    // A command split across writes is answered once whole.
    let bytes = encode(&[b"SET", b"split", b"value"]);
    for byte in &bytes {
        c.send(&[*byte]);
    }
    assert_eq!(c.reply(), "+OK\r\n");
}

/// A read that leaves room in the buffer marks the socket not ready
/// (`connection::read_drained`): the pieces of a command that arrive
/// after such a read must still wake the connection, whether a piece
/// ends mid-header, mid-value or leaves more than a read's worth behind.
#[test]
fn a_command_arriving_in_pieces_after_pauses_is_answered() {
    let t = store("bitcask");
    let server = Server::start(&t.dir(), &[]);
    let mut c = server.connect();
    c.writer.set_nodelay(true).unwrap();
    let pause = || std::thread::sleep(Duration::from_millis(30));
    // Small: split inside the header, the key and the value.
    let small = encode(&[b"SET", b"piecewise", b"value"]);
    for piece in small.chunks(7) {
        c.send(piece);
        pause();
    }
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(c.call(&[b"GET", b"piecewise"]), "$5\r\nvalue\r\n");
    // Large: a 1 MiB value in pieces bigger than one read, so that full
    // reads and short ones alternate.
    let value: Vec<u8> = (0..1u32 << 20).map(|i| b'a' + (i % 26) as u8).collect();
    let large = encode(&[b"SET", b"large", &value]);
    for piece in large.chunks(300_000) {
        c.send(piece);
        pause();
    }
    assert_eq!(c.reply(), "+OK\r\n");
    c.send_command(&[b"STRLEN", b"large"]);
    assert_eq!(c.reply(), ":1048576\r\n");
    // Then two whole commands in one write, after a pause: both answered.
    pause();
    let mut two = encode(&[b"GET", b"piecewise"]);
    two.extend(encode(&[b"PING"]));
    c.send(&two);
    assert_eq!(c.reply(), "$5\r\nvalue\r\n");
    assert_eq!(c.reply(), "+PONG\r\n");
}

#[test]
fn resp3_replies_after_hello_3() {
    let t = store("memory");
    let server = Server::start(&t.dir(), &[]);
    let mut c = server.connect();
    let hello = c.cmd("HELLO 3");
    assert!(
        hello.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nhoard\r\n"),
        "{hello}"
    );
    assert!(hello.contains("$5\r\nproto\r\n:3\r\n"), "{hello}");
    assert_eq!(c.cmd("GET nope"), "_\r\n");
    assert_eq!(
        c.cmd("CONFIG GET maxclients"),
        "%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"
    );
    assert_eq!(
        c.cmd("HELLO 4"),
        "-NOPROTO unsupported protocol version\r\n"
    );
    let hello2 = c.cmd("HELLO 2");
    assert!(hello2.starts_with("*14\r\n"), "{hello2}");
    assert_eq!(c.cmd("GET nope"), "$-1\r\n");
    // The redis crate over RESP3.
    let client = redis::Client::open(format!(
        "redis://127.0.0.1:{}/?protocol=resp3",
        server.resp_port
    ))
    .unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = con.set("r3", "value").unwrap();
    let value: String = con.get("r3").unwrap();
    assert_eq!(value, "value");
    let missing: Option<String> = con.get("nope").unwrap();
    assert_eq!(missing, None);
}

#[test]
fn transactions_run_atomically_and_abort_on_errors() {
    for_both(|engine| {
        let t = store(engine);
        let server = Server::start(&t.dir(), &[]);
        let mut c = server.connect();
        assert_eq!(c.cmd("EXEC"), "-ERR EXEC without MULTI\r\n");
        assert_eq!(c.cmd("DISCARD"), "-ERR DISCARD without MULTI\r\n");
        assert_eq!(c.cmd("MULTI"), "+OK\r\n");
        assert_eq!(c.cmd("MULTI"), "-ERR MULTI calls can not be nested\r\n");
        assert_eq!(c.cmd("SET a 1"), "+QUEUED\r\n");
        assert_eq!(c.cmd("INCR a"), "+QUEUED\r\n");
        assert_eq!(c.cmd("GET a"), "+QUEUED\r\n");
        assert_eq!(c.cmd("EXEC"), "*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
        // An error while queuing aborts the transaction.
        assert_eq!(c.cmd("MULTI"), "+OK\r\n");
        assert_eq!(c.cmd("SET a 5"), "+QUEUED\r\n");
        assert_eq!(
            c.cmd("GET"),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(
            c.cmd("EXEC"),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        assert_eq!(c.cmd("GET a"), "$1\r\n2\r\n");
        // An error while running does not stop the rest.
        assert_eq!(c.cmd("MULTI"), "+OK\r\n");
        assert_eq!(c.cmd("SET s x"), "+QUEUED\r\n");
        assert_eq!(c.cmd("INCR s"), "+QUEUED\r\n");
        assert_eq!(c.cmd("SET t y"), "+QUEUED\r\n");
        assert_eq!(
            c.cmd("EXEC"),
            "*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"
        );
        assert_eq!(c.cmd("MULTI"), "+OK\r\n");
        assert_eq!(c.cmd("SET gone 1"), "+QUEUED\r\n");
        assert_eq!(c.cmd("DISCARD"), "+OK\r\n");
        // SHUTDOWN is refused inside a transaction (and aborts it).
        assert_eq!(c.cmd("MULTI"), "+OK\r\n");
        assert_eq!(
            c.cmd("SHUTDOWN"),
            "-ERR Command not allowed inside a transaction\r\n"
        );
        assert_eq!(
            c.cmd("EXEC"),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        assert_eq!(c.cmd("PING"), "+PONG\r\n");
        assert_eq!(c.cmd("EXISTS gone"), ":0\r\n");
        // WATCH: a change by another client makes EXEC return nil.
        let mut other = server.connect();
        assert_eq!(c.cmd("WATCH w"), "+OK\r\n");
        assert_eq!(other.cmd("SET w changed"), "+OK\r\n");
        assert_eq!(c.cmd("MULTI"), "+OK\r\n");
        assert_eq!(c.cmd("SET w mine"), "+QUEUED\r\n");
        assert_eq!(c.cmd("EXEC"), "*-1\r\n");
        assert_eq!(c.cmd("GET w"), "$7\r\nchanged\r\n");
        assert_eq!(c.cmd("WATCH w"), "+OK\r\n");
        assert_eq!(c.cmd("MULTI"), "+OK\r\n");
        assert_eq!(c.cmd("SET w mine"), "+QUEUED\r\n");
        assert_eq!(c.cmd("EXEC"), "*1\r\n+OK\r\n");
    });
}

#[test]
fn concurrent_transactions_never_interleave() {
    let t = store("bitcask");
    let server = Server::start(&t.dir(), &[]);
    let port = server.resp_port;
    // Each transaction moves one unit from a to b: a + b stays 0 for
    // every reader that reads both in one transaction.
    let writers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                for _ in 0..100 {
                    c.send(b"MULTI\r\nDECR a\r\nINCR b\r\nEXEC\r\n");
                    for _ in 0..4 {
                        c.reply();
                    }
                }
            })
        })
        .collect();
    let mut c = Raw::connect(port);
    for _ in 0..200 {
        c.send(b"MULTI\r\nGET a\r\nGET b\r\nEXEC\r\n");
        c.reply();
        c.reply();
        c.reply();
        let exec = c.reply();
        let numbers: Vec<i64> = exec
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with(['*', '$']))
            .map(|l| l.parse().unwrap())
            .collect();
        if numbers.len() == 2 {
            assert_eq!(numbers[0] + numbers[1], 0, "{exec}");
        }
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(c.cmd("GET b"), "$3\r\n400\r\n");
}

#[test]
fn redis_crate_pipelines_and_transactions_work() {
    for_both(|engine| {
        let t = store(engine);
        let server = Server::start(&t.dir(), &[]);
        let mut con = server.client().get_connection().unwrap();
        let (a, b): (String, i64) = redis::pipe()
            .set("p", "1")
            .ignore()
            .get("p")
            .incr("p", 5)
            .query(&mut con)
            .unwrap();
        assert_eq!((a.as_str(), b), ("1", 6));
        let (x,): (i64,) = redis::pipe()
            .atomic()
            .set("q", 10)
            .ignore()
            .incr("q", 1)
            .query(&mut con)
            .unwrap();
        assert_eq!(x, 11);
        let err = redis::cmd("INCR")
            .arg("p")
            .arg("extra")
            .query::<i64>(&mut con)
            .unwrap_err();
        assert!(
            err.to_string().contains("wrong number of arguments"),
            "{err}"
        );
    });
}

fn write_secret(t: &TestDir, name: &str, secret: &str) -> String {
    let path = t.tmp.path().join(name);
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    path.display().to_string()
}

#[test]
fn a_password_is_required_and_checked() {
    let t = store("bitcask");
    let pass = write_secret(&t, "pass", "s3cret");
    let server = Server::start(&t.dir(), &["--requirepass-file", &pass]);
    let mut c = server.connect();
    assert_eq!(c.cmd("GET a"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.cmd("PING"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(
        c.cmd("AUTH wrong"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        c.cmd("AUTH someone s3cret"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert!(c.cmd("HELLO 3").starts_with("-NOAUTH HELLO must be called"));
    assert_eq!(c.cmd("AUTH s3cret"), "+OK\r\n");
    assert_eq!(c.cmd("SET a 1"), "+OK\r\n");
    let mut d = server.connect();
    assert!(d.cmd("HELLO 3 AUTH default s3cret").starts_with("%7\r\n"));
    assert_eq!(d.cmd("GET a"), "$1\r\n1\r\n");
    // Before authentication, big requests are refused and the connection closed.
    let mut e = server.connect();
    let big = vec![b'x'; 20_000];
    e.send(&encode(&[b"AUTH", &big]));
    assert!(e.reply().starts_with("-ERR Protocol error: "));
    assert!(e.closed());
    // The redis crate with the password in the URL.
    let client =
        redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", server.resp_port)).unwrap();
    let value: String = client.get_connection().unwrap().get("a").unwrap();
    assert_eq!(value, "1");
    // Without a password, AUTH says so.
    let u = store("bitcask");
    let open = Server::start(&u.dir(), &[]);
    assert!(open.connect().cmd("AUTH x").starts_with(
        "-ERR AUTH <password> called without any password configured for the default user."
    ));
}

#[test]
fn listening_beyond_loopback_needs_a_password_and_a_token() {
    let t = store("bitcask");
    let err = Server::try_start(&t.dir(), &["--resp", "0.0.0.0:0"])
        .err()
        .unwrap();
    assert!(err.contains("exit status: 2"), "{err}");
    assert!(err.contains("without a password"), "{err}");
    let pass = write_secret(&t, "pass", "pw");
    let err = Server::try_start(
        &t.dir(),
        &[
            "--resp",
            "127.0.0.1:0",
            "--http",
            "0.0.0.0:0",
            "--requirepass-file",
            &pass,
        ],
    )
    .err()
    .unwrap();
    assert!(err.contains("bearer token"), "{err}");
    let empty = write_secret(&t, "empty", "");
    let err = Server::try_start(&t.dir(), &["--requirepass-file", &empty])
        .err()
        .unwrap();
    assert!(err.contains("is empty"), "{err}");
}

#[test]
fn the_server_holds_the_lock_and_stops_cleanly() {
    for_both(|engine| {
        let t = store(engine);
        let mut server = Server::start(&t.dir(), &[]);
        let mut c = server.connect();
        assert_eq!(c.cmd("SET kept yes"), "+OK\r\n");
        t.hoard()
            .args(["--lock-timeout", "0", "get", "kept"])
            .assert()
            .code(3)
            .stderr(predicates::str::contains("serve"));
        // A server holds the lock until it stops: commands say so at once
        // instead of waiting out --lock-timeout.
        t.hoard()
            .args(["--lock-timeout", "600", "get", "kept"])
            .assert()
            .code(3)
            .stderr(predicates::str::contains(
                "a server, which holds it until it stops",
            ));
        assert_eq!(server.terminate(), 0);
        let log = server.log_lines().join("\n");
        assert!(log.contains("stopping (SIGTERM)"), "{log}");
        assert!(log.contains("store closed cleanly"), "{log}");
        t.hoard()
            .args(["get", "kept"])
            .assert()
            .success()
            .stdout("yes");
        // SHUTDOWN stops it too, without a reply.
        let mut server = Server::start(&t.dir(), &[]);
        let mut c = server.connect();
        c.send(b"SHUTDOWN\r\n");
        assert!(c.closed());
        assert_eq!(server.wait(), 0);
        // SIGINT as well.
        let mut server = Server::start(&t.dir(), &[]);
        server.signal("INT");
        assert_eq!(server.wait(), 0);
    });
}

#[test]
fn a_signal_as_soon_as_the_server_is_announced_stops_it_cleanly() {
    // The start-up line is what scripts wait for: from then on a signal
    // must stop the server cleanly. (The handlers were once installed
    // after the line, and a SIGINT in that window killed the server.)
    // A pause right after the line (a debug-build failpoint) widens the
    // window that race had.
    let t = store("bitcask");
    for (round, signal) in ["TERM", "INT"].iter().cycle().take(4).enumerate() {
        let mut server = Server::try_start_with_env(
            &t.dir(),
            &[],
            &[("HOARD_FAILPOINT", "pause:serve-announced")],
        )
        .unwrap();
        server.signal(signal);
        assert_eq!(server.wait(), 0, "round {round}, SIG{signal}");
        let log = server.log_lines().join("\n");
        assert!(log.contains("store closed cleanly"), "round {round}: {log}");
    }
}

#[test]
fn a_missing_store_or_a_taken_port_fails_with_its_exit_code() {
    let t = TestDir::new();
    let err = Server::try_start(&t.dir(), &[]).err().unwrap();
    assert!(err.contains("exit status: 5"), "{err}");
    assert!(!t.dir().exists(), "serve created a store");
    let s = store("bitcask");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let err = Server::try_start(&s.dir(), &["--resp", &format!("127.0.0.1:{port}")])
        .err()
        .unwrap();
    assert!(err.contains("exit status: 5"), "{err}");
    assert!(err.contains("cannot listen for RESP"), "{err}");
}

#[test]
fn protocol_errors_and_limits_close_only_the_offending_client() {
    let t = store("bitcask");
    let server = Server::start(
        &t.dir(),
        &["--maxclients", "3", "--query-buffer-limit", "1M"],
    );
    let mut good = server.connect();
    assert_eq!(good.cmd("SET a 1"), "+OK\r\n");
    // A bulk longer than the value limit.
    let mut c = server.connect();
    c.send(b"*2\r\n$3\r\nGET\r\n$536870913\r\n");
    assert_eq!(c.reply(), "-ERR Protocol error: invalid bulk length\r\n");
    assert!(c.closed());
    // An inline line that never ends.
    let mut c = server.connect();
    let line = vec![b'a'; 70 * 1024];
    c.send(&line);
    assert_eq!(c.reply(), "-ERR Protocol error: too big inline request\r\n");
    assert!(c.closed());
    // A request bigger than the query buffer limit.
    let mut c = server.connect();
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
    let _ = c.writer.write_all(&vec![b'x'; 1_200_000]);
    assert!(c.reply().contains("query buffer limit"));
    assert!(c.closed());
    // Past maxclients: refused with Redis's error.
    let _second = server.connect();
    let _third = server.connect();
    let mut fourth = server.connect();
    assert_eq!(fourth.reply(), "-ERR max number of clients reached\r\n");
    // The first client is still served.
    assert_eq!(good.cmd("GET a"), "$1\r\n1\r\n");
}

#[test]
fn info_config_client_and_command_describe_the_server() {
    let t = store("memory");
    let server = Server::start(&t.dir(), &[]);
    let mut c = server.connect();
    assert_eq!(c.cmd("SET a 1"), "+OK\r\n");
    assert_eq!(c.cmd("GET a"), "$1\r\n1\r\n");
    assert_eq!(c.cmd("GET b"), "$-1\r\n");
    let info = c.cmd("INFO");
    for field in [
        "# Server",
        "redis_version:7.0.15",
        "# Clients\r\nconnected_clients:1",
        "# Persistence",
        "rdb_bgsave_in_progress:0",
        "keyspace_hits:1",
        "keyspace_misses:1",
        "cmdstat_set:calls=1,",
        "db0:keys=1,",
        "hoard_engine:memory",
    ] {
        assert!(info.contains(field), "INFO lacks {field}: {info}");
    }
    let stats = c.cmd("INFO stats");
    assert!(!stats.contains("# Server"));
    assert_eq!(
        c.cmd("CONFIG GET appendfsync"),
        "*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n"
    );
    assert_eq!(c.cmd("CONFIG SET timeout 30"), "+OK\r\n");
    assert_eq!(
        c.cmd("CONFIG GET timeout"),
        "*2\r\n$7\r\ntimeout\r\n$2\r\n30\r\n"
    );
    assert_eq!(
        c.cmd("CONFIG SET nosuch 1"),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"
    );
    assert!(c.cmd("CONFIG SET port 1").starts_with(
        "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
    ));
    assert_eq!(c.cmd("CONFIG RESETSTAT"), "+OK\r\n");
    assert!(!c.cmd("INFO commandstats").contains("cmdstat_set"));
    assert_eq!(c.cmd("CLIENT SETNAME worker-1"), "+OK\r\n");
    assert_eq!(c.cmd("CLIENT GETNAME"), "$8\r\nworker-1\r\n");
    assert!(
        c.call(&[b"CLIENT", b"SETNAME", b"bad name"])
            .contains("cannot contain spaces")
    );
    assert!(c.cmd("CLIENT ID").starts_with(':'));
    let list = c.cmd("CLIENT LIST");
    assert!(list.contains("name=worker-1"), "{list}");
    assert_eq!(c.cmd("CLIENT SETINFO LIB-NAME test"), "+OK\r\n");
    let count = c.cmd("COMMAND COUNT");
    assert!(count.starts_with(':'), "{count}");
    let get = c.cmd("COMMAND INFO get");
    assert!(get.starts_with("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n"), "{get}");
    assert!(c.cmd("COMMAND DOCS set").contains("summary"));
    // CLIENT KILL closes another client.
    let mut victim = server.connect();
    let id = victim.cmd("CLIENT ID");
    let id = id.trim().trim_start_matches(':');
    assert_eq!(c.cmd(&format!("CLIENT KILL ID {id}")), ":1\r\n");
    assert!(victim.closed());
}

#[test]
fn save_bgsave_and_bgrewriteaof_run_the_engines_maintenance() {
    for_both(|engine| {
        let t = store(engine);
        let mut server = Server::start(&t.dir(), &[]);
        let mut c = server.connect();
        for i in 0..100 {
            assert_eq!(c.cmd(&format!("SET k{i} {i}")), "+OK\r\n");
        }
        for i in 0..50 {
            assert_eq!(c.cmd(&format!("DEL k{i}")), ":1\r\n");
        }
        assert_eq!(c.cmd("SAVE"), "+OK\r\n");
        assert!(
            c.cmd("INFO persistence")
                .contains("rdb_changes_since_last_save:0")
        );
        assert_eq!(c.cmd("BGSAVE"), "+Background saving started\r\n");
        assert_eq!(
            c.cmd("BGREWRITEAOF"),
            "+Background append only file rewriting started\r\n"
        );
        let mut done = false;
        for _ in 0..500 {
            let info = c.cmd("INFO persistence");
            if info.contains("rdb_bgsave_in_progress:0")
                && info.contains("aof_rewrite_in_progress:0")
            {
                assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
                assert!(info.contains("aof_last_bgrewrite_status:ok"), "{info}");
                done = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(done, "background save did not finish");
        assert_eq!(c.cmd("DBSIZE"), ":50\r\n");
        assert_eq!(server.terminate(), 0);
        t.hoard().args(["count"]).assert().success().stdout("50\n");
        t.hoard().args(["verify"]).assert().success();
    });
}

/// Under every sync policy a reply means the write reached the operating
/// system at least, so a killed server loses none (under `always` it is on
/// disk too: tests/powerloss.rs covers the power cut in-process). Under
/// `always` one worker syncs on its own thread and two hand the syncs to
/// the sync thread: both ways are killed.
#[test]
fn acknowledged_writes_survive_kill_9_under_50_writers() {
    for (engine, sync, threads) in [
        ("bitcask", "always", "1"),
        ("memory", "always", "1"),
        ("bitcask", "always", "2"),
        ("memory", "always", "2"),
        ("bitcask", "interval:1000", "1"),
        ("memory", "interval:1000", "2"),
        ("bitcask", "never", "2"),
        ("memory", "never", "1"),
    ] {
        let t = TestDir::with_sync(engine, sync);
        let mut server = Server::start(&t.dir(), &["--threads", threads]);
        let port = server.resp_port;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..50)
            .map(|w| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut acked = Vec::new();
                    let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                        return acked;
                    };
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let mut c = Raw {
                        writer: stream.try_clone().unwrap(),
                        reader: std::io::BufReader::new(stream),
                    };
                    for i in 0..10_000u32 {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            break;
                        }
                        let key = format!("w{w}:{i}");
                        if c.writer
                            .write_all(&encode(&[b"SET", key.as_bytes(), b"v"]))
                            .is_err()
                        {
                            break;
                        }
                        let mut line = String::new();
                        match std::io::BufRead::read_line(&mut c.reader, &mut line) {
                            Ok(n) if n > 0 && line == "+OK\r\n" => acked.push(key),
                            _ => break,
                        }
                    }
                    acked
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(700));
        server.signal("KILL");
        server.wait();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let acked: Vec<String> = writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        assert!(
            acked.len() > 50,
            "too few writes were acknowledged: {}",
            acked.len()
        );
        let server = Server::start(&t.dir(), &[]);
        let mut c = server.connect();
        for key in &acked {
            assert_eq!(
                c.cmd(&format!("GET {key}")),
                "$1\r\nv\r\n",
                "{engine}, {sync}, {threads} threads: lost {key}"
            );
        }
    }
}

/// Under `always` a reply to a write follows an fdatasync that covers it:
/// one client's sequential SETs cannot share one, so each needs its own,
/// whether the worker syncs (one worker) or the sync thread does (two).
#[test]
fn under_always_every_sequential_write_is_synced_before_its_reply() {
    let syncs = |c: &mut Raw| -> u64 {
        let info = c.cmd("INFO persistence");
        info.lines()
            .find_map(|l| l.strip_prefix("hoard_syncs:"))
            .expect("INFO persistence has hoard_syncs")
            .trim()
            .parse()
            .unwrap()
    };
    for engine in ["bitcask", "memory"] {
        for threads in ["1", "2"] {
            let t = TestDir::with_sync(engine, "always");
            let server = Server::start(&t.dir(), &["--threads", threads]);
            let mut c = server.connect();
            let before = syncs(&mut c);
            for i in 0..20 {
                assert_eq!(c.cmd(&format!("SET k{i} v")), "+OK\r\n");
            }
            let after = syncs(&mut c);
            assert!(
                after - before >= 20,
                "{engine}, {threads} threads: 20 acknowledged writes, {} syncs",
                after - before
            );
        }
    }
}

/// Resident memory of process `pid` in bytes.
fn resident(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    statm
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 4096
}

/// Raises this process's open-file limit as far as it may go; returns it.
fn raise_open_files(wanted: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let target = limit.maximum.map_or(wanted, |hard| hard.min(wanted));
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        },
    );
    getrlimit(Resource::Nofile).current.unwrap_or(wanted)
}

fn connected_clients(c: &mut Raw) -> u64 {
    let info = c.cmd("INFO clients");
    let line = info
        .lines()
        .find(|l| l.starts_with("connected_clients:"))
        .unwrap();
    line["connected_clients:".len()..].parse().unwrap()
}

#[test]
fn ten_thousand_idle_connections_cost_little_and_block_nobody() {
    let limit = raise_open_files(20_500);
    let n = 10_000u64.min(limit.saturating_sub(200));
    if n < 10_000 {
        assert!(
            std::env::var_os("HOARD_REQUIRE_REDIS").is_none(),
            "CI needs an open-file limit of 10200 or more for this test; it is {limit}"
        );
        eprintln!("NOTE: the open-file limit is {limit}: testing {n} idle connections");
    }
    let t = store("bitcask");
    let server = Server::start(&t.dir(), &["--maxclients", "10100"]);
    let mut probe = server.connect();
    assert_eq!(probe.cmd("SET k v"), "+OK\r\n");
    let before = resident(server.pid());
    let idle: Vec<_> = (0..n)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", server.resp_port)).unwrap())
        .collect();
    let mut accepted = 0;
    for _ in 0..600 {
        accepted = connected_clients(&mut probe);
        if accepted > n {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        accepted,
        n + 1,
        "the server did not accept every idle client"
    );
    let grown = resident(server.pid()).saturating_sub(before);
    let per_client = grown / n;
    eprintln!("{n} idle clients: {grown} bytes resident, {per_client} per client");
    // An idle client holds no buffer: a task, a socket and its entry.
    assert!(per_client < 16 * 1024, "{per_client} bytes per idle client");
    // Everyone else is served as before.
    let mut fresh = server.connect();
    assert_eq!(fresh.cmd("GET k"), "$1\r\nv\r\n");
    drop(idle);
}

#[test]
fn a_client_that_never_reads_cannot_grow_the_server() {
    let t = store("memory");
    let server = Server::start(&t.dir(), &[]);
    let mut c = server.connect();
    let big = vec![b'x'; 1 << 20];
    assert_eq!(c.call(&[b"SET", b"big", &big]), "+OK\r\n");
    let before = resident(server.pid());
    // 4000 GETs of 1 MiB each (4 GiB of replies), never read.
    let mut slow = server.connect();
    slow.writer
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut requests = Vec::new();
    for _ in 0..4000 {
        requests.extend_from_slice(b"GET big\r\n");
    }
    let _ = slow.writer.write_all(&requests);
    std::thread::sleep(Duration::from_secs(1));
    let grown = resident(server.pid()).saturating_sub(before);
    eprintln!("a client that never reads: server grew by {grown} bytes");
    assert!(grown < 32 << 20, "the server grew by {grown} bytes");
    // Others are served meanwhile.
    assert_eq!(c.cmd("SET small 1"), "+OK\r\n");
    assert_eq!(c.cmd("GET small"), "$1\r\n1\r\n");
    drop(slow);
    assert_eq!(c.cmd("STRLEN big"), ":1048576\r\n");
}
