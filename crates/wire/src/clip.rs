//! The one rule for untrusted input in an error message.
//!
//! Today's six copies differed (64, 40 or 80 characters; with or without `…`; with or without
//! replacing control characters). This is their safest union, and the only one left:
//!
//! - at most [`CLIP_CHARS`] characters of the input are kept, cut on a character boundary (never
//!   inside a UTF-8 sequence), and [`CLIP_MARKER`] is appended when anything was cut, so a reader
//!   can tell a clipped value from a short one;
//! - every character that could forge or hide log or terminal content is replaced by `?`: control
//!   characters (`char::is_control`: C0, DEL, C1 — so no newline, carriage return, escape or NUL
//!   reaches a log line), the line and paragraph separators U+2028/U+2029, and the bidirectional
//!   formatting characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069; the "Trojan
//!   Source" set), so a clipped value cannot reorder the text around it.
//!
//! The result is therefore at most `CLIP_CHARS + 1` characters and at most `4 × CLIP_CHARS + 3`
//! bytes, valid UTF-8 (it is a `String`) and free of the characters above.

/// Most characters of the input an error message carries.
pub const CLIP_CHARS: usize = 64;

/// Appended when the input was longer than [`CLIP_CHARS`] characters.
pub const CLIP_MARKER: char = '…';

/// The replacement for a character that must not reach a message.
const REPLACEMENT: char = '?';

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `s` made safe for an error message (see the [module rule](self)): at most [`CLIP_CHARS`]
/// characters, unsafe characters replaced by `?`, and [`CLIP_MARKER`] appended if `s` was longer.
pub fn clip(s: &str) -> String {
    let mut chars = s.chars();
    let mut out = String::with_capacity(s.len().min(CLIP_CHARS * 4 + CLIP_MARKER.len_utf8()));
    for c in chars.by_ref().take(CLIP_CHARS) {
        out.push(if is_unsafe(c) { REPLACEMENT } else { c });
    }
    if chars.next().is_some() {
        out.push(CLIP_MARKER);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_input_is_kept() {
        assert_eq!(clip(""), "");
        assert_eq!(clip("abc"), "abc");
        assert_eq!(clip(&"x".repeat(CLIP_CHARS)), "x".repeat(CLIP_CHARS));
    }

    #[test]
    fn long_input_is_cut_on_a_char_boundary_and_marked() {
        let long = "é".repeat(100);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), CLIP_CHARS + 1);
        assert!(clipped.ends_with(CLIP_MARKER));
        assert_eq!(
            clip(&"x".repeat(CLIP_CHARS + 1)).chars().count(),
            CLIP_CHARS + 1
        );
    }

    #[test]
    fn unsafe_characters_are_replaced() {
        assert_eq!(clip("a\nb\rc\0d\u{1b}[31m"), "a?b?c?d?[31m");
        assert_eq!(clip("\u{7f}\u{85}\u{9f}"), "???");
        assert_eq!(clip("abc\u{202E}fed"), "abc?fed");
        assert_eq!(clip("x\u{2028}y\u{2066}z"), "x?y?z");
    }

    proptest! {
        #[test]
        fn never_exceeds_its_bound_nor_carries_unsafe_characters(s in any::<String>()) {
            let c = clip(&s);
            prop_assert!(c.chars().count() <= CLIP_CHARS + 1);
            prop_assert!(c.len() <= CLIP_CHARS * 4 + CLIP_MARKER.len_utf8());
            prop_assert!(!c.chars().any(is_unsafe));
            let kept: String = s
                .chars()
                .take(CLIP_CHARS)
                .map(|ch| if is_unsafe(ch) { '?' } else { ch })
                .collect();
            prop_assert!(c.starts_with(&kept));
            prop_assert_eq!(c.ends_with(CLIP_MARKER) && c.chars().count() == CLIP_CHARS + 1,
                s.chars().count() > CLIP_CHARS);
        }

        #[test]
        fn clips_arbitrary_bytes_read_lossily(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let c = clip(&String::from_utf8_lossy(&b));
            prop_assert!(c.chars().count() <= CLIP_CHARS + 1);
            prop_assert!(!c.chars().any(char::is_control));
        }
    }
}
