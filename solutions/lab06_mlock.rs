//! Lab 06 reference solution: mlock, munmap without munlock, VmLck.

use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::mman::{mlock, munmap};

use crate::pages;

/// Locks every page of `(addr, len)` with `mlock()`.
///
/// # Safety
/// `(addr, len)` must be mapped by the caller.
pub unsafe fn lock(addr: NonNull<u8>, len: usize) -> nix::Result<()> {
    unsafe { mlock(addr.cast(), len) }
}

/// Unmaps `count` pages from `first` pages after `addr`; their lock goes with them.
///
/// # Safety
/// The pages must belong to a mapping this code owns; nothing may use them afterwards.
pub unsafe fn unmap_pages(addr: NonNull<u8>, first: usize, count: usize) -> nix::Result<()> {
    unsafe { munmap(addr.add(pages(first)).cast(), pages(count)) }
}

/// `VmLck` from `/proc/self/status`, in kB.
pub fn locked_kib() -> nix::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmLck:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or(Errno::EINVAL)
}
