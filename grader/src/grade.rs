//! Grades one source (this checkout, the solutions, or a submission) from start to end:
//! overlay, refuse, build, run every rubric test in its own confined process, score.
//!
//! Each kind of source has a slot of its own under the grader's folder
//! (`target/munmap-grader/<slot>/`): `work/` holds the sources and, in `work/target/`,
//! the build; `runs/` the test processes' scratch folders. A submission's build and its
//! test processes never share a folder with the reference solutions' build, so
//! [`against_reference`] can build the one while the other is graded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use munmap_lab_protocol::{self as protocol, Verdict};

use crate::cargo_build::Built;
use crate::model::{Grade, LabGrade, TestStatus};
use crate::run::{self, Bench};
use crate::sandbox::{self, Sandbox};
use crate::witness::{self, Transcript};
use crate::workdir::{self, Source};
use crate::{cargo_build, handout, progress, project, rubric, scan, score};

/// Settings of one grading run.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long one test body may run.
    pub timeout: Duration,
    /// Folders no test process may read (the batch of submissions, the grade outputs),
    /// besides the project itself and the submission being graded.
    pub hidden: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        let timeout = std::env::var(protocol::TIMEOUT_ENV)
            .ok()
            .and_then(|s| protocol::parse_timeout(&s).ok())
            .unwrap_or(protocol::DEFAULT_TIMEOUT);
        Options {
            timeout,
            hidden: Vec::new(),
        }
    }
}

/// What the reference solutions did on this machine, in this grading run.
#[derive(Clone, Debug, Default)]
pub struct Reference {
    /// The tests they pass (`lab::test`): a skip counts only where the reference skips
    /// too (see [`score::overrule_skips`]).
    pub passes: BTreeSet<String>,
    /// The window the grader read from the kernel at each checkpoint of every test they
    /// pass that stopped at one (`lab::test`): a submission's pass of such a test stands
    /// only with the same transcript (see [`witness::verdict`]).
    pub transcripts: BTreeMap<String, Transcript>,
    /// libtest's name of every test under its graded name (`lab::test`), listed from the
    /// reference build: a submission's own binaries are never asked what their tests are.
    pub libtest_names: BTreeMap<String, String>,
}

impl Reference {
    /// What the reference solutions' `grade` says they did.
    pub fn of(grade: &Grade) -> Reference {
        let passes: BTreeSet<String> = grade.tests_with(TestStatus::Pass).collect();
        let transcripts = grade
            .transcripts
            .iter()
            .filter(|(test, transcript)| passes.contains(*test) && !transcript.is_empty())
            .map(|(test, transcript)| (test.clone(), transcript.clone()))
            .collect();
        Reference {
            passes,
            transcripts,
            libtest_names: grade.libtest_names.clone(),
        }
    }

    /// The reference transcript of `lab::test`, when it has a checkpoint (the test is witnessed).
    pub fn witnessed(&self, test: &str) -> Option<&Transcript> {
        self.transcripts.get(test).filter(|t| !t.is_empty())
    }
}

/// Where one source is graded, computed once per grade: the slot's name and folders
/// under the grader's own (`target/munmap-grader/<name>/`), held locked until dropped.
struct Slot {
    /// `checkout`, `solutions` or `submission`: also the work folder's package name suffix.
    name: &'static str,
    /// `work/`: the sources and, in `work/target/`, the build.
    work: PathBuf,
    /// `runs/`: the test processes' scratch folders.
    runs: PathBuf,
    /// Keeps a second grader out of this slot until the grade is done.
    _lock: workdir::Lock,
}

impl Slot {
    /// Takes the slot of `source`'s kind, waiting for another grader using it.
    fn take(root: &Path, source: &Source) -> Result<Slot> {
        let name = match source {
            Source::Checkout => "checkout",
            Source::Solutions => "solutions",
            Source::Submission(_) => "submission",
        };
        let dir = project::grader_dir(root).join(name);
        let work = dir.join("work");
        let _lock = workdir::lock(&work)?;
        Ok(Slot {
            name,
            work,
            runs: dir.join("runs"),
            _lock,
        })
    }
}

/// Whose grade the progress lines are about.
fn label(source: &Source) -> String {
    match source {
        Source::Checkout => "labs".into(),
        Source::Solutions => "solutions".into(),
        Source::Submission(dir) => dir
            .file_name()
            .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned()),
    }
}

/// Grades the reference solutions, when this project has them, and keeps what they pass
/// and what the kernel showed at their checkpoints. Done before any submission runs, once
/// per grading run.
pub fn reference(root: &Path, options: &Options) -> Result<Option<Reference>> {
    if !root.join("solutions").is_dir() {
        return Ok(None);
    }
    Ok(Some(Reference::of(&grade(root, &Source::Solutions, options, None)?)))
}

/// Grades `source` against the pristine project at `root`; `reference` (what the
/// solutions did here) decides which skips are honoured and which passes the kernel
/// must witness. The solutions and every source graded against a reference are
/// witnessed; without a reference (a student's handout) nothing is.
///
/// The stages, in order: [`prepare`] ([`choose_labs`], the overlay; [`refuse_labs`], what
/// no lab may hold; [`build_suites`]), then [`finish`] ([`libtest_names`]; [`run_labs`],
/// one confined process per test; [`score_labs`]).
pub fn grade(root: &Path, source: &Source, options: &Options, reference: Option<&Reference>) -> Result<Grade> {
    let prepared = prepare(root, source)?;
    finish(root, prepared, options, reference)
}

/// Grades `source` against the reference solutions, graded first (when this project has
/// them; see [`reference`]). Building runs no lab code, so `source` is built meanwhile:
/// a warm grade waits for the longer of the two, not for both. The reference's progress
/// is not shown; the build's is.
pub fn against_reference(root: &Path, source: &Source, options: &Options) -> Result<Grade> {
    let (reference, prepared) = std::thread::scope(|scope| {
        let reference = scope.spawn(|| progress::silently(|| reference(root, options)));
        let prepared = prepare(root, source);
        if !reference.is_finished() {
            progress::waiting_for_reference();
        }
        (reference.join(), prepared)
    });
    let reference = match reference {
        Ok(reference) => reference.context("grading the reference solutions")?,
        Err(_) => anyhow::bail!("grading the reference solutions panicked"),
    };
    finish(root, prepared?, options, reference.as_ref())
}

/// A source laid over the pristine project in its slot and built: all that comes before
/// its first test process.
pub struct Prepared {
    source: Source,
    labs: Vec<rubric::Lab>,
    overlay: workdir::Overlay,
    /// The lab files that were built (a refused or build-breaking lab's stub in its place).
    files: BTreeMap<String, Vec<u8>>,
    built: Built,
    warnings: Vec<String>,
    slot: Slot,
}

/// Overlays `source` on the pristine project in its slot, refuses what no lab may hold
/// and builds the suites. Runs no lab code (cargo builds only the lab crate and suites).
pub fn prepare(root: &Path, source: &Source) -> Result<Prepared> {
    let labs = rubric::load(&root.join("rubric.toml"))?;
    let overlay = choose_labs(root, source)?;
    let stubs = workdir::stubs(root)?;
    let (mut files, refused) = refuse_labs(&overlay.labs, &stubs);
    let (suites, warnings) = suites_present(root, &labs);
    let slot = Slot::take(root, source)?;
    progress::grading(&label(source));
    let built = build_suites(root, &slot, &suites, &mut files, &stubs, refused)?;
    Ok(Prepared {
        source: source.clone(),
        labs,
        overlay,
        files,
        built,
        warnings,
        slot,
    })
}

/// Runs every rubric test of a prepared source, each in its own confined process, and scores them.
pub fn finish(root: &Path, prepared: Prepared, options: &Options, reference: Option<&Reference>) -> Result<Grade> {
    let Prepared {
        source,
        labs,
        overlay,
        files,
        built,
        mut warnings,
        slot,
    } = prepared;
    let source = &source;
    let sandbox = confinement(root, source, options, &slot.work)?;
    let not_enforced = not_enforced(&sandbox);
    let bench = Bench {
        workdir: &slot.work,
        scratch: &slot.runs,
        timeout: options.timeout,
        sandbox: &sandbox,
        witness: reference.is_some() || matches!(source, Source::Solutions),
    };
    // Only needed where test processes could write the work folder (no Landlock).
    let pristine = if sandbox.confines_writes() {
        None
    } else {
        Some(workdir::build_files(root, slot.name, &files)?)
    };
    let (libtest_names, problems) = libtest_names(&built, reference);
    warnings.extend(problems);
    let ran = run_labs(
        &slot,
        &labs,
        &built,
        &libtest_names,
        pristine.as_ref(),
        &bench,
        reference,
    );
    warnings.extend(ran.warnings);
    if matches!(source, Source::Solutions) {
        warnings.extend(unlisted_tests(&labs, &libtest_names));
    }
    let mut grade = score_labs(&labs, ran.graded, &ran.seconds, reference);
    grade.not_started = not_started(root, &labs, &overlay)?;
    grade.ignored = overlay.ignored;
    for missing in overlay.missing {
        grade.warnings.push(format!("{missing} is missing: graded as the stub"));
    }
    grade.warnings.extend(warnings);
    grade.not_enforced = not_enforced;
    grade.transcripts = ran.transcripts;
    grade.libtest_names = libtest_names;
    Ok(grade)
}

/// Overlay: the lab files `source` gives, and what else it holds that is not graded
/// (a file is "changed" only when it differs from both the project and the handout).
fn choose_labs(root: &Path, source: &Source) -> Result<workdir::Overlay> {
    let handed_out = handout::files(root)?;
    let is_handed_out = |rel: &str, bytes: &[u8]| {
        handed_out.get(rel).is_some_and(|b| b == bytes) || std::fs::read(root.join(rel)).is_ok_and(|b| b == bytes)
    };
    workdir::overlay(root, source, &is_handed_out)
}

/// Refuse: lab files that could reach outside the lab are refused like a compile error
/// (the reason, `labs/NAME.rs:LINE:COL: ...`) and built as their stub. Returns the lab
/// files to build and the refused labs.
fn refuse_labs(
    labs: &BTreeMap<String, Vec<u8>>,
    stubs: &BTreeMap<String, Vec<u8>>,
) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, String>) {
    let mut files = labs.clone();
    let mut refused = BTreeMap::new();
    for (stem, content) in labs {
        if let Some(why) = scan::refuse(content) {
            refused.insert(stem.clone(), format!("labs/{stem}.rs:{why}"));
            files.insert(stem.clone(), stubs[stem].clone());
        }
    }
    (files, refused)
}

/// The rubric's labs that have a suite (`tests/ID.rs`), and a warning for each that has none.
fn suites_present(root: &Path, labs: &[rubric::Lab]) -> (Vec<String>, Vec<String>) {
    let (suites, missing): (Vec<&rubric::Lab>, Vec<&rubric::Lab>) = labs
        .iter()
        .partition(|lab| root.join("tests").join(format!("{}.rs", lab.id)).is_file());
    let warnings = missing
        .iter()
        .map(|lab| format!("rubric.toml lists {}, but tests/{}.rs does not exist", lab.id, lab.id))
        .collect();
    (suites.iter().map(|lab| lab.id.clone()).collect(), warnings)
}

/// Build: the suites in the slot's work folder; a lab that breaks the build is charged a
/// build error and built as its stub (`files` is left holding what was built).
fn build_suites(
    root: &Path,
    slot: &Slot,
    suites: &[String],
    files: &mut BTreeMap<String, Vec<u8>>,
    stubs: &BTreeMap<String, Vec<u8>>,
    refused: BTreeMap<String, String>,
) -> Result<Built> {
    progress::building(suites.len(), !slot.work.join("target").exists());
    let built = cargo_build::build(root, &slot.work, slot.name, suites, files, stubs, refused)?;
    progress::built();
    Ok(built)
}

/// What running every lab's tests gave (each test's own result is a [`run::Ran`]).
struct RunResults {
    /// Each lab's grade before the reference overrules any skip, in rubric order.
    graded: Vec<LabGrade>,
    /// `lab::test` to the window at each checkpoint, as the grader read it.
    transcripts: BTreeMap<String, Transcript>,
    /// `lab::test` to its test process's wall time.
    seconds: BTreeMap<String, f64>,
    warnings: Vec<String>,
}

/// What the sandbox cannot enforce on this machine, for the report: its own gaps, and
/// whether processes a test leaves behind can all be reaped (the grader their subreaper).
fn not_enforced(sandbox: &Sandbox) -> Vec<String> {
    let mut gaps = sandbox.not_enforced().to_vec();
    if let Err(e) = sandbox::become_subreaper() {
        gaps.push(format!(
            "processes a test leaves behind are not all killed (no child subreaper: {e})"
        ));
    }
    gaps
}

/// libtest's name of every graded test (`lab::test`): rstest numbers its cases and the
/// rubric does not. Taken from the reference when there is one (a submission's own
/// binaries are never asked what their tests are); else listed from this build, with a
/// problem for each pair of cases that would share a graded name.
fn libtest_names(built: &Built, reference: Option<&Reference>) -> (BTreeMap<String, String>, Vec<String>) {
    match reference {
        Some(reference) => (reference.libtest_names.clone(), Vec::new()),
        None => run::libtest_names(&built.binaries),
    }
}

/// Run: every rubric test of every lab that built, each in its own confined process on
/// the `bench`, judged (and, where it witnesses, its windows checked against the reference's).
fn run_labs(
    slot: &Slot,
    labs: &[rubric::Lab],
    built: &Built,
    libtest_names: &BTreeMap<String, String>,
    pristine: Option<&BTreeMap<String, Vec<u8>>>,
    bench: &Bench,
    reference: Option<&Reference>,
) -> RunResults {
    let mut ran = RunResults {
        graded: Vec::new(),
        transcripts: BTreeMap::new(),
        seconds: BTreeMap::new(),
        warnings: Vec::new(),
    };
    let runnable = |lab: &&rubric::Lab| !built.errors.contains_key(&lab.id) && built.binaries.contains_key(&lab.id);
    let to_run: Vec<&str> = labs.iter().filter(runnable).map(|l| l.id.as_str()).collect();
    progress::testing(labs.iter().filter(runnable).map(|l| l.points.len()).sum());
    for lab in labs {
        if let Some(error) = built.errors.get(&lab.id) {
            ran.graded.push(score::build_error_grade(lab, error));
            continue;
        }
        let tests: Vec<(String, String)> = lab
            .points
            .iter()
            .map(|(name, _)| {
                let libtest = libtest_names.get(&format!("{}::{name}", lab.id)).unwrap_or(name);
                (name.clone(), libtest.clone())
            })
            .collect();
        let outcomes = match built.binaries.get(&lab.id) {
            Some(exe) => {
                let n = to_run.iter().position(|id| *id == lab.id).map_or(0, |i| i + 1);
                progress::suite(n, to_run.len(), &lab.id, tests.len());
                // Test processes cannot write the work folder where the sandbox holds;
                // where it does not, put the pristine files back before each suite.
                if let Some(pristine) = pristine
                    && let Err(e) = workdir::sync(&slot.work, pristine)
                {
                    ran.warnings
                        .push(format!("could not restore the work directory: {e:#}"));
                }
                run::run_lab(exe, &lab.id, &tests, bench)
            }
            None => BTreeMap::new(),
        };
        ran.seconds.extend(
            outcomes
                .iter()
                .filter_map(|(test, r)| Some((format!("{}::{test}", lab.id), r.seconds?))),
        );
        let (verdicts, witnessed): (BTreeMap<String, Verdict>, _) =
            witness::judge_lab(&lab.id, outcomes, reference, &mut ran.transcripts);
        let mut lab_grade = score::lab_grade(lab, &verdicts);
        for test in &mut lab_grade.tests {
            test.witnessed = witnessed.contains(&test.name);
        }
        ran.graded.push(lab_grade);
    }
    progress::tested();
    ran
}

/// Score: the labs' grades with a skip honoured only where the reference skips too,
/// and each test's wall time.
fn score_labs(
    labs: &[rubric::Lab],
    mut graded: Vec<LabGrade>,
    seconds: &BTreeMap<String, f64>,
    reference: Option<&Reference>,
) -> Grade {
    if let Some(reference) = reference {
        for (lab_grade, lab) in graded.iter_mut().zip(labs) {
            score::overrule_skips(lab_grade, lab, &reference.passes);
        }
    }
    for lab_grade in &mut graded {
        lab_grade.set_seconds(seconds);
    }
    Grade::new(graded)
}

/// The labs whose file is still the one handed out (for the report only).
fn not_started(root: &Path, labs: &[rubric::Lab], overlay: &workdir::Overlay) -> Result<Vec<String>> {
    let handed_out = workdir::handed_out_labs(root)?;
    Ok(labs
        .iter()
        .filter(|lab| {
            let file = overlay.labs.get(&lab.id).map(|bytes| workdir::fingerprint(bytes));
            file.is_some() && file.as_ref() == handed_out.get(&lab.id)
        })
        .map(|lab| lab.id.clone())
        .collect())
}

/// The sandbox for `source`'s test processes: they may read their own work folder
/// (sources and build) but nothing else of the project, the submission or the batch.
fn confinement(root: &Path, source: &Source, options: &Options, workdir: &Path) -> Result<Sandbox> {
    let mut hidden = vec![root.to_path_buf()];
    if let Source::Submission(dir) = source {
        hidden.push(dir.clone());
    }
    hidden.extend(options.hidden.iter().cloned());
    Sandbox::new(&hidden, &[workdir.to_path_buf()]).context("cannot prepare the sandbox")
}

/// Tests of the (trusted) reference build that the rubric gives no points: a warning
/// for the instructor, an error in `cargo selftest`.
fn unlisted_tests(labs: &[rubric::Lab], libtest_names: &BTreeMap<String, String>) -> Vec<String> {
    let mut warnings = Vec::new();
    for lab in labs {
        let prefix = format!("{}::", lab.id);
        let graded = libtest_names.keys().filter_map(|name| name.strip_prefix(&prefix));
        for name in graded.filter(|name| lab.points_of(name).is_none()) {
            warnings.push(format!(
                "{}::{name} carries no points: add it to [{}.points] in rubric.toml",
                lab.id, lab.id
            ));
        }
    }
    warnings
}
