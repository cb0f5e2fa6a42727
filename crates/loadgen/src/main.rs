//! `keyless-loadgen`: closed-loop load over keep-alive HTTP/1.1 connections, reporting throughput
//! and latency percentiles. Targets:
//!
//! - `assume-role`: STS AssumeRole signed with ACS3-HMAC-SHA256 by `--users` RAM users (created
//!   through RAM with the root key from `endpoints.env`, each allowed to assume one role);
//! - `trivial`: `GET /health` on the STS listener (same server, no work: the reference ratio);
//! - `moto`: AWS STS AssumeRole against a `moto_server` at `--url` (unsigned; moto does not check);
//! - `get-url`: plain `GET --path` on `--url` (the credential agent, or a bare server);
//! - `oss-get`: V1-signed GETs with a role's STS credentials of `--objects` objects of `--size`
//!   bytes, uploaded first (and mirrored under `--body-file DIR/<bucket>/` for nginx);
//! - `plain-get`: the same keys from `--url` without authentication (`--path /<bucket>`);
//! - `oss-put`: one streaming PUT of `--size` bytes with the root key (prints MiB/s);
//! - `serve`: a bare HTTP server on `--url` answering every request with `--body-file`'s bytes.
//!
//! Usage: `keyless-loadgen --env DIR/endpoints.env --target assume-role --connections 64 --seconds 10`

use anyhow::{anyhow, bail, Context as _};
use keyless_secret::SecretString;
use keyless_sign::{acs3, format_timestamp, RequestParts};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    env: Option<String>,
    target: String,
    url: Option<String>,
    path: String,
    connections: usize,
    seconds: u64,
    /// A fixed number of requests per connection instead of a duration (no warm-up): for
    /// instruction counts under callgrind (`bench/instructions.sh`).
    requests: Option<u64>,
    users: usize,
    objects: usize,
    size: usize,
    body_file: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        env: None,
        target: "assume-role".into(),
        url: None,
        path: "/".into(),
        connections: 64,
        seconds: 10,
        requests: None,
        users: 64,
        objects: 100,
        size: 4096,
        body_file: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| anyhow!("`{flag}` needs a value"));
        match flag.as_str() {
            "--env" => a.env = Some(val()?),
            "--target" => a.target = val()?,
            "--url" => a.url = Some(val()?),
            "--connections" => a.connections = val()?.parse()?,
            "--seconds" => a.seconds = val()?.parse()?,
            "--requests" => a.requests = Some(val()?.parse()?),
            "--path" => a.path = val()?,
            "--objects" => a.objects = val()?.parse()?,
            "--size" => a.size = val()?.parse()?,
            "--body-file" => a.body_file = Some(val()?),
            "--users" => a.users = val()?.parse()?,
            other => bail!("unknown flag `{other}`"),
        }
    }
    Ok(a)
}

fn read_env(path: &str) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading `{path}`"))?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn nonce() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::getrandom(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Builds a V3-signed RPC request (`POST /?query`, empty body) as raw HTTP/1.1 bytes.
fn signed_rpc(
    host: &str,
    action: &str,
    version: &str,
    params: &[(String, String)],
    ak: &str,
    sk: &SecretString,
) -> anyhow::Result<Vec<u8>> {
    let query = acs3::encode_query(params);
    let date = format_timestamp(now()).ok_or_else(|| anyhow!("clock out of range"))?;
    let headers: Vec<(String, String)> = vec![
        ("host".into(), host.into()),
        ("x-acs-action".into(), action.into()),
        ("x-acs-version".into(), version.into()),
        ("x-acs-date".into(), date),
        ("x-acs-signature-nonce".into(), nonce()),
        ("x-acs-content-sha256".into(), acs3::hashed_payload(b"")),
        ("accept".into(), "application/json".into()),
    ];
    let parts = RequestParts {
        method: "POST",
        raw_path: "/",
        raw_query: &query,
        headers: &headers,
    };
    let auth = acs3::sign_request(&parts, ak, sk).map_err(|e| anyhow!("signing: {e}"))?;
    let mut req = format!("POST /?{query} HTTP/1.1\r\n");
    for (k, v) in &headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "authorization: {auth}\r\ncontent-length: 0\r\n\r\n"
    ));
    Ok(req.into_bytes())
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    addr: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    fn new(addr: &str) -> Self {
        Conn {
            addr: addr.to_owned(),
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    async fn round_trip(&mut self, req: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        let s = self
            .stream
            .as_mut()
            .ok_or_else(|| anyhow!("no connection"))?;
        s.write_all(req).await?;
        self.buf.clear();
        let mut tmp = [0u8; 16 * 1024];
        let header_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = s.read(&mut tmp).await?;
            if n == 0 {
                self.stream = None;
                bail!("connection closed");
            }
            self.buf.extend_from_slice(&tmp[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..header_end]).to_ascii_lowercase();
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line"))?;
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| anyhow!("response without content-length"))?;
        let close = head.contains("connection: close") || head.starts_with("http/1.0");
        while self.buf.len() < header_end + len {
            let n = s.read(&mut tmp).await?;
            if n == 0 {
                bail!("connection closed mid-body");
            }
            self.buf.extend_from_slice(&tmp[..n]);
        }
        let body = self.buf[header_end..header_end + len].to_vec();
        if close {
            self.stream = None;
        }
        Ok((status, body))
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

async fn rpc(
    conn: &mut Conn,
    host: &str,
    action: &str,
    version: &str,
    params: &[(&str, &str)],
    ak: &str,
    sk: &SecretString,
) -> anyhow::Result<serde_json::Value> {
    let p: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let req = signed_rpc(host, action, version, &p, ak, sk)?;
    let (status, body) = conn.round_trip(&req).await?;
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    if status != 200 {
        bail!("{action} failed: {status} {v}");
    }
    Ok(v)
}

/// Creates `n` users allowed to assume one role; returns the role ARN and their keys.
async fn setup(
    env: &HashMap<String, String>,
    n: usize,
) -> anyhow::Result<(String, Vec<(String, SecretString)>)> {
    let get = |k: &str| {
        env.get(k)
            .cloned()
            .ok_or_else(|| anyhow!("`{k}` missing from endpoints.env"))
    };
    let ram = get("KEYLESS_RAM_ENDPOINT")?;
    let (ak, sk) = (
        get("KEYLESS_ACCESS_KEY_ID")?,
        SecretString::new(get("KEYLESS_ACCESS_KEY_SECRET")?),
    );
    let uid = get("KEYLESS_ACCOUNT_ID")?;
    let mut c = Conn::new(&ram);
    let v = "2015-05-01";
    let tag = nonce();
    let role = format!("bench-{}", &tag[..8]);
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{uid}:root"]}}}}]}}"#
    );
    let r = rpc(
        &mut c,
        &ram,
        "CreateRole",
        v,
        &[("RoleName", &role), ("AssumeRolePolicyDocument", &trust)],
        &ak,
        &sk,
    )
    .await?;
    let arn = r["Role"]["Arn"]
        .as_str()
        .ok_or_else(|| anyhow!("no role arn"))?
        .to_owned();
    rpc(
        &mut c,
        &ram,
        "AttachPolicyToRole",
        v,
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunOSSReadOnlyAccess"),
            ("RoleName", &role),
        ],
        &ak,
        &sk,
    )
    .await?;
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let user = format!("bench-{}-{i}", &tag[..8]);
        rpc(
            &mut c,
            &ram,
            "CreateUser",
            v,
            &[("UserName", &user)],
            &ak,
            &sk,
        )
        .await?;
        rpc(
            &mut c,
            &ram,
            "AttachPolicyToUser",
            v,
            &[
                ("PolicyType", "System"),
                ("PolicyName", "AliyunSTSAssumeRoleAccess"),
                ("UserName", &user),
            ],
            &ak,
            &sk,
        )
        .await?;
        let k = rpc(
            &mut c,
            &ram,
            "CreateAccessKey",
            v,
            &[("UserName", &user)],
            &ak,
            &sk,
        )
        .await?;
        let id = k["AccessKey"]["AccessKeyId"]
            .as_str()
            .ok_or_else(|| anyhow!("no key id"))?
            .to_owned();
        let secret = k["AccessKey"]["AccessKeySecret"]
            .as_str()
            .ok_or_else(|| anyhow!("no key secret"))?
            .to_owned();
        keys.push((id, SecretString::new(secret)));
    }
    Ok((arn, keys))
}

#[derive(Clone)]
enum Target {
    AssumeRole {
        host: String,
        role_arn: String,
        keys: Arc<Vec<(String, SecretString)>>,
    },
    Trivial {
        host: String,
    },
    Moto {
        host: String,
    },
    /// A plain GET of one path (the credential agent, or a bare server).
    GetUrl {
        host: String,
        path: String,
    },
    /// V1-signed GETs with STS credentials of `keys` objects.
    OssGet {
        host: String,
        bucket: String,
        keys: Arc<Vec<String>>,
        creds: Arc<OssCreds>,
    },
    /// The same objects from a server without authentication (nginx): `/<bucket>/<key>`.
    PlainGet {
        host: String,
        bucket: String,
        keys: Arc<Vec<String>>,
    },
}

/// Credentials for OSS requests.
struct OssCreds {
    id: String,
    secret: SecretString,
    token: Option<String>,
}

fn oss_request(
    method: &str,
    host: &str,
    bucket: &str,
    key: &str,
    c: &OssCreds,
    content_length: Option<usize>,
) -> anyhow::Result<Vec<u8>> {
    let date =
        keyless_sign::format_http_date(now()).ok_or_else(|| anyhow!("clock out of range"))?;
    let mut headers: Vec<(String, String)> =
        vec![("host".into(), host.into()), ("date".into(), date)];
    if let Some(t) = &c.token {
        headers.push(("x-oss-security-token".into(), t.clone()));
    }
    if content_length.is_some() {
        headers.push(("content-type".into(), "application/octet-stream".into()));
    }
    let enc: Vec<String> = key.split('/').map(keyless_sign::percent_encode).collect();
    let path = format!("/{bucket}/{}", enc.join("/"));
    let parts = RequestParts {
        method,
        raw_path: &path,
        raw_query: "",
        headers: &headers,
    };
    let auth = keyless_sign::oss_v1::sign_request(
        &parts,
        &keyless_sign::OssResource::object(bucket, key),
        &c.id,
        &c.secret,
    )
    .map_err(|e| anyhow!("signing: {e}"))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in &headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("authorization: {auth}\r\n"));
    if let Some(n) = content_length {
        req.push_str(&format!("content-length: {n}\r\n"));
    }
    req.push_str("\r\n");
    Ok(req.into_bytes())
}

impl Target {
    fn addr(&self) -> &str {
        match self {
            Target::AssumeRole { host, .. }
            | Target::Trivial { host }
            | Target::Moto { host }
            | Target::GetUrl { host, .. }
            | Target::OssGet { host, .. }
            | Target::PlainGet { host, .. } => host,
        }
    }

    fn request(&self, conn_ix: usize, seq: u64) -> anyhow::Result<Vec<u8>> {
        match self {
            Target::AssumeRole {
                host,
                role_arn,
                keys,
            } => {
                let (ak, sk) = &keys[conn_ix % keys.len()];
                let params = vec![
                    ("RoleArn".to_owned(), role_arn.clone()),
                    (
                        "RoleSessionName".to_owned(),
                        format!("s{conn_ix}-{}", seq % 1000),
                    ),
                    ("DurationSeconds".to_owned(), "3600".to_owned()),
                ];
                signed_rpc(host, "AssumeRole", "2015-04-01", &params, ak, sk)
            }
            Target::Trivial { host } => {
                Ok(format!("GET /health HTTP/1.1\r\nhost: {host}\r\n\r\n").into_bytes())
            }
            Target::GetUrl { host, path } => {
                Ok(format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n\r\n").into_bytes())
            }
            Target::OssGet {
                host,
                bucket,
                keys,
                creds,
            } => {
                let key = &keys[(conn_ix + seq as usize) % keys.len()];
                oss_request("GET", host, bucket, key, creds, None)
            }
            Target::PlainGet { host, bucket, keys } => {
                let key = &keys[(conn_ix + seq as usize) % keys.len()];
                Ok(format!("GET /{bucket}/{key} HTTP/1.1\r\nhost: {host}\r\n\r\n").into_bytes())
            }
            Target::Moto { host } => {
                let body = format!(
                    "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbench&RoleSessionName=s{conn_ix}-{}&DurationSeconds=3600",
                    seq % 1000
                );
                Ok(format!(
                    "POST / HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/x-www-form-urlencoded\r\nauthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes())
            }
        }
    }
}

struct Outcome {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies_us: Vec<u32>,
}

async fn worker(target: Target, ix: usize, until: Instant, limit: Option<u64>) -> Outcome {
    let mut conn = Conn::new(target.addr());
    let mut out = Outcome {
        ok: 0,
        errors: 0,
        first_error: None,
        latencies_us: Vec::with_capacity(1 << 16),
    };
    let mut seq = 0u64;
    while Instant::now() < until && limit.is_none_or(|l| seq < l) {
        seq += 1;
        let req = match target.request(ix, seq) {
            Ok(r) => r,
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e.to_string());
                continue;
            }
        };
        let t0 = Instant::now();
        match conn.round_trip(&req).await {
            Ok((200, _)) => {
                out.ok += 1;
                out.latencies_us
                    .push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            Ok((status, body)) => {
                out.errors += 1;
                out.first_error
                    .get_or_insert_with(|| format!("{status} {}", String::from_utf8_lossy(&body)));
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e.to_string());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    out
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

/// Root key, user allowed to assume a role with AliyunOSSReadOnlyAccess; `keys` uploaded with
/// `size` bytes each (also mirrored under `mirror/<bucket>/` when given, for nginx).
async fn oss_setup(
    env: &HashMap<String, String>,
    keys: &[String],
    size: usize,
    mirror: Option<&str>,
) -> anyhow::Result<(String, String, OssCreds)> {
    let get = |k: &str| {
        env.get(k)
            .cloned()
            .ok_or_else(|| anyhow!("`{k}` missing from endpoints.env"))
    };
    let (sts, oss, bucket) = (
        get("KEYLESS_STS_ENDPOINT")?,
        get("KEYLESS_OSS_ENDPOINT")?,
        get("KEYLESS_OSS_BUCKET")?,
    );
    let root = OssCreds {
        id: get("KEYLESS_ACCESS_KEY_ID")?,
        secret: SecretString::new(get("KEYLESS_ACCESS_KEY_SECRET")?),
        token: None,
    };
    let (role_arn, users) = setup(env, 1).await?;
    let (uid, usk) = users.into_iter().next().ok_or_else(|| anyhow!("no user"))?;
    let mut c = Conn::new(&sts);
    let r = rpc(
        &mut c,
        &sts,
        "AssumeRole",
        "2015-04-01",
        &[
            ("RoleArn", &role_arn),
            ("RoleSessionName", "bench"),
            ("DurationSeconds", "3600"),
        ],
        &uid,
        &usk,
    )
    .await?;
    let cr = &r["Credentials"];
    let creds = OssCreds {
        id: cr["AccessKeyId"]
            .as_str()
            .ok_or_else(|| anyhow!("no AccessKeyId"))?
            .to_owned(),
        secret: SecretString::new(
            cr["AccessKeySecret"]
                .as_str()
                .ok_or_else(|| anyhow!("no secret"))?
                .to_owned(),
        ),
        token: cr["SecurityToken"].as_str().map(str::to_owned),
    };
    let body: Vec<u8> = (0..size).map(|i| b"0123456789abcdef"[i % 16]).collect();
    let mut oc = Conn::new(&oss);
    for k in keys {
        let mut req = oss_request("PUT", &oss, &bucket, k, &root, Some(body.len()))?;
        req.extend_from_slice(&body);
        let (status, b) = oc.round_trip(&req).await?;
        if status != 200 {
            bail!("PUT {k}: {status} {}", String::from_utf8_lossy(&b));
        }
        if let Some(dir) = mirror {
            let p = std::path::Path::new(dir).join(&bucket).join(k);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, &body)?;
        }
    }
    Ok((oss, bucket, creds))
}

/// One streaming PUT of `size` bytes with the root key; prints MB/s.
async fn oss_put(env: &HashMap<String, String>, size: usize) -> anyhow::Result<()> {
    let get = |k: &str| {
        env.get(k)
            .cloned()
            .ok_or_else(|| anyhow!("`{k}` missing from endpoints.env"))
    };
    let (oss, bucket) = (get("KEYLESS_OSS_ENDPOINT")?, get("KEYLESS_OSS_BUCKET")?);
    let root = OssCreds {
        id: get("KEYLESS_ACCESS_KEY_ID")?,
        secret: SecretString::new(get("KEYLESS_ACCESS_KEY_SECRET")?),
        token: None,
    };
    let key = format!("bench/put-{}", nonce());
    let req = oss_request("PUT", &oss, &bucket, &key, &root, Some(size))?;
    let start = Instant::now();
    let mut s = TcpStream::connect(&oss).await?;
    s.write_all(&req).await?;
    let chunk = vec![b'x'; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        s.write_all(&chunk[..n]).await?;
        left -= n;
    }
    let mut resp = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = s.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        resp.extend_from_slice(&tmp[..n]);
        if find(&resp, b"\r\n\r\n").is_some() {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let status = String::from_utf8_lossy(&resp)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    println!(
        "{}",
        serde_json::json!({"target": "oss-put", "bytes": size, "seconds": secs, "mib_per_s": (size as f64 / 1048576.0 / secs * 10.0).round() / 10.0, "status": status})
    );
    Ok(())
}

/// A bare HTTP/1.1 server answering every request with the same bytes (the reference for the
/// credential endpoint). Prints its address, runs until killed.
async fn serve(addr: &str, body_file: Option<&str>) -> anyhow::Result<()> {
    use http_body_util::Full;
    let body = bytes::Bytes::from(match body_file {
        Some(f) => std::fs::read(f)?,
        None => b"{}".to_vec(),
    });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let b = body.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |_req| {
                let b = b.clone();
                async move {
                    let mut r = hyper::Response::new(Full::new(b));
                    r.headers_mut().insert(
                        "content-type",
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, std::convert::Infallible>(r)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> anyhow::Result<()> {
    let a = parse_args()?;
    let target = match a.target.as_str() {
        "assume-role" | "trivial" => {
            let env = read_env(
                a.env
                    .as_deref()
                    .ok_or_else(|| anyhow!("`--env` is required for `{}`", a.target))?,
            )?;
            let sts = env
                .get("KEYLESS_STS_ENDPOINT")
                .cloned()
                .ok_or_else(|| anyhow!("KEYLESS_STS_ENDPOINT missing"))?;
            if a.target == "trivial" {
                Target::Trivial { host: sts }
            } else {
                let (role_arn, keys) = setup(&env, a.users.max(1)).await?;
                Target::AssumeRole {
                    host: sts,
                    role_arn,
                    keys: Arc::new(keys),
                }
            }
        }
        "moto" => Target::Moto {
            host: a
                .url
                .clone()
                .ok_or_else(|| anyhow!("`--url host:port` is required for moto"))?,
        },
        "get-url" => Target::GetUrl {
            host: a
                .url
                .clone()
                .ok_or_else(|| anyhow!("`--url host:port` is required"))?,
            path: a.path.clone(),
        },
        "oss-get" | "plain-get" => {
            let keys: Vec<String> = (0..a.objects.max(1))
                .map(|i| format!("bench/obj-{i:05}"))
                .collect();
            if a.target == "plain-get" {
                let bucket = a.path.trim_matches('/').to_owned();
                Target::PlainGet {
                    host: a.url.clone().ok_or_else(|| anyhow!("`--url` required"))?,
                    bucket,
                    keys: Arc::new(keys),
                }
            } else {
                let env = read_env(
                    a.env
                        .as_deref()
                        .ok_or_else(|| anyhow!("`--env` is required"))?,
                )?;
                let (host, bucket, creds) =
                    oss_setup(&env, &keys, a.size, a.body_file.as_deref()).await?;
                Target::OssGet {
                    host,
                    bucket,
                    keys: Arc::new(keys),
                    creds: Arc::new(creds),
                }
            }
        }
        "oss-put" => {
            let env = read_env(
                a.env
                    .as_deref()
                    .ok_or_else(|| anyhow!("`--env` is required"))?,
            )?;
            return oss_put(&env, a.size).await;
        }
        "serve" => {
            return serve(
                a.url.as_deref().unwrap_or("127.0.0.1:0"),
                a.body_file.as_deref(),
            )
            .await
        }
        other => bail!("unknown target `{other}`"),
    };
    // Warm-up (connections, caches), then the measured run.
    if a.requests.is_none() {
        let warm = Instant::now() + Duration::from_secs(1);
        let mut hs = Vec::new();
        for i in 0..a.connections {
            hs.push(tokio::spawn(worker(target.clone(), i, warm, None)));
        }
        for h in hs {
            let _ = h.await;
        }
    }
    let start = Instant::now();
    let until = match a.requests {
        Some(_) => start + Duration::from_secs(24 * 3600),
        None => start + Duration::from_secs(a.seconds),
    };
    let mut hs = Vec::new();
    for i in 0..a.connections {
        hs.push(tokio::spawn(worker(target.clone(), i, until, a.requests)));
    }
    let (mut ok, mut errors, mut first_error, mut lat) = (0u64, 0u64, None, Vec::new());
    for h in hs {
        let o = h.await?;
        ok += o.ok;
        errors += o.errors;
        if first_error.is_none() {
            first_error = o.first_error;
        }
        lat.extend(o.latencies_us);
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let report = serde_json::json!({
        "target": a.target,
        "connections": a.connections,
        "seconds": (secs * 100.0).round() / 100.0,
        "ok": ok,
        "errors": errors,
        "first_error": first_error,
        "throughput_rps": (ok as f64 / secs).round(),
        "latency_ms": {"p50": pct(&lat, 0.50), "p90": pct(&lat, 0.90), "p99": pct(&lat, 0.99), "max": pct(&lat, 1.0)},
    });
    println!("{report}");
    Ok(())
}
