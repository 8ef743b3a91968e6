//! Built-in functions and properties of temporal values.
//!
//! Each function takes evaluated arguments and returns a value or a message; the evaluator
//! turns a message into `null` plus a warning naming the function, and checks and charges
//! the value against the evaluation's limits (so a function whose result is at most a few
//! times its arguments' size needs no check of its own; those that can multiply their input
//! check before they build). The functions live in one
//! module per family (conversion, boolean, string, list, numeric, context, temporal), each
//! with its table of names and parameter names; [`FAMILIES`] joins them.

mod boolean;
mod context;
mod conversion;
mod list;
mod numeric;
mod properties;
mod string;
mod temporal;

use crate::error::Span;
use crate::eval::Evaluator;
use crate::value::Value;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

type R = Result<Value, String>;

pub(crate) use conversion::parse_temporal;
pub(crate) use properties::property;

/// A family's built-in functions with their parameter names (for calls with named
/// arguments).
type Table = &'static [(&'static str, &'static [&'static str])];

/// A family's implementation, called with the name it was asked for.
type Call = fn(&mut Evaluator<'_>, &str, Vec<Value>, Span) -> R;

/// The families of built-in functions, in the order [`names`] lists them.
const FAMILIES: &[(Table, Call)] = &[
    (conversion::FUNCTIONS, |_, name, args, _| {
        conversion::call(name, &args)
    }),
    (boolean::FUNCTIONS, |_, name, args, _| {
        boolean::call(name, args)
    }),
    (string::FUNCTIONS, |ev, name, args, span| {
        string::call(ev, name, &args, span)
    }),
    (list::FUNCTIONS, list::call),
    (numeric::FUNCTIONS, |_, name, args, _| {
        numeric::call(name, &args)
    }),
    (context::FUNCTIONS, |_, name, args, _| {
        context::call(name, args)
    }),
    (temporal::FUNCTIONS, |ev, name, args, _| {
        temporal::call(ev, name, &args)
    }),
];

fn entries() -> impl Iterator<Item = &'static (&'static str, &'static [&'static str])> {
    FAMILIES.iter().flat_map(|(functions, _)| functions.iter())
}

/// Whether a built-in function of this name exists.
#[must_use]
pub fn exists(name: &str) -> bool {
    entries().any(|(n, _)| *n == name)
}

/// Names of all built-in functions.
pub fn names() -> impl Iterator<Item = &'static str> {
    entries().map(|(n, _)| *n)
}

pub(crate) fn params(name: &str) -> &'static [&'static str] {
    entries().find(|(n, _)| *n == name).map_or(&[], |(_, p)| p)
}

/// Calls built-in `name` with evaluated `args`.
pub(crate) fn call(ev: &mut Evaluator<'_>, name: &str, args: Vec<Value>, span: Span) -> R {
    let family = FAMILIES
        .iter()
        .find(|(functions, _)| functions.iter().any(|(n, _)| *n == name));
    match family {
        Some((_, call)) => call(ev, name, args, span),
        None => Err("unknown function".into()),
    }
}

fn arity(args: &[Value], min: usize, max: usize) -> Result<(), String> {
    if args.len() < min || args.len() > max {
        let expect = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(format!("expects {expect} arguments but got {}", args.len()));
    }
    Ok(())
}

fn type_err(what: &str, v: &Value) -> String {
    format!("expected {what} but found {}", v.type_name())
}

fn num_arg(args: &[Value], i: usize) -> Result<Decimal, String> {
    match args.get(i) {
        Some(Value::Number(n)) => Ok(*n),
        Some(v) => Err(type_err("a number", v)),
        None => Err("missing number argument".into()),
    }
}

fn int_arg(args: &[Value], i: usize) -> Result<i64, String> {
    let n = num_arg(args, i)?;
    if !n.is_integer() {
        return Err(format!("expected an integer but found {n}"));
    }
    n.to_i64().ok_or_else(|| format!("{n} is out of range"))
}

fn str_arg(args: &[Value], i: usize) -> Result<&str, String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(type_err("a string", v)),
        None => Err("missing string argument".into()),
    }
}

fn list_arg(args: &[Value], i: usize) -> Result<&[Value], String> {
    match args.get(i) {
        Some(Value::List(xs)) => Ok(xs),
        Some(v) => Err(type_err("a list", v)),
        None => Err("missing list argument".into()),
    }
}

/// A list argument given either as one list or as several arguments.
fn list_or_varargs(args: Vec<Value>) -> Vec<Value> {
    if args.len() == 1 && matches!(args.first(), Some(Value::List(_))) {
        return match args.into_iter().next() {
            Some(Value::List(xs)) => xs,
            _ => Vec::new(),
        };
    }
    args
}

fn n(d: Decimal) -> Value {
    Value::Number(d.normalize())
}

fn s(x: impl Into<String>) -> Value {
    Value::String(x.into())
}

/// Converts 1-based `start position` (negative counts from the end) and optional `length`
/// into a half-open index range.
fn slice_bounds(
    len: usize,
    args: &[Value],
    start_i: usize,
    len_i: usize,
) -> Result<(usize, usize), String> {
    let start = int_arg(args, start_i)?;
    let len_i64 = i64::try_from(len).map_err(|_| "too long")?;
    let from = if start > 0 {
        start - 1
    } else if start < 0 {
        len_i64 + start
    } else {
        return Err("start position must not be 0".into());
    };
    if from < 0 || from > len_i64 {
        return Err(format!("start position {start} is out of range"));
    }
    let to = match args.get(len_i) {
        None | Some(Value::Null) => len_i64,
        Some(_) => {
            let l = int_arg(args, len_i)?;
            if l < 0 {
                return Err("length must not be negative".into());
            }
            from.saturating_add(l).min(len_i64)
        }
    };
    Ok((
        usize::try_from(from).map_err(|_| "out of range")?,
        usize::try_from(to).map_err(|_| "out of range")?,
    ))
}
