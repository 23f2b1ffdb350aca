//! Lab 01: map a file MAP_SHARED, close the fd, write, msync, munmap.
//!
//! Every scenario maps a whole file of 4 pages. When graded, the file's length, the
//! pages written before the sync and the missing file's path are drawn ([`draw`]).

use munmap_lab::lab01_full::{map_shared, sync_and_unmap};
use munmap_lab_harness::draw;
use munmap_lab_harness::kernel::{dirty_pages, is_tmpfs};
use munmap_lab_harness::scratch::open_fds_to;
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{MapsView, ScratchDir, Slot, Story, expect, isolated, pages, skip};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags};
use rstest::rstest;
use serial_test::serial;

/// The file's length under `cargo test` (its snapshots'), and the lengths a grading draws.
const FILE_PAGES: usize = 4;
const DRAWN_FILE_PAGES: std::ops::RangeInclusive<usize> = 1..=12;

/// The file's length in pages: 4, or as drawn.
fn file_pages() -> usize {
    draw::count("file pages", FILE_PAGES, DRAWN_FILE_PAGES)
}

/// The first page written before the sync: page 0 (the whole file), or as drawn; every
/// page from it to the end of the file is written.
fn first_written(file_pages: usize) -> usize {
    draw::count("first written page", 0, 0..=file_pages - 1)
}

/// Page `n` of a fresh test file holds this byte throughout.
fn original(n: usize) -> u8 {
    b'a' + n as u8
}

/// What the test writes over page `n` before syncing.
fn written(n: usize) -> u8 {
    b'A' + n as u8
}

#[rstest]
#[serial]
fn map_shared_closes_the_fd_and_keeps_the_mapping() {
    isolated(|| {
        let len = file_pages();
        let dir = scratch_dir!();
        let path = dir.file("lab01.data", len, original);
        let addr = expect::call(
            format!("map_shared(lab01.data, {len} pages)"),
            "Ok(address) of a mapping of the whole file",
            || map_shared(&path, pages(len)),
        )
        .unwrap_or_else(|e| panic!("map_shared should map an existing {len}-page file, but returned Err({e})"));

        assert_eq!(
            open_fds_to(&path),
            0,
            "map_shared returned with a file descriptor still open on the file: close it after mmap, \
             the mapping keeps its own reference to the file"
        );
        let view = MapsView::of(addr, len).with_mapping(0..len);
        expect::mapped(
            &view,
            0..len,
            "rw-s",
            "a read-write MAP_SHARED mapping of the whole file",
        );
        for n in 0..len {
            let page = unsafe { addr.add(pages(n)) };
            expect::page_holds(page, original(n), "the mapping shows the file's bytes");
        }
        // The page after the mapping, whatever lies there, is no more of the file.
        let past = MapsView::of(addr, len + 1);
        assert_eq!(
            past.run_at(0).end,
            len,
            "map_shared(path, {len} pages) should map exactly {len} page(s), no more:\n{past}"
        );
        Story::new(format!(
            "map_shared maps a {len}-page file read-write MAP_SHARED and closes the fd; the mapping stays and still names the file"
        ))
        .step("after map_shared returned, with no fd open on the file", &view)
        .assert_snapshot();
        unsafe { nix::sys::mman::munmap(addr.cast(), pages(len)) }.expect("cleanup munmap");
    });
}

#[rstest]
#[serial]
fn map_shared_reports_a_missing_file() {
    isolated(|| {
        let dir = scratch_dir!();
        // A missing file in the scratch directory, or one in a directory that is missing too.
        let name = draw::one_of(
            "missing path",
            "no-such-file",
            &["no-such-file", "lab01.data", "no-such-dir/lab01.data", "lab01.data.old"],
        );
        let missing = dir.path().join(name);
        let len = draw::count("requested pages", 1, 1..=8);
        let result = expect::call(
            format!(
                "map_shared(a path where no file is, {len} page{})",
                if len == 1 { "" } else { "s" }
            ),
            "Err(ENOENT), the errno of open()",
            || map_shared(&missing, pages(len)),
        );
        assert_eq!(
            result.err(),
            Some(Errno::ENOENT),
            "mapping a file that does not exist must fail with the errno of open(): ENOENT"
        );
        // The same call on a file that is there maps it: Err(ENOENT) is the answer for a
        // missing file only, not for every path.
        let present = dir.file("lab01.present", len, original);
        let addr = expect::call(
            format!("map_shared(a file of {len} page(s), {len} page(s))"),
            "Ok(the address of a MAP_SHARED mapping of the whole file)",
            || map_shared(&present, pages(len)),
        )
        .expect("mapping a file that exists should succeed");
        for n in 0..len {
            let page = unsafe { addr.add(pages(n)) };
            expect::page_holds(page, original(n), "a MAP_SHARED mapping shows the file's pages");
        }
        unsafe { nix::sys::mman::munmap(addr.cast(), pages(len)) }.expect("unmapping the test's own mapping");
    });
}

/// Maps `path` MAP_SHARED over the whole slot and overwrites its pages from `first` on.
fn map_and_write(slot: &Slot, path: &std::path::Path, first: usize) -> std::ptr::NonNull<u8> {
    let file = ScratchDir::open_rw(path);
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let addr = slot.map_file(slot.pages(), prot, MapFlags::MAP_SHARED, &file, 0);
    for n in first..slot.pages() {
        unsafe { addr.add(pages(n)).write_bytes(written(n), pages(1)) };
    }
    addr
}

#[rstest]
#[serial]
fn sync_and_unmap_writes_back_and_removes_the_mapping() {
    isolated(|| {
        let len = file_pages();
        let first = first_written(len);
        let dir = scratch_dir!();
        let path = dir.file("lab01.data", len, original);
        let slot = Slot::new(len);
        let addr = map_and_write(&slot, &path, first);
        let written_pages = match first {
            0 => "is written".to_string(),
            _ => format!("is written from file page {first} on"),
        };
        let mut story = Story::new(format!(
            "a {len}-page file mapped MAP_SHARED at {} (reserved PROT_NONE pages 0 and {} around it) \
             {written_pages}, then sync_and_unmap(addr, {len} pages) flushes and removes exactly it",
            slot.shown(),
            slot.all().end
        ));
        story.step("before sync_and_unmap", &slot.view());

        expect::call(
            format!("sync_and_unmap(addr, {len} pages)"),
            "Ok(()): the mapping flushed to the file and removed",
            || unsafe { sync_and_unmap(addr, pages(len)) },
        )
        .expect("sync_and_unmap of a whole mapping should succeed");

        let view = slot.view();
        story.step("after sync_and_unmap", &view);
        expect::unmapped(
            &view,
            slot.all(),
            "munmap with the address and length of the mapping removes all of it",
        );
        slot.check_guards(&view);
        let on_disk = std::fs::read(&path).expect("reading the file back through a fresh fd");
        assert_eq!(on_disk.len(), pages(len), "the file keeps its {len} page(s)");
        for n in 0..len {
            let page = &on_disk[pages(n)..pages(n + 1)];
            let (byte, what) = if n < first {
                (original(n), "its own bytes, never written through the mapping")
            } else {
                (written(n), "the bytes written through the mapping")
            };
            assert!(
                page.iter().all(|&b| b == byte),
                "file page {n} should hold {what} ({:?}), but starts with {:?}",
                byte as char,
                page[0] as char
            );
        }
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn sync_and_unmap_leaves_no_dirty_pages() {
    isolated(|| {
        let len = file_pages();
        let first = first_written(len);
        let dir = scratch_dir!();
        let path = dir.file("lab01.data", len, original);
        let slot = Slot::new(len);
        let addr = map_and_write(&slot, &path, first);
        expect::call(
            format!(
                "sync_and_unmap(addr, {len} pages) with file pages {first}-{} written",
                len - 1
            ),
            "Ok(()): the written pages flushed (msync MS_SYNC), then the mapping removed",
            || unsafe { sync_and_unmap(addr, pages(len)) },
        )
        .expect("sync_and_unmap of a whole mapping should succeed");

        let file = ScratchDir::open_rw(&path);
        // cachestat() (6.5+), or before that a fresh mapping's account in /proc/self/smaps.
        let after = match dirty_pages(&file, pages(len)) {
            Ok(dirty) => dirty,
            Err(e) => skip(format!(
                "neither cachestat() nor /proc/self/smaps can show dirty pages here ({e})"
            )),
        };
        assert!(
            after.nr_dirty == 0 && after.nr_writeback == 0,
            "after sync_and_unmap the page cache still holds {} dirty and {} under-writeback pages of the file. \
             munmap() does not write anything back: msync(addr, len, MS_SYNC) before munmap does, and waits for it.",
            after.nr_dirty,
            after.nr_writeback
        );
        observable_or_skip(&dir, &slot, first);
    });
}

/// A clean page cache only proves msync ran if an unsynced unmap leaves dirty pages
/// on this filesystem; check that with a control file, or skip with the reason.
fn observable_or_skip(dir: &ScratchDir, slot: &Slot, first: usize) {
    let control = dir.file("control.data", slot.pages(), original);
    let file = ScratchDir::open_rw(&control);
    if is_tmpfs(&file) {
        skip("the scratch directory is on tmpfs, where pages are never dirty: msync cannot be observed");
    }
    let addr = map_and_write(slot, &control, first);
    unsafe { nix::sys::mman::munmap(addr.cast(), pages(slot.pages())) }.expect("control munmap");
    match dirty_pages(&file, pages(slot.pages())) {
        Ok(dirty) if dirty.nr_dirty > 0 => {}
        Ok(_) => skip("this filesystem wrote the control file back at once: a missing msync cannot be observed"),
        Err(e) => skip(format!("the control file's dirty pages cannot be read ({e})")),
    }
}
