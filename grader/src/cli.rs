//! The command line, parsed by hand (a few flags do not need a parser crate).

use std::ffi::{OsStr, OsString};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::grade::Options;
use crate::shard::Shard;
use crate::workdir::Source;

pub const USAGE: &str = "\
usage:
  cargo grade                       grade this checkout's labs/
  cargo grade --solutions           grade the reference solutions (must give full marks)
  cargo grade --submission DIR      grade a student's checkout: only DIR/labs/*.rs is taken
      --json FILE                   also write the grade as JSON
      --junit FILE                  also write JUnit XML
      --classroom FILE              also append GitHub Classroom's autograding results (v1,
                                    one runner per lab) to FILE, an Actions env file ($GITHUB_ENV)
  cargo grade --batch DIR [--out OUT] [--roster FILE | --shard K/N] [--anonymous]
                                    grade every subfolder of DIR; writes OUT/gradebook.csv,
                                    OUT/NAME.json per submission and the class report
                                    OUT/report.html, OUT/stats.json (OUT defaults to DIR-grades);
                                    a roster (CSV: folder, then the gradebook's identifier
                                    columns) adds them and OUT/import.csv for Canvas or Moodle
      --anonymous                   the class report names no student
      --shard K/N                   grade only shard K of N (a stable split by folder name;
                                    the roster goes to merge), on one machine of N
      --timeout SECS                how long one test may run, 0.5 to 600 (default 10,
                                    or MUNMAP_LAB_TEST_TIMEOUT)
  cargo grade merge OUT SHARD_DIR... [--roster FILE] [--anonymous]
                                    combine the shards' grades folders into OUT: the same
                                    gradebook.csv and NAME.json one machine would write
  cargo grade report OUT [--roster FILE] [--anonymous]
                                    rebuild OUT/report.html and OUT/stats.json from the
                                    grades (NAME.json) in OUT
  cargo grade handout DIR           export the student repository into DIR (new or empty)
  cargo grade rubric [--write FILE | --check FILE]
                                    print the points table, or rewrite / check it in FILE
  cargo grade sync                  rewrite what lists the labs from rubric.toml (src/lib.rs,
                                    README.md's lab table, GRADING.md's tables)
  cargo grade --version             the grader's version
  cargo selftest [CHECK]            the project's own tests (only those whose name has CHECK,
                                    e.g. `cargo selftest mistakes`)
";

/// A command line the grader cannot run: `main` exits with status 2 for it, where
/// every other error is status 1 (GRADING.md, "Commands"). One line, saying what to change.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

impl From<String> for UsageError {
    fn from(message: String) -> Self {
        UsageError(message)
    }
}

impl From<&str> for UsageError {
    fn from(message: &str) -> Self {
        UsageError(message.to_string())
    }
}

/// The arguments after the program's name, each as UTF-8.
pub fn args() -> Result<Vec<String>, UsageError> {
    std::env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string().map_err(|arg| {
                UsageError(format!(
                    "argument `{}` is not UTF-8: give a path without such bytes (rename it, or use a link)",
                    arg.to_string_lossy()
                ))
            })
        })
        .collect()
}

/// The per-test timeouts the grader accepts, in seconds (the protocol's range).
pub const TIMEOUT_SECS: RangeInclusive<f64> = munmap_lab_protocol::TIMEOUT_RANGE;

/// The environment variable that sets the default per-test timeout.
pub const TIMEOUT_ENV: &str = munmap_lab_protocol::TIMEOUT_ENV;

/// A per-test timeout written in seconds, when it is a number within [`TIMEOUT_SECS`]
/// (never NaN, infinite, or too large for a `Duration`).
pub fn timeout_secs(value: &str) -> Option<Duration> {
    munmap_lab_protocol::parse_timeout(value).ok()
}

fn timeout_range() -> String {
    format!("from {} to {}", TIMEOUT_SECS.start(), TIMEOUT_SECS.end())
}

/// The default timeout from `MUNMAP_LAB_TEST_TIMEOUT` (None when unset), or why it is unusable.
fn env_timeout(value: Option<&OsStr>) -> Result<Option<Duration>, UsageError> {
    let Some(value) = value else { return Ok(None) };
    let text = value.to_string_lossy();
    match value.to_str().and_then(timeout_secs) {
        Some(timeout) => Ok(Some(timeout)),
        None => Err(UsageError(format!(
            "{TIMEOUT_ENV}={text}: give a number of seconds {}, or unset it",
            timeout_range()
        ))),
    }
}

/// Where the extra forms of a grade go.
#[derive(Debug, Default, PartialEq)]
pub struct Outputs {
    pub json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub classroom: Option<PathBuf>,
}

#[derive(Debug)]
pub enum Command {
    Help,
    /// `--version`: the grader's version.
    Version,
    Grade {
        source: Source,
        outputs: Outputs,
        options: Options,
    },
    Batch {
        dir: PathBuf,
        out: PathBuf,
        /// The roster CSV: folder names to student identifiers.
        roster: Option<PathBuf>,
        /// Grade only this shard of the batch.
        shard: Option<Shard>,
        /// The class report names no student.
        anonymous: bool,
        options: Options,
    },
    /// `merge OUT SHARD_DIR...`: the shards' grades into one gradebook.
    Merge {
        out: PathBuf,
        shards: Vec<PathBuf>,
        roster: Option<PathBuf>,
        anonymous: bool,
    },
    /// `report DIR`: the class report of the grades in DIR, rebuilt.
    Report {
        dir: PathBuf,
        roster: Option<PathBuf>,
        anonymous: bool,
    },
    Handout {
        dir: PathBuf,
    },
    Rubric {
        write: Option<PathBuf>,
        check: Option<PathBuf>,
    },
    /// `sync`: what lists the labs, rewritten from the registry (rubric.toml).
    Sync,
    Selftest {
        only: Option<String>,
    },
}

fn is_help(arg: &str) -> bool {
    matches!(arg, "-h" | "--help")
}

/// Parses the arguments after `cargo grade` (or `selftest ...` for `cargo selftest`). An
/// error is a usage error: one line, saying what to change.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    parse_with_env(args, std::env::var_os(TIMEOUT_ENV))
}

/// [`parse`], with the value of `MUNMAP_LAB_TEST_TIMEOUT` given (tests do not touch the environment).
fn parse_with_env(args: &[String], timeout_env: Option<OsString>) -> Result<Command, UsageError> {
    let mut args = args.iter().map(String::as_str).peekable();
    match args.peek().copied() {
        Some("selftest") => {
            args.next();
            if args.clone().any(is_help) {
                return Ok(Command::Help);
            }
            let only = args.next().map(str::to_string);
            if let Some(only) = only.as_deref().filter(|o| o.starts_with('-')) {
                return Err(unknown(only));
            }
            no_more(args)?;
            env_timeout(timeout_env.as_deref())?;
            return Ok(Command::Selftest { only });
        }
        Some("handout") => {
            args.next();
            if args.clone().any(is_help) {
                return Ok(Command::Help);
            }
            let dir = args
                .next()
                .ok_or("`cargo grade handout` needs a folder: cargo grade handout DIR")?;
            if dir.starts_with('-') {
                return Err(unknown(dir));
            }
            no_more(args)?;
            return Ok(Command::Handout {
                dir: PathBuf::from(dir),
            });
        }
        Some("merge") => {
            args.next();
            if args.clone().any(is_help) {
                return Ok(Command::Help);
            }
            let (paths, roster, anonymous) = report_args(args)?;
            if paths.len() < 2 {
                return Err(
                    "`cargo grade merge` needs the output folder and the shards' grades folders: \
                     cargo grade merge OUT SHARD_DIR..."
                        .into(),
                );
            }
            let mut paths = paths;
            let out = paths.remove(0);
            return Ok(Command::Merge {
                out,
                shards: paths,
                roster,
                anonymous,
            });
        }
        Some("report") => {
            args.next();
            if args.clone().any(is_help) {
                return Ok(Command::Help);
            }
            let (mut paths, roster, anonymous) = report_args(args)?;
            if paths.len() != 1 {
                return Err("`cargo grade report` needs one grades folder: cargo grade report OUT".into());
            }
            return Ok(Command::Report {
                dir: paths.remove(0),
                roster,
                anonymous,
            });
        }
        Some("rubric") => {
            args.next();
            if args.clone().any(is_help) {
                return Ok(Command::Help);
            }
            let (mut write, mut check) = (None, None);
            while let Some(arg) = args.next() {
                match arg {
                    "--write" => write = Some(path_after(arg, args.next())?),
                    "--check" => check = Some(path_after(arg, args.next())?),
                    other => return Err(unknown(other)),
                }
            }
            if write.is_some() && check.is_some() {
                return Err("give either --write or --check, not both".into());
            }
            return Ok(Command::Rubric { write, check });
        }
        Some("sync") => {
            args.next();
            if args.clone().any(is_help) {
                return Ok(Command::Help);
            }
            no_more(args)?;
            return Ok(Command::Sync);
        }
        _ => {}
    }
    let mut source = Source::Checkout;
    let mut sources = 0;
    let mut batch = None;
    let mut out = None;
    let mut roster = None;
    let mut shard = None;
    let mut anonymous = false;
    let mut outputs = Outputs::default();
    let mut options = Options::default();
    let mut timeout = None;
    while let Some(arg) = args.next() {
        match arg {
            "-h" | "--help" | "help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--solutions" => {
                source = Source::Solutions;
                sources += 1;
            }
            "--submission" => {
                source = Source::Submission(path_after(arg, args.next())?);
                sources += 1;
            }
            "--batch" => {
                batch = Some(path_after(arg, args.next())?);
                sources += 1;
            }
            "--out" => out = Some(path_after(arg, args.next())?),
            "--roster" => roster = Some(path_after(arg, args.next())?),
            "--shard" => shard = Some(Shard::parse(args.next().unwrap_or_default())?),
            "--anonymous" => anonymous = true,
            "--json" => outputs.json = Some(path_after(arg, args.next())?),
            "--junit" => outputs.junit = Some(path_after(arg, args.next())?),
            "--classroom" => outputs.classroom = Some(path_after(arg, args.next())?),
            "--timeout" => {
                let value = args.next().ok_or("--timeout needs a number of seconds")?;
                timeout = Some(timeout_secs(value).ok_or_else(|| {
                    UsageError(format!(
                        "--timeout {value}: give a number of seconds {} (e.g. --timeout 30)",
                        timeout_range()
                    ))
                })?);
            }
            other => return Err(unknown(other)),
        }
    }
    if sources > 1 {
        return Err("give only one of --solutions, --submission DIR and --batch DIR".into());
    }
    // The flag wins over the environment; a bad environment value is an error only when it is used.
    match timeout {
        Some(timeout) => options.timeout = timeout,
        None => {
            if let Some(timeout) = env_timeout(timeout_env.as_deref())? {
                options.timeout = timeout;
            }
        }
    }
    if let Some(dir) = batch {
        if outputs != Outputs::default() {
            return Err(
                "--batch writes its own JSON per submission; --json, --junit and --classroom are for one grade".into(),
            );
        }
        if shard.is_some() && roster.is_some() {
            return Err(
                "--roster goes with `cargo grade merge` when grading in shards (a shard holds only some of the students)"
                    .into(),
            );
        }
        let out = match out {
            Some(out) => out,
            None => default_out(&dir)?,
        };
        return Ok(Command::Batch {
            dir,
            out,
            roster,
            shard,
            anonymous,
            options,
        });
    }
    if anonymous {
        return Err("--anonymous goes with --batch DIR, `merge` and `report` (it is about the class report)".into());
    }
    if shard.is_some() {
        return Err("--shard K/N goes with --batch DIR".into());
    }
    if out.is_some() {
        return Err("--out goes with --batch DIR".into());
    }
    if roster.is_some() {
        return Err("--roster goes with --batch DIR (it names each submission folder's student)".into());
    }
    Ok(Command::Grade {
        source,
        outputs,
        options,
    })
}

/// `DIR-grades` next to the batch folder (for `.` or `..`, named after the folder they are).
fn default_out(dir: &Path) -> Result<PathBuf, UsageError> {
    let named = match dir.file_name() {
        Some(_) => dir.to_path_buf(),
        None => std::path::absolute(dir)
            .ok()
            .and_then(|d| d.canonicalize().ok())
            .unwrap_or_else(|| dir.to_path_buf()),
    };
    let Some(name) = named.file_name() else {
        return Err(UsageError(format!(
            "--batch {}: give --out OUT, the folder for the grades",
            dir.display()
        )));
    };
    let mut out_name = name.to_os_string();
    out_name.push("-grades");
    Ok(named.with_file_name(out_name))
}

/// The paths, `--roster FILE` and `--anonymous` of `merge` and `report`.
fn report_args<'a>(
    mut args: impl Iterator<Item = &'a str>,
) -> Result<(Vec<PathBuf>, Option<PathBuf>, bool), UsageError> {
    let (mut paths, mut roster, mut anonymous) = (Vec::new(), None, false);
    while let Some(arg) = args.next() {
        match arg {
            "--roster" => roster = Some(path_after(arg, args.next())?),
            "--anonymous" => anonymous = true,
            other if other.starts_with('-') => return Err(unknown(other)),
            other => paths.push(PathBuf::from(other)),
        }
    }
    Ok((paths, roster, anonymous))
}

fn path_after(flag: &str, value: Option<&str>) -> Result<PathBuf, UsageError> {
    match value {
        Some(v) if !v.starts_with("--") && !v.is_empty() => Ok(PathBuf::from(v)),
        _ => Err(UsageError(format!("{flag} needs a path after it"))),
    }
}

fn unknown(arg: &str) -> UsageError {
    UsageError(format!("unknown argument `{arg}` (cargo grade --help lists them)"))
}

fn no_more<'a>(mut rest: impl Iterator<Item = &'a str>) -> Result<(), UsageError> {
    match rest.next() {
        Some(arg) => Err(unknown(arg)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The command, or the usage error's message.
    fn parse_words(words: &str) -> Result<Command, String> {
        parse_env(words, None)
    }

    fn parse_env(words: &str, env: Option<&str>) -> Result<Command, String> {
        let args: Vec<String> = words.split_whitespace().map(String::from).collect();
        parse_with_env(&args, env.map(OsString::from)).map_err(|e| e.to_string())
    }

    fn timeout_of(command: Command) -> Duration {
        match command {
            Command::Grade { options, .. } | Command::Batch { options, .. } => options.timeout,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn timeout_takes_only_sensible_finite_seconds() {
        assert_eq!(timeout_secs("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(timeout_secs("600"), Some(Duration::from_secs(600)));
        assert_eq!(timeout_secs(" 30 "), Some(Duration::from_secs(30)));
        for bad in [
            "1e308", "1e19", "1e-9", "0", "-5", "0.49", "600.5", "inf", "NaN", "-inf", "", "ten",
        ] {
            assert_eq!(timeout_secs(bad), None, "{bad}");
            let err = parse_words(&format!("--timeout {bad}x")).unwrap_err();
            assert!(err.contains("from 0.5 to 600"), "{err}");
        }
        for bad in ["1e308", "1e19", "1e-9", "0"] {
            let err = parse_words(&format!("--solutions --timeout {bad}")).unwrap_err();
            assert_eq!(
                err,
                format!("--timeout {bad}: give a number of seconds from 0.5 to 600 (e.g. --timeout 30)")
            );
        }
    }

    #[test]
    fn the_environment_default_is_checked_like_the_flag() {
        assert_eq!(
            timeout_of(parse_env("", Some("2.5")).unwrap()),
            Duration::from_millis(2500)
        );
        assert_eq!(
            timeout_of(parse_env("--batch b", Some("60")).unwrap()),
            Duration::from_secs(60)
        );
        for bad in ["1e308", "1e-9", "inf", "soon"] {
            let err = parse_env("--solutions", Some(bad)).unwrap_err();
            assert!(err.starts_with(&format!("{TIMEOUT_ENV}={bad}: ")), "{err}");
            assert!(err.contains("from 0.5 to 600, or unset it"), "{err}");
            assert!(parse_env("selftest", Some(bad)).is_err());
            // The flag wins, and commands that run no test do not care.
            assert_eq!(
                timeout_of(parse_env("--timeout 3", Some(bad)).unwrap()),
                Duration::from_secs(3)
            );
            assert!(parse_env("rubric", Some(bad)).is_ok());
            assert!(parse_env("handout h", Some(bad)).is_ok());
        }
        let invalid = std::os::unix::ffi::OsStringExt::from_vec(b"\xff".to_vec());
        assert!(parse_with_env(&[], Some(invalid)).is_err());
    }

    #[test]
    fn every_subcommand_has_help() {
        for words in [
            "--help",
            "-h",
            "help",
            "handout --help",
            "handout -h",
            "handout out --help",
            "rubric --help",
            "rubric --write F -h",
            "selftest --help",
            "merge --help",
            "merge out a b -h",
            "report --help",
            "selftest -h",
        ] {
            assert!(matches!(parse_words(words), Ok(Command::Help)), "{words}");
        }
        assert!(
            parse_words("handout --out")
                .unwrap_err()
                .contains("unknown argument `--out`")
        );
        assert!(
            parse_words("selftest --all")
                .unwrap_err()
                .contains("unknown argument `--all`")
        );
    }

    #[test]
    fn version() {
        for words in ["--version", "-V", "--solutions --version"] {
            assert!(matches!(parse_words(words), Ok(Command::Version)), "{words}");
        }
    }

    #[test]
    fn batch_of_the_current_folder_writes_its_grades_beside_it() {
        let Command::Batch { out, .. } = parse_words("--batch .").unwrap() else {
            panic!()
        };
        let here = std::env::current_dir().unwrap().canonicalize().unwrap();
        let mut name = here.file_name().unwrap().to_os_string();
        name.push("-grades");
        assert_eq!(out, here.with_file_name(name));
        assert!(parse_words("--batch /").unwrap_err().contains("give --out OUT"));
        let Command::Batch { out, .. } = parse_words("--batch / --out /tmp/g").unwrap() else {
            panic!()
        };
        assert_eq!(out, PathBuf::from("/tmp/g"));
    }

    #[test]
    fn grade_forms() {
        assert!(matches!(
            parse_words("").unwrap(),
            Command::Grade {
                source: Source::Checkout,
                ..
            }
        ));
        assert!(matches!(
            parse_words("--solutions --json a.json").unwrap(),
            Command::Grade { source: Source::Solutions, outputs, .. } if outputs.json == Some("a.json".into())
        ));
        let Command::Grade {
            source,
            outputs,
            options,
        } = parse_words("--submission s --junit j.xml --classroom c.json --timeout 2.5").unwrap()
        else {
            panic!()
        };
        assert!(matches!(source, Source::Submission(d) if d == Path::new("s")));
        assert_eq!(outputs.junit, Some("j.xml".into()));
        assert_eq!(outputs.classroom, Some("c.json".into()));
        assert_eq!(options.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn batch_defaults_its_output_next_to_the_folder() {
        let Command::Batch { dir, out, roster, .. } = parse_words("--batch class/subs").unwrap() else {
            panic!()
        };
        assert_eq!(dir, PathBuf::from("class/subs"));
        assert_eq!(out, PathBuf::from("class/subs-grades"));
        assert_eq!(roster, None);
        let Command::Batch { roster, .. } = parse_words("--batch class/subs --roster class/roster.csv").unwrap() else {
            panic!()
        };
        assert_eq!(roster, Some(PathBuf::from("class/roster.csv")));
    }

    #[test]
    fn subcommands() {
        assert!(matches!(
            parse_words("selftest").unwrap(),
            Command::Selftest { only: None }
        ));
        assert!(matches!(
            parse_words("selftest mistakes").unwrap(),
            Command::Selftest { only: Some(o) } if o == "mistakes"
        ));
        assert!(matches!(parse_words("handout out").unwrap(), Command::Handout { dir } if dir == Path::new("out")));
        assert!(matches!(parse_words("sync").unwrap(), Command::Sync));
        assert!(parse_words("sync extra").is_err());
        let Command::Merge {
            out,
            shards,
            roster,
            anonymous,
        } = parse_words("merge g s1 s2 --roster r.csv").unwrap()
        else {
            panic!()
        };
        assert_eq!(out, PathBuf::from("g"));
        assert_eq!(shards, [PathBuf::from("s1"), PathBuf::from("s2")]);
        assert_eq!(roster, Some(PathBuf::from("r.csv")));
        assert!(!anonymous);
        assert!(matches!(
            parse_words("merge g s1 --anonymous").unwrap(),
            Command::Merge { anonymous: true, .. }
        ));
        assert!(matches!(
            parse_words("--batch b --anonymous").unwrap(),
            Command::Batch { anonymous: true, .. }
        ));
        let Command::Report { dir, roster, anonymous } = parse_words("report g --roster r.csv --anonymous").unwrap()
        else {
            panic!()
        };
        assert_eq!((dir, roster, anonymous), ("g".into(), Some("r.csv".into()), true));
        let Command::Batch { shard, .. } = parse_words("--batch b --shard 2/4").unwrap() else {
            panic!()
        };
        assert_eq!(shard, Some(Shard { k: 2, n: 4 }));
        assert!(matches!(
            parse_words("rubric --check GRADING.md").unwrap(),
            Command::Rubric {
                write: None,
                check: Some(_)
            }
        ));
    }

    #[test]
    fn bad_input_gets_one_clear_line() {
        for (words, expected) in [
            ("--submission", "--submission needs a path"),
            ("--frobnicate", "unknown argument `--frobnicate`"),
            ("--solutions --submission x", "only one of"),
            ("--timeout zero", "--timeout zero"),
            ("--timeout 1e308", "from 0.5 to 600"),
            ("--batch b --json x", "--batch writes its own JSON"),
            ("--out o", "--out goes with --batch"),
            ("--roster r.csv", "--roster goes with --batch"),
            ("--batch b --roster", "--roster needs a path"),
            ("handout", "needs a folder"),
            ("--batch b --shard 0/3", "--shard 0/3: give K/N"),
            ("--batch b --shard", "give K/N"),
            ("--shard 1/2", "--shard K/N goes with --batch"),
            (
                "--batch b --shard 1/2 --roster r.csv",
                "--roster goes with `cargo grade merge`",
            ),
            ("merge out", "needs the output folder and the shards'"),
            ("report", "needs one grades folder"),
            ("report a b", "needs one grades folder"),
            ("report a --frob", "unknown argument `--frob`"),
            ("--solutions --anonymous", "--anonymous goes with --batch"),
            ("merge out s1 --frob", "unknown argument `--frob`"),
            ("merge out s1 --roster", "--roster needs a path"),
            ("rubric --write a --check b", "either --write or --check"),
        ] {
            let err = parse_words(words).unwrap_err();
            assert!(err.contains(expected), "{words}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
