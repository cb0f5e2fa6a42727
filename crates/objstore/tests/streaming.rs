//! Bodies stream: a 64 MiB object is written in 64 KiB chunks and read back through the store
//! while the process's peak resident memory grows by far less than the object (Linux reads it
//! from `/proc/self/status`; this file holds a single test so that nothing else runs in the
//! process meanwhile).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;

use keyless_objstore::*;
use md5::{Digest, Md5};

const CHUNK: usize = 64 * 1024;
const CHUNKS: usize = 1024; // 64 MiB
const SIZE: u64 = (CHUNK * CHUNKS) as u64;

/// `VmHWM` (peak) and `VmRSS` in KiB.
fn memory_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn fill(buf: &mut [u8], chunk: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u64).wrapping_mul(31).wrapping_add(chunk as u64 * 7) as u8;
    }
}

#[test]
fn a_64_mib_object_streams_in_and_out_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsBackend::open(dir.path()).unwrap();
    s.create_bucket("bkt", "1", "r").unwrap();
    let before = memory_kib();

    let mut expected = Md5::new();
    let mut buf = vec![0u8; CHUNK];
    let mut w = s.put_object("bkt", "big.bin").unwrap();
    for i in 0..CHUNKS {
        fill(&mut buf, i);
        expected.update(&buf);
        w.write(&buf).unwrap();
    }
    assert_eq!(w.written(), SIZE);
    let meta = w.commit(ObjectAttrs::default()).unwrap();
    let expected: String = expected
        .finalize()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(meta.size, SIZE);
    assert_eq!(meta.etag, format!("\"{expected}\""));

    let mut got = s.get_object("bkt", "big.bin", None).unwrap();
    let mut md5 = Md5::new();
    let mut total = 0u64;
    loop {
        let n = got.body.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        total += n as u64;
    }
    assert_eq!(total, SIZE);
    let read_back: String = md5.finalize().iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(read_back, expected);

    // The last chunk, by range.
    let mut tail = Vec::new();
    s.get_object("bkt", "big.bin", Some(ByteRange::Suffix(CHUNK as u64)))
        .unwrap()
        .body
        .read_to_end(&mut tail)
        .unwrap();
    fill(&mut buf, CHUNKS - 1);
    assert_eq!(tail, buf);

    if let (Some((_, rss_before)), Some((peak_after, _))) = (before, memory_kib()) {
        let growth_mib = peak_after.saturating_sub(rss_before) / 1024;
        assert!(
            growth_mib < 24,
            "peak memory grew by {growth_mib} MiB while streaming a 64 MiB object"
        );
    }
}
