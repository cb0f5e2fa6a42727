//! The composition of keyless's server: `keyless up` ([`up`]) opens the store, the key ring and
//! the object store, and serves every front-end on its own listener.
//!
//! Owns: start-up, bootstrap (first account, root key, default workspace), `endpoints.env`, the
//! data dir's lock-step of files, shutdown. Must not: hold any front-end's logic — RAM, STS,
//! EAS, OSS and MaxCompute live in their own crates, authentication in `keyless-auth`, the
//! transport in `keyless-http`, shared state in `keyless-platform`.
//!
//! The other crates are re-exported under their old module names so that whole-system tests
//! and tools address one crate.

pub mod up;

pub use keyless_auth as auth;
pub use keyless_eas as eas;
pub use keyless_eas::workspace;
pub use keyless_http as http;
pub use keyless_maxcompute as odps;
pub use keyless_oss as oss;
pub use keyless_platform::{audit, clock, error, ids, limits, state};
pub use keyless_ram as ram;
pub use keyless_rpc as rpc;
pub use keyless_sts as sts;
