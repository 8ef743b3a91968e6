//! When timers fire: ISO-8601 dates, durations and repeating intervals, and the 6-field
//! cron form Zeebe accepts for cycles, turned into due dates in epoch milliseconds.
//!
//! Everything is computed in UTC from the time handed in, never from a clock, so the
//! processor stays deterministic. Date-times without an offset are read as UTC (the zone
//! the engine runs in); named zones other than UTC need an explicit offset as well
//! (`2025-03-01T10:00:00+01:00[Europe/Berlin]`), because the engine carries no zone
//! database.
//!
//! Repeating timers keep their phase: the next due date is the previous one plus the
//! interval. When the engine was stopped across several due dates, the missed ones
//! collapse into one trigger and the cycle continues with the first due date after now,
//! rather than starting a burst of instances at once.

use feel::temporal::{Date, DateTime, DayTimeDuration, YearMonthDuration, Zone};

const NANOS_PER_MILLI: i128 = 1_000_000;

/// A calendar-aware length of time: months first, then an exact remainder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Years and months, in months.
    pub months: i64,
    /// Weeks, days, hours, minutes and seconds, in nanoseconds.
    pub nanos: i128,
}

impl Interval {
    /// `epoch_ms` plus this interval (months on the UTC calendar), in epoch ms.
    #[must_use]
    pub fn add_to(&self, epoch_ms: i64) -> Option<i64> {
        let start = DateTime::from_epoch_nanos(
            i128::from(epoch_ms) * NANOS_PER_MILLI,
            Some(Zone::offset(0)),
        )?;
        let shifted = if self.months == 0 {
            start
        } else {
            start.add_months(self.months)?
        };
        let nanos = shifted.epoch_nanos().checked_add(self.nanos)?;
        i64::try_from(nanos.div_euclid(NANOS_PER_MILLI)).ok()
    }

    fn is_positive(&self) -> bool {
        self.months > 0 || (self.months == 0 && self.nanos > 0)
    }
}

/// Parses an ISO-8601 duration: `P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]`, optionally
/// negative (`-PT5M`).
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_duration(text: &str) -> Result<Interval, String> {
    let bad = || format!("'{text}' is not an ISO-8601 duration (e.g. PT15M, P1DT2H)");
    let s = text.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let body = s.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match body.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, t),
        Some(_) => return Err(bad()),
        None => (body, ""),
    };
    if date.is_empty() && time.is_empty() {
        return Err(bad());
    }
    let mut months: i64 = 0;
    let mut nanos: i128 = 0;
    for (number, unit) in components(date).ok_or_else(bad)? {
        let whole: i64 = number.parse().map_err(|_| bad())?;
        match unit {
            'Y' => {
                months = months
                    .checked_add(whole.checked_mul(12).ok_or_else(bad)?)
                    .ok_or_else(bad)?
            }
            'M' => months = months.checked_add(whole).ok_or_else(bad)?,
            'W' => nanos += i128::from(whole) * 7 * 86_400 * 1_000_000_000,
            'D' => nanos += i128::from(whole) * 86_400 * 1_000_000_000,
            _ => return Err(bad()),
        }
    }
    for (number, unit) in components(time).ok_or_else(bad)? {
        let per_unit: i128 = match unit {
            'H' => 3_600_000_000_000,
            'M' => 60_000_000_000,
            'S' => 1_000_000_000,
            _ => return Err(bad()),
        };
        nanos += decimal_nanos(number, per_unit).ok_or_else(bad)?;
    }
    if negative {
        months = -months;
        nanos = -nanos;
    }
    Ok(Interval { months, nanos })
}

/// `n<unit>` pairs; each number is digits with an optional fraction.
fn components(s: &str) -> Option<Vec<(&str, char)>> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))?;
        if end == 0 {
            return None;
        }
        let unit = rest[end..].chars().next()?;
        out.push((&rest[..end], unit));
        rest = &rest[end + unit.len_utf8()..];
    }
    Some(out)
}

/// `number` (digits, optional `.`/`,` fraction) times `per_unit` nanoseconds.
fn decimal_nanos(number: &str, per_unit: i128) -> Option<i128> {
    let (int, frac) = match number.split_once(['.', ',']) {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int.is_empty() || frac.len() > 9 {
        return None;
    }
    let whole: i128 = int.parse().ok()?;
    let mut total = whole.checked_mul(per_unit)?;
    if !frac.is_empty() {
        let digits: i128 = frac.parse().ok()?;
        let scale = 10_i128.pow(u32::try_from(frac.len()).ok()?);
        total += digits * per_unit / scale;
    }
    Some(total)
}

/// Parses an ISO-8601 date-time into epoch ms (see the module docs for zones).
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_date_time(text: &str) -> Result<i64, String> {
    let s = text.trim();
    let (body, zone_id) = match s.split_once('[') {
        Some((dt, rest)) => (dt, Some(rest.strip_suffix(']').unwrap_or(rest))),
        None => (s, None),
    };
    let parsed = DateTime::parse(body).map_err(|_| {
        format!("'{text}' is not an ISO-8601 date-time (e.g. 2025-03-01T10:00:00Z)")
    })?;
    if !body.contains('T') {
        return Err(format!(
            "'{text}' is a date without a time; a timer date needs a date-time"
        ));
    }
    if parsed.zone.is_none()
        && let Some(id) = zone_id
        && Zone::named(id).is_err()
    {
        return Err(format!(
            "'{text}' names the zone '{id}', which this engine cannot resolve; add its offset (e.g. 2025-03-01T10:00:00+01:00[{id}])"
        ));
    }
    let utc = DateTime {
        zone: Some(parsed.zone.clone().unwrap_or_else(|| Zone::offset(0))),
        ..parsed
    };
    i64::try_from(utc.epoch_nanos().div_euclid(NANOS_PER_MILLI))
        .map_err(|_| format!("'{text}' is out of range"))
}

/// A repeating timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cycle {
    /// `R[n]/[start/]interval[/end]`.
    Repeating {
        /// Repetitions; -1 for unbounded.
        repetitions: i32,
        /// The first due date, when given.
        start: Option<i64>,
        /// Time between due dates.
        interval: Interval,
        /// No due date after this one, when given.
        end: Option<i64>,
    },
    /// A 6-field cron expression (unbounded).
    Cron(Cron),
}

/// Parses a time cycle: an ISO-8601 repeating interval or a cron expression.
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_cycle(text: &str) -> Result<Cycle, String> {
    let s = text.trim();
    let Some(rest) = s.strip_prefix('R') else {
        return Cron::parse(s).map(Cycle::Cron);
    };
    let bad = || {
        format!(
            "'{text}' is not a time cycle (e.g. R5/PT10S, R/P1D, R3/2025-01-01T09:00:00Z/P1D, or a cron expression)"
        )
    };
    let mut parts = rest.split('/');
    let count = parts.next().unwrap_or_default();
    let repetitions = if count.is_empty() {
        -1
    } else {
        count.parse::<i32>().map_err(|_| bad())?
    };
    if repetitions == 0 {
        return Err(format!("'{text}' repeats zero times"));
    }
    let parts: Vec<&str> = parts.collect();
    let (start, interval, end) = match parts.as_slice() {
        [d] => (None, parse_duration(d)?, None),
        [a, b] if a.starts_with('P') || a.starts_with("-P") => {
            (None, parse_duration(a)?, Some(parse_date_time(b)?))
        }
        [a, b] => (Some(parse_date_time(a)?), parse_duration(b)?, None),
        _ => return Err(bad()),
    };
    if !interval.is_positive() {
        return Err(format!("the interval of '{text}' must be longer than zero"));
    }
    Ok(Cycle::Repeating {
        repetitions,
        start,
        interval,
        end,
    })
}

impl Cycle {
    /// Repetitions as a timer record carries them (-1 for unbounded).
    #[must_use]
    pub fn repetitions(&self) -> i32 {
        match self {
            Self::Repeating { repetitions, .. } => *repetitions,
            Self::Cron(_) => -1,
        }
    }

    /// The first due date at or after `now`'s schedule; `None` if the cycle is over.
    #[must_use]
    pub fn first_due(&self, now: i64) -> Option<i64> {
        match self {
            Self::Repeating {
                start,
                interval,
                end,
                ..
            } => {
                let due = match start {
                    Some(start) => *start,
                    None => interval.add_to(now)?,
                };
                end.is_none_or(|end| due <= end).then_some(due)
            }
            Self::Cron(cron) => cron.next_after(now),
        }
    }

    /// The due date after `previous`, skipping due dates not after `now` (missed ones
    /// collapse into the trigger that just happened); `None` if the cycle is over.
    #[must_use]
    pub fn next_due(&self, previous: i64, now: i64) -> Option<i64> {
        match self {
            Self::Repeating { interval, end, .. } => {
                let mut due = interval.add_to(previous)?;
                let mut guard = 0;
                while due <= now {
                    due = interval.add_to(due)?;
                    guard += 1;
                    if guard > 100_000 {
                        // A very short interval across a long outage: restart the phase.
                        due = interval.add_to(now)?;
                        break;
                    }
                }
                end.is_none_or(|end| due <= end).then_some(due)
            }
            Self::Cron(cron) => cron.next_after(previous.max(now)),
        }
    }
}

/// A parsed cron expression: `second minute hour day-of-month month day-of-week`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_any: bool,
    weekdays_any: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Cron {
    /// Parses the 6-field form (`0 0 9-17 * * MON-FRI`); `*`, `?`, lists, ranges, steps
    /// and month/day names are supported, `L`, `W` and `#` are not.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 6 {
            return Err(format!(
                "'{text}' is neither a repeating interval (R/…) nor a 6-field cron expression"
            ));
        }
        let field = |i: usize, min: u32, max: u32, names: &[&str], what: &str| {
            parse_cron_field(fields[i], min, max, names)
                .map_err(|why| format!("cron expression '{text}': {what} field: {why}"))
        };
        let seconds = field(0, 0, 59, &[], "second")?;
        let minutes = field(1, 0, 59, &[], "minute")?;
        let hours = field(2, 0, 23, &[], "hour")?;
        let days = field(3, 1, 31, &[], "day-of-month")?;
        let months = field(4, 1, 12, &MONTHS, "month")?;
        let mut weekdays = field(5, 0, 7, &WEEKDAYS, "day-of-week")?;
        if weekdays & (1 << 7) != 0 {
            // 7 is Sunday too.
            weekdays |= 1;
        }
        let any = |f: &str| f == "*" || f == "?";
        Ok(Self {
            seconds,
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_any: any(fields[3]),
            weekdays_any: any(fields[5]),
        })
    }

    fn day_matches(&self, date: Date) -> bool {
        if self.months & (1 << date.month) == 0 {
            return false;
        }
        let dom = self.days & (1 << date.day) != 0;
        // ISO weekday 1..=7 (Monday..Sunday) to cron 0..=6 (Sunday..Saturday).
        let dow = self.weekdays & (1 << (date.weekday() % 7)) != 0;
        match (self.days_any, self.weekdays_any) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom && dow,
        }
    }

    /// The first matching second strictly after `epoch_ms`, in epoch ms (UTC); `None` if
    /// nothing matches within the next eight years.
    #[must_use]
    pub fn next_after(&self, epoch_ms: i64) -> Option<i64> {
        let from_secs = epoch_ms.div_euclid(1000) + 1;
        let first_day = from_secs.div_euclid(86_400);
        let mut second_of_day = u32::try_from(from_secs.rem_euclid(86_400)).ok()?;
        for day in first_day..first_day + 366 * 8 {
            let date = Date::from_days(day)?;
            if self.day_matches(date)
                && let Some(s) = self.first_time_from(second_of_day)
            {
                return Some((day * 86_400 + i64::from(s)) * 1000);
            }
            second_of_day = 0;
        }
        None
    }

    /// The first matching second of the day at or after `from`.
    fn first_time_from(&self, from: u32) -> Option<u32> {
        let (h0, m0, s0) = (from / 3600, from / 60 % 60, from % 60);
        for h in h0..24 {
            if self.hours & (1 << h) == 0 {
                continue;
            }
            let m_start = if h == h0 { m0 } else { 0 };
            for m in m_start..60 {
                if self.minutes & (1 << m) == 0 {
                    continue;
                }
                let s_start = if h == h0 && m == m0 { s0 } else { 0 };
                if let Some(s) = (s_start..60).find(|s| self.seconds & (1 << s) != 0) {
                    return Some(h * 3600 + m * 60 + s);
                }
            }
        }
        None
    }
}

fn parse_cron_field(field: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let value = |s: &str| -> Result<u32, String> {
        let upper = s.to_ascii_uppercase();
        if let Some(i) = names.iter().position(|n| *n == upper) {
            // Month names are 1-based, day names 0-based (SUN = 0).
            let base = if names.len() == 12 { 1 } else { 0 };
            return u32::try_from(i)
                .map(|i| i + base)
                .map_err(|e| e.to_string());
        }
        let n: u32 = s
            .parse()
            .map_err(|_| format!("'{s}' is not a number or a known name"))?;
        if n < min || n > max {
            return Err(format!("{n} is outside {min}..={max}"));
        }
        Ok(n)
    };
    let mut bits = 0u64;
    for part in field.split(',') {
        if part.contains(['L', 'W', '#']) && !names.iter().any(|n| part.contains(n)) {
            return Err(format!("'{part}' uses L, W or #, which are not supported"));
        }
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| format!("bad step '{s}'"))?;
                if step == 0 {
                    return Err("a step of 0".into());
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo > hi {
            return Err(format!("range '{range}' is reversed"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

/// What a timer definition evaluated to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerSpec {
    /// `timeDate`: fires once at this time.
    Date(i64),
    /// `timeDuration`: fires once, this long after the timer opens.
    Duration(Interval),
    /// `timeCycle`: fires repeatedly.
    Cycle(Cycle),
}

impl TimerSpec {
    /// The first due date and the repetitions for the timer record, for a timer opened
    /// at `now`; `None` when a cycle has no due date left.
    #[must_use]
    pub fn first(&self, now: i64) -> Option<(i64, i32)> {
        match self {
            Self::Date(at) => Some((*at, 1)),
            Self::Duration(d) => Some((d.add_to(now)?.max(now), 1)),
            Self::Cycle(c) => Some((c.first_due(now)?, c.repetitions())),
        }
    }

    /// The due date after a trigger at `previous`, when `repetitions` were left before
    /// it; `None` when the timer is done.
    #[must_use]
    pub fn next(&self, previous: i64, repetitions: i32, now: i64) -> Option<(i64, i32)> {
        let Self::Cycle(cycle) = self else {
            return None;
        };
        if repetitions == 1 || repetitions == 0 {
            return None;
        }
        let left = if repetitions < 0 { -1 } else { repetitions - 1 };
        Some((cycle.next_due(previous, now)?, left))
    }
}

/// Reads a timer definition given as a string, of the kind its element says.
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_spec(kind: TimerKind, text: &str) -> Result<TimerSpec, String> {
    match kind {
        TimerKind::Date => parse_date_time(text).map(TimerSpec::Date),
        TimerKind::Duration => parse_duration(text).map(TimerSpec::Duration),
        TimerKind::Cycle => parse_cycle(text).map(TimerSpec::Cycle),
    }
}

/// Reads a timer definition from a FEEL result: a string as [`parse_spec`] reads it, or
/// a date-time (date timers) or duration (duration and cycle timers; a duration as a
/// cycle repeats forever).
///
/// # Errors
/// A message saying what the value should have been.
pub fn spec_of_value(kind: TimerKind, value: &feel::Value) -> Result<TimerSpec, String> {
    let interval_of = |v: &feel::Value| match v {
        feel::Value::DayTimeDuration(DayTimeDuration(nanos)) => Some(Interval {
            months: 0,
            nanos: *nanos,
        }),
        feel::Value::YearMonthDuration(YearMonthDuration(months)) => Some(Interval {
            months: *months,
            nanos: 0,
        }),
        _ => None,
    };
    match (kind, value) {
        (_, feel::Value::String(s)) => parse_spec(kind, s),
        (TimerKind::Date, feel::Value::DateTime(dt)) => {
            let utc = DateTime {
                zone: Some(dt.zone.clone().unwrap_or_else(|| Zone::offset(0))),
                ..dt.clone()
            };
            i64::try_from(utc.epoch_nanos().div_euclid(NANOS_PER_MILLI))
                .map(TimerSpec::Date)
                .map_err(|_| "the date-time is out of range".to_owned())
        }
        (TimerKind::Duration, v) if interval_of(v).is_some() => {
            Ok(TimerSpec::Duration(interval_of(v).unwrap_or(Interval {
                months: 0,
                nanos: 0,
            })))
        }
        (TimerKind::Cycle, v) if interval_of(v).is_some_and(|i| i.is_positive()) => {
            Ok(TimerSpec::Cycle(Cycle::Repeating {
                repetitions: -1,
                start: None,
                interval: interval_of(v).unwrap_or(Interval {
                    months: 0,
                    nanos: 1,
                }),
                end: None,
            }))
        }
        (kind, other) => Err(format!(
            "expected the {} to be {}, but was '{}'",
            kind.name(),
            kind.expected(),
            other
        )),
    }
}

/// Which of the three timer definitions an event has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// `timeDate`.
    Date,
    /// `timeDuration`.
    Duration,
    /// `timeCycle`.
    Cycle,
}

impl TimerKind {
    fn name(self) -> &'static str {
        match self {
            Self::Date => "timer date",
            Self::Duration => "timer duration",
            Self::Cycle => "timer cycle",
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Self::Date => "a date-time or an ISO-8601 date-time string",
            Self::Duration => "a duration or an ISO-8601 duration string",
            Self::Cycle => "a duration, or an ISO-8601 repeating interval or cron string",
        }
    }
}

/// The kind and expression text of a timer event definition.
#[must_use]
pub fn timer_expression(def: &bpmn::TimerDefinition) -> Option<(TimerKind, &str)> {
    if let Some(e) = &def.time_date {
        return Some((TimerKind::Date, e.body.trim()));
    }
    if let Some(e) = &def.time_duration {
        return Some((TimerKind::Duration, e.body.trim()));
    }
    def.time_cycle
        .as_ref()
        .map(|e| (TimerKind::Cycle, e.body.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z

    #[test]
    fn durations_add_calendar_months_then_exact_time() {
        assert_eq!(
            parse_duration("PT15M").unwrap().add_to(T0),
            Some(T0 + 900_000)
        );
        assert_eq!(
            parse_duration("P1DT0.5S").unwrap().add_to(T0),
            Some(T0 + 86_400_000 + 500)
        );
        assert_eq!(
            parse_duration("P2W").unwrap().add_to(T0),
            Some(T0 + 14 * 86_400_000)
        );
        let jan31 = parse_date_time("2024-01-31T12:00:00Z").unwrap();
        let feb29 = parse_date_time("2024-02-29T12:00:00Z").unwrap();
        assert_eq!(parse_duration("P1M").unwrap().add_to(jan31), Some(feb29));
        assert_eq!(parse_duration("-PT1S").unwrap().add_to(T0), Some(T0 - 1000));
        for bad in ["", "P", "PT", "15M", "P1H", "PTxS", "R/PT1S"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn date_times_with_offsets_zones_and_without() {
        let utc = parse_date_time("2025-03-01T10:00:00Z").unwrap();
        assert_eq!(parse_date_time("2025-03-01T11:00:00+01:00").unwrap(), utc);
        assert_eq!(
            parse_date_time("2025-03-01T11:00:00+01:00[Europe/Berlin]").unwrap(),
            utc
        );
        assert_eq!(parse_date_time("2025-03-01T10:00:00").unwrap(), utc);
        assert_eq!(parse_date_time("2025-03-01T10:00:00[UTC]").unwrap(), utc);
        let err = parse_date_time("2025-03-01T10:00:00[Europe/Berlin]").unwrap_err();
        assert!(err.contains("offset"), "{err}");
        assert!(parse_date_time("2025-03-01").is_err());
        assert!(parse_date_time("tomorrow").is_err());
    }

    #[test]
    fn repeating_intervals_count_down_and_keep_their_phase() {
        let spec = parse_spec(TimerKind::Cycle, "R3/PT10S").unwrap();
        let (due, reps) = spec.first(T0).unwrap();
        assert_eq!((due, reps), (T0 + 10_000, 3));
        let (due2, reps2) = spec.next(due, reps, due + 3).unwrap();
        assert_eq!((due2, reps2), (T0 + 20_000, 2));
        let (due3, reps3) = spec.next(due2, reps2, due2).unwrap();
        assert_eq!((due3, reps3), (T0 + 30_000, 1));
        assert_eq!(spec.next(due3, reps3, due3), None);
        // Missed due dates collapse: triggered late at +65 s, the next is +70 s.
        let forever = parse_spec(TimerKind::Cycle, "R/PT10S").unwrap();
        assert_eq!(
            forever.next(T0 + 10_000, -1, T0 + 65_000),
            Some((T0 + 70_000, -1))
        );
        let started = parse_spec(TimerKind::Cycle, "R2/2025-01-01T09:00:00Z/P1D").unwrap();
        let start = parse_date_time("2025-01-01T09:00:00Z").unwrap();
        assert_eq!(started.first(T0), Some((start, 2)));
        let ended = parse_spec(TimerKind::Cycle, "R/PT1H/2023-11-14T23:30:00Z").unwrap();
        let (first, _) = ended.first(T0).unwrap();
        assert_eq!(ended.next(first, -1, first), None);
        assert!(parse_cycle("R/PT0S").is_err());
        assert!(parse_cycle("R0/PT1S").is_err());
        assert!(parse_cycle("R5/xyz").is_err());
    }

    #[test]
    fn cron_finds_the_next_matching_second() {
        // 2023-11-14 is a Tuesday.
        let cron = Cron::parse("0 0 9-17 * * MON-FRI").unwrap();
        let next = cron.next_after(T0).unwrap();
        assert_eq!(next, parse_date_time("2023-11-15T09:00:00Z").unwrap());
        let next = cron.next_after(next).unwrap();
        assert_eq!(next, parse_date_time("2023-11-15T10:00:00Z").unwrap());
        let friday_evening = parse_date_time("2023-11-17T17:30:00Z").unwrap();
        assert_eq!(
            cron.next_after(friday_evening),
            Some(parse_date_time("2023-11-20T09:00:00Z").unwrap())
        );
        let every_15s = Cron::parse("*/15 * * * * ?").unwrap();
        assert_eq!(every_15s.next_after(T0), Some(T0 + 10_000));
        let first_of_month = Cron::parse("0 30 6 1 JAN,JUL *").unwrap();
        assert_eq!(
            first_of_month.next_after(T0),
            Some(parse_date_time("2024-01-01T06:30:00Z").unwrap())
        );
        for bad in ["* * * * *", "0 0 0 L * ?", "61 * * * * *", "0 0 0 * * 1#2"] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn feel_values_become_timers() {
        let d = feel::Value::DayTimeDuration(DayTimeDuration::from_secs(30));
        assert_eq!(
            spec_of_value(TimerKind::Duration, &d).unwrap().first(T0),
            Some((T0 + 30_000, 1))
        );
        assert_eq!(
            spec_of_value(TimerKind::Cycle, &d).unwrap().first(T0),
            Some((T0 + 30_000, -1))
        );
        let s = feel::Value::String("PT1M".into());
        assert!(spec_of_value(TimerKind::Duration, &s).is_ok());
        let n = feel::Value::Bool(true);
        assert!(spec_of_value(TimerKind::Date, &n).is_err());
    }
}
