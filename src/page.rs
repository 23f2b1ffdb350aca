//! The page size, written once: the lab crate re-exports it, and the protocol crate
//! includes this same file with `#[path]` (it cannot depend on the lab crate: the grader
//! uses the protocol's maps view and must never build lab code into itself).

use std::sync::OnceLock;

/// The system page size in bytes (4096 on x86-64, 4096-65536 on arm64).
pub fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .map(|p| p as usize)
            .expect("sysconf(_SC_PAGESIZE) must report the page size")
    })
}

/// `n` pages in bytes.
pub fn pages(n: usize) -> usize {
    n * page_size()
}
