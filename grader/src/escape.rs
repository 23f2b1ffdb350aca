//! Text a student controls (a test's message, a folder or file name) as the terminal
//! report, `NAME.txt` and the progress lines show it: every character that moves the
//! cursor, starts a line or changes how a terminal draws is written as an escape
//! (`\x1b`, `\r`, `\n`, `\t`, `\u{202e}`), the way JUnit already replaces them. So
//! such text can neither hide the real `Score:` line nor print a line of its own.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1), every bidirectional override or
/// isolate (Trojan Source) and the Unicode line and paragraph separators escaped;
/// anything else, backslashes included, as it is.
pub fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x80 && needs_escape(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// How many bytes `c` takes as [`shown`] writes it.
pub fn escaped_len(c: char) -> usize {
    match c {
        '\t' | '\r' | '\n' => 2,
        c if !needs_escape(c) => c.len_utf8(),
        c if (c as u32) < 0x80 => 4,
        c => 4 + (32 - (c as u32).leading_zeros()).div_ceil(4) as usize,
    }
}

/// Whether `c` is drawn as something else than itself, or moves what follows it.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_as_it_is() {
        for text in ["", "alice", "expected `4`, got `3`: C:\\path é 漢字 ✓"] {
            assert!(matches!(shown(text), Cow::Borrowed(t) if t == text), "{text}");
        }
    }

    #[test]
    fn what_moves_the_cursor_or_draws_differently_is_escaped() {
        assert_eq!(
            shown("a\u{1b}[2K\rScore: 94/94\n\tb\u{7f}\0"),
            "a\\x1b[2K\\rScore: 94/94\\n\\tb\\x7f\\x00"
        );
        assert_eq!(
            shown("\u{9b}2J \u{202e}txt.rs \u{2028}x\u{85}"),
            "\\u{9b}2J \\u{202e}txt.rs \\u{2028}x\\u{85}"
        );
        assert_eq!(shown("\u{b}\u{c}"), "\\x0b\\x0c");
        for c in [
            'a', 'é', '\t', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{202e}', '\u{2028}',
        ] {
            assert_eq!(escaped_len(c), shown(&c.to_string()).len(), "{c:?}");
        }
        let escaped = shown("\u{1b}[8mhidden\u{1b}[0m");
        assert!(!escaped.chars().any(|c| c.is_control()), "{escaped}");
    }
}
