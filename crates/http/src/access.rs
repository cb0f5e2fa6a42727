//! The access log: one `info` event per request (target [`TARGET`]), emitted by the transport
//! after the handler returns. The transport knows the method, the status and the latency; the
//! handler attaches what only it knows — the route, the caller's ARN, the decision and the
//! request id — as an [`Access`] record on its response. The transport never logs the raw path,
//! the query (presigned signatures, STS tokens) or any header (`Authorization`).

use std::borrow::Cow;
use std::time::Duration;

/// The `tracing` target of access lines (`RUST_LOG=keyless::access=off` silences them).
pub const TARGET: &str = "keyless::access";

/// What the policy engine made of a request, as far as the handler knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Decision {
    /// No authenticated caller: unsigned, a bad signature or key, a health check, a transport
    /// rejection.
    #[default]
    None,
    /// An authenticated caller the policy engine did not refuse (a later error shows in the
    /// status).
    Allow,
    /// Refused by the policy engine (or an access rule such as another account's bucket).
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::None => "none",
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

/// What a handler knows about one request, for its access line. Only non-secret values belong
/// here: a route is an action name or a path template (never a raw path or query), a caller is
/// an ARN (never an AccessKeyId's secret or a token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// The action (`AssumeRole`, `GetObject`) or path template (`/projects/{p}/tables`).
    pub route: Option<Cow<'static, str>>,
    /// The authenticated caller's ARN.
    pub caller: Option<String>,
    pub decision: Decision,
    /// The request id the response carries.
    pub request_id: Option<String>,
}

impl Access {
    /// Records the outcome: `denied` when the policy engine (or an access rule) refused the
    /// request; otherwise an authenticated caller means [`Decision::Allow`].
    pub fn decide(&mut self, denied: bool) {
        self.decision = if denied {
            Decision::Deny
        } else if self.caller.is_some() {
            Decision::Allow
        } else {
            Decision::None
        };
    }
}

/// Emits the access line of one request.
pub(crate) fn emit(service: &str, method: &str, status: u16, latency: Duration, a: &Access) {
    tracing::info!(
        target: TARGET,
        service,
        method,
        route = a.route.as_deref().unwrap_or("-"),
        caller = a.caller.as_deref().unwrap_or("-"),
        decision = a.decision.as_str(),
        status,
        latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        request_id = a.request_id.as_deref().unwrap_or("-"),
        "request"
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::{serve, Handler, HttpReq, HttpResp};
    use std::fmt;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata};

    /// Every event: its target and fields, in order.
    type Lines = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

    struct Capture(Lines);

    struct Fields(Vec<(String, String)>);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0.push((field.name().into(), format!("{value:?}")));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push((field.name().into(), value.into()));
        }
    }

    impl tracing::Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, e: &Event<'_>) {
            let mut f = Fields(Vec::new());
            e.record(&mut f);
            self.0
                .lock()
                .unwrap()
                .push((e.metadata().target().to_owned(), f.0));
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// Attaches a record; optionally takes the streaming path (default `handle_stream`).
    struct Attach {
        streams: bool,
    }

    impl Handler for Attach {
        fn service(&self) -> &'static str {
            "test"
        }
        fn handle(&self, req: HttpReq) -> HttpResp {
            let mut a = Access {
                route: Some("Echo".into()),
                caller: Some("acs:ram::1234567890123456:root".into()),
                request_id: Some("RID-1".into()),
                ..Access::default()
            };
            a.decide(req.path.contains("deny"));
            HttpResp::new(200, "text/plain", "ok").with_access(a)
        }
        fn reject(&self, status: u16, _: &str) -> HttpResp {
            HttpResp::new(status, "text/plain", "no")
        }
        fn max_body(&self) -> usize {
            4
        }
        fn streams(&self) -> bool {
            self.streams
        }
    }

    const SECRETS: [&str; 3] = ["SIGVALUE", "STSTOKEN", "BEARERVALUE"];

    async fn exchange(addr: std::net::SocketAddr, raw: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(raw.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no field `{name}` in {fields:?}"))
    }

    /// One access line per request, with the handler's record and the transport's facts, and
    /// nothing of the raw path, query or headers.
    #[tokio::test(flavor = "current_thread")]
    async fn each_request_logs_one_line_with_the_handlers_record() {
        let lines: Lines = Arc::default();
        let _guard = tracing::subscriber::set_default(Capture(lines.clone()));
        for streams in [false, true] {
            lines.lock().unwrap().clear();
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let (tx, rx) = tokio::sync::watch::channel(false);
            let server = tokio::spawn(serve(
                l,
                Arc::new(Attach { streams }),
                rx,
                Duration::from_secs(1),
            ));
            let ok = exchange(
                addr,
                "GET /obj/deny-me?Signature=SIGVALUE&security-token=STSTOKEN HTTP/1.1\r\n\
                 host: x\r\nauthorization: Bearer BEARERVALUE\r\nconnection: close\r\n\r\n",
            )
            .await;
            assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
            let big = exchange(
                addr,
                "PUT /big?Signature=SIGVALUE HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\
                 connection: close\r\n\r\n0123456789",
            )
            .await;
            assert!(big.starts_with("HTTP/1.1 413"), "{big}");
            tx.send(true).unwrap();
            server.await.unwrap();

            let lines = lines.lock().unwrap().clone();
            let access: Vec<_> = lines.iter().filter(|(t, _)| t == TARGET).collect();
            assert_eq!(access.len(), 2, "streams={streams}: {lines:?}");
            let f = &access[0].1;
            assert_eq!(field(f, "service"), "test");
            assert_eq!(field(f, "method"), "GET");
            assert_eq!(field(f, "route"), "Echo");
            assert_eq!(field(f, "caller"), "acs:ram::1234567890123456:root");
            assert_eq!(field(f, "decision"), "deny");
            assert_eq!(field(f, "status"), "200");
            assert!(field(f, "latency_us").parse::<u64>().is_ok());
            assert_eq!(field(f, "request_id"), "RID-1");
            // A transport rejection: no record from the handler.
            let f = &access[1].1;
            assert_eq!(field(f, "method"), "PUT");
            assert_eq!(field(f, "status"), "413");
            assert_eq!(field(f, "route"), "-");
            assert_eq!(field(f, "caller"), "-");
            assert_eq!(field(f, "decision"), "none");
            let all = format!("{lines:?}");
            for s in SECRETS.iter().chain(&["/obj", "/big", "Bearer"]) {
                assert!(!all.contains(s), "`{s}` reached a log line: {all}");
            }
        }
    }

    #[test]
    fn decide_needs_a_caller_to_allow() {
        let mut a = Access::default();
        a.decide(false);
        assert_eq!(a.decision, Decision::None);
        a.caller = Some("acs:ram::1:root".into());
        a.decide(false);
        assert_eq!(a.decision, Decision::Allow);
        a.decide(true);
        assert_eq!(a.decision, Decision::Deny);
    }
}
