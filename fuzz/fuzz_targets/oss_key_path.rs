#![no_main]
//! The object store's key-to-path mapping over arbitrary keys: every valid key maps inside the
//! bucket's `objects/` directory and round-trips; invalid keys are refused, never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keyless_objstore::fuzz_key_to_path(data);
});
