//! The role rules of the seed, one test each: one role per service; the PAI default role (the
//! service-linked role, narrowed to the workspace's bucket and project); custom roles (must exist,
//! `ram:PassRole` for RAM users, trust must name `eas.pai.aliyuncs.com` — the FAQ's exact event —
//! and fixing the trust policy then UpdateService/StartService succeeds); OSS mounts read with the
//! role's permissions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod eas_harness;

use common::*;
use eas_harness::*;
use keyless_objstore::Backend as _;
use serde_json::{json, Value};

const FAQ: &str = "unable to render, error: failed to assume role for user, reason: You are not authorized to do this action. You should be authorized by RAM.";

fn with(mut v: Value, patch: Value) -> Value {
    keyless_server::eas::spec::merge(&mut v, &patch);
    v
}

#[test]
fn one_role_per_service() {
    let e = EasHarness::new();
    let a = e.service_role("role-a", &["eas.pai.aliyuncs.com"], &[]);
    let b = e.service_role("role-b", &["eas.pai.aliyuncs.com"], &[]);
    for role_arn in [
        json!([a, b]),
        json!([a]),
        json!(format!("{a},{b}")),
        json!({"arn": a}),
    ] {
        let body = with(
            svc("two_roles"),
            json!({"options": {"enable_ram_role": true}, "role_arn": role_arn}),
        );
        let r = e.create(&body);
        assert_eq!(
            (r.status, r.code()),
            (400, "InvalidParameter"),
            "{role_arn}"
        );
        let m = r.body["Message"].as_str().unwrap();
        assert!(m.contains("\"role_arn\""), "{m}");
        if role_arn.is_array() || role_arn.is_string() {
            assert!(m.contains("one RAM role only"), "{m}");
        }
    }
    // UpdateService enforces it too.
    e.deploy(&svc("one_role"));
    let r = e.update("one_role", &json!({"role_arn": [a, b]}), &[]);
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
}

#[test]
fn enable_ram_role_alone_uses_the_pai_default_role() {
    let e = EasHarness::new();
    let body = with(
        svc("default_role"),
        json!({"metadata": {"workspace_id": e.ws.id}, "options": {"enable_ram_role": true}}),
    );
    let d = e.deploy(&body);
    assert_eq!(d["Status"], "Running", "{d}");

    // The service-linked role now exists in the account, trusting EAS, with its system policy.
    let role = e.h.ok(e.h.ram_call(
        "GetRole",
        &[("RoleName", "AliyunServiceRoleForPaiEas")],
        &e.h.root,
    ));
    assert_eq!(role["Role"]["IsServiceLinkedRole"], true);
    assert!(role["Role"]["AssumeRolePolicyDocument"]
        .as_str()
        .unwrap()
        .contains("eas.pai.aliyuncs.com"));
    assert_eq!(
        role["Role"]["Arn"],
        format!("acs:ram::{ACCOUNT}:role/aliyunserviceroleforpaieas")
    );
    let pols = e.h.ok(e.h.ram_call(
        "ListPoliciesForRole",
        &[("RoleName", "AliyunServiceRoleForPaiEas")],
        &e.h.root,
    ));
    assert!(
        pols.to_string()
            .contains("AliyunServiceRolePolicyForPaiEas"),
        "{pols}"
    );

    // The instance gets the default role's credentials, narrowed to the workspace's bucket.
    let spec = e.runner.specs(&e.service_id("default_role")).pop().unwrap();
    let env: std::collections::HashMap<_, _> = spec.env.iter().cloned().collect();
    assert_eq!(
        env["ALIBABA_CLOUD_CREDENTIALS_URI"],
        spec.agent.credentials_uri()
    );
    let c = e.agent(&e.token("default_role", 0));
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["RoleName"], "AliyunServiceRoleForPaiEas");
    let claims = keyless_token::open(
        &e.h.state.ring(),
        c.body["SecurityToken"].as_str().unwrap(),
        T0,
    )
    .unwrap();
    let policy = claims.session_policy.clone().unwrap();
    assert!(
        policy.contains(&format!("acs:oss:*:*:{}", e.ws.bucket)),
        "{policy}"
    );
    assert!(
        policy.contains(&format!("acs:oss:*:*:{}/*", e.ws.bucket)),
        "{policy}"
    );
    assert!(
        policy.contains(&format!("acs:odps:*:*:projects/{}", e.ws.project)),
        "{policy}"
    );
    assert!(has_event(
        &e.events("default_role"),
        &format!("bucket `{}`", e.ws.bucket)
    ));

    // A second service reuses the role.
    let d = e.deploy(&with(
        svc("default_two"),
        json!({"options": {"enable_ram_role": true}}),
    ));
    assert_eq!(d["Status"], "Running");
}

#[test]
fn the_default_role_reads_only_the_workspace_bucket() {
    let e = EasHarness::new();
    e.put_object(&e.ws.bucket, "code/xx.py", "print('hello')\n");
    e.put_object(&e.ws.bucket, "code/sub/data.txt", "d");
    e.backend
        .create_bucket("other-bucket", ACCOUNT, REGION)
        .unwrap();
    e.put_object("other-bucket", "code/xx.py", "x");
    let mount = |bucket: &str| {
        json!({"storage": [{"oss": {"path": format!("oss://{bucket}/code/"), "readOnly": true}, "mount_path": "/mnt/data/"}],
               "options": {"enable_ram_role": true}})
    };

    // With metadata.workspace_id: the workspace bucket mounts.
    let body = with(
        with(svc("mount_ok"), mount(&e.ws.bucket)),
        json!({"metadata": {"workspace_id": e.ws.id}}),
    );
    let d = e.deploy(&body);
    assert_eq!(d["Status"], "Running", "{d}");
    let dir = e.instance_dir("mount_ok", 0).join("mounts").join("0");
    assert_eq!(
        std::fs::read_to_string(dir.join("xx.py")).unwrap(),
        "print('hello')\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/data.txt")).unwrap(),
        "d"
    );
    let spec = e.runner.specs(&e.service_id("mount_ok")).pop().unwrap();
    assert_eq!(spec.mounts.len(), 1);
    assert_eq!(spec.mounts[0].source, dir);
    assert_eq!(
        spec.mounts[0].target,
        std::path::PathBuf::from("/mnt/data/")
    );
    assert!(spec.mounts[0].read_only);

    // Another bucket of the account: the session policy does not reach it.
    let body = with(
        with(svc("mount_other"), mount("other-bucket")),
        json!({"metadata": {"workspace_id": e.ws.id}}),
    );
    let d = e.deploy(&body);
    assert_eq!(d["Status"], "Failed", "{d}");
    assert_eq!(d["Reason"], "MountFailed");
    let ev = e.events("mount_other");
    assert!(has_event(&ev, "oss:ListObjects"), "{ev:?}");
    assert!(
        has_event(&ev, "may only read the workspace's default bucket"),
        "{ev:?}"
    );

    // Without metadata.workspace_id the default role has no OSS access at all, and says why.
    let d = e.deploy(&with(svc("mount_nows"), mount(&e.ws.bucket)));
    assert_eq!(d["Status"], "Failed", "{d}");
    let ev = e.events("mount_nows");
    assert!(
        ev.iter()
            .any(|x| x["Type"] == "Warning" && x["Reason"] == "DefaultRoleNoOss"),
        "{ev:?}"
    );
    assert!(has_event(&ev, "metadata.workspace_id"), "{ev:?}");
    // …and its credentials carry a session policy without OSS.
    let d = e.deploy(&with(
        svc("nows_creds"),
        json!({"options": {"enable_ram_role": true}}),
    ));
    assert_eq!(d["Status"], "Running");
    let c = e.agent(&e.token("nows_creds", 0));
    let claims = keyless_token::open(
        &e.h.state.ring(),
        c.body["SecurityToken"].as_str().unwrap(),
        T0,
    )
    .unwrap();
    assert!(!claims.session_policy.unwrap().contains("oss"));
}

#[test]
fn a_custom_role_must_exist() {
    let e = EasHarness::new();
    let arn = format!("acs:ram::{ACCOUNT}:role/no-such-role");
    let r = e.create(&with(
        svc("missing_role"),
        json!({"options": {"enable_ram_role": true}, "role_arn": arn}),
    ));
    assert_eq!(
        (r.status, r.code()),
        (404, "EntityNotExist.Role"),
        "{}",
        r.body
    );
    let m = r.body["Message"].as_str().unwrap();
    assert!(m.contains(&arn) && m.contains("existing RAM role"), "{m}");
    // A role of another account does not exist here either.
    let r = e.create(&with(
        svc("missing_role"),
        json!({"role_arn": "acs:ram::9999999999999999:role/x"}),
    ));
    assert_eq!(r.status, 404);
    assert_eq!(e.list(&[]).body["TotalCount"], 0);
}

#[test]
fn ram_users_need_pass_role() {
    let e = EasHarness::new();
    let arn = e.service_role("eas-demo-role", &["eas.pai.aliyuncs.com"], &[]);
    let dev = e.h.user("dev", &["AliyunPAIEASFullAccess"]);
    let body = with(
        svc("passrole_svc"),
        json!({"options": {"enable_ram_role": true}, "role_arn": arn}),
    );
    let r = e.create_as(&body.to_string(), &[], &dev);
    assert_eq!((r.status, r.code()), (403, "NoPermission"), "{}", r.body);
    let m = r.body["Message"].as_str().unwrap();
    assert!(m.contains("ram:PassRole") && m.contains(&arn), "{m}");
    assert_eq!(r.body["AccessDeniedDetail"]["AuthAction"], "ram:PassRole");

    // The policy from the seed, for this role name.
    let doc = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:PassRole","Resource":"acs:ram::*:role/eas-demo-role"}]}"#;
    e.h.ok(e.h.ram_call(
        "CreatePolicy",
        &[("PolicyName", "pass-eas-demo"), ("PolicyDocument", doc)],
        &e.h.root,
    ));
    e.h.ok(e.h.ram_call(
        "AttachPolicyToUser",
        &[
            ("UserName", "dev"),
            ("PolicyType", "Custom"),
            ("PolicyName", "pass-eas-demo"),
        ],
        &e.h.root,
    ));
    let r = e.create_as(&body.to_string(), &[], &dev);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(e.settle("passrole_svc")["Status"], "Running");
    // PassRole on this role does not pass another.
    let other = e.service_role("other-role", &["eas.pai.aliyuncs.com"], &[]);
    let r = e.update_as("passrole_svc", &json!({"role_arn": other}), &[], &dev);
    assert_eq!((r.status, r.code()), (403, "NoPermission"));
    // The root needs no PassRole, and the default role needs none.
    let r = e.create(&with(
        svc("root_pass"),
        json!({"options": {"enable_ram_role": true}, "role_arn": other}),
    ));
    assert_eq!(r.status, 200);
    let r = e.create_as(
        &with(
            svc("dev_default"),
            json!({"options": {"enable_ram_role": true}}),
        )
        .to_string(),
        &[],
        &dev,
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn untrusted_role_fails_with_the_faq_event_until_the_trust_policy_is_fixed() {
    let e = EasHarness::new();
    // The FAQ's "original" trust policy: the account and another service, not EAS.
    let arn = e.service_role("eas-untrusted", &["xxx.aliyuncs.com"], &[]);
    let body = with(
        svc("faq_svc"),
        json!({"options": {"enable_ram_role": true}, "role_arn": arn}),
    );
    let d = e.deploy(&body);
    assert_eq!(d["Status"], "Failed", "{d}");
    assert_eq!(d["Message"], FAQ);
    let ev = e.events("faq_svc");
    let hit = ev
        .iter()
        .find(|x| x["Message"] == FAQ)
        .unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!(hit["Type"], "Warning");
    assert!(e.runner.specs(&e.service_id("faq_svc")).is_empty());

    // StartService alone does not help while the trust policy is unchanged.
    assert_eq!(e.op("faq_svc", "start", "StartService").status, 200);
    assert_eq!(e.settle("faq_svc")["Message"], FAQ);

    // The FAQ's fix: add eas.pai.aliyuncs.com to the existing Principal.Service list.
    let fixed = json!({"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
        "Principal": {"RAM": [format!("acs:ram::{ACCOUNT}:root")], "Service": ["xxx.aliyuncs.com", "eas.pai.aliyuncs.com"]}}],
        "Version": "1"});
    e.h.ok(e.h.ram_call(
        "UpdateRole",
        &[
            ("RoleName", "eas-untrusted"),
            ("NewAssumeRolePolicyDocument", &fixed.to_string()),
        ],
        &e.h.root,
    ));
    let r = e.update("faq_svc", &json!({}), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let d = e.settle("faq_svc");
    assert_eq!(d["Status"], "Running", "{d}");
    let c = e.agent(&e.token("faq_svc", 0));
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["RoleName"], "eas-untrusted");

    // Same path with StartService: break the trust again, fail, fix, start.
    let broken = json!({"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
        "Principal": {"Service": ["xxx.aliyuncs.com"]}}], "Version": "1"});
    e.h.ok(e.h.ram_call(
        "UpdateRole",
        &[
            ("RoleName", "eas-untrusted"),
            ("NewAssumeRolePolicyDocument", &broken.to_string()),
        ],
        &e.h.root,
    ));
    // A running instance's next credential request fails the same way.
    let c = e.agent(&e.token("faq_svc", 0));
    assert_eq!(c.status, 403);
    assert_eq!(c.body["Message"], FAQ);
    let d = e.deploy(&with(
        svc("faq_two"),
        json!({"options": {"enable_ram_role": true}, "role_arn": arn}),
    ));
    assert_eq!(d["Message"], FAQ);
    e.h.ok(e.h.ram_call(
        "UpdateRole",
        &[
            ("RoleName", "eas-untrusted"),
            ("NewAssumeRolePolicyDocument", &fixed.to_string()),
        ],
        &e.h.root,
    ));
    assert_eq!(e.op("faq_two", "start", "StartService").status, 200);
    assert_eq!(e.settle("faq_two")["Status"], "Running");
}

#[test]
fn mounts_are_read_with_the_custom_role() {
    let e = EasHarness::new();
    e.backend
        .create_bucket("examplebucket", ACCOUNT, REGION)
        .unwrap();
    e.put_object("examplebucket", "data/xx.py", "print(1)");
    let storage = json!({"storage": [{"oss": {"path": "oss://examplebucket/data/"}, "mount_path": "/mnt/data"}]});

    // A role that may not read OSS: the deployment fails and says which permission is missing.
    let blind = e.service_role("blind-role", &["eas.pai.aliyuncs.com"], &[]);
    let body = with(
        with(svc("blind_svc"), storage.clone()),
        json!({"options": {"enable_ram_role": true}, "role_arn": blind}),
    );
    let d = e.deploy(&body);
    assert_eq!(d["Status"], "Failed");
    assert_eq!(d["Reason"], "MountFailed");
    let ev = e.events("blind_svc");
    assert!(
        has_event(
            &ev,
            "the role blind-role cannot read oss://examplebucket/data/"
        ),
        "{ev:?}"
    );

    // With AliyunOSSReadOnlyAccess the files arrive.
    let reader = e.service_role(
        "reader-role",
        &["eas.pai.aliyuncs.com"],
        &["AliyunOSSReadOnlyAccess"],
    );
    let body = with(
        with(svc("reader_svc"), storage.clone()),
        json!({"options": {"enable_ram_role": true}, "role_arn": reader}),
    );
    assert_eq!(e.deploy(&body)["Status"], "Running");
    let f = e.instance_dir("reader_svc", 0).join("mounts/0/xx.py");
    assert_eq!(std::fs::read_to_string(f).unwrap(), "print(1)");

    // A role allowed to list but denied one object fails on that object.
    let doc = r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"oss:GetObject","Resource":"acs:oss:*:*:examplebucket/data/secret*"}]}"#;
    e.h.ok(e.h.ram_call(
        "CreatePolicy",
        &[("PolicyName", "deny-secret"), ("PolicyDocument", doc)],
        &e.h.root,
    ));
    e.h.ok(e.h.ram_call(
        "AttachPolicyToRole",
        &[
            ("RoleName", "reader-role"),
            ("PolicyType", "Custom"),
            ("PolicyName", "deny-secret"),
        ],
        &e.h.root,
    ));
    e.put_object("examplebucket", "data/secret.txt", "s");
    assert_eq!(e.op("reader_svc", "stop", "StopService").status, 200);
    assert_eq!(e.op("reader_svc", "start", "StartService").status, 200);
    let d = e.settle("reader_svc");
    assert_eq!(d["Status"], "Failed");
    assert!(has_event(
        &e.events("reader_svc"),
        "oss://examplebucket/data/secret.txt"
    ));

    // A bucket that does not exist.
    let body = with(
        with(
            svc("nobucket_svc"),
            json!({"storage": [{"oss": {"path": "oss://missing-bucket/x/"}, "mount_path": "/mnt/x"}]}),
        ),
        json!({"options": {"enable_ram_role": true}, "role_arn": reader}),
    );
    let d = e.deploy(&body);
    assert_eq!(d["Status"], "Failed");
    assert!(has_event(&e.events("nobucket_svc"), "missing-bucket"));
}
