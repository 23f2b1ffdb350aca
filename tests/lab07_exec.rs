//! Lab 07: no mapping survives execve, a child's mappings go when it exits, and
//! fork does not copy memory locks; the fork/exec/wait code itself keeps the fork rule
//! (no allocation in the child) and survives a signal during the wait.
//!
//! The children exec `munmap-lab-probe` (built by cargo with this suite), a fresh
//! program that reports its own maps. Every wait on a child has a deadline of its own
//! (3 s): a child that never execs or never exits is killed and fails only its test,
//! saying what never happened.

use std::ffi::{CStr, CString};
use std::os::unix::thread::JoinHandleExt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use munmap_lab::lab07_exec::{fork_paused, spawn, wait_exit};
use munmap_lab_harness::children::{
    CHILD_DEADLINE, asleep_in_wait, exited_unreaped, maps_of, poll_until, process_exists, reap_within, view_from_smaps,
    within,
};
use munmap_lab_harness::fork_rule::ChildAllocations;
use munmap_lab_harness::memlock::lock_or_skip;
use munmap_lab_harness::probe_program::{HOLD, SMAPS};
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{Slot, Story, expect, isolated, note, pages, skip};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use rstest::rstest;
use serial_test::serial;

/// Every allocator call of this test binary goes through it; it records those a forked
/// child makes (see `munmap_lab_harness::fork_rule`) once a test calls `watch()`.
#[global_allocator]
static ALLOCATOR: ChildAllocations = ChildAllocations::new();

/// A rarely used address (264 GiB): far below where the kernel places mmaps, libraries
/// and stacks, and inside even a 39-bit (512 GiB) user address space. Both the test and
/// the fresh program image look at the same window there.
const FIXED: usize = 0x42_0000_0000;
const MAPPING_PAGES: usize = 4;
/// The window at [`FIXED`]: the mapping's slot and a guard page on either side.
const WINDOW: usize = MAPPING_PAGES + 2;

fn cstring(text: &str) -> CString {
    CString::new(text).expect("no NUL bytes in a path")
}

/// The probe program and its arguments (argv[0] first).
fn probe(args: &[&str]) -> (CString, Vec<CString>) {
    let program = cstring(env!("CARGO_BIN_EXE_munmap-lab-probe"));
    let mut argv = vec![program.clone()];
    argv.extend(args.iter().map(|a| cstring(a)));
    (program, argv)
}

fn refs(argv: &[CString]) -> Vec<&CStr> {
    argv.iter().map(CString::as_c_str).collect()
}

/// Waits for `pid` with the lab's `wait_exit`, for at most the child deadline.
fn wait_for(pid: Pid, what: &str) -> WaitStatus {
    within(CHILD_DEADLINE, pid, what, move || wait_exit(pid))
        .unwrap_or_else(|e| panic!("wait_exit({pid}) failed with {e}: waitpid on the child's own pid should succeed"))
}

/// Exit status of a child that came back from the lab function into the test's code.
const RETURNED_IN_CHILD: i32 = 70;

/// Ends at once a forked child that returned from `function` into the test's code
/// (the lab code should have exec'd, paused or `_exit`ed there).
fn only_in_the_parent(parent: u32, function: &str) {
    if std::process::id() != parent {
        eprintln!(
            "{function} returned in the child process too: the child must exec (or pause) and never return into \
             the parent's code; this child now exits with status {RETURNED_IN_CHILD}"
        );
        unsafe { libc::_exit(RETURNED_IN_CHILD) };
    }
}

/// Whether the probe wrote `ready` before the child ended or the deadline passed.
fn probe_reported(ready: &std::path::Path, pid: Pid) -> bool {
    poll_until(CHILD_DEADLINE, || {
        if ready.exists() {
            Some(true)
        } else if exited_unreaped(pid, Duration::ZERO) {
            Some(ready.exists())
        } else {
            None
        }
    })
    .unwrap_or(false)
}

fn fixed_slot_or_skip() -> Slot {
    Slot::at(FIXED, MAPPING_PAGES).unwrap_or_else(|e| {
        skip(format!(
            "cannot reserve the fixed window at {FIXED:#x} here ({e}): the address space is too small or in use"
        ))
    })
}

#[rstest]
#[serial]
fn exec_leaves_nothing_of_the_old_mappings() {
    isolated(|| {
        let slot = fixed_slot_or_skip();
        slot.map_filled(MAPPING_PAGES, |_| b'E');
        let mut story = Story::new(format!(
            "this process maps 4 pages at a fixed address ({}); its child, a copy with the same \
             mappings, execs a probe program, whose fresh image has nothing in that window",
            slot.shown()
        ));
        story.step("this process, before spawn", &slot.view());

        let dir = scratch_dir!();
        let out = dir.path().join("after-exec.smaps");
        let (program, argv) = probe(&[SMAPS, out.to_str().expect("UTF-8 path")]);
        let parent = std::process::id();
        let pid = spawn(&program, &refs(&argv)).expect("spawn should fork a child");
        only_in_the_parent(parent, "spawn");
        let status = wait_for(pid, "the child ran the probe and exited, and wait_exit returned");

        assert_eq!(
            status,
            WaitStatus::Exited(pid, 0),
            "the probe program exits 0 after writing its report; 127 means execv failed and the child \
             called _exit(127) (is argv passed with a NULL at the end?); {RETURNED_IN_CHILD} means spawn \
             returned in the child"
        );
        let report = std::fs::read(&out).unwrap_or_else(|e| {
            panic!(
                "the child exited without the probe's report ({e}): it never exec'd the probe program. \
                 In the child, call execv(program, argv) and nothing else."
            )
        });
        let after = view_from_smaps(&report, FIXED as u64, WINDOW);
        story.step("the child after execve (the new image's own /proc/self/smaps)", &after);
        expect::unmapped(
            &after,
            0..WINDOW,
            "execve replaces the whole address space: no mapping of the old image survives",
        );
        let view = slot.view();
        expect::mapped(
            &view,
            slot.all(),
            "rw-p",
            "a child's exec does not touch its parent's mappings",
        );
        story.step("this process, after the child exited", &view);
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn a_child_that_cannot_exec_exits_127() {
    isolated(|| {
        let missing = cstring("/nonexistent/munmap-lab/no-such-program");
        let parent = std::process::id();
        let pid = spawn(&missing, &[missing.as_c_str()]).expect("spawn should fork even if the exec will fail");
        only_in_the_parent(parent, "spawn");
        let status = wait_for(pid, "the child whose execv failed exited, and wait_exit returned");
        assert_eq!(
            status,
            WaitStatus::Exited(pid, 127),
            "when execv fails in the child, the child must end at once with _exit(127); it must never \
             return into the parent's code ({RETURNED_IN_CHILD} means it did)"
        );
    });
}

#[rstest]
#[serial]
fn a_child_mappings_end_when_it_exits() {
    isolated(|| {
        let dir = scratch_dir!();
        let ready = dir.path().join("ready");
        let first = format!("{:#x}", FIXED + pages(Slot::START));
        let count = MAPPING_PAGES.to_string();
        let (program, argv) = probe(&[HOLD, &first, &count, ready.to_str().expect("UTF-8 path")]);
        let parent = std::process::id();
        let pid = spawn(&program, &refs(&argv)).expect("spawn should fork a child");
        only_in_the_parent(parent, "spawn");
        if !probe_reported(&ready, pid) {
            let _ = kill(pid, Signal::SIGKILL);
            panic!(
                "the child never started the probe program (no report within {:.0} s, or it exited first): spawn \
                 must execv the program in the child",
                CHILD_DEADLINE.as_secs_f64()
            );
        }
        let said = std::fs::read_to_string(&ready).unwrap_or_default();
        if said.starts_with("error") {
            let _ = kill(pid, Signal::SIGKILL);
            skip(format!("the probe could not map its pages at {first} here: {said}"));
        }
        let mut story = Story::new(
            "a child execs a probe that maps 4 pages at window pages 1-4 of a fixed window, then exits: \
             its /proc/PID/smaps shows them while it lives, nothing once it has exited, and /proc/PID \
             goes when its parent waits for it",
        );
        let alive = maps_of(pid, FIXED as u64, WINDOW).expect("the child is alive, so /proc/PID exists");
        story.step("the child while it lives (read from its /proc/PID/smaps)", &alive);
        let slot_pages = Slot::START..Slot::START + MAPPING_PAGES;
        expect::mapped(&alive, slot_pages, "rw-p", "the probe mapped these pages");

        std::fs::remove_file(&ready).expect("releasing the probe");
        assert!(
            exited_unreaped(pid, CHILD_DEADLINE),
            "the probe did not exit within {:.0} s of being released",
            CHILD_DEADLINE.as_secs_f64()
        );
        let zombie = maps_of(pid, FIXED as u64, WINDOW).expect("an exited child stays in /proc until waited for");
        story.step(
            "the child after it exited, before its parent waited (a zombie)",
            &zombie,
        );
        expect::unmapped(&zombie, 0..WINDOW, "a process's mappings go when it exits");

        let status = wait_for(pid, "wait_exit returned for a child that had already exited");
        assert_eq!(status, WaitStatus::Exited(pid, 0), "the probe exits 0 when released");
        assert!(
            !process_exists(pid),
            "after wait_exit, /proc/{pid} should be gone: waiting for a child is what removes it"
        );
        story.fact("after wait_exit: /proc/PID no longer exists");
        story.assert_snapshot();
    });
}

#[rstest]
#[serial]
fn a_lock_does_not_survive_fork() {
    isolated(|| {
        let slot = Slot::new(MAPPING_PAGES);
        let addr: NonNull<u8> = slot.map_filled(MAPPING_PAGES, |_| b'F');
        unsafe { lock_or_skip(addr, pages(MAPPING_PAGES)) };
        let mut story = Story::new(format!(
            "this process locks a 4-page mapping at {} and forks a paused child: the child has \
             the same mapping, unlocked; the parent's lock stays",
            slot.shown()
        ));

        let parent = std::process::id();
        let pid = fork_paused().expect("fork_paused should fork a child");
        only_in_the_parent(parent, "fork_paused");
        let in_child = maps_of(pid, slot.arena().page(0).as_ptr() as u64, slot.window_pages());
        let child_vm_lck = procfs::process::Process::new(pid.as_raw())
            .and_then(|c| c.status())
            .ok()
            .and_then(|s| s.vmlck);
        let state = procfs::process::Process::new(pid.as_raw())
            .and_then(|c| c.stat())
            .map(|s| s.state)
            .ok();
        let (Some(in_child), Some(child_vm_lck)) = (in_child, child_vm_lck) else {
            let _ = kill(pid, Signal::SIGKILL);
            panic!("the child of fork_paused ended at once (state {state:?}); it should pause until it is killed")
        };
        if state.is_none_or(|s| s == 'Z') {
            let _ = kill(pid, Signal::SIGKILL);
            panic!("the child of fork_paused ended at once (state {state:?}); it should pause until it is killed");
        }
        let in_parent = slot.view();
        story.step("this process after fork", &in_parent);
        story.step("the paused child (read from its /proc/PID/smaps)", &in_child);
        expect::mapped(
            &in_child,
            slot.all(),
            "rw-p",
            "fork copies every mapping into the child",
        );
        assert!(
            in_child.locked_pages().is_empty(),
            "the child's pages should not be locked: mlock is not inherited across fork.\nthe child's window:\n{in_child}"
        );
        assert_eq!(
            child_vm_lck, 0,
            "the child's VmLck should be 0 kB: locks are not inherited"
        );
        assert_eq!(
            in_parent.locked_pages(),
            slot.all().collect::<Vec<_>>(),
            "the parent's lock is its own and stays after fork.\n{in_parent}"
        );

        kill(pid, Signal::SIGKILL).expect("killing the paused child");
        let status = wait_for(pid, "wait_exit returned for a child killed with SIGKILL");
        assert!(
            matches!(status, WaitStatus::Signaled(p, Signal::SIGKILL, _) if p == pid),
            "wait_exit should report that the child was killed by SIGKILL, but returned {status:?}"
        );
        story.assert_snapshot();
    });
}

/// How a test makes its child, with everything it needs built before the fork.
#[derive(Clone, Copy, Debug)]
enum Forking {
    /// `spawn` of the probe program, which execs and exits 0.
    Spawn,
    /// `spawn` of a program that does not exist: execv fails, the child `_exit`s 127.
    SpawnWhoseExecFails,
    /// `fork_paused`: the child pauses until it is killed.
    ForkPaused,
}

#[rstest]
#[serial]
#[case::spawn(Forking::Spawn)]
#[case::spawn_whose_exec_fails(Forking::SpawnWhoseExecFails)]
#[case::fork_paused(Forking::ForkPaused)]
fn a_forked_child_allocates_nothing(#[case] forking: Forking) {
    isolated(|| {
        let dir = scratch_dir!();
        let out = dir.path().join("after-exec.smaps");
        let (program, argv) = match forking {
            Forking::Spawn => probe(&[SMAPS, out.to_str().expect("UTF-8 path")]),
            _ => {
                let missing = cstring("/nonexistent/munmap-lab/no-such-program");
                (missing.clone(), vec![missing])
            }
        };
        let argv = refs(&argv);
        let parent = std::process::id();

        // From here, every allocator call a forked child makes is recorded.
        ALLOCATOR.watch();
        let forked = match forking {
            Forking::Spawn | Forking::SpawnWhoseExecFails => spawn(&program, &argv),
            Forking::ForkPaused => fork_paused(),
        };
        if std::process::id() != parent {
            // The lab function returned in the child (a_child_that_cannot_exec_exits_127 and
            // a_lock_does_not_survive_fork say so): end it without a single allocation.
            unsafe { libc::_exit(RETURNED_IN_CHILD) };
        }
        let pid = forked.expect("the lab function should fork a child");
        let status = match forking {
            Forking::Spawn => wait_for(pid, "the child ran the probe and exited, and wait_exit returned"),
            Forking::SpawnWhoseExecFails => {
                wait_for(pid, "the child whose execv failed exited, and wait_exit returned")
            }
            Forking::ForkPaused => {
                // Whatever the child does before it pauses is done once it sleeps (or has ended).
                poll_until(CHILD_DEADLINE, || {
                    let state = procfs::process::Process::new(pid.as_raw())
                        .and_then(|child| child.stat())
                        .map(|stat| stat.state);
                    matches!(state, Ok('S' | 'Z') | Err(_)).then_some(())
                });
                let _ = kill(pid, Signal::SIGKILL);
                wait_for(pid, "wait_exit returned for a child killed with SIGKILL")
            }
        };

        let seen = ALLOCATOR.seen();
        assert!(
            seen.calls == 0,
            "between fork and exec (or its end: it ended as {status:?}) the child made {seen}. After fork in a \
             program with threads the child may call only async-signal-safe functions: another thread may have held \
             the allocator's lock at the fork, and the child would wait for it forever. Build every CString and the \
             NULL-terminated pointer array before fork; in the child call only libc::execv and libc::_exit (or \
             pause). nix::unistd::execv, format!, a Vec or a CString allocate."
        );
    });
}

/// How many times this process's SIGUSR1 handler ran.
static INTERRUPTS: AtomicU32 = AtomicU32::new(0);

extern "C" fn count_interrupt(_: libc::c_int) {
    INTERRUPTS.fetch_add(1, Ordering::SeqCst);
}

/// Polls `done` for at most the child deadline; whether it came true.
fn comes_true(mut done: impl FnMut() -> bool) -> bool {
    poll_until(CHILD_DEADLINE, || done().then_some(())).is_some()
}

#[rstest]
#[serial]
fn wait_exit_retries_a_wait_interrupted_by_a_signal() {
    isolated(|| {
        // A handler installed without SA_RESTART: a waitpid it interrupts fails with EINTR
        // instead of being restarted by the kernel.
        let action = SigAction::new(SigHandler::Handler(count_interrupt), SaFlags::empty(), SigSet::empty());
        unsafe { sigaction(Signal::SIGUSR1, &action) }.expect("installing a SIGUSR1 handler");
        let parent = std::process::id();
        let pid = fork_paused().expect("fork_paused should fork a child");
        only_in_the_parent(parent, "fork_paused");

        // wait_exit runs on a thread of its own; the signal goes to that thread alone.
        let (tid_sender, tid) = mpsc::channel();
        let (result_sender, result) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = tid_sender.send(nix::unistd::gettid().as_raw());
            let _ = result_sender.send(wait_exit(pid));
        });
        let tid = tid.recv().expect("the waiting thread starts");
        let early = |what: String| -> ! {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = reap_within(pid, CHILD_DEADLINE);
            panic!("{what}")
        };

        // The child pauses until it is killed, so wait_exit can only be waiting: signal it
        // once the kernel shows it asleep in wait4/waitid (a wait that polls never shows
        // that; it gets the signal after the deadline, wherever it is).
        let mut returned_early = None;
        let asleep = comes_true(|| match result.try_recv() {
            Err(mpsc::TryRecvError::Empty) => asleep_in_wait(tid),
            ended => {
                returned_early = Some(ended);
                true
            }
        });
        match returned_early {
            None => {}
            Some(Ok(returned)) => early(format!(
                "wait_exit({pid}) returned {returned:?} while the child of fork_paused was still paused: it must wait \
                 until the child has exited or been killed"
            )),
            Some(Err(_)) => early(format!("wait_exit({pid}) panicked (see above)")),
        }
        if !asleep {
            note("the waiting thread never showed asleep in wait4 or waitid; it was signalled after 3 s");
        }
        let before = INTERRUPTS.load(Ordering::SeqCst);
        if unsafe { libc::pthread_kill(waiter.as_pthread_t(), libc::SIGUSR1) } != 0 {
            early("could not signal the waiting thread".into());
        }
        // Once the handler has run, the interrupted wait has already failed with EINTR.
        if !comes_true(|| INTERRUPTS.load(Ordering::SeqCst) > before) {
            early("the SIGUSR1 handler never ran in the waiting thread".into());
        }

        // Only now may the child end.
        kill(pid, Signal::SIGTERM).expect("ending the paused child with SIGTERM");
        let returned = match result.recv_timeout(CHILD_DEADLINE) {
            Ok(returned) => returned,
            Err(mpsc::RecvTimeoutError::Timeout) => early(format!(
                "wait_exit({pid}) did not return within {:.0} s of the child being killed",
                CHILD_DEADLINE.as_secs_f64()
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => early(format!("wait_exit({pid}) panicked (see above)")),
        };
        if returned == Err(nix::errno::Errno::EINTR) {
            early(format!(
                "wait_exit({pid}) returned Err(EINTR): a signal (SIGUSR1, its handler installed without SA_RESTART) \
                 interrupted waitpid while the child was still running. EINTR is no answer about the child: retry \
                 the wait until the child has exited or been killed"
            ));
        }
        assert!(
            matches!(returned, Ok(WaitStatus::Signaled(p, Signal::SIGTERM, _)) if p == pid),
            "wait_exit({pid}) should report the child's real end, killed by SIGTERM, but returned {returned:?}"
        );
    });
}
