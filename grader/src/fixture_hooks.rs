//! Hooks for the grader's own tests (`grader/tests/`), compiled in only with the cargo
//! feature `fixture-hooks`, which no product build enables and the student handout
//! does not have (this file is withheld from it). Each hook is off unless its
//! environment variable is set, so a hooked build grades like the product otherwise.
//!
//! Both variables start with `MUNMAP_LAB_`, which the grader strips from every process
//! it starts: no test process sees them.

use std::path::Path;

use anyhow::{Context, Result};

use crate::model::Grade;

/// Set (to anything): each test's token is also written into its scratch folder
/// (`$MUNMAP_LAB_SCRATCH/token`), standing for lab code that found the token in its
/// process's memory (grader/fixtures/fixtures.toml's `forge_*` fixtures).
pub const TOKEN_IN_SCRATCH_ENV: &str = "MUNMAP_LAB_FIXTURE_TOKEN_IN_SCRATCH";

/// A grade's `--json` file: `cargo grade` writes its outputs for this grade instead of
/// grading anything, so a test can hold every writer to any pass/fail/skip pattern.
pub const GIVEN_GRADE_ENV: &str = "MUNMAP_LAB_FIXTURE_GRADE";

/// Writes `token` into the test's scratch folder when [`TOKEN_IN_SCRATCH_ENV`] is set.
pub fn token_in_scratch(scratch: &Path, token: &str) -> std::io::Result<()> {
    match std::env::var_os(TOKEN_IN_SCRATCH_ENV) {
        Some(_) => std::fs::write(scratch.join("token"), token),
        None => Ok(()),
    }
}

/// The grade in the file [`GIVEN_GRADE_ENV`] names, when it is set.
pub fn given_grade() -> Option<Result<Grade>> {
    let path = std::env::var_os(GIVEN_GRADE_ENV)?;
    let path = Path::new(&path);
    Some(
        crate::project::files::read_to_string(path)
            .and_then(|text| serde_json::from_str(&text).with_context(|| format!("{} is not a grade", path.display()))),
    )
}
