//! Which test is running: the lab (the test binary) and libtest's name for the test.
//!
//! libtest runs each test on a thread named after it
//! (`trim_front_removes_the_first_pages::case_2_anonymous_three_pages`), and cargo names
//! the test binary after the suite (`lab02_partial-<hash>`). Both are read here, once per
//! thread, and nowhere else: the isolation, the snapshot names and the scratch folders
//! all take them from [`TestContext::current`].

use std::cell::OnceCell;
use std::ffi::OsStr;
use std::sync::OnceLock;

/// The running test, as libtest and cargo name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestContext {
    /// The suite's name: the test binary's file stem without cargo's hash (`lab02_partial`).
    pub lab: String,
    /// libtest's name for the test (`trim_front::case_1_anonymous`).
    pub test: String,
}

impl TestContext {
    /// The test running on this thread; `None` outside a `#[test]` (on libtest's main thread).
    pub fn current() -> Option<TestContext> {
        thread_local! {
            static CURRENT: OnceCell<Option<TestContext>> = const { OnceCell::new() };
        }
        CURRENT.with(|cell| {
            cell.get_or_init(|| {
                let thread = std::thread::current();
                let test = thread.name().filter(|name| *name != "main")?;
                Some(TestContext {
                    lab: lab_name(),
                    test: test.to_string(),
                })
            })
            .clone()
        })
    }

    /// Like [`current`](Self::current), for code that only makes sense inside a test.
    #[track_caller]
    pub fn expect_current(what: &str) -> TestContext {
        Self::current().unwrap_or_else(|| panic!("{what} must be called from a #[test] (libtest names its thread)"))
    }

    /// The test's name as one path component: `trim_front__case_1_anonymous`.
    pub fn test_as_file_name(&self) -> String {
        self.test.replace("::", "__")
    }
}

impl std::fmt::Display for TestContext {
    /// `lab02_partial::trim_front::case_1_anonymous`, as a student would filter for it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}::{}", self.lab, self.test)
    }
}

/// The test binary's file stem without cargo's hash (`lab02_partial`).
fn lab_name() -> String {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        let stem = exe.file_stem().and_then(OsStr::to_str).unwrap_or("lab").to_string();
        match stem.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
            _ => stem,
        }
    })
    .clone()
}
