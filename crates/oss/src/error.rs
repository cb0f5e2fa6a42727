//! OSS errors: the vendor's `<Error>` XML (`Code`, `Message`, `RequestId`, `HostId` and, per
//! code, fields such as `BucketName`, `Key` or the server's `StringToSign`), mapped from storage,
//! signature and authentication failures. Internal causes are logged, never sent.

use keyless_objstore::StoreError;
use keyless_platform::error::ApiError;
use keyless_sign::SignError;
use keyless_wire::xml::XmlWriter;

/// A vendor-shaped OSS error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Extra elements after `HostId`, in order.
    pub extra: Vec<(&'static str, String)>,
    /// Extra response headers (e.g. `Content-Range` of a 416).
    pub headers: Vec<(&'static str, String)>,
}

impl OssError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        OssError {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds an element to the body.
    pub fn with(mut self, tag: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((tag, value.into()));
        self
    }

    pub fn internal() -> Self {
        Self::new(
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidArgument", message)
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(403, "AccessDenied", message)
    }

    pub fn anonymous() -> Self {
        Self::access_denied("You have no right to access this object because of bucket acl.")
    }

    pub fn not_implemented(what: &str) -> Self {
        Self::new(
            501,
            "NotImplemented",
            format!("{what} is not implemented by keyless."),
        )
    }

    pub fn no_such_bucket(bucket: &str) -> Self {
        Self::new(404, "NoSuchBucket", "The specified bucket does not exist.")
            .with("BucketName", bucket)
    }

    pub fn no_such_key(key: &str) -> Self {
        Self::new(404, "NoSuchKey", "The specified key does not exist.").with("Key", key)
    }

    pub fn malformed_xml(why: &str) -> Self {
        Self::new(
            400,
            "MalformedXML",
            format!("The XML you provided was not well-formed or did not validate against our published schema: {why}."),
        )
    }

    pub fn invalid_digest() -> Self {
        Self::new(
            400,
            "InvalidDigest",
            "The Content-MD5 you specified was invalid.",
        )
    }

    pub fn entity_too_large() -> Self {
        Self::new(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size.",
        )
    }

    /// The XML body.
    pub fn body(&self, request_id: &str, host_id: &str) -> String {
        let mut w = XmlWriter::new("Error");
        w.elem("Code", self.code)
            .elem("Message", &self.message)
            .elem("RequestId", request_id)
            .elem("HostId", host_id);
        for (tag, value) in &self.extra {
            w.elem(tag, value);
        }
        w.finish()
    }
}

/// Storage failures.
impl From<StoreError> for OssError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidBucketName(b) => {
                OssError::new(400, "InvalidBucketName", "The specified bucket is not valid.")
                    .with("BucketName", b)
            }
            StoreError::NoSuchBucket(b) => OssError::no_such_bucket(&b),
            StoreError::BucketAlreadyExists(b) => OssError::new(
                409,
                "BucketAlreadyExists",
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            )
            .with("BucketName", b),
            StoreError::BucketNotEmpty(b) => OssError::new(
                409,
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty.",
            )
            .with("BucketName", b),
            StoreError::InvalidObjectName(why) => OssError::new(
                400,
                "InvalidObjectName",
                format!("The specified object is not valid: {why}."),
            ),
            StoreError::NoSuchKey(k) => OssError::no_such_key(&k),
            StoreError::InvalidRange { size } => OssError {
                headers: vec![("content-range", format!("bytes */{size}"))],
                ..OssError::new(416, "InvalidRange", "The requested range is not satisfiable")
            },
            StoreError::NoSuchUpload(id) => OssError::new(
                404,
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            )
            .with("UploadId", id),
            StoreError::InvalidPart { part_number } => OssError::new(
                400,
                "InvalidPart",
                "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
            )
            .with("PartNumber", part_number.to_string()),
            StoreError::InvalidPartOrder => OssError::new(
                400,
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts list must specified in order by part number.",
            ),
            StoreError::EntityTooSmall { part_number, size, min } => OssError::new(
                400,
                "EntityTooSmall",
                format!("Your proposed upload smaller than the minimum allowed size: part {part_number} is {size} bytes, the minimum is {min}."),
            ),
            StoreError::BadDigest => OssError::invalid_digest(),
            StoreError::MetadataTooLarge(max) => OssError::new(
                400,
                "MetadataTooLarge",
                format!("Your metadata headers exceed the maximum allowed metadata size of {max} bytes."),
            ),
            StoreError::InvalidArgument(why) => OssError::invalid_argument(why),
            other => {
                tracing::error!(error = %other, "oss: storage error");
                OssError::internal()
            }
        }
    }
}

/// Failures of `auth::resolve` (unknown or disabled keys, bad tokens) and of `auth::authorize`.
impl From<ApiError> for OssError {
    fn from(e: ApiError) -> Self {
        let code = e.code.as_str();
        if e.status >= 500 {
            return OssError::internal();
        }
        if code.starts_with("InvalidAccessKeyId") {
            let msg = if code.ends_with("Inactive") {
                "The OSS Access Key Id you provided is disabled."
            } else {
                "The OSS Access Key Id you provided does not exist in our records."
            };
            return OssError::new(403, "InvalidAccessKeyId", msg);
        }
        if code == "InvalidSecurityToken.Expired" {
            return OssError::new(
                403,
                "SecurityTokenExpired",
                "The security token you provided has expired.",
            );
        }
        if code.starts_with("InvalidSecurityToken") || code == "MissingSecurityToken" {
            return OssError::new(
                403,
                "InvalidSecurityToken",
                "The security token you provided is invalid.",
            );
        }
        if let Some(d) = &e.denied {
            return OssError::access_denied(format!(
                "You have no right to access this object because of bucket acl or RAM policy: `{}` is not allowed for {} ({}).",
                d.auth_action, d.principal_display_name, d.no_permission_type
            ));
        }
        OssError::access_denied(e.message)
    }
}

/// A signature failure of `keyless-sign`, for a request signed by `access_key_id`.
pub fn from_sign(e: &SignError, access_key_id: &str, provided: &str) -> OssError {
    match e {
        SignError::SignatureMismatch {
            string_to_sign,
            canonical_request,
        } => {
            let mut err = OssError::new(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            )
            .with("StringToSign", string_to_sign.clone());
            if let Some(c) = canonical_request {
                err = err.with("CanonicalRequest", c.clone());
            } else {
                let bytes: Vec<String> =
                    string_to_sign.bytes().map(|b| format!("{b:02x}")).collect();
                err = err.with("StringToSignBytes", bytes.join(" "));
            }
            err.with("SignatureProvided", provided)
                .with("OSSAccessKeyId", access_key_id)
        }
        SignError::InvalidDate(_) | SignError::InvalidBasicTimestamp(_) => {
            OssError::access_denied("OSS authentication requires a valid Date.")
        }
        SignError::MissingHeader(h) if h == "date" || h == "x-oss-date" => {
            OssError::access_denied("OSS authentication requires a valid Date.")
        }
        SignError::ConflictingSecurityTokens => OssError::new(
            403,
            "InvalidSecurityToken",
            "The request carries conflicting security tokens.",
        ),
        SignError::MalformedAuthorization(_) | SignError::MalformedSignature(_) => {
            OssError::invalid_argument(format!("Authorization header is invalid: {e}."))
        }
        other => OssError::invalid_argument(format!("The request is not valid: {other}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_are_client_errors_or_internal() {
        let e = OssError::from(StoreError::NoSuchKey("k".into()));
        assert_eq!((e.status, e.code), (404, "NoSuchKey"));
        let e = OssError::from(StoreError::Corrupt("x"));
        assert_eq!((e.status, e.code), (500, "InternalError"));
        assert!(!e.message.contains('x'));
    }

    #[test]
    fn body_shape() {
        let b = OssError::no_such_bucket("b").body("RID", "host");
        assert!(b.contains("<Error><Code>NoSuchBucket</Code>"), "{b}");
        assert!(b.contains(
            "<RequestId>RID</RequestId><HostId>host</HostId><BucketName>b</BucketName></Error>"
        ));
    }
}
