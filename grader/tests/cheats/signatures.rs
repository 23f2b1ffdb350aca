//! The labs' functions, read with syn from `labs/*.rs`, and the constant bodies their
//! signatures allow (issue 24, part 4): `Ok(())`, `Ok(0)` or `Ok(Default::default())`
//! as the type allows, `Err(errno)` for each errno the lab's tests or solution name, and
//! a body that does nothing and hands back its input (a parameter of the result's type,
//! or a tuple of them). A body that takes `self` by value forgets it, so that no drop
//! does the work behind the constant's back.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use quote::ToTokens;
use syn::visit::Visit;
use syn::{FnArg, GenericArgument, ImplItem, Item, PathArguments, ReturnType, Signature, Type, Visibility};

/// One pub function of a lab: `name` or `Type::name` for a method.
#[derive(Clone)]
pub struct LabFn {
    pub name: String,
    /// The method's type, for a method.
    pub owner: Option<String>,
    pub sig: Signature,
}

/// One constant body for one function: `label` says it (`Ok(0)`, `Err(EINVAL)`).
#[derive(Clone, Debug)]
pub struct Constant {
    pub label: String,
    pub body: String,
}

/// Every pub function and pub method (of an inherent impl) in `source`.
pub fn lab_fns(source: &str) -> Result<Vec<LabFn>> {
    let file = syn::parse_file(source).context("the lab file does not parse")?;
    let mut fns = Vec::new();
    for item in &file.items {
        match item {
            Item::Fn(f) if matches!(f.vis, Visibility::Public(_)) => fns.push(LabFn {
                name: f.sig.ident.to_string(),
                owner: None,
                sig: f.sig.clone(),
            }),
            Item::Impl(imp) if imp.trait_.is_none() => {
                let owner = imp.self_ty.to_token_stream().to_string();
                for item in &imp.items {
                    if let ImplItem::Fn(f) = item
                        && matches!(f.vis, Visibility::Public(_))
                    {
                        fns.push(LabFn {
                            name: format!("{owner}::{}", f.sig.ident),
                            owner: Some(owner.clone()),
                            sig: f.sig.clone(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(fns)
}

/// Every `Errno::NAME` named in `source` (a lab's tests or solution).
pub fn errnos(source: &str) -> Result<BTreeSet<String>> {
    struct Names(BTreeSet<String>);
    impl Visit<'_> for Names {
        fn visit_path(&mut self, path: &syn::Path) {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            if let [.., errno, name] = segments.as_slice()
                && errno == "Errno"
                && name.starts_with('E')
                && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                self.0.insert(name.clone());
            }
            syn::visit::visit_path(self, path);
        }
        fn visit_macro(&mut self, mac: &syn::Macro) {
            // Macro arguments are tokens to syn: read them as expressions where they are.
            if let Ok(args) =
                mac.parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
            {
                for arg in &args {
                    self.visit_expr(arg);
                }
            }
        }
    }
    let file = syn::parse_file(source).context("the file does not parse")?;
    let mut names = Names(BTreeSet::new());
    names.visit_file(&file);
    Ok(names.0)
}

/// The constant bodies `f`'s signature allows, and why it has no others.
pub struct Constants {
    pub bodies: Vec<Constant>,
    /// What could not be made, each with its reason (printed with the table).
    pub skipped: Vec<String>,
}

/// The constant bodies `f`'s signature allows, with `errnos` for its `Err`s.
pub fn constants(f: &LabFn, errnos: &BTreeSet<String>) -> Constants {
    let mut skipped = Vec::new();
    let ReturnType::Type(_, ret) = &f.sig.output else {
        skipped.push("returns nothing: no constant to return".to_string());
        return Constants {
            bodies: Vec::new(),
            skipped,
        };
    };
    let params = params(&f.sig);
    let forget = if f
        .sig
        .receiver()
        .is_some_and(|r| matches!(r.kind, syn::ReceiverKind::Value))
    {
        "std::mem::forget(self); "
    } else {
        ""
    };
    let mut values: Vec<(String, String)> = Vec::new();
    let ok = result_ok(ret);
    let (value_ty, wrap): (&Type, fn(&str) -> String) = match ok {
        Some(ok) => (ok, |v| format!("Ok({v})")),
        None => (ret, |v| v.to_string()),
    };
    let found = ok_values(value_ty, &params);
    if found.is_empty() {
        let ty = value_ty.to_token_stream().to_string();
        skipped.push(match ok {
            Some(_) => format!("no Ok constant: `{ty}` has no zero or default, and no parameter is of that type"),
            None => format!("returns `{ty}`, which has no zero or default, and no parameter is of that type"),
        });
    }
    for value in found {
        let label = value.replace(EXITED, "Exited");
        values.push((wrap(&label), wrap(&value)));
    }
    if ok.is_some() {
        for errno in errnos {
            values.push((format!("Err({errno})"), format!("Err(nix::errno::Errno::{errno})")));
        }
        if errnos.is_empty() {
            skipped.push("no Err constant: neither the lab's tests nor its solution name an errno".to_string());
        }
    }
    let mut seen = BTreeSet::new();
    let bodies = values
        .into_iter()
        .filter(|(_, body)| seen.insert(body.clone()))
        .map(|(label, value)| Constant {
            label,
            body: format!("{{ {forget}{value} }}"),
        })
        .collect();
    Constants { bodies, skipped }
}

/// The typed parameters: (name, type as tokens).
fn params(sig: &Signature) -> Vec<(String, String)> {
    sig.inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => match &*t.pat {
                syn::Pat::Ident(id) => Some((id.ident.to_string(), t.ty.to_token_stream().to_string())),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect()
}

/// `T` of a `Result<T>` or `nix::Result<T>` (the last segment is `Result`).
fn result_ok(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// The values of type `ty` a constant body can give: zero or the default where the
/// type has one, and the input handed back where a parameter (or a tuple of them) has it.
fn ok_values(ty: &Type, params: &[(String, String)]) -> Vec<String> {
    let mut values = Vec::new();
    if let Type::Tuple(t) = ty
        && t.elems.is_empty()
    {
        values.push("()".to_string());
    } else if is_integer(ty) {
        values.push("0".to_string());
    } else if matches!(ty, Type::Path(p) if p.path.is_ident("bool")) {
        values.extend(["false".to_string(), "true".to_string()]);
    } else if has_default(ty) {
        values.push("Default::default()".to_string());
    }
    values.extend(handed_back(ty, params));
    values.extend(exited(ty, params));
    values
}

/// What a waiter that waits for nothing says: the child it was given exited with 0.
const EXITED: &str = "nix::sys::wait::WaitStatus::Exited";

/// `Exited(pid, 0)` for a `WaitStatus` of a function given a `Pid`: its input handed back.
fn exited(ty: &Type, params: &[(String, String)]) -> Option<String> {
    let Type::Path(p) = ty else { return None };
    let pid = params.iter().find(|(_, t)| t == "Pid")?;
    p.path
        .segments
        .last()
        .is_some_and(|s| s.ident == "WaitStatus")
        .then(|| format!("{EXITED}({}, 0)", pid.0))
}

fn is_integer(ty: &Type) -> bool {
    const INTEGERS: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
    ];
    matches!(ty, Type::Path(p) if p.path.get_ident().is_some_and(|i| INTEGERS.contains(&i.to_string().as_str())))
}

/// Whether `ty` has a `Default`, as far as its spelling tells (no type checking here).
fn has_default(ty: &Type) -> bool {
    match ty {
        Type::Tuple(t) => t.elems.iter().all(has_default),
        Type::Reference(r) => matches!(&*r.elem, Type::Slice(_)) || (r.mutability.is_none() && is_str(&r.elem)),
        Type::Path(p) => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            is_integer(ty) || ["bool", "Option", "Vec", "String"].contains(&last.ident.to_string().as_str())
        }
        _ => false,
    }
}

fn is_str(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.is_ident("str"))
}

/// The input handed back as `ty`: a parameter of that type, or a tuple of parameters.
fn handed_back(ty: &Type, params: &[(String, String)]) -> Vec<String> {
    let same = |want: &str| params.iter().find(|(_, t)| t == want).map(|(n, _)| n.clone());
    if let Type::Tuple(t) = ty {
        if t.elems.is_empty() {
            return Vec::new();
        }
        let mut used: Vec<&str> = Vec::new();
        for elem in &t.elems {
            let want = elem.to_token_stream().to_string();
            match params.iter().find(|(n, t)| *t == want && !used.contains(&n.as_str())) {
                Some((n, _)) => used.push(n),
                None => return Vec::new(),
            }
        }
        return vec![format!("({})", used.join(", "))];
    }
    if let Type::Array(a) = ty {
        // `[(addr, len); 2]`: the input handed back in every element.
        let len = a.len.to_token_stream().to_string();
        return handed_back(&a.elem, params)
            .into_iter()
            .map(|v| format!("[{v}; {len}]"))
            .collect();
    }
    same(&ty.to_token_stream().to_string()).into_iter().collect()
}

/// `source` with the body of `f` (found again by name in `source`) replaced by `body`.
pub fn replace_body(source: &str, f: &LabFn, body: &str) -> Result<String> {
    let file = syn::parse_file(source).context("the file does not parse")?;
    let block = file
        .items
        .iter()
        .find_map(|item| match (item, &f.owner) {
            (Item::Fn(g), None) if g.sig.ident == f.sig.ident => Some(&*g.block),
            (Item::Impl(imp), Some(owner))
                if imp.trait_.is_none() && imp.self_ty.to_token_stream().to_string() == *owner =>
            {
                imp.items.iter().find_map(|item| match item {
                    ImplItem::Fn(g) if g.sig.ident == f.sig.ident => Some(&g.block),
                    _ => None,
                })
            }
            _ => None,
        })
        .with_context(|| format!("no `{}` in the file", f.name))?;
    let (open, close) = (
        block.brace_token.span.open().start(),
        block.brace_token.span.close().end(),
    );
    let (from, to) = (offset(source, open), offset(source, close));
    Ok(format!("{}{body}{}", &source[..from], &source[to..]))
}

/// The byte offset of a span position (1-based line, column in characters).
fn offset(source: &str, at: proc_macro2::LineColumn) -> usize {
    let line_start: usize = source.split_inclusive('\n').take(at.line - 1).map(str::len).sum();
    let line = &source[line_start..];
    line_start + line.char_indices().nth(at.column).map_or(line.len(), |(i, _)| i)
}

/// The functions of `labs/LAB.rs`.
pub fn of_lab(root: &Path, lab: &str) -> Result<Vec<LabFn>> {
    let path = root.join("labs").join(format!("{lab}.rs"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    lab_fns(&text).with_context(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(src: &str, errnos: &[&str]) -> Vec<(String, Vec<String>)> {
        let errnos = errnos.iter().map(|e| e.to_string()).collect();
        lab_fns(src)
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    constants(f, &errnos).bodies.into_iter().map(|c| c.body).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn constants_follow_the_signature() {
        let src = "pub fn a(x: u8) -> nix::Result<()> { todo!() }\n\
                   pub unsafe fn b(addr: NonNull<u8>, len: usize, n: usize) -> nix::Result<(NonNull<u8>, usize)> { todo!() }\n\
                   pub unsafe fn c(addr: NonNull<u8>, len: usize) -> nix::Result<[(NonNull<u8>, usize); 2]> { todo!() }\n\
                   pub fn w(pid: Pid) -> nix::Result<WaitStatus> { todo!() }\n\
                   fn private() -> u8 { 1 }\n\
                   pub struct M;\n\
                   impl M { pub fn len(&self) -> usize { 1 } pub fn is_empty(&self) -> bool { false } pub fn unmap(self) -> nix::Result<()> { Ok(()) } pub fn p(&self) -> NonNull<u8> { todo!() } }\n\
                   impl Drop for M { fn drop(&mut self) {} }\n";
        let got = labels(src, &["EINVAL"]);
        let want = |name: &str, bodies: &[&str]| {
            (
                name.to_string(),
                bodies.iter().map(|b| b.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            got,
            vec![
                want("a", &["{ Ok(()) }", "{ Err(nix::errno::Errno::EINVAL) }"]),
                want("b", &["{ Ok((addr, len)) }", "{ Err(nix::errno::Errno::EINVAL) }"]),
                want("c", &["{ Ok([(addr, len); 2]) }", "{ Err(nix::errno::Errno::EINVAL) }"]),
                want(
                    "w",
                    &[
                        "{ Ok(nix::sys::wait::WaitStatus::Exited(pid, 0)) }",
                        "{ Err(nix::errno::Errno::EINVAL) }"
                    ]
                ),
                want("M::len", &["{ 0 }"]),
                want("M::is_empty", &["{ false }", "{ true }"]),
                want(
                    "M::unmap",
                    &[
                        "{ std::mem::forget(self); Ok(()) }",
                        "{ std::mem::forget(self); Err(nix::errno::Errno::EINVAL) }"
                    ]
                ),
                want("M::p", &[]),
            ]
        );
    }

    #[test]
    fn what_cannot_be_made_says_why() {
        let src =
            "pub fn p(len: usize) -> nix::Result<NonNull<u8>> { todo!() }\npub fn q() -> nix::Result<()> { Ok(()) }\n";
        let fns = lab_fns(src).unwrap();
        let none = BTreeSet::new();
        let p = constants(&fns[0], &none);
        assert!(p.bodies.is_empty());
        assert_eq!(p.skipped.len(), 2, "{:?}", p.skipped);
        assert!(
            p.skipped[0].contains("`NonNull < u8 >` has no zero or default"),
            "{:?}",
            p.skipped
        );
        assert_eq!(constants(&fns[1], &none).bodies.len(), 1);
    }

    #[test]
    fn a_body_is_replaced_where_it_is() {
        let src = "pub fn a() -> u8 {\n    1\n}\nimpl M {\n    pub fn a(&self) -> u8 { 2 }\n}\n";
        let fns = lab_fns(src).unwrap();
        assert_eq!(
            replace_body(src, &fns[0], "{ 0 }").unwrap(),
            "pub fn a() -> u8 { 0 }\nimpl M {\n    pub fn a(&self) -> u8 { 2 }\n}\n"
        );
        assert_eq!(
            replace_body(src, &fns[1], "{ 9 }").unwrap(),
            "pub fn a() -> u8 {\n    1\n}\nimpl M {\n    pub fn a(&self) -> u8 { 9 }\n}\n"
        );
    }

    #[test]
    fn errnos_are_found_in_code_and_macros() {
        let src =
            "fn t() { assert_eq!(f(), Err(Errno::EINVAL)); let _ = nix::errno::Errno::ENOMEM; let _ = Errno::last(); }";
        assert_eq!(
            errnos(src).unwrap(),
            BTreeSet::from(["EINVAL".to_string(), "ENOMEM".to_string()])
        );
    }
}
