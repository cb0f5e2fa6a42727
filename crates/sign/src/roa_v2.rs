//! ROA signature v2: `authorization: acs <AK>:base64(HMAC-SHA1(secret, StringToSign))`, what
//! tea-openapi sends for ROA APIs (EAS) with `signature_algorithm="v2"`.
//!
//! From tea-openapi 0.4.6 `utils.py` (`get_string_to_sign`, `_get_canonicalized_headers`,
//! `_get_canonicalized_resource`, `get_roasignature`; Go `openapi-util` is the same):
//!
//! ```text
//! StringToSign = METHOD \n accept \n content-md5 \n content-type \n date \n
//!                + for every x-acs-* header, sorted by name: name:value \n
//!                + path [ "?" + sorted query, each "k=v", or just "k" when v is empty, joined by & ]
//! ```
//!
//! Absent headers are empty lines. Header values and query values are used *as they are*: not
//! trimmed beyond what HTTP parsing did, and the query values decoded, not re-encoded. The path is
//! the one sent (already percent-encoded by the client). The key is the bare secret (no `&`).
//! The body is not covered unless the client sends `content-md5`, which the SDKs do not and which
//! this module does not check against the body.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use keyless_secret::{ct_eq, SecretString};
use sha1::Sha1;

use crate::encode::form_decode;
use crate::error::{clip, SignError};
use crate::time::parse_http_date;
use crate::{limits, RequestParts};

/// A parsed `authorization: acs <AK>:<signature>` value. Parsing it proves nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoaAuthorization {
    access_key_id: String,
    signature_b64: String,
}

impl RoaAuthorization {
    /// The access key whose secret verifies the request.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The signature, base64.
    pub fn signature_b64(&self) -> &str {
        &self.signature_b64
    }
}

/// Parses `acs <AK>:<base64 signature>`.
pub fn parse_authorization(value: &str) -> Result<RoaAuthorization, SignError> {
    use SignError::MalformedAuthorization as Malformed;

    limits::check_len(
        "authorization header",
        value.len(),
        limits::MAX_AUTHORIZATION_BYTES,
    )?;
    let value = value.trim();
    let rest = value
        .strip_prefix("acs ")
        .ok_or(Malformed("expected `acs <AccessKeyId>:<Signature>`"))?;
    let (ak, sig) = rest
        .split_once(':')
        .ok_or(Malformed("expected `acs <AccessKeyId>:<Signature>`"))?;
    if ak.is_empty() || ak.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Malformed("invalid access key id"));
    }
    if sig.is_empty() || sig.len() > limits::MAX_SIGNATURE_BYTES {
        return Err(SignError::MalformedSignature("base64"));
    }
    Ok(RoaAuthorization {
        access_key_id: ak.to_owned(),
        signature_b64: sig.to_owned(),
    })
}

/// The string to sign for `req` (see the module documentation).
pub fn string_to_sign(req: &RequestParts<'_>) -> Result<String, SignError> {
    req.check_limits()?;
    let mut out = String::new();
    out.push_str(req.method);
    out.push('\n');
    for name in ["accept", "content-md5", "content-type", "date"] {
        out.push_str(req.single_header(name)?.unwrap_or(""));
        out.push('\n');
    }

    let mut acs: Vec<(String, &str)> = Vec::new();
    for (name, value) in req.headers {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("x-acs-") {
            if acs.iter().any(|(n, _)| *n == lower) {
                return Err(SignError::DuplicateHeader(clip(&lower)));
            }
            acs.push((lower, value));
        }
    }
    acs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (name, value) in acs {
        out.push_str(&name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }

    out.push_str(req.raw_path);
    let mut query = form_decode(req.raw_query)?;
    if !query.is_empty() {
        query.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        out.push('?');
        for (i, (k, v)) in query.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(k);
            if !v.is_empty() {
                out.push('=');
                out.push_str(v);
            }
        }
    }
    Ok(out)
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

/// Proof that a ROA v2 request was signed with the secret of [`RoaVerified::access_key_id`]. Only
/// [`verify`] makes one.
#[derive(Debug, Clone)]
pub struct RoaVerified {
    access_key_id: String,
    date: Option<i64>,
    nonce: Option<String>,
    security_token: Option<SecretString>,
    action: Option<String>,
    version: Option<String>,
}

impl RoaVerified {
    /// The verified access key.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The signed `date` header in Unix seconds, if sent (the SDKs always send it).
    pub fn date(&self) -> Option<i64> {
        self.date
    }
    /// `x-acs-signature-nonce`, if sent; the caller checks replay.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }
    /// `x-acs-security-token` with STS credentials; the caller validates it.
    pub fn security_token(&self) -> Option<&SecretString> {
        self.security_token.as_ref()
    }
    /// `x-acs-action`, if sent.
    pub fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }
    /// `x-acs-version`, if sent.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
}

/// Verifies a ROA v2 request: `x-acs-signature-method` / `x-acs-signature-version`, if present,
/// must be `HMAC-SHA1` / `1.0`; `date`, if present, must parse; `x-acs-accesskey-id`, if present,
/// must name the key; then the signature (constant-time). On mismatch the error carries the
/// server's string to sign.
pub fn verify(
    req: &RequestParts<'_>,
    auth: &RoaAuthorization,
    secret: &SecretString,
) -> Result<RoaVerified, SignError> {
    req.check_limits()?;
    if let Some(m) = req.single_header("x-acs-signature-method")? {
        if m != "HMAC-SHA1" {
            return Err(SignError::UnsupportedSignatureMethod(clip(m)));
        }
    }
    if let Some(v) = req.single_header("x-acs-signature-version")? {
        if v != "1.0" {
            return Err(SignError::UnsupportedSignatureVersion(clip(v)));
        }
    }
    let date = req
        .single_header("date")?
        .map(|d| parse_http_date(d.trim()))
        .transpose()?;
    if let Some(id) = req.single_header("x-acs-accesskey-id")? {
        if id.trim() != auth.access_key_id() {
            return Err(SignError::AccessKeyIdMismatch(clip(auth.access_key_id())));
        }
    }
    let given = BASE64
        .decode(auth.signature_b64())
        .ok()
        .filter(|g| g.len() == 20)
        .ok_or(SignError::MalformedSignature("base64"))?;

    let sts = string_to_sign(req)?;
    if !mac(secret.expose_secret(), &sts).is_some_and(|m| ct_eq(&m, &given)) {
        return Err(SignError::SignatureMismatch {
            string_to_sign: sts,
            canonical_request: None,
        });
    }
    let owned = |v: Option<&str>| v.map(|s| s.trim().to_owned());
    Ok(RoaVerified {
        access_key_id: auth.access_key_id().to_owned(),
        date,
        nonce: owned(req.single_header("x-acs-signature-nonce")?),
        security_token: owned(req.single_header("x-acs-security-token")?).map(SecretString::new),
        action: owned(req.single_header("x-acs-action")?),
        version: owned(req.single_header("x-acs-version")?),
    })
}

/// Client side: the `authorization` value (`acs <AK>:<signature>`) for `req`. The caller sets
/// `date`, `accept`, `x-acs-signature-method: HMAC-SHA1`, `x-acs-signature-version: 1.0`,
/// `x-acs-signature-nonce`, `x-acs-action`/`x-acs-version` and, with STS credentials,
/// `x-acs-accesskey-id` and `x-acs-security-token`.
pub fn sign_request(
    req: &RequestParts<'_>,
    access_key_id: &str,
    secret: &SecretString,
) -> Result<String, SignError> {
    if access_key_id.is_empty()
        || access_key_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        return Err(SignError::MalformedAuthorization("invalid access key id"));
    }
    let sts = string_to_sign(req)?;
    Ok(format!(
        "acs {access_key_id}:{}",
        sign(secret.expose_secret(), &sts)
    ))
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

    #[test]
    fn string_to_sign_layout() {
        let headers = h(&[
            ("date", "Sat, 28 Nov 2026 04:56:15 GMT"),
            ("accept", "application/json"),
            ("x-acs-version", "2021-07-01"),
            ("X-Acs-Action", "ListServices"),
            ("host", "h"),
        ]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/api/v2/services",
            raw_query: "b=x+y&a=&c=%7B%7D",
            headers: &headers,
        };
        assert_eq!(
            string_to_sign(&req).unwrap(),
            "GET\napplication/json\n\n\nSat, 28 Nov 2026 04:56:15 GMT\n\
             x-acs-action:ListServices\nx-acs-version:2021-07-01\n\
             /api/v2/services?a&b=x y&c={}"
        );
        let no_query = RequestParts {
            raw_query: "",
            ..req
        };
        assert!(string_to_sign(&no_query)
            .unwrap()
            .ends_with("\n/api/v2/services"));
    }

    #[test]
    fn parse_authorization_shapes() {
        let a = parse_authorization("acs AK1:abc=").unwrap();
        assert_eq!(a.access_key_id(), "AK1");
        assert_eq!(a.signature_b64(), "abc=");
        for bad in [
            "", "acs", "acs AK1", "acs :sig", "acs AK1:", "ACS AK:s", "Bearer x",
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sign_then_verify() {
        let secret = SecretString::from("s3cret");
        let headers = h(&[
            ("date", "Sat, 28 Nov 2026 04:56:15 GMT"),
            ("x-acs-signature-method", "HMAC-SHA1"),
            ("x-acs-signature-version", "1.0"),
            ("x-acs-signature-nonce", "n"),
        ]);
        let req = RequestParts {
            method: "POST",
            raw_path: "/api/v2/services",
            raw_query: "Develop=true",
            headers: &headers,
        };
        let auth = parse_authorization(&sign_request(&req, "AK1", &secret).unwrap()).unwrap();
        let v = verify(&req, &auth, &secret).unwrap();
        assert_eq!(v.access_key_id(), "AK1");
        assert_eq!(v.date(), Some(1_795_841_775));
        assert_eq!(v.nonce(), Some("n"));
        let e = verify(&req, &auth, &SecretString::from("other")).unwrap_err();
        assert!(e.server_string_to_sign().unwrap().starts_with("POST\n"));

        let bad_method = h(&[("x-acs-signature-method", "HMAC-SHA256")]);
        let req2 = RequestParts {
            headers: &bad_method,
            ..req
        };
        assert!(matches!(
            verify(&req2, &auth, &secret),
            Err(SignError::UnsupportedSignatureMethod(_))
        ));
    }

    #[test]
    fn duplicate_signed_headers_are_refused() {
        let headers = h(&[("x-acs-a", "1"), ("x-acs-a", "2")]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/",
            raw_query: "",
            headers: &headers,
        };
        assert_eq!(
            string_to_sign(&req),
            Err(SignError::DuplicateHeader("x-acs-a".to_owned()))
        );
    }
}
