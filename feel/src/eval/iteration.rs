//! Iteration for `for`, `some` and `every`: over lists, integer ranges and `a..b`, with
//! every combination of several iteration variables.

use super::Evaluator;
use crate::ast::IterSource;
use crate::error::Span;
use crate::value::{Range, Value};
use rust_decimal::prelude::ToPrimitive;

impl Evaluator<'_> {
    /// Runs `body` for each combination of iteration variables (bound in the top frame).
    /// Returns false if iteration was cut short by an error or by `body`.
    pub(super) fn iterate(
        &mut self,
        its: &[(String, IterSource)],
        span: Span,
        body: &mut dyn FnMut(&mut Self) -> bool,
    ) -> bool {
        let Some(((name, src), rest)) = its.split_first() else {
            return body(self);
        };
        let items: Vec<Value> = match src {
            IterSource::List(x) => match self.eval(x) {
                Value::List(xs) => xs,
                Value::Null => {
                    self.warn(x.span, "cannot iterate over null");
                    return false;
                }
                Value::Range(r) => match self.range_items(&r, x.span) {
                    Some(xs) => xs,
                    None => return false,
                },
                other => vec![other],
            },
            IterSource::Range(a, b) => {
                let (av, bv) = (self.eval(a), self.eval(b));
                let (Some(from), Some(to)) = (int_of(&av), int_of(&bv)) else {
                    self.warn(span, "range bounds of an iteration must be integers");
                    return false;
                };
                let n = from.abs_diff(to);
                if !self.range_fits(n, span) {
                    return false;
                }
                let step = if to >= from { 1 } else { -1 };
                (0..=i64::try_from(n).unwrap_or(0))
                    .map(|i| Value::int(from + step * i))
                    .collect()
            }
        };
        for item in items {
            if !self.tick(span) {
                return false;
            }
            self.bind(name.clone(), item);
            if !self.iterate(rest, span, body) {
                return false;
            }
        }
        true
    }

    /// Whether the items of a range `n` apart (so `n + 1` of them) may be built.
    fn range_fits(&mut self, n: u64, span: Span) -> bool {
        let len = usize::try_from(n).unwrap_or(usize::MAX).saturating_add(1);
        self.list_fits(len, span).is_ok()
            && self.charge(len.saturating_mul(super::budget::SLOT), span)
    }

    fn range_items(&mut self, r: &Range, span: Span) -> Option<Vec<Value>> {
        let (Some(mut a), Some(mut b)) = (int_of(&r.start.value), int_of(&r.end.value)) else {
            self.warn(span, "only ranges of integers can be iterated");
            return None;
        };
        if !r.start.closed {
            a += 1;
        }
        if !r.end.closed {
            b -= 1;
        }
        if b < a {
            return Some(Vec::new());
        }
        if !self.range_fits(a.abs_diff(b), span) {
            return None;
        }
        Some((a..=b).map(Value::int).collect())
    }
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) if n.is_integer() => n.to_i64(),
        _ => None,
    }
}
