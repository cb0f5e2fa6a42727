//! Credentials from `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET` and
//! (optionally) `ALIBABA_CLOUD_SECURITY_TOKEN`.

use crate::{
    Credentials, CredentialsError, Env, ProvideCredentials, ProvideFuture, ProviderConfig,
};
use keyless_secret::SecretString;

const NAME: &str = "environment";
/// The AccessKeyId variable.
pub const ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// The AccessKeySecret variable.
pub const ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// The STS security token variable.
pub const SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

/// Reads the three environment variables at each call. Not loaded unless both the id and the
/// secret are set and non-blank; the token is optional. The set has no expiry.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use keyless_credentials::{Env, EnvironmentProvider, ProvideCredentials, ProviderConfig};
///
/// let env = Env::from_pairs([
///     ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tExample"),
///     ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret"),
/// ]);
/// let p = EnvironmentProvider::with_config(&ProviderConfig::default().with_env(env));
/// assert_eq!(p.provide_credentials().await.unwrap().access_key_id(), "LTAI5tExample");
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct EnvironmentProvider {
    env: Env,
}

impl EnvironmentProvider {
    /// Reads the process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the environment of `config`.
    pub fn with_config(config: &ProviderConfig) -> Self {
        Self {
            env: config.env().clone(),
        }
    }

    fn load(&self) -> Result<Credentials, CredentialsError> {
        let id = self.env.non_blank(ACCESS_KEY_ID);
        let secret = self.env.non_blank(ACCESS_KEY_SECRET);
        let (id, secret) = match (id, secret) {
            (Some(id), Some(secret)) => (id, secret),
            (None, None) => {
                return Err(CredentialsError::not_loaded(
                    NAME,
                    format!("`{ACCESS_KEY_ID}` and `{ACCESS_KEY_SECRET}` are not set"),
                ))
            }
            (None, Some(_)) => {
                return Err(CredentialsError::not_loaded(
                    NAME,
                    format!("`{ACCESS_KEY_SECRET}` is set but `{ACCESS_KEY_ID}` is not"),
                ))
            }
            (Some(_), None) => {
                return Err(CredentialsError::not_loaded(
                    NAME,
                    format!("`{ACCESS_KEY_ID}` is set but `{ACCESS_KEY_SECRET}` is not"),
                ))
            }
        };
        let token = self.env.non_blank(SECURITY_TOKEN).map(SecretString::new);
        Ok(Credentials::new(id, secret, token, None, NAME))
    }
}

impl ProvideCredentials for EnvironmentProvider {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        let r = self.load();
        Box::pin(async move { r })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Credentials, CredentialsError> {
        EnvironmentProvider::with_config(
            &ProviderConfig::default().with_env(Env::from_pairs(pairs.iter().copied())),
        )
        .load()
    }

    #[test]
    fn cases() {
        struct Case {
            env: &'static [(&'static str, &'static str)],
            id: Option<&'static str>,
            token: Option<&'static str>,
        }
        let cases = [
            Case {
                env: &[],
                id: None,
                token: None,
            },
            Case {
                env: &[(ACCESS_KEY_ID, "a")],
                id: None,
                token: None,
            },
            Case {
                env: &[(ACCESS_KEY_SECRET, "s")],
                id: None,
                token: None,
            },
            Case {
                env: &[(ACCESS_KEY_ID, " "), (ACCESS_KEY_SECRET, "s")],
                id: None,
                token: None,
            },
            Case {
                env: &[(ACCESS_KEY_ID, "a"), (ACCESS_KEY_SECRET, "s")],
                id: Some("a"),
                token: None,
            },
            Case {
                env: &[
                    (ACCESS_KEY_ID, "STS.a"),
                    (ACCESS_KEY_SECRET, "s"),
                    (SECURITY_TOKEN, "t"),
                ],
                id: Some("STS.a"),
                token: Some("t"),
            },
            Case {
                env: &[
                    (ACCESS_KEY_ID, "a"),
                    (ACCESS_KEY_SECRET, "s"),
                    (SECURITY_TOKEN, ""),
                ],
                id: Some("a"),
                token: None,
            },
        ];
        for case in cases {
            match (load(case.env), case.id) {
                (Ok(c), Some(id)) => {
                    assert_eq!(c.access_key_id(), id);
                    assert_eq!(c.access_key_secret().expose_secret(), "s");
                    assert_eq!(c.security_token().map(|t| t.expose_secret()), case.token);
                    assert_eq!(c.expiry(), None);
                    assert_eq!(c.provider_name(), NAME);
                }
                (Err(e), None) => assert!(e.is_not_loaded(), "{e}"),
                (r, want) => panic!("{:?}: got {r:?}, want {want:?}", case.env),
            }
        }
    }
}
