//! The backend-neutral conformance suite: one set of tests that every [`Store`] backend must
//! pass, so backends agree on every method's contract (uniqueness, not-found, conflicts,
//! quotas, ordering, paging, the audit log, records and events), and the exact error variants
//! the server maps to vendor codes.
//!
//! Each case is a `pub fn(&dyn Store)` that gets a fresh, empty store. A backend's test file
//! runs every case as its own `#[test]` with [`conformance_tests!`](crate::conformance_tests):
//!
//! ```text
//! // crates/<backend>/tests/conformance.rs
//! keyless_store::conformance_tests!(|| my_backend::fresh_store_for_test());
//! ```
//!
//! The expression is called once per case and must return something that dereferences to a
//! store (`Box<dyn Store>`, or a guard that owns a temporary directory or database and derefs
//! to the backend); it is dropped after the case. [`CASES`] lists the same cases by name, for
//! harnesses that drive them differently.
//!
//! Built only with the `conformance` feature (this crate's own tests turn it on). It is test
//! code: it panics on the first broken expectation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::*;
use fixtures::*;

/// One conformance case.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub name: &'static str,
    pub run: fn(&dyn Store),
}

/// Expands to one `#[test]` per conformance case, each on a store from `$fresh` (a closure or
/// function called once per case). See the [module docs](crate::conformance).
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::__conformance_for_each_case!(__conformance_emit_tests!($fresh));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_emit_tests {
    (($fresh:expr) $($case:ident),*) => {
        $(
            #[test]
            fn $case() {
                let store = ($fresh)();
                $crate::conformance::$case(&*store);
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_emit_cases {
    (() $($case:ident),*) => {
        /// Every conformance case, in a stable order.
        pub const CASES: &[Case] = &[$(Case { name: stringify!($case), run: $case }),*];
    };
}

/// The single list of cases: calls `$crate::$mac!{ ($($args)*) case, case, ... }`.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_for_each_case {
    ($mac:ident!($($args:tt)*)) => {
        $crate::$mac! {
            ($($args)*)
            accounts_create_get_list,
            access_keys_root_and_user,
            access_key_not_found_and_duplicate_paths,
            access_key_limit_is_per_user_and_per_root,
            access_key_update_and_delete_check_the_owner,
            access_key_follows_a_renamed_user,
            users_create_get_and_names_are_case_insensitive,
            users_update,
            users_delete_and_conflicts,
            users_list_pages,
            roles_create_get_update_delete,
            roles_list_pages,
            policies_create_get_list_delete,
            policy_delete_conflicts,
            policy_versions_numbering_default_and_listing,
            policy_version_limit_and_rotation,
            attachments_list_documents_and_counts,
            attach_not_found_and_duplicates,
            attach_limits_per_principal,
            detach_paths,
            audit_append_and_recent,
            meta_get_put,
            records_and_events,
            at_most_1000_users_per_account,
            at_most_1000_roles_per_account,
            at_most_1500_policies_per_account,
            records_keys_are_exact,
            events_are_per_stream_and_in_order
        }
    };
}

__conformance_for_each_case!(__conformance_emit_cases!());

/// Creates the accounts [`ACCT`] and [`OTHER`] that most
/// cases work in.
pub fn seed(s: &dyn Store) {
    s.create_account(ACCT, NOW).unwrap();
    s.create_account(OTHER, NOW).unwrap();
}

/// Values and assertions shared by the conformance cases and backends' own tests.
pub mod fixtures {
    use crate::*;

    pub const ACCT: &str = "1234567890123456";
    pub const OTHER: &str = "6543210987654321";
    pub const NOW: i64 = 1_700_000_000;

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
}

// -- accounts

pub fn accounts_create_get_list(s: &dyn Store) {
    assert_eq!(s.list_accounts().unwrap(), vec![]);
    let b = s.create_account("2000000000000000", 5).unwrap();
    let a = s.create_account("1000000000000000", 7).unwrap();
    assert_eq!(
        a,
        Account {
            account_id: "1000000000000000".into(),
            created_at: 7
        }
    );
    assert_eq!(s.get_account("2000000000000000").unwrap(), b);
    assert_eq!(s.list_accounts().unwrap(), vec![a, b]);
    assert_exists(s.create_account("1000000000000000", 9), Entity::Account);
    assert_not_found(s.get_account("3000000000000000"), Entity::Account);
}

// -- access keys

pub fn access_keys_root_and_user(s: &dyn Store) {
    seed(s);
    s.create_user(&user(ACCT, "Alice", "u1")).unwrap();
    s.create_access_key(&key(ACCT, None, "LTAIroot1", "root-secret-1"))
        .unwrap();
    s.create_access_key(&key(ACCT, Some("alice"), "LTAIalice1", "alice-secret-1"))
        .unwrap();

    let root = s.find_access_key("LTAIroot1").unwrap().unwrap();
    assert_eq!(root.account_id, ACCT);
    assert_eq!(root.user_name, None);
    assert_eq!(root.secret.expose_secret(), "root-secret-1");
    assert_eq!(root.status, KeyStatus::Active);
    assert_eq!(root.created_at, NOW);

    let alice = s.find_access_key("LTAIalice1").unwrap().unwrap();
    assert_eq!(
        alice.user_name.as_deref(),
        Some("Alice"),
        "canonical user name"
    );
    assert_eq!(alice.secret.expose_secret(), "alice-secret-1");
    assert!(s.find_access_key("LTAInope").unwrap().is_none());

    let roots = s.list_access_keys(ACCT, None).unwrap();
    assert_eq!(
        roots
            .iter()
            .map(|k| k.access_key_id.as_str())
            .collect::<Vec<_>>(),
        ["LTAIroot1"]
    );
    let users = s.list_access_keys(ACCT, Some("ALICE")).unwrap();
    assert_eq!(
        users
            .iter()
            .map(|k| k.access_key_id.as_str())
            .collect::<Vec<_>>(),
        ["LTAIalice1"]
    );
    assert!(s.list_access_keys(OTHER, None).unwrap().is_empty());
}

pub fn access_key_not_found_and_duplicate_paths(s: &dyn Store) {
    seed(s);
    assert_not_found(
        s.create_access_key(&key("9999999999999999", None, "K1", "x")),
        Entity::Account,
    );
    assert_not_found(
        s.create_access_key(&key(ACCT, Some("ghost"), "K1", "x")),
        Entity::User,
    );
    s.create_access_key(&key(ACCT, None, "K1", "x")).unwrap();
    assert_exists(
        s.create_access_key(&key(OTHER, None, "K1", "y")),
        Entity::AccessKey,
    );
    assert_not_found(
        s.list_access_keys("9999999999999999", None),
        Entity::Account,
    );
    assert_not_found(s.list_access_keys(ACCT, Some("ghost")), Entity::User);
    assert_eq!(
        s.find_access_key("K1")
            .unwrap()
            .unwrap()
            .secret
            .expose_secret(),
        "x"
    );
}

pub fn access_key_limit_is_per_user_and_per_root(s: &dyn Store) {
    seed(s);
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
    s.create_user(&user(ACCT, "bob", "u2")).unwrap();
    s.create_access_key(&key(ACCT, None, "R1", "s")).unwrap();
    s.create_access_key(&key(ACCT, None, "R2", "s")).unwrap();
    assert_limit(
        s.create_access_key(&key(ACCT, None, "R3", "s")),
        Limit::AccessKeysPerUser,
    );
    // The root's keys do not count against users, nor one user's against another's.
    s.create_access_key(&key(ACCT, Some("alice"), "A1", "s"))
        .unwrap();
    s.create_access_key(&key(ACCT, Some("alice"), "A2", "s"))
        .unwrap();
    assert_limit(
        s.create_access_key(&key(ACCT, Some("alice"), "A3", "s")),
        Limit::AccessKeysPerUser,
    );
    s.create_access_key(&key(ACCT, Some("bob"), "B1", "s"))
        .unwrap();
    s.create_access_key(&key(OTHER, None, "O1", "s")).unwrap();
    // Inactive keys still count; deleting one frees a slot.
    s.update_access_key_status(ACCT, None, "R1", KeyStatus::Inactive)
        .unwrap();
    assert_limit(
        s.create_access_key(&key(ACCT, None, "R3", "s")),
        Limit::AccessKeysPerUser,
    );
    s.delete_access_key(ACCT, None, "R1").unwrap();
    s.create_access_key(&key(ACCT, None, "R3", "s")).unwrap();
    assert!(
        s.find_access_key("A3").unwrap().is_none(),
        "a refused create left nothing"
    );
}

pub fn access_key_update_and_delete_check_the_owner(s: &dyn Store) {
    seed(s);
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
    s.create_access_key(&key(ACCT, Some("alice"), "A1", "s"))
        .unwrap();
    s.create_access_key(&key(ACCT, None, "R1", "s")).unwrap();

    s.update_access_key_status(ACCT, Some("Alice"), "A1", KeyStatus::Inactive)
        .unwrap();
    assert_eq!(
        s.find_access_key("A1").unwrap().unwrap().status,
        KeyStatus::Inactive
    );
    s.update_access_key_status(ACCT, Some("alice"), "A1", KeyStatus::Active)
        .unwrap();
    assert_eq!(
        s.find_access_key("A1").unwrap().unwrap().status,
        KeyStatus::Active
    );

    // Wrong owner: the root cannot address a user's key, nor a user the root's, nor another
    // account either.
    assert_not_found(
        s.update_access_key_status(ACCT, None, "A1", KeyStatus::Inactive),
        Entity::AccessKey,
    );
    assert_not_found(
        s.update_access_key_status(ACCT, Some("alice"), "R1", KeyStatus::Inactive),
        Entity::AccessKey,
    );
    assert_not_found(
        s.update_access_key_status(OTHER, None, "R1", KeyStatus::Inactive),
        Entity::AccessKey,
    );
    assert_not_found(
        s.update_access_key_status(ACCT, None, "nope", KeyStatus::Inactive),
        Entity::AccessKey,
    );
    assert_not_found(
        s.update_access_key_status(ACCT, Some("ghost"), "A1", KeyStatus::Inactive),
        Entity::User,
    );
    assert_not_found(s.delete_access_key(ACCT, None, "A1"), Entity::AccessKey);
    assert_not_found(s.delete_access_key(OTHER, None, "R1"), Entity::AccessKey);
    assert_not_found(s.delete_access_key(ACCT, Some("ghost"), "A1"), Entity::User);
    assert_eq!(
        s.find_access_key("R1").unwrap().unwrap().status,
        KeyStatus::Active
    );

    s.delete_access_key(ACCT, Some("alice"), "A1").unwrap();
    s.delete_access_key(ACCT, None, "R1").unwrap();
    assert!(s.find_access_key("A1").unwrap().is_none());
    assert_not_found(s.delete_access_key(ACCT, None, "R1"), Entity::AccessKey);
}

pub fn access_key_follows_a_renamed_user(s: &dyn Store) {
    seed(s);
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
    s.create_access_key(&key(ACCT, Some("alice"), "A1", "s"))
        .unwrap();
    let update = UserUpdate {
        new_user_name: Some("alicia".into()),
        ..Default::default()
    };
    s.update_user(ACCT, "alice", &update, NOW + 1).unwrap();
    assert_eq!(
        s.find_access_key("A1")
            .unwrap()
            .unwrap()
            .user_name
            .as_deref(),
        Some("alicia")
    );
    assert_eq!(s.list_access_keys(ACCT, Some("alicia")).unwrap().len(), 1);
    assert_not_found(s.list_access_keys(ACCT, Some("alice")), Entity::User);
}

// -- users

pub fn users_create_get_and_names_are_case_insensitive(s: &dyn Store) {
    seed(s);
    let alice = user(ACCT, "Alice", "u1");
    s.create_user(&alice).unwrap();
    assert_eq!(s.get_user(ACCT, "alice").unwrap(), alice);
    assert_eq!(s.get_user(ACCT, "ALICE").unwrap(), alice);
    assert_exists(s.create_user(&user(ACCT, "aLiCe", "u2")), Entity::User);
    assert_exists(s.create_user(&user(ACCT, "bob", "u1")), Entity::User);
    assert_not_found(
        s.create_user(&user("9999999999999999", "bob", "u3")),
        Entity::Account,
    );
    // The same name in another account is another user.
    s.create_user(&user(OTHER, "alice", "u4")).unwrap();
    assert_not_found(s.get_user(ACCT, "bob"), Entity::User);
    assert_not_found(s.get_user("9999999999999999", "alice"), Entity::User);
}

pub fn users_update(s: &dyn Store) {
    seed(s);
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
    s.create_user(&user(ACCT, "bob", "u2")).unwrap();
    let u = s
        .update_user(
            ACCT,
            "ALICE",
            &UserUpdate {
                new_user_name: None,
                new_display_name: Some("Alice A.".into()),
                new_comments: Some("hello".into()),
            },
            NOW + 5,
        )
        .unwrap();
    assert_eq!(
        (
            u.user_name.as_str(),
            u.display_name.as_str(),
            u.comments.as_str()
        ),
        ("alice", "Alice A.", "hello")
    );
    assert_eq!((u.created_at, u.updated_at), (NOW, NOW + 5));
    assert_eq!(s.get_user(ACCT, "alice").unwrap(), u);

    let rename = |to: &str| UserUpdate {
        new_user_name: Some(to.into()),
        ..Default::default()
    };
    assert_exists(
        s.update_user(ACCT, "alice", &rename("BOB"), NOW + 6),
        Entity::User,
    );
    assert_eq!(
        s.get_user(ACCT, "alice").unwrap(),
        u,
        "a refused update changed nothing"
    );
    // A change of case only is fine.
    let u2 = s
        .update_user(ACCT, "alice", &rename("Alice"), NOW + 7)
        .unwrap();
    assert_eq!(u2.user_name, "Alice");
    let u3 = s
        .update_user(ACCT, "alice", &rename("carol"), NOW + 8)
        .unwrap();
    assert_eq!(
        (
            u3.user_id.as_str(),
            u3.user_name.as_str(),
            u3.display_name.as_str()
        ),
        ("u1", "carol", "Alice A.")
    );
    assert_not_found(s.get_user(ACCT, "alice"), Entity::User);
    assert_eq!(s.get_user(ACCT, "carol").unwrap(), u3);
    assert_not_found(
        s.update_user(ACCT, "ghost", &UserUpdate::default(), NOW),
        Entity::User,
    );
}

pub fn users_delete_and_conflicts(s: &dyn Store) {
    seed(s);
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
    s.create_access_key(&key(ACCT, Some("alice"), "A1", "s"))
        .unwrap();
    s.attach_policy(&attachment(
        ACCT,
        PrincipalRef::User("alice".into()),
        PolicyType::System,
        "AliyunOSSReadOnlyAccess",
    ))
    .unwrap();
    assert_conflict(s.delete_user(ACCT, "alice"), Conflict::UserHasAccessKeys);
    s.delete_access_key(ACCT, Some("alice"), "A1").unwrap();
    assert_conflict(s.delete_user(ACCT, "alice"), Conflict::UserHasPolicies);
    s.detach_policy(
        ACCT,
        &PrincipalRef::User("alice".into()),
        PolicyType::System,
        "AliyunOSSReadOnlyAccess",
    )
    .unwrap();
    s.delete_user(ACCT, "Alice").unwrap();
    assert_not_found(s.get_user(ACCT, "alice"), Entity::User);
    assert_not_found(s.delete_user(ACCT, "alice"), Entity::User);
    // The name and the id are free again.
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
}

pub fn users_list_pages(s: &dyn Store) {
    seed(s);
    for (i, name) in ["delta", "Alpha", "charlie", "bravo", "echo"]
        .iter()
        .enumerate()
    {
        s.create_user(&user(ACCT, name, &format!("u{i}"))).unwrap();
    }
    s.create_user(&user(OTHER, "zulu", "u9")).unwrap();
    let p1 = s.list_users(ACCT, &page(None, 2)).unwrap();
    assert_eq!(
        p1.items
            .iter()
            .map(|u| u.user_name.as_str())
            .collect::<Vec<_>>(),
        ["Alpha", "bravo"]
    );
    let p2 = s
        .list_users(ACCT, &page(p1.next_marker.clone(), 2))
        .unwrap();
    assert_eq!(
        p2.items
            .iter()
            .map(|u| u.user_name.as_str())
            .collect::<Vec<_>>(),
        ["charlie", "delta"]
    );
    let p3 = s
        .list_users(ACCT, &page(p2.next_marker.clone(), 2))
        .unwrap();
    assert_eq!(
        p3.items
            .iter()
            .map(|u| u.user_name.as_str())
            .collect::<Vec<_>>(),
        ["echo"]
    );
    assert_eq!(p3.next_marker, None);
    let all = s.list_users(ACCT, &page(None, 5)).unwrap();
    assert_eq!(
        (all.items.len(), all.next_marker),
        (5, None),
        "no marker when exactly all fit"
    );
    assert_eq!(
        s.list_users(ACCT, &page(None, 0)).unwrap().items.len(),
        1,
        "max_items is at least 1"
    );
    assert_not_found(
        s.list_users("9999999999999999", &page(None, 10)),
        Entity::Account,
    );
    let empty = s
        .list_users(ACCT, &page(Some("not a marker".into()), 10))
        .unwrap();
    assert_eq!(
        empty,
        Page {
            items: vec![],
            next_marker: None
        }
    );
}

// -- roles

pub fn roles_create_get_update_delete(s: &dyn Store) {
    seed(s);
    let r = role(ACCT, "Deployer", "300000000000000001");
    s.create_role(&r).unwrap();
    assert_eq!(s.get_role(ACCT, "deployer").unwrap(), r);
    assert_exists(
        s.create_role(&role(ACCT, "DEPLOYER", "300000000000000002")),
        Entity::Role,
    );
    assert_exists(
        s.create_role(&role(ACCT, "other", "300000000000000001")),
        Entity::Role,
    );
    assert_not_found(
        s.create_role(&role("9999999999999999", "x", "300000000000000003")),
        Entity::Account,
    );
    assert_not_found(s.get_role(ACCT, "nope"), Entity::Role);

    let mut linked = role(ACCT, "svc", "300000000000000004");
    linked.service_linked = true;
    s.create_role(&linked).unwrap();
    assert!(s.get_role(ACCT, "svc").unwrap().service_linked);

    let u = s
        .update_role(
            ACCT,
            "deployer",
            &RoleUpdate {
                new_trust_policy: Some("{}".into()),
                new_description: None,
                new_max_session_duration: Some(7200),
            },
            NOW + 3,
        )
        .unwrap();
    assert_eq!(
        (
            u.trust_policy.as_str(),
            u.description.as_str(),
            u.max_session_duration
        ),
        ("{}", "a role", 7200)
    );
    assert_eq!(
        (u.role_name.as_str(), u.arn.as_str(), u.updated_at),
        ("Deployer", r.arn.as_str(), NOW + 3)
    );
    assert_eq!(s.get_role(ACCT, "Deployer").unwrap(), u);
    let u2 = s
        .update_role(
            ACCT,
            "deployer",
            &RoleUpdate {
                new_description: Some("new".into()),
                ..Default::default()
            },
            NOW + 4,
        )
        .unwrap();
    assert_eq!(
        (u2.description.as_str(), u2.trust_policy.as_str()),
        ("new", "{}")
    );
    assert_not_found(
        s.update_role(ACCT, "nope", &RoleUpdate::default(), NOW),
        Entity::Role,
    );

    let p = PrincipalRef::Role("deployer".into());
    s.attach_policy(&attachment(
        ACCT,
        p.clone(),
        PolicyType::System,
        "AdministratorAccess",
    ))
    .unwrap();
    assert_conflict(s.delete_role(ACCT, "deployer"), Conflict::RoleHasPolicies);
    s.detach_policy(ACCT, &p, PolicyType::System, "AdministratorAccess")
        .unwrap();
    s.delete_role(ACCT, "DEPLOYER").unwrap();
    assert_not_found(s.get_role(ACCT, "deployer"), Entity::Role);
    assert_not_found(s.delete_role(ACCT, "deployer"), Entity::Role);
}

pub fn roles_list_pages(s: &dyn Store) {
    seed(s);
    for i in 0..7 {
        s.create_role(&role(ACCT, &format!("role-{i}"), &format!("3{i:018}")))
            .unwrap();
    }
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let p = s.list_roles(ACCT, &page(marker, 3)).unwrap();
        assert!(p.items.len() <= 3);
        names.extend(p.items.into_iter().map(|r| r.role_name));
        match p.next_marker {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    assert_eq!(
        names,
        (0..7).map(|i| format!("role-{i}")).collect::<Vec<_>>()
    );
    assert!(s
        .list_roles(OTHER, &page(None, 10))
        .unwrap()
        .items
        .is_empty());
    assert_not_found(
        s.list_roles("9999999999999999", &page(None, 10)),
        Entity::Account,
    );
}

// -- policies and versions

const DOC1: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:Get*","Resource":"*"}]}"#;

fn doc(n: u32) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"ecs:Describe{n}","Resource":"*"}}]}}"#
    )
}

pub fn policies_create_get_list_delete(s: &dyn Store) {
    seed(s);
    let p = s.create_policy(&new_policy(ACCT, "ReadOss", DOC1)).unwrap();
    assert_eq!(
        p,
        CustomPolicy {
            account_id: ACCT.into(),
            policy_name: "ReadOss".into(),
            description: "ReadOss description".into(),
            default_version: "v1".into(),
            document: DOC1.into(),
            attachment_count: 0,
            created_at: NOW,
            updated_at: NOW,
        }
    );
    assert_eq!(s.get_policy(ACCT, "readoss").unwrap(), p);
    assert_exists(
        s.create_policy(&new_policy(ACCT, "READOSS", DOC1)),
        Entity::Policy,
    );
    assert_not_found(
        s.create_policy(&new_policy("9999999999999999", "x", DOC1)),
        Entity::Account,
    );
    assert_not_found(s.get_policy(ACCT, "nope"), Entity::Policy);
    assert_not_found(s.get_policy(OTHER, "ReadOss"), Entity::Policy);

    s.create_policy(&new_policy(ACCT, "alpha", DOC1)).unwrap();
    s.create_policy(&new_policy(ACCT, "Zeta", DOC1)).unwrap();
    let p1 = s.list_policies(ACCT, &page(None, 2)).unwrap();
    assert_eq!(
        p1.items
            .iter()
            .map(|p| p.policy_name.as_str())
            .collect::<Vec<_>>(),
        ["alpha", "ReadOss"]
    );
    let p2 = s.list_policies(ACCT, &page(p1.next_marker, 2)).unwrap();
    assert_eq!(
        p2.items
            .iter()
            .map(|p| p.policy_name.as_str())
            .collect::<Vec<_>>(),
        ["Zeta"]
    );
    assert_eq!(p2.next_marker, None);
    assert_not_found(
        s.list_policies("9999999999999999", &page(None, 2)),
        Entity::Account,
    );

    s.delete_policy(ACCT, "readOSS").unwrap();
    assert_not_found(s.get_policy(ACCT, "ReadOss"), Entity::Policy);
    assert_not_found(s.delete_policy(ACCT, "ReadOss"), Entity::Policy);
    // The name is free again and numbering starts over.
    let again = s
        .create_policy(&new_policy(ACCT, "ReadOss", &doc(9)))
        .unwrap();
    assert_eq!(
        (again.default_version.as_str(), again.document.as_str()),
        ("v1", doc(9).as_str())
    );
    assert_eq!(s.list_policy_versions(ACCT, "ReadOss").unwrap().len(), 1);
}

pub fn policy_delete_conflicts(s: &dyn Store) {
    seed(s);
    s.create_policy(&new_policy(ACCT, "p", DOC1)).unwrap();
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
    let alice = PrincipalRef::User("alice".into());
    s.attach_policy(&attachment(ACCT, alice.clone(), PolicyType::Custom, "p"))
        .unwrap();
    s.create_policy_version(ACCT, "p", &doc(2), false, false, NOW)
        .unwrap();
    assert_conflict(s.delete_policy(ACCT, "p"), Conflict::PolicyAttached);
    s.detach_policy(ACCT, &alice, PolicyType::Custom, "P")
        .unwrap();
    assert_conflict(s.delete_policy(ACCT, "p"), Conflict::PolicyHasVersions);
    s.delete_policy_version(ACCT, "p", "v2").unwrap();
    s.delete_policy(ACCT, "p").unwrap();
}

pub fn policy_versions_numbering_default_and_listing(s: &dyn Store) {
    seed(s);
    s.create_policy(&new_policy(ACCT, "p", DOC1)).unwrap();
    let v2 = s
        .create_policy_version(ACCT, "P", &doc(2), false, false, NOW + 1)
        .unwrap();
    assert_eq!(
        v2,
        PolicyVersion {
            version_id: "v2".into(),
            document: doc(2),
            is_default: false,
            created_at: NOW + 1
        }
    );
    assert_eq!(s.get_policy(ACCT, "p").unwrap().default_version, "v1");
    let v3 = s
        .create_policy_version(ACCT, "p", &doc(3), true, false, NOW + 2)
        .unwrap();
    assert!(v3.is_default);
    let p = s.get_policy(ACCT, "p").unwrap();
    assert_eq!(
        (
            p.default_version.as_str(),
            p.document.as_str(),
            p.updated_at
        ),
        ("v3", doc(3).as_str(), NOW + 2)
    );

    let listed = s.list_policy_versions(ACCT, "p").unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|v| (v.version_id.as_str(), v.is_default))
            .collect::<Vec<_>>(),
        [("v1", false), ("v2", false), ("v3", true)]
    );
    assert_eq!(listed[0].document, DOC1);
    assert_eq!(s.get_policy_version(ACCT, "p", "v2").unwrap(), v2);
    assert_eq!(s.get_policy_version(ACCT, "p", "v3").unwrap(), v3);
    for bad in ["v4", "v0", "v01", "V2", "2", ""] {
        assert_not_found(s.get_policy_version(ACCT, "p", bad), Entity::PolicyVersion);
    }
    assert_not_found(s.get_policy_version(ACCT, "nope", "v1"), Entity::Policy);
    assert_not_found(s.list_policy_versions(ACCT, "nope"), Entity::Policy);
    assert_not_found(
        s.create_policy_version(ACCT, "nope", DOC1, false, false, NOW),
        Entity::Policy,
    );

    // set default
    s.set_default_policy_version(ACCT, "p", "v1", NOW + 9)
        .unwrap();
    let p = s.get_policy(ACCT, "p").unwrap();
    assert_eq!(
        (
            p.default_version.as_str(),
            p.document.as_str(),
            p.updated_at
        ),
        ("v1", DOC1, NOW + 9)
    );
    assert!(s.get_policy_version(ACCT, "p", "v1").unwrap().is_default);
    assert!(!s.get_policy_version(ACCT, "p", "v3").unwrap().is_default);
    assert_not_found(
        s.set_default_policy_version(ACCT, "p", "v7", NOW),
        Entity::PolicyVersion,
    );
    assert_not_found(
        s.set_default_policy_version(ACCT, "nope", "v1", NOW),
        Entity::Policy,
    );

    // delete versions
    assert_conflict(
        s.delete_policy_version(ACCT, "p", "v1"),
        Conflict::DefaultVersion,
    );
    s.delete_policy_version(ACCT, "p", "v3").unwrap();
    assert_not_found(
        s.delete_policy_version(ACCT, "p", "v3"),
        Entity::PolicyVersion,
    );
    assert_not_found(s.delete_policy_version(ACCT, "nope", "v1"), Entity::Policy);
    // Numbering continues from the highest version ever created.
    let v4 = s
        .create_policy_version(ACCT, "p", &doc(4), false, false, NOW)
        .unwrap();
    assert_eq!(v4.version_id, "v4");
}

pub fn policy_version_limit_and_rotation(s: &dyn Store) {
    seed(s);
    s.create_policy(&new_policy(ACCT, "p", DOC1)).unwrap();
    for n in 2..=5 {
        s.create_policy_version(ACCT, "p", &doc(n), n == 3, false, NOW)
            .unwrap();
    }
    assert_limit(
        s.create_policy_version(ACCT, "p", &doc(6), false, false, NOW),
        Limit::PolicyVersions,
    );
    assert_eq!(
        s.list_policy_versions(ACCT, "p").unwrap().len(),
        5,
        "a refused create left nothing"
    );

    // Rotation deletes the oldest non-default version (v1; the default is v3).
    let v6 = s
        .create_policy_version(ACCT, "p", &doc(6), false, true, NOW)
        .unwrap();
    assert_eq!(v6.version_id, "v6");
    let ids = |s: &dyn Store| {
        s.list_policy_versions(ACCT, "p")
            .unwrap()
            .into_iter()
            .map(|v| v.version_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(s), ["v2", "v3", "v4", "v5", "v6"]);
    s.create_policy_version(ACCT, "p", &doc(7), false, true, NOW)
        .unwrap();
    assert_eq!(ids(s), ["v3", "v4", "v5", "v6", "v7"]);
    // The default (now the oldest) is kept; the next-oldest goes. A new default may be set.
    let v8 = s
        .create_policy_version(ACCT, "p", &doc(8), true, true, NOW)
        .unwrap();
    assert!(v8.is_default);
    assert_eq!(ids(s), ["v3", "v5", "v6", "v7", "v8"]);
    assert_eq!(s.get_policy(ACCT, "p").unwrap().default_version, "v8");
    // Below the limit, rotate deletes nothing.
    s.delete_policy_version(ACCT, "p", "v5").unwrap();
    s.create_policy_version(ACCT, "p", &doc(9), false, true, NOW)
        .unwrap();
    assert_eq!(ids(s), ["v3", "v6", "v7", "v8", "v9"]);
}

// -- attachments

pub fn attachments_list_documents_and_counts(s: &dyn Store) {
    seed(s);
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
    s.create_role(&role(ACCT, "deployer", "300000000000000001"))
        .unwrap();
    s.create_policy(&new_policy(ACCT, "CustomB", DOC1)).unwrap();
    s.create_policy(&new_policy(ACCT, "customA", &doc(1)))
        .unwrap();
    let alice = PrincipalRef::User("Alice".into());
    let deployer = PrincipalRef::Role("DEPLOYER".into());

    let mut a = attachment(ACCT, alice.clone(), PolicyType::Custom, "customb");
    a.attached_at = NOW + 1;
    s.attach_policy(&a).unwrap();
    s.attach_policy(&attachment(
        ACCT,
        alice.clone(),
        PolicyType::System,
        "AliyunOSSReadOnlyAccess",
    ))
    .unwrap();
    s.attach_policy(&attachment(
        ACCT,
        alice.clone(),
        PolicyType::Custom,
        "CustomA",
    ))
    .unwrap();
    s.attach_policy(&attachment(
        ACCT,
        deployer.clone(),
        PolicyType::Custom,
        "CustomB",
    ))
    .unwrap();

    let listed = s.list_attachments(ACCT, &alice).unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|a| (a.policy_type, a.policy_name.as_str()))
            .collect::<Vec<_>>(),
        [
            (PolicyType::Custom, "CustomB"),
            (PolicyType::System, "AliyunOSSReadOnlyAccess"),
            (PolicyType::Custom, "customA")
        ],
        "attach order, canonical custom names"
    );
    assert_eq!(listed[0].description, "CustomB description");
    assert_eq!(listed[0].default_version, "v1");
    assert_eq!(listed[0].attached_at, NOW + 1);
    assert_eq!(listed[0].principal, alice);
    assert_eq!(
        (
            listed[1].description.as_str(),
            listed[1].default_version.as_str()
        ),
        ("", "")
    );

    assert_eq!(s.get_policy(ACCT, "customb").unwrap().attachment_count, 2);
    assert_eq!(s.get_policy(ACCT, "customa").unwrap().attachment_count, 1);
    let page = s.list_policies(ACCT, &page(None, 10)).unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|p| p.attachment_count)
            .collect::<Vec<_>>(),
        [1, 2]
    );

    let docs = s.attached_documents(ACCT, &alice).unwrap();
    assert_eq!(
        docs,
        [
            AttachedDocument {
                policy_type: PolicyType::Custom,
                policy_name: "CustomB".into(),
                document: DOC1.into()
            },
            AttachedDocument {
                policy_type: PolicyType::System,
                policy_name: "AliyunOSSReadOnlyAccess".into(),
                document: String::new()
            },
            AttachedDocument {
                policy_type: PolicyType::Custom,
                policy_name: "customA".into(),
                document: doc(1)
            },
        ]
    );
    // Documents follow the default version.
    s.create_policy_version(ACCT, "CustomB", &doc(2), true, false, NOW)
        .unwrap();
    assert_eq!(
        s.attached_documents(ACCT, &deployer).unwrap()[0].document,
        doc(2)
    );
    assert_eq!(
        s.list_attachments(ACCT, &deployer).unwrap()[0].default_version,
        "v2"
    );

    assert_not_found(
        s.list_attachments(ACCT, &PrincipalRef::User("ghost".into())),
        Entity::User,
    );
    assert_not_found(
        s.attached_documents(ACCT, &PrincipalRef::Role("ghost".into())),
        Entity::Role,
    );
    assert!(
        s.attached_documents(ACCT, &PrincipalRef::Role("deployer".into()))
            .unwrap()
            .len()
            == 1
    );
}

pub fn attach_not_found_and_duplicates(s: &dyn Store) {
    seed(s);
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
    s.create_policy(&new_policy(OTHER, "theirs", DOC1)).unwrap();
    s.create_policy(&new_policy(ACCT, "mine", DOC1)).unwrap();
    let alice = PrincipalRef::User("alice".into());
    assert_not_found(
        s.attach_policy(&attachment(
            ACCT,
            PrincipalRef::User("ghost".into()),
            PolicyType::System,
            "X",
        )),
        Entity::User,
    );
    assert_not_found(
        s.attach_policy(&attachment(
            ACCT,
            PrincipalRef::Role("ghost".into()),
            PolicyType::System,
            "X",
        )),
        Entity::Role,
    );
    assert_not_found(
        s.attach_policy(&attachment(
            ACCT,
            alice.clone(),
            PolicyType::Custom,
            "theirs",
        )),
        Entity::Policy,
    );
    s.attach_policy(&attachment(ACCT, alice.clone(), PolicyType::Custom, "mine"))
        .unwrap();
    assert_exists(
        s.attach_policy(&attachment(ACCT, alice.clone(), PolicyType::Custom, "MINE")),
        Entity::Attachment,
    );
    s.attach_policy(&attachment(
        ACCT,
        alice.clone(),
        PolicyType::System,
        "AdministratorAccess",
    ))
    .unwrap();
    assert_exists(
        s.attach_policy(&attachment(
            ACCT,
            alice.clone(),
            PolicyType::System,
            "administratoraccess",
        )),
        Entity::Attachment,
    );
    // A system policy may share a custom policy's name; they are different policies.
    s.attach_policy(&attachment(ACCT, alice.clone(), PolicyType::System, "mine"))
        .unwrap();
    assert_eq!(s.list_attachments(ACCT, &alice).unwrap().len(), 3);
}

pub fn attach_limits_per_principal(s: &dyn Store) {
    seed(s);
    s.create_role(&role(ACCT, "r", "300000000000000001"))
        .unwrap();
    s.create_role(&role(ACCT, "r2", "300000000000000002"))
        .unwrap();
    let r = PrincipalRef::Role("r".into());
    for i in 0..6 {
        s.create_policy(&new_policy(ACCT, &format!("c{i}"), DOC1))
            .unwrap();
    }
    for i in 0..5 {
        s.attach_policy(&attachment(
            ACCT,
            r.clone(),
            PolicyType::Custom,
            &format!("c{i}"),
        ))
        .unwrap();
    }
    assert_limit(
        s.attach_policy(&attachment(ACCT, r.clone(), PolicyType::Custom, "c5")),
        Limit::PoliciesPerPrincipal,
    );
    // System attachments have their own 20.
    for i in 0..20 {
        s.attach_policy(&attachment(
            ACCT,
            r.clone(),
            PolicyType::System,
            &format!("Sys{i}"),
        ))
        .unwrap();
    }
    assert_limit(
        s.attach_policy(&attachment(ACCT, r.clone(), PolicyType::System, "Sys20")),
        Limit::PoliciesPerPrincipal,
    );
    assert_eq!(s.list_attachments(ACCT, &r).unwrap().len(), 25);
    // Another principal is not affected; detaching frees a slot.
    s.attach_policy(&attachment(
        ACCT,
        PrincipalRef::Role("r2".into()),
        PolicyType::Custom,
        "c5",
    ))
    .unwrap();
    s.detach_policy(ACCT, &r, PolicyType::Custom, "c0").unwrap();
    s.attach_policy(&attachment(ACCT, r.clone(), PolicyType::Custom, "c5"))
        .unwrap();
}

pub fn detach_paths(s: &dyn Store) {
    seed(s);
    s.create_user(&user(ACCT, "alice", "u1")).unwrap();
    s.create_policy(&new_policy(ACCT, "mine", DOC1)).unwrap();
    let alice = PrincipalRef::User("alice".into());
    assert_not_found(
        s.detach_policy(ACCT, &alice, PolicyType::Custom, "mine"),
        Entity::Attachment,
    );
    assert_not_found(
        s.detach_policy(ACCT, &alice, PolicyType::System, "X"),
        Entity::Attachment,
    );
    assert_not_found(
        s.detach_policy(ACCT, &alice, PolicyType::Custom, "nope"),
        Entity::Policy,
    );
    assert_not_found(
        s.detach_policy(
            ACCT,
            &PrincipalRef::User("ghost".into()),
            PolicyType::System,
            "X",
        ),
        Entity::User,
    );
    assert_not_found(
        s.detach_policy(
            ACCT,
            &PrincipalRef::Role("ghost".into()),
            PolicyType::System,
            "X",
        ),
        Entity::Role,
    );
    s.attach_policy(&attachment(ACCT, alice.clone(), PolicyType::Custom, "mine"))
        .unwrap();
    s.attach_policy(&attachment(ACCT, alice.clone(), PolicyType::System, "mine"))
        .unwrap();
    // Detaching the system one leaves the custom one of the same name.
    s.detach_policy(ACCT, &alice, PolicyType::System, "MINE")
        .unwrap();
    let left = s.list_attachments(ACCT, &alice).unwrap();
    assert_eq!(
        left.iter().map(|a| a.policy_type).collect::<Vec<_>>(),
        [PolicyType::Custom]
    );
    s.detach_policy(ACCT, &alice, PolicyType::Custom, "Mine")
        .unwrap();
    assert!(s.list_attachments(ACCT, &alice).unwrap().is_empty());
    assert_eq!(s.get_policy(ACCT, "mine").unwrap().attachment_count, 0);
}

// -- audit and metadata

pub fn audit_append_and_recent(s: &dyn Store) {
    seed(s);
    assert!(s.recent_audit(10).unwrap().is_empty());
    s.append_audit(&[]).unwrap();
    s.append_audit(&(0..3).map(audit).collect::<Vec<_>>())
        .unwrap();
    s.append_audit(&[audit(3)]).unwrap();
    let recent = s.recent_audit(2).unwrap();
    assert_eq!(recent, vec![audit(3), audit(2)], "newest first");
    assert_eq!(s.recent_audit(100).unwrap().len(), 4);
    assert!(s.recent_audit(0).unwrap().is_empty());
}

pub fn meta_get_put(s: &dyn Store) {
    seed(s);
    assert_eq!(s.get_meta("sts.keyring").unwrap(), None);
    s.put_meta("sts.keyring", b"one").unwrap();
    assert_eq!(
        s.get_meta("sts.keyring").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    s.put_meta("sts.keyring", &[0, 255, 1]).unwrap();
    assert_eq!(s.get_meta("sts.keyring").unwrap(), Some(vec![0, 255, 1]));
    s.put_meta("other", b"").unwrap();
    assert_eq!(s.get_meta("other").unwrap(), Some(vec![]));
    assert_eq!(s.get_meta("sts.keyring").unwrap(), Some(vec![0, 255, 1]));
}

// -- records, events

pub fn records_and_events(s: &dyn Store) {
    s.create_record("svc", "a/1", "{\"x\":1}", 10).unwrap();
    assert!(matches!(
        s.create_record("svc", "a/1", "{}", 11),
        Err(StoreError::AlreadyExists(..))
    ));
    s.put_record("svc", "a/2", "{\"x\":2}", 12).unwrap();
    s.put_record("svc", "a/2", "{\"x\":3}", 13).unwrap();
    s.put_record("other", "a/3", "{}", 13).unwrap();
    assert_eq!(
        s.get_record("svc", "a/2").unwrap().as_deref(),
        Some("{\"x\":3}")
    );
    let keys: Vec<String> = s
        .list_records("svc", "a/")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec!["a/1", "a/2"]);
    assert!(s.delete_record("svc", "a/1").unwrap());
    assert!(!s.delete_record("svc", "a/1").unwrap());
    let e = |r: &str| Event {
        time: 1,
        kind: "Normal".into(),
        reason: r.into(),
        message: "m".into(),
    };
    s.append_event("svc/a", &e("one")).unwrap();
    s.append_event("svc/a", &e("two")).unwrap();
    s.append_event("svc/b", &e("three")).unwrap();
    let got: Vec<String> = s
        .list_events("svc/a")
        .unwrap()
        .into_iter()
        .map(|e| e.reason)
        .collect();
    assert_eq!(got, vec!["one", "two"]);
    s.delete_events("svc/a").unwrap();
    assert!(s.list_events("svc/a").unwrap().is_empty());
    assert_eq!(s.list_events("svc/b").unwrap().len(), 1);
}

// -- quotas at their real values

pub fn at_most_1000_users_per_account(s: &dyn Store) {
    seed(s);
    for i in 0..1000 {
        s.create_user(&user(ACCT, &format!("user-{i}"), &format!("u{i}")))
            .unwrap();
    }
    assert_limit(
        s.create_user(&user(ACCT, "one-more", "u-extra")),
        Limit::Users,
    );
    s.create_user(&user(OTHER, "one-more", "u-extra")).unwrap();
    s.delete_user(ACCT, "user-0").unwrap();
    s.create_user(&user(ACCT, "one-more", "u-extra2")).unwrap();
    // Paging walks all of them.
    let mut seen = 0;
    let mut marker = None;
    loop {
        let p = s.list_users(ACCT, &page(marker, 1000)).unwrap();
        seen += p.items.len();
        match p.next_marker {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    assert_eq!(seen, 1000);
}

pub fn at_most_1000_roles_per_account(s: &dyn Store) {
    seed(s);
    for i in 0..1000 {
        s.create_role(&role(ACCT, &format!("role-{i}"), &format!("3{i:018}")))
            .unwrap();
    }
    assert_limit(
        s.create_role(&role(ACCT, "one-more", "4000000000000000000")),
        Limit::Roles,
    );
    s.create_role(&role(OTHER, "one-more", "4000000000000000000"))
        .unwrap();
    let p = s.list_roles(ACCT, &page(None, 5000)).unwrap();
    assert_eq!(p.items.len(), 1000, "max_items is capped at 1000");
    assert_eq!(p.next_marker, None);
}

pub fn at_most_1500_policies_per_account(s: &dyn Store) {
    seed(s);
    for i in 0..1500 {
        s.create_policy(&new_policy(ACCT, &format!("policy-{i}"), "{}"))
            .unwrap();
    }
    assert_limit(
        s.create_policy(&new_policy(ACCT, "one-more", "{}")),
        Limit::Policies,
    );
    s.create_policy(&new_policy(OTHER, "one-more", "{}"))
        .unwrap();
    let p = s.list_policies(ACCT, &page(None, 1000)).unwrap();
    assert_eq!(p.items.len(), 1000);
    let rest = s.list_policies(ACCT, &page(p.next_marker, 1000)).unwrap();
    assert_eq!((rest.items.len(), rest.next_marker), (500, None));
}

pub fn records_keys_are_exact(s: &dyn Store) {
    assert_eq!(s.get_record("svc", "missing").unwrap(), None);
    assert!(s.list_records("svc", "").unwrap().is_empty());
    // Kinds are separate namespaces.
    s.create_record("svc", "k", "1", NOW).unwrap();
    s.create_record("job", "k", "2", NOW).unwrap();
    assert_eq!(s.get_record("svc", "k").unwrap().as_deref(), Some("1"));
    assert_eq!(s.get_record("job", "k").unwrap().as_deref(), Some("2"));
    // Keys compare exactly: case, and no pattern characters.
    assert_eq!(s.get_record("svc", "K").unwrap(), None);
    s.create_record("svc", "K", "3", NOW).unwrap();
    for key in ["a%b", "a_b", "axb", "a/b", "a"] {
        s.put_record("svc", key, key, NOW).unwrap();
    }
    let keys = |prefix: &str| -> Vec<String> {
        s.list_records("svc", prefix)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    assert_eq!(keys("a%"), ["a%b"]);
    assert_eq!(keys("a_"), ["a_b"]);
    assert_eq!(
        keys("a"),
        ["a", "a%b", "a/b", "a_b", "axb"],
        "ordered by key"
    );
    assert_eq!(keys(""), ["K", "a", "a%b", "a/b", "a_b", "axb", "k"]);
    assert_eq!(
        s.list_records("svc", "a/").unwrap(),
        vec![("a/b".to_owned(), "a/b".to_owned())],
        "values come with their keys"
    );
    // put replaces, create refuses.
    s.put_record("svc", "k", "4", NOW + 1).unwrap();
    assert_eq!(s.get_record("svc", "k").unwrap().as_deref(), Some("4"));
    assert_exists(s.create_record("svc", "k", "5", NOW), Entity::Record);
    assert_eq!(s.get_record("svc", "k").unwrap().as_deref(), Some("4"));
    // delete is per kind.
    assert!(s.delete_record("job", "k").unwrap());
    assert!(!s.delete_record("job", "k").unwrap());
    assert_eq!(s.get_record("svc", "k").unwrap().as_deref(), Some("4"));
    s.create_record("job", "k", "6", NOW).unwrap();
}

pub fn events_are_per_stream_and_in_order(s: &dyn Store) {
    assert!(s.list_events("none").unwrap().is_empty());
    s.delete_events("none").unwrap();
    let e = |i: i64| Event {
        time: 100 - i,
        kind: if i % 2 == 0 { "Normal" } else { "Warning" }.into(),
        reason: format!("r{i}"),
        message: format!("m{i}"),
    };
    for i in 0..12 {
        s.append_event(if i % 3 == 0 { "b" } else { "a" }, &e(i))
            .unwrap();
    }
    let a: Vec<Event> = (0..12).filter(|i| i % 3 != 0).map(e).collect();
    let b: Vec<Event> = (0..12).filter(|i| i % 3 == 0).map(e).collect();
    assert_eq!(
        s.list_events("a").unwrap(),
        a,
        "append order, not time order"
    );
    assert_eq!(s.list_events("b").unwrap(), b);
    s.delete_events("a").unwrap();
    assert!(s.list_events("a").unwrap().is_empty());
    assert_eq!(s.list_events("b").unwrap(), b);
    s.append_event("a", &e(99)).unwrap();
    assert_eq!(s.list_events("a").unwrap(), vec![e(99)]);
}
