//! Temporal functions: `now` and `today` from the evaluation's clock, and the
//! calendar functions on dates.

use super::{R, Table, arity, s, type_err};
use crate::eval::Evaluator;
use crate::temporal::Date;
use crate::value::Value;

pub(super) const FUNCTIONS: Table = &[
    ("now", &[]),
    ("today", &[]),
    ("day of week", &["date"]),
    ("day of year", &["date"]),
    ("week of year", &["date"]),
    ("month of year", &["date"]),
    ("last day of month", &["date"]),
];

pub(super) fn call(ev: &Evaluator<'_>, name: &str, args: &[Value]) -> R {
    match name {
        "now" | "today" => {
            arity(args, 0, 0)?;
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
            arity(args, 1, 1)?;
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
