//! The `[limits]` table of `rubric.toml`: what grading one submission may cost, set by
//! the instructor beside the points (and handed out with them: a student sees the
//! limits their code is held to). Every key has a default, so the table and each key
//! may be left out. Keys this grader does not read are left to whoever reads them (the
//! sandbox's limits live in the same table), so they are no error here.

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The table's name in `rubric.toml` (no lab may be called so).
pub const TABLE: &str = "limits";

/// The limits of one grading run.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Most MiB of test output one submission keeps across its reports (`NAME.json`,
    /// the JUnit XML, `NAME.txt`): what is over is cut from the middle of the longest
    /// messages, their first and last lines kept (see `report::cap`).
    pub output_mib: u32,
}

/// The default `output_mib`. Measured: the reference solutions keep no test output at all
/// (their `--json` is 20 KB), the stubs 45 KB of it in 71 failing tests (`--json` 66 KB,
/// `--junit` 83 KB), about 1/90 of this.
pub const DEFAULT_OUTPUT_MIB: u32 = 4;
/// The `output_mib` values accepted.
const OUTPUT_MIB_RANGE: std::ops::RangeInclusive<u32> = 1..=1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            output_mib: DEFAULT_OUTPUT_MIB,
        }
    }
}

/// The limits in a rubric's text.
pub fn parse(text: &str) -> Result<Limits> {
    let table: toml::Table = text.parse().context("not valid TOML")?;
    let Some(value) = table.get(TABLE) else {
        return Ok(Limits::default());
    };
    let limits: Limits = value
        .clone()
        .try_into()
        .with_context(|| format!("[{TABLE}]: output_mib must be a whole number of MiB"))?;
    if !OUTPUT_MIB_RANGE.contains(&limits.output_mib) {
        bail!(
            "[{TABLE}] output_mib = {}: give {} to {} (MiB of test output one submission keeps)",
            limits.output_mib,
            OUTPUT_MIB_RANGE.start(),
            OUTPUT_MIB_RANGE.end()
        );
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_where_the_rubric_sets_nothing_and_other_keys_are_left_alone() {
        assert_eq!(parse("[lab01]\ntitle = 't'\n").unwrap(), Limits::default());
        assert_eq!(parse("[limits]\n").unwrap(), Limits::default());
        let limits = parse("[limits]\noutput_mib = 2\nmemory_mib = 512\n").unwrap();
        assert_eq!(limits.output_mib, 2);
    }

    #[test]
    fn a_limit_that_makes_no_sense_is_refused_with_the_key() {
        for (text, wanted) in [
            ("[limits]\noutput_mib = 0\n", "give 1 to 1024"),
            ("[limits]\noutput_mib = -1\n", "whole number"),
            ("[limits]\noutput_mib = 'big'\n", "whole number"),
            ("limits = 3\n", "whole number"),
        ] {
            let err = format!("{:#}", parse(text).unwrap_err());
            assert!(err.contains(wanted) && err.contains("[limits]"), "{text}: {err}");
        }
    }

    #[test]
    fn the_projects_rubric_leaves_the_solutions_far_below() {
        let limits = crate::project::this_project().limits;
        assert!(limits.output_mib >= DEFAULT_OUTPUT_MIB, "{limits:?}");
    }
}
