//! # Lab 02: unmapping part of a mapping
//!
//! `munmap()` takes any page-aligned range, not just whole mappings. What is left
//! depends on where the range falls:
//!
//! ```text
//!   front trim          back trim           hole in the middle
//!   |xx|  |  |  |       |  |  |  |xx|       |  |xx|xx|  |
//!       |--------|      |--------|          |--|     |--|
//!     one mapping,        one mapping,        TWO mappings: the kernel
//!     starts later        ends earlier        splits the VMA in two
//! ```
//!
//! The pages that remain keep their contents and stay usable; only the removed
//! pages go, and touching them afterwards raises SIGSEGV. For a file mapping a
//! front trim also moves the file offset: the first remaining page still shows the
//! file page it showed before, so `/proc/self/maps` reports a larger offset.
//!
//! Every function gets the mapping as `(addr, len)` and a count of pages, and
//! returns what is left, so the caller never keeps a pointer to pages that are gone.
//! The page size comes from `nix::unistd::sysconf(SysconfVar::PAGE_SIZE)` (or
//! `munmap_lab::page_size()`); never assume 4096.

use std::ptr::NonNull;

/// Unmaps the first `pages` pages of the mapping `(addr, len)` and returns the
/// part that is left as `(start, len)`.
///
/// # Safety
/// `(addr, len)` must be a mapping this code owns, longer than `pages` pages.
pub unsafe fn trim_front(addr: NonNull<u8>, len: usize, pages: usize) -> nix::Result<(NonNull<u8>, usize)> {
    todo!("lab02_partial::trim_front({addr:p}, {len}, {pages}): munmap the first pages, return the rest")
}

/// Unmaps the last `pages` pages of the mapping `(addr, len)` and returns the
/// part that is left as `(start, len)`.
///
/// # Safety
/// `(addr, len)` must be a mapping this code owns, longer than `pages` pages.
pub unsafe fn trim_back(addr: NonNull<u8>, len: usize, pages: usize) -> nix::Result<(NonNull<u8>, usize)> {
    todo!("lab02_partial::trim_back({addr:p}, {len}, {pages}): munmap the last pages, return the rest")
}

/// Unmaps `pages` pages starting `first` pages into the mapping `(addr, len)`,
/// leaving a hole, and returns the two mappings on either side of it, lower first.
///
/// # Safety
/// `(addr, len)` must be a mapping this code owns, and the hole must lie strictly inside it.
pub unsafe fn punch_hole(
    addr: NonNull<u8>,
    len: usize,
    first: usize,
    pages: usize,
) -> nix::Result<[(NonNull<u8>, usize); 2]> {
    todo!("lab02_partial::punch_hole({addr:p}, {len}, {first}, {pages}): munmap the middle pages, return both sides")
}
