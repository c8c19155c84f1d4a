//! One data file: a file header (with the file's random identity), then
//! records, appended to while the file is active; sealed by a footer when
//! it stops being active, and never changed after. Sealed files are read
//! through a memory map made on first use; the active file through
//! positioned reads.
//!
//! Replaying and surveying records is `crate::log`'s job, shared with the
//! memory engine's append-only log.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use memmap2::Mmap;

use crate::error::{CorruptKind, Error, Result};
use crate::format::file_header::{FileHeader, HEADER_LEN};
use crate::format::footer::{FOOTER_LEN, Footer};
use crate::format::record::Record;
use crate::fs::{self, File};
use crate::layout::{self, DATA_MAGIC};
use crate::log::{self, Role, ScanEnd, Survey};
use crate::mmap;

/// Identifies a data file and orders it among the others: a later id holds
/// newer records. The high 48 bits are the file's generation; the low 16
/// bits number the outputs of a merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u64);

impl FileId {
    /// The id of a store's first data file.
    pub const FIRST: FileId = FileId(1 << layout::DATA_MINOR_BITS);

    /// The id a new file gets after this one.
    pub fn next_generation(self) -> FileId {
        FileId(((self.0 >> layout::DATA_MINOR_BITS) + 1) << layout::DATA_MINOR_BITS)
    }

    /// The file's name: `GGGGGGGGGG-MMMMM.data`.
    pub fn file_name(self) -> String {
        layout::data_file_name(self.0)
    }

    /// Parses a data file's name; `None` for any other file.
    pub fn parse(name: &str) -> Option<FileId> {
        layout::parse_data_file_name(name).map(FileId)
    }
}

/// The bytes of a sealed file: mapped when the file is real, read
/// once when it is not (a simulated file cannot be mapped).
#[derive(Debug)]
enum Image {
    Mapped(Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Image {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Image::Mapped(map) => map,
            Image::Read(bytes) => bytes,
        }
    }
}

/// An open data file.
#[derive(Debug)]
pub struct DataFile {
    id: FileId,
    uid: u64,
    path: PathBuf,
    file: File,
    /// End of the valid records (a torn tail ignored by a reader, and a
    /// footer, lie beyond it), buffered appends included.
    len: u64,
    /// Bytes of the file known durable: every record written carries it.
    durable: u64,
    /// The durable length the last record read by a scan claims.
    last_durable: u64,
    /// Records in the file, when known (a hinted open knows only those after the watermark).
    records: Option<u64>,
    /// Appended records not yet written to the file (bulk loads only).
    pending: Vec<u8>,
    /// Bytes of the file on disk (zeros written ahead and the footer included).
    allocated: u64,
    /// Whether to write zeros ahead of the records (for `sync=always`).
    preallocate: bool,
    /// Whether the file ends with its footer: it takes no more records.
    sealed: bool,
    /// Whether reads go through a memory map: sealed files, and every file
    /// of a reader (which holds the shared lock, so nothing changes them).
    mapped: bool,
    /// What is wrong with the header, when opened for a survey despite it.
    header_problem: Option<CorruptKind>,
    map: OnceLock<Image>,
}

impl DataFile {
    /// Creates a new, empty data file durably: header written and synced
    /// under a temporary name, renamed, directory synced.
    pub fn create(dir: &Path, id: FileId) -> Result<DataFile> {
        let path = dir.join(id.file_name());
        let temp = fs::temp_path_for(&path);
        fs::remove_file_if_exists(&temp)?;
        let file = fs::create_new_private(&temp)?;
        let uid = layout::new_uid();
        fs::write_all_at(
            &file,
            &temp,
            &FileHeader::new(DATA_MAGIC, id.0, uid).encode(),
            0,
        )?;
        fs::sync_data(&file, &temp)?;
        fs::rename(&temp, &path)?;
        fs::sync_dir(dir)?;
        Ok(DataFile {
            id,
            uid,
            path,
            file,
            len: HEADER_LEN as u64,
            durable: HEADER_LEN as u64,
            last_durable: HEADER_LEN as u64,
            records: Some(0),
            pending: Vec::new(),
            allocated: HEADER_LEN as u64,
            preallocate: false,
            sealed: false,
            mapped: false,
            header_problem: None,
            map: OnceLock::new(),
        })
    }

    /// Opens an existing data file and checks its header; `writable` for
    /// the active file of a writer, `role` says whether it must be sealed.
    pub fn open(dir: &Path, id: FileId, writable: bool, role: Role) -> Result<DataFile> {
        DataFile::open_checked(dir, id, writable, role, true)
    }

    /// Opens a data file for `verify` and repair: a damaged header is
    /// remembered (see `header_problem`) instead of refused, and the uid is
    /// taken from its bytes, so the records can still be checked.
    pub fn open_for_survey(dir: &Path, id: FileId, role: Role) -> Result<DataFile> {
        DataFile::open_checked(dir, id, false, role, false)
    }

    fn open_checked(
        dir: &Path,
        id: FileId,
        writable: bool,
        role: Role,
        strict: bool,
    ) -> Result<DataFile> {
        let path = dir.join(id.file_name());
        let file = if writable {
            fs::open_read_write(&path)?
        } else {
            fs::open_read(&path)?
        };
        let size = fs::file_len(&file, &path)?;
        let (uid, header_problem) = log::read_header(&file, &path, size, DATA_MAGIC, id.0, strict)?;
        let sealed = role == Role::Sealed;
        let len = if sealed {
            size.saturating_sub(FOOTER_LEN as u64)
                .max(HEADER_LEN as u64)
        } else {
            size
        };
        Ok(DataFile {
            id,
            uid,
            path,
            file,
            len,
            durable: 0,
            last_durable: HEADER_LEN as u64,
            records: None,
            pending: Vec::new(),
            allocated: size,
            preallocate: false,
            sealed,
            mapped: sealed || !writable,
            header_problem,
            map: OnceLock::new(),
        })
    }

    /// The file's id.
    pub fn id(&self) -> FileId {
        self.id
    }

    /// The file's random identity (record checksums are bound to it).
    pub fn uid(&self) -> u64 {
        self.uid
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// End of the valid records.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Bytes known durable, which the next record written claims.
    pub fn durable(&self) -> u64 {
        self.durable
    }

    /// Bytes the file occupies on disk (zeros written ahead and the footer included).
    pub fn disk_len(&self) -> u64 {
        self.allocated.max(self.len)
    }

    /// Whether the file holds no records.
    pub fn is_empty(&self) -> bool {
        self.len <= HEADER_LEN as u64
    }

    /// Whether the file is sealed by its footer.
    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// Records in the file: known from a scan, else read from its footer.
    pub fn record_count(&self) -> Result<Option<u64>> {
        if let Some(n) = self.records {
            return Ok(Some(n));
        }
        if self.sealed {
            let mut bytes = [0u8; FOOTER_LEN];
            fs::read_exact_at(&self.file, &self.path, &mut bytes, self.len)?;
            return Ok(Footer::decode(&bytes, self.uid, self.len).map(|f| f.record_count));
        }
        Ok(None)
    }

    /// Sets the record count known before `self.len` (from the hint).
    pub fn set_record_count(&mut self, records: u64) {
        self.records = Some(records);
    }

    /// Replays the file's records from offset `from` (0 = from the first
    /// record) into `apply`, checking every record by the rules of its role
    /// (`crate::log`). The valid length is remembered; a torn tail is
    /// reported in the result.
    pub fn scan(&mut self, from: u64, apply: impl FnMut(u64, &Record<'_>)) -> Result<ScanEnd> {
        // A replay reads the file itself: buffered records go there first.
        self.flush()?;
        let from = from.max(HEADER_LEN as u64);
        let size = self.allocated.max(self.len);
        let role = if self.sealed {
            Role::Sealed
        } else {
            Role::Newest
        };
        let end = log::scan(&self.file, &self.path, self.uid, size, from, role, apply)?;
        self.len = end.valid_len;
        self.last_durable = end.last_durable;
        if end.footer.is_some() {
            self.sealed = true;
        }
        self.records = match (self.records, from == HEADER_LEN as u64) {
            (_, true) => Some(end.records),
            (Some(before), false) => Some(before + end.records),
            (None, false) => None,
        };
        Ok(end)
    }

    /// Cuts the file back to its valid length and syncs it (dropping a
    /// torn tail the caller has kept a copy of).
    pub fn truncate_to_valid(&mut self) -> Result<()> {
        fs::set_len(&self.file, &self.path, self.len)?;
        self.allocated = self.len;
        fs::sync_data(&self.file, &self.path)?;
        self.durable = self.len;
        Ok(())
    }

    /// Makes the whole file durable before a writer's records claim it:
    /// rewrites the bytes no record vouches for as durable (a failed sync in
    /// an earlier process may have left them clean in the cache but not on
    /// disk), then syncs.
    pub fn make_durable(&mut self) -> Result<()> {
        let from = self.last_durable.max(HEADER_LEN as u64);
        if from < self.len {
            self.flush()?;
            log::rewrite_range(&self.file, &self.path, from, self.len)?;
        }
        self.sync()
    }

    /// Cuts whatever follows the footer of a file found sealed while it was
    /// the newest (zeros a power cut left while it was being sealed), and
    /// syncs: a sealed file ends with its footer.
    pub fn cut_after_footer(&mut self) -> Result<bool> {
        let end = self.len + FOOTER_LEN as u64;
        if !self.sealed || self.allocated <= end {
            return Ok(false);
        }
        fs::set_len(&self.file, &self.path, end)?;
        fs::sync_data(&self.file, &self.path)?;
        self.allocated = end;
        Ok(true)
    }

    /// Appends encoded records to the buffer; returns the offset of their
    /// first byte. The buffer is written out when it grows past 1 MiB and
    /// by `flush`.
    pub fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        debug_assert!(!self.sealed, "a sealed file takes no records");
        const PENDING_MAX: usize = 1 << 20;
        if !self.pending.is_empty() && self.pending.len() + bytes.len() > PENDING_MAX {
            self.flush()?;
        }
        let offset = self.len;
        self.pending.extend_from_slice(bytes);
        self.len += bytes.len() as u64;
        self.records = self.records.map(|n| n + 1);
        Ok(offset)
    }

    /// Writes zeros ahead of the records from now on, so that a sync after
    /// an append flushes data only: overwriting written blocks needs no
    /// metadata, growing the file does.
    pub fn set_preallocate(&mut self, on: bool) {
        self.preallocate = on;
    }

    /// Writes buffered records to the file (not yet to the disk).
    pub fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let at = self.len - self.pending.len() as u64;
        if self.preallocate && self.len > self.allocated {
            const STEP: u64 = 1 << 20;
            let target = self.len.div_ceil(STEP) * STEP + STEP;
            let zeros = vec![0u8; (target - self.allocated) as usize];
            fs::write_all_at(&self.file, &self.path, &zeros, self.allocated)?;
            self.allocated = target;
        }
        fs::write_all_at(&self.file, &self.path, &self.pending, at)?;
        self.pending.clear();
        self.allocated = self.allocated.max(self.len);
        Ok(())
    }

    /// Writes buffered records and flushes the file's data to the disk.
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        fs::sync_data(&self.file, &self.path)?;
        self.durable = self.len;
        Ok(())
    }

    /// Seals the file: writes out buffered records, cuts zeros written
    /// ahead, writes the footer and syncs, whatever the sync policy. Later
    /// reads go through a memory map.
    pub fn seal(&mut self) -> Result<()> {
        self.flush()?;
        let records = match self.record_count()? {
            Some(n) => n,
            None => {
                // Count the records (a hinted open knew only the tail's).
                let mut n = 0;
                log::scan(
                    &self.file,
                    &self.path,
                    self.uid,
                    self.len,
                    HEADER_LEN as u64,
                    Role::Newest,
                    |_, _| n += 1,
                )?;
                n
            }
        };
        if self.allocated > self.len {
            // The cut must be durable before the footer is written: a power
            // cut could otherwise keep the footer and not the shorter
            // length, leaving zeros after it.
            fs::set_len(&self.file, &self.path, self.len)?;
            fs::sync_data(&self.file, &self.path)?;
        }
        let footer = Footer {
            records_end: self.len,
            record_count: records,
        };
        fs::write_all_at(&self.file, &self.path, &footer.encode(self.uid), self.len)?;
        fs::sync_data(&self.file, &self.path)?;
        self.allocated = self.len + FOOTER_LEN as u64;
        self.durable = self.allocated;
        self.records = Some(records);
        self.sealed = true;
        self.mapped = true;
        Ok(())
    }

    /// `len` bytes at `offset`, borrowed from the map or read from the file.
    pub fn read(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        let end = offset
            .checked_add(len as u64)
            .filter(|end| *end <= self.len);
        let Some(end) = end else {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset,
                kind: CorruptKind::Truncated,
            });
        };
        if self.mapped {
            Ok(Cow::Borrowed(&self.map()?[offset as usize..end as usize]))
        } else if let Some(at) = offset.checked_sub(self.len - self.pending.len() as u64) {
            // Still in the buffer (records never straddle its start).
            Ok(Cow::Borrowed(&self.pending[at as usize..at as usize + len]))
        } else {
            let mut buf = vec![0u8; len];
            fs::read_exact_at(&self.file, &self.path, &mut buf, offset)?;
            Ok(Cow::Owned(buf))
        }
    }

    fn map(&self) -> Result<&[u8]> {
        if let Some(image) = self.map.get() {
            return Ok(&image[..self.len as usize]);
        }
        let image = match self.file.std_file() {
            Some(file) => Image::Mapped(mmap::map_read_only(file, &self.path)?),
            None => Image::Read(fs::read_all(&self.file, &self.path)?),
        };
        if (image.len() as u64) < self.len {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset: image.len() as u64,
                kind: CorruptKind::Truncated,
            });
        }
        Ok(&self.map.get_or_init(|| image)[..self.len as usize])
    }

    /// Reads the whole file and reports every problem instead of stopping
    /// at the first (see `log::survey`). `apply` sees every valid record kept.
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

    /// Bytes `offset..offset+len` of the file on disk, whatever the valid length.
    pub fn read_raw(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        fs::read_exact_at(&self.file, &self.path, &mut buf, offset)?;
        Ok(buf)
    }

    /// The open file, for copying and keeping torn tails.
    pub fn file(&self) -> &File {
        &self.file
    }
}
