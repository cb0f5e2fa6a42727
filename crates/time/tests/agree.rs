//! The new calendar agrees with the three hand-written ones it replaced (kept in `old/`), on every
//! instant and on random and almost-valid strings; and every format round-trips over its range.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod old;

use keyless_time::*;
use proptest::prelude::*;

/// Years 0000..=9999, the range the fixed forms print.
const MIN: i64 = -62_167_219_200;
const MAX: i64 = 253_402_300_799;

/// A valid string of some form, with up to three bytes replaced, inserted or removed.
fn mutated(valid: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    let edit = (
        any::<prop::sample::Index>(),
        0u8..3,
        prop::sample::select(b"0123456789-:TtZz .+,GMTJanFebSunMon\xc3".to_vec()),
    );
    (valid, prop::collection::vec(edit, 0..=3)).prop_map(|(s, edits)| {
        let mut b = s.into_bytes();
        for (at, kind, c) in edits {
            let i = at.index(b.len() + 1);
            match kind {
                0 if i < b.len() => b[i] = c,
                1 => b.insert(i, c),
                _ if i < b.len() => {
                    b.remove(i);
                }
                _ => {}
            }
        }
        String::from_utf8_lossy(&b).into_owned()
    })
}

fn instant() -> impl Strategy<Value = i64> {
    prop_oneof![MIN..=MAX, any::<i64>(), -100_000i64..100_000]
}

fn policy_date() -> impl Strategy<Value = String> {
    let text = "[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,10})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?";
    let valid = (MIN..=MAX, 0u8..6, 0i64..1000, -1439i64..1440).prop_map(|(t, form, ms, off)| {
        let base = format_iso8601(t).unwrap();
        let zone = if off < 0 {
            format!("-{:02}:{:02}", -off / 60, -off % 60)
        } else {
            format!("+{:02}{:02}", off / 60, off % 60)
        };
        match form {
            0 => base[..10].to_owned(),
            1 => base,
            2 => format!("{}.{ms:03}Z", &base[..19]),
            3 => format!("{}{zone}", &base[..16]),
            4 => format!(" {}{} ", &base[..19], &zone[..3]),
            _ => t.rem_euclid(1_000_000_000_000).to_string(),
        }
    });
    prop_oneof![
        text.prop_map(String::from),
        mutated(valid),
        "[0-9]{1,14}",
        "\\PC{0,42}",
    ]
}

#[test]
fn leap_seconds_and_edges_of_policy_dates() {
    for s in [
        "2026-11-28T23:59:60Z",
        "2026-11-28T23:59:60.999+23:59",
        "0000-01-01T00:00-23:59",
        "9999-12-31T23:59:59.999999999Z",
        "2026-11-28T04:00:00.1234567890Z",
        "2026-11-28T04:00:00.Z",
        "2026-11-28T04:00+08:",
        "2026-11-28T04:00+08:0",
        "2026-11-28T04:00+24",
        "2026-11-28t04:00z",
        "2026-11-28 04:00",
        "  2026-11-28  ",
        "999999999999",
        "9999999999999",
        "-1",
    ] {
        assert_eq!(
            parse_policy_date_millis(s),
            old::policy::parse_date(s),
            "{s:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn formats_agree_with_the_old_ones(t in instant()) {
        prop_assert_eq!(format_iso8601_unbounded(t), old::token::format_expiration(t));
        prop_assert_eq!(format_iso8601(t), old::sign::format_timestamp(t));
        prop_assert_eq!(format_http_date(t), old::sign::format_http_date(t));
        prop_assert_eq!(format_iso8601_basic(t), old::sign::format_iso8601_basic(t));
    }

    #[test]
    fn formats_round_trip(t in MIN..=MAX) {
        let s = format_iso8601(t).unwrap();
        prop_assert_eq!(s.len(), 20);
        prop_assert_eq!(parse_iso8601(&s), Some(t));
        let h = format_http_date(t).unwrap();
        prop_assert_eq!(h.len(), 29);
        prop_assert_eq!(parse_http_date(&h), Some(t));
        let b = format_iso8601_basic(t).unwrap();
        prop_assert_eq!(parse_iso8601_basic(&b), Some(t));
        let d = format_basic_date(t).unwrap();
        prop_assert_eq!(&b[..8], d.as_str());
        prop_assert_eq!(parse_basic_date(&d), Some(t - t.rem_euclid(SECS_PER_DAY)));
        let ms = t * 1000 + t.rem_euclid(1000);
        let m = format_iso8601_millis(ms).unwrap();
        prop_assert_eq!(&m[..19], &s[..19]);
        prop_assert_eq!(parse_policy_date_millis(&m), Some(ms));
        prop_assert_eq!(parse_policy_date_millis(&s), Some(t * 1000));
    }

    #[test]
    fn iso8601_parsers_agree(s in prop_oneof![
        mutated((MIN..=MAX).prop_map(|t| format_iso8601(t).unwrap())),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
        "\\PC{0,24}",
    ]) {
        let new = parse_iso8601(&s);
        prop_assert_eq!(new, old::token::parse_expiration(&s));
        prop_assert_eq!(new, old::sign::parse_timestamp(&s));
    }

    #[test]
    fn http_date_parsers_agree(s in prop_oneof![
        mutated((MIN..=MAX).prop_map(|t| format_http_date(t).unwrap())),
        "(Mon|Sun|Xyz), [0-9]{2} (Jan|Feb|Nov|Foo) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
        "\\PC{0,32}",
    ]) {
        prop_assert_eq!(parse_http_date(&s), old::sign::parse_http_date(&s));
    }

    #[test]
    fn basic_parsers_agree(s in prop_oneof![
        mutated((MIN..=MAX).prop_map(|t| format_iso8601_basic(t).unwrap())),
        mutated((MIN..=MAX).prop_map(|t| format_basic_date(t).unwrap())),
        "[0-9]{8}(T[0-9]{6}Z)?",
        "\\PC{0,18}",
    ]) {
        prop_assert_eq!(parse_iso8601_basic(&s), old::sign::parse_iso8601_basic(&s));
        prop_assert_eq!(parse_basic_date(&s), old::sign::parse_scope_date(&s));
    }

    #[test]
    fn policy_dates_agree(s in policy_date()) {
        prop_assert_eq!(parse_policy_date_millis(&s), old::policy::parse_date(&s));
    }

    #[test]
    fn civil_agrees_with_the_old_calendar(y in 0i64..=9999, m in 1u32..=12, d in 1u32..=31) {
        let old = old::policy::parse_date(&format!("{y:04}-{m:02}-{d:02}"));
        prop_assert_eq!(unix_day(y, m, d).map(|x| x * 86_400_000), old);
    }
}
