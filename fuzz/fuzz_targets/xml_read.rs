#![no_main]
//! The bounded XML reader over arbitrary bytes, with both dialects' limits: never panics, every
//! accepted tree stays within the limits and reads back unchanged after being written out.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keyless_wire::fuzz_xml_read(data);
});
