//! Data-driven conformance: every `tests/vectors/<dialect>/*.json` file, captured from the
//! official SDKs by `tests/vectors/generate.py` (or copied from the vendor's documentation).
//!
//! For each case: our string to sign / canonical request equals the SDK's, our signature equals
//! the one on the wire, verification accepts the request as received, our client-side signer
//! reproduces the SDK's `Authorization`, and changing any character of the signature, any
//! character of the secret, or any parameter / signed header value makes verification fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::PathBuf;

use keyless_secret::SecretString;
use keyless_sign::{acs3, form_decode, parse_timestamp, roa_v2, rpc_v1, RequestParts, SignError};
use serde_json::Value;

struct Case {
    name: String,
    v: Value,
}

impl Case {
    fn str(&self, pointer: &str) -> &str {
        self.v
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{}: missing string at {pointer}", self.name))
    }

    fn opt(&self, pointer: &str) -> Option<&str> {
        self.v.pointer(pointer).and_then(Value::as_str)
    }

    fn headers(&self) -> Vec<(String, String)> {
        self.v
            .pointer("/request/headers")
            .and_then(Value::as_array)
            .expect("headers")
            .iter()
            .map(|pair| {
                let name = pair[0].as_str().expect("header name").to_ascii_lowercase();
                let value = pair[1].as_str().expect("header value").to_owned();
                (name, value)
            })
            .collect()
    }

    fn secret(&self) -> SecretString {
        SecretString::from(self.str("/access_key_secret"))
    }
}

fn load(dialect: &str) -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(dialect);
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).expect("read vector");
            let v: Value = serde_json::from_str(&text).expect("vector is JSON");
            assert_eq!(v["dialect"], dialect, "{}", p.display());
            Case {
                name: p.file_name().expect("name").to_string_lossy().into_owned(),
                v,
            }
        })
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Every variant of `s` with one character replaced by another character of the same alphabet.
fn char_flips(s: &str, alphabet: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    (0..chars.len())
        .map(|i| {
            let mut c = chars.clone();
            c[i] = alphabet.chars().find(|&a| a != chars[i]).expect("alphabet");
            c.into_iter().collect()
        })
        .collect()
}

/// Every variant of `secret` with one character changed.
fn secret_flips(secret: &str) -> Vec<SecretString> {
    char_flips(secret, "ab")
        .into_iter()
        .map(SecretString::new)
        .collect()
}

const BASE64_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// --------------------------------------------------------------------------- RPC V1

fn v1_params(case: &Case) -> Vec<(String, String)> {
    let mut params = form_decode(case.str("/request/query")).expect("query decodes");
    let headers = case.headers();
    let body = case.str("/request/body");
    if !body.is_empty()
        && header(&headers, "content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
    {
        params.extend(form_decode(body).expect("body decodes"));
    }
    params
}

#[test]
fn rpc_v1_vectors() {
    let cases = load("rpc_v1");
    assert!(
        cases.len() >= 6,
        "expected the rpc_v1 corpus, found {}",
        cases.len()
    );
    for case in &cases {
        let name = &case.name;
        let method = case.str("/request/method");
        let params = v1_params(case);
        let secret = case.secret();
        let expected = case.str("/expected/signature");
        let quote_plus = match case.str("/expected/variant") {
            "standard" => false,
            "quote_plus" => true,
            other => panic!("{name}: unknown variant {other}"),
        };

        // The wire carries the expected signature.
        let parsed = rpc_v1::parse_params(&params).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed.signature(), Some(expected), "{name}");
        assert_eq!(parsed.access_key_id(), case.str("/access_key_id"), "{name}");

        // Same string to sign and signature as the SDK.
        let standard = rpc_v1::string_to_sign(method, &params);
        let sts = if quote_plus {
            let plus = rpc_v1::string_to_sign_quote_plus(method, &params);
            assert_ne!(
                plus, standard,
                "{name}: quote_plus case must exercise the fallback"
            );
            plus
        } else {
            standard.clone()
        };
        if let Some(want) = case.opt("/expected/string_to_sign") {
            assert_eq!(sts, want, "{name}");
        }
        assert_eq!(
            rpc_v1::sign(secret.expose_secret(), &sts),
            expected,
            "{name}"
        );

        // Verification accepts it, via the right variant.
        let ok = rpc_v1::verify(method, &params, &secret, expected)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ok.access_key_id(), case.str("/access_key_id"), "{name}");
        let want_variant = if quote_plus {
            rpc_v1::V1Variant::QuotePlus
        } else {
            rpc_v1::V1Variant::Standard
        };
        assert_eq!(ok.variant(), want_variant, "{name}");
        assert_eq!(ok.timestamp(), parsed.timestamp(), "{name}");
        let token = params.iter().find(|(k, _)| k == "SecurityToken");
        assert_eq!(
            ok.security_token().map(|t| t.expose_secret().to_owned()),
            token.map(|(_, v)| v.clone()),
            "{name}"
        );

        // Any changed signature character fails.
        for bad in char_flips(expected, BASE64_ALPHABET) {
            assert!(
                rpc_v1::verify(method, &params, &secret, &bad).is_err(),
                "{name}: {bad}"
            );
        }
        // Any changed secret character fails, and the error carries the standard string to sign.
        for bad in secret_flips(secret.expose_secret()) {
            let err = rpc_v1::verify(method, &params, &bad, expected).expect_err(name);
            assert_eq!(
                err.server_string_to_sign(),
                Some(standard.as_str()),
                "{name}"
            );
        }
        // Any changed parameter value (or name) fails.
        for i in 0..params.len() {
            if params[i].0 == "Signature" {
                continue;
            }
            let mut changed = params.clone();
            changed[i].1.push('x');
            assert!(
                rpc_v1::verify(method, &changed, &secret, expected).is_err(),
                "{name}: value of {}",
                params[i].0
            );
            let mut renamed = params.clone();
            renamed[i].0.push('x');
            assert!(
                rpc_v1::verify(method, &renamed, &secret, expected).is_err(),
                "{name}: name of {}",
                params[i].0
            );
        }
        // The method is signed too.
        let other = if method == "GET" { "POST" } else { "GET" };
        assert!(
            rpc_v1::verify(other, &params, &secret, expected).is_err(),
            "{name}"
        );
    }
}

// --------------------------------------------------------------------------- ACS3

#[test]
fn acs3_vectors() {
    let cases = load("acs3");
    assert!(
        cases.len() >= 5,
        "expected the acs3 corpus, found {}",
        cases.len()
    );
    for case in &cases {
        let name = &case.name;
        let headers = case.headers();
        let body = case.str("/request/body");
        let secret = case.secret();
        let req = RequestParts {
            method: case.str("/request/method"),
            raw_path: case.str("/request/path"),
            raw_query: case.str("/request/query"),
            headers: &headers,
        };
        let auth_value = header(&headers, "authorization").expect("authorization");
        assert_eq!(auth_value, case.str("/expected/authorization"), "{name}");
        let auth = acs3::parse_authorization(auth_value).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(auth.access_key_id(), case.str("/access_key_id"), "{name}");
        let body_hash = acs3::hashed_payload(body.as_bytes());
        assert_eq!(
            header(&headers, "x-acs-content-sha256"),
            Some(body_hash.as_str()),
            "{name}"
        );

        // Same canonical request and signature as the SDK.
        let cr = acs3::canonical_request(&req, auth.signed_headers(), &body_hash)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(cr, case.str("/expected/canonical_request"), "{name}");
        let sig = acs3::sign(secret.expose_secret(), &acs3::string_to_sign(&cr));
        assert_eq!(sig, case.str("/expected/signature"), "{name}");

        // Verification accepts the request as received.
        let ok = acs3::verify(&req, &body_hash, &auth, &secret)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ok.access_key_id(), case.str("/access_key_id"), "{name}");
        let date = header(&headers, "x-acs-date").expect("x-acs-date");
        assert_eq!(Ok(ok.date()), parse_timestamp(date), "{name}");
        assert_eq!(ok.action(), header(&headers, "x-acs-action"), "{name}");
        assert_eq!(
            ok.security_token().map(|t| t.expose_secret()),
            header(&headers, "x-acs-security-token"),
            "{name}"
        );

        // Our client signer, given the headers the SDK signed, reproduces its Authorization.
        let signed_only: Vec<_> = headers
            .iter()
            .filter(|(n, _)| auth.signed_headers().contains(n))
            .cloned()
            .collect();
        let client_req = RequestParts {
            headers: &signed_only,
            ..req
        };
        assert_eq!(
            acs3::sign_request(&client_req, auth.access_key_id(), &secret).as_deref(),
            Ok(auth_value),
            "{name}"
        );

        // Any changed signature character fails.
        for bad in char_flips(auth.signature_hex(), "0123456789abcdef") {
            let bad_auth =
                acs3::parse_authorization(&auth_value.replace(auth.signature_hex(), &bad))
                    .expect("still well-formed");
            assert!(
                acs3::verify(&req, &body_hash, &bad_auth, &secret).is_err(),
                "{name}"
            );
        }
        // Any changed secret character fails.
        for bad in secret_flips(secret.expose_secret()) {
            let err = acs3::verify(&req, &body_hash, &auth, &bad).expect_err(name);
            assert_eq!(err.server_canonical_request(), Some(cr.as_str()), "{name}");
        }
        // A changed body fails (the caller hashes what it received).
        let mut changed_body = body.as_bytes().to_vec();
        changed_body.push(b' ');
        assert_eq!(
            acs3::verify(&req, &acs3::hashed_payload(&changed_body), &auth, &secret).unwrap_err(),
            SignError::ContentHashMismatch,
            "{name}"
        );
        // Any changed query value or name fails.
        let pairs = form_decode(req.raw_query).expect("query");
        for i in 0..pairs.len() {
            for rename in [false, true] {
                let mut changed = pairs.clone();
                if rename {
                    changed[i].0.push('x');
                } else {
                    changed[i].1.push('x');
                }
                let q = acs3::encode_query(&changed);
                let r = RequestParts {
                    raw_query: &q,
                    ..req
                };
                assert!(
                    acs3::verify(&r, &body_hash, &auth, &secret).is_err(),
                    "{name}: {q}"
                );
            }
        }
        // An added query parameter fails.
        let q = format!("{}&Extra=1", req.raw_query);
        let r = RequestParts {
            raw_query: &q,
            ..req
        };
        assert!(
            acs3::verify(&r, &body_hash, &auth, &secret).is_err(),
            "{name}"
        );
        // Any changed signed header value fails.
        for i in 0..headers.len() {
            if !auth.signed_headers().contains(&headers[i].0) {
                continue;
            }
            let mut changed = headers.clone();
            changed[i].1.push('x');
            let r = RequestParts {
                headers: &changed,
                ..req
            };
            assert!(
                acs3::verify(&r, &body_hash, &auth, &secret).is_err(),
                "{name}: header {}",
                headers[i].0
            );
        }
        // A changed path or method fails.
        let path = format!("{}x", req.raw_path);
        let r = RequestParts {
            raw_path: &path,
            ..req
        };
        assert!(
            acs3::verify(&r, &body_hash, &auth, &secret).is_err(),
            "{name}"
        );
        let r = RequestParts {
            method: "PUT",
            ..req
        };
        assert!(
            acs3::verify(&r, &body_hash, &auth, &secret).is_err(),
            "{name}"
        );
    }
}

// --------------------------------------------------------------------------- ROA v2

#[test]
fn roa_v2_vectors() {
    let cases = load("roa_v2");
    assert!(
        cases.len() >= 3,
        "expected the roa_v2 corpus, found {}",
        cases.len()
    );
    for case in &cases {
        let name = &case.name;
        let headers = case.headers();
        let secret = case.secret();
        let req = RequestParts {
            method: case.str("/request/method"),
            raw_path: case.str("/request/path"),
            raw_query: case.str("/request/query"),
            headers: &headers,
        };
        let auth_value = header(&headers, "authorization").expect("authorization");
        assert_eq!(auth_value, case.str("/expected/authorization"), "{name}");
        let auth =
            roa_v2::parse_authorization(auth_value).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(auth.access_key_id(), case.str("/access_key_id"), "{name}");

        // Same string to sign and signature as the SDK.
        let sts = roa_v2::string_to_sign(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sts, case.str("/expected/string_to_sign"), "{name}");
        assert_eq!(
            roa_v2::sign(secret.expose_secret(), &sts),
            case.str("/expected/signature"),
            "{name}"
        );

        // Verification accepts it; our client signer reproduces the SDK's header.
        let ok = roa_v2::verify(&req, &auth, &secret).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ok.access_key_id(), case.str("/access_key_id"), "{name}");
        assert!(ok.date().is_some(), "{name}");
        assert_eq!(
            ok.security_token().map(|t| t.expose_secret()),
            header(&headers, "x-acs-security-token"),
            "{name}"
        );
        assert_eq!(
            roa_v2::sign_request(&req, auth.access_key_id(), &secret).as_deref(),
            Ok(auth_value),
            "{name}"
        );

        // Any changed signature character fails.
        for bad in char_flips(auth.signature_b64(), BASE64_ALPHABET) {
            let bad_auth =
                roa_v2::parse_authorization(&format!("acs {}:{bad}", auth.access_key_id()))
                    .expect("still well-formed");
            assert!(
                roa_v2::verify(&req, &bad_auth, &secret).is_err(),
                "{name}: {bad}"
            );
        }
        // Any changed secret character fails.
        for bad in secret_flips(secret.expose_secret()) {
            let err = roa_v2::verify(&req, &auth, &bad).expect_err(name);
            assert_eq!(err.server_string_to_sign(), Some(sts.as_str()), "{name}");
        }
        // Any changed query value or name fails.
        let pairs = form_decode(req.raw_query).expect("query");
        for i in 0..pairs.len() {
            for rename in [false, true] {
                let mut changed = pairs.clone();
                if rename {
                    changed[i].0.push('x');
                } else {
                    changed[i].1.push('x');
                }
                let q = acs3::encode_query(&changed);
                let r = RequestParts {
                    raw_query: &q,
                    ..req
                };
                assert!(roa_v2::verify(&r, &auth, &secret).is_err(), "{name}: {q}");
            }
        }
        // Any changed signed header (accept, content-type, date, x-acs-*) fails.
        for i in 0..headers.len() {
            let n = headers[i].0.as_str();
            if !(n.starts_with("x-acs-") || ["accept", "content-type", "date"].contains(&n)) {
                continue;
            }
            let mut changed = headers.clone();
            changed[i].1.push('x');
            let r = RequestParts {
                headers: &changed,
                ..req
            };
            assert!(
                roa_v2::verify(&r, &auth, &secret).is_err(),
                "{name}: header {n}"
            );
        }
        // A changed path or method fails.
        let path = format!("{}x", req.raw_path);
        let r = RequestParts {
            raw_path: &path,
            ..req
        };
        assert!(roa_v2::verify(&r, &auth, &secret).is_err(), "{name}");
        let r = RequestParts {
            method: "PUT",
            ..req
        };
        assert!(roa_v2::verify(&r, &auth, &secret).is_err(), "{name}");
    }
}
