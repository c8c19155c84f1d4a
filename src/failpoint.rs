//! Named crash points for tests. In debug builds, `hit("name")` aborts the
//! process when the environment variable `HOARD_FAILPOINT` equals `name`,
//! simulating a crash at exactly that step of a multi-step operation
//! (merge, hint rebuild), and `pause("name")` sleeps there when it equals
//! `pause:name`, widening a window a race test aims at. Release builds
//! compile both to nothing.

/// Aborts the process here if `HOARD_FAILPOINT` names this point (debug builds only).
#[inline]
pub fn hit(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("HOARD_FAILPOINT").is_some_and(|v| v == name) {
        eprintln!("hoard: failpoint {name}: aborting");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// Sleeps 300 ms here if `HOARD_FAILPOINT` is `pause:` and this point's
/// name (debug builds only).
#[inline]
pub fn pause(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("HOARD_FAILPOINT")
        .is_some_and(|v| v.to_str().and_then(|v| v.strip_prefix("pause:")) == Some(name))
    {
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
