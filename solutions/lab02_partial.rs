//! Lab 02 reference solution: front trim, back trim and a hole, each one munmap.

use std::ptr::NonNull;

use nix::sys::mman::munmap;
use nix::unistd::{SysconfVar, sysconf};

fn page_size() -> usize {
    sysconf(SysconfVar::PAGE_SIZE).ok().flatten().expect("page size") as usize
}

// The arithmetic lives in safe functions of byte counts; each `unsafe fn` only makes the call.

/// A front trim of `pages` pages: bytes to unmap at the start, and bytes left after them.
fn front_trim(len: usize, pages: usize) -> (usize, usize) {
    let cut = pages * page_size();
    (cut, len - cut)
}

/// A back trim of `pages` pages: bytes kept at the start, and bytes to unmap after them.
fn back_trim(len: usize, pages: usize) -> (usize, usize) {
    let cut = pages * page_size();
    (len - cut, cut)
}

/// A hole of `pages` pages from page `first`: its start and size in bytes, then the start
/// and size of the part above it (the part below starts at 0 and is `start` bytes long).
fn hole(len: usize, first: usize, pages: usize) -> [(usize, usize); 2] {
    let (start, size) = (first * page_size(), pages * page_size());
    let upper = start + size;
    [(start, size), (upper, len - upper)]
}

/// Unmaps the first `pages` pages and returns what is left.
///
/// # Safety
/// `(addr, len)` must be a mapping this code owns, longer than `pages` pages.
pub unsafe fn trim_front(addr: NonNull<u8>, len: usize, pages: usize) -> nix::Result<(NonNull<u8>, usize)> {
    let (cut, left) = front_trim(len, pages);
    unsafe { munmap(addr.cast(), cut) }?;
    Ok((unsafe { addr.add(cut) }, left))
}

/// Unmaps the last `pages` pages and returns what is left.
///
/// # Safety
/// `(addr, len)` must be a mapping this code owns, longer than `pages` pages.
pub unsafe fn trim_back(addr: NonNull<u8>, len: usize, pages: usize) -> nix::Result<(NonNull<u8>, usize)> {
    let (keep, cut) = back_trim(len, pages);
    unsafe { munmap(addr.add(keep).cast(), cut) }?;
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
    let [(start, size), (upper, above)] = hole(len, first, pages);
    unsafe { munmap(addr.add(start).cast(), size) }?;
    Ok([(addr, start), (unsafe { addr.add(upper) }, above)])
}
