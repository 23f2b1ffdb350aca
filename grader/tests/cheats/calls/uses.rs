//! What one fn body of a suite uses: lab items, and the suite's own fns with the values
//! it passes them. Variables that hold a lab type are followed from where they are bound.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit::{self, Visit};
use syn::{Expr, Pat, Type};

use super::names::{Names, type_name};
use super::{LocalFn, Values, path_value};

/// What one fn body uses, given the values its parameters hold.
pub struct Uses<'n> {
    pub names: &'n Names,
    pub fns: &'n BTreeMap<String, LocalFn<'n>>,
    pub values: Values,
    /// Every variable the body binds: such a name is no fn (`release` the case, not the helper).
    pub vars: BTreeSet<String>,
    /// Local variables that hold a lab type: (variable, type).
    pub bound: BTreeSet<(String, String)>,
    /// Lab items called (or named as values).
    pub labs: BTreeSet<String>,
    /// The suite's own fns and methods it may call, each with the values it passes.
    pub calls: Vec<(String, Values)>,
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
    pub fn bind_typed(&mut self, pat: &Pat, ty: &Type) {
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
pub fn idents(pat: &Pat) -> BTreeSet<String> {
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
