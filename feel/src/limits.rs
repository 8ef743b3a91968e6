//! The resource limits of an evaluation and the error that reports one exceeded.
//!
//! Expressions come from process models and may be hostile or simply wrong: one that
//! doubles a string at every step, or copies a list into itself in a loop, would otherwise
//! grow until the process runs out of memory. Every evaluation therefore carries a budget:
//! the bytes of all strings, lists and contexts it builds or copies count against
//! [`Limits::max_bytes`], and no single string, list or context may grow past its own cap.
//! An evaluation that reaches a limit stops at once with a [`LimitExceeded`] error instead
//! of a value.

use crate::error::Span;
use std::fmt;

/// How much one evaluation may build. The defaults leave room for expressions over large
/// process variables (a 1 MiB JSON list of records takes about 7 MiB as FEEL values, and a
/// filter or a sort copies it once or twice) and stop a runaway expression long before it
/// troubles the process that evaluates it: one evaluation holds at most about its byte
/// limit, and a little more for compiled patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of values the evaluation may build in total: every string, list and context it
    /// creates, and every copy it makes of a variable or an intermediate value, counts (the
    /// text of a string, the slots of a list, the keys and slots of a context).
    pub max_bytes: usize,
    /// Longest string, in bytes (UTF-8).
    pub max_string_bytes: usize,
    /// Most items in one list.
    pub max_list_items: usize,
    /// Most entries in one context.
    pub max_context_entries: usize,
    /// Evaluation steps (sub-expressions, loop iterations, function calls).
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_string_bytes: 16 << 20,
            max_list_items: 100_000,
            max_context_entries: 100_000,
            max_steps: 2_000_000,
        }
    }
}

/// Deepest a value may nest (lists in lists, contexts in contexts). Not an option: code that
/// walks values recursively (conversion to JSON, equality, text) must fit its stack, as the
/// evaluator itself must.
pub const MAX_VALUE_DEPTH: usize = 256;

/// Deepest evaluation nesting (sub-expressions plus function calls). Not an option, for the
/// same reason: the worst case fits a 1 MiB stack.
pub const MAX_EVAL_DEPTH: usize = 200;

/// Which limit an evaluation reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// [`Limits::max_bytes`]
    Bytes,
    /// [`Limits::max_string_bytes`]
    StringBytes,
    /// [`Limits::max_list_items`]
    ListItems,
    /// [`Limits::max_context_entries`]
    ContextEntries,
    /// [`Limits::max_steps`]
    Steps,
    /// [`MAX_EVAL_DEPTH`]
    EvalDepth,
    /// [`MAX_VALUE_DEPTH`]
    ValueDepth,
}

impl Limit {
    /// A stable machine-readable code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Bytes => "feel.limit.bytes",
            Self::StringBytes => "feel.limit.string_bytes",
            Self::ListItems => "feel.limit.list_items",
            Self::ContextEntries => "feel.limit.context_entries",
            Self::Steps => "feel.limit.steps",
            Self::EvalDepth => "feel.limit.eval_depth",
            Self::ValueDepth => "feel.limit.value_depth",
        }
    }

    /// The limit's value in `limits`.
    #[must_use]
    pub fn max(self, limits: &Limits) -> u64 {
        let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        match self {
            Self::Bytes => wide(limits.max_bytes),
            Self::StringBytes => wide(limits.max_string_bytes),
            Self::ListItems => wide(limits.max_list_items),
            Self::ContextEntries => wide(limits.max_context_entries),
            Self::Steps => limits.max_steps,
            Self::EvalDepth => wide(MAX_EVAL_DEPTH),
            Self::ValueDepth => wide(MAX_VALUE_DEPTH),
        }
    }
}

/// An evaluation stopped because it reached a resource limit; its value is `null`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LimitExceeded {
    /// The limit reached.
    pub limit: Limit,
    /// Its value in this evaluation.
    pub max: u64,
    /// The sub-expression that would have gone past it.
    pub span: Span,
}

impl LimitExceeded {
    /// A stable machine-readable code, e.g. `feel.limit.bytes`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.limit.code()
    }

    /// What happened, naming the limit, without the position.
    #[must_use]
    pub fn message(&self) -> String {
        let max = self.max;
        let what = match self.limit {
            Limit::Bytes => format!("it would build more than {max} bytes of values (max_bytes)"),
            Limit::StringBytes => {
                format!("a string would be longer than {max} bytes (max_string_bytes)")
            }
            Limit::ListItems => format!("a list would hold more than {max} items (max_list_items)"),
            Limit::ContextEntries => {
                format!("a context would hold more than {max} entries (max_context_entries)")
            }
            Limit::Steps => format!("the expression takes more than {max} steps (max_steps)"),
            Limit::EvalDepth => {
                format!("the expression nests more than {max} levels deep, counting function calls")
            }
            Limit::ValueDepth => format!("a value would nest more than {max} levels deep"),
        };
        format!("evaluation stopped: {what} [{}]", self.code())
    }
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at {})", self.message(), self.span)
    }
}
