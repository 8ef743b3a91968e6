//! The element tree to text with fixed formatting: the XML declaration, namespace
//! declarations on the root in canonical order, 2-space indentation, escaping.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::Id;
use crate::xml::{
    WELL_KNOWN_NAMESPACES, XmlElement, XmlNode, is_reserved_prefix, well_known_prefix,
};

/// Writes `tree` as a document, declaring the well-known namespaces and then
/// those of `namespaces` (the source's prefixes) and any others the tree uses.
pub(super) fn write(namespaces: &BTreeMap<String, String>, tree: &XmlElement) -> String {
    let mut w = Writer::new(namespaces, tree);
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.element(tree, 0, true);
    w.out
}

struct Writer {
    out: String,
    prefixes: BTreeMap<String, String>,
    declarations: Vec<(String, String)>,
}

impl Writer {
    fn new(namespaces: &BTreeMap<String, String>, tree: &XmlElement) -> Self {
        let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
        let mut declarations = Vec::new();
        for (p, uri) in WELL_KNOWN_NAMESPACES {
            prefixes.insert(uri.to_owned(), p.to_owned());
            declarations.push((p.to_owned(), uri.to_owned()));
        }
        for (p, uri) in namespaces {
            if is_reserved_prefix(p) || well_known_prefix(uri).is_some() || !is_ncname(p) {
                continue;
            }
            prefixes.entry(uri.clone()).or_insert_with(|| p.clone());
            declarations.push((p.clone(), uri.clone()));
        }
        let mut used = Vec::new();
        collect_namespaces(tree, &mut used);
        let mut n = 1;
        for uri in used {
            if prefixes.contains_key(&uri) || well_known_prefix(&uri).is_some() {
                continue;
            }
            let p = loop {
                let p = format!("ns{n}");
                n += 1;
                if !declarations.iter().any(|(d, _)| *d == p) {
                    break p;
                }
            };
            prefixes.insert(uri.clone(), p.clone());
            declarations.push((p, uri));
        }
        Self {
            out: String::new(),
            prefixes,
            declarations,
        }
    }

    fn qname(&self, ns: Option<&str>, name: &str) -> String {
        match ns {
            None => name.to_owned(),
            Some(uri) => {
                let p = well_known_prefix(uri)
                    .or_else(|| self.prefixes.get(uri).map(String::as_str))
                    .unwrap_or("");
                format!("{p}:{name}")
            }
        }
    }

    fn element(&mut self, el: &XmlElement, depth: usize, root: bool) {
        let name = self.qname(el.ns.as_deref(), &el.name);
        let indent = "  ".repeat(depth);
        self.out.push_str(&indent);
        self.open_tag(el, &name, root);
        if el.children.is_empty() {
            self.out.push_str("/>\n");
            return;
        }
        let inline = el.children.iter().any(|c| matches!(c, XmlNode::Text(_)));
        if inline {
            self.out.push('>');
            self.inline_children(&el.children);
            let _ = writeln!(self.out, "</{name}>");
        } else {
            self.out.push_str(">\n");
            for c in &el.children {
                if let XmlNode::Element(e) = c {
                    self.element(e, depth + 1, false);
                }
            }
            let _ = writeln!(self.out, "{indent}</{name}>");
        }
    }

    fn open_tag(&mut self, el: &XmlElement, name: &str, root: bool) {
        self.out.push('<');
        self.out.push_str(name);
        if root {
            for (p, uri) in &self.declarations {
                let _ = write!(self.out, " xmlns:{p}=\"");
                escape_attr(&mut self.out, uri);
                self.out.push('"');
            }
        }
        for a in &el.attrs {
            let qn = self.qname(a.ns.as_deref(), &a.name);
            let _ = write!(self.out, " {qn}=\"");
            escape_attr(&mut self.out, &a.value);
            self.out.push('"');
        }
    }

    fn inline_children(&mut self, children: &[XmlNode]) {
        for c in children {
            match c {
                XmlNode::Text(t) => escape_text(&mut self.out, t),
                XmlNode::Element(e) => {
                    let name = self.qname(e.ns.as_deref(), &e.name);
                    self.open_tag(e, &name, false);
                    if e.children.is_empty() {
                        self.out.push_str("/>");
                    } else {
                        self.out.push('>');
                        self.inline_children(&e.children);
                        let _ = write!(self.out, "</{name}>");
                    }
                }
            }
        }
    }
}

fn is_ncname(s: &str) -> bool {
    Id::is_valid_ncname(s)
}

fn collect_namespaces(el: &XmlElement, out: &mut Vec<String>) {
    let mut see = |ns: &Option<String>| {
        if let Some(ns) = ns
            && !out.contains(ns)
        {
            out.push(ns.clone());
        }
    };
    see(&el.ns);
    for a in &el.attrs {
        see(&a.ns);
    }
    for c in &el.children {
        if let XmlNode::Element(e) = c {
            collect_namespaces(e, out);
        }
    }
}

fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}
