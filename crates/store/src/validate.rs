//! Backend-neutral rules for names, version ids and paging, shared by every backend so they
//! agree on keys and markers.
//!
//! - User, role and policy names are unique per account case-insensitively: a backend stores
//!   and compares [`name_key`], and keeps the name as spelt for display.
//! - Policy versions are `v<n>` with `n >= 1`; [`parse_version`] is strict (no sign, no leading
//!   zeros), so an id that does not parse names no version (`NotFound(PolicyVersion)`).
//! - Page markers are opaque: the hex of the last name key returned ([`encode_marker`]); one
//!   that does not decode yields an empty last page. [`page_size`] caps `max_items` to 1..=1000.

/// The most items one page returns, whatever the caller asks for.
pub const MAX_PAGE_ITEMS: usize = 1000;

/// The case-insensitive key of a user, role or policy name.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// The version id of version number `n`: `v<n>`.
pub fn format_version(n: i64) -> String {
    format!("v{n}")
}

/// Parses `v<n>` strictly (no sign, no leading zeros).
pub fn parse_version(id: &str) -> Option<i64> {
    let digits = id.strip_prefix('v')?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The number of items a page holds for a requested `max_items`: clamped to
/// 1..=[`MAX_PAGE_ITEMS`].
pub fn page_size(max_items: usize) -> usize {
    max_items.clamp(1, MAX_PAGE_ITEMS)
}

/// A page marker: the hex of the last name key returned.
pub fn encode_marker(key: &str) -> String {
    hex_encode(key.as_bytes())
}

/// The name key a marker from [`encode_marker`] continues after; `None` for anything else.
pub fn decode_marker(marker: &str) -> Option<String> {
    String::from_utf8(hex_decode(marker)?).ok()
}

/// Lower-case hex.
pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Lower-case hex only; `None` for anything else.
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let pairs = s.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|p| Some((nibble(p[0])? << 4) | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn versions_parse_strictly() {
        assert_eq!(parse_version("v1"), Some(1));
        assert_eq!(parse_version("v42"), Some(42));
        for bad in [
            "",
            "v",
            "1",
            "V1",
            "v01",
            "v-1",
            "v+1",
            "v1 ",
            "vx",
            "v99999999999999999999",
        ] {
            assert_eq!(parse_version(bad), None, "{bad:?}");
        }
        assert_eq!(format_version(7), "v7");
    }

    #[test]
    fn markers_round_trip_and_reject_garbage() {
        let m = encode_marker("my-role.1");
        assert!(m.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(decode_marker(&m).as_deref(), Some("my-role.1"));
        for bad in ["z", "abc", "AB", "ff"] {
            assert_eq!(decode_marker(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_are_keyed_case_insensitively() {
        assert_eq!(name_key("MyRole"), name_key("myrole"));
        assert_eq!(name_key("A-b.C"), "a-b.c");
    }

    #[test]
    fn page_size_is_capped() {
        assert_eq!(page_size(0), 1);
        assert_eq!(page_size(7), 7);
        assert_eq!(page_size(5000), MAX_PAGE_ITEMS);
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(hex_decode(&hex_encode(&bytes)), Some(bytes));
        }
    }
}
