//! Lab 08: touching unmapped memory is SIGSEGV (SEGV_MAPERR); an owning `Mapping`
//! unmaps exactly once and makes a second unmap or a use after unmap a compile error.
//!
//! Scenarios live at window pages 1-4 of a 6-page arena (under `cargo test`; when
//! graded, the mapping's length, the pages read, written or misaligned and the bytes
//! are drawn ([`draw`]), and the window grows with the mapping). "Exactly once" is judged by
//! what the kernel shows, never by which function the lab code called: once the pages
//! are unmapped, the test maps a sentinel where they were (read-only, every byte 'S'),
//! and a second unmap of the range would remove it. Where that second unmap would come
//! inside the same call (the drop at the end of `unmap(self)`), a userfaultfd watch
//! maps the sentinel the moment the kernel has unmapped the pages, before that munmap
//! returns (`munmap_lab_harness::sentinel`); where this machine has no userfaultfd,
//! the test checks what it can and skips.

use std::ptr::NonNull;

use munmap_lab::lab08_ownership::{Mapping, unmap_and_clear};
use munmap_lab_harness::compile_fail::{Compiled, check};
use munmap_lab_harness::draw;
use munmap_lab_harness::fault::{Ending, GaveUp, SEGV_MAPERR, death_of};
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::sentinel::{SENTINEL, Seen, UnmapWatch, map_sentinel};
use munmap_lab_harness::{MapsView, Slot, Story, expect, isolated, page_size, pages, skip};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use rstest::rstest;
use serial_test::serial;

/// The mapping's length under `cargo test` (its snapshot's), and the lengths a grading draws.
const MAPPING_PAGES: usize = 4;
const DRAWN_MAPPING_PAGES: std::ops::RangeInclusive<usize> = 1..=12;

/// The mapping's length for this test: 4 pages, or as drawn.
fn drawn_mapping_pages() -> usize {
    draw::count("mapping pages", MAPPING_PAGES, DRAWN_MAPPING_PAGES)
}

/// A read-write mapping of `len` pages filling its scene (window pages 1-`len`), every byte `byte`.
fn mapping_of(len: usize, byte: u8) -> (Slot, NonNull<u8>) {
    let scene = Slot::new(len);
    let addr = scene.map_filled(len, |_| byte);
    (scene, addr)
}

/// A 4-page read-write mapping filling its scene (window pages 1-4), every byte `byte`.
fn four_pages(byte: u8) -> (Slot, NonNull<u8>) {
    mapping_of(MAPPING_PAGES, byte)
}

/// "1 byte", "2 bytes".
fn bytes(n: usize) -> String {
    format!("{n} byte{}", if n == 1 { "" } else { "s" })
}

/// "1 page", "2 pages".
fn pages_text(n: usize) -> String {
    format!("{n} page{}", if n == 1 { "" } else { "s" })
}

/// The scene's pages must hold the sentinel that `watch` mapped when `what` unmapped
/// them: unmapped once (the sentinel came), and not again (it is intact).
fn check_unmapped_once(view: &MapsView, scene: &Slot, seen: &Seen, what: &str) {
    assert!(
        seen.problems.is_empty(),
        "the test's watch could not place its sentinel, so it cannot judge: {:?}\nthe window:\n{view}",
        seen.problems
    );
    for page in scene.all() {
        let run = view.run_at(page);
        assert!(
            seen.sentinel_pages.contains(&page),
            "window page {page} should have been unmapped by {what} (the Mapping owned {}), but the \
             kernel never unmapped it: it is still {} {:?} (unmaps the kernel reported: {:?}).\nthe window:\n{view}",
            scene.shown(),
            run.perms,
            run.backing,
            seen.unmaps
        );
    }
    let why = format!(
        "the test mapped this sentinel the moment {what} had unmapped the pages; a second munmap of the range \
         removed it. A Mapping unmaps its range once: after unmap(self), the drop must not unmap again \
         (ManuallyDrop or mem::forget)"
    );
    expect::mapped(view, scene.all(), "r--p", &why);
    for n in 0..scene.pages() {
        expect::page_holds(scene.page(n), SENTINEL, &why);
    }
}

#[derive(Clone, Copy, Debug)]
enum Release {
    Unmap,
    Drop,
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Release::Unmap => "mapping.unmap()",
            Release::Drop => "drop(mapping)",
        })
    }
}

#[rstest]
#[serial]
#[case::after_unmap(Release::Unmap)]
#[case::after_drop(Release::Drop)]
fn touching_an_unmapped_page_is_sigsegv_maperr(#[case] release: Release) {
    isolated(|| {
        let len = drawn_mapping_pages();
        let (scene, addr) = mapping_of(len, b'S');
        // The page read after the release: any of the mapping's (mapping page 1 by default).
        let read = draw::count("mapping page read", 1.min(len - 1), 0..=len - 1);
        let read_page = scene.window_page(read);
        let mut story = Story::new(format!(
            "a child process takes ownership of a {len}-page mapping at {}, releases it ({release}), \
             then reads window page {read_page}: the kernel kills it with SIGSEGV, si_code SEGV_MAPERR",
            scene.shown()
        ));
        story.step("before (this process)", &scene.view());
        let stale = unsafe { addr.add(pages(read)) };

        let death = death_of(|| {
            let mapping = unsafe { Mapping::from_raw(addr, pages(len)) };
            match release {
                Release::Unmap => mapping.unmap().map_err(|_| GaveUp)?,
                Release::Drop => drop(mapping),
            }
            unsafe { stale.read_volatile() };
            Ok(())
        });

        match death.ending() {
            Ending::Signal(Signal::SIGSEGV) => {}
            Ending::Returned => panic!(
                "the child read window page {read_page} after {release} and lived: the mapping was not unmapped \
                 ({release} must munmap the whole range)"
            ),
            Ending::GaveUp => panic!("Mapping::unmap returned an error for a valid whole mapping"),
            Ending::Panicked => panic!("the lab code panicked in the child (see its output)"),
            other => panic!("the child should die of SIGSEGV, but ended with {other:?}"),
        }
        assert_eq!(
            death.fault,
            Some((SEGV_MAPERR, stale.as_ptr() as usize)),
            "the SIGSEGV should be SEGV_MAPERR (no mapping at the address) at window page {read_page}, but was {} at {:?}",
            death.si_code_name(),
            death.fault.map(|(_, a)| a as *const u8)
        );
        let fault_page = (death.fault.map_or(0, |(_, a)| a) - scene.arena().page(0).as_ptr() as usize) / page_size();
        story.fact(format!(
            "the child, reading window page {fault_page} after {release}: killed by {}, si_code {}",
            Signal::SIGSEGV.as_str(),
            death.si_code_name()
        ));
        story.assert_snapshot();
    });
}

/// Releases the mapping as `how` says.
fn release(mapping: Mapping, how: Release) {
    match how {
        Release::Drop => drop(mapping),
        Release::Unmap => mapping
            .unmap()
            .expect("unmap of a whole valid mapping should return Ok"),
    }
}

#[rstest]
#[serial]
#[case::by_drop(Release::Drop)]
#[case::by_unmap(Release::Unmap)]
fn a_mapping_is_unmapped_exactly_once(#[case] how: Release) {
    isolated(|| {
        let len = drawn_mapping_pages();
        let fill = draw::one_of("fill byte", b'O', b"OABXYZ");
        // The byte written through as_mut_slice: slot page 2's first by default, anywhere when drawn.
        let written = draw::count("page written", 2.min(len - 1), 0..=len - 1);
        let offset = draw::one_of("byte written in its page", 0, &[0, 1, page_size() / 2, page_size() - 1]);
        let (scene, addr) = mapping_of(len, fill);
        let mut story = Story::new(format!(
            "a Mapping owns a {len}-page mapping at {}, and {how} unmaps it exactly once: the moment the \
             kernel has unmapped the pages, before that munmap returns, the test maps a sentinel there (read-only, \
             every byte 'S'), which a second munmap of the range (a drop after unmap, say) would remove",
            scene.shown()
        ));
        story.step("before", &scene.view());

        let mut mapping = unsafe { Mapping::from_raw(addr, pages(len)) };
        assert_eq!(mapping.as_ptr(), addr, "as_ptr should return the mapping's address");
        assert_eq!(
            mapping.len(),
            pages(len),
            "len should return the mapping's length in bytes"
        );
        assert!(!mapping.is_empty(), "a {len}-page mapping is not empty");
        assert!(
            mapping.as_slice().len() == pages(len) && mapping.as_slice().iter().all(|&b| b == fill),
            "as_slice should show the mapping's bytes (all {len} pages of them)"
        );
        let at = pages(written) + offset;
        mapping.as_mut_slice()[at] = b'W';
        assert_eq!(
            unsafe { addr.add(at).read() },
            b'W',
            "as_mut_slice should write to the mapping"
        );

        let watch = match UnmapWatch::start(scene.arena(), scene.all()) {
            Ok(watch) => watch,
            Err(why) => {
                // What can be checked without the watch is checked before skipping.
                release(mapping, how);
                let view = scene.view();
                expect::unmapped(&view, scene.all(), "the Mapping owned these pages");
                scene.check_guards(&view);
                skip(format!(
                    "{why}: the test cannot map a sentinel between the first munmap and what follows it, so \
                     \"exactly once\" cannot be checked here"
                ));
            }
        };
        release(mapping, how);
        let seen = watch.finish();

        let view = scene.view();
        story.fact(format!(
            "while {how} ran, the kernel unmapped {}; before its munmap returned, the test mapped \
             the sentinel there (r--p, every byte 'S')",
            scene.shown()
        ));
        story.step(format!("after {how} returned"), &view);
        check_unmapped_once(&view, &scene, &seen, &how.to_string());
        scene.check_guards(&view);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn unmap_returns_the_error_and_does_not_retry() {
    isolated(|| {
        let len = drawn_mapping_pages();
        // The misaligned address: `by` bytes into mapping page `first`, the length up to the mapping's end.
        let first = draw::count("page of the address", 0, 0..=len - 1);
        let by = draw::one_of(
            "bytes past the page",
            1,
            &[1, 2, 64, 1000, page_size() / 2, page_size() - 1],
        );
        let (scene, addr) = mapping_of(len, b'E');
        let before = scene.view();
        let mut story = Story::new(format!(
            "a Mapping is given an address {} into window page {} (length {} less {}): its unmap() \
             returns munmap's EINVAL unchanged, and {} stay exactly as they were: nothing unmaps \
             them after munmap refused (a retry with the address rounded down to its page would)",
            bytes(by),
            scene.window_page(first),
            pages_text(len - first),
            bytes(by),
            scene.shown()
        ));
        story.step("before", &before);

        // A misaligned address: munmap refuses it with EINVAL and leaves the pages alone.
        let misaligned = unsafe { addr.add(pages(first) + by) };
        let mapping = unsafe { Mapping::from_raw(misaligned, pages(len - first) - by) };
        let result = expect::call(
            format!("unmap() of a Mapping at mapping page {first} + {by} bytes"),
            "Err(EINVAL), munmap's error unchanged",
            || mapping.unmap(),
        );

        let view = scene.view();
        story.step(format!("after unmap() returned {result:?}"), &view);
        assert_eq!(
            result,
            Err(Errno::EINVAL),
            "unmap should return munmap's error unchanged (EINVAL for a misaligned address), not hide or replace it"
        );
        let why = "munmap refused the range and removed nothing, and the caller is told so: nothing may unmap \
                   these pages afterwards, not a retry (with the address rounded down to its page, say), not the \
                   drop";
        expect::mapped(&view, scene.all(), "rw-p", why);
        for n in 0..len {
            expect::page_holds(unsafe { addr.add(pages(n)) }, b'E', why);
        }
        assert_eq!(
            view, before,
            "a refused unmap changes nothing\nbefore:\n{before}\nafter:\n{view}"
        );
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn anonymous_maps_fresh_zeroed_memory() {
    isolated(|| {
        assert_eq!(
            Mapping::anonymous(0).err(),
            Some(Errno::EINVAL),
            "a mapping of 0 bytes does not exist: anonymous(0) should fail with EINVAL"
        );
        let len = draw::count("mapping pages", 3, 1..=16);
        let mut mapping = Mapping::anonymous(pages(len))
            .unwrap_or_else(|e| panic!("anonymous({len} pages) should map, not fail with {e}"));
        let addr = mapping.as_ptr();
        assert_eq!(
            mapping.len(),
            pages(len),
            "len should be the {len} pages asked for, in bytes"
        );
        let view = MapsView::of(addr, len).with_mapping(0..len);
        expect::mapped(&view, 0..len, "rw-p", "anonymous maps private read-write memory");
        assert!(
            mapping.as_slice().len() == pages(len) && mapping.as_slice().iter().all(|&b| b == 0),
            "fresh anonymous memory is zero-filled ({len} pages of it)"
        );
        let writable = mapping.as_mut_slice();
        assert_eq!(
            writable.len(),
            pages(len),
            "as_mut_slice should give all {len} pages of the mapping, to write"
        );
        writable.fill(b'Z');
        assert!(
            unsafe { std::slice::from_raw_parts(addr.as_ptr(), pages(len)) }
                .iter()
                .all(|&b| b == b'Z'),
            "what is written through as_mut_slice should land in the mapping"
        );
        mapping.unmap().expect("unmapping a fresh mapping");
        assert!(
            !munmap_lab_harness::is_mapped(addr, pages(len)),
            "after unmap the {len} pages should be gone"
        );
    });
}

#[rstest]
#[serial]
fn unmap_and_clear_unmaps_once_and_clears_the_slot() {
    isolated(|| {
        let len = drawn_mapping_pages();
        let (scene, addr) = mapping_of(len, b'C');
        let mut story = Story::new(format!(
            "the C idiom: unmap_and_clear unmaps {} and sets the pointer to None; someone else then \
             maps the same pages (the test's sentinel: read-only, every byte 'S'), and a second unmap_and_clear of \
             the same slot must leave it alone",
            scene.shown()
        ));
        story.step("before", &scene.view());
        let mut slot = Some(addr);
        expect::call(
            format!("unmap_and_clear(&mut slot, {len} pages)"),
            "Ok(()) and the slot set to None",
            || unsafe { unmap_and_clear(&mut slot, pages(len)) },
        )
        .expect("the first unmap_and_clear should succeed");
        assert_eq!(
            slot, None,
            "after unmapping, the slot should be None (C: the pointer set to NULL)"
        );
        let view = scene.view();
        story.step(
            format!("after unmap_and_clear(&mut slot, {len} pages), which set slot to None"),
            &view,
        );
        expect::unmapped(&view, scene.all(), "the slot's mapping is unmapped");

        let sentinel = map_sentinel(scene.arena(), scene.all())
            .expect("the pages are free, so the test can map its sentinel there");
        story.step(
            "after someone else mapped the same pages (the sentinel: r--p, every byte 'S')",
            &scene.view(),
        );
        expect::call(
            format!("unmap_and_clear(&mut slot, {len} pages) again, on None"),
            "Ok(()), nothing unmapped",
            || unsafe { unmap_and_clear(&mut slot, pages(len)) },
        )
        .expect("a second call on None should return Ok");
        let view = scene.view();
        story.step(format!("after a second unmap_and_clear(&mut slot, {len} pages)"), &view);
        let why = "a None slot must not be unmapped again: the pages now belong to someone else's mapping";
        expect::mapped(&view, scene.all(), "r--p", why);
        for n in 0..len {
            expect::page_holds(unsafe { sentinel.add(pages(n)) }, SENTINEL, why);
        }
        scene.check_guards(&view);
        story.assert_snapshot();
    });
}

/// Code that uses `Mapping` correctly: it must compile, or the checks below mean nothing.
const USES_MAPPING_CORRECTLY: &str = r#"
use munmap_lab::lab08_ownership::Mapping;
pub fn correct() {
    let mut m = Mapping::anonymous(4096).unwrap();
    m.as_mut_slice()[0] = 1;
    let first = m.as_slice()[0];
    let _ = (first, m.len(), m.is_empty(), m.as_ptr());
    let _ = m.unmap();
    let dropped = Mapping::anonymous(4096).unwrap();
    drop(dropped);
}
"#;

const SECOND_UNMAP: &str = r#"
use munmap_lab::lab08_ownership::Mapping;
pub fn second_unmap() {
    let m = Mapping::anonymous(4096).unwrap();
    let _ = m.unmap();
    let _ = m.unmap();
}
"#;

const USE_AFTER_UNMAP: &str = r#"
use munmap_lab::lab08_ownership::Mapping;
pub fn use_after_unmap() -> u8 {
    let m = Mapping::anonymous(4096).unwrap();
    let _ = m.unmap();
    m.as_slice()[0]
}
"#;

const SLICE_OUTLIVES_MAPPING: &str = r#"
use munmap_lab::lab08_ownership::Mapping;
pub fn slice_outlives_mapping() -> u8 {
    let m = Mapping::anonymous(4096).unwrap();
    let bytes = m.as_slice();
    let _ = m.unmap();
    bytes[0]
}
"#;

const CLONE_THEN_UNMAP_BOTH: &str = r#"
use munmap_lab::lab08_ownership::Mapping;
pub fn clone_then_unmap_both() {
    let m = Mapping::anonymous(4096).unwrap();
    let copy = m.clone();
    let _ = m.unmap();
    let _ = copy.unmap();
}
"#;

#[rstest]
#[serial]
#[case::second_unmap("second_unmap", SECOND_UNMAP, "E0382")]
#[case::use_after_unmap("use_after_unmap", USE_AFTER_UNMAP, "E0382")]
#[case::slice_outlives_the_mapping("slice_outlives_mapping", SLICE_OUTLIVES_MAPPING, "E0505")]
#[case::no_clone("clone_then_unmap_both", CLONE_THEN_UNMAP_BOTH, "E0599")]
fn misuse_does_not_compile(#[case] name: &str, #[case] source: &str, #[case] expected: &str) {
    isolated(|| {
        // The Mapping must really work before its compile-time promises are worth checking.
        // Nothing here is drawn (rubric.toml's [lab08_ownership.undrawn] says why).
        let (scene, addr) = four_pages(b'M');
        let mapping = unsafe { Mapping::from_raw(addr, pages(MAPPING_PAGES)) };
        assert_eq!(mapping.as_slice()[0], b'M', "as_slice should show the mapping's bytes");
        mapping
            .unmap()
            .expect("unmap of a whole valid mapping should return Ok");
        expect::unmapped(&scene.view(), scene.all(), "unmap removes the mapping");

        let lab = if cfg!(feature = "solutions") {
            "solutions/lab08_ownership.rs"
        } else {
            "labs/lab08_ownership.rs"
        };
        let dir = scratch_dir!();
        let checked = check("uses_mapping_correctly", USES_MAPPING_CORRECTLY, lab, dir.path())
            .and_then(|control| Ok((control, check(name, source, lab, dir.path())?)));
        let (control, result) = checked.unwrap_or_else(|why| skip(format!("cannot run compile checks here: {why}")));
        if let Compiled::No(errors) = control {
            panic!(
                "correct use of Mapping (anonymous, as_slice, as_mut_slice, len, is_empty, as_ptr, unmap, drop) \
                 does not compile: keep the API of the stub.\n{errors}"
            );
        }
        let codes = result.error_codes();
        assert!(
            codes.iter().any(|c| c == expected),
            "this must not compile (error {expected}), because Mapping owns its range and unmap(self) consumes it:\n\
             {source}\nbut rustc said: {}",
            match &result {
                Compiled::Yes => "it compiles".to_string(),
                Compiled::No(errors) => errors.clone(),
            }
        );
    });
}
