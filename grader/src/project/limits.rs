//! The `[limits]` table of `rubric.toml`: what grading one submission may cost, set by
//! the instructor beside the points (and handed out with them: a student sees the
//! limits their code is held to). Every key has a default, so the table and each key
//! may be left out; a key that is no limit is an error that names it. One parser, one
//! [`Limits`]: the report's output cap and the sandbox's per-test limits alike
//! (`judge::sandbox` turns the latter into resource limits).

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The table's name in `rubric.toml` (no lab may be called so).
pub const TABLE: &str = "limits";

/// The limits of one grading run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Most MiB of test output one submission keeps across its reports (`NAME.json`,
    /// the JUnit XML, `NAME.txt`): what is over is cut from the middle of the longest
    /// messages, their first and last lines kept (see `report::cap`).
    pub output_mib: u32,
    /// Memory of each test process, in MiB (address space, RLIMIT_AS: every mapping
    /// counts, reservations included).
    pub memory_mib: u64,
    /// Processes and threads of one test together (RLIMIT_NPROC, counted inside the test's
    /// own user namespace; without one it would count every process of the grading user).
    pub processes: u64,
    /// Open file descriptors of a test process (RLIMIT_NOFILE).
    pub open_files: u64,
    /// Size of any one file a test writes (RLIMIT_FSIZE), in MiB.
    pub file_size_mib: u64,
    /// CPU time of each test process (RLIMIT_CPU), in seconds, on top of the wall-clock timeout.
    pub cpu_seconds: u64,
}

/// The default `output_mib`. Measured: the reference solutions keep no test output at all
/// (their `--json` is 20 KB), the stubs 45 KB of it in 71 failing tests (`--json` 66 KB,
/// `--junit` 83 KB), about 1/90 of this.
pub const DEFAULT_OUTPUT_MIB: u32 = 4;
/// The `output_mib` values accepted.
const OUTPUT_MIB_RANGE: std::ops::RangeInclusive<u32> = 1..=1024;

impl Default for Limits {
    /// The per-test defaults leave the reference solutions far below them (GRADING.md
    /// says by how much: they pass at half the memory, 16 files, 1 s of CPU).
    fn default() -> Self {
        Limits {
            output_mib: DEFAULT_OUTPUT_MIB,
            memory_mib: 1024,
            processes: 64,
            open_files: 512,
            file_size_mib: 64,
            cpu_seconds: 20,
        }
    }
}

/// The limits in a rubric's text.
pub fn parse(text: &str) -> Result<Limits> {
    let table: toml::Table = text.parse().context("not valid TOML")?;
    let Some(value) = table.get(TABLE) else {
        return Ok(Limits::default());
    };
    let limits: Limits = value.clone().try_into().with_context(|| {
        format!(
            "[{TABLE}]: each key is a whole number (output_mib, memory_mib, processes, open_files, \
             file_size_mib, cpu_seconds)"
        )
    })?;
    if !OUTPUT_MIB_RANGE.contains(&limits.output_mib) {
        bail!(
            "[{TABLE}] output_mib = {}: give {} to {} (MiB of test output one submission keeps)",
            limits.output_mib,
            OUTPUT_MIB_RANGE.start(),
            OUTPUT_MIB_RANGE.end()
        );
    }
    let per_test = [
        ("memory_mib", limits.memory_mib),
        ("processes", limits.processes),
        ("open_files", limits.open_files),
        ("file_size_mib", limits.file_size_mib),
        ("cpu_seconds", limits.cpu_seconds),
    ];
    if let Some((key, _)) = per_test.iter().find(|(_, n)| *n == 0) {
        bail!("[{TABLE}] {key} = 0: give a whole number above 0");
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_where_the_rubric_sets_nothing() {
        assert_eq!(parse("[lab01]\ntitle = 't'\n").unwrap(), Limits::default());
        assert_eq!(parse("[limits]\n").unwrap(), Limits::default());
        let limits = parse("[limits]\noutput_mib = 2\nmemory_mib = 512\n").unwrap();
        assert_eq!(limits.output_mib, 2);
        assert_eq!(limits.memory_mib, 512);
        assert_eq!(limits.open_files, Limits::default().open_files);
    }

    #[test]
    fn a_limit_that_makes_no_sense_is_refused_with_the_key() {
        for (text, wanted) in [
            ("[limits]\noutput_mib = 0\n", "give 1 to 1024"),
            ("[limits]\noutput_mib = -1\n", "whole number"),
            ("[limits]\noutput_mib = 'big'\n", "whole number"),
            ("limits = 3\n", "whole number"),
            ("[limits]\nopen_files = 0\n", "open_files = 0"),
            ("[limits]\nmemory_mib = -5\n", "whole number"),
            ("[limits]\nmemory = 5\n", "memory"),
        ] {
            let err = format!("{:#}", parse(text).unwrap_err());
            assert!(err.contains(wanted) && err.contains("[limits]"), "{text}: {err}");
        }
    }

    #[test]
    fn the_projects_rubric_leaves_the_solutions_far_below() {
        let limits = crate::project::this_project().limits;
        assert!(limits.output_mib >= DEFAULT_OUTPUT_MIB, "{limits:?}");
        assert!(limits.memory_mib >= 512 && limits.open_files >= 16, "{limits:?}");
    }
}
