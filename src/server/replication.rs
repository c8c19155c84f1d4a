//! `hoard serve` as a replication master for real Redis and Valkey
//! replicas: the replication stream, its backlog, full and partial syncs,
//! and the replicas' offsets.
//!
//! Every write of the server (RESP and HTTP) goes through `Replication::
//! order`, which holds one lock across the store write and its append to
//! the stream, so the stream's order is the store's order. Writes are
//! propagated as absolute operations: `SET key value [PXAT ms]`, `DEL key`,
//! `PERSIST key`; a replica applying them in order holds what the store
//! holds. The stream is kept in a bounded backlog (allocated when the
//! first replica arrives); each replica is fed from the backlog at its own
//! position, so a slow replica costs no memory beyond it, and one that
//! falls out of it is disconnected (it reconnects and syncs in full).
//!
//! A full sync takes the lock, writes an RDB file of the whole store into
//! memory and notes the stream's offset, then lets writes go on: the
//! replica loads the file and continues from that offset. Writes wait
//! while the file is built (about 1 s per million keys); reads do not.

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
/// The most stream bytes handed to one replica's socket at a time.
const SEND_CHUNK: usize = 1 << 20;

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
            }),
            grown: tokio::sync::watch::channel(0).0,
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
            order.command(&[b"PING"]);
        }
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

/// Where a new replica starts: a full sync (the RDB file and the offset
/// it stands for), or the backlog from an offset.
enum Start {
    Full { rdb: Vec<u8>, offset: u64 },
    Continue { from: u64 },
}

/// Serves a replica on `stream` after its PSYNC (or SYNC) until it
/// disconnects, falls out of the backlog, or the server stops. `buf`
/// holds what the replica sent after PSYNC.
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
        state.active = true;
        let from = request.psync.as_ref().and_then(|(id, offset)| {
            let offset = u64::try_from(*offset).ok()?;
            (id == state.replid.as_bytes()
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
    let start = match start {
        Some(start) => start,
        None => {
            let shared = shared.clone();
            tokio::task::spawn_blocking(move || full_sync_snapshot(&shared))
                .await
                .map_err(|e| std::io::Error::other(format!("full sync: {e}")))?
                .map_err(|e| std::io::Error::other(format!("full sync: {e}")))?
        }
    };
    let replid = replication.state.lock().replid.clone();
    let mut next = match start {
        Start::Continue { from } => {
            stream
                .write_all(format!("+CONTINUE {replid}\r\n").as_bytes())
                .await?;
            from
        }
        Start::Full { rdb, offset } => {
            if request.psync.is_some() {
                stream
                    .write_all(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes())
                    .await?;
            }
            stream
                .write_all(format!("${}\r\n", rdb.len()).as_bytes())
                .await?;
            stream.write_all(&rdb).await?;
            if let Some(replica) = replication.state.lock().replicas.get_mut(&client.id) {
                replica.state = "online";
            }
            offset + 1
        }
    };
    let mut grown = replication.grown.subscribe();
    let mut shutdown = shared.shutdown.subscribe();
    let mut chunk = Vec::new();
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
            chunk.extend(state.backlog.range(from..to));
        }
        if !chunk.is_empty() {
            stream.write_all(&chunk).await?;
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
            _ = shutdown.changed() => {}
            _ = client.kill.notified() => return Ok(()),
        }
    }
}

/// Builds the RDB file of the whole store under the write order, so it
/// stands exactly for the stream's offset.
fn full_sync_snapshot(shared: &Shared) -> crate::Result<Start> {
    let order = shared.replication.order();
    let mut rdb = Vec::new();
    crate::transfer::export_rdb(&shared.store, b"", &mut rdb)?;
    let offset = order.state.offset;
    drop(order);
    Ok(Start::Full { rdb, offset })
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
