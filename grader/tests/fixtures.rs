//! The fixture submissions (`grader/fixtures/fixtures.toml`) and the catalogue of
//! classic mistakes (`grader/fixtures/mistakes.toml`), graded by the built grader as
//! ONE batch (one grade of the reference solutions for all of them), beside a pristine
//! copy of the solutions whose grade is the full marks every other lab must keep.
//!
//! A crash, hang, exit, wiped process or compile error in one lab costs only that lab;
//! tampering gains nothing; no project file (the grader's binary included) changes;
//! no process a fixture leaves survives; each mistake loses exactly the tests it names
//! in its own lab, or keeps full marks when harmless.
//!
//! Needs the grader's `fixture-hooks` feature: the batch is graded with each test's
//! token in its scratch folder, standing for lab code that found it in its memory.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::catalogue::{self, Fixture};
use common::grader::{self, Call};
use common::json::{self, Grade};

/// The submission whose grade is the full marks: the solutions as they are.
const PRISTINE: &str = "pristine-solutions";

/// The batch, graded once for every test of this suite.
struct Batch {
    root: PathBuf,
    out: PathBuf,
    fixtures: Vec<Fixture>,
    mistakes: Vec<Fixture>,
    /// Each round's folder name.
    rounds: Vec<String>,
    /// Each submission's grade (or why it has none), by folder name.
    grades: BTreeMap<String, Result<Grade, String>>,
    /// What went wrong across the whole batch: a changed project file, a survivor.
    batch_problems: Vec<String>,
}

impl Batch {
    fn full_marks(&self) -> &Grade {
        match &self.grades[PRISTINE] {
            Ok(grade) => grade,
            Err(e) => panic!("the solutions could not be graded: {e}"),
        }
    }
}

static BATCH: OnceLock<Batch> = OnceLock::new();

fn batch() -> &'static Batch {
    BATCH.get_or_init(grade_the_batch)
}

/// Whether this kernel's Landlock has every feature the sandbox uses (ABI 6: truncate,
/// device ioctls, signal and abstract-socket scopes); the grade's `not_enforced`
/// confirms it afterwards.
fn sandbox_fully_enforced() -> bool {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute and size 0 the call only reports the ABI version.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    abi >= 6
}

fn grade_the_batch() -> Batch {
    let root = common::root();
    let mut fixtures = catalogue::load(&root).expect("the fixture catalogue");
    let enforced = sandbox_fully_enforced();
    if !enforced {
        for fixture in fixtures.iter().filter(|f| f.needs_sandbox) {
            eprintln!(
                "skip {}: the sandbox is not fully enforced here (Landlock ABI < 6)",
                fixture.name
            );
        }
        fixtures.retain(|f| !f.needs_sandbox);
    }
    let mistakes = catalogue::load_mistakes(&root).expect("the mistakes catalogue");
    let base = common::fresh_dir("fixtures");
    let dir = base.join("batch");
    let out = base.join("grades");
    catalogue::copy_solutions(&root, &dir.join(PRISTINE)).unwrap();
    for fixture in &fixtures {
        catalogue::make(&root, fixture, &dir.join(&fixture.name)).unwrap();
    }
    let rounds: Vec<String> = catalogue::rounds(&mistakes)
        .iter()
        .enumerate()
        .map(|(i, round)| {
            let name = format!("round-{:02}", i + 1);
            catalogue::make_round(&root, round, &dir.join(&name)).unwrap();
            name
        })
        .collect();

    let before = project_digest(&root);
    let ipc_before = sysv_ipc_objects();
    // A descriptor without close-on-exec, as a shell's fd 9 is: the grader inherits it,
    // no test process may (fixture inherited_descriptor looks for it).
    let _planted = plant_descriptor(&base.join("munmap-grader-planted-descriptor"));
    let hook = [("MUNMAP_LAB_FIXTURE_TOKEN_IN_SCRATCH", "1".as_ref())];
    // Exit status 3 too: fixtures expecting an error are not graded.
    grader::run(
        &Call::Batch {
            dir: &dir,
            out: &out,
            shard: None,
        },
        &hook,
    )
    .expect_batch_ran();
    let after = project_digest(&root);
    let mut batch_problems = Vec::new();
    for (path, _) in before.iter().filter(|(path, digest)| after.get(*path) != Some(*digest)) {
        batch_problems.push(format!("{path} was changed or removed while the fixtures were graded"));
    }
    for path in after.keys().filter(|path| !before.contains_key(*path)) {
        batch_problems.push(format!("{path} appeared while the fixtures were graded"));
    }
    for object in sysv_ipc_objects().difference(&ipc_before) {
        batch_problems.push(format!("a SysV IPC object was left after grading: {object}"));
    }
    for fixture in &fixtures {
        if let Some(mark) = fixture.no_survivor() {
            for pid in processes_with(mark) {
                batch_problems.push(format!(
                    "{}: process {pid} (`{mark}`) outlived grading: every process a test leaves is killed",
                    fixture.name
                ));
            }
        }
    }
    let names = std::iter::once(PRISTINE.to_string())
        .chain(fixtures.iter().map(|f| f.name.clone()))
        .chain(rounds.iter().cloned());
    let grades = names
        .map(|name| {
            let file = out.join(format!("{name}.json"));
            let grade = if file.is_file() {
                json::read(&file)
            } else {
                Err(format!("not graded: no {}", file.display()))
            };
            (name, grade)
        })
        .collect();
    let batch = Batch {
        root,
        out,
        fixtures,
        mistakes,
        rounds,
        grades,
        batch_problems,
    };
    if enforced {
        // The caps that bind only for some users (the process cap, a memory cgroup) are no wall.
        let caps = ["is not capped", "No cgroup v2"];
        let gaps: Vec<&String> = (batch.full_marks().not_enforced.iter())
            .filter(|gap| !caps.iter().any(|cap| gap.contains(cap)))
            .collect();
        assert!(
            gaps.is_empty(),
            "Landlock ABI 6 is here, yet the grader could not enforce: {gaps:?}"
        );
    }
    batch
}

#[test]
fn fixture_submissions_are_graded_as_they_must_be() {
    let _serial = common::serial();
    let batch = batch();
    let mut problems = batch.batch_problems.clone();
    let full = batch.full_marks();
    for fixture in &batch.fixtures {
        let found = catalogue::check(fixture, &batch.grades[&fixture.name], full);
        problems.extend(
            found
                .into_iter()
                .map(|problem| format!("{} ({}): {problem}", fixture.name, fixture.why)),
        );
    }
    common::assert_no_problems(&problems, &batch.out);
}

#[test]
fn each_mistake_loses_exactly_the_tests_it_names() {
    let _serial = common::serial();
    let batch = batch();
    let full = batch.full_marks();
    let mut problems = Vec::new();
    for (round, name) in catalogue::rounds(&batch.mistakes).iter().zip(&batch.rounds) {
        for (who, problem) in catalogue::check_round(round, &batch.grades[name], full) {
            let why = round.iter().find(|m| m.name == who).map(|m| format!(" ({})", m.why));
            problems.push(format!("{name}: {who}{}: {problem}", why.unwrap_or_default()));
        }
    }
    common::assert_no_problems(&problems, &batch.out);
}

#[test]
fn the_pristine_solutions_keep_full_marks_in_the_batch() {
    let _serial = common::serial();
    let batch = batch();
    let full = batch.full_marks();
    assert!(full.max_score > 0, "{full:?}");
    assert_eq!(full.score, full.max_score, "{}", batch.root.display());
}

/// Every grade of the batch (real messages, build errors, partial points, labs not
/// started) written in every output form, as their consumers read them.
#[test]
fn every_grade_of_the_batch_renders_as_its_consumers_read_it() {
    let _serial = common::serial();
    let batch = batch();
    let dir = common::fresh_dir("fixtures-outputs");
    let mut problems = Vec::new();
    for (name, grade) in &batch.grades {
        if grade.is_ok() {
            let given = batch.out.join(format!("{name}.json"));
            problems.extend(common::conform::problems_of_given(&dir, name, &given));
        }
    }
    common::assert_no_problems(&problems, &dir);
}

/// Every file of the project that grading must never change (the grader's own binary
/// included), with a digest of its content: path to digest.
/// The SysV shared memory segments, semaphore sets and message queues of this machine
/// (their lines in /proc/sysvipc, key and id first), to tell what grading left behind.
fn sysv_ipc_objects() -> std::collections::BTreeSet<String> {
    let mut objects = std::collections::BTreeSet::new();
    for kind in ["shm", "sem", "msg"] {
        let text = std::fs::read_to_string(format!("/proc/sysvipc/{kind}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().take(2).collect();
            objects.insert(format!("{kind} key {}", fields.join(" id ")));
        }
    }
    objects
}

/// Opens `path` (created) without close-on-exec; closed when the returned value is dropped.
fn plant_descriptor(path: &Path) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path; the fd is owned by the OwnedFd made from it.
    let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_RDWR | libc::O_CREAT, 0o600) };
    assert!(
        fd >= 0,
        "cannot open {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
    // SAFETY: fd was just opened and nothing else owns it.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}

fn project_digest(root: &Path) -> BTreeMap<String, u64> {
    use std::hash::{Hash, Hasher};
    let digest = |bytes: &[u8]| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        hasher.finish()
    };
    let mut files = BTreeMap::new();
    for dir in [
        "labs",
        "solutions",
        "src",
        "tests",
        "snapshots",
        "harness",
        "protocol",
        "grader",
    ] {
        walk(&root.join(dir), &mut |path| {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if !rel.starts_with("grader/target") {
                files.insert(rel, digest(&std::fs::read(path).unwrap_or_default()));
            }
        });
    }
    for name in ["Cargo.toml", "Cargo.lock", "rubric.toml", "GRADING.md"] {
        files.insert(
            name.to_string(),
            digest(&std::fs::read(root.join(name)).unwrap_or_default()),
        );
    }
    let exe = grader::binary();
    files.insert(
        exe.display().to_string(),
        digest(&std::fs::read(exe).unwrap_or_default()),
    );
    files
}

/// Every file beneath `dir`, symbolic links not followed.
fn walk(dir: &Path, each: &mut impl FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, each),
            Ok(_) => each(&path),
            Err(_) => {}
        }
    }
}

/// Processes whose command line contains `mark`.
fn processes_with(mark: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(mark))
        })
        .collect()
}

/// The catalogues' own rules, without grading anything.
mod catalogue_rules {
    use super::common::catalogue::*;
    use super::common::json::{Grade, Lab, Test};

    #[test]
    fn inject_goes_into_every_pub_fn_body() {
        let src = "fn private() {}\npub fn a(x: u8) -> u8 {\n    x\n}\npub unsafe fn b(\n    y: u8,\n) -> nix::Result<[(u8, u8); 2]> {\n    todo!()\n}\n";
        let out = inject(src, "CODE;").unwrap();
        assert_eq!(out.matches("CODE;").count(), 2, "{out}");
        assert!(out.contains("pub fn a(x: u8) -> u8 {\n    CODE;\n"));
        assert!(out.contains("-> nix::Result<[(u8, u8); 2]> {\n    CODE;\n"));
        assert!(out.starts_with("fn private() {}"));
        assert_eq!(inject("fn private() {}", "X"), None);
    }

    #[test]
    fn replace_must_match_exactly_once() {
        assert_eq!(replace_once("a b a", "b", "c").unwrap(), "a c a");
        assert!(
            replace_once("a b a", "a", "c")
                .unwrap_err()
                .to_string()
                .contains("2 times")
        );
        assert!(replace_once("a", "z", "c").unwrap_err().to_string().contains("0 times"));
    }

    #[test]
    fn replace_takes_one_pair_or_a_list_applied_in_order() {
        let root = std::env::temp_dir().join(format!("munmap-grader-tests-replace-{}", std::process::id()));
        let dir = root.join("sub");
        std::fs::create_dir_all(dir.join("labs")).unwrap();
        std::fs::write(dir.join("labs/l.rs"), "a b c").unwrap();
        let patched = |toml: &str| {
            let fixture = &parse(toml).unwrap()[0];
            std::fs::write(dir.join("labs/l.rs"), "a b c").unwrap();
            patch_lab(&root, fixture, &dir).map(|()| std::fs::read_to_string(dir.join("labs/l.rs")).unwrap())
        };
        let head = "[[fixture]]\nname='x'\nwhy='y'\nlab='l'\n";
        assert_eq!(patched(&format!("{head}replace=['b', 'B']\n")).unwrap(), "a B c");
        assert_eq!(
            patched(&format!("{head}replace=[['a', 'A'], ['c', 'C'], ['A b', 'x']]\n")).unwrap(),
            "x C"
        );
        let err = patched(&format!("{head}replace=[['a', 'A'], ['z', 'Z']]\n")).unwrap_err();
        assert!(format!("{err:#}").contains("0 times"), "{err:#}");
        assert!(
            parse(&format!("{head}replace=[]\n"))
                .unwrap_err()
                .to_string()
                .contains("lists no pair")
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_catalogue_parses_and_each_fixture_is_well_formed() {
        let fixtures = load(&crate::common::root()).unwrap();
        assert!(fixtures.len() >= 8);
        assert!(
            parse("[[fixture]]\nname='x'\nwhy='y'\nlab='l'\n")
                .unwrap_err()
                .to_string()
                .contains("one of inject, replace, text, stub")
        );
        assert!(parse("[[fixture]]\nname='x'\nwhy='y'\nbogus=1\n").is_err());
    }

    fn grade(labs: Vec<(&str, Vec<(&str, u32)>)>) -> Grade {
        Grade::of(
            labs.into_iter()
                .map(|(id, tests)| {
                    let tests = tests
                        .into_iter()
                        .enumerate()
                        .map(|(i, (status, points))| {
                            Test::scored(&format!("t{i}"), points, status, "killed by SIGSEGV")
                        })
                        .collect();
                    Lab::graded(id, tests)
                })
                .collect(),
        )
    }

    #[test]
    fn check_demands_the_broken_lab_loses_and_the_others_keep_full_marks() {
        let fixture = &parse(
            "[[fixture]]\nname='x'\nwhy='y'\nlab='b'\ninject='X'\nexpect = { statuses = ['crash'], message = 'SIGSEGV' }\n",
        )
        .unwrap()[0];
        let reference = grade(vec![("a", vec![("pass", 2)]), ("b", vec![("pass", 1)])]);
        let good = grade(vec![("a", vec![("pass", 2)]), ("b", vec![("crash", 1)])]);
        assert_eq!(check(fixture, &Ok(good), &reference), Vec::<String>::new());
        let leaky = grade(vec![("a", vec![("fail", 2)]), ("b", vec![("timeout", 1)])]);
        let problems = check(fixture, &Ok(leaky), &reference);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("a should keep full marks"));
        assert!(problems[1].contains(r#"should end as ["crash"]"#));
        let passed = grade(vec![("a", vec![("pass", 2)]), ("b", vec![("pass", 1)])]);
        assert!(check(fixture, &Ok(passed), &reference)[0].contains("should lose its points"));
    }

    #[test]
    fn passing_names_the_only_tests_that_keep_their_points() {
        let fixture =
            &parse("[[fixture]]\nname='x'\nwhy='y'\nlab='b'\nstub=true\nexpect = { passing = ['t1'] }\n").unwrap()[0];
        let reference = grade(vec![("b", vec![("pass", 1), ("pass", 1), ("pass", 1)])]);
        let forged = grade(vec![("b", vec![("fail", 1), ("pass", 1), ("fail", 1)])]);
        assert_eq!(check(fixture, &Ok(forged), &reference), Vec::<String>::new());
        let all_forged = grade(vec![("b", vec![("fail", 1), ("pass", 1), ("pass", 1)])]);
        let problems = check(fixture, &Ok(all_forged), &reference);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("b::t2 should lose its points"), "{problems:?}");
        let none_kept = grade(vec![("b", vec![("fail", 1), ("fail", 1), ("fail", 1)])]);
        assert!(check(fixture, &Ok(none_kept), &reference)[0].contains("b::t1 should pass"));
        assert!(
            parse(
                "[[fixture]]\nname='x'\nwhy='y'\nlab='b'\nstub=true\nexpect = { passing = ['t1'], failing = ['t2'] }\n"
            )
            .unwrap_err()
            .to_string()
            .contains("cannot go with failing")
        );
    }

    const CATALOGUE_TEXT: &str = r#"
[[fixture]]
name = "a1"
why = "first mistake in a"
lab = "a"
replace = ["x", "y"]
expect = { failing = ["t1"] }

[[fixture]]
name = "b1"
why = "harmless in b"
lab = "b"
replace = ["x", "y"]
expect = { full_marks = true }

[[fixture]]
name = "a2"
why = "second mistake in a"
lab = "a"
inject = "z"
"#;

    #[test]
    fn the_catalogue_parses_and_every_entry_patches_one_lab() {
        let mistakes = load_mistakes(&crate::common::root()).unwrap();
        assert!(mistakes.len() >= 12);
        assert!(parse_mistakes(CATALOGUE_TEXT).is_ok());
        let stub = "[[fixture]]\nname='x'\nwhy='y'\nlab='l'\nstub=true\n";
        assert!(
            parse_mistakes(stub)
                .unwrap_err()
                .to_string()
                .contains("change nothing else")
        );
        let twice = format!("{CATALOGUE_TEXT}\n[[fixture]]\nname='a1'\nwhy='y'\nlab='c'\ninject='q'\n");
        assert!(parse_mistakes(&twice).unwrap_err().to_string().contains("listed twice"));
        let contradiction = "[[fixture]]\nname='x'\nwhy='y'\nlab='l'\ninject='q'\n\
                             expect = { full_marks = true, failing = ['t'] }\n";
        assert!(
            parse_mistakes(contradiction)
                .unwrap_err()
                .to_string()
                .contains("full_marks")
        );
    }

    #[test]
    fn rounds_hold_at_most_one_mistake_per_lab() {
        let mistakes = parse_mistakes(CATALOGUE_TEXT).unwrap();
        let names: Vec<Vec<&str>> = rounds(&mistakes)
            .iter()
            .map(|r| r.iter().map(|m| m.name.as_str()).collect())
            .collect();
        assert_eq!(names, vec![vec!["a1", "b1"], vec!["a2"]]);
    }

    fn lab(id: &str, tests: &[(&str, &str, u32)]) -> Lab {
        let tests = tests
            .iter()
            .map(|(name, status, points)| Test::scored(name, *points, status, ""))
            .collect();
        Lab::graded(id, tests)
    }

    #[test]
    fn a_round_checks_each_mistake_in_its_lab_and_full_marks_elsewhere() {
        let (fail, pass, skipped) = ("fail", "pass", "skipped");
        let mistakes = parse_mistakes(CATALOGUE_TEXT).unwrap();
        let round = &rounds(&mistakes)[0];
        let reference = Grade::of(vec![
            lab("a", &[("t1", pass, 2), ("t2", pass, 1)]),
            lab("b", &[("t1", pass, 1)]),
            lab("c", &[("t1", pass, 1), ("t2", skipped, 1)]),
        ]);
        let right = Grade::of(vec![
            lab("a", &[("t1", fail, 2), ("t2", pass, 1)]),
            lab("b", &[("t1", pass, 1)]),
            lab("c", &[("t1", pass, 1), ("t2", skipped, 1)]),
        ]);
        assert_eq!(check_round(round, &Ok(right), &reference), vec![]);

        // The harmless mistake lost a test, a1 lost one test too many, and c lost points.
        let wrong = Grade::of(vec![
            lab("a", &[("t1", fail, 2), ("t2", fail, 1)]),
            lab("b", &[("t1", fail, 1)]),
            lab("c", &[("t1", fail, 1), ("t2", skipped, 1)]),
        ]);
        let problems = check_round(round, &Ok(wrong), &reference);
        let who: Vec<&str> = problems.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(who, vec!["a1", "b1", "round"], "{problems:?}");
        assert!(problems[0].1.contains("a::t2 should pass"));
        assert!(problems[1].1.contains("b::t1 should pass"));
        assert!(problems[2].1.contains("c should keep full marks"));

        // A test this machine skipped even for the solutions cannot be judged: no problem.
        let skipping = Grade::of(vec![
            lab("a", &[("t1", skipped, 2), ("t2", pass, 1)]),
            lab("b", &[("t1", pass, 1)]),
            lab("c", &[("t1", pass, 1), ("t2", skipped, 1)]),
        ]);
        let mut reference_skipping = reference.clone();
        reference_skipping.labs[0] = lab("a", &[("t1", skipped, 2), ("t2", pass, 1)]);
        assert_eq!(check_round(round, &Ok(skipping), &reference_skipping), vec![]);

        // A harmful mistake that loses nothing is reported.
        let untouched = reference.clone();
        let problems = check_round(round, &Ok(untouched), &reference);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].1.contains("a::t1 should lose its points"));
    }
}
