//! The RAM role ARN provider: STS `AssumeRole`, signed (V3 `ACS3-HMAC-SHA256`) with credentials
//! from another provider.

use crate::acs3;
use crate::error::CredentialsError;
use crate::http::HttpUrl;
use crate::time::{SystemTimeSource, TimeSource};
use crate::{Credentials, ProvideCredentials, ProvideFuture, ProviderConfig, Timeouts};
use keyless_secret::SecretString;
use serde_json::Value;
use std::sync::Arc;

const NAME: &str = "ram_role_arn";
/// The STS API version.
pub const STS_VERSION: &str = "2015-04-01";
/// Default session duration: one hour.
pub const DEFAULT_DURATION_SECS: u32 = 3600;
/// Shortest session STS grants: 15 minutes.
pub const MIN_DURATION_SECS: u32 = 900;
/// Default session name prefix (followed by the Unix time).
const SESSION_PREFIX: &str = "keyless-credentials-";
const USER_AGENT: &str = concat!("keyless-credentials/", env!("CARGO_PKG_VERSION"));

/// What `AssumeRole` returned besides the credentials.
#[derive(Debug, Clone)]
pub struct AssumedRole {
    /// The session credentials.
    pub credentials: Credentials,
    /// `AssumedRoleUser.Arn`: `acs:ram::<uid>:role/<role>/<session>` (STS's form; GetCallerIdentity
    /// names the same session `acs:ram::<uid>:assumed-role/<role>/<session>`).
    pub arn: String,
    /// `AssumedRoleUser.AssumedRoleId`.
    pub assumed_role_id: String,
    /// `RequestId` of the call.
    pub request_id: String,
}

/// Assumes a RAM role with STS `AssumeRole` (V3-signed RPC over plain HTTP).
///
/// The source credentials come from any other provider (typically static or environment keys, or
/// another role for chaining). Each call makes one STS request: wrap the provider in a
/// [`CachedProvider`](crate::CachedProvider).
///
/// ```no_run
/// # async fn f() -> Result<(), keyless_credentials::CredentialsError> {
/// use keyless_credentials::{AssumeRoleProvider, CachedProvider, Credentials, StaticProvider};
/// use keyless_credentials::ProvideCredentials;
///
/// let user = StaticProvider::new(Credentials::from_keys("LTAI5tUser", "user-secret", None));
/// let role = AssumeRoleProvider::builder("acs:ram::1234567890123456:role/deployer")
///     .session_name("ci-42")
///     .sts_endpoint("127.0.0.1:18931")
///     .build(user)?;
/// let session = CachedProvider::new(role).provide_credentials().await?;
/// # let _ = session; Ok(()) }
/// ```
#[derive(Debug)]
pub struct AssumeRoleProvider {
    source: Box<dyn ProvideCredentials>,
    endpoint: HttpUrl,
    timeouts: Timeouts,
    time: Arc<dyn TimeSource>,
    role_arn: String,
    session_name: Option<String>,
    duration_secs: u32,
    policy: Option<String>,
    external_id: Option<String>,
}

/// Builds an [`AssumeRoleProvider`].
#[derive(Debug)]
pub struct AssumeRoleProviderBuilder {
    role_arn: String,
    session_name: Option<String>,
    duration_secs: u32,
    policy: Option<String>,
    external_id: Option<String>,
    endpoint: Option<String>,
    time: Option<Arc<dyn TimeSource>>,
    timeouts: Timeouts,
}

impl AssumeRoleProviderBuilder {
    /// `RoleSessionName` (default `keyless-credentials-<unix time>`, or
    /// `ALIBABA_CLOUD_ROLE_SESSION_NAME` when built from a profile).
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.session_name = Some(name.into()).filter(|n: &String| !n.is_empty());
        self
    }

    /// `DurationSeconds` (default 3600, at least 900).
    pub fn duration_seconds(mut self, secs: u32) -> Self {
        self.duration_secs = secs;
        self
    }

    /// An inline session `Policy` (JSON) narrowing the role's permissions.
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.policy = Some(policy.into()).filter(|p: &String| !p.is_empty());
        self
    }

    /// `ExternalId`.
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into()).filter(|p: &String| !p.is_empty());
        self
    }

    /// The STS endpoint: `host[:port]` (plain HTTP) or `http://host[:port]`. Required: this crate
    /// has no TLS, so the public `https://sts.aliyuncs.com` cannot be the default.
    pub fn sts_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The clock (for `x-acs-date` and the default session name).
    pub fn time_source(mut self, time: Arc<dyn TimeSource>) -> Self {
        self.time = Some(time);
        self
    }

    /// Connect and read timeouts of the STS call (default 5 s / 10 s).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Applies `config`'s clock, its STS endpoint (unless one is set) and
    /// `ALIBABA_CLOUD_ROLE_SESSION_NAME` (unless a name is set).
    pub fn configure(mut self, config: &ProviderConfig) -> Self {
        self.time = Some(config.time_source().clone());
        if self.endpoint.is_none() {
            self.endpoint = config.sts_endpoint().map(str::to_owned);
        }
        if self.session_name.is_none() {
            self.session_name = config.env().non_blank("ALIBABA_CLOUD_ROLE_SESSION_NAME");
        }
        self
    }

    /// The provider, assuming the role with credentials from `source`.
    pub fn build(
        self,
        source: impl ProvideCredentials + 'static,
    ) -> Result<AssumeRoleProvider, CredentialsError> {
        if self.role_arn.trim().is_empty() {
            return Err(CredentialsError::invalid_configuration(
                NAME,
                "the role ARN is empty",
            ));
        }
        if self.duration_secs < MIN_DURATION_SECS {
            return Err(CredentialsError::invalid_configuration(
                NAME,
                format!(
                    "the session duration is {} s, at least {MIN_DURATION_SECS} s is required",
                    self.duration_secs
                ),
            ));
        }
        let endpoint = self.endpoint.ok_or_else(|| {
            CredentialsError::invalid_configuration(
                NAME,
                "no STS endpoint: set one (`host:port` of an http STS such as keyless); \
                 https endpoints are not supported by this crate",
            )
        })?;
        let time = self.time.unwrap_or_else(|| Arc::new(SystemTimeSource));
        let endpoint = HttpUrl::parse_endpoint(&endpoint)
            .map_err(|e| CredentialsError::invalid_configuration(NAME, e))?;
        Ok(AssumeRoleProvider {
            source: Box::new(source),
            endpoint,
            timeouts: self.timeouts,
            time,
            role_arn: self.role_arn,
            session_name: self.session_name,
            duration_secs: self.duration_secs,
            policy: self.policy,
            external_id: self.external_id,
        })
    }
}

impl AssumeRoleProvider {
    /// A builder for role `role_arn` (`acs:ram::<uid>:role/<name>`).
    pub fn builder(role_arn: impl Into<String>) -> AssumeRoleProviderBuilder {
        AssumeRoleProviderBuilder {
            role_arn: role_arn.into(),
            session_name: None,
            duration_secs: DEFAULT_DURATION_SECS,
            policy: None,
            external_id: None,
            endpoint: None,
            time: None,
            timeouts: acs3::DEFAULT_TIMEOUTS,
        }
    }

    /// Calls `AssumeRole` once and returns the session with its ARN.
    pub async fn assume_role(&self) -> Result<AssumedRole, CredentialsError> {
        let source = self
            .source
            .provide_credentials()
            .await
            .map_err(|e| match e {
                // A source that does not apply is a configuration error of this provider.
                CredentialsError::NotLoaded { provider, reason } => {
                    CredentialsError::invalid_configuration(
                        NAME,
                        format!("its source `{provider}` has no credentials: {reason}"),
                    )
                }
                other => other,
            })?;
        let session = self
            .session_name
            .clone()
            .unwrap_or_else(|| format!("{SESSION_PREFIX}{}", self.time.now()));
        let duration = self.duration_secs.to_string();
        let mut params: Vec<(&str, &str)> = vec![
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", session.as_str()),
            ("DurationSeconds", duration.as_str()),
        ];
        if let Some(p) = &self.policy {
            params.push(("Policy", p.as_str()));
        }
        if let Some(x) = &self.external_id {
            params.push(("ExternalId", x.as_str()));
        }
        let options = acs3::Options {
            now: self.time.now(),
            timeouts: self.timeouts,
            user_agent: USER_AGENT,
        };
        let request = acs3::Request::rpc("AssumeRole", STS_VERSION, &params);
        let body = acs3::call(&self.endpoint, &request, &source, &options)
            .await
            .map_err(|e| CredentialsError::from_rpc(NAME, e))?;
        parse_assume_role(&body)
    }
}

fn parse_assume_role(body: &Value) -> Result<AssumedRole, CredentialsError> {
    let text = |v: &Value, path: &[&str]| -> Result<String, CredentialsError> {
        let mut cur = v;
        for p in path {
            cur = cur.get(p).unwrap_or(&Value::Null);
        }
        match cur {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            _ => Err(CredentialsError::invalid_response(
                NAME,
                format!("`{}` is missing or not a string", path.join(".")),
            )),
        }
    };
    let expiry = crate::document::parse_timestamp(
        "Credentials.Expiration",
        &text(body, &["Credentials", "Expiration"])?,
    )
    .map_err(|e| CredentialsError::invalid_response(NAME, e.to_string()))?;
    let credentials = Credentials::new(
        text(body, &["Credentials", "AccessKeyId"])?,
        SecretString::new(text(body, &["Credentials", "AccessKeySecret"])?),
        Some(SecretString::new(text(
            body,
            &["Credentials", "SecurityToken"],
        )?)),
        Some(expiry),
        NAME,
    );
    Ok(AssumedRole {
        credentials,
        arn: text(body, &["AssumedRoleUser", "Arn"]).unwrap_or_default(),
        assumed_role_id: text(body, &["AssumedRoleUser", "AssumedRoleId"]).unwrap_or_default(),
        request_id: text(body, &["RequestId"]).unwrap_or_default(),
    })
}

impl ProvideCredentials for AssumeRoleProvider {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        Box::pin(async move { self.assume_role().await.map(|a| a.credentials) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StaticProvider;
    use serde_json::json;

    fn src() -> StaticProvider {
        StaticProvider::new(Credentials::from_keys("LTAI", "source-secret", None))
    }

    #[test]
    fn builder_checks() {
        let e = AssumeRoleProvider::builder("acs:ram::1:role/r")
            .build(src())
            .unwrap_err();
        assert!(e.to_string().contains("no STS endpoint"), "{e}");
        let e = AssumeRoleProvider::builder("")
            .sts_endpoint("127.0.0.1:1")
            .build(src())
            .unwrap_err();
        assert!(matches!(e, CredentialsError::InvalidConfiguration { .. }));
        let e = AssumeRoleProvider::builder("acs:ram::1:role/r")
            .sts_endpoint("127.0.0.1:1")
            .duration_seconds(899)
            .build(src())
            .unwrap_err();
        assert!(e.to_string().contains("900"), "{e}");
        let e = AssumeRoleProvider::builder("acs:ram::1:role/r")
            .sts_endpoint("https://sts.aliyuncs.com")
            .build(src())
            .unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        let p = AssumeRoleProvider::builder("acs:ram::1:role/r")
            .sts_endpoint("127.0.0.1:1")
            .build(src())
            .unwrap();
        assert!(!format!("{p:?}").contains("source-secret"));
    }

    #[test]
    fn configure_fills_the_gaps() {
        let cfg = ProviderConfig::default()
            .with_env(crate::Env::from_pairs([(
                "ALIBABA_CLOUD_ROLE_SESSION_NAME",
                "from-env",
            )]))
            .with_sts_endpoint("10.0.0.1:80");
        let b = AssumeRoleProvider::builder("r").configure(&cfg);
        assert_eq!(b.session_name.as_deref(), Some("from-env"));
        assert_eq!(b.endpoint.as_deref(), Some("10.0.0.1:80"));
        let b = AssumeRoleProvider::builder("r")
            .session_name("mine")
            .sts_endpoint("h:1")
            .configure(&cfg);
        assert_eq!(b.session_name.as_deref(), Some("mine"));
        assert_eq!(b.endpoint.as_deref(), Some("h:1"));
    }

    #[test]
    fn parses_the_response() {
        let body = json!({"RequestId":"r-1",
            "AssumedRoleUser":{"Arn":"acs:ram::1:role/r/s","AssumedRoleId":"3:s"},
            "Credentials":{"AccessKeyId":"STS.x","AccessKeySecret":"sk","SecurityToken":"tk",
                           "Expiration":"2026-01-01T01:00:00Z"}});
        let a = parse_assume_role(&body).unwrap();
        assert_eq!(a.arn, "acs:ram::1:role/r/s");
        assert_eq!(a.credentials.access_key_id(), "STS.x");
        assert_eq!(a.credentials.expiry(), Some(1_767_229_200));
        assert_eq!(a.request_id, "r-1");
        let mut bad = body.clone();
        bad["Credentials"]["SecurityToken"] = json!(null);
        assert!(parse_assume_role(&bad).is_err());
        bad = body;
        bad["Credentials"]["Expiration"] = json!("2026-01-01T01:00:00.000Z");
        assert!(parse_assume_role(&bad).is_err());
    }
}
