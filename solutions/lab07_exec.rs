//! Lab 07 reference solution: fork/execv/_exit, waitpid, a paused child.

use std::ffi::{CStr, c_char};

use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// fork; the child execs `program` (or `_exit(127)`s); the parent returns the child's pid.
pub fn spawn(program: &CStr, argv: &[&CStr]) -> nix::Result<Pid> {
    // Everything the child needs is built before fork: after it, no allocation.
    let mut pointers: Vec<*const c_char> = argv.iter().map(|arg| arg.as_ptr()).collect();
    pointers.push(std::ptr::null());
    // SAFETY: the child calls only execv and _exit, both async-signal-safe.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => unsafe {
            libc::execv(program.as_ptr(), pointers.as_ptr());
            libc::_exit(127)
        },
    }
}

/// waitpid until the child has exited or been killed; EINTR is retried.
pub fn wait_exit(pid: Pid) -> nix::Result<WaitStatus> {
    loop {
        match waitpid(pid, None) {
            Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => return Ok(status),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// fork; the child pauses until killed; the parent returns the child's pid.
pub fn fork_paused() -> nix::Result<Pid> {
    // SAFETY: the child calls only pause(), which is async-signal-safe.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => loop {
            unsafe { libc::pause() };
        },
    }
}
