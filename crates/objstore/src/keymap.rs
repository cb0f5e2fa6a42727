//! Object key ↔ relative path, the one place that decides where a key lives on disk.
//!
//! The scheme, and why it is safe, injective and order-preserving, is documented on
//! [`crate::FsBackend`] ("Key paths"). In short: `a/b/c` → `da/db/oc`, `a/b/` → `da/db/o`,
//! `../x` → `d../ox`; bytes outside `a-z 0-9 - _ .` are `%XX`; segments of 64 bytes or more are
//! cut into `c…` continuation directories.

use std::path::{Component, Path, PathBuf};

use crate::error::StoreError;
use crate::MAX_KEY_BYTES;

/// Key bytes per continuation chunk.
pub(crate) const CHUNK: usize = 64;

/// What a path component stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// A full chunk of a longer segment.
    Cont,
    /// The end of a segment followed by `/`.
    Dir,
    /// The end of the key: an object file.
    Obj,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Cont => 'c',
            Kind::Dir => 'd',
            Kind::Obj => 'o',
        }
    }
}

fn kept(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn component(kind: Kind, chunk: &[u8]) -> String {
    let mut out = String::with_capacity(1 + chunk.len() * 3);
    out.push(kind.letter());
    for &b in chunk {
        if kept(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Checks a key: 1 to [`MAX_KEY_BYTES`] bytes.
pub(crate) fn check_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() {
        return Err(StoreError::InvalidObjectName("the key is empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::InvalidObjectName(
            "the key is longer than 1023 bytes",
        ));
    }
    Ok(())
}

/// The path components of `key`, relative to the bucket's object directory.
pub(crate) fn key_components(key: &str) -> Result<Vec<String>, StoreError> {
    check_key(key)?;
    let segments: Vec<&str> = key.split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut out = Vec::new();
    for (i, segment) in segments.into_iter().enumerate() {
        let mut rest = segment.as_bytes();
        while rest.len() >= CHUNK {
            let (chunk, tail) = rest.split_at(CHUNK);
            out.push(component(Kind::Cont, chunk));
            rest = tail;
        }
        out.push(component(
            if i == last { Kind::Obj } else { Kind::Dir },
            rest,
        ));
    }
    Ok(out)
}

/// The relative path of `key` (see [`key_components`]).
pub(crate) fn key_path(key: &str) -> Result<PathBuf, StoreError> {
    Ok(key_components(key)?.into_iter().collect())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one component name; `None` for anything this module would not have written (so
/// temporary files, foreign files and non-canonical spellings are ignored).
pub(crate) fn parse_component(name: &str) -> Option<(Kind, Vec<u8>)> {
    let bytes = name.as_bytes();
    let kind = match bytes.first()? {
        b'c' => Kind::Cont,
        b'd' => Kind::Dir,
        b'o' => Kind::Obj,
        _ => return None,
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 1usize;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_value)?;
            let lo = bytes.get(i + 2).copied().and_then(hex_value)?;
            let v = (hi << 4) | lo;
            if kept(v) {
                return None;
            }
            out.push(v);
            i += 3;
        } else if kept(b) {
            out.push(b);
            i += 1;
        } else {
            return None;
        }
    }
    let length_ok = match kind {
        Kind::Cont => out.len() == CHUNK,
        Kind::Dir | Kind::Obj => out.len() < CHUNK,
    };
    length_ok.then_some((kind, out))
}

/// The key a chain of component names stands for; `None` unless the chain is one that
/// [`key_components`] produces (continuations and directories, then exactly one object last).
pub(crate) fn components_to_key<S: AsRef<str>>(components: &[S]) -> Option<String> {
    let (last, init) = components.split_last()?;
    let mut key = Vec::new();
    for c in init {
        let (kind, bytes) = parse_component(c.as_ref())?;
        key.extend_from_slice(&bytes);
        match kind {
            Kind::Cont => {}
            Kind::Dir => key.push(b'/'),
            Kind::Obj => return None,
        }
    }
    let (kind, bytes) = parse_component(last.as_ref())?;
    if kind != Kind::Obj {
        return None;
    }
    key.extend_from_slice(&bytes);
    String::from_utf8(key).ok()
}

/// Checks the invariants of the mapping for arbitrary bytes (read as UTF-8, lossily): every
/// component is a normal, short, NUL- and slash-free name; the path stays below its root; and
/// the key is recovered from the path. A cargo-fuzz target calls this; it panics on a violation.
#[doc(hidden)]
pub fn fuzz_key_to_path(data: &[u8]) {
    let key = String::from_utf8_lossy(data);
    let Ok(components) = key_components(&key) else {
        assert!(key.is_empty() || key.len() > MAX_KEY_BYTES);
        return;
    };
    for c in &components {
        assert!(!c.is_empty() && c.len() <= 193, "component length");
        assert!(c != "." && c != "..", "dot component");
        assert!(!c.contains(['/', '\\', '\0']), "separator in component");
        assert!(
            !c.bytes().any(|b| b.is_ascii_uppercase() && b > b'F'),
            "upper case"
        );
    }
    let root = Path::new("/fuzz-root/buckets/b/objects");
    let path = root.join(key_path(&key).unwrap_or_default());
    assert!(path.starts_with(root), "escaped the root");
    let relative = path.strip_prefix(root).unwrap_or(Path::new(".."));
    assert!(
        relative
            .components()
            .all(|c| matches!(c, Component::Normal(_))),
        "non-normal component"
    );
    assert_eq!(relative.components().count(), components.len());
    assert_eq!(
        components_to_key(&components).as_deref(),
        Some(&*key),
        "round trip"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples() {
        assert_eq!(key_components("a/b/c").unwrap(), ["da", "db", "oc"]);
        assert_eq!(key_components("a/b/").unwrap(), ["da", "db", "o"]);
        assert_eq!(key_components("../x").unwrap(), ["d..", "ox"]);
        assert_eq!(key_components("/x").unwrap(), ["d", "ox"]);
        assert_eq!(
            key_components("A b\\%\0é").unwrap(),
            ["o%41%20b%5C%25%00%C3%A9"]
        );
        assert_eq!(key_components(".").unwrap(), ["o."]);
        let long = "x".repeat(150);
        let c = key_components(&long).unwrap();
        assert_eq!(c.len(), 3);
        assert!(
            c[0].starts_with('c')
                && c[1].starts_with('c')
                && c[2] == format!("o{}", "x".repeat(22))
        );
        let exact = "y".repeat(64);
        assert_eq!(
            key_components(&exact).unwrap(),
            [format!("c{exact}"), "o".to_owned()]
        );
        assert!(key_components("").is_err());
        assert!(key_components(&"k".repeat(1024)).is_err());
        assert!(key_components(&"k".repeat(1023)).is_ok());
    }

    #[test]
    fn decoding_is_strict() {
        assert_eq!(parse_component("oabc"), Some((Kind::Obj, b"abc".to_vec())));
        assert_eq!(parse_component("o%41"), Some((Kind::Obj, b"A".to_vec())));
        for bad in ["", "xabc", "o%61", "o%4a", "oA", "o%4", "o/", "d~"] {
            assert_eq!(parse_component(bad), None, "{bad}");
        }
        assert_eq!(parse_component(&format!("c{}", "a".repeat(63))), None);
        assert_eq!(parse_component(&format!("o{}", "a".repeat(64))), None);
        assert_eq!(components_to_key(&["da", "ob"]).as_deref(), Some("a/b"));
        assert_eq!(components_to_key(&["da", "db"]), None);
        assert_eq!(components_to_key(&["oa", "ob"]), None);
        assert_eq!(components_to_key::<&str>(&[]), None);
    }

    #[test]
    fn fuzz_entry_accepts_nasty_keys() {
        for key in [
            &b"../../etc/passwd"[..],
            b"/abs/path",
            b"a\0b",
            b"\\windows\\path",
            b"trailing/",
            b"//",
            b"",
            b"\xff\xfe",
            "é".repeat(600).as_bytes(),
            "/".repeat(1023).as_bytes(),
        ] {
            fuzz_key_to_path(key);
        }
    }
}
