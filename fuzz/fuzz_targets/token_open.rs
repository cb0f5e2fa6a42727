#![no_main]
//! STS SecurityToken opening and key-ring loading over arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keyless_token::fuzz_open(data);
});
