//! Injected time and randomness: nothing else in this crate reads the clock, so expiry and refresh
//! are tested with [`ManualTimeSource`] instead of sleeps.
//!
//! The clock is the workspace's one [`keyless_time::Clock`], under this crate's names:
//! [`TimeSource`] (implement `now_millis`; `now` is provided), [`SystemTimeSource`] and
//! [`ManualTimeSource`], whose clones share the same time:
//!
//! ```
//! use keyless_credentials::{ManualTimeSource, TimeSource};
//!
//! let clock = ManualTimeSource::new(1_700_000_000);
//! let view = clock.clone();
//! clock.advance(60);
//! assert_eq!(view.now(), 1_700_000_060);
//! ```

use std::fmt::Debug;

pub use keyless_time::{
    Clock as TimeSource, ManualClock as ManualTimeSource, SystemClock as SystemTimeSource,
};

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
