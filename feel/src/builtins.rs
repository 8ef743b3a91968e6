//! Built-in functions and properties of temporal values.
//!
//! Each function takes evaluated arguments and returns a value or a message; the evaluator
//! turns a message into `null` plus a warning naming the function.

use crate::error::Span;
use crate::eval::{Evaluator, MAX_LIST, compare, time_of, values_equal};
use crate::temporal::{Date, DateTime, DayTimeDuration, LocalTime, Time, YearMonthDuration, Zone};
use crate::value::{Context, Range, Value};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};
use std::cmp::Ordering;
use std::str::FromStr;

type R = Result<Value, String>;

/// Built-in functions and their parameter names (for calls with named arguments).
const FUNCTIONS: &[(&str, &[&str])] = &[
    // conversion
    (
        "number",
        &["from", "grouping separator", "decimal separator"],
    ),
    ("string", &["from"]),
    ("date", &["from", "month", "day"]),
    ("time", &["from", "minute", "second", "offset"]),
    ("date and time", &["from", "time"]),
    ("duration", &["from"]),
    ("years and months duration", &["from", "to"]),
    // boolean
    ("not", &["negand"]),
    ("is defined", &["value"]),
    ("get or else", &["value", "default"]),
    // string
    ("string length", &["string"]),
    ("substring", &["string", "start position", "length"]),
    ("substring before", &["string", "match"]),
    ("substring after", &["string", "match"]),
    ("upper case", &["string"]),
    ("lower case", &["string"]),
    ("contains", &["string", "match"]),
    ("starts with", &["string", "match"]),
    ("ends with", &["string", "match"]),
    ("matches", &["input", "pattern", "flags"]),
    ("replace", &["input", "pattern", "replacement", "flags"]),
    ("split", &["string", "delimiter"]),
    ("string join", &["list", "delimiter", "prefix", "suffix"]),
    ("trim", &["string"]),
    // list
    ("list contains", &["list", "element"]),
    ("count", &["list"]),
    ("min", &["list"]),
    ("max", &["list"]),
    ("sum", &["list"]),
    ("product", &["list"]),
    ("mean", &["list"]),
    ("median", &["list"]),
    ("all", &["list"]),
    ("any", &["list"]),
    ("sublist", &["list", "start position", "length"]),
    ("append", &["list", "items"]),
    ("concatenate", &["lists"]),
    ("insert before", &["list", "position", "newItem"]),
    ("remove", &["list", "position"]),
    ("reverse", &["list"]),
    ("index of", &["list", "match"]),
    ("union", &["lists"]),
    ("distinct values", &["list"]),
    ("duplicate values", &["list"]),
    ("flatten", &["list"]),
    ("sort", &["list", "precedes"]),
    ("is empty", &["list"]),
    // numeric
    ("decimal", &["n", "scale"]),
    ("floor", &["n", "scale"]),
    ("ceiling", &["n", "scale"]),
    ("round up", &["n", "scale"]),
    ("round down", &["n", "scale"]),
    ("round half up", &["n", "scale"]),
    ("round half down", &["n", "scale"]),
    ("abs", &["n"]),
    ("modulo", &["dividend", "divisor"]),
    ("sqrt", &["number"]),
    ("log", &["number"]),
    ("exp", &["number"]),
    ("odd", &["number"]),
    ("even", &["number"]),
    // context
    ("get value", &["context", "key"]),
    ("get entries", &["context"]),
    ("context put", &["context", "key", "value"]),
    ("context merge", &["contexts"]),
    ("context", &["entries"]),
    // temporal
    ("now", &[]),
    ("today", &[]),
    ("day of week", &["date"]),
    ("day of year", &["date"]),
    ("week of year", &["date"]),
    ("month of year", &["date"]),
    ("last day of month", &["date"]),
];

/// Whether a built-in function of this name exists.
#[must_use]
pub fn exists(name: &str) -> bool {
    FUNCTIONS.iter().any(|(n, _)| *n == name)
}

/// Names of all built-in functions.
pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|(n, _)| *n)
}

pub(crate) fn params(name: &str) -> &'static [&'static str] {
    FUNCTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(&[], |(_, p)| p)
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

fn cap(len: usize) -> Result<(), String> {
    if len > MAX_LIST {
        Err(format!("a list may hold at most {MAX_LIST} items"))
    } else {
        Ok(())
    }
}

/// Calls built-in `name` with evaluated `args`.
pub(crate) fn call(ev: &mut Evaluator<'_>, name: &str, args: Vec<Value>, span: Span) -> R {
    match name {
        // ---- conversion
        "number" => {
            arity(&args, 1, 3)?;
            let mut text = str_arg(&args, 0)?.to_string();
            if let Some(Value::String(g)) = args.get(1) {
                if !matches!(g.as_str(), " " | "," | ".") {
                    return Err("grouping separator must be ' ', ',' or '.'".into());
                }
                text = text.replace(g.as_str(), "");
            }
            if let Some(Value::String(d)) = args.get(2) {
                if !matches!(d.as_str(), "," | ".") {
                    return Err("decimal separator must be ',' or '.'".into());
                }
                text = text.replace(d.as_str(), ".");
            }
            parse_number(&text)
                .map(n)
                .ok_or_else(|| format!("'{text}' is not a number"))
        }
        "string" => {
            arity(&args, 1, 1)?;
            Ok(match &args[0] {
                Value::Null => Value::Null,
                Value::String(x) => s(x.clone()),
                other => s(other.to_string()),
            })
        }
        "date" => {
            arity(&args, 1, 3)?;
            if args.len() == 3 {
                let (y, m, d) = (int_arg(&args, 0)?, int_arg(&args, 1)?, int_arg(&args, 2)?);
                let (Ok(m), Ok(d)) = (u32::try_from(m), u32::try_from(d)) else {
                    return Err("invalid date".into());
                };
                return Date::new(y, m, d)
                    .map(Value::Date)
                    .ok_or_else(|| "invalid date".into());
            }
            arity(&args, 1, 1)?;
            match &args[0] {
                Value::String(x) => Date::parse(x)
                    .map(Value::Date)
                    .ok_or_else(|| format!("invalid date '{x}'")),
                Value::Date(d) => Ok(Value::Date(*d)),
                Value::DateTime(t) => Ok(Value::Date(t.date)),
                other => Err(type_err("a string or date and time", other)),
            }
        }
        "time" => {
            arity(&args, 1, 4)?;
            if args.len() >= 3 {
                let (h, m) = (int_arg(&args, 0)?, int_arg(&args, 1)?);
                let sec = num_arg(&args, 2)?;
                let whole = sec.trunc().to_u32().ok_or("invalid second")?;
                let nanos = ((sec - sec.trunc()) * Decimal::from(1_000_000_000))
                    .trunc()
                    .to_u32()
                    .ok_or("invalid second")?;
                let (Ok(h), Ok(m)) = (u32::try_from(h), u32::try_from(m)) else {
                    return Err("invalid time".into());
                };
                let local = LocalTime::new(h, m, whole, nanos).ok_or("invalid time")?;
                let zone = match args.get(3) {
                    None | Some(Value::Null) => None,
                    Some(Value::DayTimeDuration(d)) => {
                        let secs =
                            i32::try_from(d.0 / 1_000_000_000).map_err(|_| "invalid offset")?;
                        if secs.abs() > 18 * 3600 {
                            return Err("offset must be within ±18 hours".into());
                        }
                        Some(Zone::offset(secs))
                    }
                    Some(other) => return Err(type_err("a days and time duration", other)),
                };
                return Ok(Value::Time(Time { local, zone }));
            }
            arity(&args, 1, 1)?;
            match &args[0] {
                Value::String(x) => Time::parse(x).map(Value::Time),
                Value::Time(t) => Ok(Value::Time(t.clone())),
                Value::DateTime(t) => Ok(Value::Time(time_of(t))),
                Value::Date(_) => Ok(Value::Time(Time {
                    local: LocalTime { secs: 0, nanos: 0 },
                    zone: Some(Zone::offset(0)),
                })),
                other => Err(type_err("a string, date or date and time", other)),
            }
        }
        "date and time" => {
            arity(&args, 1, 2)?;
            if args.len() == 2 {
                let date = match &args[0] {
                    Value::Date(d) => *d,
                    Value::DateTime(t) => t.date,
                    other => return Err(type_err("a date", other)),
                };
                let Value::Time(t) = &args[1] else {
                    return Err(type_err("a time", &args[1]));
                };
                return Ok(Value::DateTime(DateTime {
                    date,
                    time: t.local,
                    zone: t.zone.clone(),
                }));
            }
            match &args[0] {
                Value::String(x) => DateTime::parse(x).map(Value::DateTime),
                Value::DateTime(t) => Ok(Value::DateTime(t.clone())),
                Value::Date(d) => Ok(Value::DateTime(DateTime::at_midnight(*d, None))),
                other => Err(type_err("a string", other)),
            }
        }
        "duration" => {
            arity(&args, 1, 1)?;
            let x = str_arg(&args, 0)?;
            parse_duration(x).ok_or_else(|| format!("invalid duration '{x}'"))
        }
        "years and months duration" => {
            arity(&args, 2, 2)?;
            let a = as_date_time(&args[0])?;
            let b = as_date_time(&args[1])?;
            Ok(Value::YearMonthDuration(YearMonthDuration::between(&a, &b)))
        }
        // ---- boolean
        "not" => {
            arity(&args, 1, 1)?;
            match &args[0] {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                Value::Null => Ok(Value::Null),
                other => Err(type_err("a boolean", other)),
            }
        }
        "is defined" => {
            arity(&args, 1, 1)?;
            Ok(Value::Bool(!args[0].is_null()))
        }
        "get or else" => {
            arity(&args, 2, 2)?;
            let mut it = args.into_iter();
            let v = it.next().unwrap_or(Value::Null);
            Ok(if v.is_null() {
                it.next().unwrap_or(Value::Null)
            } else {
                v
            })
        }
        // ---- string
        "string length" => {
            arity(&args, 1, 1)?;
            Ok(Value::int(
                i64::try_from(str_arg(&args, 0)?.chars().count()).unwrap_or(i64::MAX),
            ))
        }
        "substring" => {
            arity(&args, 2, 3)?;
            let chars: Vec<char> = str_arg(&args, 0)?.chars().collect();
            let (from, to) = slice_bounds(chars.len(), &args, 1, 2)?;
            Ok(s(chars[from..to].iter().collect::<String>()))
        }
        "substring before" | "substring after" => {
            arity(&args, 2, 2)?;
            let (x, m) = (str_arg(&args, 0)?, str_arg(&args, 1)?);
            Ok(s(match x.find(m) {
                Some(i) if name == "substring before" => &x[..i],
                Some(i) => &x[i + m.len()..],
                None => "",
            }))
        }
        "upper case" => {
            arity(&args, 1, 1)?;
            Ok(s(str_arg(&args, 0)?.to_uppercase()))
        }
        "lower case" => {
            arity(&args, 1, 1)?;
            Ok(s(str_arg(&args, 0)?.to_lowercase()))
        }
        "trim" => {
            arity(&args, 1, 1)?;
            Ok(s(str_arg(&args, 0)?.trim()))
        }
        "contains" | "starts with" | "ends with" => {
            arity(&args, 2, 2)?;
            let (x, m) = (str_arg(&args, 0)?, str_arg(&args, 1)?);
            Ok(Value::Bool(match name {
                "contains" => x.contains(m),
                "starts with" => x.starts_with(m),
                _ => x.ends_with(m),
            }))
        }
        "matches" => {
            arity(&args, 2, 3)?;
            let re = regex(str_arg(&args, 1)?, args.get(2))?;
            Ok(Value::Bool(re.is_match(str_arg(&args, 0)?)))
        }
        "replace" => {
            arity(&args, 3, 4)?;
            let re = regex(str_arg(&args, 1)?, args.get(3))?;
            let rep = replacement(str_arg(&args, 2)?);
            Ok(s(re
                .replace_all(str_arg(&args, 0)?, rep.as_str())
                .into_owned()))
        }
        "split" => {
            arity(&args, 2, 2)?;
            let re = regex(str_arg(&args, 1)?, None)?;
            let parts: Vec<Value> = re
                .split(str_arg(&args, 0)?)
                .map(s)
                .take(MAX_LIST + 1)
                .collect();
            cap(parts.len())?;
            Ok(Value::List(parts))
        }
        "string join" => {
            arity(&args, 1, 4)?;
            let xs = list_arg(&args, 0)?;
            let opt = |i: usize| -> Result<&str, String> {
                match args.get(i) {
                    None | Some(Value::Null) => Ok(""),
                    Some(Value::String(x)) => Ok(x),
                    Some(v) => Err(type_err("a string", v)),
                }
            };
            let (delim, prefix, suffix) = (opt(1)?, opt(2)?, opt(3)?);
            let mut parts = Vec::new();
            for x in xs {
                match x {
                    Value::String(t) => parts.push(t.as_str()),
                    Value::Null => {}
                    other => return Err(type_err("a list of strings", other)),
                }
            }
            Ok(s(format!("{prefix}{}{suffix}", parts.join(delim))))
        }
        // ---- list
        "list contains" => {
            arity(&args, 2, 2)?;
            let xs = list_arg(&args, 0)?;
            Ok(Value::Bool(
                xs.iter().any(|x| values_equal(x, &args[1]) == Some(true)),
            ))
        }
        "count" => {
            arity(&args, 1, 1)?;
            Ok(Value::int(
                i64::try_from(list_arg(&args, 0)?.len()).unwrap_or(i64::MAX),
            ))
        }
        "is empty" => {
            arity(&args, 1, 1)?;
            Ok(Value::Bool(list_arg(&args, 0)?.is_empty()))
        }
        "min" | "max" => {
            let xs = list_or_varargs(args);
            let mut best: Option<&Value> = None;
            for x in &xs {
                best = Some(match best {
                    None => x,
                    Some(b) => {
                        let o = compare(x, b).ok_or_else(|| {
                            format!("cannot compare {} with {}", x.type_name(), b.type_name())
                        })?;
                        let better = if name == "min" {
                            o == Ordering::Less
                        } else {
                            o == Ordering::Greater
                        };
                        if better { x } else { b }
                    }
                });
            }
            match best {
                Some(b) if compare(b, b).is_some() => Ok(b.clone()),
                Some(b) => Err(format!("cannot order values of type {}", b.type_name())),
                None => Ok(Value::Null),
            }
        }
        "sum" | "product" | "mean" => {
            let xs = list_or_varargs(args);
            let nums = numbers(&xs)?;
            if nums.is_empty() {
                return Ok(Value::Null);
            }
            let total = if name == "product" {
                nums.iter().try_fold(Decimal::ONE, |a, b| a.checked_mul(*b))
            } else {
                nums.iter()
                    .try_fold(Decimal::ZERO, |a, b| a.checked_add(*b))
            }
            .ok_or("numeric overflow")?;
            if name == "mean" {
                let count = Decimal::from(nums.len());
                return total
                    .checked_div(count)
                    .map(n)
                    .ok_or_else(|| "numeric overflow".into());
            }
            Ok(n(total))
        }
        "median" => {
            let xs = list_or_varargs(args);
            let mut nums = numbers(&xs)?;
            if nums.is_empty() {
                return Ok(Value::Null);
            }
            nums.sort();
            let mid = nums.len() / 2;
            if nums.len() % 2 == 1 {
                Ok(n(nums[mid]))
            } else {
                let sum = nums[mid - 1]
                    .checked_add(nums[mid])
                    .ok_or("numeric overflow")?;
                Ok(n(sum / Decimal::TWO))
            }
        }
        "all" | "any" => {
            let xs = list_or_varargs(args);
            let want = name == "any";
            let mut undecided = false;
            for x in &xs {
                match x {
                    Value::Bool(b) if *b == want => return Ok(Value::Bool(want)),
                    Value::Bool(_) => {}
                    _ => undecided = true,
                }
            }
            Ok(if undecided {
                Value::Null
            } else {
                Value::Bool(!want)
            })
        }
        "sublist" => {
            arity(&args, 2, 3)?;
            let xs = list_arg(&args, 0)?;
            let (from, to) = slice_bounds(xs.len(), &args, 1, 2)?;
            Ok(Value::List(xs[from..to].to_vec()))
        }
        "append" => {
            if args.is_empty() {
                return Err("expects a list".into());
            }
            let mut it = args.into_iter();
            let Some(Value::List(mut xs)) = it.next() else {
                return Err("expected a list as first argument".into());
            };
            xs.extend(it);
            cap(xs.len())?;
            Ok(Value::List(xs))
        }
        "concatenate" | "union" => {
            let mut out: Vec<Value> = Vec::new();
            for a in args {
                match a {
                    Value::List(xs) => {
                        for x in xs {
                            if name == "union"
                                && out.iter().any(|y| values_equal(y, &x) == Some(true))
                            {
                                continue;
                            }
                            out.push(x);
                        }
                        cap(out.len())?;
                    }
                    other => return Err(type_err("lists", &other)),
                }
            }
            Ok(Value::List(out))
        }
        "insert before" => {
            arity(&args, 3, 3)?;
            let mut xs = list_arg(&args, 0)?.to_vec();
            let p = position(xs.len(), int_arg(&args, 1)?, true)?;
            xs.insert(p, args[2].clone());
            Ok(Value::List(xs))
        }
        "remove" => {
            arity(&args, 2, 2)?;
            let mut xs = list_arg(&args, 0)?.to_vec();
            let p = position(xs.len(), int_arg(&args, 1)?, false)?;
            xs.remove(p);
            Ok(Value::List(xs))
        }
        "reverse" => {
            arity(&args, 1, 1)?;
            Ok(Value::List(
                list_arg(&args, 0)?.iter().rev().cloned().collect(),
            ))
        }
        "index of" => {
            arity(&args, 2, 2)?;
            let xs = list_arg(&args, 0)?;
            Ok(Value::List(
                xs.iter()
                    .enumerate()
                    .filter(|(_, x)| values_equal(x, &args[1]) == Some(true))
                    .map(|(i, _)| Value::int(i64::try_from(i + 1).unwrap_or(i64::MAX)))
                    .collect(),
            ))
        }
        "distinct values" | "duplicate values" => {
            arity(&args, 1, 1)?;
            let xs = list_arg(&args, 0)?;
            let mut seen: Vec<Value> = Vec::new();
            let mut dups: Vec<Value> = Vec::new();
            for x in xs {
                ev.tick(span);
                if seen.iter().any(|y| values_equal(y, x) == Some(true)) {
                    if !dups.iter().any(|y| values_equal(y, x) == Some(true)) {
                        dups.push(x.clone());
                    }
                } else {
                    seen.push(x.clone());
                }
            }
            Ok(Value::List(if name == "distinct values" {
                seen
            } else {
                dups
            }))
        }
        "flatten" => {
            arity(&args, 1, 1)?;
            let mut out = Vec::new();
            flatten_into(list_arg(&args, 0)?, &mut out, 0)?;
            Ok(Value::List(out))
        }
        "sort" => {
            arity(&args, 1, 2)?;
            let xs = list_arg(&args, 0)?.to_vec();
            match args.get(1) {
                Some(Value::Function(f)) => {
                    let f = f.clone();
                    let mut failed = false;
                    let sorted = merge_sort(xs, &mut |a, b| {
                        if failed {
                            return false;
                        }
                        match ev.call_function(&f, vec![a.clone(), b.clone()], span) {
                            Value::Bool(x) => x,
                            _ => {
                                failed = true;
                                false
                            }
                        }
                    });
                    if failed {
                        return Err("the precedes function must return a boolean".into());
                    }
                    Ok(Value::List(sorted))
                }
                None | Some(Value::Null) => {
                    if let Some(first) = xs.first() {
                        for x in &xs {
                            if compare(first, x).is_none() {
                                return Err(format!(
                                    "cannot sort a list mixing {} and {}",
                                    first.type_name(),
                                    x.type_name()
                                ));
                            }
                        }
                    }
                    Ok(Value::List(merge_sort(xs, &mut |a, b| {
                        compare(a, b) == Some(Ordering::Less)
                    })))
                }
                Some(other) => Err(type_err("a function", other)),
            }
        }
        // ---- numeric
        "decimal" | "round up" | "round down" | "round half up" | "round half down" => {
            arity(&args, 2, 2)?;
            let strategy = match name {
                "decimal" => RoundingStrategy::MidpointNearestEven,
                "round up" => RoundingStrategy::AwayFromZero,
                "round down" => RoundingStrategy::ToZero,
                "round half up" => RoundingStrategy::MidpointAwayFromZero,
                _ => RoundingStrategy::MidpointTowardZero,
            };
            round(num_arg(&args, 0)?, int_arg(&args, 1)?, strategy).map(n)
        }
        "floor" | "ceiling" => {
            arity(&args, 1, 2)?;
            let scale = if args.len() == 2 && !args[1].is_null() {
                int_arg(&args, 1)?
            } else {
                0
            };
            let strategy = if name == "floor" {
                RoundingStrategy::ToNegativeInfinity
            } else {
                RoundingStrategy::ToPositiveInfinity
            };
            round(num_arg(&args, 0)?, scale, strategy).map(n)
        }
        "abs" => {
            arity(&args, 1, 1)?;
            match &args[0] {
                Value::Number(x) => Ok(n(x.abs())),
                Value::DayTimeDuration(d) => Ok(Value::DayTimeDuration(DayTimeDuration(d.0.abs()))),
                Value::YearMonthDuration(d) => Ok(Value::YearMonthDuration(YearMonthDuration(
                    d.0.saturating_abs(),
                ))),
                other => Err(type_err("a number", other)),
            }
        }
        "modulo" => {
            arity(&args, 2, 2)?;
            let (a, b) = (num_arg(&args, 0)?, num_arg(&args, 1)?);
            if b.is_zero() {
                return Err("division by zero".into());
            }
            // Sign follows the divisor: a - b * floor(a / b).
            let r = a.checked_rem(b).ok_or("numeric overflow")?;
            let r = if !r.is_zero() && (r.is_sign_negative() != b.is_sign_negative()) {
                r + b
            } else {
                r
            };
            Ok(n(r))
        }
        "sqrt" => {
            arity(&args, 1, 1)?;
            let x = num_arg(&args, 0)?;
            x.sqrt()
                .map(n)
                .ok_or_else(|| "square root of a negative number".into())
        }
        "log" => {
            arity(&args, 1, 1)?;
            let x = num_arg(&args, 0)?;
            if x <= Decimal::ZERO {
                return Err("logarithm of a number that is not positive".into());
            }
            x.checked_ln()
                .map(n)
                .ok_or_else(|| "numeric overflow".into())
        }
        "exp" => {
            arity(&args, 1, 1)?;
            num_arg(&args, 0)?
                .checked_exp()
                .map(n)
                .ok_or_else(|| "numeric overflow".into())
        }
        "odd" | "even" => {
            arity(&args, 1, 1)?;
            let x = num_arg(&args, 0)?;
            if !x.is_integer() {
                return Err(format!("expected an integer but found {x}"));
            }
            let odd = !(x % Decimal::TWO).is_zero();
            Ok(Value::Bool(if name == "odd" { odd } else { !odd }))
        }
        // ---- context
        "get value" => {
            arity(&args, 2, 2)?;
            let Value::Context(c) = &args[0] else {
                return Err(type_err("a context", &args[0]));
            };
            match &args[1] {
                Value::String(k) => Ok(c.get(k).cloned().unwrap_or(Value::Null)),
                Value::List(keys) => {
                    let mut cur = Value::Context(c.clone());
                    for k in keys {
                        let Value::String(k) = k else {
                            return Err(type_err("a list of strings", k));
                        };
                        cur = match cur {
                            Value::Context(c) => c.get(k).cloned().unwrap_or(Value::Null),
                            _ => Value::Null,
                        };
                    }
                    Ok(cur)
                }
                other => Err(type_err("a string", other)),
            }
        }
        "get entries" => {
            arity(&args, 1, 1)?;
            let Value::Context(c) = &args[0] else {
                return Err(type_err("a context", &args[0]));
            };
            Ok(Value::List(
                c.iter()
                    .map(|(k, v)| {
                        let mut e = Context::new();
                        e.insert("key", s(k.clone()));
                        e.insert("value", v.clone());
                        Value::Context(e)
                    })
                    .collect(),
            ))
        }
        "context put" => {
            arity(&args, 3, 3)?;
            let Value::Context(c) = &args[0] else {
                return Err(type_err("a context", &args[0]));
            };
            let keys: Vec<&str> = match &args[1] {
                Value::String(k) => vec![k.as_str()],
                Value::List(ks) if !ks.is_empty() => ks
                    .iter()
                    .map(|k| match k {
                        Value::String(k) => Ok(k.as_str()),
                        other => Err(type_err("a list of strings", other)),
                    })
                    .collect::<Result<_, _>>()?,
                other => return Err(type_err("a string or a non-empty list of strings", other)),
            };
            Ok(Value::Context(put_path(c.clone(), &keys, args[2].clone())))
        }
        "context merge" => {
            let xs = list_or_varargs(args);
            let mut out = Context::new();
            for x in xs {
                let Value::Context(c) = x else {
                    return Err(type_err("a list of contexts", &x));
                };
                for (k, v) in c.iter() {
                    out.insert(k.clone(), v.clone());
                }
            }
            Ok(Value::Context(out))
        }
        "context" => {
            arity(&args, 1, 1)?;
            let mut out = Context::new();
            for e in list_arg(&args, 0)? {
                let Value::Context(c) = e else {
                    return Err(type_err("a list of {key, value} contexts", e));
                };
                let (Some(Value::String(k)), Some(v)) = (c.get("key"), c.get("value")) else {
                    return Err("each entry needs a string 'key' and a 'value'".into());
                };
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Context(out))
        }
        // ---- temporal
        "now" | "today" => {
            arity(&args, 0, 0)?;
            let Some(clock) = ev.opts.clock.as_ref() else {
                return Err("no clock is available in this evaluation".into());
            };
            let t = clock.now();
            Ok(if name == "now" {
                Value::DateTime(t)
            } else {
                Value::Date(t.date)
            })
        }
        "day of week" | "day of year" | "week of year" | "month of year" | "last day of month" => {
            arity(&args, 1, 1)?;
            let d = match &args[0] {
                Value::Date(d) => *d,
                Value::DateTime(t) => t.date,
                other => return Err(type_err("a date", other)),
            };
            Ok(match name {
                "day of week" => s(WEEKDAYS[(d.weekday() as usize).saturating_sub(1) % 7]),
                "day of year" => Value::int(i64::from(d.day_of_year())),
                "week of year" => Value::int(i64::from(d.iso_week())),
                "month of year" => s(MONTHS[(d.month as usize).saturating_sub(1) % 12]),
                _ => Value::Date(Date {
                    day: crate::temporal::days_in_month(d.year, d.month),
                    ..d
                }),
            })
        }
        _ => Err("unknown function".into()),
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn parse_number(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    if t.contains(['e', 'E']) {
        Decimal::from_scientific(t).ok()
    } else {
        Decimal::from_str(t).ok()
    }
}

fn numbers(xs: &[Value]) -> Result<Vec<Decimal>, String> {
    xs.iter()
        .map(|x| match x {
            Value::Number(d) => Ok(*d),
            other => Err(type_err("numbers", other)),
        })
        .collect()
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

/// 1-based position (negative from the end) to a 0-based index; `insert` allows one past
/// the end.
fn position(len: usize, p: i64, insert: bool) -> Result<usize, String> {
    let len_i = i64::try_from(len).map_err(|_| "too long")?;
    let limit = if insert { len_i + 1 } else { len_i };
    let idx = if p > 0 {
        p - 1
    } else if p < 0 {
        len_i + p
    } else {
        return Err("position must not be 0".into());
    };
    if idx < 0 || idx >= limit {
        return Err(format!("position {p} is out of range"));
    }
    usize::try_from(idx).map_err(|_| "out of range".into())
}

fn round(x: Decimal, scale: i64, strategy: RoundingStrategy) -> Result<Decimal, String> {
    if !(-28..=28).contains(&scale) {
        return Err(format!("scale {scale} is out of range"));
    }
    if scale >= 0 {
        let dp = u32::try_from(scale).map_err(|_| "bad scale")?;
        return Ok(x.round_dp_with_strategy(dp, strategy));
    }
    // Negative scale: round to tens, hundreds, ...
    let factor = Decimal::TEN
        .checked_powi(-scale)
        .ok_or("scale out of range")?;
    let scaled = x.checked_div(factor).ok_or("numeric overflow")?;
    scaled
        .round_dp_with_strategy(0, strategy)
        .checked_mul(factor)
        .ok_or_else(|| "numeric overflow".into())
}

fn flatten_into(xs: &[Value], out: &mut Vec<Value>, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err("list is nested too deeply".into());
    }
    for x in xs {
        match x {
            Value::List(inner) => flatten_into(inner, out, depth + 1)?,
            other => out.push(other.clone()),
        }
        cap(out.len())?;
    }
    Ok(())
}

/// Stable merge sort that tolerates inconsistent comparators (user functions may be).
fn merge_sort(mut xs: Vec<Value>, precedes: &mut dyn FnMut(&Value, &Value) -> bool) -> Vec<Value> {
    if xs.len() <= 1 {
        return xs;
    }
    let right = xs.split_off(xs.len() / 2);
    let left = merge_sort(xs, precedes);
    let right = merge_sort(right, precedes);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => {
                // Take from the right only if it strictly precedes: keeps equal items stable.
                if precedes(b, a) {
                    out.extend(r.next());
                } else {
                    out.extend(l.next());
                }
            }
            (Some(_), None) => out.extend(l.next()),
            (None, Some(_)) => out.extend(r.next()),
            (None, None) => return out,
        }
    }
}

fn put_path(mut c: Context, keys: &[&str], v: Value) -> Context {
    match keys {
        [] => c,
        [k] => {
            c.insert(*k, v);
            c
        }
        [k, rest @ ..] => {
            let inner = match c.get(k) {
                Some(Value::Context(x)) => x.clone(),
                _ => Context::new(),
            };
            c.insert(*k, Value::Context(put_path(inner, rest, v)));
            c
        }
    }
}

fn regex(pattern: &str, flags: Option<&Value>) -> Result<regex::Regex, String> {
    let mut b = regex::RegexBuilder::new(pattern);
    b.size_limit(1 << 20).nest_limit(64);
    match flags {
        None | Some(Value::Null) => {}
        Some(Value::String(f)) => {
            for c in f.chars() {
                match c {
                    'i' => b.case_insensitive(true),
                    's' => b.dot_matches_new_line(true),
                    'm' => b.multi_line(true),
                    'x' => b.ignore_whitespace(true),
                    'q' => {
                        return regex::Regex::new(&regex::escape(pattern))
                            .map_err(|e| e.to_string());
                    }
                    other => return Err(format!("unknown regex flag '{other}'")),
                };
            }
        }
        Some(other) => return Err(type_err("a string of flags", other)),
    }
    b.build().map_err(|e| format!("invalid pattern: {e}"))
}

/// XPath replacement (`$1`, `\$`) to the regex crate's syntax (`${1}`, `$$`).
fn replacement(rep: &str) -> String {
    let mut out = String::new();
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => out.push('\\'),
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn as_date_time(v: &Value) -> Result<DateTime, String> {
    match v {
        Value::DateTime(t) => Ok(t.clone()),
        Value::Date(d) => Ok(DateTime::at_midnight(*d, None)),
        other => Err(type_err("a date or date and time", other)),
    }
}

fn parse_duration(x: &str) -> Option<Value> {
    if let Some(d) = YearMonthDuration::parse(x) {
        return Some(Value::YearMonthDuration(d));
    }
    DayTimeDuration::parse(x).map(Value::DayTimeDuration)
}

/// Interprets the text of an `@"..."` literal.
pub(crate) fn parse_temporal(x: &str) -> Result<Value, String> {
    if x.starts_with('P') || x.starts_with("-P") {
        return parse_duration(x).ok_or_else(|| format!("invalid duration '{x}'"));
    }
    if x.contains('T') {
        return DateTime::parse(x).map(Value::DateTime);
    }
    if let Some(d) = Date::parse(x) {
        return Ok(Value::Date(d));
    }
    Time::parse(x)
        .map(Value::Time)
        .map_err(|_| format!("'{x}' is not a date, time, date and time or duration"))
}

/// A property of a non-context value (`date.year`, `duration.hours`, `range.start`).
pub(crate) fn property(v: &Value, key: &str) -> Option<Value> {
    let int = |x: i64| Some(Value::int(x));
    let zone_props = |zone: &Option<Zone>, key: &str| -> Option<Value> {
        match key {
            "time offset" => Some(zone.as_ref().map_or(Value::Null, |z| {
                Value::DayTimeDuration(DayTimeDuration::from_secs(i64::from(z.offset)))
            })),
            "timezone" => Some(
                zone.as_ref()
                    .and_then(|z| z.id.clone())
                    .map_or(Value::Null, Value::String),
            ),
            _ => None,
        }
    };
    let date_props = |d: &Date, key: &str| -> Option<Value> {
        match key {
            "year" => int(d.year),
            "month" => int(i64::from(d.month)),
            "day" => int(i64::from(d.day)),
            "weekday" => int(i64::from(d.weekday())),
            _ => None,
        }
    };
    let time_props = |t: &LocalTime, key: &str| -> Option<Value> {
        match key {
            "hour" => int(i64::from(t.hour())),
            "minute" => int(i64::from(t.minute())),
            "second" => {
                let secs = Decimal::from(t.second()) + Decimal::new(i64::from(t.nanos), 9);
                Some(n(secs))
            }
            _ => None,
        }
    };
    match v {
        Value::Date(d) => date_props(d, key),
        Value::DateTime(t) => date_props(&t.date, key)
            .or_else(|| time_props(&t.time, key))
            .or_else(|| zone_props(&t.zone, key)),
        Value::Time(t) => time_props(&t.local, key).or_else(|| zone_props(&t.zone, key)),
        Value::DayTimeDuration(d) => {
            let x = match key {
                "days" => d.days(),
                "hours" => d.hours(),
                "minutes" => d.minutes(),
                "seconds" => d.seconds(),
                _ => return None,
            };
            int(i64::try_from(x).ok()?)
        }
        Value::YearMonthDuration(d) => match key {
            "years" => int(d.0 / 12),
            "months" => int(d.0 % 12),
            _ => None,
        },
        Value::Range(r) => range_prop(r, key),
        _ => None,
    }
}

fn range_prop(r: &Range, key: &str) -> Option<Value> {
    match key {
        "start" => Some(r.start.value.clone()),
        "end" => Some(r.end.value.clone()),
        "start included" => Some(Value::Bool(r.start.closed)),
        "end included" => Some(Value::Bool(r.end.closed)),
        _ => None,
    }
}
