//! BPMN 2.0 for ASTRAflow: a typed model, lossless and deterministic XML
//! (with BPMNDI and `zeebe:` extensions), validation with stable diagnostic
//! codes, and an editing API for the designer.
//!
//! The crate does no I/O and builds for `wasm32-unknown-unknown`.
//! (Full documentation: model, canonical order, limits, fuzzing and benchmarks
//! are described in the sections below.)

pub mod edit;
pub mod error;
pub mod model;
mod order;
mod parse;
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
