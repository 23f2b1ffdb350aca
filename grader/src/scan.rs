//! Refuses lab files that could reach outside the lab: read other files at compile
//! time, run code before `main`, or replace symbols the harness relies on.
//!
//! A lab file is compiled into the library every suite links, so it could:
//! - pull in the reference solutions at compile time (`include!("../../../solutions/...")`,
//!   `#[path = "..."] mod x;`);
//! - run code in the parent test process, the judge, before `main`
//!   (`#[link_section = ".init_array"]`) or interpose libc or harness symbols
//!   (`#[no_mangle]`, `#[export_name]`, `global_asm!`).
//!
//! None of that is needed to solve a lab. The check works on tokens, with comments
//! and string literals skipped, so lesson text and messages never trip it, and an
//! identifier cannot be smuggled past it through `macro_rules!` (which cannot build
//! identifiers out of strings on stable Rust).

/// Identifiers that may not appear anywhere in a lab file (as code, not in comments or strings).
const BANNED_ANYWHERE: &[(&str, &str)] = &[
    ("include", "reads another file into the lab at compile time"),
    ("include_str", "reads another file into the lab at compile time"),
    ("include_bytes", "reads another file into the lab at compile time"),
    (
        "link_section",
        "places code where it runs before main, in the judging process",
    ),
    ("export_name", "replaces a symbol the harness or libc relies on"),
    ("no_mangle", "replaces a symbol the harness or libc relies on"),
    ("link_name", "binds to a symbol the lab is not given"),
    ("global_asm", "adds code outside any function"),
    ("naked_asm", "adds code outside Rust's control"),
    ("asm", "adds code outside Rust's control"),
];

/// Identifiers that may not appear inside an attribute (`#[...]` or `#![...]`).
const BANNED_IN_ATTRIBUTE: &[(&str, &str)] = &[
    ("path", "makes a module come from another file"),
    ("link", "links a library the lab is not given"),
];

#[derive(Debug, PartialEq)]
enum Token {
    Ident(String),
    Punct(char),
}

/// The first forbidden construct in `source`, as `LINE: what and why`.
pub fn forbidden(source: &str) -> Option<String> {
    let tokens = tokenize(source);
    let mut attribute_depth: Vec<usize> = Vec::new(); // bracket depth at which each open attribute started
    let mut depth = 0usize;
    for (i, (token, line)) in tokens.iter().enumerate() {
        match token {
            Token::Punct('[') => {
                let opens_attribute = matches!(tokens.get(i.wrapping_sub(1)), Some((Token::Punct('#'), _)))
                    || (matches!(tokens.get(i.wrapping_sub(1)), Some((Token::Punct('!'), _)))
                        && matches!(tokens.get(i.wrapping_sub(2)), Some((Token::Punct('#'), _))));
                depth += 1;
                if opens_attribute {
                    attribute_depth.push(depth);
                }
            }
            Token::Punct(']') => {
                if attribute_depth.last() == Some(&depth) {
                    attribute_depth.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Token::Ident(name) => {
                if let Some((_, why)) = BANNED_ANYWHERE.iter().find(|(n, _)| n == name) {
                    return Some(format!("{line}: `{name}` is not allowed in a lab file: it {why}"));
                }
                if !attribute_depth.is_empty()
                    && let Some((_, why)) = BANNED_IN_ATTRIBUTE.iter().find(|(n, _)| n == name)
                {
                    return Some(format!(
                        "{line}: the attribute `{name}` is not allowed in a lab file: it {why}"
                    ));
                }
                if name == "mod" && declares_module_file(&tokens[i + 1..]) {
                    return Some(format!(
                        "{line}: `mod NAME;` is not allowed in a lab file: a lab is one file (write `mod NAME {{ ... }}`)"
                    ));
                }
            }
            Token::Punct(_) => {}
        }
    }
    None
}

/// `mod name;` or, inside a macro, `mod $name;`.
fn declares_module_file(rest: &[(Token, usize)]) -> bool {
    matches!(
        rest,
        [(Token::Ident(_), _), (Token::Punct(';'), _), ..]
            | [(Token::Punct('$'), _), (Token::Ident(_), _), (Token::Punct(';'), _), ..]
    )
}

/// Identifiers and punctuation with their line numbers; comments, literals and numbers dropped.
fn tokenize(source: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut nesting = 0usize;
            loop {
                match (at(i), at(i + 1)) {
                    ('\0', _) => break,
                    ('/', '*') => {
                        nesting += 1;
                        i += 2;
                    }
                    ('*', '/') => {
                        nesting -= 1;
                        i += 2;
                        if nesting == 0 {
                            break;
                        }
                    }
                    ('\n', _) => {
                        line += 1;
                        i += 1;
                    }
                    _ => i += 1,
                }
            }
        } else if let Some(len) = raw_string_prefix(&chars[i..]) {
            // r"..", r#".."#, br#".."#, cr".." : find the closing quote and as many #.
            let hashes = chars[i..i + len].iter().filter(|c| **c == '#').count();
            i += len;
            while i < chars.len() {
                if chars[i] == '\n' {
                    line += 1;
                }
                if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
        } else if c == '"' || ((c == 'b' || c == 'c') && at(i + 1) == '"') {
            i += if c == '"' { 1 } else { 2 };
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            let start = if c == 'b' { i + 1 } else { i };
            if at(start + 1) == '\\' {
                i = start + 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(start + 2) == '\'' {
                i = start + 3;
            } else {
                i = start + 1; // a lifetime: its name follows as an identifier, harmless
            }
        } else if c.is_ascii_digit() {
            while at(i).is_ascii_alphanumeric() || at(i) == '_' || (at(i) == '.' && at(i + 1).is_ascii_digit()) {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            if c == 'r' && at(i + 1) == '#' && (at(i + 2).is_alphabetic() || at(i + 2) == '_') {
                i += 2; // raw identifier r#name
            }
            let name_start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            tokens.push((Token::Ident(chars[name_start..i].iter().collect()), line));
        } else {
            tokens.push((Token::Punct(c), line));
            i += 1;
        }
    }
    tokens
}

/// The length of a raw string's opening (`r"`, `r##"`, `br#"`, `cr"`), if one starts here.
fn raw_string_prefix(rest: &[char]) -> Option<usize> {
    let mut i = match rest {
        ['r', ..] => 1,
        ['b' | 'c', 'r', ..] => 2,
        _ => return None,
    };
    while rest.get(i) == Some(&'#') {
        i += 1;
    }
    (rest.get(i) == Some(&'"')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) {
        assert_eq!(forbidden(src), None, "should be allowed:\n{src}");
    }

    fn refused(src: &str, word: &str) {
        let found = forbidden(src).unwrap_or_else(|| panic!("should be refused:\n{src}"));
        assert!(found.contains(word), "{found}");
    }

    #[test]
    fn ordinary_lab_code_is_allowed() {
        ok(r##"
//! Lesson: never `include!` anything; `#[path]` is for other crates. /* nested /* comment */ */
use std::path::Path;
/// # Safety
pub unsafe fn trim(path: &Path, len: usize) -> nix::Result<usize> {
    let s = "include!(\"x\") #[no_mangle]";
    let r = r#"mod x; #[link_section = "a"]"#;
    let c = 'a'; let q = '\''; let b = b'x';
    fn inner<'a>(x: &'a str) -> &'a str { x }
    mod helpers { pub fn asm_free() {} }
    #[allow(unused)]
    let _ = (s, r, c, q, b, inner("x"), 1.5e3, 0x1000usize);
    todo!("trim({path:?}, {len})")
}
"##);
    }

    #[test]
    fn compile_time_file_reads_are_refused() {
        refused(
            "const S: &str = include_str!(\"../../../solutions/lab02.rs\");",
            "include_str",
        );
        refused("include!(\"../solutions/lab02.rs\");", "include");
        refused(
            "macro_rules! m { ($i:ident) => { $i!(\"x\"); } }\nm!(include);",
            "include",
        );
        refused("#[path = \"/work/solutions/lab02.rs\"]\nmod s;", "path");
        refused("#[cfg_attr(all(), path = \"x.rs\")]\nmod s {}", "path");
        refused("mod other;", "mod NAME;");
        refused(
            "macro_rules! m { ($a:meta, $n:ident) => { #[$a] mod $n; } }",
            "mod NAME;",
        );
    }

    #[test]
    fn code_before_main_and_symbol_interposition_are_refused() {
        refused(
            "#[used]\n#[unsafe(link_section = \".init_array\")]\nstatic C: extern \"C\" fn() = f;",
            "link_section",
        );
        refused("#[unsafe(no_mangle)]\npub extern \"C\" fn write() {}", "no_mangle");
        refused("#[unsafe(export_name = \"main\")]\nfn x() {}", "export_name");
        refused("std::arch::global_asm!(\"nop\");", "global_asm");
        refused("#[link(name = \"c\")]\nunsafe extern \"C\" {}", "link");
    }

    #[test]
    fn reports_the_line() {
        let found = forbidden("fn a() {}\n\n\nconst X: &[u8] = include_bytes!(\"/etc/passwd\");").unwrap();
        assert!(found.starts_with("4: "), "{found}");
    }

    #[test]
    fn raw_identifiers_and_byte_strings_are_tokens_not_traps() {
        ok("let r#type = br#\"include!\"#; let s = b\"asm\"; let c = c\"no_mangle\";");
        refused("let r#include = 1;", "include");
    }
}

/// Temporary bridge until the syn-based check lands.
pub fn refuse(bytes: &[u8]) -> Option<String> {
    forbidden(&String::from_utf8_lossy(bytes))
}
