#![no_main]
//! The OSS front-end's request parsing over arbitrary bytes: addressing and key decoding,
//! query and listing parameters, the operation, V1 / V4 `Authorization` headers and V1 / V4
//! presigned queries (parsed, then verified with a fixed secret), ranges, `Content-MD5`,
//! `x-oss-copy-source`, user metadata and the XML bodies (`Delete`, `CompleteMultipartUpload`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keyless_server::oss::fuzz_oss_request(data);
});
