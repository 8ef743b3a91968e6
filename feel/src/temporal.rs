//! Small, self-contained temporal types: dates, times, date-times with offsets and durations.
//!
//! Written here instead of pulling in `chrono`/`time` because FEEL needs exactly these five
//! types with ISO-8601 text forms, proleptic Gregorian arithmetic and no system clock; all of
//! it is pure integer code that builds for wasm32 as-is. Time zones are fixed UTC offsets;
//! the only named zones known are the UTC aliases (see the crate docs).

use std::cmp::Ordering;
use std::fmt;

const NANOS_PER_SEC: i128 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// Largest absolute year accepted.
pub const MAX_YEAR: i64 = 999_999_999;

/// Names of the UTC aliases accepted as zone ids.
const UTC_NAMES: &[&str] = &[
    "UTC", "Z", "GMT", "Etc/UTC", "Etc/GMT", "UCT", "Etc/UCT", "Zulu",
];

/// A calendar date in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year (may be negative or above 9999).
    pub year: i64,
    /// Month 1..=12.
    pub month: u32,
    /// Day 1..=31.
    pub day: u32,
}

/// A time of day without zone: seconds since midnight plus nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime {
    /// Seconds since midnight, 0..86400.
    pub secs: u32,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

/// A zone: a fixed offset, optionally with the id it was written with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Zone {
    /// Offset from UTC in seconds.
    pub offset: i32,
    /// The zone id if one was given (`@UTC`), else `None` for a plain offset.
    pub id: Option<String>,
}

/// A time of day, optionally with a zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Time {
    /// Local time of day.
    pub local: LocalTime,
    /// Zone, if any.
    pub zone: Option<Zone>,
}

/// A date and time, optionally with a zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// Calendar date.
    pub date: Date,
    /// Local time of day.
    pub time: LocalTime,
    /// Zone, if any.
    pub zone: Option<Zone>,
}

/// A days-and-time duration, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DayTimeDuration(pub i128);

/// A years-and-months duration, in months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonthDuration(pub i64);

/// Whether `y` is a leap year.
#[must_use]
pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Number of days in month `m` of year `y`.
#[must_use]
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    }
}

impl Date {
    /// Builds a date, checking ranges.
    #[must_use]
    pub fn new(year: i64, month: u32, day: u32) -> Option<Self> {
        if year.abs() > MAX_YEAR || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Self { year, month, day })
    }

    /// Days since 1970-01-01.
    #[must_use]
    pub fn to_days(self) -> i64 {
        // Howard Hinnant's days-from-civil algorithm.
        let y = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01.
    #[must_use]
    pub fn from_days(days: i64) -> Option<Self> {
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).ok()?;
        let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).ok()?;
        let y = yoe + era * 400 + i64::from(m <= 2);
        Self::new(y, m, d)
    }

    /// ISO day of week, 1 = Monday .. 7 = Sunday.
    #[must_use]
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (4).
        u32::try_from((self.to_days() + 3).rem_euclid(7) + 1).unwrap_or(1)
    }

    /// Day of the year, 1-based.
    #[must_use]
    pub fn day_of_year(self) -> u32 {
        let jan1 = Self {
            year: self.year,
            month: 1,
            day: 1,
        };
        u32::try_from(self.to_days() - jan1.to_days() + 1).unwrap_or(1)
    }

    /// ISO-8601 week number.
    #[must_use]
    pub fn iso_week(self) -> u32 {
        let wd = i64::from(self.weekday());
        let doy = i64::from(self.day_of_year());
        let week = (doy - wd + 10) / 7;
        if week < 1 {
            // Belongs to the last week of the previous year.
            Self::weeks_in_year(self.year - 1)
        } else if week > i64::from(Self::weeks_in_year(self.year)) {
            1
        } else {
            u32::try_from(week).unwrap_or(1)
        }
    }

    fn weeks_in_year(y: i64) -> u32 {
        let p =
            |y: i64| (y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)).rem_euclid(7);
        if p(y) == 4 || p(y - 1) == 3 { 53 } else { 52 }
    }

    /// Adds months, clamping the day to the end of the target month.
    #[must_use]
    pub fn add_months(self, months: i64) -> Option<Self> {
        let total = self.year.checked_mul(12)? + i64::from(self.month) - 1;
        let total = total.checked_add(months)?;
        let y = total.div_euclid(12);
        let m = u32::try_from(total.rem_euclid(12) + 1).ok()?;
        let d = self.day.min(days_in_month(y, m));
        Self::new(y, m, d)
    }

    /// Parses `YYYY-MM-DD` (years may have more digits or a leading `-`).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let mut parts = body.splitn(3, '-');
        let y = parts.next()?;
        let m = parts.next()?;
        let d = parts.next()?;
        if y.len() < 4
            || m.len() != 2
            || d.len() != 2
            || !all_digits(y)
            || !all_digits(m)
            || !all_digits(d)
        {
            return None;
        }
        if y.len() > 4 && y.starts_with('0') {
            return None;
        }
        let year: i64 = y.parse().ok()?;
        Self::new(
            if neg { -year } else { year },
            m.parse().ok()?,
            d.parse().ok()?,
        )
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.year < 0 {
            write!(f, "-{:04}-{:02}-{:02}", -self.year, self.month, self.day)
        } else {
            write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
        }
    }
}

impl LocalTime {
    /// Builds a time of day, checking ranges.
    #[must_use]
    pub fn new(hour: u32, minute: u32, second: u32, nanos: u32) -> Option<Self> {
        if hour > 23 || minute > 59 || second > 59 || nanos >= 1_000_000_000 {
            return None;
        }
        Some(Self {
            secs: hour * 3600 + minute * 60 + second,
            nanos,
        })
    }

    /// Hour 0..=23.
    #[must_use]
    pub fn hour(self) -> u32 {
        self.secs / 3600
    }

    /// Minute 0..=59.
    #[must_use]
    pub fn minute(self) -> u32 {
        self.secs / 60 % 60
    }

    /// Second 0..=59.
    #[must_use]
    pub fn second(self) -> u32 {
        self.secs % 60
    }

    fn total_nanos(self) -> i128 {
        i128::from(self.secs) * NANOS_PER_SEC + i128::from(self.nanos)
    }

    fn from_nanos_wrapping(n: i128) -> Self {
        let n = n.rem_euclid(i128::from(SECS_PER_DAY) * NANOS_PER_SEC);
        Self {
            secs: u32::try_from(n / NANOS_PER_SEC).unwrap_or(0),
            nanos: u32::try_from(n % NANOS_PER_SEC).unwrap_or(0),
        }
    }

    /// Parses `hh:mm:ss[.fffffffff]`.
    fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 8 || b[2] != b':' || b[5] != b':' {
            return None;
        }
        let (h, m, sec) = (&s[0..2], &s[3..5], &s[6..8]);
        if !all_digits(h) || !all_digits(m) || !all_digits(sec) {
            return None;
        }
        let mut nanos = 0;
        if b.len() > 8 {
            let frac = s[8..].strip_prefix('.')?;
            if !all_digits(frac) || frac.len() > 9 {
                return None;
            }
            nanos = frac.parse::<u32>().ok()? * 10u32.pow(u32::try_from(9 - frac.len()).ok()?);
        }
        Self::new(h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?, nanos)
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}:{:02}",
            self.hour(),
            self.minute(),
            self.second()
        )?;
        if self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

impl Zone {
    /// A plain UTC offset.
    #[must_use]
    pub fn offset(seconds: i32) -> Self {
        Self {
            offset: seconds,
            id: None,
        }
    }

    /// Parses a zone suffix: `Z`, `+hh:mm`, `-hh:mm[:ss]` or `@id`.
    ///
    /// Returns `Err` with a message for a well-formed but unsupported zone id.
    fn parse(s: &str) -> Result<Option<Self>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        if s == "Z" {
            return Ok(Some(Self::offset(0)));
        }
        if let Some(id) = s.strip_prefix('@') {
            return Self::named(id).map(Some);
        }
        parse_offset(s)
            .map(|o| Some(Self::offset(o)))
            .ok_or_else(|| format!("invalid zone offset '{s}'"))
    }

    /// A zone from an id; only UTC aliases and `+hh:mm` style ids are known.
    ///
    /// # Errors
    /// A message naming the unsupported zone.
    pub fn named(id: &str) -> Result<Self, String> {
        if UTC_NAMES.contains(&id) {
            return Ok(Self {
                offset: 0,
                id: Some(id.to_string()),
            });
        }
        if let Some(o) = parse_offset(id) {
            return Ok(Self::offset(o));
        }
        Err(format!(
            "time zone '{id}' is not supported: use a UTC offset such as +01:00"
        ))
    }
}

fn parse_offset(s: &str) -> Option<i32> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &s[1..];
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.len() != 2 || !all_digits(p)) {
        return None;
    }
    let h: i32 = parts[0].parse().ok()?;
    let m: i32 = parts[1].parse().ok()?;
    let sec: i32 = parts.get(2).map_or(Some(0), |p| p.parse().ok())?;
    if h > 18 || m > 59 || sec > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60 + sec))
}

fn fmt_offset(f: &mut fmt::Formatter<'_>, offset: i32) -> fmt::Result {
    if offset == 0 {
        return write!(f, "Z");
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.unsigned_abs();
    write!(f, "{sign}{:02}:{:02}", a / 3600, a / 60 % 60)?;
    if !a.is_multiple_of(60) {
        write!(f, ":{:02}", a % 60)?;
    }
    Ok(())
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "@{id}"),
            None => fmt_offset(f, self.offset),
        }
    }
}

/// Splits `hh:mm:ss[.f]<zone>` into time text and zone text.
fn split_zone(s: &str) -> (&str, &str) {
    if let Some(i) = s.find('@') {
        return (&s[..i], &s[i..]);
    }
    if let Some(t) = s.strip_suffix('Z') {
        return (t, "Z");
    }
    match s.get(8..).and_then(|rest| rest.find(['+', '-'])) {
        Some(i) => (&s[..8 + i], &s[8 + i..]),
        None => (s, ""),
    }
}

impl Time {
    /// Parses `hh:mm:ss[.f][Z|±hh:mm|@id]`.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (t, z) = split_zone(s);
        let local = LocalTime::parse(t).ok_or_else(|| format!("invalid time '{s}'"))?;
        Ok(Self {
            local,
            zone: Zone::parse(z)?,
        })
    }

    /// Nanoseconds since midnight UTC if zoned, else since local midnight.
    fn key(&self) -> i128 {
        let off = self.zone.as_ref().map_or(0, |z| i128::from(z.offset));
        (self.local.total_nanos() - off * NANOS_PER_SEC)
            .rem_euclid(i128::from(SECS_PER_DAY) * NANOS_PER_SEC)
    }

    /// Compares two times; `None` when one is zoned and the other is not.
    #[must_use]
    pub fn compare(&self, other: &Self) -> Option<Ordering> {
        if self.zone.is_some() != other.zone.is_some() {
            return None;
        }
        Some(self.key().cmp(&other.key()))
    }

    /// Adds a duration, wrapping around midnight.
    #[must_use]
    pub fn add(&self, d: DayTimeDuration) -> Self {
        Self {
            local: LocalTime::from_nanos_wrapping(self.local.total_nanos() + d.0),
            zone: self.zone.clone(),
        }
    }

    /// `self - other` as a duration; `None` when zoning differs.
    #[must_use]
    pub fn sub(&self, other: &Self) -> Option<DayTimeDuration> {
        if self.zone.is_some() != other.zone.is_some() {
            return None;
        }
        Some(DayTimeDuration(self.key() - other.key()))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.local)?;
        if let Some(z) = &self.zone {
            write!(f, "{z}")?;
        }
        Ok(())
    }
}

impl DateTime {
    /// Parses `YYYY-MM-DDThh:mm:ss[.f][zone]`, or a bare date (midnight, no zone).
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        let Some((d, t)) = s.split_once('T') else {
            let date = Date::parse(s).ok_or_else(|| format!("invalid date and time '{s}'"))?;
            return Ok(Self {
                date,
                time: LocalTime { secs: 0, nanos: 0 },
                zone: None,
            });
        };
        let date = Date::parse(d).ok_or_else(|| format!("invalid date and time '{s}'"))?;
        let time = Time::parse(t).map_err(|_| format!("invalid date and time '{s}'"))?;
        Ok(Self {
            date,
            time: time.local,
            zone: time.zone,
        })
    }

    /// Nanoseconds since 1970-01-01T00:00:00 in UTC (zoned) or local time.
    #[must_use]
    pub fn epoch_nanos(&self) -> i128 {
        let off = self.zone.as_ref().map_or(0, |z| i128::from(z.offset));
        (i128::from(self.date.to_days()) * i128::from(SECS_PER_DAY) + i128::from(self.time.secs)
            - off)
            * NANOS_PER_SEC
            + i128::from(self.time.nanos)
    }

    /// The date-time at `nanos` after the epoch, shown in `zone`.
    #[must_use]
    pub fn from_epoch_nanos(nanos: i128, zone: Option<Zone>) -> Option<Self> {
        let off = zone.as_ref().map_or(0, |z| i128::from(z.offset));
        let local = nanos + off * NANOS_PER_SEC;
        let day_nanos = i128::from(SECS_PER_DAY) * NANOS_PER_SEC;
        let days = i64::try_from(local.div_euclid(day_nanos)).ok()?;
        let date = Date::from_days(days)?;
        Some(Self {
            date,
            time: LocalTime::from_nanos_wrapping(local.rem_euclid(day_nanos)),
            zone,
        })
    }

    /// Compares two date-times; `None` when one is zoned and the other is not.
    #[must_use]
    pub fn compare(&self, other: &Self) -> Option<Ordering> {
        if self.zone.is_some() != other.zone.is_some() {
            return None;
        }
        Some(self.epoch_nanos().cmp(&other.epoch_nanos()))
    }

    /// Adds a days-and-time duration.
    #[must_use]
    pub fn add(&self, d: DayTimeDuration) -> Option<Self> {
        Self::from_epoch_nanos(self.epoch_nanos().checked_add(d.0)?, self.zone.clone())
    }

    /// Adds a years-and-months duration (clamping the day of month).
    #[must_use]
    pub fn add_months(&self, months: i64) -> Option<Self> {
        Some(Self {
            date: self.date.add_months(months)?,
            time: self.time,
            zone: self.zone.clone(),
        })
    }

    /// `self - other`; `None` when zoning differs.
    #[must_use]
    pub fn sub(&self, other: &Self) -> Option<DayTimeDuration> {
        if self.zone.is_some() != other.zone.is_some() {
            return None;
        }
        Some(DayTimeDuration(self.epoch_nanos() - other.epoch_nanos()))
    }

    /// Midnight at the start of `date`, no zone.
    #[must_use]
    pub fn at_midnight(date: Date, zone: Option<Zone>) -> Self {
        Self {
            date,
            time: LocalTime { secs: 0, nanos: 0 },
            zone,
        }
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}T{}", self.date, self.time)?;
        if let Some(z) = &self.zone {
            write!(f, "{z}")?;
        }
        Ok(())
    }
}

impl DayTimeDuration {
    /// Whole seconds.
    #[must_use]
    pub fn from_secs(s: i64) -> Self {
        Self(i128::from(s) * NANOS_PER_SEC)
    }

    /// Parses `[-]PnDTnHnMn.nS` (at least one component).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let (neg, body) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let body = body.strip_prefix('P')?;
        let (date_part, time_part) = match body.split_once('T') {
            Some((d, t)) => {
                if t.is_empty() {
                    return None;
                }
                (d, Some(t))
            }
            None => (body, None),
        };
        let mut total: i128 = 0;
        let mut any = false;
        if !date_part.is_empty() {
            let n = date_part.strip_suffix('D')?;
            if !all_digits(n) || n.len() > 18 {
                return None;
            }
            total += n.parse::<i128>().ok()? * i128::from(SECS_PER_DAY) * NANOS_PER_SEC;
            any = true;
        }
        if let Some(t) = time_part {
            let mut rest = t;
            let mut last = 0;
            for (unit, mult, rank) in [('H', 3600, 1), ('M', 60, 2), ('S', 1, 3)] {
                if let Some(i) = rest.find(unit) {
                    if rank <= last {
                        return None;
                    }
                    let n = &rest[..i];
                    rest = &rest[i + 1..];
                    last = rank;
                    any = true;
                    if unit == 'S' {
                        let (whole, frac) = n.split_once('.').unwrap_or((n, ""));
                        if !all_digits(whole) || whole.len() > 18 || frac.len() > 9 {
                            return None;
                        }
                        if !frac.is_empty() && !all_digits(frac) {
                            return None;
                        }
                        let frac_n: i128 = if frac.is_empty() {
                            0
                        } else {
                            frac.parse::<i128>().ok()?
                                * 10i128.pow(u32::try_from(9 - frac.len()).ok()?)
                        };
                        total += whole.parse::<i128>().ok()? * NANOS_PER_SEC + frac_n;
                    } else {
                        if !all_digits(n) || n.len() > 18 {
                            return None;
                        }
                        total += n.parse::<i128>().ok()? * mult * NANOS_PER_SEC;
                    }
                }
            }
            if !rest.is_empty() {
                return None;
            }
        }
        if !any {
            return None;
        }
        Some(Self(if neg { -total } else { total }))
    }

    /// Days component (truncated).
    #[must_use]
    pub fn days(self) -> i128 {
        self.0 / (i128::from(SECS_PER_DAY) * NANOS_PER_SEC)
    }
    /// Hours component 0..24 (signed like the duration).
    #[must_use]
    pub fn hours(self) -> i128 {
        self.0 / (3600 * NANOS_PER_SEC) % 24
    }
    /// Minutes component.
    #[must_use]
    pub fn minutes(self) -> i128 {
        self.0 / (60 * NANOS_PER_SEC) % 60
    }
    /// Seconds component (whole).
    #[must_use]
    pub fn seconds(self) -> i128 {
        self.0 / NANOS_PER_SEC % 60
    }
}

impl fmt::Display for DayTimeDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0.unsigned_abs();
        if self.0 < 0 {
            write!(f, "-")?;
        }
        let nps = NANOS_PER_SEC.unsigned_abs();
        let secs = a / nps;
        let nanos = a % nps;
        let days = secs / 86_400;
        let h = secs / 3600 % 24;
        let m = secs / 60 % 60;
        let s = secs % 60;
        write!(f, "P")?;
        if days > 0 {
            write!(f, "{days}D")?;
        }
        if h > 0 || m > 0 || s > 0 || nanos > 0 || days == 0 {
            write!(f, "T")?;
            if h > 0 {
                write!(f, "{h}H")?;
            }
            if m > 0 {
                write!(f, "{m}M")?;
            }
            if s > 0 || nanos > 0 || (h == 0 && m == 0) {
                if nanos > 0 {
                    let frac = format!("{nanos:09}");
                    write!(f, "{s}.{}S", frac.trim_end_matches('0'))?;
                } else {
                    write!(f, "{s}S")?;
                }
            }
        }
        Ok(())
    }
}

impl YearMonthDuration {
    /// Parses `[-]PnYnM` (at least one component).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let (neg, body) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let mut rest = body.strip_prefix('P')?;
        let mut total: i64 = 0;
        let mut any = false;
        for (unit, mult) in [('Y', 12i64), ('M', 1)] {
            if let Some(i) = rest.find(unit) {
                let n = &rest[..i];
                if !all_digits(n) || n.len() > 12 {
                    return None;
                }
                total = total.checked_add(n.parse::<i64>().ok()?.checked_mul(mult)?)?;
                rest = &rest[i + 1..];
                any = true;
            }
        }
        if !rest.is_empty() || !any {
            return None;
        }
        Some(Self(if neg { -total } else { total }))
    }

    /// Months between two dates, truncated toward zero (whole months only).
    #[must_use]
    pub fn between(from: &DateTime, to: &DateTime) -> Self {
        let months = |d: &DateTime| d.date.year * 12 + i64::from(d.date.month);
        let mut m = months(to) - months(from);
        let tail = |d: &DateTime| (d.date.day, d.time.secs, d.time.nanos);
        if m > 0 && tail(to) < tail(from) {
            m -= 1;
        } else if m < 0 && tail(to) > tail(from) {
            m += 1;
        }
        Self(m)
    }
}

impl fmt::Display for YearMonthDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0.unsigned_abs();
        if self.0 < 0 {
            write!(f, "-")?;
        }
        let (y, m) = (a / 12, a % 12);
        write!(f, "P")?;
        if y > 0 {
            write!(f, "{y}Y")?;
        }
        if m > 0 || y == 0 {
            write!(f, "{m}M")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 365, 11_016, 2_932_896] {
            let d = Date::from_days(days).unwrap();
            assert_eq!(d.to_days(), days, "{d}");
        }
        assert_eq!(Date::parse("2000-03-01").unwrap().to_days(), 11_017);
    }

    #[test]
    fn iso_weeks() {
        assert_eq!(Date::parse("2021-01-03").unwrap().iso_week(), 53);
        assert_eq!(Date::parse("2019-12-30").unwrap().iso_week(), 1);
        assert_eq!(Date::parse("2024-06-15").unwrap().iso_week(), 24);
    }

    #[test]
    fn durations_print_iso() {
        assert_eq!(
            DayTimeDuration::parse("P1DT2H").unwrap().to_string(),
            "P1DT2H"
        );
        assert_eq!(
            DayTimeDuration::parse("PT90M").unwrap().to_string(),
            "PT1H30M"
        );
        assert_eq!(
            DayTimeDuration::parse("-PT1.5S").unwrap().to_string(),
            "-PT1.5S"
        );
        assert_eq!(DayTimeDuration(0).to_string(), "PT0S");
        assert_eq!(
            YearMonthDuration::parse("P14M").unwrap().to_string(),
            "P1Y2M"
        );
        assert!(DayTimeDuration::parse("P").is_none());
        assert!(DayTimeDuration::parse("PT").is_none());
    }

    #[test]
    fn zoned_times() {
        let t = Time::parse("10:30:00+02:00").unwrap();
        assert_eq!(t.to_string(), "10:30:00+02:00");
        assert!(Time::parse("10:30:00@Europe/Paris").is_err());
        assert_eq!(
            Time::parse("10:30:00@UTC").unwrap().to_string(),
            "10:30:00@UTC"
        );
    }
}
