//! End to end against a real keyless: set `KEYLESS_BIN` to the `keyless` binary (e.g.
//! `KEYLESS_BIN=target/debug/keyless cargo test -p keyless-clients --test live_keyless`).
//! Without it the test prints a note and passes.
//!
//! `keyless up --port 0` publishes its endpoints and root key in `DIR/endpoints.env`. With the root
//! key the test creates a user with a key and `AliyunSTSAssumeRoleAccess`, and a role trusting the
//! account; the RAM role ARN provider then assumes the role with the user's key, and
//! `GetCallerIdentity` signed with the session credentials must name the assumed role.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_clients::{rpc_call, RpcError};
use keyless_credentials::{
    AssumeRoleProvider, CachedProvider, Credentials, CredentialsError, ProvideCredentials,
    StaticProvider,
};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RAM: &str = "2015-05-01";
const STS: &str = "2015-04-01";

struct Keyless {
    child: Child,
}

impl Drop for Keyless {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `keyless up` and waits (real time: a process starting) for `endpoints.env`.
fn start(bin: &str, dir: &Path) -> (Keyless, HashMap<String, String>) {
    let child = Command::new(bin)
        .args(["up", "--data-dir"])
        .arg(dir)
        .args(["--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{bin}`: {e}"));
    let mut keyless = Keyless { child };
    let path = dir.join("endpoints.env");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let vars: HashMap<String, String> = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect();
            if vars.contains_key("KEYLESS_STS_ENDPOINT") {
                return (keyless, vars);
            }
        }
        if let Ok(Some(status)) = keyless.child.try_wait() {
            panic!("keyless exited early: {status}");
        }
        assert!(Instant::now() < deadline, "no endpoints.env after 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_against_a_real_keyless() {
    let Ok(bin) = std::env::var("KEYLESS_BIN") else {
        eprintln!("note: KEYLESS_BIN is not set; skipping the live keyless test");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_keyless, vars) = start(&bin, dir.path());
    let ram = vars["KEYLESS_RAM_ENDPOINT"].clone();
    let sts = vars["KEYLESS_STS_ENDPOINT"].clone();
    let root = Credentials::from_keys(
        vars["KEYLESS_ACCESS_KEY_ID"].clone(),
        vars["KEYLESS_ACCESS_KEY_SECRET"].clone(),
        None,
    );

    // Who is root?
    let me = rpc_call(&sts, "GetCallerIdentity", STS, &[], &root)
        .await
        .unwrap();
    assert_eq!(me["IdentityType"], "Account");
    let uid = me["AccountId"].as_str().unwrap().to_owned();
    assert_eq!(me["Arn"], format!("acs:ram::{uid}:root"));

    // A user with a key and permission to call AssumeRole.
    let user = rpc_call(&ram, "CreateUser", RAM, &[("UserName", "deployer")], &root)
        .await
        .unwrap();
    assert_eq!(user["User"]["UserName"], "deployer");
    let key = rpc_call(
        &ram,
        "CreateAccessKey",
        RAM,
        &[("UserName", "deployer")],
        &root,
    )
    .await
    .unwrap();
    let user_creds = Credentials::from_keys(
        key["AccessKey"]["AccessKeyId"].as_str().unwrap(),
        key["AccessKey"]["AccessKeySecret"].as_str().unwrap(),
        None,
    );
    rpc_call(
        &ram,
        "AttachPolicyToUser",
        RAM,
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunSTSAssumeRoleAccess"),
            ("UserName", "deployer"),
        ],
        &root,
    )
    .await
    .unwrap();

    // A role that trusts the account.
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{uid}:root"]}}}}]}}"#
    );
    let role = rpc_call(
        &ram,
        "CreateRole",
        RAM,
        &[
            ("RoleName", "app-role"),
            ("AssumeRolePolicyDocument", &trust),
        ],
        &root,
    )
    .await
    .unwrap();
    let role_arn = role["Role"]["Arn"].as_str().unwrap().to_owned();
    assert_eq!(role_arn, format!("acs:ram::{uid}:role/app-role"));

    // A mistake is reported by RAM with its vendor code.
    let dup = rpc_call(&ram, "CreateUser", RAM, &[("UserName", "deployer")], &root)
        .await
        .unwrap_err();
    assert!(matches!(dup, RpcError::Service { .. }), "{dup}");

    // Assume the role with the user's key, through the one cache.
    let provider = AssumeRoleProvider::builder(&role_arn)
        .session_name("live-1")
        .duration_seconds(900)
        .sts_endpoint(&sts)
        .build(StaticProvider::new(user_creds.clone()))
        .unwrap();
    let assumed = provider.assume_role().await.unwrap();
    // AssumeRole names the session `role/<role>/<session>` (as Alibaba Cloud STS does);
    // GetCallerIdentity below names it `assumed-role/<role>/<session>`.
    assert_eq!(assumed.arn, format!("acs:ram::{uid}:role/app-role/live-1"));
    let cached = CachedProvider::new(provider);
    let session = cached.provide_credentials().await.unwrap();
    assert!(session.access_key_id().starts_with("STS."), "{session:?}");
    assert!(session.security_token().is_some());
    assert!(session.expiry().is_some());
    // Served from the cache the second time: the very same set.
    assert_eq!(cached.provide_credentials().await.unwrap(), session);

    let who = rpc_call(&sts, "GetCallerIdentity", STS, &[], &session)
        .await
        .unwrap();
    assert_eq!(who["IdentityType"], "AssumedRoleUser");
    assert_eq!(
        who["Arn"],
        format!("acs:ram::{uid}:assumed-role/app-role/live-1")
    );

    // A role that does not exist: STS refuses, and the provider reports the vendor error.
    let missing = AssumeRoleProvider::builder(format!("acs:ram::{uid}:role/nope"))
        .sts_endpoint(&sts)
        .build(StaticProvider::new(user_creds))
        .unwrap();
    let e = missing.provide_credentials().await.unwrap_err();
    assert!(matches!(e, CredentialsError::Service { .. }), "{e}");
    assert!(!e.is_not_loaded());
}
