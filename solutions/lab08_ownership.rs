//! Lab 08 reference solution: the NULL idiom, and an owning `Mapping`.

use std::mem::ManuallyDrop;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};

/// munmap `*slot`, then set it to `None`; a `None` slot is left alone.
///
/// # Safety
/// A `Some` in `slot` must be a mapping of `len` bytes that only this slot refers to.
pub unsafe fn unmap_and_clear(slot: &mut Option<NonNull<u8>>, len: usize) -> nix::Result<()> {
    let Some(addr) = *slot else {
        return Ok(());
    };
    unsafe { munmap(addr.cast(), len) }?;
    *slot = None;
    Ok(())
}

/// An owned mapping: unmapped exactly once, on drop or by [`Mapping::unmap`].
pub struct Mapping {
    addr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of zeroed private anonymous read-write memory.
    pub fn anonymous(len: usize) -> nix::Result<Mapping> {
        let length = NonZeroUsize::new(len).ok_or(Errno::EINVAL)?;
        // SAFETY: a fresh mapping placed by the kernel overlaps nothing.
        let addr = unsafe {
            mmap_anonymous(
                None,
                length,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
        }?;
        Ok(Mapping { addr: addr.cast(), len })
    }

    /// Takes ownership of `(addr, len)`.
    ///
    /// # Safety
    /// `(addr, len)` must be a readable and writable mapping that nothing else will use or unmap.
    pub unsafe fn from_raw(addr: NonNull<u8>, len: usize) -> Mapping {
        Mapping { addr, len }
    }

    /// The first byte of the mapping.
    pub fn as_ptr(&self) -> NonNull<u8> {
        self.addr
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mapped bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping is readable and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.addr.as_ptr(), self.len) }
    }

    /// The mapped bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: writable, lives as long as `self`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.addr.as_ptr(), self.len) }
    }

    /// Unmaps now and returns munmap's result; the drop is skipped.
    pub fn unmap(self) -> nix::Result<()> {
        let this = ManuallyDrop::new(self);
        // SAFETY: we own the mapping, and ManuallyDrop keeps Drop from unmapping it again.
        unsafe { munmap(this.addr.cast(), this.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we own the mapping and this is the only unmap (unmap() skips the drop).
        let _ = unsafe { munmap(self.addr.cast(), self.len) };
    }
}
