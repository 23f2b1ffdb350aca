//! Which labs are charged a build error: the decision, over builds given as a closure.
//!
//! First follow the compiler: stub the labs its errors name, until the build succeeds.
//! When the errors name no lab (or stubbing the labs they name does not fix the
//! build: an impl that conflicts with one elsewhere, an error in expanded code), the
//! guilty lab is found by building: every lab as its stub, then the labs added back
//! one at a time (one build per lab); a lab whose addition breaks the build is charged
//! the compiler's first error, with where it was reported. Only a build that fails
//! with every lab as its stub is the pristine project's own error, and stops grading.
//! [`crate::build::cargo_build`] runs the builds.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, anyhow, bail};

/// What one build said, as far as [`blame`] is concerned.
#[derive(Clone, Debug, Default)]
pub struct Attempt {
    pub success: bool,
    /// The labs the compiler's errors name, each with its first error (short form, then
    /// code and notes), in the order reported.
    pub named: Vec<(String, String)>,
    /// The compiler's first error on one line, with where it was reported
    /// (`src/x.rs:3:1: error[E0119]: ...`).
    pub first_error: Option<String>,
    /// The first error in full (or cargo's last lines), for a project that does not build.
    pub detail: String,
}

/// What a build closure gives [`blame`]: the attempt, and the value to keep if it is the final choice.
pub type Tried<T> = Result<(Attempt, T)>;

/// Decides which labs are charged a build error and built as their stub.
///
/// `candidates` are the labs submitted with a file of their own (not the stub), in the
/// order to try them; `errors` the labs already refused (built as stubs, never tried);
/// `build(stubbed)` builds with the labs in `stubbed` as their stubs and every other
/// candidate as submitted, and says what happened (with a value kept from the build
/// that made the final choice: `T`, the test executables).
///
/// 1. Follow the compiler: stub the labs its errors name, until the build succeeds.
/// 2. If an error names no lab still submitted (or the named ones do not explain the
///    failure), start again from every lab as its stub (a failure there: the pristine
///    project does not build) and add the candidates back one at a time: one that
///    breaks the build is charged (its own error if the compiler named it, else the
///    first error, with where it was reported) and goes back to its stub. At most one
///    build per lab, plus one with every lab as its stub and, if the last lab tried was
///    charged, one with the final choice.
pub fn blame<T>(
    candidates: &[String],
    errors: BTreeMap<String, String>,
    build: &mut dyn FnMut(&BTreeSet<String>) -> Tried<T>,
) -> Result<(BTreeMap<String, String>, T)> {
    let refused: BTreeSet<String> = errors.keys().cloned().collect();
    let mut all_stubs = refused.clone();
    all_stubs.extend(candidates.iter().cloned());

    let mut stubbed = refused.clone();
    let mut charged = errors.clone();
    let last = loop {
        let (attempt, built) = build(&stubbed)?;
        if attempt.success {
            return Ok((charged, built));
        }
        let mut progress = false;
        for (lab, message) in &attempt.named {
            if candidates.contains(lab) && stubbed.insert(lab.clone()) {
                charged.entry(lab.clone()).or_insert_with(|| message.clone());
                progress = true;
            }
        }
        if !progress {
            break (attempt, stubbed == all_stubs);
        }
    };

    let pristine = |attempt: &Attempt| {
        anyhow!(
            "the pristine project does not build, even with every lab as its stub (its own files hold the error):\n{}",
            attempt.detail
        )
    };
    let (mut built, mut last_is_final) = match last {
        (attempt, true) => return Err(pristine(&attempt)),
        _ => {
            let (attempt, built) = build(&all_stubs)?;
            if !attempt.success {
                return Err(pristine(&attempt));
            }
            (built, true)
        }
    };
    let mut stubbed = all_stubs;
    let mut charged = errors;
    for lab in candidates.iter().filter(|lab| !refused.contains(*lab)) {
        stubbed.remove(lab);
        let (attempt, with_lab) = build(&stubbed)?;
        last_is_final = attempt.success;
        if attempt.success {
            built = with_lab;
            continue;
        }
        stubbed.insert(lab.clone());
        charged.insert(lab.clone(), charge(lab, &attempt));
    }
    if !last_is_final {
        let (attempt, again) = build(&stubbed)?;
        if !attempt.success {
            bail!(
                "the labs that built one at a time do not build together (a build that is not repeatable?): {}",
                attempt.first_error.as_deref().unwrap_or("the build failed")
            );
        }
        built = again;
    }
    Ok((charged, built))
}

/// The build error charged to `lab`, whose file broke the build: its own first error
/// when the compiler named it, else the build's first error and where it was reported.
fn charge(lab: &str, attempt: &Attempt) -> String {
    if let Some((_, message)) = attempt.named.iter().find(|(named, _)| named == lab) {
        return message.clone();
    }
    let first = attempt.first_error.as_deref().unwrap_or("error: the build failed");
    format!("{first} [reported outside labs/{lab}.rs, which breaks the build: the project builds with its stub]")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`blame`] decides: the labs charged, and the labs built as submitted in the end.
    type Verdict = Result<(BTreeMap<String, String>, BTreeSet<String>), String>;

    /// A fake compiler for [`blame`]: `rule(real)` is the attempt for a build with the
    /// labs in `real` as submitted (the others as stubs). Returns the verdict and every
    /// build's set of submitted labs; the value kept is the set of the final build.
    fn run_blame(
        candidates: &[&str],
        refused: &[&str],
        rule: impl Fn(&BTreeSet<String>) -> Attempt,
    ) -> (Verdict, Vec<BTreeSet<String>>) {
        let candidates: Vec<String> = candidates.iter().map(|c| c.to_string()).collect();
        let errors: BTreeMap<String, String> = refused.iter().map(|r| (r.to_string(), "refused".to_string())).collect();
        let mut builds = Vec::new();
        let mut build = |stubbed: &BTreeSet<String>| {
            for r in refused {
                assert!(stubbed.contains(*r), "a refused lab is never built: {r}");
            }
            let real: BTreeSet<String> = candidates.iter().filter(|c| !stubbed.contains(*c)).cloned().collect();
            builds.push(real.clone());
            Ok((rule(&real), real))
        };
        let verdict = blame(&candidates, errors, &mut build).map_err(|e| format!("{e:#}"));
        (verdict, builds)
    }

    fn ok() -> Attempt {
        Attempt {
            success: true,
            ..Attempt::default()
        }
    }

    fn failed(named: &[&str], first: &str) -> Attempt {
        Attempt {
            success: false,
            named: named
                .iter()
                .map(|lab| (lab.to_string(), format!("labs/{lab}.rs:1:1: error: in {lab}")))
                .collect(),
            first_error: Some(first.to_string()),
            detail: format!("{first}\n  --> the full rendering"),
        }
    }

    fn set(labs: &[&str]) -> BTreeSet<String> {
        labs.iter().map(|l| l.to_string()).collect()
    }

    const CONFLICT: &str = "src/support/maps.rs:3:1: error[E0119]: conflicting implementations of trait `Drop`";

    #[test]
    fn a_build_that_succeeds_charges_nobody() {
        let (verdict, builds) = run_blame(&["a", "b"], &[], |_| ok());
        let (errors, built) = verdict.unwrap();
        assert!(errors.is_empty());
        assert_eq!(built, set(&["a", "b"]));
        assert_eq!(builds.len(), 1);
    }

    #[test]
    fn a_lab_the_compiler_names_is_charged_its_own_error() {
        let (verdict, builds) = run_blame(&["a", "b", "c"], &[], |real| {
            if real.contains("b") {
                failed(&["b"], "labs/b.rs:1:1: error: in b")
            } else {
                ok()
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(
            errors,
            BTreeMap::from([("b".to_string(), "labs/b.rs:1:1: error: in b".to_string())])
        );
        assert_eq!(built, set(&["a", "c"]));
        assert_eq!(builds.len(), 2);
    }

    #[test]
    fn an_error_reported_outside_the_labs_lands_on_the_lab_that_causes_it() {
        let (verdict, builds) = run_blame(&["a", "b", "c", "d"], &[], |real| {
            if real.contains("c") {
                failed(&[], CONFLICT)
            } else {
                ok()
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors["c"],
            format!(
                "{CONFLICT} [reported outside labs/c.rs, which breaks the build: the project builds with its stub]"
            )
        );
        assert!(!errors["c"].contains('\n'));
        assert_eq!(built, set(&["a", "b", "d"]));
        // The failed build, every lab a stub, then one build per lab.
        assert_eq!(builds.len(), 2 + 4);
        assert_eq!(builds[1], set(&[]));
    }

    #[test]
    fn when_the_last_lab_tried_is_charged_the_final_choice_is_built_again() {
        let (verdict, builds) = run_blame(&["a", "b", "c"], &[], |real| {
            if real.contains("c") {
                failed(&[], CONFLICT)
            } else {
                ok()
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["c"]);
        assert_eq!(built, set(&["a", "b"]));
        assert_eq!(builds.len(), 2 + 3 + 1);
        assert_eq!(builds.last(), Some(&set(&["a", "b"])));
    }

    #[test]
    fn a_named_lab_that_does_not_explain_the_failure_is_not_charged() {
        // c breaks the build, but the error is reported in b's file while b is submitted.
        let (verdict, _) = run_blame(&["a", "b", "c"], &[], |real| {
            match (real.contains("b"), real.contains("c")) {
                (_, false) => ok(),
                (true, true) => failed(&["b"], "labs/b.rs:1:1: error: in b"),
                (false, true) => failed(&[], CONFLICT),
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["c"]);
        assert!(
            errors["c"].starts_with("labs/b.rs:1:1: error: in b [reported outside labs/c.rs"),
            "{errors:?}"
        );
        assert_eq!(built, set(&["a", "b"]));
    }

    #[test]
    fn every_lab_that_breaks_the_build_is_charged_named_or_not() {
        let (verdict, builds) = run_blame(&["a", "b", "c", "d"], &[], |real| {
            if real.contains("b") {
                failed(&["b"], "labs/b.rs:1:1: error: in b")
            } else if real.contains("d") {
                failed(&[], CONFLICT)
            } else {
                ok()
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(errors["b"], "labs/b.rs:1:1: error: in b");
        assert!(errors["d"].starts_with(CONFLICT));
        assert_eq!(built, set(&["a", "c"]));
        assert!(builds.len() <= 2 + 4 + 2, "{}", builds.len());
    }

    #[test]
    fn only_a_failure_with_every_lab_a_stub_blames_the_pristine_project() {
        let (verdict, builds) = run_blame(&["a", "b"], &[], |_| failed(&[], CONFLICT));
        let err = verdict.unwrap_err();
        assert!(
            err.starts_with("the pristine project does not build, even with every lab as its stub"),
            "{err}"
        );
        assert!(err.contains(CONFLICT));
        assert_eq!(builds, [set(&["a", "b"]), set(&[])]);
        // The compiler named every lab, and the build with all stubs still failed: no extra build.
        let (verdict, builds) = run_blame(&["a"], &[], |real| {
            if real.contains("a") {
                failed(&["a"], "x")
            } else {
                failed(&[], CONFLICT)
            }
        });
        assert!(
            verdict
                .unwrap_err()
                .to_string()
                .contains("pristine project does not build")
        );
        assert_eq!(builds.len(), 2);
        // No lab submitted at all.
        let (verdict, builds) = run_blame(&[], &[], |_| failed(&[], CONFLICT));
        assert!(
            verdict
                .unwrap_err()
                .to_string()
                .contains("pristine project does not build")
        );
        assert_eq!(builds.len(), 1);
    }

    #[test]
    fn refused_labs_stay_stubs_and_keep_their_reason() {
        let (verdict, _) = run_blame(&["a", "r"], &["r"], |real| {
            if real.contains("a") {
                failed(&[], CONFLICT)
            } else {
                ok()
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(errors["r"], "refused");
        assert!(errors["a"].starts_with(CONFLICT));
        assert_eq!(built, set(&[]));
    }

    #[test]
    fn a_build_that_cannot_run_stops_at_once() {
        let mut calls = 0;
        let mut build = |_: &BTreeSet<String>| -> Tried<()> {
            calls += 1;
            Err(anyhow!("cannot run cargo: not found"))
        };
        let err = blame(&["a".to_string()], BTreeMap::new(), &mut build).unwrap_err();
        assert_eq!(err.to_string(), "cannot run cargo: not found");
        assert_eq!(calls, 1);
    }
}
