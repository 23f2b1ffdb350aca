//! A grades folder read back: every `NAME.json` a batch or merge wrote, for `cargo
//! grade report DIR`. A submission is named by its file's stem, which is its folder
//! name but where two folder names differ only in case or one is over 200 bytes (the
//! gradebook's note names those files).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::model::{Grade, JSON_VERSION};

/// Files of a grades folder that are not a submission's grade.
const NOT_GRADES: [&str; 2] = [super::STATS, crate::class::shard::MANIFEST];

/// One submission's grade read back.
pub struct ReadRow {
    pub name: String,
    pub file: String,
    pub result: Result<Grade, String>,
}

/// Every grade in `dir`, by file name; refused, naming the file, when one is not a
/// grade of this version, and when there is none.
pub fn rows(dir: &Path) -> Result<Vec<ReadRow>> {
    if !dir.is_dir() {
        bail!("`{}` does not exist or is not a folder", dir.display());
    }
    let mut rows = Vec::new();
    for entry in crate::project::files::list(dir)? {
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
            continue;
        };
        if name.as_bytes().starts_with(b".") || NOT_GRADES.contains(&name.to_str().unwrap_or_default()) {
            continue;
        }
        let path = entry.path();
        let text = crate::project::files::read_to_string(&path)?;
        let result = grade_of(&text).with_context(|| {
            format!(
                "{} is not a grade a batch writes: give the --out folder of `cargo grade batch` or `merge`",
                path.display()
            )
        })?;
        rows.push(ReadRow {
            name: stem.to_string(),
            file: stem.to_string(),
            result,
        });
    }
    if rows.is_empty() {
        bail!(
            "`{}` holds no grades (NAME.json): give the --out folder of `cargo grade batch` or `merge`",
            dir.display()
        );
    }
    rows.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(rows)
}

/// A `NAME.json`: a grade, or why the submission has none.
fn grade_of(text: &str) -> Result<Result<Grade, String>> {
    let value: serde_json::Value = serde_json::from_str(text).context("not JSON")?;
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(JSON_VERSION)) {
        bail!("its version is {version:?}, this grader reads version {JSON_VERSION}");
    }
    if let Some(error) = value.get("error") {
        return Ok(Err(error.as_str().unwrap_or_default().to_string()));
    }
    Ok(Ok(serde_json::from_value(value)?))
}

/// When the grades in `dir` were made: the newest of their files.
pub fn newest(dir: &Path, rows: &[ReadRow]) -> SystemTime {
    let paths: Vec<_> = rows.iter().map(|r| dir.join(format!("{}.json", r.file))).collect();
    super::newest_file(&paths)
}
