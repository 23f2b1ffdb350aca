//! The class report as a person sees it: `cargo grade report` over a synthetic class
//! (grades written here in the batch's JSON form, hostile folder names and messages
//! included), opened in headless Chromium.
//!
//! - a screenshot at 1280x800 is kept under target/ (its path is printed);
//! - the page logs nothing to the console (its policy blocks every script and request,
//!   so a message there means something was tried);
//! - every number on the page, read back from the DOM Chromium built, and every number of
//!   `stats.json`, equals what `class_report_check.py` computes from the `NAME.json`
//!   files with Python's standard library alone (an independent path: it calls nothing
//!   of the grader's);
//! - messages and names carrying HTML and script tags show as text, and no script ran;
//! - `--anonymous` names no student, and a roster names them by its first column.
//!
//! Where Chromium is not installed (`.ci/run` installs Debian's `chromium`), the browser
//! half says on stderr that it skipped; the rest still runs.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const GRADER: &str = env!("CARGO_BIN_EXE_munmap-grader");

/// What the page's policy and escaping must keep from running.
const SCRIPT_MESSAGE: &str = "<script>document.body.setAttribute('data-pwned','script')</script>";
const IMG_MESSAGE: &str =
    "boom <img src=x onerror=\"document.body.setAttribute('data-pwned','img')\"> &amp; </td></table>";
const HOSTILE_FOLDER: &str = "<img src=x onerror=alert(1)> & \"bob\"";
const HOSTILE_ROSTER_NAME: &str = "<b>Bobby</b> \"Tables\" <script>x()</script>";
const HOSTILE_TEST: &str = "odd::\"><svg onload=alert(1)>";

/// A line on stderr that libtest does not capture: the skip and the artifact are for
/// whoever runs the check, even when it passes.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "class_report: {line}");
}

/// A small deterministic generator (no crate, no clock): the class is the same every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

struct Test {
    lab: usize,
    name: &'static str,
    points: u32,
    /// Who passes, by ability (0-99): those at or above it; above 100 nobody.
    difficulty: u32,
}

const LABS: [(&str, &str); 3] = [
    ("lab01_full", "The whole life of a file mapping"),
    ("lab02_partial", "<i>Partial</i> unmaps & holes"),
    ("lab03_spanning", "One munmap over several mappings"),
];

const TESTS: [Test; 8] = [
    test(0, "map_close_write_sync_unmap", 2, 0),
    test(0, "msync_before_munmap", 1, 40),
    test(0, "offsets_round_up::case_2", 1, 70),
    test(1, "trim_front::anonymous", 2, 30),
    test(1, "hole_splits_in_two", 3, 101),
    test(1, HOSTILE_TEST, 1, 55),
    test(2, "spans_holes", 2, 50),
    test(2, "needs_mseal", 1, 20),
];

const fn test(lab: usize, name: &'static str, points: u32, difficulty: u32) -> Test {
    Test {
        lab,
        name,
        points,
        difficulty,
    }
}

/// The test that the weaker students pass and the stronger fail (negative discrimination).
const BACKWARDS: &str = "offsets_round_up::case_2";
/// The test some machines cannot run: skipped for a third of the class (as if merged
/// from shards graded on different kernels), so it counts for the rest only.
const SKIPPED: &str = "needs_mseal";

fn folder_name(i: usize) -> String {
    match i {
        3 => HOSTILE_FOLDER.to_string(),
        _ => format!("student{i:02}"),
    }
}

/// One student's grade, in the form `NAME.json` has (GRADING.md, "The JSON form").
fn student_grade(i: usize, rng: &mut Lcg) -> Value {
    let ability = rng.below(100);
    let build_error = i == 5;
    let not_started = i == 7 || i == 11;
    let mut labs = Vec::new();
    let mut not_started_ids = Vec::new();
    let (mut total, mut max_total) = (0, 0);
    for (lab_index, (id, title)) in LABS.iter().enumerate() {
        let (mut score, mut max_score) = (0, 0);
        let lab_not_started = not_started && lab_index == 2;
        let lab_build_error = build_error && lab_index == 1;
        if lab_not_started {
            not_started_ids.push(*id);
        }
        let mut tests = Vec::new();
        for test in TESTS.iter().filter(|t| t.lab == lab_index) {
            let passes = if test.name == BACKWARDS {
                ability < 50
            } else {
                ability >= test.difficulty && test.difficulty <= 100
            };
            let (status, message) = if test.name == SKIPPED && i.is_multiple_of(3) {
                ("skipped", "mseal needs Linux 6.10 (this kernel: 6.1.0-28)".to_string())
            } else if lab_build_error {
                ("fail", format!("not run: labs/{id}.rs does not compile"))
            } else if lab_not_started {
                ("crash", "not yet implemented".to_string())
            } else if passes {
                ("pass", String::new())
            } else {
                match rng.below(6) {
                    0 => (
                        "crash",
                        format!(
                            "child {} died of SIGSEGV at 0x7f{:08x}\nbacktrace...",
                            1000 + rng.below(30000),
                            rng.next()
                        ),
                    ),
                    1 => ("timeout", "still running after 10 s".to_string()),
                    2 => ("fail", SCRIPT_MESSAGE.to_string()),
                    3 => ("fail", IMG_MESSAGE.to_string()),
                    _ => (
                        "fail",
                        format!("\n  expected Ok(2), got Ok({})\nwindow:\n+0 rw-p", 3 + rng.below(3)),
                    ),
                }
            };
            let max = if status == "skipped" { 0 } else { test.points };
            let got = if status == "pass" { test.points } else { 0 };
            score += got;
            max_score += max;
            tests.push(json!({
                "name": test.name, "status": status, "score": got, "max_score": max,
                "message": message, "seconds": 0.02, "witnessed": status == "pass",
            }));
        }
        total += score;
        max_total += max_score;
        labs.push(json!({
            "id": id, "title": title, "score": score, "max_score": max_score,
            "status": if lab_build_error { "build_error" } else { "graded" },
            "message": if lab_build_error { "error[E0425]: cannot find value `<x>` in this scope" } else { "" },
            "tests": tests,
        }));
    }
    let mut grade = json!({
        "version": 1, "score": total, "max_score": max_total, "labs": labs,
        "not_enforced": ["Landlock ABI 3: <abstract unix sockets> are not scoped"],
    });
    if !not_started_ids.is_empty() {
        grade["not_started"] = json!(not_started_ids);
    }
    grade
}

/// A class of 22 graded submissions and one that could not be graded, with a roster.
fn write_class(dir: &Path) -> Vec<String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = Lcg(23);
    let mut names = Vec::new();
    for i in 0..22 {
        let name = folder_name(i);
        let text = serde_json::to_string_pretty(&student_grade(i, &mut rng)).unwrap();
        std::fs::write(dir.join(format!("{name}.json")), text).unwrap();
        names.push(name);
    }
    let error = json!({"version": 1, "error": "`/class/zed` has no labs/ folder <b>bold</b>"});
    std::fs::write(dir.join("zed.json"), error.to_string()).unwrap();
    names.push("zed".to_string());
    // A report and manifest already there are not grades.
    std::fs::write(dir.join("stats.json"), "{}").unwrap();
    std::fs::write(dir.join("gradebook.csv"), "x").unwrap();
    names
}

fn write_roster(path: &Path, names: &[String]) {
    let mut csv = String::from("folder,Student,ID\n");
    for (i, name) in names.iter().enumerate().filter(|(i, _)| *i != 9) {
        let student = if i == 3 {
            HOSTILE_ROSTER_NAME.to_string()
        } else {
            format!("Learner {i}")
        };
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        csv.push_str(&format!("{},{},{}\n", quote(name), quote(&student), 100 + i));
    }
    std::fs::write(path, csv).unwrap();
}

fn run(command: &mut Command) -> std::process::Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn report(dir: &Path, extra: &[&str]) {
    run(Command::new(GRADER).arg("report").arg(dir).args(extra));
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Headless Chromium on `page` with `mode` (`--dump-dom` or `--screenshot=...`): its
/// stdout, and the console lines of its log. A fresh profile; no network to reach.
fn browse(chromium: &Path, work: &Path, page: &Path, mode: &[String]) -> (String, Vec<String>) {
    let profile = work.join(format!("profile-{}", mode.len()));
    let _ = std::fs::remove_dir_all(&profile);
    let mut command = Command::new(chromium);
    command
        .args(["--headless", "--disable-gpu", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--no-first-run"])
        .args(["--no-default-browser-check", "--hide-scrollbars"])
        // A container's small /dev/shm can crash Chromium: keep its shared memory in /tmp.
        .arg("--disable-dev-shm-usage")
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()));
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        command.arg("--no-sandbox"); // Chromium's own sandbox refuses to start as root.
    }
    command
        .args(mode)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
    // Not a timing assertion: a guard so that a wedged browser fails the test instead of hanging it.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not finish in 180 s on {}", chromium.display(), page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "{} failed ({status}):\n{err}", chromium.display());
    let console = err
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    (out, console)
}

fn check(grades: &Path, dom: Option<&Path>, mode: &str, roster: Option<&Path>) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/class_report_check.py");
    let mut command = Command::new("python3");
    command.arg(script).arg(grades).arg(mode);
    command.arg(dom.map_or(PathBuf::from("-"), Path::to_path_buf));
    if let Some(roster) = roster {
        command.arg(roster);
    }
    String::from_utf8(run(&mut command).stdout).unwrap()
}

/// `width x height` of a PNG, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[test]
fn the_class_report_reads_right_in_a_browser() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("class-report");
    let grades = work.join("grades");
    let names = write_class(&grades);
    let roster = work.join("roster.csv");
    write_roster(&roster, &names);
    let page = grades.join("report.html");
    let browser = chromium();
    if browser.is_none() {
        say(
            "SKIPPED the browser half: no chromium on PATH (`apt-get install chromium`; .ci/run does); checking the files only",
        );
    }

    for (mode, extra) in [
        ("anonymous", vec!["--anonymous"]),
        ("named", vec!["--roster", roster.to_str().unwrap()]),
    ] {
        report(&grades, &extra);
        let html = std::fs::read_to_string(&page).unwrap();
        // The hostile message is one of the reasons the page shows (as text: checked in the DOM).
        let stats = std::fs::read_to_string(grades.join("stats.json")).unwrap();
        assert!(stats.contains(&Value::from(SCRIPT_MESSAGE).to_string()), "{stats}");
        assert!(
            !html.contains(SCRIPT_MESSAGE) && !html.contains(HOSTILE_FOLDER),
            "unescaped"
        );
        let dom = match &browser {
            Some(chromium) => {
                let (dom, console) = browse(chromium, &work, &page, &["--dump-dom".to_string()]);
                assert!(
                    console.is_empty(),
                    "the page logged to the console:\n{}",
                    console.join("\n")
                );
                let path = work.join(format!("dom-{mode}.html"));
                std::fs::write(&path, dom).unwrap();
                Some(path)
            }
            None => None,
        };
        let summary = check(
            &grades,
            dom.as_deref(),
            mode,
            (mode == "named").then_some(roster.as_path()),
        );
        say(&format!("{mode}: {}", summary.trim()));
    }

    if let Some(chromium) = &browser {
        let shot = work.join("report-1280x800.png");
        let _ = std::fs::remove_file(&shot);
        let mode = [
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,800".to_string(),
        ];
        let (_, console) = browse(chromium, &work, &page, &mode);
        assert!(
            console.is_empty(),
            "the page logged to the console:\n{}",
            console.join("\n")
        );
        let bytes = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()));
        assert_eq!(png_size(&bytes), (1280, 800));
        say(&format!("screenshot: {}", shot.display()));
    }
}

#[test]
fn the_report_verb_refuses_what_is_not_a_grades_folder() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("class-report-refused");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let refused = |dir: &Path| {
        let output = Command::new(GRADER).arg("report").arg(dir).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    let err = refused(&work.join("missing"));
    assert!(err.starts_with("error: ") && err.contains("does not exist"), "{err}");
    let err = refused(&work);
    assert!(err.contains("holds no grades"), "{err}");
    std::fs::write(work.join("alice.json"), "{\"version\": 9}").unwrap();
    let err = refused(&work);
    assert!(
        err.contains("alice.json is not a grade") && err.contains("version is Some(9)"),
        "{err}"
    );
    assert!(!work.join("report.html").exists(), "nothing written when refused");
}
