//! At most a set amount of test output per submission ([`crate::project::limits::Limits::output_mib`]).
//!
//! Each test process keeps up to 1 MiB of output ([`munmap_lab_protocol::OUTPUT_CAP`]),
//! and every form of the grade carries each failing test's: lab code that prints 1 MiB
//! in every function made a 71 MiB `NAME.json` and a JUnit file as big. [`apply`] cuts
//! the grade's messages once, before any form is written, so JSON, JUnit, Classroom and
//! `NAME.txt` all show the same text, each within the limit. A grade under it is left
//! exactly as it is.
//!
//! What counts is what the messages may take in the largest form: each character at its
//! longest escaped length (`&quot;` in XML, `\u001b` in JSON, `\u{202e}` on a terminal),
//! the first line twice (JUnit writes it as the failure's `message` too), and a build
//! error once per test of its lab (JUnit repeats it in every test case). When the total
//! is over, every message gets an equal share, those under it keep theirs whole, and each
//! longer one keeps its first and last lines with what was cut between them:
//! `... 70.9 MiB (812,344 lines) cut ...`.

use crate::model::{Grade, LabStatus, first_line};

/// What the note that replaces a cut may take, at most.
const NOTE_ROOM: usize = 240;

/// Cuts the messages of `grade` to at most `limit` bytes in all (see the module's doc);
/// `limit_mib` is the same limit as the rubric writes it, for the note.
pub fn apply(grade: &mut Grade, limit_mib: u32) {
    let limit = limit_mib as usize * 1024 * 1024;
    let mut messages: Vec<(&mut String, usize)> = Vec::new();
    for lab in &mut grade.labs {
        let repeats = if lab.status == LabStatus::BuildError {
            1 + lab.tests.len()
        } else {
            1
        };
        messages.push((&mut lab.message, repeats));
        for test in &mut lab.tests {
            messages.push((&mut test.message, 1));
        }
    }
    let costs: Vec<usize> = messages.iter().map(|(m, repeats)| cost(m) * repeats).collect();
    let Some(share) = fair_share(&costs, limit) else {
        return;
    };
    for ((message, repeats), cost) in messages.into_iter().zip(costs) {
        if cost > share {
            // The cut keeps the first line whole or, when it is longer than the head, the
            // head only: the first line counts again at most the smaller of the two.
            let each = share / repeats;
            let keep = each - weight(first_line(message)).min(each / 2);
            *message = cut(message, keep, limit_mib);
        }
    }
}

/// The share of `limit` each message may keep when `costs` are over it (None when they
/// are not): the largest share such that the messages under it, kept whole, and the
/// others, cut to it, fit.
fn fair_share(costs: &[usize], limit: usize) -> Option<usize> {
    if costs.iter().sum::<usize>() <= limit {
        return None;
    }
    let mut sorted = costs.to_vec();
    sorted.sort_unstable();
    let mut left = limit;
    for (i, cost) in sorted.iter().enumerate() {
        let share = left / (sorted.len() - i);
        if *cost > share {
            return Some(share);
        }
        left -= cost;
    }
    Some(left)
}

/// What `message` may take in the largest form of the grade: its weight, and its first
/// line's again.
fn cost(message: &str) -> usize {
    weight(message) + weight(first_line(message))
}

fn weight(text: &str) -> usize {
    text.chars().map(char_weight).sum()
}

/// The most bytes one character takes in any form: escaped in XML (`&quot;`), in JSON
/// (`\u001b`), on a terminal (`\u{202e}`), or as it is.
fn char_weight(c: char) -> usize {
    match c {
        '"' | '\'' => 6,
        '&' => 5,
        '<' | '>' => 4,
        c if c.is_control() => 6,
        c => c.len_utf8().max(crate::escape::escaped_len(c)),
    }
}

/// `message` within `weight`: as many of its first lines and of its last lines as fit
/// in half each, and between them how much was cut. A line longer than its half is cut
/// inside.
fn cut(message: &str, weight: usize, limit_mib: u32) -> String {
    let room = weight.saturating_sub(NOTE_ROOM) / 2;
    // The head: whole first lines, or the start of a first line that is longer than its half.
    let mut head = 0;
    let mut used = 0;
    for (at, c) in message.char_indices() {
        used += char_weight(c);
        if used > room {
            break;
        }
        head = at + c.len_utf8();
    }
    if let Some(newline) = message[..head].rfind('\n') {
        head = newline + 1;
    }
    // The tail: whole last lines, or the end of a last line that is longer than its half.
    let mut tail = message.len();
    used = 0;
    for (at, c) in message[head..].char_indices().rev() {
        used += char_weight(c);
        if used > room {
            break;
        }
        tail = head + at;
    }
    let inner_newline = message[tail..].trim_end_matches('\n').find('\n');
    if let Some(newline) = inner_newline.filter(|_| !message[..tail].ends_with('\n')) {
        tail += newline + 1;
    }
    let gone = &message[head..tail];
    let lines = gone.lines().count();
    let before = if head == 0 || message[..head].ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let after = if tail == message.len() { "" } else { "\n" };
    format!(
        "{}{before}... {} ({} line{}) cut: the submission's test output is over its {limit_mib} MiB \
         (rubric.toml [limits] output_mib) ...{after}{}",
        &message[..head],
        size(gone.len()),
        thousands(lines),
        if lines == 1 { "" } else { "s" },
        &message[tail..]
    )
}

/// `812344` as `812,344`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// `70.9 MiB`, `12.0 KiB`, `300 bytes`.
fn size(bytes: usize) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB {
        format!("{:.1} MiB", b / KIB / KIB)
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabGrade, TestGrade, TestStatus};
    use std::time::{Duration, UNIX_EPOCH};

    const MIB: usize = 1024 * 1024;

    /// A failing test whose message is a summary line and `lines` lines of `line`.
    fn failing(name: &str, line: &str, lines: usize) -> TestGrade {
        let mut message = format!("lab::{name} failed: it printed a lot\n\n--- output of the test process ---\n");
        for i in 0..lines {
            message.push_str(&format!("{i:07} {line}\n"));
        }
        message.push_str("thread panicked at the end");
        TestGrade::scored(name, 1, TestStatus::Fail, message)
    }

    fn grade(tests: Vec<TestGrade>) -> Grade {
        Grade::new(vec![LabGrade::graded("lab02_partial", "Partial", tests)])
    }

    /// Every form of `grade` and what each takes with no message at all.
    fn forms(grade: &Grade) -> Vec<(&'static str, usize, usize)> {
        let at = UNIX_EPOCH + Duration::from_secs(1_748_779_200);
        let render = |g: &Grade| {
            [
                ("json", crate::report::json(g).len()),
                ("junit", crate::report::junit::render(g, at).len()),
                ("txt", crate::report::terminal::render(g).len()),
            ]
        };
        let mut bare = grade.clone();
        for lab in &mut bare.labs {
            lab.message.clear();
            lab.tests.iter_mut().for_each(|t| t.message.clear());
        }
        render(grade)
            .into_iter()
            .zip(render(&bare))
            .map(|((name, size), (_, frame))| (name, size, frame))
            .collect()
    }

    #[test]
    fn a_grade_within_the_limit_is_left_as_it_is() {
        let mut tests: Vec<TestGrade> = (0..5).map(|i| failing(&format!("t{i}"), "x", 100)).collect();
        tests.push(TestGrade::scored("ok", 1, TestStatus::Pass, ""));
        let original = grade(tests);
        let mut capped = original.clone();
        apply(&mut capped, 1);
        assert_eq!(capped, original);
    }

    #[test]
    fn every_form_keeps_at_most_the_limit_and_each_message_its_first_and_last_lines() {
        // Lab code that prints 1 MiB in every function, as the tester's did (12 tests, not 71).
        let mut tests: Vec<TestGrade> = (0..12)
            .map(|i| failing(&format!("t{i}"), &"y".repeat(72), 13_000))
            .collect();
        tests.push(failing("short", "z", 3));
        let original = grade(tests);
        let mut capped = original.clone();
        apply(&mut capped, 1);
        for (form, size, frame) in forms(&capped) {
            assert!(size <= frame + MIB, "{form}: {size} bytes, {frame} without messages");
        }
        let json = forms(&original)[0].1;
        assert!(json > 12 * MIB, "{json}");
        let short = &capped.labs[0].tests[12];
        assert_eq!(short, &original.labs[0].tests[12], "a short message is kept whole");
        for (test, before) in capped.labs[0].tests[..12].iter().zip(&original.labs[0].tests) {
            let message = &test.message;
            assert_eq!(first_line(message), first_line(&before.message));
            assert!(
                message.ends_with("\nthread panicked at the end"),
                "{}",
                &message[message.len() - 200..]
            );
            let note = message.lines().find(|l| l.starts_with("... ")).unwrap();
            assert!(
                note.ends_with(
                    " cut: the submission's test output is over its 1 MiB (rubric.toml [limits] output_mib) ..."
                ),
                "{note}"
            );
            assert!(note.contains(" MiB (") && note.contains(" lines) cut"), "{note}");
            // Whole lines on both sides of the note.
            let lines: Vec<&str> = message.lines().collect();
            let at = lines.iter().position(|l| l.starts_with("... ")).unwrap();
            assert!(lines[at - 1].ends_with(&"y".repeat(72)) && lines[at + 1].ends_with(&"y".repeat(72)));
        }
    }

    #[test]
    fn escapes_a_form_writes_longer_cannot_take_it_over() {
        // Quotes are 6 bytes in XML, ESC 6 in JSON, U+202E 8 on a terminal; one line each.
        let hostile = "\"\u{1b}&<\u{202e}'".repeat(200_000);
        let tests = (0..4)
            .map(|i| TestGrade::scored(format!("t{i}"), 1, TestStatus::Crash, hostile.clone()))
            .collect();
        let mut capped = grade(tests);
        apply(&mut capped, 1);
        for (form, size, frame) in forms(&capped) {
            assert!(size <= frame + MIB, "{form}: {size} bytes, {frame} without messages");
        }
        let message = &capped.labs[0].tests[0].message;
        assert!(message.starts_with("\"\u{1b}&<"), "the head of a line cut inside");
        assert!(
            message.contains("\n... 1.") && message.contains(" (1 line) cut: "),
            "{}",
            &message[..300]
        );
    }

    #[test]
    fn a_build_error_repeated_in_every_test_case_counts_each_time() {
        let lab = crate::judge::score::build_error_grade(
            &crate::project::rubric::Lab {
                id: "lab03_spanning".into(),
                title: "Spanning".into(),
                summary: None,
                points: (0..10).map(|i| (format!("t{i}"), 1)).collect(),
                undrawn: Vec::new(),
            },
            &format!("error[E0425]: cannot find value\n{}", "  | code\n".repeat(300_000)),
        );
        let mut capped = Grade::new(vec![lab]);
        apply(&mut capped, 1);
        for (form, size, frame) in forms(&capped) {
            assert!(size <= frame + MIB, "{form}: {size} bytes, {frame} without messages");
        }
        assert!(capped.labs[0].message.starts_with("error[E0425]: cannot find value\n"));
    }

    #[test]
    fn the_note_says_how_much_in_a_readable_unit() {
        assert_eq!(thousands(812_344), "812,344");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(size(74_344_038), "70.9 MiB");
        assert_eq!(size(12 * 1024), "12.0 KiB");
        assert_eq!(size(300), "300 bytes");
        assert_eq!(fair_share(&[1, 2, 3], 6), None);
        assert_eq!(fair_share(&[1, 10, 10], 9), Some(4));
        assert_eq!(fair_share(&[10, 10], 9), Some(4));
    }
}
