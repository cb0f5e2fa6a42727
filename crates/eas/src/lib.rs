//! EAS (PAI Elastic Algorithm Service, API 2021-07-01): the service API in the ROA dialect, the
//! deployment of services as local instances through a [`Runner`], the role rules of the seed,
//! and the agent API by which each instance's credential agent obtains its role's credentials.
//!
//! Code map: [`spec`] parses the service JSON (pure); [`roles`] holds the role rules (PAI default
//! role, custom roles, `ram:PassRole`, assuming as `eas.pai.aliyuncs.com`); [`record`] is what is
//! persisted; [`api`] serves the routes; [`deploy`] runs deployments in background threads;
//! [`agent`] answers `GET /internal/agent/v1/credentials`.
//!
//! Invariants: an instance's environment never holds a secret (only the credentials URI); an agent
//! token is stored only as its SHA-256, is bound to one instance of one deployment, and stops
//! working when its service is redeployed, stopped or deleted; the platform reads OSS mounts only
//! with what the service's role session may read; every status change is an event.

use keyless_http::{Access, Decision, Handler, HttpReq, HttpResp};
use keyless_objstore::Backend;
use keyless_platform::limits::RateLimiter;
use keyless_platform::state::State;
use keyless_runner::Runner;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;

pub mod agent;
pub mod api;
pub mod deploy;
pub mod record;
pub mod roles;
pub mod spec;
pub mod workspace;

/// What the EAS control plane needs: shared state, the object store (to fill OSS mounts), the
/// runner, and where things live.
pub struct Platform {
    pub state: Arc<State>,
    pub backend: Arc<dyn Backend>,
    pub runner: Arc<dyn Runner>,
    pub data_dir: PathBuf,
    /// The `keyless` executable (for `keyless agent`).
    pub exe: PathBuf,
    /// Base URL of this EAS listener (agents call back to it), e.g. `http://127.0.0.1:18002`.
    pub control_url: String,
    /// `host:port` of the OSS and MaxCompute listeners (for instances' information).
    pub oss_endpoint: String,
    pub maxcompute_endpoint: String,
    /// `host:port` of the STS listener (instances get it as `KEYLESS_STS_ENDPOINT`).
    pub sts_endpoint: String,
}

/// The EAS listener's handler.
pub fn handler(platform: Arc<Platform>) -> Arc<dyn Handler> {
    Arc::new(Eas {
        platform,
        agent_limiter: RateLimiter::new(agent::RATE, agent::BURST, 100_000),
    })
}

/// The runner's events go to the service's event stream (`eas/<ServiceId>`); events of services
/// that no longer exist are dropped.
pub fn event_sink(state: Arc<State>) -> keyless_runner::EventSink {
    Arc::new(move |e: keyless_runner::RunnerEvent| {
        if !record::service_id_exists(&state, &e.service) {
            return;
        }
        record::event(
            &state,
            &e.service,
            e.warning,
            &e.reason,
            &format!("[{}] {}", e.instance, e.message),
        );
    })
}

/// Brings services that were running before a restart of `keyless up` back: each is deployed
/// again (new generation, new agent tokens) in the background.
pub fn resume(platform: &Arc<Platform>) {
    let state = &platform.state;
    let services = match record::list_all(state) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(code = %e.code, message = %e.message, "eas: cannot list services to resume");
            return;
        }
    };
    for s in services.into_iter().filter(|s| s.desired_running) {
        let Ok(Some((s, ()))) = record::update(state, &s.account, &s.name, |s| {
            s.generation += 1;
            s.status = "Starting".into();
            s.reason = String::new();
            s.message = "Service is starting".into();
            s.started_instances = 0;
        }) else {
            continue;
        };
        record::event(
            state,
            &s.id,
            false,
            "Resuming",
            "keyless restarted: the service is deployed again",
        );
        deploy::spawn(platform, &s.account, &s.name, s.generation);
    }
}

pub struct Eas {
    pub platform: Arc<Platform>,
    agent_limiter: RateLimiter,
}

fn json_resp(status: u16, body: String, request_id: &str) -> HttpResp {
    let mut r = HttpResp::new(status, "application/json;charset=utf-8", body);
    r.headers
        .push(("x-acs-request-id".into(), request_id.to_owned()));
    r
}

impl Handler for Eas {
    fn handle(&self, req: HttpReq) -> HttpResp {
        if req.path.starts_with("/internal/agent/") {
            let resp = agent::handle(&self.platform, &self.agent_limiter, &req);
            // The bearer token is the agent's credential: 200 means it was accepted, 403 that
            // its service may not have credentials now.
            let decision = match resp.status {
                200 => Decision::Allow,
                403 => Decision::Deny,
                _ => Decision::None,
            };
            let route = if req.path == agent::PATH {
                "AgentCredentials"
            } else {
                "-"
            };
            return resp.with_access(Access {
                route: Some(route.into()),
                decision,
                ..Access::default()
            });
        }
        if req.method == "GET" && req.path == "/health" {
            return HttpResp::new(200, "text/plain", "ok");
        }
        let request_id = keyless_platform::ids::request_id();
        let mut access = Access {
            request_id: Some(request_id.clone()),
            ..Access::default()
        };
        let result = api::serve(&self.platform, &req, &request_id, &mut access);
        access.decide(result.as_ref().is_err_and(|e| e.denied.is_some()));
        let resp = match result {
            Ok(v) => {
                let mut m = Map::new();
                m.insert("RequestId".into(), Value::String(request_id.clone()));
                if let Value::Object(o) = v {
                    m.extend(o);
                }
                json_resp(200, Value::Object(m).to_string(), &request_id)
            }
            Err(e) => {
                if e.status >= 500 {
                    tracing::error!(
                        service = "eas",
                        request_id,
                        code = %e.code,
                        message = %e.message,
                        "internal error"
                    );
                }
                let body = e.body(&request_id, &self.platform.state.config().host_id);
                json_resp(e.status, body.to_string(), &request_id)
            }
        };
        resp.with_access(access)
    }

    fn service(&self) -> &'static str {
        "eas"
    }

    fn reject(&self, status: u16, message: &str) -> HttpResp {
        let e = keyless_platform::error::ApiError::transport_rejection(status, message);
        let request_id = keyless_platform::ids::request_id();
        let body =
            serde_json::json!({"Code": e.code, "Message": e.message, "RequestId": request_id});
        json_resp(e.status, body.to_string(), &request_id).with_access(Access {
            request_id: Some(request_id),
            ..Access::default()
        })
    }
}
