//! Every file operation the engines perform goes through this module: it
//! attaches the operation and path to each error, enforces the 0700/0600
//! modes whatever the umask, and owns the write-temp / fsync / rename /
//! fsync-directory sequence.
//!
//! It is also the seam for fault injection. Path operations go through the
//! `Vfs` in force for the calling thread (the real file system unless a
//! test installs another with `with_vfs`), and every open file is an
//! `fs::File` over a `VfsFile`. A simulated file cannot be memory-mapped;
//! readers then fall back to positioned reads.

use std::cell::RefCell;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// Mode of every directory a store creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file a store creates.
pub const FILE_MODE: u32 = 0o600;

/// Suffix of files being written before their atomic rename.
pub use crate::layout::TEMP_SUFFIX;

/// An open file of some `Vfs`.
pub trait VfsFile: Send + Sync + fmt::Debug {
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes the file's data (and the size needed to read it) durable.
    fn sync_data(&self) -> io::Result<()>;
    /// Cuts or extends the file.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// The file's length.
    fn size(&self) -> io::Result<u64>;
    /// The real file underneath, when there is one (it can be memory-mapped).
    fn std_file(&self) -> Option<&std::fs::File>;
}

/// A file system: the real one, or a test's simulation of one.
pub trait Vfs: Send + Sync + fmt::Debug {
    /// Creates a new file (failing if it exists) with mode 0600.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn VfsFile>>;
    /// Opens an existing file.
    fn open(&self, path: &Path, writable: bool) -> io::Result<Box<dyn VfsFile>>;
    /// Creates a directory with mode 0700.
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    /// Renames a file or directory, replacing the target.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Gives a file a second name.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes a directory's entries durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// The names in a directory.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<OsString>>;
    /// Whether a path exists.
    fn exists(&self, path: &Path) -> bool;
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

#[derive(Debug)]
struct RealFile(std::fs::File);

impl VfsFile for RealFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
    fn std_file(&self) -> Option<&std::fs::File> {
        Some(&self.0)
    }
}

impl Vfs for RealFs {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn VfsFile>> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path)?;
        // The umask may have narrowed the mode; set it exactly.
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
        Ok(Box::new(RealFile(file)))
    }
    fn open(&self, path: &Path, writable: bool) -> io::Result<Box<dyn VfsFile>> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(writable)
            .open(path)?;
        Ok(Box::new(RealFile(file)))
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::DirBuilder::new().mode(DIR_MODE).create(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(DIR_MODE))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::hard_link(from, to)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::File::open(path)?.sync_all()
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.file_name()))
            .collect()
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<dyn Vfs>>> = const { RefCell::new(None) };
}

/// Runs `f` with `vfs` as this thread's file system, then restores the previous one.
pub fn with_vfs<R>(vfs: Arc<dyn Vfs>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<dyn Vfs>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(vfs)));
    f()
}

/// Makes `vfs` this thread's file system for the rest of its life (for a
/// binary that injects faults into itself; tests use `with_vfs`).
pub fn install(vfs: Arc<dyn Vfs>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(vfs));
}

fn vfs() -> Arc<dyn Vfs> {
    current_vfs()
}

/// The file system this thread was given (`with_vfs`, `install`), if any:
/// a store captures it when it opens, and uses it from every thread.
pub fn installed_vfs() -> Option<Arc<dyn Vfs>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Runs `f` on `vfs` (a store's captured file system; `None` is the real
/// one, and costs nothing), whichever thread calls.
pub fn in_vfs<R>(vfs: &Option<Arc<dyn Vfs>>, f: impl FnOnce() -> R) -> R {
    match vfs {
        None => f(),
        Some(v) => {
            let same = CURRENT.with(|c| c.borrow().as_ref().is_some_and(|cur| Arc::ptr_eq(cur, v)));
            if same { f() } else { with_vfs(v.clone(), f) }
        }
    }
}

/// This thread's file system, for a thread it starts to use too.
pub fn current_vfs() -> Arc<dyn Vfs> {
    CURRENT
        .with(|c| c.borrow().clone())
        .unwrap_or_else(|| Arc::new(RealFs))
}

/// An open file, of whichever file system opened it.
#[derive(Debug)]
pub struct File(Box<dyn VfsFile>);

impl File {
    /// The real file underneath, when there is one (it can be memory-mapped).
    pub fn std_file(&self) -> Option<&std::fs::File> {
        self.0.std_file()
    }
}

/// Creates a directory with mode 0700 (set explicitly, so the umask cannot widen or narrow it).
pub fn create_dir_private(path: &Path) -> Result<()> {
    vfs()
        .create_dir(path)
        .map_err(|e| Error::io("create directory", path, e))
}

/// Creates a new file, failing if it exists, with mode 0600 whatever the umask.
pub fn create_new_private(path: &Path) -> Result<File> {
    vfs()
        .create_new(path)
        .map(File)
        .map_err(|e| Error::io("create", path, e))
}

/// Opens an existing file for reading.
pub fn open_read(path: &Path) -> Result<File> {
    vfs()
        .open(path, false)
        .map(File)
        .map_err(|e| Error::io("open", path, e))
}

/// Opens an existing file for reading, `None` if it does not exist.
pub fn open_read_if_exists(path: &Path) -> Result<Option<File>> {
    match vfs().open(path, false) {
        Ok(file) => Ok(Some(File(file))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("open", path, e)),
    }
}

/// Opens an existing file for reading and writing.
pub fn open_read_write(path: &Path) -> Result<File> {
    vfs()
        .open(path, true)
        .map(File)
        .map_err(|e| Error::io("open for writing", path, e))
}

/// Length of an open file.
pub fn file_len(file: &File, path: &Path) -> Result<u64> {
    file.0.size().map_err(|e| Error::io("stat", path, e))
}

/// Writes all of `bytes` at `offset`.
pub fn write_all_at(file: &File, path: &Path, bytes: &[u8], offset: u64) -> Result<()> {
    file.0
        .write_all_at(bytes, offset)
        .map_err(|e| Error::io("write", path, e))
}

/// Reads exactly `buf.len()` bytes at `offset`.
pub fn read_exact_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<()> {
    file.0
        .read_exact_at(buf, offset)
        .map_err(|e| Error::io("read", path, e))
}

/// Reads a whole file.
pub fn read_all(file: &File, path: &Path) -> Result<Vec<u8>> {
    let len = file_len(file, path)?;
    let mut bytes = vec![0u8; len as usize];
    read_exact_at(file, path, &mut bytes, 0)?;
    Ok(bytes)
}

/// Flushes a file's data (and the metadata needed to read it) to the disk.
pub fn sync_data(file: &File, path: &Path) -> Result<()> {
    file.0.sync_data().map_err(|e| Error::io("sync", path, e))
}

/// Cuts or extends a file to `len` bytes.
pub fn set_len(file: &File, path: &Path, len: u64) -> Result<()> {
    file.0
        .set_len(len)
        .map_err(|e| Error::io("truncate", path, e))
}

/// Renames a file within the store; the caller syncs the directory.
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    vfs()
        .rename(from, to)
        .map_err(|e| Error::io("rename", from, e))
}

/// Removes a file.
pub fn remove_file(path: &Path) -> Result<()> {
    vfs()
        .remove_file(path)
        .map_err(|e| Error::io("remove", path, e))
}

/// Removes a file if it exists.
pub fn remove_file_if_exists(path: &Path) -> Result<()> {
    match vfs().remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Gives `from` the second name `to`, or copies it (synced) where links fail.
pub fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if vfs().hard_link(from, to).is_ok() {
        return Ok(());
    }
    let source = open_read(from)?;
    let bytes = read_all(&source, from)?;
    let copy = create_new_private(to)?;
    write_all_at(&copy, to, &bytes, 0)?;
    sync_data(&copy, to)
}

/// Whether a path exists.
pub fn exists(path: &Path) -> bool {
    vfs().exists(path)
}

/// Makes the directory's entries (creations, renames, removals) durable.
pub fn sync_dir(path: &Path) -> Result<()> {
    vfs()
        .sync_dir(path)
        .map_err(|e| Error::io("sync directory", path, e))
}

/// The names of the entries of a directory.
pub fn list_dir(path: &Path) -> Result<Vec<OsString>> {
    vfs()
        .list_dir(path)
        .map_err(|e| Error::io("list directory", path, e))
}

/// Reads a whole small file (the manifest), refusing anything over `len_max` bytes.
pub fn read_small_file(path: &Path, len_max: u64) -> Result<Vec<u8>> {
    let file = open_read(path)?;
    let len = file_len(&file, path)?.min(len_max + 1);
    let mut bytes = vec![0u8; len as usize];
    read_exact_at(&file, path, &mut bytes, 0)?;
    Ok(bytes)
}

/// Writes `bytes` to `dir/name` atomically and durably: a temporary file is
/// written and fsynced, renamed over the final name, and the directory
/// fsynced, so a crash leaves either the old file or the new one, whole.
pub fn write_file_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let final_path = dir.join(name);
    let temp_path = temp_path_for(&final_path);
    // A leftover from a crashed attempt holds nothing acknowledged.
    remove_file_if_exists(&temp_path)?;
    let file = create_new_private(&temp_path)?;
    write_all_at(&file, &temp_path, bytes, 0)?;
    sync_data(&file, &temp_path)?;
    drop(file);
    rename(&temp_path, &final_path)?;
    sync_dir(dir)
}

/// The temporary name under which `path` is written before its rename.
/// A new file in the system's temporary directory (`$TMPDIR`), mode
/// 0600, unlinked at once: it holds scratch data (stdin to read twice, a
/// replica's full sync) and vanishes with its last handle, crash or not.
/// Outside any store, so it is a real file whatever the thread's `Vfs`.
pub fn unlinked_temp_file(what: &str) -> Result<std::fs::File> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("hoard-{what}-{}-{n}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(&path)
        .map_err(|e| Error::io("create", &path, e))?;
    std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
    Ok(file)
}

pub fn temp_path_for(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

/// A sequential writer over an `fs::File`, buffering into large writes.
#[derive(Debug)]
pub struct BufferedWriter {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    written: u64,
}

impl BufferedWriter {
    /// A writer appending to `file` (at offset 0) through a buffer of `capacity` bytes.
    pub fn new(file: File, path: &Path, capacity: usize) -> BufferedWriter {
        BufferedWriter {
            file,
            path: path.to_path_buf(),
            buf: Vec::with_capacity(capacity),
            written: 0,
        }
    }

    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.buf.len() + bytes.len() > self.buf.capacity() {
            self.flush()?;
        }
        if bytes.len() >= self.buf.capacity() {
            write_all_at(&self.file, &self.path, bytes, self.written)?;
            start_writeback(&self.file, self.written, bytes.len() as u64);
            self.written += bytes.len() as u64;
        } else {
            let _ = self.buf.write_all(bytes);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            write_all_at(&self.file, &self.path, &self.buf, self.written)?;
            start_writeback(&self.file, self.written, self.buf.len() as u64);
            self.written += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }

    /// Flushes the buffer and syncs the file; returns it.
    pub fn finish(mut self) -> Result<File> {
        self.flush()?;
        sync_data(&self.file, &self.path)?;
        Ok(self.file)
    }
}

/// Asks the kernel to start writing `len` bytes at `offset` of `file` back
/// to disk now, without waiting: the sync that ends a long sequential write
/// then finds most of it on its way instead of all of it dirty. A hint
/// only (a simulated file has no disk; an error changes nothing).
#[allow(unsafe_code)]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let Some(real) = file.0.std_file() else {
        return;
    };
    // SAFETY: sync_file_range takes only integers; the descriptor belongs
    // to `real`, which is borrowed, so open, for the whole call.
    let _ = unsafe {
        libc::sync_file_range(
            real.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
}
