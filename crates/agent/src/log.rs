//! The agent's log lines. The agent emits structured `tracing` events (target `keyless_agent`)
//! whose fields are only ever non-secret: `access_key_id`, `still_serving` (AccessKeyIds),
//! `expiration`, `next_refresh`, `dir`, `listen`, `ecs_metadata`, `attempt`, `retry_in_ms`,
//! `error`, and on access lines (target `keyless::access`) `service`, `method`, `route`,
//! `status`, `latency_us`. Never a secret, a security token, the bearer token or the credentials
//! URI path.
//!
//! [`LogFormat`] renders them the way `keyless agent` always printed them, one line each:
//! `2025-01-02T03:04:05Z keyless-agent: rotated credentials: AccessKeyId=STS.x Expiration=…`
//! (field names in the vendor's CamelCase, warnings prefixed `warning: `).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::{timefmt, Clock, SystemClock};

/// Formats an event as one `<UTC time> keyless-agent: <message>: Field=value …` line.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogFormat;

impl<S, N> FormatEvent<S, N> for LogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Line::default();
        event.record(&mut line);
        let time = timefmt::format_utc(SystemClock.now_millis().div_euclid(1000));
        let level = match *event.metadata().level() {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            Level::INFO => "",
            Level::DEBUG | Level::TRACE => "debug: ",
        };
        write!(writer, "{time} keyless-agent: {level}{}", line.message)?;
        for (i, (name, value)) in line.fields.iter().enumerate() {
            let sep = if i == 0 { ": " } else { " " };
            write!(writer, "{sep}{}={value}", camel_case(name))?;
        }
        writeln!(writer)
    }
}

/// An event's message and fields, in order.
#[derive(Default)]
struct Line {
    message: String,
    fields: Vec<(&'static str, String)>,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields.push((field.name(), value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields.push((field.name(), format!("{value:?}")));
        }
    }
}

/// `access_key_id` → `AccessKeyId`.
fn camel_case(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// Sends the agent's lines to stderr, unless the process already has a `tracing` subscriber.
pub(crate) fn init_stderr() {
    let _ = tracing_subscriber::fmt()
        .event_format(LogFormat)
        .with_writer(std::io::stderr)
        .with_max_level(Level::INFO)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_become_camel_case() {
        assert_eq!(camel_case("access_key_id"), "AccessKeyId");
        assert_eq!(camel_case("expiration"), "Expiration");
        assert_eq!(camel_case("retry_in_ms"), "RetryInMs");
    }
}
