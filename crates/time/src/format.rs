//! The fixed timestamp forms of the wire dialects, byte for byte.
//!
//! Parsers accept exactly one spelling: fixed width, ASCII digits, UTC, no fraction, no offset,
//! no leap second. (General-purpose parsers are more lenient — optional year signs, variable
//! widths, leap seconds — which would change what a signature check or an `Expiration` accepts.)
//! Formatters return `None` outside years 0000–9999, whose timestamps the parsers reject.

use crate::civil::{unix_day, unix_from_civil, Civil, SECS_PER_DAY};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `unix_secs` as `YYYY-MM-DDTHH:MM:SSZ` (UTC): STS `Expiration`, RPC `Timestamp`, ACS3
/// `x-acs-date`, `acs:CurrentTime`. `None` outside years 0000–9999.
pub fn format_iso8601(unix_secs: i64) -> Option<String> {
    four_digit_year(unix_secs).map(|c| iso8601(&c))
}

/// Like [`format_iso8601`] but total: outside years 0000–9999 the year is printed with as many
/// digits (and sign) as it needs, which [`parse_iso8601`] does not accept.
pub fn format_iso8601_unbounded(unix_secs: i64) -> String {
    iso8601(&Civil::from_unix(unix_secs))
}

fn iso8601(c: &Civil) -> String {
    let year = match u32::try_from(c.year) {
        Ok(y) if y <= 9999 => y,
        _ => return iso8601_slow(c),
    };
    let mut out = String::with_capacity(20);
    num(&mut out, year, 4);
    out.push('-');
    num(&mut out, c.month.into(), 2);
    out.push('-');
    num(&mut out, c.day.into(), 2);
    out.push('T');
    clock(&mut out, c, ':');
    out.push('Z');
    out
}

/// Years outside 0000–9999 (only [`format_iso8601_unbounded`] prints them).
fn iso8601_slow(c: &Civil) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Appends `v` as exactly `width` decimal digits (callers pass `v < 10^width`). Formatting
/// through `format!` cost ~3 000 instructions a timestamp, and OSS writes several per request.
fn num(out: &mut String, v: u32, width: usize) {
    let mut buf = [b'0'; 4];
    let mut x = v;
    for d in buf[..width].iter_mut().rev() {
        *d = b'0' + (x % 10) as u8;
        x /= 10;
    }
    for d in &buf[..width] {
        out.push(char::from(*d));
    }
}

/// `HH<sep>MM<sep>SS`.
fn clock(out: &mut String, c: &Civil, sep: char) {
    num(out, c.hour.into(), 2);
    out.push(sep);
    num(out, c.minute.into(), 2);
    out.push(sep);
    num(out, c.second.into(), 2);
}

/// The year of a [`four_digit_year`] civil time as a `u32`.
fn year4(c: &Civil) -> u32 {
    u32::try_from(c.year).unwrap_or(0)
}

/// `unix_millis` as `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC), the OSS `LastModified` and MaxCompute
/// forms. `None` outside years 0000–9999. (The vendor writes whole seconds, `.000`: pass a
/// multiple of 1000 for that.)
pub fn format_iso8601_millis(unix_millis: i64) -> Option<String> {
    let c = four_digit_year(unix_millis.div_euclid(1000))?;
    let mut out = iso8601(&c);
    out.pop();
    out.push('.');
    num(
        &mut out,
        u32::try_from(unix_millis.rem_euclid(1000)).unwrap_or(0),
        3,
    );
    out.push('Z');
    Some(out)
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` (UTC) into Unix seconds.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20
        || !punct(
            b,
            &[
                (4, b'-'),
                (7, b'-'),
                (10, b'T'),
                (13, b':'),
                (16, b':'),
                (19, b'Z'),
            ],
        )
    {
        return None;
    }
    unix_from_civil(
        digits(b, 0, 4)?.into(),
        digits(b, 5, 2)?,
        digits(b, 8, 2)?,
        digits(b, 11, 2)?,
        digits(b, 14, 2)?,
        digits(b, 17, 2)?,
    )
}

/// `unix_secs` as an RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`): the `Date` and
/// `Last-Modified` headers. `None` outside years 0000–9999.
pub fn format_http_date(unix_secs: i64) -> Option<String> {
    let c = four_digit_year(unix_secs)?;
    let weekday = WEEKDAYS.get(usize::from(c.weekday))?;
    let month = MONTHS.get(usize::from(c.month).checked_sub(1)?)?;
    let mut out = String::with_capacity(29);
    out.push_str(weekday);
    out.push_str(", ");
    num(&mut out, c.day.into(), 2);
    out.push(' ');
    out.push_str(month);
    out.push(' ');
    num(&mut out, year4(&c), 4);
    out.push(' ');
    clock(&mut out, &c, ':');
    out.push_str(" GMT");
    Some(out)
}

/// Parses exactly an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds. The
/// weekday must be one of the seven names but is not checked against the date; the obsolete
/// RFC 850 and asctime forms are rejected.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 29
        || !punct(
            b,
            &[
                (3, b','),
                (4, b' '),
                (7, b' '),
                (11, b' '),
                (16, b' '),
                (19, b':'),
                (22, b':'),
                (25, b' '),
            ],
        )
        || b.get(26..29) != Some(b"GMT")
    {
        return None;
    }
    let weekday = b.get(0..3)?;
    if !WEEKDAYS.iter().any(|w| w.as_bytes() == weekday) {
        return None;
    }
    let month_name = b.get(8..11)?;
    let month = MONTHS.iter().position(|m| m.as_bytes() == month_name)?;
    unix_from_civil(
        digits(b, 12, 4)?.into(),
        u32::try_from(month).ok()? + 1,
        digits(b, 5, 2)?,
        digits(b, 17, 2)?,
        digits(b, 20, 2)?,
        digits(b, 23, 2)?,
    )
}

/// `unix_secs` as the ISO 8601 basic form `YYYYMMDDTHHMMSSZ` (OSS V4 `x-oss-date`). `None`
/// outside years 0000–9999.
pub fn format_iso8601_basic(unix_secs: i64) -> Option<String> {
    let c = four_digit_year(unix_secs)?;
    let mut out = String::with_capacity(16);
    num(&mut out, year4(&c), 4);
    num(&mut out, c.month.into(), 2);
    num(&mut out, c.day.into(), 2);
    out.push('T');
    num(&mut out, c.hour.into(), 2);
    num(&mut out, c.minute.into(), 2);
    num(&mut out, c.second.into(), 2);
    out.push('Z');
    Some(out)
}

/// Parses exactly `YYYYMMDDTHHMMSSZ` (UTC) into Unix seconds.
pub fn parse_iso8601_basic(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || !punct(b, &[(8, b'T'), (15, b'Z')]) {
        return None;
    }
    unix_from_civil(
        digits(b, 0, 4)?.into(),
        digits(b, 4, 2)?,
        digits(b, 6, 2)?,
        digits(b, 9, 2)?,
        digits(b, 11, 2)?,
        digits(b, 13, 2)?,
    )
}

/// The UTC day of `unix_secs` as `YYYYMMDD` (the date of a V4 credential scope). `None` outside
/// years 0000–9999.
pub fn format_basic_date(unix_secs: i64) -> Option<String> {
    let c = four_digit_year(unix_secs)?;
    let mut out = String::with_capacity(8);
    num(&mut out, year4(&c), 4);
    num(&mut out, c.month.into(), 2);
    num(&mut out, c.day.into(), 2);
    Some(out)
}

/// Parses exactly `YYYYMMDD` into the Unix seconds of that day's midnight (UTC).
pub fn parse_basic_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 8 {
        return None;
    }
    let day = unix_day(digits(b, 0, 4)?.into(), digits(b, 4, 2)?, digits(b, 6, 2)?)?;
    Some(day * SECS_PER_DAY)
}

fn four_digit_year(unix_secs: i64) -> Option<Civil> {
    Some(Civil::from_unix(unix_secs)).filter(|c| (0..=9999).contains(&c.year))
}

fn punct(b: &[u8], at: &[(usize, u8)]) -> bool {
    at.iter().all(|&(i, c)| b.get(i) == Some(&c))
}

/// The value of exactly `len` ASCII digits at `start`.
pub(crate) fn digits(b: &[u8], start: usize, len: usize) -> Option<u32> {
    b.get(start..start.checked_add(len)?)?
        .iter()
        .try_fold(0u32, |acc, &c| {
            c.is_ascii_digit()
                .then(|| acc.checked_mul(10)?.checked_add(u32::from(c - b'0')))
                .flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (951_782_400, "2000-02-29T00:00:00Z"), // leap year divisible by 400
            (951_868_800, "2000-03-01T00:00:00Z"),
            (1_078_099_199, "2004-02-29T23:59:59Z"),
            (1_428_580_339, "2015-04-09T11:52:19Z"),
            (1_439_867_745, "2015-08-18T03:15:45Z"),
            (1_709_164_800, "2024-02-29T00:00:00Z"),
            (2_147_483_647, "2038-01-19T03:14:07Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"), // 2100 is not a leap year
            (253_402_300_799, "9999-12-31T23:59:59Z"),
            (-62_167_219_200, "0000-01-01T00:00:00Z"),
        ];
        for (secs, text) in cases {
            assert_eq!(format_iso8601(secs).as_deref(), Some(text), "{secs}");
            assert_eq!(format_iso8601_unbounded(secs), text, "{secs}");
            assert_eq!(parse_iso8601(text), Some(secs), "{text}");
        }
        assert_eq!(format_iso8601(253_402_300_800), None);
        assert_eq!(format_iso8601(-62_167_219_201), None);
        assert_eq!(
            format_iso8601_unbounded(253_402_300_800),
            "10000-01-01T00:00:00Z"
        );
        assert_eq!(
            format_iso8601_unbounded(-62_167_219_201),
            "-001-12-31T23:59:59Z"
        );
        assert_eq!(
            format_iso8601_millis(1_735_689_600_123).as_deref(),
            Some("2025-01-01T00:00:00.123Z")
        );
        assert_eq!(
            format_iso8601_millis(-1).as_deref(),
            Some("1969-12-31T23:59:59.999Z")
        );
        assert_eq!(format_iso8601_millis(253_402_300_800_000), None);
    }

    #[test]
    fn rejects_malformed_iso8601() {
        for bad in [
            "",
            "2015-04-09T11:52:19",
            "2015-04-09 11:52:19Z",
            "2015-04-09T11:52:19.000Z",
            "2015-04-09T11:52:19+00:00",
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
            "2015-04-09T11:52:4ZZ",
            "+015-04-09T11:52:19Z",
            "+2015-04-09T11:52:19Z",
            "-001-04-09T11:52:19Z",
            "2015-04-09T11:52:19z",
            "2015-04-09t11:52:19Z",
            "２015-04-09T11:52:19",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            format_http_date(784_111_777).as_deref(),
            Some("Sun, 06 Nov 1994 08:49:37 GMT")
        );
        assert_eq!(
            format_http_date(0).as_deref(),
            Some("Thu, 01 Jan 1970 00:00:00 GMT")
        );
        assert_eq!(
            format_http_date(-62_167_219_200).as_deref(),
            Some("Sat, 01 Jan 0000 00:00:00 GMT")
        );
        assert_eq!(format_http_date(253_402_300_800), None);
        // The weekday is not cross-checked.
        assert_eq!(
            parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn basic_forms() {
        assert_eq!(parse_iso8601_basic("20261128T051407Z"), Some(1_795_842_847));
        assert_eq!(
            format_iso8601_basic(1_795_842_847).as_deref(),
            Some("20261128T051407Z")
        );
        assert_eq!(
            format_basic_date(1_795_842_847).as_deref(),
            Some("20261128")
        );
        assert_eq!(parse_basic_date("20261128"), Some(1_795_824_000));
        for bad in [
            "",
            "20261128T051407",
            "20261128 051407Z",
            "2026-11-28T05:14:07Z",
            "20261328T051407Z",
            "20261128T241407Z",
            "+0261128T051407Z",
        ] {
            assert_eq!(parse_iso8601_basic(bad), None, "{bad}");
        }
        for bad in [
            "",
            "20261128T",
            "20260230",
            "2026113",
            "+0261128",
            "2026-1-1",
        ] {
            assert_eq!(parse_basic_date(bad), None, "{bad}");
        }
        assert_eq!(format_iso8601_basic(-62_167_219_201), None);
        assert_eq!(format_basic_date(253_402_300_800), None);
    }
}
