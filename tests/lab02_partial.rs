//! Lab 02: front trim, back trim and a hole in the middle, on anonymous and file mappings.
//!
//! Every scenario is a 4-page mapping at window pages 1-4 of a 6-page arena; pages 0
//! and 5 stay PROT_NONE reservation, so the lab code must not touch them. Mapping page
//! `i` (window page `i + 1`) holds the byte `'A' + i`. When graded, the mapping's length
//! and the cut's place and length are drawn ([`draw`]); a one-page case stays one page.
//! A graded scenario also maps a page or two with the mapping on either side, in the same
//! mmap ([`Neighbours`]): the kernel shows one longer mapping, so a one-page trim at the
//! edge of what maps shows is wrong, and only the arguments say where the lab's pages are.
//!
//! Every function faces a cut of several pages on each backing: the kernel rounds a
//! length up to a whole page, so a page count passed to munmap as a byte length
//! (`munmap(addr, 3)`) still removes exactly one page and looks right for one-page cuts.

use std::ptr::NonNull;

use munmap_lab::lab02_partial::{punch_hole, trim_back, trim_front};
use munmap_lab_harness::draw;
use munmap_lab_harness::maps::{Backing as Shown, window_pages};
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{MapsView, Neighbours, ScratchDir, Slot, Story, expect, isolated, pages};
use nix::sys::mman::{MapFlags, ProtFlags};
use rstest::rstest;
use serial_test::serial;

/// The mapping's length under `cargo test` (its snapshot's), and the lengths a grading draws.
const MAPPING_PAGES: usize = 4;
const DRAWN_MAPPING_PAGES: std::ops::RangeInclusive<usize> = 4..=9;

#[derive(Clone, Copy, Debug)]
enum Backing {
    Anonymous,
    SharedFile,
}

/// A mapping in its slot (4 pages, or as drawn, with drawn neighbours), and what its
/// pages look like in maps.
struct Scenario {
    slot: Slot,
    /// The mapping's length in pages.
    len: usize,
    /// Pages the test mapped with it on either side (none under `cargo test`).
    beside: Neighbours,
    _dir: ScratchDir,
    addr: NonNull<u8>,
    perms: &'static str,
    backing: Backing,
}

/// Every byte of slot page `slot_page`: mapping page `i` holds `'A' + i` when the mapping
/// fills its slot.
fn content(slot_page: usize) -> u8 {
    b'A' + slot_page as u8
}

/// The scenario: a mapping of `len` pages in its slot, between its drawn neighbours, all
/// made by one mmap (of file page 0 on, for a file).
fn mapping(backing: Backing, len: usize) -> Scenario {
    let beside = Neighbours::drawn();
    let total = beside.slot_pages(len);
    let slot = Slot::new(total);
    let dir = scratch_dir!();
    let (start, perms) = match backing {
        Backing::Anonymous => (slot.map_filled(total, content), "rw-p"),
        Backing::SharedFile => {
            let path = dir.file("lab02.data", total, content);
            let file = ScratchDir::open_rw(&path);
            let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
            (slot.map_file(total, prot, MapFlags::MAP_SHARED, &file, 0), "rw-s")
        }
    };
    Scenario {
        addr: unsafe { start.add(pages(beside.before)) },
        slot,
        len,
        beside,
        _dir: dir,
        perms,
        backing,
    }
}

impl Scenario {
    fn describe(&self) -> String {
        let what = match self.backing {
            Backing::Anonymous => format!("a {}-page anonymous read-write mapping", self.len),
            Backing::SharedFile => format!("a {}-page MAP_SHARED mapping of lab02.data", self.len),
        };
        format!(
            "{what} at {}{}",
            window_pages(self.window(0..self.len)),
            self.beside.described()
        )
    }

    /// The window, its messages counting mapping pages from the lab's first page.
    fn view(&self) -> MapsView {
        self.slot.view().with_mapping(self.window(0..self.len))
    }

    /// The window pages of mapping pages `mapping_pages`.
    fn window(&self, mapping_pages: std::ops::Range<usize>) -> std::ops::Range<usize> {
        self.slot.window(self.beside.slot_range(mapping_pages))
    }

    /// The address of mapping page `n`.
    fn page(&self, n: usize) -> NonNull<u8> {
        self.slot.page(self.beside.slot_page(n))
    }

    /// Mapping pages `kept` must remain: mapped, same contents, writable, and (for a
    /// file) still showing the same file pages.
    fn check_kept(&self, view: &MapsView, kept: std::ops::Range<usize>, why: &str) {
        self.check_slot_pages(view, self.beside.slot_range(kept), why);
    }

    /// The neighbours are not the lab's: they stay as the test made them.
    fn check_neighbours(&self, view: &MapsView) {
        let why = "the pages mapped with the lab's mapping, just before or after it, are not the lab's to unmap";
        for n in self.beside.pages(self.len) {
            self.check_slot_pages(view, n..n + 1, why);
        }
    }

    fn check_slot_pages(&self, view: &MapsView, slot_pages: std::ops::Range<usize>, why: &str) {
        expect::mapped(view, self.slot.window(slot_pages.clone()), self.perms, why);
        for n in slot_pages {
            let page = self.slot.page(n);
            let named = match n.checked_sub(self.beside.before) {
                Some(m) if m < self.len => format!("mapping page {m}"),
                _ => format!("slot page {n}, a neighbour of the mapping,"),
            };
            expect::page_holds(page, content(n), why);
            expect::page_writable(page, why);
            if let Backing::SharedFile = self.backing {
                let page = self.slot.window_page(n);
                let run = view.run_at(page);
                let shown = match &run.backing {
                    Shown::File { first_file_page, .. } => first_file_page + (page - run.first) as u64,
                    other => panic!("{named} (window page {page}) should still map the file, but is {other:?}\n{view}"),
                };
                assert_eq!(
                    shown, n as u64,
                    "{named} (window page {page}) should still show file page {n}: the file offset moves with a front trim\n{view}"
                );
            }
        }
    }
}

/// The cut of a case: a one-page cut stays one page (the kernel's rounding makes one
/// page the easy case); a longer one is drawn from 2 pages up to all but one.
fn drawn_cut(cut: usize, len: usize) -> usize {
    match cut {
        1 => 1,
        _ => draw::count("cut pages", cut, 2..=len - 1),
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
        let s = mapping(
            backing,
            draw::count("mapping pages", MAPPING_PAGES, DRAWN_MAPPING_PAGES),
        );
        let cut = drawn_cut(cut, s.len);
        let len = s.len;
        let mut story = Story::new(format!(
            "{}; trim_front removes its first {cut} page(s): one mapping remains, starting later",
            s.describe()
        ));
        story.step("before", &s.view());

        let (rest, rest_len) = expect::call(
            format!("trim_front(addr, {len} pages, {cut})"),
            "the first pages unmapped and Ok((address, length)) of the rest returned",
            || unsafe { trim_front(s.addr, pages(len), cut) },
        )
        .expect("a front trim should succeed");

        let view = s.view();
        story.step(format!("after trim_front(addr, {len} pages, {cut})"), &view);
        assert_eq!(
            s.slot.range(rest, rest_len),
            s.slot.range(s.page(cut), pages(len - cut)),
            "trim_front should return the remaining mapping: it starts {cut} page(s) later and is {cut} page(s) shorter"
        );
        expect::unmapped(&view, s.window(0..cut), "a front trim removes the first pages");
        s.check_kept(&view, cut..len, "a front trim keeps the later pages");
        s.check_neighbours(&view);
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
        let s = mapping(
            backing,
            draw::count("mapping pages", MAPPING_PAGES, DRAWN_MAPPING_PAGES),
        );
        let cut = drawn_cut(cut, s.len);
        let len = s.len;
        let mut story = Story::new(format!(
            "{}; trim_back removes its last {cut} page(s): one mapping remains, ending earlier",
            s.describe()
        ));
        story.step("before", &s.view());

        let (rest, rest_len) = expect::call(
            format!("trim_back(addr, {len} pages, {cut})"),
            "the last pages unmapped and Ok((address, length)) of the rest returned",
            || unsafe { trim_back(s.addr, pages(len), cut) },
        )
        .expect("a back trim should succeed");

        let view = s.view();
        story.step(format!("after trim_back(addr, {len} pages, {cut})"), &view);
        assert_eq!(
            s.slot.range(rest, rest_len),
            s.slot.range(s.addr, pages(len - cut)),
            "trim_back should return the remaining mapping: same start, {cut} page(s) shorter"
        );
        let kept = len - cut;
        expect::unmapped(&view, s.window(kept..len), "a back trim removes the last pages");
        s.check_kept(&view, 0..kept, "a back trim keeps the earlier pages");
        s.check_neighbours(&view);
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
        let s = mapping(
            backing,
            draw::count("mapping pages", MAPPING_PAGES, DRAWN_MAPPING_PAGES),
        );
        let len = s.len;
        // A page or more stays on either side of the hole.
        let first = draw::count("first page of the hole", first, 1..=len - count - 1);
        let mut story = Story::new(format!(
            "{}; punch_hole removes {count} page(s) from mapping page {first}: \
             the kernel splits it into two mappings",
            s.describe()
        ));
        story.step("before", &s.view());

        let sides = expect::call(
            format!("punch_hole(addr, {len} pages, {first}, {count})"),
            "the hole's pages unmapped and Ok([lower side, upper side]) returned",
            || unsafe { punch_hole(s.addr, pages(len), first, count) },
        )
        .expect("punching a hole should succeed");

        let view = s.view();
        story.step(format!("after punch_hole(addr, {len} pages, {first}, {count})"), &view);
        let upper = first + count;
        assert_eq!(
            sides.map(|(addr, len)| s.slot.range(addr, len)),
            [
                s.slot.range(s.addr, pages(first)),
                s.slot.range(s.page(upper), pages(len - upper))
            ],
            "punch_hole should return the two mappings on either side of the hole, lower first"
        );
        expect::unmapped(&view, s.window(first..upper), "the hole's pages are removed");
        s.check_kept(&view, 0..first, "pages below the hole stay");
        s.check_kept(&view, upper..len, "pages above the hole stay");
        assert_ne!(
            view.run_at(s.window(0..len).start).first,
            view.run_at(s.window(0..len).end - 1).first,
            "the two sides of the hole must be separate mappings\n{view}"
        );
        s.check_neighbours(&view);
        s.slot.check_guards(&view);
        story.assert_snapshot();
    });
}
