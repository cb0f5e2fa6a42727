//! The clients against a canned HTTP server: what goes on the wire, with an injected clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The credentials crate's canned test server, shared rather than copied.
#[path = "../../credentials/tests/support/mod.rs"]
mod support;

use keyless_clients::{OssClient, OssError, RoaRequest, RpcClient, RpcError};
use keyless_credentials::{Credentials, ManualTimeSource, SecretString, StaticProvider};
use std::sync::Arc;
use support::{Route, TestServer};

const NOW: i64 = 1_767_323_045; // 2026-01-02T03:04:05Z

fn sts_creds() -> Credentials {
    Credentials::from_keys("STS.k", "sk-SECRET", Some(SecretString::from("tok-SECRET")))
}

#[tokio::test]
async fn rpc_calls_are_signed_at_the_injected_time() {
    let server = TestServer::start(vec![
        Route::new("POST", "/", 200, r#"{"Arn":"acs:ram::1:assumed-role/r/s"}"#),
        Route::new(
            "DELETE",
            "/api/v2/services/s",
            404,
            r#"{"Code":"NotFound","Message":"m","RequestId":"r1"}"#,
        ),
    ])
    .await;
    let client = RpcClient::new(&server.url())
        .unwrap()
        .with_time_source(Arc::new(ManualTimeSource::new(NOW)));
    let me = client
        .call(
            "GetCallerIdentity",
            "2015-04-01",
            &[("A", "b c")],
            &sts_creds(),
        )
        .await
        .unwrap();
    assert_eq!(me["Arn"], "acs:ram::1:assumed-role/r/s");
    let err = client
        .roa_call(
            RoaRequest {
                method: "DELETE",
                path: "/api/v2/services/s",
                query: &[],
                action: "DeleteService",
                version: "2021-07-01",
                body: None,
            },
            &sts_creds(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RpcError::Service { status: 404, code, .. } if code == "NotFound"),
        "{err}"
    );

    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].target, "/?A=b%20c");
    for r in &reqs {
        assert_eq!(r.header("x-acs-date"), Some("2026-01-02T03:04:05Z"));
        assert_eq!(r.header("x-acs-security-token"), Some("tok-SECRET"));
        assert!(r
            .header("authorization")
            .unwrap()
            .starts_with("ACS3-HMAC-SHA256 Credential=STS.k,"));
        assert!(r
            .header("user-agent")
            .unwrap()
            .starts_with("keyless-clients/"));
    }
    assert_eq!(reqs[1].method, "DELETE");
    assert_eq!(reqs[1].header("x-acs-action"), Some("DeleteService"));
}

#[tokio::test]
async fn oss_requests_are_dated_by_the_injected_clock() {
    let listing = "<ListBucketResult><IsTruncated>false</IsTruncated>\
                   <Contents><Key>a.txt</Key><Size>3</Size><ETag>\"E\"</ETag></Contents></ListBucketResult>";
    let server = TestServer::start(vec![
        Route::new("GET", "/bucket/", 200, listing),
        Route::new("GET", "/bucket/dir/a%20b.txt", 200, "abc"),
        Route::new("PUT", "/bucket/new", 200, ""),
        Route::new(
            "GET",
            "/bucket/missing",
            404,
            "<Error><Code>NoSuchKey</Code><Message>gone</Message><RequestId>r2</RequestId></Error>",
        ),
    ])
    .await;
    let clock = ManualTimeSource::new(NOW);
    let oss = OssClient::new(&server.url(), StaticProvider::new(sts_creds()))
        .unwrap()
        .with_time_source(Arc::new(clock.clone()));

    let all = oss.list_all("bucket", "").await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].key.as_str(), all[0].size), ("a.txt", 3));
    clock.advance(60);
    assert_eq!(oss.get("bucket", "dir/a b.txt").await.unwrap(), b"abc");
    oss.put("bucket", "new", b"xyz".to_vec()).await.unwrap();
    let err = oss.get("bucket", "missing").await.unwrap_err();
    assert!(
        matches!(&err, OssError::Service { status: 404, code, .. } if code == "NoSuchKey"),
        "{err}"
    );

    let reqs = server.requests();
    assert_eq!(reqs.len(), 4);
    assert_eq!(
        reqs[0].header("date"),
        Some("Fri, 02 Jan 2026 03:04:05 GMT")
    );
    assert_eq!(
        reqs[1].header("date"),
        Some("Fri, 02 Jan 2026 03:05:05 GMT")
    );
    for r in &reqs {
        assert_eq!(r.header("x-oss-security-token"), Some("tok-SECRET"));
        assert!(r.header("authorization").unwrap().starts_with("OSS STS.k:"));
    }
    assert!(!format!("{err} {err:?} {oss:?}").contains("SECRET"));
}
