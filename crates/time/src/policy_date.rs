//! The dates of the RAM policy language's `Date*` conditions.

use crate::civil::unix_day;

/// Parses a policy-condition date into Unix milliseconds: plain epoch seconds (up to 12 digits),
/// or ISO 8601 `YYYY-MM-DD`, optionally followed by `T`, `t` or a space and `HH:MM`, `:SS`
/// (60 is accepted and counts as the next minute's first second), `.` and 1–9 fraction digits
/// (truncated to milliseconds), and a zone `Z`/`z`, `±HH`, `±HHMM` or `±HH:MM`; no zone means
/// UTC. Surrounding whitespace is ignored; anything longer than 40 bytes is rejected.
///
/// ```
/// use keyless_time::parse_policy_date_millis as p;
/// assert_eq!(p("1970-01-02"), Some(86_400_000));
/// assert_eq!(p("2026-11-28T12:00:00+08:00"), p("2026-11-28T04:00Z"));
/// assert_eq!(p("1795840441"), Some(1_795_840_441_000));
/// assert_eq!(p("2023-02-29"), None);
/// ```
pub fn parse_policy_date_millis(s: &str) -> Option<i64> {
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
    let month = u32::try_from(num(5..7)?).ok()?;
    let day = u32::try_from(num(8..10)?).ok()?;
    let mut millis = unix_day(year, month, day)? * 86_400_000;
    let mut i = 10;
    match b.get(i) {
        None => return Some(millis),
        Some(b'T' | b't' | b' ') => {}
        Some(_) => return None,
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
            let end = start
                + b.get(start..)?
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
            if end == start || end - start > 9 {
                return None;
            }
            let digits = s.get(start..end)?;
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
