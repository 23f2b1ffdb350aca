//! Confines the test processes of a submission, without root, and cleans up after them.
//!
//! A test process runs the student's code with the grader's user and rights. Unconfined, it
//! could read the reference solutions, the other submissions of a batch or a home folder,
//! rewrite grade outputs, or kill the grader. Landlock needs neither root nor namespaces, and
//! a ruleset applied in `pre_exec` binds the exec'd program from its first instruction
//! (constructors too) and every process it starts. Landlock only allows, and so does the
//! sandbox: a test process reads and executes only what a test needs, the allow-list
//! [`SYSTEM`] (programs and libraries, the loader's two files in /etc, /proc, three
//! character devices; one line each on why), the Rust toolchain's sysroot (lab08's
//! compile checks run its rustc), the `readable` folders (its work folder) and its scratch
//! folder. Hidden folders stay hidden beneath any of these but a `readable` folder inside
//! them (see [`Sandbox::new`]).
//!
//! Process groups do not hold a `setsid` daemon: it leaves the group and outlives the test.
//! A child subreaper inherits such orphans, and `crate::children::kill_orphans` ends them
//! between tests.
//!
//! Around Landlock stand the other walls isolate, nsjail and bubblewrap build, each in a
//! module of its own: an environment from an allow-list ([`env`]), no inherited
//! descriptor, namespaces with socket folders covered ([`namespaces`]), resource limits
//! ([`rlimits`]) and a seccomp filter ([`seccomp`]). What a machine cannot enforce is
//! named in [`Sandbox::not_enforced`].

mod env;
mod namespaces;
mod rlimits;
mod seccomp;

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use munmap_lab_protocol::Verdict;

use self::namespaces::Plan;
use crate::judge::calls;
use crate::project::limits::Limits;

use landlock::{
    ABI, Access, AccessFs, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, Scope, make_bitflags,
};

/// Read and execute on a folder and everything beneath it.
const READ_DIR: BitFlags<AccessFs> = make_bitflags!(AccessFs::{ReadFile | ReadDir | Execute});
/// Read and execute on a file that is no folder (Landlock refuses folder rights on those).
const READ_FILE: BitFlags<AccessFs> = make_bitflags!(AccessFs::{ReadFile | Execute});
/// What a test may do beneath its scratch folder besides reading: every write right but
/// making device nodes, which would let a root test process read a raw disk from there.
const WRITE: BitFlags<AccessFs> = make_bitflags!(AccessFs::{
    WriteFile | RemoveDir | RemoveFile | MakeDir | MakeReg | MakeSock | MakeFifo | MakeSym
        | Refer | Truncate | IoctlDev
});

/// Everything of the machine a test process may read and execute besides the toolchain,
/// its work folder and its scratch folder, with why (measured: `strace -f -e trace=%file`
/// of the grader grading the solutions). A symlink (merged /usr: `/bin` -> `usr/bin`) is
/// granted as what it resolves to; what this machine lacks is skipped. Everything else
/// (/home, /root, /tmp, /opt, /srv, /mnt, the rest of /etc, /sys, the rest of /dev, other
/// checkouts) is unreadable.
#[rustfmt::skip]
const SYSTEM: &[(&str, &str)] = &[
    ("/usr",               "programs, shared libraries, locales; the C compiler and linker, if a check needs them"),
    ("/lib",               "the dynamic loader, libc and the other shared libraries (often a symlink to usr/lib)"),
    ("/lib32",             "32-bit libraries, where the machine has them"),
    ("/lib64",             "the dynamic loader's own path on x86_64 (/lib64/ld-linux-x86-64.so.2)"),
    ("/bin",               "/bin/sh and the programs tests and their children exec (`true`, lab07's spawns)"),
    ("/sbin",              "the rest of PATH's system programs"),
    ("/etc/ld.so.cache",   "where the dynamic loader looks up each library of every dynamic program"),
    ("/etc/ld.so.preload", "libraries the loader preloads into every program, where the machine names any"),
    ("/proc",              "its own maps, smaps, status, limits; /proc/sys/vm (others': Landlock's ptrace rule)"),
    ("/dev/null",          "the stdin of children spawned with Stdio::null (writing it: see `Sandbox::ruleset`)"),
    ("/dev/zero",          "zeroed pages the classic way (read, or mmap of /dev/zero)"),
    ("/dev/urandom",       "randomness for code that reads it rather than calling getrandom"),
];

/// Why the toolchain's sysroot is readable.
const SYSROOT: &str = "lab08's compile checks run the sysroot's rustc (harness/src/compile_fail.rs), which loads \
    librustc_driver and the standard library's metadata from there";
/// Why a `readable` folder is.
const READABLE: &str = "this submission's work folder: its sources, snapshots and build (the test binary itself)";

/// The file-system rights the ruleset handles, so denies where not granted: those of
/// Landlock ABI 5 (Linux 6.10), the last that added one the sandbox needs.
fn handled_fs() -> BitFlags<AccessFs> {
    AccessFs::from_all(ABI::V5)
}

/// Signals and abstract unix sockets stay inside the domain (ABI 6, Linux 6.12).
fn handled_scopes() -> BitFlags<Scope> {
    Scope::from_all(ABI::V6)
}

// What is left open without a feature, one sentence each (see `Sandbox::not_enforced`).
const NO_LANDLOCK: &str = "Landlock is not available on this kernel (or not enabled at boot): test processes only \
    get no_new_privs, and no allow-list holds their reads: they can read (the reference solutions and home folders \
    included), write and signal anything the grader's user can.";
const NO_TRUNCATE: &str = "This kernel's Landlock cannot restrict truncation (Linux 6.2+): a test process can \
    truncate any file the grader's user may write.";
const NO_IOCTL_DEV: &str = "This kernel's Landlock cannot restrict ioctl on devices (Linux 6.10+): a test process \
    can send ioctls to any device it opens.";
const NO_SIGNAL_SCOPE: &str = "This kernel's Landlock cannot scope signals (Linux 6.12+): a test process can signal \
    the grader and any process of the grader's user.";
const NO_SOCKET_SCOPE: &str = "This kernel's Landlock cannot scope abstract unix sockets (Linux 6.12+): a test \
    process can connect to those of any process.";
const NO_PROCESS_CAP: &str = "The number of processes of a test is not capped: RLIMIT_NPROC binds neither root \
    nor a test without a user namespace of its own on Linux 5.14+ (it would count every process of the grading user).";
const NO_MEMORY_CGROUP: &str = "No cgroup v2 memory.max or pids.max is set (no delegated cgroup v2 here): memory \
    is capped by RLIMIT_AS (address space, not resident memory).";

/// The sandbox every test process of a submission runs in. Built once per grading run.
#[derive(Debug)]
pub struct Sandbox {
    /// What a test process may read and execute (the allow-list, the sysroot, the readable
    /// folders, hidden paths beneath them gone around), opened (O_PATH) when the sandbox
    /// was built.
    grants: Vec<Grant>,
    landlock: bool,
    /// The namespaces each test process gets (None: this machine lets us make none).
    namespaces: Option<Plan>,
    limits: Limits,
    /// The seccomp programs each test process installs last (empty: none could be made).
    seccomp: Vec<seccompiler::BpfProgram>,
    /// The filter that hands the grader a test's unmaps (None: this kernel cannot, see
    /// [`crate::judge::calls`]).
    calls: Option<seccompiler::BpfProgram>,
    not_enforced: Vec<String>,
}

#[derive(Debug)]
struct Grant {
    /// What `fd` is (for `Debug` output and the tests).
    #[allow(dead_code)]
    path: PathBuf,
    /// Why it is granted (for `Debug` output).
    #[allow(dead_code)]
    why: &'static str,
    fd: OwnedFd,
    access: BitFlags<AccessFs>,
}

impl Sandbox {
    /// `readable`: the folders a test process may read and execute beneath (the work folder
    /// with this submission's sources and build, its target dir), besides [`SYSTEM`], the
    /// toolchain's sysroot and its scratch folder; nothing else of the machine. `hidden`:
    /// folders that stay unreadable even beneath those (the instructor's checkout with the
    /// reference solutions, the batch of other students' submissions, the grade outputs),
    /// and block devices (a root test process owns them, and a raw disk holds the hidden
    /// files too).
    ///
    /// The nearer wins: a hidden folder beneath a granted one (a system folder, the sysroot,
    /// a `readable` folder) is gone around, level by level, and a `readable` folder inside a
    /// hidden one (the work folder lives in the hidden checkout's target/) is readable,
    /// down to everything beneath it but a hidden folder deeper still. A system folder or
    /// the sysroot inside a hidden folder is not granted. The scratch folder is granted
    /// whole, as given to [`confine`](Self::confine).
    ///
    /// Only what exists now is granted: a `readable` folder made later is not readable, nor
    /// is an entry made later in a folder on the way to a hidden path. A hidden path that
    /// does not exist yet stays hidden when it is created.
    pub fn new(hidden: &[PathBuf], readable: &[PathBuf]) -> io::Result<Sandbox> {
        let landlock = kernel_has(|r| r.handle_access(AccessFs::from_all(ABI::V1)));
        let mut not_enforced = Vec::new();
        let mut grants = Vec::new();
        let sysroot = toolchain_sysroot(readable);
        if landlock {
            let mut hidden: Vec<PathBuf> = hidden.iter().map(|h| resolve(h)).collect::<io::Result<_>>()?;
            hidden.extend(block_devices());
            grants = grants_of(&allow_list(sysroot.as_deref(), readable)?, &hidden)?;
            let gaps = [
                (kernel_has(|r| r.handle_access(AccessFs::Truncate)), NO_TRUNCATE),
                (kernel_has(|r| r.handle_access(AccessFs::IoctlDev)), NO_IOCTL_DEV),
                (kernel_has(|r| r.scope(Scope::Signal)), NO_SIGNAL_SCOPE),
                (kernel_has(|r| r.scope(Scope::AbstractUnixSocket)), NO_SOCKET_SCOPE),
            ];
            let gaps = gaps.iter().filter(|(has, _)| !has);
            not_enforced.extend(gaps.map(|(_, gap)| gap.to_string()));
        } else {
            not_enforced.push(NO_LANDLOCK.to_string());
        }
        let needed: Vec<PathBuf> = readable.iter().cloned().chain(sysroot).collect();
        let namespaces = match Plan::probe(&namespaces::folders_to_cover(&needed)) {
            Some((plan, true)) => Some(plan),
            Some((plan, false)) => {
                not_enforced.push(namespaces::NO_MOUNT_NAMESPACE.to_string());
                Some(plan)
            }
            None => {
                not_enforced.push(namespaces::NO_NAMESPACES.to_string());
                None
            }
        };
        if !namespaces.as_ref().is_some_and(Plan::counts_processes_alone) {
            not_enforced.push(NO_PROCESS_CAP.to_string());
        }
        not_enforced.push(NO_MEMORY_CGROUP.to_string());
        let seccomp = seccomp::programs().unwrap_or_else(|why| {
            not_enforced.push(format!(
                "No seccomp filter can be made here ({why}): test processes may call ptrace, keyctl, bpf, \
                 io_uring and the other system calls GRADING.md lists as refused."
            ));
            Vec::new()
        });
        let calls = match calls::program().and_then(|program| calls_work(&program).map(|()| program)) {
            Ok(program) => Some(program),
            Err(why) => {
                not_enforced.push(format!(
                    "The grader cannot watch the unmaps of a test here ({why}): a test whose window does not \
                     change (an unmapped range, an errno) rests on its window and its process alone."
                ));
                None
            }
        };
        Ok(Sandbox {
            grants,
            landlock,
            namespaces,
            limits: Limits::default(),
            seccomp,
            calls,
            not_enforced,
        })
    }

    /// The same sandbox with these limits (rubric.toml's `[limits]`) on each test process.
    pub fn with_limits(mut self, limits: Limits) -> Sandbox {
        self.limits = limits;
        self
    }

    /// A command for the test binary `exe` whose environment is the allow-list's only
    /// (see [`env`]): nothing of the grader's own environment reaches lab code.
    pub fn command(&self, exe: &Path, scratch: &Path) -> Command {
        env::command(exe, scratch)
    }

    /// `verdict` of a test process that ended with `status` and `output`, its first line
    /// naming the limit it hit when it hit one ("used more than 1024 MiB of memory").
    pub fn explain(&self, verdict: Verdict, status: Option<std::process::ExitStatus>, output: &str) -> Verdict {
        let signal = status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s));
        rlimits::explain(&self.limits, verdict, signal, output)
    }

    /// Whether test processes are confined to their scratch folder for writes (Landlock
    /// is there): then nothing they do can change the work folder.
    pub fn confines_writes(&self) -> bool {
        self.landlock
    }

    /// What this kernel cannot enforce (Landlock missing, an ABI without signal scoping, ...),
    /// one sentence each, for the grader to print once; empty when everything is enforced.
    pub fn not_enforced(&self) -> &[String] {
        &self.not_enforced
    }

    /// Adds a pre_exec to `cmd` that confines the process it execs from its first instruction:
    /// writes (create, remove, rename, truncate, write, make dirs/links/sockets/fifos, ioctl on
    /// devices) only beneath `scratch`, plus writing to /dev/null; reads and execution only as
    /// `new` decided, and beneath `scratch`; signals and abstract unix sockets scoped to its own
    /// Landlock domain (so it cannot kill or connect to the grader or anything outside);
    /// no_new_privs.
    ///
    /// The ruleset is built here, before the fork; the pre_exec only calls prctl and
    /// landlock_restrict_self. If it cannot be built (say `scratch` is missing), the reason is
    /// printed and the spawn fails with its errno: a test never runs unconfined by accident.
    #[cfg(test)]
    pub fn confine(&self, cmd: &mut Command, scratch: &Path) {
        self.confine_recorded(cmd, scratch, None);
    }

    /// [`confine`](Self::confine), and with `record` (the socket of a
    /// [`calls::Recorder`]) the test's unmaps are handed to the grader: its pre_exec
    /// installs the watching filter last and sends the listener over `record`.
    pub fn confine_recorded(&self, cmd: &mut Command, scratch: &Path, record: Option<std::os::fd::RawFd>) {
        let prepared = self.ruleset(scratch).map_err(|e| {
            eprintln!("sandbox: cannot confine a test process (scratch {scratch:?}): {e}");
            e.raw_os_error().unwrap_or(libc::EPERM)
        });
        let namespaces = self.namespaces.as_ref().map(|plan| plan.for_scratch(scratch));
        let alone = namespaces.as_ref().is_some_and(Plan::counts_processes_alone);
        let rlimits = rlimits::rlimits(&self.limits, alone);
        let seccomp = self.seccomp.clone();
        let watch = record.and_then(|fd| Some((self.calls.clone()?, fd)));
        let pre_exec = move || -> io::Result<()> {
            let ruleset = prepared
                .as_ref()
                .map_err(|&errno| io::Error::from_raw_os_error(errno))?;
            // SAFETY: close_range, fcntl, unshare, mount, setrlimit, prctl, capset and
            // landlock_restrict_self are plain system calls, safe between fork and exec; the
            // ruleset fd stays open until the Command is dropped.
            unsafe {
                close_on_exec_above_stderr();
                if let Some(namespaces) = &namespaces {
                    namespaces.enter()?;
                }
                drop_capabilities();
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if let Some(fd) = ruleset
                    && libc::syscall(libc::SYS_landlock_restrict_self, fd.as_raw_fd(), 0) != 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
            seccomp::install(&seccomp)?;
            if let Some((program, fd)) = &watch {
                // SAFETY: async-signal-safe (see calls::install_and_send); `fd` is the
                // recorder's socket, open until the spawn returned.
                unsafe { calls::install_and_send(program, *fd)? };
            }
            // Last: the watch's listener above is a new descriptor, and until exec this
            // process still holds every descriptor the grader had open (close-on-exec, so
            // gone at exec), whose numbers can pass RLIMIT_NOFILE (the sandbox's O_PATH
            // grants, anything else the grader holds): with the limit set first, making the
            // listener failed with EMFILE and no test could start.
            rlimits::apply(&rlimits)?;
            Ok(())
        };
        // SAFETY: the closure allocates nothing and makes only async-signal-safe calls.
        unsafe { cmd.pre_exec(pre_exec) };
    }

    /// A ruleset fd for one test process (None without Landlock); CLOEXEC, so the exec'd
    /// program does not inherit it.
    fn ruleset(&self, scratch: &Path) -> io::Result<Option<OwnedFd>> {
        if !self.landlock {
            return Ok(None);
        }
        let mut ruleset = Ruleset::default()
            .handle_access(handled_fs())
            .map_err(io::Error::other)?
            .scope(handled_scopes())
            .map_err(io::Error::other)?
            .create()
            .map_err(io::Error::other)?;
        for grant in &self.grants {
            ruleset = ruleset
                .add_rule(PathBeneath::new(grant.fd.as_fd(), grant.access))
                .map_err(io::Error::other)?;
        }
        let access = if fs::metadata(scratch)?.is_dir() {
            READ_DIR | WRITE
        } else {
            READ_FILE | (WRITE & AccessFs::from_file(ABI::V5))
        };
        ruleset = ruleset
            .add_rule(PathBeneath::new(path_fd(scratch)?, access))
            .map_err(io::Error::other)?
            .add_rule(PathBeneath::new(path_fd(Path::new("/dev/null"))?, AccessFs::WriteFile))
            .map_err(io::Error::other)?;
        Ok(ruleset.into())
    }
}

/// Whether a process here can install the watching filter and hand its listener over
/// (Linux 5.5+ for the listener's CONTINUE; a container may refuse seccomp), tried on
/// a short-lived child (`true`).
fn calls_work(program: &seccompiler::BpfProgram) -> Result<(), String> {
    let (recorder, socket) = calls::Recorder::start().map_err(|e| e.to_string())?;
    let (program, fd) = (program.clone(), socket.as_raw_fd());
    // SAFETY (of the pre_exec): prctl, seccomp and sendmsg only, on memory prepared before the fork.
    let status = in_a_short_lived_child(move || unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        calls::install_and_send(&program, fd)
    });
    drop(socket);
    recorder.finish();
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("a test of it ended with {status}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `true` with `pre_exec` between its fork and exec, its output dropped: how the
/// sandbox finds out what this machine lets a test process do before any test needs it.
/// `pre_exec` must be async-signal-safe, as `CommandExt::pre_exec` asks.
fn in_a_short_lived_child(
    pre_exec: impl FnMut() -> io::Result<()> + Send + Sync + 'static,
) -> io::Result<std::process::ExitStatus> {
    let mut probe = Command::new("true");
    // SAFETY: the caller's closure is async-signal-safe (see above).
    unsafe { probe.pre_exec(pre_exec) };
    probe
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
}

/// Whether the running kernel supports what `probe` asks of a ruleset, as the landlock
/// crate judges it (HardRequirement turns an unsupported feature into an error).
fn kernel_has(probe: impl FnOnce(Ruleset) -> Result<Ruleset, landlock::RulesetError>) -> bool {
    probe(Ruleset::default().set_compatibility(CompatLevel::HardRequirement)).is_ok()
}

fn path_fd(path: &Path) -> io::Result<PathFd> {
    PathFd::new(path).map_err(io::Error::other)
}

/// `path` made absolute with its symlinks resolved, as far as it exists; the rest of it,
/// which does not exist yet, is kept as given.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    let components: Vec<Component> = absolute.components().collect();
    for split in (1..=components.len()).rev() {
        let existing: PathBuf = components[..split].iter().collect();
        match existing.canonicalize() {
            Ok(mut resolved) => {
                for rest in &components[split..] {
                    match rest {
                        Component::Normal(name) => resolved.push(name),
                        _ => {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidInput,
                                format!("cannot resolve {path:?}: `..` past what exists"),
                            ));
                        }
                    }
                }
                return Ok(resolved);
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("{path:?}: {e}"))),
        }
    }
    Ok(PathBuf::from("/"))
}

/// Block devices beneath /dev, without following symlinks.
fn block_devices() -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_block_device() {
                found.push(entry.path());
            } else if kind.is_dir() && depth > 0 {
                walk(&entry.path(), depth - 1, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("/dev"), 3, &mut found);
    found
}

/// A folder or file to grant read and execute beneath, and why (see [`SYSTEM`]).
#[derive(Debug)]
struct Allowed {
    /// Absolute, its symlinks resolved.
    path: PathBuf,
    why: &'static str,
    /// A `readable` folder: granted even inside a hidden one.
    readable: bool,
}

/// The allow-list on this machine: [`SYSTEM`]'s entries that exist, the toolchain's
/// `sysroot`, then the `readable` paths that exist, each resolved.
fn allow_list(sysroot: Option<&Path>, readable: &[PathBuf]) -> io::Result<Vec<Allowed>> {
    let system = SYSTEM.iter().map(|&(path, why)| (PathBuf::from(path), why));
    let sysroot = sysroot.map(|path| (path.to_path_buf(), SYSROOT));
    let mut allowed = Vec::new();
    for (path, why) in system.chain(sysroot) {
        match path.canonicalize() {
            Ok(path) => allowed.push(Allowed {
                path,
                why,
                readable: false,
            }),
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("{path:?}: {e}"))),
        }
    }
    for path in readable {
        let path = resolve(path)?;
        if fs::symlink_metadata(&path).is_ok() {
            allowed.push(Allowed {
                path,
                why: READABLE,
                readable: true,
            });
        }
    }
    Ok(allowed)
}

/// The grants of `allowed` with the (absolute, resolved) `hidden` paths gone around: a hidden
/// path wins over what it lies beneath, a `readable` path over the hidden path it lies in.
fn grants_of(allowed: &[Allowed], hidden: &[PathBuf]) -> io::Result<Vec<Grant>> {
    let mut grants = Vec::new();
    for entry in allowed {
        if !entry.readable && hidden.iter().any(|h| entry.path.starts_with(h)) {
            continue;
        }
        let beneath: Vec<PathBuf> = hidden
            .iter()
            .filter(|h| h.starts_with(&entry.path) && **h != entry.path)
            .cloned()
            .collect();
        grants.extend(grants_around(&entry.path, &beneath, entry.why)?);
    }
    Ok(grants)
}

/// Read+execute grants on `root` but the `hidden` paths beneath it: `root` whole when none
/// is, else at each folder on the way from `root` to a hidden path, every entry that is
/// neither hidden nor on the way to one. Symlinks beside get nothing: what they point to is
/// granted or not on its own.
fn grants_around(root: &Path, hidden: &[PathBuf], why: &'static str) -> io::Result<Vec<Grant>> {
    if hidden.is_empty() {
        let access = if fs::metadata(root)?.is_dir() {
            READ_DIR
        } else {
            READ_FILE
        };
        return Ok(vec![Grant {
            path: root.to_path_buf(),
            why,
            fd: open_path(root)?,
            access,
        }]);
    }
    let on_the_way: BTreeSet<&Path> = hidden
        .iter()
        .flat_map(|h| h.ancestors())
        .filter(|dir| dir.starts_with(root))
        .collect();
    let mut grants = Vec::new();
    for &dir in &on_the_way {
        if hidden.iter().any(|h| dir.starts_with(h)) {
            continue;
        }
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            // Not there (yet): the hidden path beneath it does not exist either.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot list {dir:?} to grant what lies beside the hidden paths: {e}"),
                ));
            }
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if on_the_way.contains(path.as_path()) {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_symlink() {
                continue;
            }
            // An entry that vanished or cannot be opened is simply not granted.
            let Ok(fd) = open_path(&path) else { continue };
            let access = if kind.is_dir() { READ_DIR } else { READ_FILE };
            grants.push(Grant { path, why, fd, access });
        }
    }
    Ok(grants)
}

/// The sysroot of the toolchain the work folder was built with: `rustc --print sysroot`
/// asked as the grader's builds run `rustc` (through cargo: the grading environment, so
/// `RUSTUP_TOOLCHAIN` but never `RUSTC`), from the first `readable` folder (where rustup
/// finds the same directory override the build there got). None where no rustc runs: then
/// lab08's compile checks skip, saying so.
fn toolchain_sysroot(readable: &[PathBuf]) -> Option<PathBuf> {
    let mut rustc = crate::project::clean_command("rustc");
    rustc
        .args(["--print", "sysroot"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(dir) = readable.iter().find(|dir| dir.is_dir()) {
        rustc.current_dir(dir);
    }
    let output = rustc.output().ok().filter(|o| o.status.success())?;
    let path = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    path.is_absolute().then_some(path)
}

/// An O_PATH fd that names `path` itself, a symlink included (O_NOFOLLOW): a symlink swapped
/// in since the folder was listed cannot redirect the grant.
fn open_path(path: &Path) -> io::Result<OwnedFd> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: c_path is NUL-terminated; open with O_PATH takes no mode.
    let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Marks every descriptor but stdin, stdout and stderr close-on-exec, so the test process
/// inherits none: not one its grader inherited (a shell's fd 9), not the sandbox's own
/// O_PATH fds and ruleset. CLOSE_RANGE_CLOEXEC (Linux 5.11) in one call; before it, fcntl
/// on each number up to the descriptor limit. Closing them instead would close std's
/// pipe that reports a failed exec to the parent.
///
/// # Safety
/// Async-signal-safe (system calls only): callable between fork and exec.
unsafe fn close_on_exec_above_stderr() {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range, getrlimit and fcntl on numbers: no memory but the stack.
    unsafe {
        if libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        ) == 0
        {
            return;
        }
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        for fd in 3..limit.rlim_cur.min(1 << 20) as libc::c_int {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}

/// Leaves the process, and whatever it execs, without any capability, even as root:
/// Landlock confines files, signals and sockets, not what capabilities allow (loading a
/// kernel module, reading /proc/kcore, rebooting). The bounding set is emptied (so an exec
/// as uid 0 gains nothing back), then the ambient, inheritable, permitted and effective
/// sets. Errors are ignored: a process that lacks CAP_SETPCAP has nothing to drop, and
/// numbers past the kernel's last capability are EINVAL.
///
/// # Safety
/// Async-signal-safe (system calls on stack data only): callable between fork and exec.
unsafe fn drop_capabilities() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    // SAFETY: prctl and capset with a valid header and two data words on the stack.
    unsafe {
        for cap in 0..64 {
            libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0);
        }
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        );
        let mut header = Header {
            version: CAPABILITY_VERSION_3,
            pid: 0,
        };
        let none = [Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        libc::syscall(libc::SYS_capset, &mut header as *mut Header, none.as_ptr());
    }
}

#[cfg(test)]
mod tests {
    use std::process::Output;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::children::{become_subreaper, children, kill_orphans, spawn_kept};

    /// Set in a copy of this test binary that a test starts to play a part of itself.
    const HELPER: &str = "MUNMAP_GRADER_SANDBOX_HELPER";

    /// A folder tree for one test, removed at the end:
    /// hidden/{secret.txt, tool, work/{ok.txt, tool}}, scratch/, other/.
    struct Tree {
        base: PathBuf,
        hidden: PathBuf,
        work: PathBuf,
        scratch: PathBuf,
        other: PathBuf,
    }

    impl Tree {
        fn new() -> Tree {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let base = std::env::temp_dir().join(format!(
                "munmap-grader-sandbox-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let tree = Tree {
                hidden: base.join("hidden"),
                work: base.join("hidden/work"),
                scratch: base.join("scratch"),
                other: base.join("other"),
                base,
            };
            for dir in [&tree.work, &tree.scratch, &tree.other] {
                fs::create_dir_all(dir).unwrap();
            }
            fs::write(tree.hidden.join("secret.txt"), "the-secret\n").unwrap();
            fs::write(tree.work.join("ok.txt"), "readable-ok\n").unwrap();
            for (dir, says) in [(&tree.hidden, "hidden-tool-ran"), (&tree.work, "work-tool-ran")] {
                let tool = dir.join("tool");
                fs::write(&tool, format!("#!/bin/sh\necho {says}\n")).unwrap();
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
            }
            tree
        }

        fn sandbox(&self) -> Sandbox {
            Sandbox::new(std::slice::from_ref(&self.hidden), std::slice::from_ref(&self.work)).unwrap()
        }

        /// Runs `script` in a confined `sh`, with the tree's folders in its environment.
        fn confined_sh(&self, script: &str) -> String {
            let mut cmd = Command::new("sh");
            cmd.arg("-c")
                .arg(script)
                .env("HIDDEN", &self.hidden)
                .env("WORK", &self.work)
                .env("SCRATCH", &self.scratch)
                .env("OTHER", &self.other);
            self.sandbox().confine(&mut cmd, &self.scratch);
            let Output { stdout, stderr, .. } = cmd.output().unwrap();
            let out = format!(
                "{}{}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
            eprintln!("--- confined sh said:\n{out}---");
            out
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.base);
        }
    }

    /// The kernel's Landlock ABI version, 0 without Landlock.
    fn landlock_abi() -> i64 {
        // SAFETY: landlock_create_ruleset(NULL, 0, VERSION) only returns a number.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0usize,
                1u32, // LANDLOCK_CREATE_RULESET_VERSION
            )
        };
        v.max(0)
    }

    /// Whether the tests that need Landlock (ABI 6, for the scopes) can run; says why not.
    fn landlock_or_skip(test: &str) -> bool {
        let abi = landlock_abi();
        if abi < 6 {
            eprintln!("skipped {test}: this kernel's Landlock ABI is {abi}, the test needs 6");
        }
        abi >= 6
    }

    /// Runs this test binary's test `name` in a new process with HELPER=`part`.
    fn helper(name: &str, part: &str) -> Command {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(HELPER, part);
        cmd
    }

    fn helper_part() -> Option<String> {
        std::env::var(HELPER).ok()
    }

    /// The grader may hold more descriptors than a test may open (the sandbox's grants,
    /// a batch's files): a test process still starts, watched and limited.
    #[test]
    fn a_test_starts_whatever_the_grader_holds_open() {
        let tree = Tree::new();
        let sandbox = tree.sandbox();
        let held: Vec<fs::File> = (0..Limits::default().open_files + 64)
            .map(|_| fs::File::open("/dev/null").unwrap())
            .collect();
        let (recorder, socket) = calls::Recorder::start().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "ulimit -n"]);
        sandbox.confine_recorded(&mut cmd, &tree.scratch, Some(socket.as_raw_fd()));
        let output = cmd.output().expect("the confined process starts");
        drop((socket, held));
        recorder.finish();
        assert!(output.status.success(), "{output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            Limits::default().open_files.to_string(),
            "the limit on descriptors still holds"
        );
    }

    #[test]
    fn grants_go_around_hidden_paths_level_by_level() {
        let tree = Tree::new();
        let b = &tree.base;
        for dir in ["a/h1/sub", "a/h2", "a/s2", "b"] {
            fs::create_dir_all(b.join(dir)).unwrap();
        }
        fs::write(b.join("a/s1"), "").unwrap();
        std::os::unix::fs::symlink(b.join("a/h1"), b.join("a/to-h1")).unwrap();
        std::os::unix::fs::symlink(b.join("a"), b.join("alias")).unwrap();
        // Through a symlink, nested in another, not there yet, and sharing ancestors.
        let hidden: Vec<PathBuf> = [
            b.join("alias/h1"),
            b.join("a/h1/sub"),
            b.join("a/h2"),
            b.join("c/not/there"),
        ]
        .iter()
        .map(|h| resolve(h).unwrap())
        .collect();
        let base = b.canonicalize().unwrap();
        let grants = grants_around(&base, &hidden, "test").unwrap();
        let granted: BTreeSet<&Path> = grants.iter().map(|g| g.path.as_path()).collect();
        for yes in ["a/s1", "a/s2", "b", "scratch", "other", "hidden"] {
            assert!(granted.contains(base.join(yes).as_path()), "{yes} not granted");
        }
        for no in ["a", "a/h1", "a/h1/sub", "a/h2", "a/to-h1", "alias", "c"] {
            assert!(!granted.contains(base.join(no).as_path()), "{no} granted");
        }
        assert!(
            !granted.iter().any(|p| base.starts_with(p)),
            "the root or an ancestor granted"
        );
        assert!(
            granted.iter().all(|p| p.starts_with(&base)),
            "something outside the root granted"
        );
        let file = grants.iter().find(|g| g.path == base.join("a/s1")).unwrap();
        assert_eq!(file.access, READ_FILE);
        // Nothing hidden beneath it: the root whole.
        let whole = grants_around(&base.join("b"), &[], "test").unwrap();
        assert_eq!(whole.len(), 1);
        assert_eq!(
            (whole[0].path.as_path(), whole[0].access),
            (base.join("b").as_path(), READ_DIR)
        );
    }

    #[test]
    fn the_nearer_of_hidden_and_granted_wins() {
        let tree = Tree::new();
        let base = tree.base.canonicalize().unwrap();
        for dir in ["sys/h", "sys/s", "h2/sys", "h2/work/deeper", "h2/work/src"] {
            fs::create_dir_all(base.join(dir)).unwrap();
        }
        let allowed = |path: &str, readable: bool| Allowed {
            path: base.join(path),
            why: "test",
            readable,
        };
        let list = [
            allowed("sys", false),
            allowed("h2/sys", false),
            allowed("h2/work", true),
        ];
        let hidden = [base.join("sys/h"), base.join("h2"), base.join("h2/work/deeper")];
        let grants = grants_of(&list, &hidden).unwrap();
        let granted: BTreeSet<&Path> = grants.iter().map(|g| g.path.as_path()).collect();
        // A hidden folder beneath a system one is gone around; a system folder inside a
        // hidden one is not granted; a readable one inside a hidden one is, but for a
        // hidden folder deeper still.
        for yes in ["sys/s", "h2/work/src"] {
            assert!(
                granted.contains(base.join(yes).as_path()),
                "{yes} not granted: {granted:?}"
            );
        }
        for no in ["sys", "sys/h", "h2", "h2/sys", "h2/work", "h2/work/deeper"] {
            assert!(!granted.contains(base.join(no).as_path()), "{no} granted: {granted:?}");
        }
        assert_eq!(grants.len(), 2, "{granted:?}");
    }

    #[test]
    fn the_allow_list_is_the_system_the_sysroot_and_the_readable_folders() {
        let tree = Tree::new();
        let sysroot = toolchain_sysroot(std::slice::from_ref(&tree.work));
        let list = allow_list(sysroot.as_deref(), std::slice::from_ref(&tree.work)).unwrap();
        let paths: Vec<&Path> = list.iter().map(|a| a.path.as_path()).collect();
        eprintln!("allow-list: {list:#?}");
        // A busybox guest of scripts/kernels has no /usr: what exists is granted.
        if Path::new("/usr").is_dir() {
            assert!(paths.contains(&Path::new("/usr")), "{paths:?}");
        }
        assert!(paths.contains(&Path::new("/proc")), "{paths:?}");
        assert!(paths.contains(&Path::new("/dev/null")), "{paths:?}");
        assert!(!paths.contains(&Path::new("/etc")), "{paths:?}");
        assert!(!paths.contains(&Path::new("/")), "{paths:?}");
        // Merged /usr: /bin is granted as what it resolves to.
        assert!(paths.iter().all(|p| p.canonicalize().unwrap() == *p), "{paths:?}");
        assert!(
            list.iter()
                .any(|a| a.readable && a.path == tree.work.canonicalize().unwrap())
        );
        if let Some(sysroot) = sysroot {
            assert!(sysroot.join("lib/rustlib").is_dir(), "{sysroot:?}");
            assert!(paths.contains(&sysroot.canonicalize().unwrap().as_path()), "{paths:?}");
        }
    }

    #[test]
    fn not_enforced_names_only_what_is_missing() {
        let tree = Tree::new();
        let start = Instant::now();
        let sandbox = tree.sandbox();
        let built = start.elapsed();
        let mut cmd = Command::new("true");
        let start = Instant::now();
        sandbox.confine(&mut cmd, &tree.scratch);
        eprintln!(
            "Sandbox::new took {built:?} ({} grants), confine {:?}",
            sandbox.grants.len(),
            start.elapsed()
        );
        eprintln!("not enforced: {:#?}", sandbox.not_enforced());
        let landlock_gaps = sandbox.not_enforced().iter().filter(|s| s.contains("Landlock")).count();
        match landlock_abi() {
            0 => assert_eq!(landlock_gaps, 1),
            1..=2 => assert_eq!(landlock_gaps, 4),
            3..=4 => assert_eq!(landlock_gaps, 3),
            5 => assert_eq!(landlock_gaps, 2),
            _ => assert_eq!(landlock_gaps, 0),
        }
    }

    #[test]
    fn no_new_privs_is_set_even_without_landlock() {
        let tree = Tree::new();
        let out = tree.confined_sh("grep NoNewPrivs /proc/self/status");
        assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    }

    #[test]
    fn no_capability_is_left_even_as_root() {
        let tree = Tree::new();
        let out = tree.confined_sh("grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status");
        // Emptying the bounding set takes CAP_SETPCAP: root has it, and so does a user in a
        // namespace of its own; a user without one keeps it full, but has no capability to
        // gain through it (no_new_privs: no file capabilities, no setuid).
        // SAFETY: getuid only returns a number.
        let can_drop_bounding = unsafe { libc::getuid() } == 0 || tree.sandbox().namespaces.is_some();
        let empty = if can_drop_bounding { 4 } else { 3 };
        assert_eq!(out.matches("0000000000000000").count(), empty, "{out}");
    }

    #[test]
    fn no_descriptor_is_inherited_but_the_standard_three() {
        let tree = Tree::new();
        let file = fs::File::open("/dev/null").unwrap();
        // SAFETY: dup gives a new descriptor without CLOEXEC, as a shell's fd 9 is.
        let leaked = unsafe { libc::dup(file.as_raw_fd()) };
        assert!(leaked > 2);
        let out = tree.confined_sh(&format!(
            "[ -e /proc/$$/fd/{leaked} ] && echo inherited; exec ls /proc/self/fd"
        ));
        // SAFETY: closing the descriptor dup gave us.
        unsafe { libc::close(leaked) };
        assert!(!out.contains("inherited"), "{out}");
        // ls's own descriptor of the folder it lists is the 3.
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            ["0", "1", "2", "3"],
            "{out}"
        );
    }

    #[test]
    fn namespaces_keep_ipc_and_the_network_to_the_test() {
        let tree = Tree::new();
        if tree.sandbox().namespaces.is_none() {
            eprintln!("skipped namespaces_keep_ipc_and_the_network_to_the_test: no namespaces here");
            return;
        }
        let out = tree.confined_sh(
            r#"
            ipcmk -Q > /dev/null && echo made-a-queue
            [ "$(readlink /proc/self/ns/ipc)" != "$OUTER_IPC" ] && echo own-ipc
            [ "$(readlink /proc/self/ns/net)" != "$OUTER_NET" ] && echo own-net
            grep -c . /proc/net/route
            cat /sys/class/net/lo/operstate 2>/dev/null; grep -q ' lo:' /proc/net/dev && echo has-lo
            ls /sys/class/net 2>/dev/null | tr '
' ' '
            "#,
        );
        // ipcmk is util-linux's: a system without it (the kernel matrix's busybox guest)
        // still shows the namespaces, but makes no queue.
        let has_ipcmk = Command::new("sh")
            .args(["-c", "command -v ipcmk"])
            .output()
            .is_ok_and(|o| o.status.success());
        let expected = ["made-a-queue", "own-ipc", "own-net", "has-lo"];
        for yes in expected.into_iter().filter(|&yes| has_ipcmk || yes != "made-a-queue") {
            assert!(out.contains(yes), "{yes} missing: {out}");
        }
        // The route table's header only: no route out.
        assert!(out.lines().any(|l| l.trim() == "1"), "{out}");
        let Ok(queues) = Command::new("ipcs").arg("-q").output() else {
            return;
        };
        let key_lines = String::from_utf8_lossy(&queues.stdout)
            .lines()
            .filter(|l| l.starts_with("0x"))
            .count();
        eprintln!("queues left outside: {key_lines}");
    }

    #[test]
    fn the_seccomp_filter_refuses_with_eperm() {
        let tree = Tree::new();
        // unshare(1) calls unshare(2); `true` runs, so clone/fork/exec still work.
        let out = tree.confined_sh("unshare --ipc true 2>&1; echo unshare=$?; true && echo still-runs");
        assert!(out.contains("Operation not permitted"), "{out}");
        assert!(!out.contains("unshare=0"), "{out}");
        assert!(out.contains("still-runs"), "{out}");
        let threads = tree.confined_sh("grep -c . /proc/self/status > /dev/null && echo ok");
        assert!(threads.contains("ok"), "{threads}");
    }

    #[test]
    fn a_test_over_its_cpu_time_ends_with_sigxcpu_named_in_its_message() {
        use std::os::unix::process::ExitStatusExt;
        let tree = Tree::new();
        let limits = Limits {
            cpu_seconds: 1,
            ..Limits::default()
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("while :; do :; done");
        tree.sandbox().with_limits(limits).confine(&mut cmd, &tree.scratch);
        let signal = cmd.status().unwrap().signal();
        assert_eq!(signal, Some(libc::SIGXCPU));
        let verdict = rlimits::explain(&limits, Verdict::Crash("crashed".into()), signal, "");
        assert!(
            format!("{verdict:?}").contains("used more than 1 s of CPU"),
            "{verdict:?}"
        );
    }

    #[test]
    fn processes_are_capped_in_a_user_namespace_of_their_own() {
        let tree = Tree::new();
        let sandbox = tree.sandbox();
        if !sandbox.namespaces.as_ref().is_some_and(Plan::counts_processes_alone) {
            eprintln!(
                "skipped processes_are_capped_in_a_user_namespace_of_their_own: no user namespace of its own (root?)"
            );
            return;
        }
        let limits = Limits {
            processes: 8,
            ..Limits::default()
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("for i in $(seq 20); do sleep 3 & echo started; done");
        sandbox.with_limits(limits).confine(&mut cmd, &tree.scratch);
        let out = cmd.output().unwrap();
        let started = String::from_utf8_lossy(&out.stdout).matches("started").count();
        // The shell gives up at the first fork the limit refuses.
        assert!(started < 8, "{started} processes started beside the shell");
        assert!(started > 0, "{}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn covered_folders_hide_their_sockets_and_nothing_leaks_out() {
        use std::os::unix::net::UnixListener;
        let tree = Tree::new();
        let _agent = UnixListener::bind(tree.other.join("agent.sock")).unwrap();
        let mut sandbox = tree.sandbox();
        sandbox.namespaces = match Plan::probe(std::slice::from_ref(&tree.other)) {
            Some((plan, true)) => Some(plan),
            _ => {
                eprintln!("skipped covered_folders_hide_their_sockets_and_nothing_leaks_out: no mount namespace here");
                return;
            }
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#"[ -S "$OTHER/agent.sock" ] && echo socket-seen; touch "$OTHER/x" 2>/dev/null && echo wrote; echo done"#)
            .env("OTHER", &tree.other);
        sandbox.confine(&mut cmd, &tree.scratch);
        let out = String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned();
        assert_eq!(out.trim(), "done", "{out}");
        assert!(
            tree.other.join("agent.sock").exists(),
            "the socket is still there outside"
        );
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.contains("munmap-grader-cover"), "a cover leaked out: {mounts}");
    }

    #[test]
    fn folders_holding_what_a_test_needs_are_not_covered() {
        let tree = Tree::new();
        let cover = namespaces::folders_to_cover(std::slice::from_ref(&tree.work));
        let work = tree.work.canonicalize().unwrap();
        assert!(!cover.iter().any(|dir| work.starts_with(dir)), "{cover:?}");
        let elsewhere = namespaces::folders_to_cover(&[PathBuf::from("/usr/share")]);
        assert!(
            elsewhere.contains(&PathBuf::from("/run")) || !Path::new("/run").is_dir(),
            "{elsewhere:?}"
        );
        assert!(
            !elsewhere.contains(&PathBuf::from("/var/run")),
            "a symlink is covered through its target"
        );
        let plan = Plan::probe(&[PathBuf::from("/run")]);
        if let Some((plan, _)) = plan {
            let for_scratch = plan.for_scratch(Path::new("/run/user/scratch"));
            assert!(
                format!("{for_scratch:?}").matches("/run").count() == 0,
                "{for_scratch:?}"
            );
        }
    }

    #[test]
    fn limits_are_set_before_the_first_instruction() {
        let tree = Tree::new();
        let limits = Limits {
            memory_mib: 700,
            processes: 33,
            open_files: 77,
            file_size_mib: 3,
            cpu_seconds: 9,
            ..Limits::default()
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("ulimit -v; ulimit -n; ulimit -f; ulimit -c; ulimit -t; grep 'Max processes' /proc/self/limits");
        tree.sandbox().with_limits(limits).confine(&mut cmd, &tree.scratch);
        let out = String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned();
        let lines: Vec<&str> = out.lines().collect();
        // ulimit -v is in KiB, -f in 512-byte blocks.
        assert_eq!(&lines[..5], ["716800", "77", "6144", "0", "9"], "{out}");
        let own_userns = tree
            .sandbox()
            .namespaces
            .as_ref()
            .is_some_and(Plan::counts_processes_alone);
        let processes = lines[5].split_whitespace().nth(2);
        assert_eq!(processes == Some("33"), own_userns, "{out}");
    }

    #[test]
    fn writes_go_to_scratch_and_dev_null_only() {
        if !landlock_or_skip("writes_go_to_scratch_and_dev_null_only") {
            return;
        }
        let tree = Tree::new();
        let out = tree.confined_sh(
            r#"
            echo x > "$SCRATCH/f" && echo wrote-scratch
            mkdir "$SCRATCH/d" && mv "$SCRATCH/f" "$SCRATCH/d/g" && echo moved-in-scratch
            cat "$SCRATCH/d/g" > /dev/null && echo read-scratch
            echo y > "$OTHER/f" && echo wrote-other
            mkdir "$OTHER/d" && echo mkdir-other
            echo z > "$WORK/f" && echo wrote-work
            rm "$WORK/ok.txt" && echo removed-work
            echo z > /dev/null && echo wrote-dev-null
            "#,
        );
        for yes in ["wrote-scratch", "moved-in-scratch", "read-scratch", "wrote-dev-null"] {
            assert!(out.contains(yes), "{yes} missing: {out}");
        }
        for no in ["wrote-other", "mkdir-other", "wrote-work", "removed-work"] {
            assert!(!out.contains(no), "{no} happened: {out}");
        }
        assert!(!tree.other.join("f").exists());
        assert!(tree.work.join("ok.txt").exists());
        assert!(tree.scratch.join("d/g").exists());
    }

    #[test]
    fn reads_reach_only_the_allow_list_and_the_work_folder() {
        if !landlock_or_skip("reads_reach_only_the_allow_list_and_the_work_folder") {
            return;
        }
        let tree = Tree::new();
        // other/ stands for a home folder or another checkout's solutions/: neither hidden
        // nor readable, and readable outside.
        fs::write(tree.other.join("notes.txt"), "other-notes\n").unwrap();
        assert!(fs::read_to_string(tree.other.join("notes.txt")).is_ok());
        let out = tree.confined_sh(
            r#"
            cat "$HIDDEN/secret.txt"
            ls "$HIDDEN" && echo listed-hidden
            cat "$WORK/ok.txt"
            [ -f "$OTHER/notes.txt" ] && echo other-is-there
            cat "$OTHER/notes.txt"
            ls "$OTHER" > /dev/null && echo listed-other
            [ -f /etc/ld.so.cache ] || echo read-ld-cache
            head -c 5 /etc/ld.so.cache > /dev/null && echo read-ld-cache
            head -c 5 /etc/passwd > /dev/null && echo read-etc-passwd
            ls /etc > /dev/null && echo listed-etc
            for t in /usr/bin/true /bin/true; do [ -x $t ] && $t && echo ran-true && break; done
            grep -q VmSize /proc/self/status && echo read-proc
            head -c 4 /dev/urandom > /dev/null && head -c 4 /dev/zero > /dev/null && echo read-devices
            "#,
        );
        for yes in [
            "readable-ok",
            "other-is-there",
            "read-ld-cache",
            "ran-true",
            "read-proc",
            "read-devices",
        ] {
            assert!(out.contains(yes), "{yes} missing: {out}");
        }
        for no in [
            "the-secret",
            "listed-hidden",
            "other-notes",
            "listed-other",
            "read-etc-passwd",
            "listed-etc",
        ] {
            assert!(!out.contains(no), "{no} leaked: {out}");
        }
    }

    /// Issue 24: no process of a test writes another's memory (nor its own) through
    /// /proc: /proc is granted for reading only. (ptrace and process_vm_writev are the
    /// seccomp filter's.)
    #[test]
    fn no_test_process_writes_memory_through_proc() {
        if !landlock_or_skip("no_test_process_writes_memory_through_proc") {
            return;
        }
        let tree = Tree::new();
        let out = tree.confined_sh(
            r#"
            (exec 3<>/proc/self/mem) 2>/dev/null && echo opened-own-mem
            sh -c 'exec 3<>/proc/$PPID/mem' 2>/dev/null && echo opened-parent-mem
            (exec 3</proc/self/mem) 2>/dev/null && echo read-own-mem
            "#,
        );
        assert!(out.contains("read-own-mem"), "reading stays: {out}");
        for no in ["opened-own-mem", "opened-parent-mem"] {
            assert!(!out.contains(no), "{no}: {out}");
        }
    }

    #[test]
    fn raw_disks_are_out_of_reach() {
        if !landlock_or_skip("raw_disks_are_out_of_reach") {
            return;
        }
        let Some(disk) = block_devices().into_iter().next() else {
            eprintln!("skipped raw_disks_are_out_of_reach: no block device in /dev");
            return;
        };
        let tree = Tree::new();
        let out = tree.confined_sh(&format!("head -c 1 {} > /dev/null && echo read-disk", disk.display()));
        assert!(!out.contains("read-disk"), "{out}");
    }

    #[test]
    fn programs_beneath_the_hidden_folder_do_not_run() {
        if !landlock_or_skip("programs_beneath_the_hidden_folder_do_not_run") {
            return;
        }
        let tree = Tree::new();
        let out = tree.confined_sh(r#""$HIDDEN/tool"; sh "$HIDDEN/tool"; "$WORK/tool""#);
        assert!(out.contains("work-tool-ran"), "{out}");
        assert!(!out.contains("hidden-tool-ran"), "{out}");
    }

    #[test]
    fn signals_stay_inside_the_domain() {
        if !landlock_or_skip("signals_stay_inside_the_domain") {
            return;
        }
        let tree = Tree::new();
        let mut outsider = Command::new("sleep").arg("30").spawn().unwrap();
        let out = tree.confined_sh(&format!(
            r#"
            kill -TERM {}; echo outside=$?
            sleep 30 & kill -TERM $!; wait $!; echo own-child=$?
            "#,
            outsider.id()
        ));
        let survived = outsider.try_wait().unwrap().is_none();
        let _ = outsider.kill();
        let _ = outsider.wait();
        assert!(survived, "the confined process killed a process outside");
        assert!(!out.contains("outside=0"), "{out}");
        assert!(out.contains("own-child=143"), "{out}");
    }

    #[test]
    fn abstract_unix_sockets_outside_are_out_of_reach() {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
        const NAME: &str = "judge::sandbox::tests::abstract_unix_sockets_outside_are_out_of_reach";
        if let Some(part) = helper_part() {
            // The helper: the test binary itself, confined from its first instruction.
            let name = part.strip_prefix("connect:").unwrap();
            let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
            match UnixStream::connect_addr(&addr) {
                Ok(_) => println!("connect: ok"),
                Err(e) => println!("connect: failed ({e})"),
            }
            return;
        }
        if !landlock_or_skip(NAME) {
            return;
        }
        let tree = Tree::new();
        let name = format!("munmap-grader-sandbox-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let _listener = UnixListener::bind_addr(&addr).unwrap();
        // The helper is this test binary: its folder is readable, as a work folder's build is.
        let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
        let sandbox = Sandbox::new(std::slice::from_ref(&tree.hidden), &[tree.work.clone(), deps]).unwrap();
        let run = |confined: bool| {
            let mut cmd = helper(NAME, &format!("connect:{name}"));
            if confined {
                sandbox.confine(&mut cmd, &tree.scratch);
            }
            let out = cmd.output().unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let free = run(false);
        assert!(free.contains("connect: ok"), "{free}");
        let confined = run(true);
        assert!(confined.contains("connect: failed"), "{confined}");
    }

    #[test]
    fn a_missing_scratch_fails_the_spawn() {
        if !landlock_or_skip("a_missing_scratch_fails_the_spawn") {
            return;
        }
        let tree = Tree::new();
        let mut cmd = Command::new("true");
        tree.sandbox().confine(&mut cmd, &tree.base.join("no-such-scratch"));
        let err = cmd.spawn().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
    }

    #[test]
    fn orphans_of_a_setsid_daemon_are_killed_by_a_subreaper() {
        const NAME: &str = "judge::sandbox::tests::orphans_of_a_setsid_daemon_are_killed_by_a_subreaper";
        if helper_part().is_none() {
            // Being a subreaper would adopt the orphans of every test in this process, and
            // kill_orphans would kill their children: play the part in a process of its own.
            let ended =
                munmap_lab_protocol::bounded::run(helper(NAME, "subreaper"), Duration::from_secs(20), 1 << 16).unwrap();
            let out = String::from_utf8_lossy(&ended.output);
            assert!(ended.status.is_some_and(|s| s.success()), "{out}");
            assert!(out.contains("1 passed"), "{out}");
            return;
        }
        become_subreaper().unwrap();
        let tree = Tree::new();
        let pid_file = tree.scratch.join("daemon.pid");
        // A build going on beside the tests: never killed while it is kept.
        let mut build = spawn_kept(Command::new("sleep").arg("30")).unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(
                r#"setsid sh -c 'echo $$ > "$PID_FILE"; exec sleep 60' &
                while [ ! -s "$PID_FILE" ]; do sleep 0.01; done"#,
            )
            .env("PID_FILE", &pid_file);
        let ended = munmap_lab_protocol::bounded::run(cmd, Duration::from_secs(10), 1024).unwrap();
        assert!(ended.status.is_some_and(|s| s.success()), "{ended:?}");
        let daemon: u32 = fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        // The daemon's parent exited: the orphan is ours now.
        let start = Instant::now();
        while !children().iter().any(|&(pid, _)| pid == daemon) {
            assert!(start.elapsed() < Duration::from_secs(2), "daemon not adopted");
            std::thread::sleep(Duration::from_millis(10));
        }
        let killed = kill_orphans();
        assert_eq!(killed, 1);
        assert!(
            !Path::new(&format!("/proc/{daemon}")).exists(),
            "daemon {daemon} still there"
        );
        assert!(build.try_wait().unwrap().is_none(), "a child spawned kept was killed");
        assert_eq!(children().len(), 1);
        assert_eq!(kill_orphans(), 0);
        // Dropped, it is an orphan like any other.
        let build_pid = build.id();
        drop(build);
        assert_eq!(kill_orphans(), 1);
        assert!(!Path::new(&format!("/proc/{build_pid}")).exists());
    }
}
