//! # Lab 08: use after unmap, and a type that makes it impossible
//!
//! After `munmap()` the addresses are simply gone. Reading or writing through an old
//! pointer raises SIGSEGV, with `si_code` `SEGV_MAPERR` ("no mapping here"), and the
//! process dies. Worse, if something was mapped there again in the meantime, the old
//! pointer silently reads or corrupts someone else's memory, and a second `munmap()`
//! of the old range removes *their* mapping: the kernel cannot know it was a mistake.
//!
//! C's defence is a habit: unmap through a pointer *to* the pointer and set it to NULL
//! afterwards, so a second call sees NULL and does nothing:
//!
//! ```c
//! int safe_munmap(void **p, size_t len) {
//!     if (*p == NULL) return 0;
//!     if (munmap(*p, len) == -1) return -1;
//!     *p = NULL;
//!     return 0;
//! }
//! ```
//!
//! That protects one variable. Any copy of the pointer still dangles, and nothing stops
//! code from using the NULL-ed one. [`unmap_and_clear`] is that idiom in Rust, with
//! `Option<NonNull<u8>>` for the nullable pointer.
//!
//! Rust can do better with ownership. A [`Mapping`] owns its range: it is unmapped
//! exactly once, either when the value is dropped or by [`Mapping::unmap`], which takes
//! `self` by value and returns munmap's error. After `m.unmap()` the value `m` is moved
//! away, so a second `m.unmap()` or `m.as_slice()` is a compile error, and a slice
//! borrowed from `m` cannot outlive it. The one thing left to get right by hand: `Drop`
//! must not unmap a second time after `unmap` already did (`std::mem::ManuallyDrop` or
//! `std::mem::forget` stop the drop).
//!
//! Useful calls: `nix::sys::mman::{mmap_anonymous, munmap}`, `std::slice::from_raw_parts`.

use std::ptr::NonNull;

/// The C idiom: unmaps `*slot` (a mapping of `len` bytes) and sets it to `None`; does
/// nothing and returns `Ok` when `*slot` is already `None`. On an error `*slot` stays.
///
/// # Safety
/// A `Some` in `slot` must be a mapping of `len` bytes that only this slot refers to.
pub unsafe fn unmap_and_clear(slot: &mut Option<NonNull<u8>>, len: usize) -> nix::Result<()> {
    todo!("lab08_ownership::unmap_and_clear({slot:?}, {len}): munmap, then set the slot to None")
}

/// An owned mapping: unmapped exactly once, on drop or by [`Mapping::unmap`].
pub struct Mapping {
    addr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of fresh, zeroed, private anonymous read-write memory.
    pub fn anonymous(len: usize) -> nix::Result<Mapping> {
        todo!("lab08_ownership::Mapping::anonymous({len}): mmap anonymous private read-write memory")
    }

    /// Takes ownership of the existing mapping `(addr, len)`.
    ///
    /// # Safety
    /// `(addr, len)` must be a readable and writable mapping that nothing else will
    /// use or unmap.
    pub unsafe fn from_raw(addr: NonNull<u8>, len: usize) -> Mapping {
        todo!("lab08_ownership::Mapping::from_raw({addr:p}, {len}): keep the address and the length")
    }

    /// The first byte of the mapping.
    pub fn as_ptr(&self) -> NonNull<u8> {
        todo!(
            "lab08_ownership::Mapping::as_ptr(mapping at {:p}): return the address",
            self.addr
        )
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        todo!(
            "lab08_ownership::Mapping::len(mapping of {} bytes): return the length",
            self.len
        )
    }

    /// Whether the mapping is empty (never, for a real mapping).
    pub fn is_empty(&self) -> bool {
        todo!("lab08_ownership::Mapping::is_empty(mapping of {} bytes)", self.len)
    }

    /// The mapped bytes, borrowed from the mapping.
    pub fn as_slice(&self) -> &[u8] {
        todo!(
            "lab08_ownership::Mapping::as_slice(mapping at {:p}): a slice over the mapping",
            self.addr
        )
    }

    /// The mapped bytes, mutably borrowed from the mapping.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        todo!(
            "lab08_ownership::Mapping::as_mut_slice(mapping at {:p}): a mutable slice",
            self.addr
        )
    }

    /// Unmaps now and returns munmap's result; the mapping is consumed, and dropping it
    /// afterwards must not unmap again.
    pub fn unmap(self) -> nix::Result<()> {
        todo!(
            "lab08_ownership::Mapping::unmap(mapping at {:p}): munmap once, skip the drop",
            self.addr
        )
    }
}

impl Drop for Mapping {
    /// Unmaps the mapping (errors cannot be reported from a drop; use `unmap` to see them).
    fn drop(&mut self) {
        todo!(
            "lab08_ownership::Mapping::drop(mapping at {:p}, {} bytes): munmap it",
            self.addr,
            self.len
        )
    }
}
