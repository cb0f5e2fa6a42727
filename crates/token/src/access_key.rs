//! STS AccessKey pairs, made deterministically from caller-supplied random bytes.

use keyless_secret::SecretString;

/// Every STS AccessKeyId starts with this.
pub const STS_ACCESS_KEY_PREFIX: &str = "STS.";
/// Random characters after the prefix of an STS AccessKeyId.
pub const STS_ACCESS_KEY_ID_CHARS: usize = 24;
/// Characters in an STS AccessKeySecret (the vendor's secrets are 30 alphanumerics).
pub const STS_ACCESS_KEY_SECRET_CHARS: usize = 30;
/// Random bytes [`new_sts_access_key`] needs: two per character.
pub const STS_ACCESS_KEY_RANDOM_LEN: usize =
    2 * (STS_ACCESS_KEY_ID_CHARS + STS_ACCESS_KEY_SECRET_CHARS);

/// Base58 (Bitcoin's alphabet: no `0 O I l`).
const ID_ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Maps each two random bytes to one character; reducing 16 bits modulo 58 or 62 leaves a bias
/// below 2^-14 per character.
fn chars(random: &[u8], alphabet: &[u8], out: &mut String) {
    for pair in random.chunks_exact(2) {
        let n = usize::from(u16::from_be_bytes([pair[0], pair[1]]));
        if let Some(&c) = alphabet.get(n % alphabet.len()) {
            out.push(char::from(c));
        }
    }
}

/// A new STS AccessKeyId (`STS.` + 24 base58 characters) and AccessKeySecret (30 alphanumerics)
/// from `random`, which must be fresh random bytes: the same bytes give the same pair.
pub fn new_sts_access_key(random: &[u8; STS_ACCESS_KEY_RANDOM_LEN]) -> (String, SecretString) {
    let (id_random, secret_random) = random.split_at(2 * STS_ACCESS_KEY_ID_CHARS);
    let mut id = String::with_capacity(STS_ACCESS_KEY_PREFIX.len() + STS_ACCESS_KEY_ID_CHARS);
    id.push_str(STS_ACCESS_KEY_PREFIX);
    chars(id_random, ID_ALPHABET, &mut id);
    let mut secret = String::with_capacity(STS_ACCESS_KEY_SECRET_CHARS);
    chars(secret_random, SECRET_ALPHABET, &mut secret);
    (id, SecretString::new(secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn alphabets() {
        assert_eq!(ID_ALPHABET.len(), 58);
        assert_eq!(SECRET_ALPHABET.len(), 62);
        assert_eq!(STS_ACCESS_KEY_RANDOM_LEN, 108);
    }

    #[test]
    fn known_value() {
        let (id, secret) = new_sts_access_key(&[0; STS_ACCESS_KEY_RANDOM_LEN]);
        assert_eq!(id, format!("STS.{}", "1".repeat(24)));
        assert_eq!(secret.expose_secret(), "A".repeat(30));
        let mut random = [0; STS_ACCESS_KEY_RANDOM_LEN];
        random[1] = 57;
        random[49] = 61;
        let (id, secret) = new_sts_access_key(&random);
        assert!(id.starts_with("STS.z1"));
        assert!(secret.expose_secret().starts_with("9A"));
    }

    proptest! {
        #[test]
        fn shape(random in proptest::collection::vec(any::<u8>(), STS_ACCESS_KEY_RANDOM_LEN)) {
            let random: [u8; STS_ACCESS_KEY_RANDOM_LEN] = random.try_into().unwrap();
            let (id, secret) = new_sts_access_key(&random);
            prop_assert_eq!(id.len(), 4 + STS_ACCESS_KEY_ID_CHARS);
            let tail = id.strip_prefix(STS_ACCESS_KEY_PREFIX).unwrap();
            prop_assert!(tail.bytes().all(|b| ID_ALPHABET.contains(&b)));
            prop_assert_eq!(secret.len(), STS_ACCESS_KEY_SECRET_CHARS);
            prop_assert!(secret.expose_secret().bytes().all(|b| b.is_ascii_alphanumeric()));
            prop_assert_eq!(new_sts_access_key(&random), (id, secret));
        }
    }
}
