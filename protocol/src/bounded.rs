//! Runs one untrusted process with a time limit and a cap on its output.
//!
//! The grader runs student code, which may print without end, sleep forever, or leave a
//! daemon behind (`setsid`) that inherited the output pipe and keeps it open long after the
//! test itself is gone. `Command::output()` waits for EOF on that pipe and would hang the
//! grader in each of these cases, so this module watches the child's exit instead of the
//! pipe's end, kills the child's process group, and gives the pipe only a short grace.
//! Output is collected with `poll()` in the calling thread: no helper thread can be left
//! blocked on a read after `run` returns. Depends on std, libc and nix only, so that it can
//! move into a crate shared with other tools.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

/// How long the pipe is still read after the child is gone: long enough for what the child
/// and its killed group wrote last, short enough that a daemon holding the pipe costs little.
const GRACE: Duration = Duration::from_millis(200);
/// How often the child's exit is checked when the kernel has no pidfd to poll (before 5.3).
const TICK: Duration = Duration::from_millis(20);
/// How often an observed child is checked for a stop: neither a pidfd nor the pipe tells
/// when a process stops.
pub const STOP_TICK: Duration = Duration::from_millis(1);
/// Reads per wake-up before the clock is looked at again, so a child that writes faster
/// than we read cannot keep us past the limit.
const READS_PER_WAKE: usize = 16;

/// How a bounded run ended.
#[derive(Debug)]
pub struct Ended {
    /// None when the time limit ran out and the process group was killed.
    pub status: Option<ExitStatus>,
    /// stdout and stderr interleaved, at most `cap` bytes, then
    /// "\n[output truncated at N bytes]\n" appended if more came.
    pub output: Vec<u8>,
    pub truncated: bool,
    pub elapsed: Duration,
}

/// Runs `cmd` in a process group of its own with stdin null and stdout+stderr on one pipe;
/// kills the group (SIGKILL) when `limit` runs out; returns within about limit + 1 s even when
/// a descendant keeps the pipe open (e.g. a `setsid` daemon that inherited it).
///
/// Any `pre_exec` already on `cmd` is kept. Descendants that left the group (`setsid`) are
/// not killed here: that takes a subreaper (see `sandbox::kill_orphans`).
///
/// A child that stops (SIGSTOP) stays stopped until the limit kills it: see [`run_observed`].
pub fn run(cmd: Command, limit: Duration, cap: usize) -> io::Result<Ended> {
    run_with(cmd, limit, cap, None)
}

/// [`run`], for a child that stops itself to be looked at: each time the child (not a
/// descendant) stops, `on_stop` is called with its pid while it is stopped, and then the
/// child is continued (SIGCONT). The time limit holds as in `run`, stops included; a stop
/// is noticed within [`STOP_TICK`].
pub fn run_observed(cmd: Command, limit: Duration, cap: usize, on_stop: &mut dyn FnMut(u32)) -> io::Result<Ended> {
    run_with(cmd, limit, cap, Some(on_stop))
}

/// Waits for `child`, whose output its caller reads (a trusted build streaming its messages
/// to a parser on other threads), as [`run`] waits: the child must have a process group of
/// its own (`process_group(0)`); when `limit` runs out the group is killed (SIGKILL) and
/// the result is None. The group is killed when the child ends either way, and the child
/// is reaped.
pub fn wait(child: &mut Child, limit: Duration) -> io::Result<Option<ExitStatus>> {
    let watched = watch(child, None, Instant::now() + limit, &mut Capped::new(0), None);
    let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    let status = child.wait();
    let watched = watched?;
    let status = status?;
    Ok((!watched.timed_out).then_some(status))
}

fn run_with(mut cmd: Command, limit: Duration, cap: usize, on_stop: Option<&mut dyn FnMut(u32)>) -> io::Result<Ended> {
    let (reader, writer) = io::pipe()?;
    cmd.stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    let start = Instant::now();
    let spawned = cmd.spawn();
    // Our copies of the write end live in `cmd`: drop them so that EOF means every writer
    // is gone.
    drop(cmd);
    let mut child = spawned?;
    let mut output = Capped::new(cap);

    let watched = watch(&child, Some(&reader), start + limit, &mut output, on_stop);
    // Whatever happened, the child is dead or a zombie here or about to be killed, and not
    // reaped yet: its pid still names its group, so killpg cannot hit a recycled pid.
    let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    let status = child.wait();
    let watched = watched?;
    let status = status?;
    if watched.pipe_open {
        drain_for(&reader, GRACE, &mut output);
    }
    Ok(Ended {
        status: (!watched.timed_out).then_some(status),
        truncated: output.truncated(),
        output: output.finish(),
        elapsed: start.elapsed(),
    })
}

struct Watched {
    timed_out: bool,
    pipe_open: bool,
}

/// Reads the pipe (if any) until the child exits (left unreaped) or `deadline` passes; with
/// `on_stop`, reports and continues every stop of the child on the way.
fn watch(
    child: &Child,
    reader: Option<&io::PipeReader>,
    deadline: Instant,
    output: &mut Capped,
    mut on_stop: Option<&mut dyn FnMut(u32)>,
) -> io::Result<Watched> {
    if let Some(reader) = reader {
        set_nonblocking(reader.as_fd())?;
    }
    let pid = Pid::from_raw(child.id() as i32);
    let pidfd = pidfd_open(pid);
    // The pipe while it is open.
    let mut pipe = reader;
    loop {
        if let Some(on_stop) = on_stop.as_deref_mut()
            && has_stopped(pid)?
        {
            // What the child printed up to its stop comes first in the output.
            if let Some(reader) = pipe
                && drain_available(reader, output)?
            {
                pipe = None;
            }
            on_stop(child.id());
            let _ = kill(pid, Signal::SIGCONT);
        }
        if has_exited(pid)? {
            return Ok(Watched {
                timed_out: false,
                pipe_open: pipe.is_some(),
            });
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Watched {
                timed_out: true,
                pipe_open: pipe.is_some(),
            });
        }
        let mut wait = deadline - now;
        if pidfd.is_none() {
            wait = wait.min(TICK);
        }
        if on_stop.is_some() {
            wait = wait.min(STOP_TICK);
        }
        let mut fds = Vec::with_capacity(2);
        if let Some(reader) = pipe {
            fds.push(PollFd::new(reader.as_fd(), PollFlags::POLLIN));
        }
        if let Some(pidfd) = &pidfd {
            fds.push(PollFd::new(pidfd.as_fd(), PollFlags::POLLIN));
        }
        if fds.is_empty() {
            std::thread::sleep(wait);
            continue;
        }
        match poll(&mut fds, timeout_of(wait)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        let pipe_ready = pipe.is_some() && fds[0].any().unwrap_or(true);
        drop(fds);
        if let Some(reader) = pipe.filter(|_| pipe_ready)
            && drain_available(reader, output)?
        {
            pipe = None;
        }
    }
}

/// After the child is gone: reads until EOF or until `grace` has passed, whichever comes
/// first. A surviving descendant may hold the pipe open forever; it does not hold us.
fn drain_for(reader: &io::PipeReader, grace: Duration, output: &mut Capped) {
    let until = Instant::now() + grace;
    loop {
        match drain_available(reader, output) {
            Ok(false) => {}
            Ok(true) | Err(_) => return,
        }
        let now = Instant::now();
        if now >= until {
            return;
        }
        let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout_of(until - now)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// Reads what the pipe holds right now (a bounded number of reads); true at EOF.
fn drain_available(mut reader: &io::PipeReader, output: &mut Capped) -> io::Result<bool> {
    let mut buf = [0u8; 64 * 1024];
    for _ in 0..READS_PER_WAKE {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => output.push(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// Whether `pid` (our child) has exited, without reaping it (WNOWAIT): until it is reaped
/// its pid, and so its process group id, cannot be recycled.
fn has_exited(pid: Pid) -> io::Result<bool> {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    loop {
        match waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::StillAlive) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether `pid` (our child) has stopped since we last asked; the stop is consumed, so
/// each stop is reported once. An exited child has not stopped (a wait for stops alone
/// finds no child then: ECHILD).
fn has_stopped(pid: Pid) -> io::Result<bool> {
    loop {
        match waitid(Id::Pid(pid), WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG) {
            Ok(WaitStatus::Stopped(..)) => return Ok(true),
            Ok(_) | Err(Errno::ECHILD) => return Ok(false),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// A pidfd turns readable when the process exits, so poll() wakes for output and exit
/// alike. None before Linux 5.3; the caller then polls with a short tick.
fn pidfd_open(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    // SAFETY: a non-negative return is a new fd that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Rounds up to whole milliseconds, so that poll does not spin on a sub-millisecond rest.
fn timeout_of(wait: Duration) -> PollTimeout {
    let ms = wait.as_micros().div_ceil(1000);
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
}

/// The first `cap` bytes, and a count of all of them.
struct Capped {
    bytes: Vec<u8>,
    cap: usize,
    total: u64,
}

impl Capped {
    fn new(cap: usize) -> Self {
        Capped {
            bytes: Vec::new(),
            cap,
            total: 0,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        let room = self.cap.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn truncated(&self) -> bool {
        self.total > self.cap as u64
    }

    fn finish(mut self) -> Vec<u8> {
        if self.truncated() {
            let note = format!("\n[output truncated at {} bytes]\n", self.cap);
            self.bytes.extend_from_slice(note.as_bytes());
        }
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::path::PathBuf;

    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        cmd
    }

    fn text(ended: &Ended) -> String {
        String::from_utf8_lossy(&ended.output).into_owned()
    }

    /// A file path unique to this test process and call, for a daemon to leave its pid in.
    fn pid_file(tag: &str) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("munmap-grader-bounded-{}-{tag}-{n}.pid", std::process::id()))
    }

    /// Reads the pid a daemon wrote, waiting up to 2 s for it to get there.
    fn read_pid(path: &PathBuf) -> i32 {
        let start = Instant::now();
        loop {
            if let Ok(s) = std::fs::read_to_string(path)
                && let Ok(pid) = s.trim().parse()
            {
                let _ = std::fs::remove_file(path);
                return pid;
            }
            assert!(start.elapsed() < Duration::from_secs(2), "no pid in {path:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn alive(pid: i32) -> bool {
        // A zombie counts as dead: /proc shows its state as Z.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => {
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                !state.starts_with('Z') && !state.starts_with('X')
            }
            Err(_) => false,
        }
    }

    #[test]
    fn output_is_capped_and_the_child_is_never_blocked() {
        let cap = 64 * 1024;
        let ended = run(
            sh("head -c 5000000 /dev/zero; echo done >&2"),
            Duration::from_secs(10),
            cap,
        )
        .unwrap();
        eprintln!("5 MB capped at {cap}: run returned after {:?}", ended.elapsed);
        // Success proves the child wrote all 5 MB: we kept reading past the cap.
        assert!(ended.status.unwrap().success(), "{ended:?}");
        assert!(ended.truncated);
        let note = format!("\n[output truncated at {cap} bytes]\n");
        assert_eq!(ended.output.len(), cap + note.len());
        assert!(ended.output[..cap].iter().all(|&b| b == 0));
        assert!(ended.output.ends_with(note.as_bytes()));
    }

    #[test]
    fn output_under_the_cap_is_whole_and_interleaved() {
        let ended = run(
            sh("echo out; echo err >&2; echo out2; exit 3"),
            Duration::from_secs(10),
            1024,
        )
        .unwrap();
        assert_eq!(ended.status.unwrap().code(), Some(3));
        assert!(!ended.truncated);
        assert_eq!(text(&ended), "out\nerr\nout2\n");
    }

    #[test]
    fn a_signal_comes_through() {
        let ended = run(sh("kill -SEGV $$"), Duration::from_secs(10), 1024).unwrap();
        assert_eq!(ended.status.unwrap().signal(), Some(libc::SIGSEGV));
    }

    #[test]
    fn a_sleeper_is_killed_at_the_limit() {
        let limit = Duration::from_millis(500);
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let ended = run(cmd, limit, 1024).unwrap();
        eprintln!(
            "sleep 30 with a {limit:?} limit: run returned after {:?}",
            ended.elapsed
        );
        assert!(ended.status.is_none(), "{ended:?}");
        assert!(ended.elapsed >= limit, "{:?}", ended.elapsed);
        assert!(ended.elapsed < limit + Duration::from_secs(1), "{:?}", ended.elapsed);
    }

    #[test]
    fn a_setsid_daemon_holding_the_pipe_does_not_hold_us() {
        let pid_path = pid_file("daemon");
        // The parent waits for the daemon to have left its group: a killpg that came first
        // would take the daemon with it, and the case under test would not happen.
        let mut cmd = sh(r#"
            setsid sh -c 'echo daemon up; echo $$ > "$PID_FILE"; exec sleep 30' &
            while [ ! -s "$PID_FILE" ]; do sleep 0.01; done
            echo parent done; exit 7"#);
        cmd.env("PID_FILE", &pid_path);
        let ended = run(cmd, Duration::from_secs(10), 1024).unwrap();
        let daemon = read_pid(&pid_path);
        let daemon_alive = alive(daemon);
        // SAFETY: kill only sends a signal to the daemon this test started.
        unsafe { libc::kill(daemon, libc::SIGKILL) };
        eprintln!("daemon case: run returned after {:?}", ended.elapsed);
        assert_eq!(ended.status.unwrap().code(), Some(7), "{ended:?}");
        assert!(text(&ended).contains("parent done"), "{ended:?}");
        assert!(ended.elapsed < Duration::from_secs(2), "{:?}", ended.elapsed);
        // Out of the group: killing it is the subreaper's job, not run's.
        assert!(daemon_alive, "the setsid daemon should have outlived run");
    }

    #[test]
    fn a_background_job_in_the_group_is_killed_when_the_child_exits() {
        let pid_path = pid_file("job");
        let mut cmd = sh(r#"sleep 30 & echo $! > "$PID_FILE"; exit 0"#);
        cmd.env("PID_FILE", &pid_path);
        let ended = run(cmd, Duration::from_secs(10), 1024).unwrap();
        let job = read_pid(&pid_path);
        assert!(ended.status.unwrap().success(), "{ended:?}");
        assert!(ended.elapsed < Duration::from_secs(2), "{:?}", ended.elapsed);
        // The job is no child of ours: it is reaped by whoever adopted it, so give that a moment.
        let start = Instant::now();
        while alive(job) && start.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(job), "the job in the child's group should be dead");
    }

    #[test]
    fn each_stop_is_reported_while_stopped_and_continued() {
        let mut seen = Vec::new();
        let mut on_stop = |pid: u32| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(')').next().unwrap_or("").trim_start().chars().next();
            seen.push(state);
        };
        let ended = run_observed(
            sh("echo one; kill -STOP $$; echo two; kill -STOP $$; echo three"),
            Duration::from_secs(10),
            1024,
            &mut on_stop,
        )
        .unwrap();
        assert!(ended.status.unwrap().success(), "{ended:?}");
        assert_eq!(text(&ended), "one\ntwo\nthree\n");
        assert_eq!(seen, [Some('T'), Some('T')], "stopped when reported");
        assert!(ended.elapsed < Duration::from_secs(2), "{:?}", ended.elapsed);
    }

    #[test]
    fn a_child_that_stops_without_end_is_killed_at_the_limit() {
        let limit = Duration::from_millis(500);
        let mut stops = 0;
        let ended = run_observed(sh("while :; do kill -STOP $$; done"), limit, 1024, &mut |_| stops += 1).unwrap();
        assert!(ended.status.is_none(), "{ended:?}");
        assert!(stops > 1, "{stops}");
        assert!(ended.elapsed < limit + Duration::from_secs(1), "{:?}", ended.elapsed);
    }

    #[test]
    fn wait_gives_the_status_or_kills_the_group_at_the_limit() {
        let mut child = sh("exit 4").process_group(0).spawn().unwrap();
        let status = wait(&mut child, Duration::from_secs(10)).unwrap();
        assert_eq!(status.and_then(|s| s.code()), Some(4));
        let mut child = sh("sleep 30").process_group(0).spawn().unwrap();
        assert!(wait(&mut child, Duration::from_millis(500)).unwrap().is_none());
    }

    #[test]
    fn a_pre_exec_of_the_caller_is_kept() {
        let mut cmd = Command::new("true");
        // SAFETY: the closure makes no call at all.
        unsafe { cmd.pre_exec(|| Err(io::Error::from_raw_os_error(libc::EDOM))) };
        let err = run(cmd, Duration::from_secs(10), 1024).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EDOM));
    }
}
