//! The overlay: what is graded is the pristine project with only `labs/*.rs` taken
//! from the submission.
//!
//! A work directory under the target directory holds a copy of what the build needs
//! from the pristine project (manifest, lock file, `src/`, `tests/`, `snapshots/`,
//! `harness/`, `protocol/`; never `solutions/`, never the submission's own manifest or
//! build script), plus the
//! chosen lab files. It is kept between runs and only changed files are rewritten,
//! so cargo rebuilds just what a submission changed.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CString, OsStr};
use std::fs;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use crate::project::{Project, files};

/// Largest file of a submission compared with the handout (a larger one is listed as
/// ignored unread: nothing the student was given is that big).
const COMPARED_BYTES: u64 = 8 << 20;

/// What is being graded.
#[derive(Clone, Debug)]
pub enum Source {
    /// This checkout's own `labs/`.
    Checkout,
    /// The reference solutions, laid in as the lab files.
    Solutions,
    /// A student's checkout: only `DIR/labs/*.rs` is taken.
    Submission(PathBuf),
}

/// The lab files chosen for grading, and what else was found and left alone.
#[derive(Debug, Default)]
pub struct Overlay {
    /// Lab file stem (`lab02_partial`) to its content.
    pub labs: BTreeMap<String, Vec<u8>>,
    /// Files of the submission that differ from the pristine copy and are not graded.
    pub ignored: Vec<String>,
    /// Lab files the submission lacks (graded as the stub).
    pub missing: Vec<String>,
}

/// Chooses the lab files for `source`. `handed_out` says whether a file of the
/// submission equals what the student was given (the pristine file or its handout
/// version), so only real changes are listed as ignored.
pub fn overlay(project: &Project, source: &Source, handed_out: &dyn Fn(&str, &[u8]) -> bool) -> Result<Overlay> {
    let (root, stubs) = (&project.root, &project.stubs);
    let mut overlay = Overlay::default();
    match source {
        Source::Checkout => overlay.labs = lab_files_in(&root.join("labs"), stubs, &mut overlay)?,
        Source::Solutions => {
            let dir = root.join("solutions");
            if !dir.is_dir() {
                bail!(
                    "{} does not exist: --solutions needs the full project (a student handout has no solutions)",
                    dir.display()
                );
            }
            overlay.labs = lab_files_in(&dir, stubs, &mut overlay)?;
            if !overlay.missing.is_empty() {
                bail!("solutions/ lacks {}", overlay.missing.join(", "));
            }
        }
        Source::Submission(dir) => {
            check_submission_dir(dir)?;
            overlay.labs = submitted_labs(dir, stubs, &mut overlay)?;
            let mut ignored = BTreeSet::new();
            let missing = &overlay.missing;
            files::walk(dir, dir, &mut |rel, path| {
                if is_taken_lab(rel, stubs) && !missing.iter().any(|m| m == rel) {
                    return Ok(());
                }
                let same =
                    read_regular(path, COMPARED_BYTES).is_ok_and(|bytes| bytes.is_some_and(|b| handed_out(rel, &b)));
                if !same {
                    ignored.insert(rel.to_string());
                }
                Ok(())
            })?;
            overlay.ignored = ignored.into_iter().collect();
        }
    }
    Ok(overlay)
}

/// A clear error for a path that cannot be a student's checkout.
pub fn check_submission_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        bail!("submission directory `{}` does not exist", dir.display());
    }
    if !dir.is_dir() {
        bail!("`{}` is not a directory", dir.display());
    }
    let labs = dir.join("labs");
    if is_symlink(&labs) {
        bail!(labs_is_a_link(dir));
    }
    if !labs.is_dir() {
        bail!(
            "`{}` has no labs/ folder: point at the root of a student's checkout (the folder holding labs/)",
            dir.display()
        );
    }
    fs::read_dir(&labs).with_context(|| format!("cannot read {}", labs.display()))?;
    Ok(())
}

/// Why a submission whose `labs` is a symbolic link is not graded (it could point at
/// the solutions, or anywhere else on the grading machine).
fn labs_is_a_link(dir: &Path) -> String {
    format!(
        "`{}` is a symbolic link, and the grader follows no links: make labs/ a real folder holding the lab files",
        dir.join("labs").display()
    )
}

/// The submission's lab files, read without following a symbolic link anywhere under
/// the submission: `labs` is opened as a folder that is not a link, and each lab file
/// in it as a regular file that is not a link (a link, a FIFO or a folder is missing).
fn submitted_labs(
    dir: &Path,
    stubs: &BTreeMap<String, Vec<u8>>,
    overlay: &mut Overlay,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let labs_dir = dir.join("labs");
    let folder = open_dir_no_follow(&labs_dir).map_err(|e| {
        if is_symlink(&labs_dir) {
            anyhow!(labs_is_a_link(dir))
        } else {
            anyhow::Error::new(e).context(format!("cannot read {}", labs_dir.display()))
        }
    })?;
    let mut labs = BTreeMap::new();
    for (stem, stub) in stubs {
        let name = format!("{stem}.rs");
        let content = read_regular_at(&folder, OsStr::new(&name), u64::MAX)
            .with_context(|| format!("cannot read {}", labs_dir.join(&name).display()))?;
        let content = content.unwrap_or_else(|| {
            overlay.missing.push(format!("labs/{name}"));
            stub.clone()
        });
        labs.insert(stem.clone(), content);
    }
    Ok(labs)
}

/// Opens a folder to read in, failing when `path` itself is a symbolic link.
fn open_dir_no_follow(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// The content of `name` in the open folder `dir` when it is a regular file of at most
/// `limit` bytes; None when it is missing, a symbolic link (never followed), a folder,
/// a FIFO (never waited on), a device, or larger.
fn read_regular_at(dir: &fs::File, name: &OsStr, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let name = CString::new(name.as_bytes())?;
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: `name` is a NUL-terminated string and `dir` an open descriptor; the new
    // descriptor is owned by the `File` made from it just below.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags) };
    if fd < 0 {
        let error = io::Error::last_os_error();
        return match error.raw_os_error() {
            Some(libc::ENOENT | libc::ELOOP) => Ok(None),
            _ => Err(error),
        };
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    read_open_regular(unsafe { fs::File::from_raw_fd(fd) }, limit)
}

/// [`read_regular_at`] for a path: only its last component is checked for a link, so
/// the folders on the way must have been checked already (as [`walk`] does).
fn read_regular(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let name = path.file_name().ok_or_else(|| io::Error::other("no file name"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(parent)?;
    read_regular_at(&dir, name, limit)
}

fn read_open_regular(mut file: fs::File, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > limit {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// The lab files in `dir` (`labs/` or `solutions/` of the grader's own checkout): for
/// every stub, the file of the same name (or the stub, noted as missing).
/// Symbolic links are never followed: a link could point at the solutions.
fn lab_files_in(
    dir: &Path,
    stubs: &BTreeMap<String, Vec<u8>>,
    overlay: &mut Overlay,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut labs = BTreeMap::new();
    for (stem, stub) in stubs {
        let path = dir.join(format!("{stem}.rs"));
        let content = if path.is_file() && !is_symlink(&path) {
            files::read(&path)?
        } else {
            overlay.missing.push(format!("labs/{stem}.rs"));
            stub.clone()
        };
        labs.insert(stem.clone(), content);
    }
    Ok(labs)
}

fn is_taken_lab(rel: &str, stubs: &BTreeMap<String, Vec<u8>>) -> bool {
    rel.strip_prefix("labs/")
        .and_then(|f| f.strip_suffix(".rs"))
        .is_some_and(|stem| stubs.contains_key(stem))
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The files a build needs from the pristine project (relative path to content): the
/// lab crate with `labs` as its lab files, the harness and protocol crates, the suites
/// and snapshots, and a manifest that stands alone (its own workspace, no grader
/// member, no default features).
pub fn build_files(
    project: &Project,
    slot: &str,
    labs: &BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let root = &project.root;
    let mut files = BTreeMap::new();
    files.insert("Cargo.toml".to_string(), standalone_manifest(root, slot)?);
    for name in ["Cargo.lock", "build.rs"] {
        let path = root.join(name);
        if path.is_file() {
            files.insert(name.to_string(), files::read(&path)?);
        }
    }
    for dir in ["src", "tests", "snapshots", "harness", "protocol"] {
        let path = root.join(dir);
        if path.is_dir() {
            files::walk(root, &path, &mut |rel, path| {
                if !rel.ends_with(".snap.new") && !rel.ends_with(".pending-snap") {
                    files.insert(rel.to_string(), files::read(path)?);
                }
                Ok(())
            })?;
        }
    }
    for (stem, content) in labs {
        files.insert(format!("labs/{stem}.rs"), content.clone());
    }
    Ok(files)
}

/// The pristine manifest, made a workspace of its own (no grader member) without
/// default features, its comments kept.
///
/// The package keeps its name: each slot builds in a target directory of its own
/// (`<slot>/work/target`), so no other build can take its artifacts for fresh. (A name
/// per slot was needed while every work folder shared the project's target directory.)
fn standalone_manifest(root: &Path, slot: &str) -> Result<Vec<u8>> {
    let mut manifest = crate::project::manifest::read(&root.join("Cargo.toml"))?;
    manifest["workspace"] = toml_edit::table();
    crate::project::manifest::remove_feature(&mut manifest, "default");
    Ok(format!("# Written by munmap-grader from the pristine Cargo.toml for the `{slot}` slot; edits are overwritten.\n{manifest}").into_bytes())
}

/// Makes `dir` hold exactly `files`: rewrites what differs, removes what is extra
/// (outside cargo's own `target/`). Unchanged files keep their times, so cargo
/// does not rebuild them.
pub fn sync(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    files::create_dir_all(dir)?;
    let mut extra = Vec::new();
    files::walk(dir, dir, &mut |rel, path| {
        if !files.contains_key(rel) {
            extra.push(path.to_path_buf());
        }
        Ok(())
    })?;
    for path in extra {
        fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    for (rel, content) in files {
        let path = dir.join(rel);
        if fs::read(&path).is_ok_and(|old| old == *content) {
            continue;
        }
        files::write_creating(&path, content)?;
    }
    Ok(())
}

/// Keeps two graders from sharing one work directory at once (held until dropped).
pub struct Lock(#[allow(dead_code)] fs::File);

pub fn lock(dir: &Path) -> Result<Lock> {
    let path = dir.with_extension("lock");
    if let Some(parent) = path.parent() {
        files::create_dir_all(parent)?;
    }
    let file = fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    let cannot = || format!("cannot lock {}", path.display());
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            crate::progress::note(&format!("waiting for another cargo grade using {} ...", dir.display()));
            file.lock().with_context(cannot)?;
        }
        Err(fs::TryLockError::Error(e)) => return Err(e).with_context(cannot),
    }
    Ok(Lock(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        crate::project::temp_dir(name)
    }

    /// A project of stubs only, at `root`.
    fn project_at(root: &Path) -> Project {
        Project {
            stubs: crate::project::labs::stubs(root).unwrap(),
            ..Project::bare(root)
        }
    }

    #[test]
    fn sync_rewrites_only_changes_and_removes_extras() {
        let dir = temp("sync");
        let mut files = BTreeMap::new();
        files.insert("a/x.rs".to_string(), b"one".to_vec());
        files.insert("b.rs".to_string(), b"two".to_vec());
        sync(&dir, &files).unwrap();
        fs::write(dir.join("extra.rs"), "x").unwrap();
        let before = fs::metadata(dir.join("b.rs")).unwrap().modified().unwrap();
        files.insert("a/x.rs".to_string(), b"changed".to_vec());
        sync(&dir, &files).unwrap();
        assert_eq!(fs::read(dir.join("a/x.rs")).unwrap(), b"changed");
        assert_eq!(fs::metadata(dir.join("b.rs")).unwrap().modified().unwrap(), before);
        assert!(!dir.join("extra.rs").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_submission_gives_only_known_lab_files_and_lists_the_rest() {
        let root = temp("root");
        fs::create_dir_all(root.join("labs")).unwrap();
        fs::write(root.join("labs/lab01_a.rs"), "stub a").unwrap();
        fs::write(root.join("labs/lab02_b.rs"), "stub b").unwrap();
        fs::write(root.join("Cargo.toml"), "pristine").unwrap();
        let sub = temp("sub");
        fs::create_dir_all(sub.join("labs")).unwrap();
        fs::create_dir_all(sub.join("tests")).unwrap();
        fs::create_dir_all(sub.join("target/debug")).unwrap();
        fs::write(sub.join("labs/lab01_a.rs"), "answer a").unwrap();
        fs::write(sub.join("labs/extra.rs"), "x").unwrap();
        fs::write(sub.join("tests/lab01_a.rs"), "edited").unwrap();
        fs::write(sub.join("Cargo.toml"), "pristine").unwrap();
        fs::write(sub.join("target/debug/junk"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("labs/lab01_a.rs"), sub.join("labs/lab02_b.rs")).unwrap();

        let same_as_root = |rel: &str, bytes: &[u8]| fs::read(root.join(rel)).is_ok_and(|b| b == bytes);
        let overlay = overlay(&project_at(&root), &Source::Submission(sub.clone()), &same_as_root).unwrap();
        assert_eq!(overlay.labs["lab01_a"], b"answer a");
        assert_eq!(overlay.labs["lab02_b"], b"stub b", "a symlink is never followed");
        assert_eq!(overlay.missing, ["labs/lab02_b.rs"]);
        assert_eq!(
            overlay.ignored,
            ["labs/extra.rs", "labs/lab02_b.rs", "tests/lab01_a.rs"]
        );
        fs::remove_dir_all(&root).unwrap();
        fs::remove_dir_all(&sub).unwrap();
    }

    fn mkfifo(path: &Path) {
        let c = CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn a_labs_folder_that_is_a_link_is_not_graded() {
        let root = temp("linkroot");
        fs::create_dir_all(root.join("labs")).unwrap();
        fs::create_dir_all(root.join("solutions")).unwrap();
        fs::write(root.join("labs/lab01_a.rs"), "stub a").unwrap();
        fs::write(root.join("solutions/lab01_a.rs"), "answer a").unwrap();
        let sub = temp("linksub");
        std::os::unix::fs::symlink(root.join("solutions"), sub.join("labs")).unwrap();

        let err = check_submission_dir(&sub).unwrap_err().to_string();
        assert!(err.contains("labs` is a symbolic link"), "{err}");
        assert!(err.contains("make labs/ a real folder"), "{err}");
        assert!(!err.contains('\n'));
        let err = overlay(&project_at(&root), &Source::Submission(sub.clone()), &|_, _| true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        // The folder itself, opened without following, says the same.
        let err = submitted_labs(&sub, &project_at(&root).stubs, &mut Overlay::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        fs::remove_dir_all(&root).unwrap();
        fs::remove_dir_all(&sub).unwrap();
    }

    #[test]
    fn lab_files_that_are_not_regular_files_are_missing_and_never_block() {
        let root = temp("fiforoot");
        fs::create_dir_all(root.join("labs")).unwrap();
        for stem in ["lab01_a", "lab02_b", "lab03_c"] {
            fs::write(root.join(format!("labs/{stem}.rs")), format!("stub {stem}")).unwrap();
        }
        let sub = temp("fifosub");
        fs::create_dir_all(sub.join("labs/lab02_b.rs")).unwrap();
        fs::create_dir_all(sub.join("notes")).unwrap();
        mkfifo(&sub.join("labs/lab01_a.rs"));
        mkfifo(&sub.join("notes/pipe"));
        fs::write(sub.join("labs/lab03_c.rs"), "answer c").unwrap();

        let overlay = overlay(&project_at(&root), &Source::Submission(sub.clone()), &|_, _| true).unwrap();
        assert_eq!(overlay.labs["lab01_a"], b"stub lab01_a");
        assert_eq!(overlay.labs["lab02_b"], b"stub lab02_b");
        assert_eq!(overlay.labs["lab03_c"], b"answer c");
        assert_eq!(overlay.missing, ["labs/lab01_a.rs", "labs/lab02_b.rs"]);
        assert_eq!(overlay.ignored, ["labs/lab01_a.rs", "notes/pipe"]);
        fs::remove_dir_all(&root).unwrap();
        fs::remove_dir_all(&sub).unwrap();
    }

    #[test]
    fn reading_never_follows_the_last_link_and_caps_the_size() {
        let dir = temp("readreg");
        fs::write(dir.join("file"), "12345").unwrap();
        std::os::unix::fs::symlink(dir.join("file"), dir.join("link")).unwrap();
        assert_eq!(
            read_regular(&dir.join("file"), 5).unwrap().as_deref(),
            Some(&b"12345"[..])
        );
        assert_eq!(read_regular(&dir.join("file"), 4).unwrap(), None);
        assert_eq!(read_regular(&dir.join("link"), 5).unwrap(), None);
        assert_eq!(read_regular(&dir.join("missing"), 5).unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_submission_paths_get_one_clear_line() {
        let missing = Path::new("/nonexistent/munmap-grader");
        assert!(
            check_submission_dir(missing)
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
        let dir = temp("nolabs");
        assert!(check_submission_dir(&dir).unwrap_err().to_string().contains("no labs/"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
