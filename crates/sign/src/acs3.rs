//! Signature V3, `ACS3-HMAC-SHA256`, for RPC (`POST /` with the parameters in the query) and
//! ROA (REST paths such as `/api/v2/services/...`) alike.
//!
//! ```text
//! Authorization    = ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=<h1;h2;...>,Signature=<hex>
//! CanonicalRequest = METHOD \n URI \n Query \n CanonicalHeaders \n SignedHeaders \n HashedPayload
//! StringToSign     = "ACS3-HMAC-SHA256\n" + hex(sha256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(key = AccessKeySecret, StringToSign))
//! ```
//!
//! What the SDKs actually sign (tea-openapi 0.4.6 `utils.py` `get_authorization`, and Go
//! `openapi-util` `GetAuthorization`), which this module follows:
//! - URI: the request's `pathname` verbatim, `/` when empty. The generated clients percent-encode
//!   each path parameter themselves (`get_encode_param`, RFC 3986, so `/` inside a parameter is
//!   `%2F`) and the HTTP layer sends that path unchanged, so the path *as received* is the
//!   canonical URI: it is not decoded or re-encoded here.
//! - Query: the decoded parameters sorted by key, each as `key=pe(value)` — the key is *not*
//!   encoded by either SDK (the vendor document says to encode it; for the unreserved keys every
//!   API uses the two agree). [`verify`] also tries encoded keys when a key has other characters.
//! - Headers: every name in `SignedHeaders`, `name:trim(value)\n`, several values of one name
//!   sorted and joined with `,`. Python signs all headers it set, Go only `host`, `content-type`
//!   and `x-acs-*`; the server therefore follows `SignedHeaders`.

use hmac::{Hmac, Mac};
use keyless_secret::{ct_eq, SecretString};
use sha2::{Digest, Sha256};

use crate::encode::{form_decode, hex_decode, hex_lower, is_unreserved, percent_encode_into};
use crate::error::{clip, SignError};
use crate::time::parse_timestamp;
use crate::{limits, RequestParts};

/// The algorithm this module signs and verifies.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";
/// Hex SHA-256 of the empty body.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A parsed `Authorization: ACS3-HMAC-SHA256 ...` header. Parsing it proves nothing about the
/// request; it says which key to look up and which headers were signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acs3Authorization {
    algorithm: String,
    access_key_id: String,
    signed_headers: Vec<String>,
    signature_hex: String,
}

impl Acs3Authorization {
    /// Always [`ALGORITHM`]; other algorithms are rejected when parsing.
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }
    /// `Credential`: the access key whose secret verifies the request.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// `SignedHeaders`, lower-cased, in the order given (the SDKs sort them).
    pub fn signed_headers(&self) -> &[String] {
        &self.signed_headers
    }
    /// `Signature`: 64 hex digits.
    pub fn signature_hex(&self) -> &str {
        &self.signature_hex
    }
}

/// `!#$%&'*+-.^_`|~`, digits and letters (RFC 9110 `token`).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Parses the `Authorization` header value.
///
/// `ACS3-HMAC-SM3` and `ACS3-RSA-SHA256` (and anything else) are rejected with
/// [`SignError::UnsupportedAlgorithm`].
pub fn parse_authorization(value: &str) -> Result<Acs3Authorization, SignError> {
    use SignError::MalformedAuthorization as Malformed;

    limits::check_len(
        "authorization header",
        value.len(),
        limits::MAX_AUTHORIZATION_BYTES,
    )?;
    let value = value.trim();
    let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(SignError::UnsupportedAlgorithm(clip(algorithm)));
    }

    let (mut credential, mut signed, mut signature) = (None, None, None);
    for field in rest.split(',') {
        let (key, val) = field.trim().split_once('=').ok_or(Malformed(
            "expected `Credential`, `SignedHeaders` and `Signature` fields",
        ))?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err(Malformed("unknown field")),
        };
        if slot.replace(val).is_some() {
            return Err(Malformed("a field is given more than once"));
        }
    }

    let credential = credential.ok_or(Malformed("missing `Credential`"))?;
    if credential.is_empty()
        || credential
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Malformed("invalid `Credential`"));
    }

    let signed = signed.ok_or(Malformed("missing `SignedHeaders`"))?;
    let mut signed_headers: Vec<String> = Vec::new();
    for name in signed.split(';') {
        if !is_token(name) {
            return Err(Malformed("invalid header name in `SignedHeaders`"));
        }
        limits::check_count(
            "signed headers",
            signed_headers.len() + 1,
            limits::MAX_SIGNED_HEADERS,
        )?;
        let name = name.to_ascii_lowercase();
        if signed_headers.contains(&name) {
            return Err(Malformed("a header is listed twice in `SignedHeaders`"));
        }
        signed_headers.push(name);
    }

    let signature = signature.ok_or(Malformed("missing `Signature`"))?;
    if signature.len() != 64 || hex_decode(signature).is_none() {
        return Err(SignError::MalformedSignature("hex"));
    }

    Ok(Acs3Authorization {
        algorithm: ALGORITHM.to_owned(),
        access_key_id: credential.to_owned(),
        signed_headers,
        signature_hex: signature.to_owned(),
    })
}

fn canonical_query_pairs(pairs: &[(String, String)], encode_keys: bool) -> String {
    let mut sorted: Vec<_> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        if encode_keys {
            percent_encode_into(&mut out, k, false);
        } else {
            out.push_str(k);
        }
        out.push('=');
        percent_encode_into(&mut out, v, false);
    }
    out
}

/// The canonical query: `raw_query` form-decoded, sorted by key (stable for duplicates), each
/// pair as `key=pe(value)` (an empty value gives `key=`), joined by `&`.
pub fn canonical_query(raw_query: &str) -> Result<String, SignError> {
    Ok(canonical_query_pairs(&form_decode(raw_query)?, false))
}

fn canonical_headers(
    req: &RequestParts<'_>,
    signed_headers: &[String],
) -> Result<String, SignError> {
    let mut out = String::new();
    for name in signed_headers {
        let mut values: Vec<&str> = req.header_values(name).map(str::trim).collect();
        if values.is_empty() {
            return Err(SignError::MissingHeader(clip(name)));
        }
        values.sort_unstable();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    Ok(out)
}

fn assemble(
    req: &RequestParts<'_>,
    query: &str,
    headers: &str,
    signed_headers: &[String],
    hashed_payload_hex: &str,
) -> String {
    let uri = if req.raw_path.is_empty() {
        "/"
    } else {
        req.raw_path
    };
    format!(
        "{}\n{uri}\n{query}\n{headers}\n{}\n{hashed_payload_hex}",
        req.method,
        signed_headers.join(";")
    )
}

/// The canonical request for `req` with the given signed header names (lower-case) and body hash.
pub fn canonical_request(
    req: &RequestParts<'_>,
    signed_headers: &[String],
    hashed_payload_hex: &str,
) -> Result<String, SignError> {
    req.check_limits()?;
    limits::check_count(
        "signed headers",
        signed_headers.len(),
        limits::MAX_SIGNED_HEADERS,
    )?;
    let query = canonical_query(req.raw_query)?;
    let headers = canonical_headers(req, signed_headers)?;
    Ok(assemble(
        req,
        &query,
        &headers,
        signed_headers,
        hashed_payload_hex,
    ))
}

/// `"ACS3-HMAC-SHA256\n" + hex(sha256(canonical_request))`.
pub fn string_to_sign(canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}",
        hex_lower(&Sha256::digest(canonical_request.as_bytes()))
    )
}

/// `None` only if HMAC refused the key, which it never does; callers treat that as a mismatch.
fn mac(secret: &str, string_to_sign: &str) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(string_to_sign.as_bytes());
    Some(mac.finalize().into_bytes().into())
}

fn mac_matches(secret: &str, string_to_sign: &str, given: &[u8]) -> bool {
    mac(secret, string_to_sign).is_some_and(|m| ct_eq(&m, given))
}

/// `hex(HMAC-SHA256(secret, string_to_sign))` — the key is the bare secret, no `&`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    mac(secret, string_to_sign)
        .map(|m| hex_lower(&m))
        .unwrap_or_default()
}

/// Hex SHA-256 of a request body, for `x-acs-content-sha256` and [`verify`].
pub fn hashed_payload(body: &[u8]) -> String {
    hex_lower(&Sha256::digest(body))
}

/// Encodes query pairs for the wire (`pe(key)=pe(value)` joined by `&`, order kept); what a
/// client puts after `?`.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode_into(&mut out, k, false);
        out.push('=');
        percent_encode_into(&mut out, v, false);
    }
    out
}

/// Proof that an ACS3 request was signed with the secret of [`Acs3Verified::access_key_id`], with
/// every `x-acs-*` header and `host` signed and the body matching `x-acs-content-sha256`. Only
/// [`verify`] makes one.
#[derive(Debug, Clone)]
pub struct Acs3Verified {
    access_key_id: String,
    signed_headers: Vec<String>,
    date: i64,
    nonce: Option<String>,
    security_token: Option<SecretString>,
    action: Option<String>,
    version: Option<String>,
}

impl Acs3Verified {
    /// The verified access key (`Credential`).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The headers the signature covers.
    pub fn signed_headers(&self) -> &[String] {
        &self.signed_headers
    }
    /// `x-acs-date` in Unix seconds; the caller checks skew.
    pub fn date(&self) -> i64 {
        self.date
    }
    /// `x-acs-signature-nonce`, if sent (the SDKs always send one); the caller checks replay.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }
    /// `x-acs-security-token` when the request used STS credentials; the caller validates it.
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

/// Verifies an ACS3 request.
///
/// `body_sha256_hex` is the hex SHA-256 of the body as received ([`hashed_payload`]). Checks, in
/// order: limits; `host` and every present `x-acs-*` header are signed; `x-acs-content-sha256`
/// equals the body hash; `x-acs-date` parses; `x-acs-accesskey-id`, if present, names the
/// credential; then the signature (constant-time). On mismatch the error carries the server's
/// string to sign and canonical request.
pub fn verify(
    req: &RequestParts<'_>,
    body_sha256_hex: &str,
    auth: &Acs3Authorization,
    secret: &SecretString,
) -> Result<Acs3Verified, SignError> {
    req.check_limits()?;
    let signed = auth.signed_headers();
    let is_signed = |name: &str| signed.iter().any(|s| s.eq_ignore_ascii_case(name));

    if req.header_values("host").next().is_none() {
        return Err(SignError::MissingHeader("host".to_owned()));
    }
    if !is_signed("host") {
        return Err(SignError::UnsignedHeader("host".to_owned()));
    }
    for (name, _) in req.headers {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("x-acs-") && !is_signed(&lower) {
            return Err(SignError::UnsignedHeader(clip(&lower)));
        }
    }

    let content_hash = req
        .single_header("x-acs-content-sha256")?
        .ok_or_else(|| SignError::MissingHeader("x-acs-content-sha256".to_owned()))?;
    match (hex_decode(content_hash), hex_decode(body_sha256_hex)) {
        (Some(sent), Some(body)) if sent.len() == 32 && ct_eq(&sent, &body) => {}
        _ => return Err(SignError::ContentHashMismatch),
    }

    let date = req
        .single_header("x-acs-date")?
        .ok_or_else(|| SignError::MissingHeader("x-acs-date".to_owned()))?;
    let date = parse_timestamp(date.trim())?;

    if let Some(id) = req.single_header("x-acs-accesskey-id")? {
        if id.trim() != auth.access_key_id() {
            return Err(SignError::AccessKeyIdMismatch(clip(auth.access_key_id())));
        }
    }
    let nonce = req.single_header("x-acs-signature-nonce")?;
    let security_token = req.single_header("x-acs-security-token")?;
    let action = req.single_header("x-acs-action")?;
    let version = req.single_header("x-acs-version")?;

    let given = hex_decode(auth.signature_hex())
        .filter(|g| g.len() == 32)
        .ok_or(SignError::MalformedSignature("hex"))?;
    let pairs = form_decode(req.raw_query)?;
    let headers = canonical_headers(req, signed)?;
    let secret = secret.expose_secret();

    let canonical = |encode_keys: bool| {
        let query = canonical_query_pairs(&pairs, encode_keys);
        assemble(req, &query, &headers, signed, content_hash)
    };
    let standard = canonical(false);
    let standard_sts = string_to_sign(&standard);
    let mut ok = mac_matches(secret, &standard_sts, &given);
    if !ok && pairs.iter().any(|(k, _)| !k.bytes().all(is_unreserved)) {
        ok = mac_matches(secret, &string_to_sign(&canonical(true)), &given);
    }
    if !ok {
        return Err(SignError::SignatureMismatch {
            string_to_sign: standard_sts,
            canonical_request: Some(standard),
        });
    }

    let owned = |v: Option<&str>| v.map(|s| s.trim().to_owned());
    Ok(Acs3Verified {
        access_key_id: auth.access_key_id().to_owned(),
        signed_headers: signed.to_vec(),
        date,
        nonce: owned(nonce),
        security_token: owned(security_token).map(SecretString::new),
        action: owned(action),
        version: owned(version),
    })
}

/// Client side: the `Authorization` value for `req`, signing every header in it (as the Python SDK
/// does) except `authorization` itself.
///
/// The caller sets `host`, `x-acs-date` ([`crate::format_timestamp`]), `x-acs-content-sha256`
/// ([`hashed_payload`]), `x-acs-signature-nonce`, `x-acs-action`/`x-acs-version` and, with STS
/// credentials, `x-acs-accesskey-id` and `x-acs-security-token`; the query is built with
/// [`encode_query`]. Whatever this signs, [`verify`] accepts.
pub fn sign_request(
    req: &RequestParts<'_>,
    access_key_id: &str,
    secret: &SecretString,
) -> Result<String, SignError> {
    req.check_limits()?;
    if access_key_id.is_empty()
        || access_key_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',')
    {
        return Err(SignError::MalformedAuthorization("invalid access key id"));
    }
    let mut signed: Vec<String> = Vec::new();
    for (name, _) in req.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "authorization" || signed.contains(&lower) {
            continue;
        }
        if !is_token(&lower) {
            return Err(SignError::MalformedAuthorization("invalid header name"));
        }
        signed.push(lower);
    }
    limits::check_count("signed headers", signed.len(), limits::MAX_SIGNED_HEADERS)?;
    signed.sort_unstable();
    for required in ["host", "x-acs-date", "x-acs-content-sha256"] {
        if !signed.iter().any(|s| s == required) {
            return Err(SignError::MissingHeader(required.to_owned()));
        }
    }
    if let Some(date) = req.single_header("x-acs-date")? {
        parse_timestamp(date.trim())?;
    }
    let payload = req
        .single_header("x-acs-content-sha256")?
        .ok_or_else(|| SignError::MissingHeader("x-acs-content-sha256".to_owned()))?;
    if hex_decode(payload).is_none_or(|h| h.len() != 32) {
        return Err(SignError::ContentHashMismatch);
    }
    let canonical = canonical_request(req, &signed, payload)?;
    let signature = sign(secret.expose_secret(), &string_to_sign(&canonical));
    Ok(format!(
        "{ALGORITHM} Credential={access_key_id},SignedHeaders={},Signature={signature}",
        signed.join(";")
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

    fn base_headers() -> Vec<(String, String)> {
        h(&[
            ("host", "127.0.0.1:8080"),
            ("x-acs-action", "AssumeRole"),
            ("x-acs-version", "2015-04-01"),
            ("x-acs-date", "2026-01-02T03:04:05Z"),
            ("x-acs-signature-nonce", "n-1"),
            ("x-acs-content-sha256", EMPTY_PAYLOAD_SHA256),
        ])
    }

    #[test]
    fn parses_authorization() {
        let a = parse_authorization(
            "ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=Host;x-acs-date,Signature=\
             5d05000000000000000000000000000000000000000000000000000000000000",
        )
        .unwrap();
        assert_eq!(a.algorithm(), ALGORITHM);
        assert_eq!(a.access_key_id(), "AK1");
        assert_eq!(a.signed_headers(), ["host", "x-acs-date"]);
        assert_eq!(a.signature_hex().len(), 64);
    }

    #[test]
    fn rejects_other_algorithms_clearly() {
        for alg in [
            "ACS3-HMAC-SM3",
            "ACS3-RSA-SHA256",
            "AWS4-HMAC-SHA256",
            "acs",
        ] {
            let e = parse_authorization(&format!(
                "{alg} Credential=a,SignedHeaders=host,Signature=00"
            ))
            .unwrap_err();
            assert_eq!(e, SignError::UnsupportedAlgorithm(alg.to_owned()));
            assert!(e.to_string().contains(alg));
        }
    }

    #[test]
    fn rejects_malformed_authorization() {
        let sig = "0".repeat(64);
        for bad in [
            String::new(),
            "ACS3-HMAC-SHA256".to_owned(),
            "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host".to_owned(),
            format!("ACS3-HMAC-SHA256 Credential=a,Signature={sig}"),
            format!("ACS3-HMAC-SHA256 SignedHeaders=host,Signature={sig}"),
            format!("ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature={sig}"),
            format!("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;;x,Signature={sig}"),
            format!("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;HOST,Signature={sig}"),
            "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=zz".to_owned(),
            format!("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature={sig},X=1"),
            format!(
                "ACS3-HMAC-SHA256 Credential=a,Credential=b,SignedHeaders=host,Signature={sig}"
            ),
            format!("ACS3-HMAC-SHA256 Credential=a b,SignedHeaders=host,Signature={sig}"),
        ] {
            assert!(parse_authorization(&bad).is_err(), "{bad}");
        }
        let many = vec!["h"; limits::MAX_SIGNED_HEADERS + 1]
            .iter()
            .enumerate()
            .map(|(i, h)| format!("{h}{i}"))
            .collect::<Vec<_>>()
            .join(";");
        assert!(matches!(
            parse_authorization(&format!(
                "ACS3-HMAC-SHA256 Credential=a,SignedHeaders={many},Signature={sig}"
            )),
            Err(SignError::TooMany { .. })
        ));
    }

    #[test]
    fn canonical_query_sorts_and_encodes_values_only() {
        assert_eq!(
            canonical_query("b=x+y&a=%2A&c=&a.b=~").unwrap(),
            "a=%2A&a.b=~&b=x%20y&c="
        );
        assert_eq!(canonical_query("").unwrap(), "");
    }

    #[test]
    fn canonical_request_layout() {
        let headers = h(&[
            ("host", " example.com "),
            ("x-acs-date", "2026-01-02T03:04:05Z"),
            ("x-acs-multi", "b"),
            ("x-acs-multi", "a"),
            ("accept-encoding", "gzip"),
        ]);
        let req = RequestParts {
            method: "GET",
            raw_path: "",
            raw_query: "z=1&a=2",
            headers: &headers,
        };
        let signed = vec!["host".to_owned(), "x-acs-multi".to_owned()];
        assert_eq!(
            canonical_request(&req, &signed, EMPTY_PAYLOAD_SHA256).unwrap(),
            format!("GET\n/\na=2&z=1\nhost:example.com\nx-acs-multi:a,b\n\nhost;x-acs-multi\n{EMPTY_PAYLOAD_SHA256}")
        );
        let missing = vec!["content-type".to_owned()];
        assert_eq!(
            canonical_request(&req, &missing, EMPTY_PAYLOAD_SHA256),
            Err(SignError::MissingHeader("content-type".to_owned()))
        );
    }

    #[test]
    fn sign_then_verify_and_policy_checks() {
        let secret = SecretString::from("s3cret");
        let headers = base_headers();
        let req = RequestParts {
            method: "POST",
            raw_path: "/",
            raw_query: "RoleArn=acs%3Aram%3A%3A1%3Arole%2Fr&RoleSessionName=s+1",
            headers: &headers,
        };
        let auth_value = sign_request(&req, "AK1", &secret).unwrap();
        let auth = parse_authorization(&auth_value).unwrap();
        let v = verify(&req, EMPTY_PAYLOAD_SHA256, &auth, &secret).unwrap();
        assert_eq!(v.access_key_id(), "AK1");
        assert_eq!(v.date(), 1_767_323_045);
        assert_eq!(v.nonce(), Some("n-1"));
        assert_eq!(v.action(), Some("AssumeRole"));
        assert_eq!(v.version(), Some("2015-04-01"));
        assert!(v.security_token().is_none());

        // Body hash must match.
        assert_eq!(
            verify(&req, &hashed_payload(b"x"), &auth, &secret).unwrap_err(),
            SignError::ContentHashMismatch
        );
        // Wrong secret: the error carries the canonical request.
        let e = verify(&req, EMPTY_PAYLOAD_SHA256, &auth, &SecretString::from("x")).unwrap_err();
        assert!(e
            .server_string_to_sign()
            .unwrap()
            .starts_with("ACS3-HMAC-SHA256\n"));
        assert!(e
            .server_canonical_request()
            .unwrap()
            .starts_with("POST\n/\n"));

        // An unsigned x-acs-* header is refused, even if the signature is otherwise fine.
        let mut more = headers.clone();
        more.push(("x-acs-extra".to_owned(), "1".to_owned()));
        let req2 = RequestParts {
            headers: &more,
            ..req
        };
        assert_eq!(
            verify(&req2, EMPTY_PAYLOAD_SHA256, &auth, &secret).unwrap_err(),
            SignError::UnsignedHeader("x-acs-extra".to_owned())
        );
    }

    #[test]
    fn host_must_be_signed_and_key_ids_agree() {
        let secret = SecretString::from("s3cret");
        let mut headers = base_headers();
        headers.push(("x-acs-accesskey-id".to_owned(), "OTHER".to_owned()));
        let req = RequestParts {
            method: "GET",
            raw_path: "/",
            raw_query: "",
            headers: &headers,
        };
        let auth = parse_authorization(&sign_request(&req, "AK1", &secret).unwrap()).unwrap();
        assert_eq!(
            verify(&req, EMPTY_PAYLOAD_SHA256, &auth, &secret).unwrap_err(),
            SignError::AccessKeyIdMismatch("AK1".to_owned())
        );

        let headers = base_headers();
        let req = RequestParts {
            headers: &headers,
            ..req
        };
        let sig = "0".repeat(64);
        let no_host = parse_authorization(&format!(
            "ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=x-acs-action;x-acs-content-sha256;\
             x-acs-date;x-acs-signature-nonce;x-acs-version,Signature={sig}"
        ))
        .unwrap();
        assert_eq!(
            verify(&req, EMPTY_PAYLOAD_SHA256, &no_host, &secret).unwrap_err(),
            SignError::UnsignedHeader("host".to_owned())
        );
    }

    #[test]
    fn encoded_key_variant_is_accepted() {
        // A client that follows the vendor document and encodes keys as well.
        let secret = SecretString::from("s3cret");
        let headers = base_headers();
        let req = RequestParts {
            method: "GET",
            raw_path: "/",
            raw_query: "Tag%5B1%5D=v",
            headers: &headers,
        };
        let mut signed: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
        signed.sort();
        let cr = canonical_request(&req, &signed, EMPTY_PAYLOAD_SHA256).unwrap();
        assert!(cr.contains("\nTag[1]=v\n"));
        let encoded = cr.replace("\nTag[1]=v\n", "\nTag%5B1%5D=v\n");
        let sig = sign("s3cret", &string_to_sign(&encoded));
        let auth = parse_authorization(&format!(
            "ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders={},Signature={sig}",
            signed.join(";")
        ))
        .unwrap();
        assert!(verify(&req, EMPTY_PAYLOAD_SHA256, &auth, &secret).is_ok());
    }

    #[test]
    fn sign_request_requires_the_essentials() {
        let secret = SecretString::from("s");
        let headers = h(&[("host", "h")]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/",
            raw_query: "",
            headers: &headers,
        };
        assert_eq!(
            sign_request(&req, "AK", &secret),
            Err(SignError::MissingHeader("x-acs-date".to_owned()))
        );
        let headers = base_headers();
        let req = RequestParts {
            headers: &headers,
            ..req
        };
        assert!(sign_request(&req, "", &secret).is_err());
        assert!(sign_request(&req, "A,B", &secret).is_err());
    }
}
