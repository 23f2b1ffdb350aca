//! Lab 06: munmap unlocks exactly the pages it removes; no munlock needed.
//!
//! Every scenario is a 4-page anonymous read-write mapping at window pages 1-4 of a
//! 6-page arena (pages 0 and 5 stay PROT_NONE reservation). Locks are counted as
//! changes of `VmLck` from the start of the test, so nothing else in the process
//! matters. Where `RLIMIT_MEMLOCK` forbids locking 4 pages, the test is skipped.
//!
//! When graded, the mapping's length (3-8 pages: a small `RLIMIT_MEMLOCK` such as
//! 64 KiB still allows it), the pages unmapped and the pages locked are drawn ([`draw`]);
//! a first page stays the first page, a middle page strictly inside, the last pages the
//! last ones (two or more) and all pages all of them. The unmapping test also maps and
//! locks a page or two on either side in the same mmap ([`Neighbours`]), so the kernel
//! shows one locked mapping and the lab's first page is only in its arguments.

use munmap_lab::lab06_mlock::{lock, locked_kib, unmap_pages};
use munmap_lab_harness::draw;
use munmap_lab_harness::maps::window_pages;
use munmap_lab_harness::memlock::{lock_or_skip, lockable_or_skip, vm_lck_pages};
use munmap_lab_harness::{MapsView, Neighbours, Slot, Story, expect, isolated, page_size, pages};
use rstest::rstest;
use serial_test::serial;

/// The mapping's length under `cargo test` (its snapshots'), and the lengths a grading
/// draws: never more than 8 pages locked, so a small RLIMIT_MEMLOCK still allows them.
const MAPPING_PAGES: usize = 4;
const DRAWN_MAPPING_PAGES: std::ops::RangeInclusive<usize> = 3..=8;

/// The mapping's length: 4 pages, or as drawn.
fn drawn_mapping_pages() -> usize {
    draw::count("mapping pages", MAPPING_PAGES, DRAWN_MAPPING_PAGES)
}

/// A written `len`-page mapping filling its slot (window pages 1-len).
fn mapping(len: usize) -> Slot {
    let slot = Slot::new(len);
    slot.map_filled(len, |_| b'L');
    slot
}

/// Window pages `locked` (and no others) carry the `lo` flag, and the process's
/// `VmLck` and the window's smaps `Locked:` both count exactly that many pages
/// more than at the start of the test.
fn check_locks(view: &MapsView, slot: &Slot, locked: &[usize], vm_lck_at_start: u64, why: &str) {
    assert_eq!(
        view.locked_pages(),
        locked,
        "the window pages marked `lo` (locked) in smaps should be {locked:?} ({why}).\nthe window is:\n{view}"
    );
    let vm_lck = vm_lck_pages() - vm_lck_at_start;
    assert_eq!(
        vm_lck,
        locked.len() as u64,
        "VmLck in /proc/self/status should count {} locked page(s) ({why}), but counts {vm_lck}.\nthe window is:\n{view}",
        locked.len()
    );
    let in_smaps = slot.smaps_pages("Locked");
    assert_eq!(
        in_smaps,
        locked.len() as u64,
        "smaps `Locked:` of the window should add up to {} page(s) ({why}), but adds up to {in_smaps}",
        locked.len()
    );
}

#[rstest]
#[serial]
fn lock_locks_every_page() {
    isolated(|| {
        let len = drawn_mapping_pages();
        lockable_or_skip(len);
        let at_start = vm_lck_pages();
        let slot = mapping(len);
        let mut story = Story::new(format!(
            "a {len}-page anonymous mapping at {}; lock(addr, {len} pages) mlocks all of it",
            slot.shown()
        ));
        story.step("before", &slot.view());

        expect::call(
            format!("lock(addr, {len} pages)"),
            "Ok(()): every page of the range locked",
            || unsafe { lock(slot.page(0), pages(len)) },
        )
        .unwrap_or_else(|e| {
            panic!("lock should succeed: this process was just shown to be allowed to lock {len} pages, but it returned {e}")
        });

        let view = slot.view();
        story.step(format!("after lock(addr, {len} pages)"), &view);
        check_locks(
            &view,
            &slot,
            &slot.all().collect::<Vec<_>>(),
            at_start,
            "mlock locks every page of the range",
        );
        expect::mapped(&view, slot.all(), "rw-p", "locking keeps the mapping as it was");
        slot.check_guards(&view);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
#[case::first_page(Unmapped::FirstPage)]
#[case::middle_page(Unmapped::MiddlePage)]
#[case::last_two_pages(Unmapped::LastPages)]
#[case::all_four_pages(Unmapped::AllPages)]
fn unmapping_locked_pages_unlocks_only_those_pages(#[case] unmapped: Unmapped) {
    isolated(|| {
        let len = drawn_mapping_pages();
        let (first, count) = unmapped.range(len);
        let beside = Neighbours::drawn();
        let at_start = vm_lck_pages();
        let slot = mapping(beside.slot_pages(len));
        let addr = slot.page(beside.before);
        unsafe { lock_or_skip(slot.page(0), pages(slot.pages())) };
        let lab_pages = slot.window(beside.slot_range(0..len));
        let mut story = Story::new(format!(
            "a locked {len}-page anonymous mapping at {}{}; unmap_pages(addr, {first}, {count}) \
             unmaps {count} page(s) without munlock: their lock goes with them, the rest stay locked",
            window_pages(lab_pages.clone()),
            beside.described()
        ));
        let view_of = |slot: &Slot| slot.view().with_mapping(lab_pages.clone());
        story.step(format!("before (all {len} pages locked)"), &view_of(&slot));

        expect::call(
            format!("unmap_pages(addr, {first}, {count})"),
            "Ok(()): the pages unmapped, locked or not",
            || unsafe { unmap_pages(addr, first, count) },
        )
        .expect("unmapping locked pages should succeed");

        let view = view_of(&slot);
        story.step(format!("after unmap_pages(addr, {first}, {count})"), &view);
        let gone = slot.window(beside.slot_range(first..first + count));
        expect::unmapped(&view, gone.clone(), "munmap removes the pages, locked or not");
        let kept: Vec<usize> = slot.all().filter(|p| !gone.contains(p)).collect();
        for &page in &kept {
            expect::mapped(&view, page..page + 1, "rw-p", "pages outside the range stay mapped");
            let addr = slot.arena().page(page);
            expect::page_holds(addr, b'L', "pages outside the range keep their contents");
        }
        check_locks(
            &view,
            &slot,
            &kept,
            at_start,
            "munmap unlocks exactly the pages it removes; the pages that stay keep their lock",
        );
        slot.check_guards(&view);
        let whose = if beside == Neighbours::NONE {
            "this mapping"
        } else {
            "the window"
        };
        story.fact(format!(
            "VmLck and smaps Locked: count {} locked page(s) of {whose}",
            kept.len()
        ));
        story.assert_snapshot();
    });
}

/// Which pages of the locked mapping a case unmaps.
#[derive(Clone, Copy, Debug)]
enum Unmapped {
    /// Mapping page 0.
    FirstPage,
    /// Mapping page 1 (or as drawn): one page strictly inside the mapping.
    MiddlePage,
    /// The last two pages (or the last 2 or more, as drawn; never all of them).
    LastPages,
    /// The whole mapping.
    AllPages,
}

impl Unmapped {
    /// `(first, count)` handed to `unmap_pages` in a mapping of `len` pages (3 or more):
    /// today's under `cargo test`, drawn when graded.
    fn range(self, len: usize) -> (usize, usize) {
        match self {
            Unmapped::FirstPage => (0, 1),
            Unmapped::MiddlePage => (draw::count("middle page", 1, 1..=len - 2), 1),
            Unmapped::LastPages => {
                let count = draw::count("last pages", 2, 2..=len - 1);
                (len - count, count)
            }
            Unmapped::AllPages => (0, len),
        }
    }
}

#[rstest]
#[serial]
fn locked_kib_reports_vm_lck() {
    isolated(|| {
        let len = drawn_mapping_pages();
        let locked = draw::count("locked pages", 3, 1..=len);
        let first = draw::count("first locked page", 0, 0..=len - locked);
        let slot = mapping(len);
        unsafe { lock_or_skip(slot.page(first), pages(locked)) };
        let kernel = vm_lck_pages() * page_size() as u64 / 1024;
        let reported = expect::call(
            format!("locked_kib() with {locked} page(s) locked"),
            "Ok(kB): the VmLck line of /proc/self/status",
            locked_kib,
        )
        .expect("locked_kib should read /proc/self/status");
        assert_eq!(
            reported, kernel,
            "with {locked} pages locked, VmLck in /proc/self/status says {kernel} kB, but locked_kib returned {reported}"
        );

        let addr = slot.page(0);
        unsafe { nix::sys::mman::munmap(addr.cast(), pages(len)) }.expect("unmapping the mapping");
        let kernel = vm_lck_pages() * page_size() as u64 / 1024;
        let reported = expect::call(
            "locked_kib() after the munmap",
            "Ok(kB): the VmLck line of /proc/self/status, read again",
            locked_kib,
        )
        .expect("locked_kib should read /proc/self/status");
        assert_eq!(
            reported, kernel,
            "after munmap of the locked pages VmLck says {kernel} kB, but locked_kib returned {reported}: \
             read the value again on every call"
        );
        drop(slot);
    });
}
