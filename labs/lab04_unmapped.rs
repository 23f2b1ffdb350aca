//! # Lab 04: unmapping what is not mapped
//!
//! `munmap()` over a range where nothing is mapped returns 0: no error, nothing
//! happens. Unmapping the same range a second time is therefore "fine" too, and so is
//! a range that is only partly mapped. Cleanup code likes this, but it means the
//! return value tells you nothing about what was there. If you need to know, look
//! before you unmap: `mincore()` fails with `ENOMEM` for a page that is not mapped
//! (a `PROT_NONE` page counts as mapped), and `/proc/self/maps` lists every mapping.
//!
//! The danger is the second call. Once a range is unmapped, the kernel may hand those
//! addresses to the very next `mmap()` in the process: another thread, the allocator,
//! a library. An old pointer still holding the address then points at someone else's
//! memory, and a second `munmap()` through it succeeds silently and destroys their
//! mapping:
//!
//! ```text
//!   yours       |rw anon |          munmap(p, 2 pages)    -> 0
//!   freed       |        |
//!   theirs      |file r--|          someone else mmaps and gets p
//!   stale call  |        |          munmap(p, 2 pages)    -> 0, their file is gone
//! ```
//!
//! So forget the pointer the moment the mapping is gone (C code sets it to NULL; here
//! the slot becomes `None`), and keep it while the mapping still exists: when
//! `munmap()` fails, nothing was removed and the mapping is still yours.

use std::ptr::NonNull;

/// Unmaps `[addr, addr + len)` and returns how many of its pages were mapped just
/// before, which `munmap()`'s own result cannot tell you. The length is counted in
/// whole pages.
///
/// # Safety
/// Every mapping in the range must belong to the caller, and nothing may use the range afterwards.
pub unsafe fn unmap_and_count(addr: NonNull<u8>, len: usize) -> nix::Result<usize> {
    todo!("lab04_unmapped::unmap_and_count({addr:p}, {len}): count the mapped pages (mincore), then munmap")
}

/// Releases the mapping held in `slot` as `(addr, len)` and empties the slot, so no
/// stale copy of the address is left to unmap again. An empty slot is left alone.
/// When `munmap()` fails, the mapping still exists: return the error and keep the slot.
///
/// # Safety
/// A mapping in `slot` must belong to the caller, and nothing may use it afterwards.
pub unsafe fn release(slot: &mut Option<(NonNull<u8>, usize)>) -> nix::Result<()> {
    todo!("lab04_unmapped::release({slot:?}): munmap the mapping in the slot, then set the slot to None")
}
