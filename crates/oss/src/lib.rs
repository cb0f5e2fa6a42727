//! The OSS-compatible object service: oss2 and alibabacloud-oss-v2 talk to it unchanged.
//!
//! A request goes: `request` (addressing, query, operation, headers: plain data) →
//! `authn` (V1 / V4 / presigned signature, STS token, clock) → authorization through the
//! policy engine (`auth::authorize`: each operation's RAM action on
//! `acs:oss:*:<owner uid>:<bucket>[/<key>]`; buckets belong to one account and no other
//! account's principal may touch them) → the operation on the storage [`Backend`] → the vendor's
//! XML (`keyless_wire::xml`) or error (`error`).
//!
//! Bodies stream: uploads (PutObject, UploadPart) go from the connection to storage in chunks,
//! downloads (GetObject) from storage to the connection; only the XML request bodies (delete,
//! complete, create-bucket) are read into memory, with small limits.

mod authn;
mod bucket;
mod error;
mod multipart;
mod object;
mod request;

use bytes::Bytes;
pub use error::OssError;
use keyless_auth::{authorize, request_context, Caller};
use keyless_http::{
    Access, BodyReader, Handler, HttpReq, HttpReqHead, HttpResp, RespBody, StreamResp,
};
use keyless_objstore::{Backend, BucketInfo};
use keyless_platform::state::State;
use keyless_policy::Context;
use keyless_sign::OssResource;
use md5::Digest as _;
use request::{Op, Params, Target};
use std::io::Read;
use std::sync::Arc;

/// The largest object a single PUT (or part) may carry (the vendor's 5 GiB).
pub const MAX_OBJECT_BYTES: u64 = 5 << 30;
/// The largest XML request body read into memory.
const MAX_XML_BODY: usize = 4 << 20;
/// How much of an unread request body is drained after an early answer, so the client can read
/// it instead of a reset connection.
const DRAIN_LIMIT: u64 = 8 << 20;

/// The OSS front-end.
pub struct Oss {
    pub state: Arc<State>,
    pub backend: Arc<dyn Backend>,
}

/// The OSS listener's handler.
pub fn handler(state: Arc<State>, backend: Arc<dyn Backend>) -> Arc<dyn Handler> {
    Arc::new(Oss { state, backend })
}

/// Creates `bucket` for `account` unless it exists (used for workspaces' default buckets).
pub fn ensure_bucket(
    backend: &dyn Backend,
    account: &str,
    bucket: &str,
    region: &str,
) -> Result<(), keyless_platform::error::ApiError> {
    use keyless_platform::error::ApiError;
    if backend
        .bucket_exists(bucket)
        .map_err(|_| ApiError::internal())?
    {
        return Ok(());
    }
    match backend.create_bucket(bucket, account, region) {
        Ok(_) | Err(keyless_objstore::StoreError::BucketAlreadyExists(_)) => Ok(()),
        Err(_) => Err(ApiError::internal()),
    }
}

/// A request id as the vendor shapes them: 24 upper-case hex digits.
fn request_id() -> String {
    let mut b = [0u8; 12];
    if keyless_platform::ids::random_bytes(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, x) in b.iter_mut().enumerate() {
            *x = (nanos >> (8 * i)) as u8;
        }
    }
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Unix milliseconds as `2025-01-01T00:00:00.000Z`: the vendor always writes `.000` (whole
/// seconds), and oss2 accepts nothing else.
pub(crate) fn iso_millis(ms: i64) -> String {
    keyless_time::format_iso8601_millis(ms.div_euclid(1000) * 1000)
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

/// Unix milliseconds as an HTTP date.
fn http_date(ms: i64) -> String {
    keyless_sign::format_http_date(ms.div_euclid(1000))
        .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 GMT".to_owned())
}

/// The MD5 of a simple object's ETag (`"<32 hex>"`) in base64, for `Content-MD5`.
fn etag_md5_b64(etag: &str) -> Option<String> {
    use base64::Engine as _;
    let hex = etag.trim_matches('"');
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(base64::engine::general_purpose::STANDARD.encode(out))
}

/// Everything an operation needs about its request.
pub(crate) struct Call<'a> {
    oss: &'a Oss,
    head: &'a HttpReqHead,
    params: Params,
    target: Target,
    op: Op,
    caller: Caller,
    content_sha256: Option<[u8; 32]>,
    policy_ctx: Context,
}

impl Call<'_> {
    fn state(&self) -> &State {
        &self.oss.state
    }

    fn backend(&self) -> &dyn Backend {
        &*self.oss.backend
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    /// The host clients reach this service at (the `Host` header without a bucket label).
    fn endpoint(&self) -> String {
        let host = self.header("host").unwrap_or("localhost");
        if self.target.vhost {
            host.split_once('.')
                .map_or(host, |(_, rest)| rest)
                .to_owned()
        } else {
            host.to_owned()
        }
    }

    fn bucket(&self) -> &str {
        &self.target.bucket
    }

    fn key(&self) -> &str {
        &self.target.key
    }

    /// The bucket's information; `NoSuchBucket` when it does not exist.
    fn bucket_info(&self, bucket: &str) -> Result<BucketInfo, OssError> {
        self.backend().head_bucket(bucket).map_err(|e| match e {
            keyless_objstore::StoreError::InvalidBucketName(_) => OssError::no_such_bucket(bucket),
            other => other.into(),
        })
    }

    /// Authorizes `action` on `acs:oss:*:<owner>:<suffix>` with the request's context plus
    /// `extra`. A bucket of another account is off limits whatever the caller's policies say
    /// (keyless has no bucket policies).
    fn allow(
        &self,
        action: &str,
        owner: &str,
        suffix: &str,
        extra: &[(&str, &str)],
    ) -> Result<(), OssError> {
        if owner != self.caller.account_id() {
            return Err(OssError::access_denied(
                "You have no right to access this bucket: it belongs to another account.",
            ));
        }
        let resource = format!("acs:oss:*:{owner}:{suffix}");
        if extra.is_empty() {
            authorize(
                self.state(),
                &self.caller,
                action,
                &resource,
                &self.policy_ctx,
            )?;
        } else {
            let mut ctx = self.policy_ctx.clone();
            for (k, v) in extra {
                ctx.insert(k, *v);
            }
            authorize(self.state(), &self.caller, action, &resource, &ctx)?;
        }
        Ok(())
    }

    /// Authorizes this call's action on its bucket and returns the bucket.
    fn allow_bucket(&self, extra: &[(&str, &str)]) -> Result<BucketInfo, OssError> {
        let info = self.bucket_info(self.bucket())?;
        self.allow(self.op.action(), &info.owner, &info.name, extra)?;
        Ok(info)
    }

    /// Authorizes `action` on object `key` of `bucket` and returns the bucket.
    fn allow_object(&self, action: &str, bucket: &str, key: &str) -> Result<BucketInfo, OssError> {
        let info = self.bucket_info(bucket)?;
        self.allow(action, &info.owner, &format!("{bucket}/{key}"), &[])?;
        Ok(info)
    }

    /// Reads a small request body (XML), checking `Content-MD5` and a signed payload hash.
    fn read_small_body(&self, body: &mut BodyReader, limit: usize) -> Result<Vec<u8>, OssError> {
        let mut buf = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        match body.take(cap).read_to_end(&mut buf) {
            Ok(n) if n <= limit => {}
            Ok(_) => {
                return Err(OssError::invalid_argument(format!(
                    "The request body is over {limit} bytes."
                )))
            }
            Err(e) => return Err(body_error(&e)),
        }
        if let Some(md5) = self.header("content-md5") {
            let want = request::parse_content_md5(md5)?;
            let got: [u8; 16] = md5::Md5::digest(&buf).into();
            if want != got {
                return Err(OssError::invalid_digest());
            }
        }
        if let Some(want) = self.content_sha256 {
            let got: [u8; 32] = sha2::Sha256::digest(&buf).into();
            if want != got {
                return Err(sha256_mismatch());
            }
        }
        Ok(buf)
    }
}

fn sha256_mismatch() -> OssError {
    OssError::new(
        400,
        "BadDigest",
        "The x-oss-content-sha256 you specified did not match what we received.",
    )
}

/// A body that could not be read.
fn body_error(e: &std::io::Error) -> OssError {
    if BodyReader::is_too_large(e) {
        OssError::entity_too_large()
    } else {
        OssError::new(
            400,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        )
    }
}

/// A 200 XML response.
fn xml_ok(body: String) -> StreamResp {
    StreamResp {
        status: 200,
        headers: vec![("content-type".into(), "application/xml".into())],
        body: RespBody::Full(Bytes::from(body)),
        access: Access::default(),
    }
}

/// An empty response.
fn empty(status: u16) -> StreamResp {
    StreamResp {
        status,
        headers: Vec::new(),
        body: RespBody::Full(Bytes::new()),
        access: Access::default(),
    }
}

impl Oss {
    /// Records the operation and, once authenticated, the caller in `access`.
    fn run(
        &self,
        head: &HttpReqHead,
        body: &mut BodyReader,
        access: &mut Access,
    ) -> Result<StreamResp, OssError> {
        let params = Params::parse(&head.query)?;
        let target = request::route(&head.method, &head.path, head.header("host"), |b| {
            self.backend.bucket_exists(b).unwrap_or(false)
        })?;
        let copy_source = head.header("x-oss-copy-source").is_some();
        let op = request::classify(&head.method, &target, &params, copy_source)?;
        access.route = Some(format!("{op:?}").into());
        let resource = if target.bucket.is_empty() {
            OssResource::SERVICE
        } else {
            OssResource::object(&target.bucket, &target.key)
        };
        let authn::Authenticated {
            caller,
            content_sha256,
        } = authn::authenticate(&self.state, head, &resource)?;
        access.caller = Some(caller.arn());
        let policy_ctx = request_context(&self.state, head.peer);
        let call = Call {
            oss: self,
            head,
            params,
            target,
            op,
            caller,
            content_sha256,
            policy_ctx,
        };
        match op {
            Op::ListBuckets => bucket::list_buckets(&call),
            Op::PutBucket => bucket::put_bucket(&call, body),
            Op::DeleteBucket => bucket::delete_bucket(&call),
            Op::GetBucketInfo => bucket::get_bucket_info(&call),
            Op::HeadBucket => bucket::head_bucket(&call),
            Op::GetBucketLocation => bucket::get_bucket_location(&call),
            Op::GetBucketAcl => bucket::get_bucket_acl(&call),
            Op::ListObjects => bucket::list_objects(&call, false),
            Op::ListObjectsV2 => bucket::list_objects(&call, true),
            Op::ListMultipartUploads => multipart::list_uploads(&call),
            Op::DeleteMultipleObjects => object::delete_multiple(&call, body),
            Op::PutObject => object::put_object(&call, body),
            Op::CopyObject => object::copy_object(&call),
            Op::GetObject => object::get_object(&call, false),
            Op::HeadObject => object::get_object(&call, true),
            Op::GetObjectMeta => object::get_object_meta(&call),
            Op::GetObjectAcl => object::get_object_acl(&call),
            Op::DeleteObject => object::delete_object(&call),
            Op::InitiateMultipartUpload => multipart::initiate(&call),
            Op::UploadPart => multipart::upload_part(&call, body),
            Op::UploadPartCopy => multipart::upload_part_copy(&call),
            Op::CompleteMultipartUpload => multipart::complete(&call, body),
            Op::AbortMultipartUpload => multipart::abort(&call),
            Op::ListParts => multipart::list_parts(&call),
        }
    }

    /// The error answer: XML body, or for HEAD (and 304) no body and the XML in base64 in
    /// `x-oss-err`.
    fn render_error(&self, e: &OssError, head_only: bool, request_id: &str) -> StreamResp {
        if e.status >= 500 {
            tracing::error!(
                service = "oss",
                request_id,
                code = e.code,
                message = %e.message,
                "internal error"
            );
        }
        let xml = e.body(request_id, &self.state.config().host_id);
        let mut headers: Vec<(String, String)> =
            vec![("content-type".into(), "application/xml".into())];
        for (k, v) in &e.headers {
            headers.push(((*k).to_owned(), v.clone()));
        }
        let body = if head_only || e.status == 304 {
            use base64::Engine as _;
            headers.push((
                "x-oss-err".into(),
                base64::engine::general_purpose::STANDARD.encode(xml.as_bytes()),
            ));
            Bytes::new()
        } else {
            Bytes::from(xml)
        };
        StreamResp {
            status: e.status,
            headers,
            body: RespBody::Full(body),
            access: Access::default(),
        }
    }

    /// Serves one request whose body is `body`.
    pub fn serve(&self, head: HttpReqHead, mut body: BodyReader) -> StreamResp {
        let request_id = request_id();
        let head_only = head.method == "HEAD";
        let mut access = Access::default();
        let result = self.run(&head, &mut body, &mut access);
        // A refusal of an authenticated caller (a bad date is `AccessDenied` too).
        access.decide(
            result
                .as_ref()
                .is_err_and(|e| e.code == "AccessDenied" && access.caller.is_some()),
        );
        let mut resp = match result {
            Ok(r) => r,
            Err(e) => self.render_error(&e, head_only, &request_id),
        };
        // What the operation did not read is drained (up to a limit) so the client sees the
        // answer rather than a reset.
        let _ = std::io::copy(&mut (&mut body).take(DRAIN_LIMIT), &mut std::io::sink());
        access.request_id = Some(request_id.clone());
        resp.access = access;
        resp.headers.push(("x-oss-request-id".into(), request_id));
        resp.headers.push(("server".into(), "AliyunOSS".into()));
        resp.headers
            .push(("date".into(), http_date(self.state.clock().now_millis())));
        resp
    }
}

impl Handler for Oss {
    /// In-process use (tests): the body is in memory and the response is read into memory.
    fn handle(&self, req: HttpReq) -> HttpResp {
        let head = HttpReqHead::of(&req);
        let resp = self.serve(head, BodyReader::from_bytes(req.body));
        resp.into_full(MAX_OBJECT_BYTES)
            .unwrap_or_else(|_| self.reject(500, "internal error"))
    }

    fn reject(&self, status: u16, message: &str) -> HttpResp {
        let e = if status == 413 {
            OssError::entity_too_large()
        } else if (400..500).contains(&status) {
            OssError::invalid_argument(message.to_owned())
        } else {
            OssError::internal()
        };
        let request_id = request_id();
        let mut r = HttpResp::new(
            e.status,
            "application/xml",
            e.body(&request_id, &self.state.config().host_id),
        );
        r.access.request_id = Some(request_id.clone());
        r.headers.push(("x-oss-request-id".into(), request_id));
        r.headers.push(("server".into(), "AliyunOSS".into()));
        r
    }

    fn service(&self) -> &'static str {
        "oss"
    }

    fn blocking(&self) -> bool {
        true
    }

    fn max_body(&self) -> usize {
        usize::try_from(MAX_OBJECT_BYTES).unwrap_or(usize::MAX)
    }

    fn streams(&self) -> bool {
        true
    }

    /// GET/HEAD/DELETE read metadata and (for GET) small objects from the page cache: cheaper on
    /// the I/O thread than a hand-off to the blocking pool. Uploads still stream on the pool.
    fn inline_without_body(&self) -> bool {
        true
    }

    fn handle_stream(&self, head: HttpReqHead, body: BodyReader) -> StreamResp {
        self.serve(head, body)
    }
}

/// Feeds arbitrary bytes through every parser of this front-end that sees untrusted input —
/// query, addressing, operation, credentials (V1, V4, presigned) and their verification with a
/// fixed secret, ranges, `Content-MD5`, copy sources, user metadata, listing parameters and the
/// XML bodies — which must never panic. The input is split on `0xFF` into method, path, query,
/// header lines, host and body. A cargo-fuzz target and a property test call this.
#[doc(hidden)]
pub fn fuzz_oss_request(data: &[u8]) {
    let mut fields = data.split(|b| *b == 0xFF);
    let mut next = || {
        fields
            .next()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .unwrap_or_default()
    };
    let method = next();
    let path = next();
    let query = next();
    let header_block = next();
    let host = next();
    let body = next();
    let mut headers: Vec<(String, String)> = header_block
        .split('\n')
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    headers.push(("host".into(), host.clone()));
    let head = HttpReqHead {
        method,
        path,
        query,
        headers,
        peer: std::net::IpAddr::from([127, 0, 0, 1]),
    };
    if let Ok(root) = keyless_wire::xml::parse(body.as_bytes()) {
        let _ = object::parse_delete(&root);
        let _ = multipart::parse_complete(&root);
    }
    if let Some(r) = head.header("range") {
        if let Some(range) = request::parse_range(r) {
            let _ = range.resolve(body.len() as u64);
        }
    }
    if let Some(m) = head.header("content-md5") {
        let _ = request::parse_content_md5(m);
    }
    let copy = head.header("x-oss-copy-source");
    if let Some(c) = copy {
        let _ = request::parse_copy_source(c);
    }
    let _ = request::user_meta(&head.headers);
    let Ok(params) = Params::parse(&head.query) else {
        return;
    };
    let _ = bucket::list_params(&params, false);
    let _ = bucket::list_params(&params, true);
    let Ok(target) = request::route(&head.method, &head.path, Some(&host), |b| b.len() % 2 == 0)
    else {
        return;
    };
    let _ = request::classify(&head.method, &target, &params, copy.is_some());
    let resource = if target.bucket.is_empty() {
        OssResource::SERVICE
    } else {
        OssResource::object(&target.bucket, &target.key)
    };
    if let Ok(cred) = authn::parse(&head) {
        let _ = authn::carried_token(&head, &cred);
        let secret = keyless_secret::SecretString::new("fuzz-secret".to_owned());
        let _ = authn::verify(&head, &resource, &cred, &secret);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(iso_millis(1_735_689_600_123), "2025-01-01T00:00:00.000Z");
        assert_eq!(
            etag_md5_b64("\"5D41402ABC4B2A76B9719D911017C592\"").as_deref(),
            Some("XUFAKrxLKna5cZ2REBfFkg==")
        );
        assert_eq!(etag_md5_b64("\"ABC-2\""), None);
        let id = request_id();
        assert_eq!(id.len(), 24);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
    }

    #[test]
    fn fuzz_entry_survives_samples() {
        fuzz_oss_request(b"");
        fuzz_oss_request(b"GET\xff/b/k\xffprefix=%zz\xffauthorization: OSS a:b\xffh\xff<a>");
        fuzz_oss_request(
            b"PUT\xff/bkt/k%20x\xffpartNumber=1&uploadId=2\xffx-oss-copy-source: /src/k\nrange: bytes=-5\n\
              content-md5: 1B2M2Y8AsgTpgAmY7PhCfg==\ndate: Sat, 28 Nov 2026 04:33:36 GMT\n\
              authorization: OSS4-HMAC-SHA256 Credential=ak/20261128/cn-hangzhou/oss/aliyun_v4_request,Signature=00\xff\
              bkt.localhost\xff<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>",
        );
    }
}
