//! # Lab 09: memory given back
//!
//! What happens to the memory behind a mapping when it is unmapped depends on what
//! backed it:
//!
//! - Private anonymous pages that were written (dirty) belong to this process alone.
//!   `munmap()` frees them at once: the process's anonymous resident memory falls by
//!   exactly those pages.
//! - A file mapping only *shows* pages of the kernel's page cache. `munmap()` removes
//!   them from this process (its resident memory falls), but the pages stay cached
//!   for the next reader: a fresh mapping of the same file finds them in memory at
//!   once. The kernel drops them later, when it needs the memory.
//!
//! ```text
//!   anonymous:  |dirty|dirty|  --munmap-->  freed          (RSS falls, nothing kept)
//!   file:       |cache|cache|  --munmap-->  still cached   (RSS falls, page cache keeps them)
//! ```
//!
//! Two ways to look: `mincore(addr, len, vec)` sets bit 0 of `vec[i]` when page `i` of a
//! mapped range is resident (and fails with ENOMEM when part of the range is not
//! mapped); `/proc/self/smaps_rollup` sums this process's memory over all its mappings
//! (`Anonymous:` in kB). Prefer it to `RssAnon:` in `/proc/self/status`, which on many
//! kernels is kept in per-CPU batches and can lag behind by dozens of pages.
//!
//! Useful calls: `libc::mincore`, `nix::sys::mman::{mmap, munmap}`, `std::fs::File`.

use std::path::Path;
use std::ptr::NonNull;

/// How many pages of the mapped range `(addr, len)` are resident in memory, by
/// `mincore()`. `Err(ENOMEM)` when part of the range is not mapped.
pub fn resident_pages(addr: NonNull<u8>, len: usize) -> nix::Result<usize> {
    todo!("lab09_release::resident_pages({addr:p}, {len}): mincore, then count the bytes with bit 0 set")
}

/// This process's anonymous memory: `Anonymous:` from `/proc/self/smaps_rollup`, in kB.
pub fn anonymous_kib() -> nix::Result<u64> {
    todo!("lab09_release::anonymous_kib(): read Anonymous: from /proc/self/smaps_rollup")
}

/// How many pages of the file at `path` are in the page cache: map the whole file
/// afresh (read-only, `MAP_SHARED`), count its resident pages, unmap it again.
pub fn cached_pages(path: &Path) -> nix::Result<usize> {
    todo!("lab09_release::cached_pages({path:?}): map the file, count resident pages with mincore, unmap")
}
