//! RPC signature V1: `HMAC-SHA1` over the sorted parameters (old SDK, tea-openapi with
//! `signature_algorithm="v2"`, and the credentials library).
//!
//! ```text
//! CQS          = join("&", pe(k) + "=" + pe(v))   for every parameter but Signature, sorted by key
//! StringToSign = METHOD + "&%2F&" + pe(CQS)
//! Signature    = base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign))
//! ```
//!
//! alibabacloud-credentials 1.0.12 (`utils/parameter_helper.py`, `compose_string_to_sign`) encodes
//! with Python's `quote_plus` instead: a space becomes `+` inside the CQS (then `%2B` after the
//! outer encoding) where the standard form has `%20` (then `%2520`). Everything else is identical.
//! [`verify`] accepts both.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use keyless_secret::{ct_eq, SecretString};
use sha1::Sha1;

use crate::encode::percent_encode_into;
use crate::error::{clip, SignError};
use crate::limits;
use crate::time::parse_timestamp;

/// The only `SignatureMethod` V1 defines.
pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";
/// The only `SignatureVersion` V1 defines.
pub const SIGNATURE_VERSION: &str = "1.0";

/// Parameters sorted by key bytes (stable: duplicates keep their order), without `Signature`.
fn sorted(params: &[(String, String)]) -> Vec<&(String, String)> {
    let mut sorted: Vec<_> = params.iter().filter(|(k, _)| k != "Signature").collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    sorted
}

fn cqs(params: &[(String, String)], space_as_plus: bool) -> String {
    let mut cqs = String::new();
    for (i, (k, v)) in sorted(params).into_iter().enumerate() {
        if i > 0 {
            cqs.push('&');
        }
        percent_encode_into(&mut cqs, k, space_as_plus);
        cqs.push('=');
        percent_encode_into(&mut cqs, v, space_as_plus);
    }
    cqs
}

fn build(method: &str, params: &[(String, String)], space_as_plus: bool) -> String {
    let cqs = cqs(params, space_as_plus);
    let mut out = String::with_capacity(method.len() + 5 + cqs.len() * 3 / 2);
    out.push_str(method);
    out.push_str("&%2F&");
    percent_encode_into(&mut out, &cqs, false);
    out
}

/// The standard string to sign. `params` are the decoded query parameters plus any form body
/// parameters; `Signature` is dropped, everything else (empty values too) is kept.
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    build(method, params, false)
}

/// The credentials library's string to sign: like [`string_to_sign`] but with `quote_plus`
/// (space → `+`) for each key and value before the outer encoding.
pub fn string_to_sign_quote_plus(method: &str, params: &[(String, String)]) -> String {
    build(method, params, true)
}

/// `None` only if HMAC refused the key, which it never does; callers treat that as a mismatch.
fn mac(secret: &str, string_to_sign: &str) -> Option<[u8; 20]> {
    let mut key = String::with_capacity(secret.len() + 1);
    key.push_str(secret);
    key.push('&');
    let key = SecretString::new(key);
    let mut mac = Hmac::<Sha1>::new_from_slice(key.expose_secret().as_bytes()).ok()?;
    mac.update(string_to_sign.as_bytes());
    Some(mac.finalize().into_bytes().into())
}

fn mac_matches(secret: &str, string_to_sign: &str, given: &[u8]) -> bool {
    mac(secret, string_to_sign).is_some_and(|m| ct_eq(&m, given))
}

/// `base64(HMAC-SHA1(secret + "&", string_to_sign))`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    mac(secret, string_to_sign)
        .map(|m| BASE64.encode(m))
        .unwrap_or_default()
}

/// The signing parameters of a V1 request, checked: `SignatureMethod=HMAC-SHA1`,
/// `SignatureVersion=1.0`, a well-formed `Timestamp`, non-empty `SignatureNonce` and
/// `AccessKeyId`, each at most once. Parsing this says nothing about the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Params<'a> {
    access_key_id: &'a str,
    signature: Option<&'a str>,
    timestamp: i64,
    nonce: &'a str,
    security_token: Option<&'a str>,
}

impl<'a> V1Params<'a> {
    /// `AccessKeyId`: the key whose secret verifies the request.
    pub fn access_key_id(&self) -> &'a str {
        self.access_key_id
    }
    /// `Signature` if present among the parameters (base64, still to be verified).
    pub fn signature(&self) -> Option<&'a str> {
        self.signature
    }
    /// `Timestamp` in Unix seconds; the caller checks skew.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }
    /// `SignatureNonce`; the caller checks it was not seen before.
    pub fn nonce(&self) -> &'a str {
        self.nonce
    }
    /// `SecurityToken`, present with STS credentials.
    pub fn security_token(&self) -> Option<&'a str> {
        self.security_token
    }
}

fn unique<'a>(
    params: &'a [(String, String)],
    name: &'static str,
) -> Result<Option<&'a str>, SignError> {
    let mut found = params.iter().filter(|(k, _)| k == name);
    let first = found.next().map(|(_, v)| v.as_str());
    if found.next().is_some() {
        return Err(SignError::DuplicateParameter(name));
    }
    Ok(first)
}

fn required<'a>(params: &'a [(String, String)], name: &'static str) -> Result<&'a str, SignError> {
    match unique(params, name)? {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(SignError::MissingParameter(name)),
    }
}

/// Extracts and checks the signing parameters (see [`V1Params`]).
pub fn parse_params(params: &[(String, String)]) -> Result<V1Params<'_>, SignError> {
    check_param_limits(params)?;
    let method = required(params, "SignatureMethod")?;
    if method != SIGNATURE_METHOD {
        return Err(SignError::UnsupportedSignatureMethod(clip(method)));
    }
    let version = required(params, "SignatureVersion")?;
    if version != SIGNATURE_VERSION {
        return Err(SignError::UnsupportedSignatureVersion(clip(version)));
    }
    let timestamp = parse_timestamp(required(params, "Timestamp")?)?;
    Ok(V1Params {
        access_key_id: required(params, "AccessKeyId")?,
        signature: unique(params, "Signature")?,
        timestamp,
        nonce: required(params, "SignatureNonce")?,
        security_token: unique(params, "SecurityToken")?.filter(|t| !t.is_empty()),
    })
}

fn check_param_limits(params: &[(String, String)]) -> Result<(), SignError> {
    limits::check_count("parameters", params.len(), 2 * limits::MAX_PARAMS)?;
    let total = params
        .iter()
        .fold(0usize, |acc, (k, v)| acc.saturating_add(k.len() + v.len()));
    limits::check_len("parameters", total, limits::MAX_QUERY_BYTES)
}

/// Which string to sign matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1Variant {
    /// The documented form (old SDK, tea-openapi).
    Standard,
    /// The credentials library's `quote_plus` form.
    QuotePlus,
}

/// Proof that a V1 request was signed with the secret of [`V1Verified::access_key_id`]. Only
/// [`verify`] makes one.
#[derive(Debug, Clone)]
pub struct V1Verified {
    access_key_id: String,
    timestamp: i64,
    nonce: String,
    security_token: Option<SecretString>,
    variant: V1Variant,
}

impl V1Verified {
    /// The verified access key.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// `Timestamp` in Unix seconds; the caller checks skew.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }
    /// `SignatureNonce`; the caller checks replay.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
    /// `SecurityToken` when the request used STS credentials; the caller must validate it.
    pub fn security_token(&self) -> Option<&SecretString> {
        self.security_token.as_ref()
    }
    /// Which string to sign matched.
    pub fn variant(&self) -> V1Variant {
        self.variant
    }
}

/// Verifies a V1 request: checks the signing parameters ([`parse_params`]), then the signature
/// against the standard string to sign and, if that fails and a key or value contains a space,
/// against the `quote_plus` form. On mismatch the error carries the standard string to sign.
///
/// `params` are all decoded query and form-body parameters; `signature_b64` is the `Signature`
/// value. The caller still checks the timestamp skew, the nonce, and any security token.
pub fn verify(
    method: &str,
    params: &[(String, String)],
    secret: &SecretString,
    signature_b64: &str,
) -> Result<V1Verified, SignError> {
    limits::check_len("method", method.len(), limits::MAX_METHOD_BYTES)?;
    let parsed = parse_params(params)?;
    limits::check_len(
        "signature",
        signature_b64.len(),
        limits::MAX_SIGNATURE_BYTES,
    )?;
    let given = BASE64
        .decode(signature_b64)
        .map_err(|_| SignError::MalformedSignature("base64"))?;
    if given.len() != 20 {
        return Err(SignError::MalformedSignature("base64"));
    }
    let secret = secret.expose_secret();

    let standard = string_to_sign(method, params);
    let mut variant = None;
    if mac_matches(secret, &standard, &given) {
        variant = Some(V1Variant::Standard);
    } else if params
        .iter()
        .any(|(k, v)| k != "Signature" && (k.contains(' ') || v.contains(' ')))
    {
        let plus = string_to_sign_quote_plus(method, params);
        if mac_matches(secret, &plus, &given) {
            variant = Some(V1Variant::QuotePlus);
        }
    }
    let Some(variant) = variant else {
        return Err(SignError::SignatureMismatch {
            string_to_sign: standard,
            canonical_request: None,
        });
    };
    Ok(V1Verified {
        access_key_id: parsed.access_key_id.to_owned(),
        timestamp: parsed.timestamp,
        nonce: parsed.nonce.to_owned(),
        security_token: parsed
            .security_token
            .map(|t| SecretString::new(t.to_owned())),
        variant,
    })
}

/// The canonicalised query string of the standard form (before the outer encoding), for logs
/// and debugging; no secret is involved.
pub fn canonical_query(params: &[(String, String)]) -> String {
    cqs(params, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form_decode;

    const DOC_QUERY: &str = "UserName=test&SignatureVersion=1.0&Format=JSON\
        &Timestamp=2015-08-18T03%3A15%3A45Z&AccessKeyId=testid&SignatureMethod=HMAC-SHA1\
        &Version=2015-05-01&Signature=kRA2cnpJVacIhDMzXnoNZG9tDCI%3D&Action=CreateUser\
        &SignatureNonce=6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2";
    const DOC_STS: &str = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateUser%26Format%3DJSON\
        %26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2\
        %26SignatureVersion%3D1.0%26Timestamp%3D2015-08-18T03%253A15%253A45Z%26UserName%3Dtest\
        %26Version%3D2015-05-01";

    #[test]
    fn vendor_doc_example() {
        let params = form_decode(DOC_QUERY).unwrap();
        assert_eq!(string_to_sign("GET", &params), DOC_STS);
        assert_eq!(sign("testsecret", DOC_STS), "kRA2cnpJVacIhDMzXnoNZG9tDCI=");
        let v = verify(
            "GET",
            &params,
            &SecretString::from("testsecret"),
            "kRA2cnpJVacIhDMzXnoNZG9tDCI=",
        )
        .unwrap();
        assert_eq!(v.access_key_id(), "testid");
        assert_eq!(v.timestamp(), 1_439_867_745);
        assert_eq!(v.nonce(), "6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2");
        assert!(v.security_token().is_none());
        assert_eq!(v.variant(), V1Variant::Standard);
    }

    #[test]
    fn mismatch_carries_standard_string_to_sign() {
        let params = form_decode(DOC_QUERY).unwrap();
        let err = verify(
            "GET",
            &params,
            &SecretString::from("wrong"),
            "kRA2cnpJVacIhDMzXnoNZG9tDCI=",
        )
        .unwrap_err();
        assert_eq!(err.server_string_to_sign(), Some(DOC_STS));
    }

    #[test]
    fn quote_plus_differs_only_for_spaces() {
        let p = vec![
            ("A".to_owned(), "x y".to_owned()),
            ("B".to_owned(), "+*~".to_owned()),
        ];
        assert_eq!(
            string_to_sign("GET", &p),
            "GET&%2F&A%3Dx%2520y%26B%3D%252B%252A~"
        );
        assert_eq!(
            string_to_sign_quote_plus("GET", &p),
            "GET&%2F&A%3Dx%2By%26B%3D%252B%252A~"
        );
    }

    #[test]
    fn parse_params_checks_fields() {
        let base = form_decode(DOC_QUERY).unwrap();
        let with = |k: &str, v: &str| {
            let mut p: Vec<_> = base.iter().filter(|(n, _)| n != k).cloned().collect();
            p.push((k.to_owned(), v.to_owned()));
            p
        };
        assert_eq!(
            parse_params(&with("SignatureMethod", "HMAC-SHA256")),
            Err(SignError::UnsupportedSignatureMethod(
                "HMAC-SHA256".to_owned()
            ))
        );
        assert_eq!(
            parse_params(&with("SignatureVersion", "2.0")),
            Err(SignError::UnsupportedSignatureVersion("2.0".to_owned()))
        );
        assert!(matches!(
            parse_params(&with("Timestamp", "yesterday")),
            Err(SignError::InvalidTimestamp(_))
        ));
        assert_eq!(
            parse_params(&with("SignatureNonce", "")),
            Err(SignError::MissingParameter("SignatureNonce"))
        );
        let mut dup = base.clone();
        dup.push(("AccessKeyId".to_owned(), "other".to_owned()));
        assert_eq!(
            parse_params(&dup),
            Err(SignError::DuplicateParameter("AccessKeyId"))
        );
        let token = with("SecurityToken", "tok");
        let p = parse_params(&token).unwrap();
        assert_eq!(p.security_token(), Some("tok"));
        assert_eq!(p.signature(), Some("kRA2cnpJVacIhDMzXnoNZG9tDCI="));
    }

    #[test]
    fn malformed_signatures_are_rejected_before_hmac() {
        let params = form_decode(DOC_QUERY).unwrap();
        let secret = SecretString::from("testsecret");
        for bad in ["", "not base64!", "AAAA", &"A".repeat(200)] {
            assert!(matches!(
                verify("GET", &params, &secret, bad),
                Err(SignError::MalformedSignature(_) | SignError::TooLarge { .. })
            ));
        }
    }

    #[test]
    fn canonical_query_is_sorted_and_encoded() {
        let p = form_decode("b=2&a=x+y&Signature=zz").unwrap();
        assert_eq!(canonical_query(&p), "a=x%20y&b=2");
    }
}
