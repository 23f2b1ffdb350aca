//! Lab 04 reference solution: count with mincore before unmapping; empty the slot after.

use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::mman::munmap;
use nix::unistd::{SysconfVar, sysconf};

fn page_size() -> usize {
    sysconf(SysconfVar::PAGE_SIZE).ok().flatten().expect("page size") as usize
}

/// Whether the page at `page` is mapped: mincore fails with ENOMEM when it is not.
fn is_mapped(page: *mut u8) -> nix::Result<bool> {
    let mut resident = 0u8;
    // SAFETY: mincore reads only page tables and writes one byte per page: one page here.
    match Errno::result(unsafe { libc::mincore(page.cast(), page_size(), &mut resident) }) {
        Ok(_) => Ok(true),
        Err(Errno::ENOMEM) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Counts the mapped pages of the range, then unmaps it.
///
/// # Safety
/// Every mapping in the range must belong to the caller, and nothing may use the range afterwards.
pub unsafe fn unmap_and_count(addr: NonNull<u8>, len: usize) -> nix::Result<usize> {
    let mapped = count_mapped(addr, len)?;
    unsafe { munmap(addr.cast(), len) }?;
    Ok(mapped)
}

/// The mapped pages of `[addr, addr + len)`, one mincore call per page.
fn count_mapped(addr: NonNull<u8>, len: usize) -> nix::Result<usize> {
    let page = page_size();
    let mut mapped = 0;
    for offset in (0..len).step_by(page) {
        if is_mapped(addr.as_ptr().wrapping_add(offset))? {
            mapped += 1;
        }
    }
    Ok(mapped)
}

/// Unmaps the mapping in the slot and only then empties it.
///
/// # Safety
/// A mapping in `slot` must belong to the caller, and nothing may use it afterwards.
pub unsafe fn release(slot: &mut Option<(NonNull<u8>, usize)>) -> nix::Result<()> {
    if let Some((addr, len)) = *slot {
        unsafe { munmap(addr.cast(), len) }?;
        *slot = None;
    }
    Ok(())
}
