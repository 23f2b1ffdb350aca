//! # Lab 05: when munmap says no
//!
//! `munmap()` returns 0 or -1 with `errno` set, and the errno says exactly what was
//! wrong. A failed call removes nothing.
//!
//! | errno    | cause                                                                     |
//! | -------- | ------------------------------------------------------------------------- |
//! | `EINVAL` | the address is not a multiple of the page size                             |
//! | `EINVAL` | the length is 0                                                            |
//! | `EINVAL` | the range does not fit the address space (too high, or the length overflows) |
//! | `ENOMEM` | the range punches a hole inside one mapping while the process is at `vm.max_map_count` |
//! | `EPERM`  | a mapping in the range is sealed with `mseal()` (Linux 6.10+)               |
//!
//! Some things look wrong and are not:
//!
//! - A length that is not a multiple of the page size is rounded UP: `munmap(p, 1)`
//!   removes the whole page at `p`, and `munmap(p, page + 1)` removes two pages.
//! - Address 0 (NULL) is just an address where nothing is mapped: `munmap(NULL, len)`
//!   returns 0, like any other range without mappings (lab 04). It is no special case:
//!   the same checks apply, so `munmap(NULL, 0)` is `EINVAL` like every length 0.
//!
//! ENOMEM needs a closer look. Every mapping costs the kernel a VMA, and a process may
//! hold at most `vm.max_map_count` of them (65530 by default; many distributions raise
//! it). Cutting a hole strictly inside a mapping leaves two mappings where there was
//! one, so at the limit the kernel refuses it. Trimming the front or the back only
//! shrinks the mapping, and removing whole mappings lowers the count, so those still
//! work at the limit. Raising the sysctl is an administrator's decision; a program
//! that hits ENOMEM here should release whole mappings instead of punching holes.
//!
//! Return the kernel's errno exactly as it came (`nix::errno::Errno`), never a string
//! or an errno of your own choosing: callers decide what to do by comparing it.
//! `nix::sys::mman::munmap` takes a `NonNull`, which cannot say NULL; `libc::munmap`
//! plus `Errno::result` can.

/// Unmaps `[addr, addr + len)` exactly as `munmap(2)` does and returns its result:
/// `Ok(())` on success, otherwise the kernel's errno unchanged.
///
/// # Safety
/// Every mapping in the range must belong to the caller, and nothing may use the range afterwards.
pub unsafe fn unmap(addr: *mut u8, len: usize) -> nix::Result<()> {
    todo!("lab05_errors::unmap({addr:p}, {len}): call munmap and return the kernel's errno unchanged")
}
