//! The 48-byte header at the start of every binary file hoard writes: magic
//! bytes naming the file's kind, the format version, the file's id, a
//! random identity, and a CRC32 over the rest of the header.
//!
//! ```text
//! offset size field
//!      0    8 magic        names the kind of file (see `crate::layout`)
//!      8    4 version      u32, FORMAT_VERSION
//!     12    4 reserved     zero
//!     16    8 file_id      u64: the id or generation in the file's name
//!     24    8 uid          u64: random, new whenever the file is (re)written
//!     32   12 reserved     zero
//!     44    4 crc32        over bytes 0..44
//! ```
//!
//! The uid is the file's identity: record and footer checksums are bound
//! to it, and the hint records it for every file it covers.

use super::{u32_at, u64_at};
use crate::error::CorruptKind;

/// Length of every file header.
pub const HEADER_LEN: usize = 48;

/// Version of the binary formats this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// Length of a format-1 file header (read by `hoard upgrade` only).
pub const V1_HEADER_LEN: usize = 32;

/// A decoded file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// The file kind's magic bytes.
    pub magic: [u8; 8],
    /// The format version the file was written with.
    pub version: u32,
    /// The id of the file, as in its name.
    pub file_id: u64,
    /// The file's random identity.
    pub uid: u64,
}

/// Why a header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than `HEADER_LEN` bytes.
    Short,
    /// The bytes fail a check.
    Corrupt(CorruptKind),
    /// A valid header from a newer version of hoard.
    NewerVersion(u32),
    /// A valid header of format 1 (the store needs `hoard upgrade`).
    OlderVersion(u32),
}

impl FileHeader {
    /// A header of the current version for a new file of kind `magic`.
    pub fn new(magic: [u8; 8], file_id: u64, uid: u64) -> FileHeader {
        FileHeader {
            magic,
            version: FORMAT_VERSION,
            file_id,
            uid,
        }
    }

    /// Encodes the header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(&self.magic);
        out[8..12].copy_from_slice(&self.version.to_le_bytes());
        out[16..24].copy_from_slice(&self.file_id.to_le_bytes());
        out[24..32].copy_from_slice(&self.uid.to_le_bytes());
        let crc = crc32fast::hash(&out[..44]);
        out[44..48].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes and checks a header of the kind named by `magic`.
    pub fn decode(bytes: &[u8], magic: [u8; 8]) -> Result<FileHeader, HeaderError> {
        if let Some(version) = v1_version(bytes, magic) {
            return Err(HeaderError::OlderVersion(version));
        }
        if bytes.len() < HEADER_LEN {
            return Err(HeaderError::Short);
        }
        let bytes = &bytes[..HEADER_LEN];
        if crc32fast::hash(&bytes[..44]) != u32_at(bytes, 44) {
            return Err(HeaderError::Corrupt(CorruptKind::Checksum));
        }
        if bytes[0..8] != magic || u32_at(bytes, 12) != 0 || bytes[32..44].iter().any(|b| *b != 0) {
            return Err(HeaderError::Corrupt(CorruptKind::Header));
        }
        let version = u32_at(bytes, 8);
        if version > FORMAT_VERSION {
            return Err(HeaderError::NewerVersion(version));
        }
        if version != FORMAT_VERSION {
            return Err(HeaderError::Corrupt(CorruptKind::Header));
        }
        Ok(FileHeader {
            magic,
            version,
            file_id: u64_at(bytes, 16),
            uid: u64_at(bytes, 24),
        })
    }
}

/// The version of a valid format-1 header of kind `magic` (32 bytes, CRC at
/// 28), if `bytes` start with one.
fn v1_version(bytes: &[u8], magic: [u8; 8]) -> Option<u32> {
    let head = bytes.get(..V1_HEADER_LEN)?;
    (head[0..8] == magic
        && u32_at(head, 8) == 1
        && crc32fast::hash(&head[..28]) == u32_at(head, 28))
    .then_some(1)
}

/// Decodes a format-1 header (for `hoard upgrade`): its file id.
pub fn decode_v1(bytes: &[u8], magic: [u8; 8]) -> Option<u64> {
    v1_version(bytes, magic).map(|_| u64_at(bytes, 16))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: [u8; 8] = *b"HOARDDAT";

    fn header() -> FileHeader {
        FileHeader::new(MAGIC, 0x1234_0000, 0xfeed_beef_dead_0001)
    }

    #[test]
    fn header_round_trips() {
        let bytes = header().encode();
        assert_eq!(FileHeader::decode(&bytes, MAGIC), Ok(header()));
    }

    #[test]
    fn every_single_bit_flip_of_a_header_is_refused() {
        let bytes = header().encode();
        for bit in 0..HEADER_LEN * 8 {
            let mut flipped = bytes;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                FileHeader::decode(&flipped, MAGIC).is_err(),
                "flip of bit {bit} went unnoticed"
            );
        }
    }

    #[test]
    fn wrong_magic_and_short_input_are_refused() {
        let bytes = header().encode();
        assert_eq!(
            FileHeader::decode(&bytes, *b"HOARDHNT"),
            Err(HeaderError::Corrupt(CorruptKind::Header))
        );
        assert_eq!(
            FileHeader::decode(&bytes[..HEADER_LEN - 1], MAGIC),
            Err(HeaderError::Short)
        );
    }

    #[test]
    fn a_format_1_header_is_recognised_as_older() {
        let mut v1 = [0u8; 64];
        v1[0..8].copy_from_slice(&MAGIC);
        v1[8..12].copy_from_slice(&1u32.to_le_bytes());
        v1[16..24].copy_from_slice(&7u64.to_le_bytes());
        let crc = crc32fast::hash(&v1[..28]);
        v1[28..32].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            FileHeader::decode(&v1, MAGIC),
            Err(HeaderError::OlderVersion(1))
        );
        assert_eq!(decode_v1(&v1, MAGIC), Some(7));
    }
}
