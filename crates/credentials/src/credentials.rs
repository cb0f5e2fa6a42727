//! [`Credentials`]: one AccessKey set, immutable and cheap to clone.

use keyless_secret::SecretString;
use std::fmt;
use std::sync::Arc;

/// One complete AccessKey set: an AccessKeyId, its secret, an optional STS security token and an
/// optional expiry (Unix seconds, UTC).
///
/// The three values always travel together: a `Credentials` is immutable and shared through an
/// `Arc`, so a clone is a pointer copy and a caller can never observe a *mixed* set (an id from one
/// rotation with the secret of another). `Debug` prints the AccessKeyId and `** redacted **` for the
/// secret and the token; there is no `Display`. The secret and token are zeroized when the last
/// clone is dropped. Reach them with [`access_key_secret`](Self::access_key_secret)`.expose_secret()`.
///
/// ```
/// use keyless_credentials::Credentials;
///
/// let c = Credentials::from_keys("LTAI5tExample", "my-secret", None);
/// assert_eq!(c.access_key_id(), "LTAI5tExample");
/// assert_eq!(c.access_key_secret().expose_secret(), "my-secret");
/// assert!(!format!("{c:?}").contains("my-secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(Arc<Inner>);

#[derive(PartialEq, Eq)]
struct Inner {
    access_key_id: String,
    access_key_secret: SecretString,
    security_token: Option<SecretString>,
    expiry: Option<i64>,
    provider_name: &'static str,
}

impl Credentials {
    /// A set with every field given. `expiry` is Unix seconds (UTC); `None` means the set does not
    /// expire (a long-term AccessKey). `provider_name` says where the set came from, for logs.
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: impl Into<SecretString>,
        security_token: Option<SecretString>,
        expiry: Option<i64>,
        provider_name: &'static str,
    ) -> Self {
        Self(Arc::new(Inner {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token,
            expiry,
            provider_name,
        }))
    }

    /// A set that does not expire, from provider `"static"`. A token, when given, makes it an STS
    /// set (whose real expiry is then unknown to this library).
    pub fn from_keys(
        access_key_id: impl Into<String>,
        access_key_secret: impl Into<SecretString>,
        security_token: Option<SecretString>,
    ) -> Self {
        Self::new(
            access_key_id,
            access_key_secret,
            security_token,
            None,
            "static",
        )
    }

    /// The AccessKeyId (`LTAI…` for a long-term key, `STS.…` for a session). Not secret.
    pub fn access_key_id(&self) -> &str {
        &self.0.access_key_id
    }

    /// The AccessKeySecret. Call `.expose_secret()` on it where the raw value is needed.
    pub fn access_key_secret(&self) -> &SecretString {
        &self.0.access_key_secret
    }

    /// The STS security token, for session credentials.
    pub fn security_token(&self) -> Option<&SecretString> {
        self.0.security_token.as_ref()
    }

    /// When the set stops working, in Unix seconds (UTC); `None` if it does not expire.
    pub fn expiry(&self) -> Option<i64> {
        self.0.expiry
    }

    /// Which provider produced the set (`"environment"`, `"credentials_uri"`, …).
    pub fn provider_name(&self) -> &'static str {
        self.0.provider_name
    }

    /// Whether the set has expired at `now` (Unix seconds): `now >= expiry`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.0.expiry.is_some_and(|e| now >= e)
    }

    /// The same set, labelled as coming from `provider_name` (a profile provider relabels what its
    /// inner provider returned).
    pub fn with_provider_name(&self, provider_name: &'static str) -> Self {
        Self::new(
            self.0.access_key_id.clone(),
            self.0.access_key_secret.clone(),
            self.0.security_token.clone(),
            self.0.expiry,
            provider_name,
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("provider_name", &self.0.provider_name)
            .field("access_key_id", &self.0.access_key_id)
            .field("access_key_secret", &self.0.access_key_secret)
            .field("security_token", &self.0.security_token)
            .field("expiry", &self.0.expiry)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secret_and_token() {
        let c = Credentials::new(
            "STS.abc",
            "sk-very-secret",
            Some(SecretString::from("tok-very-secret")),
            Some(100),
            "test",
        );
        let d = format!("{c:?} {:#?}", c);
        assert!(d.contains("STS.abc"));
        assert!(d.contains("** redacted **"));
        assert!(!d.contains("very-secret"), "{d}");
    }

    #[test]
    fn clone_shares_and_expiry_is_inclusive() {
        let c = Credentials::new("a", "b", None, Some(10), "test");
        let d = c.clone();
        assert!(Arc::ptr_eq(&c.0, &d.0));
        assert!(!c.is_expired(9));
        assert!(c.is_expired(10));
        assert!(!Credentials::from_keys("a", "b", None).is_expired(i64::MAX));
    }

    #[test]
    fn relabel_keeps_the_set() {
        let c = Credentials::new("a", "b", Some("t".into()), Some(5), "inner");
        let r = c.with_provider_name("outer");
        assert_eq!(r.provider_name(), "outer");
        assert_eq!(r.access_key_id(), "a");
        assert_eq!(r.access_key_secret().expose_secret(), "b");
        assert_eq!(r.security_token().map(|t| t.expose_secret()), Some("t"));
        assert_eq!(r.expiry(), Some(5));
    }
}
