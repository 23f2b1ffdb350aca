//! Every text generated from the registry (`rubric.toml`) and the catalogue of
//! mistakes, in one place: the Markdown tables of README.md and GRADING.md and the
//! lab list of `src/lib.rs`, which `cargo grade sync` and `cargo grade rubric --write`
//! write and `cargo selftest` checks. Each sits between two marker lines of its file.

pub mod labs;
pub mod mistakes;
pub mod points;

use anyhow::{Context, Result, bail};

use crate::project::{Project, REGISTRY};

/// `doc` with the text between the lines `begin` and `end` replaced by `text`.
pub fn with_section(doc: &str, begin: &str, end: &str, text: &str) -> Result<String> {
    let start = doc
        .find(begin)
        .with_context(|| format!("the marker line `{begin}` is missing"))?;
    let stop = doc[start..]
        .find(end)
        .map(|i| start + i)
        .with_context(|| format!("the marker line `{end}` is missing after the first marker"))?;
    Ok(format!("{}{begin}\n{text}{}", &doc[..start], &doc[stop..]))
}

/// GRADING.md's text `doc` with both generated tables brought up to date: the points
/// (from rubric.toml) and the catalogue of mistakes (from grader/fixtures/mistakes.toml).
pub fn update_grading(project: &Project, doc: &str) -> Result<String> {
    let (root, labs) = (&project.root, &project.labs);
    let with_points = points::with_table(doc, &points::table(labs))?;
    if !root.join(mistakes::CATALOGUE).is_file() {
        // A student handout has no catalogue (it is withheld): its table stays as it was.
        return Ok(with_points);
    }
    let table = mistakes::table(&mistakes::load(root)?, labs)?;
    with_section(&with_points, mistakes::BEGIN, mistakes::END, &table)
}

/// Each generated file (relative path) with its text as the registry makes it; GRADING.md's
/// tables come from [`update_grading`].
pub fn files(project: &Project) -> Result<Vec<(&'static str, String)>> {
    let (root, labs) = (&project.root, &project.labs);
    if let Some(lab) = labs.iter().find(|lab| lab.summary.is_none()) {
        bail!(
            "[{id}] in {REGISTRY} has no `summary` (README.md's lab table shows it): \
             add `summary = \"what {id} teaches\"` under `title`",
            id = lab.id
        );
    }
    let read = |rel: &str| {
        let path = root.join(rel);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let readme = with_section(
        &read("README.md")?,
        labs::README_BEGIN,
        labs::README_END,
        &labs::readme_table(labs),
    )
    .context("README.md")?;
    let grading = update_grading(project, &read("GRADING.md")?).context("GRADING.md")?;
    Ok(vec![
        ("src/lib.rs", labs::lib_rs(labs, labs::Lib::Project)),
        ("README.md", readme),
        ("GRADING.md", grading),
    ])
}

/// `cargo grade sync`: rewrites what the registry generates; says, per file, what it did.
pub fn sync(project: &Project) -> Result<Vec<String>> {
    if !project.has_solutions() {
        bail!(
            "`cargo grade sync` rewrites the full project's files, and this checkout has no solutions/ (a student handout)"
        );
    }
    let mut done = Vec::new();
    for (rel, text) in files(project)? {
        let path = project.root.join(rel);
        if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
            done.push(format!("{rel}: up to date"));
        } else {
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            done.push(format!("{rel}: rewritten from {REGISTRY}"));
        }
    }
    Ok(done)
}
