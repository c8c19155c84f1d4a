//! The command table and the dispatcher: lookup, arity, authentication,
//! MULTI/EXEC/WATCH, the transaction gate, statistics. Every command is one
//! row of `COMMANDS`; `COMMAND INFO`, `COMMAND DOCS` and INFO's
//! commandstats are generated from the rows, so they cannot drift.

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use crate::error::Error;
use crate::resp::{Protocol, Reply};

use super::{ClientInfo, Shared, admin, keyspace, replication};

/// A command's result: `Err` carries an error reply, so handlers use `?`.
pub(crate) type Out = std::result::Result<Reply, Reply>;

/// Flags of a command (Redis's names where Redis has one).
pub(crate) mod flag {
    /// Changes the data set.
    pub const WRITE: u16 = 1;
    /// Only reads the data set.
    pub const READONLY: u16 = 1 << 1;
    /// O(1) or O(log n).
    pub const FAST: u16 = 1 << 2;
    /// May take long (whole-store scans, saves): runs off the event loop.
    pub const SLOW: u16 = 1 << 3;
    /// Allowed before authentication.
    pub const NO_AUTH: u16 = 1 << 4;
    /// Runs at once inside MULTI instead of being queued.
    pub const IMMEDIATE: u16 = 1 << 5;
    /// Holds the transaction gate exclusively (touches several keys atomically).
    pub const EXCLUSIVE: u16 = 1 << 6;
    /// Administrative (Redis's `admin`).
    pub const ADMIN: u16 = 1 << 7;
    /// Changes only the connection.
    pub const CONNECTION: u16 = 1 << 8;
    /// Refused inside MULTI (Redis's `no-multi`).
    pub const NO_MULTI: u16 = 1 << 9;
}

/// One command.
pub(crate) struct Spec {
    /// Lowercase name.
    pub name: &'static str,
    /// Redis's arity: the argument count with the name; negative: at least.
    pub arity: i32,
    pub flags: u16,
    /// Position of the first key, the last (-1: the last argument), and the step.
    pub keys: (i32, i32, i32),
    /// Redis's group (`string`, `generic`, `server`, `connection`, `transactions`).
    pub group: &'static str,
    pub summary: &'static str,
    pub run: fn(&mut Ctx<'_>, &[Vec<u8>]) -> Out,
}

use flag::*;

macro_rules! spec {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $group:literal, $summary:literal, $run:path) => {
        Spec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: $keys,
            group: $group,
            summary: $summary,
            run: $run,
        }
    };
}

const NOKEYS: (i32, i32, i32) = (0, 0, 0);
const KEY1: (i32, i32, i32) = (1, 1, 1);
const KEY12: (i32, i32, i32) = (1, 2, 1);
const ALLKEYS: (i32, i32, i32) = (1, -1, 1);
const PAIRS: (i32, i32, i32) = (1, -1, 2);

/// Every command the server answers.
pub(crate) static COMMANDS: &[Spec] = &[
    // Strings.
    spec!(
        "get",
        2,
        READONLY | FAST,
        KEY1,
        "string",
        "Returns the string value of a key.",
        keyspace::get
    ),
    spec!(
        "set",
        -3,
        WRITE,
        KEY1,
        "string",
        "Sets the string value of a key, with options.",
        keyspace::set
    ),
    spec!(
        "setex",
        4,
        WRITE,
        KEY1,
        "string",
        "Sets a value and its expiry in seconds.",
        keyspace::setex
    ),
    spec!(
        "psetex",
        4,
        WRITE,
        KEY1,
        "string",
        "Sets a value and its expiry in milliseconds.",
        keyspace::psetex
    ),
    spec!(
        "setnx",
        3,
        WRITE | FAST,
        KEY1,
        "string",
        "Sets a value only if the key does not exist.",
        keyspace::setnx
    ),
    spec!(
        "getset",
        3,
        WRITE | FAST,
        KEY1,
        "string",
        "Sets a value and returns the old one.",
        keyspace::getset
    ),
    spec!(
        "getdel",
        2,
        WRITE | FAST,
        KEY1,
        "string",
        "Returns a value and deletes the key.",
        keyspace::getdel
    ),
    spec!(
        "getex",
        -2,
        WRITE | FAST,
        KEY1,
        "string",
        "Returns a value and changes its expiry.",
        keyspace::getex
    ),
    spec!(
        "mget",
        -2,
        READONLY | FAST,
        ALLKEYS,
        "string",
        "Returns the values of several keys.",
        keyspace::mget
    ),
    spec!(
        "mset",
        -3,
        WRITE | EXCLUSIVE,
        PAIRS,
        "string",
        "Sets several keys atomically.",
        keyspace::mset
    ),
    spec!(
        "msetnx",
        -3,
        WRITE | EXCLUSIVE,
        PAIRS,
        "string",
        "Sets several keys only if none exists.",
        keyspace::msetnx
    ),
    spec!(
        "incr",
        2,
        WRITE | FAST,
        KEY1,
        "string",
        "Adds one to an integer value.",
        keyspace::incr
    ),
    spec!(
        "decr",
        2,
        WRITE | FAST,
        KEY1,
        "string",
        "Subtracts one from an integer value.",
        keyspace::decr
    ),
    spec!(
        "incrby",
        3,
        WRITE | FAST,
        KEY1,
        "string",
        "Adds a number to an integer value.",
        keyspace::incrby
    ),
    spec!(
        "decrby",
        3,
        WRITE | FAST,
        KEY1,
        "string",
        "Subtracts a number from an integer value.",
        keyspace::decrby
    ),
    spec!(
        "incrbyfloat",
        3,
        WRITE | FAST,
        KEY1,
        "string",
        "Adds a floating-point number to a value.",
        keyspace::incrbyfloat
    ),
    spec!(
        "append",
        3,
        WRITE | FAST,
        KEY1,
        "string",
        "Appends to a value.",
        keyspace::append
    ),
    spec!(
        "strlen",
        2,
        READONLY | FAST,
        KEY1,
        "string",
        "Returns the length of a value.",
        keyspace::strlen
    ),
    spec!(
        "getrange",
        4,
        READONLY,
        KEY1,
        "string",
        "Returns a substring of a value.",
        keyspace::getrange
    ),
    spec!(
        "substr",
        4,
        READONLY,
        KEY1,
        "string",
        "Returns a substring of a value (GETRANGE).",
        keyspace::getrange
    ),
    spec!(
        "setrange",
        4,
        WRITE,
        KEY1,
        "string",
        "Overwrites part of a value at an offset.",
        keyspace::setrange
    ),
    // Keys.
    spec!(
        "del",
        -2,
        WRITE,
        ALLKEYS,
        "generic",
        "Deletes keys.",
        keyspace::del
    ),
    spec!(
        "unlink",
        -2,
        WRITE | FAST,
        ALLKEYS,
        "generic",
        "Deletes keys (as DEL).",
        keyspace::del
    ),
    spec!(
        "exists",
        -2,
        READONLY | FAST,
        ALLKEYS,
        "generic",
        "Counts the keys that exist.",
        keyspace::exists
    ),
    spec!(
        "touch",
        -2,
        READONLY | FAST,
        ALLKEYS,
        "generic",
        "Counts the keys that exist (as EXISTS).",
        keyspace::exists
    ),
    spec!(
        "type",
        2,
        READONLY | FAST,
        KEY1,
        "generic",
        "Returns the type of a key: string or none.",
        keyspace::type_
    ),
    spec!(
        "expire",
        -3,
        WRITE | FAST,
        KEY1,
        "generic",
        "Sets a key's time to live in seconds.",
        keyspace::expire
    ),
    spec!(
        "pexpire",
        -3,
        WRITE | FAST,
        KEY1,
        "generic",
        "Sets a key's time to live in milliseconds.",
        keyspace::pexpire
    ),
    spec!(
        "expireat",
        -3,
        WRITE | FAST,
        KEY1,
        "generic",
        "Sets a key's expiry as a Unix time in seconds.",
        keyspace::expireat
    ),
    spec!(
        "pexpireat",
        -3,
        WRITE | FAST,
        KEY1,
        "generic",
        "Sets a key's expiry as a Unix time in milliseconds.",
        keyspace::pexpireat
    ),
    spec!(
        "expiretime",
        2,
        READONLY | FAST,
        KEY1,
        "generic",
        "Returns a key's expiry as a Unix time in seconds.",
        keyspace::expiretime
    ),
    spec!(
        "pexpiretime",
        2,
        READONLY | FAST,
        KEY1,
        "generic",
        "Returns a key's expiry as a Unix time in milliseconds.",
        keyspace::pexpiretime
    ),
    spec!(
        "ttl",
        2,
        READONLY | FAST,
        KEY1,
        "generic",
        "Returns a key's time to live in seconds.",
        keyspace::ttl
    ),
    spec!(
        "pttl",
        2,
        READONLY | FAST,
        KEY1,
        "generic",
        "Returns a key's time to live in milliseconds.",
        keyspace::pttl
    ),
    spec!(
        "persist",
        2,
        WRITE | FAST,
        KEY1,
        "generic",
        "Removes a key's expiry.",
        keyspace::persist
    ),
    spec!(
        "rename",
        3,
        WRITE | EXCLUSIVE,
        KEY12,
        "generic",
        "Renames a key.",
        keyspace::rename
    ),
    spec!(
        "renamenx",
        3,
        WRITE | EXCLUSIVE,
        KEY12,
        "generic",
        "Renames a key if the new name is free.",
        keyspace::renamenx
    ),
    spec!(
        "copy",
        -3,
        WRITE | EXCLUSIVE,
        KEY12,
        "generic",
        "Copies a key's value to another key.",
        keyspace::copy
    ),
    spec!(
        "randomkey",
        1,
        READONLY | SLOW,
        NOKEYS,
        "generic",
        "Returns a random key.",
        keyspace::randomkey
    ),
    spec!(
        "keys",
        2,
        READONLY | SLOW,
        NOKEYS,
        "generic",
        "Returns the keys matching a pattern.",
        keyspace::keys
    ),
    spec!(
        "scan",
        -2,
        READONLY | SLOW,
        NOKEYS,
        "generic",
        "Iterates over the keys with a cursor.",
        keyspace::scan
    ),
    spec!(
        "dbsize",
        1,
        READONLY | SLOW,
        NOKEYS,
        "server",
        "Returns the number of keys.",
        keyspace::dbsize
    ),
    spec!(
        "flushdb",
        -1,
        WRITE | SLOW | EXCLUSIVE,
        NOKEYS,
        "server",
        "Deletes every key.",
        keyspace::flushall
    ),
    spec!(
        "flushall",
        -1,
        WRITE | SLOW | EXCLUSIVE,
        NOKEYS,
        "server",
        "Deletes every key.",
        keyspace::flushall
    ),
    // Transactions.
    spec!(
        "multi",
        1,
        FAST | IMMEDIATE | CONNECTION,
        NOKEYS,
        "transactions",
        "Starts a transaction.",
        multi
    ),
    spec!(
        "exec",
        1,
        SLOW | IMMEDIATE | EXCLUSIVE,
        NOKEYS,
        "transactions",
        "Runs the queued commands atomically.",
        exec
    ),
    spec!(
        "discard",
        1,
        FAST | IMMEDIATE | CONNECTION,
        NOKEYS,
        "transactions",
        "Discards the queued commands.",
        discard
    ),
    spec!(
        "watch",
        -2,
        FAST | IMMEDIATE,
        ALLKEYS,
        "transactions",
        "Aborts the next EXEC if a key changes.",
        watch
    ),
    spec!(
        "unwatch",
        1,
        FAST | IMMEDIATE | CONNECTION,
        NOKEYS,
        "transactions",
        "Forgets the watched keys.",
        unwatch
    ),
    // Connection.
    spec!(
        "ping",
        -1,
        FAST | CONNECTION,
        NOKEYS,
        "connection",
        "Returns PONG, or the message given.",
        admin::ping
    ),
    spec!(
        "echo",
        2,
        FAST | CONNECTION,
        NOKEYS,
        "connection",
        "Returns the message given.",
        admin::echo
    ),
    spec!(
        "auth",
        -2,
        FAST | NO_AUTH | IMMEDIATE | CONNECTION,
        NOKEYS,
        "connection",
        "Authenticates the connection.",
        admin::auth
    ),
    spec!(
        "hello",
        -1,
        FAST | NO_AUTH | IMMEDIATE | CONNECTION,
        NOKEYS,
        "connection",
        "Chooses the protocol version, optionally authenticating.",
        admin::hello
    ),
    spec!(
        "select",
        2,
        FAST | CONNECTION,
        NOKEYS,
        "connection",
        "Selects database 0 (the only one).",
        admin::select
    ),
    spec!(
        "client",
        -2,
        SLOW | CONNECTION,
        NOKEYS,
        "connection",
        "Names, lists and kills connections.",
        admin::client
    ),
    spec!(
        "quit",
        -1,
        FAST | NO_AUTH | IMMEDIATE | CONNECTION,
        NOKEYS,
        "connection",
        "Closes the connection.",
        admin::quit
    ),
    spec!(
        "reset",
        1,
        FAST | NO_AUTH | IMMEDIATE | CONNECTION,
        NOKEYS,
        "connection",
        "Resets the connection's state.",
        admin::reset
    ),
    // Server.
    spec!(
        "info",
        -1,
        SLOW,
        NOKEYS,
        "server",
        "Returns information and statistics about the server.",
        admin::info
    ),
    spec!(
        "config",
        -2,
        ADMIN,
        NOKEYS,
        "server",
        "Reads or changes the server's settings.",
        admin::config
    ),
    spec!(
        "command",
        -1,
        SLOW | CONNECTION,
        NOKEYS,
        "server",
        "Describes the commands.",
        admin::command
    ),
    spec!(
        "time",
        1,
        FAST,
        NOKEYS,
        "server",
        "Returns the server's time.",
        admin::time
    ),
    spec!(
        "lastsave",
        1,
        FAST,
        NOKEYS,
        "server",
        "Returns the Unix time of the last save.",
        admin::lastsave
    ),
    spec!(
        "save",
        1,
        ADMIN | SLOW,
        NOKEYS,
        "server",
        "Saves now: a snapshot (memory) or a hint (bitcask).",
        admin::save
    ),
    spec!(
        "bgsave",
        -1,
        ADMIN,
        NOKEYS,
        "server",
        "Saves in the background.",
        admin::bgsave
    ),
    spec!(
        "bgrewriteaof",
        1,
        ADMIN,
        NOKEYS,
        "server",
        "Compacts the log in the background: a snapshot (memory) or a merge (bitcask).",
        admin::bgrewriteaof
    ),
    spec!(
        "shutdown",
        -1,
        ADMIN | NO_AUTH | IMMEDIATE | NO_MULTI,
        NOKEYS,
        "server",
        "Stops the server cleanly.",
        admin::shutdown
    ),
    // Replication (hoard is a master only).
    spec!(
        "psync",
        -3,
        ADMIN | NO_MULTI,
        NOKEYS,
        "server",
        "A replica asks for the stream from an offset, or a full sync.",
        replication::psync
    ),
    spec!(
        "sync",
        1,
        ADMIN | NO_MULTI,
        NOKEYS,
        "server",
        "A replica (or redis-cli --rdb) asks for a full sync.",
        replication::sync
    ),
    spec!(
        "replconf",
        -1,
        ADMIN | NO_MULTI,
        NOKEYS,
        "server",
        "A replica's settings and acknowledgements.",
        replication::replconf
    ),
    spec!(
        "role",
        1,
        FAST,
        NOKEYS,
        "server",
        "Returns master, the replication offset and the replicas.",
        replication::role
    ),
    spec!(
        "replicaof",
        3,
        ADMIN | NO_MULTI,
        NOKEYS,
        "server",
        "Only REPLICAOF NO ONE: hoard serve is a master only.",
        replication::replicaof
    ),
    spec!(
        "slaveof",
        3,
        ADMIN | NO_MULTI,
        NOKEYS,
        "server",
        "Only SLAVEOF NO ONE (as REPLICAOF).",
        replication::replicaof
    ),
    spec!(
        "function",
        -2,
        ADMIN | SLOW,
        NOKEYS,
        "scripting",
        "FUNCTION FLUSH: there are no functions to flush.",
        admin::function
    ),
];

/// Lowercase command name to its row in `COMMANDS`.
static INDEX: LazyLock<hashbrown::HashMap<&'static [u8], usize>> = LazyLock::new(|| {
    COMMANDS
        .iter()
        .enumerate()
        .map(|(i, spec)| (spec.name.as_bytes(), i))
        .collect()
});

/// The names of every command the server answers, lowercase.
pub fn command_names() -> Vec<&'static str> {
    COMMANDS.iter().map(|spec| spec.name).collect()
}

/// The rows of GET and SET, the commands benchmarks and caches send most.
static GET_SET: LazyLock<[Option<usize>; 2]> = LazyLock::new(|| {
    [
        INDEX.get(&b"get"[..]).copied(),
        INDEX.get(&b"set"[..]).copied(),
    ]
});

/// The row of command `name`, in any case.
pub(crate) fn lookup(name: &[u8]) -> Option<usize> {
    // GET and SET without hashing: `b | 0x20` is a lowercase letter only
    // for that letter in either case.
    if let [a, b, c] = name {
        match [a | 0x20, b | 0x20, c | 0x20] {
            [b'g', b'e', b't'] => return GET_SET[0],
            [b's', b'e', b't'] => return GET_SET[1],
            _ => {}
        }
    }
    let mut lower = [0u8; 16];
    let lower = lower.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    INDEX.get(&*lower).copied()
}

/// A queued command inside MULTI: its row and arguments.
type Queued = (usize, Vec<Vec<u8>>);

/// The state of one connection.
pub(crate) struct Session {
    pub client: Arc<ClientInfo>,
    pub protocol: Protocol,
    pub authenticated: bool,
    /// Commands queued since MULTI.
    pub multi: Option<Vec<Queued>>,
    /// A command was refused while queuing: EXEC must abort.
    pub multi_failed: bool,
    pub watched: Vec<super::watch::Seen>,
    watches: Arc<super::watch::Watches>,
    /// Close the connection once the replies so far are written (QUIT).
    pub close: bool,
    /// A write succeeded since the last flush of buffered writes.
    pub wrote: bool,
    /// Where this connection's SCAN iteration stands.
    pub scan: Option<keyspace::ScanState>,
    /// The port a replica said it listens on (REPLCONF listening-port).
    pub replica_port: u16,
    /// Set by PSYNC or SYNC: the connection becomes a replica's link.
    pub sync: Option<super::replication::SyncRequest>,
    /// When the last command timed ended, or its batch started: where
    /// the next command's time starts.
    pub lap: Instant,
}

impl Session {
    /// A new connection's state.
    pub fn new(client: Arc<ClientInfo>, shared: &Shared) -> Session {
        Session {
            client,
            protocol: Protocol::Resp2,
            authenticated: !shared.needs_auth(),
            multi: None,
            multi_failed: false,
            watched: Vec::new(),
            watches: shared.watches.clone(),
            close: false,
            wrote: false,
            scan: None,
            replica_port: 0,
            sync: None,
            lap: Instant::now(),
        }
    }
}

impl Session {
    /// Forgets the watched keys (EXEC, DISCARD, UNWATCH, RESET, close).
    pub fn unwatch(&mut self) {
        let watched = std::mem::take(&mut self.watched);
        self.watches.release(&watched);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.unwatch();
    }
}

/// What a command runs with.
pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub session: &'a mut Session,
}

/// The `ERR` reply with `text`.
pub(crate) fn err(text: impl std::fmt::Display) -> Reply {
    Reply::Error(format!("ERR {text}"))
}

impl From<Error> for Reply {
    fn from(error: Error) -> Reply {
        match error {
            Error::Poisoned { .. } => Reply::Error(format!(
                "MISCONF Errors writing to the AOF file: {error}; the store refuses writes \
                 until the server restarts"
            )),
            Error::InvalidInput(text) => err(text),
            other => err(other),
        }
    }
}

fn wrong_arity(spec: &Spec) -> Reply {
    err(format_args!(
        "wrong number of arguments for '{}' command",
        spec.name
    ))
}

fn unknown_command(args: &[Vec<u8>]) -> Reply {
    let mut text = format!(
        "unknown command '{}', with args beginning with: ",
        printable(&args[0], 128)
    );
    for arg in args.iter().skip(1) {
        text += &format!("'{}' ", printable(arg, 128));
    }
    err(text)
}

/// Up to `max` bytes of `bytes` as text, as Redis quotes names in errors.
pub(crate) fn printable(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(max)])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= arity.unsigned_abs() as usize
    }
}

/// Whether running `args` now might block a thread: a slow command, or
/// one that may wait for the transaction gate. Such commands run on the
/// blocking pool. (Writes never wait for their sync inside a batch: the
/// connection waits for it, asynchronously, before it replies.)
pub(crate) fn may_block(shared: &Shared, session: &Session, index: Option<usize>) -> bool {
    let Some(index) = index else {
        return false;
    };
    let spec = &COMMANDS[index];
    if session.multi.is_some() && spec.flags & IMMEDIATE == 0 {
        return false; // queued, not run
    }
    spec.flags & (SLOW | EXCLUSIVE) != 0 || shared.gate.is_locked_exclusive()
}

/// Runs one request (a non-empty argument list) and returns its reply.
/// On a tokio worker (`on_worker`), a command that would wait for the
/// transaction gate is not run: its arguments come back, for the caller
/// to run it on the blocking pool.
pub(crate) fn execute(
    shared: &Shared,
    session: &mut Session,
    index: Option<usize>,
    args: Vec<Vec<u8>>,
    on_worker: bool,
) -> Result<Reply, Vec<Vec<u8>>> {
    let Some(index) = index else {
        flag_transaction(session);
        return Ok(unknown_command(&args));
    };
    let spec = &COMMANDS[index];
    let stats = &shared.stats.commands[index];
    if !arity_ok(spec.arity, args.len()) {
        flag_transaction(session);
        stats.rejected.fetch_add(1, Relaxed);
        return Ok(wrong_arity(spec));
    }
    if !session.authenticated && spec.flags & NO_AUTH == 0 {
        flag_transaction(session);
        stats.rejected.fetch_add(1, Relaxed);
        return Ok(Reply::Error("NOAUTH Authentication required.".into()));
    }
    if session.multi.is_some() && spec.flags & NO_MULTI != 0 {
        flag_transaction(session);
        stats.rejected.fetch_add(1, Relaxed);
        return Ok(err("Command not allowed inside a transaction"));
    }
    if let Some(queue) = &mut session.multi
        && spec.flags & IMMEDIATE == 0
    {
        queue.push((index, args));
        return Ok(Reply::Simple("QUEUED".into()));
    }
    if spec.flags & WRITE != 0 && shared.store.is_poisoned() {
        stats.rejected.fetch_add(1, Relaxed);
        return Ok(Error::Poisoned {
            path: shared.store.dir().to_path_buf(),
        }
        .into());
    }
    let _gate = if spec.flags & EXCLUSIVE != 0 {
        GateGuard::Exclusive(shared.gate.write())
    } else if spec.flags & (CONNECTION | NO_AUTH) != 0 {
        GateGuard::None
    } else if on_worker {
        // A writer waiting for the gate parks new readers behind it.
        match shared.gate.try_read() {
            Some(guard) => GateGuard::Shared(guard),
            None => return Err(args),
        }
    } else {
        GateGuard::Shared(shared.gate.read())
    };
    // A command over several keys reaches replicas as one transaction.
    let _atomic = (spec.flags & EXCLUSIVE != 0).then(|| shared.replication.atomic());
    if !on_worker || spec.flags & EXCLUSIVE != 0 {
        // The wait for the gate is not the command's time.
        session.lap = Instant::now();
    }
    let mut ctx = Ctx { shared, session };
    let reply = run(&mut ctx, index, &args);
    // Only a worker parses requests, so only a worker's pool is drawn
    // from: a blocking-pool thread would only ever fill its own.
    if on_worker {
        crate::resp::recycle(args);
    }
    Ok(reply)
}

/// Holds the transaction gate for one command.
enum GateGuard<'a> {
    None,
    Shared(#[allow(dead_code)] parking_lot::RwLockReadGuard<'a, ()>),
    Exclusive(#[allow(dead_code)] parking_lot::RwLockWriteGuard<'a, ()>),
}

/// Runs row `index` (under the gate the caller holds), counting it.
fn run(ctx: &mut Ctx<'_>, index: usize, args: &[Vec<u8>]) -> Reply {
    let spec = &COMMANDS[index];
    // One clock read per command: a command's time starts where the
    // previous one of its batch ended (`Session::lap`), so it includes
    // encoding that one's reply (a large reply resets the lap, see
    // `connection::run_some`) and the refusal or queueing of commands in
    // between that never ran. Two reads were 4% of the server's time
    // under pipelined GETs.
    let started = ctx.session.lap;
    let reply = (spec.run)(ctx, args).unwrap_or_else(|error| error);
    let failed = matches!(reply, Reply::Error(_));
    let ended = Instant::now();
    ctx.session.lap = ended;
    ctx.shared.stats.commands[index].record(ended - started, failed);
    let client = &ctx.session.client;
    client.last_command.store(index, Relaxed);
    let active = ended.saturating_duration_since(ctx.shared.started);
    client
        .last_active_ms
        .store(active.as_millis() as u64, Relaxed);
    if spec.flags & WRITE != 0 && !failed {
        ctx.session.wrote = true;
        ctx.shared.saves.dirty.fetch_add(1, Relaxed);
    }
    reply
}

/// A refused command inside MULTI makes EXEC abort.
fn flag_transaction(session: &mut Session) {
    if session.multi.is_some() {
        session.multi_failed = true;
    }
}

fn multi(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    if ctx.session.multi.is_some() {
        return Err(err("MULTI calls can not be nested"));
    }
    ctx.session.multi = Some(Vec::new());
    ctx.session.multi_failed = false;
    Ok(Reply::ok())
}

fn discard(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    if ctx.session.multi.take().is_none() {
        return Err(err("DISCARD without MULTI"));
    }
    ctx.session.multi_failed = false;
    ctx.session.unwatch();
    Ok(Reply::ok())
}

fn exec(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    let Some(queued) = ctx.session.multi.take() else {
        return Err(err("EXEC without MULTI"));
    };
    // Under the exclusive gate: no write can slip in between this check
    // and the queued commands. A watched key that was live and is gone
    // without a write has expired, which aborts too, as in Redis 7.
    let mut aborted = Ok(false);
    for seen in &ctx.session.watched {
        let expired = if seen.live {
            keyspace::is_live(ctx, &seen.key).map(|live| !live)
        } else {
            Ok(false)
        };
        match expired {
            Ok(expired) if expired || ctx.shared.watches.written(seen) => {
                aborted = Ok(true);
                break;
            }
            Ok(_) => {}
            Err(reply) => {
                aborted = Err(reply);
                break;
            }
        }
    }
    // Whatever happens next, the watches end with this EXEC.
    ctx.session.unwatch();
    let aborted = aborted?;
    if std::mem::take(&mut ctx.session.multi_failed) {
        return Err(Reply::Error(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    if aborted {
        return Ok(Reply::NullArray);
    }
    let writes = queued
        .iter()
        .any(|(index, _)| COMMANDS[*index].flags & WRITE != 0);
    if writes && ctx.shared.store.is_poisoned() {
        return Err(Error::Poisoned {
            path: ctx.shared.store.dir().to_path_buf(),
        }
        .into());
    }
    let run_all = |ctx: &mut Ctx<'_>| -> Out {
        // The first queued command's time starts here, not before EXEC's checks.
        ctx.session.lap = Instant::now();
        let replies = queued
            .iter()
            .map(|(index, args)| run(ctx, *index, args))
            .collect();
        Ok(Reply::Array(replies))
    };
    run_all(ctx)
}

fn watch(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    if ctx.session.multi.is_some() {
        return Err(err("WATCH inside MULTI is not allowed"));
    }
    for key in &args[1..] {
        let live = keyspace::is_live(ctx, key)?;
        let seen = ctx.shared.watches.watch(key, live);
        ctx.session.watched.push(seen);
    }
    Ok(Reply::ok())
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    ctx.session.unwatch();
    Ok(Reply::ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_found_in_any_case_and_names_are_unique() {
        for (i, spec) in COMMANDS.iter().enumerate() {
            assert!(
                spec.name.len() <= 16,
                "{} is longer than lookup allows",
                spec.name
            );
            assert_eq!(lookup(spec.name.as_bytes()), Some(i), "{}", spec.name);
            assert_eq!(lookup(spec.name.to_uppercase().as_bytes()), Some(i));
        }
        assert_eq!(INDEX.len(), COMMANDS.len());
        assert_eq!(lookup(b"nosuchcommand"), None);
        assert_eq!(lookup(b"a-name-far-longer-than-any-command"), None);
        // The GET and SET shortcut: any case, and only those letters.
        assert_eq!(lookup(b"gEt"), lookup(b"get"));
        assert_eq!(lookup(b"SeT"), lookup(b"set"));
        assert!(lookup(b"get").is_some() && lookup(b"get") != lookup(b"set"));
        assert_eq!(lookup(b"ge\x14"), None);
        assert_eq!(lookup(b"se\x00"), None);
    }

    #[test]
    fn arity_follows_redis_convention() {
        assert!(arity_ok(2, 2));
        assert!(!arity_ok(2, 3));
        assert!(arity_ok(-3, 3));
        assert!(arity_ok(-3, 7));
        assert!(!arity_ok(-3, 2));
    }
}
