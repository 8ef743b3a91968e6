//! Times of day and zones: [`LocalTime`], fixed-offset [`Zone`]s (with the UTC aliases as
//! the only named zones), [`Time`] with an optional zone, and their ISO-8601 forms.

use super::{DayTimeDuration, NANOS_PER_SEC, SECS_PER_DAY, all_digits};
use std::cmp::Ordering;
use std::fmt;

/// Names of the UTC aliases accepted as zone ids.
const UTC_NAMES: &[&str] = &[
    "UTC", "Z", "GMT", "Etc/UTC", "Etc/GMT", "UCT", "Etc/UCT", "Zulu",
];

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

    pub(super) fn from_nanos_wrapping(n: i128) -> Self {
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
