//! Fixtures shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_store::*;
use tempfile::TempDir;

pub use keyless_store::conformance::fixtures::*;

/// A fresh store in a temporary dir with accounts `ACCT` and `OTHER`.
pub fn store() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path()).unwrap();
    s.create_account(ACCT, NOW).unwrap();
    s.create_account(OTHER, NOW).unwrap();
    (dir, s)
}
