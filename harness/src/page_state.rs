//! "Is this page mapped?", "is it resident?": asked of the kernel, never by touching it.
//!
//! Reading an unmapped page raises SIGSEGV, so a test cannot look. `mincore()`
//! asks the kernel instead: it fails with ENOMEM when any page of the range has no
//! mapping, and succeeds for every mapped page, PROT_NONE ones included.

use std::ptr::NonNull;

use nix::errno::Errno;

use super::page_size;

/// Whether every page of `[addr, addr + len)` is mapped. `addr` must be page-aligned.
pub fn is_mapped(addr: NonNull<u8>, len: usize) -> bool {
    assert_eq!(
        addr.as_ptr() as usize % page_size(),
        0,
        "probe address must be page-aligned"
    );
    let pages = len.div_ceil(page_size()).max(1);
    let mut residency = vec![0u8; pages];
    // SAFETY: mincore only reads page tables; the vector holds one byte per page probed.
    let rc = unsafe { libc::mincore(addr.as_ptr().cast(), len.max(1), residency.as_mut_ptr()) };
    if rc == 0 {
        return true;
    }
    match Errno::last() {
        Errno::ENOMEM => false,
        other => panic!("mincore({addr:p}, {len}) failed unexpectedly: {other}"),
    }
}

/// How many pages of `[addr, addr + len)` are resident in memory (all must be mapped).
pub fn resident_pages(addr: NonNull<u8>, len: usize) -> usize {
    let pages = len.div_ceil(page_size());
    let mut residency = vec![0u8; pages];
    // SAFETY: as in `is_mapped`.
    let rc = unsafe { libc::mincore(addr.as_ptr().cast(), len, residency.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore({addr:p}, {len}) failed: {}", Errno::last());
    residency.iter().filter(|&&b| b & 1 == 1).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Arena;
    use nix::sys::mman::ProtFlags;

    #[test]
    fn reservation_counts_as_mapped_and_a_hole_does_not() {
        let arena = Arena::new(3);
        assert!(is_mapped(arena.page(0), page_size() * 3));
        unsafe { nix::sys::mman::munmap(arena.page(1).cast(), page_size()) }.unwrap();
        assert!(is_mapped(arena.page(0), page_size()));
        assert!(!is_mapped(arena.page(1), page_size()));
        assert!(
            !is_mapped(arena.page(0), page_size() * 3),
            "a range with a hole is not mapped"
        );
        arena.map_anonymous(1, 1, ProtFlags::PROT_READ);
        assert!(is_mapped(arena.page(1), page_size()));
    }
}
