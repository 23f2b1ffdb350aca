//! Grades one source (this checkout, the solutions, or a submission) from start to end:
//! overlay, refuse, build, run every lab, score.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crate::model::{Grade, TestStatus};
use crate::workdir::{self, Source};
use crate::{compile, handout, project, rubric, run, scan, score};

/// Settings of one grading run.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long one test body may run.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        // Out of range (checked, with an error, by `cli::parse`): the default, never a panic.
        let timeout = std::env::var(crate::cli::TIMEOUT_ENV)
            .ok()
            .and_then(|s| crate::cli::timeout_secs(&s))
            .unwrap_or(Duration::from_secs(10));
        Options { timeout }
    }
}

/// The work directory for a kind of source: one per kind, reused run after run.
fn slot(source: &Source) -> &'static str {
    match source {
        Source::Checkout => "checkout",
        Source::Solutions => "solutions",
        Source::Submission(_) => "submission",
    }
}

/// The tests the reference solutions pass on this machine (`lab::test`), graded once
/// per process and only when a submission skipped something: a skip counts only where
/// the reference skips too (see [`score::overrule_skips`]).
fn reference_passes(root: &Path, options: &Options) -> Result<BTreeSet<String>, String> {
    static REFERENCE: Mutex<Option<BTreeSet<String>>> = Mutex::new(None);
    let mut cached = REFERENCE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(passes) = cached.as_ref() {
        return Ok(passes.clone());
    }
    let reference = grade(root, &Source::Solutions, options)?;
    let passes: BTreeSet<String> = reference
        .labs
        .iter()
        .flat_map(|lab| {
            lab.tests
                .iter()
                .filter(|t| t.status == TestStatus::Pass)
                .map(move |t| format!("{}::{}", lab.id, t.name))
        })
        .collect();
    *cached = Some(passes.clone());
    Ok(passes)
}

/// Grades `source` against the pristine project at `root`.
pub fn grade(root: &Path, source: &Source, options: &Options) -> Result<Grade, String> {
    let labs = rubric::load(&root.join("rubric.toml"))?;
    let handed_out = handout::files(root)?;
    let is_handed_out = |rel: &str, bytes: &[u8]| {
        handed_out.get(rel).is_some_and(|b| b == bytes) || std::fs::read(root.join(rel)).is_ok_and(|b| b == bytes)
    };
    let overlay = workdir::collect(root, source, &is_handed_out)?;
    let stubs = workdir::stubs(root)?;
    let mut files = overlay.labs.clone();

    // Lab files that could reach outside the lab are refused like a compile error.
    let mut refused = BTreeMap::new();
    for (stem, content) in &overlay.labs {
        if let Some(why) = scan::forbidden(&String::from_utf8_lossy(content)) {
            refused.insert(stem.clone(), format!("labs/{stem}.rs:{why}"));
            files.insert(stem.clone(), stubs[stem].clone());
        }
    }

    let mut warnings = Vec::new();
    let suites: Vec<String> = labs
        .iter()
        .filter(|lab| root.join("tests").join(format!("{}.rs", lab.id)).is_file())
        .map(|lab| lab.id.clone())
        .collect();
    for lab in labs.iter().filter(|l| !suites.contains(&l.id)) {
        warnings.push(format!(
            "rubric.toml lists {}, but tests/{}.rs does not exist",
            lab.id, lab.id
        ));
    }
    if let Ok(entries) = std::fs::read_dir(root.join("tests")) {
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if path.extension().is_some_and(|e| e == "rs") && !labs.iter().any(|l| l.id == stem) {
                warnings.push(format!(
                    "tests/{stem}.rs carries no points: add [{stem}] to rubric.toml"
                ));
            }
        }
    }

    let workdir = project::grader_dir(root).join("work").join(slot(source));
    let _lock = workdir::lock(&workdir)?;
    let built = compile::build(root, &workdir, slot(source), &suites, &mut files, &stubs, refused)?;
    let scratch = project::grader_dir(root).join("runs").join(slot(source));

    let mut graded = Vec::new();
    for lab in &labs {
        if let Some(error) = built.errors.get(&lab.id) {
            graded.push(score::build_error_grade(lab, error));
            continue;
        }
        let lab_run = built.binaries.get(&lab.id).map(|exe| {
            // A test of an earlier lab could have written into the work directory: put
            // the pristine snapshots (and everything else) back before each suite.
            if let Err(e) = workdir::sync(
                &workdir,
                &workdir::build_files(root, slot(source), &files).unwrap_or_default(),
            ) {
                warnings.push(format!("could not restore the work directory: {e}"));
            }
            run::run_lab(exe, &lab.id, &workdir, &scratch, options.timeout)
        });
        let no_verdicts = Default::default();
        let evidence = match &lab_run {
            Some(r) => score::Evidence {
                listed: r.listed.as_deref(),
                verdicts: &r.verdicts,
                ended: &r.ended,
            },
            None => score::Evidence {
                listed: Some(&[]),
                verdicts: &no_verdicts,
                ended: "its suite was not built",
            },
        };
        let (lab_grade, lab_warnings) = score::lab_grade(lab, &evidence);
        if lab_run.is_some() {
            warnings.extend(lab_warnings);
        }
        graded.push(lab_grade);
    }
    let any_skip = graded
        .iter()
        .flat_map(|l| &l.tests)
        .any(|t| t.status == TestStatus::Skipped);
    if any_skip && !matches!(source, Source::Solutions) && root.join("solutions").is_dir() {
        let reference = reference_passes(root, options)?;
        for (lab_grade, lab) in graded.iter_mut().zip(&labs) {
            score::overrule_skips(lab_grade, lab, &reference);
        }
    }
    let mut grade = Grade::new(graded);
    grade.ignored = overlay.ignored;
    for missing in overlay.missing {
        grade.warnings.push(format!("{missing} is missing: graded as the stub"));
    }
    grade.warnings.extend(warnings);
    Ok(grade)
}
