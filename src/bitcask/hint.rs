//! The hint file `keydir.hint`: loading it (a memory map plus an O(files)
//! check that it matches the data files), looking keys up through it, and
//! writing a new one atomically. The table layout itself is the pure codec
//! in `format::hint`.

use std::path::Path;
use std::sync::atomic::AtomicU64;

use memmap2::Mmap;

use super::data_file::{FileId, FileSet};
use crate::error::Result;
use crate::failpoint;
use crate::format::hint::{self, HintError, HintMeta, HintView, Slot};
use crate::fs;
use crate::mmap;

/// Name of the hint file inside a store.
pub use crate::layout::HINT_FILE;

/// The hint's bytes: a memory map, or (for a simulated file) a copy.
#[derive(Debug)]
enum HintBytes {
    Mapped(Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for HintBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            HintBytes::Mapped(map) => map,
            HintBytes::Read(bytes) => bytes,
        }
    }
}

/// A loaded, header-checked hint.
#[derive(Debug)]
pub struct Hint {
    path: std::path::PathBuf,
    /// Blocks whose CRC has been checked, one bit each: each is hashed once.
    verified: Box<[AtomicU64]>,
    map: HintBytes,
    meta: HintMeta,
    file_ids: Vec<FileId>,
}

/// Why a hint could not be used.
#[derive(Debug)]
pub enum HintProblem {
    /// There is no hint file.
    Missing,
    /// The hint is intact but describes other data files (after a crash
    /// mid-merge, or files changed by hand); the text says how.
    Stale(String),
    /// The hint is damaged, or from a newer hoard; the text says how.
    Damaged(String),
}

impl Hint {
    /// Maps and checks the hint in `dir` against the data files found there.
    pub fn load(dir: &Path, files: &FileSet) -> Result<Hint, HintProblem> {
        let path = dir.join(HINT_FILE);
        let file = match fs::open_read_if_exists(&path) {
            Ok(Some(file)) => file,
            Ok(None) => return Err(HintProblem::Missing),
            Err(e) => return Err(HintProblem::Damaged(e.to_string())),
        };
        let len = fs::file_len(&file, &path).map_err(|e| HintProblem::Damaged(e.to_string()))?;
        if len == 0 {
            return Err(HintProblem::Damaged("it is empty".to_string()));
        }
        // Mapped when the file is real; read whole when it is simulated.
        let map = match file.std_file() {
            Some(real) => HintBytes::Mapped(
                mmap::map_read_only(real, &path)
                    .map_err(|e| HintProblem::Damaged(e.to_string()))?,
            ),
            None => HintBytes::Read(
                fs::read_all(&file, &path).map_err(|e| HintProblem::Damaged(e.to_string()))?,
            ),
        };
        Hint::checked(path, map, files)
    }

    /// A hint this process just wrote, from its bytes in memory: as `load`
    /// would find it, without reading it back.
    pub fn from_bytes(dir: &Path, bytes: Vec<u8>, files: &FileSet) -> Result<Hint, HintProblem> {
        Hint::checked(dir.join(HINT_FILE), HintBytes::Read(bytes), files)
    }

    fn checked(
        path: std::path::PathBuf,
        map: HintBytes,
        files: &FileSet,
    ) -> Result<Hint, HintProblem> {
        let meta = match HintView::parse(&map) {
            Ok((_, meta)) => meta,
            Err(HintError::Damaged(why)) => {
                return Err(HintProblem::Damaged(format!("it is damaged: {why}")));
            }
            Err(HintError::UnknownLayout(code)) => {
                return Err(HintProblem::Stale(format!(
                    "it uses slot layout {code}, which a newer hoard writes and this build does not read"
                )));
            }
            Err(HintError::NewerVersion(v)) => {
                return Err(HintProblem::Damaged(format!(
                    "it was written by a newer hoard (format {v}); this build reads format {}",
                    crate::format::file_header::FORMAT_VERSION
                )));
            }
        };
        let blocks = meta.block_count();
        let hint = Hint {
            path,
            file_ids: meta.files.iter().map(|f| FileId(f.id)).collect(),
            map,
            meta,
            verified: (0..blocks.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
        };
        let watermark = FileId(hint.meta.watermark_file_id);
        if !hint.file_ids.contains(&watermark) {
            return Err(HintProblem::Damaged(
                "it is damaged: its watermark file is not in its file table".to_string(),
            ));
        }
        hint.check_against(files).map_err(HintProblem::Stale)?;
        Ok(hint)
    }

    /// Whether the data files are the ones the hint was written for: every
    /// file it lists exists with the identity and length it recorded (the
    /// watermark file may have grown since), and no file it does not list
    /// is older than the watermark. Any mismatch makes the hint stale,
    /// never wrong.
    fn check_against(&self, files: &FileSet) -> Result<(), String> {
        let watermark = FileId(self.meta.watermark_file_id);
        for recorded in &self.meta.files {
            let id = FileId(recorded.id);
            let Some(file) = files.get(&id) else {
                return Err(format!("it is stale: {} no longer exists", id.file_name()));
            };
            if file.uid() != recorded.uid {
                return Err(format!(
                    "it is stale: {} was rewritten since it was written",
                    id.file_name()
                ));
            }
            let ok = if id == watermark {
                file.disk_len() >= self.meta.watermark_offset
                    && recorded.len == self.meta.watermark_offset
            } else {
                file.disk_len() == recorded.len
            };
            if !ok {
                return Err(format!(
                    "it is stale: {} is {} bytes, the hint recorded {}",
                    id.file_name(),
                    file.disk_len(),
                    recorded.len
                ));
            }
        }
        if let Some(id) = files
            .keys()
            .find(|id| **id < watermark && !self.file_ids.contains(id))
        {
            return Err(format!("it is stale: it does not know {}", id.file_name()));
        }
        Ok(())
    }

    /// A view of the table (its metadata was checked by `load`).
    pub fn view(&self) -> HintView<'_> {
        HintView::trusted(&self.map, &self.meta)
    }

    /// The bitset of blocks already checked, for `HintView::probe`.
    pub fn verified(&self) -> &[AtomicU64] {
        &self.verified
    }

    /// The watermark: records before it are indexed.
    pub fn watermark(&self) -> (FileId, u64) {
        (
            FileId(self.meta.watermark_file_id),
            self.meta.watermark_offset,
        )
    }

    /// Records of the watermark file before the watermark, if the hint knows.
    pub fn watermark_records(&self) -> Option<u64> {
        self.meta
            .files
            .iter()
            .find(|f| f.id == self.meta.watermark_file_id)
            .map(|f| f.records)
            .filter(|n| *n != u64::MAX)
    }

    /// Number of keys in the table.
    pub fn entry_count(&self) -> u64 {
        self.meta.entry_count
    }

    /// Size of the hint file in bytes.
    pub fn file_len(&self) -> u64 {
        self.map.len() as u64
    }

    /// The hint file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data file a slot points into.
    pub fn file_of(&self, slot: &Slot) -> Option<FileId> {
        self.file_ids.get(slot.file_index as usize).copied()
    }

    /// Writes a hint atomically: temporary file, fsync, rename, directory
    /// fsync. Returns its length.
    pub fn write(dir: &Path, meta: HintMeta, entries: &[Slot]) -> Result<u64> {
        Ok(Hint::write_bytes(dir, meta, entries)?.len() as u64)
    }

    /// As `write`, returning the bytes written (for `from_bytes`).
    pub fn write_bytes(dir: &Path, meta: HintMeta, entries: &[Slot]) -> Result<Vec<u8>> {
        // Writes refuse keys past the limit; this keeps the codec's bound
        // an error, never a panic, whatever led here.
        crate::limits::check_key_count(entries.len() as u64, b"(hint)")?;
        let bytes = hint::encode(meta, entries);
        let path = dir.join(HINT_FILE);
        let temp = fs::temp_path_for(&path);
        fs::remove_file_if_exists(&temp)?;
        let file = fs::create_new_private(&temp)?;
        fs::write_all_at(&file, &temp, &bytes, 0)?;
        fs::sync_data(&file, &temp)?;
        drop(file);
        failpoint::hit("hint-before-rename");
        fs::rename(&temp, &path)?;
        failpoint::hit("hint-before-dir-sync");
        fs::sync_dir(dir)?;
        Ok(bytes)
    }

    /// Removes the hint in `dir`, if any (it would only be found stale).
    pub fn remove(dir: &Path) -> Result<()> {
        let path = dir.join(HINT_FILE);
        if fs::exists(&path) {
            fs::remove_file(&path)?;
            fs::sync_dir(dir)?;
        }
        Ok(())
    }
}
