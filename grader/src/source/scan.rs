//! Refuses lab files that could reach outside the lab.
//!
//! A lab file is compiled into the library every suite links, so a hostile one could read the
//! reference solutions at compile time (`include_str!`, `#[path]`, `mod NAME;`), run code in the
//! judging process before `main` (`#[link_section = ".init_array"]`, `#[used]`), or replace
//! symbols the harness and libc rely on (`#[no_mangle]`, extern blocks, assembly). No lab needs
//! any of that.
//!
//! The file is parsed with `syn`, so comments and string literals are never taken for code and
//! no lexing trick hides code from the check. Macros and attributes are checked against
//! allow-lists of what a lab needs, wherever syn exposes them; out-of-line modules, extern blocks,
//! `extern crate` and syntax syn keeps verbatim (unstable Rust) are refused. Macro arguments stay
//! raw tokens after parsing, so they are walked too: an allowed macro cannot carry a refused one.
//! `macro_rules!` is refused, so no macro can assemble a refused construct out of its input, and
//! a `use ... as` that renames something to an allowed macro's name is refused too.
//!
//! A file that is not UTF-8, does not parse, or has more tokens than a lab could need (so deep
//! nesting cannot overflow the grader's stack) is refused as well, with the line it fails at.

use proc_macro2::{Delimiter, Spacing, Span, TokenStream, TokenTree};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{
    Attribute, Expr, ForeignItem, ImplItem, Item, ItemExternCrate, ItemForeignMod, ItemMod, Macro, Meta, Pat, Path,
    TraitItem, Type, TypeParamBound, UseRename,
};

/// The macros a lab file may call (by the last segment of their path).
const MACROS: &[&str] = &[
    "todo",
    "unimplemented",
    "unreachable",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "format",
    "format_args",
    "write",
    "writeln",
    "print",
    "println",
    "eprint",
    "eprintln",
    "dbg",
    "vec",
    "matches",
    "addr_of",
    "addr_of_mut",
    "offset_of",
    "cfg",
    "line",
    "column",
    "file",
    "stringify",
    "concat",
    "compile_error",
    "thread_local",
];

/// Why a macro off the allow-list is refused, for the ones whose harm has a name.
const MACRO_REASONS: &[(&str, &str)] = &[
    ("include", "it reads another file into the lab at compile time"),
    ("include_str", "it reads another file into the lab at compile time"),
    ("include_bytes", "it reads another file into the lab at compile time"),
    ("env", "it reads the grader's environment into the lab at compile time"),
    (
        "option_env",
        "it reads the grader's environment into the lab at compile time",
    ),
    ("asm", "it adds machine code outside Rust's control"),
    ("naked_asm", "it adds machine code outside Rust's control"),
    (
        "global_asm",
        "it adds machine code outside any function, where it can run before main",
    ),
    (
        "macro_rules",
        "a lab needs no macros of its own, and a macro can assemble what this check refuses",
    ),
];

const OTHER_MACRO: &str =
    "it is not one of the standard macros a lab may use (such as `vec!`, `format!`, `assert!`, `todo!`)";

/// The attributes a lab file may use (by their whole path).
const ATTRIBUTES: &[&str] = &[
    "doc",
    "allow",
    "warn",
    "deny",
    "expect",
    "forbid",
    "inline",
    "cold",
    "must_use",
    "track_caller",
    "derive",
    "cfg",
    "cfg_attr",
    "repr",
    "non_exhaustive",
    "deprecated",
    "test",
    "ignore",
    "should_panic",
    "rustfmt::skip",
    // The helper attribute of `#[derive(Default)]` on an enum.
    "default",
];

/// Tool namespaces whose every attribute is allowed (`#[clippy::...]`, `#[diagnostic::...]`).
const ATTRIBUTE_NAMESPACES: &[&str] = &["clippy", "diagnostic"];

/// The derives a lab file may use: the standard library's.
const DERIVES: &[&str] = &[
    "Debug",
    "Clone",
    "Copy",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Hash",
    "Default",
];

/// Why an attribute off the allow-list is refused, for the ones whose harm has a name.
const ATTRIBUTE_REASONS: &[(&str, &str)] = &[
    (
        "path",
        "it makes a module come from another file, such as a reference solution",
    ),
    ("no_mangle", "it replaces a symbol the harness or libc relies on"),
    ("export_name", "it replaces a symbol the harness or libc relies on"),
    (
        "link_section",
        "it places code where it runs before main, in the judging process",
    ),
    (
        "used",
        "it is how a static is made to run as code before main, in the judging process",
    ),
    ("link", "it links a library the lab is not given"),
    ("link_name", "it links a symbol the lab is not given"),
    ("link_ordinal", "it links a symbol the lab is not given"),
    (
        "global_allocator",
        "it replaces the memory allocator of every process the lab is linked into",
    ),
    (
        "debugger_visualizer",
        "it reads another file into the lab at compile time",
    ),
];

const OTHER_ATTRIBUTE: &str = "it is not an attribute a lab needs";

/// Keywords: an identifier followed by `!` is a macro call unless it is one of these (`if !x`).
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "gen", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// More tokens than any lab file needs: the longest reference solution has about 500.
///
/// syn recurses once per level of nesting, so a file of `&&&&...u8` or `((((...))))` could
/// overflow the grader's stack and abort it (and with it a whole batch). Nesting is bounded by
/// the number of tokens, so capping that, and checking on a thread with [`CHECK_STACK`], keeps
/// any file the check accepts to read within the stack.
const MAX_TOKENS: usize = 10_000;

/// The stack of the thread that checks a file. The deepest recursion measured in a debug build is
/// about 33 KiB per token (`&&&&...u8`), so [`MAX_TOKENS`] of it fit three times over. Only the
/// pages a file actually reaches are ever used.
const CHECK_STACK: usize = 1 << 30;

/// Why the lab file cannot be graded, as `LINE:COL: what and why`, or None when it is acceptable.
pub fn refuse(bytes: &[u8]) -> Option<String> {
    let source = match std::str::from_utf8(bytes) {
        Ok(source) => source,
        Err(error) => {
            let (line, column) = end_of(&String::from_utf8_lossy(&bytes[..error.valid_up_to()]));
            let byte = bytes[error.valid_up_to()];
            return Some(format!("{line}:{column}: the file is not UTF-8 (byte 0x{byte:02X})"));
        }
    };
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().name("scan".into()).stack_size(CHECK_STACK);
        match thread.spawn_scoped(scope, || check(source)) {
            Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => check(source), // no thread to be had: the caller's stack is all there is
        }
    })
}

/// [`refuse`] for a file that is UTF-8.
fn check(source: &str) -> Option<String> {
    let verdict = too_many_tokens(source).or_else(|| match syn::parse_file(source) {
        Err(error) => {
            let (line, column) = position(error.span()).unwrap_or_else(|| end_of(source));
            // proc-macro2's lexer says only this when a delimiter, string or comment is not closed.
            let hint = match error.to_string().as_str() {
                "cannot parse string into token stream" => {
                    " (a bracket, string or comment that is never closed, or a stray closing one?)"
                }
                _ => "",
            };
            Some(format!("{line}:{column}: does not parse: {error}{hint}"))
        }
        Ok(file) => {
            let mut check = Check::default();
            check.visit_file(&file);
            check.first.map(|(line, column, why)| format!("{line}:{column}: {why}"))
        }
    });
    // The spans of this file stay in a thread-local source map until dropped: were this the
    // caller's thread, it would otherwise keep every file it ever checked.
    proc_macro2::extra::invalidate_current_thread_spans();
    verdict
}

/// Where the file passes [`MAX_TOKENS`] tokens (a group counts as one, plus what it holds), if it
/// does, counted without recursion.
fn too_many_tokens(source: &str) -> Option<String> {
    // The text syn::parse_file reads: without a byte order mark and, maybe, a shebang line.
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let tokens = source.parse::<TokenStream>().ok().or_else(|| {
        let after_first_line = &source[source.find('\n')?..];
        after_first_line.parse::<TokenStream>().ok()
    })?; // a file that does not lex does not parse either: syn stops before recursing
    let mut open = vec![tokens.into_iter()];
    let mut count = 0usize;
    while let Some(trees) = open.last_mut() {
        let Some(tree) = trees.next() else {
            open.pop();
            continue;
        };
        count += 1;
        if count > MAX_TOKENS {
            let start = tree.span().start();
            return Some(format!(
                "{}:{}: the file is too long to check: it has more than {MAX_TOKENS} tokens, far more than \
                 any lab needs",
                start.line,
                start.column + 1
            ));
        }
        if let TokenTree::Group(group) = tree {
            open.push(group.stream().into_iter());
        }
    }
    None
}

/// Line and column (both from 1) where `span` starts, if it points into the file (a span that
/// covers nothing is the call site, which syn gives to "unexpected end of input").
fn position(span: Span) -> Option<(usize, usize)> {
    let start = span.start();
    (start.line > 0 && !span.byte_range().is_empty()).then_some((start.line, start.column + 1))
}

/// Line and column just past the end of `source` (where "unexpected end of input" is).
fn end_of(source: &str) -> (usize, usize) {
    let line = source.matches('\n').count() + 1;
    let column = source.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn unraw(name: &str) -> &str {
    name.strip_prefix("r#").unwrap_or(name)
}

fn reason(reasons: &[(&str, &'static str)], name: &str, other: &'static str) -> &'static str {
    reasons.iter().find(|(n, _)| *n == name).map_or(other, |(_, why)| why)
}

/// `a::b::c`, raw prefixes dropped, with a leading `::` if written.
fn path_name(path: &Path) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|s| unraw(&s.ident.to_string()).to_owned())
        .collect();
    let joined = segments.join("::");
    if path.leading_colon.is_some() {
        format!("::{joined}")
    } else {
        joined
    }
}

/// Where a path starts.
fn path_span(path: &Path) -> Span {
    match (&path.leading_colon, path.segments.first()) {
        (Some(colons), _) => colons.spans[0],
        (None, Some(first)) => first.ident.span(),
        (None, None) => Span::call_site(),
    }
}

fn attribute_allowed(name: &str) -> bool {
    ATTRIBUTES.contains(&name)
        || ATTRIBUTE_NAMESPACES
            .iter()
            .any(|ns| name.strip_prefix(ns).is_some_and(|rest| rest.starts_with("::")))
}

/// A derive from the standard library: `Debug`, or written out, `std::fmt::Debug`.
fn derive_allowed(path: &Path) -> bool {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|s| unraw(&s.ident.to_string()).to_owned())
        .collect();
    let Some(last) = segments.last() else {
        return false;
    };
    DERIVES.contains(&last.as_str())
        && (segments.len() == 1 || matches!(segments[0].as_str(), "std" | "core"))
        && path.segments.iter().all(|s| s.arguments.is_none())
}

/// A token stream cut at its top-level commas.
fn split_commas(tokens: TokenStream) -> Vec<TokenStream> {
    let mut parts = vec![TokenStream::new()];
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(TokenStream::new()),
            _ => parts.last_mut().expect("never empty").extend([tree]),
        }
    }
    parts
}

/// The first refused construct met so far, in source order.
#[derive(Default)]
struct Check {
    first: Option<(usize, usize, String)>,
}

impl Check {
    fn refuse(&mut self, at: Span, what: &str, why: &str) {
        let start = at.start();
        let (line, column) = (start.line, start.column + 1);
        if self.first.as_ref().is_none_or(|(l, c, _)| (line, column) < (*l, *c)) {
            self.first = Some((line, column, format!("{what} is not allowed in a lab file: {why}")));
        }
    }

    /// A macro call `name!(tokens)` whose path starts at `at`.
    fn macro_call(&mut self, at: Span, name: &str, tokens: TokenStream) {
        let name = unraw(name);
        if MACROS.contains(&name) {
            self.tokens(tokens);
        } else {
            self.refuse(at, &format!("`{name}!`"), reason(MACRO_REASONS, name, OTHER_MACRO));
        }
    }

    /// An attribute `#[meta]`, at its `#` or, nested in `cfg_attr`, at its path.
    fn attribute(&mut self, at: Span, meta: &Meta) {
        let name = path_name(meta.path());
        match name.as_str() {
            "derive" => self.derive(at, meta),
            "cfg_attr" => self.cfg_attr(at, meta),
            "unsafe" => {
                // A 2024-edition unsafe attribute: name what it wraps.
                let inner = match meta {
                    Meta::List(list) => syn::parse2::<Meta>(list.tokens.clone()).ok(),
                    _ => None,
                };
                match inner {
                    Some(inner) => {
                        let inner = path_name(inner.path());
                        let why = reason(ATTRIBUTE_REASONS, &inner, OTHER_ATTRIBUTE);
                        self.refuse(at, &format!("`#[unsafe({inner})]`"), why);
                    }
                    None => self.refuse(at, "`#[unsafe(...)]`", OTHER_ATTRIBUTE),
                }
            }
            _ if attribute_allowed(&name) => self.arguments(meta),
            _ => self.refuse(
                at,
                &format!("`#[{name}]`"),
                reason(ATTRIBUTE_REASONS, &name, OTHER_ATTRIBUTE),
            ),
        }
    }

    /// What an allowed attribute carries: raw tokens (walked) or a value expression (visited).
    fn arguments(&mut self, meta: &Meta) {
        match meta {
            Meta::Path(_) => {}
            Meta::List(list) => self.tokens(list.tokens.clone()),
            Meta::NameValue(name_value) => self.visit_expr(&name_value.value),
        }
    }

    fn derive(&mut self, at: Span, meta: &Meta) {
        let Meta::List(list) = meta else {
            return self.arguments(meta);
        };
        let parse = |input: syn::parse::ParseStream| {
            Punctuated::<Path, syn::Token![,]>::parse_terminated_with(input, Path::parse_mod_style)
        };
        match parse.parse2(list.tokens.clone()) {
            Ok(paths) => {
                for path in paths.iter().filter(|p| !derive_allowed(p)) {
                    self.refuse(
                        path_span(path),
                        &format!("`#[derive({})]`", path_name(path)),
                        "a lab may derive only the standard traits (Debug, Clone, Copy, PartialEq, Eq, \
                         PartialOrd, Ord, Hash, Default)",
                    );
                }
            }
            Err(_) => self.refuse(at, "this `#[derive(...)]`", "it does not list derives by name"),
        }
    }

    /// `cfg_attr(condition, attribute, ...)`: every attribute after the condition is checked.
    fn cfg_attr(&mut self, at: Span, meta: &Meta) {
        let Meta::List(list) = meta else {
            return self.arguments(meta);
        };
        let mut parts = split_commas(list.tokens.clone()).into_iter();
        if let Some(condition) = parts.next() {
            self.tokens(condition);
        }
        for part in parts.filter(|p| !p.is_empty()) {
            let start = part.clone().into_iter().next().map_or(at, |t| t.span());
            match syn::parse2::<Meta>(part) {
                Ok(meta) => self.attribute(path_span(meta.path()), &meta),
                Err(_) => self.refuse(start, "this `cfg_attr` argument", "it cannot be read as an attribute"),
            }
        }
    }

    /// Raw tokens (macro arguments, attribute arguments): macro calls, attributes, `mod NAME;`,
    /// extern blocks, `extern crate` and renames to an allowed macro's name, at any depth.
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            let (next, after) = (trees.get(i + 1), trees.get(i + 2));
            match &trees[i] {
                TokenTree::Group(group) => self.tokens(group.stream()),
                TokenTree::Punct(pound) if pound.as_char() == '#' => {
                    // `#[...]`, or `#![...]`
                    let (bracket, skip) = match next {
                        Some(TokenTree::Punct(bang)) if bang.as_char() == '!' => (after, 3),
                        _ => (next, 2),
                    };
                    if let Some(TokenTree::Group(group)) = bracket
                        && group.delimiter() == Delimiter::Bracket
                    {
                        match syn::parse2::<Meta>(group.stream()) {
                            Ok(meta) => self.attribute(pound.span(), &meta),
                            Err(_) => self.refuse(pound.span(), "this attribute", "it cannot be read as one"),
                        }
                        i += skip;
                        continue;
                    }
                }
                TokenTree::Ident(ident) => {
                    let name = ident.to_string();
                    if KEYWORDS.contains(&name.as_str()) {
                        self.keyword(ident.span(), &name, next, after);
                    } else if let Some(TokenTree::Punct(bang)) = next
                        && bang.as_char() == '!'
                        && bang.spacing() == Spacing::Alone
                    {
                        // `name!(...)` (or `macro_rules! name`): the arguments are walked next.
                        let name = unraw(&name);
                        if !MACROS.contains(&name) {
                            self.refuse(
                                ident.span(),
                                &format!("`{name}!`"),
                                reason(MACRO_REASONS, name, OTHER_MACRO),
                            );
                        }
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// A keyword in raw tokens, with the two tokens that follow it.
    fn keyword(&mut self, at: Span, keyword: &str, next: Option<&TokenTree>, after: Option<&TokenTree>) {
        let is_brace =
            |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace);
        match (keyword, next, after) {
            ("mod", Some(TokenTree::Ident(name)), Some(TokenTree::Punct(semi))) if semi.as_char() == ';' => {
                self.out_of_line_module(at, &name.to_string());
            }
            ("extern", Some(TokenTree::Ident(krate)), _) if krate == "crate" => self.extern_crate(at),
            ("extern", Some(TokenTree::Literal(_)), after) if is_brace(after) => self.extern_block(at),
            ("extern", next, _) if is_brace(next) => self.extern_block(at),
            ("as", Some(TokenTree::Ident(name)), _) => self.rename(name.span(), &name.to_string()),
            ("macro", _, _) => self.refuse(at, "`macro`", "it is unstable Rust syntax that no lab needs"),
            _ => {}
        }
    }

    fn out_of_line_module(&mut self, at: Span, name: &str) {
        self.refuse(
            at,
            &format!("`mod {name};`"),
            &format!("a lab is one file; write `mod {name} {{ ... }}`"),
        );
    }

    fn extern_block(&mut self, at: Span) {
        self.refuse(
            at,
            "an `extern` block",
            "it declares foreign symbols the lab is not given (use `libc` or `nix`)",
        );
    }

    fn extern_crate(&mut self, at: Span) {
        self.refuse(
            at,
            "`extern crate`",
            "it brings in a crate the lab is not given (its dependencies are already in scope)",
        );
    }

    /// `... as name`: refused when `name!` would then stand for another macro than the allowed one.
    fn rename(&mut self, at: Span, name: &str) {
        let name = unraw(name);
        if MACROS.contains(&name) {
            self.refuse(
                at,
                &format!("`as {name}`"),
                &format!("it would make `{name}!` stand for another macro"),
            );
        }
    }

    /// Tokens syn keeps as they are, not understood: unstable or unsupported syntax.
    fn verbatim(&mut self, tokens: &TokenStream, what: &str) {
        // An empty one is a stray `;` between statements, which is fine.
        let Some(first) = tokens.clone().into_iter().next() else {
            return;
        };
        let words: Vec<String> = tokens
            .clone()
            .into_iter()
            .take(3)
            .take_while(|t| matches!(t, TokenTree::Ident(_) | TokenTree::Punct(_)))
            .map(|t| t.to_string())
            .collect();
        let shown = match words.is_empty() {
            true => format!("this {what}"),
            false => format!("this {what} (`{} ...`)", words.join(" ")),
        };
        self.refuse(first.span(), &shown, "it is unstable Rust syntax that no lab needs");
    }
}

impl<'ast> Visit<'ast> for Check {
    fn visit_attribute(&mut self, attribute: &'ast Attribute) {
        self.attribute(attribute.pound_token.span, &attribute.meta);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        self.macro_call(path_span(&mac.path), &name, mac.tokens.clone());
    }

    fn visit_item_mod(&mut self, item: &'ast ItemMod) {
        if item.content.is_none() {
            self.out_of_line_module(item.mod_token.span, &item.ident.to_string());
        }
        visit::visit_item_mod(self, item);
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast ItemForeignMod) {
        let start = item
            .unsafety
            .as_ref()
            .map_or(item.abi.extern_token.span, |unsafety| unsafety.span);
        self.extern_block(start);
        visit::visit_item_foreign_mod(self, item);
    }

    fn visit_item_extern_crate(&mut self, item: &'ast ItemExternCrate) {
        self.extern_crate(item.extern_token.span);
        visit::visit_item_extern_crate(self, item);
    }

    fn visit_use_rename(&mut self, rename: &'ast UseRename) {
        self.rename(rename.rename.span(), &rename.rename.to_string());
        visit::visit_use_rename(self, rename);
    }

    fn visit_item(&mut self, item: &'ast Item) {
        if let Item::Verbatim(tokens) = item {
            self.verbatim(tokens, "item");
        }
        visit::visit_item(self, item);
    }

    fn visit_impl_item(&mut self, item: &'ast ImplItem) {
        if let ImplItem::Verbatim(tokens) = item {
            self.verbatim(tokens, "item");
        }
        visit::visit_impl_item(self, item);
    }

    fn visit_trait_item(&mut self, item: &'ast TraitItem) {
        if let TraitItem::Verbatim(tokens) = item {
            self.verbatim(tokens, "item");
        }
        visit::visit_trait_item(self, item);
    }

    fn visit_foreign_item(&mut self, item: &'ast ForeignItem) {
        if let ForeignItem::Verbatim(tokens) = item {
            self.verbatim(tokens, "item");
        }
        visit::visit_foreign_item(self, item);
    }

    fn visit_expr(&mut self, expr: &'ast Expr) {
        if let Expr::Verbatim(tokens) = expr {
            self.verbatim(tokens, "expression");
        }
        visit::visit_expr(self, expr);
    }

    fn visit_pat(&mut self, pat: &'ast Pat) {
        if let Pat::Verbatim(tokens) = pat {
            self.verbatim(tokens, "pattern");
        }
        visit::visit_pat(self, pat);
    }

    fn visit_type(&mut self, ty: &'ast Type) {
        if let Type::Verbatim(tokens) = ty {
            self.verbatim(tokens, "type");
        }
        visit::visit_type(self, ty);
    }

    fn visit_type_param_bound(&mut self, bound: &'ast TypeParamBound) {
        if let TypeParamBound::Verbatim(tokens) = bound {
            self.verbatim(tokens, "bound");
        }
        visit::visit_type_param_bound(self, bound);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) {
        assert_eq!(refuse(src.as_bytes()), None, "should be accepted:\n{src}");
    }

    /// Refused, and the reason mentions `word`; returns the reason.
    fn refused(src: &str, word: &str) -> String {
        let found = refuse(src.as_bytes()).unwrap_or_else(|| panic!("should be refused:\n{src}"));
        assert!(found.contains(word), "expected `{word}` in: {found}\nfor:\n{src}");
        found
    }

    /// Refused at `line:column`, and the reason mentions `word`.
    fn refused_at(src: &str, at: &str, word: &str) {
        let found = refused(src, word);
        assert!(
            found.starts_with(&format!("{at}: ")),
            "expected {at} in: {found}\nfor:\n{src}"
        );
    }

    /// Every `.rs` file of a folder of this repository, by name.
    fn repo_files(folder: &str) -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(folder);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn every_stub_and_solution_of_this_repository_is_accepted() {
        // The student handout has no solutions/; its `cargo test` checks the stubs only.
        let handout = !std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../solutions")
            .is_dir();
        for folder in ["labs", "solutions"]
            .into_iter()
            .filter(|f| !(handout && *f == "solutions"))
        {
            let files = repo_files(folder);
            assert!(files.len() >= 9, "{folder}: only {} files", files.len());
            for (name, bytes) in files {
                assert_eq!(refuse(&bytes), None, "{name}");
            }
        }
    }

    #[test]
    fn ordinary_lab_code_is_accepted() {
        ok(r##"
//! Lesson: never `include!` anything; `#[path]` is for other crates. /* nested /* comment */ */
#![allow(dead_code)]
use std::path::Path;
use std::collections::HashMap as Map;
use std::fmt::Write as _;
/// # Safety
/// Mentions `#[no_mangle]`, `mod x;` and `include_str!("../solutions/lab02.rs")`.
pub unsafe fn trim(path: &Path, len: usize) -> nix::Result<usize> {
    let s = "include!(\"x\") #[no_mangle]";
    let r = r#"mod x; #[link_section = "a"] "# ;
    let c = 'a'; let q = '\''; let b = b'x'; let bs = b"asm!()"; let cs = c"global_asm!()";
    fn inner<'a>(x: &'a str) -> &'a str { x }
    mod helpers { pub fn asm_free() {} }
    #[allow(unused)]
    let _ = (s, r, c, q, b, bs, cs, inner("x"), 1.5e3, 0x1000usize);
    let mut m: Map<u8, u8> = Map::new();
    m.insert(1, 2);
    let mut out = String::new();
    write!(out, "{len}").unwrap();
    ;;
    todo!("trim({path:?}, {len})")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(C)]
#[non_exhaustive]
pub struct Region { pub start: usize, #[doc(hidden)] pub len: usize }

#[derive(std::fmt::Debug, core::clone::Clone)]
#[must_use = "a plan does nothing until run"]
pub enum Plan { #[default] Nothing, Unmap { #[allow(unused)] at: usize } }

impl Region {
    #[inline(always)]
    #[track_caller]
    #[cold]
    #[deprecated(since = "0.1.0", note = "use end")]
    #[expect(clippy::len_without_is_empty)]
    #[clippy::cognitive_complexity = "100"]
    #[rustfmt::skip]
    pub fn len(&self) -> usize { self.len }
}

#[diagnostic::on_unimplemented(message = "not a region")]
pub trait Regioned {}

pub extern "C" fn on_signal(_: libc::c_int) {}

pub fn page() -> usize {
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    assert!(p > 0, "sysconf: {}", std::io::Error::last_os_error());
    assert_ne!(p, 1);
    debug_assert!(matches!(p, 4096 | 16384 | 65536), "{p}");
    let v = vec![0u8; 3];
    let w: Vec<u8> = vec![1, 2];
    dbg!(v.len() + w.len());
    let _ = std::ptr::addr_of!(v);
    let _ = core::mem::offset_of!(Region, len);
    let _ = (line!(), column!(), file!(), stringify!(x), concat!("a", 1), cfg!(unix));
    if !(p > 0) { unreachable!() }
    if p != 0 { eprintln!("{}", format_args!("{p}")) }
    p as usize
}

thread_local! {
    #[allow(unused)]
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    #[test]
    #[ignore]
    #[should_panic(expected = "boom")]
    fn boom() { panic!("boom") }
}
"##);
    }

    #[test]
    fn lesson_text_in_comments_doc_and_strings_is_accepted() {
        ok(r####"
/// Never write `include!("../solutions/x.rs")` or `#[path = "x"] mod m;`.
/** Block doc: `extern "C" { fn write(); }`, `extern crate std;`, `macro_rules! m {}`. */
/* a comment /* env!("HOME") */ still a comment */
// #[unsafe(no_mangle)] pub extern "C" fn write() {}
pub fn lesson() -> &'static str {
    /* include_bytes!("/etc/passwd") /* nested */ still a comment */
    let _raw = r###"a "## #[link_section = ".init_array"] "###;
    "#[used] static INIT: fn() = f; asm!(\"nop\"); mod other;"
}
"####);
        ok("pub fn f() { println!(\"include_str!(\\\"x\\\") and #[path = \\\"y\\\"]\"); }");
        ok("pub fn f() { let _ = vec![{\n/// mentions #[path] and include!\nfn g() {}\ng\n}]; }");
    }

    #[test]
    fn raw_identifiers_are_identifiers() {
        ok("pub fn r#match(r#type: u8) -> u8 { let r#include = r#type; r#include }");
        ok("pub struct S { r#path: u8 } pub fn f(s: S) -> u8 { s.r#path }");
        refused("pub fn f() { r#include!(\"x\"); }", "`include!`");
        refused("pub fn f() -> &'static str { r#include_str!(\"x\") }", "`include_str!`");
        refused("#[r#path = \"x.rs\"]\nmod m {}", "`#[path]`");
        refused("pub fn f() { println!(\"{}\", r#env!(\"HOME\")); }", "`env!`");
    }

    #[test]
    fn compile_time_file_reads_are_refused_everywhere() {
        refused(
            "const S: &str = include_str!(\"../../../solutions/lab02.rs\");",
            "`include_str!` is not allowed in a lab file: it reads another file into the lab at compile time",
        );
        refused("include!(\"../solutions/lab02.rs\");", "`include!`");
        refused(
            "static B: &[u8] = std::include_bytes!(\"/etc/passwd\");",
            "`include_bytes!`",
        );
        refused("pub fn f() { include!(\"x\"); }", "`include!`");
        refused("pub fn f() -> u8 { 1 + include!(\"x\") }", "`include!`");
        refused(
            "pub fn f(x: u8) { match x { include!(\"p\") => {} _ => {} } }",
            "`include!`",
        );
        refused("pub fn f() { let _x: include!(\"t\") = 0; }", "`include!`");
        refused("pub struct S; impl S { include!(\"i\"); }", "`include!`");
        refused("pub trait T { include!(\"i\"); }", "`include!`");
        refused(
            "pub const N: usize = ::core::include_bytes!(\"x\").len();",
            "`include_bytes!`",
        );
        refused("pub fn f() -> &'static str { env!(\"HOME\") }", "`env!`");
        refused(
            "pub fn f() -> Option<&'static str> { option_env!(\"HOME\") }",
            "`option_env!`",
        );
    }

    #[test]
    fn refused_macros_hidden_in_allowed_macros_are_refused() {
        refused(
            "pub fn f() { println!(\"{}\", include_str!(\"x\")); }",
            "`include_str!`",
        );
        refused(
            "pub fn f() -> String { format!(\"{}\", concat!(env!(\"HOME\"), \"/x\")) }",
            "`env!`",
        );
        refused(
            "pub fn f() { assert!(true, \"{}\", vec![[include_bytes!(\"y\")]].len()); }",
            "`include_bytes!`",
        );
        refused("pub fn f() { let _ = vec![{ #[path = \"x\"] mod m; }]; }", "`#[path]`");
        refused("pub fn f() { dbg!({ mod m; }); }", "`mod m;`");
        refused(
            "pub fn f() { let _ = vec![{ extern crate std as s; }]; }",
            "`extern crate`",
        );
        refused(
            "pub fn f() { let _ = vec![{ unsafe extern \"C\" { fn getpid() -> i32; } }]; }",
            "an `extern` block",
        );
        refused(
            "pub fn f() { let _ = vec![{ extern { fn getpid() -> i32; } }]; }",
            "an `extern` block",
        );
        refused(
            "pub fn f() { let _ = vec![{ use std::include_str as println; println!(\"x\") }]; }",
            "`as println`",
        );
        refused("pub fn f() { let _ = vec![{ macro m() {} }]; }", "`macro`");
        refused(
            "pub fn f() { let _ = vec![{ macro_rules! m { () => {} } }]; }",
            "`macro_rules!`",
        );
        refused("pub fn f() { let _ = vec![{ std::arch::asm!(\"nop\") }]; }", "`asm!`");
        refused(
            "thread_local! {\n    #[unsafe(link_section = \".init_array\")]\n    static X: u8 = 0;\n}",
            "`#[unsafe(link_section)]`",
        );
        refused("pub fn f() { vec![{ #![path = \"x\"] }]; }", "`#[path]`");
        refused(
            "pub fn f() { vec![{ #[doc = include_str!(\"x\")] fn g() {} }]; }",
            "`include_str!`",
        );
        refused(
            "pub fn f() { vec![{ #[cfg_attr(all(), unsafe(no_mangle))] fn g() {} }]; }",
            "no_mangle",
        );
        refused(
            "pub fn f() { vec![{ #[derive(Serialize)] struct S; }]; }",
            "`#[derive(Serialize)]`",
        );
    }

    #[test]
    fn spacing_and_comments_do_not_hide_macros_or_attributes() {
        refused(
            "pub fn f() { println!(\"{}\", include_str!/**/(\"x\")); }",
            "`include_str!`",
        );
        refused(
            "pub fn f() { println!(\"{}\", include_str ! (\"x\")); }",
            "`include_str!`",
        );
        refused(
            "pub fn f() { println!(\"{}\", include_str!//\n(\"x\")); }",
            "`include_str!`",
        );
        refused(
            "pub fn f() { let _ = vec![{ # [ path = \"x\" ] mod m {} }]; }",
            "`#[path]`",
        );
        refused("pub fn f() { let _ = vec![{ # ! [ path = \"x\" ] }]; }", "`#[path]`");
        refused("# [path = \"x\"]\nmod m {}", "`#[path]`");
        refused(
            "pub fn f() -> &'static str { include_str /* */ ! (\"x\") }",
            "`include_str!`",
        );
        refused(
            "pub fn f() { println!(\"{}\", {\n/// doc\n#[used] static X: u8 = 0; X }); }",
            "`#[used]`",
        );
    }

    #[test]
    fn a_shebang_line_hides_nothing() {
        refused_at(
            "#!/usr/bin/env rust\n#[no_mangle]\npub fn f() {}",
            "2:1",
            "`#[no_mangle]`",
        );
        refused_at("#!/*comment*/[path = \"x\"]\nmod m {}", "1:1", "`#[path]`");
        refused_at("#! [link_section = \".init_array\"]", "1:1", "`#[link_section]`");
        ok("#!/usr/bin/env rust\npub fn f() {}");
    }

    #[test]
    fn keywords_before_a_bang_are_not_macro_calls() {
        ok("pub fn f(a: bool) -> Vec<u8> { vec![{ if !(a) { 1 } else { 2 } }] }");
        ok("pub fn f(a: bool) { assert!({ fn g(x: bool) -> bool { return !(x); } g(a) }); }");
        ok("pub fn f(mut a: bool) { assert!({ while !(a) { a = true; } a }); }");
        ok("pub fn f(a: bool) { println!(\"{}\", match !(a) { true => 1, false => 2 }); }");
        ok("pub fn f(a: bool) -> u8 { dbg!(loop { break !(a) as u8; }) }");
        ok("pub fn f(a: u8, b: u8) { assert!(a != b); assert!(a!=b, \"{}\", !a); }");
        ok("pub fn f(v: &[bool]) { assert!({ let mut n = 0; for x in v { if !*x { n += 1; } } n > 0 }); }");
        ok("pub fn f(a: &mut bool) { dbg!(|| !*a); }");
    }

    #[test]
    fn macro_rules_and_other_macros_are_refused() {
        refused_at(
            "macro_rules! m { ($a:meta) => { #[$a] pub fn f() {} } }\nm!(no_mangle);",
            "1:1",
            "`macro_rules!` is not allowed",
        );
        refused(
            "macro_rules! m { ($a:meta, $n:ident) => { #[$a] mod $n; } }\nm!(path = \"x\", s);",
            "`macro_rules!`",
        );
        refused(
            "pub fn f() { macro_rules! inc { () => { include!(\"x\") } } }",
            "`macro_rules!`",
        );
        refused("nix::ioctl_read!(get, b'x', 1, u32);", "`ioctl_read!`");
        refused("pub fn f() { insta::assert_snapshot!(\"x\"); }", "`assert_snapshot!`");
        refused("pub fn f() -> &'static str { module_path!() }", "`module_path!`");
        refused("std::arch::global_asm!(\"nop\");", "`global_asm!`");
        refused("pub fn f() { unsafe { core::arch::asm!(\"nop\") } }", "`asm!`");
        refused(
            "pub extern \"C\" fn f() { core::arch::naked_asm!(\"ret\") }",
            "`naked_asm!`",
        );
        let why = refused("pub fn f() { nix::ioctl_none!(x, 1, 2); }", "standard macros");
        assert!(why.contains("`vec!`"), "{why}");
    }

    #[test]
    fn renaming_macros_is_caught() {
        refused_at(
            "use std::include as inc;\npub fn f() { inc!(\"x\"); }",
            "2:14",
            "`inc!`",
        );
        refused("use std::include_str as println;", "`as println`");
        refused("use std::{include_str as r#vec};", "`as vec`");
        refused("mod m { pub use std::include as format; }", "`as format`");
        refused("pub fn f() { use std::env as todo; }", "`as todo`");
        ok("use std::println as _p;\nuse std::io::Write as _;");
    }

    #[test]
    fn refused_attributes_say_why() {
        refused(
            "#[path = \"/work/solutions/lab02.rs\"]\nmod s;",
            "`#[path]` is not allowed in a lab file: it makes a module come from another file",
        );
        refused("#[no_mangle]\npub extern \"C\" fn write() {}", "replaces a symbol");
        refused("#[export_name = \"main\"]\nfn x() {}", "`#[export_name]`");
        refused("#[link_section = \".init_array\"]\nstatic C: u8 = 0;", "before main");
        refused("#[used]\nstatic C: u8 = 0;", "`#[used]`");
        refused("#[link(name = \"c\")]\npub fn f() {}", "`#[link]`");
        refused("pub struct S { #[link_name = \"x\"] a: u8 }", "`#[link_name]`");
        refused("#[link_ordinal(1)]\npub fn f() {}", "`#[link_ordinal]`");
        refused(
            "#[global_allocator]\nstatic A: std::alloc::System = std::alloc::System;",
            "allocator",
        );
        refused(
            "#[debugger_visualizer(gdb_script_file = \"../solutions/x.py\")]\nmod m {}",
            "another file",
        );
        refused(
            "#[macro_export]\npub fn f() {}",
            "`#[macro_export]` is not allowed in a lab file: it is not an attribute a lab needs",
        );
        refused("#![no_implicit_prelude]", "`#[no_implicit_prelude]`");
        refused("#[proc_macro]\npub fn f() {}", "`#[proc_macro]`");
        refused("#[::clippy::all]\npub fn f() {}", "`#[::clippy::all]`");
        refused("#[tokio::main]\npub fn f() {}", "`#[tokio::main]`");
        refused("#[derive(Serialize)]\npub struct S;", "`#[derive(Serialize)]`");
        refused(
            "#[derive(Debug, serde::Serialize)]\npub struct S;",
            "`#[derive(serde::Serialize)]`",
        );
        refused("#[derive(my::Debug)]\npub struct S;", "`#[derive(my::Debug)]`");
    }

    #[test]
    fn unsafe_attributes_name_what_they_wrap() {
        refused(
            "#[unsafe(no_mangle)]\npub extern \"C\" fn write() {}",
            "`#[unsafe(no_mangle)]` is not allowed in a lab file: it replaces a symbol",
        );
        refused(
            "#[used]\n#[unsafe(link_section = \".init_array\")]\nstatic C: extern \"C\" fn() = f;",
            "`#[used]`",
        );
        refused_at(
            "#[allow(unused)]\n#[unsafe(link_section = \".init_array\")]\nstatic C: extern \"C\" fn() = f;",
            "2:1",
            "`#[unsafe(link_section)]`",
        );
        refused(
            "#[unsafe(export_name = \"main\")]\nfn x() {}",
            "`#[unsafe(export_name)]`",
        );
        refused("#[unsafe(inline)]\nfn x() {}", "`#[unsafe(inline)]`");
        refused("#[unsafe]\nfn x() {}", "`#[unsafe(...)]`");
    }

    #[test]
    fn attributes_inside_cfg_attr_are_checked() {
        refused("#[cfg_attr(all(), path = \"x.rs\")]\nmod s {}", "`#[path]`");
        refused(
            "#[cfg_attr(unix, allow(unused), unsafe(no_mangle))]\npub fn f() {}",
            "no_mangle",
        );
        refused(
            "#[cfg_attr(not(test), cfg_attr(all(), link_section = \".init_array\"))]\nstatic X: u8 = 0;",
            "`#[link_section]`",
        );
        refused("#[cfg_attr(true, used)]\nstatic X: u8 = 0;", "`#[used]`");
        refused("#![cfg_attr(all(), path = \"x\")]", "`#[path]`");
        refused(
            "#[cfg_attr(unix, doc = include_str!(\"x\"))]\npub fn f() {}",
            "`include_str!`",
        );
        refused(
            "#[cfg_attr(unix, derive(Serialize))]\npub struct S;",
            "`#[derive(Serialize)]`",
        );
        refused("#[cfg_attr(unix, #[path])]\npub fn f() {}", "cfg_attr");
        refused_at("#[cfg_attr(all(), path = \"x.rs\")]\nmod s {}", "1:19", "`#[path]`");
        ok("#[cfg_attr(test, derive(Debug), allow(unused))]\n#[cfg_attr(all(unix, not(test)), inline)]\npub fn f() {}");
        ok("#[cfg_attr(true, must_use,)]\npub fn f() -> u8 { 1 }");
    }

    #[test]
    fn values_and_arguments_of_allowed_attributes_are_checked() {
        refused(
            "#[doc = include_str!(\"../solutions/lab02.rs\")]\npub fn f() {}",
            "`include_str!`",
        );
        refused("#![doc = include_str!(\"../solutions/lab02.rs\")]", "`include_str!`");
        refused(
            "#[deprecated(note = include_str!(\"x\"))]\npub fn f() {}",
            "`include_str!`",
        );
        refused("#[doc = concat!(\"a\", env!(\"HOME\"))]\npub fn f() {}", "`env!`");
        ok("#[doc = concat!(\"a\", \"b\")]\npub fn f() {}");
    }

    #[test]
    fn attributes_are_checked_wherever_they_stand() {
        refused("pub fn f() { #[path = \"x\"] mod m {} }", "`#[path]`");
        refused(
            "pub fn f() { #[unsafe(link_section = \".init_array\")] static X: u8 = 0; }",
            "link_section",
        );
        refused("pub fn f() { #![path = \"x\"] }", "`#[path]`");
        refused("pub fn f() { #[path = \"x\"] let _x = 1; }", "`#[path]`");
        refused("pub fn f() -> u8 { #[path = \"x\"] 1 }", "`#[path]`");
        refused("pub fn f() -> u8 { let x = #[no_mangle] 1; x }", "`#[no_mangle]`");
        refused("pub fn f() { #[path = \"x\"] {} }", "`#[path]`");
        refused("pub fn f(#[path = \"x\"] _a: u8) {}", "`#[path]`");
        refused("pub fn f(x: u8) { match x { #[path = \"x\"] _ => {} } }", "`#[path]`");
        refused("pub struct S { #[path = \"x\"] pub a: u8 }", "`#[path]`");
        refused("pub struct T(#[used] u8);", "`#[used]`");
        refused("pub enum E { #[no_mangle] A }", "`#[no_mangle]`");
        refused("pub struct S; impl S { #[no_mangle] pub fn f() {} }", "`#[no_mangle]`");
        refused("pub trait T { #[export_name = \"x\"] fn f() {} }", "`#[export_name]`");
        refused("pub fn f<#[path] T>() {}", "`#[path]`");
        refused("pub fn f() { let _c = |#[path] _a: u8| 1; }", "`#[path]`");
        refused(
            "pub struct S { a: u8 } pub fn f() -> S { S { #[path] a: 1 } }",
            "`#[path]`",
        );
        refused("pub fn f() { let S { #[path] a } = g(); }", "`#[path]`");
        refused("pub struct S; impl S { pub fn f(#[path] self) {} }", "`#[path]`");
        refused("mod m { #![no_mangle] }", "`#[no_mangle]`");
        refused(
            "pub fn f() { for _ in 0..1 { #[used] static X: u8 = 0; } }",
            "`#[used]`",
        );
    }

    #[test]
    fn out_of_line_modules_are_refused() {
        refused(
            "mod other;",
            "`mod other;` is not allowed in a lab file: a lab is one file; write `mod other { ... }`",
        );
        refused("pub mod r#other;", "`mod r#other;`");
        refused("pub fn f() { mod m; }", "`mod m;`");
        refused("mod a { pub(crate) mod b; }", "`mod b;`");
        refused("#[cfg(any())]\nmod hidden;", "`mod hidden;`");
        ok("mod a { mod b {} }");
    }

    #[test]
    fn extern_blocks_and_extern_crate_are_refused() {
        refused_at(
            "unsafe extern \"C\" {\n    fn getpid() -> i32;\n}",
            "1:1",
            "an `extern` block",
        );
        refused("extern \"C\" {}", "an `extern` block");
        refused("extern crate std;", "`extern crate`");
        refused("extern crate libc as c;", "`extern crate`");
        refused("pub fn f() { extern crate std; }", "`extern crate`");
        refused(
            "pub fn f() { unsafe extern \"C\" { safe fn abs(x: i32) -> i32; } }",
            "an `extern` block",
        );
        ok("pub extern \"C\" fn handler(_: i32) {}\npub type Cb = unsafe extern \"C\" fn(i32);");
        ok("pub fn f() { let _ = vec![{ extern \"C\" fn g() {} g as extern \"C\" fn() }]; }");
    }

    #[test]
    fn verbatim_syntax_is_refused() {
        refused("pub macro m() {}", "this item (`pub macro m ...`)");
        refused("macro m { () => {} }", "unstable Rust syntax");
        refused("pub fn f() { let _ = builtin # offset_of(S, a); }", "this expression");
        refused("pub fn f() -> u8 { become g() }", "this expression (`become g ...`)");
        refused(
            "pub fn f(b: Box<u8>) { let box _x = b; }",
            "this pattern (`box _x ...`)",
        );
        refused("static X = 1;", "this item");
        refused("pub fn f();", "this item");
        ok("pub fn f() { ;; let _x = 1;; }");
    }

    #[test]
    fn the_first_refused_construct_in_source_order_is_reported() {
        refused_at("#[no_mangle]\npub fn f() {}\nmod a;", "1:1", "`#[no_mangle]`");
        refused_at("mod a;\n#[no_mangle]\npub fn f() {}", "1:1", "`mod a;`");
        refused_at(
            "pub const A: &str = concat!(env!(\"A\"), include_str!(\"b\"));",
            "1:29",
            "`env!`",
        );
        refused_at(
            "pub fn f() {\n    println!(\"{}\", include_str!(\"x\"));\n}\n#[used]\nstatic X: u8 = 0;",
            "2:20",
            "`include_str!`",
        );
        refused_at(
            "fn a() {}\n\n\n    const X: &[u8] = include_bytes!(\"/etc/passwd\");",
            "4:22",
            "`include_bytes!`",
        );
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_with_the_line() {
        assert_eq!(
            refuse(b"// caf\xe9\nfn f() {}").as_deref(),
            Some("1:7: the file is not UTF-8 (byte 0xE9)")
        );
        assert_eq!(
            refuse(b"pub fn f() {}\n/* \xc3\xa9t\xc3\xa9 */\n// \xff\n").as_deref(),
            Some("3:4: the file is not UTF-8 (byte 0xFF)")
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_refused_with_the_line() {
        refused_at("fn a() {}\nfn b(, ) {}\n", "2:6", "does not parse: ");
        // Tokens that never close are reported where the file ends, with a hint.
        refused_at(
            "fn a() {}\nfn b( {}\n",
            "3:1",
            "does not parse: cannot parse string into token stream (",
        );
        let found = refused("fn a() {}\n\nfn b() {", "does not parse: ");
        assert!(found.starts_with("3:"), "{found}");
        let found = refused("pub fn f() -> u8 { 1 }\npub fn g()", "does not parse: ");
        assert!(found.starts_with("2:"), "{found}");
        refused_at(
            "pub fn f() {}\nconst S: &str = \"unterminated;\n",
            "3:1",
            "never closed",
        );
        refused_at("pub fn f() {}\n}\npub fn g() {}\n", "4:1", "never closed");
    }

    #[test]
    fn a_file_with_more_tokens_than_any_lab_needs_is_refused() {
        let zeros = "0, ".repeat(MAX_TOKENS / 2);
        let found = refused(
            &format!("pub fn f() {{}}\npub static A: &[u8] = &[{zeros}];"),
            "too long to check",
        );
        assert!(found.starts_with("2:"), "{found}");
        ok(&format!(
            "pub static A: &[u8] = &[{}];",
            "0, ".repeat(MAX_TOKENS / 2 - 20)
        ));
    }

    #[test]
    fn deep_nesting_within_the_token_limit_does_not_overflow_the_stack() {
        let n = MAX_TOKENS - 20;
        let bombs = [
            format!("pub fn f(_: {}u8) {{}}", "&".repeat(n)),
            format!("pub fn f() -> u8 {{ {}1{} }}", "(".repeat(n), ")".repeat(n)),
            format!("pub type T = {}u8{};", "Vec<".repeat(n / 3), ">".repeat(n / 3)),
            format!(
                "pub fn f() {{ g::<{}u8{}>(); }}",
                "Vec<".repeat(n / 3),
                ">".repeat(n / 3)
            ),
            format!(
                "pub type T = {}u8{};",
                "Box<dyn Fn() -> ".repeat(n / 8),
                ">".repeat(n / 8)
            ),
            format!("pub fn f() {{ {}1{}; }}", "vec![{".repeat(n / 4), "}]".repeat(n / 4)),
            format!(
                "{}{}",
                "mod m { impl S { fn f() { ".repeat(n / 10),
                "} } }".repeat(n / 10)
            ),
        ];
        for bomb in &bombs {
            // Each is ordinary code that only nests deeper than anyone writes.
            assert_eq!(refuse(bomb.as_bytes()), None, "{bomb:.60}");
        }
    }

    #[test]
    fn many_files_in_one_thread_keep_their_positions() {
        for _ in 0..3 {
            refused_at("pub fn f() {}\n#[used]\nstatic X: u8 = 0;", "2:1", "`#[used]`");
            ok("pub fn g() {}");
        }
    }
}
