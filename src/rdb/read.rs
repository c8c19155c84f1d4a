//! Reads RDB files as redis-server writes them, one key at a time, from
//! any `Read`: strings (raw, integer-encoded, LZF-compressed) with their
//! expiries; every other type skipped byte-exactly and named; auxiliary
//! fields, database selectors, table sizes, LFU/LRU hints, slot info,
//! functions and module aux data skipped as `redis-check-rdb` skips them.
//! The checksum is checked at the end, so a caller that must not act on
//! a damaged file reads it to the end before acting on any of it.

use std::fmt;
use std::io::{self, Read};

use super::{CRC64, READ_VERSION_MAX, kind, lzf, opcode};

/// One key of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A string, with its absolute expiry in Unix ms if it has one.
    String {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
        /// When it expires, in Unix ms.
        expiry_ms: Option<u64>,
        /// The Redis database it is in.
        db: u64,
    },
    /// A value of another type, skipped.
    Other {
        /// The key.
        key: Vec<u8>,
        /// The RDB type byte (`super::type_name` names it).
        type_byte: u8,
        /// The Redis database it is in.
        db: u64,
    },
}

/// Why a file could not be read.
#[derive(Debug)]
pub enum RdbError {
    /// Reading the input failed.
    Io(io::Error),
    /// The bytes are not a valid RDB file: damaged or cut short.
    Corrupt {
        /// Byte offset in the file where the problem was found.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A valid file holds something this reader cannot read or skip.
    Unsupported {
        /// Byte offset in the file.
        offset: u64,
        /// What it is.
        message: String,
    },
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RdbError::Io(e) => write!(f, "{e}"),
            RdbError::Corrupt { offset, message } | RdbError::Unsupported { offset, message } => {
                write!(f, "at offset {offset}: {message}")
            }
        }
    }
}

type Result<T> = std::result::Result<T, RdbError>;

/// The buffer through which the file is read.
const BUFFER: usize = 256 * 1024;

/// LZF expands at most about 88 times (a 3-byte reference to 264 bytes);
/// a claimed length beyond this is damage, and is refused before any
/// memory is set aside for it.
const LZF_RATIO_MAX: u64 = 90;

/// Buffered input that counts offsets and checksums what it consumes.
struct Input<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// `buf[..hashed]` is in `digest`.
    hashed: usize,
    /// File offset of `buf[0]`.
    base: u64,
    digest: crc::Digest<'static, u64, crc::Table<16>>,
}

impl<R: Read> Input<R> {
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn truncated(&self) -> RdbError {
        RdbError::Corrupt {
            offset: self.offset(),
            message: "the file ends early (truncated)".to_string(),
        }
    }

    /// Reads more input after what is unconsumed; false at the end.
    fn refill(&mut self) -> Result<bool> {
        self.digest.update(&self.buf[self.hashed..self.pos]);
        self.buf.copy_within(self.pos..self.end, 0);
        self.base += self.pos as u64;
        self.end -= self.pos;
        self.pos = 0;
        self.hashed = 0;
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RdbError::Io(e)),
            }
        }
    }

    /// Whether every byte of the input is consumed.
    fn at_end(&mut self) -> Result<bool> {
        Ok(self.pos == self.end && !self.refill()?)
    }

    fn need(&mut self, n: usize) -> Result<()> {
        while self.end - self.pos < n {
            if !self.refill()? {
                return Err(self.truncated());
            }
        }
        Ok(())
    }

    fn byte(&mut self) -> Result<u8> {
        self.need(1)?;
        self.pos += 1;
        Ok(self.buf[self.pos - 1])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.need(N)?;
        let mut out = [0; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(out)
    }

    /// Consumes `n` bytes, appending them to `out` if given. Memory grows
    /// only with bytes actually read, so a damaged length runs into the
    /// end of the file instead of a huge allocation.
    fn bytes(&mut self, mut n: u64, mut out: Option<&mut Vec<u8>>) -> Result<()> {
        while n > 0 {
            if self.pos == self.end && !self.refill()? {
                return Err(self.truncated());
            }
            let take = n.min((self.end - self.pos) as u64) as usize;
            if let Some(out) = out.as_deref_mut() {
                out.extend_from_slice(&self.buf[self.pos..self.pos + take]);
            }
            self.pos += take;
            n -= take as u64;
        }
        Ok(())
    }

    /// The checksum of everything consumed so far.
    fn checksum(&mut self) -> u64 {
        self.digest.update(&self.buf[self.hashed..self.pos]);
        self.hashed = self.pos;
        self.digest.clone().finalize()
    }
}

/// A length as Redis encodes it, or the marker of a special string encoding.
enum Length {
    Plain(u64),
    Encoded(u8),
}

/// Reads an RDB file key by key.
pub struct RdbReader<R> {
    input: Input<R>,
    version: u32,
    db: u64,
    done: bool,
    functions: u64,
    module_aux: u64,
}

impl<R: Read> RdbReader<R> {
    /// A reader of `input`, which must start with the RDB header.
    pub fn new(input: R) -> RdbReader<R> {
        RdbReader {
            input: Input {
                inner: input,
                buf: vec![0; BUFFER].into_boxed_slice(),
                pos: 0,
                end: 0,
                hashed: 0,
                base: 0,
                digest: CRC64.digest(),
            },
            version: 0,
            db: 0,
            done: false,
            functions: 0,
            module_aux: 0,
        }
    }

    /// The file's RDB version (0 before the first item is read).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Function libraries skipped so far (hoard runs no functions).
    pub fn functions_skipped(&self) -> u64 {
        self.functions
    }

    /// Module auxiliary fields skipped so far (hoard loads no modules).
    pub fn module_aux_skipped(&self) -> u64 {
        self.module_aux
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// The next key, or `None` after the EOF opcode and a good checksum.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        if self.done {
            return Ok(None);
        }
        if self.version == 0 {
            self.header()?;
        }
        let mut expiry_ms = None;
        loop {
            let at = self.input.offset();
            let type_byte = self.input.byte()?;
            match type_byte {
                opcode::EXPIRETIME_MS => {
                    // Signed in Redis: a time before 1970 is simply past.
                    let at = i64::from_le_bytes(self.input.array()?);
                    expiry_ms = Some(at.max(0) as u64);
                }
                opcode::EXPIRETIME => {
                    let seconds = i32::from_le_bytes(self.input.array()?);
                    expiry_ms = Some(seconds.max(0) as u64 * 1000);
                }
                opcode::FREQ => {
                    self.input.byte()?;
                }
                opcode::IDLE => {
                    self.length()?;
                }
                opcode::AUX => {
                    self.skip_string()?;
                    self.skip_string()?;
                }
                opcode::RESIZEDB => {
                    self.length()?;
                    self.length()?;
                }
                opcode::SELECTDB => self.db = self.length()?,
                opcode::SLOT_INFO => {
                    for _ in 0..3 {
                        self.length()?;
                    }
                }
                opcode::MODULE_AUX => {
                    self.length()?; // module id
                    let when_opcode = self.length()?;
                    self.length()?; // when
                    if when_opcode != MODULE_UINT {
                        return Err(self.corrupt(at, "module aux data in an unknown layout"));
                    }
                    self.skip_module_value(at)?;
                    self.module_aux += 1;
                }
                opcode::FUNCTION_PRE_GA => {
                    return Err(RdbError::Unsupported {
                        offset: at,
                        message: "functions in Redis 7.0's pre-release format".to_string(),
                    });
                }
                opcode::FUNCTION2 => {
                    self.skip_string()?;
                    self.functions += 1;
                }
                opcode::EOF => {
                    if self.version >= 5 {
                        let computed = self.input.checksum();
                        let stored = u64::from_le_bytes(self.input.array()?);
                        // A zero checksum means the writer did not compute
                        // one (`rdbchecksum no`); Redis loads such files.
                        if stored != 0 && stored != computed {
                            return Err(self.corrupt(
                                at + 1,
                                &format!(
                                    "checksum mismatch: the file says {stored:#018x}, its \
                                     bytes give {computed:#018x}"
                                ),
                            ));
                        }
                    } else if !self.input.at_end()? {
                        // Versions below 5 carry no checksum, so their
                        // files end at this opcode. Bytes after it are
                        // most likely a newer file's checksum under a
                        // damaged version digit (one bit turns 9 into 1),
                        // which would otherwise switch the check off.
                        return Err(self.corrupt(
                            at + 1,
                            &format!(
                                "bytes follow the end of a version-{} file, which has no \
                                 checksum: the version number may be damaged",
                                self.version
                            ),
                        ));
                    }
                    self.done = true;
                    return Ok(None);
                }
                kind::STRING => {
                    let key = self.string()?;
                    let value = self.string()?;
                    return Ok(Some(Item::String {
                        key,
                        value,
                        expiry_ms,
                        db: self.db,
                    }));
                }
                _ => {
                    let key = self.string()?;
                    self.skip_value(type_byte, &key, at)?;
                    return Ok(Some(Item::Other {
                        key,
                        type_byte,
                        db: self.db,
                    }));
                }
            }
        }
    }

    fn header(&mut self) -> Result<()> {
        let magic: [u8; 9] = self.input.array()?;
        let digits = &magic[5..];
        if &magic[..5] != b"REDIS" || !digits.iter().all(u8::is_ascii_digit) {
            return Err(self.corrupt(0, "not an RDB file (it does not start with REDISnnnn)"));
        }
        let version = digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'));
        if version == 0 || version > READ_VERSION_MAX {
            return Err(RdbError::Unsupported {
                offset: 5,
                message: format!(
                    "RDB version {version}; this build reads versions 1 to {READ_VERSION_MAX} \
                     (Redis 2.0 to 7.4)"
                ),
            });
        }
        self.version = version;
        Ok(())
    }

    fn corrupt(&self, offset: u64, message: &str) -> RdbError {
        RdbError::Corrupt {
            offset,
            message: message.to_string(),
        }
    }

    fn length_or_encoding(&mut self) -> Result<Length> {
        let at = self.input.offset();
        let first = self.input.byte()?;
        Ok(match first >> 6 {
            0 => Length::Plain(u64::from(first & 0x3F)),
            1 => Length::Plain(u64::from(first & 0x3F) << 8 | u64::from(self.input.byte()?)),
            2 => match first {
                0x80 => Length::Plain(u64::from(u32::from_be_bytes(self.input.array()?))),
                0x81 => Length::Plain(u64::from_be_bytes(self.input.array()?)),
                _ => return Err(self.corrupt(at, "an unknown length encoding")),
            },
            _ => Length::Encoded(first & 0x3F),
        })
    }

    fn length(&mut self) -> Result<u64> {
        let at = self.input.offset();
        match self.length_or_encoding()? {
            Length::Plain(n) => Ok(n),
            Length::Encoded(_) => Err(self.corrupt(at, "a string encoding where a length must be")),
        }
    }

    /// A string in any of its encodings, as its bytes.
    fn string(&mut self) -> Result<Vec<u8>> {
        let at = self.input.offset();
        match self.length_or_encoding()? {
            Length::Plain(len) => {
                let mut out = Vec::with_capacity(len.min(BUFFER as u64) as usize);
                self.input.bytes(len, Some(&mut out))?;
                Ok(out)
            }
            Length::Encoded(ENC_INT8) => Ok((self.input.byte()? as i8).to_string().into_bytes()),
            Length::Encoded(ENC_INT16) => Ok(i16::from_le_bytes(self.input.array()?)
                .to_string()
                .into_bytes()),
            Length::Encoded(ENC_INT32) => Ok(i32::from_le_bytes(self.input.array()?)
                .to_string()
                .into_bytes()),
            Length::Encoded(ENC_LZF) => {
                let compressed_len = self.length()?;
                let len = self.length()?;
                if len > compressed_len.saturating_mul(LZF_RATIO_MAX) + 64 {
                    return Err(self.corrupt(at, "an LZF string longer than it can decompress to"));
                }
                let mut compressed = Vec::with_capacity(compressed_len.min(BUFFER as u64) as usize);
                self.input.bytes(compressed_len, Some(&mut compressed))?;
                lzf::decompress(&compressed, len as usize)
                    .ok_or_else(|| self.corrupt(at, "an LZF-compressed string is damaged"))
            }
            Length::Encoded(other) => {
                Err(self.corrupt(at, &format!("an unknown string encoding {other}")))
            }
        }
    }

    fn skip_string(&mut self) -> Result<()> {
        let at = self.input.offset();
        match self.length_or_encoding()? {
            Length::Plain(len) => self.input.bytes(len, None),
            Length::Encoded(ENC_INT8) => self.input.bytes(1, None),
            Length::Encoded(ENC_INT16) => self.input.bytes(2, None),
            Length::Encoded(ENC_INT32) => self.input.bytes(4, None),
            Length::Encoded(ENC_LZF) => {
                let compressed_len = self.length()?;
                self.length()?;
                self.input.bytes(compressed_len, None)
            }
            Length::Encoded(other) => {
                Err(self.corrupt(at, &format!("an unknown string encoding {other}")))
            }
        }
    }

    /// Skips the value of a type other than string, exactly as Redis's
    /// `rdbLoadObject` reads it.
    fn skip_value(&mut self, type_byte: u8, key: &[u8], at: u64) -> Result<()> {
        match type_byte {
            kind::LIST | kind::SET | kind::LIST_QUICKLIST => {
                for _ in 0..self.length()? {
                    self.skip_string()?;
                }
            }
            kind::HASH => {
                for _ in 0..self.length()? {
                    self.skip_string()?;
                    self.skip_string()?;
                }
            }
            kind::ZSET => {
                for _ in 0..self.length()? {
                    self.skip_string()?;
                    // A score as text after a length byte; 253-255 are
                    // NaN and the infinities, with no text.
                    let len = self.input.byte()?;
                    if len < 253 {
                        self.input.bytes(u64::from(len), None)?;
                    }
                }
            }
            kind::ZSET_2 => {
                for _ in 0..self.length()? {
                    self.skip_string()?;
                    self.input.bytes(8, None)?;
                }
            }
            kind::HASH_ZIPMAP
            | kind::LIST_ZIPLIST
            | kind::SET_INTSET
            | kind::ZSET_ZIPLIST
            | kind::HASH_ZIPLIST
            | kind::HASH_LISTPACK
            | kind::ZSET_LISTPACK
            | kind::SET_LISTPACK => self.skip_string()?,
            kind::LIST_QUICKLIST_2 => {
                for _ in 0..self.length()? {
                    self.length()?; // container kind
                    self.skip_string()?;
                }
            }
            kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 | kind::STREAM_LISTPACKS_3 => {
                self.skip_stream(type_byte)?
            }
            kind::HASH_METADATA_PRE_GA | kind::HASH_METADATA => {
                // Redis 7.4's hashes with field expiry: (the smallest
                // expiry,) then per field its TTL, name and value.
                if type_byte == kind::HASH_METADATA {
                    self.input.bytes(8, None)?;
                }
                for _ in 0..self.length()? {
                    self.length()?;
                    self.skip_string()?;
                    self.skip_string()?;
                }
            }
            kind::HASH_LISTPACK_EX_PRE_GA | kind::HASH_LISTPACK_EX => {
                if type_byte == kind::HASH_LISTPACK_EX {
                    self.input.bytes(8, None)?;
                }
                self.skip_string()?;
            }
            kind::MODULE_2 => {
                self.length()?; // module id
                self.skip_module_value(at)?;
            }
            _ => {
                return Err(RdbError::Unsupported {
                    offset: at,
                    message: format!(
                        "key {} has RDB type {type_byte} ({}), which this build cannot read \
                         or skip",
                        crate::error::display_key(key),
                        super::type_name(type_byte)
                    ),
                });
            }
        }
        Ok(())
    }

    fn skip_stream(&mut self, type_byte: u8) -> Result<()> {
        let v2 = type_byte >= kind::STREAM_LISTPACKS_2;
        let v3 = type_byte >= kind::STREAM_LISTPACKS_3;
        for _ in 0..self.length()? {
            self.skip_string()?; // master ID
            self.skip_string()?; // listpack
        }
        // Length, last ID; in v2 also first ID, max deleted ID, entries added.
        for _ in 0..if v2 { 8 } else { 3 } {
            self.length()?;
        }
        for _ in 0..self.length()? {
            self.skip_string()?; // group name
            self.length()?; // last ID ms
            self.length()?; // last ID seq
            if v2 {
                self.length()?; // entries read
            }
            for _ in 0..self.length()? {
                self.input.bytes(16 + 8, None)?; // raw ID, delivery time
                self.length()?; // delivery count
            }
            for _ in 0..self.length()? {
                self.skip_string()?; // consumer name
                self.input.bytes(if v3 { 16 } else { 8 }, None)?; // seen (and active) time
                for _ in 0..self.length()? {
                    self.input.bytes(16, None)?; // raw ID
                }
            }
        }
        Ok(())
    }

    /// Skips module data written with opcodes (module API v2), up to its
    /// EOF opcode.
    fn skip_module_value(&mut self, at: u64) -> Result<()> {
        loop {
            match self.length()? {
                MODULE_EOF => return Ok(()),
                MODULE_SINT | MODULE_UINT => {
                    self.length()?;
                }
                MODULE_FLOAT => self.input.bytes(4, None)?,
                MODULE_DOUBLE => self.input.bytes(8, None)?,
                MODULE_STRING => self.skip_string()?,
                other => {
                    return Err(self.corrupt(at, &format!("an unknown module opcode {other}")));
                }
            }
        }
    }
}

/// Whether the CRC-64 trailer of the whole file at `input` matches its
/// bytes, read raw (no parsing): `None` when the file carries no checksum
/// (a version below 5, a zero trailer, or too short to tell).
pub fn checksum_matches(mut input: impl Read) -> io::Result<Option<bool>> {
    let mut digest = CRC64.digest();
    let mut header = [0u8; 9];
    if input.read_exact(&mut header).is_err() {
        return Ok(None);
    }
    let version = std::str::from_utf8(&header[5..])
        .ok()
        .and_then(|v| v.parse::<u32>().ok());
    if &header[..5] != b"REDIS" || version.is_none_or(|v| v < 5) {
        return Ok(None);
    }
    digest.update(&header);
    // The last 8 bytes read are the trailer; everything before is checked.
    let mut tail: Vec<u8> = Vec::with_capacity(8);
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 8 {
            let keep = tail.len() - 8;
            digest.update(&tail[..keep]);
            tail.drain(..keep);
        }
    }
    if tail.len() < 8 {
        return Ok(None);
    }
    let stored = u64::from_le_bytes(tail[..8].try_into().expect("8 bytes"));
    Ok((stored != 0).then(|| stored == digest.finalize()))
}

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

const MODULE_EOF: u64 = 0;
const MODULE_SINT: u64 = 1;
const MODULE_UINT: u64 = 2;
const MODULE_FLOAT: u64 = 3;
const MODULE_DOUBLE: u64 = 4;
const MODULE_STRING: u64 = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_all(bytes: &[u8]) -> Result<Vec<Item>> {
        let mut reader = RdbReader::new(bytes);
        let mut items = Vec::new();
        while let Some(item) = reader.next_item()? {
            items.push(item);
        }
        Ok(items)
    }

    #[test]
    fn a_file_without_a_checksum_must_end_at_its_eof_opcode() {
        // A version-9 file whose version digit lost a bit (9 -> 1): its
        // checksum trailer now follows the EOF of a version that has none.
        let mut writer = crate::rdb::RdbWriter::new(Vec::new(), 1, 0).unwrap();
        writer.entry(b"k", b"v", None).unwrap();
        let mut file = writer.finish().unwrap();
        assert_eq!(&file[..9], b"REDIS0009");
        assert_eq!(read_all(&file).unwrap().len(), 1);
        file[8] ^= 0x08;
        assert_eq!(&file[..9], b"REDIS0001");
        let err = read_all(&file).unwrap_err().to_string();
        assert!(err.contains("version-1 file"), "{err}");
        // A real version-4 file ends at its EOF and reads; one byte more
        // and it is refused.
        let mut old = b"REDIS0004".to_vec();
        old.extend([0, 1, b'a', 1, b'b', 0xFF]);
        assert_eq!(read_all(&old).unwrap().len(), 1);
        old.push(0);
        assert!(read_all(&old).is_err());
    }

    #[test]
    fn integer_encodings_read_as_decimal_text() {
        // Version 4: no checksum. Keys "a" "b" "c" with int8 -5,
        // int16 1000 and int32 -70000.
        let mut file = b"REDIS0004".to_vec();
        file.extend([0, 1, b'a', 0xC0, (-5i8) as u8]);
        file.extend([0, 1, b'b', 0xC1]);
        file.extend(1000i16.to_le_bytes());
        file.extend([0, 1, b'c', 0xC2]);
        file.extend((-70000i32).to_le_bytes());
        file.push(0xFF);
        let values: Vec<Vec<u8>> = read_all(&file)
            .unwrap()
            .into_iter()
            .map(|item| match item {
                Item::String { value, .. } => value,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(values, [&b"-5"[..], b"1000", b"-70000"]);
    }

    #[test]
    fn hashes_with_field_expiry_are_skipped_and_named() {
        // Version 12 types 22-25, each followed by a string that must
        // still be read in place.
        let mut file = b"REDIS0012".to_vec();
        // 24: min expiry, 1 field: TTL 0, "f", "v".
        file.extend([24, 1, b'a']);
        file.extend(5u64.to_le_bytes());
        file.extend([1, 0, 1, b'f', 1, b'v']);
        // 22: 1 field: TTL 7, "f", "v".
        file.extend([22, 1, b'b', 1, 7, 1, b'f', 1, b'v']);
        // 25: min expiry, then a listpack as a string.
        file.extend([25, 1, b'c']);
        file.extend(5u64.to_le_bytes());
        file.extend([2, b'l', b'p']);
        // 23: a listpack as a string.
        file.extend([23, 1, b'd', 2, b'l', b'p']);
        file.extend([0, 1, b's', 1, b'x']);
        // EOF, and a zero checksum: not computed by the writer.
        file.push(0xFF);
        file.extend([0; 8]);
        let items = read_all(&file).unwrap();
        let kinds: Vec<(Vec<u8>, &str)> = items
            .iter()
            .map(|item| match item {
                Item::Other { key, type_byte, .. } => {
                    (key.clone(), super::super::type_name(*type_byte))
                }
                Item::String { key, .. } => (key.clone(), "string"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (b"a".to_vec(), "hash"),
                (b"b".to_vec(), "hash"),
                (b"c".to_vec(), "hash"),
                (b"d".to_vec(), "hash"),
                (b"s".to_vec(), "string"),
            ]
        );
    }

    #[test]
    fn a_cut_file_is_truncated_at_every_length() {
        let mut writer = super::super::RdbWriter::new(Vec::new(), 2, 1).unwrap();
        writer.entry(b"one", b"first value", Some(99)).unwrap();
        writer.entry(b"two", b"second value", None).unwrap();
        let file = writer.finish().unwrap();
        for cut in 0..file.len() {
            let error = read_all(&file[..cut]).unwrap_err();
            assert!(
                matches!(&error, RdbError::Corrupt { message, .. } if message.contains("truncated")),
                "cut at {cut}: {error:?}"
            );
        }
        assert_eq!(read_all(&file).unwrap().len(), 2);
    }

    #[test]
    fn newer_versions_and_other_files_are_refused() {
        assert!(matches!(
            read_all(b"REDIS0099\xff"),
            Err(RdbError::Unsupported { .. })
        ));
        assert!(matches!(
            read_all(b"hello wor"),
            Err(RdbError::Corrupt { .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_after_a_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut file = b"REDIS0010".to_vec();
            file.extend(tail);
            let _ = read_all(&file);
        }
    }
}
