//! Data-driven tests of the default chain: each case in `data/default_chain.json` gives an
//! environment, files (under a temporary root; `HOME` is `<root>/home`), canned HTTP responses (a
//! local server plays the credentials URI, the ECS metadata service and STS), and the expected
//! credentials or error plus the exact HTTP traffic. Secret values in the cases start with
//! `SECRET-` or `TOKEN-`; no `Debug` or `Display` output may contain one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use keyless_credentials::{
    default_chain, CredentialsError, Env, ManualTimeSource, ProvideCredentials, ProviderConfig,
};
use serde_json::Value;
use support::{Route, TestServer};

/// 2026-01-01T00:00:00Z
const NOW: i64 = 1_767_225_600;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn assert_no_secret(what: &str, s: &str) {
    assert!(
        !s.contains("SECRET-") && !s.contains("TOKEN-"),
        "a secret leaked into {what}: {s}"
    );
}

fn error_kind(e: &CredentialsError) -> &'static str {
    match e {
        CredentialsError::NotLoaded { .. } => "not_loaded",
        CredentialsError::InvalidConfiguration { .. } => "invalid_configuration",
        CredentialsError::Transport { .. } => "transport",
        CredentialsError::InvalidResponse { .. } => "invalid_response",
        CredentialsError::Service { .. } => "service",
        _ => "other",
    }
}

async fn run_case(case: &Value) {
    let name = case["name"].as_str().unwrap();
    let root = tempfile::tempdir().unwrap();
    let root_s = root.path().display().to_string();
    std::fs::create_dir_all(root.path().join("home")).unwrap();

    let routes = case["http"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    Route::new(
                        r["method"].as_str().unwrap(),
                        r["path"].as_str().unwrap(),
                        u16::try_from(r["status"].as_u64().unwrap()).unwrap(),
                        text(&r["body"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let server = TestServer::start(routes).await;
    let subst = |s: &str| {
        s.replace("{server}", &server.url())
            .replace("{root}", &root_s)
    };

    if let Some(files) = case["files"].as_object() {
        for (rel, content) in files {
            let path = root.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, subst(&text(content))).unwrap();
        }
    }
    let mut env: Vec<(String, String)> = vec![("HOME".into(), format!("{root_s}/home"))];
    if let Some(vars) = case["env"].as_object() {
        for (k, v) in vars {
            env.push((k.clone(), subst(v.as_str().unwrap())));
        }
    }
    let config = ProviderConfig::default()
        .with_env(Env::from_pairs(env))
        .with_time_source(ManualTimeSource::new(NOW))
        .with_ecs_metadata_endpoint(server.url())
        .with_credentials_file(root.path().join("etc/ram/credentials"));
    let chain = default_chain(&config);
    assert_no_secret("the chain's Debug", &format!("{chain:?}"));

    let result = chain.provide_credentials().await;
    let want = &case["result"];
    match (&result, want.get("error")) {
        (Ok(c), None) => {
            assert_no_secret("the credentials' Debug", &format!("{c:?}"));
            assert_eq!(c.provider_name(), want["provider"], "{name}");
            assert_eq!(c.access_key_id(), want["access_key_id"], "{name}");
            assert_eq!(
                c.access_key_secret().expose_secret(),
                want["secret"],
                "{name}"
            );
            assert_eq!(
                c.security_token().map(|t| t.expose_secret().to_owned()),
                want["token"].as_str().map(str::to_owned),
                "{name}"
            );
            let expiry = want["expiry"]
                .as_str()
                .map(|e| keyless_sign::parse_timestamp(e).unwrap());
            assert_eq!(c.expiry(), expiry, "{name}");
        }
        (Err(e), Some(kind)) => {
            let shown = format!("{e} {e:?}");
            assert_no_secret("the error", &shown);
            assert_eq!(error_kind(e), kind.as_str().unwrap(), "{name}: {shown}");
            assert_eq!(
                e.provider(),
                want["provider"].as_str().unwrap(),
                "{name}: {shown}"
            );
            if let Some(m) = want["message_contains"].as_str() {
                assert!(e.to_string().contains(m), "{name}: `{m}` not in {e}");
            }
        }
        (r, _) => panic!("{name}: got {r:?}, want {want}"),
    }

    let got = server.requests();
    let expected = case["requests"].as_array().unwrap();
    assert_eq!(
        got.iter()
            .map(|r| format!("{} {}", r.method, r.path()))
            .collect::<Vec<_>>(),
        expected
            .iter()
            .map(|r| format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        "{name}: traffic"
    );
    for (r, exp) in got.iter().zip(expected) {
        if let Some(h) = exp["headers"].as_object() {
            for (k, v) in h {
                let v = subst(v.as_str().unwrap());
                let actual = r
                    .header(k)
                    .unwrap_or_else(|| panic!("{name}: no `{k}` in {r:?}"));
                match v.strip_suffix('*') {
                    Some(prefix) => assert!(actual.starts_with(prefix), "{name}: {k}: {actual}"),
                    None => assert_eq!(actual, v, "{name}: {k}"),
                }
            }
        }
        for k in exp["absent_headers"].as_array().into_iter().flatten() {
            let k = k.as_str().unwrap();
            assert!(r.header(k).is_none(), "{name}: `{k}` should be absent");
        }
        for s in exp["target_contains"].as_array().into_iter().flatten() {
            let s = s.as_str().unwrap();
            assert!(r.target.contains(s), "{name}: `{s}` not in {}", r.target);
        }
    }
}

#[tokio::test]
async fn default_chain_cases() {
    let cases: Vec<Value> = serde_json::from_str(include_str!("data/default_chain.json")).unwrap();
    assert!(cases.len() >= 25);
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        assert!(
            names.insert(case["name"].as_str().unwrap()),
            "duplicate case name"
        );
        run_case(case).await;
    }
}
