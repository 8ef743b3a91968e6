//! ISO-8601 checks for timer definitions: durations (`P…`), date-times and
//! repeating intervals (`R[n]/…`), plus the 6-field cron form Zeebe accepts
//! for cycles. Values starting with `=` are FEEL and are not checked here.

/// True for an ISO-8601 duration such as `PT15M`, `P1DT2H`, `P2W`, `PT0.5S`.
pub fn is_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else {
        return false;
    };
    if rest.is_empty() {
        return false;
    }
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return false;
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    // Only the smallest unit written may carry a fraction.
    if time.is_some() && date.contains(['.', ',']) {
        return false;
    }
    let date_ok = components(date, &['Y', 'M', 'W', 'D']);
    let time_ok = time.is_none_or(|t| components(t, &['H', 'M', 'S']));
    date_ok && time_ok
}

/// `nX` components in the given order, each unit at most once; only the last
/// component may have a fraction.
fn components(s: &str, units: &[char]) -> bool {
    let mut rest = s;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(end);
        let Some(unit) = tail.chars().next() else {
            return false;
        };
        let Some(pos) = units[next_unit..].iter().position(|u| *u == unit) else {
            return false;
        };
        next_unit += pos + 1;
        if !is_number(num) {
            return false;
        }
        rest = &tail[unit.len_utf8()..];
        if (num.contains('.') || num.contains(',')) && !rest.is_empty() {
            return false;
        }
    }
    true
}

fn is_number(s: &str) -> bool {
    let mut parts = s.splitn(2, ['.', ',']);
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// True for an ISO-8601 date-time with a zone, such as `2025-03-01T10:00:00Z`,
/// `2025-03-01T10:00:00.5+01:00` or `2025-03-01T10:00:00+01:00[Europe/Berlin]`.
pub fn is_date_time(s: &str) -> bool {
    let s = match s.split_once('[') {
        Some((dt, zone)) => {
            let Some(zone) = zone.strip_suffix(']') else {
                return false;
            };
            if zone.is_empty()
                || !zone
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
            {
                return false;
            }
            dt
        }
        None => s,
    };
    let Some((date, time)) = s.split_once('T') else {
        return false;
    };
    is_date(date) && is_time_with_zone(time)
}

fn is_date(d: &str) -> bool {
    let mut it = d.split('-');
    let (Some(y), Some(m), Some(day), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return false;
    };
    let (Some(y), Some(m), Some(day)) = (digits(y, 4), digits(m, 2), digits(day, 2)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let max = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=max).contains(&day)
}

fn is_time_with_zone(t: &str) -> bool {
    let (time, zone) = if let Some(t) = t.strip_suffix('Z') {
        (t, None)
    } else if let Some(i) = t.rfind(['+', '-']) {
        (&t[..i], Some(&t[i + 1..]))
    } else {
        return false;
    };
    if let Some(z) = zone {
        let ok = match z.split_once(':') {
            Some((h, m)) => {
                digits(h, 2).is_some_and(|h| h <= 18) && digits(m, 2).is_some_and(|m| m < 60)
            }
            None => digits(z, 2).is_some_and(|h| h <= 18) || digits(z, 4).is_some(),
        };
        if !ok {
            return false;
        }
    }
    let (hms, frac) = match time.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (time, None),
    };
    if frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let parts: Vec<&str> = hms.split(':').collect();
    let (h, m, s) = match parts.as_slice() {
        [h, m] => (digits(h, 2), digits(m, 2), Some(0)),
        [h, m, s] => (digits(h, 2), digits(m, 2), digits(s, 2)),
        _ => return false,
    };
    matches!((h, m, s), (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s <= 60)
}

/// True for an ISO-8601 repeating interval (`R/PT1H`, `R5/PT10S`,
/// `R3/2025-01-01T00:00:00Z/P1D`, `R/P1D/2025-12-31T00:00:00Z`) or a 6-field cron
/// expression (`0 0 9-17 * * MON-FRI`).
pub fn is_cycle(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix('R') {
        let mut parts = rest.split('/');
        let count = parts.next().unwrap_or("");
        if !count.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let parts: Vec<&str> = parts.collect();
        return match parts.as_slice() {
            [d] => is_duration(d),
            [a, b] => (is_date_time(a) && is_duration(b)) || (is_duration(a) && is_date_time(b)),
            _ => false,
        };
    }
    is_cron(s)
}

fn is_cron(s: &str) -> bool {
    let fields: Vec<&str> = s.split_whitespace().collect();
    fields.len() == 6
        && fields.iter().all(|f| {
            f.chars()
                .all(|c| c.is_ascii_alphanumeric() || "*?/,-#".contains(c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for ok in [
            "PT15M",
            "P1D",
            "P1DT2H30M",
            "P2W",
            "PT0.5S",
            "P1Y2M3DT4H5M6S",
            "PT36H",
        ] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in [
            "", "P", "PT", "15M", "P1H", "PT1D", "P1.5DT1H", "PT1M1H", "P-1D", "PT1S2",
        ] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn date_times() {
        for ok in [
            "2025-03-01T10:00:00Z",
            "2024-02-29T23:59:59.123+01:00",
            "2025-03-01T10:00:00+01:00[Europe/Berlin]",
            "2025-03-01T10:00Z",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "2025-03-01",
            "2025-03-01T10:00:00",
            "2023-02-29T10:00:00Z",
            "2025-13-01T10:00:00Z",
            "2025-03-01T24:00:00Z",
            "tomorrow",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn cycles() {
        for ok in [
            "R/PT1H",
            "R5/PT10S",
            "R3/2025-01-01T00:00:00Z/P1D",
            "R/P1D/2025-12-31T00:00:00Z",
            "0 0 9-17 * * MON-FRI",
        ] {
            assert!(is_cycle(ok), "{ok}");
        }
        for bad in ["R5", "R/", "Rx/PT1H", "PT1H", "R5/PT1H/PT1H", "* * * * *"] {
            assert!(!is_cycle(bad), "{bad}");
        }
    }
}
