//! The unmaps a test process asked of the kernel, as the grader saw them.
//!
//! A window that does not change proves nothing: a body that returns `Ok(0)` leaves an
//! unmapped range as unmapped as `munmap` does, and `Err(EINVAL)` leaves a mapping as
//! whole as the kernel's refusal. So the grader also watches the calls that unmap:
//! every `munmap` and `mremap` whose address lies in the witnessed window (or at an
//! address no mapping can have: below 64 KiB or above the user address space) stops in
//! the kernel until the grader has recorded it ([`Recorder`]), through a seccomp
//! user-notification filter whose listener only the grader holds. The call then goes on
//! unchanged (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`): the grader reads, it never answers.
//!
//! At each checkpoint the calls since the last one are added to what the grader read,
//! normalised so that every way of asking for the same thing reads the same
//! ([`describe`]): one munmap or several, the libc, nix or raw system call, a shrinking
//! mremap, are all "asked to unmap window pages 3-5". Calls the kernel refuses
//! (an unaligned address, a zero length) are shown as they were made. The filter is
//! inherited by every process the test starts, which the record names apart.

use std::collections::BTreeSet;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use munmap_lab_protocol as protocol;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

/// The data of the TRACE action the filter is compiled with, turned into USER_NOTIF
/// afterwards (seccompiler has no user-notification action).
const MARK: u32 = 0x3a;
/// Addresses below this are never mapped (`vm.mmap_min_addr` is 64 KiB by default):
/// munmap(NULL, ...) and its like are watched wherever they are.
const LOW: u64 = 0x1_0000;
/// Addresses from here up lie above every user address space (47 bits, or 56 with
/// 5-level paging, both below): a call there is one the kernel must refuse.
const HIGH: u64 = 1 << 57;

/// One watched call, as the kernel handed it to the grader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub pid: u32,
    pub nr: i64,
    pub args: [u64; 6],
}

/// The filter that hands the grader every watched call: munmap and mremap at an address
/// in the window, and munmap at one no mapping can have. Err: no filter can be made here.
pub fn program() -> Result<BpfProgram, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())?;
    let base = protocol::WITNESS_BASE as u64;
    let end = base + protocol::pages(protocol::WITNESS_PAGES) as u64;
    let rule = |conditions: Vec<SeccompCondition>| SeccompRule::new(conditions).map_err(|e| e.to_string());
    let in_window = || -> Result<SeccompRule, String> {
        rule(vec![
            SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::Ge, base).map_err(|e| e.to_string())?,
            SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::Lt, end).map_err(|e| e.to_string())?,
        ])
    };
    let low = rule(vec![
        SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::Lt, LOW).map_err(|e| e.to_string())?,
    ])?;
    let high = rule(vec![
        SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::Ge, HIGH).map_err(|e| e.to_string())?,
    ])?;
    let rules = [
        (libc::SYS_munmap, vec![in_window()?, low, high]),
        (libc::SYS_mremap, vec![in_window()?]),
    ];
    let filter = SeccompFilter::new(
        rules.into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Trace(MARK),
        arch,
    )
    .map_err(|e| e.to_string())?;
    let mut program: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    let (ret, trace) = ((libc::BPF_RET | libc::BPF_K) as u16, libc::SECCOMP_RET_TRACE | MARK);
    for op in program.iter_mut().filter(|op| op.code == ret && op.k == trace) {
        op.k = libc::SECCOMP_RET_USER_NOTIF;
    }
    Ok(program)
}

/// In the test process's pre_exec: installs `program` with a new listener and sends the
/// listener to the grader over `socket`, then closes it here (lab code never holds it).
///
/// # Safety
/// Async-signal-safe: seccomp, sendmsg and close on memory prepared before the fork or on
/// the stack; `socket` must be an open unix socket.
pub unsafe fn install_and_send(program: &BpfProgram, socket: RawFd) -> io::Result<()> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: see above; seccompiler's sock_filter has the kernel's layout, as libc's does.
    unsafe {
        let listener = libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &prog as *const libc::sock_fprog,
        );
        if listener < 0 {
            return Err(io::Error::last_os_error());
        }
        let listener = listener as libc::c_int;
        let sent = send_fd(socket, listener);
        libc::close(listener);
        sent
    }
}

/// Sends `fd` over the unix socket `socket` (SCM_RIGHTS), with nothing allocated.
///
/// # Safety
/// Async-signal-safe; `socket` must be an open unix socket.
unsafe fn send_fd(socket: RawFd, fd: libc::c_int) -> io::Result<()> {
    // SAFETY: msghdr and cmsghdr are plain data; the control buffer is aligned (u64s) and
    // larger than CMSG_SPACE(4); every pointer is to this stack frame.
    unsafe {
        let (mut control, mut byte) = ([0u64; 8], [0u8; 1]);
        let mut iov = one_byte(&mut byte);
        let mut msg = message(&mut iov, &mut control);
        msg.msg_controllen = libc::CMSG_SPACE(size_of::<libc::c_int>() as u32) as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::c_int>() as u32) as _;
        libc::CMSG_DATA(cmsg).cast::<libc::c_int>().write_unaligned(fd);
        if libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The one byte a descriptor travels with (SCM_RIGHTS needs some data).
fn one_byte(byte: &mut [u8; 1]) -> libc::iovec {
    libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    }
}

/// A message of `iov` with `control` (u64s: aligned for a cmsghdr) as its whole control
/// buffer. Async-signal-safe: nothing is allocated.
fn message(iov: &mut libc::iovec, control: &mut [u64; 8]) -> libc::msghdr {
    // SAFETY: msghdr is plain data, and all zeroes is a valid (empty) one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(control) as _;
    msg
}

/// The grader's side: a thread that takes the listener the test process sends, records
/// every call it is handed and lets it go on, until [`Recorder::finish`].
pub struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    /// How many of `calls` earlier checkpoints took.
    taken: usize,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// A recorder, and the socket end the test process sends its listener on (for its pre_exec).
    pub fn start() -> io::Result<(Recorder, OwnedFd)> {
        let mut ends = [0; 2];
        // SAFETY: socketpair writes two descriptors into `ends`.
        if unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                ends.as_mut_ptr(),
            )
        } != 0
        {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both are new descriptors that nothing else owns.
        let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
        let calls = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (calls, stop) = (calls.clone(), stop.clone());
            std::thread::Builder::new()
                .name("call-recorder".into())
                .spawn(move || record(&ours, &calls, &stop))?
        };
        Ok((
            Recorder {
                calls,
                taken: 0,
                stop,
                thread: Some(thread),
            },
            theirs,
        ))
    }

    /// What the test's processes asked since the last checkpoint, for the checkpoint of
    /// the test process `pid` (None: nothing was asked).
    pub fn take_segment(&mut self, pid: u32) -> Option<String> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let new = &calls[self.taken..];
        self.taken = calls.len();
        describe(new, pid)
    }

    /// Stops the thread once the test's processes are gone.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The recorder's thread: the listener from `socket`, then every notification on it.
fn record(socket: &OwnedFd, calls: &Mutex<Vec<Call>>, stop: &AtomicBool) {
    let mut listener: Option<OwnedFd> = None;
    loop {
        let fd = listener.as_ref().map_or(socket.as_raw_fd(), AsRawFd::as_raw_fd);
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd on the stack.
        let ready = unsafe { libc::poll(&mut poll, 1, 20) };
        if ready <= 0 {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            continue;
        }
        match &listener {
            None if poll.revents & libc::POLLIN != 0 => match receive_fd(socket) {
                Some(fd) => listener = Some(fd),
                None => return,
            },
            None => return, // the test process is gone before it sent one
            Some(fd) if poll.revents & libc::POLLIN != 0 => {
                if let Some((call, id)) = answer(fd) {
                    calls.lock().unwrap_or_else(|e| e.into_inner()).push(call);
                    // Recorded first, then let go: the process cannot reach its next
                    // checkpoint before its call is in the record.
                    continue_call(fd, id);
                }
            }
            // POLLHUP: every process of the filter has ended.
            Some(_) => return,
        }
    }
}

/// Receives one notification and its id; None when it vanished (its process was killed meanwhile).
fn answer(listener: &OwnedFd) -> Option<(Call, u64)> {
    // SAFETY: a zeroed seccomp_notif is what SECCOMP_IOCTL_NOTIF_RECV asks for.
    let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: the ioctl writes one seccomp_notif into `notif`.
    if unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut notif) } != 0 {
        return None;
    }
    let call = Call {
        pid: process_of(notif.pid),
        nr: i64::from(notif.data.nr),
        args: notif.data.args,
    };
    Some((call, notif.id))
}

/// The process (thread group) of thread `tid`, which the notification names: a test's
/// lab calls run on libtest's thread, not the process's first. The thread is stopped in
/// its call, so its /proc entry is there; `tid` itself if it cannot be read.
fn process_of(tid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Tgid:"))
        .and_then(|tgid| tgid.trim().parse().ok())
        .unwrap_or(tid)
}

/// Lets the call `id` go on as it was made.
fn continue_call(listener: &OwnedFd, id: u64) {
    let resp = libc::seccomp_notif_resp {
        id,
        val: 0,
        error: 0,
        flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
    };
    // SAFETY: the ioctl reads one seccomp_notif_resp; ENOENT (the process died) is fine.
    unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
}

/// The descriptor the test process sent on `socket` (SCM_RIGHTS).
fn receive_fd(socket: &OwnedFd) -> Option<OwnedFd> {
    // SAFETY: as in send_fd, for recvmsg; the descriptor received is new and ours.
    unsafe {
        let (mut control, mut byte) = ([0u64; 8], [0u8; 1]);
        let mut iov = one_byte(&mut byte);
        let mut msg = message(&mut iov, &mut control);
        if libc::recvmsg(socket.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) <= 0 {
            return None;
        }
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_level != libc::SOL_SOCKET || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            return None;
        }
        let fd = libc::CMSG_DATA(cmsg).cast::<libc::c_int>().read_unaligned();
        Some(OwnedFd::from_raw_fd(fd))
    }
}

/// `calls` as one checkpoint shows them (None: there were none): the window pages asked
/// to be unmapped, as one set, then each other call as it was made; the test process's
/// own first, then those of the processes it started.
pub fn describe(calls: &[Call], pid: u32) -> Option<String> {
    if calls.is_empty() {
        return None;
    }
    let mut lines = Vec::new();
    for (own, who) in [(true, ""), (false, " (in a process the test started)")] {
        let mut pages = BTreeSet::new();
        let mut others = BTreeSet::new();
        for call in calls.iter().filter(|c| (c.pid == pid) == own) {
            match unmapped_pages(call) {
                Some(range) => pages.extend(range),
                None => {
                    others.insert(literal(call));
                }
            }
        }
        if !pages.is_empty() {
            lines.push(format!("asked to unmap{who}: {}", window_pages(&pages)));
        }
        lines.extend(others.into_iter().map(|call| format!("asked{who}: {call}")));
    }
    Some(lines.join("\n") + "\n")
}

/// The window pages `call` asks the kernel to unmap, when it is a call the kernel
/// takes: a page-aligned munmap of a length from 1 byte up (rounded up to whole pages),
/// or an mremap that shrinks a mapping in place (its tail goes).
fn unmapped_pages(call: &Call) -> Option<std::ops::Range<usize>> {
    let page = protocol::page_size() as u64;
    let base = protocol::WITNESS_BASE as u64;
    let end = base + protocol::pages(protocol::WITNESS_PAGES) as u64;
    let (start, len) = match call.nr {
        libc::SYS_munmap => (call.args[0], call.args[1]),
        libc::SYS_mremap => {
            let [old, old_len, new_len, flags, ..] = call.args;
            let moves = flags & libc::MREMAP_FIXED as u64 != 0;
            if moves || new_len >= old_len || !old_len.is_multiple_of(page) || !new_len.is_multiple_of(page) {
                return None;
            }
            (old.checked_add(new_len)?, old_len - new_len)
        }
        _ => return None,
    };
    let rounded = len.checked_add(page - 1)? / page * page;
    if !start.is_multiple_of(page) || len == 0 || start < base || start >= end {
        return None;
    }
    let stop = start.checked_add(rounded)?.min(end);
    Some(((start - base) / page) as usize..((stop - base) / page) as usize)
}

/// A call that unmaps no window page, by what the kernel makes of it: where it was
/// aimed, and why it unmaps nothing there (not page-aligned, no length, a length past the
/// end of the address space, outside the window). Lengths are left out where the
/// kernel's answer does not depend on them, so a length rounded by hand before a call
/// the kernel refuses anyway reads the same.
fn literal(call: &Call) -> String {
    let base = protocol::WITNESS_BASE as u64;
    let end = base + protocol::pages(protocol::WITNESS_PAGES) as u64;
    let page = protocol::page_size() as u64;
    let at = |addr: u64| match addr {
        a if (base..end).contains(&a) && (a - base).is_multiple_of(page) => {
            format!("window page {}", (a - base) / page)
        }
        a if (base..end).contains(&a) => format!("window page {} + {} bytes", (a - base) / page, (a - base) % page),
        a => format!("{a:#x}"),
    };
    let [addr, len, ..] = call.args;
    let what = match call.nr {
        libc::SYS_munmap => "munmap",
        libc::SYS_mremap => "mremap",
        nr => return format!("system call {nr} at {}", at(addr)),
    };
    let why = if !addr.is_multiple_of(page) {
        "an address that is not page-aligned"
    } else if len == 0 {
        "a length of 0"
    } else if (len.div_ceil(page).checked_mul(page))
        .and_then(|rounded| addr.checked_add(rounded))
        .is_none_or(|stop| stop > HIGH)
    {
        "a length past the end of the address space"
    } else if !(base..end).contains(&addr) {
        "outside the window"
    } else {
        "a remap that is no shrink in place"
    };
    format!("{what} at {} ({why})", at(addr))
}

/// `pages` as runs: `window pages 1-3, 6`.
fn window_pages(pages: &BTreeSet<usize>) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &p in pages {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == p => *last = p,
            _ => runs.push((p, p)),
        }
    }
    let runs: Vec<String> = runs
        .iter()
        .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
        .collect();
    let word = if pages.len() == 1 {
        "window page"
    } else {
        "window pages"
    };
    format!("{word} {}", runs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PID: u32 = 7;

    fn munmap(addr: u64, len: u64) -> Call {
        Call {
            pid: PID,
            nr: libc::SYS_munmap,
            args: [addr, len, 0, 0, 0, 0],
        }
    }

    fn page(n: u64) -> u64 {
        protocol::WITNESS_BASE as u64 + n * protocol::page_size() as u64
    }

    #[test]
    fn every_way_of_unmapping_the_same_pages_reads_the_same() {
        let p = protocol::page_size() as u64;
        let one = describe(&[munmap(page(3), 3 * p)], PID);
        let several = describe(&[munmap(page(5), p), munmap(page(3), 2 * p)], PID);
        let rounded = describe(&[munmap(page(3), 2 * p + 1)], PID);
        let shrink = Call {
            pid: PID,
            nr: libc::SYS_mremap,
            args: [page(1), 5 * p, 2 * p, 0, 0, 0],
        };
        assert_eq!(one.as_deref(), Some("asked to unmap: window pages 3-5\n"));
        assert_eq!(several, one);
        assert_eq!(rounded, one);
        assert_eq!(describe(&[shrink], PID), one);
    }

    #[test]
    fn refused_calls_are_shown_as_made_and_children_apart() {
        let p = protocol::page_size() as u64;
        let calls = [
            munmap(page(1) + 1, p),
            munmap(0, 0),
            munmap(page(2), 0),
            Call {
                pid: 9,
                ..munmap(page(4), p)
            },
        ];
        assert_eq!(
            describe(&calls, PID).unwrap(),
            "asked: munmap at 0x0 (a length of 0)\n\
             asked: munmap at window page 1 + 1 bytes (an address that is not page-aligned)\n\
             asked: munmap at window page 2 (a length of 0)\n\
             asked to unmap (in a process the test started): window page 4\n"
        );
        assert_eq!(describe(&[], PID), None);
    }

    #[test]
    fn a_refused_call_reads_the_same_whatever_length_the_kernel_ignores() {
        let p = protocol::page_size() as u64;
        let read = |call| describe(&[call], PID).unwrap();
        assert_eq!(read(munmap(page(1) + 1, p)), read(munmap(page(1) + 1, 2 * p)));
        assert_eq!(read(munmap(0, 8 * p)), read(munmap(0, 9 * p)));
        assert_eq!(read(munmap(0, 8 * p)), "asked: munmap at 0x0 (outside the window)\n");
        assert_eq!(
            read(munmap(page(5), u64::MAX - 1264)),
            read(munmap(page(5), u64::MAX - 4095))
        );
        assert_ne!(read(munmap(0, 0)), read(munmap(0, p)));
    }

    #[test]
    fn the_filter_builds_and_notifies() {
        let program = program().unwrap();
        assert!(program.iter().any(|op| op.k == libc::SECCOMP_RET_USER_NOTIF));
        assert!(!program.iter().any(|op| op.k == libc::SECCOMP_RET_TRACE | MARK));
    }
}
