//! Paths and filters: `a.b` on contexts, lists of contexts and properties of other values;
//! `xs[condition]` and `xs[index]`.

use super::{Evaluator, Frame};
use crate::ast::Expr;
use crate::builtins;
use crate::error::Span;
use crate::value::{Context, Value};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
impl Evaluator<'_> {
    pub(super) fn path(&mut self, base: Value, key: &str, span: Span) -> Value {
        match base {
            Value::Null => Value::Null,
            Value::Context(c) => match c.get(key) {
                Some(v) => v.clone(),
                None => {
                    self.warn(span, format!("no context entry found with key '{key}'"));
                    Value::Null
                }
            },
            Value::List(xs) => Value::List(
                xs.into_iter()
                    .map(|x| match x {
                        Value::Context(c) => c.get(key).cloned().unwrap_or(Value::Null),
                        other => builtins::property(&other, key).unwrap_or(Value::Null),
                    })
                    .collect(),
            ),
            other => match builtins::property(&other, key) {
                Some(v) => v,
                None => {
                    self.warn(
                        span,
                        format!("a {} has no property '{key}'", other.type_name()),
                    );
                    Value::Null
                }
            },
        }
    }

    pub(super) fn filter(&mut self, base: Value, f: &Expr, span: Span) -> Value {
        let items = match base {
            Value::Null => return Value::Null,
            Value::List(xs) => xs,
            other => vec![other],
        };
        if items.is_empty() {
            // Nothing to bind `item` to: a number means an index (out of range), anything
            // else a condition that keeps nothing.
            let v = self.eval(f);
            return match v {
                Value::Number(_) => Value::Null,
                _ => Value::List(Vec::new()),
            };
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let mut frame = Context::new();
            frame.insert("item", item.clone());
            if let Value::Context(c) = item {
                for (k, v) in c.iter() {
                    frame.insert(k.clone(), v.clone());
                }
            }
            self.frames.push(Frame::Local(frame));
            let warn_mark = self.warnings.len();
            let v = self.eval(f);
            self.frames.pop();
            match v {
                Value::Number(n) if i == 0 => {
                    return index(&items, n).unwrap_or(Value::Null);
                }
                Value::Bool(true) => out.push(item.clone()),
                Value::Bool(false) => {}
                // Items without the filtered entry are skipped quietly (Camunda 8.3+).
                Value::Null => self.warnings.truncate(warn_mark),
                other => {
                    self.warn(
                        span,
                        format!(
                            "a filter must give a boolean or a number, not {}",
                            other.type_name()
                        ),
                    );
                    return Value::Null;
                }
            }
            if self.stopped() {
                return Value::Null;
            }
        }
        Value::List(out)
    }
}

pub(super) fn index(items: &[Value], n: Decimal) -> Option<Value> {
    if !n.is_integer() {
        return None;
    }
    let i = n.to_i64()?;
    let len = i64::try_from(items.len()).ok()?;
    let pos = if i > 0 {
        i - 1
    } else if i < 0 {
        len + i
    } else {
        return None;
    };
    if pos < 0 || pos >= len {
        return None;
    }
    items.get(usize::try_from(pos).ok()?).cloned()
}
