//! Drives the OSS handler in-process (no sockets) over the common harness (SQLite store, manual
//! clock) plus an `FsBackend` in the harness's temp dir, signing requests the way the clients
//! do (V1 header, V4 header, V1 and V4 presigned) with `keyless-sign`'s client side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use crate::common::{Creds, Harness, Secs, ACCOUNT, T0};
use bytes::Bytes;
use keyless_objstore::{Backend, FsBackend, FsOptions};
use keyless_secret::SecretString;
use keyless_server::clock::Clock;
use keyless_server::http::{Handler, HttpReq};
use keyless_server::oss::Oss;
use keyless_server::state::Config;
use keyless_sign::{oss_v1, oss_v4, OssResource, RequestParts};
use keyless_store::{AccessKey, KeyStatus};
use std::sync::Arc;

pub const REGION: &str = "cn-hangzhou";
pub const BUCKET: &str = "test-bucket";
pub const OTHER_ACCOUNT: &str = "9876543210987654";

pub struct OssHarness {
    pub h: Harness,
    pub oss: Oss,
    pub backend: Arc<FsBackend>,
    /// The root key of a second account.
    pub other_root: Creds,
}

/// A response.
#[derive(Debug)]
pub struct OssResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl OssResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first `<tag>` text of the body.
    pub fn tag(&self, tag: &str) -> Option<String> {
        crate::common::xml_tag(&self.text(), tag)
    }

    /// Every `<tag>` text of the body, in order.
    pub fn tags(&self, tag: &str) -> Vec<String> {
        crate::common::xml_elements(&self.text(), tag)
            .into_iter()
            .map(|e| e.text)
            .collect()
    }

    /// The error code: from the body, or (HEAD) from the base64 `x-oss-err` header.
    pub fn code(&self) -> String {
        if let Some(c) = self.tag("Code") {
            return c;
        }
        use base64::Engine as _;
        self.header("x-oss-err")
            .and_then(|e| base64::engine::general_purpose::STANDARD.decode(e).ok())
            .and_then(|x| crate::common::xml_tag(&String::from_utf8_lossy(&x), "Code"))
            .unwrap_or_default()
    }
}

/// How to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sig {
    V1,
    V4,
    /// V1 with the STS token in the unsigned `security-token` header (oss-v2 in V1 mode).
    V1UnsignedToken,
    None,
}

/// A request to build.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub bucket: String,
    pub key: String,
    /// Raw (encoded) query.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub host: Option<String>,
}

impl Req {
    pub fn new(method: &str, bucket: &str, key: &str) -> Req {
        Req {
            method: method.into(),
            bucket: bucket.into(),
            key: key.into(),
            query: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
            host: None,
        }
    }
    pub fn query(mut self, q: &str) -> Req {
        self.query = q.into();
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.push((k.to_ascii_lowercase(), v.into()));
        self
    }
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Req {
        self.body = b.into();
        self
    }
    /// Adds `Content-MD5` of the body.
    pub fn md5(self) -> Req {
        let m = md5_b64(&self.body);
        self.header("content-md5", &m)
    }
}

pub fn md5_b64(data: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The path of `/bucket/key` as oss2 sends it (key fully percent-encoded).
pub fn path_of(bucket: &str, key: &str) -> String {
    if bucket.is_empty() {
        "/".into()
    } else {
        format!("/{bucket}/{}", keyless_sign::percent_encode(key))
    }
}

impl OssHarness {
    pub fn new() -> OssHarness {
        Self::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> OssHarness {
        let h = Harness::new(config);
        let clock = h.clock.clone();
        let backend = Arc::new(
            FsBackend::open_with(
                h.dir.join("objects"),
                FsOptions {
                    clock: Arc::new(move || clock.now_millis()),
                    ..FsOptions::default()
                },
            )
            .unwrap(),
        );
        backend.create_bucket(BUCKET, ACCOUNT, REGION).unwrap();
        let store = h.state.store();
        store.create_account(OTHER_ACCOUNT, T0).unwrap();
        let other_root = Creds {
            id: "LTAIotherroot00000000000".into(),
            secret: SecretString::from("othersecret000000000000000000a"),
            token: None,
        };
        store
            .create_access_key(&AccessKey {
                access_key_id: other_root.id.clone(),
                account_id: OTHER_ACCOUNT.into(),
                user_name: None,
                secret: other_root.secret.clone(),
                status: KeyStatus::Active,
                created_at: T0,
            })
            .unwrap();
        let oss = Oss {
            state: h.state.clone(),
            backend: backend.clone(),
        };
        OssHarness {
            h,
            oss,
            backend,
            other_root,
        }
    }

    pub fn now(&self) -> i64 {
        self.h.clock.now_secs()
    }

    /// Builds the HTTP request for `r`, signed with `c` by `sig` at `at` (default: now).
    pub fn build(&self, r: &Req, c: &Creds, sig: Sig, at: Option<i64>) -> HttpReq {
        let at = at.unwrap_or_else(|| self.now());
        let path = path_of(&r.bucket, &r.key);
        let mut headers = r.headers.clone();
        headers.push((
            "host".into(),
            r.host.clone().unwrap_or_else(|| "127.0.0.1:9000".into()),
        ));
        let resource = if r.bucket.is_empty() {
            OssResource::SERVICE
        } else {
            OssResource::object(&r.bucket, &r.key)
        };
        match sig {
            Sig::None => {}
            Sig::V1 | Sig::V1UnsignedToken => {
                headers.push(("date".into(), keyless_sign::format_http_date(at).unwrap()));
                if let Some(t) = &c.token {
                    if sig == Sig::V1 {
                        headers.push(("x-oss-security-token".into(), t.clone()));
                    }
                }
                let parts = RequestParts {
                    method: &r.method,
                    raw_path: &path,
                    raw_query: &r.query,
                    headers: &headers,
                };
                let auth = oss_v1::sign_request(&parts, &resource, &c.id, &c.secret).unwrap();
                headers.push(("authorization".into(), auth));
                if sig == Sig::V1UnsignedToken {
                    if let Some(t) = &c.token {
                        headers.push(("security-token".into(), t.clone()));
                    }
                }
            }
            Sig::V4 => {
                headers.push((
                    "x-oss-date".into(),
                    keyless_sign::format_iso8601_basic(at).unwrap(),
                ));
                headers.push(("x-oss-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
                if let Some(t) = &c.token {
                    headers.push(("x-oss-security-token".into(), t.clone()));
                }
                let parts = RequestParts {
                    method: &r.method,
                    raw_path: &path,
                    raw_query: &r.query,
                    headers: &headers,
                };
                let auth =
                    oss_v4::sign_request(&parts, &resource, &c.id, &c.secret, REGION, &["host"])
                        .unwrap();
                headers.push(("authorization".into(), auth));
            }
        }
        HttpReq {
            method: r.method.clone(),
            path,
            query: r.query.clone(),
            headers,
            body: Bytes::from(r.body.clone()),
            peer: "127.0.0.1".parse().unwrap(),
        }
    }

    /// A V1 presigned request valid until `expires`.
    pub fn presign_v1(&self, r: &Req, c: &Creds, expires: i64) -> HttpReq {
        let path = path_of(&r.bucket, &r.key);
        let headers = vec![("host".to_owned(), "127.0.0.1:9000".to_owned())];
        let parts = RequestParts {
            method: &r.method,
            raw_path: &path,
            raw_query: &r.query,
            headers: &headers,
        };
        let token = c.token.clone().map(SecretString::new);
        let query = oss_v1::presign(
            &parts,
            &OssResource::object(&r.bucket, &r.key),
            &c.id,
            &c.secret,
            expires,
            token.as_ref(),
        )
        .unwrap();
        HttpReq {
            method: r.method.clone(),
            path,
            query,
            headers,
            body: Bytes::from(r.body.clone()),
            peer: "127.0.0.1".parse().unwrap(),
        }
    }

    /// A V4 presigned request signed now, valid for `secs`.
    pub fn presign_v4(&self, r: &Req, c: &Creds, secs: u32) -> HttpReq {
        let path = path_of(&r.bucket, &r.key);
        let headers = vec![("host".to_owned(), "127.0.0.1:9000".to_owned())];
        let parts = RequestParts {
            method: &r.method,
            raw_path: &path,
            raw_query: &r.query,
            headers: &headers,
        };
        let token = c.token.clone().map(SecretString::new);
        let query = oss_v4::presign(
            &parts,
            &OssResource::object(&r.bucket, &r.key),
            &c.id,
            &c.secret,
            REGION,
            self.now(),
            secs,
            token.as_ref(),
            &[],
        )
        .unwrap();
        HttpReq {
            method: r.method.clone(),
            path,
            query,
            headers,
            body: Bytes::from(r.body.clone()),
            peer: "127.0.0.1".parse().unwrap(),
        }
    }

    pub fn send_raw(&self, req: HttpReq) -> OssResp {
        let r = self.oss.handle(req);
        OssResp {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }

    pub fn send_as(&self, r: Req, c: &Creds, sig: Sig) -> OssResp {
        let req = self.build(&r, c, sig, None);
        self.send_raw(req)
    }

    /// Sends `r` signed V1 by the root.
    pub fn send(&self, r: Req) -> OssResp {
        let root = self.h.root.clone();
        self.send_as(r, &root, Sig::V1)
    }

    pub fn put(&self, key: &str, body: &[u8]) -> OssResp {
        self.send(Req::new("PUT", BUCKET, key).body(body))
    }

    pub fn get(&self, key: &str) -> OssResp {
        self.send(Req::new("GET", BUCKET, key))
    }
}

/// Asserts `status` and the OSS error `code`, and that every answer carries a request id.
pub fn expect(r: &OssResp, status: u16, code: &str) {
    assert_eq!(
        (r.status, r.code().as_str()),
        (status, code),
        "body: {}",
        r.text()
    );
    let id = r.header("x-oss-request-id").unwrap_or("");
    assert_eq!(id.len(), 24, "request id {id:?}");
}
