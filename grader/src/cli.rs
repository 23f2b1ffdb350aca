//! The command line. clap parses it into the types below, and their doc comments are
//! the help (`cargo grade --help`, `cargo grade batch --help`, ...): the usage is
//! written here once. GRADING.md's "Commands" block is `cargo grade --help` itself,
//! checked by a unit test.
//!
//! A usage error exits with status 2 (clap's), every other error with 1 (GRADING.md).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use munmap_lab_protocol as protocol;

use crate::class::shard::Shard;
use crate::grade::Options;
use crate::source::overlay::Source;

/// Grades munmap-lab's labs, and checks the lab itself (with no command: grade)
#[derive(Debug, Parser)]
#[command(
    name = "munmap-grader",
    bin_name = "cargo grade",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_value_name = "COMMAND",
    subcommand_help_heading = "Commands"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Verb>,
    /// The options of `grade`, the command when none is given.
    #[command(flatten)]
    grade: GradeArgs,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Grade one source: this checkout's labs/, unless told otherwise (the default)
    Grade(GradeArgs),
    /// Grade every subfolder of DIR: a gradebook, and one JSON per submission
    Batch(BatchArgs),
    /// Combine the shards' grades folders into OUT, as one machine would write them
    Merge(MergeArgs),
    /// Rebuild OUT's class report (report.html, stats.json) from the grades in OUT
    Report(ReportArgs),
    /// Export the student repository into DIR (new or empty)
    Handout {
        /// The folder to write the handout into
        dir: PathBuf,
    },
    /// Print the points table, or rewrite / check the generated tables in FILE
    Rubric(RubricArgs),
    /// Rewrite what lists the labs from rubric.toml (src/lib.rs, README.md, GRADING.md)
    Sync,
    /// The project's own tests (`cargo selftest [CHECK]`)
    Selftest {
        /// Run only the checks whose name has CHECK (e.g. `cargo selftest mistakes`)
        check: Option<String>,
    },
}

#[derive(Debug, Args)]
struct GradeArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Also write the grade as JSON
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write the grade as JUnit XML
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also append GitHub Classroom's results to FILE, an Actions env file ($GITHUB_ENV)
    #[arg(long, value_name = "FILE")]
    classroom: Option<PathBuf>,
    /// Also append a Markdown summary to FILE ($GITHUB_STEP_SUMMARY)
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Grade again each time a file in labs/ is saved: that lab's tests, then every lab's points
    #[arg(long, conflicts_with_all = ["source", "json", "junit", "classroom", "summary"])]
    watch: bool,
    #[command(flatten)]
    timeout: RunArgs,
}

/// What is graded: this checkout's labs/ when neither is given.
#[derive(Debug, Args)]
#[group(id = "source", multiple = false)]
struct SourceArgs {
    /// Grade the reference solutions (they must get full marks)
    #[arg(long)]
    solutions: bool,
    /// Grade a student's checkout: only DIR/labs/*.rs is taken
    #[arg(long, value_name = "DIR")]
    submission: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct BatchArgs {
    /// The submissions: every subfolder of DIR is one (hidden ones are skipped)
    dir: PathBuf,
    /// The folder for the grades [default: DIR-grades, beside DIR]
    #[arg(long, value_name = "OUT")]
    out: Option<PathBuf>,
    /// A roster CSV: adds the students' identifiers, and OUT/import.csv
    #[arg(long, value_name = "FILE", conflicts_with = "shard")]
    roster: Option<PathBuf>,
    /// Grade only shard K of N (split by folder name); the roster goes to `merge`
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// The class report (OUT/report.html) names no student
    #[arg(long)]
    anonymous: bool,
    #[command(flatten)]
    timeout: RunArgs,
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// The folder for the merged grades
    out: PathBuf,
    /// The shards' grades folders (`batch DIR --shard K/N --out SHARD_DIR` writes one)
    #[arg(required = true, value_name = "SHARD_DIR")]
    shards: Vec<PathBuf>,
    /// A roster CSV, as for `batch`
    #[arg(long, value_name = "FILE")]
    roster: Option<PathBuf>,
    /// The class report (OUT/report.html) names no student
    #[arg(long)]
    anonymous: bool,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// A grades folder that `batch` or `merge` wrote
    out: PathBuf,
    /// A roster CSV: the report names students by it
    #[arg(long, value_name = "FILE")]
    roster: Option<PathBuf>,
    /// The report names no student
    #[arg(long)]
    anonymous: bool,
}

#[derive(Debug, Args)]
#[group(multiple = false)]
struct RubricArgs {
    /// Rewrite the generated tables (points and mistakes) in the Markdown file FILE
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
    /// Fail when the generated tables in FILE are out of date
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
}

/// How the tests run: the time limit and the seed of the drawn scenarios.
#[derive(Debug, Args)]
struct RunArgs {
    /// How long one test may run, 0.5 to 600 s [default: 10]
    #[arg(
        long = "timeout",
        value_name = "SECS",
        env = protocol::TIMEOUT_ENV,
        hide_env_values = true,
        value_parser = check_timeout
    )]
    secs: Option<CheckedTimeout>,
    /// Draw every test's scenario from seed N (default: a fresh seed each run, printed
    /// with the grade); the same seed draws the same scenarios
    #[arg(long, value_name = "N", env = "MUNMAP_LAB_SEED", hide_env_values = true)]
    seed: Option<u64>,
}

/// The protocol's parser's verdict on a `--timeout` or `MUNMAP_LAB_TEST_TIMEOUT` value,
/// an error only once a command that runs tests uses it: clap reads the environment for
/// the top-level options (`grade`'s) whatever the command, and `rubric` must not fail
/// for a timeout it never uses.
type CheckedTimeout = Result<Duration, String>;

fn check_timeout(text: &str) -> Result<CheckedTimeout, std::convert::Infallible> {
    Ok(protocol::parse_timeout(text))
}

impl RunArgs {
    /// The grading options with this timeout: the flag, else the environment, else the
    /// default; a bad value is a usage error saying where it came from.
    fn options(self, from: &TimeoutSource) -> Result<Options, clap::Error> {
        let timeout = match self.secs {
            None => protocol::DEFAULT_TIMEOUT,
            Some(Ok(timeout)) => timeout,
            Some(Err(why)) => {
                let message = match from {
                    TimeoutSource::Flag => format!("invalid value for '--timeout <SECS>': {why}"),
                    TimeoutSource::Environment => protocol::timeout_from_env().err().unwrap_or(why),
                };
                return Err(usage_error(ErrorKind::ValueValidation, message));
            }
        };
        Ok(Options {
            timeout,
            seed: self.seed.unwrap_or_else(crate::grade::fresh_seed),
            ..Options::default()
        })
    }
}

/// Where a timeout came from, for the message when it is unusable.
enum TimeoutSource {
    Flag,
    Environment,
}

/// Where the extra forms of a grade go.
#[derive(Debug, Default, PartialEq)]
pub struct Outputs {
    pub json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub classroom: Option<PathBuf>,
    pub summary: Option<PathBuf>,
}

/// A command line, parsed and ready to run.
#[derive(Debug)]
pub enum Command {
    Grade {
        source: Source,
        outputs: Outputs,
        options: Options,
    },
    /// `--watch`: this checkout graded again at each save of a lab file.
    Watch {
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

/// Parses the arguments after `cargo grade` (`selftest ...` for `cargo selftest`). `--help`
/// and `--version` come back as the error that prints them (`clap::Error::exit` prints
/// either and exits with 0, or 2 for a usage error).
pub fn parse<I, T>(args: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(arg) = args.iter().find(|arg| arg.to_str().is_none()) {
        return Err(usage_error(
            ErrorKind::InvalidUtf8,
            format!(
                "argument `{}` is not UTF-8: give a path without such bytes (rename it, or use a link)",
                arg.to_string_lossy()
            ),
        ));
    }
    let timeout = match args
        .iter()
        .any(|arg| arg == "--timeout" || arg.to_string_lossy().starts_with("--timeout="))
    {
        true => TimeoutSource::Flag,
        false => TimeoutSource::Environment,
    };
    let argv = std::iter::once(OsString::from("cargo grade")).chain(old_batch_spelling(args));
    let matches = Cli::command().try_get_matches_from(argv)?;
    Cli::from_arg_matches(&matches)?.into_command(&timeout)
}

/// `--batch DIR ...` was the spelling of `batch DIR ...` before batch was a command:
/// scripts that use it keep working (it is in no help). Any other first word is a
/// command of its own, where `--batch` means nothing.
fn old_batch_spelling(mut args: Vec<OsString>) -> Vec<OsString> {
    let is_command = args
        .first()
        .and_then(|arg| arg.to_str())
        .is_some_and(|arg| !arg.starts_with('-'));
    let Some(at) = args.iter().position(|arg| arg == "--batch") else {
        return args;
    };
    if !is_command && !args[..at].iter().any(|arg| arg == "--") {
        args.remove(at);
        args.insert(0, "batch".into());
    }
    args
}

/// A usage error in clap's form (`error: ...`, the usage, exit status 2).
fn usage_error(kind: ErrorKind, message: impl std::fmt::Display) -> clap::Error {
    Cli::command().error(kind, message)
}

impl Cli {
    fn into_command(self, given: &TimeoutSource) -> Result<Command, clap::Error> {
        let command = match self.command {
            None => self.grade.into_command(given)?,
            Some(Verb::Grade(grade)) => grade.into_command(given)?,
            Some(Verb::Batch(batch)) => Command::Batch {
                out: match batch.out {
                    Some(out) => out,
                    None => default_out(&batch.dir)?,
                },
                options: batch.timeout.options(given)?,
                dir: batch.dir,
                roster: batch.roster,
                shard: batch.shard,
                anonymous: batch.anonymous,
            },
            Some(Verb::Merge(merge)) => Command::Merge {
                out: merge.out,
                shards: merge.shards,
                roster: merge.roster,
                anonymous: merge.anonymous,
            },
            Some(Verb::Report(report)) => Command::Report {
                dir: report.out,
                roster: report.roster,
                anonymous: report.anonymous,
            },
            Some(Verb::Handout { dir }) => Command::Handout { dir },
            Some(Verb::Rubric(RubricArgs { write, check })) => Command::Rubric { write, check },
            Some(Verb::Sync) => Command::Sync,
            Some(Verb::Selftest { check }) => Command::Selftest { only: check },
        };
        Ok(command)
    }
}

impl GradeArgs {
    fn into_command(self, given: &TimeoutSource) -> Result<Command, clap::Error> {
        if self.watch {
            return Ok(Command::Watch {
                options: self.timeout.options(given)?,
            });
        }
        let source = match self.source {
            SourceArgs {
                submission: Some(dir), ..
            } => Source::Submission(dir),
            SourceArgs { solutions: true, .. } => Source::Solutions,
            _ => Source::Checkout,
        };
        Ok(Command::Grade {
            source,
            outputs: Outputs {
                json: self.json,
                junit: self.junit,
                classroom: self.classroom,
                summary: self.summary,
            },
            options: self.timeout.options(given)?,
        })
    }
}

/// `DIR-grades` next to the batch folder (for `.` or `..`, named after the folder they are).
fn default_out(dir: &Path) -> Result<PathBuf, clap::Error> {
    let named = match dir.file_name() {
        Some(_) => dir.to_path_buf(),
        None => std::path::absolute(dir)
            .ok()
            .and_then(|d| d.canonicalize().ok())
            .unwrap_or_else(|| dir.to_path_buf()),
    };
    let Some(name) = named.file_name() else {
        return Err(usage_error(
            ErrorKind::MissingRequiredArgument,
            format!("batch {}: give --out OUT, the folder for the grades", dir.display()),
        ));
    };
    let mut out_name = name.to_os_string();
    out_name.push("-grades");
    Ok(named.with_file_name(out_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The command, or the usage error as clap prints it.
    fn parse_words(words: &str) -> Result<Command, String> {
        parse(words.split_whitespace()).map_err(|e| e.render().to_string())
    }

    fn timeout_of(command: Command) -> Duration {
        match command {
            Command::Grade { options, .. } | Command::Batch { options, .. } => options.timeout,
            other => panic!("{other:?}"),
        }
    }

    /// What `cargo grade --help` prints.
    fn help() -> String {
        let error = parse(["--help"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::DisplayHelp);
        assert_eq!(error.exit_code(), 0);
        error.render().to_string()
    }

    /// GRADING.md shows `cargo grade --help` as it is: the block after its marker line.
    #[test]
    fn grading_md_shows_the_help_as_it_is() {
        const MARKER: &str = "<!-- `cargo grade --help`";
        let grading = include_str!("../../GRADING.md");
        let shown = grading
            .split_once(MARKER)
            .and_then(|(_, rest)| rest.split_once("```text\n"))
            .and_then(|(_, rest)| rest.split_once("```"))
            .map(|(block, _)| block)
            .expect("GRADING.md has a line starting with <!-- `cargo grade --help` and a ```text block after it");
        let help = help();
        assert!(
            shown == help,
            "GRADING.md's Commands block is not what `cargo grade --help` prints: replace the block with \
             the output of `cargo grade --help`, which is now:\n{help}"
        );
    }

    #[test]
    fn the_help_names_every_command_and_the_timeout_range() {
        let help = help();
        for command in ["grade", "batch", "merge", "handout", "rubric", "sync", "selftest"] {
            assert!(help.contains(&format!("\n  {command} ")), "{command}: {help}");
            let sub = parse([command, "--help"]).unwrap_err();
            assert_eq!(sub.kind(), ErrorKind::DisplayHelp, "{command}");
            assert!(
                sub.render()
                    .to_string()
                    .contains(&format!("Usage: cargo grade {command}"))
            );
        }
        let (start, end) = (protocol::TIMEOUT_RANGE.start(), protocol::TIMEOUT_RANGE.end());
        assert!(help.contains(&format!(
            "{start} to {end} s [default: {}]",
            protocol::DEFAULT_TIMEOUT.as_secs()
        )));
        assert!(help.contains(&format!("[env: {}]", protocol::TIMEOUT_ENV)), "{help}");
        assert!(!help.contains("--batch"), "the old spelling is in no help: {help}");
    }

    #[test]
    fn version() {
        for words in ["--version", "-V"] {
            let error = parse(words.split_whitespace()).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::DisplayVersion, "{words}");
            assert_eq!(
                error.render().to_string(),
                format!("munmap-grader {}\n", env!("CARGO_PKG_VERSION"))
            );
        }
    }

    #[test]
    fn timeout_takes_only_sensible_finite_seconds() {
        assert_eq!(
            timeout_of(parse_words("--timeout 0.5").unwrap()),
            Duration::from_millis(500)
        );
        assert_eq!(
            timeout_of(parse_words("grade --timeout 600").unwrap()),
            Duration::from_secs(600)
        );
        for bad in [
            "1e308", "1e19", "1e-9", "0", "-5", "0.49", "600.5", "inf", "NaN", "-inf", "ten",
        ] {
            let err = parse_words(&format!("--solutions --timeout={bad}")).unwrap_err();
            assert!(
                err.starts_with(&format!(
                    "error: invalid value for '--timeout <SECS>': `{bad}` is not a number of seconds from 0.5 to 600\n"
                )),
                "{err}"
            );
        }
    }

    /// The environment is read by clap (`env =`) with the protocol's parser: a bad value is
    /// a usage error, the flag wins, and commands that run no test do not read it. Run in a
    /// process of its own, which may set its environment.
    #[test]
    fn the_environment_default_is_checked_like_the_flag() {
        const NAME: &str = "cli::tests::the_environment_default_is_checked_like_the_flag";
        const PART: &str = "MUNMAP_GRADER_CLI_TEST_PART";
        if std::env::var_os(PART).is_none() {
            let exe = std::env::current_exe().unwrap();
            let mut cmd = std::process::Command::new(exe);
            cmd.args(protocol::test_args(NAME)).env(PART, "1");
            let ended = protocol::bounded::run(cmd, Duration::from_secs(20), 1 << 16).unwrap();
            let out = String::from_utf8_lossy(&ended.output);
            assert!(ended.status.is_some_and(|s| s.success()), "{out}");
            assert!(out.contains("1 passed"), "{out}");
            return;
        }
        // SAFETY: this process runs this one test on one thread (`--test-threads=1`).
        let set = |value: &str| unsafe { std::env::set_var(protocol::TIMEOUT_ENV, value) };
        set("2.5");
        assert_eq!(timeout_of(parse_words("").unwrap()), Duration::from_millis(2500));
        set("60");
        assert_eq!(timeout_of(parse_words("batch b").unwrap()), Duration::from_secs(60));
        for bad in ["1e308", "1e-9", "inf", "soon"] {
            set(bad);
            let err = parse_words("--solutions").unwrap_err();
            assert!(
                err.starts_with(&format!(
                    "error: {}={bad}: `{bad}` is not a number of seconds from 0.5 to 600: set it to one, or unset it\n",
                    protocol::TIMEOUT_ENV
                )),
                "{err}"
            );
            assert!(parse_words("batch b").unwrap_err().contains(protocol::TIMEOUT_ENV));
            assert!(parse_words("selftest").is_ok());
            assert_eq!(timeout_of(parse_words("--timeout 3").unwrap()), Duration::from_secs(3));
            assert!(parse_words("rubric").is_ok());
            assert!(parse_words("handout h").is_ok());
        }
    }

    #[test]
    fn every_subcommand_has_help() {
        for words in [
            "--help",
            "-h",
            "help",
            "help batch",
            "grade --help",
            "batch --help",
            "handout --help",
            "handout out --help",
            "rubric --write F -h",
            "selftest --help",
            "merge out a b -h",
            "sync -h",
            "report --help",
        ] {
            let error = parse(words.split_whitespace()).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::DisplayHelp, "{words}");
        }
    }

    #[test]
    fn batch_of_the_current_folder_writes_its_grades_beside_it() {
        let Command::Batch { out, .. } = parse_words("batch .").unwrap() else {
            panic!()
        };
        let here = std::env::current_dir().unwrap().canonicalize().unwrap();
        let mut name = here.file_name().unwrap().to_os_string();
        name.push("-grades");
        assert_eq!(out, here.with_file_name(name));
        assert!(parse_words("batch /").unwrap_err().contains("give --out OUT"));
        let Command::Batch { out, .. } = parse_words("batch / --out /tmp/g").unwrap() else {
            panic!()
        };
        assert_eq!(out, PathBuf::from("/tmp/g"));
    }

    #[test]
    fn grade_forms() {
        for words in ["", "grade"] {
            assert!(matches!(
                parse_words(words).unwrap(),
                Command::Grade {
                    source: Source::Checkout,
                    ..
                }
            ));
        }
        assert!(matches!(parse_words("--watch").unwrap(), Command::Watch { .. }));
        for words in [
            "--watch --json a.json",
            "--watch --summary s.md",
            "--watch --submission s",
            "--watch --solutions",
        ] {
            let error = parse(words.split_whitespace()).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ArgumentConflict, "{words}");
        }
        assert!(matches!(
            parse_words("--solutions --json a.json").unwrap(),
            Command::Grade { source: Source::Solutions, outputs, .. } if outputs.json == Some("a.json".into())
        ));
        for words in [
            "--submission s --junit j.xml --classroom c.json --timeout 2.5",
            "grade --submission s --junit j.xml --classroom c.json --timeout 2.5",
        ] {
            let Command::Grade {
                source,
                outputs,
                options,
            } = parse_words(words).unwrap()
            else {
                panic!()
            };
            assert!(matches!(source, Source::Submission(d) if d == Path::new("s")));
            assert_eq!(outputs.junit, Some("j.xml".into()));
            assert_eq!(outputs.classroom, Some("c.json".into()));
            assert_eq!(options.timeout, Duration::from_millis(2500));
        }
    }

    #[test]
    fn batch_defaults_its_output_next_to_the_folder() {
        let Command::Batch { dir, out, roster, .. } = parse_words("batch class/subs").unwrap() else {
            panic!()
        };
        assert_eq!(dir, PathBuf::from("class/subs"));
        assert_eq!(out, PathBuf::from("class/subs-grades"));
        assert_eq!(roster, None);
        let Command::Batch { roster, .. } = parse_words("batch class/subs --roster class/roster.csv").unwrap() else {
            panic!()
        };
        assert_eq!(roster, Some(PathBuf::from("class/roster.csv")));
    }

    /// Scripts written for `--batch DIR` still run, whatever the order of its options.
    #[test]
    fn the_old_batch_spelling_still_works() {
        for words in [
            "--batch b --out o --shard 2/4 --timeout 5",
            "--timeout 5 --batch b --shard 2/4 --out o",
        ] {
            let Command::Batch {
                dir,
                out,
                shard,
                options,
                ..
            } = parse_words(words).unwrap()
            else {
                panic!("{words}")
            };
            assert_eq!((dir, out), (PathBuf::from("b"), PathBuf::from("o")), "{words}");
            assert_eq!(shard, Some(Shard { k: 2, n: 4 }));
            assert_eq!(options.timeout, Duration::from_secs(5));
        }
        let err = parse_words("--batch b --json x").unwrap_err();
        assert!(err.contains("unexpected argument '--json'"), "{err}");
        assert!(err.contains("Usage: cargo grade batch"), "{err}");
        assert!(parse_words("merge o s --batch").is_err());
        assert!(parse_words("selftest --batch").is_err());
    }

    #[test]
    fn subcommands() {
        assert!(matches!(
            parse_words("selftest").unwrap(),
            Command::Selftest { only: None, .. }
        ));
        assert!(matches!(
            parse_words("selftest mistakes").unwrap(),
            Command::Selftest { only: Some(o), .. } if o == "mistakes"
        ));
        assert!(matches!(parse_words("handout out").unwrap(), Command::Handout { dir } if dir == Path::new("out")));
        assert!(matches!(parse_words("sync").unwrap(), Command::Sync));
        let Command::Merge {
            out, shards, roster, ..
        } = parse_words("merge g s1 s2 --roster r.csv").unwrap()
        else {
            panic!()
        };
        assert_eq!(out, PathBuf::from("g"));
        assert_eq!(shards, [PathBuf::from("s1"), PathBuf::from("s2")]);
        assert_eq!(roster, Some(PathBuf::from("r.csv")));
        assert!(matches!(
            parse_words("merge g s1 --anonymous").unwrap(),
            Command::Merge { anonymous: true, .. }
        ));
        assert!(matches!(
            parse_words("batch b --anonymous").unwrap(),
            Command::Batch { anonymous: true, .. }
        ));
        let Command::Report { dir, roster, anonymous } = parse_words("report g --roster r.csv --anonymous").unwrap()
        else {
            panic!()
        };
        assert_eq!((dir, roster, anonymous), ("g".into(), Some("r.csv".into()), true));
        let Command::Batch { shard, .. } = parse_words("batch b --shard 2/4").unwrap() else {
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
    fn bad_input_gets_a_clear_error_and_status_2() {
        for (words, expected) in [
            ("--submission", "a value is required for '--submission <DIR>'"),
            ("--frobnicate", "unexpected argument '--frobnicate'"),
            ("--solutions --submission x", "cannot be used with"),
            (
                "--timeout zero",
                "invalid value for '--timeout <SECS>': `zero` is not a number of seconds",
            ),
            ("--timeout 1e308", "`1e308` is not a number of seconds from 0.5 to 600"),
            ("--out o", "unexpected argument '--out'"),
            ("--roster r.csv", "unexpected argument '--roster'"),
            ("--shard 1/2", "unexpected argument '--shard'"),
            ("batch b --roster", "a value is required for '--roster <FILE>'"),
            ("batch b --json x", "unexpected argument '--json'"),
            ("handout", "<DIR>"),
            (
                "batch b --shard 0/3",
                "invalid value '0/3' for '--shard <K/N>': give K/N",
            ),
            ("batch b --shard", "a value is required for '--shard <K/N>'"),
            ("batch b --shard 1/2 --roster r.csv", "cannot be used with"),
            ("merge out", "<SHARD_DIR>..."),
            ("merge out s1 --frob", "unexpected argument '--frob'"),
            ("merge out s1 --roster", "a value is required for '--roster <FILE>'"),
            ("rubric --write a --check b", "cannot be used with"),
            ("sync extra", "unexpected argument 'extra'"),
            ("selftest --all", "unexpected argument '--all'"),
            ("grade batch", "unexpected argument 'batch'"),
        ] {
            let error = parse(words.split_whitespace()).unwrap_err();
            let text = error.render().to_string();
            assert!(text.starts_with("error: "), "{words}: {text}");
            assert!(text.contains(expected), "{words}: {text}");
            assert_eq!(error.exit_code(), 2, "{words}");
        }
        let invalid = std::os::unix::ffi::OsStringExt::from_vec(b"\xff".to_vec());
        let error = parse([OsString::from("--submission"), invalid]).unwrap_err();
        assert!(error.render().to_string().contains("is not UTF-8"));
        assert_eq!(error.exit_code(), 2);
    }
}

/// The command lines of the class workflow instructors copy (`docs/grade-class.yml`) parse.
#[cfg(test)]
mod class_workflow {
    use std::path::Path;

    /// The `cargo grade` commands of the class workflow instructors copy, as its jobs
    /// run them (shard 2 of its matrix).
    #[test]
    fn the_class_workflow_grades_every_shard_and_merges_them() {
        let root = crate::project::root();
        // An instructors' file, read at run time: the student handout has no docs/ (nor
        // solutions/), and its `cargo test` of the grader must still build and pass.
        let Ok(workflow) = std::fs::read_to_string(root.join("docs/grade-class.yml")) else {
            assert!(!root.join("solutions").exists(), "docs/grade-class.yml is missing");
            return;
        };
        let shards = workflow
            .lines()
            .find_map(|l| l.trim().strip_prefix("shard: ["))
            .expect("a matrix of shards")
            .trim_end_matches(']')
            .split(", ")
            .count();
        let commands: Vec<crate::cli::Command> = workflow
            .lines()
            .filter_map(|line| match line.split_once("run: cargo grade ") {
                Some((_, command)) => Some(command),
                None => line.trim().strip_prefix("cargo grade "),
            })
            .map(|command| {
                let command = command
                    .replace("${{ matrix.shard }}", "2")
                    .replace("${{ strategy.job-total }}", &shards.to_string())
                    .replace("\"$SUBMISSIONS\"", "submissions")
                    .replace("\"$ROSTER\"", "roster.csv")
                    .replace("\"$SHARD\"", &format!("2/{shards}"))
                    .replace("shards/grades-*", "shards/grades-1 shards/grades-2")
                    .replace(" || [ $? -eq 3 ]", ""); // status 3: some submission not graded
                let words: Vec<String> = command.split_whitespace().map(String::from).collect();
                crate::cli::parse(&words).unwrap_or_else(|e| panic!("{command}: {e}"))
            })
            .collect();
        assert_eq!(commands.len(), 3, "{commands:?}");
        let shard = crate::class::shard::Shard { k: 2, n: shards as u32 };
        assert!(
            matches!(&commands[0], crate::cli::Command::Batch { shard: Some(s), out, .. }
                if *s == shard && out == Path::new("grades")),
            "{commands:?}"
        );
        for merge in &commands[1..] {
            assert!(
                matches!(merge, crate::cli::Command::Merge { out, shards, .. }
                    if out == Path::new("gradebook") && shards.len() == 2),
                "{merge:?}"
            );
        }
        assert!(workflow.contains("name: grades-${{ matrix.shard }}") && workflow.contains("pattern: grades-*"));
        assert!(workflow.contains("SHARD: ${{ matrix.shard }}/${{ strategy.job-total }}"));
    }
}
