//! MaxCompute authentication and authorization, in-process: legacy and V4 `ODPS` signatures, STS
//! tokens (expiry → `AuthenticationRequestExpired`), the `Date` window, and `odps:*` actions
//! through RAM policies for users, roles and sessions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use keyless_secret::SecretString;
use keyless_server::http::Handler;
use keyless_server::odps;
use keyless_server::state::Config;
use keyless_store::{AccessKey, KeyStatus};
use std::sync::Arc;

const P: &str = "proj_main";

fn setup() -> (Harness, Arc<dyn Handler>) {
    let h = Harness::new(Config::default());
    odps::ensure_project(&h.state, ACCOUNT, P).unwrap();
    let o = h.odps();
    (h, o)
}

/// A RAM user allowed to assume roles (root may not).
fn assumer(h: &Harness) -> Creds {
    h.user("assumer", &["AliyunSTSAssumeRoleAccess"])
}

/// STS credentials of a session of `role_arn`.
fn sess(h: &Harness, a: &Creds, role_arn: &str, extra: &[(&str, &str)]) -> Creds {
    h.session(h.assume(a, role_arn, extra))
}

fn list_target() -> String {
    format!("/projects/{P}/tables?expectmarker=true&curr_project={P}")
}

fn expect(r: &OdpsResp, status: u16, code: &str) {
    assert_eq!((r.status, r.code().as_str()), (status, code), "{}", r.body);
    for t in ["Message", "RequestId", "HostId"] {
        assert!(r.tag(t).is_some_and(|v| !v.is_empty()), "{t}: {}", r.body);
    }
}

fn v4(region: &str) -> OdpsSign {
    OdpsSign {
        region: Some(region.into()),
        date: None,
    }
}

#[test]
fn legacy_and_v4_signatures() {
    let (h, o) = setup();
    let r = h.odps_send(
        &*o,
        h.odps_request("GET", &list_target(), b"", &h.root, &OdpsSign::default()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.odps_send(
        &*o,
        h.odps_request("GET", &list_target(), b"", &h.root, &v4("cn-hangzhou")),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // A V4 scope for another region.
    let r = h.odps_send(
        &*o,
        h.odps_request("GET", &list_target(), b"", &h.root, &v4("cn-shanghai")),
    );
    expect(&r, 401, "SignatureNotMatch");
    // A V4 scope day far from the Date header.
    let mut req = h.odps_request("GET", &list_target(), b"", &h.root, &OdpsSign::default());
    req.headers.retain(|(k, _)| k != "authorization");
    let parts = keyless_sign::RequestParts {
        method: "GET",
        raw_path: &format!("/projects/{P}/tables"),
        raw_query: &format!("expectmarker=true&curr_project={P}"),
        headers: &req.headers,
    };
    let scope = keyless_sign::odps::Scope {
        date: "20200101",
        region: "cn-hangzhou",
    };
    let auth =
        keyless_sign::odps::sign_request(&parts, &h.root.id, &h.root.secret, Some(scope)).unwrap();
    req.headers.push(("authorization".into(), auth));
    expect(&h.odps_send(&*o, req), 401, "SignatureNotMatch");
}

#[test]
fn bad_signatures_and_keys() {
    let (h, o) = setup();
    // Wrong secret: the message carries the server's string to sign.
    let wrong = Creds {
        secret: SecretString::from("not-the-secret"),
        ..h.root.clone()
    };
    let r = h.odps_call(&*o, "GET", &list_target(), b"", &wrong);
    expect(&r, 401, "SignatureNotMatch");
    assert!(
        r.tag("Message").unwrap().contains(&format!(
            "\n/projects/{P}/tables?curr_project={P}&expectmarker=true"
        )),
        "{}",
        r.body
    );
    // A request re-targeted after signing.
    let mut req = h.odps_request("GET", &list_target(), b"", &h.root, &OdpsSign::default());
    req.path = "/api/projects/other_proj/tables".into();
    expect(&h.odps_send(&*o, req), 401, "SignatureNotMatch");
    // Unknown key.
    let unknown = Creds {
        id: "LTAInosuchkey00000000000".into(),
        ..h.root.clone()
    };
    expect(
        &h.odps_call(&*o, "GET", &list_target(), b"", &unknown),
        401,
        "Unauthorized",
    );
    // A disabled key.
    h.state
        .store()
        .create_access_key(&AccessKey {
            access_key_id: "LTAIdisabled000000000000".into(),
            account_id: ACCOUNT.into(),
            user_name: None,
            secret: SecretString::from("s"),
            status: KeyStatus::Inactive,
            created_at: T0,
        })
        .unwrap();
    let disabled = Creds {
        id: "LTAIdisabled000000000000".into(),
        secret: SecretString::from("s"),
        token: None,
    };
    expect(
        &h.odps_call(&*o, "GET", &list_target(), b"", &disabled),
        401,
        "Unauthorized",
    );
    // No Authorization, or a malformed one.
    let mut req = h.odps_request("GET", &list_target(), b"", &h.root, &OdpsSign::default());
    req.headers.retain(|(k, _)| k != "authorization");
    expect(&h.odps_send(&*o, req.clone()), 401, "AuthorizationRequired");
    for bad in [
        "ODPS nope",
        "ODPS a:b",
        "Bearer x",
        "ODPS AK/2026/r/odps/aliyun_v4_request:x",
    ] {
        let mut r2 = req.clone();
        r2.headers.push(("authorization".into(), bad.into()));
        expect(&h.odps_send(&*o, r2), 400, "AuthorizationRequired");
    }
    // No Date header.
    let mut r3 = h.odps_request("GET", &list_target(), b"", &h.root, &OdpsSign::default());
    r3.headers.retain(|(k, _)| k != "date");
    expect(&h.odps_send(&*o, r3), 400, "AuthorizationRequired");
}

#[test]
fn date_window_is_fifteen_minutes() {
    let (h, o) = setup();
    for (offset, ok) in [
        (-14 * 60, true),
        (14 * 60, true),
        (-16 * 60, false),
        (16 * 60, false),
    ] {
        let how = OdpsSign {
            region: None,
            date: Some(T0 + offset),
        };
        let r = h.odps_send(
            &*o,
            h.odps_request("GET", &list_target(), b"", &h.root, &how),
        );
        if ok {
            assert_eq!(r.status, 200, "{offset}: {}", r.body);
        } else {
            expect(&r, 403, "RequestTimeTooSkewed");
            assert!(r
                .tag("Message")
                .unwrap()
                .starts_with("max_interval_date:900000,expire_date:"));
        }
    }
}

#[test]
fn sts_sessions_and_expiry() {
    let (h, o) = setup();
    let a = assumer(&h);
    let arn = h.role("mc-reader", &["AliyunMaxComputeReadOnlyAccess"]);
    let s = sess(&h, &a, &arn, &[("DurationSeconds", "900")]);
    for how in [OdpsSign::default(), v4("cn-hangzhou")] {
        let r = h.odps_send(&*o, h.odps_request("GET", &list_target(), b"", &s, &how));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // The token is required with an STS key, and must be the key's.
    let no_token = Creds {
        token: None,
        ..s.clone()
    };
    expect(
        &h.odps_call(&*o, "GET", &list_target(), b"", &no_token),
        401,
        "Unauthorized",
    );
    let other = sess(&h, &a, &arn, &[]);
    let mixed = Creds {
        token: other.token.clone(),
        ..s.clone()
    };
    expect(
        &h.odps_call(&*o, "GET", &list_target(), b"", &mixed),
        401,
        "Unauthorized",
    );
    // Past its expiry, pyodps reloads its account and retries on this code.
    h.clock.advance(901);
    expect(
        &h.odps_call(&*o, "GET", &list_target(), b"", &s),
        400,
        "AuthenticationRequestExpired",
    );
}

#[test]
fn read_only_policies_list_and_get_but_do_not_create() {
    let (h, o) = setup();
    let a = assumer(&h);
    let (st, _) = h.odps_run(&*o, P, "CREATE TABLE t (id bigint)", &h.root);
    assert_eq!(st, "Success");
    let user = h.user("mc-ro", &["AliyunMaxComputeReadOnlyAccess"]);
    let role = h.role("mc-ro-role", &["AliyunMaxComputeReadOnlyAccess"]);
    let pai = h.role("pai-default", &["AliyunServiceRolePolicyForPaiEas"]);
    let sessions = [user, sess(&h, &a, &role, &[]), sess(&h, &a, &pai, &[])];
    for c in &sessions {
        assert_eq!(h.odps_call(&*o, "GET", &list_target(), b"", c).status, 200);
        let r = h.odps_call(
            &*o,
            "GET",
            &format!("/projects/{P}/tables/t?curr_project={P}"),
            b"",
            c,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        // `exist_table` of a missing table: not found, not denied.
        let r = h.odps_call(
            &*o,
            "GET",
            &format!("/projects/{P}/tables/nope?curr_project={P}"),
            b"",
            c,
        );
        expect(&r, 404, "NoSuchObject");
        assert_eq!(
            h.odps_call(&*o, "GET", &format!("/projects/{P}"), b"", c)
                .status,
            200
        );
    }
    // Read-only: submitting an instance is denied outright.
    for c in &sessions[..2] {
        let r = h.odps_submit(&*o, P, "CREATE TABLE u (id bigint)", c);
        expect(&r, 403, "NoPermission");
        assert!(
            r.tag("Message").unwrap().contains("odps:CreateInstance"),
            "{}",
            r.body
        );
    }
    // The PAI default role may run instances, but not create tables: the instance fails with the
    // code pyodps raises as NoPermission.
    let (st, res) = h.odps_run(&*o, P, "CREATE TABLE u (id bigint)", &sessions[2]);
    assert_eq!(st, "Failed");
    assert!(
        res.starts_with("ODPS-0130013:Authorization exception"),
        "{res}"
    );
    assert!(res.contains("odps:CreateTable"), "{res}");
    let (st, res) = h.odps_run(&*o, P, "DROP TABLE t", &sessions[2]);
    assert_eq!(st, "Failed");
    assert!(res.contains("odps:DropTable"), "{res}");
    // The table is still there.
    assert_eq!(
        h.odps_call(&*o, "GET", &format!("/projects/{P}/tables/t"), b"", &h.root)
            .status,
        200
    );
}

#[test]
fn principals_without_maxcompute_access_are_refused() {
    let (h, o) = setup();
    let a = assumer(&h);
    let user = h.user("no-mc", &["AliyunOSSReadOnlyAccess"]);
    let role = h.role("no-mc-role", &["AliyunOSSFullAccess"]);
    let s = sess(&h, &a, &role, &[]);
    for c in [&user, &s] {
        let r = h.odps_call(&*o, "GET", &list_target(), b"", c);
        expect(&r, 403, "NoPermission");
        let m = r.tag("Message").unwrap();
        assert!(m.contains("odps:ListTables"), "{m}");
        assert!(
            m.contains(&format!("acs:odps:*:{ACCOUNT}:projects/{P}/tables/*")),
            "{m}"
        );
        expect(
            &h.odps_call(&*o, "GET", &format!("/projects/{P}/tables/t"), b"", c),
            403,
            "NoPermission",
        );
        expect(
            &h.odps_submit(&*o, P, "DROP TABLE t", c),
            403,
            "NoPermission",
        );
    }
}

#[test]
fn full_access_and_session_policies() {
    let (h, o) = setup();
    let a = assumer(&h);
    let role = h.role("mc-full", &["AliyunMaxComputeFullAccess"]);
    let s = sess(&h, &a, &role, &[]);
    let (st, res) = h.odps_run(&*o, P, "CREATE TABLE t (id bigint)", &s);
    assert_eq!((st.as_str(), res.as_str()), ("Success", "OK"));
    let r = h.odps_call(&*o, "GET", &format!("/projects/{P}/tables/t"), b"", &s);
    let schema: serde_json::Value = serde_json::from_str(&r.tag("Schema").unwrap()).unwrap();
    assert_eq!(
        schema["owner"],
        format!("acs:ram::{ACCOUNT}:assumed-role/mc-full/test-session")
    );
    let (st, _) = h.odps_run(&*o, P, "DROP TABLE t", &s);
    assert_eq!(st, "Success");
    // A session policy narrows the role to reading.
    let narrow =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"odps:List*","Resource":"*"}]}"#;
    let s2 = sess(&h, &a, &role, &[("Policy", narrow)]);
    assert_eq!(
        h.odps_call(&*o, "GET", &list_target(), b"", &s2).status,
        200
    );
    expect(
        &h.odps_submit(&*o, P, "CREATE TABLE t (id bigint)", &s2),
        403,
        "NoPermission",
    );
}

#[test]
fn table_level_custom_policy() {
    let (h, o) = setup();
    let doc = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":["odps:CreateInstance","odps:GetProject"],"Resource":"acs:odps:*:{ACCOUNT}:projects/{P}"}},{{"Effect":"Allow","Action":["odps:CreateTable","odps:DropTable","odps:GetTableInfo"],"Resource":"acs:odps:*:*:projects/{P}/tables/scratch_*"}}]}}"#
    );
    h.ok(h.ram_call(
        "CreatePolicy",
        &[("PolicyName", "mc-scratch"), ("PolicyDocument", &doc)],
        &h.root,
    ));
    let c = h.user("scratcher", &[]);
    h.ok(h.ram_call(
        "AttachPolicyToUser",
        &[
            ("UserName", "scratcher"),
            ("PolicyType", "Custom"),
            ("PolicyName", "mc-scratch"),
        ],
        &h.root,
    ));
    let (st, res) = h.odps_run(&*o, P, "CREATE TABLE scratch_1 (id bigint)", &c);
    assert_eq!((st.as_str(), res.as_str()), ("Success", "OK"));
    assert_eq!(
        h.odps_call(
            &*o,
            "GET",
            &format!("/projects/{P}/tables/scratch_1"),
            b"",
            &c
        )
        .status,
        200
    );
    let (st, res) = h.odps_run(&*o, P, "CREATE TABLE prod_1 (id bigint)", &c);
    assert_eq!(st, "Failed");
    assert!(res.starts_with("ODPS-0130013:"), "{res}");
    // Listing is not granted.
    expect(
        &h.odps_call(&*o, "GET", &list_target(), b"", &c),
        403,
        "NoPermission",
    );
    // Another principal reading this user's instance needs odps:GetInstance.
    let r = h.odps_submit(&*o, P, "DROP TABLE IF EXISTS scratch_1", &c);
    let id = r
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let other = h.user("other-reader", &["AliyunOSSReadOnlyAccess"]);
    expect(
        &h.odps_call(
            &*o,
            "GET",
            &format!("/projects/{P}/instances/{id}?taskstatus"),
            b"",
            &other,
        ),
        403,
        "NoPermission",
    );
    let ro = h.user("mc-reader2", &["AliyunMaxComputeReadOnlyAccess"]);
    assert_eq!(
        h.odps_call(
            &*o,
            "GET",
            &format!("/projects/{P}/instances/{id}?taskstatus"),
            b"",
            &ro
        )
        .status,
        200
    );
}

#[test]
fn projects_of_other_accounts_are_closed() {
    let (h, o) = setup();
    let other = "2222222222222222";
    h.state.store().create_account(other, T0).unwrap();
    h.state
        .store()
        .create_access_key(&AccessKey {
            access_key_id: "LTAIotheraccount00000000".into(),
            account_id: other.into(),
            user_name: None,
            secret: SecretString::from("othersecret"),
            status: KeyStatus::Active,
            created_at: T0,
        })
        .unwrap();
    odps::create_project(&h.state, other, "other_proj").unwrap();
    let c = Creds {
        id: "LTAIotheraccount00000000".into(),
        secret: SecretString::from("othersecret"),
        token: None,
    };
    expect(
        &h.odps_call(&*o, "GET", &list_target(), b"", &c),
        403,
        "NoPermission",
    );
    expect(
        &h.odps_submit(&*o, P, "DROP TABLE IF EXISTS t", &c),
        403,
        "NoPermission",
    );
    assert_eq!(
        h.odps_call(
            &*o,
            "GET",
            "/projects/other_proj/tables?expectmarker=true",
            b"",
            &c
        )
        .status,
        200
    );
    // A statement naming another account's project fails its instance.
    let (st, res) = h.odps_run(&*o, P, "CREATE TABLE other_proj.t (a bigint)", &h.root);
    assert_eq!(st, "Failed");
    assert!(res.starts_with("ODPS-0130013:"), "{res}");
}
