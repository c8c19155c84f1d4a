//! The snapshot codec: every live entry of a memory store as of one
//! moment, lz4-compressed in independent chunks, each checksummed and bound
//! to its place.
//!
//! ```text
//! file header (48 bytes)     magic b"HOARDSNP", file_id = generation, uid
//! chunk*                     chunk header (16 bytes) + lz4 block
//!   raw_len u32              bytes after decompression (<= CHUNK_RAW_MAX, or one record)
//!   stored_len u32           bytes of the lz4 block that follows
//!   entry_count u32          records in the chunk
//!   crc32 u32                over (uid u64, chunk offset u64), the 12 bytes before it, the lz4 block
//! trailer (24 bytes)
//!   magic b"SNAPEND\0"
//!   entry_count u64          records in all chunks
//!   chunk_count u32
//!   crc32 u32                over (uid u64, trailer offset u64) and the 20 bytes before it
//! ```
//!
//! The decompressed chunk is a run of value records in the shared record
//! codec, each placed at (snapshot uid, its offset within the chunk's raw
//! bytes). Because a chunk's checksum is bound to its offset, salvage can
//! resynchronise past a damaged chunk to the next one that checks out, and
//! one damaged chunk loses at most that chunk's entries (about
//! `CHUNK_RAW_MAX` bytes of records, or one record larger than that).

use super::file_header::{FileHeader, HEADER_LEN, HeaderError};
use super::record::{self, Decoded, Place, Record, RecordKind};
use super::{u32_at, u64_at};
use crate::error::CorruptKind;
use crate::limits::{KEY_LEN_MAX, VALUE_LEN_MAX};

/// Magic bytes of a snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"HOARDSNP";
const TRAILER_MAGIC: [u8; 8] = *b"SNAPEND\0";
const CHUNK_HEADER_LEN: usize = 16;
/// Length of the trailer.
pub const TRAILER_LEN: usize = 24;
/// Records are gathered into chunks of about this many raw bytes.
pub const CHUNK_RAW_MAX: usize = 1 << 20;
/// No chunk decompresses to more than this (one largest record).
const CHUNK_RAW_LIMIT: usize =
    CHUNK_RAW_MAX + record::RECORD_HEADER_LEN + KEY_LEN_MAX + VALUE_LEN_MAX;

/// Figures of a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Entries held.
    pub entries: u64,
    /// Bytes of the file.
    pub file_bytes: u64,
    /// Bytes of the records before compression.
    pub raw_bytes: u64,
}

fn place_crc(uid: u64, offset: u64, parts: &[&[u8]]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&uid.to_le_bytes());
    crc.update(&offset.to_le_bytes());
    for part in parts {
        crc.update(part);
    }
    crc.finalize()
}

/// Builds a snapshot's bytes piece by piece; `emit` receives them in order.
pub struct SnapshotEncoder {
    uid: u64,
    raw: Vec<u8>,
    raw_entries: u32,
    chunks: u32,
    info: SnapshotInfo,
}

impl SnapshotEncoder {
    /// Starts a snapshot of `generation` with identity `uid`; emits its header.
    pub fn new(generation: u64, uid: u64, emit: &mut dyn FnMut(&[u8])) -> SnapshotEncoder {
        let mut encoder = SnapshotEncoder {
            uid,
            raw: Vec::with_capacity(CHUNK_RAW_MAX + 4096),
            raw_entries: 0,
            chunks: 0,
            info: SnapshotInfo::default(),
        };
        encoder.emit(
            &FileHeader::new(SNAPSHOT_MAGIC, generation, uid).encode(),
            emit,
        );
        encoder
    }

    fn emit(&mut self, bytes: &[u8], emit: &mut dyn FnMut(&[u8])) {
        emit(bytes);
        self.info.file_bytes += bytes.len() as u64;
    }

    /// Adds one entry.
    pub fn push(&mut self, key: &[u8], value: &[u8], expiry_ms: u64, emit: &mut dyn FnMut(&[u8])) {
        let len = record::encoded_len(key.len(), value.len());
        if self.raw_entries > 0 && self.raw.len() + len > CHUNK_RAW_MAX {
            self.flush_chunk(emit);
        }
        let place = Place::new(self.uid, self.raw.len() as u64);
        record::encode_into(
            &mut self.raw,
            &Record {
                kind: RecordKind::Value,
                expiry_ms,
                key,
                value,
                durable_len: 0,
            },
            place,
        );
        self.raw_entries += 1;
        self.info.entries += 1;
    }

    fn flush_chunk(&mut self, emit: &mut dyn FnMut(&[u8])) {
        if self.raw_entries == 0 {
            return;
        }
        let stored = lz4_flex::block::compress(&self.raw);
        let mut header = [0u8; CHUNK_HEADER_LEN];
        header[0..4].copy_from_slice(&(self.raw.len() as u32).to_le_bytes());
        header[4..8].copy_from_slice(&(stored.len() as u32).to_le_bytes());
        header[8..12].copy_from_slice(&self.raw_entries.to_le_bytes());
        let crc = place_crc(self.uid, self.info.file_bytes, &[&header[..12], &stored]);
        header[12..16].copy_from_slice(&crc.to_le_bytes());
        self.emit(&header, emit);
        self.emit(&stored, emit);
        self.info.raw_bytes += self.raw.len() as u64;
        self.chunks += 1;
        self.raw.clear();
        self.raw_entries = 0;
    }

    /// Emits the last chunk and the trailer; returns the snapshot's figures.
    pub fn finish(mut self, emit: &mut dyn FnMut(&[u8])) -> SnapshotInfo {
        self.flush_chunk(emit);
        let mut trailer = [0u8; TRAILER_LEN];
        trailer[0..8].copy_from_slice(&TRAILER_MAGIC);
        trailer[8..16].copy_from_slice(&self.info.entries.to_le_bytes());
        trailer[16..20].copy_from_slice(&self.chunks.to_le_bytes());
        let crc = place_crc(self.uid, self.info.file_bytes, &[&trailer[..20]]);
        trailer[20..24].copy_from_slice(&crc.to_le_bytes());
        self.emit(&trailer, emit);
        self.info
    }
}

/// A problem found in a snapshot: offset, length of the damaged region, what failed.
pub type SnapshotDamage = (u64, u64, CorruptKind);

/// What decoding a snapshot found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotRead {
    /// Figures of what was read.
    pub info: SnapshotInfo,
    /// Damaged regions (with `salvage`, every one; without, at most the first).
    pub damage: Vec<SnapshotDamage>,
    /// Entries the trailer says the snapshot holds, when the trailer checks out.
    pub entries_expected: Option<u64>,
}

/// Why a snapshot cannot be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotError {
    /// Written by a newer hoard.
    NewerVersion(u32),
    /// Written by format 1.
    OlderVersion(u32),
}

/// A chunk that checks out at `at`: (raw_len, stored_len, entry_count, end).
fn chunk_at(
    bytes: &[u8],
    at: usize,
    body_end: usize,
    uid: u64,
) -> Result<(usize, usize, u32, usize), CorruptKind> {
    if at + CHUNK_HEADER_LEN > body_end {
        return Err(CorruptKind::Truncated);
    }
    let head = &bytes[at..at + CHUNK_HEADER_LEN];
    let raw_len = u32_at(head, 0) as usize;
    let stored_len = u32_at(head, 4) as usize;
    let end = at + CHUNK_HEADER_LEN + stored_len;
    // lz4 expands at most 255 bytes per input byte.
    let expandable = raw_len <= stored_len.saturating_mul(255).saturating_add(16);
    if raw_len > CHUNK_RAW_LIMIT || !expandable || end > body_end {
        return Err(CorruptKind::Length);
    }
    let payload = &bytes[at + CHUNK_HEADER_LEN..end];
    if place_crc(uid, at as u64, &[&head[..12], payload]) != u32_at(head, 12) {
        return Err(CorruptKind::Checksum);
    }
    Ok((raw_len, stored_len, u32_at(head, 8), end))
}

/// Decodes a whole snapshot image of `generation`, calling `apply` for
/// each entry. Without `salvage` it stops at the first problem (listed in
/// the result); with it, it resynchronises past each damaged chunk to the
/// next one that checks out. Allocates at most what the input justifies: a
/// chunk may claim no more raw bytes than lz4 can expand its stored bytes to.
pub fn decode(
    bytes: &[u8],
    generation: u64,
    salvage: bool,
    mut apply: impl FnMut(&Record<'_>),
) -> Result<SnapshotRead, SnapshotError> {
    let mut out = SnapshotRead {
        info: SnapshotInfo {
            file_bytes: bytes.len() as u64,
            ..SnapshotInfo::default()
        },
        ..SnapshotRead::default()
    };
    let header = match FileHeader::decode(bytes, SNAPSHOT_MAGIC) {
        Ok(h) if h.file_id == generation => h,
        Ok(_) => {
            out.damage.push((0, HEADER_LEN as u64, CorruptKind::Header));
            return Ok(out);
        }
        Err(HeaderError::NewerVersion(v)) => return Err(SnapshotError::NewerVersion(v)),
        Err(HeaderError::OlderVersion(v)) => return Err(SnapshotError::OlderVersion(v)),
        Err(HeaderError::Short) => {
            out.damage
                .push((0, bytes.len() as u64, CorruptKind::Truncated));
            return Ok(out);
        }
        Err(HeaderError::Corrupt(kind)) => {
            // Without the uid nothing after the header can be checked.
            out.damage.push((0, bytes.len() as u64, kind));
            return Ok(out);
        }
    };
    let uid = header.uid;
    let body_end = bytes.len().saturating_sub(TRAILER_LEN).max(HEADER_LEN);
    let mut at = HEADER_LEN;
    let mut chunks = 0u32;
    while at < body_end {
        let failed = match chunk_at(bytes, at, body_end, uid) {
            Ok((raw_len, stored_len, _, end)) => {
                let payload = &bytes[end - stored_len..end];
                match lz4_flex::block::decompress(payload, raw_len) {
                    Ok(raw) if raw.len() == raw_len => {
                        let mut r = 0;
                        let mut bad = false;
                        while r < raw.len() {
                            match record::decode(&raw[r..], Place::new(uid, r as u64)) {
                                Decoded::Record(rec, len) if rec.kind == RecordKind::Value => {
                                    apply(&rec);
                                    out.info.entries += 1;
                                    r += len;
                                }
                                _ => {
                                    bad = true;
                                    break;
                                }
                            }
                        }
                        out.info.raw_bytes += raw_len as u64;
                        chunks += 1;
                        let next = end;
                        if bad {
                            Some((CorruptKind::Checksum, next))
                        } else {
                            at = next;
                            None
                        }
                    }
                    _ => Some((CorruptKind::Checksum, end)),
                }
            }
            Err(kind) => {
                // Resynchronise: the next offset where a chunk checks out
                // (bound to its offset, so no chunk embedded in a value can
                // pass), else the trailer.
                let next = (at + 1..body_end)
                    .find(|n| chunk_at(bytes, *n, body_end, uid).is_ok())
                    .unwrap_or(body_end);
                Some((kind, next))
            }
        };
        if let Some((kind, next)) = failed {
            out.damage.push((at as u64, (next - at) as u64, kind));
            if !salvage {
                return Ok(out);
            }
            at = next;
        }
    }
    let trailer = &bytes[body_end.min(bytes.len())..];
    let trailer_ok = trailer.len() == TRAILER_LEN
        && trailer[0..8] == TRAILER_MAGIC
        && place_crc(uid, body_end as u64, &[&trailer[..20]]) == u32_at(trailer, 20);
    if !trailer_ok {
        out.damage.push((
            body_end as u64,
            trailer.len() as u64,
            CorruptKind::Truncated,
        ));
    } else {
        let entries = u64_at(trailer, 8);
        let count = u32_at(trailer, 16);
        out.entries_expected = Some(entries);
        if out.damage.is_empty() && (entries != out.info.entries || count != chunks) {
            out.damage
                .push((body_end as u64, TRAILER_LEN as u64, CorruptKind::Length));
        }
    }
    Ok(out)
}
