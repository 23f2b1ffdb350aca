//! Lab 07: no mapping survives execve, a child's mappings go when it exits, and
//! fork does not copy memory locks.
//!
//! The children exec `munmap-lab-probe` (built by cargo with this suite), a fresh
//! program that reports its own maps. Every wait on a child has a deadline of its own
//! (3 s): a child that never execs or never exits is killed and fails only its test,
//! saying what never happened.

use std::ffi::{CStr, CString};
use std::ptr::NonNull;

use munmap_lab::lab07_exec::{fork_paused, spawn, wait_exit};
use munmap_lab_harness::children::{
    CHILD_DEADLINE, exited_unreaped, file_appears, maps_of, process_exists, view_from_smaps, within,
};
use munmap_lab_harness::exec_probe::{HOLD, SMAPS};
use munmap_lab_harness::memlock::lock_or_skip;
use munmap_lab_harness::scratch_dir;
use munmap_lab_harness::{Arena, Story, expect, isolated, pages, skip};
use nix::sys::mman::ProtFlags;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use rstest::rstest;

/// A rarely used address (264 GiB): far below where the kernel places mmaps, libraries
/// and stacks, and inside even a 39-bit (512 GiB) user address space. Both the test and
/// the fresh program image look at the same window there.
const FIXED: usize = 0x42_0000_0000;
const WINDOW: usize = 6;
const MAPPING_PAGES: usize = 4;
const AT: usize = 1;

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
    let started = std::time::Instant::now();
    while started.elapsed() < CHILD_DEADLINE {
        if file_appears(ready, std::time::Duration::from_millis(20)) {
            return true;
        }
        if exited_unreaped(pid, std::time::Duration::ZERO) {
            return ready.exists();
        }
    }
    false
}

fn fixed_arena_or_skip() -> Arena {
    Arena::at(FIXED, WINDOW).unwrap_or_else(|e| {
        skip(format!(
            "cannot reserve the fixed window at {FIXED:#x} here ({e}): the address space is too small or in use"
        ))
    })
}

#[rstest]
fn exec_leaves_nothing_of_the_old_mappings() {
    isolated(|| {
        let arena = fixed_arena_or_skip();
        let addr = arena.map_anonymous(AT, MAPPING_PAGES, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE);
        unsafe { addr.write_bytes(b'E', pages(MAPPING_PAGES)) };
        let mut story = Story::new(
            "this process maps 4 pages at a fixed address (window pages 1-4); its child, a copy with the same \
             mappings, execs a probe program, whose fresh image has nothing in that window",
        );
        story.step("this process, before spawn", &arena.view());

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
        let view = arena.view();
        expect::mapped(
            &view,
            AT..AT + MAPPING_PAGES,
            "rw-p",
            "a child's exec does not touch its parent's mappings",
        );
        story.step("this process, after the child exited", &view);
        story.assert_snapshot();
    });
}

#[rstest]
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
fn a_child_mappings_end_when_it_exits() {
    isolated(|| {
        let dir = scratch_dir!();
        let ready = dir.path().join("ready");
        let first = format!("{:#x}", FIXED + pages(AT));
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
            drop(dir); // skip() ends the process without running destructors
            skip(format!("the probe could not map its pages at {first} here: {said}"));
        }
        let mut story = Story::new(
            "a child execs a probe that maps 4 pages at window pages 1-4 of a fixed window, then exits: \
             its /proc/PID/smaps shows them while it lives, nothing once it has exited, and /proc/PID \
             goes when its parent waits for it",
        );
        let alive = maps_of(pid, FIXED as u64, WINDOW).expect("the child is alive, so /proc/PID exists");
        story.step("the child while it lives (read from its /proc/PID/smaps)", &alive);
        expect::mapped(&alive, AT..AT + MAPPING_PAGES, "rw-p", "the probe mapped these pages");

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
        story.note("after wait_exit: /proc/PID no longer exists");
        story.assert_snapshot();
    });
}

#[rstest]
fn a_lock_does_not_survive_fork() {
    isolated(|| {
        let arena = Arena::new(WINDOW);
        let addr: NonNull<u8> = arena.map_anonymous(AT, MAPPING_PAGES, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE);
        unsafe { addr.write_bytes(b'F', pages(MAPPING_PAGES)) };
        unsafe { lock_or_skip(addr, pages(MAPPING_PAGES)) };
        let mut story = Story::new(
            "this process locks a 4-page mapping at window pages 1-4 and forks a paused child: the child has \
             the same mapping, unlocked; the parent's lock stays",
        );

        let parent = std::process::id();
        let pid = fork_paused().expect("fork_paused should fork a child");
        only_in_the_parent(parent, "fork_paused");
        let in_child = maps_of(pid, arena.page(0).as_ptr() as u64, WINDOW);
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
        let in_parent = arena.view();
        story.step("this process after fork", &in_parent);
        story.step("the paused child (read from its /proc/PID/smaps)", &in_child);
        expect::mapped(
            &in_child,
            AT..AT + MAPPING_PAGES,
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
            vec![1, 2, 3, 4],
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
