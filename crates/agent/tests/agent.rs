#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The agent against a fake control plane: real sockets, real files, short-lived credentials.
//!
//! No test relies on timing: every wait is for a condition, with a generous deadline that only
//! bounds a hung test. Every secret the fake control plane hands out, and the bearer token,
//! contain `SEKRIT`; all the agent's log lines (captured in the production [`LogFormat`] for the
//! whole test binary) are checked for it.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use keyless_agent::{
    start, timefmt, AgentConfig, AgentError, AgentHandle, Clock, LogFormat, Options, Schedule,
    SystemClock,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "instance-bearer-token-SEKRIT";
const URI_PATH: &str = "/v1/credentials/3f9c2a7d";
/// Bounds a wait for something that must happen; only a hung test ever reaches it.
const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- the agent's log

/// Every line the agent logged in this test binary (all tests share the global subscriber).
fn log_lines() -> Vec<String> {
    capture().lock().unwrap().clone()
}

fn capture() -> &'static Arc<Mutex<Vec<String>>> {
    static LINES: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(LogFormat)
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || LineWriter {
                buf: Vec::new(),
                sink: sink.clone(),
            })
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        lines
    })
}

/// Collects one event's output and appends it, whole, when dropped.
struct LineWriter {
    buf: Vec<u8>,
    sink: Arc<Mutex<Vec<String>>>,
}

impl std::io::Write for LineWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        sink.extend(text.lines().map(str::to_string));
    }
}

fn assert_no_secret_logged() {
    let lines = log_lines();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(!line.contains("SEKRIT"), "secret in log: {line}");
    }
}

fn logged(pred: impl Fn(&str) -> bool) -> bool {
    log_lines().iter().any(|l| pred(l))
}

// ---------------------------------------------------------------- the fake control plane

struct Issued {
    id: String,
    doc: String,
    secret: String,
    token: String,
}

struct CpState {
    /// Distinguishes this control plane's AccessKeyIds from other tests' (they share the log).
    name: String,
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
    /// Hands out `STS.<name>NNNNNN` sets valid for `lifetime_secs`.
    async fn start(name: &str, up: bool, lifetime_secs: i64) -> FakeCp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(CpState {
            name: name.to_string(),
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

    /// Every secret value handed out so far (AccessKeySecrets and SecurityTokens).
    fn secrets(&self) -> Vec<String> {
        let issued = self.state.issued.lock().unwrap();
        issued
            .iter()
            .flat_map(|i| [i.secret.clone(), i.token.clone()])
            .collect()
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
    let name = &st.name;
    let exp = SystemClock.now_millis() / 1000 + st.lifetime_secs.load(Ordering::SeqCst);
    let id = format!("STS.{name}{n:06}");
    let secret = format!("secret-{name}-{n}-SEKRIT");
    let token = format!("token-{name}-{n}-SEKRIT");
    let doc = format!(
        r#"{{"Code":"Success","AccessKeyId":"{id}","AccessKeySecret":"{secret}","SecurityToken":"{token}","Expiration":"{}"}}"#,
        timefmt::format_utc(exp)
    );
    let body = match st.role_name.lock().unwrap().as_deref() {
        Some(role) => format!("{},\"RoleName\":\"{role}\"}}", &doc[..doc.len() - 1]),
        None => doc.clone(),
    };
    issued.push(Issued {
        id,
        doc,
        secret,
        token,
    });
    reply(StatusCode::OK, body)
}

/// The issue order of an AccessKeyId of the fake control plane (`STS.<name>NNNNNN`).
fn seq(id: &str) -> u64 {
    id[id.len() - 6..].parse().unwrap()
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

/// For sets of `lifetime` seconds: refreshed `lifetime / 8` (at least 1 s) after each fetch,
/// so each set still has most of its lifetime left when the next one arrives, and a loaded
/// machine would have to stall for many seconds before anything expires.
fn rotating_schedule(lifetime: u64) -> Schedule {
    Schedule {
        refresh_before: Duration::from_secs(lifetime - 1),
        ..fast_schedule()
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

struct Setup {
    cp: FakeCp,
    agent: AgentHandle,
    dir: TempDir,
}

impl Setup {
    fn creds_dir(&self) -> PathBuf {
        self.dir.0.join("ram")
    }

    fn file(&self) -> PathBuf {
        self.creds_dir().join("credentials")
    }

    /// The AccessKeyId in the credentials file, if there is one.
    fn file_id(&self) -> Option<String> {
        let raw = std::fs::read(self.file()).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        Some(v["AccessKeyId"].as_str().unwrap().to_string())
    }

    /// The AccessKeyId the credentials URI serves, if it answers 200.
    async fn served_id(&self) -> Option<String> {
        let r = get(self).await;
        (r.status == 200).then(|| r.json()["AccessKeyId"].as_str().unwrap().to_string())
    }

    /// The invariant, seen from outside: after the endpoint served `served`, the file holds
    /// that set or a newer one.
    fn assert_file_not_behind(&self, served: &str) {
        let in_file = self
            .file_id()
            .unwrap_or_else(|| panic!("the endpoint served {served} before the file existed"));
        assert!(
            seq(&in_file) >= seq(served),
            "the endpoint served {served} while the file held {in_file}"
        );
    }

    /// Waits until the credentials URI serves a set that `pred` accepts, and returns it.
    async fn wait_served(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            if let Some(id) = self.served_id().await {
                self.assert_file_not_behind(&id);
                if pred(&id) {
                    return id;
                }
            }
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
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
    capture();
    let dir = TempDir::new(name);
    let mut cfg = config(&dir.0, &cp, schedule);
    edit(&mut cfg);
    let agent = start(cfg, Options { clock }).await.unwrap();
    Setup { cp, agent, dir }
}

async fn setup(name: &str, up: bool, lifetime: i64, schedule: Schedule) -> Setup {
    let cp = FakeCp::start(name, up, lifetime).await;
    setup_with(name, cp, schedule, Arc::new(SystemClock), |_| {}).await
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
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
    eventually("the first set", || s.agent.rotations() >= 1).await;
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
    assert!(logged(|l| l.contains(&format!(
        "keyless-agent: rotated credentials: AccessKeyId={id} Expiration="
    ))));
    assert_no_secret_logged();
    s.agent.shutdown().await;
}

/// Regression (issue 10): the endpoint answered 200 before the file existed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_not_ready_until_the_control_plane_answers() {
    let s = setup("notready", false, 3600, fast_schedule()).await;
    let r = get(&s).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["Code"], "CredentialsNotReady");
    assert!(!s.file().exists());
    eventually("retries", || s.cp.attempts() >= 3).await;
    // The control plane is down: nothing has been served or written.
    assert_eq!(get(&s).await.status, 503);
    assert!(!s.file().exists());

    s.cp.set_up(true);
    // The first 200 comes with the file already there (checked on every answer).
    let id = s.wait_served("the first set", |_| true).await;
    assert_eq!(s.file_id().as_deref(), Some(id.as_str()));
    let r = get(&s).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Code"], "Success");
    assert!(logged(
        |l| l.contains("refresh failed; nothing to serve yet")
    ));
    assert_no_secret_logged();
    s.agent.shutdown().await;
}

/// Regression (issue 10): the endpoint served the second AccessKeyId while the file still held
/// the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_brings_a_new_access_key_id() {
    // 16 s sets, rotated every 2 s by the schedule (nothing is forced).
    let s = setup("rotate", true, 16, rotating_schedule(16)).await;
    let first = s.wait_served("the first set", |_| true).await;
    let second = s.wait_served("a rotation", |id| id != first).await;
    assert!(seq(&second) > seq(&first));
    let in_file = s.file_id().unwrap();
    assert_ne!(in_file, first);
    assert!(seq(&in_file) >= seq(&second));
    assert!(logged(|l| l.contains(&format!(
        "rotated credentials: AccessKeyId={second}"
    ))));
    assert_no_secret_logged();
    s.agent.shutdown().await;
}

/// The invariant under concurrency: a reader that asks the endpoint and then reads the file
/// never finds the file behind, while sets rotate as fast as the agent can write them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_is_never_behind_the_endpoint() {
    let s = Arc::new(setup("order", true, 3600, Schedule::default()).await);
    s.wait_served("the first set", |_| true).await;

    let stop = Arc::new(AtomicBool::new(false));
    let distinct = Arc::new(AtomicUsize::new(0));
    let violations: Arc<Mutex<Vec<String>>> = Arc::default();
    let reader = {
        let (s, stop, distinct, violations) = (
            s.clone(),
            stop.clone(),
            distinct.clone(),
            violations.clone(),
        );
        tokio::spawn(async move {
            let mut ids = HashSet::new();
            while !stop.load(Ordering::SeqCst) {
                let served = s.served_id().await.unwrap();
                let in_file = s.file_id().unwrap();
                if seq(&in_file) < seq(&served) {
                    violations
                        .lock()
                        .unwrap()
                        .push(format!("served {served} while the file held {in_file}"));
                }
                ids.insert(served);
                distinct.store(ids.len(), Ordering::SeqCst);
            }
        })
    };
    let start = Instant::now();
    let mut refreshes = 0;
    while refreshes < 100 || distinct.load(Ordering::SeqCst) < 10 {
        assert!(violations.lock().unwrap().is_empty());
        assert!(!reader.is_finished(), "the reader stopped");
        assert!(start.elapsed() < DEADLINE * 2, "timed out rotating");
        s.agent.refresh_now().await.unwrap();
        refreshes += 1;
    }
    stop.store(true, Ordering::SeqCst);
    reader.await.unwrap();
    assert_eq!(*violations.lock().unwrap(), Vec::<String>::new());
    assert_no_secret_logged();
    let Ok(s) = Arc::try_unwrap(s) else {
        panic!("the reader still holds the setup")
    };
    s.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_keeps_the_last_set_and_rotation_resumes_after_it() {
    // 32 s sets: the refresh comes due after 4 s; expiry is far beyond any stall.
    let s = setup("outage", true, 32, rotating_schedule(32)).await;
    let first = s.wait_served("the first set", |_| true).await;
    s.cp.set_up(false);
    let before = s.cp.attempts();
    // The refresh comes due and fails repeatedly (backoff capped at 300 ms)...
    eventually("failed retries", || s.cp.attempts() >= before + 3).await;
    // ...while readers keep getting the last valid set.
    for _ in 0..20 {
        assert_eq!(s.served_id().await.as_deref(), Some(first.as_str()));
    }
    assert_eq!(s.agent.current_access_key_id().unwrap(), first);
    s.cp.set_up(true);
    s.wait_served("recovery", |id| id != first).await;
    assert!(logged(|l| l
        .contains("refresh failed; still serving the previous set")
        && l.contains(&format!("AccessKeyId={first}"))));
    assert_no_secret_logged();
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
    let cp = FakeCp::start("expired", true, 3600).await;
    let clock = Arc::new(ManualClock(AtomicI64::new(SystemClock.now_millis())));
    let s = setup_with("expired", cp, Schedule::default(), clock.clone(), |_| {}).await;
    eventually("the first set", || s.agent.rotations() >= 1).await;
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
    eventually("the first set", || s.agent.rotations() >= 1).await;

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (stop, seen, path) = (stop.clone(), seen.clone(), s.file());
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
                seen.store(ids.len(), Ordering::SeqCst);
                reads += 1;
            }
            reads
        })
    };
    // Rotate until the reader has seen several sets (however slowly it gets scheduled).
    let mut ids = HashSet::new();
    let start = Instant::now();
    while ids.len() < 200 || seen.load(Ordering::SeqCst) < 3 {
        assert!(!reader.is_finished(), "the reader failed");
        assert!(start.elapsed() < DEADLINE * 2, "timed out rotating");
        let r = s.agent.refresh_now().await.unwrap();
        assert!(
            ids.insert(r.access_key_id),
            "every rotation has a new AccessKeyId"
        );
    }
    stop.store(true, Ordering::SeqCst);
    let reads = reader.join().unwrap();
    assert!(reads > 0);
    assert_eq!(file_names(&s.creds_dir()), ["credentials"]);
    let mode = std::fs::metadata(s.file()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_no_secret_logged();
    s.agent.shutdown().await;
}

/// The file cannot be written (its directory vanished): the new set is not served, the
/// previous one still is, and the agent recovers once the directory is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_whose_file_cannot_be_written_is_not_served() {
    let s = setup("vanish", true, 3600, Schedule::default()).await;
    let first = s.wait_served("the first set", |_| true).await;
    std::fs::remove_dir_all(s.creds_dir()).unwrap();

    let err = s.agent.refresh_now().await.unwrap_err();
    assert!(matches!(err, AgentError::File { .. }), "{err:?}");
    assert_eq!(s.served_id().await.as_deref(), Some(first.as_str()));
    assert_eq!(
        s.agent.current_access_key_id().as_deref(),
        Some(first.as_str())
    );
    assert_eq!(s.agent.rotations(), 1);
    assert!(s.cp.issued_count() >= 2, "a new set was fetched");
    assert!(logged(|l| {
        l.contains(
        "warning: cannot publish the credentials file; the new set is not served: AccessKeyId=STS.vanish"
    ) && l.contains(&format!("StillServing={first}"))
    }));

    std::fs::create_dir_all(s.creds_dir()).unwrap();
    let r = s.agent.refresh_now().await.unwrap();
    assert_eq!(
        s.served_id().await.as_deref(),
        Some(r.access_key_id.as_str())
    );
    assert_eq!(s.file_id().as_deref(), Some(r.access_key_id.as_str()));
    assert_no_secret_logged();
    s.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_an_error_and_never_logged() {
    let cp = FakeCp::start("badtoken", true, 3600).await;
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
    // `refresh_now` logs its failure before returning.
    assert!(logged(
        |l| l.contains("refresh failed") && l.contains("rejected the token")
    ));
    assert_no_secret_logged();
    s.agent.shutdown().await;
}

/// A fetch, rotations, an outage, a rejected token and an unwritable file: no secret value,
/// no security token, no bearer token and not the URI path ever reaches a log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_token_is_ever_logged() {
    let s = setup("nolog", true, 3600, Schedule::default()).await;
    let first = s.wait_served("the first set", |_| true).await;
    let mut rotated = vec![first];
    for _ in 0..3 {
        rotated.push(s.agent.refresh_now().await.unwrap().access_key_id);
    }
    s.cp.set_up(false);
    assert!(s.agent.refresh_now().await.is_err());
    s.cp.set_up(true);
    let token_file = s.dir.0.join("token");
    std::fs::write(&token_file, "wrong-token-SEKRIT").unwrap();
    assert!(s.agent.refresh_now().await.is_err());
    std::fs::write(&token_file, TOKEN).unwrap();
    std::fs::remove_dir_all(s.creds_dir()).unwrap();
    assert!(s.agent.refresh_now().await.is_err());
    std::fs::create_dir_all(s.creds_dir()).unwrap();
    rotated.push(s.agent.refresh_now().await.unwrap().access_key_id);

    let lines = log_lines();
    assert!(
        lines.iter().any(|l| l.contains("keyless-agent: debug: request: Service=agent Method=GET Route=credentials-uri Status=200 LatencyUs=")),
        "no access line: {lines:?}"
    );
    for id in &rotated {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("rotated credentials: AccessKeyId={id} "))),
            "{id} not logged"
        );
    }
    let mut never = s.cp.secrets();
    assert_eq!(never.len(), 2 * s.cp.issued_count());
    never.extend([
        TOKEN.to_string(),
        "wrong-token-SEKRIT".to_string(),
        "Bearer".to_string(),
        URI_PATH.to_string(),
        "SEKRIT".to_string(),
    ]);
    for line in &lines {
        for value in &never {
            assert!(!line.contains(value.as_str()), "`{value}` logged: {line}");
        }
    }
    s.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_metadata_protocol() {
    let cp = FakeCp::start("ecs", true, 3600).await;
    *cp.state.role_name.lock().unwrap() = Some("eas-demo-role".into());
    let s = setup_with("ecs", cp, Schedule::default(), Arc::new(SystemClock), |c| {
        c.ecs_metadata = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    eventually("the first set", || s.agent.rotations() >= 1).await;
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
    s.assert_file_not_behind(v["AccessKeyId"].as_str().unwrap());

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
    capture();
    let cp = FakeCp::start("adopt", false, 3600).await;
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
    eventually("a fresh set", || agent.rotations() >= 1).await;
    assert_ne!(agent.current_access_key_id().unwrap(), "STS.previous");
    assert!(logged(|l| l.contains(
        "serving the previous run's set until the first refresh: AccessKeyId=STS.previous"
    )));
    agent.shutdown().await;
    assert_no_secret_logged();
}

#[tokio::test]
async fn only_loopback_addresses_and_absolute_paths_are_accepted() {
    let cp = FakeCp::start("validate", true, 3600).await;
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
