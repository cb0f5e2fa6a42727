//! The SecurityToken wire format, sealing and opening.
//!
//! A token is the unpadded base64url (RFC 4648 §5, alphabet `A-Z a-z 0-9 - _`) encoding of
//!
//! ```text
//! version u8 (1) | key id u32 BE | nonce [u8; 24] | XChaCha20-Poly1305(claims) | tag [u8; 16]
//! ```
//!
//! with associated data `version | key id`, and the claims in the encoding of [`crate::claims`].
//! Tokens are at most [`MAX_TOKEN_LEN`] characters; longer input is rejected before decoding.

use crate::b64;
use crate::claims::{self, SessionClaims};
use crate::ring::{KeyRing, SealingKey};
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{Tag, XNonce};
use keyless_secret::SecretBytes;

/// The format version in the first byte of every token.
pub const TOKEN_VERSION: u8 = 1;
/// Longest token accepted or produced, in characters.
pub const MAX_TOKEN_LEN: usize = 12 * 1024;
/// Length of the nonce the caller passes to [`seal`].
pub const NONCE_LEN: usize = 24;

const AAD_LEN: usize = 1 + 4;
const HEADER_LEN: usize = AAD_LEN + NONCE_LEN;
const TAG_LEN: usize = 16;

/// Why a token could not be sealed or opened.
///
/// The server maps `Malformed` to `InvalidSecurityToken.Malformed`, `UnknownKey`, `Tampered` and
/// `AccessKeyMismatch` to `InvalidSecurityToken.MismatchWithAccessKey`, and `Expired` to
/// `InvalidSecurityToken.Expired`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token: bad encoding, size or version, or (never for tokens this crate sealed)
    /// authenticated contents that do not decode.
    #[error("malformed security token: {reason}")]
    Malformed {
        /// What was wrong.
        reason: &'static str,
    },
    /// Sealed by a key the ring does not hold (rotated out, or another ring's).
    #[error("security token sealed with unknown key {key_id}")]
    UnknownKey {
        /// The key id in the token.
        key_id: u32,
    },
    /// The authentication tag does not verify: the token was changed or forged.
    #[error("security token failed authentication")]
    Tampered,
    /// The token verified but its credentials have expired.
    #[error("security token expired at {expired_at}")]
    Expired {
        /// `expires_at` from the token (unix seconds).
        expired_at: i64,
    },
    /// The token is valid but belongs to another AccessKeyId than the request's.
    #[error("security token does not belong to access key `{access_key_id}`")]
    AccessKeyMismatch {
        /// The AccessKeyId the request was signed with.
        access_key_id: String,
    },
    /// The claims do not fit in a token of [`MAX_TOKEN_LEN`] characters.
    #[error("security token would be {len} characters, more than the maximum {max}")]
    TooLarge {
        /// The length the token would have had.
        len: usize,
        /// [`MAX_TOKEN_LEN`].
        max: usize,
    },
}

fn malformed(reason: &'static str) -> TokenError {
    TokenError::Malformed { reason }
}

/// Seals `claims` with the ring's active key. `nonce` must be fresh random bytes from the caller
/// (24 random bytes make a repeat negligible).
pub fn seal(
    ring: &KeyRing,
    claims: &SessionClaims,
    nonce: [u8; NONCE_LEN],
) -> Result<String, TokenError> {
    let body_len = claims::encoded_len(claims);
    let raw_len = HEADER_LEN + body_len + TAG_LEN;
    let len = b64::encoded_len(raw_len);
    let too_large = TokenError::TooLarge {
        len,
        max: MAX_TOKEN_LEN,
    };
    if len > MAX_TOKEN_LEN {
        return Err(too_large);
    }
    // Sized exactly, so the plaintext is never copied by a reallocation; it is encrypted in place.
    let mut buf = Vec::with_capacity(raw_len);
    let key = ring.active();
    put_header(&mut buf, key, nonce);
    if claims::encode(claims, &mut buf).is_err() {
        wipe(buf);
        return Err(too_large);
    }
    seal_body(key, buf, too_large)
}

fn put_header(buf: &mut Vec<u8>, key: &SealingKey, nonce: [u8; NONCE_LEN]) {
    buf.push(TOKEN_VERSION);
    buf.extend_from_slice(&key.id().to_be_bytes());
    buf.extend_from_slice(&nonce);
}

/// Encrypts `buf[HEADER_LEN..]` in place and encodes the result; `buf` holds the header first.
fn seal_body(key: &SealingKey, mut buf: Vec<u8>, err: TokenError) -> Result<String, TokenError> {
    let Some(cipher) = key.cipher() else {
        wipe(buf);
        return Err(err);
    };
    let (header, body) = buf.split_at_mut(HEADER_LEN);
    let (aad, nonce) = header.split_at(AAD_LEN);
    let nonce = XNonce::from_slice(nonce);
    match cipher.encrypt_in_place_detached(nonce, aad, body) {
        Ok(tag) => {
            buf.extend_from_slice(&tag);
            Ok(b64::encode(&buf))
        }
        Err(_) => {
            wipe(buf);
            Err(err)
        }
    }
}

/// Seals arbitrary bytes as a token body, so fuzzing reaches the claims decoder through `open`.
pub(crate) fn seal_raw(ring: &KeyRing, body: &[u8], nonce: [u8; NONCE_LEN]) -> Option<String> {
    let mut buf = Vec::with_capacity(HEADER_LEN + body.len() + TAG_LEN);
    put_header(&mut buf, ring.active(), nonce);
    buf.extend_from_slice(body);
    seal_body(ring.active(), buf, malformed("unsealable")).ok()
}

/// Opens `token` with whichever key of `ring` sealed it and returns its claims if it verifies
/// and has not expired at `now` (unix seconds; expired means `now >= expires_at`).
///
/// Checks in order: size and encoding, version (`Malformed`), key id (`UnknownKey`),
/// authentication (`Tampered`), contents (`Malformed`), expiry (`Expired`).
pub fn open(ring: &KeyRing, token: &str, now: i64) -> Result<SessionClaims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(malformed("too long"));
    }
    let mut buf = b64::decode(token.as_bytes()).ok_or(malformed("not base64url"))?;
    let result = open_raw(ring, &mut buf);
    wipe(buf);
    let claims = result?;
    if claims.is_expired_at(now) {
        return Err(TokenError::Expired {
            expired_at: claims.expires_at,
        });
    }
    Ok(claims)
}

/// [`open`], then checks that the token belongs to `access_key_id`, the AccessKeyId the request
/// was signed with.
pub fn open_for_access_key(
    ring: &KeyRing,
    token: &str,
    access_key_id: &str,
    now: i64,
) -> Result<SessionClaims, TokenError> {
    let claims = open(ring, token, now)?;
    if claims.access_key_id != access_key_id {
        return Err(TokenError::AccessKeyMismatch {
            access_key_id: access_key_id.to_owned(),
        });
    }
    Ok(claims)
}

/// Verifies and decrypts `buf` in place and decodes the claims (without the expiry check).
fn open_raw(ring: &KeyRing, buf: &mut [u8]) -> Result<SessionClaims, TokenError> {
    if buf.len() < HEADER_LEN + TAG_LEN {
        return Err(malformed("too short"));
    }
    let (header, rest) = buf.split_at_mut(HEADER_LEN);
    let (aad, nonce) = header.split_at(AAD_LEN);
    let Some((&version, key_id)) = aad.split_first() else {
        return Err(malformed("too short"));
    };
    if version != TOKEN_VERSION {
        return Err(malformed("unsupported version"));
    }
    let key_id = key_id
        .try_into()
        .map(u32::from_be_bytes)
        .map_err(|_| malformed("too short"))?;
    let key = ring.get(key_id).ok_or(TokenError::UnknownKey { key_id })?;
    let cipher = key.cipher().ok_or(TokenError::UnknownKey { key_id })?;
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| malformed("too short"))?;
    let Some((body, tag)) = rest.split_last_chunk_mut::<TAG_LEN>() else {
        return Err(malformed("too short"));
    };
    cipher
        .decrypt_in_place_detached(&XNonce::from(nonce), aad, body, &Tag::from(*tag))
        .map_err(|_| TokenError::Tampered)?;
    claims::decode(body).ok_or(malformed("undecodable claims"))
}

/// Zeroizes a buffer that held plaintext claims (via `SecretBytes`'s zeroizing drop).
fn wipe(buf: Vec<u8>) {
    drop(SecretBytes::new(buf));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::tests::sample;

    fn ring() -> KeyRing {
        KeyRing::new([9; 32], 0)
    }

    #[test]
    fn seal_then_open() {
        let (ring, claims) = (ring(), sample());
        let token = seal(&ring, &claims, [3; 24]).unwrap();
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(open(&ring, &token, claims.issued_at).unwrap(), claims);
        // Deterministic for a given nonce; a different nonce gives a different token.
        assert_eq!(seal(&ring, &claims, [3; 24]).unwrap(), token);
        assert_ne!(seal(&ring, &claims, [4; 24]).unwrap(), token);
    }

    #[test]
    fn expiry_boundary() {
        let (ring, claims) = (ring(), sample());
        let token = seal(&ring, &claims, [3; 24]).unwrap();
        assert!(open(&ring, &token, claims.expires_at - 1).is_ok());
        assert_eq!(
            open(&ring, &token, claims.expires_at).unwrap_err(),
            TokenError::Expired {
                expired_at: claims.expires_at
            }
        );
    }

    #[test]
    fn access_key_binding() {
        let (ring, claims) = (ring(), sample());
        let token = seal(&ring, &claims, [3; 24]).unwrap();
        let now = claims.issued_at;
        assert!(open_for_access_key(&ring, &token, &claims.access_key_id, now).is_ok());
        assert_eq!(
            open_for_access_key(&ring, &token, "STS.other", now).unwrap_err(),
            TokenError::AccessKeyMismatch {
                access_key_id: "STS.other".into()
            }
        );
    }

    #[test]
    fn distinct_errors() {
        let (ring, claims) = (ring(), sample());
        let now = claims.issued_at;
        let raw = b64::decode(seal(&ring, &claims, [3; 24]).unwrap().as_bytes()).unwrap();
        let reopen = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut r = raw.clone();
            f(&mut r);
            open(&ring, &b64::encode(&r), now).unwrap_err()
        };
        assert_eq!(reopen(&|r| r[0] = 2), malformed("unsupported version"));
        assert_eq!(reopen(&|r| r[4] = 2), TokenError::UnknownKey { key_id: 2 });
        assert_eq!(reopen(&|r| r[10] ^= 1), TokenError::Tampered);
        assert_eq!(
            reopen(&|r| *r.last_mut().unwrap() ^= 1),
            TokenError::Tampered
        );
        assert_eq!(
            reopen(&|r| r.truncate(HEADER_LEN + TAG_LEN - 1)),
            malformed("too short")
        );
        assert_eq!(
            reopen(&|r| r.truncate(HEADER_LEN + TAG_LEN)),
            TokenError::Tampered
        );
        assert_eq!(
            open(&ring, "a", now).unwrap_err(),
            malformed("not base64url")
        );
        assert_eq!(open(&ring, "", now).unwrap_err(), malformed("too short"));
        assert_eq!(
            open(&ring, "AAAA=", now).unwrap_err(),
            malformed("not base64url")
        );
        let huge = "A".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(open(&ring, &huge, now).unwrap_err(), malformed("too long"));
        // Authentic but undecodable contents.
        let junk = seal_raw(&ring, b"junk", [0; 24]).unwrap();
        assert_eq!(
            open(&ring, &junk, now).unwrap_err(),
            malformed("undecodable claims")
        );
        let empty = seal_raw(&ring, b"", [0; 24]).unwrap();
        assert_eq!(
            open(&ring, &empty, now).unwrap_err(),
            malformed("undecodable claims")
        );
    }

    #[test]
    fn too_large_is_refused_at_seal() {
        let ring = ring();
        let mut claims = sample();
        claims.session_policy = Some("x".repeat(MAX_TOKEN_LEN));
        assert!(matches!(
            seal(&ring, &claims, [0; 24]),
            Err(TokenError::TooLarge {
                max: MAX_TOKEN_LEN,
                ..
            })
        ));
        // The largest vendor-valid session policy (2048 characters, even all 4-byte UTF-8) fits.
        claims.session_policy = Some("𝄞".repeat(2048));
        let token = seal(&ring, &claims, [0; 24]).unwrap();
        assert!(token.len() <= MAX_TOKEN_LEN);
        assert_eq!(open(&ring, &token, claims.issued_at).unwrap(), claims);
    }

    proptest::proptest! {
        #[test]
        fn any_flipped_raw_byte_fails(i in 0usize..1000, mask in 1u8..=255) {
            let (ring, claims) = (ring(), sample());
            let mut raw = b64::decode(seal(&ring, &claims, [3; 24]).unwrap().as_bytes()).unwrap();
            let i = i % raw.len();
            raw[i] ^= mask;
            let err = open(&ring, &b64::encode(&raw), claims.issued_at).unwrap_err();
            let rejected = matches!(
                err,
                TokenError::Malformed { .. } | TokenError::UnknownKey { .. } | TokenError::Tampered
            );
            proptest::prop_assert!(rejected, "{:?}", err);
        }
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            malformed("too long").to_string(),
            "malformed security token: too long"
        );
        assert_eq!(
            TokenError::UnknownKey { key_id: 7 }.to_string(),
            "security token sealed with unknown key 7"
        );
    }
}
