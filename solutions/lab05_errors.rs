//! Lab 05 reference solution: munmap with the kernel's errno passed through unchanged.

use nix::errno::Errno;

/// Unmaps `[addr, addr + len)` and returns the kernel's errno unchanged on failure.
///
/// # Safety
/// Every mapping in the range must belong to the caller, and nothing may use the range afterwards.
pub unsafe fn unmap(addr: *mut u8, len: usize) -> nix::Result<()> {
    // SAFETY: the caller owns every mapping in the range.
    Errno::result(unsafe { libc::munmap(addr.cast(), len) }).map(drop)
}
