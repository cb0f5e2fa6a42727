//! Wildcard patterns: `*` matches zero or more characters, `?` exactly one.
//!
//! Patterns are classified once at compile time (`Any`, `Exact`, `Prefix`, `Glob`) so that the
//! common shapes (`*`, `oss:Get*`, an exact ARN) cost one comparison at evaluation time.

/// How letters compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    /// Byte-exact (resources, `StringLike`).
    Sensitive,
    /// ASCII case folded (actions).
    Insensitive,
}

/// A compiled wildcard pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `*`
    Any,
    /// No wildcard at all.
    Exact(Box<str>),
    /// A literal followed by a single trailing `*`.
    Prefix(Box<str>),
    /// Anything else.
    Glob(Box<str>),
}

impl Pattern {
    pub(crate) fn compile(src: &str) -> Pattern {
        if src == "*" {
            return Pattern::Any;
        }
        let wild = |c: char| c == '*' || c == '?';
        match src.find(wild) {
            None => Pattern::Exact(src.into()),
            Some(i) if i + 1 == src.len() && src.ends_with('*') => Pattern::Prefix(src[..i].into()),
            Some(_) => Pattern::Glob(src.into()),
        }
    }

    pub(crate) fn matches(&self, text: &str, case: Case) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(p) => eq(p.as_bytes(), text.as_bytes(), case),
            Pattern::Prefix(p) => {
                text.len() >= p.len() && eq(p.as_bytes(), &text.as_bytes()[..p.len()], case)
            }
            Pattern::Glob(p) => glob(p.as_bytes(), text.as_bytes(), case),
        }
    }
}

fn eq(a: &[u8], b: &[u8], case: Case) -> bool {
    match case {
        Case::Sensitive => a == b,
        Case::Insensitive => a.eq_ignore_ascii_case(b),
    }
}

fn byte_eq(a: u8, b: u8, case: Case) -> bool {
    match case {
        Case::Sensitive => a == b,
        Case::Insensitive => a.eq_ignore_ascii_case(&b),
    }
}

/// Length of the UTF-8 sequence that starts with `b` (1 for continuation bytes, which a valid
/// `&str` never starts a character with).
fn char_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Iterative wildcard match with single-star backtracking: O(|p|·|s|) worst case, no recursion.
/// `?` consumes one whole UTF-8 character; positions always stay on character boundaries.
pub(crate) fn glob(p: &[u8], s: &[u8], case: Case) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
                continue;
            }
            Some(b'?') => {
                si = (si + char_len(s[si])).min(s.len());
                pi += 1;
                continue;
            }
            Some(&c) if byte_eq(c, s[si], case) => {
                pi += 1;
                si += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, ss)) => {
                let next = (ss + char_len(s[ss])).min(s.len());
                star = Some((sp, next));
                pi = sp + 1;
                si = next;
            }
            None => return false,
        }
    }
    while p.get(pi) == Some(&b'*') {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::compile(p).matches(s, Case::Sensitive)
    }

    #[test]
    fn shapes() {
        assert_eq!(Pattern::compile("*"), Pattern::Any);
        assert_eq!(
            Pattern::compile("oss:Get*"),
            Pattern::Prefix("oss:Get".into())
        );
        assert_eq!(Pattern::compile("a"), Pattern::Exact("a".into()));
        assert_eq!(Pattern::compile("a*b"), Pattern::Glob("a*b".into()));
        assert_eq!(Pattern::compile("a?"), Pattern::Glob("a?".into()));
    }

    #[test]
    fn wildcards() {
        assert!(m("*", ""));
        assert!(m("a*", "a"));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "abbbd"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a?c", "aéc"));
        assert!(m("*é*", "xxéyy"));
        assert!(m(
            "acs:oss:*:*:bucket/dir/*",
            "acs:oss:*:123:bucket/dir/a/b"
        ));
        assert!(!m("acs:oss:*:*:bucket/dir/*", "acs:oss:*:123:bucket/other"));
        assert!(m("**a", "a"));
        assert!(m("*a*b*c*", "xaybzc"));
        assert!(!m("*a*b*c*", "xaybz"));
        assert!(m("a??", "a日本"));
        assert!(!m("a??", "a日"));
    }

    #[test]
    fn case_folding_is_for_actions_only() {
        let p = Pattern::compile("oss:get*");
        assert!(p.matches("OSS:GetObject", Case::Insensitive));
        assert!(!p.matches("OSS:GetObject", Case::Sensitive));
        assert!(Pattern::compile("o?s:*OBJECT").matches("oss:getobject", Case::Insensitive));
    }
}
