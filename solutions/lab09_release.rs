//! Lab 09 reference solution: mincore, smaps_rollup, and a fresh mapping to see the page cache.

use std::fs::File;
use std::num::NonZeroUsize;
use std::path::Path;
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};

use crate::page_size;

fn errno_of(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Resident pages of `(addr, len)` by mincore; ENOMEM when part of it is unmapped.
pub fn resident_pages(addr: NonNull<u8>, len: usize) -> nix::Result<usize> {
    let mut residency = vec![0u8; len.div_ceil(page_size())];
    // SAFETY: mincore only reads page tables and writes one byte per page into the vector.
    let rc = unsafe { libc::mincore(addr.as_ptr().cast(), len, residency.as_mut_ptr()) };
    Errno::result(rc)?;
    Ok(residency.iter().filter(|&&b| b & 1 == 1).count())
}

/// `Anonymous:` from /proc/self/smaps_rollup, in kB.
pub fn anonymous_kib() -> nix::Result<u64> {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").map_err(errno_of)?;
    rollup
        .lines()
        .find_map(|line| line.strip_prefix("Anonymous:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or(Errno::EINVAL)
}

/// Maps the whole file read-only and shared, counts resident pages, unmaps it.
pub fn cached_pages(path: &Path) -> nix::Result<usize> {
    let file = File::open(path).map_err(errno_of)?;
    let len = file.metadata().map_err(errno_of)?.len() as usize;
    let Some(length) = NonZeroUsize::new(len) else {
        return Ok(0);
    };
    // SAFETY: a fresh read-only mapping placed by the kernel overlaps nothing.
    let addr = unsafe { mmap(None, length, ProtFlags::PROT_READ, MapFlags::MAP_SHARED, &file, 0) }?;
    let counted = resident_pages(addr.cast(), len);
    // SAFETY: the mapping was made above and nothing else refers to it.
    unsafe { munmap(addr, len) }?;
    counted
}
