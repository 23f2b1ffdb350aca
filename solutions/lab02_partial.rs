//! Lab 02 reference solution: front trim, back trim and a hole, each one munmap.

use std::ptr::NonNull;

use nix::sys::mman::munmap;
use nix::unistd::{SysconfVar, sysconf};

fn page_size() -> usize {
    sysconf(SysconfVar::PAGE_SIZE).ok().flatten().expect("page size") as usize
}

/// Unmaps the first `pages` pages and returns what is left.
///
/// # Safety
/// `(addr, len)` must be a mapping this code owns, longer than `pages` pages.
pub unsafe fn trim_front(addr: NonNull<u8>, len: usize, pages: usize) -> nix::Result<(NonNull<u8>, usize)> {
    let cut = pages * page_size();
    unsafe { munmap(addr.cast(), cut) }?;
    Ok((unsafe { addr.add(cut) }, len - cut))
}

/// Unmaps the last `pages` pages and returns what is left.
///
/// # Safety
/// `(addr, len)` must be a mapping this code owns, longer than `pages` pages.
pub unsafe fn trim_back(addr: NonNull<u8>, len: usize, pages: usize) -> nix::Result<(NonNull<u8>, usize)> {
    let keep = len - pages * page_size();
    unsafe { munmap(addr.add(keep).cast(), pages * page_size()) }?;
    Ok((addr, keep))
}

/// Unmaps `pages` pages from `first` pages in and returns the two sides, lower first.
///
/// # Safety
/// `(addr, len)` must be a mapping this code owns, and the hole must lie strictly inside it.
pub unsafe fn punch_hole(
    addr: NonNull<u8>,
    len: usize,
    first: usize,
    pages: usize,
) -> nix::Result<[(NonNull<u8>, usize); 2]> {
    let (start, size) = (first * page_size(), pages * page_size());
    unsafe { munmap(addr.add(start).cast(), size) }?;
    let upper = start + size;
    Ok([(addr, start), (unsafe { addr.add(upper) }, len - upper)])
}
