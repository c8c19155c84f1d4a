//! Every file operation the engines perform goes through this module: it
//! attaches the operation and path to each error, enforces the 0700/0600
//! modes whatever the umask, and owns the write-temp / fsync / rename /
//! fsync-directory sequence. It is the seam where fault-injecting tests
//! will plug in, so engines never call `std::fs` directly.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Mode of every directory a store creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file a store creates.
pub const FILE_MODE: u32 = 0o600;

/// Suffix of files being written before their atomic rename.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Creates a directory with mode 0700 (set explicitly, so the umask cannot widen or narrow it).
pub fn create_dir_private(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .mode(DIR_MODE)
        .create(path)
        .map_err(|e| Error::io("create directory", path, e))?;
    fs::set_permissions(path, Permissions::from_mode(DIR_MODE))
        .map_err(|e| Error::io("set permissions of", path, e))
}

/// Creates a new file, failing if it exists, with mode 0600 whatever the umask.
pub fn create_new_private(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))
        .map_err(|e| Error::io("set permissions of", path, e))?;
    Ok(file)
}

/// Opens an existing file for reading.
pub fn open_read(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io("open", path, e))
}

/// Opens an existing file for reading and writing.
pub fn open_read_write(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("open for writing", path, e))
}

/// Length of an open file.
pub fn file_len(file: &File, path: &Path) -> Result<u64> {
    Ok(file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len())
}

/// Writes all of `bytes` at `offset`.
pub fn write_all_at(file: &File, path: &Path, bytes: &[u8], offset: u64) -> Result<()> {
    file.write_all_at(bytes, offset)
        .map_err(|e| Error::io("write", path, e))
}

/// Reads exactly `buf.len()` bytes at `offset`.
pub fn read_exact_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<()> {
    file.read_exact_at(buf, offset)
        .map_err(|e| Error::io("read", path, e))
}

/// Flushes a file's data (and the metadata needed to read it) to the disk.
pub fn sync_data(file: &File, path: &Path) -> Result<()> {
    file.sync_data().map_err(|e| Error::io("sync", path, e))
}

/// Cuts or extends a file to `len` bytes.
pub fn set_len(file: &File, path: &Path, len: u64) -> Result<()> {
    file.set_len(len)
        .map_err(|e| Error::io("truncate", path, e))
}

/// Renames a file within the store; the caller syncs the directory.
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| Error::io("rename", from, e))
}

/// Removes a file.
pub fn remove_file(path: &Path) -> Result<()> {
    fs::remove_file(path).map_err(|e| Error::io("remove", path, e))
}

/// Makes the directory's entries (creations, renames, removals) durable.
pub fn sync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| Error::io("sync directory", path, e))
}

/// The names of the entries of a directory.
pub fn list_dir(path: &Path) -> Result<Vec<OsString>> {
    let entries = fs::read_dir(path).map_err(|e| Error::io("list directory", path, e))?;
    entries
        .map(|entry| {
            entry
                .map(|e| e.file_name())
                .map_err(|e| Error::io("list directory", path, e))
        })
        .collect()
}

/// Reads a whole small file (the manifest), refusing anything over `len_max` bytes.
pub fn read_small_file(path: &Path, len_max: u64) -> Result<Vec<u8>> {
    let file = open_read(path)?;
    let mut bytes = Vec::new();
    file.take(len_max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    Ok(bytes)
}

/// Writes `bytes` to `dir/name` atomically and durably: a temporary file is
/// written and fsynced, renamed over the final name, and the directory
/// fsynced, so a crash leaves either the old file or the new one, whole.
pub fn write_file_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let final_path = dir.join(name);
    let temp_path = temp_path_for(&final_path);
    // A leftover from a crashed attempt holds nothing acknowledged.
    if temp_path.exists() {
        remove_file(&temp_path)?;
    }
    let mut file = create_new_private(&temp_path)?;
    file.write_all(bytes)
        .map_err(|e| Error::io("write", &temp_path, e))?;
    sync_data(&file, &temp_path)?;
    drop(file);
    rename(&temp_path, &final_path)?;
    sync_dir(dir)
}

/// The temporary name under which `path` is written before its rename.
pub fn temp_path_for(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}
