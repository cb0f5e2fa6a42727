//! MaxCompute-compatible metadata service (to be implemented).

use crate::error::ApiError;
use crate::http::{Handler, HttpReq, HttpResp};
use crate::state::State;
use std::sync::Arc;

/// The MaxCompute front-end; its URL prefix is `/api`.
pub struct Odps {
    pub state: Arc<State>,
}

/// The MaxCompute listener's handler.
pub fn handler(state: Arc<State>) -> Arc<dyn Handler> {
    Arc::new(Odps { state })
}

/// Creates project `project` owned by `account` unless it exists.
pub fn ensure_project(_state: &State, _account: &str, _project: &str) -> Result<(), ApiError> {
    Ok(())
}

impl Handler for Odps {
    fn handle(&self, _req: HttpReq) -> HttpResp {
        HttpResp::new(
            501,
            "application/xml",
            "<Error><Code>NotImplemented</Code></Error>",
        )
    }
    fn reject(&self, status: u16, message: &str) -> HttpResp {
        HttpResp::new(
            status,
            "application/xml",
            format!("<Error><Code>InvalidRequest</Code><Message>{message}</Message></Error>"),
        )
    }
}
