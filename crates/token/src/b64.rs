//! Base64url without padding (RFC 4648 §5), strict: the decoder rejects padding, characters
//! outside the alphabet, an impossible length, and non-zero trailing bits, so every token has
//! exactly one spelling and any changed character changes the decoded bytes or fails.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Marks a byte outside the alphabet; the high bit lets the decoder check four lookups at once.
const INVALID: u8 = 0xFF;

const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Length of the encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    n / 3 * 4
        + match n % 3 {
            0 => 0,
            1 => 2,
            _ => 3,
        }
}

fn sextet(n: u32, shift: u32) -> char {
    char::from(ALPHABET[((n >> shift) & 0x3F) as usize])
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    let mut chunks = bytes.chunks_exact(3);
    for c in &mut chunks {
        let n = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        out.extend([sextet(n, 18), sextet(n, 12), sextet(n, 6), sextet(n, 0)]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend([sextet(n, 18), sextet(n, 12)]);
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend([sextet(n, 18), sextet(n, 12), sextet(n, 6)]);
        }
        _ => {}
    }
    out
}

/// Decodes `s`, or `None` if it is not the canonical unpadded base64url of some bytes.
pub(crate) fn decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    let mut chunks = s.chunks_exact(4);
    for c in &mut chunks {
        let (a, b, c, d) = (
            DECODE[usize::from(c[0])],
            DECODE[usize::from(c[1])],
            DECODE[usize::from(c[2])],
            DECODE[usize::from(c[3])],
        );
        if (a | b | c | d) & 0x80 != 0 {
            return None;
        }
        let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    match *chunks.remainder() {
        [] => {}
        [a, b] => {
            let (a, b) = (DECODE[usize::from(a)], DECODE[usize::from(b)]);
            // Two characters carry one byte; the last four bits must be zero.
            if (a | b) & 0x80 != 0 || b & 0x0F != 0 {
                return None;
            }
            out.push(a << 2 | b >> 4);
        }
        [a, b, c] => {
            let (a, b, c) = (
                DECODE[usize::from(a)],
                DECODE[usize::from(b)],
                DECODE[usize::from(c)],
            );
            // Three characters carry two bytes; the last two bits must be zero.
            if (a | b | c) & 0x80 != 0 || c & 0x03 != 0 {
                return None;
            }
            let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6;
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc4648_vectors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (raw, enc) in cases {
            assert_eq!(encode(raw), enc);
            assert_eq!(decode(enc.as_bytes()).as_deref(), Some(raw));
            assert_eq!(encoded_len(raw.len()), enc.len());
        }
        assert_eq!(encode(&[0xFB, 0xFF]), "-_8");
    }

    #[test]
    fn rejects_non_canonical() {
        for bad in ["Zg==", "Z", "Zh", "Zm9", "Zm+v", "Zm/v", "Zm9v\n", "Zm 9"] {
            assert_eq!(decode(bad.as_bytes()), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let enc = encode(&bytes);
            prop_assert_eq!(enc.len(), encoded_len(bytes.len()));
            prop_assert_eq!(decode(enc.as_bytes()), Some(bytes));
        }

        #[test]
        fn decode_never_panics(s in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(bytes) = decode(&s) {
                let again = encode(&bytes);
                prop_assert_eq!(again.as_bytes(), &s[..]);
            }
        }
    }
}
