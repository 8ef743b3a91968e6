//! Date-times with an optional zone: epoch arithmetic, comparison and the ISO-8601 form.

use super::{Date, DayTimeDuration, LocalTime, NANOS_PER_SEC, SECS_PER_DAY, Time, Zone};
use std::cmp::Ordering;
use std::fmt;

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
