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
    /// Whether only a torn tail was cut (its bytes are kept under `torn/`).
    pub torn_tail_only: bool,
    /// Valid but never acknowledged records dropped with a torn tail.
    pub dropped_records: u64,
    /// Whether the file was missing (it is dropped from the file list).
    pub missing: bool,
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
                .chain(survey.torn.map(|t| (t.offset, t.len)))
                .collect(),
            header_damaged: survey.header.is_some(),
            torn_tail_only: survey.header.is_none() && survey.damage.is_empty(),
            dropped_records: survey.torn.map_or(0, |t| t.records),
            missing: false,
        })
    }

    /// The repair of a damaged or missing file list, rebuilt naming `entries` files.
    pub fn file_list(entries: u64) -> FileRepair {
        FileRepair {
            file: crate::layout::FILE_LIST_FILE.to_string(),
            kept_records: entries,
            kept_bytes: 0,
            lost: Vec::new(),
            header_damaged: true,
            torn_tail_only: false,
            dropped_records: 0,
            missing: false,
        }
    }

    /// The repair of a listed file that does not exist: it is dropped from the list.
    pub fn missing(file: String) -> FileRepair {
        FileRepair {
            file,
            kept_records: 0,
            kept_bytes: 0,
            lost: Vec::new(),
            header_damaged: false,
            torn_tail_only: false,
            dropped_records: 0,
            missing: true,
        }
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

/// Creates a new, empty backup directory in store `dir` for a repair at
/// `now_ms`: `backup-<ms>`, or `backup-<ms>-N` when an interrupted repair
/// left one of that name (its contents are kept, never reused).
pub fn create_backup_dir(dir: &std::path::Path, now_ms: u64) -> crate::Result<std::path::PathBuf> {
    let base = crate::layout::backup_dir_name(now_ms);
    let mut path = dir.join(&base);
    let mut n = 1;
    while crate::fs::exists(&path) {
        n += 1;
        path = dir.join(format!("{base}-{n}"));
    }
    crate::fs::create_dir_private(&path)?;
    Ok(path)
}

/// Notes (not corruption) for the files hoard kept aside in `dir`, as
/// `verify` lists them.
pub fn kept_aside_notes(dir: &std::path::Path) -> Vec<Problem> {
    kept_aside(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|k| Problem {
            path: dir.join(&k.name),
            offset: 0,
            len: 0,
            what: k.note.to_string(),
            corruption: false,
        })
        .collect()
}

/// A file hoard set aside rather than delete: the bytes of a torn tail it
/// cut, or a file the file list does not name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAside {
    /// Path relative to the store directory (`torn/...` or `unlisted/...`).
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Why it is there.
    pub why: &'static str,
    /// What `verify` says of it.
    note: &'static str,
}

/// The files kept under `DIR/torn/` and `DIR/unlisted/`, for `inspect`.
pub fn kept_aside(dir: &std::path::Path) -> crate::Result<Vec<KeptAside>> {
    let mut kept = Vec::new();
    for (sub, why, note) in [
        (
            crate::layout::TORN_DIR,
            "the bytes of a torn tail hoard cut",
            "the bytes of a torn tail cut by hoard, kept for you to inspect; remove the file \
             when you no longer need it",
        ),
        (
            crate::layout::UNLISTED_DIR,
            "a file FILES does not list, moved aside",
            "not part of the store: moved aside because FILES does not list it (a leftover \
             of an interrupted merge, or put there by hand); remove it when sure",
        ),
    ] {
        let aside = dir.join(sub);
        if !crate::fs::exists(&aside) {
            continue;
        }
        let mut names: Vec<_> = crate::fs::list_dir(&aside)?.into_iter().collect();
        names.sort();
        for name in names {
            let path = aside.join(&name);
            let file = crate::fs::open_read(&path)?;
            kept.push(KeptAside {
                name: format!("{sub}/{}", name.to_string_lossy()),
                bytes: crate::fs::file_len(&file, &path)?,
                why,
                note,
            });
        }
    }
    Ok(kept)
}
