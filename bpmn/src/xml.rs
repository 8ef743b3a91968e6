//! Generic XML nodes used to preserve everything the typed model does not cover
//! (other vendors' extensions, untyped BPMN elements, unknown attributes), and the
//! namespace URIs with the fixed prefixes used when writing.

use serde::{Deserialize, Serialize};

/// BPMN 2.0 semantic model namespace.
pub const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
/// BPMN 2.0 diagram interchange namespace.
pub const BPMNDI_NS: &str = "http://www.omg.org/spec/BPMN/20100524/DI";
/// OMG Diagram Commons namespace (bounds, fonts).
pub const DC_NS: &str = "http://www.omg.org/spec/DD/20100524/DC";
/// OMG Diagram Interchange namespace (waypoints).
pub const DI_NS: &str = "http://www.omg.org/spec/DD/20100524/DI";
/// Zeebe (Camunda 8) extension namespace.
pub const ZEEBE_NS: &str = "http://camunda.org/schema/zeebe/1.0";
/// Camunda Modeler namespace (execution platform attributes).
pub const MODELER_NS: &str = "http://camunda.org/schema/modeler/1.0";
/// XML Schema instance namespace (`xsi:type`, `xsi:schemaLocation`).
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The namespace bound to the reserved `xml` prefix.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Namespaces with a fixed prefix, in the order they are declared on the root element.
/// The `xml` namespace is bound implicitly and never declared.
pub const WELL_KNOWN_NAMESPACES: [(&str, &str); 7] = [
    ("bpmn", BPMN_NS),
    ("bpmndi", BPMNDI_NS),
    ("dc", DC_NS),
    ("di", DI_NS),
    ("zeebe", ZEEBE_NS),
    ("modeler", MODELER_NS),
    ("xsi", XSI_NS),
];

/// The fixed prefix of a well-known namespace URI.
pub fn well_known_prefix(uri: &str) -> Option<&'static str> {
    if uri == XML_NS {
        return Some("xml");
    }
    WELL_KNOWN_NAMESPACES
        .iter()
        .find(|(_, u)| *u == uri)
        .map(|(p, _)| *p)
}

/// True if `prefix` is reserved for a well-known namespace (or by XML itself).
pub fn is_reserved_prefix(prefix: &str) -> bool {
    prefix == "xml" || prefix == "xmlns" || WELL_KNOWN_NAMESPACES.iter().any(|(p, _)| *p == prefix)
}

/// An attribute whose meaning the typed model does not know, kept as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XmlAttr {
    /// Namespace URI; `None` for an unprefixed attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Value after XML attribute-value normalisation and entity expansion.
    pub value: String,
}

impl XmlAttr {
    /// An attribute in no namespace.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            ns: None,
            name: name.into(),
            value: value.into(),
        }
    }

    /// An attribute in namespace `ns`.
    pub fn with_ns(
        ns: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            ns: Some(ns.into()),
            name: name.into(),
            value: value.into(),
        }
    }

    pub(crate) fn sort_key(&self) -> (u8, &str, &str) {
        match &self.ns {
            None => (0, "", &self.name),
            Some(ns) => (1, ns, &self.name),
        }
    }
}

/// A child of a preserved element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum XmlNode {
    /// A nested element.
    Element(XmlElement),
    /// Character data (text and CDATA sections, merged, entities expanded).
    Text(String),
}

/// An element the typed model does not know, kept with its whole subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XmlElement {
    /// Namespace URI; `None` for an element in no namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Attributes, in canonical order (see the crate docs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<XmlAttr>,
    /// Children in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<XmlNode>,
}

impl XmlElement {
    /// An empty element.
    pub fn new(ns: Option<&str>, name: impl Into<String>) -> Self {
        Self {
            ns: ns.map(str::to_owned),
            name: name.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// True if this element is `name` in namespace `ns`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.name == name
    }

    /// The value of the unprefixed attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Child elements, skipping text.
    pub fn elements(&self) -> impl Iterator<Item = &XmlElement> {
        self.children.iter().filter_map(|c| match c {
            XmlNode::Element(e) => Some(e),
            XmlNode::Text(_) => None,
        })
    }

    /// Concatenated text of the direct children.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            if let XmlNode::Text(t) = c {
                s.push_str(t);
            }
        }
        s
    }
}
