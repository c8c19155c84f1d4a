//! Crash recovery through the library API: a torn tail of the newest data
//! file (an interrupted, unacknowledged append) is dropped by a writer and
//! ignored by a reader; any other damage is corruption and is never
//! mistaken for a torn tail.

use std::path::{Path, PathBuf};

use hoardhaven::bitcask::HINT_FILE;
use hoardhaven::format::record::encoded_len;
use hoardhaven::{
    Access, CorruptKind, Error, InitOptions, OpenOptions, PutOptions, Store, SyncPolicy,
    SystemClock,
};

const EARLIER: [(&str, &str); 4] = [
    ("alpha", "one"),
    ("beta", "two"),
    ("gamma", "three"),
    ("delta", "four"),
];

fn open(dir: &Path, access: Access) -> hoardhaven::Result<Store> {
    Store::open(dir, &OpenOptions::new(access))
}

fn put(store: &mut Store, key: &str, value: &str) {
    store
        .put(key.as_bytes(), value.as_bytes(), PutOptions::default())
        .unwrap();
}

fn get(store: &mut Store, key: &str) -> Option<String> {
    store
        .get(key.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v.bytes).unwrap())
}

fn data_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    files.sort();
    files
}

/// A store holding EARLIER (covered by the hint written when that session
/// closed) and then one last record appended by a later session, as a
/// crashed append would be; returns the newest data file and the offsets
/// where the last record starts and ends.
/// The last record's value: long enough that the record spans several
/// 512-byte sectors, which a crash may persist in any combination.
fn last_value() -> String {
    "the last value, whose append is interrupted; ".repeat(40)
}

fn store_with_last_record(dir: &Path) -> (PathBuf, u64, u64) {
    store_with_last_record_synced(dir, SyncPolicy::Never)
}

/// The valid length (end of the last record) of the store's newest data file.
fn valid_len(dir: &Path) -> u64 {
    let store = open(dir, Access::Read).unwrap();
    let files = store.bitcask().unwrap().files();
    files.last().unwrap().2
}

/// As `store_with_last_record`, for a store with the given sync policy
/// (`never` writes no zeros ahead of the records, so the file ends where
/// its records do; `always` preallocates). Offsets are the valid lengths.
fn store_with_last_record_synced(dir: &Path, sync: SyncPolicy) -> (PathBuf, u64, u64) {
    let init = InitOptions {
        sync,
        ..InitOptions::default()
    };
    Store::create(dir, &init, &SystemClock).unwrap();
    let mut store = open(dir, Access::Write).unwrap();
    for (k, v) in EARLIER {
        put(&mut store, k, v);
    }
    store.close().unwrap();
    assert!(dir.join(HINT_FILE).exists());
    let file = data_files(dir).pop().unwrap();
    let start = valid_len(dir);
    let mut store = open(dir, Access::Write).unwrap();
    put(&mut store, "last", &last_value());
    store.close().unwrap();
    let end = valid_len(dir);
    assert!(
        end > start,
        "the last record must have a place: {start}..{end}"
    );
    if sync == SyncPolicy::Never {
        assert_eq!(
            std::fs::metadata(&file).unwrap().len(),
            end,
            "no preallocation under never"
        );
    }
    (file, start, end)
}

/// The 512-byte sectors a record at `start..end` touches, as ranges of file offsets.
fn sectors(start: u64, end: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let sector_end = ((at / 512 + 1) * 512).min(end);
        out.push((at, sector_end));
        at = sector_end;
    }
    out
}

#[test]
fn a_torn_write_into_preallocated_space_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let (file, start, end) = store_with_last_record_synced(&original, SyncPolicy::Always);
    let name = file.file_name().unwrap();
    let full = std::fs::read(&file).unwrap();
    let size = full.len() as u64;
    assert!(
        size > end,
        "sync=always preallocates zeros after the records"
    );
    let sectors = sectors(start, end);
    assert!(sectors.len() >= 3, "the last record spans several sectors");
    // A crash persists any subset of the record's sectors, each whole; the
    // others keep the zeros written ahead. Every subset but "all" is a tear
    // (the empty one reads as preallocated space, quietly).
    let subsets: Vec<Vec<bool>> = (0..sectors.len())
        .map(|n| (0..sectors.len()).map(|i| i < n).collect()) // prefixes
        .chain((0..sectors.len()).map(|hole| (0..sectors.len()).map(|i| i != hole).collect()))
        .filter(|kept: &Vec<bool>| !kept.iter().all(|k| *k))
        .collect();
    for (case, kept) in subsets.iter().enumerate() {
        let dir = tmp.path().join(format!("torn-{case}"));
        copy_store(&original, &dir);
        let mut bytes = full.clone();
        for ((from, to), keep) in sectors.iter().zip(kept) {
            if !keep {
                bytes[*from as usize..*to as usize].fill(0);
            }
        }
        std::fs::write(dir.join(name), &bytes).unwrap();
        let torn = kept.iter().any(|k| *k);
        {
            let mut reader = open(&dir, Access::Read).unwrap();
            assert_eq!(reader.take_notices().len(), usize::from(torn), "{kept:?}");
            assert_earlier_intact(&mut reader);
            assert_eq!(get(&mut reader, "last"), None, "{kept:?}");
        }
        let mut writer = open(&dir, Access::Write).unwrap();
        assert_eq!(writer.take_notices().len(), usize::from(torn), "{kept:?}");
        put(&mut writer, "next", "after the crash");
        writer.close().unwrap();
        let next_len = encoded_len(b"next".len(), b"after the crash".len()) as u64;
        assert_eq!(valid_len(&dir), start + next_len, "{kept:?}");
        let mut reader = open(&dir, Access::Read).unwrap();
        assert_earlier_intact(&mut reader);
        assert_eq!(get(&mut reader, "next").as_deref(), Some("after the crash"));
        assert_eq!(
            std::fs::read_dir(dir.join("torn")).map_or(0, |d| d.count()),
            usize::from(torn),
            "a cut torn tail is kept under torn/"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn bit_rot_in_the_last_acknowledged_record_is_corruption_not_a_tear() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (file, start, end) = store_with_last_record_synced(&dir, SyncPolicy::Always);
    let bytes = std::fs::read(&file).unwrap();
    // One flipped byte: the record is whole and holds no all-zero sector,
    // which no interrupted write leaves behind.
    for at in [start + 1, (start + end) / 2, end - 1] {
        let mut damaged = bytes.clone();
        damaged[at as usize] ^= 0x10;
        std::fs::write(&file, &damaged).unwrap();
        std::fs::remove_file(dir.join(HINT_FILE)).ok();
        for access in [Access::Read, Access::Write] {
            let (path, offset, _) = corrupt_offset(open(&dir, access));
            assert_eq!((path, offset), (file.clone(), start), "flip at {at}");
        }
        assert_eq!(
            std::fs::read(&file).unwrap(),
            damaged,
            "a failed open changed the file"
        );
        assert!(!dir.join("torn").exists(), "nothing was cut");
    }
}

fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

fn assert_earlier_intact(store: &mut Store) {
    for (k, v) in EARLIER {
        assert_eq!(get(store, k).as_deref(), Some(v), "key {k}");
    }
}

#[test]
fn truncating_the_last_record_at_every_offset_loses_only_that_record() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let (file, start, end) = store_with_last_record(&original);
    let name = file.file_name().unwrap();
    let next_len = encoded_len(b"next".len(), b"after the crash".len()) as u64;
    for cut in start..end {
        let dir = tmp.path().join(format!("cut-{cut}"));
        copy_store(&original, &dir);
        let data = dir.join(name);
        let f = std::fs::OpenOptions::new().write(true).open(&data).unwrap();
        f.set_len(cut).unwrap();
        drop(f);

        // A reader answers from the records before the tear and changes nothing.
        {
            let mut reader = open(&dir, Access::Read).unwrap();
            let notices = reader.take_notices();
            assert_eq!(
                notices.len(),
                usize::from(cut > start),
                "cut {cut}: {notices:?}"
            );
            assert_earlier_intact(&mut reader);
            assert_eq!(get(&mut reader, "last"), None, "cut {cut}");
        }
        assert_eq!(
            std::fs::metadata(&data).unwrap().len(),
            cut,
            "a reader changed the file"
        );

        // A writer drops the tear, and its next record starts where the tear began.
        let mut writer = open(&dir, Access::Write).unwrap();
        let notices = writer.take_notices();
        if cut > start {
            assert!(
                notices[0].contains("dropped a torn write"),
                "cut {cut}: {notices:?}"
            );
            assert!(
                notices[0].contains(&format!("offset {start}")),
                "cut {cut}: {notices:?}"
            );
        } else {
            assert!(notices.is_empty(), "cut {cut}: {notices:?}");
        }
        assert_earlier_intact(&mut writer);
        put(&mut writer, "next", "after the crash");
        writer.close().unwrap();
        assert_eq!(
            std::fs::metadata(&data).unwrap().len(),
            start + next_len,
            "cut {cut}"
        );

        let mut reader = open(&dir, Access::Read).unwrap();
        assert_earlier_intact(&mut reader);
        assert_eq!(get(&mut reader, "next").as_deref(), Some("after the crash"));
        assert_eq!(get(&mut reader, "last"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_last_record_of_zeros_ends_the_log_and_of_garbage_is_corruption() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let (file, start, end) = store_with_last_record(&original);
    // Zeros after the records read as space written ahead: the log ends
    // there, quietly.
    let dir = tmp.path().join("zeros");
    copy_store(&original, &dir);
    let data = dir.join(file.file_name().unwrap());
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[start as usize..end as usize].fill(0);
    std::fs::write(&data, &bytes).unwrap();
    let mut writer = open(&dir, Access::Write).unwrap();
    assert_eq!(writer.take_notices().len(), 0);
    assert_earlier_intact(&mut writer);
    assert_eq!(get(&mut writer, "last"), None);
    writer.close().unwrap();
    assert_eq!(valid_len(&dir), start);
    // Garbage in every sector is no interrupted write (a sector is written
    // whole or not at all): it is corruption, and nothing is cut.
    let dir = tmp.path().join("garbage");
    copy_store(&original, &dir);
    let data = dir.join(file.file_name().unwrap());
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[start as usize..end as usize].fill(0xa5);
    std::fs::write(&data, &bytes).unwrap();
    std::fs::remove_file(dir.join(HINT_FILE)).unwrap();
    let (path, offset, _) = corrupt_offset(open(&dir, Access::Write));
    assert_eq!((path, offset), (data.clone(), start));
    assert_eq!(std::fs::read(&data).unwrap(), bytes, "nothing was cut");
}

fn corrupt_offset(result: hoardhaven::Result<Store>) -> (PathBuf, u64, CorruptKind) {
    match result {
        Err(Error::Corrupt { path, offset, kind }) => (path, offset, kind),
        Err(other) => panic!("expected corruption, got {other}"),
        Ok(_) => panic!("expected corruption, the store opened"),
    }
}

#[test]
fn damage_before_a_valid_record_is_corruption_not_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (file, _, _) = store_with_last_record(&dir);
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(5).position(|w| w == b"gamma").unwrap();
    let record_start = (at - 32) as u64; // the key follows the 32-byte record header
    bytes[at + 6] ^= 0x40; // inside gamma's value
    std::fs::write(&file, &bytes).unwrap();
    let before = std::fs::read(&file).unwrap();

    // Through the hint, opening reads nothing old; reading the damaged key fails.
    for access in [Access::Read, Access::Write] {
        let mut store = open(&dir, access).unwrap();
        assert_eq!(get(&mut store, "alpha").as_deref(), Some("one"));
        let err = store.get(b"gamma").unwrap_err();
        assert_eq!(err.exit_code(), 4);
        let Error::Corrupt { path, offset, kind } = err else {
            panic!("{err}")
        };
        assert_eq!(
            (path, offset, kind),
            (file.clone(), record_start, CorruptKind::Checksum)
        );
    }
    // Without the hint, the full replay finds it at open.
    std::fs::remove_file(dir.join(HINT_FILE)).unwrap();
    for access in [Access::Read, Access::Write] {
        let (path, offset, kind) = corrupt_offset(open(&dir, access));
        assert_eq!(
            (path, offset, kind),
            (file.clone(), record_start, CorruptKind::Checksum)
        );
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "a failed open changed the file"
    );
}

#[test]
fn a_damaged_last_record_of_an_older_file_is_corruption() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let init = InitOptions {
        max_file_size: 1024,
        sync: SyncPolicy::Never,
        ..InitOptions::default()
    };
    Store::create(&dir, &init, &SystemClock).unwrap();
    let mut store = open(&dir, Access::Write).unwrap();
    let value = "x".repeat(400);
    for i in 0..6 {
        put(&mut store, &format!("k{i}"), &value);
    }
    store.close().unwrap();
    let files = data_files(&dir);
    assert!(files.len() >= 2, "{files:?}");
    let older = &files[0];
    let len = std::fs::metadata(older).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(older).unwrap();
    f.set_len(len - 1).unwrap();
    drop(f);
    // A sealed file cut short no longer ends with its footer.
    let (path, _, kind) = corrupt_offset(open(&dir, Access::Write));
    assert_eq!(&path, older);
    assert_eq!(kind, CorruptKind::Footer);
}

#[test]
fn a_damaged_file_header_is_corruption_at_offset_0_on_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (file, _, _) = store_with_last_record(&dir);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[3] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    // Replays check headers; `hoard verify` checks them with a hint too.
    std::fs::remove_file(dir.join(HINT_FILE)).unwrap();
    let (path, offset, _) = corrupt_offset(open(&dir, Access::Read));
    assert_eq!((path, offset), (file, 0));
}

#[test]
fn a_leftover_temporary_data_file_is_removed_by_a_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (file, _, _) = store_with_last_record(&dir);
    let leftover = dir.join("0000000009-00000.data.tmp");
    std::fs::write(&leftover, b"HOARDDAT partial").unwrap();
    {
        let mut reader = open(&dir, Access::Read).unwrap();
        assert_earlier_intact(&mut reader);
    }
    assert!(leftover.exists(), "a reader removed a file");
    let mut writer = open(&dir, Access::Write).unwrap();
    assert!(writer.take_notices()[0].contains("interrupted file creation"));
    assert!(!leftover.exists());
    assert_earlier_intact(&mut writer);
    assert!(file.exists());
}

#[test]
fn deletes_survive_reopen_and_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let init = InitOptions {
        max_file_size: 1024,
        ..InitOptions::default()
    };
    Store::create(&dir, &init, &SystemClock).unwrap();
    let mut store = open(&dir, Access::Write).unwrap();
    let value = "y".repeat(300);
    for i in 0..10 {
        put(&mut store, &format!("k{i}"), &value);
    }
    for i in (0..10).step_by(2) {
        assert!(store.delete(format!("k{i}").as_bytes()).unwrap());
    }
    store.close().unwrap();
    assert!(data_files(&dir).len() > 2);
    let mut store = open(&dir, Access::Read).unwrap();
    for i in 0..10 {
        let expected = (i % 2 == 1).then(|| value.clone());
        assert_eq!(get(&mut store, &format!("k{i}")), expected, "k{i}");
    }
}

#[test]
fn an_acknowledged_put_reaches_the_file_before_put_returns_under_every_policy() {
    use hoardhaven::bitcask::BitcaskOptions;
    use hoardhaven::memory::MemoryOptions;
    use hoardhaven::{Bitcask, Memory};
    for sync in [
        SyncPolicy::Never,
        SyncPolicy::IntervalMs(60_000),
        SyncPolicy::Always,
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let bitcask = |writable| BitcaskOptions {
            sync,
            max_file_size: 1 << 20,
            writable,
            use_hint: true,
            replay: true,
            preallocate_step: 1 << 20,
        };
        let clock: std::sync::Arc<dyn hoardhaven::Clock> =
            std::sync::Arc::new(hoardhaven::SystemClock);
        let engine = Bitcask::open(dir, bitcask(true), clock.clone()).unwrap();
        engine.put(b"k", b"acknowledged", None).unwrap();
        // Abandoned without close, as a killed process abandons it.
        std::mem::forget(engine);
        let reader = Bitcask::open(dir, bitcask(false), clock.clone()).unwrap();
        assert_eq!(
            reader.get(b"k", 0).unwrap().unwrap().bytes,
            b"acknowledged",
            "bitcask, {sync}"
        );

        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let memory = |writable| MemoryOptions {
            sync,
            writable,
            load: true,
            preallocate_step: 4096,
        };
        let engine = Memory::open(dir, memory(true), clock.clone()).unwrap();
        engine.put(b"k", b"acknowledged", None).unwrap();
        std::mem::forget(engine);
        let reader = Memory::open(dir, memory(false), clock.clone()).unwrap();
        assert_eq!(
            reader.get(b"k", 0).unwrap().unwrap().bytes,
            b"acknowledged",
            "memory, {sync}"
        );
    }
}
