//! `open` on a typical token: the hot path of every request signed with STS credentials.
//!
//! Note: with rustc ≥ 1.87 the AVX2 intrinsics in `poly1305` 0.8 / `chacha20` 0.9 are not
//! inlined (rust-lang/rust#151941), which makes their runtime-detected AVX2 backends slower than
//! the portable ones for short messages. Building with
//! `--cfg poly1305_force_soft --cfg chacha20_force_soft` roughly halves `open`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use keyless_token::{
    new_sts_access_key, open, seal, KeyRing, PrincipalKind, SessionClaims,
    STS_ACCESS_KEY_RANDOM_LEN,
};

const NOW: i64 = 1_700_000_000;

fn typical(session_policy: Option<String>) -> SessionClaims {
    let (access_key_id, access_key_secret) = new_sts_access_key(&[7; STS_ACCESS_KEY_RANDOM_LEN]);
    SessionClaims {
        account_id: "1234567890123456".into(),
        role_arn: "acs:ram::1234567890123456:role/ecs-worker".into(),
        role_id: "300800000000000001".into(),
        role_name: "ecs-worker".into(),
        session_name: "build-42".into(),
        issued_at: NOW,
        expires_at: NOW + 3600,
        session_policy,
        access_key_id,
        access_key_secret,
        principal_kind: PrincipalKind::AssumedRole,
        source: Some("acs:ram::1234567890123456:user/alice".into()),
    }
}

fn bench_open(c: &mut Criterion) {
    let mut ring = KeyRing::new([1; 32], 0);
    // A ring mid-rotation: the token's key is not the only one.
    ring.rotate_if_due(NOW - 100, 86_400, 43_200, [2; 32]);
    let policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:GetObject","oss:PutObject"],"Resource":["acs:oss:*:*:build-artifacts/*"]}]}"#;
    for (name, claims) in [
        ("open/typical", typical(None)),
        ("open/with_policy", typical(Some(policy.to_owned()))),
    ] {
        let token = seal(&ring, &claims, [3; 24]).unwrap_or_default();
        assert!(open(&ring, &token, NOW).is_ok(), "{name}");
        c.bench_function(&format!("{name} ({} chars)", token.len()), |b| {
            b.iter(|| open(black_box(&ring), black_box(&token), black_box(NOW)))
        });
    }
}

criterion_group!(benches, bench_open);
criterion_main!(benches);
