//! `hoard verify [--repair [--dry-run]]`: prints each problem with its file
//! and offset, then (with --repair) what was kept and lost; exit 4 unless
//! the store is clean at the end.

use std::io::Write;

use anyhow::Result;
use hoardhaven::verify::{Problem, RepairReport, VerifyReport};
use hoardhaven::{Access, OpenOptions};
use serde_json::{Value as Json, json};

use super::args::{Global, VerifyArgs};
use super::{Outcome, finish, open_options, output};

/// Runs `verify`.
pub fn run(global: &Global, out: &mut impl Write, args: VerifyArgs) -> Result<Outcome> {
    // Opening reads no record, so a store too damaged to open can still be
    // verified, and repaired.
    let access = if args.repair && !args.dry_run {
        Access::Write
    } else {
        Access::Read
    };
    let options = OpenOptions {
        lock_timeout: global.lock_timeout,
        verify_only: true,
        create_missing: false,
        ..OpenOptions::new(access)
    };
    let mut store = open_options(global, options)?;
    let first = verify_with_progress(global, &mut store)?;
    let mut repair = None;
    let mut last = None;
    let torn = first.problems.iter().any(|p| p.what.starts_with("torn"));
    if args.repair && (!first.is_clean() || torn) {
        let report = store.repair(args.dry_run)?;
        if !args.dry_run {
            last = Some(verify_with_progress(global, &mut store)?);
        }
        repair = Some(report);
    }
    finish(global, store)?;
    let clean = last.as_ref().unwrap_or(&first).is_clean();
    if global.json {
        let mut doc = json!({
            "clean": clean,
            "files": first.files,
            "records": first.records,
            "bytes": first.bytes,
            "hint_entries": first.hint_entries,
            "problems": first.problems.iter().map(problem_json).collect::<Vec<_>>(),
        });
        if let Some(repair) = &repair {
            doc["repair"] = repair_json(repair, args.dry_run);
        }
        if let Some(last) = &last {
            doc["after_repair"] = json!({
                "clean": last.is_clean(),
                "problems": last.problems.iter().map(problem_json).collect::<Vec<_>>(),
            });
        }
        output::write_json(out, &doc)?;
    } else {
        write_report(out, &first)?;
        if let Some(repair) = &repair {
            write_repair(out, repair, args.dry_run)?;
        }
        if let Some(last) = &last {
            if last.is_clean() {
                writeln!(out, "after repair: the store verifies clean")?;
            } else {
                writeln!(out, "after repair: still corrupt:")?;
                write_report(out, last)?;
            }
        } else if !clean {
            writeln!(
                out,
                "run `hoard verify --repair` to salvage every record that passes its checksum"
            )?;
        }
    }
    Ok(if clean {
        Outcome::Success
    } else {
        Outcome::Corrupt
    })
}

fn verify_with_progress(global: &Global, store: &mut hoardhaven::Store) -> Result<VerifyReport> {
    Ok(output::with_progress(
        global.quiet,
        "verifying",
        |progress| store.verify(progress),
    )?)
}

fn file_name(problem: &Problem) -> String {
    problem
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn write_report(out: &mut impl Write, report: &VerifyReport) -> Result<()> {
    for p in &report.problems {
        let label = if p.corruption { "CORRUPT" } else { "note   " };
        writeln!(
            out,
            "{label} {} offset {} ({} bytes): {}",
            file_name(p),
            p.offset,
            p.len,
            p.what
        )?;
    }
    let corrupt = report.problems.iter().filter(|p| p.corruption).count();
    let hint = if report.hint_entries > 0 {
        format!(
            " and {}",
            output::count(report.hint_entries, "hint entry", "hint entries")
        )
    } else {
        String::new()
    };
    let verdict = if corrupt == 0 {
        "clean".to_string()
    } else {
        output::count(corrupt as u64, "problem", "problems")
    };
    writeln!(
        out,
        "verified {} ({}, {}){hint}: {verdict}",
        output::count(report.files, "file", "files"),
        output::count(report.records, "record", "records"),
        output::count(report.bytes, "byte", "bytes")
    )?;
    Ok(())
}

fn write_repair(out: &mut impl Write, repair: &RepairReport, dry_run: bool) -> Result<()> {
    if let Some(dir) = &repair.backup_dir {
        writeln!(out, "originals saved in {}", dir.display())?;
    }
    for f in &repair.files {
        if f.missing {
            let verb = if dry_run { "would drop" } else { "dropped" };
            writeln!(
                out,
                "{}: missing; {verb} it from the file list (its records are lost)",
                f.file
            )?;
            continue;
        }
        let lost: u64 = f.lost.iter().map(|(_, len)| len).sum();
        let verb = if dry_run { "would keep" } else { "kept" };
        let what = match (f.torn_tail_only, dry_run) {
            (true, false) => "cut a torn tail",
            (true, true) => "would cut a torn tail",
            (false, false) => "rewrote",
            (false, true) => "would rewrite",
        };
        writeln!(
            out,
            "{}: {what}; {verb} {} ({}), dropped {} in {}{}",
            f.file,
            output::count(f.kept_records, "record", "records"),
            output::count(f.kept_bytes, "byte", "bytes"),
            output::count(lost, "byte", "bytes"),
            output::count(f.lost.len() as u64, "region", "regions"),
            if f.header_damaged {
                ", wrote a fresh header"
            } else {
                ""
            }
        )?;
        if f.dropped_records > 0 {
            writeln!(
                out,
                "{}: {} whole records lost with the damage (or, for a torn tail, never acknowledged)",
                f.file, f.dropped_records
            )?;
        }
    }
    if repair
        .files
        .iter()
        .any(|f| !f.torn_tail_only && (!f.lost.is_empty() || f.missing))
    {
        let verb = if dry_run { "may come" } else { "may have come" };
        writeln!(
            out,
            "note: a lost record may have been a key's newest value or its deletion: an older \
             value of that key {verb} back{}",
            repair
                .backup_dir
                .as_ref()
                .map(|d| format!(" (the original bytes are in {})", d.display()))
                .unwrap_or_default()
        )?;
    }
    match repair.hint_entries {
        Some(entries) => writeln!(
            out,
            "rebuilt the index ({})",
            output::count(entries, "key", "keys")
        )?,
        None if dry_run => writeln!(out, "dry run: nothing was changed")?,
        None => {}
    }
    Ok(())
}

fn problem_json(p: &Problem) -> Json {
    json!({
        "file": file_name(p),
        "offset": p.offset,
        "length": p.len,
        "what": p.what,
        "corruption": p.corruption,
    })
}

fn repair_json(repair: &RepairReport, dry_run: bool) -> Json {
    json!({
        "dry_run": dry_run,
        "backup_dir": repair.backup_dir.as_ref().map(|d| d.display().to_string()),
        "files": repair.files.iter().map(|f| json!({
            "file": f.file,
            "kept_records": f.kept_records,
            "kept_bytes": f.kept_bytes,
            "lost": f.lost.iter().map(|(o, l)| json!({"offset": o, "length": l})).collect::<Vec<_>>(),
            "header_damaged": f.header_damaged,
            "torn_tail_only": f.torn_tail_only,
            "dropped_records": f.dropped_records,
            "missing": f.missing,
        })).collect::<Vec<_>>(),
        "hint_entries": repair.hint_entries,
    })
}
