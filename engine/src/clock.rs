//! The engine's notion of time.
//!
//! Every timestamp, job deadline and back-off is read from a [`Clock`] handed to the
//! engine, never from the system directly, so tests move time explicitly with a
//! [`ManualClock`] instead of sleeping.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

/// Source of the current time in epoch milliseconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;
}

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at `millis`.
    #[must_use]
    pub fn new(millis: i64) -> Self {
        Self(Arc::new(AtomicI64::new(millis)))
    }

    /// Moves the clock forward by `millis`.
    pub fn advance(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }

    /// Sets the clock to `millis`.
    pub fn set(&self, millis: i64) {
        self.0.store(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Adapts an engine clock for FEEL's `now()` and `today()` (UTC).
#[derive(Debug)]
pub(crate) struct FeelClock(pub(crate) i64);

impl feel::Clock for FeelClock {
    fn now(&self) -> feel::temporal::DateTime {
        let nanos = i128::from(self.0) * 1_000_000;
        feel::temporal::DateTime::from_epoch_nanos(nanos, Some(feel::temporal::Zone::offset(0)))
            .unwrap_or_else(|| {
                feel::temporal::DateTime::at_midnight(
                    feel::temporal::Date {
                        year: 1970,
                        month: 1,
                        day: 1,
                    },
                    None,
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_000);
        let shared = clock.clone();
        assert_eq!(clock.now_millis(), 1_000);
        shared.advance(250);
        assert_eq!(clock.now_millis(), 1_250);
        clock.set(5);
        assert_eq!(shared.now_millis(), 5);
    }
}
