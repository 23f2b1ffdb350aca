//! How code dies: run it in a forked child and report the signal with its `si_code`.
//!
//! Touching an unmapped page kills the process with SIGSEGV; the kernel says why in
//! the signal's `si_code` (`SEGV_MAPERR`: nothing is mapped there, `SEGV_ACCERR`: a
//! mapping is there but forbids the access). A test cannot survive that itself, so
//! [`death_of`] forks: the child records the `siginfo` of its first SIGSEGV/SIGBUS in a
//! page shared with the parent, then lets the default action kill it; the parent
//! waits (with a deadline) and reports.

use std::ffi::c_void;
use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, Ordering};

use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::wait::WaitStatus;
use nix::unistd::{ForkResult, fork};

use super::children::{CHILD_DEADLINE, reap_within};
use super::page_size;

/// `si_code` for SIGSEGV: no mapping at the address (`<asm-generic/siginfo.h>`; libc does not export it).
pub const SEGV_MAPERR: i32 = 1;
/// `si_code` for SIGSEGV: a mapping is there but its protection forbids the access.
pub const SEGV_ACCERR: i32 = 2;

/// What the child recorded about its fault, in memory shared with the parent.
#[repr(C)]
struct FaultRecord {
    faulted: u64,
    si_code: i64,
    address: u64,
}

/// The record the child's signal handler writes (set before fork, read only in the child).
static RECORD: AtomicPtr<FaultRecord> = AtomicPtr::new(std::ptr::null_mut());
/// One `death_of` at a time per process, so each child inherits its own caller's record.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How the child ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Death {
    /// The signal that killed it, if one did.
    pub signal: Option<Signal>,
    /// Its exit status, if it exited (see [`Death::ending`] for what it means).
    pub exit_code: Option<i32>,
    /// `si_code` and faulting address of the SIGSEGV/SIGBUS it received, if any.
    pub fault: Option<(i32, usize)>,
}

/// How the child ended, in the words a test matches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Killed by this signal.
    Signal(Signal),
    /// The body returned `Ok(())`: it ran to its end and lived.
    Returned,
    /// The body returned `Err(GaveUp)`: it could not get to the point the test is about.
    GaveUp,
    /// The body panicked.
    Panicked,
    /// It exited with this status some other way (lab code that called `exit`).
    Exited(i32),
}

/// What a body returns when it cannot get to the point the test is about (a lab call
/// it needed failed); its child then ends as [`Ending::GaveUp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaveUp;

/// Exit statuses the child uses for [`Ending::GaveUp`] and [`Ending::Panicked`].
const GAVE_UP_EXIT: i32 = 3;
const PANICKED_EXIT: i32 = 101;

impl Death {
    /// How the child ended.
    pub fn ending(&self) -> Ending {
        match (self.signal, self.exit_code) {
            (Some(signal), _) => Ending::Signal(signal),
            (None, Some(0)) => Ending::Returned,
            (None, Some(GAVE_UP_EXIT)) => Ending::GaveUp,
            (None, Some(PANICKED_EXIT)) => Ending::Panicked,
            (None, code) => Ending::Exited(code.unwrap_or(-1)),
        }
    }

    /// `SEGV_MAPERR`, `SEGV_ACCERR` or the number, for messages and snapshots.
    pub fn si_code_name(&self) -> String {
        match self.fault {
            Some((SEGV_MAPERR, _)) => "SEGV_MAPERR".into(),
            Some((SEGV_ACCERR, _)) => "SEGV_ACCERR".into(),
            Some((code, _)) => format!("si_code {code}"),
            None => "no fault".into(),
        }
    }
}

extern "C" fn record_fault(_signal: libc::c_int, info: *mut libc::siginfo_t, _context: *mut c_void) {
    let record = RECORD.load(Ordering::Relaxed);
    if record.is_null() || info.is_null() {
        return;
    }
    // SAFETY: the kernel passes a valid siginfo; the record is a live shared page.
    // Only plain stores happen here, which is async-signal-safe.
    unsafe {
        (*record).si_code = (*info).si_code as i64;
        (*record).address = (*info).si_addr() as u64;
        (*record).faulted = 1;
    }
    // SA_RESETHAND restored the default action: returning re-runs the faulting
    // access, which now kills the process with the same signal.
}

/// Runs `body` in a forked child and reports how the child ended (signal, exit code,
/// fault details). `body` runs after a `fork()` of a multi-threaded process, so it
/// may only make async-signal-safe calls (plain memory access, raw syscalls).
pub fn death_of(body: impl FnOnce() -> Result<(), GaveUp>) -> Death {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let len = page_size();
    let shared = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(len).expect("page size > 0"),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
        )
    }
    .expect("mapping a page shared with the child");
    let record: NonNull<FaultRecord> = shared.cast();
    RECORD.store(record.as_ptr(), Ordering::Relaxed);
    // SAFETY: the child only installs handlers, runs `body` (async-signal-safe by
    // contract) and `_exit`s; it never returns into the caller's code.
    let child = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let action = SigAction::new(
                SigHandler::SigAction(record_fault),
                SaFlags::SA_SIGINFO | SaFlags::SA_RESETHAND,
                SigSet::empty(),
            );
            unsafe {
                let _ = sigaction(Signal::SIGSEGV, &action);
                let _ = sigaction(Signal::SIGBUS, &action);
            }
            let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
                Ok(Ok(())) => 0,
                Ok(Err(GaveUp)) => GAVE_UP_EXIT,
                Err(_) => PANICKED_EXIT,
            };
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    };
    let status = reap_within(child, CHILD_DEADLINE).unwrap_or_else(|| {
        let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
        let _ = reap_within(child, CHILD_DEADLINE);
        panic!(
            "the child running the code under test (pid {child}) neither crashed nor exited within {:.0} s; \
             it was killed",
            CHILD_DEADLINE.as_secs_f64()
        )
    });
    // SAFETY: the child is gone; the page is ours alone again.
    let seen = unsafe { record.as_ptr().read_volatile() };
    RECORD.store(std::ptr::null_mut(), Ordering::Relaxed);
    let _ = unsafe { munmap(shared, len) };
    let (signal, exit_code) = match status {
        WaitStatus::Signaled(_, signal, _) => (Some(signal), None),
        WaitStatus::Exited(_, code) => (None, Some(code)),
        other => panic!("unexpected wait status of the child: {other:?}"),
    };
    Death {
        signal,
        exit_code,
        fault: (seen.faulted == 1).then_some((seen.si_code as i32, seen.address as usize)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Arena;

    #[test]
    fn unmapped_page_is_maperr_and_prot_none_is_accerr() {
        let arena = Arena::new(2);
        let page = arena.map_anonymous(0, 1, ProtFlags::PROT_READ);
        // Unmapped in the child, which has one thread: nothing can map into the hole before the read.
        let death = death_of(|| unsafe {
            munmap(page.cast(), page_size()).unwrap();
            page.read_volatile();
            Ok(())
        });
        assert_eq!(death.signal, Some(Signal::SIGSEGV), "{death:?}");
        assert_eq!(death.fault, Some((SEGV_MAPERR, page.as_ptr() as usize)));

        let reserved = arena.page(1);
        let death = death_of(|| unsafe {
            reserved.read_volatile();
            Ok(())
        });
        assert_eq!(death.signal, Some(Signal::SIGSEGV));
        assert_eq!(death.si_code_name(), "SEGV_ACCERR");
    }

    #[test]
    fn a_body_that_returns_exits_zero() {
        let death = death_of(|| Ok(()));
        assert_eq!((death.ending(), death.fault), (Ending::Returned, None));
        assert_eq!(death_of(|| Err(GaveUp)).ending(), Ending::GaveUp);
    }
}
