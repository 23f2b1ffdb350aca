//! Child processes in a test: waits with a deadline of their own, and another
//! process's address space seen from outside.
//!
//! The harness kills a whole test after 10 s, but a lab's fork/exec/wait code that
//! hangs deserves a better message than "timed out". So every wait on a lab's child
//! gets [`CHILD_DEADLINE`]: when it runs out, the child is killed and the test fails
//! saying which step never happened.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;

use super::maps::MapsView;

/// How long a test waits for one step of a child process (start, report, exit).
pub const CHILD_DEADLINE: Duration = Duration::from_secs(3);

/// Runs `wait` (lab code that waits for `pid`) on a thread of its own and returns its
/// result. When it has not returned within `limit`, kills `pid` with SIGKILL and fails
/// the test with `what` (e.g. "wait_exit returned").
#[track_caller]
pub fn within<T: Send + 'static>(
    limit: Duration,
    pid: Pid,
    what: &str,
    wait: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(wait());
    });
    match receiver.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let _ = kill(pid, Signal::SIGKILL);
            panic!(
                "gave up after {:.0} s waiting for child process {pid}; expected: {what}. The child was killed. \
                 A child that never execs or never exits keeps its parent waiting: check that the child calls \
                 execv (and _exit if execv fails) and that the parent waits for the right pid.",
                limit.as_secs_f64()
            )
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the lab code waiting for child {pid} panicked (see above)")
        }
    }
}

/// Asks `check` every 2 ms until it answers `Some`, for at most `limit` (it is asked at
/// least once, even with a zero limit); `None` when time ran out first.
pub fn poll_until<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(answer) = check() {
            return Some(answer);
        }
        if started.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Polls `pid` (without blocking) until it ends, for at most `limit`; `None` if it is
/// still running then. Reaps it, so use it only for children the lab does not wait for.
pub fn reap_within(pid: Pid, limit: Duration) -> Option<WaitStatus> {
    poll_until(limit, || match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::EINTR) => None,
        Ok(status) => Some(status),
        Err(e) => panic!("waitpid({pid}) failed: {e}"),
    })
}

/// Waits until `pid` has exited but is not reaped yet (a zombie), for at most `limit`.
/// `waitid(WNOWAIT)` leaves the exit status for the lab's own wait to collect.
pub fn exited_unreaped(pid: Pid, limit: Duration) -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG;
    poll_until(limit, || match waitid(Id::Pid(pid), flags) {
        Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::EINTR) => None,
        Ok(_) => Some(()),
        Err(e) => panic!("waitid({pid}, WNOWAIT) failed: {e}"),
    })
    .is_some()
}

/// Polls until `path` exists, for at most `limit`.
pub fn file_appears(path: &Path, limit: Duration) -> bool {
    poll_until(limit, || path.exists().then_some(())).is_some()
}

/// Whether thread `tid` of this process is asleep waiting for a child, in `wait4` or
/// `waitid` (the system calls behind every `waitpid`, `wait` and `waitid`), as
/// `/proc/self/task/TID/syscall` shows it. On a kernel without that file: whether the
/// thread is asleep at all (state `S` in its `stat`).
pub fn asleep_in_wait(tid: libc::pid_t) -> bool {
    let task = format!("/proc/self/task/{tid}");
    if let Ok(text) = std::fs::read_to_string(format!("{task}/syscall")) {
        // "NR arg1 ... sp pc" while the thread sleeps in a system call; "running" otherwise.
        let nr = text
            .split_whitespace()
            .next()
            .and_then(|nr| nr.parse::<libc::c_long>().ok());
        return matches!(nr, Some(nr) if nr == libc::SYS_wait4 || nr == libc::SYS_waitid);
    }
    // "TID (comm) S ...": the state follows the last ')'.
    std::fs::read_to_string(format!("{task}/stat"))
        .ok()
        .and_then(|stat| Some(stat.rsplit_once(')')?.1.split_whitespace().next()? == "S"))
        .unwrap_or(false)
}

/// Whether `/proc/PID` exists: a process that was reaped has none (a zombie still has one).
pub fn process_exists(pid: Pid) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The window of `window_pages` pages at `start` in process `pid`'s address space, read
/// from `/proc/PID/smaps` in one pass; `None` once the process has been reaped. A
/// process that exited but is not reaped yet has no mappings at all.
pub fn maps_of(pid: Pid, start: u64, window_pages: usize) -> Option<MapsView> {
    MapsView::of_process(pid.as_raw() as u32, start, window_pages).ok()
}

/// The window of `window_pages` pages at `start`, from smaps text another process wrote.
pub fn view_from_smaps(text: &[u8], start: u64, window_pages: usize) -> MapsView {
    let maps = super::smaps::parse(text).expect("parsing smaps text");
    MapsView::from_maps(&maps, start, window_pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::zombie_processes, reason = "reaped by pid with reap_within")]
    fn maps_of_a_reaped_process_is_none() {
        let child = std::process::Command::new("true").spawn().expect("spawning true");
        let pid = Pid::from_raw(child.id() as i32);
        assert!(exited_unreaped(pid, CHILD_DEADLINE));
        assert!(process_exists(pid), "a zombie still has /proc/PID");
        let view = maps_of(pid, 0x10_0000, 1).expect("a zombie's smaps can be read");
        assert!(view.is_unmapped(0), "a process that exited has no mappings");
        assert!(matches!(
            reap_within(pid, CHILD_DEADLINE),
            Some(WaitStatus::Exited(_, 0))
        ));
        assert!(maps_of(pid, 0x10_0000, 1).is_none());
    }

    #[test]
    #[allow(clippy::zombie_processes, reason = "reaped by pid with reap_within")]
    fn a_thread_blocked_in_waitpid_is_seen_asleep_in_wait() {
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawning sleep");
        let pid = Pid::from_raw(child.id() as i32);
        let (sender, tid) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            sender.send(nix::unistd::gettid().as_raw()).unwrap();
            waitpid(pid, None)
        });
        let tid = tid.recv().unwrap();
        let started = Instant::now();
        while !asleep_in_wait(tid) {
            assert!(
                started.elapsed() < CHILD_DEADLINE,
                "the waiting thread never showed asleep in wait4"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        kill(pid, Signal::SIGKILL).unwrap();
        assert!(matches!(
            waiter.join().unwrap(),
            Ok(WaitStatus::Signaled(_, Signal::SIGKILL, _))
        ));
        assert!(
            !asleep_in_wait(nix::unistd::gettid().as_raw()),
            "this thread is running"
        );
    }

    #[test]
    #[allow(clippy::zombie_processes, reason = "reaped by pid with reap_within")]
    fn within_kills_a_child_that_never_ends() {
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawning sleep");
        let pid = Pid::from_raw(child.id() as i32);
        let result = std::panic::catch_unwind(|| {
            within(Duration::from_millis(100), pid, "sleep ended", move || {
                std::thread::sleep(Duration::from_secs(30))
            })
        });
        assert!(result.is_err(), "within() must fail when the wait does not return");
        assert!(matches!(
            reap_within(pid, CHILD_DEADLINE),
            Some(WaitStatus::Signaled(_, Signal::SIGKILL, _))
        ));
    }
}
