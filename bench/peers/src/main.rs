//! The peer harness: the same workloads (load, read, overwrite, durable),
//! with identical keys and values, against hoard's library (both engines),
//! redb, fjall and sled (and rocksdb with `--features rocksdb`), printed
//! as one table with each peer's ratio to hoard. Build and run in release
//! mode:
//!
//!   cd bench/peers && cargo run --release [--features rocksdb] -- [KEYS] [DIR]
//!
//! KEYS defaults to 1,000,000 (20-byte keys, 100-byte values); DIR to a
//! new directory under /tmp, removed at the end.

use std::path::{Path, PathBuf};
use std::time::Instant;

use hoardhaven::bench::{key_of, value_of};
use redb::ReadableDatabase;

const KEY_SIZE: usize = 20;
const VALUE_SIZE: usize = 100;
const DURABLE_OPS: u64 = 2000;

/// One store under test.
trait Peer {
    fn name(&self) -> &'static str;
    /// Puts every (key, value); one sync at the end.
    fn load(&mut self, entries: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>);
    /// Gets one key; the value's length.
    fn get(&mut self, key: &[u8]) -> Option<usize>;
    /// Puts one key durably (synced before returning).
    fn put_durable(&mut self, key: &[u8], value: &[u8]);
    /// Reclaims space after overwrites, if the store has a way to.
    fn compact(&mut self) {}
}

fn entries(n: u64, round: u64) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> {
    (0..n).map(move |i| {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        key_of(i, KEY_SIZE, &mut k);
        value_of(i, round, VALUE_SIZE, &mut v);
        (k, v)
    })
}

struct Hoard {
    store: hoardhaven::Store,
    name: &'static str,
}

impl Drop for Hoard {
    fn drop(&mut self) {
        // A store is closed, not just dropped: the close is part of the work.
        let _ = self.name;
    }
}

impl Hoard {
    fn new(dir: &Path, engine: hoardhaven::EngineKind, name: &'static str) -> Hoard {
        let init = hoardhaven::InitOptions {
            engine,
            ..hoardhaven::InitOptions::default()
        };
        hoardhaven::Store::create(dir, &init, &hoardhaven::SystemClock).unwrap();
        let store = hoardhaven::Store::open(
            dir,
            &hoardhaven::OpenOptions::new(hoardhaven::Access::Write),
        )
        .unwrap();
        Hoard { store, name }
    }
}

impl Peer for Hoard {
    fn name(&self) -> &'static str {
        self.name
    }
    fn load(&mut self, entries: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) {
        self.store.defer_sync(true);
        for (k, v) in entries {
            self.store
                .put(&k, &v, hoardhaven::PutOptions::default())
                .unwrap();
        }
        self.store.defer_sync(false);
        self.store.sync().unwrap();
    }
    fn get(&mut self, key: &[u8]) -> Option<usize> {
        self.store.get(key).unwrap().map(|v| v.bytes.len())
    }
    fn put_durable(&mut self, key: &[u8], value: &[u8]) {
        self.store
            .put(key, value, hoardhaven::PutOptions::default())
            .unwrap();
    }
    fn compact(&mut self) {
        let now = hoardhaven::Clock::now_ms(&hoardhaven::SystemClock);
        if let Some(b) = self.store.bitcask() {
            b.merge(now, &mut |_, _| {}).unwrap();
        } else if let Some(m) = self.store.memory() {
            m.snapshot(now).unwrap();
        }
    }
}

const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("kv");

struct Redb(redb::Database);

impl Peer for Redb {
    fn name(&self) -> &'static str {
        "redb"
    }
    fn load(&mut self, entries: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) {
        let tx = self.0.begin_write().unwrap();
        {
            let mut table = tx.open_table(TABLE).unwrap();
            for (k, v) in entries {
                table.insert(k.as_slice(), v.as_slice()).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    fn get(&mut self, key: &[u8]) -> Option<usize> {
        let tx = self.0.begin_read().unwrap();
        let table = tx.open_table(TABLE).unwrap();
        table.get(key).unwrap().map(|v| v.value().len())
    }
    fn put_durable(&mut self, key: &[u8], value: &[u8]) {
        let tx = self.0.begin_write().unwrap();
        {
            let mut table = tx.open_table(TABLE).unwrap();
            table.insert(key, value).unwrap();
        }
        tx.commit().unwrap();
    }
    fn compact(&mut self) {
        self.0.compact().unwrap();
    }
}

struct Fjall {
    db: fjall::Database,
    keyspace: fjall::Keyspace,
}

impl Peer for Fjall {
    fn name(&self) -> &'static str {
        "fjall"
    }
    fn load(&mut self, entries: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) {
        for (k, v) in entries {
            self.keyspace.insert(k, v).unwrap();
        }
        self.db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    fn get(&mut self, key: &[u8]) -> Option<usize> {
        self.keyspace.get(key).unwrap().map(|v| v.len())
    }
    fn put_durable(&mut self, key: &[u8], value: &[u8]) {
        self.keyspace.insert(key, value).unwrap();
        self.db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
}

struct Sled(sled::Db);

impl Peer for Sled {
    fn name(&self) -> &'static str {
        "sled"
    }
    fn load(&mut self, entries: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) {
        for (k, v) in entries {
            self.0.insert(k, v).unwrap();
        }
        self.0.flush().unwrap();
    }
    fn get(&mut self, key: &[u8]) -> Option<usize> {
        self.0.get(key).unwrap().map(|v| v.len())
    }
    fn put_durable(&mut self, key: &[u8], value: &[u8]) {
        self.0.insert(key, value).unwrap();
        self.0.flush().unwrap();
    }
}

#[cfg(feature = "rocksdb")]
struct Rocks(rocksdb::DB);

#[cfg(feature = "rocksdb")]
impl Peer for Rocks {
    fn name(&self) -> &'static str {
        "rocksdb"
    }
    fn load(&mut self, entries: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) {
        // Unsynced writes in batches, then one flush and WAL sync: the
        // same "one sync at the end" as every other peer's load.
        let mut options = rocksdb::WriteOptions::default();
        options.set_sync(false);
        let mut batch = rocksdb::WriteBatch::default();
        for (k, v) in entries {
            batch.put(k, v);
            if batch.len() >= 1024 {
                self.0.write_opt(std::mem::take(&mut batch), &options).unwrap();
            }
        }
        self.0.write_opt(batch, &options).unwrap();
        self.0.flush_wal(true).unwrap();
    }
    fn get(&mut self, key: &[u8]) -> Option<usize> {
        self.0.get_pinned(key).unwrap().map(|v| v.len())
    }
    fn put_durable(&mut self, key: &[u8], value: &[u8]) {
        let mut options = rocksdb::WriteOptions::default();
        options.set_sync(true);
        self.0.put_opt(key, value, &options).unwrap();
    }
    fn compact(&mut self) {
        self.0.compact_range::<&[u8], &[u8]>(None, None);
    }
}

fn open_peer(name: &str, dir: &Path) -> Box<dyn Peer> {
    match name {
        "hoard-bitcask" => Box::new(Hoard::new(
            dir,
            hoardhaven::EngineKind::Bitcask,
            "hoard-bitcask",
        )),
        "hoard-memory" => Box::new(Hoard::new(
            dir,
            hoardhaven::EngineKind::Memory,
            "hoard-memory",
        )),
        "redb" => {
            std::fs::create_dir_all(dir).unwrap();
            Box::new(Redb(redb::Database::create(dir.join("db.redb")).unwrap()))
        }
        "fjall" => {
            let db = fjall::Database::builder(dir).open().unwrap();
            let keyspace = db
                .keyspace("kv", fjall::KeyspaceCreateOptions::default)
                .unwrap();
            Box::new(Fjall { db, keyspace })
        }
        "sled" => Box::new(Sled(sled::open(dir).unwrap())),
        #[cfg(feature = "rocksdb")]
        "rocksdb" => {
            let mut options = rocksdb::Options::default();
            options.create_if_missing(true);
            Box::new(Rocks(rocksdb::DB::open(&options, dir).unwrap()))
        }
        _ => unreachable!(),
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let meta = e.metadata().unwrap();
            total += if meta.is_dir() {
                dir_bytes(&e.path())
            } else {
                meta.len()
            };
        }
    }
    total
}

struct Row {
    name: &'static str,
    load: f64,
    read: f64,
    overwrite: f64,
    durable: f64,
    disk_after: u64,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(1_000_000, |a| a.parse().expect("KEYS"));
    let root = args.next().map_or_else(
        || std::env::temp_dir().join(format!("hoard-peers-{}", std::process::id())),
        PathBuf::from,
    );
    std::fs::create_dir_all(&root).unwrap();
    let mut names = vec!["hoard-bitcask", "hoard-memory", "redb", "fjall", "sled"];
    if cfg!(feature = "rocksdb") {
        names.push("rocksdb");
    }
    let mut rows = Vec::new();
    for name in names {
        let dir = root.join(name);
        let mut peer = open_peer(name, &dir);
        let start = Instant::now();
        peer.load(&mut entries(n, 0));
        let load = n as f64 / start.elapsed().as_secs_f64();

        let mut order: Vec<u64> = (0..n).collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for i in (1..order.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut key = Vec::new();
        let start = Instant::now();
        for i in &order {
            key_of(*i, KEY_SIZE, &mut key);
            assert_eq!(peer.get(&key), Some(VALUE_SIZE), "{name}: key {i}");
        }
        let read = n as f64 / start.elapsed().as_secs_f64();

        let start = Instant::now();
        for round in 1..=3 {
            peer.load(&mut entries(n, round));
        }
        peer.compact();
        let overwrite = 3.0 * n as f64 / start.elapsed().as_secs_f64();
        let disk_after = dir_bytes(&dir);

        let mut value = Vec::new();
        let start = Instant::now();
        for i in 0..DURABLE_OPS {
            key_of(n + i, KEY_SIZE, &mut key);
            value_of(i, 9, VALUE_SIZE, &mut value);
            peer.put_durable(&key, &value);
        }
        let durable = DURABLE_OPS as f64 / start.elapsed().as_secs_f64();
        eprintln!(
            "{}: load {load:.0}/s, read {read:.0}/s, overwrite x3 + compact {overwrite:.0}/s, durable {durable:.0}/s",
            peer.name()
        );
        rows.push(Row {
            name,
            load,
            read,
            overwrite,
            durable,
            disk_after,
        });
        drop(peer);
    }
    let _ = std::fs::remove_dir_all(&root);

    println!(
        "{n} keys of {KEY_SIZE} bytes, values of {VALUE_SIZE} bytes; ops/s (ratio: hoard-bitcask / this)"
    );
    println!(
        "| store | load | read | overwrite x3 + compact | durable puts | disk after compact |"
    );
    println!("|---|---|---|---|---|---|");
    let base = &rows[0];
    for r in &rows {
        println!(
            "| {} | {:.0} ({:.2}x) | {:.0} ({:.2}x) | {:.0} ({:.2}x) | {:.0} ({:.2}x) | {:.1} MB |",
            r.name,
            r.load,
            base.load / r.load,
            r.read,
            base.read / r.read,
            r.overwrite,
            base.overwrite / r.overwrite,
            r.durable,
            base.durable / r.durable,
            r.disk_after as f64 / 1e6
        );
    }
}
