//! Cheats that must earn no point (issue 24, parts 4 and 5), graded by the built grader:
//!
//! - [`attacks`]: the attack fixtures of `grader/fixtures/cheats.toml` (so far a
//!   memory-scan forger), each one text dropped into every lab, graded as one batch;
//!   each must score 0. Not yet a `cargo selftest` check.
//! - [`constants`]: for every lab function, bodies that return a constant (generated from
//!   the labs' signatures with syn), each in a copy of the solutions; every graded test
//!   that calls the function ([`calls`], syn over `tests/*.rs`) must fail. `cargo
//!   selftest "constant bodies"` runs it and prints its table.
//!
//! No fixture hook is set: each cheat finds what it uses as a student's code would.

#[path = "../common/mod.rs"]
mod common;

mod attacks;
mod calls;
mod constants;
mod signatures;

use std::path::Path;

use common::grader::{self, Call};

/// Grades every subfolder of `dir` as one batch into `out` (no fixture hook).
fn grade_batch(dir: &Path, out: &Path) {
    grader::run(&Call::Batch { dir, out, shard: None }, &[]).expect_batch_ran();
}

#[test]
fn attack_fixtures_earn_no_point() {
    let _serial = common::serial();
    let problems = attacks::grade_and_check(&common::root());
    common::assert_no_problems(&problems.found, &problems.look);
}

#[test]
fn constant_bodies_fail_every_test_of_their_function() {
    let _serial = common::serial();
    let problems = constants::grade_and_check(&common::root());
    common::assert_no_problems(&problems.found, &problems.look);
}

/// What a check found, and where its grades and logs are.
pub struct Problems {
    pub found: Vec<String>,
    pub look: std::path::PathBuf,
}
