//! Calling RPC-style OpenAPI actions (RAM, STS, …) signed with V3 `ACS3-HMAC-SHA256`, the way
//! tea-openapi clients do: `POST /` with every parameter in the query, an empty body, and
//! `x-acs-action` / `x-acs-version` headers. Plain HTTP only.

use crate::error::RpcError;
use crate::http::{self, HttpUrl, Timeouts};
use crate::time::{SystemTimeSource, TimeSource};
use crate::Credentials;
use hyper::Method;
use keyless_sign::{acs3, RequestParts};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Default RPC timeouts: 5 s to connect, 10 s to answer (as the official clients).
pub const DEFAULT_RPC_TIMEOUTS: Timeouts =
    Timeouts::new(Duration::from_secs(5), Duration::from_secs(10));
/// Largest RPC response body read.
const MAX_RPC_BODY: usize = 1 << 20;

/// A client for one RPC endpoint.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use keyless_credentials::{Credentials, RpcClient};
///
/// let root = Credentials::from_keys("LTAI5tRoot", "root-secret", None);
/// let ram = RpcClient::new("127.0.0.1:18930")?;
/// let user = ram
///     .call("CreateUser", "2015-05-01", &[("UserName", "alice")], &root)
///     .await?;
/// println!("{}", user["User"]["UserId"]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RpcClient {
    url: HttpUrl,
    timeouts: Timeouts,
    time_source: Arc<dyn TimeSource>,
    user_agent: String,
}

impl RpcClient {
    /// A client for `endpoint`: `host[:port]` or `http://host[:port]` (`https://` is refused).
    pub fn new(endpoint: &str) -> Result<Self, RpcError> {
        Ok(Self {
            url: HttpUrl::parse_endpoint(endpoint).map_err(RpcError::InvalidEndpoint)?,
            timeouts: DEFAULT_RPC_TIMEOUTS,
            time_source: Arc::new(SystemTimeSource),
            user_agent: format!("keyless-credentials/{}", env!("CARGO_PKG_VERSION")),
        })
    }

    /// Uses other timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Uses another clock for `x-acs-date`.
    pub fn with_time_source(mut self, time_source: Arc<dyn TimeSource>) -> Self {
        self.time_source = time_source;
        self
    }

    /// The `host[:port]` requests are sent (and signed) for.
    pub fn authority(&self) -> &str {
        &self.url.authority
    }

    /// Calls `action` of API `version` with `params` (the business parameters, e.g.
    /// `RoleArn`), signed with `credentials`, and returns the JSON response body.
    ///
    /// HTTP 2xx is success. Otherwise a JSON body with a `Code` becomes
    /// [`RpcError::Service`], anything else [`RpcError::InvalidResponse`].
    pub async fn call(
        &self,
        action: &str,
        version: &str,
        params: &[(&str, &str)],
        credentials: &Credentials,
    ) -> Result<Value, RpcError> {
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let query = acs3::encode_query(&pairs);
        let headers = self.signed_headers(action, version, &query, credentials)?;
        let path = if query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{query}")
        };
        let url = self.url.with_path(&path);
        let resp = http::send(
            Method::POST,
            &url,
            &headers,
            Vec::new(),
            self.timeouts,
            MAX_RPC_BODY,
        )
        .await
        .map_err(|e| RpcError::Transport(format!("{}: {e}", self.url.authority)))?;
        parse_response(resp.status, &resp.body)
    }

    /// The request headers, `authorization` last, for a `POST /?{query}` with an empty body.
    fn signed_headers(
        &self,
        action: &str,
        version: &str,
        query: &str,
        credentials: &Credentials,
    ) -> Result<Vec<(String, String)>, RpcError> {
        let date = keyless_sign::format_timestamp(self.time_source.now()).ok_or_else(|| {
            RpcError::Sign(keyless_sign::SignError::InvalidTimestamp(
                "clock out of range".into(),
            ))
        })?;
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.url.authority.clone()),
            ("accept".into(), "application/json".into()),
            ("user-agent".into(), self.user_agent.clone()),
            ("x-acs-action".into(), action.to_owned()),
            ("x-acs-version".into(), version.to_owned()),
            ("x-acs-date".into(), date),
            ("x-acs-signature-nonce".into(), nonce()?),
            (
                "x-acs-content-sha256".into(),
                acs3::EMPTY_PAYLOAD_SHA256.to_owned(),
            ),
        ];
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
            method: "POST",
            raw_path: "/",
            raw_query: query,
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
}

/// One ROA-style request (EAS): `method` on `path` (already percent-encoded per segment) with
/// `query` and an optional JSON `body`.
#[derive(Debug, Clone, Copy)]
pub struct RoaRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub action: &'a str,
    pub version: &'a str,
    pub body: Option<&'a Value>,
}

impl RpcClient {
    /// Calls a ROA-style action, V3-signed with `credentials`; returns the JSON response body.
    pub async fn roa_call(
        &self,
        req: RoaRequest<'_>,
        credentials: &Credentials,
    ) -> Result<Value, RpcError> {
        let RoaRequest {
            method,
            path,
            query,
            action,
            version,
            body,
        } = req;
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let raw_query = acs3::encode_query(&pairs);
        let body_bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let date = keyless_sign::format_timestamp(self.time_source.now()).ok_or_else(|| {
            RpcError::Sign(keyless_sign::SignError::InvalidTimestamp(
                "clock out of range".into(),
            ))
        })?;
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.url.authority.clone()),
            ("accept".into(), "application/json".into()),
            ("user-agent".into(), self.user_agent.clone()),
            ("x-acs-action".into(), action.to_owned()),
            ("x-acs-version".into(), version.to_owned()),
            ("x-acs-date".into(), date),
            ("x-acs-signature-nonce".into(), nonce()?),
            (
                "x-acs-content-sha256".into(),
                acs3::hashed_payload(&body_bytes),
            ),
        ];
        if body.is_some() {
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
            method,
            raw_path: path,
            raw_query: &raw_query,
            headers: &headers,
        };
        let authorization = acs3::sign_request(
            &parts,
            credentials.access_key_id(),
            credentials.access_key_secret(),
        )?;
        headers.push(("authorization".into(), authorization));
        let target = if raw_query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{raw_query}")
        };
        let m = Method::from_bytes(method.as_bytes()).map_err(|_| RpcError::InvalidResponse {
            status: 0,
            message: format!("`{method}` is not an HTTP method"),
        })?;
        let resp = http::send(
            m,
            &self.url.with_path(&target),
            &headers,
            body_bytes,
            self.timeouts,
            MAX_RPC_BODY,
        )
        .await
        .map_err(|e| RpcError::Transport(format!("{}: {e}", self.url.authority)))?;
        parse_response(resp.status, &resp.body)
    }
}

/// Calls `action` on `endpoint` with default settings; see [`RpcClient::call`].
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use keyless_credentials::{rpc_call, Credentials};
///
/// let creds = Credentials::from_keys("LTAI5tExample", "secret", None);
/// let me = rpc_call("127.0.0.1:18931", "GetCallerIdentity", "2015-04-01", &[], &creds).await?;
/// println!("{}", me["Arn"]);
/// # Ok(()) }
/// ```
pub async fn rpc_call(
    endpoint: &str,
    action: &str,
    version: &str,
    params: &[(&str, &str)],
    credentials: &Credentials,
) -> Result<Value, RpcError> {
    RpcClient::new(endpoint)?
        .call(action, version, params, credentials)
        .await
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
    use crate::ManualTimeSource;
    use keyless_secret::SecretString;

    #[test]
    fn signs_what_the_verifier_accepts() {
        let client = RpcClient::new("http://127.0.0.1:18931")
            .unwrap()
            .with_time_source(Arc::new(ManualTimeSource::new(1_767_323_045)));
        let creds = Credentials::from_keys("STS.k", "s3cret", Some(SecretString::from("tok")));
        let query = acs3::encode_query(&[
            ("RoleArn".to_owned(), "acs:ram::1:role/r".to_owned()),
            ("Policy".to_owned(), "{\"a\": 1}".to_owned()),
        ]);
        let headers = client
            .signed_headers("AssumeRole", "2015-04-01", &query, &creds)
            .unwrap();
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .unwrap()
        };
        assert_eq!(get("host"), "127.0.0.1:18931");
        assert_eq!(get("x-acs-date"), "2026-01-02T03:04:05Z");
        assert_eq!(get("x-acs-accesskey-id"), "STS.k");
        assert_eq!(get("x-acs-signature-nonce").len(), 32);

        let auth = acs3::parse_authorization(get("authorization")).unwrap();
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

    #[test]
    fn endpoints_must_be_http() {
        assert!(matches!(
            RpcClient::new("https://sts.aliyuncs.com"),
            Err(RpcError::InvalidEndpoint(_))
        ));
        assert_eq!(
            RpcClient::new("sts.local:80").unwrap().authority(),
            "sts.local:80"
        );
    }
}
