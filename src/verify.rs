//! What `verify` and repair report, for either engine: each problem with
//! its file and offset, and what a repair kept and dropped. Engines fill
//! these in; they never print.

use std::path::PathBuf;

use crate::log::Survey;

/// One thing `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file it is in.
    pub path: PathBuf,
    /// Byte offset of the damaged record, header, region or hint entry.
    pub offset: u64,
    /// Length of the damaged region in bytes (0 when it is not a region).
    pub len: u64,
    /// What is wrong, for people.
    pub what: String,
    /// True for corruption; false for a note (a torn tail, a stale or missing hint).
    pub corruption: bool,
}

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Data files read.
    pub files: u64,
    /// Valid records found.
    pub records: u64,
    /// Bytes read from data files.
    pub bytes: u64,
    /// Hint entries checked.
    pub hint_entries: u64,
    /// Every problem and note, in file order.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether nothing is corrupt (notes allowed).
    pub fn is_clean(&self) -> bool {
        !self.problems.iter().any(|p| p.corruption)
    }
}

/// What repair did (or, in a dry run, would do) to one data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRepair {
    /// The file's name.
    pub file: String,
    /// Records kept.
    pub kept_records: u64,
    /// Bytes of records kept.
    pub kept_bytes: u64,
    /// Regions dropped: (offset, length).
    pub lost: Vec<(u64, u64)>,
    /// Whether the file header was damaged (a fresh one is written).
    pub header_damaged: bool,
    /// Whether only a torn tail was cut (no backup needed).
    pub torn_tail_only: bool,
}

impl FileRepair {
    /// What repairing the surveyed file `file` keeps and drops; `None` when
    /// the survey found nothing to repair.
    pub fn from_survey(file: String, survey: &Survey) -> Option<FileRepair> {
        if survey.header.is_none() && survey.damage.is_empty() && survey.torn.is_none() {
            return None;
        }
        Some(FileRepair {
            file,
            kept_records: survey.records.len() as u64,
            kept_bytes: survey.records.iter().map(|(_, len)| len).sum(),
            lost: survey
                .damage
                .iter()
                .map(|(o, l, _)| (*o, *l))
                .chain(survey.torn)
                .collect(),
            header_damaged: survey.header.is_some(),
            torn_tail_only: survey.header.is_none() && survey.damage.is_empty(),
        })
    }
}

/// What `repair` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Where originals were saved, if any file was rewritten.
    pub backup_dir: Option<PathBuf>,
    /// Files rewritten or cut.
    pub files: Vec<FileRepair>,
    /// Keys in the rebuilt hint (None in a dry run).
    pub hint_entries: Option<u64>,
}
