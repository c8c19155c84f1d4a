//! `DIR/HOARD`, the manifest: a short text file that makes a directory a
//! store. It records the format version, the engine and the options chosen
//! at creation, and ends with a CRC32 of everything before it. It is written
//! once, atomically, and only read afterwards.
//!
//! ```text
//! hoard store
//! format 2
//! engine bitcask
//! sync always
//! max-file-size 67108864
//! created-ms 1763700000000
//! crc32 0a1b2c3d
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::error::{CorruptKind, Error, Result};
use crate::fs;
use crate::limits::{MAX_FILE_SIZE_DEFAULT, MAX_FILE_SIZE_MAX, MAX_FILE_SIZE_MIN};

/// Name of the manifest inside a store.
pub use crate::layout::MANIFEST_FILE;

/// First line of every manifest.
pub const MANIFEST_MAGIC: &str = "hoard store";

/// Manifest format version this build writes and reads.
pub const MANIFEST_VERSION: u32 = 2;

/// Manifests are tiny; anything larger is not one.
const MANIFEST_LEN_MAX: u64 = 4096;

/// The storage engine of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Append-only data files and an in-memory keydir.
    Bitcask,
    /// The whole data set in RAM, persisted by snapshot and AOF.
    Memory,
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Bitcask => "bitcask",
            EngineKind::Memory => "memory",
        })
    }
}

impl FromStr for EngineKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<EngineKind> {
        match s {
            "bitcask" => Ok(EngineKind::Bitcask),
            "memory" => Ok(EngineKind::Memory),
            _ => Err(Error::InvalidInput(format!(
                "unknown engine {s:?}: expected bitcask or memory"
            ))),
        }
    }
}

/// When writes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// fdatasync before every write is acknowledged.
    Always,
    /// fdatasync when this many ms have passed since the last one, and on close.
    IntervalMs(u64),
    /// Never sync; the operating system decides.
    Never,
}

impl SyncPolicy {
    /// Whether a sync is due after a write, `since_last` after the last sync.
    pub fn is_due(self, since_last: std::time::Duration) -> bool {
        match self {
            SyncPolicy::Always => true,
            SyncPolicy::IntervalMs(ms) => since_last.as_millis() >= u128::from(ms),
            SyncPolicy::Never => false,
        }
    }
}

impl fmt::Display for SyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncPolicy::Always => f.write_str("always"),
            SyncPolicy::IntervalMs(ms) => write!(f, "interval:{ms}"),
            SyncPolicy::Never => f.write_str("never"),
        }
    }
}

impl FromStr for SyncPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<SyncPolicy> {
        let bad = || {
            Error::InvalidInput(format!(
                "invalid sync policy {s:?}: expected always, never or interval:MS (e.g. interval:1000)"
            ))
        };
        match s {
            "always" => Ok(SyncPolicy::Always),
            "never" => Ok(SyncPolicy::Never),
            _ => {
                let ms = s.strip_prefix("interval:").ok_or_else(bad)?;
                let ms: u64 = ms.parse().map_err(|_| bad())?;
                if ms == 0 {
                    return Err(bad());
                }
                Ok(SyncPolicy::IntervalMs(ms))
            }
        }
    }
}

/// The contents of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Format version of the store's files.
    pub format_version: u32,
    /// The store's engine.
    pub engine: EngineKind,
    /// When writes are synced.
    pub sync: SyncPolicy,
    /// Size at which the bitcask engine begins a new data file, in bytes.
    pub max_file_size: u64,
    /// When the store was created, Unix ms.
    pub created_ms: u64,
}

impl Manifest {
    /// A manifest for a new store with default options.
    pub fn new(engine: EngineKind, created_ms: u64) -> Manifest {
        Manifest {
            format_version: MANIFEST_VERSION,
            engine,
            sync: SyncPolicy::Always,
            max_file_size: MAX_FILE_SIZE_DEFAULT,
            created_ms,
        }
    }

    /// Checks the options' ranges.
    pub fn validate(&self) -> Result<()> {
        if !(MAX_FILE_SIZE_MIN..=MAX_FILE_SIZE_MAX).contains(&self.max_file_size) {
            return Err(Error::InvalidInput(format!(
                "max file size {} is out of range: it must be between {MAX_FILE_SIZE_MIN} \
                 and {MAX_FILE_SIZE_MAX} bytes",
                self.max_file_size
            )));
        }
        Ok(())
    }

    /// The manifest's text, checksum line included.
    pub fn encode(&self) -> String {
        let body = format!(
            "{MANIFEST_MAGIC}\nformat {}\nengine {}\nsync {}\nmax-file-size {}\ncreated-ms {}\n",
            self.format_version, self.engine, self.sync, self.max_file_size, self.created_ms
        );
        let crc = crc32fast::hash(body.as_bytes());
        format!("{body}crc32 {crc:08x}\n")
    }

    /// Parses a manifest read from `path` (used in error messages).
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Manifest> {
        let store_dir = path.parent().unwrap_or(path);
        let not_a_store = |reason: &str| Error::NotAStore {
            path: store_dir.to_path_buf(),
            reason: reason.to_string(),
        };
        if !bytes.starts_with(format!("{MANIFEST_MAGIC}\n").as_bytes()) {
            return Err(not_a_store(
                "its HOARD file is not a hoard manifest; hoard will not write to it (if this \
                 is a hoard store whose manifest was damaged, `hoard init --force-manifest` \
                 writes a fresh one and keeps the damaged file)",
            ));
        }
        let corrupt = |offset: usize, kind| Error::Corrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            kind,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|e| corrupt(e.valid_up_to(), CorruptKind::Header))?;
        let crc_at = text
            .rfind("crc32 ")
            .ok_or_else(|| corrupt(text.len(), CorruptKind::Truncated))?;
        let (body, crc_line) = text.split_at(crc_at);
        // Compare the whole line with its one canonical spelling: parsing
        // the digits alone would accept `A` for `a` (a one-bit change).
        let expected = format!("crc32 {:08x}\n", crc32fast::hash(body.as_bytes()));
        if crc_line != expected {
            let well_formed = crc_line.len() == expected.len()
                && crc_line.starts_with("crc32 ")
                && crc_line.ends_with('\n');
            let kind = if well_formed {
                CorruptKind::Checksum
            } else {
                CorruptKind::Header
            };
            return Err(corrupt(if well_formed { 0 } else { crc_at }, kind));
        }
        let mut format_version = None;
        let mut engine = None;
        let mut sync = None;
        let mut max_file_size = None;
        let mut created_ms = None;
        let mut offset = MANIFEST_MAGIC.len() + 1;
        for line in body.lines().skip(1) {
            let bad = || corrupt(offset, CorruptKind::Header);
            let (name, value) = line.split_once(' ').ok_or_else(bad)?;
            match name {
                "format" => format_version = Some(value.parse::<u32>().map_err(|_| bad())?),
                "engine" => engine = Some(value.parse::<EngineKind>().map_err(|_| bad())?),
                "sync" => sync = Some(value.parse::<SyncPolicy>().map_err(|_| bad())?),
                "max-file-size" => max_file_size = Some(value.parse::<u64>().map_err(|_| bad())?),
                "created-ms" => created_ms = Some(value.parse::<u64>().map_err(|_| bad())?),
                _ => return Err(bad()),
            }
            offset += line.len() + 1;
        }
        let missing = || corrupt(crc_at, CorruptKind::Truncated);
        let manifest = Manifest {
            format_version: format_version.ok_or_else(missing)?,
            engine: engine.ok_or_else(missing)?,
            sync: sync.ok_or_else(missing)?,
            max_file_size: max_file_size.ok_or_else(missing)?,
            created_ms: created_ms.ok_or_else(missing)?,
        };
        if manifest.format_version > MANIFEST_VERSION {
            return Err(Error::Unsupported(format!(
                "{} was written by a newer hoard (format {}); this build reads format {MANIFEST_VERSION}",
                path.display(),
                manifest.format_version
            )));
        }
        manifest
            .validate()
            .map_err(|_| corrupt(0, CorruptKind::Header))?;
        Ok(manifest)
    }

    /// Refuses a store of an older format: only `hoard upgrade` opens one.
    pub fn check_current(&self, dir: &Path) -> Result<()> {
        if self.format_version < MANIFEST_VERSION {
            return Err(Error::Unsupported(format!(
                "the store at {} is in format {}, older than this build's format {MANIFEST_VERSION}; \
                 run `hoard upgrade` on it (`hoard -d {} upgrade`) to rewrite it crash-safely; \
                 nothing else reads it",
                dir.display(),
                self.format_version,
                dir.display()
            )));
        }
        Ok(())
    }

    /// Reads the manifest of the store at `dir`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = fs::read_small_file(&path, MANIFEST_LEN_MAX)?;
        Manifest::decode(&bytes, &path)
    }

    /// Writes the manifest into `dir` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        fs::write_file_atomic(dir, MANIFEST_FILE, self.encode().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format_version: 1,
            engine: EngineKind::Bitcask,
            sync: SyncPolicy::IntervalMs(250),
            max_file_size: 4096,
            created_ms: 1_763_700_000_000,
        }
    }

    #[test]
    fn manifest_round_trips() {
        let text = sample().encode();
        assert_eq!(
            Manifest::decode(text.as_bytes(), Path::new("d/HOARD")).unwrap(),
            sample()
        );
    }

    #[test]
    fn every_single_bit_flip_of_a_manifest_is_refused() {
        let text = sample().encode().into_bytes();
        for bit in 0..text.len() * 8 {
            let mut damaged = text.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(
                Manifest::decode(&damaged, Path::new("d/HOARD")).is_err(),
                "flip of bit {bit} went unnoticed"
            );
        }
    }

    #[test]
    fn sync_policies_parse_and_print() {
        for text in ["always", "never", "interval:1000"] {
            assert_eq!(text.parse::<SyncPolicy>().unwrap().to_string(), text);
        }
        for bad in ["", "sometimes", "interval:", "interval:0", "interval:-5"] {
            assert!(bad.parse::<SyncPolicy>().is_err(), "{bad:?} accepted");
        }
    }
}
