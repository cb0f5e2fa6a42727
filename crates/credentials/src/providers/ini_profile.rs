//! Credentials from the INI credentials file: `ALIBABA_CLOUD_CREDENTIALS_FILE`, else
//! `~/.alibabacloud/credentials.ini` (Python, Java), else `~/.alibabacloud/credentials` (Go).
//!
//! ```ini
//! [default]
//! type = access_key
//! access_key_id = LTAI…
//! access_key_secret = …
//!
//! [session]
//! type = sts
//! access_key_id = STS.…
//! access_key_secret = …
//! security_token = …
//! ```
//!
//! The section is the one named explicitly, else `ALIBABA_CLOUD_PROFILE`, else `default`. Types:
//! `access_key`, `sts`, `ecs_ram_role` (`role_name`) and `ram_role_arn` (`access_key_id`,
//! `access_key_secret`, `role_arn`, `role_session_name`, `policy`, and `sts_endpoint` — a keyless
//! extension — or the [`ProviderConfig`]'s STS endpoint). A section with `enable = false` is
//! skipped. As in the Python client, a value ends at the first `#`.
//!
//! Not loaded when the default file does not exist, or has no such section, or the section is
//! disabled. A file named by `ALIBABA_CLOUD_CREDENTIALS_FILE` that does not exist, a section of an
//! unknown type or a section missing a field is an error.

use super::assume_role::AssumeRoleProvider;
use super::cli_profile::{read_small, PROFILE};
use super::ecs::EcsMetadataProvider;
use crate::{
    Credentials, CredentialsError, ProvideCredentials, ProvideFuture, ProviderConfig,
    StaticProvider,
};
use keyless_secret::SecretString;
use std::collections::BTreeMap;
use std::path::PathBuf;

const NAME: &str = "ini_profile";
/// The variable naming the INI file.
pub const CREDENTIALS_FILE: &str = "ALIBABA_CLOUD_CREDENTIALS_FILE";
const MAX_FILE_BYTES: u64 = 1 << 20;

type Section = BTreeMap<String, String>;

/// Reads a section of the INI credentials file.
#[derive(Debug, Clone)]
pub struct IniProfileProvider {
    config: ProviderConfig,
    profile_name: Option<String>,
    path: Option<PathBuf>,
}

impl IniProfileProvider {
    /// Uses `config`'s environment, clock and endpoints.
    pub fn with_config(config: &ProviderConfig) -> Self {
        Self {
            config: config.clone(),
            profile_name: None,
            path: None,
        }
    }

    /// Uses section `name` regardless of `ALIBABA_CLOUD_PROFILE`.
    pub fn with_profile_name(mut self, name: impl Into<String>) -> Self {
        self.profile_name = Some(name.into());
        self
    }

    /// Reads `path` (as if named by `ALIBABA_CLOUD_CREDENTIALS_FILE`).
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The file to read and whether it was named explicitly.
    async fn locate(&self) -> Result<(PathBuf, bool), CredentialsError> {
        let env = self.config.env();
        if let Some(p) = self
            .path
            .clone()
            .or_else(|| env.non_blank(CREDENTIALS_FILE).map(PathBuf::from))
        {
            return Ok((p, true));
        }
        let home = env.home_dir().ok_or_else(|| {
            CredentialsError::not_loaded(NAME, "no home directory (`HOME` is not set)")
        })?;
        let dir = home.join(".alibabacloud");
        let ini = dir.join("credentials.ini");
        if tokio::fs::try_exists(&ini).await.unwrap_or(false) {
            return Ok((ini, false));
        }
        Ok((dir.join("credentials"), false))
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let (path, explicit) = self.locate().await?;
        let shown = path.display().to_string();
        let bytes = match read_small(&path, MAX_FILE_BYTES).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Err(CredentialsError::not_loaded(
                    NAME,
                    format!("`{shown}` does not exist"),
                ))
            }
            Err(e) => return Err(CredentialsError::other(NAME, format!("`{shown}`: {e}"))),
        };
        let text = String::from_utf8(bytes).map_err(|_| {
            CredentialsError::invalid_configuration(NAME, format!("`{shown}` is not UTF-8"))
        })?;
        let sections = parse_ini(&text).map_err(|line| {
            CredentialsError::invalid_configuration(
                NAME,
                format!("`{shown}` line {line}: not `[section]` or `key = value`"),
            )
        })?;
        let name = self
            .profile_name
            .clone()
            .or_else(|| self.config.env().non_blank(PROFILE))
            .unwrap_or_else(|| "default".to_owned());
        let Some(section) = sections.get(&name) else {
            return Err(CredentialsError::not_loaded(
                NAME,
                format!("`{shown}` has no section `[{name}]`"),
            ));
        };
        if section
            .get("enable")
            .is_some_and(|v| v.eq_ignore_ascii_case("false"))
        {
            return Err(CredentialsError::not_loaded(
                NAME,
                format!("section `[{name}]` of `{shown}` has `enable = false`"),
            ));
        }
        let inner = build(section, &self.config).map_err(|m| {
            CredentialsError::invalid_configuration(NAME, format!("`{shown}`, `[{name}]`: {m}"))
        })?;
        inner
            .provide_credentials()
            .await
            .map(|c| c.with_provider_name(NAME))
            .map_err(|e| match e {
                CredentialsError::NotLoaded { provider, reason } => {
                    CredentialsError::invalid_configuration(
                        NAME,
                        format!("`[{name}]`: `{provider}` has no credentials: {reason}"),
                    )
                }
                other => other,
            })
    }
}

fn build(s: &Section, config: &ProviderConfig) -> Result<Box<dyn ProvideCredentials>, String> {
    let opt = |k: &str| s.get(k).filter(|v| !v.is_empty()).cloned();
    let req = |k: &str| opt(k).ok_or_else(|| format!("`{k}` is missing or empty"));
    let keys = |token: Option<String>| -> Result<StaticProvider, String> {
        Ok(StaticProvider::new(Credentials::new(
            req("access_key_id")?,
            SecretString::new(req("access_key_secret")?),
            token.map(SecretString::new),
            None,
            NAME,
        )))
    };
    let kind = req("type")?;
    match kind.as_str() {
        "access_key" => Ok(Box::new(keys(None)?)),
        "sts" => Ok(Box::new(keys(Some(req("security_token")?))?)),
        "ecs_ram_role" => {
            let mut ecs = EcsMetadataProvider::with_config(config);
            if let Some(r) = opt("role_name") {
                ecs = ecs.with_role_name(r);
            }
            Ok(Box::new(ecs))
        }
        "ram_role_arn" => {
            let mut b = AssumeRoleProvider::builder(req("role_arn")?);
            if let Some(v) = opt("role_session_name") {
                b = b.session_name(v);
            }
            if let Some(v) = opt("policy") {
                b = b.policy(v);
            }
            if let Some(v) = opt("sts_endpoint") {
                b = b.sts_endpoint(v);
            }
            let p = b
                .configure(config)
                .build(keys(None)?)
                .map_err(|e| e.to_string())?;
            Ok(Box::new(p))
        }
        other => Err(format!(
            "type `{}` is not supported by keyless-credentials",
            keyless_wire::clip(other)
        )),
    }
}

/// Parses INI text into sections. Keys are lower-cased; values are trimmed, cut at the first `#`
/// and unquoted. Lines starting with `#` or `;` are comments. Returns the 1-based number of the
/// first line that is neither a section header nor `key = value` (or `key: value`).
fn parse_ini(text: &str) -> Result<BTreeMap<String, Section>, usize> {
    let mut out: BTreeMap<String, Section> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest.strip_suffix(']').ok_or(i + 1)?.trim().to_owned();
            out.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        let split = match (line.find('='), line.find(':')) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return Err(i + 1),
        };
        let (key, value) = (&line[..split], &line[split + 1..]);
        let key = key.trim().to_ascii_lowercase();
        let Some(section) = current.as_ref().and_then(|c| out.get_mut(c)) else {
            return Err(i + 1);
        };
        if key.is_empty() {
            return Err(i + 1);
        }
        let value = value.split('#').next().unwrap_or("").trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        section.insert(key, value.to_owned());
    }
    Ok(out)
}

impl ProvideCredentials for IniProfileProvider {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        Box::pin(self.load())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Env;

    #[test]
    fn parses_ini() {
        let s = parse_ini(
            "# comment\n; also\n[default]\nType = access_key\naccess_key_id=LTAI # note\n\
             access_key_secret : \"s\"\n\n[ other ]\nk=v=w\n",
        )
        .unwrap();
        let d = &s["default"];
        assert_eq!(d["type"], "access_key");
        assert_eq!(d["access_key_id"], "LTAI");
        assert_eq!(d["access_key_secret"], "s");
        assert_eq!(s["other"]["k"], "v=w");
        assert_eq!(parse_ini("k=v\n"), Err(1));
        assert_eq!(parse_ini("[a]\njunk\n"), Err(2));
        assert_eq!(parse_ini("[a\n"), Err(1));
    }

    async fn load_file(text: &str, env: &[(&str, &str)]) -> Result<Credentials, CredentialsError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".alibabacloud")).unwrap();
        std::fs::write(dir.path().join(".alibabacloud/credentials.ini"), text).unwrap();
        let mut pairs: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        pairs.push(("HOME".into(), dir.path().display().to_string()));
        IniProfileProvider::with_config(&ProviderConfig::default().with_env(Env::from_pairs(pairs)))
            .load()
            .await
    }

    const FILE: &str = "[default]\ntype = access_key\naccess_key_id = LTAI-d\naccess_key_secret = sk-d\n\
        [sess]\ntype = sts\naccess_key_id = STS.s\naccess_key_secret = sk-s\nsecurity_token = tk-s\n\
        [off]\nenable = false\ntype = access_key\naccess_key_id = x\naccess_key_secret = y\n\
        [weird]\ntype = rsa_key_pair\n\
        [half]\ntype = sts\naccess_key_id = a\naccess_key_secret = b\n";

    #[tokio::test]
    async fn sections() {
        let c = load_file(FILE, &[]).await.unwrap();
        assert_eq!((c.access_key_id(), c.provider_name()), ("LTAI-d", NAME));
        let c = load_file(FILE, &[(PROFILE, "sess")]).await.unwrap();
        assert_eq!(c.security_token().unwrap().expose_secret(), "tk-s");
        for (name, continues) in [
            ("off", true),
            ("absent", true),
            ("weird", false),
            ("half", false),
        ] {
            let e = load_file(FILE, &[(PROFILE, name)]).await.unwrap_err();
            assert_eq!(e.is_not_loaded(), continues, "{name}: {e}");
        }
    }

    #[tokio::test]
    async fn explicit_file_must_exist_default_need_not() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().display().to_string();
        let p = |pairs: Vec<(&str, String)>| {
            IniProfileProvider::with_config(
                &ProviderConfig::default().with_env(Env::from_pairs(pairs)),
            )
        };
        assert!(p(vec![("HOME", home.clone())])
            .load()
            .await
            .unwrap_err()
            .is_not_loaded());
        let missing = dir.path().join("nope.ini").display().to_string();
        let e = p(vec![("HOME", home.clone()), (CREDENTIALS_FILE, missing)])
            .load()
            .await
            .unwrap_err();
        assert!(!e.is_not_loaded(), "{e}");
        // Go's default name is read when `credentials.ini` is absent.
        std::fs::create_dir_all(dir.path().join(".alibabacloud")).unwrap();
        std::fs::write(dir.path().join(".alibabacloud/credentials"), FILE).unwrap();
        let c = p(vec![("HOME", home)]).load().await.unwrap();
        assert_eq!(c.access_key_id(), "LTAI-d");
    }
}
