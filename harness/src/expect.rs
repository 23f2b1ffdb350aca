//! Assertions that explain themselves: each failure says what the kernel should
//! have shown, why, and prints the window as it really was.

use std::ops::Range;
use std::ptr::NonNull;

use super::maps::{Backing, MapsView};
use super::{page_size, probe};

/// Every page in `pages` (window pages) must have no mapping.
pub fn unmapped(view: &MapsView, pages: Range<usize>, why: &str) {
    for page in pages.clone() {
        assert!(
            view.is_unmapped(page),
            "window page {page} should be unmapped ({why}), but it is still mapped.\nwindow pages {pages:?} should be gone; the window is:\n{view}"
        );
    }
}

/// Every page in `pages` must be mapped with `perms` (e.g. `rw-p`).
pub fn mapped(view: &MapsView, pages: Range<usize>, perms: &str, why: &str) {
    for page in pages.clone() {
        let run = view.run_at(page);
        assert!(
            run.backing != Backing::Unmapped && run.perms == perms,
            "window page {page} should be mapped {perms} ({why}), but it is {} {:?}.\nthe window is:\n{view}",
            run.perms,
            run.backing
        );
    }
}

/// The page at `addr` must be mapped and still hold `byte` at its first and last offsets.
pub fn page_holds(addr: NonNull<u8>, byte: u8, why: &str) {
    assert!(
        probe::is_mapped(addr, page_size()),
        "the page at {addr:p} should still be mapped ({why}), but it is not"
    );
    // SAFETY: the probe just confirmed the page is mapped; the tests map it readable.
    let (first, last) = unsafe { (addr.read_volatile(), addr.add(page_size() - 1).read_volatile()) };
    assert!(
        first == byte && last == byte,
        "the page at {addr:p} should still hold {:?} ({why}), but holds {:?}..{:?}",
        byte as char,
        first as char,
        last as char
    );
}

/// The page at `addr` must accept a write and give it back (then its old byte is restored).
pub fn page_writable(addr: NonNull<u8>, why: &str) {
    assert!(
        probe::is_mapped(addr, page_size()),
        "the page at {addr:p} should still be mapped and writable ({why}), but it is not mapped"
    );
    // SAFETY: mapped (just probed) and mapped writable by the test that calls this.
    unsafe {
        let old = addr.read_volatile();
        addr.write_volatile(old ^ 0xff);
        assert_eq!(
            addr.read_volatile(),
            old ^ 0xff,
            "a write to {addr:p} did not stick ({why})"
        );
        addr.write_volatile(old);
    }
}
