//! The log of a real `keyless up --log-format json`: every request gets one JSON access line
//! (service, method, route, caller, decision, status, latency, request id), and no secret — an
//! AccessKeySecret, a SecurityToken, a signature or an agent bearer token — ever reaches the
//! process's output.
//!
//! Uses `KEYLESS_BIN` when set, else the binary Cargo built for this test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_clients::{rpc_call, OssClient};
use keyless_credentials::{Credentials, StaticProvider};
use keyless_secret::SecretString;
use keyless_sign::{OssResource, RequestParts};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RAM: &str = "2015-05-01";
const STS: &str = "2015-04-01";

struct Up {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Up {
    /// SIGTERM (the non-blocking writer flushes on the way out), then both outputs.
    fn stop(mut self) -> (String, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "keyless up exited with {status}");
                break;
            }
            assert!(Instant::now() < deadline, "keyless up did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        (
            std::fs::read_to_string(&self.stdout).unwrap(),
            std::fs::read_to_string(&self.stderr).unwrap(),
        )
    }
}

fn bin() -> String {
    std::env::var("KEYLESS_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_keyless").to_owned())
}

fn start(dir: &Path) -> (Up, HashMap<String, String>) {
    let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
    let child = Command::new(bin())
        .args(["up", "--port", "0", "--log-format", "json", "--data-dir"])
        .arg(dir.join("data"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut up = Up {
        child,
        stdout,
        stderr,
    };
    let env = dir.join("data").join("endpoints.env");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(&env) {
            let vars: HashMap<String, String> = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            if vars.contains_key("KEYLESS_MAXCOMPUTE_PROJECT") {
                return (up, vars);
            }
        }
        if let Some(status) = up.child.try_wait().unwrap() {
            panic!("keyless up exited early: {status}");
        }
        assert!(Instant::now() < deadline, "no endpoints.env after 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One plain HTTP/1.1 exchange; returns the status.
fn raw_get(authority: &str, path_and_query: &str, extra_headers: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(authority).unwrap();
    write!(
        s,
        "GET {path_and_query} HTTP/1.1\r\nhost: {authority}\r\n{extra_headers}connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split(' ').nth(1).unwrap().parse().unwrap()
}

/// The access lines (target `keyless::access`) of stderr, in order.
fn access_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v["target"] == "keyless::access")
        .collect()
}

fn find<'a>(lines: &'a [Value], service: &str, route: &str, status: u64) -> &'a Value {
    lines
        .iter()
        .find(|v| v["service"] == service && v["route"] == route && v["status"] == status)
        .unwrap_or_else(|| panic!("no {service} {route} {status} line in {lines:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_access_lines_and_no_secret_in_the_output() {
    let dir = std::env::temp_dir().join(format!("keyless-access-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (up, vars) = start(&dir);
    let (ram, sts, oss, eas) = (
        vars["KEYLESS_RAM_ENDPOINT"].clone(),
        vars["KEYLESS_STS_ENDPOINT"].clone(),
        vars["KEYLESS_OSS_ENDPOINT"].clone(),
        vars["KEYLESS_EAS_ENDPOINT"].clone(),
    );
    let bucket = vars["KEYLESS_OSS_BUCKET"].clone();
    let uid = vars["KEYLESS_ACCOUNT_ID"].clone();
    let root_secret = vars["KEYLESS_ACCESS_KEY_SECRET"].clone();
    let root = Credentials::from_keys(
        vars["KEYLESS_ACCESS_KEY_ID"].clone(),
        root_secret.as_str(),
        None,
    );

    // A user allowed to assume a read-only role.
    rpc_call(&ram, "CreateUser", RAM, &[("UserName", "dev")], &root)
        .await
        .unwrap();
    let key = rpc_call(&ram, "CreateAccessKey", RAM, &[("UserName", "dev")], &root)
        .await
        .unwrap();
    let user_secret = key["AccessKey"]["AccessKeySecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = Credentials::from_keys(
        key["AccessKey"]["AccessKeyId"].as_str().unwrap(),
        user_secret.as_str(),
        None,
    );
    for (kind, name, target) in [
        ("User", "AliyunSTSAssumeRoleAccess", "UserName"),
        ("Role", "AliyunOSSReadOnlyAccess", "RoleName"),
    ] {
        if kind == "Role" {
            let trust = format!(
                r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{uid}:root"]}}}}]}}"#
            );
            rpc_call(
                &ram,
                "CreateRole",
                RAM,
                &[("RoleName", "reader"), ("AssumeRolePolicyDocument", &trust)],
                &root,
            )
            .await
            .unwrap();
        }
        let who = if kind == "User" { "dev" } else { "reader" };
        rpc_call(
            &ram,
            &format!("AttachPolicyTo{kind}"),
            RAM,
            &[
                ("PolicyType", "System"),
                ("PolicyName", name),
                (target, who),
            ],
            &root,
        )
        .await
        .unwrap();
    }

    // AssumeRole, then OSS with the session: a read (allowed), a write (denied), a presigned read.
    let role_arn = format!("acs:ram::{uid}:role/reader");
    let assumed = rpc_call(
        &sts,
        "AssumeRole",
        STS,
        &[("RoleArn", &role_arn), ("RoleSessionName", "logs")],
        &user,
    )
    .await
    .unwrap();
    let c = &assumed["Credentials"];
    let (sts_id, sts_secret, sts_token) = (
        c["AccessKeyId"].as_str().unwrap().to_owned(),
        c["AccessKeySecret"].as_str().unwrap().to_owned(),
        c["SecurityToken"].as_str().unwrap().to_owned(),
    );
    let session = Credentials::from_keys(
        sts_id.as_str(),
        sts_secret.as_str(),
        Some(SecretString::from(sts_token.as_str())),
    );
    OssClient::new(&oss, StaticProvider::new(root.clone()))
        .unwrap()
        .put(&bucket, "data/a.txt", b"hello".to_vec())
        .await
        .unwrap();
    let as_session = OssClient::new(&oss, StaticProvider::new(session)).unwrap();
    assert_eq!(
        as_session.get(&bucket, "data/a.txt").await.unwrap(),
        b"hello"
    );
    assert!(as_session
        .put(&bucket, "data/b.txt", b"no".to_vec())
        .await
        .is_err());
    let path = format!("/{bucket}/data/a.txt");
    let headers = vec![("host".to_owned(), oss.clone())];
    let query = keyless_sign::oss_v1::presign(
        &RequestParts {
            method: "GET",
            raw_path: &path,
            raw_query: "",
            headers: &headers,
        },
        &OssResource::object(&bucket, "data/a.txt"),
        &sts_id,
        &SecretString::from(sts_secret.as_str()),
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
            + 600,
        Some(&SecretString::from(sts_token.as_str())),
    )
    .unwrap();
    let signature = keyless_sign::form_decode(&query)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "Signature")
        .unwrap()
        .1;
    assert_eq!(raw_get(&oss, &format!("{path}?{query}"), ""), 200);

    // The EAS agent endpoint with a bearer token it does not know.
    let bearer = "ab".repeat(32);
    assert_eq!(
        raw_get(
            &eas,
            "/internal/agent/v1/credentials",
            &format!("authorization: Bearer {bearer}\r\n"),
        ),
        401
    );

    let (stdout, stderr) = up.stop();
    assert!(stdout.starts_with("keyless is up (account "), "{stdout}");
    let lines = access_lines(&stderr);
    for l in &lines {
        for field in [
            "service",
            "method",
            "route",
            "caller",
            "decision",
            "request_id",
        ] {
            assert!(l[field].is_string(), "no {field}: {l}");
        }
        assert!(l["status"].is_u64() && l["latency_us"].is_u64(), "{l}");
        assert_eq!(l["level"], "INFO");
    }
    let user_arn = format!("acs:ram::{uid}:user/dev");
    let session_arn = format!("acs:ram::{uid}:assumed-role/reader/logs");
    let a = find(&lines, "sts", "AssumeRole", 200);
    assert_eq!(a["caller"], user_arn.as_str());
    assert_eq!(a["decision"], "allow");
    assert_eq!(a["method"], "POST");
    assert_eq!(a["request_id"], assumed["RequestId"]);
    let a = find(&lines, "ram", "CreateUser", 200);
    assert_eq!(a["caller"], format!("acs:ram::{uid}:root").as_str());
    let gets: Vec<_> = lines
        .iter()
        .filter(|v| v["service"] == "oss" && v["route"] == "GetObject" && v["status"] == 200)
        .collect();
    assert_eq!(gets.len(), 2, "{gets:#?}");
    for g in gets {
        assert_eq!(g["caller"], session_arn.as_str());
        assert_eq!(g["decision"], "allow");
    }
    let a = find(&lines, "oss", "PutObject", 403);
    assert_eq!(a["caller"], session_arn.as_str());
    assert_eq!(a["decision"], "deny");
    let a = find(&lines, "eas", "AgentCredentials", 401);
    assert_eq!(a["decision"], "none");
    assert_eq!(a["caller"], "-");

    let output = format!("{stdout}\n{stderr}");
    for (what, secret) in [
        ("the root AccessKeySecret", root_secret.as_str()),
        ("a user's AccessKeySecret", user_secret.as_str()),
        ("the STS AccessKeySecret", sts_secret.as_str()),
        ("the SecurityToken", sts_token.as_str()),
        ("the presigned signature", signature.as_str()),
        ("the agent bearer token", bearer.as_str()),
    ] {
        assert!(!output.contains(secret), "{what} reached the output");
    }
    // Nor the raw query of the presigned URL (encoded token and signature).
    assert!(!output.contains("security-token") && !output.contains("Signature="));
    let _ = std::fs::remove_dir_all(&dir);
}
