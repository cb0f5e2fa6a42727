//! `opendal-ls [--addressing virtual|path] BUCKET PREFIX`: lists `PREFIX` recursively in `BUCKET`
//! with Apache OpenDAL's OSS service and reads every object, printing `key size first-bytes-hex`
//! per object and a final `OPENDAL-OK n=<count> addressing=<style>`.
//!
//! Configured from the environment of an EAS instance only:
//! - credentials: `reqsign-aliyun-oss`'s `CredentialsUriCredentialProvider` reads
//!   `ALIBABA_CLOUD_CREDENTIALS_URI` (the instance's credential agent) and returns the STS set;
//!   OpenDAL 0.59's OSS builder has no credentials-URI provider in its own chain (static → env →
//!   OIDC → ECS metadata) and no way to plug one in, so the set is handed to it as static
//!   credentials. Signing (OSS V1 with `x-oss-security-token`) is OpenDAL's / reqsign's.
//! - endpoint: `KEYLESS_OSS_ENDPOINT` (`host:port`). With `--addressing virtual` (OpenDAL's default
//!   style) the endpoint is `http://localhost:<port>`, so OpenDAL sends `Host: <bucket>.localhost`;
//!   glibc here does not resolve `*.localhost`, so the HTTP client maps `<bucket>.localhost` to the
//!   endpoint's address (as `/etc/hosts` would). With `--addressing path` the endpoint is used as it
//!   is and OpenDAL sends `/<bucket>/<key>` — but lists with `GET /<bucket>?list-type=2…` (no
//!   slash after the bucket) signed over the resource `/<bucket>`, where OSS's V1 rules (and
//!   keyless) take `/<bucket>/`: keyless answers `SignatureDoesNotMatch` (see the test).
//!
//! Exit codes: 0 listed and read everything; 3 OSS refused with 403 (the error printed, then
//! `OPENDAL-DENIED code=<OSS error code>`); 1 anything else (`OPENDAL-ERROR`); 2 usage.

use opendal::services::Oss;
use opendal::{EntryMode, ErrorKind, HttpTransporter, OperationContext, Operator};
use opendal_http_transport_reqwest::ReqwestTransport;
use reqsign_aliyun_oss::CredentialsUriCredentialProvider;
use reqsign_core::{Context, OsEnv, ProvideCredential};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

const USAGE: &str = "usage: opendal-ls [--addressing virtual|path] BUCKET PREFIX";

enum Failure {
    Usage(String),
    Denied(String),
    Other(String),
}

impl From<opendal::Error> for Failure {
    fn from(e: opendal::Error) -> Self {
        if e.kind() == ErrorKind::PermissionDenied {
            Failure::Denied(format!("{e}"))
        } else {
            Failure::Other(format!("{e}"))
        }
    }
}

struct Args {
    addressing: String,
    bucket: String,
    prefix: String,
}

fn parse_args() -> Result<Args, Failure> {
    let mut addressing = "virtual".to_owned();
    let mut rest = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--addressing" {
            addressing = it
                .next()
                .ok_or_else(|| Failure::Usage("--addressing needs a value".into()))?;
        } else if let Some(v) = a.strip_prefix("--addressing=") {
            addressing = v.to_owned();
        } else {
            rest.push(a);
        }
    }
    if addressing != "virtual" && addressing != "path" {
        return Err(Failure::Usage(format!("unknown addressing `{addressing}`")));
    }
    let [bucket, prefix]: [String; 2] = rest
        .try_into()
        .map_err(|_| Failure::Usage("expected BUCKET and PREFIX".into()))?;
    Ok(Args {
        addressing,
        bucket,
        prefix,
    })
}

fn env(name: &str) -> Result<String, Failure> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Failure::Other(format!("`{name}` is not set")))
}

/// The HTTP client OpenDAL (and the credentials loader) use, and the endpoint to give OpenDAL.
fn transport(args: &Args, oss_endpoint: &str) -> Result<(HttpTransporter, String), Failure> {
    let authority = oss_endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut client = reqwest::Client::builder().no_proxy();
    let endpoint = match (args.addressing.as_str(), authority.parse::<SocketAddr>()) {
        ("virtual", Ok(addr)) if !matches!(addr.ip(), IpAddr::V6(_)) => {
            // OpenDAL builds `<bucket>.<endpoint host>`; an IP host cannot carry a bucket label.
            client = client.resolve(&format!("{}.localhost", args.bucket), addr);
            format!("http://localhost:{}", addr.port())
        }
        _ => format!("http://{authority}"),
    };
    let client = client
        .build()
        .map_err(|e| Failure::Other(format!("building the HTTP client: {e}")))?;
    Ok((
        HttpTransporter::new(ReqwestTransport::new(client)),
        endpoint,
    ))
}

/// The OSS error code in an OpenDAL error's text (`... OssError { code: "AccessDenied", ...`).
fn oss_code(message: &str) -> Option<&str> {
    let rest = &message[message.find("code: \"")? + "code: \"".len()..];
    rest.split('"').next()
}

fn hex_prefix(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".to_owned();
    }
    bytes.iter().take(8).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

async fn run(args: Args) -> Result<usize, Failure> {
    let oss_endpoint = env("KEYLESS_OSS_ENDPOINT")?;
    // Fail clearly when the variable is missing, rather than falling through to nothing.
    env("ALIBABA_CLOUD_CREDENTIALS_URI")?;
    let (http, endpoint) = transport(&args, &oss_endpoint)?;

    // reqsign's loader, with the process environment and the same HTTP client.
    let ctx = Context::new().with_env(OsEnv).with_http_send(http.clone());
    let cred = CredentialsUriCredentialProvider::new()
        .provide_credential(&ctx)
        .await
        .map_err(|e| Failure::Other(format!("loading credentials from the URI: {e}")))?
        .ok_or_else(|| Failure::Other("the credentials URI gave nothing".into()))?;
    println!(
        "opendal-ls: addressing={} endpoint={endpoint} bucket={} prefix={} credentials: {} key from ALIBABA_CLOUD_CREDENTIALS_URI, token {}, expires {}",
        args.addressing,
        args.bucket,
        args.prefix,
        if cred.access_key_id.starts_with("STS.") { "STS" } else { "non-STS" },
        if cred.security_token.is_some() { "present" } else { "absent" },
        cred.expires_in.map(|t| t.to_string()).unwrap_or_else(|| "never".into()),
    );

    let mut builder = Oss::default()
        .bucket(&args.bucket)
        .endpoint(&endpoint)
        .addressing_style(&args.addressing)
        .access_key_id(&cred.access_key_id)
        .access_key_secret(&cred.access_key_secret);
    if let Some(token) = &cred.security_token {
        builder = builder.security_token(token);
    }
    let op =
        Operator::new(builder)?.with_context(OperationContext::new().with_http_transport(http));

    let entries = op.list_with(&args.prefix).recursive(true).await?;
    let mut n = 0;
    for entry in entries {
        if entry.metadata().mode() != EntryMode::FILE {
            continue;
        }
        let listed = entry.metadata().content_length();
        let body = op.read(entry.path()).await?.to_vec();
        if body.len() as u64 != listed {
            return Err(Failure::Other(format!(
                "`{}`: listed {listed} bytes, read {}",
                entry.path(),
                body.len()
            )));
        }
        println!("{} {listed} {}", entry.path(), hex_prefix(&body));
        n += 1;
    }
    Ok(n)
}

fn main() -> ExitCode {
    let outcome = parse_args().and_then(|args| {
        let addressing = args.addressing.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::Other(format!("tokio: {e}")))?;
        rt.block_on(run(args)).map(|n| (n, addressing))
    });
    match outcome {
        Ok((n, addressing)) => {
            println!("OPENDAL-OK n={n} addressing={addressing}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(m)) => {
            eprintln!("opendal-ls: {m}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Denied(m)) => {
            println!("opendal-ls: OSS refused: {m}");
            println!("OPENDAL-DENIED code={}", oss_code(&m).unwrap_or("?"));
            ExitCode::from(3)
        }
        Err(Failure::Other(m)) => {
            println!("opendal-ls: {m}");
            println!("OPENDAL-ERROR");
            ExitCode::from(1)
        }
    }
}
