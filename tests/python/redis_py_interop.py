#!/usr/bin/env python3
"""redis-py against `hoard serve`: run by tests/serve_clients.rs.

Usage: redis_py_interop.py PORT

Exercises redis-py with its default protocol and with protocol=2 and
protocol=3 explicitly (redis-py 8 defaults to RESP3 and sends HELLO 3 on
connect; 5.x to 7.x default to RESP2): basic commands, binary values,
expiry, pipelines with and without MULTI/EXEC, optimistic transactions
with WATCH, scan_iter, incrbyfloat, and errors raised as
redis.ResponseError with Redis's texts. Exits non-zero with a message
naming the failed check on any failure. Uses only the server on
127.0.0.1:PORT and touches only keys under "py:".
"""

import sys
import traceback

import redis


class CheckFailed(Exception):
    pass


def check(label, got, want):
    if got != want:
        raise CheckFailed(f"{label}: got {got!r}, want {want!r}")


def text(value):
    """bytes as str; anything else as it is."""
    return value.decode() if isinstance(value, bytes) else value


def expect_error(label, text, call, *args, **kwargs):
    """`call` must raise redis.ResponseError whose text is `text`."""
    try:
        result = call(*args, **kwargs)
    except redis.ResponseError as error:
        check(f"{label} (error text)", str(error), text)
        return
    raise CheckFailed(f"{label}: no ResponseError, returned {result!r}")


def run(port, protocol):
    kwargs = {"host": "127.0.0.1", "port": port, "socket_timeout": 30}
    if protocol is not None:
        kwargs["protocol"] = protocol
    r = redis.Redis(**kwargs)
    label = f"protocol={protocol or 'default'}"
    pre = f"py:{protocol or 'default'}:"

    def key(name):
        return pre + name

    # The handshake (HELLO 3 under RESP3, CLIENT SETINFO in redis-py 5+)
    # happened on the first command.
    check(f"{label} ping", r.ping(), True)
    check(f"{label} echo", r.echo("hi"), b"hi")
    # A rerun starts from no keys of its own.
    for stale in list(r.scan_iter(match=pre + "*")):
        r.delete(stale)

    # Basic strings.
    check(f"{label} set", r.set(key("a"), "1"), True)
    check(f"{label} get", r.get(key("a")), b"1")
    check(f"{label} get missing", r.get(key("missing")), None)
    check(f"{label} set nx on existing", r.set(key("a"), "2", nx=True), None)
    check(f"{label} set xx get", r.set(key("a"), "2", xx=True, get=True), b"1")
    check(f"{label} setnx", r.setnx(key("b"), "x"), True)
    check(f"{label} getset", r.getset(key("b"), "y"), b"x")
    check(f"{label} getdel", r.getdel(key("b")), b"y")
    check(f"{label} exists after getdel", r.exists(key("b")), 0)
    check(f"{label} mset", r.mset({key("m1"): "v1", key("m2"): "v2"}), True)
    check(
        f"{label} mget",
        r.mget([key("m1"), key("nope"), key("m2")]),
        [b"v1", None, b"v2"],
    )
    check(f"{label} msetnx", r.msetnx({key("m1"): "x", key("m3"): "y"}), False)
    check(f"{label} incr", r.incr(key("n")), 1)
    check(f"{label} incrby", r.incrby(key("n"), 41), 42)
    check(f"{label} decrby", r.decrby(key("n"), 2), 40)
    check(f"{label} decr", r.decr(key("n")), 39)
    check(f"{label} append", r.append(key("s"), "hello"), 5)
    check(f"{label} append more", r.append(key("s"), " world"), 11)
    check(f"{label} strlen", r.strlen(key("s")), 11)
    check(f"{label} getrange", r.getrange(key("s"), 0, 4), b"hello")
    check(f"{label} setrange", r.setrange(key("s"), 6, "WORLD"), 11)
    check(f"{label} get after setrange", r.get(key("s")), b"hello WORLD")
    check(f"{label} type", r.type(key("s")), b"string")
    check(f"{label} type none", r.type(key("nope")), b"none")
    check(f"{label} rename", r.rename(key("s"), key("s2")), True)
    check(f"{label} renamenx", r.renamenx(key("s2"), key("a")), False)
    check(f"{label} copy", r.copy(key("s2"), key("s3")), True)
    check(f"{label} exists", r.exists(key("s2"), key("s3"), key("nope")), 2)
    check(f"{label} delete", r.delete(key("s2"), key("s3"), key("nope")), 2)

    # Binary values: every byte, in keys and values.
    every_byte = bytes(range(256))
    check(f"{label} set binary", r.set(key("bin"), every_byte), True)
    check(f"{label} get binary", r.get(key("bin")), every_byte)
    binary_key = key("bin:").encode() + bytes(range(1, 256))
    check(f"{label} set binary key", r.set(binary_key, b"\x00\r\n\x00"), True)
    check(f"{label} get binary key", r.get(binary_key), b"\x00\r\n\x00")
    check(f"{label} strlen binary", r.strlen(key("bin")), 256)
    check(f"{label} getrange binary", r.getrange(key("bin"), 10, 12), b"\n\x0b\x0c")
    large = bytes(i % 251 for i in range(1 << 20))
    check(f"{label} set 1 MiB", r.set(key("large"), large), True)
    check(f"{label} get 1 MiB", r.get(key("large")), large)

    # Expiry.
    check(f"{label} set ex", r.set(key("e"), "v", ex=1000), True)
    ttl = r.ttl(key("e"))
    if not 998 <= ttl <= 1000:
        raise CheckFailed(f"{label} ttl: got {ttl}, want about 1000")
    pttl = r.pttl(key("e"))
    if not 998_000 <= pttl <= 1_000_000:
        raise CheckFailed(f"{label} pttl: got {pttl}, want about 1000000")
    check(f"{label} ttl of persistent key", r.ttl(key("a")), -1)
    check(f"{label} ttl of missing key", r.ttl(key("nope")), -2)
    check(f"{label} expire nx refused", r.expire(key("e"), 2000, nx=True), False)
    check(f"{label} expire gt", r.expire(key("e"), 2000, gt=True), True)
    check(f"{label} expire lt refused", r.expire(key("e"), 3000, lt=True), False)
    check(f"{label} persist", r.persist(key("e")), True)
    check(f"{label} ttl after persist", r.ttl(key("e")), -1)
    check(f"{label} getex ex", r.getex(key("e"), ex=500), b"v")
    expiretime = r.expiretime(key("e"))
    if expiretime <= 0:
        raise CheckFailed(f"{label} expiretime: got {expiretime}")
    check(f"{label} getex persist", r.getex(key("e"), persist=True), b"v")
    check(f"{label} set px", r.set(key("short"), "v", px=150), True)
    # Bounded wait for the key to expire (at most 5 s).
    for _ in range(100):
        if r.get(key("short")) is None:
            break
        __import__("time").sleep(0.05)
    check(f"{label} expired key", r.get(key("short")), None)
    check(f"{label} exists expired", r.exists(key("short")), 0)
    check(f"{label} setex", r.execute_command("SETEX", key("sx"), 100, "v"), True)
    check(
        f"{label} psetex",
        r.execute_command("PSETEX", key("psx"), 100000, "v"),
        True,
    )
    check(f"{label} expire in the past deletes", r.expire(key("sx"), -1), True)
    check(f"{label} gone after expire -1", r.exists(key("sx")), 0)

    # incrbyfloat: redis-py turns the reply into a float.
    check(f"{label} incrbyfloat", r.incrbyfloat(key("f"), 10.5), 10.5)
    check(f"{label} incrbyfloat again", r.incrbyfloat(key("f"), 0.25), 10.75)
    check(f"{label} incrbyfloat stored text", r.get(key("f")), b"10.75")
    check(f"{label} incrbyfloat to integer", r.incrbyfloat(key("f"), -0.75), 10.0)
    check(f"{label} incrbyfloat integer text", r.get(key("f")), b"10")

    # Pipelines without and with MULTI/EXEC.
    pipe = r.pipeline(transaction=False)
    pipe.set(key("p1"), "1").incr(key("p1")).get(key("p1")).get(key("nope"))
    check(f"{label} pipeline", pipe.execute(), [True, 2, b"2", None])
    pipe = r.pipeline(transaction=True)
    pipe.set(key("p2"), "a").append(key("p2"), "b").get(key("p2")).ttl(key("p2"))
    check(f"{label} transaction pipeline", pipe.execute(), [True, 2, b"ab", -1])
    many = r.pipeline(transaction=False)
    for i in range(1000):
        many.set(key(f"many:{i}"), str(i))
    check(f"{label} pipeline of 1000 sets", many.execute(), [True] * 1000)
    many = r.pipeline(transaction=False)
    for i in range(1000):
        many.get(key(f"many:{i}"))
    check(
        f"{label} pipeline of 1000 gets",
        many.execute(),
        [str(i).encode() for i in range(1000)],
    )
    # A runtime error inside MULTI/EXEC is that command's reply only.
    pipe = r.pipeline(transaction=True)
    pipe.set(key("p3"), "x").incr(key("p3")).get(key("p3"))
    results = pipe.execute(raise_on_error=False)
    check(f"{label} exec with an error: first", results[0], True)
    if not isinstance(results[1], redis.ResponseError):
        raise CheckFailed(f"{label} exec with an error: got {results[1]!r}")
    check(
        f"{label} exec with an error: text",
        str(results[1]),
        "value is not an integer or out of range",
    )
    check(f"{label} exec with an error: last", results[2], b"x")

    # Optimistic transactions: client.transaction retries after a
    # concurrent change to a watched key.
    r.set(key("counter"), "10")
    other = redis.Redis(**kwargs)
    attempts = []

    def double(pipe):
        value = int(pipe.get(key("counter")))
        if not attempts:
            # Another client changes the watched key between WATCH and EXEC.
            other.set(key("counter"), "20")
        attempts.append(value)
        pipe.multi()
        pipe.set(key("counter"), value * 2)

    result = r.transaction(double, key("counter"))
    check(f"{label} transaction result", result, [True])
    check(f"{label} transaction retried", attempts, [10, 20])
    check(f"{label} transaction value", r.get(key("counter")), b"40")
    # A WATCH with no change between it and EXEC succeeds first time.
    with r.pipeline() as pipe:
        pipe.watch(key("counter"))
        pipe.multi()
        pipe.incr(key("counter"))
        check(f"{label} watch unchanged", pipe.execute(), [41])
    # A key changed after WATCH aborts EXEC with WatchError.
    with r.pipeline() as pipe:
        pipe.watch(key("counter"))
        other.incr(key("counter"))
        pipe.multi()
        pipe.incr(key("counter"))
        try:
            pipe.execute()
            raise CheckFailed(f"{label} watch changed: EXEC ran")
        except redis.WatchError:
            pass
    check(f"{label} value after aborted exec", r.get(key("counter")), b"42")
    other.close()

    # scan_iter with a pattern and a small COUNT sees every key once.
    found = sorted(r.scan_iter(match=key("many:*"), count=50))
    check(
        f"{label} scan_iter",
        found,
        sorted(key(f"many:{i}").encode() for i in range(1000)),
    )
    check(
        f"{label} keys",
        sorted(r.keys(key("m?"))),
        [key("m1").encode(), key("m2").encode()],
    )

    # Errors, with Redis's texts.
    r.set(key("text"), "abc")
    expect_error(
        f"{label} incr on text",
        "value is not an integer or out of range",
        r.incr,
        key("text"),
    )
    expect_error(
        f"{label} incrbyfloat on text",
        "value is not a valid float",
        r.incrbyfloat,
        key("text"),
        1.5,
    )
    expect_error(
        f"{label} wrong arity",
        "wrong number of arguments for 'get' command",
        r.execute_command,
        "GET",
    )
    expect_error(
        f"{label} unknown command",
        "unknown command 'NOSUCH', with args beginning with: 'x' ",
        r.execute_command,
        "NOSUCH",
        "x",
    )
    expect_error(f"{label} rename missing", "no such key", r.rename, key("nope"), key("x"))
    expect_error(
        f"{label} set syntax",
        "syntax error",
        r.execute_command,
        "SET",
        key("x"),
        "v",
        "NX",
        "XX",
    )
    expect_error(
        f"{label} invalid expire",
        "invalid expire time in 'set' command",
        r.set,
        key("x"),
        "v",
        ex=0,
    )
    r.set(key("max"), str(2**63 - 1))
    expect_error(
        f"{label} overflow",
        "increment or decrement would overflow",
        r.incr,
        key("max"),
    )

    # Server commands redis-py's helpers parse.
    check(f"{label} dbsize", r.dbsize() > 1000, True)
    info = r.info("server")
    if "redis_version" not in info:
        raise CheckFailed(f"{label} info server: no redis_version in {info!r}")
    # Whether these come back as bytes or str depends on the protocol and
    # on redis-py's version.
    config = {text(k): text(v) for k, v in r.config_get("maxclients").items()}
    check(f"{label} config get", config, {"maxclients": "10000"})
    check(f"{label} client setname", r.client_setname("py-test"), True)
    check(f"{label} client getname", text(r.client_getname()), "py-test")
    seconds, micros = r.time()
    if seconds < 1_600_000_000 or not 0 <= micros < 1_000_000:
        raise CheckFailed(f"{label} time: got {(seconds, micros)!r}")
    r.close()


def main():
    if len(sys.argv) != 2:
        print("usage: redis_py_interop.py PORT", file=sys.stderr)
        return 2
    port = int(sys.argv[1])
    print(f"redis-py {redis.__version__}")
    for protocol in (None, 2, 3):
        try:
            run(port, protocol)
        except CheckFailed as failure:
            print(f"FAILED: {failure}", file=sys.stderr)
            return 1
        except Exception:  # any other failure names its call site
            print(
                f"FAILED (protocol={protocol or 'default'}): {traceback.format_exc()}",
                file=sys.stderr,
            )
            return 1
        print(f"protocol={protocol or 'default'}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
