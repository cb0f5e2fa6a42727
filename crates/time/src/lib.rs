//! Time for the whole workspace: the injected clock, the calendar, and every timestamp form.
//!
//! Owns: the [`Clock`] trait that servers, the agent, object storage and the credentials library
//! read time through ([`SystemClock`], [`OffsetClock`], and [`ManualClock`] for tests); the one
//! proleptic Gregorian calendar ([`Civil`], [`unix_from_civil`], [`unix_day`]), built on `jiff`;
//! and the exact formatters and strict parsers of the timestamps on the wire:
//! `YYYY-MM-DDTHH:MM:SSZ` ([`format_iso8601`], [`parse_iso8601`]), the same with milliseconds
//! ([`format_iso8601_millis`]), HTTP dates ([`format_http_date`], [`parse_http_date`]), the OSS
//! V4 basic forms ([`format_iso8601_basic`], [`parse_iso8601_basic`], [`format_basic_date`],
//! [`parse_basic_date`]), and the dates of policy conditions ([`parse_policy_date_millis`]).
//!
//! Must not: read the clock anywhere but [`SystemClock`] (every function here takes the time as
//! an argument), do any other I/O, know time zones other than UTC and fixed offsets, or panic on
//! any input. No other crate may do calendar arithmetic; time values cross crate boundaries as
//! Unix seconds (or milliseconds) in an `i64`.

mod civil;
mod clock;
mod format;
mod policy_date;

pub use civil::{unix_day, unix_from_civil, Civil, SECS_PER_DAY};
pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use format::{
    format_basic_date, format_http_date, format_iso8601, format_iso8601_basic,
    format_iso8601_millis, format_iso8601_unbounded, parse_basic_date, parse_http_date,
    parse_iso8601, parse_iso8601_basic,
};
pub use policy_date::parse_policy_date_millis;
