//! Drives the EAS handler in-process over the common harness (real SQLite store, manual clock),
//! with a real filesystem object store and a FAKE runner that records what it was asked to start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use crate::common::*;
use bytes::Bytes;
use keyless_objstore::{Backend, FsBackend, ObjectAttrs};
use keyless_runner::{InstanceSpec, InstanceState, InstanceStatus, Runner, RunnerError};
use keyless_server::eas::{self, Platform};
use keyless_server::http::{Handler, HttpReq};
use keyless_server::state::Config;
use keyless_server::workspace::Workspace;
use keyless_sign::{acs3, roa_v2, RequestParts};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REGION: &str = "cn-hangzhou";

/// A runner that starts nothing: it records specs and reports started instances as running.
#[derive(Default)]
pub struct FakeRunner {
    pub started: Mutex<Vec<InstanceSpec>>,
    pub stopped: Mutex<Vec<String>>,
    running: Mutex<HashMap<String, Vec<String>>>,
    pub fail_start: AtomicBool,
}

impl FakeRunner {
    pub fn specs(&self, service_id: &str) -> Vec<InstanceSpec> {
        self.started
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.service == service_id)
            .cloned()
            .collect()
    }

    pub fn stops(&self, service_id: &str) -> usize {
        self.stopped
            .lock()
            .unwrap()
            .iter()
            .filter(|s| *s == service_id)
            .count()
    }
}

impl Runner for FakeRunner {
    fn start(&self, spec: InstanceSpec) -> Result<(), RunnerError> {
        if self.fail_start.load(Ordering::SeqCst) {
            return Err(RunnerError::Unavailable("fake runner told to fail".into()));
        }
        let mut r = self.running.lock().unwrap();
        let v = r.entry(spec.service.clone()).or_default();
        if !v.contains(&spec.instance) {
            v.push(spec.instance.clone());
        }
        self.started.lock().unwrap().push(spec);
        Ok(())
    }
    fn stop_service(&self, service: &str) {
        self.running.lock().unwrap().remove(service);
        self.stopped.lock().unwrap().push(service.to_owned());
    }
    fn status(&self, service: &str) -> Vec<InstanceStatus> {
        self.running
            .lock()
            .unwrap()
            .get(service)
            .map(|v| {
                v.iter()
                    .map(|i| InstanceStatus {
                        instance: i.clone(),
                        state: InstanceState::Running,
                        restart_count: 0,
                        started_at: Some(T0),
                        pid: Some(1),
                        agent_pid: Some(2),
                        last_exit: None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    fn shutdown(&self) {}
}

pub struct EasHarness {
    pub h: Harness,
    pub platform: Arc<Platform>,
    pub handler: Arc<dyn Handler>,
    pub runner: Arc<FakeRunner>,
    pub backend: Arc<FsBackend>,
    pub ws: Workspace,
    nonce: AtomicU64,
}

impl EasHarness {
    pub fn new() -> EasHarness {
        let h = Harness::new(Config::default());
        let backend = Arc::new(FsBackend::open(h.dir.join("objects")).unwrap());
        let ws = keyless_server::workspace::ensure_default(&h.state, ACCOUNT).unwrap();
        backend.create_bucket(&ws.bucket, ACCOUNT, REGION).unwrap();
        let runner = Arc::new(FakeRunner::default());
        let platform = Arc::new(Platform {
            state: h.state.clone(),
            backend: backend.clone(),
            runner: runner.clone(),
            data_dir: h.dir.clone(),
            exe: "/nonexistent/keyless".into(),
            control_url: "http://127.0.0.1:1".into(),
            oss_endpoint: "127.0.0.1:2".into(),
            maxcompute_endpoint: "http://127.0.0.1:3/api".into(),
            sts_endpoint: "127.0.0.1:4".into(),
        });
        let handler = eas::handler(platform.clone());
        EasHarness {
            h,
            platform,
            handler,
            runner,
            backend,
            ws,
            nonce: AtomicU64::new(0),
        }
    }

    pub fn root(&self) -> Creds {
        self.h.root.clone()
    }

    fn nonce(&self) -> String {
        format!("eas-nonce-{}", self.nonce.fetch_add(1, Ordering::SeqCst))
    }

    /// A V3 (ACS3-HMAC-SHA256) signed ROA request, as the EAS SDK sends it by default.
    pub fn v3_request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: &str,
        action: &str,
        c: &Creds,
    ) -> HttpReq {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let raw_query = acs3::encode_query(&pairs);
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), "127.0.0.1:18002".into()),
            ("accept".into(), "application/json".into()),
            (
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            ),
            ("x-acs-action".into(), action.into()),
            ("x-acs-version".into(), "2021-07-01".into()),
            (
                "x-acs-date".into(),
                keyless_sign::format_timestamp(self.h.clock.now_secs()).unwrap(),
            ),
            ("x-acs-signature-nonce".into(), self.nonce()),
            (
                "x-acs-content-sha256".into(),
                acs3::hashed_payload(body.as_bytes()),
            ),
        ];
        if let Some(t) = &c.token {
            headers.push(("x-acs-security-token".into(), t.clone()));
            headers.push(("x-acs-accesskey-id".into(), c.id.clone()));
        }
        let auth = acs3::sign_request(
            &RequestParts {
                method,
                raw_path: path,
                raw_query: &raw_query,
                headers: &headers,
            },
            &c.id,
            &c.secret,
        )
        .unwrap();
        headers.push(("authorization".into(), auth));
        HttpReq {
            method: method.into(),
            path: path.into(),
            query: raw_query,
            headers,
            body: Bytes::from(body.to_owned()),
            peer: "127.0.0.1".parse().unwrap(),
        }
    }

    /// A ROA v2 (`acs AK:sig`) signed request (`signature_algorithm="v2"`).
    pub fn v2_request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: &str,
        action: &str,
        c: &Creds,
    ) -> HttpReq {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let raw_query = acs3::encode_query(&pairs);
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), "127.0.0.1:18002".into()),
            ("accept".into(), "application/json".into()),
            ("content-type".into(), "application/json".into()),
            (
                "date".into(),
                keyless_sign::format_http_date(self.h.clock.now_secs()).unwrap(),
            ),
            ("x-acs-signature-method".into(), "HMAC-SHA1".into()),
            ("x-acs-signature-version".into(), "1.0".into()),
            ("x-acs-signature-nonce".into(), self.nonce()),
            ("x-acs-action".into(), action.into()),
            ("x-acs-version".into(), "2021-07-01".into()),
        ];
        if let Some(t) = &c.token {
            headers.push(("x-acs-security-token".into(), t.clone()));
            headers.push(("x-acs-accesskey-id".into(), c.id.clone()));
        }
        let auth = roa_v2::sign_request(
            &RequestParts {
                method,
                raw_path: path,
                raw_query: &raw_query,
                headers: &headers,
            },
            &c.id,
            &c.secret,
        )
        .unwrap();
        headers.push(("authorization".into(), auth));
        HttpReq {
            method: method.into(),
            path: path.into(),
            query: raw_query,
            headers,
            body: Bytes::from(body.to_owned()),
            peer: "127.0.0.1".parse().unwrap(),
        }
    }

    pub fn send(&self, req: HttpReq) -> Resp {
        let r = self.handler.handle(req);
        let body: Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("HTTP {}: body is not JSON ({e})", r.status));
        if r.status < 300 {
            assert!(body["RequestId"].is_string(), "{body}");
        } else {
            for k in ["Code", "Message", "RequestId"] {
                assert!(body[k].is_string(), "{k} missing: {body}");
            }
            assert!(r.status < 500, "HTTP {}: {body}", r.status);
        }
        Resp {
            status: r.status,
            body,
        }
    }

    pub fn path(name: &str, op: &str) -> String {
        if op.is_empty() {
            format!("/api/v2/services/{REGION}/{name}")
        } else {
            format!("/api/v2/services/{REGION}/{name}/{op}")
        }
    }

    pub fn create_as(&self, body: &str, query: &[(&str, &str)], c: &Creds) -> Resp {
        self.send(self.v3_request("POST", "/api/v2/services", query, body, "CreateService", c))
    }

    pub fn create(&self, body: &Value) -> Resp {
        self.create_as(&body.to_string(), &[], &self.root())
    }

    pub fn describe_as(&self, name: &str, c: &Creds) -> Resp {
        self.send(self.v3_request("GET", &Self::path(name, ""), &[], "", "DescribeService", c))
    }

    pub fn describe(&self, name: &str) -> Resp {
        self.describe_as(name, &self.root())
    }

    pub fn list(&self, query: &[(&str, &str)]) -> Resp {
        self.send(self.v3_request(
            "GET",
            "/api/v2/services",
            query,
            "",
            "ListServices",
            &self.root(),
        ))
    }

    pub fn update_as(&self, name: &str, body: &Value, query: &[(&str, &str)], c: &Creds) -> Resp {
        self.send(self.v3_request(
            "PUT",
            &Self::path(name, ""),
            query,
            &body.to_string(),
            "UpdateService",
            c,
        ))
    }

    pub fn update(&self, name: &str, body: &Value, query: &[(&str, &str)]) -> Resp {
        self.update_as(name, body, query, &self.root())
    }

    pub fn delete(&self, name: &str) -> Resp {
        self.send(self.v3_request(
            "DELETE",
            &Self::path(name, ""),
            &[],
            "",
            "DeleteService",
            &self.root(),
        ))
    }

    pub fn op(&self, name: &str, op: &str, action: &str) -> Resp {
        self.send(self.v3_request("PUT", &Self::path(name, op), &[], "", action, &self.root()))
    }

    pub fn events_q(&self, name: &str, query: &[(&str, &str)]) -> Resp {
        self.send(self.v3_request(
            "GET",
            &Self::path(name, "events"),
            query,
            "",
            "DescribeServiceEvent",
            &self.root(),
        ))
    }

    /// Every event of `name` (Type, Reason, Message, Time).
    pub fn events(&self, name: &str) -> Vec<Value> {
        let r = self.events_q(name, &[("PageSize", "1000")]);
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["Events"].as_array().unwrap().clone()
    }

    pub fn instances(&self, name: &str) -> Resp {
        self.send(self.v3_request(
            "GET",
            &Self::path(name, "instances"),
            &[],
            "",
            "ListServiceInstances",
            &self.root(),
        ))
    }

    /// Polls DescribeService until the status is settled (not Creating/Updating/Starting).
    pub fn settle(&self, name: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.describe(name);
            assert_eq!(r.status, 200, "{}", r.body);
            let st = r.body["Status"].as_str().unwrap().to_owned();
            if !matches!(st.as_str(), "Creating" | "Updating" | "Starting") {
                return r.body;
            }
            assert!(Instant::now() < deadline, "{name} still {st}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Creates a service and waits for it to settle; returns the settled Describe body.
    pub fn deploy(&self, body: &Value) -> Value {
        let r = self.create(body);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["Status"], "Creating");
        self.settle(body["name"].as_str().unwrap())
    }

    pub fn service_id(&self, name: &str) -> String {
        self.describe(name).body["ServiceId"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn instance_dir(&self, name: &str, i: u32) -> std::path::PathBuf {
        self.h
            .dir
            .join("services")
            .join(ACCOUNT)
            .join(name)
            .join(i.to_string())
    }

    /// The agent token of instance `i` (as the runner would hand it to the agent).
    pub fn token(&self, name: &str, i: u32) -> String {
        std::fs::read_to_string(self.instance_dir(name, i).join("agent.token")).unwrap()
    }

    /// `GET /internal/agent/v1/credentials` with `Authorization: Bearer <token>`.
    pub fn agent(&self, token: &str) -> Resp {
        let req = HttpReq {
            method: "GET".into(),
            path: "/internal/agent/v1/credentials".into(),
            query: String::new(),
            headers: vec![
                ("host".into(), "127.0.0.1:18002".into()),
                ("authorization".into(), format!("Bearer {token}")),
            ],
            body: Bytes::new(),
            peer: "127.0.0.1".parse().unwrap(),
        };
        let r = self.handler.handle(req);
        Resp {
            status: r.status,
            body: serde_json::from_slice(&r.body).unwrap(),
        }
    }

    pub fn put_object(&self, bucket: &str, key: &str, data: &str) {
        self.backend
            .put_object_from(bucket, key, &mut data.as_bytes(), ObjectAttrs::default())
            .unwrap();
    }

    /// A role whose trust policy names the given services (and this account's root).
    pub fn service_role(&self, name: &str, services: &[&str], policies: &[&str]) -> String {
        let trust = json!({
            "Version": "1",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"RAM": [format!("acs:ram::{ACCOUNT}:root")], "Service": services}}]
        })
        .to_string();
        let r = self.h.ok(self.h.ram_call(
            "CreateRole",
            &[("RoleName", name), ("AssumeRolePolicyDocument", &trust)],
            &self.h.root,
        ));
        for p in policies {
            self.h.ok(self.h.ram_call(
                "AttachPolicyToRole",
                &[
                    ("RoleName", name),
                    ("PolicyType", "System"),
                    ("PolicyName", p),
                ],
                &self.h.root,
            ));
        }
        r["Role"]["Arn"].as_str().unwrap().to_owned()
    }
}

/// A minimal service JSON.
pub fn svc(name: &str) -> Value {
    json!({
        "name": name,
        "metadata": {"instance": 1, "cpu": 1, "memory": 1000},
        "containers": [{"image": "registry.example/demo:1.0", "command": "python3 -c 'print(1)'", "port": 8000}]
    })
}

/// Whether any event has this exact message, or one containing `part`.
pub fn has_event(events: &[Value], part: &str) -> bool {
    events
        .iter()
        .any(|e| e["Message"].as_str().is_some_and(|m| m.contains(part)))
}
