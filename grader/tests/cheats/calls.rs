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

mod names;
mod uses;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use quote::ToTokens;
use syn::visit::Visit;
use syn::{Expr, ImplItem, Item, Pat, Type};

use names::{Names, type_name};
use uses::{Uses, idents};

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
