//! # Lab 06: munmap removes memory locks
//!
//! `mlock()` pins pages in RAM: the kernel will not swap them out. Unlocking them
//! again is `munlock()`, but there is a shorter way: a page that is unmapped is no
//! longer locked, because the lock belongs to the mapping, not to the memory. So
//! `munmap()` of part of a locked mapping unlocks exactly the unmapped pages and
//! leaves the rest locked; `munmap()` of all of it leaves nothing locked. No
//! `munlock()` is needed first: calling it anyway does no harm (the kernel ends up in
//! the same state), it is only one system call more.
//!
//! ```text
//!   locked 4 pages        munmap of page 1          munmap of the rest
//!   |lo|lo|lo|lo|         |lo|  |lo|lo|             |  |  |  |  |
//!   VmLck 4 pages         VmLck 3 pages             VmLck 0
//! ```
//!
//! The kernel shows locks in three places: `VmLck:` in `/proc/self/status` (the whole
//! process, in kB), `Locked:` in each entry of `/proc/self/smaps`, and the `lo` flag in
//! that entry's `VmFlags:`. How much a process may lock is capped by `RLIMIT_MEMLOCK`
//! (often 64 KiB for a normal user): `mlock()` then fails with `EPERM`, `ENOMEM` or
//! `EAGAIN`. The tests skip, with the reason, where the limit is too small.
//!
//! Useful calls: `nix::sys::mman::{mlock, munmap}`, `procfs::process::Process::myself()`
//! and its `status()` (or read `/proc/self/status` yourself). The page size comes from
//! `munmap_lab::page_size()`; never assume 4096.

use std::ptr::NonNull;

/// Locks every page of `(addr, len)` into memory with `mlock()`.
///
/// # Safety
/// `(addr, len)` must be mapped by the caller.
pub unsafe fn lock(addr: NonNull<u8>, len: usize) -> nix::Result<()> {
    todo!("lab06_mlock::lock({addr:p}, {len}): mlock the range")
}

/// Unmaps `count` pages starting `first` pages after `addr`, which is locked: the
/// unmapped pages lose their lock, the others keep it. `munlock()` is not needed:
/// `munmap()` drops the lock on the pages it removes.
///
/// # Safety
/// The pages must belong to a mapping this code owns; nothing may use them afterwards.
pub unsafe fn unmap_pages(addr: NonNull<u8>, first: usize, count: usize) -> nix::Result<()> {
    todo!("lab06_mlock::unmap_pages({addr:p}, {first}, {count}): munmap those pages; their lock goes with them")
}

/// How much memory this process has locked: `VmLck` from `/proc/self/status`, in kB.
pub fn locked_kib() -> nix::Result<u64> {
    todo!("lab06_mlock::locked_kib(): read VmLck from /proc/self/status")
}
