//! munmap-lab-harness: what every lab suite shares, written once.
//!
//! A crate of its own, and only a dev-dependency of the lab crate: lab code (`labs/`,
//! `solutions/`) cannot name anything here, so it cannot call [`isolated`] or [`skip`],
//! place an arena or print a verdict. The suites in `tests/` use both crates.
//!
//! - [`arena`]: a PROT_NONE reservation that places each scenario where nothing foreign can merge with it.
//! - [`slot`]: the usual scenario: the lab's pages at window page 1, a guard page on either side.
//! - [`maps`]: a normalised view of `/proc/self/smaps` for one window (page offsets, no raw addresses;
//!   the protocol's, which the grader judges by too).
//! - [`page_state`]: "is this page mapped?", "is it resident?", without touching it.
//! - [`scratch`]: files on a disk-backed filesystem for file mappings, removed afterwards.
//! - [`snapshot`]: one named insta snapshot per test case, with a sentence for the reviewer.
//! - [`context`]: which test is running (lab and libtest name), read once.
//! - [`draw`]: sizes and cuts a test draws from the grader's seed (its defaults under `cargo test`).
//! - [`isolate`]: runs each test body in its own process, so a crash or hang costs only that test.
//! - [`judged`]: inside that process: the judge's token, [`skip`], [`note`] and the markers.
//! - `secret_env`, `insta_env`, `witness`: what that process hides, restores and stops for.
//! - `panic_hook`: that process's panic message, its backtrace (if asked for) of lab code only.
//! - [`expect`]: assertions whose failures say what the kernel should have done and show the window.
//! - [`kernel`]: thin, checked wrappers for the few syscalls nix does not cover (cachestat, mseal).
//! - [`map_limit`]: runs a few lines in a forked process filled up to `vm.max_map_count`.
//! - [`smaps`]: `/proc/PID/smaps` and `smaps_rollup`, read whole and parsed by procfs, fields summed in pages.
//! - [`memlock`]: mlock as the kernel reports it (VmLck, smaps `Locked:`), skipping when the limit forbids it.
//! - [`children`]: waits on a lab's child processes with a deadline, and another process's maps.
//! - [`probe_program`]: the words lab 07's tests pass `munmap-lab-probe`, the program its children exec.
//! - [`fork_rule`]: an allocator for a suite that counts what forked children allocate before they exec.
//! - [`compile_fail`]: compile-fail checks of a snippet against this very build of the crate (no trybuild).
//! - [`fault`]: runs code in a forked child and reports the signal and `si_code` it died of.
//! - [`sentinel`]: a mapping where unmapped pages were, placed even before their munmap returns (userfaultfd).

pub mod arena;
pub mod children;
pub mod compile_fail;
pub mod context;
pub mod draw;
pub mod expect;
pub mod fault;
pub mod fork_rule;
mod insta_env;
pub mod isolate;
pub mod judged;
pub mod kernel;
pub mod map_limit;
pub mod maps;
pub mod memlock;
pub mod page_state;
mod panic_hook;
pub mod probe_program;
pub mod returned;
pub mod scratch;
mod secret_env;
pub mod sentinel;
pub mod slot;
pub mod smaps;
pub mod snapshot;
mod witness;

pub use arena::Arena;
pub use context::TestContext;
pub use isolate::isolated;
pub use judged::{note, skip};
pub use maps::MapsView;
pub use page_state::is_mapped;
pub use scratch::ScratchDir;
pub use slot::{Neighbours, Slot};
pub use snapshot::Story;

/// The project root (this crate lives in `harness/` beneath it): where `snapshots/` is.
pub const PROJECT_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The page size and `n` pages in bytes (the lab crate's `src/page.rs`, through the protocol).
pub use munmap_lab_protocol::{page_size, pages};
