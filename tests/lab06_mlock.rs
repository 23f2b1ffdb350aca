//! Lab 06: munmap unlocks exactly the pages it removes; no munlock needed.
//!
//! Every scenario is a 4-page anonymous read-write mapping at window pages 1-4 of a
//! 6-page arena (pages 0 and 5 stay PROT_NONE reservation). Locks are counted as
//! changes of `VmLck` from the start of the test, so nothing else in the process
//! matters. Where `RLIMIT_MEMLOCK` forbids locking 4 pages, the test is skipped.

use munmap_lab::lab06_mlock::{lock, locked_kib, unmap_pages};
use munmap_lab_harness::memlock::{lock_or_skip, lockable_or_skip, vm_lck_pages};
use munmap_lab_harness::{MapsView, Slot, Story, expect, isolated, page_size, pages};
use rstest::rstest;
use serial_test::serial;

const MAPPING_PAGES: usize = 4;

/// A written 4-page mapping filling its slot (window pages 1-4).
fn four_pages() -> Slot {
    let slot = Slot::new(MAPPING_PAGES);
    slot.map_filled(MAPPING_PAGES, |_| b'L');
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
        lockable_or_skip(MAPPING_PAGES);
        let at_start = vm_lck_pages();
        let slot = four_pages();
        let mut story = Story::new(format!(
            "a 4-page anonymous mapping at {}; lock(addr, 4 pages) mlocks all of it",
            slot.shown()
        ));
        story.step("before", &slot.view());

        unsafe { lock(slot.page(0), pages(MAPPING_PAGES)) }
            .expect("lock should succeed: this process was just shown to be allowed to lock 4 pages");

        let view = slot.view();
        story.step("after lock(addr, 4 pages)", &view);
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
#[case::first_page(0, 1)]
#[case::middle_page(1, 1)]
#[case::last_two_pages(2, 2)]
#[case::all_four_pages(0, 4)]
fn unmapping_locked_pages_unlocks_only_those_pages(#[case] first: usize, #[case] count: usize) {
    isolated(|| {
        let at_start = vm_lck_pages();
        let slot = four_pages();
        let addr = slot.page(0);
        unsafe { lock_or_skip(addr, pages(MAPPING_PAGES)) };
        let mut story = Story::new(format!(
            "a locked 4-page anonymous mapping at {}; unmap_pages(addr, {first}, {count}) \
             unmaps {count} page(s) without munlock: their lock goes with them, the rest stay locked",
            slot.shown()
        ));
        story.step("before (all 4 pages locked)", &slot.view());

        unsafe { unmap_pages(addr, first, count) }.expect("unmapping locked pages should succeed");

        let view = slot.view();
        story.step(format!("after unmap_pages(addr, {first}, {count})"), &view);
        let gone = slot.window(first..first + count);
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
        story.fact(format!(
            "VmLck and smaps Locked: count {} locked page(s) of this mapping",
            kept.len()
        ));
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn locked_kib_reports_vm_lck() {
    isolated(|| {
        let slot = four_pages();
        let addr = slot.page(0);
        unsafe { lock_or_skip(addr, pages(3)) };
        let kernel = vm_lck_pages() * page_size() as u64 / 1024;
        let reported = locked_kib().expect("locked_kib should read /proc/self/status");
        assert_eq!(
            reported, kernel,
            "with 3 pages locked, VmLck in /proc/self/status says {kernel} kB, but locked_kib returned {reported}"
        );

        unsafe { nix::sys::mman::munmap(addr.cast(), pages(MAPPING_PAGES)) }.expect("unmapping the mapping");
        let kernel = vm_lck_pages() * page_size() as u64 / 1024;
        let reported = locked_kib().expect("locked_kib should read /proc/self/status");
        assert_eq!(
            reported, kernel,
            "after munmap of the locked pages VmLck says {kernel} kB, but locked_kib returned {reported}: \
             read the value again on every call"
        );
        drop(slot);
    });
}
