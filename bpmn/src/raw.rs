//! The raw element tree that parsing works on: what the XML reader produces and the
//! typed-model conversion consumes, with the helpers both stages share (taking
//! attributes and children, and turning untyped subtrees into preserved [`XmlElement`]s).

use std::collections::BTreeMap;

use crate::model::Id;
use crate::xml::{XmlAttr, XmlElement, XmlNode};

#[derive(Debug, Clone)]
pub(crate) struct RawAttr {
    pub ns: Option<String>,
    pub name: String,
    pub value: String,
    /// For a QName value: the namespace URI and local name it resolved to where it
    /// was written. The reader rewrites `value` with the prefix the namespace gets
    /// in the written document once every declaration of the source is known.
    pub qname: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub(crate) enum RawNode {
    Element(RawElement),
    Text(String),
}

#[derive(Debug, Clone)]
pub(crate) struct RawElement {
    pub ns: Option<String>,
    pub name: String,
    pub attrs: Vec<RawAttr>,
    pub children: Vec<RawNode>,
    /// Byte offset of the `<` in the source.
    pub pos: usize,
}

/// The raw document: root element plus the prefixes declared for namespaces
/// other than the well-known ones.
pub(crate) struct RawDocument {
    pub root: RawElement,
    pub namespaces: BTreeMap<String, String>,
}

impl RawElement {
    pub(crate) fn is(&self, ns: &str, name: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.name == name
    }

    pub(crate) fn take_attr(&mut self, name: &str) -> Option<String> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.ns.is_none() && a.name == name)?;
        Some(self.attrs.remove(i).value)
    }

    pub(crate) fn take_attr_ns(&mut self, ns: &str, name: &str) -> Option<String> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.ns.as_deref() == Some(ns) && a.name == name)?;
        Some(self.attrs.remove(i).value)
    }

    pub(crate) fn take_id(&mut self, name: &str) -> Option<Id> {
        self.take_attr(name).map(Id::from)
    }

    /// Takes a boolean attribute if its value is an XSD boolean; an invalid
    /// value stays behind as an unknown attribute so nothing is lost.
    pub(crate) fn take_bool(&mut self, name: &str) -> Option<bool> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.ns.is_none() && a.name == name)?;
        let v = parse_bool(&self.attrs[i].value)?;
        self.attrs.remove(i);
        Some(v)
    }

    /// Takes an optional number; an invalid value stays behind as an unknown attribute.
    pub(crate) fn take_f64(&mut self, name: &str) -> Option<f64> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.ns.is_none() && a.name == name)?;
        let v = parse_f64(&self.attrs[i].value)?;
        self.attrs.remove(i);
        Some(v)
    }

    pub(crate) fn take_children(&mut self, ns: &str, name: &str) -> Vec<RawElement> {
        let mut taken = Vec::new();
        self.children.retain_mut(|c| match c {
            RawNode::Element(e) if e.is(ns, name) => {
                taken.push(std::mem::replace(e, RawElement::placeholder()));
                false
            }
            _ => true,
        });
        taken
    }

    pub(crate) fn take_child(&mut self, ns: &str, name: &str) -> Option<RawElement> {
        let i = self
            .children
            .iter()
            .position(|c| matches!(c, RawNode::Element(e) if e.is(ns, name)))?;
        match self.children.remove(i) {
            RawNode::Element(e) => Some(e),
            RawNode::Text(_) => None,
        }
    }

    pub(crate) fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            if let RawNode::Text(t) = c {
                s.push_str(t);
            }
        }
        s
    }

    pub(crate) fn has_element_children(&self) -> bool {
        self.children
            .iter()
            .any(|c| matches!(c, RawNode::Element(_)))
    }

    pub(crate) fn has_text(&self) -> bool {
        self.children
            .iter()
            .any(|c| matches!(c, RawNode::Text(t) if !t.trim().is_empty()))
    }

    fn placeholder() -> Self {
        Self {
            ns: None,
            name: String::new(),
            attrs: Vec::new(),
            children: Vec::new(),
            pos: 0,
        }
    }
}

pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

pub(crate) fn parse_f64(v: &str) -> Option<f64> {
    v.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

fn xml_attr(a: RawAttr) -> XmlAttr {
    XmlAttr {
        ns: a.ns,
        name: a.name,
        value: a.value,
    }
}

pub(crate) fn sorted_attrs(attrs: Vec<RawAttr>) -> Vec<XmlAttr> {
    let mut out: Vec<XmlAttr> = attrs.into_iter().map(xml_attr).collect();
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// Converts a raw subtree into a preserved node (attributes in canonical order).
pub(crate) fn to_xml(el: RawElement) -> XmlElement {
    XmlElement {
        ns: el.ns,
        name: el.name,
        attrs: sorted_attrs(el.attrs),
        children: nodes(el.children),
    }
}

pub(crate) fn nodes(children: Vec<RawNode>) -> Vec<XmlNode> {
    children
        .into_iter()
        .map(|c| match c {
            RawNode::Element(e) => XmlNode::Element(to_xml(e)),
            RawNode::Text(t) => XmlNode::Text(t),
        })
        .collect()
}
