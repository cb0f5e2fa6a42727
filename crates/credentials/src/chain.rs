//! [`ProviderChain`]: try providers in order; and the default chain.

use crate::providers::cli_profile::CliProfileProvider;
use crate::providers::ecs::EcsMetadataProvider;
use crate::providers::environment::EnvironmentProvider;
use crate::providers::file::CredentialsFileProvider;
use crate::providers::ini_profile::IniProfileProvider;
use crate::providers::oidc::OidcUnsupportedProvider;
use crate::providers::uri::CredentialsUriProvider;
use crate::{
    CachedProvider, Credentials, CredentialsError, ProvideCredentials, ProvideFuture,
    ProviderConfig,
};

/// Tries providers in order: the first that returns credentials wins. A provider that returns
/// [`CredentialsError::NotLoaded`] is skipped; any other error stops the chain and is returned (a
/// configured-but-broken provider must not silently yield to a different identity). If no
/// provider applies, the result is `NotLoaded` from provider `"chain"`, listing every reason.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use keyless_credentials::{
///     Credentials, Env, EnvironmentProvider, ProvideCredentials, ProviderChain, ProviderConfig,
///     StaticProvider,
/// };
///
/// let config = ProviderConfig::default().with_env(Env::from_pairs([("HOME", "/nonexistent")]));
/// let chain = ProviderChain::first_try(EnvironmentProvider::with_config(&config))
///     .or_else(StaticProvider::new(Credentials::from_keys("LTAI5tFallback", "sk", None)));
/// let c = chain.provide_credentials().await.unwrap();
/// assert_eq!(c.access_key_id(), "LTAI5tFallback");
/// # });
/// ```
#[derive(Debug)]
pub struct ProviderChain {
    providers: Vec<Box<dyn ProvideCredentials>>,
}

impl ProviderChain {
    /// A chain starting with `provider`.
    pub fn first_try(provider: impl ProvideCredentials + 'static) -> Self {
        Self {
            providers: vec![Box::new(provider)],
        }
    }

    /// Appends `provider`.
    pub fn or_else(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.providers.push(Box::new(provider));
        self
    }

    /// The number of providers.
    pub fn len(&self) -> usize {
        self.providers.len()
    }

    /// Whether the chain is empty (never, once built with [`first_try`](Self::first_try)).
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let mut reasons = Vec::new();
        for p in &self.providers {
            match p.provide_credentials().await {
                Ok(c) => return Ok(c),
                Err(CredentialsError::NotLoaded { provider, reason }) => {
                    reasons.push(format!("{provider}: {reason}"));
                }
                Err(e) => return Err(e),
            }
        }
        Err(CredentialsError::not_loaded(
            "chain",
            format!("no provider had credentials ({})", reasons.join("; ")),
        ))
    }
}

impl ProvideCredentials for ProviderChain {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        Box::pin(self.load())
    }
}

/// The default chain, uncached, in the official SDKs' order plus one keyless extension:
///
/// 1. environment: `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_ACCESS_KEY_SECRET` / `_SECURITY_TOKEN`
/// 2. OIDC role: **not supported**; if its three variables are all set the chain stops with an
///    error instead of silently using another identity
/// 3. CLI profile `~/.aliyun/config.json` (off with `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`)
/// 4. INI profile `ALIBABA_CLOUD_CREDENTIALS_FILE` or `~/.alibabacloud/credentials.ini`
/// 5. ECS metadata, unless `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`
/// 6. `ALIBABA_CLOUD_CREDENTIALS_URI`
/// 7. the keyless credentials file `/etc/ram/credentials` (keyless extension)
///
/// Wrap it in a [`CachedProvider`], or use [`default_provider`].
pub fn default_chain(config: &ProviderConfig) -> ProviderChain {
    ProviderChain::first_try(EnvironmentProvider::with_config(config))
        .or_else(OidcUnsupportedProvider::with_config(config))
        .or_else(CliProfileProvider::with_config(config))
        .or_else(IniProfileProvider::with_config(config))
        .or_else(EcsMetadataProvider::with_config(config))
        .or_else(CredentialsUriProvider::with_config(config))
        .or_else(CredentialsFileProvider::with_config(config))
}

/// The [`default_chain`] over the process environment and system clock, behind one
/// [`CachedProvider`]. Build once and share (it is cheap to clone).
pub fn default_provider() -> CachedProvider {
    let config = ProviderConfig::default();
    CachedProvider::builder()
        .shared_time_source(config.time_source().clone())
        .build(default_chain(&config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StaticProvider;

    #[derive(Debug)]
    struct Fails(CredentialsError);
    impl ProvideCredentials for Fails {
        fn provide_credentials(&self) -> ProvideFuture<'_> {
            let e = self.0.clone();
            Box::pin(async move { Err(e) })
        }
    }

    fn ok(id: &str) -> StaticProvider {
        StaticProvider::new(Credentials::from_keys(id, "sk", None))
    }

    #[tokio::test]
    async fn continues_on_not_loaded_and_stops_on_errors() {
        let skip = || Fails(CredentialsError::not_loaded("a", "unset"));
        let chain = ProviderChain::first_try(skip())
            .or_else(skip())
            .or_else(ok("third"));
        assert_eq!(chain.len(), 3);
        assert_eq!(
            chain.provide_credentials().await.unwrap().access_key_id(),
            "third"
        );

        let chain = ProviderChain::first_try(skip())
            .or_else(Fails(CredentialsError::invalid_configuration(
                "b", "broken",
            )))
            .or_else(ok("never"));
        let e = chain.provide_credentials().await.unwrap_err();
        assert_eq!(e.provider(), "b");

        let chain = ProviderChain::first_try(skip())
            .or_else(Fails(CredentialsError::not_loaded("z", "nope")));
        let e = chain.provide_credentials().await.unwrap_err();
        assert!(e.is_not_loaded());
        assert!(e.to_string().contains("a: unset; z: nope"), "{e}");
    }

    #[test]
    fn default_chain_has_seven_links() {
        assert_eq!(default_chain(&ProviderConfig::default()).len(), 7);
        let d = format!("{:?}", default_provider());
        for name in [
            "EnvironmentProvider",
            "OidcUnsupportedProvider",
            "CliProfileProvider",
            "IniProfileProvider",
            "EcsMetadataProvider",
            "CredentialsUriProvider",
            "CredentialsFileProvider",
        ] {
            assert!(d.contains(name), "{name} missing from {d}");
        }
        let order: Vec<usize> = [
            "Environment",
            "Oidc",
            "CliProfile",
            "IniProfile",
            "EcsMetadata",
            "CredentialsUri",
            "CredentialsFile",
        ]
        .iter()
        .map(|n| d.find(n).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }
}
