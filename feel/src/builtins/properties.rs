//! Properties of non-context values: the components of dates, times and durations
//! (`date.year`, `duration.hours`, `time offset`) and the endpoints of ranges.

use super::n;
use crate::temporal::{Date, DayTimeDuration, LocalTime, Zone};
use crate::value::{Range, Value};
use rust_decimal::Decimal;

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
