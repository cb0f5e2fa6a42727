//! Stateless STS session tokens for keyless.
//!
//! Owns the `SecurityToken` format: [`SessionClaims`] sealed with XChaCha20-Poly1305 under a key
//! from the [`KeyRing`] into a printable string ([`seal`]), and verified, decrypted and checked
//! for expiry by any process holding the ring, with no database read ([`open`]); the ring's
//! rotation and persistence format; new `STS.` AccessKey pairs; and the `Expiration` timestamp
//! form. Must not do I/O, read the clock or call an RNG: `now` (unix seconds) and random bytes
//! (keys, nonces, AccessKey material) are always arguments, so expiry and rotation are tested with
//! plain numbers. Must not know vendor error codes: the server maps [`TokenError`] to them.

mod access_key;
mod b64;
mod claims;
mod ring;
mod seal;
mod time;

pub use access_key::{
    new_sts_access_key, STS_ACCESS_KEY_ID_CHARS, STS_ACCESS_KEY_PREFIX, STS_ACCESS_KEY_RANDOM_LEN,
    STS_ACCESS_KEY_SECRET_CHARS,
};
pub use claims::{PrincipalKind, SessionClaims};
pub use ring::{
    KeyRing, RingError, SealingKey, DEFAULT_MAX_TOKEN_LIFETIME_SECS, DEFAULT_ROTATION_PERIOD_SECS,
    KEY_LEN, MAX_RING_KEYS,
};
pub use seal::{
    open, open_for_access_key, seal, TokenError, MAX_TOKEN_LEN, NONCE_LEN, TOKEN_VERSION,
};
pub use time::{format_expiration, parse_expiration, TimestampError};

/// Runs arbitrary bytes through every parser of untrusted input: [`open`] (as text, and as the
/// raw bytes of a token, and as the authenticated body of a token so the claims decoder is
/// reached past the AEAD) and [`KeyRing::from_bytes`]. Must never panic. For fuzz targets.
#[doc(hidden)]
pub fn fuzz_open(data: &[u8]) {
    let ring = KeyRing::new([0x5A; KEY_LEN], 0);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = open(&ring, text, 0);
    }
    let _ = open(&ring, &b64::encode(data), 0);
    if let Some(token) = seal::seal_raw(&ring, data, [0; NONCE_LEN]) {
        let _ = open(&ring, &token, 0);
    }
    let _ = claims::decode(data);
    let _ = KeyRing::from_bytes(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fuzz_open_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            fuzz_open(&data);
        }

        #[test]
        fn fuzz_open_never_panics_on_text(text in "[A-Za-z0-9_=+/-]{0,600}") {
            fuzz_open(text.as_bytes());
        }
    }
}
