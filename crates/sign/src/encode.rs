//! Percent-encoding, form decoding and hex, as the OpenAPI dialects use them.

use crate::error::SignError;
use crate::limits;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// RFC 3986 unreserved: `A–Z a–z 0–9 - _ . ~`.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// RFC 3986 percent-encoding of the UTF-8 bytes of `s`: unreserved characters stay, every other
/// byte becomes `%XX` with upper-case hex (space → `%20`, `*` → `%2A`, `/` → `%2F`).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    percent_encode_into(&mut out, s, false);
    out
}

/// Appends the encoding of `s` to `out`; with `space_as_plus`, a space becomes `+` (Python's
/// `quote_plus`, which the credentials library uses).
pub(crate) fn percent_encode_into(out: &mut String, s: &str, space_as_plus: bool) {
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else if space_as_plus && b == b' ' {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        }
    }
}

/// Like [`percent_encode_into`] but `/` stays: the OSS V4 canonical URI.
pub(crate) fn percent_encode_path_into(out: &mut String, s: &str) {
    for segment in s.split('/').enumerate() {
        if segment.0 > 0 {
            out.push('/');
        }
        percent_encode_into(out, segment.1, false);
    }
}

/// Decodes the `%XX` escapes of a request path (a `+` stays a `+`); the result must be UTF-8.
/// `what` names the input in errors. This is how an OSS server turns `/bkt/data%2Fc%20d%2Be.txt`
/// into the key `data/c d+e.txt` that [`crate::OssResource`] wants.
pub fn percent_decode_path(s: &str, what: &'static str) -> Result<String, SignError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_value);
            let lo = bytes.get(i + 2).copied().and_then(hex_value);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                _ => return Err(SignError::BadEscape { what, offset: i }),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| SignError::InvalidUtf8 { what })
}

/// Python's `urllib.parse.unquote` (UTF-8, `errors="replace"`): valid `%XX` escapes inside runs
/// of ASCII become bytes, anything else stays as it is, and each run is decoded lossily. Never
/// fails; pyodps signs what this returns.
pub(crate) fn py_unquote(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut run: Vec<u8> = Vec::new();
    let flush = |run: &mut Vec<u8>, out: &mut String| {
        if !run.is_empty() {
            out.push_str(&String::from_utf8_lossy(&unquote_ascii_run(run)));
            run.clear();
        }
    };
    for c in s.chars() {
        if c.is_ascii() {
            let mut buf = [0u8; 4];
            run.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn unquote_ascii_run(run: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(run.len());
    let mut i = 0usize;
    while let Some(&b) = run.get(i) {
        if b == b'%' {
            let hi = run.get(i + 1).copied().and_then(hex_value);
            let lo = run.get(i + 2).copied().and_then(hex_value);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi << 4) | lo);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Decodes an `application/x-www-form-urlencoded` string (a query without its `?`, or a form body).
///
/// `&` separates pairs (empty pieces are skipped), the first `=` separates key and value (a piece
/// without `=` has an empty value), `+` is a space, `%XX` is a byte; the result must be UTF-8.
/// Order and duplicates are kept: what a duplicate means is the caller's decision.
pub fn form_decode(query: &str) -> Result<Vec<(String, String)>, SignError> {
    limits::check_len("query", query.len(), limits::MAX_QUERY_BYTES)?;
    let mut out = Vec::new();
    let mut offset = 0usize;
    for piece in query.split('&') {
        let start = offset;
        offset += piece.len() + 1;
        if piece.is_empty() {
            continue;
        }
        limits::check_count("parameters", out.len() + 1, limits::MAX_PARAMS)?;
        let (key, value, value_start) = match piece.split_once('=') {
            Some((k, v)) => (k, v, start + k.len() + 1),
            None => (piece, "", start + piece.len()),
        };
        out.push((
            decode_component(key, start)?,
            decode_component(value, value_start)?,
        ));
    }
    Ok(out)
}

/// The value of parameter `name` in decoded `params`: `None` when absent, an error when it occurs
/// more than once (a presigned URL's parameters must be unambiguous).
pub(crate) fn unique_param<'p>(
    params: &'p [(String, String)],
    name: &'static str,
) -> Result<Option<&'p str>, SignError> {
    let mut found = params.iter().filter(|(k, _)| k == name);
    let first = found.next().map(|(_, v)| v.as_str());
    if found.next().is_some() {
        return Err(SignError::DuplicateParameter(name));
    }
    Ok(first)
}

fn decode_component(s: &str, base: usize) -> Result<String, SignError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                    _ => {
                        return Err(SignError::BadEscape {
                            what: "query",
                            offset: base + i,
                        })
                    }
                }
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| SignError::InvalidUtf8 { what: "query" })
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX_LOWER[usize::from(b >> 4)]));
        out.push(char::from(HEX_LOWER[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes hex of either case; `None` for odd length or a non-hex digit.
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some((hex_value(*hi)? << 4) | hex_value(*lo)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn percent_encode_follows_rfc3986() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(percent_encode("a b*c/d"), "a%20b%2Ac%2Fd");
        assert_eq!(percent_encode("+=&%"), "%2B%3D%26%25");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode(""), "");
    }

    #[test]
    fn quote_plus_turns_only_spaces_into_plus() {
        let mut s = String::new();
        percent_encode_into(&mut s, "a b+c", true);
        assert_eq!(s, "a+b%2Bc");
    }

    #[test]
    fn form_decode_handles_plus_escapes_and_order() {
        assert_eq!(
            form_decode("b=1+2&a=%7E%2b&b=&c&&=x").unwrap(),
            pairs(&[("b", "1 2"), ("a", "~+"), ("b", ""), ("c", ""), ("", "x")])
        );
        assert_eq!(form_decode("").unwrap(), pairs(&[]));
        assert_eq!(form_decode("k=a=b").unwrap(), pairs(&[("k", "a=b")]));
        assert_eq!(form_decode("k=%C3%A9").unwrap(), pairs(&[("k", "é")]));
    }

    #[test]
    fn unique_param_finds_one_and_refuses_two() {
        let p = pairs(&[("a", "1"), ("b", "2"), ("b", "3")]);
        assert_eq!(unique_param(&p, "a"), Ok(Some("1")));
        assert_eq!(unique_param(&p, "c"), Ok(None));
        assert_eq!(
            unique_param(&p, "b"),
            Err(SignError::DuplicateParameter("b"))
        );
    }

    #[test]
    fn form_decode_rejects_bad_input() {
        assert_eq!(
            form_decode("a=1&b=%zz"),
            Err(SignError::BadEscape {
                what: "query",
                offset: 6
            })
        );
        assert_eq!(
            form_decode("abc%4"),
            Err(SignError::BadEscape {
                what: "query",
                offset: 3
            })
        );
        assert!(form_decode("%").is_err());
        assert_eq!(
            form_decode("a=%FF"),
            Err(SignError::InvalidUtf8 { what: "query" })
        );
        let many = "a=1&".repeat(limits::MAX_PARAMS + 1);
        assert!(matches!(form_decode(&many), Err(SignError::TooMany { .. })));
        let big = "a".repeat(limits::MAX_QUERY_BYTES + 1);
        assert!(matches!(form_decode(&big), Err(SignError::TooLarge { .. })));
    }

    #[test]
    fn path_encoding_keeps_slashes() {
        let mut s = String::new();
        percent_encode_path_into(&mut s, "/b/a b/ü+*~");
        assert_eq!(s, "/b/a%20b/%C3%BC%2B%2A~");
        assert_eq!(
            percent_decode_path("/b/a%20b+c%2F", "path").unwrap(),
            "/b/a b+c/"
        );
        assert!(percent_decode_path("%zz", "path").is_err());
        assert!(percent_decode_path("%ff", "path").is_err());
    }

    #[test]
    fn py_unquote_matches_python() {
        // Values checked against CPython 3.11 `urllib.parse.unquote`.
        assert_eq!(py_unquote("a+b%2Bc%2F%C3%A9"), "a+b+c/é");
        assert_eq!(py_unquote("%zz%4"), "%zz%4");
        assert_eq!(py_unquote("%ff-é%41"), "\u{fffd}-éA");
        assert_eq!(py_unquote("plain"), "plain");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex_lower(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(hex_decode("00ABff"), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(hex_decode("0"), None);
        assert_eq!(hex_decode("zz"), None);
        assert_eq!(hex_decode("é0"), None);
    }
}
