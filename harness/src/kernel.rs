//! The syscalls the labs need that nix does not wrap: `cachestat()` (Linux 6.5+) and
//! `mseal()` (Linux 6.10+), and [`dirty_pages`], which falls back from cachestat() to
//! `/proc/self/smaps` on older kernels.
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

/// The dirty and under-writeback page-cache pages of the first `len` bytes of the file
/// behind `fd` (opened for reading): `cachestat()` where the kernel has it (6.5+), and
/// before that the same fact from the kernel's accounting of a fresh mapping (below).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dirty {
    pub nr_dirty: u64,
    /// Always 0 from the fallback, which cannot see writeback (a page under writeback
    /// and no longer dirty is clean there).
    pub nr_writeback: u64,
}

/// [`Dirty`] for the file behind `fd`: cachestat(), or on kernels without it (ENOSYS)
/// [`dirty_by_smaps`]. `Err` only when neither can tell.
pub fn dirty_pages<F: AsFd>(fd: F, len: usize) -> Result<Dirty, Errno> {
    match cachestat(fd.as_fd()) {
        Ok(stat) => Ok(Dirty {
            nr_dirty: stat.nr_dirty,
            nr_writeback: stat.nr_writeback,
        }),
        Err(Errno::ENOSYS) => dirty_by_smaps(fd, len).map(|nr_dirty| Dirty {
            nr_dirty,
            nr_writeback: 0,
        }),
        Err(e) => Err(e),
    }
}

/// Dirty page-cache pages of the first `len` bytes of the file, on any kernel: maps
/// them read-only and shared (a fresh mapping, nothing written through it), reads one
/// byte of each page so each is mapped, and sums `Shared_Dirty` and `Private_Dirty` of
/// that mapping in `/proc/self/smaps`, which count a mapped page as dirty when the
/// page itself is (`PageDirty`), not only when written through this mapping.
pub fn dirty_by_smaps<F: AsFd>(fd: F, len: usize) -> Result<u64, Errno> {
    use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};
    let size = std::num::NonZeroUsize::new(len).ok_or(Errno::EINVAL)?;
    // SAFETY: a new read-only shared mapping of the file, placed by the kernel, only read below.
    let addr = unsafe { mmap(None, size, ProtFlags::PROT_READ, MapFlags::MAP_SHARED, fd, 0) }?;
    let page = crate::page_size();
    for offset in (0..len).step_by(page) {
        // SAFETY: inside the mapping just made (the file is at least `len` bytes long).
        unsafe { addr.cast::<u8>().as_ptr().add(offset).read_volatile() };
    }
    let smaps = std::fs::read("/proc/self/smaps");
    // SAFETY: the mapping made above, used by nothing else.
    let _ = unsafe { munmap(addr, len) };
    let smaps = smaps.map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    let maps = crate::smaps::parse(&smaps).map_err(|_| Errno::EIO)?;
    let mapping = maps
        .iter()
        .find(|m| m.address.0 == addr.as_ptr() as u64)
        .ok_or(Errno::ENOENT)?;
    let dirty = ["Shared_Dirty", "Private_Dirty"].map(|field| crate::smaps::field_pages([mapping], field));
    Ok(dirty.iter().sum())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The fallback sees what cachestat sees: a page written through a shared mapping
    /// and unmapped without msync is dirty; after fsync it is not.
    #[test]
    fn smaps_sees_dirty_page_cache_pages() {
        let page = crate::page_size();
        // On disk (the target directory), not tmpfs: tmpfs pages are never dirty.
        let exe = std::env::current_exe().unwrap();
        let target = exe.ancestors().nth(3).unwrap(); // target/<profile>/deps/<exe>
        let dir = target.join("tmp").join(format!("kernel-dirty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.write_all(&vec![b'a'; 4 * page]).unwrap();
        file.sync_all().unwrap();
        let clean = dirty_by_smaps(&file, 4 * page);
        std::os::unix::fs::FileExt::write_at(&file, &vec![b'b'; 2 * page], page as u64).unwrap();
        let dirty = dirty_by_smaps(&file, 4 * page);
        file.sync_all().unwrap();
        let synced = dirty_by_smaps(&file, 4 * page);
        let via_cachestat = cachestat(&file);
        let _ = std::fs::remove_dir_all(&dir);
        if is_tmpfs(&file) {
            return;
        }
        assert_eq!(clean, Ok(0));
        // At least the 2 pages written (a large folio is dirty as a whole).
        assert!(dirty.is_ok_and(|n| n >= 2), "{dirty:?}");
        assert_eq!(synced, Ok(0));
        if let Ok(stat) = via_cachestat {
            assert_eq!(stat.nr_dirty, 0);
        }
    }
}
