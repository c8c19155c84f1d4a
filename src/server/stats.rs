//! Counters the server keeps for `INFO` and `/metrics`: per command (calls,
//! time, failures, a latency histogram), per connection kind, and per HTTP
//! route. Every counter is a relaxed atomic: they are statistics, read
//! while they change, and never used to decide anything.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, in microseconds (the
/// last bucket, `+Inf`, is implicit).
pub(crate) const LATENCY_BOUNDS_US: [u64; 12] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 250_000,
];

/// Counters of one command.
#[derive(Debug, Default)]
pub(crate) struct CommandStats {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    /// Commands that replied with an error.
    pub failed: AtomicU64,
    /// Commands refused before they ran (arity, authentication, read-only store).
    pub rejected: AtomicU64,
    /// Latency histogram: one count per bound, then the overflow bucket.
    pub buckets: [AtomicU64; LATENCY_BOUNDS_US.len() + 1],
}

impl CommandStats {
    /// Records one run that took `took` and failed or not.
    pub fn record(&self, took: Duration, failed: bool) {
        let us = took.as_micros().min(u128::from(u64::MAX)) as u64;
        self.calls.fetch_add(1, Relaxed);
        self.usec.fetch_add(us, Relaxed);
        if failed {
            self.failed.fetch_add(1, Relaxed);
        }
        let bucket = LATENCY_BOUNDS_US
            .iter()
            .position(|bound| us <= *bound)
            .unwrap_or(LATENCY_BOUNDS_US.len());
        self.buckets[bucket].fetch_add(1, Relaxed);
    }

    fn reset(&self) {
        for counter in [&self.calls, &self.usec, &self.failed, &self.rejected] {
            counter.store(0, Relaxed);
        }
        for bucket in &self.buckets {
            bucket.store(0, Relaxed);
        }
    }
}

/// HTTP routes counted in `/metrics`.
pub(crate) const HTTP_ROUTES: [&str; 6] = ["get", "put", "delete", "list", "healthz", "metrics"];

/// Everything the server counts.
#[derive(Debug)]
pub(crate) struct Stats {
    /// One entry per command of the command table, in its order.
    pub commands: Vec<CommandStats>,
    pub connections_received: AtomicU64,
    pub connections_rejected: AtomicU64,
    pub connections_current: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    /// Error replies of any kind, protocol errors included.
    pub error_replies: AtomicU64,
    /// Connections closed for a protocol error or a broken limit.
    pub protocol_errors: AtomicU64,
    /// Bytes held in client query buffers now, against the total budget.
    pub client_buffer_bytes: AtomicU64,
    /// HTTP requests per route (`HTTP_ROUTES`) and status class (2xx..5xx).
    pub http_requests: [[AtomicU64; 4]; HTTP_ROUTES.len()],
    /// HTTP request latency per route.
    pub http_latency: [CommandStats; HTTP_ROUTES.len()],
}

impl Stats {
    /// Zeroed counters for `commands` commands.
    pub fn new(commands: usize) -> Stats {
        Stats {
            commands: (0..commands).map(|_| CommandStats::default()).collect(),
            connections_received: AtomicU64::new(0),
            connections_rejected: AtomicU64::new(0),
            connections_current: AtomicU64::new(0),
            keyspace_hits: AtomicU64::new(0),
            keyspace_misses: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            error_replies: AtomicU64::new(0),
            protocol_errors: AtomicU64::new(0),
            client_buffer_bytes: AtomicU64::new(0),
            http_requests: Default::default(),
            http_latency: Default::default(),
        }
    }

    /// Counts one HTTP request to route `route` answered with `status`.
    pub fn record_http(&self, route: usize, status: u16, took: Duration) {
        let class = usize::from((status / 100).clamp(2, 5) - 2);
        self.http_requests[route][class].fetch_add(1, Relaxed);
        self.http_latency[route].record(took, status >= 500);
    }

    /// `CONFIG RESETSTAT`: zeroes what Redis zeroes (not the current connection count).
    pub fn reset(&self) {
        for command in &self.commands {
            command.reset();
        }
        for counter in [
            &self.connections_received,
            &self.connections_rejected,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.error_replies,
            &self.protocol_errors,
        ] {
            counter.store(0, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_lands_in_the_first_bucket_whose_bound_holds_it() {
        let stats = CommandStats::default();
        stats.record(Duration::from_micros(10), false);
        stats.record(Duration::from_micros(11), true);
        stats.record(Duration::from_secs(1), false);
        assert_eq!(stats.buckets[0].load(Relaxed), 1);
        assert_eq!(stats.buckets[1].load(Relaxed), 1);
        assert_eq!(stats.buckets[LATENCY_BOUNDS_US.len()].load(Relaxed), 1);
        assert_eq!(stats.calls.load(Relaxed), 3);
        assert_eq!(stats.failed.load(Relaxed), 1);
        assert_eq!(stats.usec.load(Relaxed), 1_000_021);
    }
}
