//! New namespaces for each test process: IPC, UTS and network, in a user namespace of
//! its own when the grader is not root (that is what lets an unprivileged user make the
//! others, and what makes RLIMIT_NPROC count the test's processes only).
//!
//! - IPC: SysV shared memory, semaphores and message queues die with the namespace, so
//!   nothing carries from one test (one student) to the next; the kernel removes them.
//! - network: only a loopback interface, brought up here; no route out, no TCP to the
//!   machine's services. (Pathname unix sockets are files: the network namespace does not
//!   hide them; see GRADING.md.)
//! - UTS: a host name of its own to change.
//! - mount: the folders where pathname unix sockets live (`/run`, `/tmp`, the folder of
//!   the grader's `$SSH_AUTH_SOCK`, ...) are covered by an empty read-only tmpfs, so an
//!   ssh-agent or docker.sock cannot be reached by its path; so is the build's
//!   `target/debug/incremental`, where the objects of the submission built before linger.
//!   Mounts do not propagate out (the whole tree is made private first), and the seccomp
//!   filter refuses mount and umount, so lab code cannot uncover them.
//!
//! A PID namespace is not made: the test process itself would stay outside it and its
//! first child would become PID 1 of the new one, which changes what lab 07 (exec/exit)
//! and lab 08 (fork, SIGSEGV in a child) teach about a child's life and signals.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

// One sentence each for `Sandbox::not_enforced`.
pub const NO_MOUNT_NAMESPACE: &str = "This machine lets the grader make no mount namespace: pathname unix \
    sockets (an ssh-agent's, /run/docker.sock) can be reached by lab code, and so can the objects of the \
    submission built before in target/debug/incremental.";
pub const NO_NAMESPACES: &str = "This machine lets the grader make no namespaces (as a user other than root, \
    unprivileged user namespaces are off, e.g. Ubuntu 24.04's kernel.apparmor_restrict_unprivileged_userns=1; as \
    root, no CAP_SYS_ADMIN, as in some containers): SysV IPC objects left by a test are seen by the next one, the \
    network is open, pathname unix sockets in /run and /tmp can be reached, and the number of processes is not capped.";

/// What the pre_exec of a test process does to enter its namespaces, prepared before the fork.
#[derive(Clone, Debug)]
pub struct Plan {
    flags: libc::c_int,
    /// With a user namespace: (file, contents) to write, in order (setgroups, uid_map, gid_map).
    maps: Vec<(CString, CString)>,
    /// Folders to cover with an empty tmpfs (with a mount namespace only).
    cover: Vec<CString>,
}

/// Folders where pathname unix sockets of the machine's services and users live.
const SOCKET_FOLDERS: &[&str] = &["/run", "/var/run", "/tmp", "/var/tmp", "/dev/shm"];

/// The folders to cover in each test's mount namespace: those of [`SOCKET_FOLDERS`] and the
/// grader's `$SSH_AUTH_SOCK` that exist, are no symlink and hold none of `needed` (the work
/// folder, the scratch folders); and `target/debug/incremental` of each work folder.
pub fn folders_to_cover(needed: &[PathBuf]) -> Vec<PathBuf> {
    let agent = std::env::var_os("SSH_AUTH_SOCK").and_then(|s| Path::new(&s).parent().map(Path::to_path_buf));
    let mut cover: Vec<PathBuf> = SOCKET_FOLDERS.iter().map(PathBuf::from).chain(agent).collect();
    cover.retain(|dir| {
        let is_folder = std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir());
        let resolved = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        let holds_needed = needed
            .iter()
            .any(|n| n.canonicalize().unwrap_or_else(|_| n.clone()).starts_with(&resolved));
        is_folder && !holds_needed && dir != Path::new("/")
    });
    let incremental = needed.iter().map(|n| n.join("target/debug/incremental"));
    cover.extend(incremental.filter(|dir| dir.is_dir()));
    cover.sort();
    cover.dedup();
    cover
}

impl Plan {
    /// The namespaces this process can give a test process, found by trying them on a
    /// short-lived child (`true`); None when it can make none.
    /// With `cover` (see [`folders_to_cover`]) a mount namespace too, when one can be made;
    /// the second value says whether it could.
    pub fn probe(cover: &[PathBuf]) -> Option<(Plan, bool)> {
        let full = Plan::for_this_user(cover);
        if full.works() {
            return Some((full, true));
        }
        let without_mounts = Plan::for_this_user(&[]);
        without_mounts.works().then_some((without_mounts, false))
    }

    /// Whether a short-lived child (`true`) can enter these namespaces.
    fn works(&self) -> bool {
        let tried = self.clone();
        // enter() makes only async-signal-safe calls on memory prepared before the fork.
        super::in_a_short_lived_child(move || tried.enter()).is_ok_and(|s| s.success())
    }

    /// The same plan for a test whose scratch folder is `scratch`: no folder holding it is covered.
    pub fn for_scratch(&self, scratch: &Path) -> Plan {
        let mut plan = self.clone();
        let scratch = scratch.canonicalize().unwrap_or_else(|_| scratch.to_path_buf());
        plan.cover
            .retain(|dir| !scratch.starts_with(Path::new(std::ffi::OsStr::from_bytes(dir.as_bytes()))));
        plan
    }

    /// Whether the test process gets a user namespace of its own (the grader is not root).
    pub fn own_user_namespace(&self) -> bool {
        self.flags & libc::CLONE_NEWUSER != 0
    }

    /// Whether RLIMIT_NPROC counts only the test's own processes: in a user namespace of its
    /// own, on Linux 5.14+ (which counts per namespace; before, it counts every process of
    /// the grading user, so a limit would refuse honest forks when that user runs many).
    pub fn counts_processes_alone(&self) -> bool {
        self.own_user_namespace() && kernel_at_least(5, 14)
    }

    fn for_this_user(cover: &[PathBuf]) -> Plan {
        let mut base = libc::CLONE_NEWIPC | libc::CLONE_NEWUTS | libc::CLONE_NEWNET;
        if !cover.is_empty() {
            base |= libc::CLONE_NEWNS;
        }
        let cover: Vec<CString> = cover
            .iter()
            .filter_map(|dir| CString::new(dir.as_os_str().as_bytes()).ok())
            .collect();
        // SAFETY: getuid/getgid only return numbers.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        if uid == 0 {
            return Plan {
                flags: base,
                maps: Vec::new(),
                cover,
            };
        }
        // The same ids inside as outside: files in scratch stay the grader's, and nothing
        // a lesson prints about its ids changes.
        let c = |s: String| CString::new(s).expect("no NUL in a number");
        Plan {
            flags: base | libc::CLONE_NEWUSER,
            maps: vec![
                (c("/proc/self/setgroups".into()), c("deny".into())),
                (c("/proc/self/uid_map".into()), c(format!("{uid} {uid} 1\n"))),
                (c("/proc/self/gid_map".into()), c(format!("{gid} {gid} 1\n"))),
            ],
            cover,
        }
    }

    /// In the child, between fork and exec: unshares, maps its ids, brings `lo` up.
    ///
    /// Async-signal-safe: system calls on memory prepared before the fork, nothing allocated.
    pub fn enter(&self) -> io::Result<()> {
        // SAFETY: unshare, open, write, close, socket and ioctl with valid pointers into
        // memory owned by `self` or the stack.
        unsafe {
            if libc::unshare(self.flags) != 0 {
                return Err(io::Error::last_os_error());
            }
            for (file, contents) in &self.maps {
                let fd = libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                let bytes = contents.as_bytes();
                let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
                libc::close(fd);
                if written != bytes.len() as isize {
                    return Err(io::Error::last_os_error());
                }
            }
            if self.flags & libc::CLONE_NEWNS != 0 {
                // Private first: a mount made here must never show in the grader's namespace.
                let root = c"/".as_ptr();
                if libc::mount(
                    std::ptr::null(),
                    root,
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                for dir in &self.cover {
                    let options = c"size=4k,nr_inodes=2,mode=0555";
                    let done = libc::mount(
                        c"munmap-grader-cover".as_ptr(),
                        dir.as_ptr(),
                        c"tmpfs".as_ptr(),
                        flags,
                        options.as_ptr().cast(),
                    );
                    if done != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
            }
            loopback_up()
        }
    }
}

/// Whether the running kernel's release (uname) is at least `major.minor`.
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let found = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    found >= (major, minor)
}

/// Brings the new network namespace's `lo` up (it starts down), as `ip link set lo up` does.
///
/// # Safety
/// Async-signal-safe: a socket and an ioctl on a request on the stack.
unsafe fn loopback_up() -> io::Result<()> {
    // SAFETY: see above; ifreq is plain data, zeroed is a valid value of it.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (to, from) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *to = *from as libc::c_char;
        }
        request.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        let done = libc::ioctl(fd, libc::SIOCSIFFLAGS, &request);
        libc::close(fd);
        if done != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
