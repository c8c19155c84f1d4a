//! Random sequences of put / delete / expire / persist / time passing /
//! reopen / hint rewrite / hint loss / merge / snapshot, on both engines, applied to a store and to a plain HashMap model; every answer
//! must agree. Small keys space and small data files force overwrites,
//! rotation and tombstones across files.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use hoardhaven::{
    Access, EngineKind, InitOptions, ManualClock, OpenOptions, PutOptions, Store, SyncPolicy, Ttl,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put {
        key: u8,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
        nx: bool,
    },
    Delete {
        key: u8,
    },
    Expire {
        key: u8,
        ttl_ms: u64,
    },
    Persist {
        key: u8,
    },
    Advance {
        ms: u64,
    },
    Reopen,
    ReadOnlyCheck,
    WriteHint,
    ReopenWithoutHint,
    Merge,
}

const KEYS: u8 = 6;

fn key_name(key: u8) -> Vec<u8> {
    // Keys share prefixes and include a non-UTF-8 byte.
    let mut name = b"key/\xff".to_vec();
    name.push(b'0' + key);
    name
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..KEYS, proptest::collection::vec(any::<u8>(), 0..300), proptest::option::of(1u64..2000), any::<bool>())
            .prop_map(|(key, value, ttl_ms, nx)| Op::Put { key, value, ttl_ms, nx: nx && ttl_ms.is_none() }),
        2 => (0..KEYS).prop_map(|key| Op::Delete { key }),
        1 => (0..KEYS, 1u64..2000).prop_map(|(key, ttl_ms)| Op::Expire { key, ttl_ms }),
        1 => (0..KEYS).prop_map(|key| Op::Persist { key }),
        1 => (1u64..1500).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::Reopen),
        1 => Just(Op::ReadOnlyCheck),
        1 => Just(Op::WriteHint),
        1 => Just(Op::ReopenWithoutHint),
        1 => Just(Op::Merge),
    ]
}

/// The model: key -> (value, absolute expiry).
type Model = HashMap<Vec<u8>, (Vec<u8>, Option<u64>)>;

fn live<'m>(model: &'m Model, key: &[u8], now: u64) -> Option<&'m (Vec<u8>, Option<u64>)> {
    model
        .get(key)
        .filter(|(_, exp)| exp.is_none_or(|at| now < at))
}

fn open(dir: &Path, access: Access, clock: &Arc<ManualClock>) -> Store {
    let options = OpenOptions {
        clock: clock.clone(),
        ..OpenOptions::new(access)
    };
    Store::open(dir, &options).unwrap()
}

fn check(store: &mut Store, model: &Model, now: u64) -> Result<(), TestCaseError> {
    for k in 0..KEYS {
        let key = key_name(k);
        let expected = live(model, &key, now);
        let got = store.get(&key).unwrap();
        prop_assert_eq!(
            got.as_ref().map(|v| &v.bytes),
            expected.map(|(v, _)| v),
            "get {:?}",
            key
        );
        prop_assert_eq!(
            got.and_then(|v| v.expiry_ms),
            expected.and_then(|(_, e)| *e)
        );
        let ttl = store.ttl(&key).unwrap();
        let expected_ttl = expected.map(|(_, e)| match e {
            None => Ttl::Persistent,
            Some(at) => Ttl::RemainingMs(at - now),
        });
        prop_assert_eq!(ttl, expected_ttl);
    }
    // The batched read (MGET): every key three times (more than one
    // prefetch batch of 16), and one never written.
    let mut asked: Vec<Vec<u8>> = (0..3 * KEYS).map(|i| key_name(i % KEYS)).collect();
    asked.push(b"key/never".to_vec());
    let got = store.get_many(&asked).unwrap();
    prop_assert_eq!(got.len(), asked.len());
    for (key, got) in asked.iter().zip(got) {
        let expected = live(model, key, now);
        prop_assert_eq!(
            got.map(|v| (v.bytes, v.expiry_ms)),
            expected.map(|(v, e)| (v.clone(), *e)),
            "get_many {:?}",
            key
        );
    }
    let mut expected_keys: Vec<Vec<u8>> = (0..KEYS)
        .map(key_name)
        .filter(|k| live(model, k, now).is_some())
        .collect();
    expected_keys.sort();
    prop_assert_eq!(store.keys(b"key/", None).unwrap(), expected_keys);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_bitcask_store_matches_a_hashmap_model(ops in proptest::collection::vec(op(), 1..60)) {
        run_model(EngineKind::Bitcask, ops)?;
    }

    #[test]
    fn a_memory_store_matches_a_hashmap_model(ops in proptest::collection::vec(op(), 1..60)) {
        run_model(EngineKind::Memory, ops)?;
    }
}

/// Runs `ops` against a store of `engine` and the model. The maintenance
/// operations map onto each engine's own: merge and hint rewrite for
/// bitcask, a snapshot for memory.
fn run_model(engine: EngineKind, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    // `never` keeps the test fast; sync policy does not change what a
    // live process answers, and durability has its own tests.
    let init = InitOptions {
        engine,
        max_file_size: 1024,
        sync: SyncPolicy::Never,
    };
    Store::create(&dir, &init, clock.as_ref()).unwrap();
    let mut store = open(&dir, Access::Write, &clock);
    let mut model = Model::new();
    for op in ops {
        let now = hoardhaven::Clock::now_ms(clock.as_ref());
        match op {
            Op::Put {
                key,
                value,
                ttl_ms,
                nx,
            } => {
                let key = key_name(key);
                let should_write = !nx || live(&model, &key, now).is_none();
                let wrote = store
                    .put(
                        &key,
                        &value,
                        PutOptions {
                            ttl_ms,
                            only_if_absent: nx,
                        },
                    )
                    .unwrap();
                prop_assert_eq!(wrote, should_write);
                if should_write {
                    model.insert(key, (value, ttl_ms.map(|t| now + t)));
                }
            }
            Op::Delete { key } => {
                let key = key_name(key);
                let existed = live(&model, &key, now).is_some();
                prop_assert_eq!(store.delete(&key).unwrap(), existed);
                model.remove(&key);
            }
            Op::Expire { key, ttl_ms } => {
                let key = key_name(key);
                let existed = live(&model, &key, now).is_some();
                prop_assert_eq!(store.expire(&key, ttl_ms).unwrap(), existed);
                if existed {
                    model.get_mut(&key).unwrap().1 = Some(now + ttl_ms);
                }
            }
            Op::Persist { key } => {
                let key = key_name(key);
                let had_ttl = live(&model, &key, now).is_some_and(|(_, e)| e.is_some());
                prop_assert_eq!(store.persist(&key).unwrap(), had_ttl);
                if had_ttl {
                    model.get_mut(&key).unwrap().1 = None;
                }
            }
            Op::Advance { ms } => clock.advance(ms),
            Op::Reopen => {
                store.close().unwrap();
                store = open(&dir, Access::Write, &clock);
            }
            Op::Merge | Op::WriteHint if engine == EngineKind::Memory => {
                store.memory().unwrap().snapshot(now).unwrap();
            }
            Op::Merge => {
                store.bitcask().unwrap().merge(now, &mut |_, _| {}).unwrap();
            }
            Op::WriteHint => {
                store.bitcask().unwrap().write_hint().unwrap();
            }
            Op::ReopenWithoutHint => {
                store.close().unwrap();
                let _ = std::fs::remove_file(dir.join(hoardhaven::bitcask::HINT_FILE));
                store = open(&dir, Access::Write, &clock);
            }
            Op::ReadOnlyCheck => {
                store.close().unwrap();
                let mut reader = open(&dir, Access::Read, &clock);
                check(&mut reader, &model, now)?;
                drop(reader);
                store = open(&dir, Access::Write, &clock);
            }
        }
        check(
            &mut store,
            &model,
            hoardhaven::Clock::now_ms(clock.as_ref()),
        )?;
    }
    Ok(())
}
