//! The transport: hyper HTTP/1.1 with keep-alive, bounded bodies, header-read timeouts and
//! graceful shutdown. Knows nothing of vendor formats: a [`Handler`] turns a fully-read
//! [`HttpReq`] into an [`HttpResp`], and renders transport-level rejections in its own dialect.
//!
//! A handler that says it [`Handler::streams`] gets the body as a blocking reader instead
//! ([`Handler::handle_stream`], on the blocking pool): the connection feeds a bounded channel, so
//! an upload of any size holds a few chunks in memory at a time. Its response may be streamed
//! from a reader too ([`RespBody::Reader`]).
//!
//! Every request gets one access line ([`access`]): the handler attaches an [`Access`] record to
//! its response, the transport adds method, status and latency.

pub mod access;

pub use access::{Access, Decision};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// A request, fully read.
#[derive(Debug, Clone)]
pub struct HttpReq {
    pub method: String,
    /// Raw path as sent (percent-encoded).
    pub path: String,
    /// Raw query without `?`.
    pub query: String,
    /// Header names lower-cased, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub peer: IpAddr,
}

impl HttpReq {
    /// The single value of header `name` (lower-case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response.
#[derive(Debug, Clone)]
pub struct HttpResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// For the access line; never sent.
    pub access: Access,
}

impl HttpResp {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        HttpResp {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            access: Access::default(),
        }
    }

    /// The response with `access` attached.
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }
}

/// A request without its body (see [`Handler::handle_stream`]).
#[derive(Debug, Clone)]
pub struct HttpReqHead {
    pub method: String,
    /// Raw path as sent (percent-encoded).
    pub path: String,
    /// Raw query without `?`.
    pub query: String,
    /// Header names lower-cased, values as sent.
    pub headers: Vec<(String, String)>,
    pub peer: IpAddr,
}

impl HttpReqHead {
    /// The single value of header `name` (lower-case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The head of a fully-read request.
    pub fn of(req: &HttpReq) -> Self {
        HttpReqHead {
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            peer: req.peer,
        }
    }
}

/// Why a streamed body ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFault {
    /// Over [`Handler::max_body`].
    TooLarge,
    /// The client stopped sending (connection closed or malformed chunking).
    Cut,
}

/// A request body as a blocking [`Read`]er. Fed by the connection through a bounded channel when
/// served; made from bytes in tests. Reading past [`Handler::max_body`] fails with an error for
/// which [`BodyReader::is_too_large`] holds; a body the client cut off fails with
/// `UnexpectedEof`. Must be read from a blocking thread, never from async code.
pub struct BodyReader {
    rx: Option<mpsc::Receiver<Result<Bytes, BodyFault>>>,
    cur: Bytes,
    fault: Option<BodyFault>,
}

/// The marker inside the `io::Error` of a body over the limit.
#[derive(Debug)]
struct TooLargeMarker;

impl std::fmt::Display for TooLargeMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body is over the limit")
    }
}

impl std::error::Error for TooLargeMarker {}

impl BodyReader {
    /// A body already in memory.
    pub fn from_bytes(body: Bytes) -> Self {
        BodyReader {
            rx: None,
            cur: body,
            fault: None,
        }
    }

    /// A body received through `rx`.
    fn channel(rx: mpsc::Receiver<Result<Bytes, BodyFault>>) -> Self {
        BodyReader {
            rx: Some(rx),
            cur: Bytes::new(),
            fault: None,
        }
    }

    /// Whether `e` (from [`Read::read`]) means the body exceeded the handler's limit.
    pub fn is_too_large(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|i| i.is::<TooLargeMarker>())
    }

    fn fault_error(f: BodyFault) -> io::Error {
        match f {
            BodyFault::TooLarge => io::Error::new(io::ErrorKind::InvalidData, TooLargeMarker),
            BodyFault::Cut => {
                io::Error::new(io::ErrorKind::UnexpectedEof, "the request body was cut off")
            }
        }
    }

    /// The next chunk (at most `max` bytes), `None` at the end of the body.
    pub fn next_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        loop {
            if let Some(f) = self.fault {
                return Err(Self::fault_error(f));
            }
            if !self.cur.is_empty() {
                let n = self.cur.len().min(max.max(1));
                return Ok(Some(self.cur.split_to(n)));
            }
            let Some(rx) = self.rx.as_mut() else {
                return Ok(None);
            };
            match rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(f)) => self.fault = Some(f),
                None => {
                    self.rx = None;
                    return Ok(None);
                }
            }
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.next_chunk(buf.len())? {
            None => Ok(0),
            Some(chunk) => {
                let n = chunk.len();
                if let Some(dst) = buf.get_mut(..n) {
                    dst.copy_from_slice(&chunk);
                }
                Ok(n)
            }
        }
    }
}

/// A response body: in memory, or streamed from a blocking reader.
pub enum RespBody {
    Full(Bytes),
    /// Exactly `len` bytes read from `reader` on the blocking pool as the client takes them
    /// (`Content-Length` is set from `len`). A reader that fails or ends early aborts the
    /// connection.
    Reader {
        reader: Box<dyn Read + Send>,
        len: u64,
    },
}

impl std::fmt::Debug for RespBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RespBody::Full(b) => f.debug_tuple("Full").field(&b.len()).finish(),
            RespBody::Reader { len, .. } => f.debug_struct("Reader").field("len", len).finish(),
        }
    }
}

/// A response of a streaming handler.
#[derive(Debug)]
pub struct StreamResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: RespBody,
    /// For the access line; never sent.
    pub access: Access,
}

impl From<HttpResp> for StreamResp {
    fn from(r: HttpResp) -> Self {
        StreamResp {
            status: r.status,
            headers: r.headers,
            body: RespBody::Full(r.body),
            access: r.access,
        }
    }
}

impl StreamResp {
    /// Reads a streamed body into memory (at most `limit` bytes; more is an error). For
    /// in-process callers and tests.
    pub fn into_full(self, limit: u64) -> io::Result<HttpResp> {
        let body = match self.body {
            RespBody::Full(b) => b,
            RespBody::Reader { reader, len } => {
                if len > limit {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the response body is over the limit",
                    ));
                }
                let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                reader.take(len).read_to_end(&mut buf)?;
                if buf.len() as u64 != len {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the response body ended early",
                    ));
                }
                Bytes::from(buf)
            }
        };
        Ok(HttpResp {
            status: self.status,
            headers: self.headers,
            body,
            access: self.access,
        })
    }
}

/// Answers requests of one listener.
pub trait Handler: Send + Sync + 'static {
    /// The service name on this listener's access lines (`sts`, `oss`…).
    fn service(&self) -> &'static str {
        "-"
    }
    /// Handles a fully-read request.
    fn handle(&self, req: HttpReq) -> HttpResp;
    /// Renders a transport-level rejection (body too large, unreadable headers) as a 4xx.
    fn reject(&self, status: u16, message: &str) -> HttpResp;
    /// Whether `handle` may block on storage (it then runs on the blocking pool).
    fn blocking(&self) -> bool {
        true
    }
    /// Largest accepted body in bytes.
    fn max_body(&self) -> usize {
        1 << 20
    }
    /// Whether requests go to [`Handler::handle_stream`] (body as a stream) instead of
    /// [`Handler::handle`] (body read first).
    fn streams(&self) -> bool {
        false
    }
    /// Whether a streaming request *without a body* (GET, HEAD, DELETE) may run on the I/O
    /// thread instead of the blocking pool (its storage reads are short, page-cache reads).
    fn inline_without_body(&self) -> bool {
        false
    }
    /// Handles a request whose body is still arriving; runs on the blocking pool. The default
    /// reads the body (up to [`Handler::max_body`]) and calls [`Handler::handle`].
    fn handle_stream(&self, head: HttpReqHead, body: BodyReader) -> StreamResp {
        let max = self.max_body();
        let mut buf = Vec::new();
        let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
        match body.take(limit).read_to_end(&mut buf) {
            Ok(n) if n <= max => {}
            _ => {
                return self
                    .reject(
                        413,
                        &format!("the request body is over {max} bytes or was cut off"),
                    )
                    .into()
            }
        }
        self.handle(HttpReq {
            method: head.method,
            path: head.path,
            query: head.query,
            headers: head.headers,
            body: Bytes::from(buf),
            peer: head.peer,
        })
        .into()
    }
}

/// Reads the head of a request; the body stays with the caller.
fn read_head(
    parts: &hyper::http::request::Parts,
    peer: IpAddr,
) -> Result<HttpReqHead, (u16, String)> {
    let mut headers = Vec::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        let v = value.to_str().map_err(|_| {
            (
                400u16,
                format!("header `{}` is not valid text", name.as_str()),
            )
        })?;
        headers.push((name.as_str().to_owned(), v.to_owned()));
    }
    Ok(HttpReqHead {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        peer,
    })
}

/// Chunks in flight between the connection and a streaming handler (each up to hyper's read
/// buffer, a few hundred KiB at most).
const BODY_CHANNEL_CHUNKS: usize = 8;
/// Chunk size and channel depth of a streamed response.
const RESP_CHUNK: usize = 64 * 1024;
const RESP_CHANNEL_CHUNKS: usize = 8;
/// Response bodies up to this size are read into memory on the handler's thread.
const SMALL_BODY: u64 = 256 * 1024;

/// Feeds `body` into a bounded channel, at most `max_body` bytes; stops when the reader goes.
fn pump_body(mut body: Incoming, max_body: usize) -> BodyReader {
    // No body (GET, HEAD, DELETE…): no task, no channel.
    if hyper::body::Body::is_end_stream(&body) {
        return BodyReader::from_bytes(Bytes::new());
    }
    let (tx, rx) = mpsc::channel(BODY_CHANNEL_CHUNKS);
    tokio::spawn(async move {
        let mut total = 0usize;
        loop {
            match body.frame().await {
                None => return,
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if data.is_empty() {
                        continue;
                    }
                    total = total.saturating_add(data.len());
                    if total > max_body {
                        let _ = tx.send(Err(BodyFault::TooLarge)).await;
                        return;
                    }
                    if tx.send(Ok(data)).await.is_err() {
                        return;
                    }
                }
                Some(Err(_)) => {
                    let _ = tx.send(Err(BodyFault::Cut)).await;
                    return;
                }
            }
        }
    });
    BodyReader::channel(rx)
}

/// A response body fed by a blocking reader through a bounded channel.
struct ChannelBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    remaining: u64,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(b))) => {
                self.remaining = self.remaining.saturating_sub(b.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(b))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the response body ended early",
            )))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Streams `reader` (exactly `len` bytes) from the blocking pool.
fn stream_reader(mut reader: Box<dyn Read + Send>, len: u64) -> ChannelBody {
    let (tx, rx) = mpsc::channel(RESP_CHANNEL_CHUNKS);
    tokio::task::spawn_blocking(move || {
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(RESP_CHUNK).min(RESP_CHUNK);
            let mut buf = vec![0u8; want];
            let n = match reader.read(&mut buf) {
                Ok(0) => {
                    let _ = tx.blocking_send(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the response body ended early",
                    )));
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            buf.truncate(n);
            left = left.saturating_sub(n as u64);
            if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                return;
            }
        }
    });
    ChannelBody { rx, remaining: len }
}

type RespBox = BoxBody<Bytes, io::Error>;

fn full_box(b: Bytes) -> RespBox {
    Full::new(b).map_err(|never| match never {}).boxed()
}

fn stream_to_hyper(resp: StreamResp, head_only: bool) -> hyper::Response<RespBox> {
    let mut b = hyper::Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let body = match resp.body {
        RespBody::Full(bytes) => full_box(bytes),
        RespBody::Reader { len, .. } if head_only => {
            b = b.header("content-length", len.to_string());
            full_box(Bytes::new())
        }
        RespBody::Reader { reader, len } => {
            if !resp
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            {
                b = b.header("content-length", len.to_string());
            }
            stream_reader(reader, len).boxed()
        }
    };
    match b.body(body) {
        Ok(r) => r,
        Err(_) => {
            let mut r = hyper::Response::new(full_box(Bytes::new()));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

async fn dispatch_stream(
    handler: Arc<dyn Handler>,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<RespBox> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let head_only = parts.method == hyper::Method::HEAD;
    let head = match read_head(&parts, peer.ip()) {
        Ok(h) => h,
        Err((status, msg)) => {
            let resp = handler.reject(status, &msg);
            log_access(
                &*handler,
                parts.method.as_str(),
                started,
                &resp.access,
                resp.status,
            );
            return to_hyper(resp);
        }
    };
    let has_body = !hyper::body::Body::is_end_stream(&body);
    let reader = pump_body(body, handler.max_body());
    let h = handler.clone();
    let run = move || {
        let resp = h.handle_stream(head, reader);
        // Small bodies are read here, on the same thread, instead of through a second
        // blocking task and a channel (the hand-offs cost more than the read).
        match resp.body {
            RespBody::Reader { len, .. } if len <= SMALL_BODY && !head_only => {
                let access = resp.access.clone();
                match resp.into_full(SMALL_BODY) {
                    Ok(full) => full.into(),
                    // Our own storage failed mid-read: a server fault.
                    Err(e) => {
                        tracing::error!(
                            request_id = access.request_id.as_deref().unwrap_or("-"),
                            error = %e,
                            "reading a response body failed"
                        );
                        StreamResp {
                            status: 500,
                            headers: Vec::new(),
                            body: RespBody::Full(Bytes::new()),
                            access,
                        }
                    }
                }
            }
            _ => resp,
        }
    };
    let resp = if handler.inline_without_body() && !has_body {
        run()
    } else {
        match tokio::task::spawn_blocking(run).await {
            Ok(resp) => resp,
            Err(e) => {
                tracing::error!(service = handler.service(), error = %e, "a handler failed");
                handler.reject(500, "internal error").into()
            }
        }
    };
    log_access(
        &*handler,
        parts.method.as_str(),
        started,
        &resp.access,
        resp.status,
    );
    stream_to_hyper(resp, head_only)
}

async fn read_request(
    req: hyper::Request<Incoming>,
    peer: IpAddr,
    max_body: usize,
) -> Result<HttpReq, (u16, String)> {
    let (parts, body) = req.into_parts();
    let mut headers = Vec::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        let v = value.to_str().map_err(|_| {
            (
                400u16,
                format!("header `{}` is not valid text", name.as_str()),
            )
        })?;
        headers.push((name.as_str().to_owned(), v.to_owned()));
    }
    let body = match Limited::new(body, max_body).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return Err((
                413,
                format!("the request body is over {max_body} bytes or was cut off"),
            ))
        }
    };
    Ok(HttpReq {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        body,
        peer,
    })
}

fn to_hyper(resp: HttpResp) -> hyper::Response<RespBox> {
    let mut b = hyper::Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    match b.body(full_box(resp.body.clone())) {
        Ok(r) => r,
        Err(_) => {
            let mut r = hyper::Response::new(full_box(resp.body));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

async fn dispatch(
    handler: Arc<dyn Handler>,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<RespBox> {
    if handler.streams() {
        return dispatch_stream(handler, req, peer).await;
    }
    let started = Instant::now();
    let method = req.method().clone();
    let resp = match read_request(req, peer.ip(), handler.max_body()).await {
        Err((status, msg)) => handler.reject(status, &msg),
        Ok(r) => {
            if handler.blocking() {
                let h = handler.clone();
                match tokio::task::spawn_blocking(move || h.handle(r)).await {
                    Ok(resp) => resp,
                    Err(e) => {
                        tracing::error!(service = handler.service(), error = %e, "a handler failed");
                        handler.reject(500, "internal error")
                    }
                }
            } else {
                handler.handle(r)
            }
        }
    };
    log_access(
        &*handler,
        method.as_str(),
        started,
        &resp.access,
        resp.status,
    );
    to_hyper(resp)
}

/// Emits the access line of a request that started at `started`.
fn log_access(handler: &dyn Handler, method: &str, started: Instant, a: &Access, status: u16) {
    access::emit(handler.service(), method, status, started.elapsed(), a);
}

/// Serves `listener` until `shutdown` turns true, then lets in-flight requests finish (up to
/// `grace`).
pub async fn serve(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let h = handler.clone();
                let svc = service_fn(move |req| {
                    let h = h.clone();
                    async move { Ok::<_, Infallible>(dispatch(h, req, peer).await) }
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .max_buf_size(256 * 1024)
                    .max_headers(256)
                    .serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}
