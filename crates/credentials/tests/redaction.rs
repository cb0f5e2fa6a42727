//! No `Debug` output of credentials, of any provider (before and after it loaded), of the cache
//! or of the RPC client contains a secret or a security token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_credentials::*;

const SECRET: &str = "SECRET-must-not-leak";
const TOKEN: &str = "TOKEN-must-not-leak";

fn check(what: &str, debug: String) {
    assert!(
        !debug.contains(SECRET) && !debug.contains(TOKEN),
        "{what} leaks: {debug}"
    );
}

#[tokio::test]
async fn no_debug_output_contains_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".aliyun")).unwrap();
    std::fs::create_dir_all(home.join(".alibabacloud")).unwrap();
    std::fs::write(
        home.join(".aliyun/config.json"),
        format!(
            r#"{{"current":"p","profiles":[{{"name":"p","mode":"StsToken","access_key_id":"STS.cli",
                "access_key_secret":"{SECRET}","sts_token":"{TOKEN}"}}]}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        home.join(".alibabacloud/credentials.ini"),
        format!("[default]\ntype = sts\naccess_key_id = STS.ini\naccess_key_secret = {SECRET}\nsecurity_token = {TOKEN}\n"),
    )
    .unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        format!(
            r#"{{"AccessKeyId":"STS.file","AccessKeySecret":"{SECRET}","SecurityToken":"{TOKEN}"}}"#
        ),
    )
    .unwrap();

    let env = Env::from_pairs([
        ("HOME", home.display().to_string()),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.env".to_owned()),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET.to_owned()),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", TOKEN.to_owned()),
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true".to_owned()),
    ]);
    check("env", format!("{env:?}"));
    let config = ProviderConfig::default()
        .with_env(env)
        .with_credentials_file(&file)
        .with_sts_endpoint("127.0.0.1:9");
    check("config", format!("{config:?}"));

    let creds = Credentials::new(
        "STS.x",
        SECRET,
        Some(SecretString::from(TOKEN)),
        Some(2_000_000_000),
        "test",
    );
    check("credentials", format!("{creds:?} {creds:#?}"));

    let stat = StaticProvider::new(creds.clone());
    let envp = EnvironmentProvider::with_config(&config);
    let cli = CliProfileProvider::with_config(&config);
    let ini = IniProfileProvider::with_config(&config);
    let filep = CredentialsFileProvider::with_config(&config);
    let uri = CredentialsUriProvider::with_config(&config).with_uri("http://127.0.0.1:9/creds");
    let ecs = EcsMetadataProvider::with_config(&config);
    let oidc = OidcUnsupportedProvider::with_config(&config);
    let role = AssumeRoleProvider::builder("acs:ram::1:role/r")
        .sts_endpoint("127.0.0.1:9")
        .policy("{}")
        .build(StaticProvider::new(creds.clone()))
        .unwrap();

    // Providers that hold nothing yet, and after they loaded (some keep what they read).
    let providers: Vec<(&str, &dyn ProvideCredentials)> = vec![
        ("static", &stat),
        ("environment", &envp),
        ("cli_profile", &cli),
        ("ini_profile", &ini),
        ("credentials_file", &filep),
    ];
    for (name, p) in &providers {
        check(name, format!("{p:?}"));
        let c = p.provide_credentials().await.unwrap();
        assert_eq!(c.access_key_secret().expose_secret(), SECRET, "{name}");
        check(name, format!("{p:?} {p:#?} {c:?}"));
    }
    for (name, p) in [
        ("credentials_uri", format!("{uri:?}")),
        ("ecs", format!("{ecs:?}")),
        ("oidc", format!("{oidc:?}")),
        ("ram_role_arn", format!("{role:?}")),
    ] {
        check(name, p);
    }

    let chain = default_chain(&config);
    check("chain", format!("{chain:?}"));
    let cached = CachedProvider::new(default_chain(&config));
    let c = cached.provide_credentials().await.unwrap();
    assert_eq!(c.provider_name(), "environment");
    check("cache", format!("{cached:?} {cached:#?}"));
}
