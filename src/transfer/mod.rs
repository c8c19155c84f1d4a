//! Bulk import and export: the interchange formats (TSV, JSON Lines, RESP)
//! as streaming readers and writers, and the loops that move entries
//! between a store and a stream. Every format round-trips every byte and
//! carries expiry as an absolute time.

mod batch;
mod jsonl;
mod rdb;

pub use rdb::{RdbImportReport, check_rdb, export_rdb, import_rdb, load_rdb};

pub use jsonl::put_bytes as put_json_bytes;
mod resp;
mod tsv;

use std::fmt;
use std::io::{BufRead, Read, Write};

use crate::error::{Error, Result};
use crate::limits::{KEY_LEN_MAX, VALUE_LEN_MAX, check_key, check_value};
use crate::store::Store;

/// An interchange format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `key<TAB>value[<TAB>expires_at_ms]`, one entry a line, with escapes.
    Tsv,
    /// One JSON object a line; base64 for bytes that are not UTF-8.
    Jsonl,
    /// Redis protocol SET commands (with PXAT), as `redis-cli --pipe` reads.
    Resp,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
            Format::Resp => "resp",
        })
    }
}

/// One key with its value and absolute expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
    /// Absolute expiry in Unix ms, if the key expires.
    pub expiry_ms: Option<u64>,
}

/// A line that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number where the bad entry starts.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

/// Why an entry could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Reading the input failed.
    Io(std::io::Error),
    /// The input is malformed.
    Parse(ParseError),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

impl From<ParseError> for ReadError {
    fn from(e: ParseError) -> ReadError {
        ReadError::Parse(e)
    }
}

/// Reads entries from a stream in one format.
pub struct EntryReader<R> {
    input: R,
    format: Format,
    /// Lines consumed so far.
    line: u64,
}

impl<R: BufRead> EntryReader<R> {
    /// A reader of `format` over `input`.
    pub fn new(input: R, format: Format) -> EntryReader<R> {
        EntryReader {
            input,
            format,
            line: 0,
        }
    }

    /// The next entry, `Ok(None)` at the end.
    pub fn next_entry(&mut self) -> std::result::Result<Option<Entry>, ReadError> {
        match self.format {
            Format::Tsv => tsv::read(&mut self.input, &mut self.line),
            Format::Jsonl => jsonl::read(&mut self.input, &mut self.line),
            Format::Resp => resp::read(&mut self.input, &mut self.line),
        }
    }
}

/// Writes one entry in `format`.
pub fn write_entry(out: &mut impl Write, format: Format, entry: &Entry) -> std::io::Result<()> {
    match format {
        Format::Tsv => tsv::write(out, entry),
        Format::Jsonl => jsonl::write(out, entry),
        Format::Resp => resp::write(out, entry),
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Entries written.
    pub imported: u64,
    /// Entries skipped because their expiry had already passed.
    pub expired: u64,
}

/// Imports every entry of `reader` into `store` with one sync at the end.
/// A malformed entry stops the import: the entries before it stay written
/// and are synced, and the error (exit 2) names `source`, the line and the
/// count imported.
pub fn import<R: BufRead>(
    store: &Store,
    reader: &mut EntryReader<R>,
    source: &str,
    now_ms: u64,
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    store.defer_sync(true);
    let outcome = import_entries(store, reader, source, now_ms, &mut report);
    finish_import(store, outcome, report)
}

/// Applies a batch of Redis write commands (RESP, as `redis-cli --pipe`
/// takes them) to `store` in order, with one sync at the end; see
/// `batch` for the commands. `imported` counts the commands applied. An
/// unsupported or malformed command stops the batch like a malformed
/// line: the commands before it stay applied and synced.
pub fn import_commands<R: BufRead>(
    store: &Store,
    input: &mut R,
    source: &str,
    now_ms: u64,
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    store.defer_sync(true);
    let outcome = apply_commands(store, input, source, now_ms, &mut report);
    finish_import(store, outcome, report)
}

fn apply_commands<R: BufRead>(
    store: &Store,
    input: &mut R,
    source: &str,
    now_ms: u64,
    report: &mut ImportReport,
) -> Result<()> {
    let mut line = 0;
    loop {
        let (start, args) = match resp::read_command(input, &mut line, resp::BATCH_ARGS_MAX) {
            Ok(Some(command)) => command,
            Ok(None) => return Ok(()),
            Err(ReadError::Io(io)) => return Err(Error::io("read", source, io)),
            Err(ReadError::Parse(parse)) => {
                return Err(malformed(
                    source,
                    parse.line,
                    &parse.message,
                    report.imported,
                ));
            }
        };
        match batch::apply(store, &args, now_ms) {
            Ok(batch::Applied::Done) => report.imported += 1,
            Ok(batch::Applied::Expired) => report.expired += 1,
            Err(Error::InvalidInput(message)) => {
                return Err(malformed(source, start, &message, report.imported));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Ends a bulk load: syncs whatever was written, also when the input was bad.
fn finish_import(store: &Store, outcome: Result<()>, report: ImportReport) -> Result<ImportReport> {
    store.defer_sync(false);
    // Whatever was written is made durable, also when the input was bad.
    let synced = store.sync();
    match (outcome, synced) {
        (Ok(()), Ok(())) => Ok(report),
        // A malformed line whose predecessors could not be synced: the
        // failed sync is what the user must hear about.
        (Err(Error::InvalidInput(_)), Err(sync)) => Err(sync),
        // Otherwise the first failure is the cause; a sync after a failed
        // write only fails because of it.
        (Err(first), _) | (Ok(()), Err(first)) => Err(first),
    }
}

fn import_entries<R: BufRead>(
    store: &Store,
    reader: &mut EntryReader<R>,
    source: &str,
    now_ms: u64,
    report: &mut ImportReport,
) -> Result<()> {
    let malformed =
        |line: u64, message: String, imported: u64| malformed(source, line, &message, imported);
    loop {
        let entry = match reader.next_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => return Ok(()),
            Err(ReadError::Io(io)) => return Err(Error::io("read", source, io)),
            Err(ReadError::Parse(parse)) => {
                return Err(malformed(parse.line, parse.message, report.imported));
            }
        };
        let checked =
            check_key(&entry.key).and_then(|()| check_value(&entry.key, entry.value.len()));
        if let Err(e) = checked {
            return Err(malformed(reader.line, e.to_string(), report.imported));
        }
        match entry.expiry_ms {
            Some(at) if at <= now_ms => report.expired += 1,
            expiry => {
                store.put_at(&entry.key, &entry.value, expiry)?;
                report.imported += 1;
            }
        }
    }
}

/// The error for a malformed entry at `line` of `source`, saying what was kept.
fn malformed(source: &str, line: u64, message: &str, imported: u64) -> Error {
    let before = match imported {
        0 => "nothing was imported".to_string(),
        1 => "the 1 record before it was imported and synced, nothing after it was".to_string(),
        n => format!("the {n} records before it were imported and synced, nothing after it was"),
    };
    Error::InvalidInput(format!("{source}: line {line}: {message}; {before}"))
}

/// Writes every live entry whose key starts with `prefix`, in key order;
/// returns how many.
pub fn export(store: &Store, prefix: &[u8], format: Format, out: &mut impl Write) -> Result<u64> {
    let keys = store.keys(prefix, None)?;
    let mut count = 0;
    for key in keys {
        let Some(value) = store.get(&key)? else {
            continue;
        };
        let entry = Entry {
            key,
            value: value.bytes,
            expiry_ms: value.expiry_ms,
        };
        write_entry(out, format, &entry).map_err(|e| Error::io("write", "the output", e))?;
        count += 1;
    }
    Ok(count)
}

/// Parses and checks an absolute expiry in ms.
fn parse_expiry(text: &str) -> std::result::Result<u64, String> {
    text.parse::<u64>()
        .ok()
        .filter(|ms| *ms > 0 && *ms < i64::MAX as u64)
        .ok_or_else(|| format!("invalid expiry {text:?}: expected Unix milliseconds"))
}

/// No line of a TSV or JSON Lines input may be longer: the longest key
/// and value, every byte escaped (4 bytes each), plus room for the rest.
pub const LINE_LEN_MAX: u64 = 4 * (KEY_LEN_MAX + VALUE_LEN_MAX) as u64 + 4096;

/// Reads one line (through `\n`, which is removed); `None` at the end.
fn read_line(
    input: &mut impl BufRead,
    line: &mut u64,
) -> std::result::Result<Option<Vec<u8>>, ReadError> {
    let mut buf = Vec::new();
    if input.take(LINE_LEN_MAX + 1).read_until(b'\n', &mut buf)? == 0 {
        return Ok(None);
    }
    if buf.len() as u64 > LINE_LEN_MAX {
        return Err(ParseError {
            line: *line + 1,
            message: format!("the line is longer than {LINE_LEN_MAX} bytes"),
        }
        .into());
    }
    *line += 1;
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(format: Format, entries: &[Entry]) -> Vec<Entry> {
        let mut bytes = Vec::new();
        for entry in entries {
            write_entry(&mut bytes, format, entry).unwrap();
        }
        let mut reader = EntryReader::new(&bytes[..], format);
        let mut back = Vec::new();
        while let Some(entry) = reader.next_entry().map_err(|e| format!("{e:?}")).unwrap() {
            back.push(entry);
        }
        back
    }

    proptest! {
        #[test]
        fn every_format_round_trips_arbitrary_bytes(
            entries in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 1..40),
                 proptest::collection::vec(any::<u8>(), 0..80),
                 proptest::option::of(1u64..4_000_000_000_000)),
                0..20)
        ) {
            let entries: Vec<Entry> = entries
                .into_iter()
                .map(|(key, value, expiry_ms)| Entry { key, value, expiry_ms })
                .collect();
            for format in [Format::Tsv, Format::Jsonl, Format::Resp] {
                prop_assert_eq!(&round_trip(format, &entries), &entries, "{}", format);
            }
        }

        #[test]
        fn readers_never_panic_on_arbitrary_input(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            for format in [Format::Tsv, Format::Jsonl, Format::Resp] {
                let mut reader = EntryReader::new(&bytes[..], format);
                for _ in 0..100 {
                    match reader.next_entry() {
                        Ok(Some(_)) => {}
                        _ => break,
                    }
                }
            }
        }
    }
}
