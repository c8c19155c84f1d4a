//! One log file — a bitcask data file or the memory engine's AOF: a file
//! header (with the file's random identity), then records, appended to
//! while the file is the newest; sealed by a footer when it stops being
//! the newest, and never changed after.
//!
//! A `LogFile` is shared: the one writer appends (under its engine's
//! append lock) while any number of readers read records the index points
//! at. Readers see only bytes that reached the file: sealed files through
//! a memory map made on first use, the newest through positioned reads
//! (never mapped, since it grows), and records still in the append
//! buffer (a group waiting for its sync under `always`, or a bulk load)
//! from the buffer, under its mutex.
//!
//! Replaying and surveying records is `crate::log`'s job.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use memmap2::Mmap;

use crate::error::{CorruptKind, Error, Result};
use crate::format::file_header::{FileHeader, HEADER_LEN};
use crate::format::footer::{FOOTER_LEN, Footer};
use crate::format::record::Record;
use crate::fs::{self, File};
use crate::layout;
use crate::log::{self, Role, ScanEnd, Survey};
use crate::mmap;

/// Which kind of log a file is, and its number (data file id or AOF generation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogName {
    /// A bitcask data file, by id.
    Data(u64),
    /// A memory engine AOF, by generation.
    Aof(u64),
}

impl LogName {
    /// The file's name in the store directory.
    pub fn file_name(self) -> String {
        match self {
            LogName::Data(id) => layout::data_file_name(id),
            LogName::Aof(generation) => layout::aof_file_name(generation),
        }
    }

    fn magic(self) -> [u8; 8] {
        match self {
            LogName::Data(_) => layout::DATA_MAGIC,
            LogName::Aof(_) => layout::AOF_MAGIC,
        }
    }

    /// The id or generation the file's header carries.
    pub fn number(self) -> u64 {
        match self {
            LogName::Data(n) | LogName::Aof(n) => n,
        }
    }
}

/// The bytes of a sealed file: mapped when the file is real, read
/// once when it is not (a simulated file cannot be mapped).
#[derive(Debug)]
enum Image {
    Mapped(Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Image {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Image::Mapped(map) => map,
            Image::Read(bytes) => bytes,
        }
    }
}

/// The writer's side of a file: only the appending thread (holding its
/// engine's append lock) and the group-commit leader touch it.
#[derive(Debug)]
struct Tail {
    /// Appended records not yet written to the file (a group waiting for
    /// its sync under `always`, or a bulk load).
    pending: Vec<u8>,
    /// Bytes of the file on disk (zeros written ahead and the footer included).
    allocated: u64,
    /// Zeros are written ahead in steps of this many bytes (0: never).
    preallocate_step: u64,
    /// The durable length the last record read by a scan claims.
    last_durable: u64,
    /// Records in the file, when known (a hinted open knows only those after the watermark).
    records: Option<u64>,
}

/// An open log file.
#[derive(Debug)]
pub struct LogFile {
    name: LogName,
    uid: u64,
    path: PathBuf,
    file: File,
    /// End of the valid records, buffered appends included (a torn tail
    /// ignored by a reader, and a footer, lie beyond it).
    len: AtomicU64,
    /// End of the bytes written to the file (`len` less the buffer).
    written: AtomicU64,
    /// Bytes of the file known durable: every record appended carries it.
    durable: AtomicU64,
    /// Whether the file ends with its footer: it takes no more records.
    sealed: AtomicBool,
    /// Whether reads go through a memory map whatever the file's state:
    /// every file of a reader (which holds the shared lock, so nothing
    /// changes them).
    read_only: bool,
    /// What is wrong with the header, when opened for a survey despite it.
    header_problem: Option<CorruptKind>,
    tail: Mutex<Tail>,
    map: OnceLock<Image>,
    /// A map of the file while it is appended to, for reads of what is
    /// written (`None`: the file cannot be mapped; reads use pread).
    growing: OnceLock<Option<Mmap>>,
    /// How many bytes of it to map (0: none; `set_growing_map`).
    growing_len: AtomicU64,
}

impl LogFile {
    /// Creates a new, empty log file durably: header written and synced
    /// under a temporary name, renamed, directory synced.
    pub fn create(dir: &Path, name: LogName) -> Result<LogFile> {
        let path = dir.join(name.file_name());
        let temp = fs::temp_path_for(&path);
        fs::remove_file_if_exists(&temp)?;
        let file = fs::create_new_private(&temp)?;
        let uid = layout::new_uid();
        let header = FileHeader::new(name.magic(), name.number(), uid);
        fs::write_all_at(&file, &temp, &header.encode(), 0)?;
        fs::sync_data(&file, &temp)?;
        fs::rename(&temp, &path)?;
        fs::sync_dir(dir)?;
        let start = HEADER_LEN as u64;
        Ok(LogFile {
            name,
            uid,
            path,
            file,
            len: AtomicU64::new(start),
            written: AtomicU64::new(start),
            durable: AtomicU64::new(start),
            sealed: AtomicBool::new(false),
            read_only: false,
            header_problem: None,
            tail: Mutex::new(Tail {
                pending: Vec::new(),
                allocated: start,
                preallocate_step: 0,
                last_durable: start,
                records: Some(0),
            }),
            map: OnceLock::new(),
            growing: OnceLock::new(),
            growing_len: AtomicU64::new(0),
        })
    }

    /// Opens an existing log file and checks its header; `writable` for
    /// the newest file of a writer, `role` says whether it must be sealed.
    pub fn open(dir: &Path, name: LogName, writable: bool, role: Role) -> Result<LogFile> {
        LogFile::open_checked(dir, name, writable, role, true)
    }

    /// Opens a log file for `verify` and repair: a damaged header is
    /// remembered (see `header_problem`) instead of refused, and the uid is
    /// taken from its bytes, so the records can still be checked.
    pub fn open_for_survey(dir: &Path, name: LogName, role: Role) -> Result<LogFile> {
        LogFile::open_checked(dir, name, false, role, false)
    }

    fn open_checked(
        dir: &Path,
        name: LogName,
        writable: bool,
        role: Role,
        strict: bool,
    ) -> Result<LogFile> {
        let path = dir.join(name.file_name());
        let file = if writable {
            fs::open_read_write(&path)?
        } else {
            fs::open_read(&path)?
        };
        let size = fs::file_len(&file, &path)?;
        let (uid, header_problem) =
            log::read_header(&file, &path, size, name.magic(), name.number(), strict)?;
        let sealed = role == Role::Sealed;
        let len = if sealed {
            size.saturating_sub(FOOTER_LEN as u64)
                .max(HEADER_LEN as u64)
        } else {
            size
        };
        Ok(LogFile {
            name,
            uid,
            path,
            file,
            len: AtomicU64::new(len),
            written: AtomicU64::new(len),
            durable: AtomicU64::new(0),
            sealed: AtomicBool::new(sealed),
            read_only: !writable,
            header_problem,
            tail: Mutex::new(Tail {
                pending: Vec::new(),
                allocated: size,
                preallocate_step: 0,
                last_durable: HEADER_LEN as u64,
                records: None,
            }),
            map: OnceLock::new(),
            growing: OnceLock::new(),
            growing_len: AtomicU64::new(0),
        })
    }

    fn tail(&self) -> MutexGuard<'_, Tail> {
        // A panic while appending leaves nothing half-done that a later
        // append could trip over (lengths move only after writes succeed).
        self.tail.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The file's kind and number.
    pub fn name(&self) -> LogName {
        self.name
    }

    /// The file's random identity (record checksums are bound to it).
    pub fn uid(&self) -> u64 {
        self.uid
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// End of the valid records.
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    /// Bytes known durable, which the next record appended claims.
    pub fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Bytes the file occupies on disk (zeros written ahead and the footer included).
    pub fn disk_len(&self) -> u64 {
        self.tail().allocated.max(self.len())
    }

    /// Whether the file holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() <= HEADER_LEN as u64
    }

    /// Whether the file is sealed by its footer.
    pub fn is_sealed(&self) -> bool {
        self.sealed.load(Ordering::Acquire)
    }

    /// Records in the file: known from a scan, else read from its footer.
    pub fn record_count(&self) -> Result<Option<u64>> {
        if let Some(n) = self.tail().records {
            return Ok(Some(n));
        }
        if self.is_sealed() {
            let len = self.len();
            let mut bytes = [0u8; FOOTER_LEN];
            fs::read_exact_at(&self.file, &self.path, &mut bytes, len)?;
            return Ok(Footer::decode(&bytes, self.uid, len).map(|f| f.record_count));
        }
        Ok(None)
    }

    /// Sets the record count known before `self.len` (from the hint).
    pub fn set_record_count(&self, records: u64) {
        self.tail().records = Some(records);
    }

    /// Replays the file's records from offset `from` (0 = from the first
    /// record) into `apply`, checking every record by the rules of its role
    /// (`crate::log`). The valid length is remembered; a torn tail is
    /// reported in the result. Only before the file is shared, or under
    /// the append lock.
    pub fn scan(&self, from: u64, apply: impl FnMut(u64, &Record<'_>)) -> Result<ScanEnd> {
        let mut tail = self.tail();
        // A replay reads the file itself: buffered records go there first.
        self.flush_locked(&mut tail)?;
        let from = from.max(HEADER_LEN as u64);
        let size = tail.allocated.max(self.len());
        let role = if self.is_sealed() {
            Role::Sealed
        } else {
            Role::Newest
        };
        let end = log::scan(&self.file, &self.path, self.uid, size, from, role, apply)?;
        self.len.store(end.valid_len, Ordering::Release);
        self.written.store(end.valid_len, Ordering::Release);
        tail.last_durable = end.last_durable;
        if end.footer.is_some() {
            self.sealed.store(true, Ordering::Release);
        }
        tail.records = match (tail.records, from == HEADER_LEN as u64) {
            (_, true) => Some(end.records),
            (Some(before), false) => Some(before + end.records),
            (None, false) => None,
        };
        Ok(end)
    }

    /// Reads every record from the first into `apply`, by the same rules as
    /// `scan`, without changing what the file knows of itself (for reports,
    /// while other threads may append).
    pub fn scan_all(&self, apply: impl FnMut(u64, &Record<'_>)) -> Result<ScanEnd> {
        let mut tail = self.tail();
        self.flush_locked(&mut tail)?;
        let size = tail.allocated.max(self.len());
        let role = if self.is_sealed() {
            Role::Sealed
        } else {
            Role::Newest
        };
        // A file that can still change is read with its buffer's mutex
        // held: the scan may map it, and sealing (which cuts preallocated
        // zeros) must not shorten it under the map. Files that cannot
        // change are read without it.
        if self.read_only || self.is_sealed() {
            drop(tail);
        }
        log::scan(
            &self.file,
            &self.path,
            self.uid,
            size,
            HEADER_LEN as u64,
            role,
            apply,
        )
    }

    /// Reads the records from `from` to the end of the valid records into
    /// `apply`, checking each (CRC at its place), without changing what
    /// the file knows of itself. Under the append lock, for the records
    /// written since a watermark.
    pub fn scan_range(&self, from: u64, apply: impl FnMut(u64, &Record<'_>)) -> Result<ScanEnd> {
        let mut tail = self.tail();
        self.flush_locked(&mut tail)?;
        let end = self.len();
        log::scan(
            &self.file,
            &self.path,
            self.uid,
            end,
            from.max(HEADER_LEN as u64),
            Role::Newest,
            apply,
        )
    }

    /// Cuts the file back to its valid length and syncs it (dropping a
    /// torn tail the caller has kept a copy of).
    pub fn truncate_to_valid(&self) -> Result<()> {
        let mut tail = self.tail();
        let len = self.len();
        fs::set_len(&self.file, &self.path, len)?;
        tail.allocated = len;
        fs::sync_data(&self.file, &self.path)?;
        self.durable.store(len, Ordering::Release);
        Ok(())
    }

    /// Makes the whole file durable before a writer's records claim it:
    /// rewrites the bytes no record vouches for as durable (a failed sync in
    /// an earlier process may have left them clean in the cache but not on
    /// disk), then syncs.
    pub fn make_durable(&self) -> Result<()> {
        {
            let mut tail = self.tail();
            let from = tail.last_durable.max(HEADER_LEN as u64);
            let len = self.len();
            if from < len {
                self.flush_locked(&mut tail)?;
                log::rewrite_range(&self.file, &self.path, from, len)?;
            }
        }
        self.sync()
    }

    /// Cuts whatever follows the footer of a file found sealed while it was
    /// the newest (zeros a power cut left while it was being sealed), and
    /// syncs: a sealed file ends with its footer.
    pub fn cut_after_footer(&self) -> Result<bool> {
        let mut tail = self.tail();
        let end = self.len() + FOOTER_LEN as u64;
        if !self.is_sealed() || tail.allocated <= end {
            return Ok(false);
        }
        fs::set_len(&self.file, &self.path, end)?;
        fs::sync_data(&self.file, &self.path)?;
        tail.allocated = end;
        Ok(true)
    }

    /// Appends encoded records: into the buffer with `buffered` (a bulk
    /// load, written out past 1 MiB and by `flush`), else straight to the
    /// file. Returns the offset of their first byte. Only under the
    /// engine's append lock.
    pub fn append(&self, bytes: &[u8], buffered: bool) -> Result<u64> {
        debug_assert!(!self.is_sealed(), "a sealed file takes no records");
        const PENDING_MAX: usize = 1 << 20;
        let mut tail = self.tail();
        if !tail.pending.is_empty() && tail.pending.len() + bytes.len() > PENDING_MAX {
            self.flush_locked(&mut tail)?;
        }
        let offset = self.len();
        tail.pending.extend_from_slice(bytes);
        tail.records = tail.records.map(|n| n + 1);
        self.len
            .store(offset + bytes.len() as u64, Ordering::Release);
        if !buffered {
            self.flush_locked(&mut tail)?;
        }
        Ok(offset)
    }

    /// Writes zeros ahead of the records from now on, `step` bytes at a
    /// time (0: never), so that a sync after an append flushes data only:
    /// overwriting written blocks needs no metadata, growing the file does.
    pub fn set_preallocate(&self, step: u64) {
        self.tail().preallocate_step = step;
    }

    /// Writes buffered records to the file (not yet to the disk).
    pub fn flush(&self) -> Result<()> {
        let mut tail = self.tail();
        self.flush_locked(&mut tail)
    }

    fn flush_locked(&self, tail: &mut Tail) -> Result<()> {
        if tail.pending.is_empty() {
            return Ok(());
        }
        let len = self.len();
        let at = len - tail.pending.len() as u64;
        let step = tail.preallocate_step;
        // Zeros ahead save a sync the size update of a small append. A
        // flush of half a step or more (a bulk load's, a large batch's)
        // grows the file by itself, and zeros written first would double
        // its writes into the page cache for one metadata update: 15% of
        // a bulk load's time went to copying them in.
        let small = (tail.pending.len() as u64) < step / 2;
        if step > 0 && small && len > tail.allocated {
            let target = len.div_ceil(step) * step + step;
            let zeros = vec![0u8; (target - tail.allocated) as usize];
            fs::write_all_at(&self.file, &self.path, &zeros, tail.allocated)?;
            tail.allocated = target;
        }
        fs::write_all_at(&self.file, &self.path, &tail.pending, at)?;
        tail.pending.clear();
        tail.allocated = tail.allocated.max(len);
        self.written.store(len, Ordering::Release);
        Ok(())
    }

    /// Writes buffered records and flushes the file's data to the disk.
    /// The buffer's mutex is not held during the fdatasync, so appends go
    /// on meanwhile (group commit); what they add is covered by a later sync.
    pub fn sync(&self) -> Result<()> {
        let len = {
            let mut tail = self.tail();
            self.flush_locked(&mut tail)?;
            self.len()
        };
        fs::sync_data(&self.file, &self.path)?;
        self.durable.fetch_max(len, Ordering::AcqRel);
        Ok(())
    }

    /// Seals the file: writes out buffered records, cuts zeros written
    /// ahead, writes the footer and syncs, whatever the sync policy. Later
    /// reads go through a memory map. Only under the append lock.
    pub fn seal(&self) -> Result<()> {
        let mut tail = self.tail();
        self.flush_locked(&mut tail)?;
        let len = self.len();
        let records = match tail.records {
            Some(n) => n,
            None => {
                // Count the records (a hinted open knew only the tail's).
                let mut n = 0;
                log::scan(
                    &self.file,
                    &self.path,
                    self.uid,
                    len,
                    HEADER_LEN as u64,
                    Role::Newest,
                    |_, _| n += 1,
                )?;
                n
            }
        };
        if tail.allocated > len {
            // The cut must be durable before the footer is written: a power
            // cut could otherwise keep the footer and not the shorter
            // length, leaving zeros after it.
            fs::set_len(&self.file, &self.path, len)?;
            fs::sync_data(&self.file, &self.path)?;
        }
        let footer = Footer {
            records_end: len,
            record_count: records,
        };
        fs::write_all_at(&self.file, &self.path, &footer.encode(self.uid), len)?;
        fs::sync_data(&self.file, &self.path)?;
        tail.allocated = len + FOOTER_LEN as u64;
        tail.records = Some(records);
        self.durable.store(tail.allocated, Ordering::Release);
        self.sealed.store(true, Ordering::Release);
        Ok(())
    }

    /// `len` bytes at `offset`, borrowed from the map or read from the file.
    pub fn read(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        let valid = self.len();
        let end = offset.checked_add(len as u64).filter(|end| *end <= valid);
        let Some(end) = end else {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset,
                kind: CorruptKind::Truncated,
            });
        };
        if self.read_only || self.is_sealed() {
            return Ok(Cow::Borrowed(&self.map()?[offset as usize..end as usize]));
        }
        if end <= self.written.load(Ordering::Acquire)
            && let Some(map) = self.growing_map()
            && end as usize <= map.len()
        {
            return Ok(Cow::Borrowed(&map[offset as usize..end as usize]));
        }
        let mut buf = vec![0u8; len];
        if end > self.written.load(Ordering::Acquire) {
            // Still in the append buffer, unless a flush got there
            // first (records never straddle the buffer's start).
            let tail = self.tail();
            let start = self.written.load(Ordering::Acquire);
            if let Some(at) = offset.checked_sub(start) {
                buf.copy_from_slice(&tail.pending[at as usize..at as usize + len]);
                return Ok(Cow::Owned(buf));
            }
            if end > start {
                // Part written, part buffered: no record lies so, so the
                // place is wrong (a lying hint slot), not the disk.
                return Err(Error::Corrupt {
                    path: self.path.clone(),
                    offset,
                    kind: CorruptKind::Truncated,
                });
            }
        }
        fs::read_exact_at(&self.file, &self.path, &mut buf, offset)?;
        Ok(Cow::Owned(buf))
    }

    /// Starts loading the bytes at `offset` into the CPU's cache when they
    /// are mapped (`mmap::prefetch`); never reads, maps or fails.
    pub fn prefetch(&self, offset: u64, len: usize) {
        let image = if self.read_only || self.is_sealed() {
            self.map
                .get()
                .and_then(|image| image.get(..self.len() as usize))
        } else {
            let written = self.written.load(Ordering::Acquire) as usize;
            self.growing
                .get()
                .and_then(|map| map.as_ref())
                .map(|map| &map[..written.min(map.len())])
        };
        let start = offset as usize;
        if let Some(bytes) = image.and_then(|image| image.get(start..)) {
            crate::mmap::prefetch(&bytes[..len.min(bytes.len())]);
        }
    }

    /// The map of the written part of a file still appended to (see
    /// `mmap::map_growing` for why reads through it are sound).
    fn growing_map(&self) -> Option<&Mmap> {
        let len = self.growing_len.load(Ordering::Acquire) as usize;
        if len == 0 {
            return None;
        }
        self.growing
            .get_or_init(|| {
                let file = self.file.std_file()?;
                mmap::map_growing(file, &self.path, len).ok()
            })
            .as_ref()
    }

    /// Lets reads of the written part go through a map of the first `len`
    /// bytes while the file is appended to (a data file: `len` is its
    /// rotation size); records past them are read with pread.
    pub fn set_growing_map(&self, len: u64) {
        self.growing_len.store(len, Ordering::Release);
    }

    /// Stops reads going through the map (a write or sync of the file
    /// failed: see `mmap::map_growing`). Reads already under way finish.
    pub fn stop_mapping(&self) {
        self.growing_len.store(0, Ordering::Release);
    }

    fn map(&self) -> Result<&[u8]> {
        let len = self.len() as usize;
        if let Some(image) = self.map.get() {
            return Ok(&image[..len]);
        }
        let image = match self.file.std_file() {
            Some(file) => Image::Mapped(mmap::map_read_only(file, &self.path)?),
            None => Image::Read(fs::read_all(&self.file, &self.path)?),
        };
        if image.len() < len {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset: image.len() as u64,
                kind: CorruptKind::Truncated,
            });
        }
        Ok(&self.map.get_or_init(|| image)[..len])
    }

    /// Reads the whole file and reports every problem instead of stopping
    /// at the first (see `log::survey`). `apply` sees every valid record kept.
    pub fn survey(&self, role: Role, mut apply: impl FnMut(u64, &Record<'_>)) -> Result<Survey> {
        // As in `scan_all`: a file that can still change is surveyed with
        // its buffer's mutex held, so it is not cut under the map.
        let _still = (!self.read_only && !self.is_sealed()).then(|| self.tail());
        let size = fs::file_len(&self.file, &self.path)?;
        let mut survey = log::survey(
            &self.file,
            &self.path,
            self.uid,
            size,
            HEADER_LEN as u64,
            role,
            &mut apply,
        )?;
        survey.header = self.header_problem;
        Ok(survey)
    }

    /// Bytes `offset..offset+len` of the file on disk, whatever the valid length.
    pub fn read_raw(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        fs::read_exact_at(&self.file, &self.path, &mut buf, offset)?;
        Ok(buf)
    }

    /// The open file, for copying and keeping torn tails.
    pub fn file(&self) -> &File {
        &self.file
    }
}
