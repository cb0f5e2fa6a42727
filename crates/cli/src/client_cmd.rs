//! `keyless sts whoami` and `keyless oss ls|cat|cp`: client commands over `keyless-clients` and
//! `keyless-credentials`.
//! With no configuration they use the default credentials chain — inside an EAS instance that is
//! `ALIBABA_CLOUD_CREDENTIALS_URI` — and the endpoints from `KEYLESS_STS_ENDPOINT` /
//! `KEYLESS_OSS_ENDPOINT` (set for every instance by the platform).

use crate::args::{OssCommand, StsCommand};
use anyhow::{anyhow, bail, Context as _};
use keyless_clients::{rpc_call, OssClient};
use keyless_credentials::{default_provider, ProvideCredentials};
use std::io::Write;
use std::process::ExitCode;

fn endpoint(flag: Option<String>, var: &str) -> anyhow::Result<String> {
    flag.or_else(|| std::env::var(var).ok())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| anyhow!("no endpoint: pass `--endpoint` or set `{var}`"))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn sts(cmd: StsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StsCommand::Whoami { endpoint: ep } => {
            let ep = endpoint(ep, "KEYLESS_STS_ENDPOINT")?;
            runtime()?.block_on(async {
                let provider = default_provider();
                let creds = provider
                    .provide_credentials()
                    .await
                    .context("loading credentials")?;
                let me = rpc_call(&ep, "GetCallerIdentity", "2015-04-01", &[], &creds)
                    .await
                    .context("GetCallerIdentity")?;
                println!("{}", serde_json::to_string_pretty(&me)?);
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}

/// `oss://bucket/prefix` → (bucket, prefix).
fn parse_oss_url(u: &str) -> anyhow::Result<(String, String)> {
    let rest = u
        .strip_prefix("oss://")
        .ok_or_else(|| anyhow!("`{u}` is not an oss://bucket/key URL"))?;
    let (b, k) = rest.split_once('/').unwrap_or((rest, ""));
    if b.is_empty() {
        bail!("`{u}` names no bucket");
    }
    Ok((b.to_owned(), k.to_owned()))
}

pub fn oss(cmd: OssCommand) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        match cmd {
            OssCommand::Ls {
                url,
                endpoint: ep,
                recursive,
            } => {
                let client =
                    OssClient::new(&endpoint(ep, "KEYLESS_OSS_ENDPOINT")?, default_provider())?;
                let (b, p) = parse_oss_url(&url)?;
                if recursive {
                    for o in client.list_all(&b, &p).await? {
                        println!("{:>12}  {}  oss://{b}/{}", o.size, o.last_modified, o.key);
                    }
                } else {
                    let mut marker: Option<String> = None;
                    loop {
                        let page = client.list(&b, &p, true, marker.as_deref()).await?;
                        for cp in &page.common_prefixes {
                            println!("{:>12}  {:24}  oss://{b}/{cp}", "DIR", "");
                        }
                        for o in &page.objects {
                            println!("{:>12}  {}  oss://{b}/{}", o.size, o.last_modified, o.key);
                        }
                        match page.next_marker {
                            Some(m) => marker = Some(m),
                            None => break,
                        }
                    }
                }
            }
            OssCommand::Cat { url, endpoint: ep } => {
                let client =
                    OssClient::new(&endpoint(ep, "KEYLESS_OSS_ENDPOINT")?, default_provider())?;
                let (b, k) = parse_oss_url(&url)?;
                let body = client.get(&b, &k).await?;
                std::io::stdout().write_all(&body)?;
            }
            OssCommand::Cp {
                src,
                dst,
                endpoint: ep,
            } => {
                let client =
                    OssClient::new(&endpoint(ep, "KEYLESS_OSS_ENDPOINT")?, default_provider())?;
                match (src.starts_with("oss://"), dst.starts_with("oss://")) {
                    (true, false) => {
                        let (b, k) = parse_oss_url(&src)?;
                        let body = client.get(&b, &k).await?;
                        std::fs::write(&dst, body).with_context(|| format!("writing `{dst}`"))?;
                    }
                    (false, true) => {
                        let (b, mut k) = parse_oss_url(&dst)?;
                        if k.is_empty() || k.ends_with('/') {
                            let name = std::path::Path::new(&src)
                                .file_name()
                                .and_then(|n| n.to_str())
                                .unwrap_or("file");
                            k.push_str(name);
                        }
                        let body =
                            std::fs::read(&src).with_context(|| format!("reading `{src}`"))?;
                        client.put(&b, &k, body).await?;
                    }
                    _ => bail!("`keyless oss cp` copies between a local path and an oss:// URL"),
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
