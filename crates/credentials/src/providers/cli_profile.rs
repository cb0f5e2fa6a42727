//! Credentials from an Alibaba Cloud CLI profile, `~/.aliyun/config.json`.
//!
//! ```json
//! {"current": "default",
//!  "profiles": [{"name": "default", "mode": "AK", "access_key_id": "…", "access_key_secret": "…"}]}
//! ```
//!
//! The profile is the one named explicitly, else `ALIBABA_CLOUD_PROFILE`, else `current`.
//! Modes: `AK`; `StsToken` (`sts_token`); `RamRoleArn` (`ram_role_arn`, `ram_session_name`,
//! `expired_seconds`, `policy`, `external_id`); `ChainableRamRoleArn` (`source_profile` plus the
//! same); `EcsRamRole` (`ram_role_name`); `CredentialsURI` (`credentials_uri`). Role modes call the
//! STS endpoint of the profile's `sts_endpoint` (a keyless extension) or of the
//! [`ProviderConfig`]; `OIDC`, `CloudSSO`, `External` and other modes are refused.
//!
//! Not loaded when `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`, when the file does not exist or when
//! it has no profile of the selected name (the name may be meant for the INI file). A file that is
//! not valid JSON, or a selected profile that is incomplete or of an unsupported mode, is an error.

use super::assume_role::AssumeRoleProvider;
use super::ecs::EcsMetadataProvider;
use super::uri::CredentialsUriProvider;
use crate::{
    Credentials, CredentialsError, ProvideCredentials, ProvideFuture, ProviderConfig,
    StaticProvider,
};
use keyless_secret::SecretString;
use serde_json::{Map, Value};
use std::path::PathBuf;

const NAME: &str = "cli_profile";
/// Disables this provider when `true`.
pub const CLI_PROFILE_DISABLED: &str = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED";
/// Selects the profile (shared with the INI provider).
pub const PROFILE: &str = "ALIBABA_CLOUD_PROFILE";
/// Deepest `ChainableRamRoleArn` chain followed.
const MAX_CHAIN: usize = 8;
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads a profile of the Alibaba Cloud CLI's `config.json`.
#[derive(Debug, Clone)]
pub struct CliProfileProvider {
    config: ProviderConfig,
    profile_name: Option<String>,
    path: Option<PathBuf>,
}

impl CliProfileProvider {
    /// Uses `config`'s environment (for `HOME`, `ALIBABA_CLOUD_PROFILE`, …), clock and endpoints.
    pub fn with_config(config: &ProviderConfig) -> Self {
        Self {
            config: config.clone(),
            profile_name: None,
            path: None,
        }
    }

    /// Uses profile `name` regardless of `ALIBABA_CLOUD_PROFILE` and `current`.
    pub fn with_profile_name(mut self, name: impl Into<String>) -> Self {
        self.profile_name = Some(name.into());
        self
    }

    /// Reads `path` instead of `~/.aliyun/config.json`.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let env = self.config.env();
        if env.is_true(CLI_PROFILE_DISABLED) {
            return Err(CredentialsError::not_loaded(
                NAME,
                format!("disabled by `{CLI_PROFILE_DISABLED}=true`"),
            ));
        }
        let path = match (&self.path, env.home_dir()) {
            (Some(p), _) => p.clone(),
            (None, Some(home)) => home.join(".aliyun").join("config.json"),
            (None, None) => {
                return Err(CredentialsError::not_loaded(
                    NAME,
                    "no home directory (`HOME` is not set)",
                ))
            }
        };
        let shown = path.display().to_string();
        let bytes = match read_small(&path, MAX_FILE_BYTES).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CredentialsError::not_loaded(
                    NAME,
                    format!("`{shown}` does not exist"),
                ))
            }
            Err(e) => return Err(CredentialsError::other(NAME, format!("`{shown}`: {e}"))),
        };
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| {
            CredentialsError::invalid_configuration(
                NAME,
                format!(
                    "`{shown}` is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let name = self
            .profile_name
            .clone()
            .or_else(|| env.non_blank(PROFILE))
            .or_else(|| {
                doc.get("current")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            })
            .ok_or_else(|| {
                CredentialsError::not_loaded(
                    NAME,
                    format!("no profile selected (`{PROFILE}` and `current` are unset)"),
                )
            })?;
        let profiles = Profiles::parse(&doc, &shown)?;
        if profiles.find(&name).is_none() {
            return Err(CredentialsError::not_loaded(
                NAME,
                format!("`{shown}` has no profile `{name}`"),
            ));
        }
        let inner = profiles.provider(&name, &self.config, 0)?;
        inner
            .provide_credentials()
            .await
            .map(|c| c.with_provider_name(NAME))
            .map_err(|e| match e {
                CredentialsError::NotLoaded { provider, reason } => {
                    CredentialsError::invalid_configuration(
                        NAME,
                        format!("profile `{name}`: `{provider}` has no credentials: {reason}"),
                    )
                }
                other => other,
            })
    }
}

/// Reads a file of at most `max` bytes.
pub(crate) async fn read_small(path: &std::path::Path, max: u64) -> std::io::Result<Vec<u8>> {
    let meta = tokio::fs::metadata(path).await?;
    if meta.len() > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("over {max} bytes"),
        ));
    }
    tokio::fs::read(path).await
}

struct Profiles<'a> {
    list: Vec<&'a Map<String, Value>>,
    file: &'a str,
}

impl<'a> Profiles<'a> {
    fn parse(doc: &'a Value, file: &'a str) -> Result<Self, CredentialsError> {
        let list = match doc.get("profiles") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).collect(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                return Err(CredentialsError::invalid_configuration(
                    NAME,
                    format!("`{file}`: `profiles` is not an array"),
                ))
            }
        };
        Ok(Self { list, file })
    }

    fn find(&self, name: &str) -> Option<&'a Map<String, Value>> {
        self.list
            .iter()
            .copied()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    }

    fn err(&self, name: &str, msg: impl std::fmt::Display) -> CredentialsError {
        CredentialsError::invalid_configuration(
            NAME,
            format!("`{}`, profile `{name}`: {msg}", self.file),
        )
    }

    /// The string field `key`; empty counts as absent. Never quotes a value in errors.
    fn opt(
        &self,
        p: &Map<String, Value>,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, CredentialsError> {
        match p.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(name, format!("`{key}` is not a string"))),
        }
    }

    fn req(
        &self,
        p: &Map<String, Value>,
        name: &str,
        key: &str,
    ) -> Result<String, CredentialsError> {
        self.opt(p, name, key)?
            .ok_or_else(|| self.err(name, format!("`{key}` is missing or empty")))
    }

    fn provider(
        &self,
        name: &str,
        config: &ProviderConfig,
        depth: usize,
    ) -> Result<Box<dyn ProvideCredentials>, CredentialsError> {
        if depth > MAX_CHAIN {
            return Err(self.err(
                name,
                format!("`source_profile` chain deeper than {MAX_CHAIN} (a loop?)"),
            ));
        }
        let p = self
            .find(name)
            .ok_or_else(|| self.err(name, "no such profile"))?;
        let mode = self.opt(p, name, "mode")?.unwrap_or_default();
        let keys =
            |token: Option<String>| -> Result<Box<dyn ProvideCredentials>, CredentialsError> {
                Ok(Box::new(StaticProvider::new(Credentials::new(
                    self.req(p, name, "access_key_id")?,
                    SecretString::new(self.req(p, name, "access_key_secret")?),
                    token.map(SecretString::new),
                    None,
                    NAME,
                ))))
            };
        match mode.as_str() {
            "AK" => keys(None),
            "StsToken" => keys(Some(self.req(p, name, "sts_token")?)),
            "RamRoleArn" => self.role(p, name, config, keys(None)?),
            "ChainableRamRoleArn" => {
                let source = self.req(p, name, "source_profile")?;
                let inner = self.provider(&source, config, depth + 1)?;
                self.role(p, name, config, inner)
            }
            "EcsRamRole" => {
                let mut ecs = EcsMetadataProvider::with_config(config);
                if let Some(role) = self.opt(p, name, "ram_role_name")? {
                    ecs = ecs.with_role_name(role);
                }
                Ok(Box::new(ecs))
            }
            "CredentialsURI" => Ok(Box::new(
                CredentialsUriProvider::with_config(config).with_uri(self.req(
                    p,
                    name,
                    "credentials_uri",
                )?),
            )),
            "" => Err(self.err(name, "`mode` is missing")),
            other => Err(self.err(
                name,
                format!(
                    "mode `{}` is not supported by keyless-credentials",
                    keyless_wire::clip(other)
                ),
            )),
        }
    }

    fn role(
        &self,
        p: &Map<String, Value>,
        name: &str,
        config: &ProviderConfig,
        source: Box<dyn ProvideCredentials>,
    ) -> Result<Box<dyn ProvideCredentials>, CredentialsError> {
        let mut b = AssumeRoleProvider::builder(self.req(p, name, "ram_role_arn")?);
        if let Some(s) = self.opt(p, name, "ram_session_name")? {
            b = b.session_name(s);
        }
        match p.get("expired_seconds") {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(0) => {}
                Some(n) => b = b.duration_seconds(n),
                None => return Err(self.err(name, "`expired_seconds` is not a number")),
            },
        }
        if let Some(x) = self.opt(p, name, "policy")? {
            b = b.policy(x);
        }
        if let Some(x) = self.opt(p, name, "external_id")? {
            b = b.external_id(x);
        }
        if let Some(x) = self.opt(p, name, "sts_endpoint")? {
            b = b.sts_endpoint(x);
        }
        let provider = b
            .configure(config)
            .build(source)
            .map_err(|e| self.err(name, e))?;
        Ok(Box::new(provider))
    }
}

impl ProvideCredentials for CliProfileProvider {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        Box::pin(self.load())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Env;
    use serde_json::json;

    async fn load(doc: &Value, env: &[(&str, &str)]) -> Result<Credentials, CredentialsError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".aliyun")).unwrap();
        std::fs::write(dir.path().join(".aliyun/config.json"), doc.to_string()).unwrap();
        let mut pairs: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        pairs.push(("HOME".into(), dir.path().display().to_string()));
        CliProfileProvider::with_config(&ProviderConfig::default().with_env(Env::from_pairs(pairs)))
            .load()
            .await
    }

    fn doc() -> Value {
        json!({"current": "default", "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "LTAI-d", "access_key_secret": "sk-d"},
            {"name": "sts", "mode": "StsToken", "access_key_id": "STS.s", "access_key_secret": "sk-s",
             "sts_token": "tk-s"},
            {"name": "half", "mode": "AK", "access_key_id": "LTAI-h"},
            {"name": "odd", "mode": "CloudSSO"},
            {"name": "role", "mode": "RamRoleArn", "access_key_id": "a", "access_key_secret": "b",
             "ram_role_arn": "acs:ram::1:role/r"},
            {"name": "loop", "mode": "ChainableRamRoleArn", "source_profile": "loop",
             "ram_role_arn": "acs:ram::1:role/r", "sts_endpoint": "127.0.0.1:1"},
            {"name": "typed", "mode": "AK", "access_key_id": "a", "access_key_secret": 12345}
        ]})
    }

    #[tokio::test]
    async fn selects_profiles() {
        let c = load(&doc(), &[]).await.unwrap();
        assert_eq!((c.access_key_id(), c.provider_name()), ("LTAI-d", NAME));
        let c = load(&doc(), &[(PROFILE, "sts")]).await.unwrap();
        assert_eq!(c.access_key_id(), "STS.s");
        assert_eq!(c.security_token().unwrap().expose_secret(), "tk-s");
    }

    #[tokio::test]
    async fn what_continues_and_what_stops() {
        // Continues: disabled, absent profile, nothing selected.
        assert!(load(&doc(), &[(CLI_PROFILE_DISABLED, "true")])
            .await
            .unwrap_err()
            .is_not_loaded());
        assert!(load(&doc(), &[(PROFILE, "nope")])
            .await
            .unwrap_err()
            .is_not_loaded());
        assert!(load(&json!({"profiles": []}), &[])
            .await
            .unwrap_err()
            .is_not_loaded());
        // Stops: incomplete, unsupported, unreachable role setup, loops, wrong types.
        for name in ["half", "odd", "role", "loop", "typed"] {
            let e = load(&doc(), &[(PROFILE, name)]).await.unwrap_err();
            assert!(
                matches!(e, CredentialsError::InvalidConfiguration { .. }),
                "{name}: {e}"
            );
            assert!(!format!("{e:?}").contains("12345"), "{e:?}");
        }
    }

    #[tokio::test]
    async fn missing_file_or_home_is_not_loaded_and_bad_json_stops() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = |home: &std::path::Path| {
            ProviderConfig::default()
                .with_env(Env::from_pairs([("HOME", home.display().to_string())]))
        };
        let p = CliProfileProvider::with_config(&cfg(dir.path()));
        assert!(p.load().await.unwrap_err().is_not_loaded());
        let p = CliProfileProvider::with_config(
            &ProviderConfig::default().with_env(Env::from_pairs([("X", "1")])),
        );
        assert!(p.load().await.unwrap_err().is_not_loaded());
        std::fs::create_dir_all(dir.path().join(".aliyun")).unwrap();
        std::fs::write(
            dir.path().join(".aliyun/config.json"),
            "{\"access_key_secret\": \"sk-",
        )
        .unwrap();
        let e = CliProfileProvider::with_config(&cfg(dir.path()))
            .load()
            .await
            .unwrap_err();
        assert!(
            matches!(e, CredentialsError::InvalidConfiguration { .. }),
            "{e}"
        );
        assert!(!e.to_string().contains("sk-"));
    }
}
