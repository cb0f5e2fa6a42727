//! The claims sealed inside a SecurityToken and their compact binary encoding.
//!
//! Encoding (all integers big-endian; `str` is a `u16` byte length then UTF-8; `opt` is a
//! `0`/`1` flag then, if `1`, a `str`):
//!
//! ```text
//! principal_kind u8 | issued_at i64 | expires_at i64 | account_id str | role_arn str |
//! role_id str | role_name str | session_name str | access_key_id str | access_key_secret str |
//! session_policy opt | source opt
//! ```
//!
//! The decoder accepts exactly this and nothing else: unknown kinds, bad UTF-8, short input and
//! trailing bytes are all rejected.

use crate::time::format_expiration;
use keyless_secret::SecretString;
use std::fmt;

/// What kind of principal a session token stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrincipalKind {
    /// A role session from `AssumeRole` (`IdentityType` `AssumedRoleUser`).
    AssumedRole,
}

impl PrincipalKind {
    fn code(self) -> u8 {
        match self {
            Self::AssumedRole => 1,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::AssumedRole),
            _ => None,
        }
    }
}

/// Everything a keyless process needs to authenticate and authorize a request signed with STS
/// credentials, without reading a database.
///
/// `Debug` never prints `access_key_secret`.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionClaims {
    /// The account that owns the role (`AccountId`, a decimal string).
    pub account_id: String,
    /// `acs:ram::<account>:role/<role name>`.
    pub role_arn: String,
    /// The role's `RoleId`.
    pub role_id: String,
    /// The role's `RoleName`.
    pub role_name: String,
    /// `RoleSessionName`.
    pub session_name: String,
    /// Issue time, unix seconds.
    pub issued_at: i64,
    /// Expiry, unix seconds: the credentials are valid while `now < expires_at`.
    pub expires_at: i64,
    /// The session `Policy` given to `AssumeRole`, if any.
    pub session_policy: Option<String>,
    /// `STS.` plus random characters, new for every issuance.
    pub access_key_id: String,
    /// The AccessKeySecret issued with `access_key_id`.
    pub access_key_secret: SecretString,
    /// What the token stands for.
    pub principal_kind: PrincipalKind,
    /// Who obtained the token (for audit), e.g. the caller's ARN.
    pub source: Option<String>,
}

impl SessionClaims {
    /// Whether the credentials are expired at `now` (unix seconds).
    pub fn is_expired_at(&self, now: i64) -> bool {
        now >= self.expires_at
    }

    /// `expires_at` in the wire's `Expiration` form, `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn expiration(&self) -> String {
        format_expiration(self.expires_at)
    }
}

impl fmt::Debug for SessionClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionClaims")
            .field("account_id", &self.account_id)
            .field("role_arn", &self.role_arn)
            .field("role_id", &self.role_id)
            .field("role_name", &self.role_name)
            .field("session_name", &self.session_name)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("session_policy", &self.session_policy)
            .field("access_key_id", &self.access_key_id)
            // SecretString's Debug prints `** redacted **`.
            .field("access_key_secret", &self.access_key_secret)
            .field("principal_kind", &self.principal_kind)
            .field("source", &self.source)
            .finish()
    }
}

fn str_len(s: &str) -> usize {
    2 + s.len()
}

fn opt_len(s: Option<&String>) -> usize {
    1 + s.map_or(0, |s| str_len(s))
}

/// Exact length of `encode(claims)`.
pub(crate) fn encoded_len(c: &SessionClaims) -> usize {
    1 + 8
        + 8
        + str_len(&c.account_id)
        + str_len(&c.role_arn)
        + str_len(&c.role_id)
        + str_len(&c.role_name)
        + str_len(&c.session_name)
        + str_len(&c.access_key_id)
        + str_len(c.access_key_secret.expose_secret())
        + opt_len(c.session_policy.as_ref())
        + opt_len(c.source.as_ref())
}

/// A string field does not fit the `u16` length prefix.
#[derive(Debug)]
pub(crate) struct FieldTooLong;

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), FieldTooLong> {
    let len = u16::try_from(s.len()).map_err(|_| FieldTooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_opt(out: &mut Vec<u8>, s: Option<&String>) -> Result<(), FieldTooLong> {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s)?;
        }
    }
    Ok(())
}

/// Appends the encoding of `c` to `out`.
pub(crate) fn encode(c: &SessionClaims, out: &mut Vec<u8>) -> Result<(), FieldTooLong> {
    out.push(c.principal_kind.code());
    out.extend_from_slice(&c.issued_at.to_be_bytes());
    out.extend_from_slice(&c.expires_at.to_be_bytes());
    put_str(out, &c.account_id)?;
    put_str(out, &c.role_arn)?;
    put_str(out, &c.role_id)?;
    put_str(out, &c.role_name)?;
    put_str(out, &c.session_name)?;
    put_str(out, &c.access_key_id)?;
    put_str(out, c.access_key_secret.expose_secret())?;
    put_opt(out, c.session_policy.as_ref())?;
    put_opt(out, c.source.as_ref())?;
    Ok(())
}

/// A cursor over untrusted bytes; every read is checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    fn i64(&mut self) -> Option<i64> {
        self.take::<8>().map(i64::from_be_bytes)
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = usize::from(u16::from_be_bytes(self.take::<2>()?));
        if len > self.0.len() {
            return None;
        }
        let (s, rest) = self.0.split_at(len);
        self.0 = rest;
        std::str::from_utf8(s).ok()
    }

    fn opt(&mut self) -> Option<Option<&'a str>> {
        match self.u8()? {
            0 => Some(None),
            1 => self.str().map(Some),
            _ => None,
        }
    }
}

/// Decodes claims, or `None` if `bytes` is not exactly one valid encoding.
pub(crate) fn decode(bytes: &[u8]) -> Option<SessionClaims> {
    let mut r = Reader(bytes);
    let principal_kind = PrincipalKind::from_code(r.u8()?)?;
    let issued_at = r.i64()?;
    let expires_at = r.i64()?;
    let account_id = r.str()?;
    let role_arn = r.str()?;
    let role_id = r.str()?;
    let role_name = r.str()?;
    let session_name = r.str()?;
    let access_key_id = r.str()?;
    let access_key_secret = r.str()?;
    let session_policy = r.opt()?;
    let source = r.opt()?;
    if !r.0.is_empty() {
        return None;
    }
    Some(SessionClaims {
        account_id: account_id.to_owned(),
        role_arn: role_arn.to_owned(),
        role_id: role_id.to_owned(),
        role_name: role_name.to_owned(),
        session_name: session_name.to_owned(),
        issued_at,
        expires_at,
        session_policy: session_policy.map(str::to_owned),
        access_key_id: access_key_id.to_owned(),
        access_key_secret: SecretString::new(access_key_secret.to_owned()),
        principal_kind,
        source: source.map(str::to_owned),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> SessionClaims {
        SessionClaims {
            account_id: "1234567890123456".into(),
            role_arn: "acs:ram::1234567890123456:role/ecs-worker".into(),
            role_id: "300800000000000001".into(),
            role_name: "ecs-worker".into(),
            session_name: "build-42".into(),
            issued_at: 1_700_000_000,
            expires_at: 1_700_003_600,
            session_policy: None,
            access_key_id: "STS.NUgYrLnoC37mZZCNnAbez5Zf".into(),
            access_key_secret: SecretString::from("q8J2kLm5Nn7Pp9Rr1Tt3Vv5Xx7Zz9A"),
            principal_kind: PrincipalKind::AssumedRole,
            source: Some("acs:ram::1234567890123456:user/alice".into()),
        }
    }

    #[test]
    fn roundtrip_and_exact_length() {
        let mut c = sample();
        for policy in [
            None,
            Some(String::new()),
            Some(r#"{"Version":"1"}"#.to_owned()),
        ] {
            c.session_policy = policy;
            let mut buf = Vec::new();
            encode(&c, &mut buf).unwrap();
            assert_eq!(buf.len(), encoded_len(&c));
            assert_eq!(decode(&buf), Some(c.clone()));
        }
    }

    #[test]
    fn rejects_trailing_truncated_and_bad_fields() {
        let mut buf = Vec::new();
        encode(&sample(), &mut buf).unwrap();
        for len in 0..buf.len() {
            assert_eq!(decode(&buf[..len]), None, "truncated at {len}");
        }
        let mut long = buf.clone();
        long.push(0);
        assert_eq!(decode(&long), None);
        let mut kind = buf.clone();
        kind[0] = 0;
        assert_eq!(decode(&kind), None);
        let mut flag = buf.clone();
        let n = flag.len();
        // `source` is the last field: flag, length, then 36 bytes.
        flag[n - 36 - 3] = 2;
        assert_eq!(decode(&flag), None);
        let mut utf8 = buf;
        utf8[1 + 16 + 2] = 0xFF;
        assert_eq!(decode(&utf8), None);
    }

    #[test]
    fn too_long_field_is_an_error() {
        let mut c = sample();
        c.session_policy = Some("x".repeat(70_000));
        assert!(encode(&c, &mut Vec::new()).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = sample();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(c.access_key_secret.expose_secret()));
        assert!(dbg.contains("** redacted **"));
        assert!(dbg.contains("STS.NUgYrLnoC37mZZCNnAbez5Zf"));
        assert!(!format!("{:#?}", Some(&c)).contains(c.access_key_secret.expose_secret()));
    }

    #[test]
    fn expiry_helpers() {
        let c = sample();
        assert!(!c.is_expired_at(c.expires_at - 1));
        assert!(c.is_expired_at(c.expires_at));
        assert_eq!(c.expiration(), "2023-11-14T23:13:20Z");
    }
}
