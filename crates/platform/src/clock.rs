//! Time, injected: servers read the clock only through [`Clock`], so tests use a [`ManualClock`].
//! The one clock abstraction of the workspace lives in `keyless-time`; this module names it for
//! the server crates.

pub use keyless_time::{Clock, ManualClock, OffsetClock, SystemClock};
