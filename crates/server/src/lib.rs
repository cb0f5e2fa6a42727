//! The HTTP front-ends of keyless: RAM and STS in the vendor's RPC dialect (more products follow),
//! and `keyless up`, which wires storage, the key ring and the listeners together.
//!
//! Owns: wire formats (parameters, JSON/XML bodies), vendor error codes and statuses
//! ([`error::ApiError`]), authentication of callers (V1, V3, ROA v2 signatures; root keys, RAM
//! users' keys, STS tokens), replay and rate limits, caches in front of the store, and the audit
//! writer. Must not: hold business rules that belong in the pure crates (policy decisions come
//! from `keyless-policy`, signatures from `keyless-sign`, tokens from `keyless-token`); leak
//! internals in error bodies; log secrets; answer bad input with a 5xx.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod eas;
pub mod error;
pub mod http;
pub mod ids;
pub mod limits;
pub mod odps;
pub mod oss;
pub mod ram;
pub mod rpc;
pub mod state;
pub mod sts;
pub mod up;
pub mod workspace;
