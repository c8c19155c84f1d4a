//! The append-only file: every write since the snapshot of the same
//! generation, as records of the shared codec (a SET of the resulting
//! value with its absolute expiry, or a tombstone), each bound to its place
//! and carrying the durable length of the file when it was written.
//! Replaying it twice gives the same state, so a crash that leaves records
//! both in a snapshot and in an AOF is harmless. A rewrite switches to a
//! new generation in one commit of the file list, so only one AOF is ever
//! listed; the format still requires any older listed AOF to be sealed.

use std::path::{Path, PathBuf};

use crate::error::{CorruptKind, Result};
use crate::format::file_header::{FileHeader, HEADER_LEN};
use crate::format::record::{self, Place, Record, RecordKind};
use crate::fs::{self, File};
use crate::layout::{self, AOF_MAGIC};
use crate::log::{self, Role, ScanEnd, Survey};

/// An AOF open for appending or replay.
#[derive(Debug)]
pub struct Aof {
    uid: u64,
    path: PathBuf,
    file: File,
    /// Valid bytes, buffered appends included.
    len: u64,
    /// Bytes known durable: every record written claims it.
    durable: u64,
    /// Records in the file.
    records: u64,
    /// Appended records not yet written to the file (bulk loads only).
    pending: Vec<u8>,
    /// What is wrong with the header, when opened for a survey despite it.
    header_problem: Option<CorruptKind>,
}

impl Aof {
    /// Creates an empty AOF durably (header written and synced under a
    /// temporary name, renamed, directory synced).
    pub fn create(dir: &Path, generation: u64) -> Result<Aof> {
        let path = dir.join(layout::aof_file_name(generation));
        let temp = fs::temp_path_for(&path);
        fs::remove_file_if_exists(&temp)?;
        let file = fs::create_new_private(&temp)?;
        let uid = layout::new_uid();
        let header = FileHeader::new(AOF_MAGIC, generation, uid);
        fs::write_all_at(&file, &temp, &header.encode(), 0)?;
        fs::sync_data(&file, &temp)?;
        fs::rename(&temp, &path)?;
        fs::sync_dir(dir)?;
        Ok(Aof {
            uid,
            path,
            file,
            len: HEADER_LEN as u64,
            durable: HEADER_LEN as u64,
            records: 0,
            pending: Vec::new(),
            header_problem: None,
        })
    }

    /// Opens an existing AOF; `writable` for the one being appended to.
    /// With `strict`, a damaged header is an error; without (verify and
    /// repair), it is remembered and the uid taken from its bytes.
    pub fn open(dir: &Path, generation: u64, writable: bool, strict: bool) -> Result<Aof> {
        let path = dir.join(layout::aof_file_name(generation));
        let file = if writable {
            fs::open_read_write(&path)?
        } else {
            fs::open_read(&path)?
        };
        let len = fs::file_len(&file, &path)?;
        let (uid, header_problem) =
            log::read_header(&file, &path, len, AOF_MAGIC, generation, strict)?;
        Ok(Aof {
            uid,
            path,
            file,
            len,
            durable: 0,
            records: 0,
            pending: Vec::new(),
            header_problem,
        })
    }

    /// Bytes of valid records and header.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Replays every record into `apply` by the rules of `role` (`crate::log`);
    /// a torn tail is reported rather than an error. Remembers the valid length.
    pub fn replay(&mut self, role: Role, apply: impl FnMut(u64, &Record<'_>)) -> Result<ScanEnd> {
        let size = fs::file_len(&self.file, &self.path)?;
        let end = log::scan(
            &self.file,
            &self.path,
            self.uid,
            size,
            HEADER_LEN as u64,
            role,
            apply,
        )?;
        self.len = end.valid_len;
        self.records = end.records;
        Ok(end)
    }

    /// Reads every record, resynchronising past damage (for verify and repair).
    pub fn survey(&self, role: Role, mut apply: impl FnMut(u64, &Record<'_>)) -> Result<Survey> {
        let size = fs::file_len(&self.file, &self.path)?;
        let mut survey = log::survey(
            &self.file,
            &self.path,
            self.uid,
            size,
            HEADER_LEN as u64,
            role,
            &mut apply,
        )?;
        survey.header = self.header_problem;
        Ok(survey)
    }

    /// The AOF's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file (to keep a torn tail before it is cut).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Cuts the file back to its valid length and syncs it (dropping a
    /// torn tail the caller has kept a copy of).
    pub fn truncate_to_valid(&mut self) -> Result<()> {
        fs::set_len(&self.file, &self.path, self.len)?;
        self.sync()
    }

    /// Encodes a record for the end of the AOF and appends it to the buffer,
    /// written out past 1 MiB and by `flush`.
    pub fn append_record(
        &mut self,
        kind: RecordKind,
        key: &[u8],
        value: &[u8],
        expiry_ms: u64,
    ) -> Result<()> {
        const PENDING_MAX: usize = 1 << 20;
        let len = record::encoded_len(key.len(), value.len());
        if !self.pending.is_empty() && self.pending.len() + len > PENDING_MAX {
            self.flush()?;
        }
        record::encode_into(
            &mut self.pending,
            &Record {
                kind,
                expiry_ms,
                key,
                value,
                durable_len: self.durable,
            },
            Place::new(self.uid, self.len),
        );
        self.len += len as u64;
        self.records += 1;
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
        fs::sync_data(&self.file, &self.path)?;
        self.durable = self.len;
        Ok(())
    }
}
