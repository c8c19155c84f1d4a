//! The file list codec (`DIR/FILES`): which files make up the store. It is
//! rewritten atomically whenever that set changes (a new active file, a
//! merge, a snapshot), and is the commit point of each such change: a file
//! it lists that is missing is corruption, a file it does not list is a
//! leftover of an interrupted change and is never read.
//!
//! ```text
//! offset   size        field
//!      0     48        file header, magic b"HOARDLST", file_id = sequence number
//!     48      4        entry_count
//!     52      4        reserved, zero
//!     56   16*n        entries: kind u16 (1 data file, 2 AOF, 3 snapshot), flags u16 (bit 0: sealed), reserved u32, id u64
//!  56+16n     4        crc32 over every byte before it
//! ```

use super::file_header::{FileHeader, HEADER_LEN, HeaderError};
use super::{u32_at, u64_at};

/// Magic bytes of the file list.
pub const FILE_LIST_MAGIC: [u8; 8] = *b"HOARDLST";

const ENTRY_LEN: usize = 16;
const ENTRIES_AT: usize = HEADER_LEN + 8;

/// Most entries a file list may hold (a bound on what decoding allocates).
pub const FILE_LIST_ENTRIES_MAX: usize = 1 << 20;

/// The kind of a listed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListedKind {
    /// A bitcask data file, by file id.
    Data,
    /// A memory-engine AOF, by generation.
    Aof,
    /// A memory-engine snapshot, by generation.
    Snapshot,
}

impl ListedKind {
    fn code(self) -> u32 {
        match self {
            ListedKind::Data => 1,
            ListedKind::Aof => 2,
            ListedKind::Snapshot => 3,
        }
    }

    fn from_code(code: u32) -> Option<ListedKind> {
        match code {
            1 => Some(ListedKind::Data),
            2 => Some(ListedKind::Aof),
            3 => Some(ListedKind::Snapshot),
            _ => None,
        }
    }
}

/// A decoded file list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileList {
    /// Incremented by every rewrite.
    pub sequence: u64,
    /// The listed files, in the order written.
    pub entries: Vec<(ListedKind, u64)>,
    /// Listed files known to be sealed by their footer (so read by the
    /// sealed-file rules even when newest, as merge outputs are).
    pub sealed: std::collections::BTreeSet<(ListedKind, u64)>,
}

const FLAG_SEALED: u32 = 1 << 16;

/// Why file-list bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileListError {
    /// Damaged or truncated; the text says how.
    Damaged(String),
    /// Written by a newer hoard.
    NewerVersion(u32),
    /// Written by format 1 (which had no file list).
    OlderVersion(u32),
}

impl FileList {
    /// Encodes the list; `uid` is the new file's identity.
    pub fn encode(&self, uid: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENTRIES_AT + ENTRY_LEN * self.entries.len() + 4);
        out.extend_from_slice(&FileHeader::new(FILE_LIST_MAGIC, self.sequence, uid).encode());
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        out.extend_from_slice(&[0u8; 4]);
        for (kind, id) in &self.entries {
            let flags = if self.sealed.contains(&(*kind, *id)) {
                FLAG_SEALED
            } else {
                0
            };
            out.extend_from_slice(&(kind.code() | flags).to_le_bytes());
            out.extend_from_slice(&[0u8; 4]);
            out.extend_from_slice(&id.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes and checks a whole file list.
    pub fn decode(bytes: &[u8]) -> Result<FileList, FileListError> {
        let damaged = |what: &str| FileListError::Damaged(what.to_string());
        let header = match FileHeader::decode(bytes, FILE_LIST_MAGIC) {
            Ok(h) => h,
            Err(HeaderError::Short) => return Err(damaged("shorter than its header")),
            Err(HeaderError::Corrupt(kind)) => {
                return Err(FileListError::Damaged(format!("file header: {kind}")));
            }
            Err(HeaderError::NewerVersion(v)) => return Err(FileListError::NewerVersion(v)),
            Err(HeaderError::OlderVersion(v)) => return Err(FileListError::OlderVersion(v)),
        };
        if bytes.len() < ENTRIES_AT + 4 {
            return Err(damaged("truncated"));
        }
        let count = u32_at(bytes, HEADER_LEN) as usize;
        if count > FILE_LIST_ENTRIES_MAX || bytes.len() != ENTRIES_AT + count * ENTRY_LEN + 4 {
            return Err(damaged("its length does not match its entry count"));
        }
        let crc_at = bytes.len() - 4;
        if crc32fast::hash(&bytes[..crc_at]) != u32_at(bytes, crc_at) {
            return Err(damaged("checksum mismatch"));
        }
        if u32_at(bytes, HEADER_LEN + 4) != 0 {
            return Err(damaged("reserved bytes are not zero"));
        }
        let mut entries = Vec::with_capacity(count);
        let mut sealed = std::collections::BTreeSet::new();
        for i in 0..count {
            let at = ENTRIES_AT + i * ENTRY_LEN;
            let word = u32_at(bytes, at);
            let kind = ListedKind::from_code(word & 0xffff)
                .filter(|_| word >> 16 <= 1 && u32_at(bytes, at + 4) == 0)
                .ok_or_else(|| damaged("an entry of unknown kind"))?;
            let id = u64_at(bytes, at + 8);
            if word & FLAG_SEALED != 0 {
                sealed.insert((kind, id));
            }
            entries.push((kind, id));
        }
        Ok(FileList {
            sequence: header.file_id,
            entries,
            sealed,
        })
    }

    /// Whether the listed file is known to be sealed.
    pub fn is_sealed(&self, kind: ListedKind, id: u64) -> bool {
        self.sealed.contains(&(kind, id))
    }

    /// The ids listed with `kind`, ascending.
    pub fn ids(&self, kind: ListedKind) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .entries
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> FileList {
        FileList {
            sequence: 9,
            entries: vec![
                (ListedKind::Data, 1 << 16),
                (ListedKind::Data, 2 << 16),
                (ListedKind::Snapshot, 3),
                (ListedKind::Aof, 3),
            ],
            sealed: [(ListedKind::Data, 1 << 16)].into_iter().collect(),
        }
    }

    #[test]
    fn a_file_list_round_trips_and_every_flip_is_caught() {
        let bytes = list().encode(5);
        assert_eq!(FileList::decode(&bytes), Ok(list()));
        assert_eq!(list().ids(ListedKind::Data), vec![1 << 16, 2 << 16]);
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(FileList::decode(&flipped).is_err(), "bit {bit}");
        }
        for len in 0..bytes.len() {
            assert!(FileList::decode(&bytes[..len]).is_err(), "prefix {len}");
        }
    }
}
