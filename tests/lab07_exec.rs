//! Lab 07: no mapping survives execve, a child's mappings go when it exits, and
//! fork does not copy memory locks; the fork/exec/wait code itself keeps the fork rule
//! (no allocation in the child) and survives a signal during the wait.
//!
//! The children exec `munmap-lab-probe` (built by cargo with this suite), a fresh
//! program that reports its own maps. Every wait on a child has a deadline of its own
//! (3 s): a child that never execs or never exits is killed and fails only its test,
//! saying what never happened.
//!
//! When graded, each test draws its scenario ([`draw`]): where the fixed window lies
//! (264-271 GiB), how long the mappings are and which of their pages are locked, how an
//! exec fails, how many arguments it gets, how often a wait is interrupted and which
//! signal ends the child. Under `cargo test` each is its default, its snapshot's. The
//! probe program that a child execs has no seed: what it needs is on its command line.

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
use munmap_lab_harness::draw;
use munmap_lab_harness::fork_rule::ChildAllocations;
use munmap_lab_harness::maps::window_pages;
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
/// The mapping's length under `cargo test` (its snapshot's), and the lengths a grading draws.
const MAPPING_PAGES: usize = 4;
const DRAWN_MAPPING_PAGES: std::ops::RangeInclusive<usize> = 1..=12;

/// The fixed window's address: [`FIXED`], or when graded any GiB from 264 to 271 (all
/// below 512 GiB and apart from the grader's witnessed window at 232 GiB).
fn fixed_address() -> usize {
    let choices: Vec<usize> = (0..8).map(|gib| FIXED + gib * (1 << 30)).collect();
    draw::one_of("fixed window", FIXED, &choices)
}

/// The mapping's length for this test: 4 pages, or as drawn.
fn drawn_mapping_pages() -> usize {
    draw::count("mapping pages", MAPPING_PAGES, DRAWN_MAPPING_PAGES)
}

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
    // The kernel's word first: `pid` is a child of this process (running, or a zombie
    // until it is waited for). A pid made up by lab code, with a status to match, is not.
    let parent = procfs::process::Process::new(pid.as_raw())
        .and_then(|child| child.stat())
        .map(|stat| stat.ppid);
    assert_eq!(
        parent.ok(),
        Some(std::process::id() as i32),
        "the lab function returned pid {pid}, but the kernel knows no child of this process by that pid"
    );
    let status = expect::call(format!("wait_exit(pid): {what}"), "Ok(the child's status)", || {
        within(CHILD_DEADLINE, pid, what, move || wait_exit(pid))
    })
    .unwrap_or_else(|e| panic!("wait_exit({pid}) failed with {e}: waitpid on the child's own pid should succeed"));
    assert_eq!(
        nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)),
        Err(nix::errno::Errno::ECHILD),
        "wait_exit({pid}) returned {status:?}, but the child was not reaped: waitpid must have collected its status"
    );
    status
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

fn fixed_slot_or_skip(address: usize, pages: usize) -> Slot {
    Slot::at(address, pages).unwrap_or_else(|e| {
        skip(format!(
            "cannot reserve the fixed window at {address:#x} here ({e}): the address space is too small or in use"
        ))
    })
}

/// How the exec of a child that cannot exec fails (each time execv returns, and the
/// child must `_exit(127)`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Unrunnable {
    /// No such file (ENOENT).
    Missing,
    /// A file without execute permission (EACCES).
    NotExecutable,
    /// A directory (EACCES).
    Directory,
    /// An executable file that is no program: no ELF header, no `#!` (ENOEXEC).
    NotAProgram,
}

/// The program whose exec fails, as drawn (a missing one by default), made in `dir`.
fn unrunnable(dir: &std::path::Path) -> CString {
    use std::os::unix::fs::PermissionsExt;
    let how = draw::one_of(
        "how the exec fails",
        Unrunnable::Missing,
        &[
            Unrunnable::Missing,
            Unrunnable::NotExecutable,
            Unrunnable::Directory,
            Unrunnable::NotAProgram,
        ],
    );
    let file = |name: &str, mode: u32| {
        let path = dir.join(name);
        std::fs::write(&path, "not a program: no ELF header and no #! line\n")
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("setting the mode of {}: {e}", path.display()));
        path
    };
    let path = match how {
        Unrunnable::Missing => return cstring("/nonexistent/munmap-lab/no-such-program"),
        Unrunnable::NotExecutable => file("not-executable", 0o644),
        Unrunnable::Directory => dir.to_path_buf(),
        Unrunnable::NotAProgram => file("not-a-program", 0o755),
    };
    cstring(path.to_str().expect("UTF-8 path"))
}

/// argv for the program whose exec fails: the program, then as many arguments as drawn (none by default).
fn unrunnable_argv(program: &CString) -> Vec<CString> {
    let extra = draw::count("arguments after argv[0]", 0, 0..=5);
    let mut argv = vec![program.clone()];
    argv.extend((1..=extra).map(|n| cstring(&format!("argument {n}"))));
    argv
}

#[rstest]
#[serial]
fn exec_leaves_nothing_of_the_old_mappings() {
    isolated(|| {
        let fixed = fixed_address();
        let len = drawn_mapping_pages();
        let window = len + 2;
        let slot = fixed_slot_or_skip(fixed, len);
        slot.map_filled(len, |_| b'E');
        let mut story = Story::new(format!(
            "this process maps {len} pages at a fixed address ({}); its child, a copy with the same \
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
        let after = view_from_smaps(&report, fixed as u64, window);
        story.step("the child after execve (the new image's own /proc/self/smaps)", &after);
        expect::unmapped(
            &after,
            0..window,
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
        let dir = scratch_dir!();
        let unrunnable = unrunnable(dir.path());
        let argv = unrunnable_argv(&unrunnable);
        let parent = std::process::id();
        let pid = spawn(&unrunnable, &refs(&argv)).expect("spawn should fork even if the exec will fail");
        only_in_the_parent(parent, "spawn");
        let status = wait_for(pid, "the child whose execv failed exited, and wait_exit returned");
        assert_eq!(
            status,
            WaitStatus::Exited(pid, 127),
            "when execv fails in the child (here execv({unrunnable:?}) with {} argument(s) after argv[0]), the \
             child must end at once with _exit(127); it must never return into the parent's code \
             ({RETURNED_IN_CHILD} means it did)",
            argv.len() - 1
        );
    });
}

#[rstest]
#[serial]
fn a_child_mappings_end_when_it_exits() {
    isolated(|| {
        let dir = scratch_dir!();
        let ready = dir.path().join("ready");
        let fixed = fixed_address();
        let len = drawn_mapping_pages();
        // Where in the window the probe maps: window page 1, or as drawn; one unmapped page follows.
        let first_page = draw::count("first window page", Slot::START, 1..=4);
        let window = first_page + len + 1;
        let mapped = first_page..first_page + len;
        let first = format!("{:#x}", fixed + pages(first_page));
        let count = len.to_string();
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
        let mut story = Story::new(format!(
            "a child execs a probe that maps {len} pages at {} of a fixed window, then exits: \
             its /proc/PID/smaps shows them while it lives, nothing once it has exited, and /proc/PID \
             goes when its parent waits for it",
            window_pages(mapped.clone())
        ));
        let alive = maps_of(pid, fixed as u64, window).expect("the child is alive, so /proc/PID exists");
        story.step("the child while it lives (read from its /proc/PID/smaps)", &alive);
        expect::mapped(&alive, mapped.clone(), "rw-p", "the probe mapped these pages");
        expect::unmapped(&alive, 0..first_page, "the probe mapped nothing below its pages");
        expect::unmapped(&alive, mapped.end..window, "the probe mapped nothing above its pages");

        std::fs::remove_file(&ready).expect("releasing the probe");
        assert!(
            exited_unreaped(pid, CHILD_DEADLINE),
            "the probe did not exit within {:.0} s of being released",
            CHILD_DEADLINE.as_secs_f64()
        );
        let zombie = maps_of(pid, fixed as u64, window).expect("an exited child stays in /proc until waited for");
        story.step(
            "the child after it exited, before its parent waited (a zombie)",
            &zombie,
        );
        expect::unmapped(&zombie, 0..window, "a process's mappings go when it exits");

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
        let len = drawn_mapping_pages();
        // The locked pages: the whole mapping by default; when drawn, up to 8 pages anywhere in
        // it (32 KiB with 4 KiB pages: under the 64 KiB memory-lock limit many machines give a
        // normal user).
        let locked_len = draw::count("locked pages", len.min(8), 1..=len.min(8));
        let locked_first = draw::count("first locked page", 0, 0..=len - locked_len);
        let slot = Slot::new(len);
        let addr: NonNull<u8> = slot.map_filled(len, |_| b'F');
        unsafe { lock_or_skip(addr.add(pages(locked_first)), pages(locked_len)) };
        let locked = slot.window(locked_first..locked_first + locked_len);
        let what_is_locked = if locked == slot.all() {
            format!("a {len}-page mapping at {}", slot.shown())
        } else {
            format!(
                "{} of a {len}-page mapping at {}",
                window_pages(locked.clone()),
                slot.shown()
            )
        };
        let mut story = Story::new(format!(
            "this process locks {what_is_locked} and forks a paused child: the child has \
             the same mapping, unlocked; the parent's lock stays"
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
            locked.collect::<Vec<_>>(),
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
        // Only the exec that fails draws (how it fails, how many arguments): spawning the
        // probe has its one command line, and fork_paused takes nothing.
        let (program, argv) = match forking {
            Forking::Spawn => probe(&[SMAPS, out.to_str().expect("UTF-8 path")]),
            Forking::SpawnWhoseExecFails => {
                let unrunnable = unrunnable(dir.path());
                let argv = unrunnable_argv(&unrunnable);
                (unrunnable, argv)
            }
            Forking::ForkPaused => {
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

        // What wait_exit said is what the child did (wait_for checked that it was a child,
        // and that it is gone).
        let ended_as_it_should = match forking {
            Forking::Spawn => status == WaitStatus::Exited(pid, 0),
            Forking::SpawnWhoseExecFails => status == WaitStatus::Exited(pid, 127),
            Forking::ForkPaused => matches!(status, WaitStatus::Signaled(p, Signal::SIGKILL, _) if p == pid),
        };
        assert!(
            ended_as_it_should,
            "wait_exit returned {status:?}, but the child {}",
            match forking {
                Forking::Spawn => "ran the probe, which exits with status 0",
                Forking::SpawnWhoseExecFails => "could not exec and exited with status 127",
                Forking::ForkPaused => "was killed by SIGKILL",
            }
        );
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
        // How many times the wait is interrupted (once by default), and the signal that
        // then ends the child (SIGTERM by default).
        let interrupts = draw::count("interrupts", 1, 1..=3);
        let ending = draw::one_of(
            "signal that ends the child",
            Signal::SIGTERM,
            &[
                Signal::SIGTERM,
                Signal::SIGKILL,
                Signal::SIGINT,
                Signal::SIGHUP,
                Signal::SIGUSR2,
                Signal::SIGALRM,
            ],
        );
        if ending != Signal::SIGKILL {
            // The paused child inherits this process's disposition and mask: make sure the
            // signal kills it whatever this process inherited (an ignored SIGINT, say).
            let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
            unsafe { sigaction(ending, &default) }.expect("restoring the ending signal's default action");
            let mut unblock = SigSet::empty();
            unblock.add(ending);
            unblock.thread_unblock().expect("unblocking the ending signal");
        }
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
        let eintr = |after: String| -> String {
            format!(
                "wait_exit({pid}) returned Err(EINTR) {after}: a signal (SIGUSR1, its handler installed without \
                 SA_RESTART) interrupted waitpid while the child was still running. EINTR is no answer about the \
                 child: retry the wait (every time) until the child has exited or been killed"
            )
        };

        for interrupt in 1..=interrupts {
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
                Some(Ok(Err(nix::errno::Errno::EINTR))) => early(eintr(format!(
                    "after interrupt {} of {interrupts}, while the child of fork_paused was still paused",
                    interrupt - 1
                ))),
                Some(Ok(returned)) => early(format!(
                    "wait_exit({pid}) returned {returned:?} while the child of fork_paused was still paused: it must \
                     wait until the child has exited or been killed"
                )),
                Some(Err(_)) => early(format!("wait_exit({pid}) panicked (see above)")),
            }
            if !asleep {
                note(format!(
                    "the waiting thread never showed asleep in wait4 or waitid before interrupt {interrupt}; it was \
                     signalled after 3 s"
                ));
            }
            let before = INTERRUPTS.load(Ordering::SeqCst);
            if unsafe { libc::pthread_kill(waiter.as_pthread_t(), libc::SIGUSR1) } != 0 {
                early("could not signal the waiting thread".into());
            }
            // Once the handler has run, the interrupted wait has already failed with EINTR.
            if !comes_true(|| INTERRUPTS.load(Ordering::SeqCst) > before) {
                early("the SIGUSR1 handler never ran in the waiting thread".into());
            }
        }

        // Only now may the child end.
        kill(pid, ending).unwrap_or_else(|e| panic!("ending the paused child with {ending}: {e}"));
        let returned = match result.recv_timeout(CHILD_DEADLINE) {
            Ok(returned) => returned,
            Err(mpsc::RecvTimeoutError::Timeout) => early(format!(
                "wait_exit({pid}) did not return within {:.0} s of the child being killed",
                CHILD_DEADLINE.as_secs_f64()
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => early(format!("wait_exit({pid}) panicked (see above)")),
        };
        if returned == Err(nix::errno::Errno::EINTR) {
            early(eintr(format!("after {interrupts} interrupt(s)")));
        }
        assert!(
            matches!(returned, Ok(WaitStatus::Signaled(p, signal, _)) if p == pid && signal == ending),
            "wait_exit({pid}) should report the child's real end, killed by {ending}, but returned {returned:?}"
        );
    });
}
