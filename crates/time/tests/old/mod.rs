//! The hand-written calendars this workspace had before `keyless-time`, kept verbatim (only their
//! error types replaced by `Option`) as oracles: the new functions must agree with them.

#![allow(clippy::all, dead_code)]

/// `keyless-token`'s `Expiration` format (`crates/token/src/time.rs`).
pub mod token {
    const SECS_PER_DAY: i64 = 86_400;

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
    pub fn parse_expiration(s: &str) -> Option<i64> {
        parse(s.as_bytes())
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
}

/// `keyless-sign`'s timestamp forms (`crates/sign/src/time.rs`).
pub mod sign {
    const SECS_PER_DAY: i64 = 86_400;
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    const WEEKDAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

    /// Parses `yyyy-MM-ddTHH:mm:ssZ` (UTC), the form of V1 `Timestamp` and V3 `x-acs-date`, into
    /// Unix seconds. Nothing else is accepted: no fraction, no offset, no leap second.
    pub fn parse_timestamp(s: &str) -> Option<i64> {
        parse_timestamp_bytes(s.as_bytes())
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
    pub fn parse_http_date(s: &str) -> Option<i64> {
        parse_http_date_bytes(s.as_bytes())
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
    pub fn parse_iso8601_basic(s: &str) -> Option<i64> {
        parse_basic_bytes(s.as_bytes())
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
    pub fn parse_scope_date(s: &str) -> Option<i64> {
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

    fn to_unix(
        year: u32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Option<i64> {
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
}

/// `keyless-policy`'s condition dates (`crates/policy/src/condition.rs`).
pub mod policy {
    /// Parses an ISO 8601 date/time (`2026-01-02`, `2026-01-02T03:04Z`, `2026-01-02T03:04:05.678+08:00`,
    /// no zone meaning UTC) or plain epoch seconds, into milliseconds since the epoch.
    pub fn parse_date(s: &str) -> Option<i64> {
        let s = s.trim();
        if s.is_empty() || s.len() > 40 {
            return None;
        }
        if s.bytes().all(|b| b.is_ascii_digit()) && s.len() <= 12 {
            return s.parse::<i64>().ok().map(|x| x * 1000);
        }
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = b.get(r)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        let year = num(0..4)?;
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let month = num(5..7)?;
        let day = num(8..10)?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        let mut millis = days_from_civil(year, month, day) * 86_400_000;
        let mut i = 10;
        if i == b.len() {
            return Some(millis);
        }
        if b[i] != b'T' && b[i] != b't' && b[i] != b' ' {
            return None;
        }
        i += 1;
        let hour = num(i..i + 2)?;
        if b.get(i + 2) != Some(&b':') {
            return None;
        }
        let minute = num(i + 3..i + 5)?;
        i += 5;
        let mut second = 0;
        let mut frac_ms = 0;
        if b.get(i) == Some(&b':') {
            second = num(i + 1..i + 3)?;
            i += 3;
            if b.get(i) == Some(&b'.') {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end].is_ascii_digit() {
                    end += 1;
                }
                if end == start || end - start > 9 {
                    return None;
                }
                let digits = &s[start..end];
                let ms3: String = digits.chars().chain("000".chars()).take(3).collect();
                frac_ms = ms3.parse::<i64>().ok()?;
                i = end;
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        millis += ((hour * 60 + minute) * 60 + second) * 1000 + frac_ms;
        match b.get(i) {
            None => Some(millis),
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => Some(millis),
            Some(&sign @ (b'+' | b'-')) => {
                let oh = num(i + 1..i + 3)?;
                let om = match (b.get(i + 3), b.len() - i) {
                    (Some(b':'), 6) => num(i + 4..i + 6)?,
                    (Some(_), 5) => num(i + 3..i + 5)?,
                    (None, 3) => 0,
                    _ => return None,
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                let off = (oh * 60 + om) * 60_000;
                Some(if sign == b'+' {
                    millis - off
                } else {
                    millis + off
                })
            }
            _ => None,
        }
    }

    fn is_leap(y: i64) -> bool {
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    fn days_in_month(y: i64, m: i64) -> i64 {
        match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if is_leap(y) => 29,
            _ => 28,
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}
