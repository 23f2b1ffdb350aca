//! munmap-lab: a teaching lab for Linux `munmap()`.
//!
//! Each lab is one module. By default the modules are the student stubs in `labs/`;
//! with the cargo feature `solutions` the same modules come from `solutions/`, so the
//! suites in `tests/` are written once and run against either.
//!
//! This crate holds lab code and nothing else a lab could misuse: the test harness
//! (arena, maps view, isolation, snapshots) is the crate `munmap-lab-harness`, a
//! dev-dependency that only the suites can name.

// Generated from rubric.toml by `cargo grade sync` (the text is in grader/src/generated/labs.rs): do not edit.

mod page;
pub use page::{page_size, pages};

// Each lab module comes from `labs/` or, with `--features solutions`, from `solutions/`.
// Every lab spells out both paths: `#[path]` takes only a literal, and tools that read
// the module tree without expanding `cfg_attr` (cargo-mutants) need a plain `#[path]`.

#[cfg(not(feature = "solutions"))]
#[path = "../labs/lab01_full.rs"]
pub mod lab01_full;
#[cfg(feature = "solutions")]
#[path = "../solutions/lab01_full.rs"]
pub mod lab01_full;

#[cfg(not(feature = "solutions"))]
#[path = "../labs/lab02_partial.rs"]
pub mod lab02_partial;
#[cfg(feature = "solutions")]
#[path = "../solutions/lab02_partial.rs"]
pub mod lab02_partial;

#[cfg(not(feature = "solutions"))]
#[path = "../labs/lab03_spanning.rs"]
pub mod lab03_spanning;
#[cfg(feature = "solutions")]
#[path = "../solutions/lab03_spanning.rs"]
pub mod lab03_spanning;

#[cfg(not(feature = "solutions"))]
#[path = "../labs/lab04_unmapped.rs"]
pub mod lab04_unmapped;
#[cfg(feature = "solutions")]
#[path = "../solutions/lab04_unmapped.rs"]
pub mod lab04_unmapped;

#[cfg(not(feature = "solutions"))]
#[path = "../labs/lab05_errors.rs"]
pub mod lab05_errors;
#[cfg(feature = "solutions")]
#[path = "../solutions/lab05_errors.rs"]
pub mod lab05_errors;

#[cfg(not(feature = "solutions"))]
#[path = "../labs/lab06_mlock.rs"]
pub mod lab06_mlock;
#[cfg(feature = "solutions")]
#[path = "../solutions/lab06_mlock.rs"]
pub mod lab06_mlock;

#[cfg(not(feature = "solutions"))]
#[path = "../labs/lab07_exec.rs"]
pub mod lab07_exec;
#[cfg(feature = "solutions")]
#[path = "../solutions/lab07_exec.rs"]
pub mod lab07_exec;

#[cfg(not(feature = "solutions"))]
#[path = "../labs/lab08_ownership.rs"]
pub mod lab08_ownership;
#[cfg(feature = "solutions")]
#[path = "../solutions/lab08_ownership.rs"]
pub mod lab08_ownership;

#[cfg(not(feature = "solutions"))]
#[path = "../labs/lab09_release.rs"]
pub mod lab09_release;
#[cfg(feature = "solutions")]
#[path = "../solutions/lab09_release.rs"]
pub mod lab09_release;
