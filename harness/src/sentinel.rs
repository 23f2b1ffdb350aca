//! "Unmapped exactly once", judged by the kernel's state: a sentinel mapping where the
//! pages were, which a second unmap would destroy.
//!
//! Once a range has been unmapped, anything mapped there since belongs to someone
//! else, and a second munmap of the range removes it. [`map_sentinel`] plays someone
//! else: a read-only anonymous mapping, every byte [`SENTINEL`], placed with
//! `MAP_FIXED_NOREPLACE` (so only where nothing is mapped). A test that maps it after
//! one call returned and then makes the next call (a second `unmap_and_clear`) sees
//! whether that call unmapped again: the sentinel is gone, or it is intact.
//!
//! When both unmaps would happen inside ONE call (an `unmap(self)` whose drop then
//! unmaps again), no test code can run between them, except through the kernel:
//! [`UnmapWatch`] registers the range with userfaultfd and asks for its unmap events
//! (`UFFD_FEATURE_EVENT_UNMAP`). From then on the kernel makes any munmap that
//! removes part of the range wait, once the pages are gone, until the event has been
//! read. The watch's thread maps the sentinel over the pages that are gone and only
//! then reads the event; the munmap returns, and whatever the code does next meets the
//! sentinel. What is watched is the pages, not a function: libc's `munmap`, nix's,
//! `syscall(SYS_munmap)` and a helper of one's own are all seen alike.
//!
//! userfaultfd is not available everywhere: before Linux 5.11 a process without
//! CAP_SYS_PTRACE may open one only when `vm.unprivileged_userfaultfd` is 1 (5.11 added
//! `UFFD_USER_MODE_ONLY`, which is always allowed), and container runtimes may refuse
//! the system call (Docker's default seccomp profile does). [`UnmapWatch::start`] then
//! says why, so the test can skip what it cannot see.

use std::ffi::c_void;
use std::ops::Range;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::thread::JoinHandle;

use nix::errno::Errno;

use super::{Arena, page_size, pages};

/// Every byte of a sentinel mapping.
pub const SENTINEL: u8 = b'S';

/// Maps a sentinel over window pages `range` of `arena`: anonymous, read-only (`r--p`),
/// every byte [`SENTINEL`]. Fails with `EEXIST` when any of those pages is still mapped.
pub fn map_sentinel(arena: &Arena, range: Range<usize>) -> nix::Result<NonNull<u8>> {
    assert!(
        !range.is_empty() && range.end <= arena.window_pages(),
        "pages {range:?} do not fit a {}-page window",
        arena.window_pages()
    );
    let addr = arena.page(range.start);
    place(addr.as_ptr() as usize, pages(range.len()))?;
    Ok(addr)
}

/// The sentinel at `[addr, addr + len)`, with plain system calls only (the watch's
/// thread runs this while the code under test waits inside munmap).
fn place(addr: usize, len: usize) -> Result<(), Errno> {
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping.
    let got = unsafe {
        libc::mmap(
            addr as *mut c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            -1,
            0,
        )
    };
    if got == libc::MAP_FAILED {
        return Err(Errno::last());
    }
    if got as usize != addr {
        // Kernels before 4.17 take MAP_FIXED_NOREPLACE as a hint and map elsewhere.
        // SAFETY: `got` is the mapping just made, used by nothing else.
        unsafe { libc::munmap(got, len) };
        return Err(Errno::EEXIST);
    }
    // SAFETY: a fresh read-write mapping of `len` bytes.
    unsafe { std::ptr::write_bytes(got.cast::<u8>(), SENTINEL, len) };
    // SAFETY: the mapping just made.
    Errno::result(unsafe { libc::mprotect(got, len, libc::PROT_READ) }).map(drop)
}

/// Whether the page at `addr` is mapped (mincore fails with ENOMEM where it is not).
fn page_is_mapped(addr: usize, page: usize) -> bool {
    let mut resident = 0u8;
    loop {
        // SAFETY: mincore reads page tables only and writes one byte for the one page.
        if unsafe { libc::mincore(addr as *mut c_void, page, &mut resident) } == 0 {
            return true;
        }
        // EAGAIN: the kernel was short of memory for a moment; ask again.
        if Errno::last() != Errno::EAGAIN {
            return false;
        }
    }
}

// <linux/userfaultfd.h>: libc exports only the system call number.
const UFFD_API: u64 = 0xAA;
const UFFD_USER_MODE_ONLY: libc::c_int = 1;
const UFFD_FEATURE_EVENT_UNMAP: u64 = 1 << 6;
const UFFDIO_REGISTER_MODE_MISSING: u64 = 1;
const UFFD_EVENT_PAGEFAULT: u8 = 0x12;
const UFFD_EVENT_UNMAP: u8 = 0x16;
/// `struct uffd_msg` is 32 bytes: the event, then (for an unmap) `start` and `end` at bytes 8 and 16.
const MSG_BYTES: usize = 32;

/// `_IOC(dir, 0xAA, nr, size)` in the generic encoding (x86-64, arm64, riscv64, ...);
/// elsewhere the ioctl fails and [`UnmapWatch::start`] reports it.
const fn uffdio(dir: u64, nr: u64, size: u64) -> u64 {
    (dir << 30) | (size << 16) | (0xAA << 8) | nr
}
const IOC_READ: u64 = 2;
const IOC_READ_WRITE: u64 = 3;
/// `UFFDIO_API`: `_IOWR(0xAA, 0x3F, struct uffdio_api)`.
const UFFDIO_API: u64 = uffdio(IOC_READ_WRITE, 0x3F, 24);
/// `UFFDIO_REGISTER`: `_IOWR(0xAA, 0x00, struct uffdio_register)`.
const UFFDIO_REGISTER: u64 = uffdio(IOC_READ_WRITE, 0x00, 32);
/// `UFFDIO_UNREGISTER`: `_IOR(0xAA, 0x01, struct uffdio_range)`.
const UFFDIO_UNREGISTER: u64 = uffdio(IOC_READ, 0x01, 16);

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioRange {
    start: u64,
    len: u64,
}

#[repr(C)]
struct UffdioRegister {
    range: UffdioRange,
    mode: u64,
    ioctls: u64,
}

/// What a watch saw, once it is finished.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Each unmap the kernel reported over the watched pages, as window pages (`1-4`),
    /// or as addresses where the unmapped range reaches outside the window.
    pub unmaps: Vec<String>,
    /// The watched window pages the sentinel was mapped over, in order.
    pub sentinel_pages: Vec<usize>,
    /// What kept the watch from doing its job (a sentinel it could not map, an event it did not expect).
    pub problems: Vec<String>,
}

/// Watches window pages of an arena: the moment the kernel unmaps any of them, and
/// before that munmap returns, maps the sentinel over the pages that are gone.
pub struct UnmapWatch {
    monitor: Option<JoinHandle<Seen>>,
    /// Written once to stop the watch's thread.
    stop: OwnedFd,
    /// Held open until the watch ends, and closed last: closing it ends the
    /// registration, so no munmap of the pages waits for anyone any more.
    _uffd: OwnedFd,
}

impl UnmapWatch {
    /// Starts watching window pages `watched` of `arena` (a mapping whose every page is
    /// populated: the watch resolves no page faults). `Err` says why this machine cannot.
    pub fn start(arena: &Arena, watched: Range<usize>) -> Result<UnmapWatch, String> {
        assert!(
            !watched.is_empty() && watched.end <= arena.window_pages(),
            "pages {watched:?} do not fit a {}-page window",
            arena.window_pages()
        );
        let uffd = open_userfaultfd()?;
        let mut api = UffdioApi {
            api: UFFD_API,
            features: UFFD_FEATURE_EVENT_UNMAP,
            ioctls: 0,
        };
        // SAFETY: UFFDIO_API reads and writes one `struct uffdio_api`.
        if unsafe { libc::ioctl(uffd.as_raw_fd(), UFFDIO_API as _, &mut api) } != 0 {
            return Err(format!(
                "userfaultfd's UFFDIO_API with unmap events failed ({}): the kernel cannot report unmaps",
                Errno::last()
            ));
        }
        if api.features & UFFD_FEATURE_EVENT_UNMAP == 0 {
            return Err("this kernel's userfaultfd has no unmap events (UFFD_FEATURE_EVENT_UNMAP)".into());
        }
        let window = arena.page(0).as_ptr() as usize;
        let page = page_size();
        let mut register = UffdioRegister {
            range: UffdioRange {
                start: (window + watched.start * page) as u64,
                len: (watched.len() * page) as u64,
            },
            mode: UFFDIO_REGISTER_MODE_MISSING,
            ioctls: 0,
        };
        // SAFETY: UFFDIO_REGISTER reads and writes one `struct uffdio_register`.
        if unsafe { libc::ioctl(uffd.as_raw_fd(), UFFDIO_REGISTER as _, &mut register) } != 0 {
            return Err(format!(
                "registering window pages {}-{} with userfaultfd failed ({})",
                watched.start,
                watched.end - 1,
                Errno::last()
            ));
        }
        // SAFETY: eventfd returns a new descriptor or -1.
        let stop = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if stop < 0 {
            return Err(format!("eventfd failed ({})", Errno::last()));
        }
        // SAFETY: a descriptor just returned, owned by nothing else.
        let stop = unsafe { OwnedFd::from_raw_fd(stop) };
        let (uffd_fd, stop_fd) = (uffd.as_raw_fd(), stop.as_raw_fd());
        // The watch's thread maps its own signal stack when it starts (3 pages, with
        // mmap(NULL): the highest free gap that fits). Started late, that mmap can take
        // the very pages a munmap has just freed, before the sentinel goes there (on a
        // slow machine, e.g. under emulation, every time). So start() returns only once
        // the thread runs and has everything it needs.
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<()>(1);
        let monitor = std::thread::Builder::new()
            .name("unmap-watch".into())
            .spawn(move || watch(uffd_fd, stop_fd, window, watched, page, ready_tx))
            .map_err(|e| format!("cannot start the watch's thread: {e}"))?;
        if ready_rx.recv().is_err() {
            return Err("the watch's thread ended before it was ready".into());
        }
        Ok(UnmapWatch {
            monitor: Some(monitor),
            stop,
            _uffd: uffd,
        })
    }

    /// Stops watching and says what was seen.
    pub fn finish(mut self) -> Seen {
        self.stop_monitor()
    }

    fn stop_monitor(&mut self) -> Seen {
        let Some(monitor) = self.monitor.take() else {
            return Seen::default();
        };
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to the eventfd.
        unsafe { libc::write(self.stop.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        monitor.join().unwrap_or_else(|_| Seen {
            problems: vec!["the watch's thread panicked".into()],
            ..Seen::default()
        })
    }
}

impl Drop for UnmapWatch {
    /// Stops the thread; then the descriptors close (the userfaultfd last), which ends
    /// the registration: from here on no munmap of the pages waits for anyone.
    fn drop(&mut self) {
        self.stop_monitor();
    }
}

/// A userfaultfd for user-mode faults only (allowed without privileges since 5.11), or
/// a plain one where the kernel does not know that flag.
fn open_userfaultfd() -> Result<OwnedFd, String> {
    let flags = libc::O_CLOEXEC | libc::O_NONBLOCK;
    let mut fd = -1;
    for extra in [UFFD_USER_MODE_ONLY, 0] {
        // SAFETY: userfaultfd takes flags only and returns a new descriptor or -1.
        fd = unsafe { libc::syscall(libc::SYS_userfaultfd, flags | extra) } as RawFd;
        if fd >= 0 || Errno::last() != Errno::EINVAL {
            break;
        }
    }
    if fd < 0 {
        let e = Errno::last();
        let why = match e {
            Errno::ENOSYS => "this kernel has no userfaultfd".to_string(),
            Errno::EPERM => "userfaultfd is not allowed here (EPERM: a container's seccomp profile, or a kernel \
                             before 5.11 with vm.unprivileged_userfaultfd = 0)"
                .to_string(),
            other => format!("userfaultfd failed ({other})"),
        };
        return Err(why);
    }
    // SAFETY: a descriptor just returned, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The watch's thread: waits for an unmap event (or the stop), maps the sentinel over
/// the watched pages that are gone, then reads the event, which lets the munmap return.
/// Plain system calls only, and nothing here may panic while a munmap waits.
fn watch(
    uffd: RawFd,
    stop: RawFd,
    window: usize,
    watched: Range<usize>,
    page: usize,
    ready: std::sync::mpsc::SyncSender<()>,
) -> Seen {
    let mut seen = Seen {
        unmaps: Vec::with_capacity(16),
        sentinel_pages: Vec::with_capacity(watched.len()),
        problems: Vec::with_capacity(16),
    };
    let _ = ready.send(());
    drop(ready);
    loop {
        let mut fds = [
            libc::pollfd {
                fd: uffd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: stop,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two live pollfd structs.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            seen.problems.push(format!("poll failed: {}", Errno::last()));
            break;
        }
        if fds[0].revents & libc::POLLIN != 0 {
            // The kernel queues the event after the pages are gone and the address
            // space is unlocked: the sentinel can go there now.
            cover(&mut seen, window, &watched, page);
            read_event(&mut seen, uffd, window, &watched, page);
            continue;
        }
        if fds[0].revents & (libc::POLLERR | libc::POLLHUP) != 0 {
            seen.problems.push("the userfaultfd reported an error".into());
            break;
        }
        if fds[1].revents != 0 {
            break;
        }
    }
    seen
}

/// Maps the sentinel over every run of watched pages that is no longer mapped.
fn cover(seen: &mut Seen, window: usize, watched: &Range<usize>, page: usize) {
    let mut p = watched.start;
    while p < watched.end {
        if seen.sentinel_pages.contains(&p) || page_is_mapped(window + p * page, page) {
            p += 1;
            continue;
        }
        let first = p;
        while p < watched.end && !seen.sentinel_pages.contains(&p) && !page_is_mapped(window + p * page, page) {
            p += 1;
        }
        match place(window + first * page, (p - first) * page) {
            Ok(()) => seen.sentinel_pages.extend(first..p),
            Err(e) => seen.problems.push(format!(
                "mapping the sentinel at window pages {first}-{} failed: {e}",
                p - 1
            )),
        }
    }
    seen.sentinel_pages.sort_unstable();
}

/// Reads one event; an unmap is recorded, anything else ends the registration.
fn read_event(seen: &mut Seen, uffd: RawFd, window: usize, watched: &Range<usize>, page: usize) {
    let mut msg = [0u8; MSG_BYTES];
    // SAFETY: reads at most MSG_BYTES into a live buffer of that size.
    let n = unsafe { libc::read(uffd, msg.as_mut_ptr().cast(), MSG_BYTES) };
    if n < 0 {
        if Errno::last() != Errno::EAGAIN {
            seen.problems
                .push(format!("reading the userfaultfd failed: {}", Errno::last()));
        }
        return;
    }
    let word = |at: usize| u64::from_ne_bytes(msg[at..at + 8].try_into().unwrap_or_default()) as usize;
    match msg[0] {
        UFFD_EVENT_UNMAP => {
            let (start, end) = (word(8), word(16));
            let in_window = start >= window
                && end > start
                && (start - window).is_multiple_of(page)
                && (end - window).is_multiple_of(page);
            // (No arithmetic that could overflow: a panic here would leave the munmap waiting.)
            let (first, last) = (start.wrapping_sub(window) / page, end.wrapping_sub(window) / page);
            seen.unmaps.push(match (in_window, last.wrapping_sub(first)) {
                (true, 1) => format!("window page {first}"),
                (true, _) => format!("window pages {first}-{}", last.wrapping_sub(1)),
                (false, _) => format!("{start:#x}..{end:#x}"),
            });
            // A watched page this munmap removed but the sentinel could not cover: something
            // else of this process mapped it first (another thread's mmap), so the sentinel
            // cannot tell what follows. Said as a problem, so nobody is blamed for it.
            if in_window {
                let taken =
                    (first.max(watched.start)..last.min(watched.end)).find(|p| !seen.sentinel_pages.contains(p));
                if let Some(p) = taken {
                    seen.problems.push(format!(
                        "window page {p} was unmapped, but something else of this process mapped it before the \
                         sentinel could go there"
                    ));
                }
            }
        }
        event => {
            // A page fault (the code discarded a watched page and touched it again) or an
            // event not asked for: unregistering wakes whoever waits, and the watch ends.
            let what = if event == UFFD_EVENT_PAGEFAULT {
                "a page fault on a watched page that had no memory"
            } else {
                "an event it did not ask for"
            };
            seen.problems.push(format!("the watch saw {what} (event {event:#x})"));
            let mut range = UffdioRange {
                start: (window + watched.start * page) as u64,
                len: (watched.len() * page) as u64,
            };
            // SAFETY: UFFDIO_UNREGISTER reads one `struct uffdio_range`.
            unsafe { libc::ioctl(uffd, UFFDIO_UNREGISTER as _, &mut range) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::mman::ProtFlags;

    /// A 4-page mapping at window pages 1-4 of a window at a fixed, low address (as
    /// lab 07 uses), one window per test. Unit tests share one process, and a thread
    /// that starts meanwhile maps its 3-page signal stack with mmap(NULL), which
    /// takes the highest free gap that fits: a 4-page hole near the other mappings
    /// would do, a hole far below them never does.
    fn four_pages(slot: usize) -> Option<(Arena, NonNull<u8>)> {
        let arena = match Arena::at(0x43_0000_0000 + slot * pages(64), 6) {
            Ok(arena) => arena,
            Err(e) => {
                eprintln!("not checked: the fixed window is not free here ({e})");
                return None;
            }
        };
        let addr = arena.map_anonymous(1, 4, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE);
        unsafe { addr.write_bytes(b'O', pages(4)) };
        Some((arena, addr))
    }

    /// Window pages `range` hold the sentinel (the window is printed when they do not).
    fn holds_sentinel(arena: &Arena, range: Range<usize>) -> bool {
        let view = arena.view();
        let holds = range
            .into_iter()
            .all(|p| view.run_at(p).perms == "r--p" && unsafe { arena.page(p).read_volatile() } == SENTINEL);
        if !holds {
            eprintln!("the window:\n{view}");
        }
        holds
    }

    /// A watch over window pages 1-4; `None` where userfaultfd is not available (the lab tests skip).
    fn watch(arena: &Arena) -> Option<UnmapWatch> {
        UnmapWatch::start(arena, 1..5)
            .inspect_err(|why| eprintln!("not checked: {why}"))
            .ok()
    }

    #[test]
    fn a_sentinel_goes_only_where_nothing_is_mapped() {
        let Some((arena, addr)) = four_pages(0) else { return };
        assert_eq!(map_sentinel(&arena, 1..5), Err(Errno::EEXIST));
        unsafe { nix::sys::mman::munmap(addr.cast(), pages(4)) }.unwrap();
        map_sentinel(&arena, 1..5).unwrap();
        assert!(holds_sentinel(&arena, 1..5));
    }

    #[test]
    fn the_sentinel_lands_before_munmap_returns() {
        let Some((arena, addr)) = four_pages(1) else { return };
        let Some(watch) = watch(&arena) else { return };
        unsafe { nix::sys::mman::munmap(addr.cast(), pages(4)) }.unwrap();
        // The munmap has returned: the sentinel is already there.
        let there = holds_sentinel(&arena, 1..5);
        // A second munmap of the same range removes it.
        unsafe { nix::sys::mman::munmap(addr.cast(), pages(4)) }.unwrap();
        let seen = watch.finish();
        assert!(there, "{seen:?}");
        assert_eq!(seen.unmaps, vec!["window pages 1-4".to_string()]);
        assert_eq!(seen.sentinel_pages, vec![1, 2, 3, 4]);
        assert!(seen.problems.is_empty(), "{:?}", seen.problems);
        assert!(!arena.is_mapped(2));
    }

    #[test]
    fn page_by_page_unmaps_each_get_their_sentinel() {
        let Some((arena, addr)) = four_pages(2) else { return };
        let Some(watch) = watch(&arena) else { return };
        for n in 0..4 {
            let rc = unsafe { libc::syscall(libc::SYS_munmap, addr.as_ptr().add(pages(n)), pages(1)) };
            assert_eq!(rc, 0);
        }
        let seen = watch.finish();
        assert_eq!(seen.unmaps.len(), 4, "{:?}", seen.unmaps);
        assert_eq!(seen.sentinel_pages, vec![1, 2, 3, 4]);
        assert!(holds_sentinel(&arena, 1..5));
    }

    #[test]
    fn nothing_unmapped_nothing_seen_and_the_arena_still_goes() {
        let Some((arena, _addr)) = four_pages(3) else { return };
        let Some(watch) = watch(&arena) else { return };
        assert_eq!(watch.finish(), Seen::default());
        // The watch is closed: dropping the arena unmaps the pages without waiting.
        drop(arena);
    }
}
