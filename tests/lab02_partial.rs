//! Lab 02: front trim, back trim and a hole in the middle, on anonymous and file mappings.
//!
//! Every scenario is a 4-page mapping at window pages 1-4 of a 6-page arena; pages 0
//! and 5 stay PROT_NONE reservation, so the lab code must not touch them. Mapping page
//! `i` (window page `i + 1`) holds the byte `'A' + i`.
//!
//! Every function faces a cut of several pages on each backing: the kernel rounds a
//! length up to a whole page, so a page count passed to munmap as a byte length
//! (`munmap(addr, 3)`) still removes exactly one page and looks right for one-page cuts.

use std::ptr::NonNull;

use munmap_lab::lab02_partial::{punch_hole, trim_back, trim_front};
use munmap_lab_harness::maps::Backing as Shown;
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{MapsView, ScratchDir, Slot, Story, expect, isolated, pages};
use nix::sys::mman::{MapFlags, ProtFlags};
use rstest::rstest;
use serial_test::serial;

const MAPPING_PAGES: usize = 4;

#[derive(Clone, Copy, Debug)]
enum Backing {
    Anonymous,
    SharedFile,
}

/// A 4-page mapping filling its slot, and what its pages look like in maps.
struct Scenario {
    slot: Slot,
    _dir: ScratchDir,
    addr: NonNull<u8>,
    perms: &'static str,
    backing: Backing,
}

fn content(mapping_page: usize) -> u8 {
    b'A' + mapping_page as u8
}

fn four_pages(backing: Backing) -> Scenario {
    let slot = Slot::new(MAPPING_PAGES);
    let dir = scratch_dir!();
    let (addr, perms) = match backing {
        Backing::Anonymous => (slot.map_filled(MAPPING_PAGES, content), "rw-p"),
        Backing::SharedFile => {
            let path = dir.file("lab02.data", MAPPING_PAGES, content);
            let file = ScratchDir::open_rw(&path);
            let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
            (
                slot.map_file(MAPPING_PAGES, prot, MapFlags::MAP_SHARED, &file, 0),
                "rw-s",
            )
        }
    };
    Scenario {
        slot,
        _dir: dir,
        addr,
        perms,
        backing,
    }
}

impl Scenario {
    fn describe(&self) -> &'static str {
        match self.backing {
            Backing::Anonymous => "a 4-page anonymous read-write mapping",
            Backing::SharedFile => "a 4-page MAP_SHARED mapping of lab02.data",
        }
    }

    /// Mapping pages `kept` must remain: mapped, same contents, writable, and (for a
    /// file) still showing the same file pages.
    fn check_kept(&self, view: &MapsView, kept: std::ops::Range<usize>, why: &str) {
        expect::mapped(view, self.slot.window(kept.clone()), self.perms, why);
        for n in kept {
            let page = unsafe { self.addr.add(pages(n)) };
            expect::page_holds(page, content(n), why);
            expect::page_writable(page, why);
            if let Backing::SharedFile = self.backing {
                let page = self.slot.window_page(n);
                let run = view.run_at(page);
                let shown = match &run.backing {
                    Shown::File { first_file_page, .. } => first_file_page + (page - run.first) as u64,
                    other => panic!(
                        "mapping page {n} (window page {page}) should still map the file, but is {other:?}\n{view}"
                    ),
                };
                assert_eq!(
                    shown, n as u64,
                    "mapping page {n} (window page {page}) should still show file page {n}: the file offset moves with a front trim\n{view}"
                );
            }
        }
    }
}

#[rstest]
#[serial]
#[case::anonymous_one_page(Backing::Anonymous, 1)]
#[case::anonymous_three_pages(Backing::Anonymous, 3)]
#[case::shared_file_one_page(Backing::SharedFile, 1)]
#[case::shared_file_two_pages(Backing::SharedFile, 2)]
fn trim_front_removes_the_first_pages(#[case] backing: Backing, #[case] cut: usize) {
    isolated(|| {
        let s = four_pages(backing);
        let mut story = Story::new(format!(
            "{} at {}; trim_front removes its first {cut} page(s): one mapping remains, starting later",
            s.describe(),
            s.slot.shown()
        ));
        story.step("before", &s.slot.view());

        let (rest, rest_len) = expect::call(
            format!("trim_front(addr, 4 pages, {cut})"),
            "the first pages unmapped and Ok((address, length)) of the rest returned",
            || unsafe { trim_front(s.addr, pages(MAPPING_PAGES), cut) },
        )
        .expect("a front trim should succeed");

        let view = s.slot.view();
        story.step(format!("after trim_front(addr, 4 pages, {cut})"), &view);
        assert_eq!(
            s.slot.range(rest, rest_len),
            s.slot.range(s.slot.page(cut), pages(MAPPING_PAGES - cut)),
            "trim_front should return the remaining mapping: it starts {cut} page(s) later and is {cut} page(s) shorter"
        );
        expect::unmapped(&view, s.slot.window(0..cut), "a front trim removes the first pages");
        s.check_kept(&view, cut..MAPPING_PAGES, "a front trim keeps the later pages");
        s.slot.check_guards(&view);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
#[case::anonymous_one_page(Backing::Anonymous, 1)]
#[case::anonymous_three_pages(Backing::Anonymous, 3)]
#[case::shared_file_one_page(Backing::SharedFile, 1)]
#[case::shared_file_two_pages(Backing::SharedFile, 2)]
fn trim_back_removes_the_last_pages(#[case] backing: Backing, #[case] cut: usize) {
    isolated(|| {
        let s = four_pages(backing);
        let mut story = Story::new(format!(
            "{} at {}; trim_back removes its last {cut} page(s): one mapping remains, ending earlier",
            s.describe(),
            s.slot.shown()
        ));
        story.step("before", &s.slot.view());

        let (rest, rest_len) = expect::call(
            format!("trim_back(addr, 4 pages, {cut})"),
            "the last pages unmapped and Ok((address, length)) of the rest returned",
            || unsafe { trim_back(s.addr, pages(MAPPING_PAGES), cut) },
        )
        .expect("a back trim should succeed");

        let view = s.slot.view();
        story.step(format!("after trim_back(addr, 4 pages, {cut})"), &view);
        assert_eq!(
            s.slot.range(rest, rest_len),
            s.slot.range(s.addr, pages(MAPPING_PAGES - cut)),
            "trim_back should return the remaining mapping: same start, {cut} page(s) shorter"
        );
        let kept = MAPPING_PAGES - cut;
        expect::unmapped(
            &view,
            s.slot.window(kept..MAPPING_PAGES),
            "a back trim removes the last pages",
        );
        s.check_kept(&view, 0..kept, "a back trim keeps the earlier pages");
        s.slot.check_guards(&view);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
#[case::anonymous_two_page_hole(Backing::Anonymous, 1, 2)]
#[case::anonymous_one_page_hole(Backing::Anonymous, 2, 1)]
#[case::shared_file_two_page_hole(Backing::SharedFile, 1, 2)]
fn punch_hole_splits_the_mapping_in_two(#[case] backing: Backing, #[case] first: usize, #[case] count: usize) {
    isolated(|| {
        let s = four_pages(backing);
        let mut story = Story::new(format!(
            "{} at {}; punch_hole removes {count} page(s) from mapping page {first}: \
             the kernel splits it into two mappings",
            s.describe(),
            s.slot.shown()
        ));
        story.step("before", &s.slot.view());

        let sides = expect::call(
            format!("punch_hole(addr, 4 pages, {first}, {count})"),
            "the hole's pages unmapped and Ok([lower side, upper side]) returned",
            || unsafe { punch_hole(s.addr, pages(MAPPING_PAGES), first, count) },
        )
        .expect("punching a hole should succeed");

        let view = s.slot.view();
        story.step(format!("after punch_hole(addr, 4 pages, {first}, {count})"), &view);
        let upper = first + count;
        assert_eq!(
            sides.map(|(addr, len)| s.slot.range(addr, len)),
            [
                s.slot.range(s.addr, pages(first)),
                s.slot.range(s.slot.page(upper), pages(MAPPING_PAGES - upper))
            ],
            "punch_hole should return the two mappings on either side of the hole, lower first"
        );
        expect::unmapped(&view, s.slot.window(first..upper), "the hole's pages are removed");
        s.check_kept(&view, 0..first, "pages below the hole stay");
        s.check_kept(&view, upper..MAPPING_PAGES, "pages above the hole stay");
        assert_ne!(
            view.run_at(s.slot.all().start).first,
            view.run_at(s.slot.all().end - 1).first,
            "the two sides of the hole must be separate mappings\n{view}"
        );
        s.slot.check_guards(&view);
        story.assert_snapshot();
    });
}
