//! The two timestamp forms the dialects carry, converted to and from Unix seconds.
//!
//! Parsing only: nothing here reads the clock. The caller compares the result with its own `now`.

use crate::error::{clip, SignError};

const SECS_PER_DAY: i64 = 86_400;
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const WEEKDAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

/// Parses `yyyy-MM-ddTHH:mm:ssZ` (UTC), the form of V1 `Timestamp` and V3 `x-acs-date`, into
/// Unix seconds. Nothing else is accepted: no fraction, no offset, no leap second.
pub fn parse_timestamp(s: &str) -> Result<i64, SignError> {
    parse_timestamp_bytes(s.as_bytes()).ok_or_else(|| SignError::InvalidTimestamp(clip(s)))
}

fn parse_timestamp_bytes(b: &[u8]) -> Option<i64> {
    if b.len() != 20 {
        return None;
    }
    let punct = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ];
    if punct.iter().any(|&(i, c)| b.get(i) != Some(&c)) {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    to_unix(year, month, day, hour, minute, second)
}

/// Parses an RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form of the ROA `date`
/// header, into Unix seconds. The weekday must be a valid name; it is not cross-checked.
pub fn parse_http_date(s: &str) -> Result<i64, SignError> {
    parse_http_date_bytes(s.as_bytes()).ok_or_else(|| SignError::InvalidDate(clip(s)))
}

fn parse_http_date_bytes(b: &[u8]) -> Option<i64> {
    if b.len() != 29 {
        return None;
    }
    let weekday = b.get(0..3)?;
    if !WEEKDAYS.iter().any(|w| w.as_slice() == weekday) {
        return None;
    }
    let punct = [
        (3, b','),
        (4, b' '),
        (7, b' '),
        (11, b' '),
        (16, b' '),
        (19, b':'),
        (22, b':'),
        (25, b' '),
    ];
    if punct.iter().any(|&(i, c)| b.get(i) != Some(&c)) || b.get(26..29) != Some(b"GMT") {
        return None;
    }
    let day = digits(b, 5, 2)?;
    let month_name = b.get(8..11)?;
    let month = MONTHS.iter().position(|m| m.as_slice() == month_name)?;
    let year = digits(b, 12, 4)?;
    let hour = digits(b, 17, 2)?;
    let minute = digits(b, 20, 2)?;
    let second = digits(b, 23, 2)?;
    to_unix(
        year,
        u32::try_from(month).ok()? + 1,
        day,
        hour,
        minute,
        second,
    )
}

/// Formats Unix seconds as `yyyy-MM-ddTHH:mm:ssZ` (for `Timestamp` / `x-acs-date` on the client
/// side). `None` outside years 0000–9999.
pub fn format_timestamp(unix_secs: i64) -> Option<String> {
    let days = unix_secs.div_euclid(SECS_PER_DAY);
    let secs = unix_secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}

/// Parses the ISO 8601 basic form `yyyyMMddTHHmmssZ` (UTC), the form of OSS V4 `x-oss-date`,
/// into Unix seconds.
pub fn parse_iso8601_basic(s: &str) -> Result<i64, SignError> {
    parse_basic_bytes(s.as_bytes()).ok_or_else(|| SignError::InvalidBasicTimestamp(clip(s)))
}

fn parse_basic_bytes(b: &[u8]) -> Option<i64> {
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    to_unix(
        digits(b, 0, 4)?,
        digits(b, 4, 2)?,
        digits(b, 6, 2)?,
        digits(b, 9, 2)?,
        digits(b, 11, 2)?,
        digits(b, 13, 2)?,
    )
}

/// Checks a credential-scope date `yyyyMMdd` and returns its midnight in Unix seconds.
pub(crate) fn parse_scope_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 8 {
        return None;
    }
    to_unix(
        digits(b, 0, 4)?,
        digits(b, 4, 2)?,
        digits(b, 6, 2)?,
        0,
        0,
        0,
    )
}

/// Formats Unix seconds as `yyyyMMddTHHmmssZ` (OSS V4 `x-oss-date`). `None` outside years
/// 0000–9999.
pub fn format_iso8601_basic(unix_secs: i64) -> Option<String> {
    let days = unix_secs.div_euclid(SECS_PER_DAY);
    let secs = unix_secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    Some(format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}

/// Formats Unix seconds as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the `Date` header
/// the OSS and MaxCompute clients send. `None` outside years 0000–9999.
pub fn format_http_date(unix_secs: i64) -> Option<String> {
    let days = unix_secs.div_euclid(SECS_PER_DAY);
    let secs = unix_secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    // 1970-01-01 was a Thursday, index 3 of `WEEKDAYS`.
    let weekday = WEEKDAYS.get(usize::try_from((days + 3).rem_euclid(7)).ok()?)?;
    let month_name = MONTHS.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    Some(format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        String::from_utf8_lossy(weekday.as_slice()),
        String::from_utf8_lossy(month_name.as_slice()),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}

fn digits(b: &[u8], start: usize, len: usize) -> Option<u32> {
    b.get(start..start + len)?.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn to_unix(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * SECS_PER_DAY + i64::from(hour * 3600 + minute * 60 + second))
}

fn is_leap(year: u32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both are small and positive by construction; the fallbacks are unreachable.
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_timestamp("2015-08-18T03:15:45Z"), Ok(1_439_867_745));
        assert_eq!(parse_timestamp("2000-02-29T23:59:59Z"), Ok(951_868_799));
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z"), Ok(-1));
        assert_eq!(parse_timestamp("9999-12-31T23:59:59Z"), Ok(253_402_300_799));
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in [
            "",
            "2015-08-18T03:15:45",
            "2015-08-18 03:15:45Z",
            "2015-08-18T03:15:45.000Z",
            "2015-13-18T03:15:45Z",
            "2015-02-29T03:15:45Z",
            "2015-08-00T03:15:45Z",
            "2015-08-18T24:00:00Z",
            "2015-08-18T03:60:45Z",
            "2015-08-18T03:15:60Z",
            "2015-08-18T03:15:4ZZ",
            "+015-08-18T03:15:45Z",
            "２015-08-18T03:15:45Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_timestamp("nope"),
            Err(SignError::InvalidTimestamp("nope".to_owned()))
        );
    }

    #[test]
    fn parses_http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Ok(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Ok(0));
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
        ] {
            assert!(parse_http_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn basic_timestamps_and_http_dates_round_trip() {
        assert_eq!(parse_iso8601_basic("20261128T051407Z"), Ok(1_795_842_847));
        assert_eq!(
            format_iso8601_basic(1_795_842_847).as_deref(),
            Some("20261128T051407Z")
        );
        assert_eq!(
            format_http_date(784_111_777).as_deref(),
            Some("Sun, 06 Nov 1994 08:49:37 GMT")
        );
        assert_eq!(
            format_http_date(0).as_deref(),
            Some("Thu, 01 Jan 1970 00:00:00 GMT")
        );
        for t in [0, 1, 951_868_799, 1_795_842_847, 253_402_300_799, -86_400] {
            let h = format_http_date(t).unwrap();
            assert_eq!(parse_http_date(&h), Ok(t), "{h}");
            let b = format_iso8601_basic(t).unwrap();
            assert_eq!(parse_iso8601_basic(&b), Ok(t), "{b}");
        }
        assert_eq!(format_http_date(253_402_300_800), None);
        for bad in [
            "",
            "20261128T051407",
            "20261128 051407Z",
            "2026-11-28T05:14:07Z",
            "20261328T051407Z",
            "20261128T241407Z",
        ] {
            assert!(parse_iso8601_basic(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_scope_date("20261128"), Some(1_795_824_000));
        assert_eq!(parse_scope_date("20261128T"), None);
        assert_eq!(parse_scope_date("20260230"), None);
    }

    #[test]
    fn format_round_trips() {
        for t in [
            0,
            1,
            -1,
            951_868_799,
            1_439_867_745,
            253_402_300_799,
            -62_167_219_200,
        ] {
            let s = format_timestamp(t).unwrap();
            assert_eq!(parse_timestamp(&s), Ok(t), "{s}");
        }
        assert_eq!(
            format_timestamp(1_439_867_745).as_deref(),
            Some("2015-08-18T03:15:45Z")
        );
        assert_eq!(format_timestamp(253_402_300_800), None);
        assert_eq!(format_timestamp(i64::MAX), None);
        assert_eq!(format_timestamp(i64::MIN), None);
    }
}
