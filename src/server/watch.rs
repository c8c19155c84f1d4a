//! WATCH: which keys clients watch, and a version per watched key that
//! every write of it bumps, so EXEC aborts when a watched key was written
//! (even with the value it had), as Redis does. Only watched keys are
//! tracked; with no watcher a write pays one atomic load.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The watched keys of every connection.
#[derive(Debug, Default)]
pub(crate) struct Watches {
    /// Keys watched by at least one connection, counted over connections.
    watched: AtomicUsize,
    /// Watched key -> (connections watching it, writes since first watched).
    keys: Mutex<HashMap<Vec<u8>, (usize, u64)>>,
}

/// What a connection saw of one key when it watched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    pub key: Vec<u8>,
    pub version: u64,
    /// Whether the key was live: a live key that is gone at EXEC has
    /// expired (a delete would have bumped the version), which aborts too.
    pub live: bool,
}

impl Watches {
    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, (usize, u64)>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts watching `key` for one connection.
    pub fn watch(&self, key: &[u8], live: bool) -> Seen {
        let mut keys = self.keys();
        let entry = keys.entry(key.to_vec()).or_insert((0, 0));
        entry.0 += 1;
        self.watched.fetch_add(1, Ordering::AcqRel);
        Seen {
            key: key.to_vec(),
            version: entry.1,
            live,
        }
    }

    /// Stops watching the keys one connection watched.
    pub fn release(&self, seen: &[Seen]) {
        if seen.is_empty() {
            return;
        }
        let mut keys = self.keys();
        for s in seen {
            if let Some(entry) = keys.get_mut(&s.key) {
                entry.0 -= 1;
                if entry.0 == 0 {
                    keys.remove(&s.key);
                }
            }
            self.watched.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Records a write of `key`.
    pub fn touch(&self, key: &[u8]) {
        if self.watched.load(Ordering::Acquire) == 0 {
            return;
        }
        if let Some(entry) = self.keys().get_mut(key) {
            entry.1 += 1;
        }
    }

    /// Whether `seen` was written since it was watched.
    pub fn written(&self, seen: &Seen) -> bool {
        self.keys()
            .get(&seen.key)
            .is_none_or(|entry| entry.1 != seen.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_of_a_watched_key_is_seen_and_others_are_not() {
        let watches = Watches::default();
        let a = watches.watch(b"a", true);
        let b = watches.watch(b"b", false);
        watches.touch(b"c");
        assert!(!watches.written(&a) && !watches.written(&b));
        watches.touch(b"a");
        assert!(watches.written(&a) && !watches.written(&b));
        watches.touch(b"b");
        assert!(watches.written(&b));
        watches.release(&[a, b]);
        assert!(watches.keys().is_empty());
        assert_eq!(watches.watched.load(Ordering::Acquire), 0);
    }

    #[test]
    fn two_watchers_of_a_key_keep_it_until_both_release() {
        let watches = Watches::default();
        let first = watches.watch(b"k", true);
        let second = watches.watch(b"k", true);
        watches.release(std::slice::from_ref(&first));
        watches.touch(b"k");
        assert!(watches.written(&second));
        watches.release(&[second]);
        assert!(watches.keys().is_empty());
    }
}
