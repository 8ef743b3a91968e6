//! Durations: days-and-time durations in nanoseconds and years-and-months durations in
//! months, with their ISO-8601 forms.

use super::{DateTime, NANOS_PER_SEC, SECS_PER_DAY, all_digits};
use std::fmt;

/// A days-and-time duration, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DayTimeDuration(pub i128);

/// A years-and-months duration, in months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonthDuration(pub i64);

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
