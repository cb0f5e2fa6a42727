//! Deployments, in background threads: resolve and assume the role, fill the OSS mounts with the
//! role's permissions, install `pythonRequirements` into a per-service virtualenv, then hand each
//! instance to the runner with its own agent token. Every step writes an event; a newer request
//! for the same service (another generation) makes an older deployment stop where it is.
//!
//! Layout under the data dir: `services/<account>/<name>/` holds `service.log`, `venv/`, and per
//! instance `<i>/` with `agent.token` (0600), `creds/` (the agent writes `credentials` there; bound
//! at `/etc/ram`), `mounts/<k>/` and `work/`.

use super::record::{self, Instance, RoleKind, Service};
use super::roles::{self, RoleSession};
use super::spec::{self, OssMount, ServiceSpec};
use super::Platform;
use keyless_objstore::{ListRequest, ObjectMeta};
use keyless_runner::{AgentSpec, BindMount, InstanceSpec};
use keyless_secret::SecretString;
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most objects one OSS mount may copy, and most bytes.
const MAX_MOUNT_OBJECTS: usize = 10_000;
const MAX_MOUNT_BYTES: u64 = 2 << 30;
/// How long `python3 -m venv` and `pip install` may take.
const VENV_TIMEOUT: Duration = Duration::from_secs(180);
const PIP_TIMEOUT: Duration = Duration::from_secs(900);

/// Why a deployment ended early.
enum Halt {
    /// A newer request (or a deletion) took over: leave the record alone.
    Superseded,
    Failed {
        reason: &'static str,
        message: String,
    },
}

fn failed(reason: &'static str, message: impl Into<String>) -> Halt {
    Halt::Failed {
        reason,
        message: message.into(),
    }
}

/// The service's directory on the host.
pub fn service_dir(p: &Platform, account: &str, name: &str) -> PathBuf {
    p.data_dir.join("services").join(account).join(name)
}

/// One lock per service directory: deployments and clean-ups of a service never overlap.
fn service_lock(dir: &Path) -> Arc<Mutex<()>> {
    static LOCKS: Mutex<Option<HashMap<PathBuf, Arc<Mutex<()>>>>> = Mutex::new(None);
    let mut g = LOCKS.lock().unwrap_or_else(|p| p.into_inner());
    g.get_or_insert_with(HashMap::new)
        .entry(dir.to_path_buf())
        .or_default()
        .clone()
}

/// Runs the deployment of generation `generation` in a background thread.
pub fn spawn(p: &Arc<Platform>, account: &str, name: &str, generation: u64) {
    let (p2, a, n) = (p.clone(), account.to_owned(), name.to_owned());
    let spawned = std::thread::Builder::new()
        .name(format!("eas-deploy-{name}"))
        .spawn(move || deploy(&p2, &a, &n, generation));
    if let Err(e) = spawned {
        tracing::error!(service_name = name, error = %e, "eas: cannot start the deployment thread");
        fail(
            p,
            account,
            name,
            generation,
            "InternalError",
            "the deployment could not be started",
        );
    }
}

/// Deploys generation `generation` of `account/name` (blocking).
pub fn deploy(p: &Platform, account: &str, name: &str, generation: u64) {
    let dir = service_dir(p, account, name);
    let lock = service_lock(&dir);
    let _g = lock.lock().unwrap_or_else(|p| p.into_inner());
    match run(p, account, name, generation, &dir) {
        Ok(()) | Err(Halt::Superseded) => {}
        Err(Halt::Failed { reason, message }) => {
            fail(p, account, name, generation, reason, &message)
        }
    }
}

fn fail(p: &Platform, account: &str, name: &str, generation: u64, reason: &str, message: &str) {
    let state = &p.state;
    let Ok(Some(s)) = record::get(state, account, name) else {
        return;
    };
    if s.generation != generation {
        return;
    }
    p.runner.stop_service(&s.id);
    let _ = record::revoke_instances(state, account, name);
    record::event(state, &s.id, true, reason, message);
    record::update_if_current(state, account, name, generation, |s| {
        s.status = "Failed".into();
        s.reason = reason.to_owned();
        s.message = message.to_owned();
        s.started_instances = 0;
    });
}

fn current(p: &Platform, account: &str, name: &str, generation: u64) -> Result<Service, Halt> {
    match record::get(&p.state, account, name) {
        Ok(Some(s)) if s.generation == generation => Ok(s),
        _ => Err(Halt::Superseded),
    }
}

fn mkdir_private(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

fn io_fail(what: &str) -> impl Fn(std::io::Error) -> Halt + '_ {
    move |e| {
        tracing::error!(what, error = %e, "eas: deployment step failed");
        failed(
            "InternalError",
            format!("the platform could not prepare {what}"),
        )
    }
}

fn run(p: &Platform, account: &str, name: &str, generation: u64, dir: &Path) -> Result<(), Halt> {
    let state = &p.state;
    let svc = current(p, account, name, generation)?;
    let sid = svc.id.clone();
    let config: serde_json::Value = serde_json::from_str(&svc.config)
        .map_err(|_| failed("InvalidConfig", "the stored service JSON does not parse"))?;
    let spec = spec::parse(&config).map_err(|e| failed("InvalidConfig", e.message))?;

    // Whatever ran before stops; its tokens stop working.
    p.runner.stop_service(&sid);
    let _ = record::revoke_instances(state, account, name);
    mkdir_private(dir).map_err(io_fail("the service directory"))?;
    record::event(
        state,
        &sid,
        false,
        "Deploying",
        &format!(
            "deploying version {} with {} instance(s)",
            svc.version, spec.instances
        ),
    );
    if let Some(img) = &spec.image {
        record::event(
            state,
            &sid,
            false,
            "ImageRecorded",
            &format!("image `{img}` is recorded, not pulled: instances run as local processes on this host"),
        );
    }

    // The role: resolved again (it may have changed in RAM), then assumed once as EAS.
    let resolved = roles::resolve(state, account, &spec, None).map_err(|e| {
        failed(
            "FailedAssumeRole",
            roles::assume_failure_message(&e.message),
        )
    })?;
    let r2 = resolved.clone();
    record::update_if_current(state, account, name, generation, move |s| {
        s.role_arn = r2.arn.clone();
        s.role_kind = r2.kind.clone();
        s.session_policy = r2.session_policy.clone();
    });
    // The session the platform reads the service's mounts with (the same one it assumed).
    let mut platform_session = None;
    if resolved.kind != RoleKind::None {
        let issued = roles::assume(
            state,
            &resolved.arn,
            &roles::session_name(name, 0),
            resolved.session_policy.as_deref(),
        )
        .map_err(|e| {
            failed(
                "FailedAssumeRole",
                roles::assume_failure_message(&e.message),
            )
        })?;
        record::event(
            state,
            &sid,
            false,
            "RoleAssumed",
            &format!(
                "assumed role {} as {} (session credentials {} expire at {})",
                resolved.arn,
                roles::PAI_EAS_PRINCIPAL,
                issued.access_key_id,
                issued.expiration
            ),
        );
        if resolved.kind == RoleKind::Default {
            match &resolved.workspace {
                Some(w) => record::event(
                    state,
                    &sid,
                    false,
                    "DefaultRole",
                    &format!(
                        "PAI default role ({}): OSS access limited to bucket `{}` and MaxCompute to project `{}` of workspace {}",
                        roles::DEFAULT_ROLE_NAME, w.bucket, w.project, w.id
                    ),
                ),
                None => record::event(
                    state,
                    &sid,
                    true,
                    "DefaultRoleNoOss",
                    &format!(
                        "PAI default role ({}): no OSS access, because metadata.workspace_id is not set (the role may only reach the workspace's default bucket); MaxCompute only",
                        roles::DEFAULT_ROLE_NAME
                    ),
                ),
            }
        }
        platform_session = Some(issued);
    }

    // Instance directories, then the mounts (read with the role's permissions).
    for i in 0..spec.instances {
        let idir = dir.join(i.to_string());
        mkdir_private(&idir).map_err(io_fail("an instance directory"))?;
        let creds = idir.join("creds");
        let _ = std::fs::remove_dir_all(&creds);
        mkdir_private(&creds).map_err(io_fail("a credentials directory"))?;
        std::fs::create_dir_all(idir.join("work")).map_err(io_fail("a work directory"))?;
        let _ = std::fs::remove_dir_all(idir.join("mounts"));
    }
    if !spec.mounts.is_empty() {
        if resolved.kind == RoleKind::None {
            return Err(failed(
                "MountFailed",
                "OSS mounts are read with the service's RAM role: set options.enable_ram_role or role_arn",
            ));
        }
        let Some(issued) = &platform_session else {
            return Err(failed("MountFailed", "the service's role was not assumed"));
        };
        let session =
            RoleSession::new(state, issued).map_err(|e| failed("MountFailed", e.message))?;
        for m in &spec.mounts {
            current(p, account, name, generation)?;
            let objects = list_mount(p, &session, account, &resolved, m)?;
            let mut bytes = 0;
            let mut skipped = 0;
            for i in 0..spec.instances {
                let dest = dir
                    .join(i.to_string())
                    .join("mounts")
                    .join(m.index.to_string());
                let (b, s) = fill_mount(p, m, &objects, &dest)?;
                bytes = b;
                skipped = s;
            }
            let note = if skipped > 0 {
                format!(" ({skipped} key(s) that are not safe file names skipped)")
            } else {
                String::new()
            };
            record::event(
                state,
                &sid,
                false,
                "MountReady",
                &format!(
                    "storage[{}]: {} object(s), {bytes} bytes from {} ready at {}{note}",
                    m.index,
                    objects.len(),
                    m.uri,
                    m.mount_path
                ),
            );
        }
    }

    // Third-party Python libraries.
    let mut requirements = spec.requirements.clone();
    if let Some(path) = &spec.requirements_path {
        requirements.extend(read_requirements_file(dir, &spec, path)?);
    }
    let path_prefix = if requirements.is_empty() {
        None
    } else {
        record::event(
            state,
            &sid,
            false,
            "InstallingRequirements",
            &format!("pip install {}", requirements.join(" ")),
        );
        let cancelled = || current(p, account, name, generation).is_err();
        let bin = install_requirements(dir, &requirements, &cancelled)?;
        record::event(
            state,
            &sid,
            false,
            "RequirementsInstalled",
            &format!(
                "{} requirement(s) installed into the service's virtualenv",
                requirements.len()
            ),
        );
        Some(bin)
    };

    // The instances.
    for i in 0..spec.instances {
        current(p, account, name, generation)?;
        let (ispec, inst) = instance_spec(
            p,
            &svc,
            &spec,
            &resolved.kind,
            dir,
            i,
            generation,
            path_prefix.clone(),
        )?;
        record::put_instance(state, &inst).map_err(|e| failed("InternalError", e.message))?;
        if let Err(e) = p.runner.start(ispec) {
            return Err(failed(
                "InstanceFailed",
                format!("instance {}: {e}", inst.name),
            ));
        }
        record::event(
            state,
            &sid,
            false,
            "InstanceStarted",
            &format!("instance {} started", inst.name),
        );
    }
    current(p, account, name, generation)?;
    record::event(
        state,
        &sid,
        false,
        "Running",
        &format!("service is running: {} instance(s) started", spec.instances),
    );
    let n = spec.instances;
    if !record::update_if_current(state, account, name, generation, |s| {
        s.status = "Running".into();
        s.reason = String::new();
        s.message = "Service is running".into();
        s.started_instances = n;
    }) {
        return Err(Halt::Superseded);
    }
    Ok(())
}

/// Lists what mount `m` would copy, checking `oss:ListObjects` on the bucket and
/// `oss:GetObject` on every object as the role session.
fn list_mount(
    p: &Platform,
    session: &RoleSession,
    account: &str,
    resolved: &roles::Resolved,
    m: &OssMount,
) -> Result<Vec<ObjectMeta>, Halt> {
    let field = format!("storage[{}]", m.index);
    let info = p.backend.head_bucket(&m.bucket).map_err(|_| {
        failed(
            "MountFailed",
            format!("{field}: bucket `{}` of {} does not exist", m.bucket, m.uri),
        )
    })?;
    if info.owner != account {
        return Err(failed(
            "MountFailed",
            format!("{field}: bucket `{}` belongs to another account", m.bucket),
        ));
    }
    let why = || {
        if resolved.kind == RoleKind::Default && resolved.workspace.is_none() {
            " (the PAI default role has no OSS access without metadata.workspace_id)".to_owned()
        } else if resolved.kind == RoleKind::Default {
            " (the PAI default role may only read the workspace's default bucket)".to_owned()
        } else {
            String::new()
        }
    };
    let bucket_arn = format!("acs:oss:*:{}:{}", info.owner, m.bucket);
    if !session.allows("oss:ListObjects", &bucket_arn) {
        return Err(failed(
            "MountFailed",
            format!(
                "{field}: the role {} cannot read {}: oss:ListObjects on {bucket_arn} is not allowed{}",
                session.role_name(),
                m.uri,
                why()
            ),
        ));
    }
    let mut out: Vec<ObjectMeta> = Vec::new();
    let mut marker = String::new();
    let mut total: u64 = 0;
    loop {
        let page = p
            .backend
            .list_objects(
                &m.bucket,
                &ListRequest {
                    prefix: m.prefix.clone(),
                    delimiter: String::new(),
                    marker: marker.clone(),
                    max_keys: 1000,
                },
            )
            .map_err(|e| {
                failed(
                    "MountFailed",
                    format!("{field}: listing {} failed: {e}", m.uri),
                )
            })?;
        for o in page.objects {
            let arn = format!("acs:oss:*:{}:{}/{}", info.owner, m.bucket, o.key);
            if !session.allows("oss:GetObject", &arn) {
                return Err(failed(
                    "MountFailed",
                    format!(
                        "{field}: the role {} cannot read oss://{}/{}: oss:GetObject is not allowed{}",
                        session.role_name(),
                        m.bucket,
                        o.key,
                        why()
                    ),
                ));
            }
            total += o.size;
            out.push(o);
            if out.len() > MAX_MOUNT_OBJECTS || total > MAX_MOUNT_BYTES {
                return Err(failed(
                    "MountFailed",
                    format!("{field}: {} holds more than {MAX_MOUNT_OBJECTS} objects or {MAX_MOUNT_BYTES} bytes", m.uri),
                ));
            }
        }
        match (page.is_truncated, page.next_marker) {
            (true, Some(next)) => marker = next,
            _ => break,
        }
    }
    Ok(out)
}

/// A key's path below the prefix as safe relative components (no `.`/`..`/empty parts).
fn safe_relative(rel: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\0') {
            return None;
        }
        out.push(part);
    }
    Some(out)
}

/// Copies `objects` into `dest`; returns (bytes, keys skipped).
fn fill_mount(
    p: &Platform,
    m: &OssMount,
    objects: &[ObjectMeta],
    dest: &Path,
) -> Result<(u64, usize), Halt> {
    let _ = std::fs::remove_dir_all(dest);
    std::fs::create_dir_all(dest).map_err(io_fail("a mount directory"))?;
    let mut bytes = 0;
    let mut skipped = 0;
    for o in objects {
        let rel = o.key.get(m.prefix.len()..).unwrap_or("");
        if rel.is_empty() {
            continue;
        }
        let (rel, is_dir) = match rel.strip_suffix('/') {
            Some(d) => (d, true),
            None => (rel, false),
        };
        let Some(relpath) = safe_relative(rel) else {
            skipped += 1;
            continue;
        };
        let target = dest.join(relpath);
        if is_dir {
            std::fs::create_dir_all(&target).map_err(io_fail("a mount directory"))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io_fail("a mount directory"))?;
        }
        if target.is_dir() {
            skipped += 1;
            continue;
        }
        let got = p.backend.get_object(&m.bucket, &o.key, None).map_err(|e| {
            failed(
                "MountFailed",
                format!(
                    "storage[{}]: reading oss://{}/{} failed: {e}",
                    m.index, m.bucket, o.key
                ),
            )
        })?;
        let mut body = got.body;
        let mut f = std::fs::File::create(&target).map_err(io_fail("a mounted file"))?;
        bytes += std::io::copy(&mut body, &mut f).map_err(io_fail("a mounted file"))?;
    }
    Ok((bytes, skipped))
}

/// Reads `pythonRequirementsPath` from the (filled) mount of instance 0.
fn read_requirements_file(dir: &Path, spec: &ServiceSpec, path: &str) -> Result<Vec<String>, Halt> {
    let field = "containers[0].prepare.pythonRequirementsPath";
    let host = spec
        .mounts
        .iter()
        .find_map(|m| {
            let rel = spec::under_mount(path, &m.mount_path)?;
            let rel = safe_relative(rel)?;
            Some(
                dir.join("0")
                    .join("mounts")
                    .join(m.index.to_string())
                    .join(rel),
            )
        })
        .ok_or_else(|| {
            failed(
                "RequirementsFailed",
                format!("{field}: `{path}` is not under a storage mount"),
            )
        })?;
    let mut text = String::new();
    std::fs::File::open(&host)
        .and_then(|f| f.take(64 * 1024).read_to_string(&mut text))
        .map_err(|_| {
            failed(
                "RequirementsFailed",
                format!("{field}: `{path}` cannot be read"),
            )
        })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split(" #").next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('-') {
            return Err(failed(
                "RequirementsFailed",
                format!(
                    "{field}: line {} of `{path}` is a pip option, which is not accepted",
                    n + 1
                ),
            ));
        }
        out.push(line.to_owned());
    }
    Ok(out)
}

/// Runs `cmd` with stdout and stderr to `log`, killing it after `timeout` or when `cancelled`.
fn run_logged(
    mut cmd: Command,
    log: &Path,
    timeout: Duration,
    cancelled: &dyn Fn() -> bool,
) -> Result<(), String> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open the log: {e}"))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot open the log: {e}"))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("exited with {status}")),
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait: {e}")),
        }
        let over = start.elapsed() > timeout;
        if over || cancelled() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(if over {
                format!("timed out after {} s", timeout.as_secs())
            } else {
                "cancelled by a newer request".into()
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tail(log: &Path, max: usize) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(12);
    let t = lines.get(start..).unwrap_or_default().join("\n");
    let skip = t.chars().count().saturating_sub(max);
    t.chars().skip(skip).collect()
}

fn tool_env(cmd: &mut Command, home: &Path) {
    cmd.env_clear();
    cmd.env("HOME", home);
    cmd.env("PIP_NO_INPUT", "1");
    cmd.env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    for (k, v) in std::env::vars_os() {
        let Some(ks) = k.to_str() else { continue };
        let pass = matches!(
            ks,
            "PATH"
                | "LANG"
                | "LC_ALL"
                | "SSL_CERT_FILE"
                | "SSL_CERT_DIR"
                | "REQUESTS_CA_BUNDLE"
                | "HTTP_PROXY"
                | "HTTPS_PROXY"
                | "NO_PROXY"
                | "http_proxy"
                | "https_proxy"
                | "no_proxy"
        ) || (ks.starts_with("PIP_") && ks != "PIP_TARGET" && ks != "PIP_PREFIX");
        if pass {
            cmd.env(k, v);
        }
    }
}

/// Creates (or reuses) the service's virtualenv and installs `requirements`; returns its `bin`.
///
/// Note: pip may build source distributions, which runs their build code on this host with the
/// platform's privileges (outside the instance's isolation); see the crate docs.
fn install_requirements(
    dir: &Path,
    requirements: &[String],
    cancelled: &dyn Fn() -> bool,
) -> Result<PathBuf, Halt> {
    let venv = dir.join("venv");
    let bin = venv.join("bin");
    let marker = venv.join(".keyless-requirements.json");
    let wanted = serde_json::to_string(requirements).unwrap_or_default();
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) && bin.join("python").exists() {
        return Ok(bin);
    }
    let log = dir.join("pip.log");
    let _ = std::fs::remove_file(&log);
    if !bin.join("python").exists() {
        let mut cmd = Command::new("python3");
        cmd.arg("-m").arg("venv").arg(&venv).current_dir(dir);
        tool_env(&mut cmd, dir);
        run_logged(cmd, &log, VENV_TIMEOUT, cancelled).map_err(|e| {
            failed(
                "RequirementsFailed",
                format!("python3 -m venv {e}: {}", tail(&log, 1500)),
            )
        })?;
    }
    let _ = std::fs::remove_file(&marker);
    let mut cmd = Command::new(bin.join("python"));
    cmd.args([
        "-m",
        "pip",
        "install",
        "--no-input",
        "--disable-pip-version-check",
        "--prefer-binary",
    ])
    .args(requirements)
    .current_dir(dir);
    tool_env(&mut cmd, dir);
    run_logged(cmd, &log, PIP_TIMEOUT, cancelled).map_err(|e| {
        failed(
            "RequirementsFailed",
            format!("pip install {e}: {}", tail(&log, 1500)),
        )
    })?;
    let _ = std::fs::write(&marker, wanted);
    Ok(bin)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(n: usize) -> Result<String, Halt> {
    let mut b = vec![0u8; n];
    keyless_platform::ids::random_bytes(&mut b)
        .map_err(|_| failed("InternalError", "the random source failed"))?;
    Ok(hex(&b))
}

/// A free loopback port for an agent (bound, read, released).
fn free_port() -> Result<std::net::SocketAddr, Halt> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(io_fail("an agent port"))?;
    l.local_addr().map_err(io_fail("an agent port"))
}

#[allow(clippy::too_many_arguments)]
fn instance_spec(
    p: &Platform,
    svc: &Service,
    spec: &ServiceSpec,
    role: &RoleKind,
    dir: &Path,
    i: u32,
    generation: u64,
    path_prefix: Option<PathBuf>,
) -> Result<(InstanceSpec, Instance), Halt> {
    let idir = dir.join(i.to_string());
    let token = SecretString::new(random_hex(32)?);
    let token_file = idir.join("agent.token");
    keyless_wire::fs::write_atomic(&token_file, token.expose_secret().as_bytes())
        .map_err(std::io::Error::from)
        .map_err(io_fail("an agent token"))?;
    let listen = free_port()?;
    let agent = AgentSpec {
        exe: p.exe.clone(),
        control_url: p.control_url.clone(),
        token_file,
        listen,
        uri_path: format!("/credentials/{}", random_hex(16)?),
        ecs_metadata_listen: None,
    };
    let workdir = idir.join("work");
    let mut env: Vec<(String, String)> = spec.env.clone();
    let mut default = |k: &str, v: String| {
        if !env.iter().any(|(n, _)| n == k) {
            env.push((k.to_owned(), v));
        }
    };
    default(
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    );
    default("HOME", workdir.display().to_string());
    default("LANG", "C.UTF-8".into());
    default("PYTHONUNBUFFERED", "1".into());
    if let Some(port) = spec.port {
        default("LISTENING_PORT", port.to_string());
    }
    default("KEYLESS_OSS_ENDPOINT", p.oss_endpoint.clone());
    default("KEYLESS_MAXCOMPUTE_ENDPOINT", p.maxcompute_endpoint.clone());
    default("KEYLESS_STS_ENDPOINT", p.sts_endpoint.clone());
    default("KEYLESS_REGION", p.state.config().region.clone());
    if *role != RoleKind::None {
        env.push((
            "ALIBABA_CLOUD_CREDENTIALS_URI".into(),
            agent.credentials_uri(),
        ));
    }
    env.push(("ALIBABA_CLOUD_ECS_METADATA_DISABLED".into(), "true".into()));
    env.push(("NO_PROXY".into(), "127.0.0.1,localhost".into()));
    env.push(("no_proxy".into(), "127.0.0.1,localhost".into()));
    let mounts = spec
        .mounts
        .iter()
        .map(|m| BindMount {
            source: idir.join("mounts").join(m.index.to_string()),
            target: PathBuf::from(&m.mount_path),
            read_only: m.read_only,
        })
        .collect();
    let instance = format!("{}-{i}", svc.name);
    let ispec = InstanceSpec {
        service: svc.id.clone(),
        instance: instance.clone(),
        command: spec.command.clone(),
        env,
        workdir,
        mounts,
        credentials_dir: idir.join("creds"),
        path_prefix,
        hidden: vec![p.data_dir.clone()],
        log_path: dir.join("service.log"),
        agent,
    };
    let inst = Instance {
        account: svc.account.clone(),
        service: svc.name.clone(),
        service_id: svc.id.clone(),
        index: i,
        name: instance,
        generation,
        token_sha256: super::agent::token_hash(token.expose_secret()),
        created_at: p.state.clock().now(),
    };
    Ok((ispec, inst))
}

/// After a stop or a deletion: waits for any deployment in flight, then stops the runner again
/// and removes what the instances left (credentials; for a deletion, the whole directory).
pub fn spawn_cleanup(p: &Arc<Platform>, svc: Service, deleted: bool) {
    let p = p.clone();
    let _ = std::thread::Builder::new()
        .name(format!("eas-cleanup-{}", svc.name))
        .spawn(move || cleanup(&p, &svc, deleted));
}

fn cleanup(p: &Platform, svc: &Service, deleted: bool) {
    let dir = service_dir(p, &svc.account, &svc.name);
    let lock = service_lock(&dir);
    let _g = lock.lock().unwrap_or_else(|p| p.into_inner());
    let now = record::get(&p.state, &svc.account, &svc.name)
        .ok()
        .flatten();
    let still_ours = match &now {
        // Deleted: unless a new service of that name exists.
        None => deleted,
        // Stopped: unless it was started again since.
        Some(s) => !deleted && s.id == svc.id && s.generation == svc.generation,
    };
    if !still_ours {
        return;
    }
    p.runner.stop_service(&svc.id);
    if deleted {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path().join("creds").join("credentials"));
                let _ = std::fs::remove_file(e.path().join("agent.token"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::io::Write;

    #[test]
    fn relative_keys() {
        assert_eq!(safe_relative("a/b.py"), Some(PathBuf::from("a/b.py")));
        for bad in ["../x", "a//b", "a/./b", "/abs", ""] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(super::super::agent::token_hash("").len(), 64);
        assert_ne!(
            super::super::agent::token_hash("a"),
            super::super::agent::token_hash("b")
        );
    }

    #[test]
    fn log_tails_are_bounded() {
        let dir = std::env::temp_dir().join(format!("keyless-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let mut f = std::fs::File::create(&log).unwrap();
        for i in 0..100 {
            writeln!(f, "line {i}").unwrap();
        }
        let t = tail(&log, 30);
        assert!(t.ends_with("line 99"));
        assert!(t.chars().count() <= 30);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
