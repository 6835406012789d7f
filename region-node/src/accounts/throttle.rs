//! Throttling of failed logins.
//!
//! Each key has a bucket of `burst` tokens that refills completely over
//! `window`. An attempt takes a token from each of its buckets before the
//! password is checked, in one step per bucket, so parallel guesses cannot
//! all pass a check before any is counted; a successful login gives its
//! tokens back (successes cost nothing). An attempt whose bucket is empty
//! is refused with `rate_limited` and the time until a token is back.
//!
//! The policy ([`LoginThrottle`]):
//! - per (username, address) pair: `login_failures_per_username` failures
//!   per window. Guessing from one address stops there, and the rightful
//!   user logging in from anywhere else is not affected.
//! - per username, from any address: ten times that many failures, refilled
//!   over ten windows: a slower backoff against guessing from many
//!   addresses.
//! - per address: `login_failures_per_address` failures per window, against
//!   one address trying many usernames.
//!
//! A pair that logged in successfully in the last 30 days is trusted: its
//! attempts take tokens only from the pair's own bucket, so neither a
//! flood of failures at a username nor failures behind a shared address
//! lock out a user where they have logged in before.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failure buckets for one kind of key.
#[derive(Clone)]
pub struct FailureThrottle {
    burst: f64,
    per_sec: f64,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets above this count are swept of full ones.
const SWEEP_AT: usize = 10_000;

impl FailureThrottle {
    /// `burst` failures allowed at once, refilled over `window`.
    pub fn new(burst: u32, window: Duration) -> Self {
        let burst = f64::from(burst);
        Self {
            burst,
            per_sec: burst / window.as_secs_f64().max(0.001),
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes one token from `key`'s bucket, checking and counting in one
    /// step; `Err(seconds to wait)` if it has none left.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.lock();
        if buckets.len() >= SWEEP_AT {
            let burst = self.burst;
            buckets.retain(|_, b| self.refilled(*b, now) < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = self.refilled(*bucket, now);
        if tokens < 1.0 {
            return Err(((1.0 - tokens) / self.per_sec).ceil() as u64);
        }
        *bucket = Bucket {
            tokens: tokens - 1.0,
            at: now,
        };
        Ok(())
    }

    /// Gives back a token [`take`](Self::take) took.
    pub fn give_back(&self, key: &str, now: Instant) {
        let mut buckets = self.lock();
        if let Some(bucket) = buckets.get_mut(key) {
            let tokens = self.refilled(*bucket, now);
            *bucket = Bucket {
                tokens: (tokens + 1.0).min(self.burst),
                at: now,
            };
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.per_sec).min(self.burst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        // A poisoned map only holds counters; keep using it.
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How long a successful login keeps its (username, address) pair trusted.
const TRUST_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// Trusted pairs remembered at most.
const MAX_TRUSTED: usize = 100_000;

/// Failures of the username from anywhere, as a multiple of the pair's.
const USERNAME_FACTOR: u32 = 10;

/// The login policy of the module docs.
#[derive(Clone)]
pub struct LoginThrottle {
    pair: FailureThrottle,
    username: FailureThrottle,
    address: FailureThrottle,
    trusted: Arc<Mutex<HashMap<String, Instant>>>,
}

/// Tokens one login attempt holds until it is known to have failed.
#[must_use = "a successful login gives its tokens back"]
pub struct Attempt {
    pair: String,
    username: Option<String>,
    address: Option<String>,
}

impl LoginThrottle {
    /// `per_pair` failures per (username, address) and `per_address` per
    /// address, each refilled over `window`.
    pub fn new(per_pair: u32, per_address: u32, window: Duration) -> Self {
        Self {
            pair: FailureThrottle::new(per_pair, window),
            username: FailureThrottle::new(
                per_pair.saturating_mul(USERNAME_FACTOR),
                window.saturating_mul(USERNAME_FACTOR),
            ),
            address: FailureThrottle::new(per_address, window),
            trusted: Arc::default(),
        }
    }

    /// Takes the attempt's tokens, or `Err(seconds to wait)` taking none.
    pub fn begin(&self, username: &str, address: IpAddr, now: Instant) -> Result<Attempt, u64> {
        let address = address.to_string();
        let pair = format!("{username}\n{address}");
        self.pair.take(&pair, now)?;
        if self.is_trusted(&pair, now) {
            return Ok(Attempt {
                pair,
                username: None,
                address: None,
            });
        }
        if let Err(wait) = self.username.take(username, now) {
            self.pair.give_back(&pair, now);
            return Err(wait);
        }
        if let Err(wait) = self.address.take(&address, now) {
            self.pair.give_back(&pair, now);
            self.username.give_back(username, now);
            return Err(wait);
        }
        Ok(Attempt {
            pair,
            username: Some(username.to_owned()),
            address: Some(address),
        })
    }

    /// The attempt logged in: its tokens go back and its pair is trusted.
    pub fn succeeded(&self, attempt: Attempt, now: Instant) {
        self.pair.give_back(&attempt.pair, now);
        if let Some(username) = &attempt.username {
            self.username.give_back(username, now);
        }
        if let Some(address) = &attempt.address {
            self.address.give_back(address, now);
        }
        let mut trusted = self.trusted.lock().unwrap_or_else(|e| e.into_inner());
        if trusted.len() >= MAX_TRUSTED {
            trusted.retain(|_, at| now.saturating_duration_since(*at) < TRUST_FOR);
        }
        if trusted.len() < MAX_TRUSTED {
            trusted.insert(attempt.pair, now);
        }
    }

    /// A password check by a caller who already holds a token (account
    /// deletion): it counts against the username alone. `Err(seconds to
    /// wait)` when the username is throttled; a right password gives the
    /// token back with [`LoginThrottle::username_succeeded`].
    pub fn begin_username(&self, username: &str, now: Instant) -> Result<(), u64> {
        self.username.take(username, now)
    }

    /// The password checked by [`LoginThrottle::begin_username`] was right.
    pub fn username_succeeded(&self, username: &str, now: Instant) {
        self.username.give_back(username, now);
    }

    fn is_trusted(&self, pair: &str, now: Instant) -> bool {
        let trusted = self.trusted.lock().unwrap_or_else(|e| e.into_inner());
        trusted
            .get(pair)
            .is_some_and(|at| now.saturating_duration_since(*at) < TRUST_FOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_then_refill() {
        let throttle = FailureThrottle::new(3, Duration::from_secs(30));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(throttle.take("alice", t0).is_ok());
        }
        let wait = throttle.take("alice", t0).unwrap_err();
        assert_eq!(wait, 10);
        assert!(throttle.take("bob", t0).is_ok());
        assert!(throttle.take("alice", t0 + Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn successes_cost_nothing_and_trust_their_pair() {
        let throttle = LoginThrottle::new(2, 3, Duration::from_secs(60));
        let t0 = Instant::now();
        let home: IpAddr = [10, 0, 0, 1].into();
        let cafe: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..5 {
            let attempt = throttle.begin("ann", home, t0).unwrap();
            throttle.succeeded(attempt, t0);
        }
        // Three failures at other names exhaust the cafe's address budget.
        for name in ["bo", "cy", "di"] {
            drop(throttle.begin(name, cafe, t0).unwrap());
        }
        assert!(throttle.begin("ed", cafe, t0).is_err());
        // ann is a stranger at the cafe, but trusted at home.
        assert!(throttle.begin("ann", cafe, t0).is_err());
        assert!(throttle.begin("ann", home, t0).is_ok());
    }
}
