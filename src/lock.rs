//! The only code that touches `DIR/LOCK`. Writers hold an exclusive lock,
//! readers a shared one (std's `File::lock` family, `flock(2)` on Linux).
//! A busy lock is retried until a deadline; the error then names the
//! holders, read from `/proc/locks` where available, else from the pid and
//! command the last writer recorded in the file.

use std::fs::{File, OpenOptions, Permissions, TryLockError};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::fs::FILE_MODE;

/// Name of the lock file inside a store.
pub use crate::layout::LOCK_FILE;

/// Shared (many readers) or exclusive (one writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Held by commands that only read; excludes writers.
    Shared,
    /// Held by commands that write; excludes everyone else.
    Exclusive,
}

/// A held lock on a store; released when dropped.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the lock of the store at `dir`, waiting up to `timeout`.
    pub fn acquire(dir: &Path, mode: LockMode, timeout: Duration) -> Result<StoreLock> {
        let path = dir.join(LOCK_FILE);
        let file = open_lock_file(&path, mode)?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let attempt = match mode {
                LockMode::Shared => file.try_lock_shared(),
                LockMode::Exclusive => file.try_lock(),
            };
            match attempt {
                Ok(()) => break,
                Err(TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
                Err(TryLockError::WouldBlock) => {
                    let waited = start.elapsed();
                    // A server holds the lock until it is stopped: waiting
                    // for it would only delay the same answer.
                    if waited >= timeout || held_by_server(&file) {
                        return Err(Error::Busy {
                            holder: describe_holders(&path, &file),
                            path,
                            waited_ms: waited.as_millis() as u64,
                        });
                    }
                    thread::sleep(pause.min(timeout - waited));
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
            }
        }
        if mode == LockMode::Exclusive {
            record_holder(&file, &path)?;
        }
        Ok(StoreLock { _file: file })
    }
}

fn open_lock_file(path: &Path, mode: LockMode) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).create(true).mode(FILE_MODE);
    // `create` needs write access; readers also open for writing only so the
    // file can be created when missing, and never write to it.
    options.write(true);
    let file = match options.open(path) {
        Ok(file) => file,
        // A reader on a read-only store can still lock an existing file.
        Err(e) if mode == LockMode::Shared && e.kind() == std::io::ErrorKind::PermissionDenied => {
            File::open(path).map_err(|e| Error::io("open lock file", path, e))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
            File::open(path).map_err(|e| Error::io("open lock file", path, e))?
        }
        Err(e) => return Err(Error::io("open lock file", path, e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::io("stat lock file", path, e))?;
    if meta.mode() & 0o777 != FILE_MODE && mode == LockMode::Exclusive {
        file.set_permissions(Permissions::from_mode(FILE_MODE))
            .map_err(|e| Error::io("set permissions of", path, e))?;
    }
    Ok(file)
}

/// Writes "pid command" into the lock file, for the messages of processes
/// that find it busy. Advisory text only: it is not synced. The text is
/// padded with spaces to a multiple of `HOLDER_LEN` bytes, so that the
/// file keeps its length from one command to the next and is not
/// truncated each time (a truncation cost a one-shot `put` 0.35-0.5 ms of
/// its 2.9); readers trim the padding.
fn record_holder(file: &File, path: &Path) -> Result<()> {
    use std::os::unix::fs::FileExt;
    const HOLDER_LEN: usize = 256;
    let mut text = format!("{} {}\n", std::process::id(), own_command());
    let padded = text.len().next_multiple_of(HOLDER_LEN);
    text.extend(std::iter::repeat_n(' ', padded - text.len()));
    let write = || {
        let before = file.metadata()?.len();
        file.write_all_at(text.as_bytes(), 0)?;
        if before > text.len() as u64 {
            file.set_len(text.len() as u64)?;
        }
        Ok(())
    };
    write().map_err(|e| Error::io("write lock file", path, e))
}

fn own_command() -> String {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Names the processes holding the lock: "pid 12 (hoard put k v)".
fn describe_holders(path: &Path, file: &File) -> String {
    let pids = file
        .metadata()
        .ok()
        .map(|m| holders_from_proc_locks(m.ino()))
        .unwrap_or_default();
    if !pids.is_empty() {
        let described: Vec<String> = pids
            .iter()
            .map(|pid| match command_of(*pid) {
                Some(cmd) => format!("pid {pid} ({cmd})"),
                None => format!("pid {pid}"),
            })
            .collect();
        return described.join(", ");
    }
    let recorded = std::fs::read_to_string(path).unwrap_or_default();
    match recorded.trim().split_once(' ') {
        Some((pid, cmd)) => format!("pid {pid} ({cmd}), as last recorded"),
        None => "another process".to_string(),
    }
}

/// Whether a process holding the lock is `hoard serve` (Linux only: from
/// `/proc/locks` and the holders' command lines).
fn held_by_server(file: &File) -> bool {
    let Ok(meta) = file.metadata() else {
        return false;
    };
    holders_from_proc_locks(meta.ino())
        .into_iter()
        .filter_map(command_of)
        .any(|command| names_a_server(&command))
}

/// Whether a command line (or a holder's description, "pid N (command)")
/// runs `hoard serve`: the first word after the program and its global
/// options is `serve` (so `hoard put serve v` is not a server).
pub(crate) fn names_a_server(command: &str) -> bool {
    let command = command
        .split_once('(')
        .map_or(command, |(_, rest)| rest.split(')').next().unwrap_or(rest));
    let mut words = command.split_whitespace();
    let is_hoard = words.next().is_some_and(|program| {
        std::path::Path::new(program)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("hoard"))
    });
    if !is_hoard {
        return false;
    }
    while let Some(word) = words.next() {
        match word {
            "-d" | "--dir" | "--lock-timeout" => {
                words.next();
            }
            w if w.starts_with('-') => {}
            w => return w == "serve",
        }
    }
    false
}

/// Pids holding a lock on inode `ino`, from Linux's `/proc/locks`.
fn holders_from_proc_locks(ino: u64) -> Vec<u32> {
    let Ok(table) = std::fs::read_to_string("/proc/locks") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = table
        .lines()
        .filter(|line| !line.contains("->")) // waiters, not holders
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // "1: FLOCK ADVISORY WRITE 1234 fd:01:5678 0 EOF"
            let pid = fields.get(4)?.parse().ok()?;
            let inode = fields.get(5)?.rsplit(':').next()?.parse::<u64>().ok()?;
            (inode == ino).then_some(pid)
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn command_of(pid: u32) -> Option<String> {
    let raw = std::fs::read(PathBuf::from(format!("/proc/{pid}/cmdline"))).ok()?;
    let words: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

#[cfg(test)]
mod server_tests {
    use super::names_a_server;

    #[test]
    fn only_the_serve_command_is_a_server() {
        assert!(names_a_server(
            "/usr/bin/hoard -d /srv/s serve --resp 127.0.0.1:0"
        ));
        assert!(names_a_server(
            "pid 12 (target/debug/hoard --lock-timeout 5 -q serve)"
        ));
        assert!(names_a_server("hoard --dir=/x serve"));
        assert!(!names_a_server("/usr/bin/hoard put serve v"));
        assert!(!names_a_server("pid 12 (hoard -d serve get k)"));
        assert!(!names_a_server("redis-server serve"));
        assert!(!names_a_server("another process"));
    }
}
