#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The agent against a fake control plane: real sockets, real files, short-lived credentials.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use keyless_agent::{
    start, timefmt, AgentConfig, AgentError, AgentHandle, Clock, Options, Schedule, SystemClock,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "instance-bearer-token-SEKRIT";
const URI_PATH: &str = "/v1/credentials/3f9c2a7d";

// ---------------------------------------------------------------- the fake control plane

struct Issued {
    id: String,
    doc: String,
}

struct CpState {
    up: AtomicBool,
    /// Connections accepted (including those dropped while "down").
    attempts: AtomicU64,
    lifetime_secs: AtomicI64,
    role_name: Mutex<Option<String>>,
    issued: Mutex<Vec<Issued>>,
}

struct FakeCp {
    addr: SocketAddr,
    state: Arc<CpState>,
}

impl FakeCp {
    async fn start(up: bool, lifetime_secs: i64) -> FakeCp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(CpState {
            up: AtomicBool::new(up),
            attempts: AtomicU64::new(0),
            lifetime_secs: AtomicI64::new(lifetime_secs),
            role_name: Mutex::new(None),
            issued: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                st.attempts.fetch_add(1, Ordering::SeqCst);
                if !st.up.load(Ordering::SeqCst) {
                    drop(stream); // down: the connection is closed without an answer
                    continue;
                }
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let resp = answer(&st, &req);
                        async move { Ok::<_, Infallible>(resp) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FakeCp { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set_up(&self, up: bool) {
        self.state.up.store(up, Ordering::SeqCst);
    }

    fn issued_count(&self) -> usize {
        self.state.issued.lock().unwrap().len()
    }

    fn doc_for(&self, id: &str) -> String {
        let issued = self.state.issued.lock().unwrap();
        issued.iter().find(|i| i.id == id).unwrap().doc.clone()
    }

    fn attempts(&self) -> u64 {
        self.state.attempts.load(Ordering::SeqCst)
    }
}

fn answer(st: &CpState, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r
    };
    if req.uri().path() != keyless_agent::CREDENTIALS_PATH {
        return reply(StatusCode::NOT_FOUND, r#"{"Code":"NotFound"}"#.into());
    }
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {TOKEN}")) {
        return reply(
            StatusCode::UNAUTHORIZED,
            r#"{"Code":"InvalidToken"}"#.into(),
        );
    }
    let mut issued = st.issued.lock().unwrap();
    let n = issued.len();
    let exp = SystemClock.now_millis() / 1000 + st.lifetime_secs.load(Ordering::SeqCst);
    let id = format!("STS.fake{n:06}");
    let doc = format!(
        r#"{{"Code":"Success","AccessKeyId":"{id}","AccessKeySecret":"secret-{n}-SEKRIT","SecurityToken":"token-{n}-SEKRIT","Expiration":"{}"}}"#,
        timefmt::format_utc(exp)
    );
    let body = match st.role_name.lock().unwrap().as_deref() {
        Some(role) => format!("{},\"RoleName\":\"{role}\"}}", &doc[..doc.len() - 1]),
        None => doc.clone(),
    };
    issued.push(Issued { id, doc });
    reply(StatusCode::OK, body)
}

// ---------------------------------------------------------------- helpers

fn fast_schedule() -> Schedule {
    Schedule {
        refresh_before: Duration::from_secs(2),
        min_remaining: Duration::from_secs(1),
        jitter: 0.0,
        min_interval: Duration::from_millis(100),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(300),
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("keyless-agent-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

type Logs = Arc<Mutex<Vec<String>>>;

struct Setup {
    cp: FakeCp,
    agent: AgentHandle,
    dir: TempDir,
    logs: Logs,
}

impl Setup {
    fn creds_dir(&self) -> PathBuf {
        self.dir.0.join("ram")
    }

    fn file(&self) -> PathBuf {
        self.creds_dir().join("credentials")
    }

    fn assert_no_secret_logged(&self) {
        let logs = self.logs.lock().unwrap();
        assert!(!logs.is_empty());
        for line in logs.iter() {
            assert!(!line.contains("SEKRIT"), "secret in log: {line}");
        }
    }
}

fn config(dir: &Path, cp: &FakeCp, schedule: Schedule) -> AgentConfig {
    let token_file = dir.join("token");
    if !token_file.exists() {
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    }
    AgentConfig {
        control_url: cp.url(),
        token_file,
        listen: "127.0.0.1:0".parse().unwrap(),
        uri_path: URI_PATH.into(),
        credentials_dir: dir.join("ram"),
        ecs_metadata: None,
        schedule,
    }
}

async fn setup_with(
    name: &str,
    cp: FakeCp,
    schedule: Schedule,
    clock: Arc<dyn Clock>,
    edit: impl FnOnce(&mut AgentConfig),
) -> Setup {
    let dir = TempDir::new(name);
    let mut cfg = config(&dir.0, &cp, schedule);
    edit(&mut cfg);
    let logs: Logs = Arc::default();
    let sink = logs.clone();
    let agent = start(
        cfg,
        Options {
            clock,
            log: Arc::new(move |l: &str| sink.lock().unwrap().push(l.to_string())),
        },
    )
    .await
    .unwrap();
    Setup {
        cp,
        agent,
        dir,
        logs,
    }
}

async fn setup(name: &str, up: bool, lifetime: i64, schedule: Schedule) -> Setup {
    let cp = FakeCp::start(up, lifetime).await;
    setup_with(name, cp, schedule, Arc::new(SystemClock), |_| {}).await
}

async fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A bare HTTP/1.1 request, like the Python client's (Host without the port).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> HttpResponse {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

async fn get(s: &Setup) -> HttpResponse {
    http(s.agent.local_addr(), "GET", URI_PATH, &[]).await
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_exact_document_and_writes_a_0600_file() {
    let s = setup("exact", true, 3600, Schedule::default()).await;
    eventually("the first set", Duration::from_secs(5), || {
        s.agent.rotations() >= 1
    })
    .await;
    let id = s.agent.current_access_key_id().unwrap();
    let expected = s.cp.doc_for(&id);

    let r = get(&s).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(String::from_utf8(r.body).unwrap(), expected);

    // The query string is ignored; anything but the exact path is 404.
    let r = http(s.agent.local_addr(), "GET", &format!("{URI_PATH}?a=1"), &[]).await;
    assert_eq!(String::from_utf8(r.body).unwrap(), expected);
    for other in [
        "/",
        "/v1/credentials",
        &format!("{URI_PATH}x"),
        &format!("{URI_PATH}/"),
    ] {
        let r = http(s.agent.local_addr(), "GET", other, &[]).await;
        assert_eq!(r.status, 404, "{other}");
        assert!(!String::from_utf8_lossy(&r.body).contains("SEKRIT"));
    }
    let r = http(s.agent.local_addr(), "POST", URI_PATH, &[]).await;
    assert_eq!(r.status, 405);

    assert_eq!(std::fs::read_to_string(s.file()).unwrap(), expected);
    let mode = std::fs::metadata(s.file()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(file_names(&s.creds_dir()), ["credentials"]);

    assert_eq!(s.cp.issued_count(), 1, "readers are answered from memory");
    let logs = s.logs.lock().unwrap().join("\n");
    assert!(logs.contains(&format!("AccessKeyId={id}")), "{logs}");
    drop(logs);
    s.assert_no_secret_logged();
    s.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_not_ready_until_the_control_plane_answers() {
    let s = setup("notready", false, 3600, fast_schedule()).await;
    let r = get(&s).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["Code"], "CredentialsNotReady");
    assert!(!s.file().exists());
    eventually("retries", Duration::from_secs(5), || s.cp.attempts() >= 3).await;

    s.cp.set_up(true);
    eventually("the first set", Duration::from_secs(5), || {
        s.agent.rotations() >= 1
    })
    .await;
    let r = get(&s).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Code"], "Success");
    assert!(s.file().exists());
    s.assert_no_secret_logged();
    s.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_brings_a_new_access_key_id() {
    // 4 s sets, refreshed 2 s before expiry.
    let s = setup("rotate", true, 4, fast_schedule()).await;
    eventually("the first set", Duration::from_secs(5), || {
        s.agent.rotations() >= 1
    })
    .await;
    let first = s.agent.current_access_key_id().unwrap();
    eventually("a rotation", Duration::from_secs(8), || {
        s.agent.current_access_key_id().as_deref() != Some(first.as_str())
    })
    .await;
    let second = s.agent.current_access_key_id().unwrap();
    assert_ne!(first, second);
    let r = get(&s).await;
    let served = r.json()["AccessKeyId"].as_str().unwrap().to_string();
    assert_ne!(served, first);
    let in_file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.file()).unwrap()).unwrap();
    assert_ne!(in_file["AccessKeyId"], first.as_str());
    s.assert_no_secret_logged();
    s.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_keeps_the_last_set_and_rotation_resumes_after_it() {
    // 6 s sets: refresh due after 3 s, expiry after 6 s.
    let s = setup("outage", true, 6, fast_schedule()).await;
    eventually("the first set", Duration::from_secs(5), || {
        s.agent.rotations() >= 1
    })
    .await;
    let first = s.agent.current_access_key_id().unwrap();
    s.cp.set_up(false);
    let before = s.cp.attempts();
    // The refresh comes due and fails repeatedly (backoff capped at 300 ms)...
    eventually("failed retries", Duration::from_secs(6), || {
        s.cp.attempts() >= before + 3
    })
    .await;
    // ...while readers keep getting the last valid set.
    for _ in 0..20 {
        let r = get(&s).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["AccessKeyId"], first.as_str());
    }
    assert_eq!(s.agent.current_access_key_id().unwrap(), first);
    s.cp.set_up(true);
    eventually("recovery", Duration::from_secs(3), || {
        s.agent.current_access_key_id().as_deref() != Some(first.as_str())
    })
    .await;
    assert_eq!(get(&s).await.status, 200);
    let logs = s.logs.lock().unwrap().join("\n");
    assert!(logs.contains("refresh failed"), "{logs}");
    assert!(
        logs.contains(&format!("still serving AccessKeyId={first}")),
        "{logs}"
    );
    drop(logs);
    s.assert_no_secret_logged();
    s.agent.shutdown().await;
}

/// A clock the test moves by hand.
struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_set_is_never_served() {
    let cp = FakeCp::start(true, 3600).await;
    let clock = Arc::new(ManualClock(AtomicI64::new(SystemClock.now_millis())));
    let s = setup_with("expired", cp, Schedule::default(), clock.clone(), |_| {}).await;
    eventually("the first set", Duration::from_secs(5), || {
        s.agent.rotations() >= 1
    })
    .await;
    assert_eq!(get(&s).await.status, 200);
    s.cp.set_up(false);
    clock.0.fetch_add(2 * 3600 * 1000, Ordering::SeqCst);
    let r = get(&s).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["Code"], "CredentialsExpired");
    s.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_is_never_seen_half_written() {
    let s = setup("atomic", true, 3600, Schedule::default()).await;
    eventually("the first set", Duration::from_secs(5), || {
        s.agent.rotations() >= 1
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, path) = (stop.clone(), s.file());
        std::thread::spawn(move || {
            let (mut reads, mut ids) = (0u64, HashSet::new());
            while !stop.load(Ordering::SeqCst) {
                let raw = std::fs::read(&path).expect("the file never disappears");
                let v: serde_json::Value =
                    serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("partial file: {e}"));
                for f in [
                    "AccessKeyId",
                    "AccessKeySecret",
                    "SecurityToken",
                    "Expiration",
                ] {
                    assert!(!v[f].as_str().unwrap().is_empty(), "{f}");
                }
                assert_eq!(v["Code"], "Success");
                ids.insert(v["AccessKeyId"].as_str().unwrap().to_string());
                reads += 1;
            }
            (reads, ids.len())
        })
    };
    let mut ids = HashSet::new();
    for _ in 0..200 {
        let r = s.agent.refresh_now().await.unwrap();
        assert!(
            ids.insert(r.access_key_id),
            "every rotation has a new AccessKeyId"
        );
    }
    stop.store(true, Ordering::SeqCst);
    let (reads, seen) = reader.join().unwrap();
    assert!(reads > 0 && seen > 1, "reads {reads}, distinct ids {seen}");
    assert_eq!(file_names(&s.creds_dir()), ["credentials"]);
    let mode = std::fs::metadata(s.file()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    s.assert_no_secret_logged();
    s.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_an_error_and_never_logged() {
    let cp = FakeCp::start(true, 3600).await;
    let s = setup_with(
        "badtoken",
        cp,
        fast_schedule(),
        Arc::new(SystemClock),
        |c| {
            std::fs::write(&c.token_file, "wrong-token-SEKRIT").unwrap();
        },
    )
    .await;
    let err = s.agent.refresh_now().await.unwrap_err();
    assert!(
        matches!(err, AgentError::Unauthorized { status: 401, ref code } if code == "InvalidToken"),
        "{err:?}"
    );
    assert_eq!(get(&s).await.status, 503);
    eventually("a logged failure", Duration::from_secs(5), || {
        s.logs
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("rejected the token"))
    })
    .await;
    s.assert_no_secret_logged();
    s.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_metadata_protocol() {
    let cp = FakeCp::start(true, 3600).await;
    *cp.state.role_name.lock().unwrap() = Some("eas-demo-role".into());
    let s = setup_with("ecs", cp, Schedule::default(), Arc::new(SystemClock), |c| {
        c.ecs_metadata = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    eventually("the first set", Duration::from_secs(5), || {
        s.agent.rotations() >= 1
    })
    .await;
    let ecs = s.agent.ecs_metadata_addr().unwrap();

    let r = http(
        ecs,
        "PUT",
        "/latest/api/token",
        &[("X-aliyun-ecs-metadata-token-ttl-seconds", "21600")],
    )
    .await;
    assert_eq!(r.status, 200);
    let token = String::from_utf8(r.body).unwrap();
    assert_eq!(token.len(), 32);
    let auth = [("X-aliyun-ecs-metadata-token", token.as_str())];

    let base = "/latest/meta-data/ram/security-credentials/";
    let r = http(ecs, "GET", base, &auth).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body, b"eas-demo-role",
        "the role name, no trailing newline"
    );

    let r = http(ecs, "GET", &format!("{base}eas-demo-role"), &auth).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let uri = get(&s).await.json();
    for f in [
        "Code",
        "AccessKeyId",
        "AccessKeySecret",
        "SecurityToken",
        "Expiration",
    ] {
        assert_eq!(v[f], uri[f], "{f}");
    }
    assert!(timefmt::parse_utc(v["LastUpdated"].as_str().unwrap()).is_some());

    // IMDSv1 (no token) works; a wrong token does not; other roles do not exist.
    assert_eq!(http(ecs, "GET", base, &[]).await.status, 200);
    let bad = [("X-aliyun-ecs-metadata-token", "0123")];
    assert_eq!(http(ecs, "GET", base, &bad).await.status, 401);
    assert_eq!(
        http(ecs, "GET", &format!("{base}other"), &auth)
            .await
            .status,
        404
    );
    let r = http(
        ecs,
        "PUT",
        "/latest/api/token",
        &[("X-aliyun-ecs-metadata-token-ttl-seconds", "0")],
    )
    .await;
    assert_eq!(r.status, 400);
    // The credentials URI path is not served on the metadata port, nor the reverse.
    assert_eq!(http(ecs, "GET", URI_PATH, &[]).await.status, 404);
    assert_eq!(
        http(s.agent.local_addr(), "GET", base, &[]).await.status,
        404
    );
    s.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previous_valid_file_is_served_until_the_first_fetch() {
    let cp = FakeCp::start(false, 3600).await;
    let dir = TempDir::new("adopt");
    let exp = timefmt::format_utc(SystemClock.now_millis() / 1000 + 3600);
    let doc = format!(
        r#"{{"Code":"Success","AccessKeyId":"STS.previous","AccessKeySecret":"old-SEKRIT","SecurityToken":"oldtok-SEKRIT","Expiration":"{exp}"}}"#
    );
    std::fs::create_dir_all(dir.0.join("ram")).unwrap();
    std::fs::write(dir.0.join("ram/credentials"), &doc).unwrap();
    std::fs::write(dir.0.join("ram/.credentials.tmp-1-1"), "{").unwrap();
    let cfg = config(&dir.0, &cp, fast_schedule());
    let agent = start(cfg, Options::default()).await.unwrap();
    let r = http(agent.local_addr(), "GET", URI_PATH, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(String::from_utf8(r.body).unwrap(), doc);
    assert_eq!(
        file_names(&dir.0.join("ram")),
        ["credentials"],
        "leftovers removed"
    );
    // Once the control plane answers, the adopted set is replaced right away.
    cp.set_up(true);
    eventually("a fresh set", Duration::from_secs(5), || {
        agent.rotations() >= 1
    })
    .await;
    assert_ne!(agent.current_access_key_id().unwrap(), "STS.previous");
    agent.shutdown().await;
}

#[tokio::test]
async fn only_loopback_addresses_and_absolute_paths_are_accepted() {
    let cp = FakeCp::start(true, 3600).await;
    let dir = TempDir::new("validate");
    let base = config(&dir.0, &cp, Schedule::default());
    type Edit = Box<dyn Fn(&mut AgentConfig)>;
    let cases: Vec<Edit> = vec![
        Box::new(|c| c.listen = "0.0.0.0:0".parse().unwrap()),
        Box::new(|c| c.listen = "10.1.2.3:80".parse().unwrap()),
        Box::new(|c| c.listen = "[::]:0".parse().unwrap()),
        Box::new(|c| c.ecs_metadata = Some("100.100.100.200:80".parse().unwrap())),
        Box::new(|c| c.uri_path = "credentials".into()),
        Box::new(|c| c.uri_path = "/c?x=1".into()),
        Box::new(|c| c.control_url = "https://127.0.0.1:1".into()),
    ];
    for (i, edit) in cases.iter().enumerate() {
        let mut c = base.clone();
        edit(&mut c);
        assert!(
            matches!(
                start(c, Options::default()).await,
                Err(AgentError::Config(_))
            ),
            "case {i}"
        );
    }
    let mut c = base.clone();
    c.listen = "[::1]:0".parse().unwrap();
    if let Ok(a) = start(c, Options::default()).await {
        a.shutdown().await;
    }
}
