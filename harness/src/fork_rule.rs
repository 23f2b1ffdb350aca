//! The fork rule made visible: which allocator calls a forked child made before it
//! exec'd or ended.
//!
//! After `fork()` in a process with several threads, the child may only call
//! async-signal-safe functions until it execs: another thread may have held the
//! allocator's lock at the moment of the fork, and the child, a copy with that lock
//! taken and nobody left to release it, would wait forever. Whether that happens is
//! luck, so a test cannot wait for the hang; it counts the calls instead.
//!
//! A suite makes [`ChildAllocations`] its `#[global_allocator]` (only a test binary
//! does: lab code cannot, the grader refuses the attribute there). It passes every call
//! to the system allocator and, once [`ChildAllocations::watch`] was called, records each
//! call made by a process other than the one that called `watch` (a forked child) in a
//! `MAP_SHARED` page the parent reads afterwards. Recording takes no lock and allocates
//! nothing, so it is safe in the child, and it happens before the call itself: a child
//! that then hangs on the allocator's lock is still counted. Only Rust's allocator is
//! seen (a `Vec`, a `CString`, a `format!`), not `malloc` called from C.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, Ordering};

/// What a forked child did, in the shared page.
#[repr(C)]
struct Record {
    calls: AtomicU64,
    /// The first call: its kind (1 alloc, 2 realloc, 3 dealloc; 0 none yet) and size in bytes.
    first_kind: AtomicU64,
    first_size: AtomicU64,
}

/// A `#[global_allocator]` that counts the allocator calls of forked children.
pub struct ChildAllocations {
    record: AtomicPtr<Record>,
    parent: AtomicI32,
}

impl Default for ChildAllocations {
    fn default() -> Self {
        Self::new()
    }
}

/// The allocator calls children made since [`ChildAllocations::watch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// How many calls (allocations, reallocations and frees) children made.
    pub calls: u64,
    /// The first of them: what it was and how many bytes it asked for or gave back.
    pub first: Option<(&'static str, u64)>,
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.calls, self.first) {
            (0, _) => write!(f, "no allocator call"),
            (calls, None) => write!(f, "{calls} allocator call(s)"),
            (calls, Some((kind, size))) => write!(f, "{calls} allocator call(s), the first {kind} of {size} bytes"),
        }
    }
}

impl ChildAllocations {
    pub const fn new() -> Self {
        ChildAllocations {
            record: AtomicPtr::new(std::ptr::null_mut()),
            parent: AtomicI32::new(0),
        }
    }

    /// From now on, records the allocator calls of every process other than this one
    /// (its forked children); clears what was recorded before. Call it before forking.
    pub fn watch(&self) {
        let mut record = self.record.load(Ordering::Acquire);
        if record.is_null() {
            // SAFETY: a fresh anonymous shared mapping of one page, never unmapped; a
            // forked child shares it with this process.
            let page = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    std::mem::size_of::<Record>(),
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(
                page,
                libc::MAP_FAILED,
                "mapping the page for children's allocator calls"
            );
            record = page.cast();
        }
        // SAFETY: `record` points at the shared page (zero-filled when new).
        let shared = unsafe { &*record };
        for field in [&shared.calls, &shared.first_kind, &shared.first_size] {
            field.store(0, Ordering::SeqCst);
        }
        self.parent.store(std::process::id() as i32, Ordering::SeqCst);
        self.record.store(record, Ordering::Release);
    }

    /// What the children did since [`watch`](Self::watch) (nothing when it was not called).
    pub fn seen(&self) -> Seen {
        let record = self.record.load(Ordering::Acquire);
        if record.is_null() {
            return Seen { calls: 0, first: None };
        }
        // SAFETY: set by `watch` to the shared page, which is never unmapped.
        let shared = unsafe { &*record };
        let kind = match shared.first_kind.load(Ordering::SeqCst) {
            1 => Some("allocation"),
            2 => Some("reallocation"),
            3 => Some("free"),
            _ => None,
        };
        Seen {
            calls: shared.calls.load(Ordering::SeqCst),
            first: kind.map(|kind| (kind, shared.first_size.load(Ordering::SeqCst))),
        }
    }

    /// Records one call when it comes from a forked child. Allocates nothing, takes no lock.
    fn note(&self, kind: u64, size: usize) {
        let record = self.record.load(Ordering::Acquire);
        if record.is_null() {
            return;
        }
        // getpid() is a system call (glibc caches nothing): a child made by a raw clone counts too.
        if unsafe { libc::getpid() } == self.parent.load(Ordering::Relaxed) {
            return;
        }
        // SAFETY: set by `watch` to the shared page, which is never unmapped.
        let shared = unsafe { &*record };
        if shared.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            shared.first_size.store(size as u64, Ordering::SeqCst);
            shared.first_kind.store(kind, Ordering::SeqCst);
        }
    }
}

// SAFETY: every call goes to the system allocator unchanged; `note` only counts.
unsafe impl GlobalAlloc for ChildAllocations {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.note(1, layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.note(1, layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.note(2, new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.note(3, layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_the_calls_of_a_forked_child() {
        static WATCH: ChildAllocations = ChildAllocations::new();
        assert_eq!(WATCH.seen(), Seen { calls: 0, first: None });
        WATCH.watch();
        let layout = Layout::from_size_align(24, 8).unwrap();
        // In this process: not counted.
        unsafe { WATCH.dealloc(WATCH.alloc(layout), layout) };
        assert_eq!(WATCH.seen().calls, 0);
        // SAFETY: the child calls only WATCH (no lock, no allocation) and _exit.
        match unsafe { libc::fork() } {
            0 => unsafe {
                WATCH.note(1, 24);
                WATCH.note(3, 24);
                libc::_exit(0)
            },
            -1 => panic!("fork failed"),
            child => {
                let mut status = 0;
                assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
            }
        }
        let seen = WATCH.seen();
        assert_eq!(
            seen,
            Seen {
                calls: 2,
                first: Some(("allocation", 24))
            }
        );
        assert_eq!(
            seen.to_string(),
            "2 allocator call(s), the first allocation of 24 bytes"
        );
        WATCH.watch();
        assert_eq!(WATCH.seen().calls, 0, "watch starts again from nothing");
    }
}
