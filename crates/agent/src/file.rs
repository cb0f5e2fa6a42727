//! The credentials file, written so no reader ever sees half of it: `keyless_wire::fs::write_atomic`
//! (a temporary file in the same directory, mode 0600 from creation, written, fsynced, renamed
//! over `credentials`, and the directory fsynced) — all done before it returns, so the caller can
//! serve the same set only once the file is published.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The file's name inside the credentials directory (seen as `/etc/ram/credentials`).
pub const FILE_NAME: &str = "credentials";

/// The path of the credentials file in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Replaces `dir/credentials` with `content`, atomically and durably.
pub fn write_atomic(dir: &Path, content: &[u8]) -> io::Result<()> {
    keyless_wire::fs::write_atomic(&path_in(dir), content).map_err(io::Error::from)
}

/// Removes temporary files a killed agent may have left behind.
pub fn remove_leftovers(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = keyless_wire::fs::temp_prefix(FILE_NAME);
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
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
        fs::write(
            dir.join(format!("{}1-1", keyless_wire::fs::temp_prefix(FILE_NAME))),
            b"junk",
        )
        .unwrap();
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
