//! File systems for fault tests, plugged in through the `fs` seam.
//!
//! `SimFs` keeps every file and directory in memory and tracks, for each,
//! what is durable (synced) and what is pending. It can fail its N-th
//! operation with an I/O error, or take the "machine" down at its N-th sync
//! (that sync fails, and so does everything after it), and `power_loss`
//! then keeps, drops or tears each unsynced file write (a torn write keeps
//! any subset of its 512-byte sectors, each whole: disks write a sector
//! atomically) and keeps or drops each unsynced directory change, as a
//! power cut may. Directories
//! themselves are created durably (stores are created before a test
//! crashes them).
//!
//! `FailFs` wraps another file system and fails its N-th operation; the
//! debug `hoard` binary installs it when `HOARD_FAIL_OP` is set, so the
//! command line's handling of I/O errors can be tested for real.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::fs::{Vfs, VfsFile};

#[derive(Debug, Clone)]
enum Pending {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

#[derive(Debug, Clone, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Pending>,
}

#[derive(Debug, Clone)]
enum DirOp {
    Link(OsString, u64),
    Unlink(OsString),
}

#[derive(Debug, Clone, Default)]
struct Dir {
    current: BTreeMap<OsString, u64>,
    durable: BTreeMap<OsString, u64>,
    pending: Vec<DirOp>,
}

#[derive(Debug, Clone, Default)]
struct State {
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    dirs: BTreeMap<PathBuf, Dir>,
    ops: u64,
    syncs: u64,
    fail_op: Option<(u64, i32)>,
    crash_at_sync: Option<u64>,
    crashed: bool,
    /// Whether the operation that failed by injection was a sync.
    failed_sync: bool,
}

impl State {
    fn op(&mut self) -> io::Result<()> {
        if self.crashed {
            return Err(io::Error::other("the simulated machine is down"));
        }
        self.ops += 1;
        match self.fail_op {
            Some((n, errno)) if self.ops == n => Err(io::Error::from_raw_os_error(errno)),
            _ => Ok(()),
        }
    }

    fn sync(&mut self) -> io::Result<()> {
        if let Err(e) = self.op() {
            self.failed_sync = !self.crashed;
            return Err(e);
        }
        self.syncs += 1;
        if self.crash_at_sync == Some(self.syncs) {
            self.crashed = true;
            return Err(io::Error::other("simulated power loss during sync"));
        }
        Ok(())
    }

    fn split(path: &Path) -> io::Result<(PathBuf, OsString)> {
        let parent = path
            .parent()
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok((parent.to_path_buf(), name.to_owned()))
    }

    fn dir_mut(&mut self, dir: &Path) -> io::Result<&mut Dir> {
        self.dirs
            .get_mut(dir)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn lookup(&self, path: &Path) -> io::Result<u64> {
        let (dir, name) = State::split(path)?;
        self.dirs
            .get(&dir)
            .and_then(|d| d.current.get(&name))
            .copied()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

/// An in-memory file system with durable and pending state (see the module docs).
#[derive(Debug, Default, Clone)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

/// A tiny deterministic generator for power-loss choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl SimFs {
    /// An empty file system.
    pub fn new() -> SimFs {
        SimFs::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the `n`-th operation from now on (1-based) fail with OS error
    /// `errno` (5 = EIO, 28 = ENOSPC).
    pub fn fail_operation(&self, n: u64, errno: i32) {
        let mut state = self.lock();
        state.fail_op = Some((state.ops + n, errno));
    }

    /// Takes the machine down at the `n`-th sync from now on (1-based): that
    /// sync fails and so does every later operation, until `power_loss`.
    pub fn crash_at_sync(&self, n: u64) {
        let mut state = self.lock();
        state.crash_at_sync = Some(state.syncs + n);
    }

    /// Clears injected failures (the same process goes on, nothing lost).
    pub fn heal(&self) {
        let mut state = self.lock();
        state.fail_op = None;
    }

    /// Operations and syncs performed so far.
    pub fn counts(&self) -> (u64, u64) {
        let state = self.lock();
        (state.ops, state.syncs)
    }

    /// Whether the operation an injected failure hit was a sync.
    pub fn failed_a_sync(&self) -> bool {
        self.lock().failed_sync
    }

    /// Whether the machine is down.
    pub fn crashed(&self) -> bool {
        self.lock().crashed
    }

    /// The file system as it would be found after a power cut now: each
    /// unsynced write kept, dropped or torn by sector, each unsynced directory
    /// change kept or dropped, by `seed`. Pending state becomes durable.
    pub fn power_loss(&self, seed: u64) -> SimFs {
        let mut rng = Rng(seed | 1);
        let old = self.lock().clone();
        let mut state = State {
            next_inode: old.next_inode,
            ..State::default()
        };
        for (path, dir) in &old.dirs {
            let mut entries = dir.durable.clone();
            for op in &dir.pending {
                if rng.next().is_multiple_of(2) {
                    continue;
                }
                match op {
                    DirOp::Link(name, inode) => {
                        entries.insert(name.clone(), *inode);
                    }
                    DirOp::Unlink(name) => {
                        entries.remove(name);
                    }
                }
            }
            state.dirs.insert(
                path.clone(),
                Dir {
                    current: entries.clone(),
                    durable: entries,
                    pending: Vec::new(),
                },
            );
        }
        for (id, inode) in &old.inodes {
            let mut data = inode.durable.clone();
            for op in &inode.pending {
                match (op, rng.next() % 3) {
                    (_, 0) => {}
                    (Pending::SetLen(len), _) => data.resize(*len as usize, 0),
                    (Pending::Write(offset, bytes), choice) => {
                        let end = *offset as usize + bytes.len();
                        if data.len() < end {
                            data.resize(end, 0);
                        }
                        if choice == 1 {
                            data[*offset as usize..end].copy_from_slice(bytes);
                        } else {
                            // Torn: each sector of the write reaches the
                            // disk whole or not at all, in any order (a
                            // sector left out keeps what it held before).
                            let sector = crate::log::SECTOR_LEN as usize;
                            let mut at = *offset as usize;
                            while at < end {
                                let sector_end = ((at / sector + 1) * sector).min(end);
                                if rng.next().is_multiple_of(2) {
                                    let from = at - *offset as usize;
                                    data[at..sector_end]
                                        .copy_from_slice(&bytes[from..from + sector_end - at]);
                                }
                                at = sector_end;
                            }
                        }
                    }
                }
            }
            state.inodes.insert(
                *id,
                Inode {
                    durable: data.clone(),
                    data,
                    pending: Vec::new(),
                },
            );
        }
        SimFs {
            state: Arc::new(Mutex::new(state)),
        }
    }
}

#[derive(Debug)]
struct SimFile {
    state: Arc<Mutex<State>>,
    inode: u64,
}

impl SimFile {
    fn with<R>(&self, f: impl FnOnce(&mut State, u64) -> io::Result<R>) -> io::Result<R> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state, self.inode)
    }
}

impl VfsFile for SimFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.with(|s, ino| {
            s.op()?;
            let data = &s.inodes[&ino].data;
            let end = offset as usize + buf.len();
            if end > data.len() {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            buf.copy_from_slice(&data[offset as usize..end]);
            Ok(())
        })
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.with(|s, ino| {
            s.op()?;
            let inode = s.inodes.get_mut(&ino).expect("inode");
            let end = offset as usize + buf.len();
            if inode.data.len() < end {
                inode.data.resize(end, 0);
            }
            inode.data[offset as usize..end].copy_from_slice(buf);
            inode.pending.push(Pending::Write(offset, buf.to_vec()));
            Ok(())
        })
    }
    fn sync_data(&self) -> io::Result<()> {
        self.with(|s, ino| {
            s.sync()?;
            let inode = s.inodes.get_mut(&ino).expect("inode");
            inode.durable = inode.data.clone();
            inode.pending.clear();
            Ok(())
        })
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.with(|s, ino| {
            s.op()?;
            let inode = s.inodes.get_mut(&ino).expect("inode");
            inode.data.resize(len as usize, 0);
            inode.pending.push(Pending::SetLen(len));
            Ok(())
        })
    }
    fn size(&self) -> io::Result<u64> {
        self.with(|s, ino| {
            s.op()?;
            Ok(s.inodes[&ino].data.len() as u64)
        })
    }
    fn std_file(&self) -> Option<&std::fs::File> {
        None
    }
}

impl Vfs for SimFs {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn VfsFile>> {
        let mut s = self.lock();
        s.op()?;
        let (dir, name) = State::split(path)?;
        let inode = s.next_inode;
        let d = s.dir_mut(&dir)?;
        if d.current.contains_key(&name) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        d.current.insert(name.clone(), inode);
        d.pending.push(DirOp::Link(name, inode));
        s.next_inode += 1;
        s.inodes.insert(inode, Inode::default());
        Ok(Box::new(SimFile {
            state: self.state.clone(),
            inode,
        }))
    }
    fn open(&self, path: &Path, _writable: bool) -> io::Result<Box<dyn VfsFile>> {
        let mut s = self.lock();
        s.op()?;
        let inode = s.lookup(path)?;
        Ok(Box::new(SimFile {
            state: self.state.clone(),
            inode,
        }))
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        if s.dirs.contains_key(path) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        s.dirs.insert(path.to_path_buf(), Dir::default());
        Ok(())
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        let inode = s.lookup(from)?;
        let (from_dir, from_name) = State::split(from)?;
        let (to_dir, to_name) = State::split(to)?;
        s.dir_mut(&to_dir)?;
        let d = s.dir_mut(&from_dir)?;
        d.current.remove(&from_name);
        d.pending.push(DirOp::Unlink(from_name));
        let d = s.dir_mut(&to_dir)?;
        d.current.insert(to_name.clone(), inode);
        d.pending.push(DirOp::Link(to_name, inode));
        Ok(())
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        s.lookup(path)?;
        let (dir, name) = State::split(path)?;
        let d = s.dir_mut(&dir)?;
        d.current.remove(&name);
        d.pending.push(DirOp::Unlink(name));
        Ok(())
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        let inode = s.lookup(from)?;
        let (dir, name) = State::split(to)?;
        let d = s.dir_mut(&dir)?;
        if d.current.contains_key(&name) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        d.current.insert(name.clone(), inode);
        d.pending.push(DirOp::Link(name, inode));
        Ok(())
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.sync()?;
        let d = s.dir_mut(path)?;
        d.durable = d.current.clone();
        d.pending.clear();
        Ok(())
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        let mut s = self.lock();
        s.op()?;
        let mut names: Vec<OsString> = s.dir_mut(path)?.current.keys().cloned().collect();
        let prefix = path.to_path_buf();
        names.extend(
            s.dirs
                .keys()
                .filter(|d| d.parent() == Some(&prefix))
                .filter_map(|d| d.file_name().map(|n| n.to_owned())),
        );
        Ok(names)
    }
    fn exists(&self, path: &Path) -> bool {
        let s = self.lock();
        s.dirs.contains_key(path) || s.lookup(path).is_ok()
    }
}

/// Wraps a file system and fails its `n`-th operation with an OS error.
#[derive(Debug)]
pub struct FailFs {
    inner: Arc<dyn Vfs>,
    fail_at: u64,
    errno: i32,
    ops: Arc<AtomicU64>,
}

impl FailFs {
    /// Fails operation number `fail_at` (1-based) of `inner` with OS error
    /// `errno` (5 = EIO, 28 = ENOSPC).
    pub fn new(inner: Arc<dyn Vfs>, fail_at: u64, errno: i32) -> FailFs {
        FailFs {
            inner,
            fail_at,
            errno,
            ops: Arc::new(AtomicU64::new(0)),
        }
    }

    fn op(ops: &AtomicU64, fail_at: u64, errno: i32) -> io::Result<()> {
        if ops.fetch_add(1, Ordering::SeqCst) + 1 == fail_at {
            Err(io::Error::from_raw_os_error(errno))
        } else {
            Ok(())
        }
    }

    fn check(&self) -> io::Result<()> {
        FailFs::op(&self.ops, self.fail_at, self.errno)
    }

    fn wrap(&self, file: Box<dyn VfsFile>) -> Box<dyn VfsFile> {
        Box::new(FailFile {
            inner: file,
            fail_at: self.fail_at,
            errno: self.errno,
            ops: self.ops.clone(),
        })
    }
}

#[derive(Debug)]
struct FailFile {
    inner: Box<dyn VfsFile>,
    fail_at: u64,
    errno: i32,
    ops: Arc<AtomicU64>,
}

impl FailFile {
    fn check(&self) -> io::Result<()> {
        FailFs::op(&self.ops, self.fail_at, self.errno)
    }
}

impl VfsFile for FailFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.check()?;
        self.inner.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.check()?;
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.check()?;
        self.inner.sync_data()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check()?;
        self.inner.set_len(len)
    }
    fn size(&self) -> io::Result<u64> {
        self.check()?;
        self.inner.size()
    }
    fn std_file(&self) -> Option<&std::fs::File> {
        // Never mapped: every read must pass through the failure counter.
        None
    }
}

impl Vfs for FailFs {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn VfsFile>> {
        self.check()?;
        self.inner.create_new(path).map(|f| self.wrap(f))
    }
    fn open(&self, path: &Path, writable: bool) -> io::Result<Box<dyn VfsFile>> {
        self.check()?;
        self.inner.open(path, writable).map(|f| self.wrap(f))
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        self.check()?;
        self.inner.create_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check()?;
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.check()?;
        self.inner.remove_file(path)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check()?;
        self.inner.hard_link(from, to)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.check()?;
        self.inner.sync_dir(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        self.check()?;
        self.inner.list_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
}
