//! Time, injected: servers read the clock only through [`Clock`], so tests use a [`ManualClock`].

use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time (unix seconds).
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;

    /// Seconds since the Unix epoch.
    fn now(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// The system clock shifted by a fixed number of seconds: `keyless up --clock-offset-secs`, for
/// end-to-end tests of expiry with real clients (e.g. restart a data dir an hour "later").
#[derive(Debug, Default)]
pub struct OffsetClock(pub i64);

impl Clock for OffsetClock {
    fn now_millis(&self) -> i64 {
        SystemClock.now_millis() + self.0 * 1000
    }
}

/// A clock that only moves when told to (holds milliseconds).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Starts at `now` seconds.
    pub fn new(now: i64) -> Self {
        Self(AtomicI64::new(now * 1000))
    }

    pub fn set(&self, now: i64) {
        self.0.store(now * 1000, Ordering::SeqCst);
    }

    pub fn advance_millis(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn advance(&self, secs: i64) {
        self.advance_millis(secs * 1000);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
