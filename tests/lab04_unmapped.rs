//! Lab 04: unmapping what is not mapped succeeds, and a stale second unmap is dangerous.
//!
//! Scenarios live in a 6-page arena: window pages 0 and 5 are reservation that the
//! lab code must not touch. "Yours" is a 2- or 3-page anonymous read-write mapping
//! from window page 1; "theirs" is someone else's read-only mapping of `lab04.data`
//! that the test places at the same addresses after yours is gone, as the kernel may
//! do for any later mmap in the process.
//!
//! When graded, the lengths are drawn ([`draw`]): of yours (and so of theirs), of the
//! holes and of the reservation left after them, and where a bad address points; the
//! window stays under 16 pages.

use std::ops::Range;
use std::ptr::NonNull;

use munmap_lab::lab04_unmapped::{release, unmap_and_count};
use munmap_lab_harness::draw;
use munmap_lab_harness::maps::window_pages;
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{Arena, MapsView, ScratchDir, Slot, Story, expect, isolated, pages};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags, munmap};
use rstest::rstest;
use serial_test::serial;

/// Pages of the scene (window pages 1-4) where "yours", and later "theirs", starts.
const SLOT_PAGES: usize = 4;

/// The length of "yours" (`default` pages under `cargo test`, 1-6 when graded), and the
/// scene that holds it with the reservation after it: `SLOT_PAGES` pages under `cargo
/// test`, and 1-3 reservation pages after yours when graded.
fn yours_in_a_scene(default: usize) -> (usize, Slot) {
    let count = draw::count("your pages", default, 1..=6);
    let after = draw::count("reservation pages after yours", SLOT_PAGES - default, 1..=3);
    (count, Slot::new(count + after))
}

/// The reservation after the first `yours` pages of the scene, and the guard pages
/// around it, must still be there: only the pages of yours are lab code's to unmap.
#[track_caller]
fn check_reservation(scene: &Slot, yours: usize, view: &MapsView) {
    expect::mapped(
        view,
        scene.window(yours..scene.pages()),
        "---p",
        "the reservation after yours is not yours to unmap",
    );
    scene.check_guards(view);
}

/// `1 page`, `2 pages`.
fn n_pages(n: usize) -> String {
    match n {
        1 => "1 page".to_string(),
        _ => format!("{n} pages"),
    }
}

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
        let len = draw::count("range pages", SLOT_PAGES, 1..=12);
        let scene = Slot::new(len);
        punch(scene.arena(), scene.all());
        let before = scene.view();
        let range = n_pages(len);
        let mut story = Story::new(format!(
            "{} {} never mapped by anyone (a hole in the reservation); \
             unmap_and_count(page 1, {range}) succeeds, finds 0 mapped pages and changes nothing",
            scene.shown(),
            if len == 1 { "was" } else { "were" }
        ));
        story.step("before", &before);

        let counted = expect::call(
            format!("unmap_and_count(window page 1, {range})"),
            "Ok(0): munmap over a range where nothing is mapped succeeds",
            || unsafe { unmap_and_count(scene.page(0), pages(len)) },
        );

        let view = scene.view();
        story.step(
            format!("after unmap_and_count(page 1, {range}) returned {counted:?}"),
            &view,
        );
        assert_eq!(
            counted,
            Ok(0),
            "munmap over a range where nothing is mapped returns 0, and none of its {range} was mapped"
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
        let (len, scene) = yours_in_a_scene(3);
        let addr = scene.map_filled(len, yours);
        let mut story = Story::new(format!(
            "a {len}-page anonymous mapping at {} is unmapped with unmap_and_count, then the same \
             range is unmapped again: both calls succeed, the first finds {len} mapped page{}, the second 0",
            window_pages(scene.window(0..len)),
            if len == 1 { "" } else { "s" }
        ));
        story.step("before", &scene.view());

        let call = format!("unmap_and_count(addr, {})", n_pages(len));
        let first = expect::call(&call, format!("Ok({len})"), || unsafe {
            unmap_and_count(addr, pages(len))
        });
        let view = scene.view();
        story.step(format!("after the first {call} returned {first:?}"), &view);
        assert_eq!(first, Ok(len), "the first unmap finds all {len} page(s) of the mapping");
        expect::unmapped(&view, scene.window(0..len), "the first unmap removes the mapping");
        check_reservation(&scene, len, &view);

        let second = expect::call(
            format!("{call} a second time"),
            "Ok(0): a second munmap of the same range is no error",
            || unsafe { unmap_and_count(addr, pages(len)) },
        );
        let after = scene.view();
        story.step(format!("after the second {call} returned {second:?}"), &after);
        assert_eq!(
            second,
            Ok(0),
            "a second munmap of the same range is no error (it returns 0), and nothing was mapped there any more"
        );
        assert_eq!(after, view, "the second unmap finds nothing to remove\n{after}");
        check_reservation(&scene, len, &after);
        story.assert_snapshot();
    });
}

/// What the range handed to `unmap_and_count` holds, for the counting cases (the
/// lengths of the mapping and the hole drawn, 1-5 pages each, when graded).
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
#[case::mapping_then_hole(Holds::MappingThenHole)]
#[case::hole_then_file(Holds::HoleThenFile)]
#[case::prot_none_pages_count_as_mapped(Holds::ProtNoneToo)]
fn unmap_and_count_counts_only_the_mapped_pages(#[case] holds: Holds) {
    isolated(|| {
        let mapping = draw::count("mapped pages", 2, 1..=5);
        let hole = draw::count("hole pages", 2, 1..=5);
        let scene = Slot::new(mapping + hole);
        let dir = scratch_dir!();
        // The range handed to unmap_and_count, and the mapped pages in it.
        let (range, mapped) = match holds {
            Holds::MappingThenHole | Holds::ProtNoneToo => {
                scene.map_filled(mapping, yours);
                punch(scene.arena(), scene.window(mapping..mapping + hole));
                match holds {
                    // The guard pages on either side are PROT_NONE reservation: mapped.
                    Holds::ProtNoneToo => (0..scene.window_pages(), mapping + 2),
                    _ => (scene.all(), mapping),
                }
            }
            Holds::HoleThenFile => {
                let path = dir.file("lab04.data", mapping, theirs);
                let file = std::fs::File::open(&path).expect("opening lab04.data read-only");
                scene.arena().map_file(
                    scene.window_page(hole),
                    mapping,
                    ProtFlags::PROT_READ,
                    MapFlags::MAP_PRIVATE,
                    &file,
                    0,
                );
                punch(scene.arena(), scene.window(0..hole));
                (scene.all(), mapping)
            }
        };
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
        if !matches!(holds, Holds::ProtNoneToo) {
            scene.check_guards(&view);
        }
    });
}

#[rstest]
#[serial]
fn a_stale_second_unmap_destroys_the_new_mapping() {
    isolated(|| {
        let (len, scene) = yours_in_a_scene(2);
        let dir = scratch_dir!();
        let addr = scene.map_filled(len, yours);
        let mut story = Story::new(format!(
            "yours ({} anonymous page{} at {}) is unmapped; someone else then maps a file at the same \
             addresses; a second, stale unmap_and_count through the old pointer succeeds and silently removes \
             THEIR mapping",
            len,
            if len == 1 { "" } else { "s" },
            window_pages(scene.window(0..len))
        ));
        story.step("yours, before", &scene.view());

        let call = format!("unmap_and_count(addr, {})", n_pages(len));
        let first = expect::call(&call, format!("Ok({len})"), || unsafe {
            unmap_and_count(addr, pages(len))
        });
        story.step(format!("after {call} returned {first:?}"), &scene.view());
        assert_eq!(first, Ok(len), "the first unmap finds all {len} page(s) of yours");

        let their_addr = map_theirs(&scene, &dir, len);
        assert_eq!(their_addr, addr, "the test places their mapping at your old address");
        story.step("someone else maps lab04.data at the same address", &scene.view());

        let stale = expect::call(
            format!("{call} again, through the stale pointer"),
            format!("Ok({len})"),
            || unsafe { unmap_and_count(addr, pages(len)) },
        );
        let view = scene.view();
        story.step(format!("after the stale {call} returned {stale:?}"), &view);
        assert_eq!(
            stale,
            Ok(len),
            "the stale unmap found {len} mapped page(s) at the old address: they were someone else's, and munmap \
             removed them without any error"
        );
        expect::unmapped(
            &view,
            scene.window(0..len),
            "a stale munmap removes whatever is mapped at the old address now",
        );
        check_reservation(&scene, len, &view);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn release_forgets_the_pointer() {
    isolated(|| {
        let (len, scene) = yours_in_a_scene(2);
        let dir = scratch_dir!();
        let addr = scene.map_filled(len, yours);
        let mut slot = Some((addr, pages(len)));
        let mut story = Story::new(format!(
            "yours ({} anonymous page{} at {}) is held in a slot; release(&mut slot) unmaps it and \
             empties the slot; someone else maps a file at the same addresses; a second release(&mut slot) finds \
             the slot empty and their mapping survives",
            len,
            if len == 1 { "" } else { "s" },
            window_pages(scene.window(0..len))
        ));
        story.step("yours, before", &scene.view());

        expect::call("release(&mut slot)", "Ok(()) and the slot emptied", || unsafe {
            release(&mut slot)
        })
        .expect("releasing a mapping this code owns should succeed");
        let view = scene.view();
        story.step("after release(&mut slot)", &view);
        expect::unmapped(&view, scene.window(0..len), "release unmaps the mapping in the slot");
        check_reservation(&scene, len, &view);
        assert_eq!(
            slot, None,
            "release must empty the slot once the mapping is gone: the address is free for anyone to reuse"
        );

        let their_addr = map_theirs(&scene, &dir, len);
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
        expect::mapped(&after, scene.window(0..len), "r--p", why);
        for n in 0..len {
            expect::page_holds(unsafe { addr.add(pages(n)) }, theirs(n), why);
        }
        check_reservation(&scene, len, &after);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn release_keeps_the_slot_when_munmap_fails() {
    isolated(|| {
        let (len, scene) = yours_in_a_scene(2);
        let addr = scene.map_filled(len, yours);
        // An address some bytes into a page of the mapping (one byte into its first page
        // under `cargo test`): munmap refuses it (EINVAL) and removes nothing.
        let page = draw::count("page of the bad address", 0, 0..=len - 1);
        let bytes = draw::one_of("bytes into the page", 1, &[1, 8, 100, 512, 2048, 4095]);
        let bad_len = draw::count("pages in the bad slot", 1, 1..=len - page);
        let bad = Some((unsafe { addr.add(pages(page) + bytes) }, pages(bad_len)));
        let mut slot = bad;
        let into = match (page, bytes) {
            (0, 1) => "one byte into the mapping".to_string(),
            _ => format!("{bytes} byte(s) into mapping page {page}"),
        };

        let result = expect::call(
            format!("release(&mut slot) with a slot {into}"),
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
        expect::mapped(&view, scene.window(0..len), "rw-p", "a failed munmap removes nothing");
        for n in 0..len {
            expect::page_holds(
                unsafe { addr.add(pages(n)) },
                yours(n),
                "a failed munmap removes nothing",
            );
        }
        check_reservation(&scene, len, &view);
    });
}
