//! One V3-signed (`ACS3-HMAC-SHA256`) JSON exchange made with a [`Credentials`], the way the
//! tea-openapi clients sign: `x-acs-action` / `x-acs-version` / `x-acs-date` /
//! `x-acs-signature-nonce` / `x-acs-content-sha256` headers, plus `x-acs-accesskey-id` and
//! `x-acs-security-token` for STS credentials. Plain HTTP only.
//!
//! The RAM role ARN provider calls STS `AssumeRole` through [`call`]; the service clients of
//! `keyless-clients` (RPC and ROA) are built on the same function, so there is one signer of
//! outgoing OpenAPI requests.

use crate::error::RpcError;
use crate::http::{self, HttpUrl, Timeouts};
use crate::Credentials;
use hyper::Method;
use keyless_sign::{acs3, RequestParts};
use serde_json::Value;
use std::time::Duration;

/// The official clients' timeouts for OpenAPI calls: 5 s to connect, 10 s to answer.
pub const DEFAULT_TIMEOUTS: Timeouts =
    Timeouts::new(Duration::from_secs(5), Duration::from_secs(10));
/// Largest response body read.
const MAX_BODY: usize = 1 << 20;

/// One request to sign and send.
///
/// An RPC-style action (RAM, STS) is `POST /` with every parameter in `query` and no body; a
/// ROA-style action (EAS) has its own method, path and optional JSON body.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The path, already percent-encoded per segment (`/` for RPC).
    pub path: &'a str,
    /// Query parameters, unencoded.
    pub query: &'a [(&'a str, &'a str)],
    /// `x-acs-action`, e.g. `AssumeRole`.
    pub action: &'a str,
    /// `x-acs-version`, e.g. `2015-04-01`.
    pub version: &'a str,
    /// A JSON body, sent as `application/json; charset=utf-8`.
    pub body: Option<&'a Value>,
}

impl<'a> Request<'a> {
    /// An RPC-style request: `POST /` with `params` in the query and no body.
    pub fn rpc(action: &'a str, version: &'a str, params: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            method: "POST",
            path: "/",
            query: params,
            action,
            version,
            body: None,
        }
    }
}

/// How to send a request: the clock reading for `x-acs-date`, the timeouts and the `user-agent`.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Unix seconds (UTC), from the caller's [`TimeSource`](crate::TimeSource).
    pub now: i64,
    /// Connect and read timeouts.
    pub timeouts: Timeouts,
    /// The `user-agent` header.
    pub user_agent: &'a str,
}

/// Signs `request` with `credentials`, sends it to `endpoint` (its path is replaced by the
/// request's), and returns the JSON response body.
///
/// HTTP 2xx is success. Otherwise a JSON body with a `Code` becomes [`RpcError::Service`],
/// anything else [`RpcError::InvalidResponse`].
pub async fn call(
    endpoint: &HttpUrl,
    request: &Request<'_>,
    credentials: &Credentials,
    options: &Options<'_>,
) -> Result<Value, RpcError> {
    let method =
        Method::from_bytes(request.method.as_bytes()).map_err(|_| RpcError::InvalidResponse {
            status: 0,
            message: format!(
                "`{}` is not an HTTP method",
                keyless_wire::clip(request.method)
            ),
        })?;
    let pairs: Vec<(String, String)> = request
        .query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let raw_query = acs3::encode_query(&pairs);
    let body = request
        .body
        .map(|b| b.to_string().into_bytes())
        .unwrap_or_default();
    let headers = signed_headers(endpoint, request, &raw_query, &body, credentials, options)?;
    let target = if raw_query.is_empty() {
        request.path.to_owned()
    } else {
        format!("{}?{raw_query}", request.path)
    };
    let resp = http::send(
        method,
        &endpoint.with_path(&target),
        &headers,
        body,
        options.timeouts,
        MAX_BODY,
    )
    .await
    .map_err(|e| RpcError::Transport(format!("{}: {e}", endpoint.authority)))?;
    parse_response(resp.status, &resp.body)
}

/// The request headers, `authorization` last.
fn signed_headers(
    endpoint: &HttpUrl,
    request: &Request<'_>,
    raw_query: &str,
    body: &[u8],
    credentials: &Credentials,
    options: &Options<'_>,
) -> Result<Vec<(String, String)>, RpcError> {
    let date = keyless_sign::format_timestamp(options.now).ok_or_else(|| {
        RpcError::Sign(keyless_sign::SignError::InvalidTimestamp(
            "clock out of range".into(),
        ))
    })?;
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), endpoint.authority.clone()),
        ("accept".into(), "application/json".into()),
        ("user-agent".into(), options.user_agent.to_owned()),
        ("x-acs-action".into(), request.action.to_owned()),
        ("x-acs-version".into(), request.version.to_owned()),
        ("x-acs-date".into(), date),
        ("x-acs-signature-nonce".into(), nonce()?),
        ("x-acs-content-sha256".into(), acs3::hashed_payload(body)),
    ];
    if request.body.is_some() {
        headers.push((
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        ));
    }
    if let Some(token) = credentials.security_token() {
        headers.push((
            "x-acs-accesskey-id".into(),
            credentials.access_key_id().to_owned(),
        ));
        headers.push((
            "x-acs-security-token".into(),
            token.expose_secret().to_owned(),
        ));
    }
    let parts = RequestParts {
        method: request.method,
        raw_path: request.path,
        raw_query,
        headers: &headers,
    };
    let authorization = acs3::sign_request(
        &parts,
        credentials.access_key_id(),
        credentials.access_key_secret(),
    )?;
    headers.push(("authorization".into(), authorization));
    Ok(headers)
}

/// 16 random bytes, hex.
fn nonce() -> Result<String, RpcError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|_| RpcError::Random)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn parse_response(status: u16, body: &[u8]) -> Result<Value, RpcError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if (200..300).contains(&status) {
        return json.ok_or_else(|| RpcError::InvalidResponse {
            status,
            message: "the body is not JSON".into(),
        });
    }
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    match json.as_ref().and_then(|v| text(v, "Code").map(|c| (v, c))) {
        Some((v, code)) => Err(RpcError::Service {
            status,
            code,
            message: text(v, "Message").unwrap_or_default(),
            request_id: text(v, "RequestId").unwrap_or_default(),
        }),
        None => Err(RpcError::InvalidResponse {
            status,
            message: "an error without a JSON `Code`".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyless_secret::SecretString;

    fn header<'h>(headers: &'h [(String, String)], n: &str) -> &'h str {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn signs_what_the_verifier_accepts() {
        let endpoint = HttpUrl::parse_endpoint("http://127.0.0.1:18931").unwrap();
        let creds = Credentials::from_keys("STS.k", "s3cret", Some(SecretString::from("tok")));
        let params = [("RoleArn", "acs:ram::1:role/r"), ("Policy", "{\"a\": 1}")];
        let request = Request::rpc("AssumeRole", "2015-04-01", &params);
        let options = Options {
            now: 1_767_323_045,
            timeouts: DEFAULT_TIMEOUTS,
            user_agent: "test",
        };
        let query = acs3::encode_query(
            &params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>(),
        );
        let headers = signed_headers(&endpoint, &request, &query, b"", &creds, &options).unwrap();
        assert_eq!(header(&headers, "host"), "127.0.0.1:18931");
        assert_eq!(header(&headers, "x-acs-date"), "2026-01-02T03:04:05Z");
        assert_eq!(header(&headers, "x-acs-accesskey-id"), "STS.k");
        assert_eq!(header(&headers, "x-acs-signature-nonce").len(), 32);
        assert_eq!(
            header(&headers, "x-acs-content-sha256"),
            acs3::EMPTY_PAYLOAD_SHA256
        );
        assert!(!headers.iter().any(|(k, _)| k == "content-type"));

        let auth = acs3::parse_authorization(header(&headers, "authorization")).unwrap();
        assert!(auth
            .signed_headers()
            .iter()
            .any(|h| h == "x-acs-security-token"));
        let unsigned: Vec<(String, String)> = headers
            .iter()
            .filter(|(k, _)| k != "authorization")
            .cloned()
            .collect();
        let parts = RequestParts {
            method: "POST",
            raw_path: "/",
            raw_query: &query,
            headers: &unsigned,
        };
        let v = acs3::verify(
            &parts,
            acs3::EMPTY_PAYLOAD_SHA256,
            &auth,
            &SecretString::from("s3cret"),
        )
        .unwrap();
        assert_eq!(v.action(), Some("AssumeRole"));
        assert!(acs3::verify(
            &parts,
            acs3::EMPTY_PAYLOAD_SHA256,
            &auth,
            &SecretString::from("other")
        )
        .is_err());
    }

    #[test]
    fn a_json_body_is_hashed_and_typed() {
        let endpoint = HttpUrl::parse_endpoint("127.0.0.1:1").unwrap();
        let creds = Credentials::from_keys("LTAI", "s", None);
        let body = serde_json::json!({"a": 1});
        let request = Request {
            method: "PUT",
            path: "/api/v2/services/x",
            query: &[],
            action: "UpdateService",
            version: "2021-07-01",
            body: Some(&body),
        };
        let options = Options {
            now: 0,
            timeouts: DEFAULT_TIMEOUTS,
            user_agent: "test",
        };
        let bytes = body.to_string().into_bytes();
        let headers = signed_headers(&endpoint, &request, "", &bytes, &creds, &options).unwrap();
        assert_eq!(
            header(&headers, "x-acs-content-sha256"),
            acs3::hashed_payload(&bytes)
        );
        assert_eq!(
            header(&headers, "content-type"),
            "application/json; charset=utf-8"
        );
        assert!(!headers.iter().any(|(k, _)| k == "x-acs-security-token"));
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce().unwrap(), nonce().unwrap());
    }

    #[test]
    fn responses() {
        assert_eq!(
            parse_response(200, br#"{"a":1}"#).unwrap(),
            serde_json::json!({"a":1})
        );
        assert!(matches!(
            parse_response(200, b"<xml/>"),
            Err(RpcError::InvalidResponse { status: 200, .. })
        ));
        assert_eq!(
            parse_response(
                404,
                br#"{"Code":"EntityNotExist.Role","Message":"m","RequestId":"r"}"#
            ),
            Err(RpcError::Service {
                status: 404,
                code: "EntityNotExist.Role".into(),
                message: "m".into(),
                request_id: "r".into()
            })
        );
        assert!(matches!(
            parse_response(502, b"Bad Gateway"),
            Err(RpcError::InvalidResponse { status: 502, .. })
        ));
    }
}
