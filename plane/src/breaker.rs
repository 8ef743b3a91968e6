//! A circuit breaker per target host.
//!
//! After `failure_threshold` consecutive failures a host's breaker opens: calls to it fail at
//! once (the job goes back with its back-off, so a dead system is not hammered by every
//! retry of every instance). After `open_for` one call is let through as a probe
//! (half-open); its success closes the breaker, its failure opens it again.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// A breaker's state, as `/metrics` shows it (`0` closed, `1` open, `2` half-open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

impl State {
    #[must_use]
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
        }
    }
}

#[derive(Debug)]
enum Host {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// A probe is out; nobody else passes until it reports.
    Probing,
}

/// The breakers of every host this plane has called.
#[derive(Debug)]
pub struct Breakers {
    threshold: u32,
    open_for: Duration,
    hosts: Mutex<HashMap<String, Host>>,
}

/// A call refused because the host's breaker is open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the circuit breaker for {host} is open after repeated failures; calls resume in {retry_in:?}"
)]
pub struct Open {
    pub host: String,
    pub retry_in: Duration,
}

impl Breakers {
    #[must_use]
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            hosts: Mutex::default(),
        }
    }

    /// Whether a call to `host` may go out now. A call that is let through must be reported
    /// with [`Breakers::record`].
    ///
    /// # Errors
    /// [`Open`] while the host's breaker is open or its probe is still out.
    pub fn admit(&self, host: &str, now: Instant) -> Result<(), Open> {
        let mut hosts = self.hosts.lock().expect("breaker lock");
        let entry = hosts
            .entry(host.to_owned())
            .or_insert(Host::Closed { failures: 0 });
        match *entry {
            Host::Closed { .. } => Ok(()),
            Host::Open { until } if now >= until => {
                *entry = Host::Probing;
                Ok(())
            }
            Host::Open { until } => Err(Open {
                host: host.to_owned(),
                retry_in: until - now,
            }),
            Host::Probing => Err(Open {
                host: host.to_owned(),
                retry_in: self.open_for,
            }),
        }
    }

    /// Reports the outcome of an admitted call; returns the host's state after it.
    pub fn record(&self, host: &str, success: bool, now: Instant) -> State {
        let mut hosts = self.hosts.lock().expect("breaker lock");
        let entry = hosts
            .entry(host.to_owned())
            .or_insert(Host::Closed { failures: 0 });
        *entry = match (&*entry, success) {
            (_, true) => Host::Closed { failures: 0 },
            (Host::Closed { failures }, false) if failures + 1 < self.threshold => Host::Closed {
                failures: failures + 1,
            },
            (_, false) => Host::Open {
                until: now + self.open_for,
            },
        };
        state_of(entry)
    }

    /// Every host's state, for `/metrics`.
    #[must_use]
    pub fn states(&self) -> Vec<(String, State)> {
        let hosts = self.hosts.lock().expect("breaker lock");
        hosts
            .iter()
            .map(|(h, s)| (h.clone(), state_of(s)))
            .collect()
    }
}

fn state_of(host: &Host) -> State {
    match host {
        Host::Closed { .. } => State::Closed,
        Host::Open { .. } => State::Open,
        Host::Probing => State::HalfOpen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_probes_once_and_closes_on_success() {
        let breakers = Breakers::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..2 {
            breakers.admit("a", t0).unwrap();
            assert_eq!(breakers.record("a", false, t0), State::Closed);
        }
        breakers.admit("a", t0).unwrap();
        assert_eq!(breakers.record("a", false, t0), State::Open);
        let refused = breakers
            .admit("a", t0 + Duration::from_secs(4))
            .unwrap_err();
        assert_eq!(refused.retry_in, Duration::from_secs(6));
        // Other hosts are not affected.
        breakers.admit("b", t0).unwrap();

        let later = t0 + Duration::from_secs(10);
        breakers.admit("a", later).unwrap();
        // Only one probe at a time.
        assert!(breakers.admit("a", later).is_err());
        assert_eq!(
            breakers.states().iter().find(|(h, _)| h == "a").unwrap().1,
            State::HalfOpen
        );
        assert_eq!(breakers.record("a", true, later), State::Closed);
        breakers.admit("a", later).unwrap();
    }

    #[test]
    fn a_failed_probe_opens_again_and_a_success_resets_the_count() {
        let breakers = Breakers::new(2, Duration::from_secs(5));
        let t0 = Instant::now();
        breakers.record("a", false, t0);
        breakers.record("a", true, t0);
        assert_eq!(breakers.record("a", false, t0), State::Closed);
        assert_eq!(breakers.record("a", false, t0), State::Open);
        let later = t0 + Duration::from_secs(5);
        breakers.admit("a", later).unwrap();
        assert_eq!(breakers.record("a", false, later), State::Open);
        assert!(breakers.admit("a", later + Duration::from_secs(1)).is_err());
    }
}
