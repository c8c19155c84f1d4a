//! `hoard serve`: one open store served to Redis clients (RESP2 and RESP3)
//! and HTTP clients until a signal or `SHUTDOWN`.
//!
//! The store is the library's concurrent [`Store`]; the server adds the
//! protocols, sessions, limits and statistics around it:
//!
//! - `connection`: a RESP connection on tokio: read, parse every complete
//!   command in the buffer, run the batch, write the replies at once.
//! - `commands`: the command table and the dispatcher (authentication,
//!   arity, MULTI/EXEC, the transaction gate); `keyspace` and `admin` hold
//!   the commands themselves.
//! - `http`: the HTTP API on hyper.
//! - `stats`: the counters behind INFO and `/metrics`.
//!
//! Commands run on tokio's worker threads when they cannot block; a batch
//! that may wait (a write under `sync=always`, which waits for its group
//! fdatasync; KEYS, FLUSHALL, SAVE) moves to the blocking pool, so that 50
//! writers waiting on one fdatasync hold 50 blocking threads, not the
//! workers that serve everyone else.

mod admin;
mod commands;
mod connection;
mod http;
mod keyspace;
mod long_double;
mod replication;
mod stats;
mod syncer;
mod watch;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use subtle::ConstantTimeEq;

use crate::background::BackgroundOptions;
use crate::error::{Error, Result};
use crate::store::Store;

pub use commands::command_names;

/// The default RESP address, Redis's.
pub const RESP_DEFAULT: &str = "127.0.0.1:6379";

/// How `hoard serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to accept RESP connections; `None`: no RESP listener.
    pub resp: Option<SocketAddr>,
    /// Where to accept HTTP connections; `None`: no HTTP listener.
    pub http: Option<SocketAddr>,
    /// The password clients must give (`AUTH`, `HELLO AUTH`); `None`: none.
    pub password: Option<Secret>,
    /// The bearer token HTTP clients must send; `None`: none.
    pub http_token: Option<Secret>,
    /// Most clients connected at once (RESP and HTTP each).
    pub max_clients: usize,
    /// Most bytes one client's unparsed input may hold.
    pub query_buffer_max: usize,
    /// Most bytes all clients' unparsed input may hold together.
    pub client_buffers_max: usize,
    /// Close a client idle this long (`None`: never, Redis's `timeout 0`).
    pub idle_timeout: Option<Duration>,
    /// Most bytes of a reply built from many items (KEYS, MGET, SCAN, EXEC).
    pub reply_max: usize,
    /// Tokio worker threads.
    pub threads: usize,
    /// Merges, snapshots, expiry and the sync timer.
    pub background: BackgroundOptions,
    /// How long shutdown waits for in-flight commands.
    pub shutdown_grace: Duration,
    /// Most bytes of the replication stream kept for replicas that fall
    /// behind or reconnect (allocated when the first replica arrives).
    pub repl_backlog_max: usize,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            resp: Some(RESP_DEFAULT.parse().expect("a valid address")),
            http: None,
            password: None,
            http_token: None,
            max_clients: 10_000,
            query_buffer_max: 1 << 30,
            client_buffers_max: 2 << 30,
            idle_timeout: None,
            reply_max: 256 << 20,
            // One core is left to the sync and background threads and to
            // the kernel's network work: on 2 cores, one worker served 98k
            // SET/s unpipelined where two served 73k (context switches).
            threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
            background: BackgroundOptions::default(),
            shutdown_grace: Duration::from_secs(10),
            repl_backlog_max: 64 << 20,
        }
    }
}

/// A password or token, read from a file and compared in constant time.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// Wraps `bytes`; an empty secret is refused.
    pub fn new(bytes: Vec<u8>) -> Result<Secret> {
        if bytes.is_empty() {
            return Err(Error::InvalidInput(
                "a password or token must not be empty".into(),
            ));
        }
        Ok(Secret(bytes))
    }

    /// Reads the secret from `path`: its bytes without one trailing newline.
    pub fn from_file(path: &Path) -> Result<Secret> {
        let mut bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        Secret::new(bytes).map_err(|_| {
            Error::InvalidInput(format!(
                "{} is empty; put the password or token in it",
                path.display()
            ))
        })
    }

    /// Whether `given` is the secret, in time that depends only on the
    /// secret's length (and not on where the bytes differ).
    pub fn matches(&self, given: &[u8]) -> bool {
        let mut same = (given.len() as u64).ct_eq(&(self.0.len() as u64));
        for (i, byte) in self.0.iter().enumerate() {
            same &= given.get(i).copied().unwrap_or(0).ct_eq(byte);
        }
        same.into()
    }
}

/// What a server did, for the line it logs at exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeSummary {
    /// How long it served.
    pub uptime: Duration,
    /// Connections it accepted.
    pub connections: u64,
    /// Commands it ran.
    pub commands: u64,
    /// Whether a failed write or sync made the store refuse writes.
    pub read_only: bool,
}

/// One connected RESP client, as `CLIENT LIST` shows it.
#[derive(Debug)]
pub(crate) struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub local: SocketAddr,
    pub created: Instant,
    /// Ms since the server started, at the client's last command.
    pub last_active_ms: AtomicU64,
    /// Index of the last command run, in the command table (`usize::MAX`: none).
    pub last_command: AtomicUsize,
    pub name: Mutex<Option<Vec<u8>>>,
    pub library: Mutex<(String, String)>,
    pub resp3: AtomicBool,
    pub kill: tokio::sync::Notify,
    pub killed: AtomicBool,
}

/// Background saves and rewrites started by `BGSAVE` / `BGREWRITEAOF`.
#[derive(Debug, Default)]
pub(crate) struct SaveState {
    pub bgsave_in_progress: AtomicBool,
    pub rewrite_in_progress: AtomicBool,
    pub last_bgsave_ok: AtomicBool,
    pub last_rewrite_ok: AtomicBool,
    /// Unix seconds of the last save that finished.
    pub last_save_s: AtomicU64,
    /// Writes since then.
    pub dirty: AtomicU64,
}

/// How the writes of a batch are made safe before its replies go out
/// (writes never wait inside the batch: `Store::batch_writes`).
pub(crate) enum Durability {
    /// `interval`, `never`: handed to the operating system in one write.
    Flush,
    /// `always` with one worker serving every connection, as
    /// redis-server's event loop does: the first connection of a turn to
    /// find its writes not durable syncs for all, on the worker. Handing
    /// each turn to a sync thread and back cost more than the worker's
    /// wait for the fdatasync: under `redis-benchmark -c 50 -t set` this
    /// did 64.0k SET/s where the sync thread did 55.1k (redis-server
    /// 58.3k). The price is redis-server's too: while a sync is slow,
    /// everything the worker serves waits for it.
    SyncOnWorker,
    /// `always` with several workers: on disk, by the sync thread.
    SyncThread(Arc<syncer::Syncer>),
}

impl Shared {
    /// Where writes are safe up to, as the policy asks (on disk under
    /// `always`, with the operating system otherwise).
    fn safe_position(&self) -> u64 {
        match self.durability.get() {
            Some(Durability::SyncOnWorker | Durability::SyncThread(_)) => {
                self.store.durable_position()
            }
            _ => self.store.flushed_position(),
        }
    }

    /// Makes the writes run so far safe as the sync policy asks; false if
    /// they could not be (a failed write or sync), and so must not be
    /// acknowledged.
    pub async fn writes_safe(&self) -> bool {
        let mine = self.store.write_position();
        if self.safe_position() >= mine {
            return true;
        }
        if self.store.is_poisoned() {
            return false;
        }
        let sync_here = match self.durability.get() {
            Some(Durability::SyncThread(syncer)) => return syncer.wait_for(mine).await,
            Some(Durability::SyncOnWorker) => true,
            _ => false,
        };
        // Let the other ready connections run their batches first, so
        // that one sync, or one write, covers all of them.
        tokio::task::yield_now().await;
        // Another connection's sync or write may have covered them
        // meanwhile (what is on disk stays safe whatever failed after).
        if self.safe_position() >= mine && (sync_here || !self.store.is_poisoned()) {
            return true;
        }
        if sync_here {
            !self.store.is_poisoned() && self.store.sync().is_ok()
        } else {
            self.store.flush_writes().is_ok()
        }
    }

    /// Before replies to reads go out: a read may have seen a write that
    /// is not safe yet (writes are visible once they run), so wait until
    /// it is, as Redis answers a turn's reads after that turn's fsync.
    /// Once the store is poisoned, writes that were never made safe stay
    /// visible until a restart, and reads are answered (documented).
    pub async fn reads_safe(&self) -> bool {
        if self.safe_position() >= self.store.write_position() || self.store.is_poisoned() {
            return true;
        }
        self.writes_safe().await || self.store.is_poisoned()
    }
}

/// Key count, live bytes and dead bytes, as counted for `/metrics`.
pub(crate) type Counted = (u64, u64, u64);

/// What every connection shares.
pub(crate) struct Shared {
    pub store: Store,
    pub options: ServeOptions,
    /// Transactions (MULTI/EXEC) and multi-key commands hold it exclusively;
    /// every other command shares it, so they see no half-done batch.
    pub gate: RwLock<()>,
    pub stats: stats::Stats,
    pub clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    pub next_client_id: AtomicU64,
    pub max_clients: AtomicUsize,
    /// Idle timeout in seconds (0: none), settable by `CONFIG SET timeout`.
    pub idle_timeout_s: AtomicU64,
    pub started: Instant,
    pub started_unix_ms: u64,
    pub saves: Arc<SaveState>,
    pub shutdown: tokio::sync::watch::Sender<bool>,
    pub resp_addr: OnceLock<SocketAddr>,
    pub http_addr: OnceLock<SocketAddr>,
    pub http_connections: AtomicU64,
    /// The keys clients WATCH, and the writes of them.
    pub watches: Arc<watch::Watches>,
    /// How a batch's writes are made safe before its replies go out.
    pub durability: OnceLock<Durability>,
    /// Key count, live and dead bytes for `/metrics`, and when counted.
    pub figures: Mutex<Option<(Instant, Counted)>>,
    /// This value's own `Arc`, for threads started by commands.
    pub this: OnceLock<std::sync::Weak<Shared>>,
    /// The replication stream and the replicas fed from it; every write
    /// holds its order (see replication.rs).
    pub replication: replication::Replication,
}

impl Shared {
    /// Ms since the server started.
    pub fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Asks every listener and connection to stop.
    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Whether clients must authenticate.
    pub fn needs_auth(&self) -> bool {
        self.options.password.is_some()
    }
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Refuses to expose the store beyond this machine without credentials.
fn check_exposure(options: &ServeOptions) -> Result<()> {
    if let Some(addr) = options.resp
        && !is_loopback(&addr)
        && options.password.is_none()
    {
        return Err(Error::InvalidInput(format!(
            "refusing to serve RESP on {addr}, which is not a loopback address, without a \
             password: give --requirepass-file FILE, or bind 127.0.0.1"
        )));
    }
    if let Some(addr) = options.http
        && !is_loopback(&addr)
        && (options.password.is_none() || options.http_token.is_none())
    {
        return Err(Error::InvalidInput(format!(
            "refusing to serve HTTP on {addr}, which is not a loopback address, without a \
             password and a bearer token: give --requirepass-file FILE and --http-token-file \
             FILE, or bind 127.0.0.1"
        )));
    }
    Ok(())
}

/// Serves `store` until SIGTERM, SIGINT or `SHUTDOWN`, then finishes the
/// commands in flight, closes the store (syncing it) and returns. `log`
/// receives the start-up line (with the addresses actually bound) and
/// per-connection errors.
pub fn run(
    store: Store,
    options: ServeOptions,
    log: Arc<dyn Fn(&str) + Send + Sync>,
) -> Result<ServeSummary> {
    check_exposure(&options)?;
    if options.resp.is_none() && options.http.is_none() {
        return Err(Error::InvalidInput(
            "nothing to serve: give --resp ADDR, --http ADDR or both".into(),
        ));
    }
    let max_clients = raise_open_file_limit(options.max_clients, &*log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.max(1))
        .thread_name("hoard-serve")
        .enable_all()
        .build()
        .map_err(|e| Error::io("start the server's runtime", store.dir(), e))?;
    // Built first: the store's active expiry tells it what it removed.
    let replication = replication::Replication::new(options.repl_backlog_max);
    store.start_background_with(options.background, Some(replication.expiry_listener()))?;
    // Under `interval` and `never`, a batch's writes reach the operating
    // system in one write, before its replies (see connection.rs).
    // Writes are acknowledged per batch (see `Durability`).
    store.batch_writes(true);
    let always = store.manifest().sync == crate::manifest::SyncPolicy::Always;
    let (shutdown, _) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared {
        started_unix_ms: store.now_ms(),
        store,
        max_clients: AtomicUsize::new(max_clients),
        idle_timeout_s: AtomicU64::new(options.idle_timeout.map_or(0, |d| d.as_secs().max(1))),
        options,
        gate: RwLock::new(()),
        stats: stats::Stats::new(commands::COMMANDS.len()),
        clients: Mutex::new(BTreeMap::new()),
        next_client_id: AtomicU64::new(1),
        started: Instant::now(),
        saves: Arc::new(SaveState {
            last_bgsave_ok: AtomicBool::new(true),
            last_rewrite_ok: AtomicBool::new(true),
            ..SaveState::default()
        }),
        shutdown,
        resp_addr: OnceLock::new(),
        http_addr: OnceLock::new(),
        http_connections: AtomicU64::new(0),
        watches: Arc::default(),
        durability: OnceLock::new(),
        figures: Mutex::new(None),
        this: OnceLock::new(),
        replication,
    });
    let _ = shared.this.set(Arc::downgrade(&shared));
    let durability = if always && shared.options.threads.max(1) == 1 {
        Durability::SyncOnWorker
    } else if always {
        let weak = Arc::downgrade(&shared);
        Durability::SyncThread(syncer::Syncer::start(
            shared.store.durable_position(),
            move || weak.upgrade(),
        ))
    } else {
        Durability::Flush
    };
    let _ = shared.durability.set(durability);
    let served = runtime.block_on(serve_until_shutdown(shared.clone(), log));
    runtime.shutdown_timeout(shared.options.shutdown_grace);
    let summary = ServeSummary {
        uptime: shared.started.elapsed(),
        connections: shared.stats.connections_received.load(Relaxed),
        commands: shared
            .stats
            .commands
            .iter()
            .map(|c| c.calls.load(Relaxed))
            .sum(),
        read_only: false,
    };
    if let Some(Durability::SyncThread(syncer)) = shared.durability.get() {
        syncer.stop();
    }
    // Background saves run on threads of their own; wait for them.
    let deadline = Instant::now() + shared.options.shutdown_grace;
    while (shared.saves.bgsave_in_progress.load(Relaxed)
        || shared.saves.rewrite_in_progress.load(Relaxed))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let shared = match Arc::try_unwrap(shared) {
        Ok(shared) => shared,
        Err(shared) => {
            // A command is still running past the grace period: make what
            // was acknowledged durable, and say the store was not closed.
            shared.store.sync()?;
            return Err(Error::Background(
                "a command was still running when the server stopped; the store was synced \
                 but not closed"
                    .into(),
            ));
        }
    };
    served?;
    let read_only = shared.store.is_poisoned();
    shared.store.close()?;
    Ok(ServeSummary {
        read_only,
        ..summary
    })
}

async fn serve_until_shutdown(
    shared: Arc<Shared>,
    log: Arc<dyn Fn(&str) + Send + Sync>,
) -> Result<()> {
    // The handlers go in before anything is bound or announced: a signal
    // that arrives once a client (or a script waiting for the start-up
    // line) can see the server must stop it cleanly, not kill it.
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| Error::io("install a SIGTERM handler", shared.store.dir(), e))?;
    let mut interrupt =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .map_err(|e| Error::io("install a SIGINT handler", shared.store.dir(), e))?;
    let mut listeners = Vec::new();
    if let Some(addr) = shared.options.resp {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| bind_error("RESP", addr, e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| bind_error("RESP", addr, e))?;
        let _ = shared.resp_addr.set(bound);
        listeners.push(tokio::spawn(connection::accept_loop(
            shared.clone(),
            listener,
            log.clone(),
        )));
    }
    if let Some(addr) = shared.options.http {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| bind_error("HTTP", addr, e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| bind_error("HTTP", addr, e))?;
        let _ = shared.http_addr.set(bound);
        listeners.push(tokio::spawn(http::accept_loop(
            shared.clone(),
            listener,
            log.clone(),
        )));
    }
    let manifest = shared.store.manifest();
    let mut line = format!(
        "hoard serve: pid {}, store {} ({}, sync {})",
        std::process::id(),
        shared.store.dir().display(),
        manifest.engine,
        manifest.sync
    );
    if let Some(addr) = shared.resp_addr.get() {
        line += &format!(", resp {addr}");
    }
    if let Some(addr) = shared.http_addr.get() {
        line += &format!(", http {addr}");
    }
    log(&line);
    crate::failpoint::pause("serve-announced");
    let pinger = {
        let shared = shared.clone();
        tokio::spawn(async move {
            // Expired keys go out as DELs at the pace active expiry
            // finds them; a PING every PING_EVERY.
            let mut every = tokio::time::interval(replication::EXPIRED_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_ping = Instant::now();
            loop {
                every.tick().await;
                shared.replication.stream_expired(&shared.store);
                if last_ping.elapsed() >= replication::PING_EVERY {
                    shared.replication.ping();
                    last_ping = Instant::now();
                }
            }
        })
    };
    listeners.push(pinger);

    let mut stop = shared.shutdown.subscribe();
    let reason = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
        _ = async { let _ = stop.wait_for(|stop| *stop).await; } => "SHUTDOWN",
    };
    shared.request_shutdown();
    for listener in &listeners {
        listener.abort();
    }
    // Connections finish the batch they are running, then close.
    let deadline = tokio::time::Instant::now() + shared.options.shutdown_grace;
    while shared.stats.connections_current.load(Relaxed) > 0
        || shared.http_connections.load(Relaxed) > 0
    {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    log(&format!("hoard serve: stopping ({reason})"));
    Ok(())
}

/// File descriptors kept for the store's files, listeners and the runtime.
const RESERVED_FDS: u64 = 64;

/// Raises the soft open-file limit toward what `max_clients` clients need
/// (as Redis does); returns how many clients the limit allows, saying so
/// on the log when that is fewer than asked.
fn raise_open_file_limit(max_clients: usize, log: &dyn Fn(&str)) -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let wanted = max_clients as u64 + RESERVED_FDS;
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    if current >= wanted {
        return max_clients;
    }
    let raised = limit.maximum.map_or(wanted, |hard| hard.min(wanted));
    let now = match setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(raised),
            maximum: limit.maximum,
        },
    ) {
        Ok(()) => raised,
        Err(_) => current,
    };
    if now >= wanted {
        return max_clients;
    }
    let allowed = now.saturating_sub(RESERVED_FDS).max(1) as usize;
    log(&format!(
        "hoard serve: the open-file limit is {now}, so at most {allowed} clients can connect, \
         not {max_clients} (raise it with `ulimit -n`)"
    ));
    allowed
}

fn bind_error(what: &str, addr: SocketAddr, e: std::io::Error) -> Error {
    let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
        " (another server holds it: stop it, or choose another port)"
    } else {
        ""
    };
    Error::Unsupported(format!("cannot listen for {what} on {addr}: {e}{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_only_itself() {
        let secret = Secret::new(b"hunter2".to_vec()).unwrap();
        assert!(secret.matches(b"hunter2"));
        assert!(!secret.matches(b"hunter"));
        assert!(!secret.matches(b"hunter22"));
        assert!(!secret.matches(b"Hunter2"));
        assert!(!secret.matches(b""));
        assert!(Secret::new(Vec::new()).is_err());
    }

    #[test]
    fn exposure_beyond_loopback_needs_credentials() {
        let mut options = ServeOptions {
            resp: Some("0.0.0.0:6379".parse().unwrap()),
            ..ServeOptions::default()
        };
        assert!(check_exposure(&options).is_err());
        options.password = Some(Secret::new(b"pw".to_vec()).unwrap());
        assert!(check_exposure(&options).is_ok());
        options.http = Some("[::]:8080".parse().unwrap());
        assert!(check_exposure(&options).is_err());
        options.http_token = Some(Secret::new(b"tok".to_vec()).unwrap());
        assert!(check_exposure(&options).is_ok());
        let local = ServeOptions {
            resp: Some("[::1]:6379".parse().unwrap()),
            http: Some("127.0.0.1:8080".parse().unwrap()),
            ..ServeOptions::default()
        };
        assert!(check_exposure(&local).is_ok());
    }
}
