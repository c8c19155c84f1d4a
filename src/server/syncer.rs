//! Durability for `sync=always` in a server with several workers (one
//! worker syncs on its own thread: `Durability::SyncOnWorker`): connections run their
//! writes without waiting (`Store::batch_writes`), then wait here until a
//! sync covers them. One thread syncs whenever writes are waiting, back to
//! back, so every fdatasync covers every write appended while the last
//! one ran, across all connections, which is Redis's `appendfsync always`
//! (one fsync per event-loop turn) with the disk kept busy, and no thread
//! per waiting write.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// What the sync thread has achieved so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Durable {
    /// Writes up to this position are on disk.
    pub position: u64,
    /// A sync failed: nothing after `position` will ever be durable.
    pub failed: bool,
}

#[derive(Debug, Default)]
struct Wanted {
    /// The highest position a connection waits for.
    position: u64,
    stop: bool,
}

/// The sync thread and the channel it reports on.
pub(crate) struct Syncer {
    wanted: Mutex<Wanted>,
    wake: Condvar,
    durable: tokio::sync::watch::Sender<Durable>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Syncer {
    /// Starts the sync thread for `store` (read through `get`, since the
    /// thread must not keep the server's state alive).
    pub fn start(
        store_position: u64,
        get: impl Fn() -> Option<Arc<super::Shared>> + Send + 'static,
    ) -> Arc<Syncer> {
        let (durable, _) = tokio::sync::watch::channel(Durable {
            position: store_position,
            failed: false,
        });
        let syncer = Arc::new(Syncer {
            wanted: Mutex::new(Wanted::default()),
            wake: Condvar::new(),
            durable,
            thread: Mutex::new(None),
        });
        let handle = {
            let syncer = syncer.clone();
            std::thread::Builder::new()
                .name("hoard-sync".into())
                .spawn(move || syncer.run(get))
                .expect("start the sync thread")
        };
        *syncer.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        syncer
    }

    fn run(&self, get: impl Fn() -> Option<Arc<super::Shared>>) {
        // `gather` sleeps in 20 us steps; with Linux's default 50 us timer
        // slack each step took about 90 us here, and a turn's sync waited
        // that much longer. Best effort: without it, steps are just longer.
        let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1_000));
        // However this thread ends (a panic included), waiters must not
        // wait forever: report a failure unless it was asked to stop.
        struct Failed<'a>(&'a Syncer);
        impl Drop for Failed<'_> {
            fn drop(&mut self) {
                let stopping = self.0.wanted.lock().map(|w| w.stop).unwrap_or(false);
                if !stopping {
                    self.0.durable.send_modify(|d| d.failed = true);
                }
            }
        }
        let _failed = Failed(self);
        loop {
            {
                let mut wanted = self.wanted.lock().unwrap_or_else(|e| e.into_inner());
                while !wanted.stop && wanted.position <= self.durable.borrow().position {
                    wanted = self.wake.wait(wanted).unwrap_or_else(|e| e.into_inner());
                }
                if wanted.stop {
                    return;
                }
            }
            let Some(shared) = get() else { return };
            gather(&shared.store);
            let result = shared.store.sync();
            let position = shared.store.durable_position();
            drop(shared);
            self.durable.send_replace(Durable {
                position,
                failed: result.is_err(),
            });
            if result.is_err() {
                // The store is poisoned: nothing more will become durable.
                return;
            }
        }
    }

    /// Waits until writes up to `position` are on disk; false if a sync
    /// failed first (they must not be acknowledged).
    pub async fn wait_for(&self, position: u64) -> bool {
        let mut durable = self.durable.subscribe();
        {
            let now = *durable.borrow();
            if now.position >= position {
                return true;
            }
            if now.failed {
                return false;
            }
        }
        {
            let mut wanted = self.wanted.lock().unwrap_or_else(|e| e.into_inner());
            wanted.position = wanted.position.max(position);
        }
        self.wake.notify_one();
        match durable
            .wait_for(|d| d.position >= position || d.failed)
            .await
        {
            Ok(d) => d.position >= position,
            Err(_) => false,
        }
    }

    /// Stops the thread (after the sync it may be running).
    pub fn stop(&self) {
        self.wanted.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        self.wake.notify_one();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// Lets writes still arriving join the coming sync: waits while the write
/// position keeps moving, in steps of `GATHER_STEP`, for `GATHER_MAX` at
/// most. A server's worker runs a wave of ready connections one after
/// another; syncing at the first write of the wave would leave the rest
/// for the next sync (Redis runs the whole wave, then fsyncs once).
fn gather(store: &crate::store::Store) {
    let deadline = std::time::Instant::now() + GATHER_MAX;
    let mut seen = store.write_position();
    while std::time::Instant::now() < deadline {
        std::thread::sleep(GATHER_STEP);
        let now = store.write_position();
        if now == seen {
            return;
        }
        seen = now;
    }
}

/// How long the sync thread waits for more writes between two looks.
const GATHER_STEP: std::time::Duration = std::time::Duration::from_micros(20);
/// The longest it gathers before it syncs.
const GATHER_MAX: std::time::Duration = std::time::Duration::from_micros(300);
