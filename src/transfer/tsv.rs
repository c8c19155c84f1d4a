//! TSV: `key<TAB>value[<TAB>expires_at_ms]`, one entry a line. In keys and
//! values, `\\`, `\t`, `\n` and `\r` stand for backslash, tab, newline and
//! carriage return, and `\xHH` for any other byte that is not printable
//! ASCII or part of valid UTF-8. Blank lines are skipped, and a line may
//! end in CRLF (the CR is dropped: a CR in a key or value is always `\r`).

use std::io::{BufRead, Write};

use super::{Entry, ParseError, ReadError, parse_expiry, read_line};

pub fn write(out: &mut impl Write, entry: &Entry) -> std::io::Result<()> {
    escape(out, &entry.key)?;
    out.write_all(b"\t")?;
    escape(out, &entry.value)?;
    if let Some(at) = entry.expiry_ms {
        write!(out, "\t{at}")?;
    }
    out.write_all(b"\n")
}

fn escape(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.write_all(b"\\\\")?,
                '\t' => out.write_all(b"\\t")?,
                '\n' => out.write_all(b"\\n")?,
                '\r' => out.write_all(b"\\r")?,
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        write!(out, "\\x{b:02x}")?;
                    }
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.write_all(c.encode_utf8(&mut buf).as_bytes())?;
                }
            }
        }
        for b in chunk.invalid() {
            write!(out, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

fn unescape(field: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b't') => out.push(b'\t'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b'x') => {
                let hex = [bytes.next(), bytes.next()];
                let digits: Option<Vec<u8>> = hex.into_iter().collect();
                let value = digits
                    .and_then(|d| std::str::from_utf8(&d).ok().map(str::to_string))
                    .and_then(|d| u8::from_str_radix(&d, 16).ok())
                    .ok_or("\\x must be followed by two hex digits")?;
                out.push(value);
            }
            Some(other) => return Err(format!("unknown escape \\{}", other.escape_ascii())),
            None => return Err("a field ends with a lone backslash".to_string()),
        }
    }
    Ok(out)
}

pub fn read(input: &mut impl BufRead, line: &mut u64) -> Result<Option<Entry>, ReadError> {
    loop {
        let Some(mut text) = read_line(input, line)? else {
            return Ok(None);
        };
        // CRLF line ends (a file from Windows): a raw CR is never part of
        // an entry, since the writer escapes every CR as `\r`.
        if text.last() == Some(&b'\r') {
            text.pop();
        }
        if text.is_empty() {
            continue;
        }
        let bad = |message: String| ParseError {
            line: *line,
            message,
        };
        let fields: Vec<&[u8]> = text.split(|b| *b == b'\t').collect();
        if !(2..=3).contains(&fields.len()) {
            return Err(bad(format!(
                "expected key<TAB>value[<TAB>expires_at_ms], found {} tab-separated fields",
                fields.len()
            ))
            .into());
        }
        let key = unescape(fields[0]).map_err(|m| bad(format!("key: {m}")))?;
        let value = unescape(fields[1]).map_err(|m| bad(format!("value: {m}")))?;
        let expiry_ms = match fields.get(2) {
            None => None,
            Some(text) => {
                let text = String::from_utf8_lossy(text);
                Some(parse_expiry(&text).map_err(bad)?)
            }
        };
        return Ok(Some(Entry {
            key,
            value,
            expiry_ms,
        }));
    }
}
