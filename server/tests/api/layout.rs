//! The server's shape, checked from its source: the modules' `use` graph has no cycles, only
//! `routes.rs` files (and the router that assembles them) know about HTTP handlers, and the
//! services and stores speak neither axum nor Leptos.
//!
//! The graph is read from the source text: `use crate::…`, `use super::…` and `use self::…`
//! trees, `crate::…` and `super::…` paths in code, and paths through a module's own child
//! modules. Test modules at the end of a file (`#[cfg(test)] mod tests`) are left out.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// Module path (`tenants::store`, `` for the crate root) → its file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    files
        .into_iter()
        .map(|file| {
            let relative = file
                .strip_prefix(src)
                .expect("under src")
                .with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            (parts.join("::"), file)
        })
        .collect()
}

/// The code of a file without its trailing unit tests and without comments.
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).expect("source is readable");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The longest known module that `path` (segments from the crate root) starts with.
fn resolve(modules: &BTreeMap<String, PathBuf>, path: &[String]) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|candidate| modules.contains_key(candidate))
}

/// Every full path a `use` tree names, e.g. `a::{b, c::{d}}` → `a::b`, `a::c::d`.
fn use_paths(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    let (head, rest) = match tree.find('{') {
        Some(open) => (
            &tree[..open],
            Some(&tree[open + 1..tree.rfind('}').unwrap_or(tree.len())]),
        ),
        None => (tree, None),
    };
    let mut path = prefix.to_vec();
    for segment in head.split("::") {
        let segment = segment.split(" as ").next().unwrap_or_default().trim();
        if !segment.is_empty() && segment != "self" {
            path.push(segment.to_owned());
        }
    }
    match rest {
        None => out.push(path),
        Some(inner) => {
            let mut depth = 0;
            let mut start = 0;
            for (at, ch) in inner.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        use_paths(&inner[start..at], &path, out);
                        start = at + 1;
                    }
                    _ => {}
                }
            }
            use_paths(&inner[start..], &path, out);
        }
    }
}

/// Identifier-and-`::` paths that follow `marker` in `text`, e.g. `crate::a::b` → `a::b`.
fn paths_after<'a>(text: &'a str, marker: &'a str) -> impl Iterator<Item = Vec<String>> + 'a {
    text.match_indices(marker)
        .filter(move |(at, _)| {
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
        })
        .map(move |(at, _)| {
            let rest = &text[at + marker.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            rest[..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
}

fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = code(file);
        let own: Vec<String> = if module.is_empty() {
            Vec::new()
        } else {
            module.split("::").map(str::to_owned).collect()
        };
        let parent: Vec<String> = own[..own.len().saturating_sub(1)].to_vec();
        let mut targets: Vec<Vec<String>> = Vec::new();
        let mut without_uses = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("use ") {
            let boundary = rest[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            without_uses.push_str(&rest[..at]);
            let Some(end) = rest[at..].find(';') else {
                break;
            };
            let statement = &rest[at + 4..at + end];
            if boundary {
                for (base, prefix) in [
                    ("crate::", Vec::new()),
                    ("super::", parent.clone()),
                    ("self::", own.clone()),
                ] {
                    if let Some(tree) = statement.trim().strip_prefix(base) {
                        use_paths(tree, &prefix, &mut targets);
                    }
                }
            } else {
                without_uses.push_str(&rest[at..at + end + 1]);
            }
            rest = &rest[at + end + 1..];
        }
        without_uses.push_str(rest);
        targets.extend(paths_after(&without_uses, "crate::"));
        targets.extend(paths_after(&without_uses, "super::").map(|path| {
            let mut full = parent.clone();
            full.extend(path);
            full
        }));
        // Paths through the module's own children, e.g. `tokens::authenticate` in `auth`.
        for (child, _) in modules.iter().filter(|(name, _)| {
            name.starts_with(&format!("{module}::")) || (module.is_empty() && !name.is_empty())
        }) {
            let local = child.rsplit("::").next().unwrap_or_default();
            if child.matches("::").count() != own.len() {
                continue;
            }
            if paths_after(&without_uses, &format!("{local}::"))
                .next()
                .is_some()
            {
                targets.push(child.split("::").map(str::to_owned).collect());
            }
        }
        let entry = edges.entry(module.clone()).or_default();
        for target in targets {
            if let Some(found) = resolve(&modules, &target)
                && found != *module
            {
                entry.insert(found);
            }
        }
    }
    edges
}

/// Strongly connected components with more than one module.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !tarjan.index.contains_key(v.as_str()) {
            tarjan.visit(v);
        }
    }
    tarjan.found
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_server_modules_import_each_other_without_cycles() {
    let edges = graph(&src());
    if std::env::var_os("PRINT_MODULE_GRAPH").is_some() {
        for (module, targets) in &edges {
            let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
            println!("{module} -> {}", targets.join(", "));
        }
    }
    // The reader must see real edges, or an empty graph would pass.
    assert!(edges["tenants::routes"].contains("tenants::service"));
    assert!(edges["tenants::service"].contains("tenants::store"));
    let found = cycles(&edges);
    assert!(found.is_empty(), "import cycles: {found:#?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(cycles(&edges), vec![vec!["a", "b", "c"]]);
}

#[test]
fn only_routers_and_pages_know_the_handlers_and_services_stay_off_http() {
    let edges = graph(&src());
    for (module, targets) in &edges {
        let may_use_routes =
            module.ends_with("routes") || ["api", "openapi", "startup"].contains(&module.as_str());
        for target in targets {
            assert!(
                may_use_routes || !target.ends_with("routes"),
                "{module} uses the handlers of {target}; call the service instead"
            );
        }
    }
    for (module, file) in modules(&src()) {
        if module.ends_with("service") || module.ends_with("store") {
            let text = code(&file);
            for web in ["axum::", "leptos"] {
                assert!(
                    !text.contains(web),
                    "{module} speaks {web}; HTTP belongs in its routes.rs"
                );
            }
        }
    }
}
