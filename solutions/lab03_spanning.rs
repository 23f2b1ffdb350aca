//! Lab 03 reference solution: one munmap over the whole range.

use std::ptr::NonNull;

use nix::sys::mman::munmap;

/// Removes everything mapped in `[addr, addr + len)` with one `munmap()`.
///
/// # Safety
/// Every mapping in the range must belong to the caller, and nothing may use any
/// address in the range afterwards.
pub unsafe fn release_range(addr: NonNull<u8>, len: usize) -> nix::Result<()> {
    unsafe { munmap(addr.cast(), len) }
}
