//! Moving a store's strings to and from Redis RDB files.
//!
//! An import reads the file twice: the first pass checks all of it (the
//! checksum at its end, every key's type and size), the second writes.
//! So a damaged file, or one holding types hoard cannot keep, changes
//! nothing: an import is all or nothing as long as the file does not
//! change between the passes.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use crate::error::{Error, Result, display_key};
use crate::limits::{check_key, check_value};
use crate::rdb::{Item, RdbError, RdbReader, RdbWriter, type_name};
use crate::store::Store;

/// What an RDB import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RdbImportReport {
    /// Strings written.
    pub imported: u64,
    /// Strings skipped because their expiry had passed.
    pub expired: u64,
    /// Keys skipped with `skip_other_types`, by Redis type ("list",
    /// "hash", ...; "string in database N" for keys of other databases).
    pub skipped: BTreeMap<String, u64>,
    /// Function libraries in the file, skipped (hoard runs none).
    pub functions_skipped: u64,
    /// Module auxiliary fields, skipped (hoard loads no modules).
    pub module_aux_skipped: u64,
    /// The file's RDB version.
    pub version: u32,
}

/// Imports the strings of an RDB file: `check_rdb`, then `load_rdb`.
/// `open` gives the file from its start, once per pass (it is told which:
/// "checking", "importing").
pub fn import_rdb(
    store: &Store,
    open: &mut dyn FnMut(&'static str) -> Result<Box<dyn Read>>,
    source: &str,
    now_ms: u64,
    skip_other_types: bool,
) -> Result<RdbImportReport> {
    check_rdb(open, source, skip_other_types)?;
    load_rdb(store, open, source, now_ms)
}

/// Reads the whole file and writes nothing: its checksum, every key's
/// type, size and expiry. Keys of other types, and of databases other
/// than 0, are refused (exit 2, naming the first) unless
/// `skip_other_types`; damage is exit 4. Run before a store is even
/// opened, a refused file leaves no trace.
pub fn check_rdb(
    open: &mut dyn FnMut(&'static str) -> Result<Box<dyn Read>>,
    source: &str,
    skip_other_types: bool,
) -> Result<()> {
    let checked = read_rdb(
        open("checking")?,
        source,
        "nothing was imported",
        &mut |item| {
            match item {
                Item::String {
                    key,
                    value,
                    db,
                    expiry_ms,
                } if *db == 0 => {
                    let fits = check_key(key)
                        .and_then(|()| check_value(key, value.len()))
                        .and_then(|()| match expiry_ms {
                            Some(at) if *at >= i64::MAX as u64 => {
                                Err(Error::InvalidInput(format!(
                                    "key {} expires at {at} ms, past the latest expiry a store \
                                     keeps",
                                    display_key(key)
                                )))
                            }
                            _ => Ok(()),
                        });
                    if let Err(e) = fits {
                        return Err(Error::InvalidInput(format!(
                            "{source}: {e}; nothing was imported"
                        )));
                    }
                }
                Item::String { key, db, .. } | Item::Other { key, db, .. } if !skip_other_types => {
                    let what = match item {
                        Item::Other { type_byte, .. } => {
                            format!("is a {} (RDB type {type_byte})", type_name(*type_byte))
                        }
                        _ => format!("is in database {db}"),
                    };
                    return Err(Error::InvalidInput(format!(
                        "{source}: key {} {what}, and hoard holds strings of database 0 only; \
                     nothing was imported (--skip-other-types imports the strings of \
                     database 0 and counts the rest)",
                        display_key(key)
                    )));
                }
                _ => {}
            }
            Ok(())
        },
    );
    match checked {
        // A refusal (an unknown type or version, a key of another type,
        // an oversized key) in a file that fails its checksum is damage,
        // not a file from a newer Redis or with other types: exit 4, as
        // for any damage.
        Err(Error::InvalidInput(message)) => {
            match crate::rdb::checksum_matches(open("checking")?) {
                // The parser's own complaint says where reading went wrong
                // (a file cut short or damaged mid-way); the checksum says
                // that it is damage.
                Ok(Some(false)) => Err(Error::CorruptInput {
                    source: source.to_string(),
                    offset: 0,
                    message: format!(
                        "the file fails its checksum (its CRC-64 trailer does not match its \
                         bytes: it is damaged or cut short), and reading it stopped at: \
                         {message}; nothing was imported"
                    ),
                }),
                Ok(_) => Err(Error::InvalidInput(message)),
                Err(e) => Err(Error::io("read", source, e)),
            }
        }
        other => other.map(|_| ()),
    }
}

/// Writes the strings of database 0 of a file `check_rdb` accepted, with
/// one sync at the end, and counts what it skipped.
pub fn load_rdb(
    store: &Store,
    open: &mut dyn FnMut(&'static str) -> Result<Box<dyn Read>>,
    source: &str,
    now_ms: u64,
) -> Result<RdbImportReport> {
    let mut report = RdbImportReport::default();
    let mut imported = 0;
    // Only a file that changes after its check fails here.
    let changed = "the file changed after it was checked; what was read before this point \
                   was imported and synced";
    let input = open("importing")?;
    store.defer_sync(true);
    let outcome = read_rdb(input, source, changed, &mut |item| {
        match item {
            Item::String {
                key,
                value,
                expiry_ms,
                db: 0,
            } => match *expiry_ms {
                Some(at) if at <= now_ms => report.expired += 1,
                expiry => {
                    store.put_at(key, value, expiry)?;
                    imported += 1;
                }
            },
            Item::String { db, .. } => {
                *report
                    .skipped
                    .entry(format!("string in database {db}"))
                    .or_default() += 1;
            }
            Item::Other { type_byte, .. } => {
                *report
                    .skipped
                    .entry(type_name(*type_byte).to_string())
                    .or_default() += 1;
            }
        }
        Ok(())
    });
    store.defer_sync(false);
    let synced = store.sync();
    let (version, functions, module_aux) = outcome?;
    synced?;
    report.imported = imported;
    report.version = version;
    report.functions_skipped = functions;
    report.module_aux_skipped = module_aux;
    Ok(report)
}

/// Reads every item of the file at `input`, handing each to `each`;
/// returns the version and the counts of skipped functions and module
/// aux fields. `kept` says, in an error, what the store kept.
fn read_rdb(
    input: Box<dyn Read>,
    source: &str,
    kept: &str,
    each: &mut dyn FnMut(&Item) -> Result<()>,
) -> Result<(u32, u64, u64)> {
    let mut reader = RdbReader::new(input);
    loop {
        match reader.next_item() {
            Ok(Some(item)) => each(&item)?,
            Ok(None) => {
                return Ok((
                    reader.version(),
                    reader.functions_skipped(),
                    reader.module_aux_skipped(),
                ));
            }
            Err(RdbError::Io(e)) => return Err(Error::io("read", source, e)),
            Err(RdbError::Corrupt { offset, message }) => {
                return Err(Error::CorruptInput {
                    source: source.to_string(),
                    offset,
                    message: format!("{message}; {kept}"),
                });
            }
            Err(RdbError::Unsupported { offset, message }) => {
                return Err(Error::InvalidInput(format!(
                    "{source}: at offset {offset}: {message}; {kept}"
                )));
            }
        }
    }
}

/// Writes every live string whose key starts with `prefix` as an RDB file
/// that redis-server loads; returns how many.
pub fn export_rdb(store: &Store, prefix: &[u8], out: impl Write) -> Result<u64> {
    let keys = store.keys(prefix, None)?;
    let write_error = |e| Error::io("write", "the output", e);
    let mut writer = RdbWriter::new(out, keys.len() as u64, 0).map_err(write_error)?;
    let mut count = 0;
    for key in keys {
        let Some(value) = store.get(&key)? else {
            continue;
        };
        writer
            .entry(&key, &value.bytes, value.expiry_ms)
            .map_err(write_error)?;
        count += 1;
    }
    writer.finish().map_err(write_error)?;
    Ok(count)
}
