//! MaxCompute (ODPS) signatures: legacy `Authorization: ODPS <AK>:<sig>` and V4
//! `Authorization: ODPS <AK>/<yyyymmdd>/<region>/odps/aliyun_v4_request:<sig>`.
//!
//! ```text
//! Canonical = METHOD \n content-md5 \n content-type \n Date \n
//!             + every x-odps-* header and x-odps-* query parameter, sorted: k:v \n
//!             + Resource
//! Resource  = unquote(path after the endpoint) [ "?" + parameters sorted by key, "k=v" or bare "k" ]
//! Legacy    : base64(HMAC-SHA1(secret, Canonical))
//! V4        : base64(HMAC-SHA1(K, Canonical)),
//!             K = HMAC-SHA256 chain "aliyun_v4" + secret → yyyymmdd → region → "odps" → "aliyun_v4_request"
//! ```
//!
//! What pyodps 0.13.2 (`odps/accounts.py`, `BaseAccount._build_canonical_str` and
//! `CloudAccount`) does, which this module follows:
//! - It strips the endpoint (e.g. `http://host/api`) from the URL, runs `urllib.parse.unquote`
//!   over the *whole* rest (path and query), then `urlparse` and `parse_qsl(keep_blank_values)`,
//!   which decodes the query a second time (`+` becomes a space, `%2B` therefore too). The
//!   parameters go through a dict (the last of a repeated name wins) and are sorted by name.
//!   [`canonical_string`] reproduces this exactly; `RequestParts::raw_path` must be the path *after*
//!   the server's endpoint prefix (the caller strips its `/api`).
//! - Where `urlparse` would drop part of the path from the signed string (a `;` parameter, a
//!   `//netloc`, a `scheme:` prefix, a `?` that was `%3F`, leading control characters, or tab /
//!   CR / LF that it deletes), the request is refused instead, so that everything the server
//!   routes on is signed.
//! - Header values are used as sent; `content-md5` and `content-type` are empty lines when absent;
//!   `Date` is required (the client always sends it).
//! - The STS token rides in `authorization-sts-token` and is not signed.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use keyless_secret::{ct_eq, SecretString};
use sha1::Sha1;
use sha2::Sha256;

use crate::encode::py_unquote;
use crate::error::{clip, SignError};
use crate::time::{parse_http_date, parse_scope_date};
use crate::{limits, RequestParts};

/// The product in a V4 credential scope.
pub const PRODUCT: &str = "odps";
/// The V4 scope terminator.
pub const TERMINATOR: &str = "aliyun_v4_request";

/// A V4 credential scope: the day (`yyyymmdd`) and region the signing key is derived for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    /// `yyyymmdd`, UTC.
    pub date: &'a str,
    /// The region, e.g. `cn-hangzhou`.
    pub region: &'a str,
}

/// A parsed `Authorization: ODPS …` header. Parsing it proves nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdpsAuthorization {
    access_key_id: String,
    scope: Option<(String, String)>,
    signature_b64: String,
}

impl OdpsAuthorization {
    /// The access key whose secret verifies the request.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The V4 scope, `None` for a legacy signature.
    pub fn scope(&self) -> Option<Scope<'_>> {
        self.scope
            .as_ref()
            .map(|(date, region)| Scope { date, region })
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
            .any(|c| c.is_whitespace() || c.is_control() || c == ':' || c == '/')
}

fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses `ODPS <AK>:<sig>` or `ODPS <AK>/<yyyymmdd>/<region>/odps/aliyun_v4_request:<sig>`.
pub fn parse_authorization(value: &str) -> Result<OdpsAuthorization, SignError> {
    use SignError::MalformedAuthorization as Malformed;

    limits::check_len(
        "authorization header",
        value.len(),
        limits::MAX_AUTHORIZATION_BYTES,
    )?;
    let rest = value
        .trim()
        .strip_prefix("ODPS ")
        .ok_or(Malformed("expected `ODPS <AccessKeyId>:<Signature>`"))?;
    let (credential, sig) = rest
        .trim_start()
        .rsplit_once(':')
        .ok_or(Malformed("expected `ODPS <AccessKeyId>:<Signature>`"))?;
    let (ak, scope) = if credential.contains('/') {
        let mut parts = credential.rsplitn(5, '/');
        let terminator = parts.next().unwrap_or("");
        let product = parts.next().unwrap_or("");
        let region = parts.next().unwrap_or("");
        let date = parts.next().unwrap_or("");
        let ak = parts.next().unwrap_or("");
        if terminator != TERMINATOR || product != PRODUCT {
            return Err(Malformed(
                "credential scope must end in `odps/aliyun_v4_request`",
            ));
        }
        if !valid_region(region) {
            return Err(Malformed("invalid region in credential scope"));
        }
        if parse_scope_date(date).is_none() {
            return Err(Malformed("invalid date in credential scope"));
        }
        (ak, Some((date.to_owned(), region.to_owned())))
    } else {
        (credential, None)
    };
    if !valid_access_key_id(ak) {
        return Err(Malformed("invalid access key id"));
    }
    if sig.len() != 28 || BASE64.decode(sig).map_or(true, |b| b.len() != 20) {
        return Err(SignError::MalformedSignature("base64"));
    }
    Ok(OdpsAuthorization {
        access_key_id: ak.to_owned(),
        scope,
        signature_b64: sig.to_owned(),
    })
}

/// Python's `parse_qsl(qs, keep_blank_values=True)` followed by `dict(...)`: the last value of a
/// repeated name wins, sorted by name.
fn py_params(query: &str) -> Result<Vec<(String, String)>, SignError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in query.split('&') {
        if piece.is_empty() {
            continue;
        }
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let k = py_unquote(&k.replace('+', " "));
        let v = py_unquote(&v.replace('+', " "));
        if let Some(slot) = out.iter_mut().find(|(n, _)| *n == k) {
            slot.1 = v;
        } else {
            limits::check_count("parameters", out.len() + 1, limits::MAX_PARAMS)?;
            out.push((k, v));
        }
    }
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

/// The decoded path, refused when Python's `urlparse` would not sign all of it.
fn signed_path(raw_path: &str) -> Result<String, SignError> {
    let path = py_unquote(raw_path);
    // `urlsplit` strips leading C0 controls and spaces and deletes tab, CR and LF anywhere.
    let stripped = path.chars().next().is_some_and(|c| c <= ' ');
    // `urlsplit` takes `letters:` (letters, digits, `+-.`, starting with a letter) as a scheme.
    let scheme = path.find(':').is_some_and(|i| {
        path.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && path.get(..i).is_some_and(|s| {
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            })
    });
    // `//` starts a netloc, `?` (once decoded) the query, `;` the path parameters.
    if stripped || scheme || path.starts_with("//") || path.contains(['?', ';', '\t', '\r', '\n']) {
        return Err(SignError::InvalidParameter("path"));
    }
    Ok(path)
}

/// The canonical string pyodps signs for `req`, whose `raw_path` is the path after the endpoint
/// prefix (`/projects/p/tables`, not `/api/projects/p/tables`).
pub fn canonical_string(req: &RequestParts<'_>) -> Result<String, SignError> {
    req.check_limits()?;
    let path = signed_path(req.raw_path)?;
    let query = py_unquote(req.raw_query);
    if query.contains(['\t', '\r', '\n']) {
        return Err(SignError::InvalidParameter("query"));
    }
    let params = if query.is_empty() {
        Vec::new()
    } else {
        py_params(&query)?
    };

    let mut signed: Vec<(String, &str)> = Vec::new();
    for (name, value) in req.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-type" || lower == "content-md5" || lower.starts_with("x-odps-") {
            if signed.iter().any(|(n, _)| *n == lower) {
                return Err(SignError::DuplicateHeader(clip(&lower)));
            }
            signed.push((lower, value.as_str()));
        }
    }
    for name in ["content-type", "content-md5"] {
        if !signed.iter().any(|(n, _)| n == name) {
            signed.push((name.to_owned(), ""));
        }
    }
    let date = req
        .single_header("date")?
        .filter(|d| !d.is_empty())
        .ok_or_else(|| SignError::MissingHeader("date".to_owned()))?;
    signed.push(("date".to_owned(), date));
    for (k, v) in &params {
        if k.starts_with("x-odps-") {
            if let Some(slot) = signed.iter_mut().find(|(n, _)| n == k) {
                slot.1 = v;
            } else {
                signed.push((k.clone(), v));
            }
        }
    }
    signed.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

    let mut out = String::new();
    out.push_str(req.method);
    for (k, v) in signed {
        out.push('\n');
        if k.starts_with("x-odps-") {
            out.push_str(&k);
            out.push(':');
        }
        out.push_str(v);
    }
    out.push('\n');
    out.push_str(&path);
    if !query.is_empty() {
        out.push('?');
        for (i, (k, v)) in params.iter().enumerate() {
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

fn hmac256(key: &[u8], data: &[u8]) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(data);
    Some(mac.finalize().into_bytes().into())
}

fn hmac1(key: &[u8], data: &[u8]) -> Option<[u8; 20]> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).ok()?;
    mac.update(data);
    Some(mac.finalize().into_bytes().into())
}

/// The MAC for `scope` (V4) or the bare secret (legacy). `None` only if HMAC refused a key,
/// which it never does.
fn mac(secret: &str, scope: Option<Scope<'_>>, canonical: &str) -> Option<[u8; 20]> {
    match scope {
        None => hmac1(secret.as_bytes(), canonical.as_bytes()),
        Some(Scope { date, region }) => {
            let mut k_secret = String::with_capacity(secret.len() + 9);
            k_secret.push_str("aliyun_v4");
            k_secret.push_str(secret);
            let k_secret = SecretString::new(k_secret);
            let k_date = hmac256(k_secret.expose_secret().as_bytes(), date.as_bytes())?;
            let k_region = hmac256(&k_date, region.as_bytes())?;
            let k_product = hmac256(&k_region, PRODUCT.as_bytes())?;
            let key = hmac256(&k_product, TERMINATOR.as_bytes())?;
            hmac1(&key, canonical.as_bytes())
        }
    }
}

/// The base64 signature of `canonical`: legacy when `scope` is `None`, else V4.
pub fn sign(secret: &str, scope: Option<Scope<'_>>, canonical: &str) -> String {
    mac(secret, scope, canonical)
        .map(|m| BASE64.encode(m))
        .unwrap_or_default()
}

/// Proof that a MaxCompute request was signed with the secret of
/// [`OdpsVerified::access_key_id`]. Only [`verify`] makes one.
#[derive(Debug, Clone)]
pub struct OdpsVerified {
    access_key_id: String,
    date: i64,
    scope: Option<(String, String)>,
    security_token: Option<SecretString>,
}

impl OdpsVerified {
    /// The verified access key.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The signed `Date` header in Unix seconds; the caller checks skew.
    pub fn date(&self) -> i64 {
        self.date
    }
    /// The V4 scope, `None` for a legacy signature; the caller checks the region (and that the
    /// scope day is near [`OdpsVerified::date`]).
    pub fn scope(&self) -> Option<Scope<'_>> {
        self.scope
            .as_ref()
            .map(|(date, region)| Scope { date, region })
    }
    /// `authorization-sts-token` (not covered by the signature); the caller validates it and
    /// that it belongs to the access key.
    pub fn security_token(&self) -> Option<&SecretString> {
        self.security_token.as_ref()
    }
}

/// Verifies a MaxCompute request; `req.raw_path` is the path after the endpoint prefix.
///
/// Checks limits, that `Date` is an HTTP date, then the signature (constant-time). On mismatch
/// the error carries the canonical string.
pub fn verify(
    req: &RequestParts<'_>,
    auth: &OdpsAuthorization,
    secret: &SecretString,
) -> Result<OdpsVerified, SignError> {
    let canonical = canonical_string(req)?;
    let date = parse_http_date(req.single_header("date")?.unwrap_or("").trim())?;
    let given = BASE64
        .decode(auth.signature_b64())
        .ok()
        .filter(|g| g.len() == 20)
        .ok_or(SignError::MalformedSignature("base64"))?;
    if !mac(secret.expose_secret(), auth.scope(), &canonical).is_some_and(|m| ct_eq(&m, &given)) {
        return Err(SignError::SignatureMismatch {
            string_to_sign: canonical,
            canonical_request: None,
        });
    }
    let security_token = req
        .single_header("authorization-sts-token")?
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| SecretString::new(t.to_owned()));
    Ok(OdpsVerified {
        access_key_id: auth.access_key_id().to_owned(),
        date,
        scope: auth.scope.clone(),
        security_token,
    })
}

/// Client side: the `Authorization` value for `req` (path after the endpoint prefix), legacy when
/// `scope` is `None`, else V4. The caller sets `Date` ([`crate::format_http_date`]), the
/// `x-odps-*` headers and, with STS credentials, `authorization-sts-token`.
pub fn sign_request(
    req: &RequestParts<'_>,
    access_key_id: &str,
    secret: &SecretString,
    scope: Option<Scope<'_>>,
) -> Result<String, SignError> {
    if !valid_access_key_id(access_key_id) {
        return Err(SignError::MalformedAuthorization("invalid access key id"));
    }
    if let Some(Scope { date, region }) = scope {
        if parse_scope_date(date).is_none() || !valid_region(region) {
            return Err(SignError::MalformedAuthorization(
                "invalid credential scope",
            ));
        }
    }
    let canonical = canonical_string(req)?;
    parse_http_date(req.single_header("date")?.unwrap_or("").trim())?;
    let signature = sign(secret.expose_secret(), scope, &canonical);
    Ok(match scope {
        None => format!("ODPS {access_key_id}:{signature}"),
        Some(Scope { date, region }) => {
            format!("ODPS {access_key_id}/{date}/{region}/{PRODUCT}/{TERMINATOR}:{signature}")
        }
    })
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
    fn canonical_layout_matches_pyodps() {
        let headers = h(&[
            ("Date", DATE),
            ("x-odps-user-agent", "ua"),
            ("Content-Type", "application/xml"),
            ("accept", "x"),
        ]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/projects/p/tables/my%20table%2Bx",
            raw_query: "name=a+b%2Bc%2F%C3%A9&expectmarker=true&x-odps-z=1&b&b=2&&",
            headers: &headers,
        };
        assert_eq!(
            canonical_string(&req).unwrap(),
            format!(
                "GET\n\napplication/xml\n{DATE}\nx-odps-user-agent:ua\nx-odps-z:1\n\
                 /projects/p/tables/my table+x?b=2&expectmarker=true&name=a b c/é&x-odps-z=1"
            )
        );
        let no_query = RequestParts {
            raw_query: "",
            ..req
        };
        assert!(canonical_string(&no_query)
            .unwrap()
            .ends_with("\n/projects/p/tables/my table+x"));
    }

    #[test]
    fn paths_python_would_truncate_are_refused() {
        let headers = h(&[("Date", DATE)]);
        for path in [
            "/p;x",
            "/a%3Bb",
            "/a%3Fb",
            "//host/p",
            "/%2F/p",
            "projects:x",
            "%20/p",
            "/a%0Ab",
        ] {
            let req = RequestParts {
                method: "GET",
                raw_path: path,
                raw_query: "",
                headers: &headers,
            };
            assert_eq!(
                canonical_string(&req),
                Err(SignError::InvalidParameter("path")),
                "{path}"
            );
        }
        let req = RequestParts {
            method: "GET",
            raw_path: "/p",
            raw_query: "a=%0D",
            headers: &headers,
        };
        assert_eq!(
            canonical_string(&req),
            Err(SignError::InvalidParameter("query"))
        );
        // A relative path without a leading slash (endpoint configured with a trailing one).
        let req = RequestParts {
            raw_query: "",
            raw_path: "projects/p",
            ..req
        };
        assert!(canonical_string(&req).unwrap().ends_with("\nprojects/p"));
    }

    #[test]
    fn parse_authorization_shapes() {
        let sig = "BuvcfcKuhytn6wztxB2fhEn+81I=";
        let legacy = parse_authorization(&format!("ODPS AK:{sig}")).unwrap();
        assert_eq!(legacy.access_key_id(), "AK");
        assert_eq!(legacy.scope(), None);
        let v4 = parse_authorization(&format!(
            "ODPS STS.AK/20261128/cn-hangzhou/odps/aliyun_v4_request:{sig}"
        ))
        .unwrap();
        assert_eq!(v4.access_key_id(), "STS.AK");
        assert_eq!(
            v4.scope(),
            Some(Scope {
                date: "20261128",
                region: "cn-hangzhou"
            })
        );
        for bad in [
            String::new(),
            format!("odps AK:{sig}"),
            format!("ODPS :{sig}"),
            "ODPS AK:".to_owned(),
            "ODPS AK:AAAA".to_owned(),
            format!("ODPS AK/20261128/cn-hangzhou/oss/aliyun_v4_request:{sig}"),
            format!("ODPS AK/2026112/cn-hangzhou/odps/aliyun_v4_request:{sig}"),
            format!("ODPS AK/20261128//odps/aliyun_v4_request:{sig}"),
            format!("ODPS /20261128/r/odps/aliyun_v4_request:{sig}"),
            format!("ODPS 20261128/r/odps/aliyun_v4_request:{sig}"),
        ] {
            assert!(parse_authorization(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sign_then_verify_both_versions() {
        let secret = SecretString::from("s3cret");
        let headers = h(&[
            ("Date", DATE),
            ("x-odps-user-agent", "ua"),
            ("authorization-sts-token", "tok"),
        ]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/projects/p/tables",
            raw_query: "expectmarker=true&curr_project=p",
            headers: &headers,
        };
        let scope = Scope {
            date: "20261128",
            region: "cn-hangzhou",
        };
        for s in [None, Some(scope)] {
            let auth = parse_authorization(&sign_request(&req, "AK", &secret, s).unwrap()).unwrap();
            let v = verify(&req, &auth, &secret).unwrap();
            assert_eq!(v.access_key_id(), "AK");
            assert_eq!(v.date(), 1_795_842_847);
            assert_eq!(v.scope(), s);
            assert_eq!(v.security_token().unwrap().expose_secret(), "tok");
            let e = verify(&req, &auth, &SecretString::from("other")).unwrap_err();
            assert!(e.server_string_to_sign().unwrap().starts_with("GET\n"));
        }
        // Legacy and V4 keys differ.
        let legacy =
            parse_authorization(&sign_request(&req, "AK", &secret, None).unwrap()).unwrap();
        let as_v4 = parse_authorization(&format!(
            "ODPS AK/20261128/cn-hangzhou/odps/aliyun_v4_request:{}",
            legacy.signature_b64()
        ))
        .unwrap();
        assert!(verify(&req, &as_v4, &secret).is_err());
    }
}
