//! `verify` reads every byte of a bitcask store and reports each problem
//! with its file and offset; `repair` salvages what passes its checks.
//!
//! Both work from a survey of each data file that resynchronises past a
//! damaged region (it resumes at the next offset where a whole, checked
//! record starts) instead of stopping at it. Repair never edits in place:
//! it first hard-links every file it will replace into `backup-<ms>/` in
//! the store, then writes a clean copy holding every record that passed its
//! CRC under the same file id (so the order of records is kept), renames it
//! over the original, and rebuilds the hint from a full replay.

use std::collections::{HashMap, HashSet};

use super::Bitcask;
use super::data_file::FileId;
use super::data_file::FileSet;
use super::hint::{Hint, HintProblem};
use super::index::{Index, Miss};
use super::writer::Writer;
use crate::error::{Result, display_key};
use crate::file_list;
use crate::format::file_header::{FileHeader, HEADER_LEN};
use crate::format::file_list::ListedKind;
use crate::format::footer::{FOOTER_LEN, Footer};
use crate::format::hint::{BLOCK_SLOTS, fingerprint};
use crate::format::record::{self, Place, RecordKind};
use crate::fs;
use crate::layout::{self, DATA_MAGIC};
use crate::log::{Role, Survey};
pub use crate::verify::{FileRepair, Problem, RepairReport, VerifyReport};

/// For the hint check: the newest record of each key before the watermark
/// (`None` for a tombstone).
/// (`None` for a tombstone; else its place and expiry).
type NewestBeforeWatermark = HashMap<Vec<u8>, Option<(FileId, u64, u64)>>;

impl Bitcask {
    /// Surveys every data file and checks every hint entry. Reads only.
    pub fn verify(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let files = self.files.load_full();
        let w = self.lock_writer();
        let total: u64 = files.values().map(|f| f.len()).sum();
        let hint = Hint::load(&self.dir, &files);
        let watermark = hint.as_ref().ok().map(Hint::watermark);
        let mut newest = NewestBeforeWatermark::new();
        let last = files.keys().next_back().copied();
        report.problems.extend(self.file_set_problems(&w));
        for (id, file) in files.iter() {
            let role = role_of(&w, *id, last);
            let survey = file.survey(role, |offset, rec| {
                let before =
                    watermark.is_some_and(|(wid, woff)| *id < wid || (*id == wid && offset < woff));
                if before {
                    let at =
                        (rec.kind == RecordKind::Value).then_some((*id, offset, rec.expiry_ms));
                    newest.insert(rec.key.to_vec(), at);
                }
            })?;
            report.files += 1;
            report.records += survey.records.len() as u64;
            report.bytes += survey.file_len;
            report
                .problems
                .extend(survey_problems(file.path(), &survey));
            progress(report.bytes, total.max(report.bytes));
        }
        match hint {
            Ok(hint) => verify_hint(&files, &hint, &newest, self.clock.now_ms(), &mut report)?,
            Err(HintProblem::Missing) if files.is_empty() => {}
            Err(HintProblem::Missing) => report.problems.push(Problem {
                path: self.dir.join(super::HINT_FILE),
                offset: 0,
                len: 0,
                what: "there is no hint (the next write command writes one)".to_string(),
                corruption: false,
            }),
            Err(HintProblem::Stale(why)) => report.problems.push(Problem {
                path: self.dir.join(super::HINT_FILE),
                offset: 0,
                len: 0,
                what: format!("the hint is stale: {why} (the next write command rewrites it)"),
                corruption: false,
            }),
            Err(HintProblem::Damaged(why)) => report.problems.push(Problem {
                path: self.dir.join(super::HINT_FILE),
                offset: 0,
                len: 0,
                what: format!("the hint is not usable: {why}"),
                corruption: true,
            }),
        }
        Ok(report)
    }

    /// Listed files that are missing (corruption), unlisted leftovers and
    /// kept torn tails (notes).
    fn file_set_problems(&self, w: &Writer) -> Vec<Problem> {
        let list_problem = w.list_problem.iter().map(|why| Problem {
            path: self.dir.join(layout::FILE_LIST_FILE),
            offset: 0,
            len: 0,
            what: format!(
                "the file list cannot be used ({why}); `verify --repair` rebuilds it from the \
                 data files present"
            ),
            corruption: true,
        });
        let mut problems: Vec<Problem> = list_problem.collect();
        problems.extend(w.missing.iter().map(|id| Problem {
            path: self.dir.join(id.file_name()),
            offset: 0,
            len: 0,
            what: format!(
                "{} is listed in FILES but missing: its keys are lost unless you restore it \
                     (`verify --repair` drops it from the list)",
                id.file_name()
            ),
            corruption: true,
        }));
        for name in &w.unlisted {
            problems.push(Problem {
                path: self.dir.join(name),
                offset: 0,
                len: 0,
                what: "not listed in FILES: a leftover of an interrupted rotation or merge \
                       (the next write command removes it)"
                    .to_string(),
                corruption: false,
            });
        }
        problems.extend(crate::verify::kept_aside_notes(&self.dir));
        problems
    }
}

/// How file `id` is read: by the sealed-file rules unless it is the
/// newest (`last`) and the file list does not say it is sealed.
fn role_of(w: &Writer, id: FileId, last: Option<FileId>) -> Role {
    if Some(id) == last && !w.list.is_sealed(ListedKind::Data, id.0) {
        Role::Newest
    } else {
        Role::Sealed
    }
}

/// Checks every slot: its block CRC, that it points at a valid record of
/// a key with its fingerprint, and that the record is that key's newest
/// before the watermark; and that no such key is missing.
fn verify_hint(
    files: &FileSet,
    hint: &Hint,
    newest: &NewestBeforeWatermark,
    now_ms: u64,
    report: &mut VerifyReport,
) -> Result<()> {
    let lookup = Index::full();
    let view = hint.view();
    let path = hint.path().to_path_buf();
    let problem = |offset: u64, what: String| Problem {
        path: path.clone(),
        offset,
        len: view.slot_len(),
        what,
        corruption: true,
    };
    let mut found = Vec::new();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    // Keys of a damaged block's slots would read as missing too.
    let mut damaged_block = false;
    for block in 0..view.block_count() {
        if let Err(offset) = view.check_block(block) {
            damaged_block = true;
            let len = BLOCK_SLOTS as u64 * view.slot_len();
            // A packed block's CRC also covers its slots' high halves,
            // which lie apart: the damage may be there.
            let what = match view.block_highs_offset(block) {
                Some(highs) => format!(
                    "hint block {block} fails its checksum (its slots' high halves are at offset {highs})"
                ),
                None => format!("hint block {block} fails its checksum"),
            };
            found.push(Problem {
                len,
                ..problem(offset, what)
            });
            continue;
        }
        for index in view.block_slots(block) {
            let Some(slot) = view.slot(index) else {
                continue;
            };
            report.hint_entries += 1;
            let offset = view.slot_offset(index);
            let (key, entry) = match lookup.record_at_slot(files, hint, &slot) {
                Ok(Some(found)) => found,
                Ok(None) | Err(Miss::Moved) => continue,
                Err(Miss::Failed(e)) => return Err(e),
                Err(Miss::Damaged(why)) => {
                    found.push(problem(offset, format!("hint entry {index}: {}", why.0)));
                    continue;
                }
            };
            // A key with a wrong entry is reported once, not also as missing.
            let repeated = !seen.insert(key.clone());
            if fingerprint(&key) != slot.fingerprint {
                found.push(problem(
                    offset,
                    format!(
                        "hint entry {index} has the wrong fingerprint for key {}",
                        display_key(&key)
                    ),
                ));
            } else if newest.get(&key).copied().flatten().map(|(f, o, _)| (f, o))
                != Some((entry.file_id, entry.offset))
            {
                found.push(problem(
                        offset,
                        format!(
                            "hint entry {index} points at a record of key {} that is not its newest before the watermark",
                            display_key(&key)
                        ),
                    ));
            } else if repeated {
                found.push(problem(
                    offset,
                    format!("hint entry {index} repeats key {}", display_key(&key)),
                ));
            }
        }
    }
    // A key whose newest value had expired may be left out: a hint
    // rebuilt in the background drops expired keys.
    let missing = newest
        .iter()
        .filter(|(k, at)| {
            at.is_some_and(|(_, _, expiry)| expiry == 0 || now_ms < expiry) && !seen.contains(*k)
        })
        .count();
    if missing > 0 && !damaged_block {
        found.push(Problem {
            len: 0,
            ..problem(0, format!("the hint is missing {missing} keys"))
        });
    }
    report.problems.extend(found);
    Ok(())
}

impl Bitcask {
    /// Salvages the store: keeps every record that passes its CRC, backs up
    /// every file it replaces, cuts a torn tail, and rebuilds the hint.
    /// With `dry_run`, only reports what it would do.
    pub fn repair(&self, now_ms: u64, dry_run: bool) -> Result<RepairReport> {
        let _one = self.maintenance.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = if dry_run {
            self.lock_writer()
        } else {
            self.lock_writable()?
        };
        let mut report = RepairReport::default();
        let files = self.files.load_full();
        let last = files.keys().next_back().copied();
        let ids: Vec<FileId> = files.keys().copied().collect();
        let mut plans = Vec::new();
        for id in ids {
            let file = &files[&id];
            let role = role_of(&w, id, last);
            let survey = file.survey(role, |_, _| {})?;
            if let Some(repair) = FileRepair::from_survey(id.file_name(), &survey) {
                plans.push((repair, survey));
            }
        }
        if dry_run {
            report.files = plans.into_iter().map(|(r, _)| r).collect();
            report.files.extend(
                w.missing
                    .iter()
                    .map(|id| FileRepair::missing(id.file_name())),
            );
            if w.list_problem.is_some() {
                report
                    .files
                    .push(FileRepair::file_list(w.list.entries.len() as u64));
            }
            return Ok(report);
        }
        self.log
            .poison_on_error(|| self.apply_repairs(&mut w, now_ms, plans, &mut report))?;
        Ok(report)
    }

    fn apply_repairs(
        &self,
        w: &mut Writer,
        now_ms: u64,
        plans: Vec<(FileRepair, Survey)>,
        report: &mut RepairReport,
    ) -> Result<()> {
        // The hint goes first: a hint describing files about to change
        // would point at wrong offsets if a crash stopped repair halfway.
        Hint::remove(&self.dir)?;
        w.hint_dirty = true;
        let rewrites: Vec<&(FileRepair, Survey)> =
            plans.iter().filter(|(r, _)| !r.torn_tail_only).collect();
        if !rewrites.is_empty() {
            let backup = crate::verify::create_backup_dir(&self.dir, now_ms)?;
            for (repair, _) in &rewrites {
                fs::link_or_copy(&self.dir.join(&repair.file), &backup.join(&repair.file))?;
            }
            fs::sync_dir(&backup)?;
            fs::sync_dir(&self.dir)?;
            report.backup_dir = Some(backup);
        }
        let mut files: FileSet = (*self.files.load_full()).clone();
        let last = files.keys().next_back().copied();
        for (repair, survey) in &plans {
            let id = FileId::parse(&repair.file).expect("a data file name");
            let path = self.dir.join(id.file_name());
            let role = role_of(w, id, last);
            if repair.torn_tail_only {
                let torn = survey.torn.expect("a torn tail");
                let source = &files[&id];
                crate::log::keep_torn(
                    &self.dir,
                    &repair.file,
                    source.file(),
                    &path,
                    &torn,
                    now_ms,
                )?;
                let file = fs::open_read_write(&path)?;
                fs::set_len(&file, &path, torn.offset)?;
                fs::sync_data(&file, &path)?;
            } else {
                self.rewrite_file(&files, id, role, survey)?;
                crate::failpoint::hit("repair-after-rewrite");
            }
            let writable = self.options.writable && Some(id) == last;
            let file = super::open::open_data_file(&self.dir, id, writable, role, &self.options)?;
            let file = std::sync::Arc::new(file);
            if writable {
                self.log.set_active(file.clone());
            }
            files.insert(id, file);
            report.files.push(repair.clone());
        }
        self.files.store(std::sync::Arc::new(files));
        if w.list_problem.is_some() {
            report
                .files
                .push(FileRepair::file_list(w.list.entries.len() as u64));
            w.list_problem = None;
            file_list::write(&self.dir, &mut w.list)?;
        }
        if !w.missing.is_empty() {
            for id in std::mem::take(&mut w.missing) {
                report.files.push(FileRepair::missing(id.file_name()));
            }
            let present: Vec<FileId> = self.files.load().keys().copied().collect();
            let keep =
                |k: &ListedKind, id: &u64| *k != ListedKind::Data || present.contains(&FileId(*id));
            w.list.entries.retain(|(k, id)| keep(k, id));
            w.list.sealed.retain(|(k, id)| keep(k, id));
            file_list::write(&self.dir, &mut w.list)?;
        }
        self.replay_all(w)?;
        report.hint_entries = Some(self.write_hint_locked(w)?.entries);
        Ok(())
    }

    /// Writes a clean copy of file `id` holding every record the survey
    /// kept, each rebound to its new place under a new identity (sealed
    /// by a footer unless it is the newest file), and renames it over the
    /// original: one atomic step per file.
    fn rewrite_file(&self, files: &FileSet, id: FileId, role: Role, survey: &Survey) -> Result<()> {
        let path = self.dir.join(id.file_name());
        let temp = fs::temp_path_for(&path);
        fs::remove_file_if_exists(&temp)?;
        let out = fs::create_new_private(&temp)?;
        let uid = layout::new_uid();
        fs::write_all_at(
            &out,
            &temp,
            &FileHeader::new(DATA_MAGIC, id.0, uid).encode(),
            0,
        )?;
        let mut at = HEADER_LEN as u64;
        // The copy is synced whole before it is renamed into place: every
        // record in it may claim the whole copy as durable.
        let records_end = at + survey.records.iter().map(|(_, len)| len).sum::<u64>();
        let source = &files[&id];
        for (offset, len) in &survey.records {
            let mut bytes = source.read_raw(*offset, *len as usize)?;
            record::rebind(&mut bytes, Place::new(uid, at), records_end);
            fs::write_all_at(&out, &temp, &bytes, at)?;
            at += len;
        }
        if role == Role::Sealed {
            let footer = Footer {
                records_end: at,
                record_count: survey.records.len() as u64,
            };
            fs::write_all_at(&out, &temp, &footer.encode(uid), at)?;
            debug_assert_eq!(FOOTER_LEN, 32);
        }
        fs::sync_data(&out, &temp)?;
        drop(out);
        fs::rename(&temp, &path)?;
        fs::sync_dir(&self.dir)
    }
}

pub(crate) fn survey_problems(path: &std::path::Path, survey: &Survey) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(kind) = survey.header {
        problems.push(Problem {
            path: path.to_path_buf(),
            offset: 0,
            len: HEADER_LEN as u64,
            what: format!("file header: {kind}"),
            corruption: true,
        });
    }
    for (offset, len, kind) in &survey.damage {
        problems.push(Problem {
            path: path.to_path_buf(),
            offset: *offset,
            len: *len,
            what: format!("damaged record: {kind}"),
            corruption: true,
        });
    }
    if let Some(torn) = survey.torn {
        let records = match torn.records {
            0 => String::new(),
            1 => ", with 1 unacknowledged record after it".to_string(),
            n => format!(", with {n} unacknowledged records after it"),
        };
        problems.push(Problem {
            path: path.to_path_buf(),
            offset: torn.offset,
            len: torn.len,
            what: format!(
                "torn tail: an interrupted write that was never acknowledged{records} \
                 (the next write command keeps a copy under torn/ and drops it)"
            ),
            corruption: false,
        });
    }
    problems
}
