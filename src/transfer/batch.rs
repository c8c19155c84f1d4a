//! A batch of Redis write commands, as a Redis user pipes them into
//! `redis-cli --pipe`, applied to a store in order: SET (EX, PX, EXAT,
//! PXAT, NX, XX, KEEPTTL), SETNX, SETEX, PSETEX, MSET, DEL, UNLINK,
//! EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST, INCR, INCRBY, DECR,
//! DECRBY, APPEND. Anything else is refused with the command's name.

use crate::error::{Error, Result};
use crate::store::{SetCondition, SetExpiry, Store};

/// What one command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// It ran (a SET NX that found the key counts too: Redis replies to it).
    Done,
    /// A SET whose expiry had already passed: skipped, as every import
    /// skips an entry that is already expired.
    Expired,
}

fn invalid(message: String) -> Error {
    Error::InvalidInput(message)
}

fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

fn integer(arg: &[u8], what: &str) -> Result<i64> {
    crate::store::parse_redis_integer(arg)
        .ok_or_else(|| invalid(format!("{what} {:?} is not an integer", text(arg))))
}

/// `now_ms + amount * scale`, the absolute time of a relative expiry.
fn after(now_ms: u64, amount: i64, scale: i64) -> Result<u64> {
    amount
        .checked_mul(scale)
        .and_then(|ms| (now_ms as i64).checked_add(ms))
        .map(|at| at.max(0) as u64)
        .ok_or_else(|| invalid(format!("expiry {amount} is too large")))
}

/// Applies one command. An `Error::InvalidInput` is the command's fault
/// (unknown command, wrong arguments, a value that is not an integer) and
/// changed nothing; any other error is the store's.
pub fn apply(store: &Store, args: &[Vec<u8>], now_ms: u64) -> Result<Applied> {
    let name = args[0].to_ascii_uppercase();
    let arity = |ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(invalid(format!(
                "wrong number of arguments for {}",
                text(&name)
            )))
        }
    };
    match name.as_slice() {
        b"SET" => {
            arity(args.len() >= 3)?;
            set(store, &args[1], &args[2], &args[3..], now_ms)
        }
        b"SETNX" => {
            arity(args.len() == 3)?;
            store.set_with(&args[1], &args[2], SetExpiry::Clear, SetCondition::IfAbsent)?;
            Ok(Applied::Done)
        }
        b"SETEX" | b"PSETEX" => {
            arity(args.len() == 4)?;
            let amount = integer(&args[2], "expire time")?;
            if amount <= 0 {
                return Err(invalid(format!(
                    "invalid expire time {amount} in {}",
                    text(&name)
                )));
            }
            let scale = if name == b"SETEX" { 1000 } else { 1 };
            let at = after(now_ms, amount, scale)?;
            store.set_with(
                &args[1],
                &args[3],
                SetExpiry::AtMs(at),
                SetCondition::Always,
            )?;
            Ok(Applied::Done)
        }
        b"MSET" => {
            arity(args.len() >= 3 && args.len() % 2 == 1)?;
            for pair in args[1..].chunks(2) {
                store.put_at(&pair[0], &pair[1], None)?;
            }
            Ok(Applied::Done)
        }
        b"DEL" | b"UNLINK" => {
            arity(args.len() >= 2)?;
            for key in &args[1..] {
                store.delete(key)?;
            }
            Ok(Applied::Done)
        }
        b"EXPIRE" | b"PEXPIRE" | b"EXPIREAT" | b"PEXPIREAT" => {
            if args.len() > 3 {
                return Err(invalid(format!(
                    "{} options ({}) are not supported",
                    text(&name),
                    text(&args[3])
                )));
            }
            arity(args.len() == 3)?;
            let amount = integer(&args[2], "expire time")?;
            let at = match name.as_slice() {
                b"EXPIRE" => after(now_ms, amount, 1000)?,
                b"PEXPIRE" => after(now_ms, amount, 1)?,
                b"EXPIREAT" => after(0, amount, 1000)?,
                _ => after(0, amount, 1)?,
            };
            // A time already past deletes the key, as in Redis.
            store.expire_at(&args[1], at.max(1))?;
            Ok(Applied::Done)
        }
        b"PERSIST" => {
            arity(args.len() == 2)?;
            store.persist(&args[1])?;
            Ok(Applied::Done)
        }
        b"INCR" | b"DECR" => {
            arity(args.len() == 2)?;
            store.incr_by(&args[1], if name == b"INCR" { 1 } else { -1 })?;
            Ok(Applied::Done)
        }
        b"INCRBY" | b"DECRBY" => {
            arity(args.len() == 3)?;
            let by = integer(&args[2], "increment")?;
            let by = if name == b"INCRBY" {
                by
            } else {
                by.checked_neg()
                    .ok_or_else(|| invalid(format!("decrement {by} is out of range")))?
            };
            store.incr_by(&args[1], by)?;
            Ok(Applied::Done)
        }
        b"APPEND" => {
            arity(args.len() == 3)?;
            store.append(&args[1], &args[2])?;
            Ok(Applied::Done)
        }
        _ => Err(invalid(format!(
            "unsupported command {}: a batch takes SET, SETNX, SETEX, PSETEX, MSET, DEL, \
             UNLINK, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST, INCR, INCRBY, DECR, \
             DECRBY and APPEND",
            text(&args[0])
        ))),
    }
}

fn set(
    store: &Store,
    key: &[u8],
    value: &[u8],
    options: &[Vec<u8>],
    now_ms: u64,
) -> Result<Applied> {
    let syntax = || invalid("syntax error in SET options".to_string());
    let mut expiry = None;
    let mut condition = SetCondition::Always;
    let mut i = 0;
    while i < options.len() {
        let option = options[i].to_ascii_uppercase();
        match option.as_slice() {
            b"NX" | b"XX" => {
                if condition != SetCondition::Always {
                    return Err(syntax());
                }
                condition = if option == b"NX" {
                    SetCondition::IfAbsent
                } else {
                    SetCondition::IfPresent
                };
            }
            b"KEEPTTL" => {
                if expiry.replace(SetExpiry::Keep).is_some() {
                    return Err(syntax());
                }
            }
            b"EX" | b"PX" | b"EXAT" | b"PXAT" => {
                let amount = options.get(i + 1).ok_or_else(syntax)?;
                let amount = integer(amount, "expire time")?;
                if amount <= 0 {
                    return Err(invalid(format!("invalid expire time {amount} in SET")));
                }
                let at = match option.as_slice() {
                    b"EX" => after(now_ms, amount, 1000)?,
                    b"PX" => after(now_ms, amount, 1)?,
                    b"EXAT" => after(0, amount, 1000)?,
                    _ => after(0, amount, 1)?,
                };
                if expiry.replace(SetExpiry::AtMs(at)).is_some() {
                    return Err(syntax());
                }
                i += 1;
            }
            b"GET" => {
                return Err(invalid(
                    "SET ... GET is not supported: a batch has nowhere to send the old value"
                        .to_string(),
                ));
            }
            _ => return Err(syntax()),
        }
        i += 1;
    }
    let expiry = expiry.unwrap_or(SetExpiry::Clear);
    if let SetExpiry::AtMs(at) = expiry
        && at <= now_ms
    {
        return Ok(Applied::Expired);
    }
    store.set_with(key, value, expiry, condition)?;
    Ok(Applied::Done)
}
