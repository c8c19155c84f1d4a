//! What `hoard inspect` reports about a bitcask store: per-file record
//! counts, live and dead bytes, the key count, the hint's state and merge
//! advice. Gathered by replaying every data file into a scratch keydir; the
//! engine's own index is left as it was. Nothing is written.

use std::collections::HashMap;

use super::data_file::FileId;
use super::{Bitcask, HintState};
use crate::error::Result;
use crate::format::file_header::HEADER_LEN;
use crate::format::footer::FOOTER_LEN;
use crate::format::record::{self, RecordKind};

/// Dead bytes above this share of the data make `inspect` advise a merge.
pub const MERGE_ADVICE_DEAD_SHARE: f64 = 0.3;

/// Figures of one data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStats {
    /// The file's id.
    pub id: FileId,
    /// Bytes of the file holding valid records (a torn tail excluded).
    pub bytes: u64,
    /// Records in the file.
    pub records: u64,
    /// Records that are the newest, unexpired value of their key.
    pub live_records: u64,
    /// Tombstones in the file.
    pub tombstones: u64,
    /// Bytes a merge would reclaim from this file.
    pub dead_bytes: u64,
    /// Bytes of the footer (0 for the active file).
    pub footer_bytes: u64,
}

/// Everything `inspect` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectReport {
    /// Data files, oldest first.
    pub files: Vec<FileStats>,
    /// Live keys.
    pub keys: u64,
    /// Keys whose newest record has expired (a merge drops them).
    pub expired_keys: u64,
    /// Bytes of all data files.
    pub total_bytes: u64,
    /// Bytes of live records.
    pub live_bytes: u64,
    /// Bytes a merge would reclaim.
    pub dead_bytes: u64,
    /// How this open used the hint.
    pub hint: HintState,
    /// Whether a merge is worth running.
    pub merge_advised: bool,
}

/// Where a key's newest record lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLocation {
    /// The data file.
    pub file_id: FileId,
    /// Offset of the record.
    pub offset: u64,
    /// Encoded length of the record.
    pub record_bytes: u64,
    /// Length of the value.
    pub value_bytes: u64,
    /// Absolute expiry in Unix ms, if any.
    pub expiry_ms: Option<u64>,
}

impl Bitcask {
    /// Gathers the inspection report as of `now_ms`.
    pub fn inspect(&self, now_ms: u64) -> Result<InspectReport> {
        let hint = self.hint_state();
        // key -> (file, record length, expiry) of its newest record, None for a tombstone.
        let mut newest: HashMap<Vec<u8>, Option<(FileId, u64, u64)>> = HashMap::new();
        let mut files = Vec::new();
        let all = self.files.load_full();
        for (&id, file) in all.iter() {
            let mut stats = FileStats {
                id,
                bytes: 0,
                records: 0,
                live_records: 0,
                tombstones: 0,
                dead_bytes: 0,
                footer_bytes: 0,
            };
            let end = file.scan_all(|_, rec| {
                stats.records += 1;
                let len = record::encoded_len(rec.key.len(), rec.value.len()) as u64;
                match rec.kind {
                    RecordKind::Value => {
                        newest.insert(rec.key.to_vec(), Some((id, len, rec.expiry_ms)));
                    }
                    RecordKind::Tombstone => {
                        stats.tombstones += 1;
                        newest.insert(rec.key.to_vec(), None);
                    }
                }
            })?;
            // A footer is part of the file, preallocated zeros are not.
            let footer = if end.footer.is_some() {
                FOOTER_LEN as u64
            } else {
                0
            };
            stats.bytes = end.valid_len + footer;
            stats.footer_bytes = footer;
            files.push(stats);
        }
        let mut live_by_file: HashMap<FileId, (u64, u64)> = HashMap::new();
        let mut keys = 0;
        let mut expired_keys = 0;
        for (file_id, len, expiry_ms) in newest.values().flatten() {
            if *expiry_ms != 0 && now_ms >= *expiry_ms {
                expired_keys += 1;
                continue;
            }
            keys += 1;
            let live = live_by_file.entry(*file_id).or_default();
            live.0 += 1;
            live.1 += len;
        }
        let mut live_bytes = 0;
        for stats in &mut files {
            let (records, bytes) = live_by_file.get(&stats.id).copied().unwrap_or_default();
            stats.live_records = records;
            stats.dead_bytes = stats
                .bytes
                .saturating_sub(HEADER_LEN as u64 + stats.footer_bytes + bytes);
            live_bytes += bytes;
        }
        let total_bytes: u64 = files.iter().map(|f| f.bytes).sum();
        let dead_bytes: u64 = files.iter().map(|f| f.dead_bytes).sum();
        let merge_advised =
            total_bytes > 0 && dead_bytes as f64 / total_bytes as f64 > MERGE_ADVICE_DEAD_SHARE;
        Ok(InspectReport {
            files,
            keys,
            expired_keys,
            total_bytes,
            live_bytes,
            dead_bytes,
            hint,
            merge_advised,
        })
    }

    /// Where `key`'s newest record is, if the key is live at `now_ms`.
    pub fn locate_key(&self, key: &[u8], now_ms: u64) -> Result<Option<KeyLocation>> {
        // Read it through the normal path, so a damaged record is reported, not described.
        let Some((entry, _)) = self.entry_and_value(None, key)? else {
            return Ok(None);
        };
        if !entry.is_live(now_ms) {
            return Ok(None);
        }
        Ok(Some(KeyLocation {
            file_id: entry.file_id,
            offset: entry.offset,
            record_bytes: record::encoded_len(key.len(), entry.value_len as usize) as u64,
            value_bytes: u64::from(entry.value_len),
            expiry_ms: (entry.expiry_ms != 0).then_some(entry.expiry_ms),
        }))
    }
}
