//! The lab files as they were handed out: the stubs in `labs/` of the pristine
//! project and, in a student's handout (whose `labs/` holds the student's own files),
//! their fingerprints recorded at export.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::project::files;

/// The pristine stubs, `labs/*.rs` of the grader's own checkout, by file stem.
pub fn stubs(root: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let dir = root.join("labs");
    let mut stubs = BTreeMap::new();
    for entry in files::list(&dir)? {
        let path = entry.path();
        if let Some(stem) = lab_stem(&path) {
            stubs.insert(stem, files::read(&path)?);
        }
    }
    Ok(stubs)
}

/// Where a student's handout records each lab file as it was handed out (in a handout,
/// `labs/` holds the student's own files, so the stubs cannot be read from there).
pub const HANDED_OUT: &str = "grader/handed-out.toml";

/// A lab file's fingerprint: its CRC-32 and length (`"89abcdef-4096"`). It tells an
/// untouched stub from a started lab, for the report only: no point depends on it.
pub fn fingerprint(bytes: &[u8]) -> String {
    format!("{:08x}-{}", crc32fast::hash(bytes), bytes.len())
}

/// Each lab file as it was handed out, by stem: its [`fingerprint`], from
/// [`HANDED_OUT`] in a student's handout, else from the `stubs` in `labs/`.
pub fn handed_out_labs(root: &Path, stubs: &BTreeMap<String, Vec<u8>>) -> Result<BTreeMap<String, String>> {
    let path = root.join(HANDED_OUT);
    if !path.is_file() {
        return Ok(stubs
            .iter()
            .map(|(stem, bytes)| (stem.clone(), fingerprint(bytes)))
            .collect());
    }
    let text = files::read_to_string(&path)?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    Ok(table
        .iter()
        .filter_map(|(stem, value)| Some((stem.clone(), value.as_str()?.to_string())))
        .collect())
}

/// The [`HANDED_OUT`] file for a handout whose lab files have these fingerprints.
pub fn handed_out_file(labs: &BTreeMap<String, String>) -> String {
    let mut text = String::from(
        "# Written by `cargo grade handout`: each lab file as it was handed out (CRC-32 and length),\n\
         # so `cargo grade` can show a lab nobody has started as one line. No point depends on it.\n",
    );
    for (stem, fingerprint) in labs {
        text.push_str(&format!("{stem} = \"{fingerprint}\"\n"));
    }
    text
}

fn lab_stem(path: &Path) -> Option<String> {
    (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(String::from))?
}
