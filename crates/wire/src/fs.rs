//! The one atomic file replacement: no reader ever sees half a file, and after it returns the new
//! content survives a crash.
//!
//! Steps: create a temporary file with `create_new` (never following or reusing an existing
//! entry) and the requested mode from the start, write, `fsync`, rename over the target, `fsync`
//! the target's directory. On failure the temporary file is removed. Temporary names are
//! `.<file name>.tmp-<pid>-<n>` ([`temp_prefix`] gives the part before `<pid>`, for callers that
//! sweep leftovers of a killed process).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Owner read and write only: the default, since most callers write secrets.
pub const PRIVATE: u32 = 0o600;

/// How many temporary names are tried when one exists already (a leftover of an earlier process
/// that had the same pid).
const NAME_ATTEMPTS: u32 = 8;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How [`write_atomic_with`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOptions<'a> {
    /// The new file's permission bits (before the umask, as `open(2)` takes them; ignored off
    /// Unix). Default [`PRIVATE`]; `0o666` gives what `File::create` would.
    pub mode: u32,
    /// Where the temporary file is made; `None` (the default) is the target's directory. It must
    /// be on the target's file system, or the rename fails.
    pub tmp_dir: Option<&'a Path>,
}

impl Default for WriteOptions<'_> {
    fn default() -> Self {
        Self {
            mode: PRIVATE,
            tmp_dir: None,
        }
    }
}

/// The step of an atomic write that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Creating the temporary file (or the target had no file name).
    Create,
    /// Writing or `fsync`ing the temporary file.
    Write,
    /// Renaming it over the target.
    Rename,
    /// `fsync`ing the target's directory (the new content is in place, but may not survive a
    /// crash).
    SyncDir,
}

impl Step {
    fn describe(self) -> &'static str {
        match self {
            Step::Create => "creating a temporary file",
            Step::Write => "writing a temporary file",
            Step::Rename => "renaming a temporary file into place",
            Step::SyncDir => "syncing a directory",
        }
    }
}

/// Why an atomic write failed: the step and the I/O error. The message carries no path.
#[derive(Debug)]
pub struct WriteError {
    /// What was being done.
    pub step: Step,
    /// The underlying error.
    pub source: io::Error,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "i/o error while {}: {}",
            self.step.describe(),
            self.source
        )
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl From<WriteError> for io::Error {
    /// Keeps the underlying error's kind, so `?` in an `io::Result` function works unchanged.
    fn from(e: WriteError) -> Self {
        io::Error::new(e.source.kind(), e)
    }
}

/// The prefix of every temporary name made for a target named `file_name`.
pub fn temp_prefix(file_name: &str) -> String {
    format!(".{file_name}.tmp-")
}

/// Replaces `path` with `bytes` atomically; the file gets mode [`PRIVATE`] (0600) and the
/// temporary file lives next to it. See the [module](self) for the steps.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, bytes, &WriteOptions::default())
}

/// [`write_atomic`] with a mode and a temporary directory of the caller's choice.
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    options: &WriteOptions<'_>,
) -> Result<(), WriteError> {
    let fail = |step: Step| move |source: io::Error| WriteError { step, source };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))
        .map_err(fail(Step::Create))?;
    let dir = target_dir(path);
    let tmp_dir = options.tmp_dir.unwrap_or(dir);
    let prefix = temp_prefix(&name.to_string_lossy());
    let (tmp, mut file) =
        create_temp(tmp_dir, &prefix, options.mode).map_err(fail(Step::Create))?;
    let result = (|| {
        file.write_all(bytes).map_err(fail(Step::Write))?;
        file.sync_all().map_err(fail(Step::Write))?;
        drop(file);
        fs::rename(&tmp, path).map_err(fail(Step::Rename))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir).map_err(fail(Step::SyncDir))
}

/// The directory holding `path`: its parent, or `.` for a bare file name.
fn target_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn create_temp(dir: &Path, prefix: &str, mode: u32) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut attempt = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!("{prefix}{pid}-{n}"));
        let mut open = OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        match open.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt + 1 < NAME_ATTEMPTS => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_replaces_private_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(names(dir.path()), ["credentials"]);
    }

    #[test]
    fn honours_mode_and_tmp_dir() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).unwrap();
        let path = dir.path().join("bucket.json");
        let opts = WriteOptions {
            mode: 0o640,
            tmp_dir: Some(&tmp),
        };
        write_atomic_with(&path, b"{}", &opts).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}");
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077 & !0o640, 0, "{mode:o}");
        assert!(names(&tmp).is_empty());
    }

    #[test]
    fn skips_a_leftover_temp_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let next = COUNTER.load(Ordering::Relaxed);
        let prefix = temp_prefix("f");
        for n in next..next + 4 {
            let leftover = dir
                .path()
                .join(format!("{prefix}{}-{n}", std::process::id()));
            fs::write(leftover, b"junk").unwrap();
        }
        write_atomic(&path, b"ok").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"ok");
    }

    #[test]
    fn failures_name_the_step_and_clean_up() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the rename fails.
        let target = dir.path().join("d");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("x"), b"").unwrap();
        let e = write_atomic(&target, b"x").unwrap_err();
        assert_eq!(e.step, Step::Rename);
        assert!(e.to_string().starts_with("i/o error while renaming"));
        assert_eq!(names(dir.path()), ["d"]);
        let kind = e.source.kind();
        assert_eq!(io::Error::from(e).kind(), kind);
        // No file name at all.
        let e = write_atomic(Path::new("/"), b"x").unwrap_err();
        assert_eq!(e.step, Step::Create);
        // A missing directory.
        let e = write_atomic(&dir.path().join("missing/f"), b"x").unwrap_err();
        assert_eq!(e.step, Step::Create);
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_bare_file_name_uses_the_current_directory() {
        assert_eq!(target_dir(Path::new("file")), Path::new("."));
        assert_eq!(target_dir(Path::new("/a/b")), Path::new("/a"));
        assert_eq!(target_dir(Path::new("a/b")), Path::new("a"));
    }
}
