//! Redis's RDB file format: a writer of version-9 files that redis-server
//! loads as its dataset (and that a replica receives in a full sync), and
//! a streaming reader of the files redis-server writes (versions 1 to 12).
//!
//! hoard holds strings only. The reader returns strings with their
//! expiries and names every other value by its key and type, after
//! skipping its bytes, so the caller decides whether that is an error.
//! `docs/FORMAT.md` ("RDB") lists every byte this module reads and writes.

mod lzf;
mod read;
mod write;

pub use read::{Item, RdbError, RdbReader, checksum_matches};
pub use write::RdbWriter;

/// The version this writer produces: Redis 5's, which every Redis since
/// 5.0 (and Valkey) loads.
pub const WRITE_VERSION: u32 = 9;
/// The newest version the reader accepts (Redis 7.4's).
pub const READ_VERSION_MAX: u32 = 12;

/// CRC-64/Jones as Redis computes it over the whole file (`crc64.c`):
/// reflected, initial value 0, no final xor.
static CRC64: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// The opcodes that may stand where a value's type byte does.
mod opcode {
    pub const SLOT_INFO: u8 = 0xF4;
    pub const FUNCTION2: u8 = 0xF5;
    pub const FUNCTION_PRE_GA: u8 = 0xF6;
    pub const MODULE_AUX: u8 = 0xF7;
    pub const IDLE: u8 = 0xF8;
    pub const FREQ: u8 = 0xF9;
    pub const AUX: u8 = 0xFA;
    pub const RESIZEDB: u8 = 0xFB;
    pub const EXPIRETIME_MS: u8 = 0xFC;
    pub const EXPIRETIME: u8 = 0xFD;
    pub const SELECTDB: u8 = 0xFE;
    pub const EOF: u8 = 0xFF;
}

/// Value type bytes (`RDB_TYPE_*` in Redis's rdb.h).
mod kind {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
    pub const HASH_METADATA_PRE_GA: u8 = 22;
    pub const HASH_LISTPACK_EX_PRE_GA: u8 = 23;
    pub const HASH_METADATA: u8 = 24;
    pub const HASH_LISTPACK_EX: u8 = 25;
}

/// The Redis type (as `TYPE` names it) of an RDB value type byte.
pub fn type_name(type_byte: u8) -> &'static str {
    match type_byte {
        kind::STRING => "string",
        kind::LIST | kind::LIST_ZIPLIST | kind::LIST_QUICKLIST | kind::LIST_QUICKLIST_2 => "list",
        kind::SET | kind::SET_INTSET | kind::SET_LISTPACK => "set",
        kind::ZSET | kind::ZSET_2 | kind::ZSET_ZIPLIST | kind::ZSET_LISTPACK => "zset",
        kind::HASH
        | kind::HASH_ZIPMAP
        | kind::HASH_ZIPLIST
        | kind::HASH_LISTPACK
        | kind::HASH_METADATA_PRE_GA
        | kind::HASH_LISTPACK_EX_PRE_GA
        | kind::HASH_METADATA
        | kind::HASH_LISTPACK_EX => "hash",
        kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 | kind::STREAM_LISTPACKS_3 => "stream",
        kind::MODULE_PRE_GA | kind::MODULE_2 => "module",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_is_redis_crc64() {
        // The check value of Redis's crc64.c self-test.
        assert_eq!(CRC64.checksum(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn written_files_read_back() {
        let entries: Vec<(Vec<u8>, Vec<u8>, Option<u64>)> = vec![
            (b"a".to_vec(), b"1".to_vec(), None),
            (
                (0..=255).collect(),
                (0..=255).rev().collect(),
                Some(4_102_444_800_000),
            ),
            (b"empty".to_vec(), Vec::new(), None),
            (vec![b'k'; 70_000], vec![7; 20_000], Some(1)),
        ];
        let mut writer = RdbWriter::new(Vec::new(), entries.len() as u64, 2).unwrap();
        for (key, value, expiry) in &entries {
            writer.entry(key, value, *expiry).unwrap();
        }
        let file = writer.finish().unwrap();
        assert_eq!(&file[..9], b"REDIS0009");
        let mut reader = RdbReader::new(&file[..]);
        let mut read = Vec::new();
        while let Some(item) = reader.next_item().unwrap() {
            match item {
                Item::String {
                    key,
                    value,
                    expiry_ms,
                    db,
                } => {
                    assert_eq!(db, 0);
                    read.push((key, value, expiry_ms));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(read, entries);
        assert_eq!(reader.version(), WRITE_VERSION);
    }

    #[test]
    fn a_flipped_byte_fails_the_checksum() {
        let mut writer = RdbWriter::new(Vec::new(), 1, 0).unwrap();
        writer.entry(b"key", b"value", None).unwrap();
        let mut file = writer.finish().unwrap();
        let at = file.len() - 12;
        file[at] ^= 1;
        let mut reader = RdbReader::new(&file[..]);
        let error = loop {
            match reader.next_item() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("a damaged file read to its end"),
                Err(e) => break e,
            }
        };
        assert!(
            matches!(error, RdbError::Corrupt { ref message, .. } if message.contains("checksum")),
            "{error:?}"
        );
    }
}
