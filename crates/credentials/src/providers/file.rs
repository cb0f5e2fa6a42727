//! Credentials from the keyless credentials file, `/etc/ram/credentials` by default (a keyless
//! extension: no official chain reads it; Alibaba's own PAI code reads it by hand).
//!
//! The file holds the credentials URI's JSON document with PascalCase keys. `Code`, when present,
//! must be `Success`; `SecurityToken` and `Expiration` are optional. The writer replaces it
//! atomically (temporary file + rename), so a read never sees half a document.

use crate::document;
use crate::{
    Credentials, CredentialsError, ProvideCredentials, ProvideFuture, ProviderConfig, TimeSource,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

const NAME: &str = "credentials_file";
/// A set with less than this left is stale and the file is read again.
const STALE_AHEAD_SECS: i64 = 15 * 60;
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Reads the keyless credentials file.
///
/// The parsed set is kept and returned again while the file's modification time and size are
/// unchanged and the set is not stale (more than 15 minutes left); otherwise the file is read
/// again. A missing file means not loaded; an unreadable or malformed one is an error.
#[derive(Debug, Clone)]
pub struct CredentialsFileProvider {
    path: PathBuf,
    time: Arc<dyn TimeSource>,
    last: Arc<Mutex<Option<Snapshot>>>,
}

#[derive(Debug, Clone)]
struct Snapshot {
    modified: Option<SystemTime>,
    len: u64,
    credentials: Credentials,
}

impl CredentialsFileProvider {
    /// Reads `config`'s credentials file with `config`'s clock.
    pub fn with_config(config: &ProviderConfig) -> Self {
        Self {
            path: config.credentials_file().to_path_buf(),
            time: config.time_source().clone(),
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// Reads `path` instead.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = path.into();
        self
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn cached(&self) -> Option<Snapshot> {
        match self.last.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn store(&self, s: Snapshot) {
        match self.last.lock() {
            Ok(mut g) => *g = Some(s),
            Err(p) => *p.into_inner() = Some(s),
        }
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let shown = self.path.display();
        let meta = match tokio::fs::metadata(&self.path).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CredentialsError::not_loaded(
                    NAME,
                    format!("`{shown}` does not exist"),
                ))
            }
            Err(e) => {
                return Err(CredentialsError::other(NAME, format!("`{shown}`: {e}")));
            }
        };
        if !meta.is_file() {
            return Err(CredentialsError::invalid_configuration(
                NAME,
                format!("`{shown}` is not a regular file"),
            ));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(CredentialsError::invalid_configuration(
                NAME,
                format!("`{shown}` is over {MAX_FILE_BYTES} bytes"),
            ));
        }
        let modified = meta.modified().ok();
        let now = self.time.now();
        if let Some(s) = self.cached() {
            let unchanged = modified.is_some() && s.modified == modified && s.len == meta.len();
            let stale = s
                .credentials
                .expiry()
                .is_some_and(|e| now >= e.saturating_sub(STALE_AHEAD_SECS));
            if unchanged && !stale {
                return Ok(s.credentials);
            }
        }
        let bytes = tokio::fs::read(&self.path)
            .await
            .map_err(|e| CredentialsError::other(NAME, format!("`{shown}`: {e}")))?;
        let credentials = document::parse_file(&bytes, NAME).map_err(|e| {
            CredentialsError::invalid_configuration(NAME, format!("`{shown}`: {e}"))
        })?;
        self.store(Snapshot {
            modified,
            len: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            credentials: credentials.clone(),
        });
        Ok(credentials)
    }
}

impl Default for CredentialsFileProvider {
    fn default() -> Self {
        Self::with_config(&ProviderConfig::default())
    }
}

impl ProvideCredentials for CredentialsFileProvider {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        Box::pin(self.load())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualTimeSource;

    const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn doc(id: &str, expiration: &str) -> String {
        format!(
            r#"{{"Code":"Success","AccessKeyId":"{id}","AccessKeySecret":"sk-{id}","SecurityToken":"tk-{id}","Expiration":"{expiration}"}}"#
        )
    }

    fn provider(dir: &Path, clock: &ManualTimeSource) -> CredentialsFileProvider {
        CredentialsFileProvider::with_config(
            &ProviderConfig::default()
                .with_time_source(clock.clone())
                .with_credentials_file(dir.join("credentials")),
        )
    }

    /// Replaces the file the way the writer does (new inode via rename).
    fn write(dir: &Path, body: &str) {
        let tmp = dir.join(".credentials.tmp");
        std::fs::write(&tmp, body).unwrap();
        std::fs::rename(&tmp, dir.join("credentials")).unwrap();
    }

    #[tokio::test]
    async fn missing_file_is_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let e = provider(dir.path(), &ManualTimeSource::new(T0))
            .load()
            .await
            .unwrap_err();
        assert!(e.is_not_loaded(), "{e}");
    }

    #[tokio::test]
    async fn a_rotated_file_is_picked_up_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualTimeSource::new(T0);
        let p = provider(dir.path(), &clock);
        write(dir.path(), &doc("STS.one", "2026-01-01T01:00:00Z"));
        let a = p.load().await.unwrap();
        assert_eq!(a.access_key_id(), "STS.one");
        assert_eq!(a.expiry(), Some(T0 + 3600));
        assert_eq!(a.security_token().unwrap().expose_secret(), "tk-STS.one");
        write(dir.path(), &doc("STS.rotated", "2026-01-01T02:00:00Z"));
        assert_eq!(p.load().await.unwrap().access_key_id(), "STS.rotated");
    }

    #[tokio::test]
    async fn an_unchanged_file_is_read_again_only_when_stale() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualTimeSource::new(T0);
        let p = provider(dir.path(), &clock);
        let path = dir.path().join("credentials");
        write(dir.path(), &doc("STS.aaa", "2026-01-01T01:00:00Z"));
        let a = p.load().await.unwrap();
        // Same length, same mtime, different content: the provider cannot tell, and keeps `a`.
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, doc("STS.bbb", "2026-01-01T01:00:00Z")).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_eq!(p.load().await.unwrap(), a);
        clock.advance(2700 - 1);
        assert_eq!(p.load().await.unwrap(), a);
        // 15 minutes left: stale, so the file is read again.
        clock.advance(1);
        assert_eq!(p.load().await.unwrap().access_key_id(), "STS.bbb");
    }

    #[tokio::test]
    async fn malformed_file_is_a_configuration_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path(), &ManualTimeSource::new(T0));
        write(
            dir.path(),
            r#"{"AccessKeyId":"LTAI","AccessKeySecret":"sk-hidden","Expiration":"tomorrow"}"#,
        );
        let e = p.load().await.unwrap_err();
        assert!(
            matches!(e, CredentialsError::InvalidConfiguration { .. }),
            "{e}"
        );
        assert!(!format!("{e:?}").contains("sk-hidden"));

        write(
            dir.path(),
            r#"{"AccessKeyId":"LTAI","AccessKeySecret":"sk"}"#,
        );
        let c = p.load().await.unwrap();
        assert_eq!((c.security_token(), c.expiry()), (None, None));
    }
}
