//! The `keyless` binary: a thin shell. Arguments are parsed into plain data ([`args`]), then the
//! matching command runs. Exit codes: 0 success/Allow, 1 a deny, 2 usage or validation errors.

mod admin_cmd;
mod args;
mod client_cmd;
mod demo;
mod logging;
mod policy_cmd;

use clap::Parser;
use std::process::ExitCode;

fn up(a: args::UpArgs) -> anyhow::Result<ExitCode> {
    let _log = logging::init(a.log.log_format, logging::Process::Server)?;
    let config = keyless_server::state::Config {
        region: a.region,
        assume_role_rate: a.assume_role_rate,
        assume_role_burst: a.assume_role_burst,
        key_rotation_secs: a.key_rotation_secs,
        ..Default::default()
    };
    keyless_server::up::run(keyless_server::up::UpOptions {
        data_dir: a.data_dir,
        host: a.host,
        port: a.port,
        config,
        clock_offset_secs: a.clock_offset_secs,
    })?;
    Ok(ExitCode::SUCCESS)
}

fn agent(a: args::AgentArgs) -> anyhow::Result<ExitCode> {
    let _log = logging::init(a.log.log_format, logging::Process::Agent)?;
    keyless_agent::run_blocking(keyless_agent::AgentConfig {
        control_url: a.control_url,
        token_file: a.token_file,
        listen: a.listen,
        uri_path: a.path,
        credentials_dir: a.credentials_dir,
        ecs_metadata: a.ecs_metadata,
        schedule: keyless_agent::Schedule::default(),
    })?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Policy(p) => policy_cmd::run(p),
        args::Command::Up(u) => up(u),
        args::Command::Agent(a) => agent(a),
        args::Command::Sts(c) => client_cmd::sts(c),
        args::Command::Oss(c) => client_cmd::oss(c),
        args::Command::Logs(l) => admin_cmd::logs(l),
        args::Command::Maxcompute(m) => admin_cmd::maxcompute(m),
        args::Command::Demo(d) => demo::run(d),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keyless: {e:#}");
            ExitCode::from(2)
        }
    }
}
