//! The credentials file, written so no reader ever sees half of it: a temporary file in the same
//! directory, mode 0600 from creation, written, fsynced, renamed over `credentials`, and the
//! directory fsynced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The file's name inside the credentials directory (seen as `/etc/ram/credentials`).
pub const FILE_NAME: &str = "credentials";
const TMP_PREFIX: &str = ".credentials.tmp-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The path of the credentials file in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Replaces `dir/credentials` with `content`, atomically.
pub fn write_atomic(dir: &Path, content: &[u8]) -> io::Result<()> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!("{TMP_PREFIX}{}-{n}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(content)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path_in(dir))?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes temporary files a killed agent may have left behind.
pub fn remove_leftovers(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_replaces_and_leaves_no_temp_files() {
        let dir = std::env::temp_dir().join(format!("keyless-agent-file-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("{TMP_PREFIX}1-1")), b"junk").unwrap();
        remove_leftovers(&dir);
        write_atomic(&dir, b"{\"a\":1}").unwrap();
        write_atomic(&dir, b"{\"a\":2}").unwrap();
        assert_eq!(fs::read(path_in(&dir)).unwrap(), b"{\"a\":2}");
        let mode = fs::metadata(path_in(&dir)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [FILE_NAME]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
