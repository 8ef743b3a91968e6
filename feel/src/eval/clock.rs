//! Where `now()` and `today()` take the time from: the [`Clock`] trait, a fixed clock
//! for tests and replays, and the system clock natively.

use crate::temporal::DateTime;
use std::fmt;

/// Source of the current time for `now()` and `today()`.
pub trait Clock: Send + Sync {
    /// The current date and time, with its zone.
    fn now(&self) -> DateTime;
}

impl fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// A clock that always says the same time: for tests and replays.
#[derive(Debug, Clone)]
pub struct FixedClock(pub DateTime);

impl Clock for FixedClock {
    fn now(&self) -> DateTime {
        self.0.clone()
    }
}

/// The machine's clock, in UTC. Not available on wasm32, where there is no system time.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now(&self) -> DateTime {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(0));
        // Millisecond precision, like most engines' clocks.
        let nanos = nanos - nanos % 1_000_000;
        DateTime::from_epoch_nanos(nanos, Some(crate::temporal::Zone::offset(0))).unwrap_or_else(
            || {
                DateTime::at_midnight(
                    crate::temporal::Date {
                        year: 1970,
                        month: 1,
                        day: 1,
                    },
                    None,
                )
            },
        )
    }
}
