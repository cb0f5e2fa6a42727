//! A small OSS client (path-style, V1 signatures from `keyless-sign`): list, get and put — what
//! `keyless oss ls|cat|cp` needs. Plain HTTP only, over `keyless-credentials`' transport.

use hyper::Method;
use keyless_credentials::http::{self, HttpUrl};
use keyless_credentials::{
    Credentials, CredentialsError, ProvideCredentials, SystemTimeSource, TimeSource, Timeouts,
};
use keyless_sign::{oss_v1, percent_encode, OssResource, RequestParts};
use keyless_wire::xml::{self, Limits};
use std::sync::Arc;
use std::time::Duration;

/// Largest object `get` reads into memory.
pub const MAX_GET_BYTES: usize = 1 << 30;

/// Largest listing page read.
const MAX_LIST_BYTES: usize = 16 << 20;

/// Errors of the OSS client.
#[derive(Debug, thiserror::Error)]
pub enum OssError {
    #[error("credentials: {0}")]
    Credentials(#[from] CredentialsError),
    #[error("invalid endpoint: {0}")]
    Endpoint(String),
    #[error("signing failed: {0}")]
    Sign(#[from] keyless_sign::SignError),
    #[error("transport: {0}")]
    Transport(String),
    #[error("OSS error {status} `{code}`: {message}")]
    Service {
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified: String,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub objects: Vec<ObjectSummary>,
    pub common_prefixes: Vec<String>,
    pub next_marker: Option<String>,
}

/// An OSS client over a credentials provider (asked for every request, so rotations are seen;
/// wrap it in a [`CachedProvider`](keyless_credentials::CachedProvider) to fetch less often).
#[derive(Debug)]
pub struct OssClient<P> {
    url: HttpUrl,
    provider: P,
    timeouts: Timeouts,
    time_source: Arc<dyn TimeSource>,
}

impl<P: ProvideCredentials> OssClient<P> {
    /// `endpoint` is `host:port` or `http://host:port`.
    pub fn new(endpoint: &str, provider: P) -> Result<Self, OssError> {
        let e = if endpoint.contains("://") {
            endpoint.to_owned()
        } else {
            format!("http://{endpoint}")
        };
        let url = HttpUrl::parse(&e).map_err(OssError::Endpoint)?;
        Ok(OssClient {
            url,
            provider,
            timeouts: Timeouts::new(Duration::from_secs(5), Duration::from_secs(300)),
            time_source: Arc::new(SystemTimeSource),
        })
    }

    /// Uses other timeouts (default: 5 s to connect, 300 s for the whole exchange).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Uses another clock for the signed `date` header.
    pub fn with_time_source(mut self, time_source: Arc<dyn TimeSource>) -> Self {
        self.time_source = time_source;
        self
    }

    async fn send(
        &self,
        method: Method,
        bucket: &str,
        key: &str,
        query: &str,
        body: Vec<u8>,
        max: usize,
    ) -> Result<http::Response, OssError> {
        let creds: Credentials = self.provider.provide_credentials().await?;
        let now = self.time_source.now();
        let date = keyless_sign::format_http_date(now)
            .ok_or_else(|| OssError::Transport("clock out of range".into()))?;
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.url.authority.clone()),
            ("date".into(), date),
        ];
        if !body.is_empty() || method == Method::PUT {
            headers.push(("content-type".into(), "application/octet-stream".into()));
        }
        if let Some(t) = creds.security_token() {
            headers.push(("x-oss-security-token".into(), t.expose_secret().to_owned()));
        }
        let path = if bucket.is_empty() {
            "/".to_owned()
        } else {
            let enc: Vec<String> = key.split('/').map(percent_encode).collect();
            format!("/{bucket}/{}", enc.join("/"))
        };
        let resource = if key.is_empty() {
            OssResource::bucket(bucket)
        } else {
            OssResource::object(bucket, key)
        };
        let parts = RequestParts {
            method: method.as_str(),
            raw_path: &path,
            raw_query: "",
            headers: &headers,
        };
        let auth = oss_v1::sign_request(
            &parts,
            &resource,
            creds.access_key_id(),
            creds.access_key_secret(),
        )?;
        headers.push(("authorization".into(), auth));
        let target = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        let url = self.url.with_path(&target);
        let resp = http::send(method, &url, &headers, body, self.timeouts, max)
            .await
            .map_err(|e| OssError::Transport(format!("{}: {e}", self.url.authority)))?;
        if resp.status >= 300 {
            let doc = xml::parse_with(&resp.body, &RESPONSE_LIMITS).unwrap_or_default();
            let field = |name: &str| doc.child_text(name).unwrap_or_default().to_owned();
            return Err(OssError::Service {
                status: resp.status,
                code: field("Code"),
                message: field("Message"),
                request_id: field("RequestId"),
            });
        }
        Ok(resp)
    }

    /// One page of `bucket`'s keys under `prefix` (with `/` as delimiter when `delimiter`).
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: bool,
        marker: Option<&str>,
    ) -> Result<Listing, OssError> {
        let mut q = vec![
            ("max-keys".to_owned(), "1000".to_owned()),
            ("prefix".to_owned(), prefix.to_owned()),
        ];
        if delimiter {
            q.push(("delimiter".into(), "/".into()));
        }
        if let Some(m) = marker {
            q.push(("marker".into(), m.to_owned()));
        }
        let query = keyless_sign::acs3::encode_query(&q);
        let resp = self
            .send(Method::GET, bucket, "", &query, Vec::new(), MAX_LIST_BYTES)
            .await?;
        parse_listing(&resp.body)
            .map_err(|e| OssError::Transport(format!("the listing is not readable XML: {e}")))
    }

    /// Every key under `prefix`, following markers.
    pub async fn list_all(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectSummary>, OssError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self.list(bucket, prefix, false, marker.as_deref()).await?;
            all.extend(page.objects);
            match page.next_marker {
                Some(m) if marker.as_deref() != Some(m.as_str()) => marker = Some(m),
                _ => return Ok(all),
            }
        }
    }

    /// An object's bytes.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, OssError> {
        Ok(self
            .send(Method::GET, bucket, key, "", Vec::new(), MAX_GET_BYTES)
            .await?
            .body
            .to_vec())
    }

    /// Uploads `body` as `bucket/key`.
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), OssError> {
        self.send(Method::PUT, bucket, key, "", body, 1 << 20)
            .await
            .map(|_| ())
    }
}

/// How responses are read: OSS's bounds, for documents up to the largest listing read.
const RESPONSE_LIMITS: Limits = Limits {
    max_bytes: MAX_LIST_BYTES,
    ..Limits::OSS
};

/// A `ListBucketResult` document as a [`Listing`].
fn parse_listing(body: &[u8]) -> Result<Listing, xml::XmlError> {
    let root = xml::parse_with(body, &RESPONSE_LIMITS)?;
    let mut out = Listing::default();
    for block in root.children_named("Contents") {
        out.objects.push(ObjectSummary {
            key: block.child_text("Key").unwrap_or_default().to_owned(),
            size: block
                .child_text("Size")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            etag: block.child_text("ETag").unwrap_or_default().to_owned(),
            last_modified: block
                .child_text("LastModified")
                .unwrap_or_default()
                .to_owned(),
        });
    }
    for block in root.children_named("CommonPrefixes") {
        if let Some(p) = block.child_text("Prefix") {
            out.common_prefixes.push(p.to_owned());
        }
    }
    if root.child_text("IsTruncated") == Some("true") {
        out.next_marker = root
            .child_text("NextMarker")
            .map(str::to_owned)
            .or_else(|| out.objects.last().map(|o| o.key.clone()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listings() {
        let xml = "<ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated><NextMarker>k2</NextMarker>\
                   <Contents><Key>a&amp;b</Key><LastModified>x</LastModified><ETag>\"E\"</ETag><Size>3</Size></Contents>\
                   <Contents><Key>k2</Key><Size>1</Size></Contents><CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes></ListBucketResult>";
        let l = parse_listing(xml.as_bytes()).unwrap();
        assert_eq!(l.objects.len(), 2);
        assert_eq!(l.objects[0].key, "a&b");
        assert_eq!(l.objects[0].etag, "\"E\"");
        assert_eq!(l.objects[0].size, 3);
        assert_eq!(l.next_marker.as_deref(), Some("k2"));
        assert_eq!(l.common_prefixes, ["d/"]);
        assert!(parse_listing(b"<a>").is_err());
    }
}
