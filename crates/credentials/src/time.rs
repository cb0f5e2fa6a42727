//! Injected time and randomness: nothing else in this crate reads the clock, so expiry and refresh
//! are tested with [`ManualTimeSource`] instead of sleeps.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A wall clock in Unix seconds (UTC).
pub trait TimeSource: Send + Sync + Debug {
    /// The current time, in Unix seconds.
    fn now(&self) -> i64;
}

/// The system clock; the only place this crate calls `SystemTime::now`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemTimeSource;

impl TimeSource for SystemTimeSource {
    fn now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock that moves only when told to. Clones share the same time.
///
/// ```
/// use keyless_credentials::{ManualTimeSource, TimeSource};
///
/// let clock = ManualTimeSource::new(1_700_000_000);
/// let view = clock.clone();
/// clock.advance(60);
/// assert_eq!(view.now(), 1_700_000_060);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualTimeSource(Arc<AtomicI64>);

impl ManualTimeSource {
    /// A clock showing `unix_secs`.
    pub fn new(unix_secs: i64) -> Self {
        Self(Arc::new(AtomicI64::new(unix_secs)))
    }

    /// Moves the clock forward by `secs` (backward if negative).
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// Sets the clock to `unix_secs`.
    pub fn set(&self, unix_secs: i64) {
        self.0.store(unix_secs, Ordering::SeqCst);
    }
}

impl TimeSource for ManualTimeSource {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A source of jitter for the refresh time: a fraction in `[0, 1)`.
pub trait Jitter: Send + Sync + Debug {
    /// A fraction in `[0, 1)`; values outside are clamped.
    fn fraction(&self) -> f64;
}

/// Uniform jitter from the OS random source (0 if the source fails).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn fraction(&self) -> f64 {
        let mut b = [0u8; 4];
        if getrandom::fill(&mut b).is_err() {
            return 0.0;
        }
        f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
    }
}

/// The same fraction every time (tests; `FixedJitter(0.0)` turns jitter off).
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn fraction(&self) -> f64 {
        self.0
    }
}

/// `j` clamped to `[0, 1)`; NaN is 0.
pub(crate) fn clamp_fraction(j: f64) -> f64 {
    if j.is_nan() || j < 0.0 {
        0.0
    } else if j >= 1.0 {
        1.0 - f64::EPSILON
    } else {
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualTimeSource::new(10);
        assert_eq!(c.now(), 10);
        c.advance(5);
        assert_eq!(c.now(), 15);
        c.set(1);
        assert_eq!(c.now(), 1);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemTimeSource.now() > 1_577_836_800);
    }

    #[test]
    fn jitter_is_a_fraction() {
        for _ in 0..100 {
            let j = RandomJitter.fraction();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
        assert_eq!(clamp_fraction(f64::NAN), 0.0);
        assert_eq!(clamp_fraction(-1.0), 0.0);
        assert!(clamp_fraction(2.0) < 1.0);
        assert_eq!(clamp_fraction(0.5), 0.5);
    }
}
