#![no_main]
//! The MaxCompute SQL subset and job-document parsers over arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keyless_server::odps::fuzz_sql(data);
});
