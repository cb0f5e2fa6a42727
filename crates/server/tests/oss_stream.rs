//! The OSS front-end over a real socket (`http::serve`): uploads and downloads stream through
//! the transport's bounded channels, HEAD keeps `Content-Length`, an early refusal of a large
//! upload still reaches the client, and the default `handle_stream` of other handlers reads the
//! body and enforces `max_body`. Plus the fuzz entry point under proptest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod oss_harness;

use bytes::Bytes;
use keyless_server::http::{serve, Handler, HttpReq, HttpResp};
use oss_harness::*;
use proptest::prelude::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// A server on 127.0.0.1 for the duration of a test.
struct Server {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Server {
    fn start(handler: Arc<dyn Handler>) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = tokio::sync::watch::channel(false);
        rt.spawn(serve(listener, handler, rx, Duration::from_secs(1)));
        Server {
            addr,
            stop,
            rt: Some(rt),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `req` with `body` produced by `write_body` (which gets the socket), returns the answer.
fn exchange(
    addr: SocketAddr,
    req: &HttpReq,
    len: u64,
    write_body: impl FnOnce(&mut TcpStream) -> std::io::Result<()>,
) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let target = if req.query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    let mut head = format!("{} {target} HTTP/1.1\r\n", req.method);
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {len}\r\nconnection: close\r\n\r\n"
    ));
    s.write_all(head.as_bytes()).unwrap();
    let _ = write_body(&mut s);
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let mut body = Vec::new();
    if req.method != "HEAD" {
        let n: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        body.resize(n, 0);
        r.read_exact(&mut body).unwrap();
    }
    Resp {
        status,
        headers,
        body,
    }
}

/// Deterministic pseudo-random bytes, chunk by chunk.
fn chunk(i: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| ((i * 7919 + j as u64 * 31) % 251) as u8)
        .collect()
}

#[test]
fn uploads_and_downloads_stream_through_the_socket() {
    let o = OssHarness::new();
    let handler: Arc<dyn Handler> = Arc::new(keyless_server::oss::Oss {
        state: o.h.state.clone(),
        backend: o.backend.clone(),
    });
    let srv = Server::start(handler);
    let root = o.h.root.clone();
    const CHUNK: usize = 1 << 20;
    const CHUNKS: u64 = 24;
    let total = CHUNKS * CHUNK as u64;
    let mut md5 = <md5::Md5 as md5::Digest>::new();
    for i in 0..CHUNKS {
        md5::Digest::update(&mut md5, chunk(i, CHUNK));
    }
    let digest: [u8; 16] = md5::Digest::finalize(md5).into();
    let etag: String = digest.iter().map(|b| format!("{b:02X}")).collect();

    let req = o.build(&Req::new("PUT", BUCKET, "stream/big"), &root, Sig::V1, None);
    let r = exchange(srv.addr, &req, total, |s| {
        for i in 0..CHUNKS {
            s.write_all(&chunk(i, CHUNK))?;
        }
        Ok(())
    });
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("etag"), Some(format!("\"{etag}\"").as_str()));

    let req = o.build(&Req::new("GET", BUCKET, "stream/big"), &root, Sig::V4, None);
    let r = exchange(srv.addr, &req, 0, |_| Ok(()));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(total.to_string().as_str()));
    assert_eq!(r.body.len() as u64, total);
    assert_eq!(md5_hex(&r.body), etag);

    let req = o.build(
        &Req::new("GET", BUCKET, "stream/big").header("range", "bytes=1048576-1048585"),
        &root,
        Sig::V1,
        None,
    );
    let r = exchange(srv.addr, &req, 0, |_| Ok(()));
    assert_eq!(r.status, 206);
    assert_eq!(r.body, chunk(1, 10));

    let req = o.build(
        &Req::new("HEAD", BUCKET, "stream/big"),
        &root,
        Sig::V1,
        None,
    );
    let r = exchange(srv.addr, &req, 0, |_| Ok(()));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(total.to_string().as_str()));

    let req = o.build(&Req::new("HEAD", BUCKET, "missing"), &root, Sig::V1, None);
    let r = exchange(srv.addr, &req, 0, |_| Ok(()));
    assert_eq!(r.status, 404);
    assert!(r.header("x-oss-err").is_some());

    // A refused upload: the client still reads the answer.
    let ghost = common::Creds {
        id: "LTAIghost000000000000000".into(),
        ..root.clone()
    };
    let req = o.build(
        &Req::new("PUT", BUCKET, "stream/denied"),
        &ghost,
        Sig::V1,
        None,
    );
    let r = exchange(srv.addr, &req, 4 << 20, |s| {
        s.write_all(&vec![7u8; 4 << 20])
    });
    assert_eq!(r.status, 403);
    assert!(String::from_utf8_lossy(&r.body).contains("InvalidAccessKeyId"));

    // A body cut short never becomes an object.
    let req = o.build(&Req::new("PUT", BUCKET, "stream/cut"), &root, Sig::V1, None);
    {
        let mut s = TcpStream::connect(srv.addr).unwrap();
        let mut head = format!("PUT {} HTTP/1.1\r\n", req.path);
        for (k, v) in &req.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("content-length: 1000000\r\n\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&[1u8; 1000]).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let req = o.build(&Req::new("GET", BUCKET, "stream/cut"), &root, Sig::V1, None);
    assert_eq!(exchange(srv.addr, &req, 0, |_| Ok(())).status, 404);
}

/// A handler that streams but keeps the default `handle_stream`.
struct Echo;

impl Handler for Echo {
    fn handle(&self, req: HttpReq) -> HttpResp {
        HttpResp::new(200, "application/octet-stream", req.body)
    }
    fn reject(&self, status: u16, message: &str) -> HttpResp {
        HttpResp::new(status, "text/plain", Bytes::from(message.to_owned()))
    }
    fn max_body(&self) -> usize {
        16
    }
    fn streams(&self) -> bool {
        true
    }
}

#[test]
fn default_stream_handling_reads_the_body_and_enforces_the_limit() {
    let srv = Server::start(Arc::new(Echo));
    let req = HttpReq {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: vec![("host".into(), "x".into())],
        body: Bytes::new(),
        peer: "127.0.0.1".parse().unwrap(),
    };
    let r = exchange(srv.addr, &req, 5, |s| s.write_all(b"hello"));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    let r = exchange(srv.addr, &req, 17, |s| s.write_all(&[b'x'; 17]));
    assert_eq!(r.status, 413);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn fuzz_entry_never_panics_on_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        keyless_server::oss::fuzz_oss_request(&data);
    }

    #[test]
    fn fuzz_entry_never_panics_on_shaped_requests(
        method in prop::sample::select(vec!["GET", "PUT", "POST", "HEAD", "DELETE", "PATCH"]),
        path in "(/[a-z0-9%-]{0,12}){0,4}",
        query in "([a-zA-Z-]{1,12}(=[a-zA-Z0-9%+=/-]{0,16})?&?){0,4}",
        auth in prop::sample::select(vec![
            "OSS ak:AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "OSS4-HMAC-SHA256 Credential=ak/20261128/cn-hangzhou/oss/aliyun_v4_request,Signature=00",
            "OSS4-HMAC-SHA256 Credential=ak/2026/x, AdditionalHeaders=host, Signature=zz",
            "",
        ]),
        extra in "[ -~]{0,40}",
        host in "[a-z0-9.:-]{0,24}",
        body in "[ -~]{0,80}",
    ) {
        let data = format!(
            "{method}\u{0}{path}\u{0}{query}\u{0}authorization: {auth}\ndate: {extra}\nrange: {extra}\nx-oss-copy-source: {extra}\u{0}{host}\u{0}{body}"
        );
        let bytes: Vec<u8> = data.bytes().map(|b| if b == 0 { 0xFF } else { b }).collect();
        keyless_server::oss::fuzz_oss_request(&bytes);
    }
}
