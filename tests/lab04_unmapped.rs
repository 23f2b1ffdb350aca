//! Lab 04: unmapping what is not mapped succeeds, and a stale second unmap is dangerous.
//!
//! Scenarios live in a 6-page arena: window pages 0 and 5 are reservation that the
//! lab code must not touch. "Yours" is a 2- or 3-page anonymous read-write mapping
//! from window page 1; "theirs" is someone else's read-only mapping of `lab04.data`
//! that the test places at the same addresses after yours is gone, as the kernel may
//! do for any later mmap in the process.

use std::ops::Range;
use std::ptr::NonNull;

use munmap_lab::lab04_unmapped::{release, unmap_and_count};
use munmap_lab_harness::maps::window_pages;
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{Arena, ScratchDir, Slot, Story, expect, isolated, pages};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags, munmap};
use rstest::rstest;
use serial_test::serial;

/// Pages of the scene (window pages 1-4) where "yours", and later "theirs", starts.
const SLOT_PAGES: usize = 4;

/// Byte that fills page `n` of "yours".
fn yours(n: usize) -> u8 {
    b'A' + n as u8
}

/// Byte that fills page `n` of the file behind "theirs".
fn theirs(n: usize) -> u8 {
    b'x' + n as u8
}

/// Someone else maps `count` read-only pages of `lab04.data` where "yours" was.
fn map_theirs(scene: &Slot, dir: &ScratchDir, count: usize) -> NonNull<u8> {
    let path = dir.file("lab04.data", count, theirs);
    let file = std::fs::File::open(&path).expect("opening lab04.data read-only");
    scene.map_file(count, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE, &file, 0)
}

/// Unmaps window pages `hole` (test setup, not lab code).
fn punch(arena: &Arena, hole: Range<usize>) {
    unsafe { munmap(arena.page(hole.start).cast(), pages(hole.len())) }.expect("punching a test hole");
}

#[rstest]
#[serial]
fn unmapping_a_never_mapped_range_succeeds() {
    isolated(|| {
        let scene = Slot::new(SLOT_PAGES);
        punch(scene.arena(), scene.all());
        let before = scene.view();
        let mut story = Story::new(format!(
            "{} were never mapped by anyone (a hole in the reservation); \
             unmap_and_count(page 1, 4 pages) succeeds, finds 0 mapped pages and changes nothing",
            scene.shown()
        ));
        story.step("before", &before);

        let counted = expect::call(
            "unmap_and_count(window page 1, 4 pages)",
            "Ok(0): munmap over a range where nothing is mapped succeeds",
            || unsafe { unmap_and_count(scene.page(0), pages(SLOT_PAGES)) },
        );

        let view = scene.view();
        story.step(
            format!("after unmap_and_count(page 1, 4 pages) returned {counted:?}"),
            &view,
        );
        assert_eq!(
            counted,
            Ok(0),
            "munmap over a range where nothing is mapped returns 0, and none of its 4 pages was mapped"
        );
        assert_eq!(view, before, "unmapping nothing changes nothing\n{view}");
        scene.check_guards(&view);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn unmapping_the_same_range_twice_succeeds() {
    isolated(|| {
        let scene = Slot::new(SLOT_PAGES);
        let addr = scene.map_filled(3, yours);
        let mut story = Story::new(
            "a 3-page anonymous mapping at window pages 1-3 is unmapped with unmap_and_count, then the same \
             range is unmapped again: both calls succeed, the first finds 3 mapped pages, the second 0",
        );
        story.step("before", &scene.view());

        let first = expect::call("unmap_and_count(addr, 3 pages)", "Ok(3)", || unsafe {
            unmap_and_count(addr, pages(3))
        });
        let view = scene.view();
        story.step(
            format!("after the first unmap_and_count(addr, 3 pages) returned {first:?}"),
            &view,
        );
        assert_eq!(first, Ok(3), "the first unmap finds all 3 pages of the mapping");
        expect::unmapped(&view, scene.window(0..3), "the first unmap removes the mapping");

        let second = expect::call(
            "unmap_and_count(addr, 3 pages) a second time",
            "Ok(0): a second munmap of the same range is no error",
            || unsafe { unmap_and_count(addr, pages(3)) },
        );
        let after = scene.view();
        story.step(
            format!("after the second unmap_and_count(addr, 3 pages) returned {second:?}"),
            &after,
        );
        assert_eq!(
            second,
            Ok(0),
            "a second munmap of the same range is no error (it returns 0), and nothing was mapped there any more"
        );
        assert_eq!(after, view, "the second unmap finds nothing to remove\n{after}");
        scene.check_guards(&after);
        story.assert_snapshot();
    });
}

/// What the range handed to `unmap_and_count` holds, for the counting cases.
#[derive(Clone, Copy, Debug)]
enum Holds {
    /// Yours at pages 1-2, a hole at 3-4; the range is pages 1-4.
    MappingThenHole,
    /// A hole at 1-2, their file pages at 3-4; the range is pages 1-4.
    HoleThenFile,
    /// Reservation page 0, yours at 1-2, a hole at 3-4, reservation page 5; the range is pages 0-5.
    ProtNoneToo,
}

#[rstest]
#[serial]
#[case::mapping_then_hole(Holds::MappingThenHole, 1..5, 2)]
#[case::hole_then_file(Holds::HoleThenFile, 1..5, 2)]
#[case::prot_none_pages_count_as_mapped(Holds::ProtNoneToo, 0..6, 4)]
fn unmap_and_count_counts_only_the_mapped_pages(
    #[case] holds: Holds,
    #[case] range: Range<usize>,
    #[case] mapped: usize,
) {
    isolated(|| {
        let scene = Slot::new(SLOT_PAGES);
        let dir = scratch_dir!();
        match holds {
            Holds::MappingThenHole | Holds::ProtNoneToo => {
                scene.map_filled(2, yours);
                punch(scene.arena(), 3..5);
            }
            Holds::HoleThenFile => {
                let path = dir.file("lab04.data", 2, theirs);
                let file = std::fs::File::open(&path).expect("opening lab04.data read-only");
                scene
                    .arena()
                    .map_file(3, 2, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE, &file, 0);
                punch(scene.arena(), 1..3);
            }
        }
        let before = scene.view();

        let counted = expect::call(
            format!("unmap_and_count(window page {}, {} pages)", range.start, range.len()),
            format!("Ok({mapped})"),
            || unsafe { unmap_and_count(scene.arena().page(range.start), pages(range.len())) },
        );

        let view = scene.view();
        assert_eq!(
            counted,
            Ok(mapped),
            "{} held {mapped} mapped page(s) (PROT_NONE pages are mapped too); munmap returns 0 either way, so \
             count them before unmapping.\nthe window before:\n{before}",
            window_pages(range.clone())
        );
        expect::unmapped(&view, range.clone(), "every mapped page in the range goes");
    });
}

#[rstest]
#[serial]
fn a_stale_second_unmap_destroys_the_new_mapping() {
    isolated(|| {
        let scene = Slot::new(SLOT_PAGES);
        let dir = scratch_dir!();
        let addr = scene.map_filled(2, yours);
        let mut story = Story::new(
            "yours (2 anonymous pages at window pages 1-2) is unmapped; someone else then maps a file at the same \
             addresses; a second, stale unmap_and_count through the old pointer succeeds and silently removes \
             THEIR mapping",
        );
        story.step("yours, before", &scene.view());

        let first = expect::call("unmap_and_count(addr, 2 pages)", "Ok(2)", || unsafe {
            unmap_and_count(addr, pages(2))
        });
        story.step(
            format!("after unmap_and_count(addr, 2 pages) returned {first:?}"),
            &scene.view(),
        );
        assert_eq!(first, Ok(2), "the first unmap finds both pages of yours");

        let their_addr = map_theirs(&scene, &dir, 2);
        assert_eq!(their_addr, addr, "the test places their mapping at your old address");
        story.step("someone else maps lab04.data at the same address", &scene.view());

        let stale = expect::call(
            "unmap_and_count(addr, 2 pages) again, through the stale pointer",
            "Ok(2)",
            || unsafe { unmap_and_count(addr, pages(2)) },
        );
        let view = scene.view();
        story.step(
            format!("after the stale unmap_and_count(addr, 2 pages) returned {stale:?}"),
            &view,
        );
        assert_eq!(
            stale,
            Ok(2),
            "the stale unmap found 2 mapped pages at the old address: they were someone else's, and munmap \
             removed them without any error"
        );
        expect::unmapped(
            &view,
            scene.window(0..2),
            "a stale munmap removes whatever is mapped at the old address now",
        );
        scene.check_guards(&view);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn release_forgets_the_pointer() {
    isolated(|| {
        let scene = Slot::new(SLOT_PAGES);
        let dir = scratch_dir!();
        let addr = scene.map_filled(2, yours);
        let mut slot = Some((addr, pages(2)));
        let mut story = Story::new(
            "yours (2 anonymous pages at window pages 1-2) is held in a slot; release(&mut slot) unmaps it and \
             empties the slot; someone else maps a file at the same addresses; a second release(&mut slot) finds \
             the slot empty and their mapping survives",
        );
        story.step("yours, before", &scene.view());

        expect::call("release(&mut slot)", "Ok(()) and the slot emptied", || unsafe {
            release(&mut slot)
        })
        .expect("releasing a mapping this code owns should succeed");
        let view = scene.view();
        story.step("after release(&mut slot)", &view);
        expect::unmapped(&view, scene.window(0..2), "release unmaps the mapping in the slot");
        assert_eq!(
            slot, None,
            "release must empty the slot once the mapping is gone: the address is free for anyone to reuse"
        );

        let their_addr = map_theirs(&scene, &dir, 2);
        assert_eq!(their_addr, addr, "the test places their mapping at your old address");
        story.step("someone else maps lab04.data at the same address", &scene.view());

        expect::call(
            "release(&mut slot) of the emptied slot",
            "Ok(()), nothing unmapped",
            || unsafe { release(&mut slot) },
        )
        .expect("releasing an empty slot should succeed and do nothing");
        let after = scene.view();
        story.step("after a second release(&mut slot)", &after);
        let why = "their mapping is not yours: a second release of an emptied slot must not unmap anything";
        expect::mapped(&after, scene.window(0..2), "r--p", why);
        for n in 0..2 {
            expect::page_holds(unsafe { addr.add(pages(n)) }, theirs(n), why);
        }
        scene.check_guards(&after);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn release_keeps_the_slot_when_munmap_fails() {
    isolated(|| {
        let scene = Slot::new(SLOT_PAGES);
        let addr = scene.map_filled(2, yours);
        // An address one byte into the mapping: munmap refuses it (EINVAL) and removes nothing.
        let bad = Some((unsafe { addr.add(1) }, pages(1)));
        let mut slot = bad;

        let result = expect::call(
            "release(&mut slot) with a slot one byte into the mapping",
            "Err(EINVAL) returned and the slot kept",
            || unsafe { release(&mut slot) },
        );

        let view = scene.view();
        assert_eq!(
            result,
            Err(Errno::EINVAL),
            "munmap of an address that is not page-aligned fails with EINVAL; release must return that error"
        );
        assert_eq!(
            slot, bad,
            "when munmap fails nothing was unmapped, so the slot must still hold the mapping"
        );
        expect::mapped(&view, scene.window(0..2), "rw-p", "a failed munmap removes nothing");
        for n in 0..2 {
            expect::page_holds(
                unsafe { addr.add(pages(n)) },
                yours(n),
                "a failed munmap removes nothing",
            );
        }
    });
}
