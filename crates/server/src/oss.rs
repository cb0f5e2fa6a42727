//! OSS-compatible object service (to be implemented).

use crate::error::ApiError;
use crate::http::{Handler, HttpReq, HttpResp};
use crate::state::State;
use keyless_objstore::Backend;
use std::sync::Arc;

/// The OSS front-end.
pub struct Oss {
    pub state: Arc<State>,
    pub backend: Arc<dyn Backend>,
}

/// The OSS listener's handler.
pub fn handler(state: Arc<State>, backend: Arc<dyn Backend>) -> Arc<dyn Handler> {
    Arc::new(Oss { state, backend })
}

/// Creates `bucket` for `account` unless it exists (used for workspaces' default buckets).
pub fn ensure_bucket(
    backend: &dyn Backend,
    account: &str,
    bucket: &str,
    region: &str,
) -> Result<(), ApiError> {
    if backend
        .bucket_exists(bucket)
        .map_err(|_| ApiError::internal())?
    {
        return Ok(());
    }
    backend
        .create_bucket(bucket, account, region)
        .map(|_| ())
        .map_err(|_| ApiError::internal())
}

impl Handler for Oss {
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
