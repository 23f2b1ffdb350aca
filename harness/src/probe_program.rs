//! How lab 07's tests talk to `munmap-lab-probe`, the program its children exec
//! (`src/bin/munmap-lab-probe.rs`, a binary of the lab package that uses nothing from
//! this crate): a fresh program image that reports its own address space, so a test
//! can see what survived `execve` (nothing) and what a living child has mapped. These are the words tests pass it.
//!
//! Tests name it with `env!("CARGO_BIN_EXE_munmap-lab-probe")`; cargo builds it with the
//! test binaries. Usage:
//!
//! - `munmap-lab-probe smaps OUT`: writes its own `/proc/self/smaps` to OUT, exits 0.
//! - `munmap-lab-probe hold ADDR PAGES READY`: maps PAGES read-write pages at ADDR (hex,
//!   never replacing anything), writes `ok` to READY, waits until READY is deleted
//!   (at most 10 s), exits 0. If it cannot map there it writes `error: ...` and exits 3.
//!
//! Files appear whole (written beside, then renamed), so a parent polling for them
//! never reads half a report.

/// The `smaps` mode's argument word.
pub const SMAPS: &str = "smaps";
/// The `hold` mode's argument word.
pub const HOLD: &str = "hold";
