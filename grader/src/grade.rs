//! Grades one source (this checkout, the solutions, or a submission) from start to end:
//! overlay, refuse, build, run every rubric test in its own confined process, score.
//!
//! Each kind of source has a slot of its own under the grader's folder
//! (`target/munmap-grader/<slot>/`): `work/` holds the sources and, in `work/target/`,
//! the build; `runs/` the test processes' scratch folders. A submission's build and its
//! test processes never share a folder with the reference solutions' build, so
//! [`against_reference`] can build the one while the other is graded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use munmap_lab_protocol::{self as protocol, Verdict};

use crate::build::cargo_build;
use crate::build::cargo_build::Built;
use crate::build::seed;
use crate::children;
use crate::evidence::{Reference, Transcript};
use crate::handout;
use crate::judge::run::{self, Bench};
use crate::judge::sandbox::Sandbox;
use crate::judge::score;
use crate::judge::witness;
use crate::model::{Grade, LabGrade};
use crate::progress::Progress;
use crate::project::{Project, REGISTRY, labs, rubric};
use crate::source::overlay::{self, Source};
use crate::source::scan;

/// Settings of one grading run.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long one test body may run.
    pub timeout: Duration,
    /// Folders no test process may read (the batch of submissions, the grade outputs),
    /// besides the project itself and the submission being graded.
    pub hidden: Vec<PathBuf>,
    /// Whether this grade's progress is shown (the reference's, beside a build, is not).
    pub progress: Progress,
    /// The seed every test draws its scenario from, the reference's and the source's
    /// alike (see `munmap_lab_harness::draw`): fresh for each run unless `--seed` gave one.
    pub seed: u64,
}

/// A seed no one can know before the grading run starts (the kernel's random bytes).
pub fn fresh_seed() -> u64 {
    let token = protocol::new_token();
    u64::from_str_radix(&token[..16], 16).expect("the token is hex")
}

/// The protocol's default timeout: the command line sets another (`--timeout`, or
/// `MUNMAP_LAB_TEST_TIMEOUT`, read there and only there).
impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: protocol::DEFAULT_TIMEOUT,
            hidden: Vec::new(),
            progress: Progress::Shown,
            seed: fresh_seed(),
        }
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
    _lock: overlay::Lock,
}

impl Slot {
    /// Takes the slot of `source`'s kind, waiting for another grader using it.
    fn take(project: &Project, source: &Source) -> Result<Slot> {
        let name = match source {
            Source::Checkout => "checkout",
            Source::Solutions => "solutions",
            Source::Submission(_) => "submission",
        };
        let dir = project.grader_dir().join(name);
        let work = dir.join("work");
        let _lock = overlay::lock(&work)?;
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
pub fn reference(project: &Project, options: &Options) -> Result<Option<Reference>> {
    if !project.has_solutions() {
        return Ok(None);
    }
    Ok(Some(grade(project, &Source::Solutions, options, None)?.as_reference()))
}

/// Grades `source` against the pristine `project`; `reference` (what the
/// solutions did here) decides which skips are honoured and which passes the kernel
/// must witness. The solutions and every source graded against a reference are
/// witnessed; without a reference (a student's handout) nothing is.
///
/// The stages, in order: [`prepare`] ([`choose_labs`], the overlay; [`refuse_labs`], what
/// no lab may hold; [`build_suites`]), then [`finish`] ([`libtest_names`]; [`run_labs`],
/// one confined process per test; [`score_labs`]).
pub fn grade(project: &Project, source: &Source, options: &Options, reference: Option<&Reference>) -> Result<Grade> {
    let prepared = prepare(project, source, options.progress)?;
    finish(project, prepared, options, reference)
}

/// Grades `source` against the reference solutions, graded first (when this project has
/// them; see [`reference`]). Building runs no lab code, so `source` is built meanwhile:
/// a warm grade waits for the longer of the two, not for both. The reference's progress
/// is not shown; the build's is.
pub fn against_reference(project: &Project, source: &Source, options: &Options) -> Result<Grade> {
    let (reference, prepared) = std::thread::scope(|scope| {
        let silent = Options {
            progress: Progress::Silent,
            ..options.clone()
        };
        let reference = scope.spawn(move || reference(project, &silent));
        let prepared = prepare(project, source, options.progress);
        if !reference.is_finished() {
            options.progress.waiting_for_reference();
        }
        (reference.join(), prepared)
    });
    let reference = match reference {
        Ok(reference) => reference.context("grading the reference solutions")?,
        Err(_) => anyhow::bail!("grading the reference solutions panicked"),
    };
    finish(project, prepared?, options, reference.as_ref())
}

/// A source laid over the pristine project in its slot and built: all that comes before
/// its first test process.
pub struct Prepared {
    source: Source,
    overlay: overlay::Overlay,
    /// The lab files that were built (a refused or build-breaking lab's stub in its place).
    files: BTreeMap<String, Vec<u8>>,
    built: Built,
    warnings: Vec<String>,
    slot: Slot,
}

/// Overlays `source` on the pristine project in its slot, refuses what no lab may hold
/// and builds the suites. Runs no lab code (cargo builds only the lab crate and suites).
pub fn prepare(project: &Project, source: &Source, progress: Progress) -> Result<Prepared> {
    let overlay = choose_labs(project, source)?;
    let (mut files, refused) = refuse_labs(&overlay.labs, &project.stubs);
    let (suites, warnings) = suites_present(project);
    let slot = Slot::take(project, source)?;
    progress.grading(&label(source));
    let built = build_suites(project, &slot, &suites, &mut files, refused, progress)?;
    Ok(Prepared {
        source: source.clone(),
        overlay,
        files,
        built,
        warnings,
        slot,
    })
}

/// Runs every rubric test of a prepared source, each in its own confined process, and scores them.
pub fn finish(
    project: &Project,
    prepared: Prepared,
    options: &Options,
    reference: Option<&Reference>,
) -> Result<Grade> {
    let Prepared {
        source,
        overlay,
        files,
        built,
        mut warnings,
        slot,
    } = prepared;
    let source = &source;
    let labs = &project.labs;
    let witness = reference.is_some() || matches!(source, Source::Solutions);
    let sandbox = confinement(project, source, options, &slot.work, witness)?;
    let not_enforced = not_enforced(&sandbox);
    let bench = Bench {
        workdir: &slot.work,
        scratch: &slot.runs,
        timeout: options.timeout,
        sandbox: &sandbox,
        witness,
        seed: options.seed,
        progress: options.progress,
    };
    // Only needed where test processes could write the work folder (no Landlock).
    let pristine = if sandbox.confines_writes() {
        None
    } else {
        Some(overlay::build_files(project, slot.name, &files)?)
    };
    let (libtest_names, problems) = libtest_names(&built, reference);
    warnings.extend(problems);
    let ran = run_labs(
        &slot,
        labs,
        &built,
        &libtest_names,
        pristine.as_ref(),
        &bench,
        reference,
    );
    warnings.extend(ran.warnings);
    if matches!(source, Source::Solutions) {
        warnings.extend(unlisted_tests(labs, &libtest_names));
    }
    let mut grade = score_labs(labs, ran.graded, &ran.seconds, reference);
    grade.not_started = not_started(project, &overlay);
    grade.ignored = overlay.ignored;
    for missing in overlay.missing {
        grade.warnings.push(format!("{missing} is missing: graded as the stub"));
    }
    grade.warnings.extend(warnings);
    grade.not_enforced = not_enforced;
    grade.seed = bench.witness.then_some(options.seed);
    // Before any form is written: every form shows the same, capped messages.
    crate::report::cap::apply(&mut grade, project.limits.output_mib);
    grade.transcripts = ran.transcripts;
    grade.libtest_names = libtest_names;
    Ok(grade)
}

/// Overlay: the lab files `source` gives, and what else it holds that is not graded
/// (a file is "changed" only when it differs from both the project and the handout).
fn choose_labs(project: &Project, source: &Source) -> Result<overlay::Overlay> {
    let handed_out = handout::files(project)?;
    let is_handed_out = |rel: &str, bytes: &[u8]| {
        handed_out.get(rel).is_some_and(|b| b == bytes)
            || std::fs::read(project.root.join(rel)).is_ok_and(|b| b == bytes)
    };
    overlay::overlay(project, source, &is_handed_out)
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
fn suites_present(project: &Project) -> (Vec<String>, Vec<String>) {
    let (suites, missing): (Vec<&rubric::Lab>, Vec<&rubric::Lab>) = project
        .labs
        .iter()
        .partition(|lab| project.root.join("tests").join(format!("{}.rs", lab.id)).is_file());
    let warnings = missing
        .iter()
        .map(|lab| format!("{REGISTRY} lists {}, but tests/{}.rs does not exist", lab.id, lab.id))
        .collect();
    (suites.iter().map(|lab| lab.id.clone()).collect(), warnings)
}

/// Build: the suites in the slot's work folder; a lab that breaks the build is charged a
/// build error and built as its stub (`files` is left holding what was built).
fn build_suites(
    project: &Project,
    slot: &Slot,
    suites: &[String],
    files: &mut BTreeMap<String, Vec<u8>>,
    refused: BTreeMap<String, String>,
    progress: Progress,
) -> Result<Built> {
    match seed::from_own_build(project, slot.name, &slot.work) {
        Ok(Some(seeded)) => progress.reused(seeded.files, seeded.bytes),
        Ok(None) => {}
        // Only time is lost: the build compiles what it could not copy.
        Err(e) => crate::progress::note(&format!("note: not reusing what `cargo test` built: {e:#}")),
    }
    progress.building(suites.len(), !slot.work.join("target").exists());
    let built = cargo_build::build(
        project,
        &slot.work,
        slot.name,
        suites,
        files,
        &project.stubs,
        refused,
        &progress,
    )?;
    progress.built();
    Ok(built)
}

/// What running every lab's tests gave (each test's own result is an [`evidence::Ran`](crate::evidence::Ran)).
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
    if let Err(e) = children::become_subreaper() {
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
    bench
        .progress
        .testing(labs.iter().filter(runnable).map(|l| l.points.len()).sum());
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
                bench.progress.suite(n, to_run.len(), &lab.id, tests.len());
                // Test processes cannot write the work folder where the sandbox holds;
                // where it does not, put the pristine files back before each suite.
                if let Some(pristine) = pristine
                    && let Err(e) = overlay::sync(&slot.work, pristine)
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
        let mut drawn: BTreeMap<String, Vec<String>> = outcomes
            .iter()
            .map(|(test, r)| (test.clone(), r.drawn.clone()))
            .collect();
        let (verdicts, witnessed): (BTreeMap<String, Verdict>, _) =
            witness::judge_lab(&lab.id, outcomes, reference, &mut ran.transcripts);
        let mut lab_grade = score::lab_grade(lab, &verdicts);
        for test in &mut lab_grade.tests {
            test.witnessed = witnessed.contains(&test.name);
            test.drawn = drawn.remove(&test.name).unwrap_or_default();
            score::tell_what_was_drawn(test, &lab.id, bench.seed);
        }
        ran.graded.push(lab_grade);
    }
    bench.progress.tested();
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
fn not_started(project: &Project, overlay: &overlay::Overlay) -> Vec<String> {
    let handed_out = &project.handed_out;
    project
        .labs
        .iter()
        .filter(|lab| {
            let file = overlay.labs.get(&lab.id).map(|bytes| labs::fingerprint(bytes));
            file.is_some() && file.as_ref() == handed_out.get(&lab.id)
        })
        .map(|lab| lab.id.clone())
        .collect()
}

/// The sandbox for `source`'s test processes: they may read their own work folder
/// (sources and build) but nothing else of the project, the submission or the batch.
/// Where the grader witnesses, every test draws its scenario and compares no snapshot,
/// so the work folder's `snapshots/` is hidden too: lab code that would repaint a
/// window from its test's snapshot finds none (they are public, so this only raises the
/// bar; the draws are what defeat it).
fn confinement(
    project: &Project,
    source: &Source,
    options: &Options,
    workdir: &Path,
    witness: bool,
) -> Result<Sandbox> {
    let mut hidden = vec![project.root.clone()];
    if let Source::Submission(dir) = source {
        hidden.push(dir.clone());
    }
    if witness {
        hidden.push(workdir.join("snapshots"));
    }
    hidden.extend(options.hidden.iter().cloned());
    let sandbox = Sandbox::new(&hidden, &[workdir.to_path_buf()]).context("cannot prepare the sandbox")?;
    Ok(sandbox.with_limits(project.limits))
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
                "{}::{name} carries no points: add it to [{}.points] in {REGISTRY}",
                lab.id, lab.id
            ));
        }
    }
    warnings
}
