//! Per-caller request limits (seed 000 §12.2: 1,000 requests a minute per API key by default),
//! and the sign-in limits per client address and per account.
//!
//! A token bucket per authenticated caller — each API token, each signed-in user — holding up
//! to a minute's allowance and refilling continuously. Over the limit a request gets 429 with
//! `Retry-After`, the seconds until one request is allowed again. Buckets live in this
//! process; several servers behind a balancer each apply the limit.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Buckets kept before full (idle) ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s allowance at `now`; `Err` holds how long to wait.
    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_sec
                    < capacity
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }

    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// How long until `key` may spend again at `now`, without spending anything: `None` while
    /// it has allowance left. For limits that only failures spend (the token endpoint's), which
    /// are looked at before an attempt and spent after a failed one.
    pub fn exhausted_at(&self, key: &str, now: Instant) -> Option<Duration> {
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.get(key)?;
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        let tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        (tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - tokens) / per_sec))
    }

    pub fn exhausted(&self, key: &str) -> Option<Duration> {
        self.exhausted_at(key, Instant::now())
    }
}

/// Sign-in attempts, limited per client address (one source trying many accounts) and per
/// account (many sources trying one), before any account is looked up or any password hashed:
/// a flood of guesses costs the server a map lookup each, not an Argon2 hash.
#[derive(Debug)]
pub struct SignInLimits {
    by_address: RateLimiter,
    by_account: RateLimiter,
}

impl SignInLimits {
    pub fn new(per_address: u32, per_account: u32) -> Self {
        Self {
            by_address: RateLimiter::new(per_address),
            by_account: RateLimiter::new(per_account),
        }
    }

    /// Counts an attempt from `address` (none when unknown) for `email`; `Err` holds how long
    /// to wait.
    pub fn admit(&self, address: Option<&str>, email: &str) -> Result<(), Duration> {
        if let Some(address) = address {
            self.by_address.check(address)?;
        }
        self.by_account.check(&email.trim().to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_minutes_worth_then_refills_continuously() {
        let limiter = RateLimiter::new(60);
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at("a", start).is_ok());
        }
        let wait = limiter.check_at("a", start).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        // Another caller has its own allowance.
        assert!(limiter.check_at("b", start).is_ok());
        // One second later, one more request.
        let later = start + Duration::from_secs(1);
        assert!(limiter.check_at("a", later).is_ok());
        assert!(limiter.check_at("a", later).is_err());
    }

    #[test]
    fn looking_at_an_allowance_spends_nothing() {
        let limiter = RateLimiter::new(2);
        let start = Instant::now();
        assert_eq!(limiter.exhausted_at("a", start), None);
        assert!(limiter.check_at("a", start).is_ok());
        assert_eq!(limiter.exhausted_at("a", start), None);
        assert_eq!(limiter.exhausted_at("a", start), None);
        assert!(limiter.check_at("a", start).is_ok());
        let wait = limiter.exhausted_at("a", start).unwrap();
        assert!(wait > Duration::from_secs(29) && wait <= Duration::from_secs(30));
        assert_eq!(
            limiter.exhausted_at("a", start + Duration::from_secs(30)),
            None
        );
    }
}
