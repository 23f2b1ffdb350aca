//! The kernel as witness: the grader's own view of a test's window at each checkpoint.
//!
//! A pass marker can be forged by lab code that finds the test's token in its own
//! process's memory. The kernel's account of that process cannot: when the grader
//! witnesses a test, it tells the test process where to put its window
//! ([`protocol::WITNESS_BASE`]), the process stops itself (SIGSTOP) at every step of
//! its story that shows that window, and at each stop [`checkpoint`] reads
//! the window from `/proc/PID/smaps` and renders it with the protocol's maps view. No
//! code of the test process runs while it is stopped, and what it printed is not read.
//!
//! The reference solutions are graded first in every grading run, witnessed too: a
//! submission's test whose reference transcript has a checkpoint passes only when its
//! own transcript is the same, checkpoint for checkpoint ([`verdict`]). A test whose
//! reference stopped nowhere keeps the verdict on its process alone.

use std::collections::{BTreeMap, BTreeSet};

use munmap_lab_protocol::MapsView;
use munmap_lab_protocol::{self as protocol, Verdict};

use crate::evidence::{Ran, Reference, Transcript};

/// Most checkpoints read in one test: lab code that stops itself without end costs
/// the grader nothing more (its transcript then differs from any reference).
pub const MAX_CHECKPOINTS: usize = 64;

/// Reads the witnessed window of the stopped process `pid` and adds it to `transcript`,
/// with the pages the whole process has locked (`VmLck`, when any) and `asked`: the
/// unmaps its processes asked for since the last checkpoint, as [`crate::judge::calls`]
/// recorded them (None: none).
pub fn checkpoint(transcript: &mut Transcript, pid: u32, asked: Option<String>) {
    let mut window = match transcript.checkpoints.len() {
        n if n > MAX_CHECKPOINTS => return,
        MAX_CHECKPOINTS => format!("(more than {MAX_CHECKPOINTS} checkpoints: the rest were not read)\n"),
        _ => match MapsView::of_process(pid, protocol::WITNESS_BASE as u64, protocol::WITNESS_PAGES) {
            Ok(view) => view.to_string(),
            Err(e) => format!("(the window could not be read: {e})\n"),
        },
    };
    // An unreadable status goes unsaid: the window's own line says why it could not be read.
    if let Some(pages) = protocol::maps::locked_pages_of(pid as i32)
        .ok()
        .filter(|&pages| pages > 0)
    {
        window.push_str(&format!("locked in the whole process (VmLck): {pages} page(s)\n"));
    }
    if let Some(asked) = asked {
        window.push_str(&asked);
    }
    transcript.checkpoints.push(window);
}

/// The verdict on `lab::test` once the kernel has had its say: a pass stands only when
/// `seen` (this run's transcript) equals `expected` (the reference solution's). Any
/// other verdict stands as it is: it already costs the test its points, and its own
/// message says more.
pub fn verdict(lab: &str, test: &str, verdict: Verdict, seen: &Transcript, expected: &Transcript) -> Verdict {
    if verdict != Verdict::Pass {
        return verdict;
    }
    if seen.checkpoints == expected.checkpoints {
        return returned_verdict(lab, test, &seen.returned, &expected.returned);
    }
    let (seen, expected) = (&seen.checkpoints, &expected.checkpoints);
    let Some(n) = first_difference(seen, expected) else {
        return Verdict::Pass;
    };
    let count = |checkpoints: &[String]| match checkpoints.len() {
        1 => "1 checkpoint".to_string(),
        n => format!("{n} checkpoints"),
    };
    let show = |window: Option<&String>, who: &str, stopped: &[String]| match window {
        Some(window) => indent(window),
        None => format!("  (none: {who} stopped at {} in all)\n", count(stopped)),
    };
    Verdict::Fail(format!(
        "{lab}::{test} failed: the test process reported a pass, but what the grader saw at checkpoint {} \
         differs from the reference solution's.\n\
         At each step of its story the test stops, and the grader reads the window from /proc/PID/smaps itself \
         ({} pages from the window's page 0; the page after the window is the reservation's guard page), \
         with the unmaps the test's processes asked the kernel for since the step before (`asked ...`: \
         what munmap and mremap were called with, however they were called).\n\n\
         checkpoint {}, the reference solution:\n{}\
         checkpoint {}, this submission:\n{}",
        n + 1,
        protocol::WITNESS_PAGES,
        n + 1,
        show(expected.get(n), "the reference solution", expected),
        n + 1,
        show(seen.get(n), "this submission", seen),
    ))
}

/// Where two lists first differ (one ending first counts), None when they are equal.
fn first_difference(seen: &[String], expected: &[String]) -> Option<usize> {
    (0..seen.len().max(expected.len())).find(|&n| seen.get(n) != expected.get(n))
}

/// The kernel's windows agreed: a pass stands only when lab code also returned what the
/// reference's did, call for call (each note names the call, drawn arguments included).
fn returned_verdict(lab: &str, test: &str, seen: &[String], expected: &[String]) -> Verdict {
    let Some(n) = first_difference(seen, expected) else {
        return Verdict::Pass;
    };
    let show = |value: Option<&String>| match value {
        Some(value) => value.clone(),
        None => "(no such call)".to_string(),
    };
    Verdict::Fail(format!(
        "{lab}::{test} failed: the test process reported a pass, but lab call {} returned other than the \
         reference solution's (the grader holds each value a lab call returns to the reference's under the same \
         draw, whatever the test's own checks said).\n  the reference solution: {}\n  this submission:        {}",
        n + 1,
        show(expected.get(n)),
        show(seen.get(n)),
    ))
}

/// Judges every test of `lab` that ran: verdicts after the kernel's say (see
/// [`verdict`]) and the tests whose verdict it witnessed. The transcript of every test
/// that passed goes into `transcripts` (as `lab::test`), for grading others against.
///
/// Without a reference (the solutions graded as the reference), a test is witnessed
/// when it stopped at a checkpoint: that transcript is what others are held to.
pub fn judge_lab(
    lab: &str,
    ran: BTreeMap<String, Ran>,
    reference: Option<&Reference>,
    transcripts: &mut BTreeMap<String, Transcript>,
) -> (BTreeMap<String, Verdict>, BTreeSet<String>) {
    let mut verdicts = BTreeMap::new();
    let mut witnessed = BTreeSet::new();
    for (
        test,
        Ran {
            verdict: ran,
            transcript,
            ..
        },
    ) in ran
    {
        let key = format!("{lab}::{test}");
        let judged = match reference {
            Some(reference) => match reference.witnessed(&key) {
                Some(expected) => {
                    witnessed.insert(test.clone());
                    verdict(lab, &test, ran, &transcript, expected)
                }
                None => ran,
            },
            None => {
                if !transcript.is_empty() {
                    witnessed.insert(test.clone());
                }
                ran
            }
        };
        if judged == Verdict::Pass && !transcript.is_empty() {
            transcripts.insert(key, transcript);
        }
        verdicts.insert(test, judged);
    }
    (verdicts, witnessed)
}

fn indent(window: &str) -> String {
    window.lines().map(|l| format!("  {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestStatus;

    fn transcript(windows: &[&str]) -> Transcript {
        Transcript {
            checkpoints: windows.iter().map(|w| w.to_string()).collect(),
            returned: Vec::new(),
        }
    }

    const BEFORE: &str = "page  0     ---p  anonymous\npages 1-4   rw-p  anonymous\n";
    const AFTER: &str = "page  0     ---p  anonymous\npage  1     ----  unmapped\npages 2-4   rw-p  anonymous\n";

    #[test]
    fn a_pass_stands_only_with_the_same_checkpoints() {
        let expected = transcript(&[BEFORE, AFTER]);
        let pass = || Verdict::Pass;
        assert_eq!(verdict("lab", "t", pass(), &expected.clone(), &expected), Verdict::Pass);

        let different = verdict("lab", "t", pass(), &transcript(&[BEFORE, BEFORE]), &expected);
        let message = different.message();
        assert_eq!(different.status(), TestStatus::Fail);
        assert!(
            message.starts_with("lab::t failed: the test process reported a pass"),
            "{message}"
        );
        assert!(message.contains("at checkpoint 2 differs"), "{message}");
        assert!(
            message.contains(
                "checkpoint 2, the reference solution:\n  page  0     ---p  anonymous\n  page  1     ----  unmapped\n"
            ),
            "{message}"
        );
        assert!(
            message.contains("checkpoint 2, this submission:\n  page  0     ---p  anonymous\n  pages 1-4"),
            "{message}"
        );

        let missing = verdict("lab", "t", pass(), &transcript(&[BEFORE]), &expected);
        assert!(
            missing
                .message()
                .contains("this submission:\n  (none: this submission stopped at 1 checkpoint in all)"),
            "{missing:?}"
        );
        let extra = verdict("lab", "t", pass(), &transcript(&[BEFORE, AFTER, AFTER]), &expected);
        assert!(
            extra.message().contains("checkpoint 3, the reference solution:\n  (none: the reference solution stopped at 2 checkpoints in all)"),
            "{extra:?}"
        );
    }

    #[test]
    fn a_pass_stands_only_with_the_same_returned_values() {
        let with = |values: &[&str]| Transcript {
            returned: values.iter().map(|v| v.to_string()).collect(),
            ..transcript(&[BEFORE])
        };
        let expected = with(&["unmap(addr, 3): Ok(())"]);
        assert_eq!(
            verdict("lab", "t", Verdict::Pass, &expected.clone(), &expected),
            Verdict::Pass
        );
        let other = verdict(
            "lab",
            "t",
            Verdict::Pass,
            &with(&["unmap(addr, 3): Err(EINVAL)"]),
            &expected,
        );
        assert_eq!(other.status(), TestStatus::Fail);
        assert!(
            other.message().contains(
                "the reference solution: unmap(addr, 3): Ok(())\n  this submission:        unmap(addr, 3): Err(EINVAL)"
            ),
            "{other:?}"
        );
        let none = verdict("lab", "t", Verdict::Pass, &with(&[]), &expected);
        assert!(
            none.message().contains("this submission:        (no such call)"),
            "{none:?}"
        );
    }

    #[test]
    fn other_verdicts_keep_their_own_message() {
        let crash = Verdict::Crash("lab::t crashed: SIGSEGV".into());
        assert_eq!(
            verdict("lab", "t", crash.clone(), &transcript(&[]), &transcript(&[BEFORE])),
            crash
        );
    }

    #[test]
    fn a_lab_is_held_to_the_reference_where_it_stopped() {
        let ran = |verdict: Verdict, windows: &[&str]| Ran {
            verdict,
            transcript: transcript(windows),
            seconds: None,
            drawn: Vec::new(),
        };
        // The reference: `a` stopped twice, `b` never.
        let mut reference_transcripts = BTreeMap::new();
        let (verdicts, witnessed) = judge_lab(
            "lab",
            BTreeMap::from([
                ("a".to_string(), ran(Verdict::Pass, &[BEFORE, AFTER])),
                ("b".to_string(), ran(Verdict::Pass, &[])),
            ]),
            None,
            &mut reference_transcripts,
        );
        assert!(verdicts.values().all(|v| *v == Verdict::Pass));
        assert_eq!(witnessed, BTreeSet::from(["a".to_string()]));
        let reference = Reference {
            passes: BTreeSet::from(["lab::a".to_string(), "lab::b".to_string()]),
            transcripts: reference_transcripts,
            libtest_names: BTreeMap::new(),
        };

        // A forger: both report a pass, neither did the work.
        let mut transcripts = BTreeMap::new();
        let (verdicts, witnessed) = judge_lab(
            "lab",
            BTreeMap::from([
                ("a".to_string(), ran(Verdict::Pass, &[BEFORE])),
                ("b".to_string(), ran(Verdict::Pass, &[])),
            ]),
            Some(&reference),
            &mut transcripts,
        );
        assert_eq!(verdicts["a"].status(), TestStatus::Fail);
        assert_eq!(
            verdicts["b"],
            Verdict::Pass,
            "no checkpoint: the process's verdict stands"
        );
        assert_eq!(witnessed, BTreeSet::from(["a".to_string()]));
        assert!(transcripts.is_empty(), "only passes with checkpoints are kept");
    }
}
