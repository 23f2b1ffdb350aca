//! Every text generated from the registry (`rubric.toml`) and the catalogue of
//! mistakes, in one place: the Markdown tables of README.md and GRADING.md and the
//! lab list of `src/lib.rs`, which `cargo grade sync` and `cargo grade rubric --write`
//! write and `cargo selftest` checks. Each sits between two marker lines of its file.

pub mod mistakes;
pub mod points;

use std::path::Path;

use anyhow::{Context, Result};

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
pub fn update_grading(root: &Path, doc: &str) -> Result<String> {
    let labs = crate::project::rubric::load(&root.join("rubric.toml"))?;
    let with_points = points::with_table(doc, &points::table(&labs))?;
    if !root.join(mistakes::CATALOGUE).is_file() {
        // A student handout has no catalogue (it is withheld): its table stays as it was.
        return Ok(with_points);
    }
    let table = mistakes::table(&mistakes::load(root)?, &labs)?;
    with_section(&with_points, mistakes::BEGIN, mistakes::END, &table)
}
