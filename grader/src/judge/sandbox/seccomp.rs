//! A seccomp filter for test processes: the system calls no lab needs, refused with EPERM.
//!
//! Each one below reaches past what the other walls hold, or outlives the test. A refused
//! call fails with EPERM (never a kill), so lab code that tries one gets an error it can
//! report, and the test fails with a message instead of a mystery signal. Everything not
//! named is allowed: the labs use mmap, munmap, mlock, fork, exec, wait, userfaultfd and
//! signals, and a list of what to refuse is one a reader can check against the lessons.
//! The filter is installed last in the test process's pre_exec, after the sandbox's own
//! set-up (namespaces, limits, Landlock), and binds everything it execs.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

/// The refused system calls, each with why.
pub const REFUSED: &[(&str, libc::c_long)] = &[
    // Reading or writing another process's memory, or stopping it: the judge's and the
    // other tests' too (the grader's own witness reads are its own, outside the filter).
    ("another process's memory", libc::SYS_ptrace),
    ("another process's memory", libc::SYS_process_vm_readv),
    ("another process's memory", libc::SYS_process_vm_writev),
    // Kernel keyrings belong to the user, not the process: a key outlives the test and is
    // seen by the next student's.
    ("keys that outlive the test", libc::SYS_keyctl),
    ("keys that outlive the test", libc::SYS_add_key),
    ("keys that outlive the test", libc::SYS_request_key),
    // Programs in the kernel and counters that watch other processes.
    ("kernel programs and tracing", libc::SYS_bpf),
    ("kernel programs and tracing", libc::SYS_perf_event_open),
    // A file-system view of its own would undo the sandbox's.
    ("the file-system view", libc::SYS_mount),
    ("the file-system view", libc::SYS_umount2),
    ("the file-system view", libc::SYS_pivot_root),
    ("the file-system view", libc::SYS_chroot),
    ("the file-system view", libc::SYS_open_tree),
    ("the file-system view", libc::SYS_move_mount),
    ("the file-system view", libc::SYS_fsopen),
    ("the file-system view", libc::SYS_fsconfig),
    ("the file-system view", libc::SYS_fsmount),
    ("the file-system view", libc::SYS_fspick),
    ("the file-system view", libc::SYS_mount_setattr),
    // New namespaces or joining others (clone with namespace flags: see NAMESPACE_FLAGS).
    ("namespaces", libc::SYS_unshare),
    ("namespaces", libc::SYS_setns),
    // Opening a file by handle skips the path, and so Landlock's checks.
    ("files by handle", libc::SYS_open_by_handle_at),
    ("files by handle", libc::SYS_name_to_handle_at),
    // io_uring runs operations the filter would not see, one by one.
    ("io_uring", libc::SYS_io_uring_setup),
    ("io_uring", libc::SYS_io_uring_enter),
    ("io_uring", libc::SYS_io_uring_register),
    // The machine itself (capabilities are dropped; refused anyway).
    ("the machine", libc::SYS_kexec_load),
    ("the machine", libc::SYS_kexec_file_load),
    ("the machine", libc::SYS_init_module),
    ("the machine", libc::SYS_finit_module),
    ("the machine", libc::SYS_delete_module),
    ("the machine", libc::SYS_reboot),
    ("the machine", libc::SYS_swapon),
    ("the machine", libc::SYS_swapoff),
    ("the machine", libc::SYS_acct),
    ("the machine", libc::SYS_syslog),
];

/// clone flags that make namespaces: a clone with any of them is refused like unshare.
const NAMESPACE_FLAGS: &[libc::c_int] = &[
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWNS,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWCGROUP,
];

/// The programs to install, in order: the refusals (EPERM), then clone3 answered ENOSYS
/// (its flags sit in memory, where a filter cannot look; glibc then falls back to clone,
/// whose flags the first program checks). Err says why no filter can be made here (an
/// architecture seccompiler does not know).
pub fn programs() -> Result<Vec<BpfProgram>, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())?;
    let mut refused: BTreeMap<i64, Vec<SeccompRule>> = REFUSED.iter().map(|&(_, nr)| (nr, Vec::new())).collect();
    let with_flag = |flag: libc::c_int| {
        let condition = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(flag as u64),
            flag as u64,
        );
        SeccompRule::new(vec![condition.map_err(|e| e.to_string())?]).map_err(|e| e.to_string())
    };
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&f| with_flag(f))
        .collect::<Result<_, String>>()?;
    refused.insert(libc::SYS_clone, clone_rules);
    let program = |rules, answer| -> Result<BpfProgram, String> {
        let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(answer as u32), arch)
            .map_err(|e| e.to_string())?;
        filter.try_into().map_err(|e: seccompiler::BackendError| e.to_string())
    };
    let clone3 = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    Ok(vec![program(refused, libc::EPERM)?, program(clone3, libc::ENOSYS)?])
}

/// Installs `programs` on the calling thread (no_new_privs is set first, as seccomp needs
/// without CAP_SYS_ADMIN).
///
/// Async-signal-safe: prctl and seccomp on memory prepared before the fork.
pub fn install(programs: &[BpfProgram]) -> std::io::Result<()> {
    for program in programs {
        seccompiler::apply_filter(program).map_err(|e| match e {
            seccompiler::Error::Seccomp(e) | seccompiler::Error::Prctl(e) => e,
            _ => std::io::Error::from_raw_os_error(libc::EINVAL),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_builds_for_this_machine() {
        let programs = programs().unwrap();
        assert_eq!(programs.len(), 2);
        assert!(programs.iter().all(|p| !p.is_empty()));
    }
}
