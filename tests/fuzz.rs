//! Decoder fuzzing on stable Rust: every decoder of on-disk or imported
//! bytes (record, log replay and survey, hint, snapshot, manifest, import
//! readers) is fed random bytes and mutated valid inputs. None may panic,
//! hang or allocate beyond what its input justifies; the checksummed ones
//! must never hand back data that differs from what was written.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test --release --test fuzz`.
//! Coverage-guided fuzzing: see `fuzz/README.md` (cargo-fuzz, nightly).

use std::path::Path;

use hoardhaven::format::hint::{self, HintMeta, HintView, Slot};
use hoardhaven::format::record::{self, Decoded, Record, RecordKind};
use hoardhaven::manifest::{EngineKind, Manifest, SyncPolicy};
use hoardhaven::transfer::{Entry, EntryReader, Format, write_entry};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Set(at, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        let len = bytes.len();
        match *m {
            Mutation::Flip(at, bit) if len > 0 => bytes[at % len] ^= 1 << bit,
            Mutation::Set(at, b) if len > 0 => bytes[at % len] = b,
            Mutation::Truncate(at) => bytes.truncate(at % (len + 1)),
            Mutation::Insert(at, b) => bytes.insert(at % (len + 1), b),
            Mutation::Remove(at) if len > 0 => {
                bytes.remove(at % len);
            }
            _ => {}
        }
    }
}

fn entries() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>, u64)>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(any::<u8>(), 1..24),
            proptest::collection::vec(any::<u8>(), 0..64),
            prop_oneof![Just(0u64), 1u64..4_000_000_000_000],
        ),
        1..24,
    )
}

const UID: u64 = 0x5eed;
const HEADER: usize = hoardhaven::format::file_header::HEADER_LEN;

fn encode_log(entries: &[(Vec<u8>, Vec<u8>, u64)]) -> Vec<u8> {
    let mut out = vec![0u8; HEADER]; // stands in for the file header
    for (key, value, expiry_ms) in entries {
        let place = record::Place::new(UID, out.len() as u64);
        record::encode_into(
            &mut out,
            &Record {
                kind: RecordKind::Value,
                expiry_ms: *expiry_ms,
                key,
                value,
                durable_len: HEADER as u64,
            },
            place,
        );
    }
    out
}

/// `bytes` in a real temporary file, opened through the library's seam.
fn log_file(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, hoardhaven::fs::File) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    std::fs::write(&path, bytes).unwrap();
    let file = hoardhaven::fs::open_read(&path).unwrap();
    (dir, path, file)
}

proptest! {
    #[test]
    fn the_record_decoder_survives_mutated_records(entries in entries(), ms in proptest::collection::vec(mutation(), 1..4)) {
        let mut bytes = encode_log(&entries);
        mutate(&mut bytes, &ms);
        let mut at = HEADER;
        while at < bytes.len() {
            match record::decode(&bytes[at..], record::Place::new(UID, at as u64)) {
                Decoded::Record(rec, len) => {
                    prop_assert!(len >= record::RECORD_HEADER_LEN && rec.key.len() <= 65536);
                    at += len;
                }
                _ => at += 1,
            }
        }
    }

    #[test]
    fn log_replay_and_survey_survive_mutated_logs(entries in entries(), ms in proptest::collection::vec(mutation(), 1..4), newest in any::<bool>()) {
        let mut bytes = encode_log(&entries);
        mutate(&mut bytes, &ms);
        let (_dir, path, file) = log_file(&bytes);
        let len = bytes.len() as u64;
        let role = if newest { hoardhaven::log::Role::Newest } else { hoardhaven::log::Role::Sealed };
        let from = (HEADER as u64).min(len);
        let _ = hoardhaven::log::scan(&file, &path, UID, len, from, role, |_, _| {});
        let mut found = Vec::new();
        let survey = hoardhaven::log::survey(&file, &path, UID, len, from, role, &mut |_, rec: &Record<'_>| {
            found.push((rec.key.to_vec(), rec.value.to_vec(), rec.expiry_ms));
        }).unwrap();
        prop_assert_eq!(survey.records.len(), found.len());
        // Every record a survey salvages passed its CRC: it is one that was written.
        for rec in &found {
            prop_assert!(entries.contains(rec), "salvaged a record that was never written");
        }
    }

    #[test]
    fn the_hint_reader_survives_mutated_hints(entries in entries(), ms in proptest::collection::vec(mutation(), 1..4)) {
        let slots: Vec<Slot> = entries.iter().enumerate().map(|(i, (k, _, _))| Slot {
            fingerprint: hint::fingerprint(k),
            file_index: 0,
            offset: 32 + i as u64 * 40,
        }).collect();
        let meta = HintMeta::new(1 << 16, 4096, vec![hint::HintFile { id: 1 << 16, uid: UID, len: 4096, records: 0 }]);
        let mut bytes = hint::encode(meta, &slots);
        mutate(&mut bytes, &ms);
        if let Ok((view, _)) = HintView::parse(&bytes) {
            for block in 0..view.block_count() {
                let _ = view.check_block(block);
            }
            let verified: Vec<std::sync::atomic::AtomicU64> =
                (0..view.block_count().div_ceil(64)).map(|_| Default::default()).collect();
            for (k, _, _) in &entries {
                for slot in view.probe(hint::fingerprint(k), &verified).take(1000) {
                    let _ = slot;
                }
            }
        }
    }

    #[test]
    fn the_snapshot_reader_never_returns_data_that_was_not_written(entries in entries(), ms in proptest::collection::vec(mutation(), 1..4)) {
        let dir = tempfile::tempdir().unwrap();
        hoardhaven::memory::write_snapshot(dir.path(), 5, entries.iter().map(|(k, v, e)| (k.as_slice(), v.as_slice(), *e))).unwrap();
        let mut bytes = std::fs::read(dir.path().join(hoardhaven::memory::snapshot_file_name(5))).unwrap();
        mutate(&mut bytes, &ms);
        for salvage in [false, true] {
            let mut found = Vec::new();
            let _ = hoardhaven::memory::decode_snapshot(&bytes, 5, salvage, |rec| {
                found.push((rec.key.to_vec(), rec.value.to_vec(), rec.expiry_ms));
            });
            for rec in &found {
                prop_assert!(entries.contains(rec), "a damaged snapshot yielded an entry never written");
            }
        }
    }

    #[test]
    fn the_manifest_parser_never_accepts_a_changed_manifest(ms in proptest::collection::vec(mutation(), 1..3), memory in any::<bool>(), size in 1024u64..1 << 30) {
        let original = Manifest {
            format_version: 1,
            engine: if memory { EngineKind::Memory } else { EngineKind::Bitcask },
            sync: SyncPolicy::IntervalMs(size % 5000 + 1),
            max_file_size: size,
            created_ms: size * 7,
        };
        let encoded = original.encode().into_bytes();
        let mut bytes = encoded.clone();
        mutate(&mut bytes, &ms);
        if let Ok(parsed) = Manifest::decode(&bytes, Path::new("d/HOARD")) {
            prop_assert_eq!(parsed, original);
        }
    }

    #[test]
    fn import_readers_survive_mutated_streams(entries in entries(), ms in proptest::collection::vec(mutation(), 1..4)) {
        for format in [Format::Tsv, Format::Jsonl, Format::Resp] {
            let mut bytes = Vec::new();
            for (key, value, expiry) in &entries {
                let entry = Entry { key: key.clone(), value: value.clone(), expiry_ms: (*expiry != 0).then_some(*expiry) };
                write_entry(&mut bytes, format, &entry).unwrap();
            }
            mutate(&mut bytes, &ms);
            let mut reader = EntryReader::new(&bytes[..], format);
            for _ in 0..entries.len() + 8 {
                match reader.next_entry() {
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
        }
    }

    #[test]
    fn a_resp_header_claiming_a_huge_bulk_string_allocates_nothing_for_it(len in 1usize..536_870_912) {
        let input = format!("*3\r\n$3\r\nSET\r\n${len}\r\nshort");
        let mut reader = EntryReader::new(input.as_bytes(), Format::Resp);
        prop_assert!(reader.next_entry().is_err());
    }
}

/// A multibulk request of `args`, as a Redis client sends it.
fn multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

proptest! {
    /// The server's RESP parser gives back exactly the arguments sent, in
    /// a pipeline of requests, and waits (takes nothing) at every cut of
    /// the first one.
    #[test]
    fn resp_requests_round_trip_and_wait_for_whole_ones(
        first in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
        second in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
    ) {
        use hoardhaven::resp::{Limits, parse};
        let one = multibulk(&first);
        let mut buf = one.clone();
        buf.extend(multibulk(&second));
        let got = parse(&buf, &Limits::AUTHENTICATED).unwrap().unwrap();
        prop_assert_eq!(&got.args, &first);
        prop_assert_eq!(got.consumed, one.len());
        let rest = parse(&buf[got.consumed..], &Limits::AUTHENTICATED).unwrap().unwrap();
        prop_assert_eq!(&rest.args, &second);
        for cut in 0..one.len() {
            prop_assert_eq!(parse(&one[..cut], &Limits::AUTHENTICATED).unwrap(), None);
        }
    }

    /// Random and mutated requests never panic, and a request never takes
    /// more bytes than the buffer holds.
    #[test]
    fn resp_parser_survives_random_and_mutated_input(
        args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..5),
        mutations in proptest::collection::vec(mutation(), 0..6),
        noise in proptest::collection::vec(any::<u8>(), 0..200),
        authenticated in any::<bool>(),
    ) {
        use hoardhaven::resp::{Limits, parse};
        let limits = if authenticated { Limits::AUTHENTICATED } else { Limits::UNAUTHENTICATED };
        let mut buf = multibulk(&args);
        mutate(&mut buf, &mutations);
        for input in [&buf[..], &noise[..]] {
            if let Ok(Some(req)) = parse(input, &limits) {
                prop_assert!(req.consumed <= input.len() && req.consumed > 0);
            }
        }
    }
}

/// Strings read from an RDB file: key, value, expiry.
type RdbStrings = Vec<(Vec<u8>, Vec<u8>, Option<u64>)>;

/// Reads an RDB file to its end; the strings it returned, or the error.
fn read_rdb(bytes: &[u8]) -> Result<RdbStrings, hoardhaven::rdb::RdbError> {
    use hoardhaven::rdb::{Item, RdbReader};
    let mut reader = RdbReader::new(bytes);
    let mut out = Vec::new();
    while let Some(item) = reader.next_item()? {
        if let Item::String {
            key,
            value,
            expiry_ms,
            ..
        } = item
        {
            out.push((key, value, expiry_ms));
        }
    }
    Ok(out)
}

proptest! {
    /// The RDB reader survives any damage to a file, and a damaged file
    /// that it reads to the end (the checksum passed, or a mutation only
    /// touched bytes the checksum does not cover) never yields strings
    /// other than those written, unless the damage changed them in a way
    /// the CRC-64 cannot see, which a few mutations do not do.
    #[test]
    fn the_rdb_reader_never_accepts_a_damaged_file(entries in entries(), ms in proptest::collection::vec(mutation(), 1..4)) {
        let mut writer = hoardhaven::rdb::RdbWriter::new(Vec::new(), entries.len() as u64, 0).unwrap();
        let mut written = Vec::new();
        for (key, value, expiry) in &entries {
            let expiry = (*expiry > 0).then_some(*expiry);
            writer.entry(key, value, expiry).unwrap();
            written.push((key.clone(), value.clone(), expiry));
        }
        let original = writer.finish().unwrap();
        prop_assert_eq!(read_rdb(&original).unwrap(), written.clone());
        let mut bytes = original.clone();
        mutate(&mut bytes, &ms);
        if let Ok(read) = read_rdb(&bytes) {
            // Accepted: the mutations left every checked byte as it was
            // (e.g. they only cut or changed what follows the checksum).
            prop_assert_eq!(read, written);
            prop_assert_eq!(&bytes[..original.len().min(bytes.len())], &original[..original.len().min(bytes.len())]);
        }
    }
}
