//! The process runner: every instance is a real process tree (`unshare` → the namespace's init
//! shell → `/bin/sh -c <command>`) next to its credential agent (`keyless agent …`), both watched by
//! one supervising thread per instance.
//!
//! The supervising thread spawns both processes itself (so `setpriv --pdeathsig`, tied to the
//! spawning thread, kills them if the runner dies), polls them, restarts whichever exits (the
//! instance with exponential backoff, the agent at once and then with backoff), and on stop sends
//! SIGTERM to each process group, then SIGKILL after the grace period.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, kill_process_group, Pid, Signal};

use crate::backoff;
use crate::isolation::{self, Tools, CMD_VAR, PATH_VAR, SETUP_FAILED, STANDARD_PATH};
use crate::{
    EventSink, InstanceSpec, InstanceState, InstanceStatus, Runner, RunnerError, RunnerEvent,
};

/// Timing of supervision (defaults are the production values; tests shorten them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunnerConfig {
    /// First restart delay after a crash (1 s), doubling per consecutive crash.
    pub backoff_initial: Duration,
    /// Cap of the restart delay (30 s).
    pub backoff_max: Duration,
    /// Uptime after which the crash count starts over (60 s).
    pub backoff_reset_after: Duration,
    /// Time between SIGTERM and SIGKILL on stop (5 s).
    pub stop_grace: Duration,
    /// How often the supervisor looks at its processes (100 ms).
    pub poll_interval: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            backoff_reset_after: Duration::from_secs(60),
            stop_grace: Duration::from_secs(5),
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// Runs instances as local processes.
pub struct ProcessRunner {
    shared: Arc<Shared>,
}

struct Shared {
    events: EventSink,
    config: RunnerConfig,
    tools: OnceLock<Result<Tools, String>>,
    slots: Mutex<BTreeMap<(String, String), Arc<Slot>>>,
    start_lock: Mutex<()>,
    closed: AtomicBool,
}

struct Slot {
    state: Mutex<SlotState>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct SlotState {
    status: InstanceStatus,
    stop: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn unix_now() -> i64 {
    use keyless_time::Clock as _;
    keyless_time::SystemClock.now()
}

impl ProcessRunner {
    pub fn new(events: EventSink) -> Self {
        Self::with_config(events, RunnerConfig::default())
    }

    /// A runner with custom timings.
    pub fn with_config(events: EventSink, config: RunnerConfig) -> Self {
        ProcessRunner {
            shared: Arc::new(Shared {
                events,
                config,
                tools: OnceLock::new(),
                slots: Mutex::new(BTreeMap::new()),
                start_lock: Mutex::new(()),
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// Checks (once, then cached) that instances can be isolated on this machine.
    pub fn check_isolation(&self) -> Result<(), RunnerError> {
        self.tools().map(|_| ())
    }

    fn tools(&self) -> Result<Tools, RunnerError> {
        self.shared
            .tools
            .get_or_init(isolation::probe)
            .clone()
            .map_err(RunnerError::Isolation)
    }

    fn stop_slots(slots: &[Arc<Slot>]) {
        for s in slots {
            lock(&s.state).stop = true;
            s.wake.notify_all();
        }
        for s in slots {
            let handle = lock(&s.thread).take();
            if let Some(h) = handle {
                let _ = h.join();
            }
        }
    }
}

impl Drop for ProcessRunner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Runner for ProcessRunner {
    fn start(&self, spec: InstanceSpec) -> Result<(), RunnerError> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(RunnerError::Unavailable(
                "the runner has been shut down".into(),
            ));
        }
        let tools = self.tools()?;
        let steps = isolation::steps(&spec, tools.setpriv.as_deref(), &|p| p.is_dir())?;
        let _serial = lock(&self.shared.start_lock);

        let key = (spec.service.clone(), spec.instance.clone());
        let previous = lock(&self.shared.slots).remove(&key);
        if let Some(old) = previous {
            Self::stop_slots(&[old]);
        }

        if let Some(parent) = spec.log_path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::create_dir_all(&spec.workdir)?;
        std::fs::create_dir_all(&spec.credentials_dir)?;

        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState {
                status: InstanceStatus {
                    instance: spec.instance.clone(),
                    state: InstanceState::Pending,
                    restart_count: 0,
                    started_at: None,
                    pid: None,
                    agent_pid: None,
                    last_exit: None,
                },
                stop: false,
            }),
            wake: Condvar::new(),
            thread: Mutex::new(None),
        });
        let (tx, rx) = mpsc::sync_channel(1);
        let supervisor = Supervisor {
            shared: self.shared.clone(),
            slot: slot.clone(),
            spec,
            tools,
            steps,
        };
        let handle = std::thread::Builder::new()
            .name(format!("runner-{}", key.1))
            .spawn(move || supervisor.run(tx))
            .map_err(|source| RunnerError::Spawn {
                what: "supervising thread".into(),
                source,
            })?;
        match rx.recv() {
            Ok(Ok(())) => {
                *lock(&slot.thread) = Some(handle);
                lock(&self.shared.slots).insert(key, slot);
                Ok(())
            }
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => {
                let _ = handle.join();
                Err(RunnerError::Unavailable(
                    "the supervising thread ended before starting the instance".into(),
                ))
            }
        }
    }

    fn stop_service(&self, service: &str) {
        let slots: Vec<Arc<Slot>> = lock(&self.shared.slots)
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|(_, slot)| slot.clone())
            .collect();
        Self::stop_slots(&slots);
    }

    fn status(&self, service: &str) -> Vec<InstanceStatus> {
        lock(&self.shared.slots)
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|(_, slot)| lock(&slot.state).status.clone())
            .collect()
    }

    fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        let slots: Vec<Arc<Slot>> = lock(&self.shared.slots).values().cloned().collect();
        Self::stop_slots(&slots);
    }
}

/// A running process and when it started.
struct Proc {
    child: Child,
    since: Instant,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A process that exited and when to start it again.
struct Down {
    crashes: u32,
    due: Instant,
    exit: String,
}

struct Supervisor {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    spec: InstanceSpec,
    tools: Tools,
    steps: Vec<OsString>,
}

fn describe(status: ExitStatus) -> String {
    status.to_string()
}

impl Supervisor {
    fn emit(&self, warning: bool, reason: &str, message: String) {
        (self.shared.events)(RunnerEvent {
            service: self.spec.service.clone(),
            instance: self.spec.instance.clone(),
            warning,
            reason: reason.to_string(),
            message,
        });
    }

    fn update(&self, f: impl FnOnce(&mut InstanceStatus)) {
        f(&mut lock(&self.slot.state).status);
    }

    /// Waits up to `d`; true when a stop was requested.
    fn wait_stop(&self, d: Duration) -> bool {
        let guard = lock(&self.slot.state);
        let (guard, _) = self
            .slot
            .wake
            .wait_timeout_while(guard, d, |s| !s.stop)
            .unwrap_or_else(|e| e.into_inner());
        guard.stop
    }

    fn log_file(&self) -> Result<(Stdio, Stdio), RunnerError> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.spec.log_path)?;
        let g: File = f.try_clone()?;
        Ok((Stdio::from(f), Stdio::from(g)))
    }

    fn spawn_agent(&self) -> Result<Proc, RunnerError> {
        let a = &self.spec.agent;
        let spawn_error = |source| RunnerError::Spawn {
            what: format!("{} agent", a.exe.display()),
            source,
        };
        // Behind `setpriv` a missing executable would only fail after the spawn: check first.
        if a.exe.components().count() > 1 {
            check_executable(&a.exe).map_err(spawn_error)?;
        }
        let mut argv: Vec<OsString> = Vec::new();
        if let Some(sp) = &self.tools.setpriv {
            argv.extend([
                sp.as_os_str().to_owned(),
                "--pdeathsig".into(),
                "TERM".into(),
                "--".into(),
            ]);
        }
        argv.push(a.exe.as_os_str().to_owned());
        argv.extend([
            "agent".into(),
            "--control-url".into(),
            OsString::from(&a.control_url),
            "--token-file".into(),
            a.token_file.as_os_str().to_owned(),
            "--listen".into(),
            OsString::from(a.listen.to_string()),
            "--path".into(),
            OsString::from(&a.uri_path),
            "--credentials-dir".into(),
            self.spec.credentials_dir.as_os_str().to_owned(),
        ]);
        if let Some(ecs) = a.ecs_metadata_listen {
            argv.extend(["--ecs-metadata".into(), OsString::from(ecs.to_string())]);
        }
        let (out, err) = self.log_file()?;
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .env_clear()
            .env("PATH", STANDARD_PATH)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(spawn_error)?;
        Ok(Proc {
            child,
            since: Instant::now(),
        })
    }

    fn spawn_instance(&self) -> Result<Proc, RunnerError> {
        let mut argv = isolation::instance_argv(&self.tools);
        argv.extend(self.steps.iter().cloned());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).env_clear();
        for (k, v) in &self.spec.env {
            if k != "PATH" && k != CMD_VAR && k != PATH_VAR {
                cmd.env(k, v);
            }
        }
        let (out, err) = self.log_file()?;
        let child = cmd
            .env("PATH", STANDARD_PATH)
            .env(PATH_VAR, isolation::instance_path(&self.spec))
            .env(CMD_VAR, &self.spec.command)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|source| RunnerError::Spawn {
                what: argv[0].to_string_lossy().into_owned(),
                source,
            })?;
        Ok(Proc {
            child,
            since: Instant::now(),
        })
    }

    fn fail(&self, e: &RunnerError) {
        let msg = e.to_string();
        self.update(|s| {
            s.state = InstanceState::Failed;
            s.last_exit = Some(msg);
        });
    }

    fn run(self, first: mpsc::SyncSender<Result<(), RunnerError>>) {
        let cfg = self.shared.config.clone();
        let mut agent = match self.spawn_agent() {
            Ok(p) => p,
            Err(e) => {
                self.fail(&e);
                let _ = first.send(Err(e));
                return;
            }
        };
        self.update(|s| s.agent_pid = Some(agent.pid()));
        self.emit(
            false,
            "AgentStarted",
            format!("credential agent started (pid {})", agent.pid()),
        );
        let instance = match self.spawn_instance() {
            Ok(p) => p,
            Err(e) => {
                terminate(&mut [(&mut agent.child, Stop::Group)], cfg.stop_grace);
                self.fail(&e);
                let _ = first.send(Err(e));
                return;
            }
        };
        self.update(|s| {
            s.state = InstanceState::Running;
            s.started_at = Some(unix_now());
            s.pid = Some(instance.pid());
        });
        self.emit(
            false,
            "InstanceStarted",
            format!("instance started (pid {})", instance.pid()),
        );
        let _ = first.send(Ok(()));

        let mut agent: Result<Proc, Down> = Ok(agent);
        let mut instance: Result<Proc, Down> = Ok(instance);
        let mut agent_crashes = 0u32;
        let mut instance_crashes = 0u32;
        while !self.wait_stop(cfg.poll_interval) {
            let now = Instant::now();

            // The agent: restarted at once after an exit, then with backoff if it keeps exiting.
            if let Ok(p) = &mut agent {
                if let Ok(Some(status)) = p.child.try_wait() {
                    agent_crashes = backoff::crashes_after_exit(
                        agent_crashes,
                        p.since.elapsed(),
                        cfg.backoff_reset_after,
                    );
                    let wait = if agent_crashes <= 1 {
                        Duration::ZERO
                    } else {
                        backoff::delay(agent_crashes - 1, cfg.backoff_initial, cfg.backoff_max)
                    };
                    self.update(|s| s.agent_pid = None);
                    agent = Err(Down {
                        crashes: agent_crashes,
                        due: now + wait,
                        exit: describe(status),
                    });
                }
            }
            if let Err(down) = &agent {
                if now >= down.due {
                    match self.spawn_agent() {
                        Ok(p) => {
                            let pid = p.pid();
                            self.update(|s| s.agent_pid = Some(pid));
                            self.emit(
                                true,
                                "AgentRestarted",
                                format!(
                                    "credential agent exited ({}); restarted (pid {pid})",
                                    down.exit
                                ),
                            );
                            agent = Ok(p);
                        }
                        Err(e) => {
                            let crashes = down.crashes.saturating_add(1);
                            self.emit(
                                true,
                                "FailedToStart",
                                format!("cannot restart the credential agent: {e}"),
                            );
                            agent_crashes = crashes;
                            agent = Err(Down {
                                crashes,
                                due: now
                                    + backoff::delay(crashes, cfg.backoff_initial, cfg.backoff_max),
                                exit: down.exit.clone(),
                            });
                        }
                    }
                }
            }

            // The instance: restarted with exponential backoff.
            if let Ok(p) = &mut instance {
                if let Ok(Some(status)) = p.child.try_wait() {
                    instance_crashes = backoff::crashes_after_exit(
                        instance_crashes,
                        p.since.elapsed(),
                        cfg.backoff_reset_after,
                    );
                    let wait =
                        backoff::delay(instance_crashes, cfg.backoff_initial, cfg.backoff_max);
                    let exit = describe(status);
                    self.update(|s| {
                        s.state = InstanceState::Restarting;
                        s.pid = None;
                        s.last_exit = Some(exit.clone());
                    });
                    let what = if status.code() == Some(SETUP_FAILED) {
                        "instance setup failed (see the service log)"
                    } else {
                        "instance exited"
                    };
                    self.emit(true, "InstanceExited", format!("{what}: {exit}"));
                    self.emit(
                        true,
                        "BackOff",
                        format!("back-off {} restarting failed instance", humanize(wait)),
                    );
                    instance = Err(Down {
                        crashes: instance_crashes,
                        due: now + wait,
                        exit,
                    });
                }
            }
            if let Err(down) = &instance {
                if now >= down.due {
                    match self.spawn_instance() {
                        Ok(p) => {
                            let pid = p.pid();
                            let mut count = 0;
                            self.update(|s| {
                                s.restart_count = s.restart_count.saturating_add(1);
                                count = s.restart_count;
                                s.state = InstanceState::Running;
                                s.started_at = Some(unix_now());
                                s.pid = Some(pid);
                            });
                            self.emit(
                                false,
                                "InstanceStarted",
                                format!("instance restarted (pid {pid}, restart {count})"),
                            );
                            instance = Ok(p);
                        }
                        Err(e) => {
                            let crashes = down.crashes.saturating_add(1);
                            instance_crashes = crashes;
                            let msg = e.to_string();
                            self.update(|s| s.last_exit = Some(msg));
                            self.emit(
                                true,
                                "FailedToStart",
                                format!("cannot restart the instance: {e}"),
                            );
                            instance = Err(Down {
                                crashes,
                                due: now
                                    + backoff::delay(crashes, cfg.backoff_initial, cfg.backoff_max),
                                exit: down.exit.clone(),
                            });
                        }
                    }
                }
            }
        }

        // Stop: the instance and the agent together.
        let mut children: Vec<(&mut Child, Stop)> = Vec::new();
        if let Ok(p) = &mut instance {
            children.push((&mut p.child, Stop::Namespace));
        }
        if let Ok(p) = &mut agent {
            children.push((&mut p.child, Stop::Group));
        }
        let statuses = terminate(&mut children, cfg.stop_grace);
        let exit = match &instance {
            Ok(_) => statuses.first().cloned().flatten(),
            Err(down) => Some(down.exit.clone()),
        };
        self.update(|s| {
            s.state = InstanceState::Stopped;
            s.pid = None;
            s.agent_pid = None;
            if exit.is_some() {
                s.last_exit = exit;
            }
        });
        self.emit(
            false,
            "InstanceStopped",
            "instance and credential agent stopped".into(),
        );
    }
}

fn check_executable(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)?;
    if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "not an executable file",
        ))
    }
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn signal_group(child: &Child, sig: Signal) {
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
        // The group leader is our own unreaped child, so its id cannot have been reused.
        let _ = kill_process_group(pid, sig);
    }
}

/// How a child is asked to stop.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// SIGTERM to its process group, once.
    Group,
    /// SIGTERM to the PID namespace's init (the child of `unshare --fork`), repeated until it
    /// exits: the init ignores signals until its trap is installed, and forwards one SIGTERM to
    /// the instance's process group.
    Namespace,
}

/// The first child of `pid`: `Ok(None)` if it has none (yet), `Err` if the kernel cannot say.
fn first_child(pid: u32) -> std::io::Result<Option<u32>> {
    let list = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))?;
    Ok(list.split_whitespace().next().and_then(|p| p.parse().ok()))
}

const RENOTIFY: Duration = Duration::from_millis(250);

/// Asks each child to stop (see [`Stop`]); SIGKILL to the process groups still alive after
/// `grace`; reaps them all. Returns each child's exit, `None` if it could not be observed.
fn terminate(children: &mut [(&mut Child, Stop)], grace: Duration) -> Vec<Option<String>> {
    let started = Instant::now();
    let mut next_notice = started;
    let mut grouped = vec![false; children.len()];
    loop {
        let mut alive = 0;
        for (c, _) in children.iter_mut() {
            if matches!(c.try_wait(), Ok(None)) {
                alive += 1;
            }
        }
        if alive == 0 {
            break;
        }
        if started.elapsed() >= grace {
            for (c, _) in children.iter_mut() {
                if matches!(c.try_wait(), Ok(None)) {
                    signal_group(c, Signal::KILL);
                }
            }
            break;
        }
        if Instant::now() >= next_notice {
            next_notice = Instant::now() + RENOTIFY;
            for (i, (c, how)) in children.iter_mut().enumerate() {
                if !matches!(c.try_wait(), Ok(None)) {
                    continue;
                }
                let init = match how {
                    Stop::Group => Err(std::io::ErrorKind::Unsupported.into()),
                    Stop::Namespace => first_child(c.id()),
                };
                match init {
                    Ok(Some(pid)) => {
                        if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
                            let _ = kill_process(pid, Signal::TERM);
                        }
                    }
                    Ok(None) => {} // not forked yet: next round
                    Err(_) if !grouped[i] => {
                        // No way to find the init: the whole group, once.
                        grouped[i] = true;
                        signal_group(c, Signal::TERM);
                    }
                    Err(_) => {}
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    children
        .iter_mut()
        .map(|(c, _)| c.wait().ok().map(describe))
        .collect()
}
