//! The EAS routes in-process (fake runner): shapes, validation errors, update/start/stop/delete,
//! events and instances, both signature dialects, authorization.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod eas_harness;

use common::*;
use eas_harness::*;
use serde_json::{json, Value};

#[test]
fn create_describe_list_delete() {
    let e = EasHarness::new();
    // Unknown fields and key order are kept verbatim in ServiceConfig.
    let body = r#"{"name": "demo_one", "zzz_unknown": {"b": 1, "a": 2}, "metadata": {"instance": 2, "cpu": 2, "memory": 4000}, "containers": [{"image": "registry.example/demo:1.0", "command": "python3 -c 'print(1)'", "port": 8000, "env": [{"name": "GREETING", "value": "hi"}]}]}"#;
    let r = e.create_as(body, &[("Labels", r#"{"team":"a"}"#)], &e.root());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["Status"], "Creating");
    assert_eq!(r.body["ServiceName"], "demo_one");
    assert_eq!(r.body["Region"], REGION);
    let sid = r.body["ServiceId"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("eas-m-"));

    let d = e.settle("demo_one");
    assert_eq!(d["Status"], "Running", "{d}");
    assert_eq!(d["ServiceConfig"], body);
    assert_eq!(d["TotalInstance"], 2);
    assert_eq!(d["RunningInstance"], 2);
    assert_eq!(d["PendingInstance"], 0);
    assert_eq!(d["Cpu"], 2);
    assert_eq!(d["Memory"], 4000);
    assert_eq!(d["Image"], "registry.example/demo:1.0");
    assert_eq!(
        d["Labels"],
        json!([{"LabelKey": "team", "LabelValue": "a"}])
    );
    assert_eq!(d["ParentUid"], ACCOUNT);
    assert_eq!(d["CallerUid"], ACCOUNT);
    assert!(d["CreateTime"].as_str().unwrap().ends_with('Z'));

    // Two instances handed to the runner, each with its own agent, token and directories.
    let specs = e.runner.specs(&sid);
    assert_eq!(specs.len(), 2);
    assert_ne!(specs[0].agent.listen, specs[1].agent.listen);
    assert_ne!(e.token("demo_one", 0), e.token("demo_one", 1));
    for (i, s) in specs.iter().enumerate() {
        assert_eq!(s.instance, format!("demo_one-{i}"));
        assert_eq!(s.command, "python3 -c 'print(1)'");
        assert_eq!(s.hidden, vec![e.h.dir.clone()]);
        assert_eq!(
            s.credentials_dir,
            e.instance_dir("demo_one", i as u32).join("creds")
        );
        assert!(s.agent.uri_path.starts_with("/credentials/"));
        let env: std::collections::HashMap<_, _> = s.env.iter().cloned().collect();
        assert_eq!(env["GREETING"], "hi");
        assert_eq!(env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"], "true");
        assert_eq!(env["NO_PROXY"], "127.0.0.1,localhost");
        assert_eq!(env["no_proxy"], "127.0.0.1,localhost");
        assert_eq!(env["LISTENING_PORT"], "8000");
        // No role: no credentials URI; never a secret or a proxy.
        assert!(!env.contains_key("ALIBABA_CLOUD_CREDENTIALS_URI"));
        for k in env.keys() {
            assert!(
                !k.to_ascii_lowercase().contains("proxy") || k.eq_ignore_ascii_case("no_proxy"),
                "{k}"
            );
            assert!(!k.contains("ACCESS_KEY") && !k.contains("SECRET"), "{k}");
        }
        let token = e.token("demo_one", i as u32);
        assert_eq!(token.len(), 64);
        for v in env.values() {
            assert!(!v.contains(&token));
        }
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&s.agent.token_file)
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    // Events: every transition, in UTC.
    let ev = e.events("demo_one");
    let reasons: Vec<&str> = ev.iter().map(|x| x["Reason"].as_str().unwrap()).collect();
    for r in [
        "Creating",
        "Deploying",
        "ImageRecorded",
        "InstanceStarted",
        "Running",
    ] {
        assert!(reasons.contains(&r), "{reasons:?}");
    }
    assert!(has_event(&ev, "not pulled"));
    assert!(ev
        .iter()
        .all(|x| x["Time"].as_str().unwrap().ends_with('Z')));

    // Instances.
    let inst = e.instances("demo_one");
    assert_eq!(inst.status, 200);
    assert_eq!(inst.body["TotalCount"], 2);
    assert_eq!(inst.body["Instances"][0]["InstanceName"], "demo_one-0");
    assert_eq!(inst.body["Instances"][0]["Status"], "Running");
    assert_eq!(inst.body["Instances"][0]["InstancePort"], 8000);

    // List and its filters.
    e.deploy(&svc("demo_two"));
    let l = e.list(&[]);
    assert_eq!(l.body["TotalCount"], 2, "{}", l.body);
    assert_eq!(l.body["Services"].as_array().unwrap().len(), 2);
    assert_eq!(e.list(&[("ServiceName", "one")]).body["TotalCount"], 1);
    assert_eq!(
        e.list(&[("Label", r#"{"team":"a"}"#)]).body["TotalCount"],
        1
    );
    assert_eq!(
        e.list(&[("ServiceStatus", "Stopped")]).body["TotalCount"],
        0
    );
    let p = e.list(&[("PageSize", "1"), ("PageNumber", "2")]);
    assert_eq!(p.body["Services"].as_array().unwrap().len(), 1);
    assert_eq!(p.body["PageNumber"], 2);

    // Delete: gone, stopped, events dropped.
    let d = e.delete("demo_one");
    assert_eq!(d.status, 200, "{}", d.body);
    assert!(d.body["Message"].is_string());
    let r = e.describe("demo_one");
    assert_eq!((r.status, r.code()), (404, "ServiceNotFound"));
    assert!(e.runner.stops(&sid) >= 1);
    assert!(e
        .h
        .state
        .store()
        .list_events(&format!("eas/{sid}"))
        .unwrap()
        .is_empty());
    assert_eq!(e.list(&[]).body["TotalCount"], 1);
    let r = e.delete("demo_one");
    assert_eq!((r.status, r.code()), (404, "ServiceNotFound"));
}

#[test]
fn validation_errors_name_the_field() {
    let e = EasHarness::new();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"containers": [{"command": "x"}]}), "\"name\""),
        (
            json!({"name": "Bad-Name", "containers": [{"command": "x"}]}),
            "\"name\"",
        ),
        (
            json!({"name": "ab", "containers": [{"command": "x"}]}),
            "\"name\"",
        ),
        (
            json!({"name": "okname", "metadata": {"instance": 0}, "containers": [{"command": "x"}]}),
            "\"metadata.instance\"",
        ),
        (
            json!({"name": "okname", "metadata": {"instance": 11}, "containers": [{"command": "x"}]}),
            "\"metadata.instance\"",
        ),
        (
            json!({"name": "okname", "metadata": {"workspace_id": "999999"}, "containers": [{"command": "x"}]}),
            "\"metadata.workspace_id\"",
        ),
        (json!({"name": "okname"}), "\"containers\""),
        (
            json!({"name": "okname", "containers": [{"image": "x"}]}),
            "\"containers[0].command\"",
        ),
        (
            json!({"name": "okname", "containers": [{"command": "x", "port": 0}]}),
            "\"containers[0].port\"",
        ),
        (
            json!({"name": "okname", "containers": [{"command": "x", "env": [{"value": "v"}]}]}),
            "\"containers[0].env[0].name\"",
        ),
        (
            json!({"name": "okname", "containers": [{"command": "x", "prepare": {"pythonRequirements": [1]}}]}),
            "\"containers[0].prepare.pythonRequirements[0]\"",
        ),
        (
            json!({"name": "okname", "containers": [{"command": "x"}], "storage": [{"oss": {"path": "oss://bkt/x/"}, "mount_path": "relative"}], "options": {"enable_ram_role": true}}),
            "\"storage[0].mount_path\"",
        ),
        (
            json!({"name": "okname", "containers": [{"command": "x"}], "storage": [{"oss": {"path": "bkt/x/"}, "mount_path": "/mnt/x"}], "options": {"enable_ram_role": true}}),
            "\"storage[0].oss.path\"",
        ),
        (
            json!({"name": "okname", "containers": [{"command": "x"}], "storage": [{"oss": {"path": "oss://bkt/x/"}, "mount_path": "/mnt/x"}]}),
            "\"storage[0]\"",
        ),
        (
            json!({"name": "okname", "containers": [{"command": "x"}], "options": {"enable_ram_role": 1}}),
            "\"options.enable_ram_role\"",
        ),
        (
            json!({"name": "okname", "containers": [{"command": "x"}], "role_arn": "not-an-arn"}),
            "\"role_arn\"",
        ),
    ];
    for (body, field) in cases {
        let r = e.create(&body);
        assert_eq!(
            (r.status, r.code()),
            (400, "InvalidParameter"),
            "{body}: {}",
            r.body
        );
        assert!(
            r.body["Message"].as_str().unwrap().contains(field),
            "{field}: {}",
            r.body
        );
    }
    for raw in ["", "not json", "[1,2]", "{\"name\": "] {
        let r = e.create_as(raw, &[], &e.root());
        assert_eq!((r.status, r.code()), (400, "InvalidParameter"), "{raw}");
        assert!(r.body["Message"].as_str().unwrap().contains("\"body\""));
    }
    let r = e.create_as(&svc("okname").to_string(), &[("Labels", "nope")], &e.root());
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    assert!(r.body["Message"].as_str().unwrap().contains("Labels"));
    // Nothing was created by any of these.
    assert_eq!(e.list(&[]).body["TotalCount"], 0);

    // Duplicate names, unknown services, other regions.
    e.deploy(&svc("dupe_svc"));
    let r = e.create(&svc("dupe_svc"));
    assert_eq!((r.status, r.code()), (409, "ServiceAlreadyExists"));
    let r = e.describe("no_such_svc");
    assert_eq!((r.status, r.code()), (404, "ServiceNotFound"));
    let r = e.send(e.v3_request(
        "GET",
        "/api/v2/services/cn-shanghai/dupe_svc",
        &[],
        "",
        "DescribeService",
        &e.root(),
    ));
    assert_eq!((r.status, r.code()), (404, "ServiceNotFound"));
    let r = e.send(e.v3_request(
        "GET",
        "/api/v2/nothing",
        &[],
        "",
        "DescribeService",
        &e.root(),
    ));
    assert_eq!(r.status, 404);
    let r = e.list(&[("PageSize", "0")]);
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
}

#[test]
fn workspace_and_query_workspace() {
    let e = EasHarness::new();
    let mut b = svc("ws_svc");
    b["metadata"]["workspace_id"] = json!(e.ws.id);
    let r = e.create_as(&b.to_string(), &[("WorkspaceId", &e.ws.id)], &e.root());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(e.settle("ws_svc")["WorkspaceId"], e.ws.id.as_str());
    assert_eq!(e.list(&[("WorkspaceId", &e.ws.id)]).body["TotalCount"], 1);
    let r = e.create_as(
        &svc("ws_two").to_string(),
        &[("WorkspaceId", "424242")],
        &e.root(),
    );
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    assert!(r.body["Message"].as_str().unwrap().contains("WorkspaceId"));
}

#[test]
fn update_merge_and_replace() {
    let e = EasHarness::new();
    e.deploy(&svc("upd_svc"));
    let sid = e.service_id("upd_svc");
    let old_token = e.token("upd_svc", 0);

    // Merge: only the instance count changes; unknown fields are added.
    let r = e.update(
        "upd_svc",
        &json!({"metadata": {"instance": 3}, "extra": true}),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["Message"].is_string());
    let d = e.settle("upd_svc");
    assert_eq!(d["Status"], "Running");
    assert_eq!(d["TotalInstance"], 3);
    assert_eq!(d["CurrentVersion"], 2);
    let cfg: Value = serde_json::from_str(d["ServiceConfig"].as_str().unwrap()).unwrap();
    assert_eq!(cfg["metadata"]["cpu"], 1);
    assert_eq!(cfg["extra"], true);
    assert_eq!(cfg["containers"][0]["port"], 8000);
    assert_eq!(e.runner.specs(&sid).len(), 1 + 3);
    // The redeployment revoked the old tokens.
    assert_eq!(e.agent(&old_token).status, 401);

    // Replace: the body is the whole new config (the name comes from the path).
    let r = e.update(
        "upd_svc",
        &json!({"containers": [{"command": "sleep 3600"}]}),
        &[("UpdateType", "replace")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let d = e.settle("upd_svc");
    assert_eq!(d["TotalInstance"], 1);
    let cfg: Value = serde_json::from_str(d["ServiceConfig"].as_str().unwrap()).unwrap();
    assert!(cfg.get("extra").is_none());
    assert_eq!(cfg["name"], "upd_svc");
    assert_eq!(e.runner.specs(&sid).last().unwrap().command, "sleep 3600");

    // Bad updates change nothing.
    for (body, q, field) in [
        (json!({"name": "other_name"}), vec![], "name"),
        (
            json!({"metadata": {"instance": -1}}),
            vec![],
            "metadata.instance",
        ),
        (json!({}), vec![("UpdateType", "sideways")], "UpdateType"),
    ] {
        let r = e.update("upd_svc", &body, &q);
        assert_eq!(
            (r.status, r.code()),
            (400, "InvalidParameter"),
            "{}",
            r.body
        );
        assert!(r.body["Message"].as_str().unwrap().contains(field));
    }
    assert_eq!(e.describe("upd_svc").body["CurrentVersion"], 3);
    let r = e.update("missing_svc", &json!({}), &[]);
    assert_eq!((r.status, r.code()), (404, "ServiceNotFound"));
}

#[test]
fn stop_and_start() {
    let e = EasHarness::new();
    e.deploy(&svc("ss_svc"));
    let sid = e.service_id("ss_svc");
    let r = e.op("ss_svc", "stop", "StopService");
    assert_eq!(r.status, 200, "{}", r.body);
    let d = e.describe("ss_svc").body;
    assert_eq!(d["Status"], "Stopped");
    assert_eq!(d["RunningInstance"], 0);
    assert!(e.runner.stops(&sid) >= 1);
    assert!(has_event(&e.events("ss_svc"), "stopped by"));

    let before = e.runner.specs(&sid).len();
    let r = e.op("ss_svc", "start", "StartService");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(e.settle("ss_svc")["Status"], "Running");
    assert_eq!(e.runner.specs(&sid).len(), before + 1);
    // Starting a running service is a no-op.
    let r = e.op("ss_svc", "start", "StartService");
    assert_eq!(r.status, 200);
    assert_eq!(e.runner.specs(&sid).len(), before + 1);
    let r = e.op("nope_svc", "stop", "StopService");
    assert_eq!((r.status, r.code()), (404, "ServiceNotFound"));
}

#[test]
fn runner_failure_fails_the_service() {
    let e = EasHarness::new();
    e.runner
        .fail_start
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let d = e.deploy(&svc("fail_svc"));
    assert_eq!(d["Status"], "Failed");
    assert_eq!(d["Reason"], "InstanceFailed");
    assert!(d["Message"]
        .as_str()
        .unwrap()
        .contains("fake runner told to fail"));
    let ev = e.events("fail_svc");
    assert!(ev
        .iter()
        .any(|x| x["Type"] == "Warning" && x["Reason"] == "InstanceFailed"));
    // Start retries once the runner works.
    e.runner
        .fail_start
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(e.op("fail_svc", "start", "StartService").status, 200);
    assert_eq!(e.settle("fail_svc")["Status"], "Running");
}

#[test]
fn events_paging_and_filters() {
    let e = EasHarness::new();
    e.deploy(&svc("ev_svc"));
    let all = e.events("ev_svc");
    assert!(all.len() >= 4);
    let r = e.events_q("ev_svc", &[("PageSize", "2"), ("PageNum", "2")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["PageNum"], 2);
    assert_eq!(r.body["TotalCount"], all.len());
    assert_eq!(r.body["TotalPageNum"], all.len().div_ceil(2));
    assert_eq!(r.body["Events"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["Events"][0], all[2]);
    let w = e.events_q("ev_svc", &[("EventType", "Warning")]);
    assert_eq!(w.body["TotalCount"], 0);
    let n = e.events_q("ev_svc", &[("EventType", "Normal")]);
    assert_eq!(n.body["TotalCount"], all.len());
    let r = e.events_q("ev_svc", &[("EventType", "Loud")]);
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    let r = e.events_q("ev_svc", &[("StartTime", "2999-01-01 00:00:00")]);
    assert_eq!(r.body["TotalCount"], 0);
    let r = e.events_q("ev_svc", &[("StartTime", "soon")]);
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
}

#[test]
fn roa_v2_signatures_and_authentication() {
    let e = EasHarness::new();
    let r = e.send(e.v2_request(
        "GET",
        "/api/v2/services",
        &[("PageSize", "10")],
        "",
        "ListServices",
        &e.root(),
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let body = svc("v2_svc").to_string();
    let r = e.send(e.v2_request(
        "POST",
        "/api/v2/services",
        &[],
        &body,
        "CreateService",
        &e.root(),
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    e.settle("v2_svc");

    // Unsigned, tampered, or for another action.
    let mut req = e.v3_request(
        "GET",
        "/api/v2/services",
        &[],
        "",
        "ListServices",
        &e.root(),
    );
    req.headers.retain(|(k, _)| k != "authorization");
    let r = e.send(req);
    assert_eq!(r.status, 400);
    let mut req = e.v3_request(
        "POST",
        "/api/v2/services",
        &[],
        &svc("tampered").to_string(),
        "CreateService",
        &e.root(),
    );
    req.body = bytes::Bytes::from(svc("tampered_two").to_string());
    let r = e.send(req);
    assert_eq!(r.status, 400, "{}", r.body);
    let r = e.send(e.v3_request(
        "GET",
        "/api/v2/services",
        &[],
        "",
        "CreateService",
        &e.root(),
    ));
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
}

#[test]
fn ram_users_need_eas_permissions() {
    let e = EasHarness::new();
    e.deploy(&svc("authz_svc"));
    let nobody = e.h.user("nobody", &[]);
    let r = e.describe_as("authz_svc", &nobody);
    assert_eq!((r.status, r.code()), (403, "NoPermission"));
    assert_eq!(
        r.body["AccessDeniedDetail"]["AuthAction"],
        "eas:DescribeService"
    );
    let r = e.create_as(&svc("authz_two").to_string(), &[], &nobody);
    assert_eq!((r.status, r.code()), (403, "NoPermission"));
    // Not even existence leaks.
    assert_eq!(e.describe_as("no_such_svc", &nobody).status, 403);

    let ops = e.h.user("ops", &["AliyunPAIEASFullAccess"]);
    assert_eq!(e.describe_as("authz_svc", &ops).status, 200);
    let r = e.create_as(&svc("authz_two").to_string(), &[], &ops);
    assert_eq!(r.status, 200, "{}", r.body);
    let d = e.settle("authz_two");
    let uid =
        e.h.ok(e.h.ram_call("GetUser", &[("UserName", "ops")], &e.h.root))["User"]["UserId"]
            .clone();
    assert_eq!(d["CallerUid"], uid);
}

#[test]
fn failing_python_requirements_fail_the_service_with_pip_output() {
    let e = EasHarness::new();
    let mut body = svc("pip_svc");
    body["containers"][0]["prepare"] = json!({"pythonRequirements": ["bad==req==x"]});
    let d = e.deploy(&body);
    assert_eq!(d["Status"], "Failed", "{d}");
    assert_eq!(d["Reason"], "RequirementsFailed");
    let ev = e.events("pip_svc");
    let w = ev
        .iter()
        .find(|x| x["Reason"] == "RequirementsFailed")
        .unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!(w["Type"], "Warning");
    let m = w["Message"].as_str().unwrap();
    assert!(
        m.contains("pip install") && m.contains("bad==req==x"),
        "{m}"
    );
    assert!(has_event(&ev, "pip install bad==req==x"));
    assert!(e.runner.specs(&e.service_id("pip_svc")).is_empty());
}

#[test]
fn resume_redeploys_services_that_should_run() {
    let e = EasHarness::new();
    e.deploy(&svc("res_a"));
    e.deploy(&svc("res_b"));
    assert_eq!(e.op("res_b", "stop", "StopService").status, 200);
    let (sid_a, sid_b) = (e.service_id("res_a"), e.service_id("res_b"));
    let (a_before, b_before) = (e.runner.specs(&sid_a).len(), e.runner.specs(&sid_b).len());
    let token = e.token("res_a", 0);

    keyless_server::eas::resume(&e.platform);
    assert_eq!(e.settle("res_a")["Status"], "Running");
    assert_eq!(e.runner.specs(&sid_a).len(), a_before + 1);
    assert_ne!(e.token("res_a", 0), token);
    assert_eq!(e.agent(&token).status, 401);
    assert!(e.events("res_a").iter().any(|x| x["Reason"] == "Resuming"));
    assert_eq!(e.describe("res_b").body["Status"], "Stopped");
    assert_eq!(e.runner.specs(&sid_b).len(), b_before);
}
