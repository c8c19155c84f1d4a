//! The append-only file: every write since the snapshot of the same
//! generation, as records of the shared codec (a SET of the resulting
//! value with its absolute expiry, or a tombstone). Replaying it twice
//! gives the same state, so a crash that leaves records both in a snapshot
//! and in an AOF is harmless.

use std::path::{Path, PathBuf};

use crate::error::{CorruptKind, Error, Result};
use crate::format::file_header::{FORMAT_VERSION, FileHeader, HEADER_LEN, HeaderError};
use crate::format::record::Record;
use crate::fs::{self, File};
use crate::log::{self, ScanEnd, Survey};

/// Magic bytes of an AOF.
pub const AOF_MAGIC: [u8; 8] = *b"HOARDAOF";

/// File name of the AOF of generation `generation`.
pub fn file_name(generation: u64) -> String {
    format!("memory-{generation:010}.aof")
}

/// The generation of an AOF's file name.
pub fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("memory-")?.strip_suffix(".aof")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())?
}

/// An AOF open for appending or replay.
#[derive(Debug)]
pub struct Aof {
    generation: u64,
    path: PathBuf,
    file: File,
    /// Valid bytes, buffered appends included.
    len: u64,
    /// Appended records not yet written to the file (bulk loads only).
    pending: Vec<u8>,
}

impl Aof {
    /// Creates an empty AOF durably (header written and synced under a
    /// temporary name, renamed, directory synced).
    pub fn create(dir: &Path, generation: u64) -> Result<Aof> {
        let path = dir.join(file_name(generation));
        let temp = fs::temp_path_for(&path);
        fs::remove_file_if_exists(&temp)?;
        let file = fs::create_new_private(&temp)?;
        let header = FileHeader {
            magic: AOF_MAGIC,
            version: FORMAT_VERSION,
            file_id: generation,
        };
        fs::write_all_at(&file, &temp, &header.encode(), 0)?;
        fs::sync_data(&file, &temp)?;
        fs::rename(&temp, &path)?;
        fs::sync_dir(dir)?;
        Ok(Aof {
            generation,
            path,
            file,
            len: HEADER_LEN as u64,
            pending: Vec::new(),
        })
    }

    /// Opens an existing AOF; `writable` for the one being appended to.
    pub fn open(dir: &Path, generation: u64, writable: bool) -> Result<Aof> {
        let path = dir.join(file_name(generation));
        let file = if writable {
            fs::open_read_write(&path)?
        } else {
            fs::open_read(&path)?
        };
        let len = fs::file_len(&file, &path)?;
        Ok(Aof {
            generation,
            path,
            file,
            len,
            pending: Vec::new(),
        })
    }

    /// Bytes of valid records and header.
    pub fn len(&self) -> u64 {
        self.len
    }

    fn read_all(&self) -> Result<Vec<u8>> {
        fs::read_all(&self.file, &self.path)
    }

    fn header_problem(&self, bytes: &[u8]) -> Option<Error> {
        let corrupt = |kind| Error::Corrupt {
            path: self.path.clone(),
            offset: 0,
            kind,
        };
        match FileHeader::decode(bytes, AOF_MAGIC) {
            Ok(h) if h.file_id == self.generation => None,
            Ok(_) => Some(corrupt(CorruptKind::Header)),
            Err(HeaderError::Short) => Some(corrupt(CorruptKind::Truncated)),
            Err(HeaderError::Corrupt(kind)) => Some(corrupt(kind)),
            Err(HeaderError::NewerVersion(v)) => Some(Error::Unsupported(format!(
                "{} was written by a newer hoard (format {v})",
                self.path.display()
            ))),
        }
    }

    /// Replays every record into `apply`; with `newest`, a torn tail is
    /// reported rather than an error. Remembers the valid length.
    pub fn replay(&mut self, newest: bool, apply: impl FnMut(u64, &Record<'_>)) -> Result<ScanEnd> {
        let bytes = self.read_all()?;
        if let Some(e) = self.header_problem(&bytes) {
            return Err(e);
        }
        let end = log::scan_records(
            &bytes[HEADER_LEN..],
            HEADER_LEN as u64,
            &self.path,
            newest,
            apply,
        )?;
        self.len = end.valid_len;
        Ok(end)
    }

    /// Reads every record, resynchronising past damage (for verify and repair).
    pub fn survey(&self, newest: bool, mut apply: impl FnMut(u64, &Record<'_>)) -> Result<Survey> {
        let bytes = self.read_all()?;
        let header = self.header_problem(&bytes).map(|e| match e {
            Error::Corrupt { kind, .. } => kind,
            _ => CorruptKind::Header,
        });
        let start = HEADER_LEN.min(bytes.len());
        let mut survey = log::survey_records(&bytes[start..], start as u64, newest, &mut apply);
        survey.header = header;
        survey.file_len = bytes.len() as u64;
        Ok(survey)
    }

    /// The AOF's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Cuts the file back to its valid length and syncs it (dropping a torn tail).
    pub fn truncate_to_valid(&mut self) -> Result<()> {
        fs::set_len(&self.file, &self.path, self.len)?;
        fs::sync_data(&self.file, &self.path)
    }

    /// Appends encoded records to the buffer, written out past 1 MiB and by `flush`.
    pub fn append(&mut self, bytes: &[u8]) -> Result<()> {
        const PENDING_MAX: usize = 1 << 20;
        if !self.pending.is_empty() && self.pending.len() + bytes.len() > PENDING_MAX {
            self.flush()?;
        }
        self.pending.extend_from_slice(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Writes buffered records to the file (not yet to the disk).
    pub fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let at = self.len - self.pending.len() as u64;
        fs::write_all_at(&self.file, &self.path, &self.pending, at)?;
        self.pending.clear();
        Ok(())
    }

    /// Writes buffered records and flushes the file's data to the disk.
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        fs::sync_data(&self.file, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(file_name(7), "memory-0000000007.aof");
        assert_eq!(parse_name(&file_name(7)), Some(7));
        assert_eq!(parse_name("memory-.aof"), None);
        assert_eq!(parse_name("memory-0000000007.aof.tmp"), None);
    }
}
