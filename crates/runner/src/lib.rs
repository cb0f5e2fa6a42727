//! The instance runner: starts every EAS instance as a real process, in its own mount namespace,
//! so that `/etc/ram/credentials` and each storage `mount_path` appear at exactly those paths
//! inside it; starts one credential agent (`keyless agent`) per instance; restarts crashed
//! instances and agents with backoff; streams stdout/stderr to the service log; and reports every
//! transition through an [`EventSink`].
//!
//! Must not: know HTTP formats or vendor error codes, hold credentials (the agent fetches them;
//! the runner only passes it a token *file* that the instance cannot see), or decide policy.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

mod backoff;
mod isolation;
mod process;
pub use process::{ProcessRunner, RunnerConfig};

/// A directory bound into the instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindMount {
    /// Host directory.
    pub source: PathBuf,
    /// Absolute path inside the instance (e.g. `/mnt/data/`).
    pub target: PathBuf,
    pub read_only: bool,
}

/// How to run the instance's credential agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentSpec {
    /// The `keyless` executable (the agent is `keyless agent …`).
    pub exe: PathBuf,
    /// Base URL of the control plane's agent API (the EAS listener), e.g. `http://127.0.0.1:18002`.
    pub control_url: String,
    /// File (mode 0600, outside the instance's view) holding the instance-bound bearer token.
    pub token_file: PathBuf,
    /// Loopback address the credentials URI listens on.
    pub listen: SocketAddr,
    /// The unguessable path of the credentials URI (starts with `/`).
    pub uri_path: String,
    /// Optional loopback address for the ECS metadata protocol.
    pub ecs_metadata_listen: Option<SocketAddr>,
}

impl AgentSpec {
    /// The value of `ALIBABA_CLOUD_CREDENTIALS_URI` for the instance.
    pub fn credentials_uri(&self) -> String {
        format!("http://{}{}", self.listen, self.uri_path)
    }
}

/// Everything needed to start one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSpec {
    pub service: String,
    /// e.g. `my_svc-0`.
    pub instance: String,
    /// Run through `/bin/sh -c`.
    pub command: String,
    /// The complete environment of the instance (config `env` plus the platform's variables;
    /// never a secret).
    pub env: Vec<(String, String)>,
    /// Working directory on the host, also the instance's cwd.
    pub workdir: PathBuf,
    pub mounts: Vec<BindMount>,
    /// Host directory holding the `credentials` file, bound at `/etc/ram` (a directory, not the
    /// file: a bind-mounted file keeps showing the old inode after a rename).
    pub credentials_dir: PathBuf,
    /// Put first on the instance's `PATH` (a per-service virtualenv's `bin`).
    pub path_prefix: Option<PathBuf>,
    /// Directories the instance must not see (the data dir): covered by an empty tmpfs.
    pub hidden: Vec<PathBuf>,
    /// The service log (stdout and stderr are appended).
    pub log_path: PathBuf,
    pub agent: AgentSpec,
}

/// Where an instance is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceState {
    Pending,
    Running,
    /// Exited and waiting for its backoff before a restart.
    Restarting,
    /// Gave up (e.g. the namespace could not be created).
    Failed,
    Stopped,
}

impl InstanceState {
    /// The vendor's instance status word.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "Pending",
            InstanceState::Running => "Running",
            InstanceState::Restarting => "CrashLoopBackOff",
            InstanceState::Failed => "Failed",
            InstanceState::Stopped => "Stopped",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceStatus {
    pub instance: String,
    pub state: InstanceState,
    pub restart_count: u32,
    /// Unix seconds of the current process's start.
    pub started_at: Option<i64>,
    pub pid: Option<u32>,
    pub agent_pid: Option<u32>,
    pub last_exit: Option<String>,
}

/// A transition worth an event (`Normal` or `Warning`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunnerEvent {
    pub service: String,
    pub instance: String,
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

/// Receives the runner's events (the EAS module writes them to the service's event stream).
pub type EventSink = Arc<dyn Fn(RunnerEvent) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("cannot isolate the instance: {0}")]
    Isolation(String),
    #[error("cannot start `{what}`: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("the runner is unavailable: {0}")]
    Unavailable(String),
}

/// Starts and supervises instances.
pub trait Runner: Send + Sync {
    /// Starts (or restarts with a new spec) one instance and its agent; returns once both
    /// processes are spawned.
    fn start(&self, spec: InstanceSpec) -> Result<(), RunnerError>;
    /// Stops every instance of `service` and their agents (SIGTERM, then SIGKILL after a grace).
    fn stop_service(&self, service: &str);
    /// The current status of every instance of `service`.
    fn status(&self, service: &str) -> Vec<InstanceStatus>;
    /// Stops everything (shutdown of `keyless up`).
    fn shutdown(&self);
}
