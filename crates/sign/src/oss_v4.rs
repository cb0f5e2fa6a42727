//! OSS signature V4, `OSS4-HMAC-SHA256`, in a header or in a presigned URL.
//!
//! ```text
//! Authorization    = OSS4-HMAC-SHA256 Credential=<AK>/<yyyymmdd>/<region>/oss/aliyun_v4_request,
//!                    [AdditionalHeaders=<h1;h2>,] Signature=<hex>      (fields in any order)
//! CanonicalRequest = VERB \n uriencode("/" bucket "/" key, '/' kept) \n CanonicalQuery \n
//!                    CanonicalHeaders \n AdditionalHeaders \n x-oss-content-sha256
//! StringToSign     = "OSS4-HMAC-SHA256" \n x-oss-date \n <yyyymmdd>/<region>/oss/aliyun_v4_request \n
//!                    hex(sha256(CanonicalRequest))
//! SigningKey       = HMAC-SHA256 chain: "aliyun_v4" + secret → yyyymmdd → region → "oss" → "aliyun_v4_request"
//! Signature        = hex(HMAC-SHA256(SigningKey, StringToSign))
//! ```
//!
//! What oss2 2.19.1 (`auth.py`, `ProviderAuthV4`) and alibabacloud-oss-v2 1.4.1 (`signer/v4.py`)
//! sign, which this module follows:
//! - URI: `/` for the service, else `/bucket/` + the *decoded* key, RFC 3986-encoded with `/` kept.
//! - Query: *every* parameter (presigned: but `x-oss-signature`), key and value RFC 3986-encoded
//!   (upper-case hex), sorted by encoded key then value, `k=v`, or bare `k` when the value is empty.
//! - Headers: every `x-oss-*`, `content-type` and `content-md5` header, plus those listed in
//!   `AdditionalHeaders` that the request has, lower-cased, sorted, `k:v\n`, values as sent.
//!   A listed additional header that is absent is skipped (oss2 lists what it was told to).
//! - The additional-headers line is the list sorted and `;`-joined (oss2 sends it unsorted).
//! - The payload line is `x-oss-content-sha256` as sent (the clients send `UNSIGNED-PAYLOAD`),
//!   `UNSIGNED-PAYLOAD` when absent. A hex hash there is handed back to the caller to check
//!   against the body it streams.
//! - oss2 writes `Credential=…, Signature=…[, AdditionalHeaders=…]`, oss-v2
//!   `Credential=…,AdditionalHeaders=…,Signature=…`: fields are split on `,` and trimmed.
//! - Presigned: `x-oss-signature-version=OSS4-HMAC-SHA256`, `x-oss-credential`, `x-oss-date`,
//!   `x-oss-expires` (seconds after `x-oss-date`), optional `x-oss-security-token` and
//!   `x-oss-additional-headers`, then `x-oss-signature`; the payload line is `UNSIGNED-PAYLOAD`.

use hmac::{Hmac, Mac};
use keyless_secret::{ct_eq, SecretString};
use sha2::{Digest, Sha256};

use crate::encode::{
    form_decode, hex_decode, hex_lower, percent_encode_into, percent_encode_path_into, unique_param,
};
use crate::error::SignError;
use crate::oss_v1::oss_headers;
use crate::time::{format_iso8601_basic, parse_iso8601_basic, parse_scope_date};
use crate::{limits, OssResource, RequestParts};

/// The algorithm name.
pub const ALGORITHM: &str = "OSS4-HMAC-SHA256";
/// The payload hash the clients send.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The product in the credential scope.
pub const PRODUCT: &str = "oss";
/// The scope terminator.
pub const TERMINATOR: &str = "aliyun_v4_request";

/// The parts of `Credential` (`<AK>/<yyyymmdd>/<region>/oss/aliyun_v4_request`) and the
/// additional headers, common to the header and presigned forms.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Credential {
    access_key_id: String,
    date: String,
    region: String,
}

fn parse_credential(value: &str) -> Result<Credential, SignError> {
    use SignError::MalformedAuthorization as Malformed;

    let mut parts = value.rsplitn(5, '/');
    let terminator = parts.next().unwrap_or("");
    let product = parts.next().unwrap_or("");
    let region = parts.next().unwrap_or("");
    let date = parts.next().unwrap_or("");
    let ak = parts.next().unwrap_or("");
    if terminator != TERMINATOR {
        return Err(Malformed(
            "credential scope must end in `aliyun_v4_request`",
        ));
    }
    if product != PRODUCT {
        return Err(Malformed("credential scope product must be `oss`"));
    }
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Malformed("invalid region in credential scope"));
    }
    if parse_scope_date(date).is_none() {
        return Err(Malformed("invalid date in credential scope"));
    }
    if ak.is_empty()
        || ak.len() > limits::MAX_HEADER_NAME_BYTES
        || ak
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == '/')
    {
        return Err(Malformed("invalid access key id"));
    }
    Ok(Credential {
        access_key_id: ak.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
    })
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn parse_additional_headers(value: &str) -> Result<Vec<String>, SignError> {
    use SignError::MalformedAuthorization as Malformed;

    let mut out: Vec<String> = Vec::new();
    if value.is_empty() {
        return Ok(out);
    }
    for name in value.split(';') {
        if !is_header_name(name) {
            return Err(Malformed("invalid header name in `AdditionalHeaders`"));
        }
        limits::check_count(
            "additional headers",
            out.len() + 1,
            limits::MAX_SIGNED_HEADERS,
        )?;
        let lower = name.to_ascii_lowercase();
        if out.contains(&lower) {
            return Err(Malformed("a header is listed twice in `AdditionalHeaders`"));
        }
        out.push(lower);
    }
    out.sort_unstable();
    Ok(out)
}

fn check_signature_hex(sig: &str) -> Result<(), SignError> {
    if sig.len() != 64 || hex_decode(sig).is_none() {
        return Err(SignError::MalformedSignature("hex"));
    }
    Ok(())
}

/// A parsed `Authorization: OSS4-HMAC-SHA256 …` header. Parsing it proves nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssV4Authorization {
    credential: Credential,
    additional_headers: Vec<String>,
    signature_hex: String,
}

impl OssV4Authorization {
    /// The access key whose secret verifies the request.
    pub fn access_key_id(&self) -> &str {
        &self.credential.access_key_id
    }
    /// The scope date, `yyyymmdd`.
    pub fn scope_date(&self) -> &str {
        &self.credential.date
    }
    /// The scope region, e.g. `cn-hangzhou`; the caller checks it is its own.
    pub fn region(&self) -> &str {
        &self.credential.region
    }
    /// `AdditionalHeaders`, lower-cased and sorted.
    pub fn additional_headers(&self) -> &[String] {
        &self.additional_headers
    }
    /// `Signature`, 64 hex digits.
    pub fn signature_hex(&self) -> &str {
        &self.signature_hex
    }
}

/// Parses the `Authorization` value, in either client's layout.
pub fn parse_authorization(value: &str) -> Result<OssV4Authorization, SignError> {
    use SignError::MalformedAuthorization as Malformed;

    limits::check_len(
        "authorization header",
        value.len(),
        limits::MAX_AUTHORIZATION_BYTES,
    )?;
    let value = value.trim();
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or(Malformed("expected `OSS4-HMAC-SHA256 Credential=…`"))?;
    let (mut credential, mut additional, mut signature) = (None, None, None);
    for field in rest.split(',') {
        let (key, val) = field.trim().split_once('=').ok_or(Malformed(
            "expected `Credential`, `Signature` and optionally `AdditionalHeaders`",
        ))?;
        let slot = match key {
            "Credential" => &mut credential,
            "AdditionalHeaders" => &mut additional,
            "Signature" => &mut signature,
            _ => return Err(Malformed("unknown field")),
        };
        if slot.replace(val).is_some() {
            return Err(Malformed("a field is given more than once"));
        }
    }
    let credential = parse_credential(credential.ok_or(Malformed("missing `Credential`"))?)?;
    let additional_headers = parse_additional_headers(additional.unwrap_or(""))?;
    let signature = signature.ok_or(Malformed("missing `Signature`"))?;
    check_signature_hex(signature)?;
    Ok(OssV4Authorization {
        credential,
        additional_headers,
        signature_hex: signature.to_owned(),
    })
}

fn canonical_uri(out: &mut String, resource: &OssResource<'_>) {
    if resource.bucket.is_empty() {
        out.push('/');
        return;
    }
    let mut uri = String::with_capacity(resource.bucket.len() + resource.key.len() + 2);
    uri.push('/');
    uri.push_str(resource.bucket);
    uri.push('/');
    uri.push_str(resource.key);
    percent_encode_path_into(out, &uri);
}

fn canonical_query(params: &[(String, String)], skip: Option<&str>) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| Some(k.as_str()) != skip)
        .map(|(k, v)| {
            let mut ek = String::with_capacity(k.len());
            percent_encode_into(&mut ek, k, false);
            let mut ev = String::with_capacity(v.len());
            percent_encode_into(&mut ev, v, false);
            (ek, ev)
        })
        .collect();
    encoded.sort_unstable();
    let mut out = String::new();
    for (i, (k, v)) in encoded.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&k);
        if !v.is_empty() {
            out.push('=');
            out.push_str(&v);
        }
    }
    out
}

fn build(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    params: &[(String, String)],
    skip_param: Option<&str>,
    additional_headers: &[String],
    payload: &str,
) -> Result<String, SignError> {
    let mut out = String::new();
    out.push_str(req.method);
    out.push('\n');
    canonical_uri(&mut out, resource);
    out.push('\n');
    out.push_str(&canonical_query(params, skip_param));
    out.push('\n');
    let headers = oss_headers(req, |name| {
        name == "content-type"
            || name == "content-md5"
            || additional_headers.iter().any(|a| a == name)
    })?;
    for (name, value) in headers {
        out.push_str(&name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push('\n');
    let mut sorted: Vec<&str> = additional_headers.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    out.push_str(&sorted.join(";"));
    out.push('\n');
    out.push_str(payload);
    Ok(out)
}

/// The canonical request of a header-signed request for `resource`, with the given additional
/// headers (lower-case).
pub fn canonical_request(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    additional_headers: &[String],
) -> Result<String, SignError> {
    canonical(req, resource, additional_headers, None)
}

/// Both canonical forms: every query parameter but `excluded`.
fn canonical(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    additional_headers: &[String],
    excluded: Option<&str>,
) -> Result<String, SignError> {
    req.check_limits()?;
    resource.check()?;
    limits::check_count(
        "additional headers",
        additional_headers.len(),
        limits::MAX_SIGNED_HEADERS,
    )?;
    let params = form_decode(req.raw_query)?;
    let payload = req
        .single_header("x-oss-content-sha256")?
        .unwrap_or(UNSIGNED_PAYLOAD);
    build(
        req,
        resource,
        &params,
        excluded,
        additional_headers,
        payload,
    )
}

/// The canonical request of a presigned request: every parameter but `x-oss-signature`, payload
/// `UNSIGNED-PAYLOAD` unless the request has an `x-oss-content-sha256` header.
pub fn presigned_canonical_request(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    additional_headers: &[String],
) -> Result<String, SignError> {
    canonical(req, resource, additional_headers, Some("x-oss-signature"))
}

/// `"OSS4-HMAC-SHA256\n" + x_oss_date + "\n" + scope + "\n" + hex(sha256(canonical_request))`,
/// with `scope = <yyyymmdd>/<region>/oss/aliyun_v4_request` and `yyyymmdd` the first eight
/// characters of `x_oss_date`.
pub fn string_to_sign(x_oss_date: &str, region: &str, canonical_request: &str) -> String {
    let date = x_oss_date.get(..8).unwrap_or(x_oss_date);
    format!(
        "{ALGORITHM}\n{x_oss_date}\n{date}/{region}/{PRODUCT}/{TERMINATOR}\n{}",
        hex_lower(&Sha256::digest(canonical_request.as_bytes()))
    )
}

fn hmac256(key: &[u8], data: &[u8]) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(data);
    Some(mac.finalize().into_bytes().into())
}

/// The derived signing key. `None` only if HMAC refused a key, which it never does.
fn signing_key(secret: &str, date: &str, region: &str) -> Option<SigningKey> {
    let mut k_secret = String::with_capacity(secret.len() + 9);
    k_secret.push_str("aliyun_v4");
    k_secret.push_str(secret);
    let k_secret = SecretString::new(k_secret);
    let k_date = hmac256(k_secret.expose_secret().as_bytes(), date.as_bytes())?;
    let k_region = hmac256(&k_date, region.as_bytes())?;
    let k_product = hmac256(&k_region, PRODUCT.as_bytes())?;
    Some(SigningKey(hmac256(&k_product, TERMINATOR.as_bytes())?))
}

/// A derived key; not printable.
struct SigningKey([u8; 32]);

impl SigningKey {
    fn mac(&self, string_to_sign: &str) -> Option<[u8; 32]> {
        hmac256(&self.0, string_to_sign.as_bytes())
    }
}

/// `hex(HMAC-SHA256(SigningKey(secret, date, region), string_to_sign))`; `date` is `yyyymmdd`.
pub fn sign(secret: &str, date: &str, region: &str, string_to_sign: &str) -> String {
    signing_key(secret, date, region)
        .and_then(|k| k.mac(string_to_sign))
        .map(|m| hex_lower(&m))
        .unwrap_or_default()
}

/// The parameters of a V4 presigned URL. Parsing proves nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssV4Presigned {
    credential: Credential,
    additional_headers: Vec<String>,
    signature_hex: String,
    x_oss_date: String,
    date: i64,
    expires_in: i64,
}

impl OssV4Presigned {
    /// `x-oss-credential`'s access key.
    pub fn access_key_id(&self) -> &str {
        &self.credential.access_key_id
    }
    /// The scope region.
    pub fn region(&self) -> &str {
        &self.credential.region
    }
    /// `x-oss-date` in Unix seconds.
    pub fn date(&self) -> i64 {
        self.date
    }
    /// `x-oss-date + x-oss-expires`, Unix seconds.
    pub fn expires(&self) -> i64 {
        self.date.saturating_add(self.expires_in)
    }
    /// `x-oss-additional-headers`, lower-cased and sorted.
    pub fn additional_headers(&self) -> &[String] {
        &self.additional_headers
    }
    /// `x-oss-signature`, hex.
    pub fn signature_hex(&self) -> &str {
        &self.signature_hex
    }
}

/// Parses the presigned parameters. `Ok(None)` when the query has no `x-oss-signature-version`
/// (not a V4 presigned request).
pub fn parse_presigned(raw_query: &str) -> Result<Option<OssV4Presigned>, SignError> {
    let params = form_decode(raw_query)?;
    let Some(version) = unique_param(&params, "x-oss-signature-version")? else {
        return Ok(None);
    };
    if version != ALGORITHM {
        return Err(SignError::InvalidParameter("x-oss-signature-version"));
    }
    let required = |name: &'static str| -> Result<&str, SignError> {
        unique_param(&params, name)?
            .filter(|v| !v.is_empty())
            .ok_or(SignError::MissingParameter(name))
    };
    let credential = parse_credential(required("x-oss-credential")?)?;
    let x_oss_date = required("x-oss-date")?;
    let date = parse_iso8601_basic(x_oss_date)?;
    if x_oss_date.get(..8) != Some(credential.date.as_str()) {
        return Err(SignError::MalformedAuthorization(
            "credential date does not match `x-oss-date`",
        ));
    }
    let expires = required("x-oss-expires")?;
    if expires.len() > 9 || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignError::InvalidParameter("x-oss-expires"));
    }
    let expires_in: i64 = expires
        .parse()
        .map_err(|_| SignError::InvalidParameter("x-oss-expires"))?;
    let additional_headers =
        parse_additional_headers(unique_param(&params, "x-oss-additional-headers")?.unwrap_or(""))?;
    let signature = required("x-oss-signature")?;
    check_signature_hex(signature)?;
    Ok(Some(OssV4Presigned {
        credential,
        additional_headers,
        signature_hex: signature.to_owned(),
        x_oss_date: x_oss_date.to_owned(),
        date,
        expires_in,
    }))
}

/// Proof that an OSS V4 request was signed with the secret of [`OssV4Verified::access_key_id`]
/// for the given resource. Only [`verify`] and [`verify_presigned`] make one.
#[derive(Debug, Clone)]
pub struct OssV4Verified {
    access_key_id: String,
    region: String,
    date: i64,
    expires: Option<i64>,
    security_token: Option<SecretString>,
    content_sha256: Option<[u8; 32]>,
    additional_headers: Vec<String>,
}

impl OssV4Verified {
    /// The verified access key.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The scope region; the caller checks it is its own.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// `x-oss-date` in Unix seconds; the caller checks skew (header form).
    pub fn date(&self) -> i64 {
        self.date
    }
    /// For a presigned URL, `x-oss-date + x-oss-expires`; the caller refuses it once passed.
    pub fn expires(&self) -> Option<i64> {
        self.expires
    }
    /// `x-oss-security-token` (header, or query when presigned); the caller validates it.
    pub fn security_token(&self) -> Option<&SecretString> {
        self.security_token.as_ref()
    }
    /// When the client signed the payload's SHA-256 instead of `UNSIGNED-PAYLOAD`: the caller
    /// must compare it with the body it receives and refuse the request on a difference.
    pub fn content_sha256(&self) -> Option<&[u8; 32]> {
        self.content_sha256.as_ref()
    }
    /// The additional headers the signature covers.
    pub fn additional_headers(&self) -> &[String] {
        &self.additional_headers
    }
}

fn payload_hash(req: &RequestParts<'_>) -> Result<Option<[u8; 32]>, SignError> {
    match req.single_header("x-oss-content-sha256")? {
        None => Ok(None),
        Some(UNSIGNED_PAYLOAD) => Ok(None),
        Some(hex) => hex_decode(hex)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(Some)
            .ok_or_else(|| SignError::InvalidHeader("x-oss-content-sha256".to_owned())),
    }
}

fn check_mac(
    secret: &SecretString,
    credential: &Credential,
    x_oss_date: &str,
    canonical: String,
    signature_hex: &str,
) -> Result<(), SignError> {
    let given = hex_decode(signature_hex)
        .filter(|g| g.len() == 32)
        .ok_or(SignError::MalformedSignature("hex"))?;
    let sts = string_to_sign(x_oss_date, &credential.region, &canonical);
    let ok = signing_key(secret.expose_secret(), &credential.date, &credential.region)
        .and_then(|k| k.mac(&sts))
        .is_some_and(|m| ct_eq(&m, &given));
    if !ok {
        return Err(SignError::SignatureMismatch {
            string_to_sign: sts,
            canonical_request: Some(canonical),
        });
    }
    Ok(())
}

/// Verifies a header-signed V4 request for `resource`.
///
/// Checks limits; `x-oss-date` parses and its day is the credential's; `x-oss-content-sha256`, if
/// present, is `UNSIGNED-PAYLOAD` or a SHA-256 in hex; then the signature (constant-time). On
/// mismatch the error carries the string to sign and canonical request.
pub fn verify(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    auth: &OssV4Authorization,
    secret: &SecretString,
) -> Result<OssV4Verified, SignError> {
    req.check_limits()?;
    resource.check()?;
    let x_oss_date = req
        .single_header("x-oss-date")?
        .ok_or_else(|| SignError::MissingHeader("x-oss-date".to_owned()))?;
    let date = parse_iso8601_basic(x_oss_date)?;
    if x_oss_date.get(..8) != Some(auth.scope_date()) {
        return Err(SignError::MalformedAuthorization(
            "credential date does not match `x-oss-date`",
        ));
    }
    let content_sha256 = payload_hash(req)?;
    let security_token = req
        .single_header("x-oss-security-token")?
        .map(|t| SecretString::new(t.trim().to_owned()));
    let canonical = canonical_request(req, resource, auth.additional_headers())?;
    check_mac(
        secret,
        &auth.credential,
        x_oss_date,
        canonical,
        auth.signature_hex(),
    )?;
    Ok(OssV4Verified {
        access_key_id: auth.access_key_id().to_owned(),
        region: auth.region().to_owned(),
        date,
        expires: None,
        security_token,
        content_sha256,
        additional_headers: auth.additional_headers().to_vec(),
    })
}

/// Verifies a V4 presigned URL ([`parse_presigned`]) for `resource`. The caller checks
/// [`OssV4Verified::expires`] and the region.
pub fn verify_presigned(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    presigned: &OssV4Presigned,
    secret: &SecretString,
) -> Result<OssV4Verified, SignError> {
    req.check_limits()?;
    resource.check()?;
    let params = form_decode(req.raw_query)?;
    if unique_param(&params, "x-oss-date")? != Some(presigned.x_oss_date.as_str()) {
        return Err(SignError::InvalidParameter("x-oss-date"));
    }
    let content_sha256 = payload_hash(req)?;
    let security_token = unique_param(&params, "x-oss-security-token")?
        .filter(|t| !t.is_empty())
        .map(|t| SecretString::new(t.to_owned()));
    let canonical = presigned_canonical_request(req, resource, presigned.additional_headers())?;
    check_mac(
        secret,
        &presigned.credential,
        &presigned.x_oss_date,
        canonical,
        presigned.signature_hex(),
    )?;
    Ok(OssV4Verified {
        access_key_id: presigned.access_key_id().to_owned(),
        region: presigned.region().to_owned(),
        date: presigned.date,
        expires: Some(presigned.expires()),
        security_token,
        content_sha256,
        additional_headers: presigned.additional_headers().to_vec(),
    })
}

/// Lower-cases, drops headers signed anyway (`x-oss-*`, `content-type`, `content-md5`), sorts and
/// deduplicates the additional headers a client asks for.
fn client_additional_headers(additional_headers: &[&str]) -> Result<Vec<String>, SignError> {
    let mut out: Vec<String> = Vec::new();
    for name in additional_headers {
        let lower = name.to_ascii_lowercase();
        if !is_header_name(&lower) {
            return Err(SignError::MalformedAuthorization("invalid header name"));
        }
        if lower.starts_with("x-oss-") || lower == "content-type" || lower == "content-md5" {
            continue;
        }
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    limits::check_count("additional headers", out.len(), limits::MAX_SIGNED_HEADERS)?;
    out.sort_unstable();
    Ok(out)
}

fn check_client_inputs(access_key_id: &str, region: &str) -> Result<(), SignError> {
    let cred = format!("{access_key_id}/20000101/{region}/{PRODUCT}/{TERMINATOR}");
    parse_credential(&cred).map(|_| ())
}

/// Client side: the `Authorization` value for `req` and `resource`, in oss-v2's layout
/// (`OSS4-HMAC-SHA256 Credential=…,AdditionalHeaders=…,Signature=…`).
///
/// The caller sets `x-oss-date` ([`crate::format_iso8601_basic`]), `x-oss-content-sha256:
/// UNSIGNED-PAYLOAD` and, with STS credentials, `x-oss-security-token`. `additional_headers`
/// names further headers to sign (e.g. `host`); those absent from `req` are dropped.
pub fn sign_request(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    access_key_id: &str,
    secret: &SecretString,
    region: &str,
    additional_headers: &[&str],
) -> Result<String, SignError> {
    check_client_inputs(access_key_id, region)?;
    let x_oss_date = req
        .single_header("x-oss-date")?
        .ok_or_else(|| SignError::MissingHeader("x-oss-date".to_owned()))?;
    parse_iso8601_basic(x_oss_date)?;
    let additional: Vec<String> = client_additional_headers(additional_headers)?
        .into_iter()
        .filter(|name| req.header_values(name).next().is_some())
        .collect();
    let canonical = canonical_request(req, resource, &additional)?;
    let sts = string_to_sign(x_oss_date, region, &canonical);
    let date = x_oss_date.get(..8).unwrap_or_default();
    let signature = sign(secret.expose_secret(), date, region, &sts);
    let mut out =
        format!("{ALGORITHM} Credential={access_key_id}/{date}/{region}/{PRODUCT}/{TERMINATOR}");
    if !additional.is_empty() {
        out.push_str(",AdditionalHeaders=");
        out.push_str(&additional.join(";"));
    }
    out.push_str(",Signature=");
    out.push_str(&signature);
    Ok(out)
}

/// Client side: a V4 presigned URL's query for `req` and `resource`, signed at `now` (Unix
/// seconds) and valid for `expires_in` seconds: `raw_query` then `x-oss-signature-version`,
/// `x-oss-date`, `x-oss-expires`, `x-oss-credential`, `x-oss-security-token` (when given),
/// `x-oss-additional-headers` (when any) and `x-oss-signature`, all encoded.
#[allow(clippy::too_many_arguments)]
pub fn presign(
    req: &RequestParts<'_>,
    resource: &OssResource<'_>,
    access_key_id: &str,
    secret: &SecretString,
    region: &str,
    now: i64,
    expires_in: u32,
    security_token: Option<&SecretString>,
    additional_headers: &[&str],
) -> Result<String, SignError> {
    check_client_inputs(access_key_id, region)?;
    req.check_limits()?;
    let x_oss_date = format_iso8601_basic(now).ok_or(SignError::InvalidParameter("x-oss-date"))?;
    let date = x_oss_date.get(..8).unwrap_or_default().to_owned();
    let existing = form_decode(req.raw_query)?;
    for name in [
        "x-oss-signature-version",
        "x-oss-date",
        "x-oss-expires",
        "x-oss-credential",
        "x-oss-security-token",
        "x-oss-additional-headers",
        "x-oss-signature",
    ] {
        if existing.iter().any(|(k, _)| k == name) {
            return Err(SignError::DuplicateParameter(name));
        }
    }
    let additional: Vec<String> = client_additional_headers(additional_headers)?
        .into_iter()
        .filter(|name| req.header_values(name).next().is_some())
        .collect();
    let mut query = req.raw_query.to_owned();
    let mut append = |k: &str, v: &str| {
        if !query.is_empty() {
            query.push('&');
        }
        percent_encode_into(&mut query, k, false);
        query.push('=');
        percent_encode_into(&mut query, v, false);
    };
    append("x-oss-signature-version", ALGORITHM);
    append("x-oss-date", &x_oss_date);
    append("x-oss-expires", &expires_in.to_string());
    append(
        "x-oss-credential",
        &format!("{access_key_id}/{date}/{region}/{PRODUCT}/{TERMINATOR}"),
    );
    if let Some(token) = security_token {
        append("x-oss-security-token", token.expose_secret());
    }
    if !additional.is_empty() {
        append("x-oss-additional-headers", &additional.join(";"));
    }
    let signed = RequestParts {
        raw_query: &query,
        ..*req
    };
    let canonical = presigned_canonical_request(&signed, resource, &additional)?;
    let sts = string_to_sign(&x_oss_date, region, &canonical);
    let signature = sign(secret.expose_secret(), &date, region, &sts);
    query.push_str("&x-oss-signature=");
    query.push_str(&signature);
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

    const DATE: &str = "20261128T051407Z";

    fn base() -> Vec<(String, String)> {
        h(&[
            ("host", "127.0.0.1:9000"),
            ("x-oss-date", DATE),
            ("x-oss-content-sha256", UNSIGNED_PAYLOAD),
        ])
    }

    #[test]
    fn parses_both_client_layouts() {
        let sig = "ab".repeat(32);
        let oss2 = parse_authorization(&format!(
            "OSS4-HMAC-SHA256 Credential=AK/20261128/cn-hangzhou/oss/aliyun_v4_request, Signature={sig}, AdditionalHeaders=range;host"
        ))
        .unwrap();
        let v2 = parse_authorization(&format!(
            "OSS4-HMAC-SHA256 Credential=AK/20261128/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=host;range,Signature={sig}"
        ))
        .unwrap();
        assert_eq!(oss2, v2);
        assert_eq!(v2.access_key_id(), "AK");
        assert_eq!(v2.scope_date(), "20261128");
        assert_eq!(v2.region(), "cn-hangzhou");
        assert_eq!(v2.additional_headers(), ["host", "range"]);
    }

    #[test]
    fn rejects_malformed_authorization() {
        let sig = "0".repeat(64);
        let good = "AK/20261128/cn-hangzhou/oss/aliyun_v4_request";
        for bad in [
            String::new(),
            "OSS4-HMAC-SHA256".to_owned(),
            format!("OSS4-HMAC-SHA256Credential={good},Signature={sig}"),
            format!("OSS4-HMAC-SHA256 Credential={good}"),
            format!("OSS4-HMAC-SHA256 Signature={sig}"),
            format!("OSS4-HMAC-SHA256 Credential={good},Signature=zz"),
            format!("OSS4-HMAC-SHA256 Credential={good},Signature={sig},X=1"),
            format!("OSS4-HMAC-SHA256 Credential={good},Credential={good},Signature={sig}"),
            format!("OSS4-HMAC-SHA256 Credential=AK/20261128/cn-hangzhou/s3/aliyun_v4_request,Signature={sig}"),
            format!("OSS4-HMAC-SHA256 Credential=AK/20261328/cn-hangzhou/oss/aliyun_v4_request,Signature={sig}"),
            format!("OSS4-HMAC-SHA256 Credential=AK/20261128//oss/aliyun_v4_request,Signature={sig}"),
            format!("OSS4-HMAC-SHA256 Credential=/20261128/r/oss/aliyun_v4_request,Signature={sig}"),
            format!("OSS4-HMAC-SHA256 Credential=20261128/r/oss/aliyun_v4_request,Signature={sig}"),
            format!("OSS4-HMAC-SHA256 Credential={good},AdditionalHeaders=a;;b,Signature={sig}"),
            format!("OSS4-HMAC-SHA256 Credential={good},AdditionalHeaders=a;A,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={good},Signature={sig}"),
        ] {
            assert!(parse_authorization(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn canonical_request_layout() {
        let mut headers = base();
        headers.extend(h(&[
            ("Content-Type", "text/plain"),
            ("x-oss-meta-B", "2"),
            ("range", "bytes=0-1"),
            ("accept", "*/*"),
        ]));
        let req = RequestParts {
            method: "GET",
            raw_path: "/b/x",
            raw_query: "prefix=a+b%2F&uploads&max-keys=10&z=",
            headers: &headers,
        };
        let res = OssResource::object("b", "dir/a b*");
        assert_eq!(
            canonical_request(&req, &res, &["range".to_owned(), "missing".to_owned()]).unwrap(),
            "GET\n/b/dir/a%20b%2A\nmax-keys=10&prefix=a%20b%2F&uploads&z\n\
             content-type:text/plain\nrange:bytes=0-1\nx-oss-content-sha256:UNSIGNED-PAYLOAD\n\
             x-oss-date:20261128T051407Z\nx-oss-meta-b:2\n\nmissing;range\nUNSIGNED-PAYLOAD"
        );
        assert!(canonical_request(&req, &OssResource::SERVICE, &[])
            .unwrap()
            .starts_with("GET\n/\n"));
        assert!(canonical_request(&req, &OssResource::bucket("b"), &[])
            .unwrap()
            .starts_with("GET\n/b/\n"));
    }

    #[test]
    fn sign_then_verify_with_additional_headers_and_token() {
        let secret = SecretString::from("s3cret");
        let mut headers = base();
        headers.push(("x-oss-security-token".to_owned(), "tok".to_owned()));
        headers.push(("Range".to_owned(), "bytes=0-1".to_owned()));
        let req = RequestParts {
            method: "GET",
            raw_path: "/b/k",
            raw_query: "acl",
            headers: &headers,
        };
        let res = OssResource::object("b", "k");
        let value = sign_request(
            &req,
            &res,
            "AK",
            &secret,
            "cn-hangzhou",
            &["Range", "host", "absent", "x-oss-meta-a"],
        )
        .unwrap();
        assert!(
            value.contains(",AdditionalHeaders=host;range,Signature="),
            "{value}"
        );
        let auth = parse_authorization(&value).unwrap();
        let v = verify(&req, &res, &auth, &secret).unwrap();
        assert_eq!(v.access_key_id(), "AK");
        assert_eq!(v.region(), "cn-hangzhou");
        assert_eq!(v.date(), 1_795_842_847);
        assert_eq!(v.security_token().unwrap().expose_secret(), "tok");
        assert_eq!(v.content_sha256(), None);
        assert_eq!(v.additional_headers(), ["host", "range"]);

        // The additional headers are covered.
        let mut changed = headers.clone();
        changed[4].1.push('0');
        let r = RequestParts {
            headers: &changed,
            ..req
        };
        let e = verify(&r, &res, &auth, &secret).unwrap_err();
        assert!(e
            .server_canonical_request()
            .unwrap()
            .contains("range:bytes=0-10\n"));
        // So is the resource.
        assert!(verify(&req, &OssResource::object("b", "k2"), &auth, &secret).is_err());
    }

    #[test]
    fn date_must_match_scope_and_payload_hash_is_returned() {
        let secret = SecretString::from("s");
        let mut headers = base();
        let hash = "a".repeat(64);
        headers[2].1 = hash.clone();
        let req = RequestParts {
            method: "PUT",
            raw_path: "/b/k",
            raw_query: "",
            headers: &headers,
        };
        let res = OssResource::object("b", "k");
        let value = sign_request(&req, &res, "AK", &secret, "r1", &[]).unwrap();
        let v = verify(&req, &res, &parse_authorization(&value).unwrap(), &secret).unwrap();
        assert_eq!(v.content_sha256(), Some(&[0xaa; 32]));

        let other_day = value.replace("/20261128/", "/20261127/");
        assert_eq!(
            verify(
                &req,
                &res,
                &parse_authorization(&other_day).unwrap(),
                &secret
            )
            .unwrap_err(),
            SignError::MalformedAuthorization("credential date does not match `x-oss-date`")
        );
        let mut bad = headers.clone();
        bad[2].1 = "nope".to_owned();
        let r = RequestParts {
            headers: &bad,
            ..req
        };
        assert_eq!(
            verify(&r, &res, &parse_authorization(&value).unwrap(), &secret).unwrap_err(),
            SignError::InvalidHeader("x-oss-content-sha256".to_owned())
        );
    }

    #[test]
    fn presign_then_verify() {
        let secret = SecretString::from("s3cret");
        let token = SecretString::from("t+/=");
        let headers = h(&[("host", "h"), ("range", "bytes=1-2")]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/b/k%20x",
            raw_query: "response-content-type=text%2Fplain",
            headers: &headers,
        };
        let res = OssResource::object("b", "k x");
        let query = presign(
            &req,
            &res,
            "AK",
            &secret,
            "cn-hangzhou",
            1_795_842_847,
            600,
            Some(&token),
            &["range"],
        )
        .unwrap();
        let signed = RequestParts {
            raw_query: &query,
            ..req
        };
        let p = parse_presigned(&query).unwrap().unwrap();
        assert_eq!(p.expires(), 1_795_843_447);
        let v = verify_presigned(&signed, &res, &p, &secret).unwrap();
        assert_eq!(v.expires(), Some(1_795_843_447));
        assert_eq!(v.security_token().unwrap().expose_secret(), "t+/=");
        assert_eq!(v.additional_headers(), ["range"]);
        let longer = query.replace("x-oss-expires=600", "x-oss-expires=6000");
        let r = RequestParts {
            raw_query: &longer,
            ..req
        };
        let p2 = parse_presigned(&longer).unwrap().unwrap();
        assert!(verify_presigned(&r, &res, &p2, &secret).is_err());
        assert_eq!(parse_presigned("acl").unwrap(), None);
        assert!(parse_presigned("x-oss-signature-version=OSS2").is_err());
    }
}
