//! `--batch DIR`: every subfolder of DIR is one submission. One work directory and
//! one target directory serve them all, so only what a submission changed is
//! rebuilt. A submission that cannot be graded is a row with the reason; the batch
//! goes on.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::grade::{self, Options, Reference};
use crate::model::Grade;
use crate::output::{self, gradebook, terminal};
use crate::rubric;
use crate::workdir::Source;

/// One graded submission: its folder name and the grade (or why there is none).
pub struct Graded {
    pub name: String,
    pub result: Result<Grade, String>,
    pub seconds: f64,
}

/// The subfolders of `dir` (hidden ones skipped), sorted by name.
pub fn submissions(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.is_dir() {
        return Err(format!(
            "batch directory `{}` does not exist or is not a directory",
            dir.display()
        ));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && !p.file_name().and_then(|n| n.to_str()).unwrap_or(".").starts_with('.'))
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(format!("`{}` has no submission folders in it", dir.display()));
    }
    Ok(found)
}

/// Grades every submission in `dir`, writing `out/NAME.json`, `out/NAME.txt` and
/// `out/gradebook.csv`; with `progress`, a line per submission goes to stderr. The
/// reference (what the solutions pass here) is graded first when not given.
pub fn run(
    root: &Path,
    dir: &Path,
    out: &Path,
    options: &Options,
    reference: Option<&Reference>,
    progress: bool,
) -> Result<Vec<Graded>, String> {
    let lab_ids: Vec<String> = rubric::load(&root.join("rubric.toml"))?
        .into_iter()
        .map(|l| l.id)
        .collect();
    let folders = submissions(dir)?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    // Test processes may read neither the other submissions nor anyone's grades.
    let mut options = options.clone();
    options.hidden.extend([dir.to_path_buf(), out.to_path_buf()]);
    let options = &options;
    let computed;
    let reference = match reference {
        Some(reference) => Some(reference),
        None => {
            if progress {
                eprintln!("grading the reference solutions first (a skip counts only where they skip too) ...");
            }
            computed = grade::reference(root, options)?;
            computed.as_ref()
        }
    };
    let started = Instant::now();
    let mut graded = Vec::new();
    for (i, folder) in folders.iter().enumerate() {
        let name = folder.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        if progress {
            eprint!("[{}/{}] {name} ... ", i + 1, folders.len());
        }
        let one = Instant::now();
        let result = grade::grade(root, &Source::Submission(folder.clone()), options, reference);
        let seconds = one.elapsed().as_secs_f64();
        match &result {
            _ if !progress => {}
            Ok(g) => eprintln!("{}/{} ({seconds:.1} s)", g.score, g.max_score),
            Err(e) => eprintln!("not graded: {} ({seconds:.1} s)", crate::model::first_line(e)),
        }
        let (json, text) = match &result {
            Ok(g) => (output::json(g), terminal::render(g)),
            Err(e) => (
                serde_json::to_string_pretty(&serde_json::json!({"error": e})).unwrap_or_default() + "\n",
                format!("not graded: {e}\n"),
            ),
        };
        output::write_file(&out.join(format!("{name}.json")), &json)?;
        output::write_file(&out.join(format!("{name}.txt")), &text)?;
        graded.push(Graded { name, result, seconds });
    }
    let rows: Vec<gradebook::Row> = graded.iter().map(|g| (g.name.as_str(), &g.result)).collect();
    output::write_file(&out.join("gradebook.csv"), &gradebook::render(&lab_ids, &rows))?;
    let total = started.elapsed().as_secs_f64();
    if !progress {
        return Ok(graded);
    }
    eprintln!(
        "graded {} submission(s) in {total:.1} s ({:.1} s each); gradebook: {}",
        graded.len(),
        total / graded.len() as f64,
        out.join("gradebook.csv").display()
    );
    Ok(graded)
}
