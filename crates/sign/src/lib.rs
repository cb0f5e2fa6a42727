//! Request signing for the Alibaba Cloud OpenAPI wire dialects, as a pure library.
//!
//! Owns: percent-encoding and form decoding as the dialects use them, canonical requests and
//! strings to sign, signing (for keyless' own clients) and verification (for the server) of
//! [`rpc_v1`] (RPC `HMAC-SHA1`, including the credentials library's `quote_plus` variant),
//! [`acs3`] (`ACS3-HMAC-SHA256`, RPC and ROA alike) and [`roa_v2`] (`acs <AK>:<sig>`), the OSS
//! dialects [`oss_v1`] (`OSS <AK>:<sig>` and presigned URLs) and [`oss_v4`] (`OSS4-HMAC-SHA256`,
//! header and presigned), and MaxCompute's [`odps`] (`ODPS <AK>:<sig>`, legacy and V4).
//! Verification returns a value only a successful verification can construct; MACs are compared
//! in constant time; every input is bounded ([`limits`]) and nothing an attacker sends can panic.
//! Must not: do I/O, read the clock or a random source (timestamps are parsed and handed back, the
//! caller checks skew and nonces), know vendor error codes or HTTP status codes, or be async.

pub mod acs3;
mod encode;
mod error;
pub mod limits;
pub mod odps;
pub mod oss_v1;
pub mod oss_v4;
pub mod roa_v2;
pub mod rpc_v1;
mod time;

pub use encode::{form_decode, percent_decode_path, percent_encode};
pub use error::SignError;
pub use time::{
    format_http_date, format_iso8601_basic, format_timestamp, parse_http_date, parse_iso8601_basic,
    parse_timestamp,
};

/// The result of a successful verification, in any dialect. Sealed, and every implementing type
/// has private fields: only this crate's `verify` functions make one, so holding a `Verified`
/// proves that a signature verified (the server turns a looked-up key into a caller only with
/// one).
pub trait Verified: sealed::Sealed {
    /// The AccessKeyId whose secret verified the signature.
    fn access_key_id(&self) -> &str;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! verified {
    ($($t:ty),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Verified for $t {
            fn access_key_id(&self) -> &str {
                <$t>::access_key_id(self)
            }
        }
    )*};
}

verified!(
    acs3::Acs3Verified,
    roa_v2::RoaVerified,
    rpc_v1::V1Verified,
    oss_v1::OssV1Verified,
    oss_v4::OssV4Verified,
    odps::OdpsVerified,
);

/// The parts of an HTTP request that signatures cover, as the server received them.
///
/// `raw_path` and `raw_query` are exactly as on the wire (still percent-encoded; the query
/// without its `?`). Header names should be lower-case; they are compared case-insensitively.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The path as sent, e.g. `/` or `/api/v2/services/cn-hangzhou/my_svc`.
    pub raw_path: &'a str,
    /// The query string as sent, without the leading `?`.
    pub raw_query: &'a str,
    /// Every request header, in any order, duplicates allowed.
    pub headers: &'a [(String, String)],
}

impl<'a> RequestParts<'a> {
    fn check_limits(&self) -> Result<(), SignError> {
        limits::check_len("method", self.method.len(), limits::MAX_METHOD_BYTES)?;
        limits::check_len("path", self.raw_path.len(), limits::MAX_PATH_BYTES)?;
        limits::check_len("query", self.raw_query.len(), limits::MAX_QUERY_BYTES)?;
        limits::check_count("headers", self.headers.len(), limits::MAX_HEADERS)?;
        for (name, value) in self.headers {
            limits::check_len("header name", name.len(), limits::MAX_HEADER_NAME_BYTES)?;
            limits::check_len("header value", value.len(), limits::MAX_HEADER_VALUE_BYTES)?;
        }
        Ok(())
    }

    /// All values of header `name` (case-insensitive), in order.
    fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The single value of header `name`; more than one is an error.
    fn single_header(&self, name: &str) -> Result<Option<&'a str>, SignError> {
        let mut values = self.header_values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(SignError::DuplicateHeader(error::clip(name)));
        }
        Ok(first)
    }
}

/// What an OSS request addresses, as the server's router resolved it (path-style `/bucket/key`,
/// virtual-host `bucket.host/key`, or a CNAME): the OSS signatures cover these, not the raw path.
///
/// `key` is the *decoded* object key (`data/c d+e.txt`, not `data%2Fc%20d%2Be.txt`); empty for a
/// bucket-level request. `bucket` is empty for a service-level request (`ListBuckets`), and then
/// `key` must be empty too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssResource<'a> {
    /// The bucket name, or empty for the service.
    pub bucket: &'a str,
    /// The decoded object key, or empty for the bucket itself.
    pub key: &'a str,
}

impl<'a> OssResource<'a> {
    /// The service (`GET /`).
    pub const SERVICE: OssResource<'static> = OssResource {
        bucket: "",
        key: "",
    };

    /// A bucket-level resource (`/bucket/`).
    pub fn bucket(bucket: &'a str) -> Self {
        Self { bucket, key: "" }
    }

    /// An object (`/bucket/key`).
    pub fn object(bucket: &'a str, key: &'a str) -> Self {
        Self { bucket, key }
    }

    fn check(&self) -> Result<(), SignError> {
        limits::check_len(
            "resource",
            self.bucket.len() + self.key.len(),
            limits::MAX_PATH_BYTES,
        )?;
        if self.bucket.is_empty() && !self.key.is_empty() {
            return Err(SignError::InvalidParameter("key"));
        }
        Ok(())
    }
}

/// Feeds arbitrary bytes through every parser and verifier of this crate; must never panic.
///
/// The input is split on `0xFF` bytes into fields (method, path, query, header lines, the
/// authorization value, a secret, a signature, a timestamp, a date, then an OSS bucket, key and
/// region) so that a fuzzer reaches deep into each verifier. A cargo-fuzz target calls this.
#[doc(hidden)]
pub fn fuzz_verify_any(data: &[u8]) {
    use keyless_secret::SecretString;

    let mut fields = data.split(|b| *b == 0xFF).map(String::from_utf8_lossy);
    let mut next = || fields.next().map(|c| c.into_owned()).unwrap_or_default();
    let method = next();
    let path = next();
    let query = next();
    let header_block = next();
    let authorization = next();
    let secret = SecretString::new(next());
    let signature = next();
    let timestamp = next();
    let date = next();
    let bucket = next();
    let key = next();
    let region = next();

    let headers: Vec<(String, String)> = header_block
        .split('\n')
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let req = RequestParts {
        method: &method,
        raw_path: &path,
        raw_query: &query,
        headers: &headers,
    };

    let _ = parse_timestamp(&timestamp);
    let _ = parse_http_date(&date);
    let _ = percent_encode(&query);

    if let Ok(params) = form_decode(&query) {
        let _ = rpc_v1::parse_params(&params);
        let _ = rpc_v1::string_to_sign(&method, &params);
        let _ = rpc_v1::string_to_sign_quote_plus(&method, &params);
        let _ = rpc_v1::verify(&method, &params, &secret, &signature);
    }

    let _ = acs3::canonical_query(&query);
    let auth3 = acs3::parse_authorization(&authorization);
    if let Ok(auth) = &auth3 {
        let _ = acs3::canonical_request(&req, auth.signed_headers(), &signature);
        let _ = acs3::verify(&req, &signature, auth, &secret);
    }
    let _ = acs3::sign_request(&req, "fuzz", &secret);

    let _ = roa_v2::string_to_sign(&req);
    if let Ok(auth) = roa_v2::parse_authorization(&authorization) {
        let _ = roa_v2::verify(&req, &auth, &secret);
    }
    let _ = roa_v2::sign_request(&req, "fuzz", &secret);

    let _ = parse_iso8601_basic(&timestamp);
    let resource = OssResource {
        bucket: &bucket,
        key: &key,
    };
    for set in [
        oss_v1::SubresourceSet::All,
        oss_v1::SubresourceSet::Oss2,
        oss_v1::SubresourceSet::OssV2,
    ] {
        let _ = oss_v1::string_to_sign(&req, &resource, set);
        let _ = oss_v1::presigned_string_to_sign(&req, &resource, set);
    }
    if let Ok(auth) = oss_v1::parse_authorization(&authorization) {
        let _ = oss_v1::verify(&req, &resource, &auth, &secret);
    }
    if let Ok(Some(p)) = oss_v1::parse_presigned(&query) {
        let _ = oss_v1::verify_presigned(&req, &resource, &p, &secret);
    }
    let _ = oss_v1::sign_request(&req, &resource, "fuzz", &secret);
    let _ = oss_v1::presign(&req, &resource, "fuzz", &secret, 1, Some(&secret));

    if let Ok(auth) = oss_v4::parse_authorization(&authorization) {
        let _ = oss_v4::canonical_request(&req, &resource, auth.additional_headers());
        let _ = oss_v4::verify(&req, &resource, &auth, &secret);
    }
    if let Ok(Some(p)) = oss_v4::parse_presigned(&query) {
        let _ = oss_v4::presigned_canonical_request(&req, &resource, p.additional_headers());
        let _ = oss_v4::verify_presigned(&req, &resource, &p, &secret);
    }
    let extra = [signature.as_str(), "host"];
    let _ = oss_v4::sign_request(&req, &resource, "fuzz", &secret, &region, &extra);
    let _ = oss_v4::presign(
        &req, &resource, "fuzz", &secret, &region, 1, 60, None, &extra,
    );

    let _ = odps::canonical_string(&req);
    if let Ok(auth) = odps::parse_authorization(&authorization) {
        let _ = odps::verify(&req, &auth, &secret);
    }
    let scope = odps::Scope {
        date: &timestamp,
        region: &region,
    };
    let _ = odps::sign_request(&req, "fuzz", &secret, None);
    let _ = odps::sign_request(&req, "fuzz", &secret, Some(scope));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_entry_survives_simple_inputs() {
        fuzz_verify_any(b"");
        fuzz_verify_any(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff");
        fuzz_verify_any(
            b"GET\xff/\xffa=%zz&b=1\xffhost: x\nx-acs-date: 2020-01-01T00:00:00Z\xff\
              ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=00\xffs\xff\xff\xff",
        );
        fuzz_verify_any(
            b"PUT\xff/b/k\xffuploadId=1&partNumber=2&OSSAccessKeyId=a&Expires=1&Signature=x\xff\
              date: Sat, 28 Nov 2026 05:14:07 GMT\nx-oss-date: 20261128T051407Z\xff\
              OSS4-HMAC-SHA256 Credential=a/20261128/r/oss/aliyun_v4_request,Signature=00\xff\
              s\xff\xff20261128\xff\xffb\xffk\xffcn-hangzhou",
        );
    }

    #[test]
    fn single_header_rejects_duplicates() {
        let headers = vec![
            ("host".to_owned(), "a".to_owned()),
            ("Host".to_owned(), "b".to_owned()),
        ];
        let req = RequestParts {
            method: "GET",
            raw_path: "/",
            raw_query: "",
            headers: &headers,
        };
        assert_eq!(
            req.single_header("host"),
            Err(SignError::DuplicateHeader("host".to_owned()))
        );
        assert_eq!(req.single_header("date"), Ok(None));
    }
}
