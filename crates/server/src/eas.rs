//! EAS service API (to be implemented).

use crate::http::{Handler, HttpReq, HttpResp};
use crate::state::State;
use keyless_objstore::Backend;
use keyless_runner::Runner;
use std::path::PathBuf;
use std::sync::Arc;

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
}

/// The EAS listener's handler.
pub fn handler(platform: Arc<Platform>) -> Arc<dyn Handler> {
    Arc::new(Eas { platform })
}

/// The runner's events go to the service's event stream.
pub fn event_sink(state: Arc<State>) -> keyless_runner::EventSink {
    Arc::new(move |e: keyless_runner::RunnerEvent| {
        let ev = keyless_store::Event {
            time: state.clock.now(),
            kind: if e.warning {
                "Warning".into()
            } else {
                "Normal".into()
            },
            reason: e.reason,
            message: format!("[{}] {}", e.instance, e.message),
        };
        let _ = state.store.append_event(&format!("eas/{}", e.service), &ev);
    })
}

/// Brings services that were running before a restart of `keyless up` back.
pub fn resume(_platform: &Platform) {}

pub struct Eas {
    pub platform: Arc<Platform>,
}

impl Handler for Eas {
    fn handle(&self, _req: HttpReq) -> HttpResp {
        HttpResp::new(
            501,
            "application/json",
            r#"{"Code":"NotImplemented","Message":"","RequestId":""}"#,
        )
    }
    fn reject(&self, status: u16, message: &str) -> HttpResp {
        HttpResp::new(status, "application/json", serde_json::json!({"Code": "InvalidParameter", "Message": message, "RequestId": crate::ids::request_id()}).to_string())
    }
}
