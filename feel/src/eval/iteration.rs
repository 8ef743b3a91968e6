//! Iteration for `for`, `some` and `every`: over lists, integer ranges and `a..b`, with
//! every combination of several iteration variables.

use super::{Evaluator, MAX_LIST};
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
                if n >= MAX_LIST as u64 {
                    self.warn(span, format!("a list may hold at most {MAX_LIST} items"));
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
            if let Some(top) = self.frames.last_mut() {
                top.insert(name.clone(), item);
            }
            if !self.iterate(rest, span, body) {
                return self.exhausted_or(false);
            }
        }
        true
    }

    fn exhausted_or(&self, v: bool) -> bool {
        if self.exhausted { false } else { v }
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
        if a.abs_diff(b) >= MAX_LIST as u64 {
            self.warn(span, format!("a list may hold at most {MAX_LIST} items"));
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
