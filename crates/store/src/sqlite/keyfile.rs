//! The master key (`data_dir/master.key`, 32 random bytes, mode 0600) and the sealing of
//! AccessKeySecrets with it: XChaCha20-Poly1305, a random 24-byte nonce per secret, and the
//! AccessKeyId as associated data (so a sealed secret moved to another key's row fails to open).

use crate::{Result, StoreError};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use keyless_secret::SecretString;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// The master key file's name inside the data dir.
pub(crate) const MASTER_KEY_FILE: &str = "master.key";
/// Length of the master key in bytes.
pub(crate) const MASTER_KEY_LEN: usize = 32;
/// Length of an XChaCha20-Poly1305 nonce in bytes.
pub(crate) const NONCE_LEN: usize = 24;

/// Seals and opens AccessKeySecrets. The cipher zeroizes its key on drop.
pub(crate) struct SecretSealer {
    cipher: XChaCha20Poly1305,
}

/// A sealed secret: the nonce and the ciphertext (with its 16-byte tag).
pub(crate) struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl SecretSealer {
    /// Loads `dir/master.key`, creating it on first use. Refuses a key file of the wrong length.
    pub(crate) fn load_or_create(dir: &Path) -> Result<Self> {
        let key = match read_key(dir)? {
            Some(key) => key,
            None => create_key(dir)?,
        };
        Self::from_key(&key)
    }

    pub(crate) fn from_key(key: &[u8]) -> Result<Self> {
        let cipher = XChaCha20Poly1305::new_from_slice(key)
            .map_err(|_| StoreError::Backend("the master key has the wrong length".into()))?;
        Ok(Self { cipher })
    }

    /// Encrypts `secret` for the key `access_key_id`.
    pub(crate) fn seal(&self, access_key_id: &str, secret: &SecretString) -> Result<Sealed> {
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: access_key_id.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Backend("cannot encrypt an access key secret".into()))?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Decrypts the secret of `access_key_id`. A wrong master key, a tampered row or a row
    /// copied from another key is `Corrupt`.
    pub(crate) fn open(
        &self,
        access_key_id: &str,
        nonce: &[u8],
        ciphertext: &[u8],
    ) -> Result<SecretString> {
        if nonce.len() != NONCE_LEN {
            return Err(corrupt_secret(access_key_id));
        }
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: access_key_id.as_bytes(),
                },
            )
            .map_err(|_| corrupt_secret(access_key_id))?;
        match String::from_utf8(plain) {
            Ok(s) => Ok(SecretString::new(s)),
            Err(e) => {
                let mut bytes = e.into_bytes();
                bytes.zeroize();
                Err(corrupt_secret(access_key_id))
            }
        }
    }
}

fn corrupt_secret(access_key_id: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "the secret of access key `{access_key_id}` cannot be decrypted (wrong master key or tampered row)"
    ))
}

/// Fills `buf` from the operating system's RNG.
pub(crate) fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf)
        .map_err(|e| StoreError::Backend(format!("the random number generator failed: {e}")))
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("{what} `{}`: {e}", path.display()))
}

/// Reads an existing key file; `None` if there is none.
fn read_key(dir: &Path) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let path = dir.join(MASTER_KEY_FILE);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("cannot open the master key file", &path, e)),
    };
    // Read one byte more than a key so an overlong file is noticed without reading it all.
    let mut buf = Zeroizing::new(Vec::with_capacity(MASTER_KEY_LEN + 1));
    (&mut file)
        .take(MASTER_KEY_LEN as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| io_err("cannot read the master key file", &path, e))?;
    if buf.len() != MASTER_KEY_LEN {
        return Err(StoreError::Backend(format!(
            "the master key file `{}` must hold exactly {MASTER_KEY_LEN} bytes; refusing to open",
            path.display()
        )));
    }
    Ok(Some(buf))
}

/// Creates the key file atomically: the key is written and fsync'd into a temporary file that
/// is 0600 from creation, then hard-linked to `master.key` (which fails if another process got
/// there first, in which case its key is used). A crash leaves either no `master.key` or a
/// complete one, never a short one.
fn create_key(dir: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let mut key = Zeroizing::new(vec![0u8; MASTER_KEY_LEN]);
    random(&mut key)?;
    let mut tag = [0u8; 8];
    random(&mut tag)?;
    let tmp = dir.join(format!(
        "{MASTER_KEY_FILE}.tmp-{}",
        crate::validate::hex_encode(&tag)
    ));
    let path = dir.join(MASTER_KEY_FILE);
    let write = || -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&key)?;
        file.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("cannot write the master key file", &tmp, e));
    }
    let linked = fs::hard_link(&tmp, &path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return read_key(dir)?.ok_or_else(|| {
                StoreError::Backend(format!("the master key file `{}` vanished", path.display()))
            });
        }
        Err(e) => return Err(io_err("cannot create the master key file", &path, e)),
    }
    sync_dir(dir)?;
    Ok(key)
}

/// Makes a directory entry change durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("cannot sync the directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> SecretSealer {
        SecretSealer::from_key(&[7u8; MASTER_KEY_LEN]).unwrap()
    }

    #[test]
    fn seal_then_open_round_trips() {
        let s = sealer();
        let secret = SecretString::from("very-secret-value");
        let sealed = s.seal("LTAIabc", &secret).unwrap();
        assert_eq!(sealed.nonce.len(), NONCE_LEN);
        assert_eq!(sealed.ciphertext.len(), secret.len() + 16);
        let opened = s
            .open("LTAIabc", &sealed.nonce, &sealed.ciphertext)
            .unwrap();
        assert_eq!(opened, secret);
    }

    #[test]
    fn nonces_differ_per_seal() {
        let s = sealer();
        let secret = SecretString::from("x");
        let a = s.seal("k", &secret).unwrap();
        let b = s.seal("k", &secret).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn wrong_aad_key_or_tampering_fails_without_leaking() {
        let s = sealer();
        let secret = SecretString::from("leak-me-not");
        let sealed = s.seal("id-1", &secret).unwrap();
        let err = s
            .open("id-2", &sealed.nonce, &sealed.ciphertext)
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)));
        assert!(!err.to_string().contains("leak-me-not"));
        let other = SecretSealer::from_key(&[8u8; MASTER_KEY_LEN]).unwrap();
        assert!(other
            .open("id-1", &sealed.nonce, &sealed.ciphertext)
            .is_err());
        let mut ct = sealed.ciphertext.clone();
        ct[0] ^= 1;
        assert!(s.open("id-1", &sealed.nonce, &ct).is_err());
        assert!(s
            .open("id-1", &sealed.nonce[1..], &sealed.ciphertext)
            .is_err());
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = create_key(dir.path()).unwrap();
        let b = read_key(dir.path()).unwrap().unwrap();
        assert_eq!(*a, *b);
        // A second creation loses the race and reads the existing key.
        let c = create_key(dir.path()).unwrap();
        assert_eq!(*a, *c);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary files are removed");
    }
}
