//! The per-account count limits, exercised at their real values (1000 users, 1000 roles,
//! 1500 policies), and a property test of name-ordered paging.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use keyless_store::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[test]
fn at_most_1000_users_per_account() {
    let (_d, s) = store();
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

#[test]
fn at_most_1000_roles_per_account() {
    let (_d, s) = store();
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

#[test]
fn at_most_1500_policies_per_account() {
    let (_d, s) = store();
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Following markers yields every role exactly once, in case-insensitive name order, at most
    /// `max_items` at a time, with a marker exactly when more remain.
    #[test]
    fn paging_yields_each_item_once_in_order(
        names in proptest::collection::btree_set("[A-Za-z0-9][A-Za-z0-9.-]{0,10}", 0..25),
        max_items in 1usize..8,
    ) {
        let (_d, s) = store();
        // Drop names that collide case-insensitively; keep the first spelling.
        let mut unique = BTreeMap::new();
        for n in &names {
            unique.entry(n.to_lowercase()).or_insert_with(|| n.clone());
        }
        for (i, name) in unique.values().enumerate() {
            s.create_role(&role(ACCT, name, &format!("3{i:018}"))).unwrap();
        }
        let mut got = Vec::new();
        let mut marker = None;
        loop {
            let p = s.list_roles(ACCT, &page(marker, max_items)).unwrap();
            prop_assert!(p.items.len() <= max_items);
            got.extend(p.items.into_iter().map(|r| r.role_name));
            match p.next_marker {
                Some(m) => {
                    prop_assert!(got.len() < unique.len());
                    marker = Some(m);
                }
                None => break,
            }
        }
        prop_assert_eq!(got, unique.into_values().collect::<Vec<_>>());
    }
}
