//! Lab 01: map a file MAP_SHARED, close the fd, write, msync, munmap.

use munmap_lab::lab01_full::{map_shared, sync_and_unmap};
use munmap_lab_harness::kernel::{dirty_pages, is_tmpfs};
use munmap_lab_harness::scratch::open_fds_to;
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{MapsView, ScratchDir, Slot, Story, expect, isolated, pages, skip};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags};
use rstest::rstest;
use serial_test::serial;

const FILE_PAGES: usize = 4;

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
        let dir = scratch_dir!();
        let path = dir.file("lab01.data", FILE_PAGES, original);
        let addr = map_shared(&path, pages(FILE_PAGES)).expect("map_shared should map an existing 4-page file");

        assert_eq!(
            open_fds_to(&path),
            0,
            "map_shared returned with a file descriptor still open on the file: close it after mmap, \
             the mapping keeps its own reference to the file"
        );
        let view = MapsView::of(addr, FILE_PAGES);
        expect::mapped(
            &view,
            0..FILE_PAGES,
            "rw-s",
            "a read-write MAP_SHARED mapping of the whole file",
        );
        for n in 0..FILE_PAGES {
            let page = unsafe { addr.add(pages(n)) };
            expect::page_holds(page, original(n), "the mapping shows the file's bytes");
        }
        Story::new("map_shared maps a 4-page file read-write MAP_SHARED and closes the fd; the mapping stays and still names the file")
            .step("after map_shared returned, with no fd open on the file", &view)
            .assert_snapshot();
        unsafe { nix::sys::mman::munmap(addr.cast(), pages(FILE_PAGES)) }.expect("cleanup munmap");
    });
}

#[rstest]
#[serial]
fn map_shared_reports_a_missing_file() {
    isolated(|| {
        let dir = scratch_dir!();
        let missing = dir.path().join("no-such-file");
        let result = expect::call(
            "map_shared(a path where no file is, 1 page)",
            "Err(ENOENT), the errno of open()",
            || map_shared(&missing, pages(1)),
        );
        assert_eq!(
            result.err(),
            Some(Errno::ENOENT),
            "mapping a file that does not exist must fail with the errno of open(): ENOENT"
        );
    });
}

/// Maps `path` MAP_SHARED over the whole slot and overwrites every page.
fn map_and_write(slot: &Slot, path: &std::path::Path) -> std::ptr::NonNull<u8> {
    let file = ScratchDir::open_rw(path);
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let addr = slot.map_file(FILE_PAGES, prot, MapFlags::MAP_SHARED, &file, 0);
    for n in 0..FILE_PAGES {
        unsafe { addr.add(pages(n)).write_bytes(written(n), pages(1)) };
    }
    addr
}

#[rstest]
#[serial]
fn sync_and_unmap_writes_back_and_removes_the_mapping() {
    isolated(|| {
        let dir = scratch_dir!();
        let path = dir.file("lab01.data", FILE_PAGES, original);
        let slot = Slot::new(FILE_PAGES);
        let addr = map_and_write(&slot, &path);
        let mut story = Story::new(format!(
            "a 4-page file mapped MAP_SHARED at {} (reserved PROT_NONE pages 0 and {} around it) \
             is written, then sync_and_unmap(addr, 4 pages) flushes and removes exactly it",
            slot.shown(),
            slot.all().end
        ));
        story.step("before sync_and_unmap", &slot.view());

        unsafe { sync_and_unmap(addr, pages(FILE_PAGES)) }.expect("sync_and_unmap of a whole mapping should succeed");

        let view = slot.view();
        story.step("after sync_and_unmap", &view);
        expect::unmapped(
            &view,
            slot.all(),
            "munmap with the address and length of the mapping removes all of it",
        );
        slot.check_guards(&view);
        let on_disk = std::fs::read(&path).expect("reading the file back through a fresh fd");
        for n in 0..FILE_PAGES {
            let page = &on_disk[pages(n)..pages(n + 1)];
            assert!(
                page.iter().all(|&b| b == written(n)),
                "file page {n} should hold the bytes written through the mapping ({:?}), but starts with {:?}",
                written(n) as char,
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
        let dir = scratch_dir!();
        let path = dir.file("lab01.data", FILE_PAGES, original);
        let slot = Slot::new(FILE_PAGES);
        let addr = map_and_write(&slot, &path);
        unsafe { sync_and_unmap(addr, pages(FILE_PAGES)) }.expect("sync_and_unmap of a whole mapping should succeed");

        let file = ScratchDir::open_rw(&path);
        // cachestat() (6.5+), or before that a fresh mapping's account in /proc/self/smaps.
        let after = match dirty_pages(&file, pages(FILE_PAGES)) {
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
        observable_or_skip(&dir, &slot);
    });
}

/// A clean page cache only proves msync ran if an unsynced unmap leaves dirty pages
/// on this filesystem; check that with a control file, or skip with the reason.
fn observable_or_skip(dir: &ScratchDir, slot: &Slot) {
    let control = dir.file("control.data", FILE_PAGES, original);
    let file = ScratchDir::open_rw(&control);
    if is_tmpfs(&file) {
        skip("the scratch directory is on tmpfs, where pages are never dirty: msync cannot be observed");
    }
    let addr = map_and_write(slot, &control);
    unsafe { nix::sys::mman::munmap(addr.cast(), pages(FILE_PAGES)) }.expect("control munmap");
    match dirty_pages(&file, pages(FILE_PAGES)) {
        Ok(dirty) if dirty.nr_dirty > 0 => {}
        Ok(_) => skip("this filesystem wrote the control file back at once: a missing msync cannot be observed"),
        Err(e) => skip(format!("the control file's dirty pages cannot be read ({e})")),
    }
}
