//! The `keyless` binary: a thin shell. Arguments are parsed into plain data ([`args`]), then the
//! matching command runs. Exit codes: 0 success/Allow, 1 a deny, 2 usage or validation errors.

mod args;
mod policy_cmd;

use clap::Parser;
use std::process::ExitCode;

fn up(a: args::UpArgs) -> anyhow::Result<ExitCode> {
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
    })?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Policy(p) => policy_cmd::run(p),
        args::Command::Up(u) => up(u),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keyless: {e:#}");
            ExitCode::from(2)
        }
    }
}
