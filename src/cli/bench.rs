//! `hoard bench`: runs the library's workloads for the chosen engines and
//! renders one table (or one JSON document) of their figures.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use hoardhaven::bench::{self, BenchConfig, BenchReport, Workload};
use hoardhaven::{EngineKind, Error};
use serde_json::{Value as Json, json};

use super::args::{BenchArgs, BenchEngine, Global};
use super::{Outcome, output};

/// Runs `bench`.
pub fn run(global: &Global, out: &mut impl Write, args: BenchArgs) -> Result<Outcome> {
    let (dir, temporary) = if global.dir_given {
        let dir = global.dir.clone();
        let empty = std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(true);
        if !empty {
            return Err(Error::InvalidInput(format!(
                "{} is not empty; `hoard bench --dir` needs a new or empty directory (it never touches existing stores)",
                dir.display()
            ))
            .into());
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        (dir, false)
    } else {
        let dir = std::env::temp_dir().join(format!("hoard-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        (dir, true)
    };
    let engines = match args.engine {
        BenchEngine::Bitcask => vec![EngineKind::Bitcask],
        BenchEngine::Memory => vec![EngineKind::Memory],
        BenchEngine::Both => vec![EngineKind::Bitcask, EngineKind::Memory],
    };
    let workloads: Vec<Workload> = args
        .workload
        .iter()
        .filter_map(|w| Workload::parse(w))
        .collect();
    let hoard = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hoard"));
    let mut reports = Vec::new();
    for engine in engines {
        let config = BenchConfig {
            engine,
            keys: args.keys,
            key_size: args.key_size as usize,
            value_size: args.value_size as usize,
            workloads: workloads.clone(),
            dir: dir.clone(),
            hoard: hoard.clone(),
            threads: args.threads.iter().map(|t| *t as usize).collect(),
            batch: args.batch as usize,
        };
        let bar = output::progress_bar(global.quiet, "bench");
        let report = bench::run(&config, &mut |label, done, total| {
            if let Some(bar) = &bar {
                bar.set_prefix(format!("{engine} {label}"));
                bar.set_length(total);
                bar.set_position(done);
            }
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        match report {
            Ok(report) => reports.push(report),
            Err(e) => {
                if temporary {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                return Err(e.into());
            }
        }
    }
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if global.json {
        output::write_json(out, &report_json(&args, &reports))?;
    } else {
        render(out, &args, &reports)?;
    }
    Ok(Outcome::Success)
}

fn micros(ns: u64) -> String {
    if ns >= 10_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} µs", ns as f64 / 1e3)
    }
}

fn render(out: &mut impl Write, args: &BenchArgs, reports: &[BenchReport]) -> Result<()> {
    writeln!(
        out,
        "{} keys of {} bytes, values of {} bytes",
        args.keys, args.key_size, args.value_size
    )?;
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "engine", "workload", "threads", "ops", "ops/s", "MB/s", "p50", "p99", "p99.9", "max",
        "notes",
    ]);
    for report in reports {
        for r in &report.results {
            let mut notes = Vec::new();
            if let Some(syncs) = r.syncs {
                notes.push(format!("fdatasyncs: {syncs}"));
            }
            if let Some(per_sync) = r.ops_per_sync() {
                notes.push(format!("ops/sync: {per_sync:.1}"));
            }
            notes.extend(r.notes.iter().map(|(k, v)| format!("{k}: {v}")));
            let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
            table.add_row(vec![
                Cell::new(report.engine.to_string()),
                Cell::new(r.workload.name()),
                right(r.threads.to_string()),
                right(r.ops.to_string()),
                right(format!("{:.0}", r.ops_per_sec())),
                right(format!("{:.1}", r.mb_per_sec())),
                right(micros(r.latency.p50_ns)),
                right(micros(r.latency.p99_ns)),
                right(micros(r.latency.p999_ns)),
                right(micros(r.latency.max_ns)),
                Cell::new(notes.join(", ")),
            ]);
        }
    }
    writeln!(out, "{table}")?;
    for report in reports {
        writeln!(
            out,
            "{}: {} bytes on disk, peak resident memory {:.1} MiB",
            report.engine,
            report.disk_bytes,
            report.peak_rss_bytes as f64 / (1 << 20) as f64
        )?;
    }
    Ok(())
}

fn report_json(args: &BenchArgs, reports: &[BenchReport]) -> Json {
    let engines: Vec<Json> = reports
        .iter()
        .map(|report| {
            let workloads: Vec<Json> = report
                .results
                .iter()
                .map(|r| {
                    let notes: serde_json::Map<String, Json> = r
                        .notes
                        .iter()
                        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                        .collect();
                    json!({
                        "workload": r.workload.name(),
                        "threads": r.threads,
                        "ops": r.ops,
                        "seconds": r.seconds,
                        "ops_per_sec": r.ops_per_sec(),
                        "mb_per_sec": r.mb_per_sec(),
                        "p50_ns": r.latency.p50_ns,
                        "p99_ns": r.latency.p99_ns,
                        "p999_ns": r.latency.p999_ns,
                        "max_ns": r.latency.max_ns,
                        "syncs": r.syncs,
                        "ops_per_sync": r.ops_per_sync(),
                        "notes": notes,
                    })
                })
                .collect();
            json!({
                "engine": report.engine.to_string(),
                "workloads": workloads,
                "disk_bytes": report.disk_bytes,
                "peak_rss_bytes": report.peak_rss_bytes,
            })
        })
        .collect();
    json!({
        "keys": args.keys,
        "key_size": args.key_size,
        "value_size": args.value_size,
        "threads": args.threads,
        "engines": engines,
    })
}
