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
use super::{Memory, MemoryFiles, aof, apply};
use crate::error::Result;
use crate::fs;
use crate::verify::{FileRepair, Problem, RepairReport, VerifyReport};

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
    pub fn inspect(&mut self, now_ms: u64) -> Result<MemoryReport> {
        let files = MemoryFiles::list(&self.dir)?;
        let mut stats = Vec::new();
        let snapshot_bytes = self.snapshot_info.file_bytes;
        if files.base() > 0 {
            stats.push(MemoryFileStats {
                name: snapshot::file_name(files.base()),
                bytes: snapshot_bytes,
                records: self.snapshot_info.entries,
                raw_bytes: Some(self.snapshot_info.raw_bytes),
            });
        }
        let mut aof_bytes = 0;
        let aofs = files.live_aofs();
        let newest = aofs.last().copied();
        for generation in aofs {
            let log = aof::Aof::open(&self.dir, generation, false)?;
            let survey = log.survey(Some(generation) == newest, |_, _| {})?;
            aof_bytes += survey.file_len;
            stats.push(MemoryFileStats {
                name: aof::file_name(generation),
                bytes: survey.file_len,
                records: survey.records.len() as u64,
                raw_bytes: None,
            });
        }
        let (table_bytes, data_bytes) = self.table_bytes();
        let expired_keys = self
            .table
            .iter()
            .filter(|(_, _, e)| *e != 0 && now_ms >= *e)
            .count() as u64;
        Ok(MemoryReport {
            files: stats,
            keys: self.table.len() as u64 - expired_keys,
            expired_keys,
            data_bytes,
            table_bytes,
            snapshot_advised: aof_bytes > snapshot_bytes.max(super::AOF_REWRITE_MIN),
        })
    }

    /// Reads every snapshot and AOF, reporting each problem. Reads only.
    pub fn verify(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<VerifyReport> {
        let files = MemoryFiles::list(&self.dir)?;
        let mut report = VerifyReport::default();
        let base = files.base();
        let total = files.snapshots.len() + files.aofs.len();
        let mut done = 0;
        for generation in &files.snapshots {
            let path = self.dir.join(snapshot::file_name(*generation));
            if *generation < base {
                report.problems.push(stale_note(&path));
                continue;
            }
            let (info, damage) = snapshot::read(&path, *generation, true, |_| {})?;
            report.files += 1;
            report.records += info.entries;
            report.bytes += info.file_bytes;
            for (offset, kind) in damage {
                report.problems.push(Problem {
                    path: path.clone(),
                    offset,
                    len: 0,
                    what: format!("damaged snapshot chunk: {kind}"),
                    corruption: true,
                });
            }
            done += 1;
            progress(done, total as u64);
        }
        let aofs = files.live_aofs();
        let newest = aofs.last().copied();
        for generation in &files.aofs {
            let log = aof::Aof::open(&self.dir, *generation, false)?;
            if *generation < base {
                report.problems.push(stale_note(log.path()));
                continue;
            }
            let survey = log.survey(Some(*generation) == newest, |_, _| {})?;
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
    pub fn repair(&mut self, now_ms: u64, dry_run: bool) -> Result<RepairReport> {
        if !dry_run {
            self.check_writable()?;
        }
        let files = MemoryFiles::list(&self.dir)?;
        let base = files.base();
        let mut table = Table::new();
        let mut plans: Vec<FileRepair> = Vec::new();
        let mut torn_only = Vec::new();
        if base > 0 {
            let name = snapshot::file_name(base);
            let path = self.dir.join(&name);
            let (info, damage) = snapshot::read(&path, base, true, |rec| {
                table.insert(rec.key, rec.value, rec.expiry_ms)
            })?;
            if !damage.is_empty() {
                plans.push(FileRepair {
                    file: name,
                    kept_records: info.entries,
                    kept_bytes: info.raw_bytes,
                    lost: damage.iter().map(|(offset, _)| (*offset, 0)).collect(),
                    header_damaged: damage.iter().any(|(offset, _)| *offset == 0),
                    torn_tail_only: false,
                });
            }
        }
        let aofs = files.live_aofs();
        let newest = aofs.last().copied();
        for generation in aofs {
            let log = aof::Aof::open(&self.dir, generation, false)?;
            let survey = log.survey(Some(generation) == newest, |_, rec| apply(&mut table, rec))?;
            let Some(repair) = FileRepair::from_survey(aof::file_name(generation), &survey) else {
                continue;
            };
            if repair.torn_tail_only {
                torn_only.push((generation, survey.torn.expect("torn").0));
            }
            plans.push(repair);
        }
        let mut report = RepairReport {
            files: plans,
            ..RepairReport::default()
        };
        if dry_run || report.files.is_empty() {
            return Ok(report);
        }
        if report.files.iter().all(|f| f.torn_tail_only) {
            for (generation, offset) in torn_only {
                let path = self.dir.join(aof::file_name(generation));
                let file = fs::open_read_write(&path)?;
                fs::set_len(&file, &path, offset)?;
                fs::sync_data(&file, &path)?;
            }
            return Ok(report);
        }
        let backup = self.dir.join(format!("backup-{now_ms}"));
        fs::create_dir_private(&backup)?;
        for f in report.files.iter().filter(|f| !f.torn_tail_only) {
            fs::link_or_copy(&self.dir.join(&f.file), &backup.join(&f.file))?;
        }
        fs::sync_dir(&backup)?;
        fs::sync_dir(&self.dir)?;
        report.backup_dir = Some(backup);
        // Write the salvaged data as a new generation; the rewrite removes
        // the damaged originals (their bytes live on in the backup).
        self.table = table;
        self.aof = None;
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
        what: "older than the newest snapshot: a leftover of an interrupted snapshot, ignored \
               (the next write command removes it)"
            .to_string(),
        corruption: false,
    }
}
