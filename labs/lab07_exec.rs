//! # Lab 07: mappings end at exec and at exit
//!
//! Nobody has to unmap memory before a process ends or replaces itself:
//!
//! - `execve()` throws the whole address space away and builds a new one for the new
//!   program. Whatever was mapped before, at whatever address, is gone: the new image
//!   finds nothing there.
//! - When a process exits, the kernel unmaps everything it had. A process that has
//!   exited but not yet been waited for (a zombie) still has a `/proc/PID`, but no
//!   mappings; once its parent waits for it, `/proc/PID` is gone too.
//! - `fork()` copies every mapping into the child, but not the memory locks: `mlock`
//!   belongs to the process that called it.
//!
//! You write the classic fork/exec/wait code. One rule matters more than any other:
//! after `fork()` in a program with several threads (every test is one), the child may
//! only call async-signal-safe functions until it execs, because another thread may
//! have held a lock (the allocator's, say) at the moment of the fork. So build every
//! argument, `CString` and pointer array *before* forking; in the child call only
//! `libc::execv` and, if that returns (it failed), `_exit(127)`, the shell's "command
//! could not be run" status. Never return from the child into the parent's code.
//! (`nix::unistd::execv` is not safe there: it builds its pointer array, a `Vec`, in the
//! child. The tests count every allocation a child makes before it execs.)
//!
//! Waiting has a trap of its own: a signal that arrives while `waitpid` blocks, with a
//! handler installed without `SA_RESTART`, makes it fail with `EINTR`. That says nothing
//! about the child, which is still running: wait again.
//!
//! ```text
//!   parent ──fork()──> child ──execv(program)──> new image (nothing of the old mappings)
//!      └──────── waitpid(child) <──── exit ───────┘   (its mappings went at exit)
//! ```
//!
//! Useful calls: `nix::unistd::{fork, ForkResult}`, `libc::{execv, _exit, pause}`,
//! `nix::sys::wait::{waitpid, WaitStatus}`.

use std::ffi::CStr;

use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

/// Starts `program` in a child process: `fork()`, then in the child `execv(program,
/// argv)`, and `_exit(127)` if the exec fails. Returns the child's pid at once, without
/// waiting for it. `argv[0]` is the program's name as the program sees it.
pub fn spawn(program: &CStr, argv: &[&CStr]) -> nix::Result<Pid> {
    todo!("lab07_exec::spawn({program:?}, {argv:?}): fork; in the child execv, and _exit(127) if it fails")
}

/// Waits until the child `pid` has ended and returns how: `WaitStatus::Exited(pid,
/// code)` or `WaitStatus::Signaled(..)`. A wait interrupted by a signal (`EINTR`) is
/// simply retried.
pub fn wait_exit(pid: Pid) -> nix::Result<WaitStatus> {
    todo!("lab07_exec::wait_exit({pid}): waitpid until the child exits or is killed")
}

/// Forks a child that does nothing but wait (`pause()` in a loop) until it is killed,
/// and returns its pid. The child is a copy of this process: same mappings, same
/// contents.
pub fn fork_paused() -> nix::Result<Pid> {
    todo!("lab07_exec::fork_paused(): fork; the child pauses forever, the parent returns the child's pid")
}
