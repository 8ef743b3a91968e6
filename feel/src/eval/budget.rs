//! What an evaluation may spend: steps, and bytes of the values it builds (see
//! [`crate::limits`]).
//!
//! Values are charged where they come into being rather than in every operation that might
//! grow one: [`Evaluator::eval`] admits the value of each expression that builds or copies
//! one, and every built-in's result is admitted on its way out. Admitting walks the value,
//! checks the caps on a single string, list, context and on nesting, and charges its bytes
//! against the evaluation's total. Because every value an operation starts from has been
//! paid for, an operation whose result is at most a few times the size of its arguments
//! needs no check of its own; only those that can multiply their input (concatenation,
//! `string join`, `replace`, ranges) check the size before they allocate.
//!
//! Scratch copies that live only while one item is processed (the `item` of a filter, the
//! arguments handed to a `sort` comparator) are not charged: each is a copy of a value that
//! was, and at most one per nesting level is alive.

use super::Evaluator;
use crate::error::Span;
use crate::limits::{Limit, LimitExceeded, MAX_VALUE_DEPTH};
use crate::value::{Context, Range, Value};
use std::mem::size_of;

/// Bytes of a list's slots per item.
pub(crate) const SLOT: usize = size_of::<Value>();
/// Bytes of a context's slots per entry, without the key's text.
const ENTRY: usize = size_of::<(String, Value)>();

/// How much of an admitted value is new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Charge {
    /// All of it: a literal, a copy of a variable or of part of a value, a built-in's result.
    Whole,
    /// Only its own slots and keys: a list or context made of values admitted already.
    Shell,
}

impl Evaluator<'_> {
    /// Counts one unit of work; false once the evaluation has stopped.
    pub(crate) fn tick(&mut self, span: Span) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        self.steps += 1;
        if self.steps > self.opts.limits.max_steps {
            self.stop(Limit::Steps, span);
            return false;
        }
        true
    }

    /// Whether a limit has been reached; everything evaluated afterwards is `null`.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped.is_some()
    }

    /// Stops the evaluation at `span` because of `limit` (the first limit reached is the
    /// one reported).
    pub(crate) fn stop(&mut self, limit: Limit, span: Span) {
        if self.stopped.is_none() {
            self.stopped = Some(LimitExceeded {
                limit,
                max: limit.max(&self.opts.limits),
                span,
            });
        }
    }

    /// Stops the evaluation and returns the message for a built-in's error result.
    pub(crate) fn exceeded(&mut self, limit: Limit, span: Span) -> String {
        self.stop(limit, span);
        self.stopped
            .as_ref()
            .map(LimitExceeded::message)
            .unwrap_or_default()
    }

    /// Charges `bytes` against the evaluation's total; false (and stopped) when they do not
    /// fit.
    pub(crate) fn charge(&mut self, bytes: usize, span: Span) -> bool {
        if self.stopped() {
            return false;
        }
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.opts.limits.max_bytes {
            self.stop(Limit::Bytes, span);
            return false;
        }
        true
    }

    /// Before building a string of `len` bytes: whether it may be that long and still fits
    /// the total.
    pub(crate) fn string_fits(&mut self, len: usize, span: Span) -> Result<(), String> {
        if len > self.opts.limits.max_string_bytes {
            return Err(self.exceeded(Limit::StringBytes, span));
        }
        if self.bytes.saturating_add(len) > self.opts.limits.max_bytes {
            return Err(self.exceeded(Limit::Bytes, span));
        }
        Ok(())
    }

    /// Before building a list of `len` items: whether it may hold that many and its slots
    /// still fit the total.
    pub(crate) fn list_fits(&mut self, len: usize, span: Span) -> Result<(), String> {
        if len > self.opts.limits.max_list_items {
            return Err(self.exceeded(Limit::ListItems, span));
        }
        if self.bytes.saturating_add(len.saturating_mul(SLOT)) > self.opts.limits.max_bytes {
            return Err(self.exceeded(Limit::Bytes, span));
        }
        Ok(())
    }

    /// Checks `v` against the caps and charges it; `null` once a limit is reached.
    pub(super) fn admit(&mut self, v: Value, charge: Charge, span: Span) -> Value {
        if self.stopped() {
            return Value::Null;
        }
        if !matches!(
            v,
            Value::String(_) | Value::List(_) | Value::Context(_) | Value::Range(_)
        ) {
            return v;
        }
        let mut size = Size::default();
        if let Err(limit) = size.value(&v, 0, self) {
            self.stop(limit, span);
            return Value::Null;
        }
        let bytes = match charge {
            Charge::Whole => size.whole,
            Charge::Shell => size.shell,
        };
        if self.charge(bytes, span) {
            v
        } else {
            Value::Null
        }
    }
}

/// The bytes of a value: all of them, and those of its outermost list or context only.
#[derive(Default)]
struct Size {
    whole: usize,
    shell: usize,
}

impl Size {
    fn value(&mut self, v: &Value, level: usize, ev: &Evaluator<'_>) -> Result<(), Limit> {
        let limits = &ev.opts.limits;
        let own = match v {
            Value::String(s) => {
                if s.len() > limits.max_string_bytes {
                    return Err(Limit::StringBytes);
                }
                s.len()
            }
            Value::List(xs) => {
                if xs.len() > limits.max_list_items {
                    return Err(Limit::ListItems);
                }
                nested(level)?;
                for x in xs {
                    self.value(x, level + 1, ev)?;
                }
                xs.len().saturating_mul(SLOT)
            }
            Value::Context(c) => {
                if c.len() > limits.max_context_entries {
                    return Err(Limit::ContextEntries);
                }
                nested(level)?;
                self.context(c, level + 1, ev)?
            }
            Value::Range(r) => {
                nested(level)?;
                let Range { start, end } = r.as_ref();
                self.value(&start.value, level + 1, ev)?;
                self.value(&end.value, level + 1, ev)?;
                size_of::<Range>()
            }
            // A function's closure is shared, and charged when the function is defined.
            _ => 0,
        };
        self.whole = self.whole.saturating_add(own);
        if level == 0 {
            self.shell = own;
        }
        Ok(())
    }

    /// Walks the entries of `c` and returns the bytes of its slots and keys.
    fn context(&mut self, c: &Context, level: usize, ev: &Evaluator<'_>) -> Result<usize, Limit> {
        let mut own = c.len().saturating_mul(ENTRY);
        for (k, x) in c.iter() {
            own = own.saturating_add(k.len());
            self.value(x, level, ev)?;
        }
        Ok(own)
    }
}

fn nested(level: usize) -> Result<(), Limit> {
    if level >= MAX_VALUE_DEPTH {
        Err(Limit::ValueDepth)
    } else {
        Ok(())
    }
}

/// The bytes of a closure's variables, charged when a function is defined; `Err` when they
/// break a cap.
pub(super) fn closure_bytes(c: &Context, ev: &Evaluator<'_>) -> Result<usize, Limit> {
    let mut size = Size::default();
    let own = size.context(c, 1, ev)?;
    Ok(size.whole.saturating_add(own))
}
