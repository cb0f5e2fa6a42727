//! Restart backoff, as pure functions of the crash count and uptime.

use std::time::Duration;

/// The delay before restarting after the `crashes`-th consecutive crash (1 for the first):
/// `initial`, doubling, capped at `max`.
pub fn delay(crashes: u32, initial: Duration, max: Duration) -> Duration {
    let shift = crashes.saturating_sub(1).min(20);
    initial.saturating_mul(1u32 << shift).min(max)
}

/// The consecutive-crash count after an exit: a process that ran at least `reset_after` starts
/// the count over.
pub fn crashes_after_exit(previous: u32, uptime: Duration, reset_after: Duration) -> u32 {
    if uptime >= reset_after {
        1
    } else {
        previous.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn doubles_from_one_second_to_thirty() {
        let d: Vec<u64> = (1..=8).map(|n| delay(n, S, 30 * S).as_secs()).collect();
        assert_eq!(d, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(delay(u32::MAX, S, 30 * S), 30 * S);
        assert_eq!(delay(0, S, 30 * S), S);
    }

    #[test]
    fn a_minute_of_uptime_resets_the_count() {
        assert_eq!(crashes_after_exit(0, S, 60 * S), 1);
        assert_eq!(crashes_after_exit(4, 59 * S, 60 * S), 5);
        assert_eq!(crashes_after_exit(4, 60 * S, 60 * S), 1);
        assert_eq!(crashes_after_exit(u32::MAX, S, 60 * S), u32::MAX);
    }
}
