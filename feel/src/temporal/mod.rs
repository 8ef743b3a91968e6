//! Small, self-contained temporal types: dates, times, date-times with offsets and durations.
//!
//! Written here instead of pulling in `chrono`/`time` because FEEL needs exactly these five
//! types with ISO-8601 text forms, proleptic Gregorian arithmetic and no system clock; all of
//! it is pure integer code that builds for wasm32 as-is. Time zones are fixed UTC offsets;
//! the only named zones known are the UTC aliases (see the crate docs).

mod date;
mod date_time;
mod duration;
mod time;

pub use date::{Date, days_in_month, is_leap};
pub use date_time::DateTime;
pub use duration::{DayTimeDuration, YearMonthDuration};
pub use time::{LocalTime, Time, Zone};

const NANOS_PER_SEC: i128 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// Largest absolute year accepted.
pub const MAX_YEAR: i64 = 999_999_999;

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
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
