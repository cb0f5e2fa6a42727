//! Command-line arguments, parsed into plain data before any work happens.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "keyless",
    version,
    about = "Self-hosted workload identity for model-serving platforms"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate and evaluate RAM policy documents.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Start the services in the foreground (RAM, STS, …) and write `DIR/endpoints.env`.
    Up(UpArgs),
    /// Run an instance's credential agent (started by the runner, one per instance).
    Agent(AgentArgs),
    /// STS client commands (credentials from the default chain).
    #[command(subcommand)]
    Sts(StsCommand),
    /// OSS client commands (credentials from the default chain).
    #[command(subcommand)]
    Oss(OssCommand),
    /// Print a service's log (stdout and stderr of its instances).
    Logs(LogsArgs),
    /// MaxCompute administration.
    #[command(subcommand)]
    Maxcompute(MaxcomputeCommand),
    /// Run the source document's scenario against a running `keyless up`, without Python.
    Demo(DemoArgs),
}

#[derive(Subcommand, Debug)]
pub enum StsCommand {
    /// Who am I? (GetCallerIdentity with the default credentials chain.)
    Whoami {
        /// STS endpoint `host:port` (default: `$KEYLESS_STS_ENDPOINT`).
        #[arg(long)]
        endpoint: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum OssCommand {
    /// List objects under `oss://bucket/prefix`.
    Ls {
        url: String,
        /// List every key under the prefix instead of one level.
        #[arg(long, short)]
        recursive: bool,
        /// OSS endpoint `host:port` (default: `$KEYLESS_OSS_ENDPOINT`).
        #[arg(long)]
        endpoint: Option<String>,
    },
    /// Print an object.
    Cat {
        url: String,
        #[arg(long)]
        endpoint: Option<String>,
    },
    /// Copy between a local file and `oss://bucket/key`.
    Cp {
        src: String,
        dst: String,
        #[arg(long)]
        endpoint: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// The service name.
    pub service: String,
    /// The data dir of `keyless up`.
    #[arg(long, default_value = "keyless-data", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Keep printing new lines.
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Subcommand, Debug)]
pub enum MaxcomputeCommand {
    /// Create a MaxCompute project owned by the data dir's account.
    CreateProject {
        name: String,
        #[arg(long, default_value = "keyless-data", value_name = "DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// The data dir of a running `keyless up` (its `endpoints.env` is read).
    #[arg(long, default_value = "keyless-data", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Seconds to wait for each deployment step.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Where state lives (database, master key, key ring, endpoints.env).
    #[arg(long, default_value = "keyless-data", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Base port: RAM on BASE, STS on BASE+1; 0 takes ephemeral ports.
    #[arg(long = "port", default_value_t = 18000, value_name = "BASE")]
    pub port: u16,
    /// Region id reported to clients.
    #[arg(long, default_value = "cn-hangzhou")]
    pub region: String,
    /// AssumeRole calls per second allowed per caller (0 disables the limit).
    #[arg(long, default_value_t = 500.0)]
    pub assume_role_rate: f64,
    /// Burst size of the per-caller AssumeRole limit.
    #[arg(long, default_value_t = 1000.0)]
    pub assume_role_burst: f64,
    /// STS sealing-key rotation period in seconds (default daily).
    #[arg(long, default_value_t = 86_400)]
    pub key_rotation_secs: i64,
    /// Testing only: seconds added to the clock (to see credentials expire with real clients).
    #[arg(long, default_value_t = 0, hide = true)]
    pub clock_offset_secs: i64,
    #[command(flatten)]
    pub log: LogArgs,
}

/// The log of a long-running command (stderr).
#[derive(Args, Debug)]
pub struct LogArgs {
    /// Log lines as text or as one JSON object per line (one access line per request at
    /// `info`, target `keyless::access`). `RUST_LOG` filters, e.g. `RUST_LOG=warn` or
    /// `RUST_LOG=info,keyless::access=off`; default `info`.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// Base URL of the control plane's agent API, e.g. `http://127.0.0.1:18002`.
    #[arg(long, value_name = "URL")]
    pub control_url: String,
    /// File holding the instance's bearer token.
    #[arg(long, value_name = "FILE")]
    pub token_file: PathBuf,
    /// Loopback address of the credentials URI.
    #[arg(long, value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Path of the credentials URI (starts with `/`).
    #[arg(long, value_name = "PATH")]
    pub path: String,
    /// Directory of the `credentials` file (seen as `/etc/ram` by the instance).
    #[arg(long, value_name = "DIR")]
    pub credentials_dir: PathBuf,
    /// Also serve the ECS metadata protocol on this loopback address.
    #[arg(long, value_name = "ADDR")]
    pub ecs_metadata: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Validate policy documents; exit 0 when all are valid, 2 otherwise (each problem printed).
    Validate(ValidateArgs),
    /// Evaluate a request against policies; exit 0 for Allow, 1 for a deny, 2 for errors.
    Eval(EvalArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Decide from the document: trust if any statement has a `Principal`, else custom.
    Auto,
    Custom,
    Session,
    Trust,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Policy files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The kind of document (decides size limits and where `Principal` belongs).
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    pub kind: KindArg,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A policy: a file path or `system:<PolicyName>`. Repeatable.
    #[arg(long = "policy", value_name = "SRC", required = true)]
    pub policies: Vec<String>,
    /// A session policy (file path or `system:<PolicyName>`) that gates the result.
    #[arg(long, value_name = "SRC")]
    pub session_policy: Option<String>,
    /// Evaluate the policies as trust policies against `--principal`.
    #[arg(long)]
    pub trust: bool,
    /// The action, e.g. `oss:GetObject`.
    #[arg(long)]
    pub action: String,
    /// The resource ARN.
    #[arg(long)]
    pub resource: String,
    /// `acs:ram::<uid>:user/<name>`, `…:role/<name>`, `…:assumed-role/<role>/<session>`,
    /// `…:root`, `service:<name>` or `federated:<arn>`.
    #[arg(long)]
    pub principal: Option<String>,
    /// A condition key value, `KEY=VALUE`; repeat a key for several values. `acs:CurrentTime`
    /// defaults to now.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Print `{"decision":…,"matched":[…]}`.
    #[arg(long)]
    pub json: bool,
}
