//! RESP: a stream of Redis `SET key value [PXAT ms]` commands as arrays of
//! bulk strings, the form `redis-cli --pipe` sends to a server. The reader
//! also accepts `PX`, `EX` and `EXAT` expiries (converted to absolute ms
//! when read) and any letter case for the command and options.

use std::io::{BufRead, Read, Write};

use super::{Entry, ParseError, ReadError, parse_expiry};
use crate::limits::VALUE_LEN_MAX;

const ARGS_MAX: usize = 8;

pub fn write(out: &mut impl Write, entry: &Entry) -> std::io::Result<()> {
    let args = if entry.expiry_ms.is_some() { 5 } else { 3 };
    write!(out, "*{args}\r\n$3\r\nSET\r\n")?;
    bulk(out, &entry.key)?;
    bulk(out, &entry.value)?;
    if let Some(at) = entry.expiry_ms {
        out.write_all(b"$4\r\nPXAT\r\n")?;
        bulk(out, at.to_string().as_bytes())?;
    }
    Ok(())
}

fn bulk(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    write!(out, "${}\r\n", bytes.len())?;
    out.write_all(bytes)?;
    out.write_all(b"\r\n")
}

/// Reads a `\r\n`-terminated header line such as `*3` or `$5`.
fn header(
    input: &mut impl BufRead,
    line: &mut u64,
    start: u64,
) -> Result<Option<Vec<u8>>, ReadError> {
    let mut buf = Vec::new();
    // A header is short; a long run without a newline is not RESP.
    let read = input.take(32).read_until(b'\n', &mut buf)?;
    if read == 0 {
        return Ok(None);
    }
    *line += 1;
    if !buf.ends_with(b"\r\n") {
        return Err(ParseError {
            line: start.max(*line),
            message: "expected a RESP header ending in \\r\\n".to_string(),
        }
        .into());
    }
    buf.truncate(buf.len() - 2);
    Ok(Some(buf))
}

fn number(text: &[u8], prefix: u8) -> Option<usize> {
    let rest = text.strip_prefix(&[prefix])?;
    std::str::from_utf8(rest).ok()?.parse().ok()
}

/// Most arguments one command of a batch may have (an MSET of half a
/// million pairs); memory grows only as their bytes arrive.
pub const BATCH_ARGS_MAX: usize = 1 << 20;

/// One command of a batch: the line it starts on, and its arguments.
pub type Command = (u64, Vec<Vec<u8>>);

/// Reads one command (an array of bulk strings) of at most `args_max`
/// arguments; `Ok(None)` at the end. Returns the line it starts on.
pub fn read_command(
    input: &mut impl BufRead,
    line: &mut u64,
    args_max: usize,
) -> Result<Option<Command>, ReadError> {
    let start = *line + 1;
    let bad = |message: String| ParseError {
        line: start,
        message,
    };
    let Some(head) = header(input, line, start)? else {
        return Ok(None);
    };
    let count = number(&head, b'*')
        .filter(|n| (1..=args_max).contains(n))
        .ok_or_else(|| {
            bad(format!(
                "expected an array header like *3, found {:?}",
                head.escape_ascii().to_string()
            ))
        })?;
    let mut args: Vec<Vec<u8>> = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let Some(head) = header(input, line, start)? else {
            return Err(bad("the input ends inside a command".to_string()).into());
        };
        let len = number(&head, b'$').ok_or_else(|| {
            bad(format!(
                "expected a bulk string header like $5, found {:?}",
                head.escape_ascii().to_string()
            ))
        })?;
        if len > VALUE_LEN_MAX {
            return Err(bad(format!(
                "a bulk string of {len} bytes is over the limit of {VALUE_LEN_MAX} bytes \
                 (the largest value hoard stores)"
            ))
            .into());
        }
        // Read through `take`: memory grows only as bytes actually arrive,
        // whatever length a header claims.
        let mut arg = Vec::new();
        input.take(len as u64 + 2).read_to_end(&mut arg)?;
        if arg.len() != len + 2 {
            return Err(bad("the input ends inside a bulk string".to_string()).into());
        }
        if !arg.ends_with(b"\r\n") {
            return Err(bad("a bulk string is not followed by \\r\\n".to_string()).into());
        }
        *line += arg.iter().filter(|b| **b == b'\n').count() as u64;
        arg.truncate(len);
        args.push(arg);
    }
    Ok(Some((start, args)))
}

pub fn read(input: &mut impl BufRead, line: &mut u64) -> Result<Option<Entry>, ReadError> {
    let Some((start, args)) = read_command(input, line, ARGS_MAX)? else {
        return Ok(None);
    };
    let bad = |message: String| ParseError {
        line: start,
        message,
    };
    if !args[0].eq_ignore_ascii_case(b"SET") {
        return Err(bad(format!(
            "only SET commands can be imported, found {}",
            String::from_utf8_lossy(&args[0])
        ))
        .into());
    }
    let (key, value, expiry_ms) = match args.as_slice() {
        [_, key, value] => (key.clone(), value.clone(), None),
        [_, key, value, option, amount] => {
            let amount = String::from_utf8_lossy(amount);
            let now_ms = || crate::clock::Clock::now_ms(&crate::clock::SystemClock);
            let relative = |scale: u64| {
                amount
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .and_then(|n| n.checked_mul(scale))
                    .and_then(|ms| ms.checked_add(now_ms()))
                    .ok_or_else(|| format!("invalid expiry {amount:?}"))
            };
            let at = match option.to_ascii_uppercase().as_slice() {
                b"PXAT" => parse_expiry(&amount),
                b"EXAT" => parse_expiry(&amount).and_then(|s| {
                    s.checked_mul(1000)
                        .ok_or_else(|| "expiry too large".to_string())
                }),
                b"PX" => relative(1),
                b"EX" => relative(1000),
                _ => Err(format!(
                    "unsupported SET option {}",
                    String::from_utf8_lossy(option)
                )),
            }
            .map_err(bad)?;
            (key.clone(), value.clone(), Some(at))
        }
        _ => return Err(bad("expected SET key value [PXAT ms]".to_string()).into()),
    };
    Ok(Some(Entry {
        key,
        value,
        expiry_ms,
    }))
}
