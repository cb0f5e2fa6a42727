#![no_main]
//! Parse arbitrary bytes as custom, session and trust policies; evaluate whatever parses.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keyless_policy::fuzz_parse_and_evaluate(data);
});
