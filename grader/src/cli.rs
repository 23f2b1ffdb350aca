//! The command line, parsed by hand (a few flags do not need a parser crate).

use std::path::PathBuf;
use std::time::Duration;

use crate::grade::Options;
use crate::workdir::Source;

pub const USAGE: &str = "\
usage:
  cargo grade                       grade this checkout's labs/
  cargo grade --solutions           grade the reference solutions (must give full marks)
  cargo grade --submission DIR      grade a student's checkout: only DIR/labs/*.rs is taken
      --json FILE                   also write the grade as JSON
      --junit FILE                  also write JUnit XML
      --classroom FILE              also write GitHub Classroom's autograding result (v1)
  cargo grade --batch DIR [--out OUT]
                                    grade every subfolder of DIR; writes OUT/gradebook.csv and
                                    OUT/NAME.json per submission (OUT defaults to DIR-grades)
      --timeout SECS                how long one test may run (default 10)
  cargo grade handout DIR           export the student repository into DIR (new or empty)
  cargo grade rubric [--write FILE | --check FILE]
                                    print the points table, or rewrite / check it in FILE
  cargo selftest [CHECK]            the project's own tests (only those whose name has CHECK,
                                    e.g. `cargo selftest mistakes`)
";

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
    Grade {
        source: Source,
        outputs: Outputs,
        options: Options,
    },
    Batch {
        dir: PathBuf,
        out: PathBuf,
        options: Options,
    },
    Handout {
        dir: PathBuf,
    },
    Rubric {
        write: Option<PathBuf>,
        check: Option<PathBuf>,
    },
    Selftest {
        only: Option<String>,
    },
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut args = args.iter().map(String::as_str).peekable();
    match args.peek().copied() {
        Some("selftest") => {
            args.next();
            let only = args.next().map(str::to_string);
            no_more(args)?;
            return Ok(Command::Selftest { only });
        }
        Some("handout") => {
            args.next();
            let dir = PathBuf::from(
                args.next()
                    .ok_or("`cargo grade handout` needs a folder: cargo grade handout DIR")?,
            );
            no_more(args)?;
            return Ok(Command::Handout { dir });
        }
        Some("rubric") => {
            args.next();
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
        _ => {}
    }
    let mut source = Source::Checkout;
    let mut sources = 0;
    let mut batch = None;
    let mut out = None;
    let mut outputs = Outputs::default();
    let mut options = Options::default();
    while let Some(arg) = args.next() {
        match arg {
            "-h" | "--help" | "help" => return Ok(Command::Help),
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
            "--json" => outputs.json = Some(path_after(arg, args.next())?),
            "--junit" => outputs.junit = Some(path_after(arg, args.next())?),
            "--classroom" => outputs.classroom = Some(path_after(arg, args.next())?),
            "--timeout" => {
                let value = args.next().ok_or("--timeout needs a number of seconds")?;
                let secs: f64 = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && s.is_finite())
                    .ok_or_else(|| format!("--timeout {value}: give a number of seconds above 0"))?;
                options.timeout = Duration::from_secs_f64(secs);
            }
            other => return Err(unknown(other)),
        }
    }
    if sources > 1 {
        return Err("give only one of --solutions, --submission DIR and --batch DIR".into());
    }
    if let Some(dir) = batch {
        if outputs != Outputs::default() {
            return Err(
                "--batch writes its own JSON per submission; --json, --junit and --classroom are for one grade".into(),
            );
        }
        let out = out.unwrap_or_else(|| {
            let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("batch");
            dir.with_file_name(format!("{name}-grades"))
        });
        return Ok(Command::Batch { dir, out, options });
    }
    if out.is_some() {
        return Err("--out goes with --batch DIR".into());
    }
    Ok(Command::Grade {
        source,
        outputs,
        options,
    })
}

fn path_after(flag: &str, value: Option<&str>) -> Result<PathBuf, String> {
    match value {
        Some(v) if !v.starts_with("--") && !v.is_empty() => Ok(PathBuf::from(v)),
        _ => Err(format!("{flag} needs a path after it")),
    }
}

fn unknown(arg: &str) -> String {
    format!("unknown argument `{arg}` (cargo grade --help lists them)")
}

fn no_more<'a>(mut rest: impl Iterator<Item = &'a str>) -> Result<(), String> {
    match rest.next() {
        Some(arg) => Err(unknown(arg)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse_words(words: &str) -> Result<Command, String> {
        let args: Vec<String> = words.split_whitespace().map(String::from).collect();
        parse(&args)
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
        let Command::Batch { dir, out, .. } = parse_words("--batch class/subs").unwrap() else {
            panic!()
        };
        assert_eq!(dir, PathBuf::from("class/subs"));
        assert_eq!(out, PathBuf::from("class/subs-grades"));
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
            ("--batch b --json x", "--batch writes its own JSON"),
            ("--out o", "--out goes with --batch"),
            ("handout", "needs a folder"),
            ("rubric --write a --check b", "either --write or --check"),
        ] {
            let err = parse_words(words).unwrap_err();
            assert!(err.contains(expected), "{words}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
