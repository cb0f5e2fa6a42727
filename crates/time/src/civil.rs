//! Unix seconds to and from the proleptic Gregorian calendar (UTC), on top of `jiff`'s civil
//! dates. This is the workspace's only calendar.

use jiff::civil::Date;
use jiff::SignedDuration;

/// Seconds in a (UTC, leap-second-free) day.
pub const SECS_PER_DAY: i64 = 86_400;

/// The Gregorian calendar repeats every 400 years, which are exactly this many days (and a whole
/// number of weeks).
const DAYS_PER_400_YEARS: i64 = 146_097;

const EPOCH: Date = Date::constant(1970, 1, 1);

/// A UTC calendar date and time of day, as printed in timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Civil {
    /// Proleptic Gregorian year; 0 is 1 BC, and it may have any number of digits.
    pub year: i64,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59 (no leap seconds).
    pub second: u8,
    /// Days since Monday: 0 is Monday, 6 is Sunday.
    pub weekday: u8,
}

impl Civil {
    /// The calendar reading of `unix_secs`. Total: every `i64` has one, far outside the years
    /// that [`Civil::to_unix`] accepts.
    pub fn from_unix(unix_secs: i64) -> Civil {
        let days = unix_secs.div_euclid(SECS_PER_DAY);
        let sod = unix_secs.rem_euclid(SECS_PER_DAY);
        // Move the day into 1970..=2369 by whole 400-year cycles, which leaves month, day and
        // weekday unchanged, so that `jiff` (years -9999..=9999) can read it.
        let cycles = days.div_euclid(DAYS_PER_400_YEARS);
        let rest = days.rem_euclid(DAYS_PER_400_YEARS);
        // Cannot fail: `rest` is at most 146_096 days after 1970-01-01.
        let date = EPOCH
            .checked_add(SignedDuration::from_hours(rest * 24))
            .unwrap_or(EPOCH);
        let small = |v: i64| u8::try_from(v).unwrap_or(0);
        Civil {
            year: i64::from(date.year()) + cycles * 400,
            month: small(i64::from(date.month())),
            day: small(i64::from(date.day())),
            hour: small(sod / 3600),
            minute: small(sod % 3600 / 60),
            second: small(sod % 60),
            weekday: small(i64::from(date.weekday().to_monday_zero_offset())),
        }
    }

    /// The Unix seconds of this reading, or `None` if it names no instant: month, day, hour,
    /// minute or second out of range (no leap seconds), or a year outside -9999..=9999. The
    /// weekday is ignored.
    pub fn to_unix(&self) -> Option<i64> {
        unix_from_civil(
            self.year,
            self.month.into(),
            self.day.into(),
            self.hour.into(),
            self.minute.into(),
            self.second.into(),
        )
    }
}

/// The Unix day (days since 1970-01-01) of a calendar date, or `None` if there is no such date
/// (February 30th, month 13, day 0, a year outside -9999..=9999).
pub fn unix_day(year: i64, month: u32, day: u32) -> Option<i64> {
    let date = Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    Some(
        date.duration_since(EPOCH)
            .as_secs()
            .div_euclid(SECS_PER_DAY),
    )
}

/// Unix seconds of a UTC date and time, checked strictly: `None` for an impossible date, hour
/// above 23, minute above 59 or second above 59.
pub fn unix_from_civil(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<i64> {
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = unix_day(year, month, day)?;
    Some(days * SECS_PER_DAY + i64::from(hour * 3600 + minute * 60 + second))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        let c = Civil::from_unix(0);
        assert_eq!(
            c,
            Civil {
                year: 1970,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0,
                weekday: 3
            }
        );
        assert_eq!(c.to_unix(), Some(0));
        let c = Civil::from_unix(-1);
        assert_eq!(
            (c.year, c.month, c.day, c.second, c.weekday),
            (1969, 12, 31, 59, 2)
        );
        assert_eq!(unix_day(2000, 2, 29), Some(11_016));
        assert_eq!(unix_day(2100, 2, 29), None);
        assert_eq!(unix_day(2024, 13, 1), None);
        assert_eq!(unix_day(2024, 1, 0), None);
        assert_eq!(unix_day(10_000, 1, 1), None);
        assert_eq!(unix_day(-9999, 1, 1), Some(-4_371_587));
        assert_eq!(
            unix_from_civil(9999, 12, 31, 23, 59, 59),
            Some(253_402_300_799)
        );
        assert_eq!(unix_from_civil(2026, 1, 1, 24, 0, 0), None);
        assert_eq!(unix_from_civil(2026, 1, 1, 0, 60, 0), None);
        assert_eq!(unix_from_civil(2026, 1, 1, 0, 0, 60), None);
        let far = Civil::from_unix(i64::MAX);
        assert_eq!(far.year, 292_277_026_596);
        assert_eq!(far.to_unix(), None);
        assert_eq!(Civil::from_unix(i64::MIN).year, -292_277_022_657);
    }

    proptest! {
        #[test]
        fn to_unix_inverts_from_unix(secs in -377_705_116_800i64..=253_402_300_799) {
            prop_assert_eq!(Civil::from_unix(secs).to_unix(), Some(secs));
        }

        #[test]
        fn consecutive_days_are_consecutive(days in -4_000_000_000i64..4_000_000_000) {
            let a = Civil::from_unix(days * SECS_PER_DAY);
            let b = Civil::from_unix((days + 1) * SECS_PER_DAY);
            prop_assert_eq!((a.weekday + 1) % 7, b.weekday);
            if b.day == 1 {
                prop_assert!(a.day >= 28);
                prop_assert_eq!(b.month, a.month % 12 + 1);
                prop_assert_eq!(b.year, a.year + i64::from(a.month == 12));
            } else {
                prop_assert_eq!((b.year, b.month, b.day), (a.year, a.month, a.day + 1));
            }
        }
    }
}
