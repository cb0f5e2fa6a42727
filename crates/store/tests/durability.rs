//! Durability and secrecy at rest: reopening sees committed data, the master key file is 0600
//! and reused, secrets never appear in the database files in plaintext, and concurrent writers
//! cannot break a limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use keyless_store::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Barrier};

const SECRET: &str = "Zq8vS3cr3tValueThatMustNeverBeStoredPlain";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The bytes of the database and its WAL, if any.
fn db_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["keyless.db", "keyless.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            all.extend(bytes);
        }
    }
    all
}

#[test]
fn reopen_sees_committed_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SqliteStore::open(dir.path()).unwrap();
        s.create_account(ACCT, NOW).unwrap();
        s.create_user(&user(ACCT, "alice", "u1")).unwrap();
        s.create_access_key(&key(ACCT, Some("alice"), "LTAIalice", SECRET))
            .unwrap();
        s.create_role(&role(ACCT, "deployer", "300000000000000001"))
            .unwrap();
        s.create_policy(&new_policy(ACCT, "p", "{}")).unwrap();
        s.create_policy_version(ACCT, "p", "{\"v\":2}", true, false, NOW)
            .unwrap();
        s.attach_policy(&attachment(
            ACCT,
            PrincipalRef::Role("deployer".into()),
            PolicyType::Custom,
            "p",
        ))
        .unwrap();
        s.append_audit(&[audit(1), audit(2)]).unwrap();
        s.put_meta("k", b"v").unwrap();
    }
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(s.get_account(ACCT).unwrap().created_at, NOW);
    assert_eq!(
        s.get_user(ACCT, "alice").unwrap(),
        user(ACCT, "alice", "u1")
    );
    let k = s.find_access_key("LTAIalice").unwrap().unwrap();
    assert_eq!(
        k.secret.expose_secret(),
        SECRET,
        "the reused master key decrypts"
    );
    assert_eq!(
        s.get_role(ACCT, "deployer").unwrap(),
        role(ACCT, "deployer", "300000000000000001")
    );
    let p = s.get_policy(ACCT, "p").unwrap();
    assert_eq!((p.default_version.as_str(), p.attachment_count), ("v2", 1));
    assert_eq!(
        s.attached_documents(ACCT, &PrincipalRef::Role("deployer".into()))
            .unwrap()[0]
            .document,
        "{\"v\":2}"
    );
    assert_eq!(s.recent_audit(10).unwrap(), vec![audit(2), audit(1)]);
    assert_eq!(s.get_meta("k").unwrap(), Some(b"v".to_vec()));
    s.integrity_check().unwrap();

    // Migrations ran once; reopening did not re-apply them.
    drop(s);
    let conn = rusqlite::Connection::open(dir.path().join("keyless.db")).unwrap();
    let versions: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        versions, 2,
        "one row per migration (v1 RAM, v2 records and events)"
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn master_key_file_is_0600_and_reused() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data").join("nested");
    drop(SqliteStore::open(&dir).unwrap());
    let key_path = dir.join("master.key");
    let meta = std::fs::metadata(&key_path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let first = std::fs::read(&key_path).unwrap();
    drop(SqliteStore::open(&dir).unwrap());
    assert_eq!(
        std::fs::read(&key_path).unwrap(),
        first,
        "the key is reused, not regenerated"
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("master.key"))
        .collect();
    assert_eq!(
        names,
        ["master.key"],
        "no temporary key files are left behind"
    );
}

#[test]
fn wrong_length_master_key_is_refused() {
    for len in [0usize, 31, 33, 64] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("master.key"), vec![0x41; len]).unwrap();
        match SqliteStore::open(dir.path()) {
            Err(StoreError::Backend(msg)) => {
                assert!(msg.contains("master key"), "{msg}");
                assert!(
                    !msg.contains("AAAA"),
                    "the key bytes are not in the message"
                );
            }
            other => panic!("expected a refusal for a {len}-byte key, got {other:?}"),
        }
        assert!(
            !dir.path().join("keyless.db").exists(),
            "nothing is created after a refusal"
        );
    }
}

#[test]
fn a_different_master_key_cannot_read_secrets() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SqliteStore::open(dir.path()).unwrap();
        s.create_account(ACCT, NOW).unwrap();
        s.create_access_key(&key(ACCT, None, "LTAIroot", SECRET))
            .unwrap();
    }
    std::fs::remove_file(dir.path().join("master.key")).unwrap();
    let s = SqliteStore::open(dir.path()).unwrap();
    match s.find_access_key("LTAIroot") {
        Err(e @ StoreError::Corrupt(_)) => assert!(!e.to_string().contains(SECRET)),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn secrets_are_not_stored_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path()).unwrap();
    s.create_account(ACCT, NOW).unwrap();
    s.create_user(&user(ACCT, "plaintext-marker-user", "u1"))
        .unwrap();
    s.create_access_key(&key(ACCT, None, "LTAIroot", SECRET))
        .unwrap();
    s.create_access_key(&key(
        ACCT,
        Some("plaintext-marker-user"),
        "LTAIuser",
        SECRET,
    ))
    .unwrap();
    // While open the rows may still be in the WAL; look at both files.
    let open_bytes = db_bytes(dir.path());
    assert!(
        contains(&open_bytes, b"plaintext-marker-user"),
        "the grep sees ordinary rows"
    );
    assert!(contains(&open_bytes, b"LTAIroot"));
    assert!(
        !contains(&open_bytes, SECRET.as_bytes()),
        "secret found in plaintext while open"
    );
    drop(s);
    let closed = db_bytes(dir.path());
    assert!(contains(&closed, b"plaintext-marker-user"));
    assert!(
        !contains(&closed, SECRET.as_bytes()),
        "secret found in plaintext after close"
    );
    let key_file = std::fs::read(dir.path().join("master.key")).unwrap();
    assert!(!contains(&key_file, SECRET.as_bytes()));
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let (_d, s) = store();
    s.create_access_key(&key(ACCT, None, "LTAIroot", SECRET))
        .unwrap();
    let k = s.find_access_key("LTAIroot").unwrap().unwrap();
    assert!(!format!("{k:?}").contains(SECRET));
    assert!(!format!("{:?}", s.list_access_keys(ACCT, None).unwrap()).contains(SECRET));
    assert!(!format!("{s:?}").contains(SECRET));
}

#[test]
fn concurrent_writers_cannot_exceed_a_limit() {
    let (dir, s) = store();
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
    // Two stores on one data dir stand in for two processes; each has several threads.
    let stores = [
        Arc::new(s),
        Arc::new(SqliteStore::open(dir.path()).unwrap()),
    ];
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let s = Arc::clone(&stores[i % 2]);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let user_key =
                    s.create_access_key(&key(ACCT, Some("alice"), &format!("U{i}"), "s"));
                let root_key = s.create_access_key(&key(ACCT, None, &format!("R{i}"), "s"));
                let reads = s.list_access_keys(ACCT, Some("alice")).unwrap().len();
                assert!(reads <= 2);
                (user_key.is_ok(), root_key.is_ok())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.0).count(), 2);
    assert_eq!(results.iter().filter(|r| r.1).count(), 2);
    assert_eq!(
        stores[0]
            .list_access_keys(ACCT, Some("alice"))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(stores[1].list_access_keys(ACCT, None).unwrap().len(), 2);
    stores[0].integrity_check().unwrap();
}

#[test]
fn concurrent_reads_and_writes_see_consistent_snapshots() {
    let (_d, s) = store();
    s.create_policy(&new_policy(ACCT, "p", "{\"n\":1}"))
        .unwrap();
    let s = Arc::new(s);
    let writer = {
        let s = Arc::clone(&s);
        std::thread::spawn(move || {
            for n in 2..40 {
                s.create_policy_version(ACCT, "p", &format!("{{\"n\":{n}}}"), true, true, NOW)
                    .unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let p = s.get_policy(ACCT, "p").unwrap();
                    let n: String = p.default_version.trim_start_matches('v').to_owned();
                    assert_eq!(
                        p.document,
                        format!("{{\"n\":{n}}}"),
                        "document matches the default version"
                    );
                    assert!(s.list_policy_versions(ACCT, "p").unwrap().len() <= 5);
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(s.get_policy(ACCT, "p").unwrap().default_version, "v39");
}
