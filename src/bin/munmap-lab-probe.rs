//! A tiny program for lab 07's children to exec: a fresh image that reports its own
//! address space (see `munmap_lab_harness::probe_program` for the words it takes).
//!
//! - `munmap-lab-probe smaps OUT`: writes its own `/proc/self/smaps` to OUT, exits 0.
//! - `munmap-lab-probe hold ADDR PAGES READY`: maps PAGES read-write pages at ADDR (hex,
//!   never replacing anything), writes `ok` to READY, waits until READY is deleted
//!   (at most 10 s), exits 0. If it cannot map there it writes `error: ...` and exits 3.
//!
//! Files appear whole (written beside, then renamed), so a parent polling for them
//! never reads half a report.

use std::num::NonZeroUsize;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};

/// The argument words, as `munmap_lab_harness::probe_program` names them for the tests.
const SMAPS: &str = "smaps";
const HOLD: &str = "hold";
/// How long a holding probe waits to be released before it exits anyway.
const HOLD_LIMIT: Duration = Duration::from_secs(10);

/// Runs the probe with its arguments (without the program name); returns the exit status.
fn run(args: &[String]) -> i32 {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [SMAPS, out] => match std::fs::read("/proc/self/smaps") {
            Ok(bytes) => write_whole(Path::new(out), &bytes),
            Err(e) => {
                eprintln!("munmap-lab-probe: reading /proc/self/smaps: {e}");
                2
            }
        },
        [HOLD, addr, count, ready] => hold(addr, count, Path::new(ready)),
        _ => {
            eprintln!("usage: munmap-lab-probe smaps OUT | hold ADDR PAGES READY");
            2
        }
    }
}

fn hold(addr: &str, count: &str, ready: &Path) -> i32 {
    let (Ok(addr), Ok(count)) = (
        usize::from_str_radix(addr.trim_start_matches("0x"), 16),
        count.parse::<usize>(),
    ) else {
        return write_whole(ready, b"error: bad ADDR or PAGES") + 3;
    };
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096) as usize;
    let len = count * page;
    let mapped = unsafe {
        mmap_anonymous(
            NonZeroUsize::new(addr),
            NonZeroUsize::new(len).unwrap_or(NonZeroUsize::MIN),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED_NOREPLACE,
        )
    };
    match mapped {
        Ok(p) if p.as_ptr() as usize == addr => {
            // SAFETY: just mapped read-write, `len` bytes long.
            unsafe { p.cast::<u8>().write_bytes(b'x', len) };
        }
        Ok(_) => return write_whole(ready, b"error: the kernel placed the mapping elsewhere") + 3,
        Err(e) => return write_whole(ready, format!("error: mmap at {addr:#x}: {e}").as_bytes()) + 3,
    }
    if write_whole(ready, b"ok") != 0 {
        return 2;
    }
    let started = Instant::now();
    while ready.exists() && started.elapsed() < HOLD_LIMIT {
        std::thread::sleep(Duration::from_millis(2));
    }
    0
}

/// Writes `bytes` beside `path`, then renames it into place; 0 on success, 2 on error.
fn write_whole(path: &Path, bytes: &[u8]) -> i32 {
    let partial = path.with_extension("partial");
    match std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, path)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("munmap-lab-probe: writing {}: {e}", path.display());
            2
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(run(&args));
}
