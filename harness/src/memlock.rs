//! Memory locks (`mlock`) as the kernel reports them, and the limit that may forbid them.
//!
//! A lock shows in three places: `VmLck` in `/proc/PID/status` (the whole process),
//! `Locked:` in each smaps entry ([`super::Slot::smaps_pages`]), and the `lo` VmFlag ([`super::MapsView`] prints it as
//! `locked`). Without CAP_IPC_LOCK, `RLIMIT_MEMLOCK` caps how much a process may lock
//! (often 64 KiB for normal users): a test that cannot lock calls [`super::skip`].

use std::ptr::NonNull;

use nix::errno::Errno;

use super::{page_size, pages, skip};

/// Locks `(addr, len)` for a scenario, or skips the test when this machine's memory-lock
/// limit forbids it (EPERM, ENOMEM, EAGAIN). Other errors are bugs and panic.
///
/// # Safety
/// `(addr, len)` must be mapped by the caller.
pub unsafe fn lock_or_skip(addr: NonNull<u8>, len: usize) {
    // SAFETY: mlock only pins pages of a range the caller mapped.
    match unsafe { nix::sys::mman::mlock(addr.cast(), len) } {
        Ok(()) => {}
        Err(e @ (Errno::EPERM | Errno::ENOMEM | Errno::EAGAIN)) => skip(format!(
            "mlock of {} pages failed with {e}: this machine's memory-lock limit is too small \
             (RLIMIT_MEMLOCK soft limit {})",
            len.div_ceil(page_size()),
            memlock_limit()
        )),
        Err(e) => panic!("mlock({addr:p}, {len}) failed: {e}"),
    }
}

/// Skips the test unless this process may lock `count` pages: locks and unlocks a
/// scratch mapping of that size, before any lab code runs.
pub fn lockable_or_skip(count: usize) {
    let len = pages(count);
    let scratch = unsafe {
        nix::sys::mman::mmap_anonymous(
            None,
            std::num::NonZeroUsize::new(len).expect("count > 0"),
            nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE,
            nix::sys::mman::MapFlags::MAP_PRIVATE,
        )
    }
    .expect("mapping a scratch range to try mlock on");
    // SAFETY: the scratch range was just mapped; unmapping it drops the lock with it.
    unsafe {
        lock_or_skip(scratch.cast(), len);
        nix::sys::mman::munmap(scratch, len).expect("unmapping the scratch range");
    }
}

/// `VmLck` of this process, in pages.
pub fn vm_lck_pages() -> u64 {
    vm_lck_pages_of(procfs::process::Process::myself().expect("opening /proc/self"))
}

/// `VmLck` of `process`, in pages.
pub fn vm_lck_pages_of(process: procfs::process::Process) -> u64 {
    munmap_lab_protocol::maps::locked_pages_of(process.pid).unwrap_or_else(|e| panic!("{e}"))
}

/// The soft `RLIMIT_MEMLOCK`, readable (`unlimited` or bytes).
pub fn memlock_limit() -> String {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0 {
        return "unknown".into();
    }
    if limit.rlim_cur == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        format!("{} bytes", limit.rlim_cur)
    }
}
