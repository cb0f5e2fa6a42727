//! OSS authentication and authorization in-process: V1 / V4 headers, V1 / V4 presigned URLs,
//! STS tokens (signed header, unsigned oss-v2 header, query), the clock (skew, expiry of URLs
//! and tokens, with a manual clock), the vendor's error codes, and policy decisions (users,
//! roles, session policies, `oss:Prefix`, other accounts).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod oss_harness;

use common::{Creds, ACCOUNT};
use keyless_server::state::Config;
use oss_harness::*;

fn creds_with(c: &Creds, id: Option<&str>, secret: Option<&str>, token: Option<&str>) -> Creds {
    Creds {
        id: id.map_or_else(|| c.id.clone(), str::to_owned),
        secret: secret.map_or_else(|| c.secret.clone(), keyless_secret::SecretString::from),
        token: token.map(str::to_owned).or_else(|| c.token.clone()),
    }
}

#[test]
fn v1_and_v4_headers() {
    let o = OssHarness::new();
    let root = o.h.root.clone();
    for sig in [Sig::V1, Sig::V4] {
        let r = o.send_as(Req::new("PUT", BUCKET, "a/b c").body("x"), &root, sig);
        expect(&r, 200, "");
        let r = o.send_as(Req::new("GET", BUCKET, "a/b c"), &root, sig);
        assert_eq!((r.status, &r.body[..]), (200, &b"x"[..]), "{sig:?}");
        let r = o.send_as(
            Req::new("GET", BUCKET, "").query("list-type=2&continuation-token=&prefix=a%2F"),
            &root,
            sig,
        );
        assert_eq!(r.tags("Key"), ["a/b c"], "{sig:?}");
        let r = o.send_as(Req::new("GET", "", ""), &root, sig);
        expect(&r, 200, "");
    }
}

#[test]
fn signature_mismatch_returns_the_string_to_sign() {
    let o = OssHarness::new();
    let wrong = creds_with(
        &o.h.root,
        None,
        Some("not-the-secret-000000000000000"),
        None,
    );
    let r = o.send_as(Req::new("GET", BUCKET, "k").query("acl"), &wrong, Sig::V1);
    expect(&r, 403, "SignatureDoesNotMatch");
    let sts = r.tag("StringToSign").unwrap();
    assert!(sts.starts_with("GET\n\n\n"), "{sts:?}");
    assert!(sts.ends_with(&format!("\n/{BUCKET}/k?acl")), "{sts:?}");
    assert_eq!(
        r.tag("OSSAccessKeyId").as_deref(),
        Some(o.h.root.id.as_str())
    );
    assert!(r.tag("StringToSignBytes").is_some());

    let r = o.send_as(Req::new("GET", BUCKET, "k"), &wrong, Sig::V4);
    expect(&r, 403, "SignatureDoesNotMatch");
    assert!(r
        .tag("StringToSign")
        .unwrap()
        .starts_with("OSS4-HMAC-SHA256\n"));
    assert!(r
        .tag("CanonicalRequest")
        .unwrap()
        .starts_with("GET\n/test-bucket/k\n"));

    // A body tampered with after signing still verifies (OSS signs no payload), but a header or
    // sub-resource does not.
    let root = o.h.root.clone();
    let mut req = o.build(
        &Req::new("GET", BUCKET, "k").query("acl"),
        &root,
        Sig::V1,
        None,
    );
    req.query = "uploads".into();
    let r = o.send_raw(req);
    expect(&r, 403, "SignatureDoesNotMatch");
    let mut req = o.build(
        &Req::new("PUT", BUCKET, "k")
            .header("x-oss-meta-a", "1")
            .body("x"),
        &root,
        Sig::V1,
        None,
    );
    for (k, v) in req.headers.iter_mut() {
        if k == "x-oss-meta-a" {
            *v = "2".into();
        }
    }
    expect(&o.send_raw(req), 403, "SignatureDoesNotMatch");
}

#[test]
fn unknown_keys_anonymous_and_malformed() {
    let o = OssHarness::new();
    let ghost = creds_with(&o.h.root, Some("LTAIghost000000000000000"), None, None);
    expect(
        &o.send_as(Req::new("GET", BUCKET, "k"), &ghost, Sig::V1),
        403,
        "InvalidAccessKeyId",
    );
    expect(
        &o.send_as(Req::new("GET", BUCKET, "k"), &ghost, Sig::V4),
        403,
        "InvalidAccessKeyId",
    );
    let root = o.h.root.clone();
    expect(
        &o.send_as(Req::new("GET", BUCKET, "k"), &root, Sig::None),
        403,
        "AccessDenied",
    );
    let r = o.send_as(Req::new("HEAD", BUCKET, "k"), &root, Sig::None);
    expect(&r, 403, "AccessDenied");
    let mut req = o.build(&Req::new("GET", BUCKET, "k"), &root, Sig::V1, None);
    req.headers.retain(|(k, _)| k != "authorization");
    req.headers
        .push(("authorization".into(), "OSS nocolon".into()));
    expect(&o.send_raw(req), 400, "InvalidArgument");
    let mut req = o.build(&Req::new("GET", BUCKET, "k"), &root, Sig::V1, None);
    req.headers.retain(|(k, _)| k != "authorization");
    req.headers
        .push(("authorization".into(), "Bearer x".into()));
    expect(&o.send_raw(req), 400, "InvalidArgument");
    let mut req = o.build(&Req::new("GET", BUCKET, "k"), &root, Sig::V1, None);
    req.headers.retain(|(k, _)| k != "date");
    expect(&o.send_raw(req), 403, "AccessDenied");
}

#[test]
fn request_time_skew() {
    let o = OssHarness::new();
    let root = o.h.root.clone();
    o.put("k", b"x");
    for sig in [Sig::V1, Sig::V4] {
        for skew in [-901, 901] {
            let req = o.build(
                &Req::new("GET", BUCKET, "k"),
                &root,
                sig,
                Some(o.now() + skew),
            );
            let r = o.send_raw(req);
            expect(&r, 403, "RequestTimeTooSkewed");
            assert!(r.tag("ServerTime").is_some());
        }
        for skew in [-899, 899] {
            let req = o.build(
                &Req::new("GET", BUCKET, "k"),
                &root,
                sig,
                Some(o.now() + skew),
            );
            assert_eq!(o.send_raw(req).status, 200, "{sig:?} {skew}");
        }
    }
}

#[test]
fn v4_region_must_be_ours() {
    let o = OssHarness::with_config(Config {
        region: "cn-shanghai".into(),
        ..Config::default()
    });
    let root = o.h.root.clone();
    let r = o.send_as(Req::new("GET", BUCKET, "k"), &root, Sig::V4);
    expect(&r, 400, "InvalidArgument");
    assert!(r.tag("Message").unwrap().contains("region"));
}

#[test]
fn presigned_urls() {
    let o = OssHarness::new();
    o.put("p q", b"presigned");
    let root = o.h.root.clone();
    let req = o.presign_v1(&Req::new("GET", BUCKET, "p q"), &root, o.now() + 60);
    let r = o.send_raw(req.clone());
    assert_eq!(
        (r.status, &r.body[..]),
        (200, &b"presigned"[..]),
        "{}",
        r.text()
    );
    // Tampered, for another key, or expired: refused.
    let mut bad = req.clone();
    bad.query = bad.query.replace("Expires=", "Expires=1");
    expect(&o.send_raw(bad), 403, "SignatureDoesNotMatch");
    let mut other = req.clone();
    other.path = path_of(BUCKET, "other");
    expect(&o.send_raw(other), 403, "SignatureDoesNotMatch");
    o.h.clock.advance(61);
    let r = o.send_raw(req);
    expect(&r, 403, "AccessDenied");
    assert_eq!(r.tag("Message").as_deref(), Some("Request has expired."));

    let req = o.presign_v4(&Req::new("GET", BUCKET, "p q"), &root, 60);
    let r = o.send_raw(req.clone());
    assert_eq!(
        (r.status, &r.body[..]),
        (200, &b"presigned"[..]),
        "{}",
        r.text()
    );
    o.h.clock.advance(61);
    expect(&o.send_raw(req), 403, "AccessDenied");

    // A presigned PUT.
    let req = o.presign_v1(
        &Req::new("PUT", BUCKET, "up").body("via url"),
        &root,
        o.now() + 60,
    );
    expect(&o.send_raw(req), 200, "");
    assert_eq!(&o.get("up").body[..], b"via url");
}

#[test]
fn sts_tokens_in_every_dialect() {
    let o = OssHarness::new();
    let alice = o.h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let arn = o.h.role("oss-full", &["AliyunOSSFullAccess"]);
    let s =
        o.h.session(o.h.assume(&alice, &arn, &[("DurationSeconds", "900")]));
    assert!(s.id.starts_with("STS."));
    for (i, sig) in [Sig::V1, Sig::V4, Sig::V1UnsignedToken]
        .into_iter()
        .enumerate()
    {
        let key = format!("sts/{i}");
        let r = o.send_as(Req::new("PUT", BUCKET, &key).body("s"), &s, sig);
        expect(&r, 200, "");
        let r = o.send_as(Req::new("GET", BUCKET, &key), &s, sig);
        assert_eq!(r.status, 200, "{sig:?}: {}", r.text());
    }
    // Presigned with the token in the query.
    let req = o.presign_v1(&Req::new("GET", BUCKET, "sts/0"), &s, o.now() + 60);
    assert!(req.query.contains("security-token="));
    assert_eq!(o.send_raw(req).status, 200);
    let req = o.presign_v4(&Req::new("GET", BUCKET, "sts/0"), &s, 60);
    assert!(req.query.contains("x-oss-security-token="));
    assert_eq!(o.send_raw(req).status, 200);

    // No token, a tampered token, another session's token.
    let none = Creds {
        token: None,
        ..s.clone()
    };
    expect(
        &o.send_as(Req::new("GET", BUCKET, "sts/0"), &none, Sig::V1),
        403,
        "InvalidSecurityToken",
    );
    let mut t = s.token.clone().unwrap();
    let mid = t.len() / 2;
    let c = if &t[mid..=mid] == "A" { "B" } else { "A" };
    t.replace_range(mid..=mid, c);
    let tampered = creds_with(&s, None, None, Some(&t));
    for sig in [Sig::V1, Sig::V4, Sig::V1UnsignedToken] {
        expect(
            &o.send_as(Req::new("GET", BUCKET, "sts/0"), &tampered, sig),
            403,
            "InvalidSecurityToken",
        );
    }
    let s2 = o.h.session(o.h.assume(&alice, &arn, &[]));
    let mixed = creds_with(&s, None, None, s2.token.as_deref());
    expect(
        &o.send_as(Req::new("GET", BUCKET, "sts/0"), &mixed, Sig::V1),
        403,
        "InvalidSecurityToken",
    );
    // V4 does not take the unsigned header.
    let mut req = o.build(&Req::new("GET", BUCKET, "sts/0"), &none, Sig::V4, None);
    req.headers
        .push(("security-token".into(), s.token.clone().unwrap()));
    expect(&o.send_raw(req), 403, "InvalidSecurityToken");

    // Expiry, on the manual clock.
    o.h.clock.advance(899);
    assert_eq!(
        o.send_as(Req::new("GET", BUCKET, "sts/0"), &s, Sig::V1)
            .status,
        200
    );
    o.h.clock.advance(1);
    expect(
        &o.send_as(Req::new("GET", BUCKET, "sts/0"), &s, Sig::V1),
        403,
        "SecurityTokenExpired",
    );
    expect(
        &o.send_as(Req::new("GET", BUCKET, "sts/0"), &s, Sig::V4),
        403,
        "SecurityTokenExpired",
    );
}

#[test]
fn read_only_principals_cannot_write() {
    let o = OssHarness::new();
    o.put("ro/k", b"x");
    let reader = o.h.user("reader", &["AliyunOSSReadOnlyAccess"]);
    assert_eq!(
        o.send_as(Req::new("GET", BUCKET, "ro/k"), &reader, Sig::V1)
            .status,
        200
    );
    let r = o.send_as(
        Req::new("GET", BUCKET, "").query("prefix=ro%2F"),
        &reader,
        Sig::V4,
    );
    assert_eq!(r.tags("Key"), ["ro/k"]);
    let r = o.send_as(Req::new("PUT", BUCKET, "ro/k").body("y"), &reader, Sig::V1);
    expect(&r, 403, "AccessDenied");
    assert!(r.tag("Message").unwrap().contains("oss:PutObject"));
    expect(
        &o.send_as(Req::new("DELETE", BUCKET, "ro/k"), &reader, Sig::V1),
        403,
        "AccessDenied",
    );
    expect(
        &o.send_as(
            Req::new("POST", BUCKET, "ro/k").query("uploads"),
            &reader,
            Sig::V1,
        ),
        403,
        "AccessDenied",
    );
    expect(
        &o.send_as(Req::new("PUT", "reader-bucket", ""), &reader, Sig::V1),
        403,
        "AccessDenied",
    );
    let body = "<Delete><Object><Key>ro/k</Key></Object></Delete>";
    expect(
        &o.send_as(
            Req::new("POST", BUCKET, "")
                .query("delete")
                .body(body)
                .md5(),
            &reader,
            Sig::V1,
        ),
        403,
        "AccessDenied",
    );
    assert_eq!(&o.get("ro/k").body[..], b"x");

    // The same through a role session.
    let alice = o.h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let arn = o.h.role("oss-reader", &["AliyunOSSReadOnlyAccess"]);
    let s = o.h.session(o.h.assume(&alice, &arn, &[]));
    assert_eq!(
        o.send_as(Req::new("GET", BUCKET, "ro/k"), &s, Sig::V4)
            .status,
        200
    );
    expect(
        &o.send_as(Req::new("PUT", BUCKET, "ro/k").body("y"), &s, Sig::V4),
        403,
        "AccessDenied",
    );
    // A user with no policy can do nothing, not even list buckets.
    let nobody = o.h.user("nobody", &[]);
    expect(
        &o.send_as(Req::new("GET", "", ""), &nobody, Sig::V1),
        403,
        "AccessDenied",
    );
    expect(
        &o.send_as(Req::new("GET", BUCKET, "ro/k"), &nobody, Sig::V1),
        403,
        "AccessDenied",
    );
}

fn custom_policy(o: &OssHarness, name: &str, doc: &str) {
    o.h.ok(o.h.ram_call(
        "CreatePolicy",
        &[("PolicyName", name), ("PolicyDocument", doc)],
        &o.h.root,
    ));
}

#[test]
fn prefix_limited_roles_and_sessions() {
    let o = OssHarness::new();
    o.put("team-a/doc", b"a");
    o.put("team-b/doc", b"b");
    let doc = format!(
        r#"{{"Version":"1","Statement":[
            {{"Effect":"Allow","Action":["oss:GetObject","oss:PutObject"],"Resource":"acs:oss:*:*:{BUCKET}/team-a/*"}},
            {{"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:{BUCKET}","Condition":{{"StringLike":{{"oss:Prefix":"team-a/*"}}}}}}]}}"#
    );
    custom_policy(&o, "team-a-only", &doc);
    let arn = o.h.role("team-a", &[]);
    o.h.ok(o.h.ram_call(
        "AttachPolicyToRole",
        &[
            ("RoleName", "team-a"),
            ("PolicyType", "Custom"),
            ("PolicyName", "team-a-only"),
        ],
        &o.h.root,
    ));
    let alice = o.h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let s = o.h.session(o.h.assume(&alice, &arn, &[]));
    assert_eq!(
        o.send_as(Req::new("GET", BUCKET, "team-a/doc"), &s, Sig::V1)
            .status,
        200
    );
    expect(
        &o.send_as(Req::new("PUT", BUCKET, "team-a/new").body("n"), &s, Sig::V1),
        200,
        "",
    );
    expect(
        &o.send_as(Req::new("GET", BUCKET, "team-b/doc"), &s, Sig::V1),
        403,
        "AccessDenied",
    );
    expect(
        &o.send_as(Req::new("PUT", BUCKET, "team-b/doc").body("x"), &s, Sig::V4),
        403,
        "AccessDenied",
    );
    let r = o.send_as(
        Req::new("GET", BUCKET, "").query("prefix=team-a%2F"),
        &s,
        Sig::V1,
    );
    assert_eq!(r.tags("Key"), ["team-a/doc", "team-a/new"]);
    expect(
        &o.send_as(
            Req::new("GET", BUCKET, "").query("prefix=team-b%2F"),
            &s,
            Sig::V1,
        ),
        403,
        "AccessDenied",
    );
    expect(
        &o.send_as(Req::new("GET", BUCKET, ""), &s, Sig::V1),
        403,
        "AccessDenied",
    );

    // A session policy narrows a broad role further.
    let full = o.h.role("full", &["AliyunOSSFullAccess"]);
    let narrow = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:{BUCKET}/team-b/*"}}]}}"#
    );
    let s =
        o.h.session(o.h.assume(&alice, &full, &[("Policy", &narrow)]));
    assert_eq!(
        o.send_as(Req::new("GET", BUCKET, "team-b/doc"), &s, Sig::V1)
            .status,
        200
    );
    expect(
        &o.send_as(Req::new("GET", BUCKET, "team-a/doc"), &s, Sig::V1),
        403,
        "AccessDenied",
    );
    expect(
        &o.send_as(Req::new("PUT", BUCKET, "team-b/doc").body("x"), &s, Sig::V1),
        403,
        "AccessDenied",
    );
}

#[test]
fn other_accounts_cannot_touch_a_bucket() {
    let o = OssHarness::new();
    o.put("secret", b"s");
    let other = o.other_root.clone();
    for req in [
        Req::new("GET", BUCKET, "secret"),
        Req::new("HEAD", BUCKET, "secret"),
        Req::new("PUT", BUCKET, "x").body("x"),
        Req::new("DELETE", BUCKET, "secret"),
        Req::new("GET", BUCKET, ""),
        Req::new("GET", BUCKET, "").query("bucketInfo"),
        Req::new("DELETE", BUCKET, ""),
    ] {
        let what = format!("{} {}", req.method, req.key);
        let r = o.send_as(req, &other, Sig::V1);
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "AccessDenied"),
            "{what}"
        );
    }
    // Nor copy out of it into its own bucket.
    expect(
        &o.send_as(Req::new("PUT", "theirs", ""), &other, Sig::V1),
        200,
        "",
    );
    let r = o.send_as(
        Req::new("PUT", "theirs", "stolen")
            .header("x-oss-copy-source", &format!("/{BUCKET}/secret")),
        &other,
        Sig::V1,
    );
    expect(&r, 403, "AccessDenied");
    // A user of the other account with full OSS access is refused too.
    o.h.ok(o
        .h
        .ram_call("CreateUser", &[("UserName", "mallory")], &other));
    o.h.ok(o.h.ram_call(
        "AttachPolicyToUser",
        &[
            ("UserName", "mallory"),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunOSSFullAccess"),
        ],
        &other,
    ));
    let k = o.h.ok(o
        .h
        .ram_call("CreateAccessKey", &[("UserName", "mallory")], &other));
    let mallory = Creds {
        id: k["AccessKey"]["AccessKeyId"].as_str().unwrap().into(),
        secret: k["AccessKey"]["AccessKeySecret"].as_str().unwrap().into(),
        token: None,
    };
    expect(
        &o.send_as(Req::new("GET", BUCKET, "secret"), &mallory, Sig::V1),
        403,
        "AccessDenied",
    );
    assert_eq!(
        o.send_as(Req::new("GET", "theirs", ""), &mallory, Sig::V1)
            .status,
        200
    );
    // Its own root sees its bucket only; ours sees ours.
    let r = o.send_as(Req::new("GET", "", ""), &other, Sig::V1);
    assert_eq!(r.tags("Name"), ["theirs"]);
    assert_eq!(r.tag("ID").as_deref(), Some(OTHER_ACCOUNT));
    let r = o.send(Req::new("GET", "", ""));
    assert_eq!(r.tags("Name"), [BUCKET]);
    assert_eq!(r.tag("ID").as_deref(), Some(ACCOUNT));
    assert_eq!(&o.get("secret").body[..], b"s");
}
