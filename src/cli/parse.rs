//! Parsers for option values that clap hands us as text: durations, sizes,
//! sync policies. Each returns a message clap prints with exit code 2.

use std::time::Duration;

/// "500ms", "30s", "5m", "2h", "1d" or a bare number of seconds, as milliseconds (> 0).
pub fn duration_ms(text: &str) -> Result<u64, String> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let bad = || {
        format!(
            "invalid duration {text:?}: use a whole number of seconds, or one with ms, s, m, h \
             or d after it (e.g. 30, 500ms, 5m)"
        )
    };
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    match number.checked_mul(unit_ms) {
        Some(0) => Err(format!(
            "invalid duration {text:?}: it must be greater than zero"
        )),
        Some(ms) if ms <= (1u64 << 52) => Ok(ms),
        _ => Err(format!("invalid duration {text:?}: too large")),
    }
}

/// A byte count with an optional K, M or G suffix (powers of 1024; KiB etc. also accepted).
pub fn size(text: &str) -> Result<u64, String> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let bad = || {
        format!("invalid size {text:?}: use a number with an optional K, M or G suffix (e.g. 64M)")
    };
    let number: u64 = number.parse().map_err(|_| bad())?;
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(bad()),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("invalid size {text:?}: too large"))
}

/// Seconds (fractions allowed), 0 or more.
pub fn lock_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.parse().map_err(|_| {
        format!("invalid lock timeout {text:?}: give a number of seconds, e.g. 10 or 0.5")
    })?;
    if !seconds.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&seconds) {
        return Err(format!(
            "invalid lock timeout {text:?}: it must be between 0 and a year of seconds"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// "always", "never" or "interval:MS".
pub fn sync_policy(text: &str) -> Result<hoardhaven::SyncPolicy, String> {
    text.parse().map_err(|e: hoardhaven::Error| e.to_string())
}

/// A listen address (`HOST:PORT`), or `none`.
pub fn listen_addr(text: &str) -> Result<super::args::ListenAddr, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(super::args::ListenAddr::None);
    }
    text.parse()
        .map(super::args::ListenAddr::At)
        .map_err(|_| format!("`{text}` is not an address such as 127.0.0.1:6379 (or `none`)"))
}

/// A duration as `duration_ms` reads it, or `0` for never.
pub fn duration_ms_or_zero(text: &str) -> Result<u64, String> {
    if text == "0" {
        Ok(0)
    } else {
        duration_ms(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_to_milliseconds() {
        assert_eq!(duration_ms("500ms"), Ok(500));
        assert_eq!(duration_ms("30s"), Ok(30_000));
        assert_eq!(duration_ms("30"), Ok(30_000));
        assert_eq!(duration_ms("5m"), Ok(300_000));
        assert_eq!(duration_ms("2h"), Ok(7_200_000));
        assert_eq!(duration_ms("1d"), Ok(86_400_000));
        for bad in [
            "",
            "0s",
            "-5s",
            "1.5s",
            "5 m",
            "5w",
            "s",
            "99999999999999999999d",
        ] {
            assert!(duration_ms(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(size("4096"), Ok(4096));
        assert_eq!(size("4k"), Ok(4096));
        assert_eq!(size("64M"), Ok(64 << 20));
        assert_eq!(size("1GiB"), Ok(1 << 30));
        for bad in ["", "M", "1.5M", "12T", "-1"] {
            assert!(size(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn lock_timeouts_parse_as_seconds() {
        assert_eq!(lock_timeout("0"), Ok(Duration::ZERO));
        assert_eq!(lock_timeout("0.5"), Ok(Duration::from_millis(500)));
        for bad in ["-1", "nan", "inf", "soon"] {
            assert!(lock_timeout(bad).is_err(), "{bad:?} accepted");
        }
    }
}
