//! The agent API: `GET /internal/agent/v1/credentials` with `Authorization: Bearer <token>`.
//! A token is bound to one instance of one deployment of one service (stored only as its
//! SHA-256); it yields fresh STS credentials of that service's current role and nothing else.

use super::record::{self, RoleKind};
use super::roles;
use super::Platform;
use bytes::Bytes;
use keyless_credentials::document::{self, CredentialsDocument, Form};
use keyless_http::{HttpReq, HttpResp};
use keyless_platform::limits::RateLimiter;
use keyless_secret::{ct_eq, SecretBytes};
use serde_json::json;

pub const PATH: &str = "/internal/agent/v1/credentials";

/// Credential requests per second per token, and the burst.
pub const RATE: f64 = 10.0;
pub const BURST: f64 = 20.0;

fn reply(status: u16, code: &str, message: &str) -> HttpResp {
    let mut r = HttpResp::new(
        status,
        "application/json",
        json!({"Code": code, "Message": message, "RequestId": keyless_platform::ids::request_id()})
            .to_string(),
    );
    r.headers.push(("cache-control".into(), "no-store".into()));
    r
}

fn unauthorized(message: &str) -> HttpResp {
    reply(401, "InvalidToken", message)
}

/// Answers one agent request.
pub fn handle(p: &Platform, limiter: &RateLimiter, req: &HttpReq) -> HttpResp {
    if req.path != PATH {
        return reply(404, "NotFound", "no such agent endpoint");
    }
    if req.method != "GET" {
        return reply(405, "MethodNotAllowed", "use GET");
    }
    let Some(token) = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return unauthorized("an `Authorization: Bearer <agent token>` header is required");
    };
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return unauthorized("the agent token is not valid");
    }
    let hash = token_hash(token);
    let state = &p.state;
    let inst = match record::instance_by_token(state, &hash) {
        Ok(Some(i)) if ct_eq(i.token_sha256.as_bytes(), hash.as_bytes()) => i,
        Ok(_) => return unauthorized("the agent token is unknown or revoked"),
        Err(_) => return reply(500, "InternalError", "the request could not be served"),
    };
    if !limiter.allow(&hash, state.clock().now_millis()) {
        return reply(
            429,
            "Throttling",
            "too many credential requests for this instance",
        );
    }
    let svc = match record::get(state, &inst.account, &inst.service) {
        Ok(Some(s)) if s.id == inst.service_id => s,
        Ok(_) => return reply(403, "Forbidden", "the service of this instance was deleted"),
        Err(_) => return reply(500, "InternalError", "the request could not be served"),
    };
    if !svc.desired_running {
        return reply(403, "Forbidden", "the service is stopped");
    }
    if svc.generation != inst.generation {
        return unauthorized("the agent token was revoked by a newer deployment");
    }
    if svc.role_kind == RoleKind::None {
        return reply(
            403,
            "Forbidden",
            "the service has no RAM role: set options.enable_ram_role or role_arn",
        );
    }
    let issued = match roles::assume(
        state,
        &svc.role_arn,
        &roles::session_name(&svc.name, inst.index),
        svc.session_policy.as_deref(),
    ) {
        Ok(i) => i,
        Err(e) => {
            let msg = roles::assume_failure_message(&e.message);
            record::event(
                state,
                &svc.id,
                true,
                "FailedAssumeRole",
                &format!("[{}] {msg}", inst.name),
            );
            return reply(403, &e.code, &msg);
        }
    };
    let role_name = svc.role_arn.rsplit('/').next().unwrap_or("").to_owned();
    let role_name = state
        .role(&svc.account, &role_name)
        .ok()
        .flatten()
        .map(|r| r.role.role_name.clone())
        .unwrap_or(role_name);
    let doc = CredentialsDocument {
        access_key_id: issued.access_key_id,
        access_key_secret: issued.access_key_secret,
        security_token: issued.security_token,
        expiration: issued.expires_at,
        role_name: Some(role_name),
    };
    let body = document::render(
        &doc,
        Form::AgentApi {
            last_updated: state.clock().now(),
        },
    );
    let mut r = HttpResp::new(
        200,
        "application/json",
        Bytes::from_owner(SecretDocument(body)),
    );
    r.headers.push(("cache-control".into(), "no-store".into()));
    r
}

/// Owner of a rendered document's bytes, zeroized when the response is dropped.
struct SecretDocument(SecretBytes);

impl AsRef<[u8]> for SecretDocument {
    fn as_ref(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

/// The SHA-256 of an agent token, hex (only the hash is stored).
pub fn token_hash(token: &str) -> String {
    keyless_sign::acs3::hashed_payload(token.as_bytes())
}
