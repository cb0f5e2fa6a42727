//! The agent API: a token yields its own service's role credentials and nothing else; tokens are
//! revoked by redeployment and deletion; stopped services get 403; requests are rate-limited;
//! credentials are real STS credentials of the role.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod eas_harness;

use common::*;
use eas_harness::*;
use keyless_secret::SecretString;
use serde_json::json;

fn role_svc(e: &EasHarness, name: &str, role: &str) -> String {
    let arn = e.service_role(
        role,
        &["eas.pai.aliyuncs.com"],
        &["AliyunRAMReadOnlyAccess"],
    );
    let mut body = svc(name);
    body["options"] = json!({"enable_ram_role": true});
    body["role_arn"] = json!(arn);
    body["metadata"]["instance"] = json!(2);
    let d = e.deploy(&body);
    assert_eq!(d["Status"], "Running", "{d}");
    arn
}

#[test]
fn tokens_yield_only_their_own_service_role() {
    let e = EasHarness::new();
    role_svc(&e, "svc_a", "role-a");
    role_svc(&e, "svc_b", "role-b");
    let (a0, a1, b0) = (
        e.token("svc_a", 0),
        e.token("svc_a", 1),
        e.token("svc_b", 0),
    );

    let ca = e.agent(&a0);
    assert_eq!(ca.status, 200, "{}", ca.body);
    for k in [
        "Code",
        "AccessKeyId",
        "AccessKeySecret",
        "SecurityToken",
        "Expiration",
    ] {
        assert!(ca.body[k].as_str().is_some_and(|v| !v.is_empty()), "{k}");
    }
    assert_eq!(ca.body["Code"], "Success");
    assert_eq!(ca.body["RoleName"], "role-a");
    assert!(ca.body["AccessKeyId"].as_str().unwrap().starts_with("STS."));
    let exp = keyless_token::parse_expiration(ca.body["Expiration"].as_str().unwrap()).unwrap();
    assert_eq!(exp, T0 + 3600);

    // The credentials are the role's: GetCallerIdentity through STS names the instance session.
    let creds = Creds {
        id: ca.body["AccessKeyId"].as_str().unwrap().into(),
        secret: SecretString::from(ca.body["AccessKeySecret"].as_str().unwrap()),
        token: Some(ca.body["SecurityToken"].as_str().unwrap().into()),
    };
    let me = e.h.ok(e.h.sts_call("GetCallerIdentity", &[], &creds));
    assert_eq!(
        me["Arn"],
        format!("acs:ram::{ACCOUNT}:assumed-role/role-a/eas-svc_a-0")
    );
    let ca1 = e.agent(&a1);
    let me1 = e.h.ok(e.h.sts_call(
        "GetCallerIdentity",
        &[],
        &Creds {
            id: ca1.body["AccessKeyId"].as_str().unwrap().into(),
            secret: SecretString::from(ca1.body["AccessKeySecret"].as_str().unwrap()),
            token: Some(ca1.body["SecurityToken"].as_str().unwrap().into()),
        },
    ));
    assert_eq!(
        me1["Arn"],
        format!("acs:ram::{ACCOUNT}:assumed-role/role-a/eas-svc_a-1")
    );
    // And they carry the role's permissions (AliyunRAMReadOnlyAccess).
    assert_eq!(
        e.h.ram_call("GetRole", &[("RoleName", "role-a")], &creds)
            .status,
        200
    );

    // Service B's token yields B's role, never A's.
    let cb = e.agent(&b0);
    assert_eq!(cb.status, 200);
    assert_eq!(cb.body["RoleName"], "role-b");
    assert_ne!(cb.body["AccessKeyId"], ca.body["AccessKeyId"]);

    // Unknown, malformed, missing.
    let mut forged = a0.clone().into_bytes();
    forged[0] = if forged[0] == b'a' { b'b' } else { b'a' };
    let r = e.agent(&String::from_utf8(forged).unwrap());
    assert_eq!(
        (r.status, r.body["Code"].as_str()),
        (401, Some("InvalidToken"))
    );
    assert_eq!(e.agent("short").status, 401);
    assert_eq!(e.agent("").status, 401);

    // Deleting service A kills its tokens; B's keep working.
    assert_eq!(e.delete("svc_a").status, 200);
    assert_eq!(e.agent(&a0).status, 401);
    assert_eq!(e.agent(&a1).status, 401);
    assert_eq!(e.agent(&b0).status, 200);
    // A new service of the same name does not revive them.
    role_svc(&e, "svc_a", "role-a2");
    assert_eq!(e.agent(&a0).status, 401);
    assert_eq!(e.agent(&e.token("svc_a", 0)).body["RoleName"], "role-a2");
}

#[test]
fn stopped_services_get_403_and_redeploys_revoke() {
    let e = EasHarness::new();
    role_svc(&e, "svc_s", "role-s");
    let t = e.token("svc_s", 0);
    assert_eq!(e.agent(&t).status, 200);
    assert_eq!(e.op("svc_s", "stop", "StopService").status, 200);
    let r = e.agent(&t);
    assert_eq!(
        (r.status, r.body["Code"].as_str()),
        (403, Some("Forbidden"))
    );
    assert_eq!(e.op("svc_s", "start", "StartService").status, 200);
    assert_eq!(e.settle("svc_s")["Status"], "Running");
    // The new deployment issued new tokens; the old one is revoked.
    assert_eq!(e.agent(&t).status, 401);
    assert_eq!(e.agent(&e.token("svc_s", 0)).status, 200);
}

#[test]
fn services_without_a_role_get_no_credentials() {
    let e = EasHarness::new();
    e.deploy(&svc("no_role"));
    let r = e.agent(&e.token("no_role", 0));
    assert_eq!(r.status, 403);
    assert!(r.body["Message"]
        .as_str()
        .unwrap()
        .contains("enable_ram_role"));
}

#[test]
fn requests_are_rate_limited_per_token() {
    let e = EasHarness::new();
    role_svc(&e, "svc_r", "role-r");
    let (t0, t1) = (e.token("svc_r", 0), e.token("svc_r", 1));
    let mut codes = Vec::new();
    for _ in 0..25 {
        codes.push(e.agent(&t0).status);
    }
    assert!(codes.iter().take(20).all(|c| *c == 200), "{codes:?}");
    assert!(codes.contains(&429), "{codes:?}");
    // Another instance's token has its own budget, and time refills it.
    assert_eq!(e.agent(&t1).status, 200);
    e.h.clock.advance(1);
    assert_eq!(e.agent(&t0).status, 200);
}

#[test]
fn no_secret_reaches_the_events_or_the_instance() {
    let e = EasHarness::new();
    role_svc(&e, "svc_x", "role-x");
    let c = e.agent(&e.token("svc_x", 0));
    let secret = c.body["AccessKeySecret"].as_str().unwrap().to_owned();
    let token = e.token("svc_x", 0);
    let events = serde_json::to_string(&e.events("svc_x")).unwrap();
    assert!(!events.contains(&secret) && !events.contains(&token));
    for s in e.runner.specs(&e.service_id("svc_x")) {
        let dump = format!("{s:?}");
        assert!(
            !dump.contains(&token),
            "the token itself must not be in the spec"
        );
        assert!(!dump.contains(e.h.root.secret.expose_secret()));
    }
    let d = e.describe("svc_x").body.to_string();
    assert!(!d.contains(&token) && !d.contains(&secret));
}
