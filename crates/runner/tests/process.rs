#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The process runner with real processes and namespaces. Skipped (with a note) where mount and
//! PID namespaces cannot be created: not Linux, or neither root nor unprivileged user namespaces.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyless_runner::{
    AgentSpec, BindMount, EventSink, InstanceSpec, InstanceState, ProcessRunner, Runner,
    RunnerConfig, RunnerEvent,
};

const STANDARD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

type Events = Arc<Mutex<Vec<RunnerEvent>>>;

fn fast() -> RunnerConfig {
    RunnerConfig {
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        backoff_reset_after: Duration::from_secs(60),
        stop_grace: Duration::from_secs(3),
        poll_interval: Duration::from_millis(20),
    }
}

/// A runner, or `None` (with a printed note) where instances cannot be isolated.
fn runner(config: RunnerConfig) -> Option<(ProcessRunner, Events)> {
    if !cfg!(target_os = "linux") {
        eprintln!("skipping: the process runner needs Linux namespaces");
        return None;
    }
    let events: Events = Arc::default();
    let sink = events.clone();
    let sink: EventSink = Arc::new(move |e| sink.lock().unwrap().push(e));
    let r = ProcessRunner::with_config(sink, config);
    match r.check_isolation() {
        Ok(()) => Some((r, events)),
        Err(e) => {
            eprintln!("skipping: {e}");
            None
        }
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("keyless-runner-{name}-{}", std::process::id()));
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

fn write_exe(path: &Path, text: &str) {
    if path.exists() {
        return; // it may be running (rewriting it would fail with "text file busy")
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A stand-in for `keyless agent`: records its arguments next to the credentials dir and waits.
fn fake_agent(base: &Path) -> PathBuf {
    let exe = base.join("bin/fake-keyless");
    write_exe(
        &exe,
        r#"#!/bin/sh
args="$*"
dir=""
while [ "$#" -gt 0 ]; do
  if [ "$1" = "--credentials-dir" ]; then dir=$2; fi
  shift
done
echo "$args" > "$dir/../agent-args"
echo "fake agent up"
exec sleep 600
"#,
    );
    exe
}

const CREDS: &str = r#"{"Code":"Success","AccessKeyId":"STS.test","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2099-01-01T00:00:00Z"}"#;

fn spec(base: &Path, name: &str, command: &str) -> InstanceSpec {
    let data = base.join("data");
    let creds = data.join(format!("instances/{name}/ram"));
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::write(creds.join("credentials"), CREDS).unwrap();
    std::fs::write(data.join(format!("instances/{name}/token")), "TOKEN-SEKRIT").unwrap();
    InstanceSpec {
        service: "svc".into(),
        instance: name.into(),
        command: command.into(),
        env: vec![],
        workdir: base.join("work"),
        mounts: vec![],
        credentials_dir: creds,
        path_prefix: None,
        hidden: vec![data.clone()],
        log_path: base.join("logs/svc.log"),
        agent: AgentSpec {
            exe: fake_agent(base),
            control_url: "http://127.0.0.1:1".into(),
            token_file: data.join(format!("instances/{name}/token")),
            listen: "127.0.0.1:18999".parse().unwrap(),
            uri_path: "/cred/abc".into(),
            ecs_metadata_listen: None,
        },
    }
}

fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log(spec: &InstanceSpec) -> String {
    std::fs::read_to_string(&spec.log_path).unwrap_or_default()
}

fn reasons(events: &Events) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.reason.clone())
        .collect()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes a mount point the runner had to create on the host, if the test created it.
struct RemoveIfCreated(&'static str, bool);

impl Drop for RemoveIfCreated {
    fn drop(&mut self) {
        if self.1 {
            let _ = std::fs::remove_dir(self.0);
        }
    }
}

#[test]
fn an_instance_sees_its_credentials_and_mounts_and_nothing_hidden() {
    let Some((r, events)) = runner(fast()) else {
        return;
    };
    let _mount_point = RemoveIfCreated("/mnt/data", !Path::new("/mnt/data").exists());
    let t = TempDir::new("isolation");
    let base = &t.0;
    let data = base.join("data");
    // Code on "storage", mounted read-only at /mnt/data.
    std::fs::create_dir_all(base.join("store/code")).unwrap();
    std::fs::write(base.join("store/code/xx.py"), "print(1)").unwrap();
    // A neighbour's token, and a virtualenv, inside the hidden data dir.
    std::fs::create_dir_all(data.join("instances/other")).unwrap();
    std::fs::write(data.join("instances/other/token"), "OTHER-SEKRIT").unwrap();
    write_exe(
        &data.join("venvs/svc/bin/hello"),
        "#!/bin/sh\necho venv-hello\n",
    );

    let d = data.display();
    let command = format!(
        r#"echo "uri=$ALIBABA_CLOUD_CREDENTIALS_URI"
echo "creds=$(cat /etc/ram/credentials)"
echo "ls=$(ls /mnt/data)"
cat {d}/instances/svc-0/token 2>/dev/null && echo LEAK-TOKEN || echo token-hidden
cat {d}/instances/other/token 2>/dev/null && echo LEAK-OTHER || echo other-hidden
ls .. | grep -q token && echo LEAK-CWD || echo cwd-safe
cat ../../other/token 2>/dev/null && echo LEAK-SIBLING || echo sibling-safe
touch /mnt/data/new 2>/dev/null && echo MOUNT-RW || echo mount-ro
touch /etc/ram/x 2>/dev/null && echo ETC-RAM-RW || echo etc-ram-ro
umount {d} 2>/dev/null && echo LEAK-UMOUNT || echo umount-denied
echo "procs=$(ls /proc | grep -c '^[0-9][0-9]*$')"
echo "pwd=$(pwd)"
hello
env | sort | sed 's/^/env:/'
echo DONE
exec sleep 600"#
    );
    let mut s = spec(base, "svc-0", &command);
    s.workdir = data.join("instances/svc-0/work");
    s.path_prefix = Some(data.join("venvs/svc/bin"));
    s.env = vec![
        (
            "ALIBABA_CLOUD_CREDENTIALS_URI".into(),
            s.agent.credentials_uri(),
        ),
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED".into(), "true".into()),
        ("FOO".into(), "bar baz".into()),
    ];
    s.mounts = vec![BindMount {
        source: base.join("store/code"),
        target: "/mnt/data".into(),
        read_only: true,
    }];
    r.start(s.clone()).unwrap();
    eventually("the instance's output", Duration::from_secs(10), || {
        log(&s).contains("DONE")
    });
    let out = log(&s);
    let has = |line: &str| out.lines().any(|l| l == line);
    assert!(has("fake agent up"), "{out}");
    assert!(has("uri=http://127.0.0.1:18999/cred/abc"), "{out}");
    assert!(has(&format!("creds={CREDS}")), "{out}");
    assert!(has("ls=xx.py"), "{out}");
    for ok in [
        "token-hidden",
        "other-hidden",
        "cwd-safe",
        "sibling-safe",
        "mount-ro",
        "etc-ram-ro",
        "umount-denied",
        "venv-hello",
        "env:FOO=bar baz",
        "env:ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
    ] {
        assert!(has(ok), "missing `{ok}` in:\n{out}");
    }
    assert!(!out.contains("LEAK") && !out.contains("SEKRIT"), "{out}");
    assert!(
        has(&format!(
            "pwd={}",
            data.join("instances/svc-0/work").display()
        )),
        "{out}"
    );
    assert!(
        has(&format!(
            "env:PATH={}:{STANDARD_PATH}",
            data.join("venvs/svc/bin").display()
        )),
        "{out}"
    );
    assert!(
        !out.contains("env:CARGO") && !out.contains("__KEYLESS"),
        "{out}"
    );
    let procs: u32 = out
        .lines()
        .find_map(|l| l.strip_prefix("procs="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        procs < 10,
        "the instance sees only its own processes: {procs}"
    );

    // The agent got its flags.
    let args = std::fs::read_to_string(data.join("instances/svc-0/agent-args")).unwrap();
    assert_eq!(
        args.trim(),
        format!(
            "agent --control-url http://127.0.0.1:1 --token-file {d}/instances/svc-0/token --listen 127.0.0.1:18999 --path /cred/abc --credentials-dir {d}/instances/svc-0/ram"
        )
    );

    let st = r.status("svc");
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].state, InstanceState::Running);
    assert_eq!(st[0].restart_count, 0);
    assert!(st[0].started_at.is_some());
    let (pid, agent_pid) = (st[0].pid.unwrap(), st[0].agent_pid.unwrap());
    assert!(alive(pid) && alive(agent_pid));
    assert_eq!(reasons(&events), ["AgentStarted", "InstanceStarted"]);

    // Nothing leaked to the host: the mounts lived in the instance's namespace only.
    assert!(std::fs::read_to_string(data.join("instances/other/token")).is_ok());

    let began = Instant::now();
    r.stop_service("svc");
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "SIGTERM is enough"
    );
    let st = r.status("svc");
    assert_eq!(st[0].state, InstanceState::Stopped);
    assert_eq!((st[0].pid, st[0].agent_pid), (None, None));
    assert!(!alive(pid) && !alive(agent_pid));
    assert_eq!(reasons(&events).last().unwrap(), "InstanceStopped");
}

#[test]
fn a_crashing_instance_restarts_with_backoff() {
    let Some((r, events)) = runner(fast()) else {
        return;
    };
    let t = TempDir::new("crash");
    let s = spec(&t.0, "svc-0", "echo crashing; exit 3");
    r.start(s.clone()).unwrap();
    eventually("three restarts", Duration::from_secs(10), || {
        r.status("svc")[0].restart_count >= 3
    });
    let st = r.status("svc").remove(0);
    assert_eq!(st.last_exit.as_deref(), Some("exit status: 3"));
    assert!(matches!(
        st.state,
        InstanceState::Running | InstanceState::Restarting
    ));
    assert_eq!(InstanceState::Restarting.as_str(), "CrashLoopBackOff");
    let evs = events.lock().unwrap().clone();
    let exited: Vec<_> = evs
        .iter()
        .filter(|e| e.reason == "InstanceExited")
        .collect();
    assert!(exited.len() >= 3);
    assert!(exited
        .iter()
        .all(|e| e.warning && e.message.contains("exit status: 3")));
    let backoffs: Vec<&str> = evs
        .iter()
        .filter(|e| e.reason == "BackOff")
        .map(|e| e.message.as_str())
        .collect();
    assert!(
        backoffs[0].contains("50ms") && backoffs[1].contains("100ms"),
        "{backoffs:?}"
    );
    assert!(log(&s).matches("crashing").count() >= 3);
    assert!(evs
        .iter()
        .all(|e| e.service == "svc" && e.instance == "svc-0"));
    r.stop_service("svc");
    assert_eq!(r.status("svc")[0].state, InstanceState::Stopped);
}

#[test]
fn a_killed_agent_is_restarted() {
    let Some((r, events)) = runner(fast()) else {
        return;
    };
    let t = TempDir::new("agentkill");
    let s = spec(&t.0, "svc-0", "exec sleep 600");
    r.start(s).unwrap();
    let old = r.status("svc")[0].agent_pid.unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &old.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    eventually("the agent's restart", Duration::from_secs(5), || {
        reasons(&events).iter().any(|r| r == "AgentRestarted")
    });
    let ev = events
        .lock()
        .unwrap()
        .iter()
        .find(|e| e.reason == "AgentRestarted")
        .cloned()
        .unwrap();
    assert!(
        ev.warning && ev.message.contains("SIGKILL"),
        "{}",
        ev.message
    );
    let st = r.status("svc").remove(0);
    let new = st.agent_pid.unwrap();
    assert_ne!(new, old);
    assert!(alive(new));
    assert_eq!(st.state, InstanceState::Running);
    assert_eq!(st.restart_count, 0, "the instance kept running");
    r.stop_service("svc");
    assert!(!alive(new));
}

#[test]
fn stop_kills_an_instance_that_ignores_sigterm() {
    let Some((r, events)) = runner(RunnerConfig {
        stop_grace: Duration::from_millis(500),
        ..fast()
    }) else {
        return;
    };
    let t = TempDir::new("sigkill");
    let s = spec(
        &t.0,
        "svc-0",
        "trap '' TERM; echo ready; while :; do sleep 0.05; done",
    );
    r.start(s.clone()).unwrap();
    eventually("the instance", Duration::from_secs(5), || {
        log(&s).contains("ready")
    });
    let pid = r.status("svc")[0].pid.unwrap();
    let began = Instant::now();
    r.stop_service("svc");
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(!alive(pid));
    let st = r.status("svc").remove(0);
    assert_eq!(st.state, InstanceState::Stopped);
    assert_eq!(reasons(&events).last().unwrap(), "InstanceStopped");
}

#[test]
fn stop_sends_one_sigterm_and_waits_for_a_graceful_exit() {
    let Some((r, _events)) = runner(fast()) else {
        return;
    };
    let t = TempDir::new("graceful");
    let s = spec(
        &t.0,
        "svc-0",
        r#"trap 'echo got-term; t=1' TERM; echo ready; while [ -z "$t" ]; do sleep 0.05; done; sleep 0.3; echo bye"#,
    );
    r.start(s.clone()).unwrap();
    eventually("the instance", Duration::from_secs(5), || {
        log(&s).contains("ready")
    });
    let began = Instant::now();
    r.stop_service("svc");
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    let out = log(&s);
    assert_eq!(out.matches("got-term").count(), 1, "{out}");
    assert!(out.contains("bye"), "{out}");
    assert_eq!(
        r.status("svc")[0].last_exit.as_deref(),
        Some("exit status: 0")
    );
}

#[test]
fn a_stop_right_after_start_needs_no_sigkill() {
    let Some((r, _events)) = runner(fast()) else {
        return;
    };
    let t = TempDir::new("earlystop");
    for i in 0..5 {
        let s = spec(&t.0, &format!("svc-{i}"), "exec sleep 600");
        r.start(s).unwrap();
        let began = Instant::now();
        r.stop_service("svc");
        assert!(
            began.elapsed() < Duration::from_secs(2),
            "{i}: {:?}",
            began.elapsed()
        );
    }
    assert!(r
        .status("svc")
        .iter()
        .all(|s| s.state == InstanceState::Stopped));
}

#[test]
fn starting_again_replaces_the_instance_and_shutdown_stops_all() {
    let Some((r, _events)) = runner(fast()) else {
        return;
    };
    let t = TempDir::new("replace");
    r.start(spec(&t.0, "svc-0", "exec sleep 600")).unwrap();
    r.start(spec(&t.0, "svc-1", "exec sleep 600")).unwrap();
    let old = r.status("svc")[0].pid.unwrap();
    r.start(spec(&t.0, "svc-0", "exec sleep 601")).unwrap();
    let st = r.status("svc");
    assert_eq!(st.len(), 2);
    assert!(!alive(old));
    assert!(st.iter().all(|s| s.state == InstanceState::Running));
    assert!(r.status("other").is_empty());
    let pids: Vec<u32> = st.iter().map(|s| s.pid.unwrap()).collect();
    r.shutdown();
    assert!(pids.iter().all(|p| !alive(*p)));
    assert!(r
        .status("svc")
        .iter()
        .all(|s| s.state == InstanceState::Stopped));
    assert!(matches!(
        r.start(spec(&t.0, "svc-2", "true")),
        Err(keyless_runner::RunnerError::Unavailable(_))
    ));
}

#[test]
fn a_missing_agent_executable_fails_the_start() {
    let Some((r, _events)) = runner(fast()) else {
        return;
    };
    let t = TempDir::new("noagent");
    let mut s = spec(&t.0, "svc-0", "exec sleep 600");
    s.agent.exe = t.0.join("does-not-exist");
    let err = r.start(s).unwrap_err();
    assert!(
        matches!(err, keyless_runner::RunnerError::Spawn { .. }),
        "{err}"
    );
    assert!(r.status("svc").is_empty());
}

/// A one-shot-per-connection fake control plane (std only).
fn fake_control_plane(token: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut authorized = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if line.to_ascii_lowercase().starts_with("authorization:")
                    && line.trim_end().ends_with(&format!("Bearer {token}"))
                {
                    authorized = true;
                }
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let (status, body) = if authorized {
                let exp = keyless_agent_time(now + 3600);
                (
                    "200 OK",
                    format!(
                        r#"{{"Code":"Success","AccessKeyId":"STS.real{n}","AccessKeySecret":"sk{n}","SecurityToken":"tok{n}","Expiration":"{exp}"}}"#
                    ),
                )
            } else {
                ("401 Unauthorized", r#"{"Code":"InvalidToken"}"#.to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
        }
    });
    port
}

/// `YYYY-MM-DDTHH:MM:SSZ` through `date(1)` (the runner crate does not depend on the agent).
fn keyless_agent_time(secs: i64) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// End to end with the real `keyless agent`: set `KEYLESS_BIN` to the built binary
/// (`cargo build -p keyless && KEYLESS_BIN=target/debug/keyless cargo test -p keyless-runner`).
#[test]
fn end_to_end_with_the_real_agent() {
    let Some(bin) = std::env::var_os("KEYLESS_BIN") else {
        eprintln!("skipping the end-to-end test: KEYLESS_BIN is not set");
        return;
    };
    let Some((r, _events)) = runner(fast()) else {
        return;
    };
    let t = TempDir::new("e2e");
    let port = fake_control_plane("TOKEN-SEKRIT");
    let listen = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // No waiting here: the prologue starts the command once the agent wrote the file.
    let command = r#"echo "file=$(cat /etc/ram/credentials)"
echo "uri=$(curl -s "$ALIBABA_CLOUD_CREDENTIALS_URI")"
echo DONE
exec sleep 600"#;
    let mut s = spec(&t.0, "svc-0", command);
    std::fs::remove_file(s.credentials_dir.join("credentials")).unwrap();
    s.agent.exe = PathBuf::from(bin);
    s.agent.control_url = format!("http://127.0.0.1:{port}");
    s.agent.listen = listen;
    s.env = vec![(
        "ALIBABA_CLOUD_CREDENTIALS_URI".into(),
        s.agent.credentials_uri(),
    )];
    r.start(s.clone()).unwrap();
    eventually("the instance's output", Duration::from_secs(15), || {
        log(&s).contains("DONE")
    });
    let out = log(&s);
    let file = out.lines().find_map(|l| l.strip_prefix("file=")).unwrap();
    let uri = out.lines().find_map(|l| l.strip_prefix("uri=")).unwrap();
    assert!(
        file.starts_with(r#"{"Code":"Success","AccessKeyId":"STS.real"#),
        "{out}"
    );
    assert_eq!(file, uri, "{out}");
    assert!(
        out.contains("keyless-agent: rotated credentials: AccessKeyId=STS.real"),
        "{out}"
    );
    assert!(!out.contains("TOKEN-SEKRIT"), "{out}");
    r.stop_service("svc");
}
