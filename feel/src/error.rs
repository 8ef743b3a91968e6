//! Source positions and the errors and diagnostics the parser reports.
//!
//! Every position is a byte offset into the source plus a 1-based line and a 1-based column
//! counted in characters, so the designer can underline the exact text.

use std::fmt;

/// A region of source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// 1-based line of the first character.
    pub line: usize,
    /// 1-based column (in characters) of the first character.
    pub column: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Span {
    /// Computes line and column for a byte range of `src`.
    #[must_use]
    pub fn locate(src: &str, offset: usize, len: usize) -> Self {
        let offset = offset.min(src.len());
        let mut line = 1;
        let mut column = 1;
        for (i, ch) in src.char_indices() {
            if i >= offset {
                break;
            }
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        Self {
            offset,
            line,
            column,
            len,
        }
    }

    /// Byte offset one past the last byte.
    #[must_use]
    pub fn end(&self) -> usize {
        self.offset + self.len
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A syntax error: what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {span}")]
pub struct ParseError {
    /// Human-readable description, e.g. `expected ')' but found 'then'`.
    pub message: String,
    /// Where the problem is.
    pub span: Span,
}

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The expression cannot be evaluated.
    Error,
    /// The expression parses but probably does not do what was meant.
    Warning,
}

/// A message for the designer to show under a span of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Human-readable description.
    pub message: String,
    /// Where to underline.
    pub span: Span,
}

impl From<ParseError> for Diagnostic {
    fn from(e: ParseError) -> Self {
        Self {
            severity: Severity::Error,
            message: e.message,
            span: e.span,
        }
    }
}

/// Why [`crate::eval_str`] produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The expression does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Evaluating the expression reached a resource limit.
    #[error(transparent)]
    Limit(#[from] crate::limits::LimitExceeded),
}

impl EvalError {
    /// A stable machine-readable code: `feel.parse`, or the limit's (`feel.limit.bytes`, …).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Parse(_) => "feel.parse",
            Self::Limit(e) => e.code(),
        }
    }
}
