//! A property test of name-ordered paging. (The per-account count limits at their real values
//! are conformance cases: `keyless_store::conformance`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use keyless_store::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

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
