//! A minimal HTTP/1.1 client: one connection per request, `http://` only, with connect and read
//! timeouts and a bounded response body. Built on hyper's connection-level client (no pool, no
//! TLS, no proxy): every endpoint this crate talks to is on loopback, in-cluster or link-local
//! (the credentials URI, the ECS metadata service, a keyless STS/RAM).
//!
//! Public so that the service clients of `keyless-clients` send over the same transport as the
//! providers instead of a second copy of it.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use keyless_wire::clip;
use std::time::Duration;
use tokio::net::TcpStream;

/// Connect and read timeouts of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Time allowed to open the TCP connection.
    pub connect: Duration,
    /// Time allowed, once connected, to send the request and read the whole response.
    pub read: Duration,
}

impl Timeouts {
    /// Timeouts of `connect` and `read`.
    pub const fn new(connect: Duration, read: Duration) -> Self {
        Self { connect, read }
    }
}

/// An `http://` URL taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host[:port]` exactly as written (the `Host` header and, for RPC, the signed host).
    pub authority: String,
    /// Host without brackets, for connecting.
    pub host: String,
    /// The port (80 when not written).
    pub port: u16,
    /// Path and query, at least `/`.
    pub path_and_query: String,
}

impl HttpUrl {
    /// Parses `http://host[:port][/path][?query]`. `https://` is refused (no TLS in this crate).
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let uri: Uri = url
            .parse()
            .map_err(|_| format!("`{}` is not a valid URL", clip(url)))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "`{}` uses https, which this crate does not speak: it is an http-only client \
                     for loopback and in-cluster endpoints",
                    clip(url)
                ))
            }
            _ => return Err(format!("`{}` is not an http:// URL", clip(url))),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{}` has no host", clip(url)))?;
        if authority.as_str().contains('@') {
            return Err(format!("`{}` must not carry user information", clip(url)));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("`{}` has no host", clip(url)));
        }
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/");
        let path_and_query = if path_and_query.starts_with('/') {
            path_and_query.to_owned()
        } else {
            format!("/{path_and_query}")
        };
        Ok(Self {
            authority: authority.as_str().to_owned(),
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(80),
            path_and_query,
        })
    }

    /// Parses an endpoint as the SDKs take it: `host[:port]`, or a full `http://host[:port]` URL.
    /// Any path is dropped (RPC always posts to `/`).
    pub fn parse_endpoint(endpoint: &str) -> Result<Self, String> {
        let e = endpoint.trim();
        let mut u = if e.contains("://") {
            Self::parse(e)?
        } else {
            Self::parse(&format!("http://{e}"))?
        };
        u.path_and_query = "/".to_owned();
        Ok(u)
    }

    /// This URL with another path (and no query), for a base URL such as the metadata service.
    pub fn with_path(&self, path: &str) -> Self {
        Self {
            path_and_query: path.to_owned(),
            ..self.clone()
        }
    }
}

/// A fully-read response.
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
}

/// Why a request failed before a response was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The TCP connection could not be opened (refused, unreachable, DNS).
    Connect(String),
    /// The TCP connection did not open in time.
    ConnectTimeout,
    /// The response did not arrive in time.
    ReadTimeout,
    /// The exchange failed after connecting (reset, malformed response, body too large).
    Protocol(String),
}

impl HttpError {
    /// Whether nothing answered at all (no listener, or no route): the service is absent.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Connect(_) | Self::ConnectTimeout)
    }
}

impl std::error::Error for HttpError {}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "cannot connect: {e}"),
            Self::ConnectTimeout => f.write_str("timed out connecting"),
            Self::ReadTimeout => f.write_str("timed out waiting for the response"),
            Self::Protocol(e) => write!(f, "{e}"),
        }
    }
}

/// Sends one request and reads the whole response (at most `max_body` bytes).
pub async fn send(
    method: Method,
    url: &HttpUrl,
    headers: &[(String, String)],
    body: Vec<u8>,
    timeouts: Timeouts,
    max_body: usize,
) -> Result<Response, HttpError> {
    let connect = TcpStream::connect((url.host.as_str(), url.port));
    let stream = match tokio::time::timeout(timeouts.connect, connect).await {
        Err(_) => return Err(HttpError::ConnectTimeout),
        Ok(Err(e)) => return Err(HttpError::Connect(e.to_string())),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    match tokio::time::timeout(
        timeouts.read,
        exchange(stream, method, url, headers, body, max_body),
    )
    .await
    {
        Err(_) => Err(HttpError::ReadTimeout),
        Ok(r) => r,
    }
}

async fn exchange(
    stream: TcpStream,
    method: Method,
    url: &HttpUrl,
    headers: &[(String, String)],
    body: Vec<u8>,
    max_body: usize,
) -> Result<Response, HttpError> {
    let proto = |e: hyper::Error| HttpError::Protocol(e.to_string());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(proto)?;
    let driver = tokio::spawn(conn);

    let mut req = Request::builder()
        .method(method)
        .uri(url.path_and_query.as_str());
    let has_host = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"));
    if !has_host {
        req = req.header("host", url.authority.as_str());
    }
    for (n, v) in headers {
        req = req.header(n.as_str(), v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| HttpError::Protocol(format!("cannot build the request: {e}")))?;

    let result = async {
        let resp = sender.send_request(req).await.map_err(proto)?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    HttpError::Protocol(format!("the response body is over {max_body} bytes"))
                } else {
                    HttpError::Protocol(format!("reading the response body: {e}"))
                }
            })?
            .to_bytes();
        Ok(Response { status, body })
    }
    .await;
    drop(sender);
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_urls() {
        let u = HttpUrl::parse("http://127.0.0.1:8080/creds?x=1").unwrap();
        assert_eq!(u.authority, "127.0.0.1:8080");
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, 8080);
        assert_eq!(u.path_and_query, "/creds?x=1");

        let u = HttpUrl::parse("http://100.100.100.200").unwrap();
        assert_eq!((u.port, u.path_and_query.as_str()), (80, "/"));

        let u = HttpUrl::parse("http://[::1]:9/").unwrap();
        assert_eq!((u.host.as_str(), u.authority.as_str()), ("::1", "[::1]:9"));
    }

    #[test]
    fn refuses_https_and_junk() {
        let e = HttpUrl::parse("https://sts.aliyuncs.com").unwrap_err();
        assert!(e.contains("https"), "{e}");
        for bad in ["", "ftp://x", "http://", "not a url", "http://u:p@h/"] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_take_both_forms() {
        let a = HttpUrl::parse_endpoint("127.0.0.1:18931").unwrap();
        let b = HttpUrl::parse_endpoint("http://127.0.0.1:18931/ignored").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.path_and_query, "/");
        assert!(HttpUrl::parse_endpoint("https://sts.aliyuncs.com").is_err());
        assert_eq!(
            a.with_path("/latest/api/token").path_and_query,
            "/latest/api/token"
        );
    }

    #[tokio::test]
    async fn unreachable_is_reported_as_such() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let url = HttpUrl::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let t = Timeouts::new(Duration::from_secs(2), Duration::from_secs(2));
        let e = send(Method::GET, &url, &[], Vec::new(), t, 10)
            .await
            .unwrap_err();
        assert!(e.is_unreachable(), "{e}");
    }
}
