//! Data files: `crate::log_file::LogFile`s named by a `FileId`. Every
//! byte of them is the log file's business; this module only names them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::error::{CorruptKind, Error, Result};
use crate::format::record::{self, Decoded, Place, RecordKind};
use crate::layout;
use crate::log::Role;
pub use crate::log_file::LogFile as DataFile;
use crate::log_file::LogName;

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

/// The data files of a store, oldest first, shared with readers.
pub type FileSet = BTreeMap<FileId, Arc<DataFile>>;

/// A data file's id.
pub trait DataFileId {
    /// The id of this data file.
    fn id(&self) -> FileId;
}

impl DataFileId for DataFile {
    fn id(&self) -> FileId {
        FileId(self.name().number())
    }
}

/// The value of `key`'s record at `offset` in `file` (its value
/// `value_len` bytes long), appended to `into` once the record is read and
/// checked: CRC, key, a value rather than a tombstone. Any failure is
/// `Error::Corrupt` with the file and offset.
pub fn read_value(
    file: &DataFile,
    key: &[u8],
    offset: u64,
    value_len: usize,
    into: &mut Vec<u8>,
) -> Result<()> {
    let bytes = file.read(offset, record::encoded_len(key.len(), value_len))?;
    let corrupt = |kind| Error::Corrupt {
        path: file.path().to_path_buf(),
        offset,
        kind,
    };
    match record::decode(&bytes, Place::new(file.uid(), offset)) {
        Decoded::Record(rec, _) if rec.key != key => Err(corrupt(CorruptKind::KeyMismatch)),
        Decoded::Record(rec, _) if rec.kind != RecordKind::Value => {
            Err(corrupt(CorruptKind::Header))
        }
        Decoded::Record(rec, _) => {
            into.extend_from_slice(rec.value);
            Ok(())
        }
        Decoded::Incomplete => Err(corrupt(CorruptKind::Truncated)),
        Decoded::Corrupt(kind) => Err(corrupt(kind)),
    }
}

/// Creates a new, empty data file durably.
pub fn create(dir: &Path, id: FileId) -> Result<DataFile> {
    DataFile::create(dir, LogName::Data(id.0))
}

/// Opens an existing data file and checks its header.
pub fn open(dir: &Path, id: FileId, writable: bool, role: Role) -> Result<DataFile> {
    DataFile::open(dir, LogName::Data(id.0), writable, role)
}

/// Opens a data file for `verify` and repair (a damaged header is remembered).
pub fn open_for_survey(dir: &Path, id: FileId, role: Role) -> Result<DataFile> {
    DataFile::open_for_survey(dir, LogName::Data(id.0), role)
}
