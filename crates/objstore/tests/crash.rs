//! Crash safety: a child process (this test binary, re-invoked with an environment variable)
//! writes objects in a loop and reports each one on stdout once committed; the parent kills it
//! with SIGKILL mid-loop, reopens the store, and checks that every reported object is whole, that
//! every object present is whole (no half-written body is ever visible), that an object rewritten
//! on every iteration holds one complete version, and that no temporary file survives the reopen.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use keyless_objstore::*;
use md5::{Digest, Md5};

const CHILD_DIR_ENV: &str = "KEYLESS_OBJSTORE_CRASH_CHILD_DIR";
/// A bound on the child's loop, so it stops by itself if never killed.
const CHILD_MAX_ITERATIONS: usize = 5_000;
const KILL_AFTER: usize = 25;

fn body_of(i: usize) -> Vec<u8> {
    let len = 200 * 1024 + (i * 7919) % 50_000;
    (0..len).map(|j| ((j * 13 + i * 101) % 251) as u8).collect()
}

fn etag_of(body: &[u8]) -> String {
    let hex: String = Md5::digest(body)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("\"{hex}\"")
}

/// The child half: does nothing unless re-invoked by `committed_objects_survive_sigkill`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let s = FsBackend::open(&dir).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0..CHILD_MAX_ITERATIONS {
        let body = body_of(i);
        for key in [format!("obj/{i:05}"), "shared".to_owned()] {
            let mut w = s.put_object("bkt", &key).unwrap();
            for chunk in body.chunks(16 * 1024) {
                w.write(chunk).unwrap();
            }
            w.commit(ObjectAttrs::default()).unwrap();
        }
        writeln!(out, "COMMITTED {i}").unwrap();
        out.flush().unwrap();
    }
}

fn read_object(s: &FsBackend, key: &str) -> (ObjectMeta, Vec<u8>) {
    let mut got = s.get_object("bkt", key, None).unwrap();
    let mut body = Vec::new();
    got.body.read_to_end(&mut body).unwrap();
    (got.meta, body)
}

fn run_child(dir: &Path) -> Vec<usize> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_ENV, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut reported = Vec::new();
    let record = |line: &str, reported: &mut Vec<usize>| {
        if let Some(i) = line.strip_prefix("COMMITTED ") {
            reported.push(i.parse().unwrap());
        }
    };
    for line in lines.by_ref() {
        record(&line.unwrap(), &mut reported);
        if reported.len() >= KILL_AFTER {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on unix
    for line in lines.map_while(Result::ok) {
        record(&line, &mut reported);
    }
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child must die by SIGKILL mid-loop, not exit: {status:?}"
    );
    reported
}

#[test]
fn committed_objects_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    FsBackend::open(dir.path())
        .unwrap()
        .create_bucket("bkt", "1", "r")
        .unwrap();
    for round in 0..2 {
        let reported = run_child(dir.path());
        assert!(reported.len() >= KILL_AFTER, "round {round}: {reported:?}");
        let s = FsBackend::open(dir.path()).unwrap();
        let tmp = dir.path().join("buckets/bkt/tmp");
        assert_eq!(
            std::fs::read_dir(&tmp).unwrap().count(),
            0,
            "temporary files survived"
        );

        // Every reported object is there and whole.
        for &i in &reported {
            let (meta, body) = read_object(&s, &format!("obj/{i:05}"));
            assert_eq!(body, body_of(i), "round {round}, object {i}");
            assert_eq!(meta.etag, etag_of(&body));
        }
        // Every object present is whole: its body is exactly one iteration's; `shared` (written
        // after `obj/<i>` in each iteration) holds the version of one of the objects present.
        let listed = s
            .list_objects(
                "bkt",
                &ListRequest {
                    max_keys: 100_000,
                    ..ListRequest::default()
                },
            )
            .unwrap();
        let mut present = Vec::new();
        let mut shared = None;
        for m in &listed.objects {
            let (meta, body) = read_object(&s, &m.key);
            assert_eq!(meta.etag, etag_of(&body), "{}", m.key);
            if let Some(i) = m.key.strip_prefix("obj/") {
                let i: usize = i.parse().unwrap();
                assert_eq!(body, body_of(i), "{}", m.key);
                present.push(i);
            } else {
                assert_eq!(m.key, "shared");
                shared = Some(body);
            }
        }
        let shared = shared.expect("`shared` exists");
        assert!(
            present.iter().any(|&i| body_of(i) == shared),
            "`shared` holds no complete version"
        );
        // Clean up the round's objects so the next round starts from an empty bucket.
        for m in listed.objects {
            s.delete_object("bkt", &m.key).unwrap();
        }
    }
}
