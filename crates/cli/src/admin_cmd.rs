//! `keyless logs` and `keyless maxcompute create-project`: local administration of a data dir.

use crate::args::{LogsArgs, MaxcomputeCommand};
use anyhow::{anyhow, bail, Context as _};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// `DATA/services/<account>/<service>/service.log` for the service named `name`.
pub fn log_path(data_dir: &std::path::Path, name: &str) -> anyhow::Result<PathBuf> {
    let root = data_dir.join("services");
    let accounts = std::fs::read_dir(&root)
        .with_context(|| format!("no services under `{}`", root.display()))?;
    for a in accounts.flatten() {
        let p = a.path().join(name).join("service.log");
        if p.exists() {
            return Ok(p);
        }
    }
    bail!("no log for service `{name}` under `{}`", root.display())
}

pub fn logs(a: LogsArgs) -> anyhow::Result<ExitCode> {
    let path = log_path(&a.data_dir, &a.service)?;
    let mut f =
        std::fs::File::open(&path).with_context(|| format!("opening `{}`", path.display()))?;
    let mut out = std::io::stdout();
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    out.write_all(&buf)?;
    out.flush()?;
    if a.follow {
        let mut pos = f.stream_position()?;
        loop {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(pos);
            if len < pos {
                pos = 0; // truncated or replaced
            }
            if len > pos {
                let mut f = std::fs::File::open(&path)?;
                f.seek(SeekFrom::Start(pos))?;
                buf.clear();
                f.read_to_end(&mut buf)?;
                pos += buf.len() as u64;
                out.write_all(&buf)?;
                out.flush()?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn maxcompute(cmd: MaxcomputeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        MaxcomputeCommand::CreateProject { name, data_dir } => {
            use keyless_server::clock::{Clock, SystemClock};
            use keyless_store::Store;
            let store: Arc<dyn Store> = Arc::new(keyless_store::SqliteStore::open(&data_dir)?);
            let account = store.list_accounts()?.into_iter().next().ok_or_else(|| {
                anyhow!(
                    "no account in `{}`: run `keyless up` first",
                    data_dir.display()
                )
            })?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            // The key ring is not used for this; an ephemeral one keeps the real one untouched.
            let mut key = [0u8; 32];
            keyless_server::ids::random_bytes(&mut key)
                .map_err(|_| anyhow!("the OS random source failed"))?;
            let ring = keyless_token::KeyRing::new(key, clock.now());
            let audit = keyless_server::audit::Auditor::start(store.clone());
            let state =
                keyless_server::state::State::new(store, clock, Default::default(), ring, audit);
            let r = keyless_server::odps::create_project(&state, &account.account_id, &name);
            state.audit().shutdown();
            r.map_err(|e| anyhow!("{}: {}", e.code, e.message))?;
            println!(
                "created MaxCompute project `{name}` for account {}",
                account.account_id
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
