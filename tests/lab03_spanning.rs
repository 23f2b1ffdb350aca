//! Lab 03: one munmap over several mappings, reservation pieces and holes.
//!
//! Every scenario lives in a 9-page arena. `release_range` gets window pages 1-7 as
//! one range and never learns what is inside it; pages 0 and 8 are reservation
//! outside the range and must survive. Inside the range the test overlays pieces
//! with `MAP_FIXED`, each a separate mmap, and punches holes where the layout says.

use munmap_lab::lab03_spanning::release_range;
use munmap_lab_harness::kernel::mseal;
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{MapsView, ScratchDir, Slot, Story, expect, isolated, pages, skip};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags, munmap};
use rstest::rstest;
use serial_test::serial;

/// The range handed to `release_range`: the slot, window pages 1-7.
const RANGE_PAGES: usize = 7;

/// What the test puts at some window pages before `release_range` runs.
#[derive(Clone, Copy, Debug)]
enum Piece {
    /// Anonymous private read-write memory, filled with a byte per page.
    AnonymousReadWrite,
    /// Anonymous private read-only memory.
    AnonymousReadOnly,
    /// One read-only MAP_PRIVATE page of `lab03.data`.
    FileReadOnly,
    /// Left as the arena's PROT_NONE reservation.
    Reserved,
    /// Unmapped by the test: a hole.
    Hole,
}

/// `(first window page, pages, piece)` for each piece, in address order.
type Layout = &'static [(usize, usize, Piece)];

/// One of everything: anonymous read-write, a read-only file page, left-over PROT_NONE,
/// anonymous read-only, and a second anonymous read-write mapping.
const EVERY_KIND: Layout = &[
    (1, 2, Piece::AnonymousReadWrite),
    (3, 1, Piece::FileReadOnly),
    (4, 1, Piece::Reserved),
    (5, 1, Piece::AnonymousReadOnly),
    (6, 2, Piece::AnonymousReadWrite),
];

/// The window page of `EVERY_KIND` that the all-or-nothing test seals.
const SEALED_PAGE: usize = 5;

/// Byte that fills window page `page` of an anonymous read-write piece.
fn content(page: usize) -> u8 {
    b'A' + page as u8
}

/// The slot with the layout in place, and the scratch directory its file lives in.
struct Scenario {
    slot: Slot,
    _dir: ScratchDir,
    layout: Layout,
}

fn build(layout: Layout) -> Scenario {
    let slot = Slot::new(RANGE_PAGES);
    let arena = slot.arena();
    let dir = scratch_dir!();
    let path = dir.file("lab03.data", 2, |n| b'0' + n as u8);
    for &(first, count, piece) in layout {
        match piece {
            Piece::AnonymousReadWrite => {
                let addr = arena.map_anonymous(first, count, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE);
                for n in 0..count {
                    unsafe { addr.add(pages(n)).write_bytes(content(first + n), pages(1)) };
                }
            }
            Piece::AnonymousReadOnly => {
                arena.map_anonymous(first, count, ProtFlags::PROT_READ);
            }
            Piece::FileReadOnly => {
                let file = std::fs::File::open(&path).expect("opening lab03.data read-only");
                // File page 1, so the view shows the mapping is the file's, not a copy at page 0.
                arena.map_file(first, count, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE, &file, 1);
            }
            Piece::Reserved => {}
            Piece::Hole => unsafe { munmap(arena.page(first).cast(), pages(count)) }.expect("punching a test hole"),
        }
    }
    Scenario {
        slot,
        _dir: dir,
        layout,
    }
}

impl Scenario {
    /// Calls the lab's `release_range` with the whole slot (window pages 1-7) as one range.
    fn release(&self) -> nix::Result<()> {
        unsafe { release_range(self.slot.page(0), pages(self.slot.pages())) }
    }

    /// Every page the layout mapped must still be there, as it was built.
    fn check_untouched(&self, view: &MapsView, why: &str) {
        for &(first, count, piece) in self.layout {
            let pages_of = first..first + count;
            match piece {
                Piece::AnonymousReadWrite => {
                    expect::mapped(view, pages_of.clone(), "rw-p", why);
                    for page in pages_of {
                        expect::page_holds(self.slot.arena().page(page), content(page), why);
                    }
                }
                Piece::AnonymousReadOnly | Piece::FileReadOnly => expect::mapped(view, pages_of, "r--p", why),
                Piece::Reserved => expect::mapped(view, pages_of, "---p", why),
                Piece::Hole => expect::unmapped(view, pages_of, why),
            }
        }
    }
}

#[rstest]
#[serial]
fn release_range_removes_every_piece() {
    isolated(|| {
        let s = build(EVERY_KIND);
        let mut story = Story::new(format!(
            "five mappings of different kinds and protections, made by separate mmap calls inside a PROT_NONE \
             reservation, fill {}; release_range(page 1, 7 pages) removes all of them with one munmap",
            s.slot.shown()
        ));
        story.step("before", &s.slot.view());

        s.release()
            .expect("one munmap over mappings of any kind and protection should succeed");

        let view = s.slot.view();
        story.step("after release_range(page 1, 7 pages)", &view);
        expect::unmapped(
            &view,
            s.slot.all(),
            "one munmap removes every mapping in its range, whatever made it: anonymous, file-backed and \
             PROT_NONE reservation alike",
        );
        s.slot.check_guards(&view);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
#[case::longer_than_the_mapping("a 3-page mapping and, after it, a 4-page hole", &[(1, 3, Piece::AnonymousReadWrite), (4, 4, Piece::Hole)])]
#[case::mappings_and_holes("three one-page mappings of different kinds with holes between and after them", &[
    (1, 1, Piece::AnonymousReadWrite),
    (2, 1, Piece::Hole),
    (3, 1, Piece::FileReadOnly),
    (4, 2, Piece::Hole),
    (6, 1, Piece::AnonymousReadOnly),
    (7, 1, Piece::Hole),
])]
#[case::starting_and_ending_in_holes("a hole, a file page, an anonymous page, and a hole", &[
    (1, 2, Piece::Hole),
    (3, 1, Piece::FileReadOnly),
    (4, 1, Piece::AnonymousReadWrite),
    (5, 3, Piece::Hole),
])]
fn release_range_skips_the_holes(#[case] holds: &str, #[case] layout: Layout) {
    isolated(|| {
        let s = build(layout);
        let mut story = Story::new(format!(
            "{} hold {holds}; release_range(page 1, 7 pages) succeeds, skipping the holes, and \
             removes what was mapped in the range and nothing outside it",
            s.slot.shown()
        ));
        story.step("before", &s.slot.view());

        s.release()
            .expect("munmap over a range with holes in it should succeed: the holes are skipped");

        let view = s.slot.view();
        story.step("after release_range(page 1, 7 pages)", &view);
        expect::unmapped(
            &view,
            s.slot.all(),
            "every mapped page in the range goes; the holes in it are no error",
        );
        s.slot.check_guards(&view);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn release_range_is_all_or_nothing() {
    isolated(|| {
        let s = build(EVERY_KIND);
        if let Err(e) = mseal(s.slot.arena().page(SEALED_PAGE), pages(1)) {
            // What can be checked without a seal is checked before skipping.
            s.release()
                .expect("one munmap over mappings of any kind and protection should succeed");
            let why = if e == Errno::ENOSYS {
                "mseal() needs Linux 6.10 or later".to_string()
            } else {
                format!("mseal() is not usable here ({e})")
            };
            skip(format!("{why}: cannot show that one munmap is one decision"));
        }
        let before = s.slot.view();
        let mut story = Story::new(
            "the five mappings of release_range_removes_every_piece, with the one at window page 5 sealed by \
             mseal(); release_range(page 1, 7 pages) fails with EPERM and removes nothing, because the kernel \
             checks the whole range before it removes anything",
        );
        story.step("before (window page 5 sealed)", &before);

        let result = s.release();

        let view = s.slot.view();
        story.step(
            format!("after release_range(page 1, 7 pages) returned {result:?}"),
            &view,
        );
        s.check_untouched(
            &view,
            "one munmap over the whole range is refused as a whole, so every piece stays; a page gone here \
             means the range was unmapped piece by piece instead of with one call",
        );
        assert_eq!(
            view, before,
            "a refused munmap changes nothing\nbefore:\n{before}\nafter:\n{view}"
        );
        assert_eq!(
            result,
            Err(Errno::EPERM),
            "munmap over a range that holds a sealed mapping fails with EPERM; release_range must return the \
             kernel's error unchanged"
        );
        story.assert_snapshot();
    });
}
