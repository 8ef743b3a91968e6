//! The parse error type.

use thiserror::Error;

/// Why a document could not be read. Every variant that points into the
/// input carries a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The input is larger than [`ParseOptions::max_size`](crate::ParseOptions::max_size).
    #[error("input is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Input size in bytes.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// Elements are nested deeper than [`ParseOptions::max_depth`](crate::ParseOptions::max_depth).
    #[error("line {line}, column {column}: elements nested deeper than the limit of {limit}")]
    TooDeep {
        /// Line of the element that crossed the limit.
        line: usize,
        /// Column of that element.
        column: usize,
        /// Configured limit.
        limit: usize,
    },
    /// A `<!DOCTYPE …>` was found: DTDs, and with them entity declarations and
    /// external entities, are refused.
    #[error(
        "line {line}, column {column}: DOCTYPE declarations are not allowed \
         (DTDs and external entities are refused)"
    )]
    Dtd {
        /// Line of the declaration.
        line: usize,
        /// Column of the declaration.
        column: usize,
    },
    /// The byte input declares or uses an encoding this crate does not read.
    #[error("line {line}, column {column}: {message}")]
    Encoding {
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The input is not well-formed XML (including undeclared entities and
    /// unbound namespace prefixes).
    #[error("line {line}, column {column}: malformed XML: {message}")]
    Syntax {
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Well-formed XML that is not a BPMN document this crate can represent
    /// (wrong root element, a shape without bounds, a non-numeric coordinate…).
    #[error("line {line}, column {column}: {message}")]
    Model {
        /// Line of the offending element.
        line: usize,
        /// Column of the offending element.
        column: usize,
        /// What is wrong.
        message: String,
        /// Id of the offending element, when it has one.
        element_id: Option<String>,
    },
}

impl ParseError {
    /// Line of the problem (1-based); `None` for [`ParseError::TooLarge`].
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::TooLarge { .. } => None,
            Self::TooDeep { line, .. }
            | Self::Dtd { line, .. }
            | Self::Encoding { line, .. }
            | Self::Syntax { line, .. }
            | Self::Model { line, .. } => Some(*line),
        }
    }

    /// Column of the problem (1-based, in characters); `None` for [`ParseError::TooLarge`].
    pub fn column(&self) -> Option<usize> {
        match self {
            Self::TooLarge { .. } => None,
            Self::TooDeep { column, .. }
            | Self::Dtd { column, .. }
            | Self::Encoding { column, .. }
            | Self::Syntax { column, .. }
            | Self::Model { column, .. } => Some(*column),
        }
    }

    /// A stable machine-readable code for API responses.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "bpmn.too_large",
            Self::TooDeep { .. } => "bpmn.too_deep",
            Self::Dtd { .. } => "bpmn.dtd_refused",
            Self::Encoding { .. } => "bpmn.encoding",
            Self::Syntax { .. } => "bpmn.malformed_xml",
            Self::Model { .. } => "bpmn.invalid_model",
        }
    }

    /// Id of the offending element, when known.
    pub fn element_id(&self) -> Option<&str> {
        match self {
            Self::Model { element_id, .. } => element_id.as_deref(),
            _ => None,
        }
    }
}

/// Converts a byte offset into a 1-based (line, column) pair, counting columns in characters.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
