//! The [`ProvideCredentials`] trait, object-safe so providers can be chained as
//! `Box<dyn ProvideCredentials>`.

use crate::{Credentials, CredentialsError};
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The boxed future a provider returns.
pub type ProvideFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Credentials, CredentialsError>> + Send + 'a>>;

/// Something that produces [`Credentials`].
///
/// Implementations do not cache: wrap a provider (or a whole chain) in one
/// [`CachedProvider`](crate::CachedProvider). Return
/// [`CredentialsError::NotLoaded`] when the provider does not apply, so that a chain moves on.
/// `Debug` is required so a chain can be logged; it must never print a secret.
///
/// ```
/// use keyless_credentials::{Credentials, CredentialsError, ProvideCredentials, ProvideFuture};
///
/// #[derive(Debug)]
/// struct FromVault;
///
/// impl ProvideCredentials for FromVault {
///     fn provide_credentials(&self) -> ProvideFuture<'_> {
///         Box::pin(async { Ok(Credentials::from_keys("LTAI5tVault", "from-vault", None)) })
///     }
/// }
/// # let _ = CredentialsError::not_loaded("x", "y");
/// ```
pub trait ProvideCredentials: Send + Sync + Debug {
    /// Produces a credentials set, or says why not.
    fn provide_credentials(&self) -> ProvideFuture<'_>;
}

impl<T: ProvideCredentials + ?Sized> ProvideCredentials for Arc<T> {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        (**self).provide_credentials()
    }
}

impl<T: ProvideCredentials + ?Sized> ProvideCredentials for Box<T> {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        (**self).provide_credentials()
    }
}

impl<T: ProvideCredentials + ?Sized> ProvideCredentials for &T {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        (**self).provide_credentials()
    }
}

/// A provider shared between owners.
pub type SharedProvider = Arc<dyn ProvideCredentials>;

/// Always returns the same set: long-term keys from your own configuration, or tests.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use keyless_credentials::{Credentials, ProvideCredentials, StaticProvider};
///
/// let p = StaticProvider::new(Credentials::from_keys("LTAI5tExample", "sk", None));
/// assert_eq!(p.provide_credentials().await.unwrap().access_key_id(), "LTAI5tExample");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct StaticProvider(Credentials);

impl StaticProvider {
    /// A provider of `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Self(credentials)
    }
}

impl ProvideCredentials for StaticProvider {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        let c = self.0.clone();
        Box::pin(async move { Ok(c) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wrappers_delegate() {
        let p = StaticProvider::new(Credentials::from_keys("a", "b", None));
        let boxed: Box<dyn ProvideCredentials> = Box::new(p.clone());
        let shared: SharedProvider = Arc::new(p.clone());
        assert_eq!(
            boxed.provide_credentials().await.unwrap().access_key_id(),
            "a"
        );
        assert_eq!(
            shared.provide_credentials().await.unwrap().access_key_id(),
            "a"
        );
        let by_ref: Box<dyn ProvideCredentials + '_> = Box::new(&p);
        assert_eq!(
            by_ref.provide_credentials().await.unwrap().access_key_id(),
            "a"
        );
    }
}
