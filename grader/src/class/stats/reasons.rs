//! Why a test failed, grouped over the class: the first line of each message with the
//! numbers that vary between students (addresses, pids, counts) masked, so that
//! "expected Ok(2), got Ok(3)" from 14 students is one row, and "got Ok(4)" from a
//! fifteenth joins it as "expected Ok(2), got Ok(#)".
//!
//! A number is a run of digits that does not continue a word (`lab05` and `case_2`
//! are names, not numbers), or `0x` and hex digits. Numbers every message of a group
//! shares stay as they are; the others become `#`.

use std::collections::BTreeMap;

use serde::Serialize;

/// What a masked number shows.
pub const VARIES: &str = "#";

/// One row of a test's failure reasons.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reason {
    /// The first line, numbers that vary in the group shown as [`VARIES`].
    pub text: String,
    /// How many students' messages it groups.
    pub count: usize,
}

/// A first line cut into text and numbers: the shape is the text with a hole per number.
#[derive(Debug, PartialEq)]
struct Tokens<'a> {
    /// The text between numbers: one more piece than there are numbers.
    pieces: Vec<&'a str>,
    numbers: Vec<&'a str>,
}

fn tokens(line: &str) -> Tokens<'_> {
    let bytes = line.as_bytes();
    let mut pieces = Vec::new();
    let mut numbers = Vec::new();
    let (mut piece_start, mut i) = (0, 0);
    while i < bytes.len() {
        let continues_word = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if !bytes[i].is_ascii_digit() || continues_word {
            i += 1;
            continue;
        }
        let start = i;
        let hex = bytes[i] == b'0' && bytes.get(i + 1).is_some_and(|b| *b == b'x' || *b == b'X');
        i += if hex { 2 } else { 1 };
        while i < bytes.len()
            && ((hex && bytes[i].is_ascii_hexdigit()) || bytes[i].is_ascii_digit() || bytes[i] == b'_')
        {
            i += 1;
        }
        pieces.push(&line[piece_start..start]);
        numbers.push(&line[start..i]);
        piece_start = i;
    }
    pieces.push(&line[piece_start..]);
    Tokens { pieces, numbers }
}

/// The most common reasons among `lines` (first lines of the messages, one per
/// student), most students first, then by text; at most `keep` rows, and how many
/// students' lines the rows left out hold.
pub fn group(lines: &[&str], keep: usize) -> (Vec<Reason>, usize) {
    let mut groups: BTreeMap<Vec<&str>, Vec<Vec<&str>>> = BTreeMap::new();
    for line in lines {
        let Tokens { pieces, numbers } = tokens(line);
        groups.entry(pieces).or_default().push(numbers);
    }
    let mut reasons: Vec<Reason> = groups
        .into_iter()
        .map(|(pieces, members)| {
            let mut text = String::new();
            for (i, piece) in pieces.iter().enumerate() {
                text.push_str(piece);
                let Some(first) = members[0].get(i) else { continue };
                let shared = members.iter().all(|m| m[i] == *first);
                text.push_str(if shared { first } else { VARIES });
            }
            Reason {
                text,
                count: members.len(),
            }
        })
        .collect();
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.text.cmp(&b.text)));
    let left_out = reasons.iter().skip(keep).map(|r| r.count).sum();
    reasons.truncate(keep);
    (reasons, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_ones_that_do_not_continue_a_word() {
        let t = tokens("lab05 case_2: expected Ok(2), got Err(0x7ffd_12ab) at 4096 pid 311");
        assert_eq!(t.numbers, ["2", "0x7ffd_12ab", "4096", "311"]);
        assert_eq!(
            t.pieces,
            ["lab05 case_2: expected Ok(", "), got Err(", ") at ", " pid ", ""]
        );
        assert_eq!(tokens("no numbers").numbers, Vec::<&str>::new());
    }

    #[test]
    fn the_same_line_from_many_students_is_one_row_with_its_count() {
        let mut lines = vec!["expected Ok(2), got Ok(3)"; 14];
        lines.push("expected Ok(2), got Ok(4)");
        lines.extend([
            "child 1201 died: SIGSEGV at 0x7f00aa",
            "child 977 died: SIGSEGV at 0x7f3311",
        ]);
        lines.push("lab05 wrong");
        let (reasons, left_out) = group(&lines, 5);
        assert_eq!(
            reasons,
            [
                Reason {
                    text: "expected Ok(2), got Ok(#)".into(),
                    count: 15
                },
                Reason {
                    text: "child # died: SIGSEGV at #".into(),
                    count: 2
                },
                Reason {
                    text: "lab05 wrong".into(),
                    count: 1
                },
            ]
        );
        assert_eq!(left_out, 0);
        let (reasons, left_out) = group(&lines, 1);
        assert_eq!(reasons.len(), 1);
        assert_eq!(left_out, 3);
    }

    #[test]
    fn a_line_of_its_own_keeps_its_numbers() {
        let (reasons, _) = group(&["expected Ok(2), got Ok(3)"], 5);
        assert_eq!(reasons[0].text, "expected Ok(2), got Ok(3)");
        let (reasons, _) = group(&["é 1 ü", "é 2 ü"], 5);
        assert_eq!(reasons[0].text, "é # ü");
    }
}
