//! Fixtures shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_store::*;
use tempfile::TempDir;

pub const ACCT: &str = "1234567890123456";
pub const OTHER: &str = "6543210987654321";
pub const NOW: i64 = 1_700_000_000;

/// A fresh store in a temporary dir with accounts `ACCT` and `OTHER`.
pub fn store() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path()).unwrap();
    s.create_account(ACCT, NOW).unwrap();
    s.create_account(OTHER, NOW).unwrap();
    (dir, s)
}

pub fn user(account: &str, name: &str, id: &str) -> User {
    User {
        account_id: account.into(),
        user_id: id.into(),
        user_name: name.into(),
        display_name: format!("{name} display"),
        comments: String::new(),
        created_at: NOW,
        updated_at: NOW,
    }
}

pub fn role(account: &str, name: &str, id: &str) -> Role {
    Role {
        account_id: account.into(),
        role_id: id.into(),
        role_name: name.into(),
        arn: format!("acs:ram::{account}:role/{}", name.to_lowercase()),
        description: "a role".into(),
        trust_policy: r#"{"Version":"1","Statement":[]}"#.into(),
        max_session_duration: 3600,
        service_linked: false,
        created_at: NOW,
        updated_at: NOW,
    }
}

pub fn key(account: &str, user: Option<&str>, id: &str, secret: &str) -> AccessKey {
    AccessKey {
        access_key_id: id.into(),
        account_id: account.into(),
        user_name: user.map(Into::into),
        secret: secret.into(),
        status: KeyStatus::Active,
        created_at: NOW,
    }
}

pub fn new_policy(account: &str, name: &str, document: &str) -> NewPolicy {
    NewPolicy {
        account_id: account.into(),
        policy_name: name.into(),
        description: format!("{name} description"),
        document: document.into(),
        now: NOW,
    }
}

pub fn attachment(
    account: &str,
    principal: PrincipalRef,
    ty: PolicyType,
    name: &str,
) -> Attachment {
    Attachment {
        account_id: account.into(),
        principal,
        policy_type: ty,
        policy_name: name.into(),
        description: String::new(),
        default_version: String::new(),
        attached_at: NOW,
    }
}

pub fn page(marker: Option<String>, max_items: usize) -> PageRequest {
    PageRequest { marker, max_items }
}

pub fn audit(i: usize) -> AuditRecord {
    AuditRecord {
        time: NOW + i as i64,
        request_id: format!("req-{i}"),
        account_id: ACCT.into(),
        actor: format!("acs:ram::{ACCT}:root"),
        action: "ram:CreateRole".into(),
        target: format!("role-{i}"),
        result: "Success".into(),
        detail: String::new(),
    }
}

#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(r: Result<T>, entity: Entity) {
    match r {
        Err(StoreError::NotFound(e, _)) if e == entity => {}
        other => panic!("expected NotFound({entity:?}), got {other:?}"),
    }
}

#[track_caller]
pub fn assert_exists<T: std::fmt::Debug>(r: Result<T>, entity: Entity) {
    match r {
        Err(StoreError::AlreadyExists(e, _)) if e == entity => {}
        other => panic!("expected AlreadyExists({entity:?}), got {other:?}"),
    }
}

#[track_caller]
pub fn assert_limit<T: std::fmt::Debug>(r: Result<T>, limit: Limit) {
    match r {
        Err(StoreError::LimitExceeded(l)) if l == limit => {}
        other => panic!("expected LimitExceeded({limit:?}), got {other:?}"),
    }
}

#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(r: Result<T>, conflict: Conflict) {
    match r {
        Err(StoreError::DeleteConflict(c)) if c == conflict => {}
        other => panic!("expected DeleteConflict({conflict:?}), got {other:?}"),
    }
}
