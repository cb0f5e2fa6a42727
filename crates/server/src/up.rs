//! `keyless up`: open the data dir, bootstrap the first account, load (or create) and rotate the
//! STS key ring, start every listener, publish `endpoints.env`, and shut down cleanly on
//! SIGINT/SIGTERM.

use keyless_http::{serve, Handler};
use keyless_platform::audit::Auditor;
use keyless_platform::clock::{Clock, SystemClock};
use keyless_platform::ids;
use keyless_platform::state::{Config, State};
use keyless_ram::Ram;
use keyless_rpc::RpcHandler;
use keyless_store::{AccessKey, KeyStatus, SqliteStore, Store};
use keyless_sts::Sts;
use keyless_token::{KeyRing, DEFAULT_MAX_TOKEN_LIFETIME_SECS, KEY_LEN};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Options of `keyless up`.
#[derive(Clone, Debug)]
pub struct UpOptions {
    pub data_dir: PathBuf,
    pub host: String,
    /// Base port: RAM on `port`, STS on `port + 1`; 0 takes ephemeral ports.
    pub port: u16,
    pub config: Config,
    /// Seconds added to the system clock (tests of expiry only; 0 in normal use).
    pub clock_offset_secs: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error("data dir `{0}`: {1}")]
    DataDir(String, std::io::Error),
    #[error("store: {0}")]
    Store(#[from] keyless_store::StoreError),
    #[error("cannot listen on `{0}`: {1}")]
    Bind(String, std::io::Error),
    #[error("the OS random source failed")]
    Random,
    #[error("the key ring file is corrupt: {0}")]
    Ring(String),
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    #[error("object store: {0}")]
    Objects(String),
    #[error("bootstrap: {0}")]
    Bootstrap(String),
}

/// What `up` publishes once every listener accepts connections.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub account_id: String,
    pub region: String,
    pub access_key_id: String,
    pub ram: SocketAddr,
    pub sts: SocketAddr,
    pub eas: SocketAddr,
    pub oss: SocketAddr,
    pub maxcompute: SocketAddr,
    pub workspace: keyless_eas::workspace::Workspace,
}

fn bootstrap(store: &dyn Store, now: i64) -> Result<(String, AccessKey), UpError> {
    let account = match store.list_accounts()?.into_iter().next() {
        Some(a) => a,
        None => store.create_account(&ids::account_id().map_err(|_| UpError::Random)?, now)?,
    };
    let keys = store.list_access_keys(&account.account_id, None)?;
    let key = match keys.into_iter().find(|k| k.status == KeyStatus::Active) {
        Some(k) => k,
        None => {
            let k = AccessKey {
                access_key_id: ids::access_key_id().map_err(|_| UpError::Random)?,
                account_id: account.account_id.clone(),
                user_name: None,
                secret: ids::access_key_secret().map_err(|_| UpError::Random)?,
                status: KeyStatus::Active,
                created_at: now,
            };
            store.create_access_key(&k)?;
            k
        }
    };
    Ok((account.account_id, key))
}

fn fresh_key() -> Result<[u8; KEY_LEN], UpError> {
    let mut k = [0u8; KEY_LEN];
    ids::random_bytes(&mut k).map_err(|_| UpError::Random)?;
    Ok(k)
}

/// Loads the key ring from `path` (mode 0600), creating it on first start, and rotates it if due.
pub fn load_ring(path: &Path, now: i64, rotation_secs: i64) -> Result<KeyRing, UpError> {
    let mut ring = match std::fs::read(path) {
        Ok(bytes) => KeyRing::from_bytes(&bytes).map_err(|e| UpError::Ring(e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let r = KeyRing::new(fresh_key()?, now);
            keyless_wire::fs::write_atomic(path, r.to_bytes().expose_secret())
                .map_err(|e| UpError::DataDir(path.display().to_string(), e.into()))?;
            r
        }
        Err(e) => return Err(UpError::DataDir(path.display().to_string(), e)),
    };
    if ring.rotate_if_due(
        now,
        rotation_secs,
        DEFAULT_MAX_TOKEN_LIFETIME_SECS,
        fresh_key()?,
    ) {
        keyless_wire::fs::write_atomic(path, ring.to_bytes().expose_secret())
            .map_err(|e| UpError::DataDir(path.display().to_string(), e.into()))?;
    }
    Ok(ring)
}

fn env_file(e: &Endpoints, secret: &str) -> String {
    format!(
        "# written by `keyless up`; removed at start-up, rewritten once every listener accepts connections\n\
         KEYLESS_ACCOUNT_ID={}\nKEYLESS_REGION={}\nKEYLESS_ACCESS_KEY_ID={}\nKEYLESS_ACCESS_KEY_SECRET={}\n\
         KEYLESS_RAM_ENDPOINT={}\nKEYLESS_STS_ENDPOINT={}\nKEYLESS_EAS_ENDPOINT={}\nKEYLESS_OSS_ENDPOINT={}\n\
         KEYLESS_MAXCOMPUTE_ENDPOINT=http://{}/api\nKEYLESS_WORKSPACE_ID={}\nKEYLESS_OSS_BUCKET={}\n\
         KEYLESS_MAXCOMPUTE_PROJECT={}\n",
        e.account_id,
        e.region,
        e.access_key_id,
        secret,
        e.ram,
        e.sts,
        e.eas,
        e.oss,
        e.maxcompute,
        e.workspace.id,
        e.workspace.bucket,
        e.workspace.project
    )
}

async fn bind(host: &str, port: u16) -> Result<TcpListener, UpError> {
    let addr = format!("{host}:{port}");
    TcpListener::bind(&addr)
        .await
        .map_err(|e| UpError::Bind(addr, e))
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

/// Runs `keyless up` in the foreground until SIGINT/SIGTERM.
pub fn run(opts: UpOptions) -> Result<(), UpError> {
    std::fs::create_dir_all(&opts.data_dir)
        .map_err(|e| UpError::DataDir(opts.data_dir.display().to_string(), e))?;
    // Absolute from here on: instances run with other working directories and mount namespaces,
    // and the runner refuses relative paths.
    let abs = std::fs::canonicalize(&opts.data_dir)
        .map_err(|e| UpError::DataDir(opts.data_dir.display().to_string(), e))?;
    let dd = &abs;
    let _ = std::fs::set_permissions(dd, std::fs::Permissions::from_mode(0o700));
    let env_path = dd.join("endpoints.env");
    match std::fs::remove_file(&env_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(UpError::DataDir(env_path.display().to_string(), e)),
    }
    let clock: Arc<dyn Clock> = if opts.clock_offset_secs == 0 {
        Arc::new(SystemClock)
    } else {
        tracing::warn!(
            clock_offset_secs = opts.clock_offset_secs,
            "clock offset (testing only)"
        );
        Arc::new(keyless_platform::clock::OffsetClock(opts.clock_offset_secs))
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dd)?);
    let (account_id, root) = bootstrap(&*store, clock.now())?;
    let ring_path = dd.join("sts-keyring");
    let ring = load_ring(&ring_path, clock.now(), opts.config.key_rotation_secs)?;
    let audit = Auditor::start(store.clone());
    let state = Arc::new(State::new(
        store,
        clock.clone(),
        opts.config.clone(),
        ring,
        audit,
    ));
    let objects = dd.join("objects");
    let backend: Arc<dyn keyless_objstore::Backend> = Arc::new(
        keyless_objstore::FsBackend::open_with(
            &objects,
            keyless_objstore::FsOptions {
                // The server's clock (so `--clock-offset-secs` moves object times too).
                clock: clock.clone(),
                ..Default::default()
            },
        )
        .map_err(|e| UpError::Objects(e.to_string()))?,
    );
    let workspace = keyless_eas::workspace::ensure_default(&state, &account_id)
        .map_err(|e| UpError::Bootstrap(e.message))?;
    keyless_oss::ensure_bucket(
        &*backend,
        &account_id,
        &workspace.bucket,
        &opts.config.region,
    )
    .map_err(|e| UpError::Bootstrap(e.message))?;
    keyless_maxcompute::ensure_project(&state, &account_id, &workspace.project)
        .map_err(|e| UpError::Bootstrap(e.message))?;
    let runner: Arc<dyn keyless_runner::Runner> = Arc::new(keyless_runner::ProcessRunner::new(
        keyless_eas::event_sink(state.clone()),
    ));
    let exe =
        std::env::current_exe().map_err(|e| UpError::DataDir("current executable".into(), e))?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(UpError::Runtime)?;
    let result = rt.block_on(async {
        let next = |n: u16| if opts.port == 0 { 0 } else { opts.port.saturating_add(n) };
        let ram_l = bind(&opts.host, next(0)).await?;
        let sts_l = bind(&opts.host, next(1)).await?;
        let eas_l = bind(&opts.host, next(2)).await?;
        let oss_l = bind(&opts.host, next(3)).await?;
        let odps_l = bind(&opts.host, next(4)).await?;
        let addr = |l: &TcpListener, what: &str| l.local_addr().map_err(|e| UpError::Bind(what.into(), e));
        let ram_addr = addr(&ram_l, "ram")?;
        let sts_addr = addr(&sts_l, "sts")?;
        let eas_addr = addr(&eas_l, "eas")?;
        let oss_addr = addr(&oss_l, "oss")?;
        let odps_addr = addr(&odps_l, "maxcompute")?;
        let platform = Arc::new(keyless_eas::Platform {
            state: state.clone(),
            backend: backend.clone(),
            runner: runner.clone(),
            data_dir: dd.clone(),
            exe: exe.clone(),
            control_url: format!("http://{eas_addr}"),
            oss_endpoint: oss_addr.to_string(),
            maxcompute_endpoint: format!("http://{odps_addr}/api"),
            sts_endpoint: sts_addr.to_string(),
        });
        let (tx, rx) = watch::channel(false);
        let ram: Arc<dyn Handler> = Arc::new(RpcHandler { state: state.clone(), product: Ram });
        let sts: Arc<dyn Handler> = Arc::new(RpcHandler { state: state.clone(), product: Sts });
        let grace = Duration::from_secs(5);
        let eas = keyless_eas::handler(platform.clone());
        let oss = keyless_oss::handler(state.clone(), backend.clone());
        let odps = keyless_maxcompute::handler(state.clone());
        let servers = vec![
            tokio::spawn(serve(ram_l, ram, rx.clone(), grace)),
            tokio::spawn(serve(sts_l, sts, rx.clone(), grace)),
            tokio::spawn(serve(eas_l, eas, rx.clone(), grace)),
            tokio::spawn(serve(oss_l, oss, rx.clone(), grace)),
            tokio::spawn(serve(odps_l, odps, rx.clone(), grace)),
        ];
        // Services that were running before this start come back.
        let resume_platform = platform.clone();
        let _ = tokio::task::spawn_blocking(move || keyless_eas::resume(&resume_platform)).await;
        // Rotate the sealing keys while running.
        let rot_state = state.clone();
        let rot_path = ring_path.clone();
        let mut rot_rx = rx.clone();
        let rotation = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(60)) => {},
                    _ = rot_rx.changed() => return,
                }
                rotate_now(&rot_state, &rot_path);
            }
        });
        let ep = Endpoints {
            account_id: account_id.clone(),
            region: opts.config.region.clone(),
            access_key_id: root.access_key_id.clone(),
            ram: ram_addr,
            sts: sts_addr,
            eas: eas_addr,
            oss: oss_addr,
            maxcompute: odps_addr,
            workspace: workspace.clone(),
        };
        keyless_wire::fs::write_atomic(&env_path, env_file(&ep, root.secret.expose_secret()).as_bytes())
            .map_err(|e| UpError::DataDir(env_path.display().to_string(), e.into()))?;
        println!("keyless is up (account {account_id}, region {})", ep.region);
        println!("  RAM         {ram_addr}\n  STS         {sts_addr}\n  EAS         {eas_addr}\n  OSS         {oss_addr}\n  MaxCompute  http://{odps_addr}/api");
        println!("  workspace {} (bucket {}, project {})", workspace.id, workspace.bucket, workspace.project);
        println!("  endpoints and the root AccessKey: {}", env_path.display());
        println!("  next: `{exe} demo --data-dir {dd}` runs the whole scenario (role, objects, a service", exe = exe.display(), dd = dd.display());
        println!("        reading OSS with its role, the trust-policy failure and its fix);");
        println!("        `set -a; source {}; set +a` exports them for the official SDKs;", env_path.display());
        println!("        `{} logs <service> --data-dir {}` shows a service's output. Ctrl-C stops everything.", exe.display(), dd.display());
        shutdown_signal().await;
        println!("keyless: shutting down");
        let _ = tx.send(true);
        for s in servers {
            let _ = s.await;
        }
        let _ = rotation.await;
        let r = runner.clone();
        let _ = tokio::task::spawn_blocking(move || r.shutdown()).await;
        Ok::<(), UpError>(())
    });
    state.audit().shutdown();
    let _ = std::fs::remove_file(&env_path);
    result
}

fn rotate_now(state: &State, path: &Path) {
    let Ok(key) = fresh_key() else { return };
    let now = state.clock().now();
    let mut ring = (*state.ring()).clone();
    if ring.rotate_if_due(
        now,
        state.config().key_rotation_secs,
        DEFAULT_MAX_TOKEN_LIFETIME_SECS,
        key,
    ) {
        match keyless_wire::fs::write_atomic(path, ring.to_bytes().expose_secret()) {
            Ok(()) => state.set_ring(ring),
            Err(e) => tracing::error!(error = %e, "cannot persist the rotated key ring"),
        }
    }
}
