//! One insta snapshot per test case: a sentence for the reviewer, then the window
//! at each step of the scenario, like the drawings in the kernel's `merge.c`.
//!
//! insta would name a snapshot after the enclosing function, which makes every
//! rstest case of one function share (and overwrite) one file. Here the name comes
//! from the test's own identity instead: the lab (the test binary) and the case's graded
//! name (libtest's without rstest's case number, [`munmap_lab_protocol::graded_name`]),
//! e.g. `lab02_partial__trim_front__anonymous.snap` for `trim_front::case_1_anonymous`.

use std::fmt::Write as _;

use super::context::TestContext;
use super::maps::MapsView;

/// The scenario told as steps, each with the window as the kernel showed it then.
pub struct Story {
    description: String,
    text: String,
}

impl Story {
    /// Starts a story; `description` is the one sentence a reviewer reads first.
    pub fn new(description: impl Into<String>) -> Story {
        Story {
            description: description.into(),
            text: String::new(),
        }
    }

    /// Records the window after a step. The step is also printed, so a crash later in
    /// the test still shows the last state of the window in its report.
    ///
    /// When the grader witnesses the test and `view` is of the witnessed window (this
    /// process's first arena), the step is also a checkpoint: the process stops until the
    /// grader has read the window from the kernel itself.
    pub fn step(&mut self, heading: impl AsRef<str>, view: &MapsView) -> &mut Story {
        let heading = heading.as_ref();
        let mut block = String::new();
        writeln!(block, "{heading}:").unwrap();
        for line in view.to_string().lines() {
            writeln!(block, "  {line}").unwrap();
        }
        println!("{block}");
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(&block);
        super::witness::checkpoint(view);
        self
    }

    /// Adds a plain line: a measured fact that belongs with the picture (and its snapshot).
    pub fn fact(&mut self, line: impl AsRef<str>) -> &mut Story {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        writeln!(self.text, "{}", line.as_ref()).unwrap();
        self
    }

    /// The text that is compared with the snapshot file.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Compares the story with `snapshots/<lab>__<test>.snap`. A drawn scenario
    /// ([`super::draw`]) is not the snapshot's: the grader holds its windows to the
    /// reference solutions' under the same draw instead, and nothing is compared here.
    pub fn assert_snapshot(&self) {
        if super::draw::is_drawn() {
            return;
        }
        // Lab code ran before this point: undo any INSTA_* setting it made (INSTA_FORCE_PASS).
        super::insta_env::restore();
        let name = snapshot_name(&TestContext::expect_current("assert_snapshot()"));
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(std::path::Path::new(super::PROJECT_ROOT).join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_description(self.description.clone());
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(name.as_str(), self.text.as_str()));
    }
}

/// The snapshot's name: the protocol's, for the test's graded name (rstest's case
/// number left out, see `munmap_lab_protocol::graded_name`).
fn snapshot_name(test: &TestContext) -> String {
    munmap_lab_protocol::snapshot_name(&test.lab, &munmap_lab_protocol::graded_name(&test.test))
}
