//! Credentials of the instance's RAM role from the ECS metadata service.
//!
//! 1. `PUT /latest/api/token` with `X-aliyun-ecs-metadata-token-ttl-seconds: 21600` → token. If the
//!    service answers but refuses, the provider goes on without a token (IMDSv1) unless
//!    `ALIBABA_CLOUD_IMDSV1_DISABLED=true`.
//! 2. `GET /latest/meta-data/ram/security-credentials/` → the role name (skipped when the role is
//!    configured, or named by `ALIBABA_CLOUD_ECS_METADATA`).
//! 3. `GET /latest/meta-data/ram/security-credentials/<role>` → the credentials JSON document.
//!
//! Requests 2 and 3 carry `X-aliyun-ecs-metadata-token` when there is a token. Not loaded when
//! `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`, when nothing listens at the endpoint (not on ECS),
//! or when the instance has no role (404). Timeouts: 1 s to connect, 1 s to answer.

use crate::document;
use crate::http::{self, HttpError, HttpUrl, Response, Timeouts};
use crate::{
    Credentials, CredentialsError, Env, ProvideCredentials, ProvideFuture, ProviderConfig,
};
use hyper::Method;
use std::time::Duration;

const NAME: &str = "ecs_ram_role";
/// Disables this provider when `true`.
pub const ECS_METADATA_DISABLED: &str = "ALIBABA_CLOUD_ECS_METADATA_DISABLED";
/// Names the role (skips the role-name request).
pub const ECS_METADATA_ROLE: &str = "ALIBABA_CLOUD_ECS_METADATA";
/// Refuses to go on without a token when `true`.
pub const IMDSV1_DISABLED: &str = "ALIBABA_CLOUD_IMDSV1_DISABLED";
/// Default timeouts: 1 s to connect, 1 s to answer.
pub const DEFAULT_ECS_TIMEOUTS: Timeouts =
    Timeouts::new(Duration::from_secs(1), Duration::from_secs(1));
const TOKEN_PATH: &str = "/latest/api/token";
const ROLE_PATH: &str = "/latest/meta-data/ram/security-credentials/";
const TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";
const TOKEN_TTL_SECS: &str = "21600";
const MAX_BODY: usize = 64 * 1024;

/// Fetches the instance role's credentials from the ECS metadata service.
#[derive(Debug, Clone)]
pub struct EcsMetadataProvider {
    env: Env,
    endpoint: String,
    role_name: Option<String>,
    timeouts: Timeouts,
}

impl EcsMetadataProvider {
    /// Uses `config`'s environment and metadata endpoint.
    pub fn with_config(config: &ProviderConfig) -> Self {
        Self {
            env: config.env().clone(),
            endpoint: config.ecs_metadata_endpoint().to_owned(),
            role_name: None,
            timeouts: DEFAULT_ECS_TIMEOUTS,
        }
    }

    /// Uses role `name` instead of asking the service.
    pub fn with_role_name(mut self, name: impl Into<String>) -> Self {
        self.role_name = Some(name.into()).filter(|n: &String| !n.trim().is_empty());
        self
    }

    /// Uses another base URL (`http://host[:port]`).
    pub fn with_endpoint(mut self, base_url: impl Into<String>) -> Self {
        self.endpoint = base_url.into();
        self
    }

    /// Uses other timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    async fn get(
        &self,
        method: Method,
        url: &HttpUrl,
        headers: &[(String, String)],
    ) -> Result<Response, HttpError> {
        http::send(method, url, headers, Vec::new(), self.timeouts, MAX_BODY).await
    }

    fn transport(&self, url: &HttpUrl, e: &HttpError) -> CredentialsError {
        if e.is_unreachable() {
            CredentialsError::not_loaded(
                NAME,
                format!("no metadata service at `{}`: {e}", url.authority),
            )
        } else {
            CredentialsError::Transport {
                provider: NAME,
                message: format!("{}: {e}", url.authority),
            }
        }
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        if self.env.is_true(ECS_METADATA_DISABLED) {
            return Err(CredentialsError::not_loaded(
                NAME,
                format!("disabled by `{ECS_METADATA_DISABLED}=true`"),
            ));
        }
        let base = HttpUrl::parse(&self.endpoint)
            .map_err(|e| CredentialsError::invalid_configuration(NAME, e))?;

        // 1. The session token.
        let token_url = base.with_path(TOKEN_PATH);
        let ttl = [(TTL_HEADER.to_owned(), TOKEN_TTL_SECS.to_owned())];
        let resp = self
            .get(Method::PUT, &token_url, &ttl)
            .await
            .map_err(|e| self.transport(&token_url, &e))?;
        let token = match std::str::from_utf8(&resp.body) {
            Ok(t) if resp.status == 200 && !t.trim().is_empty() => Some(t.trim().to_owned()),
            _ if self.env.is_true(IMDSV1_DISABLED) => {
                return Err(CredentialsError::invalid_response(
                    NAME,
                    format!(
                        "no metadata token (HTTP {}) and `{IMDSV1_DISABLED}=true`",
                        resp.status
                    ),
                ))
            }
            _ => None,
        };
        let headers: Vec<(String, String)> = token
            .into_iter()
            .map(|t| (TOKEN_HEADER.to_owned(), t))
            .collect();

        // 2. The role name.
        let role = match self
            .role_name
            .clone()
            .or_else(|| self.env.non_blank(ECS_METADATA_ROLE))
        {
            Some(r) => r.trim().to_owned(),
            None => {
                let url = base.with_path(ROLE_PATH);
                let resp = self
                    .get(Method::GET, &url, &headers)
                    .await
                    .map_err(|e| self.transport(&url, &e))?;
                if resp.status == 404 {
                    return Err(CredentialsError::not_loaded(
                        NAME,
                        "the instance has no RAM role (HTTP 404)",
                    ));
                }
                if resp.status != 200 {
                    return Err(CredentialsError::invalid_response(
                        NAME,
                        format!("HTTP {} for the role name", resp.status),
                    ));
                }
                let name = String::from_utf8_lossy(&resp.body).trim().to_owned();
                if name.is_empty() {
                    return Err(CredentialsError::not_loaded(
                        NAME,
                        "the instance has no RAM role (empty role name)",
                    ));
                }
                name
            }
        };
        if !role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return Err(CredentialsError::invalid_response(
                NAME,
                format!("`{}` is not a role name", keyless_wire::clip(&role)),
            ));
        }

        // 3. The credentials.
        let url = base.with_path(&format!("{ROLE_PATH}{role}"));
        let resp = self.get(Method::GET, &url, &headers).await.map_err(|e| {
            CredentialsError::Transport {
                provider: NAME,
                message: format!("{}: {e}", url.authority),
            }
        })?;
        if resp.status != 200 {
            return Err(CredentialsError::invalid_response(
                NAME,
                format!("HTTP {} for the credentials of role `{role}`", resp.status),
            ));
        }
        document::parse(&resp.body)
            .map(|d| d.into_credentials(NAME))
            .map_err(|e| CredentialsError::invalid_response(NAME, e.to_string()))
    }
}

impl Default for EcsMetadataProvider {
    fn default() -> Self {
        Self::with_config(&ProviderConfig::default())
    }
}

impl ProvideCredentials for EcsMetadataProvider {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        Box::pin(self.load())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn disabled_is_not_loaded_without_traffic() {
        let p = EcsMetadataProvider::with_config(
            &ProviderConfig::default()
                .with_env(Env::from_pairs([(ECS_METADATA_DISABLED, "TRUE")]))
                // Nothing may be contacted: an unparseable endpoint would be an error.
                .with_ecs_metadata_endpoint("::nonsense::"),
        );
        assert!(p.load().await.unwrap_err().is_not_loaded());
    }

    #[tokio::test]
    async fn nothing_listening_is_not_loaded() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let p = EcsMetadataProvider::with_config(
            &ProviderConfig::default()
                .with_env(Env::from_pairs([("X", "1")]))
                .with_ecs_metadata_endpoint(format!("http://127.0.0.1:{port}")),
        );
        let e = p.load().await.unwrap_err();
        assert!(e.is_not_loaded(), "{e}");
    }
}
