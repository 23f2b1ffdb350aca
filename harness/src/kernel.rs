//! The syscalls the labs need that nix does not wrap: `cachestat()` (Linux 6.5+) and
//! `mseal()` (Linux 6.10+).
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

/// The syscall number of `mseal()`: 462 on x86-64 and in the generic table (arm64).
const SYS_MSEAL: libc::c_long = 462;

/// Seals `[addr, addr + len)` with `mseal()`: from now on nothing may unmap, move or
/// re-protect it, so `munmap()` over any range that touches it fails with `EPERM`
/// and removes nothing. Irreversible for the life of the process, so call it only
/// inside an isolated test. `Err(ENOSYS)` before Linux 6.10, `Err(EPERM)` on 32-bit.
pub fn mseal(addr: std::ptr::NonNull<u8>, len: usize) -> Result<(), Errno> {
    // SAFETY: mseal only changes the flags of existing mappings; it reads no memory.
    let rc = unsafe { libc::syscall(SYS_MSEAL, addr.as_ptr(), len, 0u64) };
    if rc == 0 { Ok(()) } else { Err(Errno::last()) }
}
