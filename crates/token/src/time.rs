//! `Expiration` timestamps: unix seconds to and from `YYYY-MM-DDTHH:MM:SSZ` (UTC). The calendar
//! is `keyless-time`'s; this module keeps the token crate's names and error type.

/// An `Expiration` string that is not `YYYY-MM-DDTHH:MM:SSZ` or names no real instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp `{0}`, expected YYYY-MM-DDTHH:MM:SSZ")]
pub struct TimestampError(pub String);

/// `unix_secs` as `YYYY-MM-DDTHH:MM:SSZ`, the STS `Expiration` form.
///
/// Meant for years 0000..=9999; outside that range the year is printed with as many digits
/// (and sign) as it needs, which [`parse_expiration`] does not accept.
pub fn format_expiration(unix_secs: i64) -> String {
    keyless_time::format_iso8601_unbounded(unix_secs)
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` (UTC, no fractions, no leap seconds) to unix seconds.
pub fn parse_expiration(s: &str) -> Result<i64, TimestampError> {
    keyless_time::parse_iso8601(s).ok_or_else(|| TimestampError(s.to_owned()))
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
    fn years_outside_0000_to_9999_print_but_do_not_parse() {
        for (secs, text) in [
            (253_402_300_800, "10000-01-01T00:00:00Z"),
            (-62_167_219_201, "-001-12-31T23:59:59Z"),
            (i64::MAX, "292277026596-12-04T15:30:07Z"),
            (i64::MIN, "-292277022657-01-27T08:29:52Z"),
        ] {
            assert_eq!(format_expiration(secs), text, "{secs}");
            assert!(parse_expiration(text).is_err(), "{text}");
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
