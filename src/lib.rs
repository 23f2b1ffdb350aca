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
