//! Runs one lab's graded tests, each in a test process the grader starts and judges.
//!
//! The grader is the only judge: for every test the rubric names it starts the lab's
//! test binary as `EXE --exact NAME` with a one-time token (the protocol in
//! `munmap_lab_protocol`), inside the [`Sandbox`], with a scratch folder of its own
//! as the only place it may write, and judges how the process ended. No process that
//! runs lab code ever judges anything or holds anything that outlives its own test:
//! there is no report file, no nonce, and the test list comes from the rubric, not
//! from asking a binary that lab code can alter. After each test every process it
//! left behind (a `setsid` daemon included: the grader is their subreaper) is killed.
//!
//! When the bench witnesses, each test process also gets the window address of
//! [`crate::judge::witness`], and the grader reads that window from the kernel at every stop
//! of the process: its transcript goes with the verdict.

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use munmap_lab_protocol::{self as protocol, Verdict};

use crate::children;
use crate::evidence::{Ran, Transcript};
use crate::judge::calls;
use crate::judge::sandbox::Sandbox;
use crate::judge::witness;
use crate::project;

/// Where and how one lab's tests run.
pub struct Bench<'a> {
    /// The work folder (the build's sources): the test processes' current directory.
    pub workdir: &'a Path,
    /// Per-test scratch folders are made beneath this and removed after each test.
    pub scratch: &'a Path,
    pub timeout: Duration,
    pub sandbox: &'a Sandbox,
    /// Witness every test: place its window and read it at each checkpoint, and draw
    /// its scenario from `seed`.
    pub witness: bool,
    /// The seed of the drawn scenarios (used only where the bench witnesses: a drawn
    /// scenario is judged against the reference's, never against its snapshot).
    pub seed: u64,
    /// Where each test's end is told (silent for the reference's grade beside a build).
    pub progress: crate::progress::Progress,
}

/// Runs every test in `tests` (graded name, libtest name) of `lab`'s test binary `exe`;
/// returns how each one ran, under its graded name.
pub fn run_lab(exe: &Path, lab: &str, tests: &[(String, String)], bench: &Bench) -> BTreeMap<String, Ran> {
    tests
        .iter()
        .enumerate()
        .map(|(i, (graded, libtest))| {
            let scratch = bench.scratch.join(lab).join(format!("{i:03}"));
            let verdict = run_test(exe, lab, libtest, &scratch, bench);
            bench.progress.test_done();
            (graded.clone(), verdict)
        })
        .collect()
}

/// libtest's name of every test in each lab's binary, under its graded name (`lab::test`,
/// [`protocol::graded_name`]). Asked only of builds whose lab code is trusted (the
/// reference solutions) or that grade themselves (a checkout with no reference).
/// Two cases of one function with the same description would share a graded name: each
/// such name, and a binary that cannot be listed, is also given back as a problem.
pub fn libtest_names(binaries: &BTreeMap<String, PathBuf>) -> (BTreeMap<String, String>, Vec<String>) {
    let mut names = BTreeMap::new();
    let mut problems = Vec::new();
    for (lab, exe) in binaries {
        let mut cmd = project::clean_command(exe);
        cmd.args(["--list", "--format", "terse"]);
        let ended = match protocol::bounded::run(cmd, Duration::from_secs(30), protocol::OUTPUT_CAP) {
            Ok(ended) => ended,
            Err(e) => {
                // Its cases would be started by graded name and fail: say why.
                problems.push(format!("cannot list the tests of {}: {e}", exe.display()));
                continue;
            }
        };
        for libtest in String::from_utf8_lossy(&ended.output)
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
        {
            let graded = format!("{lab}::{}", protocol::graded_name(libtest));
            if let Some(other) = names.insert(graded.clone(), libtest.to_string()) {
                problems.push(format!(
                    "tests/{lab}.rs: {other} and {libtest} are both graded as {graded}: give the cases different names"
                ));
            }
        }
    }
    (names, problems)
}

/// One test in a fresh, confined test process.
fn run_test(exe: &Path, lab: &str, test: &str, scratch: &Path, bench: &Bench) -> Ran {
    let mut transcript = Transcript::default();
    let token = protocol::new_token();
    let prepared = fresh_dir(scratch);
    #[cfg(feature = "fixture-hooks")]
    let prepared = prepared.and_then(|()| crate::fixture_hooks::token_in_scratch(scratch, &token));
    if let Err(e) = prepared {
        return Ran::not_run(Verdict::Fail(format!(
            "{lab}::{test} was not run: cannot make its scratch folder: {e}"
        )));
    }
    let mut cmd = bench.sandbox.command(exe, scratch);
    cmd.args(protocol::test_args(test))
        .env(protocol::TOKEN_ENV, &token)
        .env(protocol::SCRATCH_ENV, scratch)
        .env("INSTA_WORKSPACE_ROOT", bench.workdir)
        .current_dir(bench.workdir);
    if bench.witness {
        cmd.env(protocol::WITNESS_ENV, protocol::witness_value(protocol::WITNESS_BASE))
            .env(protocol::DRAW_ENV, bench.seed.to_string());
    }
    // Where the bench witnesses, the unmaps of the test's processes are recorded too.
    let recorder = bench.witness.then(calls::Recorder::start).transpose();
    let (mut recorder, socket) = match recorder {
        Ok(Some((recorder, socket))) => (Some(recorder), Some(socket)),
        Ok(None) => (None, None),
        Err(e) => {
            let why = format!("{lab}::{test} was not run: cannot record its calls: {e}");
            return Ran::not_run(Verdict::Fail(why));
        }
    };
    bench
        .sandbox
        .confine_recorded(&mut cmd, scratch, socket.as_ref().map(AsRawFd::as_raw_fd));
    let ended = if bench.witness {
        let mut on_stop = |pid| {
            let asked = recorder.as_mut().and_then(|r| r.take_segment(pid));
            witness::checkpoint(&mut transcript, pid, asked);
        };
        protocol::bounded::run_observed(cmd, bench.timeout, protocol::OUTPUT_CAP, &mut on_stop)
    } else {
        protocol::bounded::run(cmd, bench.timeout, protocol::OUTPUT_CAP)
    };
    drop(socket);
    let seconds = ended.as_ref().ok().map(|e| e.elapsed.as_secs_f64());
    let mut drawn = Vec::new();
    let verdict = match ended {
        Ok(ended) => {
            let output = String::from_utf8_lossy(&ended.output);
            let notes = |prefix: &str| -> Vec<String> {
                protocol::markers(&output, protocol::Kind::Note, &token)
                    .filter_map(|note| note.strip_prefix(prefix))
                    .map(String::from)
                    .collect()
            };
            drawn = notes(protocol::DRAWN_NOTE);
            if bench.witness {
                transcript.returned = notes(protocol::RETURNED_NOTE);
            }
            let verdict = protocol::judge(lab, test, ended.status, &output, &token, bench.timeout);
            bench.sandbox.explain(verdict, ended.status, &output)
        }
        Err(e) => Verdict::Fail(format!(
            "{lab}::{test} was not run: cannot start {}: {e}",
            exe.display()
        )),
    };
    children::kill_orphans();
    if let Some(recorder) = recorder {
        recorder.finish();
    }
    let _ = std::fs::remove_dir_all(scratch);
    Ran {
        verdict,
        transcript,
        seconds,
        drawn,
    }
}

/// An empty folder at `dir` (whatever was there, links included, is removed, never followed).
fn fresh_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(dir)?,
        Ok(_) => std::fs::remove_file(dir)?,
        Err(_) => {}
    }
    std::fs::create_dir_all(dir)
}
