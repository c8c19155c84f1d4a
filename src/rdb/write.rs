//! Writes RDB files: strings with millisecond expire-times in database 0,
//! closed by the EOF opcode and the CRC-64 of every byte before it.

use std::io::{self, Write};

use super::{CRC64, WRITE_VERSION, kind, opcode};

/// Streams an RDB file to `out`, computing its checksum on the way.
pub struct RdbWriter<W: Write> {
    out: W,
    digest: crc::Digest<'static, u64, crc::Table<16>>,
}

impl<W: Write> RdbWriter<W> {
    /// Writes the header, auxiliary fields and the database selector.
    /// `keys` and `expiring` size the loader's tables (Redis's RESIZEDB):
    /// hints only, a loader accepts any count of entries after them.
    pub fn new(out: W, keys: u64, expiring: u64) -> io::Result<RdbWriter<W>> {
        let mut writer = RdbWriter {
            out,
            digest: CRC64.digest(),
        };
        writer.put(format!("REDIS{WRITE_VERSION:04}").as_bytes())?;
        // redis-server reads `redis-ver` and `redis-bits` for its log and
        // ignores fields it does not know.
        writer.aux(b"redis-ver", b"7.0.15")?;
        writer.aux(b"redis-bits", b"64")?;
        writer.aux(b"hoard-ver", env!("CARGO_PKG_VERSION").as_bytes())?;
        writer.put(&[opcode::SELECTDB])?;
        writer.length(0)?;
        writer.put(&[opcode::RESIZEDB])?;
        writer.length(keys)?;
        writer.length(expiring)?;
        Ok(writer)
    }

    /// Writes one string, expiring at `expiry_ms` (Unix ms) if given.
    pub fn entry(&mut self, key: &[u8], value: &[u8], expiry_ms: Option<u64>) -> io::Result<()> {
        if let Some(at) = expiry_ms {
            self.put(&[opcode::EXPIRETIME_MS])?;
            self.put(&at.to_le_bytes())?;
        }
        self.put(&[kind::STRING])?;
        self.string(key)?;
        self.string(value)
    }

    /// Writes the EOF opcode and the checksum; returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.put(&[opcode::EOF])?;
        let checksum = self.digest.finalize();
        self.out.write_all(&checksum.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn aux(&mut self, name: &[u8], value: &[u8]) -> io::Result<()> {
        self.put(&[opcode::AUX])?;
        self.string(name)?;
        self.string(value)
    }

    /// A length-prefixed string, stored raw: every byte as it is.
    fn string(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.length(bytes.len() as u64)?;
        self.put(bytes)
    }

    /// Redis's length encoding: 6 bits, 14 bits, or a 32- or 64-bit
    /// big-endian number after a marker byte.
    fn length(&mut self, len: u64) -> io::Result<()> {
        if len < 1 << 6 {
            self.put(&[len as u8])
        } else if len < 1 << 14 {
            self.put(&[0x40 | (len >> 8) as u8, len as u8])
        } else if len <= u32::MAX as u64 {
            self.put(&[0x80])?;
            self.put(&(len as u32).to_be_bytes())
        } else {
            self.put(&[0x81])?;
            self.put(&len.to_be_bytes())
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.digest.update(bytes);
        self.out.write_all(bytes)
    }
}
