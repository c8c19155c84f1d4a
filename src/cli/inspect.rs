//! `hoard inspect`: renders the library's inspection report as tables
//! (comfy-table) or one JSON document.

use std::io::Write;

use anyhow::Result;
use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use hoardhaven::bitcask::{InspectReport, MERGE_ADVICE_DEAD_SHARE};
use hoardhaven::limits::check_key;
use hoardhaven::memory::MemoryReport;
use hoardhaven::{Access, Clock, SystemClock};
use serde_json::{Map, Value as Json, json};

use super::args::{Global, InspectArgs};
use super::{Outcome, bitcask, bytes, finish, open, output};

/// Runs `inspect`.
pub fn run(global: &Global, out: &mut impl Write, args: InspectArgs) -> Result<Outcome> {
    let now_ms = SystemClock.now_ms();
    if let Some(key) = args.key {
        let key = bytes(key);
        check_key(&key)?;
        let store = open(global, Access::Read)?;
        let location = bitcask(&store, "inspect --key")?.locate_key(&key, now_ms)?;
        finish(global, store)?;
        let Some(location) = location else {
            if global.json {
                let mut doc = Map::new();
                output::put_bytes(&mut doc, "key", &key);
                doc.insert("found".into(), json!(false));
                output::write_json(out, &Json::Object(doc))?;
            }
            return Ok(Outcome::ConditionFalse);
        };
        if global.json {
            let mut doc = Map::new();
            output::put_bytes(&mut doc, "key", &key);
            doc.insert("file".into(), json!(location.file_id.file_name()));
            doc.insert("offset".into(), json!(location.offset));
            doc.insert("record_bytes".into(), json!(location.record_bytes));
            doc.insert("value_bytes".into(), json!(location.value_bytes));
            doc.insert("expires_at_ms".into(), json!(location.expiry_ms));
            output::write_json(out, &Json::Object(doc))?;
        } else {
            let mut table = table(&["field", "value"]);
            table.add_row(vec!["file".to_string(), location.file_id.file_name()]);
            table.add_row(vec!["offset".to_string(), location.offset.to_string()]);
            table.add_row(vec![
                "record bytes".to_string(),
                location.record_bytes.to_string(),
            ]);
            table.add_row(vec![
                "value bytes".to_string(),
                location.value_bytes.to_string(),
            ]);
            let expiry = match location.expiry_ms {
                Some(at) => format!("{at} (in {} ms)", at.saturating_sub(now_ms)),
                None => "never".to_string(),
            };
            table.add_row(vec!["expires at (Unix ms)".to_string(), expiry]);
            writeln!(out, "{table}")?;
        }
        return Ok(Outcome::Success);
    }

    let store = open(global, Access::Read)?;
    let manifest = store.manifest().clone();
    let kept = store.kept_aside()?;
    if let Some(memory) = store.memory() {
        let report = memory.inspect(now_ms)?;
        finish(global, store)?;
        if global.json {
            let mut doc = memory_json(global, &manifest, &report);
            doc["kept_aside"] = kept_json(&kept);
            output::write_json(out, &doc)?;
        } else {
            render_memory(out, &report)?;
            render_kept(out, &kept)?;
        }
        return Ok(Outcome::Success);
    }
    let report = bitcask(&store, "inspect")?.inspect(now_ms)?;
    finish(global, store)?;
    if global.json {
        let mut doc = report_json(global, &manifest, &report);
        doc["kept_aside"] = kept_json(&kept);
        output::write_json(out, &doc)?;
    } else {
        render(out, &report)?;
        render_kept(out, &kept)?;
    }
    Ok(Outcome::Success)
}

/// Lists the files hoard kept aside (torn tails it cut, unlisted files).
fn render_kept(out: &mut impl Write, kept: &[hoardhaven::verify::KeptAside]) -> Result<()> {
    for k in kept {
        writeln!(
            out,
            "kept aside: {} ({} bytes): {}; remove it when you no longer need it",
            k.name, k.bytes, k.why
        )?;
    }
    Ok(())
}

fn kept_json(kept: &[hoardhaven::verify::KeptAside]) -> Json {
    json!(
        kept.iter()
            .map(|k| json!({"path": k.name, "bytes": k.bytes, "why": k.why}))
            .collect::<Vec<_>>()
    )
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    table
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn advice(report: &InspectReport) -> String {
    let share = percent(report.dead_bytes, report.total_bytes);
    if report.merge_advised {
        format!(
            "merge advised: {} ({share:.1}%) are dead; run `hoard merge`",
            output::human_bytes(report.dead_bytes)
        )
    } else {
        format!(
            "no merge needed: {share:.1}% dead (advised above {:.0}%)",
            MERGE_ADVICE_DEAD_SHARE * 100.0
        )
    }
}

fn hint_summary(report: &InspectReport) -> String {
    let hint = &report.hint;
    match hint.watermark {
        Some((file, offset)) => format!(
            "{}, {}, watermark {}@{offset}; {} after it ({} in the overlay)",
            output::count(hint.entries, "key", "keys"),
            output::human_bytes(hint.file_len),
            file.file_name(),
            output::human_bytes(hint.tail_bytes),
            output::count(hint.overlay_keys, "key", "keys")
        ),
        None => "missing or not usable (see the warning above); the next write command rewrites it"
            .to_string(),
    }
}

fn render(out: &mut impl Write, report: &InspectReport) -> Result<()> {
    let mut files = table(&[
        "data file",
        "size",
        "records",
        "live",
        "tombstones",
        "dead",
        "dead %",
    ]);
    for f in &report.files {
        files.add_row(vec![
            Cell::new(f.id.file_name()),
            Cell::new(output::human_bytes(f.bytes)).set_alignment(CellAlignment::Right),
            Cell::new(f.records).set_alignment(CellAlignment::Right),
            Cell::new(f.live_records).set_alignment(CellAlignment::Right),
            Cell::new(f.tombstones).set_alignment(CellAlignment::Right),
            Cell::new(output::human_bytes(f.dead_bytes)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.1}", percent(f.dead_bytes, f.bytes)))
                .set_alignment(CellAlignment::Right),
        ]);
    }
    let records: u64 = report.files.iter().map(|f| f.records).sum();
    let live: u64 = report.files.iter().map(|f| f.live_records).sum();
    let tombstones: u64 = report.files.iter().map(|f| f.tombstones).sum();
    files.add_row(vec![
        Cell::new("total"),
        Cell::new(output::human_bytes(report.total_bytes)).set_alignment(CellAlignment::Right),
        Cell::new(records).set_alignment(CellAlignment::Right),
        Cell::new(live).set_alignment(CellAlignment::Right),
        Cell::new(tombstones).set_alignment(CellAlignment::Right),
        Cell::new(output::human_bytes(report.dead_bytes)).set_alignment(CellAlignment::Right),
        Cell::new(format!(
            "{:.1}",
            percent(report.dead_bytes, report.total_bytes)
        ))
        .set_alignment(CellAlignment::Right),
    ]);
    writeln!(out, "{files}")?;
    let mut summary = table(&["store", ""]);
    summary.add_row(vec!["live keys".to_string(), report.keys.to_string()]);
    summary.add_row(vec![
        "expired keys (reclaimable)".to_string(),
        report.expired_keys.to_string(),
    ]);
    summary.add_row(vec![
        "live data".to_string(),
        output::human_bytes(report.live_bytes),
    ]);
    summary.add_row(vec!["hint".to_string(), hint_summary(report)]);
    summary.add_row(vec!["advice".to_string(), advice(report)]);
    writeln!(out, "{summary}")?;
    Ok(())
}

fn report_json(global: &Global, manifest: &hoardhaven::Manifest, report: &InspectReport) -> Json {
    let files: Vec<Json> = report
        .files
        .iter()
        .map(|f| {
            json!({
                "file": f.id.file_name(),
                "bytes": f.bytes,
                "records": f.records,
                "live_records": f.live_records,
                "tombstones": f.tombstones,
                "dead_bytes": f.dead_bytes,
            })
        })
        .collect();
    let hint = &report.hint;
    json!({
        "dir": global.dir.display().to_string(),
        "engine": manifest.engine.to_string(),
        "sync": manifest.sync.to_string(),
        "max_file_size": manifest.max_file_size,
        "files": files,
        "keys": report.keys,
        "expired_keys": report.expired_keys,
        "total_bytes": report.total_bytes,
        "live_bytes": report.live_bytes,
        "dead_bytes": report.dead_bytes,
        "hint": {
            "used": hint.used,
            "watermark_file": hint.watermark.map(|(f, _)| f.file_name()),
            "watermark_offset": hint.watermark.map(|(_, o)| o),
            "entries": hint.entries,
            "bytes": hint.file_len,
            "overlay_keys": hint.overlay_keys,
            "tail_bytes": hint.tail_bytes,
        },
        "merge_advised": report.merge_advised,
        "advice": advice(report),
    })
}

fn memory_advice(report: &MemoryReport) -> &'static str {
    if report.snapshot_advised {
        "snapshot advised: the AOF is larger than the snapshot; run `hoard snapshot`"
    } else {
        "no snapshot needed"
    }
}

fn render_memory(out: &mut impl Write, report: &MemoryReport) -> Result<()> {
    let mut files = table(&["file", "size", "records", "before compression"]);
    for f in &report.files {
        files.add_row(vec![
            Cell::new(&f.name),
            Cell::new(output::human_bytes(f.bytes)).set_alignment(CellAlignment::Right),
            Cell::new(f.records).set_alignment(CellAlignment::Right),
            Cell::new(f.raw_bytes.map_or(String::new(), output::human_bytes))
                .set_alignment(CellAlignment::Right),
        ]);
    }
    writeln!(out, "{files}")?;
    let mut summary = table(&["store", ""]);
    summary.add_row(vec!["live keys".to_string(), report.keys.to_string()]);
    summary.add_row(vec![
        "expired keys (dropped by the next snapshot)".to_string(),
        report.expired_keys.to_string(),
    ]);
    summary.add_row(vec![
        "keys and values in RAM".to_string(),
        output::human_bytes(report.data_bytes),
    ]);
    summary.add_row(vec![
        "table allocated".to_string(),
        output::human_bytes(report.table_bytes),
    ]);
    summary.add_row(vec![
        "advice".to_string(),
        memory_advice(report).to_string(),
    ]);
    writeln!(out, "{summary}")?;
    Ok(())
}

fn memory_json(global: &Global, manifest: &hoardhaven::Manifest, report: &MemoryReport) -> Json {
    let files: Vec<Json> = report
        .files
        .iter()
        .map(|f| json!({ "file": f.name, "bytes": f.bytes, "records": f.records, "raw_bytes": f.raw_bytes }))
        .collect();
    json!({
        "dir": global.dir.display().to_string(),
        "engine": manifest.engine.to_string(),
        "sync": manifest.sync.to_string(),
        "files": files,
        "keys": report.keys,
        "expired_keys": report.expired_keys,
        "data_bytes": report.data_bytes,
        "table_bytes": report.table_bytes,
        "snapshot_advised": report.snapshot_advised,
        "advice": memory_advice(report),
    })
}
