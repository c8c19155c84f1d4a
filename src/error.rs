//! The one error type of the library. Every variant carries the context a
//! person needs (file, offset, key) and maps onto one documented exit code.
//! "Not found" is never an error: lookups return `Ok(None)`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Result with the library's error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of damage a corrupt region shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptKind {
    /// The stored CRC32 does not match the bytes.
    Checksum,
    /// A header field holds a value no writer produces (unknown flags, wrong magic).
    Header,
    /// A length field is zero where it must not be, or above its limit.
    Length,
    /// A record runs past the end of its file outside the torn tail.
    Truncated,
    /// The record found at an indexed position holds a different key.
    KeyMismatch,
    /// A sealed file has no valid footer, or does not match it (cut short,
    /// zero-filled at its end, or a wrong record count).
    Footer,
    /// A file the store's file list names does not exist.
    Missing,
}

impl fmt::Display for CorruptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CorruptKind::Checksum => "checksum mismatch",
            CorruptKind::Header => "invalid header",
            CorruptKind::Length => "invalid length",
            CorruptKind::Truncated => "record runs past the end of the file",
            CorruptKind::KeyMismatch => "record holds a different key than indexed",
            CorruptKind::Footer => {
                "sealed file does not end with its footer (cut short or zero-filled)"
            }
            CorruptKind::Missing => "file listed in FILES is missing",
        })
    }
}

/// Everything that can go wrong in the library.
#[derive(Debug)]
pub enum Error {
    /// Input the caller can fix: an oversized key, a bad option value.
    InvalidInput(String),
    /// The store's lock was not acquired within the timeout.
    Busy {
        /// The lock file.
        path: PathBuf,
        /// Who holds the lock, as far as it can be told (pid and command).
        holder: String,
        /// How long this process waited, in milliseconds.
        waited_ms: u64,
    },
    /// Bytes on disk failed a check; nothing from them is returned as data.
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged record or header in that file.
        offset: u64,
        /// What check failed.
        kind: CorruptKind,
    },
    /// A file of a store in an older format failed a check while `hoard
    /// upgrade` read it; nothing was changed.
    CorruptOlderFormat {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damage.
        offset: u64,
        /// The store's format version.
        version: u32,
    },
    /// An input file (an RDB file to import) failed a check.
    CorruptInput {
        /// The file, as the user named it ("stdin" for standard input).
        source: String,
        /// Byte offset of the damage.
        offset: u64,
        /// What is wrong, and what was kept.
        message: String,
    },
    /// The directory is not a hoard store (or does not exist).
    NotAStore {
        /// The directory that was to be opened.
        path: PathBuf,
        /// Why it is not a store.
        reason: String,
    },
    /// A store exists where a new one was to be created.
    AlreadyAStore {
        /// The existing store.
        path: PathBuf,
    },
    /// The store is valid but uses something this build cannot handle.
    Unsupported(String),
    /// An operating-system call failed.
    Io {
        /// The operation, as a verb phrase ("read", "sync", "rename").
        op: &'static str,
        /// The file or directory it was applied to.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// An earlier write or sync failed; this handle refuses further writes.
    Poisoned {
        /// The store directory.
        path: PathBuf,
    },
    /// Background work (a timed sync, a merge, a snapshot) failed.
    Background(String),
}

impl Error {
    /// The process exit code the brief assigns to this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidInput(_) | Error::AlreadyAStore { .. } => 2,
            Error::Busy { .. } => 3,
            Error::Corrupt { .. }
            | Error::CorruptOlderFormat { .. }
            | Error::CorruptInput { .. } => 4,
            Error::NotAStore { .. }
            | Error::Unsupported(_)
            | Error::Io { .. }
            | Error::Poisoned { .. }
            | Error::Background(_) => 5,
        }
    }

    /// A short, stable name for the kind of error, for scripts (`--json`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "invalid_input",
            Error::Busy { .. } => "busy",
            Error::Corrupt { .. }
            | Error::CorruptOlderFormat { .. }
            | Error::CorruptInput { .. } => "corrupt",
            Error::NotAStore { .. } => "not_a_store",
            Error::AlreadyAStore { .. } => "already_a_store",
            Error::Unsupported(_) => "unsupported",
            Error::Io { .. } => "io",
            Error::Poisoned { .. } => "poisoned",
            Error::Background(_) => "background",
        }
    }

    /// Wraps an I/O error with the operation and path it came from.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(msg) => f.write_str(msg),
            Error::Busy {
                path,
                holder,
                waited_ms,
            } if crate::lock::names_a_server(holder) => write!(
                f,
                "store is busy: {} is locked by {holder}, a server, which holds it until it \
                 stops: reach the data through it (redis-cli, curl), or stop it (SHUTDOWN, or \
                 SIGTERM to its pid); gave up after {:.1} s without waiting",
                path.display(),
                *waited_ms as f64 / 1000.0
            ),
            Error::Busy {
                path,
                holder,
                waited_ms,
            } => write!(
                f,
                "store is busy: {} is locked by {holder}; gave up after {:.1} s \
                 (raise --lock-timeout to wait longer)",
                path.display(),
                *waited_ms as f64 / 1000.0
            ),
            Error::Corrupt { path, offset, kind }
                if path
                    .file_name()
                    .is_some_and(|n| n == crate::manifest::MANIFEST_FILE) =>
            {
                write!(
                    f,
                    "the store's manifest {} is damaged ({kind} at offset {offset}), so hoard \
                     cannot tell how to open the store; the data files are not affected. \
                     `hoard -d {} init --force-manifest` writes a fresh manifest (it reads \
                     the engine off the data files and keeps the damaged file beside it); \
                     add --sync or --max-file-size if the store was created with other options",
                    path.display(),
                    path.parent().unwrap_or(Path::new(".")).display()
                )
            }
            Error::Corrupt { path, offset, kind } => write!(
                f,
                "corruption in {} at offset {offset}: {kind}; no data from it was returned \
                 (run `hoard verify` for a full report, `hoard verify --repair` to salvage)",
                path.display()
            ),
            Error::CorruptOlderFormat {
                path,
                offset,
                version,
            } => write!(
                f,
                "corruption in {} at offset {offset}: the format-{version} store is damaged and \
                 `upgrade` changed nothing; repair it with the hoard release that wrote it \
                 (`hoard verify --repair`), then run `hoard upgrade` again",
                path.display()
            ),
            Error::CorruptInput {
                source,
                offset,
                message,
            } => write!(f, "{source} is damaged at offset {offset}: {message}"),
            Error::NotAStore { path, reason } => {
                write!(f, "{} is not a hoard store: {reason}", path.display())
            }
            Error::AlreadyAStore { path } => write!(
                f,
                "{} is already a hoard store; nothing was changed (if its HOARD manifest is \
                 damaged, `hoard init --force-manifest` rewrites it)",
                path.display()
            ),
            Error::Unsupported(msg) => f.write_str(msg),
            Error::Io { op, path, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())?;
                if source.kind() == io::ErrorKind::PermissionDenied {
                    write!(
                        f,
                        " (this user may not access it: check the permissions of it and \
                         of the directories above it with `ls -ld`, or run hoard as the \
                         store's owner)"
                    )?;
                }
                Ok(())
            }
            Error::Poisoned { path } => write!(
                f,
                "an earlier write to {} failed, so this handle accepts no more writes; \
                 reopen the store",
                path.display()
            ),
            Error::Background(what) => write!(f, "{what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Renders a key for an error message: printable ASCII as is, other bytes
/// escaped, long keys shortened so a message stays one readable line.
pub fn display_key(key: &[u8]) -> String {
    const SHOWN_MAX: usize = 64;
    let shown = &key[..key.len().min(SHOWN_MAX)];
    let mut out = format!("\"{}\"", shown.escape_ascii());
    if key.len() > SHOWN_MAX {
        out.push_str(&format!("... ({} bytes)", key.len()));
    }
    out
}
