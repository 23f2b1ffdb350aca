//! munmap-lab: a teaching lab for Linux `munmap()`.
//!
//! Each lab is one module. By default the modules are the student stubs in `labs/`;
//! with the cargo feature `solutions` the same modules come from `solutions/`, so the
//! suites in `tests/` are written once and run against either.
//!
//! [`support`] holds everything the suites share: the arena that places a scenario,
//! the normalised view of `/proc/self/maps`, the probes, the snapshot helper and the
//! per-test process isolation.

pub mod support;

// Each lab module comes from `labs/` or, with `--features solutions`, from `solutions/`.
// (`#[path]` takes only a literal, so every lab spells out both paths.)

#[cfg_attr(not(feature = "solutions"), path = "../labs/lab01_full.rs")]
#[cfg_attr(feature = "solutions", path = "../solutions/lab01_full.rs")]
pub mod lab01_full;

#[cfg_attr(not(feature = "solutions"), path = "../labs/lab02_partial.rs")]
#[cfg_attr(feature = "solutions", path = "../solutions/lab02_partial.rs")]
pub mod lab02_partial;

#[cfg_attr(not(feature = "solutions"), path = "../labs/lab03_spanning.rs")]
#[cfg_attr(feature = "solutions", path = "../solutions/lab03_spanning.rs")]
pub mod lab03_spanning;

#[cfg_attr(not(feature = "solutions"), path = "../labs/lab04_unmapped.rs")]
#[cfg_attr(feature = "solutions", path = "../solutions/lab04_unmapped.rs")]
pub mod lab04_unmapped;

#[cfg_attr(not(feature = "solutions"), path = "../labs/lab05_errors.rs")]
#[cfg_attr(feature = "solutions", path = "../solutions/lab05_errors.rs")]
pub mod lab05_errors;

#[cfg_attr(not(feature = "solutions"), path = "../labs/lab06_mlock.rs")]
#[cfg_attr(feature = "solutions", path = "../solutions/lab06_mlock.rs")]
pub mod lab06_mlock;

#[cfg_attr(not(feature = "solutions"), path = "../labs/lab07_exec.rs")]
#[cfg_attr(feature = "solutions", path = "../solutions/lab07_exec.rs")]
pub mod lab07_exec;

#[cfg_attr(not(feature = "solutions"), path = "../labs/lab08_ownership.rs")]
#[cfg_attr(feature = "solutions", path = "../solutions/lab08_ownership.rs")]
pub mod lab08_ownership;

#[cfg_attr(not(feature = "solutions"), path = "../labs/lab09_release.rs")]
#[cfg_attr(feature = "solutions", path = "../solutions/lab09_release.rs")]
pub mod lab09_release;
