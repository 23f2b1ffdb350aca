//! The one syscall the labs need that nix does not wrap: `cachestat()` (Linux 6.5+).
//!
//! After `munmap()` of a MAP_SHARED file mapping, the file's contents look the same
//! whether or not `msync()` ran first (both read the page cache). What differs is
//! whether the page cache still holds dirty pages waiting for writeback, and
//! `cachestat()` reports exactly that.

use std::os::fd::{AsFd, AsRawFd};

use nix::errno::Errno;

/// `struct cachestat` from `<linux/mman.h>`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStat {
    pub nr_cache: u64,
    pub nr_dirty: u64,
    pub nr_writeback: u64,
    pub nr_evicted: u64,
    pub nr_recently_evicted: u64,
}

/// `struct cachestat_range`: offset 0 and length 0 mean "the whole file".
#[repr(C)]
struct CacheStatRange {
    off: u64,
    len: u64,
}

/// The syscall number is 451 on every architecture that uses the generic table (x86-64, arm64).
const SYS_CACHESTAT: libc::c_long = 451;

/// Page-cache state of the whole file behind `fd`. `Err(ENOSYS)` before Linux 6.5.
pub fn cachestat<F: AsFd>(fd: F) -> Result<CacheStat, Errno> {
    let range = CacheStatRange { off: 0, len: 0 };
    let mut stat = CacheStat::default();
    // SAFETY: both pointers refer to live, correctly laid out structs for the duration of the call.
    let rc = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            fd.as_fd().as_raw_fd(),
            &range as *const CacheStatRange,
            &mut stat as *mut CacheStat,
            0u32,
        )
    };
    if rc == 0 { Ok(stat) } else { Err(Errno::last()) }
}

/// Whether the filesystem holding `fd` is tmpfs, where pages are never "dirty" in the writeback sense.
pub fn is_tmpfs<F: AsFd>(fd: F) -> bool {
    nix::sys::statfs::fstatfs(fd)
        .map(|s| s.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC)
        .unwrap_or(false)
}
