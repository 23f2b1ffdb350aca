//! Constant bodies (issue 24, part 4): a lab function whose body only returns a
//! constant (`Ok(())`, `Ok(0)`, an errno, its input handed back) must lose every graded
//! test that calls it, or that test does not judge the function.
//!
//! Each body goes into a copy of the solutions with that one function's body replaced.
//! A lab's grade depends on its own file only, so submission k holds, in every lab, that
//! lab's k-th (function, constant) pair: as many gradings as the largest lab has pairs,
//! all in one batch.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};

use super::common::{catalogue, json};
use super::signatures::{self, Constant, LabFn};
use super::{Problems, calls, common};

/// One function of one lab with one constant body, and the graded tests that call it.
struct Pair {
    lab: String,
    f: LabFn,
    constant: Constant,
    tests: Vec<String>,
}

/// What the check will grade, and what it could not make (printed with the table).
struct Plan {
    /// Each lab's pairs, in the labs' order.
    labs: Vec<Vec<Pair>>,
    /// `lab::function: why` for each constant that could not be made.
    skipped: Vec<String>,
    /// Lab functions no graded test calls: no constant of theirs can be judged.
    uncalled: Vec<String>,
    /// Graded tests that call no lab function, as the suite reads: no constant reaches them.
    callless: Vec<String>,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Every (function, constant) pair of every lab, with the graded tests that call it.
fn plan(root: &Path) -> Result<Plan> {
    let rubric: BTreeMap<String, Vec<(String, u32)>> = json::rubric().into_iter().collect();
    let mut plan = Plan {
        labs: Vec::new(),
        skipped: Vec::new(),
        uncalled: Vec::new(),
        callless: Vec::new(),
    };
    let right_answers = right_answers(root)?;
    for lab in super::attacks::lab_names(root)? {
        let suite = read(&root.join("tests").join(format!("{lab}.rs")))?;
        let solution = read(&root.join("solutions").join(format!("{lab}.rs")))?;
        let mut errnos = signatures::errnos(&suite).with_context(|| format!("tests/{lab}.rs"))?;
        errnos.extend(signatures::errnos(&solution).with_context(|| format!("solutions/{lab}.rs"))?);
        let fns = signatures::of_lab(root, &lab)?;
        let names: BTreeSet<String> = fns.iter().map(|f| f.name.clone()).collect();
        let graded: Vec<String> = rubric
            .get(&lab)
            .into_iter()
            .flatten()
            .map(|(test, _)| test.clone())
            .collect();
        let reached = calls::of_tests(&suite, &lab, &graded, &names).with_context(|| format!("tests/{lab}.rs"))?;
        plan.callless.extend(
            (reached.iter())
                .filter(|(_, fns)| fns.is_empty())
                .map(|(test, _)| format!("{lab}::{test}")),
        );
        let mut pairs = Vec::new();
        for f in fns {
            let tests: Vec<String> = graded
                .iter()
                .filter(|test| reached[*test].contains(&f.name))
                .cloned()
                .collect();
            if tests.is_empty() {
                // Nothing could see its constants: grading them would only cost time.
                plan.uncalled.push(format!("{lab}::{}", f.name));
                continue;
            }
            let mut made = signatures::constants(&f, &errnos);
            plan.skipped
                .extend(made.skipped.iter().map(|why| format!("{lab}::{}: {why}", f.name)));
            // A constant that is the function's right answer for every input it can get
            // (cheats.toml's [[right_answer]]) is no cheat: it is left out, saying why.
            made.bodies.retain(|constant| {
                match right_answers.get(&(format!("{lab}::{}", f.name), constant.label.clone())) {
                    Some(why) => {
                        plan.skipped.push(format!(
                            "{lab}::{} = {{ {} }} is its right answer: {why}",
                            f.name, constant.label
                        ));
                        false
                    }
                    None => true,
                }
            });
            pairs.extend(made.bodies.into_iter().map(|constant| Pair {
                lab: lab.clone(),
                f: f.clone(),
                constant,
                tests: tests.clone(),
            }));
        }
        plan.labs.push(pairs);
    }
    Ok(plan)
}

/// cheats.toml's `[[right_answer]]`s: (`lab::function`, constant) to why that constant is
/// what the function must return for every input it can be given.
fn right_answers(root: &Path) -> Result<BTreeMap<(String, String), String>> {
    let path = root.join("grader/fixtures/cheats.toml");
    let table: toml::Table = read(&path)?.parse().with_context(|| format!("{}", path.display()))?;
    let mut answers = BTreeMap::new();
    for entry in table
        .get("right_answer")
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten()
    {
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(|v| v.as_str())
                .map(String::from)
                .with_context(|| format!("{}: a [[right_answer]] needs `{name}`", path.display()))
        };
        answers.insert((field("function")?, field("constant")?), field("why")?);
    }
    Ok(answers)
}

/// Submission `k`: the solutions, with each lab's k-th pair's body put in.
fn make(root: &Path, plan: &Plan, k: usize, dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    catalogue::copy_solutions(root, dir)?;
    for pair in plan.labs.iter().filter_map(|pairs| pairs.get(k)) {
        let file = dir.join("labs").join(format!("{}.rs", pair.lab));
        let text = read(&file)?;
        let replaced = signatures::replace_body(&text, &pair.f, &pair.constant.body)
            .with_context(|| format!("solutions/{}.rs", pair.lab))?;
        std::fs::write(&file, replaced).with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(())
}

fn submission(k: usize) -> String {
    format!("constants-{:02}", k + 1)
}

/// What one pair's grade showed: the tests that still passed (and those skipped on this
/// machine, which earn nothing and judge nothing), or why it has no verdict.
enum Verdict {
    Judged { passed: Vec<String>, skipped: Vec<String> },
    NotJudged(String),
}

fn judge(pair: &Pair, grade: &Result<json::Grade, String>) -> Verdict {
    let grade = match grade {
        Ok(grade) => grade,
        Err(e) => return Verdict::NotJudged(format!("not graded: {e}")),
    };
    let Some(lab) = grade.lab(&pair.lab) else {
        return Verdict::NotJudged(format!("{} is missing from the grade", pair.lab));
    };
    if lab.status != "graded" {
        // A constant that does not compile loses every test without judging any.
        return Verdict::NotJudged(format!(
            "the constant did not compile ({}): {}",
            lab.status, lab.message
        ));
    }
    let (mut passed, mut skipped) = (Vec::new(), Vec::new());
    for test in &pair.tests {
        match lab.test(test).map(|t| t.status.as_str()) {
            Some("pass") => passed.push(test.clone()),
            Some("skipped") => skipped.push(test.clone()),
            Some(_) => {}
            None => return Verdict::NotJudged(format!("{test} is missing from the grade")),
        }
    }
    Verdict::Judged { passed, skipped }
}

/// Makes the submissions, grades them as one batch, prints the table, and lists each
/// (function, constant, test) that still passed.
pub fn grade_and_check(root: &Path) -> Problems {
    let plan = plan(root).expect("the labs' functions and their tests");
    let rounds = plan.labs.iter().map(Vec::len).max().unwrap_or(0);
    let base = common::fresh_dir("constants");
    let (dir, out) = (base.join("batch"), base.join("grades"));
    for k in 0..rounds {
        make(root, &plan, k, &dir.join(submission(k))).unwrap();
    }
    super::grade_batch(&dir, &out);
    let grades: Vec<Result<json::Grade, String>> = (0..rounds)
        .map(|k| {
            let file = out.join(format!("{}.json", submission(k)));
            if file.is_file() {
                json::read(&file)
            } else {
                Err(format!("no {}", file.display()))
            }
        })
        .collect();
    let mut rows = Vec::new();
    let mut found = Vec::new();
    for pairs in &plan.labs {
        for (k, pair) in pairs.iter().enumerate() {
            let verdict = judge(pair, &grades[k]);
            let name = format!("{}::{}", pair.lab, pair.f.name);
            match &verdict {
                Verdict::Judged { passed, .. } => found.extend(
                    passed
                        .iter()
                        .map(|test| format!("{name} = {{ {} }}: {test} still passes", pair.constant.label)),
                ),
                Verdict::NotJudged(why) => found.push(format!("{name} = {{ {} }}: {why}", pair.constant.label)),
            }
            rows.push((name, pair, verdict, submission(k)));
        }
    }
    let table = table(&rows, &plan);
    for line in &table {
        eprintln!("report: {line}");
    }
    common::write(&base.join("table.txt"), table.join("\n") + "\n");
    Problems { found, look: base }
}

/// The printed table: function, constant, the tests that call it, those that still pass.
fn table(rows: &[(String, &Pair, Verdict, String)], plan: &Plan) -> Vec<String> {
    let mut lines = vec![
        "| function | constant | tests that call it | tests that still PASS |".to_string(),
        "| --- | --- | --- | --- |".to_string(),
    ];
    for (name, pair, verdict, _) in rows {
        let still = match verdict {
            Verdict::Judged { passed, .. } if passed.is_empty() => "none".to_string(),
            Verdict::Judged { passed, .. } => format!("**{}**: {}", passed.len(), passed.join(", ")),
            Verdict::NotJudged(why) => format!("NOT JUDGED: {why}"),
        };
        let still = match verdict {
            Verdict::Judged { skipped, .. } if !skipped.is_empty() => {
                format!("{still} (skipped here, so not judged: {})", skipped.join(", "))
            }
            _ => still,
        };
        lines.push(format!(
            "| {name} | `{}` | {} | {still} |",
            pair.constant.label,
            pair.tests.len()
        ));
    }
    let passing: BTreeSet<&str> = rows
        .iter()
        .filter(|(_, _, v, _)| keeps_a_test(v))
        .map(|(name, _, _, _)| name.as_str())
        .collect();
    lines.push(format!(
        "{} constants of {} functions in {} gradings; {} pairs keep a test, in {} functions",
        rows.len(),
        rows.iter().map(|(name, ..)| name).collect::<BTreeSet<_>>().len(),
        plan.labs.iter().map(Vec::len).max().unwrap_or(0),
        rows.iter().filter(|(_, _, v, _)| keeps_a_test(v)).count(),
        passing.len()
    ));
    lines.extend(plan.skipped.iter().map(|why| format!("skipped {why}")));
    lines.push(String::new());
    lines.push("| function | graded tests that call it |".to_string());
    lines.push("| --- | --- |".to_string());
    let mut shown = BTreeSet::new();
    for (name, pair, ..) in rows {
        if shown.insert(name) {
            lines.push(format!("| {name} | {} |", pair.tests.join(", ")));
        }
    }
    lines.extend(
        plan.uncalled
            .iter()
            .map(|name| format!("no graded test calls {name}: it has no constant graded")),
    );
    if !plan.callless.is_empty() {
        lines.push(format!(
            "graded tests that call no lab function: {}",
            plan.callless.join(", ")
        ));
    }
    lines
}

fn keeps_a_test(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Judged { passed, .. } if !passed.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use json::{Grade, Lab, Test};

    fn pair() -> Pair {
        let f = signatures::lab_fns("pub fn f() -> nix::Result<()> { Ok(()) }")
            .unwrap()
            .remove(0);
        Pair {
            lab: "lab".into(),
            constant: signatures::constants(&f, &BTreeSet::new()).bodies.remove(0),
            f,
            tests: vec!["a".into(), "b".into(), "c::case".into()],
        }
    }

    fn lab(tests: &[(&str, &str)]) -> Lab {
        Lab::graded(
            "lab",
            tests
                .iter()
                .map(|(name, status)| Test::scored(name, 1, status, ""))
                .collect(),
        )
    }

    #[test]
    fn a_pass_is_kept_a_skip_judges_nothing() {
        let grade = Grade::of(vec![lab(&[
            ("a", "pass"),
            ("b", "fail"),
            ("c::case", "skipped"),
            ("d", "pass"),
        ])]);
        match judge(&pair(), &Ok(grade)) {
            Verdict::Judged { passed, skipped } => {
                assert_eq!((passed, skipped), (vec!["a".to_string()], vec!["c::case".to_string()]));
            }
            Verdict::NotJudged(why) => panic!("judged: {why}"),
        }
    }

    #[test]
    fn no_verdict_without_a_build_or_a_test() {
        let mut broken = lab(&[("a", "fail"), ("b", "fail"), ("c::case", "fail")]);
        broken.status = "build_error".into();
        let missing = lab(&[("a", "fail"), ("b", "fail")]);
        let cases = [
            (Ok(Grade::of(vec![broken])), "did not compile"),
            (Ok(Grade::of(vec![missing])), "c::case is missing"),
            (Ok(Grade::of(vec![])), "lab is missing"),
            (Err("no labs/".to_string()), "not graded"),
        ];
        for (grade, why) in cases {
            match judge(&pair(), &grade) {
                Verdict::NotJudged(got) => assert!(got.contains(why), "{got}"),
                Verdict::Judged { .. } => panic!("judged without {why}"),
            }
        }
    }
}
