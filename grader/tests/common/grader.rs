//! The one place the suites run the grader: the built binary
//! (`CARGO_BIN_EXE_munmap-grader`, as `cargo grade` runs it), with its command line
//! spelled out here only, so a change of spelling is one edit.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What `cargo grade` grades.
pub enum Source<'a> {
    /// This checkout's `labs/` (plain `cargo grade`), against the reference solutions.
    Checkout,
    Solutions,
    Submission(&'a Path),
}

/// One command of the grader.
pub enum Call<'a> {
    /// `cargo grade [SOURCE] [--json F] [--junit F] [--classroom F]`.
    Grade {
        source: Source<'a>,
        json: Option<&'a Path>,
        junit: Option<&'a Path>,
        classroom: Option<&'a Path>,
    },
    /// `cargo grade batch DIR --out OUT [--shard K/N] --timeout 5` (see [`BATCH_TIMEOUT_SECS`]).
    Batch {
        dir: &'a Path,
        out: &'a Path,
        shard: Option<(u32, u32)>,
    },
    /// `cargo grade merge OUT SHARD_DIR...`.
    Merge { out: &'a Path, shards: &'a [PathBuf] },
    /// `cargo grade handout DIR`.
    Handout { dir: &'a Path },
}

/// How the grader ended, and what it printed.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub command: String,
}

impl Ran {
    /// Panics, with everything it printed, unless it exited with `code`.
    pub fn expect_code(self, code: i32) -> Ran {
        assert_eq!(
            self.code,
            Some(code),
            "`{}` exited with {:?}, not {code}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn expect_success(self) -> Ran {
        self.expect_code(0)
    }

    /// Panics, with everything it printed, unless a batch ran: exit status 0, or 3 (some
    /// submission could not be graded: the caller's checks say which).
    pub fn expect_batch_ran(self) -> Ran {
        assert!(
            matches!(self.code, Some(0 | 3)),
            "the batch did not run ({:?}):\n{}\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The grader's arguments for `call`.
fn args(call: &Call) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |words: &[&std::ffi::OsStr]| args.extend(words.iter().map(|w| w.to_os_string()));
    match call {
        Call::Grade {
            source,
            json,
            junit,
            classroom,
        } => {
            match source {
                Source::Checkout => {}
                Source::Solutions => push(&["--solutions".as_ref()]),
                Source::Submission(dir) => push(&["--submission".as_ref(), dir.as_os_str()]),
            }
            for (flag, path) in [("--json", json), ("--junit", junit), ("--classroom", classroom)] {
                if let Some(path) = path {
                    push(&[flag.as_ref(), path.as_os_str()]);
                }
            }
        }
        Call::Batch { dir, out, shard } => {
            push(&["batch".as_ref(), dir.as_os_str(), "--out".as_ref(), out.as_os_str()]);
            if let Some((k, n)) = shard {
                push(&["--shard".as_ref(), format!("{k}/{n}").as_ref()]);
            }
            push(&["--timeout".as_ref(), BATCH_TIMEOUT_SECS.to_string().as_ref()]);
        }
        Call::Merge { out, shards } => {
            push(&["merge".as_ref(), out.as_os_str()]);
            for shard in *shards {
                push(&[shard.as_os_str()]);
            }
        }
        Call::Handout { dir } => push(&["handout".as_ref(), dir.as_os_str()]),
    }
    args
}

/// The per-test time limit batches are graded with (`--timeout S`): the hanging
/// fixture then costs seconds, not minutes. Single grades keep the default.
pub const BATCH_TIMEOUT_SECS: u32 = 5;

/// Runs the built grader on `call`, with `env` added to its environment; waits for it.
/// The seed of every grading the suites run (see [`run`]).
pub const FIXED_SEED: &str = "20261204";

pub fn run(call: &Call, env: &[(&str, &std::ffi::OsStr)]) -> Ran {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_munmap-grader"));
    cmd.args(args(call));
    // One seed for every grading of the suites, so that two gradings compare byte for
    // byte (`env` may set another; `reference.rs` grades the solutions under several).
    cmd.env("MUNMAP_LAB_SEED", FIXED_SEED);
    cmd.envs(env.iter().copied()).current_dir(super::root());
    let command = format!("munmap-grader {:?}", cmd.get_args().collect::<Vec<_>>());
    let output = cmd.output().unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
    Ran {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        command,
    }
}

/// The grader's binary, whose content no grading may change.
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_munmap-grader"))
}
