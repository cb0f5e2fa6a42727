//! Service clients for Rust programs, over the credentials of `keyless-credentials`: V3-signed
//! (`ACS3-HMAC-SHA256`) RPC and ROA calls to RAM, STS and EAS ([`RpcClient`], [`rpc_call`]) and a
//! small path-style OSS client ([`OssClient`]: list, get, put). Plain HTTP only, for loopback and
//! in-cluster endpoints such as a self-hosted keyless.
//!
//! # Architecture
//!
//! Owns: the service clients — endpoints, defaults, request shapes and response parsing of each
//! service. Must not: hold or cache credentials of its own (it takes a [`Credentials`] per call, or
//! a [`ProvideCredentials`] asked once per request so rotations are seen), read the clock (time
//! comes from an injected [`TimeSource`], [`SystemTimeSource`] by default), keep a second HTTP
//! transport or V3 signer (both come from `keyless-credentials`: [`keyless_credentials::http`],
//! [`keyless_credentials::acs3`]), depend on any keyless server crate, or print a secret.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use keyless_clients::{rpc_call, RpcClient};
//! use keyless_credentials::Credentials;
//!
//! let root = Credentials::from_keys("LTAI5tRoot", "root-secret", None);
//! let ram = RpcClient::new("127.0.0.1:18930")?;
//! ram.call("CreateUser", "2015-05-01", &[("UserName", "alice")], &root).await?;
//! let me = rpc_call("127.0.0.1:18931", "GetCallerIdentity", "2015-04-01", &[], &root).await?;
//! println!("{}", me["Arn"]);
//! # Ok(()) }
//! ```

pub mod oss;
mod rpc;

pub use keyless_credentials::{
    Credentials, ProvideCredentials, RpcError, SystemTimeSource, TimeSource, Timeouts,
};
pub use oss::{Listing, ObjectSummary, OssClient, OssError};
pub use rpc::{rpc_call, RoaRequest, RpcClient, DEFAULT_RPC_TIMEOUTS};
