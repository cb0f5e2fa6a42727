//! Calling RPC-style OpenAPI actions (RAM, STS, …) the way tea-openapi clients do — `POST /` with
//! every parameter in the query, an empty body, and `x-acs-action` / `x-acs-version` headers —
//! and ROA-style ones (EAS), all V3-signed through [`keyless_credentials::acs3`].

use keyless_credentials::acs3;
use keyless_credentials::http::HttpUrl;
use keyless_credentials::{Credentials, RpcError, SystemTimeSource, TimeSource, Timeouts};
use serde_json::Value;
use std::sync::Arc;

/// Default RPC timeouts: 5 s to connect, 10 s to answer (as the official clients).
pub const DEFAULT_RPC_TIMEOUTS: Timeouts = acs3::DEFAULT_TIMEOUTS;

/// One ROA-style request (EAS): `method` on `path` (already percent-encoded per segment) with
/// `query` and an optional JSON `body`.
pub type RoaRequest<'a> = acs3::Request<'a>;

/// A client for one RPC endpoint.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use keyless_clients::RpcClient;
/// use keyless_credentials::Credentials;
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
            user_agent: format!("keyless-clients/{}", env!("CARGO_PKG_VERSION")),
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
        self.roa_call(acs3::Request::rpc(action, version, params), credentials)
            .await
    }

    /// Calls a ROA-style action, V3-signed with `credentials`; returns the JSON response body.
    pub async fn roa_call(
        &self,
        req: RoaRequest<'_>,
        credentials: &Credentials,
    ) -> Result<Value, RpcError> {
        let options = acs3::Options {
            now: self.time_source.now(),
            timeouts: self.timeouts,
            user_agent: &self.user_agent,
        };
        acs3::call(&self.url, &req, credentials, &options).await
    }
}

/// Calls `action` on `endpoint` with default settings; see [`RpcClient::call`].
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use keyless_clients::rpc_call;
/// use keyless_credentials::Credentials;
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn debug_shows_no_secret() {
        let c = RpcClient::new("127.0.0.1:9").unwrap();
        assert!(format!("{c:?}").contains("127.0.0.1:9"));
    }
}
