//! The formats of a log line, text and JSON, written directly into the subscriber's buffer.
//!
//! Written here rather than using `tracing-subscriber`'s own formatters, which format every
//! field through `fmt::Debug` and the time through a general `Display`: under callgrind that was
//! ~9 700 instructions per access line, 8.7 % of an authenticated OSS GET
//! (`bench/instructions.sh`). This one writes strings with a byte-level escape and the time
//! from `keyless-time`. The output keeps the same shape: text
//! `2026-12-06T23:24:38.841048Z  INFO keyless::access: request service="sts" status=200`, JSON
//! one flat object per line with `timestamp`, `level`, `message`, the fields and `target`.
//!
//! Every string value is escaped (quotes, backslashes, control characters), so a value can never
//! end a line or forge another field.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Text (`key="value"` pairs) or JSON (one object).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    Text,
    Json,
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        thread_local! {
            static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        BUF.with(|b| {
            let mut out = b.borrow_mut();
            out.clear();
            render(*self, now_micros(), event, &mut out);
            w.write_str(&out)
        })
    }
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ`. The date and time of day change once a second, so each
/// thread keeps the last second's text and only writes the microseconds anew.
fn timestamp(micros: i64, out: &mut String) {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> =
            const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != secs {
            let text = keyless_time::format_iso8601(secs)
                .map(|t| t.trim_end_matches('Z').to_owned())
                .unwrap_or_else(|| "0000-00-00T00:00:00".to_owned());
            *last = (secs, text);
        }
        out.push_str(&last.1);
    });
    let mut digits = [b'0'; 8];
    digits[0] = b'.';
    digits[7] = b'Z';
    let mut f = frac;
    for d in digits[1..7].iter_mut().rev() {
        *d = b'0' + u8::try_from(f % 10).unwrap_or(0);
        f /= 10;
    }
    out.push_str(std::str::from_utf8(&digits).unwrap_or(".000000Z"));
}

/// Renders one event (pure but for what the event carries; the time is passed in).
pub fn render(kind: Line, micros: i64, event: &Event<'_>, out: &mut String) {
    let meta = event.metadata();
    match kind {
        Line::Text => {
            timestamp(micros, out);
            let _ = write!(out, " {:>5} {}: ", meta.level().as_str(), meta.target());
            let mut v = TextFields { out, first: true };
            event.record(&mut v);
            out.push('\n');
        }
        Line::Json => {
            out.push_str("{\"timestamp\":\"");
            timestamp(micros, out);
            out.push_str("\",\"level\":\"");
            out.push_str(meta.level().as_str());
            out.push('"');
            let mut v = JsonFields { out };
            event.record(&mut v);
            out.push_str(",\"target\":");
            json_str(meta.target(), out);
            out.push_str("}\n");
        }
    }
}

struct TextFields<'a> {
    out: &'a mut String,
    first: bool,
}

impl TextFields<'_> {
    fn key(&mut self, field: &Field) -> bool {
        if field.name() == "message" {
            return false;
        }
        if !self.first || !self.out.ends_with(": ") {
            self.out.push(' ');
        }
        self.first = false;
        self.out.push_str(field.name());
        self.out.push('=');
        true
    }
}

impl Visit for TextFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.key(field) {
            quoted(value, self.out);
        } else {
            escaped(value, self.out);
            self.first = false;
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.key(field) {
            let _ = write!(self.out, "{value}");
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.key(field) {
            let _ = write!(self.out, "{value}");
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            self.out.push_str(if value { "true" } else { "false" });
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let quote = self.key(field);
        if quote {
            self.out.push('"');
        }
        debug_escaped(value, self.out);
        if quote {
            self.out.push('"');
        } else {
            self.first = false;
        }
    }
}

struct JsonFields<'a> {
    out: &'a mut String,
}

impl JsonFields<'_> {
    fn key(&mut self, field: &Field) {
        self.out.push(',');
        json_str(field.name(), self.out);
        self.out.push(':');
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        json_str(value, self.out);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.out.push_str(if value { "true" } else { "false" });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        json_str(&format!("{value:?}"), self.out);
    }
}

/// A text value: `"…"` with `"`, `\` and control characters escaped.
fn quoted(s: &str, out: &mut String) {
    out.push('"');
    escaped(s, out);
    out.push('"');
}

/// Writes `value`'s `Debug` text escaped, formatting straight into `out` when nothing in it
/// needs escaping (the common case: no allocation).
fn debug_escaped(value: &dyn fmt::Debug, out: &mut String) {
    let start = out.len();
    let _ = write!(out, "{value:?}");
    if out.as_bytes()[start..]
        .iter()
        .any(|b| *b < 0x20 || *b == b'"' || *b == b'\\' || *b == 0x7f)
    {
        let s = out.split_off(start);
        escaped(&s, out);
    }
}

fn escaped(s: &str, out: &mut String) {
    if !s
        .bytes()
        .any(|b| b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f)
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// A JSON string literal (serde_json's escaping: the workspace's one JSON writer).
fn json_str(s: &str, out: &mut String) {
    match serde_json::to_string(s) {
        Ok(j) => out.push_str(&j),
        Err(_) => out.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    fn capture(kind: Line, f: impl FnOnce()) -> String {
        let buf = Buf::default();
        let sub = tracing_subscriber::fmt()
            .with_writer(buf.clone())
            .event_format(kind)
            .finish();
        tracing::subscriber::with_default(sub, f);
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        out
    }

    fn access_event() {
        tracing::info!(
            target: "keyless::access",
            service = "sts",
            method = "GET",
            route = "AssumeRole",
            caller = "acs:ram::1:user/a\"b\nc",
            status = 200u16,
            latency_us = 42u64,
            "request"
        );
    }

    #[test]
    fn text_lines_keep_the_usual_shape_and_escape_values() {
        let out = capture(Line::Text, access_event);
        assert_eq!(out.lines().count(), 1, "{out}");
        let line = out.lines().next().unwrap();
        let (ts, rest) = line.split_once(' ').unwrap();
        assert_eq!(ts.len(), "2026-12-06T23:24:38.841048Z".len(), "{ts}");
        assert!(ts.ends_with('Z'));
        assert_eq!(
            rest,
            " INFO keyless::access: request service=\"sts\" method=\"GET\" route=\"AssumeRole\" caller=\"acs:ram::1:user/a\\\"b\\nc\" status=200 latency_us=42"
        );
    }

    #[test]
    fn timestamps_are_exact_to_the_microsecond() {
        for (micros, want) in [
            (0, "1970-01-01T00:00:00.000000Z"),
            (1_735_689_600_123_456, "2025-01-01T00:00:00.123456Z"),
            (1_735_689_600_000_007, "2025-01-01T00:00:00.000007Z"),
            (1_735_689_601_999_999, "2025-01-01T00:00:01.999999Z"),
            (1_735_689_600_500_000, "2025-01-01T00:00:00.500000Z"),
        ] {
            let mut out = String::new();
            timestamp(micros, &mut out);
            assert_eq!(out, want);
        }
    }

    #[test]
    fn json_lines_are_flat_objects_that_parse() {
        let out = capture(Line::Json, access_event);
        let v: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "request");
        assert_eq!(v["target"], "keyless::access");
        assert_eq!(v["caller"], "acs:ram::1:user/a\"b\nc");
        assert_eq!(v["status"], 200);
        assert_eq!(v["latency_us"], 42);
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn messages_with_arguments_and_errors() {
        let e = std::io::Error::other("disk \"full\"");
        let out = capture(
            Line::Text,
            || tracing::warn!(error = %e, attempt = 3, "cannot write {}", "x"),
        );
        assert!(out.contains("  WARN "), "{out}");
        assert!(
            out.ends_with(": cannot write x error=\"disk \\\"full\\\"\" attempt=3\n"),
            "{out}"
        );
        let out = capture(Line::Json, || tracing::warn!(error = %e, "cannot write"));
        let v: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(v["error"], "disk \"full\"");
    }
}
