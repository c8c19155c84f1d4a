//! `hoard man [COMMAND]`: the man pages, generated from the clap
//! definitions: `hoard(1)` and one `hoard-COMMAND(1)` per subcommand, each
//! with its options and the sections clap knows nothing of (exit status,
//! environment, files, see also). The pages are also kept in `man/`.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use hoardhaven::Error;

use super::args::Cli;

/// The root command, built (global options propagated, bin names set).
fn built() -> clap::Command {
    let mut root = Cli::command();
    root.build();
    root
}

/// The names of the subcommands, one page each.
pub fn names() -> Vec<String> {
    built()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

/// Renders the page of `command` (the main page when `None`).
pub fn render(out: &mut impl Write, command: Option<&str>) -> Result<()> {
    let root = built();
    let cmd = match command {
        None => root.clone(),
        Some(name) => {
            let sub = root.find_subcommand(name).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "there is no command {name:?}; pages exist for: {}",
                    names().join(", ")
                ))
            })?;
            sub.clone()
                .display_name(format!("hoard-{}", sub.get_name()))
        }
    };
    let man = clap_mangen::Man::new(cmd).source(format!("hoard {}", env!("CARGO_PKG_VERSION")));
    let mut page = Vec::new();
    man.render(&mut page)?;
    let mut extra = Vec::new();
    write_exit_status(&mut extra, command)?;
    write_environment(&mut extra)?;
    write_files(&mut extra)?;
    write_see_also(&mut extra, &root, command)?;
    // Our sections go before VERSION, the page's last.
    let at = find(&page, b"\n.SH VERSION").map_or(page.len(), |i| i + 1);
    page.splice(at..at, extra);
    out.write_all(&page)?;
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Text for roff: backslashes and hyphens escaped, no line starting with
/// a control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

fn section(out: &mut Vec<u8>, title: &str) -> std::io::Result<()> {
    if title.contains(' ') {
        writeln!(out, ".SH \"{title}\"")
    } else {
        writeln!(out, ".SH {title}")
    }
}

fn item(out: &mut Vec<u8>, term: &str, text: &str) -> std::io::Result<()> {
    writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(term), roff(text))
}

/// What exit code 1 means for `command`, where it has a meaning.
fn condition_false(command: Option<&str>) -> &'static str {
    match command {
        Some("get") => "a KEY is missing or expired (the others are still printed)",
        Some("exists") => "KEY does not exist",
        Some("ttl") => "KEY does not exist (ttl prints -2)",
        Some("del") => "none of the keys existed",
        Some("put") => "with --nx, KEY already existed; with --xx, it did not",
        Some("expire") => "KEY does not exist, or with --persist it had no expiry",
        Some("inspect") => "with --key, KEY does not exist",
        Some(_) => "not used by this command",
        None => {
            "not found or condition false (get, exists, ttl of a missing or expired key; del that removed nothing; put --nx of an existing key)"
        }
    }
}

fn write_exit_status(out: &mut Vec<u8>, command: Option<&str>) -> std::io::Result<()> {
    section(out, "EXIT STATUS")?;
    item(out, "0", "success")?;
    item(out, "1", condition_false(command))?;
    item(
        out,
        "2",
        "usage error or invalid input (bad flag or value, empty or oversized key, oversized value, malformed import line)",
    )?;
    item(
        out,
        "3",
        "store busy: the lock was not acquired within --lock-timeout",
    )?;
    item(
        out,
        "4",
        "corruption detected (verify found problems; a read hit a record, header or manifest that fails its checksum)",
    )?;
    item(
        out,
        "5",
        "any other failure (I/O, permissions, disk full, not a store, no store at that path)",
    )?;
    writeln!(
        out,
        ".PP\nWith \\fB\\-\\-json\\fR, an error is one JSON object on stderr: exit_code, kind, message."
    )
}

fn write_environment(out: &mut Vec<u8>) -> std::io::Result<()> {
    section(out, "ENVIRONMENT")?;
    item(
        out,
        "HOARD_DIR",
        "the store directory when -d/--dir is not given (else ./data)",
    )?;
    item(out, "NO_COLOR", "when set, no colour in the output")
}

fn write_files(out: &mut Vec<u8>) -> std::io::Result<()> {
    section(out, "FILES")?;
    item(
        out,
        "DIR/HOARD",
        "the manifest: format version, engine and creation options, checksummed; a directory without it is not a store",
    )?;
    item(
        out,
        "DIR/LOCK",
        "the lock file; holds the pid and command of the current holder",
    )?;
    item(
        out,
        "DIR/*.data, DIR/keydir.hint",
        "bitcask stores: the data files (newest = active) and the hint",
    )?;
    item(
        out,
        "DIR/memory-*.snapshot, DIR/memory-*.aof",
        "memory stores: the snapshot and the append-only file",
    )?;
    item(
        out,
        "DIR/backup-*/, DIR/HOARD.damaged-*",
        "originals kept by verify --repair and init --force-manifest; hoard never deletes them",
    )
}

fn write_see_also(
    out: &mut Vec<u8>,
    root: &clap::Command,
    command: Option<&str>,
) -> std::io::Result<()> {
    section(out, "SEE ALSO")?;
    let mut pages = Vec::new();
    if command.is_some() {
        pages.push("\\fBhoard\\fR(1)".to_string());
    }
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        if Some(sub.get_name()) != command {
            pages.push(format!("\\fBhoard\\-{}\\fR(1)", roff(sub.get_name())));
        }
    }
    writeln!(out, "{}", pages.join(", "))
}
