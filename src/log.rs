//! A log of records — a bitcask data file or the memory engine's AOF —
//! read two ways, both streaming through a bounded window (never the whole
//! file in memory). `scan` replays it for an open and stops at the first
//! problem; `survey` reads it for `verify` and repair, resynchronising past
//! each damaged region.
//!
//! Both apply the format-2 rules (docs/FORMAT.md, "The tail rule"):
//!
//! - A *sealed* file must end with its footer, and every byte between the
//!   header and the footer must be records; anything else is corruption.
//! - In the *newest* file, an all-zero remainder ends the log cleanly
//!   (space written ahead of the records). Damage at offset D is a *torn
//!   tail* only when D is at or past the durable length claimed by every
//!   valid record after it (those records were written while D was not yet
//!   known durable, so none of them was acknowledged by a sync that covered
//!   D), and the record at D shows the trace of an interrupted write: it
//!   runs past the end of the file, or some sector's share of its bytes is
//!   all zeros. Anything else is corruption.

use std::path::{Path, PathBuf};

use crate::error::{CorruptKind, Error, Result};
use crate::format::footer::{FOOTER_LEN, Footer};
use crate::format::record::{self, Decoded, Place, RECORD_HEADER_LEN, Record};
use crate::fs::{self, File};
use crate::notice::Notice;

/// Reads and checks the header of the log at `path` (`size` bytes, kind
/// `magic`, id or generation `id`); returns its uid. With `strict`, a
/// damaged header is `Error::Corrupt`; without (verify and repair), the
/// failed check is returned beside the uid taken from the header's bytes,
/// so that the records, bound to it, can still be checked.
pub fn read_header(
    file: &File,
    path: &Path,
    size: u64,
    magic: [u8; 8],
    id: u64,
    strict: bool,
) -> Result<(u64, Option<CorruptKind>)> {
    use crate::format::file_header::{FORMAT_VERSION, FileHeader, HEADER_LEN, HeaderError};
    let mut header = [0u8; HEADER_LEN];
    let have = (size as usize).min(HEADER_LEN);
    fs::read_exact_at(file, path, &mut header[..have], 0)?;
    let kind = match FileHeader::decode(&header[..have], magic) {
        Ok(h) if h.file_id == id => return Ok((h.uid, None)),
        Ok(_) => CorruptKind::Header,
        Err(HeaderError::Short) => CorruptKind::Truncated,
        Err(HeaderError::Corrupt(kind)) => kind,
        Err(HeaderError::NewerVersion(v)) => {
            return Err(Error::Unsupported(format!(
                "{} was written by a newer hoard (format {v}); this build reads format {FORMAT_VERSION}",
                path.display()
            )));
        }
        Err(HeaderError::OlderVersion(v)) => {
            return Err(Error::Unsupported(format!(
                "{} is in format {v}, older than this build's format {FORMAT_VERSION}; run `hoard upgrade`",
                path.display()
            )));
        }
    };
    if strict {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            offset: 0,
            kind,
        });
    }
    Ok((
        u64::from_le_bytes(header[24..32].try_into().expect("8 bytes")),
        Some(kind),
    ))
}

/// Bytes read at a time.
const WINDOW_LEN: usize = 4 << 20;

/// Sector size assumed for torn writes: a sector is written whole or not at all.
pub const SECTOR_LEN: u64 = 512;

/// Whether a file is still appended to or sealed by its footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Not the newest file: must end with a valid footer.
    Sealed,
    /// The newest file: may end in a torn tail, preallocated zeros, or a footer.
    Newest,
}

/// A torn tail: where it starts, how many bytes follow, and how many
/// whole, valid (but never acknowledged) records lie in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Torn {
    /// Offset of the first damaged byte.
    pub offset: u64,
    /// Bytes from there to the end of the file.
    pub len: u64,
    /// Valid records after the damage, dropped with it.
    pub records: u64,
}

/// How a scan of a file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanEnd {
    /// End of the last valid record.
    pub valid_len: u64,
    /// Records read.
    pub records: u64,
    /// The footer the file ends with, if it is sealed.
    pub footer: Option<Footer>,
    /// A torn tail found after the records.
    pub torn: Option<Torn>,
    /// The durable length the last valid record claims (`from` if the scan
    /// read none): the bytes after it were never known to be durable.
    pub last_durable: u64,
}

/// Reads a file through a bounded window: a memory map of it when the file
/// is real (no copy, and page faults in 64 KiB steps), else positioned
/// reads into a buffer of at most `WINDOW_LEN` bytes (or one record).
/// Neither takes heap memory in proportion to the file.
pub struct Window<'a> {
    file: &'a File,
    path: &'a Path,
    end: u64,
    map: Option<memmap2::Mmap>,
    start: u64,
    buf: Vec<u8>,
}

impl<'a> Window<'a> {
    /// A window over bytes `..end` of `file`.
    pub fn new(file: &'a File, path: &'a Path, end: u64) -> Window<'a> {
        // The map is dropped with the window, before any truncation.
        let map = file
            .std_file()
            .filter(|_| end > 0)
            .and_then(|f| crate::mmap::map_read_only(f, path).ok())
            .filter(|m| m.len() as u64 >= end);
        Window {
            file,
            path,
            end,
            map,
            start: 0,
            buf: Vec::new(),
        }
    }

    /// Up to `len` bytes at `offset` (fewer at the end of the file).
    pub fn at(&mut self, offset: u64, len: usize) -> Result<&[u8]> {
        let want_end = offset.saturating_add(len as u64).min(self.end);
        let offset = offset.min(want_end);
        if let Some(map) = &self.map {
            return Ok(&map[offset as usize..want_end as usize]);
        }
        let have_end = self.start + self.buf.len() as u64;
        if offset < self.start || want_end > have_end {
            let read_end = want_end.max(offset + WINDOW_LEN as u64).min(self.end);
            self.buf.resize((read_end - offset) as usize, 0);
            fs::read_exact_at(self.file, self.path, &mut self.buf, offset)?;
            self.start = offset;
        }
        let from = (offset - self.start) as usize;
        Ok(&self.buf[from..from + (want_end - offset) as usize])
    }

    /// Decodes the record at `offset` of the file with identity `uid`.
    pub fn decode(&mut self, uid: u64, offset: u64) -> Result<Decoded<'_>> {
        let head = self.at(offset, RECORD_HEADER_LEN)?;
        let len = match record::peek_header(head) {
            Some(raw) if raw.key_len > 0 && raw.lengths_within_limits() => {
                record::encoded_len(raw.key_len, raw.value_len)
            }
            _ => RECORD_HEADER_LEN,
        };
        let bytes = self.at(offset, len)?;
        Ok(record::decode(bytes, Place::new(uid, offset)))
    }

    /// Whether every byte from `offset` to the end is zero.
    pub fn zeros_from(&mut self, offset: u64) -> Result<bool> {
        let mut at = offset;
        while at < self.end {
            let chunk = self.at(at, WINDOW_LEN)?;
            if !all_zero(chunk) {
                return Ok(false);
            }
            at += chunk.len() as u64;
        }
        Ok(true)
    }

    /// The file's length as this window sees it.
    pub fn end(&self) -> u64 {
        self.end
    }
}

/// Whether every byte of `bytes` is zero. Checked a 4 KiB block at a time
/// by OR-ing 8-byte words, which the compiler turns into vector code: the
/// preallocated zeros of an `always` store's newest file are checked at
/// every open, and a byte-at-a-time loop made that a quarter of a one-shot
/// `get`.
fn all_zero(bytes: &[u8]) -> bool {
    const BLOCK: usize = 4096;
    let mut blocks = bytes.chunks_exact(BLOCK);
    for block in &mut blocks {
        let mut acc = 0u64;
        for word in block.chunks_exact(8) {
            acc |= u64::from_ne_bytes(word.try_into().expect("8 bytes"));
        }
        if acc != 0 {
            return false;
        }
    }
    blocks.remainder().iter().all(|&b| b == 0)
}

/// The valid footer at `offset`, if one is there.
fn footer_at(win: &mut Window<'_>, uid: u64, offset: u64) -> Result<Option<Footer>> {
    if offset + FOOTER_LEN as u64 > win.end() {
        return Ok(None);
    }
    let bytes = win.at(offset, FOOTER_LEN)?;
    Ok(Footer::decode(bytes, uid, offset))
}

/// Whether the record at `offset` shows the trace of an interrupted write:
/// it runs past the end of the file, or some sector's share of its bytes
/// (of its header, when its lengths cannot be trusted) is all zeros.
fn looks_torn(win: &mut Window<'_>, offset: u64) -> Result<bool> {
    let head = win.at(offset, RECORD_HEADER_LEN)?.to_vec();
    let end = match record::peek_header(&head) {
        Some(raw) if raw.key_len > 0 && raw.lengths_within_limits() => {
            offset + record::encoded_len(raw.key_len, raw.value_len) as u64
        }
        Some(_) => offset + RECORD_HEADER_LEN as u64,
        None => return Ok(true),
    };
    if end > win.end() {
        return Ok(true);
    }
    let mut at = offset;
    while at < end {
        let share_end = ((at / SECTOR_LEN + 1) * SECTOR_LEN).min(end);
        let share = win.at(at, (share_end - at) as usize)?;
        if share.iter().all(|b| *b == 0) {
            return Ok(true);
        }
        at = share_end;
    }
    Ok(false)
}

/// Valid records from `from` to the end, found by resynchronising at
/// every offset: (count, the largest durable length any of them claims).
fn records_after(win: &mut Window<'_>, uid: u64, from: u64) -> Result<(u64, u64)> {
    let mut count = 0;
    let mut durable_max = 0;
    let mut at = from;
    while at < win.end() {
        match win.decode(uid, at)? {
            Decoded::Record(rec, len) => {
                count += 1;
                durable_max = durable_max.max(rec.durable_len);
                at += len as u64;
            }
            _ => at += 1,
        }
    }
    Ok((count, durable_max))
}

/// Whether damage at `offset` of the newest file is a torn tail (see the
/// module documentation); if so, the tail.
fn torn_at(win: &mut Window<'_>, uid: u64, offset: u64) -> Result<Option<Torn>> {
    let (records, durable_max) = records_after(win, uid, offset + 1)?;
    if offset < durable_max || !looks_torn(win, offset)? {
        return Ok(None);
    }
    Ok(Some(Torn {
        offset,
        len: win.end() - offset,
        records,
    }))
}

/// Replays the records of `file` (`len` bytes, identity `uid`) from offset
/// `from` into `apply`, by the rules of `role`. Damage that is not a torn
/// tail is `Error::Corrupt` with the file and offset.
pub fn scan(
    file: &File,
    path: &Path,
    uid: u64,
    len: u64,
    from: u64,
    role: Role,
    mut apply: impl FnMut(u64, &Record<'_>),
) -> Result<ScanEnd> {
    let corrupt = |offset, kind| Error::Corrupt {
        path: path.to_path_buf(),
        offset,
        kind,
    };
    let mut win = Window::new(file, path, len);
    let mut end = ScanEnd {
        valid_len: from,
        records: 0,
        footer: None,
        torn: None,
        last_durable: from,
    };
    let records_end = match role {
        Role::Sealed => {
            let at = len.saturating_sub(FOOTER_LEN as u64);
            let footer = footer_at(&mut win, uid, at)?
                .filter(|_| at >= from)
                .ok_or_else(|| corrupt(at, CorruptKind::Footer))?;
            end.footer = Some(footer);
            at
        }
        Role::Newest => len,
    };
    let mut at = from;
    while at < records_end {
        let kind = match win.decode(uid, at)? {
            Decoded::Record(rec, rec_len) if at + rec_len as u64 <= records_end => {
                end.last_durable = rec.durable_len.min(at);
                apply(at, &rec);
                end.records += 1;
                at += rec_len as u64;
                end.valid_len = at;
                continue;
            }
            Decoded::Record(..) | Decoded::Incomplete => CorruptKind::Truncated,
            Decoded::Corrupt(kind) => kind,
        };
        if role == Role::Sealed {
            return Err(corrupt(at, kind));
        }
        if let Some(footer) = footer_at(&mut win, uid, at)? {
            // Sealed after all (a crash between sealing it and listing the
            // next file): nothing but zeros may follow, and the footer must
            // count the records (when this scan saw them all).
            if !win.zeros_from(at + FOOTER_LEN as u64)? {
                return Err(corrupt(at + FOOTER_LEN as u64, CorruptKind::Footer));
            }
            if from <= crate::format::file_header::HEADER_LEN as u64
                && footer.record_count != end.records
            {
                return Err(corrupt(at, CorruptKind::Footer));
            }
            end.footer = Some(footer);
            return Ok(end);
        }
        if win.zeros_from(at)? {
            return Ok(end);
        }
        return match torn_at(&mut win, uid, at)? {
            Some(torn) => {
                end.torn = Some(torn);
                Ok(end)
            }
            None => Err(corrupt(at, kind)),
        };
    }
    if let Some(footer) = end.footer
        && from <= crate::format::file_header::HEADER_LEN as u64
        && footer.record_count != end.records
    {
        return Err(corrupt(records_end, CorruptKind::Footer));
    }
    Ok(end)
}

/// The notice for a torn tail of file `name`: dropped by a writer (its
/// bytes kept at `kept`), or ignored by a reader.
pub fn torn_tail_notice(name: &str, torn: &Torn, kept: Option<(PathBuf, u64)>) -> Notice {
    let file = name.to_string();
    match kept {
        Some((kept_at, kept_len)) => Notice::TornTailDropped {
            file,
            offset: torn.offset,
            len: torn.len,
            records: torn.records,
            kept_at,
            kept_len,
        },
        None => Notice::TornTailIgnored {
            file,
            offset: torn.offset,
            len: torn.len,
            records: torn.records,
        },
    }
}

/// A damaged region found by a survey: offset, length, and the first check it failed.
pub type Damage = (u64, u64, CorruptKind);

/// Everything a survey of one file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// The header's failed check, if it failed one.
    pub header: Option<CorruptKind>,
    /// Damaged regions between records, resynchronised past.
    pub damage: Vec<Damage>,
    /// A torn tail at the end of the newest file.
    pub torn: Option<Torn>,
    /// Valid records before any torn tail: (offset, length).
    pub records: Vec<(u64, u64)>,
    /// The file's length on disk.
    pub file_len: u64,
    /// The valid footer the file ends with, if any.
    pub footer: Option<Footer>,
}

/// Reads every record of `file` from `from` on, resynchronising past
/// damage, and classifies what it finds by the rules of `role`. `apply`
/// sees every valid record kept (none of a torn tail).
pub fn survey(
    file: &File,
    path: &Path,
    uid: u64,
    len: u64,
    from: u64,
    role: Role,
    apply: &mut dyn FnMut(u64, &Record<'_>),
) -> Result<Survey> {
    let mut win = Window::new(file, path, len);
    let mut survey = Survey {
        header: None,
        damage: Vec::new(),
        torn: None,
        records: Vec::new(),
        file_len: len,
        footer: None,
    };
    // Where records end: before a valid footer at the end of the file.
    let footer_offset = len.saturating_sub(FOOTER_LEN as u64);
    let mut records_end = len;
    if footer_offset >= from
        && let Some(footer) = footer_at(&mut win, uid, footer_offset)?
    {
        survey.footer = Some(footer);
        records_end = footer_offset;
    }
    // Pass 1: every valid record (with the durable length it claims) and
    // every damaged region between them, resynchronising past each.
    let mut records: Vec<(u64, u64, u64)> = Vec::new();
    let mut at = from;
    while at < records_end {
        let kind = match win.decode(uid, at)? {
            Decoded::Record(rec, rec_len) if at + rec_len as u64 <= records_end => {
                records.push((at, rec_len as u64, rec.durable_len));
                at += rec_len as u64;
                continue;
            }
            Decoded::Record(..) | Decoded::Incomplete => CorruptKind::Truncated,
            Decoded::Corrupt(kind) => kind,
        };
        let start = at;
        let mut next = at + 1;
        while next < records_end {
            if matches!(win.decode(uid, next)?, Decoded::Record(_, l) if next + l as u64 <= records_end)
            {
                break;
            }
            next += 1;
        }
        let next = next.min(records_end);
        survey.damage.push((start, next - start, kind));
        at = next;
    }
    // Pass 2 (the newest file without a footer): the tail rule, with the
    // largest durable length claimed after each point computed once, so a
    // file with many damaged regions costs one pass, not one per region.
    let mut kept_until = records_end;
    if role == Role::Newest && survey.footer.is_none() {
        if let Some(&(start, region, _)) = survey.damage.last()
            && start + region == records_end
            && win.zeros_from(start)?
        {
            // Zeros to the end: space written ahead, not damage.
            survey.damage.pop();
        }
        let mut claimed_after = vec![0u64; records.len() + 1];
        for i in (0..records.len()).rev() {
            claimed_after[i] = claimed_after[i + 1].max(records[i].2);
        }
        for i in 0..survey.damage.len() {
            let (start, _, _) = survey.damage[i];
            let first_after = records.partition_point(|r| r.0 < start);
            if start >= claimed_after[first_after] && looks_torn(&mut win, start)? {
                survey.torn = Some(Torn {
                    offset: start,
                    len: len - start,
                    records: (records.len() - first_after) as u64,
                });
                // Records after the tear were never acknowledged: not kept.
                survey.damage.truncate(i);
                records.truncate(first_after);
                kept_until = start;
                break;
            }
        }
    }
    // Pass 3: the records kept, in order.
    for &(offset, rec_len, _) in records.iter().filter(|r| r.0 < kept_until) {
        if let Decoded::Record(rec, _) = win.decode(uid, offset)? {
            apply(offset, &rec);
        }
        survey.records.push((offset, rec_len));
    }
    if role == Role::Sealed {
        match survey.footer {
            None => {
                // The damage that ends the file is where the footer should be.
                let at = footer_offset.max(from);
                match survey.damage.last_mut() {
                    Some(last) if last.0 + last.1 == len && last.0 <= at => {
                        last.2 = CorruptKind::Footer;
                    }
                    _ => survey
                        .damage
                        .push((at, len.saturating_sub(at), CorruptKind::Footer)),
                }
            }
            Some(footer)
                if survey.damage.is_empty()
                    && from <= crate::format::file_header::HEADER_LEN as u64
                    && footer.record_count != survey.records.len() as u64 =>
            {
                survey
                    .damage
                    .push((footer_offset, FOOTER_LEN as u64, CorruptKind::Footer));
            }
            Some(_) => {}
        }
    }
    Ok(survey)
}

/// Copies bytes `offset..` of `file` (up to its last non-zero byte) into
/// `dest`, a new file, and syncs it: a torn tail is kept before it is cut.
pub fn save_range(file: &File, path: &Path, offset: u64, len: u64, dest: &Path) -> Result<u64> {
    let mut win = Window::new(file, path, offset + len);
    let out = fs::create_new_private(dest)?;
    let mut at = offset;
    let mut last_nonzero = offset;
    while at < offset + len {
        let chunk = win.at(at, WINDOW_LEN)?;
        if let Some(i) = chunk.iter().rposition(|b| *b != 0) {
            last_nonzero = at + i as u64 + 1;
        }
        let n = chunk.len() as u64;
        let chunk = chunk.to_vec();
        fs::write_all_at(&out, dest, &chunk, at - offset)?;
        at += n;
    }
    fs::set_len(&out, dest, last_nonzero - offset)?;
    fs::sync_data(&out, dest)?;
    Ok(last_nonzero - offset)
}

/// Keeps the bytes of a torn tail of `file` (named `name` in store `dir`)
/// under `DIR/torn/` before a writer cuts it; returns where they are.
pub fn keep_torn(
    dir: &Path,
    name: &str,
    file: &File,
    path: &Path,
    torn: &Torn,
    now_ms: u64,
) -> Result<(std::path::PathBuf, u64)> {
    let torn_dir = dir.join(crate::layout::TORN_DIR);
    if !fs::exists(&torn_dir) {
        fs::create_dir_private(&torn_dir)?;
        fs::sync_dir(dir)?;
    }
    let dest = torn_dir.join(crate::layout::torn_file_name(name, torn.offset, now_ms));
    fs::remove_file_if_exists(&dest)?;
    let kept = save_range(file, path, torn.offset, torn.len, &dest)?;
    fs::sync_dir(&torn_dir)?;
    Ok((dest, kept))
}

/// Writes bytes `from..to` of `file` again, as read: after a failed sync the
/// kernel may hold bytes in its cache, marked clean, that never reached the
/// disk; rewriting them makes the next sync cover them for real. A writer
/// does this for the bytes no record vouches for as durable before it
/// claims them durable itself.
pub fn rewrite_range(file: &File, path: &Path, from: u64, to: u64) -> Result<()> {
    let mut at = from;
    let mut buf = Vec::new();
    while at < to {
        let n = (to - at).min(WINDOW_LEN as u64) as usize;
        buf.resize(n, 0);
        fs::read_exact_at(file, path, &mut buf, at)?;
        fs::write_all_at(file, path, &buf, at)?;
        at += n as u64;
    }
    Ok(())
}

/// Leaves the mark of a failed write or sync in store `dir` (best effort:
/// the disk may be failing). Its presence makes the next writer rewrite
/// the bytes no record vouches for before it syncs and trusts them.
pub fn mark_sync_failed(dir: &Path) {
    let path = dir.join(crate::layout::SYNC_FAILED_FILE);
    if !fs::exists(&path) {
        let _ = fs::create_new_private(&path);
    }
}

/// Whether an earlier writer of store `dir` saw a write or sync fail.
pub fn sync_failed_before(dir: &Path) -> bool {
    fs::exists(&dir.join(crate::layout::SYNC_FAILED_FILE))
}

/// Clears the mark once the bytes it was about are durable.
pub fn clear_sync_failed(dir: &Path) -> Result<()> {
    fs::remove_file(&dir.join(crate::layout::SYNC_FAILED_FILE))?;
    fs::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    #[test]
    fn all_zero_sees_one_set_byte_anywhere() {
        for len in [0, 1, 7, 8, 63, 4095, 4096, 4097, 10_000] {
            let mut bytes = vec![0u8; len];
            assert!(super::all_zero(&bytes), "{len}");
            for at in (0..len).step_by(997).chain(len.checked_sub(1)) {
                bytes[at] = 0x10;
                assert!(!super::all_zero(&bytes), "{len} at {at}");
                bytes[at] = 0;
            }
        }
    }
}
