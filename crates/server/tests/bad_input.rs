//! Malformed requests get a vendor error with a 4xx, never a 5xx or a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use bytes::Bytes;
use common::*;
use keyless_server::http::{Handler, HttpReq};
use keyless_server::state::Config;
use proptest::prelude::*;

fn raw(query: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> HttpReq {
    HttpReq {
        method: "POST".into(),
        path: "/".into(),
        query: query.into(),
        headers,
        body: Bytes::from(body),
        peer: "127.0.0.1".parse().unwrap(),
    }
}

fn check(h: &Harness, handler: &dyn Handler, req: HttpReq) {
    let r = handler.handle(req);
    assert!(
        (400..500).contains(&r.status),
        "status {} body {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(
        v["Code"].is_string() && v["Message"].is_string() && v["RequestId"].is_string(),
        "{v}"
    );
    let _ = h;
}

#[test]
fn known_bad_requests() {
    let h = Harness::new(Config::default());
    let long = format!(
        "Action=GetCallerIdentity&Version=2015-04-01&X={}",
        "a".repeat(100_000)
    );
    for q in [
        "",
        "Action=GetCallerIdentity",
        "Action=GetCallerIdentity&Version=2099-01-01",
        "Action=NoSuchThing&Version=2015-04-01",
        "Action=GetCallerIdentity&Version=2015-04-01&Action=AssumeRole",
        "Action=GetCallerIdentity&Version=2015-04-01&%ff%fe=1",
        "Action=GetCallerIdentity&Version=2015-04-01&a=%zz",
        "Action=GetCallerIdentity&Version=2015-04-01&AccessKeyId=x&Signature=y",
        "Action=GetCallerIdentity&Version=2015-04-01&AccessKeyId=x&Signature=y&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&Timestamp=bad&SignatureNonce=n",
        long.as_str(),
    ] {
        check(&h, &h.sts, raw(q, vec![], vec![]));
        check(&h, &h.ram, raw(&q.replace("2015-04-01", "2015-05-01"), vec![], vec![]));
    }
    for auth in [
        "ACS3-HMAC-SM3 Credential=x,SignedHeaders=host,Signature=00",
        "ACS3-HMAC-SHA256 garbage",
        "acs :",
        "Bearer x",
        "ACS3-HMAC-SHA256 Credential=LTAIrootkey0000000000000,SignedHeaders=host,Signature=zz",
    ] {
        let headers = vec![
            ("authorization".to_owned(), auth.to_owned()),
            ("host".to_owned(), "h".to_owned()),
        ];
        check(
            &h,
            &h.sts,
            raw(
                "Action=GetCallerIdentity&Version=2015-04-01",
                headers,
                vec![],
            ),
        );
    }
    // Invalid policy JSON in a correctly signed CreatePolicy.
    let req = h.v1_request(
        "2015-05-01",
        "CreatePolicy",
        &[("PolicyName", "p"), ("PolicyDocument", "{\"Version\":")],
        &h.root,
        None,
    );
    let r = h.send(&h.ram, req);
    assert_eq!((r.status, r.code()), (400, "MalformedPolicyDocument"));
    // A form body that is not UTF-8.
    let headers = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    check(&h, &h.ram, raw("", headers, vec![0xff, 0xfe, b'=', 0x80]));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_queries_and_bodies_are_4xx(q in ".{0,300}", body in proptest::collection::vec(any::<u8>(), 0..300), form in any::<bool>(), auth in proptest::option::of(".{0,200}")) {
        static H: std::sync::OnceLock<Harness> = std::sync::OnceLock::new();
        let h = H.get_or_init(|| Harness::new(Config::default()));
        let mut headers = vec![];
        if form {
            headers.push(("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()));
        }
        if let Some(a) = auth {
            headers.push(("authorization".to_owned(), a));
        }
        let r = h.sts.handle(raw(&q, headers.clone(), body.clone()));
        prop_assert!((400..500).contains(&r.status) || r.status == 200, "{}", r.status);
        let r = h.ram.handle(raw(&q, headers, body));
        prop_assert!((400..500).contains(&r.status) || r.status == 200, "{}", r.status);
    }
}
