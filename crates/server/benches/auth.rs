//! Token open + signature check for one STS-signed V3 request (the per-request cost of
//! authenticating a session caller without a database read). Reference in the same run: the
//! signature check alone with a long-term key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use keyless_secret::SecretString;
use keyless_sign::{acs3, RequestParts};
use keyless_token::{KeyRing, PrincipalKind, SessionClaims};

fn request(
    akid: &str,
    secret: &SecretString,
    token: Option<&str>,
) -> (Vec<(String, String)>, String) {
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), "127.0.0.1:18001".into()),
        ("x-acs-version".into(), "2015-04-01".into()),
        ("x-acs-action".into(), "GetCallerIdentity".into()),
        (
            "user-agent".into(),
            "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2".into(),
        ),
        ("x-acs-date".into(), "2026-11-28T05:00:00Z".into()),
        (
            "x-acs-signature-nonce".into(),
            "2b823d578f35c03b9a750eac12e8493f".into(),
        ),
        ("accept".into(), "application/json".into()),
        ("x-acs-content-sha256".into(), acs3::hashed_payload(b"")),
    ];
    if let Some(t) = token {
        headers.push(("x-acs-accesskey-id".into(), akid.into()));
        headers.push(("x-acs-security-token".into(), t.into()));
    }
    let parts = RequestParts {
        method: "POST",
        raw_path: "/",
        raw_query: "",
        headers: &headers,
    };
    let auth = acs3::sign_request(&parts, akid, secret).unwrap();
    (headers, auth)
}

fn bench(c: &mut Criterion) {
    let now = 1_795_840_000;
    let ring = KeyRing::new([7u8; 32], now);
    let (akid, secret) =
        keyless_token::new_sts_access_key(&[9u8; keyless_token::STS_ACCESS_KEY_RANDOM_LEN]);
    let claims = SessionClaims {
        account_id: "1234567890123456".into(),
        role_arn: "acs:ram::1234567890123456:role/eas-demo-role".into(),
        role_id: "3001234567890123456".into(),
        role_name: "eas-demo-role".into(),
        session_name: "eas-instance-0".into(),
        issued_at: now,
        expires_at: now + 3600,
        session_policy: None,
        access_key_id: akid.clone(),
        access_key_secret: secret.clone(),
        principal_kind: PrincipalKind::AssumedRole,
        source: Some("service:eas.pai.aliyuncs.com".into()),
    };
    let token = keyless_token::seal(&ring, &claims, [3u8; 24]).unwrap();
    let (headers, auth_header) = request(&akid, &secret, Some(&token));
    let hash = acs3::hashed_payload(b"");

    c.bench_function("sts_token_open_and_v3_verify", |b| {
        b.iter(|| {
            let parts = RequestParts {
                method: "POST",
                raw_path: "/",
                raw_query: "",
                headers: &headers,
            };
            let auth = acs3::parse_authorization(black_box(&auth_header)).unwrap();
            let tok = headers
                .iter()
                .find(|(k, _)| k == "x-acs-security-token")
                .map(|(_, v)| v.as_str())
                .unwrap();
            let claims =
                keyless_token::open_for_access_key(&ring, tok, auth.access_key_id(), now).unwrap();
            let v = acs3::verify(&parts, &hash, &auth, &claims.access_key_secret).unwrap();
            black_box(v);
        })
    });

    let long_secret = SecretString::from("pn6Ilc4i8KabfdofnjGwdk7TZgDe27");
    let (lheaders, lauth) = request("LTAIfjTVf4Lj0pBdaWJLdSDu", &long_secret, None);
    c.bench_function("v3_verify_only_long_term_key", |b| {
        b.iter(|| {
            let parts = RequestParts {
                method: "POST",
                raw_path: "/",
                raw_query: "",
                headers: &lheaders,
            };
            let auth = acs3::parse_authorization(black_box(&lauth)).unwrap();
            black_box(acs3::verify(&parts, &hash, &auth, &long_secret).unwrap());
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
