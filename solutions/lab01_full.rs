//! Lab 01 reference solution: map, close the fd, msync(MS_SYNC), munmap.

use std::fs::OpenOptions;
use std::num::NonZeroUsize;
use std::path::Path;
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, MsFlags, ProtFlags, mmap, msync, munmap};

/// Maps the first `len` bytes of `path` read-write and `MAP_SHARED`; the fd is closed on return.
pub fn map_shared(path: &Path, len: usize) -> nix::Result<NonNull<u8>> {
    let length = NonZeroUsize::new(len).ok_or(Errno::EINVAL)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    // SAFETY: a fresh mapping chosen by the kernel overlaps nothing we own.
    let addr = unsafe {
        mmap(
            None,
            length,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            &file,
            0,
        )
    }?;
    drop(file); // the mapping keeps the file open by itself
    Ok(addr.cast())
}

/// Flushes the mapping to the file (MS_SYNC waits for the write-back), then unmaps it.
///
/// # Safety
/// `addr` and `len` must describe a whole mapping returned by [`map_shared`].
pub unsafe fn sync_and_unmap(addr: NonNull<u8>, len: usize) -> nix::Result<()> {
    unsafe {
        msync(addr.cast(), len, MsFlags::MS_SYNC)?;
        munmap(addr.cast(), len)
    }
}
