//! What a name in a suite can stand for: a lab item it imports from `munmap_lab::LAB`,
//! a fn of its own, or a type of its own with its methods.

use std::collections::{BTreeMap, BTreeSet};

use syn::{ImplItem, Item, Type, UseTree};

/// What a name in the suite can stand for.
pub struct Names {
    /// Local name to the lab item it imports (`release` to `release`, `Mapping` to `Mapping`).
    pub imports: BTreeMap<String, String>,
    pub lab: String,
    /// The suite's own free fns.
    pub fns: BTreeSet<String>,
    /// The suite's own types, each with its methods (inherent and trait impls).
    pub types: BTreeMap<String, BTreeSet<String>>,
}

impl Names {
    pub fn of(file: &syn::File, lab: &str) -> Names {
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
    pub fn lab_item(&self, path: &syn::Path) -> Option<String> {
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

    pub fn is_lab_type(&self, name: &str) -> bool {
        self.imports.values().any(|item| item == name) && name.starts_with(|c: char| c.is_ascii_uppercase())
    }
}

/// The last segment of a type's path (`SharedDirty`, `Mapping`).
pub fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        _ => None,
    }
}
