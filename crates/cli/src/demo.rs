//! `keyless demo`: the source document's scenario against a running `keyless up`, with keyless's
//! own Rust client instead of Python.
//!
//! 1. a role with AliyunOSSReadOnlyAccess whose trust policy names `eas.pai.aliyuncs.com`;
//! 2. sample objects uploaded to the workspace bucket;
//! 3. a service deployed with that role whose instance lists the bucket with `keyless oss ls`
//!    (credentials from `ALIBABA_CLOUD_CREDENTIALS_URI`, no AccessKey anywhere in the service);
//! 4. the FAQ failure: a role whose trust policy does not name EAS → the service is `Failed` with
//!    the vendor's event; the trust policy is fixed with RAM `UpdateRole`; the service is started
//!    again and runs.

use crate::args::DemoArgs;
use anyhow::{anyhow, bail, Context as _};
use keyless_clients::{OssClient, RpcClient};
use keyless_credentials::{Credentials, StaticProvider};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    fn load(data_dir: &std::path::Path) -> anyhow::Result<Env> {
        let path = data_dir.join("endpoints.env");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading `{}` — is `keyless up --data-dir {}` running?",
                path.display(),
                data_dir.display()
            )
        })?;
        let vars = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Ok(Env { vars })
    }

    fn get(&self, k: &str) -> anyhow::Result<&str> {
        self.vars
            .get(k)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("`{k}` missing from endpoints.env"))
    }
}

fn suffix() -> String {
    let mut b = [0u8; 3];
    let _ = keyless_server::ids::random_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn trust(services: &[&str], account_root: Option<&str>) -> String {
    let mut principal = serde_json::Map::new();
    if !services.is_empty() {
        principal.insert("Service".into(), json!(services));
    }
    if let Some(a) = account_root {
        principal.insert("RAM".into(), json!([format!("acs:ram::{a}:root")]));
    }
    json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}]})
        .to_string()
}

struct Demo {
    ram: RpcClient,
    eas: RpcClient,
    root: Credentials,
    region: String,
    timeout: Duration,
    printed_events: usize,
}

impl Demo {
    async fn ram(&self, action: &str, params: &[(&str, &str)]) -> anyhow::Result<Value> {
        self.ram
            .call(action, "2015-05-01", params, &self.root)
            .await
            .with_context(|| format!("RAM {action}"))
    }

    async fn eas(
        &self,
        method: &str,
        path: &str,
        action: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let req = keyless_clients::RoaRequest {
            method,
            path,
            query: &[],
            action,
            version: "2021-07-01",
            body,
        };
        self.eas
            .roa_call(req, &self.root)
            .await
            .with_context(|| format!("EAS {action}"))
    }

    fn svc_path(&self, name: &str, op: &str) -> String {
        format!("/api/v2/services/{}/{name}{op}", self.region)
    }

    async fn print_new_events(&mut self, name: &str) -> anyhow::Result<Vec<Value>> {
        let v = self
            .eas(
                "GET",
                &self.svc_path(name, "/events"),
                "DescribeServiceEvent",
                None,
            )
            .await?;
        let events = v["Events"].as_array().cloned().unwrap_or_default();
        for e in events.iter().skip(self.printed_events) {
            println!(
                "    [{}] {:7} {:18} {}",
                e["Time"].as_str().unwrap_or(""),
                e["Type"].as_str().unwrap_or(""),
                e["Reason"].as_str().unwrap_or(""),
                e["Message"].as_str().unwrap_or("")
            );
        }
        self.printed_events = self.printed_events.max(events.len());
        Ok(events)
    }

    /// Polls until the service is Running or Failed; prints events as they come.
    async fn wait(&mut self, name: &str) -> anyhow::Result<String> {
        let start = Instant::now();
        loop {
            let d = self
                .eas("GET", &self.svc_path(name, ""), "DescribeService", None)
                .await?;
            self.print_new_events(name).await?;
            let status = d["Status"].as_str().unwrap_or("").to_owned();
            if status == "Running" || status == "Failed" {
                return Ok(status);
            }
            if start.elapsed() > self.timeout {
                bail!("service `{name}` still `{status}` after {:?}", self.timeout);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn wait_for_log(
    data_dir: &std::path::Path,
    name: &str,
    needle: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    let start = Instant::now();
    loop {
        if let Ok(p) = crate::admin_cmd::log_path(data_dir, name) {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            if text.contains(needle) {
                return Ok(text);
            }
        }
        if start.elapsed() > timeout {
            bail!("the log of `{name}` never showed `{needle}`");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

pub fn run(a: DemoArgs) -> anyhow::Result<ExitCode> {
    let env = Env::load(&a.data_dir)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(demo(a, env))
}

async fn demo(a: DemoArgs, env: Env) -> anyhow::Result<ExitCode> {
    let account = env.get("KEYLESS_ACCOUNT_ID")?.to_owned();
    let bucket = env.get("KEYLESS_OSS_BUCKET")?.to_owned();
    let root = Credentials::from_keys(
        env.get("KEYLESS_ACCESS_KEY_ID")?,
        env.get("KEYLESS_ACCESS_KEY_SECRET")?,
        None,
    );
    let mut d = Demo {
        ram: RpcClient::new(env.get("KEYLESS_RAM_ENDPOINT")?)?,
        eas: RpcClient::new(env.get("KEYLESS_EAS_ENDPOINT")?)?,
        root: root.clone(),
        region: env.get("KEYLESS_REGION")?.to_owned(),
        timeout: Duration::from_secs(a.timeout),
        printed_events: 0,
    };
    let exe = std::env::current_exe()?.display().to_string();
    let tag = suffix();

    println!("1. RAM: a role for the service, trusted by PAI-EAS, with AliyunOSSReadOnlyAccess");
    let role = format!("keyless-demo-reader-{tag}");
    let r = d
        .ram(
            "CreateRole",
            &[
                ("RoleName", &role),
                (
                    "AssumeRolePolicyDocument",
                    &trust(&["eas.pai.aliyuncs.com"], None),
                ),
            ],
        )
        .await?;
    let role_arn = r["Role"]["Arn"].as_str().unwrap_or_default().to_owned();
    d.ram(
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunOSSReadOnlyAccess"),
            ("RoleName", &role),
        ],
    )
    .await?;
    println!("   {role_arn}");

    println!("2. OSS: sample objects in the workspace bucket oss://{bucket}/demo-{tag}/");
    let oss = OssClient::new(
        env.get("KEYLESS_OSS_ENDPOINT")?,
        StaticProvider::new(root.clone()),
    )?;
    for i in 0..10 {
        let key = format!("demo-{tag}/sample-{i:02}.txt");
        oss.put(&bucket, &key, format!("sample object {i}\n").into_bytes())
            .await?;
    }
    println!("   uploaded 10 objects");

    println!("3. EAS: deploy a service with the role; its instance lists the bucket with keyless's Rust client");
    let name = format!("demo_reader_{tag}");
    let cmd = format!("{exe} sts whoami && {exe} oss ls --recursive oss://{bucket}/demo-{tag}/ && echo DEMO-LISTING-DONE && sleep 86400");
    let config = json!({
        "name": name,
        "metadata": {"instance": 1, "cpu": 1, "memory": 1000},
        "containers": [{"image": "registry.example/keyless-demo:1.0", "command": cmd}],
        "options": {"enable_ram_role": true},
        "role_arn": role_arn,
    });
    d.printed_events = 0;
    d.eas("POST", "/api/v2/services", "CreateService", Some(&config))
        .await?;
    let status = d.wait(&name).await?;
    if status != "Running" {
        bail!("the reader service is {status}");
    }
    let log = wait_for_log(&a.data_dir, &name, "DEMO-LISTING-DONE", d.timeout).await?;
    println!(
        "   service log (`keyless logs {name} --data-dir {}`):",
        a.data_dir.display()
    );
    for line in log.lines().filter(|l| !l.contains("DEMO-LISTING-DONE")) {
        println!("    | {line}");
    }

    println!("4. The FAQ failure: a role whose trust policy does not name eas.pai.aliyuncs.com");
    let bad_role = format!("keyless-demo-untrusted-{tag}");
    let r = d
        .ram(
            "CreateRole",
            &[
                ("RoleName", &bad_role),
                ("AssumeRolePolicyDocument", &trust(&[], Some(&account))),
            ],
        )
        .await?;
    let bad_arn = r["Role"]["Arn"].as_str().unwrap_or_default().to_owned();
    d.ram(
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunOSSReadOnlyAccess"),
            ("RoleName", &bad_role),
        ],
    )
    .await?;
    let name2 = format!("demo_untrusted_{tag}");
    let mut config2 = config.clone();
    config2["name"] = json!(name2);
    config2["role_arn"] = json!(bad_arn);
    d.printed_events = 0;
    d.eas("POST", "/api/v2/services", "CreateService", Some(&config2))
        .await?;
    let status = d.wait(&name2).await?;
    println!("   status: {status}");
    if status != "Failed" {
        bail!("expected the untrusted deployment to fail, it is {status}");
    }
    println!("   fixing the trust policy (RAM UpdateRole: add Service eas.pai.aliyuncs.com), then StartService");
    d.ram(
        "UpdateRole",
        &[
            ("RoleName", &bad_role),
            (
                "NewAssumeRolePolicyDocument",
                &trust(&["eas.pai.aliyuncs.com"], Some(&account)),
            ),
        ],
    )
    .await?;
    d.eas("PUT", &d.svc_path(&name2, "/start"), "StartService", None)
        .await?;
    let status = d.wait(&name2).await?;
    println!("   status: {status}");
    if status != "Running" {
        bail!("the redeploy after the fix is {status}");
    }
    wait_for_log(&a.data_dir, &name2, "DEMO-LISTING-DONE", d.timeout).await?;
    println!("   the fixed service listed the bucket too (`keyless logs {name2}`)");
    println!("done. Delete the demo services with the EAS API (DeleteService) when finished.");
    Ok(ExitCode::SUCCESS)
}
