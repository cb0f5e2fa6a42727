//! The one timestamp format of the credentials protocol: `YYYY-MM-DDTHH:MM:SSZ`, UTC, exactly
//! (Python parses it with `strptime('%Y-%m-%dT%H:%M:%SZ')`; fractions or offsets break it).

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (the token crate owns the format).
pub fn format_utc(secs: i64) -> String {
    keyless_token::format_expiration(secs)
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` into unix seconds; anything else is `None`.
pub fn parse_utc(s: &str) -> Option<i64> {
    keyless_token::parse_expiration(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_795_843_216), "2026-11-28T05:20:16Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parse_is_the_inverse_of_format() {
        for t in [0, 59, 86_399, 951_782_400, 1_795_843_216, 4_102_444_799] {
            assert_eq!(parse_utc(&format_utc(t)), Some(t), "{t}");
        }
    }

    #[test]
    fn rejects_everything_python_rejects() {
        for bad in [
            "2026-11-28T05:33:36.000Z",
            "2026-11-28T05:33:36+08:00",
            "2026-11-28 05:33:36Z",
            "2026-11-28T05:33:36",
            "2026-13-28T05:33:36Z",
            "2026-02-29T05:33:36Z",
            "2026-11-28T24:00:00Z",
            "2026-11-2aT05:33:36Z",
            "+026-11-28T05:33:36Z",
            "",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }
}
