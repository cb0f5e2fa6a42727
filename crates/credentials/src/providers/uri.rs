//! Credentials from `ALIBABA_CLOUD_CREDENTIALS_URI`: `GET` on the URI, exactly HTTP 200, a JSON
//! body `{"Code":"Success","AccessKeyId","AccessKeySecret","SecurityToken","Expiration"}` with all
//! five fields non-empty and `Expiration` exactly `YYYY-MM-DDTHH:MM:SSZ` (what the Python and Go
//! clients require, so a server this accepts works for them too).

use crate::document;
use crate::http::{self, HttpUrl, Timeouts};
use crate::{
    Credentials, CredentialsError, Env, ProvideCredentials, ProvideFuture, ProviderConfig,
};
use hyper::Method;
use std::time::Duration;

const NAME: &str = "credentials_uri";
/// The variable naming the URI.
pub const CREDENTIALS_URI: &str = "ALIBABA_CLOUD_CREDENTIALS_URI";
/// Default timeouts: 5 s to connect, 10 s to answer (as the Python and Go clients).
pub const DEFAULT_URI_TIMEOUTS: Timeouts =
    Timeouts::new(Duration::from_secs(5), Duration::from_secs(10));
const MAX_BODY: usize = 64 * 1024;

/// Fetches credentials from a credentials URI (`http://` only).
///
/// The URI is the one given to [`with_uri`](Self::with_uri), else `ALIBABA_CLOUD_CREDENTIALS_URI`
/// read at each call; with neither, the provider is not loaded. Any failure once the URI is known
/// is a real error (the chain stops).
#[derive(Debug, Clone)]
pub struct CredentialsUriProvider {
    env: Env,
    uri: Option<String>,
    timeouts: Timeouts,
}

impl CredentialsUriProvider {
    /// Reads the URI from the environment of `config`.
    pub fn with_config(config: &ProviderConfig) -> Self {
        Self {
            env: config.env().clone(),
            uri: None,
            timeouts: DEFAULT_URI_TIMEOUTS,
        }
    }

    /// Uses `uri` instead of the environment variable.
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }

    /// Uses other timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let uri = match self
            .uri
            .clone()
            .or_else(|| self.env.non_blank(CREDENTIALS_URI))
        {
            Some(u) => u,
            None => {
                return Err(CredentialsError::not_loaded(
                    NAME,
                    format!("`{CREDENTIALS_URI}` is not set"),
                ))
            }
        };
        let url =
            HttpUrl::parse(&uri).map_err(|e| CredentialsError::invalid_configuration(NAME, e))?;
        let resp = http::send(Method::GET, &url, &[], Vec::new(), self.timeouts, MAX_BODY)
            .await
            .map_err(|e| CredentialsError::Transport {
                provider: NAME,
                message: format!("{}: {e}", url.authority),
            })?;
        if resp.status != 200 {
            return Err(CredentialsError::invalid_response(
                NAME,
                format!("HTTP {} (only 200 is accepted)", resp.status),
            ));
        }
        document::parse(&resp.body)
            .map(|d| d.into_credentials(NAME))
            .map_err(|e| CredentialsError::invalid_response(NAME, e.to_string()))
    }
}

impl Default for CredentialsUriProvider {
    fn default() -> Self {
        Self::with_config(&ProviderConfig::default())
    }
}

impl ProvideCredentials for CredentialsUriProvider {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        Box::pin(self.load())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn not_loaded_without_a_uri_and_misconfigured_with_https() {
        let p = CredentialsUriProvider::with_config(
            &ProviderConfig::default().with_env(Env::from_pairs([("X", "y")])),
        );
        assert!(p.load().await.unwrap_err().is_not_loaded());
        let p = p.with_uri("https://example.com/creds");
        assert!(matches!(
            p.load().await.unwrap_err(),
            CredentialsError::InvalidConfiguration { .. }
        ));
    }
}
