//! Abuse controls: the replay (nonce) cache and the per-caller AssumeRole rate limit.
//! Both have bounded memory.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Remembers signature nonces for at least the skew window, in bounded memory: two generations
/// of at most `cap` entries each; the current one becomes the previous when it is `window_ms`
/// old or full. Under a flood of more than `cap` fresh nonces per window, the guaranteed
/// memory of a nonce shrinks to the time it takes to see `cap` others (documented trade-off).
pub struct ReplayCache {
    inner: Mutex<Generations>,
    cap: usize,
    window_ms: i64,
}

struct Generations {
    current: HashSet<String>,
    previous: HashSet<String>,
    started_ms: i64,
}

impl ReplayCache {
    pub fn new(cap: usize, window_ms: i64) -> Self {
        ReplayCache {
            inner: Mutex::new(Generations {
                current: HashSet::new(),
                previous: HashSet::new(),
                started_ms: 0,
            }),
            cap: cap.max(1),
            window_ms,
        }
    }

    /// Records `nonce` (scoped by `scope`, the AccessKeyId); false when it was seen already.
    pub fn check_and_insert(&self, scope: &str, nonce: &str, now_ms: i64) -> bool {
        let key = format!("{scope}\u{0}{nonce}");
        let Ok(mut g) = self.inner.lock() else {
            return false;
        };
        if now_ms - g.started_ms >= self.window_ms || g.current.len() >= self.cap {
            let cur = std::mem::take(&mut g.current);
            g.previous = cur;
            g.started_ms = now_ms;
        }
        if g.previous.contains(&key) || g.current.contains(&key) {
            return false;
        }
        g.current.insert(key);
        true
    }
}

/// A token bucket per caller: `rate` tokens per second, at most `burst`. Memory is bounded by
/// `max_callers`: when full, buckets that have refilled completely (idle callers) are dropped.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    max_callers: usize,
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64, max_callers: usize) -> Self {
        RateLimiter {
            rate,
            burst: burst.max(1.0),
            max_callers,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `caller`; false when the caller is over its rate.
    pub fn allow(&self, caller: &str, now_ms: i64) -> bool {
        if self.rate <= 0.0 {
            return true; // disabled
        }
        let Ok(mut b) = self.buckets.lock() else {
            return false;
        };
        if b.len() >= self.max_callers && !b.contains_key(caller) {
            let (rate, burst) = (self.rate, self.burst);
            b.retain(|_, (tokens, last)| *tokens + (now_ms - *last) as f64 / 1000.0 * rate < burst);
            if b.len() >= self.max_callers {
                return false;
            }
        }
        let entry = b.entry(caller.to_owned()).or_insert((self.burst, now_ms));
        let elapsed = (now_ms - entry.1).max(0) as f64 / 1000.0;
        entry.0 = (entry.0 + elapsed * self.rate).min(self.burst);
        entry.1 = now_ms;
        if entry.0 >= 1.0 {
            entry.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_is_detected_within_the_window() {
        let c = ReplayCache::new(100, 1000);
        assert!(c.check_and_insert("ak", "n1", 0));
        assert!(!c.check_and_insert("ak", "n1", 10));
        assert!(c.check_and_insert("other", "n1", 10));
        // One rotation later it is still remembered (previous generation)...
        assert!(!c.check_and_insert("ak", "n1", 1500));
        // ...two rotations later it is gone (by then the timestamp check rejects it anyway).
        assert!(c.check_and_insert("ak", "zz", 2600));
        assert!(c.check_and_insert("ak", "n1", 2700));
    }

    #[test]
    fn replay_cache_memory_is_bounded() {
        let c = ReplayCache::new(10, 1_000_000);
        for i in 0..1000 {
            assert!(c.check_and_insert("ak", &i.to_string(), 0));
        }
        let g = c.inner.lock().unwrap();
        assert!(g.current.len() <= 10 && g.previous.len() <= 10);
    }

    #[test]
    fn token_bucket() {
        let r = RateLimiter::new(10.0, 5.0, 100);
        for _ in 0..5 {
            assert!(r.allow("a", 0));
        }
        assert!(!r.allow("a", 0));
        assert!(r.allow("b", 0), "another caller is not starved");
        assert!(r.allow("a", 100), "refills at 10/s");
        assert!(!r.allow("a", 100));
    }

    #[test]
    fn limiter_memory_is_bounded() {
        let r = RateLimiter::new(1.0, 1.0, 3);
        assert!(r.allow("a", 0));
        assert!(r.allow("b", 0));
        assert!(r.allow("c", 0));
        assert!(!r.allow("d", 0), "full of busy callers");
        assert!(r.allow("d", 5000), "idle buckets are evicted");
    }
}
