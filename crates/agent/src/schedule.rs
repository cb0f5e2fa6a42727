//! When to refresh, and whether a set may still be served: pure functions of `now` (milliseconds
//! since the Unix epoch) and a random `jitter_unit` in `[0, 1)`, so they are tested without a clock.
//!
//! The rules come from how the official clients cache (see the credentials-endpoint reference):
//! the 1.x clients treat a set with 15 minutes or less left as stale and refetch on every call, so
//! the agent refreshes at half the lifetime or 20 minutes before expiry, whichever is earlier
//! (minus jitter), and a served set normally has more than 15 minutes left.

use std::time::Duration;

/// Tunables of the refresh schedule (defaults are the production values; tests shrink them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// Refresh no later than this long before expiry (20 min).
    pub refresh_before: Duration,
    /// A set with this much or less left is stale: clients refetch on every call (15 min).
    pub min_remaining: Duration,
    /// Up to this fraction of the wait is taken off at random, so instances spread out (0.1).
    pub jitter: f64,
    /// Never schedule a refresh sooner than this after a fetch (1 s).
    pub min_interval: Duration,
    /// First retry delay after a failed refresh (1 s); doubles per failure.
    pub backoff_initial: Duration,
    /// Cap of the retry delay (60 s).
    pub backoff_max: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            refresh_before: Duration::from_secs(20 * 60),
            min_remaining: Duration::from_secs(15 * 60),
            jitter: 0.1,
            min_interval: Duration::from_secs(1),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// How usable a set is at a given moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// More than `min_remaining` left.
    Fresh,
    /// Still valid, but clients consider it stale; served only while no newer set can be had.
    Stale,
    /// Past its expiration: never served.
    Expired,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Schedule {
    /// Checks the tunables make sense together.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(format!("jitter `{}` is not within [0, 1]", self.jitter));
        }
        if self.refresh_before < self.min_remaining {
            return Err("refresh_before must not be shorter than min_remaining".into());
        }
        if self.backoff_initial.is_zero() || self.backoff_max < self.backoff_initial {
            return Err("backoff_initial must be positive and at most backoff_max".into());
        }
        Ok(())
    }

    /// When to refresh a set fetched at `fetched_at` that expires at `expires_at`.
    ///
    /// The target is the earlier of half the lifetime and `refresh_before` ahead of expiry; a
    /// random share (up to `jitter`) of the wait is taken off. The wait never drops below
    /// `min_interval` nor below an eighth of the lifetime, so short-lived sets (whose lifetime
    /// is below `refresh_before`) cannot turn the agent into a busy loop against the control plane.
    pub fn refresh_at(&self, fetched_at: i64, expires_at: i64, jitter_unit: f64) -> i64 {
        let lifetime = expires_at.saturating_sub(fetched_at).max(0);
        let half = lifetime / 2;
        let early = lifetime.saturating_sub(ms(self.refresh_before));
        let target = half.min(early).max(0);
        let cut =
            (target as f64 * self.jitter.clamp(0.0, 1.0) * jitter_unit.clamp(0.0, 1.0)) as i64;
        let floor = ms(self.min_interval).max(lifetime / 8);
        fetched_at.saturating_add((target - cut).max(floor))
    }

    /// Whether a set expiring at `expires_at` may be served at `now`.
    pub fn freshness(&self, now: i64, expires_at: i64) -> Freshness {
        let left = expires_at.saturating_sub(now);
        if left <= 0 {
            Freshness::Expired
        } else if left <= ms(self.min_remaining) {
            Freshness::Stale
        } else {
            Freshness::Fresh
        }
    }

    /// The delay before retry number `failures` (1 for the first failure): `backoff_initial`
    /// doubling up to `backoff_max`, less a random share (up to `jitter`, at least a quarter).
    pub fn retry_delay(&self, failures: u32, jitter_unit: f64) -> i64 {
        let shift = failures.saturating_sub(1).min(30);
        let base = ms(self.backoff_initial)
            .saturating_mul(1i64 << shift)
            .min(ms(self.backoff_max));
        let share = self.jitter.clamp(0.25, 1.0) * jitter_unit.clamp(0.0, 1.0);
        (base - (base as f64 * share) as i64).max(1)
    }
}

/// When the next fetch is due: the pending retry after a failure if there is one, else the
/// current set's refresh time, else right away (nothing to serve yet).
pub fn next_attempt(refresh_at: Option<i64>, retry_at: Option<i64>, now: i64) -> i64 {
    match (retry_at, refresh_at) {
        (Some(retry), _) => retry,
        (None, Some(refresh)) => refresh,
        (None, None) => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const T0: i64 = 1_795_843_216_000;

    fn no_jitter() -> Schedule {
        Schedule {
            jitter: 0.0,
            ..Schedule::default()
        }
    }

    #[test]
    fn one_hour_sets_refresh_at_half_life() {
        let s = no_jitter();
        assert_eq!(s.refresh_at(T0, T0 + 60 * MIN, 0.7), T0 + 30 * MIN);
    }

    #[test]
    fn long_sets_refresh_at_half_life_too() {
        let s = no_jitter();
        assert_eq!(s.refresh_at(T0, T0 + 12 * 60 * MIN, 0.0), T0 + 6 * 60 * MIN);
    }

    #[test]
    fn thirty_minute_sets_refresh_twenty_minutes_before_expiry() {
        let s = no_jitter();
        let at = s.refresh_at(T0, T0 + 30 * MIN, 0.0);
        assert_eq!(at, T0 + 10 * MIN);
        // The set still has more than 15 minutes left when it is replaced.
        assert_eq!(s.freshness(at, T0 + 30 * MIN), Freshness::Fresh);
    }

    #[test]
    fn a_served_set_always_has_more_than_fifteen_minutes_left_at_refresh() {
        let s = Schedule::default();
        for lifetime_min in [21, 25, 30, 45, 60, 120, 720] {
            for j in [0.0, 0.5, 0.999] {
                let exp = T0 + lifetime_min * MIN;
                let at = s.refresh_at(T0, exp, j);
                assert!(at > T0, "{lifetime_min} {j}");
                assert_eq!(s.freshness(at, exp), Freshness::Fresh, "{lifetime_min} {j}");
            }
        }
    }

    #[test]
    fn jitter_only_moves_the_refresh_earlier_and_by_at_most_its_share() {
        let s = Schedule::default();
        let exp = T0 + 60 * MIN;
        let late = s.refresh_at(T0, exp, 0.0);
        let early = s.refresh_at(T0, exp, 0.999_999);
        assert_eq!(late, T0 + 30 * MIN);
        assert!(early < late);
        assert!(early >= T0 + 27 * MIN);
    }

    #[test]
    fn short_lived_sets_do_not_spin() {
        let s = no_jitter();
        // Fifteen minutes: the 20-minute rule cannot be met; fall back to an eighth of the
        // lifetime, never to "immediately".
        let at = s.refresh_at(T0, T0 + 15 * MIN, 0.0);
        assert!(at - T0 >= 15 * MIN / 8, "{}", at - T0);
        // Seconds-long sets (tests): at least min_interval.
        let at = s.refresh_at(T0, T0 + 2_000, 0.0);
        assert_eq!(at - T0, 1_000);
        // Already expired at fetch.
        assert_eq!(s.refresh_at(T0, T0 - 5, 0.0), T0 + 1_000);
    }

    #[test]
    fn test_sized_schedules_work_in_seconds() {
        let s = Schedule {
            refresh_before: Duration::from_secs(2),
            min_remaining: Duration::from_secs(1),
            jitter: 0.0,
            min_interval: Duration::from_millis(100),
            ..Schedule::default()
        };
        assert_eq!(s.refresh_at(T0, T0 + 4_000, 0.0), T0 + 2_000);
        assert_eq!(s.refresh_at(T0, T0 + 10_000, 0.0), T0 + 5_000);
    }

    #[test]
    fn freshness_boundaries() {
        let s = Schedule::default();
        let exp = T0 + 60 * MIN;
        assert_eq!(s.freshness(T0, exp), Freshness::Fresh);
        assert_eq!(s.freshness(exp - 15 * MIN - 1, exp), Freshness::Fresh);
        assert_eq!(s.freshness(exp - 15 * MIN, exp), Freshness::Stale);
        assert_eq!(s.freshness(exp - 1, exp), Freshness::Stale);
        assert_eq!(s.freshness(exp, exp), Freshness::Expired);
        assert_eq!(s.freshness(exp + MIN, exp), Freshness::Expired);
    }

    #[test]
    fn retry_backoff_doubles_to_a_cap() {
        let s = no_jitter();
        let delays: Vec<i64> = (1..=9).map(|n| s.retry_delay(n, 0.0)).collect();
        assert_eq!(
            delays,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]
        );
        assert_eq!(s.retry_delay(u32::MAX, 0.0), 60_000);
    }

    #[test]
    fn retry_backoff_is_jittered_within_bounds() {
        let s = Schedule::default();
        for n in 1..10 {
            let hi = s.retry_delay(n, 0.0);
            let lo = s.retry_delay(n, 0.999_999);
            assert!(lo < hi && lo >= hi * 3 / 4 - 1, "{n}: {lo} {hi}");
        }
    }

    #[test]
    fn next_attempt_prefers_a_pending_retry() {
        assert_eq!(next_attempt(None, None, T0), T0);
        assert_eq!(next_attempt(Some(T0 + 5), None, T0), T0 + 5);
        assert_eq!(next_attempt(Some(T0 + 5), Some(T0 + 9), T0), T0 + 9);
        assert_eq!(next_attempt(None, Some(T0 + 9), T0), T0 + 9);
    }

    #[test]
    fn validation() {
        assert!(Schedule::default().validate().is_ok());
        let bad = Schedule {
            refresh_before: Duration::from_secs(60),
            ..Schedule::default()
        };
        assert!(bad.validate().is_err());
        let bad = Schedule {
            jitter: 1.5,
            ..Schedule::default()
        };
        assert!(bad.validate().is_err());
    }
}
