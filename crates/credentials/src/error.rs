//! The errors of this crate: [`CredentialsError`] for providers, [`RpcError`] for [`crate::acs3`] calls.
//!
//! No message ever contains a secret, a security token or a response body: bodies are summarised
//! (status, vendor `Code`/`Message`), JSON is inspected field by field with our own wording.

/// Why a provider returned no credentials.
///
/// [`NotLoaded`](Self::NotLoaded) means "this provider does not apply here" (its environment
/// variable is unset, its file does not exist, there is no metadata service): a
/// [`ProviderChain`](crate::ProviderChain) moves on to the next provider. Every other variant is a
/// real failure of a provider that *was* configured, and stops the chain, so that a broken
/// configuration is reported instead of silently falling through to a different identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// The provider is not configured in this environment; a chain tries the next one.
    #[error("`{provider}` did not load credentials: {reason}")]
    NotLoaded {
        /// The provider's name.
        provider: &'static str,
        /// Why it does not apply.
        reason: String,
    },
    /// The provider is configured, but its configuration is unusable.
    #[error("`{provider}` is misconfigured: {message}")]
    InvalidConfiguration {
        /// The provider's name.
        provider: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The provider's endpoint could not be reached, or did not answer in time.
    #[error("`{provider}` could not reach its endpoint: {message}")]
    Transport {
        /// The provider's name.
        provider: &'static str,
        /// What failed (connect, timeout, protocol).
        message: String,
    },
    /// The endpoint answered, but not with a usable credentials document.
    #[error("`{provider}` got an unusable response: {message}")]
    InvalidResponse {
        /// The provider's name.
        provider: &'static str,
        /// What was wrong with it (never the body itself).
        message: String,
    },
    /// STS refused the request with a vendor error.
    #[error("`{provider}`: the service refused with HTTP {status} `{code}`: {message} (RequestId `{request_id}`)")]
    Service {
        /// The provider's name.
        provider: &'static str,
        /// HTTP status.
        status: u16,
        /// Vendor `Code`, e.g. `EntityNotExist.Role`.
        code: String,
        /// Vendor `Message`.
        message: String,
        /// Vendor `RequestId`.
        request_id: String,
    },
    /// Any other failure (reading a file, the OS random source).
    #[error("`{provider}` failed: {message}")]
    Other {
        /// The provider's name.
        provider: &'static str,
        /// What failed.
        message: String,
    },
}

impl CredentialsError {
    /// A [`NotLoaded`](Self::NotLoaded) error.
    pub fn not_loaded(provider: &'static str, reason: impl Into<String>) -> Self {
        Self::NotLoaded {
            provider,
            reason: reason.into(),
        }
    }

    /// An [`InvalidConfiguration`](Self::InvalidConfiguration) error.
    pub fn invalid_configuration(provider: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidConfiguration {
            provider,
            message: message.into(),
        }
    }

    /// An [`InvalidResponse`](Self::InvalidResponse) error.
    pub fn invalid_response(provider: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidResponse {
            provider,
            message: message.into(),
        }
    }

    /// An [`Other`](Self::Other) error.
    pub fn other(provider: &'static str, message: impl Into<String>) -> Self {
        Self::Other {
            provider,
            message: message.into(),
        }
    }

    /// Whether a chain should move on to its next provider.
    pub fn is_not_loaded(&self) -> bool {
        matches!(self, Self::NotLoaded { .. })
    }

    /// The name of the provider that failed.
    pub fn provider(&self) -> &'static str {
        match self {
            Self::NotLoaded { provider, .. }
            | Self::InvalidConfiguration { provider, .. }
            | Self::Transport { provider, .. }
            | Self::InvalidResponse { provider, .. }
            | Self::Service { provider, .. }
            | Self::Other { provider, .. } => provider,
        }
    }

    /// An [`RpcError`] of `provider`'s call to STS, as a provider error.
    pub(crate) fn from_rpc(provider: &'static str, e: RpcError) -> Self {
        match e {
            RpcError::InvalidEndpoint(message) => Self::InvalidConfiguration { provider, message },
            RpcError::Transport(message) => Self::Transport { provider, message },
            RpcError::Service {
                status,
                code,
                message,
                request_id,
            } => Self::Service {
                provider,
                status,
                code,
                message,
                request_id,
            },
            RpcError::InvalidResponse { status, message } => Self::InvalidResponse {
                provider,
                message: format!("HTTP {status}: {message}"),
            },
            RpcError::Sign(e) => Self::Other {
                provider,
                message: format!("cannot sign the request: {e}"),
            },
            RpcError::Random => Self::Other {
                provider,
                message: "the OS random source failed".to_owned(),
            },
        }
    }
}

/// Why a V3-signed OpenAPI call ([`acs3::call`](crate::acs3::call)) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The endpoint is not `host[:port]` or `http://host[:port]`.
    #[error("invalid endpoint: {0}")]
    InvalidEndpoint(String),
    /// Connecting, sending or reading failed, or timed out.
    #[error("transport: {0}")]
    Transport(String),
    /// The service answered with a vendor error body (`Code`, `Message`, `RequestId`).
    #[error("HTTP {status} `{code}`: {message} (RequestId `{request_id}`)")]
    Service {
        /// HTTP status.
        status: u16,
        /// Vendor `Code`.
        code: String,
        /// Vendor `Message`.
        message: String,
        /// Vendor `RequestId` (empty if absent).
        request_id: String,
    },
    /// The response was not JSON (or an error without a `Code`).
    #[error("unusable response with HTTP {status}: {message}")]
    InvalidResponse {
        /// HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
    },
    /// The request could not be signed.
    #[error("cannot sign the request: {0}")]
    Sign(#[from] keyless_sign::SignError),
    /// The OS random source (for the signature nonce) failed.
    #[error("the OS random source failed")]
    Random,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_not_loaded_continues() {
        assert!(CredentialsError::not_loaded("env", "unset").is_not_loaded());
        for e in [
            CredentialsError::invalid_configuration("p", "x"),
            CredentialsError::invalid_response("p", "x"),
            CredentialsError::other("p", "x"),
            CredentialsError::from_rpc("p", RpcError::Transport("x".into())),
        ] {
            assert!(!e.is_not_loaded(), "{e}");
            assert_eq!(e.provider(), "p");
        }
    }

    #[test]
    fn rpc_errors_map_to_provider_errors() {
        let e = CredentialsError::from_rpc(
            "ram_role_arn",
            RpcError::Service {
                status: 404,
                code: "EntityNotExist.Role".into(),
                message: "The role does not exist.".into(),
                request_id: "r-1".into(),
            },
        );
        assert_eq!(
            e.to_string(),
            "`ram_role_arn`: the service refused with HTTP 404 `EntityNotExist.Role`: \
             The role does not exist. (RequestId `r-1`)"
        );
        assert!(matches!(
            CredentialsError::from_rpc("p", RpcError::InvalidEndpoint("x".into())),
            CredentialsError::InvalidConfiguration { .. }
        ));
    }
}
