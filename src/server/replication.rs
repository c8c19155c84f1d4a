//! `hoard serve` as a replication master for real Redis and Valkey
//! replicas: the replication stream, its backlog, full and partial syncs,
//! and the replicas' offsets.
//!
//! Every write of the server (RESP and HTTP) goes through `Replication::
//! order`, which holds one lock across the store write and its append to
//! the stream, so the stream's order is the store's order. Writes are
//! propagated as absolute operations: `SET key value [PXAT ms]`, `DEL key`,
//! `PERSIST key`; a replica applying them in order holds what the store
//! holds. Keys the store's active expiry removes follow as `DEL`s (Redis
//! replicas wait for their master's). The stream is kept in a bounded backlog (allocated when the
//! first replica arrives); each replica is fed from the backlog at its own
//! position, so a slow replica costs no memory beyond it, and one that
//! falls out of it is disconnected (it reconnects and syncs in full).
//!
//! A full sync notes the stream's offset, then writes an RDB file of the
//! store into an unlinked temporary file while writes go on, and sends
//! it; the replica loads it and applies the stream from that offset,
//! which brings every key to the store's state (see `full_sync_file`).

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use parking_lot::{Mutex, MutexGuard};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::resp::{self, Limits, Reply};

use super::commands::{Ctx, Out, err, printable};
use super::{ClientInfo, Shared};

/// How often the master sends PING down the stream, so replicas can tell
/// a live master from a dead link (Redis's `repl-ping-replica-period`).
pub(crate) const PING_EVERY: Duration = Duration::from_secs(10);
/// How often keys removed by active expiry are streamed as DELs.
pub(crate) const EXPIRED_EVERY: Duration = Duration::from_millis(100);
/// The most stream bytes handed to one replica's socket at a time.
const SEND_CHUNK: usize = 1 << 20;
/// A replica that reads nothing, or acknowledges nothing, for this long
/// is disconnected (Redis's `repl-timeout`).
const REPLICA_TIMEOUT: Duration = Duration::from_secs(60);

/// A replica's request to sync, as its connection made it.
#[derive(Debug, Clone)]
pub(crate) struct SyncRequest {
    /// PSYNC's replication ID and offset; `None` for the old SYNC (no
    /// `+FULLRESYNC` line, as `redis-cli --rdb` may use).
    pub psync: Option<(Vec<u8>, i64)>,
    /// The port the replica listens on (REPLCONF listening-port).
    pub port: u16,
}

/// The replication state shared by the server.
pub(crate) struct Replication {
    state: Mutex<State>,
    /// The stream's offset, for replica senders to wait on.
    grown: tokio::sync::watch::Sender<u64>,
    /// Keys the store's active expiry removed, to stream as DELs: Redis
    /// replicas never expire keys themselves, they wait for the master.
    expired: Arc<Expired>,
}

#[derive(Default)]
struct Expired {
    /// Set with the stream: before, nobody needs the keys.
    active: std::sync::atomic::AtomicBool,
    keys: Mutex<Vec<Vec<u8>>>,
}

struct State {
    /// 40 hex digits, new at every start: offsets are only meaningful
    /// within one run of the server.
    replid: String,
    /// Bytes ever added to the stream (Redis's `master_repl_offset`).
    offset: u64,
    /// The newest stream bytes, at most `backlog_max`; empty until a
    /// replica arrives.
    backlog: VecDeque<u8>,
    backlog_max: usize,
    active: bool,
    replicas: BTreeMap<u64, Replica>,
    /// Inside a command that changes several keys at once (EXEC, MSET,
    /// RENAME, ...): its writes go out between MULTI and EXEC.
    atomic: bool,
    /// MULTI has gone out for the current atomic command.
    multi_sent: bool,
}

struct Replica {
    ip: IpAddr,
    port: u16,
    state: &'static str,
    ack: u64,
    last_ack: Instant,
}

impl State {
    /// The offset of the oldest byte in the backlog.
    fn first_offset(&self) -> u64 {
        self.offset + 1 - self.backlog.len() as u64
    }

    fn append(&mut self, bytes: &[u8]) {
        self.backlog.extend(bytes);
        self.offset += bytes.len() as u64;
        let over = self.backlog.len().saturating_sub(self.backlog_max);
        self.backlog.drain(..over);
    }
}

impl Replication {
    /// No replicas yet; the backlog holds up to `backlog_max` bytes once
    /// one arrives.
    pub fn new(backlog_max: usize) -> Replication {
        Replication {
            state: Mutex::new(State {
                replid: new_replid(),
                offset: 0,
                backlog: VecDeque::new(),
                backlog_max: backlog_max.max(16 * 1024),
                active: false,
                replicas: BTreeMap::new(),
                atomic: false,
                multi_sent: false,
            }),
            grown: tokio::sync::watch::channel(0).0,
            expired: Arc::default(),
        }
    }

    /// The listener to give the store's background work, so the keys its
    /// active expiry removes reach the replicas.
    pub fn expiry_listener(&self) -> crate::ExpiredListener {
        let expired = self.expired.clone();
        Arc::new(move |keys: &[Vec<u8>]| {
            if expired.active.load(std::sync::atomic::Ordering::Relaxed) {
                expired.keys.lock().extend_from_slice(keys);
            }
        })
    }

    /// Streams a DEL for each key active expiry removed that is still
    /// missing: checked under the write order, so a key written again
    /// since is left alone (its SET reached the stream after the expiry).
    pub fn stream_expired(&self, store: &crate::Store) {
        let keys = std::mem::take(&mut *self.expired.keys.lock());
        if keys.is_empty() {
            return;
        }
        let mut order = self.order();
        for key in keys {
            if matches!(store.contains(&key), Ok(false)) {
                order.delete(&key);
            }
        }
    }

    /// Holds the write order: take it before a store write, and record
    /// the write through it, so the stream's order is the store's.
    pub fn order(&self) -> Order<'_> {
        Order {
            state: self.state.lock(),
            grown: &self.grown,
            appended: false,
        }
    }

    /// Appends a PING to the stream if replicas are connected.
    pub fn ping(&self) {
        let mut order = self.order();
        if !order.state.replicas.is_empty() {
            order.append(&[b"PING"]);
        }
    }

    /// Marks a command that changes several keys at once (run under the
    /// exclusive transaction gate, so one at a time): until the guard
    /// drops, its writes reach replicas wrapped in MULTI ... EXEC, so a
    /// replica's readers never see half of it. Nothing is sent for one
    /// that wrote nothing.
    pub fn atomic(&self) -> Atomic<'_> {
        self.state.lock().atomic = true;
        Atomic(self)
    }

    /// INFO's replication section, as `field` lines.
    pub fn info(&self, field: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
        let state = self.state.lock();
        field("role", &"master");
        field("connected_slaves", &state.replicas.len());
        for (i, replica) in state.replicas.values().enumerate() {
            field(
                &format!("slave{i}"),
                &format_args!(
                    "ip={},port={},state={},offset={},lag={}",
                    replica.ip,
                    replica.port,
                    replica.state,
                    replica.ack,
                    replica.last_ack.elapsed().as_secs()
                ),
            );
        }
        field("master_failover_state", &"no-failover");
        field("master_replid", &state.replid);
        field("master_replid2", &"0".repeat(40));
        field("master_repl_offset", &state.offset);
        field("second_repl_offset", &-1);
        field("repl_backlog_active", &u8::from(state.active));
        field("repl_backlog_size", &state.backlog_max);
        field(
            "repl_backlog_first_byte_offset",
            &if state.active {
                state.first_offset()
            } else {
                0
            },
        );
        field("repl_backlog_histlen", &state.backlog.len());
    }

    /// ROLE's reply: "master", the offset, and each replica's address and
    /// acknowledged offset.
    pub fn role(&self) -> Reply {
        let state = self.state.lock();
        let replicas = state
            .replicas
            .values()
            .map(|r| {
                Reply::Array(vec![
                    Reply::Bulk(r.ip.to_string().into_bytes()),
                    Reply::Bulk(r.port.to_string().into_bytes()),
                    Reply::Bulk(r.ack.to_string().into_bytes()),
                ])
            })
            .collect();
        Reply::Array(vec![
            Reply::Bulk(b"master".to_vec()),
            Reply::Integer(state.offset as i64),
            Reply::Array(replicas),
        ])
    }
}

/// The write order, held across one write and its propagation.
pub(crate) struct Order<'a> {
    state: MutexGuard<'a, State>,
    grown: &'a tokio::sync::watch::Sender<u64>,
    appended: bool,
}

impl Order<'_> {
    /// Whether writes are being recorded (a replica has connected).
    pub fn is_active(&self) -> bool {
        self.state.active
    }

    /// Records `SET key value [PXAT expiry_ms]`.
    pub fn set(&mut self, key: &[u8], value: &[u8], expiry_ms: Option<u64>) {
        if !self.state.active {
            return;
        }
        match expiry_ms {
            None => self.command(&[b"SET", key, value]),
            Some(at) => self.command(&[b"SET", key, value, b"PXAT", at.to_string().as_bytes()]),
        }
    }

    /// Records `DEL key`.
    pub fn delete(&mut self, key: &[u8]) {
        if self.state.active {
            self.command(&[b"DEL", key]);
        }
    }

    /// Records `PERSIST key`.
    pub fn persist(&mut self, key: &[u8]) {
        if self.state.active {
            self.command(&[b"PERSIST", key]);
        }
    }

    fn command(&mut self, args: &[&[u8]]) {
        if self.state.atomic && !self.state.multi_sent {
            self.state.multi_sent = true;
            self.append(&[b"MULTI"]);
        }
        self.append(args);
    }

    fn append(&mut self, args: &[&[u8]]) {
        let mut encoded = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
        encoded.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for arg in args {
            encoded.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            encoded.extend_from_slice(arg);
            encoded.extend_from_slice(b"\r\n");
        }
        self.state.append(&encoded);
        self.appended = true;
    }
}

impl Drop for Order<'_> {
    fn drop(&mut self) {
        if self.appended {
            self.grown.send_replace(self.state.offset);
        }
    }
}

/// An atomic command's span in the stream (see `Replication::atomic`).
pub(crate) struct Atomic<'a>(&'a Replication);

impl Drop for Atomic<'_> {
    fn drop(&mut self) {
        let mut order = self.0.order();
        order.state.atomic = false;
        if std::mem::take(&mut order.state.multi_sent) {
            order.append(&[b"EXEC"]);
        }
    }
}

/// A replication ID: 40 random hex digits.
fn new_replid() -> String {
    let mut bytes = [0u8; 20];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        // Unique enough without /dev/urandom: time and pid, hashed.
        use std::hash::{BuildHasher, Hasher};
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            h.write_u32(std::process::id());
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a new replica starts: a full sync (an RDB file of the store, and
/// the offset after which the stream is to be applied over it), or the
/// backlog from an offset.
enum Start {
    Full {
        rdb: std::fs::File,
        len: u64,
        offset: u64,
    },
    Continue {
        from: u64,
    },
}

/// Serves a replica on `stream` after its PSYNC (or SYNC) until it
/// disconnects, falls out of the backlog, stops acknowledging, or the
/// server stops. `buf` holds what the replica sent after PSYNC.
pub(crate) async fn serve_replica(
    shared: &Arc<Shared>,
    mut stream: TcpStream,
    client: Arc<ClientInfo>,
    request: SyncRequest,
    mut buf: BytesMut,
) -> std::io::Result<()> {
    let replication = &shared.replication;
    let start = {
        let mut state = replication.state.lock();
        // The stream holds every write only from its first activation:
        // before that, no offset but a full sync's can be continued from.
        let was_active = std::mem::replace(&mut state.active, true);
        replication
            .expired
            .active
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let from = request.psync.as_ref().and_then(|(id, offset)| {
            let offset = u64::try_from(*offset).ok()?;
            (was_active
                && id == state.replid.as_bytes()
                && offset >= state.first_offset()
                && offset <= state.offset + 1)
                .then_some(offset)
        });
        state.replicas.insert(
            client.id,
            Replica {
                ip: client.addr.ip(),
                port: request.port,
                state: if from.is_some() {
                    "online"
                } else {
                    "wait_bgsave"
                },
                ack: from.map_or(0, |f| f - 1),
                last_ack: Instant::now(),
            },
        );
        from.map(|from| Start::Continue { from })
    };
    // Whatever happens from here, the replica is forgotten when it ends.
    struct Registered<'a>(&'a Replication, u64);
    impl Drop for Registered<'_> {
        fn drop(&mut self) {
            self.0.state.lock().replicas.remove(&self.1);
        }
    }
    let _registered = Registered(replication, client.id);
    let mut shutdown = shared.shutdown.subscribe();
    let start = match start {
        Some(start) => start,
        None => {
            let shared = shared.clone();
            let built = tokio::task::spawn_blocking(move || full_sync_file(&shared));
            tokio::select! {
                built = built => built
                    .map_err(|e| std::io::Error::other(format!("full sync: {e}")))?
                    .map_err(|e| std::io::Error::other(format!("full sync: {e}")))?,
                _ = shutdown.changed() => return Ok(()),
                _ = client.kill.notified() => return Ok(()),
            }
        }
    };
    let replid = replication.state.lock().replid.clone();
    let mut next = match start {
        Start::Continue { from } => {
            let header = format!("+CONTINUE {replid}\r\n");
            send(&mut stream, header.as_bytes(), &client, &mut shutdown).await?;
            from
        }
        Start::Full { rdb, len, offset } => {
            let mut header = String::new();
            if request.psync.is_some() {
                header = format!("+FULLRESYNC {replid} {offset}\r\n");
            }
            header += &format!("${len}\r\n");
            send(&mut stream, header.as_bytes(), &client, &mut shutdown).await?;
            // Sent a chunk at a time, so a replica that stops reading is
            // noticed by the same timeout as in the stream.
            let mut rdb = tokio::fs::File::from_std(rdb);
            let mut left = len;
            let mut block = vec![0; SEND_CHUNK];
            while left > 0 {
                let want = block.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n = tokio::io::AsyncReadExt::read(&mut rdb, &mut block[..want]).await?;
                if n == 0 {
                    return Err(std::io::Error::other("the full sync file came out short"));
                }
                send(&mut stream, &block[..n], &client, &mut shutdown).await?;
                left -= n as u64;
            }
            if let Some(replica) = replication.state.lock().replicas.get_mut(&client.id) {
                replica.state = "online";
                replica.last_ack = Instant::now();
            }
            offset + 1
        }
    };
    let mut grown = replication.grown.subscribe();
    let mut chunk = Vec::new();
    let mut check = tokio::time::interval(Duration::from_secs(1));
    loop {
        chunk.clear();
        {
            let state = replication.state.lock();
            if next < state.first_offset() {
                return Err(std::io::Error::other(
                    "the replica fell behind the replication backlog; it will sync again in full",
                ));
            }
            let from = (next - state.first_offset()) as usize;
            let to = state.backlog.len().min(from + SEND_CHUNK);
            let (front, back) = state.backlog.as_slices();
            if from < front.len() {
                chunk.extend_from_slice(&front[from..to.min(front.len())]);
            }
            if to > front.len() {
                chunk.extend_from_slice(&back[from.saturating_sub(front.len())..to - front.len()]);
            }
        }
        if !chunk.is_empty() {
            send(&mut stream, &chunk, &client, &mut shutdown).await?;
            next += chunk.len() as u64;
            continue;
        }
        if *shutdown.borrow() {
            return Ok(());
        }
        tokio::select! {
            changed = grown.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                // Let the connections that are ready run first: their
                // writes then leave in this link's next write, not one
                // write (and one wake-up of the replica) each.
                tokio::task::yield_now().await;
            }
            ready = stream.readable() => {
                ready?;
                buf.reserve(4096);
                match stream.try_read_buf(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(_) => acknowledge(replication, client.id, &mut buf)?,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            _ = check.tick() => {
                let silent = replication
                    .state
                    .lock()
                    .replicas
                    .get(&client.id)
                    .map(|r| r.last_ack.elapsed());
                if silent.is_some_and(|s| s > REPLICA_TIMEOUT) {
                    return Err(std::io::Error::other(
                        "the replica sent no acknowledgement for 60 s (Redis's repl-timeout)",
                    ));
                }
            }
            _ = shutdown.changed() => {}
            _ = client.kill.notified() => return Ok(()),
        }
    }
}

/// Writes `bytes` to the replica, giving up when the server stops, the
/// client is killed, or the replica does not read for `REPLICA_TIMEOUT`.
async fn send(
    stream: &mut TcpStream,
    bytes: &[u8],
    client: &ClientInfo,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    tokio::select! {
        written = tokio::time::timeout(REPLICA_TIMEOUT, stream.write_all(bytes)) => {
            written.map_err(|_| std::io::Error::other("the replica stopped reading for 60 s"))?
        }
        _ = shutdown.changed() => Err(std::io::Error::other("the server is stopping")),
        _ = client.kill.notified() => Err(std::io::Error::other("killed")),
    }
}

/// Writes an RDB file of the store into an unlinked temporary file (so a
/// store larger than memory can be synced) and returns it with the
/// stream offset it is to be continued from.
///
/// The offset is taken first, under the write order, and the file is
/// written after without holding it: writes go on meanwhile. The file
/// then holds each key as it was at some moment after the offset, and
/// the stream from the offset on replays every later write; since every
/// propagated write is absolute (SET with PXAT, DEL) or idempotent
/// (PERSIST), the replica ends as the store is.
fn full_sync_file(shared: &Shared) -> crate::Result<Start> {
    let offset = shared.replication.order().state.offset;
    let mut rdb = crate::fs::unlinked_temp_file("sync")?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, &rdb);
    crate::transfer::export_rdb(&shared.store, b"", &mut out)?;
    drop(out);
    let scratch = "the full sync's temporary file";
    let len = std::io::Seek::stream_position(&mut rdb)
        .map_err(|e| crate::Error::io("seek", scratch, e))?;
    std::io::Seek::rewind(&mut rdb).map_err(|e| crate::Error::io("seek", scratch, e))?;
    Ok(Start::Full { rdb, len, offset })
}

/// Reads what a replica sent: `REPLCONF ACK offset [FACK offset]` updates
/// its offset; anything else is ignored, as Redis ignores it.
fn acknowledge(replication: &Replication, id: u64, buf: &mut BytesMut) -> std::io::Result<()> {
    loop {
        match resp::parse(buf, &Limits::AUTHENTICATED) {
            Ok(Some(request)) => {
                buf.advance(request.consumed);
                let args = &request.args;
                if args.len() >= 3
                    && args[0].eq_ignore_ascii_case(b"REPLCONF")
                    && args[1].eq_ignore_ascii_case(b"ACK")
                    && let Some(offset) = std::str::from_utf8(&args[2])
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                    && let Some(replica) = replication.state.lock().replicas.get_mut(&id)
                {
                    replica.ack = offset;
                    replica.last_ack = Instant::now();
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(std::io::Error::other(format!("from the replica: {e}"))),
        }
    }
}

// The commands.

/// PSYNC replid offset: the connection becomes the replica's link once
/// its earlier replies are written (connection.rs hands it over).
pub(crate) fn psync(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let offset = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| err("value is not an integer or out of range"))?;
    ctx.session.sync = Some(SyncRequest {
        psync: Some((args[1].clone(), offset)),
        port: ctx.session.replica_port,
    });
    // No reply here: +FULLRESYNC or +CONTINUE comes from the link.
    Err(Reply::Error(String::new()))
}

/// SYNC: a full sync without the +FULLRESYNC line.
pub(crate) fn sync(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    ctx.session.sync = Some(SyncRequest {
        psync: None,
        port: ctx.session.replica_port,
    });
    Err(Reply::Error(String::new()))
}

/// REPLCONF option value [option value ...], as a replica sends it
/// before PSYNC; ACK and GETACK get no reply, as in Redis.
pub(crate) fn replconf(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    if args.len().is_multiple_of(2) {
        return Err(err("syntax error"));
    }
    for pair in args[1..].chunks(2) {
        let (option, value) = (&pair[0], &pair[1]);
        match option.to_ascii_lowercase().as_slice() {
            b"listening-port" => {
                ctx.session.replica_port = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| err("value is not an integer or out of range"))?;
            }
            b"ack" | b"getack" | b"fack" => return Err(Reply::Error(String::new())),
            b"ip-address" | b"capa" | b"rdb-only" | b"rdb-filter-only" => {}
            _ => {
                return Err(err(format_args!(
                    "Unrecognized REPLCONF option: {}",
                    printable(option, 128)
                )));
            }
        }
    }
    Ok(Reply::ok())
}

pub(crate) fn role(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    Ok(ctx.shared.replication.role())
}

/// REPLICAOF NO ONE is answered (hoard is a master already); hoard does
/// not replicate from another server.
pub(crate) fn replicaof(_ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    if args[1].eq_ignore_ascii_case(b"no") && args[2].eq_ignore_ascii_case(b"one") {
        return Ok(Reply::ok());
    }
    Err(err(
        "hoard serve is a replication master only: make Redis or Valkey a replica of it \
         (REPLICAOF on their side), not the other way round",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_keeps_the_newest_bytes_and_their_offsets() {
        let replication = Replication::new(0);
        // Nothing is recorded before a replica activates the stream.
        replication.order().set(b"k", b"v", None);
        assert_eq!(replication.state.lock().offset, 0);
        replication.state.lock().active = true;
        let mut order = replication.order();
        order.set(b"k", b"v", Some(5));
        drop(order);
        let state = replication.state.lock();
        let expected = b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$1\r\n5\r\n";
        assert_eq!(state.offset, expected.len() as u64);
        assert_eq!(state.first_offset(), 1);
        assert_eq!(state.backlog.iter().copied().collect::<Vec<u8>>(), expected);
        drop(state);
        for _ in 0..10_000 {
            replication.order().delete(b"some key");
        }
        let state = replication.state.lock();
        assert_eq!(state.backlog.len(), 16 * 1024);
        assert_eq!(state.first_offset(), state.offset + 1 - 16 * 1024);
        assert_eq!(state.replid.len(), 40);
    }
}
