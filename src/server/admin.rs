//! Connection and server commands: PING, AUTH, HELLO, CLIENT, INFO,
//! CONFIG, COMMAND, SAVE and friends, SHUTDOWN.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use crate::bitcask::MergePolicy;
use crate::manifest::{EngineKind, SyncPolicy};
use crate::resp::{Protocol, Reply};

use super::commands::{COMMANDS, Ctx, Out, err, flag, printable};
use super::keyspace::{integer, not_integer};
use super::{SaveState, Shared};

/// The Redis version whose behaviour the server follows, reported where
/// clients look for one (INFO's `redis_version`).
pub(crate) const REDIS_COMPAT_VERSION: &str = "7.0.15";

fn bulk(text: impl Into<String>) -> Reply {
    Reply::Bulk(text.into().into_bytes())
}

pub(crate) fn ping(_ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    match args.len() {
        1 => Ok(Reply::Simple("PONG".into())),
        2 => Ok(Reply::Bulk(args[1].clone())),
        _ => Err(err("wrong number of arguments for 'ping' command")),
    }
}

pub(crate) fn echo(_ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    Ok(Reply::Bulk(args[1].clone()))
}

fn wrong_pass() -> Reply {
    Reply::Error("WRONGPASS invalid username-password pair or user is disabled.".into())
}

/// Checks `user` (only `default` exists) and `password`.
fn authenticate(ctx: &mut Ctx<'_>, user: &[u8], password: &[u8]) -> Result<(), Reply> {
    let Some(secret) = &ctx.shared.options.password else {
        if user == b"default" {
            // As Redis's default user with `nopass`: any password will do.
            ctx.session.authenticated = true;
            return Ok(());
        }
        return Err(wrong_pass());
    };
    // Compare the password even for an unknown user, so the time taken
    // says nothing about which part was wrong.
    let password_ok = secret.matches(password);
    if user == b"default" && password_ok {
        ctx.session.authenticated = true;
        Ok(())
    } else {
        Err(wrong_pass())
    }
}

pub(crate) fn auth(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    match args.len() {
        2 => {
            if ctx.shared.options.password.is_none() {
                return Err(err(
                    "AUTH <password> called without any password configured for the default \
                     user. Are you sure your configuration is correct?",
                ));
            }
            authenticate(ctx, b"default", &args[1])?;
        }
        3 => authenticate(ctx, &args[1], &args[2])?,
        _ => return Err(err("syntax error")),
    }
    Ok(Reply::ok())
}

pub(crate) fn hello(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let mut protocol = ctx.session.protocol;
    if let Some(version) = args.get(1) {
        protocol = match integer(version) {
            Ok(2) => Protocol::Resp2,
            Ok(3) => Protocol::Resp3,
            Ok(_) => return Err(Reply::Error("NOPROTO unsupported protocol version".into())),
            Err(_) => {
                return Err(err("Protocol version is not an integer or out of range"));
            }
        };
    }
    let mut name = None;
    let mut i = 2;
    while i < args.len() {
        let option = args[i].to_ascii_uppercase();
        if option == b"AUTH" && i + 2 < args.len() {
            authenticate(ctx, &args[i + 1], &args[i + 2])?;
            i += 3;
        } else if option == b"SETNAME" && i + 1 < args.len() {
            name = Some(valid_client_name(&args[i + 1])?);
            i += 2;
        } else {
            return Err(err(format_args!(
                "Syntax error in HELLO option '{}'",
                printable(&args[i], 128)
            )));
        }
    }
    if !ctx.session.authenticated {
        return Err(Reply::Error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and \
             select the RESP protocol version at the same time"
                .into(),
        ));
    }
    if let Some(name) = name {
        *ctx.session
            .client
            .name
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = name;
    }
    ctx.session.protocol = protocol;
    ctx.session
        .client
        .resp3
        .store(protocol == Protocol::Resp3, Relaxed);
    Ok(Reply::Map(vec![
        (bulk("server"), bulk("hoard")),
        (bulk("version"), bulk(env!("CARGO_PKG_VERSION"))),
        (
            bulk("proto"),
            Reply::Integer(if protocol == Protocol::Resp3 { 3 } else { 2 }),
        ),
        (bulk("id"), Reply::Integer(ctx.session.client.id as i64)),
        (bulk("mode"), bulk("standalone")),
        (bulk("role"), bulk("master")),
        (bulk("modules"), Reply::Array(Vec::new())),
    ]))
}

pub(crate) fn select(_ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    match integer(&args[1]) {
        Ok(0) => Ok(Reply::ok()),
        Ok(_) => Err(err("DB index is out of range")),
        Err(_) => Err(not_integer()),
    }
}

pub(crate) fn quit(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    ctx.session.close = true;
    Ok(Reply::ok())
}

pub(crate) fn reset(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    let session = &mut *ctx.session;
    session.multi = None;
    session.multi_failed = false;
    session.unwatch();
    session.protocol = Protocol::Resp2;
    session.authenticated = !ctx.shared.needs_auth();
    session.client.resp3.store(false, Relaxed);
    *session
        .client
        .name
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = None;
    Ok(Reply::Simple("RESET".into()))
}

/// A name `CLIENT SETNAME` accepts: printable ASCII without spaces
/// (`None` for the empty name, which clears it).
fn valid_client_name(name: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
    if name.iter().any(|b| !(b'!'..=b'~').contains(b)) {
        return Err(err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok((!name.is_empty()).then(|| name.to_vec()))
}

/// One line of `CLIENT LIST` / `CLIENT INFO`.
fn client_line(shared: &Shared, client: &super::ClientInfo) -> String {
    let now = shared.uptime_ms();
    let name = client
        .name
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default();
    let (lib_name, lib_ver) = client
        .library
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let command = COMMANDS
        .get(client.last_command.load(Relaxed))
        .map_or("NULL", |spec| spec.name);
    format!(
        "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags=N db=0 sub=0 psub=0 \
         ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 \
         omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}\n",
        client.id,
        client.addr,
        client.local,
        String::from_utf8_lossy(&name),
        client.created.elapsed().as_secs(),
        now.saturating_sub(client.last_active_ms.load(Relaxed)) / 1000,
        command,
        if client.resp3.load(Relaxed) { 3 } else { 2 },
        lib_name,
        lib_ver,
    )
}

pub(crate) fn client(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let sub = args[1].to_ascii_uppercase();
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(err(format_args!(
                "wrong number of arguments for 'client|{}' command",
                String::from_utf8_lossy(&args[1]).to_lowercase()
            )))
        }
    };
    let client = ctx.session.client.clone();
    match sub.as_slice() {
        b"ID" => {
            arity(2)?;
            Ok(Reply::Integer(client.id as i64))
        }
        b"SETNAME" => {
            arity(3)?;
            let name = valid_client_name(&args[2])?;
            *client.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
            Ok(Reply::ok())
        }
        b"GETNAME" => {
            arity(2)?;
            let name = client
                .name
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            Ok(name.map_or(Reply::Null, Reply::Bulk))
        }
        b"SETINFO" => {
            arity(4)?;
            let value = String::from_utf8_lossy(&args[3]).into_owned();
            if value.contains(|c: char| c == ' ' || c.is_control()) {
                return Err(err(format_args!(
                    "{} cannot contain spaces, newlines or special characters.",
                    String::from_utf8_lossy(&args[2]).to_lowercase()
                )));
            }
            let mut library = client.library.lock().unwrap_or_else(|e| e.into_inner());
            match args[2].to_ascii_uppercase().as_slice() {
                b"LIB-NAME" => library.0 = value,
                b"LIB-VER" => library.1 = value,
                _ => {
                    return Err(err(format_args!(
                        "Unrecognized option '{}'",
                        printable(&args[2], 128)
                    )));
                }
            }
            Ok(Reply::ok())
        }
        b"INFO" => {
            arity(2)?;
            Ok(bulk(client_line(ctx.shared, &client)))
        }
        b"LIST" => {
            let clients: Vec<_> = ctx
                .shared
                .clients
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .values()
                .cloned()
                .collect();
            let ids: Option<Vec<u64>> = match args.get(2).map(|a| a.to_ascii_uppercase()) {
                None => None,
                Some(option) if option == b"ID" && args.len() > 3 => Some(
                    args[3..]
                        .iter()
                        .map(|id| integer(id).map(|id| id as u64))
                        .collect::<Result<_, _>>()?,
                ),
                Some(option) if option == b"TYPE" && args.len() == 4 => {
                    if args[3].eq_ignore_ascii_case(b"normal") {
                        None
                    } else {
                        Some(Vec::new())
                    }
                }
                Some(_) => return Err(err("syntax error")),
            };
            let mut text = String::new();
            for client in clients {
                if ids.as_ref().is_none_or(|ids| ids.contains(&client.id)) {
                    text += &client_line(ctx.shared, &client);
                }
            }
            Ok(bulk(text))
        }
        b"KILL" => {
            let clients = ctx.shared.clients.lock().unwrap_or_else(|e| e.into_inner());
            let matches = |c: &super::ClientInfo| -> Result<bool, Reply> {
                if args.len() == 3 {
                    return Ok(c.addr.to_string().as_bytes() == args[2].as_slice());
                }
                let mut all = true;
                for pair in args[2..].chunks(2) {
                    let [option, value] = pair else {
                        return Err(err("syntax error"));
                    };
                    all &= match option.to_ascii_uppercase().as_slice() {
                        b"ID" => integer(value)? as u64 == c.id,
                        b"ADDR" => c.addr.to_string().as_bytes() == value.as_slice(),
                        b"LADDR" => c.local.to_string().as_bytes() == value.as_slice(),
                        b"SKIPME" => !value.eq_ignore_ascii_case(b"yes") || c.id != client.id,
                        b"TYPE" | b"USER" => true,
                        _ => return Err(err("syntax error")),
                    };
                }
                Ok(all)
            };
            let mut killed = 0;
            for c in clients.values() {
                if matches(c)? {
                    c.killed.store(true, Relaxed);
                    c.kill.notify_one();
                    killed += 1;
                }
            }
            if args.len() == 3 {
                return if killed == 0 {
                    Err(err("No such client"))
                } else {
                    Ok(Reply::ok())
                };
            }
            Ok(Reply::Integer(killed))
        }
        b"NO-EVICT" | b"NO-TOUCH" => {
            arity(3)?;
            Ok(Reply::ok())
        }
        b"HELP" => Ok(Reply::Array(
            [
                "CLIENT <subcommand> [<arg> ...]. Subcommands are:",
                "ID, SETNAME <name>, GETNAME, SETINFO <LIB-NAME|LIB-VER> <value>, INFO,",
                "LIST [ID <id> ...], KILL <addr> | KILL [ID <id>] [ADDR <addr>] [SKIPME yes|no]",
            ]
            .into_iter()
            .map(|line| Reply::Simple(line.into()))
            .collect(),
        )),
        _ => Err(err(format_args!(
            "unknown subcommand '{}'. Try CLIENT HELP.",
            printable(&args[1], 128)
        ))),
    }
}

pub(crate) fn time(_ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Reply::Array(vec![
        bulk(now.as_secs().to_string()),
        bulk(now.subsec_micros().to_string()),
    ]))
}

pub(crate) fn lastsave(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    let saved = ctx.shared.saves.last_save_s.load(Relaxed);
    Ok(Reply::Integer(if saved == 0 {
        (ctx.shared.started_unix_ms / 1000) as i64
    } else {
        saved as i64
    }))
}

/// The engine's save: a snapshot (memory) or a hint rebuild (bitcask).
fn save_now(shared: &Shared) -> crate::Result<()> {
    let store = &shared.store;
    if let Some(memory) = store.memory() {
        memory.snapshot(store.now_ms())?;
    } else if let Some(bitcask) = store.bitcask() {
        store.sync()?;
        bitcask.rebuild_hint()?;
    }
    Ok(())
}

/// The engine's log compaction: a snapshot (memory) or a merge of every
/// sealed file holding dead records (bitcask).
fn rewrite_now(shared: &Shared) -> crate::Result<()> {
    let store = &shared.store;
    if let Some(memory) = store.memory() {
        memory.snapshot(store.now_ms())?;
    } else if let Some(bitcask) = store.bitcask() {
        let every_dead_byte = MergePolicy {
            fragmentation: 2.0,
            dead_bytes: 1,
            trigger_fragmentation: 2.0,
            trigger_dead_bytes: 1,
        };
        bitcask.merge_online(store.now_ms(), &every_dead_byte)?;
    }
    Ok(())
}

fn unix_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn saved(saves: &SaveState) {
    saves.last_save_s.store(unix_s(), Relaxed);
    saves.dirty.store(0, Relaxed);
}

pub(crate) fn save(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    if ctx.shared.saves.bgsave_in_progress.load(Relaxed) {
        return Err(err("Background save already in progress"));
    }
    save_now(ctx.shared)?;
    saved(&ctx.shared.saves);
    Ok(Reply::ok())
}

/// Runs `work` on a thread of its own while `flag` says so.
fn in_background(
    ctx: &Ctx<'_>,
    flag: fn(&SaveState) -> &std::sync::atomic::AtomicBool,
    status: fn(&SaveState) -> &std::sync::atomic::AtomicBool,
    work: fn(&Shared) -> crate::Result<()>,
) -> Result<(), Reply> {
    let Some(shared) = ctx.shared.myself() else {
        return Err(err("the server is stopping"));
    };
    if flag(&shared.saves).swap(true, Relaxed) {
        return Err(err("Background save or rewrite already in progress"));
    }
    let spawned = std::thread::Builder::new()
        .name("hoard-bgsave".into())
        .spawn(move || {
            let result = work(&shared);
            status(&shared.saves).store(result.is_ok(), Relaxed);
            if result.is_ok() {
                saved(&shared.saves);
            }
            flag(&shared.saves).store(false, Relaxed);
        });
    if let Err(e) = spawned {
        flag(&ctx.shared.saves).store(false, Relaxed);
        return Err(err(format_args!("cannot start a background save: {e}")));
    }
    Ok(())
}

pub(crate) fn bgsave(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    if args.len() > 2
        || args
            .get(1)
            .is_some_and(|a| !a.eq_ignore_ascii_case(b"SCHEDULE"))
    {
        return Err(err("syntax error"));
    }
    in_background(
        ctx,
        |s| &s.bgsave_in_progress,
        |s| &s.last_bgsave_ok,
        save_now,
    )?;
    Ok(Reply::Simple("Background saving started".into()))
}

pub(crate) fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    in_background(
        ctx,
        |s| &s.rewrite_in_progress,
        |s| &s.last_rewrite_ok,
        rewrite_now,
    )?;
    Ok(Reply::Simple(
        "Background append only file rewriting started".into(),
    ))
}

pub(crate) fn shutdown(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    if !ctx.session.authenticated {
        return Err(Reply::Error("NOAUTH Authentication required.".into()));
    }
    for option in &args[1..] {
        match option.to_ascii_uppercase().as_slice() {
            b"NOSAVE" | b"SAVE" | b"NOW" | b"FORCE" => {}
            b"ABORT" => return Err(err("No shutdown in progress.")),
            _ => return Err(err("syntax error")),
        }
    }
    // The store is closed (and synced) whatever the option: hoard never
    // drops acknowledged writes. The connection closes without a reply.
    ctx.shared.request_shutdown();
    ctx.session.close = true;
    Err(Reply::Error(String::new()))
}

pub(crate) fn function(_ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    match args[1].to_ascii_uppercase().as_slice() {
        b"FLUSH" => Ok(Reply::ok()),
        b"LIST" => Ok(Reply::Array(Vec::new())),
        _ => Err(err(
            "hoard has no functions or scripting; only FUNCTION FLUSH and LIST are answered",
        )),
    }
}

/// The settings `CONFIG GET` reports, with their current values.
fn config_values(shared: &Shared) -> Vec<(&'static str, String)> {
    let manifest = shared.store.manifest();
    let appendfsync = match manifest.sync {
        SyncPolicy::Always => "always".to_string(),
        SyncPolicy::IntervalMs(1000) => "everysec".to_string(),
        SyncPolicy::IntervalMs(ms) => format!("interval:{ms}"),
        SyncPolicy::Never => "no".to_string(),
    };
    let save = match (manifest.engine, shared.options.background.snapshot_every) {
        (EngineKind::Memory, Some(every)) => format!("{} 1", every.as_secs()),
        _ => String::new(),
    };
    vec![
        ("appendonly", "yes".into()),
        ("appendfsync", appendfsync),
        ("save", save),
        ("databases", "1".into()),
        ("dir", shared.store.dir().display().to_string()),
        ("maxclients", shared.max_clients.load(Relaxed).to_string()),
        ("timeout", shared.idle_timeout_s.load(Relaxed).to_string()),
        ("maxmemory", "0".into()),
        (
            "proto-max-bulk-len",
            crate::limits::VALUE_LEN_MAX.to_string(),
        ),
        (
            "client-query-buffer-limit",
            shared.options.query_buffer_max.to_string(),
        ),
        (
            "port",
            shared.resp_addr.get().map_or(0, |a| a.port()).to_string(),
        ),
        ("hoard-engine", manifest.engine.to_string()),
        ("hoard-sync", manifest.sync.to_string()),
    ]
}

pub(crate) fn config(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let sub = args[1].to_ascii_uppercase();
    match sub.as_slice() {
        b"GET" if args.len() >= 3 => {
            let values = config_values(ctx.shared);
            let mut pairs = Vec::new();
            for (name, value) in values {
                if args[2..]
                    .iter()
                    .any(|p| crate::glob::matches(&p.to_ascii_lowercase(), name.as_bytes()))
                {
                    pairs.push((bulk(name), bulk(value)));
                }
            }
            Ok(Reply::Map(pairs))
        }
        b"SET" if args.len() >= 4 && args.len().is_multiple_of(2) => {
            // Check every pair before applying any, as Redis does.
            let mut changes = Vec::new();
            for pair in args[2..].chunks(2) {
                let name = pair[0].to_ascii_lowercase();
                let value = integer(&pair[1]).ok().filter(|n| *n >= 0);
                match (name.as_slice(), value) {
                    (b"timeout", Some(n)) => changes.push((0, n as u64)),
                    (b"maxclients", Some(n)) if n >= 1 => changes.push((1, n as u64)),
                    (b"timeout" | b"maxclients", _) => {
                        return Err(err(format_args!(
                            "CONFIG SET failed (possibly related to argument '{}') - argument \
                             must be a non-negative integer",
                            printable(&pair[0], 128)
                        )));
                    }
                    (name, _)
                        if config_values(ctx.shared)
                            .iter()
                            .any(|(known, _)| known.as_bytes() == name) =>
                    {
                        return Err(err(format_args!(
                            "CONFIG SET failed (possibly related to argument '{}') - can't set \
                             immutable config (hoard's settings come from its command line and \
                             the store's manifest)",
                            printable(&pair[0], 128)
                        )));
                    }
                    _ => {
                        return Err(err(format_args!(
                            "Unknown option or number of arguments for CONFIG SET - '{}'",
                            printable(&pair[0], 128)
                        )));
                    }
                }
            }
            for (which, value) in changes {
                match which {
                    0 => ctx.shared.idle_timeout_s.store(value, Relaxed),
                    _ => ctx.shared.max_clients.store(value as usize, Relaxed),
                }
            }
            Ok(Reply::ok())
        }
        b"RESETSTAT" if args.len() == 2 => {
            ctx.shared.stats.reset();
            Ok(Reply::ok())
        }
        b"GET" | b"SET" | b"RESETSTAT" => Err(err(format_args!(
            "wrong number of arguments for 'config|{}' command",
            String::from_utf8_lossy(&sub).to_lowercase()
        ))),
        _ => Err(err(format_args!(
            "unknown subcommand '{}'. Try CONFIG HELP.",
            printable(&args[1], 128)
        ))),
    }
}

fn command_flags(spec: &super::commands::Spec) -> Vec<Reply> {
    let mut flags = Vec::new();
    for (bit, name) in [
        (flag::WRITE, "write"),
        (flag::READONLY, "readonly"),
        (flag::FAST, "fast"),
        (flag::ADMIN, "admin"),
        (flag::NO_AUTH, "no_auth"),
    ] {
        if spec.flags & bit != 0 {
            flags.push(Reply::Simple(name.into()));
        }
    }
    if spec.flags & flag::WRITE != 0 {
        flags.push(Reply::Simple("denyoom".into()));
    }
    flags
}

fn command_info(spec: &super::commands::Spec) -> Reply {
    let mut categories = vec![Reply::Simple(format!("@{}", spec.group).into())];
    if spec.flags & flag::WRITE != 0 {
        categories.push(Reply::Simple("@write".into()));
    }
    if spec.flags & flag::READONLY != 0 {
        categories.push(Reply::Simple("@read".into()));
    }
    categories.push(Reply::Simple(
        if spec.flags & flag::FAST != 0 {
            "@fast"
        } else {
            "@slow"
        }
        .into(),
    ));
    let (first, last, step) = spec.keys;
    Reply::Array(vec![
        bulk(spec.name),
        Reply::Integer(spec.arity.into()),
        Reply::Set(command_flags(spec)),
        Reply::Integer(first.into()),
        Reply::Integer(last.into()),
        Reply::Integer(step.into()),
        Reply::Set(categories),
        Reply::Set(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
    ])
}

pub(crate) fn command(_ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let Some(sub) = args.get(1).map(|a| a.to_ascii_uppercase()) else {
        return Ok(Reply::Array(COMMANDS.iter().map(command_info).collect()));
    };
    let find = |name: &[u8]| super::commands::lookup(name).map(|i| &COMMANDS[i]);
    match sub.as_slice() {
        b"COUNT" => Ok(Reply::Integer(COMMANDS.len() as i64)),
        b"LIST" => Ok(Reply::Array(
            COMMANDS.iter().map(|s| bulk(s.name)).collect(),
        )),
        b"INFO" => {
            if args.len() == 2 {
                return Ok(Reply::Array(COMMANDS.iter().map(command_info).collect()));
            }
            Ok(Reply::Array(
                args[2..]
                    .iter()
                    .map(|name| find(name).map_or(Reply::Null, command_info))
                    .collect(),
            ))
        }
        b"DOCS" => {
            let specs: Vec<_> = if args.len() == 2 {
                COMMANDS.iter().collect()
            } else {
                args[2..].iter().filter_map(|name| find(name)).collect()
            };
            Ok(Reply::Map(
                specs
                    .into_iter()
                    .map(|spec| {
                        (
                            bulk(spec.name),
                            Reply::Map(vec![
                                (bulk("summary"), bulk(spec.summary)),
                                (bulk("since"), bulk("1.0.0")),
                                (bulk("group"), bulk(spec.group)),
                            ]),
                        )
                    })
                    .collect(),
            ))
        }
        _ => Err(err(format_args!(
            "unknown subcommand '{}'. Try COMMAND HELP.",
            printable(&args[1], 128)
        ))),
    }
}

/// INFO's sections, in Redis's order; `default` is all of these.
const SECTIONS: [&str; 9] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "keyspace",
];

pub(crate) fn info(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_lowercase())
        .collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w == "all" || w == "default" || w == "everything");
    let mut text = String::new();
    for section in SECTIONS {
        if !(all || wanted.iter().any(|w| w == section)) {
            continue;
        }
        if !text.is_empty() {
            text += "\r\n";
        }
        let mut title = section.to_string();
        title[..1].make_ascii_uppercase();
        let _ = write!(text, "# {title}\r\n");
        info_section(ctx.shared, section, &mut text)?;
    }
    Ok(bulk(text))
}

fn info_section(shared: &Shared, section: &str, out: &mut String) -> Result<(), Reply> {
    let mut field = |name: &str, value: &dyn std::fmt::Display| {
        let _ = write!(out, "{name}:{value}\r\n");
    };
    let store = &shared.store;
    let manifest = store.manifest();
    match section {
        "server" => {
            field("redis_version", &REDIS_COMPAT_VERSION);
            field("hoard_version", &env!("CARGO_PKG_VERSION"));
            field("redis_mode", &"standalone");
            field("os", &std::env::consts::OS);
            field("arch_bits", &(usize::BITS));
            field("process_id", &std::process::id());
            field("tcp_port", &shared.resp_addr.get().map_or(0, |a| a.port()));
            field("uptime_in_seconds", &(shared.uptime_ms() / 1000));
            field("uptime_in_days", &(shared.uptime_ms() / 86_400_000));
            field(
                "executable",
                &std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            field("hoard_store", &store.dir().display());
            field("hoard_engine", &manifest.engine);
            field("hoard_sync", &manifest.sync);
        }
        "clients" => {
            field(
                "connected_clients",
                &shared.stats.connections_current.load(Relaxed),
            );
            field("maxclients", &shared.max_clients.load(Relaxed));
            field("client_recent_max_input_buffer", &0);
            field("blocked_clients", &0);
            field(
                "hoard_client_buffer_bytes",
                &shared.stats.client_buffer_bytes.load(Relaxed),
            );
            field(
                "hoard_http_connections",
                &shared.http_connections.load(Relaxed),
            );
        }
        "memory" => {
            let rss = resident_bytes();
            field("used_memory", &rss);
            field("used_memory_rss", &rss);
            field("maxmemory", &0);
            field("mem_allocator", &"libc");
            if let Some(memory) = store.memory() {
                let (table, data) = memory.table_bytes();
                field("hoard_table_bytes", &table);
                field("hoard_data_bytes", &data);
            }
        }
        "persistence" => {
            let saves = &shared.saves;
            let background = store.background_log().unwrap_or_default();
            let bgsave = saves.bgsave_in_progress.load(Relaxed);
            let rewrite = saves.rewrite_in_progress.load(Relaxed);
            field("loading", &0);
            field("rdb_changes_since_last_save", &saves.dirty.load(Relaxed));
            field("rdb_bgsave_in_progress", &u8::from(bgsave));
            let last = saves.last_save_s.load(Relaxed);
            field(
                "rdb_last_save_time",
                &if last == 0 {
                    shared.started_unix_ms / 1000
                } else {
                    last
                },
            );
            field(
                "rdb_last_bgsave_status",
                &ok_err(saves.last_bgsave_ok.load(Relaxed)),
            );
            field("aof_enabled", &1);
            field("aof_rewrite_in_progress", &u8::from(rewrite));
            field(
                "aof_last_bgrewrite_status",
                &ok_err(saves.last_rewrite_ok.load(Relaxed)),
            );
            field("aof_last_write_status", &ok_err(!store.is_poisoned()));
            field("hoard_read_only", &u8::from(store.is_poisoned()));
            field("hoard_background_busy", &u8::from(background.busy));
            field("hoard_merges", &background.merges);
            field("hoard_last_merge_ms", &background.last_merge_ms);
            field("hoard_hint_rebuilds", &background.hint_rebuilds);
            field("hoard_snapshots", &background.snapshots);
            field("hoard_last_snapshot_ms", &background.last_snapshot_ms);
            field("hoard_background_errors", &background.errors.len());
            field("hoard_syncs", &store.sync_count());
        }
        "stats" => {
            let stats = &shared.stats;
            let commands: u64 = stats.commands.iter().map(|c| c.calls.load(Relaxed)).sum();
            field(
                "total_connections_received",
                &stats.connections_received.load(Relaxed),
            );
            field("total_commands_processed", &commands);
            field(
                "total_net_input_bytes",
                &stats.net_input_bytes.load(Relaxed),
            );
            field(
                "total_net_output_bytes",
                &stats.net_output_bytes.load(Relaxed),
            );
            field(
                "rejected_connections",
                &stats.connections_rejected.load(Relaxed),
            );
            field(
                "expired_keys",
                &store.background_log().map_or(0, |b| b.expired_keys),
            );
            field("evicted_keys", &0);
            field("keyspace_hits", &stats.keyspace_hits.load(Relaxed));
            field("keyspace_misses", &stats.keyspace_misses.load(Relaxed));
            field("total_error_replies", &stats.error_replies.load(Relaxed));
            field(
                "hoard_protocol_errors",
                &stats.protocol_errors.load(Relaxed),
            );
        }
        "replication" => shared.replication.info(&mut field),
        "cpu" => {
            let (user, system) = cpu_seconds();
            field("used_cpu_sys", &format_args!("{system:.6}"));
            field("used_cpu_user", &format_args!("{user:.6}"));
        }
        "commandstats" => {
            for (spec, stats) in COMMANDS.iter().zip(&shared.stats.commands) {
                let calls = stats.calls.load(Relaxed);
                let rejected = stats.rejected.load(Relaxed);
                if calls == 0 && rejected == 0 {
                    continue;
                }
                let usec = stats.usec.load(Relaxed);
                let _ = write!(
                    out,
                    "cmdstat_{}:calls={calls},usec={usec},usec_per_call={:.2},rejected_calls={rejected},failed_calls={}\r\n",
                    spec.name,
                    if calls == 0 {
                        0.0
                    } else {
                        usec as f64 / calls as f64
                    },
                    stats.failed.load(Relaxed),
                );
            }
        }
        "keyspace" => {
            let keys = store.count(b"")?;
            if keys > 0 {
                let _ = write!(out, "db0:keys={keys},expires=0,avg_ttl=0\r\n");
            }
        }
        _ => {}
    }
    Ok(())
}

fn ok_err(ok: bool) -> &'static str {
    if ok { "ok" } else { "err" }
}

/// The process's resident memory in bytes (Linux), or 0.
pub(crate) fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// User and system CPU seconds of the process (Linux), or zeros.
fn cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the command name (which may hold spaces) in parentheses.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return (0.0, 0.0);
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

impl Shared {
    /// A counted handle on this server, for work on threads of its own
    /// (`None` once the server is stopping).
    pub(crate) fn myself(&self) -> Option<Arc<Shared>> {
        self.this.get().and_then(std::sync::Weak::upgrade)
    }
}

/// What `/metrics` reports about the store.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StoreFigures {
    pub keys: u64,
    pub live_bytes: u64,
    pub dead_bytes: u64,
    pub merges: u64,
    pub last_merge_live_bytes: u64,
    pub last_merge_ms: u64,
    pub snapshots: u64,
    pub last_snapshot_ms: u64,
    pub syncs: u64,
    pub sync_seconds: f64,
}

/// How long the figures that cost a pass over the index are reused.
const FIGURES_FRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// The store's figures; key counts and byte totals cost a pass over the
/// index, so they are computed at most every `FIGURES_FRESH`.
pub(crate) fn store_figures(shared: &Shared) -> StoreFigures {
    let store = &shared.store;
    let mut cache = shared.figures.lock().unwrap_or_else(|e| e.into_inner());
    let (keys, live_bytes, dead_bytes) = match *cache {
        Some((at, counted)) if at.elapsed() < FIGURES_FRESH => counted,
        _ => {
            let now_ms = store.now_ms();
            let keys = store.count(b"").unwrap_or(0);
            let (live, dead) = if let Some(bitcask) = store.bitcask() {
                bitcask.file_use(now_ms).map_or((0, 0), |files| {
                    files
                        .values()
                        .fold((0, 0), |(l, d), f| (l + f.live_bytes, d + f.dead_bytes()))
                })
            } else if let Some(memory) = store.memory() {
                (memory.table_bytes().1, 0)
            } else {
                (0, 0)
            };
            *cache = Some((std::time::Instant::now(), (keys, live, dead)));
            (keys, live, dead)
        }
    };
    drop(cache);
    let background = store.background_log().unwrap_or_default();
    let (syncs, sync_time) = store.sync_stats();
    StoreFigures {
        keys,
        live_bytes,
        dead_bytes,
        merges: background.merges,
        last_merge_live_bytes: background.last_merge.map_or(0, |m| m.live_bytes),
        last_merge_ms: background.last_merge_ms,
        snapshots: background.snapshots,
        last_snapshot_ms: background.last_snapshot_ms,
        syncs,
        sync_seconds: sync_time.as_secs_f64(),
    }
}
