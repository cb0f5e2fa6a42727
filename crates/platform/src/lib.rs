//! What every server front-end shares: [`state::State`] (the store behind read-through caches
//! invalidated on every write, the clock, the STS key ring, the replay cache and rate limiter, the
//! audit writer), [`error::ApiError`] (the one error type, mapped by each front-end to its
//! vendor's `Code`/`Message`/status), and random [`ids`].
//!
//! Must not: know HTTP or any wire format; decide access (that is `keyless-auth`); depend on a
//! front-end.

pub mod audit;
pub mod clock;
pub mod error;
pub mod ids;
pub mod limits;
pub mod state;
