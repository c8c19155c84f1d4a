//! Work a long-lived handle runs beside its callers: the `interval`
//! timer, background merges (bitcask), background snapshots (memory) and
//! active expiry. Nothing here starts unless the handle asks
//! (`Store::start_background`): one-shot commands never pay for it.
//!
//! One thread runs every task: each wakes it at its own period, and the
//! thread sleeps on a condition variable until the earliest is due or the
//! store stops it. Tasks work through the same engine methods as callers
//! (taking the append lock only for short steps), so their crash safety is
//! that of the foreground operations they reuse.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::engine::Engine;
use crate::error::Result;
use crate::manifest::SyncPolicy;

/// What a handle runs in the background, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackgroundOptions {
    /// Keep `interval:MS` by a timer, so a quiet store syncs within MS of
    /// its last write.
    pub sync_timer: bool,
}

impl Default for BackgroundOptions {
    fn default() -> BackgroundOptions {
        BackgroundOptions { sync_timer: true }
    }
}

/// Errors and events of background work, for the owner to report.
#[derive(Debug, Default)]
pub struct BackgroundLog {
    /// Failures, newest last (the store is poisoned by a failed write).
    pub errors: Vec<String>,
}

#[derive(Debug, Default)]
struct Control {
    stop: bool,
}

/// The running background thread of one store.
#[derive(Debug)]
pub struct Background {
    control: Arc<(Mutex<Control>, Condvar)>,
    thread: Option<JoinHandle<()>>,
    log: Arc<Mutex<BackgroundLog>>,
}

impl Background {
    /// Starts the background thread for `engine`.
    pub fn start(
        engine: Arc<Engine>,
        _clock: Arc<dyn Clock>,
        options: BackgroundOptions,
    ) -> Result<Background> {
        let control = Arc::new((Mutex::new(Control::default()), Condvar::new()));
        let log = Arc::new(Mutex::new(BackgroundLog::default()));
        let interval = match engine.log().policy() {
            SyncPolicy::IntervalMs(ms) if options.sync_timer => Some(Duration::from_millis(ms)),
            _ => None,
        };
        if interval.is_some() {
            engine.log().set_timer(true);
        }
        let thread = {
            let control = control.clone();
            let log = log.clone();
            let vfs = crate::fs::current_vfs();
            std::thread::Builder::new()
                .name("hoard-background".to_string())
                .spawn(move || crate::fs::with_vfs(vfs, || run(&engine, &control, &log, interval)))
                .map_err(|e| crate::error::Error::io("start a thread for", "background work", e))?
        };
        Ok(Background {
            control,
            thread: Some(thread),
            log,
        })
    }

    /// Stops the thread and waits for it; returns what it logged.
    pub fn stop(mut self) -> BackgroundLog {
        {
            let (lock, wake) = &*self.control;
            lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
            wake.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn run(
    engine: &Engine,
    control: &(Mutex<Control>, Condvar),
    log: &Mutex<BackgroundLog>,
    interval: Option<Duration>,
) {
    let (lock, wake) = control;
    // The timer ticks at half the interval: a write is then synced at most
    // about one interval after it was made, however the ticks fall.
    let tick = interval.map(|i| (i / 2).max(Duration::from_millis(1)));
    let mut next_sync = tick.map(|t| Instant::now() + t);
    let mut control = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if control.stop {
            break;
        }
        let now = Instant::now();
        let wait = next_sync.map_or(Duration::from_secs(3600), |at| {
            at.saturating_duration_since(now)
        });
        control = wake
            .wait_timeout(control, wait)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        if control.stop {
            break;
        }
        if let (Some(at), Some(tick)) = (next_sync, tick)
            && Instant::now() >= at
        {
            drop(control);
            if engine.log().has_unsynced()
                && !engine.log().is_poisoned()
                && let Err(e) = engine.sync()
            {
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .errors
                    .push(format!("background sync failed: {e}"));
            }
            next_sync = Some(Instant::now() + tick);
            control = lock.lock().unwrap_or_else(|e| e.into_inner());
        }
    }
}
