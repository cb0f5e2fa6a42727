//! Algebraic facts: encoding round-trips; sign-then-verify succeeds for every dialect; changing any
//! byte of the signature, the secret or a signed value makes verification fail; no input panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_secret::SecretString;
use keyless_sign::{
    acs3, form_decode, format_http_date, format_iso8601_basic, format_timestamp, fuzz_verify_any,
    odps, oss_v1, oss_v4, percent_encode, roa_v2, rpc_v1, OssResource, RequestParts,
};
use proptest::prelude::*;

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8] = b"0123456789abcdef";

/// `s` with the character at `at % len` replaced by a different one from `alphabet`.
fn flip(s: &str, at: usize, alphabet: &[u8]) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = at % b.len();
    b[i] = *alphabet.iter().find(|&&c| c != b[i]).unwrap();
    String::from_utf8(b).unwrap()
}

fn flip_secret(s: &str, at: usize) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let i = at % chars.len();
    chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
}

fn params_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    // Keys are prefixed so they never collide with the signing parameters.
    proptest::collection::vec(("P[A-Za-z0-9.]{0,8}", "\\PC{0,16}"), 0..6)
}

fn v1_params(extra: &[(String, String)], ts: i64) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = [
        ("Action", "AssumeRole"),
        ("Version", "2015-04-01"),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "nonce-1"),
        ("AccessKeyId", "AK1"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    p.push(("Timestamp".to_owned(), format_timestamp(ts).unwrap()));
    p.extend_from_slice(extra);
    p
}

fn acs3_headers(ts: i64, extra: &[(String, String)], body: &[u8]) -> Vec<(String, String)> {
    let mut h = vec![
        ("host".to_owned(), "127.0.0.1:8080".to_owned()),
        ("x-acs-date".to_owned(), format_timestamp(ts).unwrap()),
        (
            "x-acs-content-sha256".to_owned(),
            acs3::hashed_payload(body),
        ),
        ("x-acs-signature-nonce".to_owned(), "n-1".to_owned()),
    ];
    h.extend_from_slice(extra);
    h
}

fn header_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(("x-acs-h[a-z0-9]{0,6}", "[!-~][ -~]{0,14}[!-~]"), 0..4).prop_map(
        |mut v| {
            v.sort();
            v.dedup_by(|a, b| a.0 == b.0);
            v
        },
    )
}

fn oss_headers_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(("x-oss-meta-[a-z0-9]{1,6}", "[!-~][ -~]{0,14}[!-~]"), 0..4).prop_map(
        |mut v| {
            v.sort();
            v.dedup_by(|a, b| a.0 == b.0);
            v
        },
    )
}

/// Any query: whitelisted sub-resources, listing parameters, and random names.
fn oss_query_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("uploadId".to_owned()),
        Just("partNumber".to_owned()),
        Just("acl".to_owned()),
        Just("response-content-type".to_owned()),
        Just("prefix".to_owned()),
        Just("max-keys".to_owned()),
        "q[a-z]{0,6}",
    ];
    proptest::collection::vec((name, "\\PC{0,12}"), 0..5).prop_map(|mut v| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|a, b| a.0 == b.0);
        v
    })
}

fn bucket_strategy() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9-]{1,20}[a-z0-9]"
}

proptest! {
    #[test]
    fn percent_encode_then_form_decode_round_trips(k in "\\PC{0,20}", v in "\\PC{0,20}") {
        let q = format!("{}={}", percent_encode(&k), percent_encode(&v));
        prop_assert_eq!(form_decode(&q).unwrap(), vec![(k, v)]);
    }

    #[test]
    fn percent_encode_output_is_unreserved_or_escapes(s in "\\PC{0,40}") {
        let e = percent_encode(&s);
        prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
    }

    #[test]
    fn rpc_v1_sign_then_verify(
        extra in params_strategy(),
        secret in "\\PC{1,16}",
        quote_plus: bool,
        post: bool,
        ts in 0i64..4_000_000_000,
        at in any::<usize>(),
    ) {
        let method = if post { "POST" } else { "GET" };
        let params = v1_params(&extra, ts);
        let sts = if quote_plus {
            rpc_v1::string_to_sign_quote_plus(method, &params)
        } else {
            rpc_v1::string_to_sign(method, &params)
        };
        let sig = rpc_v1::sign(&secret, &sts);
        let key = SecretString::new(secret.clone());
        let ok = rpc_v1::verify(method, &params, &key, &sig).unwrap();
        prop_assert_eq!(ok.access_key_id(), "AK1");
        prop_assert_eq!(ok.timestamp(), ts);
        let has_space = params.iter().any(|(k, v)| k.contains(' ') || v.contains(' '));
        let want = if quote_plus && has_space {
            rpc_v1::V1Variant::QuotePlus
        } else {
            rpc_v1::V1Variant::Standard
        };
        prop_assert_eq!(ok.variant(), want);

        let bad_sig = flip(&sig, at, B64);
        prop_assert!(rpc_v1::verify(method, &params, &key, &bad_sig).is_err());
        let bad_key = SecretString::new(flip_secret(&secret, at));
        prop_assert!(rpc_v1::verify(method, &params, &bad_key, &sig).is_err());
        let i = at % params.len();
        let mut changed = params.clone();
        changed[i].1.push('!');
        prop_assert!(rpc_v1::verify(method, &changed, &key, &sig).is_err());
    }

    #[test]
    fn acs3_sign_then_verify(
        query in params_strategy(),
        extra in header_strategy(),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        path in "(/[A-Za-z0-9%._~-]{0,10}){1,4}",
        secret in "\\PC{1,16}",
        ts in 0i64..4_000_000_000,
        at in any::<usize>(),
    ) {
        let headers = acs3_headers(ts, &extra, &body);
        let raw_query = acs3::encode_query(&query);
        let req = RequestParts { method: "POST", raw_path: &path, raw_query: &raw_query, headers: &headers };
        let key = SecretString::new(secret.clone());
        let auth_value = acs3::sign_request(&req, "AK1", &key).unwrap();
        let auth = acs3::parse_authorization(&auth_value).unwrap();
        let body_hash = acs3::hashed_payload(&body);
        let ok = acs3::verify(&req, &body_hash, &auth, &key).unwrap();
        prop_assert_eq!(ok.access_key_id(), "AK1");
        prop_assert_eq!(ok.date(), ts);

        let bad_sig = flip(auth.signature_hex(), at, HEX);
        let bad_auth = acs3::parse_authorization(&auth_value.replace(auth.signature_hex(), &bad_sig)).unwrap();
        prop_assert!(acs3::verify(&req, &body_hash, &bad_auth, &key).is_err());
        let bad_key = SecretString::new(flip_secret(&secret, at));
        prop_assert!(acs3::verify(&req, &body_hash, &auth, &bad_key).is_err());
        let mut bad_body = body.clone();
        bad_body.push(0);
        prop_assert!(acs3::verify(&req, &acs3::hashed_payload(&bad_body), &auth, &key).is_err());
        if !query.is_empty() {
            let mut changed = query.clone();
            changed[at % query.len()].1.push('!');
            let q = acs3::encode_query(&changed);
            let r = RequestParts { raw_query: &q, ..req };
            prop_assert!(acs3::verify(&r, &body_hash, &auth, &key).is_err());
        }
        let mut changed = headers.clone();
        let i = at % changed.len();
        changed[i].1.push('!');
        let r = RequestParts { headers: &changed, ..req };
        prop_assert!(acs3::verify(&r, &body_hash, &auth, &key).is_err());
    }

    #[test]
    fn roa_v2_sign_then_verify(
        query in params_strategy(),
        extra in header_strategy(),
        secret in "\\PC{1,16}",
        at in any::<usize>(),
    ) {
        let mut headers = vec![
            ("date".to_owned(), "Sat, 28 Nov 2026 04:56:15 GMT".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
            ("x-acs-signature-nonce".to_owned(), "n-1".to_owned()),
        ];
        headers.extend(extra);
        let raw_query = acs3::encode_query(&query);
        let req = RequestParts { method: "GET", raw_path: "/api/v2/services", raw_query: &raw_query, headers: &headers };
        let key = SecretString::new(secret.clone());
        let auth = roa_v2::parse_authorization(&roa_v2::sign_request(&req, "AK1", &key).unwrap()).unwrap();
        let ok = roa_v2::verify(&req, &auth, &key).unwrap();
        prop_assert_eq!(ok.access_key_id(), "AK1");

        let bad = roa_v2::parse_authorization(&format!("acs AK1:{}", flip(auth.signature_b64(), at, B64))).unwrap();
        prop_assert!(roa_v2::verify(&req, &bad, &key).is_err());
        let bad_key = SecretString::new(flip_secret(&secret, at));
        prop_assert!(roa_v2::verify(&req, &auth, &bad_key).is_err());
        let mut changed = headers.clone();
        let i = at % changed.len();
        changed[i].1.push('!');
        let r = RequestParts { headers: &changed, ..req };
        prop_assert!(roa_v2::verify(&r, &auth, &key).is_err());
    }

    #[test]
    fn oss_v1_sign_then_verify(
        query in oss_query_strategy(),
        extra in oss_headers_strategy(),
        bucket in bucket_strategy(),
        key in "\\PC{0,30}",
        secret in "\\PC{1,16}",
        ts in 0i64..4_000_000_000,
        token in proptest::option::of("[A-Za-z0-9+/=]{1,40}"),
        at in any::<usize>(),
    ) {
        let mut headers = vec![("date".to_owned(), format_http_date(ts).unwrap())];
        headers.extend(extra);
        if let Some(t) = &token {
            headers.push(("x-oss-security-token".to_owned(), t.clone()));
        }
        let raw_query = acs3::encode_query(&query);
        let req = RequestParts { method: "PUT", raw_path: "/ignored", raw_query: &raw_query, headers: &headers };
        let res = OssResource::object(&bucket, &key);
        let sk = SecretString::new(secret.clone());
        let value = oss_v1::sign_request(&req, &res, "AK1", &sk).unwrap();
        let auth = oss_v1::parse_authorization(&value).unwrap();
        let ok = oss_v1::verify(&req, &res, &auth, &sk).unwrap();
        prop_assert_eq!(ok.access_key_id(), "AK1");
        prop_assert_eq!(ok.date(), Some(ts));
        prop_assert_eq!(ok.security_token().map(|t| t.expose_secret().to_owned()), token.clone());

        let bad = oss_v1::parse_authorization(&format!("OSS AK1:{}", flip(auth.signature_b64(), at, B64)));
        if let Ok(bad) = bad {
            prop_assert!(oss_v1::verify(&req, &res, &bad, &sk).is_err());
        }
        let bad_key = SecretString::new(flip_secret(&secret, at));
        prop_assert!(oss_v1::verify(&req, &res, &auth, &bad_key).is_err());
        let other_key = format!("{key}!");
        prop_assert!(oss_v1::verify(&req, &OssResource::object(&bucket, &other_key), &auth, &sk).is_err());
        let mut changed = headers.clone();
        let i = at % changed.len();
        changed[i].1.push('!');
        let r = RequestParts { headers: &changed, ..req };
        prop_assert!(oss_v1::verify(&r, &res, &auth, &sk).is_err());
        if let Some(i) = query.iter().position(|(k, _)| oss_v1::SubresourceSet::All.contains(k)) {
            let mut changed = query.clone();
            changed[i].1.push('!');
            let q = acs3::encode_query(&changed);
            let r = RequestParts { raw_query: &q, ..req };
            prop_assert!(oss_v1::verify(&r, &res, &auth, &sk).is_err());
        }

        // Presigned, with the same inputs.
        let plain = RequestParts { headers: &[], ..req };
        let t = token.map(SecretString::new);
        let q = oss_v1::presign(&plain, &res, "AK1", &sk, ts, t.as_ref()).unwrap();
        let signed = RequestParts { raw_query: &q, ..plain };
        let p = oss_v1::parse_presigned(&q).unwrap().unwrap();
        prop_assert_eq!(oss_v1::verify_presigned(&signed, &res, &p, &sk).unwrap().expires(), Some(ts));
        prop_assert!(oss_v1::verify_presigned(&signed, &res, &p, &bad_key).is_err());
    }

    #[test]
    fn oss_v4_sign_then_verify(
        query in oss_query_strategy(),
        extra in oss_headers_strategy(),
        bucket in bucket_strategy(),
        key in "\\PC{0,30}",
        secret in "\\PC{1,16}",
        ts in 0i64..4_000_000_000,
        region in "[a-z]{2}-[a-z]{3,9}",
        with_range: bool,
        at in any::<usize>(),
    ) {
        let mut headers = vec![
            ("host".to_owned(), "127.0.0.1".to_owned()),
            ("x-oss-date".to_owned(), format_iso8601_basic(ts).unwrap()),
            ("x-oss-content-sha256".to_owned(), oss_v4::UNSIGNED_PAYLOAD.to_owned()),
        ];
        if with_range {
            headers.push(("range".to_owned(), "bytes=0-9".to_owned()));
        }
        headers.extend(extra);
        let raw_query = acs3::encode_query(&query);
        let req = RequestParts { method: "GET", raw_path: "/ignored", raw_query: &raw_query, headers: &headers };
        let res = OssResource::object(&bucket, &key);
        let sk = SecretString::new(secret.clone());
        let value = oss_v4::sign_request(&req, &res, "AK1", &sk, &region, &["range", "host"]).unwrap();
        let auth = oss_v4::parse_authorization(&value).unwrap();
        let ok = oss_v4::verify(&req, &res, &auth, &sk).unwrap();
        prop_assert_eq!(ok.access_key_id(), "AK1");
        prop_assert_eq!(ok.date(), ts);
        prop_assert_eq!(ok.region(), region.as_str());

        let bad = oss_v4::parse_authorization(&value.replace(auth.signature_hex(), &flip(auth.signature_hex(), at, HEX))).unwrap();
        prop_assert!(oss_v4::verify(&req, &res, &bad, &sk).is_err());
        let bad_key = SecretString::new(flip_secret(&secret, at));
        prop_assert!(oss_v4::verify(&req, &res, &auth, &bad_key).is_err());
        let other_key = format!("{key}!");
        prop_assert!(oss_v4::verify(&req, &OssResource::object(&bucket, &other_key), &auth, &sk).is_err());
        // Every header is signed here (host and range are additional headers).
        let mut changed = headers.clone();
        let i = at % changed.len();
        changed[i].1.push('!');
        let r = RequestParts { headers: &changed, ..req };
        prop_assert!(oss_v4::verify(&r, &res, &auth, &sk).is_err());
        if !query.is_empty() {
            let mut changed = query.clone();
            changed[at % query.len()].1.push('!');
            let q = acs3::encode_query(&changed);
            let r = RequestParts { raw_query: &q, ..req };
            prop_assert!(oss_v4::verify(&r, &res, &auth, &sk).is_err());
        }

        let plain = RequestParts { headers: &headers[..1], ..req };
        let q = oss_v4::presign(&plain, &res, "AK1", &sk, &region, ts, 900, None, &["host"]).unwrap();
        let signed = RequestParts { raw_query: &q, ..plain };
        let p = oss_v4::parse_presigned(&q).unwrap().unwrap();
        prop_assert_eq!(oss_v4::verify_presigned(&signed, &res, &p, &sk).unwrap().expires(), Some(ts + 900));
        prop_assert!(oss_v4::verify_presigned(&signed, &res, &p, &bad_key).is_err());
    }

    #[test]
    fn odps_sign_then_verify(
        query in params_strategy(),
        segment in "[A-Za-z0-9_ +é]{1,12}",
        secret in "\\PC{1,16}",
        ts in 0i64..4_000_000_000,
        v4: bool,
        at in any::<usize>(),
    ) {
        let headers = vec![
            ("date".to_owned(), format_http_date(ts).unwrap()),
            ("x-odps-user-agent".to_owned(), "pyodps".to_owned()),
            ("content-type".to_owned(), "application/xml".to_owned()),
        ];
        let raw_query = acs3::encode_query(&query);
        let path = format!("/projects/p/tables/{}", percent_encode(&segment));
        let req = RequestParts { method: "GET", raw_path: &path, raw_query: &raw_query, headers: &headers };
        let sk = SecretString::new(secret.clone());
        let scope = v4.then_some(odps::Scope { date: "20261128", region: "cn-hangzhou" });
        let value = odps::sign_request(&req, "AK1", &sk, scope).unwrap();
        let auth = odps::parse_authorization(&value).unwrap();
        let ok = odps::verify(&req, &auth, &sk).unwrap();
        prop_assert_eq!(ok.access_key_id(), "AK1");
        prop_assert_eq!(ok.date(), ts);
        prop_assert_eq!(ok.scope(), scope);

        let flipped = value.replace(auth.signature_b64(), &flip(auth.signature_b64(), at, B64));
        if let Ok(bad) = odps::parse_authorization(&flipped) {
            prop_assert!(odps::verify(&req, &bad, &sk).is_err());
        }
        let bad_key = SecretString::new(flip_secret(&secret, at));
        prop_assert!(odps::verify(&req, &auth, &bad_key).is_err());
        let mut changed = headers.clone();
        let i = at % changed.len();
        changed[i].1.push('1');
        let r = RequestParts { headers: &changed, ..req };
        prop_assert!(odps::verify(&r, &auth, &sk).is_err());
        let other = format!("{path}x");
        let r = RequestParts { raw_path: &other, ..req };
        prop_assert!(odps::verify(&r, &auth, &sk).is_err());
    }

    #[test]
    fn fuzz_entry_never_panics_on_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzz_verify_any(&data);
    }

    #[test]
    fn fuzz_entry_never_panics_on_structured_fields(
        fields in proptest::collection::vec(
            prop_oneof![
                "\\PC{0,40}",
                "[A-Za-z%=&+;:,\\n ]{0,40}",
                Just("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;x-acs-date,Signature=".to_owned()
                    + &"0".repeat(64)),
                Just("host: h\nx-acs-date: 2020-01-01T00:00:00Z\nx-acs-content-sha256: 00".to_owned()),
                Just("acs AK:AAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()),
                Just("OSS AK:AAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()),
                Just("OSS4-HMAC-SHA256 Credential=AK/20261128/cn-hangzhou/oss/aliyun_v4_request, \
                      AdditionalHeaders=host;range, Signature=".to_owned() + &"0".repeat(64)),
                Just("ODPS AK/20261128/cn-hangzhou/odps/aliyun_v4_request:AAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()),
                Just("date: Sat, 28 Nov 2026 05:14:07 GMT\nx-oss-date: 20261128T051407Z\n\
                      x-oss-security-token: t\nsecurity-token: t\nx-odps-a: 1".to_owned()),
                Just("OSSAccessKeyId=a&Expires=1&Signature=AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&uploads".to_owned()),
                Just("x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-date=20261128T051407Z&x-oss-expires=60&\
                      x-oss-credential=AK%2F20261128%2Fr%2Foss%2Faliyun_v4_request&x-oss-signature=".to_owned()
                    + &"0".repeat(64)),
            ],
            0..13,
        )
    ) {
        let mut data = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                data.push(0xFF);
            }
            data.extend_from_slice(f.as_bytes());
        }
        fuzz_verify_any(&data);
    }
}
