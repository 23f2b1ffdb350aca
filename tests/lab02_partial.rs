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
use munmap_lab_harness::{Arena, MapsView, ScratchDir, Story, expect, isolated, pages};
use nix::sys::mman::{MapFlags, ProtFlags};
use rstest::rstest;

const MAPPING_PAGES: usize = 4;
/// Window page where the mapping starts.
const AT: usize = 1;

#[derive(Clone, Copy, Debug)]
enum Backing {
    Anonymous,
    SharedFile,
}

/// A 4-page mapping in its arena, and what its pages look like in maps.
struct Scenario {
    arena: Arena,
    _dir: ScratchDir,
    addr: NonNull<u8>,
    perms: &'static str,
    backing: Backing,
}

fn content(mapping_page: usize) -> u8 {
    b'A' + mapping_page as u8
}

fn four_pages(backing: Backing) -> Scenario {
    let arena = Arena::new(MAPPING_PAGES + 2);
    let dir = scratch_dir!();
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let (addr, perms) = match backing {
        Backing::Anonymous => {
            let addr = arena.map_anonymous(AT, MAPPING_PAGES, prot);
            for n in 0..MAPPING_PAGES {
                unsafe { addr.add(pages(n)).write_bytes(content(n), pages(1)) };
            }
            (addr, "rw-p")
        }
        Backing::SharedFile => {
            let path = dir.file("lab02.data", MAPPING_PAGES, content);
            let file = ScratchDir::open_rw(&path);
            (
                arena.map_file(AT, MAPPING_PAGES, prot, MapFlags::MAP_SHARED, &file, 0),
                "rw-s",
            )
        }
    };
    Scenario {
        arena,
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
        expect::mapped(view, AT + kept.start..AT + kept.end, self.perms, why);
        for n in kept.clone() {
            let page = unsafe { self.addr.add(pages(n)) };
            expect::page_holds(page, content(n), why);
            expect::page_writable(page, why);
            if let Backing::SharedFile = self.backing {
                let run = view.run_at(AT + n);
                let shown = match &run.backing {
                    Shown::File { first_file_page, .. } => first_file_page + (AT + n - run.first) as u64,
                    other => panic!(
                        "window page {} should still map the file, but is {other:?}\n{view}",
                        AT + n
                    ),
                };
                assert_eq!(
                    shown,
                    n as u64,
                    "window page {} should still show file page {n}: the file offset moves with a front trim\n{view}",
                    AT + n
                );
            }
        }
    }

    /// The reservation pages around the mapping must be untouched.
    fn check_neighbours(&self, view: &MapsView) {
        let why = "the reservation around the mapping is not the lab's to unmap";
        expect::mapped(view, 0..AT, "---p", why);
        expect::mapped(view, AT + MAPPING_PAGES..AT + MAPPING_PAGES + 1, "---p", why);
    }
}

#[rstest]
#[case::anonymous_one_page(Backing::Anonymous, 1)]
#[case::anonymous_three_pages(Backing::Anonymous, 3)]
#[case::shared_file_one_page(Backing::SharedFile, 1)]
#[case::shared_file_two_pages(Backing::SharedFile, 2)]
fn trim_front_removes_the_first_pages(#[case] backing: Backing, #[case] cut: usize) {
    isolated(|| {
        let s = four_pages(backing);
        let mut story = Story::new(format!(
            "{} at window pages 1-4; trim_front removes its first {cut} page(s): one mapping remains, starting later",
            s.describe()
        ));
        story.step("before", &s.arena.view());

        let (rest, rest_len) = expect::call(
            format!("trim_front(addr, 4 pages, {cut})"),
            "the first pages unmapped and Ok((address, length)) of the rest returned",
            || unsafe { trim_front(s.addr, pages(MAPPING_PAGES), cut) },
        )
        .expect("a front trim should succeed");

        let view = s.arena.view();
        story.step(format!("after trim_front(addr, 4 pages, {cut})"), &view);
        assert_eq!(
            s.arena.range(rest, rest_len),
            s.arena
                .range(unsafe { s.addr.add(pages(cut)) }, pages(MAPPING_PAGES - cut)),
            "trim_front should return the remaining mapping: it starts {cut} page(s) later and is {cut} page(s) shorter"
        );
        expect::unmapped(&view, AT..AT + cut, "a front trim removes the first pages");
        s.check_kept(&view, cut..MAPPING_PAGES, "a front trim keeps the later pages");
        s.check_neighbours(&view);
        story.assert_snapshot();
    });
}

#[rstest]
#[case::anonymous_one_page(Backing::Anonymous, 1)]
#[case::anonymous_three_pages(Backing::Anonymous, 3)]
#[case::shared_file_one_page(Backing::SharedFile, 1)]
#[case::shared_file_two_pages(Backing::SharedFile, 2)]
fn trim_back_removes_the_last_pages(#[case] backing: Backing, #[case] cut: usize) {
    isolated(|| {
        let s = four_pages(backing);
        let mut story = Story::new(format!(
            "{} at window pages 1-4; trim_back removes its last {cut} page(s): one mapping remains, ending earlier",
            s.describe()
        ));
        story.step("before", &s.arena.view());

        let (rest, rest_len) = expect::call(
            format!("trim_back(addr, 4 pages, {cut})"),
            "the last pages unmapped and Ok((address, length)) of the rest returned",
            || unsafe { trim_back(s.addr, pages(MAPPING_PAGES), cut) },
        )
        .expect("a back trim should succeed");

        let view = s.arena.view();
        story.step(format!("after trim_back(addr, 4 pages, {cut})"), &view);
        assert_eq!(
            s.arena.range(rest, rest_len),
            s.arena.range(s.addr, pages(MAPPING_PAGES - cut)),
            "trim_back should return the remaining mapping: same start, {cut} page(s) shorter"
        );
        let kept = MAPPING_PAGES - cut;
        expect::unmapped(
            &view,
            AT + kept..AT + MAPPING_PAGES,
            "a back trim removes the last pages",
        );
        s.check_kept(&view, 0..kept, "a back trim keeps the earlier pages");
        s.check_neighbours(&view);
        story.assert_snapshot();
    });
}

#[rstest]
#[case::anonymous_two_page_hole(Backing::Anonymous, 1, 2)]
#[case::anonymous_one_page_hole(Backing::Anonymous, 2, 1)]
#[case::shared_file_two_page_hole(Backing::SharedFile, 1, 2)]
fn punch_hole_splits_the_mapping_in_two(#[case] backing: Backing, #[case] first: usize, #[case] count: usize) {
    isolated(|| {
        let s = four_pages(backing);
        let mut story = Story::new(format!(
            "{} at window pages 1-4; punch_hole removes {count} page(s) from mapping page {first}: \
             the kernel splits it into two mappings",
            s.describe()
        ));
        story.step("before", &s.arena.view());

        let sides = expect::call(
            format!("punch_hole(addr, 4 pages, {first}, {count})"),
            "the hole's pages unmapped and Ok([lower side, upper side]) returned",
            || unsafe { punch_hole(s.addr, pages(MAPPING_PAGES), first, count) },
        )
        .expect("punching a hole should succeed");

        let view = s.arena.view();
        story.step(format!("after punch_hole(addr, 4 pages, {first}, {count})"), &view);
        let upper = first + count;
        assert_eq!(
            sides.map(|(addr, len)| s.arena.range(addr, len)),
            [
                s.arena.range(s.addr, pages(first)),
                s.arena
                    .range(unsafe { s.addr.add(pages(upper)) }, pages(MAPPING_PAGES - upper))
            ],
            "punch_hole should return the two mappings on either side of the hole, lower first"
        );
        expect::unmapped(&view, AT + first..AT + upper, "the hole's pages are removed");
        s.check_kept(&view, 0..first, "pages below the hole stay");
        s.check_kept(&view, upper..MAPPING_PAGES, "pages above the hole stay");
        assert_ne!(
            view.run_at(AT).first,
            view.run_at(AT + MAPPING_PAGES - 1).first,
            "the two sides of the hole must be separate mappings\n{view}"
        );
        s.check_neighbours(&view);
        story.assert_snapshot();
    });
}
