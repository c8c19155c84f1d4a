//! Which files make up a memory store: `FILES` read and checked against
//! the directory (tolerantly for verify and repair).

use std::path::Path;

use crate::error::{CorruptKind, Error, Result};
use crate::file_list;
use crate::format::file_list::{FileList, ListedKind};
use crate::fs;
use crate::layout;

/// The files of a memory store, by generation, as its file list names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryFiles {
    /// Listed snapshot generations, ascending (at most one in this version).
    pub snapshots: Vec<u64>,
    /// Listed AOF generations, ascending.
    pub aofs: Vec<u64>,
    /// Listed files that do not exist, by name.
    pub missing: Vec<String>,
    /// Memory-engine files present but not listed (leftovers), by name.
    pub unlisted: Vec<String>,
    /// The file list itself (rebuilt from the files present when damaged).
    pub list: FileList,
    /// Why the file list could not be used (a tolerant read only).
    pub list_problem: Option<String>,
}

/// Whether `name` in `dir` is a temporary or an AOF that never took a
/// record: what an interrupted file creation leaves.
pub(super) fn is_empty_leftover(dir: &Path, name: &str) -> bool {
    let path = dir.join(name);
    name.ends_with(layout::TEMP_SUFFIX)
        || layout::parse_aof_file_name(name).is_some()
            && fs::open_read(&path)
                .and_then(|f| fs::file_len(&f, &path))
                .is_ok_and(|len| len <= crate::format::file_header::HEADER_LEN as u64)
}

impl MemoryFiles {
    /// Reads the file list and checks it against the directory.
    pub fn read(dir: &Path) -> Result<MemoryFiles> {
        MemoryFiles::read_checked(dir, false)
    }

    /// As `read`; with `tolerant` (verify and repair), a damaged or missing
    /// list is reported in `list_problem` and rebuilt from the files
    /// present: the newest snapshot and the AOFs of its generation or later.
    pub fn read_checked(dir: &Path, tolerant: bool) -> Result<MemoryFiles> {
        let mut files = MemoryFiles::default();
        let list = match file_list::read(dir) {
            Ok(list) => list,
            Err(e @ Error::Corrupt { .. }) if tolerant => {
                files.list_problem = Some(e.to_string());
                None
            }
            Err(e) => return Err(e),
        };
        let mut present = Vec::new();
        for name in fs::list_dir(dir)? {
            let Some(name) = name.to_str() else { continue };
            let stem = name.strip_suffix(layout::TEMP_SUFFIX).unwrap_or(name);
            if layout::parse_snapshot_file_name(stem).is_some()
                || layout::parse_aof_file_name(stem).is_some()
            {
                present.push(name.to_string());
            }
        }
        // Without a file list, only an AOF that never took a record may be
        // present (created just before a crash kept its list from being
        // written): a leftover.
        if list.is_none()
            && files.list_problem.is_none()
            && !present.iter().all(|name| is_empty_leftover(dir, name))
        {
            let missing = Error::Corrupt {
                path: dir.join(layout::FILE_LIST_FILE),
                offset: 0,
                kind: CorruptKind::Missing,
            };
            if !tolerant {
                return Err(missing);
            }
            files.list_problem = Some(missing.to_string());
        }
        let list = match (list, &files.list_problem) {
            (_, Some(_)) => {
                let snapshot = present
                    .iter()
                    .filter_map(|n| layout::parse_snapshot_file_name(n))
                    .max();
                let base = snapshot.unwrap_or(0);
                let mut aofs: Vec<u64> = present
                    .iter()
                    .filter_map(|n| layout::parse_aof_file_name(n))
                    .filter(|g| *g >= base)
                    .collect();
                aofs.sort_unstable();
                FileList {
                    sequence: 0,
                    entries: snapshot
                        .map(|g| (ListedKind::Snapshot, g))
                        .into_iter()
                        .chain(aofs.into_iter().map(|g| (ListedKind::Aof, g)))
                        .collect(),
                    sealed: Default::default(),
                }
            }
            (list, None) => list.unwrap_or_default(),
        };
        files.snapshots = list.ids(ListedKind::Snapshot);
        files.aofs = list.ids(ListedKind::Aof);
        let listed: Vec<String> = files
            .snapshots
            .iter()
            .map(|g| layout::snapshot_file_name(*g))
            .chain(files.aofs.iter().map(|g| layout::aof_file_name(*g)))
            .collect();
        files.missing = listed
            .iter()
            .filter(|n| !present.contains(n))
            .cloned()
            .collect();
        files.unlisted = present
            .into_iter()
            .filter(|n| !listed.contains(n))
            .collect();
        files.list = list;
        Ok(files)
    }

    /// The generation of the snapshot an open loads (0: none).
    pub fn base(&self) -> u64 {
        self.snapshots.last().copied().unwrap_or(0)
    }

    /// The AOFs an open replays, oldest first.
    pub fn live_aofs(&self) -> Vec<u64> {
        self.aofs.clone()
    }
}
