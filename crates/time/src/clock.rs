//! Time, injected: code reads the clock only through [`Clock`], so tests use a [`ManualClock`].
//!
//! [`SystemClock`] (and [`OffsetClock`], built on it) is the only place in the workspace that
//! calls `SystemTime::now`.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A source of the current time.
///
/// Any `Fn() -> i64` closure returning Unix milliseconds is a clock too, so a test can write
/// `Arc::new(move || other.now_millis())`.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;

    /// Seconds since the Unix epoch (rounded down, also before 1970).
    fn now(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }
}

/// Unix milliseconds from a closure.
impl<F> Clock for F
where
    F: Fn() -> i64 + Send + Sync,
{
    fn now_millis(&self) -> i64 {
        self()
    }
}

/// Lets structs holding an `Arc<dyn Clock>` derive `Debug` (it does not read the clock).
impl fmt::Debug for dyn Clock + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Clock")
    }
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// The system clock shifted by a fixed number of seconds: `keyless up --clock-offset-secs`, for
/// end-to-end tests of expiry with real clients (e.g. restart a data dir an hour "later").
#[derive(Debug, Default, Clone, Copy)]
pub struct OffsetClock(pub i64);

impl Clock for OffsetClock {
    fn now_millis(&self) -> i64 {
        SystemClock
            .now_millis()
            .saturating_add(self.0.saturating_mul(1000))
    }
}

/// A clock that only moves when told to (holds milliseconds). Clones share the same time.
///
/// ```
/// use keyless_time::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_700_000_000);
/// let view = clock.clone();
/// clock.advance(60);
/// assert_eq!(view.now(), 1_700_000_060);
/// clock.advance_millis(1_500);
/// assert_eq!(view.now_millis(), 1_700_000_061_500);
/// ```
#[derive(Debug, Default, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at `now` seconds.
    pub fn new(now: i64) -> Self {
        Self(Arc::new(AtomicI64::new(now.saturating_mul(1000))))
    }

    /// Sets the clock to `now` seconds.
    pub fn set(&self, now: i64) {
        self.0.store(now.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Moves the clock by `ms` milliseconds (backward if negative).
    pub fn advance_millis(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Moves the clock by `secs` seconds (backward if negative).
    pub fn advance(&self, secs: i64) {
        self.advance_millis(secs.saturating_mul(1000));
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(10);
        assert_eq!((c.now(), c.now_millis()), (10, 10_000));
        c.advance(5);
        assert_eq!(c.now(), 15);
        c.advance_millis(-1);
        assert_eq!((c.now(), c.now_millis()), (14, 14_999));
        c.set(1);
        assert_eq!(c.now(), 1);
        c.set(-1);
        c.advance_millis(1);
        assert_eq!((c.now(), c.now_millis()), (-1, -999));
        assert_eq!(ManualClock::default().now(), 0);
    }

    #[test]
    fn system_and_offset_clocks() {
        let now = SystemClock.now();
        assert!(now > 1_577_836_800, "{now}");
        let later = OffsetClock(3600).now();
        assert!((later - now - 3600).abs() <= 1, "{later} {now}");
    }

    #[test]
    fn closures_and_trait_objects() {
        let c: Arc<dyn Clock> = Arc::new(|| -1_500);
        assert_eq!((c.now_millis(), c.now()), (-1_500, -2));
        assert_eq!(format!("{c:?}"), "dyn Clock");
        let m = ManualClock::new(7);
        let shared: Arc<dyn Clock> = Arc::new(m.clone());
        m.advance(1);
        assert_eq!(shared.now(), 8);
    }
}
