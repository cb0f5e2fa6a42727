//! Object storage for keyless' OSS front-end: buckets, objects streamed in and out, ordered
//! listings with prefix / delimiter / marker, and multipart uploads.
//!
//! Owns: the [`Backend`] trait (synchronous, object-safe, ready for an S3-compatible backend) and
//! its local-filesystem implementation [`FsBackend`]: where a key lives on disk (a safe,
//! injective, order-preserving mapping, see [`FsBackend`]), atomic publication (temp file in the
//! same file system, fsync, rename: a crash never leaves half an object), the vendor's ETags
//! (`"<MD5>"`, multipart `"<MD5 of part MD5s>-<n>"`), and multipart bookkeeping. Bodies are
//! streamed: no call holds a whole object in memory.
//!
//! Must not: know HTTP, XML or vendor error codes (the server maps [`StoreError`]); authenticate
//! or authorise anyone (no signatures, no policies: the caller has decided before calling);
//! validate keys beyond what storage needs (OSS naming rules belong to the front-end).

mod error;
mod format;
mod fs;
mod keymap;
mod walk;

use std::collections::BTreeMap;
use std::io::Read;

pub use error::StoreError;
pub use fs::{Clock, FsBackend, FsOptions};
pub use keymap::fuzz_key_to_path;

/// The longest key, in bytes (OSS's limit).
pub const MAX_KEY_BYTES: usize = 1023;
/// The most user metadata per object, names and values together, in bytes (OSS's limit).
pub const MAX_USER_META_BYTES: usize = 8 * 1024;
/// The smallest part, but for the last, that a multipart completion accepts by default (OSS's
/// 100 KiB).
pub const MIN_PART_SIZE: u64 = 100 * 1024;
/// The highest part number.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// A bucket and what is known about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BucketInfo {
    /// The bucket name.
    pub name: String,
    /// The account id (uid) of the owner.
    pub owner: String,
    /// The region it was created in, e.g. `cn-hangzhou`.
    pub region: String,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
}

/// How an object came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ObjectKind {
    /// A simple PUT or a copy (OSS `Type` `Normal`).
    Normal,
    /// A completed multipart upload (OSS `Type` `Multipart`).
    Multipart,
}

/// An object's metadata, as stored beside its body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectMeta {
    /// The key.
    pub key: String,
    /// Body size in bytes.
    pub size: u64,
    /// The ETag with its quotes, e.g. `"5D41402ABC4B2A76B9719D911017C592"` or `"…-3"`.
    pub etag: String,
    /// The `Content-Type` it was stored with.
    pub content_type: String,
    /// Last modification, Unix milliseconds.
    pub last_modified_ms: i64,
    /// `x-oss-meta-*` values, by name without the prefix (the front-end decides the case).
    pub user_meta: BTreeMap<String, String>,
    /// Simple or multipart.
    pub kind: ObjectKind,
}

/// What the writer of an object supplies besides the body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectAttrs {
    /// `Content-Type`; `application/octet-stream` when `None`.
    pub content_type: Option<String>,
    /// `x-oss-meta-*` values.
    pub user_meta: BTreeMap<String, String>,
    /// The MD5 the client announced (`Content-MD5`), checked against the body at commit.
    pub expected_md5: Option<[u8; 16]>,
}

/// A byte range of a GET, as in an HTTP `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last` (inclusive; `last` past the end means the end).
    FromTo(u64, u64),
    /// `bytes=first-`.
    From(u64),
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The inclusive `(first, last)` this range selects from an object of `size` bytes.
    pub fn resolve(self, size: u64) -> Result<(u64, u64), StoreError> {
        let unsatisfiable = StoreError::InvalidRange { size };
        match self {
            ByteRange::FromTo(first, last) if first <= last && first < size => {
                Ok((first, last.min(size - 1)))
            }
            ByteRange::From(first) if first < size => Ok((first, size - 1)),
            ByteRange::Suffix(n) if n > 0 && size > 0 => Ok((size - n.min(size), size - 1)),
            _ => Err(unsatisfiable),
        }
    }
}

/// A body being read: the whole object or the requested range.
pub struct GetResult {
    /// The object's metadata (its full size, not the range's).
    pub meta: ObjectMeta,
    /// The inclusive byte range served, when one was asked for.
    pub range: Option<(u64, u64)>,
    /// The bytes, streamed from storage.
    pub body: Box<dyn Read + Send>,
}

impl std::fmt::Debug for GetResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetResult")
            .field("meta", &self.meta)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// The parameters of a listing (OSS ListObjects; ListObjectsV2's continuation token and
/// `start-after` both map to `marker`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// Only keys starting with this.
    pub prefix: String,
    /// Roll keys up to the first occurrence of this after the prefix (usually `/`); empty for
    /// none.
    pub delimiter: String,
    /// Only keys (and common prefixes) after this one, byte-wise.
    pub marker: String,
    /// At most this many keys and common prefixes together; 0 returns nothing.
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListResult {
    /// The objects, ordered by key (byte-wise).
    pub objects: Vec<ObjectMeta>,
    /// The common prefixes, ordered.
    pub common_prefixes: Vec<String>,
    /// Whether more keys or prefixes follow.
    pub is_truncated: bool,
    /// When truncated, the last key or common prefix returned: the next page's marker.
    pub next_marker: Option<String>,
}

/// An uploaded part.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartInfo {
    /// 1 to [`MAX_PART_NUMBER`].
    pub part_number: u32,
    /// `"<upper-case hex MD5>"`.
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
    /// Upload time, Unix milliseconds.
    pub last_modified_ms: i64,
}

/// A part named in a completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// The part number.
    pub part_number: u32,
    /// The ETag the client got for it (quotes and case are ignored).
    pub etag: String,
}

/// An unfinished multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    /// The key it will create.
    pub key: String,
    /// Its id.
    pub upload_id: String,
    /// When it was initiated, Unix milliseconds.
    pub initiated_ms: i64,
}

/// A body being written. Nothing is visible until [`ObjectWriter::commit`] returns; dropping the
/// writer without committing discards what was written.
pub trait ObjectWriter: Send {
    /// Appends a chunk of the body.
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError>;
    /// Bytes written so far.
    fn written(&self) -> u64;
    /// Publishes the object (replacing any object of that key) and returns its metadata.
    fn commit(self: Box<Self>, attrs: ObjectAttrs) -> Result<ObjectMeta, StoreError>;
}

/// A part being written; as [`ObjectWriter`], visible only once committed.
pub trait PartWriter: Send {
    /// Appends a chunk of the part.
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError>;
    /// Bytes written so far.
    fn written(&self) -> u64;
    /// Publishes the part (replacing an earlier part of that number); `expected_md5` is the
    /// client's `Content-MD5`, if any.
    fn commit(self: Box<Self>, expected_md5: Option<[u8; 16]>) -> Result<PartInfo, StoreError>;
}

/// Object storage. Every method is synchronous (the HTTP layer calls it from blocking tasks) and
/// safe to call concurrently.
pub trait Backend: Send + Sync {
    /// Creates a bucket; [`StoreError::BucketAlreadyExists`] if the name is taken (by anyone).
    fn create_bucket(
        &self,
        name: &str,
        owner: &str,
        region: &str,
    ) -> Result<BucketInfo, StoreError>;
    /// Deletes a bucket that holds no object and no unfinished upload.
    fn delete_bucket(&self, name: &str) -> Result<(), StoreError>;
    /// All buckets, ordered by name.
    fn list_buckets(&self) -> Result<Vec<BucketInfo>, StoreError>;
    /// One bucket's information.
    fn head_bucket(&self, name: &str) -> Result<BucketInfo, StoreError>;
    /// Whether the bucket exists.
    fn bucket_exists(&self, name: &str) -> Result<bool, StoreError> {
        match self.head_bucket(name) {
            Ok(_) => Ok(true),
            Err(StoreError::NoSuchBucket(_) | StoreError::InvalidBucketName(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Starts writing an object; the bucket must exist.
    fn put_object(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError>;
    /// Writes an object from a reader, in chunks.
    fn put_object_from(
        &self,
        bucket: &str,
        key: &str,
        body: &mut dyn Read,
        attrs: ObjectAttrs,
    ) -> Result<ObjectMeta, StoreError> {
        let mut writer = self.put_object(bucket, key)?;
        copy_into(body, |chunk| writer.write(chunk))?;
        writer.commit(attrs)
    }
    /// Reads an object, or a range of it.
    fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<GetResult, StoreError>;
    /// An object's metadata.
    fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta, StoreError>;
    /// Deletes an object; deleting a missing key succeeds (OSS answers 204 either way). Returns
    /// whether it existed.
    fn delete_object(&self, bucket: &str, key: &str) -> Result<bool, StoreError>;
    /// Copies an object, streaming; `attrs` `None` keeps the source's content type and user
    /// metadata. The copy's ETag is the MD5 of its content.
    fn copy_object(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
        attrs: Option<ObjectAttrs>,
    ) -> Result<ObjectMeta, StoreError> {
        let src = self.get_object(src_bucket, src_key, None)?;
        let attrs = attrs.unwrap_or_else(|| ObjectAttrs {
            content_type: Some(src.meta.content_type.clone()),
            user_meta: src.meta.user_meta.clone(),
            expected_md5: None,
        });
        let mut body = src.body;
        self.put_object_from(dst_bucket, dst_key, &mut body, attrs)
    }
    /// One page of the bucket's keys.
    fn list_objects(&self, bucket: &str, request: &ListRequest) -> Result<ListResult, StoreError>;

    /// Starts a multipart upload and returns its id.
    fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
    ) -> Result<String, StoreError>;
    /// Starts writing part `part_number` (1 to [`MAX_PART_NUMBER`]) of an upload.
    fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
    ) -> Result<Box<dyn PartWriter>, StoreError>;
    /// The parts uploaded so far, ordered by number.
    fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, StoreError>;
    /// Assembles the listed parts (strictly ascending, each uploaded with that ETag, all but the
    /// last at least the minimum part size) into the object and ends the upload.
    fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<ObjectMeta, StoreError>;
    /// Ends an upload and discards its parts.
    fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StoreError>;
    /// The bucket's unfinished uploads, ordered by key then initiation time.
    fn list_multipart_uploads(&self, bucket: &str) -> Result<Vec<UploadInfo>, StoreError>;
}

/// Copies `from` into `sink` in 64 KiB chunks; returns the byte count.
pub(crate) fn copy_into(
    from: &mut dyn Read,
    mut sink: impl FnMut(&[u8]) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::io("reading the body")(e)),
        };
        sink(buf.get(..n).unwrap_or_default())?;
        total += n as u64;
    }
}

/// Upper-case hex.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_http() {
        assert_eq!(ByteRange::FromTo(0, 9).resolve(100).ok(), Some((0, 9)));
        assert_eq!(ByteRange::FromTo(90, 200).resolve(100).ok(), Some((90, 99)));
        assert_eq!(ByteRange::From(10).resolve(100).ok(), Some((10, 99)));
        assert_eq!(ByteRange::Suffix(10).resolve(100).ok(), Some((90, 99)));
        assert_eq!(ByteRange::Suffix(500).resolve(100).ok(), Some((0, 99)));
        for bad in [
            ByteRange::FromTo(100, 200),
            ByteRange::FromTo(5, 4),
            ByteRange::From(100),
            ByteRange::Suffix(0),
        ] {
            assert!(matches!(
                bad.resolve(100),
                Err(StoreError::InvalidRange { size: 100 })
            ));
        }
        assert!(ByteRange::Suffix(1).resolve(0).is_err());
        assert!(ByteRange::From(0).resolve(0).is_err());
    }

    #[test]
    fn hex_is_upper_case() {
        assert_eq!(hex_upper(&[0x00, 0xab, 0xff]), "00ABFF");
    }
}
