//! Secret wrapper types shared by every keyless crate.
//!
//! Owns: [`SecretString`] and [`SecretBytes`], the only way keyless holds an AccessKeySecret, a
//! session token, or a sealing key in memory. `Debug` prints `** redacted **`, there is no
//! `Display`, the bytes are zeroized on drop, and equality is constant-time. The accessor is
//! named `expose_secret()` so every place a secret leaves its wrapper can be found with grep.
//!
//! Must not: depend on anything but `zeroize` and `subtle`; implement `Display` or `Serialize`.

use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A secret UTF-8 string (an AccessKeySecret, a SecurityToken, ...).
#[derive(Clone)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps `s`; the original allocation is moved, not copied.
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    /// The secret itself. Every call site is a place a secret leaves its wrapper.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self::new(s.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for SecretString {}

/// Secret bytes (a sealing key, a master key).
#[derive(Clone)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wraps `b`.
    pub fn new(b: Vec<u8>) -> Self {
        Self(Zeroizing::new(b))
    }

    /// The secret bytes. Every call site is a place a secret leaves its wrapper.
    pub fn expose_secret(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl Eq for SecretBytes {}

/// Constant-time comparison of two byte strings (the length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretString::from("hunter2-secret");
        assert_eq!(format!("{s:?}"), "** redacted **");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
        let b = SecretBytes::new(vec![1, 2, 3]);
        assert_eq!(format!("{b:?}"), "** redacted **");
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(SecretString::from("a"), SecretString::from("a"));
        assert_ne!(SecretString::from("a"), SecretString::from("b"));
        assert_ne!(SecretString::from("a"), SecretString::from("ab"));
        assert!(ct_eq(b"xyz", b"xyz"));
        assert!(!ct_eq(b"xyz", b"xya"));
    }
}
