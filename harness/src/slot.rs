//! The scenario most labs start from: the lab's pages in a row, with one PROT_NONE
//! reservation page on either side that lab code must never touch.
//!
//! ```text
//!   page 0      pages 1..=N                page N+1
//! |  ---p  |  the slot: the scenario's  |  ---p  |
//! | guard  |  mappings go here          | guard  |
//! ```
//!
//! A [`Slot`] is an [`Arena`] of N + 2 pages that knows where the slot starts
//! ([`Slot::START`]), names its pages the way the maps view does, and checks the two
//! guards: what each suite used to re-derive for itself.

use std::ops::Range;
use std::os::fd::AsFd;
use std::ptr::NonNull;

use nix::sys::mman::{MapFlags, ProtFlags};

use super::arena::WindowRange;
use super::maps::{MapsView, window_pages};
use super::{Arena, expect, pages};

/// `pages` slot pages between two guard pages.
pub struct Slot {
    arena: Arena,
    pages: usize,
}

impl Slot {
    /// The window page where the slot (and so a scenario's first mapping) starts.
    pub const START: usize = 1;

    /// A slot of `pages` pages in an arena of its own (see [`Arena::new`]).
    #[track_caller]
    pub fn new(pages: usize) -> Slot {
        Slot {
            arena: Arena::new(pages + 2),
            pages,
        }
    }

    /// A slot of `pages` pages whose window (guard page 0) is exactly at `addr` (see [`Arena::at`]).
    pub fn at(addr: usize, pages: usize) -> nix::Result<Slot> {
        Ok(Slot {
            arena: Arena::at(addr, pages + 2)?,
            pages,
        })
    }

    /// The arena, for what a scenario does outside the slot's own terms.
    pub fn arena(&self) -> &Arena {
        &self.arena
    }

    /// Pages in the slot.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Pages in the whole window: the slot and its two guards.
    pub fn window_pages(&self) -> usize {
        self.pages + 2
    }

    /// The window pages of slot pages `slot_pages` (slot page 0 is window page 1).
    pub fn window(&self, slot_pages: Range<usize>) -> Range<usize> {
        Slot::START + slot_pages.start..Slot::START + slot_pages.end
    }

    /// The window page of slot page `n`.
    pub fn window_page(&self, n: usize) -> usize {
        Slot::START + n
    }

    /// The window pages of the whole slot: `1..N + 1`.
    pub fn all(&self) -> Range<usize> {
        self.window(0..self.pages)
    }

    /// The slot in the view's words, for descriptions: `window pages 1-4`.
    pub fn shown(&self) -> String {
        window_pages(self.all())
    }

    /// Address of slot page `n`.
    #[track_caller]
    pub fn page(&self, n: usize) -> NonNull<u8> {
        self.arena.page(Slot::START + n)
    }

    /// `(addr, len)` named by window pages (see [`Arena::range`]), for comparing the
    /// ranges lab code returns.
    pub fn range(&self, addr: NonNull<u8>, len: usize) -> WindowRange {
        self.arena.range(addr, len)
    }

    /// The normalised view of the whole window, guards included; its messages count
    /// mapping pages from the slot's first page.
    pub fn view(&self) -> MapsView {
        self.arena.view().with_mapping(self.all())
    }

    /// The pages smaps' `field` (`Rss`, `Locked`, ...) counts in the mappings that start
    /// in this window: the scenario's own, not the reservation around them.
    pub fn smaps_pages(&self, field: &str) -> u64 {
        super::smaps::window_field_pages(self.arena.page(0), self.window_pages(), field)
    }

    /// Maps `count` anonymous private pages at the start of the slot.
    #[track_caller]
    pub fn map_anonymous(&self, count: usize, prot: ProtFlags) -> NonNull<u8> {
        self.arena.map_anonymous(Slot::START, count, prot)
    }

    /// Maps `count` anonymous read-write pages at the start of the slot; every byte of
    /// mapping page `n` is `fill(n)`.
    #[track_caller]
    pub fn map_filled(&self, count: usize, fill: impl Fn(usize) -> u8) -> NonNull<u8> {
        let addr = self.map_anonymous(count, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE);
        for n in 0..count {
            // SAFETY: page n of the read-write mapping just made.
            unsafe { addr.add(pages(n)).write_bytes(fill(n), pages(1)) };
        }
        addr
    }

    /// Maps `count` pages of `file`, from file page `file_page`, at the start of the slot.
    #[track_caller]
    pub fn map_file<F: AsFd>(
        &self,
        count: usize,
        prot: ProtFlags,
        sharing: MapFlags,
        file: F,
        file_page: usize,
    ) -> NonNull<u8> {
        self.arena.map_file(Slot::START, count, prot, sharing, file, file_page)
    }

    /// The guard pages on either side of the slot must still be the reservation.
    #[track_caller]
    pub fn check_guards(&self, view: &MapsView) {
        let why = "the reservation around the lab's pages is not the lab's to unmap";
        expect::mapped(view, 0..Slot::START, "---p", why);
        let after = self.all().end;
        expect::mapped(view, after..after + 1, "---p", why);
    }
}

/// Pages a graded test maps alike right before and after the lab's mapping, in the same
/// `mmap`: the kernel then shows one mapping, and where the lab's pages start and end is
/// only in the arguments the lab function is given.
///
/// A snapshot shows the lab's mapping filling its slot, so code that repaints the snapshot's
/// change at the edge of the mapping the kernel shows (a one-page front or back trim looks
/// the same at any length) cuts a neighbour instead. Under `cargo test` there are none,
/// and the window is the snapshot's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Neighbours {
    /// Slot pages before the lab's mapping.
    pub before: usize,
    /// Slot pages after it.
    pub after: usize,
}

impl Neighbours {
    /// None under `cargo test`; one or two pages on each side when graded.
    pub fn drawn() -> Neighbours {
        Neighbours {
            before: super::draw::count("neighbour pages before the mapping", 0, 0..=2),
            after: super::draw::count("neighbour pages after the mapping", 0, 0..=2),
        }
    }

    /// No neighbours: the lab's mapping fills its slot.
    pub const NONE: Neighbours = Neighbours { before: 0, after: 0 };

    /// Slot pages for a lab mapping of `len` pages and its neighbours.
    pub fn slot_pages(&self, len: usize) -> usize {
        self.before + len + self.after
    }

    /// The slot page of the lab's mapping page `n`.
    pub fn slot_page(&self, n: usize) -> usize {
        self.before + n
    }

    /// The slot pages of the lab's mapping pages `mapping_pages`.
    pub fn slot_range(&self, mapping_pages: Range<usize>) -> Range<usize> {
        self.slot_page(mapping_pages.start)..self.slot_page(mapping_pages.end)
    }

    /// The slot pages that are neighbours of a lab mapping of `len` pages.
    pub fn pages(&self, len: usize) -> impl Iterator<Item = usize> {
        (0..self.before).chain(self.before + len..self.slot_pages(len))
    }

    /// For a scenario's description: nothing without neighbours, else what they are.
    pub fn described(&self) -> String {
        if *self == Neighbours::NONE {
            return String::new();
        }
        format!(
            " ({} page(s) before it and {} after it were mapped with it in one mmap, so the kernel \
             shows one longer mapping: the lab's pages are only in its arguments)",
            self.before, self.after
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_sits_between_two_guards() {
        let slot = Slot::new(4);
        assert_eq!((slot.all(), slot.window_pages()), (1..5, 6));
        assert_eq!(slot.shown(), "window pages 1-4");
        assert_eq!(slot.window(1..3), 2..4);
        let addr = slot.map_filled(2, |n| b'a' + n as u8);
        assert_eq!(addr, slot.page(0));
        let view = slot.view();
        expect::mapped(&view, slot.window(0..2), "rw-p", "mapped by the test");
        expect::mapped(&view, slot.window(2..4), "---p", "still the reservation");
        slot.check_guards(&view);
        // SAFETY: slot page 1 was just mapped and filled.
        assert_eq!(unsafe { slot.page(1).read() }, b'b');
    }
}
