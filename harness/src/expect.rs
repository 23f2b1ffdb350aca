//! Assertions that explain themselves: each failure says what the kernel should
//! have shown, why, and prints the window as it really was.
//!
//! Every check is `#[track_caller]`: a failure points at the line of the test that
//! made it, never at this file. A page is named both ways: as the test's calls count
//! it, from the slot's start (`trim_back(addr, 4 pages, 1)` cuts mapping page 3), and as
//! the maps view prints it (`window page 4`): `mapping page 3 (window page 4)`.
//!
//! [`call`] wraps the test's call of lab code, so that a panic, crash, hang or exit
//! inside it is reported as "your code panicked at labs/x.rs:L:C while the test called
//! ...: message. The test needed: ...".
//!
//! The suites' own `assert_eq!`s put the value they got on the left and the value the
//! kernel or the lesson calls for on the right: the judge folds both into the one-line
//! summary as "(expected RIGHT, got LEFT)".

use std::ops::Range;
use std::ptr::NonNull;

use super::maps::{Backing, MapsView, window_pages};
use super::returned::Returned;
use super::{judged, page_size, page_state};

/// Runs `f`, the test's call of lab code, which the test describes as `call` with
/// its arguments as a student would write them (`"trim_front(addr, 4 pages, 1)"`);
/// `needs` says what that call must do (`"Ok: a front trim of a mapping succeeds"`,
/// or `""`). Should lab code panic, crash, hang or exit inside it, the failure names
/// the call and what it needed, not only the panic's own text. What it returned is
/// told to the grader too ([`crate::returned`]), which holds it to the reference's.
///
/// ```ignore
/// let rest = expect::call(format!("trim_front(addr, 4 pages, {cut})"), "Ok((rest, len))", || unsafe {
///     trim_front(addr, pages(4), cut)
/// });
/// ```
pub fn call<T: Returned>(call: impl AsRef<str>, needs: impl AsRef<str>, f: impl FnOnce() -> T) -> T {
    let value = call_varying(call.as_ref(), needs, f);
    super::returned::tell(call.as_ref(), &value);
    value
}

/// [`call`], for a value that two right answers need not share (a count of cached pages
/// that the kernel may evict meanwhile, the process's own memory): the grader is not
/// told it, so the test's own check is all that judges it.
pub fn call_varying<T>(call: impl AsRef<str>, needs: impl AsRef<str>, f: impl FnOnce() -> T) -> T {
    judged::calling(call.as_ref(), needs.as_ref());
    let value = f();
    judged::returned();
    value
}

/// Every page in `pages` (window pages) must have no mapping.
#[track_caller]
pub fn unmapped(view: &MapsView, pages: Range<usize>, why: &str) {
    for page in pages.clone() {
        let run = view.run_at(page);
        assert!(
            run.backing == Backing::Unmapped,
            "{} should be unmapped ({why}), but it is still mapped ({} {}).\n{}{}",
            named(view, page..page + 1),
            run.perms,
            run.backing_text(),
            gone(view, &pages),
            indented(view)
        );
    }
}

/// `mapping pages 3-4 (window pages 4-5) should all be gone; the window is:` (one
/// page: `the window is:`).
fn gone(view: &MapsView, pages: &Range<usize>) -> String {
    let these = if pages.len() > 1 {
        format!("{} should all be gone; ", named(view, pages.clone()))
    } else {
        String::new()
    };
    format!("{these}the window is:\n")
}

/// Window pages named as the calls count them and as the view prints them:
/// `mapping page 3 (window page 4)`, `mapping pages 0-1 (window pages 1-2)`. The
/// calls count from the first page of the lab's mapping, as the view was told it
/// ([`MapsView::with_mapping`]: a [`Slot`](crate::Slot)'s view knows its slot); a range outside the
/// mapping, or in a view that was not told, has only its window name.
fn named(view: &MapsView, pages: Range<usize>) -> String {
    let window = window_pages(pages.clone());
    let Some(mapping) = view.mapping() else {
        return window;
    };
    if pages.is_empty() || pages.start < mapping.start || pages.end > mapping.end {
        return window;
    }
    let (first, last) = (pages.start - mapping.start, pages.end - 1 - mapping.start);
    let mapping = if first == last {
        format!("mapping page {first}")
    } else {
        format!("mapping pages {first}-{last}")
    };
    format!("{mapping} ({window})")
}

/// The view with each line indented, as the README and the snapshots show it.
fn indented(view: &MapsView) -> String {
    view.to_string().lines().map(|l| format!("  {l}\n")).collect()
}

/// Every page in `pages` must be mapped with `perms` (e.g. `rw-p`).
#[track_caller]
pub fn mapped(view: &MapsView, pages: Range<usize>, perms: &str, why: &str) {
    for page in pages.clone() {
        let run = view.run_at(page);
        let state = match run.backing {
            Backing::Unmapped => "unmapped".to_string(),
            _ => format!("{} {}", run.perms, run.backing_text()),
        };
        assert!(
            run.backing != Backing::Unmapped && run.perms == perms,
            "{} should be mapped {perms} ({why}), but it is {state}.\n{} should be mapped {perms}; \
             the window is:\n{}",
            named(view, page..page + 1),
            named(view, pages.clone()),
            indented(view)
        );
    }
}

/// The page at `addr` must be mapped and still hold `byte` at its first and last offsets.
#[track_caller]
pub fn page_holds(addr: NonNull<u8>, byte: u8, why: &str) {
    assert!(
        page_state::is_mapped(addr, page_size()),
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
#[track_caller]
pub fn page_writable(addr: NonNull<u8>, why: &str) {
    assert!(
        page_state::is_mapped(addr, page_size()),
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
