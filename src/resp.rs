//! Requests in RESP, the Redis protocol, for `hoard serve`: a parser over
//! a connection's read buffer that takes whole commands only and gives
//! Redis's own protocol errors at Redis's own limits, so that clients and
//! Redis's test suite see what they would see from redis-server.
//!
//! A request is a *multibulk* (`*<n>\r\n` then n `$<len>\r\n<bytes>\r\n`)
//! or an *inline* command (one line, split like `redis-cli` input: spaces
//! separate words, double quotes allow escapes, single quotes do not).
//! `parse` never copies or consumes a partial command: it returns `None`
//! until the buffer holds a whole one, so a caller parses every complete
//! command in its buffer (pipelining) and keeps the rest for later. The
//! limits guard memory: a client cannot make the parser wait for (and the
//! caller buffer) more than they allow, and before authentication they are
//! small. Replies are encoded for RESP2 or RESP3. No I/O; the parser takes
//! argument vectors from a small per-thread pool (`recycle`).

use memchr::memchr;

/// The longest inline command, or header line, accepted (Redis's
/// `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX: usize = 64 * 1024;

/// How big a request may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Whether the client has authenticated (or needs not): before, Redis
    /// allows at most 10 arguments of at most 16 KiB each.
    pub authenticated: bool,
    /// Longest bulk string (argument) in bytes (`proto-max-bulk-len`).
    pub bulk_max: u64,
}

impl Limits {
    /// For an authenticated client, or a server without a password: bulk
    /// strings up to the 512 MiB value limit.
    pub const AUTHENTICATED: Limits = Limits {
        authenticated: true,
        bulk_max: crate::limits::VALUE_LEN_MAX as u64,
    };

    /// Before authentication.
    pub const UNAUTHENTICATED: Limits = Limits {
        authenticated: false,
        bulk_max: crate::limits::VALUE_LEN_MAX as u64,
    };
}

/// Arguments and bytes per argument a client may send before it
/// authenticates (Redis 7).
const UNAUTHENTICATED_ARGS_MAX: i64 = 10;
const UNAUTHENTICATED_BULK_MAX: i64 = 16 * 1024;

/// A protocol error: the reply is `-ERR Protocol error: <text>`, and the
/// connection is then closed, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

fn error(text: impl Into<String>) -> ProtocolError {
    ProtocolError(text.into())
}

/// One request taken off the front of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The command's words (empty for an empty line or `*0`, which Redis
    /// skips without a reply).
    pub args: Vec<Vec<u8>>,
    /// Bytes of the buffer the request took.
    pub consumed: usize,
}

/// Parses the request at the start of `buf`: `Ok(None)` when the buffer
/// does not hold a whole one yet (read more, then call again with the
/// same bytes and the new ones after them).
pub fn parse(buf: &[u8], limits: &Limits) -> Result<Option<Request>, ProtocolError> {
    match buf.first() {
        None => Ok(None),
        Some(b'*') => multibulk(buf, limits),
        Some(_) => inline(buf),
    }
}

/// A `\r\n`-terminated line at `buf[from..]`: its content and the offset
/// after it. Redis looks for the `\r` and requires the `\n` after it.
fn line(buf: &[u8], from: usize, too_big: &str) -> Result<Option<(usize, usize)>, ProtocolError> {
    match find_cr(&buf[from..]) {
        None if buf.len() - from > INLINE_MAX => Err(error(too_big)),
        None => Ok(None),
        Some(at) => {
            let end = from + at;
            if end + 1 >= buf.len() {
                // The `\n` has not arrived yet.
                return Ok(None);
            }
            Ok(Some((end, end + 2)))
        }
    }
}

/// Where the first `\r` of `hay` is. Header lines (`*3`, `$100`) are a
/// few bytes long: a plain loop finds their end sooner than `memchr`'s
/// vector set-up does, which was 4% of a server's instructions under
/// pipelined SETs.
fn find_cr(hay: &[u8]) -> Option<usize> {
    let short = hay.len().min(16);
    match hay[..short].iter().position(|&b| b == b'\r') {
        Some(at) => Some(at),
        None => memchr(b'\r', &hay[short..]).map(|at| short + at),
    }
}

/// A decimal integer as Redis's `string2ll` reads it (optional `-`,
/// digits, no leading zeros but `0`, no `+`, within i64).
fn integer(bytes: &[u8]) -> Option<i64> {
    crate::store::parse_redis_integer(bytes)
}

/// Arguments whose spans `multibulk` keeps on the stack while it parses.
const FEW_ARGS: usize = 8;

fn multibulk(buf: &[u8], limits: &Limits) -> Result<Option<Request>, ProtocolError> {
    let Some((end, mut at)) = line(buf, 1, "too big mbulk count string")? else {
        return Ok(None);
    };
    let count = integer(&buf[1..end])
        .filter(|n| *n <= i64::from(i32::MAX))
        .ok_or_else(|| error("invalid multibulk length"))?;
    if count > UNAUTHENTICATED_ARGS_MAX && !limits.authenticated {
        return Err(error("unauthenticated multibulk length"));
    }
    if count <= 0 {
        return Ok(Some(Request {
            args: Vec::new(),
            consumed: at,
        }));
    }
    // Nothing is allocated for the arguments until they are all here; the
    // spans of a short command (most are) stay on the stack meanwhile.
    let count = count as usize;
    let mut few = [(0, 0); FEW_ARGS];
    let mut many = Vec::new();
    if count > FEW_ARGS {
        many.reserve(count.min(1024));
    }
    let mut taken = 0;
    while taken < count {
        let Some(&first) = buf.get(at) else {
            return Ok(None);
        };
        if first != b'$' {
            return Err(error(format!(
                "expected '$', got '{}'",
                char::from(first).escape_default()
            )));
        }
        let Some((end, data)) = line(buf, at + 1, "too big bulk count string")? else {
            return Ok(None);
        };
        let len = integer(&buf[at + 1..end])
            .filter(|n| (0..=limits.bulk_max as i64).contains(n))
            .ok_or_else(|| error("invalid bulk length"))?;
        if len > UNAUTHENTICATED_BULK_MAX && !limits.authenticated {
            return Err(error("unauthenticated bulk length"));
        }
        let len = len as usize;
        let after = data + len + 2;
        if buf.len() < after {
            return Ok(None);
        }
        // Redis does not check the two bytes after the payload either: it
        // skips them.
        if count > FEW_ARGS {
            many.push((data, data + len));
        } else {
            few[taken] = (data, data + len);
        }
        taken += 1;
        at = after;
    }
    let spans = if count > FEW_ARGS {
        &many[..]
    } else {
        &few[..count]
    };
    let mut args = pool::args(count);
    args.extend(spans.iter().map(|&(a, b)| pool::bytes(&buf[a..b])));
    Ok(Some(Request { args, consumed: at }))
}

/// Hands a request's arguments back once its command has run, so that the
/// next request on this thread reuses their allocations.
pub fn recycle(args: Vec<Vec<u8>>) {
    pool::recycle(args);
}

/// A per-thread pool of argument vectors. A pipelined batch of GETs and
/// SETs would otherwise allocate and free three or four vectors per
/// command (5% of a server's CPU under `redis-benchmark -P 16`, mostly in
/// glibc's slow paths: a batch outgrows its per-thread cache). Bounded
/// per thread, whatever the number of connections: only small vectors
/// are kept, and only so many.
mod pool {
    use std::cell::RefCell;

    /// Argument vectors kept per thread.
    const ARGS_KEPT: usize = 64;
    /// Byte vectors kept per thread.
    const BYTES_KEPT: usize = 256;
    /// Largest capacity kept: keys and small values.
    const BYTES_CAPACITY_MAX: usize = 256;
    /// Most arguments a kept argument vector has room for.
    const ARGS_CAPACITY_MAX: usize = 16;

    struct Pool {
        args: Vec<Vec<Vec<u8>>>,
        bytes: Vec<Vec<u8>>,
    }

    thread_local! {
        static POOL: RefCell<Pool> = const {
            RefCell::new(Pool {
                args: Vec::new(),
                bytes: Vec::new(),
            })
        };
    }

    /// An empty argument vector with room for `count`.
    pub(super) fn args(count: usize) -> Vec<Vec<u8>> {
        let kept = if count <= ARGS_CAPACITY_MAX {
            POOL.try_with(|p| p.borrow_mut().args.pop()).ok().flatten()
        } else {
            None
        };
        let mut args = kept.unwrap_or_default();
        args.reserve(count);
        args
    }

    /// A copy of `from`.
    pub(super) fn bytes(from: &[u8]) -> Vec<u8> {
        let kept = if from.len() <= BYTES_CAPACITY_MAX {
            POOL.try_with(|p| p.borrow_mut().bytes.pop()).ok().flatten()
        } else {
            None
        };
        match kept {
            Some(mut bytes) => {
                bytes.extend_from_slice(from);
                bytes
            }
            None => from.to_vec(),
        }
    }

    /// Keeps what fits of `args`, emptied; drops the rest (all of it on a
    /// thread that is exiting).
    pub(super) fn recycle(mut args: Vec<Vec<u8>>) {
        let _ = POOL.try_with(|p| {
            let mut p = p.borrow_mut();
            for mut bytes in args.drain(..) {
                if p.bytes.len() < BYTES_KEPT && bytes.capacity() <= BYTES_CAPACITY_MAX {
                    // Kept empty: nothing of one request reaches another.
                    bytes.clear();
                    p.bytes.push(bytes);
                }
            }
            if p.args.len() < ARGS_KEPT && args.capacity() <= ARGS_CAPACITY_MAX {
                p.args.push(args);
            }
        });
    }
}

fn inline(buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
    let Some(newline) = memchr(b'\n', buf) else {
        if buf.len() > INLINE_MAX {
            return Err(error("too big inline request"));
        }
        return Ok(None);
    };
    if newline > INLINE_MAX {
        return Err(error("too big inline request"));
    }
    let mut text = &buf[..newline];
    if let Some(stripped) = text.strip_suffix(b"\r") {
        text = stripped;
    }
    let args = split_args(text).ok_or_else(|| error("unbalanced quotes in request"))?;
    Ok(Some(Request {
        args,
        consumed: newline + 1,
    }))
}

/// Splits a line into words as Redis's `sdssplitargs` does: `None` for
/// unbalanced quotes (or a closing quote not followed by a space).
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut word = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                let &c = line.get(i)?;
                if c == b'\\'
                    && line.get(i + 1) == Some(&b'x')
                    && let (Some(h), Some(l)) = (
                        line.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
                        line.get(i + 3).and_then(|c| (*c as char).to_digit(16)),
                    )
                {
                    word.push((h * 16 + l) as u8);
                    i += 4;
                } else if c == b'\\' && i + 1 < line.len() {
                    word.push(match line[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                    i += 2;
                } else if c == b'"' {
                    // The closing quote must end the word.
                    if line.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    word.push(c);
                    i += 1;
                }
            } else if in_single {
                let &c = line.get(i)?;
                if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
                    word.push(b'\'');
                    i += 2;
                } else if c == b'\'' {
                    if line.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    word.push(c);
                    i += 1;
                }
            } else {
                match line.get(i) {
                    None => break,
                    Some(c) if c.is_ascii_whitespace() => break,
                    Some(b'"') => {
                        in_double = true;
                        i += 1;
                    }
                    Some(b'\'') => {
                        in_single = true;
                        i += 1;
                    }
                    Some(&c) => {
                        word.push(c);
                        i += 1;
                    }
                }
            }
        }
        args.push(word);
    }
}

/// A reply, encoded for the protocol version the client chose (`HELLO`).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`-style status (borrowed when it is a constant, as most are).
    Simple(std::borrow::Cow<'static, str>),
    /// An error: the text begins with its code (`ERR`, `WRONGTYPE`, ...).
    Error(String),
    /// `:n`.
    Integer(i64),
    /// A bulk string.
    Bulk(Vec<u8>),
    /// No value: RESP2's null bulk (`$-1`), RESP3's `_`.
    Null,
    /// No array (an aborted EXEC): RESP2's null array (`*-1`), RESP3's `_`.
    NullArray,
    /// An array (`*`).
    Array(Vec<Reply>),
    /// A map: RESP3 `%`, a flat array of keys and values in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A set: RESP3 `~`, an array in RESP2.
    Set(Vec<Reply>),
    /// A double: RESP3 `,`, a bulk string in RESP2.
    Double(f64),
}

/// The protocol version a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// RESP2, the default.
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Reply {
        Reply::Simple("OK".into())
    }

    /// Appends the reply's bytes in `protocol` to `out`.
    pub fn encode(&self, protocol: Protocol, out: &mut Vec<u8>) {
        use std::io::Write;
        let resp3 = protocol == Protocol::Resp3;
        match self {
            Reply::Simple(text) => {
                out.push(b'+');
                out.extend(text.bytes().filter(|b| *b != b'\r' && *b != b'\n'));
                out.extend_from_slice(b"\r\n");
            }
            Reply::Error(text) => {
                out.push(b'-');
                out.extend(text.bytes().filter(|b| *b != b'\r' && *b != b'\n'));
                out.extend_from_slice(b"\r\n");
            }
            Reply::Integer(n) => {
                out.push(b':');
                push_decimal(out, n.unsigned_abs(), *n < 0);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Bulk(bytes) => encode_bulk(bytes, out),
            Reply::Null if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::Null => out.extend_from_slice(b"$-1\r\n"),
            Reply::NullArray if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                let _ = write!(out, "*{}\r\n", items.len());
                for item in items {
                    item.encode(protocol, out);
                }
            }
            Reply::Set(items) => {
                let _ = write!(out, "{}{}\r\n", if resp3 { '~' } else { '*' }, items.len());
                for item in items {
                    item.encode(protocol, out);
                }
            }
            Reply::Map(pairs) => {
                if resp3 {
                    let _ = write!(out, "%{}\r\n", pairs.len());
                } else {
                    let _ = write!(out, "*{}\r\n", pairs.len() * 2);
                }
                for (key, value) in pairs {
                    key.encode(protocol, out);
                    value.encode(protocol, out);
                }
            }
            Reply::Double(x) => {
                let text = format_double(*x);
                if resp3 {
                    let _ = write!(out, ",{text}\r\n");
                } else {
                    Reply::Bulk(text.into_bytes()).encode(protocol, out);
                }
            }
        }
    }
}

/// Appends a bulk string (`$<len>\r\n<bytes>\r\n`): the reply to a GET,
/// so it formats its length without `fmt`.
pub fn encode_bulk(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'$');
    push_decimal(out, bytes.len() as u64, false);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, after a `-` if `negative`.
fn push_decimal(out: &mut Vec<u8>, mut n: u64, negative: bool) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

/// A double as Redis prints one: `inf`, `-inf`, `nan`, or the shortest
/// text that reads back as the same value.
fn format_double(x: f64) -> String {
    if x.is_nan() {
        "nan".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
        parse(buf, &Limits::AUTHENTICATED)
    }

    fn args(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn recycled_arguments_carry_nothing_into_the_next_request() {
        let long = "v".repeat(300);
        let first = format!("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000001\r\n$300\r\n{long}\r\n");
        let request = one(first.as_bytes()).unwrap().unwrap();
        assert_eq!(request.args, args(&["SET", "key:000000000001", &long]));
        recycle(request.args);
        // Shorter words into the recycled vectors, and more of them than
        // were handed back.
        let second = b"*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$0\r\n\r\n$2\r\nbc\r\n";
        let request = one(second).unwrap().unwrap();
        assert_eq!(request.args, args(&["MGET", "a", "", "bc"]));
        recycle(request.args);
        for _ in 0..1000 {
            let request = one(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n").unwrap().unwrap();
            assert_eq!(request.args, args(&["GET", "k"]));
            recycle(request.args);
        }
    }

    #[test]
    fn a_multibulk_is_taken_whole_and_nothing_after_it() {
        let buf = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n";
        let req = one(buf).unwrap().unwrap();
        assert_eq!(req.args, args(&["GET", "k"]));
        let rest = &buf[req.consumed..];
        assert_eq!(one(rest).unwrap().unwrap().args, args(&["PING"]));
    }

    #[test]
    fn a_partial_multibulk_waits_at_every_cut() {
        let buf = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n";
        for cut in 0..buf.len() {
            assert_eq!(one(&buf[..cut]).unwrap(), None, "cut at {cut}");
        }
        let req = one(buf).unwrap().unwrap();
        assert_eq!(req.args[2], b"va\r\nl");
        assert_eq!(req.consumed, buf.len());
    }

    #[test]
    fn multibulks_of_every_length_around_the_stack_spans_parse_whole() {
        // The parser keeps up to FEW_ARGS spans on the stack, more in a Vec.
        for count in [1, FEW_ARGS - 1, FEW_ARGS, FEW_ARGS + 1, 3 * FEW_ARGS] {
            let words: Vec<String> = (0..count).map(|i| format!("w{i}")).collect();
            let mut buf = format!("*{count}\r\n").into_bytes();
            for word in &words {
                buf.extend_from_slice(format!("${}\r\n{word}\r\n", word.len()).as_bytes());
            }
            for cut in 0..buf.len() {
                assert_eq!(
                    one(&buf[..cut]).unwrap(),
                    None,
                    "{count} args, cut at {cut}"
                );
            }
            buf.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
            let req = one(&buf).unwrap().unwrap();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            assert_eq!(req.args, args(&words), "{count} args");
            assert_eq!(&buf[req.consumed..], b"*1\r\n$4\r\nPING\r\n");
        }
    }

    #[test]
    fn inline_commands_split_like_redis_cli() {
        let req = one(b"SET k \"a b\\x41\\n\" 'it''s'\r\n");
        assert_eq!(req, Err(error("unbalanced quotes in request")));
        let req = one(b"SET k \"a b\\x41\\n\" 'it\\'s'\r\n").unwrap().unwrap();
        assert_eq!(
            req.args,
            vec![
                b"SET".to_vec(),
                b"k".to_vec(),
                b"a bA\n".to_vec(),
                b"it's".to_vec()
            ]
        );
        assert_eq!(one(b"  \r\n").unwrap().unwrap().args, Vec::<Vec<u8>>::new());
        assert_eq!(one(b"PING").unwrap(), None);
        assert_eq!(
            one(b"GET \"k\n").unwrap_err().to_string(),
            "Protocol error: unbalanced quotes in request"
        );
    }

    #[test]
    fn errors_are_redis_s_own() {
        let cases: [(&[u8], &str); 7] = [
            (b"*x\r\n", "invalid multibulk length"),
            (b"*2\r\n$3\r\nGET\r\n:1\r\n", "expected '$', got ':'"),
            (b"*1\r\n$-1\r\n", "invalid bulk length"),
            (b"*1\r\n$abc\r\n", "invalid bulk length"),
            (b"*1\r\n$536870913\r\n", "invalid bulk length"),
            (b"*2147483648\r\n", "invalid multibulk length"),
            (b"*01\r\n", "invalid multibulk length"),
        ];
        for (input, text) in cases {
            assert_eq!(
                one(input),
                Err(error(text)),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        let long = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(one(&long), Err(error("too big inline request")));
        let mut count = b"*".to_vec();
        count.extend(vec![b'1'; INLINE_MAX + 1]);
        assert_eq!(one(&count), Err(error("too big mbulk count string")));
    }

    #[test]
    fn before_authentication_the_limits_are_small() {
        let small = Limits::UNAUTHENTICATED;
        assert_eq!(
            parse(b"*11\r\n", &small),
            Err(error("unauthenticated multibulk length"))
        );
        assert_eq!(
            parse(b"*1\r\n$16385\r\n", &small),
            Err(error("unauthenticated bulk length"))
        );
        assert!(parse(b"*1\r\n$16384\r\n", &small).unwrap().is_none());
        assert!(parse(b"*10\r\n", &small).unwrap().is_none());
    }

    #[test]
    fn replies_encode_for_each_protocol() {
        let enc = |r: &Reply, p| {
            let mut out = Vec::new();
            r.encode(p, &mut out);
            String::from_utf8(out).unwrap()
        };
        use Protocol::{Resp2, Resp3};
        assert_eq!(enc(&Reply::ok(), Resp2), "+OK\r\n");
        assert_eq!(enc(&Reply::Error("ERR no".into()), Resp3), "-ERR no\r\n");
        assert_eq!(enc(&Reply::Integer(-3), Resp2), ":-3\r\n");
        for n in [0, 7, -10, 1234567890, i64::MAX, i64::MIN] {
            assert_eq!(enc(&Reply::Integer(n), Resp2), format!(":{n}\r\n"));
        }
        let long = vec![b'x'; 1234];
        assert_eq!(enc(&Reply::Bulk(long.clone()), Resp2).len(), 1234 + 9);
        assert!(enc(&Reply::Bulk(long), Resp2).starts_with("$1234\r\nxx"));
        assert_eq!(enc(&Reply::Bulk(Vec::new()), Resp2), "$0\r\n\r\n");
        assert_eq!(
            enc(&Reply::Bulk(b"a\r\nb".to_vec()), Resp2),
            "$4\r\na\r\nb\r\n"
        );
        assert_eq!(enc(&Reply::Null, Resp2), "$-1\r\n");
        assert_eq!(enc(&Reply::Null, Resp3), "_\r\n");
        let map = Reply::Map(vec![(Reply::Simple("k".into()), Reply::Integer(1))]);
        assert_eq!(enc(&map, Resp2), "*2\r\n+k\r\n:1\r\n");
        assert_eq!(enc(&map, Resp3), "%1\r\n+k\r\n:1\r\n");
        assert_eq!(enc(&Reply::Double(1.5), Resp2), "$3\r\n1.5\r\n");
        assert_eq!(enc(&Reply::Double(f64::INFINITY), Resp3), ",inf\r\n");
        assert_eq!(
            enc(&Reply::Set(vec![Reply::Integer(1)]), Resp3),
            "~1\r\n:1\r\n"
        );
    }

    #[test]
    fn an_empty_multibulk_is_skipped() {
        assert_eq!(
            one(b"*0\r\n").unwrap().unwrap(),
            Request {
                args: vec![],
                consumed: 4
            }
        );
        assert_eq!(one(b"*-1\r\n").unwrap().unwrap().args.len(), 0);
    }
}
