//! Public-API properties: seal then open roundtrips, any change fails, rotation keeps keys
//! exactly as long as tokens they sealed can be valid, and secrets never reach `Debug`.

use keyless_secret::SecretString;
use keyless_token::{
    new_sts_access_key, open, seal, KeyRing, PrincipalKind, SessionClaims, TokenError,
    STS_ACCESS_KEY_RANDOM_LEN,
};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;

fn claims_strategy() -> impl Strategy<Value = SessionClaims> {
    (
        (
            "\\PC{0,20}",
            "\\PC{0,80}",
            "\\PC{0,20}",
            "\\PC{0,64}",
            "\\PC{0,64}",
        ),
        (-1_000i64..100_000, proptest::option::of("\\PC{0,300}")),
        (
            "[A-Za-z0-9.]{0,40}",
            "[A-Za-z0-9]{0,40}",
            proptest::option::of("\\PC{0,80}"),
        ),
    )
        .prop_map(
            |(
                (account_id, role_arn, role_id, role_name, session_name),
                (lifetime, session_policy),
                (access_key_id, secret, source),
            )| SessionClaims {
                account_id,
                role_arn,
                role_id,
                role_name,
                session_name,
                issued_at: NOW,
                expires_at: NOW + lifetime,
                session_policy,
                access_key_id,
                access_key_secret: SecretString::new(secret),
                principal_kind: PrincipalKind::AssumedRole,
                source,
            },
        )
}

fn typical() -> SessionClaims {
    let (access_key_id, access_key_secret) = new_sts_access_key(&[7; STS_ACCESS_KEY_RANDOM_LEN]);
    SessionClaims {
        account_id: "1234567890123456".into(),
        role_arn: "acs:ram::1234567890123456:role/ecs-worker".into(),
        role_id: "300800000000000001".into(),
        role_name: "ecs-worker".into(),
        session_name: "build-42".into(),
        issued_at: NOW,
        expires_at: NOW + 3600,
        session_policy: None,
        access_key_id,
        access_key_secret,
        principal_kind: PrincipalKind::AssumedRole,
        source: Some("acs:ram::1234567890123456:user/alice".into()),
    }
}

fn is_rejection(e: &TokenError) -> bool {
    matches!(
        e,
        TokenError::Malformed { .. } | TokenError::UnknownKey { .. } | TokenError::Tampered
    )
}

proptest! {
    #[test]
    fn seal_then_open_roundtrips(
        claims in claims_strategy(),
        key in any::<[u8; 32]>(),
        nonce in any::<[u8; 24]>(),
    ) {
        let ring = KeyRing::new(key, 0);
        let token = seal(&ring, &claims, nonce).unwrap();
        match open(&ring, &token, NOW) {
            Ok(opened) => prop_assert_eq!(opened, claims),
            Err(TokenError::Expired { expired_at }) => {
                prop_assert_eq!(expired_at, claims.expires_at);
                prop_assert!(claims.expires_at <= NOW);
            }
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }

    #[test]
    fn any_changed_character_fails(
        index in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_=+/. -]|\\PC",
    ) {
        let ring = KeyRing::new([1; 32], 0);
        let token = seal(&ring, &typical(), [2; 24]).unwrap();
        let i = index.index(token.len());
        let mut changed = token.clone();
        changed.replace_range(i..=i, &replacement);
        prop_assume!(changed != token);
        let err = open(&ring, &changed, NOW).unwrap_err();
        prop_assert!(is_rejection(&err), "{err:?}");
    }

    #[test]
    fn any_flipped_bit_fails(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let ring = KeyRing::new([1; 32], 0);
        let token = seal(&ring, &typical(), [2; 24]).unwrap();
        let mut bytes = token.into_bytes();
        let i = index.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(changed) = String::from_utf8(bytes) {
            let err = open(&ring, &changed, NOW).unwrap_err();
            prop_assert!(is_rejection(&err), "{err:?}");
        }
    }

    #[test]
    fn truncated_or_extended_fails(cut in 0usize..400, extra in "[A-Za-z0-9_-]{1,8}") {
        let ring = KeyRing::new([1; 32], 0);
        let token = seal(&ring, &typical(), [2; 24]).unwrap();
        let cut = cut.min(token.len() - 1);
        prop_assert!(is_rejection(&open(&ring, &token[..cut], NOW).unwrap_err()));
        let longer = format!("{token}{extra}");
        prop_assert!(is_rejection(&open(&ring, &longer, NOW).unwrap_err()));
    }

    #[test]
    fn ring_without_the_key_says_unknown_key(
        sealing_key in any::<[u8; 32]>(),
        other_key in any::<[u8; 32]>(),
    ) {
        let mut sealer = KeyRing::new(sealing_key, 0);
        sealer.rotate_if_due(100, 1, 10, sealing_key);
        let token = seal(&sealer, &typical(), [2; 24]).unwrap();
        let other = KeyRing::new(other_key, 0);
        prop_assert_eq!(
            open(&other, &token, NOW).unwrap_err(),
            TokenError::UnknownKey { key_id: sealer.active().id() }
        );
    }

}

proptest! {
    // Each case runs up to 60 rotate/seal/open rounds; fewer cases keep debug builds quick.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Rotate and seal at random times: every token opens until it expires, and the ring never
    /// holds a key past the moment the last token it sealed expired.
    #[test]
    fn rotation_keeps_keys_exactly_as_long_as_needed(
        steps in proptest::collection::vec((1i64..20_000, 1i64..=43_200), 1..60),
        period in 1i64..50_000,
    ) {
        const MAX_LIFE: i64 = 43_200;
        let mut now = 0;
        let mut ring = KeyRing::new([0; 32], now);
        let mut issued: Vec<(String, i64)> = Vec::new();
        for (n, (gap, life)) in steps.into_iter().enumerate() {
            now += gap;
            ring.rotate_if_due(now, period, MAX_LIFE, [n as u8 + 1; 32]);
            let mut claims = typical();
            claims.issued_at = now;
            claims.expires_at = now + life;
            let token = seal(&ring, &claims, [n as u8; 24]).unwrap();
            issued.push((token, claims.expires_at));
            for (token, expires_at) in &issued {
                match open(&ring, token, now) {
                    Ok(_) => prop_assert!(now < *expires_at),
                    Err(TokenError::Expired { .. }) => prop_assert!(now >= *expires_at),
                    Err(TokenError::UnknownKey { .. }) => prop_assert!(now >= *expires_at),
                    Err(e) => prop_assert!(false, "unexpected {e:?}"),
                }
            }
            // A token that has failed once fails forever; stop checking it.
            issued.retain(|(_, expires_at)| now < *expires_at);
            let keys: Vec<_> = ring.keys().collect();
            for pair in keys.windows(2) {
                let retire = pair[0].retire_after();
                prop_assert!(retire.is_some());
                let retire = retire.unwrap_or_default();
                prop_assert!(retire >= now);
                // Kept no longer than the most any token it sealed could need.
                prop_assert!(retire <= pair[1].created_at() + MAX_LIFE);
            }
        }
    }
}

#[test]
fn debug_never_shows_the_secret() {
    let claims = typical();
    let secret = claims.access_key_secret.expose_secret().to_owned();
    assert!(!format!("{claims:?}").contains(&secret));
    assert!(!format!("{claims:#?}").contains(&secret));
    let ring = KeyRing::new([1; 32], 0);
    let token = seal(&ring, &claims, [2; 24]).unwrap();
    assert!(!token.contains(&secret));
    let opened = open(&ring, &token, NOW).unwrap();
    assert!(!format!("{opened:?}").contains(&secret));
    assert!(!format!("{:?}", open(&ring, &token, NOW + 3600)).contains(&secret));
}

#[test]
fn typical_token_size() {
    let ring = KeyRing::new([1; 32], 0);
    let token = seal(&ring, &typical(), [2; 24]).unwrap();
    println!("typical token: {} characters", token.len());
    assert!(token.len() < 450, "{}", token.len());
}

#[test]
fn persisted_ring_opens_the_same_tokens() {
    let mut ring = KeyRing::new([1; 32], 0);
    let old = seal(&ring, &typical(), [2; 24]).unwrap();
    ring.rotate_if_due(NOW - 10, 86_400, 43_200, [3; 32]);
    let new = seal(&ring, &typical(), [4; 24]).unwrap();
    let loaded = KeyRing::from_bytes(ring.to_bytes().expose_secret()).unwrap();
    assert_eq!(open(&loaded, &old, NOW).unwrap(), typical());
    assert_eq!(open(&loaded, &new, NOW).unwrap(), typical());
}
