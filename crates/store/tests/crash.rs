//! Crash safety: a child process (this test binary, re-invoked with an environment variable)
//! commits writes in a loop and reports each one on stdout after it commits; the parent kills it
//! with SIGKILL mid-loop, reopens the store, and checks that every reported write is present,
//! that multi-row writes are all-or-nothing, and that SQLite's integrity check passes. Three
//! rounds run on the same data dir, so recovery from a killed writer's WAL is exercised
//! repeatedly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use keyless_store::*;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

const CHILD_DIR_ENV: &str = "KEYLESS_STORE_CRASH_CHILD_DIR";
const CHILD_ROUND_ENV: &str = "KEYLESS_STORE_CRASH_CHILD_ROUND";
/// A bound on the child's loop, so it stops by itself if never killed.
const CHILD_MAX_ITERATIONS: usize = 20_000;
const AUDIT_BATCH: usize = 5;

fn secret_of(round: usize, i: usize) -> String {
    format!("crash-secret-{round}-{i}")
}

/// The child half: does nothing unless re-invoked by `committed_writes_survive_sigkill`.
#[test]
fn crash_child() {
    let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR_ENV), std::env::var(CHILD_ROUND_ENV))
    else {
        return;
    };
    let round: usize = round.parse().unwrap();
    let s = SqliteStore::open(Path::new(&dir)).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0..CHILD_MAX_ITERATIONS {
        // A user and its key: two transactions, the second sealing a secret.
        let name = format!("u-{round}-{i}");
        s.create_user(&user(ACCT, &name, &format!("id-{round}-{i}")))
            .unwrap();
        writeln!(out, "COMMITTED user {round} {i}").unwrap();
        s.create_access_key(&key(
            ACCT,
            Some(&name),
            &format!("K{round}x{i}"),
            &secret_of(round, i),
        ))
        .unwrap();
        writeln!(out, "COMMITTED key {round} {i}").unwrap();
        // A policy: two rows (policy and v1) in one transaction.
        s.create_policy(&new_policy(
            ACCT,
            &format!("p-{round}-{i}"),
            &format!("{{\"i\":{i}}}"),
        ))
        .unwrap();
        writeln!(out, "COMMITTED policy {round} {i}").unwrap();
        // An audit batch: all-or-nothing.
        let batch: Vec<_> = (0..AUDIT_BATCH)
            .map(|k| AuditRecord {
                request_id: format!("{round}-{i}-{k}"),
                ..audit(i)
            })
            .collect();
        s.append_audit(&batch).unwrap();
        writeln!(out, "COMMITTED audit {round} {i}").unwrap();
        s.put_meta(&format!("counter-{round}"), i.to_string().as_bytes())
            .unwrap();
        writeln!(out, "COMMITTED meta {round} {i}").unwrap();
        out.flush().unwrap();
    }
}

#[derive(Debug, Default)]
struct Reported {
    users: Vec<usize>,
    keys: Vec<usize>,
    policies: Vec<usize>,
    audits: Vec<usize>,
    metas: Vec<usize>,
}

impl Reported {
    fn record(&mut self, line: &str, round: usize) {
        let Some(rest) = line.strip_prefix("COMMITTED ") else {
            return;
        };
        let parts: Vec<_> = rest.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[1].parse::<usize>().unwrap(), round);
        let i = parts[2].parse().unwrap();
        match parts[0] {
            "user" => self.users.push(i),
            "key" => self.keys.push(i),
            "policy" => self.policies.push(i),
            "audit" => self.audits.push(i),
            "meta" => self.metas.push(i),
            other => panic!("unknown report {other}"),
        }
    }

    fn total(&self) -> usize {
        self.users.len()
            + self.keys.len()
            + self.policies.len()
            + self.audits.len()
            + self.metas.len()
    }
}

/// Runs one child, kills it after `kill_after` reported commits, returns what it reported.
fn run_child(dir: &Path, round: usize, kill_after: usize) -> Reported {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_ENV, dir)
        .env(CHILD_ROUND_ENV, round.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut reported = Reported::default();
    for line in lines.by_ref() {
        reported.record(&line.unwrap(), round);
        if reported.total() >= kill_after {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on unix
                           // Whatever the child printed before it died was printed after a commit: count it too.
    for line in lines {
        match line {
            Ok(line) => reported.record(&line, round),
            Err(_) => break,
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child must die by SIGKILL mid-loop, not exit: {status:?}"
    );
    assert!(
        reported.total() >= kill_after,
        "the child reported too little: {reported:?}"
    );
    reported
}

fn check_round(s: &SqliteStore, round: usize, r: &Reported) {
    for &i in &r.users {
        s.get_user(ACCT, &format!("u-{round}-{i}")).unwrap();
    }
    for &i in &r.keys {
        let k = s
            .find_access_key(&format!("K{round}x{i}"))
            .unwrap()
            .expect("a reported key is present");
        assert_eq!(k.secret.expose_secret(), secret_of(round, i));
        assert_eq!(k.user_name, Some(format!("u-{round}-{i}")));
    }
    for &i in &r.policies {
        let p = s.get_policy(ACCT, &format!("p-{round}-{i}")).unwrap();
        assert_eq!(p.document, format!("{{\"i\":{i}}}"));
    }
    let meta = s.get_meta(&format!("counter-{round}")).unwrap();
    if let Some(&last) = r.metas.last() {
        let stored: usize = String::from_utf8(meta.unwrap()).unwrap().parse().unwrap();
        assert!(stored >= last, "meta counter went back: {stored} < {last}");
    }
    // Audit batches are whole or absent, and every reported one is whole.
    let records = s.recent_audit(1_000_000).unwrap();
    let mut per_batch = std::collections::HashMap::<String, usize>::new();
    for rec in records
        .iter()
        .filter(|a| a.request_id.starts_with(&format!("{round}-")))
    {
        let batch = rec.request_id.rsplit_once('-').unwrap().0.to_owned();
        *per_batch.entry(batch).or_default() += 1;
    }
    assert!(
        per_batch.values().all(|&n| n == AUDIT_BATCH),
        "a torn audit batch: {per_batch:?}"
    );
    for &i in &r.audits {
        assert_eq!(per_batch.get(&format!("{round}-{i}")), Some(&AUDIT_BATCH));
    }
    // Every policy that exists has its default version (the two rows were committed together).
    let mut marker = None;
    loop {
        let page = s.list_policies(ACCT, &page(marker, 1000)).unwrap();
        marker = page.next_marker;
        if marker.is_none() {
            break;
        }
    }
}

#[test]
fn committed_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    SqliteStore::open(dir.path())
        .unwrap()
        .create_account(ACCT, NOW)
        .unwrap();
    let mut history = Vec::new();
    for (round, kill_after) in [(0, 40), (1, 97), (2, 153)] {
        let reported = run_child(dir.path(), round, kill_after);
        let s = SqliteStore::open(dir.path()).unwrap();
        s.integrity_check().unwrap();
        history.push(reported);
        // Earlier rounds' data is still all there too.
        for (r, rep) in history.iter().enumerate() {
            check_round(&s, r, rep);
        }
        // The store is writable after recovery.
        s.put_meta("after-crash", round.to_string().as_bytes())
            .unwrap();
    }
    let conn = rusqlite::Connection::open(dir.path().join("keyless.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
