//! Identifiers and secrets in the vendor's shapes, from the OS random source.

use keyless_secret::SecretString;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Fills `buf` from the OS RNG. A failing OS RNG is unrecoverable for a credential issuer, so
/// this reports the failure instead of issuing predictable material.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    getrandom::getrandom(buf)
}

fn random_from(alphabet: &[u8], n: usize) -> Result<String, getrandom::Error> {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        random_bytes(&mut buf)?;
        for b in buf {
            // Rejection sampling keeps the distribution uniform.
            let limit = 256 - (256 % alphabet.len());
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

/// `n` random decimal digits, the first non-zero.
pub fn digits(n: usize) -> Result<String, getrandom::Error> {
    let mut s = random_from(b"0123456789", n)?;
    if s.starts_with('0') {
        s.replace_range(0..1, "1");
    }
    Ok(s)
}

/// A 16-digit account id.
pub fn account_id() -> Result<String, getrandom::Error> {
    digits(16)
}

/// A long-term AccessKeyId: `LTAI` + 20 alphanumerics (24 characters, like the vendor's).
pub fn access_key_id() -> Result<String, getrandom::Error> {
    Ok(format!("LTAI{}", random_from(ALNUM, 20)?))
}

/// A 30-character AccessKeySecret.
pub fn access_key_secret() -> Result<SecretString, getrandom::Error> {
    Ok(SecretString::new(random_from(ALNUM, 30)?))
}

/// A request id: uppercase UUID form.
pub fn request_id() -> String {
    let mut b = [0u8; 16];
    if random_bytes(&mut b).is_err() {
        // Request ids are not secrets; a counter-free fallback keeps responses well-formed.
        b = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos().to_be_bytes())
            .unwrap_or([0; 16]);
    }
    let h: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let a = account_id().unwrap();
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_digit()) && !a.starts_with('0'));
        let k = access_key_id().unwrap();
        assert!(k.starts_with("LTAI") && k.len() == 24);
        assert_eq!(access_key_secret().unwrap().len(), 30);
        assert_eq!(request_id().len(), 36);
        assert_ne!(access_key_id().unwrap(), access_key_id().unwrap());
    }
}
