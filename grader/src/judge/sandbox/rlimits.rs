//! What one test process may use up, as resource limits (setrlimit) it gets before its
//! first instruction: memory, processes, open files, file size, CPU time, no core dumps.
//!
//! Unlimited, one test of one student can hold gigabytes, fork hundreds of daemons or fill
//! the disk, and cost every test and every student graded after it. With a limit, the
//! test that hits it fails alone; [`explain`] then names the limit in the first line of
//! its message. The values are rubric.toml's `[limits]` ([`Limits`], parsed once by the
//! project).

use munmap_lab_protocol::Verdict;

use crate::project::limits::Limits;

/// One resource limit for setrlimit: which, and the value (soft and hard alike, except CPU).
#[derive(Clone, Copy, Debug)]
pub struct Rlimit {
    pub resource: libc::__rlimit_resource_t,
    pub soft: libc::rlim_t,
    pub hard: libc::rlim_t,
}

const MIB: u64 = 1 << 20;

/// The resource limits to set in a test process; `processes` only when it counts the
/// test's processes alone (a user namespace of its own, Linux 5.14+), else RLIMIT_NPROC
/// counts the grading user's every process.
pub fn rlimits(limits: &Limits, counts_processes_alone: bool) -> Vec<Rlimit> {
    let same = |resource, value: u64| Rlimit {
        resource,
        soft: value,
        hard: value,
    };
    let mut rlimits = vec![
        same(libc::RLIMIT_AS, limits.memory_mib.saturating_mul(MIB)),
        same(libc::RLIMIT_NOFILE, limits.open_files),
        same(libc::RLIMIT_FSIZE, limits.file_size_mib.saturating_mul(MIB)),
        same(libc::RLIMIT_CORE, 0),
        // SIGXCPU at the soft limit (named in the message), SIGKILL a second later.
        Rlimit {
            resource: libc::RLIMIT_CPU,
            soft: limits.cpu_seconds,
            hard: limits.cpu_seconds + 1,
        },
    ];
    if counts_processes_alone {
        rlimits.push(same(libc::RLIMIT_NPROC, limits.processes));
    }
    rlimits
}

/// Sets `rlimits` on the calling process.
///
/// Async-signal-safe: setrlimit on memory prepared before the fork.
pub fn apply(rlimits: &[Rlimit]) -> std::io::Result<()> {
    for limit in rlimits {
        let value = libc::rlimit {
            rlim_cur: limit.soft,
            rlim_max: limit.hard,
        };
        // SAFETY: setrlimit with a valid pointer to a value on the stack.
        if unsafe { libc::setrlimit(limit.resource, &value) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `verdict` with a first line naming the limit it hit, when its end shows one: the
/// signal of a limit (SIGXCPU, SIGXFSZ) or the error a limit gives (Rust's failed
/// allocation, EMFILE). A pass, a skip, or a failure that shows no limit is unchanged.
pub fn explain(limits: &Limits, verdict: Verdict, signal: Option<i32>, output: &str) -> Verdict {
    let Some(why) = hit(limits, signal, output) else {
        return verdict;
    };
    let headline = |msg: String| format!("the test process {why} (a limit of the grader's sandbox)\n{msg}");
    match verdict {
        Verdict::Fail(msg) => Verdict::Fail(headline(msg)),
        Verdict::Crash(msg) => Verdict::Crash(headline(msg)),
        Verdict::Timeout(msg) => Verdict::Timeout(headline(msg)),
        other => other,
    }
}

/// Which limit a test's end shows it hit, as the words that follow "the test process".
fn hit(limits: &Limits, signal: Option<i32>, output: &str) -> Option<String> {
    match signal {
        Some(libc::SIGXCPU) => return Some(format!("used more than {} s of CPU", limits.cpu_seconds)),
        Some(libc::SIGXFSZ) => {
            return Some(format!("wrote more than {} MiB to one file", limits.file_size_mib));
        }
        _ => {}
    }
    if output.contains("memory allocation of") && output.contains("failed") {
        return Some(format!("used more than {} MiB of memory", limits.memory_mib));
    }
    if output.contains("Too many open files") {
        return Some(format!("opened more than {} files", limits.open_files));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_are_limited_only_where_they_are_counted_alone() {
        let limits = Limits::default();
        let has_nproc = |own| rlimits(&limits, own).iter().any(|r| r.resource == libc::RLIMIT_NPROC);
        assert!(has_nproc(true));
        assert!(!has_nproc(false));
    }

    #[test]
    fn the_limit_hit_is_named_first() {
        let limits = Limits::default();
        let explained = explain(
            &limits,
            Verdict::Crash("lab01::t crashed".into()),
            Some(libc::SIGABRT),
            "memory allocation of 4096 bytes failed\n",
        );
        let Verdict::Crash(msg) = explained else { panic!() };
        assert!(
            msg.starts_with("the test process used more than 1024 MiB of memory"),
            "{msg}"
        );
        assert!(msg.ends_with("lab01::t crashed"), "{msg}");
        let cpu = explain(&limits, Verdict::Crash("c".into()), Some(libc::SIGXCPU), "");
        assert!(matches!(cpu, Verdict::Crash(m) if m.contains("20 s of CPU")));
        assert_eq!(explain(&limits, Verdict::Pass, Some(libc::SIGXFSZ), ""), Verdict::Pass);
        let plain = explain(&limits, Verdict::Fail("f".into()), None, "assertion failed");
        assert_eq!(plain, Verdict::Fail("f".into()));
    }
}
