//! A log of records — a bitcask data file or the memory engine's AOF —
//! read two ways. `scan_records` replays it for an open, telling a torn
//! tail (the trace of an interrupted, unacknowledged append) from
//! corruption, and stops at the first problem. `survey_records` reads it
//! for `verify` and repair, resynchronising past each damaged region to the
//! next offset where a whole, checked record starts.

use std::path::Path;

use crate::error::{CorruptKind, Error, Result};
use crate::format::record::{self, Decoded, Record};

/// How a scan of a file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanEnd {
    /// End of the last valid record.
    pub valid_len: u64,
    /// A torn tail found after it: (offset, length).
    pub torn: Option<(u64, u64)>,
}

/// Replays the records in `bytes`, which start at file offset `base`.
///
/// A record that fails its checks is a torn tail only when `allow_torn_tail`
/// is set (the newest file) and no valid record starts anywhere after it:
/// an interrupted append can only damage the end of the newest file, while
/// a valid record after the damage proves the damage is not at the end.
pub fn scan_records(
    bytes: &[u8],
    base: u64,
    path: &Path,
    allow_torn_tail: bool,
    mut apply: impl FnMut(u64, &Record<'_>),
) -> Result<ScanEnd> {
    let mut at = 0;
    while at < bytes.len() {
        let kind = match record::decode(&bytes[at..]) {
            Decoded::Record(rec, len) => {
                apply(base + at as u64, &rec);
                at += len;
                continue;
            }
            Decoded::Incomplete => CorruptKind::Truncated,
            Decoded::Corrupt(kind) => kind,
        };
        if is_preallocated(&bytes[at..]) {
            break;
        }
        if allow_torn_tail && !valid_record_after(bytes, at + 1) {
            return Ok(ScanEnd {
                valid_len: base + at as u64,
                torn: Some((base + at as u64, (bytes.len() - at) as u64)),
            });
        }
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            offset: base + at as u64,
            kind,
        });
    }
    Ok(ScanEnd {
        valid_len: base + at as u64,
        torn: None,
    })
}

/// The notice for a torn tail found at `offset` (`len` bytes) of file
/// `name`: dropped by a writer, or ignored by a reader.
pub fn torn_tail_notice(name: &str, offset: u64, len: u64, dropped: bool) -> String {
    if dropped {
        format!(
            "dropped a torn record at the end of {name} (offset {offset}, {len} bytes): \
             the trace of an interrupted write that was never acknowledged"
        )
    } else {
        format!(
            "ignoring a torn record at the end of {name} (offset {offset}, {len} bytes); \
             the next write command will drop it"
        )
    }
}

/// Whether the rest of a file is zeros: space written ahead of the records
/// (preallocation), which ends the log cleanly rather than as a torn tail.
/// A zero record header can never be a record (its key length is 0).
pub fn is_preallocated(rest: &[u8]) -> bool {
    rest.iter().all(|b| *b == 0)
}

/// Whether a whole, checked record starts at any offset from `from` on.
fn valid_record_after(bytes: &[u8], from: usize) -> bool {
    next_valid_record(bytes, from).is_some()
}

/// The first offset from `from` on where a whole, checked record starts.
fn next_valid_record(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find(|at| matches!(record::decode(&bytes[*at..]), Decoded::Record(..)))
}

/// A damaged region found by a survey: offset, length, and the first check it failed.
pub type Damage = (u64, u64, CorruptKind);

/// Everything a survey of one file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// The header's failed check, if it failed one.
    pub header: Option<CorruptKind>,
    /// Damaged regions between records, resynchronised past.
    pub damage: Vec<Damage>,
    /// A torn tail at the end of the newest file: (offset, length).
    pub torn: Option<(u64, u64)>,
    /// Valid records: (offset, length).
    pub records: Vec<(u64, u64)>,
    /// The file's length on disk.
    pub file_len: u64,
}

/// Reads every record in `bytes` (which start at file offset `base`),
/// resynchronising past damage. With `newest`, a damaged region that no
/// valid record follows is a torn tail rather than damage.
pub fn survey_records(
    bytes: &[u8],
    base: u64,
    newest: bool,
    apply: &mut impl FnMut(u64, &Record<'_>),
) -> Survey {
    let mut survey = Survey {
        header: None,
        damage: Vec::new(),
        torn: None,
        records: Vec::new(),
        file_len: base + bytes.len() as u64,
    };
    let mut at = 0;
    while at < bytes.len() {
        let kind = match record::decode(&bytes[at..]) {
            Decoded::Record(rec, len) => {
                apply(base + at as u64, &rec);
                survey.records.push((base + at as u64, len as u64));
                at += len;
                continue;
            }
            Decoded::Incomplete => CorruptKind::Truncated,
            Decoded::Corrupt(kind) => kind,
        };
        if is_preallocated(&bytes[at..]) {
            break;
        }
        match next_valid_record(bytes, at + 1) {
            Some(next) => {
                survey
                    .damage
                    .push((base + at as u64, (next - at) as u64, kind));
                at = next;
            }
            None if newest => {
                survey.torn = Some((base + at as u64, (bytes.len() - at) as u64));
                break;
            }
            None => {
                survey
                    .damage
                    .push((base + at as u64, (bytes.len() - at) as u64, kind));
                break;
            }
        }
    }
    survey
}
