//! The backend-neutral conformance suite (`keyless_store::conformance`) against `SqliteStore`,
//! one `#[test]` per case, each on a fresh store in its own temporary data dir; and the
//! SQLite-only facts (trait objects, reopening) that the suite cannot state for every backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_store::prelude::*;
use keyless_store::{Event, SqliteStore};
use std::ops::Deref;
use tempfile::TempDir;

/// A fresh store; its data dir lives as long as it does.
struct Fresh {
    store: SqliteStore,
    _dir: TempDir,
}

impl Deref for Fresh {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

fn fresh() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    Fresh { store, _dir: dir }
}

keyless_store::conformance_tests!(fresh);

#[test]
fn every_case_is_listed_once() {
    let mut names: Vec<&str> = keyless_store::conformance::CASES
        .iter()
        .map(|c| c.name)
        .collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n);
    assert!(n >= 28, "{n}");
}

#[test]
fn store_is_send_sync_and_usable_as_a_trait_object() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SqliteStore>();
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path()).unwrap();
    keyless_store::conformance::seed(&s);
    let dyn_store: std::sync::Arc<dyn Store> = std::sync::Arc::new(s);
    assert_eq!(dyn_store.list_accounts().unwrap().len(), 2);
    // Each role trait is usable on its own, too.
    let records: &dyn RecordStore = &*dyn_store;
    assert_eq!(records.get_meta("k").unwrap(), None);
    let audit: &dyn AuditLog = &*dyn_store;
    assert!(audit.recent_audit(1).unwrap().is_empty());
}

#[test]
fn records_and_events_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let e = Event {
        time: 1,
        kind: "Normal".into(),
        reason: "r".into(),
        message: "m".into(),
    };
    {
        let s = SqliteStore::open(dir.path()).unwrap();
        s.put_record("svc", "a/1", "{}", 10).unwrap();
        s.append_event("svc/b", &e).unwrap();
    }
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(s.get_record("svc", "a/1").unwrap().as_deref(), Some("{}"));
    assert_eq!(s.list_events("svc/b").unwrap(), vec![e]);
}
