//! What a lab call returned, in words that are the same in every process that gets it
//! right, for the grader.
//!
//! A test checks what lab code returns inside its own process, where lab code could
//! reach the check. So a witnessed test also tells the grader each value
//! [`expect::call`](crate::expect::call) saw (a note, [`protocol::RETURNED_NOTE`]), and the grader
//! holds them to the reference solution's under the same draw, value for value.
//! Addresses are named by their window page, as the maps view names them.

use std::ptr::NonNull;

use munmap_lab_protocol as protocol;

/// A value as the grader compares it.
pub trait Returned {
    fn shown(&self) -> String;
}

/// Tells the grader what the call `call` returned, when it witnesses this process.
pub(crate) fn tell(call: &str, value: &impl Returned) {
    if super::witness::base().is_some() {
        super::note(format!("{}{call}: {}", protocol::RETURNED_NOTE, value.shown()));
    }
}

/// `window page 3`, `window page 3 + 1 bytes`, or `an address outside the window`.
fn address(addr: usize) -> String {
    let Some(base) = super::witness::base() else {
        return format!("{addr:#x}");
    };
    let page = protocol::page_size();
    match addr.checked_sub(base) {
        Some(offset) if offset < protocol::pages(protocol::WITNESS_PAGES) => match offset % page {
            0 => format!("window page {}", offset / page),
            bytes => format!("window page {} + {bytes} bytes", offset / page),
        },
        _ => "an address outside the window".to_string(),
    }
}

impl Returned for () {
    fn shown(&self) -> String {
        "()".to_string()
    }
}

impl Returned for usize {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Returned for u64 {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Returned for bool {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Returned for NonNull<u8> {
    fn shown(&self) -> String {
        address(self.as_ptr() as usize)
    }
}

impl<A: Returned, B: Returned> Returned for (A, B) {
    fn shown(&self) -> String {
        format!("({}, {})", self.0.shown(), self.1.shown())
    }
}

impl<T: Returned, const N: usize> Returned for [T; N] {
    fn shown(&self) -> String {
        let items: Vec<String> = self.iter().map(Returned::shown).collect();
        format!("[{}]", items.join(", "))
    }
}

impl<T: Returned> Returned for nix::Result<T> {
    fn shown(&self) -> String {
        match self {
            Ok(value) => format!("Ok({})", value.shown()),
            Err(errno) => format!("Err({errno:?})"),
        }
    }
}

/// A child's status without its pid, which differs from run to run (lab07 checks the
/// pid against the kernel's list of this process's children).
impl Returned for nix::sys::wait::WaitStatus {
    fn shown(&self) -> String {
        use nix::sys::wait::WaitStatus;
        match *self {
            WaitStatus::Exited(_, code) => format!("Exited(the child, {code})"),
            WaitStatus::Signaled(_, signal, core) => format!("Signaled(the child, {signal:?}, core dumped: {core})"),
            WaitStatus::Stopped(_, signal) => format!("Stopped(the child, {signal:?})"),
            WaitStatus::Continued(_) => "Continued(the child)".to_string(),
            WaitStatus::StillAlive => "StillAlive".to_string(),
            _ => "(a ptrace event of the child)".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_the_same_in_every_process() {
        let ok: nix::Result<(usize, u64)> = Ok((3, 4));
        assert_eq!(ok.shown(), "Ok((3, 4))");
        let err: nix::Result<()> = Err(nix::errno::Errno::EINVAL);
        assert_eq!(err.shown(), "Err(EINVAL)");
        assert_eq!([1usize, 2].shown(), "[1, 2]");
        let pid = nix::unistd::Pid::from_raw(4242);
        assert_eq!(
            nix::sys::wait::WaitStatus::Exited(pid, 3).shown(),
            "Exited(the child, 3)"
        );
    }
}
