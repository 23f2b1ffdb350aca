//! # Lab 01: the whole life of a file mapping
//!
//! A file mapping lives in four steps:
//!
//! 1. `open()` the file and `mmap()` it `MAP_SHARED`, so stores reach the file.
//! 2. `close()` the descriptor straight away. The mapping holds its own reference to
//!    the file; `/proc/self/maps` still names it, and keeping the fd open would only
//!    leak a descriptor.
//! 3. Write through the mapping. The bytes land in the kernel's page cache, shared
//!    with every reader of the file, but they are only *dirty* there: nothing has
//!    reached the disk yet.
//! 4. `msync(MS_SYNC)` the range, which waits until the dirty pages are written back,
//!    then `munmap()` with the same address and length that `mmap()` returned.
//!
//! `munmap()` does not flush anything. Skip step 4's `msync` and the file still reads
//! back correctly (from the page cache) until the machine crashes; the test can tell
//! the difference anyway, by asking the kernel how many of the file's cached pages
//! are still dirty.
//!
//! Useful calls: `nix::fcntl::open` or `std::fs::OpenOptions`, `nix::sys::mman::{mmap,
//! msync, munmap}`, `MsFlags::MS_SYNC`.

use std::path::Path;
use std::ptr::NonNull;

/// Maps the first `len` bytes of the file at `path`, readable, writable and
/// `MAP_SHARED`, and returns the address. The file descriptor must be closed before
/// this returns.
pub fn map_shared(path: &Path, len: usize) -> nix::Result<NonNull<u8>> {
    todo!("lab01_full::map_shared({path:?}, {len}): open the file read-write, mmap it MAP_SHARED, close the fd")
}

/// Makes every write through the mapping durable, then releases the mapping:
/// `msync(MS_SYNC)` over the whole range, then `munmap()` of exactly that range.
///
/// # Safety
/// `addr` and `len` must describe a whole mapping returned by [`map_shared`], and
/// nothing may use it afterwards.
pub unsafe fn sync_and_unmap(addr: NonNull<u8>, len: usize) -> nix::Result<()> {
    todo!("lab01_full::sync_and_unmap({addr:p}, {len}): msync(MS_SYNC) the range, then munmap it")
}
