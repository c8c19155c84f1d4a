//! `inspect`, `verify` and repair for memory stores.
//!
//! Verify reads every snapshot chunk and record and surveys every AOF,
//! resynchronising past damage, and reports each problem with its file and
//! offset. Repair first hard-links every damaged file into
//! `backup-<ms>/`, then rebuilds the data from everything that passes its
//! checks (the snapshot's intact chunks, then each AOF's intact records in
//! order) and writes it as a new generation through the normal rewrite.

use std::path::Path;

use super::snapshot::{self, SnapshotInfo};
use super::table::Table;
use super::{Memory, MemoryFiles, apply};
use crate::error::Result;
use crate::fs;
use crate::layout;
use crate::log::Role;
use crate::log_file::{LogFile, LogName};
use crate::verify::{FileRepair, Problem, RepairReport, VerifyReport};

fn role(generation: u64, newest: Option<u64>) -> Role {
    if Some(generation) == newest {
        Role::Newest
    } else {
        Role::Sealed
    }
}

/// Figures of one memory store file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryFileStats {
    /// The file's name.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Entries (snapshot) or records (AOF).
    pub records: u64,
    /// For a snapshot, its size before compression.
    pub raw_bytes: Option<u64>,
}

/// Everything `inspect` shows for a memory store.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryReport {
    /// The snapshot and the AOFs an open reads, oldest first.
    pub files: Vec<MemoryFileStats>,
    /// Live keys.
    pub keys: u64,
    /// Keys whose expiry has passed (dropped by the next snapshot).
    pub expired_keys: u64,
    /// Bytes of keys and values held in RAM.
    pub data_bytes: u64,
    /// Bytes the in-memory table allocates for them.
    pub table_bytes: u64,
    /// Whether a snapshot is worth taking (the AOF outgrew the snapshot).
    pub snapshot_advised: bool,
}

impl Memory {
    /// Gathers the inspection report as of `now_ms`.
    pub fn inspect(&self, now_ms: u64) -> Result<MemoryReport> {
        // No rewrite meanwhile: sealing an AOF cuts its preallocated zeros,
        // which must not happen under the map a survey reads through.
        let _no_rewrite = self.rewriting.lock().unwrap_or_else(|e| e.into_inner());
        let files = MemoryFiles::read(&self.dir)?;
        let mut stats = Vec::new();
        let (_, snapshot_info) = self.snapshot_state();
        let snapshot_bytes = snapshot_info.file_bytes;
        if files.base() > 0 {
            stats.push(MemoryFileStats {
                name: layout::snapshot_file_name(files.base()),
                bytes: snapshot_bytes,
                records: snapshot_info.entries,
                raw_bytes: Some(snapshot_info.raw_bytes),
            });
        }
        let mut aof_bytes = 0;
        let aofs = files.live_aofs();
        let newest = aofs.last().copied();
        for generation in aofs {
            let log = LogFile::open_for_survey(
                &self.dir,
                LogName::Aof(generation),
                role(generation, newest),
            )?;
            let survey = log.survey(role(generation, newest), |_, _| {})?;
            // Records, header and footer: zeros written ahead are not data.
            let bytes = survey
                .records
                .last()
                .map_or(crate::format::file_header::HEADER_LEN as u64, |(o, l)| {
                    o + l
                })
                + survey
                    .footer
                    .map_or(0, |_| crate::format::footer::FOOTER_LEN as u64);
            aof_bytes += bytes;
            stats.push(MemoryFileStats {
                name: layout::aof_file_name(generation),
                bytes,
                records: survey.records.len() as u64,
                raw_bytes: None,
            });
        }
        let (table_bytes, data_bytes) = self.table_bytes();
        let expired_keys = self.count_expired(now_ms);
        Ok(MemoryReport {
            files: stats,
            keys: self.key_count() - expired_keys,
            expired_keys,
            data_bytes,
            table_bytes,
            snapshot_advised: aof_bytes > snapshot_bytes.max(super::AOF_REWRITE_MIN),
        })
    }

    /// Reads every snapshot and AOF, reporting each problem. Reads only.
    pub fn verify(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<VerifyReport> {
        // As in `inspect`: no AOF is sealed (and cut) under the survey's map.
        let _no_rewrite = self.rewriting.lock().unwrap_or_else(|e| e.into_inner());
        let files = MemoryFiles::read_checked(&self.dir, true)?;
        let mut report = VerifyReport::default();
        if let Some(why) = &files.list_problem {
            report.problems.push(Problem {
                path: self.dir.join(layout::FILE_LIST_FILE),
                offset: 0,
                len: 0,
                what: format!(
                    "the file list cannot be used ({why}); `verify --repair` rebuilds the store \
                     from the newest snapshot and the AOFs after it"
                ),
                corruption: true,
            });
        }
        for name in &files.missing {
            report.problems.push(Problem {
                path: self.dir.join(name),
                offset: 0,
                len: 0,
                what: format!(
                    "{name} is listed in FILES but missing: its data is lost unless you restore it \
                     (`verify --repair` rebuilds the store from what is left)"
                ),
                corruption: true,
            });
        }
        for name in &files.unlisted {
            report.problems.push(stale_note(&self.dir.join(name)));
        }
        report
            .problems
            .extend(crate::verify::kept_aside_notes(&self.dir));
        let total = files.snapshots.len() + files.aofs.len();
        let mut done = 0;
        for generation in &files.snapshots {
            let name = layout::snapshot_file_name(*generation);
            if files.missing.contains(&name) {
                continue;
            }
            let path = self.dir.join(name);
            let read = snapshot::read(&path, *generation, true, |_| {})?;
            report.files += 1;
            report.records += read.info.entries;
            report.bytes += read.info.file_bytes;
            for (offset, len, kind) in &read.damage {
                report.problems.push(Problem {
                    path: path.clone(),
                    offset: *offset,
                    len: *len,
                    what: format!("damaged snapshot chunk: {kind}"),
                    corruption: true,
                });
            }
            done += 1;
            progress(done, total as u64);
        }
        let aofs = files.live_aofs();
        let newest = aofs.last().copied();
        for generation in &aofs {
            if files.missing.contains(&layout::aof_file_name(*generation)) {
                continue;
            }
            let log = LogFile::open_for_survey(
                &self.dir,
                LogName::Aof(*generation),
                role(*generation, newest),
            )?;
            let survey = log.survey(role(*generation, newest), |_, _| {})?;
            report.files += 1;
            report.records += survey.records.len() as u64;
            report.bytes += survey.file_len;
            report
                .problems
                .extend(crate::bitcask::survey_problems(log.path(), &survey));
            done += 1;
            progress(done, total as u64);
        }
        Ok(report)
    }

    /// Salvages the store (see the module documentation); with `dry_run`,
    /// only reports what it would do.
    pub fn repair(&self, now_ms: u64, dry_run: bool) -> Result<RepairReport> {
        if !dry_run {
            drop(self.lock_writable()?);
        }
        let files = MemoryFiles::read_checked(&self.dir, true)?;
        let base = files.base();
        let mut table = Table::new();
        let mut plans: Vec<FileRepair> = files
            .missing
            .iter()
            .map(|name| FileRepair::missing(name.clone()))
            .collect();
        let mut torn_only = Vec::new();
        let snapshot_name = layout::snapshot_file_name(base);
        if base > 0 && !files.missing.contains(&snapshot_name) {
            let path = self.dir.join(&snapshot_name);
            let read = snapshot::read(&path, base, true, |rec| {
                table.insert(rec.key, rec.value, rec.expiry_ms)
            })?;
            if !read.damage.is_empty() {
                // Entries lost are exact when the trailer survived; else
                // at least one per damaged region is known to be gone.
                let lost_entries = read
                    .entries_expected
                    .map(|n| n.saturating_sub(read.info.entries));
                plans.push(FileRepair {
                    file: snapshot_name,
                    kept_records: read.info.entries,
                    kept_bytes: read.info.raw_bytes,
                    lost: read.damage.iter().map(|(o, l, _)| (*o, *l)).collect(),
                    header_damaged: read.damage.iter().any(|(offset, _, _)| *offset == 0),
                    torn_tail_only: false,
                    dropped_records: lost_entries.unwrap_or(0),
                    missing: false,
                });
            }
        }
        let aofs = files.live_aofs();
        let newest = aofs.last().copied();
        for generation in aofs {
            let name = layout::aof_file_name(generation);
            if files.missing.contains(&name) {
                continue;
            }
            let log = LogFile::open_for_survey(
                &self.dir,
                LogName::Aof(generation),
                role(generation, newest),
            )?;
            let survey = log.survey(role(generation, newest), |_, rec| apply(&mut table, rec))?;
            let Some(repair) = FileRepair::from_survey(name, &survey) else {
                continue;
            };
            if repair.torn_tail_only {
                torn_only.push((generation, survey.torn.expect("torn")));
            }
            plans.push(repair);
        }
        if files.list_problem.is_some() {
            plans.push(FileRepair::file_list(files.list.entries.len() as u64));
        }
        let mut report = RepairReport {
            files: plans,
            ..RepairReport::default()
        };
        if dry_run || report.files.is_empty() {
            return Ok(report);
        }
        if report.files.iter().all(|f| f.torn_tail_only) {
            for (generation, torn) in torn_only {
                let name = layout::aof_file_name(generation);
                let path = self.dir.join(&name);
                let file = fs::open_read_write(&path)?;
                crate::log::keep_torn(&self.dir, &name, &file, &path, &torn, now_ms)?;
                fs::set_len(&file, &path, torn.offset)?;
                fs::sync_data(&file, &path)?;
            }
            return Ok(report);
        }
        let backup = crate::verify::create_backup_dir(&self.dir, now_ms)?;
        // Every file the rewrite will remove is kept, a torn tail's included.
        for f in report
            .files
            .iter()
            .filter(|f| !f.missing && f.file != layout::FILE_LIST_FILE)
        {
            fs::link_or_copy(&self.dir.join(&f.file), &backup.join(&f.file))?;
        }
        fs::sync_dir(&backup)?;
        fs::sync_dir(&self.dir)?;
        report.backup_dir = Some(backup);
        // Write the salvaged data as a new generation; the rewrite removes
        // the damaged originals (their bytes live on in the backup).
        self.replace_contents(&table);
        let SnapshotInfo { entries, .. } = self.snapshot(now_ms)?;
        report.hint_entries = Some(entries);
        Ok(report)
    }
}

fn stale_note(path: &Path) -> Problem {
    Problem {
        path: path.to_path_buf(),
        offset: 0,
        len: 0,
        what: "not listed in FILES: a leftover of an interrupted snapshot or file creation, \
               ignored (the next write command removes it)"
            .to_string(),
        corruption: false,
    }
}
