//! One data file: a file header followed by records, appended to while the
//! file is active and never changed once it is not. Immutable files are
//! read through a memory map made on first use; the active file through
//! positioned reads.
//!
//! Replaying and surveying records is `crate::log`'s job, shared with the
//! memory engine's append-only log.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use memmap2::Mmap;

use crate::error::{CorruptKind, Error, Result};
use crate::format::file_header::{DATA_MAGIC, FORMAT_VERSION, FileHeader, HEADER_LEN, HeaderError};
use crate::format::record::Record;
use crate::fs::{self, File};
use crate::log::{self, ScanEnd, Survey};
use crate::mmap;

/// Identifies a data file and orders it among the others: a later id holds
/// newer records. The high 48 bits are the file's generation; the low 16
/// bits number the outputs of a merge, which slot in after the generation
/// they replace and before the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u64);

const MINOR_BITS: u32 = 16;
const DATA_SUFFIX: &str = ".data";

impl FileId {
    /// The id of a store's first data file.
    pub const FIRST: FileId = FileId(1 << MINOR_BITS);

    /// The id a new active file gets after this one.
    pub fn next_generation(self) -> FileId {
        FileId(((self.0 >> MINOR_BITS) + 1) << MINOR_BITS)
    }

    /// The file's name: `GGGGGGGGGG-MMMMM.data`.
    pub fn file_name(self) -> String {
        format!(
            "{:010}-{:05}{DATA_SUFFIX}",
            self.0 >> MINOR_BITS,
            self.0 & ((1 << MINOR_BITS) - 1)
        )
    }

    /// Parses a data file's name; `None` for any other file.
    pub fn parse(name: &str) -> Option<FileId> {
        let stem = name.strip_suffix(DATA_SUFFIX)?;
        let (generation, minor) = stem.split_once('-')?;
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(generation) || !all_digits(minor) {
            return None;
        }
        let generation: u64 = generation.parse().ok()?;
        let minor: u64 = minor.parse().ok()?;
        if generation >= 1 << (64 - MINOR_BITS) || minor >= 1 << MINOR_BITS {
            return None;
        }
        Some(FileId(generation << MINOR_BITS | minor))
    }
}

/// The bytes of an immutable file: mapped when the file is real, read
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
    path: PathBuf,
    file: File,
    /// Bytes of the file that hold valid records (a torn tail ignored by a
    /// reader lies beyond it), buffered appends included.
    len: u64,
    /// Appended records not yet written to the file (bulk loads only).
    pending: Vec<u8>,
    /// Bytes of the file on disk (zeros written ahead of `len` included).
    allocated: u64,
    /// Whether to write zeros ahead of the records (for `sync=always`).
    preallocate: bool,
    /// Whether reads go through the image (immutable files) or `pread` (the active file).
    mapped: bool,
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
        let header = FileHeader {
            magic: DATA_MAGIC,
            version: FORMAT_VERSION,
            file_id: id.0,
        };
        fs::write_all_at(&file, &temp, &header.encode(), 0)?;
        fs::sync_data(&file, &temp)?;
        fs::rename(&temp, &path)?;
        fs::sync_dir(dir)?;
        Ok(DataFile {
            id,
            path,
            file,
            len: HEADER_LEN as u64,
            pending: Vec::new(),
            allocated: HEADER_LEN as u64,
            preallocate: false,
            mapped: false,
            map: OnceLock::new(),
        })
    }

    /// Opens an existing data file; `writable` for the active file of a writer.
    pub fn open(dir: &Path, id: FileId, writable: bool) -> Result<DataFile> {
        let path = dir.join(id.file_name());
        let file = if writable {
            fs::open_read_write(&path)?
        } else {
            fs::open_read(&path)?
        };
        let len = fs::file_len(&file, &path)?;
        Ok(DataFile {
            id,
            path,
            file,
            len,
            pending: Vec::new(),
            allocated: len,
            preallocate: false,
            mapped: !writable,
            map: OnceLock::new(),
        })
    }

    /// The file's id.
    pub fn id(&self) -> FileId {
        self.id
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length of the valid part of the file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Bytes the file occupies on disk (zeros written ahead of the records included).
    pub fn disk_len(&self) -> u64 {
        self.allocated.max(self.len)
    }

    /// Whether the file holds no records.
    pub fn is_empty(&self) -> bool {
        self.len <= HEADER_LEN as u64
    }

    /// Replays the file's records from offset `from` (0 = the whole file,
    /// header included) into `apply`, checking every record. With `newest`,
    /// a bad region with no valid record after it is a torn tail, reported
    /// in the result; anything else that fails a check is `Error::Corrupt`.
    /// The valid length is remembered.
    pub fn scan(
        &mut self,
        newest: bool,
        from: u64,
        apply: impl FnMut(u64, &Record<'_>),
    ) -> Result<ScanEnd> {
        // A replay reads the file itself: buffered records go there first.
        self.flush()?;
        let from = if from <= HEADER_LEN as u64 {
            if self.len < HEADER_LEN as u64 {
                return Err(Error::Corrupt {
                    path: self.path.clone(),
                    offset: 0,
                    kind: CorruptKind::Truncated,
                });
            }
            // An I/O error here is an I/O error, not damage.
            let header = self.read(0, HEADER_LEN)?;
            check_header(&header, self.id, &self.path)?;
            HEADER_LEN as u64
        } else {
            from
        };
        if from > self.len {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset: self.len,
                kind: CorruptKind::Truncated,
            });
        }
        let owned;
        let bytes: &[u8] = if self.mapped {
            &self.map()?[from as usize..]
        } else {
            // The active file is read plainly, never mapped: a torn tail
            // may be truncated right after this scan.
            let mut buf = vec![0u8; (self.len - from) as usize];
            fs::read_exact_at(&self.file, &self.path, &mut buf, from)?;
            owned = buf;
            &owned
        };
        let end = log::scan_records(bytes, from, &self.path, newest, apply)?;
        self.len = end.valid_len;
        Ok(end)
    }

    /// Cuts the file back to its valid length and syncs it (dropping a torn tail).
    pub fn truncate_to_valid(&mut self) -> Result<()> {
        debug_assert!(!self.mapped, "a mapped file is never truncated");
        fs::set_len(&self.file, &self.path, self.len)?;
        self.allocated = self.len;
        fs::sync_data(&self.file, &self.path)
    }

    /// Appends encoded records to the buffer; returns the offset of their
    /// first byte. The buffer is written out when it grows past 1 MiB and
    /// by `flush`.
    pub fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        debug_assert!(!self.mapped, "only the active file is appended to");
        const PENDING_MAX: usize = 1 << 20;
        if !self.pending.is_empty() && self.pending.len() + bytes.len() > PENDING_MAX {
            self.flush()?;
        }
        let offset = self.len;
        self.pending.extend_from_slice(bytes);
        self.len += bytes.len() as u64;
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

    /// Cuts zeros written ahead of the records (before the file is
    /// sealed); true if there were any, so the caller syncs the new size.
    pub fn trim(&mut self) -> Result<bool> {
        if self.allocated > self.len {
            fs::set_len(&self.file, &self.path, self.len)?;
            self.allocated = self.len;
            return Ok(true);
        }
        Ok(false)
    }

    /// Writes buffered records and flushes the file's data to the disk.
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        fs::sync_data(&self.file, &self.path)
    }

    /// Marks the file immutable: later reads go through a memory map. The
    /// caller has flushed it.
    pub fn seal(&mut self) {
        debug_assert!(self.pending.is_empty(), "sealed with buffered records");
        self.mapped = true;
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
}

fn check_header(bytes: &[u8], id: FileId, path: &Path) -> Result<()> {
    let corrupt = |kind| Error::Corrupt {
        path: path.to_path_buf(),
        offset: 0,
        kind,
    };
    match FileHeader::decode(bytes, DATA_MAGIC) {
        Ok(header) if header.file_id == id.0 => Ok(()),
        Ok(_) => Err(corrupt(CorruptKind::Header)),
        Err(HeaderError::Short) => Err(corrupt(CorruptKind::Truncated)),
        Err(HeaderError::Corrupt(kind)) => Err(corrupt(kind)),
        Err(HeaderError::NewerVersion(v)) => Err(Error::Unsupported(format!(
            "{} was written by a newer hoard (format {v}); this build reads format {FORMAT_VERSION}",
            path.display()
        ))),
    }
}

impl DataFile {
    /// Reads the whole file and reports every problem instead of stopping
    /// at the first: after a damaged region the scan resumes at the next
    /// offset where a whole, checked record starts. `apply` sees every
    /// valid record.
    pub fn survey(&self, newest: bool, mut apply: impl FnMut(u64, &Record<'_>)) -> Result<Survey> {
        let bytes = fs::read_all(&self.file, &self.path)?;
        let file_len = bytes.len() as u64;
        let header = match FileHeader::decode(&bytes, DATA_MAGIC) {
            Ok(h) if h.file_id == self.id.0 => None,
            Ok(_) => Some(CorruptKind::Header),
            Err(HeaderError::Short) => Some(CorruptKind::Truncated),
            Err(HeaderError::Corrupt(kind)) => Some(kind),
            Err(HeaderError::NewerVersion(_)) => Some(CorruptKind::Header),
        };
        let mut survey = log::survey_records(
            &bytes[HEADER_LEN.min(bytes.len())..],
            HEADER_LEN as u64,
            newest,
            &mut apply,
        );
        survey.header = header;
        survey.file_len = file_len;
        Ok(survey)
    }

    /// Bytes `offset..offset+len` of the file on disk, whatever the valid length.
    pub fn read_raw(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        fs::read_exact_at(&self.file, &self.path, &mut buf, offset)?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_order_merge_outputs_between_generations() {
        let first = FileId::FIRST;
        let merged = FileId(first.0 + 1);
        assert!(first < merged && merged < first.next_generation());
        assert_eq!(first.file_name(), "0000000001-00000.data");
        assert_eq!(merged.file_name(), "0000000001-00001.data");
        for id in [first, merged, first.next_generation()] {
            assert_eq!(FileId::parse(&id.file_name()), Some(id));
        }
        for bad in [
            "HOARD",
            "LOCK",
            "1.data",
            "x-00000.data",
            "0000000001-00000.data.tmp",
            "-1.data",
        ] {
            assert_eq!(FileId::parse(bad), None, "{bad}");
        }
    }
}
