//! Calendar dates in the proleptic Gregorian calendar: days since the epoch, weekdays,
//! ISO weeks, month arithmetic and the `YYYY-MM-DD` form.

use super::{MAX_YEAR, all_digits};
use std::fmt;

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

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.year < 0 {
            write!(f, "-{:04}-{:02}-{:02}", -self.year, self.month, self.day)
        } else {
            write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
        }
    }
}
