//! What a request addresses and asks for, parsed into plain data before anything is checked:
//! the bucket and decoded key (path-style or virtual-host), the query parameters, the
//! operation, and header values (`Range`, `Content-MD5`, `x-oss-copy-source`, user metadata).
//!
//! Addressing: a request is virtual-host style when the `Host` header (port removed) is not an
//! IP address or `localhost`, has at least two labels, and its first label is a valid bucket name
//! that either exists, or is followed by `localhost` (`bkt.localhost`), or the request is a
//! `PUT /` (creating that bucket: path-style it would name no bucket). Everything else is
//! path-style: `/bucket/key`. So `oss-cn-hangzhou.example.com` is not mistaken for a bucket
//! unless a bucket of that name exists.

use super::error::OssError;
use keyless_objstore::{ByteRange, MAX_KEY_BYTES};
use keyless_sign::oss_v1::SubresourceSet;
use keyless_sign::{form_decode, percent_decode_path};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Decoded query parameters, in order (the first of duplicates wins).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(raw_query: &str) -> Result<Params, OssError> {
        form_decode(raw_query)
            .map(Params)
            .map_err(|e| OssError::invalid_argument(format!("The query string is not valid: {e}.")))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value, `None` when absent or empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// Whether `name` is a valid bucket name: 3–63 characters of `a-z 0-9 -`, not starting or ending
/// with `-`.
pub fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The host of a `Host` header without its port, lower-cased; `None` for an IP literal.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    if host.starts_with('[') {
        return None;
    }
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    if name.parse::<IpAddr>().is_ok() {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

/// The bucket a `Host` header may name (its first label) and whether the rest is `localhost`.
pub fn host_bucket(host: &str) -> Option<(String, bool)> {
    let name = host_name(host)?;
    if name == "localhost" {
        return None;
    }
    let (label, rest) = name.split_once('.')?;
    if rest.is_empty() || !valid_bucket_name(label) {
        return None;
    }
    Some((label.to_owned(), rest == "localhost"))
}

/// What a request addresses: the service (`bucket` empty), a bucket (`key` empty) or an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub bucket: String,
    pub key: String,
    /// Addressed through the `Host` header.
    pub vhost: bool,
}

fn decode_key(raw: &str) -> Result<String, OssError> {
    let key = percent_decode_path(raw, "object key").map_err(|e| {
        OssError::new(
            400,
            "InvalidObjectName",
            format!("The specified object is not valid: {e}."),
        )
    })?;
    check_key(&key)?;
    Ok(key)
}

/// OSS's key rules (the empty key is a bucket-level request, not an error).
pub fn check_key(key: &str) -> Result<(), OssError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(OssError::new(
            400,
            "KeyTooLong",
            format!("Your key is too long: at most {MAX_KEY_BYTES} bytes."),
        ));
    }
    if key.starts_with('/') || key.starts_with('\\') {
        return Err(OssError::new(
            400,
            "InvalidObjectName",
            "The specified object is not valid: it starts with `/` or `\\`.",
        ));
    }
    Ok(())
}

/// Resolves the target of a request. `exists` says whether a bucket exists (it decides
/// virtual-host addressing; see the module doc).
pub fn route(
    method: &str,
    raw_path: &str,
    host: Option<&str>,
    exists: impl Fn(&str) -> bool,
) -> Result<Target, OssError> {
    let Some(path) = raw_path.strip_prefix('/') else {
        return Err(OssError::invalid_argument(
            "The request path must start with `/`.",
        ));
    };
    if let Some((bucket, localhost)) = host.and_then(host_bucket) {
        if localhost || exists(&bucket) || (path.is_empty() && method == "PUT") {
            let key = decode_key(path)?;
            return Ok(Target {
                bucket,
                key,
                vhost: true,
            });
        }
    }
    if path.is_empty() {
        return Ok(Target {
            bucket: String::new(),
            key: String::new(),
            vhost: false,
        });
    }
    let (bucket, rest) = path.split_once('/').unwrap_or((path, ""));
    if !valid_bucket_name(bucket) {
        return Err(OssError::new(
            400,
            "InvalidBucketName",
            "The specified bucket is not valid.",
        )
        .with("BucketName", bucket.chars().take(64).collect::<String>()));
    }
    Ok(Target {
        bucket: bucket.to_owned(),
        key: decode_key(rest)?,
        vhost: false,
    })
}

/// The operations served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListBuckets,
    PutBucket,
    DeleteBucket,
    GetBucketInfo,
    HeadBucket,
    GetBucketLocation,
    GetBucketAcl,
    ListObjects,
    ListObjectsV2,
    ListMultipartUploads,
    DeleteMultipleObjects,
    PutObject,
    CopyObject,
    GetObject,
    HeadObject,
    GetObjectMeta,
    GetObjectAcl,
    DeleteObject,
    InitiateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
}

impl Op {
    /// The RAM action that authorizes it (for `CopyObject` and `UploadPartCopy`, the write; the
    /// read of the source is `oss:GetObject`).
    pub fn action(self) -> &'static str {
        match self {
            Op::ListBuckets => "oss:ListBuckets",
            Op::PutBucket => "oss:PutBucket",
            Op::DeleteBucket => "oss:DeleteBucket",
            Op::GetBucketInfo | Op::HeadBucket => "oss:GetBucketInfo",
            Op::GetBucketLocation => "oss:GetBucketLocation",
            Op::GetBucketAcl => "oss:GetBucketAcl",
            Op::ListObjects | Op::ListObjectsV2 => "oss:ListObjects",
            Op::ListMultipartUploads => "oss:ListMultipartUploads",
            Op::DeleteMultipleObjects | Op::DeleteObject => "oss:DeleteObject",
            Op::PutObject
            | Op::CopyObject
            | Op::InitiateMultipartUpload
            | Op::UploadPart
            | Op::UploadPartCopy
            | Op::CompleteMultipartUpload => "oss:PutObject",
            Op::GetObject | Op::HeadObject | Op::GetObjectMeta => "oss:GetObject",
            Op::GetObjectAcl => "oss:GetObjectAcl",
            Op::AbortMultipartUpload => "oss:AbortMultipartUpload",
            Op::ListParts => "oss:ListParts",
        }
    }
}

/// Sub-resources this front-end serves or safely ignores.
const KNOWN: &[&str] = &[
    "acl",
    "bucketInfo",
    "continuation-token",
    "delete",
    "location",
    "objectMeta",
    "partNumber",
    "security-token",
    "uploadId",
    "uploads",
    "versionId",
    "x-oss-request-payer",
    "x-oss-traffic-limit",
];

/// The first sub-resource of the query this front-end does not implement.
fn unsupported(params: &Params) -> Option<&str> {
    params.0.iter().map(|(k, _)| k.as_str()).find(|k| {
        SubresourceSet::All.contains(k)
            && !KNOWN.contains(k)
            && !k.starts_with("response-")
            && !k.starts_with("x-oss-ac-")
    })
}

fn method_not_allowed() -> OssError {
    OssError::new(
        405,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
    )
}

/// Which operation a request is.
pub fn classify(
    method: &str,
    target: &Target,
    params: &Params,
    copy_source: bool,
) -> Result<Op, OssError> {
    if let Some(sub) = unsupported(params) {
        return Err(OssError::not_implemented(&format!(
            "The `{sub}` sub-resource"
        )));
    }
    if target.bucket.is_empty() {
        return match method {
            "GET" => Ok(Op::ListBuckets),
            _ => Err(method_not_allowed()),
        };
    }
    if target.key.is_empty() {
        return match method {
            "PUT" if params.has("acl") => Err(OssError::not_implemented("PutBucketAcl")),
            "PUT" => Ok(Op::PutBucket),
            "DELETE" => Ok(Op::DeleteBucket),
            "HEAD" => Ok(Op::HeadBucket),
            "GET" if params.has("bucketInfo") => Ok(Op::GetBucketInfo),
            "GET" if params.has("location") => Ok(Op::GetBucketLocation),
            "GET" if params.has("acl") => Ok(Op::GetBucketAcl),
            "GET" if params.has("uploads") => Ok(Op::ListMultipartUploads),
            "GET" if params.get("list-type") == Some("2") => Ok(Op::ListObjectsV2),
            "GET" => Ok(Op::ListObjects),
            "POST" if params.has("delete") => Ok(Op::DeleteMultipleObjects),
            _ => Err(method_not_allowed()),
        };
    }
    match method {
        "PUT" if params.has("uploadId") || params.has("partNumber") => {
            if !(params.has("uploadId") && params.has("partNumber")) {
                return Err(OssError::invalid_argument(
                    "UploadPart needs both `partNumber` and `uploadId`.",
                ));
            }
            Ok(if copy_source {
                Op::UploadPartCopy
            } else {
                Op::UploadPart
            })
        }
        "PUT" if params.has("acl") => Err(OssError::not_implemented("PutObjectAcl")),
        "PUT" if copy_source => Ok(Op::CopyObject),
        "PUT" => Ok(Op::PutObject),
        "GET" if params.has("uploadId") => Ok(Op::ListParts),
        "GET" if params.has("acl") => Ok(Op::GetObjectAcl),
        "GET" if params.has("partNumber") => {
            Err(OssError::not_implemented("GetObject by part number"))
        }
        "GET" => Ok(Op::GetObject),
        "HEAD" if params.has("objectMeta") => Ok(Op::GetObjectMeta),
        "HEAD" => Ok(Op::HeadObject),
        "DELETE" if params.has("uploadId") => Ok(Op::AbortMultipartUpload),
        "DELETE" => Ok(Op::DeleteObject),
        "POST" if params.has("uploads") => Ok(Op::InitiateMultipartUpload),
        "POST" if params.has("uploadId") => Ok(Op::CompleteMultipartUpload),
        _ => Err(method_not_allowed()),
    }
}

/// A `Range` header: `bytes=a-b`, `bytes=a-` or `bytes=-n`. Anything else (several ranges,
/// other units, garbage) is `None`: OSS then serves the whole object.
pub fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || s.len() > 19 || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, true) => None,
        (true, false) => num(b).map(ByteRange::Suffix),
        (false, true) => num(a).map(ByteRange::From),
        (false, false) => {
            let (first, last) = (num(a)?, num(b)?);
            (first <= last).then_some(ByteRange::FromTo(first, last))
        }
    }
}

/// `Content-MD5`: base64 of 16 bytes.
pub fn parse_content_md5(value: &str) -> Result<[u8; 16], OssError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .ok_or_else(OssError::invalid_digest)
}

/// `x-oss-copy-source: /bucket/<url-encoded key>[?versionId=…]`.
pub fn parse_copy_source(value: &str) -> Result<(String, String), OssError> {
    let bad = || {
        OssError::invalid_argument(
            "Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.",
        )
    };
    let value = value.trim();
    let path = value.split_once('?').map_or(value, |(p, _)| p);
    let path = path.strip_prefix('/').unwrap_or(path);
    let (bucket, raw_key) = path.split_once('/').ok_or_else(bad)?;
    if !valid_bucket_name(bucket) || raw_key.is_empty() {
        return Err(bad());
    }
    let key = decode_key(raw_key)?;
    Ok((bucket.to_owned(), key))
}

/// `x-oss-meta-*` headers (names lower-cased, prefix removed).
pub fn user_meta(headers: &[(String, String)]) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            lower
                .strip_prefix("x-oss-meta-")
                .filter(|n| !n.is_empty())
                .map(|n| (n.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// `encoding-type=url` asked for.
pub fn url_encoding(params: &Params) -> bool {
    params.get("encoding-type") == Some("url")
}

/// Percent-encodes everything but RFC 3986 unreserved characters (what OSS does for
/// `encoding-type=url`; the clients `unquote` it).
pub fn url_encode(s: &str) -> String {
    keyless_sign::percent_encode(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn path_style_and_virtual_host() {
        let none = |_: &str| false;
        let t = route(
            "GET",
            "/bkt/data%2Fc%20d%2Be.txt",
            Some("127.0.0.1:9"),
            none,
        )
        .unwrap();
        assert_eq!(
            (t.bucket.as_str(), t.key.as_str()),
            ("bkt", "data/c d+e.txt")
        );
        let t = route("GET", "/bkt/data/x%20y.txt", Some("localhost:9"), none).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("bkt", "data/x y.txt"));
        let t = route("GET", "/bkt/", None, none).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("bkt", ""));
        let t = route("GET", "/bkt", None, none).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("bkt", ""));
        let t = route("GET", "/", Some("oss-cn-hangzhou.example.com"), none).unwrap();
        assert!(t.bucket.is_empty());
        let t = route("GET", "/k", Some("bkt.oss.example.com"), |b| b == "bkt").unwrap();
        assert_eq!(
            (t.bucket.as_str(), t.key.as_str(), t.vhost),
            ("bkt", "k", true)
        );
        let t = route("GET", "/a/b", Some("bkt.localhost:80"), none).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("bkt", "a/b"));
        let t = route("PUT", "/", Some("newbkt.example.com"), none).unwrap();
        assert_eq!(t.bucket, "newbkt");
        let t = route("GET", "/bkt/k", Some("[::1]:80"), none).unwrap();
        assert!(!t.vhost);
        assert!(route("GET", "/Bad_Bucket/k", None, none).is_err());
        assert!(route("GET", "/bkt//k", None, none).is_err());
        assert!(route("GET", "/bkt/%zz", None, none).is_err());
        assert!(route("GET", "bkt", None, none).is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9"), Some(ByteRange::FromTo(0, 9)));
        assert_eq!(parse_range("bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(parse_range("bytes=-5"), Some(ByteRange::Suffix(5)));
        for bad in [
            "bytes=9-0",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=-",
            "bytes=a-b",
            "",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn operations() {
        let t = |b: &str, k: &str| Target {
            bucket: b.into(),
            key: k.into(),
            vhost: false,
        };
        let p = |q: &str| Params::parse(q).unwrap();
        assert_eq!(
            classify("GET", &t("", ""), &p(""), false).unwrap(),
            Op::ListBuckets
        );
        assert_eq!(
            classify(
                "GET",
                &t("b", ""),
                &p("list-type=2&continuation-token="),
                false
            )
            .unwrap(),
            Op::ListObjectsV2
        );
        assert_eq!(
            classify("PUT", &t("b", "k"), &p("partNumber=1&uploadId=x"), true).unwrap(),
            Op::UploadPartCopy
        );
        assert_eq!(
            classify("GET", &t("b", "k"), &p("response-content-type=x"), false).unwrap(),
            Op::GetObject
        );
        let e = classify("PUT", &t("b", "k"), &p("tagging"), false).unwrap_err();
        assert_eq!(e.status, 501);
        assert_eq!(
            classify("POST", &t("", ""), &p(""), false)
                .unwrap_err()
                .status,
            405
        );
    }

    #[test]
    fn copy_sources() {
        assert_eq!(
            parse_copy_source("/src/a%2Fb%20c?versionId=x").unwrap(),
            ("src".to_owned(), "a/b c".to_owned())
        );
        assert!(parse_copy_source("/src/").is_err());
        assert!(parse_copy_source("nobucket").is_err());
    }
}
