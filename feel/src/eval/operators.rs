//! Operators: negation, arithmetic over numbers, temporal values and durations, and
//! comparison with FEEL's equality and ordering (`null` when undecidable).

use super::Evaluator;
use crate::ast::{BinOp, CmpOp};
use crate::error::Span;
use crate::temporal::{DateTime, DayTimeDuration, YearMonthDuration};
use crate::value::Value;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::cmp::Ordering;
impl Evaluator<'_> {
    pub(super) fn negate(&mut self, v: Value, span: Span) -> Value {
        match v {
            Value::Null => Value::Null,
            Value::Number(n) => num(-n),
            Value::DayTimeDuration(d) => Value::DayTimeDuration(DayTimeDuration(-d.0)),
            Value::YearMonthDuration(d) => Value::YearMonthDuration(YearMonthDuration(-d.0)),
            other => {
                self.warn(span, format!("cannot negate a {}", other.type_name()));
                Value::Null
            }
        }
    }

    pub(super) fn binary(&mut self, op: BinOp, l: &Value, r: &Value, span: Span) -> Value {
        let cmp = match op {
            BinOp::Eq => Some(CmpOp::Eq),
            BinOp::Ne => Some(CmpOp::Ne),
            BinOp::Lt => Some(CmpOp::Lt),
            BinOp::Le => Some(CmpOp::Le),
            BinOp::Gt => Some(CmpOp::Gt),
            BinOp::Ge => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(c) = cmp {
            return self
                .compare_op(c, l, r, span)
                .map_or(Value::Null, Value::Bool);
        }
        if l.is_null() || r.is_null() {
            return Value::Null;
        }
        // Concatenation is the one operator that can double its input: check the length
        // before building the string.
        if let (BinOp::Add, Value::String(a), Value::String(b)) = (op, l, r)
            && self
                .string_fits(a.len().saturating_add(b.len()), span)
                .is_err()
        {
            return Value::Null;
        }
        let result = match op {
            BinOp::Add => add(l, r),
            BinOp::Sub => sub(l, r),
            BinOp::Mul => mul(l, r),
            BinOp::Div => div(l, r),
            BinOp::Pow => pow(l, r),
            _ => Err(String::new()),
        };
        match result {
            Ok(v) => v,
            Err(msg) => {
                let sym = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    _ => "**",
                };
                let msg = if msg.is_empty() {
                    format!(
                        "cannot apply '{sym}' to {} and {}",
                        l.type_name(),
                        r.type_name()
                    )
                } else {
                    msg
                };
                self.warn(span, msg);
                Value::Null
            }
        }
    }

    /// `l op r`; `None` when undecidable (null or incomparable), with a warning for
    /// mismatched types.
    pub(crate) fn compare_op(
        &mut self,
        op: CmpOp,
        l: &Value,
        r: &Value,
        span: Span,
    ) -> Option<bool> {
        match op {
            CmpOp::Eq | CmpOp::Ne => {
                let eq = match (l, r) {
                    (Value::Null, Value::Null) => Some(true),
                    (Value::Null, _) | (_, Value::Null) => Some(false),
                    _ => values_equal(l, r),
                };
                if eq.is_none() {
                    self.warn(
                        span,
                        format!("cannot compare {} with {}", l.type_name(), r.type_name()),
                    );
                }
                eq.map(|b| if op == CmpOp::Eq { b } else { !b })
            }
            _ => {
                if l.is_null() || r.is_null() {
                    return None;
                }
                let Some(ord) = compare(l, r) else {
                    self.warn(
                        span,
                        format!("cannot compare {} with {}", l.type_name(), r.type_name()),
                    );
                    return None;
                };
                Some(match op {
                    CmpOp::Lt => ord == Ordering::Less,
                    CmpOp::Le => ord != Ordering::Greater,
                    CmpOp::Gt => ord == Ordering::Greater,
                    _ => ord != Ordering::Less,
                })
            }
        }
    }
}

fn num(d: Decimal) -> Value {
    Value::Number(d)
}

/// Equality of two non-null values; `None` if the types cannot be compared.
pub(crate) fn values_equal(l: &Value, r: &Value) -> Option<bool> {
    Some(match (l, r) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => a == b,
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Date(a), Value::Date(b)) => a == b,
        (Value::Time(a), Value::Time(b)) => a.compare(b)? == Ordering::Equal,
        (Value::DateTime(a), Value::DateTime(b)) => a.compare(b)? == Ordering::Equal,
        (Value::DayTimeDuration(a), Value::DayTimeDuration(b)) => a == b,
        (Value::YearMonthDuration(a), Value::YearMonthDuration(b)) => a == b,
        (Value::List(a), Value::List(b)) => {
            if a.len() != b.len() {
                return Some(false);
            }
            for (x, y) in a.iter().zip(b) {
                if !values_equal(x, y)? {
                    return Some(false);
                }
            }
            true
        }
        (Value::Context(a), Value::Context(b)) => {
            if a.len() != b.len() {
                return Some(false);
            }
            for (k, x) in a.iter() {
                match b.get(k) {
                    Some(y) => {
                        if !values_equal(x, y)? {
                            return Some(false);
                        }
                    }
                    None => return Some(false),
                }
            }
            true
        }
        (Value::Range(a), Value::Range(b)) => {
            a.start.closed == b.start.closed
                && a.end.closed == b.end.closed
                && values_equal(&a.start.value, &b.start.value)?
                && values_equal(&a.end.value, &b.end.value)?
        }
        _ => return None,
    })
}

/// Ordering of two values of the same ordered type.
pub(crate) fn compare(l: &Value, r: &Value) -> Option<Ordering> {
    match (l, r) {
        (Value::Number(a), Value::Number(b)) => Some(a.cmp(b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
        (Value::Time(a), Value::Time(b)) => a.compare(b),
        (Value::DateTime(a), Value::DateTime(b)) => a.compare(b),
        (Value::DayTimeDuration(a), Value::DayTimeDuration(b)) => Some(a.cmp(b)),
        (Value::YearMonthDuration(a), Value::YearMonthDuration(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn overflow() -> String {
    "numeric overflow".to_string()
}

fn add(l: &Value, r: &Value) -> Result<Value, String> {
    use Value as V;
    Ok(match (l, r) {
        (V::Number(a), V::Number(b)) => num(a.checked_add(*b).ok_or_else(overflow)?),
        (V::String(a), V::String(b)) => V::String(format!("{a}{b}")),
        (V::DayTimeDuration(a), V::DayTimeDuration(b)) => {
            V::DayTimeDuration(DayTimeDuration(a.0.checked_add(b.0).ok_or_else(overflow)?))
        }
        (V::YearMonthDuration(a), V::YearMonthDuration(b)) => V::YearMonthDuration(
            YearMonthDuration(a.0.checked_add(b.0).ok_or_else(overflow)?),
        ),
        (V::DateTime(t), V::DayTimeDuration(d)) | (V::DayTimeDuration(d), V::DateTime(t)) => {
            V::DateTime(t.add(*d).ok_or_else(overflow)?)
        }
        (V::DateTime(t), V::YearMonthDuration(d)) | (V::YearMonthDuration(d), V::DateTime(t)) => {
            V::DateTime(t.add_months(d.0).ok_or_else(overflow)?)
        }
        (V::Date(t), V::DayTimeDuration(d)) | (V::DayTimeDuration(d), V::Date(t)) => V::Date(
            DateTime::at_midnight(*t, None)
                .add(*d)
                .ok_or_else(overflow)?
                .date,
        ),
        (V::Date(t), V::YearMonthDuration(d)) | (V::YearMonthDuration(d), V::Date(t)) => {
            V::Date(t.add_months(d.0).ok_or_else(overflow)?)
        }
        (V::Time(t), V::DayTimeDuration(d)) | (V::DayTimeDuration(d), V::Time(t)) => {
            V::Time(t.add(*d))
        }
        _ => return Err(String::new()),
    })
}

fn sub(l: &Value, r: &Value) -> Result<Value, String> {
    use Value as V;
    Ok(match (l, r) {
        (V::Number(a), V::Number(b)) => num(a.checked_sub(*b).ok_or_else(overflow)?),
        (V::DayTimeDuration(a), V::DayTimeDuration(b)) => {
            V::DayTimeDuration(DayTimeDuration(a.0.checked_sub(b.0).ok_or_else(overflow)?))
        }
        (V::YearMonthDuration(a), V::YearMonthDuration(b)) => V::YearMonthDuration(
            YearMonthDuration(a.0.checked_sub(b.0).ok_or_else(overflow)?),
        ),
        (V::DateTime(t), V::DayTimeDuration(d)) => {
            V::DateTime(t.add(DayTimeDuration(-d.0)).ok_or_else(overflow)?)
        }
        (V::DateTime(t), V::YearMonthDuration(d)) => {
            V::DateTime(t.add_months(-d.0).ok_or_else(overflow)?)
        }
        (V::Date(t), V::DayTimeDuration(d)) => V::Date(
            DateTime::at_midnight(*t, None)
                .add(DayTimeDuration(-d.0))
                .ok_or_else(overflow)?
                .date,
        ),
        (V::Date(t), V::YearMonthDuration(d)) => V::Date(t.add_months(-d.0).ok_or_else(overflow)?),
        (V::Time(t), V::DayTimeDuration(d)) => V::Time(t.add(DayTimeDuration(-d.0))),
        (V::DateTime(a), V::DateTime(b)) => V::DayTimeDuration(
            a.sub(b)
                .ok_or("cannot subtract a date and time with a zone and one without")?,
        ),
        (V::Date(a), V::Date(b)) => V::DayTimeDuration(DayTimeDuration::from_secs(
            (a.to_days() - b.to_days()) * 86_400,
        )),
        (V::DateTime(a), V::Date(b)) => V::DayTimeDuration(
            a.sub(&DateTime::at_midnight(*b, a.zone.clone()))
                .ok_or_else(overflow)?,
        ),
        (V::Date(a), V::DateTime(b)) => V::DayTimeDuration(
            DateTime::at_midnight(*a, b.zone.clone())
                .sub(b)
                .ok_or_else(overflow)?,
        ),
        (V::Time(a), V::Time(b)) => V::DayTimeDuration(
            a.sub(b)
                .ok_or("cannot subtract a time with a zone and one without")?,
        ),
        _ => return Err(String::new()),
    })
}

fn dec_to_nanos(d: Decimal) -> Option<i128> {
    d.checked_mul(Decimal::from(1_000_000_000))?
        .round()
        .to_i128()
}

fn mul(l: &Value, r: &Value) -> Result<Value, String> {
    use Value as V;
    Ok(match (l, r) {
        (V::Number(a), V::Number(b)) => num(a.checked_mul(*b).ok_or_else(overflow)?),
        (V::DayTimeDuration(d), V::Number(n)) | (V::Number(n), V::DayTimeDuration(d)) => {
            let secs = Decimal::from_i128_with_scale(d.0, 9)
                .checked_mul(*n)
                .ok_or_else(overflow)?;
            V::DayTimeDuration(DayTimeDuration(dec_to_nanos(secs).ok_or_else(overflow)?))
        }
        (V::YearMonthDuration(d), V::Number(n)) | (V::Number(n), V::YearMonthDuration(d)) => {
            let m = Decimal::from(d.0).checked_mul(*n).ok_or_else(overflow)?;
            V::YearMonthDuration(YearMonthDuration(m.trunc().to_i64().ok_or_else(overflow)?))
        }
        _ => return Err(String::new()),
    })
}

fn div(l: &Value, r: &Value) -> Result<Value, String> {
    use Value as V;
    let zero = || "division by zero".to_string();
    Ok(match (l, r) {
        (V::Number(a), V::Number(b)) => {
            if b.is_zero() {
                return Err(zero());
            }
            num(a.checked_div(*b).ok_or_else(overflow)?)
        }
        (V::DayTimeDuration(d), V::Number(n)) => {
            if n.is_zero() {
                return Err(zero());
            }
            let secs = Decimal::from_i128_with_scale(d.0, 9)
                .checked_div(*n)
                .ok_or_else(overflow)?;
            V::DayTimeDuration(DayTimeDuration(dec_to_nanos(secs).ok_or_else(overflow)?))
        }
        (V::YearMonthDuration(d), V::Number(n)) => {
            if n.is_zero() {
                return Err(zero());
            }
            let m = Decimal::from(d.0).checked_div(*n).ok_or_else(overflow)?;
            V::YearMonthDuration(YearMonthDuration(m.trunc().to_i64().ok_or_else(overflow)?))
        }
        (V::DayTimeDuration(a), V::DayTimeDuration(b)) => {
            if b.0 == 0 {
                return Err(zero());
            }
            num(Decimal::from_i128_with_scale(a.0, 9)
                .checked_div(Decimal::from_i128_with_scale(b.0, 9))
                .ok_or_else(overflow)?)
        }
        (V::YearMonthDuration(a), V::YearMonthDuration(b)) => {
            if b.0 == 0 {
                return Err(zero());
            }
            num(Decimal::from(a.0)
                .checked_div(Decimal::from(b.0))
                .ok_or_else(overflow)?)
        }
        _ => return Err(String::new()),
    })
}

fn pow(l: &Value, r: &Value) -> Result<Value, String> {
    use rust_decimal::MathematicalOps;
    let (Value::Number(a), Value::Number(b)) = (l, r) else {
        return Err(String::new());
    };
    if b.is_integer() {
        let e = b.to_i64().ok_or_else(overflow)?;
        if a.is_zero() && e < 0 {
            return Err("division by zero".into());
        }
        return a.checked_powi(e).map(num).ok_or_else(overflow);
    }
    if a.is_sign_negative() && !a.is_zero() {
        return Err("a negative number has no real power with a fractional exponent".into());
    }
    a.checked_powd(*b).map(num).ok_or_else(overflow)
}
