//! FEEL values and their conversion to and from JSON process variables.

use crate::ast::Expr;
use crate::temporal::{Date, DateTime, DayTimeDuration, Time, YearMonthDuration};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value as Json;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A FEEL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A decimal number (28 significant digits).
    Number(Decimal),
    /// A string.
    String(String),
    /// A calendar date.
    Date(Date),
    /// A time of day, optionally zoned.
    Time(Time),
    /// A date and time, optionally zoned.
    DateTime(DateTime),
    /// A days-and-time duration.
    DayTimeDuration(DayTimeDuration),
    /// A years-and-months duration.
    YearMonthDuration(YearMonthDuration),
    /// A list.
    List(Vec<Value>),
    /// A context (ordered key/value map).
    Context(Context),
    /// A range such as `[1..10)` or `< 5`.
    Range(Box<Range>),
    /// A function defined in an expression.
    Function(Arc<Function>),
}

/// An ordered map from names to values; keys are unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Context {
    entries: Vec<(String, Value)>,
}

impl Context {
    /// An empty context.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The value stored under `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value stored under `key`, to change in place.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Sets `key`, replacing an existing entry in place.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        if let Some(slot) = self.entries.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.entries.push((key, value));
        }
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Converts a JSON object into a context (other JSON values give an empty context).
    #[must_use]
    pub fn from_json(json: &Json) -> Self {
        match Value::from_json(json) {
            Value::Context(c) => c,
            _ => Self::new(),
        }
    }
}

impl FromIterator<(String, Value)> for Context {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Self {
        let mut c = Self::new();
        for (k, v) in iter {
            c.insert(k, v);
        }
        c
    }
}

/// One end of a range; `value` is `Null` for an unbounded end.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// The endpoint, or `Null` when unbounded.
    pub value: Value,
    /// Whether the endpoint belongs to the range.
    pub closed: bool,
}

/// A range (interval) of comparable values.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// Lower end.
    pub start: Bound,
    /// Upper end.
    pub end: Bound,
}

/// A function value: parameters, body and the local variables it closed over.
#[derive(Debug)]
pub struct Function {
    /// Parameter names.
    pub params: Vec<String>,
    /// The body.
    pub body: Arc<Expr>,
    /// Local variables visible where the function was defined.
    pub closure: Context,
}

impl PartialEq for Function {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Value {
    /// The FEEL type name, as used by `instance of` and in warnings.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "boolean",
            Self::Number(_) => "number",
            Self::String(_) => "string",
            Self::Date(_) => "date",
            Self::Time(_) => "time",
            Self::DateTime(_) => "date and time",
            Self::DayTimeDuration(_) => "days and time duration",
            Self::YearMonthDuration(_) => "years and months duration",
            Self::List(_) => "list",
            Self::Context(_) => "context",
            Self::Range(_) => "range",
            Self::Function(_) => "function",
        }
    }

    /// Whether this is `null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// A number value from an integer.
    #[must_use]
    pub fn int(n: i64) -> Self {
        Self::Number(Decimal::from(n))
    }

    /// Converts a JSON variable to a FEEL value. Numbers that do not fit a 28-digit decimal
    /// become `null`; strings stay strings (no guessing of dates).
    #[must_use]
    pub fn from_json(json: &Json) -> Self {
        match json {
            Json::Null => Self::Null,
            Json::Bool(b) => Self::Bool(*b),
            Json::Number(n) => json_number(n).map_or(Self::Null, Self::Number),
            Json::String(s) => Self::String(s.clone()),
            Json::Array(xs) => Self::List(xs.iter().map(Self::from_json).collect()),
            Json::Object(m) => Self::Context(Context {
                entries: m
                    .iter()
                    .map(|(k, v)| (k.clone(), Self::from_json(v)))
                    .collect(),
            }),
        }
    }

    /// Converts a FEEL value to JSON. Temporal values become ISO-8601 strings, ranges become
    /// `{start, end, startIncluded, endIncluded}` objects, functions become `null`.
    #[must_use]
    pub fn to_json(&self) -> Json {
        match self {
            Self::Null | Self::Function(_) => Json::Null,
            Self::Bool(b) => Json::Bool(*b),
            Self::Number(d) => decimal_to_json(*d),
            Self::String(s) => Json::String(s.clone()),
            Self::Date(d) => Json::String(d.to_string()),
            Self::Time(t) => Json::String(t.to_string()),
            Self::DateTime(t) => Json::String(t.to_string()),
            Self::DayTimeDuration(d) => Json::String(d.to_string()),
            Self::YearMonthDuration(d) => Json::String(d.to_string()),
            Self::List(xs) => Json::Array(xs.iter().map(Self::to_json).collect()),
            Self::Context(c) => Json::Object(
                c.entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Self::Range(r) => {
                let mut m = serde_json::Map::new();
                m.insert("start".into(), r.start.value.to_json());
                m.insert("end".into(), r.end.value.to_json());
                m.insert("startIncluded".into(), Json::Bool(r.start.closed));
                m.insert("endIncluded".into(), Json::Bool(r.end.closed));
                Json::Object(m)
            }
        }
    }
}

fn json_number(n: &serde_json::Number) -> Option<Decimal> {
    if let Some(i) = n.as_i64() {
        return Some(Decimal::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(Decimal::from(u));
    }
    let text = n.to_string();
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
        .map(|d| d.normalize())
}

fn decimal_to_json(d: Decimal) -> Json {
    let d = d.normalize();
    if d.is_integer()
        && let Some(i) = d.to_i64()
    {
        return Json::from(i);
    }
    // JSON numbers are read as binary floats by most consumers; the decimal's shortest text
    // is the best we can hand over.
    d.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Json::Null, Json::Number)
}

/// Writes a string as a FEEL string literal.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "\"")?;
    for c in s.chars() {
        match c {
            '"' => write!(f, "\\\"")?,
            '\\' => write!(f, "\\\\")?,
            '\n' => write!(f, "\\n")?,
            c => write!(f, "{c}")?,
        }
    }
    write!(f, "\"")
}

/// FEEL text form, as the `string()` function shows nested values (`[1, "a"]`, `{a:1}`).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => write!(f, "null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(d) => write!(f, "{}", d.normalize()),
            Self::String(s) => write_quoted(f, s),
            Self::Date(d) => write!(f, "{d}"),
            Self::Time(t) => write!(f, "{t}"),
            Self::DateTime(t) => write!(f, "{t}"),
            Self::DayTimeDuration(d) => write!(f, "{d}"),
            Self::YearMonthDuration(d) => write!(f, "{d}"),
            Self::List(xs) => {
                write!(f, "[")?;
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{x}")?;
                }
                write!(f, "]")
            }
            Self::Context(c) => {
                write!(f, "{{")?;
                for (i, (k, v)) in c.entries.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                write!(f, "}}")
            }
            Self::Range(r) => {
                let open = if r.start.closed { "[" } else { "(" };
                let close = if r.end.closed { "]" } else { ")" };
                write!(f, "{open}{}..{}{close}", r.start.value, r.end.value)
            }
            Self::Function(func) => write!(f, "function({})", func.params.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trip() {
        let j = json!({"a": 1, "b": [true, null, "x"], "c": {"d": 2.5}});
        assert_eq!(Value::from_json(&j).to_json(), j);
    }

    #[test]
    fn decimals_from_json_are_exact() {
        assert_eq!(
            Value::from_json(&json!(0.1)),
            Value::Number(Decimal::from_str("0.1").unwrap())
        );
        assert_eq!(Value::from_json(&json!(1e300)), Value::Null);
    }
}
