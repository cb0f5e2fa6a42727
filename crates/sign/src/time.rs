//! The timestamp forms the dialects carry, converted to and from Unix seconds by
//! `keyless-time` (the workspace's one calendar); this module adds the dialects' errors.
//!
//! Parsing only: nothing here reads the clock. The caller compares the result with its own `now`.

use crate::error::{clip, SignError};

/// Parses `yyyy-MM-ddTHH:mm:ssZ` (UTC), the form of V1 `Timestamp` and V3 `x-acs-date`, into
/// Unix seconds. Nothing else is accepted: no fraction, no offset, no leap second.
pub fn parse_timestamp(s: &str) -> Result<i64, SignError> {
    keyless_time::parse_iso8601(s).ok_or_else(|| SignError::InvalidTimestamp(clip(s)))
}

/// Parses an RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form of the ROA `date`
/// header, into Unix seconds. The weekday must be a valid name; it is not cross-checked.
pub fn parse_http_date(s: &str) -> Result<i64, SignError> {
    keyless_time::parse_http_date(s).ok_or_else(|| SignError::InvalidDate(clip(s)))
}

/// Formats Unix seconds as `yyyy-MM-ddTHH:mm:ssZ` (for `Timestamp` / `x-acs-date` on the client
/// side). `None` outside years 0000–9999.
pub fn format_timestamp(unix_secs: i64) -> Option<String> {
    keyless_time::format_iso8601(unix_secs)
}

/// Parses the ISO 8601 basic form `yyyyMMddTHHmmssZ` (UTC), the form of OSS V4 `x-oss-date`,
/// into Unix seconds.
pub fn parse_iso8601_basic(s: &str) -> Result<i64, SignError> {
    keyless_time::parse_iso8601_basic(s).ok_or_else(|| SignError::InvalidBasicTimestamp(clip(s)))
}

/// Checks a credential-scope date `yyyyMMdd` and returns its midnight in Unix seconds.
pub(crate) fn parse_scope_date(s: &str) -> Option<i64> {
    keyless_time::parse_basic_date(s)
}

/// Formats Unix seconds as `yyyyMMddTHHmmssZ` (OSS V4 `x-oss-date`). `None` outside years
/// 0000–9999.
pub fn format_iso8601_basic(unix_secs: i64) -> Option<String> {
    keyless_time::format_iso8601_basic(unix_secs)
}

/// Formats Unix seconds as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the `Date` header
/// the OSS and MaxCompute clients send. `None` outside years 0000–9999.
pub fn format_http_date(unix_secs: i64) -> Option<String> {
    keyless_time::format_http_date(unix_secs)
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
