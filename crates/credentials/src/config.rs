//! What providers read from their surroundings, injected: the environment ([`Env`]) and the
//! shared settings of a chain ([`ProviderConfig`]).

use crate::time::{SystemTimeSource, TimeSource};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// The environment variables a provider sees: the process environment, or a fixed map (tests,
/// or a program that wants to decide itself).
///
/// `Debug` lists variable *names* only, never values (an environment may hold a secret).
///
/// ```
/// use keyless_credentials::Env;
///
/// let env = Env::from_pairs([("ALIBABA_CLOUD_PROFILE", "dev")]);
/// assert_eq!(env.get("ALIBABA_CLOUD_PROFILE").as_deref(), Some("dev"));
/// assert_eq!(env.get("HOME"), None);
/// ```
#[derive(Clone)]
pub struct Env(Arc<EnvInner>);

enum EnvInner {
    Process,
    Map(BTreeMap<String, String>),
}

impl Env {
    /// The process environment, read at each lookup.
    pub fn process() -> Self {
        Self(Arc::new(EnvInner::Process))
    }

    /// A fixed environment holding exactly `pairs`.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self(Arc::new(EnvInner::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )))
    }

    /// The value of `name`, if set (possibly empty) and valid UTF-8.
    pub fn get(&self, name: &str) -> Option<String> {
        match &*self.0 {
            EnvInner::Process => std::env::var(name).ok(),
            EnvInner::Map(m) => m.get(name).cloned(),
        }
    }

    /// The value of `name` if set and not blank, trimmed.
    pub(crate) fn non_blank(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Whether `name` is set to `true` (any case).
    pub(crate) fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// The home directory: `HOME`, else `USERPROFILE`.
    pub(crate) fn home_dir(&self) -> Option<PathBuf> {
        self.non_blank("HOME")
            .or_else(|| self.non_blank("USERPROFILE"))
            .map(PathBuf::from)
    }
}

impl Default for Env {
    fn default() -> Self {
        Self::process()
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            EnvInner::Process => f.write_str("Env::Process"),
            EnvInner::Map(m) => f
                .debug_struct("Env::Map")
                .field("names", &m.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// The default ECS metadata service.
pub const DEFAULT_ECS_METADATA_ENDPOINT: &str = "http://100.100.100.200";
/// The default keyless credentials file (a keyless extension; no official chain reads it).
pub const DEFAULT_CREDENTIALS_FILE: &str = "/etc/ram/credentials";

/// Settings every provider of a chain shares: where the environment comes from, the clock, the
/// ECS metadata endpoint and the STS endpoint used by role-assuming profiles.
///
/// ```
/// use keyless_credentials::{Env, ManualTimeSource, ProviderConfig};
///
/// let config = ProviderConfig::default()
///     .with_env(Env::from_pairs([("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")]))
///     .with_time_source(ManualTimeSource::new(1_700_000_000))
///     .with_sts_endpoint("127.0.0.1:18931");
/// assert_eq!(config.sts_endpoint(), Some("127.0.0.1:18931"));
/// ```
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    env: Env,
    time_source: Arc<dyn TimeSource>,
    ecs_metadata_endpoint: String,
    sts_endpoint: Option<String>,
    credentials_file: PathBuf,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            env: Env::process(),
            time_source: Arc::new(SystemTimeSource),
            ecs_metadata_endpoint: DEFAULT_ECS_METADATA_ENDPOINT.to_owned(),
            sts_endpoint: None,
            credentials_file: PathBuf::from(DEFAULT_CREDENTIALS_FILE),
        }
    }
}

impl ProviderConfig {
    /// Reads variables from `env` instead of the process environment.
    pub fn with_env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Uses `time_source` as the clock.
    pub fn with_time_source(mut self, time_source: impl TimeSource + 'static) -> Self {
        self.time_source = Arc::new(time_source);
        self
    }

    /// Uses a shared clock.
    pub fn with_shared_time_source(mut self, time_source: Arc<dyn TimeSource>) -> Self {
        self.time_source = time_source;
        self
    }

    /// The ECS metadata base URL (default [`DEFAULT_ECS_METADATA_ENDPOINT`]), `http://` only.
    pub fn with_ecs_metadata_endpoint(mut self, base_url: impl Into<String>) -> Self {
        self.ecs_metadata_endpoint = base_url.into();
        self
    }

    /// The STS endpoint (`host:port` or `http://host:port`) that `RamRoleArn` /
    /// `ChainableRamRoleArn` CLI profiles and `ram_role_arn` INI profiles call, unless the profile
    /// names its own `sts_endpoint`.
    pub fn with_sts_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.sts_endpoint = Some(endpoint.into());
        self
    }

    /// The keyless credentials file (default [`DEFAULT_CREDENTIALS_FILE`]).
    pub fn with_credentials_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.credentials_file = path.into();
        self
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The clock.
    pub fn time_source(&self) -> &Arc<dyn TimeSource> {
        &self.time_source
    }

    /// The ECS metadata base URL.
    pub fn ecs_metadata_endpoint(&self) -> &str {
        &self.ecs_metadata_endpoint
    }

    /// The STS endpoint for role-assuming profiles, if configured.
    pub fn sts_endpoint(&self) -> Option<&str> {
        self.sts_endpoint.as_deref()
    }

    /// The keyless credentials file.
    pub fn credentials_file(&self) -> &std::path::Path {
        &self.credentials_file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_debug_shows_names_only() {
        let env = Env::from_pairs([("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "hunter2")]);
        let d = format!("{env:?}");
        assert!(d.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"));
        assert!(!d.contains("hunter2"));
        assert_eq!(format!("{:?}", Env::process()), "Env::Process");
    }

    #[test]
    fn env_helpers() {
        let env = Env::from_pairs([
            ("A", " x "),
            ("B", "  "),
            ("T", "TRUE"),
            ("F", "yes"),
            ("USERPROFILE", "/home/u"),
        ]);
        assert_eq!(env.non_blank("A").as_deref(), Some("x"));
        assert_eq!(env.non_blank("B"), None);
        assert!(env.is_true("T"));
        assert!(!env.is_true("F"));
        assert!(!env.is_true("missing"));
        assert_eq!(env.home_dir(), Some(PathBuf::from("/home/u")));
    }
}
