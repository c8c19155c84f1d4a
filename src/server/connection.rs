//! RESP connections: accept, then for each client read into its buffer,
//! parse every complete command there (pipelining), run the batch, and
//! write its replies with one write.
//!
//! Memory per client is bounded: the query buffer by `query_buffer_max`
//! (and all of them together by `client_buffers_max`), the replies of a
//! batch by flushing once they pass `FLUSH_AT`, and an idle client holds
//! no buffer at all (it waits for readability before one is allocated).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::resp::{self, Limits, Reply};

use super::commands::{self, Session};
use super::{ClientInfo, Shared};

/// Replies buffered past this many bytes are written before the batch goes on.
const FLUSH_AT: usize = 64 * 1024;
/// Commands run per batch at most, so one client cannot hold a thread long.
const BATCH_MAX: usize = 1024;
/// Bytes read at a time into a client's buffer.
const READ_CHUNK: usize = 16 * 1024;

/// Accepts RESP clients until the task is aborted.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    log: Arc<dyn Fn(&str) + Send + Sync>,
) {
    loop {
        let (stream, addr) = accept(&listener, &*log, "RESP").await;
        shared.stats.connections_received.fetch_add(1, Relaxed);
        let current = shared.stats.connections_current.fetch_add(1, Relaxed);
        if current >= shared.max_clients.load(Relaxed) as u64 {
            shared.stats.connections_current.fetch_sub(1, Relaxed);
            shared.stats.connections_rejected.fetch_add(1, Relaxed);
            tokio::spawn(refuse(stream));
            continue;
        }
        let shared = shared.clone();
        let log = log.clone();
        tokio::spawn(async move {
            let local = stream.local_addr().unwrap_or(addr);
            let client = register(&shared, addr, local);
            if let Err(e) = serve_client(&shared, stream, client.clone()).await {
                log(&format!("hoard serve: client {} ({addr}): {e}", client.id));
            }
            shared
                .clients
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&client.id);
            shared.stats.connections_current.fetch_sub(1, Relaxed);
        });
    }
}

/// The next connection of `listener`. A failure (out of file
/// descriptors, most likely) is logged and retried after a pause.
pub(crate) async fn accept(
    listener: &TcpListener,
    log: &(dyn Fn(&str) + Send + Sync),
    what: &str,
) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                log(&format!("hoard serve: {what} accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn refuse(mut stream: TcpStream) {
    let _ = stream
        .write_all(b"-ERR max number of clients reached\r\n")
        .await;
}

fn register(shared: &Shared, addr: SocketAddr, local: SocketAddr) -> Arc<ClientInfo> {
    let client = Arc::new(ClientInfo {
        id: shared.next_client_id.fetch_add(1, Relaxed),
        addr,
        local,
        created: Instant::now(),
        last_active_ms: AtomicU64::new(shared.uptime_ms()),
        last_command: AtomicUsize::new(usize::MAX),
        name: Default::default(),
        library: Default::default(),
        resp3: AtomicBool::new(false),
        kill: tokio::sync::Notify::new(),
        killed: AtomicBool::new(false),
    });
    shared
        .clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(client.id, client.clone());
    client
}

/// The bytes of client buffers this connection has counted against the
/// server's budget; released when the connection ends.
struct BufferBudget<'a> {
    shared: &'a Shared,
    counted: usize,
}

impl BufferBudget<'_> {
    /// Counts `capacity` bytes for this client; false when that passes the
    /// server's total budget.
    fn set(&mut self, capacity: usize) -> bool {
        let total = &self.shared.stats.client_buffer_bytes;
        if capacity > self.counted {
            let now = total.fetch_add((capacity - self.counted) as u64, Relaxed)
                + (capacity - self.counted) as u64;
            self.counted = capacity;
            now <= self.shared.options.client_buffers_max as u64
        } else {
            total.fetch_sub((self.counted - capacity) as u64, Relaxed);
            self.counted = capacity;
            true
        }
    }
}

impl Drop for BufferBudget<'_> {
    fn drop(&mut self) {
        self.set(0);
    }
}

async fn serve_client(
    shared: &Arc<Shared>,
    mut stream: TcpStream,
    client: Arc<ClientInfo>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut session = Session::new(client.clone(), shared);
    let mut shutdown = shared.shutdown.subscribe();
    let mut budget = BufferBudget { shared, counted: 0 };
    let mut buf = BytesMut::new();
    let mut out: Vec<u8> = Vec::new();
    let mut batch: VecDeque<Vec<Vec<u8>>> = VecDeque::new();
    loop {
        // Take every complete command in the buffer.
        let limits = if session.authenticated {
            Limits::AUTHENTICATED
        } else {
            Limits::UNAUTHENTICATED
        };
        let mut parse_error = None;
        while batch.len() < BATCH_MAX {
            match resp::parse(&buf, &limits) {
                Ok(Some(request)) => {
                    buf.advance(request.consumed);
                    if !request.args.is_empty() {
                        batch.push_back(request.args);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    parse_error = Some(e);
                    break;
                }
            }
            // Before authentication, one command at a time: AUTH decides
            // the limits for the rest.
            if !session.authenticated && !batch.is_empty() {
                break;
            }
        }
        if !batch.is_empty() {
            let (back, closing) = run_batch(shared, session, batch, out).await;
            (session, batch, out) = back;
            // The batch's writes are safe (on disk under `always`, with the
            // operating system otherwise) before any reply says they happened.
            let safe = if std::mem::take(&mut session.wrote) {
                shared.writes_safe().await
            } else {
                shared.reads_safe().await
            };
            if !safe {
                // Nothing of this batch may be acknowledged: close without
                // replying. The store now refuses writes (MISCONF).
                return Err(std::io::Error::other(
                    "a write or sync failed: closing without replies",
                ));
            }
            shared
                .stats
                .net_output_bytes
                .fetch_add(out.len() as u64, Relaxed);
            // Let every other ready client run its batch first, so that
            // the replies go out in a burst, as redis-server's do from
            // `beforeSleep`. Written one at a time between reads, each
            // reply woke a client that had gone back to sleep: on a
            // 2-core VM that wake-up (an IPI, a VM exit) was 15% of the
            // server's time under `redis-benchmark -P 16`, and 4% now.
            // A lone client has no one to wait for, and a full buffer
            // gains nothing from company: those replies go at once.
            if shared.stats.connections_current.load(Relaxed) > 1 && out.len() < FLUSH_AT {
                tokio::task::yield_now().await;
            }
            stream.write_all(&out).await?;
            if let Some(request) = session.sync.take() {
                drop(budget);
                return super::replication::serve_replica(shared, stream, client, request, buf)
                    .await;
            }
            if out.capacity() > FLUSH_AT * 2 {
                out = Vec::new();
            } else {
                out.clear();
            }
            if closing {
                return Ok(());
            }
            // More may be whole in the buffer already: `parse` decides.
            if !batch.is_empty() || parse_error.is_none() && !buf.is_empty() {
                continue;
            }
        }
        if let Some(e) = parse_error {
            shared.stats.protocol_errors.fetch_add(1, Relaxed);
            shared.stats.error_replies.fetch_add(1, Relaxed);
            Reply::Error(format!("ERR {e}")).encode(session.protocol, &mut out);
            stream.write_all(&out).await?;
            return Ok(());
        }
        if *shutdown.borrow() {
            return Ok(());
        }
        // Bound what this client may make the server hold.
        if buf.len() >= shared.options.query_buffer_max {
            return close_for_limit(shared, &mut stream, &session, "query buffer limit").await;
        }
        if buf.is_empty() && buf.capacity() > READ_CHUNK * 4 {
            buf = BytesMut::new();
        }
        // Wait for input without holding a buffer, then read.
        let idle_s = shared.idle_timeout_s.load(Relaxed);
        let idle = async {
            if idle_s == 0 {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(Duration::from_secs(idle_s)).await
            }
        };
        tokio::select! {
            ready = stream.readable() => ready?,
            _ = shutdown.changed() => return Ok(()),
            _ = client.kill.notified() => return Ok(()),
            _ = idle => return Ok(()),
        }
        if client.killed.load(Relaxed) {
            return Ok(());
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK.max(buf.len().min(1 << 20)));
        }
        if !budget.set(buf.capacity()) && buf.len() > READ_CHUNK {
            return close_for_limit(shared, &mut stream, &session, "total client buffer budget")
                .await;
        }
        match read_drained(&stream, &mut buf) {
            Ok(Some(n)) => {
                shared.stats.net_input_bytes.fetch_add(n as u64, Relaxed);
            }
            Ok(None) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Reads what the socket holds into `buf`'s spare room: the bytes read
/// (0 when none were waiting), or `None` at the end of the stream.
///
/// A read that leaves room in the buffer emptied the socket's queue (a
/// TCP receive copies until the queue or the buffer runs out), so it also
/// marks the socket not ready, as a second read failing with `WouldBlock`
/// would. That saves the second read: every batch cost two `recvfrom`s,
/// one of them empty, and now costs one; the server's CPU per request
/// fell 6% under `redis-benchmark -P 1` (10.15-10.28 -> 9.30-9.68 us, 3
/// rounds) and about 3% under `-P 16`. Tokio clears the mark only if no
/// readiness event came in since this read began (`TcpStream::try_io`),
/// so data arriving meanwhile still wakes the connection. (TCP urgent
/// data, which no Redis client sends, can end a read early; the sender's
/// own connection then waits for its next bytes.)
fn read_drained(stream: &TcpStream, buf: &mut BytesMut) -> std::io::Result<Option<usize>> {
    let room = buf.capacity() - buf.len();
    let mut got = 0;
    let read = stream.try_io(tokio::io::Interest::READABLE, || {
        got = stream.try_read_buf(buf)?;
        if got > 0 && got < room {
            Err(std::io::ErrorKind::WouldBlock.into())
        } else {
            Ok(got)
        }
    });
    match read {
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Some(got)),
        Err(e) => Err(e),
    }
}

async fn close_for_limit(
    shared: &Shared,
    stream: &mut TcpStream,
    session: &Session,
    limit: &str,
) -> std::io::Result<()> {
    shared.stats.protocol_errors.fetch_add(1, Relaxed);
    let mut out = Vec::new();
    Reply::Error(format!(
        "ERR closing the connection: it passed the server's {limit}"
    ))
    .encode(session.protocol, &mut out);
    stream.write_all(&out).await
}

type Batch = VecDeque<Vec<Vec<u8>>>;

/// Runs the batch: on this worker while no command may block, the rest on
/// the blocking pool. Returns the state back, and whether to close.
async fn run_batch(
    shared: &Arc<Shared>,
    mut session: Session,
    mut batch: Batch,
    mut out: Vec<u8>,
) -> ((Session, Batch, Vec<u8>), bool) {
    run_some(shared, &mut session, &mut batch, &mut out, false);
    if !batch.is_empty() && out.len() < FLUSH_AT && !session.close {
        let shared = shared.clone();
        let joined = tokio::task::spawn_blocking(move || {
            run_some(&shared, &mut session, &mut batch, &mut out, true);
            (session, batch, out)
        })
        .await;
        match joined {
            Ok(back) => {
                let closing = back.0.close;
                return (back, closing);
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    let closing = session.close;
    ((session, batch, out), closing)
}

/// Lets the store start reading what the GETs and SETs at the front of a
/// pipelined batch will need (a SET probes the keydir for its key as a
/// GET does; the old record asked for with it is a few wasted lines), so
/// their memory reads overlap.
fn prefetch_keys(shared: &Shared, batch: &Batch) {
    // On the stack: collected into a Vec, the keys cost an allocation and
    // two reallocations per batch (7% of the instructions of pipelined
    // GETs on the memory engine).
    let mut keys: [&[u8]; PREFETCH_LOOKAHEAD] = [&[]; PREFETCH_LOOKAHEAD];
    let mut count = 0;
    for args in batch.iter().take(PREFETCH_LOOKAHEAD) {
        if (args.len() == 2 && args[0].eq_ignore_ascii_case(b"GET"))
            || (args.len() >= 3 && args[0].eq_ignore_ascii_case(b"SET"))
        {
            keys[count] = &args[1];
            count += 1;
        }
    }
    if count > 1 {
        shared.store.prefetch(&keys[..count]);
    }
}

/// Replies past this size restart the clock of the next command (see `commands::run`).
const LAP_RESET_BYTES: usize = 16 * 1024;

/// Commands at the front of a batch whose GETs and SETs are prefetched together.
const PREFETCH_LOOKAHEAD: usize = 16;

/// Runs commands off the front of `batch` until it is empty, the replies
/// pass `FLUSH_AT`, the session closes, or (unless `may_block`) the next
/// command might block.
fn run_some(
    shared: &Shared,
    session: &mut Session,
    batch: &mut Batch,
    out: &mut Vec<u8>,
    may_block: bool,
) {
    prefetch_keys(shared, batch);
    session.lap = Instant::now();
    while let Some(args) = batch.front() {
        let index = commands::lookup(&args[0]);
        if !may_block && commands::may_block(shared, session, index) {
            return;
        }
        let args = batch.pop_front().expect("a command at the front");
        let reply = match commands::execute(shared, session, index, args, !may_block) {
            Ok(reply) => reply,
            Err(args) => {
                // The gate is taken: the rest of the batch runs where it may wait.
                batch.push_front(args);
                return;
            }
        };
        let before = out.len();
        match &reply {
            // SHUTDOWN closes without a reply.
            Reply::Error(text) if text.is_empty() => {}
            Reply::Error(_) => {
                shared.stats.error_replies.fetch_add(1, Relaxed);
                reply.encode(session.protocol, out);
            }
            _ => reply.encode(session.protocol, out),
        }
        if out.len() - before > LAP_RESET_BYTES {
            // Copying a large value out is not the next command's time.
            session.lap = Instant::now();
        }
        // After PSYNC the connection is a replica's link: what follows
        // in its buffer is not commands to run.
        if session.close || session.sync.is_some() {
            batch.clear();
            return;
        }
        if out.len() >= FLUSH_AT {
            return;
        }
    }
}
