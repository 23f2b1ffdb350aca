//! The grader's own child processes: those another part of the grader owns and waits
//! for (the build going on beside the reference solutions' tests) are kept, every other
//! child (what a test process left behind) is killed between tests. The build and the
//! judge both start children, so this sits below both.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::process::{Child, Command};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

/// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER): orphaned descendants of the
/// test processes (a double-forked `setsid` daemon) become our children.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag of this process.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Rounds of kill-and-reap before giving up on a process that keeps forking faster.
const KILL_ROUNDS: usize = 1000;

/// Children another part of the grader owns and waits for while tests run (the build of the
/// source to grade, going on beside the reference solutions' tests): [`kill_orphans`] leaves
/// them alone. Locked while one is spawned and while orphans are killed, so no kept child is
/// ever seen before it is registered.
static KEPT: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// A child spawned with [`spawn_kept`]; no longer kept once dropped (after it was waited for).
pub struct KeptChild(Child);

impl std::ops::Deref for KeptChild {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for KeptChild {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KeptChild {
    fn drop(&mut self) {
        kept().remove(&self.0.id());
    }
}

fn kept() -> std::sync::MutexGuard<'static, BTreeSet<u32>> {
    KEPT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spawns `cmd` as a child that [`kill_orphans`] leaves alone until it is dropped.
pub fn spawn_kept(cmd: &mut Command) -> io::Result<KeptChild> {
    let mut kept = kept();
    let child = cmd.spawn()?;
    kept.insert(child.id());
    Ok(KeptChild(child))
}

/// SIGKILLs and reaps every child of this process except those spawned with [`spawn_kept`],
/// repeating until none is left (their own orphans reparent to us in turn); returns how
/// many were killed.
///
/// Every other child counts, whoever started it: a child another part of the grader still
/// owns while this runs must be spawned kept. Call this when no spawn of this thread is in flight.
pub fn kill_orphans() -> usize {
    let kept = kept();
    let mut killed = 0;
    for _ in 0..KILL_ROUNDS {
        let targets: Vec<(u32, char)> = children().into_iter().filter(|(pid, _)| !kept.contains(pid)).collect();
        if targets.is_empty() {
            break;
        }
        for &(pid, state) in &targets {
            let dead = matches!(state, 'Z' | 'X');
            if !dead && kill(Pid::from_raw(pid as i32), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
        for &(pid, _) in &targets {
            while let Err(Errno::EINTR) = waitpid(Pid::from_raw(pid as i32), None) {}
        }
    }
    killed
}

/// The children of this process, with their state letter from /proc/PID/stat.
pub fn children() -> Vec<(u32, char)> {
    let me = std::process::id();
    let Ok(proc) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    proc.flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
            let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid: u32 = fields.next()?.parse().ok()?;
            (ppid == me).then_some((pid, state))
        })
        .collect()
}
