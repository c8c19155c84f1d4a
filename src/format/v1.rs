//! Read-only decoders of format 1, kept for `hoard upgrade` alone: no other
//! code reads a format-1 file. Format 1 (docs/FORMAT.md, "Version
//! history") had 32-byte file headers, 24-byte record headers with a CRC
//! over the record alone, and snapshot chunks whose CRC was not bound to
//! the file.

use super::{u32_at, u64_at};
use crate::limits::{KEY_LEN_MAX, VALUE_LEN_MAX};

/// Length of a format-1 record header.
pub const RECORD_HEADER_LEN: usize = 24;
/// Length of a format-1 file header.
pub const FILE_HEADER_LEN: usize = 32;

/// A format-1 record: (tombstone, expiry_ms, key, value) and its length.
pub type V1Record<'a> = (bool, u64, &'a [u8], &'a [u8], usize);

/// Decodes the format-1 record at the start of `bytes`; `None` if it is
/// not a whole, checked record.
pub fn decode_record(bytes: &[u8]) -> Option<V1Record<'_>> {
    if bytes.len() < RECORD_HEADER_LEN {
        return None;
    }
    let key_len = u32_at(bytes, 4) as usize;
    let value_len = u32_at(bytes, 8) as usize;
    let flags = u32_at(bytes, 12);
    if key_len == 0 || key_len > KEY_LEN_MAX || value_len > VALUE_LEN_MAX || flags > 1 {
        return None;
    }
    let len = RECORD_HEADER_LEN + key_len + value_len;
    if bytes.len() < len || crc32fast::hash(&bytes[4..len]) != u32_at(bytes, 0) {
        return None;
    }
    let key_end = RECORD_HEADER_LEN + key_len;
    Some((
        flags == 1,
        u64_at(bytes, 16),
        &bytes[RECORD_HEADER_LEN..key_end],
        &bytes[key_end..len],
        len,
    ))
}

/// Decodes a whole format-1 snapshot, calling `apply(key, value, expiry)`
/// for each entry; `false` if any part fails its checks.
pub fn decode_snapshot(bytes: &[u8], mut apply: impl FnMut(&[u8], &[u8], u64)) -> bool {
    const CHUNK_HEADER_LEN: usize = 16;
    const TRAILER_LEN: usize = 24;
    if bytes.len() < FILE_HEADER_LEN + TRAILER_LEN {
        return false;
    }
    let body_end = bytes.len() - TRAILER_LEN;
    let mut at = FILE_HEADER_LEN;
    while at + CHUNK_HEADER_LEN <= body_end {
        let head = &bytes[at..at + CHUNK_HEADER_LEN];
        let raw_len = u32_at(head, 0) as usize;
        let stored_len = u32_at(head, 4) as usize;
        let end = at + CHUNK_HEADER_LEN + stored_len;
        if end > body_end || raw_len > stored_len.saturating_mul(255).saturating_add(16) {
            return false;
        }
        let payload = &bytes[at + CHUNK_HEADER_LEN..end];
        let mut crc = crc32fast::Hasher::new();
        crc.update(&head[..12]);
        crc.update(payload);
        if crc.finalize() != u32_at(head, 12) {
            return false;
        }
        let Ok(raw) = lz4_flex::block::decompress(payload, raw_len) else {
            return false;
        };
        let mut r = 0;
        while r < raw.len() {
            match decode_record(&raw[r..]) {
                Some((false, expiry, key, value, len)) => {
                    apply(key, value, expiry);
                    r += len;
                }
                _ => return false,
            }
        }
        at = end;
    }
    let trailer = &bytes[body_end..];
    at == body_end
        && &trailer[0..8] == b"SNAPEND\0"
        && crc32fast::hash(&trailer[..20]) == u32_at(trailer, 20)
}
