//! What the grader's suites share: the one way they run the grader
//! ([`grader::run`]), the grade as its JSON says it ([`json`]), the fixture and
//! mistake catalogues ([`catalogue`]), and the lock that runs them one at a time.
//!
//! Each suite compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod catalogue;
pub mod conform;
pub mod grader;
pub mod json;
pub mod reporter;

use std::path::{Path, PathBuf};

/// The project root: the grader's checkout, which the built grader grades.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("grader/ lives in the project")
        .to_path_buf()
}

/// The target directory the grader uses (it reads `CARGO_TARGET_DIR` the same way).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// A fresh folder for one test's submissions and outputs:
/// `target/munmap-grader/grader-tests/NAME` (kept after the run, for reading).
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = target_dir().join("munmap-grader").join("grader-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Held while a test runs the grader: one test at a time, across test threads and
/// test processes (nextest runs each test in a process of its own). The grader takes
/// each slot of its work folder (`target/munmap-grader/<slot>`) under a lock, so two
/// graders would only queue; but a fixture that checks no process outlived grading,
/// or that no project file changed, must not see another test's grading.
pub struct Serial(#[allow(unused)] std::fs::File);

pub fn serial() -> Serial {
    let dir = target_dir().join("munmap-grader");
    std::fs::create_dir_all(&dir).expect("cannot create the grader's folder");
    let path = dir.join("grader-tests.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
    Serial(file)
}

/// Reads a file the grader wrote; the panic names it.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Writes a file, creating its folder; the panic names it.
pub fn write(path: &Path, content: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    std::fs::write(path, content).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Fails the test with every problem, one per line, and where to look.
pub fn assert_no_problems(problems: &[String], look: &Path) {
    assert!(
        problems.is_empty(),
        "{}\ngrades and logs: {}",
        problems.join("\n"),
        look.display()
    );
}
