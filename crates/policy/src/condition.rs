//! Condition operators, their compiled values, and their semantics.
//!
//! Semantics (reference "Conditions", AWS where RAM is silent): within one key the policy's values
//! are OR-ed; keys, operators and blocks are AND-ed. A positive operator is false when the request
//! lacks the key; a negated operator is the exact negation of its positive twin, so it is true when
//! the key is missing and, with several values, behaves as NOR.

use crate::pattern::{glob, Case, Pattern};
use std::net::IpAddr;

/// Every operator the reference lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
}

impl Operator {
    /// All operators, in the reference's order.
    pub const ALL: [Operator; 21] = [
        Operator::StringEquals,
        Operator::StringNotEquals,
        Operator::StringEqualsIgnoreCase,
        Operator::StringNotEqualsIgnoreCase,
        Operator::StringLike,
        Operator::StringNotLike,
        Operator::NumericEquals,
        Operator::NumericNotEquals,
        Operator::NumericLessThan,
        Operator::NumericLessThanEquals,
        Operator::NumericGreaterThan,
        Operator::NumericGreaterThanEquals,
        Operator::DateEquals,
        Operator::DateNotEquals,
        Operator::DateLessThan,
        Operator::DateLessThanEquals,
        Operator::DateGreaterThan,
        Operator::DateGreaterThanEquals,
        Operator::Bool,
        Operator::IpAddress,
        Operator::NotIpAddress,
    ];

    /// The operator's name as written in a policy.
    pub fn name(self) -> &'static str {
        match self {
            Operator::StringEquals => "StringEquals",
            Operator::StringNotEquals => "StringNotEquals",
            Operator::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            Operator::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            Operator::StringLike => "StringLike",
            Operator::StringNotLike => "StringNotLike",
            Operator::NumericEquals => "NumericEquals",
            Operator::NumericNotEquals => "NumericNotEquals",
            Operator::NumericLessThan => "NumericLessThan",
            Operator::NumericLessThanEquals => "NumericLessThanEquals",
            Operator::NumericGreaterThan => "NumericGreaterThan",
            Operator::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Operator::DateEquals => "DateEquals",
            Operator::DateNotEquals => "DateNotEquals",
            Operator::DateLessThan => "DateLessThan",
            Operator::DateLessThanEquals => "DateLessThanEquals",
            Operator::DateGreaterThan => "DateGreaterThan",
            Operator::DateGreaterThanEquals => "DateGreaterThanEquals",
            Operator::Bool => "Bool",
            Operator::IpAddress => "IpAddress",
            Operator::NotIpAddress => "NotIpAddress",
        }
    }

    /// Looks an operator up by its exact (case-sensitive) name.
    pub fn from_name(s: &str) -> Option<Operator> {
        Operator::ALL.iter().copied().find(|o| o.name() == s)
    }

    /// Whether this is a negated operator (true when the key is missing; NOR over values).
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            Operator::StringNotEquals
                | Operator::StringNotEqualsIgnoreCase
                | Operator::StringNotLike
                | Operator::NumericNotEquals
                | Operator::DateNotEquals
                | Operator::NotIpAddress
        )
    }
}

/// A compiled condition clause: one operator, one key, its values.
#[derive(Clone, Debug)]
pub(crate) struct Clause {
    pub(crate) op: Operator,
    /// Lower-cased key name (condition keys are case-insensitive).
    pub(crate) key: Box<str>,
    pub(crate) values: Values,
}

#[derive(Clone, Debug)]
pub(crate) enum Values {
    Strings(Vec<Box<str>>),
    /// Lower-cased with full Unicode folding.
    Folded(Vec<Box<str>>),
    Patterns(Vec<Pattern>),
    Numbers(Vec<f64>),
    /// Milliseconds since the Unix epoch.
    Dates(Vec<i64>),
    Bools(Vec<bool>),
    Nets(Vec<IpNet>),
}

/// Compiles the literal values of one key for `op`; on failure, every bad value's index and why.
pub(crate) fn compile_values(op: Operator, raw: &[String]) -> Result<Values, Vec<(usize, String)>> {
    use Operator as O;
    fn all<T>(
        raw: &[String],
        f: impl Fn(&str) -> Option<T>,
        why: &str,
    ) -> Result<Vec<T>, Vec<(usize, String)>> {
        let mut ok = Vec::with_capacity(raw.len());
        let mut bad = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            match f(s) {
                Some(v) => ok.push(v),
                None => bad.push((i, format!("`{s}` is not {why}"))),
            }
        }
        if bad.is_empty() {
            Ok(ok)
        } else {
            Err(bad)
        }
    }
    Ok(match op {
        O::StringEquals | O::StringNotEquals => {
            Values::Strings(raw.iter().map(|s| s.as_str().into()).collect())
        }
        O::StringEqualsIgnoreCase | O::StringNotEqualsIgnoreCase => {
            Values::Folded(raw.iter().map(|s| s.to_lowercase().into()).collect())
        }
        O::StringLike | O::StringNotLike => {
            Values::Patterns(raw.iter().map(|s| Pattern::compile(s)).collect())
        }
        O::NumericEquals
        | O::NumericNotEquals
        | O::NumericLessThan
        | O::NumericLessThanEquals
        | O::NumericGreaterThan
        | O::NumericGreaterThanEquals => Values::Numbers(all(raw, parse_number, "a number")?),
        O::DateEquals
        | O::DateNotEquals
        | O::DateLessThan
        | O::DateLessThanEquals
        | O::DateGreaterThan
        | O::DateGreaterThanEquals => {
            Values::Dates(all(raw, parse_date, "an ISO 8601 date or epoch seconds")?)
        }
        O::Bool => Values::Bools(all(raw, parse_bool, "`true` or `false`")?),
        O::IpAddress | O::NotIpAddress => {
            Values::Nets(all(raw, IpNet::parse, "an IP address or CIDR block")?)
        }
    })
}

impl Clause {
    /// Evaluates the clause against the request's values for its key (`None`: key absent).
    pub(crate) fn holds(&self, request_values: Option<&[String]>) -> bool {
        let positive = match request_values {
            None => false,
            Some(vals) => vals.iter().any(|v| self.positive_match(v)),
        };
        if self.op.is_negated() {
            !positive
        } else {
            positive
        }
    }

    /// Whether one request value matches any policy value under the positive form of the operator.
    fn positive_match(&self, v: &str) -> bool {
        use Operator as O;
        match &self.values {
            Values::Strings(ps) => ps.iter().any(|p| p.as_ref() == v),
            Values::Folded(ps) => {
                let folded = v.to_lowercase();
                ps.iter().any(|p| p.as_ref() == folded)
            }
            Values::Patterns(ps) => ps.iter().any(|p| p.matches(v, Case::Sensitive)),
            Values::Numbers(ps) => match parse_number(v) {
                None => false,
                Some(x) => ps.iter().any(|&p| match self.op {
                    O::NumericEquals | O::NumericNotEquals => x == p,
                    O::NumericLessThan => x < p,
                    O::NumericLessThanEquals => x <= p,
                    O::NumericGreaterThan => x > p,
                    O::NumericGreaterThanEquals => x >= p,
                    _ => false,
                }),
            },
            Values::Dates(ps) => match parse_date(v) {
                None => false,
                Some(x) => ps.iter().any(|&p| match self.op {
                    O::DateEquals | O::DateNotEquals => x == p,
                    O::DateLessThan => x < p,
                    O::DateLessThanEquals => x <= p,
                    O::DateGreaterThan => x > p,
                    O::DateGreaterThanEquals => x >= p,
                    _ => false,
                }),
            },
            Values::Bools(ps) => match parse_bool(v) {
                None => false,
                Some(b) => ps.contains(&b),
            },
            Values::Nets(ps) => match v.trim().parse::<IpAddr>() {
                Err(_) => false,
                Ok(ip) => ps.iter().any(|n| n.contains(ip)),
            },
        }
    }
}

/// Exposed for the fuzz entry point and tests: a `StringLike` match.
pub fn string_like(pattern: &str, text: &str) -> bool {
    glob(pattern.as_bytes(), text.as_bytes(), Case::Sensitive)
}

pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || t.len() > 64 {
        return None;
    }
    let x: f64 = t.parse().ok()?;
    x.is_finite().then_some(x)
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An IPv4 or IPv6 network (a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub(crate) fn parse(s: &str) -> Option<IpNet> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let n: u8 = p.parse().ok()?;
                if n > max {
                    return None;
                }
                n
            }
        };
        Some(IpNet { addr, prefix })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => v4_in(n.into(), a.into(), self.prefix),
            // An IPv4-mapped IPv6 request address is compared with IPv4 blocks as IPv4.
            (IpAddr::V4(n), IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                Some(a4) => v4_in(n.into(), a4.into(), self.prefix),
                None => false,
            },
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                (u128::from(n) & mask) == (u128::from(a) & mask)
            }
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn v4_in(net: u32, addr: u32, prefix: u8) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (net & mask) == (addr & mask)
}

/// Parses an ISO 8601 date/time (`2026-01-02`, `2026-01-02T03:04Z`, `2026-01-02T03:04:05.678+08:00`,
/// no zone meaning UTC) or plain epoch seconds, into milliseconds since the epoch (see
/// [`keyless_time::parse_policy_date_millis`] for every form accepted).
pub fn parse_date(s: &str) -> Option<i64> {
    keyless_time::parse_policy_date_millis(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_date("2000-03-01T00:00:00Z"), Some(951_868_800_000));
        assert_eq!(
            parse_date("2026-11-28T12:00:00+08:00"),
            parse_date("2026-11-28T04:00:00Z")
        );
        assert_eq!(
            parse_date("2026-11-28T12:00:00+0800"),
            parse_date("2026-11-28T04:00:00Z")
        );
        assert_eq!(
            parse_date("2026-11-28T04:00:00.5Z"),
            Some(parse_date("2026-11-28T04:00:00Z").unwrap() + 500)
        );
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(parse_date("1795840441"), Some(1_795_840_441_000));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("2026-11-28T25:00:00Z"), None);
        assert_eq!(parse_date("2026-11-28T04:00:00Zjunk"), None);
        assert_eq!(parse_date("not a date"), None);
        assert_eq!(parse_date(""), None);
        // Forms kept exactly as they were before the calendar moved to keyless-time.
        let t = parse_date("2026-11-28T04:00:00Z");
        assert_eq!(parse_date(" 2026-11-28t04:00z "), t);
        assert_eq!(parse_date("2026-11-28 04:00"), t);
        assert_eq!(parse_date("2026-11-28T12:00+08"), t);
        assert_eq!(parse_date("2026-11-27T20:00:00-08:00"), t);
        assert_eq!(parse_date("2026-11-28T03:59:60Z"), t);
        assert_eq!(
            parse_date("2026-11-28T04:00:00.123456789Z"),
            t.map(|x| x + 123)
        );
        for bad in [
            "2026-11-28T04:00:00.Z",
            "2026-11-28T04:00:00.1234567890Z",
            "2026-11-28T04:00:61Z",
            "2026-11-28T04:00+24:00",
            "2026-11-28T04:00+08:0",
            "2026-11-28T04",
            "2026-11-28X04:00",
            "2026-1-28",
            "1234567890123",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn nets() {
        let n = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("11.1.2.3".parse().unwrap()));
        assert!(n.contains("::ffff:10.9.9.9".parse().unwrap()));
        let mapped = IpNet::parse("::ffff:192.0.2.0/120").unwrap();
        assert!(mapped.contains("::ffff:192.0.2.55".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        let v6 = IpNet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("10.0.0.0/").is_none());
        assert!(IpNet::parse("10.0.0/8").is_none());
        assert!(IpNet::parse("1.2.3.4")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn operator_names_roundtrip() {
        for op in Operator::ALL {
            assert_eq!(Operator::from_name(op.name()), Some(op));
        }
        assert_eq!(Operator::from_name("stringequals"), None);
        assert_eq!(Operator::from_name("StringEqualsIfExists"), None);
    }
}
