//! The data commands: strings and keys, with Redis 7.0's semantics and
//! error texts. Each read-modify-write is one `Store::update`, atomic
//! against every other writer; multi-key commands hold the transaction
//! gate exclusively (see `commands`).

use std::sync::atomic::Ordering::Relaxed;

use crate::engine::{Change, Value};
use crate::limits::{KEY_LEN_MAX, VALUE_LEN_MAX};
use crate::resp::Reply;
use crate::store::parse_redis_integer;

use super::commands::{Ctx, Out, err, printable};

/// Whether hoard can hold `key` (Redis allows the empty key and longer
/// ones; hoard's keys are 1 to 64 KiB). A key it cannot hold cannot exist,
/// so reads answer as for a missing key and writes are refused.
pub(crate) fn is_storable(key: &[u8]) -> bool {
    !key.is_empty() && key.len() <= KEY_LEN_MAX
}

fn storable(key: &[u8]) -> Result<&[u8], Reply> {
    if is_storable(key) {
        Ok(key)
    } else {
        Err(err(format_args!(
            "hoard keys are 1 to {KEY_LEN_MAX} bytes long; this one is {} bytes",
            key.len()
        )))
    }
}

pub(crate) fn not_integer() -> Reply {
    err("value is not an integer or out of range")
}

fn syntax() -> Reply {
    err("syntax error")
}

fn too_big() -> Reply {
    err("string exceeds maximum allowed size (proto-max-bulk-len)")
}

fn invalid_expire(command: &str) -> Reply {
    err(format_args!("invalid expire time in '{command}' command"))
}

/// An integer argument as Redis reads one.
pub(crate) fn integer(arg: &[u8]) -> Result<i64, Reply> {
    parse_redis_integer(arg).ok_or_else(not_integer)
}

/// The live value of `key`, counting a hit or a miss.
fn read(ctx: &Ctx<'_>, key: &[u8]) -> Result<Option<Value>, Reply> {
    if !is_storable(key) {
        ctx.shared.stats.keyspace_misses.fetch_add(1, Relaxed);
        return Ok(None);
    }
    let value = ctx.shared.store.get(key)?;
    let counter = if value.is_some() {
        &ctx.shared.stats.keyspace_hits
    } else {
        &ctx.shared.stats.keyspace_misses
    };
    counter.fetch_add(1, Relaxed);
    Ok(value)
}

/// Whether `key` is live (a key hoard cannot hold is not).
pub(crate) fn is_live(ctx: &Ctx<'_>, key: &[u8]) -> Result<bool, Reply> {
    Ok(is_storable(key) && ctx.shared.store.contains(key)?)
}

// Every write goes through these, so WATCH sees it and replicas get it
// in the store's order (the replication order is held across the write).

/// Sets `key`, expiring at `expiry_ms` if given.
fn put(ctx: &Ctx<'_>, key: &[u8], value: &[u8], expiry_ms: Option<u64>) -> Result<(), Reply> {
    let mut order = ctx.shared.replication.order();
    ctx.shared.store.put_at(key, value, expiry_ms)?;
    order.set(key, value, expiry_ms);
    drop(order);
    ctx.shared.watches.touch(key);
    Ok(())
}

/// Deletes `key`; whether it was live.
fn delete(ctx: &Ctx<'_>, key: &[u8]) -> Result<bool, Reply> {
    let mut order = ctx.shared.replication.order();
    let deleted = ctx.shared.store.delete(key)?;
    if deleted {
        order.delete(key);
        drop(order);
        ctx.shared.watches.touch(key);
    }
    Ok(deleted)
}

/// Removes the expiry of `key`; whether it had one.
fn persist_key(ctx: &Ctx<'_>, key: &[u8]) -> Result<bool, Reply> {
    let mut order = ctx.shared.replication.order();
    let done = ctx.shared.store.persist(key)?;
    if done {
        order.persist(key);
        drop(order);
        ctx.shared.watches.touch(key);
    }
    Ok(done)
}

/// A read-modify-write of `key` (`Store::update`); a change is a write,
/// propagated as the absolute operation it came to (SET with PXAT, DEL).
fn update<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    decide: impl FnOnce(Option<Value>) -> crate::Result<(Change, R)>,
) -> Result<R, Reply> {
    let mut order = ctx.shared.replication.order();
    // The new value is copied for the stream only while replicas exist.
    let replicating = order.is_active();
    let mut changed = false;
    let mut propagate = None;
    let result = ctx.shared.store.update(key, |current| {
        let (decided, result) = decide(current)?;
        changed = !matches!(decided, Change::Keep);
        if replicating && changed {
            propagate = Some(decided.clone());
        }
        Ok((decided, result))
    })?;
    if !changed {
        return Ok(result);
    }
    match propagate {
        Some(Change::Put(value, expiry_ms)) => order.set(key, &value, expiry_ms),
        Some(Change::Delete) => order.delete(key),
        Some(Change::Keep) | None => {}
    }
    drop(order);
    ctx.shared.watches.touch(key);
    Ok(result)
}

fn bulk_or_null(value: Option<Vec<u8>>) -> Reply {
    value.map_or(Reply::Null, Reply::Bulk)
}

pub(crate) fn get(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    Ok(bulk_or_null(read(ctx, &args[1])?.map(|v| v.bytes)))
}

/// The expiry a SET-like command gives its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// None (a plain SET clears it).
    Clear,
    /// At this Unix ms (may be past: the key is then deleted).
    At(u64),
    /// The key's current one (KEEPTTL).
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    IfAbsent,
    IfPresent,
}

/// How an expiry argument reads: EX, PX, EXAT or PXAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpiryKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpiryKind {
    fn seconds(self) -> bool {
        matches!(self, ExpiryKind::Ex | ExpiryKind::ExAt)
    }

    fn relative(self) -> bool {
        matches!(self, ExpiryKind::Ex | ExpiryKind::Px)
    }
}

/// The options of SET (from argument 3) or GETEX (from argument 2), as
/// Redis 7.0's `parseExtendedStringArgumentsOrReply` reads them: an option
/// may repeat (the last value wins), but NX/XX, and KEEPTTL/PERSIST and
/// the expiry kinds, exclude each other. Values are not read yet.
#[derive(Debug, Default)]
struct ExtendedArgs<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expiry: Option<(ExpiryKind, &'a [u8])>,
}

fn parse_extended(args: &[Vec<u8>], set: bool) -> Result<ExtendedArgs<'_>, Reply> {
    let mut parsed = ExtendedArgs::default();
    let mut i = if set { 3 } else { 2 };
    while i < args.len() {
        let option = args[i].to_ascii_uppercase();
        let next = args.get(i + 1).map(Vec::as_slice);
        let other_kind = |kind: ExpiryKind| parsed.expiry.is_some_and(|(k, _)| k != kind);
        let kind = match option.as_slice() {
            b"EX" => Some(ExpiryKind::Ex),
            b"PX" => Some(ExpiryKind::Px),
            b"EXAT" => Some(ExpiryKind::ExAt),
            b"PXAT" => Some(ExpiryKind::PxAt),
            _ => None,
        };
        match (option.as_slice(), kind, next) {
            (b"NX", _, _) if set && !parsed.xx => parsed.nx = true,
            (b"XX", _, _) if set && !parsed.nx => parsed.xx = true,
            (b"GET", _, _) if set => parsed.get = true,
            (b"KEEPTTL", _, _) if set && !parsed.persist && parsed.expiry.is_none() => {
                parsed.keepttl = true;
            }
            (b"PERSIST", _, _) if !set && !parsed.keepttl && parsed.expiry.is_none() => {
                parsed.persist = true;
            }
            (_, Some(kind), Some(value))
                if !parsed.keepttl && !parsed.persist && !other_kind(kind) =>
            {
                parsed.expiry = Some((kind, value));
                i += 1;
            }
            _ => return Err(syntax()),
        }
        i += 1;
    }
    Ok(parsed)
}

/// An expiry argument as Redis's `getExpireMillisecondsOrReply` reads
/// it: an integer greater than 0 that does not overflow once converted
/// to ms and, for EX/PX, added to now. Returns the absolute time in ms.
fn expiry_at(kind: ExpiryKind, arg: &[u8], now_ms: u64, command: &str) -> Result<u64, Reply> {
    expiry_arg(arg, kind.seconds(), kind.relative(), now_ms, command)
}

/// A relative or absolute expiry argument in seconds or ms (see `expiry_at`).
fn expiry_arg(
    arg: &[u8],
    seconds: bool,
    relative: bool,
    now_ms: u64,
    command: &str,
) -> Result<u64, Reply> {
    let n = integer(arg)?;
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(invalid_expire(command));
    }
    let ms = if seconds { n * 1000 } else { n };
    let at = if relative {
        ms.checked_add(now_ms as i64)
            .ok_or_else(|| invalid_expire(command))?
    } else {
        ms
    };
    Ok(at as u64)
}

pub(crate) fn set(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let parsed = parse_extended(args, true)?;
    // The clock only matters to an expiry (a plain SET is the hot path).
    let now_ms = if parsed.expiry.is_some() {
        ctx.shared.store.now_ms()
    } else {
        0
    };
    let expiry = match parsed.expiry {
        Some((kind, value)) => Expiry::At(expiry_at(kind, value, now_ms, "set")?),
        None if parsed.keepttl => Expiry::Keep,
        None => Expiry::Clear,
    };
    let condition = if parsed.nx {
        Condition::IfAbsent
    } else if parsed.xx {
        Condition::IfPresent
    } else {
        Condition::Always
    };
    set_generic(
        ctx, &args[1], &args[2], condition, expiry, parsed.get, now_ms,
    )
}

/// SET and its relatives: writes `value` if `condition` holds; the reply
/// is the old value with `return_old`, else OK (or nil when not written).
fn set_generic(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: &[u8],
    condition: Condition,
    expiry: Expiry,
    return_old: bool,
    now_ms: u64,
) -> Out {
    let key = storable(key)?;
    if condition == Condition::Always && !return_old {
        match expiry {
            Expiry::At(at) if at <= now_ms => {
                delete(ctx, key)?;
            }
            Expiry::At(at) => put(ctx, key, value, Some(at))?,
            Expiry::Clear => put(ctx, key, value, None)?,
            Expiry::Keep => {
                update(ctx, key, |current| {
                    let keep = current.and_then(|v| v.expiry_ms);
                    Ok((Change::Put(value.to_vec(), keep), ()))
                })?;
            }
        }
        return Ok(Reply::ok());
    }
    let (written, old) = update(ctx, key, |current| {
        let (found, old, old_expiry) = match current {
            Some(v) => (true, Some(v.bytes), v.expiry_ms),
            None => (false, None, None),
        };
        let old = if return_old { old } else { None };
        let refused = match condition {
            Condition::Always => false,
            Condition::IfAbsent => found,
            Condition::IfPresent => !found,
        };
        if refused {
            return Ok((Change::Keep, (false, old)));
        }
        let change = match expiry {
            Expiry::At(at) if at <= now_ms => Change::Delete,
            Expiry::At(at) => Change::Put(value.to_vec(), Some(at)),
            Expiry::Clear => Change::Put(value.to_vec(), None),
            Expiry::Keep => Change::Put(value.to_vec(), old_expiry),
        };
        Ok((change, (true, old)))
    })?;
    Ok(if return_old {
        bulk_or_null(old)
    } else if written {
        Reply::ok()
    } else {
        Reply::Null
    })
}

fn setex_generic(ctx: &mut Ctx<'_>, args: &[Vec<u8>], seconds: bool, command: &str) -> Out {
    let now_ms = ctx.shared.store.now_ms();
    let at = expiry_arg(&args[2], seconds, true, now_ms, command)?;
    set_generic(
        ctx,
        &args[1],
        &args[3],
        Condition::Always,
        Expiry::At(at),
        false,
        now_ms,
    )
}

pub(crate) fn setex(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    setex_generic(ctx, args, true, "setex")
}

pub(crate) fn psetex(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    setex_generic(ctx, args, false, "psetex")
}

pub(crate) fn setnx(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let now_ms = ctx.shared.store.now_ms();
    let reply = set_generic(
        ctx,
        &args[1],
        &args[2],
        Condition::IfAbsent,
        Expiry::Clear,
        false,
        now_ms,
    )?;
    Ok(Reply::Integer(i64::from(reply != Reply::Null)))
}

pub(crate) fn getset(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let now_ms = ctx.shared.store.now_ms();
    set_generic(
        ctx,
        &args[1],
        &args[2],
        Condition::Always,
        Expiry::Clear,
        true,
        now_ms,
    )
}

pub(crate) fn getdel(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    if !is_storable(&args[1]) {
        return Ok(Reply::Null);
    }
    let old = update(ctx, &args[1], |current| {
        Ok(match current {
            Some(v) => (Change::Delete, Some(v.bytes)),
            None => (Change::Keep, None),
        })
    })?;
    Ok(bulk_or_null(old))
}

/// GETEX as Redis 7.0 runs it: options first (syntax), then the key (a
/// missing key is nil whatever the expiry says), then the expiry value.
pub(crate) fn getex(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let parsed = parse_extended(args, false)?;
    if parsed.expiry.is_none() && !parsed.persist {
        return get(ctx, args);
    }
    if !is_storable(&args[1]) {
        return Ok(Reply::Null);
    }
    let now_ms = ctx.shared.store.now_ms();
    update(ctx, &args[1], |current| {
        let Some(v) = current else {
            return Ok((Change::Keep, Ok(Reply::Null)));
        };
        let new_expiry = match parsed.expiry {
            Some((kind, value)) => match expiry_at(kind, value, now_ms, "getex") {
                Ok(at) => Some(at),
                Err(reply) => return Ok((Change::Keep, Err(reply))),
            },
            None => None,
        };
        let change = match new_expiry {
            // Only an absolute time can be past (EX and PX are > 0).
            Some(at) if at <= now_ms => Change::Delete,
            Some(at) => Change::Put(v.bytes.clone(), Some(at)),
            None if v.expiry_ms.is_some() => Change::Put(v.bytes.clone(), None),
            None => Change::Keep,
        };
        Ok((change, Ok(Reply::Bulk(v.bytes))))
    })?
}

pub(crate) fn mget(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let mut replies = Vec::with_capacity(args.len() - 1);
    let mut bytes = 0usize;
    for key in &args[1..] {
        let value = read(ctx, key)?.map(|v| v.bytes);
        bytes += value.as_ref().map_or(0, Vec::len);
        if bytes > ctx.shared.options.reply_max {
            return Err(reply_too_big(ctx, "MGET"));
        }
        replies.push(bulk_or_null(value));
    }
    Ok(Reply::Array(replies))
}

pub(crate) fn reply_too_big(ctx: &Ctx<'_>, command: &str) -> Reply {
    err(format_args!(
        "the reply to {command} would pass the server's reply limit of {} bytes; ask for less \
         (SCAN with COUNT for keys)",
        ctx.shared.options.reply_max
    ))
}

/// A key and the value to give it.
type Pair = (Vec<u8>, Vec<u8>);

fn pairs(args: &[Vec<u8>], command: &str) -> Result<Vec<Pair>, Reply> {
    if args.len().is_multiple_of(2) {
        return Err(err(format_args!(
            "wrong number of arguments for '{command}' command"
        )));
    }
    args[1..]
        .chunks(2)
        .map(|pair| Ok((storable(&pair[0])?.to_vec(), pair[1].clone())))
        .collect()
}

pub(crate) fn mset(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let pairs = pairs(args, "mset")?;
    for (key, value) in &pairs {
        put(ctx, key, value, None)?;
    }
    Ok(Reply::ok())
}

pub(crate) fn msetnx(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let pairs = pairs(args, "msetnx")?;
    for (key, _) in &pairs {
        if ctx.shared.store.contains(key)? {
            return Ok(Reply::Integer(0));
        }
    }
    for (key, value) in &pairs {
        put(ctx, key, value, None)?;
    }
    Ok(Reply::Integer(1))
}

fn incr_generic(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> Out {
    let key = storable(key)?;
    update(ctx, key, |current| {
        let (number, expiry) = match current {
            None => (0, None),
            Some(v) => match parse_redis_integer(&v.bytes) {
                Some(n) => (n, v.expiry_ms),
                None => return Ok((Change::Keep, Err(not_integer()))),
            },
        };
        let Some(result) = number.checked_add(by) else {
            return Ok((
                Change::Keep,
                Err(err("increment or decrement would overflow")),
            ));
        };
        Ok((
            Change::Put(result.to_string().into_bytes(), expiry),
            Ok(Reply::Integer(result)),
        ))
    })?
}

pub(crate) fn incr(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    incr_generic(ctx, &args[1], 1)
}

pub(crate) fn decr(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    incr_generic(ctx, &args[1], -1)
}

pub(crate) fn incrby(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let by = integer(&args[2])?;
    incr_generic(ctx, &args[1], by)
}

pub(crate) fn decrby(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let by = integer(&args[2])?;
    let by = by
        .checked_neg()
        .ok_or_else(|| err("decrement would overflow"))?;
    incr_generic(ctx, &args[1], by)
}

pub(crate) fn incrbyfloat(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    use super::long_double::{LongDouble, Sum};
    let key = storable(&args[1])?;
    let not_float = || err("value is not a valid float");
    let by = LongDouble::parse(&args[2]).ok_or_else(not_float)?;
    update(ctx, key, |current| {
        let (number, expiry) = match current {
            None => (LongDouble::parse(b"0"), None),
            Some(v) => (LongDouble::parse(&v.bytes), v.expiry_ms),
        };
        let Some(number) = number else {
            return Ok((Change::Keep, Err(not_float())));
        };
        // An infinite operand, or a sum past the range, is Redis's
        // "NaN or Infinity" error.
        let sum = match (number, by) {
            (Ok(a), Ok(b)) => a.add(b),
            _ => Sum::Infinite,
        };
        let Sum::Finite(sum) = sum else {
            return Ok((
                Change::Keep,
                Err(err("increment would produce NaN or Infinity")),
            ));
        };
        let text = sum.to_human().into_bytes();
        Ok((Change::Put(text.clone(), expiry), Ok(Reply::Bulk(text))))
    })?
}

pub(crate) fn append(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let key = storable(&args[1])?;
    let suffix = &args[2];
    update(ctx, key, |current| {
        let (mut bytes, expiry) = current.map_or((Vec::new(), None), |v| (v.bytes, v.expiry_ms));
        if bytes.len() + suffix.len() > VALUE_LEN_MAX {
            return Ok((Change::Keep, Err(too_big())));
        }
        bytes.extend_from_slice(suffix);
        let len = bytes.len() as i64;
        Ok((Change::Put(bytes, expiry), Ok(Reply::Integer(len))))
    })?
}

pub(crate) fn strlen(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    if !is_storable(&args[1]) {
        return Ok(Reply::Integer(0));
    }
    let meta = ctx.shared.store.meta(&args[1])?;
    Ok(Reply::Integer(meta.map_or(0, |m| i64::from(m.value_len))))
}

pub(crate) fn getrange(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let mut start = integer(&args[2])?;
    let mut end = integer(&args[3])?;
    let bytes = read(ctx, &args[1])?.map(|v| v.bytes).unwrap_or_default();
    let len = bytes.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::Bulk(Vec::new()));
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(Reply::Bulk(Vec::new()));
    }
    Ok(Reply::Bulk(bytes[start as usize..=end as usize].to_vec()))
}

pub(crate) fn setrange(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let key = storable(&args[1])?;
    let offset = integer(&args[2])?;
    if offset < 0 {
        return Err(err("offset is out of range"));
    }
    let patch = &args[3];
    let offset = offset as u64;
    update(ctx, key, |current| {
        let (mut bytes, expiry) = match current {
            Some(v) => (v.bytes, v.expiry_ms),
            None if patch.is_empty() => return Ok((Change::Keep, Ok(Reply::Integer(0)))),
            None => (Vec::new(), None),
        };
        if patch.is_empty() {
            let len = bytes.len() as i64;
            return Ok((Change::Keep, Ok(Reply::Integer(len))));
        }
        if offset + patch.len() as u64 > VALUE_LEN_MAX as u64 {
            return Ok((Change::Keep, Err(too_big())));
        }
        let offset = offset as usize;
        if bytes.len() < offset + patch.len() {
            bytes.resize(offset + patch.len(), 0);
        }
        bytes[offset..offset + patch.len()].copy_from_slice(patch);
        let len = bytes.len() as i64;
        Ok((Change::Put(bytes, expiry), Ok(Reply::Integer(len))))
    })?
}

pub(crate) fn del(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let mut deleted = 0;
    for key in &args[1..] {
        if is_storable(key) && delete(ctx, key)? {
            deleted += 1;
        }
    }
    Ok(Reply::Integer(deleted))
}

pub(crate) fn exists(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let mut found = 0;
    for key in &args[1..] {
        if is_live(ctx, key)? {
            found += 1;
        }
    }
    Ok(Reply::Integer(found))
}

pub(crate) fn type_(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let found = is_live(ctx, &args[1])?;
    Ok(Reply::Simple(if found { "string" } else { "none" }.into()))
}

/// EXPIRE and its relatives, as Redis 7.0's `expireGenericCommand`.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    args: &[Vec<u8>],
    seconds: bool,
    relative: bool,
    command: &str,
) -> Out {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for option in &args[3..] {
        match option.to_ascii_uppercase().as_slice() {
            b"NX" => nx = true,
            b"XX" => xx = true,
            b"GT" => gt = true,
            b"LT" => lt = true,
            _ => {
                return Err(err(format_args!(
                    "Unsupported option {}",
                    printable(option, 128)
                )));
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Err(err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(err("GT and LT options at the same time are not compatible"));
    }
    let n = integer(&args[2])?;
    let invalid = || err(format_args!("invalid expire time in '{command}' command"));
    let mut when = n;
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&n) {
            return Err(invalid());
        }
        when = n * 1000;
    }
    let now_ms = ctx.shared.store.now_ms() as i64;
    if relative {
        when = when.checked_add(now_ms).ok_or_else(invalid)?;
    }
    if !is_storable(&args[1]) {
        return Ok(Reply::Integer(0));
    }
    let set = update(ctx, &args[1], |current| {
        let Some(v) = current else {
            return Ok((Change::Keep, false));
        };
        let current_at = v.expiry_ms.map(|at| at as i64);
        let refused = (nx && current_at.is_some())
            || (xx && current_at.is_none())
            || (gt && current_at.is_none_or(|at| when <= at))
            || (lt && current_at.is_some_and(|at| when >= at));
        if refused {
            return Ok((Change::Keep, false));
        }
        if when <= now_ms {
            return Ok((Change::Delete, true));
        }
        Ok((Change::Put(v.bytes, Some(when as u64)), true))
    })?;
    Ok(Reply::Integer(i64::from(set)))
}

pub(crate) fn expire(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    expire_generic(ctx, args, true, true, "expire")
}

pub(crate) fn pexpire(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    expire_generic(ctx, args, false, true, "pexpire")
}

pub(crate) fn expireat(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    expire_generic(ctx, args, true, false, "expireat")
}

pub(crate) fn pexpireat(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    expire_generic(ctx, args, false, false, "pexpireat")
}

/// TTL and its relatives, as Redis 7.0's `ttlGenericCommand`: -2 for a
/// missing key, -1 for one without expiry.
fn ttl_generic(ctx: &mut Ctx<'_>, args: &[Vec<u8>], ms: bool, absolute: bool) -> Out {
    if !is_storable(&args[1]) {
        return Ok(Reply::Integer(-2));
    }
    let now_ms = ctx.shared.store.now_ms();
    let Some(meta) = ctx.shared.store.meta(&args[1])? else {
        return Ok(Reply::Integer(-2));
    };
    let Some(at) = meta.expiry_ms else {
        return Ok(Reply::Integer(-1));
    };
    let value = if absolute {
        at
    } else {
        at.saturating_sub(now_ms)
    } as i64;
    Ok(Reply::Integer(if ms {
        value
    } else {
        (value + 500) / 1000
    }))
}

pub(crate) fn ttl(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    ttl_generic(ctx, args, false, false)
}

pub(crate) fn pttl(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    ttl_generic(ctx, args, true, false)
}

pub(crate) fn expiretime(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    ttl_generic(ctx, args, false, true)
}

pub(crate) fn pexpiretime(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    ttl_generic(ctx, args, true, true)
}

pub(crate) fn persist(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let done = is_storable(&args[1]) && persist_key(ctx, &args[1])?;
    Ok(Reply::Integer(i64::from(done)))
}

/// RENAME and RENAMENX: the destination is written before the source is
/// deleted, so a crash between the two leaves both, never neither.
fn rename_generic(ctx: &mut Ctx<'_>, args: &[Vec<u8>], nx: bool) -> Out {
    let (from, to) = (&args[1], &args[2]);
    let Some(value) = read(ctx, from)? else {
        return Err(err("no such key"));
    };
    if from == to {
        return Ok(if nx { Reply::Integer(0) } else { Reply::ok() });
    }
    let to = storable(to)?;
    if nx && ctx.shared.store.contains(to)? {
        return Ok(Reply::Integer(0));
    }
    put(ctx, to, &value.bytes, value.expiry_ms)?;
    delete(ctx, from)?;
    Ok(if nx { Reply::Integer(1) } else { Reply::ok() })
}

pub(crate) fn rename(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    rename_generic(ctx, args, false)
}

pub(crate) fn renamenx(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    rename_generic(ctx, args, true)
}

pub(crate) fn copy(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        match args[i].to_ascii_uppercase().as_slice() {
            b"REPLACE" => replace = true,
            b"DB" if i + 1 < args.len() => {
                if integer(&args[i + 1])? != 0 {
                    return Err(err("DB index is out of range"));
                }
                i += 1;
            }
            _ => return Err(syntax()),
        }
        i += 1;
    }
    let (from, to) = (&args[1], &args[2]);
    if from == to {
        return Err(err("source and destination objects are the same"));
    }
    let Some(value) = read(ctx, from)? else {
        return Ok(Reply::Integer(0));
    };
    let to = storable(to)?;
    if !replace && ctx.shared.store.contains(to)? {
        return Ok(Reply::Integer(0));
    }
    put(ctx, to, &value.bytes, value.expiry_ms)?;
    Ok(Reply::Integer(1))
}

pub(crate) fn randomkey(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    let keys = ctx.shared.store.keys(b"", None)?;
    if keys.is_empty() {
        return Ok(Reply::Null);
    }
    use std::hash::BuildHasher;
    let pick = std::collections::hash_map::RandomState::new().hash_one(ctx.shared.uptime_ms());
    Ok(Reply::Bulk(
        keys[(pick % keys.len() as u64) as usize].clone(),
    ))
}

pub(crate) fn keys(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let keys = ctx.shared.store.keys_matching(b"", &args[1], None)?;
    let bytes: usize = keys.iter().map(|k| k.len() + 16).sum();
    if bytes > ctx.shared.options.reply_max {
        return Err(reply_too_big(ctx, "KEYS"));
    }
    Ok(Reply::Array(keys.into_iter().map(Reply::Bulk).collect()))
}

/// SCAN's cursor is a position in the order of the keys' fixed 32-bit
/// hash (the hint's fingerprint): a call returns the keys whose hash is at
/// or after the cursor, every key of a hash together, and the cursor is
/// the next hash; 0 starts and ends. A key present for the whole
/// iteration is returned at least once, whatever is written meanwhile,
/// as Redis promises. A connection keeps the listing between calls
/// (`ScanState`), so a whole iteration lists the keys once.
pub(crate) fn scan(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    let cursor: u64 = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| err("invalid cursor"))?;
    let mut pattern: Option<&[u8]> = None;
    let mut count = 10usize;
    let mut type_matches = true;
    let mut i = 2;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Err(syntax());
        };
        match args[i].to_ascii_uppercase().as_slice() {
            b"MATCH" => pattern = Some(value),
            b"COUNT" => {
                let n = integer(value)?;
                if n < 1 {
                    return Err(syntax());
                }
                count = n as usize;
            }
            b"TYPE" => type_matches = value.eq_ignore_ascii_case(b"string"),
            _ => return Err(syntax()),
        }
        i += 2;
    }
    if cursor > u64::from(u32::MAX) {
        return Ok(Reply::Array(vec![
            Reply::Bulk(b"0".to_vec()),
            Reply::Array(Vec::new()),
        ]));
    }
    // Continue from this connection's listing if the cursor is the one it
    // returned last; otherwise list afresh from the cursor.
    let mut state = match ctx.session.scan.take() {
        Some(state) if state.next == cursor => state,
        _ => {
            let mut keys: Vec<(u32, Vec<u8>)> = ctx
                .shared
                .store
                .keys(b"", None)?
                .into_iter()
                .map(|key| (crate::format::hint::fingerprint(&key), key))
                .filter(|(hash, _)| u64::from(*hash) >= cursor)
                .collect();
            keys.sort_unstable();
            ScanState {
                next: cursor,
                keys,
                at: 0,
            }
        }
    };
    let keys = &state.keys;
    let mut next = 0u64;
    let mut bytes = 0usize;
    let mut out = Vec::new();
    let mut i = state.at;
    while i < keys.len() {
        let (hash, key) = &keys[i];
        // Past COUNT, stop at the next new hash: a hash's keys go together.
        if i - state.at >= count && keys[i - 1].0 != *hash {
            next = u64::from(*hash);
            break;
        }
        bytes += key.len() + 16;
        if bytes > ctx.shared.options.reply_max {
            return Err(reply_too_big(ctx, "SCAN"));
        }
        // A key deleted since the listing is left out.
        if type_matches
            && pattern.is_none_or(|p| crate::glob::matches(p, key))
            && ctx.shared.store.contains(key)?
        {
            out.push(Reply::Bulk(key.clone()));
        }
        i += 1;
    }
    state.at = i;
    state.next = next;
    // Kept only while small: a connection must not pin a big listing (a
    // larger store is listed afresh on each call).
    let listed: usize = state.keys.iter().map(|(_, k)| k.len() + 32).sum();
    if next != 0 && listed <= SCAN_KEPT_MAX {
        ctx.session.scan = Some(state);
    }
    Ok(Reply::Array(vec![
        Reply::Bulk(next.to_string().into_bytes()),
        Reply::Array(out),
    ]))
}

/// The most bytes of key listing a connection keeps between SCAN calls.
const SCAN_KEPT_MAX: usize = 16 << 20;

/// Where a connection's SCAN stands: the keys at or after its first
/// cursor in hash order, as listed then, and how far it has returned them.
/// A key written since is not in it, which SCAN allows (only keys present
/// for the whole iteration must be returned); keys deleted since are
/// checked and left out.
#[derive(Debug, Default)]
pub(crate) struct ScanState {
    /// The cursor the last call returned.
    next: u64,
    keys: Vec<(u32, Vec<u8>)>,
    at: usize,
}

pub(crate) fn dbsize(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Out {
    Ok(Reply::Integer(ctx.shared.store.count(b"")? as i64))
}

pub(crate) fn flushall(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Out {
    for option in &args[1..] {
        if !(option.eq_ignore_ascii_case(b"SYNC") || option.eq_ignore_ascii_case(b"ASYNC")) {
            return Err(syntax());
        }
    }
    let keys = ctx.shared.store.keys(b"", None)?;
    for key in &keys {
        delete(ctx, key)?;
    }
    Ok(Reply::ok())
}
