//! The test process's side of a kernel-witnessed test.
//!
//! When the grader witnesses the test ([`protocol::WITNESS_ENV`], read with the token),
//! the test's first arena goes where the grader said, and every step of the story that
//! shows that window stops the process ([`checkpoint`]) until the grader has read the
//! window from the kernel, and so does the end of the test's body ([`end_of_body`]).
//! Under `cargo test` nothing is witnessed and nothing stops.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use munmap_lab_protocol as protocol;

use super::maps::MapsView;

/// Whether, and where, the grader witnesses this test process.
static WITNESS: OnceLock<Option<Witness>> = OnceLock::new();
/// Whether the first arena has been placed at the witnessed window already.
static WINDOW_TAKEN: AtomicBool = AtomicBool::new(false);

/// What the grader said about witnessing this test process.
#[derive(Clone, Copy, Debug)]
struct Witness {
    /// Page 0 of the window the grader reads at each checkpoint.
    base: usize,
    /// The test process the grader watches (a forked copy of it is not watched, so it never stops).
    pid: u32,
}

/// Takes the grader's witness window out of the environment (once, with the token).
pub(crate) fn take_from_env() {
    WITNESS.get_or_init(|| {
        let value = std::env::var_os(protocol::WITNESS_ENV)?;
        // SAFETY: as for the token: before lab code runs, with no other thread reading.
        unsafe { std::env::remove_var(protocol::WITNESS_ENV) };
        let base = value
            .to_str()
            .and_then(protocol::parse_witness)
            .unwrap_or_else(|| panic!("{}={value:?} is not a window address", protocol::WITNESS_ENV));
        Some(Witness {
            base,
            pid: std::process::id(),
        })
    });
}

/// The witness of this very process (not of a fork of it), if there is one.
fn this_process() -> Option<Witness> {
    WITNESS
        .get()
        .copied()
        .flatten()
        .filter(|witness| witness.pid == std::process::id())
}

/// Page 0 of the witnessed window, in the witnessed test process (not in a fork of it).
pub(crate) fn base() -> Option<usize> {
    this_process().map(|witness| witness.base)
}

/// The witnessed window's address, the first time it is asked for in a witnessed test
/// process (the test's first arena goes there); None otherwise.
pub(crate) fn take_window() -> Option<usize> {
    let witness = this_process()?;
    (!WINDOW_TAKEN.swap(true, Ordering::SeqCst)).then_some(witness.base)
}

/// A checkpoint: when the grader witnesses this process and `view` shows the witnessed
/// window as this process sees it, stops the process (SIGSTOP) so that the grader reads
/// the window from the kernel; the grader continues it. Anything else returns at once.
pub(crate) fn checkpoint(view: &MapsView) {
    let Some(witness) = this_process() else {
        return;
    };
    if view.start_in_this_process() != Some(witness.base as u64) {
        return;
    }
    stop();
}

/// The last checkpoint of every witnessed test: its body returned. Whatever the test's
/// story showed, the grader reads the window once more here, so a test process that
/// ends before its body returned (a forged pass, an early `exit`) has fewer checkpoints
/// than the reference's and fails, whether its story has steps in the window or not.
pub(crate) fn end_of_body() {
    if this_process().is_some() {
        stop();
    }
}

/// Stops this process (SIGSTOP) until the grader, which reads the window meanwhile, continues it.
fn stop() {
    let _ = std::io::stdout().flush();
    // SAFETY: raise sends a signal to this thread; SIGSTOP stops the whole process.
    unsafe { libc::raise(libc::SIGSTOP) };
}
