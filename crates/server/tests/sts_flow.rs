//! AssumeRole and session behaviour that needs a clock: expiry, skew, revocation through RAM,
//! rate limits, key-ring rotation, and that no secret reaches the audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use keyless_server::state::Config;

#[test]
fn session_credentials_expire() {
    let h = Harness::new(Config::default());
    let alice = h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let arn = h.role("reader", &[]);
    let s = h.session(h.assume(&alice, &arn, &[("DurationSeconds", "900")]));
    let me = h.ok(h.sts_call("GetCallerIdentity", &[], &s));
    assert_eq!(
        me["Arn"],
        format!("acs:ram::{ACCOUNT}:assumed-role/reader/test-session")
    );
    assert_eq!(me["IdentityType"], "AssumedRoleUser");
    h.clock.advance(899);
    assert_eq!(h.sts_call("GetCallerIdentity", &[], &s).status, 200);
    h.clock.advance(1);
    let r = h.sts_call("GetCallerIdentity", &[], &s);
    assert_eq!((r.status, r.code()), (400, "InvalidSecurityToken.Expired"));
}

#[test]
fn skewed_timestamps_are_refused() {
    let h = Harness::new(Config::default());
    for skew in [-901, 901] {
        let req = h.v1_request(
            "2015-04-01",
            "GetCallerIdentity",
            &[],
            &h.root,
            Some(T0 + skew),
        );
        let r = h.send(&h.sts, req);
        assert_eq!(
            (r.status, r.code()),
            (400, "InvalidTimeStamp.Expired"),
            "skew {skew}"
        );
    }
    let req = h.v1_request(
        "2015-04-01",
        "GetCallerIdentity",
        &[],
        &h.root,
        Some(T0 - 899),
    );
    assert_eq!(h.send(&h.sts, req).status, 200);
}

#[test]
fn replayed_requests_are_refused() {
    let h = Harness::new(Config::default());
    let req = h.v1_request("2015-04-01", "GetCallerIdentity", &[], &h.root, None);
    assert_eq!(h.send(&h.sts, req.clone()).status, 200);
    let r = h.send(&h.sts, req);
    assert_eq!((r.status, r.code()), (400, "SignatureNonceUsed"));
}

#[test]
fn detaching_a_policy_takes_effect_at_once() {
    let h = Harness::new(Config::default());
    let alice = h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let arn = h.role("ops", &["AliyunRAMReadOnlyAccess"]);
    let s = h.session(h.assume(&alice, &arn, &[]));
    assert_eq!(
        h.ram_call("GetRole", &[("RoleName", "ops")], &s).status,
        200
    );
    h.ok(h.ram_call(
        "DetachPolicyFromRole",
        &[
            ("RoleName", "ops"),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
        ],
        &h.root,
    ));
    let r = h.ram_call("GetRole", &[("RoleName", "ops")], &s);
    assert_eq!((r.status, r.code()), (403, "NoPermission"));
    assert_eq!(
        r.body["AccessDeniedDetail"]["NoPermissionType"],
        "ImplicitDeny"
    );
    assert_eq!(r.body["AccessDeniedDetail"]["AuthAction"], "ram:GetRole");
}

#[test]
fn deleting_a_role_ends_its_sessions() {
    let h = Harness::new(Config::default());
    let alice = h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let arn = h.role("temp", &[]);
    let s = h.session(h.assume(&alice, &arn, &[]));
    assert_eq!(h.sts_call("GetCallerIdentity", &[], &s).status, 200);
    h.ok(h.ram_call("DeleteRole", &[("RoleName", "temp")], &h.root));
    let r = h.sts_call("GetCallerIdentity", &[], &s);
    assert_eq!((r.status, r.code()), (400, "InvalidSecurityToken.Expired"));
    // A new role under the same name is another role: the old session stays dead.
    h.role("temp", &[]);
    assert_eq!(h.sts_call("GetCallerIdentity", &[], &s).status, 400);
}

#[test]
fn session_policy_narrows_the_role() {
    let h = Harness::new(Config::default());
    let alice = h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let arn = h.role("ops", &["AliyunRAMReadOnlyAccess"]);
    let policy =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetRole","Resource":"*"}]}"#;
    let s = h.session(h.assume(&alice, &arn, &[("Policy", policy)]));
    assert_eq!(
        h.ram_call("GetRole", &[("RoleName", "ops")], &s).status,
        200
    );
    let r = h.ram_call("ListRoles", &[], &s);
    assert_eq!((r.status, r.code()), (403, "NoPermission"));
}

#[test]
fn assume_role_is_rate_limited_per_caller() {
    let h = Harness::new(Config {
        assume_role_rate: 1.0,
        assume_role_burst: 2.0,
        ..Config::default()
    });
    let alice = h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let bob = h.user("bob", &["AliyunSTSAssumeRoleAccess"]);
    let arn = h.role("r", &[]);
    assert_eq!(h.assume(&alice, &arn, &[]).status, 200);
    assert_eq!(h.assume(&alice, &arn, &[]).status, 200);
    let r = h.assume(&alice, &arn, &[]);
    assert_eq!((r.status, r.code()), (400, "Throttling.User"));
    assert_eq!(
        h.assume(&bob, &arn, &[]).status,
        200,
        "one runaway caller does not starve another"
    );
    h.clock.advance(1);
    assert_eq!(
        h.assume(&alice, &arn, &[]).status,
        200,
        "the bucket refills"
    );
}

#[test]
fn rotated_keys_keep_old_tokens_valid_until_expiry() {
    let h = Harness::new(Config::default());
    let alice = h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let arn = h.role("r", &["AliyunRAMReadOnlyAccess"]);
    let old = h.session(h.assume(&alice, &arn, &[("DurationSeconds", "3600")]));
    // Rotate: a new active key seals new tokens; the old key stays for verification.
    h.clock.advance(1800);
    {
        let mut ring = (*h.state.ring()).clone();
        assert!(ring.rotate_if_due(h.clock.now_secs(), 1, 43_200, [2u8; 32]));
        h.state.set_ring(ring);
    }
    let new = h.session(h.assume(&alice, &arn, &[]));
    assert_ne!(old.token, new.token);
    assert_eq!(h.sts_call("GetCallerIdentity", &[], &old).status, 200);
    assert_eq!(h.sts_call("GetCallerIdentity", &[], &new).status, 200);
}

#[test]
fn assume_role_failures_have_vendor_codes() {
    let h = Harness::new(Config::default());
    let alice = h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let carol = h.user("carol", &[]);
    let arn = h.role("r", &[]);
    let cases: Vec<(Resp, u16, &str)> = vec![
        (h.assume(&h.root, &arn, &[]), 403, "NoPermission"),
        (h.assume(&carol, &arn, &[]), 403, "NoPermission"),
        (
            h.assume(&alice, &format!("acs:ram::{ACCOUNT}:role/missing"), &[]),
            404,
            "EntityNotExist.Role",
        ),
        (
            h.assume(&alice, "not-an-arn", &[]),
            400,
            "InvalidParameter.RoleArn",
        ),
        (
            h.assume(&alice, &arn, &[("DurationSeconds", "100")]),
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            h.assume(&alice, &arn, &[("DurationSeconds", "3601")]),
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            h.assume(&alice, &arn, &[("Policy", "{not json")]),
            400,
            "InvalidParameter.PolicyGrammar",
        ),
        (
            h.assume(&alice, &arn, &[("Policy", &"x".repeat(2049))]),
            400,
            "InvalidParameter.PolicySize",
        ),
    ];
    for (i, (r, status, code)) in cases.iter().enumerate() {
        assert_eq!(
            (r.status, r.code()),
            (*status, *code),
            "case {i}: {}",
            r.body
        );
        assert!(
            r.body["RequestId"].is_string()
                && r.body["HostId"].is_string()
                && r.body["Message"].is_string()
        );
    }
    let root = h.assume(&h.root, &arn, &[]);
    assert_eq!(
        root.body["Message"],
        "Roles may not be assumed by root accounts."
    );
    let bad_name = h.sts_call(
        "AssumeRole",
        &[("RoleArn", &arn), ("RoleSessionName", "a b")],
        &alice,
    );
    assert_eq!(bad_name.code(), "InvalidParameter.RoleSessionName");
}

#[test]
fn trust_policy_must_admit_the_caller() {
    let h = Harness::new(Config::default());
    let alice = h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let trust = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["eas.pai.aliyuncs.com"]}}]}"#;
    h.ok(h.ram_call(
        "CreateRole",
        &[("RoleName", "svc"), ("AssumeRolePolicyDocument", trust)],
        &h.root,
    ));
    let arn = format!("acs:ram::{ACCOUNT}:role/svc");
    let r = h.assume(&alice, &arn, &[]);
    assert_eq!((r.status, r.code()), (403, "NoPermission"));
    // The platform path: the service principal is admitted by the trust policy alone.
    let issued = keyless_server::auth::session::assume_role_as_service(
        &h.state,
        "eas.pai.aliyuncs.com",
        &arn,
        "eas-instance",
        None,
        None,
    )
    .unwrap();
    assert!(issued.access_key_id.starts_with("STS."));
    let denied = keyless_server::auth::session::assume_role_as_service(
        &h.state,
        "ecs.aliyuncs.com",
        &arn,
        "x-instance",
        None,
        None,
    );
    assert_eq!(
        denied.err().map(|e| e.code),
        Some("NoPermission".to_owned())
    );
    // sts:ExternalId conditions.
    let trust_ext = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{ACCOUNT}:root"]}},"Condition":{{"StringEquals":{{"sts:ExternalId":"abc-123"}}}}}}]}}"#
    );
    h.ok(h.ram_call(
        "CreateRole",
        &[
            ("RoleName", "ext"),
            ("AssumeRolePolicyDocument", &trust_ext),
        ],
        &h.root,
    ));
    let ext = format!("acs:ram::{ACCOUNT}:role/ext");
    assert_eq!(h.assume(&alice, &ext, &[]).status, 403);
    assert_eq!(
        h.assume(&alice, &ext, &[("ExternalId", "wrong-1")]).status,
        403
    );
    assert_eq!(
        h.assume(&alice, &ext, &[("ExternalId", "abc-123")]).status,
        200
    );
}

#[test]
fn audit_records_every_issue_and_change_without_secrets() {
    let h = Harness::new(Config::default());
    let alice = h.user("alice", &["AliyunSTSAssumeRoleAccess"]);
    let arn = h.role("r", &[]);
    let s = h.session(h.assume(&alice, &arn, &[]));
    let _ = h.assume(&h.root, &arn, &[]);
    h.state.audit().shutdown(); // flush the group-commit queue
    let records = h.state.store().recent_audit(1000).unwrap();
    let text = format!("{records:?}");
    for secret in [
        alice.secret.expose_secret(),
        s.secret.expose_secret(),
        s.token.as_deref().unwrap(),
        h.root.secret.expose_secret(),
    ] {
        assert!(!text.contains(secret), "a secret reached the audit log");
    }
    assert!(records.iter().any(|r| r.action == "sts:AssumeRole"
        && r.result == "Success"
        && r.detail.contains(&s.id)));
    assert!(records
        .iter()
        .any(|r| r.action == "sts:AssumeRole" && r.result == "NoPermission"));
    assert!(records
        .iter()
        .any(|r| r.action == "ram:CreateRole" && r.result == "Success"));
    assert!(records
        .iter()
        .any(|r| r.action == "ram:CreateAccessKey" && r.target.ends_with(":user/alice")));
}

#[test]
fn inactive_and_unknown_keys() {
    let h = Harness::new(Config::default());
    let alice = h.user("alice", &[]);
    h.ok(h.ram_call(
        "UpdateAccessKey",
        &[
            ("UserName", "alice"),
            ("UserAccessKeyId", &alice.id),
            ("Status", "Inactive"),
        ],
        &h.root,
    ));
    let r = h.sts_call("GetCallerIdentity", &[], &alice);
    assert_eq!((r.status, r.code()), (400, "InvalidAccessKeyId.Inactive"));
    let ghost = Creds {
        id: "LTAInotakey0000000000000".into(),
        secret: h.root.secret.clone(),
        token: None,
    };
    let r = h.sts_call("GetCallerIdentity", &[], &ghost);
    assert_eq!((r.status, r.code()), (404, "InvalidAccessKeyId.NotFound"));
    let wrong = Creds {
        secret: keyless_secret::SecretString::from("wrong"),
        ..h.root.clone()
    };
    let r = h.sts_call("GetCallerIdentity", &[], &wrong);
    assert_eq!((r.status, r.code()), (400, "SignatureDoesNotMatch"));
    assert!(r.body["Message"]
        .as_str()
        .unwrap()
        .contains("server string to sign is:POST&%2F&"));
}
