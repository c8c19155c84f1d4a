//! The footer that seals a log file (a data file or an AOF): written, and
//! synced, when the file stops being appended to and before the next file
//! begins. It lets a sealed file prove its own length: a sealed file cut
//! short, zero-filled at the end or without a footer is corruption, never
//! a clean end.
//!
//! ```text
//! offset size field
//!      0    8 magic          b"HOARDEND"
//!      8    8 records_end    u64: offset of the footer = end of the last record
//!     16    8 record_count   u64: records in the file
//!     24    4 reserved       zero
//!     28    4 crc32          over the place (file uid, footer offset), then bytes 0..28
//! ```

use super::{u32_at, u64_at};

/// Length of a footer.
pub const FOOTER_LEN: usize = 32;

/// Magic bytes of a footer.
pub const FOOTER_MAGIC: [u8; 8] = *b"HOARDEND";

/// A decoded footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// Where the records end and the footer begins.
    pub records_end: u64,
    /// How many records the file holds.
    pub record_count: u64,
}

fn checksum(uid: u64, offset: u64, body: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&uid.to_le_bytes());
    crc.update(&offset.to_le_bytes());
    crc.update(body);
    crc.finalize()
}

impl Footer {
    /// Encodes the footer of the file with identity `uid`.
    pub fn encode(&self, uid: u64) -> [u8; FOOTER_LEN] {
        let mut out = [0u8; FOOTER_LEN];
        out[0..8].copy_from_slice(&FOOTER_MAGIC);
        out[8..16].copy_from_slice(&self.records_end.to_le_bytes());
        out[16..24].copy_from_slice(&self.record_count.to_le_bytes());
        let crc = checksum(uid, self.records_end, &out[..28]);
        out[28..32].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes the footer at `offset` of the file with identity `uid`;
    /// `None` unless it is whole, checks out and names that offset.
    pub fn decode(bytes: &[u8], uid: u64, offset: u64) -> Option<Footer> {
        let bytes = bytes.get(..FOOTER_LEN)?;
        let ok = bytes[0..8] == FOOTER_MAGIC
            && u64_at(bytes, 8) == offset
            && u32_at(bytes, 24) == 0
            && checksum(uid, offset, &bytes[..28]) == u32_at(bytes, 28);
        ok.then(|| Footer {
            records_end: offset,
            record_count: u64_at(bytes, 16),
        })
    }

    /// Whether `bytes` start like a footer (its magic), whether or not it checks out.
    pub fn looks_like(bytes: &[u8]) -> bool {
        bytes.get(..8) == Some(&FOOTER_MAGIC[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_footer_checks_out_only_in_its_own_file_and_place() {
        let footer = Footer {
            records_end: 4096,
            record_count: 17,
        };
        let bytes = footer.encode(42);
        assert_eq!(Footer::decode(&bytes, 42, 4096), Some(footer));
        assert_eq!(Footer::decode(&bytes, 43, 4096), None);
        assert_eq!(Footer::decode(&bytes, 42, 4095), None);
        for bit in 0..FOOTER_LEN * 8 {
            let mut flipped = bytes;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(Footer::decode(&flipped, 42, 4096), None, "bit {bit}");
        }
        assert_eq!(Footer::decode(&bytes[..FOOTER_LEN - 1], 42, 4096), None);
    }
}
