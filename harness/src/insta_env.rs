//! The `INSTA_*` settings a judged test process started with, put back before a
//! snapshot is compared: lab code runs first and could set `INSTA_FORCE_PASS` (or an
//! update mode) for itself.

use std::ffi::OsString;
use std::sync::OnceLock;

/// The `INSTA_*` variables the test process started with (before any lab code ran).
static AT_START: OnceLock<Vec<(OsString, OsString)>> = OnceLock::new();

fn insta_vars() -> impl Iterator<Item = (OsString, OsString)> {
    std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("INSTA_"))
}

/// Remembers the `INSTA_*` variables as they are now; call it before lab code runs.
pub(crate) fn remember() {
    AT_START.get_or_init(|| insta_vars().collect());
}

/// Puts the `INSTA_*` variables back as [`remember`] saw them (when it ran) and names
/// the project root for insta. Called right before a snapshot is compared.
pub(crate) fn restore() {
    let now: Vec<OsString> = insta_vars().map(|(k, _)| k).collect();
    // SAFETY: the test process runs this one test on one thread; libtest's main thread
    // is blocked waiting for it. (Threads lab code left running are its own risk.)
    unsafe {
        if let Some(saved) = AT_START.get() {
            for key in now {
                std::env::remove_var(key);
            }
            for (key, value) in saved {
                std::env::set_var(key, value);
            }
        }
        std::env::set_var("INSTA_WORKSPACE_ROOT", super::PROJECT_ROOT);
    }
}
