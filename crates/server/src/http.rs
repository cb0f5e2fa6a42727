//! The transport: hyper HTTP/1.1 with keep-alive, bounded bodies, header-read timeouts and
//! graceful shutdown. Knows nothing of vendor formats: a [`Handler`] turns a fully-read
//! [`HttpReq`] into an [`HttpResp`], and renders transport-level rejections in its own dialect.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

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
}

impl HttpResp {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        HttpResp {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }
}

/// Answers requests of one listener.
pub trait Handler: Send + Sync + 'static {
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

fn to_hyper(resp: HttpResp) -> hyper::Response<Full<Bytes>> {
    let mut b = hyper::Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    match b.body(Full::new(resp.body.clone())) {
        Ok(r) => r,
        Err(_) => {
            let mut r = hyper::Response::new(Full::new(resp.body));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

async fn dispatch(
    handler: Arc<dyn Handler>,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let resp = match read_request(req, peer.ip(), handler.max_body()).await {
        Err((status, msg)) => handler.reject(status, &msg),
        Ok(r) => {
            if handler.blocking() {
                let h = handler.clone();
                match tokio::task::spawn_blocking(move || h.handle(r)).await {
                    Ok(resp) => resp,
                    Err(_) => handler.reject(500, "internal error"),
                }
            } else {
                handler.handle(r)
            }
        }
    };
    to_hyper(resp)
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
