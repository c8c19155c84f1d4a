//! The record codec shared by data files, AOFs and snapshot chunks: one
//! record per write, self-checking, with the CRC32 computed on write and
//! checked on every read.
//!
//! ```text
//! offset size field
//!      0    4 crc32        over the place (file uid u64, offset u64), then bytes 4..end
//!      4    4 key_len      u32, 1..=KEY_LEN_MAX
//!      8    4 value_len    u32, 0..=VALUE_LEN_MAX; 0 for a tombstone
//!     12    4 flags        u32; bit 0 = tombstone, other bits zero
//!     16    8 expiry_ms    u64, absolute Unix time in ms; 0 = never
//!     24    8 durable_len  u64, bytes of the file known durable when it was written
//!     32    . key
//!      .    . value
//! ```
//!
//! The checksum is bound to the record's place: the same bytes copied to
//! another offset or another file (inside a value, say) never validate, so
//! no scan that resynchronises over damage can pick up a record that was
//! never written there.

use super::{u32_at, u64_at};
use crate::error::CorruptKind;
use crate::limits::{KEY_LEN_MAX, VALUE_LEN_MAX};

/// Length of a record header.
pub const RECORD_HEADER_LEN: usize = 32;

const FLAG_TOMBSTONE: u32 = 1;
const FLAGS_KNOWN: u32 = FLAG_TOMBSTONE;

/// Whether a record sets a value or deletes the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// The key maps to the record's value.
    Value,
    /// The key is deleted.
    Tombstone,
}

/// Where a record lives: the identity of its file and its offset there.
/// Its checksum is computed over these first, so it validates nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The random identity in the file's header.
    pub uid: u64,
    /// The record's offset in the file.
    pub offset: u64,
}

impl Place {
    /// The place `offset` of the file with identity `uid`.
    pub fn new(uid: u64, offset: u64) -> Place {
        Place { uid, offset }
    }
}

/// A decoded record, borrowing its key and value from the input bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Value or tombstone.
    pub kind: RecordKind,
    /// Absolute expiry in Unix milliseconds; 0 means the record never expires.
    pub expiry_ms: u64,
    /// The key's bytes.
    pub key: &'a [u8],
    /// The value's bytes; empty for a tombstone.
    pub value: &'a [u8],
    /// Bytes of its file known durable (synced) when the record was
    /// written: the tail rule tells a torn write from damage by it.
    pub durable_len: u64,
}

/// The outcome of decoding the bytes at some position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole, checked record and its encoded length.
    Record(Record<'a>, usize),
    /// The bytes end before the record does (a torn write, or damage).
    Incomplete,
    /// The bytes fail a check.
    Corrupt(CorruptKind),
}

/// The fields of a record header, read without any check (see `peek_header`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawHeader {
    /// The key length field.
    pub key_len: usize,
    /// The value length field.
    pub value_len: usize,
    /// The flags field.
    pub flags: u32,
    /// The expiry field (absolute Unix ms; 0 = never).
    pub expiry_ms: u64,
    /// The durable-length field.
    pub durable_len: u64,
}

impl RawHeader {
    /// Whether both lengths are within their limits.
    pub fn lengths_within_limits(&self) -> bool {
        self.key_len <= KEY_LEN_MAX && self.value_len <= VALUE_LEN_MAX
    }

    /// Whether the flags describe a plain value record (no tombstone, no unknown bits).
    pub fn is_plain_value(&self) -> bool {
        self.flags == 0
    }
}

/// Reads a record header's fields without checking them, for a reader that
/// needs the lengths before it can fetch the whole record (which `decode`
/// then checks). `None` if `bytes` is shorter than a header.
pub fn peek_header(bytes: &[u8]) -> Option<RawHeader> {
    (bytes.len() >= RECORD_HEADER_LEN).then(|| RawHeader {
        key_len: u32_at(bytes, 4) as usize,
        value_len: u32_at(bytes, 8) as usize,
        flags: u32_at(bytes, 12),
        expiry_ms: u64_at(bytes, 16),
        durable_len: u64_at(bytes, 24),
    })
}

/// Encoded length of a record with these key and value lengths.
pub fn encoded_len(key_len: usize, value_len: usize) -> usize {
    RECORD_HEADER_LEN + key_len + value_len
}

/// The checksum of a record's bytes 4..end at `place`.
fn checksum(place: Place, rest: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&place.uid.to_le_bytes());
    crc.update(&place.offset.to_le_bytes());
    crc.update(rest);
    crc.finalize()
}

/// Appends the encoding of `record`, to be written at `place`, to `out`.
/// The caller has checked the key and value against the limits.
pub fn encode_into(out: &mut Vec<u8>, record: &Record<'_>, place: Place) {
    debug_assert!(!record.key.is_empty() && record.key.len() <= KEY_LEN_MAX);
    debug_assert!(record.value.len() <= VALUE_LEN_MAX);
    debug_assert!(record.kind == RecordKind::Value || record.value.is_empty());
    let start = out.len();
    let flags = match record.kind {
        RecordKind::Value => 0,
        RecordKind::Tombstone => FLAG_TOMBSTONE,
    };
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&(record.key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(record.value.len() as u32).to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&record.expiry_ms.to_le_bytes());
    out.extend_from_slice(&record.durable_len.to_le_bytes());
    out.extend_from_slice(record.key);
    out.extend_from_slice(record.value);
    let crc = checksum(place, &out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Rewrites the place-bound parts of an encoded, checked record for a new
/// place: its durable length and its checksum (merge and repair copy
/// records into new files this way).
pub fn rebind(bytes: &mut [u8], place: Place, durable_len: u64) {
    bytes[24..32].copy_from_slice(&durable_len.to_le_bytes());
    let crc = checksum(place, &bytes[4..]);
    bytes[0..4].copy_from_slice(&crc.to_le_bytes());
}

/// Decodes the record at the start of `bytes`, which lie at `place`,
/// checking its lengths, flags and CRC. Lengths are checked before the CRC
/// so that damage to a length can never make the decoder read past its limits.
pub fn decode(bytes: &[u8], place: Place) -> Decoded<'_> {
    if bytes.len() < RECORD_HEADER_LEN {
        return Decoded::Incomplete;
    }
    let key_len = u32_at(bytes, 4) as usize;
    let value_len = u32_at(bytes, 8) as usize;
    let flags = u32_at(bytes, 12);
    let expiry_ms = u64_at(bytes, 16);
    let durable_len = u64_at(bytes, 24);
    if key_len == 0 || key_len > KEY_LEN_MAX || value_len > VALUE_LEN_MAX {
        return Decoded::Corrupt(CorruptKind::Length);
    }
    if flags & !FLAGS_KNOWN != 0 {
        return Decoded::Corrupt(CorruptKind::Header);
    }
    let kind = if flags & FLAG_TOMBSTONE != 0 {
        if value_len != 0 {
            return Decoded::Corrupt(CorruptKind::Length);
        }
        RecordKind::Tombstone
    } else {
        RecordKind::Value
    };
    let len = encoded_len(key_len, value_len);
    if bytes.len() < len {
        return Decoded::Incomplete;
    }
    if checksum(place, &bytes[4..len]) != u32_at(bytes, 0) {
        return Decoded::Corrupt(CorruptKind::Checksum);
    }
    let key_end = RECORD_HEADER_LEN + key_len;
    Decoded::Record(
        Record {
            kind,
            expiry_ms,
            key: &bytes[RECORD_HEADER_LEN..key_end],
            value: &bytes[key_end..len],
            durable_len,
        },
        len,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AT: Place = Place {
        uid: 0x0123_4567_89ab_cdef,
        offset: 4096,
    };

    fn encode(record: &Record<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(&mut out, record, AT);
        out
    }

    fn decode(bytes: &[u8]) -> Decoded<'_> {
        super::decode(bytes, AT)
    }

    #[test]
    fn a_record_validates_only_at_its_own_place() {
        let record = Record {
            kind: RecordKind::Value,
            expiry_ms: 0,
            key: b"victim",
            value: b"FORGED",
            durable_len: 48,
        };
        let bytes = encode(&record);
        assert_eq!(decode(&bytes), Decoded::Record(record, bytes.len()));
        for other in [
            Place::new(AT.uid, AT.offset + 1),
            Place::new(AT.uid, 0),
            Place::new(AT.uid ^ 1, AT.offset),
        ] {
            assert_eq!(
                super::decode(&bytes, other),
                Decoded::Corrupt(CorruptKind::Checksum),
                "{other:?}"
            );
        }
    }

    #[test]
    fn rebinding_moves_a_record_to_a_new_place() {
        let record = Record {
            kind: RecordKind::Value,
            expiry_ms: 7,
            key: b"k",
            value: b"v",
            durable_len: 100,
        };
        let mut bytes = encode(&record);
        let there = Place::new(99, 48);
        rebind(&mut bytes, there, 48);
        let moved = Record {
            durable_len: 48,
            ..record
        };
        assert_eq!(
            super::decode(&bytes, there),
            Decoded::Record(moved, bytes.len())
        );
        assert!(!matches!(decode(&bytes), Decoded::Record(..)));
    }

    #[test]
    fn a_value_record_round_trips() {
        let record = Record {
            kind: RecordKind::Value,
            expiry_ms: 1_700_000_000_123,
            key: b"key",
            value: b"value\0\xff",
            durable_len: 48,
        };
        let bytes = encode(&record);
        assert_eq!(bytes.len(), encoded_len(3, 7));
        assert_eq!(decode(&bytes), Decoded::Record(record, bytes.len()));
    }

    #[test]
    fn a_tombstone_round_trips() {
        let record = Record {
            kind: RecordKind::Tombstone,
            expiry_ms: 0,
            key: b"gone",
            value: b"",
            durable_len: 0,
        };
        let bytes = encode(&record);
        assert_eq!(decode(&bytes), Decoded::Record(record, bytes.len()));
    }

    #[test]
    fn every_single_bit_flip_of_a_record_is_detected() {
        for kind in [RecordKind::Value, RecordKind::Tombstone] {
            let value: &[u8] = if kind == RecordKind::Value {
                b"some value bytes"
            } else {
                b""
            };
            let record = Record {
                kind,
                expiry_ms: 42,
                key: b"a key",
                value,
                durable_len: 1234,
            };
            let bytes = encode(&record);
            for bit in 0..bytes.len() * 8 {
                let mut flipped = bytes.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                assert!(
                    !matches!(decode(&flipped), Decoded::Record(..)),
                    "flip of bit {bit} in a {kind:?} record went unnoticed"
                );
            }
        }
    }

    #[test]
    fn every_strict_prefix_of_a_record_is_incomplete() {
        let record = Record {
            kind: RecordKind::Value,
            expiry_ms: 0,
            key: b"k",
            value: b"v",
            durable_len: 0,
        };
        let bytes = encode(&record);
        for len in 0..bytes.len() {
            assert_eq!(decode(&bytes[..len]), Decoded::Incomplete, "prefix {len}");
        }
    }

    #[test]
    fn zeroed_bytes_are_not_a_record() {
        assert_eq!(
            decode(&[0u8; 64]),
            Decoded::Corrupt(CorruptKind::Length),
            "a zero-filled region (a hole) must never decode"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_records_round_trip(
            key in proptest::collection::vec(any::<u8>(), 1..200),
            value in proptest::collection::vec(any::<u8>(), 0..500),
            expiry_ms in any::<u64>(),
            trailing in proptest::collection::vec(any::<u8>(), 0..50),
        ) {
            let record = Record { kind: RecordKind::Value, expiry_ms, key: &key, value: &value, durable_len: 0 };
            let mut bytes = encode(&record);
            let len = bytes.len();
            bytes.extend_from_slice(&trailing);
            prop_assert_eq!(decode(&bytes), Decoded::Record(record, len));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }
    }
}
