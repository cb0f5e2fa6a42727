//! The in-instance credential agent (`keyless agent`): one per EAS instance, started by the
//! runner next to it.
//!
//! Owns: fetching the instance's STS credentials from the control plane
//! (`GET {control_url}/internal/agent/v1/credentials`, `Authorization: Bearer <token file>`),
//! the refresh schedule ([`schedule`], pure), the loopback credentials URI
//! (`ALIBABA_CLOUD_CREDENTIALS_URI`), the optional ECS metadata endpoint, and the atomically
//! replaced `credentials` file that the instance sees as `/etc/ram/credentials`.
//!
//! Must not: reach anything but its own instance's credentials (it holds one bearer token bound
//! to one instance and asks for nothing else), listen on a non-loopback address, block a reader on
//! a refresh, replace a still-valid set with nothing when a refresh fails, or write a secret or
//! the token to a log (rotations are logged with the AccessKeyId and expiry only). Secrets stay
//! in `keyless_secret` wrappers; the rendered documents are zeroized when dropped.
//!
//! **Invariant: the file leads, the endpoints follow.** A set is served only after the
//! `credentials` file holding that same set was published atomically (temporary file written and
//! fsynced, renamed over `credentials`, directory fsynced): the in-memory document that both
//! endpoints answer from is swapped after that, never before. So whenever an endpoint serves a
//! set, the file already holds that set or a newer one, and a process that sees an AccessKeyId on
//! the endpoint and then reads `/etc/ram/credentials` never finds an older one (refreshes are
//! serialized, so both only move forward). A set adopted from a previous run's file at start is
//! served from that same file. [`AgentHandle::rotations`] counts sets that reached both.
//!
//! If the file cannot be published (its directory is gone, the disk is full, …), the new set is
//! dropped unserved: the endpoints keep serving the previous set while it has not expired (a
//! still-valid set is never replaced with nothing, and never with one the file does not hold),
//! a warning names the dropped AccessKeyId, the directory and the I/O error, and the refresh is
//! retried with backoff like any failed refresh. The directory is not re-created: it is
//! bind-mounted into the instance, so a new directory would not be the one the instance sees.
//!
//! Logging: structured [`tracing`] events (target `keyless_agent`) with non-secret fields only
//! (`access_key_id`, `expiration`, `error`, …); [`run_blocking`] prints them to stderr with
//! [`LogFormat`] unless the process already installed a subscriber.

mod control;
mod creds;
mod file;
mod log;
pub mod schedule;
mod serve;
pub mod timefmt;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

pub use control::CREDENTIALS_PATH;
pub use log::LogFormat;
pub use schedule::{Freshness, Schedule};

use creds::Credentials;
use serve::{EcsTokens, Kind};

/// The role name served by the ECS metadata protocol when the control plane does not say one.
pub const DEFAULT_ROLE_NAME: &str = "keyless";

/// How long the refresher sleeps at most before looking at the wall clock again (so a clock jump
/// or a suspended machine is noticed).
const MAX_SLEEP_MS: i64 = 30_000;

pub use keyless_time::{Clock, SystemClock};

/// What the agent serves and where it gets it.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// Base URL of the control plane's agent API, `http://HOST:PORT[/PREFIX]`.
    pub control_url: String,
    /// File holding the instance-bound bearer token (re-read on every fetch).
    pub token_file: PathBuf,
    /// Loopback address of the credentials URI.
    pub listen: SocketAddr,
    /// Path of the credentials URI (starts with `/`, no query).
    pub uri_path: String,
    /// Directory of the `credentials` file (bound at `/etc/ram` inside the instance).
    pub credentials_dir: PathBuf,
    /// Loopback address of the optional ECS metadata endpoint.
    pub ecs_metadata: Option<SocketAddr>,
    pub schedule: Schedule,
}

impl AgentConfig {
    /// Rejects non-loopback addresses, a malformed path or control URL, and a bad schedule.
    pub fn validate(&self) -> Result<(), AgentError> {
        for addr in std::iter::once(self.listen).chain(self.ecs_metadata) {
            if !addr.ip().is_loopback() {
                return Err(AgentError::Config(format!(
                    "`{addr}` is not a loopback address: the agent only listens on loopback"
                )));
            }
        }
        if !self.uri_path.starts_with('/') || self.uri_path.contains(['?', '#', ' ']) {
            return Err(AgentError::Config(format!(
                "the URI path `{}` must start with `/` and have no query",
                self.uri_path
            )));
        }
        control::ControlPlane::new(&self.control_url, self.token_file.clone())?;
        self.schedule.validate().map_err(AgentError::Config)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the token file `{}`: {source}", path.display())]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the control plane is unreachable: {0}")]
    Unreachable(String),
    #[error("the control plane rejected the token (HTTP {status}, code `{code}`)")]
    Unauthorized { status: u16, code: String },
    #[error("the control plane answered HTTP {status} (code `{code}`)")]
    ControlPlane { status: u16, code: String },
    #[error("the control plane's answer is invalid: {0}")]
    InvalidAnswer(String),
    #[error("cannot write the credentials file in `{}`: {source}", dir.display())]
    File {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Injected dependencies (tests pass a manual clock). Logs go to `tracing`.
#[derive(Clone)]
pub struct Options {
    pub clock: Arc<dyn Clock>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clock: Arc::new(SystemClock),
        }
    }
}

/// Publishes a rendered document as the `credentials` file in a directory ([`file::write_atomic`];
/// unit tests wrap it to observe the ordering against the served set).
type Publisher = Arc<dyn Fn(&Path, &[u8]) -> std::io::Result<()> + Send + Sync>;

/// A completed rotation (no secrets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub access_key_id: String,
    /// Unix seconds.
    pub expiration: i64,
}

/// The set being served, rendered once.
pub(crate) struct Served {
    pub(crate) access_key_id: String,
    pub(crate) role_name: String,
    pub(crate) expires_at_ms: i64,
    pub(crate) refresh_at_ms: i64,
    pub(crate) uri_doc: Bytes,
    pub(crate) ecs_doc: Bytes,
}

#[derive(Default)]
struct RetryState {
    failures: u32,
    retry_at: Option<i64>,
}

pub(crate) struct Inner {
    pub(crate) uri_path: String,
    pub(crate) schedule: Schedule,
    clock: Arc<dyn Clock>,
    control: control::ControlPlane,
    credentials_dir: PathBuf,
    publish: Publisher,
    current: RwLock<Option<Arc<Served>>>,
    refresh_lock: tokio::sync::Mutex<()>,
    retry: Mutex<RetryState>,
    wake: Notify,
    rotations: AtomicU64,
    ecs_tokens: Mutex<EcsTokens>,
}

impl Inner {
    pub(crate) fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The set being served (a reference-count bump under a briefly held read lock).
    pub(crate) fn current(&self) -> Option<Arc<Served>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn install(&self, served: Served) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(served));
    }

    fn retry_state(&self) -> std::sync::MutexGuard<'_, RetryState> {
        self.retry.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn issue_ecs_token(&self, now: i64, ttl_secs: i64) -> String {
        let token = hex(&random_bytes::<16>());
        self.ecs_tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), now + ttl_secs * 1000, now);
        token
    }

    pub(crate) fn check_ecs_token(&self, token: &[u8], now: i64) -> bool {
        self.ecs_tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .valid(token, now)
    }

    fn served_from(&self, set: &Credentials, fetched_at: i64, refresh_at: i64) -> Served {
        Served {
            access_key_id: set.access_key_id.clone(),
            role_name: set
                .role_name
                .clone()
                .unwrap_or_else(|| DEFAULT_ROLE_NAME.to_string()),
            expires_at_ms: set.expiration.saturating_mul(1000),
            refresh_at_ms: refresh_at,
            uri_doc: creds::uri_document(set),
            ecs_doc: creds::ecs_document(set, fetched_at.div_euclid(1000)),
        }
    }

    /// Fetches a new set, writes the file, then serves it. With `force == false` it first checks
    /// (under the refresh lock) that a refresh is still due, so a concurrent forced refresh is not
    /// repeated; returns `Ok(None)` then.
    async fn refresh(self: &Arc<Self>, force: bool) -> Result<Option<Rotation>, AgentError> {
        let _guard = self.refresh_lock.lock().await;
        if !force {
            let refresh_at = self.current().map(|s| s.refresh_at_ms);
            let retry_at = self.retry_state().retry_at;
            if schedule::next_attempt(refresh_at, retry_at, self.now_millis()) > self.now_millis() {
                return Ok(None);
            }
        }
        let result = self.fetch_and_install().await;
        let mut retry = self.retry_state();
        match &result {
            Ok(_) => *retry = RetryState::default(),
            Err(_) => {
                retry.failures = retry.failures.saturating_add(1);
                let delay = self.schedule.retry_delay(retry.failures, random_unit());
                retry.retry_at = Some(self.now_millis() + delay);
            }
        }
        let failures = retry.failures;
        let retry_at = retry.retry_at;
        drop(retry);
        if let Err(e) = &result {
            self.log_failure(e, failures, retry_at);
        }
        self.wake.notify_one();
        result.map(Some)
    }

    fn log_failure(&self, error: &AgentError, attempt: u32, retry_at: Option<i64>) {
        let retry_in_ms = retry_at.map_or(0, |at| (at - self.now_millis()).max(0));
        match self.current() {
            Some(s) => tracing::warn!(
                attempt,
                retry_in_ms,
                access_key_id = %s.access_key_id,
                expiration = %timefmt::format_utc(s.expires_at_ms.div_euclid(1000)),
                error = %error,
                "refresh failed; still serving the previous set"
            ),
            None => tracing::warn!(
                attempt,
                retry_in_ms,
                error = %error,
                "refresh failed; nothing to serve yet"
            ),
        }
    }

    async fn fetch_and_install(self: &Arc<Self>) -> Result<Rotation, AgentError> {
        let creds = self.control.fetch().await?;
        let now = self.now_millis();
        let expires_at = creds.expiration.saturating_mul(1000);
        if self.schedule.freshness(now, expires_at) == Freshness::Expired {
            return Err(AgentError::InvalidAnswer(format!(
                "the set `{}` expired at {}",
                creds.access_key_id,
                timefmt::format_utc(creds.expiration)
            )));
        }
        let refresh_at = self.schedule.refresh_at(now, expires_at, random_unit());
        self.publish_and_serve(&creds, now, refresh_at).await
    }

    /// The invariant's one place: writes the file (fsync, rename, fsync dir), and only once that
    /// succeeded swaps the served set. On failure the previous set stays served.
    async fn publish_and_serve(
        &self,
        creds: &Credentials,
        now: i64,
        refresh_at: i64,
    ) -> Result<Rotation, AgentError> {
        let previous = self.current().map(|s| s.access_key_id.clone());
        if previous.as_deref() == Some(creds.access_key_id.as_str()) {
            // pyodps ignores a rotation that keeps the AccessKeyId.
            tracing::warn!(
                access_key_id = %creds.access_key_id,
                "the control plane returned the same AccessKeyId again"
            );
        }
        let served = self.served_from(creds, now, refresh_at);
        let doc = served.uri_doc.clone();
        let (dir, publish) = (self.credentials_dir.clone(), self.publish.clone());
        let written = tokio::task::spawn_blocking(move || publish(&dir, &doc))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r);
        if let Err(source) = written {
            tracing::warn!(
                access_key_id = %creds.access_key_id,
                still_serving = %previous.as_deref().unwrap_or("nothing"),
                dir = %self.credentials_dir.display(),
                error = %source,
                "cannot publish the credentials file; the new set is not served"
            );
            return Err(AgentError::File {
                dir: self.credentials_dir.clone(),
                source,
            });
        }
        // The file holds the new set: only now may the endpoints serve it.
        self.install(served);
        self.rotations.fetch_add(1, Ordering::SeqCst);
        tracing::info!(
            access_key_id = %creds.access_key_id,
            expiration = %timefmt::format_utc(creds.expiration),
            next_refresh = %timefmt::format_utc(refresh_at.div_euclid(1000)),
            "rotated credentials"
        );
        Ok(Rotation {
            access_key_id: creds.access_key_id.clone(),
            expiration: creds.expiration,
        })
    }

    /// Serves a set left by a previous run of the agent (e.g. after a crash) until the first
    /// fetch, if it has not expired; it is refreshed right away.
    fn adopt_existing_file(&self) {
        let path = file::path_in(&self.credentials_dir);
        let Ok(raw) = std::fs::read(&path) else {
            return;
        };
        let raw = keyless_secret::SecretBytes::new(raw);
        let Ok(creds) = creds::parse(raw.expose_secret()) else {
            return;
        };
        let now = self.now_millis();
        if self
            .schedule
            .freshness(now, creds.expiration.saturating_mul(1000))
            == Freshness::Expired
        {
            return;
        }
        self.install(self.served_from(&creds, now, now));
        tracing::info!(
            access_key_id = %creds.access_key_id,
            expiration = %timefmt::format_utc(creds.expiration),
            "serving the previous run's set until the first refresh"
        );
    }
}

/// Keeps the set fresh: sleeps until the next attempt is due, refreshes, backs off on failure.
async fn refresher(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let now = inner.now_millis();
        let refresh_at = inner.current().map(|s| s.refresh_at_ms);
        let retry_at = inner.retry_state().retry_at;
        let due = schedule::next_attempt(refresh_at, retry_at, now);
        if due > now {
            let wait = Duration::from_millis((due - now).min(MAX_SLEEP_MS) as u64);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = inner.wake.notified() => {}
                _ = shutdown.changed() => return,
            }
            continue;
        }
        // A failure is logged by `refresh` and retried on the next turn.
        let _ = inner.refresh(false).await;
    }
}

/// A running agent.
pub struct AgentHandle {
    inner: Arc<Inner>,
    addr: SocketAddr,
    ecs_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl AgentHandle {
    /// The bound address of the credentials URI (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound address of the ECS metadata endpoint, if enabled.
    pub fn ecs_metadata_addr(&self) -> Option<SocketAddr> {
        self.ecs_addr
    }

    /// The full credentials URI.
    pub fn credentials_uri(&self) -> String {
        format!("http://{}{}", self.addr, self.inner.uri_path)
    }

    /// Refreshes now, regardless of the schedule.
    pub async fn refresh_now(&self) -> Result<Rotation, AgentError> {
        match self.inner.refresh(true).await {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(AgentError::Config("refresh skipped".into())),
            Err(e) => Err(e),
        }
    }

    /// The AccessKeyId being served.
    pub fn current_access_key_id(&self) -> Option<String> {
        self.inner.current().map(|s| s.access_key_id.clone())
    }

    /// How many fetched sets have been published to the file and then served since start.
    pub fn rotations(&self) -> u64 {
        self.inner.rotations.load(Ordering::SeqCst)
    }

    /// Stops listening and refreshing.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, AgentError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| AgentError::Bind { addr, source })
}

/// Starts the agent inside the current tokio runtime: binds the listeners, adopts a previous
/// file's set if still valid, and starts refreshing. Returns once the listeners are bound (the
/// endpoint answers 503 `CredentialsNotReady` until the first set arrives).
pub async fn start(config: AgentConfig, options: Options) -> Result<AgentHandle, AgentError> {
    config.validate()?;
    let control = control::ControlPlane::new(&config.control_url, config.token_file.clone())?;
    std::fs::create_dir_all(&config.credentials_dir).map_err(|source| AgentError::File {
        dir: config.credentials_dir.clone(),
        source,
    })?;
    file::remove_leftovers(&config.credentials_dir);

    let listener = bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let ecs_listener = match config.ecs_metadata {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    let ecs_addr = match &ecs_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };

    let inner = Arc::new(Inner {
        uri_path: config.uri_path,
        schedule: config.schedule,
        clock: options.clock,
        control,
        credentials_dir: config.credentials_dir,
        publish: Arc::new(file::write_atomic),
        current: RwLock::new(None),
        refresh_lock: tokio::sync::Mutex::new(()),
        retry: Mutex::new(RetryState::default()),
        wake: Notify::new(),
        rotations: AtomicU64::new(0),
        ecs_tokens: Mutex::new(EcsTokens::default()),
    });
    inner.adopt_existing_file();

    let (shutdown, rx) = watch::channel(false);
    let mut tasks = vec![
        tokio::spawn(serve::serve(listener, inner.clone(), Kind::Uri, rx.clone())),
        tokio::spawn(refresher(inner.clone(), rx.clone())),
    ];
    if let Some(l) = ecs_listener {
        tasks.push(tokio::spawn(serve::serve(l, inner.clone(), Kind::Ecs, rx)));
    }
    match ecs_addr {
        Some(ecs) => tracing::info!(listen = %addr, ecs_metadata = %ecs, "listening"),
        None => tracing::info!(listen = %addr, "listening"),
    }
    Ok(AgentHandle {
        inner,
        addr,
        ecs_addr,
        shutdown,
        tasks,
    })
}

/// Runs the agent until SIGTERM or SIGINT (the `keyless agent` command). Prints the log to
/// stderr ([`LogFormat`]) unless the process already has a `tracing` subscriber.
pub fn run_blocking(config: AgentConfig) -> Result<(), AgentError> {
    log::init_stderr();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let handle = start(config, Options::default()).await?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("stopping");
        handle.shutdown().await;
        Ok(())
    })
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if getrandom::getrandom(&mut b).is_err() {
        // Only jitter and metadata tokens use this; fall back to the clock's low bits.
        let t = SystemClock.now_millis().to_le_bytes();
        for (i, x) in b.iter_mut().enumerate() {
            *x = t[i % t.len()] ^ (i as u8).wrapping_mul(31);
        }
    }
    b
}

/// A random number in `[0, 1)`.
fn random_unit() -> f64 {
    (u64::from_le_bytes(random_bytes::<8>()) >> 11) as f64 / (1u64 << 53) as f64
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::{OnceLock, Weak};

    const NOW: i64 = 1_795_843_216_000;

    type PublishedWhileServed = (String, Option<String>);

    struct FixedClock;

    impl Clock for FixedClock {
        fn now_millis(&self) -> i64 {
            NOW
        }
    }

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let p = std::env::temp_dir()
                .join(format!("keyless-agent-unit-{name}-{}", std::process::id()));
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

    fn inner(dir: &Path, publish: Publisher) -> Arc<Inner> {
        Arc::new(Inner {
            uri_path: "/c".into(),
            schedule: Schedule::default(),
            clock: Arc::new(FixedClock),
            // Never contacted: these tests hand sets to `publish_and_serve` directly.
            control: control::ControlPlane::new("http://127.0.0.1:9", dir.join("token")).unwrap(),
            credentials_dir: dir.to_path_buf(),
            publish,
            current: RwLock::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
            retry: Mutex::new(RetryState::default()),
            wake: Notify::new(),
            rotations: AtomicU64::new(0),
            ecs_tokens: Mutex::new(EcsTokens::default()),
        })
    }

    fn creds(n: u32) -> Credentials {
        let exp = timefmt::format_utc(NOW / 1000 + 3600);
        creds::parse(
            format!(
                r#"{{"Code":"Success","AccessKeyId":"STS.unit{n}","AccessKeySecret":"s{n}","SecurityToken":"t{n}","Expiration":"{exp}"}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    fn id_in(doc: &[u8]) -> String {
        let v: serde_json::Value = serde_json::from_slice(doc).unwrap();
        v["AccessKeyId"].as_str().unwrap().to_string()
    }

    fn served_id(inner: &Inner) -> Option<String> {
        inner.current().map(|s| s.access_key_id.clone())
    }

    /// While the file is being published, the endpoints still serve the previous set; once it
    /// is published, they serve the set the file holds. (Deterministic: the publisher itself
    /// looks at what is served at the moment it runs.)
    #[tokio::test]
    async fn the_file_is_published_before_the_set_is_served() {
        let dir = TempDir::new("order");
        let me: Arc<OnceLock<Weak<Inner>>> = Arc::default();
        // (the AccessKeyId being published, the one served meanwhile)
        let seen: Arc<Mutex<Vec<PublishedWhileServed>>> = Arc::default();
        let publish: Publisher = {
            let (me, seen) = (me.clone(), seen.clone());
            Arc::new(move |dir: &Path, doc: &[u8]| {
                let inner = me.get().and_then(Weak::upgrade).unwrap();
                seen.lock().unwrap().push((id_in(doc), served_id(&inner)));
                file::write_atomic(dir, doc)
            })
        };
        let inner = inner(&dir.0, publish);
        me.set(Arc::downgrade(&inner)).unwrap();

        for n in 0..3 {
            let r = inner
                .publish_and_serve(&creds(n), NOW, NOW + 1000)
                .await
                .unwrap();
            let served = inner.current().unwrap();
            assert_eq!(r.access_key_id, format!("STS.unit{n}"));
            assert_eq!(served.access_key_id, r.access_key_id);
            let on_disk = std::fs::read(file::path_in(&dir.0)).unwrap();
            assert_eq!(
                on_disk,
                served.uri_doc.as_ref(),
                "the file holds the served set"
            );
            assert_eq!(inner.rotations.load(Ordering::SeqCst), u64::from(n) + 1);
        }
        let seen = seen.lock().unwrap().clone();
        let expected = vec![
            ("STS.unit0".to_string(), None),
            ("STS.unit1".to_string(), Some("STS.unit0".to_string())),
            ("STS.unit2".to_string(), Some("STS.unit1".to_string())),
        ];
        assert_eq!(seen, expected, "(being published, served meanwhile)");
    }

    /// A set whose file cannot be published is never served: the previous one stays.
    #[tokio::test]
    async fn a_set_that_cannot_be_published_is_not_served() {
        let dir = TempDir::new("fail");
        let fail = Arc::new(AtomicBool::new(false));
        let publish: Publisher = {
            let fail = fail.clone();
            Arc::new(move |dir: &Path, doc: &[u8]| {
                if fail.load(Ordering::SeqCst) {
                    return Err(std::io::Error::from(std::io::ErrorKind::NotFound));
                }
                file::write_atomic(dir, doc)
            })
        };
        let inner = inner(&dir.0, publish);

        // Nothing served yet, and the first set cannot be published: still nothing.
        fail.store(true, Ordering::SeqCst);
        let err = inner
            .publish_and_serve(&creds(0), NOW, NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, AgentError::File { .. }), "{err:?}");
        assert_eq!(served_id(&inner), None);
        assert!(!file::path_in(&dir.0).exists());

        fail.store(false, Ordering::SeqCst);
        inner.publish_and_serve(&creds(1), NOW, NOW).await.unwrap();
        fail.store(true, Ordering::SeqCst);
        let err = inner
            .publish_and_serve(&creds(2), NOW, NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, AgentError::File { .. }), "{err:?}");
        assert_eq!(served_id(&inner).as_deref(), Some("STS.unit1"));
        assert_eq!(
            id_in(&std::fs::read(file::path_in(&dir.0)).unwrap()),
            "STS.unit1"
        );
        assert_eq!(inner.rotations.load(Ordering::SeqCst), 1);
    }
}
