//! The OIDC role (RRSA) link of the official chain, which this crate does **not** implement.
//!
//! It exists so the default chain keeps the official order and does not silently hand out a
//! different identity: when `ALIBABA_CLOUD_OIDC_TOKEN_FILE`, `ALIBABA_CLOUD_ROLE_ARN` and
//! `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` are all set, the official clients would assume that role, so
//! this provider stops the chain with [`CredentialsError::InvalidConfiguration`]. Otherwise it is
//! not loaded.

use crate::{CredentialsError, Env, ProvideCredentials, ProvideFuture, ProviderConfig};

const NAME: &str = "oidc_role_arn";
const VARS: [&str; 3] = [
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
];

/// Detects an OIDC configuration and refuses it (unsupported); see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct OidcUnsupportedProvider {
    env: Env,
}

impl OidcUnsupportedProvider {
    /// Reads the environment of `config`.
    pub fn with_config(config: &ProviderConfig) -> Self {
        Self {
            env: config.env().clone(),
        }
    }

    fn check(&self) -> CredentialsError {
        if VARS.iter().all(|v| self.env.non_blank(v).is_some()) {
            CredentialsError::invalid_configuration(
                NAME,
                "OIDC role credentials (`ALIBABA_CLOUD_OIDC_TOKEN_FILE`, `ALIBABA_CLOUD_ROLE_ARN`, \
                 `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`) are configured, but keyless-credentials does \
                 not support AssumeRoleWithOIDC; unset them or use another provider",
            )
        } else {
            CredentialsError::not_loaded(NAME, "the OIDC variables are not all set")
        }
    }
}

impl ProvideCredentials for OidcUnsupportedProvider {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        let e = self.check();
        Box::pin(async move { Err(e) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_only_a_complete_configuration() {
        let p = |pairs: &[(&str, &str)]| {
            OidcUnsupportedProvider::with_config(
                &ProviderConfig::default().with_env(Env::from_pairs(pairs.iter().copied())),
            )
            .check()
        };
        assert!(p(&[]).is_not_loaded());
        assert!(p(&[(VARS[0], "f"), (VARS[1], "r")]).is_not_loaded());
        let e = p(&[(VARS[0], "f"), (VARS[1], "r"), (VARS[2], "o")]);
        assert!(
            matches!(e, CredentialsError::InvalidConfiguration { .. }),
            "{e}"
        );
    }
}
