#![no_main]
//! Every signature parser and verifier (RPC V1, ACS3, ROA v2, …) over arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keyless_sign::fuzz_verify_any(data);
});
