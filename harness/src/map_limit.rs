//! Running a few lines of code while the process is at `vm.max_map_count`.
//!
//! A process may hold at most `vm.max_map_count` mappings (VMAs). At that limit the
//! kernel refuses anything that needs one more, including a `munmap()` that punches
//! a hole strictly inside a mapping (the mapping would become two). The sysctl is
//! never changed here; instead a forked process *fills* its own address space:
//!
//! - one large `PROT_NONE` reservation is made before the fork (one mapping);
//! - the fork `mprotect()`s every other page of it to `PROT_READ`, so the pieces
//!   cannot merge and each call adds two mappings, until the kernel answers
//!   `ENOMEM`: from then on the process holds exactly `vm.max_map_count` mappings;
//! - it runs the body, writes the body's result words into a pipe and `_exit`s.
//!
//! At the limit the process can hardly do anything that needs a new mapping (even
//! opening a file through buffered I/O may fail), and it is a fork of a
//! multi-threaded process. So the forked side, and the body, should use only plain
//! system calls and memory that already exists: no `/proc` reads, no new mappings,
//! no locks. The parent does the judging, with a deadline.
//!
//! Where `vm.max_map_count` is so high that filling up to it would cost more than a
//! fraction of a second (many distributions set 1048576), [`run_at_map_count_limit`]
//! returns [`AtLimit::Unreachable`] with the numbers, for the test to `skip()`.

use std::fmt::Write as _;
use std::io::Read;
use std::mem::MaybeUninit;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, pipe};

use super::children::poll_until;
use super::{page_size, pages};

/// The highest `vm.max_map_count` the tests fill up to. With the default 65530, one
/// run (fork, fill, body, exit with every mapping torn down) took 0.23 s on a 2-core
/// machine with kernel 6.18, and 0.5-0.7 s with both cores kept busy; twice the
/// default stays around a second at worst. Common raised values (262144, 1048576)
/// would take seconds and hundreds of MB of kernel memory: those machines skip.
pub const MAX_REACHABLE: usize = 131_072;

/// How long the forked process may take, filling and running the body included: half the
/// test's own time limit (5 s of the default 10), so a loop in the lab is named before the
/// whole test is killed, and a slow machine given a longer limit (an emulated one:
/// scripts/kernels under TCG) gets a longer deadline too.
fn deadline() -> Duration {
    super::isolate::timeout() / 2
}

/// Spare pages in the reservation beyond `vm.max_map_count` (it must never run out first).
const SPARE_PAGES: usize = 64;

/// What the forked process writes into the pipe, as the bytes of this struct (the
/// parent is the same program, so it reads them back as the same type).
#[repr(C)]
#[derive(Clone, Copy)]
struct Report<T: Copy> {
    /// [`REACHED`], [`NOT_REACHED`], [`FILL_FAILED`] or [`BODY_PANICKED`].
    status: u64,
    fill_calls: u64,
    fill_nanos: u64,
    /// The errno that ended the fill (ENOMEM when the limit was reached).
    errno: u64,
    /// What the body returned (only when `status` is [`REACHED`]).
    result: MaybeUninit<T>,
}

const REACHED: u64 = 1;
const NOT_REACHED: u64 = 2;
const FILL_FAILED: u64 = 3;
const BODY_PANICKED: u64 = 4;

/// How a run at the limit ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AtLimit<T> {
    /// The body ran with the process at the limit and returned `result`.
    Ran {
        result: T,
        /// `vm.max_map_count` as read before the fork.
        max_map_count: usize,
        /// mprotect calls it took to reach the limit.
        fill_calls: u64,
        /// Time spent filling.
        fill_time: Duration,
        /// From fork to reaping the process, teardown of all its mappings included.
        total_time: Duration,
    },
    /// The limit cannot be reached cheaply on this machine; the reason says why, with numbers.
    Unreachable(String),
    /// The body panicked (its message went to the test's output).
    BodyPanicked,
    /// The forked process did not report: the reason says what happened instead.
    Failed(String),
}

/// At the limit, only what the body returned is the lab's (the fill's numbers are the
/// machine's, and a failure's reason has its own message).
impl<T: super::returned::Returned> super::returned::Returned for AtLimit<T> {
    fn shown(&self) -> String {
        match self {
            AtLimit::Ran { result, .. } => result.shown(),
            AtLimit::Unreachable(_) => "(the limit could not be reached here)".to_string(),
            AtLimit::BodyPanicked => "(the body panicked)".to_string(),
            AtLimit::Failed(_) => "(the forked process did not report)".to_string(),
        }
    }
}

/// Forks, fills the fork's address space up to `vm.max_map_count`, runs `body`
/// there and returns what it returned. See the module documentation for what the
/// body may do. What it returns comes back as plain bytes: a `Copy` value of numbers,
/// `Result`s and errnos, never a reference or pointer to memory the fork made.
pub fn run_at_map_count_limit<T: Copy + 'static>(body: impl FnOnce() -> T) -> AtLimit<T> {
    let max_map_count = match read_max_map_count() {
        Ok(n) => n,
        Err(reason) => return AtLimit::Unreachable(reason),
    };
    if let Err(reason) = reachable(max_map_count, count_mappings().unwrap_or(0)) {
        return AtLimit::Unreachable(reason);
    }
    let region_pages = max_map_count + SPARE_PAGES;
    // SAFETY: a fresh PROT_NONE mapping chosen by the kernel overlaps nothing.
    let region = match unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(pages(region_pages)).expect("non-zero length"),
            ProtFlags::PROT_NONE,
            MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE,
        )
    } {
        Ok(region) => region.cast::<u8>(),
        Err(e) => {
            return AtLimit::Unreachable(format!(
                "cannot reserve {region_pages} pages of address space to fill ({e}); RLIMIT_AS may be too small"
            ));
        }
    };
    let outcome = fork_and_fill(region, region_pages, max_map_count, body);
    // SAFETY: the reservation was made above and nothing else uses it in this process.
    let _ = unsafe { munmap(region.cast(), pages(region_pages)) };
    outcome
}

/// Whether filling up to `max_map_count` is cheap enough to do in a test, for a
/// process that already has `have` mappings; the reason to skip when it is not.
pub fn reachable(max_map_count: usize, have: usize) -> Result<(), String> {
    if max_map_count <= MAX_REACHABLE {
        return Ok(());
    }
    Err(format!(
        "vm.max_map_count is {max_map_count} here: reaching it would mean creating about {} more mappings \
         (this process has {have}); the test fills up to a limit of at most {MAX_REACHABLE}, to stay within \
         about a second, and never changes the sysctl",
        max_map_count.saturating_sub(have)
    ))
}

/// Bit `i` is set when page `i` from `first` is mapped (`mincore` succeeds; PROT_NONE counts).
/// Allocates nothing, so it is safe to call at the limit. At most 64 pages.
pub fn mapped_mask(first: NonNull<u8>, count: usize) -> u64 {
    assert!(count <= 64, "a mask holds at most 64 pages");
    let mut mask = 0;
    for i in 0..count {
        let mut resident = 0u8;
        let page = first.as_ptr().wrapping_add(pages(i));
        // SAFETY: mincore reads page tables only and writes one byte for one page.
        if unsafe { libc::mincore(page.cast(), page_size(), &mut resident) } == 0 {
            mask |= 1 << i;
        }
    }
    mask
}

/// `vm.max_map_count`, or the value of `MUNMAP_LAB_MAX_MAP_COUNT` when set: the flake hunt
/// uses it to walk the skip path of a machine with a huge limit without touching the sysctl.
/// (A value below the real limit would make the fill stop short and fail, so only pretend higher.)
fn read_max_map_count() -> Result<usize, String> {
    if let Some(pretend) = std::env::var("MUNMAP_LAB_MAX_MAP_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Ok(pretend);
    }
    let text = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map_err(|e| format!("cannot read /proc/sys/vm/max_map_count ({e})"))?;
    text.trim()
        .parse()
        .map_err(|e| format!("/proc/sys/vm/max_map_count holds {text:?}, not a number ({e})"))
}

/// Mappings this process holds now: lines of `/proc/self/maps`, read in one go.
fn count_mappings() -> std::io::Result<usize> {
    let bytes = std::fs::read("/proc/self/maps")?;
    Ok(bytes.iter().filter(|&&b| b == b'\n').count())
}

fn fork_and_fill<T: Copy + 'static>(
    region: NonNull<u8>,
    region_pages: usize,
    max_map_count: usize,
    body: impl FnOnce() -> T,
) -> AtLimit<T> {
    let (reader, writer) = match pipe() {
        Ok(ends) => ends,
        Err(e) => return AtLimit::Failed(format!("creating a pipe failed: {e}")),
    };
    let started = Instant::now();
    // SAFETY: the child runs only `in_child`, which makes plain system calls and the
    // body, then `_exit`s without returning into the test harness.
    match unsafe { fork() } {
        Err(e) => AtLimit::Failed(format!("fork failed: {e}")),
        Ok(ForkResult::Child) => in_child(region, region_pages, &writer, body),
        Ok(ForkResult::Parent { child }) => {
            drop(writer);
            let status = wait_with_deadline(child);
            let total_time = started.elapsed();
            judge(status, reader, max_map_count, total_time)
        }
    }
}

/// The forked side: fill, run the body, report, `_exit`. Never returns.
fn in_child<T: Copy + 'static>(
    region: NonNull<u8>,
    region_pages: usize,
    writer: &OwnedFd,
    body: impl FnOnce() -> T,
) -> ! {
    exit_on_panic::<T>(writer.as_raw_fd());
    let started = Instant::now();
    let (mut calls, mut errno) = (0u64, 0i32);
    let mut page = 1;
    while page + 1 < region_pages {
        let addr = region.as_ptr().wrapping_add(pages(page));
        // SAFETY: the page lies in the reservation this process owns; nothing touches it.
        if unsafe { libc::mprotect(addr.cast(), page_size(), libc::PROT_READ) } != 0 {
            errno = Errno::last_raw();
            break;
        }
        calls += 1;
        page += 2;
    }
    let mut report = Report {
        status: FILL_FAILED,
        fill_calls: calls,
        fill_nanos: started.elapsed().as_nanos() as u64,
        errno: errno as u64,
        result: MaybeUninit::uninit(),
    };
    if errno == libc::ENOMEM {
        report.result.write(body());
        report.status = REACHED;
    } else if errno == 0 {
        report.status = NOT_REACHED;
    }
    report_and_exit(writer.as_raw_fd(), &report)
}

/// Writes the report into the pipe and ends the forked process at once: no
/// destructors, no atexit handlers, nothing of the test harness runs in it.
fn report_and_exit<T: Copy>(fd: RawFd, report: &Report<T>) -> ! {
    // SAFETY: write and _exit are async-signal-safe; the report lives on this stack and
    // the kernel copies its bytes (Rust code never reads them as bytes).
    unsafe {
        libc::write(fd, (report as *const Report<T>).cast(), size_of::<Report<T>>());
        libc::_exit(0)
    }
}

/// Makes a panic in the forked process print its message and report, without
/// unwinding. The default hook would capture a backtrace, which needs memory and
/// new mappings; at the limit that fails and, in a fork of a multi-threaded
/// process, can hang. Set before filling, while allocating still works.
fn exit_on_panic<T: Copy + 'static>(fd: RawFd) {
    std::panic::set_hook(Box::new(move |info| {
        let mut text = StackText::default();
        let _ = writeln!(text, "{info}");
        // SAFETY: write is async-signal-safe; the text lives on this stack.
        unsafe { libc::write(2, text.bytes.as_ptr().cast(), text.len) };
        let report = Report::<T> {
            status: BODY_PANICKED,
            fill_calls: 0,
            fill_nanos: 0,
            errno: 0,
            result: MaybeUninit::uninit(),
        };
        report_and_exit(fd, &report)
    }));
}

/// A fixed buffer that `write!` can fill without allocating; text beyond it is cut.
struct StackText {
    bytes: [u8; 1024],
    len: usize,
}

impl Default for StackText {
    fn default() -> StackText {
        StackText {
            bytes: [0; 1024],
            len: 0,
        }
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.bytes.len() - self.len;
        let take = s.len().min(room);
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// Waits for the forked process until the deadline, then kills it; `None` means it was killed.
fn wait_with_deadline(child: nix::unistd::Pid) -> Option<WaitStatus> {
    let status = poll_until(deadline(), || match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) => None,
        Ok(status) => Some(Some(status)),
        Err(_) => Some(None),
    })
    .flatten();
    if status.is_none() {
        let _ = kill(child, Signal::SIGKILL);
        let _ = waitpid(child, None);
    }
    status
}

fn judge<T: Copy>(
    status: Option<WaitStatus>,
    reader: OwnedFd,
    max_map_count: usize,
    total_time: Duration,
) -> AtLimit<T> {
    match status {
        None => {
            return AtLimit::Failed(format!(
                "the process at the map-count limit did not finish within {} s and was killed: look for a loop \
                 that never ends",
                deadline().as_secs_f64()
            ));
        }
        Some(WaitStatus::Signaled(_, signal, _)) => {
            return AtLimit::Failed(format!(
                "the process at the map-count limit was killed by {}",
                signal.as_str()
            ));
        }
        Some(_) => {}
    }
    let mut bytes = Vec::new();
    let _ = std::fs::File::from(reader).read_to_end(&mut bytes);
    if bytes.len() != size_of::<Report<T>>() {
        return AtLimit::Failed(format!(
            "the process at the map-count limit ended without its report ({} of {} bytes; status {status:?})",
            bytes.len(),
            size_of::<Report<T>>()
        ));
    }
    // SAFETY: exactly the bytes of a Report<T> that this same program wrote in the fork.
    let report = unsafe { bytes.as_ptr().cast::<Report<T>>().read_unaligned() };
    let (calls, fill_time) = (report.fill_calls, Duration::from_nanos(report.fill_nanos));
    match report.status {
        // SAFETY: the fork wrote the body's result before it reported REACHED.
        REACHED => AtLimit::Ran {
            result: unsafe { report.result.assume_init() },
            max_map_count,
            fill_calls: calls,
            fill_time,
            total_time,
        },
        BODY_PANICKED => AtLimit::BodyPanicked,
        NOT_REACHED => AtLimit::Failed(format!(
            "{calls} mprotect calls did not reach vm.max_map_count = {max_map_count}: the reservation ran out first"
        )),
        _ => AtLimit::Failed(format!(
            "filling the address space failed after {calls} mprotect calls with {} instead of ENOMEM",
            Errno::from_raw(report.errno as i32)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Arena;

    #[test]
    fn the_kernel_default_limit_is_filled_and_a_huge_one_is_skipped() {
        assert_eq!(reachable(65_530, 40), Ok(()));
        let reason = reachable(8_249_672, 40).unwrap_err();
        assert!(
            reason.contains("8249672") && reason.contains("never changes the sysctl"),
            "{reason}"
        );
        assert!(
            reachable(1_048_576, 40).is_err(),
            "Ubuntu's and Fedora's limit is too high to fill"
        );
    }

    #[test]
    fn mapped_mask_sees_holes_and_prot_none() {
        let arena = Arena::new(4);
        unsafe { munmap(arena.page(2).cast(), page_size()) }.unwrap();
        arena.map_anonymous(1, 1, ProtFlags::PROT_READ);
        assert_eq!(mapped_mask(arena.page(0), 4), 0b1011);
    }

    /// The kernel fact the helper exists for: at the limit a hole is refused, a trim is not.
    #[test]
    fn at_the_limit_a_hole_fails_and_a_trim_succeeds() {
        let arena = Arena::new(5);
        let addr = arena.map_anonymous(1, 3, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE);
        let outcome = run_at_map_count_limit(|| {
            let hole = unsafe { libc::munmap(addr.as_ptr().wrapping_add(pages(1)).cast(), page_size()) };
            let hole_errno = if hole == 0 { 0 } else { Errno::last_raw() };
            let trim = unsafe { libc::munmap(addr.as_ptr().cast(), page_size()) };
            (hole_errno, trim, mapped_mask(arena.page(0), 5))
        });
        match outcome {
            AtLimit::Ran { result, .. } => {
                let (hole_errno, trim, mapped) = result;
                assert_eq!(hole_errno, libc::ENOMEM, "a hole at the limit is refused");
                assert_eq!(trim, 0, "a front trim at the limit succeeds");
                assert_eq!(mapped, 0b11101, "only the trimmed page is gone");
            }
            AtLimit::Unreachable(reason) => eprintln!("not checked here: {reason}"),
            other => panic!("the run at the limit failed: {other:?}"),
        }
    }
}
