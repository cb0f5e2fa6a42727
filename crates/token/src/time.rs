//! `Expiration` timestamps: unix seconds to and from `YYYY-MM-DDTHH:MM:SSZ` (UTC), with a
//! proleptic Gregorian calendar (Howard Hinnant's `days_from_civil` / `civil_from_days`).

const SECS_PER_DAY: i64 = 86_400;

/// An `Expiration` string that is not `YYYY-MM-DDTHH:MM:SSZ` or names no real instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp `{0}`, expected YYYY-MM-DDTHH:MM:SSZ")]
pub struct TimestampError(pub String);

/// (year, month 1..=12, day 1..=31) of the day `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to (year, month, day); inputs must be a valid date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400); // [0, 399]
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 }; // [0, 11]
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `unix_secs` as `YYYY-MM-DDTHH:MM:SSZ`, the STS `Expiration` form.
///
/// Meant for years 0000..=9999; outside that range the year is printed with as many digits
/// (and sign) as it needs, which [`parse_expiration`] does not accept.
pub fn format_expiration(unix_secs: i64) -> String {
    let (year, month, day) = civil_from_days(unix_secs.div_euclid(SECS_PER_DAY));
    let sod = unix_secs.rem_euclid(SECS_PER_DAY);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` (UTC, no fractions, no leap seconds) to unix seconds.
pub fn parse_expiration(s: &str) -> Result<i64, TimestampError> {
    parse(s.as_bytes()).ok_or_else(|| TimestampError(s.to_owned()))
}

fn parse(b: &[u8]) -> Option<i64> {
    let b: &[u8; 20] = b.try_into().ok()?;
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[19] != b'Z' {
        return None;
    }
    let year = i64::from(num(0..4)?);
    let month = num(5..7)?;
    let day = num(8..10)?;
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let secs = i64::from(hour * 3600 + minute * 60 + second);
    Some(days_from_civil(year, month, day) * SECS_PER_DAY + secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (951_782_400, "2000-02-29T00:00:00Z"), // leap year divisible by 400
            (951_868_800, "2000-03-01T00:00:00Z"),
            (1_078_099_199, "2004-02-29T23:59:59Z"),
            (1_428_580_339, "2015-04-09T11:52:19Z"), // the vendor documentation's example
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (1_709_164_800, "2024-02-29T00:00:00Z"),
            (2_147_483_647, "2038-01-19T03:14:07Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"), // 2100 is not a leap year
            (253_402_300_799, "9999-12-31T23:59:59Z"),
            (-62_167_219_200, "0000-01-01T00:00:00Z"),
        ];
        for (secs, text) in cases {
            assert_eq!(format_expiration(secs), text, "{secs}");
            assert_eq!(parse_expiration(text), Ok(secs), "{text}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "2015-04-09T11:52:19",
            "2015-04-09 11:52:19Z",
            "2015-04-09T11:52:19.000Z",
            "2015-13-09T11:52:19Z",
            "2015-00-09T11:52:19Z",
            "2015-04-31T11:52:19Z",
            "2015-02-29T11:52:19Z",
            "2100-02-29T00:00:00Z",
            "2015-04-00T11:52:19Z",
            "2015-04-09T24:00:00Z",
            "2015-04-09T11:60:19Z",
            "2015-04-09T11:52:60Z",
            "2015-04-09T11:52:1aZ",
            "+015-04-09T11:52:19Z",
            "2015-04-09T11:52:19z",
            "２015-04-09T11:52:19",
        ] {
            assert!(parse_expiration(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_expiration("x").unwrap_err().to_string(),
            "invalid timestamp `x`, expected YYYY-MM-DDTHH:MM:SSZ"
        );
    }

    proptest! {
        #[test]
        fn roundtrip(secs in -62_167_219_200i64..=253_402_300_799) {
            let text = format_expiration(secs);
            prop_assert_eq!(text.len(), 20);
            prop_assert_eq!(parse_expiration(&text), Ok(secs));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = parse_expiration(&s);
        }
    }
}
