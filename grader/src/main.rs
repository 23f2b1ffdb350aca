//! munmap-grader: `cargo grade` scores labs, `cargo selftest` checks the lab itself.
//!
//! `cargo grade --help` lists the commands (cli.rs holds them, GRADING.md shows them).

mod build;
mod children;
mod class;
mod cli;
mod escape;
mod evidence;
#[cfg(feature = "fixture-hooks")]
mod fixture_hooks;
mod generated;
mod grade;
mod handout;
mod judge;
mod model;
mod progress;
mod project;
mod registry;
mod report;
mod selftest;
mod source;
mod watch;

use std::process::ExitCode;

use anyhow::{Context, Result};

use class::{batch, merge, stats};
use cli::Command;
use project::{Project, files};
use source::overlay::{self, Source};

/// Exit status of a batch that ran but could not grade every submission (each such
/// submission has a row saying why): neither success nor a failure of the grader.
const SOME_NOT_GRADED: u8 = 3;

/// How a command that ran to its end went.
enum Finished {
    /// Everything it was asked to do is done.
    Done,
    /// A batch with a submission it could not grade.
    SomeNotGraded,
}

fn main() -> ExitCode {
    // A usage error (the command line or the environment) exits with status 2, `--help`
    // and `--version` with 0, after printing; 1 is a runtime error.
    let command = cli::parse(std::env::args_os().skip(1)).unwrap_or_else(|e| e.exit());
    match execute(command) {
        Ok(Finished::Done) => ExitCode::SUCCESS,
        Ok(Finished::SomeNotGraded) => ExitCode::from(SOME_NOT_GRADED),
        Err(e) => {
            progress::clear();
            // `{:#}`: the whole chain on one line (`cannot read X: No such file ...`).
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Carries out a parsed command.
fn execute(command: Command) -> Result<Finished> {
    // Read once, by the commands that need the project (not `--help` or `--version`).
    let project = || Project::load(&project::root());
    match command {
        Command::Grade {
            source,
            outputs,
            options,
        } => grade_command(&project()?, &source, &outputs, &options)?,
        Command::Watch { options } => watch_command(&project()?, &options)?,
        Command::Batch {
            dir,
            out,
            roster,
            shard,
            anonymous,
            options,
        } => {
            // Read and checked before anything is graded.
            let roster = roster.as_deref().map(report::gradebook::Roster::read).transpose()?;
            progress::start(progress::Mode::detect(true));
            let how = batch::BatchSettings {
                roster: roster.as_ref(),
                shard,
                anonymous,
                progress: true,
                ..batch::BatchSettings::default()
            };
            let graded = batch::grade_batch(&project()?, &dir, &out, &options, &how)?;
            if graded.iter().any(|g| g.result.is_err()) {
                return Ok(Finished::SomeNotGraded);
            }
        }
        Command::Merge {
            out,
            shards,
            roster,
            anonymous,
        } => {
            let roster = roster.as_deref().map(report::gradebook::Roster::read).transpose()?;
            let merged = merge::merge(&project()?, &out, &shards, roster.as_ref(), anonymous)?;
            println!(
                "merged {} shards: {} submission(s), {} graded; gradebook: {}; class report: {}",
                merged.shards,
                merged.submissions,
                merged.graded,
                out.join("gradebook.csv").display(),
                out.join(stats::PAGE).display()
            );
        }
        Command::Report { dir, roster, anonymous } => {
            let roster = roster.as_deref().map(report::gradebook::Roster::read).transpose()?;
            let page = stats::rebuild(&dir, roster.as_ref(), anonymous)?;
            println!(
                "class report: {} (numbers: {})",
                page.display(),
                dir.join(stats::STATS).display()
            );
        }
        Command::Handout { dir } => {
            let count = handout::export(&project()?, &dir)?;
            println!(
                "Wrote the student repository ({count} files) to {}: no solutions, a README for students \
                 and .github/workflows/grade.yml (grades every push for GitHub Classroom).",
                dir.display()
            );
        }
        Command::Rubric { write, check } => rubric_command(&project()?, write, check)?,
        Command::Sync => {
            for line in generated::sync(&project()?)? {
                println!("{line}");
            }
        }
        Command::Selftest { only } => selftest::check_project(&project()?, only.as_deref())?,
    }
    Ok(Finished::Done)
}

/// `cargo grade [--solutions | --submission DIR]`: one grade, on the terminal and in
/// the forms asked for.
fn grade_command(project: &Project, source: &Source, outputs: &cli::Outputs, options: &grade::Options) -> Result<()> {
    let mut keep_out = report::paths::project_keep_out(project);
    if let Source::Submission(dir) = source {
        overlay::check_submission_dir(dir)?;
        keep_out.push((dir.clone(), "the submission being graded".to_string()));
    }
    let files: Vec<(&str, &std::path::Path)> = [
        ("--json", &outputs.json),
        ("--junit", &outputs.junit),
        ("--classroom", &outputs.classroom),
        ("--summary", &outputs.summary),
    ]
    .into_iter()
    .filter_map(|(flag, path)| path.as_deref().map(|p| (flag, p)))
    .collect();
    report::paths::check_files(&files, &keep_out)?;
    let what = match source {
        Source::Checkout => "this checkout's labs/".to_string(),
        Source::Solutions => "the reference solutions".to_string(),
        Source::Submission(dir) => format!("the submission in {}", dir.display()),
    };
    if let Some(path) = &outputs.classroom {
        // Overwritten (later lines win) when grading ends: says so if it never does.
        report::append_file(path, &report::classroom::render_pending())?;
    }
    progress::start(progress::Mode::detect(false));
    eprintln!("munmap-grader: grading {what} (building, then one process per test)...");
    let started = std::time::SystemTime::now();
    // A skip counts only where the reference solutions skip too: they are graded first,
    // before any lab code of the source runs.
    let grade_it = || match source {
        Source::Solutions => grade::grade(project, source, options, None),
        _ => grade::against_reference(project, source, options),
    };
    #[cfg(feature = "fixture-hooks")]
    let grade_it = || fixture_hooks::given_grade().unwrap_or_else(grade_it);
    let graded = grade_it();
    progress::clear();
    let grade = match graded {
        Ok(grade) => grade,
        Err(e) => {
            // GitHub Classroom's reporter still runs: it shows why there are no points.
            if let Some(path) = &outputs.classroom {
                let _ = report::append_file(path, &report::classroom::render_error(&format!("{e:#}")));
            }
            if let Some(path) = &outputs.summary {
                let _ = report::append_file(path, &report::summary::render_error(&format!("{e:#}")));
            }
            return Err(e);
        }
    };
    for warning in &grade.warnings {
        eprintln!("warning: {warning}");
    }
    for gap in &grade.not_enforced {
        eprintln!("note: not enforced on this machine: {gap}");
    }
    if let Some(path) = &outputs.json {
        report::write_file(path, &report::json(&grade))?;
    }
    if let Some(path) = &outputs.junit {
        report::write_file(path, &report::junit::render(&grade, started))?;
    }
    if let Some(path) = &outputs.classroom {
        report::append_file(path, &report::classroom::render(&grade)?)?;
    }
    if let Some(path) = &outputs.summary {
        report::append_file(path, &report::summary::render(&grade))?;
    }
    print!("{}", report::terminal::render(&grade));
    Ok(())
}

/// `cargo grade --watch`: every lab's points now; at each save of `labs/LAB.rs`, that
/// lab's `cargo test` (its full messages), then every lab's points again.
fn watch_command(project: &Project, options: &grade::Options) -> Result<()> {
    let labs = project.labs.iter().map(|lab| lab.id.clone()).collect();
    let no_outputs = cli::Outputs::default();
    watch::watch(&project.root, &labs, |saved| {
        if let Some(lab) = saved {
            eprintln!("\n=== labs/{lab}.rs saved: cargo test --test {lab} ===");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let tested = std::process::Command::new(cargo)
                .args(["test", "--quiet", "--test", lab])
                .current_dir(&project.root)
                .stdin(std::process::Stdio::null())
                .status();
            if let Err(e) = tested {
                eprintln!("error: cannot run cargo test: {e}");
            }
            eprintln!("\n=== every lab: cargo grade ===");
        }
        // A round that cannot grade says why; the next save tries again.
        if let Err(e) = grade_command(project, &Source::Checkout, &no_outputs, options) {
            progress::clear();
            eprintln!("error: {e:#}");
        }
    })
}

/// Prints the points table, or rewrites / checks the generated tables (points and
/// mistakes) inside a Markdown file.
fn rubric_command(
    project: &Project,
    write: Option<std::path::PathBuf>,
    check: Option<std::path::PathBuf>,
) -> Result<()> {
    let Some(path) = write.as_ref().or(check.as_ref()) else {
        print!("{}", generated::points::table(&project.labs));
        return Ok(());
    };
    let doc = files::read_to_string(path)?;
    let updated = generated::update_grading(project, &doc).with_context(|| path.display().to_string())?;
    if check.is_some() {
        if updated != doc {
            anyhow::bail!(
                "{}'s generated tables are out of date with rubric.toml or {}: run `cargo grade rubric --write {}`",
                path.display(),
                generated::mistakes::CATALOGUE,
                path.display()
            );
        }
        println!("{}'s generated tables are up to date", path.display());
    } else if updated != doc {
        files::write(path, updated)?;
        println!("updated the points and mistakes tables in {}", path.display());
    } else {
        println!("{}'s generated tables are already up to date", path.display());
    }
    Ok(())
}
