//! munmap-lab-harness: what every lab suite shares, written once.
//!
//! A crate of its own, and only a dev-dependency of the lab crate: lab code (`labs/`,
//! `solutions/`) cannot name anything here, so it cannot call [`isolated`] or [`skip`],
//! place an arena or print a verdict. The suites in `tests/` use both crates.
//!
//! - [`arena`]: a PROT_NONE reservation that places each scenario where nothing foreign can merge with it.
//! - [`maps`]: a normalised view of `/proc/self/smaps` for one window (page offsets, no raw addresses).
//! - [`probe`]: "is this page mapped?" without touching it.
//! - [`scratch`]: files on a disk-backed filesystem for file mappings, removed afterwards.
//! - [`snapshot`]: one named insta snapshot per test case, with a sentence for the reviewer.
//! - [`isolate`]: runs each test body in its own process, so a crash or hang costs only that test.
//! - [`expect`]: assertions whose failures say what the kernel should have done and show the window.
//! - [`kernel`]: thin, checked wrappers for the few syscalls nix does not cover (cachestat, mseal).
//! - [`map_limit`]: runs a few lines in a forked process filled up to `vm.max_map_count`.
//! - [`memlock`]: mlock as the kernel reports it (VmLck, smaps `Locked:`), skipping when the limit forbids it.
//! - [`children`]: waits on a lab's child processes with a deadline, and another process's maps.
//! - [`exec_probe`]: how lab 07's tests talk to the small program its children exec.
//! - [`fork_rule`]: an allocator for a suite that counts what forked children allocate before they exec.
//! - [`compile`]: compile-fail checks of a snippet against this very build of the crate (no trybuild).
//! - [`fault`]: runs code in a forked child and reports the signal and `si_code` it died of.
//! - [`sentinel`]: a mapping where unmapped pages were, placed even before their munmap returns (userfaultfd).

pub mod arena;
pub mod children;
pub mod compile;
pub mod exec_probe;
pub mod expect;
pub mod fault;
pub mod fork_rule;
pub mod isolate;
pub mod kernel;
pub mod map_limit;
pub mod maps;
pub mod memlock;
pub mod probe;
pub mod scratch;
pub mod sentinel;
pub mod snapshot;

pub use arena::Arena;
pub use isolate::{isolated, note, skip};
pub use maps::MapsView;
pub use probe::is_mapped;
pub use scratch::ScratchDir;
pub use snapshot::Story;

/// The project root (this crate lives in `harness/` beneath it): where `snapshots/` is.
pub const PROJECT_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The page size and `n` pages in bytes: the lab crate's own file (`src/page.rs`), included
/// rather than depended on, so the grader that uses this crate never builds lab code.
#[path = "../../src/page.rs"]
mod page;
pub use page::{page_size, pages};
