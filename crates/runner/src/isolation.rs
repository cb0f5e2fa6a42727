//! How an instance is isolated: which namespace tools exist (probed once), and the plan of
//! mount steps for one instance (a pure function of the spec), executed by a fixed shell
//! prologue inside `unshare --mount --pid --fork --mount-proc --propagation private`.
//!
//! Every path reaches the prologue as a positional argument, never spliced into shell text, so no
//! path or command needs quoting. The user command travels in an environment variable that the
//! prologue removes before starting it.
//!
//! Order of the steps matters:
//! 1. `keep`: open a directory that must stay reachable although it lies inside a hidden
//!    directory (the working directory, a virtualenv) — as a file descriptor;
//! 2. bind the credentials directory at `/etc/ram` (read-only) and every storage mount, *before*
//!    hiding, so their sources may live inside hidden directories;
//! 3. `hide`: cover each hidden directory with an empty tmpfs;
//! 4. `restore`: bind each kept descriptor back at its own path, now inside the tmpfs, so its
//!    siblings stay hidden (a working directory *under* a covered mount point would otherwise
//!    let `cd ..` reach them);
//! 5. wait (at most 10 s) for the agent's first `credentials` file;
//! 6. drop `CAP_SYS_ADMIN` (and friends) from the bounding set, so the instance cannot unmount
//!    the covers, then start the command as a child of the namespace's init shell.
//!
//! Stopping (as container runtimes do): the runner sends SIGTERM to the namespace's init only,
//! repeating it until the init exits (PID 1 ignores signals it has no handler for, so one sent
//! before the trap exists is lost; repeats are no-ops). The init's trap forwards exactly one
//! SIGTERM to the instance's process group once the command runs, or exits before starting the
//! command if the stop came during setup. When the init exits, the kernel kills whatever is left
//! in the namespace.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use crate::{InstanceSpec, RunnerError};

/// The `PATH` used by the prologue, and the base of the instance's `PATH`.
pub const STANDARD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Where the credentials directory appears inside the instance.
pub const CREDENTIALS_MOUNT: &str = "/etc/ram";
/// Exit status of the prologue when a setup step fails.
pub const SETUP_FAILED: i32 = 121;
/// How long (in tenths of a second) the prologue waits for the first credentials file.
const CREDENTIALS_WAIT_TENTHS: u32 = 100;
/// Capabilities removed from the instance's bounding set.
const DROPPED_CAPS: &str = "-sys_admin,-sys_module,-sys_rawio,-sys_boot,-mknod";
/// Environment variables that carry the command and its `PATH` through the prologue.
pub const CMD_VAR: &str = "__KEYLESS_INIT_CMD";
pub const PATH_VAR: &str = "__KEYLESS_INIT_PATH";
/// Descriptors usable by `keep` (the POSIX shell only redirects single-digit descriptors).
const FIRST_KEEP_FD: u32 = 3;
const LAST_KEEP_FD: u32 = 9;

/// The prologue: runs as PID 1 of the instance's PID namespace.
pub const PROLOGUE: &str = r#"term=""; started=""; fwd=""
forward() {
  if [ -n "$started" ] && [ -z "$fwd" ]; then fwd=1; kill -TERM 0 2>/dev/null; fi
}
trap 'term=1; forward' TERM INT HUP
fail() { echo "keyless-init: $*" >&2; exit 121; }
sp=""; drop=""
while [ "$#" -gt 0 ]; do
  [ -z "$term" ] || exit 143
  [ "$#" -ge 3 ] || fail "malformed setup arguments"
  op=$1; a=$2; b=$3; shift 3
  case $op in
    keep) eval "exec $b<\"\$a\"" || fail "cannot open \`$a\`" ;;
    bind|bind-ro)
      [ -d "$b" ] || mkdir -p "$b" || fail "cannot create the mount point \`$b\`"
      mount --bind "$a" "$b" || fail "cannot bind \`$a\` at \`$b\`"
      if [ "$op" = bind-ro ]; then
        mount -o remount,bind,ro "$b" || fail "cannot make \`$b\` read-only"
      fi ;;
    hide)
      if [ -d "$a" ]; then
        mount -t tmpfs -o mode=0755,size=64k keyless-hidden "$a" || fail "cannot hide \`$a\`"
      fi ;;
    restore)
      mkdir -p "$a" || fail "cannot recreate \`$a\`"
      mount --no-canonicalize --bind "/proc/self/fd/$b" "$a" || fail "cannot re-expose \`$a\`"
      eval "exec $b<&-" ;;
    await)
      i=0
      while [ -z "$term" ] && [ ! -s "$a" ] && [ "$i" -lt "$b" ]; do sleep 0.1; i=$((i + 1)); done ;;
    caps) sp=$a; drop=$b ;;
    cd) cd "$a" || fail "cannot enter \`$a\`" ;;
    *) fail "unknown setup step \`$op\`" ;;
  esac
done
cmd=$__KEYLESS_INIT_CMD
PATH=$__KEYLESS_INIT_PATH
export PATH
unset __KEYLESS_INIT_CMD __KEYLESS_INIT_PATH
[ -z "$term" ] || exit 143
if [ -n "$sp" ]; then
  "$sp" --bounding-set "$drop" -- /bin/sh -c "$cmd" &
else
  /bin/sh -c "$cmd" &
fi
child=$!
started=1
# A stop that arrived while the command was being forked.
[ -z "$term" ] || forward
while :; do
  wait "$child"; st=$?
  kill -0 "$child" 2>/dev/null || break
done
exit "$st"
"#;

/// How namespaces can be created on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// We are root: plain mount and PID namespaces.
    Root,
    /// Unprivileged: inside a user namespace mapping us to root.
    UserNs,
}

/// The tools found by [`probe`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tools {
    pub mode: Mode,
    pub unshare: PathBuf,
    /// `setpriv` with `--pdeathsig` and `--bounding-set`, when present.
    pub setpriv: Option<PathBuf>,
}

/// Looks for `name` in `PATH` and the standard directories.
fn which(name: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&from_env)
        .chain(std::env::split_paths(STANDARD_PATH))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn namespace_flags(mode: Mode) -> Vec<&'static str> {
    let mut v = Vec::new();
    if mode == Mode::UserNs {
        v.extend(["--user", "--map-root-user"]);
    }
    v.extend([
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "--propagation",
        "private",
    ]);
    v
}

/// Finds out whether (and how) instances can be isolated: as root, or in a user namespace.
pub fn probe() -> Result<Tools, String> {
    let unshare = which("unshare").ok_or_else(|| {
        "`unshare` (util-linux) is not installed; it is needed to give each instance its own \
         mount and PID namespaces"
            .to_string()
    })?;
    let setpriv = which("setpriv").filter(|p| {
        Command::new(p)
            .arg("--help")
            .output()
            .map(|o| {
                let help = String::from_utf8_lossy(&o.stdout);
                help.contains("--pdeathsig") && help.contains("--bounding-set")
            })
            .unwrap_or(false)
    });
    let mut errors = Vec::new();
    for mode in [Mode::Root, Mode::UserNs] {
        let out = Command::new(&unshare)
            .args(namespace_flags(mode))
            .args(["--", "/bin/sh", "-c", "exit 0"])
            .env_clear()
            .env("PATH", STANDARD_PATH)
            .current_dir("/")
            .output();
        match out {
            Ok(o) if o.status.success() => {
                return Ok(Tools {
                    mode,
                    unshare,
                    setpriv,
                })
            }
            Ok(o) => errors.push(format!(
                "{mode:?}: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => errors.push(format!("{mode:?}: {e}")),
        }
    }
    Err(format!(
        "cannot create mount and PID namespaces (run as root, or enable unprivileged user \
         namespaces): {}",
        errors.join("; ")
    ))
}

fn is_clean_absolute(p: &Path) -> bool {
    p.is_absolute()
        && !p
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
}

fn check_abs(what: &str, p: &Path) -> Result<(), RunnerError> {
    if is_clean_absolute(p) {
        Ok(())
    } else {
        Err(RunnerError::Isolation(format!(
            "{what} `{}` must be an absolute path without `.` or `..`",
            p.display()
        )))
    }
}

/// The prologue's arguments for `spec` (after `sh -c PROLOGUE keyless-init`): triples of
/// `step a b`. `is_dir` says whether a host directory exists (for the virtualenv re-exposure).
pub fn steps(
    spec: &InstanceSpec,
    setpriv: Option<&Path>,
    is_dir: &dyn Fn(&Path) -> bool,
) -> Result<Vec<OsString>, RunnerError> {
    check_abs("the working directory", &spec.workdir)?;
    check_abs("the credentials directory", &spec.credentials_dir)?;
    for h in &spec.hidden {
        check_abs("the hidden directory", h)?;
        if spec.workdir == *h {
            return Err(RunnerError::Isolation(format!(
                "the working directory `{}` is itself hidden",
                spec.workdir.display()
            )));
        }
    }
    for m in &spec.mounts {
        check_abs("the mount source", &m.source)?;
        check_abs("the mount target", &m.target)?;
        if m.target == Path::new("/") {
            return Err(RunnerError::Isolation("cannot mount over `/`".into()));
        }
    }
    let hidden = |p: &Path| {
        spec.hidden
            .iter()
            .any(|h| p.starts_with(h) && p != h.as_path())
    };

    // Directories inside hidden ones that must stay usable.
    let mut keep: Vec<PathBuf> = Vec::new();
    if hidden(&spec.workdir) {
        keep.push(spec.workdir.clone());
    }
    if let Some(prefix) = &spec.path_prefix {
        check_abs("the PATH prefix", prefix)?;
        // A virtualenv's `bin` needs the whole virtualenv.
        let root = match prefix.file_name() {
            Some(n) if n == "bin" => prefix.parent().unwrap_or(prefix),
            _ => prefix.as_path(),
        };
        if hidden(root) && is_dir(root) && !keep.iter().any(|k| root.starts_with(k)) {
            keep.push(root.to_path_buf());
        }
    }
    let max = (LAST_KEEP_FD - FIRST_KEEP_FD + 1) as usize;
    if keep.len() > max {
        return Err(RunnerError::Isolation(format!(
            "more than {max} directories to re-expose"
        )));
    }

    let mut out: Vec<OsString> = Vec::new();
    let mut step = |op: &str, a: &Path, b: &OsString| {
        out.push(op.into());
        out.push(a.as_os_str().to_owned());
        out.push(b.clone());
    };
    let fd = |i: usize| OsString::from((FIRST_KEEP_FD + i as u32).to_string());
    let none = OsString::from("-");
    for (i, k) in keep.iter().enumerate() {
        step("keep", k, &fd(i));
    }
    step(
        "bind-ro",
        &spec.credentials_dir,
        &OsString::from(CREDENTIALS_MOUNT),
    );
    for m in &spec.mounts {
        let op = if m.read_only { "bind-ro" } else { "bind" };
        step(op, &m.source, &m.target.as_os_str().to_owned());
    }
    for h in &spec.hidden {
        step("hide", h, &none);
    }
    for (i, k) in keep.iter().enumerate() {
        step("restore", k, &fd(i));
    }
    // Give the agent's first fetch a moment, so programs that read the file at start find it.
    step(
        "await",
        &Path::new(CREDENTIALS_MOUNT).join("credentials"),
        &OsString::from(CREDENTIALS_WAIT_TENTHS.to_string()),
    );
    if let Some(sp) = setpriv {
        step("caps", sp, &OsString::from(DROPPED_CAPS));
    }
    step("cd", &spec.workdir, &none);
    Ok(out)
}

/// The instance's `PATH`: the prefix, then the spec's own `PATH` if it sets one, else the
/// standard one.
pub fn instance_path(spec: &InstanceSpec) -> OsString {
    let base = spec
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| OsString::from(v))
        .unwrap_or_else(|| OsString::from(STANDARD_PATH));
    match &spec.path_prefix {
        Some(p) => {
            let mut s = p.as_os_str().to_owned();
            s.push(":");
            s.push(base);
            s
        }
        None => base,
    }
}

/// The instance's program and arguments (before the prologue's own arguments).
pub fn instance_argv(tools: &Tools) -> Vec<OsString> {
    let mut argv: Vec<OsString> = Vec::new();
    if let Some(sp) = &tools.setpriv {
        // Dies with the supervising thread, so no instance outlives a crashed runner.
        argv.extend([
            sp.as_os_str().to_owned(),
            "--pdeathsig".into(),
            "KILL".into(),
            "--".into(),
        ]);
    }
    argv.push(tools.unshare.as_os_str().to_owned());
    argv.extend(namespace_flags(tools.mode).into_iter().map(OsString::from));
    argv.extend([
        "--".into(),
        "/bin/sh".into(),
        "-c".into(),
        PROLOGUE.into(),
        "keyless-init".into(),
    ]);
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentSpec, BindMount};

    fn spec() -> InstanceSpec {
        InstanceSpec {
            service: "svc".into(),
            instance: "svc-0".into(),
            command: "python app.py".into(),
            env: vec![("A".into(), "1".into())],
            workdir: "/srv/work".into(),
            mounts: vec![
                BindMount {
                    source: "/data/objstore/bucket/code".into(),
                    target: "/mnt/data".into(),
                    read_only: true,
                },
                BindMount {
                    source: "/srv/out".into(),
                    target: "/mnt/out".into(),
                    read_only: false,
                },
            ],
            credentials_dir: "/data/instances/svc-0/ram".into(),
            path_prefix: None,
            hidden: vec!["/data".into()],
            log_path: "/data/logs/svc.log".into(),
            agent: AgentSpec {
                exe: "/usr/bin/keyless".into(),
                control_url: "http://127.0.0.1:18002".into(),
                token_file: "/data/instances/svc-0/token".into(),
                listen: "127.0.0.1:9000".parse().unwrap(),
                uri_path: "/x".into(),
                ecs_metadata_listen: None,
            },
        }
    }

    fn strings(v: &[OsString]) -> Vec<String> {
        v.iter().map(|s| s.to_string_lossy().into_owned()).collect()
    }

    #[test]
    #[rustfmt::skip]
    fn binds_before_hiding_and_cd_last() {
        let s = steps(&spec(), Some(Path::new("/usr/bin/setpriv")), &|_| true).unwrap();
        assert_eq!(
            strings(&s),
            [
                "bind-ro", "/data/instances/svc-0/ram", "/etc/ram",
                "bind-ro", "/data/objstore/bucket/code", "/mnt/data",
                "bind", "/srv/out", "/mnt/out",
                "hide", "/data", "-",
                "await", "/etc/ram/credentials", "100",
                "caps", "/usr/bin/setpriv", DROPPED_CAPS,
                "cd", "/srv/work", "-",
            ]
        );
    }

    #[test]
    fn workdir_and_virtualenv_inside_hidden_dirs_are_re_exposed() {
        let mut sp = spec();
        sp.workdir = "/data/work/svc".into();
        sp.path_prefix = Some("/data/venvs/svc/bin".into());
        let s = strings(&steps(&sp, None, &|_| true).unwrap());
        assert_eq!(
            &s[..6],
            [
                "keep",
                "/data/work/svc",
                "3",
                "keep",
                "/data/venvs/svc",
                "4"
            ]
        );
        let hide = s.iter().position(|x| x == "hide").unwrap();
        let restore = s.iter().position(|x| x == "restore").unwrap();
        assert!(hide < restore);
        assert_eq!(
            &s[restore..restore + 6],
            [
                "restore",
                "/data/work/svc",
                "3",
                "restore",
                "/data/venvs/svc",
                "4"
            ]
        );
        assert_eq!(&s[s.len() - 3..], ["cd", "/data/work/svc", "-"]);
        // A virtualenv that does not exist is not re-exposed (it would fail the setup).
        let s = strings(&steps(&sp, None, &|_| false).unwrap());
        assert_eq!(s.iter().filter(|x| *x == "keep").count(), 1);
    }

    #[test]
    fn rejects_unsafe_layouts() {
        let mut sp = spec();
        sp.workdir = "/data".into();
        assert!(matches!(
            steps(&sp, None, &|_| true),
            Err(RunnerError::Isolation(_))
        ));
        let mut sp = spec();
        sp.mounts[0].target = "/mnt/../etc".into();
        assert!(steps(&sp, None, &|_| true).is_err());
        let mut sp = spec();
        sp.mounts[0].target = "relative".into();
        assert!(steps(&sp, None, &|_| true).is_err());
        let mut sp = spec();
        sp.mounts[0].target = "/".into();
        assert!(steps(&sp, None, &|_| true).is_err());
    }

    #[test]
    fn path_is_prefix_then_base() {
        let mut sp = spec();
        assert_eq!(instance_path(&sp), OsString::from(STANDARD_PATH));
        sp.path_prefix = Some("/venv/bin".into());
        assert_eq!(
            instance_path(&sp),
            OsString::from(format!("/venv/bin:{STANDARD_PATH}"))
        );
        sp.env.push(("PATH".into(), "/opt/bin".into()));
        assert_eq!(instance_path(&sp), OsString::from("/venv/bin:/opt/bin"));
    }

    #[test]
    fn argv_wraps_unshare() {
        let tools = Tools {
            mode: Mode::UserNs,
            unshare: "/usr/bin/unshare".into(),
            setpriv: Some("/usr/bin/setpriv".into()),
        };
        let a = strings(&instance_argv(&tools));
        assert_eq!(
            &a[..5],
            [
                "/usr/bin/setpriv",
                "--pdeathsig",
                "KILL",
                "--",
                "/usr/bin/unshare"
            ]
        );
        assert!(a.contains(&"--map-root-user".to_string()));
        assert_eq!(a.last().unwrap(), "keyless-init");
    }
}
