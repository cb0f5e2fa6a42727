//! Properties of the key mapping and of listings: any key stays inside its bucket and maps to a
//! path of its own; a listing equals a simple model over the sorted key set, for any prefix,
//! delimiter, marker and page size, and paging through it visits every key once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Read;

use keyless_objstore::*;
use proptest::prelude::*;

/// Pieces that stress the mapping: separators, dots, escapes, case, NUL, non-ASCII, and runs
/// around the 64-byte chunk size.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("ab".to_owned()),
        Just("/".to_owned()),
        Just("//".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("../".to_owned()),
        Just("!".to_owned()),
        Just("-".to_owned()),
        Just("0".to_owned()),
        Just("é".to_owned()),
        Just("文".to_owned()),
        Just("%2F".to_owned()),
        Just("A".to_owned()),
        Just("\0".to_owned()),
        Just("\\".to_owned()),
        Just("x".repeat(63)),
        Just("x".repeat(64)),
        Just("x".repeat(65)),
        Just("é".repeat(32)),
        Just("é".repeat(40)),
    ]
}

fn key() -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 1..6).prop_map(|p| p.concat())
}

fn any_key() -> impl Strategy<Value = String> {
    prop_oneof![key(), "\\PC{1,40}", "[/.\\\\\0a]{1,12}"]
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Key(String),
    Prefix(String),
}

/// What a listing must return, computed from the sorted key set.
fn model(keys: &BTreeSet<String>, req: &ListRequest) -> ListResult {
    let mut items: Vec<Item> = Vec::new();
    for k in keys {
        if !k.starts_with(&req.prefix) || k.as_str() <= req.marker.as_str() {
            continue;
        }
        let rest = &k[req.prefix.len()..];
        match (!req.delimiter.is_empty())
            .then(|| rest.find(&req.delimiter))
            .flatten()
        {
            Some(pos) => {
                let cp = k[..req.prefix.len() + pos + req.delimiter.len()].to_owned();
                if cp.as_str() <= req.marker.as_str()
                    || items.last() == Some(&Item::Prefix(cp.clone()))
                {
                    continue;
                }
                items.push(Item::Prefix(cp));
            }
            None => items.push(Item::Key(k.clone())),
        }
    }
    let mut out = ListResult::default();
    if req.max_keys == 0 {
        return out;
    }
    out.is_truncated = items.len() > req.max_keys;
    items.truncate(req.max_keys);
    if out.is_truncated {
        out.next_marker = items.last().map(|i| match i {
            Item::Key(k) | Item::Prefix(k) => k.clone(),
        });
    }
    for i in items {
        match i {
            Item::Key(k) => out.objects.push(ObjectMeta {
                key: k,
                size: 0,
                etag: String::new(),
                content_type: String::new(),
                last_modified_ms: 0,
                user_meta: Default::default(),
                kind: ObjectKind::Normal,
            }),
            Item::Prefix(p) => out.common_prefixes.push(p),
        }
    }
    out
}

fn keys_only(r: &ListResult) -> (Vec<String>, Vec<String>, bool, Option<String>) {
    (
        r.objects.iter().map(|m| m.key.clone()).collect(),
        r.common_prefixes.clone(),
        r.is_truncated,
        r.next_marker.clone(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_key_maps_inside_the_root_and_back(k in any_key()) {
        fuzz_key_to_path(k.as_bytes());
    }

    #[test]
    fn any_bytes_map_inside_the_root_and_back(b in proptest::collection::vec(any::<u8>(), 0..1100)) {
        fuzz_key_to_path(&b);
    }

    #[test]
    fn listings_match_the_model(
        keys in proptest::collection::btree_set(key().prop_filter("at most 1023 bytes", |k| k.len() <= 1023), 1..24),
        prefix_pick in any::<prop::sample::Index>(),
        prefix_len in 0usize..80,
        use_key_prefix: bool,
        fixed_prefix in prop::sample::select(vec!["", "a", "a/", "b", "x", "é", "/", ".", "zz"]),
        delimiter in prop::sample::select(vec!["", "/", "a", "é", "//", "x"]),
        marker_pick in any::<prop::sample::Index>(),
        marker_kind in 0u8..3,
        max_keys in 1usize..6,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let s = FsBackend::open(dir.path()).unwrap();
        s.create_bucket("bkt", "1", "r").unwrap();
        for k in &keys {
            let mut w = s.put_object("bkt", k).unwrap();
            w.write(k.as_bytes()).unwrap();
            w.commit(ObjectAttrs::default()).unwrap();
        }
        // Distinct keys never share a file: each reads back its own body.
        for k in &keys {
            let mut body = Vec::new();
            s.get_object("bkt", k, None).unwrap().body.read_to_end(&mut body).unwrap();
            prop_assert_eq!(body, k.as_bytes());
        }

        let sorted: Vec<&String> = keys.iter().collect();
        let prefix = if use_key_prefix {
            let k = prefix_pick.get(&sorted);
            let mut n = prefix_len.min(k.len());
            while !k.is_char_boundary(n) { n -= 1; }
            k[..n].to_owned()
        } else {
            fixed_prefix.to_owned()
        };
        let marker = match marker_kind {
            0 => String::new(),
            1 => (*marker_pick.get(&sorted)).clone(),
            _ => {
                let k = marker_pick.get(&sorted);
                let mut n = k.len() / 2;
                while !k.is_char_boundary(n) { n -= 1; }
                k[..n].to_owned()
            }
        };
        let req = ListRequest { prefix, delimiter: delimiter.to_owned(), marker, max_keys };
        let got = s.list_objects("bkt", &req).unwrap();
        prop_assert_eq!(keys_only(&got), keys_only(&model(&keys, &req)), "{:?}", req);
        for m in &got.objects {
            prop_assert_eq!(m.size, m.key.len() as u64);
        }

        // Paging from the start visits each key or common prefix exactly once, in order.
        let mut all = ListRequest { marker: String::new(), max_keys: 1000, ..req.clone() };
        let everything = model(&keys, &all);
        let (mut seen_keys, mut seen_prefixes) = (Vec::new(), Vec::new());
        all.max_keys = max_keys;
        loop {
            let page = s.list_objects("bkt", &all).unwrap();
            seen_keys.extend(page.objects.iter().map(|m| m.key.clone()));
            seen_prefixes.extend(page.common_prefixes.iter().cloned());
            match page.next_marker {
                Some(m) => all.marker = m,
                None => break,
            }
        }
        prop_assert_eq!(seen_keys, keys_only(&everything).0);
        prop_assert_eq!(seen_prefixes, everything.common_prefixes);
    }
}
