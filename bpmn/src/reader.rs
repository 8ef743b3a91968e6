//! First parsing stage: XML text to a namespace-resolved element tree with
//! source positions, enforcing the size, depth, DTD and entity rules.

use std::collections::BTreeMap;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{PrefixDeclaration, QName, ResolveResult};
use quick_xml::reader::NsReader;

use crate::error::{ParseError, line_col};
use crate::raw::{RawAttr, RawDocument, RawElement, RawNode};
use crate::xml::{BPMN_NS, BPMNDI_NS, XSI_NS, is_reserved_prefix, well_known_prefix};

const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Largest accepted input in bytes (default 10 MiB).
    pub max_size: usize,
    /// Deepest accepted element nesting (default 256).
    pub max_depth: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            max_size: 10 * 1024 * 1024,
            max_depth: 256,
        }
    }
}

pub(crate) fn syntax(src: &str, pos: usize, message: impl Into<String>) -> ParseError {
    let (line, column) = line_col(src, pos);
    ParseError::Syntax {
        line,
        column,
        message: message.into(),
    }
}

fn to_usize(p: u64) -> usize {
    usize::try_from(p).unwrap_or(usize::MAX)
}

/// Reads `src` into a raw tree.
pub(crate) fn read(src: &str, opts: &ParseOptions) -> Result<RawDocument, ParseError> {
    if src.len() > opts.max_size {
        return Err(ParseError::TooLarge {
            size: src.len(),
            limit: opts.max_size,
        });
    }
    let mut reader = NsReader::from_str(src);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
    }
    let mut stack: Vec<RawElement> = Vec::new();
    let mut root: Option<RawElement> = None;
    let mut namespaces = BTreeMap::new();
    loop {
        let pos = to_usize(reader.buffer_position());
        let event = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                return Err(syntax(
                    src,
                    to_usize(reader.error_position()),
                    e.to_string(),
                ));
            }
        };
        match event {
            Event::Start(start) => {
                let el = open_element(src, &reader, &start, pos, &mut namespaces)?;
                if root.is_some() && stack.is_empty() {
                    return Err(syntax(src, pos, "more than one root element"));
                }
                if stack.len() + 1 > opts.max_depth {
                    let (line, column) = line_col(src, pos);
                    return Err(ParseError::TooDeep {
                        line,
                        column,
                        limit: opts.max_depth,
                    });
                }
                stack.push(el);
            }
            Event::Empty(start) => {
                let el = open_element(src, &reader, &start, pos, &mut namespaces)?;
                if stack.len() + 1 > opts.max_depth {
                    let (line, column) = line_col(src, pos);
                    return Err(ParseError::TooDeep {
                        line,
                        column,
                        limit: opts.max_depth,
                    });
                }
                attach(src, &mut stack, &mut root, el, pos)?;
            }
            Event::End(_) => {
                let Some(mut el) = stack.pop() else {
                    return Err(syntax(src, pos, "unexpected closing tag"));
                };
                tidy_children(&mut el.children);
                attach(src, &mut stack, &mut root, el, pos)?;
            }
            Event::Text(t) => push_text(src, &mut stack, pos, &t.xml10_content())?,
            Event::CData(c) => push_text(src, &mut stack, pos, &c.xml10_content())?,
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match predefined_entity(&r.xml10_content()) {
                        Some(c) => c,
                        None => {
                            return Err(syntax(
                                src,
                                pos,
                                format!(
                                    "undeclared entity &{};: only the predefined XML entities \
                                     and character references are allowed",
                                    r.xml10_content()
                                ),
                            ));
                        }
                    },
                    Err(e) => return Err(syntax(src, pos, e.to_string())),
                };
                let mut buf = [0u8; 4];
                push_text(src, &mut stack, pos, ch.encode_utf8(&mut buf))?;
            }
            Event::DocType(_) => {
                let (line, column) = line_col(src, pos);
                return Err(ParseError::Dtd { line, column });
            }
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(syntax(
            src,
            src.len(),
            format!("element <{}> is not closed", open.name),
        ));
    }
    let Some(root) = root else {
        return Err(syntax(src, src.len(), "no root element"));
    };
    let mut doc = RawDocument { root, namespaces };
    name_unprefixed_namespaces(&mut doc);
    prefix_qname_values(&mut doc);
    Ok(doc)
}

fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

fn attach(
    src: &str,
    stack: &mut [RawElement],
    root: &mut Option<RawElement>,
    el: RawElement,
    pos: usize,
) -> Result<(), ParseError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(RawNode::Element(el)),
        None if root.is_none() => *root = Some(el),
        None => return Err(syntax(src, pos, "more than one root element")),
    }
    Ok(())
}

fn push_text(
    src: &str,
    stack: &mut [RawElement],
    pos: usize,
    text: &str,
) -> Result<(), ParseError> {
    match stack.last_mut() {
        Some(parent) => {
            if let Some(RawNode::Text(prev)) = parent.children.last_mut() {
                prev.push_str(text);
            } else if !text.is_empty() {
                parent.children.push(RawNode::Text(text.to_owned()));
            }
            Ok(())
        }
        None if text.chars().all(|c| c.is_ascii_whitespace()) => Ok(()),
        None => Err(syntax(src, pos, "text outside the root element")),
    }
}

/// Drops indentation: whitespace-only text between child elements carries no
/// meaning. Text in mixed content (any non-whitespace text) is kept verbatim.
fn tidy_children(children: &mut Vec<RawNode>) {
    let has_element = children.iter().any(|c| matches!(c, RawNode::Element(_)));
    let all_blank = children.iter().all(|c| match c {
        RawNode::Text(t) => t.chars().all(|c| c.is_ascii_whitespace()),
        RawNode::Element(_) => true,
    });
    if has_element && all_blank {
        children.retain(|c| matches!(c, RawNode::Element(_)));
    }
}

fn open_element<'a>(
    src: &str,
    reader: &NsReader<&'a [u8]>,
    start: &BytesStart<'a>,
    pos: usize,
    namespaces: &mut BTreeMap<String, String>,
) -> Result<RawElement, ParseError> {
    let resolver = reader.resolver();
    let (ns, local) = resolver.resolve_element(start.name());
    let ns = resolved(src, pos, ns)?;
    let name = local.as_ref().to_owned();
    let mut attrs: Vec<RawAttr> = Vec::new();
    for attr in start.attributes().with_checks(true) {
        let attr = attr.map_err(|e| syntax(src, pos, e.to_string()))?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| syntax(src, pos, e.to_string()))?;
        if let Some(decl) = attr.key.as_namespace_binding() {
            // Namespace names are compared as written (without entity expansion or
            // whitespace normalisation), so refuse any that would need escaping.
            if attr
                .value
                .chars()
                .any(|c| matches!(c, '&' | '<' | '>' | '"' | '\'') || c.is_control())
            {
                return Err(syntax(
                    src,
                    pos,
                    format!(
                        "namespace name {:?} contains characters that need escaping",
                        attr.value
                    ),
                ));
            }
            if let PrefixDeclaration::Named(prefix) = decl {
                let prefix: &str = prefix;
                if well_known_prefix(&value).is_none()
                    && !is_reserved_prefix(prefix)
                    && crate::model::Id::is_valid_ncname(prefix)
                    && !value.is_empty()
                {
                    namespaces
                        .entry(prefix.to_owned())
                        .or_insert_with(|| value.to_string());
                }
            }
            continue;
        }
        let (ans, alocal) = resolver.resolve_attribute(attr.key);
        let ans = resolved(src, pos, ans)?;
        let aname = alocal.as_ref().to_owned();
        if attrs.iter().any(|a| a.ns == ans && a.name == aname) {
            return Err(syntax(src, pos, format!("duplicate attribute {aname}")));
        }
        let value = value.into_owned();
        let qname = qname_kind(ns.as_deref(), &name, ans.as_deref(), &aname)
            .and_then(|kind| resolve_qname(reader, &value, kind));
        attrs.push(RawAttr {
            ns: ans,
            name: aname,
            value,
            qname,
        });
    }
    Ok(RawElement {
        ns,
        name,
        attrs,
        children: Vec::new(),
        pos,
    })
}

/// How an attribute's value names something by QName.
#[derive(Clone, Copy, PartialEq, Eq)]
enum QNameKind {
    /// `xsi:type`: an unprefixed value is in the default namespace, as the XSD says.
    Type,
    /// A reference typed `xsd:QName` in the BPMN and BPMNDI schemas. Every tool,
    /// bpmn-moddle among them, reads an unprefixed reference as an id of this
    /// document whatever the default namespace is, so only a prefixed one is
    /// resolved; giving an unprefixed one a prefix would break it.
    Reference,
}

/// Which attributes hold QNames: `xsi:type` anywhere, and the attributes the
/// BPMN 2.0 and BPMNDI schemas type as `xsd:QName`. Other attributes keep their
/// value as written even when it looks like `prefix:local`, since it may be
/// text (a name, a job type, an expression) that only happens to contain a colon.
fn qname_kind(
    el_ns: Option<&str>,
    el_name: &str,
    attr_ns: Option<&str>,
    attr_name: &str,
) -> Option<QNameKind> {
    match (el_ns, attr_ns) {
        (_, Some(XSI_NS)) if attr_name == "type" => Some(QNameKind::Type),
        (Some(BPMN_NS), None) => {
            let is_qname = match attr_name {
                "activityRef"
                | "attachedToRef"
                | "calledChoreographyRef"
                | "calledCollaborationRef"
                | "calledElement"
                | "correlationKeyRef"
                | "correlationPropertyRef"
                | "dataStoreRef"
                | "definition"
                | "definitionalCollaborationRef"
                | "errorRef"
                | "escalationRef"
                | "evaluatesToTypeRef"
                | "implementationRef"
                | "initiatingParticipantRef"
                | "innerConversationNodeRef"
                | "innerMessageFlowRef"
                | "itemRef"
                | "itemSubjectRef"
                | "messageRef"
                | "noneBehaviorEventRef"
                | "oneBehaviorEventRef"
                | "operationRef"
                | "outerConversationNodeRef"
                | "outerMessageFlowRef"
                | "parameterRef"
                | "partitionElementRef"
                | "processRef"
                | "signalRef"
                | "structureRef" => true,
                // IDREFs on sequence flows, QNames on associations, message flows
                // and conversation links.
                "sourceRef" | "targetRef" => el_name != "sequenceFlow",
                // A string on `relationship`.
                "type" => matches!(el_name, "correlationProperty" | "resourceParameter"),
                _ => false,
            };
            is_qname.then_some(QNameKind::Reference)
        }
        (Some(BPMNDI_NS), None) => matches!(
            attr_name,
            "bpmnElement"
                | "sourceElement"
                | "targetElement"
                | "choreographyActivityShape"
                | "labelStyle"
        )
        .then_some(QNameKind::Reference),
        _ => None,
    }
}

/// Resolves a QName value against the declarations in scope where it is
/// written. `None` leaves the value as written: not a QName, in no namespace, an
/// unprefixed reference, or a prefix that is not declared.
fn resolve_qname(
    reader: &NsReader<&[u8]>,
    value: &str,
    kind: QNameKind,
) -> Option<(String, String)> {
    let is_ncname = crate::model::Id::is_valid_ncname;
    let qname = value.trim();
    let local = match qname.split_once(':') {
        Some((prefix, local)) if is_ncname(prefix) && is_ncname(local) => local,
        None if kind == QNameKind::Type && is_ncname(qname) => qname,
        _ => return None,
    };
    let (res, _) = reader.resolver().resolve_element(QName(qname));
    let ResolveResult::Bound(ns) = res else {
        return None;
    };
    let uri: &str = ns.as_ref();
    if uri.is_empty() || uri == XMLNS_NS {
        return None;
    }
    Some((uri.to_owned(), local.to_owned()))
}

/// Writes every resolved QName value with the prefix its namespace has in the
/// written document: the fixed prefix of a well-known namespace, else the first
/// recorded prefix for it (the one the writer gives its elements too), else a
/// new `nsN` prefix recorded for it. Done once all declarations are recorded, so
/// that reading the written document again chooses the same prefixes.
fn prefix_qname_values(doc: &mut RawDocument) {
    fn walk(el: &mut RawElement, namespaces: &mut BTreeMap<String, String>, n: &mut usize) {
        for a in &mut el.attrs {
            let Some((uri, local)) = a.qname.take() else {
                continue;
            };
            let prefix = match well_known_prefix(&uri) {
                Some(fixed) => fixed.to_owned(),
                None => match namespaces.iter().find(|(_, u)| **u == uri) {
                    Some((p, _)) => p.clone(),
                    None => {
                        let p = free_prefix(namespaces, n);
                        namespaces.insert(p.clone(), uri);
                        p
                    }
                },
            };
            a.value = format!("{prefix}:{local}");
        }
        for c in &mut el.children {
            if let RawNode::Element(e) = c {
                walk(e, namespaces, n);
            }
        }
    }
    walk(&mut doc.root, &mut doc.namespaces, &mut 1);
}

/// The first `nsN` prefix from `n` on that is neither recorded nor reserved.
fn free_prefix(namespaces: &BTreeMap<String, String>, n: &mut usize) -> String {
    loop {
        let p = format!("ns{n}");
        *n += 1;
        if !namespaces.contains_key(&p) && !is_reserved_prefix(&p) {
            return p;
        }
    }
}

fn resolved(src: &str, pos: usize, r: ResolveResult<'_>) -> Result<Option<String>, ParseError> {
    match r {
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Bound(ns) => {
            let uri: &str = ns.as_ref();
            if uri == XMLNS_NS {
                return Err(syntax(
                    src,
                    pos,
                    "the xmlns prefix is reserved for namespace declarations",
                ));
            }
            Ok((!uri.is_empty()).then(|| uri.to_owned()))
        }
        ResolveResult::Unknown(p) => Err(syntax(
            src,
            pos,
            format!("namespace prefix {p:?} is not declared"),
        )),
    }
}

/// Gives a prefix to every namespace used without one (a default namespace
/// other than a well-known one), so that the document can be written with
/// prefixes only and read back to the same model.
fn name_unprefixed_namespaces(doc: &mut RawDocument) {
    fn walk(el: &RawElement, out: &mut Vec<String>) {
        let mut see = |ns: &Option<String>| {
            if let Some(ns) = ns
                && well_known_prefix(ns).is_none()
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
            if let RawNode::Element(e) = c {
                walk(e, out);
            }
        }
    }
    let mut used = Vec::new();
    walk(&doc.root, &mut used);
    let mut n = 1;
    for uri in used {
        if doc.namespaces.values().any(|u| *u == uri) {
            continue;
        }
        let prefix = free_prefix(&doc.namespaces, &mut n);
        doc.namespaces.insert(prefix, uri);
    }
}

/// Decodes a byte document to text: UTF-8 (with or without BOM), UTF-16 with
/// a BOM, and the single-byte ISO-8859-1 / windows-1252 / US-ASCII encodings
/// some modelling tools declare.
pub(crate) fn decode(bytes: &[u8], opts: &ParseOptions) -> Result<String, ParseError> {
    if bytes.len() > opts.max_size {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit: opts.max_size,
        });
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8_doc(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes);
    }
    if bytes.starts_with(&[0x3C, 0x00, 0x3F, 0x00]) {
        return utf16(bytes, u16::from_le_bytes);
    }
    if bytes.starts_with(&[0x00, 0x3C, 0x00, 0x3F]) {
        return utf16(bytes, u16::from_be_bytes);
    }
    let encoding = declared_encoding(bytes).unwrap_or_else(|| "utf-8".to_owned());
    match encoding.as_str() {
        "utf-8" | "utf8" | "us-ascii" | "ascii" => utf8_doc(bytes),
        "iso-8859-1" | "latin1" | "latin-1" | "iso_8859-1" | "l1" => {
            Ok(bytes.iter().map(|b| char::from(*b)).collect())
        }
        "windows-1252" | "cp1252" => Ok(bytes.iter().map(|b| cp1252(*b)).collect()),
        other => Err(ParseError::Encoding {
            line: 1,
            column: 1,
            message: format!(
                "unsupported encoding {other:?}; use UTF-8, UTF-16, ISO-8859-1 or windows-1252"
            ),
        }),
    }
}

fn utf8_doc(bytes: &[u8]) -> Result<String, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            // Safe to unwrap-free: the prefix is valid UTF-8 by definition of valid_up_to.
            let text = std::str::from_utf8(good).unwrap_or_default();
            let (line, column) = line_col(text, text.len());
            Err(ParseError::Encoding {
                line,
                column,
                message: "invalid UTF-8 byte sequence".into(),
            })
        }
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, ParseError> {
    let units = bytes
        .chunks(2)
        .map(|c| unit([c[0], *c.get(1).unwrap_or(&0)]));
    let mut out = String::with_capacity(bytes.len() / 2);
    for ch in char::decode_utf16(units) {
        match ch {
            Ok(c) => out.push(c),
            Err(_) => {
                let (line, column) = line_col(&out, out.len());
                return Err(ParseError::Encoding {
                    line,
                    column,
                    message: "invalid UTF-16 sequence".into(),
                });
            }
        }
    }
    Ok(out)
}

fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(256)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let idx = decl.find("encoding")?;
    let rest = decl[idx + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let value = rest[1..].split(quote).next()?;
    Some(value.trim().to_ascii_lowercase())
}

fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}',
        '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}',
        '\u{178}',
    ];
    if (0x80..0xA0).contains(&b) {
        HIGH[usize::from(b - 0x80)]
    } else {
        char::from(b)
    }
}

/// Reads any XML document into a namespace-resolved generic tree, with the
/// same limits and refusals as the BPMN parser (useful to compare documents).
pub fn read_tree(src: &str, options: &ParseOptions) -> Result<crate::xml::XmlElement, ParseError> {
    Ok(crate::raw::to_xml(read(src, options)?.root))
}
