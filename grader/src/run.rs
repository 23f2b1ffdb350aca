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

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use munmap_lab_protocol::{self as protocol, Verdict};

use crate::project;
use crate::sandbox::{self, Sandbox};

/// Where and how one lab's tests run.
pub struct Bench<'a> {
    /// The work folder (the build's sources): the test processes' current directory.
    pub workdir: &'a Path,
    /// Per-test scratch folders are made beneath this and removed after each test.
    pub scratch: &'a Path,
    pub timeout: Duration,
    pub sandbox: &'a Sandbox,
    /// Each test's wall time (`lab::test` to seconds), recorded as it ends.
    pub seconds: RefCell<BTreeMap<String, f64>>,
}

/// Runs every test in `tests` of `lab`'s test binary `exe`; returns each one's verdict.
pub fn run_lab(exe: &Path, lab: &str, tests: &[String], bench: &Bench) -> BTreeMap<String, Verdict> {
    tests
        .iter()
        .enumerate()
        .map(|(i, test)| {
            let scratch = bench.scratch.join(lab).join(format!("{i:03}"));
            let verdict = run_test(exe, lab, test, &scratch, bench);
            crate::progress::test_done();
            (test.clone(), verdict)
        })
        .collect()
}

/// One test in a fresh, confined test process.
fn run_test(exe: &Path, lab: &str, test: &str, scratch: &Path, bench: &Bench) -> Verdict {
    if let Err(e) = fresh_dir(scratch) {
        return Verdict::Fail(format!(
            "{lab}::{test} was not run: cannot make its scratch folder: {e}"
        ));
    }
    let token = protocol::new_token();
    let mut cmd = project::clean_command(exe);
    cmd.args(protocol::test_args(test))
        .env(protocol::TOKEN_ENV, &token)
        .env(protocol::SCRATCH_ENV, scratch)
        .env("TMPDIR", scratch)
        .env("INSTA_WORKSPACE_ROOT", bench.workdir)
        .current_dir(bench.workdir);
    bench.sandbox.confine(&mut cmd, scratch);
    let ran = protocol::bounded::run(cmd, bench.timeout, protocol::OUTPUT_CAP).inspect(|ended| {
        let key = format!("{lab}::{test}");
        bench.seconds.borrow_mut().insert(key, ended.elapsed.as_secs_f64());
    });
    let verdict = match ran {
        Ok(ended) => protocol::judge(
            lab,
            test,
            ended.status,
            &String::from_utf8_lossy(&ended.output),
            &token,
            bench.timeout,
        ),
        Err(e) => Verdict::Fail(format!(
            "{lab}::{test} was not run: cannot start {}: {e}",
            exe.display()
        )),
    };
    sandbox::kill_orphans(&[]);
    let _ = std::fs::remove_dir_all(scratch);
    verdict
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
