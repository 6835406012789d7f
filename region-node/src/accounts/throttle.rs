//! Throttling of failed logins, per username and per client address.
//!
//! Each key has a bucket of `burst` tokens that refills completely over
//! `window`. A failed login takes a token; a login attempt while the bucket
//! is empty is refused with `rate_limited` and the time until a token is
//! back. Successful logins cost nothing, so many users behind one address
//! can log in freely while guessing passwords is slowed.

use std::collections::HashMap;
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

    /// `Err(seconds to wait)` if `key` has no failures left.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let buckets = self.lock();
        match buckets.get(key) {
            Some(bucket) => {
                let tokens = self.refilled(*bucket, now);
                if tokens >= 1.0 {
                    Ok(())
                } else {
                    Err(((1.0 - tokens) / self.per_sec).ceil() as u64)
                }
            }
            None => Ok(()),
        }
    }

    /// Records one failure for `key`.
    pub fn fail(&self, key: &str, now: Instant) {
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
        *bucket = Bucket {
            tokens: (tokens - 1.0).max(0.0),
            at: now,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_then_refill() {
        let throttle = FailureThrottle::new(3, Duration::from_secs(30));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(throttle.check("alice", t0).is_ok());
            throttle.fail("alice", t0);
        }
        let wait = throttle.check("alice", t0).unwrap_err();
        assert_eq!(wait, 10);
        assert!(throttle.check("bob", t0).is_ok());
        assert!(
            throttle
                .check("alice", t0 + Duration::from_secs(10))
                .is_ok()
        );
    }
}
