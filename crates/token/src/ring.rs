//! The sealing key ring: the active key seals, every key still in the ring opens.
//!
//! Rotation: [`KeyRing::rotate_if_due`] adds a key once the active one is older than the rotation
//! period; the key it replaces gets `retire_after = successor.created_at + max_token_lifetime`,
//! the last instant a token it sealed can still be unexpired, and is dropped once that is past.

use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use keyless_secret::SecretBytes;

/// Length of a sealing key in bytes.
pub const KEY_LEN: usize = 32;
/// Default rotation period: daily.
pub const DEFAULT_ROTATION_PERIOD_SECS: i64 = 86_400;
/// The longest a session token can live: the vendor's `MaxSessionDuration` ceiling (12 hours).
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: i64 = 43_200;
/// The most keys a persisted ring may hold (far more than rotation ever keeps).
pub const MAX_RING_KEYS: usize = 1024;

const MAGIC: &[u8; 4] = b"KLKR";
const FORMAT_VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 2;
const ENTRY_LEN: usize = 4 + 8 + 1 + 8 + KEY_LEN;

/// A persisted key ring that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// The bytes are not a key ring at all, or are one whose format is not understood.
    #[error("unsupported key ring format version {version}")]
    UnsupportedVersion {
        /// The version found (0 if the magic was missing).
        version: u8,
    },
    /// The bytes claim to be a key ring but break one of its rules.
    #[error("invalid key ring: {reason}")]
    Invalid {
        /// Which rule.
        reason: &'static str,
    },
}

/// One sealing key. `Debug` redacts the key material.
#[derive(Clone, Debug)]
pub struct SealingKey {
    id: u32,
    key: SecretBytes,
    created_at: i64,
    retire_after: Option<i64>,
}

impl SealingKey {
    fn new(id: u32, key: [u8; KEY_LEN], created_at: i64) -> Self {
        Self {
            id,
            key: SecretBytes::new(key.to_vec()),
            created_at,
            retire_after: None,
        }
    }

    /// The id written into every token this key seals.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// When the key was created (unix seconds).
    pub fn created_at(&self) -> i64 {
        self.created_at
    }

    /// For a superseded key, the last instant a token it sealed can be unexpired; `None` for the
    /// active key.
    pub fn retire_after(&self) -> Option<i64> {
        self.retire_after
    }

    /// The AEAD for this key, or `None` if the key is not [`KEY_LEN`] bytes (never: every
    /// constructor checks it).
    pub(crate) fn cipher(&self) -> Option<XChaCha20Poly1305> {
        XChaCha20Poly1305::new_from_slice(self.key.expose_secret()).ok()
    }
}

/// The sealing keys: one active (newest), plus superseded keys kept until everything they
/// sealed has expired. Never empty. `Debug` redacts key material.
#[derive(Clone, Debug)]
pub struct KeyRing {
    /// Superseded keys, oldest first, each with `retire_after` set.
    previous: Vec<SealingKey>,
    active: SealingKey,
}

impl KeyRing {
    /// A ring holding one key, id 1, created at `now`.
    pub fn new(key: [u8; KEY_LEN], now: i64) -> Self {
        Self {
            previous: Vec::new(),
            active: SealingKey::new(1, key, now),
        }
    }

    /// The key that seals new tokens.
    pub fn active(&self) -> &SealingKey {
        &self.active
    }

    /// The key with `id`, if the ring still holds it.
    pub fn get(&self, id: u32) -> Option<&SealingKey> {
        if self.active.id == id {
            return Some(&self.active);
        }
        self.previous.iter().find(|k| k.id == id)
    }

    /// Every key, oldest first; the last is [`KeyRing::active`].
    pub fn keys(&self) -> impl Iterator<Item = &SealingKey> + '_ {
        self.previous.iter().chain(std::iter::once(&self.active))
    }

    /// How many keys the ring holds (at least one).
    pub fn key_count(&self) -> usize {
        self.previous.len() + 1
    }

    /// Rotates and prunes. Adds a key made from `fresh_key` (random bytes from the caller) when
    /// the active key is at least `rotation_period_secs` old (a period below 1 counts as 1), and
    /// drops every superseded key whose `retire_after` is before `now`.
    ///
    /// `max_token_lifetime_secs` must be the longest lifetime any token sealed by the outgoing
    /// key can have had ([`DEFAULT_MAX_TOKEN_LIFETIME_SECS`] covers every vendor-valid duration).
    ///
    /// Returns whether the ring changed (a key was added or dropped), i.e. whether to persist it.
    pub fn rotate_if_due(
        &mut self,
        now: i64,
        rotation_period_secs: i64,
        max_token_lifetime_secs: i64,
        fresh_key: [u8; KEY_LEN],
    ) -> bool {
        let mut changed = false;
        if now.saturating_sub(self.active.created_at) >= rotation_period_secs.max(1) {
            let successor = SealingKey::new(self.next_id(), fresh_key, now);
            let mut outgoing = std::mem::replace(&mut self.active, successor);
            outgoing.retire_after = Some(now.saturating_add(max_token_lifetime_secs.max(0)));
            self.previous.push(outgoing);
            changed = true;
        }
        let before = self.previous.len();
        self.previous
            .retain(|k| k.retire_after.is_none_or(|retire| retire >= now));
        changed || self.previous.len() != before
    }

    /// An id no key in the ring has: the active id plus one, skipping ids in use.
    fn next_id(&self) -> u32 {
        let mut id = self.active.id.wrapping_add(1);
        while self.get(id).is_some() {
            id = id.wrapping_add(1);
        }
        id
    }

    /// The ring as bytes for persistence. They contain the keys: store them encrypted or in a
    /// file only the server can read (mode 0600).
    ///
    /// Format (big-endian): `"KLKR" | version u8 (1) | count u16 | count × (id u32 |
    /// created_at i64 | has_retire u8 | retire_after i64 | key [u8; 32])`, oldest key first,
    /// the active key last.
    pub fn to_bytes(&self) -> SecretBytes {
        let count = self.key_count();
        let mut out = Vec::with_capacity(HEADER_LEN + count * ENTRY_LEN);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        // Rotation keeps at most a handful of keys; saturate rather than wrap if it ever did not.
        out.extend_from_slice(&u16::try_from(count).unwrap_or(u16::MAX).to_be_bytes());
        for key in self.keys() {
            out.extend_from_slice(&key.id.to_be_bytes());
            out.extend_from_slice(&key.created_at.to_be_bytes());
            out.push(u8::from(key.retire_after.is_some()));
            out.extend_from_slice(&key.retire_after.unwrap_or(0).to_be_bytes());
            out.extend_from_slice(key.key.expose_secret());
        }
        SecretBytes::new(out)
    }

    /// Loads a ring written by [`KeyRing::to_bytes`], checking every rule: known version,
    /// 1..=[`MAX_RING_KEYS`] keys, exact length, unique ids, creation times in order, and
    /// `retire_after` set on every key but the last.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RingError> {
        let invalid = |reason| RingError::Invalid { reason };
        let (magic, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or(RingError::UnsupportedVersion { version: 0 })?;
        if magic != MAGIC {
            return Err(RingError::UnsupportedVersion { version: 0 });
        }
        let (&version, rest) = rest.split_first().ok_or(invalid("truncated header"))?;
        if version != FORMAT_VERSION {
            return Err(RingError::UnsupportedVersion { version });
        }
        let (count, mut rest) = rest
            .split_first_chunk::<2>()
            .ok_or(invalid("truncated header"))?;
        let count = usize::from(u16::from_be_bytes(*count));
        if count == 0 {
            return Err(invalid("no keys"));
        }
        if count > MAX_RING_KEYS {
            return Err(invalid("too many keys"));
        }
        if rest.len() != count * ENTRY_LEN {
            return Err(invalid("length does not match key count"));
        }
        let mut keys: Vec<SealingKey> = Vec::with_capacity(count);
        while let Some((entry, tail)) = rest.split_first_chunk::<ENTRY_LEN>() {
            rest = tail;
            let (id, entry) = split::<4>(entry);
            let (created_at, entry) = split::<8>(entry);
            let (&has_retire, entry) = entry.split_first().ok_or(invalid("truncated key"))?;
            let (retire_after, key) = split::<8>(entry);
            let id = u32::from_be_bytes(id);
            let created_at = i64::from_be_bytes(created_at);
            let retire_after = match has_retire {
                0 => None,
                1 => Some(i64::from_be_bytes(retire_after)),
                _ => return Err(invalid("bad retire flag")),
            };
            if keys.iter().any(|k| k.id == id) {
                return Err(invalid("duplicate key id"));
            }
            if keys.last().is_some_and(|prev| prev.created_at > created_at) {
                return Err(invalid("keys out of creation order"));
            }
            keys.push(SealingKey {
                id,
                key: SecretBytes::new(key.to_vec()),
                created_at,
                retire_after,
            });
        }
        let active = keys.pop().ok_or(invalid("no keys"))?;
        if active.retire_after.is_some() {
            return Err(invalid("active key has a retire time"));
        }
        if keys.iter().any(|k| k.retire_after.is_none()) {
            return Err(invalid("superseded key without a retire time"));
        }
        Ok(Self {
            previous: keys,
            active,
        })
    }
}

/// Splits a fixed-size array off the front of `bytes`, zero-filling if short (callers only pass
/// slices of a checked [`ENTRY_LEN`] entry, so it never is).
fn split<const N: usize>(bytes: &[u8]) -> ([u8; N], &[u8]) {
    match bytes.split_first_chunk::<N>() {
        Some((head, rest)) => (*head, rest),
        None => ([0; N], &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const LIFE: i64 = 43_200;

    fn ids(ring: &KeyRing) -> Vec<u32> {
        ring.keys().map(SealingKey::id).collect()
    }

    #[test]
    fn new_ring_has_one_active_key() {
        let ring = KeyRing::new([1; 32], 100);
        assert_eq!(ids(&ring), [1]);
        assert_eq!(ring.active().created_at(), 100);
        assert_eq!(ring.active().retire_after(), None);
        assert!(ring.get(1).is_some());
        assert!(ring.get(2).is_none());
    }

    #[test]
    fn rotates_only_when_due() {
        let mut ring = KeyRing::new([1; 32], 0);
        assert!(!ring.rotate_if_due(DAY - 1, DAY, LIFE, [2; 32]));
        assert_eq!(ids(&ring), [1]);
        assert!(ring.rotate_if_due(DAY, DAY, LIFE, [2; 32]));
        assert_eq!(ids(&ring), [1, 2]);
        assert_eq!(ring.active().id(), 2);
        assert_eq!(ring.active().created_at(), DAY);
        assert_eq!(ring.get(1).unwrap().retire_after(), Some(DAY + LIFE));
        // A clock that went backwards never rotates.
        assert!(!ring.rotate_if_due(0, DAY, LIFE, [3; 32]));
    }

    #[test]
    fn keeps_old_keys_exactly_as_long_as_needed() {
        let mut ring = KeyRing::new([1; 32], 0);
        assert!(ring.rotate_if_due(DAY, DAY, LIFE, [2; 32]));
        // A token sealed by key 1 just before rotation expires at DAY + LIFE at the latest.
        assert!(!ring.rotate_if_due(DAY + LIFE, DAY, LIFE, [3; 32]));
        assert_eq!(ids(&ring), [1, 2]);
        assert!(ring.rotate_if_due(DAY + LIFE + 1, DAY, LIFE, [3; 32]));
        assert_eq!(ids(&ring), [2]);
    }

    #[test]
    fn long_lifetime_keeps_several_keys() {
        let mut ring = KeyRing::new([1; 32], 0);
        let life = 3 * DAY;
        for (day, key) in (1..=4).zip(2u8..) {
            assert!(ring.rotate_if_due(day * DAY, DAY, life, [key; 32]));
        }
        assert_eq!(ids(&ring), [1, 2, 3, 4, 5]);
        assert!(ring.rotate_if_due(5 * DAY, DAY, life, [6; 32]));
        // Key 1 was superseded at DAY, so it retires after 4 * DAY.
        assert_eq!(ids(&ring), [2, 3, 4, 5, 6]);
    }

    #[test]
    fn ids_skip_ones_in_use() {
        let mut ring = KeyRing::new([1; 32], 0);
        ring.active.id = u32::MAX;
        assert!(ring.rotate_if_due(DAY, DAY, LIFE, [2; 32]));
        assert_eq!(ids(&ring), [u32::MAX, 0]);
    }

    #[test]
    fn persistence_roundtrip() {
        let mut ring = KeyRing::new([1; 32], 5);
        ring.rotate_if_due(DAY + 5, DAY, LIFE, [2; 32]);
        let bytes = ring.to_bytes();
        assert_eq!(bytes.len(), HEADER_LEN + 2 * ENTRY_LEN);
        let back = KeyRing::from_bytes(bytes.expose_secret()).unwrap();
        assert_eq!(ids(&back), ids(&ring));
        for (a, b) in back.keys().zip(ring.keys()) {
            assert_eq!(a.key, b.key);
            assert_eq!(a.created_at, b.created_at);
            assert_eq!(a.retire_after, b.retire_after);
        }
    }

    #[test]
    fn debug_redacts_keys() {
        let ring = KeyRing::new([0xAB; 32], 0);
        let dbg = format!("{ring:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains("171"), "{dbg}");
    }

    #[test]
    fn from_bytes_validates() {
        let mut ring = KeyRing::new([1; 32], 0);
        ring.rotate_if_due(DAY, DAY, LIFE, [2; 32]);
        let good = ring.to_bytes().expose_secret().to_vec();
        let version = |v| RingError::UnsupportedVersion { version: v };
        let invalid = |reason| RingError::Invalid { reason };
        let edit = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            KeyRing::from_bytes(&b).unwrap_err()
        };
        assert_eq!(KeyRing::from_bytes(b"").unwrap_err(), version(0));
        assert_eq!(edit(&|b| b[0] = b'X'), version(0));
        assert_eq!(edit(&|b| b[4] = 2), version(2));
        assert_eq!(edit(&|b| b.truncate(5)), invalid("truncated header"));
        assert_eq!(
            edit(&|b| b.pop().map(drop).unwrap()),
            invalid("length does not match key count")
        );
        assert_eq!(
            edit(&|b| b.push(0)),
            invalid("length does not match key count")
        );
        assert_eq!(
            edit(&|b| {
                b.truncate(HEADER_LEN);
                b[6] = 0;
            }),
            invalid("no keys")
        );
        assert_eq!(
            edit(&|b| b[5..7].copy_from_slice(&2000u16.to_be_bytes())),
            invalid("too many keys")
        );
        let second = HEADER_LEN + ENTRY_LEN;
        assert_eq!(edit(&|b| b[second + 3] = 1), invalid("duplicate key id"));
        assert_eq!(
            edit(&|b| b[second + 4] = 0x80),
            invalid("keys out of creation order")
        );
        assert_eq!(
            edit(&|b| b[second + 12] = 1),
            invalid("active key has a retire time")
        );
        assert_eq!(
            edit(&|b| b[HEADER_LEN + 12] = 0),
            invalid("superseded key without a retire time")
        );
        assert_eq!(
            edit(&|b| b[HEADER_LEN + 12] = 7),
            invalid("bad retire flag")
        );
        assert_eq!(
            RingError::UnsupportedVersion { version: 9 }.to_string(),
            "unsupported key ring format version 9"
        );
    }
}
