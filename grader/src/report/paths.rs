//! Where the forms of a grade are written, checked before anything is built: a path
//! that cannot be written costs a one-line error at once, not a graded run whose
//! report is lost at the end.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Result, bail};

use crate::project::Project;

/// A folder (or file) no output may be written into, and what it is, for the message.
pub type KeepOut = (PathBuf, String);

/// What the pristine `project` holds that an output must not overwrite: the
/// files the grader reads (labs, solutions, suites, manifest, rubric, the grader) and
/// the work folders it rewrites.
pub fn project_keep_out(project: &Project) -> Vec<KeepOut> {
    let root = &project.root;
    let mut keep: Vec<KeepOut> = [
        "labs",
        "solutions",
        "src",
        "tests",
        "snapshots",
        "grader",
        "Cargo.toml",
        "Cargo.lock",
        crate::project::REGISTRY,
        "build.rs",
    ]
    .iter()
    .map(|name| (root.join(name), format!("the project's own {name}")))
    .collect();
    let grader_dir = project.grader_dir();
    for name in ["work", "runs"] {
        keep.push((grader_dir.join(name), "the grader's work folders".to_string()));
    }
    keep
}

/// Checks the files `--json`, `--junit`, `--classroom` and `--summary` will write (`flag`, path):
/// each names a file, not a folder, in a folder that exists and is writable (or is
/// itself writable); no two are the same file; none is inside a `keep_out` path.
pub fn check_files(outputs: &[(&str, &Path)], keep_out: &[KeepOut]) -> Result<()> {
    let mut seen: Vec<(&str, &Path, PathBuf)> = Vec::new();
    for &(flag, path) in outputs {
        let shown = path.display();
        if path.as_os_str().as_bytes().ends_with(b"/") || path.file_name().is_none() {
            bail!(
                "{flag} {shown} names a folder: give a file name, e.g. {flag} grade.{}",
                extension(flag)
            );
        }
        let exists = std::fs::metadata(path);
        if exists.as_ref().is_ok_and(|m| m.is_dir()) {
            bail!(
                "{flag} {shown} is a folder: give a file name, e.g. {flag} {shown}/grade.{}",
                extension(flag)
            );
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        match std::fs::metadata(parent) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                bail!(
                    "{flag} {shown}: {} is not a folder: choose a path in an existing folder",
                    parent.display()
                );
            }
            Err(_) => {
                bail!(
                    "{flag} {shown}: folder {} does not exist: create it first, or choose another path",
                    parent.display()
                );
            }
        }
        let (checked, why) = if exists.is_ok() {
            (path, "the file is not writable")
        } else {
            (parent, "its folder is not writable")
        };
        if let Err(e) = writable(checked) {
            bail!("{flag} {shown}: cannot write there ({why}: {e}): choose another path");
        }
        let resolved = resolve(path);
        refuse_inside(flag, path, &resolved, keep_out)?;
        for (other_flag, other, other_resolved) in &seen {
            if *other_resolved == resolved || same_file(path, other) {
                bail!(
                    "{other_flag} {} and {flag} {shown} are the same file: give each its own path",
                    other.display()
                );
            }
        }
        seen.push((flag, path, resolved));
    }
    Ok(())
}

/// Checks the grades folder of `batch DIR --out OUT`: OUT is a folder that is
/// writable, or can be created (its nearest existing folder is writable); it is not
/// DIR or inside it (it would be graded as a submission), nor inside a `keep_out` path.
pub fn check_out_dir(out: &Path, batch: &Path, keep_out: &[KeepOut]) -> Result<()> {
    let shown = out.display();
    match std::fs::metadata(out) {
        Ok(m) if !m.is_dir() => {
            bail!("--out {shown} is a file, not a folder: give the folder the grades go to");
        }
        Ok(_) => {
            if let Err(e) = writable(out) {
                bail!("--out {shown}: cannot write in it ({e}): choose another folder");
            }
        }
        Err(_) => {
            let existing = out
                .ancestors()
                .skip(1)
                .map(|a| if a.as_os_str().is_empty() { Path::new(".") } else { a })
                .find(|a| std::fs::symlink_metadata(a).is_ok())
                .unwrap_or(Path::new("."));
            if !existing.is_dir() {
                bail!(
                    "--out {shown}: cannot create it, {} is not a folder: choose another folder",
                    existing.display()
                );
            }
            if let Err(e) = writable(existing) {
                bail!(
                    "--out {shown}: cannot create it in {} ({e}): choose another folder",
                    existing.display()
                );
            }
        }
    }
    let resolved = resolve(out);
    if resolved.starts_with(resolve(batch)) {
        bail!(
            "--out {shown} is inside the batch folder {} (it would be graded as a submission): \
             choose a folder outside it",
            batch.display()
        );
    }
    refuse_inside("--out", out, &resolved, keep_out)
}

fn refuse_inside(flag: &str, path: &Path, resolved: &Path, keep_out: &[KeepOut]) -> Result<()> {
    for (dir, what) in keep_out {
        if resolved.starts_with(resolve(dir)) {
            bail!(
                "{flag} {} is inside {what} ({}): write it somewhere else",
                path.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

fn extension(flag: &str) -> &'static str {
    match flag {
        "--junit" => "xml",
        "--summary" => "md",
        _ => "json",
    }
}

/// Whether this process may write `path` (a file) or create files in it (a folder).
fn writable(path: &Path) -> std::io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    let mode = if path.is_dir() {
        libc::W_OK | libc::X_OK
    } else {
        libc::W_OK
    };
    // SAFETY: `c` is a NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), mode) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Two existing paths that are one file (through a link of either kind).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// `path` made absolute, its longest existing part with every link resolved, the rest
/// (which does not exist yet) taken as written: what it will be once created.
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let parts: Vec<Component> = absolute.components().collect();
    for existing in (1..=parts.len()).rev() {
        let head: PathBuf = parts[..existing].iter().collect();
        let Ok(mut resolved) = head.canonicalize() else {
            continue;
        };
        for part in &parts[existing..] {
            match part {
                Component::ParentDir => {
                    resolved.pop();
                }
                Component::Normal(name) => resolved.push(name),
                _ => {}
            }
        }
        return resolved;
    }
    absolute
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn temp(name: &str) -> PathBuf {
        crate::project::temp_dir(&format!("paths-{name}"))
            .canonicalize()
            .unwrap()
    }

    fn one_line(result: Result<()>, expected: &str) {
        let err = format!("{:#}", result.unwrap_err());
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn output_files_are_checked_before_grading() {
        let dir = temp("files");
        let sub = dir.join("sub");
        fs::create_dir_all(sub.join("labs")).unwrap();
        let keep = vec![(sub.clone(), "the submission being graded".to_string())];
        let json = dir.join("g.json");
        let xml = dir.join("g.xml");
        check_files(&[("--json", &json), ("--junit", &xml)], &keep).unwrap();
        fs::write(&json, "old").unwrap();
        // An existing file is rewritten.
        check_files(&[("--json", &json)], &keep).unwrap();

        one_line(check_files(&[("--json", &dir)], &keep), "is a folder: give a file name");
        let slash = PathBuf::from(format!("{}/new/", dir.display()));
        one_line(check_files(&[("--json", &slash)], &keep), "names a folder");
        one_line(check_files(&[("--json", Path::new(".."))], &keep), "names a folder");
        one_line(
            check_files(&[("--junit", &dir.join("missing/g.xml"))], &keep),
            "does not exist: create it first",
        );
        one_line(
            check_files(&[("--json", &json.join("x.json"))], &keep),
            "is not a folder",
        );
        one_line(
            check_files(&[("--json", &json), ("--classroom", &dir.join("sub/../g.json"))], &keep),
            "are the same file",
        );
        std::os::unix::fs::symlink(&json, dir.join("link.json")).unwrap();
        fs::hard_link(&json, dir.join("hard.json")).unwrap();
        for other in ["link.json", "hard.json"] {
            one_line(
                check_files(&[("--json", &json), ("--junit", &dir.join(other))], &keep),
                "are the same file",
            );
        }
        one_line(
            check_files(&[("--json", &sub.join("labs/grade.json"))], &keep),
            "is inside the submission being graded",
        );
        std::os::unix::fs::symlink(&sub, dir.join("sub-link")).unwrap();
        one_line(
            check_files(&[("--json", &dir.join("sub-link/grade.json"))], &keep),
            "is inside the submission being graded",
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unwritable_places_are_found_at_once() {
        // SAFETY: geteuid has no preconditions. (root may write anywhere: nothing to check.)
        if unsafe { libc::geteuid() } != 0 {
            let dir = temp("ro");
            let ro = dir.join("ro");
            fs::create_dir_all(&ro).unwrap();
            fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
            one_line(
                check_files(&[("--json", &ro.join("g.json"))], &[]),
                "folder is not writable",
            );
            fs::write(dir.join("ro.json"), "x").unwrap();
            fs::set_permissions(dir.join("ro.json"), std::os::unix::fs::PermissionsExt::from_mode(0o444)).unwrap();
            one_line(
                check_files(&[("--json", &dir.join("ro.json"))], &[]),
                "the file is not writable",
            );
            one_line(check_out_dir(&ro, &dir.join("batch"), &[]), "cannot write in it");
            one_line(
                check_out_dir(&ro.join("a/b"), &dir.join("batch"), &[]),
                "cannot create it",
            );
            fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn the_grades_folder_is_outside_the_batch() {
        let dir = temp("out");
        let batch = dir.join("subs");
        fs::create_dir_all(batch.join("alice")).unwrap();
        check_out_dir(&dir.join("subs-grades"), &batch, &[]).unwrap();
        check_out_dir(&dir.join("new/deeper/grades"), &batch, &[]).unwrap();
        one_line(check_out_dir(&batch, &batch, &[]), "is inside the batch folder");
        one_line(
            check_out_dir(&batch.join("grades"), &batch, &[]),
            "is inside the batch folder",
        );
        one_line(
            check_out_dir(&dir.join("subs/alice/../grades"), &batch, &[]),
            "is inside the batch folder",
        );
        fs::write(dir.join("file"), "x").unwrap();
        one_line(check_out_dir(&dir.join("file"), &batch, &[]), "is a file, not a folder");
        one_line(check_out_dir(&dir.join("file/grades"), &batch, &[]), "is not a folder");
        let keep = project_keep_out(&Project::bare(&dir));
        one_line(
            check_out_dir(&dir.join("labs/grades"), &batch, &keep),
            "the project's own labs",
        );
        one_line(
            check_files(&[("--json", &dir.join("rubric.toml"))], &keep),
            "the project's own rubric.toml",
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn resolve_follows_links_in_what_exists_and_keeps_the_rest() {
        let dir = temp("resolve");
        fs::create_dir_all(dir.join("real")).unwrap();
        std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
        assert_eq!(resolve(&dir.join("link/new/../x")), dir.join("real/x"));
        assert_eq!(resolve(&dir.join("real/./a/b")), dir.join("real/a/b"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
