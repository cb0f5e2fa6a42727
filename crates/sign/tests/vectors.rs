//! Data-driven conformance: every `tests/vectors/<dialect>/*.json` file, captured from the
//! official SDKs by `tests/vectors/generate.py` (OpenAPI dialects) and
//! `tests/vectors/generate_oss_odps.py` (oss2, alibabacloud-oss-v2, pyodps), or copied from the
//! vendor's documentation.
//!
//! For each case: our string to sign / canonical request equals the SDK's, our signature equals
//! the one on the wire, verification accepts the request as received, our client-side signer
//! reproduces the SDK's `Authorization`, and changing any character of the signature, any
//! character of the secret, or any parameter / signed header value makes verification fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::PathBuf;

use keyless_secret::SecretString;
use keyless_sign::{
    acs3, form_decode, odps, oss_v1, oss_v4, parse_http_date, parse_iso8601_basic, parse_timestamp,
    percent_decode_path, roa_v2, rpc_v1, OssResource, RequestParts, SignError,
};
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

// --------------------------------------------------------------------------- OSS

impl Case {
    fn resource(&self) -> OssResource<'_> {
        OssResource {
            bucket: self.str("/resource/bucket"),
            key: self.str("/resource/key"),
        }
    }

    fn presigned(&self) -> bool {
        self.v
            .pointer("/expected/presigned")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// The captures are path-style: the resource the vector names is the decoded path.
fn assert_path_style(case: &Case) {
    let path = percent_decode_path(case.str("/request/path"), "path").expect("path decodes");
    let res = case.resource();
    let want = if res.bucket.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}/{}", res.bucket, res.key)
    };
    assert_eq!(path, want, "{}", case.name);
}

/// Raw queries with one parameter's value (or name) changed, for every parameter.
fn query_variants(raw_query: &str) -> Vec<(String, String)> {
    let pairs = form_decode(raw_query).expect("query");
    let mut out = Vec::new();
    for i in 0..pairs.len() {
        for rename in [false, true] {
            let mut changed = pairs.clone();
            if rename {
                changed[i].0.push('x');
            } else {
                changed[i].1.push('x');
            }
            out.push((pairs[i].0.clone(), acs3::encode_query(&changed)));
        }
    }
    out
}

#[test]
fn oss_v1_vectors() {
    let cases = load("oss_v1");
    assert!(
        cases.len() >= 15,
        "expected the oss_v1 corpus, found {}",
        cases.len()
    );
    for case in &cases {
        let name = &case.name;
        assert_path_style(case);
        let headers = case.headers();
        let secret = case.secret();
        let res = case.resource();
        let req = RequestParts {
            method: case.str("/request/method"),
            raw_path: case.str("/request/path"),
            raw_query: case.str("/request/query"),
            headers: &headers,
        };
        let expected = case.str("/expected/signature");
        let presigned = case.presigned();

        // Same string to sign and signature as the SDK.
        let sts = if presigned {
            oss_v1::presigned_string_to_sign(&req, &res, oss_v1::SubresourceSet::All)
        } else {
            oss_v1::string_to_sign(&req, &res, oss_v1::SubresourceSet::All)
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sts, case.str("/expected/string_to_sign"), "{name}");
        assert_eq!(
            oss_v1::sign(secret.expose_secret(), &sts),
            expected,
            "{name}"
        );

        // Verification accepts it as received; the client signer reproduces it.
        let verify_with =
            |r: &RequestParts<'_>, res: &OssResource<'_>, sig: &str, key: &SecretString| {
                if presigned {
                    let query = r.raw_query.replace(
                        &acs3::encode_query(&[("Signature".to_owned(), expected.to_owned())]),
                        &acs3::encode_query(&[("Signature".to_owned(), sig.to_owned())]),
                    );
                    let r = RequestParts {
                        raw_query: &query,
                        ..*r
                    };
                    let p = oss_v1::parse_presigned(&query)?
                        .ok_or(SignError::MissingParameter("Signature"))?;
                    oss_v1::verify_presigned(&r, res, &p, key)
                } else {
                    let ak = oss_v1::parse_authorization(
                        header(r.headers, "authorization").expect("authorization"),
                    )?;
                    let auth =
                        oss_v1::parse_authorization(&format!("OSS {}:{sig}", ak.access_key_id()))?;
                    oss_v1::verify(r, res, &auth, key)
                }
            };
        let ok =
            verify_with(&req, &res, expected, &secret).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ok.access_key_id(), case.str("/access_key_id"), "{name}");
        let token = header(&headers, "x-oss-security-token")
            .or_else(|| header(&headers, "security-token"))
            .map(str::to_owned)
            .or_else(|| {
                form_decode(req.raw_query)
                    .unwrap()
                    .into_iter()
                    .find(|(k, _)| k == "security-token")
                    .map(|(_, v)| v)
            });
        assert_eq!(
            ok.security_token().map(|t| t.expose_secret().to_owned()),
            token,
            "{name}"
        );
        if presigned {
            let p = oss_v1::parse_presigned(req.raw_query).unwrap().unwrap();
            assert_eq!(ok.expires(), Some(p.expires()), "{name}");
            assert_eq!(ok.date(), None, "{name}");
            // Our presigner, given the query without the signing parameters, signs the same.
            let plain: Vec<(String, String)> = form_decode(req.raw_query)
                .unwrap()
                .into_iter()
                .filter(|(k, _)| {
                    !["OSSAccessKeyId", "Expires", "Signature", "security-token"]
                        .contains(&k.as_str())
                })
                .collect();
            let plain_query = acs3::encode_query(&plain);
            let plain_req = RequestParts {
                raw_query: &plain_query,
                ..req
            };
            let token = ok.security_token().cloned();
            let ours = oss_v1::presign(
                &plain_req,
                &res,
                ok.access_key_id(),
                &secret,
                p.expires(),
                token.as_ref(),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            let ours = oss_v1::parse_presigned(&ours).unwrap().unwrap();
            assert_eq!(ours.signature_b64(), expected, "{name}");
        } else {
            let auth_value = header(&headers, "authorization").unwrap();
            assert_eq!(auth_value, case.str("/expected/authorization"), "{name}");
            let date = header(&headers, "date").unwrap();
            assert_eq!(ok.date(), parse_http_date(date).ok(), "{name}");
            assert_eq!(
                oss_v1::sign_request(&req, &res, ok.access_key_id(), &secret).as_deref(),
                Ok(auth_value),
                "{name}"
            );
        }

        // Any changed signature character, or secret character, fails.
        for bad in char_flips(expected, BASE64_ALPHABET) {
            assert!(
                verify_with(&req, &res, &bad, &secret).is_err(),
                "{name}: {bad}"
            );
        }
        for bad in secret_flips(secret.expose_secret()) {
            let err = verify_with(&req, &res, expected, &bad).expect_err(name);
            assert_eq!(err.server_string_to_sign(), Some(sts.as_str()), "{name}");
        }
        // Another resource, or method, fails.
        let other_key = format!("{}x", res.key);
        for other in [
            OssResource {
                key: &other_key,
                ..res
            },
            OssResource {
                bucket: "other-bkt",
                ..res
            },
        ] {
            if !res.bucket.is_empty() {
                assert!(
                    verify_with(&req, &other, expected, &secret).is_err(),
                    "{name}"
                );
            }
        }
        let r = RequestParts {
            method: if req.method == "GET" { "PUT" } else { "GET" },
            ..req
        };
        assert!(verify_with(&r, &res, expected, &secret).is_err(), "{name}");
        // Changing a signed sub-resource fails; changing another parameter does not matter.
        for (param, query) in query_variants(req.raw_query) {
            if ["OSSAccessKeyId", "Signature"].contains(&param.as_str()) {
                continue;
            }
            let r = RequestParts {
                raw_query: &query,
                ..req
            };
            let result = verify_with(&r, &res, expected, &secret);
            let signed = oss_v1::SubresourceSet::All.contains(&param) || param == "Expires";
            assert_eq!(result.is_err(), signed, "{name}: {query}");
        }
        // Changing any signed header (content-*, date, x-oss-*) fails.
        for i in 0..headers.len() {
            let n = headers[i].0.as_str();
            let signed = n.starts_with("x-oss-")
                || ["content-md5", "content-type"].contains(&n)
                || (n == "date" && !presigned);
            if !signed {
                continue;
            }
            let mut changed = headers.clone();
            changed[i].1.push('x');
            let r = RequestParts {
                headers: &changed,
                ..req
            };
            assert!(
                verify_with(&r, &res, expected, &secret).is_err(),
                "{name}: header {n}"
            );
        }
    }
}

#[test]
fn oss_v4_vectors() {
    let cases = load("oss_v4");
    assert!(
        cases.len() >= 15,
        "expected the oss_v4 corpus, found {}",
        cases.len()
    );
    for case in &cases {
        let name = &case.name;
        assert_path_style(case);
        let headers = case.headers();
        let secret = case.secret();
        let res = case.resource();
        let req = RequestParts {
            method: case.str("/request/method"),
            raw_path: case.str("/request/path"),
            raw_query: case.str("/request/query"),
            headers: &headers,
        };
        let expected = case.str("/expected/signature");
        let presigned = case.presigned();

        // The parsed signing parameters, and the SDK's canonical request and string to sign.
        let (ak, region, date, additional, x_oss_date) = if presigned {
            let p = oss_v4::parse_presigned(req.raw_query)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"))
                .expect("presigned");
            assert_eq!(p.signature_hex(), expected, "{name}");
            let x_oss_date = form_decode(req.raw_query)
                .unwrap()
                .into_iter()
                .find(|(k, _)| k == "x-oss-date")
                .unwrap()
                .1;
            (
                p.access_key_id().to_owned(),
                p.region().to_owned(),
                p.date(),
                p.additional_headers().to_vec(),
                x_oss_date,
            )
        } else {
            let auth_value = header(&headers, "authorization").expect("authorization");
            assert_eq!(auth_value, case.str("/expected/authorization"), "{name}");
            let a =
                oss_v4::parse_authorization(auth_value).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(a.signature_hex(), expected, "{name}");
            let x_oss_date = header(&headers, "x-oss-date").unwrap().to_owned();
            (
                a.access_key_id().to_owned(),
                a.region().to_owned(),
                parse_iso8601_basic(&x_oss_date).unwrap(),
                a.additional_headers().to_vec(),
                x_oss_date,
            )
        };
        assert_eq!(ak, case.str("/access_key_id"), "{name}");
        let cr = if presigned {
            oss_v4::presigned_canonical_request(&req, &res, &additional)
        } else {
            oss_v4::canonical_request(&req, &res, &additional)
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(cr, case.str("/expected/canonical_request"), "{name}");
        let sts = oss_v4::string_to_sign(&x_oss_date, &region, &cr);
        assert_eq!(sts, case.str("/expected/string_to_sign"), "{name}");
        assert_eq!(
            oss_v4::sign(secret.expose_secret(), &x_oss_date[..8], &region, &sts),
            expected,
            "{name}"
        );

        let verify_with =
            |r: &RequestParts<'_>, res: &OssResource<'_>, sig: &str, key: &SecretString| {
                if presigned {
                    let query = r.raw_query.replace(
                        &format!("x-oss-signature={expected}"),
                        &format!("x-oss-signature={sig}"),
                    );
                    let r = RequestParts {
                        raw_query: &query,
                        ..*r
                    };
                    let p = oss_v4::parse_presigned(&query)?
                        .ok_or(SignError::MissingParameter("x-oss-signature"))?;
                    oss_v4::verify_presigned(&r, res, &p, key)
                } else {
                    let value = header(r.headers, "authorization")
                        .expect("authorization")
                        .replace(expected, sig);
                    oss_v4::verify(r, res, &oss_v4::parse_authorization(&value)?, key)
                }
            };

        // Verification accepts it as received.
        let ok =
            verify_with(&req, &res, expected, &secret).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ok.access_key_id(), ak, "{name}");
        assert_eq!(ok.region(), "cn-hangzhou", "{name}");
        assert_eq!(ok.date(), date, "{name}");
        assert_eq!(ok.content_sha256(), None, "{name}");
        let token = header(&headers, "x-oss-security-token")
            .map(str::to_owned)
            .or_else(|| {
                form_decode(req.raw_query)
                    .unwrap()
                    .into_iter()
                    .find(|(k, _)| k == "x-oss-security-token")
                    .map(|(_, v)| v)
            });
        assert_eq!(
            ok.security_token().map(|t| t.expose_secret().to_owned()),
            token,
            "{name}"
        );

        // Our client signer reproduces the signature (and oss-v2's header byte for byte).
        let extra: Vec<&str> = additional.iter().map(String::as_str).collect();
        if presigned {
            let plain: Vec<(String, String)> = form_decode(req.raw_query)
                .unwrap()
                .into_iter()
                .filter(|(k, _)| !k.starts_with("x-oss-"))
                .collect();
            let plain_query = acs3::encode_query(&plain);
            let plain_req = RequestParts {
                raw_query: &plain_query,
                ..req
            };
            let expires_in: u32 = form_decode(req.raw_query)
                .unwrap()
                .into_iter()
                .find(|(k, _)| k == "x-oss-expires")
                .unwrap()
                .1
                .parse()
                .unwrap();
            let ours = oss_v4::presign(
                &plain_req,
                &res,
                &ak,
                &secret,
                &region,
                date,
                expires_in,
                ok.security_token(),
                &extra,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            let ours = oss_v4::parse_presigned(&ours).unwrap().unwrap();
            assert_eq!(ours.signature_hex(), expected, "{name}");
            assert_eq!(Some(ours.expires()), ok.expires(), "{name}");
        } else {
            let ours = oss_v4::sign_request(&req, &res, &ak, &secret, &region, &extra)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                oss_v4::parse_authorization(&ours).unwrap().signature_hex(),
                expected,
                "{name}"
            );
            if name.starts_with("v2_") {
                assert_eq!(ours, case.str("/expected/authorization"), "{name}");
            }
        }

        // Any changed signature or secret character fails.
        for bad in char_flips(expected, "0123456789abcdef") {
            assert!(
                verify_with(&req, &res, &bad, &secret).is_err(),
                "{name}: {bad}"
            );
        }
        for bad in secret_flips(secret.expose_secret()) {
            let err = verify_with(&req, &res, expected, &bad).expect_err(name);
            assert_eq!(err.server_canonical_request(), Some(cr.as_str()), "{name}");
        }
        // Another resource or method fails.
        let other_key = format!("{}x", res.key);
        if !res.bucket.is_empty() {
            for other in [
                OssResource {
                    key: &other_key,
                    ..res
                },
                OssResource {
                    bucket: "other-bkt",
                    ..res
                },
            ] {
                assert!(
                    verify_with(&req, &other, expected, &secret).is_err(),
                    "{name}"
                );
            }
        }
        let r = RequestParts {
            method: if req.method == "GET" { "PUT" } else { "GET" },
            ..req
        };
        assert!(verify_with(&r, &res, expected, &secret).is_err(), "{name}");
        // Every query parameter is signed.
        for (param, query) in query_variants(req.raw_query) {
            if param == "x-oss-signature" {
                continue;
            }
            let r = RequestParts {
                raw_query: &query,
                ..req
            };
            assert!(
                verify_with(&r, &res, expected, &secret).is_err(),
                "{name}: {query}"
            );
        }
        let added = if req.raw_query.is_empty() {
            "extra=1".to_owned()
        } else {
            format!("{}&extra=1", req.raw_query)
        };
        let r = RequestParts {
            raw_query: &added,
            ..req
        };
        assert!(verify_with(&r, &res, expected, &secret).is_err(), "{name}");
        // Every x-oss-*, content-type, content-md5 and additional header is signed.
        for i in 0..headers.len() {
            let n = headers[i].0.as_str();
            if !(n.starts_with("x-oss-")
                || ["content-md5", "content-type"].contains(&n)
                || additional.iter().any(|a| a == n))
            {
                continue;
            }
            let mut changed = headers.clone();
            changed[i].1.push('x');
            let r = RequestParts {
                headers: &changed,
                ..req
            };
            assert!(
                verify_with(&r, &res, expected, &secret).is_err(),
                "{name}: header {n}"
            );
        }
    }
}

// --------------------------------------------------------------------------- MaxCompute

#[test]
fn odps_vectors() {
    let cases = load("odps");
    assert!(
        cases.len() >= 5,
        "expected the odps corpus, found {}",
        cases.len()
    );
    for case in &cases {
        let name = &case.name;
        let headers = case.headers();
        let secret = case.secret();
        let prefix = case.str("/endpoint_prefix");
        let path = case
            .str("/request/path")
            .strip_prefix(prefix)
            .expect("endpoint prefix");
        let req = RequestParts {
            method: case.str("/request/method"),
            raw_path: path,
            raw_query: case.str("/request/query"),
            headers: &headers,
        };
        let auth_value = header(&headers, "authorization").expect("authorization");
        assert_eq!(auth_value, case.str("/expected/authorization"), "{name}");
        let auth = odps::parse_authorization(auth_value).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(auth.access_key_id(), case.str("/access_key_id"), "{name}");
        assert_eq!(auth.scope().is_some(), name.contains("_v4"), "{name}");

        // Same canonical string and signature as pyodps.
        let canonical = odps::canonical_string(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(canonical, case.str("/expected/canonical"), "{name}");
        let expected = case.str("/expected/signature");
        assert_eq!(
            odps::sign(secret.expose_secret(), auth.scope(), &canonical),
            expected,
            "{name}"
        );

        // Verification accepts it; our client signer reproduces the header.
        let ok = odps::verify(&req, &auth, &secret).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ok.access_key_id(), auth.access_key_id(), "{name}");
        assert_eq!(
            Ok(ok.date()),
            parse_http_date(header(&headers, "date").unwrap()),
            "{name}"
        );
        assert_eq!(ok.scope(), auth.scope(), "{name}");
        assert_eq!(
            ok.security_token().map(|t| t.expose_secret()),
            header(&headers, "authorization-sts-token"),
            "{name}"
        );
        assert_eq!(
            odps::sign_request(&req, auth.access_key_id(), &secret, auth.scope()).as_deref(),
            Ok(auth_value),
            "{name}"
        );

        let with_sig = |sig: &str| {
            let value = auth_value.replace(expected, sig);
            odps::parse_authorization(&value)
        };
        for bad in char_flips(expected, BASE64_ALPHABET) {
            if let Ok(bad_auth) = with_sig(&bad) {
                assert!(
                    odps::verify(&req, &bad_auth, &secret).is_err(),
                    "{name}: {bad}"
                );
            }
        }
        for bad in secret_flips(secret.expose_secret()) {
            let err = odps::verify(&req, &auth, &bad).expect_err(name);
            assert_eq!(
                err.server_string_to_sign(),
                Some(canonical.as_str()),
                "{name}"
            );
        }
        // A legacy signature does not pass as V4 and vice versa.
        let swapped = match auth.scope() {
            Some(_) => format!("ODPS {}:{expected}", auth.access_key_id()),
            None => format!(
                "ODPS {}/20261128/cn-hangzhou/odps/aliyun_v4_request:{expected}",
                auth.access_key_id()
            ),
        };
        assert!(
            odps::verify(&req, &odps::parse_authorization(&swapped).unwrap(), &secret).is_err(),
            "{name}"
        );
        // Every query parameter, the path, the method, Date and x-odps-* headers are signed.
        for (_, query) in query_variants(req.raw_query) {
            let r = RequestParts {
                raw_query: &query,
                ..req
            };
            assert!(odps::verify(&r, &auth, &secret).is_err(), "{name}: {query}");
        }
        let longer = format!("{path}x");
        let r = RequestParts {
            raw_path: &longer,
            ..req
        };
        assert!(odps::verify(&r, &auth, &secret).is_err(), "{name}");
        let r = RequestParts {
            method: "POST",
            ..req
        };
        assert!(odps::verify(&r, &auth, &secret).is_err(), "{name}");
        for i in 0..headers.len() {
            let n = headers[i].0.as_str();
            if !(n.starts_with("x-odps-") || ["content-md5", "content-type"].contains(&n)) {
                continue;
            }
            let mut changed = headers.clone();
            changed[i].1.push('x');
            let r = RequestParts {
                headers: &changed,
                ..req
            };
            assert!(
                odps::verify(&r, &auth, &secret).is_err(),
                "{name}: header {n}"
            );
        }
        let mut changed = headers.clone();
        let d = changed.iter_mut().find(|(n, _)| n == "date").unwrap();
        assert_ne!(d.1, "Sun, 06 Nov 1994 08:49:37 GMT");
        d.1 = "Sun, 06 Nov 1994 08:49:37 GMT".to_owned();
        let r = RequestParts {
            headers: &changed,
            ..req
        };
        assert!(odps::verify(&r, &auth, &secret).is_err(), "{name}: date");
    }
}
