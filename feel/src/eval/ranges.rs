//! Ranges and unary tests: building intervals, whether a range contains a value, and the
//! tests of `x in ...` and of decision-table cells.

use super::{Evaluator, Frame, values_equal};
use crate::ast::{CmpOp, UnaryTest};
use crate::error::Span;
use crate::value::{Bound, Context, Range, Value};
impl Evaluator<'_> {
    pub(super) fn make_range(
        &mut self,
        s: Value,
        sc: bool,
        e: Value,
        ec: bool,
        span: Span,
    ) -> Value {
        let comparable = matches!(
            (&s, &e),
            (Value::Number(_), Value::Number(_))
                | (Value::String(_), Value::String(_))
                | (Value::Date(_), Value::Date(_))
                | (Value::Time(_), Value::Time(_))
                | (Value::DateTime(_), Value::DateTime(_))
                | (Value::DayTimeDuration(_), Value::DayTimeDuration(_))
                | (Value::YearMonthDuration(_), Value::YearMonthDuration(_))
        ) || (s.is_null() != e.is_null());
        if !comparable {
            self.warn(
                span,
                format!(
                    "range endpoints must be of the same comparable type, not {} and {}",
                    s.type_name(),
                    e.type_name()
                ),
            );
            return Value::Null;
        }
        Value::Range(Box::new(Range {
            start: Bound {
                value: s,
                closed: sc,
            },
            end: Bound {
                value: e,
                closed: ec,
            },
        }))
    }

    pub(super) fn any_test(&mut self, input: &Value, tests: &[UnaryTest], span: Span) -> Value {
        let mut undecided = false;
        for t in tests {
            match self.unary_test(input, t, span) {
                Some(true) => return Value::Bool(true),
                Some(false) => {}
                None => undecided = true,
            }
        }
        if undecided {
            Value::Null
        } else {
            Value::Bool(false)
        }
    }

    fn unary_test(&mut self, input: &Value, t: &UnaryTest, span: Span) -> Option<bool> {
        match t {
            UnaryTest::Compare(op, e) => {
                let v = self.eval(e);
                self.compare_op(*op, input, &v, e.span)
            }
            UnaryTest::Interval {
                start,
                start_closed,
                end,
                end_closed,
            } => {
                let s = self.eval(start);
                let en = self.eval(end);
                let r = Range {
                    start: Bound {
                        value: s,
                        closed: *start_closed,
                    },
                    end: Bound {
                        value: en,
                        closed: *end_closed,
                    },
                };
                self.range_contains(&r, input, span)
            }
            UnaryTest::Expr(e) => {
                if e.mentions_input() {
                    let mut frame = Context::new();
                    frame.insert("?", input.clone());
                    self.frames.push(Frame::Local(frame));
                    let v = self.eval(e);
                    self.frames.pop();
                    return match v {
                        Value::Bool(b) => Some(b),
                        Value::Null => None,
                        other => {
                            self.warn(
                                e.span,
                                format!(
                                    "a test using '?' must give a boolean, not {}",
                                    other.type_name()
                                ),
                            );
                            None
                        }
                    };
                }
                let v = self.eval(e);
                match &v {
                    Value::List(xs) => {
                        if matches!(input, Value::List(_)) && values_equal(input, &v) == Some(true)
                        {
                            return Some(true);
                        }
                        Some(xs.iter().any(|x| values_equal(x, input) == Some(true)))
                    }
                    Value::Range(r) => self.range_contains(r, input, e.span),
                    _ => self.compare_op(CmpOp::Eq, input, &v, e.span),
                }
            }
        }
    }

    pub(crate) fn range_contains(&mut self, r: &Range, x: &Value, span: Span) -> Option<bool> {
        if x.is_null() {
            return None;
        }
        let lo = if r.start.value.is_null() {
            Some(true)
        } else {
            let op = if r.start.closed { CmpOp::Ge } else { CmpOp::Gt };
            self.compare_op(op, x, &r.start.value, span)
        };
        let hi = if r.end.value.is_null() {
            Some(true)
        } else {
            let op = if r.end.closed { CmpOp::Le } else { CmpOp::Lt };
            self.compare_op(op, x, &r.end.value, span)
        };
        match (lo, hi) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        }
    }
}
