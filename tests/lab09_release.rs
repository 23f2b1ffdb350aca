//! Lab 09: munmap gives dirty anonymous memory back; a file's pages stay in the page cache.
//!
//! Measures, chosen not to flake on a shared machine:
//! - window-local: mincore and smaps `Rss:` of the test's own mapping are exact;
//! - process-wide: `/proc/self/smaps_rollup` walks the page tables, so it is exact too,
//!   but the test itself runs between two readings (reading a /proc file allocates; the
//!   allocator or the stack may touch a fresh page). [`NOISE_PAGES`] allows for that:
//!   a 16-page release must show as a fall of at least 12 pages, and the lab's
//!   reading must lie within that noise of the kernel's `Anonymous:`. `RssAnon:` in
//!   /proc/self/status is avoided: since Linux 6.2 it is summed from per-CPU batches
//!   and can lag behind by dozens of pages. The right field must be the only one that
//!   fits, by a wide margin and by construction, not by what the process happens to hold
//!   (a test binary linked moments ago has its pages dirty in the page cache until they
//!   are written back, and `Private_Dirty:` counts those it alone maps: one grading of a
//!   submission that read that field failed, the next passed):
//!   [`SharedDirty`] keeps [`SEPARATING_PAGES`] written pages of a shared memory file
//!   mapped meanwhile, which `Private_Dirty:`, `Rss:`, `Pss:` and `Pss_Dirty:` count and
//!   `Anonymous:` does not (shared file pages are no anonymous memory, yet dirty and
//!   mapped once, so "private" in smaps' sense). A file's share of the process is measured by its own
//!   mappings (smaps `Rss:` of every mapping of that file), never as total file-backed
//!   RSS: running new code faults in 16 pages of the test binary at a time
//!   (fault-around), which moved a total by +-16 pages between two readings;
//! - the page cache: memory pressure could evict a just-read page at any moment, so a
//!   file is "still cached" when at least 12 of its 16 pages are.
//!
//! When graded, the sizes are drawn ([`draw`]): the mappings' and the files' lengths,
//! which pages are touched and where the hole is (a few pages touched stay some but not
//! all, a hole stays strictly inside); the tolerances scale with them (three quarters
//! of a file still cached), and the noise allowed stays [`NOISE_PAGES`].

use std::num::NonZeroUsize;
use std::path::Path;
use std::ptr::NonNull;

use munmap_lab::lab09_release::{anonymous_kib, cached_pages, resident_pages};
use munmap_lab_harness::draw;
use munmap_lab_harness::maps::window_pages;
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{Arena, ScratchDir, Slot, Story, expect, isolated, page_size, page_state, pages, skip, smaps};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags};
use rstest::rstest;
use serial_test::serial;

/// Pages that the test's own activity may add between two process-wide readings.
const NOISE_PAGES: u64 = 4;
/// Dirty pages of a shared memory file kept mapped while `anonymous_kib` is checked:
/// what separates `Anonymous:` from the fields that count every dirty or resident page.
const SEPARATING_PAGES: usize = 64;
/// The length of the mappings that are released (and of the file), under `cargo test`
/// (the snapshots'), and the lengths a grading draws: at least 12, so that a release
/// stands well clear of the noise; at most 28, so that the hole a release leaves in the
/// window stays smaller than the C allocator's own mmaps (128 KiB and up: 32 pages of 4 KiB).
const MAPPING_PAGES: usize = 16;
const DRAWN_MAPPING_PAGES: std::ops::RangeInclusive<usize> = 12..=28;

/// The `key:` line of smaps_rollup fields, in kB (the kernel's own measure, for cross-checks).
fn kib_of(fields: &[(String, u64)], key: &str) -> u64 {
    fields
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, kib)| *kib)
        .unwrap_or_else(|| panic!("smaps_rollup has no {key}: line"))
}

/// The lab's `anonymous_kib`, in kB.
fn lab_anonymous_kib() -> u64 {
    expect::call_varying(
        "anonymous_kib()",
        "Ok(kB): the Anonymous: line of /proc/self/smaps_rollup",
        anonymous_kib,
    )
    .expect("anonymous_kib should read /proc/self/smaps_rollup")
}

/// `SEPARATING_PAGES` written pages of a shared memory file (memfd), mapped until dropped.
///
/// smaps counts them in `Rss:`, `Pss:`, `Pss_Dirty:`, `Pss_Shmem:` and `Private_Dirty:`
/// (dirty, and mapped by this process alone), never in `Anonymous:`. Shared memory is
/// never written back, so they stay dirty however long the test takes.
struct SharedDirty {
    addr: NonNull<std::ffi::c_void>,
    len: usize,
}

impl SharedDirty {
    fn new() -> SharedDirty {
        let len = pages(SEPARATING_PAGES);
        let fd = nix::sys::memfd::memfd_create("lab09-shared-dirty", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .expect("memfd_create");
        nix::unistd::ftruncate(&fd, len as i64).expect("sizing the memfd");
        let addr = unsafe {
            nix::sys::mman::mmap(
                None,
                NonZeroUsize::new(len).expect("len > 0"),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                &fd,
                0,
            )
        }
        .expect("mapping the memfd");
        unsafe { addr.cast::<u8>().write_bytes(b'S', len) };
        SharedDirty { addr, len }
    }
}

impl Drop for SharedDirty {
    fn drop(&mut self) {
        let _ = unsafe { nix::sys::mman::munmap(self.addr, self.len) };
    }
}

/// The smaps_rollup lines other than `Anonymous:` that said `kib` kB, give or take
/// `noise` kB, closest first: `` `Rss:` and `Referenced:` lines ``; None when no line
/// or more than three did (0 kB is what a dozen lines say: no hint in that).
/// Some lines always agree with each other, so every match is named, never a guess.
fn fields_matching(fields: &[(String, u64)], kib: u64, noise: u64) -> Option<String> {
    let mut near: Vec<&(String, u64)> = fields
        .iter()
        .filter(|(name, value)| name != "Anonymous" && value.abs_diff(kib) <= noise)
        .collect();
    near.sort_by_key(|(_, value)| value.abs_diff(kib));
    let names: Vec<String> = near.iter().map(|(name, _)| format!("`{name}:`")).collect();
    match names.as_slice() {
        [] => None,
        more if more.len() > 3 => None,
        [one] => Some(format!("{one} line")),
        [rest @ .., last] => Some(format!("{} and {last} lines", rest.join(", "))),
    }
}

/// How many pages of `path` are cached, seen through a fresh mapping made by the test.
fn kernel_cached_pages(path: &Path, count: usize) -> usize {
    let file = ScratchDir::open_rw(path);
    let arena = Arena::new(count);
    let addr = arena.map_file(0, count, ProtFlags::PROT_READ, MapFlags::MAP_SHARED, &file, 0);
    page_state::resident_pages(addr, pages(count))
}

/// Whether any mapping of this process is of the file named like `path`.
fn still_mapped(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).expect("a file name");
    smaps::file_field_pages(name, "Size") > 0
}

/// Which pages of a fresh anonymous mapping a case writes.
#[derive(Clone, Copy, Debug)]
enum Touched {
    /// None of them.
    None,
    /// Pages 0-2 (or as drawn: some, never none nor all, anywhere in the mapping).
    Some,
    /// Every page.
    All,
}

impl Touched {
    /// The mapping pages written in a mapping of `len` pages, in order: today's under
    /// `cargo test`, drawn when graded.
    fn pages(self, len: usize) -> Vec<usize> {
        match self {
            Touched::None => Vec::new(),
            Touched::All => (0..len).collect(),
            Touched::Some => {
                let count = draw::count("touched pages", 3, 1..=len - 1);
                let mut touched = Vec::new();
                for i in 0..count {
                    let untouched: Vec<usize> = (0..len).filter(|n| !touched.contains(n)).collect();
                    touched.push(draw::one_of(&format!("touched page {i}"), untouched[0], &untouched));
                }
                touched.sort_unstable();
                touched
            }
        }
    }
}

#[rstest]
#[serial]
#[case::none_touched(Touched::None)]
#[case::three_touched(Touched::Some)]
#[case::all_eight_touched(Touched::All)]
fn resident_pages_counts_the_touched_pages(#[case] touched: Touched) {
    isolated(|| {
        let len = draw::count("mapping pages", 8, 4..=16);
        let written = touched.pages(len);
        let touched = written.len();
        let slot = Slot::new(len);
        let addr = slot.map_anonymous(len, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE);
        for &n in &written {
            unsafe { addr.add(pages(n)).write_volatile(b'T') };
        }
        let counted = expect::call(
            format!("resident_pages(addr, {len} pages)"),
            format!("Ok({touched}): the pages written are resident, the others have no memory yet"),
            || resident_pages(addr, pages(len)),
        )
        .expect("resident_pages of a mapped range should succeed");
        assert_eq!(
            counted, touched,
            "{touched} of the {len} fresh anonymous pages were written (mapping pages {written:?}), so exactly \
             those are resident (an untouched anonymous page has no memory yet)"
        );
        // Then every page is written: the same call must now count them all (a count
        // that does not look at the pages cannot be right both times).
        for n in 0..len {
            unsafe { addr.add(pages(n)).write_volatile(b'A') };
        }
        assert_eq!(
            expect::call(
                format!("resident_pages(addr, {len} pages) once every page is written"),
                format!("Ok({len})"),
                || resident_pages(addr, pages(len)),
            ),
            Ok(len),
            "every one of the {len} pages has been written, so all {len} are resident"
        );
    });
}

#[rstest]
#[serial]
fn resident_pages_reports_enomem_for_unmapped_pages() {
    isolated(|| {
        // The hole stays strictly inside the range: mapped pages on either side.
        let len = draw::count("mapping pages", 4, 3..=12);
        let hole_pages = draw::count("hole pages", 1, 1..=len - 2);
        let first = draw::count("first page of the hole", 2, 1..=len - hole_pages - 1);
        let hole = window_pages(first..first + hole_pages);
        let arena = Arena::new(len);
        let addr = arena.map_anonymous(0, len, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE);
        unsafe { nix::sys::mman::munmap(addr.add(pages(first)).cast(), pages(hole_pages)) }.expect("punching a hole");
        let result = expect::call(
            format!("resident_pages(addr, {len} pages) over a hole at {hole}"),
            "Err(ENOMEM), mincore's error",
            || resident_pages(addr, pages(len)),
        );
        assert_eq!(
            result,
            Err(Errno::ENOMEM),
            "{hole} {}: mincore fails with ENOMEM and resident_pages should return that error",
            if hole_pages == 1 { "is unmapped" } else { "are unmapped" }
        );
        // Below the hole every page is mapped: there the same call counts (page 0 written).
        unsafe { addr.write_volatile(b'R') };
        assert_eq!(
            expect::call(
                format!("resident_pages(addr, {first} page(s)), the mapped pages below the hole"),
                "Ok(1): only page 0 was written",
                || resident_pages(addr, pages(first)),
            ),
            Ok(1),
            "below the hole all {first} page(s) are mapped and only the first was written: ENOMEM is for a range \
             with a hole only"
        );
    });
}

#[rstest]
#[serial]
fn unmapping_dirty_anonymous_pages_gives_the_memory_back() {
    isolated(|| {
        let len = draw::count("mapping pages", MAPPING_PAGES, DRAWN_MAPPING_PAGES);
        let slot = Slot::new(len);
        let addr = slot.map_filled(len, |_| b'D');
        let mut story = Story::new(format!(
            "{len} private anonymous pages at {} are written (dirty), then unmapped: the process's \
             anonymous memory falls by those {len} pages",
            slot.shown()
        ));
        story.step(format!("before ({len} dirty pages)"), &slot.view());
        assert_eq!(slot.smaps_pages("Rss"), len as u64, "{len} written pages are resident");
        assert_eq!(
            resident_pages(addr, pages(len)),
            Ok(len),
            "all {len} written pages are resident, so resident_pages should count {len}"
        );

        // Warm up: the first call of a code path may fault in pages of its own (heap, stack).
        let _ = (lab_anonymous_kib(), smaps::rollup_kib());
        let separating = SharedDirty::new();
        let lab_before = lab_anonymous_kib();
        let fields = smaps::rollup_kib();
        let kernel_before = kib_of(&fields, "Anonymous");
        unsafe { nix::sys::mman::munmap(addr.cast(), pages(len)) }.expect("unmapping the dirty pages");
        let kernel_after = kib_of(&smaps::rollup_kib(), "Anonymous");
        let lab_after = lab_anonymous_kib();
        drop(separating);

        let view = slot.view();
        story.step("after munmap", &view);
        expect::unmapped(&view, slot.all(), "the test unmapped these pages");
        let page_kib = page_size() as u64 / 1024;
        let (noise, wanted) = (NOISE_PAGES * page_kib, (len as u64 - NOISE_PAGES) * page_kib);
        let kernel_fall = kernel_before.saturating_sub(kernel_after);
        assert!(
            kernel_fall >= wanted,
            "the kernel's own smaps_rollup shows anonymous memory falling by only {kernel_fall} kB: \
             the test's measure is broken here"
        );
        // A fall alone does not show which memory was measured: every resident page
        // (`Rss:`) falls by the same pages. The level does, and the shared memory
        // file's dirty pages keep every other field well away from `Anonymous:`.
        let apart = lab_before.abs_diff(kernel_before);
        if apart > noise {
            let which = match fields_matching(&fields, lab_before, noise) {
                Some(lines) => format!(" {lab_before} kB is what smaps_rollup's {lines} said."),
                None => String::new(),
            };
            panic!(
                "anonymous_kib() should return smaps_rollup's `Anonymous:` line, the process's anonymous memory \
                 ({kernel_before} kB just after it was called, give or take {noise} kB for the test's own \
                 activity), but it returned {lab_before} kB.{which}"
            );
        }
        let lab_fall = lab_before.saturating_sub(lab_after);
        assert!(
            lab_fall >= wanted,
            "unmapping {len} dirty anonymous pages frees them, so anonymous_kib should fall by at least {wanted} kB \
             ({len} pages, less {NOISE_PAGES} for the test's own activity), but it fell by {lab_fall} kB \
             ({lab_before} -> {lab_after} kB); smaps_rollup's `Anonymous:` fell by {kernel_fall} kB"
        );
        story.fact(format!(
            "smaps_rollup Anonymous: fell by at least {} pages ({len} freed, {NOISE_PAGES} allowed for the test's own activity)",
            len as u64 - NOISE_PAGES
        ));
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn file_pages_stay_cached_after_unmap() {
    isolated(|| {
        let len = draw::count("file pages", MAPPING_PAGES, DRAWN_MAPPING_PAGES);
        let dir = scratch_dir!();
        let path = dir.file("lab09.data", len, |n| b'a' + n as u8);
        let slot = Slot::new(len);
        let file = ScratchDir::open_rw(&path);
        let addr = slot.map_file(len, ProtFlags::PROT_READ, MapFlags::MAP_SHARED, &file, 0);
        drop(file);
        for n in 0..len {
            let byte = unsafe { addr.add(pages(n)).read_volatile() };
            assert_eq!(byte, b'a' + n as u8, "the mapping shows the file");
        }
        let mut story = Story::new(format!(
            "a {len}-page file mapped MAP_SHARED read-only at {} and read, then unmapped: the process's \
             resident memory falls, but the file's pages stay in the page cache",
            slot.shown()
        ));
        story.step("before (every page read)", &slot.view());
        assert_eq!(slot.smaps_pages("Rss"), len as u64, "{len} read pages are resident");
        assert_eq!(
            resident_pages(addr, pages(len)),
            Ok(len),
            "all {len} read pages are resident, so resident_pages should count {len}"
        );

        let mapped_before = smaps::file_field_pages("lab09.data", "Rss");
        unsafe { nix::sys::mman::munmap(addr.cast(), pages(len)) }.expect("unmapping the file");
        let mapped_after = smaps::file_field_pages("lab09.data", "Rss");
        let view = slot.view();
        story.step("after munmap", &view);
        expect::unmapped(&view, slot.all(), "the test unmapped these pages");
        assert_eq!(
            (mapped_before, mapped_after),
            (len as u64, 0),
            "the process's resident pages of lab09.data (smaps Rss over every mapping of it) should fall from {len} to 0"
        );

        let cached = expect::call_varying(
            "cached_pages(lab09.data)",
            format!("Ok(about {len}): the file's pages are still in the page cache"),
            || cached_pages(&path),
        )
        .expect("cached_pages should map and measure the file");
        let kept = len * 3 / 4;
        assert!(
            (kept..=len).contains(&cached),
            "the file's pages stay in the page cache after munmap, so a fresh mapping should find (nearly) all {len} \
             resident (at least {kept}, allowing for memory pressure), but cached_pages counted {cached}"
        );
        assert!(
            !still_mapped(&path),
            "cached_pages must unmap its own mapping of the file before returning"
        );
        story.fact(format!(
            "a fresh mapping of lab09.data finds at least {kept} of its {len} pages resident: they stayed in the page cache"
        ));
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn cached_pages_sees_an_evicted_file_come_back() {
    isolated(|| {
        let dir = scratch_dir!();
        let count = draw::count("file pages", 8, 4..=24);
        let path = dir.file("evicted.data", count, |_| b'e');
        let file = ScratchDir::open_rw(&path);
        // The file was synced when written, so its cached pages are clean and may be dropped.
        let rc =
            unsafe { libc::posix_fadvise(std::os::fd::AsRawFd::as_raw_fd(&file), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(rc, 0, "posix_fadvise(DONTNEED) failed: {}", Errno::from_raw(rc));
        if kernel_cached_pages(&path, count) != 0 {
            skip("the kernel kept the file's pages after POSIX_FADV_DONTNEED (tmpfs?): cannot test an evicted file");
        }
        let evicted = expect::call_varying(
            "cached_pages(evicted.data) after POSIX_FADV_DONTNEED",
            "Ok(0): nothing of the file is cached",
            || cached_pages(&path),
        )
        .expect("cached_pages should map and measure the file");
        assert_eq!(
            evicted, 0,
            "the file's pages were evicted from the page cache, so cached_pages should count 0"
        );

        std::fs::read(&path).expect("reading the file back into the page cache");
        // The kernel's own count just before and just after the lab's: where the two agree
        // (nothing was evicted meanwhile), the lab's must be that very number.
        let kernel_before = kernel_cached_pages(&path, count);
        let back = expect::call_varying(
            "cached_pages(evicted.data) after reading the file",
            format!("Ok(about {count}): reading brought the file back into the page cache"),
            || cached_pages(&path),
        )
        .expect("cached_pages should map and measure the file");
        let kernel_after = kernel_cached_pages(&path, count);
        assert!(
            back >= count * 3 / 4,
            "after reading the whole {count}-page file, cached_pages should find (nearly) all of it cached, but \
             counted {back}"
        );
        if kernel_before == kernel_after {
            assert_eq!(
                back, kernel_after,
                "mincore finds {kernel_after} of the file's {count} pages in the page cache, before and after \
                 cached_pages ran, so cached_pages should count {kernel_after}"
            );
        }
        assert!(
            !still_mapped(&path),
            "cached_pages must unmap its own mapping of the file before returning"
        );
    });
}
