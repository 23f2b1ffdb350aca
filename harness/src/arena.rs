//! A PROT_NONE reservation that scenarios map into with `MAP_FIXED`.
//!
//! The kernel merges adjacent mappings with equal flags and places new mappings
//! wherever it likes, so a scenario mapped "anywhere" can merge with a foreign
//! neighbour or land next to one. Reserving the whole window first (as the kernel's
//! own `merge.c` selftest does) puts every page of the scenario at a known offset,
//! and the guard pages on either side keep the window apart from its neighbours.

use std::ffi::c_void;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::ptr::NonNull;

use nix::sys::mman::{MapFlags, ProtFlags, mmap, mmap_anonymous, munmap};

use super::maps::MapsView;
use super::{page_size, pages};

/// One guard page on each side of the window, never handed out.
const GUARD_PAGES: usize = 1;

/// A reserved window of `pages` pages, all PROT_NONE until a scenario maps over them.
pub struct Arena {
    reservation: NonNull<c_void>,
    window_pages: usize,
}

impl Arena {
    /// Reserves a window of `window_pages` pages (plus a guard page on each side).
    ///
    /// Keep windows small (well under 32 pages): the C allocator never places its own
    /// mmaps in a hole that small, so a hole a lab punches stays a hole.
    ///
    /// When the grader witnesses the test, the first arena of the test process goes at
    /// the address the grader chose (see `witness`), so that the grader knows which
    /// window to read.
    #[track_caller]
    pub fn new(window_pages: usize) -> Arena {
        assert!(window_pages > 0, "an arena needs at least one page");
        if let Some(base) = super::witness::take_window() {
            return Arena::at(base, window_pages).unwrap_or_else(|e| {
                panic!(
                    "the grader reads this test's window at {base:#x}, but it cannot be reserved there ({e}): \
                     something is mapped there already, or this machine's address space is too small"
                )
            });
        }
        let total = pages(window_pages + 2 * GUARD_PAGES);
        let reservation = unsafe {
            mmap_anonymous(
                None,
                NonZeroUsize::new(total).expect("non-zero length"),
                ProtFlags::PROT_NONE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE,
            )
        }
        .unwrap_or_else(|e| panic!("reserving a {total}-byte arena failed: {e}"));
        Arena {
            reservation,
            window_pages,
        }
    }

    /// Reserves a window of `window_pages` pages whose page 0 is exactly `addr`, if that range
    /// (and its guard pages) is free: `MAP_FIXED_NOREPLACE` never replaces anything.
    ///
    /// For scenarios that need the same address in another process image (a probe after
    /// `execve`). Errors: `EEXIST` when something is mapped there already, `EINVAL` or
    /// `ENOMEM` when the address lies outside this machine's user address space.
    pub fn at(addr: usize, window_pages: usize) -> nix::Result<Arena> {
        assert!(window_pages > 0, "an arena needs at least one page");
        assert_eq!(addr % page_size(), 0, "an arena starts on a page boundary");
        let start = addr.checked_sub(pages(GUARD_PAGES)).ok_or(nix::errno::Errno::EINVAL)?;
        let total = pages(window_pages + 2 * GUARD_PAGES);
        let reservation = unsafe {
            mmap_anonymous(
                NonZeroUsize::new(start),
                NonZeroUsize::new(total).expect("non-zero length"),
                ProtFlags::PROT_NONE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE | MapFlags::MAP_FIXED_NOREPLACE,
            )
        }?;
        // Kernels before 4.17 treat MAP_FIXED_NOREPLACE as a hint and may map elsewhere.
        if reservation.as_ptr() as usize != start {
            let _ = unsafe { munmap(reservation, total) };
            return Err(nix::errno::Errno::EEXIST);
        }
        Ok(Arena {
            reservation,
            window_pages,
        })
    }

    /// Number of pages in the window.
    pub fn window_pages(&self) -> usize {
        self.window_pages
    }

    /// Address of page `n` of the window (page 0 is the first page after the guard).
    #[track_caller]
    pub fn page(&self, n: usize) -> NonNull<u8> {
        assert!(
            n <= self.window_pages,
            "page {n} is outside a {}-page window",
            self.window_pages
        );
        let addr = self.reservation.as_ptr() as usize + pages(GUARD_PAGES + n);
        NonNull::new(addr as *mut u8).expect("arena addresses are never null")
    }

    /// Maps `count` anonymous private pages at window page `first`, replacing the reservation there.
    #[track_caller]
    pub fn map_anonymous(&self, first: usize, count: usize, prot: ProtFlags) -> NonNull<u8> {
        self.check_range(first, count);
        let addr = unsafe {
            mmap_anonymous(
                Some(self.nonzero_addr(first)),
                NonZeroUsize::new(pages(count)).expect("count > 0"),
                prot,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED,
            )
        }
        .unwrap_or_else(|e| panic!("mapping {count} anonymous pages at window page {first} failed: {e}"));
        addr.cast()
    }

    /// Maps `count` pages of `file`, starting at file page `file_page`, at window page `first`.
    #[track_caller]
    pub fn map_file<F: AsFd>(
        &self,
        first: usize,
        count: usize,
        prot: ProtFlags,
        sharing: MapFlags,
        file: F,
        file_page: usize,
    ) -> NonNull<u8> {
        self.check_range(first, count);
        let offset = i64::try_from(pages(file_page)).expect("file offset fits in off_t");
        let addr = unsafe {
            mmap(
                Some(self.nonzero_addr(first)),
                NonZeroUsize::new(pages(count)).expect("count > 0"),
                prot,
                sharing | MapFlags::MAP_FIXED,
                file,
                offset,
            )
        }
        .unwrap_or_else(|e| panic!("mapping {count} file pages at window page {first} failed: {e}"));
        addr.cast()
    }

    /// `(addr, len)` as the window names it (`window pages 2-4`), for comparing the
    /// ranges lab code returns: a failed `assert_eq!` then shows pages, not addresses.
    pub fn range(&self, addr: NonNull<u8>, len: usize) -> WindowRange {
        WindowRange {
            addr: addr.as_ptr() as usize,
            len,
            window: self.page(0).as_ptr() as usize,
        }
    }

    /// The normalised view of the window as the kernel reports it now.
    pub fn view(&self) -> MapsView {
        MapsView::of(self.page(0), self.window_pages)
    }

    /// Whether window page `n` is mapped (by anything, the PROT_NONE reservation included).
    pub fn is_mapped(&self, n: usize) -> bool {
        super::page_state::is_mapped(self.page(n), page_size())
    }

    fn nonzero_addr(&self, page: usize) -> NonZeroUsize {
        NonZeroUsize::new(self.page(page).as_ptr() as usize).expect("arena addresses are never null")
    }

    #[track_caller]
    fn check_range(&self, first: usize, count: usize) {
        assert!(count > 0, "a mapping needs at least one page");
        assert!(
            first + count <= self.window_pages,
            "{} do not fit a {}-page window",
            super::maps::window_pages(first..first + count),
            self.window_pages
        );
    }
}

/// A range of memory named by the window's pages; equal when address and length are.
#[derive(Clone, Copy)]
pub struct WindowRange {
    addr: usize,
    len: usize,
    window: usize,
}

impl PartialEq for WindowRange {
    fn eq(&self, other: &WindowRange) -> bool {
        (self.addr, self.len) == (other.addr, other.len)
    }
}

impl Eq for WindowRange {}

impl std::fmt::Debug for WindowRange {
    /// `window pages 2-4`, `window page 2` (pages past the window's end are numbered on);
    /// a range that does not fall on whole pages from the window's start is shown as it
    /// is (`0x7f..001, 4096 bytes`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let page = page_size();
        let offset = self.addr.wrapping_sub(self.window);
        let (first, count) = (offset / page, self.len / page);
        let whole = offset.is_multiple_of(page) && self.len.is_multiple_of(page) && self.addr >= self.window;
        if whole && count > 0 {
            f.write_str(&super::maps::window_pages(first..first + count))
        } else {
            write!(f, "{:#x}, {} bytes", self.addr, self.len)
        }
    }
}

impl Drop for Arena {
    /// One munmap over the whole reservation removes whatever the scenario left in it;
    /// pages already unmapped are skipped by the kernel, so this cannot fail for them.
    fn drop(&mut self) {
        let total = pages(self.window_pages + 2 * GUARD_PAGES);
        let _ = unsafe { munmap(self.reservation, total) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_named_by_window_pages() {
        let arena = Arena::new(6);
        let at = |n: usize| arena.page(n);
        assert_eq!(format!("{:?}", arena.range(at(1), pages(1))), "window page 1");
        assert_eq!(
            format!("{:?}", [arena.range(at(4), pages(1)), arena.range(at(1), pages(2))]),
            "[window page 4, window pages 1-2]"
        );
        let odd = unsafe { at(1).add(1) };
        assert_eq!(
            format!("{:?}", arena.range(odd, 10)),
            format!("{:#x}, 10 bytes", odd.as_ptr() as usize)
        );
        assert_eq!(arena.range(at(2), pages(1)), arena.range(at(2), pages(1)));
        assert_ne!(arena.range(at(2), pages(1)), arena.range(at(2), pages(2)));
        assert_eq!(format!("{:?}", arena.range(at(4), pages(4))), "window pages 4-7");
    }
}
