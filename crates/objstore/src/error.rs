//! The one error type of this crate.

use std::io;

/// Why a storage operation failed. The server maps each variant to the vendor's code (the names
/// follow OSS's); messages are lower-case, user input in backticks, and never contain a path on
/// the server's disk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Not 3–63 characters of `a-z 0-9 -`, or starting or ending with `-`.
    #[error("invalid bucket name `{0}`")]
    InvalidBucketName(String),
    /// The bucket does not exist.
    #[error("bucket `{0}` does not exist")]
    NoSuchBucket(String),
    /// A bucket of that name exists already.
    #[error("bucket `{0}` already exists")]
    BucketAlreadyExists(String),
    /// The bucket still holds objects or unfinished multipart uploads.
    #[error("bucket `{0}` is not empty")]
    BucketNotEmpty(String),
    /// The key is empty or longer than [`crate::MAX_KEY_BYTES`].
    #[error("invalid object key: {0}")]
    InvalidObjectName(&'static str),
    /// The object does not exist.
    #[error("object `{0}` does not exist")]
    NoSuchKey(String),
    /// The requested byte range lies outside the object.
    #[error("the range is not satisfiable for an object of {size} bytes")]
    InvalidRange {
        /// The object's size.
        size: u64,
    },
    /// The multipart upload does not exist (never did, completed, or aborted), or belongs to
    /// another key.
    #[error("multipart upload `{0}` does not exist")]
    NoSuchUpload(String),
    /// A part named in a completion was not uploaded, or its ETag differs.
    #[error("part {part_number} was not uploaded or its etag does not match")]
    InvalidPart {
        /// The part number.
        part_number: u32,
    },
    /// The parts of a completion are not in strictly ascending order.
    #[error("the parts are not in ascending order")]
    InvalidPartOrder,
    /// A part other than the last is smaller than the minimum part size.
    #[error("part {part_number} is {size} bytes, smaller than the minimum of {min}")]
    EntityTooSmall {
        /// The part number.
        part_number: u32,
        /// Its size.
        size: u64,
        /// The minimum.
        min: u64,
    },
    /// The body does not have the MD5 the client announced (`Content-MD5`).
    #[error("the content md5 does not match the body")]
    BadDigest,
    /// User metadata over [`crate::MAX_USER_META_BYTES`].
    #[error("user metadata is larger than {0} bytes")]
    MetadataTooLarge(usize),
    /// An argument is out of range (e.g. a part number outside 1–10000).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// A stored file is not in the format this crate writes.
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    /// The operating system refused an operation.
    #[error("i/o error while {op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The underlying error (its message carries no path).
        #[source]
        source: io::Error,
    },
}

impl StoreError {
    pub(crate) fn io(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io { op, source }
    }
}

/// User input for an error message: the workspace's one rule (at most 64 characters, control and
/// bidirectional-formatting characters replaced, `…` when cut).
pub(crate) use keyless_wire::clip;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_clipped_and_pathless() {
        assert_eq!(clip("a\0b"), "a?b");
        assert_eq!(clip(&"x".repeat(100)).chars().count(), 65);
        let e = StoreError::io("renaming")(io::Error::from(io::ErrorKind::NotFound));
        assert!(e.to_string().starts_with("i/o error while renaming: "));
    }
}
