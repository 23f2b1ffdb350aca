//! The run evidence: what the grader itself saw of each test process, the data the
//! judge stages hand each other. [`Ran`] is one test's run (verdict, [`Transcript`],
//! wall time), and [`Reference`] what the reference solutions did in this grading run,
//! which every other source is judged against. Data only: the judge (`judge::run`,
//! `judge::witness`) gathers and weighs it, the grade (`model::Grade`) carries it.

use std::collections::{BTreeMap, BTreeSet};

use munmap_lab_protocol::Verdict;

/// The window as the grader read it from the kernel at each checkpoint of one test, in
/// order (see `judge::witness`), and what the test's lab calls returned, as the test
/// process told it (`returned trim_back(..): Ok(..)`, in order): held to the reference's
/// too, so a check inside the process that lab code got around still fails on the value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    pub checkpoints: Vec<String>,
    pub returned: Vec<String>,
}

impl Transcript {
    pub fn is_empty(&self) -> bool {
        self.checkpoints.is_empty()
    }
}

/// How one test ran: the verdict on its process, and the window at each of its
/// checkpoints as the grader read it (empty unless witnessed), and its wall time.
pub struct Ran {
    pub verdict: Verdict,
    pub transcript: Transcript,
    /// From start to end of the test's process (None when it could not start).
    pub seconds: Option<f64>,
    /// What its scenario drew (`mapping pages = 7`), as the test process noted it:
    /// shown with a failure, never weighed.
    pub drawn: Vec<String>,
}

impl Ran {
    /// A test that never ran (its scratch folder or call record could not be made).
    pub fn not_run(verdict: Verdict) -> Ran {
        Ran {
            verdict,
            transcript: Transcript::default(),
            seconds: None,
            drawn: Vec::new(),
        }
    }
}

/// What the reference solutions did on this machine, in this grading run.
#[derive(Clone, Debug, Default)]
pub struct Reference {
    /// The tests they pass (`lab::test`): a skip counts only where the reference skips
    /// too (see `judge::score::overrule_skips`).
    pub passes: BTreeSet<String>,
    /// The window the grader read from the kernel at each checkpoint of every test they
    /// pass that stopped at one (`lab::test`): a submission's pass of such a test stands
    /// only with the same transcript (see `judge::witness::verdict`).
    pub transcripts: BTreeMap<String, Transcript>,
    /// libtest's name of every test under its graded name (`lab::test`), listed from the
    /// reference build: a submission's own binaries are never asked what their tests are.
    pub libtest_names: BTreeMap<String, String>,
}

impl Reference {
    /// The reference transcript of `lab::test`, when it has a checkpoint (the test is witnessed).
    pub fn witnessed(&self, test: &str) -> Option<&Transcript> {
        self.transcripts.get(test).filter(|t| !t.is_empty())
    }
}
