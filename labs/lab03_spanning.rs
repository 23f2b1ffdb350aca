//! # Lab 03: one munmap over many mappings
//!
//! `munmap()` works on a range of addresses, not on "a mapping". Whatever lies in
//! the range goes: mappings made by different `mmap()` calls, of different kinds
//! and protections, the unused parts of a reservation, and the holes between them
//! (which are simply skipped). A range longer than the mappings in it is fine.
//!
//! Runtimes and allocators use this. They reserve a large range up front with
//! `PROT_NONE` (address space, no memory), place real mappings inside it with
//! `MAP_FIXED`, and give it all back at the end with a single call:
//!
//! ```text
//!   reservation  |---------------------------------------------|  PROT_NONE
//!   overlaid     |rw anon |file r--| PROT_NONE |r-- anon|rw anon|
//!   munmap(start of the reservation, its whole length)
//!   afterwards   |                 nothing                     |
//! ```
//!
//! One call is also one decision. The kernel checks the whole range before it
//! removes anything: if some mapping in it may not be removed (one sealed with
//! `mseal()`, Linux 6.10+), the call fails with `EPERM` and every mapping stays.
//! Unmapping piece by piece would leave you half-released, holding pieces you no
//! longer know about.
//!
//! You get only the range. You do not need to know what is inside it, and you
//! should not look: the kernel already knows.

use std::ptr::NonNull;

/// Removes everything mapped in `[addr, addr + len)` with ONE `munmap()` call,
/// whatever the range holds, and returns the kernel's error unchanged if it refuses.
///
/// # Safety
/// Every mapping in the range must belong to the caller, and nothing may use any
/// address in the range afterwards.
pub unsafe fn release_range(addr: NonNull<u8>, len: usize) -> nix::Result<()> {
    todo!("lab03_spanning::release_range({addr:p}, {len}): one munmap over the whole range")
}
