//! What every element may carry besides its typed fields: documentation,
//! extension elements, unknown content ([`Base`], [`Extra`]), and expressions.

use serde::{Deserialize, Serialize};

use super::{Id, Zeebe};
use crate::xml::{XmlAttr, XmlElement, XmlNode};

/// Unknown attributes and child elements of an element, kept for a lossless round-trip.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Extra {
    /// Attributes the typed model does not know, in canonical order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<XmlAttr>,
    /// Child elements the typed model does not know, in canonical order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<XmlElement>,
}

impl Extra {
    /// True if nothing is preserved.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty() && self.children.is_empty()
    }
}

/// What every BPMN element may carry besides its typed fields:
/// documentation, extension elements and unknown content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Base {
    /// `bpmn:documentation` entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documentation: Vec<Documentation>,
    /// `bpmn:extensionElements` (typed zeebe extensions and other vendors' content).
    #[serde(skip_serializing_if = "ExtensionElements::is_empty")]
    pub extension_elements: ExtensionElements,
    /// Unknown attributes and children.
    #[serde(skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl Base {
    /// The typed zeebe extensions.
    pub fn zeebe(&self) -> &Zeebe {
        &self.extension_elements.zeebe
    }

    /// The typed zeebe extensions, for editing.
    pub fn zeebe_mut(&mut self) -> &mut Zeebe {
        &mut self.extension_elements.zeebe
    }
}

/// `bpmn:documentation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Documentation {
    /// `id`.
    pub id: Option<Id>,
    /// `textFormat` (a MIME type, `text/plain` when absent).
    pub text_format: Option<String>,
    /// Content: usually one text node; mixed content is kept as is.
    pub content: Vec<XmlNode>,
    /// Unknown attributes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_attrs: Vec<XmlAttr>,
}

impl Documentation {
    /// Plain-text documentation.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let content = if text.is_empty() {
            Vec::new()
        } else {
            vec![XmlNode::Text(text)]
        };
        Self {
            content,
            ..Self::default()
        }
    }

    /// The text of the documentation (text of nested elements included).
    pub fn text(&self) -> String {
        fn collect(nodes: &[XmlNode], out: &mut String) {
            for n in nodes {
                match n {
                    XmlNode::Text(t) => out.push_str(t),
                    XmlNode::Element(e) => collect(&e.children, out),
                }
            }
        }
        let mut s = String::new();
        collect(&self.content, &mut s);
        s
    }
}

/// `bpmn:extensionElements`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtensionElements {
    /// Typed `zeebe:` extensions.
    #[serde(skip_serializing_if = "zeebe_is_empty")]
    pub zeebe: Box<Zeebe>,
    /// Everything else, in document order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<XmlElement>,
    /// Attributes of the `extensionElements` element itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<XmlAttr>,
}

fn zeebe_is_empty(z: &Zeebe) -> bool {
    z.is_empty()
}

impl ExtensionElements {
    /// True if there is nothing to write (an empty `extensionElements` is dropped).
    pub fn is_empty(&self) -> bool {
        self.zeebe.is_empty() && self.other.is_empty() && self.attrs.is_empty()
    }
}

/// An expression (`bpmn:conditionExpression`, `bpmn:timeDuration`, …).
///
/// Zeebe expressions are FEEL when they start with `=`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Expression {
    /// The expression text exactly as written.
    pub body: String,
    /// `language` (FormalExpression).
    pub language: Option<String>,
    /// Other attributes (`id`, `xsi:type`, `evaluatesToTypeRef`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_attrs: Vec<XmlAttr>,
    /// Child elements (not used by BPMN expressions, kept if present).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_children: Vec<XmlElement>,
}

impl Expression {
    /// A `bpmn:tFormalExpression` with the given body, as Camunda Modeler writes it.
    pub fn formal(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            extra_attrs: vec![XmlAttr::with_ns(
                crate::xml::XSI_NS,
                "type",
                "bpmn:tFormalExpression",
            )],
            ..Self::default()
        }
    }

    /// The FEEL source if this is a Zeebe FEEL expression (`=…`).
    pub fn feel(&self) -> Option<&str> {
        self.body.trim_start().strip_prefix('=')
    }
}
