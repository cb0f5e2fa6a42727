//! The control-plane client: one HTTP/1.1 `GET {control_url}/internal/agent/v1/credentials` with
//! the instance's bearer token, over a fresh connection each time.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, HOST, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use keyless_secret::{SecretBytes, SecretString};
use tokio::net::TcpStream;

use crate::creds::{self, Credentials};
use crate::AgentError;

/// The path, under the control URL, that hands out an instance's credentials.
pub const CREDENTIALS_PATH: &str = "/internal/agent/v1/credentials";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BODY: usize = 64 * 1024;

/// Where and how to ask for credentials.
#[derive(Debug)]
pub struct ControlPlane {
    host: String,
    port: u16,
    authority: String,
    path: String,
    token_file: PathBuf,
}

impl ControlPlane {
    /// Parses `http://HOST[:PORT][/PREFIX]` (plain HTTP: the control plane is local).
    pub fn new(control_url: &str, token_file: PathBuf) -> Result<Self, AgentError> {
        let bad = |why: &str| AgentError::Config(format!("control URL `{control_url}`: {why}"));
        let rest = control_url
            .strip_prefix("http://")
            .ok_or_else(|| bad("only http:// is supported"))?;
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') || prefix.contains(['?', '#']) {
            return Err(bad("expected http://HOST[:PORT][/PREFIX]"));
        }
        let (host, port_part) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            (
                h,
                after
                    .strip_prefix(':')
                    .or(if after.is_empty() { None } else { Some(after) }),
            )
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port_part {
            Some(p) => p.parse::<u16>().map_err(|_| bad("invalid port"))?,
            None => 80,
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        Ok(ControlPlane {
            host: host.to_string(),
            port,
            authority: authority.to_string(),
            path: format!("{prefix}{CREDENTIALS_PATH}"),
            token_file,
        })
    }

    /// Reads the bearer token (re-read on every fetch, so the runner may replace the file).
    fn token(&self) -> Result<SecretString, AgentError> {
        let raw = std::fs::read(&self.token_file).map_err(|e| AgentError::TokenFile {
            path: self.token_file.clone(),
            source: e,
        })?;
        let raw = SecretBytes::new(raw);
        let text = std::str::from_utf8(raw.expose_secret())
            .map_err(|_| AgentError::Config("the token file is not UTF-8".into()))?
            .trim();
        if text.is_empty() {
            return Err(AgentError::Config("the token file is empty".into()));
        }
        Ok(SecretString::from(text))
    }

    /// Fetches a fresh set. 401/403 is [`AgentError::Unauthorized`]; any other status or an
    /// invalid document is [`AgentError::ControlPlane`].
    pub async fn fetch(&self) -> Result<Credentials, AgentError> {
        let token = self.token()?;
        match tokio::time::timeout(REQUEST_TIMEOUT, self.fetch_with(&token)).await {
            Ok(r) => r,
            Err(_) => Err(AgentError::Unreachable(format!(
                "no answer within {}s",
                REQUEST_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn fetch_with(&self, token: &SecretString) -> Result<Credentials, AgentError> {
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| AgentError::Unreachable(format!("connect to `{}` timed out", self.authority)))?
        .map_err(|e| AgentError::Unreachable(format!("connect to `{}`: {e}", self.authority)))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| AgentError::Unreachable(format!("handshake: {e}")))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });

        let mut auth =
            HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).map_err(|_| {
                AgentError::Config("the token holds characters not allowed in a header".into())
            })?;
        auth.set_sensitive(true);
        let host = HeaderValue::try_from(self.authority.as_str())
            .map_err(|_| AgentError::Config("invalid control URL host".into()))?;
        let req = Request::builder()
            .method(Method::GET)
            .uri(self.path.as_str())
            .header(HOST, host)
            .header(AUTHORIZATION, auth)
            .header(
                USER_AGENT,
                concat!("keyless-agent/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| AgentError::Config(format!("cannot build the request: {e}")))?;
        let result = async {
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| AgentError::Unreachable(format!("request: {e}")))?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| AgentError::Unreachable(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok::<_, AgentError>((status, body))
        }
        .await;
        driver.abort();
        let (status, body) = result?;
        match status {
            StatusCode::OK => {
                let body = SecretBytes::new(Vec::from(body));
                creds::parse(body.expose_secret()).map_err(AgentError::InvalidAnswer)
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(AgentError::Unauthorized {
                status: status.as_u16(),
                code: error_code(&body),
            }),
            other => Err(AgentError::ControlPlane {
                status: other.as_u16(),
                code: error_code(&body),
            }),
        }
    }
}

/// The `Code` of an error document, if any (never the rest of the body).
fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("Code").and_then(|c| c.as_str()).map(str::to_string))
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'))
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(url: &str) -> Result<ControlPlane, AgentError> {
        ControlPlane::new(url, PathBuf::from("/nonexistent"))
    }

    #[test]
    fn parses_control_urls() {
        let c = cp("http://127.0.0.1:18002").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 18002));
        assert_eq!(c.path, CREDENTIALS_PATH);
        let c = cp("http://localhost/eas/").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("localhost", 80));
        assert_eq!(c.path, "/eas/internal/agent/v1/credentials");
        let c = cp("http://[::1]:9").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.authority.as_str()),
            ("::1", 9, "[::1]:9")
        );
        let c = cp("http://[::1]").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("::1", 80));
        for bad in [
            "https://x",
            "x:1",
            "http://",
            "http://a:b",
            "http://u@h:1",
            "http://h/?q",
            "http://[::1]x",
            "http://[::1",
        ] {
            assert!(cp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_codes_are_sanitized() {
        assert_eq!(
            error_code(br#"{"Code":"Forbidden.Token"}"#),
            "Forbidden.Token"
        );
        assert_eq!(error_code(br#"{"Code":"a b"}"#), "-");
        assert_eq!(error_code(b"nope"), "-");
    }
}
