//! BPMN 2.0 for ASTRAflow: a typed model, lossless and deterministic XML
//! (with BPMNDI and `zeebe:` extensions), validation with stable diagnostic
//! codes, and an editing API for the designer.
//!
//! The crate does no I/O, uses no threads or clocks, and builds for
//! `wasm32-unknown-unknown`, so the designer, the server and the engine share it.
//!
//! ```
//! let xml = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D">
//!   <bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S"/></bpmn:process>
//! </bpmn:definitions>"#;
//! let defs = bpmn::parse(xml)?;
//! let start = defs.process("P").and_then(|p| p.start_events().next());
//! assert_eq!(start.map(|n| n.id.as_str()), Some("S"));
//! let findings = bpmn::validate(&defs); // e.g. BPMN118: not a Camunda 8 model
//! assert!(findings.iter().all(|d| d.severity != bpmn::Severity::Error));
//! let canonical = bpmn::to_xml(&defs);
//! assert_eq!(bpmn::parse(&canonical)?, defs);
//! # Ok::<(), bpmn::ParseError>(())
//! ```
//!
//! # The model
//!
//! [`Definitions`] is the document. It holds [`RootElement`]s in document order
//! ([`Process`], [`Collaboration`], [`Message`], [`ErrorDef`], [`Signal`],
//! [`Escalation`], [`DataStore`], and `Other` for untyped ones such as item
//! definitions) and [`Diagram`]s (BPMNDI: planes with [`Shape`]s and [`Edge`]s,
//! bounds, waypoints, labels, `isExpanded`, `isHorizontal`, …).
//!
//! A process (and every sub-process) owns a [`Container`]: lane sets,
//! [`FlowElement`]s in model order, and artifacts (text annotations,
//! associations, groups). A [`FlowNode`] has an [`Id`], a name, its
//! `incoming`/`outgoing` references and a [`FlowNodeKind`] — events carry an
//! [`Event`] (event definitions: none, timer, message, error, signal, escalation,
//! terminate, link, conditional, compensate, cancel; `attachedToRef` for boundary
//! events), activities an [`Activity`] (default flow, loop characteristics,
//! message refs, `triggeredByEvent`, nested [`Container`] for sub-processes), and
//! gateways a [`Gateway`]. Sequence flows carry their condition [`Expression`].
//!
//! Every element has a [`Base`]: documentation, `extensionElements` — whose
//! `zeebe:` content is typed in [`model::zeebe::Zeebe`] (`taskDefinition`,
//! `ioMapping`, `taskHeaders`, `subscription`, `calledElement`,
//! `loopCharacteristics`, `script`, `formDefinition`, `assignmentDefinition`,
//! `properties`) and whose other content is kept as [`xml::XmlElement`]s — and
//! [`Extra`]: unknown attributes and child elements. The `modeler:` execution
//! platform attributes are typed on [`Definitions`].
//!
//! Navigation lives in [`walk`] and on the types: [`Definitions::processes`],
//! [`Definitions::element`], [`Definitions::flow_node`],
//! [`Definitions::outgoing`], [`Process::flow_nodes`], [`Container::boundary_events`],
//! [`walk::scopes`] (every process and sub-process body), [`Definitions::shape`].
//! Editing lives in [`edit`]: [`Definitions::new_process`],
//! [`Definitions::add_flow_node`], [`Definitions::connect`],
//! [`Definitions::move_element`], [`Definitions::resize`], [`Definitions::delete`],
//! [`Definitions::rename`]; each keeps model and diagram consistent.
//!
//! # Reading
//!
//! [`parse`] (text), [`parse_with`] (explicit [`ParseOptions`]) and [`parse_bytes`]
//! (UTF-8 with or without BOM, UTF-16 with BOM, ISO-8859-1, windows-1252, as
//! declared) read with quick-xml. Namespaces are resolved by URI, never by
//! prefix. Errors are [`ParseError`]s with a 1-based line and column (and the
//! element id where there is one); no input makes the parser panic.
//!
//! Limits and refusals:
//! - input larger than [`ParseOptions::max_size`] (default 10 MiB) and nesting
//!   deeper than [`ParseOptions::max_depth`] (default 256) are refused;
//! - any `<!DOCTYPE …>` is refused, so no entity can be declared and no
//!   external entity is ever fetched; only the five predefined entities and
//!   character references are expanded;
//! - namespace names containing characters that need escaping (`& < > " '`,
//!   control characters) are refused, because namespace names compare as written.
//!
//! # Lossless round-trip
//!
//! What the typed model does not cover is kept in generic nodes in its place in
//! the tree: unknown attributes, unknown BPMN elements (`ioSpecification`,
//! `dataInputAssociation`, `potentialOwner`, …), other vendors' extensions,
//! documentation with mixed content, unknown `zeebe:` elements. Parse → write →
//! parse gives an equal model for every MIWG reference model, and a test checks
//! that no element, attribute or text of those files is lost.
//!
//! Writing normalises what carries no meaning: indentation and whitespace
//! between elements, attribute order, namespace prefixes, booleans (`1` →
//! `true`), numbers (shortest form that reads back exactly), comments and
//! processing instructions (dropped), empty `extensionElements` (dropped),
//! several `extensionElements` of one element (merged). Also not
//! kept: attributes of `dc:Bounds` and `di:waypoint` other than coordinates
//! (tools add `xsi:type="dc:Point"`, which restates the schema), stray text
//! inside typed BPMN elements, and a default namespace declaration that no
//! element uses.
//!
//! QName values keep their meaning under the new prefixes. Each is resolved
//! against the namespace declarations in scope where it is written and given the
//! prefix its namespace has in the written document: `xsi:type` values
//! (`semantic:tFormalExpression`, or `tFormalExpression` under a default BPMN
//! namespace, both become `bpmn:tFormalExpression`), and prefixed values of the
//! attributes the BPMN and BPMNDI schemas type as QNames (`structureRef`,
//! `itemSubjectRef`, `messageRef`, `bpmnElement`, …). An unprefixed reference
//! stays as it is: every tool reads it as an id of the document, whatever the
//! default namespace. Other attributes keep their text, colons and all.
//!
//! # Canonical serialisation
//!
//! [`to_xml`] always gives the same bytes for the same model, so Git diffs show
//! only real changes:
//! - `<?xml version="1.0" encoding="UTF-8"?>`, UTF-8, `\n` line ends, a final newline;
//! - 2-space indentation; an element with text is written on one line with its
//!   content verbatim; an element without children is self-closed;
//! - on the root, namespace declarations in this order: `bpmn`, `bpmndi`, `dc`,
//!   `di`, `zeebe`, `modeler`, `xsi` (always, with these prefixes), then other
//!   namespaces sorted by prefix (the prefix read from the source, or `ns1`, `ns2`, …);
//! - attributes: first the typed ones in a fixed order per element (`id`, `name`,
//!   then the element's own attributes in the order of the BPMN schema), then
//!   unknown ones: unprefixed sorted by name, then namespaced sorted by
//!   namespace URI and name;
//! - child elements in the order of the BPMN 2.0 XSD sequences —
//!   `documentation`, `extensionElements`, `incoming`, `outgoing`, I/O data
//!   associations, event definitions, loop characteristics, lane sets, flow
//!   elements, artifacts, … (root: imports, root elements, diagrams) — and
//!   within one kind, model order (document order after parsing, creation
//!   order after editing); unknown children of a BPMN element come last;
//! - inside `extensionElements`: `zeebe:taskDefinition`, `zeebe:subscription`,
//!   `zeebe:calledElement`, `zeebe:loopCharacteristics`, `zeebe:script`,
//!   `zeebe:formDefinition`, `zeebe:assignmentDefinition`, `zeebe:taskHeaders`,
//!   `zeebe:ioMapping` (inputs, then outputs), `zeebe:properties`, then other
//!   extensions in document order;
//! - escaping: `& < >` in text (and `\r` as `&#13;`); `& < > "` and
//!   tab/newline/carriage return as character references in attributes.
//!
//! # Validation
//!
//! [`validate()`] and [`validate_with`] return [`Diagnostic`]s
//! `{code, severity, message, element_id}` with stable codes listed in
//! `DIAGNOSTICS.md`: structural rules (`BPMN0xx`) and Zeebe executability
//! (`BPMN1xx`), including ISO-8601 checks of timer values (values starting with
//! `=` are FEEL and are left alone). FEEL syntax is checked only through a
//! caller-supplied [`FeelCheck`] ([`ValidateOptions::feel`]);
//! [`validate::feel_expressions`] lists every FEEL expression in the model.
//!
//! # Tools
//!
//! - `cargo run -p bpmn --bin bpmn-roundtrip -- [--out DIR] FILE...` parses,
//!   writes, re-parses and compares each file, prints one line per file and
//!   `N passed, M failed`, and exits non-zero if any failed; `--out` saves what
//!   it wrote as `DIR/<file name>`. `end2end/bpmn-moddle/` opens those files with
//!   bpmn-moddle (the reader of bpmn-js) and fails on any warning the original
//!   did not have.
//! - `cargo run -p bpmn --example canon -- FILE` prints a file's canonical form.
//! - `cargo bench -p bpmn` times parse, validate and serialise of a generated
//!   model of 1,000 flow elements (plain `harness = false` benchmark).
//! - Fuzzing (nightly and `cargo install cargo-fuzz`), from `bpmn/`:
//!   `cargo +nightly fuzz run parse fuzz/corpus/parse fuzz/seeds ../testdata/miwg -- -max_total_time=600 -dict=fuzz/bpmn.dict -max_len=16384`.
//!   The target parses arbitrary bytes; whatever parses must write, re-parse to
//!   an equal model, write the same bytes again, and validate without panicking.
//!   Crashes land in `fuzz/artifacts/parse/`; reproduce one with
//!   `cargo run -p bpmn --bin bpmn-roundtrip -- fuzz/artifacts/parse/<file>`.

pub mod edit;
pub mod error;
pub mod model;
mod order;
mod parse;
mod raw;
mod reader;
pub mod timer;
pub mod validate;
pub mod walk;
mod writer;
pub mod xml;

pub use edit::EditError;
pub use error::ParseError;
pub use model::*;
pub use reader::{ParseOptions, read_tree};
pub use writer::to_xml;

/// Parses a BPMN document from text with the default [`ParseOptions`].
pub fn parse(xml: &str) -> Result<Definitions, ParseError> {
    parse_with(xml, &ParseOptions::default())
}

/// Parses a BPMN document from text with explicit limits.
pub fn parse_with(xml: &str, options: &ParseOptions) -> Result<Definitions, ParseError> {
    let doc = reader::read(xml, options)?;
    parse::definitions(xml, doc)
}

/// Parses a BPMN document from bytes, honouring a byte-order mark or the
/// encoding named in the XML declaration (UTF-8, UTF-16, ISO-8859-1, windows-1252).
pub fn parse_bytes(bytes: &[u8], options: &ParseOptions) -> Result<Definitions, ParseError> {
    let text = reader::decode(bytes, options)?;
    parse_with(&text, options)
}

pub use validate::{
    Code, Diagnostic, FeelCheck, Severity, ValidateOptions, validate, validate_with,
};
