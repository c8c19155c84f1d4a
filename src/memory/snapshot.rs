//! The snapshot: every live entry of a memory store as of one moment,
//! lz4-compressed in independent chunks, each checksummed.
//!
//! ```text
//! file header (32 bytes)     magic b"HOARDSNP", file_id = generation
//! chunk*                     chunk header (16 bytes) + lz4 block
//!   raw_len u32              bytes after decompression (<= CHUNK_RAW_MAX, or one record)
//!   stored_len u32           bytes of the lz4 block that follows
//!   entry_count u32          records in the chunk
//!   crc32 u32                over the 12 bytes before it and the lz4 block
//! trailer (24 bytes)
//!   magic b"SNAPEND\0"
//!   entry_count u64          records in all chunks
//!   chunk_count u32
//!   crc32 u32                over the 20 bytes before it
//! ```
//!
//! The decompressed chunk is a run of records in the shared record codec,
//! so every entry also carries its own CRC.

use std::path::Path;

use crate::error::{CorruptKind, Error, Result};
use crate::failpoint;
use crate::format::file_header::{FORMAT_VERSION, FileHeader, HEADER_LEN, HeaderError};
use crate::format::record::{self, Decoded, Record, RecordKind};
use crate::fs;
use crate::limits::{KEY_LEN_MAX, VALUE_LEN_MAX};

/// Magic bytes of a snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"HOARDSNP";
const TRAILER_MAGIC: [u8; 8] = *b"SNAPEND\0";
const CHUNK_HEADER_LEN: usize = 16;
const TRAILER_LEN: usize = 24;
/// Records are gathered into chunks of about this many raw bytes.
pub const CHUNK_RAW_MAX: usize = 1 << 20;
/// No chunk decompresses to more than this (one largest record).
const CHUNK_RAW_LIMIT: usize =
    CHUNK_RAW_MAX + record::RECORD_HEADER_LEN + KEY_LEN_MAX + VALUE_LEN_MAX;

/// File name of the snapshot of generation `generation`.
pub fn file_name(generation: u64) -> String {
    format!("memory-{generation:010}.snapshot")
}

/// The generation of a snapshot's file name.
pub fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("memory-")?.strip_suffix(".snapshot")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())?
}

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

struct ChunkWriter {
    out: fs::BufferedWriter,
    raw: Vec<u8>,
    raw_entries: u32,
    info: SnapshotInfo,
    chunks: u32,
}

impl ChunkWriter {
    fn flush_chunk(&mut self) -> Result<()> {
        if self.raw_entries == 0 {
            return Ok(());
        }
        let stored = lz4_flex::block::compress(&self.raw);
        let mut header = [0u8; CHUNK_HEADER_LEN];
        header[0..4].copy_from_slice(&(self.raw.len() as u32).to_le_bytes());
        header[4..8].copy_from_slice(&(stored.len() as u32).to_le_bytes());
        header[8..12].copy_from_slice(&self.raw_entries.to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header[..12]);
        crc.update(&stored);
        header[12..16].copy_from_slice(&crc.finalize().to_le_bytes());
        self.write(&header)?;
        self.write(&stored)?;
        self.info.raw_bytes += self.raw.len() as u64;
        self.chunks += 1;
        self.raw.clear();
        self.raw_entries = 0;
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write(bytes)?;
        self.info.file_bytes += bytes.len() as u64;
        Ok(())
    }
}

/// Writes a snapshot of `entries` (key, value, expiry; expired ones already
/// left out) durably: temporary file, fsync, rename, directory fsync.
pub fn write<'a>(
    dir: &Path,
    generation: u64,
    entries: impl Iterator<Item = (&'a [u8], &'a [u8], u64)>,
) -> Result<SnapshotInfo> {
    let path = dir.join(file_name(generation));
    let temp = fs::temp_path_for(&path);
    fs::remove_file_if_exists(&temp)?;
    let file = fs::create_new_private(&temp)?;
    let mut writer = ChunkWriter {
        out: fs::BufferedWriter::new(file, &temp, 1 << 20),
        raw: Vec::with_capacity(CHUNK_RAW_MAX + 4096),
        raw_entries: 0,
        info: SnapshotInfo::default(),
        chunks: 0,
    };
    let header = FileHeader {
        magic: SNAPSHOT_MAGIC,
        version: FORMAT_VERSION,
        file_id: generation,
    };
    writer.write(&header.encode())?;
    for (key, value, expiry_ms) in entries {
        let len = record::encoded_len(key.len(), value.len());
        if writer.raw_entries > 0 && writer.raw.len() + len > CHUNK_RAW_MAX {
            writer.flush_chunk()?;
        }
        record::encode_into(
            &mut writer.raw,
            &Record {
                kind: RecordKind::Value,
                expiry_ms,
                key,
                value,
            },
        );
        writer.raw_entries += 1;
        writer.info.entries += 1;
    }
    writer.flush_chunk()?;
    let mut trailer = [0u8; TRAILER_LEN];
    trailer[0..8].copy_from_slice(&TRAILER_MAGIC);
    trailer[8..16].copy_from_slice(&writer.info.entries.to_le_bytes());
    trailer[16..20].copy_from_slice(&writer.chunks.to_le_bytes());
    let crc = crc32fast::hash(&trailer[..20]);
    trailer[20..24].copy_from_slice(&crc.to_le_bytes());
    writer.write(&trailer)?;
    let info = writer.info;
    drop(writer.out.finish()?);
    failpoint::hit("snapshot-before-rename");
    fs::rename(&temp, &path)?;
    fs::sync_dir(dir)?;
    Ok(info)
}

/// A problem found in a snapshot: offset and what failed.
pub type SnapshotDamage = (u64, CorruptKind);

/// Problems met while reading: kept (salvage) or turned into an error.
struct Findings<'p> {
    path: &'p Path,
    salvage: bool,
    damage: Vec<SnapshotDamage>,
}

impl Findings<'_> {
    fn fail(&mut self, offset: u64, kind: CorruptKind) -> Result<()> {
        if self.salvage {
            self.damage.push((offset, kind));
            Ok(())
        } else {
            Err(Error::Corrupt {
                path: self.path.to_path_buf(),
                offset,
                kind,
            })
        }
    }
}

/// Reads a snapshot, calling `apply` for every record. With `salvage`,
/// damaged chunks and records are skipped and listed; without it, the
/// first problem is `Error::Corrupt`.
pub fn read(
    path: &Path,
    generation: u64,
    salvage: bool,
    apply: impl FnMut(&Record<'_>),
) -> Result<(SnapshotInfo, Vec<SnapshotDamage>)> {
    let bytes = fs::read_all(&fs::open_read(path)?, path)?;
    decode(&bytes, path, generation, salvage, apply)
}

/// Decodes a whole snapshot image; `path` names it in errors. Allocates
/// at most what the input can justify: a chunk may claim no more raw
/// bytes than lz4 can expand its stored bytes to.
pub fn decode(
    bytes: &[u8],
    path: &Path,
    generation: u64,
    salvage: bool,
    mut apply: impl FnMut(&Record<'_>),
) -> Result<(SnapshotInfo, Vec<SnapshotDamage>)> {
    let mut findings = Findings {
        path,
        salvage,
        damage: Vec::new(),
    };
    let mut info = SnapshotInfo {
        file_bytes: bytes.len() as u64,
        ..SnapshotInfo::default()
    };
    match FileHeader::decode(bytes, SNAPSHOT_MAGIC) {
        Ok(h) if h.file_id == generation => {}
        Ok(_) => findings.fail(0, CorruptKind::Header)?,
        Err(HeaderError::Short) => {
            findings.fail(0, CorruptKind::Truncated)?;
            return Ok((info, findings.damage));
        }
        Err(HeaderError::Corrupt(kind)) => findings.fail(0, kind)?,
        Err(HeaderError::NewerVersion(v)) => {
            return Err(Error::Unsupported(format!(
                "{} was written by a newer hoard (format {v})",
                path.display()
            )));
        }
    }
    let body_end = bytes.len().saturating_sub(TRAILER_LEN).max(HEADER_LEN);
    let mut at = HEADER_LEN;
    let mut chunks = 0u32;
    while at + CHUNK_HEADER_LEN <= body_end {
        let head = &bytes[at..at + CHUNK_HEADER_LEN];
        let raw_len = u32::from_le_bytes(head[0..4].try_into().expect("4")) as usize;
        let stored_len = u32::from_le_bytes(head[4..8].try_into().expect("4")) as usize;
        let end = at + CHUNK_HEADER_LEN + stored_len;
        // lz4 expands at most 255 bytes per input byte.
        let expandable = raw_len <= stored_len.saturating_mul(255).saturating_add(16);
        let sane = raw_len <= CHUNK_RAW_LIMIT && expandable && end <= body_end;
        let payload = if sane {
            &bytes[at + CHUNK_HEADER_LEN..end]
        } else {
            &[][..]
        };
        let mut crc = crc32fast::Hasher::new();
        crc.update(&head[..12]);
        crc.update(payload);
        let stored_crc = u32::from_le_bytes(head[12..16].try_into().expect("4"));
        if !sane || crc.finalize() != stored_crc {
            // A chunk whose length cannot be trusted ends what can be read.
            findings.fail(
                at as u64,
                if sane {
                    CorruptKind::Checksum
                } else {
                    CorruptKind::Length
                },
            )?;
            if !sane {
                return Ok((info, findings.damage));
            }
            at = end;
            continue;
        }
        let raw = match lz4_flex::block::decompress(payload, raw_len) {
            Ok(raw) if raw.len() == raw_len => raw,
            _ => {
                findings.fail(at as u64, CorruptKind::Checksum)?;
                at = end;
                continue;
            }
        };
        let mut r = 0;
        while r < raw.len() {
            match record::decode(&raw[r..]) {
                Decoded::Record(rec, len) if rec.kind == RecordKind::Value => {
                    apply(&rec);
                    info.entries += 1;
                    r += len;
                }
                _ => {
                    findings.fail(at as u64, CorruptKind::Checksum)?;
                    break;
                }
            }
        }
        info.raw_bytes += raw_len as u64;
        chunks += 1;
        at = end;
    }
    let trailer = &bytes[body_end.min(bytes.len())..];
    let trailer_ok = trailer.len() == TRAILER_LEN
        && trailer[0..8] == TRAILER_MAGIC
        && crc32fast::hash(&trailer[..20])
            == u32::from_le_bytes(trailer[20..24].try_into().expect("4"))
        && at == body_end;
    if !trailer_ok {
        findings.fail(body_end as u64, CorruptKind::Truncated)?;
    } else {
        let entries = u64::from_le_bytes(trailer[8..16].try_into().expect("8"));
        let count = u32::from_le_bytes(trailer[16..20].try_into().expect("4"));
        if findings.damage.is_empty() && (entries != info.entries || count != chunks) {
            findings.fail(body_end as u64, CorruptKind::Length)?;
        }
    }
    Ok((info, findings.damage))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
        (0..n)
            .map(|i| {
                (
                    format!("key-{i}").into_bytes(),
                    format!("value-{i}").repeat(i % 7).into_bytes(),
                    (i % 3) as u64,
                )
            })
            .collect()
    }

    fn write_sample(dir: &Path, entries: &[(Vec<u8>, Vec<u8>, u64)]) -> std::path::PathBuf {
        write(
            dir,
            3,
            entries
                .iter()
                .map(|(k, v, e)| (k.as_slice(), v.as_slice(), *e)),
        )
        .unwrap();
        dir.join(file_name(3))
    }

    #[test]
    fn a_snapshot_round_trips_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let entries = sample(40_000);
        let path = write_sample(dir.path(), &entries);
        let mut back = Vec::new();
        let (info, damage) = read(&path, 3, false, |r| {
            back.push((r.key.to_vec(), r.value.to_vec(), r.expiry_ms))
        })
        .unwrap();
        assert!(damage.is_empty());
        assert_eq!(back, entries);
        assert_eq!(info.entries, 40_000);
        assert!(
            info.raw_bytes > CHUNK_RAW_MAX as u64,
            "expected several chunks"
        );
        assert!(
            info.file_bytes < info.raw_bytes,
            "lz4 should shrink repetitive data"
        );
    }

    #[test]
    fn every_byte_flip_of_a_small_snapshot_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path(), &sample(30));
        let bytes = std::fs::read(&path).unwrap();
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x01;
            std::fs::write(&path, &damaged).unwrap();
            assert!(
                read(&path, 3, false, |_| {}).is_err(),
                "flip at {at} went unnoticed"
            );
        }
    }

    #[test]
    fn a_truncated_snapshot_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path(), &sample(300));
        let bytes = std::fs::read(&path).unwrap();
        for len in [0, 10, 40, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..len]).unwrap();
            assert!(read(&path, 3, false, |_| {}).is_err(), "length {len}");
        }
    }
}
