//! Named crash points for tests. In debug builds, `hit("name")` aborts the
//! process when the environment variable `HOARD_FAILPOINT` equals `name`,
//! simulating a crash at exactly that step of a multi-step operation
//! (merge, hint rebuild). Release builds compile it to nothing.

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
