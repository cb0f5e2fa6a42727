//! OSS signature V1: `Authorization: OSS <AK>:base64(HMAC-SHA1(secret, StringToSign))`, and the
//! presigned-URL form `?OSSAccessKeyId=<AK>&Expires=<epoch>&Signature=<sig>[&security-token=…]`.
//!
//! ```text
//! StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n
//!                + every x-oss-* header, lower-cased, sorted by name: name:value \n
//!                + CanonicalizedResource
//! CanonicalizedResource = "/"                        (service)
//!                       | "/" bucket "/" key         (bucket: key empty; key decoded, not encoded)
//!                       + [ "?" sub-resources sorted, each "k=v" or bare "k" when v is empty ]
//! ```
//!
//! What oss2 2.19.1 (`auth.py`, `ProviderAuth`) and alibabacloud-oss-v2 1.4.1 (`signer/v1.py`)
//! sign, which this module follows:
//! - `Date` is `x-oss-date` when that header is non-empty, else `date`; for a presigned URL it is
//!   the `Expires` value.
//! - Header values are used as sent (not trimmed), names lower-cased.
//! - Only *whitelisted* query parameters are signed, with their decoded values. The two clients
//!   disagree on the whitelist: oss2 has one fixed set ([`SUBRESOURCES_OSS2`]); oss-v2 has a
//!   smaller fixed set plus a per-operation list, whose union is [`SUBRESOURCES_OSS_V2`].
//!   [`verify`] first tries the union of both ([`SubresourceSet::All`]) and, only when the query
//!   contains a parameter on which they disagree, the set of each client.
//!   `OSSAccessKeyId`, `Expires`, `Signature`, `prefix`, `marker`, `max-keys`, … are never signed.
//! - The STS token: oss2 (and oss-v2 in V4) sends `x-oss-security-token`, which is signed as an
//!   `x-oss-*` header; oss-v2 in V1 mode sends `security-token`, which is *not* signed; a
//!   presigned URL carries `security-token`, a signed sub-resource. All are accepted; two
//!   different tokens in one request are refused.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use keyless_secret::{ct_eq, SecretString};
use sha1::Sha1;

use crate::encode::{form_decode, percent_encode_into, unique_param};
use crate::error::{clip, SignError};
use crate::time::parse_http_date;
use crate::{limits, OssResource, RequestParts};

/// The sub-resources oss2 2.19.1 signs (`ProviderAuth._subresource_key_set`), sorted.
pub const SUBRESOURCES_OSS2: &[&str] = &[
    "accessPoint",
    "accessPointPolicy",
    "acl",
    "append",
    "asyncFetch",
    "bucketArchiveDirectRead",
    "bucketInfo",
    "callback",
    "callback-var",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "group",
    "httpsConfig",
    "inventory",
    "inventoryId",
    "lifecycle",
    "link",
    "live",
    "location",
    "logging",
    "metaQuery",
    "objectInfo",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "publicAccessBlock",
    "qos",
    "qosInfo",
    "qosRequester",
    "redundancyTransition",
    "referer",
    "regionList",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "requesterQosInfo",
    "resourceGroup",
    "resourcePool",
    "resourcePoolBuckets",
    "resourcePoolInfo",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "transferAcceleration",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "worm",
    "wormExtend",
    "wormId",
    "x-oss-ac-forward-allow",
    "x-oss-ac-source-ip",
    "x-oss-ac-subnet-mask",
    "x-oss-ac-vpc-id",
    "x-oss-access-point-name",
    "x-oss-async-process",
    "x-oss-process",
    "x-oss-redundancy-transition-taskid",
    "x-oss-request-payer",
    "x-oss-target-redundancy-type",
    "x-oss-traffic-limit",
    "x-oss-write-get-object-response",
];

/// The sub-resources alibabacloud-oss-v2 1.4.1 signs in V1 mode: `SignerV1._subresource_key_set`
/// plus every operation's `sub-resource` list, sorted.
pub const SUBRESOURCES_OSS_V2: &[&str] = &[
    "MetaQuery",
    "accessPoint",
    "accessPointPolicy",
    "acl",
    "append",
    "bucketArchiveDirectRead",
    "bucketInfo",
    "callback",
    "callback-var",
    "cleanRestoredObject",
    "cloudboxes",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "dataPipeline",
    "delete",
    "encryption",
    "httpsConfig",
    "inventory",
    "inventoryId",
    "legalHold",
    "lifecycle",
    "location",
    "logging",
    "metaQuery",
    "metadataConfiguration",
    "metadataInventoryTable",
    "metadataJournalTable",
    "objectMeta",
    "objectWorm",
    "overwriteConfig",
    "partNumber",
    "policy",
    "policyStatus",
    "position",
    "publicAccessBlock",
    "quota",
    "redundancyTransition",
    "referer",
    "regionList",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "resourceGroup",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "rtc",
    "seal",
    "security-token",
    "sequential",
    "stat",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "transferAcceleration",
    "uploadId",
    "uploads",
    "userDefinedLogFieldsConfig",
    "versionId",
    "versioning",
    "versions",
    "website",
    "worm",
    "wormExtend",
    "wormId",
    "x-oss-access-point-name",
    "x-oss-redundancy-transition-taskid",
    "x-oss-target-redundancy-type",
];

/// Which query parameters count as signed sub-resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubresourceSet {
    /// The union of [`SUBRESOURCES_OSS2`] and [`SUBRESOURCES_OSS_V2`]; what [`sign_request`] and
    /// [`presign`] use and what [`verify`] tries first.
    All,
    /// oss2's set.
    Oss2,
    /// alibabacloud-oss-v2's set.
    OssV2,
}

impl SubresourceSet {
    /// The whitelisted name equal to `key`, if `key` is a sub-resource of this set.
    fn lookup(self, key: &str) -> Option<&'static str> {
        let find = |list: &'static [&'static str]| {
            list.binary_search(&key)
                .ok()
                .and_then(|i| list.get(i).copied())
        };
        match self {
            Self::All => find(SUBRESOURCES_OSS2).or_else(|| find(SUBRESOURCES_OSS_V2)),
            Self::Oss2 => find(SUBRESOURCES_OSS2),
            Self::OssV2 => find(SUBRESOURCES_OSS_V2),
        }
    }

    /// Whether `key` is a signed sub-resource in this set.
    pub fn contains(self, key: &str) -> bool {
        self.lookup(key).is_some()
    }
}

/// A parsed `Authorization: OSS <AK>:<signature>` value. Parsing it proves nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssV1Authorization {
    access_key_id: String,
    signature_b64: String,
}

impl OssV1Authorization {
    /// The access key whose secret verifies the request.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The signature, base64 of 20 bytes.
    pub fn signature_b64(&self) -> &str {
        &self.signature_b64
    }
}

fn valid_access_key_id(ak: &str) -> bool {
    !ak.is_empty()
        && ak.len() <= limits::MAX_HEADER_NAME_BYTES
        && !ak
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':')
}

/// Parses `OSS <AK>:<base64 signature>` (leading and trailing whitespace ignored).
pub fn parse_authorization(value: &str) -> Result<OssV1Authorization, SignError> {
    use SignError::MalformedAuthorization as Malformed;

    limits::check_len(
        "authorization header",
        value.len(),
        limits::MAX_AUTHORIZATION_BYTES,
    )?;
    let rest = value
        .trim()
        .strip_prefix("OSS ")
        .ok_or(Malformed("expected `OSS <AccessKeyId>:<Signature>`"))?;
    let (ak, sig) = rest
        .trim_start()
        .rsplit_once(':')
        .ok_or(Malformed("expected `OSS <AccessKeyId>:<Signature>`"))?;
    if !valid_access_key_id(ak) {
        return Err(Malformed("invalid access key id"));
    }
    check_signature_shape(sig)?;
    Ok(OssV1Authorization {
        access_key_id: ak.to_owned(),
        signature_b64: sig.to_owned(),
    })
}

fn check_signature_shape(sig: &str) -> Result<(), SignError> {
    if sig.len() != 28 || BASE64.decode(sig).map_or(true, |b| b.len() != 20) {
        return Err(SignError::MalformedSignature("base64"));
    }
    Ok(())
}

/// The query parameters of a V1 presigned URL. Parsing proves nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssV1Presigned {
    access_key_id: String,
    signature_b64: String,
    expires_raw: String,
    expires: i64,
}

impl OssV1Presigned {
    /// `OSSAccessKeyId`.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// `Signature`, base64.
    pub fn signature_b64(&self) -> &str {
        &self.signature_b64
    }
    /// `Expires`, Unix seconds; the caller refuses the request after it.
    pub fn expires(&self) -> i64 {
        self.expires
    }
}

/// Parses the presigned-URL parameters from a raw query. `Ok(None)` when the query carries none of
/// `OSSAccessKeyId`, `Expires`, `Signature` (not a presigned request); an error when only some of
/// them are there or one is malformed.
pub fn parse_presigned(raw_query: &str) -> Result<Option<OssV1Presigned>, SignError> {
    let params = form_decode(raw_query)?;
    let ak = unique_param(&params, "OSSAccessKeyId")?;
    let expires = unique_param(&params, "Expires")?;
    let sig = unique_param(&params, "Signature")?;
    if ak.is_none() && expires.is_none() && sig.is_none() {
        return Ok(None);
    }
    let ak = ak
        .filter(|a| !a.is_empty())
        .ok_or(SignError::MissingParameter("OSSAccessKeyId"))?;
    if !valid_access_key_id(ak) {
        return Err(SignError::InvalidParameter("OSSAccessKeyId"));
    }
    let expires_raw = expires.ok_or(SignError::MissingParameter("Expires"))?;
    let expires = parse_epoch(expires_raw).ok_or(SignError::InvalidParameter("Expires"))?;
    let sig = sig
        .filter(|s| !s.is_empty())
        .ok_or(SignError::MissingParameter("Signature"))?;
    check_signature_shape(sig)?;
    Ok(Some(OssV1Presigned {
        access_key_id: ak.to_owned(),
        signature_b64: sig.to_owned(),
        expires_raw: expires_raw.to_owned(),
        expires,
    }))
}

/// Unix seconds as plain decimal digits (what the clients send), at most 12 digits.
fn parse_epoch(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `x-oss-*` headers, lower-cased and sorted by name; a name given twice is an error.
pub(crate) fn oss_headers<'r>(
    req: &RequestParts<'r>,
    also: impl Fn(&str) -> bool,
) -> Result<Vec<(String, &'r str)>, SignError> {
    let mut out: Vec<(String, &'r str)> = Vec::new();
    for (name, value) in req.headers {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("x-oss-") || also(&lower) {
            if out.iter().any(|(n, _)| *n == lower) {
                return Err(SignError::DuplicateHeader(clip(&lower)));
            }
            out.push((lower, value.as_str()));
        }
    }
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

fn build(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    date_line: &str,
    params: &[(String, String)],
    set: SubresourceSet,
) -> Result<String, SignError> {
    let mut out = String::new();
    out.push_str(req.method);
    out.push('\n');
    out.push_str(req.single_header("content-md5")?.unwrap_or(""));
    out.push('\n');
    out.push_str(req.single_header("content-type")?.unwrap_or(""));
    out.push('\n');
    out.push_str(date_line);
    out.push('\n');
    for (name, value) in oss_headers(req, |_| false)? {
        out.push_str(&name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push('/');
    if !resource.bucket.is_empty() {
        out.push_str(resource.bucket);
        out.push('/');
        out.push_str(resource.key);
    }

    let mut subs: Vec<(&'static str, &str)> = Vec::new();
    for (k, v) in params {
        if let Some(name) = set.lookup(k) {
            if subs.iter().any(|(n, _)| *n == name) {
                return Err(SignError::DuplicateParameter(name));
            }
            subs.push((name, v));
        }
    }
    subs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (i, (k, v)) in subs.into_iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        if !v.is_empty() {
            out.push('=');
            out.push_str(v);
        }
    }
    Ok(out)
}

/// The date line of a header-signed request: `x-oss-date` when non-empty, else `date`.
fn date_line<'r>(req: &RequestParts<'r>) -> Result<&'r str, SignError> {
    if let Some(d) = req.single_header("x-oss-date")?.filter(|d| !d.is_empty()) {
        return Ok(d);
    }
    req.single_header("date")?
        .ok_or_else(|| SignError::MissingHeader("date".to_owned()))
}

/// The string to sign of a header-signed request (`Authorization: OSS …`) for `resource`, with
/// the sub-resources of `set`.
pub fn string_to_sign(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    set: SubresourceSet,
) -> Result<String, SignError> {
    req.check_limits()?;
    resource.check()?;
    let params = form_decode(req.raw_query)?;
    build(req, resource, date_line(req)?, &params, set)
}

/// The string to sign of a presigned request: as [`string_to_sign`] with the `Expires` parameter
/// as the date line.
pub fn presigned_string_to_sign(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    set: SubresourceSet,
) -> Result<String, SignError> {
    req.check_limits()?;
    resource.check()?;
    let params = form_decode(req.raw_query)?;
    let expires =
        unique_param(&params, "Expires")?.ok_or(SignError::MissingParameter("Expires"))?;
    build(req, resource, expires, &params, set)
}

/// `None` only if HMAC refused the key, which it never does; callers treat that as a mismatch.
fn mac(secret: &str, string_to_sign: &str) -> Option<[u8; 20]> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(string_to_sign.as_bytes());
    Some(mac.finalize().into_bytes().into())
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    mac(secret, string_to_sign)
        .map(|m| BASE64.encode(m))
        .unwrap_or_default()
}

/// How the STS token, if any, reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `x-oss-security-token` header (signed).
    SignedHeader,
    /// `security-token` header (oss-v2 V1 mode; not covered by the signature).
    UnsignedHeader,
    /// `security-token` query parameter (presigned URLs; a signed sub-resource).
    Query,
}

/// Proof that an OSS V1 request (header or presigned) was signed with the secret of
/// [`OssV1Verified::access_key_id`] for the given resource. Only [`verify`] and
/// [`verify_presigned`] make one.
#[derive(Debug, Clone)]
pub struct OssV1Verified {
    access_key_id: String,
    date: Option<i64>,
    expires: Option<i64>,
    security_token: Option<(SecretString, TokenSource)>,
    subresources: SubresourceSet,
}

impl OssV1Verified {
    /// The verified access key.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// For a header-signed request, the signed date (`x-oss-date` or `date`) in Unix seconds; the
    /// caller checks skew.
    pub fn date(&self) -> Option<i64> {
        self.date
    }
    /// For a presigned URL, `Expires` in Unix seconds; the caller refuses it once passed.
    pub fn expires(&self) -> Option<i64> {
        self.expires
    }
    /// The STS security token, if the request carries one; the caller validates it.
    pub fn security_token(&self) -> Option<&SecretString> {
        self.security_token.as_ref().map(|(t, _)| t)
    }
    /// Where the security token came from.
    pub fn security_token_source(&self) -> Option<TokenSource> {
        self.security_token.as_ref().map(|(_, s)| *s)
    }
    /// The sub-resource whitelist the signature matched with.
    pub fn subresources(&self) -> SubresourceSet {
        self.subresources
    }
}

/// Every security token the request carries; they must agree.
fn security_token(
    req: &RequestParts<'_>,
    params: &[(String, String)],
) -> Result<Option<(SecretString, TokenSource)>, SignError> {
    let candidates = [
        (
            req.single_header("x-oss-security-token")?,
            TokenSource::SignedHeader,
        ),
        (unique_param(params, "security-token")?, TokenSource::Query),
        (
            req.single_header("security-token")?,
            TokenSource::UnsignedHeader,
        ),
    ];
    let mut found: Option<(&str, TokenSource)> = None;
    for (value, source) in candidates {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        match found {
            None => found = Some((value, source)),
            Some((seen, _)) if ct_eq(seen.as_bytes(), value.as_bytes()) => {}
            Some(_) => return Err(SignError::ConflictingSecurityTokens),
        }
    }
    Ok(found.map(|(v, s)| (SecretString::new(v.to_owned()), s)))
}

/// Tries [`SubresourceSet::All`], then each client's own set when the query has a parameter on
/// which they differ. Returns the matching set, or the mismatch error with the `All` string.
fn check_signature(
    secret: &SecretString,
    given_b64: &str,
    params: &[(String, String)],
    build_for: impl Fn(SubresourceSet) -> Result<String, SignError>,
) -> Result<SubresourceSet, SignError> {
    let given = BASE64
        .decode(given_b64)
        .ok()
        .filter(|g| g.len() == 20)
        .ok_or(SignError::MalformedSignature("base64"))?;
    let secret = secret.expose_secret();
    let matches = |sts: &str| mac(secret, sts).is_some_and(|m| ct_eq(&m, &given));

    let all = build_for(SubresourceSet::All)?;
    if matches(&all) {
        return Ok(SubresourceSet::All);
    }
    for set in [SubresourceSet::Oss2, SubresourceSet::OssV2] {
        if params
            .iter()
            .any(|(k, _)| SubresourceSet::All.contains(k) && !set.contains(k))
            && matches(&build_for(set)?)
        {
            return Ok(set);
        }
    }
    Err(SignError::SignatureMismatch {
        string_to_sign: all,
        canonical_request: None,
    })
}

/// Verifies a header-signed V1 request for `resource` (as the server's router resolved it).
///
/// Checks limits, that the date line (`x-oss-date` or `date`) is an HTTP date, that the security
/// tokens agree, then the signature (constant-time). On mismatch the error carries the server's
/// string to sign. The caller checks the date's skew and the token.
pub fn verify(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    auth: &OssV1Authorization,
    secret: &SecretString,
) -> Result<OssV1Verified, SignError> {
    req.check_limits()?;
    resource.check()?;
    let params = form_decode(req.raw_query)?;
    let date_line = date_line(req)?;
    let date = parse_http_date(date_line.trim())?;
    let security_token = security_token(req, &params)?;
    let subresources = check_signature(secret, auth.signature_b64(), &params, |set| {
        build(req, resource, date_line, &params, set)
    })?;
    Ok(OssV1Verified {
        access_key_id: auth.access_key_id().to_owned(),
        date: Some(date),
        expires: None,
        security_token,
        subresources,
    })
}

/// Verifies a V1 presigned URL ([`parse_presigned`]) for `resource`. The caller checks
/// [`OssV1Verified::expires`] against its clock and validates the token.
pub fn verify_presigned(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    presigned: &OssV1Presigned,
    secret: &SecretString,
) -> Result<OssV1Verified, SignError> {
    req.check_limits()?;
    resource.check()?;
    let params = form_decode(req.raw_query)?;
    if unique_param(&params, "Expires")? != Some(presigned.expires_raw.as_str()) {
        return Err(SignError::InvalidParameter("Expires"));
    }
    let security_token = security_token(req, &params)?;
    let subresources = check_signature(secret, presigned.signature_b64(), &params, |set| {
        build(req, resource, &presigned.expires_raw, &params, set)
    })?;
    Ok(OssV1Verified {
        access_key_id: presigned.access_key_id().to_owned(),
        date: None,
        expires: Some(presigned.expires),
        security_token,
        subresources,
    })
}

/// Client side: the `Authorization` value (`OSS <AK>:<signature>`) for `req` and `resource`.
///
/// The caller sets `date` ([`crate::format_http_date`]), any `content-md5` / `content-type`,
/// the `x-oss-*` headers and, with STS credentials, `x-oss-security-token`; `raw_query` carries
/// the sub-resources, encoded with [`crate::percent_encode`].
pub fn sign_request(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    access_key_id: &str,
    secret: &SecretString,
) -> Result<String, SignError> {
    if !valid_access_key_id(access_key_id) {
        return Err(SignError::MalformedAuthorization("invalid access key id"));
    }
    let sts = string_to_sign(req, resource, SubresourceSet::All)?;
    parse_http_date(date_line(req)?.trim())?;
    Ok(format!(
        "OSS {access_key_id}:{}",
        sign(secret.expose_secret(), &sts)
    ))
}

/// Client side: a presigned URL's query for `req` and `resource`, valid until `expires` (Unix
/// seconds): `raw_query`, then `security-token` (when given), `OSSAccessKeyId`, `Expires` and
/// `Signature`, all encoded. Headers the client will send (`content-type`, `x-oss-*`) are signed
/// as in [`sign_request`].
pub fn presign(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    access_key_id: &str,
    secret: &SecretString,
    expires: i64,
    security_token: Option<&SecretString>,
) -> Result<String, SignError> {
    if !valid_access_key_id(access_key_id) {
        return Err(SignError::MalformedAuthorization("invalid access key id"));
    }
    if expires < 0 {
        return Err(SignError::InvalidParameter("Expires"));
    }
    req.check_limits()?;
    let existing = form_decode(req.raw_query)?;
    for name in ["OSSAccessKeyId", "Expires", "Signature", "security-token"] {
        if existing.iter().any(|(k, _)| k == name) {
            return Err(SignError::DuplicateParameter(name));
        }
    }
    let mut query = req.raw_query.to_owned();
    let mut append = |k: &str, v: &str| {
        if !query.is_empty() {
            query.push('&');
        }
        percent_encode_into(&mut query, k, false);
        query.push('=');
        percent_encode_into(&mut query, v, false);
    };
    if let Some(token) = security_token {
        append("security-token", token.expose_secret());
    }
    append("OSSAccessKeyId", access_key_id);
    append("Expires", &expires.to_string());
    let signed = RequestParts {
        raw_query: &query,
        ..*req
    };
    let sts = presigned_string_to_sign(&signed, resource, SubresourceSet::All)?;
    let signature = sign(secret.expose_secret(), &sts);
    query.push_str("&Signature=");
    percent_encode_into(&mut query, &signature, false);
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const DATE: &str = "Sat, 28 Nov 2026 05:14:07 GMT";

    #[test]
    fn whitelists_are_sorted_for_binary_search() {
        for list in [SUBRESOURCES_OSS2, SUBRESOURCES_OSS_V2] {
            assert!(list.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(SubresourceSet::All.contains("cloudboxes"));
        assert!(!SubresourceSet::Oss2.contains("cloudboxes"));
        assert!(!SubresourceSet::OssV2.contains("x-oss-process"));
        assert!(!SubresourceSet::All.contains("prefix"));
    }

    #[test]
    fn string_to_sign_layout() {
        let headers = h(&[
            ("date", DATE),
            ("Content-Type", "text/plain"),
            ("x-oss-meta-B", "2"),
            ("x-oss-meta-a", "1"),
            ("range", "bytes=0-1"),
        ]);
        let req = RequestParts {
            method: "PUT",
            raw_path: "/b/k",
            raw_query: "uploadId=u%2A&partNumber=1&prefix=x&uploads",
            headers: &headers,
        };
        assert_eq!(
            string_to_sign(
                &req,
                &OssResource::object("b", "a b/ü"),
                SubresourceSet::All
            )
            .unwrap(),
            format!(
                "PUT\n\ntext/plain\n{DATE}\nx-oss-meta-a:1\nx-oss-meta-b:2\n\
                 /b/a b/ü?partNumber=1&uploadId=u*&uploads"
            )
        );
        assert!(
            string_to_sign(&req, &OssResource::SERVICE, SubresourceSet::All)
                .unwrap()
                .ends_with("\n/?partNumber=1&uploadId=u*&uploads")
        );
        assert!(
            string_to_sign(&req, &OssResource::bucket("b"), SubresourceSet::All)
                .unwrap()
                .ends_with("\n/b/?partNumber=1&uploadId=u*&uploads")
        );
        assert_eq!(
            string_to_sign(&req, &OssResource::object("", "k"), SubresourceSet::All),
            Err(SignError::InvalidParameter("key"))
        );
    }

    #[test]
    fn x_oss_date_takes_the_date_line() {
        let headers = h(&[
            ("date", DATE),
            ("x-oss-date", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/",
            raw_query: "",
            headers: &headers,
        };
        let secret = SecretString::from("s");
        let sts = string_to_sign(&req, &OssResource::SERVICE, SubresourceSet::All).unwrap();
        assert!(sts.starts_with("GET\n\n\nSun, 06 Nov 1994 08:49:37 GMT\n"));
        let auth =
            parse_authorization(&sign_request(&req, &OssResource::SERVICE, "AK", &secret).unwrap())
                .unwrap();
        let v = verify(&req, &OssResource::SERVICE, &auth, &secret).unwrap();
        assert_eq!(v.date(), Some(784_111_777));
    }

    #[test]
    fn parse_authorization_shapes() {
        let sig = "IYFjK+ptuaBhN1McrTkTEL/pD4s=";
        let a = parse_authorization(&format!(" OSS AK1:{sig} ")).unwrap();
        assert_eq!(a.access_key_id(), "AK1");
        assert_eq!(a.signature_b64(), sig);
        for bad in [
            String::new(),
            "OSS".to_owned(),
            format!("OSS :{sig}"),
            "OSS AK:".to_owned(),
            format!("oss AK:{sig}"),
            format!("OSS4-HMAC-SHA256 AK:{sig}"),
            format!("OSS A K:{sig}"),
            "OSS AK:AAAA".to_owned(),
            "OSS AK:not base64 at all, not at all".to_owned(),
        ] {
            assert!(parse_authorization(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sub_resource_sets_fall_back_per_client() {
        let secret = SecretString::from("s");
        let headers = h(&[("date", DATE)]);
        // oss2 signs x-oss-process, oss-v2 does not; rtc the other way round.
        for (query, set) in [
            ("x-oss-process=image%2Fresize", SubresourceSet::OssV2),
            ("rtc", SubresourceSet::Oss2),
            ("x-oss-process=a&rtc", SubresourceSet::Oss2),
            ("acl", SubresourceSet::All),
        ] {
            let req = RequestParts {
                method: "GET",
                raw_path: "/b/k",
                raw_query: query,
                headers: &headers,
            };
            let res = OssResource::object("b", "k");
            let sts = string_to_sign(&req, &res, set).unwrap();
            let auth = parse_authorization(&format!("OSS AK:{}", sign("s", &sts))).unwrap();
            let v = verify(&req, &res, &auth, &secret).unwrap();
            assert_eq!(v.subresources(), set, "{query}");
        }
    }

    #[test]
    fn security_tokens_must_agree() {
        let secret = SecretString::from("s");
        let res = OssResource::object("b", "k");
        let headers = h(&[("date", DATE), ("security-token", "T1")]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/b/k",
            raw_query: "",
            headers: &headers,
        };
        let auth = parse_authorization(&sign_request(&req, &res, "AK", &secret).unwrap()).unwrap();
        let v = verify(&req, &res, &auth, &secret).unwrap();
        assert_eq!(v.security_token().unwrap().expose_secret(), "T1");
        assert_eq!(v.security_token_source(), Some(TokenSource::UnsignedHeader));

        let headers = h(&[
            ("date", DATE),
            ("security-token", "T1"),
            ("x-oss-security-token", "T2"),
        ]);
        let req = RequestParts {
            headers: &headers,
            ..req
        };
        let auth = parse_authorization(&sign_request(&req, &res, "AK", &secret).unwrap()).unwrap();
        assert_eq!(
            verify(&req, &res, &auth, &secret).unwrap_err(),
            SignError::ConflictingSecurityTokens
        );
    }

    #[test]
    fn presign_then_verify() {
        let secret = SecretString::from("s3cret");
        let token = SecretString::from("tok+/=");
        let res = OssResource::object("b", "dir/a b+c");
        let req = RequestParts {
            method: "GET",
            raw_path: "/b/dir/a%20b%2Bc",
            raw_query: "response-content-type=text%2Fplain",
            headers: &[],
        };
        let query = presign(&req, &res, "AK", &secret, 1_800_000_000, Some(&token)).unwrap();
        assert!(query.starts_with("response-content-type=text%2Fplain&security-token=tok%2B%2F%3D&OSSAccessKeyId=AK&Expires=1800000000&Signature="));
        let signed = RequestParts {
            raw_query: &query,
            ..req
        };
        let p = parse_presigned(&query).unwrap().unwrap();
        assert_eq!(p.expires(), 1_800_000_000);
        let v = verify_presigned(&signed, &res, &p, &secret).unwrap();
        assert_eq!(v.access_key_id(), "AK");
        assert_eq!(v.expires(), Some(1_800_000_000));
        assert_eq!(v.date(), None);
        assert_eq!(v.security_token_source(), Some(TokenSource::Query));
        assert!(
            verify_presigned(&signed, &OssResource::object("b", "dir/a b c"), &p, &secret).is_err()
        );
        let later = query.replace("Expires=1800000000", "Expires=1800000001");
        let tampered = RequestParts {
            raw_query: &later,
            ..req
        };
        let p2 = parse_presigned(&later).unwrap().unwrap();
        assert!(verify_presigned(&tampered, &res, &p2, &secret).is_err());
        // The parsed value must belong to this query.
        assert_eq!(
            verify_presigned(&tampered, &res, &p, &secret).unwrap_err(),
            SignError::InvalidParameter("Expires")
        );
    }

    #[test]
    fn parse_presigned_shapes() {
        assert_eq!(parse_presigned("acl&prefix=a").unwrap(), None);
        let sig = "IYFjK%2BptuaBhN1McrTkTEL%2FpD4s%3D";
        assert!(
            parse_presigned(&format!("OSSAccessKeyId=a&Expires=1&Signature={sig}"))
                .unwrap()
                .is_some()
        );
        for bad in [
            "OSSAccessKeyId=a".to_owned(),
            format!("OSSAccessKeyId=a&Expires=x&Signature={sig}"),
            format!("OSSAccessKeyId=a&Expires=-1&Signature={sig}"),
            format!("OSSAccessKeyId=a&Expires=1&Expires=2&Signature={sig}"),
            format!("OSSAccessKeyId=&Expires=1&Signature={sig}"),
            "OSSAccessKeyId=a&Expires=1&Signature=AAAA".to_owned(),
        ] {
            assert!(parse_presigned(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn duplicate_sub_resources_and_headers_are_refused() {
        let headers = h(&[("date", DATE)]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/b/k",
            raw_query: "uploadId=1&uploadId=2",
            headers: &headers,
        };
        let res = OssResource::object("b", "k");
        assert_eq!(
            string_to_sign(&req, &res, SubresourceSet::All),
            Err(SignError::DuplicateParameter("uploadId"))
        );
        let headers = h(&[("date", DATE), ("x-oss-a", "1"), ("X-Oss-A", "2")]);
        let req = RequestParts {
            raw_query: "",
            headers: &headers,
            ..req
        };
        assert_eq!(
            string_to_sign(&req, &res, SubresourceSet::All),
            Err(SignError::DuplicateHeader("x-oss-a".to_owned()))
        );
    }
}
