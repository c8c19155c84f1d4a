//! The 32-byte header at the start of every binary file hoard writes: magic
//! bytes naming the file's kind, the format version, the file's id, and a
//! CRC32 over the rest of the header.
//!
//! ```text
//! offset size field
//!      0    8 magic        b"HOARDDAT" for data files
//!      8    4 version      u32, FORMAT_VERSION
//!     12    4 reserved     zero
//!     16    8 file_id      u64, equals the id in the file's name
//!     24    4 reserved     zero
//!     28    4 crc32        over bytes 0..28
//! ```

use super::{u32_at, u64_at};
use crate::error::CorruptKind;

/// Length of every file header.
pub const HEADER_LEN: usize = 32;

/// Magic bytes of a data file.
pub const DATA_MAGIC: [u8; 8] = *b"HOARDDAT";

/// Version of the binary formats this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A decoded file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// The file kind's magic bytes.
    pub magic: [u8; 8],
    /// The format version the file was written with.
    pub version: u32,
    /// The id of the file, as in its name.
    pub file_id: u64,
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
}

impl FileHeader {
    /// Encodes the header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(&self.magic);
        out[8..12].copy_from_slice(&self.version.to_le_bytes());
        out[16..24].copy_from_slice(&self.file_id.to_le_bytes());
        let crc = crc32fast::hash(&out[..28]);
        out[28..32].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes and checks a header of the kind named by `magic`.
    pub fn decode(bytes: &[u8], magic: [u8; 8]) -> Result<FileHeader, HeaderError> {
        if bytes.len() < HEADER_LEN {
            return Err(HeaderError::Short);
        }
        let bytes = &bytes[..HEADER_LEN];
        if crc32fast::hash(&bytes[..28]) != u32_at(bytes, 28) {
            return Err(HeaderError::Corrupt(CorruptKind::Checksum));
        }
        if bytes[0..8] != magic || u32_at(bytes, 12) != 0 || u32_at(bytes, 24) != 0 {
            return Err(HeaderError::Corrupt(CorruptKind::Header));
        }
        let version = u32_at(bytes, 8);
        if version > FORMAT_VERSION {
            return Err(HeaderError::NewerVersion(version));
        }
        if version == 0 {
            return Err(HeaderError::Corrupt(CorruptKind::Header));
        }
        Ok(FileHeader {
            magic,
            version,
            file_id: u64_at(bytes, 16),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> FileHeader {
        FileHeader {
            magic: DATA_MAGIC,
            version: FORMAT_VERSION,
            file_id: 0x1234_0000,
        }
    }

    #[test]
    fn header_round_trips() {
        let bytes = header().encode();
        assert_eq!(FileHeader::decode(&bytes, DATA_MAGIC), Ok(header()));
    }

    #[test]
    fn every_single_bit_flip_of_a_header_is_refused() {
        let bytes = header().encode();
        for bit in 0..HEADER_LEN * 8 {
            let mut flipped = bytes;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                FileHeader::decode(&flipped, DATA_MAGIC).is_err(),
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
            FileHeader::decode(&bytes[..HEADER_LEN - 1], DATA_MAGIC),
            Err(HeaderError::Short)
        );
    }
}
