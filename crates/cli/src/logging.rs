//! The log of the long-running commands (`keyless up`, `keyless agent`): `tracing` events to
//! stderr through a non-blocking, batching writer ([`batch`]): a request appends its formatted
//! line to a buffer and never waits on the terminal or a pipe, a background thread writes the
//! buffer every 10 ms; under a flood (4 MiB not yet written) new lines are dropped and counted
//! rather than slowing requests. `RUST_LOG` filters (default `info`); `--log-format json` prints one
//! JSON object per line with the event's fields at the top level.
//!
//! The user-facing output of `keyless up` (the "keyless is up" banner and the endpoints) is not
//! a log line: it stays on stdout, whatever the format.

use tracing_subscriber::EnvFilter;

use crate::args::LogFormat;

mod batch;
mod line;

/// Whose log: the agent's text lines keep their own format ([`keyless_agent::LogFormat`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Process {
    Server,
    Agent,
}

/// Installs the process's subscriber. Keep the guard until exit: dropping it flushes what is
/// still queued.
pub fn init(format: LogFormat, process: Process) -> anyhow::Result<batch::Guard> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => EnvFilter::try_new(v)
            .map_err(|e| anyhow::anyhow!("RUST_LOG is not a valid filter: {e}"))?,
        _ => EnvFilter::new("info"),
    };
    let (writer, guard) = batch::stderr();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false);
    let installed = match (format, process) {
        (LogFormat::Json, _) => builder.event_format(line::Line::Json).try_init(),
        (LogFormat::Text, Process::Agent) => {
            builder.event_format(keyless_agent::LogFormat).try_init()
        }
        (LogFormat::Text, Process::Server) => builder.event_format(line::Line::Text).try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))?;
    Ok(guard)
}
