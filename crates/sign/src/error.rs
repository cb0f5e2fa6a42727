//! The one error type of this crate.

/// Why a request could not be parsed, canonicalised or verified.
///
/// Messages never contain a secret, a security token or a string to sign; user input they quote is
/// clipped to a few dozen characters. The server's string to sign for a failed signature is
/// available through [`SignError::server_string_to_sign`], for the vendor's error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// An input is over its limit (see [`crate::limits`]).
    #[error("{what} is too large: {len} bytes, at most {limit} allowed")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many items (parameters, headers, signed headers).
    #[error("too many {what}: at most {limit} allowed")]
    TooMany {
        /// What there were too many of.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A `%` not followed by two hex digits.
    #[error("invalid percent-escape at byte {offset} of the {what}")]
    BadEscape {
        /// Which input.
        what: &'static str,
        /// Byte offset of the `%`.
        offset: usize,
    },
    /// Percent-decoding produced bytes that are not UTF-8.
    #[error("the {what} is not valid UTF-8 once decoded")]
    InvalidUtf8 {
        /// Which input.
        what: &'static str,
    },
    /// A required parameter is absent or empty.
    #[error("missing parameter `{0}`")]
    MissingParameter(&'static str),
    /// A parameter that must be unique appears more than once.
    #[error("parameter `{0}` is given more than once")]
    DuplicateParameter(&'static str),
    /// A required header is absent (or a signed header is not in the request).
    #[error("missing header `{0}`")]
    MissingHeader(String),
    /// A header that must be unique appears more than once.
    #[error("header `{0}` is given more than once")]
    DuplicateHeader(String),
    /// A header that must be signed is not among `SignedHeaders`.
    #[error("header `{0}` is present but not signed")]
    UnsignedHeader(String),
    /// V1 `SignatureMethod` other than `HMAC-SHA1` (or ROA `x-acs-signature-method`).
    #[error("unsupported signature method `{0}`, expected `HMAC-SHA1`")]
    UnsupportedSignatureMethod(String),
    /// V1 `SignatureVersion` other than `1.0` (or ROA `x-acs-signature-version`).
    #[error("unsupported signature version `{0}`, expected `1.0`")]
    UnsupportedSignatureVersion(String),
    /// An `Authorization` algorithm this crate does not verify.
    #[error("unsupported signature algorithm `{0}`, only `ACS3-HMAC-SHA256` is supported")]
    UnsupportedAlgorithm(String),
    /// The `Authorization` header does not have the dialect's shape.
    #[error("malformed authorization header: {0}")]
    MalformedAuthorization(&'static str),
    /// A timestamp not in `yyyy-MM-ddTHH:mm:ssZ` form.
    #[error("invalid timestamp `{0}`, expected `yyyy-MM-ddTHH:mm:ssZ`")]
    InvalidTimestamp(String),
    /// An OSS V4 `x-oss-date` not in `yyyyMMddTHHmmssZ` form.
    #[error("invalid timestamp `{0}`, expected `yyyyMMddTHHmmssZ`")]
    InvalidBasicTimestamp(String),
    /// A parameter is present but its value is not acceptable (e.g. `Expires` not a number).
    #[error("parameter `{0}` has an invalid value")]
    InvalidParameter(&'static str),
    /// A header is present but its value is not acceptable.
    #[error("header `{0}` has an invalid value")]
    InvalidHeader(String),
    /// The request carries two different security tokens (e.g. `x-oss-security-token` and
    /// `security-token`).
    #[error("the request carries conflicting security tokens")]
    ConflictingSecurityTokens,
    /// A `date` header not in IMF-fixdate form.
    #[error("invalid date `{0}`, expected the form `Sun, 06 Nov 1994 08:49:37 GMT`")]
    InvalidDate(String),
    /// The signature is not well-formed base64 or hex of the right length.
    #[error("signature is not valid {0}")]
    MalformedSignature(&'static str),
    /// `x-acs-content-sha256` is not the SHA-256 of the body.
    #[error("header `x-acs-content-sha256` does not match the request body")]
    ContentHashMismatch,
    /// `x-acs-accesskey-id` names another key than the credential.
    #[error("header `x-acs-accesskey-id` does not match the access key `{0}`")]
    AccessKeyIdMismatch(String),
    /// The signature is well-formed but wrong.
    #[error("signature does not match")]
    SignatureMismatch {
        /// The string to sign the server computed (for V1 the standard form, not `quote_plus`).
        string_to_sign: String,
        /// For ACS3, the canonical request it was hashed from.
        canonical_request: Option<String>,
    },
}

impl SignError {
    /// For [`SignError::SignatureMismatch`], the server's string to sign, which the vendor puts in
    /// its message: `Specified signature is not matched with our calculation. server string to
    /// sign is:<StringToSign>`. It may contain the request's security token; send it only to the
    /// requester, never to a log.
    pub fn server_string_to_sign(&self) -> Option<&str> {
        match self {
            Self::SignatureMismatch { string_to_sign, .. } => Some(string_to_sign),
            _ => None,
        }
    }

    /// For an ACS3 [`SignError::SignatureMismatch`], the server's canonical request.
    pub fn server_canonical_request(&self) -> Option<&str> {
        match self {
            Self::SignatureMismatch {
                canonical_request, ..
            } => canonical_request.as_deref(),
            _ => None,
        }
    }
}

/// User input for an error message: the workspace's one rule (at most 64 characters, control and
/// bidirectional-formatting characters replaced, `…` when cut).
pub(crate) use keyless_wire::clip;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_bounds_and_cleans() {
        assert_eq!(clip("abc"), "abc");
        assert_eq!(clip("a\nb"), "a?b");
        let long = "é".repeat(100);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), 65);
        assert!(clipped.ends_with('…'));
    }

    #[test]
    fn mismatch_message_hides_string_to_sign() {
        let e = SignError::SignatureMismatch {
            string_to_sign: "GET&%2F&SecurityToken%3Dtok".to_owned(),
            canonical_request: None,
        };
        assert_eq!(e.to_string(), "signature does not match");
        assert_eq!(
            e.server_string_to_sign(),
            Some("GET&%2F&SecurityToken%3Dtok")
        );
        assert_eq!(SignError::ContentHashMismatch.server_string_to_sign(), None);
    }
}
