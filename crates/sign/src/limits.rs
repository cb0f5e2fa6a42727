//! Upper bounds on every input, so that the work done for one request is bounded.
//!
//! They are generous for real traffic: an STS `Policy` is at most 2 KiB before encoding, a RAM
//! policy document 6 KiB, a security token a few KiB.

use crate::SignError;

/// Raw query string, form body, or the decoded parameters of a V1 request taken together.
pub const MAX_QUERY_BYTES: usize = 256 * 1024;
/// Number of parameters in a query or form body.
pub const MAX_PARAMS: usize = 1024;
/// Request path.
pub const MAX_PATH_BYTES: usize = 8 * 1024;
/// HTTP method.
pub const MAX_METHOD_BYTES: usize = 16;
/// Number of request headers.
pub const MAX_HEADERS: usize = 128;
/// One header name.
pub const MAX_HEADER_NAME_BYTES: usize = 256;
/// One header value (a security token travels in one).
pub const MAX_HEADER_VALUE_BYTES: usize = 16 * 1024;
/// The `Authorization` header value.
pub const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;
/// Number of names in `SignedHeaders`.
pub const MAX_SIGNED_HEADERS: usize = 64;
/// A signature as sent (base64 or hex).
pub const MAX_SIGNATURE_BYTES: usize = 128;

pub(crate) fn check_len(what: &'static str, len: usize, limit: usize) -> Result<(), SignError> {
    if len > limit {
        return Err(SignError::TooLarge { what, len, limit });
    }
    Ok(())
}

pub(crate) fn check_count(what: &'static str, count: usize, limit: usize) -> Result<(), SignError> {
    if count > limit {
        return Err(SignError::TooMany { what, limit });
    }
    Ok(())
}
