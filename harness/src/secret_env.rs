//! Taking a secret (the judge's token) out of the environment so that lab code,
//! which runs later in the same process, can find it neither in `std::env` nor in
//! `/proc/self/environ` (the process's original environment block).

/// Takes `name` out of the environment and overwrites its value where it was stored.
pub(crate) fn take(name: &str) -> Option<String> {
    let value = std::env::var(name).ok()?;
    let c_name = std::ffi::CString::new(name).ok()?;
    // SAFETY: called before lab code runs, on the test's thread; libtest's main thread is
    // blocked waiting for it and no other thread reads the environment now. getenv points
    // at the value inside its "NAME=value" string, which is writable memory of this
    // process; we overwrite exactly its strlen bytes, then remove the variable.
    unsafe {
        let stored = libc::getenv(c_name.as_ptr());
        if !stored.is_null() {
            std::ptr::write_bytes(stored.cast::<u8>(), b'x', libc::strlen(stored));
        }
        std::env::remove_var(name);
    }
    Some(value)
}
