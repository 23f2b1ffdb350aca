//! Lab 05: EINVAL, lengths that are rounded up, and ENOMEM at `vm.max_map_count`.
//!
//! Scenarios use a 4-page anonymous read-write mapping at window pages 1-4 of a
//! 6-page arena (pages 0 and 5 are reservation); mapping page `i` holds `'A' + i`.
//! Every errno is compared as an `Errno`, exactly. When graded, the mapping's length
//! (4-9 pages), the page each call starts at, its length and its cuts are drawn
//! ([`draw`]); every case keeps its kind of argument, and its cut its kind.

use munmap_lab::lab05_errors::unmap;
use munmap_lab_harness::draw;
use munmap_lab_harness::map_limit::{AtLimit, mapped_mask, run_at_map_count_limit};
use munmap_lab_harness::returned::Returned;
use munmap_lab_harness::{MapsView, Slot, Story, expect, isolated, note, page_size, pages, skip};
use nix::errno::Errno;
use rstest::rstest;
use serial_test::serial;

/// The mapping's length under `cargo test` (its snapshots'), and the lengths a grading draws.
const MAPPING_PAGES: usize = 4;
const DRAWN_MAPPING_PAGES: std::ops::RangeInclusive<usize> = 4..=9;

fn content(mapping_page: usize) -> u8 {
    b'A' + mapping_page as u8
}

/// The mapping's length: 4 pages, or as drawn.
fn drawn_mapping_pages() -> usize {
    draw::count("mapping pages", MAPPING_PAGES, DRAWN_MAPPING_PAGES)
}

/// The `len`-page mapping filling a slot (window pages 1-len), each page filled with its byte.
fn mapping(len: usize) -> Slot {
    let slot = Slot::new(len);
    slot.map_filled(len, content);
    slot
}

/// `n` pages in a call's words: `1 page`, `3 pages`.
fn n_pages(n: usize) -> String {
    match n {
        1 => "1 page".to_string(),
        _ => format!("{n} pages"),
    }
}

/// `n` bytes in a call's words: `1 byte`, `7 bytes`.
fn n_bytes(n: usize) -> String {
    match n {
        1 => "1 byte".to_string(),
        _ => format!("{n} bytes"),
    }
}

/// The address of mapping page `n` in a call's words: `addr`, `addr + 2 pages`.
fn addr_of_page(n: usize) -> String {
    match n {
        0 => "addr".to_string(),
        _ => format!("addr + {}", n_pages(n)),
    }
}

/// The highest page-aligned address: beyond the user address space on every x86-64
/// (4- or 5-level paging) and arm64 kernel.
fn top_page() -> usize {
    usize::MAX & !(page_size() - 1)
}

/// Mapping pages `kept` must still be mapped read-write with their contents.
fn check_kept(view: &MapsView, slot: &Slot, kept: std::ops::Range<usize>, why: &str) {
    expect::mapped(view, slot.window(kept.clone()), "rw-p", why);
    for n in kept {
        expect::page_holds(slot.page(n), content(n), why);
    }
}

/// Arguments the kernel rejects with EINVAL.
#[derive(Clone, Copy, Debug)]
enum Invalid {
    /// One byte into the mapping, one page long.
    UnalignedAddress,
    /// The mapping's address, length 0.
    ZeroLength,
    /// The highest page-aligned address, one page long.
    AddressBeyondTheAddressSpace,
    /// The mapping's address, with a length that runs past the top of the address space.
    LengthPastTheAddressSpace,
    /// NULL, length 0: the length is checked whatever the address, NULL included.
    NullAddressZeroLength,
    /// The mapping's address, with a length one byte short of `usize::MAX`: not a page
    /// multiple, so rounding it up to whole pages overflows (to 0 if it wraps).
    LengthNearUsizeMaxNotAPageMultiple,
}

#[rstest]
#[serial]
#[case::unaligned_address(Invalid::UnalignedAddress)]
#[case::zero_length(Invalid::ZeroLength)]
#[case::address_beyond_the_address_space(Invalid::AddressBeyondTheAddressSpace)]
#[case::length_past_the_address_space(Invalid::LengthPastTheAddressSpace)]
#[case::null_address_zero_length(Invalid::NullAddressZeroLength)]
#[case::length_near_usize_max_not_a_page_multiple(Invalid::LengthNearUsizeMaxNotAPageMultiple)]
fn unmap_rejects_with_einval(#[case] invalid: Invalid) {
    isolated(|| {
        let mapping_pages = drawn_mapping_pages();
        let slot = mapping(mapping_pages);
        // The mapping page a call that takes the mapping's address starts at (page 0, or as drawn).
        let drawn_page = || draw::count("mapping page of the address", 0, 0..=mapping_pages - 1);
        let before = slot.view();
        let (at, len, call, why) = match invalid {
            Invalid::UnalignedAddress => {
                let page = drawn_page();
                let bytes = draw::count("bytes past the page boundary", 1, 1..=page_size() - 1);
                let count = draw::count("pages unmapped", 1, 1..=mapping_pages - page);
                (
                    slot.page(page).as_ptr().wrapping_add(bytes),
                    pages(count),
                    format!("unmap({} + {}, {})", addr_of_page(page), n_bytes(bytes), n_pages(count)),
                    "the address must be a multiple of the page size",
                )
            }
            Invalid::ZeroLength => {
                let page = drawn_page();
                (
                    slot.page(page).as_ptr(),
                    0,
                    format!("unmap({}, 0)", addr_of_page(page)),
                    "a length of 0 is invalid",
                )
            }
            Invalid::AddressBeyondTheAddressSpace => {
                let below = draw::count("pages below the top page", 0, 0..=15);
                let count = draw::count("pages unmapped", 1, 1..=4);
                let place = match below {
                    0 => "the highest page-aligned address".to_string(),
                    _ => format!("{} below the highest page-aligned address", n_pages(below)),
                };
                (
                    (top_page() - pages(below)) as *mut u8,
                    pages(count),
                    format!("unmap({place}, {})", n_pages(count)),
                    "the range must lie in the user address space",
                )
            }
            Invalid::LengthPastTheAddressSpace => {
                let page = drawn_page();
                let short = draw::count("pages short of the top page", 0, 0..=15);
                (
                    slot.page(page).as_ptr(),
                    top_page() - pages(short),
                    format!(
                        "unmap({}, a length past the end of the address space)",
                        addr_of_page(page)
                    ),
                    "the range must end inside the user address space",
                )
            }
            Invalid::NullAddressZeroLength => (
                std::ptr::null_mut(),
                0,
                "unmap(NULL, 0)".to_string(),
                "a length of 0 is invalid at any address, NULL included: only munmap(NULL, len > 0) succeeds",
            ),
            Invalid::LengthNearUsizeMaxNotAPageMultiple => {
                let page = drawn_page();
                // Never a page multiple: usize::MAX + 1 is one.
                let short = draw::count("bytes short of usize::MAX", 1, 1..=page_size() - 2);
                (
                    slot.page(page).as_ptr(),
                    usize::MAX - short,
                    format!("unmap({}, usize::MAX - {short} bytes)", addr_of_page(page)),
                    "the range must end inside the user address space, and a length rounded up to whole pages \
                     here overflows: code that rounds it itself must not wrap it to 0 or to a small length",
                )
            }
        };
        let needs = format!("Err(EINVAL), the kernel's errno unchanged: munmap fails with EINVAL here ({why})");

        let result = expect::call(&call, &needs, || unsafe { unmap(at, len) });

        assert_eq!(result, Err(Errno::EINVAL), "{call} should return {needs}");
        let view = slot.view();
        check_kept(&view, &slot, 0..mapping_pages, "a failed munmap removes nothing");
        assert_eq!(view, before, "a failed munmap changes nothing\n{view}");
    });
}

#[rstest]
#[serial]
#[case::one_byte(0, 1)]
#[case::a_page_and_one_byte(1, 1)]
fn a_length_that_is_not_a_page_multiple_takes_the_whole_last_page(
    #[case] whole_pages: usize,
    #[case] extra_bytes: usize,
) {
    isolated(|| {
        let mapping_pages = drawn_mapping_pages();
        // A case of whole pages and a byte keeps a whole page or more (as drawn); the
        // one-byte case stays under a page. A page or more stays after the pages that go.
        let whole_pages = match whole_pages {
            0 => 0,
            _ => draw::count("whole pages", whole_pages, 1..=mapping_pages - 2),
        };
        let gone = whole_pages + 1;
        let first = draw::count("first page unmapped", 0, 0..=mapping_pages - gone - 1);
        let slot = mapping(mapping_pages);
        let addr = slot.page(first);
        let len = pages(whole_pages) + extra_bytes;
        let length = match whole_pages {
            0 => n_bytes(extra_bytes),
            _ => format!("{} + {}", n_pages(whole_pages), n_bytes(extra_bytes)),
        };
        let at = addr_of_page(first);
        let mut story = Story::new(format!(
            "a {mapping_pages}-page anonymous mapping at {}; unmap({at}, {length}) is no error: the kernel rounds \
             the length up to whole pages, so {gone} whole page(s) go",
            slot.shown()
        ));
        story.step("before", &slot.view());

        let result = expect::call(
            format!("unmap({at}, {length})"),
            "Ok(()): munmap rounds the length up to whole pages, so it is no error",
            || unsafe { unmap(addr.as_ptr(), len) },
        );

        let view = slot.view();
        story.step(format!("after unmap({at}, {length}) returned {result:?}"), &view);
        assert_eq!(
            result,
            Ok(()),
            "a length that is not a multiple of the page size is not an error: munmap rounds it up"
        );
        expect::unmapped(
            &view,
            slot.window(first..first + gone),
            "the length is rounded up to whole pages, so the page the last byte falls in goes entirely",
        );
        check_kept(&view, &slot, 0..first, "pages before the address stay");
        check_kept(
            &view,
            &slot,
            first + gone..mapping_pages,
            "pages after the rounded-up length stay",
        );
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn unmap_of_address_zero_is_not_an_error() {
    isolated(|| {
        // Nothing is ever mapped this low (vm.mmap_min_addr, and no program loads there).
        let count = draw::count("pages unmapped", 1, 1..=8);
        let length = n_pages(count);
        let result = expect::call(
            format!("unmap(NULL, {length})"),
            "Ok(()): NULL is an address where nothing is mapped",
            || unsafe { unmap(std::ptr::null_mut(), pages(count)) },
        );
        assert_eq!(
            result,
            Ok(()),
            "munmap(NULL, {length}) returns 0: NULL is a page-aligned address where nothing is mapped, not an \
             invalid argument"
        );
    });
}

/// Where the cut at the limit falls in the mapping (4 pages, or as drawn).
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// Mapping pages 1-2 (or as drawn): strictly inside, so the mapping would become two.
    Hole,
    /// Mapping page 0 (or the first pages, as drawn; never all of them).
    Front,
    /// Mapping page 3 (or the last pages, as drawn; never all of them).
    Back,
}

impl Cut {
    /// `(first mapping page, pages)` handed to `unmap` in a mapping of `len` pages:
    /// today's under `cargo test`, drawn when graded. A hole keeps a page or more on
    /// either side; a trim leaves a page or more.
    fn range(self, len: usize) -> (usize, usize) {
        match self {
            Cut::Hole => {
                let count = draw::count("hole pages", 2, 1..=len - 2);
                let first = draw::count("first page of the hole", 1, 1..=len - count - 1);
                (first, count)
            }
            Cut::Front => (0, draw::count("front pages", 1, 1..=len - 1)),
            Cut::Back => {
                let count = draw::count("back pages", 1, 1..=len - 1);
                (len - count, count)
            }
        }
    }

    /// What `unmap` must return at the limit.
    fn expected(self) -> Result<(), Errno> {
        match self {
            Cut::Hole => Err(Errno::ENOMEM),
            Cut::Front | Cut::Back => Ok(()),
        }
    }

    /// Mapping pages that must be gone afterwards, for the cut `(first, count)`.
    fn gone(self, first: usize, count: usize) -> std::ops::Range<usize> {
        match self {
            Cut::Hole => 0..0,
            Cut::Front | Cut::Back => first..first + count,
        }
    }

    fn why(self) -> &'static str {
        match self {
            Cut::Hole => {
                "a hole strictly inside a mapping turns one mapping into two, and at vm.max_map_count the kernel \
                 refuses it with ENOMEM, removing nothing"
            }
            Cut::Front | Cut::Back => {
                "trimming the front or back only shrinks the mapping, so it succeeds even at vm.max_map_count"
            }
        }
    }
}

/// What the forked process at the limit saw: plain values, which come back as they are.
#[derive(Clone, Copy)]
struct AtTheLimit {
    /// What `unmap` returned.
    result: nix::Result<()>,
    /// Bit `i`: window page `i` is mapped afterwards.
    mapped: u64,
    /// Bit `n`: mapping page `n` is mapped and still holds its bytes.
    intact: u64,
}

impl Returned for AtTheLimit {
    fn shown(&self) -> String {
        format!(
            "{}, window pages mapped {:#x}, mapping pages intact {:#x}",
            self.result.shown(),
            self.mapped,
            self.intact
        )
    }
}

/// The same cut on a fresh mapping, with the process far below the limit: it always
/// succeeds (a hole simply splits the mapping in two). The contrast is the lesson,
/// and it checks `unmap` even where the limit itself cannot be reached.
fn below_the_limit(len: usize, first: usize, count: usize) {
    let slot = mapping(len);
    let result = expect::call(
        format!("unmap(mapping page {first}, {count} page(s)) far below vm.max_map_count"),
        "Ok(()): far below the limit a cut always succeeds",
        || unsafe { unmap(slot.page(first).as_ptr(), pages(count)) },
    );
    assert_eq!(
        result,
        Ok(()),
        "far below vm.max_map_count, unmap(mapping page {first}, {count} page(s)) succeeds"
    );
    let view = slot.view();
    expect::unmapped(
        &view,
        slot.window(first..first + count),
        "below the limit the cut removes its pages",
    );
}

#[rstest]
#[serial]
#[case::hole_in_the_middle_fails_with_enomem(Cut::Hole)]
#[case::front_trim_still_succeeds(Cut::Front)]
#[case::back_trim_still_succeeds(Cut::Back)]
fn at_the_map_count_limit(#[case] cut: Cut) {
    isolated(|| {
        let mapping_pages = drawn_mapping_pages();
        let (first, count) = cut.range(mapping_pages);
        below_the_limit(mapping_pages, first, count);
        let slot = mapping(mapping_pages);

        // Runs in a forked process that holds exactly vm.max_map_count mappings:
        // plain system calls only, nothing that needs a new mapping (nor prints).
        let call = format!("unmap(mapping page {first}, {count} page(s)) at vm.max_map_count");
        let needs = format!("{:?}: {}", cut.expected(), cut.why());
        let cut_at_the_limit = || {
            let result = unsafe { unmap(slot.page(first).as_ptr(), pages(count)) };
            let mapped = mapped_mask(slot.arena().page(0), slot.window_pages());
            let mut intact = 0u64;
            for n in 0..mapping_pages {
                if mapped & (1 << slot.window_page(n)) != 0 {
                    let page = slot.page(n).as_ptr();
                    // SAFETY: the page is mapped (just probed) and readable.
                    let bytes = unsafe { (page.read_volatile(), page.add(page_size() - 1).read_volatile()) };
                    if bytes == (content(n), content(n)) {
                        intact |= 1 << n;
                    }
                }
            }
            AtTheLimit { result, mapped, intact }
        };
        let outcome = expect::call(call, needs, || match run_at_map_count_limit(cut_at_the_limit) {
            AtLimit::BodyPanicked => panic!(
                "unmap panicked while the process was at vm.max_map_count (its message is above); it must return \
                 the kernel's errno instead"
            ),
            outcome => outcome,
        });

        let (seen, max_map_count, fill_calls, fill_time, total_time) = match outcome {
            AtLimit::Ran {
                result,
                max_map_count,
                fill_calls,
                fill_time,
                total_time,
            } => (result, max_map_count, fill_calls, fill_time, total_time),
            AtLimit::Unreachable(reason) => skip(reason),
            AtLimit::BodyPanicked => unreachable!("handled above"),
            AtLimit::Failed(why) => panic!("the run at vm.max_map_count failed: {why}"),
        };
        note(format!(
            "at vm.max_map_count = {max_map_count}: filled with {fill_calls} mprotect calls in {:.0} ms; \
             fork to exit {:.0} ms",
            fill_time.as_secs_f64() * 1e3,
            total_time.as_secs_f64() * 1e3
        ));
        let AtTheLimit { result, mapped, intact } = seen;
        assert_eq!(
            result,
            cut.expected(),
            "unmap(mapping page {first}, {count} page(s)) at vm.max_map_count: {}",
            cut.why()
        );
        let gone = cut.gone(first, count);
        for n in 0..mapping_pages {
            let page = slot.window_page(n);
            let is_mapped = mapped & (1 << page) != 0;
            let should_be_gone = gone.contains(&n);
            assert_eq!(
                is_mapped,
                !should_be_gone,
                "at the limit, mapping page {n} (window page {page}) should be {} afterwards: {}",
                if should_be_gone { "unmapped" } else { "still mapped" },
                cut.why()
            );
            if !should_be_gone {
                assert!(intact & (1 << n) != 0, "mapping page {n} should still hold its bytes");
            }
        }
        let why = "the reservation around the mapping is not the lab's to unmap";
        assert!(
            mapped & 1 != 0 && mapped & (1 << (slot.window_pages() - 1)) != 0,
            "{why}"
        );
    });
}
