//! Conversion functions: `number`, `string`, `date`, `time`, `date and time`,
//! `duration`, `years and months duration`; and the text of `@"..."` literals.

use super::{R, Table, arity, int_arg, n, num_arg, s, str_arg, type_err};
use crate::eval::time_of;
use crate::temporal::{Date, DateTime, DayTimeDuration, LocalTime, Time, YearMonthDuration, Zone};
use crate::value::Value;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::str::FromStr;

pub(super) const FUNCTIONS: Table = &[
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
];

pub(super) fn call(name: &str, args: &[Value]) -> R {
    match name {
        "number" => {
            arity(args, 1, 3)?;
            let mut text = str_arg(args, 0)?.to_string();
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
            arity(args, 1, 1)?;
            Ok(match &args[0] {
                Value::Null => Value::Null,
                Value::String(x) => s(x.clone()),
                other => s(other.to_string()),
            })
        }
        "date" => {
            arity(args, 1, 3)?;
            if args.len() == 3 {
                let (y, m, d) = (int_arg(args, 0)?, int_arg(args, 1)?, int_arg(args, 2)?);
                let (Ok(m), Ok(d)) = (u32::try_from(m), u32::try_from(d)) else {
                    return Err("invalid date".into());
                };
                return Date::new(y, m, d)
                    .map(Value::Date)
                    .ok_or_else(|| "invalid date".into());
            }
            arity(args, 1, 1)?;
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
            arity(args, 1, 4)?;
            if args.len() >= 3 {
                let (h, m) = (int_arg(args, 0)?, int_arg(args, 1)?);
                let sec = num_arg(args, 2)?;
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
            arity(args, 1, 1)?;
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
            arity(args, 1, 2)?;
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
            arity(args, 1, 1)?;
            let x = str_arg(args, 0)?;
            parse_duration(x).ok_or_else(|| format!("invalid duration '{x}'"))
        }
        "years and months duration" => {
            arity(args, 2, 2)?;
            let a = as_date_time(&args[0])?;
            let b = as_date_time(&args[1])?;
            Ok(Value::YearMonthDuration(YearMonthDuration::between(&a, &b)))
        }
        _ => Err("unknown function".into()),
    }
}

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
