//! Limits on everything the store accepts, in one place, tied together by
//! compile-time assertions so that they cannot drift apart.

use crate::error::{Error, Result, display_key};

/// The start of an oversized key for a message (its size is said once, by the caller).
fn key_start(key: &[u8]) -> String {
    const SHOWN_MAX: usize = 64;
    let shown = &key[..key.len().min(SHOWN_MAX)];
    let more = if key.len() > SHOWN_MAX { "..." } else { "" };
    format!("\"{}\"{more}", shown.escape_ascii())
}

/// Largest key accepted, in bytes (64 KiB).
pub const KEY_LEN_MAX: usize = 64 * 1024;

/// Largest value accepted, in bytes (512 MiB).
pub const VALUE_LEN_MAX: usize = 512 * 1024 * 1024;

/// Default size at which the active data file is closed and a new one begun.
pub const MAX_FILE_SIZE_DEFAULT: u64 = 64 * 1024 * 1024;

/// Smallest `--max-file-size` accepted; smaller files would be mostly header.
pub const MAX_FILE_SIZE_MIN: u64 = 1024;

/// Largest `--max-file-size` accepted; data files are addressed by u64 offsets
/// but a file this large is already unwieldy for merge and backup.
pub const MAX_FILE_SIZE_MAX: u64 = 1 << 40;

/// Most keys a store holds: the hint's slot count (4/3 of its keys) must
/// stay within 2^32, and the memory table indexes entries by u32. A write
/// that would pass it is refused before anything is written.
pub const KEY_COUNT_MAX: u64 = 3_000_000_000;

/// Default number of seconds a command waits for a busy lock.
pub const LOCK_TIMEOUT_DEFAULT_S: f64 = 10.0;

// Lengths are stored as u32 on disk: every limit must fit.
const _: () = assert!(KEY_LEN_MAX <= u32::MAX as usize);
const _: () = assert!(VALUE_LEN_MAX <= u32::MAX as usize);
const _: () = assert!(MAX_FILE_SIZE_MIN <= MAX_FILE_SIZE_DEFAULT);
const _: () = assert!(MAX_FILE_SIZE_DEFAULT <= MAX_FILE_SIZE_MAX);
// The hint's slot count, `keys * 4 / 3 + 1`, must fit its 2^32 bound, and
// memory-table indexes a u32.
const _: () = assert!(KEY_COUNT_MAX * 4 / 3 < 1 << 32);
const _: () = assert!(KEY_COUNT_MAX < u32::MAX as u64);

/// Refuses adding a key to a store that holds `keys` (or may hold, counted
/// from above) when that would pass `KEY_COUNT_MAX`.
pub fn check_key_count(keys: u64, key: &[u8]) -> Result<()> {
    if keys >= KEY_COUNT_MAX {
        return Err(Error::InvalidInput(format!(
            "cannot add key {}: the store holds {keys} keys, the most a store may hold is \
             {KEY_COUNT_MAX} (delete keys or split the data across stores)",
            display_key(key)
        )));
    }
    Ok(())
}

/// Refuses an empty key or one over `KEY_LEN_MAX`.
pub fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::InvalidInput("keys must not be empty".to_string()));
    }
    if key.len() > KEY_LEN_MAX {
        return Err(Error::InvalidInput(format!(
            "key {} is {} bytes, over the limit of {KEY_LEN_MAX} bytes",
            key_start(key),
            key.len()
        )));
    }
    Ok(())
}

/// Refuses a value over `VALUE_LEN_MAX`.
pub fn check_value(key: &[u8], value_len: usize) -> Result<()> {
    if value_len > VALUE_LEN_MAX {
        return Err(Error::InvalidInput(format!(
            "value for key {} is {value_len} bytes, over the limit of {VALUE_LEN_MAX} bytes",
            display_key(key),
        )));
    }
    Ok(())
}

/// Default step in which the active data file of an `always` store is
/// preallocated with written zeros.
pub const PREALLOCATE_STEP_DEFAULT: u64 = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_count_limit_refuses_the_key_past_it() {
        assert!(check_key_count(KEY_COUNT_MAX - 1, b"k").is_ok());
        let err = check_key_count(KEY_COUNT_MAX, b"k").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("most a store may hold"));
    }
}
