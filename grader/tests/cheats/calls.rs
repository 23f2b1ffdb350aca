//! Which lab functions each test of `tests/LAB.rs` calls, read with syn: a constant
//! body can only be judged by the tests that reach it, directly or through the suite's
//! own helpers (a helper fn, a method of a type the suite defines).
//!
//! A lab item is what the suite imports from `munmap_lab::LAB` (or names by that path).
//! A method call `x.len()` is a lab method only where `x` is known to hold the lab type
//! (bound from `Type::constructor(..)`, typed as it, or such a call unwrapped): `len`,
//! `as_ptr` and `is_empty` are also std's, and a test that only calls those is no test
//! of the lab's. Macro arguments are read as expressions where they parse as such.
//!
//! An rstest case binds its `#[case]` parameters to its arguments where they are paths
//! (`Release::Drop`), and a `match` on such a value walks only the arms that can take it,
//! through the suite's helpers too: the `by_drop` case of a test that matches on how it
//! releases a `Mapping` does not call `Mapping::unmap`, and must not be counted as if it did.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit::{self, Visit};
use syn::{Expr, ImplItem, Item, Pat, Type, UseTree};

/// The lab functions (of `lab_fns`, named as [`super::signatures::LabFn::name`] names
/// them) that each graded test reaches; `tests` are rubric names (`fn` or `fn::case`).
pub fn of_tests(
    source: &str,
    lab: &str,
    tests: &[String],
    lab_fns: &BTreeSet<String>,
) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let file = syn::parse_file(source).context("the suite does not parse")?;
    let names = Names::of(&file, lab);
    let fns = local_fns(&file);
    let mut walk = Walk {
        names: &names,
        fns: &fns,
        memo: BTreeMap::new(),
        stack: Vec::new(),
    };
    let mut reached = BTreeMap::new();
    for test in tests {
        let (name, case) = match test.split_once("::") {
            Some((name, case)) => (name, Some(case)),
            None => (test.as_str(), None),
        };
        let local = fns
            .get(name)
            .with_context(|| format!("the rubric's `{test}` is no fn of the suite"))?;
        let values = match case {
            Some(case) => local
                .case_values(case)
                .with_context(|| format!("`{test}`: no such #[case]"))?,
            None => Values::new(),
        };
        let mut labs = walk.reach(name, values);
        labs.retain(|f| lab_fns.contains(f));
        reached.insert(test.clone(), labs);
    }
    Ok(reached)
}

/// Known values of variables: a name to the tokens of the path it holds (`Release :: Drop`).
type Values = BTreeMap<String, String>;

/// One fn of the suite: its body, its typed parameters, and its attributes (the cases).
struct LocalFn<'a> {
    block: &'a syn::Block,
    params: Vec<(&'a Pat, &'a Type)>,
    /// The `#[case]` parameters' names, in order.
    case_params: Vec<Option<String>>,
    attrs: &'a [syn::Attribute],
}

impl LocalFn<'_> {
    /// The values `#[case::NAME(args)]` gives the case parameters (those that are paths).
    fn case_values(&self, case: &str) -> Option<Values> {
        let attr = self.attrs.iter().find(|a| {
            let segments: Vec<String> = a.path().segments.iter().map(|s| s.ident.to_string()).collect();
            segments.len() == 2 && segments[0] == "case" && segments[1] == case
        })?;
        let args = attr
            .parse_args_with(syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated)
            .ok()?;
        let mut values = Values::new();
        for (param, arg) in self.case_params.iter().zip(&args) {
            if let (Some(param), Some(value)) = (param, path_value(arg)) {
                values.insert(param.clone(), value);
            }
        }
        Some(values)
    }
}

/// The tokens of a path of two segments or more (an enum variant, a constant), if `expr` is one.
fn path_value(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) if p.path.segments.len() > 1 => Some(p.path.to_token_stream().to_string()),
        _ => None,
    }
}

/// The walk over the suite's fns, each with the values it was called with.
struct Walk<'a> {
    names: &'a Names,
    fns: &'a BTreeMap<String, LocalFn<'a>>,
    memo: BTreeMap<(String, Values), BTreeSet<String>>,
    stack: Vec<(String, Values)>,
}

impl Walk<'_> {
    /// The lab items `name` reaches when its parameters hold `values`.
    fn reach(&mut self, name: &str, values: Values) -> BTreeSet<String> {
        let key = (name.to_string(), values);
        if let Some(done) = self.memo.get(&key) {
            return done.clone();
        }
        // A recursive call reaches nothing the outer walk does not already see.
        let Some(local) = self.fns.get(name).filter(|_| !self.stack.contains(&key)) else {
            return BTreeSet::new();
        };
        let mut uses = Uses {
            names: self.names,
            fns: self.fns,
            values: key.1.clone(),
            vars: BTreeSet::new(),
            bound: BTreeSet::new(),
            labs: BTreeSet::new(),
            calls: Vec::new(),
        };
        for (pat, ty) in &local.params {
            uses.bind_typed(pat, ty);
            uses.vars.extend(idents(pat));
        }
        uses.visit_block(local.block);
        self.stack.push(key.clone());
        let mut labs = uses.labs;
        for (callee, values) in uses.calls {
            labs.extend(self.reach(&callee, values));
        }
        self.stack.pop();
        self.memo.insert(key, labs.clone());
        labs
    }
}

/// What a name in the suite can stand for.
struct Names {
    /// Local name to the lab item it imports (`release` to `release`, `Mapping` to `Mapping`).
    imports: BTreeMap<String, String>,
    lab: String,
    /// The suite's own free fns.
    fns: BTreeSet<String>,
    /// The suite's own types, each with its methods (inherent and trait impls).
    types: BTreeMap<String, BTreeSet<String>>,
}

impl Names {
    fn of(file: &syn::File, lab: &str) -> Names {
        let mut names = Names {
            imports: BTreeMap::new(),
            lab: lab.to_string(),
            fns: BTreeSet::new(),
            types: BTreeMap::new(),
        };
        for item in &file.items {
            match item {
                Item::Use(u) => names.imports_of(&u.tree, &mut Vec::new()),
                Item::Fn(f) => {
                    names.fns.insert(f.sig.ident.to_string());
                }
                Item::Impl(imp) => {
                    if let Some(owner) = type_name(&imp.self_ty) {
                        let methods = names.types.entry(owner).or_default();
                        for item in &imp.items {
                            if let ImplItem::Fn(f) = item {
                                methods.insert(f.sig.ident.to_string());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        names
    }

    /// The names a `use` brings in from `munmap_lab::LAB`.
    fn imports_of(&mut self, tree: &UseTree, prefix: &mut Vec<String>) {
        let from_lab = |prefix: &[String]| prefix.len() == 2 && prefix[0] == "munmap_lab" && prefix[1] == self.lab;
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.imports_of(&p.tree, prefix);
                prefix.pop();
            }
            UseTree::Name(n) if from_lab(prefix) => {
                self.imports.insert(n.ident.to_string(), n.ident.to_string());
            }
            UseTree::Rename(r) if from_lab(prefix) => {
                self.imports.insert(r.rename.to_string(), r.ident.to_string());
            }
            UseTree::Group(g) => {
                for tree in &g.items {
                    self.imports_of(tree, prefix);
                }
            }
            _ => {}
        }
    }

    /// The lab item a path names: `f`, `Type` or `Type::f` (by the lab's spelling).
    fn lab_item(&self, path: &syn::Path) -> Option<String> {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let local = |name: &String| self.imports.get(name).cloned();
        match segments.as_slice() {
            [one] => local(one),
            [.., lab, item] if *lab == self.lab => Some(item.clone()),
            [.., owner, item] => {
                let by_path = segments.contains(&self.lab);
                let owner = local(owner).or_else(|| by_path.then(|| owner.clone()))?;
                Some(format!("{owner}::{item}"))
            }
            [] => None,
        }
    }

    fn is_lab_type(&self, name: &str) -> bool {
        self.imports.values().any(|item| item == name) && name.starts_with(|c: char| c.is_ascii_uppercase())
    }
}

/// The last segment of a type's path (`SharedDirty`, `Mapping`).
fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        _ => None,
    }
}

/// Every fn of the suite, by `name` (or `Type::name` for a method of its own types).
fn local_fns(file: &syn::File) -> BTreeMap<String, LocalFn<'_>> {
    fn local<'a>(sig: &'a syn::Signature, block: &'a syn::Block, attrs: &'a [syn::Attribute]) -> LocalFn<'a> {
        let case_params = sig
            .inputs
            .iter()
            .filter_map(|arg| match arg {
                syn::FnArg::Typed(t) if t.attrs.iter().any(|a| a.path().is_ident("case")) => Some(match &*t.pat {
                    Pat::Ident(id) => Some(id.ident.to_string()),
                    _ => None,
                }),
                _ => None,
            })
            .collect();
        LocalFn {
            block,
            params: typed(sig),
            case_params,
            attrs,
        }
    }
    let mut fns = BTreeMap::new();
    for item in &file.items {
        match item {
            Item::Fn(f) => {
                fns.insert(f.sig.ident.to_string(), local(&f.sig, &f.block, &f.attrs[..]));
            }
            Item::Impl(imp) => {
                let Some(owner) = type_name(&imp.self_ty) else { continue };
                for item in &imp.items {
                    if let ImplItem::Fn(f) = item {
                        fns.insert(
                            format!("{owner}::{}", f.sig.ident),
                            local(&f.sig, &f.block, &f.attrs[..]),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    fns
}

/// The typed parameters of `sig`: (pattern, type).
fn typed(sig: &syn::Signature) -> Vec<(&Pat, &Type)> {
    sig.inputs
        .iter()
        .filter_map(|arg| match arg {
            syn::FnArg::Typed(t) => Some((&*t.pat, &*t.ty)),
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// What one fn body uses, given the values its parameters hold.
struct Uses<'n> {
    names: &'n Names,
    fns: &'n BTreeMap<String, LocalFn<'n>>,
    values: Values,
    /// Every variable the body binds: such a name is no fn (`release` the case, not the helper).
    vars: BTreeSet<String>,
    /// Local variables that hold a lab type: (variable, type).
    bound: BTreeSet<(String, String)>,
    /// Lab items called (or named as values).
    labs: BTreeSet<String>,
    /// The suite's own fns and methods it may call, each with the values it passes.
    calls: Vec<(String, Values)>,
}

impl Uses<'_> {
    /// The known value of `expr`: a path literal, or a variable holding one.
    fn value_of(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Path(p) => match p.path.get_ident() {
                Some(id) => self.values.get(&id.to_string()).cloned(),
                None => path_value(expr),
            },
            Expr::Paren(p) => self.value_of(&p.expr),
            _ => None,
        }
    }

    /// Whether an arm's pattern may take `value`, and whether it surely does.
    fn arm_takes(pat: &Pat, value: &str) -> (bool, bool) {
        match pat {
            Pat::Wild(_) => (true, true),
            Pat::Ident(id) if id.subpat.is_none() => (true, true),
            Pat::Path(p) => {
                let same = p.path.to_token_stream().to_string() == value;
                (same, same)
            }
            Pat::Or(or) => or
                .cases
                .iter()
                .map(|c| Self::arm_takes(c, value))
                .fold((false, false), |a, b| (a.0 || b.0, a.1 || b.1)),
            Pat::Paren(p) => Self::arm_takes(&p.pat, value),
            // A guard may refuse what its pattern takes.
            Pat::Guard(g) => (Self::arm_takes(&g.pat, value).0, false),
            // A struct or tuple pattern of a variant: the variant's path decides when it differs.
            Pat::TupleStruct(t) if t.path.to_token_stream().to_string() != value => (false, false),
            Pat::Struct(t) if t.path.to_token_stream().to_string() != value => (false, false),
            _ => (true, false),
        }
    }

    /// Binds `pat` when `ty` is a lab type (`m: Mapping`, `m: &mut Mapping`).
    fn bind_typed(&mut self, pat: &Pat, ty: &Type) {
        if let (Pat::Ident(id), Some(name)) = (pat, type_name(ty))
            && self.names.is_lab_type(&name)
        {
            self.bound.insert((id.ident.to_string(), name));
        }
    }

    /// The lab type `expr` holds, as far as its spelling shows.
    fn lab_type_of(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Path(p) => {
                let name = p.path.get_ident()?.to_string();
                self.bound
                    .iter()
                    .find(|(var, _)| *var == name)
                    .map(|(_, ty)| ty.clone())
            }
            Expr::Call(call) => {
                let Expr::Path(func) = &*call.func else { return None };
                let item = self.names.lab_item(&func.path)?;
                let (owner, _) = item.split_once("::")?;
                self.names.is_lab_type(owner).then(|| owner.to_string())
            }
            Expr::MethodCall(m) if ["expect", "unwrap", "unwrap_or_else"].contains(&m.method.to_string().as_str()) => {
                self.lab_type_of(&m.receiver)
            }
            Expr::Try(t) => self.lab_type_of(&t.expr),
            Expr::Paren(p) => self.lab_type_of(&p.expr),
            Expr::Reference(r) => self.lab_type_of(&r.expr),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.lab_type_of(&u.expr),
            Expr::Unsafe(u) => last_expr(&u.block).and_then(|e| self.lab_type_of(e)),
            Expr::Block(b) => last_expr(&b.block).and_then(|e| self.lab_type_of(e)),
            _ => None,
        }
    }
}

/// The names a pattern binds.
fn idents(pat: &Pat) -> BTreeSet<String> {
    struct Idents(BTreeSet<String>);
    impl Visit<'_> for Idents {
        fn visit_pat_ident(&mut self, id: &syn::PatIdent) {
            self.0.insert(id.ident.to_string());
            visit::visit_pat_ident(self, id);
        }
    }
    let mut found = Idents(BTreeSet::new());
    found.visit_pat(pat);
    found.0
}

fn last_expr(block: &syn::Block) -> Option<&Expr> {
    match block.stmts.last()? {
        syn::Stmt::Expr(e, None) => Some(e),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        // The initialiser first: `let m = m.unmap()` does not bind the new `m` to its type.
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
        }
        let (pat, ty) = match &local.pat {
            Pat::Type(t) => (&*t.pat, type_name(&t.ty)),
            pat => (pat, None),
        };
        for name in idents(pat) {
            // A new binding hides whatever the name held.
            self.values.remove(&name);
            self.vars.insert(name);
        }
        let held = ty
            .filter(|t| self.names.is_lab_type(t))
            .or_else(|| local.init.as_ref().and_then(|init| self.lab_type_of(&init.expr)));
        if let (Pat::Ident(id), Some(held)) = (pat, held) {
            self.bound.insert((id.ident.to_string(), held));
        }
    }

    fn visit_expr_closure(&mut self, closure: &'ast syn::ExprClosure) {
        for input in &closure.inputs {
            self.vars.extend(idents(input));
            if let Pat::Type(t) = input {
                self.bind_typed(&t.pat, &t.ty);
            }
        }
        visit::visit_expr_closure(self, closure);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let names = self.names;
        if path.get_ident().is_some_and(|id| self.vars.contains(&id.to_string())) {
            return;
        }
        if let Some(item) = names.lab_item(path)
            && !names.is_lab_type(&item)
        {
            self.labs.insert(item);
        }
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let [one] = segments.as_slice()
            && names.fns.contains(one)
        {
            // Named as a value (a fn pointer): its parameters' values are unknown.
            self.calls.push((one.clone(), Values::new()));
        }
        // A type of the suite's own reaches every method it has (a Drop, a Display included).
        for segment in &segments {
            if let Some(methods) = names.types.get(segment) {
                self.calls
                    .extend(methods.iter().map(|m| (format!("{segment}::{m}"), Values::new())));
            }
        }
        visit::visit_path(self, path);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        let callee = match &*call.func {
            Expr::Path(p) => p
                .path
                .get_ident()
                .map(|i| i.to_string())
                .filter(|n| self.names.fns.contains(n)),
            _ => None,
        };
        let Some(callee) = callee else {
            return visit::visit_expr_call(self, call);
        };
        // A call of the suite's own fn passes on what it knows of its arguments.
        let mut values = Values::new();
        if let Some(local) = self.fns.get(&callee) {
            for ((pat, _), arg) in local.params.iter().zip(&call.args) {
                if let (Pat::Ident(id), Some(value)) = (pat, self.value_of(arg)) {
                    values.insert(id.ident.to_string(), value);
                }
            }
        }
        self.calls.push((callee, values));
        for arg in &call.args {
            self.visit_expr(arg);
        }
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        let Some(value) = self.value_of(&m.expr) else {
            return visit::visit_expr_match(self, m);
        };
        self.visit_expr(&m.expr);
        for arm in &m.arms {
            let (may, surely) = Self::arm_takes(&arm.pat, &value);
            if may {
                self.visit_arm(arm);
            }
            if surely {
                break;
            }
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let method = call.method.to_string();
        if let Some(owner) = self.lab_type_of(&call.receiver) {
            self.labs.insert(format!("{owner}::{method}"));
        }
        for (owner, methods) in &self.names.types {
            if methods.contains(&method) {
                self.calls.push((format!("{owner}::{method}"), Values::new()));
            }
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        for expr in macro_args(&mac.tokens) {
            self.visit_expr(&expr);
        }
    }
}

/// The arguments of a macro call that parse as expressions, each on its own: a
/// `matches!` pattern does not hide the expression before it.
pub fn macro_args(tokens: &TokenStream) -> Vec<Expr> {
    let mut args = Vec::new();
    let mut piece = TokenStream::new();
    let mut flush = |piece: &mut TokenStream| {
        if let Ok(expr) = syn::parse2::<Expr>(std::mem::take(piece)) {
            args.push(expr);
        }
    };
    for token in tokens.clone() {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => flush(&mut piece),
            _ => piece.extend([token]),
        }
    }
    flush(&mut piece);
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn calls_are_followed_through_helpers_and_typed_receivers() {
        let src = r#"
            use munmap_lab::lab08::{Mapping, unmap_and_clear as clear};
            struct Guard;
            impl Drop for Guard { fn drop(&mut self) { let _ = clear(&mut None, 1); } }
            fn helper(m: Mapping) { assert_eq!(m.len(), 4); }
            #[test]
            fn uses_a_helper() {
                let m = unsafe { Mapping::from_raw(p, 4) };
                let v = vec![1];
                assert!(!v.is_empty() && matches!(v.len(), 1));
                helper(m);
            }
            #[test]
            fn only_std() { let p = NonNull::dangling(); p.as_ptr(); }
            #[test]
            fn chained() { Mapping::anonymous(4).expect("maps").as_slice(); let _g = Guard; }
        "#;
        let tests = names(&["uses_a_helper", "only_std", "chained"]);
        let fns = set(&[
            "Mapping::from_raw",
            "Mapping::len",
            "Mapping::anonymous",
            "Mapping::as_slice",
            "unmap_and_clear",
        ]);
        let got = of_tests(src, "lab08", &tests, &fns).unwrap();
        assert_eq!(got["uses_a_helper"], set(&["Mapping::from_raw", "Mapping::len"]));
        assert_eq!(got["only_std"], set(&[]));
        assert_eq!(
            got["chained"],
            set(&["Mapping::anonymous", "Mapping::as_slice", "unmap_and_clear"])
        );
    }

    #[test]
    fn a_case_walks_only_the_arms_its_values_take() {
        let src = r#"
            use munmap_lab::lab::{Mapping, spawn, fork_paused};
            enum How { Drop, Unmap, Fork }
            fn release(mapping: Mapping, how: How) {
                match how {
                    How::Drop => drop(mapping),
                    How::Unmap => mapping.unmap().expect("unmaps"),
                    _ => {}
                }
            }
            #[rstest]
            #[case::by_drop(How::Drop, 1)]
            #[case::by_unmap(How::Unmap, 2)]
            #[case::by_fork(How::Fork, 3)]
            fn releases(#[case] how: How, #[case] n: usize) {
                let m = unsafe { Mapping::from_raw(p, n) };
                release(m, how);
                let _ = match how { How::Drop | How::Unmap => spawn(), How::Fork => fork_paused() };
            }
            #[rstest]
            #[case::by_drop(How::Drop)]
            fn named_like_the_helper(#[case] release: How) {
                isolated(|| match release { How::Unmap => spawn(), _ => println!("{release:?}") });
            }
        "#;
        let tests = names(&["releases::by_drop", "releases::by_unmap", "releases::by_fork"]);
        let fns = set(&["Mapping::from_raw", "Mapping::unmap", "spawn", "fork_paused"]);
        let got = of_tests(src, "lab", &tests, &fns).unwrap();
        assert_eq!(got["releases::by_drop"], set(&["Mapping::from_raw", "spawn"]));
        assert_eq!(
            got["releases::by_unmap"],
            set(&["Mapping::from_raw", "Mapping::unmap", "spawn"])
        );
        assert_eq!(got["releases::by_fork"], set(&["Mapping::from_raw", "fork_paused"]));
        let named = of_tests(src, "lab", &names(&["named_like_the_helper::by_drop"]), &fns).unwrap();
        assert_eq!(named["named_like_the_helper::by_drop"], set(&[]));
        assert!(of_tests(src, "lab", &names(&["releases::by_magic"]), &fns).is_err());
    }

    fn names(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }
}
