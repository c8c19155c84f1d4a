//! The command layer: one function per command. Each parses nothing (clap
//! did), calls the library, and writes results; it never touches store files
//! itself. Exit codes are decided in `main`, from `Outcome` and the error.

pub mod args;
mod bench;
mod inspect;
mod man;
pub(crate) mod output;
mod parse;
mod verify;

use std::ffi::OsString;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use anyhow::Result;
use clap::{CommandFactory, ValueEnum as _};
use hoardhaven::limits::{VALUE_LEN_MAX, check_key, check_value};
use hoardhaven::{
    Access, EngineKind, Error, InitOptions, Notice, OpenOptions, PutOptions, Store, SystemClock,
    Ttl,
};
use serde_json::{Map, Value as Json, json};

use args::{Cli, Command, EngineArg, Global};

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: not found, or the condition was false.
    ConditionFalse,
    /// Exit 4: the command's own finding is corruption (`verify`).
    Corrupt,
}

impl Outcome {
    fn from_bool(ok: bool) -> Outcome {
        if ok {
            Outcome::Success
        } else {
            Outcome::ConditionFalse
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    let global = &cli.global;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let outcome = match cli.command {
        Command::Init(args) => init(global, &mut out, args)?,
        Command::Put(args) => put(global, &mut out, args)?,
        Command::Get(args) => get(global, &mut out, args)?,
        Command::Del(args) => del(global, &mut out, args.keys)?,
        Command::Exists(args) => exists(global, &mut out, args.key)?,
        Command::Keys(args) => keys(global, &mut out, args)?,
        Command::Ttl(args) => ttl(global, &mut out, args)?,
        Command::Count(args) => count(global, &mut out, args)?,
        Command::Incr(args) => incr(global, &mut out, args, false)?,
        Command::Decr(args) => incr(global, &mut out, args, true)?,
        Command::Append(args) => append(global, &mut out, args)?,
        Command::Expire(args) => expire(global, &mut out, args)?,
        Command::Import(args) => import(global, &mut out, args)?,
        Command::Export(args) => export(global, &mut out, args)?,
        Command::Hint => hint(global, &mut out)?,
        Command::Snapshot(args) => snapshot(global, &mut out, args)?,
        Command::Upgrade => upgrade(global, &mut out)?,
        Command::Merge(args) => merge(global, &mut out, args)?,
        Command::Inspect(args) => inspect::run(global, &mut out, args)?,
        Command::Verify(args) => verify::run(global, &mut out, args)?,
        Command::Bench(args) => bench::run(global, &mut out, args)?,
        Command::Serve(args) => serve(global, args)?,
        Command::Completions(args) => {
            refuse_json(global, "completions")?;
            clap_complete::generate(args.shell, &mut Cli::command(), "hoard", &mut out);
            Outcome::Success
        }
        Command::Man(args) => {
            refuse_json(global, "man")?;
            if args.list {
                for name in man::names() {
                    writeln!(out, "{name}")?;
                }
            } else {
                man::render(&mut out, args.command.as_deref())?;
            }
            Outcome::Success
        }
    };
    out.flush()?;
    Ok(outcome)
}

pub(crate) fn bytes(arg: OsString) -> Vec<u8> {
    arg.into_vec()
}

/// `completions` and `man` print generated text, never JSON.
fn refuse_json(global: &Global, command: &str) -> Result<()> {
    if global.json {
        return Err(Error::InvalidInput(format!(
            "`hoard {command}` prints generated text, not JSON; run it without --json"
        ))
        .into());
    }
    Ok(())
}

/// `{"key": .., <field>: <value>}`, the shape of most one-key answers.
fn key_doc(key: &[u8], fields: &[(&str, Json)]) -> Json {
    let mut object = Map::new();
    output::put_bytes(&mut object, "key", key);
    for (name, value) in fields {
        object.insert((*name).to_string(), value.clone());
    }
    Json::Object(object)
}

/// Opens the store and reports what opening noticed (a dropped torn tail).
/// A missing store is an error (exit 5): only `init`, `put` and `import`
/// create one.
pub(crate) fn open(global: &Global, access: Access) -> Result<Store> {
    open_with(global, access, true)
}

pub(crate) fn open_with(global: &Global, access: Access, trust_hint: bool) -> Result<Store> {
    let options = OpenOptions {
        lock_timeout: global.lock_timeout,
        trust_hint,
        create_missing: false,
        ..OpenOptions::new(access)
    };
    open_options(global, options)
}

/// Opens the store for writing, creating a default bitcask store when the
/// directory is missing (`put` and `import` only).
pub(crate) fn open_creating(global: &Global) -> Result<Store> {
    let options = OpenOptions {
        lock_timeout: global.lock_timeout,
        create_missing: true,
        ..OpenOptions::new(Access::Write)
    };
    // A mistyped --dir should not go unnoticed: say so when a store is made.
    let missing = std::fs::symlink_metadata(&global.dir).is_err();
    let store = open_options(global, options)?;
    if missing && !global.json {
        output::notice(
            global.quiet,
            &format!(
                "created a {} store in {}",
                store.manifest().engine,
                global.dir.display()
            ),
        );
    }
    Ok(store)
}

pub(crate) fn open_options(global: &Global, options: OpenOptions) -> Result<Store> {
    let store = Store::open(&global.dir, &options)?;
    warn(global, store.take_notices());
    Ok(store)
}

fn warn(global: &Global, notices: Vec<Notice>) {
    for notice in notices {
        let message = notice.to_string();
        if global.json {
            // Under --json, stderr carries JSON objects only.
            if !global.quiet {
                output::stderr_line(
                    &json!({ "warning": message, "kind": notice.kind() }).to_string(),
                );
            }
        } else {
            output::notice(global.quiet, &format!("warning: {message}"));
        }
    }
}

/// Closes the store (syncing what the policy owes) and prints what it noticed.
pub(crate) fn finish(global: &Global, store: Store) -> Result<()> {
    warn(global, store.take_notices());
    warn(global, store.close()?);
    Ok(())
}

fn init(global: &Global, out: &mut impl Write, args: args::InitArgs) -> Result<Outcome> {
    let engine = args.engine.map(|engine| match engine {
        EngineArg::Bitcask => EngineKind::Bitcask,
        EngineArg::Memory => EngineKind::Memory,
    });
    if engine == Some(EngineKind::Memory) && args.max_file_size.is_some() {
        return Err(Error::InvalidInput(
            "--max-file-size applies to bitcask stores; a memory store has no data files \
             to rotate (drop the option)"
                .to_string(),
        )
        .into());
    }
    if args.force_manifest {
        return force_manifest(global, out, engine, args);
    }
    let defaults = InitOptions::default();
    let init = InitOptions {
        engine: engine.unwrap_or(defaults.engine),
        sync: args.sync.unwrap_or(defaults.sync),
        max_file_size: args.max_file_size.unwrap_or(defaults.max_file_size),
    };
    Store::create(&global.dir, &init, &SystemClock)?;
    if global.json {
        output::write_json(
            out,
            &json!({
                "created": global.dir.display().to_string(),
                "engine": init.engine.to_string(),
                "sync": init.sync.to_string(),
                "max_file_size": init.max_file_size,
            }),
        )?;
    } else {
        output::notice(
            global.quiet,
            &format!(
                "created a {} store in {}",
                init.engine,
                global.dir.display()
            ),
        );
    }
    Ok(Outcome::Success)
}

/// `init --force-manifest`: a fresh manifest for a store whose HOARD is damaged.
fn force_manifest(
    global: &Global,
    out: &mut impl Write,
    engine: Option<EngineKind>,
    args: args::InitArgs,
) -> Result<Outcome> {
    use hoardhaven::manifest_fix::{ManifestFix, force_manifest};
    let fix = ManifestFix {
        engine,
        sync: args.sync,
        max_file_size: args.max_file_size,
    };
    let fixed = force_manifest(&global.dir, &fix, global.lock_timeout, &SystemClock)?;
    let manifest = &fixed.manifest;
    if global.json {
        output::write_json(
            out,
            &json!({
                "manifest_rewritten": global.dir.join("HOARD").display().to_string(),
                "damaged_saved_as": fixed.saved_as.as_ref().map(|p| p.display().to_string()),
                "engine": manifest.engine.to_string(),
                "engine_from": fixed.engine_from,
                "format": manifest.format_version,
                "sync": manifest.sync.to_string(),
                "max_file_size": manifest.max_file_size,
            }),
        )?;
    } else {
        output::notice(
            global.quiet,
            &format!(
                "wrote a fresh manifest for the {} store in {} (engine taken from {}; sync {}, \
                 format {}); {}. Run `hoard verify` to check the data",
                manifest.engine,
                global.dir.display(),
                fixed.engine_from,
                manifest.sync,
                manifest.format_version,
                match &fixed.saved_as {
                    Some(saved) => format!("the damaged one is kept as {}", saved.display()),
                    None => "there was none to keep".to_string(),
                }
            ),
        );
    }
    Ok(Outcome::Success)
}

fn put(global: &Global, out: &mut impl Write, args: args::PutArgs) -> Result<Outcome> {
    let key = bytes(args.key);
    check_key(&key)?;
    let value = match args.value {
        Some(v) if v != "-" => bytes(v),
        _ => read_stdin_value(global, &key)?,
    };
    check_value(&key, value.len())?;
    let store = open_creating(global)?;
    let options = PutOptions {
        ttl_ms: args.ttl,
        only_if_absent: args.nx,
    };
    let written = if args.xx {
        store.put_if_present(&key, &value, args.ttl)?
    } else {
        store.put(&key, &value, options)?
    };
    finish(global, store)?;
    if global.json {
        output::write_json(out, &key_doc(&key, &[("written", json!(written))]))?;
    }
    Ok(Outcome::from_bool(written))
}

/// Reads a value from stdin, refusing (before anything is written) one over the limit.
/// At a terminal it first says so on stderr, so a forgotten VALUE does not
/// look like a hang.
fn read_stdin_value(global: &Global, key: &[u8]) -> Result<Vec<u8>> {
    if io::stdin().is_terminal() {
        output::notice(
            global.quiet,
            &format!(
                "reading the value of {} from stdin; end it with Ctrl-D \
                 (or give VALUE as an argument)",
                hoardhaven::display_key(key)
            ),
        );
    }
    let mut value = Vec::new();
    io::stdin()
        .lock()
        .take(VALUE_LEN_MAX as u64 + 1)
        .read_to_end(&mut value)
        .map_err(|e| Error::io("read the value from", "stdin", e))?;
    check_value(key, value.len())?;
    Ok(value)
}

fn get(global: &Global, out: &mut impl Write, args: args::GetArgs) -> Result<Outcome> {
    let keys: Vec<Vec<u8>> = args.keys.into_iter().map(bytes).collect();
    for key in &keys {
        check_key(key)?;
    }
    let store = open(global, Access::Read)?;
    let values = store.get_many(&keys)?;
    finish(global, store)?;
    let all_found = values.iter().all(Option::is_some);
    // One key prints its exact bytes; several (or -0) end each value.
    let separator = match (args.null, keys.len()) {
        (true, _) => Some(b'\0'),
        (false, 1) => None,
        (false, _) => Some(b'\n'),
    };
    for (key, value) in keys.iter().zip(values) {
        if global.json {
            let doc = match value {
                Some(value) => {
                    let mut object = Map::new();
                    output::put_bytes(&mut object, "key", key);
                    output::put_bytes(&mut object, "value", &value.bytes);
                    object.insert("expires_at_ms".to_string(), json!(value.expiry_ms));
                    object.insert("found".to_string(), json!(true));
                    Json::Object(object)
                }
                None => key_doc(key, &[("value", Json::Null), ("found", json!(false))]),
            };
            output::write_json(out, &doc)?;
        } else {
            if let Some(value) = value {
                out.write_all(&value.bytes)?;
            }
            if let Some(separator) = separator {
                out.write_all(&[separator])?;
            }
        }
    }
    Ok(Outcome::from_bool(all_found))
}

fn del(global: &Global, out: &mut impl Write, keys: Vec<OsString>) -> Result<Outcome> {
    let keys: Vec<Vec<u8>> = keys.into_iter().map(bytes).collect();
    for key in &keys {
        check_key(key)?;
    }
    let store = open(global, Access::Write)?;
    let mut deleted = 0u64;
    for key in &keys {
        deleted += u64::from(store.delete(key)?);
    }
    finish(global, store)?;
    if global.json {
        output::write_json(out, &json!({ "deleted": deleted }))?;
    } else {
        writeln!(out, "{deleted}")?;
    }
    Ok(Outcome::from_bool(deleted > 0))
}

fn exists(global: &Global, out: &mut impl Write, key: OsString) -> Result<Outcome> {
    let key = bytes(key);
    check_key(&key)?;
    let store = open(global, Access::Read)?;
    let found = store.contains(&key)?;
    finish(global, store)?;
    if global.json {
        output::write_json(out, &key_doc(&key, &[("exists", json!(found))]))?;
    }
    Ok(Outcome::from_bool(found))
}

fn keys(global: &Global, out: &mut impl Write, args: args::KeysArgs) -> Result<Outcome> {
    let prefix = args.prefix.map(bytes).unwrap_or_default();
    let store = open(global, Access::Read)?;
    let separator = if args.null { b'\0' } else { b'\n' };
    let keys = match &args.glob {
        Some(pattern) => store.keys_matching(&prefix, pattern.as_bytes(), args.limit)?,
        None => store.keys(&prefix, args.limit)?,
    };
    if args.with_values {
        // One lock for the listing and the values: a consistent view.
        use hoardhaven::transfer::{Entry, Format, write_entry};
        let format = if global.json {
            Format::Jsonl
        } else {
            Format::Tsv
        };
        for key in keys {
            let Some(value) = store.get(&key)? else {
                continue;
            };
            let entry = Entry {
                key,
                value: value.bytes,
                expiry_ms: value.expiry_ms,
            };
            write_entry(out, format, &entry)?;
        }
        finish(global, store)?;
        return Ok(Outcome::Success);
    }
    finish(global, store)?;
    for key in keys {
        if global.json {
            let mut object = Map::new();
            output::put_bytes(&mut object, "key", &key);
            output::write_json(out, &Json::Object(object))?;
        } else {
            out.write_all(&key)?;
            out.write_all(&[separator])?;
        }
    }
    Ok(Outcome::Success)
}

fn ttl(global: &Global, out: &mut impl Write, args: args::TtlArgs) -> Result<Outcome> {
    let key = bytes(args.key);
    check_key(&key)?;
    let store = open(global, Access::Read)?;
    // Redis TTL: -2 missing, -1 no expiry, else seconds rounded to nearest.
    let ttl = store.ttl(&key)?;
    finish(global, store)?;
    let (seconds, ttl_ms, outcome) = match ttl {
        None => (-2, -2, Outcome::ConditionFalse),
        Some(Ttl::Persistent) => (-1, -1, Outcome::Success),
        Some(Ttl::RemainingMs(ms)) => (((ms + 500) / 1000) as i64, ms as i64, Outcome::Success),
    };
    if global.json {
        let mut object = Map::new();
        output::put_bytes(&mut object, "key", &key);
        object.insert("ttl".to_string(), json!(seconds));
        object.insert("ttl_ms".to_string(), json!(ttl_ms));
        output::write_json(out, &Json::Object(object))?;
    } else if args.ms {
        writeln!(out, "{ttl_ms}")?;
    } else {
        writeln!(out, "{seconds}")?;
    }
    Ok(outcome)
}

fn count(global: &Global, out: &mut impl Write, args: args::CountArgs) -> Result<Outcome> {
    let prefix = args.prefix.map(bytes).unwrap_or_default();
    let store = open(global, Access::Read)?;
    let count = store.count(&prefix)?;
    finish(global, store)?;
    if global.json {
        output::write_json(out, &json!({ "count": count }))?;
    } else {
        writeln!(out, "{count}")?;
    }
    Ok(Outcome::Success)
}

fn incr(
    global: &Global,
    out: &mut impl Write,
    args: args::IncrArgs,
    decrement: bool,
) -> Result<Outcome> {
    let key = bytes(args.key);
    check_key(&key)?;
    let by = if decrement {
        args.by.checked_neg().ok_or_else(|| {
            Error::InvalidInput(format!(
                "cannot subtract {}: it has no positive counterpart in 64 bits",
                args.by
            ))
        })?
    } else {
        args.by
    };
    let store = open(global, Access::Write)?;
    let value = store.incr_by(&key, by)?;
    finish(global, store)?;
    if global.json {
        output::write_json(out, &key_doc(&key, &[("value", json!(value))]))?;
    } else {
        writeln!(out, "{value}")?;
    }
    Ok(Outcome::Success)
}

fn append(global: &Global, out: &mut impl Write, args: args::AppendArgs) -> Result<Outcome> {
    let key = bytes(args.key);
    let suffix = bytes(args.value);
    check_key(&key)?;
    check_value(&key, suffix.len())?;
    let store = open(global, Access::Write)?;
    let length = store.append(&key, &suffix)?;
    finish(global, store)?;
    if global.json {
        output::write_json(out, &key_doc(&key, &[("length", json!(length))]))?;
    } else {
        writeln!(out, "{length}")?;
    }
    Ok(Outcome::Success)
}

fn expire(global: &Global, out: &mut impl Write, args: args::ExpireArgs) -> Result<Outcome> {
    let key = bytes(args.key);
    check_key(&key)?;
    let store = open(global, Access::Write)?;
    let changed = match (args.duration, args.at) {
        _ if args.persist => store.persist(&key)?,
        (Some(ttl_ms), _) => store.expire(&key, ttl_ms)?,
        (None, Some(at_s)) => store.expire_at(&key, at_s.saturating_mul(1000))?,
        (None, None) => unreachable!("clap requires a duration, --at or --persist"),
    };
    finish(global, store)?;
    if global.json {
        output::write_json(out, &key_doc(&key, &[("changed", json!(changed))]))?;
    }
    Ok(Outcome::from_bool(changed))
}

/// The bitcask engine of an open store, or an error naming the engine.
pub(crate) fn bitcask<'s>(store: &'s Store, command: &str) -> Result<&'s hoardhaven::Bitcask> {
    let engine = store.manifest().engine;
    store.bitcask().ok_or_else(|| {
        Error::InvalidInput(format!(
            "`hoard {command}` applies to bitcask stores; this store uses the {engine} engine \
             (a memory store compacts its log with `hoard snapshot`, and keeps no hint)"
        ))
        .into()
    })
}

fn hint(global: &Global, out: &mut impl Write) -> Result<Outcome> {
    // Replaying every file (not trusting the old hint) checks every record
    // on the way, so a hint is never built over damaged data.
    let store = open_with(global, Access::Write, false)?;
    let written = bitcask(&store, "hint")?.write_hint()?;
    finish(global, store)?;
    if global.json {
        output::write_json(
            out,
            &json!({ "entries": written.entries, "bytes": written.file_len }),
        )?;
    } else {
        let per_key = if written.entries == 0 {
            0.0
        } else {
            written.file_len as f64 / written.entries as f64
        };
        output::notice(
            global.quiet,
            &format!(
                "wrote the hint: {} in {} ({per_key:.1} bytes per key)",
                output::count(written.entries, "key", "keys"),
                output::count(written.file_len, "byte", "bytes")
            ),
        );
    }
    Ok(Outcome::Success)
}

fn merge(global: &Global, out: &mut impl Write, args: args::MergeArgs) -> Result<Outcome> {
    let store = open(global, Access::Write)?;
    let now_ms = hoardhaven::Clock::now_ms(&SystemClock);
    let report = if args.dry_run {
        bitcask(&store, "merge")?.merge_dry_run(now_ms)?
    } else {
        let engine = bitcask(&store, "merge")?;
        output::with_progress(global.quiet, "merging", |progress| {
            engine.merge(now_ms, progress)
        })?
    };
    finish(global, store)?;
    let reclaimed = report.bytes_before.saturating_sub(report.bytes_after);
    if global.json {
        let doc = json!({
            "dry_run": args.dry_run,
            "files_before": report.files_before,
            "files_after": report.files_after,
            "bytes_before": report.bytes_before,
            "bytes_after": report.bytes_after,
            "bytes_reclaimed": reclaimed,
            "record_bytes_before": report.record_bytes_before,
            "preallocated_bytes_before": report.preallocated_before(),
            "live_records": report.live_records,
            "live_bytes": report.live_bytes,
            "hint_bytes": report.hint_bytes,
            "elapsed_ms": report.elapsed_ms,
        });
        output::write_json(out, &doc)?;
    } else {
        let percent = if report.bytes_before == 0 {
            0.0
        } else {
            reclaimed as f64 * 100.0 / report.bytes_before as f64
        };
        let verb = if args.dry_run {
            "would reclaim"
        } else {
            "reclaimed"
        };
        writeln!(
            out,
            "data files   {} -> {}",
            report.files_before, report.files_after
        )?;
        writeln!(
            out,
            "bytes        {} -> {} ({verb} {reclaimed}, {percent:.1}%)",
            report.bytes_before, report.bytes_after
        )?;
        // The disk figure counts preallocated space, which makes a store
        // with few dead records look nearly all reclaimable: say which is
        // which, with dead as a share of the bytes written, as `inspect` does.
        let preallocated = report.preallocated_before();
        let written = report.bytes_before.saturating_sub(preallocated);
        let dead = report.record_bytes_before.saturating_sub(report.live_bytes);
        let dead_percent = if written == 0 {
            0.0
        } else {
            dead as f64 * 100.0 / written as f64
        };
        writeln!(
            out,
            "written      {written} bytes, {dead} of them in dead records ({dead_percent:.1}%)"
        )?;
        if preallocated > 0 {
            writeln!(
                out,
                "preallocated {preallocated} bytes past the last record (writes under `always` \
                 reserve it again)"
            )?;
        }
        writeln!(
            out,
            "live         {}, {}",
            output::count(report.live_records, "record", "records"),
            output::count(report.live_bytes, "byte", "bytes")
        )?;
        if args.dry_run {
            writeln!(out, "dry run: nothing was changed")?;
        } else {
            writeln!(out, "hint         {} bytes", report.hint_bytes)?;
            writeln!(out, "time         {} ms", report.elapsed_ms)?;
        }
    }
    Ok(Outcome::Success)
}

fn import(global: &Global, out: &mut impl Write, args: args::ImportArgs) -> Result<Outcome> {
    use hoardhaven::transfer::{self, EntryReader};
    let stdin_named = args.file.as_ref().is_none_or(|p| p.as_os_str() == "-");
    let mut stdin = stdin_named.then(|| io::BufReader::with_capacity(1 << 20, io::stdin()));
    // Without --format, a file (or stdin) that opens like an RDB file is
    // read as one, whatever its name: taken for TSV, its first line would
    // be imported as a key.
    let stdin_is_rdb = args.format.is_none()
        && stdin
            .as_mut()
            .is_some_and(|s| looks_like_rdb(io::BufRead::fill_buf(s).unwrap_or(&[])));
    let format = match (args.format, &args.file) {
        (Some(format), _) => format,
        _ if stdin_is_rdb => args::FormatArg::Rdb,
        (None, Some(path)) if !stdin_named && file_looks_like_rdb(path) => args::FormatArg::Rdb,
        (None, Some(path)) => format_of_extension(path),
        (None, None) => args::FormatArg::Tsv,
    };
    let Some(line_format) = format.line_format() else {
        return import_rdb(global, out, args, stdin);
    };
    if args.skip_other_types {
        return Err(Error::InvalidInput(
            "--skip-other-types applies to --format rdb only: other formats hold strings only"
                .to_string(),
        )
        .into());
    }
    let (input, source, total): (Box<dyn io::BufRead>, String, Option<u64>) = match &args.file {
        Some(path) if path.as_os_str() != "-" => {
            let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
            let total = file
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            (
                Box::new(io::BufReader::with_capacity(1 << 20, file)),
                path.display().to_string(),
                total,
            )
        }
        _ => (
            Box::new(stdin.unwrap_or_else(|| io::BufReader::with_capacity(1 << 20, io::stdin()))),
            "stdin".to_string(),
            None,
        ),
    };
    let bar = output::byte_progress(global.quiet || global.json, "importing", total);
    let mut input = output::ProgressReader::new(input, bar);
    let store = open_creating(global)?;
    let now_ms = hoardhaven::Clock::now_ms(&SystemClock);
    let batch = format == args::FormatArg::Resp;
    let result = if batch {
        // Redis write commands, applied in order (SET, DEL, INCRBY, ...).
        transfer::import_commands(&store, &mut input, &source, now_ms)
    } else {
        let mut reader = EntryReader::new(&mut input, line_format);
        transfer::import(&store, &mut reader, &source, now_ms)
    };
    drop(input); // clears the progress bar before any message
    // Closing also rewrites the hint after a large load; do it even when
    // the input was malformed, so what was imported opens fast.
    finish(global, store)?;
    let report = result?;
    if global.json {
        let mut doc = json!({ "imported": report.imported, "expired_skipped": report.expired });
        if batch {
            doc["errors"] = json!(0);
            doc["replies"] = json!(report.imported + report.expired);
        }
        output::write_json(out, &doc)?;
    } else if batch {
        // As `redis-cli --pipe` ends: every command got its reply.
        output::notice(
            global.quiet,
            &format!(
                "imported {} from {source} ({} already expired, skipped); \
                 errors: 0, replies: {}",
                output::count(report.imported, "record", "records"),
                report.expired,
                report.imported + report.expired
            ),
        );
    } else {
        output::notice(
            global.quiet,
            &format!(
                "imported {} from {source} ({} already expired, skipped)",
                output::count(report.imported, "record", "records"),
                report.expired
            ),
        );
    }
    Ok(Outcome::Success)
}

/// Imports a Redis RDB file: checked whole first, then written, so a
/// damaged file (exit 4) or a refused one (exit 2) changes nothing.
/// Whether `head` starts as Redis writes an RDB file: `REDIS`, four
/// digits, then an opcode (AUX or SELECTDB).
fn looks_like_rdb(head: &[u8]) -> bool {
    head.len() >= 10
        && head.starts_with(b"REDIS")
        && head[5..9].iter().all(u8::is_ascii_digit)
        && head[9] >= 0xF4
}

fn file_looks_like_rdb(path: &std::path::Path) -> bool {
    let mut head = [0u8; 10];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && looks_like_rdb(&head)
}

fn import_rdb(
    global: &Global,
    out: &mut impl Write,
    args: args::ImportArgs,
    stdin: Option<io::BufReader<io::Stdin>>,
) -> Result<Outcome> {
    use std::io::{Seek, SeekFrom};
    let (file, source) = match &args.file {
        Some(path) if path.as_os_str() != "-" => (
            std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?,
            path.display().to_string(),
        ),
        // Two passes need a file that can be read twice.
        _ => (
            spool_stdin(stdin.unwrap_or_else(|| io::BufReader::new(io::stdin())))?,
            "stdin".to_string(),
        ),
    };
    let total = file.metadata().ok().map(|m| m.len());
    let quiet = global.quiet || global.json;
    let mut open = |pass: &'static str| -> hoardhaven::Result<Box<dyn io::Read>> {
        let mut pass_file = file
            .try_clone()
            .map_err(|e| Error::io("open", &source, e))?;
        pass_file
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::io("seek", &source, e))?;
        let reader = io::BufReader::with_capacity(1 << 20, pass_file);
        Ok(Box::new(output::ProgressReader::new(
            reader,
            output::byte_progress(quiet, pass, total),
        )))
    };
    // Checked whole before the store is opened (or created): a refused
    // or damaged file leaves no trace.
    hoardhaven::transfer::check_rdb(&mut open, &source, args.skip_other_types)?;
    let store = open_creating(global)?;
    let now_ms = hoardhaven::Clock::now_ms(&SystemClock);
    let result = hoardhaven::transfer::load_rdb(&store, &mut open, &source, now_ms);
    finish(global, store)?;
    let report = result?;
    let skipped_total: u64 = report.skipped.values().sum();
    if global.json {
        output::write_json(
            out,
            &json!({
                "imported": report.imported,
                "expired_skipped": report.expired,
                "other_types_skipped": report.skipped,
                "functions_skipped": report.functions_skipped,
                "module_aux_skipped": report.module_aux_skipped,
                "rdb_version": report.version,
            }),
        )?;
    } else {
        let mut message = format!(
            "imported {} from {source} (RDB version {}; {} already expired, skipped)",
            output::count(report.imported, "string", "strings"),
            report.version,
            report.expired
        );
        if skipped_total > 0 {
            let by_type: Vec<String> = report
                .skipped
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            message.push_str(&format!(
                "; skipped {} of other types ({})",
                output::count(skipped_total, "key", "keys"),
                by_type.join(", ")
            ));
        }
        if report.functions_skipped > 0 {
            message.push_str(&format!(
                "; skipped {} (hoard runs none)",
                output::count(
                    report.functions_skipped,
                    "function library",
                    "function libraries"
                )
            ));
        }
        if report.module_aux_skipped > 0 {
            message.push_str(&format!(
                "; skipped {} (hoard loads no modules)",
                output::count(
                    report.module_aux_skipped,
                    "module aux field",
                    "module aux fields"
                )
            ));
        }
        output::notice(global.quiet, &message);
    }
    Ok(Outcome::Success)
}

/// Copies stdin into an unnamed temporary file (created and unlinked at
/// once, mode 0600), so it can be read twice.
fn spool_stdin(mut stdin: impl io::Read) -> Result<std::fs::File> {
    let mut file = hoardhaven::fs::unlinked_temp_file("import")?;
    io::copy(&mut stdin, &mut file)
        .map_err(|e| Error::io("copy stdin to", "a temporary file", e))?;
    Ok(file)
}

/// The import format a file name implies: .tsv, .jsonl/.ndjson/.json,
/// .resp, .rdb; anything else is tsv (an RDB file is recognised by its
/// first bytes before this is asked).
fn format_of_extension(path: &std::path::Path) -> args::FormatArg {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("jsonl" | "ndjson" | "json") => args::FormatArg::Jsonl,
        Some("resp") => args::FormatArg::Resp,
        Some("rdb") => args::FormatArg::Rdb,
        _ => args::FormatArg::Tsv,
    }
}

fn export(global: &Global, out: &mut impl Write, args: args::ExportArgs) -> Result<Outcome> {
    let format = match (args.format, global.json) {
        (None, false) => args::FormatArg::Tsv,
        (None, true) | (Some(args::FormatArg::Jsonl), _) => args::FormatArg::Jsonl,
        (Some(other), false) => other,
        (Some(other), true) => {
            return Err(Error::InvalidInput(format!(
                "--json exports JSON Lines; drop --json to export {}, or use --format jsonl",
                other
                    .to_possible_value()
                    .map_or_else(String::new, |v| v.get_name().to_string())
            ))
            .into());
        }
    };
    let line_format = format.line_format();
    if line_format.is_none() && io::stdout().is_terminal() {
        return Err(Error::InvalidInput(
            "an RDB file is binary: redirect the output to a file (hoard export --format rdb \
             > dump.rdb)"
                .to_string(),
        )
        .into());
    }
    let prefix = args.prefix.map(bytes).unwrap_or_default();
    let store = open(global, Access::Read)?;
    match line_format {
        Some(line_format) => {
            hoardhaven::transfer::export(&store, &prefix, line_format, out)?;
        }
        None => {
            hoardhaven::transfer::export_rdb(&store, &prefix, &mut *out)?;
        }
    }
    finish(global, store)?;
    Ok(Outcome::Success)
}

fn upgrade(global: &Global, out: &mut impl Write) -> Result<Outcome> {
    let now_ms = hoardhaven::Clock::now_ms(&SystemClock);
    let report = hoardhaven::upgrade::upgrade(&global.dir, global.lock_timeout, now_ms)?;
    if global.json {
        output::write_json(
            out,
            &json!({
                "from_format": report.from_format,
                "to_format": report.to_format,
                "keys": (report.from_format != report.to_format).then_some(report.keys),
                "backup_dir": report.backup_dir.as_ref().map(|p| p.display().to_string()),
            }),
        )?;
    } else if report.from_format == report.to_format {
        output::notice(
            global.quiet,
            &format!(
                "{} is already in format {}: nothing to do",
                global.dir.display(),
                report.to_format
            ),
        );
    } else {
        output::notice(
            global.quiet,
            &format!(
                "upgraded {} from format {} to {} ({} keys); the format-{} files are kept in {} \
                 (remove it once you are satisfied)",
                global.dir.display(),
                report.from_format,
                report.to_format,
                report.keys,
                report.from_format,
                report
                    .backup_dir
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            ),
        );
    }
    Ok(Outcome::Success)
}

fn snapshot(global: &Global, out: &mut impl Write, args: args::SnapshotArgs) -> Result<Outcome> {
    let store = open(global, Access::Write)?;
    if let Some(dest) = &args.to {
        store.snapshot_to(dest)?;
        finish(global, store)?;
        if global.json {
            output::write_json(out, &json!({ "copied_to": dest.display().to_string() }))?;
        } else {
            output::notice(
                global.quiet,
                &format!(
                    "wrote a consistent copy of {} to {}",
                    global.dir.display(),
                    dest.display()
                ),
            );
        }
        return Ok(Outcome::Success);
    }
    let engine = store.manifest().engine;
    let now_ms = hoardhaven::Clock::now_ms(&SystemClock);
    let Some(memory) = store.memory() else {
        return Err(Error::InvalidInput(format!(
            "`hoard snapshot` without --to applies to memory stores; this store uses the {engine} \
             engine (use `hoard merge` to compact it, or `--to DIR2` to copy it)"
        ))
        .into());
    };
    let info = memory.snapshot(now_ms)?;
    let (generation, _) = memory.snapshot_state();
    finish(global, store)?;
    if global.json {
        let doc = json!({
            "generation": generation,
            "entries": info.entries,
            "bytes": info.file_bytes,
            "raw_bytes": info.raw_bytes,
        });
        output::write_json(out, &doc)?;
    } else {
        output::notice(
            global.quiet,
            &format!(
                "wrote snapshot {generation}: {} in {} ({} before compression)",
                output::count(info.entries, "key", "keys"),
                output::count(info.file_bytes, "byte", "bytes"),
                output::count(info.raw_bytes, "byte", "bytes")
            ),
        );
    }
    Ok(Outcome::Success)
}

/// `serve`: opens the store for writing and serves it until stopped.
fn serve(global: &Global, args: args::ServeArgs) -> Result<Outcome> {
    use hoardhaven::server::{Secret, ServeOptions};
    use std::time::Duration;
    let every = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
    let secret =
        |path: &Option<std::path::PathBuf>| path.as_deref().map(Secret::from_file).transpose();
    let defaults = ServeOptions::default();
    let options = ServeOptions {
        resp: match args.resp {
            None => defaults.resp,
            Some(args::ListenAddr::None) => None,
            Some(args::ListenAddr::At(addr)) => Some(addr),
        },
        http: args.http,
        password: secret(&args.requirepass_file)?,
        http_token: secret(&args.http_token_file)?,
        max_clients: args.maxclients.max(1),
        query_buffer_max: usize::try_from(args.query_buffer_limit).unwrap_or(usize::MAX),
        client_buffers_max: usize::try_from(args.client_buffers_limit).unwrap_or(usize::MAX),
        idle_timeout: (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
        reply_max: usize::try_from(args.reply_limit).unwrap_or(usize::MAX),
        threads: args.threads.unwrap_or(defaults.threads).max(1),
        repl_backlog_max: usize::try_from(args.repl_backlog_size).unwrap_or(usize::MAX),
        background: hoardhaven::BackgroundOptions {
            snapshot_every: every(args.snapshot_every),
            merge_every: every(args.merge_every),
            ..hoardhaven::BackgroundOptions::default()
        },
        ..defaults
    };
    let store = open(global, Access::Write)?;
    warn(global, store.take_notices());
    let log: std::sync::Arc<dyn Fn(&str) + Send + Sync> =
        std::sync::Arc::new(|line: &str| output::stderr_line(line));
    let summary = hoardhaven::server::run(store, options, log.clone())?;
    let closed = if summary.read_only {
        "store closed; it refused writes after a failed write or sync (see the errors above): \
         writes that were not answered were not kept"
    } else {
        "store closed cleanly"
    };
    log(&format!(
        "hoard serve: stopped after {:.1} s, {} connections, {} commands; {closed}",
        summary.uptime.as_secs_f64(),
        summary.connections,
        summary.commands
    ));
    Ok(Outcome::Success)
}
