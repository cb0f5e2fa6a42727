//! The two loopback HTTP endpoints: the credentials URI and (optionally) the ECS metadata
//! protocol. Both answer from memory; neither ever waits for a refresh.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::schedule::Freshness;
use crate::{Inner, Served};

const MAX_CONNECTIONS: usize = 1024;
const ECS_TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";
const ECS_TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
const ECS_CREDS_PREFIX: &str = "/latest/meta-data/ram/security-credentials";
const MAX_ECS_TOKENS: usize = 4096;

/// Which endpoint a listener serves.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Uri,
    Ecs,
}

impl Kind {
    /// The route on access lines (never the credentials URI's path, which is a capability).
    fn route(self) -> &'static str {
        match self {
            Kind::Uri => "credentials-uri",
            Kind::Ecs => "ecs-metadata",
        }
    }
}

pub(crate) async fn serve(
    listener: TcpListener,
    inner: Arc<Inner>,
    kind: Kind,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let inner = inner.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let started = Instant::now();
                let resp = match kind {
                    Kind::Uri => credentials_uri(&inner, &req),
                    Kind::Ecs => ecs_metadata(&inner, &req),
                };
                // At debug, not info: the agent answers ~75 000 reads a second on one thread, and
                // a line per read cost a third of that (bench/agent.sh); rotations, refresh
                // failures and refused tokens are logged at info. `RUST_LOG=keyless::access=debug`
                // shows every read.
                tracing::debug!(
                    target: "keyless::access",
                    service = "agent",
                    method = req.method().as_str(),
                    route = kind.route(),
                    status = resp.status().as_u16(),
                    latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                    "request"
                );
                async move { Ok::<_, Infallible>(resp) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc)
                .await;
            drop(permit);
        });
    }
}

type Resp = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Resp {
    let body = serde_json::json!({ "Code": code, "Message": message }).to_string();
    respond(status, "application/json", Bytes::from(body))
}

fn method_not_allowed(allow: &'static str) -> Resp {
    let mut r = json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "method not allowed",
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// Why nothing can be served.
enum Unservable {
    NotReady,
    Expired,
}

impl Unservable {
    fn response(self) -> Resp {
        match self {
            Unservable::NotReady => json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "CredentialsNotReady",
                "the first credentials have not arrived yet; retry shortly",
            ),
            Unservable::Expired => json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "CredentialsExpired",
                "the last credentials expired and the control plane has not answered since",
            ),
        }
    }
}

/// The current set if it may be served: any set that has not expired (a stale one only when
/// no refresh has succeeded since).
fn servable(inner: &Inner) -> Result<Arc<Served>, Unservable> {
    let served = inner.current().ok_or(Unservable::NotReady)?;
    match inner
        .schedule
        .freshness(inner.now_millis(), served.expires_at_ms)
    {
        Freshness::Fresh | Freshness::Stale => Ok(served),
        Freshness::Expired => Err(Unservable::Expired),
    }
}

/// `GET <uri_path>`: the credentials document. Any other path is 404 (the path is the secret;
/// the query string is ignored, the Host header is never checked).
fn credentials_uri(inner: &Inner, req: &Request<Incoming>) -> Resp {
    if !keyless_secret::ct_eq(req.uri().path().as_bytes(), inner.uri_path.as_bytes()) {
        return json_error(StatusCode::NOT_FOUND, "NotFound", "not found");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    match servable(inner) {
        Ok(served) => respond(StatusCode::OK, "application/json", served.uri_doc.clone()),
        Err(why) => why.response(),
    }
}

/// The ECS metadata protocol: `PUT /latest/api/token`, then the role name, then its document.
fn ecs_metadata(inner: &Inner, req: &Request<Incoming>) -> Resp {
    let path = req.uri().path();
    let now = inner.now_millis();
    if path == "/latest/api/token" {
        if req.method() != Method::PUT {
            return method_not_allowed("PUT");
        }
        let ttl = match req.headers().get(ECS_TTL_HEADER) {
            None => 21_600,
            Some(v) => match v.to_str().ok().and_then(|s| s.trim().parse::<i64>().ok()) {
                Some(t) if (1..=21_600).contains(&t) => t,
                _ => {
                    return respond(
                        StatusCode::BAD_REQUEST,
                        "text/plain",
                        Bytes::from_static(b"invalid token ttl"),
                    )
                }
            },
        };
        let token = inner.issue_ecs_token(now, ttl);
        return respond(StatusCode::OK, "text/plain", Bytes::from(token));
    }
    let Some(rest) = path.strip_prefix(ECS_CREDS_PREFIX) else {
        return respond(
            StatusCode::NOT_FOUND,
            "text/plain",
            Bytes::from_static(b"not found"),
        );
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    if let Some(token) = req.headers().get(ECS_TOKEN_HEADER) {
        if !inner.check_ecs_token(token.as_bytes(), now) {
            return respond(
                StatusCode::UNAUTHORIZED,
                "text/plain",
                Bytes::from_static(b"invalid or expired metadata token"),
            );
        }
    }
    let served = match servable(inner) {
        Ok(s) => s,
        Err(why) => return why.response(),
    };
    match rest {
        "" | "/" => respond(
            StatusCode::OK,
            "text/plain",
            // No trailing newline: clients append it to the next URL.
            Bytes::from(served.role_name.clone()),
        ),
        role if role.strip_prefix('/') == Some(served.role_name.as_str()) => {
            respond(StatusCode::OK, "application/json", served.ecs_doc.clone())
        }
        _ => respond(
            StatusCode::NOT_FOUND,
            "text/plain",
            Bytes::from_static(b"not found"),
        ),
    }
}

/// Bounded store of issued metadata tokens.
#[derive(Debug, Default)]
pub(crate) struct EcsTokens {
    tokens: std::collections::HashMap<String, i64>,
}

impl EcsTokens {
    pub(crate) fn insert(&mut self, token: String, expires_ms: i64, now: i64) {
        if self.tokens.len() >= MAX_ECS_TOKENS {
            self.tokens.retain(|_, exp| *exp > now);
        }
        if self.tokens.len() >= MAX_ECS_TOKENS {
            // Still full of live tokens: forget the one closest to expiry.
            if let Some(k) = self
                .tokens
                .iter()
                .min_by_key(|(_, exp)| **exp)
                .map(|(k, _)| k.clone())
            {
                self.tokens.remove(&k);
            }
        }
        self.tokens.insert(token, expires_ms);
    }

    pub(crate) fn valid(&self, token: &[u8], now: i64) -> bool {
        std::str::from_utf8(token)
            .ok()
            .and_then(|t| self.tokens.get(t))
            .is_some_and(|exp| *exp > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_tokens_expire_and_stay_bounded() {
        let mut t = EcsTokens::default();
        t.insert("a".into(), 100, 0);
        assert!(t.valid(b"a", 99));
        assert!(!t.valid(b"a", 100));
        assert!(!t.valid(b"b", 0));
        for i in 0..(MAX_ECS_TOKENS + 10) {
            t.insert(format!("k{i}"), 1_000 + i as i64, 0);
        }
        assert!(t.tokens.len() <= MAX_ECS_TOKENS);
        assert!(t.valid(format!("k{}", MAX_ECS_TOKENS + 9).as_bytes(), 0));
    }
}
