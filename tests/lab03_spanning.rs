//! Lab 03: one munmap over several mappings, reservation pieces and holes.
//!
//! Every scenario lives in a 9-page arena. `release_range` gets window pages 1-7 as
//! one range and never learns what is inside it; pages 0 and 8 are reservation
//! outside the range and must survive. Inside the range the test overlays pieces
//! with `MAP_FIXED`, each a separate mmap, and punches holes where the layout says.
//!
//! When graded, the pieces' and holes' lengths are drawn ([`draw`]), and so the range's
//! length (up to 12 pages), as are the order of the mappings between holes and which
//! mapping is sealed; a one-page piece stays one page, and a hole at the start or the
//! end of the range stays there.

use munmap_lab::lab03_spanning::release_range;
use munmap_lab_harness::draw;
use munmap_lab_harness::kernel::mseal;
use munmap_lab_harness::maps::window_pages;
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{MapsView, ScratchDir, Slot, Story, expect, isolated, pages, skip};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags, munmap};
use rstest::rstest;
use serial_test::serial;

/// What the test puts at some window pages before `release_range` runs.
#[derive(Clone, Copy, Debug)]
enum Piece {
    /// Anonymous private read-write memory, filled with a byte per page.
    AnonymousReadWrite,
    /// Anonymous private read-only memory.
    AnonymousReadOnly,
    /// Read-only MAP_PRIVATE pages of `lab03.data`, from its page 1 (one page by default).
    FileReadOnly,
    /// Left as the arena's PROT_NONE reservation.
    Reserved,
    /// Unmapped by the test: a hole.
    Hole,
}

/// `(first window page, pages, piece)` for each piece, in address order.
type Layout = Vec<(usize, usize, Piece)>;

/// The layout of `pieces`, each `(pages, piece)`, laid end to end from window page 1
/// (the slot's start): the range handed to `release_range` is all of them.
fn lay_out(pieces: &[(usize, Piece)]) -> Layout {
    let mut first = Slot::START;
    let mut layout = Vec::new();
    for &(count, piece) in pieces {
        layout.push((first, count, piece));
        first += count;
    }
    layout
}

/// One of everything: anonymous read-write, a read-only file page, left-over PROT_NONE,
/// anonymous read-only, and a second anonymous read-write mapping, at window pages 1-2,
/// 3, 4, 5 and 6-7 (or with their lengths drawn: 5 to 12 pages in all).
fn every_kind() -> Layout {
    lay_out(&[
        (
            draw::count("first read-write pages", 2, 1..=3),
            Piece::AnonymousReadWrite,
        ),
        (draw::count("file pages", 1, 1..=2), Piece::FileReadOnly),
        (draw::count("reserved pages", 1, 1..=2), Piece::Reserved),
        (draw::count("read-only pages", 1, 1..=2), Piece::AnonymousReadOnly),
        (
            draw::count("second read-write pages", 2, 1..=3),
            Piece::AnonymousReadWrite,
        ),
    ])
}

/// The piece of [`every_kind`] that the all-or-nothing test seals: the read-only
/// anonymous one (window page 5), or as drawn the file piece. Either lies inside the
/// range with mappings on both sides, so one munmap per piece, in either direction,
/// removes something before it reaches the sealed one.
fn sealed_piece() -> usize {
    draw::one_of("sealed piece", 3, &[1, 3])
}

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
    let range: usize = layout.iter().map(|&(_, count, _)| count).sum();
    let slot = Slot::new(range);
    let arena = slot.arena();
    let dir = scratch_dir!();
    // File pages 1 on, as many as the longest file piece maps.
    let file_pages = layout
        .iter()
        .filter(|&&(_, _, piece)| matches!(piece, Piece::FileReadOnly))
        .map(|&(_, count, _)| 1 + count)
        .max()
        .unwrap_or(2);
    let path = dir.file("lab03.data", file_pages, |n| b'0' + n as u8);
    for &(first, count, piece) in &layout {
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
    /// Calls the lab's `release_range` with the whole slot (window pages 1-7 by default) as one range.
    fn release(&self) -> nix::Result<()> {
        let len = self.slot.pages();
        expect::call(
            self.call(),
            "one munmap over the whole range, its result returned unchanged",
            || unsafe { release_range(self.slot.page(0), pages(len)) },
        )
    }

    /// The call as the story tells it: `release_range(page 1, 7 pages)`.
    fn call(&self) -> String {
        format!("release_range(page 1, {} pages)", self.slot.pages())
    }

    /// Every page the layout mapped must still be there, as it was built.
    fn check_untouched(&self, view: &MapsView, why: &str) {
        for &(first, count, piece) in &self.layout {
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
        let s = build(every_kind());
        let mut story = Story::new(format!(
            "five mappings of different kinds and protections, made by separate mmap calls inside a PROT_NONE \
             reservation, fill {}; {} removes all of them with one munmap",
            s.slot.shown(),
            s.call()
        ));
        story.step("before", &s.slot.view());

        s.release()
            .expect("one munmap over mappings of any kind and protection should succeed");

        let view = s.slot.view();
        story.step(format!("after {}", s.call()), &view);
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

/// What the range of a `release_range_skips_the_holes` case holds.
#[derive(Clone, Copy, Debug)]
enum Holes {
    /// A mapping (3 pages) and, after it, a hole (4 pages) to the end of the range.
    AfterTheMapping,
    /// Three one-page mappings of different kinds, with holes (1, 2 and 1 pages) between
    /// and after them: anonymous read-write, the file page, anonymous read-only.
    BetweenAndAfter,
    /// A hole (2 pages), a file page, an anonymous page, and a hole (3 pages).
    AtBothEnds,
}

/// The case's layout and what the story says it holds; lengths drawn, one-page
/// mappings one page, the holes where the case puts them.
fn holes_layout(holes: Holes) -> (String, Layout) {
    match holes {
        Holes::AfterTheMapping => {
            let mapping = draw::count("mapping pages", 3, 1..=6);
            let hole = draw::count("hole pages", 4, 1..=6);
            (
                format!("a {mapping}-page mapping and, after it, a {hole}-page hole"),
                lay_out(&[(mapping, Piece::AnonymousReadWrite), (hole, Piece::Hole)]),
            )
        }
        Holes::BetweenAndAfter => {
            const ORDERS: [[Piece; 3]; 6] = {
                use Piece::{AnonymousReadOnly as Ro, AnonymousReadWrite as Rw, FileReadOnly as File};
                [
                    [Rw, File, Ro],
                    [Rw, Ro, File],
                    [File, Rw, Ro],
                    [File, Ro, Rw],
                    [Ro, Rw, File],
                    [Ro, File, Rw],
                ]
            };
            let [a, b, c] = ORDERS[draw::one_of("order of the mappings", 0, &[0, 1, 2, 3, 4, 5])];
            let holes = [
                draw::count("hole after the first mapping", 1, 1..=3),
                draw::count("hole after the second mapping", 2, 1..=3),
                draw::count("hole after the third mapping", 1, 1..=3),
            ];
            (
                "three one-page mappings of different kinds with holes between and after them".to_string(),
                lay_out(&[
                    (1, a),
                    (holes[0], Piece::Hole),
                    (1, b),
                    (holes[1], Piece::Hole),
                    (1, c),
                    (holes[2], Piece::Hole),
                ]),
            )
        }
        Holes::AtBothEnds => {
            let first = draw::count("first hole pages", 2, 1..=4);
            let last = draw::count("last hole pages", 3, 1..=4);
            let file_first = draw::one_of("file page first", true, &[true, false]);
            let (pieces, told) = if file_first {
                (
                    [Piece::FileReadOnly, Piece::AnonymousReadWrite],
                    "a file page, an anonymous page",
                )
            } else {
                (
                    [Piece::AnonymousReadWrite, Piece::FileReadOnly],
                    "an anonymous page, a file page",
                )
            };
            (
                format!("a hole, {told}, and a hole"),
                lay_out(&[
                    (first, Piece::Hole),
                    (1, pieces[0]),
                    (1, pieces[1]),
                    (last, Piece::Hole),
                ]),
            )
        }
    }
}

#[rstest]
#[serial]
#[case::longer_than_the_mapping(Holes::AfterTheMapping)]
#[case::mappings_and_holes(Holes::BetweenAndAfter)]
#[case::starting_and_ending_in_holes(Holes::AtBothEnds)]
fn release_range_skips_the_holes(#[case] holes: Holes) {
    isolated(|| {
        let (holds, layout) = holes_layout(holes);
        let s = build(layout);
        let mut story = Story::new(format!(
            "{} hold {holds}; {} succeeds, skipping the holes, and \
             removes what was mapped in the range and nothing outside it",
            s.slot.shown(),
            s.call()
        ));
        story.step("before", &s.slot.view());

        s.release()
            .expect("munmap over a range with holes in it should succeed: the holes are skipped");

        let view = s.slot.view();
        story.step(format!("after {}", s.call()), &view);
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
        let s = build(every_kind());
        let (first, count, _) = s.layout[sealed_piece()];
        let sealed = window_pages(first..first + count);
        if let Err(e) = mseal(s.slot.arena().page(first), pages(count)) {
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
        let mut story = Story::new(format!(
            "the five mappings of release_range_removes_every_piece, with the one at {sealed} sealed by \
             mseal(); {} fails with EPERM and removes nothing, because the kernel \
             checks the whole range before it removes anything",
            s.call()
        ));
        story.step(format!("before ({sealed} sealed)"), &before);

        let result = s.release();

        let view = s.slot.view();
        story.step(format!("after {} returned {result:?}", s.call()), &view);
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
