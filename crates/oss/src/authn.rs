//! Authentication of OSS requests: V1 (`Authorization: OSS AK:sig`), V4
//! (`Authorization: OSS4-HMAC-SHA256 …`) and the presigned forms of both. Parsing and
//! verification are pure ([`parse`], [`verify`]); [`authenticate`] adds the key lookup, the STS
//! token, the clock and the region.
//!
//! The security token: V1 accepts `x-oss-security-token` (signed), `security-token` as a header
//! (oss-v2 in V1 mode, unsigned) or, presigned, as a query parameter (signed); V4 only
//! `x-oss-security-token` (header, or query when presigned), which is signed. The token is bound
//! to its AccessKeyId and carries the session secret, so an unsigned token gains a forger
//! nothing.

use super::error::{from_sign, OssError};
use keyless_auth::{resolve, Caller, Pending};
use keyless_http::HttpReqHead;
use keyless_platform::error::ApiError;
use keyless_platform::state::State;
use keyless_secret::{ct_eq, SecretString};
use keyless_sign::oss_v1::{self, OssV1Authorization, OssV1Presigned, OssV1Verified};
use keyless_sign::oss_v4::{self, OssV4Authorization, OssV4Presigned, OssV4Verified};
use keyless_sign::{OssResource, RequestParts, SignError};

/// The credential a request presents; parsing it proves nothing.
#[derive(Debug, Clone)]
pub enum Credential {
    Anonymous,
    V1Header(OssV1Authorization),
    V4Header(OssV4Authorization),
    V1Presigned(OssV1Presigned),
    V4Presigned(OssV4Presigned),
}

impl Credential {
    pub fn access_key_id(&self) -> Option<&str> {
        match self {
            Credential::Anonymous => None,
            Credential::V1Header(a) => Some(a.access_key_id()),
            Credential::V4Header(a) => Some(a.access_key_id()),
            Credential::V1Presigned(p) => Some(p.access_key_id()),
            Credential::V4Presigned(p) => Some(p.access_key_id()),
        }
    }

    fn signature(&self) -> &str {
        match self {
            Credential::Anonymous => "",
            Credential::V1Header(a) => a.signature_b64(),
            Credential::V4Header(a) => a.signature_hex(),
            Credential::V1Presigned(p) => p.signature_b64(),
            Credential::V4Presigned(p) => p.signature_hex(),
        }
    }
}

fn parts(head: &HttpReqHead) -> RequestParts<'_> {
    RequestParts {
        method: &head.method,
        raw_path: &head.path,
        raw_query: &head.query,
        headers: &head.headers,
    }
}

fn header_values<'h>(head: &'h HttpReqHead, name: &str) -> Vec<&'h str> {
    head.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Parses the credential: the `Authorization` header, else presigned query parameters, else
/// anonymous.
pub fn parse(head: &HttpReqHead) -> Result<Credential, OssError> {
    let sign_err = |e: SignError| from_sign(&e, "", "");
    let auth = header_values(head, "authorization");
    if auth.len() > 1 {
        return Err(OssError::invalid_argument(
            "The Authorization header is given more than once.",
        ));
    }
    if let Some(value) = auth.first() {
        let v = value.trim_start();
        if v.starts_with(oss_v4::ALGORITHM) {
            return oss_v4::parse_authorization(value)
                .map(Credential::V4Header)
                .map_err(sign_err);
        }
        if v.starts_with("OSS ") {
            return oss_v1::parse_authorization(value)
                .map(Credential::V1Header)
                .map_err(sign_err);
        }
        return Err(OssError::invalid_argument(
            "Authorization header is invalid: unsupported signature method.",
        ));
    }
    if let Some(p) = oss_v4::parse_presigned(&head.query).map_err(sign_err)? {
        return Ok(Credential::V4Presigned(p));
    }
    if let Some(p) = oss_v1::parse_presigned(&head.query).map_err(sign_err)? {
        return Ok(Credential::V1Presigned(p));
    }
    Ok(Credential::Anonymous)
}

/// The security token the request carries for `cred` (used to find the session's secret before
/// the signature can be checked).
pub fn carried_token(head: &HttpReqHead, cred: &Credential) -> Option<String> {
    let header = |name: &str| {
        header_values(head, name)
            .first()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let query = |name: &str| {
        keyless_sign::form_decode(&head.query)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    match cred {
        Credential::Anonymous => None,
        Credential::V1Header(_) => header("x-oss-security-token")
            .or_else(|| query("security-token"))
            .or_else(|| header("security-token")),
        Credential::V1Presigned(_) => query("security-token"),
        Credential::V4Header(_) => header("x-oss-security-token"),
        Credential::V4Presigned(_) => query("x-oss-security-token"),
    }
}

/// What a verified signature establishes, read off the value `keyless_sign` returned (kept, as
/// the proof `keyless_auth` needs to make the caller).
pub enum Verified {
    V1(OssV1Verified),
    V1Presigned(OssV1Verified),
    V4(OssV4Verified),
    V4Presigned(OssV4Verified),
}

impl Verified {
    /// Header-signed: the signed date (unix seconds).
    fn date(&self) -> Option<i64> {
        match self {
            Verified::V1(v) => v.date(),
            Verified::V1Presigned(_) => None,
            Verified::V4(v) | Verified::V4Presigned(v) => Some(v.date()),
        }
    }

    /// Presigned: the expiry (unix seconds).
    fn expires(&self) -> Option<i64> {
        match self {
            Verified::V1(_) | Verified::V4(_) => None,
            Verified::V1Presigned(v) => v.expires(),
            Verified::V4Presigned(v) => v.expires(),
        }
    }

    /// V4: the scope region.
    fn region(&self) -> Option<&str> {
        match self {
            Verified::V1(_) | Verified::V1Presigned(_) => None,
            Verified::V4(v) | Verified::V4Presigned(v) => Some(v.region()),
        }
    }

    /// The security token the signature check saw.
    fn token(&self) -> Option<&SecretString> {
        match self {
            Verified::V1(v) | Verified::V1Presigned(v) => v.security_token(),
            Verified::V4(v) | Verified::V4Presigned(v) => v.security_token(),
        }
    }

    /// V4 with a signed payload hash: the body's SHA-256 must equal this.
    fn content_sha256(&self) -> Option<[u8; 32]> {
        match self {
            Verified::V1(_) | Verified::V1Presigned(_) => None,
            Verified::V4(v) | Verified::V4Presigned(v) => v.content_sha256().copied(),
        }
    }

    fn into_caller(self, pending: Pending) -> Result<Caller, ApiError> {
        match &self {
            Verified::V1(v) | Verified::V1Presigned(v) => pending.verified(v),
            Verified::V4(v) | Verified::V4Presigned(v) => pending.verified(v),
        }
    }
}

/// Verifies `cred` for `resource` with `secret`. Anonymous credentials never verify.
pub fn verify(
    head: &HttpReqHead,
    resource: &OssResource<'_>,
    cred: &Credential,
    secret: &SecretString,
) -> Result<Verified, OssError> {
    let req = parts(head);
    let ak = cred.access_key_id().unwrap_or("");
    let err = |e: SignError| from_sign(&e, ak, cred.signature());
    match cred {
        Credential::Anonymous => Err(OssError::anonymous()),
        Credential::V1Header(a) => oss_v1::verify(&req, resource, a, secret)
            .map(Verified::V1)
            .map_err(err),
        Credential::V1Presigned(p) => oss_v1::verify_presigned(&req, resource, p, secret)
            .map(Verified::V1Presigned)
            .map_err(err),
        Credential::V4Header(a) => oss_v4::verify(&req, resource, a, secret)
            .map(Verified::V4)
            .map_err(err),
        Credential::V4Presigned(p) => oss_v4::verify_presigned(&req, resource, p, secret)
            .map(Verified::V4Presigned)
            .map_err(err),
    }
}

/// An authenticated request.
pub struct Authenticated {
    pub caller: Caller,
    pub content_sha256: Option<[u8; 32]>,
}

/// The longest a V4 presigned URL may be valid (seven days, as the vendor).
const MAX_PRESIGN_SECS: i64 = 7 * 24 * 3600;

/// Authenticates a request for `resource`: parse, find the key (opening the STS token), verify,
/// then check the time window, the region and that the token verified is the one resolved.
pub fn authenticate(
    state: &State,
    head: &HttpReqHead,
    resource: &OssResource<'_>,
) -> Result<Authenticated, OssError> {
    let cred = parse(head)?;
    let Some(akid) = cred.access_key_id() else {
        return Err(OssError::anonymous());
    };
    let token = carried_token(head, &cred);
    let pending = resolve(state, akid, token.as_deref())?;
    let v = verify(head, resource, &cred, pending.secret())?;
    let now = state.clock().now();
    let server_time = super::iso_millis(now.saturating_mul(1000));
    if let Some(exp) = v.expires() {
        if now > exp {
            return Err(OssError::access_denied("Request has expired.")
                .with("Expires", super::iso_millis(exp.saturating_mul(1000)))
                .with("ServerTime", server_time));
        }
        if let Some(d) = v.date() {
            if d > now + state.config().max_skew_secs || exp - d > MAX_PRESIGN_SECS {
                return Err(OssError::access_denied(
                    "Invalid presigned URL time window.",
                ));
            }
        }
    } else if let Some(d) = v.date() {
        if (d - now).abs() > state.config().max_skew_secs {
            return Err(OssError::new(
                403,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            )
            .with("RequestTime", super::iso_millis(d.saturating_mul(1000)))
            .with("ServerTime", server_time));
        }
    } else {
        return Err(OssError::access_denied(
            "OSS authentication requires a valid Date.",
        ));
    }
    if let Some(r) = v.region() {
        if r != state.config().region {
            return Err(OssError::invalid_argument(format!(
                "Invalid signing region in Authorization header: `{}`, expected `{}`.",
                r.chars().take(64).collect::<String>(),
                state.config().region
            )));
        }
    }
    if pending.is_session() {
        let same = match (v.token(), &token) {
            (Some(a), Some(b)) => ct_eq(a.expose_secret().as_bytes(), b.as_bytes()),
            _ => false,
        };
        if !same {
            return Err(OssError::new(
                403,
                "InvalidSecurityToken",
                "The security token you provided is invalid.",
            ));
        }
    }
    let content_sha256 = v.content_sha256();
    Ok(Authenticated {
        caller: v.into_caller(pending)?,
        content_sha256,
    })
}
