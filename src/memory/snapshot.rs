//! Snapshot files: writing one atomically and reading one back. The byte
//! layout is the pure codec in `format::snapshot`.

use std::path::Path;

use crate::error::{Error, Result};
use crate::failpoint;
use crate::format::file_header::FORMAT_VERSION;
use crate::format::record::Record;
use crate::format::snapshot::{SnapshotEncoder, SnapshotError};
pub use crate::format::snapshot::{SnapshotInfo, SnapshotRead};
use crate::fs;
use crate::layout;

/// Writes a snapshot of `entries` (key, value, expiry; expired ones already
/// left out) durably: temporary file, fsync, rename, directory fsync.
pub fn write<'a>(
    dir: &Path,
    generation: u64,
    entries: impl Iterator<Item = (&'a [u8], &'a [u8], u64)>,
) -> Result<SnapshotInfo> {
    write_chunks(dir, generation, |emit| {
        for (key, value, expiry_ms) in entries {
            emit(key, value, expiry_ms);
        }
    })
}

/// As `write`, with the entries given by `source` through the callback it
/// receives, so that it can copy them out in chunks under short locks.
pub fn write_chunks(
    dir: &Path,
    generation: u64,
    source: impl FnOnce(&mut dyn FnMut(&[u8], &[u8], u64)),
) -> Result<SnapshotInfo> {
    let path = dir.join(layout::snapshot_file_name(generation));
    let temp = fs::temp_path_for(&path);
    fs::remove_file_if_exists(&temp)?;
    let file = fs::create_new_private(&temp)?;
    let mut out = fs::BufferedWriter::new(file, &temp, 1 << 20);
    let mut failed = None;
    let mut emit = |bytes: &[u8]| {
        if failed.is_none()
            && let Err(e) = out.write(bytes)
        {
            failed = Some(e);
        }
    };
    let mut encoder = SnapshotEncoder::new(generation, layout::new_uid(), &mut emit);
    source(&mut |key, value, expiry_ms| encoder.push(key, value, expiry_ms, &mut emit));
    let info = encoder.finish(&mut emit);
    if let Some(e) = failed {
        return Err(e);
    }
    drop(out.finish()?);
    failpoint::hit("snapshot-before-rename");
    fs::rename(&temp, &path)?;
    fs::sync_dir(dir)?;
    Ok(info)
}

/// Reads the snapshot at `path`, calling `apply` for every record. With
/// `salvage`, damaged chunks are skipped and listed; without it, the first
/// problem is `Error::Corrupt`.
pub fn read(
    path: &Path,
    generation: u64,
    salvage: bool,
    apply: impl FnMut(&Record<'_>),
) -> Result<SnapshotRead> {
    let file = fs::open_read(path)?;
    // Mapped when real: the table being built is the only copy of the data
    // that needs to live in memory.
    let mapped = file
        .std_file()
        .and_then(|f| crate::mmap::map_read_only(f, path).ok());
    match mapped {
        Some(map) => decode(&map, path, generation, salvage, apply),
        None => decode(
            &fs::read_all(&file, path)?,
            path,
            generation,
            salvage,
            apply,
        ),
    }
}

/// Decodes a snapshot image; `path` names it in errors.
pub fn decode(
    bytes: &[u8],
    path: &Path,
    generation: u64,
    salvage: bool,
    apply: impl FnMut(&Record<'_>),
) -> Result<SnapshotRead> {
    match crate::format::snapshot::decode(bytes, generation, salvage, apply) {
        Ok(read) => match read.damage.first() {
            Some((offset, _, kind)) if !salvage => Err(Error::Corrupt {
                path: path.to_path_buf(),
                offset: *offset,
                kind: *kind,
            }),
            _ => Ok(read),
        },
        Err(SnapshotError::NewerVersion(v)) => Err(Error::Unsupported(format!(
            "{} was written by a newer hoard (format {v}); this build reads format {FORMAT_VERSION}",
            path.display()
        ))),
        Err(SnapshotError::OlderVersion(v)) => Err(Error::Unsupported(format!(
            "{} is in format {v}, older than this build's format {FORMAT_VERSION}; run `hoard upgrade`",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::snapshot::CHUNK_RAW_MAX;

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
        dir.join(layout::snapshot_file_name(3))
    }

    #[test]
    fn a_snapshot_round_trips_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let entries = sample(40_000);
        let path = write_sample(dir.path(), &entries);
        let mut back = Vec::new();
        let read = read(&path, 3, false, |r| {
            back.push((r.key.to_vec(), r.value.to_vec(), r.expiry_ms))
        })
        .unwrap();
        assert!(read.damage.is_empty());
        assert_eq!(back, entries);
        assert_eq!(read.info.entries, 40_000);
        assert!(
            read.info.raw_bytes > CHUNK_RAW_MAX as u64,
            "expected several chunks"
        );
        assert!(
            read.info.file_bytes < read.info.raw_bytes,
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

    #[test]
    fn salvage_loses_at_most_the_damaged_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let entries = sample(40_000);
        let path = write_sample(dir.path(), &entries);
        let mut bytes = std::fs::read(&path).unwrap();
        // Wreck the first chunk's header: its lengths can no longer be trusted.
        for b in &mut bytes[48..64] {
            *b = 0xff;
        }
        std::fs::write(&path, &bytes).unwrap();
        let mut kept = 0u64;
        let read = read(&path, 3, true, |_| kept += 1).unwrap();
        assert_eq!(read.damage.len(), 1, "{:?}", read.damage);
        assert_eq!(read.entries_expected, Some(40_000));
        let lost = 40_000 - kept;
        assert!(lost > 0 && lost < 20_000, "lost {lost} entries");
    }
}
